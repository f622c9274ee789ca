// SPDX-License-Identifier: MIT
/* Unit tests for the kernel protocol (src/kernel.c).  Framing: whole
 * frames, frames split at every byte, several frames in one read, and
 * every malformed input the kernel (untrusted) could send.  Decoding:
 * each message type, every frame that must be refused, and the optional
 * fields that must degrade to absent.  Requests: the exact frames sent. */
#include <errno.h>
#include <stdint.h>

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

/* ---- kernel_decode ---- */

static json_t *
load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	if (v == NULL)
		T_FAIL("bad test JSON %s: %s", text, jerr.text);
	return v;
}

/* Decode the frame text into m; returns kernel_decode's result. */
static int
decode(const char *text, struct kernel_msg *m)
{
	return kernel_decode(load(text), m);
}

static int
str_is(const struct kernel_str *s, const char *want, size_t len)
{
	return s->s != NULL && s->len == len && memcmp(s->s, want, len) == 0 &&
	       s->s[len] == '\0';
}

#define CHECK_KSTR(ks, lit) CHECK(str_is(&(ks), lit, sizeof(lit) - 1))

TEST(decode_ready)
{
	struct kernel_msg m;

	CHECK_INT(decode("{\"op\":\"ready\",\"python\":\"3.11.2\","
			 "\"preloaded\":[\"numpy\"],\"failed\":[]}",
			 &m),
		  ==, 0);
	CHECK_INT(m.type, ==, KMSG_READY);
	CHECK_STR(m.text, "3.11.2");
	CHECK(m.reply == NULL);
	kernel_msg_fini(&m);

	/* Absent or wrong-typed: "" and still a ready message. */
	CHECK_INT(decode("{\"op\":\"ready\"}", &m), ==, 0);
	CHECK_INT(m.type, ==, KMSG_READY);
	CHECK_STR(m.text, "");
	kernel_msg_fini(&m);
	CHECK_INT(decode("{\"op\":\"ready\",\"python\":311}", &m), ==, 0);
	CHECK_STR(m.text, "");
	kernel_msg_fini(&m);

	/* C text stops at a NUL. */
	CHECK_INT(decode("{\"op\":\"ready\",\"python\":\"3.11\\u0000x\"}", &m),
		  ==, 0);
	CHECK_STR(m.text, "3.11");
	kernel_msg_fini(&m);
}

TEST(decode_text_cut_on_utf8_boundary)
{
	struct kernel_msg m;
	json_t *f;
	char big[1024];
	size_t i;

	/* 300 ASCII bytes: cut to the 255 that fit. */
	memset(big, 'a', 300);
	big[300] = '\0';
	f = json_pack("{s:s, s:s}", "op", "fatal", "message", big);
	CHECK_INT(kernel_decode(f, &m), ==, 0);
	CHECK_INT(m.type, ==, KMSG_FATAL);
	CHECK_INT(strlen(m.text), ==, 255);
	kernel_msg_fini(&m);

	/* "é" is two bytes: 255 would split one, so 254 are kept. */
	for (i = 0; i < 200; i++)
		memcpy(big + 2 * i, "\xc3\xa9", 2);
	big[400] = '\0';
	f = json_pack("{s:s, s:s}", "op", "ready", "python", big);
	CHECK_INT(kernel_decode(f, &m), ==, 0);
	CHECK_INT(strlen(m.text), ==, 254);
	f = json_string(m.text); /* NULL if a character was split */
	CHECK(f != NULL);
	json_decref(f);
	kernel_msg_fini(&m);
}

TEST(decode_fatal)
{
	struct kernel_msg m;

	CHECK_INT(decode("{\"op\":\"fatal\",\"message\":\"ImportError: x\"}",
			 &m),
		  ==, 0);
	CHECK_INT(m.type, ==, KMSG_FATAL);
	CHECK_STR(m.text, "ImportError: x");
	CHECK(m.reply == NULL);
	kernel_msg_fini(&m);
	CHECK_INT(decode("{\"op\":\"fatal\",\"message\":[1]}", &m), ==, 0);
	CHECK_INT(m.type, ==, KMSG_FATAL);
	CHECK_STR(m.text, "");
	kernel_msg_fini(&m);
}

