// SPDX-License-Identifier: MIT
/*
 * test_result.c: the kernel's RESULT and outputs turned into Gen1 result,
 * Gen2 executionResult and the outputs array.  Vectors are JSON text in,
 * compact JSON text out; the malformed rows are what a hostile kernel
 * could send.  The harness decodes the JSON as the server does, through
 * kernel_value_decode() and kernel_outputs_decode() (kernel.c, which owns
 * the checks), and hands the typed values to result_*().
 */
#include <jansson.h>
#include <string.h>

#include "kernel.h"
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

typedef json_t *(*result_fn)(const struct kernel_value *,
			     const struct kernel_output *, size_t);

/* Decode result and outputs as the server does and call fn; NULL JSON
 * stands for an absent field. */
static json_t *
call(result_fn fn, const json_t *result, const json_t *outputs)
{
	struct kernel_value v;
	struct kernel_output *outs = NULL;
	size_t n;
	json_t *got;

	kernel_value_decode(result, &v);
	n = kernel_outputs_decode(outputs, &outs);
	got = fn(&v, outs, n);
	free(outs);
	return got;
}

/* result_outputs through kernel_outputs_decode. */
static json_t *
outputs_of(const json_t *outputs)
{
	struct kernel_output *outs = NULL;
	size_t n = kernel_outputs_decode(outputs, &outs);
	json_t *got = result_outputs(outs, n);

	free(outs);
	return got;
}

static char *
dump(const json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

static void
run(const struct rcase *cases, size_t n, result_fn fn, const char *label)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *res = load(cases[i].result);
		json_t *out = load(cases[i].outputs);
		json_t *got = call(fn, res, out);
		char *s = NULL;

		if (got == NULL) {
			T_FAIL("%s row %zu: NULL", label, i);
		} else {
			s = dump(got);
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
	json_t *v = call(result_gen1, r, NULL);

	CHECK(json_is_integer(v));
	CHECK_INT(json_integer_value(v), ==, 42);
	json_decref(v);
	json_decref(r);

	r = load("{\"kind\":\"float\",\"value\":4.0,\"text\":\"4.0\"}");
	v = call(result_gen1, r, NULL);
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
	v = call(result_gen1, r, NULL);
	CHECK(json_is_real(v));
	CHECK(json_real_value(v) == 1e308);
	json_decref(v);
	json_decref(r);
}

/* A NULL value pointer (no RESULT: a shell command, no reply) is "". */
TEST(null_value)
{
	json_t *v = result_gen1(NULL, NULL, 0);
	char *s = dump(v);

	CHECK_STR(s, "\"\"");
	free(s);
	json_decref(v);
	v = result_gen2(NULL, NULL, 0);
	s = dump(v);
	CHECK_STR(s, "\"\"");
	free(s);
	json_decref(v);
}

TEST(outputs)
{
	json_t *in =
		load("[" IMG1 "," HTML ",{\"type\":\"text\",\"data\":\"x\"},"
		     "5,{\"type\":\"html\",\"data\":5},"
		     "{\"type\":\"image\",\"format\":\"png\",\"data\":\"Q\"},"
		     "{\"type\":\"html\"}," IMG2 "]");
	json_t *out = outputs_of(in);
	char *s = json_dumps(out, JSON_COMPACT);

	CHECK_STR(s, "[" WIRE1 "," HTML "," WIRE2 "]");
	free(s);
	json_decref(out);
	json_decref(in);

	out = outputs_of(NULL);
	CHECK(json_is_array(out) && json_array_size(out) == 0);
	json_decref(out);

	in = load("{\"type\":\"image\"}");
	out = outputs_of(in);
	CHECK(json_is_array(out) && json_array_size(out) == 0);
	json_decref(out);
	json_decref(in);
}

/* Vectors for the checks kernel_outputs_decode makes on each item. */
static const struct {
	const char *in, *want;
} output_rows[] = {
	/* html keeps a NUL and may be empty. */
	{"[{\"type\":\"html\",\"data\":\"a\\u0000b\"}]",
	 "[{\"type\":\"html\",\"data\":\"a\\u0000b\"}]"},
	{"[{\"type\":\"html\",\"data\":\"\"}]",
	 "[{\"type\":\"html\",\"data\":\"\"}]"},
	/* Types and formats are compared exactly. */
	{"[{\"type\":\"html\\u0000x\",\"data\":\"h\"}]", "[]"},
	{"[{\"type\":\"image\\u0000\",\"format\":\"png\",\"data\":\"QUFB\"}]",
	 "[]"},
	{"[{\"type\":\"image\",\"format\":\"png\\u0000\",\"data\":\"QUFB\"}]",
	 "[]"},
	{"[{\"type\":\"IMAGE\",\"format\":\"png\",\"data\":\"QUFB\"}]", "[]"},
	{"[{\"type\":\"image\",\"format\":\"PNG\",\"data\":\"QUFB\"}]", "[]"},
	/* Base64: the alphabet, padding only at the end, length 4k. */
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"QQ==\"}]",
	 "[{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"QQ==\"}]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"+/09\"}]",
	 "[{\"type\":\"image\",\"format\":\"png\",\"base64_data\":\"+/09\"}]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"Q===\"}]", "[]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"QQ=A\"}]", "[]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"QU-_\"}]", "[]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"QUF\"}]", "[]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"QU\\u0000B\"}]",
	 "[]"},
	{"[{\"type\":\"image\",\"format\":\"png\",\"data\":\"QUFB\\n\"}]",
	 "[]"},
	{"[{\"type\":\"image\",\"format\":5,\"data\":\"QUFB\"}]", "[]"},
	{"[{\"type\":null,\"data\":\"x\"}]", "[]"},
	{"[{\"data\":\"x\"}]", "[]"},
};

