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
#include "start.h"
#include "sandpool.h"
#include "util.h"

#define SESSION_QUEUE_MAX 8   /* executions waiting behind the running one */
#define SESSION_HISTORY 16    /* finished executions kept for GET */
#define SESSION_START_TRIES 3 /* failed starts in a row before giving up */

enum job_kind { JOB_EXECUTE, JOB_SHELL };

/* Why an execution ended, as the API reports it. */
enum job_outcome {
	JOB_OK,          /* the kernel replied (the code may have failed) */
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
/* One output frame of a streaming job (kernel.h); ev is borrowed for the
 * call. */
typedef void (*job_output_fn)(struct job *job, const struct kernel_events *ev,
			      void *arg);

struct job {
	enum job_kind kind;
	char id[40];          /* execution id (uuid-like) */
	char *code;           /* code or shell command; owned */
	uint32_t timeout_s;   /* wall-clock limit */
	uint64_t output_max;  /* bytes per stream */
	job_done_fn done;     /* called once, loop thread, no lock held */
	job_output_fn output; /* with stream: each output frame, before done;
			       * loop thread, no lock held */
	bool stream;          /* ask the kernel for output frames */
	void *arg;

	/* filled in before done() is called */
	enum job_outcome outcome;
	struct kernel_reply *reply; /* the kernel's result, or NULL; owned */
	char detail[256];     /* human text for non-OK outcomes */
	uint64_t submitted_ms, started_ms, finished_ms; /* monotonic */
	uint64_t mem_limit;   /* bytes, for the OutOfMemory message */
	int64_t cpu_ms;       /* CPU time of the run; -1 = unknown (audit) */
	int64_t peak_mem;     /* bytes, the kernel's peak RSS; -1 = unknown */
	int64_t cpu_start;    /* internal: CPU sample at dispatch */
	int client_fd;        /* the waiting client's socket, -1: none; only
			       * peeked at (is the client still there?) */
	struct job *next;
};

enum session_state {
	SESSION_NEW,      /* no sandbox yet */
	SESSION_SPAWNING, /* a starter thread is creating its sandbox */
	SESSION_STARTING, /* sandbox up, kernel not ready yet */
	SESSION_IDLE,     /* kernel ready, nothing running */
	SESSION_BUSY,     /* a job is running */
	SESSION_DYING,    /* pid 1 killed, waiting for it to be reaped */
	SESSION_CLOSED,   /* destroyed: waiting for the last reference */
};

/* What an epoll registration refers to. */
struct watch {
	enum { W_WAKE, W_CTL, W_PID, W_OOM } kind;
	struct session *s;
};

/*
 * Locking: every field is under sp->lock.  The loop thread also reads,
 * without the lock, the fields that only it writes once the session has
 * a sandbox (ctl, rd, state, pidfd): it reads and decodes the kernel's
 * frames unlocked (session_read_ctl) and applies them under the lock.
 * While a start request is in flight (SPAWNING), the starter thread owns
 * nothing of the session: it works on a copy (start.c) and hands its
 * results back under the lock.
 */
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
	bool data_ready;      /* data_dir exists (made by a starter) */
	bool data_pending;    /* a start or data request will make it */
	bool data_failed;     /* the last attempt failed (errno in err) */

	enum session_state state;
	bool destroy;         /* tear down once the sandbox is reaped */
	int start_failures;   /* consecutive failed starts */
	uint32_t generation;  /* the pool's preload generation at start */
	enum start_backend backend; /* what started the current sandbox */
	char python_version[32];

