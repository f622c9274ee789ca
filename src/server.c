// SPDX-License-Identifier: MIT
/*
 * server.c: the server context's start and stop, shared by `sandpool
 * serve` (main.c, which adds the HTTP daemon) and `sandpool mcp`
 * (mcp_stdio.c, an embedded pool answering on stdin/stdout).  Everything
 * here runs once, at startup or shutdown, on the main thread; startup
 * errors are fatal.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "cgroup.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "mcp.h"
#include "metrics.h"
#include "priv.h"
#include "sandpool.h"
#include "session.h"
#include "start.h"
#include "store.h"

#define STATE_LOCK_WAIT_MS 10000 /* for a predecessor's reaper to finish */

/* Directory of our own binary, to find sandpool-sandbox and runtime/. */
static char *
exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0)
		fatal("readlink /proc/self/exe");
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	return xstrdup(path);
}

static char *
find_runtime(const struct config *cfg, const char *dir)
{
	static const char *const tries[] = {"/../runtime",
					    "/../share/sandpool/runtime"};
	char kp[PATH_MAX + 16], real[PATH_MAX];
	size_t i;

	if (cfg->runtime_dir[0]) {
		snprintf(kp, sizeof(kp), "%s/kernel.py", cfg->runtime_dir);
		if (access(kp, R_OK) < 0)
			fatalx("runtime_dir %s has no readable kernel.py",
			       cfg->runtime_dir);
		if (realpath(cfg->runtime_dir, real) == NULL)
			fatal("realpath %s", cfg->runtime_dir);
		return xstrdup(real);
	}
	for (i = 0; i < ARRAY_SIZE(tries); i++) {
		char d[PATH_MAX];

		snprintf(d, sizeof(d), "%s%s", dir, tries[i]);
		snprintf(kp, sizeof(kp), "%s/kernel.py", d);
		if (access(kp, R_OK) == 0 && realpath(d, real) != NULL)
			return xstrdup(real);
	}
	fatalx("cannot find runtime/kernel.py next to %s; set runtime_dir",
	       dir);
}

/* The zygote's Python extension, beside the binary (the build tree) or
 * in ../lib/sandpool (make install); NULL when missing: every pool then
 * starts with the launcher. */
static char *
find_zygote_so(const char *dir)
{
	static const char *const tries[] = {
		"/sandpool-zygote.so", "/../lib/sandpool/sandpool-zygote.so"};
	char p[PATH_MAX], real[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tries); i++) {
		snprintf(p, sizeof(p), "%s%s", dir, tries[i]);
		if (access(p, R_OK) == 0 && realpath(p, real) != NULL)
			return xstrdup(real);
	}
	log_warnx("sandpool-zygote.so not found next to %s: every pool "
		  "starts its sandboxes with the launcher",
		  dir);
	return NULL;
}

/* Thousands of sessions hold a few fds each (control socket, pidfd,
 * OOM notification, /proc files): take the hard limit. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("setrlimit(RLIMIT_NOFILE)");
	}
}

/* mkdir -p for the state dir, mode 0700: it holds every session's files
 * and later the key database. */
