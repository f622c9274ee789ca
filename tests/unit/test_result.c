// SPDX-License-Identifier: MIT
/*
 * test_result.c: the kernel's RESULT and outputs turned into Gen1 result,
 * Gen2 executionResult and the outputs array.  Vectors are JSON text in,
 * compact JSON text out; the malformed rows are what a hostile kernel
 * could send.
 */
#include <jansson.h>
#include <string.h>

#include "result.h"
#include "t.h"
#include "util.h"

#define IMG1 "{\"type\":\"image\",\"format\":\"png\",\"data\":\"QUFB\"}"
#define IMG2 "{\"type\":\"image\",\"format\":\"png\",\"data\":\"QkI=\"}"
#define HTML "{\"type\":\"html\",\"data\":\"<table></table>\"}"
#define WIRE1 "{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"QUFB\"}"
#define WIRE2 "{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"QkI=\"}"
#define HUGE "123456789012345678901234567890123456789012345678901234567890"

struct rcase {
	const char *result;  /* JSON text, or NULL for a NULL pointer */
	const char *outputs; /* JSON text, or NULL */
	const char *want;    /* compact JSON of the answer */
};

static const struct rcase gen1[] = {
	{"{\"kind\":\"empty\"}", NULL, "\"\""},
	{"{\"kind\":\"none\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"42\"}", NULL, "42"},
	{"{\"kind\":\"int\",\"text\":\"-1530\"}", NULL, "-1530"},
	{"{\"kind\":\"int\",\"text\":\"0\"}", NULL, "0"},
	{"{\"kind\":\"int\",\"text\":\"9223372036854775807\"}", NULL,
	 "9223372036854775807"},
	{"{\"kind\":\"int\",\"text\":\"-9223372036854775808\"}", NULL,
	 "-9223372036854775808"},
	{"{\"kind\":\"int\",\"text\":\"9223372036854775808\"}", NULL,
	 "\"9223372036854775808\""},
	{"{\"kind\":\"int\",\"text\":\"-9223372036854775809\"}", NULL,
	 "\"-9223372036854775809\""},
	{"{\"kind\":\"int\",\"text\":\"" HUGE "\"}", NULL, "\"" HUGE "\""},
	{"{\"kind\":\"float\",\"value\":4.0,\"text\":\"4.0\"}", NULL, "4.0"},
	{"{\"kind\":\"float\",\"value\":-0.5,\"text\":\"-0.5\"}", NULL, "-0.5"},
	{"{\"kind\":\"float\",\"value\":3,\"text\":\"3.0\"}", NULL, "3.0"},
	{"{\"kind\":\"float\",\"text\":\"nan\"}", NULL, "\"nan\""},
	{"{\"kind\":\"float\",\"text\":\"inf\"}", NULL, "\"inf\""},
	{"{\"kind\":\"float\",\"text\":\"-inf\"}", NULL, "\"-inf\""},
	{"{\"kind\":\"str\",\"value\":\"abc\"}", NULL, "\"abc\""},
	{"{\"kind\":\"str\",\"value\":\"\"}", NULL, "\"\""},
	{"{\"kind\":\"str\",\"value\":\"say \\\"hi\\\"\\n\"}", NULL,
	 "\"say \\\"hi\\\"\\n\""},
	{"{\"kind\":\"str\",\"value\":\"a\\u0000b\"}", NULL, "\"a\\u0000b\""},
	{"{\"kind\":\"repr\",\"text\":\"['a',\\n 'b']\"}", NULL,
	 "\"['a',\\n 'b']\""},
	{"{\"kind\":\"artist\",\"text\":\"[<Line2D>]\"}", NULL,
	 "\"[<Line2D>]\""},
	/* Images replace none, empty and artist; the last one wins. */
	{"{\"kind\":\"none\"}", "[" IMG1 "]", WIRE1},
	{"{\"kind\":\"empty\"}", "[" IMG1 "," IMG2 "]", WIRE2},
	{"{\"kind\":\"artist\",\"text\":\"x\"}", "[" IMG1 "]", WIRE1},
	{"{\"kind\":\"empty\"}", "[" IMG1 "," HTML "]", WIRE1},
	{"{\"kind\":\"int\",\"text\":\"7\"}", "[" IMG1 "]", "7"},
	{"{\"kind\":\"str\",\"value\":\"s\"}", "[" IMG1 "]", "\"s\""},
	{"{\"kind\":\"repr\",\"text\":\"r\"}", "[" IMG1 "]", "\"r\""},
	{"{\"kind\":\"float\",\"text\":\"nan\"}", "[" IMG1 "]", "\"nan\""},
	{"{\"kind\":\"none\"}", "[" HTML "]", "\"\""},
	{NULL, "[" IMG1 "]", "\"\""},
	/* Invalid images are skipped, valid ones around them still count. */
	{"{\"kind\":\"none\"}",
	 "[{\"type\":\"image\",\"format\":\"png\",\"data\":\"not base64!\"}]",
	 "\"\""},
	{"{\"kind\":\"none\"}",
	 "[{\"type\":\"image\",\"format\":\"svg\",\"data\":\"QUFB\"}]", "\"\""},
	{"{\"kind\":\"none\"}", "[{\"type\":\"image\",\"data\":\"QUFB\"}]",
	 "\"\""},
	{"{\"kind\":\"none\"}",
	 "[" IMG1 ",{\"type\":\"image\",\"format\":\"png\",\"data\":5}]",
	 WIRE1},
	{"{\"kind\":\"none\"}",
	 "[" IMG1 ",{\"type\":\"image\",\"format\":\"png\",\"data\":\"\"}]",
	 WIRE1},
	{"{\"kind\":\"none\"}", "{\"type\":\"image\"}", "\"\""},
	{"{\"kind\":\"none\"}", "[null, 1, \"x\", []]", "\"\""},
	/* Malformed RESULT objects. */
	{NULL, NULL, "\"\""},
	{"null", NULL, "\"\""},
	{"[]", NULL, "\"\""},
	{"\"int\"", NULL, "\"\""},
	{"{}", NULL, "\"\""},
	{"{\"kind\":5}", NULL, "\"\""},
	{"{\"kind\":\"bogus\",\"text\":\"x\"}", NULL, "\"\""},
	{"{\"kind\":\"INT\",\"text\":\"1\"}", NULL, "\"\""},
	{"{\"kind\":\"int\\u0000x\",\"text\":\"1\"}", NULL, "\"\""},
	{"{\"kind\":\"int\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":42}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"-\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\" 42\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"+42\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"4x\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"4\\u00002\"}", NULL, "\"\""},
	{"{\"kind\":\"float\"}", NULL, "\"\""},
	{"{\"kind\":\"float\",\"value\":\"4.0\",\"text\":\"4.0\"}", NULL,
	 "\"4.0\""},
	{"{\"kind\":\"float\",\"value\":null}", NULL, "\"\""},
	{"{\"kind\":\"str\"}", NULL, "\"\""},
	{"{\"kind\":\"str\",\"value\":5}", NULL, "\"\""},
	{"{\"kind\":\"repr\",\"text\":[\"x\"]}", NULL, "\"\""},
	{"{\"kind\":\"artist\"}", NULL, "\"\""},
};

