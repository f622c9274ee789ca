// SPDX-License-Identifier: MIT
/*
 * sandbox_child.c: the sandbox-entry ritual (nsjail's containProc):
 * sandbox_child_enter() reads top to bottom, one step per line with its
 * reason, in the order of platform-notes' recipe.  Both start backends
 * run it, so a launcher-started and a zygote-forked session get exactly
 * the same sandbox: the launcher's child (sandbox.c) and the child that
 * a zygote template clones (zygote_py.c).  It runs as pid 1 of the new
 * namespaces, single-threaded (a fresh image, or a fork of a
 * single-threaded template), so malloc is fine.  A failing step reports
 * through the error pipe and exits; the theory of operation is at the
 * top of sandbox.c, the zygote's in docs/ARCHITECTURE.md.
 */
#define _GNU_SOURCE
#include "sandbox_child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "landlock.h"
#include "mount.h"
#include "seccomp_policy.h"
#include "util.h"

/* Exit status of a child whose setup failed (the launcher reports it). */
#define EXIT_SETUP_FAILED 1

int
sandbox_errf(struct sandbox_err *e, int rc, const char *fmt, ...)
{
	char what[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rc < 0)
		snprintf(e->msg, sizeof(e->msg), "%s: %s", what, strerror(-rc));
	else
		snprintf(e->msg, sizeof(e->msg), "%s", what);
	return rc;
}

bool
sandbox_child_hostname_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > SANDBOX_HOSTNAME_MAX || s[0] == '-' ||
	    s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* Die with a message on the error pipe, if rc is a failure. */
static void
check(int errfd, int rc, struct sandbox_err *e, const char *what)
{
	if (rc >= 0)
		return;
	if (e->msg[0] == '\0')
		sandbox_errf(e, rc, "%s", what);
	if (write(errfd, e->msg, strlen(e->msg)) < 0) {
		/* The launcher is gone; nobody is left to tell. */
	}
	_exit(EXIT_SETUP_FAILED);
}

static void
wait_release(int fd)
{
	char c;
	ssize_t n;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	/* EOF: the launcher failed before the maps and is reporting it. */
	if (n != 1)
		_exit(EXIT_SETUP_FAILED);
	close(fd);
}

/* The release of a zygote child: one byte and the session's files,
 * fds[0] the data tree, then the cgroup attach files.  EOF, or a word
 * without the data tree: the host gave up on us. */
static void
wait_release_fds(int fd, int *fds, size_t *n)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) *
				    (1 + SANDBOX_MAX_CGROUP_FDS))];
	} u;
	struct msghdr m = {0};
	struct cmsghdr *cm;
	struct iovec iov;
	char c;
	ssize_t r;

	iov = (struct iovec){&c, 1};
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	do
		r = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	*n = 0;
	cm = r == 1 && !(m.msg_flags & MSG_CTRUNC) ? CMSG_FIRSTHDR(&m) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
		*n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), *n * sizeof(int));
	}
	if (*n == 0)
		_exit(EXIT_SETUP_FAILED);
	close(fd);
}

static int
join_cgroups(const int *fds, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		/* "0" is the writer itself, for tasks and cgroup.procs. */
		if (rc == 0 && write(fds[i], "0", 1) != 1)
			rc = -errno;
		close(fds[i]);
	}
	return rc;
}

/* Move *fd off fd 3 (which the control socket takes). */
static int
clear_fd3(int *fd)
{
	int nfd;

	if (*fd != 3)
		return 0;
	nfd = fcntl(3, F_DUPFD_CLOEXEC, 4);
	if (nfd < 0)
		return -errno;
	*fd = nfd;
	return 0;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close every fd from lo up but those in keep[0..n) (sorted here). */
static int
close_all_but(unsigned int lo, int *keep, size_t n)
{
	size_t i;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < lo)
			continue;
		if ((unsigned int)keep[i] > lo &&
		    close_range(lo, (unsigned int)keep[i] - 1, 0) < 0)
			return -errno;
		lo = (unsigned int)keep[i] + 1;
	}
	return close_range(lo, ~0U, 0) < 0 ? -errno : 0;
}

/* Close every fd but 0-3 (stdio, control socket), the setup fds and a
 * zygote child's kept files. */
static int
close_other_fds(const struct sandbox_child *c, int errfd, int data_tree,
		int runtime_tree, int init_fd)
{
	int keep[4 + SANDBOX_MAX_KEEP_FDS];
	size_t i, n = 0;

	if (c->nkeep > SANDBOX_MAX_KEEP_FDS)
		return -EINVAL;
	keep[n++] = errfd;
	keep[n++] = data_tree;
	keep[n++] = runtime_tree;
	keep[n++] = init_fd;
	for (i = 0; i < c->nkeep; i++)
		keep[n++] = c->keep_fds[i];
	return close_all_but(4, keep, n);
}

