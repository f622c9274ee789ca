/* SPDX-License-Identifier: MIT */
/*
 * audit.h: the audit log (STYLE.md §3.7: audit is data, not log lines).
 * Every execution and file operation becomes one row in the store's audit
 * table; session lifetimes go to its sessions table, which `sandpool
 * usage` sums.  Callers on the request path (HTTP threads, the loop
 * thread) only copy the row into a bounded in-memory queue; one writer
 * thread hashes the code, batches rows into transactions and prunes rows
 * older than audit.retention_days.  When the queue is full a row is
 * dropped and counted (sandpool_audit_dropped_total), never waited for.
 *
 * For other modules (files API, MCP): fill a struct audit_row on the
 * stack and call audit_record(sp->audit, &row); every pointer is copied
 * before it returns.  Put the client's context (x-sandpool-agent/thread/
 * run headers, the MCP client's name and version) in a struct audit_ctx;
 * api.c fills one per request in struct api_ctx.
 */
#ifndef SANDPOOL_AUDIT_H
#define SANDPOOL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct audit;

#define AUDIT_CTX_MAX 128            /* bytes kept of each context field */
#define AUDIT_QUEUE_ROWS 65536       /* rows waiting for the writer */
#define AUDIT_QUEUE_BYTES (64 * MiB) /* bytes waiting (code included) */
#define AUDIT_BATCH 2048             /* rows per transaction at most */

/* Operations, the audit table's "op" column. */
#define AUDIT_OP_EXECUTE "execute" /* Python code */
#define AUDIT_OP_SHELL "shell"     /* shellCommand */
#define AUDIT_OP_FILE_UPLOAD "file.upload"
#define AUDIT_OP_FILE_DOWNLOAD "file.download"
#define AUDIT_OP_FILE_LIST "file.list"
#define AUDIT_OP_FILE_GET "file.get" /* metadata of one file */
#define AUDIT_OP_FILE_DELETE "file.delete"
#define AUDIT_OP_SESSION_DELETE "session.delete"

/* Statuses: the two fault classes stay apart (STYLE.md §3.3). */
#define AUDIT_SUCCEEDED "Succeeded" /* it worked */
#define AUDIT_FAILED "Failed"       /* the user's code or request failed */
#define AUDIT_ERROR "Error"         /* our fault: a 5xx */

/* What the client said about itself; empty strings when absent. */
struct audit_ctx {
	char agent[AUDIT_CTX_MAX];  /* x-sandpool-agent */
	char thread[AUDIT_CTX_MAX]; /* x-sandpool-thread */
	char run[AUDIT_CTX_MAX];    /* x-sandpool-run */
	char client[AUDIT_CTX_MAX]; /* MCP clientInfo "name/version" */
};

/* One operation.  NULL strings and -1 numbers are stored as NULL. */
struct audit_row {
	uint64_t ts_ms;         /* ms since the epoch; 0 = now */
	const char *principal;  /* required */
	const char *pool;       /* required */
	const char *identifier; /* the client's session identifier */
	const char *sid;        /* our session id */
	const char *exec_id;
	const char *op;           /* AUDIT_OP_* */
	const char *status;       /* AUDIT_SUCCEEDED, _FAILED, _ERROR */
	const char *error_code;   /* e.g. "Timeout", "FileNotFound" */
	int http_status;          /* 0 = none */
	int64_t duration_ms;      /* -1 = unknown */
	int64_t cpu_ms;           /* -1 = unknown */
	int64_t peak_mem;         /* bytes; -1 = unknown */
	const char *code;         /* code or command: hashed, kept only */
	size_t code_len;          /*   with audit.store_code */
	int64_t bytes_in;         /* -1 = unknown */
	int64_t bytes_out;        /* -1 = unknown */
	const char *const *files; /* file names, nfiles of them */
	size_t nfiles;
	const struct audit_ctx *ctx; /* may be NULL */
	uint64_t req_id;             /* req= of the log lines; 0 = none */
};

/*
 * Open the store under state_dir with a connection of its own, close the
 * sessions a previous run left open, and start the writer thread, which
 * prunes old rows at once and then hourly.  Returns 0 and *out, or -errno
 * with err set.
 */
int audit_start(const char *state_dir, bool store_code, uint32_t retention_days,
		struct audit **out, struct sp_err *err);

/* Write what is queued, stop and join the writer, close its store.
 * NULL-safe. */
void audit_stop(struct audit *a);

/*
 * Queue one row.  Copies everything row points to, never blocks on the
 * database (only on the queue's mutex for a moment), and may be called
 * from any thread, with or without sp->lock.  a may be NULL (no audit).
 */
void audit_record(struct audit *a, const struct audit_row *row);

/* A session was given to (principal, pool, identifier) / went away.
 * Same rules as audit_record. */
void audit_session_start(struct audit *a, const char *sid,
			 const char *principal, const char *pool,
			 const char *identifier, uint64_t wall_ms);
void audit_session_end(struct audit *a, const char *sid, uint64_t wall_ms,
		       const char *reason);

/* Wait until everything queued so far is committed (tests, CLI-facing
 * consistency after a request).  Returns 0, or -ETIMEDOUT. */
int audit_flush(struct audit *a, uint32_t timeout_ms);

/* Counters for /metrics. */
uint64_t audit_dropped(struct audit *a);
uint64_t audit_written(struct audit *a);

/* Fill ctx from the three headers (NULL when absent), keeping at most
 * AUDIT_CTX_MAX - 1 bytes of each and replacing control bytes. */
void audit_ctx_set(struct audit_ctx *ctx, const char *agent, const char *thread,
		   const char *run);
/* Set ctx->client to "name/version" (an MCP clientInfo; either may be
 * NULL), with the same cap and cleaning. */
void audit_ctx_client(struct audit_ctx *ctx, const char *name,
		      const char *version);

#endif
