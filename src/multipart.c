// SPDX-License-Identifier: MIT
/*
 * multipart.c: the incremental multipart/form-data parser behind uploads
 * (api_files.c streams request bodies through it, http.c feeds it).
 *
 * Why not libmicrohttpd's MHD_PostProcessor: it needs the boundary in the
 * Content-Type header, but SK Python sends its multipart body under a
 * sticky "Content-Type: application/json", so the boundary must be read
 * from the body's first line; it does not decode filename*=utf-8''...
 * (.NET's MultipartFormDataContent); and it hands form fields and file
 * data through one callback with its own buffering.  This parser is small,
 * keeps no more than one header line in memory, and passes body bytes
 * through without copying them.
 *
 * Delimiter search: the delimiter is CRLF "--" boundary, and a boundary
 * may not hold CR, so a CR can only start a match at the delimiter's first
 * byte.  A failed partial match therefore never hides the start of another
 * one but the current byte, which is examined again: no back-tracking and
 * no look-behind buffer across chunks (the matched bytes are the
 * delimiter's own prefix).
 */
#define _GNU_SOURCE
#include "multipart.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mp_state {
	S_SNIFF,       /* boundary unknown: reading the body's first line */
	S_PREAMBLE,    /* before the first delimiter: dropped */
	S_AFTER_DELIM, /* after a delimiter: "--" (close) or LWSP CRLF */
	S_AFTER_DASH,  /* one '-' after a delimiter */
	S_AFTER_CR,    /* CR after a delimiter */
	S_HEADERS,     /* a part's header lines */
	S_BODY,        /* a part's body, scanning for the delimiter */
	S_EPILOGUE,    /* after the close delimiter: ignored */
	S_FAILED,      /* an error was returned; it is returned again */
};

struct mp_parser {
	enum mp_state state;
	struct mp_callbacks cb;
	void *arg;
	char delim[4 + MP_BOUNDARY_MAX + 1]; /* CRLF "--" boundary */
	size_t dlen;
	size_t match;                  /* delimiter bytes matched so far */
	char line[MP_HEADERS_MAX + 1]; /* the header line being read */
	size_t line_len;
	size_t hdr_total; /* bytes of the current header block */
	unsigned parts;
	struct mp_part part;
	int error; /* S_FAILED: what mp_feed returned */
	struct sp_err err;
};

#define BAD(err, ...) sp_errf(err, 400, "InvalidMultipart", __VA_ARGS__)

/* ---- parameters (Content-Type, Content-Disposition) ---- */

static const char *
skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/*
 * Read the next ";name=value" parameter from [*pp, end).  The name is
 * lowercased into name (truncated to namesz - 1); the value, unquoted,
 * into val with its length in *vlen.  In a quoted value a backslash
 * escapes only '"' and '\' (browsers send Windows paths unescaped).
 * Returns 1 with *pp advanced, 0 when no parameter is left, -EINVAL on an
 * unterminated quote, -E2BIG when the value does not fit valsz - 1.
 */
static int
param_next(const char **pp, const char *end, char *name, size_t namesz,
	   char *val, size_t valsz, size_t *vlen)
{
	const char *s = skip_ws(*pp, end);
	size_t n = 0, v = 0;
	int big = 0;

	while (s < end && *s == ';')
		s = skip_ws(s + 1, end);
	if (s >= end)
		return 0;
	while (s < end && *s != '=' && *s != ';' && *s != ' ' && *s != '\t') {
		char c = *s++;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n + 1 < namesz)
			name[n++] = c;
	}
	name[n] = '\0';
	s = skip_ws(s, end);
	if (s < end && *s == '=') {
		s = skip_ws(s + 1, end);
		if (s < end && *s == '"') {
			for (s++; s < end && *s != '"'; s++) {
				if (*s == '\\' && s + 1 < end &&
				    (s[1] == '"' || s[1] == '\\'))
					s++;
				if (v + 1 < valsz)
					val[v++] = *s;
				else
					big = 1;
			}
			if (s >= end)
				return -EINVAL;
			s++;
		} else {
			for (; s < end && *s != ';'; s++) {
				if (v + 1 < valsz)
					val[v++] = *s;
				else
					big = 1;
			}
			while (v > 0 &&
			       (val[v - 1] == ' ' || val[v - 1] == '\t'))
				v--;
		}
	}
	/* Skip whatever follows a quoted value up to the next ';'. */
	while (s < end && *s != ';')
		s++;
	val[v] = '\0';
	*vlen = v;
	*pp = s;
	return big ? -E2BIG : 1;
}

