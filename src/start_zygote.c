// SPDX-License-Identifier: MIT
/*
 * start_zygote.c: the zygote backend (start_zygote.h).
 *
 * A template is `python3 -I runtime/zygote.py` started through
 * `sandpool-sandbox --template` as an unprivileged host uid (uid_base +
 * 2047, an offset of slot 0 that no session uses), with no capabilities
 * and the kernel's environment.  It imports its preload set, runs a few
 * cells, gc.freeze()s and says "ready" on its SOCK_SEQPACKET socket.
 * Then each spawn request (one message with the fds the sandbox needs:
 * control socket, release pipe, error pipe, the two detached mount trees,
 * the cgroup attach files) makes it clone one sandbox with CLONE_PARENT:
 * pid 1 is our child, exactly as with the launcher.  We check that, write
 * its uid maps (the template cannot) and release it; it runs the shared
 * sandbox-entry ritual and its PROGRAM becomes the session's kernel.
 *
 * The manager thread owns the templates' lives: it starts one per preload
 * set in use, waits for its "ready", reaps it when it dies (new sessions
 * fall back to the launcher meanwhile; it is restarted with a backoff),
 * replaces it after zygote.max_forks forks or zygote.max_age seconds (the
 * replacement is ready before the old one goes), and retires templates
 * no pool uses any more.  Starter threads only send requests, holding a
 * reference so that a retired template lives until its last request is
 * answered.  A starter sends its request (z->io), makes the session's
 * files and groups while the template forks, then reads its answer:
 * the template answers in order, so each reads in the order of the
 * sends (z->turn under z->rio).
 *
 * Lock order: sp->lock, then zy->lock, then z->io or z->rio.  The manager never
 * takes sp->lock; it wakes the loop (to refill) through its eventfd.
 */
#define _GNU_SOURCE
#include "start_zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "priv.h"
#include "sandpool.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define READY_MS 60000     /* a template's startup, imports included */
#define REPLY_MS 5000      /* one spawn request */
#define FAILS_DOWN 3       /* failed starts in a row: DOWN (launcher) */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define YOUNG_MS 10000     /* a template dying younger counts as failed */
#define MSG_MAX 4096
#define MAX_FDS 5 /* a spawn request: ctl, release, err, runtime, init */
#define TEMPLATE_UID_OFFSET (POOL_SLOT_STRIDE - 1)

enum zstate { Z_STARTING, Z_UP, Z_DEAD };

struct zygote {
	char preload[sizeof(((struct pool *)0)->preload)];
	pid_t pid;
	int pidfd;          /* -1 once reaped */
	int chan;           /* our end; -1 once closed */
	enum zstate state;
	uint64_t started_ms, up_ms;
	uint64_t forks;     /* spawn requests sent */
	uint64_t seq;       /* request ids */
	int refs;           /* starters using it */
	bool retire;        /* kill once refs is 0 */
	bool killed;
	pthread_mutex_t io; /* sending on chan; sent */
	uint64_t sent;      /* requests sent: the next one's ticket */
	pthread_mutex_t rio; /* reading from chan; turn */
	pthread_cond_t rcond;
	uint64_t turn;      /* the ticket whose answer is read next */
	struct zygote *next;
};

struct zset {
	char preload[sizeof(((struct pool *)0)->preload)];
	bool wanted;          /* a pool uses it */
	struct zygote *cur;   /* Z_UP, or NULL */
	struct zygote *coming; /* Z_STARTING, or NULL */
	int failures;         /* failed starts in a row */
	uint64_t retry_ms;    /* monotonic: no new start before */
};

struct start_zygote {
	pthread_mutex_t lock;
	pthread_t thread;
	bool running, stop;
	int wakefd;           /* wakes the manager */
	int init_fd;          /* a sealed memfd of sandpool-sandbox, which
			       * each pid 1 re-execs into (init.c) */

	struct zset sets[CONFIG_MAX_POOLS];
	int nsets;
	struct zygote *all;   /* every template not yet freed */
	uid_t uid;
};

