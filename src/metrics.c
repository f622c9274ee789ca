// SPDX-License-Identifier: MIT
/*
 * metrics.c: the counters behind GET /metrics and their Prometheus text
 * exposition (format 0.0.4: HELP and TYPE before each family, counters
 * ending in _total, histograms as cumulative _bucket{le} series plus _sum
 * and _count).  Counting is a relaxed atomic add, safe from any thread
 * and lock-free; only rendering takes sp->lock, to read the session
 * gauges.  Label values come from fixed tables, so a client cannot grow
 * the number of series.
 */
#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "sandpool.h"
#include "session.h"

#define ROUTE_SLOTS 32 /* > the number of enum route_id values */
#define STATUS_SLOTS 600
#define MAX_BUCKETS 20

typedef _Atomic uint64_t counter;

static void
inc(counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* ---- histograms ---- */

struct histogram {
	const double *le; /* upper bounds, ascending; +Inf is implied */
	int n;
	counter counts[MAX_BUCKETS + 1]; /* per bucket, not cumulative */
	counter sum_us;                  /* sum of observations, in us */
};

static const double exec_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,   0.25,   0.5,   1,    2.5,   5,
				 10,    30,     60,    120,  300};
static const double session_le[] = {0.0005, 0.001, 0.002, 0.005, 0.01,
				    0.025,  0.05,  0.1,   0.25,  0.5,
				    1,      2.5,   5,     10};
static const double start_le[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30};

static void
observe(struct histogram *h, double v)
{
	int i;

	if (v < 0)
		v = 0;
	for (i = 0; i < h->n && v > h->le[i]; i++)
		;
	inc(&h->counts[i], 1);
	inc(&h->sum_us, (uint64_t)(v * 1e6 + 0.5));
}

/* ---- executions by status and error code ---- */

static const char *const exec_statuses[] = {"Succeeded", "Failed", "Error"};
static const char *const exec_codes[] = {
	"none",
	"PythonError",
	"Timeout",
	"OutOfMemory",
	"KernelDied",
	"OutputTruncated",
	"ImportNotAllowed",
	"SandboxUnavailable",
	"ExecutionCancelled",
	"SessionGone",
	"ServerStopping",
	"other",
};
#define NSTATUS ARRAY_SIZE(exec_statuses)
#define NCODES ARRAY_SIZE(exec_codes)

struct metrics {
	counter http[ROUTE_SLOTS][STATUS_SLOTS];
	counter exec[NSTATUS][NCODES];
	struct histogram exec_seconds;
	struct histogram session_seconds;
	struct histogram start_seconds;
	counter created[CONFIG_MAX_POOLS];
	counter starts_ok[CONFIG_MAX_POOLS];
	counter starts_failed[CONFIG_MAX_POOLS];
	counter backend_starts[2]; /* enum start_backend */
	counter templates[2];      /* zygote templates: started, ready */
	counter timeouts_interrupted;
	counter timeouts_killed;
	counter oom;
	counter restarts;
	counter file_in;
	counter file_out;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->exec_seconds.le = exec_le;
	m->exec_seconds.n = (int)ARRAY_SIZE(exec_le);
	m->session_seconds.le = session_le;
	m->session_seconds.n = (int)ARRAY_SIZE(session_le);
	m->start_seconds.le = start_le;
	m->start_seconds.n = (int)ARRAY_SIZE(start_le);
	return m;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

void
metrics_http(struct metrics *m, enum route_id route, unsigned status)
{
	unsigned r = (unsigned)route;

	if (m == NULL || r >= ROUTE_SLOTS || status < 100 ||
	    status >= STATUS_SLOTS)
		return;
	inc(&m->http[r][status], 1);
}

static size_t
index_of(const char *const *names, size_t n, const char *s, size_t dflt)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return dflt;
}

void
metrics_exec(struct metrics *m, const char *status, const char *error_code,
	     double seconds)
{
	size_t st, code;

	if (m == NULL)
		return;
	st = index_of(exec_statuses, NSTATUS, status, NSTATUS - 1);
	code = error_code ? index_of(exec_codes, NCODES, error_code, NCODES - 1)
			  : 0;
	inc(&m->exec[st][code], 1);
	observe(&m->exec_seconds, seconds);
}

static bool
pool_ok(int pool)
{
	return pool >= 0 && pool < CONFIG_MAX_POOLS;
}

void
metrics_session_created(struct metrics *m, int pool)
{
	if (m && pool_ok(pool))
		inc(&m->created[pool], 1);
}

void
metrics_session_latency(struct metrics *m, double seconds)
{
	if (m)
		observe(&m->session_seconds, seconds);
}

void
metrics_sandbox_start(struct metrics *m, int pool, bool ok, double seconds)
{
	if (m == NULL || !pool_ok(pool))
		return;
	if (ok) {
		inc(&m->starts_ok[pool], 1);
		observe(&m->start_seconds, seconds);
	} else {
		inc(&m->starts_failed[pool], 1);
	}
}

