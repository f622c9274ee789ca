/* SPDX-License-Identifier: MIT */
/*
 * landlock.h: the sandbox's Landlock ruleset (filesystem, TCP and scopes).
 */
#ifndef SANDPOOL_LANDLOCK_H
#define SANDPOOL_LANDLOCK_H

#include "sandbox.h"

/*
 * Restrict the calling process (and everything it starts) to the sandbox
 * ruleset: read everywhere, execute only under /usr, write only to /tmp,
 * /dev/shm, /mnt/data and the six devices, no TCP bind or connect, no
 * signals or abstract sockets leaving the sandbox.  Rights the running
 * kernel's ABI does not know are left out; without Landlock it does
 * nothing and returns 0.  Call it after pivot_root and
 * PR_SET_NO_NEW_PRIVS.  Returns 0, or a -errno with e set.
 */
int landlock_install(struct sandbox_err *e);

#endif
