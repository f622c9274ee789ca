/* SPDX-License-Identifier: MIT */
/*
 * test_config.c: unit tests for src/config.c.  Mostly vector tables (curl
 * unit1302 style): good inputs with the value config_dump() then prints,
 * bad inputs with the exact error text, and every numeric key at min, max,
 * min-1 and max+1.  Also: sections, inheritance, duplicates, environment,
 * precedence, the dump round trip, API keys, and that etc/sandpool.conf and
 * docs/CONFIG.md cover every key.  Run from the repository root.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "t.h"

#define SECRET "0123456789abcdef" /* the shortest valid secret: 16 */

/* ---- helpers ---- */

/* Defaults, then text as file "t.conf", then config_finish(). */
static int
load(struct config *cfg, const char *text, struct sp_err *err)
{
	int rc;

	config_defaults(cfg);
	rc = config_load_string(cfg, "t.conf", text, err);
	if (rc == 0)
		rc = config_finish(cfg, err);
	return rc;
}

/*
 * config_dump() into a string; the caller frees it.  Through tmpfile(), as
 * gcc 12 -O2 misreads open_memstream()'s out-parameter (-Wdangling-pointer).
 */
static char *
dump(const struct config *cfg)
{
	FILE *f = tmpfile();
	char *s;
	long n;

	ENSURE(f != NULL);
	config_dump(cfg, f);
	n = ftell(f);
	ENSURE(n >= 0);
	rewind(f);
	s = xcalloc(1, (size_t)n + 1);
	ENSURE(fread(s, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	return s;
}

/* Cut the next line off *p in place; NULL at the end. */
static char *
next_line(char **p)
{
	char *line = *p, *nl;

	if (line == NULL || *line == '\0')
		return NULL;
	nl = strchr(line, '\n');
	if (nl != NULL)
		*nl++ = '\0';
	*p = nl;
	return line;
}

/*
 * The text config_dump() prints for key in pool (NULL = top level) into
 * out; 0 if found.
 */
static int
dumped(const struct config *cfg, const char *pool, const char *key, char *out,
       size_t sz)
{
	char *d = dump(cfg), *p = d, *line, sect[80] = "", want[80] = "";
	size_t kl = strlen(key);
	int rc = -1;

	if (pool != NULL)
		snprintf(want, sizeof(want), "[pool.%s]", pool);
	for (line = next_line(&p); line != NULL; line = next_line(&p)) {
		if (line[0] == '[')
			snprintf(sect, sizeof(sect), "%s", line);
		else if (strcmp(sect, want) == 0 &&
			 strncmp(line, key, kl) == 0 &&
			 strncmp(line + kl, " = ", 3) == 0) {
			snprintf(out, sz, "%s", line + kl + 3);
			rc = 0;
			break;
		}
	}
	free(d);
	return rc;
}

/* Drop "# api_key" lines, which differ by design after a round trip. */
static void
strip_keys(char *s)
{
	char *p;

	for (p = strstr(s, "# api_key"); p != NULL;
	     p = strstr(p, "# api_key")) {
		char *nl = strchr(p, '\n');

		memmove(p, nl + 1, strlen(nl + 1) + 1);
	}
}

static char *
slurp(const char *path)
{
	char *s = NULL;
	long n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = xcalloc(1, (size_t)n + 1);
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* ---- defaults ---- */

TEST(defaults)
{
	struct config c;
	struct sp_err e = {0};
	const struct pool_config *p;

	config_defaults(&c);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	CHECK_STR(c.listen, "127.0.0.1:6000");
	CHECK_STR(c.state_dir, "./.sandpool");
	CHECK_STR(c.runtime_dir, "");
	CHECK_STR(c.python, "/usr/bin/python3");
	CHECK_INT(c.log_level, ==, LOGLVL_INFO);
	CHECK_INT(c.max_body, ==, 4 * MiB);
	CHECK_INT(c.max_header, ==, 16 * KiB);
	CHECK_INT(c.max_json_depth, ==, 64);
	CHECK_INT(c.max_code, ==, MiB);
	CHECK_INT(c.http_threads, ==, 4);
	CHECK_INT(c.max_connections, ==, 1024);
	CHECK_INT(c.kill_grace_ms, ==, 2000);
	CHECK_INT(c.uid_base, ==, 1000000000);
	CHECK_INT(c.upload_max, ==, 128 * MiB);
	CHECK(!c.url_allow_private);
	CHECK_INT(c.url_max_bytes, ==, 128 * MiB);
	CHECK_INT(c.url_timeout, ==, 30);
	CHECK(!c.audit_store_code);
	CHECK_INT(c.audit_retention_days, ==, 30);
	CHECK_INT(c.nkeys, ==, 0);
	CHECK_INT(c.npools, ==, 1);
	p = config_pool(&c, "default");
	CHECK(p == &c.pools[0]);
	if (p == NULL)
		return;
	CHECK_INT(p->ready, ==, 8);
	CHECK_INT(p->max_sessions, ==, 1000);
	CHECK_INT(p->start, ==, 0); /* zygote */
	CHECK_INT(c.zygote_max_forks, ==, 10000);
	CHECK_INT(c.zygote_max_age, ==, 3600);
	CHECK_INT(p->max_starting, ==, 8);
	CHECK_INT(p->memory, ==, GiB);
	CHECK_INT(p->pids, ==, 256);
	CHECK_INT(p->cpu_millis, ==, 1000);
	CHECK_INT(p->files_quota, ==, GiB);
	CHECK_INT(p->tmp_size, ==, 256 * MiB);
	CHECK_INT(p->output_max, ==, MiB);
	CHECK_INT(p->timeout, ==, 220);
	CHECK_INT(p->cooldown, ==, 600);
	CHECK_STR(p->preload, "numpy,pandas,matplotlib");
	CHECK(!p->egress);
	CHECK_INT(p->set_mask, ==, 0);
	CHECK(config_pool(&c, "gpu") == NULL);
	config_fini(&c);
}

/* ---- good values: what the dump prints afterwards ---- */

static const struct {
	const char *text;
	const char *pool; /* NULL = top level */
	const char *key;
	const char *want; /* as config_dump() prints it */
} good[] = {
	/* strings, quotes, comments */
	{"state_dir = /var/lib/sandpool", NULL, "state_dir",
	 "\"/var/lib/sandpool\""},
	{"state_dir = \"/a b/c\"", NULL, "state_dir", "\"/a b/c\""},
	{"state_dir=/x", NULL, "state_dir", "\"/x\""},
	{"\t state_dir \t=\t /x \t", NULL, "state_dir", "\"/x\""},
	{"state_dir = /x # comment", NULL, "state_dir", "\"/x\""},
	{"state_dir = /x\t# comment", NULL, "state_dir", "\"/x\""},
	{"state_dir = /x#y", NULL, "state_dir", "\"/x#y\""},
	{"state_dir = \"/x # y\"", NULL, "state_dir", "\"/x # y\""},
	{"state_dir = \"/x\" # c", NULL, "state_dir", "\"/x\""},
	{"state_dir = \"/x\"#c", NULL, "state_dir", "\"/x\""},
	{"state_dir = \" /x \"", NULL, "state_dir", "\" /x \""},
	{"state_dir = /x\r\n", NULL, "state_dir", "\"/x\""},
	{"# c\n\n   # c2\n\t\nstate_dir = /x\n\n", NULL, "state_dir", "\"/x\""},
	{"runtime_dir = /opt/rt", NULL, "runtime_dir", "\"/opt/rt\""},
	{"runtime_dir = \"\"", NULL, "runtime_dir", "\"\""},
	{"runtime_dir =", NULL, "runtime_dir", "\"\""},
	{"runtime_dir = # empty", NULL, "runtime_dir", "\"\""},
	{"python = /usr/local/bin/python3.11", NULL, "python",
	 "\"/usr/local/bin/python3.11\""},
	/* listen */
	{"listen = 0.0.0.0:6000", NULL, "listen", "\"0.0.0.0:6000\""},
	{"listen = 127.0.0.1:1", NULL, "listen", "\"127.0.0.1:1\""},
	{"listen = 127.0.0.1:0", NULL, "listen", "\"127.0.0.1:0\""},
	{"listen = 10.1.2.3:65535", NULL, "listen", "\"10.1.2.3:65535\""},
	{"listen = [::1]:6000", NULL, "listen", "\"[::1]:6000\""},
	{"listen = [::]:80", NULL, "listen", "\"[::]:80\""},
	{"listen = [2001:db8::1]:443", NULL, "listen", "\"[2001:db8::1]:443\""},
	{"listen = localhost:8080", NULL, "listen", "\"localhost:8080\""},
	{"listen = \"localhost:8080\"", NULL, "listen", "\"localhost:8080\""},
	/* enum */
	{"log_level = debug", NULL, "log_level", "debug"},
	{"log_level = info", NULL, "log_level", "info"},
	{"log_level = warn", NULL, "log_level", "warn"},
	{"log_level = error", NULL, "log_level", "error"},
	{"log_level = \"error\"", NULL, "log_level", "error"},
	/* bool, every spelling */
	{"files.url_allow_private = true", NULL, "files.url_allow_private",
	 "true"},
	{"files.url_allow_private = yes", NULL, "files.url_allow_private",
	 "true"},
	{"files.url_allow_private = on", NULL, "files.url_allow_private",
	 "true"},
	{"files.url_allow_private = 1", NULL, "files.url_allow_private",
	 "true"},
	{"audit.store_code = \"true\"", NULL, "audit.store_code", "true"},
	{"audit.store_code = false", NULL, "audit.store_code", "false"},
	{"audit.store_code = no", NULL, "audit.store_code", "false"},
	{"audit.store_code = off", NULL, "audit.store_code", "false"},
	{"audit.store_code = 0", NULL, "audit.store_code", "false"},
	{"egress = false", "default", "egress", "false"},
	{"egress = off", "default", "egress", "false"},
	/* uint */
	{"http.threads = 8", NULL, "http.threads", "8"},
	{"http.threads = 008", NULL, "http.threads", "8"},
	{"sandbox.uid_base = 3000000000", NULL, "sandbox.uid_base",
	 "3000000000"},
	{"pids = \"1024\"", "default", "pids", "1024"},
	/* sizes and suffixes */
	{"memory = 512M", "default", "memory", "512M"},
	{"memory = 1G", "default", "memory", "1G"},
	{"memory = 1073741824", "default", "memory", "1G"},
	{"memory = 2048M", "default", "memory", "2G"},
	{"memory = 1536M", "default", "memory", "1536M"},
	{"memory = 1GiB", "default", "memory", "1G"},
	{"memory = 1 G", "default", "memory", "1G"},
	{"memory = 1T", "default", "memory", "1T"},
	{"memory = 1TiB", "default", "memory", "1T"},
	{"memory = 33554433", "default", "memory", "33554433"},
	{"output_max = 4k", "default", "output_max", "4K"},
	{"output_max = 4K", "default", "output_max", "4K"},
	{"output_max = 4KiB", "default", "output_max", "4K"},
	{"output_max = 4096B", "default", "output_max", "4K"},
	{"output_max = 1025", "default", "output_max", "1025"},
	{"files_quota = 0", "default", "files_quota", "0"},
	{"files_quota = 1M", "default", "files_quota", "1M"},
	{"http.max_body = 64M", NULL, "http.max_body", "64M"},
	/* cores */
	{"cpu = 1", "default", "cpu", "1"},
	{"cpu = 0.5", "default", "cpu", "0.5"},
	{"cpu = 2.25", "default", "cpu", "2.25"},
	{"cpu = 0.125", "default", "cpu", "0.125"},
	{"cpu = 1.000", "default", "cpu", "1"},
	{"cpu = 1.5", "default", "cpu", "1.5"},
	{"cpu = 0.01", "default", "cpu", "0.01"},
	{"cpu = 16", "default", "cpu", "16"},
	/* preload */
	{"preload = numpy", "default", "preload", "\"numpy\""},
	{"preload = \"\"", "default", "preload", "\"\""},
	{"preload = _priv,a1.b_2.c,scipy.stats", "default", "preload",
	 "\"_priv,a1.b_2.c,scipy.stats\""},
	/* sections */
	{"[pool.gpu]\nmemory = 8G", "gpu", "memory", "8G"},
	{"[pool.gpu] # big ones\nmemory = 8G", "gpu", "memory", "8G"},
	{"  [pool.gpu]  \nmemory = 8G", "gpu", "memory", "8G"},
	{"[pool.A-z_09]\ncpu = 2", "A-z_09", "cpu", "2"},
	{"[pool.default]\nready = 5", "default", "ready", "5"},
	{"ready = 5\n[pool.x]\n", "x", "ready", "5"},
	{"[pool."
	 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123]",
	 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123",
	 "ready", "8"},
	{"start = launcher", "default", "start", "launcher"},
	{"[pool.x]\nstart = launcher", "x", "start", "launcher"},
	{"zygote.max_forks = 0", NULL, "zygote.max_forks", "0"},
	{"zygote.max_age = 60", NULL, "zygote.max_age", "60"},
	/* the default ready count yields to a smaller max_sessions */
	{"[pool.x]\nmax_sessions = 1", "x", "ready", "1"},
	{"max_sessions = 5", "default", "ready", "5"},
};

TEST(good_values)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		struct config c;
		struct sp_err e = {0};
		char got[512] = "";

		if (load(&c, good[i].text, &e) < 0) {
			T_FAIL("good[%zu] \"%s\": %s", i, good[i].text, e.msg);
		} else if (dumped(&c, good[i].pool, good[i].key, got,
				  sizeof(got)) < 0 ||
			   strcmp(got, good[i].want) != 0) {
			T_FAIL("good[%zu] \"%s\": got %s, want %s", i,
			       good[i].text, got, good[i].want);
		}
		config_fini(&c);
	}
}

