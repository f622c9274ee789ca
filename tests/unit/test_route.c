// SPDX-License-Identifier: MIT
/*
 * test_route.c: path-tail routing.  One vector table (method, path,
 * expected route, pool, name or HTTP error), including the prefixes real
 * clients send, plus generated cases for the length caps.
 */
#include <errno.h>
#include <string.h>

#include "route.h"
#include "t.h"

struct rcase {
	const char *method;
	const char *path;
	enum route_id id;
	const char *pool; /* expected pool ("" = default) */
	const char *arg;  /* expected name or id */
	int http;         /* 0 = success, else the expected error status */
};

#define SUB "/subscriptions/s/resourceGroups/r/sessionPools/p1"

static const struct rcase cases[] = {
	/* Gen1, with and without the ACA prefix. */
	{"POST", "/code/execute", ROUTE_GEN1_EXECUTE, "", "", 0},
	{"POST", SUB "/code/execute", ROUTE_GEN1_EXECUTE, "p1", "", 0},
	{"POST", "/anything/code/execute/", ROUTE_GEN1_EXECUTE, "", "", 0},
	{"POST", "//code//execute//", ROUTE_GEN1_EXECUTE, "", "", 0},
	{"GET", "/code/execute", ROUTE_GEN1_EXECUTE, "", "", 0},
	{"POST", "/files/upload", ROUTE_GEN1_UPLOAD, "", "", 0},
	{"POST", SUB "/files/upload/", ROUTE_GEN1_UPLOAD, "p1", "", 0},
	{"GET", "/files/upload", ROUTE_FILE, "", "upload", 0},
	{"DELETE", "/files/upload", ROUTE_FILE, "", "upload", 0},
	{"GET", "/files", ROUTE_FILES, "", "", 0},
	{"POST", SUB "/files", ROUTE_FILES, "p1", "", 0},
	{"GET", "/files/content/a.txt", ROUTE_GEN1_CONTENT, "", "a.txt", 0},
	{"HEAD", "/files/content/a.txt", ROUTE_GEN1_CONTENT, "", "a.txt", 0},
	{"GET", SUB "/files/content/dir/sub/a b.txt", ROUTE_GEN1_CONTENT, "p1",
	 "dir/sub/a b.txt", 0},
	/* A decoded "%2Fmnt%2Fdata%2Fx": the leading slash is dropped. */
	{"GET", "/files/content//mnt/data/x.csv", ROUTE_GEN1_CONTENT, "",
	 "mnt/data/x.csv", 0},
	{"GET", "/files/content/content", ROUTE_GEN1_CONTENT, "", "content", 0},
	{"DELETE", "/files/content/a.txt", ROUTE_FILE, "", "content/a.txt", 0},
	{"GET", "/files/content", ROUTE_FILE, "", "content", 0},
	/* Gen2 files. */
	{"GET", "/files/a.txt", ROUTE_FILE, "", "a.txt", 0},
	{"DELETE", SUB "/files/dir//a.txt/", ROUTE_FILE, "p1", "dir/a.txt", 0},
	{"GET", "/files/a.txt/content", ROUTE_FILE_CONTENT, "", "a.txt", 0},
	{"GET", "/files/dir/a.txt/content/", ROUTE_FILE_CONTENT, "",
	 "dir/a.txt", 0},
	{"POST", "/files/a.txt/content", ROUTE_FILE_CONTENT, "", "a.txt", 0},
	{"GET", "/api/v1/sessionPools/p1/files/a b.txt/content",
	 ROUTE_FILE_CONTENT, "p1", "a b.txt", 0},
	{"GET", "/files/pools/x", ROUTE_FILE, "", "pools/x", 0},
	/* Gen2 executions and session management. */
	{"POST", "/executions", ROUTE_EXECUTIONS, "", "", 0},
	{"POST", SUB "/executions/", ROUTE_EXECUTIONS, "p1", "", 0},
	{"GET", "/executions/abc-123", ROUTE_EXECUTION, "", "abc-123", 0},
	{"GET", "/x/executions/id/", ROUTE_EXECUTION, "", "id", 0},
	{"GET", "/executions/a/b", ROUTE_NONE, "", "", 404},
	{"GET", "/session", ROUTE_SESSION, "", "", 0},
	{"DELETE", "/pools/p2/session", ROUTE_SESSION, "p2", "", 0},
	{"GET", "/listSessions", ROUTE_LIST_SESSIONS, "", "", 0},
	{"GET", "/listsessions", ROUTE_LIST_SESSIONS, "", "", 0},
	{"GET", "/ListSessions", ROUTE_NONE, "", "", 404},
	{"GET", SUB "/metadata", ROUTE_METADATA, "p1", "", 0},
	{"POST", "/.management/stopSession", ROUTE_STOP_SESSION, "", "", 0},
	{"POST", "/mcp", ROUTE_MCP, "", "", 0},
	{"DELETE", "/mcp/", ROUTE_MCP, "", "", 0},
	{"GET", "/health", ROUTE_HEALTH, "", "", 0},
	{"GET", "/health/startup", ROUTE_HEALTH_STARTUP, "", "", 0},
	{"GET", "/metrics", ROUTE_METRICS, "", "", 0},
	{"GET", "/sessionPools/p1/health", ROUTE_HEALTH, "p1", "", 0},
	/* Pool pairs. */
	{"POST", "/sessionpools/P_1-x/code/execute", ROUTE_GEN1_EXECUTE,
	 "P_1-x", "", 0},
	{"POST", "/POOLS/abc/executions", ROUTE_EXECUTIONS, "abc", "", 0},
	{"POST", "/pools/a/pools/b/code/execute", ROUTE_GEN1_EXECUTE, "b", "",
	 0},
	{"POST", "/sessionPools/bad.name/code/execute", ROUTE_NONE, "", "",
	 400},
	{"POST", "/pools/bad name/code/execute", ROUTE_NONE, "", "", 400},
	{"POST", "/pools/b%C3%A4d/code/execute", ROUTE_NONE, "", "", 400},
	{"POST",
	 "/pools/"
	 "0123456789012345678901234567890123456789012345678901234567890123"
	 "/code/execute",
	 ROUTE_NONE, "", "", 400},
	{"POST",
	 "/pools/"
	 "012345678901234567890123456789012345678901234567890123456789012"
	 "/code/execute",
	 ROUTE_GEN1_EXECUTE,
	 "012345678901234567890123456789012345678901234567890123456789012", "",
	 0},
	{"GET", "/sessionPools/p1", ROUTE_NONE, "", "", 404},
	{"GET", "/sessionPools/p1/", ROUTE_NONE, "", "", 404},
	/* A pool keyword followed by a segment is always a pair. */
	{"POST", "/sessionPools/code/execute", ROUTE_NONE, "", "", 404},
	/* Unknown paths. */
	{"GET", "/", ROUTE_NONE, "", "", 404},
	{"GET", "", ROUTE_NONE, "", "", 404},
	{"GET", "/unknown", ROUTE_NONE, "", "", 404},
	{"POST", "/code", ROUTE_NONE, "", "", 404},
	{"POST", "/code/execute/extra", ROUTE_NONE, "", "", 404},
	{"POST", "/Code/Execute", ROUTE_NONE, "", "", 404},
	{"POST", "/python/execute", ROUTE_NONE, "", "", 404},
	{"POST", "/.management/stopsession", ROUTE_NONE, "", "", 404},
};

