/* SPDX-License-Identifier: MIT */
/*
 * config.c: the configuration table, the file, environment and flag parsers,
 * and the dump.  Every key is one row of rows[] below (Redis's
 * static_configs[] idea): name, type, range, default as text, scope and
 * field, a check hook and a one-line doc.  Defaults, the file, SANDPOOL_*
 * variables, config_set() and config_dump() all walk that table, so it is
 * the single source of truth: adding a key is adding a row, plus its lines
 * in docs/CONFIG.md and etc/sandpool.conf (tests/unit/test_config.c checks
 * both).  Used at startup only; not thread-safe.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...) sp_errf(err, 0, "ConfigError", __VA_ARGS__)
#define CFG_FILE_MAX ((size_t)1 << 20) /* bytes; a config file is small */
#define CFG_LINE_MAX 4096	       /* bytes per line; > every field */
#define CFG_SECRET_MIN 16
#define CFG_SECRET_MAX 256
#define TiB (1024 * GiB)

/* ---- value checks ---- */

/* A row's extra check, after the type parse: NULL or why s/v is refused. */
typedef const char *(*check_fn)(const char *s, uint64_t v);

/* Pool and principal names: 1-63 of [A-Za-z0-9_-]. */
static int
valid_name(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return n >= 1 && n < CONFIG_NAME_MAX;
}

/*
 * IPv4:port, [IPv6]:port or localhost:port.  Other host names are refused:
 * resolving them would make startup depend on DNS.
 */
