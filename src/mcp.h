/* SPDX-License-Identifier: MIT */
/*
 * mcp.h: the MCP server (Model Context Protocol, handshake era: 2025-11-25,
 * 2025-06-18, 2025-03-26), independent of the transport.  mcp.c parses
 * JSON-RPC 2.0, keeps MCP sessions and the tool calls in flight, and
 * answers through a sink the transport provides: mcp_http.c (Streamable
 * HTTP at /mcp) and mcp_stdio.c (`sandpool mcp`).  mcp_tools.c holds the
 * tool table and runs each tool on the same sessions as the REST API.
 *
 * Threads: mcp_handle() runs on the caller's thread (an MHD thread or the
 * stdio main thread); tool calls finish on the loop thread (job callbacks)
 * or a fetch worker; progress comes from mcp.c's ticker thread.  A sink's
 * functions may therefore be called from any of those threads.
 */
#ifndef SANDPOOL_MCP_H
#define SANDPOOL_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "exec.h"
#include "sandpool.h"
#include "session.h"
#include "util.h"

#define MCP_VERSION_LATEST "2025-11-25"
#define MCP_VERSION_BATCH "2025-03-26" /* the only one with batches */
#define MCP_BATCH_MAX 32	       /* messages in one JSON-RPC batch */
/* HTTP MCP sessions kept; past it the least recently used idle one goes. */
#define MCP_SESSIONS_MAX 1024
/* s; an HTTP MCP session unused this long is forgotten. */
#define MCP_SESSION_IDLE_S 3600
/* ms between progress notifications (and SSE keep-alives) of a call. */
#define MCP_TICK_MS 5000
#define MCP_FETCH_WORKERS 16 /* URL downloads running at once */
#define MCP_SID_MAX 48	     /* bytes of an Mcp-Session-Id, with NUL */

/* One MCP session: an HTTP Mcp-Session-Id, or the stdio process. */
struct mcp_session {
	char id[MCP_SID_MAX];	     /* 32 hex chars, or "stdio-<hex>" */
	char principal[64];	     /* who initialized it (auth_check) */
	char pool[64];		     /* pool of the /mcp route */
	char ident[MCP_SID_MAX + 8]; /* default sandpool identifier:
				      * "mcp-<id>" */
	char version[16];	     /* negotiated; "" before initialize */
	bool initialized;	     /* notifications/initialized seen */
	int log_level;		     /* logging/setLevel (index) */
	bool in_table;		     /* findable by id (HTTP) */
	bool ended;		     /* DELETE or evicted */
	uint64_t last_used_ms;	     /* monotonic */
	uint32_t calls;		     /* tool calls in flight */
	struct audit_ctx actx;	     /* clientInfo, for audit rows */
	int refs;		     /* under mcp->lock */
	struct mcp_session *next;
};

/*
 * Where the answers to one incoming message (or batch) go.  notify gets a
 * notification related to those requests (notifications/progress), or
 * NULL as a keep-alive tick every MCP_TICK_MS while a call runs; it is
 * called with mcp.c's lock held, so it must not call back into mcp.c, and
 * it steals msg.  done gets the final answer exactly once: a response
 * object, an array of them (a batch), or NULL when nothing is to be sent
 * (only notifications, or a cancelled request); it steals body.  Neither
 * is called after done.
 */
struct mcp_sink {
	void (*notify)(void *arg, json_t *msg);
	void (*done)(void *arg, json_t *body);
};

/* ---- lifecycle (server.c) ---- */

/* Set up sp->mcp and start the ticker thread.  Returns 0 or -errno. */
int mcp_init(struct sandpool *sp);
/* Wait for fetch workers, stop the ticker, free every MCP session.  Call
 * after the loop stopped (no call is in flight then).  NULL-safe. */
void mcp_fini(struct sandpool *sp);

/* ---- sessions ---- */

/*
 * A new MCP session for principal on pool, with one reference for the
 * caller.  With in_table it is registered for mcp_session_find (HTTP);
 * when MCP_SESSIONS_MAX are registered the least recently used one
 * without calls in flight is forgotten.  Never fails.
 */
struct mcp_session *mcp_session_new(struct sandpool *sp, const char *principal,
				    const char *pool, bool in_table);
/* The registered session id of principal (a reference), or NULL: unknown,
 * ended, or another principal's. */
struct mcp_session *mcp_session_find(struct sandpool *sp, const char *id,
				     const char *principal);
