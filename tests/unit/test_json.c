// SPDX-License-Identifier: MIT
/*
 * test_json.c: the depth pre-scan, whole-body parsing and the typed
 * getters, including the exact messages clients will read.
 */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "t.h"
#include "util.h"

struct dcase {
	const char *text;
	unsigned max;
	int ok;
};

static const struct dcase depth_cases[] = {
	{"", 0, 1},
	{"42", 0, 1},
	{"{}", 0, 0},
	{"{}", 1, 1},
	{"[[[]]]", 3, 1},
	{"[[[]]]", 2, 0},
	{"[[], [], []]", 2, 1},
	{"[{\"a\":[1]}]", 3, 1},
	{"[{\"a\":[1]}]", 2, 0},
	/* Brackets inside strings do not count. */
	{"\"[[[[\"", 0, 1},
	{"{\"a\":\"[[[{{{\"}", 1, 1},
	{"{\"[[[\":\"}}}]]]\"}", 1, 1},
	/* An escaped quote does not end the string... */
	{"{\"a\":\"\\\"[[[\"}", 1, 1},
	/* ...but an escaped backslash before the quote does. */
	{"{\"a\":\"\\\\\"}[[[", 2, 0},
	{"{\"a\":\"\\\\\"}[[[", 3, 1},
	{"[\"\\\\\\\"[\"]", 1, 1},
	/* Closers do not go below zero and cannot buy depth. */
	{"]]]]]{[", 1, 0},
	{"]]]]]{", 1, 1},
	/* Depth is a maximum over the document, not a total. */
	{"[[]][[]][[]]", 2, 1},
	/* An unterminated string hides what follows. */
	{"\"[[[[[", 0, 1},
};

TEST(depth)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(depth_cases); i++) {
		const struct dcase *c = &depth_cases[i];
		int ok = json_depth_ok(c->text, strlen(c->text), c->max);

		if (ok != c->ok)
			T_FAIL("depth row %zu %s max %u: %d, want %d", i,
			       c->text, c->max, ok, c->ok);
	}
}

TEST(depth_deep)
{
	size_t n = 100000;
	char *p = malloc(2 * n);

	memset(p, '[', n);
	memset(p + n, ']', n);
	CHECK_INT(json_depth_ok(p, 2 * n, 64), ==, 0);
	CHECK_INT(json_depth_ok(p, 2 * n, 100000), ==, 1);
	/* The length is honoured, not a NUL. */
	CHECK_INT(json_depth_ok(p, 3, 3), ==, 1);
	CHECK_INT(json_depth_ok(p, 4, 3), ==, 0);
	free(p);
}

/* Parse text (strlen) with depth 32; returns rc and fills err. */
static int
parse(const char *text, json_t **out, struct sp_err *err)
{
	memset(err, 0, sizeof(*err));
	return json_parse_object(text, strlen(text), 32, out, err);
}

TEST(parse_ok)
{
	struct sp_err err;
	json_t *v = NULL;

	CHECK_INT(parse("{\"a\":1}", &v, &err), ==, 0);
	CHECK(json_is_object(v));
	json_decref(v);

	/* Whitespace around the object is fine. */
	CHECK_INT(parse(" \r\n\t{ \"a\" : [1, 2] }\n ", &v, &err), ==, 0);
	json_decref(v);

	/* \u0000 inside a string parses; the getters decide. */
	CHECK_INT(parse("{\"code\":\"a\\u0000b\"}", &v, &err), ==, 0);
	CHECK_INT(json_string_length(json_object_get(v, "code")), ==, 3);
	json_decref(v);
}

struct pcase {
	const char *text;
	const char *msg; /* expected message (prefix) */
};

static const struct pcase bad_bodies[] = {
	{"", "the body is empty; send one JSON object"},
	{"  \n", "the body is empty; send one JSON object"},
	{"[1]", "the body must be a JSON object, not an array"},
	{"42", "the body must be a JSON object, not a number"},
	{"\"s\"", "the body must be a JSON object, not a string"},
	{"null", "the body must be a JSON object, not null"},
	{"true", "the body must be a JSON object, not a boolean"},
	{"{} x", "invalid JSON at line 1, column 4: end of file expected"},
	{"{}{}", "invalid JSON at line 1, column 3: end of file expected"},
	{"{\"a\":1,\n\"a\":2}", "invalid JSON at line 2, column 3: duplicate"},
	{"{\"a\":}", "invalid JSON at line 1, column 6: unexpected token"},
	{"{\"a\":1", "invalid JSON at line 1, column 6:"},
	{"{'a':1}", "invalid JSON at line 1, column 2:"},
	{"{\"a\":NaN}", "invalid JSON at line 1, column 8: invalid token"},
	{"{\"a\":99999999999999999999}", "invalid JSON at line 1, column 25:"},
};

