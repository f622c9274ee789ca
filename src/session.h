/* SPDX-License-Identifier: MIT */
/*
 * session.h: sessions, their sandboxes and the executions queued on them.
 *
 * A session is one sandbox (pid 1 + kernel) bound to (principal, pool,
 * identifier), with its files at <state>/sessions/<sid>/data.  Executions
 * on one session run one at a time in FIFO order; up to SESSION_QUEUE_MAX
 * wait behind the running one.  All of it is driven by the loop thread
 * (loop.c); HTTP threads only look sessions up and submit jobs, under
 * sp->lock.  A job's completion callback runs on the loop thread without
 * the lock held.
 */
#ifndef SANDPOOL_SESSION_H
#define SANDPOOL_SESSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kernel.h"
#include "procstat.h"
#include "sandpool.h"
#include "util.h"

#define SESSION_QUEUE_MAX 8   /* executions waiting behind the running one */
#define SESSION_HISTORY 16    /* finished executions kept for GET */
#define SESSION_START_TRIES 3 /* failed starts in a row before giving up */

enum job_kind { JOB_EXECUTE, JOB_SHELL };

/* Why an execution ended, as the API reports it. */
enum job_outcome {
	JOB_OK,          /* the kernel replied (the code may still have failed) */
	JOB_TIMEOUT,     /* interrupted at the deadline, state kept */
	JOB_TIMEOUT_KILLED, /* no answer after the grace period: restarted */
	JOB_KERNEL_DIED, /* the kernel exited or was killed */
	JOB_OOM,         /* killed by the memory limit */
	JOB_CANCELLED,   /* the session was deleted before the job ran */
	JOB_DELETED,     /* the session was deleted while the job ran */
	JOB_SHUTDOWN,    /* the server is stopping */
	JOB_SYSTEM,      /* our fault: the sandbox could not start */
};

struct job;
typedef void (*job_done_fn)(struct job *job, void *arg);

struct job {
	enum job_kind kind;
	char id[40];          /* execution id (uuid-like) */
	char *code;           /* code or shell command; owned */
	uint32_t timeout_s;   /* wall-clock limit */
	uint64_t output_max;  /* bytes per stream */
	job_done_fn done;     /* called once, loop thread, no lock held */
	void *arg;

	/* filled in before done() is called */
	enum job_outcome outcome;
	json_t *reply;        /* the kernel's result frame, or NULL; owned */
	char detail[256];     /* human text for non-OK outcomes */
	uint64_t submitted_ms, started_ms, finished_ms; /* monotonic */
	uint64_t mem_limit;   /* bytes, for the OutOfMemory message */
	int64_t cpu_ms;       /* CPU time of the run; -1 = unknown (audit) */
	int64_t peak_mem;     /* bytes, the kernel's peak RSS; -1 = unknown */
	int64_t cpu_start;    /* internal: CPU sample at dispatch */
	struct job *next;
};

enum session_state {
	SESSION_NEW,      /* no sandbox yet */
	SESSION_STARTING, /* launcher running or kernel importing */
	SESSION_IDLE,     /* kernel ready, nothing running */
	SESSION_BUSY,     /* a job is running */
	SESSION_DYING,    /* pid 1 killed, waiting for it to be reaped */
	SESSION_CLOSED,   /* destroyed: waiting for the last reference */
};

/* What an epoll registration refers to. */
struct watch {
	enum { W_WAKE, W_REPORT, W_CTL, W_PID, W_OOM } kind;
	struct session *s;
};

struct session {
	char sid[17];         /* internal id, 16 hex chars; names the dir */
	char *principal;      /* owned */
	char *identifier;     /* owned; NULL for a warm sandbox */
	struct pool *pool;
	uint32_t slot;        /* uid slot: host uids uid_base + slot*2048 */
	uint64_t uid0;        /* host uid of inside root */
	char *dir;            /* <state>/sessions/<sid> */
	char *data_dir;       /* <dir>/data, bind-mounted at /mnt/data */
	bool data_mounted;    /* a quota tmpfs is mounted on data_dir */

	enum session_state state;
	bool destroy;         /* tear down once the sandbox is reaped */
	bool restart;         /* start a new sandbox once reaped */
	int start_failures;   /* consecutive failed starts */
	char python_version[32];

	/* sandbox processes and fds (-1 / 0 when absent) */
	pid_t launcher_pid;
	int report_fd;        /* launcher's "ok <pid>" line */
	struct buf report;
	pid_t pid1;
	int pidfd;
	int ctl;              /* our end of the control socketpair */
	struct kframe_reader rd;
	struct buf wbuf;      /* frames not yet written to ctl */
	struct watch w_report, w_ctl, w_pid;
	bool ctl_in_epoll, pid_in_epoll, report_in_epoll;
	bool epollout;        /* ctl registered for EPOLLOUT too */

	/* the session's cgroups (cgroup.c): created before its first
	 * sandbox starts, kept across restarts (its files' tmpfs pages stay
	 * charged to it), removed after the last pid 1 is reaped */
	struct cgroup *cg;
	struct watch w_oom;   /* cg's OOM notification fd */
	bool oom_in_epoll;
	bool oom_seen;        /* an OOM kill since the current job started */
	uint64_t oom_base;    /* cg's oom_kill counter when it started */

	/* executions */
	struct job *cur;      /* running job or NULL */
	struct job *q_head, *q_tail;
	uint32_t qlen;
	uint64_t deadline_ms; /* monotonic; 0 = none */
	uint64_t kill_ms;     /* monotonic; SIGKILL after SIGINT; 0 = none */
	bool timed_out;
	char death[160];      /* why the sandbox died, for the reply */

