// SPDX-License-Identifier: MIT
/*
 * api_exec.c: the execution endpoints.  Gen1 POST code/execute and Gen2
 * POST executions parse and validate the body, take (or create) the
 * session, suspend the connection and queue a job; the loop thread later
 * calls exec_done(), which shapes the reply and resumes the connection.
 *
 * Errors in the user's code are never HTTP errors (DESIGN.md §2): an
 * exception, a timeout or a dead kernel is a 200 with status Failure /
 * Failed and an `error` object {code, message, stack}.  Only faults of the
 * request (4xx) or of the server (5xx) use HTTP status codes.
 */
#define _GNU_SOURCE
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "result.h"

/* One call in flight: owned by the job's callback. */
struct exec_call {
	struct http_req *rq; /* NULL once answered (async) */
	struct sandpool *sp;
	struct session *s;   /* a reference */
	int gen;             /* 1 or 2 */
	bool async;
	unsigned ok_status;  /* 200, or 202 for 2024-10-02-preview */
	char identifier[257];
	/* for the audit row, which outlives the request */
	char principal[64];
	char pool[64];
	struct audit_ctx actx;
	uint64_t req_id;
};

/* The common reading of a finished job. */
struct view {
	bool failed;
	const char *code;     /* error code or NULL */
	char message[512];
	const char *stack;    /* borrowed from the reply, or "" */
	struct kernel_str out; /* stdout, may hold NULs; borrowed, or "" */
	struct kernel_str err; /* stderr, likewise */
	char note[600];       /* appended to stderr when not empty */
	long long exit_code;  /* shell */
	long long ms;
};

/* A job without a reply reads as an empty one. */
static const struct kernel_reply no_reply = {
	.out = {"", 0},
	.err = {"", 0},
	.value = {.kind = KV_BAD, .text = {"", 0}},
	.error = {{"", 0}, {"", 0}, {"", 0}, {"", 0}},
};

static const struct kernel_reply *
reply_of(const struct job *j)
{
	return j->reply ? j->reply : &no_reply;
}

/* Read a job into a view.  kernel.c validated the reply: a field the
 * kernel got wrong reads as absent (""), and the error texts below stop
 * at a NUL, as C text does. */
static void
job_view(const struct job *j, struct view *v)
{
	const struct kernel_reply *r = reply_of(j);
	const struct kernel_error *e = &r->error;

	memset(v, 0, sizeof(*v));
	v->out = r->out;
	v->err = r->err;
	v->stack = "";
	v->exit_code = r->has_exit_code ? (long long)r->exit_code : 0;
	v->ms = (long long)(j->finished_ms - (j->started_ms ? j->started_ms
							    : j->submitted_ms));
	switch (j->outcome) {
	case JOB_OK:
		if (r->has_error && kernel_str_eq(&e->code, "KernelExit")) {
			v->failed = true;
			v->code = "KernelDied";
			snprintf(v->message, sizeof(v->message),
				 "%s; the kernel restarted with fresh state "
				 "and the files in /mnt/data were kept",
				 e->message.s);
			v->stack = e->stack.s;
		} else if (r->has_error) {
			v->failed = true;
			v->code = kernel_str_eq(&e->code, "ImportNotAllowed")
					  ? "ImportNotAllowed"
					  : "PythonError";
			snprintf(v->message, sizeof(v->message), "%s: %s",
				 e->name.s, e->message.s);
			v->stack = e->stack.s;
		} else if (r->out_truncated || r->err_truncated) {
			v->code = "OutputTruncated";
			snprintf(v->message, sizeof(v->message),
				 "the output was truncated at %llu bytes per "
				 "stream",
				 (unsigned long long)j->output_max);
		}
		break;
	case JOB_TIMEOUT:
		v->failed = true;
		v->code = "Timeout";
		snprintf(v->message, sizeof(v->message),
			 "the execution exceeded its timeout of %u s and was "
			 "interrupted with KeyboardInterrupt; the session's "
			 "state was kept",
			 j->timeout_s);
		v->stack = e->stack.s;
		break;
	case JOB_TIMEOUT_KILLED:
		v->failed = true;
		v->code = "Timeout";
		snprintf(v->message, sizeof(v->message),
			 "the execution exceeded its timeout of %u s; %s; "
			 "the files in /mnt/data were kept",
			 j->timeout_s, j->detail);
		break;
	case JOB_OOM:
		v->failed = true;
		v->code = "OutOfMemory";
		snprintf(v->message, sizeof(v->message),
			 "the code used more than the memory limit of %llu "
			 "MiB and was killed; the kernel restarted with fresh "
			 "state and the files in /mnt/data were kept",
			 (unsigned long long)(j->mem_limit >> 20));
		break;
	case JOB_KERNEL_DIED:
		v->failed = true;
		v->code = "KernelDied";
		snprintf(v->message, sizeof(v->message),
			 "%s; the kernel restarted with fresh state and the "
			 "files in /mnt/data were kept",
			 j->detail);
		break;
	case JOB_DELETED:
		v->failed = true;
		v->code = "KernelDied";
		snprintf(v->message, sizeof(v->message),
			 "%s; its sandbox and files are gone", j->detail);
		break;
	case JOB_CANCELLED:
	case JOB_SHUTDOWN:
	case JOB_SYSTEM:
		v->failed = true;
		v->code = "SandboxUnavailable";
		snprintf(v->message, sizeof(v->message), "%s", j->detail);
		break;
	}
	/* Without a reply the caller would see nothing: say it in stderr
	 * too, which is what LLM tools show the model. */
	if (v->failed && j->outcome != JOB_OK && j->outcome != JOB_TIMEOUT)
		snprintf(v->note, sizeof(v->note), "%s%s: %s\n",
			 v->err.len ? "\n" : "", v->code,
			 v->message);
}