TEST(decode_pong)
{
	static const struct {
		const char *frame, *id;
	} cases[] = {
		{"{\"op\":\"pong\",\"id\":\"p-1\"}", "p-1"},
		{"{\"op\":\"pong\",\"id\":"
		 "\"012345678901234567890123456789012345678\"}",
		 "012345678901234567890123456789012345678"}, /* 39 bytes */
		/* Not a usable id: "", the pong is still valid. */
		{"{\"op\":\"pong\",\"id\":"
		 "\"0123456789012345678901234567890123456789\"}",
		 ""}, /* 40 bytes */
		{"{\"op\":\"pong\",\"id\":\"a\\u0000b\"}", ""},
		{"{\"op\":\"pong\",\"id\":7}", ""},
		{"{\"op\":\"pong\"}", ""},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kernel_msg m;

		CHECK_INT(decode(cases[i].frame, &m), ==, 0);
		CHECK_INT(m.type, ==, KMSG_PONG);
		CHECK_STR(m.id, cases[i].id);
		kernel_msg_fini(&m);
	}
}

TEST(decode_result_full)
{
	struct kernel_msg m;
	struct kernel_reply *r;
	json_t *f = load(
		"{\"op\":\"result\",\"id\":\"e-1\",\"stdout\":\"hi\\u0000\\n\","
		"\"stderr\":\"warn\",\"stdout_truncated\":true,"
		"\"stderr_truncated\":false,"
		"\"result\":{\"kind\":\"float\",\"value\":0.5,"
		"\"text\":\"0.5\"},"
		"\"outputs\":[{\"type\":\"image\",\"format\":\"png\","
		"\"data\":\"QUFB\"},{\"type\":\"html\",\"data\":\"<b>\"}],"
		"\"error\":{\"code\":\"KernelExit\",\"name\":\"SystemExit\","
		"\"message\":\"the code called sys.exit(3)\",\"stack\":\"TB\"},"
		"\"interrupted\":true,\"exit_code\":-9,\"exit\":3,"
		"\"duration_ms\":1.25}");

	json_incref(f);
	CHECK_INT(kernel_decode(f, &m), ==, 0);
	CHECK_INT(m.type, ==, KMSG_RESULT);
	r = m.reply;
	CHECK(r != NULL);
	if (r == NULL)
		return;
	/* The reply keeps the frame, and its strings point into it. */
	CHECK(r->frame == f);
	CHECK_INT(f->refcount, ==, 2);
	CHECK(r->out.s == json_string_value(json_object_get(f, "stdout")));
	CHECK_STR(r->id, "e-1");
	CHECK_KSTR(r->out, "hi\0\n");
	CHECK_KSTR(r->err, "warn");
	CHECK(r->out_truncated);
	CHECK(!r->err_truncated);
	CHECK_INT(r->value.kind, ==, KV_FLOAT);
	CHECK_KSTR(r->value.text, "0.5");
	CHECK(r->value.has_number && r->value.number == 0.5);
	CHECK_INT(r->noutputs, ==, 2);
	CHECK_INT(r->outputs[0].type, ==, KOUT_PNG);
	CHECK_KSTR(r->outputs[0].data, "QUFB");
	CHECK_INT(r->outputs[1].type, ==, KOUT_HTML);
	CHECK_KSTR(r->outputs[1].data, "<b>");
	CHECK(r->has_error);
	CHECK_KSTR(r->error.code, "KernelExit");
	CHECK_KSTR(r->error.name, "SystemExit");
	CHECK_KSTR(r->error.message, "the code called sys.exit(3)");
	CHECK_KSTR(r->error.stack, "TB");
	CHECK(r->interrupted);
	CHECK(r->has_exit_code && r->exit_code == -9);
	CHECK(r->has_exit && r->exit_status == 3);
	CHECK(r->duration_ms == 1.25);
	kernel_msg_fini(&m);
	CHECK(m.reply == NULL);
	CHECK_INT(f->refcount, ==, 1);
	json_decref(f);
}