TEST(parse_errors)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_bodies); i++) {
		struct sp_err err;
		json_t *v = (json_t *)1;
		int rc = parse(bad_bodies[i].text, &v, &err);

		if (rc >= 0 || v != NULL || err.http != 400 ||
		    err.code == NULL || strcmp(err.code, "InvalidJson") != 0 ||
		    strncmp(err.msg, bad_bodies[i].msg,
			    strlen(bad_bodies[i].msg)) != 0)
			T_FAIL("body row %zu %s: rc %d http %d msg \"%s\"", i,
			       bad_bodies[i].text, rc, err.http, err.msg);
	}
}

TEST(parse_nul_and_depth)
{
	struct sp_err err = {0, NULL, ""};
	json_t *v = NULL;
	char body[] = "{\"a\":\"x\"}";

	body[6] = '\0'; /* a raw NUL inside the string */
	CHECK(json_parse_object(body, sizeof(body) - 1, 32, &v, &err) < 0);
	CHECK(v == NULL);
	CHECK_INT(err.http, ==, 400);
	CHECK_STR(err.msg, "the body contains a NUL byte at offset 6; send "
			   "UTF-8 JSON");

	/* A trailing NUL (C-string length off by one) is refused too. */
	CHECK(json_parse_object("{}", 3, 32, &v, &err) < 0);
	CHECK(strstr(err.msg, "offset 2") != NULL);

	CHECK(json_parse_object("{\"a\":[[1]]}", 11, 2, &v, &err) < 0);
	CHECK(v == NULL);
	CHECK_STR(err.code, "InvalidJson");
	CHECK_STR(err.msg,
		  "the body nests arrays and objects deeper than 2 levels");
	CHECK_INT(json_parse_object("{\"a\":[[1]]}", 11, 3, &v, &err), ==, 0);
	json_decref(v);

	/* Our cap applies before jansson's own (2048). */
	{
		size_t n = 5000, i;
		char *p = malloc(2 * n + 8);

		p[0] = '{';
		memcpy(p + 1, "\"a\":", 4);
		for (i = 0; i < n; i++)
			p[5 + i] = '[';
		for (i = 0; i < n; i++)
			p[5 + n + i] = ']';
		p[5 + 2 * n] = '}';
		v = NULL;
		CHECK(json_parse_object(p, 2 * n + 6, 64, &v, &err) < 0);
		CHECK(strstr(err.msg, "deeper than 64") != NULL);
		free(p);
	}
	/* NULL buffer is an empty body. */
	CHECK(json_parse_object(NULL, 5, 32, &v, &err) < 0);
	CHECK(strstr(err.msg, "empty") != NULL);
}

static json_t *
body(void)
{
	json_error_t jerr;
	json_t *v = json_loads(
		"{\"properties\":{"
		"\"code\":\"print(1)\",\"timeoutInSeconds\":100,"
		"\"flag\":true,\"off\":false,\"n\":null,\"nul\":\"a\\u0000b\","
		"\"f\":1.5,\"whole\":60.0,\"neg\":-5,"
		"\"big\":9223372036854775807,"
		"\"e\":\"INLINE\",\"e2\":\"inlinebase64\",\"ebad\":\"bogus\","
		"\"enul\":\"inline\\u0000x\",\"arr\":[1],\"s\":\"x\"},"
		"\"str\":\"abc\"}",
		JSON_ALLOW_NUL, &jerr);

	if (v == NULL)
		T_FAIL("bad test body: %s", jerr.text);
	return v;
}

TEST(get_obj)
{
	json_t *b = body(), *p = NULL, *q = (json_t *)&p;
	struct sp_err err = {0};

	CHECK_INT(json_get_obj(b, "properties", "properties", 1, &p, &err), ==,
		  0);
	CHECK(json_is_object(p));
	CHECK_INT(json_get_obj(b, "missing", "missing", 0, &q, &err), ==, 0);
	CHECK(q == (json_t *)&p); /* unchanged */
	CHECK(json_get_obj(b, "missing", "missing", 1, &q, &err) < 0);
	CHECK_INT(err.http, ==, 400);
	CHECK_STR(err.code, "InvalidRequest");
	CHECK_STR(err.msg, "missing is required");
	CHECK(json_get_obj(b, "str", "str", 1, &q, &err) < 0);
	CHECK_STR(err.msg, "str must be a JSON object, not a string");
	/* A null counts as absent. */
	CHECK_INT(json_get_obj(p, "n", "properties.n", 0, &q, &err), ==, 0);
	CHECK(json_get_obj(p, "n", "properties.n", 1, &q, &err) < 0);
	CHECK_STR(err.msg, "properties.n is required");
	/* A non-object container reads as "absent". */
	CHECK(json_get_obj(json_object_get(b, "str"), "x", "str.x", 1, &q,
			   &err) < 0);
	CHECK_STR(err.msg, "str.x is required");
	CHECK_INT(json_get_obj(NULL, "x", "x", 0, &q, &err), ==, 0);
	json_decref(b);
}