static const char *
check_listen(const char *s, uint64_t v)
{
	static const char why[] = "expected IPv4:port, [IPv6]:port or "
				  "localhost:port with port 0-65535 "
				  "(0 = any free port)";
	const char *colon = strrchr(s, ':');
	char host[64];
	uint64_t port;
	size_t n;
	int ok, v6;

	(void)v;
	if (colon == NULL || parse_u64(colon + 1, &port) < 0 || port > 65535)
		return why;
	n = (size_t)(colon - s);
	v6 = n >= 2 && s[0] == '[' && s[n - 1] == ']';
	if (v6) {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return why;
	memcpy(host, s, n);
	host[n] = '\0';
	if (v6)
		ok = inet_pton(AF_INET6, host, &(struct in6_addr){0}) == 1;
	else
		ok = strcmp(host, "localhost") == 0 ||
		     inet_pton(AF_INET, host, &(struct in_addr){0}) == 1;
	return ok ? NULL : why;
}

static const char *
check_absolute(const char *s, uint64_t v)
{
	(void)v;
	return s[0] == '/' ? NULL : "must be an absolute path";
}

static const char *
check_nonempty(const char *s, uint64_t v)
{
	(void)v;
	return s[0] != '\0' ? NULL : "must not be empty";
}

/* "" or comma-separated dotted Python identifiers: "numpy,a_b.c". */
static const char *
check_modules(const char *s, uint64_t v)
{
	static const char why[] = "expected comma-separated module names "
				  "like numpy,matplotlib.pyplot";
	int start = 1; /* at the start of a name or of a dotted component */
	int sep, ok;

	(void)v;
	if (*s == '\0')
		return NULL;
	for (; *s; s++) {
		sep = *s == ',' || *s == '.';
		ok = sep ? !start
			 : *s == '_' || (start ? isalpha((unsigned char)*s)
					       : isalnum((unsigned char)*s));
		if (!ok)
			return why;
		start = sep;
	}
	return start ? why : NULL;
}

/* There is no egress implementation yet (no veth, no filtering proxy). */
static const char *
check_egress(const char *s, uint64_t v)
{
	(void)s;
	return v ? "egress is not supported yet; only false is accepted" : NULL;
}

/* ---- the table ---- */

enum ctype {
	CT_STR,	  /* char[]; at most field size - 1 bytes */
	CT_BOOL,  /* bool; true/false yes/no on/off 1/0 */
	CT_UINT,  /* uint32_t or uint64_t (by field size) in min..max */
	CT_SIZE,  /* uint64_t bytes; K, M, G, T suffixes (powers of 1024) */
	CT_CORES, /* uint32_t thousandths of a core, written 1, 0.5, 2.25 */
	CT_ENUM,  /* enum (int-sized); index into row->names */
	CT_KEY,	  /* api_key: repeatable, appended to cfg->keys */
};

enum scope { S_TOP, S_POOL }; /* struct config or struct pool_config */

struct row {
	const char *name;
	enum ctype type;
	uint64_t min, max; /* numeric types, in the field's unit */
	const char *def;   /* default, parsed like file text; NULL = none */
	enum scope scope;
	size_t off, size;	  /* the field in its struct */
	check_fn check;		  /* NULL = type and range only */
	const char *const *names; /* CT_ENUM: value names, NULL-terminated */
	const char *doc;	  /* one line; CT_ENUM: the names, for errors */
};

static const char *const log_names[] = {"debug", "info", "warn", "error", NULL};
/* In the order of enum start_backend (start.h). */
static const char *const start_names[] = {"zygote", "launcher", NULL};

#define T(f) S_TOP, offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define P(f)                                                                   \
	S_POOL, offsetof(struct pool_config, f),                               \
		sizeof(((struct pool_config *)0)->f)

/*
 * Top-level keys come first; a file may set them only before its first
 * [section].  Pool keys follow; at the top of a file they set the default
 * pool.  A row's index is its bit in pool_config.set_mask.
 */
static const struct row rows[] = {
	{"listen", CT_STR, 0, 0, "127.0.0.1:6000", T(listen), check_listen,
	 NULL, "HTTP address: IPv4:port, [IPv6]:port or localhost:port"},
	{"state_dir", CT_STR, 0, 0, "./.sandpool", T(state_dir), check_nonempty,
	 NULL, "holds sessions/ and sandpool.db"},
	{"runtime_dir", CT_STR, 0, 0, "", T(runtime_dir), NULL, NULL,
	 "holds kernel.py; empty = next to the binary"},
	{"python", CT_STR, 0, 0, "/usr/bin/python3", T(python), check_absolute,
	 NULL, "interpreter run inside the sandbox"},
	{"log_level", CT_ENUM, 0, 0, "info", T(log_level), NULL, log_names,
	 "debug, info, warn, error"},
	{"http.max_body", CT_SIZE, KiB, GiB, "4M", T(max_body), NULL, NULL,
	 "largest JSON request body"},
	{"http.max_header", CT_SIZE, KiB, MiB, "16K", T(max_header), NULL, NULL,
	 "largest total size of one request's headers"},
	{"http.max_json_depth", CT_UINT, 2, 1000, "64", T(max_json_depth), NULL,
	 NULL, "deepest JSON nesting accepted"},
	{"http.max_code", CT_SIZE, KiB, 64 * MiB, "1M", T(max_code), NULL, NULL,
	 "largest code or shell command in one request"},
	{"http.threads", CT_UINT, 1, 64, "4", T(http_threads), NULL, NULL,
	 "libmicrohttpd worker threads"},
	{"http.max_connections", CT_UINT, 16, 100000, "1024",
	 T(max_connections), NULL, NULL, "concurrent HTTP connections"},
	{"exec.kill_grace_ms", CT_UINT, 100, 60000, "2000", T(kill_grace_ms),
	 NULL, NULL, "ms between SIGINT and SIGKILL on timeout"},
	{"sandbox.uid_base", CT_UINT, 100000, 4000000000u, "1000000000",
	 T(uid_base), NULL, NULL, "first host uid of the sandbox uid range"},
	{"files.upload_max", CT_SIZE, KiB, 64 * GiB, "128M", T(upload_max),
	 NULL, NULL, "largest uploaded file"},
	{"files.url_allow_private", CT_BOOL, 0, 0, "false",
	 T(url_allow_private), NULL, NULL,
	 "allow URL inputs that resolve to private addresses"},
	{"files.url_max_bytes", CT_SIZE, KiB, 64 * GiB, "128M",
	 T(url_max_bytes), NULL, NULL, "largest file fetched from a URL"},
	{"files.url_timeout", CT_UINT, 1, 600, "30", T(url_timeout), NULL, NULL,
	 "s; longest URL fetch"},
	{"audit.enabled", CT_BOOL, 0, 0, "true", T(audit_enabled), NULL, NULL,
	 "write audit rows and session usage to sandpool.db"},
	{"audit.store_code", CT_BOOL, 0, 0, "false", T(audit_store_code), NULL,
	 NULL, "keep executed code in the audit log, not just its hash"},
	{"audit.retention_days", CT_UINT, 1, 3650, "30",
	 T(audit_retention_days), NULL, NULL, "days audit rows are kept"},
	{"zygote.max_forks", CT_UINT, 0, 100000000, "10000",
	 T(zygote_max_forks), NULL, NULL,
	 "sessions forked from one template before it is replaced; 0 = no "
	 "limit"},
	{"zygote.max_age", CT_UINT, 0, 30 * 86400, "3600", T(zygote_max_age),
	 NULL, NULL, "s; a template's age before it is replaced; 0 = no limit"},
	{"api_key", CT_KEY, 0, 0, NULL, S_TOP, 0, 0, NULL, NULL,
	 "SECRET or NAME:SECRET; repeatable; none = auth off, loopback only"},

	{"ready", CT_UINT, 0, 1024, "8", P(ready), NULL, NULL,
	 "warm sandboxes kept started"},
	{"max_sessions", CT_UINT, 1, 100000, "1000", P(max_sessions), NULL,
	 NULL, "live sessions, warm ones included"},
	{"max_starting", CT_UINT, 1, 64, "8", P(max_starting), NULL, NULL,
	 "warm sandboxes starting at once"},
	{"start", CT_ENUM, 0, 0, "zygote", P(start), NULL, start_names,
	 "zygote, launcher"},
	{"memory", CT_SIZE, 32 * MiB, TiB, "1G", P(memory), NULL, NULL,
	 "cgroup memory.max per session (no swap)"},
	{"pids", CT_UINT, 16, 65536, "256", P(pids), NULL, NULL,
	 "cgroup pids.max per session"},
	{"cpu", CT_CORES, 10, 1024000, "1", P(cpu_millis), NULL, NULL,
	 "CPU quota in cores"},
	{"files_quota", CT_SIZE, 0, TiB, "1G", P(files_quota), NULL, NULL,
	 "size of /mnt/data; 0 = no quota, else at least 1M"},
	{"tmp_size", CT_SIZE, MiB, 64 * GiB, "256M", P(tmp_size), NULL, NULL,
	 "size of the sandbox's /tmp"},
	{"output_max", CT_SIZE, KiB, 64 * MiB, "1M", P(output_max), NULL, NULL,
	 "captured bytes per stream and execution"},
	{"timeout", CT_UINT, 1, 86400, "220", P(timeout), NULL, NULL,
	 "s; longest and default execution time"},
	/* ACA's range is 300..3600; below 300 is for tests (a warning). */
	{"cooldown", CT_UINT, 1, 3600, "600", P(cooldown), NULL, NULL,
	 "s; idle time before a session is destroyed (ACA: 300..3600)"},
	{"preload", CT_STR, 0, 0, "numpy,pandas,matplotlib", P(preload),
	 check_modules, NULL, "modules imported in warm sandboxes"},
	{"egress", CT_BOOL, 0, 0, "false", P(egress), check_egress, NULL,
	 "network access from the sandbox (not supported yet)"},
};

#define NROWS ARRAY_SIZE(rows)
_Static_assert(NROWS <= 64, "pool_config.set_mask has 64 bits");

/* Prefix of a row's environment variable, by scope. */
static const char *const env_prefix[] = {"SANDPOOL_", "SANDPOOL_POOL_"};

/*
 * SANDPOOL_* variables that belong to other programs: config_load_env()
 * skips them instead of failing on them as unknown keys.
 */
static const struct {
	const char *name;
	const char *why;
} env_ignore[] = {
	{"SANDPOOL_URL", "the CLI's server address"},
	{"SANDPOOL_BUILD", "build directory used by make test and pytest"},
};

/* ---- typed values ---- */

static int
parse_bool(const char *s, uint64_t *out)
{
	static const char *const words[] = {"false", "true", "no", "yes",
					    "off",   "on",   "0",  "1"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (strcmp(s, words[i]) == 0) {
			*out = i % 2;
			return 0;
		}
	}
	return -EINVAL;
}

/* "2", "0.5", "2.25" -> thousandths of a core; at most 3 decimals. */
static int
parse_cores(const char *s, uint64_t *out)
{
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s);
	size_t nf = dot ? strlen(dot + 1) : 0;
	char whole[16] = "", frac[4] = "000";
	uint64_t w, f;

	if (n >= sizeof(whole))
		return -ERANGE;
	if (dot && (nf < 1 || nf > 3))
		return -EINVAL;
	memcpy(whole, s, n);
	if (dot)
		memcpy(frac, dot + 1, nf);
	if (parse_u64(whole, &w) < 0 || parse_u64(frac, &f) < 0)
		return -EINVAL;
	*out = w * 1000 + f;
	return 0;
}