TEST(decode_result_minimal)
{
	struct kernel_msg m;
	struct kernel_reply *r;

	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"\"}", &m), ==, 0);
	r = m.reply;
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_STR(r->id, "");
	CHECK_KSTR(r->out, "");
	CHECK_KSTR(r->err, "");
	CHECK(!r->out_truncated && !r->err_truncated);
	CHECK_INT(r->value.kind, ==, KV_BAD);
	CHECK_KSTR(r->value.text, "");
	CHECK(r->outputs == NULL && r->noutputs == 0);
	CHECK(!r->has_error);
	CHECK_KSTR(r->error.code, "");
	CHECK_KSTR(r->error.name, "");
	CHECK_KSTR(r->error.message, "");
	CHECK_KSTR(r->error.stack, "");
	CHECK(!r->interrupted && !r->has_exit_code && !r->has_exit);
	CHECK(r->exit_code == 0 && r->exit_status == 0);
	CHECK(r->duration_ms == 0);
	kernel_msg_fini(&m);
}

/* Frames the kernel may not send: refused, frame released, m clean. */
TEST(decode_malformed)
{
	static const char *const frames[] = {
		"{}",
		"{\"op\":5}",
		"{\"op\":null}",
		"{\"op\":[\"ready\"]}",
		"{\"op\":\"\"}",
		"{\"op\":\"bogus\"}",
		"{\"op\":\"READY\"}",
		"{\"op\":\"ready\\u0000\"}",
		"{\"op\":\"execute\",\"id\":\"x\",\"code\":\"1\"}",
		"{\"op\":\"ping\",\"id\":\"x\"}",
		"{\"op\":\"result\"}",
		"{\"op\":\"result\",\"id\":5}",
		"{\"op\":\"result\",\"id\":null}",
		"{\"op\":\"result\",\"id\":[\"x\"]}",
		"{\"op\":\"result\",\"id\":\"a\\u0000b\"}",
		/* 40 bytes: one too many for char id[40]. */
		"{\"op\":\"result\",\"id\":"
		"\"0123456789012345678901234567890123456789\"}",
		"[{\"op\":\"ready\"}]",
		"\"ready\"",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(frames); i++) {
		struct kernel_msg m;
		json_t *f = load(frames[i]);

		json_incref(f);
		if (kernel_decode(f, &m) != -EBADMSG)
			T_FAIL("frame %zu %s not refused", i, frames[i]);
		CHECK(m.reply == NULL);
		CHECK_INT(f->refcount, ==, 1);
		kernel_msg_fini(&m);
		json_decref(f);
	}
	{
		struct kernel_msg m;

		CHECK_INT(kernel_decode(NULL, &m), ==, -EBADMSG);
		kernel_msg_fini(&m);
	}
}

TEST(decode_id_limits)
{
	struct kernel_msg m;

	/* 39 bytes is the longest id. */
	CHECK_INT(decode("{\"op\":\"result\",\"id\":"
			 "\"012345678901234567890123456789012345678\"}",
			 &m),
		  ==, 0);
	CHECK(m.reply != NULL);
	if (m.reply)
		CHECK_STR(m.reply->id,
			  "012345678901234567890123456789012345678");
	kernel_msg_fini(&m);
}

