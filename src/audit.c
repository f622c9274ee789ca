// SPDX-License-Identifier: MIT
/*
 * audit.c: the audit writer.  Request-path callers copy a row into a
 * queue under a mutex (audit_record); one writer thread takes up to
 * AUDIT_BATCH rows at a time and writes them in one transaction on its
 * own SQLite connection, so a burst of executions costs them a malloc and
 * a memcpy each, not a disk write.  The queue is capped in rows and
 * bytes; past the cap a row is dropped and counted, never waited for
 * (a stalled disk must not stall executions).  The writer also hashes the
 * code (SHA-256), keeps the code text only with audit.store_code, keeps
 * the sessions table's activity columns current, and prunes rows older
 * than audit.retention_days at start and every hour.
 *
 * Lock order: sp->lock (callers may hold it) before a->mu; the writer
 * never takes sp->lock.
 */
#define _GNU_SOURCE
#include "audit.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "store.h"

#define PRUNE_EVERY_MS (3600 * 1000ull)
#define DAY_MS (86400 * 1000ull)

enum entry_kind { E_ROW, E_SESSION_START, E_SESSION_END };

/* A queued row: owned copies of everything. */
struct entry {
	struct entry *next;
	enum entry_kind kind;
	size_t bytes; /* counted against AUDIT_QUEUE_BYTES */
	int64_t ts;
	char *principal, *pool, *identifier, *sid, *exec_id, *op, *status;
	char *error_code, *code, *files, *reason;
	size_t code_len;
	char *agent, *thread, *run, *client;
	int http_status;
	int64_t duration_ms, cpu_ms, peak_mem, bytes_in, bytes_out;
	uint64_t req;
};

struct audit {
	struct store *st;
	bool store_code;
	uint32_t retention_days;
	pthread_t thread;
	bool running;

	pthread_mutex_t mu;
	pthread_cond_t wake;    /* the writer: work or stop */
	pthread_cond_t flushed; /* audit_flush waiters */
	struct entry *head, *tail;
	uint32_t qrows;
	size_t qbytes;
	bool stop;
	uint64_t enqueued; /* entries accepted so far */
	uint64_t done;     /* entries the writer has finished with */
	uint64_t dropped;  /* rows refused (queue full) or failed */
	uint64_t written;  /* audit rows committed (not session entries) */

	/* writer-only */
	sqlite3_stmt *ins_row, *ins_sess, *end_sess, *upd_sess;
	uint64_t next_prune_ms;
};

/* ------------------------------------------------------------------ */
/* queue side (any thread)                                             */
/* ------------------------------------------------------------------ */

static char *
dup_or_null(const char *s, size_t *bytes)
{
	if (s == NULL)
		return NULL;
	*bytes += strlen(s) + 1;
	return xstrdup(s);
}

static char *
dup_nonempty(const char *s, size_t *bytes)
{
	return s && s[0] ? dup_or_null(s, bytes) : NULL;
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free(e->principal);
	free(e->pool);
	free(e->identifier);
	free(e->sid);
	free(e->exec_id);
	free(e->op);
	free(e->status);
	free(e->error_code);
	free(e->code);
	free(e->files);
	free(e->reason);
	free(e->agent);
	free(e->thread);
	free(e->run);
	free(e->client);
	free(e);
}

/* Queue e, or drop it when the queue is full.  Takes ownership. */
static void
enqueue(struct audit *a, struct entry *e)
{
	bool drop;

	e->bytes += sizeof(*e);
	pthread_mutex_lock(&a->mu);
	drop = a->stop || a->qrows >= AUDIT_QUEUE_ROWS ||
	       a->qbytes + e->bytes > AUDIT_QUEUE_BYTES;
	if (drop) {
		/* Count it; warn at powers of two so a stalled disk does
		 * not also flood the log. */
		uint64_t n = ++a->dropped;

		pthread_mutex_unlock(&a->mu);
		if ((n & (n - 1)) == 0)
			log_warnx("audit queue full: %llu rows dropped so far",
				  (unsigned long long)n);
		entry_free(e);
		return;
	}
	if (a->tail)
		a->tail->next = e;
	else
		a->head = e;
	a->tail = e;
	a->qrows++;
	a->qbytes += e->bytes;
	a->enqueued++;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->mu);
}