/* ---- bad input: the exact message (a prefix of err.msg) ---- */

static const struct {
	const char *text;
	const char *msg;
} bad[] = {
	/* syntax */
	{"foo = 1",
	 "t.conf:1: unknown key \"foo\" (known keys: see docs/CONFIG.md)"},
	{"# c\n\nready = 1\nmemroy = 1G",
	 "t.conf:4: unknown key \"memroy\" (known keys: see docs/CONFIG.md)"},
	{"http.max_bodyy = 1M", "t.conf:1: unknown key \"http.max_bodyy\""},
	{"Listen = x", "t.conf:1: unknown key \"Listen\""},
	{"listen", "t.conf:1: expected \"key = value\""},
	{"listen 127.0.0.1:1", "t.conf:1: expected \"key = value\""},
	{"= 1", "t.conf:1: expected \"key = value\""},
	{"max-sessions = 1", "t.conf:1: expected \"key = value\""},
	{"listen == x", "t.conf:1: listen: \"= x\": expected IPv4:port"},
	{"state_dir = \"/x", "t.conf:1: state_dir: missing closing '\"'"},
	{"state_dir = \"/x\" y", "t.conf:1: state_dir: text after the closing"},
	{"state_dir = /a\"b",
	 "t.conf:1: state_dir: control characters and '\"' are not allowed"},
	{"state_dir = a\x01z",
	 "t.conf:1: state_dir: control characters and '\"' are not allowed"},
	{"state_dir = \"a\tb\"",
	 "t.conf:1: state_dir: control characters and '\"' are not allowed"},
	/* sections */
	{"[pool.gpu", "t.conf:1: expected \"[pool.NAME]\""},
	{"[pool.gpu] x", "t.conf:1: text after \"]\""},
	{"[gpu]", "t.conf:1: unknown section [gpu]; expected [pool.NAME]"},
	{"[pools.gpu]", "t.conf:1: unknown section [pools.gpu]"},
	{"[pool]", "t.conf:1: unknown section [pool]"},
	{"[pool.]", "t.conf:1: bad pool name \"\": expected 1-63 of "},
	{"[pool.a b]", "t.conf:1: bad pool name \"a b\""},
	{"[pool.a.b]", "t.conf:1: bad pool name \"a.b\""},
	{"[pool.é]", "t.conf:1: bad pool name"},
	{"[pool."
	 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234]",
	 "t.conf:1: bad pool name"},
	{"[pool.x]\nready = 1\n[pool.y]\n[pool.x]",
	 "t.conf:4: duplicate section [pool.x] (first at line 1)"},
	{"[pool.default]\n[pool.default]",
	 "t.conf:2: duplicate section [pool.default] (first at line 1)"},
	{"[pool.x]\nlisten = 127.0.0.1:1",
	 "t.conf:2: listen is a top-level key; move it above the first "
	 "[pool.NAME]"},
	{"[pool.x]\napi_key = " SECRET, "t.conf:2: api_key is a top-level key"},
	/* duplicates */
	{"ready = 1\nready = 2", "t.conf:2: ready: already set at line 1"},
	{"listen = 127.0.0.1:1\n\nlisten = 127.0.0.1:2",
	 "t.conf:3: listen: already set at line 1"},
	{"ready = 1\n[pool.default]\nready = 2",
	 "t.conf:3: ready: already set at line 1"},
	{"[pool.x]\nready = 1\nready = 1",
	 "t.conf:3: ready: already set at line 2"},
	/* types */
	{"audit.store_code = maybe",
	 "t.conf:1: audit.store_code: \"maybe\" is not true/false, yes/no, "
	 "on/off or 1/0"},
	{"audit.store_code = TRUE", "t.conf:1: audit.store_code: \"TRUE\""},
	{"audit.store_code =", "t.conf:1: audit.store_code: \"\" is not"},
	{"log_level = loud",
	 "t.conf:1: log_level: \"loud\" is not one of debug, info, warn, "
	 "error"},
	{"log_level = INFO", "t.conf:1: log_level: \"INFO\" is not one of"},
	{"ready = x",
	 "t.conf:1: ready: \"x\" is not a whole number in 0..1024"},
	{"ready = -1", "t.conf:1: ready: \"-1\" is not a whole number"},
	{"ready = +1", "t.conf:1: ready: \"+1\" is not a whole number"},
	{"ready = 1.0", "t.conf:1: ready: \"1.0\" is not a whole number"},
	{"ready = 0x10", "t.conf:1: ready: \"0x10\" is not a whole number"},
	{"ready = ", "t.conf:1: ready: \"\" is not a whole number"},
	{"ready = 99999999999999999999999",
	 "t.conf:1: ready: 99999999999999999999999 is out of range 0..1024"},
	{"ready = 4294967297", "t.conf:1: ready: 4294967297 is out of range"},
	{"memory = 12", "t.conf:1: memory: 12 is out of range 32M..1T"},
	{"memory = 1g",
	 "t.conf:1: memory: \"1g\" is not a size like 512M in 32M..1T"},
	{"memory = 1.5G", "t.conf:1: memory: \"1.5G\" is not a size"},
	{"memory = 1GB", "t.conf:1: memory: \"1GB\" is not a size"},
	{"memory = G", "t.conf:1: memory: \"G\" is not a size"},
	{"memory = -1G", "t.conf:1: memory: \"-1G\" is not a size"},
	{"memory = 99999999999T", "t.conf:1: memory: 99999999999T is out of"},
	{"cpu = 1.2345",
	 "t.conf:1: cpu: \"1.2345\" is not a core count like 0.5 in "
	 "0.01..1024"},
	{"cpu = .5", "t.conf:1: cpu: \".5\" is not a core count"},
	{"cpu = 1.", "t.conf:1: cpu: \"1.\" is not a core count"},
	{"cpu = 1e3", "t.conf:1: cpu: \"1e3\" is not a core count"},
	{"cpu = -1", "t.conf:1: cpu: \"-1\" is not a core count"},
	{"cpu = 1.-5", "t.conf:1: cpu: \"1.-5\" is not a core count"},
	{"cpu = 0", "t.conf:1: cpu: 0 is out of range 0.01..1024"},
	{"cpu = 99999999999999999999",
	 "t.conf:1: cpu: 99999999999999999999 is out of range"},
	/* per-key checks */
	{"state_dir = \"\"", "t.conf:1: state_dir: \"\": must not be empty"},
	{"python = python3",
	 "t.conf:1: python: \"python3\": must be an absolute path"},
	{"listen = 127.0.0.1",
	 "t.conf:1: listen: \"127.0.0.1\": expected IPv4:port, [IPv6]:port or "
	 "localhost:port with port 0-65535 (0 = any free port)"},
	{"listen = 127.0.0.1:65536", "t.conf:1: listen: \"127.0.0.1:65536\""},
	{"listen = 127.0.0.1:", "t.conf:1: listen: \"127.0.0.1:\""},
	{"listen = 127.0.0.1:x", "t.conf:1: listen: \"127.0.0.1:x\""},
	{"listen = :6000", "t.conf:1: listen: \":6000\""},
	{"listen = example.com:80", "t.conf:1: listen: \"example.com:80\""},
	{"listen = 256.1.1.1:80", "t.conf:1: listen: \"256.1.1.1:80\""},
	{"listen = 1.2.3:80", "t.conf:1: listen: \"1.2.3:80\""},
	{"listen = ::1:80", "t.conf:1: listen: \"::1:80\""},
	{"listen = [::1]", "t.conf:1: listen: \"[::1]\""},
	{"listen = []:80", "t.conf:1: listen: \"[]:80\""},
	{"listen = [1.2.3.4]:80", "t.conf:1: listen: \"[1.2.3.4]:80\""},
	{"listen = [localhost]:80", "t.conf:1: listen: \"[localhost]:80\""},
	{"listen = [::1:80", "t.conf:1: listen: \"[::1:80\""},
	{"preload = 1numpy",
	 "t.conf:1: preload: \"1numpy\": expected comma-separated module "
	 "names like numpy,matplotlib.pyplot"},
	{"preload = a,,b", "t.conf:1: preload: \"a,,b\": expected"},
	{"preload = a,", "t.conf:1: preload: \"a,\": expected"},
	{"preload = ,a", "t.conf:1: preload: \",a\": expected"},
	{"preload = a..b", "t.conf:1: preload: \"a..b\": expected"},
	{"preload = .a", "t.conf:1: preload: \".a\": expected"},
	{"preload = a.", "t.conf:1: preload: \"a.\": expected"},
	{"preload = a-b", "t.conf:1: preload: \"a-b\": expected"},
	{"preload = a, b", "t.conf:1: preload: \"a, b\": expected"},
	{"preload = a.1b", "t.conf:1: preload: \"a.1b\": expected"},
	{"egress = true",
	 "t.conf:1: egress: \"true\": egress is not supported yet; only false "
	 "is accepted"},
	{"[pool.x]\negress = yes", "t.conf:2: egress: \"yes\": egress is not"},
	/* cross-field rules, checked by config_finish() */
	{"ready = 1001",
	 "pool default: ready (1001) must not exceed max_sessions (1000)"},
	{"max_sessions = 64\nready = 65",
	 "pool default: ready (65) must not exceed max_sessions (64)"},
	{"[pool.x]\nready = 2\nmax_sessions = 1",
	 "pool x: ready (2) must not exceed max_sessions (1)"},
	{"ready = 3\n[pool.x]\nmax_sessions = 1",
	 "pool x: ready (3) must not exceed max_sessions (1)"},
	{"start = fork", "t.conf:1: start: \"fork\" is not one of zygote, "
			 "launcher"},
	{"files_quota = 1048575",
	 "pool default: files_quota must be 0 (no quota) or at least 1M"},
	{"[pool.x]\nfiles_quota = 512K", "pool x: files_quota must be 0"},
	/* api keys (messages never contain the secret) */
	{"api_key = short", "t.conf:1: api_key: the secret for default must "
			    "be 16-256 visible ASCII characters other than"},
	{"api_key = alice:short", "t.conf:1: api_key: the secret for alice "
				  "must be 16-256"},
	{"api_key = \"0123456789 abcdef\"",
	 "t.conf:1: api_key: the secret for default must be"},
	{"api_key = a b:" SECRET, "t.conf:1: api_key: the name before ':' "
				  "must be 1-63 of A-Z a-z 0-9 _ -"},
	{"api_key = :" SECRET, "t.conf:1: api_key: the name before ':'"},
	{"api_key = " SECRET "\napi_key = bob:" SECRET,
	 "t.conf:2: api_key: the secret for bob is already the key of "
	 "default"},
};

