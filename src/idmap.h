/* SPDX-License-Identifier: MIT */
/*
 * idmap.h: a sandbox's uid and gid maps (idmap.c), written by the
 * privileged side for a child in a new user namespace: by the launcher
 * for its child, by the server for a child forked from a zygote template
 * (which has no capabilities).  One function, so the two backends map
 * exactly alike.
 */
#ifndef SANDPOOL_IDMAP_H
#define SANDPOOL_IDMAP_H

#include <stdint.h>

/*
 * Write "0 X 1" and "1000 X+1000 1" (X = uid0) to the uid_map and
 * gid_map of the process whose /proc directory is procdir (an fd opened
 * O_PATH on /proc/<pid>).  setgroups stays "allow" (platform-notes §1).
 * Returns 0 or -errno.
 */
int idmap_write(int procdir, uint64_t uid0);

#endif