/* The kernel's stream text ("" when it sent none) as a new string. */
static json_t *
stream_text(const struct kernel_str *s)
{
	return kernel_str_json(s);
}

static json_t *
error_obj(const struct view *v)
{
	if (v->code == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "code", v->code, "message",
			 v->message, "stack", v->stack);
}

static json_t *
stderr_text(const struct view *v)
{
	size_t n = v->err.len, m = strlen(v->note);
	json_t *o;
	char *s;

	if (m == 0 || n == 0)
		return m ? json_string(v->note) : stream_text(&v->err);
	s = xmalloc(n + m);
	memcpy(s, v->err.s, n);
	memcpy(s + n, v->note, m);
	o = json_stringn(s, n + m);
	free(s);
	return o;
}

json_t *
api_gen1_body(const struct job *j)
{
	const struct kernel_reply *r = reply_of(j);
	struct view v;
	json_t *props, *err, *result;

	job_view(j, &v);
	result = result_gen1(&r->value, r->outputs, r->noutputs);
	props = json_pack("{s:s, s:s, s:o, s:o, s:o, s:I, s:o}", "$id", "2",
			  "status", v.failed ? "Failure" : "Success", "stdout",
			  stream_text(&v.out), "stderr", stderr_text(&v),
			  "result", result,
			  "executionTimeInMilliseconds", (json_int_t)v.ms,
			  "outputs", result_outputs(r->outputs, r->noutputs));
	err = error_obj(&v);
	if (err)
		json_object_set_new(props, "error", err);
	return json_pack("{s:s, s:o}", "$id", "1", "properties", props);
}

