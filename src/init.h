/* SPDX-License-Identifier: MIT */
/*
 * init.h: the sandbox's pid 1, which starts PROGRAM, reaps orphans and
 * forwards signals.
 */
#ifndef SANDPOOL_INIT_H
#define SANDPOOL_INIT_H

#include <stdbool.h>

struct init_cfg {
	char *const *argv; /* PROGRAM and its arguments; argv[0] absolute */
	char *const *envp; /* PROGRAM's whole environment */
	int errfd;	   /* close-on-exec write end of the error pipe */
	bool stdio;	   /* PROGRAM keeps fds 0-2 instead of /dev/null */
	bool ctl;	   /* fd 3 is the control socket, passed to PROGRAM */
};

/*
 * Become the sandbox's init.  Forks PROGRAM (cwd /mnt/data, fds 0-3 only,
 * exactly cfg->envp); a failed execve writes its reason to errfd, a
 * successful one closes PROGRAM's copy, and init closes its own after the
 * fork, so the launcher sees EOF once PROGRAM runs.  Then reaps every
 * child, forwards SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 to PROGRAM,
 * and when PROGRAM exits calls _exit() with its status (128+signal if it
 * was killed).  Never returns and never calls exit(): no atexit handlers
 * or LeakSanitizer run under the seccomp filter.
 */
void init_run(const struct init_cfg *cfg) __attribute__((noreturn));

#endif
