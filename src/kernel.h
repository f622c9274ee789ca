/* SPDX-License-Identifier: MIT */
/*
 * kernel.h: the framed JSON protocol between the server and the in-sandbox
 * kernel (runtime/kernel.py), as described in docs/ARCHITECTURE.md.  Each
 * frame is a 4-byte big-endian length and one JSON object.  The reader is
 * incremental (bytes arrive from a non-blocking socket in any split) and
 * enforces the size cap before it allocates, because the kernel's bytes are
 * as untrusted as the user code that runs beside it.
 */
#ifndef SANDPOOL_KERNEL_H
#define SANDPOOL_KERNEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define KERNEL_MAX_IN (8 * 1024 * 1024)   /* server -> kernel, bytes */
#define KERNEL_MAX_OUT (64 * 1024 * 1024) /* kernel -> server, bytes */

struct kframe_reader {
	unsigned char hdr[4];
	size_t hdr_len;  /* header bytes received so far, 0..4 */
	uint32_t want;   /* body length once the header is complete */
	struct buf body; /* body bytes so far; cap = the reader's limit */
	size_t limit;    /* largest accepted body */
};

void kframe_reader_init(struct kframe_reader *r, size_t limit);
void kframe_reader_fini(struct kframe_reader *r);

/*
 * Feed n bytes.  Complete frames are parsed and passed to cb one by one; cb
 * takes ownership of the object.  Returns 0 once all n bytes are consumed,
 * or a negative errno: -EMSGSIZE for a frame over the limit,
 * -EBADMSG for a zero-length frame or a body that is not one JSON object.
 * After an error the stream is unusable and the reader must be reset.
 */
typedef void (*kframe_cb)(void *arg, json_t *msg);
int kframe_feed(struct kframe_reader *r, const void *data, size_t n,
		kframe_cb cb, void *arg);

/*
 * Encode obj as one frame appended to out.  Returns 0, or -EMSGSIZE when
 * the frame would exceed limit (out is then unchanged), or -E2BIG when out's
 * own cap is reached.
 */
int kframe_encode(const json_t *obj, size_t limit, struct buf *out);

#endif