json_t *
api_gen2_body(const struct job *j, const char *identifier, bool async)
{
	const struct kernel_reply *r = reply_of(j);
	struct view v;
	json_t *body, *res, *err;
	char status[32];

	job_view(j, &v);
	res = json_pack("{s:o, s:o, s:I}", "stdout", stream_text(&v.out),
			"stderr", stderr_text(&v),
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
	err = error_obj(&v);
	if (err)
		json_object_set_new(body, "error", err);
	return body;
}

/* Bytes the execution sent back: both streams and every rich output
 * (the valid ones, which are all the client gets). */
static int64_t
output_bytes(const struct kernel_reply *r)
{
	size_t i, n = r->out.len + r->err.len;

	for (i = 0; i < r->noutputs; i++)
		n += r->outputs[i].data.len;
	return (int64_t)n;
}

/*
 * The audit row and the metrics of a finished execution.  Faults of the
 * user's code are "Failed", ours (the sandbox could not start, the server
 * is stopping) "Error" (STYLE.md §3.3); a shell command that exits
 * non-zero is "Failed" with error code NonZeroExit.
 */
void
api_exec_account(struct sandpool *sp, const struct job *j,
		 const struct api_who *who)
{
	struct view v;
	const char *status, *code;
	int http = who->http_status ? who->http_status : 200;
	struct audit_row row = {0};

	job_view(j, &v);
	code = v.code;
	status = v.failed ? AUDIT_FAILED : AUDIT_SUCCEEDED;
	switch (j->outcome) {
	case JOB_SYSTEM:
	case JOB_SHUTDOWN:
		status = AUDIT_ERROR;
		code = j->outcome == JOB_SYSTEM ? "SandboxUnavailable"
						: "ServerStopping";
		http = 503;
		break;
	case JOB_CANCELLED:
		code = "SessionGone";
		http = 410;
		break;
	case JOB_TIMEOUT:
	case JOB_TIMEOUT_KILLED:
		metrics_timeout(sp->metrics,
				j->outcome == JOB_TIMEOUT_KILLED);
		break;
	case JOB_OOM:
		metrics_oom(sp->metrics);
		break;
	case JOB_OK:
		if (j->kind == JOB_SHELL && v.exit_code != 0 && !v.failed) {
			status = AUDIT_FAILED;
			code = "NonZeroExit";
		}
		break;
	case JOB_KERNEL_DIED:
	case JOB_DELETED:
		break;
	}
	metrics_exec(sp->metrics, status, code, (double)v.ms / 1000.0);
	if (sp->audit == NULL)
		return;
	row.principal = who->principal;
	row.pool = who->pool;
	row.identifier = who->identifier;
	row.sid = who->sid;
	row.exec_id = j->id;
	row.op = j->kind == JOB_SHELL ? AUDIT_OP_SHELL : AUDIT_OP_EXECUTE;
	row.status = status;
	row.error_code = code;
	row.http_status = http;
	row.duration_ms = v.ms;
	row.cpu_ms = j->cpu_ms;
	row.peak_mem = j->peak_mem;
	row.code = j->code;
	row.code_len = j->code ? strlen(j->code) : 0;
	row.bytes_in = (int64_t)row.code_len;
	row.bytes_out = j->reply ? output_bytes(j->reply) : 0;
	row.ctx = who->actx;
	row.req_id = who->req_id;
	audit_record(sp->audit, &row);
}

/* The loop thread's callback: shape the reply and resume the request. */
static void
exec_done(struct job *j, void *arg)
{
	struct exec_call *c = arg;
	struct api_who who = {
		.principal = c->principal,
		.pool = c->pool,
		.identifier = c->identifier,
		.sid = c->s->sid,
		.actx = &c->actx,
		.req_id = c->req_id,
		.http_status = c->async ? 202 : (int)c->ok_status,
	};
	json_t *body;

	api_exec_account(c->sp, j, &who);

	if (j->outcome == JOB_SYSTEM || j->outcome == JOB_CANCELLED ||
	    j->outcome == JOB_SHUTDOWN) {
		struct sp_err e;

		if (j->outcome == JOB_SYSTEM) {
			log_warnx("session=%s execution %s failed: %s",
				  c->s->sid, j->id, j->detail);
			sp_errf(&e, 503, "SandboxUnavailable",
				"%s; retry the request", j->detail);
		} else if (j->outcome == JOB_SHUTDOWN) {
			sp_errf(&e, 503, "ServerStopping",
				"%s; retry the request elsewhere", j->detail);
		} else {
			sp_errf(&e, 410, "SessionGone",
				"%s; a new request with this identifier "
				"starts a new session",
				j->detail);
		}
		if (c->rq)
			http_complete_error(c->rq, &e);
		if (c->gen == 2) {
			body = http_error_body(&e);
			session_history_put(c->sp, c->s, j->id, body);
			json_decref(body);
		}
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
	} else {
		json_decref(body);
	}
out:
	session_unref(c->sp, c->s);
	job_free(j);
	free(c);
}

/* Take the session, queue the job and suspend (or, async, answer 202). */
static void
submit(struct api_ctx *c, struct job *j, int gen, bool async,
       unsigned ok_status)
{
	struct exec_call *call = NULL;
	struct session *s = NULL;
	struct sp_err err;
	char loc[512];
	int rc;

	rc = session_get(c->sp, c->principal, c->pool, c->identifier, true,
			 &s, &err);
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		job_free(j);
		return;
	}
	snprintf(c->rq->sid, sizeof(c->rq->sid), "%s", s->sid);
	call = xcalloc(1, sizeof(*call));
	call->sp = c->sp;
	call->s = s;
	call->gen = gen;
	call->async = async;
	call->ok_status = ok_status;
	snprintf(call->identifier, sizeof(call->identifier), "%s",
		 c->identifier);
	snprintf(call->principal, sizeof(call->principal), "%s",
		 c->principal);
	snprintf(call->pool, sizeof(call->pool), "%s", c->pool);
	call->actx = c->actx;
	call->req_id = c->rq->id;
	j->done = exec_done;
	j->arg = call;
	if (async) {
		json_t *running = json_pack(
			"{s:s, s:s, s:s, s:s}", "id", j->id, "identifier",
			c->identifier, "executionType", "Asynchronous",
			"status", "Running");
		char id[40];

		snprintf(id, sizeof(id), "%s", j->id);
		session_history_put(c->sp, s, id, running);
		rc = session_submit(c->sp, s, j, &err);
		if (rc < 0) {
			session_history_del(c->sp, s, id);
			json_decref(running);
			goto fail;
		}
		snprintf(loc, sizeof(loc), "executions/%s", id);
		{
			const char *hdr[] = {"operation-id", id,
					     "Operation-Location", loc, NULL};

			http_reply_json(c->rq, 202, running, hdr);
		}
		return;
	}
	call->rq = c->rq;
	/* While it waits in the queue, the loop looks whether the client
	 * gave up (session.c, reap_abandoned). */
	j->client_fd = http_client_fd(c->rq);
	http_suspend(c->rq);
	rc = session_submit(c->sp, s, j, &err);
	if (rc < 0) {
		http_complete_error(c->rq, &err);
		session_unref(c->sp, s);
		job_free(j);
		free(call);
	}
	return;
fail:
	http_reply_error(c->rq, &err);
	session_unref(c->sp, s);
	job_free(j);
	free(call);
}

