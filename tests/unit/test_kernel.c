// SPDX-License-Identifier: MIT
/* Unit tests for the kernel framing (src/kernel.c): whole frames, frames
 * split at every byte, several frames in one read, and every malformed
 * input the kernel (untrusted) could send. */
#include <errno.h>

#include "kernel.h"
#include "t.h"

struct got {
	int n;
	char last[256];
};

static void
collect(void *arg, json_t *msg)
{
	struct got *g = arg;
	char *s = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);

	g->n++;
	snprintf(g->last, sizeof(g->last), "%s", s);
	free(s);
	json_decref(msg);
}

/* Frame text as bytes: 4-byte big-endian length + body. */
static size_t
frame(const char *body, unsigned char *out)
{
	size_t n = strlen(body);

	out[0] = (unsigned char)(n >> 24);
	out[1] = (unsigned char)(n >> 16);
	out[2] = (unsigned char)(n >> 8);
	out[3] = (unsigned char)n;
	memcpy(out + 4, body, n);
	return n + 4;
}

TEST(whole_frame)
{
	struct kframe_reader r;
	struct got g = {0};
	unsigned char b[64];
	size_t n = frame("{\"op\":\"ready\"}", b);

	kframe_reader_init(&r, 1024);
	CHECK_INT(kframe_feed(&r, b, n, collect, &g), ==, 0);
	CHECK_INT(g.n, ==, 1);
	CHECK_STR(g.last, "{\"op\":\"ready\"}");
	kframe_reader_fini(&r);
}

TEST(split_at_every_byte)
{
	struct kframe_reader r;
	struct got g = {0};
	unsigned char b[64];
	size_t n = frame("{\"a\":[1,2,3]}", b), i;

	kframe_reader_init(&r, 1024);
	for (i = 0; i < n; i++)
		CHECK_INT(kframe_feed(&r, b + i, 1, collect, &g), ==, 0);
	CHECK_INT(g.n, ==, 1);
	CHECK_STR(g.last, "{\"a\":[1,2,3]}");
	kframe_reader_fini(&r);
}

TEST(three_frames_one_read)
{
	struct kframe_reader r;
	struct got g = {0};
	unsigned char b[128];
	size_t n = 0;

	n += frame("{\"i\":1}", b + n);
	n += frame("{\"i\":2}", b + n);
	n += frame("{\"i\":3}", b + n);
	kframe_reader_init(&r, 1024);
	CHECK_INT(kframe_feed(&r, b, n, collect, &g), ==, 0);
	CHECK_INT(g.n, ==, 3);
	CHECK_STR(g.last, "{\"i\":3}");
	kframe_reader_fini(&r);
}

TEST(malformed_frames)
{
	static const struct {
		const char *body;
		int rc;
	} cases[] = {
		{"not json", -EBADMSG},
		{"[1,2]", -EBADMSG},          /* not an object */
		{"\"str\"", -EBADMSG},
		{"{\"a\":1} trailing", -EBADMSG},
		{"{\"a\":1,\"a\":2}", -EBADMSG}, /* duplicate key */
		{"{\"a\":\"\\ud800\"}", -EBADMSG}, /* lone surrogate */
		{"{", -EBADMSG},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kframe_reader r;
		struct got g = {0};
		unsigned char b[128];
		size_t n = frame(cases[i].body, b);

		kframe_reader_init(&r, 1024);
		CHECK_INT(kframe_feed(&r, b, n, collect, &g), ==, cases[i].rc);
		CHECK_INT(g.n, ==, 0);
		kframe_reader_fini(&r);
	}
}

TEST(zero_length_frame)
{
	struct kframe_reader r;
	struct got g = {0};
	unsigned char b[4] = {0, 0, 0, 0};

	kframe_reader_init(&r, 1024);
	CHECK_INT(kframe_feed(&r, b, 4, collect, &g), ==, -EBADMSG);
	kframe_reader_fini(&r);
}

TEST(oversize_rejected_before_body)
{
	struct kframe_reader r;
	struct got g = {0};
	/* Announces 4 GiB - 1: must fail on the header, allocating nothing. */
	unsigned char b[4] = {0xff, 0xff, 0xff, 0xff};

	kframe_reader_init(&r, KERNEL_MAX_OUT);
	CHECK_INT(kframe_feed(&r, b, 4, collect, &g), ==, -EMSGSIZE);
	CHECK_INT(r.body.alloc, ==, 0);
	kframe_reader_fini(&r);
}

TEST(limit_edge)
{
	struct kframe_reader r;
	struct got g = {0};
	unsigned char b[64];
	size_t n = frame("{\"k\":12}", b); /* 8 bytes of body */

	kframe_reader_init(&r, 8);
	CHECK_INT(kframe_feed(&r, b, n, collect, &g), ==, 0);
	CHECK_INT(g.n, ==, 1);
	kframe_reader_fini(&r);
	kframe_reader_init(&r, 7);
	CHECK_INT(kframe_feed(&r, b, n, collect, &g), ==, -EMSGSIZE);
	kframe_reader_fini(&r);
}

TEST(encode_roundtrip)
{
	struct kframe_reader r;
	struct got g = {0};
	struct buf out;
	json_t *o = json_pack("{s:s, s:s}", "op", "execute", "code",
			      "print('h\\u00e9')");

	buf_init(&out, 1024);
	CHECK_INT(kframe_encode(o, 1024, &out), ==, 0);
	CHECK_INT(out.len, >, 4);
	kframe_reader_init(&r, 1024);
	CHECK_INT(kframe_feed(&r, out.data, out.len, collect, &g), ==, 0);
	CHECK_INT(g.n, ==, 1);
	/* Too big for the limit: refused and out unchanged. */
	out.len = 0;
	CHECK_INT(kframe_encode(o, 10, &out), ==, -EMSGSIZE);
	CHECK_INT(out.len, ==, 0);
	json_decref(o);
	buf_fini(&out);
	kframe_reader_fini(&r);
}

T_MAIN()
