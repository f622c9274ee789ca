/* SPDX-License-Identifier: MIT */
/*
 * auth.h: who is calling.  A request carries an API key either as
 * "Authorization: Bearer KEY" (what ACA clients' token providers send) or as
 * "x-ms-apikey: KEY" (what ACA's MCP endpoint uses); the key maps to a
 * principal name, and sessions are keyed by (principal, identifier).  Keys
 * come from the config today; keys stored in SQLite will be added behind
 * the same auth_check() call, which is why it takes the whole config.
 */
#ifndef SANDPOOL_AUTH_H
#define SANDPOOL_AUTH_H

#include <stddef.h>

#include "config.h"
#include "util.h"

/*
 * Resolve the caller.  authorization is the Authorization header value or
 * NULL, apikey the x-ms-apikey value or NULL.  With no keys configured
 * every caller is "default" (the server then listens on loopback only; see
 * auth_listen_is_loopback).  Otherwise a Bearer token (scheme compared
 * case-insensitively) is tried first, then x-ms-apikey; each is compared
 * in constant time with every configured key, without stopping at a
 * match.  On success returns 0 and writes the key's principal into
 * principal (principal_sz >= CONFIG_NAME_MAX).  Otherwise returns a
 * negative errno and sets *err to 401 "Unauthorized": "missing API key ..."
 * when no key was sent, "invalid API key" when none matched.  Never blocks;
 * cfg is only read.
 */
int auth_check(const struct config *cfg, const char *authorization,
	       const char *apikey, char *principal, size_t principal_sz,
	       struct sp_err *err);

/*
 * Return 1 if the host of listen is a loopback address: "localhost", any
 * of 127.0.0.0/8, ::1 or ::ffff:127.x.y.z, with or without a ":port" and
 * IPv6 brackets ("[::1]:6000").  Anything else, including "0.0.0.0", "::",
 * an empty host and names other than localhost, gives 0, so that a caller
 * refusing to serve without keys on non-loopback addresses fails closed.
 */
int auth_listen_is_loopback(const char *listen);

#endif
