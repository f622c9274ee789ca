/* SPDX-License-Identifier: MIT */
/*
 * route.h: maps a request path to an operation.  Clients append the
 * operation to whatever "pool management endpoint" they were given, so only
 * the tail of the path matters: /subscriptions/s/resourceGroups/r/
 * sessionPools/p1/code/execute and /code/execute are the same operation.  A
 * sessionPools/NAME or pools/NAME pair in the prefix selects a pool.  Pure
 * code: no allocation survives a call, no global state.
 */
#ifndef SANDPOOL_ROUTE_H
#define SANDPOOL_ROUTE_H

#include "util.h"

#define ROUTE_POOL_MAX 63    /* bytes in a pool name */
#define ROUTE_ARG_MAX 4096   /* bytes in a file name or execution id */
#define ROUTE_PATH_MAX 16384 /* bytes in the whole decoded path */

enum route_id {
	ROUTE_NONE,
	ROUTE_GEN1_EXECUTE,   /* code/execute */
	ROUTE_GEN1_UPLOAD,    /* files/upload (POST only) */
	ROUTE_GEN1_CONTENT,   /* files/content/{name...} (GET and HEAD) */
	ROUTE_EXECUTIONS,     /* executions */
	ROUTE_EXECUTION,      /* executions/{id} */
	ROUTE_FILES,          /* files */
	ROUTE_FILE,           /* files/{name...} */
	ROUTE_FILE_CONTENT,   /* files/{name...}/content */
	ROUTE_SESSION,        /* session */
	ROUTE_LIST_SESSIONS,  /* listSessions (or listsessions) */
	ROUTE_METADATA,       /* metadata */
	ROUTE_STOP_SESSION,   /* .management/stopSession */
	ROUTE_MCP,            /* mcp */
	ROUTE_HEALTH,         /* health */
	ROUTE_HEALTH_STARTUP, /* health/startup */
	ROUTE_METRICS,        /* metrics */
};

struct route {
	enum route_id id;
	char pool[ROUTE_POOL_MAX + 1]; /* "" = the default pool */
	char arg[ROUTE_ARG_MAX + 1]; /* file name or execution id; "" if none */
};

/*
 * Match a request.  method is the HTTP method as received ("GET"); it only
 * tells files/upload (POST) from the Gen2 file named "upload", and
 * files/content/NAME (GET, HEAD) from the Gen2 file named "content/NAME".
 * Every other method check belongs to the API layer (405).  path is the
 * percent-decoded path without the query string, so a file name may
 * contain '/'.  Empty segments are dropped: trailing and doubled slashes
 * are tolerated, and "a//b" names the file "a/b".
 *
 * The pool is the last sessionPools/NAME or pools/NAME pair (keyword case-
 * insensitive) seen in the prefix.  The operation is the first suffix, from
 * the left, that forms a complete route; a pool keyword followed by another
 * segment is always taken as a pool pair, never as part of the operation.
 *
 * Returns 0 and fills *out, or a negative errno with *err set and out->id
 * ROUTE_NONE: 400 for an invalid pool name, 414 for a path over
 * ROUTE_PATH_MAX or a name over ROUTE_ARG_MAX, and 404 (with the accepted
 * operations in the message) when nothing matches.  Never blocks.
 */
int route_match(const char *method, const char *path, struct route *out,
		struct sp_err *err);

/*
 * A stable label for metrics and logs, such as "code/execute" or
 * "files/{name}/content"; "none" for ROUTE_NONE and "unknown" for a value
 * outside the enum.  Returns a static string.
 */
const char *route_name(enum route_id id);

#endif
