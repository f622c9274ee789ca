// SPDX-License-Identifier: MIT
/*
 * session.c: the session table, each session's lifecycle and its FIFO of
 * executions.  The pools are in pool.c, the making of sandboxes in
 * start*.c, the kernel's protocol in kernel.c.
 *
 * State machine of one session (all transitions on the loop thread,
 * under sp->lock, except creation and submission, which HTTP threads do,
 * and the end of a start, which a starter thread hands back):
 *
 *   NEW --start_spawn--> SPAWNING --sandbox up--> STARTING --"ready"--> IDLE
 *    ^                      |                        |                  |  ^
 *    |                      '--failed or deferred----+         dispatch  result
 *    |                                               |                  v  |
 *    '------------------ (pid 1 reaped) <--- DYING <-+------------------ BUSY
 *                              '--> CLOSED (destroy)
 *
 * A sandbox that dies (crash, sys.exit, timeout kill, OOM) is reaped
 * through its pidfd and started again with the same files; a queued job
 * waits for the new kernel.  A destroyed session is torn down only once
 * pid 1 is reaped and no start or data request is in flight; its files
 * and cgroups are removed by a starter thread, and the struct is freed by
 * the loop thread once the last reference is dropped (libuv's close_cb
 * rule): only the loop frees sessions, so the events of one epoll batch
 * and the unlocked reads of the kernel's frames never see a freed one.
 *
 * Warm sandboxes are sessions with no identifier, kept on their pool's
 * warm list; a new identifier takes one instead of starting its own.
 */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "cgroup.h"
#include "files.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "priv.h"
#include "start.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define TABLE_SIZE 4096
#define READ_CHUNK (64 * 1024)
#define READ_BUDGET (1024 * 1024) /* bytes per wakeup, for fairness */
/* A kernel answers one request with one frame, and says ready once: a
 * wakeup that brings more is a kernel misbehaving. */
#define INPUT_MAX 8
/* Output frames in one wakeup: a kernel sends at most one per 50 ms, so
 * this many means a flood (user code can write to the kernel's socket),
 * not a slow loop. */
#define INPUT_OUTPUT_MAX 4096
#define READY_TIMEOUT_MS 120000 /* a kernel's startup, cold imports too */
/* An idle session's housekeeping (a tidying ping: the kernel collects
 * its garbage and gives freed heap pages back) comes this long after its
 * last execution: late enough not to delay a client's next cell, early
 * enough for the memory of thousands of idle sessions. */
#define TIDY_AFTER_MS 5000

static void mark_dirty(struct sandpool *sp, struct session *s);
static void kill_sandbox(struct sandpool *sp, struct session *s,
			 const char *why);
static void fail_jobs(struct sandpool *sp, struct session *s,
		      enum job_outcome outcome, const char *detail);
static bool client_gone(int fd);
static void reap_abandoned(struct sandpool *sp, struct session *s);

/* ------------------------------------------------------------------ */
/* jobs                                                                */
/* ------------------------------------------------------------------ */