void
metrics_backend_start(struct metrics *m, int backend)
{
	if (m != NULL && backend >= 0 && backend < 2)
		inc(&m->backend_starts[backend], 1);
}

void
metrics_template(struct metrics *m, bool ready)
{
	if (m != NULL)
		inc(&m->templates[ready ? 1 : 0], 1);
}

void
metrics_timeout(struct metrics *m, bool killed)
{
	if (m)
		inc(killed ? &m->timeouts_killed : &m->timeouts_interrupted, 1);
}

void
metrics_oom(struct metrics *m)
{
	if (m)
		inc(&m->oom, 1);
}

void
metrics_kernel_restart(struct metrics *m)
{
	if (m)
		inc(&m->restarts, 1);
}

void
metrics_file_bytes(struct metrics *m, uint64_t in, uint64_t out)
{
	if (m == NULL)
		return;
	if (in)
		inc(&m->file_in, in);
	if (out)
		inc(&m->file_out, out);
}

/* ------------------------------------------------------------------ */
/* exposition                                                          */
/* ------------------------------------------------------------------ */

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: pool names and route names are plain, but escape the
 * three characters the format reserves anyway. */
static void
label_value(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_printf(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

static void
render_histogram(struct buf *b, const char *name, const char *help,
		 struct histogram *h)
{
	uint64_t cum = 0;
	int i;

	family(b, name, "histogram", help);
	for (i = 0; i <= h->n; i++) {
		cum += get(&h->counts[i]);
		if (i < h->n)
			buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
				   h->le[i], (unsigned long long)cum);
		else
			buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
				   (unsigned long long)cum);
	}
	buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name,
		   (double)get(&h->sum_us) / 1e6, name,
		   (unsigned long long)cum);
}

/* Session gauges per pool, read under sp->lock. */
struct pool_gauges {
	uint32_t active, ready, starting, max;
};

static void
read_gauges(struct sandpool *sp, struct pool_gauges *g, int *npools)
{
	struct session *s;
	int i;

	pthread_mutex_lock(&sp->lock);
	*npools = sp->npools;
	for (i = 0; i < sp->npools; i++) {
		g[i].ready = sp->pools[i].ready;
		g[i].starting = sp->pools[i].starting;
		g[i].max = sp->pools[i].cfg->max_sessions;
		g[i].active = 0;
	}
	for (s = sp->all; s; s = s->next_all) {
		long p = s->pool - sp->pools;

		if (s->identifier && !s->destroy &&
		    s->state != SESSION_CLOSED && p >= 0 && p < *npools)
			g[p].active++;
	}
	pthread_mutex_unlock(&sp->lock);
}

static void
pool_series(struct buf *b, const char *name, struct sandpool *sp, int npools,
	    const char *extra, counter *c, const uint32_t *vals)
{
	int i;

	for (i = 0; i < npools; i++) {
		buf_printf(b, "%s{pool=\"", name);
		label_value(b, sp->cfg->pools[i].name);
		buf_printf(b, "\"%s} %llu\n", extra ? extra : "",
			   (unsigned long long)(c ? get(&c[i]) : vals[i]));
	}
}