TEST(bad_values)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct config c;
		struct sp_err e = {0};
		int rc = load(&c, bad[i].text, &e);

		if (rc != -EINVAL ||
		    strncmp(e.msg, bad[i].msg, strlen(bad[i].msg)) != 0 ||
		    e.code == NULL || strcmp(e.code, "ConfigError") != 0)
			T_FAIL("bad[%zu] \"%s\": rc %d, got \"%s\", want "
			       "\"%s\"",
			       i, bad[i].text, rc, e.msg, bad[i].msg);
		if (strstr(e.msg, SECRET) != NULL || strstr(e.msg, "short"))
			T_FAIL("bad[%zu]: secret in message: %s", i, e.msg);
		config_fini(&c);
	}
}

/* ---- every numeric key at min, max, min-1 and max+1 ---- */

static const struct {
	const char *key;
	int pool;
	const char *min, *max, *below, *above; /* below NULL: min is 0 */
	const char *range;
} ranges[] = {
	{"http.max_body", 0, "1K", "1G", "1023", "1073741825", "1K..1G"},
	{"http.max_header", 0, "1024", "1M", "1023", "1048577", "1K..1M"},
	{"http.max_json_depth", 0, "2", "1000", "1", "1001", "2..1000"},
	{"http.max_code", 0, "1K", "64M", "1023", "67108865", "1K..64M"},
	{"http.threads", 0, "1", "64", "0", "65", "1..64"},
	{"http.max_connections", 0, "16", "100000", "15", "100001",
	 "16..100000"},
	{"exec.kill_grace_ms", 0, "100", "60000", "99", "60001", "100..60000"},
	{"sandbox.uid_base", 0, "100000", "4000000000", "99999", "4000000001",
	 "100000..4000000000"},
	{"files.upload_max", 0, "1K", "64G", "1023", "68719476737", "1K..64G"},
	{"files.url_max_bytes", 0, "1K", "64G", "1023", "68719476737",
	 "1K..64G"},
	{"files.url_timeout", 0, "1", "600", "0", "601", "1..600"},
	{"audit.retention_days", 0, "1", "3650", "0", "3651", "1..3650"},
	{"ready", 1, "0", "1024", NULL, "1025", "0..1024"},
	{"max_sessions", 1, "1", "100000", "0", "100001", "1..100000"},
	{"max_starting", 1, "1", "64", "0", "65", "1..64"},
	{"memory", 1, "32M", "1T", "33554431", "1099511627777", "32M..1T"},
	{"pids", 1, "16", "65536", "15", "65537", "16..65536"},
	{"cpu", 1, "0.01", "1024", "0.009", "1024.001", "0.01..1024"},
	{"files_quota", 1, "0", "1T", NULL, "1099511627777", "0..1T"},
	{"tmp_size", 1, "1M", "64G", "1048575", "68719476737", "1M..64G"},
	{"output_max", 1, "1K", "64M", "1023", "67108865", "1K..64M"},
	{"timeout", 1, "1", "86400", "0", "86401", "1..86400"},
	{"cooldown", 1, "1", "3600", "0", "3601", "1..3600"},
};