struct job *
job_new(enum job_kind kind, const char *code, uint32_t timeout_s,
	uint64_t output_max)
{
	struct job *j = xcalloc(1, sizeof(*j));
	unsigned char r[16];

	j->kind = kind;
	j->code = xstrdup(code);
	j->timeout_s = timeout_s;
	j->output_max = output_max;
	random_bytes(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* uuid v4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(j->id, sizeof(j->id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
	j->submitted_ms = now_ms();
	j->cpu_ms = j->peak_mem = j->cpu_start = -1;
	j->client_fd = -1;
	return j;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->code);
	kernel_reply_free(j->reply);
	free(j);
}

/* Hand a finished job to the loop, which runs its callback unlocked. */
static void
job_finish(struct sandpool *sp, struct job *j, enum job_outcome outcome,
	   const char *detail)
{
	j->outcome = outcome;
	j->finished_ms = now_ms();
	if (detail)
		snprintf(j->detail, sizeof(j->detail), "%s", detail);
	j->next = NULL;
	if (sp->done_tail)
		sp->done_tail->next = j;
	else
		sp->done_head = j;
	sp->done_tail = j;
}

struct job *
session_take_done(struct sandpool *sp)
{
	struct job *j = sp->done_head;

	sp->done_head = sp->done_tail = NULL;
	return j;
}

struct job_output *
session_take_output(struct sandpool *sp)
{
	struct job_output *o = sp->out_head;

	sp->out_head = sp->out_tail = NULL;
	return o;
}

void
job_output_free(struct job_output *o)
{
	if (o == NULL)
		return;
	kernel_events_free(o->ev);
	free(o);
}

/* ------------------------------------------------------------------ */
/* table                                                               */
/* ------------------------------------------------------------------ */

static uint32_t
key_hash(const char *principal, const char *pool, const char *ident)
{
	const char *parts[3] = {principal, pool, ident};
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < 3; i++) {
		const unsigned char *p = (const unsigned char *)parts[i];

		for (; *p; p++)
			h = (h ^ *p) * 16777619u;
		h = (h ^ 0xff) * 16777619u; /* separator */
	}
	return h;
}

static struct session *
table_find(struct sandpool *sp, const char *principal, const char *pool,
	   const char *ident)
{
	uint32_t b = key_hash(principal, pool, ident) % sp->table_size;
	struct session *s;

	for (s = sp->table[b]; s; s = s->next_hash)
		if (strcmp(s->identifier, ident) == 0 &&
		    strcmp(s->principal, principal) == 0 &&
		    strcmp(s->pool->cfg->name, pool) == 0)
			return s;
	return NULL;
}

static void
table_insert(struct sandpool *sp, struct session *s)
{
	uint32_t b = key_hash(s->principal, s->pool->cfg->name,
			      s->identifier) %
		     sp->table_size;

	s->next_hash = sp->table[b];
	sp->table[b] = s;
}

static void
table_remove(struct sandpool *sp, struct session *s)
{
	uint32_t b;
	struct session **pp;

	if (s->identifier == NULL)
		return;
	b = key_hash(s->principal, s->pool->cfg->name, s->identifier) %
	    sp->table_size;
	for (pp = &sp->table[b]; *pp; pp = &(*pp)->next_hash) {
		if (*pp == s) {
			*pp = s->next_hash;
			s->next_hash = NULL;
			return;
		}
	}
}

static void
wake_loop(struct sandpool *sp)
{
	uint64_t one = 1;

	if (sp->wakefd < 0)
		return; /* no loop yet: it looks at everything when it starts */
	if (write(sp->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("wake loop");
}

static void
mark_dirty(struct sandpool *sp, struct session *s)
{
	if (s->in_dirty)
		return;
	s->in_dirty = true;
	s->next_dirty = sp->dirty;
	sp->dirty = s;
}

void
session_mark(struct sandpool *sp, struct session *s)
{
	mark_dirty(sp, s);
	wake_loop(sp);
}

struct session *
session_alloc(struct sandpool *sp, struct pool *pool, uint32_t slot)
{
	struct session *s = xcalloc(1, sizeof(*s));

	random_hex(s->sid, 8);
	s->pool = pool;
	s->slot = slot;
	s->uid0 = sp->cfg->uid_base + (uint64_t)slot * POOL_SLOT_STRIDE;
	s->dir = xasprintf("%s/%s", sp->sessions_dir, s->sid);
	s->data_dir = xasprintf("%s/data", s->dir);
	s->state = SESSION_NEW;
	s->ctl = s->pidfd = s->errfd = -1;
	s->generation = pool->generation;
	procstat_init(&s->ps);
	kframe_reader_init(&s->rd, KERNEL_MAX_OUT);
	buf_init(&s->wbuf, KERNEL_MAX_IN + 4);
	s->w_ctl = (struct watch){W_CTL, s};
	s->w_pid = (struct watch){W_PID, s};
	s->w_oom = (struct watch){W_OOM, s};
	s->created_wall = s->last_used_wall = wall_ms();
	s->last_used_ms = now_ms();
	s->next_all = sp->all;
	sp->all = s;
	sp->nsessions++;
	pool->live++;
	return s;
}

/* Loop thread (or the end of the server), the session CLOSED, no
 * reference left. */
static void
session_free(struct sandpool *sp, struct session *s)
{
	struct session **pp;
	uint32_t i;

	for (pp = &sp->all; *pp; pp = &(*pp)->next_all) {
		if (*pp == s) {
			*pp = s->next_all;
			break;
		}
	}
	/* A session can be freed while queued for the loop's attention. */
	for (pp = &sp->dirty; s->in_dirty && *pp; pp = &(*pp)->next_dirty) {
		if (*pp == s) {
			*pp = s->next_dirty;
			break;
		}
	}
	sp->nsessions--;
	/* teardown() handed the groups to a starter; only a session of a
	 * server that never started its loop still has them. */
	if (s->cg)
		cgroup_remove(sp->cgroups, s->cg);
	for (i = 0; i < SESSION_HISTORY; i++)
		json_decref(s->history[i].body);
	buf_fini(&s->wbuf);
	kframe_reader_fini(&s->rd);
	free(s->principal);
	free(s->identifier);
	free(s->dir);
	free(s->data_dir);
	procstat_close(&s->ps);
	free(s);
}

/* ------------------------------------------------------------------ */
/* API side (HTTP threads)                                             */
/* ------------------------------------------------------------------ */

static void
touch(struct session *s)
{
	s->last_used_wall = wall_ms();
	s->last_used_ms = now_ms();
}

int
session_get(struct sandpool *sp, const char *principal, const char *pool_name,
	    const char *ident, bool create, struct session **out,
	    struct sp_err *err)
{
	struct pool *pool;
	struct session *s;
	uint32_t slot;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&sp->lock);
	pool = pool_find(sp, pool_name);
	if (pool == NULL) {
		rc = sp_errf(err, 404, "PoolNotFound",
			     "no pool named \"%s\" is configured", pool_name);
		goto out;
	}
	s = table_find(sp, principal, pool_name, ident);
	if (s && s->state != SESSION_CLOSED && !s->destroy) {
		s->refs++;
		touch(s);
		*out = s;
		goto out;
	}
	if (!create) {
		rc = sp_errf(err, 404, "SessionNotFound",
			     "no session with this identifier exists");
		goto out;
	}
	if (sp->stopping) {
		rc = sp_errf(err, 503, "ServerStopping",
			     "the server is shutting down; retry elsewhere");
		goto out;
	}
	/* A warm sandbox: its kernel is up and preloaded, or coming up
	 * (already counted in live, so the cap below must not refuse it;
	 * the job waits for its kernel). */
	s = pool_take(sp, pool);
	if (s == NULL) {
		if (pool->live >= pool->cfg->max_sessions) {
			rc = sp_errf(err, 429, "PoolFull",
				     "pool \"%s\" has its maximum of %u "
				     "sessions; delete one or retry later",
				     pool_name, pool->cfg->max_sessions);
			goto out;
		}
		if (pool_slot_alloc(sp, &slot) < 0) {
			rc = sp_errf(err, 429, "PoolFull",
				     "no sandbox uid slot is free; "
				     "retry later");
			goto out;
		}
		s = session_alloc(sp, pool, slot);
	}
	s->principal = xstrdup(principal);
	s->identifier = xstrdup(ident);
	s->created_wall = wall_ms();
	s->created_ms = now_ms();
	touch(s);
	table_insert(sp, s);
	metrics_session_created(sp->metrics, (int)(pool - sp->pools));
	audit_session_start(sp->audit, s->sid, principal, pool_name, ident,
			    s->created_wall);
	s->refs++;
	session_mark(sp, s);
	*out = s;
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* Called with the lock held.  The loop frees a CLOSED session once it
 * has no reference (session_tick), never another thread. */
static void
unref_locked(struct sandpool *sp, struct session *s)
{
	ENSURE(s->refs > 0);
	s->refs--;
	if (s->refs == 0 && s->state == SESSION_CLOSED) {
		sp->closed_pending = true;
		wake_loop(sp);
	}
}

void
session_unref(struct sandpool *sp, struct session *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&sp->lock);
	unref_locked(sp, s);
	pthread_mutex_unlock(&sp->lock);
}

int
session_submit(struct sandpool *sp, struct session *s, struct job *job,
	       struct sp_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&sp->lock);
	if (s->state == SESSION_CLOSED || s->destroy) {
		rc = sp_errf(err, 410, "SessionGone",
			     "the session was deleted while the request was "
			     "being made; retry to get a new one");
		goto out;
	}
	if (sp->stopping) {
		rc = sp_errf(err, 503, "ServerStopping",
			     "the server is shutting down; retry elsewhere");
		goto out;
	}
	if (s->qlen >= SESSION_QUEUE_MAX) {
		rc = sp_errf(err, 429, "SessionBusy",
			     "%u executions already wait on this session "
			     "(the most accepted); retry when one finishes",
			     s->qlen);
		goto out;
	}
	job->next = NULL;
	job->mem_limit = s->pool->cfg->memory;
	if (s->q_tail)
		s->q_tail->next = job;
	else
		s->q_head = job;
	s->q_tail = job;
	s->qlen++;
	touch(s);
	session_mark(sp, s);
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

void
session_destroy(struct sandpool *sp, struct session *s)
{
	pthread_mutex_lock(&sp->lock);
	if (!s->destroy && s->state != SESSION_CLOSED) {
		s->destroy = true;
		table_remove(sp, s);
		session_mark(sp, s);
	}
	pthread_mutex_unlock(&sp->lock);
}

void
session_interrupt(struct sandpool *sp, struct session *s, const char *job_id)
{
	struct job *j, *prev = NULL;

	pthread_mutex_lock(&sp->lock);
	if (s->cur && strcmp(s->cur->id, job_id) == 0) {
		/* Like the deadline's first step: the kernel answers with
		 * interrupted=true and the session keeps its state. */
		if (s->state == SESSION_BUSY && s->pidfd >= 0)
			priv_signal(s->pidfd, SIGINT);
		goto out;
	}
	for (j = s->q_head; j; prev = j, j = j->next) {
		if (strcmp(j->id, job_id) != 0)
			continue;
		if (prev)
			prev->next = j->next;
		else
			s->q_head = j->next;
		if (s->q_tail == j)
			s->q_tail = prev;
		s->qlen--;
		job_finish(sp, j, JOB_CANCELLED,
			   "the execution was cancelled before it started");
		wake_loop(sp); /* the loop runs the callback */
		break;
	}
out:
	pthread_mutex_unlock(&sp->lock);
}

int
session_ensure_data(struct sandpool *sp, struct session *s,
		    struct sp_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&sp->lock);
	if (s->state == SESSION_CLOSED || s->destroy) {
		rc = sp_errf(err, 410, "SessionGone",
			     "the session was deleted while the request was "
			     "being made; retry to get a new one");
		goto out;
	}
	s->files_used = true;
	/* A starter makes it (the start of the sandbox, or a request of
	 * its own): this thread only waits. */
	rc = start_wait_data(sp, s);
	if (rc == -ESRCH)
		rc = sp_errf(err, 410, "SessionGone",
			     "the session was deleted while the request was "
			     "being made; retry to get a new one");
	else if (rc == -ESHUTDOWN)
		rc = sp_errf(err, 503, "ServerStopping",
			     "the server is shutting down; retry elsewhere");
	else if (rc < 0)
		rc = sp_errf(err, 503, "SandboxUnavailable",
			     "the session's file area could not be created "
			     "(%s); retry later",
			     strerror(-rc));
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

int
session_open_files(struct sandpool *sp, struct session *s, int *root,
		   uid_t *uid, struct sp_err *err)
{
	int rc;

	*root = -1;
	rc = session_ensure_data(sp, s, err);
	if (rc < 0)
		return rc;
	rc = files_open_root(s->data_dir, root);
	if (rc < 0) {
		log_warnx("session=%s open %s: %s", s->sid, s->data_dir,
			  strerror(-rc));
		return sp_errf(err, 503, "SandboxUnavailable",
			       "the session's files cannot be opened; retry");
	}
	*uid = (uid_t)(s->uid0 + 1000);
	return 0;
}

void
session_history_del(struct sandpool *sp, struct session *s, const char *id)
{
	uint32_t i;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < SESSION_HISTORY; i++) {
		if (s->history[i].body && strcmp(s->history[i].id, id) == 0) {
			json_decref(s->history[i].body);
			s->history[i].body = NULL;
			s->history[i].id[0] = '\0';
		}
	}
	pthread_mutex_unlock(&sp->lock);
}

json_t *
session_history_get(struct sandpool *sp, struct session *s, const char *id)
{
	json_t *body = NULL;
	uint32_t i;

	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < SESSION_HISTORY; i++) {
		if (s->history[i].body && strcmp(s->history[i].id, id) == 0) {
			body = json_deep_copy(s->history[i].body);
			break;
		}
	}
	pthread_mutex_unlock(&sp->lock);
	return body;
}

