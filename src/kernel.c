// SPDX-License-Identifier: MIT
/*
 * kernel.c: the server <-> kernel protocol (docs/ARCHITECTURE.md, "The
 * kernel protocol").  Used by the session layer (session.c), which owns
 * one reader and one write buffer per sandbox, and, through the typed
 * structs of kernel.h, by everything that shapes a reply (api_exec.c,
 * result.c, health.c): no other file reads the kernel's JSON.
 *
 * The reader never allocates more than its limit plus one header: the
 * length is checked when the header completes, before the body is read.
 * The decoder borrows every string from the frame (a reply may be 64 MiB)
 * and never fails on a wrong-typed optional field: such a field reads as
 * absent, so a confused kernel degrades to "" rather than to an error.
 * Only what would make the message meaningless (no op, an unknown op, a
 * result without a usable id) is -EBADMSG, which kills the sandbox.
 */
#include "kernel.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- framing ---- */

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
				  (uint32_t)r->hdr[2] << 8 |
				  (uint32_t)r->hdr[3];
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

/* ---- requests ---- */

int
kernel_encode_request(enum kernel_req_kind kind, const char *id,
		      const char *text, uint64_t output_max, struct buf *out)
{
	return kernel_encode_run(kind, id, text, output_max, false, out);
}

int
kernel_encode_run(enum kernel_req_kind kind, const char *id,
		  const char *text, uint64_t output_max, bool stream,
		  struct buf *out)
{
	json_t *msg = NULL;
	json_int_t max = output_max > KERNEL_MAX_OUT ? KERNEL_MAX_OUT
						     : (json_int_t)output_max;
	int rc = -EINVAL;

	/* json_pack fails on a NULL or non-UTF-8 "s" argument. */
	switch (kind) {
	case KREQ_EXECUTE:
		msg = json_pack("{s:s, s:s, s:s, s:I}", "op", "execute", "id",
				id, "code", text, "output_max", max);
		break;
	case KREQ_SHELL:
		msg = json_pack("{s:s, s:s, s:s, s:I}", "op", "shell", "id", id,
				"command", text, "output_max", max);
		break;
	case KREQ_PING:
		msg = json_pack("{s:s, s:s}", "op", "ping", "id", id);
		break;
	case KREQ_WARM:
		msg = json_pack("{s:s, s:s, s:b}", "op", "ping", "id", id,
				"warm", 1);
		break;
	case KREQ_TIDY:
		msg = json_pack("{s:s, s:s, s:b}", "op", "ping", "id", id,
				"tidy", 1);
		break;
	}
	if (msg == NULL)
		goto out;
	if (stream && (kind == KREQ_EXECUTE || kind == KREQ_SHELL))
		json_object_set_new(msg, "stream", json_true());
	rc = kframe_encode(msg, KERNEL_MAX_IN, out);
out:
	json_decref(msg);
	return rc;
}

/* ---- strings ---- */

bool
kernel_str_eq(const struct kernel_str *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && (n == 0 || memcmp(s->s, lit, n) == 0);
}

json_t *
kernel_str_json(const struct kernel_str *s)
{
	json_t *v = json_stringn_nocheck(s->s ? s->s : "", s->len);

	ENSURE(v != NULL);
	return v;
}

/* v as a borrowed string, or "" when it is not one (NULL included). */
static struct kernel_str
str_of(const json_t *v)
{
	struct kernel_str s = {"", 0};

	if (json_is_string(v)) {
		s.s = json_string_value(v);
		s.len = json_string_length(v);
	}
	return s;
}

/* The string field key of o; "" when o is not an object or it is not a
 * string. */
static struct kernel_str
field(const json_t *o, const char *key)
{
	return str_of(json_object_get(o, key));
}

/*
 * Copy src into dst[size] as C text: up to the first NUL, and cut to fit
 * on a UTF-8 boundary, because the text ends up in JSON again (a session's
 * python version) and jansson refuses a split character.
 */
static void
copy_cut(char *dst, size_t size, const struct kernel_str *src)
{
	size_t n = strnlen(src->s, src->len);

	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)src->s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src->s, n);
	dst[n] = '\0';
}

/* Is s a usable id: at most size - 1 bytes and no NUL (an id with a NUL
 * would compare equal to its prefix as C text)? */
static bool
id_ok(const struct kernel_str *s, size_t size)
{
	return s->len < size && memchr(s->s, '\0', s->len) == NULL;
}

/* ---- values and outputs ---- */

