/* SPDX-License-Identifier: MIT */
/*
 * config.h: the effective configuration.  config.c fills it from built-in
 * defaults, then the file (key = value, [pool.NAME] sections), then
 * SANDPOOL_* environment variables, then command-line flags, in that order
 * of precedence.  Every key is one row of a table in config.c with its
 * type, range and default; docs/CONFIG.md documents each one.
 */
#ifndef SANDPOOL_CONFIG_H
#define SANDPOOL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define CONFIG_MAX_POOLS 16
#define CONFIG_MAX_KEYS 64
#define CONFIG_NAME_MAX 64

/* One API key from the config file or --api-key. */
struct config_key {
	char principal[CONFIG_NAME_MAX]; /* "default" unless NAME:SECRET */
	char *secret;                    /* owned */
};

/* Per-pool settings: the [pool.NAME] sections.  Keys written at the top of
 * the file, before any section, set the default pool.  Named pools start
 * from the default pool's final values and override what they set. */
struct pool_config {
	char name[CONFIG_NAME_MAX];
	uint32_t ready;         /* warm sandboxes kept; 0..1024 */
	uint32_t max_sessions;  /* live sessions cap; 1..100000 */
	uint32_t max_starting;  /* concurrent sandbox starts; 1..64 */
	uint64_t memory;        /* bytes; cgroup memory limit, swap 0 */
	uint32_t pids;          /* pids.max; 16..65536 */
	uint32_t cpu_millis;    /* CPU quota in thousandths of a core */
	uint64_t files_quota;   /* bytes; /mnt/data tmpfs size, 0 = none */
	uint64_t tmp_size;      /* bytes; /tmp tmpfs size in the sandbox */
	uint64_t output_max;    /* bytes per stream (stdout, stderr) */
	uint32_t timeout;       /* s; max and default execution timeout */
	uint32_t cooldown;      /* s; idle session lifetime, 1..3600 */
	char preload[256];      /* comma-separated modules to import warm */
	int start;              /* enum start_backend: zygote, launcher */
	bool egress;            /* false: netns with only lo */
	uint64_t set_mask;      /* internal: keys set explicitly, by row */
};

struct config {
	char listen[128];        /* host:port or [v6]:port */
	char state_dir[512];     /* sessions/, sandpool.db */
	char runtime_dir[512];   /* holds kernel.py; "" = next to binary */
	char python[256];        /* interpreter inside the sandbox */
	enum { LOGLVL_DEBUG, LOGLVL_INFO, LOGLVL_WARN, LOGLVL_ERROR } log_level;
	uint64_t max_body;       /* bytes; JSON request bodies */
	uint64_t max_header;     /* bytes; all headers of one request */
	uint32_t max_json_depth; /* nesting levels */
	uint64_t max_code;       /* bytes of code or shell command */
	uint32_t kill_grace_ms;  /* ms between SIGINT and SIGKILL */
	uint32_t http_threads;   /* libmicrohttpd worker threads */
	uint32_t max_connections;
	uint64_t uid_base;       /* first host uid of the sandbox uid range */
	uint32_t zygote_max_forks; /* forks per template; 0 = no limit */
	uint32_t zygote_max_age;   /* s; a template's life; 0 = no limit */
	uint64_t upload_max;     /* bytes; one uploaded file */
	bool url_allow_private;  /* allow URL inputs to private addresses */
	uint64_t url_max_bytes;  /* bytes; one fetched URL */
	uint32_t url_timeout;    /* s; one fetch */
	bool audit_enabled;      /* false: no audit rows at all */
	bool audit_store_code;
	uint32_t audit_retention_days;

	struct config_key keys[CONFIG_MAX_KEYS];
	int nkeys;

	struct pool_config pools[CONFIG_MAX_POOLS]; /* pools[0] = "default" */
	int npools;
};

/* Fill cfg with the built-in defaults (one pool, "default"). */
void config_defaults(struct config *cfg);

/*
 * Parse a config file into cfg (on top of what is there).  On error returns
 * a negative errno and writes "path:line: what is wrong" into err->msg.
 */
int config_load_file(struct config *cfg, const char *path, struct sp_err *err);

/* Parse config text held in memory; name is used in messages. */
int config_load_string(struct config *cfg, const char *name, const char *text,
		       struct sp_err *err);

/*
 * Apply SANDPOOL_<KEY> variables from envp (NULL-terminated, like environ).
 * Top-level key "state_dir" is SANDPOOL_STATE_DIR; "http.max_body" is
 * SANDPOOL_HTTP_MAX_BODY; a default-pool key such as "ready" is
 * SANDPOOL_POOL_READY.  SANDPOOL_API_KEY adds a key.  Any other SANDPOOL_*
 * name is an error ("env SANDPOOL_X: ..."), except the client-side ones in
 * config.c's env_ignore[] (SANDPOOL_URL, SANDPOOL_BUILD).
 */
int config_load_env(struct config *cfg, char *const *envp, struct sp_err *err);

/*
 * Set one key as if read from a file ("--set key=value" style).  pool NULL
 * means a top-level key or a key of the default pool; a named pool is
 * created if new.  "api_key" adds a key.
 */
int config_set(struct config *cfg, const char *pool, const char *key,
	       const char *value, struct sp_err *err);

/* Add an API key, "SECRET" or "NAME:SECRET". */
int config_add_key(struct config *cfg, const char *spec, struct sp_err *err);

/* After loading: copy default-pool values into named pools where unset,
 * and check cross-field rules. */
int config_finish(struct config *cfg, struct sp_err *err);

/* Look up a pool by name, NULL if absent. */
const struct pool_config *config_pool(const struct config *cfg,
				      const char *name);

/*
 * Print the effective config in file syntax to f: top-level keys, then one
 * [pool.NAME] section per pool with every key.  API keys appear as
 * comments "# api_key = NAME:****", so the output parses back to the same
 * config minus the keys.
 */
void config_dump(const struct config *cfg, FILE *f);

/* Wipe and free what config_* allocated (key secrets).  Idempotent. */
void config_fini(struct config *cfg);

#endif