void
session_history_put(struct sandpool *sp, struct session *s, const char *id,
		    json_t *body)
{
	uint32_t i;

	pthread_mutex_lock(&sp->lock);
	/* Replace an entry with the same id (an async run that finished),
	 * else fill a free slot, else evict the oldest entry. */
	for (i = 0; i < SESSION_HISTORY; i++)
		if (s->history[i].body && strcmp(s->history[i].id, id) == 0)
			break;
	if (i == SESSION_HISTORY) {
		uint32_t k, pick = 0;

		for (k = 0; k < SESSION_HISTORY; k++) {
			if (s->history[k].body == NULL) {
				pick = k;
				break;
			}
			if (s->history[k].seq < s->history[pick].seq)
				pick = k;
		}
		i = pick;
		s->history[i].seq = ++s->history_seq;
	}
	json_decref(s->history[i].body);
	snprintf(s->history[i].id, sizeof(s->history[i].id), "%s", id);
	s->history[i].body = json_deep_copy(body);
	pthread_mutex_unlock(&sp->lock);
}

static json_t *
describe_locked(struct session *s)
{
	char created[40], used[40], expire[40];
	uint64_t exp = s->last_used_wall +
		       (uint64_t)s->pool->cfg->cooldown * 1000u;

	fmt_time_rfc3339(s->created_wall, created, sizeof(created));
	fmt_time_rfc3339(s->last_used_wall, used, sizeof(used));
	fmt_time_rfc3339(exp, expire, sizeof(expire));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "identifier",
			 s->identifier ? s->identifier : "", "createdAt",
			 created, "lastAccessedAt", used, "expireAt", expire,
			 "etag", s->sid, "pool", s->pool->cfg->name);
}

