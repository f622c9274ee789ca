/* SPDX-License-Identifier: MIT */
/*
 * server.h: bringing the server context up and down, shared by `sandpool
 * serve` (with HTTP) and `sandpool mcp` (stdio, an embedded pool in the
 * same process, no HTTP).
 */
#ifndef SANDPOOL_SERVER_H
#define SANDPOOL_SERVER_H

#include <signal.h>
#include <stdbool.h>

#include "config.h"
#include "sandpool.h"

#define SERVER_DRAIN_MS 10000 /* bound on the shutdown drain of executions */

/*
 * Set up sp (zeroed by the caller) for cfg: the key store, the root and
 * loopback checks (the latter only when http: refuse a non-loopback listen
 * address without a key), the state directory, the sandbox launcher and
 * runtime, the signal mask (set gets SIGTERM, SIGINT and SIGHUP, blocked
 * in this and every later thread, for the caller to wait on), metrics,
 * audit, the session table, the loop thread and MCP.  Startup errors are
 * fatal (STYLE.md §3.3).  The HTTP daemon is the caller's to start.
 */
void server_open(struct sandpool *sp, struct config *cfg, bool http,
		 sigset_t *set);

/*
 * Drain executions (up to SERVER_DRAIN_MS), stop the loop, the HTTP daemon
 * if any, MCP, and free what server_open made.  cfg stays the caller's.
 */
void server_close(struct sandpool *sp);

#endif