static char *
files_json(const char *const *files, size_t n, size_t *bytes)
{
	json_t *arr;
	char *s;
	size_t i;

	if (files == NULL || n == 0)
		return NULL;
	arr = json_array();
	for (i = 0; i < n; i++)
		if (files[i])
			json_array_append_new(arr, json_string(files[i]));
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (s) {
		/* jansson allocates with malloc: hand it over as is. */
		*bytes += strlen(s) + 1;
	}
	return s;
}

void
audit_record(struct audit *a, const struct audit_row *r)
{
	struct entry *e;
	size_t b = 0;

	if (a == NULL)
		return;
	e = xcalloc(1, sizeof(*e));
	e->kind = E_ROW;
	e->ts = (int64_t)(r->ts_ms ? r->ts_ms : wall_ms());
	e->principal = dup_or_null(r->principal ? r->principal : "", &b);
	e->pool = dup_or_null(r->pool ? r->pool : "", &b);
	e->identifier = dup_or_null(r->identifier, &b);
	e->sid = dup_nonempty(r->sid, &b);
	e->exec_id = dup_nonempty(r->exec_id, &b);
	e->op = dup_or_null(r->op ? r->op : "unknown", &b);
	e->status = dup_or_null(r->status ? r->status : AUDIT_ERROR, &b);
	e->error_code = dup_nonempty(r->error_code, &b);
	if (r->code) {
		e->code = xstrndup(r->code, r->code_len);
		e->code_len = r->code_len;
		b += r->code_len + 1;
	}
	e->files = files_json(r->files, r->nfiles, &b);
	if (r->ctx) {
		e->agent = dup_nonempty(r->ctx->agent, &b);
		e->thread = dup_nonempty(r->ctx->thread, &b);
		e->run = dup_nonempty(r->ctx->run, &b);
		e->client = dup_nonempty(r->ctx->client, &b);
	}
	e->http_status = r->http_status;
	e->duration_ms = r->duration_ms;
	e->cpu_ms = r->cpu_ms;
	e->peak_mem = r->peak_mem;
	e->bytes_in = r->bytes_in;
	e->bytes_out = r->bytes_out;
	e->req = r->req_id;
	e->bytes = b;
	enqueue(a, e);
}

void
audit_session_start(struct audit *a, const char *sid, const char *principal,
		    const char *pool, const char *identifier, uint64_t wall)
{
	struct entry *e;
	size_t b = 0;

	if (a == NULL)
		return;
	e = xcalloc(1, sizeof(*e));
	e->kind = E_SESSION_START;
	e->ts = (int64_t)wall;
	e->sid = dup_or_null(sid, &b);
	e->principal = dup_or_null(principal, &b);
	e->pool = dup_or_null(pool, &b);
	e->identifier = dup_or_null(identifier, &b);
	e->bytes = b;
	enqueue(a, e);
}

void
audit_session_end(struct audit *a, const char *sid, uint64_t wall,
		  const char *reason)
{
	struct entry *e;
	size_t b = 0;

	if (a == NULL)
		return;
	e = xcalloc(1, sizeof(*e));
	e->kind = E_SESSION_END;
	e->ts = (int64_t)wall;
	e->sid = dup_or_null(sid, &b);
	e->reason = dup_or_null(reason, &b);
	e->bytes = b;
	enqueue(a, e);
}

void
audit_ctx_set(struct audit_ctx *ctx, const char *agent, const char *thread,
	      const char *run)
{
	const char *src[3] = {agent, thread, run};
	char *dst[3] = {ctx->agent, ctx->thread, ctx->run};
	size_t i, k;

	for (i = 0; i < 3; i++) {
		snprintf(dst[i], AUDIT_CTX_MAX, "%s", src[i] ? src[i] : "");
		for (k = 0; dst[i][k]; k++)
			if ((unsigned char)dst[i][k] < 0x20 ||
			    dst[i][k] == 0x7f)
				dst[i][k] = '?';
	}
}

