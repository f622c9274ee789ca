// SPDX-License-Identifier: MIT
/*
 * mcp.c: JSON-RPC 2.0 and the MCP lifecycle, independent of the transport.
 * It parses a message (or a 2025-03-26 batch), answers initialize, ping,
 * tools/list, tools/call, prompts/list, prompts/get and logging/setLevel,
 * takes notifications/initialized and notifications/cancelled, and keeps
 * the MCP sessions (HTTP Mcp-Session-Id, or the stdio process) and the
 * tool calls in flight.
 *
 * An incoming message becomes an exchange: it counts the requests still
 * running and hands the collected responses to the transport's sink once
 * the last one ends.  A tool call that runs code holds a job on a sandpool
 * session; notifications/cancelled interrupts it (session_interrupt) and
 * drops its response.  A ticker thread sends notifications/progress every
 * MCP_TICK_MS to calls that asked for it, and a keep-alive tick to the
 * others (the HTTP sink may switch to SSE on it).
 *
 * Lock order: mcp->lock, then sp->lock (session_submit/interrupt/get are
 * called with mcp->lock held; job callbacks run without sp->lock).
 */
#define _GNU_SOURCE
#include "mcp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "mcp_tools.h"

#define MCP_SERVER_VERSION "0.1.0"

struct mcp {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* ticker wake-up; worker count changes */
	pthread_t ticker;
	bool ticker_started;
	bool stop;
	struct mcp_call *calls;	      /* every call in flight */
	struct mcp_session *sessions; /* registered (HTTP) sessions */
	uint32_t nsessions;
	uint32_t workers; /* mcp_call_defer threads running */
	json_t *tools;	  /* tools/list array, built once */
};

/* The answers to one incoming message or batch. */
struct mcp_exch {
	struct sandpool *sp;
	struct mcp_session *ms; /* a reference */
	const struct mcp_sink *sink;
	void *arg;
	json_t *responses; /* array, under mcp->lock */
	bool batch;
	int pending; /* calls running, +1 while dispatching */
};

static const char *const versions[] = {"2025-11-25", "2025-06-18",
				       "2025-03-26"};

/* RFC 5424 severities, as logging/setLevel names them. */
static const char *const log_levels[] = {"debug",   "info",	"notice",
					 "warning", "error",	"critical",
					 "alert",   "emergency"};

static const char instructions[] =
	"sandpool runs Python in sandboxed, stateful sessions. Use "
	"execute_python to compute instead of guessing (arithmetic, "
	"statistics, data files, charts); variables and files in /mnt/data "
	"persist between calls of this MCP session. Pass file URLs in "
	"`files` and read them in code. run_shell runs bash in the same "
	"sandbox; list_files, read_file and upload_file reach /mnt/data. The "
	"code_interpreter prompt holds the full guidance.";

bool
mcp_version_ok(const char *v)
{
	size_t i;

	for (i = 0; v && i < ARRAY_SIZE(versions); i++)
		if (strcmp(v, versions[i]) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* JSON-RPC building blocks                                            */
/* ------------------------------------------------------------------ */

json_t *
mcp_error(const json_t *id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id",
			 id ? id : json_null(), "error", "code", code,
			 "message", msg);
}

static json_t *
response(const json_t *id, json_t *result)
{
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id,
			 "result", result);
}

/* A request id: a string or an integer, never null (mcp.md §2). */
static bool
id_ok(const json_t *id)
{
	return json_is_string(id) || json_is_integer(id);
}

