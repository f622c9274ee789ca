// SPDX-License-Identifier: MIT
/*
 * start.c: the start interface and its starter threads (start.h).
 *
 * A request is a copy of what one job needs, made under sp->lock by the
 * loop thread (a spawn, a cleanup) or an HTTP thread (a data directory),
 * so that the starter touches no session while it works.  Kinds:
 *
 *   SPAWN    data directory (first start only), cgroups (first start
 *            only), control socket, then a backend: the zygote when the
 *            pool asks for it and a template is up, else the launcher;
 *   DATA     only the data directory, for a file request that came
 *            before any sandbox (HTTP threads never mount);
 *   CLEANUP  a closed session's data directory, then its cgroups.
 *
 * The result goes back to the session under sp->lock
 * (session_start_done) and sp->start_cond is broadcast, which
 * start_wait_data() waits on.  Lock order: sp->lock, then the queue's
 * lock; a starter holds neither while it works.
 *
 * Fallback: a client's start uses the launcher when the pool's template
 * is down or being rebuilt, or when it failed to fork; a warm sandbox
 * (or the startup probe) waits for the template instead ("deferred"),
 * unless the template keeps failing to come up.
 */
#define _GNU_SOURCE
#include "start.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "priv.h"
#include "sandpool.h"
#include "session.h"
#include "start_launcher.h"
#include "start_queue.h"
#include "start_zygote.h"

#define STARTER_THREADS 2       /* the host side of a start is ~0.3 ms */
#define DATA_WAIT_MS 10000      /* longest a file request waits */
#define NPROC_SLACK 16          /* RLIMIT_NPROC above the pool's pids.max */

enum req_op { REQ_SPAWN, REQ_DATA, REQ_CLEANUP };

struct start_req {
	struct start_link link; /* first: the queue's item is the request */
	enum req_op op;
	struct session *s;      /* SPAWN, DATA: a reference */
	char sid[17];
	char *dir, *data_dir;   /* owned copies */
	uint64_t uid0;          /* host uid of inside root */
	uint64_t files_quota;   /* bytes; 0 = a plain directory */
	struct cgroup_limits lim;
	struct start_spec spec; /* SPAWN: for the backend */
	char preload[sizeof(((struct pool *)0)->preload)];
	enum start_backend want; /* the pool's `start` */
	bool client;            /* someone waits for this sandbox */
	bool data_ready;        /* SPAWN: the data directory exists */
	struct cgroup *cg;      /* SPAWN: the session's groups or NULL;
				 * CLEANUP: owned */
	bool mounted;           /* CLEANUP: data_dir has a tmpfs */
	struct start_result res;
};

struct start {
	struct start_queue queue;
	pthread_t threads[STARTER_THREADS];
	int nthreads;
};

const char *
start_backend_name(enum start_backend b)
{
	return b == START_ZYGOTE ? "zygote" : "launcher";
}

void
start_kernel_env(const char *preload, char **env, size_t n)
{
	size_t i = 0;

	env[i++] = xstrdup("HOME=/tmp");
	env[i++] = xstrdup("PATH=/usr/local/bin:/usr/bin:/bin");
	env[i++] = xstrdup("LANG=C.UTF-8");
	env[i++] = xstrdup("MPLBACKEND=Agg");
	env[i++] = xstrdup("MPLCONFIGDIR=/tmp/.mpl");
	env[i++] = xstrdup("PYTHONDONTWRITEBYTECODE=1");
	/* One BLAS/OpenMP thread: threads count against pids.max, the CPU
	 * quota is about one core anyway (DESIGN.md §7), and a template
	 * must be single-threaded when it forks (numexpr starts a pool). */
	env[i++] = xstrdup("OPENBLAS_NUM_THREADS=1");
	env[i++] = xstrdup("OMP_NUM_THREADS=1");
	env[i++] = xstrdup("NUMEXPR_NUM_THREADS=1");
	env[i++] = xstrdup("SANDPOOL_KERNEL_FD=3");
	env[i++] = xasprintf("SANDPOOL_PRELOAD=%s", preload);
	ENSURE(i < n);
	env[i] = NULL;
}

/* ---- the queue ---- */

/* Requests a client waits for go first (start_queue.h). */
static void
enqueue(struct sandpool *sp, struct start_req *q)
{
	start_queue_push(&sp->start->queue, &q->link,
			 q->op == REQ_DATA ||
				 (q->op == REQ_SPAWN && q->client));
}

static struct start_req *
req_new(enum req_op op, struct session *s)
{
	struct start_req *q = xcalloc(1, sizeof(*q));

	q->op = op;
	q->res.ctl = q->res.pidfd = q->res.errfd = -1;
	if (s) {
		q->s = s;
		s->refs++;
		snprintf(q->sid, sizeof(q->sid), "%s", s->sid);
		q->dir = xstrdup(s->dir);
		q->data_dir = xstrdup(s->data_dir);
		q->uid0 = s->uid0;
		q->files_quota = s->pool->cfg->files_quota;
	}
	return q;
}

static void
req_free(struct start_req *q)
{
	if (q == NULL)
		return;
	free(q->dir);
	free(q->data_dir);
	free(q);
}

