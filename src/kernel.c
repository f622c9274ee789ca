// SPDX-License-Identifier: MIT
/*
 * kernel.c: framing for the server <-> kernel control socket.  Used by the
 * session layer (session.c), which owns one reader and one write buffer per
 * sandbox.  The reader never allocates more than its limit plus one header:
 * the length is checked when the header completes, before the body is read.
 */
#include "kernel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
kframe_reader_init(struct kframe_reader *r, size_t limit)
{
	memset(r, 0, sizeof(*r));
	r->limit = limit;
	buf_init(&r->body, limit);
}

void
kframe_reader_fini(struct kframe_reader *r)
{
	buf_fini(&r->body);
	r->hdr_len = 0;
	r->want = 0;
}

/* Parse a complete body; returns 0 and hands the object to cb. */
static int
deliver(struct kframe_reader *r, kframe_cb cb, void *arg)
{
	json_error_t jerr;
	json_t *msg;

	/* JSON_ALLOW_NUL: print('\0') is legitimate output, sent as \u0000. */
	msg = json_loadb(r->body.data, r->body.len,
			 JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	buf_reset(&r->body);
	r->hdr_len = 0;
	r->want = 0;
	if (msg == NULL)
		return -EBADMSG;
	if (!json_is_object(msg)) {
		json_decref(msg);
		return -EBADMSG;
	}
	cb(arg, msg);
	return 0;
}

int
kframe_feed(struct kframe_reader *r, const void *data, size_t n, kframe_cb cb,
	    void *arg)
{
	const unsigned char *p = data;
	size_t used = 0;
	int rc;

	while (used < n) {
		if (r->hdr_len < 4) {
			r->hdr[r->hdr_len++] = p[used++];
			if (r->hdr_len < 4)
				continue;
			r->want = (uint32_t)r->hdr[0] << 24 |
				  (uint32_t)r->hdr[1] << 16 |
				  (uint32_t)r->hdr[2] << 8 | (uint32_t)r->hdr[3];
			if (r->want == 0)
				return -EBADMSG;
			if (r->want > r->limit)
				return -EMSGSIZE;
			continue;
		}
		{
			size_t need = r->want - r->body.len;
			size_t take = n - used < need ? n - used : need;

			rc = buf_append(&r->body, p + used, take);
			if (rc < 0)
				return -EMSGSIZE;
			used += take;
		}
		if (r->body.len == r->want) {
			rc = deliver(r, cb, arg);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

int
kframe_encode(const json_t *obj, size_t limit, struct buf *out)
{
	unsigned char hdr[4];
	char *s;
	size_t len, old = out->len;
	int rc;

	s = json_dumps(obj, JSON_COMPACT);
	if (s == NULL)
		return -EINVAL;
	len = strlen(s);
	if (len == 0 || len > limit) {
		free(s);
		return -EMSGSIZE;
	}
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	rc = buf_append(out, hdr, 4);
	if (rc == 0)
		rc = buf_append(out, s, len);
	if (rc < 0)
		out->len = old;
	free(s);
	return rc;
}
