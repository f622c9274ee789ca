/* SPDX-License-Identifier: MIT */
/*
 * cli.h: the `sandpool` client and admin commands (like curl's tool_*.c).
 *
 * Client commands (exec, files, sessions) talk to a running server over
 * HTTP with libcurl: --url or SANDPOOL_URL (default
 * http://127.0.0.1:6000; a pool prefix such as .../pools/big selects a
 * pool), --api-key or SANDPOOL_API_KEY.  Admin commands (keys, audit,
 * usage) open <state>/sandpool.db directly: --state-dir or
 * SANDPOOL_STATE_DIR (default ./.sandpool).  They use util, json and the
 * store; nothing of the server's session machinery.
 *
 * Every command has --json (one JSON document on stdout, for scripts)
 * and exits with one of the CLI_EXIT_* codes.
 */
#ifndef SANDPOOL_CLI_H
#define SANDPOOL_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILED 1      /* the code failed, or the server said no */
#define CLI_EXIT_USAGE 2       /* bad arguments */
#define CLI_EXIT_UNREACHABLE 3 /* no server at the URL, or a broken reply */
#define CLI_EXIT_AUTH 4        /* 401 or 403 */

#define CLI_DEFAULT_URL "http://127.0.0.1:6000"
#define CLI_DEFAULT_STATE "./.sandpool"
#define CLI_BODY_MAX (512 * MiB) /* largest JSON reply read into memory */
#define CLI_API_VERSION "2025-02-02-preview"

/* Entry points, registered in src/main.c's commands[].  argv[0] is the
 * command's name; each returns the process exit status. */
int cli_exec(int argc, char **argv);
int cli_files(int argc, char **argv);
int cli_sessions(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_usage(int argc, char **argv);

/* ---- cli_http.c: the HTTP side ---- */

/* Where and as whom to connect. */
struct cli_conn {
	char url[1024]; /* base URL without a trailing slash */
	char key[512];  /* API key or "" */
	bool json;      /* --json: machine-readable output */
};

/* A reply. */
struct cli_resp {
	long status;     /* HTTP status */
	struct buf body; /* the body (when not written to a file) */
	json_t *json;    /* the body parsed, when it is JSON; owned */
};

/* Fill c from SANDPOOL_URL and SANDPOOL_API_KEY (flags override later). */
void cli_conn_init(struct cli_conn *c);
/* Set the URL (drops trailing slashes).  Returns 0 or -EINVAL. */
int cli_conn_url(struct cli_conn *c, const char *url);

/*
 * One request.  path is appended to the base URL and includes the query
 * ("/executions?identifier=..."); body may be NULL.  With out_fd >= 0 a
 * 2xx body is written there instead of into r->body.  extra headers are
 * NULL-terminated "Name: value" strings.  Returns CLI_EXIT_OK when a reply
 * arrived (whatever its status), or CLI_EXIT_UNREACHABLE after printing
 * why on stderr.  Free r with cli_resp_fini.
 */
int cli_request(const struct cli_conn *c, const char *method, const char *path,
		const char *ctype, const void *body, size_t len, int out_fd,
		const char *const *extra, struct cli_resp *r);

/*
 * One event of a text/event-stream reply: its name and its data parsed as
 * JSON (borrowed for the call; NULL when the data is not JSON).
 */
typedef void (*cli_event_fn)(void *arg, const char *event, const json_t *data);

/*
 * cli_request for a reply that may stream: when a 2xx answer is
 * text/event-stream, each event goes to cb as it arrives (nothing is kept
 * in r->body); any other answer is read as cli_request reads it.
 */
int cli_request_events(const struct cli_conn *c, const char *method,
		       const char *path, const char *ctype, const void *body,
		       size_t len, const char *const *extra, cli_event_fn cb,
		       void *arg, struct cli_resp *r);

/* POST a file as multipart/form-data (field "file", filename name). */
int cli_upload(const struct cli_conn *c, const char *path, const char *local,
	       const char *name, struct cli_resp *r);

void cli_resp_fini(struct cli_resp *r);

/*
 * Report a non-2xx reply: "sandpool: 401 Unauthorized: invalid API key"
 * on stderr (with a hint for 401/403), and with --json the server's JSON
 * body on stdout.  Returns CLI_EXIT_AUTH for 401/403, else
 * CLI_EXIT_FAILED.
 */
int cli_fail(const struct cli_conn *c, const struct cli_resp *r,
	     const char *what);

/* Percent-encode s (keeping '/' when keep_slash) into a new string. */
char *cli_escape(const char *s, bool keep_slash);

/* Print j on stdout (indented), with a newline. */
void cli_print_json(const json_t *j);

/* Global curl setup/teardown around a client command. */
void cli_http_init(void);
void cli_http_fini(void);

/* ---- cli_admin.c helpers ---- */

/*
 * Parse --since: an RFC 3339 time ("2026-11-22T04:00:00Z", a date
 * "2026-11-22" = midnight UTC), or an age ("90s", "15m", "2h", "7d")
 * before now.  Writes ms since the epoch.  Returns 0 or -EINVAL.
 */
int cli_parse_since(const char *s, int64_t now_ms, int64_t *out);

#endif