/* Load "key = v" (in [pool.p] for pool keys, to test both places). */
static int
load_one(struct config *c, int pool, const char *key, const char *v,
	 struct sp_err *e)
{
	char text[256];

	snprintf(text, sizeof(text), "%s%s = %s", pool ? "[pool.p]\n" : "", key,
		 v);
	config_defaults(c);
	return config_load_string(c, "r.conf", text, e);
}

TEST(range_edges)
{
	size_t i;
	int j;

	for (i = 0; i < ARRAY_SIZE(ranges); i++) {
		const char *ok[] = {ranges[i].min, ranges[i].max};
		const char *no[] = {ranges[i].below, ranges[i].above};
		char want[200];
		struct config c;
		struct sp_err e = {0};

		for (j = 0; j < 2; j++) {
			if (load_one(&c, ranges[i].pool, ranges[i].key, ok[j],
				     &e) < 0)
				T_FAIL("%s = %s: %s", ranges[i].key, ok[j],
				       e.msg);
			if (no[j] == NULL)
				continue;
			snprintf(want, sizeof(want),
				 "r.conf:%d: %s: %s is out of range %s",
				 1 + ranges[i].pool, ranges[i].key, no[j],
				 ranges[i].range);
			if (load_one(&c, ranges[i].pool, ranges[i].key, no[j],
				     &e) != -EINVAL ||
			    strcmp(e.msg, want) != 0)
				T_FAIL("%s = %s: got \"%s\", want \"%s\"",
				       ranges[i].key, no[j], e.msg, want);
		}
	}
}

