/* SPDX-License-Identifier: MIT */
/*
 * json.h: jansson helpers for request bodies.  json_parse_object() caps
 * nesting before jansson sees the bytes; the typed getters turn a missing
 * or wrong field into a 400 whose message names the field by its dotted
 * path ("properties.timeoutInSeconds") and says what is accepted.
 *
 * Common rules for the getters: obj is borrowed and must be an object (a
 * non-object gives the same error as an absent field); a JSON null counts
 * as absent, because .NET and JavaScript clients serialise unset optional
 * fields as null; an absent field that is not required returns 0 and
 * leaves *out unchanged.  Errors are 400 "InvalidRequest".
 */
#ifndef SANDPOOL_JSON_H
#define SANDPOOL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/*
 * Return 1 if buf[0..len) nests arrays and objects at most max_depth deep,
 * 0 otherwise.  Brackets inside strings (escapes honoured) do not count.
 * This is a pre-scan only: it does not validate the JSON.
 */
int json_depth_ok(const char *buf, size_t len, unsigned max_depth);

/*
 * Parse a request body that must be exactly one JSON object: checks depth
 * first, then rejects raw NUL bytes, duplicate keys, trailing bytes other
 * than whitespace, and non-object values.  Strings may hold \u0000 (only
 * fields that allow it read them with json_string_length).  On success
 * returns 0 and *out is a new reference the caller must json_decref; on
 * error returns a negative errno, *out is NULL and *err is a 400
 * "InvalidJson" with jansson's line, column and text where it has them.
 */
int json_parse_object(const char *buf, size_t len, unsigned max_depth,
		      json_t **out, struct sp_err *err);

/*
 * String field.  *out points into obj (borrowed: valid while obj lives).
 * Strings with an embedded NUL are refused, since a C string cannot hold
 * them.  Returns 0 or a negative errno with *err set.
 */
int json_get_str(const json_t *obj, const char *key, const char *path,
		 int required, const char **out, struct sp_err *err);

/*
 * Integer field in [min, max].  A real such as 1.0 is refused.  Returns 0
 * or a negative errno with *err set ("PATH must be an integer from MIN to
 * MAX").
 */
int json_get_int(const json_t *obj, const char *key, const char *path,
		 int required, int64_t min, int64_t max, int64_t *out,
		 struct sp_err *err);

/* Boolean field (true or false only); *out is 1 or 0.  Returns 0 or a
 * negative errno with *err set. */
int json_get_bool(const json_t *obj, const char *key, const char *path,
		  int required, int *out, struct sp_err *err);

/* Object field; *out is borrowed from obj.  Returns 0 or a negative errno
 * with *err set. */
int json_get_obj(const json_t *obj, const char *key, const char *path,
		 int required, json_t **out, struct sp_err *err);

/*
 * String field naming one of names[0..nnames), compared case-insensitively
 * (SK .NET sends "Inline", the docs "inline").  Returns the index, def when
 * the field is absent and not required, or -1 with *err set to a 400 that
 * lists the accepted values.
 */
int json_get_enum(const json_t *obj, const char *key, const char *path,
		  int required, const char *const *names, int nnames, int def,
		  struct sp_err *err);

/*
 * Serialise v compactly (JSON_COMPACT | JSON_ENCODE_ANY), NUL-terminated;
 * if len is not NULL it receives the length without the NUL.  jansson
 * cannot hold NaN or infinity (json_real refuses them), so the output is
 * always strict JSON.  Returns a string the caller frees with free(), or
 * NULL when v is NULL or cannot be encoded.
 */
char *json_dump_compact(const json_t *v, size_t *len);

#endif
