// SPDX-License-Identifier: MIT
/*
 * init.c: the sandbox's pid 1.  The launcher's child becomes it once the
 * setup ritual is done (uid 1000, no capabilities, Landlock and seccomp in
 * force).  It exists so that PROGRAM (the Python kernel) is not pid 1:
 *  - a namespace init ignores every signal it has no handler for, so a
 *    Python pid 1 would ignore SIGTERM from the server;
 *  - orphans reparent to pid 1 and stay zombies unless it reaps them, and
 *    a Python reaper breaks subprocess's own waitpid (platform-notes §6).
 * This init reaps everything, forwards the polite signals to PROGRAM and
 * exits with PROGRAM's status, which makes the kernel kill the rest of the
 * pid namespace.
 */
#define _GNU_SOURCE
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"
#include "sandbox_child.h"

static int exec_fd = -1; /* PROGRAM: see init_exec_fd() */

/* Where PROGRAM starts: the session's files. */
#define INIT_CWD "/mnt/data"
/* Signals the server sends to pid 1 that are meant for PROGRAM. */
static const int init_forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1,
				     SIGUSR2};

/* Report a setup failure through the error pipe and die.  Before exec. */
static void __attribute__((noreturn))
init_fail(int errfd, int code, int rc, const char *what)
{
	struct sandbox_err e;

	sandbox_errf(&e, rc, "%s", what);
	if (write(errfd, e.msg, strlen(e.msg)) < 0) {
		/* The launcher is gone; nobody is left to tell. */
	}
	_exit(code);
}