/* The table's edges, checked through the typed fields too. */
TEST(range_fields)
{
	struct config c;
	struct sp_err e = {0};

	CHECK_INT(load(&c,
		       "sandbox.uid_base = 4000000000\n"
		       "http.max_body = 1G\nmax_sessions = 100000\n"
		       "ready = 1024\ncpu = 1024\nmemory = 1T\n",
		       &e),
		  ==, 0);
	CHECK_INT(c.uid_base, ==, 4000000000u);
	CHECK_INT(c.max_body, ==, GiB);
	CHECK_INT(c.pools[0].max_sessions, ==, 100000);
	CHECK_INT(c.pools[0].ready, ==, 1024);
	CHECK_INT(c.pools[0].cpu_millis, ==, 1024000);
	CHECK_INT(c.pools[0].memory, ==, 1024 * GiB);
	CHECK_INT(load(&c, "cpu = 0.01\nlog_level = error\n", &e), ==, 0);
	CHECK_INT(c.pools[0].cpu_millis, ==, 10);
	CHECK_INT(c.log_level, ==, LOGLVL_ERROR);
	CHECK_INT(load(&c, "cpu = 2.25\nlog_level = debug\n", &e), ==, 0);
	CHECK_INT(c.pools[0].cpu_millis, ==, 2250);
	CHECK_INT(c.log_level, ==, LOGLVL_DEBUG);
}

/* A string may fill its field but for the NUL. */
TEST(string_lengths)
{
	struct config c;
	struct sp_err e = {0};
	char v[600];

	config_defaults(&c);
	memset(v, 'x', sizeof(v));
	v[0] = '/';
	v[511] = '\0';
	CHECK_INT(config_set(&c, NULL, "state_dir", v, &e), ==, 0);
	CHECK_INT(strlen(c.state_dir), ==, 511);
	v[511] = 'x';
	v[512] = '\0';
	CHECK_INT(config_set(&c, NULL, "state_dir", v, &e), ==, -EINVAL);
	CHECK_STR(e.msg, "state_dir: value is 512 bytes; at most 511");
	CHECK_INT(strlen(c.state_dir), ==, 511); /* unchanged on error */
	memset(v, 'a', 255);
	v[255] = '\0';
	CHECK_INT(config_set(&c, NULL, "preload", v, &e), ==, 0);
	v[255] = 'a';
	v[256] = '\0';
	CHECK_INT(config_set(&c, NULL, "preload", v, &e), ==, -EINVAL);
	CHECK_STR(e.msg, "preload: value is 256 bytes; at most 255");
}

/* ---- sections, pools, inheritance ---- */

TEST(pools_inherit)
{
	struct config c;
	struct sp_err e = {0};
	const struct pool_config *d, *gpu, *small;
	const char *text = "# top\n"
			   "memory = 2G\n"
			   "cpu = 0.5\n"
			   "preload = numpy\n"
			   "[pool.gpu]\n"
			   "cpu = 4\n"
			   "ready = 0\n"
			   "[pool.small]\n"
			   "memory = 256M\n";

	CHECK_INT(load(&c, text, &e), ==, 0);
	CHECK_INT(c.npools, ==, 3);
	d = config_pool(&c, "default");
	gpu = config_pool(&c, "gpu");
	small = config_pool(&c, "small");
	CHECK(d != NULL && gpu != NULL && small != NULL);
	if (d == NULL || gpu == NULL || small == NULL)
		return;
	CHECK_INT(d->memory, ==, 2 * GiB);
	CHECK_INT(d->cpu_millis, ==, 500);
	CHECK_INT(gpu->memory, ==, 2 * GiB); /* inherited */
	CHECK_INT(gpu->cpu_millis, ==, 4000);
	CHECK_INT(gpu->ready, ==, 0);
	CHECK_STR(gpu->preload, "numpy");
	CHECK_INT(gpu->timeout, ==, 220); /* built-in, via default */
	CHECK_INT(small->memory, ==, 256 * MiB);
	CHECK_INT(small->cpu_millis, ==, 500);
	CHECK_INT(small->ready, ==, 8);
	CHECK_STR(gpu->name, "gpu");
	/* A later change to the default pool reaches pools that did not set
	 * the key, and not the ones that did; finish is idempotent. */
	CHECK_INT(config_set(&c, NULL, "memory", "3G", &e), ==, 0);
	CHECK_INT(config_set(&c, NULL, "ready", "7", &e), ==, 0);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	CHECK_INT(gpu->memory, ==, 3 * GiB);
	CHECK_INT(small->memory, ==, 256 * MiB);
	CHECK_INT(gpu->ready, ==, 0);
	CHECK_INT(small->ready, ==, 7);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	CHECK_INT(small->ready, ==, 7);
	config_fini(&c);
}