TEST(vectors)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct rcase *c = &cases[i];
		struct route r;
		struct sp_err err = {0, NULL, ""};
		int rc = route_match(c->method, c->path, &r, &err);

		if (c->http == 0) {
			if (rc != 0)
				T_FAIL("row %zu %s %s: rc %d (%d %s)", i,
				       c->method, c->path, rc, err.http,
				       err.msg);
		} else {
			if (rc >= 0 || err.http != c->http)
				T_FAIL("row %zu %s %s: rc %d http %d, want %d",
				       i, c->method, c->path, rc, err.http,
				       c->http);
			if (err.msg[0] == '\0' || err.code == NULL)
				T_FAIL("row %zu: no error message", i);
		}
		if (r.id != c->id)
			T_FAIL("row %zu %s %s: id %s, want %s", i, c->method,
			       c->path, route_name(r.id), route_name(c->id));
		if (strcmp(r.pool, c->pool) != 0)
			T_FAIL("row %zu %s: pool \"%s\", want \"%s\"", i,
			       c->path, r.pool, c->pool);
		if (strcmp(r.arg, c->arg) != 0)
			T_FAIL("row %zu %s: arg \"%s\", want \"%s\"", i,
			       c->path, r.arg, c->arg);
	}
	CHECK(ARRAY_SIZE(cases) >= 40);
}

TEST(errors_say_what_is_accepted)
{
	struct route r;
	struct sp_err err = {0, NULL, ""};

	CHECK(route_match("GET", "/nope", &r, &err) < 0);
	CHECK_INT(err.http, ==, 404);
	CHECK_STR(err.code, "NotFound");
	CHECK(strstr(err.msg, "code/execute") != NULL);
	CHECK(strstr(err.msg, "files/upload") != NULL);
	CHECK(strstr(err.msg, "files/content/NAME") != NULL);
	CHECK(strstr(err.msg, "executions[/ID]") != NULL);
	CHECK(strstr(err.msg, "listSessions") != NULL);
	CHECK(strstr(err.msg, ".management/stopSession") != NULL);
	/* The last item survived: the message was not truncated. */
	CHECK(strstr(err.msg, "metrics") != NULL);

	CHECK(route_match("POST", "/pools/a.b/code/execute", &r, &err) < 0);
	CHECK_INT(err.http, ==, 400);
	CHECK_STR(err.code, "InvalidPool");
	CHECK(strstr(err.msg, "1-63") != NULL);
	CHECK(strstr(err.msg, "A-Z") != NULL);
	CHECK(strstr(err.msg, "pools/") != NULL);
}

