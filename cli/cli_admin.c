// SPDX-License-Identifier: MIT
/*
 * cli_admin.c: the admin commands, which open <state>/sandpool.db
 * directly (--state-dir or SANDPOOL_STATE_DIR, default ./.sandpool) and
 * so work with the server running or not:
 *
 *   sandpool keys create NAME [--scopes execute,files,admin] [--pool P]
 *   sandpool keys ls
 *   sandpool keys revoke NAME|ID
 *   sandpool audit [--session S] [--principal P] [--since T]
 *                  [--status S] [--limit N]
 *   sandpool usage [--since T] [--by principal|pool]
 *
 * All take --json.  `keys create` prints the key once; only its salted
 * hash is stored.  A revocation is seen by a running server on its next
 * request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "cli.h"
#include "store.h"

struct admin_opts {
	const char *state;
	const char *scopes;
	const char *pool;
	const char *session;
	const char *principal;
	const char *status;
	const char *since;
	const char *by;
	uint64_t limit;
	bool json;
	int nargs;
	char **args;
};

static void
admin_usage(FILE *f, const char *cmd)
{
	if (strcmp(cmd, "keys") == 0)
		fprintf(f, "usage: sandpool keys create NAME [--scopes "
			   "execute,files,admin] [--pool P]\n"
			   "       sandpool keys ls\n"
			   "       sandpool keys revoke NAME|ID\n"
			   "default scopes: execute,files.  ");
	else if (strcmp(cmd, "audit") == 0)
		fprintf(f, "usage: sandpool audit [--session S] [--principal "
			   "P] [--since T] [--status "
			   "Succeeded|Failed|Error] [--limit N]\n"
			   "The newest N rows (default 1000), oldest first.  "
			   "T: 2026-11-22,\n2026-11-22T04:00:00Z, or an age: "
			   "90s, 15m, 2h, 7d.  ");
	else
		fprintf(f, "usage: sandpool usage [--since T] [--by "
			   "principal|pool]\n"
			   "T: 2026-11-22, 2026-11-22T04:00:00Z, or an age: "
			   "90s, 15m, 2h, 7d.  ");
	fprintf(f,
		"Options: --json, --state-dir DIR (SANDPOOL_STATE_DIR; "
		"default %s)\n",
		CLI_DEFAULT_STATE);
}

/* Returns 0, 1 for --help, -1 for a usage error. */
static int
parse_admin(int argc, char **argv, struct admin_opts *o)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"scopes", required_argument, NULL, 'S'},
		{"pool", required_argument, NULL, 'p'},
		{"session", required_argument, NULL, 's'},
		{"principal", required_argument, NULL, 'P'},
		{"status", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 'T'},
		{"by", required_argument, NULL, 'b'},
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("SANDPOOL_STATE_DIR");
	int ch;

	memset(o, 0, sizeof(*o));
	o->state = env && env[0] ? env : CLI_DEFAULT_STATE;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "s:p:n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->state = optarg;
			break;
		case 'S':
			o->scopes = optarg;
			break;
		case 'p':
			o->pool = optarg;
			break;
		case 's':
			o->session = optarg;
			break;
		case 'P':
			o->principal = optarg;
			break;
		case 't':
			o->status = optarg;
			break;
		case 'T':
			o->since = optarg;
			break;
		case 'b':
			o->by = optarg;
			break;
		case 'n':
			if (parse_u64(optarg, &o->limit) < 0 ||
			    o->limit > 1000000) {
				fprintf(stderr, "sandpool: --limit: a number "
						"up to 1000000\n");
				return -1;
			}
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

static int
open_store(const struct admin_opts *o, unsigned flags, struct store **st)
{
	struct sp_err err = {0};

	if (store_open(o->state, flags, st, &err) < 0) {
		fprintf(stderr, "sandpool: %s\n", err.msg);
		return CLI_EXIT_FAILED;
	}
	return CLI_EXIT_OK;
}

/* ---- time ---- */

