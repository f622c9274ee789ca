// SPDX-License-Identifier: MIT
/*
 * store_query.c: reading the audit log and usage back out of the store,
 * for `sandpool audit` and `sandpool usage`.  Results are JSON arrays, the
 * one shape both the tables and --json are printed from.  Read-only: the
 * only writer of these tables is the server's audit thread (audit.c).
 *
 * Usage: session-seconds come from the sessions table (start to end,
 * clipped to [since, now]; a session still open counts up to now), CPU
 * seconds and execution counts from the audit rows.  Both are as old as
 * audit.retention_days allows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store.h"

#define DEFAULT_LIMIT 1000

/* Column names of the audit table, in SELECT order, and their kinds. */
static const struct {
	const char *name;
	enum { C_TEXT, C_INT, C_TIME, C_JSON } kind;
} audit_cols[] = {
	{"id", C_INT},          {"ts", C_TIME},         {"principal", C_TEXT},
	{"pool", C_TEXT},       {"identifier", C_TEXT}, {"sid", C_TEXT},
	{"exec_id", C_TEXT},    {"op", C_TEXT},         {"status", C_TEXT},
	{"error_code", C_TEXT}, {"http_status", C_INT}, {"duration_ms", C_INT},
	{"cpu_ms", C_INT},      {"peak_mem", C_INT},    {"code_sha256", C_TEXT},
	{"code_size", C_INT},   {"code", C_TEXT},       {"bytes_in", C_INT},
	{"bytes_out", C_INT},   {"files", C_JSON},      {"agent", C_TEXT},
	{"thread", C_TEXT},     {"run", C_TEXT},        {"client", C_TEXT},
	{"req", C_INT},
};

static json_t *
column(sqlite3_stmt *q, int i, int kind)
{
	char t[40];
	json_error_t jerr;
	json_t *v;

	if (sqlite3_column_type(q, i) == SQLITE_NULL)
		return json_null();
	switch (kind) {
	case C_INT:
		return json_integer(sqlite3_column_int64(q, i));
	case C_TIME:
		fmt_time_rfc3339((uint64_t)sqlite3_column_int64(q, i), t,
				 sizeof(t));
		return json_string(t);
	case C_JSON:
		v = json_loads((const char *)sqlite3_column_text(q, i), 0,
			       &jerr);
		return v ? v : json_null();
	default:
		break;
	}
	/* Text columns are ours, but may hold a client's bytes: keep them
	 * valid JSON strings whatever they are. */
	v = json_stringn((const char *)sqlite3_column_text(q, i),
			 (size_t)sqlite3_column_bytes(q, i));
	return v ? v : json_string("");
}

json_t *
store_audit_query(struct store *st, const struct store_audit_filter *f,
		  struct sp_err *err)
{
	struct buf sql;
	sqlite3_stmt *q = NULL;
	sqlite3 *db = store_db(st);
	json_t *arr = json_array();
	size_t i;
	int step, n = 0;
	uint32_t limit = f->limit ? f->limit : DEFAULT_LIMIT;

	buf_init(&sql, 4096);
	buf_printf(&sql, "SELECT * FROM (SELECT ");
	for (i = 0; i < ARRAY_SIZE(audit_cols); i++)
		buf_printf(&sql, "%s%s", i ? ", " : "", audit_cols[i].name);
	buf_printf(&sql, " FROM audit WHERE 1");
	if (f->session)
		buf_printf(&sql, " AND (identifier = ?1 OR sid = ?1)");
	if (f->principal)
		buf_printf(&sql, " AND principal = ?2");
	if (f->status)
		buf_printf(&sql, " AND status = ?3");
	if (f->since_ms > 0)
		buf_printf(&sql, " AND ts >= ?4");
	/* The newest `limit` rows, printed oldest first. */
	buf_printf(&sql, " ORDER BY ts DESC, id DESC LIMIT ?5) "
			 "ORDER BY ts, id");