/* v as the file would write it: "1G" for sizes, "0.5" for cores. */
static void
fmt_num(enum ctype t, uint64_t v, char *buf, size_t sz)
{
	static const char suffix[] = "TGMK";
	uint64_t unit = TiB;
	int i;

	for (i = 0; t == CT_SIZE && v != 0 && i < 4; i++, unit /= 1024) {
		if (v % unit == 0) {
			snprintf(buf, sz, "%llu%c",
				 (unsigned long long)(v / unit), suffix[i]);
			return;
		}
	}
	if (t == CT_CORES && v % 1000 != 0) {
		snprintf(buf, sz, "%llu.%03llu", (unsigned long long)(v / 1000),
			 (unsigned long long)(v % 1000));
		for (i = (int)strlen(buf) - 1; buf[i] == '0'; i--)
			buf[i] = '\0';
		return;
	}
	snprintf(buf, sz, "%llu",
		 (unsigned long long)(t == CT_CORES ? v / 1000 : v));
}

/* Numeric, bool and enum fields are 8, 4 or 1 (bool) bytes wide. */
union num {
	uint64_t u64;
	uint32_t u32;
	bool b;
};

static uint64_t
get_num(const void *p, size_t size)
{
	union num u = {0};

	ENSURE(size == 8 || size == 4 || size == sizeof(bool));
	memcpy(&u, p, size);
	return size == 8 ? u.u64 : size == 4 ? u.u32 : u.b;
}