static void
wake_manager(struct start_zygote *zy)
{
	uint64_t one = 1;

	if (write(zy->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("zygote wake");
}

static void
wake_loop(struct sandpool *sp)
{
	uint64_t one = 1;

	if (sp->wakefd >= 0 && write(sp->wakefd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		log_warn("wake loop");
}

/* zy->lock held.  The set for preload, added (wanted) when new. */
static struct zset *
set_of(struct start_zygote *zy, const char *preload, bool add)
{
	int i;

	for (i = 0; i < zy->nsets; i++)
		if (strcmp(zy->sets[i].preload, preload) == 0)
			return &zy->sets[i];
	if (!add)
		return NULL;
	/* Reuse a set nobody wants and nothing lives in. */
	for (i = 0; i < zy->nsets; i++)
		if (!zy->sets[i].wanted && zy->sets[i].cur == NULL &&
		    zy->sets[i].coming == NULL)
			break;
	if (i == zy->nsets) {
		if (zy->nsets == CONFIG_MAX_POOLS)
			return NULL;
		zy->nsets++;
	}
	memset(&zy->sets[i], 0, sizeof(zy->sets[i]));
	snprintf(zy->sets[i].preload, sizeof(zy->sets[i].preload), "%s",
		 preload);
	zy->sets[i].wanted = true;
	wake_manager(zy);
	return &zy->sets[i];
}

static enum start_zygote_state
state_of(const struct zset *set)
{
	if (set->cur && set->cur->state == Z_UP)
		return START_ZYGOTE_UP;
	return set->failures >= FAILS_DOWN ? START_ZYGOTE_DOWN
					   : START_ZYGOTE_COMING;
}

enum start_zygote_state
start_zygote_state(struct sandpool *sp, const char *preload)
{
	struct start_zygote *zy = sp->zygote;
	enum start_zygote_state st = START_ZYGOTE_DOWN;
	struct zset *set;

	if (zy == NULL)
		return st;
	pthread_mutex_lock(&zy->lock);
	set = set_of(zy, preload, true);
	if (set)
		st = state_of(set);
	pthread_mutex_unlock(&zy->lock);
	return st;
}

/* ---- a template's life (manager thread, zy->lock held) ---- */

/* Ask z to go: SIGKILL once no starter uses it.  Its sandboxes stay. */
static void
retire(struct zygote *z)
{
	z->retire = true;
	if (z->refs == 0 && !z->killed && z->pidfd >= 0) {
		priv_signal(z->pidfd, SIGKILL);
		z->killed = true;
	}
}

static void
zygote_free(struct start_zygote *zy, struct zygote *z)
{
	struct zygote **pp;

	for (pp = &zy->all; *pp; pp = &(*pp)->next)
		if (*pp == z) {
			*pp = z->next;
			break;
		}
	if (z->chan >= 0)
		close(z->chan);
	if (z->pidfd >= 0)
		close(z->pidfd);
	pthread_mutex_destroy(&z->io);
	pthread_mutex_destroy(&z->rio);
	pthread_cond_destroy(&z->rcond);
	free(z);
}

static int
launch(struct sandpool *sp, struct zset *set)
{
	struct start_zygote *zy = sp->zygote;
	char *env[START_ENV_MAX] = {NULL};
	int sv[2] = {-1, -1}, rt = -1, ext = -1, rc;
	struct priv_template req;
	struct zygote *z;
	pid_t pid;
	size_t i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		goto out;
	}
	/* The state directory and the build tree may be 0700 root: the
	 * template reads its files through fds we open. */
	rt = open(sp->runtime_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ext = open(sp->zygote_so, O_RDONLY | O_CLOEXEC);
	if (rt < 0 || ext < 0) {
		rc = -errno;
		goto out;
	}
	start_kernel_env(set->preload, env, ARRAY_SIZE(env));
	req = (struct priv_template){
		.sandbox_bin = sp->sandbox_bin,
		.python = sp->cfg->python,
		.uid = zy->uid,
		.env = (const char *const *)env,
		.chan_fd = sv[1],
		.runtime_fd = rt,
		.ext_fd = ext,
	};
	rc = priv_template_spawn(&req, &pid);
	if (rc < 0)
		goto out;
	z = xcalloc(1, sizeof(*z));
	snprintf(z->preload, sizeof(z->preload), "%s", set->preload);
	z->pid = pid;
	z->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	z->chan = sv[0];
	sv[0] = -1;
	z->state = Z_STARTING;
	z->started_ms = now_ms();
	pthread_mutex_init(&z->io, NULL);
	pthread_mutex_init(&z->rio, NULL);
	pthread_cond_init(&z->rcond, NULL);
	ENSURE(z->pidfd >= 0); /* our child, not reaped: cannot fail */
	z->next = zy->all;
	zy->all = z;
	set->coming = z;
	metrics_template(sp->metrics, false);
	log_info("zygote: starting a template for \"%s\" (pid %d)",
		 set->preload, (int)pid);
out:
	if (rc < 0)
		log_warnx("zygote: cannot start a template for \"%s\": %s",
			  set->preload, strerror(-rc));
	for (i = 0; env[i]; i++)
		free(env[i]);
	for (i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	if (rt >= 0)
		close(rt);
	if (ext >= 0)
		close(ext);
	return rc;
}

static void
failed(struct zset *set, const char *why)
{
	uint64_t backoff = BACKOFF_MIN_MS;
	int i;

	set->failures++;
	for (i = 1; i < set->failures && backoff < BACKOFF_MAX_MS; i++)
		backoff *= 2;
	if (backoff > BACKOFF_MAX_MS)
		backoff = BACKOFF_MAX_MS;
	set->retry_ms = now_ms() + backoff;
	log_warnx("zygote: the template for \"%s\" %s (%d in a row); "
		  "new sessions use the launcher, retry in %llu ms",
		  set->preload, why, set->failures,
		  (unsigned long long)backoff);
}

/* A STARTING template's socket is readable: its ready (or fatal). */
static void
on_hello(struct sandpool *sp, struct zset *set, struct zygote *z)
{
	char buf[MSG_MAX + 1];
	json_t *msg = NULL;
	const char *op = NULL;
	ssize_t n;

	n = recv(z->chan, buf, MSG_MAX, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		msg = json_loadb(buf, (size_t)n, 0, NULL);
	op = json_string_value(json_object_get(msg, "op"));
	if (op && strcmp(op, "ready") == 0 && json_is_array(json_object_get(
						      msg, "preloaded"))) {
		struct zygote *old = set->cur;

		z->state = Z_UP;
		z->up_ms = now_ms();
		set->coming = NULL;
		set->cur = z;
		set->failures = 0;
		if (old)
			retire(old);
		metrics_template(sp->metrics, true);
		log_info("zygote: the template for \"%s\" is ready in %llu ms "
			 "(pid %d)%s",
			 z->preload,
			 (unsigned long long)(z->up_ms - z->started_ms),
			 (int)z->pid,
			 old ? ", replacing the previous one" : "");
		wake_loop(sp); /* warm sandboxes can be forked now */
	} else {
		const char *m = json_string_value(json_object_get(msg,
								  "message"));

		log_warnx("zygote: the template for \"%s\" failed to start: "
			  "%.300s",
			  z->preload,
			  m ? m : n == 0 ? "it closed its socket" : "a bad "
								   "message");
		set->coming = NULL;
		retire(z);
		failed(set, "could not start");
		wake_loop(sp);
	}
	json_decref(msg);
}

/* z's pidfd is readable: it exited; reap it. */
static void
on_exit_z(struct sandpool *sp, struct zygote *z)
{
	struct start_zygote *zy = sp->zygote;
	siginfo_t si;
	int i;

	memset(&si, 0, sizeof(si));
	if (waitid((idtype_t)P_PIDFD, (id_t)z->pidfd, &si,
		   WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	close(z->pidfd);
	z->pidfd = -1;
	/* A starter may be using chan: no close (its number could be
	 * reused under it), only no more traffic; zygote_free closes. */
	if (z->chan >= 0)
		shutdown(z->chan, SHUT_RDWR);
	for (i = 0; i < zy->nsets; i++) {
		struct zset *set = &zy->sets[i];

		if (set->cur == z) {
			set->cur = NULL;
			if (now_ms() - z->up_ms < YOUNG_MS)
				failed(set, "died soon after it started");
			else
				log_warnx("zygote: the template for \"%s\" "
					  "died (%s %d); restarting it",
					  z->preload,
					  si.si_code == CLD_EXITED ? "status"
								   : "signal",
					  si.si_status);
		} else if (set->coming == z) {
			set->coming = NULL;
			failed(set, "died while starting");
		}
	}
	if (!z->retire)
		wake_loop(sp);
	z->state = Z_DEAD;
	if (z->refs == 0)
		zygote_free(zy, z);
}

static bool
rotation_due(struct sandpool *sp, const struct zygote *z, uint64_t now)
{
	const struct config *c = sp->cfg;

	return (c->zygote_max_forks && z->forks >= c->zygote_max_forks) ||
	       (c->zygote_max_age &&
		now - z->up_ms >= (uint64_t)c->zygote_max_age * 1000);
}

/* Start, replace and retire templates as the sets need; the time until
 * something is due, in ms. */
static int
manage(struct sandpool *sp, uint64_t now)
{
	struct start_zygote *zy = sp->zygote;
	uint64_t next = now + 1000;
	struct zygote *z, *nx;
	int i;

	for (i = 0; i < zy->nsets; i++) {
		struct zset *set = &zy->sets[i];

		if (!set->wanted) {
			if (set->cur)
				retire(set->cur);
			if (set->coming)
				retire(set->coming);
			set->cur = set->coming = NULL;
			continue;
		}
		if (set->coming && now - set->coming->started_ms >= READY_MS) {
			retire(set->coming);
			set->coming = NULL;
			failed(set, "did not say ready in time");
		}
		if (set->coming)
			continue;
		if (set->cur && !rotation_due(sp, set->cur, now))
			continue;
		if (now < set->retry_ms) {
			if (set->retry_ms < next)
				next = set->retry_ms;
			continue;
		}
		if (set->cur)
			log_info("zygote: replacing the template for \"%s\" "
				 "after %llu forks",
				 set->preload,
				 (unsigned long long)set->cur->forks);
		if (launch(sp, set) < 0)
			failed(set, "could not be spawned");
	}
	for (z = zy->all; z; z = nx) {
		nx = z->next;
		if (z->retire)
			retire(z);
	}
	return next > now ? (int)(next - now) : 0;
}

static void *
manager_main(void *arg)
{
	struct sandpool *sp = arg;
	struct start_zygote *zy = sp->zygote;
	struct pollfd pf[1 + 2 * 4 * CONFIG_MAX_POOLS];
	struct zygote *who[ARRAY_SIZE(pf)];
	bool is_chan[ARRAY_SIZE(pf)];

	pthread_mutex_lock(&zy->lock);
	while (!zy->stop) {
		struct zygote *z;
		int n = 1, i, timeout;

		timeout = manage(sp, now_ms());
		pf[0] = (struct pollfd){zy->wakefd, POLLIN, 0};
		for (z = zy->all; z && n + 2 <= (int)ARRAY_SIZE(pf);
		     z = z->next) {
			if (z->pidfd >= 0) {
				pf[n] = (struct pollfd){z->pidfd, POLLIN, 0};
				who[n] = z;
				is_chan[n++] = false;
			}
			if (z->state == Z_STARTING && z->chan >= 0 &&
			    !z->retire) {
				pf[n] = (struct pollfd){z->chan, POLLIN, 0};
				who[n] = z;
				is_chan[n++] = true;
			}
		}
		pthread_mutex_unlock(&zy->lock);
		n = poll(pf, (nfds_t)n, timeout) < 0 ? 0 : n;
		pthread_mutex_lock(&zy->lock);
		if (pf[0].revents & POLLIN) {
			uint64_t v;

			if (read(zy->wakefd, &v, sizeof(v)) < 0 &&
			    errno != EAGAIN)
				log_warn("zygote wakefd");
		}
		/* Hellos first, then exits: a template that said ready
		 * and died at once is handled in that order.  A template
		 * freed by an exit is never looked at again: exits are
		 * the last use of who[i]. */
		for (i = 1; i < n; i++) {
			int k;

			if (!is_chan[i] ||
			    !(pf[i].revents & (POLLIN | POLLHUP)))
				continue;
			for (k = 0; k < zy->nsets; k++)
				if (zy->sets[k].coming == who[i])
					on_hello(sp, &zy->sets[k], who[i]);
		}
		for (i = 1; i < n; i++)
			if (!is_chan[i] && (pf[i].revents & POLLIN))
				on_exit_z(sp, who[i]);
	}
	pthread_mutex_unlock(&zy->lock);
	return NULL;
}

/* ---- spawning (starter threads) ---- */

/* Send one request on z's socket, msg with fds; its ticket for
 * read_answer() in *ticket. */
static int
send_request(struct zygote *z, const char *msg, const int *fds, int nfds,
	     uint64_t *ticket)
{
	int rc;

	ENSURE(nfds > 0 && nfds <= MAX_FDS);
	pthread_mutex_lock(&z->io);
	rc = fd_send(z->chan, msg, strlen(msg), fds, (size_t)nfds);
	if (rc == 0)
		*ticket = z->sent++;
	pthread_mutex_unlock(&z->io);
	return rc;
}

/* The answer to the request with this ticket, once the earlier ones
 * have been read.  Every ticket is read exactly once, failing or not,
 * so that the next one's turn comes. */
static int
read_answer(struct zygote *z, uint64_t ticket, char *reply, size_t cap,
	    size_t *len)
{
	struct pollfd p = {z->chan, POLLIN, 0};
	ssize_t n = 0;
	int r, rc = 0;

	pthread_mutex_lock(&z->rio);
	while (z->turn != ticket)
		pthread_cond_wait(&z->rcond, &z->rio);
	do
		r = poll(&p, 1, REPLY_MS);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		do
			n = recv(z->chan, reply, cap, 0);
		while (n < 0 && errno == EINTR);
	}
	if (r < 0 || n < 0)
		rc = -errno;
	else if (r == 0)
		rc = -ETIMEDOUT;
	else if (n == 0)
		rc = -EPIPE;
	z->turn++;
	pthread_cond_broadcast(&z->rcond);
	pthread_mutex_unlock(&z->rio);
	if (rc == 0)
		*len = (size_t)n;
	return rc;
}

/* Drop a starter's reference to z; the last one of a retired or dead
 * template kills or frees it. */
static void
put_zygote(struct start_zygote *zy, struct zygote *z)
{
	pthread_mutex_lock(&zy->lock);
	z->refs--;
	if (z->refs == 0 && z->state == Z_DEAD)
		zygote_free(zy, z);
	else if (z->retire)
		retire(z);
	pthread_mutex_unlock(&zy->lock);
}

/* The template broke mid-request: restart it (new sessions fall back
 * meanwhile). */
static void
broken(struct start_zygote *zy, struct zygote *z, const char *why)
{
	int i;

	pthread_mutex_lock(&zy->lock);
	log_warnx("zygote: the template for \"%s\" (pid %d) failed a "
		  "request (%s); restarting it",
		  z->preload, (int)z->pid, why);
	for (i = 0; i < zy->nsets; i++)
		if (zy->sets[i].cur == z)
			zy->sets[i].cur = NULL;
	retire(z);
	wake_manager(zy);
	pthread_mutex_unlock(&zy->lock);
}

int
start_zygote_fork(struct sandpool *sp, const struct start_spec *spec,
		  struct start_result *r, struct start_zygote_child *c)
{
	struct start_zygote *zy = sp->zygote;
	int rel[2] = {-1, -1}, errp[2] = {-1, -1};
	int rt_tree = -1, fds[MAX_FDS], nfds = 0, i, rc;
	struct zygote *z = NULL;
	const char *step = "";
	struct zset *set;
	uint64_t id = 0;
	char msg[512];

	*c = (struct start_zygote_child){.release = -1, .errfd = -1};
	r->backend = START_ZYGOTE;
	if (zy == NULL)
		return -EAGAIN;
	pthread_mutex_lock(&zy->lock);
	set = set_of(zy, spec->preload, true);
	if (set && set->cur && set->cur->state == Z_UP && !set->cur->retire) {
		z = set->cur;
		z->refs++;
		z->forks++;
		id = ++z->seq;
	}
	pthread_mutex_unlock(&zy->lock);
	if (z == NULL) {
		snprintf(r->why, sizeof(r->why), "no template is up");
		return -EAGAIN;
	}
	/* What the child gets now: our runtime read-only, as the launcher
	 * mounts it (sandbox.c).  Its session's files come with the
	 * release (start_zygote_release). */
	rc = fd_open_tree(sp->runtime_dir, MOUNT_ATTR_RDONLY |
						   MOUNT_ATTR_NOSUID |
						   MOUNT_ATTR_NODEV,
			  &rt_tree, &step);
	if (rc == 0 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rel) < 0) {
		rc = -errno;
		step = "socketpair";
	}
	if (rc == 0 && pipe2(errp, O_CLOEXEC) < 0) {
		rc = -errno;
		step = "pipe2";
	}
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why),
			 "preparing the sandbox: %s: %s", step, strerror(-rc));
		goto out;
	}
	fds[nfds++] = spec->ctl;
	fds[nfds++] = rel[0];
	fds[nfds++] = errp[1];
	fds[nfds++] = rt_tree;
	fds[nfds++] = zy->init_fd;
	/* -1 is "unlimited" for RLIMIT_FSIZE (zygote.py). */
	snprintf(msg, sizeof(msg),
		 "{\"op\":\"spawn\",\"id\":%llu,\"hostname\":\"sandbox\","
		 "\"tmp_size\":%llu,\"pids\":%u,\"fsize\":-1}",
		 (unsigned long long)id, (unsigned long long)spec->tmp_size,
		 spec->nproc);
	rc = send_request(z, msg, fds, nfds, &c->ticket);
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "template request: %s",
			 strerror(-rc));
		broken(zy, z, r->why);
		rc = -EAGAIN;
		goto out;
	}
	c->z = z;
	c->id = id;
	c->release = rel[1];
	c->errfd = errp[0];
	rel[1] = errp[0] = -1;
	z = NULL; /* c holds the reference */
out:
	/* The template has the child's copies now (or never will). */
	for (i = 0; i < 2; i++) {
		if (rel[i] >= 0)
			close(rel[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (rt_tree >= 0)
		close(rt_tree);
	if (z)
		put_zygote(zy, z);
	return rc;
}

/* The template's answer to c's request: c->pid, or -EBUSY (it could
 * not fork) or -EAGAIN (it broke: restarted) with r->why. */
static int
await_child(struct start_zygote *zy, struct start_zygote_child *c,
	    struct start_result *r)
{
	struct zygote *z = c->z;
	char reply[MSG_MAX + 1];
	json_int_t pid = 0;
	json_t *rep = NULL;
	size_t len = 0;
	const char *op;
	int rc;

	rc = read_answer(z, c->ticket, reply, MSG_MAX, &len);
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "template request: %s",
			 strerror(-rc));
		broken(zy, z, r->why);
		return -EAGAIN;
	}
	/* The template is less trusted than we are: check its answer. */
	rep = json_loadb(reply, len, JSON_REJECT_DUPLICATES, NULL);
	op = json_string_value(json_object_get(rep, "op"));
	if (op && strcmp(op, "spawned") == 0 &&
	    json_integer_value(json_object_get(rep, "id")) ==
		    (json_int_t)c->id)
		pid = json_integer_value(json_object_get(rep, "pid"));
	if (op && strcmp(op, "error") == 0) {
		const char *m = json_string_value(json_object_get(rep,
								  "message"));

		snprintf(r->why, sizeof(r->why), "the template could not "
			 "fork: %s", m ? m : "?");
		rc = -EBUSY;
	} else if (pid <= 1 || pid > INT32_MAX) {
		snprintf(r->why, sizeof(r->why), "the template's answer is "
			 "not valid");
		broken(zy, z, r->why);
		rc = -EAGAIN;
	} else {
		c->pid = (pid_t)pid;
	}
	json_decref(rep);
	return rc;
}

/* Done with c: with kill_it, kill and reap its pid 1 (our child:
 * nobody else can reap it, so the pid is still ours). */
static void
drop_child(struct start_zygote *zy, struct start_zygote_child *c,
	   bool kill_it)
{
	int st;

	if (kill_it && c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	if (c->release >= 0)
		close(c->release);
	if (c->errfd >= 0)
		close(c->errfd);
	put_zygote(zy, c->z);
	*c = (struct start_zygote_child){.release = -1, .errfd = -1};
}

int
start_zygote_release(struct sandpool *sp, const struct start_spec *spec,
		     struct start_result *r, struct start_zygote_child *c)
{
	struct start_zygote *zy = sp->zygote;
	int fds[1 + PRIV_MAX_CGROUP_FDS], nfds = 0, data_tree = -1, i, rc;
	const char *step = "";

	rc = await_child(zy, c, r);
	if (rc < 0) {
		drop_child(zy, c, false);
		return rc;
	}
	/* The session's files with no setuid, devices or programs, as the
	 * launcher mounts them (sandbox.c). */
	rc = fd_open_tree(spec->data_dir, MOUNT_ATTR_NOSUID |
						  MOUNT_ATTR_NODEV |
						  MOUNT_ATTR_NOEXEC,
			  &data_tree, &step);
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why),
			 "preparing the sandbox: %s: %s", step, strerror(-rc));
		drop_child(zy, c, true);
		return rc;
	}
	ENSURE(spec->ncgroup >= 0 && spec->ncgroup <= PRIV_MAX_CGROUP_FDS);
	fds[nfds++] = data_tree;
	for (i = 0; i < spec->ncgroup; i++)
		fds[nfds++] = spec->cgroup_fds[i];
	rc = priv_zygote_release(c->pid, spec->uid0, c->release, fds,
				 (size_t)nfds);
	close(data_tree);
	r->pidfd = -1;
	if (rc == 0) {
		r->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
		if (r->pidfd < 0)
			rc = -errno;
	}
	if (rc < 0) {
		snprintf(r->why, sizeof(r->why), "releasing pid %d: %s",
			 (int)c->pid, strerror(-rc));
		/* -ESRCH: not our child after all; the template lied. */
		if (rc == -ESRCH)
			broken(zy, c->z, r->why);
		if (r->pidfd >= 0)
			close(r->pidfd);
		r->pidfd = -1;
		drop_child(zy, c, rc != -ESRCH);
		return rc;
	}
	r->pid1 = c->pid;
	r->errfd = c->errfd;
	c->errfd = -1;
	fd_set_nonblock(r->errfd);
	drop_child(zy, c, false);
	return 0;
}

