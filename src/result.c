// SPDX-License-Identifier: MIT
/*
 * result.c: the wire form of a cell's last expression and rich outputs,
 * used by api_exec.c (REST, and through it MCP).  The kernel describes
 * the value rather than converting it (docs/ARCHITECTURE.md); the rules
 * for turning that description into Gen1 and Gen2 JSON are DESIGN.md §2
 * "Wire decisions".  The input is already validated by kernel.c (an int's
 * text is digits, an image's data is base64, a wrong-typed field reads
 * as ""), so everything here is mapping; strings are copied with their
 * length, as str values and html may hold NUL.
 */
#include "result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* What a NULL value pointer means: no RESULT at all. */
static const struct kernel_value no_value = {
	.kind = KV_BAD,
	.text = {"", 0},
};

static json_t *
empty_str(void)
{
	json_t *v = json_string("");

	ENSURE(v != NULL);
	return v;
}

static json_t *
image_object(const struct kernel_str *data)
{
	json_t *o = json_object();

	ENSURE(o != NULL);
	json_object_set_new(o, "type", json_string("image"));
	json_object_set_new(o, "format", json_string("png"));
	json_object_set_new(o, "base64_data", kernel_str_json(data));
	return o;
}

/* Gen1 int: a JSON integer if the text fits in int64, else the text. */
static json_t *
gen1_int(const struct kernel_str *text)
{
	long long ll;
	char *end = NULL;
	json_t *v;

	if (text->len == 0)
		return empty_str();
	/* text->s[len] is a NUL, and kernel.c checked -?[0-9]+. */
	errno = 0;
	ll = strtoll(text->s, &end, 10);
	if (errno == 0 && end == text->s + text->len) {
		v = json_integer((json_int_t)ll);
		ENSURE(v != NULL);
		return v;
	}
	return kernel_str_json(text);
}

/* Gen1 float: a JSON real when the value is finite, else the text. */
static json_t *
gen1_float(const struct kernel_value *v)
{
	if (v->has_number) {
		json_t *r = json_real(v->number);

		if (r != NULL)
			return r;
	}
	return kernel_str_json(&v->text);
}

json_t *
result_gen1(const struct kernel_value *v, const struct kernel_output *outs,
	    size_t n)
{
	const struct kernel_str *image = NULL;
	size_t i;

	if (v == NULL)
		v = &no_value;
	for (i = 0; i < n; i++)
		if (outs[i].type == KOUT_PNG)
			image = &outs[i].data;

	switch (v->kind) {
	case KV_EMPTY:
	case KV_NONE:
	case KV_ARTIST:
		if (image != NULL)
			return image_object(image);
		if (v->kind == KV_ARTIST)
			return kernel_str_json(&v->text);
		return empty_str();
	case KV_INT:
		return gen1_int(&v->text);
	case KV_FLOAT:
		return gen1_float(v);
	case KV_STR:
	case KV_REPR:
		return kernel_str_json(&v->text);
	case KV_BAD:
		break;
	}
	return empty_str();
}

json_t *
result_gen2(const struct kernel_value *v, const struct kernel_output *outs,
	    size_t n)
{
	(void)outs;
	(void)n;
	if (v == NULL)
		v = &no_value;
	switch (v->kind) {
	case KV_NONE:
		return json_null();
	case KV_INT:
	case KV_FLOAT:
	case KV_STR:
	case KV_ARTIST:
	case KV_REPR:
		return kernel_str_json(&v->text);
	case KV_EMPTY:
	case KV_BAD:
		break;
	}
	return empty_str();
}

json_t *
result_outputs(const struct kernel_output *outs, size_t n)
{
	json_t *arr = json_array(), *o;
	size_t i;

	ENSURE(arr != NULL);
	for (i = 0; i < n; i++) {
		switch (outs[i].type) {
		case KOUT_PNG:
			o = image_object(&outs[i].data);
			break;
		case KOUT_HTML:
			o = json_object();
			ENSURE(o != NULL);
			json_object_set_new(o, "type", json_string("html"));
			json_object_set_new(o, "data",
					    kernel_str_json(&outs[i].data));
			break;
		default:
			/* Not a type kernel.c produces. */
			continue;
		}
		json_array_append_new(arr, o);
	}
	return arr;
}