static void
put_num(void *p, size_t size, uint64_t v)
{
	union num u = {0};

	ENSURE(size == 8 || size == 4 || size == sizeof(bool));
	ENSURE(size != 4 || v <= UINT32_MAX); /* a row's max fits its field */
	if (size == 8)
		u.u64 = v;
	else if (size == 4)
		u.u32 = (uint32_t)v;
	else
		u.b = v != 0;
	memcpy(p, &u, size);
}

/* ---- setting one value ---- */

static int add_key(struct config *cfg, const char *spec, const char *where,
		   struct sp_err *err);

static const struct row *
find_row(const char *name)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (strcmp(rows[i].name, name) == 0)
			return &rows[i];
	return NULL;
}

/*
 * Parse text s as row r's type, check it and store it in base + r->off.
 * where ("file:12: ", "env SANDPOOL_X: " or "") starts any error message.
 * Nothing is stored on error.
 */
static int
parse_value(struct config *cfg, void *base, const struct row *r, const char *s,
	    const char *where, struct sp_err *err)
{
	const char *p, *why = NULL;
	char lo[32], hi[32];
	size_t n = strlen(s), i;
	uint64_t v = 0;
	int rc = 0;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"')
			return FAIL("%s%s: control characters and '\"' are not "
				    "allowed inside a value",
				    where, r->name);
	fmt_num(r->type, r->min, lo, sizeof(lo));
	fmt_num(r->type, r->max, hi, sizeof(hi));
	switch (r->type) {
	case CT_KEY:
		return add_key(cfg, s, where, err);
	case CT_STR:
		if (n >= r->size)
			return FAIL("%s%s: value is %zu bytes; at most %zu",
				    where, r->name, n, r->size - 1);
		break;
	case CT_BOOL:
		if (parse_bool(s, &v) < 0)
			return FAIL("%s%s: \"%.64s\" is not true/false, "
				    "yes/no, on/off or 1/0",
				    where, r->name, s);
		break;
	case CT_ENUM:
		for (i = 0; r->names[i] && strcmp(s, r->names[i]) != 0; i++)
			;
		if (r->names[i] == NULL)
			return FAIL("%s%s: \"%.64s\" is not one of %s", where,
				    r->name, s, r->doc);
		v = i;
		break;
	case CT_UINT:
	case CT_SIZE:
	case CT_CORES:
		rc = r->type == CT_SIZE	   ? parse_size(s, &v)
		     : r->type == CT_CORES ? parse_cores(s, &v)
					   : parse_u64(s, &v);
		if (rc == -EINVAL)
			return FAIL("%s%s: \"%.64s\" is not %s in %s..%s",
				    where, r->name, s,
				    r->type == CT_SIZE ? "a size like 512M"
				    : r->type == CT_CORES
					    ? "a core count like 0.5"
					    : "a whole number",
				    lo, hi);
		if (rc < 0 || v < r->min || v > r->max)
			return FAIL("%s%s: %.64s is out of range %s..%s", where,
				    r->name, s, lo, hi);
		break;
	}
	if (r->check)
		why = r->check(s, v);
	if (why)
		return FAIL("%s%s: \"%.64s\": %s", where, r->name, s, why);
	if (r->type == CT_STR)
		memcpy((char *)base + r->off, s, n + 1);
	else
		put_num((char *)base + r->off, r->size, v);
	return 0;
}