json_t *
session_describe(struct sandpool *sp, struct session *s)
{
	json_t *o;

	pthread_mutex_lock(&sp->lock);
	o = describe_locked(s);
	pthread_mutex_unlock(&sp->lock);
	return o;
}

json_t *
session_list(struct sandpool *sp, const char *principal, bool admin,
	     uint32_t skip)
{
	json_t *arr = json_array();
	struct session *s;

	pthread_mutex_lock(&sp->lock);
	for (s = sp->all; s; s = s->next_all) {
		if (s->identifier == NULL || s->destroy ||
		    s->state == SESSION_CLOSED)
			continue;
		if (!admin && strcmp(s->principal, principal) != 0)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		json_array_append_new(arr, describe_locked(s));
	}
	pthread_mutex_unlock(&sp->lock);
	return arr;
}

/* ------------------------------------------------------------------ */
/* sandbox lifecycle (loop thread, lock held)                          */
/* ------------------------------------------------------------------ */

static void
epoll_del(struct sandpool *sp, int fd, bool *flag)
{
	if (*flag) {
		epoll_ctl(sp->epfd, EPOLL_CTL_DEL, fd, NULL);
		*flag = false;
	}
}

static int
epoll_add(struct sandpool *sp, int fd, uint32_t ev, struct watch *w,
	  bool *flag)
{
	struct epoll_event e = {.events = ev, .data.ptr = w};

	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
		return -errno;
	*flag = true;
	return 0;
}

static void
close_ctl(struct sandpool *sp, struct session *s)
{
	if (s->ctl >= 0) {
		epoll_del(sp, s->ctl, &s->ctl_in_epoll);
		close(s->ctl);
		s->ctl = -1;
	}
	s->epollout = false;
}

/* Fail every queued job (and the running one) with outcome. */
static void
fail_jobs(struct sandpool *sp, struct session *s, enum job_outcome outcome,
	  const char *detail)
{
	struct job *j;

	if (s->cur) {
		job_finish(sp, s->cur, outcome, detail);
		s->cur = NULL;
	}
	while ((j = s->q_head) != NULL) {
		s->q_head = j->next;
		job_finish(sp, j, outcome, detail);
	}
	s->q_tail = NULL;
	s->qlen = 0;
}

/* The sandbox failed to come up; retry a few times, then give up
 * (the waiting requests get 503 with Retry-After). */
static void
start_failed(struct sandpool *sp, struct session *s, const char *why)
{
	char msg[256];

	s->start_failures++;
	metrics_sandbox_start(sp->metrics, (int)(s->pool - sp->pools), false,
			      0);
	log_warnx("session=%s sandbox start failed (%d): %s", s->sid,
		  s->start_failures, why);
	if (s->start_failures >= SESSION_START_TRIES) {
		snprintf(msg, sizeof(msg), "the sandbox could not start: %s",
			 why);
		fail_jobs(sp, s, JOB_SYSTEM, msg);
		s->destroy = true;
		s->end_reason = "start failed";
		table_remove(sp, s);
	}
}

void
session_start_done(struct sandpool *sp, struct session *s,
		   struct start_result *r)
{
	uint32_t ev;
	int fd;

	if (r->data_made) {
		s->data_ready = true;
		s->data_mounted = r->data_mounted;
	}
	s->data_pending = false;
	if (r->data_only) {
		s->data_failed = r->rc < 0;
		mark_dirty(sp, s);
		return;
	}
	if (r->cg) {
		s->cg = r->cg;
		r->cg = NULL;
		fd = cgroup_oom_fd(s->cg, &ev);
		if (fd >= 0 && epoll_add(sp, fd, ev, &s->w_oom,
					 &s->oom_in_epoll) < 0)
			log_warn("session=%s epoll (oom)", s->sid);
	}
	if (r->rc < 0) {
		s->state = SESSION_NEW;
		s->pool->starting--;
		if (!s->data_ready)
			s->data_failed = true;
		if (r->deferred && s->identifier == NULL) {
			/* A warm sandbox waits for the template: refill
			 * makes a new one when it is up. */
			s->destroy = true;
			s->end_reason = "template not ready";
			fail_jobs(sp, s, JOB_CANCELLED,
				  "the sandbox template is still starting");
		} else if (!r->deferred) {
			start_failed(sp, s, r->why);
		}
		mark_dirty(sp, s);
		return;
	}
	s->backend = r->backend;
	s->pid1 = r->pid1;
	s->pidfd = r->pidfd;
	s->ctl = r->ctl;
	s->errfd = r->errfd;
	r->pidfd = r->ctl = r->errfd = -1;
	fd_set_nonblock(s->ctl);
	buf_reset(&s->wbuf);
	kframe_reader_fini(&s->rd);
	kframe_reader_init(&s->rd, KERNEL_MAX_OUT);
	s->death[0] = '\0';
	s->timed_out = false;
	if (epoll_add(sp, s->pidfd, EPOLLIN, &s->w_pid, &s->pid_in_epoll) < 0 ||
	    epoll_add(sp, s->ctl, EPOLLIN, &s->w_ctl, &s->ctl_in_epoll) < 0)
		log_warn("session=%s epoll", s->sid);
	if (s->cg) {
		s->oom_seen = false;
		cgroup_oom_kills(s->cg, &s->oom_base);
	}
	s->state = SESSION_STARTING;
	s->ready_by_ms = now_ms() + READY_TIMEOUT_MS;
	metrics_backend_start(sp->metrics, (int)s->backend);
	log_debug("session=%s sandbox up (%s, pid %d)", s->sid,
		  start_backend_name(s->backend), (int)s->pid1);
	/* Now wait for the kernel's "ready"; a delete that came meanwhile
	 * is handled by attend(). */
	mark_dirty(sp, s);
}

