/* SPDX-License-Identifier: MIT */
/*
 * sandbox_child.h: the sandbox-entry ritual (sandbox_child.c), from the
 * release by the host side to the sandbox's init.  One piece of code for
 * both start backends, so that they cannot drift apart: the launcher's
 * child (sandbox.c) runs it and execs PROGRAM, and a child forked from a
 * zygote template (zygote_py.c) runs it and returns into the template's
 * Python as the session's kernel.
 */
#ifndef SANDPOOL_SANDBOX_CHILD_H
#define SANDPOOL_SANDBOX_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sandbox.h"
#include "seccomp_policy.h"

struct sandbox_child {
	const char *hostname;  /* validated: [A-Za-z0-9-], 1..63 chars */
	uint64_t tmp_size;     /* bytes; the /tmp tmpfs */
	uint64_t pids;         /* RLIMIT_NPROC */
	uint64_t fsize;        /* RLIMIT_FSIZE; UINT64_MAX: none */
	const int *cgroup_fds; /* attach files to write "0" to */
	size_t ncgroup;        /* 0..SANDBOX_MAX_CGROUP_FDS */
	int release_fd;        /* read end: a byte once the maps are set */
	/* The release is a message on a unix socket that brings the data
	 * tree and the cgroup attach files, in that order, instead of
	 * data_tree and cgroup_fds (a zygote child: the host makes them
	 * while the template forks). */
	bool release_brings_fds;
	int errfd;             /* write end of the error pipe */
	int data_tree;         /* detached mount for /mnt/data (open_tree) */
	int runtime_tree;      /* detached mount for /opt/sandpool */
	int ctl_fd;            /* control socket, becomes fd 3; -1: none */
	/* A zygote child's inherited files that PROGRAM keeps at their
	 * numbers (the template's Python objects own them; zygote_py.c
	 * checks each is a read-only file under /usr or /dev/null). */
	const int *keep_fds;
	size_t nkeep;          /* 0..SANDBOX_MAX_KEEP_FDS */
	int init_fd;           /* zygote: memfd of the launcher, for pid 1 */
	const struct seccomp_prog *seccomp; /* compiled by the parent */
	bool stdio;            /* PROGRAM keeps fds 0-2 (tests) */
	/* PROGRAM to exec (the launcher), or NULL: fork it and return in
	 * it (a zygote child, whose program is the Python it came from). */
	char *const *argv;
	char *const *envp;
};

/*
 * Run in the child right after clone(), as pid 1 of the new namespaces:
 * wait for the release, set the sandbox up step by step as its
 * inside-root, drop to uid 1000 with no capabilities, NO_NEW_PRIVS,
 * Landlock, seccomp and rlimits, and become its init (init_run()).  A
 * failing step writes its message to c->errfd and calls _exit(1).
 * With c->argv set it never returns.  Without, it returns 0 in PROGRAM's
 * process only (pid 2, fds 0-3, cwd /mnt/data, signal mask empty, error
 * pipe closed); pid 1 stays in the init loop.
 */
int sandbox_child_enter(const struct sandbox_child *c);

/* Close every fd from lo up except keep[0..n); n at most
 * SANDBOX_MAX_KEEP_FDS + 1.  Returns 0 or -errno.  (init.c uses it.) */
int sandbox_child_close_fds(unsigned int lo, const int *keep, size_t n);

/* Is s a valid sandbox hostname: 1-63 letters, digits or inner
 * hyphens?  (The option parser and the zygote check with it.) */
bool sandbox_child_hostname_ok(const char *s);

#endif
