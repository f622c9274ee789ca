// SPDX-License-Identifier: MIT
/*
 * sandbox.c: sandpool-sandbox, the launcher that builds one sandbox and
 * starts PROGRAM in it.  The interface is "The launcher contract" in
 * docs/ARCHITECTURE.md; option parsing is in sandbox_opts.c, the child's
 * setup ritual in sandbox_child.c.
 *
 * Theory of operation
 *
 * Three processes take part (isolate has the same shape):
 *
 *  - The launcher: this process, root on the host, short-lived.  It opens
 *    the data and runtime directories while it can still reach them (the
 *    state directory is 0700 root), clones the child into new user, pid,
 *    mount, network, IPC and UTS namespaces, writes the child's uid and
 *    gid maps ("0 X 1" and "1000 X+1000 1"), releases it, waits for its
 *    verdict and writes "ok <pid>" or "err <message>" to --report-fd.
 *    Without --wait it clones with CLONE_PARENT, so the sandbox is the
 *    server's child (the server holds its pidfd), and exits at once; with
 *    --wait (tests) it waits for the sandbox and exits with its status.
 *
 *  - The child: pid 1 of the new pid namespace.  sandbox_child_enter() is
 *    its setup ritual (shared with the zygote backend), one step per
 *    line in the order of platform-notes' recipe: join the cgroups,
 *    become inside-root, cgroup namespace, hostname, lo, the mount plan
 *    (mount.c), then the drop: setsid,
 *    signals, bounding set, groups and uids to 1000, capabilities to zero,
 *    NO_NEW_PRIVS, Landlock (landlock.c), seccomp (seccomp.c), rlimits.
 *    It then becomes the init (init.c).  Until exec nothing but fatal
 *    failures leave it, as text on the error pipe.
 *
 *  - PROGRAM: forked by the init, pid 2, uid 1000 inside (X+1000 on the
 *    host), cwd /mnt/data, fds 0-3 only.
 *
 * Two pipes connect launcher and child.  The release pipe holds the child
 * until its maps are written (one byte; EOF means the launcher gave up and
 * the child exits quietly).  The error pipe is close-on-exec: a failing
 * step writes its message and exits, and the launcher's read ends in EOF
 * only when both the init (after its fork) and PROGRAM (at execve) have
 * closed their copies, so EOF means PROGRAM is running.
 *
 * The data and runtime directories reach the child as detached mount
 * trees (open_tree(OPEN_TREE_CLONE)), not as plain fds bound through
 * /proc/self/fd/N: a bind mount refuses (EINVAL) a source that lives in
 * another mount namespace, and after CLONE_NEWNS the host's mounts are
 * exactly that.  The launcher also sets their mount flags (nosuid, nodev,
 * noexec; read-only for the runtime), host side and recursively; the
 * child attaches them with move_mount().
 *
 * Clone is the raw syscall without a new stack (bubblewrap's raw_clone):
 * the child continues like a fork, on a copy of our stack.
 */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "idmap.h"
#include "init.h"
#include "log.h"
#include "sandbox_child.h"
#include "seccomp_policy.h"
#include "sandbox_opts.h"
#include "sandbox_template.h"
#include "util.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
/* raw clone's argument order (flags, stack, ptid, ctid, tls) differs. */
/* cppcheck-suppress preprocessorErrorDirective */
#error "sandpool-sandbox supports x86_64 and aarch64 only"
#endif

/* How long the launcher waits for the child's verdict. */
#define VERDICT_TIMEOUT_MS 10000
/* Exit status of the launcher when the sandbox could not be started. */
#define EXIT_SETUP_FAILED 1

/* Signals a --wait launcher passes on to the sandbox's init. */
static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1,
					SIGUSR2};

struct launcher {
	const struct sandbox_opts *o;
	int data_tree;	  /* detached mount for /mnt/data; -1: closed */
	int runtime_tree; /* detached mount for /opt/sandpool */
	int release[2];	  /* launcher -> child: "maps are written" */
	int errp[2];	  /* child -> launcher: setup failure text */
	int pidfd;	  /* of the child; -1 until cloned */
	pid_t pid;	  /* of the child, as the host sees it */
	bool ctl;	  /* fd 3 was open at start: the control socket */
	struct seccomp_prog seccomp; /* compiled before the clone */
	sigset_t fwd;	  /* forwarded_signals, blocked with --wait */
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ==== the launcher (host side) ==== */

/* 0-2 open (a later open must not land there), fd 3 reserved. */
static int
fd_hygiene(struct launcher *l)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0 &&
		    open("/dev/null", O_RDWR) != fd)
			return -errno;
	}
	l->ctl = fcntl(3, F_GETFD) >= 0;
	/* No fd 3: hold the slot with a close-on-exec /dev/null, so none
	 * of our own fds becomes PROGRAM's "control socket". */
	if (!l->ctl && open("/dev/null", O_RDONLY | O_CLOEXEC) != 3)
		return -EBADF;
	return 0;
}