/* Try to write pending frames; register for EPOLLOUT if some remain. */
static void
flush_wbuf(struct sandpool *sp, struct session *s)
{
	size_t off = 0;

	while (off < s->wbuf.len) {
		ssize_t w = write(s->ctl, s->wbuf.data + off,
				  s->wbuf.len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			kill_sandbox(sp, s, "the control socket failed");
			return;
		}
		off += (size_t)w;
	}
	memmove(s->wbuf.data, s->wbuf.data + off, s->wbuf.len - off);
	s->wbuf.len -= off;
	if ((s->wbuf.len > 0) != s->epollout && s->ctl_in_epoll) {
		struct epoll_event e = {.data.ptr = &s->w_ctl};

		s->epollout = s->wbuf.len > 0;
		e.events = EPOLLIN | (s->epollout ? EPOLLOUT : 0);
		epoll_ctl(sp->epfd, EPOLL_CTL_MOD, s->ctl, &e);
	}
}

/* Start the next queued job if the kernel is idle. */
static void
dispatch(struct sandpool *sp, struct session *s)
{
	struct job *j = s->q_head;
	int rc;

	if (s->state != SESSION_IDLE || j == NULL || s->destroy)
		return;
	/* Its client gave up while it waited: it must not run now. */
	if (j->client_fd >= 0 && client_gone(j->client_fd)) {
		reap_abandoned(sp, s);
		j = s->q_head;
		if (j == NULL || s->destroy)
			return;
	}
	s->q_head = j->next;
	if (s->q_head == NULL)
		s->q_tail = NULL;
	s->qlen--;
	j->next = NULL;
	rc = kernel_encode_run(j->kind == JOB_SHELL ? KREQ_SHELL : KREQ_EXECUTE,
			       j->id, j->code, j->output_max,
			       j->stream && j->output, &s->wbuf);
	if (rc < 0) {
		/* The API caps code far below the frame limit, so this is
		 * either invalid UTF-8 that jansson refused or a bug. */
		job_finish(sp, j, JOB_SYSTEM,
			   "the code could not be sent to the kernel "
			   "(it must be valid UTF-8)");
		return;
	}
	s->cur = j;
	s->state = SESSION_BUSY;
	j->started_ms = now_ms();
	j->client_fd = -1; /* only a queued job's client is looked at */
	if (!s->dispatched && s->identifier) {
		s->dispatched = true;
		metrics_session_latency(sp->metrics,
					(double)(j->started_ms -
						 s->created_ms) /
						1000.0);
	}
	j->cpu_start = procstat_cpu_ms(&s->ps);
	procstat_peak_reset(&s->ps);
	/* An OOM kill counts against this job only if it happens now. */
	if (s->cg) {
		s->oom_seen = false;
		cgroup_oom_kills(s->cg, &s->oom_base);
	}
	s->deadline_ms = j->started_ms + (uint64_t)j->timeout_s * 1000u;
	s->kill_ms = 0;
	s->timed_out = false;
	if (s->deadline_ms < sp->next_scan_ms)
		sp->next_scan_ms = s->deadline_ms;
	flush_wbuf(sp, s);
}

static void
kill_sandbox(struct sandpool *sp, struct session *s, const char *why)
{
	(void)sp;
	if (why && s->death[0] == '\0')
		snprintf(s->death, sizeof(s->death), "%s", why);
	/* The running job's CPU time, while the kernel is still there to
	 * be read: a pid namespace torn down by SIGKILL is reaped by the
	 * host kernel, so its time never reaches pid 1's cutime. */
	if (s->cur && s->cur->cpu_start >= 0 && s->cur->cpu_ms < 0) {
		int64_t cpu = procstat_cpu_ms(&s->ps);

		if (cpu >= s->cur->cpu_start)
			s->cur->cpu_ms = cpu - s->cur->cpu_start;
	}
	if (s->pidfd >= 0)
		priv_signal(s->pidfd, SIGKILL);
	if (s->state != SESSION_STARTING)
		s->state = SESSION_DYING;
}

/* The kernel finished its startup. */
static void
on_ready(struct sandpool *sp, struct session *s, const struct kernel_msg *m)
{
	if (s->state != SESSION_STARTING) {
		kill_sandbox(sp, s, "the kernel said ready twice");
		return;
	}
	snprintf(s->python_version, sizeof(s->python_version), "%s", m->text);
	s->pool->starting--;
	s->state = SESSION_IDLE;
	s->start_failures = 0;
	s->ready_by_ms = 0;
	metrics_sandbox_start(sp->metrics, (int)(s->pool - sp->pools), true,
			      (double)(now_ms() - s->spawn_ms) / 1000.0);
	procstat_open(&s->ps, s->pid1);
	if (s->errfd >= 0) {
		/* The setup is over: the error pipe has nothing more. */
		close(s->errfd);
		s->errfd = -1;
	}
	/* A warm sandbox waits for a client anyway: it faults the execute
	 * path in now (a warming ping), not in the client's first cell, and
	 * goes on the warm list when the pong comes.  A client that takes it
	 * meanwhile (pool_take) has its job wait in the socket behind. */
	if (s->identifier == NULL && !s->probe && !s->destroy &&
	    kernel_encode_request(KREQ_WARM, "warm", NULL, 0, &s->wbuf) == 0) {
		s->warming = true;
		flush_wbuf(sp, s);
	} else {
		pool_ready(sp, s);
	}
	log_debug("session=%s kernel ready (%s) in %llu ms", s->sid,
		  start_backend_name(s->backend),
		  (unsigned long long)(now_ms() - s->spawn_ms));
}

/* The kernel answered the running job; takes m->reply when it is kept. */
static void
on_result(struct sandpool *sp, struct session *s, struct kernel_msg *m)
{
	struct job *j = s->cur;
	struct kernel_reply *r = m->reply;
	enum job_outcome outcome = JOB_OK;

	if (j == NULL || s->state != SESSION_BUSY ||
	    strcmp(r->id, j->id) != 0) {
		kill_sandbox(sp, s, "the kernel answered a job it was not "
				    "given");
		return;
	}
	if (s->timed_out && r->interrupted)
		outcome = JOB_TIMEOUT;
	j->reply = r;
	m->reply = NULL;
	if (j->cpu_start >= 0) {
		int64_t cpu = procstat_cpu_ms(&s->ps);

		j->cpu_ms = cpu >= j->cpu_start ? cpu - j->cpu_start : -1;
	}
	j->peak_mem = procstat_peak_bytes(&s->ps);
	s->cur = NULL;
	s->deadline_ms = s->kill_ms = 0;
	s->timed_out = false;
	s->death[0] = '\0'; /* the timeout's kill text no longer applies */
	s->state = SESSION_IDLE;
	s->tidy_ms = now_ms() + TIDY_AFTER_MS;
	job_finish(sp, j, outcome, NULL);
	if (r->has_exit) {
		/* sys.exit(): the kernel exits after this frame; restart. */
		s->state = SESSION_DYING;
		snprintf(s->death, sizeof(s->death),
			 "the code called sys.exit()");
	}
}