TEST(decode_wrong_types_degrade)
{
	struct kernel_msg m;
	struct kernel_reply *r;

	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"x\",\"stdout\":5,"
			 "\"stderr\":[\"e\"],\"stdout_truncated\":\"true\","
			 "\"stderr_truncated\":1,\"result\":\"int\","
			 "\"outputs\":{\"type\":\"html\",\"data\":\"h\"},"
			 "\"error\":\"boom\",\"interrupted\":1,"
			 "\"exit_code\":\"3\",\"exit\":true,"
			 "\"duration_ms\":\"12\"}",
			 &m),
		  ==, 0);
	r = m.reply;
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_KSTR(r->out, "");
	CHECK_KSTR(r->err, "");
	CHECK(!r->out_truncated && !r->err_truncated);
	CHECK_INT(r->value.kind, ==, KV_BAD);
	CHECK_INT(r->noutputs, ==, 0);
	CHECK(!r->has_error);
	CHECK_KSTR(r->error.message, "");
	CHECK(!r->interrupted);
	CHECK(!r->has_exit_code && !r->has_exit);
	CHECK(r->duration_ms == 0);
	kernel_msg_fini(&m);

	/* An error object with wrong-typed fields is still an error. */
	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"x\",\"error\":"
			 "{\"code\":5,\"name\":null,\"message\":[],"
			 "\"stack\":{}}}",
			 &m),
		  ==, 0);
	r = m.reply;
	CHECK(r != NULL && r->has_error);
	if (r) {
		CHECK_KSTR(r->error.code, "");
		CHECK_KSTR(r->error.name, "");
		CHECK_KSTR(r->error.message, "");
		CHECK_KSTR(r->error.stack, "");
	}
	kernel_msg_fini(&m);
	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"x\",\"error\":{}}", &m),
		  ==, 0);
	CHECK(m.reply != NULL && m.reply->has_error);
	kernel_msg_fini(&m);
	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"x\",\"error\":null}", &m),
		  ==, 0);
	CHECK(m.reply != NULL && !m.reply->has_error);
	kernel_msg_fini(&m);
}

TEST(decode_exit_and_exit_code)
{
	static const struct {
		const char *field;
		bool has;
		long long value;
	} exits[] = {
		{"0", true, 0},       {"3", true, 3},      {"255", true, 255},
		{"256", false, 0},    {"-1", false, 0},    {"1.0", false, 0},
		{"\"1\"", false, 0},  {"null", false, 0},  {"false", false, 0},
		{"9223372036854775807", false, 0},
	}, codes[] = {
		{"0", true, 0},       {"-1", true, -1},    {"137", true, 137},
		{"1099511627776", true, 1099511627776LL},
		{"-9223372036854775808", true, INT64_MIN},
		{"2.5", false, 0},    {"\"3\"", false, 0}, {"null", false, 0},
	};
	char text[160];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(exits); i++) {
		struct kernel_msg m;

		snprintf(text, sizeof(text),
			 "{\"op\":\"result\",\"id\":\"x\",\"exit\":%s}",
			 exits[i].field);
		CHECK_INT(decode(text, &m), ==, 0);
		if (m.reply == NULL ||
		    m.reply->has_exit != exits[i].has ||
		    m.reply->exit_status != exits[i].value)
			T_FAIL("exit %s", exits[i].field);
		kernel_msg_fini(&m);
	}
	for (i = 0; i < ARRAY_SIZE(codes); i++) {
		struct kernel_msg m;

		snprintf(text, sizeof(text),
			 "{\"op\":\"result\",\"id\":\"x\",\"exit_code\":%s}",
			 codes[i].field);
		CHECK_INT(decode(text, &m), ==, 0);
		if (m.reply == NULL ||
		    m.reply->has_exit_code != codes[i].has ||
		    m.reply->exit_code != codes[i].value)
			T_FAIL("exit_code %s", codes[i].field);
		kernel_msg_fini(&m);
	}
}

TEST(decode_duration)
{
	static const struct {
		const char *field;
		double want;
	} cases[] = {
		{"1.25", 1.25}, {"3", 3.0},     {"0", 0},     {"-0.0", 0},
		{"-5", 0},      {"-0.001", 0},  {"\"7\"", 0}, {"null", 0},
		{"1e300", 1e300},
	};
	char text[128];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kernel_msg m;

		snprintf(text, sizeof(text),
			 "{\"op\":\"result\",\"id\":\"x\",\"duration_ms\":%s}",
			 cases[i].field);
		CHECK_INT(decode(text, &m), ==, 0);
		if (m.reply == NULL || m.reply->duration_ms != cases[i].want)
			T_FAIL("duration_ms %s", cases[i].field);
		kernel_msg_fini(&m);
	}
}

