// SPDX-License-Identifier: MIT
/*
 * mcp_http.c: MCP Streamable HTTP at /mcp (mcp.md §4).  api_dispatch has
 * already checked the method (POST, DELETE; GET gets 405) and the API key.
 * Here: Origin and Host checks against DNS rebinding (403), the
 * MCP-Protocol-Version header (400 if unsupported), Accept (406 when it
 * allows neither JSON nor SSE; no header means JSON, for Azure-style
 * clients), the Mcp-Session-Id rules (issued at initialize, 400 when
 * missing later, 404 once unknown, DELETE ends it), and the answer:
 *
 *   - notifications and responses only: 202, empty;
 *   - otherwise JSON, or an SSE stream when the client accepts only SSE,
 *     when a tools/call carries a progressToken, or when a call is still
 *     running at the first keep-alive tick (MCP_TICK_MS) and the client
 *     accepts SSE.  While code runs, the stream carries progress
 *     notifications (or comments) at least every MCP_TICK_MS, and one
 *     with the new output as its message whenever the code writes some
 *     (a call with a progressToken).  A client that drops the stream
 *     before the answer cancels its calls.
 *
 * An SSE body is an MHD callback response fed from a buffer.  When the
 * buffer is empty the reader suspends the connection and returns 0, and
 * the producer (loop thread, ticker) resumes it after appending: no
 * thread waits and no core spins.  struct hx is shared by the handler,
 * mcp.c's sink calls and MHD's reader, under its own lock, and freed by
 * the last of them.
 */
#define _GNU_SOURCE
#include "mcp_http.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "log.h"
#include "mcp.h"

#define SSE_MAX (256 * MiB) /* bytes of SSE not yet sent, per stream */
#define SSE_RETRY_MS 3000   /* the retry: field of the priming event */

enum hx_state {
	HX_HANDLER, /* the handler is still running */
	HX_WAIT,    /* suspended, no response chosen yet */
	HX_STREAM,  /* an SSE response is queued */
	HX_DONE,    /* answered */
};

struct hx {
	pthread_mutex_t lock;
	int refs;
	enum hx_state state;
	struct http_req *rq; /* until a response is handed over */
	struct sandpool *sp;
	struct MHD_Connection *conn;
	bool sse_ok;	  /* the client accepts SSE */
	bool want_stream; /* a notification came in HANDLER */
	bool priming;	  /* send the 2025-11-25 priming event */
	json_t *final;	  /* done() in HANDLER */
	bool final_set;
	struct buf out; /* SSE bytes not yet read by MHD */
	size_t out_off;
	bool eof;	       /* nothing follows out */
	bool reader_suspended; /* the reader suspended conn */
	uint64_t seq;	       /* SSE event ids */
	char stream[20];       /* random prefix of event ids */
	char sid[MCP_SID_MAX]; /* Mcp-Session-Id to send, or "" */
};

static void
hx_unref(struct hx *h)
{
	bool last;

	pthread_mutex_lock(&h->lock);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->lock);
	if (!last)
		return;
	json_decref(h->final);
	buf_fini(&h->out);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* Make data available to the reader.  h->lock held. */
static void
hx_kick(struct hx *h)
{
	if (h->reader_suspended) {
		h->reader_suspended = false;
		MHD_resume_connection(h->conn);
	}
}

static void
sse_event(struct hx *h, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);

	if (s == NULL)
		return;
	if (buf_printf(&h->out, "id: %s-%llu\nevent: message\ndata: %s\n\n",
		       h->stream, (unsigned long long)++h->seq, s) < 0)
		log_warnx("mcp: SSE stream over %llu bytes; message dropped",
			  (unsigned long long)SSE_MAX);
	free(s);
}

static ssize_t
sse_read(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct hx *h = cls;
	ssize_t n = 0;

	(void)pos;
	pthread_mutex_lock(&h->lock);
	if (h->out_off < h->out.len) {
		size_t left = h->out.len - h->out_off;

		n = (ssize_t)(left < max ? left : max);
		memcpy(dst, h->out.data + h->out_off, (size_t)n);
		h->out_off += (size_t)n;
		if (h->out_off == h->out.len) {
			buf_reset(&h->out);
			h->out_off = 0;
		}
	} else if (h->eof) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		/* Nothing yet: park the connection until hx_kick. */
		h->reader_suspended = true;
		MHD_suspend_connection(h->conn);
	}
	pthread_mutex_unlock(&h->lock);
	return n;
}

/* MHD lets the stream go: at its end, or because the client went away,
 * which cancels the calls still running (mcp.md §4: a disconnect is a
 * cancellation). */
