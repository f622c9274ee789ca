// SPDX-License-Identifier: MIT
/*
 * api_exec.c: the REST shapes of an execution.  Gen1 POST code/execute
 * and Gen2 POST executions read their wire body into a request for the
 * execution service (exec.h), and shape what it gives back: the Gen1 or
 * Gen2 body, answered when the run ends (the connection is suspended
 * meanwhile), at once for an asynchronous run (202, polled later), or,
 * for a Gen2 client that accepts only text/event-stream, as a stream of
 * stdout, stderr and display events while the code runs, then one result
 * event with the usual body (docs/API.md, "Streaming").
 *
 * Errors in the user's code are never HTTP errors (DESIGN.md §2): an
 * exception, a timeout or a dead kernel is a 200 with status Failure /
 * Failed and an `error` object {code, message, stack}.  Only faults of the
 * request (4xx) or of the server (5xx) use HTTP status codes.
 */
#define _GNU_SOURCE
#include "api.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exec.h"
#include "json.h"
#include "log.h"
#include "result.h"
#include "sse.h"

/* One call in flight: the sink's argument, freed by its done. */
struct exec_call {
	struct http_req *rq; /* NULL once answered (async, stream) */
	struct sandpool *sp;
	struct session *s;   /* borrowed from the run */
	int gen;             /* 1 or 2 */
	bool async;
	unsigned ok_status;  /* 200, or 202 for 2024-10-02-preview */
	struct sse *sse;     /* a streamed answer, or NULL */
	char identifier[257];
};

json_t *
api_gen1_body(const struct job *j)
{
	const struct kernel_reply *r = exec_reply(j);
	struct exec_view v;
	json_t *props, *err, *result;

	exec_view_of(j, &v);
	result = result_gen1(&r->value, r->outputs, r->noutputs);
	props = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:o}", "$id", "2",
			  "status", v.failed ? "Failure" : "Success", "stdout",
			  kernel_str_json(&v.out), "stderr",
			  exec_stderr_json(&v), "result", result,
			  "executionTimeInMilliseconds", (json_int_t)v.ms,
			  "outputs", result_outputs(r->outputs, r->noutputs));
	err = exec_error_json(&v);
	if (err)
		json_object_set_new(props, "error", err);
	return json_pack("{s:s, s:o}", "$id", "1", "properties", props);
}

json_t *
api_gen2_body(const struct job *j, const char *identifier, bool async)
{
	const struct kernel_reply *r = exec_reply(j);
	struct exec_view v;
	json_t *body, *res, *err;
	char status[32];

	exec_view_of(j, &v);
	res = json_pack("{s:o, s:o, s:I}", "stdout", kernel_str_json(&v.out),
			"stderr", exec_stderr_json(&v),
			"executionTimeInMilliseconds", (json_int_t)v.ms);
	if (j->kind == JOB_SHELL) {
		/* LangChain's Bash tool reads int(status): the exit code.
		 * A timeout reads 124 as with timeout(1); a killed kernel
		 * 137 (128 + SIGKILL). */
		long long code = v.exit_code;

		if (j->outcome == JOB_TIMEOUT ||
		    j->outcome == JOB_TIMEOUT_KILLED)
			code = 124;
		else if (j->outcome != JOB_OK)
			code = 137;
		snprintf(status, sizeof(status), "%lld", code);
		body = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "id", j->id,
				 "identifier", identifier, "executionType",
				 async ? "Asynchronous" : "Synchronous",
				 "status", status, "exitCode",
				 (json_int_t)code, "result", res);
	} else {
		json_object_set_new(res, "executionResult",
				    result_gen2(&r->value, r->outputs,
						r->noutputs));
		json_object_set_new(res, "outputs",
				    result_outputs(r->outputs, r->noutputs));
		body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", j->id,
				 "identifier", identifier, "executionType",
				 async ? "Asynchronous" : "Synchronous",
				 "status", v.failed ? "Failed" : "Succeeded",
				 "result", res);
	}
	err = exec_error_json(&v);
	if (err)
		json_object_set_new(body, "error", err);
	return body;
}