void
start_spawn(struct sandpool *sp, struct session *s, bool client)
{
	const struct pool_config *pc = s->pool->cfg;
	struct start_req *q = req_new(REQ_SPAWN, s);

	q->lim = (struct cgroup_limits){pc->memory, pc->pids, pc->cpu_millis};
	snprintf(q->preload, sizeof(q->preload), "%s", s->pool->preload);
	q->want = pc->start;
	q->client = client;
	q->data_ready = s->data_ready;
	q->cg = s->cg;
	q->spec = (struct start_spec){
		.sid = q->sid,
		.data_dir = q->data_dir,
		.uid0 = q->uid0,
		.tmp_size = pc->tmp_size,
		/* RLIMIT_NPROC is a backstop above pids.max, so that the
		 * cgroup is the limit that acts (and counts in pids.events);
		 * it still bounds a sandbox should its cgroup be absent. */
		.nproc = pc->pids < 65536 - NPROC_SLACK ? pc->pids + NPROC_SLACK
							: 65536,
		.preload = q->preload,
		.ctl = -1,
	};
	if (!s->data_ready)
		s->data_pending = true;
	s->state = SESSION_SPAWNING;
	s->generation = s->pool->generation;
	s->pool->starting++;
	s->spawn_ms = now_ms();
	enqueue(sp, q);
}

void
start_cleanup(struct sandpool *sp, char *dir, char *data_dir, bool mounted,
	      struct cgroup *cg)
{
	struct start_req *q = req_new(REQ_CLEANUP, NULL);

	q->dir = dir;
	q->data_dir = data_dir;
	q->mounted = mounted;
	q->cg = cg;
	enqueue(sp, q);
}

int
start_wait_data(struct sandpool *sp, struct session *s)
{
	uint64_t until = now_ms() + DATA_WAIT_MS;
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += DATA_WAIT_MS / 1000;
	while (!s->data_ready) {
		if (s->destroy || s->state == SESSION_CLOSED) {
			rc = -ESRCH;
			break;
		}
		if (sp->stopping) {
			rc = -ESHUTDOWN;
			break;
		}
		if (!s->data_pending) {
			if (s->data_failed) {
				/* Said once to this caller; the next one
				 * tries again. */
				s->data_failed = false;
				rc = -EIO;
				break;
			}
			s->data_pending = true;
			enqueue(sp, req_new(REQ_DATA, s));
		}
		if (now_ms() >= until) {
			rc = -ETIMEDOUT;
			break;
		}
		pthread_cond_timedwait(&sp->start_cond, &sp->lock, &ts);
	}
	return rc;
}

bool
start_warm_ok(struct sandpool *sp, const struct pool *p)
{
	if (p->cfg->start == START_LAUNCHER)
		return true;
	return start_zygote_state(sp, p->preload) != START_ZYGOTE_COMING;
}

/* ---- the work (starter threads, no lock held) ---- */

static void
run_data(struct sandpool *sp, struct start_req *q)
{
	struct start_result *r = &q->res;
	int rc;

	(void)sp;
	if (q->data_ready || r->data_made)
		return;
	rc = priv_data_create(q->dir, q->data_dir, q->files_quota,
			      (uid_t)(q->uid0 + 1000), &r->data_mounted);
	if (rc < 0) {
		r->rc = rc;
		snprintf(r->why, sizeof(r->why),
			 "the session's file area could not be created: %s",
			 strerror(-rc));
		log_warnx("session=%s cannot create data dir: %s", q->sid,
			  strerror(-rc));
		return;
	}
	r->data_made = true;
}

/* What the sandbox gets of its session: the data directory and the
 * cgroups (each made on the first start only), the groups as attach
 * files in cgfd (the caller closes them).  Again after a success, it
 * does nothing. */
static int
prepare(struct sandpool *sp, struct start_req *q, int *cgfd, int *ncg)
{
	struct start_result *r = &q->res;
	struct cgroup *cg;
	int rc;

	run_data(sp, q);
	if (r->rc < 0)
		return r->rc;
	if (*ncg > 0)
		return 0;
	cg = q->cg ? q->cg : r->cg;
	if (cg == NULL && sp->cgroups) {
		rc = cgroup_create(sp->cgroups, q->sid, &q->lim, &r->cg);
		if (rc < 0) {
			snprintf(r->why, sizeof(r->why),
				 "its cgroup could not be created: %s",
				 strerror(-rc));
			return r->rc = rc;
		}
		cg = r->cg;
	}
	if (cg) {
		rc = cgroup_attach_fds(cg, cgfd, PRIV_MAX_CGROUP_FDS);
		if (rc < 0) {
			snprintf(r->why, sizeof(r->why),
				 "its cgroup could not be opened: %s",
				 strerror(-rc));
			return r->rc = rc;
		}
		*ncg = rc;
	}
	q->spec.cgroup_fds = cgfd;
	q->spec.ncgroup = *ncg;
	return 0;
}