int
cli_parse_since(const char *s, int64_t now, int64_t *out)
{
	struct tm tm;
	const char *end;
	uint64_t n;
	char unit;
	size_t len = strlen(s);
	time_t t;

	/* An age: digits and one unit. */
	if (len >= 2 && strchr("smhd", s[len - 1]) && s[0] >= '0' &&
	    s[0] <= '9') {
		char digits[24];

		if (len - 1 >= sizeof(digits))
			return -EINVAL;
		memcpy(digits, s, len - 1);
		digits[len - 1] = '\0';
		if (parse_u64(digits, &n) < 0 || n > 100000000)
			return -EINVAL;
		unit = s[len - 1];
		n *= unit == 's'   ? 1
		     : unit == 'm' ? 60
		     : unit == 'h' ? 3600
				   : 86400;
		*out = now - (int64_t)n * 1000;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL)
		return -EINVAL;
	if (*end == 'T' || *end == ' ') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (end == NULL)
			return -EINVAL;
		if (*end == '.') /* fractions: ignored */
			while (*++end >= '0' && *end <= '9')
				;
	}
	if (*end == 'Z')
		end++;
	if (*end != '\0')
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = (int64_t)t * 1000;
	return 0;
}

/* ---- keys ---- */

static int
keys_create(const struct admin_opts *o)
{
	struct store *st = NULL;
	struct store_key info;
	struct sp_err err = {0};
	char key[STORE_KEY_LEN + 1], scope_text[64];
	unsigned scopes = AUTH_SCOPE_EXECUTE | AUTH_SCOPE_FILES;
	int rc;

	if (o->scopes && auth_scopes_parse(o->scopes, &scopes, &err) < 0) {
		fprintf(stderr, "sandpool keys: %s\n", err.msg);
		return CLI_EXIT_USAGE;
	}
	if (!store_name_ok(o->args[0])) {
		fprintf(stderr,
			"sandpool keys: NAME \"%.64s\" must be 1-63 "
			"of A-Z a-z 0-9 _ -\n",
			o->args[0]);
		return CLI_EXIT_USAGE;
	}
	rc = open_store(o, STORE_CREATE, &st);
	if (rc != CLI_EXIT_OK)
		return rc;
	if (store_key_create(st, o->args[0], scopes, o->pool, key, sizeof(key),
			     &info, &err) < 0) {
		fprintf(stderr, "sandpool keys: %s\n", err.msg);
		store_close(st);
		return err.http == 400 ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
	}
	auth_scopes_format(info.scopes, scope_text, sizeof(scope_text));
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "key", key,
				      "id", info.id, "name", info.name,
				      "scopes", scope_text, "pool",
				      info.pool[0] ? info.pool : NULL);

		cli_print_json(j);
		json_decref(j);
	} else {
		printf("%s\n", key);
		fprintf(stderr,
			"sandpool: created key %s for principal \"%s\" "
			"(scopes %s%s%s).  This is the only time the key is "
			"shown.\n",
			info.id, info.name, scope_text,
			info.pool[0] ? ", pool " : "", info.pool);
	}
	explicit_bzero(key, sizeof(key));
	store_close(st);
	return CLI_EXIT_OK;
}

static int
keys_ls(const struct admin_opts *o)
{
	struct store *st = NULL;
	struct sp_err err = {0};
	json_t *keys, *k;
	size_t i;
	int rc = open_store(o, 0, &st);

	if (rc != CLI_EXIT_OK)
		return rc;
	keys = store_key_list(st, &err);
	store_close(st);
	if (keys == NULL) {
		fprintf(stderr, "sandpool keys: %s\n", err.msg);
		return CLI_EXIT_FAILED;
	}
	if (o->json) {
		cli_print_json(keys);
	} else {
		printf("%-12s  %-20s  %-20s  %-10s  %-24s  %s\n", "ID", "NAME",
		       "SCOPES", "POOL", "CREATED", "STATUS");
		json_array_foreach (keys, i, k) {
			const char *pool =
				json_string_value(json_object_get(k, "pool"));
			const char *rev = json_string_value(
				json_object_get(k, "revoked"));

			printf("%-12s  %-20s  %-20s  %-10s  %-24s  %s%s\n",
			       json_string_value(json_object_get(k, "id")),
			       json_string_value(json_object_get(k, "name")),
			       json_string_value(json_object_get(k, "scopes")),
			       pool ? pool : "*",
			       json_string_value(json_object_get(k, "created")),
			       rev ? "revoked " : "active", rev ? rev : "");
		}
	}
	json_decref(keys);
	return CLI_EXIT_OK;
}

