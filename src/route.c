// SPDX-License-Identifier: MIT
/*
 * route.c: path-tail routing for the HTTP layer (http.c), which passes the
 * route id, pool and name on to api.c.  The path is split into segments
 * (empty ones dropped), an optional sessionPools/NAME or pools/NAME pair is
 * taken from the prefix, and the first suffix that matches a row of the
 * pattern table below wins.  The table order settles the two ambiguous
 * shapes: files/upload and files/content/NAME are Gen1 only for the methods
 * Gen1 uses them with.  Matching never allocates more than one segment
 * index, sized from the capped path length.
 */
#include "route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A segment of the path: a slice of the caller's string, not terminated. */
struct seg {
	const char *p;
	size_t len;
};

/*
 * Pattern segments: a literal, or one of the two placeholders.  "{id}" is
 * exactly one segment; "{name}" is one or more (a file name may hold '/').
 * At most one "{name}" per pattern.
 */
#define P_ONE "{id}"
#define P_MANY "{name}"
#define PAT_MAX 3

enum route_method { M_ANY, M_POST, M_GET_HEAD };

struct pattern {
	enum route_id id;
	enum route_method method; /* M_ANY except the two Gen1 shapes */
	int nseg;
	const char *seg[PAT_MAX];
};

/*
 * Order matters: the first row that matches a suffix wins, so the Gen1
 * shapes come before the Gen2 files/{name} rows that would also match.
 * Keywords are case-sensitive as in ACA, except that listSessions is
 * also accepted in lower case.
 */
static const struct pattern patterns[] = {
	{ROUTE_GEN1_EXECUTE, M_ANY, 2, {"code", "execute"}},
	{ROUTE_GEN1_UPLOAD, M_POST, 2, {"files", "upload"}},
	{ROUTE_GEN1_CONTENT, M_GET_HEAD, 3, {"files", "content", P_MANY}},
	{ROUTE_FILE_CONTENT, M_ANY, 3, {"files", P_MANY, "content"}},
	{ROUTE_FILE, M_ANY, 2, {"files", P_MANY}},
	{ROUTE_FILES, M_ANY, 1, {"files"}},
	{ROUTE_EXECUTION, M_ANY, 2, {"executions", P_ONE}},
	{ROUTE_EXECUTIONS, M_ANY, 1, {"executions"}},
	{ROUTE_SESSION, M_ANY, 1, {"session"}},
	{ROUTE_LIST_SESSIONS, M_ANY, 1, {"listSessions"}},
	{ROUTE_LIST_SESSIONS, M_ANY, 1, {"listsessions"}},
	{ROUTE_METADATA, M_ANY, 1, {"metadata"}},
	{ROUTE_STOP_SESSION, M_ANY, 2, {".management", "stopSession"}},
	{ROUTE_MCP, M_ANY, 1, {"mcp"}},
	{ROUTE_HEALTH_STARTUP, M_ANY, 2, {"health", "startup"}},
	{ROUTE_HEALTH, M_ANY, 1, {"health"}},
	{ROUTE_METRICS, M_ANY, 1, {"metrics"}},
};

/* Must fit struct sp_err's msg whole; the assertion below keeps it so. */
static const char not_found_msg[] =
	"unknown path; use code/execute, files/upload, files/content/NAME, "
	"files[/NAME[/content]], executions[/ID], session, listSessions, "
	"metadata, .management/stopSession, mcp, health[/startup], metrics";
_Static_assert(sizeof(not_found_msg) <= sizeof(((struct sp_err *)0)->msg),
	       "the 404 message would be truncated");

const char *
route_name(enum route_id id)
{
	switch (id) {
	case ROUTE_NONE:
		return "none";
	case ROUTE_GEN1_EXECUTE:
		return "code/execute";
	case ROUTE_GEN1_UPLOAD:
		return "files/upload";
	case ROUTE_GEN1_CONTENT:
		return "files/content/{name}";
	case ROUTE_EXECUTIONS:
		return "executions";
	case ROUTE_EXECUTION:
		return "executions/{id}";
	case ROUTE_FILES:
		return "files";
	case ROUTE_FILE:
		return "files/{name}";
	case ROUTE_FILE_CONTENT:
		return "files/{name}/content";
	case ROUTE_SESSION:
		return "session";
	case ROUTE_LIST_SESSIONS:
		return "listSessions";
	case ROUTE_METADATA:
		return "metadata";
	case ROUTE_STOP_SESSION:
		return ".management/stopSession";
	case ROUTE_MCP:
		return "mcp";
	case ROUTE_HEALTH:
		return "health";
	case ROUTE_HEALTH_STARTUP:
		return "health/startup";
	case ROUTE_METRICS:
		return "metrics";
	}
	return "unknown";
}

static int
seg_is(const struct seg *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && memcmp(s->p, lit, n) == 0;
}

static int
seg_is_nocase(const struct seg *s, const char *lit)
{
	size_t n = strlen(lit);

	return s->len == n && strncasecmp(s->p, lit, n) == 0;
}

