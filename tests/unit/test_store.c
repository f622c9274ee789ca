// SPDX-License-Identifier: MIT
/*
 * test_store.c: the store (SHA-256 vectors, schema migration, keys:
 * create, verify in constant time, revoke, list), scopes, auth against
 * stored keys, and the audit writer (rows, the sessions table, pruning,
 * code kept only with store_code).  Each test works in a fresh
 * directory under /tmp.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "auth.h"
#include "config.h"
#include "store.h"
#include "t.h"
#include "util.h"

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/sp-unit-store-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? xstrdup(d) : NULL;
}

static void
rmrf(char *dir)
{
	char *cmd[] = {"rm", "-rf", dir, NULL};
	pid_t pid = fork();

	if (pid == 0) {
		execvp("rm", cmd);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, NULL, 0) < 0)
		;
	free(dir);
}

static const struct {
	const char *in;
	const char *hex;
} sha_vectors[] = {
	{"",
	 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc",
	 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

TEST(sha256_vectors)
{
	char out[65];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sha_vectors); i++) {
		store_sha256_hex(sha_vectors[i].in, strlen(sha_vectors[i].in),
				 out);
		CHECK_STR(out, sha_vectors[i].hex);
	}
}

TEST(scopes)
{
	unsigned s = 0;
	char text[64];
	struct sp_err err = {0};

	CHECK_INT(auth_scopes_parse("execute", &s, &err), ==, 0);
	CHECK_INT(s, ==, AUTH_SCOPE_EXECUTE);
	CHECK_INT(auth_scopes_parse("admin,files", &s, &err), ==, 0);
	CHECK_INT(s, ==, AUTH_SCOPE_ADMIN | AUTH_SCOPE_FILES);
	CHECK_INT(auth_scopes_parse("all", &s, &err), ==, 0);
	CHECK_INT(s, ==, AUTH_SCOPE_ALL);
	auth_scopes_format(AUTH_SCOPE_ALL, text, sizeof(text));
	CHECK_STR(text, "execute,files,admin");
	auth_scopes_format(AUTH_SCOPE_FILES, text, sizeof(text));
	CHECK_STR(text, "files");
	CHECK(auth_scopes_parse("", &s, &err) < 0);
	CHECK(auth_scopes_parse("execute,", &s, &err) == 0);
	CHECK(auth_scopes_parse("exec", &s, &err) < 0);
	CHECK_INT(err.http, ==, 400);
	CHECK(auth_scopes_parse("execute files", &s, &err) < 0);
	CHECK(auth_scopes_parse("executefiles", &s, &err) < 0);
}

TEST(require)
{
	struct auth_id id = {.principal = "a", .scopes = AUTH_SCOPE_FILES};
	struct sp_err err = {0};

	CHECK_INT(auth_require(&id, 0, "default", &err), ==, 0);
	CHECK_INT(auth_require(&id, AUTH_SCOPE_FILES, "default", &err), ==, 0);
	CHECK(auth_require(&id, AUTH_SCOPE_EXECUTE, "default", &err) < 0);
	CHECK_INT(err.http, ==, 403);
	CHECK(strstr(err.msg, "\"execute\"") != NULL);
	snprintf(id.pool, sizeof(id.pool), "small");
	CHECK_INT(auth_require(&id, AUTH_SCOPE_FILES, "small", &err), ==, 0);
	CHECK(auth_require(&id, AUTH_SCOPE_FILES, "default", &err) < 0);
	CHECK(strstr(err.msg, "restricted to pool \"small\"") != NULL);
}

TEST(open_migrates_and_refuses_newer)
{
	char *d = tmpdir();
	struct store *st = NULL;
	struct sp_err err = {0};
	char *path = xasprintf("%s/sub/dir/%s", d, STORE_FILE);
	char *sub = xasprintf("%s/sub/dir", d);
	sqlite3 *db = NULL;
	struct stat sb;

	/* Without STORE_CREATE a missing file is an error. */
	CHECK(store_open(sub, 0, &st, &err) < 0);
	CHECK(strstr(err.msg, "does not exist") != NULL);
	CHECK_INT(store_open(sub, STORE_CREATE, &st, &err), ==, 0);
	store_close(st);
	CHECK_INT(stat(path, &sb), ==, 0);
	CHECK_INT(sb.st_mode & 0777, ==, 0600);
	/* Opening again is a no-op migration. */
	CHECK_INT(store_open(sub, 0, &st, &err), ==, 0);
	CHECK_INT(store_keys_exist(st), ==, 0);
	store_close(st);
	/* A file from a newer sandpool is refused. */
	CHECK_INT(sqlite3_open(path, &db), ==, SQLITE_OK);
	CHECK_INT(
		sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
		==, SQLITE_OK);
	sqlite3_close(db);
	CHECK(store_open(sub, 0, &st, &err) < 0);
	CHECK(strstr(err.msg, "newer") != NULL);
	free(path);
	free(sub);
	rmrf(d);
}