TEST(output_item_checks)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(output_rows); i++) {
		json_t *in = load(output_rows[i].in);
		json_t *out = outputs_of(in);
		char *s = json_dumps(out, JSON_COMPACT);

		if (s == NULL || strcmp(s, output_rows[i].want) != 0)
			T_FAIL("outputs row %zu %s: got %s, want %s", i,
			       output_rows[i].in, s ? s : "(null)",
			       output_rows[i].want);
		free(s);
		json_decref(out);
		json_decref(in);
	}
}

/*
 * At most KERNEL_MAX_OUTPUTS outputs are kept, the first ones: a kernel
 * that sends more cannot grow the reply, and Gen1's image is the last
 * image that was kept.
 */
TEST(outputs_capped)
{
	json_t *in = json_array(), *out, *v;
	size_t i;
	char *s;

	/* Invalid items first: they do not count against the cap. */
	for (i = 0; i < 10; i++)
		json_array_append_new(in, json_integer(1));
	for (i = 0; i < KERNEL_MAX_OUTPUTS - 1; i++)
		json_array_append_new(in, load(HTML));
	json_array_append_new(in, load(IMG1));
	json_array_append_new(in, load(IMG2)); /* one too many */
	out = outputs_of(in);
	CHECK_INT(json_array_size(out), ==, KERNEL_MAX_OUTPUTS);
	s = json_dumps(json_array_get(out, KERNEL_MAX_OUTPUTS - 1),
		       JSON_COMPACT);
	CHECK_STR(s, WIRE1);
	free(s);
	json_decref(out);

	v = load("{\"kind\":\"none\"}");
	out = call(result_gen1, v, in);
	s = dump(out);
	CHECK_STR(s, WIRE1);
	free(s);
	json_decref(out);
	json_decref(v);
	json_decref(in);
}

TEST(outputs_do_not_alias_input)
{
	json_t *in = load("[" IMG1 "]");
	json_t *out = outputs_of(in);

	/* Dropping the kernel's message must leave the answer intact. */
	json_decref(in);
	CHECK_STR(json_string_value(json_object_get(json_array_get(out, 0),
						    "base64_data")),
		  "QUFB");
	json_decref(out);
}

/* Likewise for the value and Gen1's image. */
TEST(values_do_not_alias_input)
{
	json_t *r = load("{\"kind\":\"str\",\"value\":\"abc\"}");
	json_t *o = load("[" IMG1 "]");
	json_t *s = call(result_gen2, r, NULL);
	json_t *img;

	json_decref(r);
	CHECK_STR(json_string_value(s), "abc");
	json_decref(s);
	r = load("{\"kind\":\"none\"}");
	img = call(result_gen1, r, o);
	json_decref(r);
	json_decref(o);
	CHECK_STR(json_string_value(json_object_get(img, "base64_data")),
		  "QUFB");
	json_decref(img);
}

T_MAIN()