TEST(null_inputs)
{
	struct route r;

	CHECK(route_match(NULL, "/code/execute", &r, NULL) == 0);
	CHECK_INT(r.id, ==, ROUTE_GEN1_EXECUTE);
	/* Without a method, files/upload is the file named "upload". */
	CHECK(route_match(NULL, "/files/upload", &r, NULL) == 0);
	CHECK_INT(r.id, ==, ROUTE_FILE);
	CHECK(route_match("GET", NULL, &r, NULL) < 0);
	CHECK_INT(r.id, ==, ROUTE_NONE);
}

/* "/files/" + n bytes of 'a' + suffix, in a heap buffer. */
static char *
file_path(size_t n, const char *suffix)
{
	size_t slen = strlen(suffix);
	char *p = malloc(7 + n + slen + 1);

	memcpy(p, "/files/", 7);
	memset(p + 7, 'a', n);
	memcpy(p + 7 + n, suffix, slen + 1);
	return p;
}

TEST(name_length_caps)
{
	struct route r;
	struct sp_err err = {0, NULL, ""};
	char *p;

	p = file_path(ROUTE_ARG_MAX, "");
	CHECK_INT(route_match("GET", p, &r, &err), ==, 0);
	CHECK_INT(r.id, ==, ROUTE_FILE);
	CHECK_INT(strlen(r.arg), ==, ROUTE_ARG_MAX);
	free(p);

	p = file_path(ROUTE_ARG_MAX + 1, "/content");
	CHECK(route_match("GET", p, &r, &err) < 0);
	CHECK_INT(err.http, ==, 414);
	CHECK(strstr(err.msg, "4096") != NULL);
	CHECK_INT(r.id, ==, ROUTE_NONE);
	CHECK_STR(r.arg, "");
	free(p);

	/* Joined segments count too: 2047 x "a/" + "bb" is 4096 bytes. */
	p = malloc(7 + 4094 + 4);
	memcpy(p, "/files/", 7);
	for (size_t i = 0; i < 2047; i++)
		memcpy(p + 7 + 2 * i, "a/", 2);
	memcpy(p + 7 + 4094, "bb", 3);
	CHECK_INT(route_match("DELETE", p, &r, &err), ==, 0);
	CHECK_INT(r.id, ==, ROUTE_FILE);
	CHECK_INT(strlen(r.arg), ==, ROUTE_ARG_MAX);
	memcpy(p + 7 + 4094, "bbb", 4);
	CHECK(route_match("DELETE", p, &r, &err) < 0);
	CHECK_INT(err.http, ==, 414);
	free(p);
}

TEST(path_length_cap)
{
	struct route r;
	struct sp_err err = {0, NULL, ""};
	char *p = malloc(ROUTE_PATH_MAX + 32);
	size_t i;

	/* Many tiny segments before a real operation still route. */
	for (i = 0; i + 2 < ROUTE_PATH_MAX - 13; i += 2)
		memcpy(p + i, "/x", 2);
	memcpy(p + i, "/code/execute", 14);
	CHECK(strlen(p) <= ROUTE_PATH_MAX);
	CHECK_INT(route_match("POST", p, &r, &err), ==, 0);
	CHECK_INT(r.id, ==, ROUTE_GEN1_EXECUTE);

	memset(p, '/', ROUTE_PATH_MAX + 1);
	p[ROUTE_PATH_MAX + 1] = '\0';
	CHECK(route_match("GET", p, &r, &err) < 0);
	CHECK_INT(err.http, ==, 414);
	free(p);
}

TEST(names_are_stable)
{
	CHECK_STR(route_name(ROUTE_NONE), "none");
	CHECK_STR(route_name(ROUTE_GEN1_EXECUTE), "code/execute");
	CHECK_STR(route_name(ROUTE_GEN1_UPLOAD), "files/upload");
	CHECK_STR(route_name(ROUTE_GEN1_CONTENT), "files/content/{name}");
	CHECK_STR(route_name(ROUTE_EXECUTIONS), "executions");
	CHECK_STR(route_name(ROUTE_EXECUTION), "executions/{id}");
	CHECK_STR(route_name(ROUTE_FILES), "files");
	CHECK_STR(route_name(ROUTE_FILE), "files/{name}");
	CHECK_STR(route_name(ROUTE_FILE_CONTENT), "files/{name}/content");
	CHECK_STR(route_name(ROUTE_SESSION), "session");
	CHECK_STR(route_name(ROUTE_LIST_SESSIONS), "listSessions");
	CHECK_STR(route_name(ROUTE_METADATA), "metadata");
	CHECK_STR(route_name(ROUTE_STOP_SESSION), ".management/stopSession");
	CHECK_STR(route_name(ROUTE_MCP), "mcp");
	CHECK_STR(route_name(ROUTE_HEALTH), "health");
	CHECK_STR(route_name(ROUTE_HEALTH_STARTUP), "health/startup");
	CHECK_STR(route_name(ROUTE_METRICS), "metrics");
	CHECK_STR(route_name((enum route_id)999), "unknown");
}

T_MAIN()