TEST(keys)
{
	char *d = tmpdir();
	struct store *st = NULL;
	struct store_key info, got;
	struct sp_err err = {0};
	char key[STORE_KEY_LEN + 1], key2[STORE_KEY_LEN + 1];
	char bad[STORE_KEY_LEN + 1], *text;
	json_t *list;

	CHECK_INT(store_open(d, STORE_CREATE, &st, &err), ==, 0);
	CHECK_INT(store_key_create(st, "alice", AUTH_SCOPE_EXECUTE, NULL, key,
				   sizeof(key), &info, &err),
		  ==, 0);
	CHECK_INT(strlen(key), ==, STORE_KEY_LEN);
	CHECK(strncmp(key, "sp_", 3) == 0);
	CHECK_INT(store_keys_exist(st), ==, 1);
	CHECK_INT(store_keys_active(st), ==, 1);
	CHECK_INT(store_key_verify(st, key, strlen(key), &got), ==, 0);
	CHECK_STR(got.name, "alice");
	CHECK_STR(got.id, info.id);
	CHECK_INT(got.scopes, ==, AUTH_SCOPE_EXECUTE);
	CHECK_STR(got.pool, "");
	/* One changed character, a prefix, garbage: no. */
	memcpy(bad, key, sizeof(bad));
	bad[STORE_KEY_LEN - 1] = bad[STORE_KEY_LEN - 1] == 'a' ? 'b' : 'a';
	CHECK_INT(store_key_verify(st, bad, strlen(bad), &got), ==, -ENOENT);
	CHECK_INT(store_key_verify(st, key, strlen(key) - 1, &got), ==,
		  -ENOENT);
	CHECK_INT(store_key_verify(st, "sp_x", 4, &got), ==, -ENOENT);
	/* An unknown id of the right shape. */
	memcpy(bad, key, sizeof(bad));
	bad[3] = bad[3] == '0' ? '1' : '0';
	CHECK_INT(store_key_verify(st, bad, strlen(bad), &got), ==, -ENOENT);
	/* Bad names and scopes. */
	CHECK(store_key_create(st, "a b", AUTH_SCOPE_EXECUTE, NULL, key2,
			       sizeof(key2), NULL, &err) < 0);
	CHECK(store_key_create(st, "ok", 0, NULL, key2, sizeof(key2), NULL,
			       &err) < 0);
	CHECK(store_key_create(st, "ok", AUTH_SCOPE_FILES, "bad pool", key2,
			       sizeof(key2), NULL, &err) < 0);
	/* A second key of alice, pool-restricted. */
	CHECK_INT(store_key_create(st, "alice", AUTH_SCOPE_ALL, "small", key2,
				   sizeof(key2), NULL, &err),
		  ==, 0);
	CHECK_INT(store_key_verify(st, key2, strlen(key2), &got), ==, 0);
	CHECK_STR(got.pool, "small");
	CHECK_INT(got.scopes, ==, AUTH_SCOPE_ALL);
	/* Revoke by id: only that one. */
	CHECK_INT(store_key_revoke(st, info.id, &err), ==, 1);
	CHECK_INT(store_key_verify(st, key, strlen(key), &got), ==, -ENOENT);
	CHECK_INT(store_key_verify(st, key2, strlen(key2), &got), ==, 0);
	/* By name: the rest. */
	CHECK_INT(store_key_revoke(st, "alice", &err), ==, 1);
	CHECK_INT(store_key_revoke(st, "alice", &err), ==, 0);
	CHECK_INT(store_keys_active(st), ==, 0);
	CHECK_INT(store_keys_exist(st), ==, 1); /* revoked rows count */
	list = store_key_list(st, &err);
	CHECK(list != NULL && json_array_size(list) == 2);
	CHECK(json_is_string(
		json_object_get(json_array_get(list, 0), "revoked")));
	text = json_dumps(list, 0);
	CHECK(text != NULL && strstr(text, key + 16) == NULL);
	free(text);
	json_decref(list);
	store_close(st);
	rmrf(d);
}