int
mcp_parse(const char *buf, size_t len, unsigned max_depth, json_t **out,
	  json_t **errresp)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	*errresp = NULL;
	if (len == 0) {
		*errresp = mcp_error(NULL, -32700,
				     "parse error: the body is empty; send "
				     "one JSON-RPC message");
		return -EINVAL;
	}
	if (!json_depth_ok(buf, len, max_depth)) {
		*errresp = mcp_error(NULL, -32700,
				     "parse error: JSON nested deeper than "
				     "%u levels",
				     max_depth);
		return -EINVAL;
	}
	if (memchr(buf, '\0', len) != NULL) {
		*errresp = mcp_error(NULL, -32700,
				     "parse error: raw NUL byte in the "
				     "message");
		return -EINVAL;
	}
	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		*errresp = mcp_error(NULL, -32700,
				     "parse error: line %d column %d: %.200s",
				     jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Will this single message get an answer?  Valid notifications and
 * responses (to requests we never send) do not. */
static bool
answered(const json_t *m)
{
	const json_t *method = json_object_get(m, "method");
	const json_t *id = json_object_get(m, "id");

	if (!json_is_object(m))
		return true;
	if (json_is_string(method))
		return id != NULL;
	if (id && (json_object_get(m, "result") || json_object_get(m, "error")))
		return false;
	return true;
}

static const json_t *
progress_token(const json_t *params)
{
	const json_t *t = json_object_get(json_object_get(params, "_meta"),
					  "progressToken");

	return json_is_string(t) || json_is_integer(t) ? t : NULL;
}

static void
scan_one(const json_t *m, struct mcp_scan *out)
{
	const char *method = json_string_value(json_object_get(m, "method"));

	if (answered(m))
		out->has_request = true;
	if (method && strcmp(method, "tools/call") == 0 &&
	    progress_token(json_object_get(m, "params")))
		out->progress = true;
}

void
mcp_scan(const json_t *msg, struct mcp_scan *out)
{
	size_t i;
	json_t *m;

	memset(out, 0, sizeof(*out));
	if (json_is_array(msg)) {
		out->batch = true;
		/* An empty, oversized or refused batch gets an error. */
		if (json_array_size(msg) == 0 ||
		    json_array_size(msg) > MCP_BATCH_MAX)
			out->has_request = true;
		json_array_foreach (msg, i, m)
			scan_one(m, out);
		return;
	}
	scan_one(msg, out);
	out->method = json_string_value(json_object_get(msg, "method"));
	out->is_request = out->method && id_ok(json_object_get(msg, "id"));
}

/* ------------------------------------------------------------------ */
/* sessions                                                            */
/* ------------------------------------------------------------------ */

static void
session_free_locked(struct mcp_session *ms)
{
	free(ms);
}

static void
unlink_locked(struct mcp *m, struct mcp_session *ms)
{
	struct mcp_session **pp;

	if (!ms->in_table)
		return;
	for (pp = &m->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == ms) {
			*pp = ms->next;
			break;
		}
	}
	ms->next = NULL;
	ms->in_table = false;
	m->nsessions--;
	if (--ms->refs == 0)
		session_free_locked(ms);
}

/* Forget idle sessions, and the least recently used one when full. */
static void
evict_locked(struct mcp *m)
{
	uint64_t now = now_ms(), idle = (uint64_t)MCP_SESSION_IDLE_S * 1000;
	struct mcp_session *ms, *nx, *lru = NULL;

	for (ms = m->sessions; ms; ms = nx) {
		nx = ms->next;
		if (ms->calls == 0 && now - ms->last_used_ms > idle) {
			log_debug(
				"mcp session %.8s... forgotten after %d s idle",
				ms->id, MCP_SESSION_IDLE_S);
			unlink_locked(m, ms);
		}
	}
	if (m->nsessions < MCP_SESSIONS_MAX)
		return;
	for (ms = m->sessions; ms; ms = ms->next)
		if (lru == NULL || (ms->calls == 0 && lru->calls > 0) ||
		    ((ms->calls == 0) == (lru->calls == 0) &&
		     ms->last_used_ms < lru->last_used_ms))
			lru = ms;
	if (lru) {
		log_info("mcp: %d sessions open; forgetting the least "
			 "recently used",
			 MCP_SESSIONS_MAX);
		lru->ended = true;
		unlink_locked(m, lru);
	}
}

struct mcp_session *
mcp_session_new(struct sandpool *sp, const char *principal, const char *pool,
		bool in_table)
{
	struct mcp *m = sp->mcp;
	struct mcp_session *ms = xcalloc(1, sizeof(*ms));
	char hex[33];

	random_hex(hex, 16);
	if (in_table)
		snprintf(ms->id, sizeof(ms->id), "%s", hex);
	else
		snprintf(ms->id, sizeof(ms->id), "stdio-%.16s", hex);
	snprintf(ms->ident, sizeof(ms->ident), "mcp-%s", ms->id);
	snprintf(ms->principal, sizeof(ms->principal), "%s", principal);
	snprintf(ms->pool, sizeof(ms->pool), "%s", pool);
	ms->log_level = 1; /* info */
	ms->last_used_ms = now_ms();
	ms->refs = 1;
	if (in_table) {
		pthread_mutex_lock(&m->lock);
		evict_locked(m);
		ms->in_table = true;
		ms->refs++;
		ms->next = m->sessions;
		m->sessions = ms;
		m->nsessions++;
		pthread_mutex_unlock(&m->lock);
	}
	return ms;
}