/* Pool of the request (for limits). */
static const struct pool_config *
pool_cfg(struct api_ctx *c)
{
	const struct pool_config *p = config_pool(c->sp->cfg, c->pool);

	return p ? p : &c->sp->cfg->pools[0];
}

static int
check_code_size(struct api_ctx *c, const char *what, size_t len,
		struct sp_err *err)
{
	if (len == 0)
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must not be empty", what);
	if (len > c->sp->cfg->max_code)
		return sp_errf(err, 413, "CodeTooLarge",
			       "%s is %zu bytes; at most %llu are accepted "
			       "(http.max_code)",
			       what, len,
			       (unsigned long long)c->sp->cfg->max_code);
	return 0;
}

static uint32_t
clamp_timeout(const struct pool_config *p, int64_t asked)
{
	if (asked <= 0 || (uint64_t)asked > p->timeout)
		return p->timeout;
	return (uint32_t)asked;
}

void
api_gen1_execute(struct api_ctx *c)
{
	static const char *const input_types[] = {"inline"};
	static const char *const exec_types[] = {"synchronous"};
	const struct pool_config *p = pool_cfg(c);
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
	if (rc == 0)
		rc = check_code_size(c, "properties.code", strlen(code), &err);
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		goto out;
	}
	submit(c,
	       job_new(JOB_EXECUTE, code, clamp_timeout(p, timeout),
		       p->output_max),
	       1, false, 200);
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
	const struct pool_config *p = pool_cfg(c);
	json_t *body = NULL;
	const char *code = NULL, *shell = NULL;
	int64_t timeout = 0, outmax = 0;
	int itype = 0, etype = 0, rc;
	struct buf decoded;
	struct sp_err err;
	struct job *j;
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
	if (rc == 0)
		rc = check_code_size(c, code ? "code" : "shellCommand",
				     strlen(code ? code : shell), &err);
	if (rc < 0) {
		http_reply_error(c->rq, &err);
		goto out;
	}
	if (outmax <= 0 || (uint64_t)outmax > p->output_max)
		outmax = (int64_t)p->output_max;
	j = job_new(code ? JOB_EXECUTE : JOB_SHELL, code ? code : shell,
		    clamp_timeout(p, timeout), (uint64_t)outmax);
	/* 2024-10-02-preview answered 202 even for synchronous runs; later
	 * versions answer 200 (aca-api.md §5). */
	ok = c->api_version &&
			     strcmp(c->api_version, "2024-10-02-preview") == 0
		     ? 202
		     : 200;
	submit(c, j, 2, etype == 1, ok);
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