/* An output frame of the running job: queue it for the job's callback.
 * One for another id (a job that already ended) is dropped. */
static void
on_output(struct sandpool *sp, struct session *s, struct kernel_msg *m)
{
	struct job *j = s->cur;
	struct job_output *o;

	if (j == NULL || s->state != SESSION_BUSY || j->output == NULL ||
	    strcmp(m->events->id, j->id) != 0)
		return;
	o = xcalloc(1, sizeof(*o));
	o->job = j;
	o->ev = m->events;
	m->events = NULL;
	if (sp->out_tail)
		sp->out_tail->next = o;
	else
		sp->out_head = o;
	sp->out_tail = o;
}

/* kframe_feed's callback: decode one frame into the batch. */
static void
collect(void *arg, json_t *frame)
{
	struct session_input *in = arg;
	struct kernel_msg m;

	if (in->bad) {
		json_decref(frame);
		return;
	}
	/* kernel_decode takes frame; -EBADMSG (no or unknown op, a result
	 * without a valid id) is a protocol violation. */
	if (kernel_decode(frame, &m) < 0) {
		in->bad = true;
		kernel_msg_fini(&m);
		return;
	}
	if (m.type == KMSG_OUTPUT ? ++in->n_output > INPUT_OUTPUT_MAX
				  : in->n - in->n_output == INPUT_MAX) {
		in->bad = true;
		kernel_msg_fini(&m);
		return;
	}
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 2;
		in->msgs = xrealloc(in->msgs, in->cap * sizeof(*in->msgs));
	}
	in->msgs[in->n++] = m;
}

void
session_read_ctl(struct session *s, uint32_t events, struct session_input *in)
{
	size_t budget = READ_BUDGET;
	char *chunk;
	int rc = 0;

	memset(in, 0, sizeof(*in));
	in->events = events;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || s->ctl < 0)
		return;
	chunk = xmalloc(READ_CHUNK);
	while (budget > 0) {
		ssize_t r = read(s->ctl, chunk, READ_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			in->eof = true;
			break;
		}
		budget -= (size_t)r < budget ? (size_t)r : budget;
		rc = kframe_feed(&s->rd, chunk, (size_t)r, collect, in);
		if (rc < 0 || in->bad)
			break;
	}
	free(chunk);
	if (rc < 0) {
		in->rc = rc;
		in->bad = true;
	}
}

void
session_on_ctl(struct sandpool *sp, struct session *s,
	       struct session_input *in)
{
	size_t i;

	if (s->state == SESSION_CLOSED)
		goto out;
	if (in->events & EPOLLOUT)
		flush_wbuf(sp, s);
	for (i = 0; i < in->n && s->ctl >= 0; i++) {
		struct kernel_msg *m = &in->msgs[i];

		switch (m->type) {
		case KMSG_READY:
			on_ready(sp, s, m);
			break;
		case KMSG_RESULT:
			on_result(sp, s, m);
			break;
		case KMSG_OUTPUT:
			on_output(sp, s, m);
			break;
		case KMSG_FATAL:
			log_warnx("session=%s kernel failed to start: %.200s",
				  s->sid, m->text[0] ? m->text : "?");
			snprintf(s->death, sizeof(s->death),
				 "the kernel failed to start");
			break;
		case KMSG_PONG:
			if (s->warming) {
				s->warming = false;
				pool_ready(sp, s);
			}
			break;
		}
	}
	if (in->bad) {
		log_warnx("session=%s kernel protocol violation (%s)", s->sid,
			  in->rc == -EMSGSIZE ? "frame too large"
					      : "invalid message");
		kill_sandbox(sp, s, "the kernel sent an invalid message");
		in->eof = true;
	}
	if (in->eof && s->ctl >= 0) {
		/* The kernel is gone or must go; pid 1 follows it. */
		close_ctl(sp, s);
		if (s->pidfd >= 0)
			priv_signal(s->pidfd, SIGKILL);
	}
	mark_dirty(sp, s);
out:
	for (i = 0; i < in->n; i++)
		kernel_msg_fini(&in->msgs[i]);
	free(in->msgs);
	in->msgs = NULL;
	in->n = in->cap = 0;
}

/* Text for a wait status. */
static void
describe_exit(const siginfo_t *si, char *out, size_t n)
{
	/* The init exits with 128+N when the kernel died of signal N. */
	if (si->si_code == CLD_EXITED && si->si_status > 128 &&
	    si->si_status < 128 + 65)
		snprintf(out, n, "the kernel was killed by signal %d (%s)",
			 si->si_status - 128, strsignal(si->si_status - 128));
	else if (si->si_code == CLD_EXITED)
		snprintf(out, n, "the kernel exited with status %d",
			 si->si_status);
	else
		snprintf(out, n, "the kernel was killed by signal %d (%s)",
			 si->si_status, strsignal(si->si_status));
}

/* Release what remains of the session once pid 1 is gone and no start
 * request is in flight. */
static void
teardown(struct sandpool *sp, struct session *s)
{
	uint32_t ev;
	int fd;

	if (sp->stopping)
		fail_jobs(sp, s, JOB_SHUTDOWN, "the server is shutting down");
	else
		fail_jobs(sp, s, JOB_CANCELLED, "the session was deleted");
	close_ctl(sp, s);
	if (s->errfd >= 0) {
		close(s->errfd);
		s->errfd = -1;
	}
	if (s->cg) {
		fd = cgroup_oom_fd(s->cg, &ev);
		if (fd >= 0)
			epoll_del(sp, fd, &s->oom_in_epoll);
	}
	/* Unmount and remove the files, then the groups (their tmpfs
	 * pages are uncharged while the memory group still exists), on a
	 * starter thread: not under the lock. */
	start_cleanup(sp, xstrdup(s->dir), xstrdup(s->data_dir),
		      s->data_mounted, s->cg);
	s->cg = NULL;
	s->data_mounted = false;
	table_remove(sp, s);
	pool_unlist(sp, s);
	pool_slot_free(sp, s->slot);
	s->pool->live--;
	s->state = SESSION_CLOSED;
	procstat_close(&s->ps);
	if (s->identifier)
		audit_session_end(sp->audit, s->sid, wall_ms(),
				  sp->stopping	  ? "shutdown"
				  : s->end_reason ? s->end_reason
						  : "deleted");
	log_debug("session=%s closed", s->sid);
	/* Freed by session_tick() once the current epoll batch is done: a
	 * later event of the batch may still name this session. */
	sp->closed_pending = true;
}

