// SPDX-License-Identifier: MIT
/*
 * store.c: the SQLite database <state>/sandpool.db: opening it in WAL
 * mode, the versioned schema (PRAGMA user_version, one migration per
 * version, each in its own transaction), and the API keys.  Used by the
 * server (auth on HTTP threads, the audit writer) and by the admin CLI
 * (`sandpool keys|audit|usage`), which may run while the server does.
 *
 * Keys.  A key is "sp_<id>_<secret>": the 12-hex id is public and selects
 * the row; the row holds a 16-byte random salt and SHA-256(salt || key).
 * Keys are 256-bit random, so a fast salted hash is enough (a slow KDF
 * protects guessable passwords, and would cost every request); the hash
 * is compared with ct_equal().  SHA-256 comes from OpenSSL's libcrypto
 * (libssl-dev): the OpenSSL build of libcurl we already link loads
 * libcrypto.so.3 anyway, so this adds no new library to the process,
 * while hand-rolling a hash would add code to audit.  libmicrohttpd and
 * sqlite export no SHA-256.
 */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

#define SALT_LEN 16
#define BUSY_MS 5000 /* wait this long for another writer (the CLI) */

struct store {
	sqlite3 *db;
	pthread_mutex_t mu;
	sqlite3_stmt *key_get;
	sqlite3_stmt *key_any;
	bool keys_seen; /* cached "a key row exists": rows are never deleted */
};

/*
 * The schema, one entry per version: migrations[i] takes the file from
 * user_version i to i + 1.  Never edit a shipped entry; append a new one.
 */
static const char *const migrations[] = {
	/* 1: keys, audit rows, session lifetimes */
	"CREATE TABLE keys ("
	" id TEXT PRIMARY KEY," /* public key id, part of the key */
	" name TEXT NOT NULL,"  /* the principal */
	" salt BLOB NOT NULL,"
	" hash BLOB NOT NULL,"          /* SHA-256(salt || key) */
	" scopes TEXT NOT NULL,"        /* e.g. "execute,files" */
	" pool TEXT,"                   /* NULL = every pool */
	" created_at INTEGER NOT NULL," /* ms since the epoch */
	" revoked_at INTEGER);"         /* NULL = active */
	"CREATE INDEX keys_name ON keys(name);"
	"CREATE TABLE audit ("
	" id INTEGER PRIMARY KEY,"
	" ts INTEGER NOT NULL," /* ms since the epoch, at the end */
	" principal TEXT NOT NULL,"
	" pool TEXT NOT NULL,"
	" identifier TEXT," /* the client's session identifier */
	" sid TEXT,"        /* our session id (etag) */
	" exec_id TEXT,"
	" op TEXT NOT NULL,"     /* execute, shell, file.upload, ... */
	" status TEXT NOT NULL," /* Succeeded, Failed, Error */
	" error_code TEXT,"
	" http_status INTEGER,"
	" duration_ms INTEGER,"
	" cpu_ms INTEGER,"
	" peak_mem INTEGER," /* bytes */
	" code_sha256 TEXT,"
	" code_size INTEGER,"
	" code TEXT," /* only with audit.store_code */
	" bytes_in INTEGER,"
	" bytes_out INTEGER,"
	" files TEXT," /* JSON array of names */
	" agent TEXT, thread TEXT, run TEXT, client TEXT,"
	" req INTEGER);"
	"CREATE INDEX audit_ts ON audit(ts);"
	"CREATE INDEX audit_principal ON audit(principal, ts);"
	"CREATE INDEX audit_identifier ON audit(identifier, ts);"
	"CREATE TABLE sessions ("
	" sid TEXT PRIMARY KEY,"
	" principal TEXT NOT NULL,"
	" pool TEXT NOT NULL,"
	" identifier TEXT NOT NULL,"
	" started_at INTEGER NOT NULL," /* ms since the epoch */
	" last_active_at INTEGER NOT NULL,"
	" ended_at INTEGER," /* NULL while it lives */
	" end_reason TEXT,"
	" executions INTEGER NOT NULL DEFAULT 0,"
	" cpu_ms INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_ended ON sessions(ended_at);",
};

/* ------------------------------------------------------------------ */
/* helpers                                                             */
/* ------------------------------------------------------------------ */

void
store_sha256(const void *p, size_t n, unsigned char out[32])
{
	SHA256(p, n, out);
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
store_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];

	store_sha256(p, n, md);
	hex(md, sizeof(md), out);
}

