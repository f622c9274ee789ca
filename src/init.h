/* SPDX-License-Identifier: MIT */
/*
 * init.h: the sandbox's pid 1, which starts PROGRAM, reaps orphans and
 * forwards signals.
 */
#ifndef SANDPOOL_INIT_H
#define SANDPOOL_INIT_H

#include <stdbool.h>
#include <stddef.h>

struct init_cfg {
	char *const *argv; /* PROGRAM and its arguments; argv[0] absolute;
			    * NULL: PROGRAM is this image (zygote child) */
	char *const *envp; /* PROGRAM's whole environment (with argv) */
	int errfd;	   /* close-on-exec write end of the error pipe */
	bool stdio;	   /* PROGRAM keeps fds 0-2 instead of /dev/null */
	bool ctl;	   /* fd 3 is the control socket, passed to PROGRAM */
	const int *keep_fds; /* zygote child: more fds PROGRAM keeps */
	size_t nkeep;
	int init_fd;	   /* zygote child: a memfd of the launcher binary,
			    * which pid 1 re-execs into (init_adopt); -1:
			    * stay in place */
};

/*
 * Become the sandbox's init.  Forks PROGRAM (cwd /mnt/data, fds 0-3 only,
 * exactly cfg->envp); a failed execve writes its reason to errfd, a
 * successful one closes PROGRAM's copy, and init closes its own after the
 * fork, so the launcher sees EOF once PROGRAM runs.  Then reaps every
 * child, forwards SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 to PROGRAM,
 * and when PROGRAM exits calls _exit() with its status (128+signal if it
 * was killed).  The init never returns and never calls exit(): no atexit
 * handlers or LeakSanitizer run under the seccomp filter.
 *
 * With cfg->argv NULL (a zygote child) PROGRAM is not exec'd: init_run()
 * returns 0 in PROGRAM's process, with fds 0-3 only (the error pipe
 * closed) and init_exec_fd(), an empty signal mask and cwd /mnt/data;
 * what the kernel would reset at an exec is the caller's to restore.
 */
int init_run(const struct init_cfg *cfg);

/*
 * In a zygote child's PROGRAM: the read end of a pipe whose write end
 * pid 1 holds until its exec into the init is done (or it exits), so
 * that PROGRAM can wait before it lets any code run: until then pid 1 is
 * still a copy of the template.  -1 once init_wait_exec() has run.
 */
int init_exec_fd(void);

/* Wait (at most timeout_ms) for that EOF, then close the fd.  Returns 0,
 * or -ETIMEDOUT. */
int init_wait_exec(int timeout_ms);

/*
 * `sandpool-sandbox --zygote-init PID` (argv[1..2]): the init of a zygote
 * child, exec'd by its pid 1 (see init_run) with PROGRAM already forked
 * as PID and the init's signals blocked.  Never returns but for bad
 * arguments (2).
 */
int init_adopt(int argc, char **argv);

#endif