/* Is s of the form -?[0-9]+ ? */
static bool
is_int_text(const struct kernel_str *s)
{
	size_t i = 0;

	if (s->len > 0 && s->s[0] == '-')
		i = 1;
	if (i == s->len)
		return false;
	for (; i < s->len; i++)
		if (s->s[i] < '0' || s->s[i] > '9')
			return false;
	return true;
}

/* Standard base64 with '=' padding, as Python's b64encode writes it. */
static bool
is_base64(const struct kernel_str *d)
{
	size_t i, pad = 0, n = d->len;

	if (n == 0 || n % 4 != 0)
		return false;
	if (d->s[n - 1] == '=')
		pad++;
	if (d->s[n - 2] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		char c = d->s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

void
kernel_value_decode(const json_t *obj, struct kernel_value *v)
{
	static const struct {
		const char *name;
		enum kernel_value_kind kind;
	} kinds[] = {
		{"empty", KV_EMPTY}, {"none", KV_NONE}, {"int", KV_INT},
		{"float", KV_FLOAT}, {"str", KV_STR},   {"artist", KV_ARTIST},
		{"repr", KV_REPR},
	};
	struct kernel_str kind = field(obj, "kind");
	const json_t *num;
	size_t i;

	memset(v, 0, sizeof(*v));
	v->kind = KV_BAD;
	v->text = str_of(NULL);
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kernel_str_eq(&kind, kinds[i].name))
			v->kind = kinds[i].kind;
	switch (v->kind) {
	case KV_BAD:
	case KV_EMPTY:
	case KV_NONE:
		break;
	case KV_INT:
		/* Checked here so that every reader can parse it. */
		v->text = field(obj, "text");
		if (!is_int_text(&v->text)) {
			v->kind = KV_BAD;
			v->text = str_of(NULL);
		}
		break;
	case KV_FLOAT:
		v->text = field(obj, "text");
		num = json_object_get(obj, "value");
		if (json_is_number(num) && isfinite(json_number_value(num))) {
			v->has_number = true;
			v->number = json_number_value(num);
		}
		break;
	case KV_STR:
		v->text = field(obj, "value");
		break;
	case KV_ARTIST:
	case KV_REPR:
		v->text = field(obj, "text");
		break;
	}
}

/* Decode one output item into o; false when it is not a valid one. */
static bool
output_decode(const json_t *item, struct kernel_output *o)
{
	struct kernel_str type = field(item, "type");
	const json_t *data = json_object_get(item, "data");
	struct kernel_str fmt = field(item, "format");

	o->data = str_of(data);
	if (!json_is_string(data))
		return false;
	if (kernel_str_eq(&type, "image")) {
		o->type = KOUT_PNG;
		return kernel_str_eq(&fmt, "png") && is_base64(&o->data);
	}
	o->type = KOUT_HTML;
	return kernel_str_eq(&type, "html");
}

size_t
kernel_outputs_decode(const json_t *arr, struct kernel_output **out)
{
	size_t i, n = 0, size = json_array_size(arr); /* 0 if not an array */
	struct kernel_output *o = NULL;

	if (size > 0)
		o = xcalloc(size < KERNEL_MAX_OUTPUTS ? size
						      : KERNEL_MAX_OUTPUTS,
			    sizeof(*o));
	for (i = 0; i < size && n < KERNEL_MAX_OUTPUTS; i++)
		if (output_decode(json_array_get(arr, i), &o[n]))
			n++;
	if (n == 0) {
		free(o);
		o = NULL;
	}
	*out = o;
	return n;
}

/* ---- replies ---- */

/* Decode a "result" frame into a new reply that takes frame. */
static int
reply_decode(json_t *frame, struct kernel_reply **out)
{
	const json_t *idv = json_object_get(frame, "id"), *e, *v;
	struct kernel_str id = str_of(idv);
	struct kernel_reply *r = NULL;
	double ms;
	int rc = 0;

	if (!json_is_string(idv) || !id_ok(&id, sizeof(r->id))) {
		rc = -EBADMSG;
		goto out;
	}
	r = xcalloc(1, sizeof(*r));
	memcpy(r->id, id.s, id.len);
	r->out = field(frame, "stdout");
	r->err = field(frame, "stderr");
	r->out_truncated = json_is_true(json_object_get(frame,
							"stdout_truncated"));
	r->err_truncated = json_is_true(json_object_get(frame,
							"stderr_truncated"));
	kernel_value_decode(json_object_get(frame, "result"), &r->value);
	r->noutputs = kernel_outputs_decode(json_object_get(frame, "outputs"),
					    &r->outputs);
	e = json_object_get(frame, "error");
	r->has_error = json_is_object(e);
	r->error.code = field(e, "code");
	r->error.name = field(e, "name");
	r->error.message = field(e, "message");
	r->error.stack = field(e, "stack");
	r->interrupted = json_is_true(json_object_get(frame, "interrupted"));
	v = json_object_get(frame, "exit_code");
	if (json_is_integer(v)) {
		r->has_exit_code = true;
		r->exit_code = json_integer_value(v);
	}
	/* The kernel sends sys.exit()'s status & 0xff; anything else is not
	 * an exit status. */
	v = json_object_get(frame, "exit");
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 255) {
		r->has_exit = true;
		r->exit_status = (int)json_integer_value(v);
	}
	v = json_object_get(frame, "duration_ms");
	ms = json_is_number(v) ? json_number_value(v) : 0;
	r->duration_ms = isfinite(ms) && ms > 0 ? ms : 0;
	r->frame = frame;
	*out = r;
out:
	return rc;
}