/* The answer to a run that never reached the kernel (the sandbox could
 * not start, the session went, the server is stopping). */
static void
unrun_error(const struct job *j, const char *sid, struct sp_err *e)
{
	if (j->outcome == JOB_SYSTEM) {
		log_warnx("session=%s execution %s failed: %s", sid, j->id,
			  j->detail);
		sp_errf(e, 503, "SandboxUnavailable", "%s; retry the request",
			j->detail);
	} else if (j->outcome == JOB_SHUTDOWN) {
		sp_errf(e, 503, "ServerStopping",
			"%s; retry the request elsewhere", j->detail);
	} else {
		sp_errf(e, 410, "SessionGone",
			"%s; a new request with this identifier starts a new "
			"session",
			j->detail);
	}
}

static bool
unrun(const struct job *j)
{
	return j->outcome == JOB_SYSTEM || j->outcome == JOB_CANCELLED ||
	       j->outcome == JOB_SHUTDOWN;
}

/* The execution service's done: shape the reply and resume the request
 * (or end the stream). */
static void
exec_done(void *arg, const struct job *j, const struct exec_view *v,
	  const char *sid)
{
	struct exec_call *c = arg;
	json_t *body;

	(void)v;
	if (unrun(j)) {
		struct sp_err e;

		unrun_error(j, sid, &e);
		if (c->rq)
			http_complete_error(c->rq, &e);
		body = http_error_body(&e);
		if (c->gen == 2)
			session_history_put(c->sp, c->s, j->id, body);
		if (c->sse) {
			json_object_set_new(body, "status",
					    json_integer(e.http));
			sse_json(c->sse, "error", json_incref(body));
		}
		json_decref(body);
		goto out;
	}
	if (c->gen == 1) {
		body = api_gen1_body(j);
	} else {
		body = api_gen2_body(j, c->identifier, c->async);
		session_history_put(c->sp, c->s, j->id, body);
	}
	if (c->rq) {
		const char *hdr[] = {"operation-id", j->id, NULL};

		http_complete_json(c->rq, c->ok_status, body, hdr);
	} else if (c->sse) {
		sse_json(c->sse, "result", body);
	} else {
		json_decref(body);
	}
out:
	if (c->sse) {
		sse_end(c->sse);
		sse_unref(c->sse);
	}
	free(c);
}

/* An output frame of a streamed run: one event per item; text the client
 * has not taken yet is merged (sse.c). */
static void
exec_output(void *arg, const struct kernel_events *ev)
{
	struct exec_call *c = arg;
	size_t i;

	for (i = 0; i < ev->n; i++) {
		const struct kernel_event *e = &ev->ev[i];

		switch (e->type) {
		case KEV_STDOUT:
		case KEV_STDERR:
			sse_text(c->sse,
				 e->type == KEV_STDOUT ? "stdout" : "stderr",
				 e->data.s, e->data.len);
			break;
		case KEV_PNG:
			sse_json(c->sse, "display",
				 json_pack("{s:s, s:s, s:o}", "type", "image",
					   "format", "png", "base64_data",
					   kernel_str_json(&e->data)));
			break;
		case KEV_HTML:
			sse_json(c->sse, "display",
				 json_pack("{s:s, s:o}", "type", "html",
					   "data", kernel_str_json(&e->data)));
			break;
		}
	}
}

static const struct exec_sink rest_sink = {exec_output, exec_done};

/* Does the client accept only an event stream (Accept names
 * text/event-stream and not JSON)? */
static bool
wants_stream(struct http_req *rq)
{
	const char *a = http_header(rq, "Accept");

	return a && strcasestr(a, "text/event-stream") != NULL &&
	       strcasestr(a, "application/json") == NULL;
}

/* Run r for the request: suspend until the end, answer 202 at once
 * (async), or stream. */
