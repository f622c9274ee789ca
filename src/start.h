/* SPDX-License-Identifier: MIT */
/*
 * start.h: the start path.  A session's sandbox is made by one of two
 * backends behind one interface: the launcher (start_launcher.c, a fresh
 * sandpool-sandbox process and a cold Python) and the zygote
 * (start_zygote.c, a fork of a warm template).  Both run the same
 * sandbox-entry ritual (sandbox_child.c), so the sandbox is the same.
 *
 * The slow host-side work of a start (the data tmpfs mount, the cgroup's
 * mkdir and limits, spawning, uid maps) runs on the starter threads
 * here, never under sp->lock and never on an HTTP thread: the loop thread
 * queues a request (a copy of what the start needs) under the lock, a
 * starter does the work unlocked, and hands the result back to the
 * session under the lock (session_start_done).  Removing a closed
 * session's files and cgroups goes the same way.
 */
#ifndef SANDPOOL_START_H
#define SANDPOOL_START_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sandpool;
struct session;
struct cgroup;
struct pool;

/* A pool's `start` setting; also which backend started a sandbox. */
enum start_backend { START_ZYGOTE, START_LAUNCHER };

#define START_ENV_MAX 16 /* entries of the kernel's environment */

/* What a backend needs to make one sandbox (start.c fills it in). */
struct start_spec {
	const char *sid;       /* for logs */
	const char *data_dir;  /* bind-mounted at /mnt/data */
	uint64_t uid0;         /* host uid of inside root */
	uint64_t tmp_size;     /* bytes: /tmp */
	uint32_t nproc;        /* RLIMIT_NPROC */
	const char *preload;   /* the pool's preload set */
	int ctl;               /* the sandbox's end of the control socket */
	const int *cgroup_fds; /* attach files for the child (cgroup.c) */
	int ncgroup;
};

/* What a start request produced (start.c fills it, session.c takes it). */
struct start_result {
	bool data_only;    /* only the data directory was asked for */
	int rc;            /* 0, or -errno: the start failed (why) */
	bool deferred;     /* no template up yet: retry later, no failure */
	char why[200];
	bool data_made;    /* this request made the data directory */
	bool data_mounted; /* ... with a quota tmpfs on it */
	struct cgroup *cg; /* groups made by this request, or NULL */
	enum start_backend backend;
	pid_t pid1;        /* the sandbox's pid 1, our child */
	int pidfd;         /* of pid1 */
	int ctl;           /* our end of the control socket */
	int errfd;         /* zygote: setup error pipe, read end; or -1 */
};

/*
 * Start the starter threads and the zygote's template manager.  Call
 * once, after sessions_init and before the loop runs.  Returns 0 or
 * -errno.
 */
int start_init(struct sandpool *sp);

/*
 * Stop: finish every queued request (cleanups included), stop the
 * templates and join the threads.  Call after the loop has stopped.
 */
void start_fini(struct sandpool *sp);

/*
 * sp->lock held (loop thread): queue the start of s's sandbox; s goes
 * to SESSION_SPAWNING and holds a reference until session_start_done().
 * client: a request waits for it (else it is a warm or probe sandbox,
 * which waits for the template rather than fall back to the launcher).
 */
void start_spawn(struct sandpool *sp, struct session *s, bool client);

/*
 * sp->lock held: make s's data directory if no start is about to, and
 * wait (at most a few seconds, the lock released meanwhile) until it
 * exists.  For file requests on a session whose sandbox is not there:
 * HTTP threads never mount.  Returns 0, or -errno (-ETIMEDOUT, the
 * mount's error, -ESHUTDOWN).
 */
int start_wait_data(struct sandpool *sp, struct session *s);

/*
 * sp->lock held: remove a closed session's data directory (unmounting
 * its tmpfs) and then its cgroups, on a starter thread.  Takes ownership
 * of dir, data_dir and cg (any may be NULL).
 */
void start_cleanup(struct sandpool *sp, char *dir, char *data_dir,
		   bool mounted, struct cgroup *cg);

/*
 * sp->lock held: may a warm sandbox of pool p be started now?  False
 * while the pool's template is coming up (a warm sandbox then waits for
 * it instead of costing a cold Python); true when it is up, when the
 * pool uses the launcher, or when the template keeps failing.
 */
bool start_warm_ok(struct sandpool *sp, const struct pool *p);

/*
 * The kernel's whole environment for a preload set, "K=V" strings into
 * env (NULL-terminated; free each).  Identical for both backends: the
 * launcher passes it to the kernel, the zygote to its template, whose
 * children inherit it.
 */
void start_kernel_env(const char *preload, char **env, size_t n);

/* Text for a backend ("zygote", "launcher"). */
const char *start_backend_name(enum start_backend b);

#endif
