// SPDX-License-Identifier: MIT
/*
 * sandbox_child.c: the launcher child's setup ritual (nsjail's
 * containProc): sandbox_child_main() reads top to bottom, one step per
 * line with its reason, in the order of platform-notes' recipe.  It runs
 * as pid 1 of the new namespaces, single-threaded in a fresh image, so
 * malloc is fine.  A failing step reports through the close-on-exec error
 * pipe and exits; the theory of operation is at the top of sandbox.c.
 */
#define _GNU_SOURCE
#include "sandbox_child.h"

#include <errno.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
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

static int
join_cgroups(const struct sandbox_opts *o)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < o->ncgroup; i++) {
		/* "0" is the writer itself, for tasks and cgroup.procs. */
		if (rc == 0 && write(o->cgroup_fds[i], "0", 1) != 1)
			rc = -errno;
		close(o->cgroup_fds[i]);
	}
	return rc;
}

/* Close every fd but 0-3 (stdio, control socket) and the setup fds. */
static int
close_other_fds(const struct sandbox_child *c)
{
	int keep[] = {c->errfd, c->data_tree, c->runtime_tree};
	unsigned int lo = 4;
	size_t i, j;

	/* Sort the three (insertion sort), then close the gaps. */
	for (i = 1; i < ARRAY_SIZE(keep); i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		unsigned int k = (unsigned int)keep[i];

		if (k > lo && close_range(lo, k - 1, 0) < 0)
			return -errno;
		if (k + 1 > lo)
			lo = k + 1;
	}
	return close_range(lo, ~0U, 0) < 0 ? -errno : 0;
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
set_rlimits(const struct sandbox_opts *o)
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
		{RLIMIT_NPROC, (rlim_t)o->pids, 0},
		{RLIMIT_FSIZE, (rlim_t)o->fsize, 0},
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

void
sandbox_child_main(struct sandbox_child *c)
{
	const struct sandbox_opts *o = c->o;
	const int errfd = c->errfd;
	struct sandbox_err e = {{0}};
	struct mount_cfg mc = {o->hostname, o->tmp_size, c->data_tree,
			       c->runtime_tree};
	struct init_cfg ic = {o->argv, o->env, errfd, o->stdio, c->ctl};

	/* Wait until the launcher has written our uid and gid maps. */
	wait_release(c->release_fd);
	/* We are the new pid namespace's init, or /proc and the init's
	 * signal semantics below would be wrong. */
	check(errfd, getpid() == 1 ? 0 : -EINVAL, &e, "not pid 1");
	/* Join the session's cgroups through fds the server opened (as
	 * root) while we are single-threaded: 0.03 ms, against up to 20 ms
	 * for an attach by pid after idle (notes §5). */
	check(errfd, join_cgroups(o), &e, "join cgroups");
	/* The report fd and whatever else the server left open must not
	 * reach the sandbox. */
	check(errfd, close_other_fds(c), &e, "close inherited fds");
	/* Until now we are the host's kuid 0 inside, which shows as 65534
	 * and cannot even mkdir on our own tmpfs (EOVERFLOW). */
	check(errfd, become_root(), &e, "setresuid(0)");
	/* After the cgroup attach, so /proc/self/cgroup reads "/" and the
	 * server's cgroup path does not leak. */
	check(errfd, unshare(CLONE_NEWCGROUP) < 0 ? -errno : 0, &e,
	      "unshare(CLONE_NEWCGROUP)");
	check(errfd,
	      sethostname(o->hostname, strlen(o->hostname)) < 0 ? -errno : 0,
	      &e, "sethostname");
	check(errfd, bring_up_lo(), &e, "bring up lo");
	/* Files we create (/etc) and PROGRAM creates get known modes,
	 * whatever umask the server runs with. */
	umask(022);
	check(errfd, mount_setup(&mc, &e), &e, "mount plan");
	/* Attached now; the mounts keep them. */
	close(c->data_tree);
	close(c->runtime_tree);
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
	check(errfd, seccomp_install(&e), &e, "seccomp");
	check(errfd, set_rlimits(o), &e, "rlimits");
	/* Fork PROGRAM, reap and forward signals until PROGRAM exits. */
	init_run(&ic);
}
