/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h: what the parts of the sandbox launcher (sandbox.c, mount.c,
 * seccomp.c, landlock.c, init.c) share.  These files build only into
 * sandpool-sandbox, never into the server: the setup ritual must run in a
 * fresh single-threaded image.  See the theory of operation at the top of
 * sandbox.c and "The launcher contract" in docs/ARCHITECTURE.md.
 */
#ifndef SANDPOOL_SANDBOX_H
#define SANDPOOL_SANDBOX_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inside the sandbox: the user everything runs as after the drop. */
#define SANDBOX_UID 1000
#define SANDBOX_GID 1000

/* The namespaces of every sandbox, whichever backend starts it; the
 * cgroup namespace comes later, after the attach (sandbox_child.c). */
#define SANDBOX_CLONE_NS                                                     \
	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |          \
	 CLONE_NEWIPC | CLONE_NEWUTS)

#define SANDBOX_HOSTNAME_MAX 63

/* Caps on what the caller may hand us (all of it sizes arrays here). */
#define SANDBOX_MAX_CGROUP_FDS 8
#define SANDBOX_MAX_KEEP_FDS 32
#define SANDBOX_MAX_ENV 256
#define SANDBOX_MAX_ENV_LEN 32768 /* bytes, one K=V string */
#define SANDBOX_MAX_ARGS 256

/*
 * The text a failing setup step leaves for the launcher.  The child copies
 * it into the error pipe; the launcher turns it into "err <msg>".
 */
struct sandbox_err {
	char msg[256];
};

/*
 * Format "<what>: <strerror(-rc)>" into e and return rc, for
 * "return sandbox_errf(e, -errno, "mount %s", dst);".  rc is a -errno
 * value; rc == 0 formats the message without an errno text.
 */
int sandbox_errf(struct sandbox_err *e, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