	/* finished executions for GET executions/{id}: Gen2 bodies */
	struct {
		char id[40];
		json_t *body;
		uint64_t seq; /* insertion order; the lowest is evicted */
	} history[SESSION_HISTORY];
	uint64_t history_seq;

	/* times */
	uint64_t created_wall;  /* ms since epoch */
	uint64_t last_used_wall;
	uint64_t last_used_ms;  /* monotonic, for cooldown */

	/* operations (audit, metrics, the startup probe) */
	struct procstat ps;   /* /proc samples of the sandbox (loop thread) */
	bool probe;           /* the startup probe's own sandbox: never warm */
	bool dispatched;      /* a job reached the kernel since creation */
	uint64_t created_ms;  /* monotonic; when the identifier arrived */
	uint64_t spawn_ms;    /* monotonic; when the launcher was spawned */
	const char *end_reason; /* static text for the sessions table */

	int refs;             /* holders besides the table */
	bool in_dirty;
	struct session *next_hash, *next_all, *next_warm, *next_dirty;
};

/* ---- called by the API (HTTP threads); they take sp->lock ---- */

/*
 * Find the session of (principal, pool, identifier), creating it when
 * create is set.  On success *out holds a reference the caller must drop
 * with session_unref().  Errors: 429 PoolFull when the pool is at
 * max_sessions, 503 ServerStopping during shutdown, 404 SessionNotFound
 * when !create and there is none.
 */
int session_get(struct sandpool *sp, const char *principal,
		const char *pool, const char *identifier, bool create,
		struct session **out, struct sp_err *err);
void session_unref(struct sandpool *sp, struct session *s);

/*
 * Queue job on s.  Takes ownership of job on success; on failure (429
 * SessionBusy when the queue is full, 410 when the session is closing) the
 * caller keeps it.  job->done will be called exactly once on success.
 */
int session_submit(struct sandpool *sp, struct session *s, struct job *job,
		   struct sp_err *err);

/* Destroy a session and its files (DELETE session).  Queued jobs end
 * with JOB_CANCELLED. */
void session_destroy(struct sandpool *sp, struct session *s);

/*
 * Cancel execution job_id of s (MCP notifications/cancelled).  The running
 * job gets SIGINT, as at a deadline: the code sees KeyboardInterrupt, the
 * kernel answers with interrupted=true and the session keeps its state.  A
 * job still queued is removed and finishes as JOB_CANCELLED.  Unknown or
 * finished ids are ignored.  Takes sp->lock; any thread.
 */
void session_interrupt(struct sandpool *sp, struct session *s,
		       const char *job_id);

/*
 * Make sure s's data directory (and its quota tmpfs) exists, as the
 * sandbox start would make it, so that a file operation on a session
 * whose sandbox has not started yet has somewhere to go.  Takes sp->lock.
 * Returns 0, or a negative errno with 410 SessionGone (deleted) or 503 in
 * err.
 */
int session_ensure_data(struct sandpool *sp, struct session *s,
			struct sp_err *err);

/*
 * Ensure s's data directory exists and open it for *at() access (see
 * files_open_root).  On success *root is an fd the caller closes and *uid
 * the sandbox user's host uid (the owner to give new files).  Shared by
 * the REST files API and the MCP file tools.
 */
int session_open_files(struct sandpool *sp, struct session *s, int *root,
		       uid_t *uid, struct sp_err *err);

/* Copy the stored Gen2 body of execution id (new reference) or NULL. */
json_t *session_history_get(struct sandpool *sp, struct session *s,
			    const char *id);
void session_history_put(struct sandpool *sp, struct session *s,
			 const char *id, json_t *body);
/* Forget execution id (an async run that was refused). */
void session_history_del(struct sandpool *sp, struct session *s,
			 const char *id);

/* Describe a session for GET session / listSessions (new object). */
json_t *session_describe(struct sandpool *sp, struct session *s);

/* Sessions visible to principal (all when admin) as a JSON array. */
json_t *session_list(struct sandpool *sp, const char *principal, bool admin,
		     uint32_t skip);

struct job *job_new(enum job_kind kind, const char *code, uint32_t timeout_s,
		    uint64_t output_max);

/*
 * The startup probe (health.c): with sp->lock held, take a new session in
 * the first pool that is never offered as a warm sandbox, queue job on it
 * and start its sandbox.  On success *out holds a reference (drop it with
 * session_unref, after session_destroy) and job->done will be called.
 * Returns 0, or -ENOSPC (no slot) / -ESHUTDOWN (stopping), keeping job.
 */
int session_probe(struct sandpool *sp, struct job *job, struct session **out);
void job_free(struct job *job);

/* ---- called by the loop thread (loop.c), with sp->lock held ---- */

int session_start_sandbox(struct sandpool *sp, struct session *s);
void session_on_report(struct sandpool *sp, struct session *s);
void session_on_ctl(struct sandpool *sp, struct session *s, uint32_t events);
void session_on_exit(struct sandpool *sp, struct session *s);
/* The session's cgroup reported an OOM kill. */
void session_on_oom(struct sandpool *sp, struct session *s);
/* Deadlines, cooldown, warm-pool refill; returns ms until the next timer
 * (or -1 for none). */
int session_tick(struct sandpool *sp);
/* Pop jobs finished since the last call (caller runs their callbacks). */
struct job *session_take_done(struct sandpool *sp);

/* Server lifecycle. */
int sessions_init(struct sandpool *sp);
void sessions_kill_all(struct sandpool *sp);
bool sessions_all_gone(struct sandpool *sp);
void sessions_fini(struct sandpool *sp);
/* Number of jobs running or queued, for the shutdown drain. */
uint32_t sessions_inflight(struct sandpool *sp);

#endif