/*
 * Set row r from text s: a top-level key, or a key of pools[pool] that is
 * then marked as set explicitly, so config_finish() will not inherit it.
 */
static int
set_key(struct config *cfg, int pool, const struct row *r, const char *s,
	const char *where, struct sp_err *err)
{
	struct pool_config *pc = &cfg->pools[pool];
	int rc;

	if (r->scope == S_TOP)
		return parse_value(cfg, cfg, r, s, where, err);
	rc = parse_value(cfg, pc, r, s, where, err);
	if (rc == 0)
		pc->set_mask |= UINT64_C(1) << (r - rows);
	return rc;
}

/* Apply the defaults of every row of scope to base (cfg or a pool). */
static void
set_defaults(struct config *cfg, void *base, enum scope scope)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (rows[i].scope == scope && rows[i].def != NULL)
			ENSURE(parse_value(cfg, base, &rows[i], rows[i].def, "",
					   NULL) == 0);
}

/* The index of pool name, created if new; or -EINVAL. */
static int
pool_get(struct config *cfg, const char *name, const char *where,
	 struct sp_err *err)
{
	const struct pool_config *old = config_pool(cfg, name);
	struct pool_config *pc;

	if (old != NULL)
		return (int)(old - cfg->pools);
	if (!valid_name(name, strlen(name)))
		return FAIL("%sbad pool name \"%.64s\": expected 1-63 of "
			    "A-Z a-z 0-9 _ -",
			    where, name);
	if (cfg->npools >= CONFIG_MAX_POOLS)
		return FAIL("%stoo many pools: at most %d, default included",
			    where, CONFIG_MAX_POOLS);
	pc = &cfg->pools[cfg->npools];
	memset(pc, 0, sizeof(*pc));
	snprintf(pc->name, sizeof(pc->name), "%s", name);
	set_defaults(cfg, pc, S_POOL);
	return cfg->npools++;
}

/* Never put spec into a message: it is a secret, or holds one. */
static int
add_key(struct config *cfg, const char *spec, const char *where,
	struct sp_err *err)
{
	const char *colon = strchr(spec, ':');
	const char *secret = colon ? colon + 1 : spec;
	char principal[CONFIG_NAME_MAX] = "default";
	size_t n = strlen(secret), i;
	struct config_key *k;

	if (colon && !valid_name(spec, (size_t)(colon - spec)))
		return FAIL("%sapi_key: the name before ':' must be 1-63 of "
			    "A-Z a-z 0-9 _ -",
			    where);
	if (colon)
		snprintf(principal, sizeof(principal), "%.*s",
			 (int)(colon - spec), spec);
	for (i = 0; i < n; i++)
		if (secret[i] <= ' ' || secret[i] > '~' || secret[i] == '"')
			n = 0;
	if (n < CFG_SECRET_MIN || n > CFG_SECRET_MAX)
		return FAIL("%sapi_key: the secret for %s must be %d-%d "
			    "visible ASCII characters other than '\"'",
			    where, principal, CFG_SECRET_MIN, CFG_SECRET_MAX);
	for (i = 0; i < (size_t)cfg->nkeys; i++)
		if (ct_equal(cfg->keys[i].secret, strlen(cfg->keys[i].secret),
			     secret, n))
			return FAIL("%sapi_key: the secret for %s is already "
				    "the key of %s",
				    where, principal, cfg->keys[i].principal);
	if (cfg->nkeys >= CONFIG_MAX_KEYS)
		return FAIL("%sapi_key: at most %d keys", where,
			    CONFIG_MAX_KEYS);
	k = &cfg->keys[cfg->nkeys++];
	memcpy(k->principal, principal, sizeof(principal));
	k->secret = xstrdup(secret);
	return 0;
}