TEST(pools_max)
{
	struct config c;
	struct sp_err e = {0};
	char text[2048] = "";
	size_t n = 0;
	int i;

	/* The default pool plus 15 named ones is the limit. */
	for (i = 1; i < CONFIG_MAX_POOLS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "[pool.p%d]\n", i);
	CHECK_INT(load(&c, text, &e), ==, 0);
	CHECK_INT(c.npools, ==, CONFIG_MAX_POOLS);
	snprintf(text + n, sizeof(text) - n, "[pool.one_more]\n");
	CHECK_INT(load(&c, text, &e), ==, -EINVAL);
	CHECK_STR(e.msg, "t.conf:16: too many pools: at most 16, default "
			 "included");
	CHECK_INT(config_set(&c, "another", "ready", "1", &e), ==, -EINVAL);
	CHECK(strstr(e.msg, "too many pools") != NULL);
}

/* Two files (or a file and flags) may both name a pool: no duplicate. */
TEST(pools_across_loads)
{
	struct config c;
	struct sp_err e = {0};

	config_defaults(&c);
	CHECK_INT(config_load_string(&c, "a.conf", "[pool.x]\nready = 1", &e),
		  ==, 0);
	CHECK_INT(config_load_string(&c, "b.conf", "[pool.x]\nready = 3", &e),
		  ==, 0);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	CHECK_INT(c.npools, ==, 2);
	CHECK_INT(c.pools[1].ready, ==, 3);
}

TEST(finish_duplicate_pool_names)
{
	struct config c;
	struct sp_err e = {0};

	config_defaults(&c);
	CHECK_INT(config_set(&c, "x", "ready", "1", &e), ==, 0);
	/* Only reachable by writing the struct directly: still checked. */
	c.pools[c.npools] = c.pools[1];
	c.npools++;
	CHECK_INT(config_finish(&c, &e), ==, -EINVAL);
	CHECK_STR(e.msg, "pool x is defined twice");
}

/* ---- env, config_set, precedence ---- */

TEST(env_basic)
{
	struct config c;
	struct sp_err e = {0};
	char *env[] = {"HOME=/root", "SANDPOOL_LISTEN=0.0.0.0:7000",
		       "SANDPOOL_STATE_DIR=/var/lib/sp",
		       "SANDPOOL_HTTP_MAX_BODY=8M", "SANDPOOL_POOL_READY=3",
		       "SANDPOOL_POOL_CPU=0.5",
		       "SANDPOOL_FILES_URL_ALLOW_PRIVATE=yes",
		       "SANDPOOL_EXEC_KILL_GRACE_MS=500",
		       /* NOLINTNEXTLINE(bugprone-suspicious-missing-comma) */
		       "SANDPOOL_API_KEY=alice:" SECRET,
		       "SANDPOOL_URL=http://x", "SANDPOOL_BUILD=/tmp/b",
		       "SANDPOOLX=1", "SANDPOOL_NOEQUALS", NULL};

	config_defaults(&c);
	CHECK_INT(config_load_string(&c, "t.conf", "[pool.x]\n", &e), ==, 0);
	CHECK_INT(config_load_env(&c, env, &e), ==, 0);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	CHECK_STR(c.listen, "0.0.0.0:7000");
	CHECK_STR(c.state_dir, "/var/lib/sp");
	CHECK_INT(c.max_body, ==, 8 * MiB);
	CHECK_INT(c.kill_grace_ms, ==, 500);
	CHECK(c.url_allow_private);
	CHECK_INT(c.pools[0].ready, ==, 3);
	CHECK_INT(c.pools[0].cpu_millis, ==, 500);
	CHECK_INT(c.pools[1].ready, ==, 3); /* inherited */
	CHECK_INT(c.nkeys, ==, 1);
	CHECK_STR(c.keys[0].principal, "alice");
	CHECK_STR(c.keys[0].secret, SECRET);
	config_fini(&c);
}

static const struct {
	const char *var;
	const char *msg;
} env_bad[] = {
	{"SANDPOOL_LISTEM=x",
	 "env SANDPOOL_LISTEM: unknown variable (see docs/CONFIG.md for "
	 "SANDPOOL_* names)"},
	{"SANDPOOL_READY=1", "env SANDPOOL_READY: unknown variable"},
	{"SANDPOOL_POOL_LISTEN=x", "env SANDPOOL_POOL_LISTEN: unknown"},
	{"SANDPOOL_listen=x", "env SANDPOOL_listen: unknown variable"},
	{"SANDPOOL_HTTP.MAX_BODY=1M", "env SANDPOOL_HTTP.MAX_BODY: unknown"},
	{"SANDPOOL_=1", "env SANDPOOL_: unknown variable"},
	{"SANDPOOL_"
	 "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	 "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	 "=1",
	 "env SANDPOOL_XXX"},
	{"SANDPOOL_HTTP_MAX_BODY=1",
	 "env SANDPOOL_HTTP_MAX_BODY: http.max_body: 1 is out of range "
	 "1K..1G"},
	{"SANDPOOL_POOL_READY=x",
	 "env SANDPOOL_POOL_READY: ready: \"x\" is not a whole number"},
	{"SANDPOOL_POOL_EGRESS=true",
	 "env SANDPOOL_POOL_EGRESS: egress: \"true\": egress is not supported "
	 "yet"},
	{"SANDPOOL_STATE_DIR=", "env SANDPOOL_STATE_DIR: state_dir: \"\": must "
				"not be empty"},
	{"SANDPOOL_API_KEY=tooshort",
	 "env SANDPOOL_API_KEY: api_key: the secret for default must be"},
};

TEST(env_errors)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(env_bad); i++) {
		struct config c;
		struct sp_err e = {0};
		char *env[] = {"SANDPOOL_URL=http://ignored",
			       (char *)env_bad[i].var, NULL};

		config_defaults(&c);
		if (config_load_env(&c, env, &e) != -EINVAL ||
		    strncmp(e.msg, env_bad[i].msg, strlen(env_bad[i].msg)) != 0)
			T_FAIL("env_bad[%zu]: got \"%s\", want \"%s\"", i,
			       e.msg, env_bad[i].msg);
		CHECK(strstr(e.msg, "tooshort") == NULL);
		config_fini(&c);
	}
}

/* Built-in < file < environment < config_set (command-line flags). */
TEST(precedence)
{
	struct config c;
	struct sp_err e = {0};
	char *env[] = {"SANDPOOL_LISTEN=127.0.0.1:2", "SANDPOOL_STATE_DIR=/env",
		       "SANDPOOL_POOL_READY=4", NULL};

	config_defaults(&c);
	CHECK_INT(config_load_string(&c, "t.conf",
				     "listen = 127.0.0.1:1\n"
				     "state_dir = /file\n"
				     "runtime_dir = /file-rt\n"
				     "ready = 1\n",
				     &e),
		  ==, 0);
	CHECK_INT(config_load_env(&c, env, &e), ==, 0);
	CHECK_INT(config_set(&c, NULL, "listen", "127.0.0.1:3", &e), ==, 0);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	CHECK_STR(c.listen, "127.0.0.1:3");	 /* flag */
	CHECK_STR(c.state_dir, "/env");		 /* env over file */
	CHECK_STR(c.runtime_dir, "/file-rt");	 /* file over built-in */
	CHECK_STR(c.python, "/usr/bin/python3"); /* built-in */
	CHECK_INT(c.pools[0].ready, ==, 4);
}

