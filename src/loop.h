/* SPDX-License-Identifier: MIT */
/*
 * loop.h: the server's event loop thread.  One epoll set watches every
 * sandbox's control socket, pidfd and OOM notification, plus an eventfd
 * that HTTP and starter threads poke after queueing work.  Timers
 * (execution deadlines, kill grace, cooldown) are folded into the epoll
 * timeout.
 */
#ifndef SANDPOOL_LOOP_H
#define SANDPOOL_LOOP_H

#include "sandpool.h"

/* Create the epoll set and start the thread.  Returns 0 or -errno. */
int loop_start(struct sandpool *sp);

/*
 * Shut down: refuse new work, wait up to drain_ms for running and queued
 * executions, then kill every sandbox, wait until all are reaped and their
 * files removed, and join the thread.
 */
void loop_stop(struct sandpool *sp, uint32_t drain_ms);

#endif