TEST(get_str)
{
	json_t *b = body(), *p = json_object_get(b, "properties");
	struct sp_err err = {0};
	const char *s = "unchanged";

	CHECK_INT(json_get_str(p, "code", "properties.code", 1, &s, &err), ==,
		  0);
	CHECK_STR(s, "print(1)");
	s = "unchanged";
	CHECK_INT(json_get_str(p, "nope", "properties.nope", 0, &s, &err), ==,
		  0);
	CHECK_STR(s, "unchanged");
	CHECK_INT(json_get_str(p, "n", "properties.n", 0, &s, &err), ==, 0);
	CHECK_STR(s, "unchanged");
	CHECK(json_get_str(p, "code2", "properties.code2", 1, &s, &err) < 0);
	CHECK_STR(err.msg, "properties.code2 is required");
	CHECK(json_get_str(p, "timeoutInSeconds", "properties.timeoutInSeconds",
			   1, &s, &err) < 0);
	CHECK_STR(err.msg,
		  "properties.timeoutInSeconds must be a string, not a number");
	CHECK(json_get_str(p, "arr", "properties.arr", 0, &s, &err) < 0);
	CHECK_STR(err.msg, "properties.arr must be a string, not an array");
	CHECK(json_get_str(p, "nul", "properties.nul", 1, &s, &err) < 0);
	CHECK_STR(err.msg,
		  "properties.nul must not contain a NUL character (\\u0000)");
	CHECK_STR(s, "unchanged");
	/* path NULL falls back to the key. */
	CHECK(json_get_str(p, "flag", NULL, 1, &s, &err) < 0);
	CHECK_STR(err.msg, "flag must be a string, not a boolean");
	json_decref(b);
}

TEST(get_int)
{
	json_t *b = body(), *p = json_object_get(b, "properties");
	struct sp_err err = {0};
	int64_t n = -42;

	CHECK_INT(json_get_int(p, "timeoutInSeconds",
			       "properties.timeoutInSeconds", 0, 1, 220, &n,
			       &err),
		  ==, 0);
	CHECK_INT(n, ==, 100);
	/* Bounds are inclusive. */
	CHECK_INT(
		json_get_int(p, "timeoutInSeconds", "t", 0, 100, 100, &n, &err),
		==, 0);
	CHECK(json_get_int(p, "timeoutInSeconds", "properties.timeoutInSeconds",
			   0, 1, 99, &n, &err) < 0);
	CHECK_STR(err.msg, "properties.timeoutInSeconds must be an integer "
			   "from 1 to 99, not 100");
	CHECK(json_get_int(p, "timeoutInSeconds", "t", 0, 101, 220, &n, &err) <
	      0);
	CHECK_INT(err.http, ==, 400);
	CHECK_STR(err.code, "InvalidRequest");
	CHECK(json_get_int(p, "neg", "properties.neg", 0, 1, 220, &n, &err) <
	      0);
	CHECK_STR(err.msg,
		  "properties.neg must be an integer from 1 to 220, not -5");
	CHECK(json_get_int(p, "f", "properties.f", 0, 1, 220, &n, &err) < 0);
	CHECK_STR(
		err.msg,
		"properties.f must be an integer from 1 to 220, not a number");
	CHECK(json_get_int(p, "whole", "properties.whole", 0, 1, 220, &n,
			   &err) < 0);
	CHECK(json_get_int(p, "s", "properties.s", 0, 1, 220, &n, &err) < 0);
	CHECK_STR(
		err.msg,
		"properties.s must be an integer from 1 to 220, not a string");
	CHECK_INT(
		json_get_int(p, "big", "b", 1, INT64_MIN, INT64_MAX, &n, &err),
		==, 0);
	CHECK(n == INT64_MAX);
	n = 7;
	CHECK_INT(json_get_int(p, "none", "x", 0, 1, 2, &n, &err), ==, 0);
	CHECK_INT(n, ==, 7);
	CHECK_INT(json_get_int(p, "n", "x", 0, 1, 2, &n, &err), ==, 0);
	CHECK_INT(n, ==, 7);
	CHECK(json_get_int(p, "none", "properties.none", 1, 1, 2, &n, &err) <
	      0);
	CHECK_STR(err.msg, "properties.none is required");
	json_decref(b);
}