static void
sse_free(void *cls)
{
	struct hx *h = cls;
	bool gone;

	pthread_mutex_lock(&h->lock);
	gone = h->state != HX_DONE;
	pthread_mutex_unlock(&h->lock);
	if (gone)
		mcp_sink_gone(h->sp, h);
	hx_unref(h);
}

/* The SSE response; the priming event goes first.  h->lock held. */
static struct MHD_Response *
sse_response(struct hx *h, const char **hdrs)
{
	struct MHD_Response *r;
	struct buf head;
	int n = 0;

	buf_init(&head, SSE_MAX);
	if (h->priming)
		buf_printf(&head, "id: %s-0\nretry: %d\ndata: \n\n", h->stream,
			   SSE_RETRY_MS);
	if (head.len) {
		/* Put the priming event in front of anything buffered. */
		buf_append(&head, h->out.data ? h->out.data + h->out_off : "",
			   h->out.len - h->out_off);
		buf_fini(&h->out);
		h->out = head;
		h->out_off = 0;
	} else {
		buf_fini(&head);
	}
	h->refs++; /* MHD's, dropped by sse_free */
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
					      sse_read, h, sse_free);
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	hdrs[n++] = "Mcp-Session-Id";
	hdrs[n++] = h->sid;
	hdrs[n] = NULL;
	if (h->sid[0] == '\0')
		hdrs[0] = NULL;
	return r;
}

static struct MHD_Response *
empty_response(void)
{
	return MHD_create_response_from_buffer(0, (void *)"",
					       MHD_RESPMEM_PERSISTENT);
}

/* ---- the sink mcp.c answers through ---- */

static void
hx_notify(void *arg, json_t *msg)
{
	struct hx *h = arg;
	const char *hdrs[3];

	pthread_mutex_lock(&h->lock);
	if (!h->sse_ok || h->state == HX_DONE)
		goto out;
	if (h->state == HX_HANDLER) {
		h->want_stream = true;
	} else if (h->state == HX_WAIT) {
		/* The call is long: answer with a stream from now on. */
		struct MHD_Response *r = sse_response(h, hdrs);

		h->state = HX_STREAM;
		http_complete_response(h->rq, 200, r, hdrs);
		h->rq = NULL;
	}
	if (msg)
		sse_event(h, msg);
	else
		buf_printf(&h->out, ": keep-alive\n\n");
	hx_kick(h);
out:
	pthread_mutex_unlock(&h->lock);
	json_decref(msg);
}

static void
hx_done(void *arg, json_t *body)
{
	struct hx *h = arg;
	const char *hdrs[3] = {"Mcp-Session-Id", h->sid, NULL};

	if (h->sid[0] == '\0')
		hdrs[0] = NULL;
	pthread_mutex_lock(&h->lock);
	switch (h->state) {
	case HX_HANDLER:
		h->final = body;
		h->final_set = true;
		body = NULL;
		break;
	case HX_WAIT:
		if (body)
			http_complete_json(h->rq, 200, body, hdrs);
		else
			http_complete_response(h->rq, 202, empty_response(),
					       NULL);
		body = NULL;
		h->rq = NULL;
		h->state = HX_DONE;
		break;
	case HX_STREAM:
		if (body)
			sse_event(h, body);
		h->eof = true;
		h->state = HX_DONE;
		hx_kick(h);
		break;
	case HX_DONE:
		break;
	}
	pthread_mutex_unlock(&h->lock);
	json_decref(body);
	hx_unref(h);
}

static const struct mcp_sink hx_sink = {hx_notify, hx_done};

static void
discard_done(void *arg, json_t *body)
{
	(void)arg;
	json_decref(body);
}

static void
discard_notify(void *arg, json_t *msg)
{
	(void)arg;
	json_decref(msg);
}

static const struct mcp_sink discard_sink = {discard_notify, discard_done};

/* ---- checks ---- */

/* A JSON-RPC error body (id null) with an HTTP status. */
static void
reply_rpc_error(struct http_req *rq, unsigned status, int code, const char *msg)
{
	http_reply_json(rq, status, mcp_error(NULL, code, "%s", msg), NULL);
}

