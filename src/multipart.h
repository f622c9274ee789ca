/* SPDX-License-Identifier: MIT */
/*
 * multipart.h: an incremental multipart/form-data parser (RFC 7578, RFC
 * 2046 §5.1) for file uploads.  Bytes are fed as they arrive from the
 * network, in chunks of any size; part headers are parsed into a plain
 * struct mp_part and part bodies are handed to a callback without being
 * buffered, so an upload of any size costs a few KiB of memory.
 *
 * The quirks of the real ACA clients are handled here (aca-api.md §4.1):
 * the boundary may be quoted, or missing from the Content-Type altogether
 * (SK Python sends multipart under "application/json"), in which case it
 * is read from the body's first line; filenames may come as filename*=
 * (RFC 5987, .NET) and parameters unquoted.  Pure code: no I/O, no
 * globals.
 */
#ifndef SANDPOOL_MULTIPART_H
#define SANDPOOL_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define MP_BOUNDARY_MAX 200  /* bytes; RFC 2046 allows 70, be lenient */
#define MP_HEADERS_MAX 16384 /* bytes of one part's header block */
#define MP_FIELD_MAX 255     /* bytes of a form field name */
#define MP_FILENAME_MAX 8192 /* bytes of a decoded filename */
#define MP_CTYPE_MAX 255     /* bytes of a part's Content-Type */
#define MP_PARTS_MAX 256     /* parts in one body */

/* What the headers of one part said. */
struct mp_part {
	char name[MP_FIELD_MAX + 1];         /* form field; "" when absent */
	char filename[MP_FILENAME_MAX + 1];  /* decoded; no NUL inside */
	bool has_filename;                   /* filename or filename* seen */
	char content_type[MP_CTYPE_MAX + 1]; /* "" when absent */
};

/*
 * Callbacks, all optional.  Each returns 0 to go on or a negative errno
 * (with err filled) to stop the parse; mp_feed() then returns that value
 * and every later call fails the same way.  part_data is called with the
 * body bytes of the current part, in order, in pieces of any size (never
 * zero); part_end once the part's closing delimiter was seen.
 */
struct mp_callbacks {
	int (*part_begin)(void *arg, const struct mp_part *part,
			  struct sp_err *err);
	int (*part_data)(void *arg, const char *p, size_t n,
			 struct sp_err *err);
	int (*part_end)(void *arg, struct sp_err *err);
};

struct mp_parser;

/*
 * Make a parser for a body sent with the request header content_type
 * (NULL when absent).  A multipart/... type with a boundary parameter
 * gives the boundary; anything else means the boundary is taken from the
 * body's first line ("--BOUNDARY").  Returns 0 and *out (free with
 * mp_free) or a negative errno with a 400 "InvalidMultipart" in err when
 * the header names an invalid boundary.
 */
int mp_new(const char *content_type, const struct mp_callbacks *cb, void *arg,
	   struct mp_parser **out, struct sp_err *err);

/* Feed n more bytes.  Returns 0 or a negative errno with err filled
 * (400 "InvalidMultipart" for a malformed body, or a callback's error). */
int mp_feed(struct mp_parser *p, const char *data, size_t n,
	    struct sp_err *err);

/* The body is complete: returns 0 if the closing delimiter was seen,
 * otherwise a negative errno and a 400 saying what was missing. */
int mp_finish(struct mp_parser *p, struct sp_err *err);

/* Number of parts whose headers were parsed so far. */
unsigned mp_parts(const struct mp_parser *p);

void mp_free(struct mp_parser *p);

/*
 * The boundary parameter of a Content-Type value, unquoted, into out
 * (at least MP_BOUNDARY_MAX + 1 bytes).  Returns 0, -ENOENT when the type
 * is not multipart/... or has no boundary, or -EINVAL (err filled) when
 * the boundary is empty, too long or holds CR, LF or control bytes.
 */
int mp_boundary(const char *content_type, char *out, size_t outsz,
		struct sp_err *err);

/*
 * Parse a Content-Disposition value (RFC 6266, RFC 7578: form-data,
 * attachment or inline) into part->name, part->filename and
 * part->has_filename; filename* (RFC 5987, utf-8, us-ascii or iso-8859-1)
 * wins over filename.  Used for part headers and for HTTP responses of
 * URL fetches.  Returns 0 or -EINVAL with err filled (a NUL byte in the
 * decoded filename, a filename over MP_FILENAME_MAX, bad syntax).
 */
int mp_parse_disposition(const char *value, size_t len, struct mp_part *part,
			 struct sp_err *err);

#endif