static const struct rcase gen2[] = {
	{"{\"kind\":\"none\"}", NULL, "null"},
	{"{\"kind\":\"none\"}", "[" IMG1 "]", "null"},
	{"{\"kind\":\"empty\"}", NULL, "\"\""},
	{"{\"kind\":\"empty\"}", "[" IMG1 "]", "\"\""},
	{"{\"kind\":\"int\",\"text\":\"42\"}", NULL, "\"42\""},
	{"{\"kind\":\"int\",\"text\":\"-7\"}", NULL, "\"-7\""},
	{"{\"kind\":\"int\",\"text\":\"" HUGE "\"}", NULL, "\"" HUGE "\""},
	{"{\"kind\":\"float\",\"value\":4.0,\"text\":\"4.0\"}", NULL,
	 "\"4.0\""},
	{"{\"kind\":\"float\",\"text\":\"nan\"}", NULL, "\"nan\""},
	{"{\"kind\":\"float\",\"text\":\"-inf\"}", NULL, "\"-inf\""},
	{"{\"kind\":\"str\",\"value\":\"abc\"}", NULL, "\"abc\""},
	{"{\"kind\":\"repr\",\"text\":\"{'a': 1}\"}", NULL, "\"{'a': 1}\""},
	{"{\"kind\":\"artist\",\"text\":\"[<Line2D>]\"}", "[" IMG1 "]",
	 "\"[<Line2D>]\""},
	/* Malformed. */
	{NULL, NULL, "\"\""},
	{"null", NULL, "\"\""},
	{"{}", NULL, "\"\""},
	{"{\"kind\":\"bogus\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":\"4x\"}", NULL, "\"\""},
	{"{\"kind\":\"int\",\"text\":4}", NULL, "\"\""},
	{"{\"kind\":\"float\",\"value\":4.0}", NULL, "\"\""},
	{"{\"kind\":\"str\",\"value\":false}", NULL, "\"\""},
	{"{\"kind\":\"repr\"}", NULL, "\"\""},
};

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v;

	if (text == NULL)
		return NULL;
	v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v == NULL)
		T_FAIL("bad test JSON %s: %s", text, jerr.text);
	return v;
}