int
sandbox_child_close_fds(unsigned int lo, const int *keep, size_t n)
{
	int k[SANDBOX_MAX_KEEP_FDS + 1];

	if (n > SANDBOX_MAX_KEEP_FDS + 1)
		return -EINVAL;
	memcpy(k, keep, n * sizeof(*k));
	return close_all_but(lo, k, n);
}

static int
become_root(void)
{
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return -errno;
	return 0;
}

/* The netns starts with lo down; localhost must work inside. */
static int
bring_up_lo(void)
{
	struct ifreq ifr;
	int s, rc = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
out:
	close(s);
	return rc;
}

/*
 * No nested user namespaces: the limit is per user namespace, so 0 here
 * leaves the host's alone and makes unshare(CLONE_NEWUSER) fail with
 * ENOSPC.  Best effort: seccomp denies unshare and clone's namespace flags
 * anyway, and a masked /proc (containers) refuses this write.
 */
static void
limit_user_namespaces(void)
{
	(void)write_file_str("/proc/sys/user/max_user_namespaces", "0");
}

static int
reset_signals(void)
{
	struct sigaction dfl;
	sigset_t none;
	int sig;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	/* SIGKILL, SIGSTOP and glibc's internal signals refuse: fine. */
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL) < 0 ? -errno : 0;
}

static int
drop_privileges(void)
{
	const gid_t gid = SANDBOX_GID;
	const uid_t uid = SANDBOX_UID;
	cap_t none = NULL;
	cap_value_t c;
	int rc = 0;

	/* The bounding set first: dropping it needs CAP_SETPCAP, which the
	 * uid change below takes away. */
	for (c = 0; c < cap_max_bits(); c++) {
		if (cap_drop_bound(c) < 0) {
			rc = -errno;
			goto out;
		}
	}
	/* setgroups is still "allow" (notes §1): replace the server's
	 * supplementary groups, which "deny" would have kept. */
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		rc = -errno;
		goto out;
	}
	if (cap_reset_ambient() < 0) {
		rc = -errno;
		goto out;
	}
	none = cap_init();
	if (none == NULL || cap_set_proc(none) < 0)
		rc = -errno;
out:
	cap_free(none);
	return rc;
}

/* Prove the drop before anything runs as the user (cheap, explicit). */
static int
verify_dropped(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	cap_t now = cap_get_proc(), none = cap_init();
	int rc = 0;

	if (now == NULL || none == NULL || getresuid(&ru, &eu, &su) < 0 ||
	    getresgid(&rg, &eg, &sg) < 0) {
		rc = -errno;
		goto out;
	}
	if (ru != SANDBOX_UID || eu != SANDBOX_UID || su != SANDBOX_UID ||
	    rg != SANDBOX_GID || eg != SANDBOX_GID || sg != SANDBOX_GID ||
	    getgroups(2, groups) != 1 || groups[0] != SANDBOX_GID ||
	    cap_compare(now, none) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		rc = -EPERM;
out:
	cap_free(now);
	cap_free(none);
	return rc;
}

static int
set_rlimits(const struct sandbox_child *c)
{
	const struct {
		int res;
		rlim_t val;
		rlim_t hard; /* 0 = same as val */
	} lim[] = {
		/* No core files: they would fill /mnt/data with memory. */
		{RLIMIT_CORE, 0, 0},
		/* select() users and fd-hungry code stay well-behaved; the
		 * hard limit leaves the kernel room above fd 1023 for its
		 * control socket, so that user code closing fds 0-1023
		 * cannot cut it off (runtime/kernel.py). */
		{RLIMIT_NOFILE, 1024, 4096},
		/* A backstop behind pids.max: counts uid X+1000 only. */
		{RLIMIT_NPROC, (rlim_t)c->pids, 0},
		{RLIMIT_FSIZE, (rlim_t)c->fsize, 0},
	};
	struct rlimit cur, rl;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lim); i++) {
		if (getrlimit(lim[i].res, &cur) < 0)
			return -errno;
		/* Without capabilities a limit can only go down. */
		rl.rlim_max = lim[i].hard ? lim[i].hard : lim[i].val;
		if (rl.rlim_max > cur.rlim_max)
			rl.rlim_max = cur.rlim_max;
		rl.rlim_cur = lim[i].val < rl.rlim_max ? lim[i].val
						       : rl.rlim_max;
		if (setrlimit(lim[i].res, &rl) < 0)
			return -errno;
	}
	return 0;
}