int
store_name_ok(const char *name)
{
	size_t i, n = name ? strlen(name) : 0;

	if (n == 0 || n > STORE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
db_err(struct store *st, struct sp_err *err, const char *what)
{
	return sp_errf(err, 500, "StoreError", "%s: %s", what,
		       st->db ? sqlite3_errmsg(st->db) : "no database");
}

/* Run SQL with no result rows. */
static int
exec_sql(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int
user_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *q = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) ==
		    SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		*out = sqlite3_column_int(q, 0);
		rc = 0;
	}
	sqlite3_finalize(q);
	return rc;
}

/*
 * Bring the schema up to date.  Each step runs in a BEGIN IMMEDIATE
 * transaction that re-reads user_version, so two processes opening a new
 * file at once migrate it once.
 */
static int
migrate(struct store *st, struct sp_err *err)
{
	int have = 0, target = (int)ARRAY_SIZE(migrations);
	char sql[64];

	ENSURE(target == STORE_SCHEMA_VERSION);
	for (;;) {
		if (exec_sql(st->db, "BEGIN IMMEDIATE") < 0)
			return db_err(st, err, "starting the migration");
		if (user_version(st->db, &have) < 0) {
			exec_sql(st->db, "ROLLBACK");
			return db_err(st, err, "reading the schema version");
		}
		if (have > target) {
			exec_sql(st->db, "ROLLBACK");
			return sp_errf(err, 500, "StoreError",
				       "%s has schema version %d, newer than "
				       "this sandpool's %d; upgrade sandpool",
				       STORE_FILE, have, target);
		}
		if (have == target) {
			exec_sql(st->db, "COMMIT");
			return 0;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 have + 1);
		if (exec_sql(st->db, migrations[have]) < 0 ||
		    exec_sql(st->db, sql) < 0) {
			int rc = db_err(st, err, "migrating the schema");

			exec_sql(st->db, "ROLLBACK");
			return rc;
		}
		if (exec_sql(st->db, "COMMIT") < 0)
			return db_err(st, err, "committing the migration");
	}
}