	/* sandbox processes and fds (-1 / 0 when absent) */
	pid_t pid1;
	int pidfd;
	int ctl;              /* our end of the control socket */
	int errfd;            /* zygote: read end of the setup error pipe */
	struct kframe_reader rd;
	struct buf wbuf;      /* frames not yet written to ctl */
	struct watch w_ctl, w_pid;
	bool ctl_in_epoll, pid_in_epoll;
	bool epollout;        /* ctl registered for EPOLLOUT too */
	uint64_t ready_by_ms; /* monotonic; STARTING: kill if not ready */

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
	bool files_used;      /* a file operation reached its data dir */
	uint64_t created_ms;  /* monotonic; when the identifier arrived */
	uint64_t spawn_ms;    /* monotonic; when its start was queued */
	const char *end_reason; /* static text for the sessions table */

	int refs;             /* holders besides the table */
	bool in_dirty;
	bool on_warm;         /* on its pool's warm list (pool.c) */
	bool warming;         /* a warm sandbox's warming ping is out */
	uint64_t tidy_ms;     /* monotonic: housekeeping due; 0 = none */
	struct session *next_hash, *next_all, *next_warm, *next_dirty;
};

/* ---- called by the API (HTTP threads); they take sp->lock ---- */
/* (the startup probe's session is pool_probe(), pool.h) */

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

void job_free(struct job *job);

/* ---- called by the loop thread (loop.c) ---- */

/* What one wakeup read from a control socket, decoded (kernel.c). */
struct session_input {
	struct kernel_msg *msgs; /* owned array of n messages */
	size_t n, cap;
	size_t n_output; /* of which output frames (bounded on their own) */
	bool eof;      /* the kernel closed the socket or it failed */
	bool bad;      /* a protocol violation: kill the sandbox */
	int rc;        /* kframe_feed's error, for the log */
	uint32_t events;
};

/*
 * Without sp->lock: read what s's kernel sent (a bounded amount per
 * wakeup) and decode its frames into in.  Only the loop thread calls it,
 * and only it changes s->ctl and s->rd.  Then call session_on_ctl()
 * with the lock, which applies in and frees it.
 */
void session_read_ctl(struct session *s, uint32_t events,
		      struct session_input *in);
void session_on_ctl(struct sandpool *sp, struct session *s,
		    struct session_input *in);
/* With sp->lock: pid 1's pidfd is readable (it exited). */
void session_on_exit(struct sandpool *sp, struct session *s);
/* The session's cgroup reported an OOM kill. */
void session_on_oom(struct sandpool *sp, struct session *s);
/* Deadlines, cooldown, abandoned starts, warm-pool refill; returns ms
 * until the next timer (or -1 for none).  sp->lock held. */
int session_tick(struct sandpool *sp);
/* Pop jobs finished since the last call (caller runs their callbacks). */
struct job *session_take_done(struct sandpool *sp);

/* An output frame waiting for its job's output callback. */
struct job_output {
	struct job *job;
	struct kernel_events *ev; /* owned */
	struct job_output *next;
};
/*
 * Pop the output frames received since the last call.  The caller runs
 * them (job->output) and frees them with job_output_free() before it runs
 * the callbacks of session_take_done(): a job is not done, and so not
 * freed, before its last output is delivered.
 */
struct job_output *session_take_output(struct sandpool *sp);
void job_output_free(struct job_output *o);

/* ---- called by pool.c and start.c, with sp->lock held ---- */

/* A new session struct holding slot in pool; no sandbox yet. */
struct session *session_alloc(struct sandpool *sp, struct pool *pool,
			      uint32_t slot);
/* Queue s for the loop's attention and wake the loop. */
void session_mark(struct sandpool *sp, struct session *s);
/*
 * A start request for s finished (start.c): take its results (fds,
 * cgroup, data directory) into s and move its state on.  r's fds and
 * group belong to s afterwards.
 */
void session_start_done(struct sandpool *sp, struct session *s,
			struct start_result *r);

/* Server lifecycle. */
int sessions_init(struct sandpool *sp);
void sessions_kill_all(struct sandpool *sp);
bool sessions_all_gone(struct sandpool *sp);
void sessions_fini(struct sandpool *sp);
/* Number of jobs running or queued, for the shutdown drain. */
uint32_t sessions_inflight(struct sandpool *sp);

#endif