TEST(config_set)
{
	struct config c;
	struct sp_err e = {0};
	const struct pool_config *p;

	config_defaults(&c);
	CHECK_INT(config_set(&c, NULL, "http.threads", "16", &e), ==, 0);
	CHECK_INT(c.http_threads, ==, 16);
	CHECK_INT(config_set(&c, NULL, "memory", "2G", &e), ==, 0);
	CHECK_INT(c.pools[0].memory, ==, 2 * GiB);
	CHECK_INT(config_set(&c, "default", "pids", "512", &e), ==, 0);
	CHECK_INT(c.pools[0].pids, ==, 512);
	CHECK_INT(config_set(&c, "big", "memory", "16G", &e), ==, 0);
	CHECK_INT(config_set(&c, NULL, "api_key", "ci:" SECRET, &e), ==, 0);
	CHECK_INT(c.nkeys, ==, 1);
	CHECK_INT(config_finish(&c, &e), ==, 0);
	p = config_pool(&c, "big");
	CHECK(p != NULL && p->memory == 16 * GiB && p->pids == 512);

	CHECK_INT(config_set(&c, NULL, "memory", "1K", &e), ==, -EINVAL);
	CHECK_STR(e.msg, "memory: 1K is out of range 32M..1T");
	CHECK_INT(config_set(&c, "big", "cpu", "0", &e), ==, -EINVAL);
	CHECK_STR(e.msg, "pool big: cpu: 0 is out of range 0.01..1024");
	CHECK_INT(config_set(&c, "big", "listen", "127.0.0.1:1", &e), ==,
		  -EINVAL);
	CHECK_STR(e.msg, "pool big: listen is a top-level key, not a pool key");
	CHECK_INT(config_set(&c, NULL, "nope", "1", &e), ==, -EINVAL);
	CHECK_STR(e.msg,
		  "unknown key \"nope\" (known keys: see docs/CONFIG.md)");
	CHECK_INT(config_set(&c, "bad name", "ready", "1", &e), ==, -EINVAL);
	CHECK(strstr(e.msg, "bad pool name \"bad name\"") != NULL);
	CHECK_INT(c.npools, ==, 2);
	CHECK_INT(config_set(&c, NULL, "egress", "true", &e), ==, -EINVAL);
	CHECK_STR(e.msg, "egress: \"true\": egress is not supported yet; only "
			 "false is accepted");
	config_fini(&c);
}

/* ---- API keys ---- */

TEST(api_keys)
{
	struct config c;
	struct sp_err e = {0};
	char spec[300];
	int i;

	CHECK_INT(load(&c,
		       "api_key = " SECRET "\n"
		       "api_key = \"alice:" SECRET "1\" # quoted\n"
		       "api_key = bob-2_X:" SECRET "#2\n"
		       "api_key = carol:a:b" SECRET "\n",
		       &e),
		  ==, 0);
	CHECK_INT(c.nkeys, ==, 4);
	CHECK_STR(c.keys[0].principal, "default");
	CHECK_STR(c.keys[0].secret, SECRET);
	CHECK_STR(c.keys[1].principal, "alice");
	CHECK_STR(c.keys[1].secret, SECRET "1");
	CHECK_STR(c.keys[2].principal, "bob-2_X");
	CHECK_STR(c.keys[2].secret, SECRET "#2");
	CHECK_STR(c.keys[3].principal, "carol"); /* first ':' splits */
	CHECK_STR(c.keys[3].secret, "a:b" SECRET);
	/* The same principal may have several keys (rotation). */
	CHECK_INT(config_add_key(&c, "alice:" SECRET "new", &e), ==, 0);
	CHECK_INT(config_add_key(&c, "alice:" SECRET "new", &e), ==, -EINVAL);
	CHECK_STR(e.msg, "api_key: the secret for alice is already the key of "
			 "alice");
	/* 15, 16, 256 and 257 characters. */
	CHECK_INT(config_add_key(&c, "0123456789abcde", &e), ==, -EINVAL);
	memset(spec, 'k', 256);
	spec[256] = '\0';
	CHECK_INT(config_add_key(&c, spec, &e), ==, 0);
	spec[256] = 'k';
	spec[257] = '\0';
	CHECK_INT(config_add_key(&c, spec, &e), ==, -EINVAL);
	CHECK_INT(config_add_key(&c, "x:" SECRET "\x7f", &e), ==, -EINVAL);
	CHECK_INT(config_add_key(&c, "x:" SECRET "\"", &e), ==, -EINVAL);
	CHECK_INT(config_add_key(&c, "x:" SECRET "é", &e), ==, -EINVAL);
	CHECK_INT(config_add_key(&c,
				 "abcdefghijabcdefghijabcdefghijabcdefghij"
				 "abcdefghijabcdefghij1234:" SECRET "z",
				 &e),
		  ==, -EINVAL);
	CHECK_INT(config_add_key(&c,
				 "abcdefghijabcdefghijabcdefghijabcdefghij"
				 "abcdefghijabcdefghij123:" SECRET "z",
				 &e),
		  ==, 0);
	/* Fill up to CONFIG_MAX_KEYS, then one more. */
	for (i = c.nkeys; i < CONFIG_MAX_KEYS; i++) {
		snprintf(spec, sizeof(spec), "k%d:" SECRET "%d", i, i);
		CHECK_INT(config_add_key(&c, spec, &e), ==, 0);
	}
	CHECK_INT(config_add_key(&c, "last:" SECRET "last", &e), ==, -EINVAL);
	CHECK_STR(e.msg, "api_key: at most 64 keys");
	config_fini(&c);
	CHECK_INT(c.nkeys, ==, 0);
	config_fini(&c); /* twice is harmless */
}

/* ---- dump ---- */