TEST(decode_outputs)
{
	struct kernel_msg m;
	struct kernel_reply *r;

	/* Non-objects are skipped, bad images dropped, order kept. */
	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"x\",\"outputs\":["
			 "5,null,\"html\",[],"
			 "{\"type\":\"image\",\"format\":\"png\","
			 "\"data\":\"not base64!\"},"
			 "{\"type\":\"image\",\"format\":\"png\","
			 "\"data\":\"QQ\"},"
			 "{\"type\":\"image\",\"format\":\"jpeg\","
			 "\"data\":\"QUFB\"},"
			 "{\"type\":\"image\",\"format\":\"png\","
			 "\"data\":\"\"},"
			 "{\"type\":\"html\",\"data\":\"<i>\"},"
			 "{\"type\":\"text\",\"data\":\"t\"},"
			 "{\"type\":\"image\",\"format\":\"png\","
			 "\"data\":\"QkI=\"}]}",
			 &m),
		  ==, 0);
	r = m.reply;
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK_INT(r->noutputs, ==, 2);
	if (r->noutputs == 2) {
		CHECK_INT(r->outputs[0].type, ==, KOUT_HTML);
		CHECK_KSTR(r->outputs[0].data, "<i>");
		CHECK_INT(r->outputs[1].type, ==, KOUT_PNG);
		CHECK_KSTR(r->outputs[1].data, "QkI=");
	}
	kernel_msg_fini(&m);

	/* Only invalid ones: no array at all. */
	CHECK_INT(decode("{\"op\":\"result\",\"id\":\"x\",\"outputs\":[1,2]}",
			 &m),
		  ==, 0);
	CHECK(m.reply != NULL && m.reply->noutputs == 0 &&
	      m.reply->outputs == NULL);
	kernel_msg_fini(&m);
}

TEST(decode_outputs_capped)
{
	json_t *f = json_pack("{s:s, s:s}", "op", "result", "id", "x");
	json_t *arr = json_array();
	struct kernel_msg m;
	size_t i;

	for (i = 0; i < KERNEL_MAX_OUTPUTS + 5; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s}", "type",
						     "html", "data",
						     i == KERNEL_MAX_OUTPUTS - 1
							     ? "last"
							     : "h"));
	json_object_set_new(f, "outputs", arr);
	CHECK_INT(kernel_decode(f, &m), ==, 0);
	CHECK(m.reply != NULL);
	if (m.reply) {
		CHECK_INT(m.reply->noutputs, ==, KERNEL_MAX_OUTPUTS);
		CHECK_KSTR(m.reply->outputs[KERNEL_MAX_OUTPUTS - 1].data,
			   "last");
	}
	kernel_msg_fini(&m);
}

