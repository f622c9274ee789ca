/* SPDX-License-Identifier: MIT */
/*
 * store.h: the SQLite database at <state>/sandpool.db.  It holds the API
 * keys created with `sandpool keys create` (as salted SHA-256 hashes), the
 * audit log and the session lifetimes that usage is computed from.  The
 * file is in WAL mode, so the server (one writer thread plus readers) and
 * the admin CLI may use it at the same time; the schema version is kept in
 * the file (PRAGMA user_version) and migrated forward on open.
 *
 * A struct store is one connection.  Calls on one store are serialised by
 * its mutex, so it may be shared between threads; the audit writer opens
 * its own.
 */
#ifndef SANDPOOL_STORE_H
#define SANDPOOL_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct store;
struct sqlite3;

#define STORE_FILE "sandpool.db"
#define STORE_SCHEMA_VERSION 1

/* store_open flags */
#define STORE_CREATE 1 /* create the state directory and the file */

/* Key format: "sp_" + 12 hex (the public key id) + "_" + 64 hex. */
#define STORE_KEY_ID_HEX 12
#define STORE_KEY_LEN (3 + STORE_KEY_ID_HEX + 1 + 64)
#define STORE_NAME_MAX 63

/*
 * Open (and with STORE_CREATE create) <state_dir>/sandpool.db, switch it
 * to WAL, set a busy timeout, and migrate the schema to
 * STORE_SCHEMA_VERSION.  A file with a newer schema is refused.  Returns 0
 * and *out, or -errno with a message in err.  Blocks on disk I/O.
 */
int store_open(const char *state_dir, unsigned flags, struct store **out,
	       struct sp_err *err);
/* Close the connection (finalising its statements).  NULL is a no-op. */
void store_close(struct store *st);

/* The raw connection and its mutex, for audit.c and store_query.c; hold
 * the lock (store_lock/store_unlock) while using it. */
struct sqlite3 *store_db(struct store *st);
void store_lock(struct store *st);
void store_unlock(struct store *st);

/* SHA-256 of p[0..n) into out (32 bytes) / as 64 hex chars + NUL. */
void store_sha256(const void *p, size_t n, unsigned char out[32]);
void store_sha256_hex(const void *p, size_t n, char out[65]);

/* 1 if name is a valid key or pool name: 1..63 of A-Z a-z 0-9 _ -. */
int store_name_ok(const char *name);

/* ---- keys ---- */

/* What a stored key grants. */
struct store_key {
	char id[STORE_KEY_ID_HEX + 1];
	char name[STORE_NAME_MAX + 1]; /* the principal */
	unsigned scopes;               /* AUTH_SCOPE_* bits */
	char pool[STORE_NAME_MAX + 1]; /* "" = every pool */
	int64_t created_ms;            /* ms since the epoch */
	int64_t revoked_ms;            /* 0 = active */
};

/*
 * Create a key for principal name with scopes (non-zero AUTH_SCOPE_*
 * bits) restricted to pool (NULL or "" for all).  Writes the key text
 * (STORE_KEY_LEN chars + NUL) into key_out; only its salted hash is
 * stored, so this is the one time it can be seen.  Returns 0, or -EINVAL
 * (bad name or pool) / -EIO with err set.
 */
int store_key_create(struct store *st, const char *name, unsigned scopes,
		     const char *pool, char *key_out, size_t key_sz,
		     struct store_key *info, struct sp_err *err);

/*
 * Check a presented key.  Returns 0 and fills *info for an active key
 * whose hash matches (compared in constant time); -ENOENT when the text is
 * not a stored key, a hash mismatch or a revoked key; -EIO when the
 * database cannot be read.  Does a hash even for an unknown id so the
 * timing does not tell ids apart.  Never logs the key.
 */
int store_key_verify(struct store *st, const char *key, size_t len,
		     struct store_key *info);

/*
 * Revoke every active key named name, or the key whose id is name.
 * Returns the number revoked (0 when none matched) or -EIO.  A running
 * server sees the revocation on the next request.
 */
int store_key_revoke(struct store *st, const char *name, struct sp_err *err);

/* Every key, active and revoked, oldest first, as a JSON array of
 * {"id","name","scopes","pool","created","revoked"}.  New reference, or
 * NULL with err set. */
json_t *store_key_list(struct store *st, struct sp_err *err);

/*
 * 1 if the keys table has ever held a row (revoked ones count, so that
 * revoking the last key never turns authentication off), 0 if not, or
 * -EIO.  once_seen caches a 1: keys are never deleted.
 */
int store_keys_exist(struct store *st);
/* Number of active keys, or -EIO. */
int store_keys_active(struct store *st);

/* ---- audit and usage queries (store_query.c), for the CLI ---- */

struct store_audit_filter {
	const char *session; /* identifier or internal session id */
	const char *principal;
	const char *status; /* Succeeded, Failed, Error */
	int64_t since_ms;   /* 0 = all */
	uint32_t limit;     /* rows, newest last; 0 = 1000 */
};

/* Audit rows matching f, oldest first, as a JSON array of objects (one
 * key per column; absent values are null).  New reference or NULL. */
json_t *store_audit_query(struct store *st, const struct store_audit_filter *f,
			  struct sp_err *err);

/*
 * Usage since since_ms (0 = all), grouped by "principal" or "pool": a
 * JSON array of {"principal"|"pool", "sessions", "session_seconds",
 * "executions", "failed", "cpu_seconds"}.  now_ms closes open sessions.
 */
json_t *store_usage_query(struct store *st, int64_t since_ms, int64_t now_ms,
			  bool by_pool, struct sp_err *err);

#endif