/* PROGRAM's side of the fork: set up fds 0-3 and exec.  Never returns. */
static void __attribute__((noreturn))
init_exec_program(const struct init_cfg *cfg)
{
	struct sandbox_err e;
	sigset_t none;
	int fd;

	/* init blocks everything it reads from its signalfd; PROGRAM must
	 * start with an empty mask (Python installs no SIGINT handler for
	 * a blocked or ignored SIGINT). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* 0-2 (and 3 if it is the control socket) survive exec, whatever
	 * flags the server left on them. */
	for (fd = 0; fd <= (cfg->ctl ? 3 : 2); fd++)
		fcntl(fd, F_SETFD, 0);
	/* Everything else closes at exec, including the error pipe, whose
	 * EOF tells the launcher the exec worked. */
	if (close_range(cfg->ctl ? 4 : 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		init_fail(cfg->errfd, 127, -errno, "close_range");
	execve(cfg->argv[0], cfg->argv, cfg->envp);
	sandbox_errf(&e, -errno, "execve %s", cfg->argv[0]);
	init_fail(cfg->errfd, 127, 0, e.msg);
}

/*
 * PROGRAM's side of the fork of a zygote child: what init_exec_program()
 * and the exec would do, short of the exec itself.
 */
static void
init_return_program(const struct init_cfg *cfg)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The error pipe's last copy: EOF tells the host side that the
	 * sandbox is complete, as a successful execve would. */
	int keep[SANDBOX_MAX_KEEP_FDS + 1];

	close(cfg->errfd);
	if (cfg->nkeep > SANDBOX_MAX_KEEP_FDS)
		_exit(127);
	memcpy(keep, cfg->keep_fds, cfg->nkeep * sizeof(*keep));
	keep[cfg->nkeep] = exec_fd;
	if (sandbox_child_close_fds(cfg->ctl ? 4 : 3, keep,
				    cfg->nkeep + (exec_fd >= 0)) < 0)
		_exit(127);
	/* The uid change made us non-dumpable, which an execve would have
	 * undone; without it /proc/self would be root's and the kernel's
	 * own /proc files unreadable to it, unlike a launcher session. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		_exit(127);
}

/* An exit status in the shell's convention. */
static int
init_status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

/* The signals init waits for: SIGCHLD and the forwarded ones. */
static void
init_sigset(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	for (i = 0; i < sizeof(init_forwarded) / sizeof(init_forwarded[0]);
	     i++)
		sigaddset(set, init_forwarded[i]);
}

/* Reap and forward until PROGRAM exits, then exit with its status. */
static void __attribute__((noreturn))
init_loop(int sfd, pid_t program)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int status;

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n != (ssize_t)sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			/* Cannot happen with a valid signalfd; do not spin,
			 * and take PROGRAM down with us. */
			kill(program, SIGKILL);
			_exit(1);
		}
		if (si.ssi_signo != SIGCHLD) {
			kill(program, (int)si.ssi_signo);
			continue;
		}
		/* SIGCHLDs merge: reap until nothing is left. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == program)
				_exit(init_status_code(status));
		}
	}
}

/*
 * A zygote child's pid 1 leaves the template's image behind: it would
 * hold a copy of every page of the template that PROGRAM or the
 * template writes later (megabytes per session).  It execs the launcher
 * binary's init instead (init_adopt), from a sealed memfd the server
 * made of it: the binary itself is outside the sandbox, and Landlock,
 * already in force, allows executing only under /usr, but it does not
 * govern a memfd, which has no path.  The signal mask and anything
 * pending survive the exec, and so do seccomp, Landlock, the uids and
 * the rlimits.  Returns only if the exec failed (a host with
 * vm.memfd_noexec = 2); the caller then stays the init in place.
 */
int
init_exec_fd(void)
{
	return exec_fd;
}

int
init_wait_exec(int timeout_ms)
{
	struct pollfd p = {exec_fd, POLLIN, 0};
	char c;
	int r;

	if (exec_fd < 0)
		return 0;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	/* EOF (the write end's last copy went with the exec), or pid 1
	 * wrote something it never does: either way it is done. */
	if (r > 0)
		while (read(exec_fd, &c, 1) < 0 && errno == EINTR)
			;
	close(exec_fd);
	exec_fd = -1;
	return r == 0 ? -ETIMEDOUT : 0;
}

static void
init_reexec(const struct init_cfg *cfg, pid_t program)
{
	static char *const no_env[] = {NULL};
	char pid[16];
	char *argv[4];

	if (cfg->init_fd < 0 ||
	    fcntl(cfg->init_fd, F_SETFD, FD_CLOEXEC) < 0)
		return;
	snprintf(pid, sizeof(pid), "%d", (int)program);
	argv[0] = (char *)"sandpool-init";
	argv[1] = (char *)"--zygote-init";
	argv[2] = pid;
	argv[3] = NULL;
	fexecve(cfg->init_fd, argv, no_env);
}

int
init_run(const struct init_cfg *cfg)
{
	int sync[2] = {-1, -1};
	sigset_t set;
	pid_t program;
	size_t i;
	int sfd, fd;

	/* Block what we wait for before forking, so nothing is lost
	 * between the fork and the first read. */
	init_sigset(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		init_fail(cfg->errfd, 1, -errno, "init: sigprocmask");
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		init_fail(cfg->errfd, 1, -errno, "init: signalfd");

	/* Without --stdio PROGRAM (and init) hold nothing of the host's. */
	if (!cfg->stdio) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			init_fail(cfg->errfd, 1, -errno, "init: /dev/null");
		if (fd > 2)
			close(fd);
	}
	if (chdir(INIT_CWD) < 0)
		init_fail(cfg->errfd, 1, -errno, "init: chdir " INIT_CWD);
	/* A zygote child's PROGRAM waits on it for our exec (below). */
	if (cfg->argv == NULL && pipe2(sync, O_CLOEXEC) < 0)
		init_fail(cfg->errfd, 1, -errno, "init: pipe2");

	program = fork();
	if (program < 0)
		init_fail(cfg->errfd, 1, -errno, "init: fork");
	if (program == 0) {
		if (cfg->argv == NULL) {
			close(sync[1]);
			exec_fd = sync[0];
			init_return_program(cfg);
			return 0;
		}
		init_exec_program(cfg);
	}
	if (sync[0] >= 0)
		close(sync[0]);
	/* The same name for both backends (a zygote child would show the
	 * template's); the launcher's child is "sandpool-sandbo". */
	prctl(PR_SET_NAME, "sandpool-init", 0, 0, 0);

	/* PROGRAM has its own copies: the launcher now waits only for
	 * PROGRAM's exec, and the server sees EOF on fd 3 when PROGRAM
	 * exits even if init were to linger. */
	close(cfg->errfd);
	close(3);
	for (i = 0; i < cfg->nkeep; i++)
		close(cfg->keep_fds[i]);
	if (cfg->argv == NULL)
		init_reexec(cfg, program);
	/* In place after all (the exec failed): done just the same. */
	if (sync[1] >= 0)
		close(sync[1]);
	init_loop(sfd, program);
}

int
init_adopt(int argc, char **argv)
{
	sigset_t set;
	long program;
	char *end = NULL;
	int sfd;

	if (argc != 3 || strcmp(argv[1], "--zygote-init") != 0)
		return 2;
	program = strtol(argv[2], &end, 10);
	if (end == argv[2] || *end != '\0' || program < 2)
		return 2;
	/* What init_run() blocked is still blocked (and pending). */
	init_sigset(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		_exit(1);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		_exit(1);
	/* Nothing but the signalfd (and /dev/null on 0-2). */
	if (sfd != 3 && close_range(3, (unsigned int)sfd - 1, 0) < 0)
		_exit(1);
	close_range((unsigned int)sfd + 1, ~0U, 0);
	prctl(PR_SET_NAME, "sandpool-init", 0, 0, 0);
	init_loop(sfd, (pid_t)program);
}