struct mcp_session *
mcp_session_find(struct sandpool *sp, const char *id, const char *principal)
{
	struct mcp *m = sp->mcp;
	struct mcp_session *ms;

	pthread_mutex_lock(&m->lock);
	for (ms = m->sessions; ms; ms = ms->next)
		if (strcmp(ms->id, id) == 0)
			break;
	if (ms && (ms->ended || strcmp(ms->principal, principal) != 0))
		ms = NULL;
	if (ms) {
		ms->refs++;
		ms->last_used_ms = now_ms();
	}
	pthread_mutex_unlock(&m->lock);
	return ms;
}

void
mcp_session_unref(struct sandpool *sp, struct mcp_session *ms)
{
	struct mcp *m = sp->mcp;

	if (ms == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	ENSURE(ms->refs > 0);
	if (--ms->refs == 0)
		session_free_locked(ms);
	pthread_mutex_unlock(&m->lock);
}

/* Mark c cancelled and interrupt its job.  mcp->lock held. */
static void
cancel_locked(struct sandpool *sp, struct mcp_call *c)
{
	c->cancelled = true;
	if (c->s)
		session_interrupt(sp, c->s, c->job_id);
}

void
mcp_session_end(struct sandpool *sp, struct mcp_session *ms)
{
	struct mcp *m = sp->mcp;
	struct session *s = NULL;
	struct mcp_call *c;
	struct sp_err err;

	pthread_mutex_lock(&m->lock);
	ms->ended = true;
	for (c = m->calls; c; c = c->next)
		if (c->ms == ms && !c->cancelled)
			cancel_locked(sp, c);
	unlink_locked(m, ms);
	pthread_mutex_unlock(&m->lock);
	/* Its default sandpool session goes too; sessions named by
	 * session_id or environmentId are the caller's and stay. */
	if (session_get(sp, ms->principal, ms->pool, ms->ident, false, &s,
			&err) == 0) {
		session_destroy(sp, s);
		session_unref(sp, s);
	}
}

/* ------------------------------------------------------------------ */
/* exchanges and calls                                                 */
/* ------------------------------------------------------------------ */

static void
exch_add(struct mcp_exch *ex, json_t *resp)
{
	struct mcp *m = ex->sp->mcp;

	pthread_mutex_lock(&m->lock);
	json_array_append_new(ex->responses, resp);
	pthread_mutex_unlock(&m->lock);
}

/* Drop one pending count; the last one answers and frees ex. */
static void
exch_release(struct mcp_exch *ex)
{
	struct mcp *m = ex->sp->mcp;
	json_t *body = NULL;
	bool last;

	pthread_mutex_lock(&m->lock);
	last = --ex->pending == 0;
	pthread_mutex_unlock(&m->lock);
	if (!last)
		return;
	if (json_array_size(ex->responses) > 0)
		body = ex->batch
			       ? json_incref(ex->responses)
			       : json_incref(json_array_get(ex->responses, 0));
	ex->sink->done(ex->arg, body);
	json_decref(ex->responses);
	mcp_session_unref(ex->sp, ex->ms);
	free(ex);
}

int
mcp_call_submit(struct mcp_call *c, struct exec *x, struct sp_err *err)
{
	struct mcp *m = c->sp->mcp;
	struct session *s = exec_session(x);
	char id[sizeof(c->job_id)];
	int rc;

	snprintf(id, sizeof(id), "%s", exec_id(x));
	pthread_mutex_lock(&m->lock);
	if (c->cancelled) {
		rc = -ECANCELED;
		sp_errf(err, 499, "Cancelled", "the call was cancelled");
		goto out;
	}
	/* Holding mcp->lock keeps the job's callback (which takes it in
	 * mcp_call_job_ended) from freeing c before we are done here. */
	rc = exec_submit(x, err);
	if (rc < 0)
		goto out;
	c->s = s;
	memcpy(c->job_id, id, sizeof(id));
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void
mcp_call_job_ended(struct mcp_call *c)
{
	struct mcp *m = c->sp->mcp;

	pthread_mutex_lock(&m->lock);
	c->s = NULL;
	c->job_id[0] = '\0';
	pthread_mutex_unlock(&m->lock);
}

/* The next progress value of c: above the last one sent, and at least
 * the seconds it has run.  mcp->lock held. */
static json_int_t
next_progress(struct mcp_call *c, uint64_t now)
{
	json_int_t s = (json_int_t)((now - c->start_ms) / 1000);

	c->progress = s > c->progress ? s : c->progress + 1;
	return c->progress;
}

void
mcp_call_output(struct mcp_call *c, const char *text, size_t len)
{
	struct mcp *m = c->sp->mcp;
	uint64_t now = now_ms();

	if (c->token == NULL || len == 0)
		return;
	pthread_mutex_lock(&m->lock);
	if (!c->cancelled) {
		json_t *msg = json_pack(
			"{s:s, s:s, s:{s:O, s:I, s:o}}", "jsonrpc", "2.0",
			"method", "notifications/progress", "params",
			"progressToken", c->token, "progress",
			next_progress(c, now), "message",
			json_stringn_nocheck(text, len));

		c->ex->sink->notify(c->ex->arg, msg);
		c->next_tick_ms = now + MCP_TICK_MS;
	}
	pthread_mutex_unlock(&m->lock);
}

void
mcp_sink_gone(struct sandpool *sp, void *arg)
{
	struct mcp *m = sp->mcp;
	struct mcp_call *c;

	pthread_mutex_lock(&m->lock);
	for (c = m->calls; c; c = c->next)
		if (c->ex->arg == arg && !c->cancelled) {
			log_debug("mcp: the client of a call went away; "
				  "cancelling it");
			cancel_locked(sp, c);
		}
	pthread_mutex_unlock(&m->lock);
}

bool
mcp_call_cancelled(struct mcp_call *c)
{
	struct mcp *m = c->sp->mcp;
	bool v;

	pthread_mutex_lock(&m->lock);
	v = c->cancelled;
	pthread_mutex_unlock(&m->lock);
	return v;
}

void
mcp_call_finish(struct mcp_call *c, json_t *result)
{
	struct mcp *m = c->sp->mcp;
	struct mcp_exch *ex = c->ex;
	struct mcp_call **pp;

	pthread_mutex_lock(&m->lock);
	for (pp = &m->calls; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->ms->calls--;
	if (!c->cancelled && result)
		json_array_append_new(ex->responses, response(c->id, result));
	else
		json_decref(result);
	c->s = NULL;
	pthread_mutex_unlock(&m->lock);
	json_decref(c->args);
	json_decref(c->id);
	json_decref(c->token);
	mcp_session_unref(c->sp, c->ms);
	free(c);
	exch_release(ex);
}

struct worker {
	struct sandpool *sp;
	struct mcp_call *c;
	void (*fn)(struct mcp_call *c);
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct mcp *m = w->sp->mcp;

	w->fn(w->c); /* c belongs to fn from here */
	pthread_mutex_lock(&m->lock);
	m->workers--;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	free(w);
	return NULL;
}

int
mcp_call_defer(struct mcp_call *c, void (*fn)(struct mcp_call *c))
{
	struct mcp *m = c->sp->mcp;
	struct worker *w;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (m->workers >= MCP_FETCH_WORKERS || m->stop) {
		pthread_mutex_unlock(&m->lock);
		return -EAGAIN;
	}
	m->workers++;
	pthread_mutex_unlock(&m->lock);
	w = xcalloc(1, sizeof(*w));
	w->sp = c->sp;
	w->c = c;
	w->fn = fn;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(w);
		pthread_mutex_lock(&m->lock);
		m->workers--;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&m->lock);
		return -EAGAIN;
	}
	return 0;
}

json_t *
mcp_tool_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:[{s:s, s:s}], s:b}", "content", "type", "text",
			 "text", msg, "isError", 1);
}

