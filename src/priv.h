/* SPDX-License-Identifier: MIT */
/*
 * priv.h: the server's privileged actions, all in one place so that they
 * can later move into a separate privileged process with re-validated,
 * typed requests (STYLE.md §3.6): session data directories and their quota
 * mounts, starting the sandbox launcher (with its cgroup fds), signalling
 * sandboxes, and the reaper that cleans up after a crashed server.  The
 * cgroup files themselves are written by cgroup.c.
 */
#ifndef SANDPOOL_PRIV_H
#define SANDPOOL_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Create dir and dir/data for a session.  With quota > 0 a tmpfs of that
 * size owned by uid is mounted on dir/data (mounted before the sandbox is
 * cloned: host propagation is private); otherwise data is a plain 0700
 * directory owned by uid.  *mounted says which.  Returns 0 or -errno.
 */
int priv_data_create(const char *dir, const char *data_dir, uint64_t quota,
		     uid_t uid, bool *mounted);

/*
 * Remove a session's directory and everything in it, without following any
 * link the sandbox may have planted: unmount the quota tmpfs (which drops
 * its pages at once) or walk the plain directory with *at() calls and
 * O_NOFOLLOW.  Call only once the sandbox is dead.
 */
int priv_data_remove(const char *dir, const char *data_dir, bool mounted);

/* Remove whatever a crashed server left in sessions_dir (at startup). */
void priv_cleanup_stale(const char *sessions_dir);

struct priv_spawn {
	const char *sandbox_bin; /* the launcher binary */
	const char *data_dir;
	const char *runtime_dir;
	const char *python;
	uint64_t uid0;          /* host uid of inside root */
	uint64_t tmp_size;      /* bytes */
	uint32_t pids;
	const char *const *env; /* K=V strings for the kernel, NULL-ended */
	int ctl_fd;             /* becomes fd 3 of the launcher and kernel */
	int report_fd;          /* becomes fd 4 of the launcher */
	const int *cgroup_fds;  /* attach files the child writes "0" to */
	int ncgroup;            /* 0..PRIV_MAX_CGROUP_FDS */
};

#define PRIV_MAX_CGROUP_FDS 4 /* fds 5..8 of the launcher */

/*
 * Start the launcher (posix_spawn: safe from a threaded process).  The
 * launcher reports "ok <pid>" on report_fd and exits; the sandbox's pid 1
 * is then our child.  Returns 0 and the launcher's pid, or -errno.
 */
int priv_sandbox_spawn(const struct priv_spawn *req, pid_t *launcher_pid);

/*
 * Run argv (absolute path in argv[0]) with envp, stdin and stderr on
 * /dev/null, and return what it printed on stdout (at most cap bytes, at
 * most timeout_ms of waiting; the child is then killed).  For small
 * host-side helpers such as reading the package list.  Caller frees *out.
 */
int priv_run_capture(char *const *argv, char *const *envp, size_t cap,
		     uint32_t timeout_ms, char **out);

struct priv_template {
	const char *sandbox_bin;  /* runs `--template` */
	const char *python;       /* the interpreter */
	uid_t uid;                /* the template's host uid (no caps) */
	const char *const *env;   /* its whole environment, NULL-ended */
	int chan_fd;              /* becomes fd 3: its socket to us */
	int runtime_fd;           /* becomes fd 4: O_PATH of runtime/ */
	int ext_fd;               /* becomes fd 5: the extension, O_RDONLY */
};

/*
 * Start a zygote template: `sandpool-sandbox --template` drops to
 * req->uid and execs `python3 -I /proc/self/fd/4/zygote.py` with fds 3-5
 * as above, stdin and stdout on /dev/null and our stderr.  posix_spawn,
 * so safe from a threaded process.  Returns 0 and its pid, or -errno.
 */
int priv_template_spawn(const struct priv_template *req, pid_t *pid);

/*
 * A zygote template cloned pid as pid 1 of a new sandbox: check that it
 * is our child (CLONE_PARENT; a template is less trusted than we are),
 * write its uid and gid maps for host uid uid0, and release it with one
 * byte on the unix socket release_fd that brings fds[0..n) (the data
 * tree, then the cgroup attach files).  Returns 0 or -errno (the caller
 * then kills and reaps pid).
 */
int priv_zygote_release(pid_t pid, uint64_t uid0, int release_fd,
			const int *fds, size_t n);

/*
 * A sealed, close-on-exec memfd holding a copy of the file at path
 * (named name), for a sandbox to exec without seeing the file.  Returns
 * the fd, or -1 with errno set.
 */
int priv_memfd_copy(const char *path, const char *name);

struct cgroup_root;

/*
 * Start the reaper: a child forked now (call it single-threaded, after
 * cgroup_init) that outlives a crash of the server.  It holds a pipe's
 * read end and inherits the state directory's lock.  When the server
 * stops normally it calls priv_reaper_stop() and the reaper just exits.
 * If the server dies any other way (SIGKILL, a crash) the pipe reaches
 * EOF and the reaper cleans up in its place: it kills the sandboxes left
 * in the cgroup subtree, removes the subtree, unmounts and removes the
 * session directories, and exits, releasing the lock.  Returns 0 with the
 * pipe's write end (close-on-exec) and the reaper's pid, or -errno.
 */
int priv_reaper_start(const struct cgroup_root *cg, const char *sessions_dir,
		      int lock_fd, int *fd, pid_t *pid);

/* Tell the reaper that the server cleaned up itself, and reap it. */
void priv_reaper_stop(int fd, pid_t pid);

/* Send sig to the process behind pidfd.  Returns 0 or -errno. */
int priv_signal(int pidfd, int sig);

#endif