/* Is host[0..n) a loopback name or the listen host? */
static bool
host_allowed(struct sandpool *sp, const char *host, size_t n)
{
	static const char *const local[] = {"localhost", "127.0.0.1", "[::1]"};
	const char *lh = sp->cfg->listen, *colon;
	size_t i, ln;

	for (i = 0; i < ARRAY_SIZE(local); i++)
		if (n == strlen(local[i]) &&
		    strncasecmp(host, local[i], n) == 0)
			return true;
	/* The listen address's own host ("10.0.0.5" of 10.0.0.5:6000). */
	colon = lh[0] == '[' ? strchr(lh, ']') : strrchr(lh, ':');
	if (colon && lh[0] == '[')
		colon++;
	ln = colon ? (size_t)(colon - lh) : strlen(lh);
	return ln > 0 && n == ln && strncasecmp(host, lh, n) == 0 &&
	       strcmp(lh, "0.0.0.0") != 0;
}

/* Split "host[:port]" (host may be "[v6]"); returns the host length, or
 * 0 when malformed. */
static size_t
host_part(const char *s)
{
	const char *end;
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return 0;
		n = (size_t)(end - s) + 1;
	} else {
		n = strcspn(s, ":/");
	}
	if (s[n] == ':') {
		const char *p = s + n + 1;

		if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
			return 0;
	} else if (s[n] != '\0') {
		return 0;
	}
	return n;
}

static bool
origin_ok(struct sandpool *sp, const char *origin)
{
	const char *rest;
	size_t n;

	if (strncasecmp(origin, "http://", 7) == 0)
		rest = origin + 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		rest = origin + 8;
	else
		return false; /* "null", file://, chrome-extension:// ... */
	n = host_part(rest);
	return n > 0 && host_allowed(sp, rest, n);
}

/* DNS rebinding: a browser page of another site must not reach us. */
static int
check_origin(struct http_req *rq, struct sp_err *err)
{
	struct sandpool *sp = rq->sp;
	const char *origin = http_header(rq, "Origin");
	const char *host = http_header(rq, "Host");
	size_t n;

	if (origin && !origin_ok(sp, origin))
		return sp_errf(err, 403, "Forbidden",
			       "Origin \"%.80s\" is not allowed; only "
			       "http(s)://localhost, 127.0.0.1, [::1] or the "
			       "server's own host may call /mcp",
			       origin);
	/* On loopback, the Host must be a loopback name too. */
	if (host && auth_listen_is_loopback(sp->cfg->listen)) {
		n = host_part(host);
		if (n == 0 || !host_allowed(sp, host, n))
			return sp_errf(err, 403, "Forbidden",
				       "Host \"%.80s\" is not allowed on a "
				       "loopback server; use localhost, "
				       "127.0.0.1 or [::1]",
				       host);
	}
	return 0;
}

/* Accept: no header means JSON (lenient, Azure-style clients). */
static int
parse_accept(const char *accept, bool *json_ok, bool *sse_ok)
{
	const char *p = accept;

	*json_ok = accept == NULL;
	*sse_ok = false;
	while (p && *p) {
		size_t n;

		p += strspn(p, " \t,");
		n = strcspn(p, ",;");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if ((n == 16 && strncasecmp(p, "application/json", n) == 0) ||
		    (n == 13 && strncasecmp(p, "application/*", n) == 0) ||
		    (n == 3 && strncmp(p, "*/*", n) == 0))
			*json_ok = true;
		else if (n == 17 && strncasecmp(p, "text/event-stream", n) == 0)
			*sse_ok = true;
		p = strchr(p, ',');
	}
	return *json_ok || *sse_ok ? 0 : -1;
}

/* ---- DELETE ---- */

static void
handle_delete(struct api_ctx *c)
{
	const char *sid = http_header(c->rq, "Mcp-Session-Id");
	struct mcp_session *ms;

	if (sid == NULL) {
		reply_rpc_error(c->rq, 400, -32600,
				"DELETE /mcp needs the Mcp-Session-Id header "
				"of the session to end");
		return;
	}
	ms = mcp_session_find(c->sp, sid, c->principal);
	if (ms == NULL) {
		reply_rpc_error(c->rq, 404, -32001,
				"session not found: unknown or already "
				"ended");
		return;
	}
	mcp_session_end(c->sp, ms);
	mcp_session_unref(c->sp, ms);
	http_reply_empty(c->rq, 204);
}

/* ---- POST ---- */