void
start_zygote_abandon(struct sandpool *sp, struct start_zygote_child *c)
{
	struct start_result r = {0};

	(void)await_child(sp->zygote, c, &r);
	drop_child(sp->zygote, c, true);
}

/* ---- lifecycle ---- */

void
start_zygote_update(struct sandpool *sp)
{
	struct start_zygote *zy = sp->zygote;
	int i, k;

	if (zy == NULL)
		return;
	pthread_mutex_lock(&zy->lock);
	for (k = 0; k < zy->nsets; k++)
		zy->sets[k].wanted = false;
	for (i = 0; i < sp->npools; i++) {
		struct zset *set;

		if (sp->pools[i].cfg->start != START_ZYGOTE)
			continue;
		set = set_of(zy, sp->pools[i].preload, true);
		if (set)
			set->wanted = true;
	}
	wake_manager(zy);
	pthread_mutex_unlock(&zy->lock);
}

int
start_zygote_init(struct sandpool *sp)
{
	struct start_zygote *zy;
	int rc;

	if (sp->zygote_so == NULL)
		return 0; /* no extension: the launcher for every pool */
	zy = xcalloc(1, sizeof(*zy));
	pthread_mutex_init(&zy->lock, NULL);
	zy->uid = (uid_t)(sp->cfg->uid_base + TEMPLATE_UID_OFFSET);
	zy->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	zy->init_fd = priv_memfd_copy(sp->sandbox_bin, "sandpool-init");
	if (zy->wakefd < 0 || zy->init_fd < 0) {
		rc = -errno;
		log_warn("zygote: cannot set up");
		if (zy->wakefd >= 0)
			close(zy->wakefd);
		if (zy->init_fd >= 0)
			close(zy->init_fd);
		free(zy);
		return rc;
	}
	sp->zygote = zy;
	pthread_mutex_lock(&sp->lock);
	start_zygote_update(sp);
	pthread_mutex_unlock(&sp->lock);
	rc = pthread_create(&zy->thread, NULL, manager_main, sp);
	if (rc != 0)
		return -rc;
	zy->running = true;
	return 0;
}

void
start_zygote_fini(struct sandpool *sp)
{
	struct start_zygote *zy = sp->zygote;
	struct zygote *z;

	if (zy == NULL)
		return;
	pthread_mutex_lock(&zy->lock);
	zy->stop = true;
	wake_manager(zy);
	pthread_mutex_unlock(&zy->lock);
	if (zy->running)
		pthread_join(zy->thread, NULL);
	/* No starter is in a request: the loop has stopped, and with it
	 * every start.  Kill and reap what is left. */
	while ((z = zy->all) != NULL) {
		siginfo_t si;

		if (z->pidfd >= 0) {
			priv_signal(z->pidfd, SIGKILL);
			while (waitid((idtype_t)P_PIDFD, (id_t)z->pidfd, &si,
				      WEXITED) < 0 &&
			       errno == EINTR)
				;
		}
		zygote_free(zy, z);
	}
	close(zy->wakefd);
	close(zy->init_fd);
	pthread_mutex_destroy(&zy->lock);
	free(zy);
	sp->zygote = NULL;
}