int
metrics_render(struct sandpool *sp, struct buf *b)
{
	struct metrics *m = sp->metrics;
	struct pool_gauges g[CONFIG_MAX_POOLS];
	uint32_t v[CONFIG_MAX_POOLS];
	int npools = 0, i;
	size_t r, s, c;

	read_gauges(sp, g, &npools);

	family(b, "sandpool_sessions", "gauge",
	       "Sessions per pool: active (bound to an identifier), ready "
	       "(warm, unassigned) and starting (sandbox coming up).");
	for (i = 0; i < npools; i++) {
		buf_printf(b, "sandpool_sessions{pool=\"");
		label_value(b, sp->cfg->pools[i].name);
		buf_printf(b, "\",state=\"active\"} %u\n", g[i].active);
		buf_printf(b, "sandpool_sessions{pool=\"");
		label_value(b, sp->cfg->pools[i].name);
		buf_printf(b, "\",state=\"ready\"} %u\n", g[i].ready);
		buf_printf(b, "sandpool_sessions{pool=\"");
		label_value(b, sp->cfg->pools[i].name);
		buf_printf(b, "\",state=\"starting\"} %u\n", g[i].starting);
	}
	family(b, "sandpool_sessions_max", "gauge",
	       "The pool's max_sessions setting.");
	for (i = 0; i < npools; i++)
		v[i] = g[i].max;
	pool_series(b, "sandpool_sessions_max", sp, npools, NULL, NULL, v);

	family(b, "sandpool_sessions_created_total", "counter",
	       "Sessions created for a new identifier.");
	pool_series(b, "sandpool_sessions_created_total", sp, npools, NULL,
		    m->created, NULL);
	family(b, "sandpool_sandbox_starts_total", "counter",
	       "Sandbox starts (warm pool, new sessions and restarts), by "
	       "result.");
	pool_series(b, "sandpool_sandbox_starts_total", sp, npools,
		    ",result=\"ok\"", m->starts_ok, NULL);
	pool_series(b, "sandpool_sandbox_starts_total", sp, npools,
		    ",result=\"failed\"", m->starts_failed, NULL);
	family(b, "sandpool_sandbox_backend_starts_total", "counter",
	       "Sandboxes made by each start backend: forked from a zygote "
	       "template, or by the launcher (pools with start = launcher, "
	       "and the fallback while a template is down).");
	buf_printf(b,
		   "sandpool_sandbox_backend_starts_total{backend=\"zygote\"} "
		   "%llu\n"
		   "sandpool_sandbox_backend_starts_total"
		   "{backend=\"launcher\"} %llu\n",
		   (unsigned long long)get(&m->backend_starts[0]),
		   (unsigned long long)get(&m->backend_starts[1]));
	family(b, "sandpool_zygote_templates_total", "counter",
	       "Zygote templates started, and those that said ready.");
	buf_printf(b,
		   "sandpool_zygote_templates_total{state=\"started\"} %llu\n"
		   "sandpool_zygote_templates_total{state=\"ready\"} %llu\n",
		   (unsigned long long)get(&m->templates[0]),
		   (unsigned long long)get(&m->templates[1]));

	family(b, "sandpool_executions_total", "counter",
	       "Finished executions by status (Succeeded, Failed: the code "
	       "failed, Error: ours) and error code.");
	for (s = 0; s < NSTATUS; s++)
		for (c = 0; c < NCODES; c++) {
			uint64_t n = get(&m->exec[s][c]);

			/* Always show the success series, so the family is
			 * never empty. */
			if (n == 0 && !(s == 0 && c == 0))
				continue;
			buf_printf(b,
				   "sandpool_executions_total{status=\"%s\","
				   "code=\"%s\"} %llu\n",
				   exec_statuses[s], exec_codes[c],
				   (unsigned long long)n);
		}
	render_histogram(b, "sandpool_execution_duration_seconds",
			 "Wall time of executions, from dispatch to the "
			 "kernel's reply.",
			 &m->exec_seconds);
	render_histogram(b, "sandpool_session_new_seconds",
			 "Latency of a new session: from a new identifier to "
			 "its first execution reaching a ready kernel.",
			 &m->session_seconds);
	render_histogram(b, "sandpool_sandbox_start_seconds",
			 "Sandbox start: from spawning the launcher to the "
			 "kernel's ready message.",
			 &m->start_seconds);

	family(b, "sandpool_timeouts_total", "counter",
	       "Executions past their deadline: interrupted (state kept) or "
	       "killed (kernel restarted).");
	buf_printf(b,
		   "sandpool_timeouts_total{action=\"interrupted\"} %llu\n"
		   "sandpool_timeouts_total{action=\"killed\"} %llu\n",
		   (unsigned long long)get(&m->timeouts_interrupted),
		   (unsigned long long)get(&m->timeouts_killed));
	family(b, "sandpool_oom_kills_total", "counter",
	       "Executions killed by the memory limit.");
	buf_printf(b, "sandpool_oom_kills_total %llu\n",
		   (unsigned long long)get(&m->oom));
	family(b, "sandpool_kernel_restarts_total", "counter",
	       "Kernels that died (crash, exit, kill, timeout) and were "
	       "restarted with the session's files.");
	buf_printf(b, "sandpool_kernel_restarts_total %llu\n",
		   (unsigned long long)get(&m->restarts));
	family(b, "sandpool_file_bytes_total", "counter",
	       "Bytes of session files uploaded (in) and downloaded (out).");
	buf_printf(b,
		   "sandpool_file_bytes_total{direction=\"in\"} %llu\n"
		   "sandpool_file_bytes_total{direction=\"out\"} %llu\n",
		   (unsigned long long)get(&m->file_in),
		   (unsigned long long)get(&m->file_out));

	family(b, "sandpool_http_requests_total", "counter",
	       "HTTP responses by route and status code.");
	for (r = 0; r < ROUTE_SLOTS; r++)
		for (s = 100; s < STATUS_SLOTS; s++) {
			uint64_t n = get(&m->http[r][s]);

			if (n == 0)
				continue;
			buf_printf(b, "sandpool_http_requests_total{route=\"");
			label_value(b, route_name((enum route_id)r));
			buf_printf(b, "\",code=\"%zu\"} %llu\n", s,
				   (unsigned long long)n);
		}

	family(b, "sandpool_audit_rows_total", "counter",
	       "Audit rows committed to sandpool.db.");
	buf_printf(b, "sandpool_audit_rows_total %llu\n",
		   (unsigned long long)audit_written(sp->audit));
	family(b, "sandpool_audit_dropped_total", "counter",
	       "Audit rows dropped because the writer's queue was full or "
	       "the database failed.");
	buf_printf(b, "sandpool_audit_dropped_total %llu\n",
		   (unsigned long long)audit_dropped(sp->audit));
	return b->len >= b->cap ? -E2BIG : 0;
}