/* ---- the public API, except the parsers ---- */

void
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	set_defaults(cfg, cfg, S_TOP);
	snprintf(cfg->pools[0].name, sizeof(cfg->pools[0].name), "default");
	set_defaults(cfg, &cfg->pools[0], S_POOL);
	cfg->npools = 1;
}

int
config_add_key(struct config *cfg, const char *spec, struct sp_err *err)
{
	return add_key(cfg, spec, "", err);
}

int
config_set(struct config *cfg, const char *pool, const char *key,
	   const char *value, struct sp_err *err)
{
	const struct row *r = find_row(key);
	char where[CONFIG_NAME_MAX + 16] = "";
	int i = 0;

	if (pool != NULL)
		snprintf(where, sizeof(where), "pool %.63s: ", pool);
	if (r == NULL)
		return FAIL("%sunknown key \"%.64s\" (known keys: see "
			    "docs/CONFIG.md)",
			    where, key);
	if (r->scope == S_TOP && pool != NULL)
		return FAIL("%s%s is a top-level key, not a pool key", where,
			    key);
	if (pool != NULL)
		i = pool_get(cfg, pool, where, err);
	if (i < 0)
		return i;
	return set_key(cfg, i, r, value, where, err);
}

const struct pool_config *
config_pool(const struct config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->npools; i++)
		if (strcmp(cfg->pools[i].name, name) == 0)
			return &cfg->pools[i];
	return NULL;
}

/* Was `ready` set for pool i, or (inherited) for the default pool? */
static bool
ready_set(const struct config *cfg, int i)
{
	uint64_t bit = 0;
	size_t r;

	for (r = 0; r < NROWS; r++)
		if (strcmp(rows[r].name, "ready") == 0)
			bit = UINT64_C(1) << r;
	return (cfg->pools[i].set_mask & bit) || (cfg->pools[0].set_mask & bit);
}

int
config_finish(struct config *cfg, struct sp_err *err)
{
	const struct pool_config *base = &cfg->pools[0];
	const struct pool_config *pc;
	size_t r;
	int i, j;

	ENSURE(cfg->npools >= 1 && strcmp(base->name, "default") == 0);
	for (i = 1; i < cfg->npools; i++)
		for (r = 0; r < NROWS; r++)
			if (rows[r].scope == S_POOL &&
			    !(cfg->pools[i].set_mask & (UINT64_C(1) << r)))
				memcpy((char *)&cfg->pools[i] + rows[r].off,
				       (const char *)base + rows[r].off,
				       rows[r].size);
	for (i = 0; i < cfg->npools; i++) {
		pc = &cfg->pools[i];
		for (j = 0; j < i; j++)
			if (strcmp(cfg->pools[j].name, pc->name) == 0)
				return FAIL("pool %s is defined twice",
					    pc->name);
		/* A ready count nobody wrote (the built-in default) yields
		 * to a smaller max_sessions; one somebody wrote is a
		 * mistake to point out. */
		if (pc->ready > pc->max_sessions && !ready_set(cfg, i))
			cfg->pools[i].ready = pc->max_sessions;
		if (pc->ready > pc->max_sessions)
			return FAIL("pool %s: ready (%u) must not exceed "
				    "max_sessions (%u)",
				    pc->name, pc->ready, pc->max_sessions);
		if (pc->files_quota != 0 && pc->files_quota < MiB)
			return FAIL("pool %s: files_quota must be 0 (no quota) "
				    "or at least 1M",
				    pc->name);
	}
	return 0;
}

void
config_fini(struct config *cfg)
{
	int i;

	for (i = 0; i < cfg->nkeys; i++) {
		explicit_bzero(cfg->keys[i].secret,
			       strlen(cfg->keys[i].secret));
		free(cfg->keys[i].secret);
		cfg->keys[i].secret = NULL;
	}
	cfg->nkeys = 0;
}

/* ---- the file parser ---- */