static void
submit(struct api_ctx *c, struct exec_req *r, int gen, bool async,
       unsigned ok_status)
{
	struct exec_call *call = xcalloc(1, sizeof(*call));
	struct MHD_Response *resp = NULL;
	struct exec *x;
	struct sp_err err;
	char id[40], loc[512];
	json_t *running = NULL;
	int rc;

	r->principal = c->principal;
	r->pool = c->pool;
	r->identifier = c->identifier;
	r->create = true;
	r->actx = &c->actx;
	r->req_id = c->rq->id;
	r->ok_status = async ? 202 : (int)ok_status;
	r->stream = gen == 2 && !async && wants_stream(c->rq);
	/* While it waits in the queue, the loop looks whether the client
	 * gave up (session.c, reap_abandoned). */
	r->client_fd = async ? -1 : http_client_fd(c->rq);
	x = exec_prepare(c->sp, r, &rest_sink, call, &err);
	if (x == NULL) {
		free(call);
		http_reply_error(c->rq, &err);
		return;
	}
	call->sp = c->sp;
	call->s = exec_session(x);
	call->gen = gen;
	call->async = async;
	call->ok_status = ok_status;
	snprintf(call->identifier, sizeof(call->identifier), "%s",
		 c->identifier);
	snprintf(c->rq->sid, sizeof(c->rq->sid), "%s", call->s->sid);
	snprintf(id, sizeof(id), "%s", exec_id(x));
	if (async) {
		running = json_pack("{s:s, s:s, s:s, s:s}", "id", id,
				    "identifier", c->identifier,
				    "executionType", "Asynchronous", "status",
				    "Running");
		session_history_put(c->sp, call->s, id, running);
	} else if (r->stream) {
		call->sse = sse_new();
		resp = sse_response(call->sse, c->rq->conn);
	} else {
		call->rq = c->rq;
		http_suspend(c->rq);
	}
	rc = exec_submit(x, &err);
	if (rc < 0) {
		if (async)
			session_history_del(c->sp, call->s, id);
		json_decref(running);
		if (call->rq)
			http_complete_error(c->rq, &err);
		else
			http_reply_error(c->rq, &err);
		if (resp)
			MHD_destroy_response(resp);
		sse_unref(call->sse);
		exec_abort(x);
		free(call);
		return;
	}
	if (async) {
		const char *hdr[] = {"operation-id", id, "Operation-Location",
				     loc, NULL};

		snprintf(loc, sizeof(loc), "executions/%s", id);
		http_reply_json(c->rq, 202, running, hdr);
	} else if (resp) {
		const char *hdr[] = {"operation-id", id, NULL};

		http_reply_response(c->rq, 200, resp, hdr);
	}
}

void
api_gen1_execute(struct api_ctx *c)
{
	static const char *const input_types[] = {"inline"};
	static const char *const exec_types[] = {"synchronous"};
	json_t *body = NULL, *props = NULL;
	const char *code = NULL;
	int64_t timeout = 0;
	struct sp_err err;
	int rc;

	rc = json_parse_object(c->rq->body.data, c->rq->body.len,
			       c->sp->cfg->max_json_depth, &body, &err);
	if (rc == 0)
		rc = json_get_obj(body, "properties", "properties", 1, &props,
				  &err);
	if (rc == 0)
		rc = json_get_str(props, "code", "properties.code", 1, &code,
				  &err);
	if (rc == 0)
		rc = json_get_enum(props, "codeInputType",
				   "properties.codeInputType", 0, input_types,
				   1, 0, &err) < 0
			     ? -EINVAL
			     : 0;
	if (rc == 0)
		rc = json_get_enum(props, "executionType",
				   "properties.executionType", 0, exec_types,
				   1, 0, &err) < 0
			     ? -EINVAL
			     : 0;
	if (rc == 0)
		rc = json_get_int(props, "timeoutInSeconds",
				  "properties.timeoutInSeconds", 0, 1, 86400,
				  &timeout, &err);
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		goto out;
	}
	{
		struct exec_req r = {
			.kind = JOB_EXECUTE,
			.code = code,
			.what = "properties.code",
			.timeout_s = (uint32_t)timeout,
		};

		submit(c, &r, 1, false, 200);
	}