static int
method_ok(enum route_method m, const char *method)
{
	switch (m) {
	case M_ANY:
		return 1;
	case M_POST:
		return strcmp(method, "POST") == 0;
	case M_GET_HEAD:
		return strcmp(method, "GET") == 0 ||
		       strcmp(method, "HEAD") == 0;
	}
	return 0;
}

/*
 * Does segs[0..n) match pat exactly?  On a match, *arg_first and *arg_n
 * give the segments the placeholder covered (0 segments if it has none).
 */
static int
pattern_match(const struct pattern *pat, const struct seg *segs, size_t n,
	      size_t *arg_first, size_t *arg_n)
{
	size_t np = (size_t)pat->nseg, k, shift = 0;
	int many = 0;

	for (k = 0; k < np; k++)
		many |= strcmp(pat->seg[k], P_MANY) == 0;
	if (many ? n < np : n != np)
		return 0;

	*arg_first = 0;
	*arg_n = 0;
	for (k = 0; k < np; k++) {
		const char *p = pat->seg[k];

		if (strcmp(p, P_MANY) == 0) {
			/* It takes the surplus; later literals shift right. */
			shift = n - np;
			*arg_first = k;
			*arg_n = 1 + shift;
		} else if (strcmp(p, P_ONE) == 0) {
			*arg_first = k + shift;
			*arg_n = 1;
		} else if (!seg_is(&segs[k + shift], p)) {
			return 0;
		}
	}
	return 1;
}

/* Copy segs[0..n) joined by '/' into out->arg; -ENAMETOOLONG if too long. */
static int
join_arg(const struct seg *segs, size_t n, struct route *out,
	 struct sp_err *err)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++) {
		size_t need = segs[i].len + (i > 0);

		if (need > ROUTE_ARG_MAX - len) {
			sp_errf(err, 414, "PathTooLong",
				"the file name or execution id in the path is "
				"longer than %d bytes",
				ROUTE_ARG_MAX);
			return -ENAMETOOLONG;
		}
		if (i > 0)
			out->arg[len++] = '/';
		memcpy(out->arg + len, segs[i].p, segs[i].len);
		len += segs[i].len;
	}
	out->arg[len] = '\0';
	return 0;
}

static int
pool_name_ok(const struct seg *s)
{
	size_t i;

	if (s->len < 1 || s->len > ROUTE_POOL_MAX)
		return 0;
	for (i = 0; i < s->len; i++) {
		char c = s->p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Split path into segs (sized by the caller); returns the count. */
static size_t
split(const char *path, struct seg *segs)
{
	size_t n = 0;
	const char *p = path;

	while (*p != '\0') {
		const char *start;

		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != '/')
			p++;
		segs[n].p = start;
		segs[n].len = (size_t)(p - start);
		n++;
	}
	return n;
}

int
route_match(const char *method, const char *path, struct route *out,
	    struct sp_err *err)
{
	struct seg *segs = NULL;
	size_t len, nseg, i, r, arg_first, arg_n;
	int rc;

	memset(out, 0, sizeof(*out));
	out->id = ROUTE_NONE;
	if (method == NULL)
		method = "";
	if (path == NULL)
		path = "";

	len = strlen(path);
	if (len > ROUTE_PATH_MAX) {
		sp_errf(err, 414, "PathTooLong",
			"the request path is longer than %d bytes",
			ROUTE_PATH_MAX);
		rc = -ENAMETOOLONG;
		goto out;
	}
	/* At most one segment per two bytes ("/a/b"), plus one. */
	segs = xcalloc(len / 2 + 1, sizeof(*segs));
	nseg = split(path, segs);

	for (i = 0; i < nseg; i++) {
		for (r = 0; r < ARRAY_SIZE(patterns); r++) {
			const struct pattern *pat = &patterns[r];

			if (!method_ok(pat->method, method) ||
			    !pattern_match(pat, segs + i, nseg - i, &arg_first,
					   &arg_n))
				continue;
			rc = join_arg(segs + i + arg_first, arg_n, out, err);
			if (rc < 0)
				goto out;
			out->id = pat->id;
			rc = 0;
			goto out;
		}
		/* Not an operation here: is it a pool pair to skip? */
		if (i + 1 < nseg && (seg_is_nocase(&segs[i], "sessionPools") ||
				     seg_is_nocase(&segs[i], "pools"))) {
			if (!pool_name_ok(&segs[i + 1])) {
				rc = sp_errf(err, 400, "InvalidPool",
					     "the pool name after %.*s/ must "
					     "be 1-%d characters from A-Z, "
					     "a-z, 0-9, '_' and '-'",
					     (int)segs[i].len, segs[i].p,
					     ROUTE_POOL_MAX);
				goto out;
			}
			memcpy(out->pool, segs[i + 1].p, segs[i + 1].len);
			out->pool[segs[i + 1].len] = '\0';
			i++;
		}
	}
	sp_errf(err, 404, "NotFound", "%s", not_found_msg);
	rc = -ENOENT;
out:
	if (rc < 0) {
		out->id = ROUTE_NONE;
		out->pool[0] = '\0';
		out->arg[0] = '\0';
	}
	free(segs);
	return rc;
}
