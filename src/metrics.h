/* SPDX-License-Identifier: MIT */
/*
 * metrics.h: counters and histograms for GET /metrics, in the Prometheus
 * text format.  Every metric is a relaxed atomic in one struct metrics
 * (sp->metrics), so any thread may count without a lock; the gauges
 * (sessions per pool) are read from the session table under sp->lock when
 * the page is rendered.  Label values come from fixed tables (routes,
 * status codes, error codes), never from clients, so the number of series
 * is bounded.
 *
 * For other modules (files API, MCP): call metrics_file_bytes() for file
 * bytes in and out; HTTP requests are counted by http.c for every route.
 */
#ifndef SANDPOOL_METRICS_H
#define SANDPOOL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "route.h"
#include "util.h"

struct metrics;
struct sandpool;

/* Allocate zeroed counters / free them (NULL-safe). */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/* One HTTP response: its route and status (100..599). */
void metrics_http(struct metrics *m, enum route_id route, unsigned status);

/*
 * One finished execution.  status is "Succeeded", "Failed" or "Error"
 * (audit.h's words); error_code is the API's error.code or NULL; seconds
 * its wall time.
 */
void metrics_exec(struct metrics *m, const char *status, const char *error_code,
		  double seconds);

/* A new identifier was given a session in pool index pool (0-based). */
void metrics_session_created(struct metrics *m, int pool);
/* From a new identifier to its first execution reaching a kernel. */
void metrics_session_latency(struct metrics *m, double seconds);
/* A sandbox start in pool index pool: ok with its seconds from spawn to
 * the kernel's "ready", or a failed start. */
void metrics_sandbox_start(struct metrics *m, int pool, bool ok,
			   double seconds);
/* A sandbox made by backend (enum start_backend). */
void metrics_backend_start(struct metrics *m, int backend);
/* A zygote template was started, or said ready. */
void metrics_template(struct metrics *m, bool ready);
/* A timeout: interrupted (state kept) or killed (kernel restarted). */
void metrics_timeout(struct metrics *m, bool killed);
void metrics_oom(struct metrics *m);
/* A kernel that died and was restarted with the session's files. */
void metrics_kernel_restart(struct metrics *m);
/* Bytes uploaded into (in) and downloaded out of session files. */
void metrics_file_bytes(struct metrics *m, uint64_t in, uint64_t out);

/*
 * Render the exposition text (HELP and TYPE for every family) into out.
 * Takes sp->lock briefly for the session gauges.  Returns 0 or -E2BIG
 * when out's cap is too small.
 */
int metrics_render(struct sandpool *sp, struct buf *out);

#endif