TEST(auth_against_the_store)
{
	char *d = tmpdir();
	struct store *st = NULL;
	struct sp_err err = {0};
	struct config cfg;
	struct auth_id id;
	char key[STORE_KEY_LEN + 1], hdr[STORE_KEY_LEN + 16];
	char secret[] = "config-secret-0000001";

	memset(&cfg, 0, sizeof(cfg));
	CHECK_INT(store_open(d, STORE_CREATE, &st, &err), ==, 0);
	/* Empty store, no config keys: auth off. */
	CHECK_INT(auth_resolve(&cfg, st, NULL, NULL, &id, &err), ==, 0);
	CHECK_STR(id.principal, "default");
	CHECK_INT(id.scopes, ==, AUTH_SCOPE_ALL);
	CHECK_INT(store_key_create(st, "bob", AUTH_SCOPE_FILES, NULL, key,
				   sizeof(key), NULL, &err),
		  ==, 0);
	/* A key in the store turns auth on. */
	CHECK(auth_resolve(&cfg, st, NULL, NULL, &id, &err) < 0);
	CHECK_INT(err.http, ==, 401);
	snprintf(hdr, sizeof(hdr), "Bearer %s", key);
	CHECK_INT(auth_resolve(&cfg, st, hdr, NULL, &id, &err), ==, 0);
	CHECK_STR(id.principal, "bob");
	CHECK_INT(id.scopes, ==, AUTH_SCOPE_FILES);
	CHECK_INT(auth_resolve(&cfg, st, "Bearer nope", key, &id, &err), ==, 0);
	CHECK_STR(id.principal, "bob");
	/* Config keys still work, as tenant keys. */
	snprintf(cfg.keys[0].principal, CONFIG_NAME_MAX, "carol");
	cfg.keys[0].secret = secret;
	cfg.nkeys = 1;
	CHECK_INT(auth_resolve(&cfg, st, "Bearer config-secret-0000001", NULL,
			       &id, &err),
		  ==, 0);
	CHECK_STR(id.principal, "carol");
	CHECK_INT(id.scopes, ==, AUTH_SCOPE_CONFIG);
	CHECK_INT(auth_resolve(&cfg, st, hdr, NULL, &id, &err), ==, 0);
	CHECK_STR(id.principal, "bob");
	CHECK(store_key_revoke(st, "bob", &err) == 1);
	CHECK(auth_resolve(&cfg, st, hdr, NULL, &id, &err) < 0);
	CHECK_STR(err.msg, "invalid API key");
	store_close(st);
	rmrf(d);
}

static long long
count(const char *dir, const char *sql)
{
	char *path = xasprintf("%s/%s", dir, STORE_FILE);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	long long n = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	free(path);
	return n;
}