TEST(decode_value_kinds)
{
	static const struct {
		const char *json;
		enum kernel_value_kind kind;
		const char *text;
		bool has_number;
	} cases[] = {
		{"{\"kind\":\"empty\"}", KV_EMPTY, "", false},
		{"{\"kind\":\"none\",\"text\":\"None\"}", KV_NONE, "", false},
		{"{\"kind\":\"int\",\"text\":\"-12\"}", KV_INT, "-12", false},
		{"{\"kind\":\"int\",\"text\":\"1 2\"}", KV_BAD, "", false},
		{"{\"kind\":\"int\",\"text\":\"-\"}", KV_BAD, "", false},
		{"{\"kind\":\"int\",\"text\":\"+1\"}", KV_BAD, "", false},
		{"{\"kind\":\"int\",\"text\":\"\"}", KV_BAD, "", false},
		{"{\"kind\":\"int\",\"text\":1}", KV_BAD, "", false},
		{"{\"kind\":\"float\",\"value\":2,\"text\":\"2.0\"}", KV_FLOAT,
		 "2.0", true},
		{"{\"kind\":\"float\",\"value\":\"2\",\"text\":\"2.0\"}",
		 KV_FLOAT, "2.0", false},
		{"{\"kind\":\"float\",\"text\":\"nan\"}", KV_FLOAT, "nan",
		 false},
		{"{\"kind\":\"str\",\"value\":\"v\",\"text\":\"t\"}", KV_STR,
		 "v", false},
		{"{\"kind\":\"str\",\"value\":5}", KV_STR, "", false},
		{"{\"kind\":\"artist\",\"text\":\"[<A>]\"}", KV_ARTIST, "[<A>]",
		 false},
		{"{\"kind\":\"repr\",\"text\":false}", KV_REPR, "", false},
		{"{\"kind\":\"Repr\",\"text\":\"r\"}", KV_BAD, "", false},
		{"{\"kind\":\"repr\\u0000\",\"text\":\"r\"}", KV_BAD, "",
		 false},
		{"{\"text\":\"r\"}", KV_BAD, "", false},
		{"null", KV_BAD, "", false},
		{"[\"int\"]", KV_BAD, "", false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *o = load(cases[i].json);
		struct kernel_value v;

		kernel_value_decode(o, &v);
		if (v.kind != cases[i].kind ||
		    !str_is(&v.text, cases[i].text, strlen(cases[i].text)) ||
		    v.has_number != cases[i].has_number)
			T_FAIL("value %s: kind %d", cases[i].json, v.kind);
		json_decref(o);
	}
	{
		struct kernel_value v;

		kernel_value_decode(NULL, &v);
		CHECK_INT(v.kind, ==, KV_BAD);
		CHECK_KSTR(v.text, "");
	}
}

/* What session.c does: frames from the reader go through the decoder. */
static void
decode_cb(void *arg, json_t *msg)
{
	struct got *g = arg;
	struct kernel_msg m;

	if (kernel_decode(msg, &m) == 0 && m.type == KMSG_RESULT) {
		g->n++;
		snprintf(g->last, sizeof(g->last), "%.*s",
			 (int)m.reply->out.len, m.reply->out.s);
	}
	kernel_msg_fini(&m);
}

TEST(feed_then_decode)
{
	struct kframe_reader r;
	struct got g = {0};
	unsigned char b[256];
	size_t n = 0;

	n += frame("{\"op\":\"ready\",\"python\":\"3.11.2\"}", b + n);
	n += frame("{\"op\":\"result\",\"id\":\"e\",\"stdout\":\"ok\\n\"}",
		   b + n);
	kframe_reader_init(&r, 1024);
	CHECK_INT(kframe_feed(&r, b, n, decode_cb, &g), ==, 0);
	CHECK_INT(g.n, ==, 1);
	CHECK_STR(g.last, "ok\n");
	kframe_reader_fini(&r);
}

TEST(str_helpers)
{
	struct kernel_str a = {"ab\0c", 4}, e = {"", 0}, z = {NULL, 0};
	json_t *v;

	/* The length decides: "ab" is a prefix up to the NUL, no match. */
	CHECK(!kernel_str_eq(&a, "ab"));
	CHECK(kernel_str_eq(&e, ""));
	CHECK(kernel_str_eq(&z, ""));
	CHECK(!kernel_str_eq(&e, "a"));
	v = kernel_str_json(&a);
	CHECK_INT(json_string_length(v), ==, 4);
	CHECK(memcmp(json_string_value(v), "ab\0c", 4) == 0);
	json_decref(v);
	v = kernel_str_json(&z);
	CHECK_STR(json_string_value(v), "");
	json_decref(v);
}

/* ---- kernel_encode_request ---- */

/* The body of the single frame in out, as text. */
static const char *
only_body(const struct buf *out)
{
	const unsigned char *p = (const unsigned char *)out->data;
	size_t n;

	if (out->len < 4)
		return "(short)";
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n + 4 != out->len)
		return "(length mismatch)";
	return out->data + 4; /* struct buf keeps a NUL after len */
}