json_t *
mcp_tool_text(const char *text, json_t *structured)
{
	json_t *r = json_pack("{s:[{s:s, s:s}], s:b}", "content", "type",
			      "text", "text", text, "isError", 0);

	if (structured)
		json_object_set_new(r, "structuredContent", structured);
	return r;
}

/* ------------------------------------------------------------------ */
/* methods                                                             */
/* ------------------------------------------------------------------ */

static json_t *
do_initialize(struct mcp_session *ms, const json_t *params)
{
	const char *want =
		json_string_value(json_object_get(params, "protocolVersion"));
	const char *v = mcp_version_ok(want) ? want : MCP_VERSION_LATEST;

	const json_t *ci = json_object_get(params, "clientInfo");

	/* Lenient for Azure-style clients: no params at all is fine. */
	snprintf(ms->version, sizeof(ms->version), "%s", v);
	/* Who the client says it is goes into its audit rows. */
	audit_ctx_client(&ms->actx,
			 json_string_value(json_object_get(ci, "name")),
			 json_string_value(json_object_get(ci, "version")));
	return json_pack(
		"{s:s, s:{s:{s:b}, s:{s:b}, s:{}}, s:{s:s, s:s, s:s}, s:s}",
		"protocolVersion", v, "capabilities", "tools", "listChanged", 0,
		"prompts", "listChanged", 0, "logging", "serverInfo", "name",
		"sandpool", "title", "sandpool code interpreter", "version",
		MCP_SERVER_VERSION, "instructions", instructions);
}