static int
keys_revoke(const struct admin_opts *o)
{
	struct store *st = NULL;
	struct sp_err err = {0};
	int n, rc = open_store(o, 0, &st);

	if (rc != CLI_EXIT_OK)
		return rc;
	n = store_key_revoke(st, o->args[0], &err);
	store_close(st);
	if (n < 0) {
		fprintf(stderr, "sandpool keys: %s\n", err.msg);
		return CLI_EXIT_FAILED;
	}
	if (o->json)
		printf("{\"revoked\": %d}\n", n);
	else if (n > 0)
		fprintf(stderr, "sandpool: revoked %d key%s of \"%s\"\n", n,
			n == 1 ? "" : "s", o->args[0]);
	if (n == 0) {
		fprintf(stderr,
			"sandpool keys: no active key named \"%.64s\"\n",
			o->args[0]);
		return CLI_EXIT_FAILED;
	}
	return CLI_EXIT_OK;
}

int
cli_keys(int argc, char **argv)
{
	struct admin_opts o;
	const char *sub;
	int rc;

	if (argc < 2 || argv[1][0] == '-') {
		bool help = argc >= 2 && strcmp(argv[1], "--help") == 0;

		admin_usage(help ? stdout : stderr, "keys");
		return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	sub = argv[1];
	rc = parse_admin(argc - 1, argv + 1, &o);
	if (rc != 0) {
		admin_usage(rc > 0 ? stdout : stderr, "keys");
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (strcmp(sub, "create") == 0 && o.nargs == 1)
		return keys_create(&o);
	if (strcmp(sub, "ls") == 0 && o.nargs == 0)
		return keys_ls(&o);
	if (strcmp(sub, "revoke") == 0 && o.nargs == 1)
		return keys_revoke(&o);
	admin_usage(stderr, "keys");
	return CLI_EXIT_USAGE;
}

/* ---- audit ---- */

static void
print_row(const json_t *r)
{
	const char *fields[] = {"ts", "principal", "pool",      "identifier",
				"op", "status",    "error_code"};
	const json_t *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		v = json_object_get(r, fields[i]);
		printf("%s%s", i ? "  " : "",
		       json_is_string(v) ? json_string_value(v) : "-");
	}
	v = json_object_get(r, "duration_ms");
	if (json_is_integer(v))
		printf("  %lldms", (long long)json_integer_value(v));
	v = json_object_get(r, "cpu_ms");
	if (json_is_integer(v))
		printf("  cpu=%lldms", (long long)json_integer_value(v));
	v = json_object_get(r, "peak_mem");
	if (json_is_integer(v))
		printf("  mem=%lldK", (long long)json_integer_value(v) / 1024);
	v = json_object_get(r, "code_sha256");
	if (json_is_string(v))
		printf("  code=%.12s", json_string_value(v));
	v = json_object_get(r, "files");
	if (json_is_array(v) && json_array_size(v) > 0) {
		char *f = json_dumps(v, JSON_COMPACT);

		printf("  files=%s", f ? f : "?");
		free(f);
	}
	v = json_object_get(r, "agent");
	if (json_is_string(v))
		printf("  agent=%s", json_string_value(v));
	printf("\n");
}

int
cli_audit(int argc, char **argv)
{
	struct admin_opts o;
	struct store_audit_filter f = {0};
	struct store *st = NULL;
	struct sp_err err = {0};
	json_t *rows, *r;
	size_t i;
	int rc;

	rc = parse_admin(argc, argv, &o);
	if (rc != 0 || o.nargs != 0) {
		admin_usage(rc > 0 ? stdout : stderr, "audit");
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	f.session = o.session;
	f.principal = o.principal;
	f.status = o.status;
	f.limit = (uint32_t)o.limit;
	if (o.since &&
	    cli_parse_since(o.since, (int64_t)wall_ms(), &f.since_ms) < 0) {
		fprintf(stderr,
			"sandpool audit: --since \"%s\": use "
			"2026-11-22, 2026-11-22T04:00:00Z, or an age "
			"like 90s, 15m, 2h, 7d\n",
			o.since);
		return CLI_EXIT_USAGE;
	}
	rc = open_store(&o, 0, &st);
	if (rc != CLI_EXIT_OK)
		return rc;
	rows = store_audit_query(st, &f, &err);
	store_close(st);
	if (rows == NULL) {
		fprintf(stderr, "sandpool audit: %s\n", err.msg);
		return CLI_EXIT_FAILED;
	}
	if (o.json)
		cli_print_json(rows);
	else
		json_array_foreach (rows, i, r)
			print_row(r);
	json_decref(rows);
	return CLI_EXIT_OK;
}

/* ---- usage ---- */

int
cli_usage(int argc, char **argv)
{
	struct admin_opts o;
	struct store *st = NULL;
	struct sp_err err = {0};
	int64_t since = 0, now = (int64_t)wall_ms();
	bool by_pool;
	json_t *rows, *r;
	size_t i;
	int rc;

	rc = parse_admin(argc, argv, &o);
	if (rc != 0 || o.nargs != 0) {
		admin_usage(rc > 0 ? stdout : stderr, "usage");
		return rc > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if (o.by && strcmp(o.by, "principal") != 0 &&
	    strcmp(o.by, "pool") != 0) {
		fprintf(stderr, "sandpool usage: --by principal or --by "
				"pool\n");
		return CLI_EXIT_USAGE;
	}
	by_pool = o.by && strcmp(o.by, "pool") == 0;
	if (o.since && cli_parse_since(o.since, now, &since) < 0) {
		fprintf(stderr,
			"sandpool usage: --since \"%s\": use "
			"2026-11-22, 2026-11-22T04:00:00Z, or an age "
			"like 90s, 15m, 2h, 7d\n",
			o.since);
		return CLI_EXIT_USAGE;
	}
	rc = open_store(&o, 0, &st);
	if (rc != CLI_EXIT_OK)
		return rc;
	rows = store_usage_query(st, since, now, by_pool, &err);
	store_close(st);
	if (rows == NULL) {
		fprintf(stderr, "sandpool usage: %s\n", err.msg);
		return CLI_EXIT_FAILED;
	}
	if (o.json) {
		cli_print_json(rows);
	} else {
		printf("%-24s  %8s  %14s  %10s  %8s  %12s\n",
		       by_pool ? "POOL" : "PRINCIPAL", "SESSIONS",
		       "SESSION-SEC", "EXECUTIONS", "FAILED", "CPU-SEC");
		json_array_foreach (rows, i, r)
			printf("%-24s  %8lld  %14.1f  %10lld  %8lld  %12.2f\n",
			       json_string_value(json_object_get(
				       r, by_pool ? "pool" : "principal")),
			       (long long)json_integer_value(
				       json_object_get(r, "sessions")),
			       json_real_value(
				       json_object_get(r, "session_seconds")),
			       (long long)json_integer_value(
				       json_object_get(r, "executions")),
			       (long long)json_integer_value(
				       json_object_get(r, "failed")),
			       json_real_value(
				       json_object_get(r, "cpu_seconds")));
	}
	json_decref(rows);
	return CLI_EXIT_OK;
}
