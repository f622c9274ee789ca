/* SPDX-License-Identifier: MIT */
/*
 * mount.h: the sandbox's filesystem, built as an ordered plan of mount ops
 * (bubblewrap's SetupOp, nsjail's mount list) by one function.
 */
#ifndef SANDPOOL_MOUNT_H
#define SANDPOOL_MOUNT_H

#include <stdint.h>

#include "sandbox.h"

struct mount_cfg {
	const char *hostname; /* validated: [A-Za-z0-9-], 1..63 chars */
	uint64_t tmp_size;    /* bytes; size of the /tmp tmpfs */
	int data_tree;	      /* detached mount (open_tree): /mnt/data */
	int runtime_tree;     /* detached mount for /opt/sandpool */
};

/*
 * Build the sandbox filesystem and pivot into it.  The caller must be
 * inside-root of fresh user and mount namespaces with every capability
 * there, single-threaded, and its pid namespace's init (for /proc).
 * On return the root is a read-only tmpfs and the cwd is "/".  The two
 * tree fds are attached (the caller still closes them).  Returns 0, or a
 * -errno with e naming the step that failed.
 */
int mount_setup(const struct mount_cfg *cfg, struct sandbox_err *e);

#endif