/* Decode one item of an output frame; false when it is not valid. */
static bool
event_decode(const json_t *item, struct kernel_event *e)
{
	struct kernel_str type = field(item, "type");
	const json_t *text = json_object_get(item, "text");
	struct kernel_output o;

	if (kernel_str_eq(&type, "stdout") || kernel_str_eq(&type, "stderr")) {
		e->type = type.s[3] == 'o' ? KEV_STDOUT : KEV_STDERR;
		e->data = str_of(text);
		return json_is_string(text);
	}
	if (!output_decode(item, &o))
		return false;
	e->type = o.type == KOUT_PNG ? KEV_PNG : KEV_HTML;
	e->data = o.data;
	return true;
}

/* Decode an "output" frame into new events that take frame. */
static int
events_decode(json_t *frame, struct kernel_events **out)
{
	const json_t *idv = json_object_get(frame, "id");
	const json_t *items = json_object_get(frame, "items");
	struct kernel_str id = str_of(idv);
	size_t i, size = json_array_size(items);
	struct kernel_events *e;

	if (!json_is_string(idv) || !id_ok(&id, sizeof(e->id)))
		return -EBADMSG;
	e = xcalloc(1, sizeof(*e));
	memcpy(e->id, id.s, id.len);
	if (size > KERNEL_MAX_EVENTS)
		size = KERNEL_MAX_EVENTS;
	if (size > 0)
		e->ev = xcalloc(size, sizeof(*e->ev));
	for (i = 0; i < size; i++)
		if (event_decode(json_array_get(items, i), &e->ev[e->n]))
			e->n++;
	e->frame = frame;
	*out = e;
	return 0;
}

void
kernel_events_free(struct kernel_events *e)
{
	if (e == NULL)
		return;
	free(e->ev);
	json_decref(e->frame);
	free(e);
}

int
kernel_decode(json_t *frame, struct kernel_msg *m)
{
	struct kernel_str op = field(frame, "op"), s;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (kernel_str_eq(&op, "result")) {
		m->type = KMSG_RESULT;
		rc = reply_decode(frame, &m->reply);
		if (rc == 0)
			frame = NULL; /* m->reply has it */
	} else if (kernel_str_eq(&op, "output")) {
		m->type = KMSG_OUTPUT;
		rc = events_decode(frame, &m->events);
		if (rc == 0)
			frame = NULL; /* m->events has it */
	} else if (kernel_str_eq(&op, "ready")) {
		m->type = KMSG_READY;
		s = field(frame, "python");
		copy_cut(m->text, sizeof(m->text), &s);
	} else if (kernel_str_eq(&op, "fatal")) {
		m->type = KMSG_FATAL;
		s = field(frame, "message");
		copy_cut(m->text, sizeof(m->text), &s);
	} else if (kernel_str_eq(&op, "pong")) {
		m->type = KMSG_PONG;
		s = field(frame, "id");
		if (id_ok(&s, sizeof(m->id)))
			memcpy(m->id, s.s, s.len);
	} else {
		/* No op, not a string, or one the kernel never sends. */
		rc = -EBADMSG;
	}
	json_decref(frame);
	return rc;
}

void
kernel_reply_free(struct kernel_reply *r)
{
	if (r == NULL)
		return;
	free(r->outputs);
	json_decref(r->frame);
	free(r);
}

void
kernel_msg_fini(struct kernel_msg *m)
{
	kernel_reply_free(m->reply);
	m->reply = NULL;
	kernel_events_free(m->events);
	m->events = NULL;
}