int
sandbox_child_enter(const struct sandbox_child *c)
{
	struct sandbox_err e = {{0}};
	int errfd = c->errfd, data_tree = c->data_tree;
	int runtime_tree = c->runtime_tree, init_fd = c->init_fd;
	int got[1 + SANDBOX_MAX_CGROUP_FDS];
	const int *cgroup_fds = c->cgroup_fds;
	size_t ncgroup = c->ncgroup, ngot;
	struct mount_cfg mc;
	struct init_cfg ic;

	/* Wait until the host side has written our uid and gid maps. */
	if (c->release_brings_fds) {
		wait_release_fds(c->release_fd, got, &ngot);
		data_tree = got[0];
		cgroup_fds = got + 1;
		ncgroup = ngot - 1;
	} else {
		wait_release(c->release_fd);
	}
	/* We are the new pid namespace's init, or /proc and the init's
	 * signal semantics below would be wrong. */
	check(errfd, getpid() == 1 ? 0 : -EINVAL, &e, "not pid 1");
	/* Join the session's cgroups through fds the server opened (as
	 * root) while we are single-threaded: 0.03 ms, against up to 20 ms
	 * for an attach by pid after idle (notes §5). */
	check(errfd, join_cgroups(cgroup_fds, ncgroup), &e, "join cgroups");
	/* The control socket is fd 3 for PROGRAM in both backends (a
	 * zygote child receives it at whatever number it got). */
	if (c->ctl_fd >= 0 && c->ctl_fd != 3) {
		check(errfd, clear_fd3(&errfd), &e, "move fds");
		check(errfd, clear_fd3(&data_tree), &e, "move fds");
		check(errfd, clear_fd3(&runtime_tree), &e, "move fds");
		check(errfd, clear_fd3(&init_fd), &e, "move fds");
		check(errfd, dup2(c->ctl_fd, 3) < 0 ? -errno : 0, &e,
		      "dup2 control socket");
	}
	/* The report fd, a template's own socket and whatever else the
	 * parent left open must not reach the sandbox. */
	check(errfd,
	      close_other_fds(c, errfd, data_tree, runtime_tree, init_fd), &e,
	      "close inherited fds");
	/* Until now we are the host's kuid 0 inside, which shows as 65534
	 * and cannot even mkdir on our own tmpfs (EOVERFLOW). */
	check(errfd, become_root(), &e, "setresuid(0)");
	/* After the cgroup attach, so /proc/self/cgroup reads "/" and the
	 * server's cgroup path does not leak. */
	check(errfd, unshare(CLONE_NEWCGROUP) < 0 ? -errno : 0, &e,
	      "unshare(CLONE_NEWCGROUP)");
	check(errfd,
	      sethostname(c->hostname, strlen(c->hostname)) < 0 ? -errno : 0,
	      &e, "sethostname");
	check(errfd, bring_up_lo(), &e, "bring up lo");
	/* Files we create (/etc) and PROGRAM creates get known modes,
	 * whatever umask the server runs with. */
	umask(022);
	mc = (struct mount_cfg){c->hostname, c->tmp_size, data_tree,
				runtime_tree};
	check(errfd, mount_setup(&mc, &e), &e, "mount plan");
	/* Attached now; the mounts keep them. */
	close(data_tree);
	close(runtime_tree);
	/* Needs the new /proc and inside-root; optional (seccomp). */
	limit_user_namespaces();
	/* Leave the server's session: no controlling terminal to push
	 * input into, no signals aimed at the server's process group. */
	check(errfd, setsid() < 0 ? -errno : 0, &e, "setsid");
	/* A launcher started in the background passes SIGINT as SIG_IGN,
	 * and Python then never installs its handler (notes §6). */
	check(errfd, reset_signals(), &e, "reset signals");
	/* Bounding set, groups, uids, ambient and capability sets. */
	check(errfd, drop_privileges(), &e, "drop privileges");
	/* No privilege through execve ever again; required by Landlock
	 * and seccomp for an unprivileged caller. */
	check(errfd, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0,
	      &e, "PR_SET_NO_NEW_PRIVS");
	check(errfd, verify_dropped(), &e, "privileges still held");
	/* After all mounts (rules bind to the final tree); before
	 * seccomp, so the filter never has to allow Landlock's syscalls. */
	check(errfd, landlock_install(&e), &e, "landlock");
	check(errfd, seccomp_load_prog(c->seccomp, &e), &e, "seccomp");
	check(errfd, set_rlimits(c), &e, "rlimits");
	/* Start PROGRAM, reap and forward signals until PROGRAM exits;
	 * returns only in a zygote child's PROGRAM. */
	ic = (struct init_cfg){
		.argv = c->argv,
		.envp = c->envp,
		.errfd = errfd,
		.stdio = c->stdio,
		.ctl = c->ctl_fd >= 0,
		.keep_fds = c->keep_fds,
		.nkeep = c->nkeep,
		.init_fd = init_fd,
	};
	return init_run(&ic);
}