TEST(encode_requests)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	CHECK_INT(kernel_encode_request(KREQ_EXECUTE, "e-1",
					"print('h\xc3\xa9')", 1048576, &out),
		  ==, 0);
	CHECK_STR(only_body(&out), "{\"op\":\"execute\",\"id\":\"e-1\","
				   "\"code\":\"print('h\xc3\xa9')\","
				   "\"output_max\":1048576}");
	out.len = 0;
	CHECK_INT(kernel_encode_request(KREQ_SHELL, "s-1", "ls -l", 4096, &out),
		  ==, 0);
	CHECK_STR(only_body(&out), "{\"op\":\"shell\",\"id\":\"s-1\","
				   "\"command\":\"ls -l\","
				   "\"output_max\":4096}");
	out.len = 0;
	CHECK_INT(kernel_encode_request(KREQ_PING, "p-1", NULL, 0, &out), ==,
		  0);
	CHECK_STR(only_body(&out), "{\"op\":\"ping\",\"id\":\"p-1\"}");
	out.len = 0;
	CHECK_INT(kernel_encode_request(KREQ_WARM, "w", NULL, 0, &out), ==, 0);
	CHECK_STR(only_body(&out),
		  "{\"op\":\"ping\",\"id\":\"w\",\"warm\":true}");
	out.len = 0;
	CHECK_INT(kernel_encode_request(KREQ_TIDY, "t", NULL, 0, &out), ==, 0);
	CHECK_STR(only_body(&out),
		  "{\"op\":\"ping\",\"id\":\"t\",\"tidy\":true}");
	out.len = 0;
	/* output_max beyond what the kernel accepts is sent as its cap. */
	CHECK_INT(kernel_encode_request(KREQ_EXECUTE, "e", "1", UINT64_MAX,
					&out),
		  ==, 0);
	CHECK_STR(only_body(&out), "{\"op\":\"execute\",\"id\":\"e\","
				   "\"code\":\"1\",\"output_max\":67108864}");
	buf_fini(&out);
}

TEST(encode_appends_frames)
{
	struct kframe_reader r;
	struct got g = {0};
	struct buf out;

	buf_init(&out, 1024);
	CHECK_INT(kernel_encode_request(KREQ_EXECUTE, "a", "1", 10, &out), ==,
		  0);
	CHECK_INT(kernel_encode_request(KREQ_PING, "b", NULL, 0, &out), ==, 0);
	kframe_reader_init(&r, 1024);
	CHECK_INT(kframe_feed(&r, out.data, out.len, collect, &g), ==, 0);
	CHECK_INT(g.n, ==, 2);
	CHECK_STR(g.last, "{\"id\":\"b\",\"op\":\"ping\"}");
	kframe_reader_fini(&r);
	buf_fini(&out);
}

TEST(encode_refused)
{
	struct buf out;
	char *big;

	buf_init(&out, 64 << 20);
	CHECK_INT(buf_append(&out, "keep", 4), ==, 0);
	/* Invalid UTF-8 in the code, the command or the id. */
	CHECK_INT(kernel_encode_request(KREQ_EXECUTE, "e", "print('\xff')", 10,
					&out),
		  ==, -EINVAL);
	CHECK_INT(kernel_encode_request(KREQ_SHELL, "e", "echo \xc3", 10, &out),
		  ==, -EINVAL);
	CHECK_INT(kernel_encode_request(KREQ_PING, "\xed\xa0\x80", NULL, 0,
					&out),
		  ==, -EINVAL);
	/* Missing text or id. */
	CHECK_INT(kernel_encode_request(KREQ_EXECUTE, "e", NULL, 10, &out), ==,
		  -EINVAL);
	CHECK_INT(kernel_encode_request(KREQ_SHELL, NULL, "ls", 10, &out), ==,
		  -EINVAL);
	CHECK_INT(kernel_encode_request((enum kernel_req_kind)42, "e", "1", 10,
					&out),
		  ==, -EINVAL);
	/* Larger than KERNEL_MAX_IN. */
	big = xmalloc(KERNEL_MAX_IN + 1);
	memset(big, 'x', KERNEL_MAX_IN);
	big[KERNEL_MAX_IN] = '\0';
	CHECK_INT(kernel_encode_request(KREQ_EXECUTE, "e", big, 10, &out), ==,
		  -EMSGSIZE);
	free(big);
	/* Nothing was appended by any refused request. */
	CHECK_INT(out.len, ==, 4);
	buf_fini(&out);
}