TEST(dump_round_trip)
{
	struct config a, b;
	struct sp_err e = {0};
	char *da, *db;
	const char *text = "listen = [::1]:7000\n"
			   "state_dir = \"/srv/sand pool\"\n"
			   "runtime_dir = /opt/sp#1\n"
			   "log_level = warn\n"
			   "http.max_body = 3000000\n"
			   "files.url_allow_private = on\n"
			   "audit.store_code = yes\n"
			   "api_key = " SECRET "\n"
			   "api_key = alice:" SECRET "-alice\n"
			   "cpu = 0.25\n"
			   "preload = \"\"\n"
			   "files_quota = 0\n"
			   "[pool.gpu]\n"
			   "memory = 12G\n"
			   "cpu = 2.125\n"
			   "[pool.tiny]\n"
			   "memory = 33554433\n"
			   "ready = 0\n";

	CHECK_INT(load(&a, text, &e), ==, 0);
	da = dump(&a);
	CHECK(strstr(da, "# api_key = default:****\n") != NULL);
	CHECK(strstr(da, "# api_key = alice:****\n") != NULL);
	CHECK(strstr(da, SECRET) == NULL);
	CHECK(strstr(da, "\n[pool.default]\n") != NULL);
	CHECK(strstr(da, "\n[pool.gpu]\n") != NULL);
	CHECK(strstr(da, "state_dir = \"/srv/sand pool\"\n") != NULL);
	CHECK(strstr(da, "http.max_body = 3000000\n") != NULL);
	CHECK(strstr(da, "cpu = 2.125\n") != NULL);
	CHECK_INT(load(&b, da, &e), ==, 0);
	CHECK_INT(b.nkeys, ==, 0); /* masked keys are comments */
	db = dump(&b);
	strip_keys(da);
	strip_keys(db);
	CHECK_STR(da, db);
	CHECK_INT(b.npools, ==, 3);
	CHECK_INT(b.pools[2].memory, ==, 33554433);
	CHECK_INT(b.pools[1].cpu_millis, ==, 2125);
	CHECK_INT(b.pools[1].files_quota, ==, 0);
	CHECK_INT(b.max_body, ==, 3000000);
	free(da);
	free(db);
	config_fini(&a);
	config_fini(&b);
}

TEST(dump_defaults_round_trip)
{
	struct config a, b;
	struct sp_err e = {0};
	char *da, *db;

	config_defaults(&a);
	da = dump(&a);
	CHECK(strstr(da, "# api_key: none") != NULL);
	CHECK_INT(load(&b, da, &e), ==, 0);
	db = dump(&b);
	CHECK_STR(da, db);
	free(da);
	free(db);
}

/* ---- files ---- */

TEST(load_file_errors)
{
	struct config c;
	struct sp_err e = {0};
	char path[] = "/tmp/test_config_XXXXXX";
	int fd = mkstemp(path);
	char *big;

	CHECK(fd >= 0);
	config_defaults(&c);
	CHECK_INT(config_load_file(&c, "/nonexistent/sandpool.conf", &e), ==,
		  -ENOENT);
	CHECK_STR(e.msg, "/nonexistent/sandpool.conf: cannot read: No such "
			 "file or directory");
	CHECK(write(fd, "ready = 1\n\0x", 12) == 12);
	CHECK_INT(config_load_file(&c, path, &e), ==, -EINVAL);
	CHECK(strstr(e.msg, ": contains a NUL byte") != NULL);
	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, "\n\nready = 3\nbogus = 1\n", 22, 0) == 22);
	CHECK_INT(config_load_file(&c, path, &e), ==, -EINVAL);
	CHECK(strncmp(e.msg, path, strlen(path)) == 0);
	CHECK(strstr(e.msg, ":4: unknown key \"bogus\"") != NULL);
	/* Larger than 1 MiB. */
	big = xcalloc(1, 2 * MiB);
	memset(big, '\n', 2 * MiB);
	CHECK(pwrite(fd, big, 2 * MiB, 0) == (ssize_t)(2 * MiB));
	CHECK_INT(config_load_file(&c, path, &e), ==, -E2BIG);
	CHECK(strstr(e.msg, ": larger than 1048576 bytes") != NULL);
	free(big);
	/* A 4096-byte line is too long; 4095 is not. */
	big = xcalloc(1, 8192);
	memset(big, '#', 4095);
	CHECK_INT(config_load_string(&c, "l.conf", big, &e), ==, 0);
	big[4095] = '#';
	CHECK_INT(config_load_string(&c, "l.conf", big, &e), ==, -EINVAL);
	CHECK_STR(e.msg, "l.conf:1: line is longer than 4095 bytes");
	free(big);
	close(fd);
	unlink(path);
}

/* The sample config parses and is exactly the defaults. */
TEST(sample_config)
{
	struct config a, b;
	struct sp_err e = {0};
	char *da, *db;

	config_defaults(&a);
	CHECK_INT(config_load_file(&a, "etc/sandpool.conf", &e), ==, 0);
	if (e.msg[0])
		T_FAIL("%s", e.msg);
	CHECK_INT(config_finish(&a, &e), ==, 0);
	config_defaults(&b);
	da = dump(&a);
	db = dump(&b);
	CHECK_STR(da, db);
	free(da);
	free(db);
}

/*
 * Every key the dump prints has a line "key = " in etc/sandpool.conf and
 * a row "`key`" with its SANDPOOL_* variable in docs/CONFIG.md.
 */
TEST(docs_cover_every_key)
{
	struct config c;
	char *d, *conf = slurp("etc/sandpool.conf");
	char *doc = slurp("docs/CONFIG.md");
	char *line, *dp, *p, want[160], env[160];
	int pool = 0, nkeys = 0;
	size_t i;

	CHECK(conf != NULL && doc != NULL);
	if (conf == NULL || doc == NULL) {
		free(conf);
		free(doc);
		return;
	}
	config_defaults(&c);
	d = dump(&c);
	dp = d;
	for (line = next_line(&dp); line != NULL; line = next_line(&dp)) {
		if (line[0] == '[') {
			if (pool++)
				break; /* one pool is enough */
			continue;
		}
		p = strstr(line, " = ");
		if (line[0] == '#' || p == NULL)
			continue;
		*p = '\0';
		nkeys++;
		snprintf(want, sizeof(want), "\n%s = ", line);
		if (strstr(conf, want) == NULL)
			T_FAIL("etc/sandpool.conf lacks \"%s = \"", line);
		snprintf(want, sizeof(want), "`%s`", line);
		if (strstr(doc, want) == NULL)
			T_FAIL("docs/CONFIG.md lacks %s", want);
		snprintf(env, sizeof(env), "SANDPOOL_%s%s", pool ? "POOL_" : "",
			 line);
		for (i = 0; env[i]; i++)
			env[i] =
				(char)(env[i] == '.'
					       ? '_'
					       : toupper((
							 unsigned char)env[i]));
		if (strstr(doc, env) == NULL)
			T_FAIL("docs/CONFIG.md lacks %s", env);
	}
	CHECK_INT(nkeys, ==, 22 + 14);
	CHECK(strstr(conf, "api_key") != NULL);
	CHECK(strstr(doc, "`api_key`") != NULL);
	CHECK(strstr(doc, "SANDPOOL_API_KEY") != NULL);
	CHECK(strstr(doc, "SANDPOOL_URL") != NULL);
	CHECK(strstr(doc, "SANDPOOL_BUILD") != NULL);
	free(d);
	free(conf);
	free(doc);
}

T_MAIN()