/* A detached copy of the tree at path (util.c's fd_open_tree). */
static int
open_tree_at(const char *path, uint64_t attr, int *out,
	     struct sandbox_err *e)
{
	const char *step = "";
	int rc = fd_open_tree(path, attr, out, &step);

	if (rc < 0)
		return sandbox_errf(e, rc, "%s %s", step, path);
	return 0;
}

static int
write_maps(const struct launcher *l, struct sandbox_err *e)
{
	char path[32];
	uint64_t x = l->o->uid_base;
	int dir = -1, rc = 0;

	snprintf(path, sizeof(path), "/proc/%d", (int)l->pid);
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		rc = sandbox_errf(e, -errno, "open %s", path);
		goto out;
	}
	/* The pidfd proves /proc/<pid> is still our child and not a reused
	 * pid (with CLONE_PARENT the server may reap it). */
	if (pidfd_send_signal(l->pidfd, 0, NULL, 0) < 0) {
		rc = sandbox_errf(e, -errno, "child died before its maps");
		goto out;
	}
	rc = idmap_write(dir, x);
	if (rc < 0)
		sandbox_errf(e, rc, "write uid/gid map");
out:
	close_fd(&dir);
	return rc;
}

/* Open the trees, clone, map and release the child. */
static int
launcher_start(struct launcher *l, struct sandbox_err *e)
{
	unsigned long flags = SANDBOX_CLONE_NS | CLONE_PIDFD | SIGCHLD;
	size_t i;
	int rc;

	rc = fd_hygiene(l);
	if (rc < 0)
		return sandbox_errf(e, rc, "set up fds 0-3");
	/* Before the clone: the state directory is 0700 root, and the
	 * child is uid X as soon as it is anyone.  The session's files:
	 * no setuid, devices or programs. */
	rc = open_tree_at(l->o->data, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					     MOUNT_ATTR_NOEXEC,
			  &l->data_tree, e);
	if (rc < 0)
		return rc;
	/* Our runtime: read-only, no setuid or devices. */
	rc = open_tree_at(l->o->runtime, MOUNT_ATTR_RDONLY |
						MOUNT_ATTR_NOSUID |
						MOUNT_ATTR_NODEV,
			  &l->runtime_tree, e);
	if (rc < 0)
		return rc;
	if (pipe2(l->release, O_CLOEXEC) < 0 || pipe2(l->errp, O_CLOEXEC) < 0)
		return sandbox_errf(e, -errno, "pipe2");
	rc = seccomp_compile(&l->seccomp, e);
	if (rc < 0)
		return rc;
	/* The sandbox's init becomes the server's child; the server holds
	 * its pidfd.  Tests (--wait) keep it as our own child. */
	if (!l->o->wait)
		flags |= CLONE_PARENT;
	else if (sigprocmask(SIG_BLOCK, &l->fwd, NULL) < 0)
		return sandbox_errf(e, -errno, "sigprocmask");
	l->pid = (pid_t)syscall(SYS_clone, flags, NULL, &l->pidfd, NULL, 0);
	if (l->pid < 0)
		return sandbox_errf(e, -errno, "clone");
	if (l->pid == 0) {
		const struct sandbox_opts *o = l->o;
		struct sandbox_child c = {
			.hostname = o->hostname,
			.tmp_size = o->tmp_size,
			.pids = o->pids,
			.fsize = o->fsize,
			.cgroup_fds = o->cgroup_fds,
			.ncgroup = o->ncgroup,
			.release_fd = l->release[0],
			.errfd = l->errp[1],
			.data_tree = l->data_tree,
			.runtime_tree = l->runtime_tree,
			.ctl_fd = l->ctl ? 3 : -1,
			.init_fd = -1,
			.seccomp = &l->seccomp,
			.stdio = o->stdio,
			.argv = o->argv,
			.envp = o->env,
		};

		close(l->release[1]);
		close(l->errp[0]);
		sandbox_child_enter(&c);
		_exit(EXIT_SETUP_FAILED); /* not reached: argv is set */
	}
	close_fd(&l->release[0]);
	close_fd(&l->errp[1]);
	close_fd(&l->data_tree);
	close_fd(&l->runtime_tree);
	for (i = 0; i < l->o->ncgroup; i++)
		close(l->o->cgroup_fds[i]);
	rc = write_maps(l, e);
	if (rc < 0)
		return rc;
	if (write(l->release[1], "x", 1) != 1)
		return sandbox_errf(e, -errno, "release child");
	close_fd(&l->release[1]);
	return 0;
}

