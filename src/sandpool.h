/* SPDX-License-Identifier: MIT */
/*
 * sandpool.h: the one context struct passed everywhere in the server
 * (STYLE.md §3.2: no mutable globals in a threaded daemon).
 */
#ifndef SANDPOOL_SANDPOOL_H
#define SANDPOOL_SANDPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "pool.h"

struct session;
struct MHD_Daemon;
struct cgroup_root;
struct mcp;
struct start;
struct start_zygote;

struct sandpool {
	struct config *cfg;
	char *exe_dir;      /* directory of the sandpool binary */
	char *sandbox_bin;  /* path of sandpool-sandbox */
	char *runtime_dir;  /* holds kernel.py and zygote.py */
	char *zygote_so;    /* the zygote's Python extension */
	char *sessions_dir; /* <state>/sessions */
	struct cgroup_root *cgroups; /* this instance's cgroup subtree */
	int state_lock;     /* flock on <state>/lock; -1 before start */
	int reaper_fd;      /* pipe to the reaper (priv.c); -1 = none */
	pid_t reaper_pid;

	/*
	 * lock protects the session table, every struct session, the pools
	 * and the slot map.  Taken by HTTP threads and the loop thread; never
	 * held while calling a job's completion callback.
	 */
	pthread_mutex_t lock;
	struct session **table; /* hash buckets by (principal, identifier) */
	uint32_t table_size;
	struct session *all;    /* every session, linked by next_all */
	uint32_t nsessions;
	uint8_t *slots;         /* uid slot map; 1 = used (pool.c) */
	uint32_t nslots;
	/* Signalled (under lock) whenever a start request finished. */
	pthread_cond_t start_cond;
	struct pool pools[CONFIG_MAX_POOLS];
	int npools;

	/* the loop thread */
	int epfd;
	int wakefd;
	pthread_t loop_thread;
	bool loop_running;
	bool stopping;       /* SIGTERM seen: refuse new work */
	struct session *dirty;  /* for the loop to look at (next_dirty) */
	bool closed_pending; /* a CLOSED session awaits its free (tick) */
	struct job *done_head;  /* finished jobs whose callbacks are due */
	struct job *done_tail;
	struct job_output *out_head; /* output frames whose callbacks are due */
	struct job_output *out_tail;
	uint64_t next_scan_ms;  /* monotonic time of the next timer scan */
	uint64_t exec_seq;   /* execution counter (for ids and logs) */
	uint64_t req_seq;    /* HTTP request counter, for req= in logs */

	/* the HTTP server */
	struct MHD_Daemon *mhd;
	bool auth_required;
	bool startup_done;   /* /health/startup has been ready once */

	/* cached answer of GET metadata (a JSON text), built once */
	char *metadata_json;
	pthread_mutex_t metadata_lock;

	/* Operations (issue 6): the key store (auth; its own mutex), the
	 * audit writer (NULL when audit.enabled is off), the /metrics
	 * counters (atomics), and the startup probe's state (health.c,
	 * under lock). */
	struct store *store;
	struct audit *audit;
	struct metrics *metrics;
	int probe_state;        /* HEALTH_PROBE_* */
	uint64_t probe_next_ms; /* monotonic; when to (re)try the probe */

	/* MCP sessions, in-flight tool calls, the progress ticker (mcp.c);
	 * NULL until mcp_init */
	struct mcp *mcp;

	/* The starter threads and the zygote templates (start*.c); NULL
	 * until start_init. */
	struct start *start;
	struct start_zygote *zygote;
};

#endif