void
mcp_http_handle(struct api_ctx *c)
{
	struct http_req *rq = c->rq;
	struct sandpool *sp = c->sp;
	const char *pv = http_header(rq, "MCP-Protocol-Version");
	const char *sid = http_header(rq, "Mcp-Session-Id");
	struct mcp_session *ms = NULL;
	bool json_ok, sse_ok, init = false;
	json_t *msg = NULL, *errresp = NULL;
	struct mcp_scan scan;
	struct sp_err err;
	struct hx *h;
	const char *hdrs[3];
	char text[200];

	if (check_origin(rq, &err) < 0) {
		reply_rpc_error(rq, 403, -32600, err.msg);
		return;
	}
	if (strcmp(rq->method, "DELETE") == 0) {
		handle_delete(c);
		return;
	}
	if (pv && !mcp_version_ok(pv)) {
		snprintf(text, sizeof(text),
			 "unsupported MCP-Protocol-Version \"%.32s\"; this "
			 "server speaks 2025-11-25, 2025-06-18 and "
			 "2025-03-26",
			 pv);
		reply_rpc_error(rq, 400, -32600, text);
		return;
	}
	if (parse_accept(http_header(rq, "Accept"), &json_ok, &sse_ok) < 0) {
		reply_rpc_error(rq, 406, -32600,
				"the Accept header must allow "
				"application/json or text/event-stream");
		return;
	}
	if (mcp_parse(rq->body.data, rq->body.len, sp->cfg->max_json_depth,
		      &msg, &errresp) < 0) {
		http_reply_json(rq, 400, errresp, NULL);
		return;
	}
	mcp_scan(msg, &scan);
	if (scan.method && strcmp(scan.method, "server/discover") == 0) {
		/* The v2 SDKs' probe: a clean 4xx makes them fall back to
		 * initialize (mcp.md §9). */
		http_reply_json(rq, 400,
				mcp_error(json_object_get(msg, "id"), -32601,
					  "server/discover is not supported: "
					  "this server speaks MCP %s and "
					  "earlier; use initialize",
					  MCP_VERSION_LATEST),
				NULL);
		goto out;
	}
	if (scan.is_request && strcmp(scan.method, "initialize") == 0) {
		init = true;
		ms = mcp_session_new(sp, c->principal, c->pool, true);
	} else if (sid) {
		ms = mcp_session_find(sp, sid, c->principal);
		if (ms == NULL) {
			reply_rpc_error(rq, 404, -32001,
					"session not found: unknown, expired "
					"or ended; send initialize for a new "
					"one");
			goto out;
		}
	} else if (scan.is_request && strcmp(scan.method, "ping") == 0) {
		ms = mcp_session_new(sp, c->principal, c->pool, false);
	} else {
		reply_rpc_error(rq, 400, -32600,
				"the Mcp-Session-Id header is required; "
				"send initialize first and echo the header "
				"it returns");
		goto out;
	}
	if (!scan.has_request) {
		mcp_handle(sp, ms, msg, &discard_sink, NULL);
		http_reply_empty(rq, 202);
		goto out;
	}
	h = xcalloc(1, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->refs = 2; /* the handler's and the sink's */
	h->rq = rq;
	h->sp = sp;
	h->conn = rq->conn;
	h->sse_ok = sse_ok;
	buf_init(&h->out, SSE_MAX);
	random_hex(h->stream, 8);
	if (init)
		snprintf(h->sid, sizeof(h->sid), "%s", ms->id);
	h->state = HX_HANDLER;
	if (sse_ok && (!json_ok || scan.progress))
		h->want_stream = true;
	mcp_handle(sp, ms, msg, &hx_sink, h);
	pthread_mutex_lock(&h->lock);
	/* The negotiated version decides the priming event. */
	h->priming = strcmp(ms->version, "2025-11-25") == 0;
	if (init && h->final_set &&
	    json_object_get(h->final, "error") != NULL) {
		mcp_session_end(sp, ms);
		h->sid[0] = '\0';
	}
	hdrs[0] = h->sid[0] ? "Mcp-Session-Id" : NULL;
	hdrs[1] = h->sid;
	hdrs[2] = NULL;
	if (h->final_set && !h->want_stream) {
		h->state = HX_DONE;
		if (h->final)
			http_reply_json(rq, 200, h->final, hdrs);
		else
			http_reply_empty(rq, 202);
		h->final = NULL;
	} else if (h->want_stream) {
		struct MHD_Response *r = sse_response(h, hdrs);

		if (h->final_set) {
			if (h->final)
				sse_event(h, h->final);
			json_decref(h->final);
			h->final = NULL;
			h->eof = true;
			h->state = HX_DONE;
		} else {
			h->state = HX_STREAM;
		}
		http_reply_response(rq, 200, r, hdrs);
	} else {
		h->state = HX_WAIT;
		http_suspend(rq);
	}
	h->rq = h->state == HX_WAIT ? rq : NULL;
	pthread_mutex_unlock(&h->lock);
	hx_unref(h);
out:
	mcp_session_unref(sp, ms);
	json_decref(msg);
}
