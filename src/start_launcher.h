/* SPDX-License-Identifier: MIT */
/*
 * start_launcher.h: the launcher backend of the start path: a fresh
 * sandpool-sandbox process builds the sandbox and execs a cold kernel
 * (start_launcher.c).  The fallback when a pool's template is down, and
 * what pools with `start = launcher` use.
 */
#ifndef SANDPOOL_START_LAUNCHER_H
#define SANDPOOL_START_LAUNCHER_H

#include "start.h"

/*
 * Starter thread, no lock: run the launcher for spec and wait for its
 * report (it comes once the kernel's execve succeeded).  Returns 0 with
 * r->pid1, r->pidfd and r->backend set, or -errno with r->why.
 */
int start_launcher_spawn(struct sandpool *sp, const struct start_spec *spec,
			 struct start_result *r);

#endif