/* State of one config_load_string() call. */
struct parse {
	struct config *cfg;
	int line;
	int pool; /* the current [pool.NAME] section; -1 before the first */
	int seen[CONFIG_MAX_POOLS][NROWS]; /* line that set a key; 0 = none */
	int section[CONFIG_MAX_POOLS]; /* line of each pool's section */
	char where[256];		   /* "name:line: " */
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "[pool.NAME]", with s trimmed. */
static int
parse_section(struct parse *ps, char *s, struct sp_err *err)
{
	char *end = strchr(s, ']'), *rest;
	int i;

	if (end == NULL)
		return FAIL("%sexpected \"[pool.NAME]\"", ps->where);
	for (rest = end + 1; is_blank(*rest); rest++)
		;
	if (*rest != '\0' && *rest != '#')
		return FAIL("%stext after \"]\"", ps->where);
	*end = '\0';
	if (strncmp(s + 1, "pool.", 5) != 0)
		return FAIL("%sunknown section [%.64s]; expected [pool.NAME]",
			    ps->where, s + 1);
	i = pool_get(ps->cfg, s + 6, ps->where, err);
	if (i < 0)
		return i;
	if (ps->section[i])
		return FAIL("%sduplicate section [pool.%s] (first at line %d)",
			    ps->where, s + 6, ps->section[i]);
	ps->section[i] = ps->line;
	ps->pool = i;
	return 0;
}

/*
 * Split trimmed "key = value  # comment" in place.  A value may be wrapped
 * in double quotes; unquoted, it ends at a '#' that follows a blank.
 */
static int
split_line(struct parse *ps, char *s, char **key, char **val,
	   struct sp_err *err)
{
	char *p = s, *q;

	*key = *val = s;
	while (isalnum((unsigned char)*p) || *p == '_' || *p == '.')
		p++;
	for (q = p; is_blank(*p); p++)
		;
	if (q == s || *p != '=')
		return FAIL("%sexpected \"key = value\"", ps->where);
	*q = '\0';
	for (p++; is_blank(*p); p++)
		;
	*val = p;
	if (*p == '"') {
		*val = ++p;
		q = strchr(p, '"');
		if (q == NULL)
			return FAIL("%s%s: missing closing '\"'", ps->where, s);
		for (*q++ = '\0'; is_blank(*q); q++)
			;
		if (*q != '\0' && *q != '#')
			return FAIL("%s%s: text after the closing '\"'",
				    ps->where, s);
		return 0;
	}
	for (q = p; *q && !(*q == '#' && (q == p || is_blank(q[-1]))); q++)
		;
	while (q > p && is_blank(q[-1]))
		q--;
	*q = '\0';
	return 0;
}

static int
parse_line(struct parse *ps, char *s, struct sp_err *err)
{
	const struct row *r;
	char *e, *key = NULL, *val = NULL;
	int *seen, rc, pool = ps->pool < 0 ? 0 : ps->pool;

	while (is_blank(*s))
		s++;
	for (e = s + strlen(s); e > s && (is_blank(e[-1]) || e[-1] == '\r');)
		*--e = '\0';
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return parse_section(ps, s, err);
	rc = split_line(ps, s, &key, &val, err);
	if (rc < 0)
		return rc;
	r = find_row(key);
	if (r == NULL)
		return FAIL("%sunknown key \"%.64s\" (known keys: see "
			    "docs/CONFIG.md)",
			    ps->where, key);
	if (r->scope == S_TOP && ps->pool >= 0)
		return FAIL("%s%s is a top-level key; move it above the first "
			    "[pool.NAME]",
			    ps->where, key);
	/* Top-level rows have their own indexes, so seen[0] holds them too. */
	seen = &ps->seen[pool][r - rows];
	if (*seen && r->type != CT_KEY)
		return FAIL("%s%s: already set at line %d", ps->where, key,
			    *seen);
	*seen = ps->line;
	return set_key(ps->cfg, pool, r, val, ps->where, err);
}

int
config_load_string(struct config *cfg, const char *name, const char *text,
		   struct sp_err *err)
{
	struct parse ps = {.cfg = cfg, .pool = -1};
	char line[CFG_LINE_MAX];
	const char *nl;
	size_t n;
	int rc;

