/* SPDX-License-Identifier: MIT */
/*
 * health.h: the startup probe.  GET /health is liveness (the process
 * answers); GET /health/startup is readiness, which DESIGN.md §3 defines
 * as "the pools are filled and a probe ran 1+1 in a sandbox".  The probe
 * runs once at startup on a sandbox of its own (pool_probe), retried
 * every second until it answers 2; readiness is then latched, so a pool
 * refilling behind a new session does not turn the probe back to 503.
 */
#ifndef SANDPOOL_HEALTH_H
#define SANDPOOL_HEALTH_H

#include <stdbool.h>

#include "sandpool.h"

/* sp->probe_state */
#define HEALTH_PROBE_IDLE 0 /* not run yet, or failed: retry when due */
#define HEALTH_PROBE_RUNNING 1
#define HEALTH_PROBE_OK 2

#define HEALTH_RETRY_MS 1000
#define HEALTH_SOON_MS 20 /* the template was not up yet */

/* Loop thread, sp->lock held: start the probe when it is due. */
void health_tick(struct sandpool *sp);

/*
 * True once the probe has passed and every pool has had its warm
 * sandboxes; latched in sp->startup_done.  Takes sp->lock.
 */
bool health_startup_ready(struct sandpool *sp);

#endif
