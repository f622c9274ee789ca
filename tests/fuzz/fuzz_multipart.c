// SPDX-License-Identifier: MIT
/*
 * fuzz_multipart.c: libFuzzer target for the multipart parser (and the
 * Content-Disposition and boundary parsers it uses).  Input layout:
 *   byte 0   how the boundary is found: 0 sniffed (no Content-Type),
 *            1 "boundary=b", 2 quoted boundary from the input's first
 *            line, 3 "application/json" (sniffed, as SK Python sends)
 *   byte 1   chunk size for the second run (0 = one byte at a time)
 *   rest     the body
 * The body is parsed twice, whole and in chunks; the two runs must agree
 * on the result and on every byte handed to the callbacks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
	uint64_t h;
	size_t bytes;
	unsigned parts;
};

static void
mix(struct digest *d, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		d->h = (d->h ^ s[i]) * 1099511628211ull;
}

static int
on_begin(void *arg, const struct mp_part *part, struct sp_err *err)
{
	struct digest *d = arg;

	(void)err;
	if (strlen(part->filename) > MP_FILENAME_MAX ||
	    strlen(part->name) > MP_FIELD_MAX)
		abort();
	d->parts++;
	mix(d, "B", 1);
	mix(d, part->name, strlen(part->name) + 1);
	mix(d, part->filename, strlen(part->filename) + 1);
	mix(d, part->content_type, strlen(part->content_type) + 1);
	return 0;
}

static int
on_data(void *arg, const char *p, size_t n, struct sp_err *err)
{
	struct digest *d = arg;

	(void)err;
	if (n == 0)
		abort(); /* never called empty */
	d->bytes += n;
	mix(d, p, n);
	return 0;
}

static int
on_end(void *arg, struct sp_err *err)
{
	(void)err;
	mix(arg, "E", 1);
	return 0;
}

static const struct mp_callbacks cbs = {on_begin, on_data, on_end};

static int
run(const char *ct, const char *body, size_t len, size_t step,
    struct digest *d)
{
	struct mp_parser *p = NULL;
	struct sp_err err;
	size_t off = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	d->h = 1469598103934665603ull;
	rc = mp_new(ct, &cbs, d, &p, &err);
	if (rc < 0)
		return rc;
	while (rc == 0 && off < len) {
		size_t n = step == 0 || len - off < step ? len - off : step;

		rc = mp_feed(p, body + off, n, &err);
		off += n;
	}
	if (rc == 0)
		rc = mp_finish(p, &err);
	mp_free(p);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ct[MP_BOUNDARY_MAX + 64];
	const char *ctp = NULL, *body;
	struct digest a, b;
	struct mp_part part;
	struct sp_err err;
	size_t len, step;
	int ra, rb;

	if (size < 2)
		return 0;
	body = (const char *)data + 2;
	len = size - 2;
	step = data[1] == 0 ? 1 : data[1];
	switch (data[0] % 4) {
	case 1:
		ctp = "multipart/form-data; boundary=b";
		break;
	case 2: {
		const char *nl = memchr(body, '\n', len);
		size_t n = nl ? (size_t)(nl - body) : len;

		if (n > MP_BOUNDARY_MAX)
			n = MP_BOUNDARY_MAX;
		snprintf(ct, sizeof(ct), "multipart/form-data; boundary=\"%.*s\"",
			 (int)n, body);
		ctp = ct;
		break;
	}
	case 3:
		ctp = "application/json";
		break;
	default:
		break;
	}
	ra = run(ctp, body, len, 0, &a);
	rb = run(ctp, body, len, step, &b);
	if (ra != rb || (ra == 0 && (a.h != b.h || a.bytes != b.bytes ||
				     a.parts != b.parts)))
		abort(); /* chunking changed the outcome */
	if (a.bytes > len)
		abort();
	memset(&part, 0, sizeof(part));
	mp_parse_disposition(body, len, &part, &err);
	return 0;
}