static json_t *
do_set_level(struct mcp_session *ms, const json_t *id, const json_t *params)
{
	const char *lvl = json_string_value(json_object_get(params, "level"));
	size_t i;

	for (i = 0; lvl && i < ARRAY_SIZE(log_levels); i++) {
		if (strcmp(lvl, log_levels[i]) == 0) {
			ms->log_level = (int)i;
			return response(id, json_object());
		}
	}
	return mcp_error(id, -32602,
			 "params.level must be one of debug, info, notice, "
			 "warning, error, critical, alert, emergency");
}

static json_t *
do_prompt_get(const json_t *id, const json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *r;

	if (name == NULL)
		return mcp_error(id, -32602,
				 "params.name (a string) is required; "
				 "prompts/list gives the prompts");
	r = mcp_prompt_get(name);
	if (r == NULL)
		return mcp_error(id, -32602,
				 "unknown prompt \"%.64s\"; the prompt is "
				 "\"code_interpreter\"",
				 name);
	return response(id, r);
}

/* Start tools/call; the response comes through mcp_call_finish. */
static void
do_call(struct mcp_exch *ex, const json_t *id, const json_t *params)
{
	struct sandpool *sp = ex->sp;
	struct mcp *m = sp->mcp;
	const char *name = json_string_value(json_object_get(params, "name"));
	json_t *args = json_object_get(params, "arguments");
	const struct mcp_tool *tool;
	const json_t *tok = progress_token(params);
	struct mcp_call *c;

	if (name == NULL) {
		exch_add(ex, mcp_error(id, -32602,
				       "params.name (the tool's name, a "
				       "string) is required"));
		return;
	}
	tool = mcp_tool_find(name);
	if (tool == NULL) {
		exch_add(ex, mcp_error(id, -32602,
				       "unknown tool \"%.64s\"; tools/list "
				       "gives the tools",
				       name));
		return;
	}
	if (args != NULL && !json_is_null(args) && !json_is_object(args)) {
		exch_add(ex, mcp_error(id, -32602,
				       "params.arguments must be an object"));
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->sp = sp;
	c->tool = tool;
	c->args = json_is_object(args) ? json_incref(args) : json_object();
	c->id = json_deep_copy(id);
	c->token = tok ? json_deep_copy(tok) : NULL;
	c->ex = ex;
	c->start_ms = now_ms();
	c->next_tick_ms = c->start_ms + MCP_TICK_MS;
	pthread_mutex_lock(&m->lock);
	ex->ms->refs++;
	c->ms = ex->ms;
	c->ms->calls++;
	ex->pending++;
	c->next = m->calls;
	m->calls = c;
	pthread_cond_signal(&m->cond);
	pthread_mutex_unlock(&m->lock);
	tool->call(c);
}

static void
do_cancelled(struct mcp_exch *ex, const json_t *params)
{
	const json_t *rid = json_object_get(params, "requestId");
	struct mcp *m = ex->sp->mcp;
	struct mcp_call *c;

	if (!id_ok(rid))
		return;
	pthread_mutex_lock(&m->lock);
	for (c = m->calls; c; c = c->next) {
		if (c->ms == ex->ms && !c->cancelled &&
		    json_equal(c->id, (json_t *)rid)) {
			log_debug("mcp session %.8s...: call cancelled",
				  ex->ms->id);
			cancel_locked(ex->sp, c);
			break;
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static void
handle_notification(struct mcp_exch *ex, const char *method,
		    const json_t *params)
{
	if (strcmp(method, "notifications/initialized") == 0)
		ex->ms->initialized = true;
	else if (strcmp(method, "notifications/cancelled") == 0)
		do_cancelled(ex, params);
	/* Others (roots/list_changed, progress, ...) need nothing. */
}

static void
handle_one(struct mcp_exch *ex, const json_t *msg)
{
	const json_t *idv = json_object_get(msg, "id");
	const json_t *params = json_object_get(msg, "params");
	const char *method, *jv;
	const json_t *id;
	json_t *r = NULL;

	if (!json_is_object(msg)) {
		exch_add(ex, mcp_error(NULL, -32600,
				       "invalid request: a JSON-RPC message "
				       "must be an object"));
		return;
	}
	id = id_ok(idv) ? idv : NULL;
	jv = json_string_value(json_object_get(msg, "jsonrpc"));
	method = json_string_value(json_object_get(msg, "method"));
	if (jv == NULL || strcmp(jv, "2.0") != 0) {
		r = mcp_error(id, -32600,
			      "invalid request: \"jsonrpc\" must be \"2.0\"");
		goto out;
	}
	if (method == NULL) {
		if (idv && (json_object_get(msg, "result") ||
			    json_object_get(msg, "error")))
			return; /* a response: we send no requests */
		r = mcp_error(id, -32600,
			      "invalid request: \"method\" (a string) is "
			      "missing");
		goto out;
	}
	if (idv == NULL) {
		handle_notification(ex, method, params);
		return;
	}
	if (id == NULL) {
		r = mcp_error(NULL, -32600,
			      "invalid request: \"id\" must be a string or "
			      "an integer");
		goto out;
	}
	if (params && !json_is_object(params)) {
		r = mcp_error(id, -32602, "params must be an object");
		goto out;
	}
	if (strcmp(method, "initialize") == 0) {
		if (ex->batch)
			r = mcp_error(id, -32600,
				      "initialize must not be part of a "
				      "batch");
		else
			r = response(id, do_initialize(ex->ms, params));
	} else if (strcmp(method, "ping") == 0) {
		r = response(id, json_object());
	} else if (strcmp(method, "tools/list") == 0) {
		if (json_object_get(params, "cursor") &&
		    !json_is_null(json_object_get(params, "cursor")))
			r = mcp_error(id, -32602,
				      "invalid cursor: the tool list has a "
				      "single page");
		else
			r = response(id, json_pack("{s:O}", "tools",
						   ex->sp->mcp->tools));
	} else if (strcmp(method, "tools/call") == 0) {
		do_call(ex, id, params);
	} else if (strcmp(method, "prompts/list") == 0) {
		r = response(id,
			     json_pack("{s:o}", "prompts", mcp_prompts_list()));
	} else if (strcmp(method, "prompts/get") == 0) {
		r = do_prompt_get(id, params);
	} else if (strcmp(method, "logging/setLevel") == 0) {
		r = do_set_level(ex->ms, id, params);
	} else if (strcmp(method, "server/discover") == 0) {
		r = mcp_error(id, -32601,
			      "server/discover is not supported: this "
			      "server speaks MCP %s and earlier; use "
			      "initialize",
			      MCP_VERSION_LATEST);
	} else {
		r = mcp_error(id, -32601,
			      "method not found: \"%.64s\"; this server "
			      "offers initialize, ping, tools/list, "
			      "tools/call, prompts/list, prompts/get and "
			      "logging/setLevel",
			      method);
	}
out:
	if (r)
		exch_add(ex, r);
}

void
mcp_handle(struct sandpool *sp, struct mcp_session *ms, json_t *msg,
	   const struct mcp_sink *sink, void *arg)
{
	struct mcp *m = sp->mcp;
	struct mcp_exch *ex = xcalloc(1, sizeof(*ex));
	size_t i, n;
	json_t *e;

	ex->sp = sp;
	ex->sink = sink;
	ex->arg = arg;
	ex->responses = json_array();
	ex->pending = 1; /* ours, until dispatching is over */
	ex->batch = json_is_array(msg);
	pthread_mutex_lock(&m->lock);
	ms->refs++;
	ms->last_used_ms = now_ms();
	pthread_mutex_unlock(&m->lock);
	ex->ms = ms;
	if (!ex->batch) {
		handle_one(ex, msg);
		goto out;
	}
	n = json_array_size(msg);
	/* A batch refused as a whole gets one error object, not an array
	 * (JSON-RPC 2.0 §6). */
	ex->batch = strcmp(ms->version, MCP_VERSION_BATCH) == 0 && n > 0 &&
		    n <= MCP_BATCH_MAX;
	if (strcmp(ms->version, MCP_VERSION_BATCH) != 0) {
		exch_add(ex, mcp_error(NULL, -32600,
				       "JSON-RPC batches are accepted only "
				       "with protocol version %s (this "
				       "session: %s)",
				       MCP_VERSION_BATCH,
				       ms->version[0] ? ms->version
						      : "not initialized"));
	} else if (n == 0 || n > MCP_BATCH_MAX) {
		exch_add(ex, mcp_error(NULL, -32600,
				       "a batch holds 1 to %d messages; this "
				       "one has %zu",
				       MCP_BATCH_MAX, n));
	} else {
		json_array_foreach (msg, i, e)
			handle_one(ex, e);
	}
out:
	exch_release(ex);
}

/* ------------------------------------------------------------------ */
/* progress ticker                                                     */
/* ------------------------------------------------------------------ */

static json_t *
progress_msg(struct mcp_call *c, uint64_t now)
{
	uint64_t s = (now - c->start_ms) / 1000;
	char text[96];

	snprintf(text, sizeof(text), "%s still running after %llu s",
		 c->tool ? c->tool->name : "call", (unsigned long long)s);
	return json_pack("{s:s, s:s, s:{s:O, s:I, s:s}}", "jsonrpc", "2.0",
			 "method", "notifications/progress", "params",
			 "progressToken", c->token, "progress",
			 next_progress(c, now), "message", text);
}

static void *
ticker_main(void *arg)
{
	struct sandpool *sp = arg;
	struct mcp *m = sp->mcp;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		struct mcp_call *c;
		struct timespec ts;

		for (c = m->calls; c; c = c->next) {
			if (c->cancelled)
				continue;
			if (now >= c->next_tick_ms) {
				const struct mcp_sink *k = c->ex->sink;

				k->notify(c->ex->arg,
					  c->token ? progress_msg(c, now)
						   : NULL);
				c->next_tick_ms = now + MCP_TICK_MS;
			}
			if (c->next_tick_ms < next)
				next = c->next_tick_ms;
		}
		if (next == UINT64_MAX) {
			pthread_cond_wait(&m->cond, &m->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		next -= now; /* ms from now */
		ts.tv_sec += (time_t)(next / 1000);
		ts.tv_nsec += (long)(next % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                           */
/* ------------------------------------------------------------------ */

int
mcp_init(struct sandpool *sp)
{
	struct mcp *m = xcalloc(1, sizeof(*m));
	pthread_condattr_t ca;
	int rc;

	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	pthread_condattr_destroy(&ca);
	m->tools = mcp_tools_list();
	sp->mcp = m;
	rc = pthread_create(&m->ticker, NULL, ticker_main, sp);
	if (rc != 0)
		return -rc;
	m->ticker_started = true;
	return 0;
}

void
mcp_fini(struct sandpool *sp)
{
	struct mcp *m = sp->mcp;
	struct mcp_session *ms, *nx;

	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->cond);
	while (m->workers > 0)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
	if (m->ticker_started)
		pthread_join(m->ticker, NULL);
	if (m->calls)
		log_warnx("mcp: tool calls still in flight at shutdown");
	for (ms = m->sessions; ms; ms = nx) {
		nx = ms->next;
		free(ms);
	}
	json_decref(m->tools);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
	sp->mcp = NULL;
}