/* Did the OOM killer strike in s's cgroup since its job started? */
static bool
oom_killed(struct session *s)
{
	uint64_t n = 0;

	if (s->cg == NULL)
		return false;
	/* The v1 eventfd fires before the victim is killed, and oom_kill
	 * counts before SIGKILL is sent: both are final by the reap. */
	if (cgroup_oom_drain(s->cg))
		s->oom_seen = true;
	return s->oom_seen ||
	       (cgroup_oom_kills(s->cg, &n) == 0 && n > s->oom_base);
}

void
session_on_oom(struct sandpool *sp, struct session *s)
{
	(void)sp;
	if (s->cg == NULL || !cgroup_oom_drain(s->cg))
		return;
	s->oom_seen = true;
	log_info("session=%s reached its memory limit of %llu MiB; the OOM "
		 "killer ran",
		 s->sid, (unsigned long long)(s->pool->cfg->memory >> 20));
}

void
session_on_exit(struct sandpool *sp, struct session *s)
{
	siginfo_t si;
	char why[160];
	bool was_starting = s->state == SESSION_STARTING;
	/* Sample pid 1 before it is reaped: the dead kernel's CPU time is
	 * in its cutime now. */
	int64_t cpu = s->cur ? procstat_cpu_ms(&s->ps) : -1;

	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)s->pidfd, &si,
		   WEXITED | WNOHANG) < 0 ||
	    si.si_pid == 0)
		return; /* not yet */
	procstat_close(&s->ps);
	if (s->cur && s->cur->cpu_start >= 0 && s->cur->cpu_ms < 0 &&
	    cpu >= s->cur->cpu_start)
		s->cur->cpu_ms = cpu - s->cur->cpu_start;
	epoll_del(sp, s->pidfd, &s->pid_in_epoll);
	close(s->pidfd);
	s->pidfd = -1;
	s->pid1 = 0;
	close_ctl(sp, s);
	/* A warm sandbox that died is not ready any more. */
	pool_unlist(sp, s);
	describe_exit(&si, why, sizeof(why));
	if (s->errfd >= 0) {
		/* A zygote child that failed its setup said why here. */
		char text[160];
		ssize_t n = read(s->errfd, text, sizeof(text) - 1);

		if (n > 0 && s->death[0] == '\0') {
			text[n] = '\0';
			text[strcspn(text, "\n")] = '\0';
			snprintf(s->death, sizeof(s->death),
				 "sandbox setup: %s", text);
		}
		close(s->errfd);
		s->errfd = -1;
	}
	if (oom_killed(s)) {
		/* The wait status says SIGKILL either way; the cgroup knows
		 * it was the memory limit (notes §5). */
		snprintf(why, sizeof(why),
			 "the kernel was killed for exceeding the memory limit "
			 "of %llu MiB",
			 (unsigned long long)(s->pool->cfg->memory >> 20));
		if (s->cur && !s->destroy) {
			job_finish(sp, s->cur, JOB_OOM, why);
			s->cur = NULL;
		}
	}
	if (s->cur && s->destroy) {
		/* Killed because the session is going away: not a kernel
		 * death, and its files go too. */
		job_finish(sp, s->cur,
			   sp->stopping ? JOB_SHUTDOWN : JOB_DELETED,
			   sp->stopping ? "the server is shutting down"
					: "the session was deleted while the "
					  "code ran");
		s->cur = NULL;
	}
	if (s->cur) {
		struct job *j = s->cur;
		enum job_outcome o = JOB_KERNEL_DIED;
		char detail[256];

		s->cur = NULL;
		if (s->timed_out) {
			o = JOB_TIMEOUT_KILLED;
			snprintf(detail, sizeof(detail), "%s", s->death);
		} else {
			if (s->death[0])
				snprintf(detail, sizeof(detail), "%s (%s)",
					 s->death, why);
			else
				snprintf(detail, sizeof(detail), "%s", why);
		}
		job_finish(sp, j, o, detail);
	}
	s->deadline_ms = s->kill_ms = 0;
	if (was_starting) {
		s->pool->starting--;
		s->state = SESSION_NEW;
		start_failed(sp, s, s->death[0] ? s->death : why);
	} else {
		log_info("session=%s sandbox ended: %s", s->sid,
			 s->death[0] ? s->death : why);
		if (!s->destroy)
			metrics_kernel_restart(sp->metrics);
		s->state = SESSION_NEW;
	}
	s->death[0] = '\0';
	if (s->destroy)
		teardown(sp, s);
	else
		mark_dirty(sp, s);
}

/* Look at one session after something changed. */
static void
attend(struct sandpool *sp, struct session *s)
{
	if (s->state == SESSION_CLOSED)
		return;
	if (s->destroy) {
		/* Not while a starter works for it: its result comes back
		 * and brings us here again. */
		if (s->state == SESSION_NEW && !s->data_pending)
			teardown(sp, s);
		else if (s->pidfd >= 0)
			kill_sandbox(sp, s, "the session was deleted");
		return;
	}
	/* A data request in flight (a file came first) makes the directory
	 * the sandbox will bind; its end brings us back here. */
	if (s->state == SESSION_NEW && !s->data_pending &&
	    (s->identifier == NULL || s->q_head || s->start_failures == 0)) {
		start_spawn(sp, s, s->identifier != NULL);
		return;
	}
	dispatch(sp, s);
}

/* Has the client waiting on this socket gone (it closed its end)?  A
 * peek: pipelined requests stay where they are. */
