// SPDX-License-Identifier: MIT
/*
 * idmap.c: the uid/gid maps of a sandbox (idmap.h).  Inside root maps to
 * the slot's first host uid for the setup, inside 1000 to X+1000 for
 * everything else: two host ids per session.  Linked into the launcher
 * and the server.
 */
#define _GNU_SOURCE
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

/* Write one map file in a single write(), as the kernel requires. */
static int
write_map(int procdir, const char *name, const char *map)
{
	int fd = openat(procdir, name, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, map, strlen(map));
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != strlen(map))
		rc = -EIO;
	close(fd);
	return rc;
}

int
idmap_write(int procdir, uint64_t uid0)
{
	char map[64];
	int rc;

	snprintf(map, sizeof(map), "0 %llu 1\n%d %llu 1\n",
		 (unsigned long long)uid0, SANDBOX_UID,
		 (unsigned long long)(uid0 + SANDBOX_UID));
	rc = write_map(procdir, "uid_map", map);
	if (rc == 0)
		rc = write_map(procdir, "gid_map", map);
	return rc;
}