out:
	json_decref(body);
}

void
api_gen2_execute(struct api_ctx *c)
{
	static const char *const input_types[] = {"Inline", "InlineBase64",
						  "InlineText"};
	static const char *const exec_types[] = {"Synchronous",
						 "Asynchronous"};
	json_t *body = NULL;
	const char *code = NULL, *shell = NULL;
	int64_t timeout = 0, outmax = 0;
	int itype = 0, etype = 0, rc;
	struct buf decoded;
	struct sp_err err;
	unsigned ok;

	buf_init(&decoded, c->sp->cfg->max_code);
	rc = json_parse_object(c->rq->body.data, c->rq->body.len,
			       c->sp->cfg->max_json_depth, &body, &err);
	if (rc == 0)
		rc = json_get_str(body, "code", "code", 0, &code, &err);
	if (rc == 0)
		rc = json_get_str(body, "shellCommand", "shellCommand", 0,
				  &shell, &err);
	if (rc == 0 && (code == NULL) == (shell == NULL))
		rc = sp_errf(&err, 400, "InvalidRequest",
			     "send exactly one of \"code\" (Python) or "
			     "\"shellCommand\" (bash)");
	if (rc == 0) {
		itype = json_get_enum(body, "codeInputType", "codeInputType", 0,
				      input_types, 3, 0, &err);
		rc = itype < 0 ? -EINVAL : 0;
	}
	if (rc == 0) {
		etype = json_get_enum(body, "executionType", "executionType", 0,
				      exec_types, 2, 0, &err);
		rc = etype < 0 ? -EINVAL : 0;
	}
	if (rc == 0)
		rc = json_get_int(body, "timeoutInSeconds", "timeoutInSeconds",
				  0, 1, 86400, &timeout, &err);
	if (rc == 0)
		rc = json_get_int(body, "outputStreamsMaxLength",
				  "outputStreamsMaxLength", 0, 1,
				  (int64_t)64 << 20, &outmax, &err);
	if (rc == 0 && itype == 1 && code) {
		if (base64_decode(code, strlen(code), &decoded) < 0 ||
		    memchr(decoded.data, '\0', decoded.len) != NULL)
			rc = sp_errf(&err, 400, "InvalidRequest",
				     "code is not valid base64 of UTF-8 text "
				     "(codeInputType InlineBase64)");
		else
			code = decoded.data;
	}
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		goto out;
	}
	/* 2024-10-02-preview answered 202 even for synchronous runs; later
	 * versions answer 200 (aca-api.md §5). */
	ok = c->api_version &&
			     strcmp(c->api_version, "2024-10-02-preview") == 0
		     ? 202
		     : 200;
	{
		struct exec_req r = {
			.kind = code ? JOB_EXECUTE : JOB_SHELL,
			.code = code ? code : shell,
			.what = code ? "code" : "shellCommand",
			.timeout_s = (uint32_t)timeout,
			.output_max = (uint64_t)outmax,
		};

		submit(c, &r, 2, etype == 1, ok);
	}
out:
	buf_fini(&decoded);
	json_decref(body);
}

void
api_gen2_get_execution(struct api_ctx *c)
{
	struct session *s = NULL;
	struct sp_err err;
	json_t *body = NULL;
	const char *id = c->rq->route.arg;

	if (session_get(c->sp, c->principal, c->pool, c->identifier, false,
			&s, &err) == 0)
		body = session_history_get(c->sp, s, id);
	session_unref(c->sp, s);
	if (body == NULL) {
		sp_errf(&err, 404, "ExecutionNotFound",
			"no execution available for operation id %.64s; the "
			"last %d executions of a session are kept",
			id, SESSION_HISTORY);
		http_reply_error(c->rq, &err);
		return;
	}
	http_reply_json(c->rq, 200, body, NULL);
}