/*
 * Read the error pipe to EOF.  Returns 0 if PROGRAM was exec'd, or -1 with
 * the child's message in e.
 */
static int
launcher_verdict(struct launcher *l, struct sandbox_err *e)
{
	uint64_t deadline = now_ms() + VERDICT_TIMEOUT_MS;
	struct pollfd p = {.fd = l->errp[0], .events = POLLIN};
	size_t len = 0, i;
	char chunk[256];

	for (;;) {
		uint64_t now = now_ms();
		ssize_t n;
		int r;

		if (now >= deadline)
			return sandbox_errf(e, -ETIMEDOUT, "sandbox setup");
		r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return sandbox_errf(e, -errno, "poll");
		if (r <= 0)
			continue;
		n = read(l->errp[0], chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sandbox_errf(e, -errno, "read error pipe");
		}
		if (n == 0)
			break;
		for (i = 0; i < (size_t)n && len + 1 < sizeof(e->msg); i++)
			e->msg[len++] = chunk[i];
	}
	if (len == 0)
		return 0;
	/* One line for the report: the text is ours, but be strict. */
	e->msg[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)e->msg[i] < 0x20)
			e->msg[i] = ' ';
	return -1;
}

/* --wait: forward signals to the init until it exits; its exit code. */
static int
launcher_wait(struct launcher *l)
{
	struct pollfd p[2];
	struct signalfd_siginfo si;
	siginfo_t info;
	int sfd = signalfd(-1, &l->fwd, SFD_CLOEXEC);

	p[0] = (struct pollfd){.fd = l->pidfd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	while (sfd >= 0 && poll(p, 2, -1) >= 0 && !(p[0].revents & POLLIN)) {
		if ((p[1].revents & POLLIN) &&
		    read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			pidfd_send_signal(l->pidfd, (int)si.ssi_signo, NULL, 0);
	}
	close_fd(&sfd);
	memset(&info, 0, sizeof(info));
	while (waitid(P_PIDFD, (id_t)l->pidfd, &info, WEXITED) < 0)
		if (errno != EINTR)
			return EXIT_SETUP_FAILED;
	if (info.si_code == CLD_EXITED)
		return info.si_status;
	return 128 + info.si_status;
}

static void
launcher_report(const struct launcher *l, int rc, const struct sandbox_err *e)
{
	char line[sizeof(e->msg) + 32];

	if (rc == 0)
		snprintf(line, sizeof(line), "ok %d\n", (int)l->pid);
	else
		snprintf(line, sizeof(line), "err %s\n", e->msg);
	if (rc < 0)
		log_warnx("sandbox setup failed: %s", e->msg);
	if (l->o->report_fd >= 0 &&
	    write_all(l->o->report_fd, line, strlen(line)) < 0)
		log_warn("write report to fd %d", l->o->report_fd);
}

int
main(int argc, char **argv)
{
	struct sandbox_opts o;
	struct launcher l = {.o = &o,
			     .data_tree = -1,
			     .runtime_tree = -1,
			     .release = {-1, -1},
			     .errp = {-1, -1},
			     .pidfd = -1};
	struct sandbox_err e = {{0}};
	size_t i;
	int rc, code;

	if (argc > 1 && strcmp(argv[1], "--template") == 0)
		return sandbox_template_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], "--zygote-init") == 0)
		return init_adopt(argc, argv);
	if (sandbox_opts_parse(argc, argv, &o, &e) < 0) {
		fprintf(stderr, "sandpool-sandbox: %s\n", e.msg);
		sandbox_opts_usage(stderr);
		return 2;
	}
	if (o.help) {
		sandbox_opts_usage(stdout);
		return 0;
	}
	/* A server that went away must not kill us mid-report. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&l.fwd);
	for (i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(&l.fwd, forwarded_signals[i]);

	rc = launcher_start(&l, &e);
	if (rc == 0)
		rc = launcher_verdict(&l, &e);
	/* A half-built sandbox must not live on: nobody would know it. */
	if (rc < 0 && l.pidfd >= 0)
		pidfd_send_signal(l.pidfd, SIGKILL, NULL, 0);
	launcher_report(&l, rc, &e);
	if (o.wait && l.pidfd >= 0)
		code = launcher_wait(&l);
	else
		code = 0;
	if (rc < 0)
		code = EXIT_SETUP_FAILED;
	close_fd(&l.pidfd);
	close_fd(&l.errp[0]);
	close_fd(&l.release[1]);
	free(l.seccomp.filter);
	return code;
}