TEST(audit_writer)
{
	char *d = tmpdir();
	struct audit *a = NULL;
	struct sp_err err = {0};
	struct audit_ctx ctx;
	const char *files[] = {"a.csv", "b\"c.txt"};
	char sha[65], *sql;
	struct audit_row row = {
		.principal = "alice",
		.pool = "default",
		.identifier = "s1",
		.sid = "0123456789abcdef",
		.exec_id = "e1",
		.op = AUDIT_OP_EXECUTE,
		.status = AUDIT_SUCCEEDED,
		.http_status = 200,
		.duration_ms = 5,
		.cpu_ms = 3,
		.peak_mem = 1 << 20,
		.code = "1+1",
		.code_len = 3,
		.bytes_in = 3,
		.bytes_out = 1,
		.ctx = &ctx,
	};
	int i;

	audit_ctx_set(&ctx, "agent\nx", NULL, "run");
	CHECK_STR(ctx.agent, "agent?x");
	CHECK_STR(ctx.thread, "");
	CHECK_INT(audit_start(d, false, 30, &a, &err), ==, 0);
	audit_session_start(a, "0123456789abcdef", "alice", "default", "s1",
			    wall_ms() - 5000);
	for (i = 0; i < 500; i++)
		audit_record(a, &row);
	row.op = AUDIT_OP_FILE_UPLOAD;
	row.files = files;
	row.nfiles = 2;
	row.code = NULL;
	audit_record(a, &row);
	audit_session_end(a, "0123456789abcdef", wall_ms(), "deleted");
	CHECK_INT(audit_flush(a, 10000), ==, 0);
	CHECK_INT(audit_written(a), ==, 501);
	CHECK_INT(audit_dropped(a), ==, 0);
	CHECK_INT(count(d, "SELECT count(*) FROM audit"), ==, 501);
	store_sha256_hex("1+1", 3, sha);
	sql = xasprintf("SELECT count(*) FROM audit WHERE code_sha256 = '%s' "
			"AND code_size = 3 AND op = 'execute'",
			sha);
	CHECK_INT(count(d, sql), ==, 500);
	free(sql);
	CHECK_INT(count(d, "SELECT count(*) FROM audit WHERE code IS NOT "
			   "NULL"),
		  ==, 0);
	CHECK_INT(count(d, "SELECT count(*) FROM audit WHERE files = "
			   "'[\"a.csv\",\"b\\\"c.txt\"]'"),
		  ==, 1);
	CHECK_INT(count(d, "SELECT executions FROM sessions"), ==, 500);
	CHECK_INT(count(d, "SELECT cpu_ms FROM sessions"), ==, 1500);
	CHECK_INT(count(d, "SELECT count(*) FROM sessions WHERE end_reason = "
			   "'deleted' AND ended_at IS NOT NULL"),
		  ==, 1);
	CHECK_INT(count(d, "SELECT count(*) FROM audit WHERE agent = "
			   "'agent?x' AND run = 'run' AND thread IS NULL"),
		  ==, 501);
	audit_stop(a);
	rmrf(d);
}

TEST(audit_prunes_and_stores_code)
{
	char *d = tmpdir();
	struct audit *a = NULL;
	struct sp_err err = {0};
	struct audit_row row = {
		.principal = "p",
		.pool = "default",
		.op = AUDIT_OP_EXECUTE,
		.status = AUDIT_FAILED,
		.error_code = "Timeout",
		.duration_ms = -1,
		.cpu_ms = -1,
		.peak_mem = -1,
		.code = "while True: pass",
		.code_len = 16,
		.bytes_in = -1,
		.bytes_out = -1,
	};

	CHECK_INT(audit_start(d, true, 2, &a, &err), ==, 0);
	row.ts_ms = wall_ms() - 3 * 86400 * 1000ull;
	audit_record(a, &row);
	row.ts_ms = 0;
	audit_record(a, &row);
	CHECK_INT(audit_flush(a, 10000), ==, 0);
	audit_stop(a);
	CHECK_INT(count(d, "SELECT count(*) FROM audit WHERE code = "
			   "'while True: pass'"),
		  ==, 2);
	CHECK_INT(count(d, "SELECT count(*) FROM audit WHERE duration_ms IS "
			   "NULL AND error_code = 'Timeout'"),
		  ==, 2);
	/* The next start prunes the 3-day-old row (retention 2 days). */
	CHECK_INT(audit_start(d, true, 2, &a, &err), ==, 0);
	CHECK_INT(audit_flush(a, 10000), ==, 0);
	usleep(200 * 1000);
	audit_stop(a);
	CHECK_INT(count(d, "SELECT count(*) FROM audit"), ==, 1);
	rmrf(d);
}

T_MAIN()
