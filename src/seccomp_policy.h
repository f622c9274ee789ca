/* SPDX-License-Identifier: MIT */
/*
 * seccomp_policy.h: the interface of seccomp.c, the sandbox's syscall
 * policy loaded with libseccomp.  Not "seccomp.h": with -Isrc that name
 * would hide libseccomp's own <seccomp.h>.
 */
#ifndef SANDPOOL_SECCOMP_POLICY_H
#define SANDPOOL_SECCOMP_POLICY_H

#include "sandbox.h"

struct sock_filter;

/* The policy compiled to BPF (seccomp_compile). */
struct seccomp_prog {
	struct sock_filter *filter; /* owned; NULL until compiled */
	unsigned short len;         /* instructions */
};

/*
 * Compile the policy with libseccomp, once, on the host side: the
 * launcher before it clones, a zygote template before its first fork.
 * The sandbox child then only loads the program (no allocation, no
 * library state touched: a zygote child's writes are private pages).
 * Returns 0, or a -errno with e saying which rule or step failed.
 */
int seccomp_compile(struct seccomp_prog *out, struct sandbox_err *e);

/*
 * Load p into the calling process; it is inherited by every child and
 * cannot be removed.  Call it after PR_SET_NO_NEW_PRIVS, as the last
 * restriction before PROGRAM runs.  Returns 0 or a -errno with e set.
 */
int seccomp_load_prog(const struct seccomp_prog *p, struct sandbox_err *e);

#endif