static int
boundary_ok(const char *b, size_t n)
{
	size_t i;

	if (n == 0 || n > MP_BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
			return 0;
	return 1;
}

int
mp_boundary(const char *ct, char *out, size_t outsz, struct sp_err *err)
{
	const char *end, *s;
	char name[32], val[MP_BOUNDARY_MAX + 2];
	size_t vlen;
	int rc;

	if (ct == NULL ||
	    strncasecmp(skip_ws(ct, ct + strlen(ct)), "multipart/", 10) != 0)
		return -ENOENT;
	end = ct + strlen(ct);
	s = strchr(ct, ';');
	if (s == NULL)
		return -ENOENT;
	while ((rc = param_next(&s, end, name, sizeof(name), val, sizeof(val),
				&vlen)) != 0) {
		if (strcmp(name, "boundary") != 0)
			continue;
		if (rc < 0 || !boundary_ok(val, vlen) || vlen + 1 > outsz)
			return BAD(err,
				   "the multipart boundary in the Content-Type "
				   "must be 1 to %d printable ASCII characters",
				   MP_BOUNDARY_MAX);
		memcpy(out, val, vlen + 1);
		return 0;
	}
	return -ENOENT;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode an RFC 5987 ext-value (charset'lang'pct-encoded) into out. */
static int
ext_value(const char *v, size_t n, char *out, size_t outsz, struct sp_err *err)
{
	const char *q1 = memchr(v, '\'', n), *q2, *end = v + n, *s;
	size_t cslen, o = 0;
	int latin1;

	q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(end - q1 - 1)) : NULL;
	if (q2 == NULL)
		return BAD(err, "filename* must be charset'language'value "
				"(RFC 5987), e.g. utf-8''name.txt");
	cslen = (size_t)(q1 - v);
	if (cslen == 5 && strncasecmp(v, "utf-8", 5) == 0)
		latin1 = 0;
	else if (cslen == 8 && strncasecmp(v, "us-ascii", 8) == 0)
		latin1 = 0;
	else if (cslen == 10 && strncasecmp(v, "iso-8859-1", 10) == 0)
		latin1 = 1;
	else
		return BAD(err,
			   "filename* charset \"%.*s\" is not accepted; "
			   "use utf-8",
			   (int)(cslen > 32 ? 32 : cslen), v);
	for (s = q2 + 1; s < end; s++) {
		unsigned c = (unsigned char)*s;

		if (c == '%') {
			int hi = end - s < 3 ? -1 : hexval(s[1]);
			int lo = end - s < 3 ? -1 : hexval(s[2]);

			if (hi < 0 || lo < 0)
				return BAD(err,
					   "filename* has a bad %%-escape");
			c = (unsigned)(hi * 16 + lo);
			s += 2;
		}
		if (c == 0)
			return BAD(err, "the filename contains a NUL byte");
		if (o + 3 > outsz)
			return BAD(err, "the filename is longer than %d bytes",
				   MP_FILENAME_MAX);
		if (latin1 && c >= 0x80) {
			out[o++] = (char)(0xc0 | (c >> 6));
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return 0;
}

int
mp_parse_disposition(const char *value, size_t len, struct mp_part *part,
		     struct sp_err *err)
{
	const char *s = memchr(value, ';', len), *end = value + len;
	char name[32], *val = NULL;
	char *star = NULL, *plain = NULL;
	size_t vlen, valsz = len + 1;
	int rc = 0, r;

	if (memchr(value, '\0', len) != NULL) {
		rc = BAD(err, "the Content-Disposition holds a NUL byte");
		goto out;
	}
	val = xmalloc(valsz);
	while (s && (r = param_next(&s, end, name, sizeof(name), val, valsz,
				    &vlen)) != 0) {
		if (r == -EINVAL) {
			rc = BAD(err, "unterminated quoted string in the "
				      "Content-Disposition");
			goto out;
		}
		if (strcmp(name, "name") == 0) {
			if (vlen > MP_FIELD_MAX) {
				rc = BAD(err,
					 "the form field name is longer "
					 "than %d bytes",
					 MP_FIELD_MAX);
				goto out;
			}
			memcpy(part->name, val, vlen + 1);
		} else if (strcmp(name, "filename") == 0) {
			free(plain);
			plain = xstrndup(val, vlen);
		} else if (strcmp(name, "filename*") == 0) {
			free(star);
			star = xmalloc(MP_FILENAME_MAX + 3);
			rc = ext_value(val, vlen, star, MP_FILENAME_MAX + 3,
				       err);
			if (rc < 0)
				goto out;
			if (strlen(star) > MP_FILENAME_MAX) {
				rc = BAD(err,
					 "the filename is longer than %d bytes",
					 MP_FILENAME_MAX);
				goto out;
			}
		}
	}
	if (star) {
		snprintf(part->filename, sizeof(part->filename), "%s", star);
		part->has_filename = true;
	} else if (plain) {
		if (strlen(plain) > MP_FILENAME_MAX) {
			rc = BAD(err, "the filename is longer than %d bytes",
				 MP_FILENAME_MAX);
			goto out;
		}
		snprintf(part->filename, sizeof(part->filename), "%s", plain);
		part->has_filename = true;
	}
out:
	free(val);
	free(star);
	free(plain);
	return rc;
}

/* ---- the parser ---- */

static void
set_boundary(struct mp_parser *p, const char *b, size_t n)
{
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, b, n);
	p->dlen = 4 + n;
	p->delim[p->dlen] = '\0';
}

int
mp_new(const char *content_type, const struct mp_callbacks *cb, void *arg,
       struct mp_parser **out, struct sp_err *err)
{
	char b[MP_BOUNDARY_MAX + 1];
	struct mp_parser *p;
	int rc;

	*out = NULL;
	rc = mp_boundary(content_type, b, sizeof(b), err);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	p = xcalloc(1, sizeof(*p));
	if (cb)
		p->cb = *cb;
	p->arg = arg;
	if (rc == 0) {
		set_boundary(p, b, strlen(b));
		/* As if the body were preceded by CRLF: then the first
		 * delimiter looks like every other one. */
		p->match = 2;
		p->state = S_PREAMBLE;
	} else {
		p->state = S_SNIFF;
	}
	*out = p;
	return 0;
}

void
mp_free(struct mp_parser *p)
{
	free(p);
}

unsigned
mp_parts(const struct mp_parser *p)
{
	return p->parts;
}

static int
emit(struct mp_parser *p, bool on, const char *d, size_t n, struct sp_err *err)
{
	if (!on || n == 0 || p->cb.part_data == NULL)
		return 0;
	return p->cb.part_data(p->arg, d, n, err);
}

/*
 * Look for the delimiter in d[0..n).  Bytes before it go to part_data when
 * on is set (the preamble is dropped).  Sets *used to the bytes consumed
 * and *found when the delimiter ended inside them.  Returns 0 or a
 * callback's negative errno.
 */
static int
scan(struct mp_parser *p, const char *d, size_t n, bool on, size_t *used,
     bool *found, struct sp_err *err)
{
	size_t i = 0, run = 0, mstart = p->match ? SIZE_MAX : 0, end;
	int rc;

	*found = false;
	while (i < n) {
		if (p->match == 0) {
			const char *cr = memchr(d + i, '\r', n - i);

			if (cr == NULL) {
				i = n;
				break;
			}
			i = (size_t)(cr - d);
			mstart = i++;
			p->match = 1;
			continue;
		}
		if (d[i] == p->delim[p->match]) {
			i++;
			if (++p->match < p->dlen)
				continue;
			/* The whole delimiter: data ends where it began. */
			p->match = 0;
			*found = true;
			*used = i;
			if (mstart == SIZE_MAX)
				return 0;
			return emit(p, on, d + run, mstart - run, err);
		}
		/* A mismatch: the bytes matched so far were data.  If they
		 * came in an earlier chunk, they are the delimiter's prefix. */
		if (mstart == SIZE_MAX) {
			rc = emit(p, on, p->delim, p->match, err);
			if (rc < 0)
				return rc;
			run = i;
		}
		p->match = 0; /* and look at d[i] again */
	}
	*used = n;
	if (p->match == 0)
		end = n;
	else
		end = mstart == SIZE_MAX ? run : mstart;
	return emit(p, on, d + run, end - run, err);
}

static int
begin_headers(struct mp_parser *p, struct sp_err *err)
{
	if (p->parts >= MP_PARTS_MAX)
		return BAD(err, "more than %d parts in one multipart body",
			   MP_PARTS_MAX);
	p->parts++;
	memset(&p->part, 0, sizeof(p->part));
	p->line_len = 0;
	p->hdr_total = 0;
	p->state = S_HEADERS;
	return 0;
}

static int
header_line(struct mp_parser *p, const char *l, size_t n, struct sp_err *err)
{
	const char *colon, *v, *end = l + n;
	size_t nlen, i;

	if (memchr(l, '\0', n) != NULL)
		return BAD(err, "a part header holds a NUL byte");
	if (l[0] == ' ' || l[0] == '\t')
		return 0; /* obsolete line folding: ignored */
	colon = memchr(l, ':', n);
	if (colon == NULL)
		return BAD(err, "a part header line has no ':' (part %u)",
			   p->parts);
	nlen = (size_t)(colon - l);
	while (nlen > 0 && (l[nlen - 1] == ' ' || l[nlen - 1] == '\t'))
		nlen--;
	v = skip_ws(colon + 1, end);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (nlen == 19 && strncasecmp(l, "content-disposition", 19) == 0)
		return mp_parse_disposition(v, (size_t)(end - v), &p->part,
					    err);
	if (nlen == 12 && strncasecmp(l, "content-type", 12) == 0) {
		i = (size_t)(end - v);
		if (i > MP_CTYPE_MAX)
			i = MP_CTYPE_MAX;
		memcpy(p->part.content_type, v, i);
		p->part.content_type[i] = '\0';
	}
	return 0;
}

/* Header bytes: one line at a time; an empty line ends the block. */
static int
headers(struct mp_parser *p, const char *d, size_t n, size_t *used,
	struct sp_err *err)
{
	const char *nl = memchr(d, '\n', n);
	size_t take = nl ? (size_t)(nl - d) + 1 : n, len;
	int rc = 0;

	*used = take;
	if (p->hdr_total + take > MP_HEADERS_MAX)
		return BAD(err,
			   "the headers of part %u are larger than %d "
			   "bytes",
			   p->parts, MP_HEADERS_MAX);
	p->hdr_total += take;
	memcpy(p->line + p->line_len, d, take);
	p->line_len += take;
	if (nl == NULL)
		return 0;
	len = p->line_len - 1; /* without the LF */
	if (len > 0 && p->line[len - 1] == '\r')
		len--;
	p->line_len = 0;
	if (len > 0)
		return header_line(p, p->line, len, err);
	/* The empty line: the body starts. */
	if (p->cb.part_begin)
		rc = p->cb.part_begin(p->arg, &p->part, err);
	p->state = S_BODY;
	p->match = 0;
	return rc;
}

/* The first line of a body whose boundary the headers did not give. */
static int
sniff(struct mp_parser *p, const char *d, size_t n, size_t *used,
      struct sp_err *err)
{
	const char *nl;
	size_t take, len;

	if (p->line_len == 0) {
		size_t skip = 0;

		/* Tolerate blank lines before the first boundary. */
		while (skip < n && (d[skip] == '\r' || d[skip] == '\n'))
			skip++;
		if (skip > 0) {
			*used = skip;
			return 0;
		}
	}
	nl = memchr(d, '\n', n);
	take = nl ? (size_t)(nl - d) + 1 : n;
	*used = take;
	if (p->line_len + take > MP_BOUNDARY_MAX + 8)
		goto bad;
	memcpy(p->line + p->line_len, d, take);
	p->line_len += take;
	if (p->line_len >= 1 && p->line[0] != '-')
		goto bad;
	if (p->line_len >= 2 && p->line[1] != '-')
		goto bad;
	if (nl == NULL)
		return 0;
	len = p->line_len - 1;
	while (len > 0 && (p->line[len - 1] == '\r' ||
			   p->line[len - 1] == ' ' || p->line[len - 1] == '\t'))
		len--;
	if (len < 3 || !boundary_ok(p->line + 2, len - 2))
		goto bad;
	set_boundary(p, p->line + 2, len - 2);
	return begin_headers(p, err);
bad:
	return BAD(err,
		   "expected a multipart/form-data body: it must start "
		   "with a line --BOUNDARY (1 to %d printable ASCII "
		   "characters)",
		   MP_BOUNDARY_MAX);
}

/* One byte after a delimiter: "--" closes the body, LWSP* CRLF starts
 * the next part's headers. */
static int
after_delim(struct mp_parser *p, char c, struct sp_err *err)
{
	switch (p->state) {
	case S_AFTER_DELIM:
		if (c == '-') {
			p->state = S_AFTER_DASH;
			return 0;
		}
		if (c == ' ' || c == '\t')
			return 0;
		if (c == '\r') {
			p->state = S_AFTER_CR;
			return 0;
		}
		if (c == '\n')
			return begin_headers(p, err);
		break;
	case S_AFTER_DASH:
		if (c == '-') {
			p->state = S_EPILOGUE;
			return 0;
		}
		break;
	case S_AFTER_CR:
		if (c == '\n')
			return begin_headers(p, err);
		break;
	case S_SNIFF:
	case S_PREAMBLE:
	case S_HEADERS:
	case S_BODY:
	case S_EPILOGUE:
	case S_FAILED:
		break;
	}
	return BAD(err,
		   "unexpected bytes after a multipart boundary; a "
		   "boundary line ends with CRLF, or with \"--\" after the "
		   "last part");
}

int
mp_feed(struct mp_parser *p, const char *d, size_t n, struct sp_err *err)
{
	size_t i = 0, used = 0;
	bool found;
	int rc = 0;

	if (p->state == S_FAILED) {
		if (err)
			*err = p->err;
		return p->error;
	}
	while (i < n && rc == 0) {
		switch (p->state) {
		case S_SNIFF:
			rc = sniff(p, d + i, n - i, &used, err);
			break;
		case S_PREAMBLE:
			rc = scan(p, d + i, n - i, false, &used, &found, err);
			if (rc == 0 && found)
				p->state = S_AFTER_DELIM;
			break;
		case S_BODY:
			rc = scan(p, d + i, n - i, true, &used, &found, err);
			if (rc == 0 && found) {
				p->state = S_AFTER_DELIM;
				if (p->cb.part_end)
					rc = p->cb.part_end(p->arg, err);
			}
			break;
		case S_AFTER_DELIM:
		case S_AFTER_DASH:
		case S_AFTER_CR:
			used = 1;
			rc = after_delim(p, d[i], err);
			break;
		case S_HEADERS:
			rc = headers(p, d + i, n - i, &used, err);
			break;
		case S_EPILOGUE:
			used = n - i;
			break;
		case S_FAILED:
			rc = p->error;
			break;
		}
		i += used;
	}
	if (rc < 0) {
		p->state = S_FAILED;
		p->error = rc;
		if (err)
			p->err = *err;
	}
	return rc;
}

int
mp_finish(struct mp_parser *p, struct sp_err *err)
{
	switch (p->state) {
	case S_EPILOGUE:
		return 0;
	case S_FAILED:
		if (err)
			*err = p->err;
		return p->error;
	case S_SNIFF:
	case S_PREAMBLE:
		return BAD(err, "the body is empty or holds no multipart "
				"boundary line; send multipart/form-data with "
				"a part named \"file\"");
	case S_HEADERS:
	case S_BODY:
	case S_AFTER_DELIM:
	case S_AFTER_DASH:
	case S_AFTER_CR:
		break;
	}
	return BAD(err,
		   "the multipart body ended before its closing "
		   "boundary (--BOUNDARY--) in part %u; was the upload cut "
		   "short?",
		   p->parts);
}