TEST(get_bool)
{
	json_t *b = body(), *p = json_object_get(b, "properties");
	struct sp_err err = {0};
	int v = 7;

	CHECK_INT(json_get_bool(p, "flag", "properties.flag", 1, &v, &err), ==,
		  0);
	CHECK_INT(v, ==, 1);
	CHECK_INT(json_get_bool(p, "off", "properties.off", 1, &v, &err), ==,
		  0);
	CHECK_INT(v, ==, 0);
	v = 7;
	CHECK_INT(json_get_bool(p, "nope", "x", 0, &v, &err), ==, 0);
	CHECK_INT(v, ==, 7);
	CHECK(json_get_bool(p, "s", "properties.s", 0, &v, &err) < 0);
	CHECK_STR(err.msg, "properties.s must be true or false, not a string");
	CHECK(json_get_bool(p, "neg", "properties.neg", 0, &v, &err) < 0);
	CHECK_STR(err.msg,
		  "properties.neg must be true or false, not a number");
	CHECK(json_get_bool(p, "nope", "properties.nope", 1, &v, &err) < 0);
	CHECK_STR(err.msg, "properties.nope is required");
	json_decref(b);
}

static const char *const input_types[] = {"Inline", "InlineBase64",
					  "InlineText"};

TEST(get_enum)
{
	json_t *b = body(), *p = json_object_get(b, "properties");
	struct sp_err err = {0};

	CHECK_INT(json_get_enum(p, "e", "codeInputType", 1, input_types, 3, 0,
				&err),
		  ==, 0);
	CHECK_INT(json_get_enum(p, "e2", "codeInputType", 1, input_types, 3, 0,
				&err),
		  ==, 1);
	CHECK_INT(json_get_enum(p, "absent", "codeInputType", 0, input_types, 3,
				2, &err),
		  ==, 2);
	CHECK_INT(json_get_enum(p, "n", "codeInputType", 0, input_types, 3, 1,
				&err),
		  ==, 1);
	CHECK_INT(json_get_enum(p, "ebad", "properties.codeInputType", 0,
				input_types, 3, 0, &err),
		  ==, -1);
	CHECK_INT(err.http, ==, 400);
	CHECK_STR(err.code, "InvalidRequest");
	CHECK_STR(err.msg, "properties.codeInputType must be one of Inline, "
			   "InlineBase64, InlineText (any case)");
	CHECK_INT(json_get_enum(p, "enul", "t", 0, input_types, 3, 0, &err), ==,
		  -1);
	CHECK_INT(json_get_enum(p, "neg", "t", 0, input_types, 3, 0, &err), ==,
		  -1);
	CHECK_INT(json_get_enum(p, "absent", "properties.executionType", 1,
				input_types, 3, 0, &err),
		  ==, -1);
	CHECK_STR(err.msg, "properties.executionType is required; accepted "
			   "values: Inline, InlineBase64, InlineText");
	json_decref(b);
}

TEST(get_enum_long_list)
{
	static const char *const many[] = {
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"cccccccccccccccccccccccccccccc",
		"dddddddddddddddddddddddddddddd",
		"eeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
		"ffffffffffffffffffffffffffffff",
	};
	json_t *o = json_pack("{s:s}", "k", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
	struct sp_err err = {0};

	CHECK_INT(json_get_enum(o, "k", "k", 1, many, 6, 0, &err), ==, 5);
	json_object_set_new(o, "k", json_string("zzz"));
	CHECK_INT(json_get_enum(o, "k", "k", 1, many, 6, 0, &err), ==, -1);
	CHECK(strstr(err.msg, "...") != NULL);
	json_decref(o);
}

TEST(dump_compact)
{
	json_t *v = json_pack("{s:[i,s,f,b,n]}", "a", 1, "x", 4.0, 1);
	size_t len = 99;
	char *s = json_dump_compact(v, &len);

	CHECK_STR(s, "{\"a\":[1,\"x\",4.0,true,null]}");
	CHECK_INT(len, ==, strlen("{\"a\":[1,\"x\",4.0,true,null]}"));
	free(s);
	json_decref(v);

	v = json_stringn("a\0b", 3);
	s = json_dump_compact(v, NULL);
	CHECK_STR(s, "\"a\\u0000b\"");
	free(s);
	json_decref(v);

	v = json_integer(5);
	s = json_dump_compact(v, &len);
	CHECK_STR(s, "5");
	CHECK_INT(len, ==, 1);
	free(s);
	json_decref(v);

	len = 99;
	CHECK(json_dump_compact(NULL, &len) == NULL);
	CHECK_INT(len, ==, 0);

	/* jansson refuses non-finite reals, so NaN can never be dumped. */
	CHECK(json_real(0.0 / 0.0) == NULL);
	CHECK(json_real(1.0 / 0.0) == NULL);
}

T_MAIN()