static bool
client_gone(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

/*
 * Queued jobs whose client went away are cancelled; a session whose only
 * use was such a job (nothing ran in it, no file reached it) goes too,
 * so that clients that gave up while their sessions were starting do not
 * leave the pool full of sessions nobody will use.
 */
static void
reap_abandoned(struct sandpool *sp, struct session *s)
{
	struct job *j, *prev = NULL, *nx;
	bool cancelled = false;

	for (j = s->q_head; j; j = nx) {
		nx = j->next;
		if (j->client_fd < 0 || !client_gone(j->client_fd)) {
			prev = j;
			continue;
		}
		if (prev)
			prev->next = nx;
		else
			s->q_head = nx;
		if (s->q_tail == j)
			s->q_tail = prev;
		s->qlen--;
		j->client_fd = -1;
		job_finish(sp, j, JOB_CANCELLED,
			   "the client went away before the execution "
			   "started");
		cancelled = true;
	}
	if (cancelled && !s->dispatched && !s->files_used && !s->cur &&
	    !s->q_head && s->identifier) {
		log_info("session=%s abandoned by its client before it ran "
			 "anything; removed",
			 s->sid);
		s->destroy = true;
		s->end_reason = "abandoned";
		table_remove(sp, s);
	}
	if (cancelled)
		mark_dirty(sp, s);
}

int
session_tick(struct sandpool *sp)
{
	uint64_t now = now_ms(), next = UINT64_MAX;
	struct session *s, *nx;

	while ((s = sp->dirty) != NULL) {
		sp->dirty = s->next_dirty;
		s->in_dirty = false;
		s->next_dirty = NULL;
		attend(sp, s);
	}
	/* The epoll batch is over: free what teardown() closed. */
	for (s = sp->all; sp->closed_pending && s; s = nx) {
		nx = s->next_all;
		if (s->state == SESSION_CLOSED && s->refs == 0)
			session_free(sp, s);
	}
	sp->closed_pending = false;
	pool_refill(sp);
	health_tick(sp);
	if (now < sp->next_scan_ms)
		return (int)(sp->next_scan_ms - now);
	for (s = sp->all; s; s = nx) {
		nx = s->next_all;
		if (s->q_head && !s->destroy)
			reap_abandoned(sp, s);
		if (s->state == SESSION_STARTING && s->ready_by_ms &&
		    now >= s->ready_by_ms) {
			s->ready_by_ms = 0;
			kill_sandbox(sp, s, "the kernel did not get ready in "
					    "time");
		}
		if (s->state == SESSION_BUSY && s->deadline_ms) {
			if (!s->timed_out && now >= s->deadline_ms) {
				/* SIGINT first: KeyboardInterrupt keeps the
				 * session's state. */
				s->timed_out = true;
				s->kill_ms = now + sp->cfg->kill_grace_ms;
				snprintf(s->death, sizeof(s->death),
					 "the code did not stop within %u ms "
					 "of the interrupt; the kernel was "
					 "restarted",
					 sp->cfg->kill_grace_ms);
				if (s->pidfd >= 0)
					priv_signal(s->pidfd, SIGINT);
			} else if (s->timed_out && now >= s->kill_ms) {
				kill_sandbox(sp, s, NULL);
				s->kill_ms = 0;
			}
			if (s->kill_ms && s->kill_ms < next)
				next = s->kill_ms;
			else if (!s->timed_out && s->deadline_ms < next)
				next = s->deadline_ms;
		}
		if (s->tidy_ms && s->state == SESSION_IDLE && !s->q_head &&
		    !s->destroy) {
			if (now >= s->tidy_ms) {
				s->tidy_ms = 0;
				if (kernel_encode_request(KREQ_TIDY, "tidy",
							  NULL, 0,
							  &s->wbuf) == 0)
					flush_wbuf(sp, s);
			} else if (s->tidy_ms < next) {
				next = s->tidy_ms;
			}
		}
		if (s->identifier && s->state == SESSION_IDLE && !s->q_head &&
		    s->refs == 0 && !s->destroy) {
			uint64_t exp = s->last_used_ms +
				       (uint64_t)s->pool->cfg->cooldown * 1000u;

			if (now >= exp) {
				log_info("session=%s cooled down after %u s "
					 "idle",
					 s->sid, s->pool->cfg->cooldown);
				s->destroy = true;
				s->end_reason = "cooldown";
				table_remove(sp, s);
				mark_dirty(sp, s);
			} else if (exp < next) {
				next = exp;
			}
		}
	}
	/* Rescan at least every second; cooldowns are coarse anyway. */
	if (next > now + 1000)
		next = now + 1000;
	sp->next_scan_ms = next;
	if (sp->dirty)
		return 0;
	return (int)(next - now);
}

/* ------------------------------------------------------------------ */
/* server lifecycle                                                    */
/* ------------------------------------------------------------------ */

int
sessions_init(struct sandpool *sp)
{
	sp->table_size = TABLE_SIZE;
	sp->table = xcalloc(sp->table_size, sizeof(*sp->table));
	pthread_cond_init(&sp->start_cond, NULL);
	return pools_init(sp);
}

void
sessions_kill_all(struct sandpool *sp)
{
	struct session *s, *nx;

	for (s = sp->all; s; s = nx) {
		nx = s->next_all;
		if (s->state == SESSION_CLOSED)
			continue;
		s->destroy = true;
		table_remove(sp, s);
		attend(sp, s);
	}
}

bool
sessions_all_gone(struct sandpool *sp)
{
	struct session *s;

	for (s = sp->all; s; s = s->next_all)
		if (s->state != SESSION_CLOSED)
			return false;
	return true;
}

uint32_t
sessions_inflight(struct sandpool *sp)
{
	struct session *s;
	uint32_t n = 0;

	for (s = sp->all; s; s = s->next_all)
		n += (s->cur ? 1 : 0) + s->qlen;
	return n;
}

void
sessions_fini(struct sandpool *sp)
{
	struct session *s, *nx;

	for (s = sp->all; s; s = nx) {
		nx = s->next_all;
		session_free(sp, s);
	}
	free(sp->table);
	sp->table = NULL;
	pools_fini(sp);
	pthread_cond_destroy(&sp->start_cond);
}