/* mkdir -p with mode 0700 for the last component. */
static int
make_dir(const char *dir)
{
	char tmp[1024];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------ */
/* open / close                                                        */
/* ------------------------------------------------------------------ */

int
store_open(const char *state_dir, unsigned flags, struct store **out,
	   struct sp_err *err)
{
	struct store *st = xcalloc(1, sizeof(*st));
	char *path = NULL;
	int rc, oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
	bool fresh;

	*out = NULL;
	pthread_mutex_init(&st->mu, NULL);
	if (flags & STORE_CREATE) {
		rc = make_dir(state_dir);
		if (rc < 0) {
			sp_errf(err, 500, "StoreError", "mkdir %s: %s",
				state_dir, strerror(-rc));
			goto fail;
		}
		oflags |= SQLITE_OPEN_CREATE;
	}
	path = xasprintf("%s/%s", state_dir, STORE_FILE);
	fresh = access(path, F_OK) < 0;
	if (fresh && !(flags & STORE_CREATE)) {
		rc = sp_errf(err, 404, "StoreNotFound",
			     "%s does not exist (is the state directory "
			     "right? see --state-dir)",
			     path);
		goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		rc = db_err(st, err, path);
		goto fail;
	}
	/* The file holds key hashes and possibly code: owner only.  SQLite
	 * gives -wal and -shm the same mode. */
	if (fresh && chmod(path, 0600) < 0) {
		rc = sp_errf(err, 500, "StoreError", "chmod %s: %s", path,
			     strerror(errno));
		goto fail;
	}
	sqlite3_busy_timeout(st->db, BUSY_MS);
	/* WAL: readers never block the writer; NORMAL sync is durable
	 * across a process crash and costs no fsync per commit. */
	if (exec_sql(st->db, "PRAGMA journal_mode=WAL") < 0 ||
	    exec_sql(st->db, "PRAGMA synchronous=NORMAL") < 0) {
		rc = db_err(st, err, "setting WAL mode");
		goto fail;
	}
	rc = migrate(st, err);
	if (rc < 0)
		goto fail;
	if (sqlite3_prepare_v3(st->db,
			       "SELECT name, scopes, pool, salt, hash, "
			       "revoked_at, created_at FROM keys WHERE id = ?1",
			       -1, SQLITE_PREPARE_PERSISTENT, &st->key_get,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->db, "SELECT 1 FROM keys LIMIT 1", -1,
			       SQLITE_PREPARE_PERSISTENT, &st->key_any,
			       NULL) != SQLITE_OK) {
		rc = db_err(st, err, "preparing statements");
		goto fail;
	}
	free(path);
	*out = st;
	return 0;
fail:
	free(path);
	store_close(st);
	return rc < 0 ? rc : -EIO;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->key_get);
	sqlite3_finalize(st->key_any);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

struct sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

void
store_lock(struct store *st)
{
	pthread_mutex_lock(&st->mu);
}

void
store_unlock(struct store *st)
{
	pthread_mutex_unlock(&st->mu);
}

/* ------------------------------------------------------------------ */
/* keys                                                                */
/* ------------------------------------------------------------------ */

static void
key_hash(const unsigned char salt[SALT_LEN], const char *key, size_t len,
	 unsigned char out[32])
{
	unsigned char buf[SALT_LEN + STORE_KEY_LEN];

	ENSURE(len <= STORE_KEY_LEN);
	memcpy(buf, salt, SALT_LEN);
	memcpy(buf + SALT_LEN, key, len);
	store_sha256(buf, SALT_LEN + len, out);
	explicit_bzero(buf, sizeof(buf));
}

static const char *
col_text(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	return t ? (const char *)t : "";
}

int
store_key_create(struct store *st, const char *name, unsigned scopes,
		 const char *pool, char *key_out, size_t key_sz,
		 struct store_key *info, struct sp_err *err)
{
	unsigned char salt[SALT_LEN], md[32];
	char id[STORE_KEY_ID_HEX + 1], secret[65], scope_text[64];
	sqlite3_stmt *q = NULL;
	int64_t now = (int64_t)wall_ms();
	int rc = 0;

	if (!store_name_ok(name))
		return sp_errf(err, 400, "InvalidName",
			       "key name \"%.64s\": use 1 to %d of A-Z a-z "
			       "0-9 _ -",
			       name ? name : "", STORE_NAME_MAX);
	if (pool && pool[0] && !store_name_ok(pool))
		return sp_errf(err, 400, "InvalidPool",
			       "pool \"%.64s\": use 1 to %d of A-Z a-z 0-9 "
			       "_ -",
			       pool, STORE_NAME_MAX);
	if (scopes == 0 || (scopes & ~AUTH_SCOPE_ALL) != 0)
		return sp_errf(err, 400, "InvalidScopes",
			       "a key needs at least one scope of "
			       "execute, files, admin");
	ENSURE(key_sz > STORE_KEY_LEN);
	auth_scopes_format(scopes, scope_text, sizeof(scope_text));
	random_hex(id, STORE_KEY_ID_HEX / 2);
	random_hex(secret, 32);
	snprintf(key_out, key_sz, "sp_%s_%s", id, secret);
	explicit_bzero(secret, sizeof(secret));
	random_bytes(salt, sizeof(salt));
	key_hash(salt, key_out, strlen(key_out), md);

	store_lock(st);
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO keys (id, name, salt, hash, "
			       "scopes, pool, created_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "creating the key");
		goto out;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, salt, sizeof(salt), SQLITE_STATIC);
	sqlite3_bind_blob(q, 4, md, sizeof(md), SQLITE_STATIC);
	sqlite3_bind_text(q, 5, scope_text, -1, SQLITE_STATIC);
	if (pool && pool[0])
		sqlite3_bind_text(q, 6, pool, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 6);
	sqlite3_bind_int64(q, 7, now);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(st, err, "creating the key");
		goto out;
	}
	st->keys_seen = true;
	if (info) {
		memset(info, 0, sizeof(*info));
		snprintf(info->id, sizeof(info->id), "%s", id);
		snprintf(info->name, sizeof(info->name), "%s", name);
		snprintf(info->pool, sizeof(info->pool), "%s",
			 pool ? pool : "");
		info->scopes = scopes;
		info->created_ms = now;
	}
out:
	sqlite3_finalize(q);
	store_unlock(st);
	if (rc < 0)
		explicit_bzero(key_out, key_sz);
	return rc;
}

int
store_key_verify(struct store *st, const char *key, size_t len,
		 struct store_key *info)
{
	static const unsigned char dummy_salt[SALT_LEN];
	unsigned char md[32];
	const void *salt = NULL, *hash = NULL;
	char id[STORE_KEY_ID_HEX + 1];
	sqlite3_stmt *q = st->key_get;
	int rc = -ENOENT, step, match;