/*
 * The zygote: fork first, then make the session's data directory and
 * cgroups while the template forks (a few ms of the start's path), and
 * hand them to the child with its release.  Limits are in place before
 * the sandbox's first instruction of its own: the child joins the
 * groups before it does anything else.  Returns 0, -EAGAIN (no template
 * or it broke: the caller may fall back), or another -errno with
 * r->rc set when the session could not be prepared.
 */
static int
spawn_zygote(struct sandpool *sp, struct start_req *q, int *cgfd, int *ncg)
{
	struct start_result *r = &q->res;
	struct start_zygote_child c;
	int rc;

	rc = start_zygote_fork(sp, &q->spec, r, &c);
	if (rc < 0)
		return rc;
	rc = prepare(sp, q, cgfd, ncg);
	if (rc < 0) {
		start_zygote_abandon(sp, &c);
		return rc;
	}
	return start_zygote_release(sp, &q->spec, r, &c);
}

static void
run_spawn(struct sandpool *sp, struct start_req *q)
{
	struct start_result *r = &q->res;
	int cgfd[PRIV_MAX_CGROUP_FDS], ncg = 0, sv[2] = {-1, -1};
	int rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r->rc = -errno;
		snprintf(r->why, sizeof(r->why), "socketpair: %s",
			 strerror(errno));
		return;
	}
	q->spec.ctl = sv[1];
	q->spec.cgroup_fds = cgfd;
	q->spec.ncgroup = 0;
	rc = -EAGAIN;
	if (q->want == START_ZYGOTE) {
		rc = spawn_zygote(sp, q, cgfd, &ncg);
		if (r->rc < 0)
			goto out; /* the session could not be prepared */
		if (rc == -EAGAIN && !q->client &&
		    start_zygote_state(sp, q->preload) ==
			    START_ZYGOTE_COMING) {
			/* The template is coming: a warm sandbox waits
			 * for it rather than cost a cold Python. */
			r->deferred = true;
			r->rc = rc;
			goto out;
		}
		if (rc < 0 && rc != -EAGAIN)
			log_warnx("session=%s zygote: %s; using the launcher",
				  q->sid, r->why);
	}
	if (rc < 0) {
		r->why[0] = '\0';
		rc = prepare(sp, q, cgfd, &ncg);
		if (rc < 0)
			goto out;
		rc = start_launcher_spawn(sp, &q->spec, r);
	}
	r->rc = rc;
	if (rc == 0) {
		r->ctl = sv[0];
		sv[0] = -1;
	}
out:
	while (ncg > 0)
		close(cgfd[--ncg]);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

static void
run_cleanup(struct sandpool *sp, struct start_req *q)
{
	struct cgroup_stats st;

	if (q->dir)
		priv_data_remove(q->dir, q->data_dir, q->mounted);
	/* After the unmount: the files' pages are uncharged while the
	 * memory group still exists, so no zombie group holds them. */
	if (q->cg) {
		cgroup_stats(q->cg, &st);
		log_debug("cgroup %s: peak memory %llu KiB, cpu %llu ms, oom "
			  "kills %llu",
			  q->sid[0] ? q->sid : "-",
			  (unsigned long long)(st.mem_peak >> 10),
			  (unsigned long long)(st.cpu_usec / 1000),
			  (unsigned long long)st.oom_kills);
		cgroup_remove(sp->cgroups, q->cg);
	}
}

static void *
starter_main(void *arg)
{
	struct sandpool *sp = arg;
	struct start *st = sp->start;

	for (;;) {
		struct start_req *q;

		q = (struct start_req *)start_queue_pop(&st->queue);
		if (q == NULL)
			break; /* stopping, and the queue is empty */

		switch (q->op) {
		case REQ_SPAWN:
			run_spawn(sp, q);
			break;
		case REQ_DATA:
			run_data(sp, q);
			break;
		case REQ_CLEANUP:
			run_cleanup(sp, q);
			req_free(q);
			continue;
		}
		pthread_mutex_lock(&sp->lock);
		q->res.data_only = q->op == REQ_DATA;
		session_start_done(sp, q->s, &q->res);
		pthread_cond_broadcast(&sp->start_cond);
		pthread_mutex_unlock(&sp->lock);
		session_unref(sp, q->s);
		req_free(q);
	}
	return NULL;
}

int
start_init(struct sandpool *sp)
{
	struct start *st = xcalloc(1, sizeof(*st));
	int i, rc;

	start_queue_init(&st->queue);
	sp->start = st;
	rc = start_zygote_init(sp);
	if (rc < 0)
		return rc;
	for (i = 0; i < STARTER_THREADS; i++) {
		rc = pthread_create(&st->threads[i], NULL, starter_main, sp);
		if (rc != 0)
			return -rc;
		st->nthreads++;
	}
	return 0;
}

void
start_fini(struct sandpool *sp)
{
	struct start *st = sp->start;
	int i;

	if (st == NULL)
		return;
	/* Templates first: nothing is spawned any more, and a starter
	 * waiting on one gets its answer (or the broken socket) now. */
	start_zygote_fini(sp);
	start_queue_stop(&st->queue);
	for (i = 0; i < st->nthreads; i++)
		pthread_join(st->threads[i], NULL);
	start_queue_fini(&st->queue);
	free(st);
	sp->start = NULL;
}