void
audit_ctx_client(struct audit_ctx *ctx, const char *name, const char *version)
{
	size_t k;

	if (name == NULL && version == NULL) {
		ctx->client[0] = '\0';
		return;
	}
	snprintf(ctx->client, sizeof(ctx->client), "%s%s%s", name ? name : "",
		 version ? "/" : "", version ? version : "");
	for (k = 0; ctx->client[k]; k++)
		if ((unsigned char)ctx->client[k] < 0x20 ||
		    ctx->client[k] == 0x7f)
			ctx->client[k] = '?';
}

/* ------------------------------------------------------------------ */
/* writer thread                                                       */
/* ------------------------------------------------------------------ */

static void
bind_text(sqlite3_stmt *q, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, i);
}

static void
bind_num(sqlite3_stmt *q, int i, int64_t v)
{
	if (v >= 0)
		sqlite3_bind_int64(q, i, v);
	else
		sqlite3_bind_null(q, i);
}

static int
step_reset(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);

	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int
write_row(struct audit *a, struct entry *e)
{
	sqlite3_stmt *q = a->ins_row;
	char sha[65];
	int rc;

	bind_num(q, 1, e->ts);
	bind_text(q, 2, e->principal);
	bind_text(q, 3, e->pool);
	bind_text(q, 4, e->identifier);
	bind_text(q, 5, e->sid);
	bind_text(q, 6, e->exec_id);
	bind_text(q, 7, e->op);
	bind_text(q, 8, e->status);
	bind_text(q, 9, e->error_code);
	bind_num(q, 10, e->http_status > 0 ? e->http_status : -1);
	bind_num(q, 11, e->duration_ms);
	bind_num(q, 12, e->cpu_ms);
	bind_num(q, 13, e->peak_mem);
	if (e->code) {
		store_sha256_hex(e->code, e->code_len, sha);
		bind_text(q, 14, sha);
		bind_num(q, 15, (int64_t)e->code_len);
		if (a->store_code)
			sqlite3_bind_text(q, 16, e->code, (int)e->code_len,
					  SQLITE_STATIC);
	}
	bind_num(q, 17, e->bytes_in);
	bind_num(q, 18, e->bytes_out);
	bind_text(q, 19, e->files);
	bind_text(q, 20, e->agent);
	bind_text(q, 21, e->thread);
	bind_text(q, 22, e->run);
	bind_text(q, 23, e->client);
	bind_num(q, 24, e->req ? (int64_t)e->req : -1);
	rc = step_reset(q);
	if (rc == 0 && e->sid &&
	    (strcmp(e->op, AUDIT_OP_EXECUTE) == 0 ||
	     strcmp(e->op, AUDIT_OP_SHELL) == 0)) {
		q = a->upd_sess;
		sqlite3_bind_int64(q, 1, e->ts);
		sqlite3_bind_int64(q, 2, e->cpu_ms > 0 ? e->cpu_ms : 0);
		bind_text(q, 3, e->sid);
		rc = step_reset(q);
	}
	return rc;
}

static int
write_entry(struct audit *a, struct entry *e)
{
	sqlite3_stmt *q;

	switch (e->kind) {
	case E_ROW:
		return write_row(a, e);
	case E_SESSION_START:
		q = a->ins_sess;
		bind_text(q, 1, e->sid);
		bind_text(q, 2, e->principal);
		bind_text(q, 3, e->pool);
		bind_text(q, 4, e->identifier);
		sqlite3_bind_int64(q, 5, e->ts);
		return step_reset(q);
	case E_SESSION_END:
		q = a->end_sess;
		sqlite3_bind_int64(q, 1, e->ts);
		bind_text(q, 2, e->reason);
		bind_text(q, 3, e->sid);
		return step_reset(q);
	}
	return -EINVAL;
}

/* Write a batch in one transaction.  Returns the entries written;
 * *rows gets how many of them were audit rows. */
