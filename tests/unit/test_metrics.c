// SPDX-License-Identifier: MIT
/*
 * test_metrics.c: the Prometheus exposition (families, cumulative
 * histogram buckets, counters by label, label escaping) and the /proc
 * parsers behind the audit's CPU and peak-memory figures.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "procstat.h"
#include "sandpool.h"
#include "t.h"
#include "util.h"

static struct config cfg;
static struct sandpool sp;

static void
setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	memset(&sp, 0, sizeof(sp));
	config_defaults(&cfg);
	snprintf(cfg.pools[1].name, sizeof(cfg.pools[1].name), "we\"ird");
	cfg.pools[1].max_sessions = 7;
	cfg.npools = 2;
	sp.cfg = &cfg;
	sp.npools = 2;
	sp.pools[0].cfg = &cfg.pools[0];
	sp.pools[1].cfg = &cfg.pools[1];
	sp.pools[0].ready = 2;
	pthread_mutex_init(&sp.lock, NULL);
	sp.metrics = metrics_new();
}

static char *
render(void)
{
	struct buf b;

	buf_init(&b, 1 << 20);
	CHECK_INT(metrics_render(&sp, &b), ==, 0);
	return buf_steal(&b, NULL);
}

static int
has(const char *text, const char *line)
{
	char *want = xasprintf("\n%s\n", line);
	int found = strstr(text, want) != NULL;

	free(want);
	return found;
}

TEST(families_and_gauges)
{
	char *t;

	setup();
	t = render();
	CHECK(has(t, "# TYPE sandpool_sessions gauge"));
	CHECK(has(t, "sandpool_sessions{pool=\"default\",state=\"ready\"} 2"));
	CHECK(has(t, "sandpool_sessions_max{pool=\"we\\\"ird\"} 7"));
	CHECK(has(t, "# TYPE sandpool_executions_total counter"));
	CHECK(has(t, "sandpool_executions_total{status=\"Succeeded\","
		     "code=\"none\"} 0"));
	CHECK(has(t, "# TYPE sandpool_http_requests_total counter"));
	CHECK(has(t, "sandpool_audit_dropped_total 0"));
	CHECK(strncmp(t, "# HELP ", 7) == 0);
	CHECK(t[strlen(t) - 1] == '\n');
	free(t);
	metrics_free(sp.metrics);
}

TEST(counters_and_histograms)
{
	char *t;

	setup();
	metrics_exec(sp.metrics, "Succeeded", NULL, 0.0004);
	metrics_exec(sp.metrics, "Succeeded", NULL, 0.003);
	metrics_exec(sp.metrics, "Failed", "Timeout", 400);
	metrics_exec(sp.metrics, "Failed", "SomethingNew", 0.5);
	metrics_exec(sp.metrics, "Weird", "PythonError", 1);
	metrics_http(sp.metrics, ROUTE_EXECUTIONS, 200);
	metrics_http(sp.metrics, ROUTE_EXECUTIONS, 200);
	metrics_http(sp.metrics, ROUTE_NONE, 404);
	metrics_http(sp.metrics, ROUTE_EXECUTIONS, 99);  /* ignored */
	metrics_http(sp.metrics, ROUTE_EXECUTIONS, 600); /* ignored */
	metrics_timeout(sp.metrics, true);
	metrics_file_bytes(sp.metrics, 10, 20);
	metrics_session_created(sp.metrics, 1);
	metrics_session_created(sp.metrics, 99); /* ignored */
	metrics_sandbox_start(sp.metrics, 0, false, 0);
	t = render();
	CHECK(has(t, "sandpool_executions_total{status=\"Succeeded\","
		     "code=\"none\"} 2"));
	CHECK(has(t, "sandpool_executions_total{status=\"Failed\","
		     "code=\"Timeout\"} 1"));
	CHECK(has(t, "sandpool_executions_total{status=\"Failed\","
		     "code=\"other\"} 1"));
	CHECK(has(t, "sandpool_executions_total{status=\"Error\","
		     "code=\"PythonError\"} 1"));
	CHECK(has(t, "sandpool_execution_duration_seconds_bucket"
		     "{le=\"0.001\"} 1"));
	CHECK(has(t, "sandpool_execution_duration_seconds_bucket"
		     "{le=\"0.005\"} 2"));
	CHECK(has(t, "sandpool_execution_duration_seconds_bucket"
		     "{le=\"300\"} 4"));
	CHECK(has(t, "sandpool_execution_duration_seconds_bucket"
		     "{le=\"+Inf\"} 5"));
	CHECK(has(t, "sandpool_execution_duration_seconds_count 5"));
	CHECK(has(t, "sandpool_execution_duration_seconds_sum 401.503400"));
	CHECK(has(t, "sandpool_http_requests_total{route=\"executions\","
		     "code=\"200\"} 2"));
	CHECK(has(t, "sandpool_http_requests_total{route=\"none\","
		     "code=\"404\"} 1"));
	CHECK(strstr(t, "code=\"99\"") == NULL);
	CHECK(has(t, "sandpool_timeouts_total{action=\"killed\"} 1"));
	CHECK(has(t, "sandpool_file_bytes_total{direction=\"out\"} 20"));
	CHECK(has(t, "sandpool_sessions_created_total{pool=\"we\\\"ird\"} 1"));
	CHECK(has(t, "sandpool_sandbox_starts_total{pool=\"default\","
		     "result=\"failed\"} 1"));
	free(t);
	metrics_free(sp.metrics);
}

