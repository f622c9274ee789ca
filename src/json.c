// SPDX-License-Identifier: MIT
/*
 * json.c: request-body parsing and typed field access for api.c and mcp.c.
 * The body is capped by http.c before it gets here; this file caps the
 * nesting (a pre-scan, so jansson's recursive parser never goes deep),
 * refuses raw NUL bytes and duplicate keys (two parsers reading one body
 * differently is a classic smuggling trick), and writes every error as one
 * sentence that names the field and what is accepted.
 */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
json_depth_ok(const char *buf, size_t len, unsigned max_depth)
{
	unsigned depth = 0;
	int in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		switch (c) {
		case '"':
			in_str = 1;
			break;
		case '[':
		case '{':
			if (depth >= max_depth)
				return 0;
			depth++;
			break;
		case ']':
		case '}':
			/* Unbalanced closers are jansson's to report. */
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return 1;
}

/* "an object", "a string", ... for messages. */
static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

static int
is_blank(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' &&
		    buf[i] != '\r')
			return 0;
	return 1;
}

int
json_parse_object(const char *buf, size_t len, unsigned max_depth, json_t **out,
		  struct sp_err *err)
{
	json_error_t jerr;
	json_t *v = NULL;
	const char *nul;
	int rc = 0;

	*out = NULL;
	if (buf == NULL)
		len = 0;
	if (!json_depth_ok(buf, len, max_depth)) {
		rc = sp_errf(err, 400, "InvalidJson",
			     "the body nests arrays and objects deeper than "
			     "%u levels",
			     max_depth);
		goto out;
	}
	nul = len > 0 ? memchr(buf, '\0', len) : NULL;
	if (nul != NULL) {
		rc = sp_errf(err, 400, "InvalidJson",
			     "the body contains a NUL byte at offset %zu; "
			     "send UTF-8 JSON",
			     (size_t)(nul - buf));
		goto out;
	}
	if (is_blank(buf, len)) {
		rc = sp_errf(err, 400, "InvalidJson",
			     "the body is empty; send one JSON object");
		goto out;
	}
	/*
	 * JSON_DECODE_ANY so that a scalar body gets our clearer message
	 * below; JSON_ALLOW_NUL so that "\u0000" in code is jansson's
	 * business to hold and ours to refuse field by field.
	 */
	v = json_loadb(buf, len,
		       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
			       JSON_DECODE_ANY,
		       &jerr);
	if (v == NULL) {
		rc = sp_errf(err, 400, "InvalidJson",
			     "invalid JSON at line %d, column %d: %s",
			     jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if (!json_is_object(v)) {
		rc = sp_errf(err, 400, "InvalidJson",
			     "the body must be a JSON object, not %s",
			     type_name(v));
		goto out;
	}
	*out = v;
	v = NULL;
out:
	json_decref(v);
	return rc;
}

/* The field's value, or NULL when obj is not an object, or the field is
 * absent or null. */
static json_t *
field(const json_t *obj, const char *key)
{
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int
absent(const char *path, int required, struct sp_err *err)
{
	if (!required)
		return 0;
	return sp_errf(err, 400, "InvalidRequest", "%s is required", path);
}

int
json_get_str(const json_t *obj, const char *key, const char *path, int required,
	     const char **out, struct sp_err *err)
{
	const json_t *v = field(obj, key);
	const char *s;

	if (path == NULL)
		path = key;
	if (v == NULL)
		return absent(path, required, err);
	if (!json_is_string(v))
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must be a string, not %s", path,
			       type_name(v));
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must not contain a NUL character (\\u0000)",
			       path);
	*out = s;
	return 0;
}

int
json_get_int(const json_t *obj, const char *key, const char *path, int required,
	     int64_t min, int64_t max, int64_t *out, struct sp_err *err)
{
	const json_t *v = field(obj, key);
	json_int_t n;

	if (path == NULL)
		path = key;
	if (v == NULL)
		return absent(path, required, err);
	if (!json_is_integer(v))
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must be an integer from %" PRId64
			       " to %" PRId64 ", not %s",
			       path, min, max, type_name(v));
	n = json_integer_value(v);
	if (n < min || n > max)
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must be an integer from %" PRId64
			       " to %" PRId64 ", not %lld",
			       path, min, max, (long long)n);
	*out = (int64_t)n;
	return 0;
}

int
json_get_bool(const json_t *obj, const char *key, const char *path,
	      int required, int *out, struct sp_err *err)
{
	const json_t *v = field(obj, key);

	if (path == NULL)
		path = key;
	if (v == NULL)
		return absent(path, required, err);
	if (!json_is_boolean(v))
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must be true or false, not %s", path,
			       type_name(v));
	*out = json_is_true(v);
	return 0;
}

int
json_get_obj(const json_t *obj, const char *key, const char *path, int required,
	     json_t **out, struct sp_err *err)
{
	json_t *v = field(obj, key);

	if (path == NULL)
		path = key;
	if (v == NULL)
		return absent(path, required, err);
	if (!json_is_object(v))
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must be a JSON object, not %s", path,
			       type_name(v));
	*out = v;
	return 0;
}

/* names joined by ", " into out (truncated with "..." if it must be). */
static void
join_names(const char *const *names, int nnames, char *out, size_t outsz)
{
	size_t len = 0;
	int i;

	out[0] = '\0';
	for (i = 0; i < nnames; i++) {
		size_t n = strlen(names[i]);
		size_t sep = i > 0 ? 2 : 0;

		if (len + sep + n + 4 > outsz) {
			memcpy(out + len, "...", 4);
			return;
		}
		memcpy(out + len, ", ", sep);
		memcpy(out + len + sep, names[i], n + 1);
		len += sep + n;
	}
}

int
json_get_enum(const json_t *obj, const char *key, const char *path,
	      int required, const char *const *names, int nnames, int def,
	      struct sp_err *err)
{
	const json_t *v = field(obj, key);
	char list[128];
	const char *s;
	int i;

	if (path == NULL)
		path = key;
	join_names(names, nnames, list, sizeof(list));
	if (v == NULL) {
		if (!required)
			return def;
		sp_errf(err, 400, "InvalidRequest",
			"%s is required; accepted values: %s", path, list);
		return -1;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		/* An embedded NUL must not let "inline\u0000x" pass. */
		if (strlen(s) == json_string_length(v))
			for (i = 0; i < nnames; i++)
				if (strcasecmp(s, names[i]) == 0)
					return i;
	}
	sp_errf(err, 400, "InvalidRequest", "%s must be one of %s (any case)",
		path, list);
	return -1;
}

char *
json_dump_compact(const json_t *v, size_t *len)
{
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;
	size_t n;
	char *s;

	if (len != NULL)
		*len = 0;
	if (v == NULL)
		return NULL;
	n = json_dumpb(v, NULL, 0, flags);
	if (n == 0)
		return NULL;
	s = xmalloc(n + 1);
	if (json_dumpb(v, s, n, flags) != n) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}