static uint32_t
write_batch(struct audit *a, struct entry *batch, uint32_t n, uint32_t *rows)
{
	sqlite3 *db = store_db(a->st);
	struct entry *e;
	uint32_t ok = 0;

	*rows = 0;
	store_lock(a->st);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		log_warnx("audit: cannot start a transaction: %s; %u rows "
			  "lost",
			  sqlite3_errmsg(db), n);
		store_unlock(a->st);
		return 0;
	}
	for (e = batch; e; e = e->next) {
		if (write_entry(a, e) == 0) {
			ok++;
			*rows += e->kind == E_ROW;
		} else {
			log_warnx("audit: writing a row: %s",
				  sqlite3_errmsg(db));
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("audit: commit failed: %s; %u rows lost",
			  sqlite3_errmsg(db), n);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		ok = *rows = 0;
	}
	store_unlock(a->st);
	return ok;
}

static void
prune(struct audit *a)
{
	sqlite3 *db = store_db(a->st);
	uint64_t cut = wall_ms() - (uint64_t)a->retention_days * DAY_MS;
	sqlite3_stmt *q = NULL;
	int audit_rows = 0, sess_rows = 0;

	store_lock(a->st);
	if (sqlite3_prepare_v2(db, "DELETE FROM audit WHERE ts < ?1", -1, &q,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)cut);
		if (sqlite3_step(q) == SQLITE_DONE)
			audit_rows = sqlite3_changes(db);
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(db,
			       "DELETE FROM sessions WHERE ended_at IS NOT "
			       "NULL AND ended_at < ?1",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (int64_t)cut);
		if (sqlite3_step(q) == SQLITE_DONE)
			sess_rows = sqlite3_changes(db);
	}
	sqlite3_finalize(q);
	store_unlock(a->st);
	if (audit_rows || sess_rows)
		log_info("audit: pruned %d rows and %d sessions older than %u "
			 "days",
			 audit_rows, sess_rows, a->retention_days);
}

static void
deadline(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
writer_main(void *arg)
{
	struct audit *a = arg;

	prune(a);
	a->next_prune_ms = now_ms() + PRUNE_EVERY_MS;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		struct entry *batch, *e;
		uint32_t n = 0, ok, rows = 0;
		uint64_t now = now_ms();

		while (a->head == NULL && !a->stop && now < a->next_prune_ms) {
			struct timespec ts;

			deadline(&ts, a->next_prune_ms - now);
			pthread_cond_timedwait(&a->wake, &a->mu, &ts);
			now = now_ms();
		}
		if (a->head == NULL && a->stop)
			break;
		/* Take up to AUDIT_BATCH entries off the queue. */
		batch = a->head;
		for (e = batch; e && n < AUDIT_BATCH - 1; e = e->next)
			n++;
		if (e) {
			a->head = e->next;
			e->next = NULL;
			n++;
		} else {
			a->head = NULL;
		}
		if (a->head == NULL)
			a->tail = NULL;
		for (e = batch; e; e = e->next) {
			a->qrows--;
			a->qbytes -= e->bytes;
		}
		pthread_mutex_unlock(&a->mu);

		ok = batch ? write_batch(a, batch, n, &rows) : 0;
		while ((e = batch) != NULL) {
			batch = e->next;
			entry_free(e);
		}
		if (now_ms() >= a->next_prune_ms) {
			prune(a);
			a->next_prune_ms = now_ms() + PRUNE_EVERY_MS;
		}

		pthread_mutex_lock(&a->mu);
		a->written += rows;
		a->dropped += n - ok;
		a->done += n;
		pthread_cond_broadcast(&a->flushed);
	}
	a->done = a->enqueued;
	pthread_cond_broadcast(&a->flushed);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* lifecycle                                                           */
/* ------------------------------------------------------------------ */

static const char ins_row_sql[] =
	"INSERT INTO audit (ts, principal, pool, identifier, sid, exec_id, "
	"op, status, error_code, http_status, duration_ms, cpu_ms, peak_mem, "
	"code_sha256, code_size, code, bytes_in, bytes_out, files, agent, "
	"thread, run, client, req) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	"?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
	"?22, ?23, ?24)";

static int
prepare(sqlite3 *db, const char *sql, sqlite3_stmt **q)
{
	return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, q,
				  NULL) == SQLITE_OK
		       ? 0
		       : -EIO;
}