	if (len != STORE_KEY_LEN || memcmp(key, "sp_", 3) != 0 ||
	    key[3 + STORE_KEY_ID_HEX] != '_' ||
	    !is_hex(key + 3, STORE_KEY_ID_HEX) ||
	    !is_hex(key + 4 + STORE_KEY_ID_HEX, 64))
		return -ENOENT;
	memcpy(id, key + 3, STORE_KEY_ID_HEX);
	id[STORE_KEY_ID_HEX] = '\0';

	store_lock(st);
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(q);
	if (step == SQLITE_ROW && sqlite3_column_bytes(q, 3) == SALT_LEN &&
	    sqlite3_column_bytes(q, 4) == 32) {
		salt = sqlite3_column_blob(q, 3);
		hash = sqlite3_column_blob(q, 4);
	} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = -EIO;
	}
	/* Hash even when the id is unknown: equal work either way. */
	key_hash(salt ? salt : dummy_salt, key, len, md);
	match = hash ? ct_equal(md, sizeof(md), hash, 32) : 0;
	if (match && sqlite3_column_type(q, 5) == SQLITE_NULL) {
		memset(info, 0, sizeof(*info));
		snprintf(info->id, sizeof(info->id), "%s", id);
		snprintf(info->name, sizeof(info->name), "%s", col_text(q, 0));
		if (auth_scopes_parse(col_text(q, 1), &info->scopes, NULL) < 0)
			info->scopes = 0;
		snprintf(info->pool, sizeof(info->pool), "%s", col_text(q, 2));
		info->created_ms = sqlite3_column_int64(q, 6);
		rc = store_name_ok(info->name) ? 0 : -ENOENT;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	store_unlock(st);
	explicit_bzero(md, sizeof(md));
	return rc;
}

int
store_key_revoke(struct store *st, const char *name, struct sp_err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	store_lock(st);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE keys SET revoked_at = ?1 "
			       "WHERE revoked_at IS NULL "
			       "AND (name = ?2 OR id = ?2)",
			       -1, &q, NULL) != SQLITE_OK) {
		rc = db_err(st, err, "revoking");
		goto out;
	}
	sqlite3_bind_int64(q, 1, (int64_t)wall_ms());
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = db_err(st, err, "revoking");
		goto out;
	}
	rc = sqlite3_changes(st->db);
out:
	sqlite3_finalize(q);
	store_unlock(st);
	return rc;
}

static json_t *
time_or_null(sqlite3_stmt *q, int col)
{
	char t[40];

	if (sqlite3_column_type(q, col) == SQLITE_NULL)
		return json_null();
	fmt_time_rfc3339((uint64_t)sqlite3_column_int64(q, col), t, sizeof(t));
	return json_string(t);
}

json_t *
store_key_list(struct store *st, struct sp_err *err)
{
	sqlite3_stmt *q = NULL;
	json_t *arr = json_array();
	int step;

	store_lock(st);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, name, scopes, pool, created_at, "
			       "revoked_at FROM keys ORDER BY created_at, id",
			       -1, &q, NULL) != SQLITE_OK)
		goto bad;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		json_t *pool = sqlite3_column_type(q, 3) == SQLITE_NULL
				       ? json_null()
				       : json_string(col_text(q, 3));

		json_array_append_new(
			arr, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "id",
				       col_text(q, 0), "name", col_text(q, 1),
				       "scopes", col_text(q, 2), "pool", pool,
				       "created", time_or_null(q, 4), "revoked",
				       time_or_null(q, 5)));
	}
	if (step != SQLITE_DONE)
		goto bad;
	sqlite3_finalize(q);
	store_unlock(st);
	return arr;
bad:
	db_err(st, err, "listing keys");
	sqlite3_finalize(q);
	store_unlock(st);
	json_decref(arr);
	return NULL;
}

int
store_keys_exist(struct store *st)
{
	int rc, step;

	store_lock(st);
	if (st->keys_seen) {
		rc = 1;
	} else {
		step = sqlite3_step(st->key_any);
		rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : -EIO;
		sqlite3_reset(st->key_any);
		if (rc == 1)
			st->keys_seen = true;
	}
	store_unlock(st);
	return rc;
}

int
store_keys_active(struct store *st)
{
	sqlite3_stmt *q = NULL;
	int rc = -EIO;

	store_lock(st);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT count(*) FROM keys "
			       "WHERE revoked_at IS NULL",
			       -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		rc = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	store_unlock(st);
	return rc;
}