	for (; *text; text += n + (nl != NULL)) {
		nl = strchr(text, '\n');
		n = nl ? (size_t)(nl - text) : strlen(text);
		ps.line++;
		snprintf(ps.where, sizeof(ps.where), "%s:%d: ", name, ps.line);
		if (n >= sizeof(line))
			return FAIL("%sline is longer than %d bytes", ps.where,
				    CFG_LINE_MAX - 1);
		memcpy(line, text, n);
		line[n] = '\0';
		rc = parse_line(&ps, line, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
config_load_file(struct config *cfg, const char *path, struct sp_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_file_capped(path, CFG_FILE_MAX, &text, &len);
	if (rc == -E2BIG)
		FAIL("%s: larger than %zu bytes", path, CFG_FILE_MAX);
	else if (rc < 0)
		FAIL("%s: cannot read: %s", path, strerror(-rc));
	else if (strlen(text) != len)
		rc = FAIL("%s: contains a NUL byte", path);
	else
		rc = config_load_string(cfg, path, text, err);
	free(text);
	return rc;
}

/* ---- environment ---- */

/* Row r's variable: "http.max_body" -> "SANDPOOL_HTTP_MAX_BODY". */
static void
env_name(const struct row *r, char *buf, size_t sz)
{
	size_t i = strlen(env_prefix[r->scope]);

	snprintf(buf, sz, "%s%s", env_prefix[r->scope], r->name);
	for (; buf[i]; i++)
		buf[i] = (char)(buf[i] == '.' ? '_'
					      : toupper((unsigned char)buf[i]));
}

int
config_load_env(struct config *cfg, char *const *envp, struct sp_err *err)
{
	char name[128], want[128], where[160];
	const char *eq;
	size_t i, n;
	int rc;

	for (; *envp; envp++) {
		eq = strchr(*envp, '=');
		if (strncmp(*envp, "SANDPOOL_", 9) != 0 || eq == NULL)
			continue;
		n = (size_t)(eq - *envp);
		snprintf(name, sizeof(name), "%.*s", (int)n, *envp);
		snprintf(where, sizeof(where), "env %s: ", name);
		for (i = 0; i < ARRAY_SIZE(env_ignore); i++)
			if (strcmp(name, env_ignore[i].name) == 0)
				break;
		if (i < ARRAY_SIZE(env_ignore))
			continue;
		for (i = 0; i < NROWS; i++) {
			env_name(&rows[i], want, sizeof(want));
			if (n < sizeof(name) && strcmp(name, want) == 0)
				break;
		}
		if (i == NROWS)
			return FAIL("%sunknown variable (see docs/CONFIG.md "
				    "for SANDPOOL_* names)",
				    where);
		rc = set_key(cfg, 0, &rows[i], eq + 1, where, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- dump ---- */

static void
dump_scope(const void *base, enum scope scope, FILE *f)
{
	const struct row *r;
	char buf[32];
	uint64_t v;

	for (r = rows; r < rows + NROWS; r++) {
		if (r->scope != scope || r->type == CT_KEY)
			continue;
		if (r->type == CT_STR) {
			fprintf(f, "%s = \"%s\"\n", r->name,
				(const char *)base + r->off);
			continue;
		}
		v = get_num((const char *)base + r->off, r->size);
		if (r->type == CT_BOOL)
			snprintf(buf, sizeof(buf), "%s", v ? "true" : "false");
		else if (r->type == CT_ENUM)
			snprintf(buf, sizeof(buf), "%s", r->names[v]);
		else
			fmt_num(r->type, v, buf, sizeof(buf));
		fprintf(f, "%s = %s\n", r->name, buf);
	}
}

void
config_dump(const struct config *cfg, FILE *f)
{
	int i;

	fprintf(f, "# sandpool effective configuration\n");
	dump_scope(cfg, S_TOP, f);
	/* Commented out: a masked secret must not parse as a key. */
	for (i = 0; i < cfg->nkeys; i++)
		fprintf(f, "# api_key = %s:****\n", cfg->keys[i].principal);
	if (cfg->nkeys == 0)
		fprintf(f, "# api_key: none (auth off, loopback only)\n");
	for (i = 0; i < cfg->npools; i++) {
		fprintf(f, "\n[pool.%s]\n", cfg->pools[i].name);
		dump_scope(&cfg->pools[i], S_POOL, f);
	}
}
