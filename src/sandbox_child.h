/* SPDX-License-Identifier: MIT */
/*
 * sandbox_child.h: the launcher child's setup ritual, from the release by
 * the launcher to the exec of the init (sandbox_child.c).
 */
#ifndef SANDPOOL_SANDBOX_CHILD_H
#define SANDPOOL_SANDBOX_CHILD_H

#include <stdbool.h>

#include "sandbox_opts.h"

struct sandbox_child {
	const struct sandbox_opts *o;
	int release_fd;	  /* read end: a byte once the maps are set */
	int errfd;	  /* close-on-exec write end of the error pipe */
	int data_tree;	  /* detached mount for /mnt/data (open_tree) */
	int runtime_tree; /* detached mount for /opt/sandpool */
	bool ctl;	  /* fd 3 is PROGRAM's control socket */
};

/*
 * Run in the child right after clone(): wait for the release, set the
 * sandbox up step by step as its inside-root, drop to uid 1000, and become
 * its init (init_run()).  A failing step writes its message to c->errfd
 * and calls _exit(1).  Never returns.
 */
void sandbox_child_main(struct sandbox_child *c) __attribute__((noreturn));

#endif
