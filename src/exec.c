// SPDX-License-Identifier: MIT
/*
 * exec.c: the execution service (exec.h).  It owns what every surface
 * shares about a run: the caps, checked before a session is taken; the
 * job on the session; the reading of its outcome (struct exec_view); and
 * the metrics and audit row of every execution, whichever surface asked.
 *
 * Errors in the user's code are never errors of the service (DESIGN.md
 * §2): an exception, a timeout or a dead kernel is a result whose view
 * says failed, with an error code; the shapers decide how their wire
 * says it.
 */
#define _GNU_SOURCE
#include "exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "metrics.h"

/* One run: from exec_prepare to the end of the sink's done. */
struct exec {
	struct sandpool *sp;
	struct session *s;      /* a reference */
	struct job *job;        /* owned until submitted */
	const struct exec_sink *sink;
	void *arg;
	char id[40];
	/* for the audit row, which outlives the request */
	char principal[64];
	char pool[64];
	char identifier[257];
	struct audit_ctx actx;
	uint64_t req_id;
	int ok_status;
};

/* ---- reading a finished job ---- */

/* A job without a reply reads as an empty one. */
static const struct kernel_reply no_reply = {
	.out = {"", 0},
	.err = {"", 0},
	.value = {.kind = KV_BAD, .text = {"", 0}},
	.error = {{"", 0}, {"", 0}, {"", 0}, {"", 0}},
};

const struct kernel_reply *
exec_reply(const struct job *j)
{
	return j->reply ? j->reply : &no_reply;
}

/* Read a job into a view.  kernel.c validated the reply: a field the
 * kernel got wrong reads as absent (""), and the error texts below stop
 * at a NUL, as C text does. */
void
exec_view_of(const struct job *j, struct exec_view *v)
{
	const struct kernel_reply *r = exec_reply(j);
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

json_t *
exec_error_json(const struct exec_view *v)
{
	if (v->code == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "code", v->code, "message",
			 v->message, "stack", v->stack);
}

json_t *
exec_stderr_json(const struct exec_view *v)
{
	size_t n = v->err.len, m = strlen(v->note);
	json_t *o;
	char *s;

	if (m == 0 || n == 0)
		return m ? json_string(v->note) : kernel_str_json(&v->err);
	s = xmalloc(n + m);
	memcpy(s, v->err.s, n);
	memcpy(s + n, v->note, m);
	o = json_stringn(s, n + m);
	free(s);
	return o;
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
static void
account(struct exec *x, const struct job *j, const struct exec_view *vp)
{
	struct sandpool *sp = x->sp;
	const struct exec_view v = *vp;
	const char *status, *code;
	int http = x->ok_status ? x->ok_status : 200;
	struct audit_row row = {0};

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
	row.principal = x->principal;
	row.pool = x->pool;
	row.identifier = x->identifier;
	row.sid = x->s->sid;
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
	row.ctx = &x->actx;
	row.req_id = x->req_id;
	audit_record(sp->audit, &row);
}


/* ---- the run ---- */

static const struct pool_config *
pool_cfg(struct sandpool *sp, const char *pool)
{
	const struct pool_config *p = config_pool(sp->cfg, pool);

	return p ? p : &sp->cfg->pools[0];
}

/* The caps, before anything is allocated. */
static int
exec_check(struct sandpool *sp, const struct exec_req *r, struct sp_err *err)
{
	const char *what = r->what ? r->what : "code";
	size_t len = r->code ? strlen(r->code) : 0;

	if (len == 0)
		return sp_errf(err, 400, "InvalidRequest",
			       "%s must not be empty", what);
	if (len > sp->cfg->max_code)
		return sp_errf(err, 413, "CodeTooLarge",
			       "%s is %zu bytes; at most %llu are accepted "
			       "(http.max_code)",
			       what, len,
			       (unsigned long long)sp->cfg->max_code);
	return 0;
}

static void
job_output(struct job *j, const struct kernel_events *ev, void *arg)
{
	struct exec *x = arg;

	(void)j;
	x->sink->output(x->arg, ev);
}

/* The loop thread's callback: account, hand the result over, free. */
static void
job_done(struct job *j, void *arg)
{
	struct exec *x = arg;
	struct exec_view v;

	exec_view_of(j, &v);
	account(x, j, &v);
	x->sink->done(x->arg, j, &v, x->s->sid);
	x->job = j; /* exec_abort frees it with the rest */
	exec_abort(x);
}

struct exec *
exec_prepare(struct sandpool *sp, const struct exec_req *r,
	     const struct exec_sink *sink, void *arg, struct sp_err *err)
{
	const struct pool_config *p = pool_cfg(sp, r->pool);
	uint32_t timeout = r->timeout_s;
	uint64_t outmax = r->output_max;
	struct session *s = NULL;
	struct exec *x;

	if (exec_check(sp, r, err) < 0)
		return NULL;
	if (session_get(sp, r->principal, r->pool, r->identifier, r->create,
			&s, err) < 0)
		return NULL;
	if (timeout == 0 || timeout > p->timeout)
		timeout = p->timeout;
	if (outmax == 0 || outmax > p->output_max)
		outmax = p->output_max;
	x = xcalloc(1, sizeof(*x));
	x->sp = sp;
	x->s = s;
	x->sink = sink;
	x->arg = arg;
	x->job = job_new(r->kind, r->code, timeout, outmax);
	x->job->done = job_done;
	x->job->arg = x;
	x->job->client_fd = r->client_fd;
	if (r->stream && sink->output) {
		x->job->stream = true;
		x->job->output = job_output;
	}
	snprintf(x->id, sizeof(x->id), "%s", x->job->id);
	snprintf(x->principal, sizeof(x->principal), "%s", r->principal);
	snprintf(x->pool, sizeof(x->pool), "%s", r->pool);
	snprintf(x->identifier, sizeof(x->identifier), "%s", r->identifier);
	if (r->actx)
		x->actx = *r->actx;
	x->req_id = r->req_id;
	x->ok_status = r->ok_status;
	return x;
}

const char *
exec_id(const struct exec *x)
{
	return x->id;
}

struct session *
exec_session(const struct exec *x)
{
	return x->s;
}

int
exec_submit(struct exec *x, struct sp_err *err)
{
	struct job *j = x->job;
	int rc;

	x->job = NULL; /* the session's now, unless refused */
	rc = session_submit(x->sp, x->s, j, err);
	if (rc < 0)
		x->job = j;
	return rc;
}

void
exec_abort(struct exec *x)
{
	if (x == NULL)
		return;
	job_free(x->job);
	session_unref(x->sp, x->s);
	free(x);
}