	store_lock(st);
	if (sqlite3_prepare_v2(db, sql.data, -1, &q, NULL) != SQLITE_OK)
		goto bad;
	if (f->session)
		sqlite3_bind_text(q, 1, f->session, -1, SQLITE_STATIC);
	if (f->principal)
		sqlite3_bind_text(q, 2, f->principal, -1, SQLITE_STATIC);
	if (f->status)
		sqlite3_bind_text(q, 3, f->status, -1, SQLITE_STATIC);
	if (f->since_ms > 0)
		sqlite3_bind_int64(q, 4, f->since_ms);
	sqlite3_bind_int64(q, 5, limit);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		json_t *row = json_object();

		for (i = 0; i < ARRAY_SIZE(audit_cols); i++)
			json_object_set_new(
				row, audit_cols[i].name,
				column(q, (int)i, audit_cols[i].kind));
		json_array_append_new(arr, row);
		n++;
	}
	if (step != SQLITE_DONE)
		goto bad;
	sqlite3_finalize(q);
	store_unlock(st);
	buf_fini(&sql);
	return arr;
bad:
	sp_errf(err, 500, "StoreError", "reading the audit log: %s",
		sqlite3_errmsg(db));
	sqlite3_finalize(q);
	store_unlock(st);
	buf_fini(&sql);
	json_decref(arr);
	(void)n;
	return NULL;
}

/*
 * One statement: session-seconds per group from sessions, executions and
 * CPU per group from audit, joined on the group.  ?1 = since, ?2 = now.
 */
#define USAGE_SQL(G)                                                           \
	"WITH s AS ("                                                          \
	"  SELECT " G " AS g, count(*) AS n,"                                  \
	"    sum(max(0, min(coalesce(ended_at, ?2), ?2)"                       \
	"               - max(started_at, ?1))) AS ms"                         \
	"  FROM sessions"                                                      \
	"  WHERE coalesce(ended_at, ?2) >= ?1 GROUP BY g),"                    \
	" a AS ("                                                              \
	"  SELECT " G " AS g, count(*) AS n,"                                  \
	"    sum(status != 'Succeeded') AS failed,"                            \
	"    sum(coalesce(cpu_ms, 0)) AS cpu"                                  \
	"  FROM audit WHERE ts >= ?1 AND op IN ('execute', 'shell')"           \
	"  GROUP BY g),"                                                       \
	" k AS (SELECT g FROM s UNION SELECT g FROM a)"                        \
	" SELECT k.g, coalesce(s.n, 0), coalesce(s.ms, 0),"                    \
	"   coalesce(a.n, 0), coalesce(a.failed, 0), coalesce(a.cpu, 0)"       \
	" FROM k LEFT JOIN s ON s.g = k.g LEFT JOIN a ON a.g = k.g"            \
	" ORDER BY k.g"

json_t *
store_usage_query(struct store *st, int64_t since_ms, int64_t now_ms,
		  bool by_pool, struct sp_err *err)
{
	const char *col = by_pool ? "pool" : "principal";
	sqlite3 *db = store_db(st);
	sqlite3_stmt *q = NULL;
	json_t *arr = json_array();
	const char *sql = by_pool ? USAGE_SQL("pool") : USAGE_SQL("principal");
	int step;

	store_lock(st);
	if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
		goto bad;
	sqlite3_bind_int64(q, 1, since_ms > 0 ? since_ms : 0);
	sqlite3_bind_int64(q, 2, now_ms);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		json_array_append_new(
			arr,
			json_pack("{s:s%, s:I, s:f, s:I, s:I, s:f}", col,
				  (const char *)sqlite3_column_text(q, 0),
				  (size_t)sqlite3_column_bytes(q, 0),
				  "sessions",
				  (json_int_t)sqlite3_column_int64(q, 1),
				  "session_seconds",
				  (double)sqlite3_column_int64(q, 2) / 1000.0,
				  "executions",
				  (json_int_t)sqlite3_column_int64(q, 3),
				  "failed",
				  (json_int_t)sqlite3_column_int64(q, 4),
				  "cpu_seconds",
				  (double)sqlite3_column_int64(q, 5) / 1000.0));
	}
	if (step != SQLITE_DONE)
		goto bad;
	sqlite3_finalize(q);
	store_unlock(st);
	return arr;
bad:
	sp_errf(err, 500, "StoreError", "reading usage: %s",
		sqlite3_errmsg(db));
	sqlite3_finalize(q);
	store_unlock(st);
	json_decref(arr);
	return NULL;
}
