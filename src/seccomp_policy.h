/* SPDX-License-Identifier: MIT */
/*
 * seccomp_policy.h: the interface of seccomp.c, the sandbox's syscall
 * policy loaded with libseccomp.  Not "seccomp.h": with -Isrc that name
 * would hide libseccomp's own <seccomp.h>.
 */
#ifndef SANDPOOL_SECCOMP_POLICY_H
#define SANDPOOL_SECCOMP_POLICY_H

#include "sandbox.h"

/*
 * Build the policy and load it into the calling process; it is inherited
 * by every child and cannot be removed.  Call it after
 * PR_SET_NO_NEW_PRIVS, single-threaded, as the last step before exec.
 * Returns 0, or a -errno with e saying which rule or step failed.
 */
int seccomp_install(struct sandbox_err *e);

#endif