/* End a session (HTTP DELETE): unregister it, cancel its calls in flight
 * and destroy its default sandpool session.  The caller's reference stays
 * valid. */
void mcp_session_end(struct sandpool *sp, struct mcp_session *ms);
void mcp_session_unref(struct sandpool *sp, struct mcp_session *ms);

/* ---- messages ---- */

/* Is v a supported protocol version string? */
bool mcp_version_ok(const char *v);

/*
 * Parse one incoming message: a JSON object or (a batch) an array, at
 * most max_depth deep, no raw NUL, no duplicate keys.  On failure returns
 * -EINVAL and *errresp is the JSON-RPC error response to send (-32700,
 * id null).  On success *out is a new reference.
 */
int mcp_parse(const char *buf, size_t len, unsigned max_depth, json_t **out,
	      json_t **errresp);

/* What the transport needs to know before dispatching msg. */
struct mcp_scan {
	bool batch;
	bool has_request;   /* something will be answered */
	bool progress;	    /* some request has a progressToken */
	const char *method; /* method of a single message, or NULL */
	bool is_request;    /* single message with a valid id */
};
void mcp_scan(const json_t *msg, struct mcp_scan *out);

/* A JSON-RPC error response (new reference); id may be NULL (null). */
json_t *mcp_error(const json_t *id, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Handle msg (borrowed) in session ms and answer through sink/arg (see
 * struct mcp_sink: done is called exactly once, possibly before this
 * returns).  Never blocks on an execution.
 */
void mcp_handle(struct sandpool *sp, struct mcp_session *ms, json_t *msg,
		const struct mcp_sink *sink, void *arg);

/* ---- for the tools (mcp_tools.c) ---- */

struct mcp_tool;

/* One tools/call in flight. */
struct mcp_call {
	struct sandpool *sp;
	struct mcp_session *ms; /* a reference */
	const struct mcp_tool *tool;
	json_t *args;  /* the arguments object; owned */
	json_t *id;    /* request id; owned */
	json_t *token; /* progressToken or NULL; owned */
	struct mcp_exch *ex;
	/* the execution, for cancellation (under mcp->lock) */
	struct session *s; /* the run's session while it is queued */
	char job_id[40];
	bool cancelled;
	uint64_t start_ms, next_tick_ms;
	json_int_t progress; /* the last progress value sent */
	struct mcp_call *next; /* mcp->calls */
	/* for the tool's own use */
	char ident[264]; /* the sandpool identifier it works on */
	void *priv;
};

/*
 * Submit the run x (exec.h) for call c, so that a cancellation interrupts
 * it.  Its sink's done must call mcp_call_job_ended() and then
 * mcp_call_finish().  Returns 0, or -errno with err (429 SessionBusy,
 * 410) and x still the caller's to exec_abort().  A call cancelled before
 * this gets -ECANCELED.
 */
int mcp_call_submit(struct mcp_call *c, struct exec *x, struct sp_err *err);
/* The run of c finished: it can no longer be interrupted. */
void mcp_call_job_ended(struct mcp_call *c);
/*
 * New output of c's run (text[0..len), UTF-8): a notifications/progress
 * with the text as its message, when the call asked for progress.  Loop
 * thread.
 */
void mcp_call_output(struct mcp_call *c, const char *text, size_t len);
/*
 * The transport lost the client of the exchange whose sink argument is
 * arg (its SSE stream was dropped): cancel its calls, as
 * notifications/cancelled would.
 */
void mcp_sink_gone(struct sandpool *sp, void *arg);
/* Was c cancelled (notifications/cancelled, or its session ended)? */
bool mcp_call_cancelled(struct mcp_call *c);
/*
 * Answer c with result (a CallToolResult object, stolen) and free c.  A
 * cancelled call's result is dropped.  Any thread.
 */
void mcp_call_finish(struct mcp_call *c, json_t *result);
/*
 * Run fn(c) on a worker thread (for URL downloads, which block for up to
 * files.url_timeout seconds).  Returns 0 or -EAGAIN when MCP_FETCH_WORKERS
 * are busy.
 */
int mcp_call_defer(struct mcp_call *c, void (*fn)(struct mcp_call *c));

/* CallToolResult helpers (new references). */
json_t *mcp_tool_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
json_t *mcp_tool_text(const char *text, json_t *structured);

#endif