static void
audit_free(struct audit *a)
{
	sqlite3_finalize(a->ins_row);
	sqlite3_finalize(a->ins_sess);
	sqlite3_finalize(a->end_sess);
	sqlite3_finalize(a->upd_sess);
	store_close(a->st);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->wake);
	pthread_cond_destroy(&a->flushed);
	free(a);
}

int
audit_start(const char *state_dir, bool store_code, uint32_t retention_days,
	    struct audit **out, struct sp_err *err)
{
	struct audit *a = xcalloc(1, sizeof(*a));
	pthread_condattr_t ca;
	sqlite3 *db;
	int rc;

	*out = NULL;
	a->store_code = store_code;
	a->retention_days = retention_days ? retention_days : 1;
	pthread_mutex_init(&a->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_cond_init(&a->flushed, &ca);
	pthread_condattr_destroy(&ca);
	rc = store_open(state_dir, STORE_CREATE, &a->st, err);
	if (rc < 0)
		goto fail;
	db = store_db(a->st);
	if (prepare(db, ins_row_sql, &a->ins_row) < 0 ||
	    prepare(db,
		    "INSERT OR REPLACE INTO sessions (sid, principal, pool, "
		    "identifier, started_at, last_active_at) VALUES (?1, ?2, "
		    "?3, ?4, ?5, ?5)",
		    &a->ins_sess) < 0 ||
	    prepare(db,
		    "UPDATE sessions SET ended_at = ?1, end_reason = ?2, "
		    "last_active_at = max(last_active_at, ?1) WHERE sid = ?3 "
		    "AND ended_at IS NULL",
		    &a->end_sess) < 0 ||
	    prepare(db,
		    "UPDATE sessions SET last_active_at = max(last_active_at, "
		    "?1), executions = executions + 1, cpu_ms = cpu_ms + ?2 "
		    "WHERE sid = ?3",
		    &a->upd_sess) < 0) {
		rc = sp_errf(err, 500, "StoreError",
			     "preparing the audit statements: %s",
			     sqlite3_errmsg(db));
		goto fail;
	}
	/* A previous run that stopped without closing its sessions (a
	 * crash, SIGKILL): they ended when they were last seen active. */
	if (sqlite3_exec(db,
			 "UPDATE sessions SET ended_at = last_active_at, "
			 "end_reason = 'server restart' "
			 "WHERE ended_at IS NULL",
			 NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("audit: closing old sessions: %s",
			  sqlite3_errmsg(db));
	rc = -pthread_create(&a->thread, NULL, writer_main, a);
	if (rc < 0) {
		sp_errf(err, 500, "StoreError",
			"cannot start the audit writer: %s", strerror(-rc));
		goto fail;
	}
	a->running = true;
	*out = a;
	return 0;
fail:
	audit_free(a);
	return rc < 0 ? rc : -EIO;
}

void
audit_stop(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->running) {
		pthread_mutex_lock(&a->mu);
		a->stop = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	audit_free(a);
}

int
audit_flush(struct audit *a, uint32_t timeout_ms)
{
	struct timespec ts;
	uint64_t want;
	int rc = 0;

	if (a == NULL)
		return 0;
	deadline(&ts, timeout_ms);
	pthread_mutex_lock(&a->mu);
	want = a->enqueued;
	while (a->done < want && rc == 0)
		rc = pthread_cond_timedwait(&a->flushed, &a->mu, &ts);
	rc = a->done >= want ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

uint64_t
audit_dropped(struct audit *a)
{
	uint64_t n;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = a->dropped;
	pthread_mutex_unlock(&a->mu);
	return n;
}

uint64_t
audit_written(struct audit *a)
{
	uint64_t n;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&a->mu);
	n = a->written;
	pthread_mutex_unlock(&a->mu);
	return n;
}
