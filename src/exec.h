/* SPDX-License-Identifier: MIT */
/*
 * exec.h: the execution service, the one way code runs.  Every surface
 * (Gen1 and Gen2 REST in api_exec.c, the MCP tools in mcp_tools.c, and so
 * the CLI and the web page through them) validates its own wire format
 * into a struct exec_req, and shapes the typed result that comes back;
 * what lies between is here: the caps, taking the session, the job, the
 * output events of a streaming run, the metrics and the audit row.
 *
 * A run has three steps.  exec_prepare() checks the request against the
 * caps before anything is allocated, then takes the session and makes the
 * job: nothing has run and nothing is recorded yet, so exec_abort() leaves
 * no trace.  exec_submit() queues it.  From then on the sink's output
 * callback gets each output frame (when the request streams) and its done
 * callback the result, exactly once, on the loop thread without sp->lock;
 * the run is freed when done returns.
 */
#ifndef SANDPOOL_EXEC_H
#define SANDPOOL_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "kernel.h"
#include "sandpool.h"
#include "session.h"

struct exec_req {
	enum job_kind kind;       /* JOB_EXECUTE (Python) or JOB_SHELL */
	const char *code;         /* the code or command, NUL-terminated */
	const char *what;         /* its name for errors: "code", ... */
	const char *principal;
	const char *pool;
	const char *identifier;
	bool create;              /* make the session when it is missing */
	uint32_t timeout_s;       /* asked; 0 or past the pool's: the pool's */
	uint64_t output_max;      /* asked; 0 or past the pool's: the pool's */
	bool stream;              /* output events while the code runs */
	const struct audit_ctx *actx; /* copied; may be NULL */
	uint64_t req_id;          /* for the audit row; 0 = none */
	int ok_status;            /* the HTTP status a success answers (the
				   * audit row's); 0 = 200 */
	int client_fd;            /* peeked at while queued; -1 = none */
};

/* The common reading of a finished run, for every shaper. */
struct exec_view {
	bool failed;
	const char *code;       /* error code or NULL */
	char message[512];
	const char *stack;      /* borrowed from the reply, or "" */
	struct kernel_str out;  /* stdout, may hold NULs; borrowed, or "" */
	struct kernel_str err;  /* stderr, likewise */
	char note[600];         /* appended to stderr when not empty */
	long long exit_code;    /* shell */
	long long ms;
};

struct exec;

struct exec_sink {
	/* an output frame of a streaming run; may be NULL */
	void (*output)(void *arg, const struct kernel_events *ev);
	/* the end: job (with its outcome and reply) and v are valid during
	 * the call only; sid names the session */
	void (*done)(void *arg, const struct job *job,
		     const struct exec_view *v, const char *sid);
};

/*
 * Check r against the caps and the pool's limits, take (or make) the
 * session and make the job.  Returns the run, or NULL with err filled:
 * 400 InvalidRequest (empty code), 413 CodeTooLarge (over http.max_code),
 * and session_get's errors (404 SessionNotFound without create, 429
 * PoolFull, 503 ServerStopping).  Nothing is recorded before
 * exec_submit.
 */
struct exec *exec_prepare(struct sandpool *sp, const struct exec_req *r,
			  const struct exec_sink *sink, void *arg,
			  struct sp_err *err);

/* The run's execution id and session, valid until done returns. */
const char *exec_id(const struct exec *x);
struct session *exec_session(const struct exec *x);

/*
 * Queue the run.  Returns 0, after which the sink is called, or a
 * negative errno with err filled (429 SessionBusy, 410 SessionGone); the
 * caller then still owns x and must exec_abort() it.
 */
int exec_submit(struct exec *x, struct sp_err *err);

/* Free a run that was not (successfully) submitted. */
void exec_abort(struct exec *x);

/* Read a finished job (exposed for the unit tests and the shapers). */
void exec_view_of(const struct job *j, struct exec_view *v);
/* The reply of j, or an empty one when it has none. */
const struct kernel_reply *exec_reply(const struct job *j);
/* The wire error {code, message, stack} of v, or NULL when none. */
json_t *exec_error_json(const struct exec_view *v);
/* stderr as the client sees it: the kernel's, then v->note. */
json_t *exec_stderr_json(const struct exec_view *v);

#endif