TEST(encode_stream_flag)
{
	struct buf out;

	buf_init(&out, 1 << 20);
	CHECK_INT(kernel_encode_run(KREQ_EXECUTE, "e", "1", 10, true, &out), ==,
		  0);
	CHECK_STR(only_body(&out), "{\"op\":\"execute\",\"id\":\"e\","
				   "\"code\":\"1\",\"output_max\":10,"
				   "\"stream\":true}");
	out.len = 0;
	CHECK_INT(kernel_encode_run(KREQ_SHELL, "s", "ls", 10, true, &out), ==,
		  0);
	CHECK(strstr(only_body(&out), "\"stream\":true") != NULL);
	/* Only a run streams; without the flag nothing is added. */
	out.len = 0;
	CHECK_INT(kernel_encode_run(KREQ_PING, "p", NULL, 0, true, &out), ==,
		  0);
	CHECK_STR(only_body(&out), "{\"op\":\"ping\",\"id\":\"p\"}");
	out.len = 0;
	CHECK_INT(kernel_encode_run(KREQ_EXECUTE, "e", "1", 10, false, &out),
		  ==, 0);
	CHECK(strstr(only_body(&out), "stream") == NULL);
	buf_fini(&out);
}

TEST(decode_output_events)
{
	struct kernel_msg m;
	const struct kernel_event *e;

	CHECK_INT(decode("{\"op\":\"output\",\"id\":\"x1\",\"items\":["
			 "{\"type\":\"stdout\",\"text\":\"a\\u0000b\"},"
			 "{\"type\":\"stderr\",\"text\":\"e\"},"
			 "{\"type\":\"image\",\"format\":\"png\","
			 "\"data\":\"iVBO\"},"
			 "{\"type\":\"html\",\"data\":\"<b>\"},"
			 "{\"type\":\"stdout\",\"text\":5},"
			 "{\"type\":\"image\",\"format\":\"png\","
			 "\"data\":\"no!\"},"
			 "{\"type\":\"stdin\",\"text\":\"x\"},7]}",
			 &m),
		  ==, 0);
	CHECK_INT(m.type, ==, KMSG_OUTPUT);
	CHECK(m.events != NULL && m.reply == NULL);
	CHECK_STR(m.events->id, "x1");
	/* The four valid items, in order; the rest are skipped. */
	CHECK_INT(m.events->n, ==, 4);
	e = m.events->ev;
	CHECK_INT(e[0].type, ==, KEV_STDOUT);
	CHECK_KSTR(e[0].data, "a\0b");
	CHECK_INT(e[1].type, ==, KEV_STDERR);
	CHECK_KSTR(e[1].data, "e");
	CHECK_INT(e[2].type, ==, KEV_PNG);
	CHECK_KSTR(e[2].data, "iVBO");
	CHECK_INT(e[3].type, ==, KEV_HTML);
	CHECK_KSTR(e[3].data, "<b>");
	kernel_msg_fini(&m);
	CHECK(m.events == NULL);

	/* No items, or not an array: an empty frame, still valid. */
	CHECK_INT(decode("{\"op\":\"output\",\"id\":\"x\"}", &m), ==, 0);
	CHECK_INT(m.events->n, ==, 0);
	kernel_msg_fini(&m);
	/* Without a usable id it is a protocol violation. */
	CHECK_INT(decode("{\"op\":\"output\",\"items\":[]}", &m), ==,
		  -EBADMSG);
	kernel_msg_fini(&m);
	CHECK_INT(decode("{\"op\":\"output\",\"id\":\"a\\u0000\"}", &m),
		  ==, -EBADMSG);
	kernel_msg_fini(&m);
}

TEST(decode_output_events_capped)
{
	struct kernel_msg m;
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	buf_printf(&b, "{\"op\":\"output\",\"id\":\"x\",\"items\":[");
	for (i = 0; i < KERNEL_MAX_EVENTS + 10; i++)
		buf_printf(&b, "%s{\"type\":\"stdout\",\"text\":\"%zu\"}",
			   i ? "," : "", i);
	buf_printf(&b, "]}");
	CHECK_INT(decode(b.data, &m), ==, 0);
	CHECK_INT(m.events->n, ==, KERNEL_MAX_EVENTS);
	kernel_msg_fini(&m);
	buf_fini(&b);
}

T_MAIN()