TEST(procstat_parsers)
{
	/* comm may hold spaces and parentheses: parsing starts after the
	 * last ')'. */
	const char *stat = "1234 (evil) (x) 1 2) S 1 1234 1234 0 -1 4194560 "
			   "100 0 0 0 25 7 3 2 20 0 1 0 100 1000 200";
	const char *status = "Name:\tpython3\nVmPeak:\t  99999 kB\n"
			     "VmHWM:\t   48544 kB\nVmRSS:\t 1000 kB\n";

	CHECK_INT(procstat_parse_stat(stat), ==, 25 + 7 + 3 + 2);
	CHECK_INT(procstat_parse_stat("1 (x) S 1"), ==, -1);
	CHECK_INT(procstat_parse_stat("no paren"), ==, -1);
	CHECK_INT(procstat_parse_stat("1 (x) S 1 2 3 4 5 6 7 8 9 10 -1 1 1 "
				      "1"),
		  ==, -1);
	CHECK_INT(procstat_parse_hwm(status), ==, 48544);
	CHECK_INT(procstat_parse_hwm("Name: x\nVmRSS: 1 kB\n"), ==, -1);
	CHECK_INT(procstat_parse_hwm("x\nVmHWM: lots kB\n"), ==, -1);
}

TEST(procstat_self)
{
	struct procstat ps;
	pid_t pid = fork();

	if (pid == 0) {
		/* Pid "1" of this test: a parent with one child. */
		pid_t kid;

		setpgid(0, 0);
		kid = fork();

		if (kid == 0) {
			volatile unsigned long x = 0;

			for (;;)
				x++;
		}
		pause();
		_exit(0);
	}
	setpgid(pid, pid); /* either side may win the race */
	usleep(300 * 1000);
	procstat_init(&ps);
	CHECK_INT(procstat_open(&ps, pid), ==, 0);
	CHECK(ps.kern_stat >= 0 && ps.kern_status >= 0);
	CHECK(procstat_cpu_ms(&ps) >= 100); /* the child spun for 0.3 s */
	procstat_peak_reset(&ps);
	CHECK(procstat_peak_bytes(&ps) > 0);
	procstat_close(&ps);
	procstat_close(&ps); /* idempotent */
	CHECK_INT(procstat_cpu_ms(&ps), ==, -1);
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

T_MAIN()