static void
make_state_dir(struct sandpool *sp)
{
	char real[PATH_MAX], tmp[PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", sp->cfg->state_dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			fatal("mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", tmp);
	if (chmod(tmp, 0700) < 0)
		fatal("chmod %s", tmp);
	if (realpath(tmp, real) == NULL)
		fatal("realpath %s", tmp);
	if (strlen(real) >= sizeof(sp->cfg->state_dir))
		fatalx("state_dir %s is too long", real);
	memcpy(sp->cfg->state_dir, real, strlen(real) + 1);
	sp->sessions_dir = xasprintf("%s/sessions", real);
	if (mkdir(sp->sessions_dir, 0700) < 0 && errno != EEXIST)
		fatal("mkdir %s", sp->sessions_dir);
}

/*
 * One server per state directory: a second one would take the first's
 * sessions and cgroups for a crashed predecessor's and remove them.  The
 * lock dies with the process and its reaper, so a crash never leaves it
 * held for longer than the reaper's cleanup, which is waited for.
 */
static void
lock_state_dir(struct sandpool *sp)
{
	char *path = xasprintf("%s/lock", sp->cfg->state_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	uint64_t until = now_ms() + STATE_LOCK_WAIT_MS;
	bool said = false;

	if (fd < 0)
		fatal("open %s", path);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			fatal("flock %s", path);
		if (now_ms() >= until)
			fatalx("state_dir %s is in use by another sandpool "
			       "server",
			       sp->cfg->state_dir);
		if (!said)
			log_info("state_dir %s is locked; waiting up to %d s "
				 "(a previous server's reaper may be cleaning "
				 "up)",
				 sp->cfg->state_dir, STATE_LOCK_WAIT_MS / 1000);
		said = true;
		usleep(50 * 1000);
	}
	free(path);
	sp->state_lock = fd;
}

/* Take the state directory over: kill and remove what a crashed run left
 * (its sandboxes and cgroups first, then its session directories) and
 * set up this run's cgroup subtree. */
static void
claim_state_dir(struct sandpool *sp)
{
	char why[512];

	lock_state_dir(sp);
	if (cgroup_init(sp->cfg->state_dir, &sp->cgroups, why, sizeof(why)) < 0)
		fatalx("%s", why);
	priv_cleanup_stale(sp->sessions_dir);
	/* Still single-threaded: the reaper is a plain fork. */
	if (priv_reaper_start(sp->cgroups, sp->sessions_dir, sp->state_lock,
			      &sp->reaper_fd, &sp->reaper_pid) < 0)
		fatal("cannot start the reaper");
}

void
server_open(struct sandpool *sp, struct config *cfg, bool http,
	    sigset_t *set)
{
	struct sp_err err = {0};

	sp->cfg = cfg;
	sp->auth_required = cfg->nkeys > 0;
	/* Keys made with `sandpool keys create` count too. */
	if (store_open(cfg->state_dir, STORE_CREATE, &sp->store, &err) < 0)
		fatalx("%s", err.msg);
	if (store_keys_active(sp->store) > 0)
		sp->auth_required = true;
	if (http && !sp->auth_required &&
	    !auth_listen_is_loopback(cfg->listen))
		fatalx("refusing to listen on %s without an API key: anyone "
		       "who can reach it could run code. Add --api-key (or "
		       "api_key in the config), or listen on 127.0.0.1",
		       cfg->listen);
	if (geteuid() != 0)
		fatalx("sandpool %s must run as root: it creates user "
		       "namespaces with mapped uids, mounts and cgroups",
		       http ? "serve" : "mcp");
	/* Drop supplementary groups before anything is cloned: a sandbox
	 * must never inherit the server's groups (platform-notes §1). */
	if (setgroups(0, NULL) < 0)
		fatal("setgroups");
	sp->exe_dir = exe_dir();
	sp->sandbox_bin = xasprintf("%s/sandpool-sandbox", sp->exe_dir);
	if (access(sp->sandbox_bin, X_OK) < 0)
		fatal("%s", sp->sandbox_bin);
	sp->runtime_dir = find_runtime(cfg, sp->exe_dir);
	sp->zygote_so = find_zygote_so(sp->exe_dir);
	raise_nofile();
	make_state_dir(sp);
	claim_state_dir(sp);

	/* Signals: the main thread waits for them; every other thread,
	 * created below, inherits this mask. */
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&sp->lock, NULL);
	pthread_mutex_init(&sp->metadata_lock, NULL);
	sp->metrics = metrics_new();
	if (cfg->audit_enabled &&
	    audit_start(cfg->state_dir, cfg->audit_store_code,
			cfg->audit_retention_days, &sp->audit, &err) < 0)
		fatalx("audit: %s", err.msg);
	sp->epfd = sp->wakefd = -1;
	sessions_init(sp);
	if (start_init(sp) < 0)
		fatal("cannot start the starter threads");
	if (loop_start(sp) < 0)
		fatal("cannot start the event loop");
	if (mcp_init(sp) < 0)
		fatal("cannot start the MCP ticker");
}

void
server_close(struct sandpool *sp)
{
	loop_stop(sp, SERVER_DRAIN_MS);
	/* Every sandbox is reaped: finish the cleanups, stop templates. */
	start_fini(sp);
	http_stop(sp, 2000);
	/* No tool call is in flight once the loop has stopped. */
	mcp_fini(sp);
	sessions_fini(sp);
	/* Every session group is gone: remove the instance subtree. */
	cgroup_fini(sp->cgroups);
	sp->cgroups = NULL;
	/* After the loop and HTTP threads: nothing records any more. */
	audit_stop(sp->audit);
	store_close(sp->store);
	metrics_free(sp->metrics);
	log_info("stopped");
	free(sp->exe_dir);
	free(sp->sandbox_bin);
	free(sp->runtime_dir);
	free(sp->zygote_so);
	free(sp->sessions_dir);
	free(sp->metadata_json);
	pthread_mutex_destroy(&sp->lock);
	pthread_mutex_destroy(&sp->metadata_lock);
	/* Everything is removed: the reaper has nothing left to do. */
	priv_reaper_stop(sp->reaper_fd, sp->reaper_pid);
	close(sp->state_lock);
}
