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
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

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

void
init_run(const struct init_cfg *cfg)
{
	struct signalfd_siginfo si;
	sigset_t set;
	pid_t program, pid;
	size_t i;
	int sfd, fd, status;

	/* Block what we wait for before forking, so nothing is lost
	 * between the fork and the first read. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (i = 0; i < sizeof(init_forwarded) / sizeof(init_forwarded[0]);
	     i++)
		sigaddset(&set, init_forwarded[i]);
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

	program = fork();
	if (program < 0)
		init_fail(cfg->errfd, 1, -errno, "init: fork");
	if (program == 0)
		init_exec_program(cfg);

	/* PROGRAM has its own copies: the launcher now waits only for
	 * PROGRAM's exec, and the server sees EOF on fd 3 when PROGRAM
	 * exits even if init were to linger. */
	close(cfg->errfd);
	close(3);

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
