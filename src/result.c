// SPDX-License-Identifier: MIT
/*
 * result.c: the wire form of a cell's last expression and rich outputs,
 * used by api.c (REST) and mcp.c.  The kernel describes the value rather
 * than converting it (docs/ARCHITECTURE.md); the rules for turning that
 * description into Gen1 and Gen2 JSON are DESIGN.md §2 "Wire decisions".
 * Everything read here comes from the sandbox, so every field is checked
 * for presence and type, and anything unexpected degrades to "" rather
 * than to an error: a confused kernel must not turn into a 5xx or a crash.
 */
#include "result.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum result_kind {
	RK_BAD, /* missing, wrong-typed or unknown: answer "" */
	RK_EMPTY,
	RK_NONE,
	RK_INT,
	RK_FLOAT,
	RK_STR,
	RK_ARTIST,
	RK_REPR,
};

/* A new JSON string holding s[0..n); "" if jansson refuses it. */
static json_t *
jstr(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);

	if (v == NULL)
		v = json_string("");
	ENSURE(v != NULL);
	return v;
}

/* A copy of the string value v, or NULL if v is not a string. */
static json_t *
copy_str(const json_t *v)
{
	if (!json_is_string(v))
		return NULL;
	return jstr(json_string_value(v), json_string_length(v));
}

/* Is v a string exactly equal to lit (no embedded NUL)? */
static int
str_is(const json_t *v, const char *lit)
{
	return json_is_string(v) && json_string_length(v) == strlen(lit) &&
	       strcmp(json_string_value(v), lit) == 0;
}

static enum result_kind
kind_of(const json_t *result)
{
	static const struct {
		const char *name;
		enum result_kind kind;
	} kinds[] = {
		{"empty", RK_EMPTY}, {"none", RK_NONE}, {"int", RK_INT},
		{"float", RK_FLOAT}, {"str", RK_STR},   {"artist", RK_ARTIST},
		{"repr", RK_REPR},
	};
	const json_t *k;
	size_t i;

	if (!json_is_object(result))
		return RK_BAD;
	k = json_object_get(result, "kind");
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (str_is(k, kinds[i].name))
			return kinds[i].kind;
	return RK_BAD;
}

/* Is v a string of the form -?[0-9]+ ? */
static int
is_int_text(const json_t *v)
{
	const char *s;
	size_t n, i = 0;

	if (!json_is_string(v))
		return 0;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n > 0 && s[0] == '-')
		i = 1;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Standard base64 with '=' padding, as Python's b64encode writes it. */
static int
is_base64(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return 0;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

/* The data string of a valid image output, or NULL. */
static const json_t *
image_data(const json_t *item)
{
	const json_t *data;

	if (!json_is_object(item) ||
	    !str_is(json_object_get(item, "type"), "image") ||
	    !str_is(json_object_get(item, "format"), "png"))
		return NULL;
	data = json_object_get(item, "data");
	if (!json_is_string(data) ||
	    !is_base64(json_string_value(data), json_string_length(data)))
		return NULL;
	return data;
}

/* The data string of a valid html output, or NULL. */
static const json_t *
html_data(const json_t *item)
{
	const json_t *data;

	if (!json_is_object(item) ||
	    !str_is(json_object_get(item, "type"), "html"))
		return NULL;
	data = json_object_get(item, "data");
	return json_is_string(data) ? data : NULL;
}

static json_t *
image_object(const json_t *data)
{
	json_t *o = json_object();

	ENSURE(o != NULL);
	json_object_set_new(o, "type", json_string("image"));
	json_object_set_new(o, "format", json_string("png"));
	json_object_set_new(o, "base64_data", copy_str(data));
	return o;
}

/* A new reference to the text field as a string, or "" if not a string. */
static json_t *
text_or_empty(const json_t *result)
{
	json_t *v = copy_str(json_object_get(result, "text"));

	return v != NULL ? v : jstr("", 0);
}

/* Gen1 int: a JSON integer if the text fits in int64, else the text. */
static json_t *
gen1_int(const json_t *text)
{
	long long ll;
	char *end = NULL;
	json_t *v;

	if (!is_int_text(text))
		return jstr("", 0);
	errno = 0;
	ll = strtoll(json_string_value(text), &end, 10);
	if (errno == 0 && end != NULL && *end == '\0') {
		v = json_integer((json_int_t)ll);
		ENSURE(v != NULL);
		return v;
	}
	return copy_str(text);
}

/* Gen1 float: a JSON real when "value" is a finite number, else the text. */
static json_t *
gen1_float(const json_t *result)
{
	const json_t *value = json_object_get(result, "value");

	if (json_is_number(value) && isfinite(json_number_value(value))) {
		json_t *v = json_real(json_number_value(value));

		if (v != NULL)
			return v;
	}
	return text_or_empty(result);
}

json_t *
result_gen1(const json_t *result, const json_t *outputs)
{
	const json_t *image = NULL;
	enum result_kind kind = kind_of(result);
	size_t i;
	json_t *v;

	/* json_array_size() is 0 for a non-array, so no type check. */
	for (i = 0; i < json_array_size(outputs); i++) {
		const json_t *d = image_data(json_array_get(outputs, i));

		if (d != NULL)
			image = d;
	}

	switch (kind) {
	case RK_EMPTY:
	case RK_NONE:
	case RK_ARTIST:
		if (image != NULL)
			return image_object(image);
		if (kind == RK_ARTIST)
			return text_or_empty(result);
		return jstr("", 0);
	case RK_INT:
		return gen1_int(json_object_get(result, "text"));
	case RK_FLOAT:
		return gen1_float(result);
	case RK_STR:
		v = copy_str(json_object_get(result, "value"));
		return v != NULL ? v : jstr("", 0);
	case RK_REPR:
		return text_or_empty(result);
	case RK_BAD:
		break;
	}
	return jstr("", 0);
}

json_t *
result_gen2(const json_t *result, const json_t *outputs)
{
	const json_t *text;
	json_t *v;

	(void)outputs;
	switch (kind_of(result)) {
	case RK_NONE:
		return json_null();
	case RK_INT:
		text = json_object_get(result, "text");
		return is_int_text(text) ? copy_str(text) : jstr("", 0);
	case RK_FLOAT:
	case RK_ARTIST:
	case RK_REPR:
		return text_or_empty(result);
	case RK_STR:
		v = copy_str(json_object_get(result, "value"));
		return v != NULL ? v : jstr("", 0);
	case RK_EMPTY:
	case RK_BAD:
		break;
	}
	return jstr("", 0);
}

json_t *
result_outputs(const json_t *outputs)
{
	json_t *arr = json_array(), *o;
	const json_t *item, *d;
	size_t i;

	ENSURE(arr != NULL);
	for (i = 0; i < json_array_size(outputs); i++) {
		item = json_array_get(outputs, i);
		d = image_data(item);
		if (d != NULL) {
			json_array_append_new(arr, image_object(d));
			continue;
		}
		d = html_data(item);
		if (d == NULL)
			continue;
		o = json_object();
		ENSURE(o != NULL);
		json_object_set_new(o, "type", json_string("html"));
		json_object_set_new(o, "data", copy_str(d));
		json_array_append_new(arr, o);
	}
	return arr;
}