static void
run(const struct rcase *cases, size_t n,
    json_t *(*fn)(const json_t *, const json_t *), const char *label)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *res = load(cases[i].result);
		json_t *out = load(cases[i].outputs);
		json_t *got = fn(res, out);
		char *s = NULL;

		if (got == NULL) {
			T_FAIL("%s row %zu: NULL", label, i);
		} else {
			s = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
			if (s == NULL || strcmp(s, cases[i].want) != 0)
				T_FAIL("%s row %zu %s: got %s, want %s", label,
				       i,
				       cases[i].result ? cases[i].result
						       : "NULL",
				       s ? s : "(null)", cases[i].want);
		}
		free(s);
		json_decref(got);
		json_decref(res);
		json_decref(out);
	}
}

TEST(gen1_vectors)
{
	size_t n = ARRAY_SIZE(gen1);

	run(gen1, n, result_gen1, "gen1");
}

TEST(gen2_vectors)
{
	size_t n = ARRAY_SIZE(gen2);

	run(gen2, n, result_gen2, "gen2");
}

TEST(gen1_int_types)
{
	json_t *r = load("{\"kind\":\"int\",\"text\":\"42\"}");
	json_t *v = result_gen1(r, NULL);

	CHECK(json_is_integer(v));
	CHECK_INT(json_integer_value(v), ==, 42);
	json_decref(v);
	json_decref(r);

	r = load("{\"kind\":\"float\",\"value\":4.0,\"text\":\"4.0\"}");
	v = result_gen1(r, NULL);
	CHECK(json_is_real(v));
	json_decref(v);
	json_decref(r);
}

TEST(gen1_float_extremes)
{
	/* Built by hand: the largest finite double stays a JSON real. */
	json_t *r = json_pack("{s:s,s:s}", "kind", "float", "text", "1e+308");
	json_t *v;

	json_object_set_new(r, "value", json_real(1e308));
	v = result_gen1(r, NULL);
	CHECK(json_is_real(v));
	CHECK(json_real_value(v) == 1e308);
	json_decref(v);
	json_decref(r);
}

TEST(outputs)
{
	json_t *in =
		load("[" IMG1 "," HTML ",{\"type\":\"text\",\"data\":\"x\"},"
		     "5,{\"type\":\"html\",\"data\":5},"
		     "{\"type\":\"image\",\"format\":\"png\",\"data\":\"Q\"},"
		     "{\"type\":\"html\"}," IMG2 "]");
	json_t *out = result_outputs(in);
	char *s = json_dumps(out, JSON_COMPACT);

	CHECK_STR(s, "[" WIRE1 "," HTML "," WIRE2 "]");
	free(s);
	json_decref(out);
	json_decref(in);

	out = result_outputs(NULL);
	CHECK(json_is_array(out) && json_array_size(out) == 0);
	json_decref(out);

	in = load("{\"type\":\"image\"}");
	out = result_outputs(in);
	CHECK(json_is_array(out) && json_array_size(out) == 0);
	json_decref(out);
	json_decref(in);
}

TEST(outputs_do_not_alias_input)
{
	json_t *in = load("[" IMG1 "]");
	json_t *out = result_outputs(in);

	/* Dropping the kernel's message must leave the answer intact. */
	json_decref(in);
	CHECK_STR(json_string_value(json_object_get(json_array_get(out, 0),
						    "base64_data")),
		  "QUFB");
	json_decref(out);
}

T_MAIN()
