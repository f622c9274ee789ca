/* SPDX-License-Identifier: MIT */
/*
 * auth.h: who is calling.  A request carries an API key either as
 * "Authorization: Bearer KEY" (what ACA clients' token providers send) or as
 * "x-ms-apikey: KEY" (what ACA's MCP endpoint uses); the key maps to a
 * principal name, and sessions are keyed by (principal, identifier).  Keys
 * come from the config (execute and files, every pool: what they could do
 * before scopes existed) and from the store (`sandpool keys create`:
 * chosen scopes, optionally one pool).
 */
#ifndef SANDPOOL_AUTH_H
#define SANDPOOL_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "util.h"

struct store;

/* What a key may do.  A route needs one scope (api.c route_scope). */
#define AUTH_SCOPE_EXECUTE 1u /* executions, sessions, metadata, MCP */
#define AUTH_SCOPE_FILES 2u   /* the files API */
#define AUTH_SCOPE_ADMIN 4u   /* every principal's sessions, /metrics */
#define AUTH_SCOPE_ALL 7u
/*
 * Config keys are tenant keys ("NAME:SECRET" per tenant): they can do
 * everything but admin, which would show every tenant's sessions to every
 * other.  An operator key is made with `sandpool keys create --scopes
 * ...,admin`.  With auth off, the one caller "default" has every scope.
 */
#define AUTH_SCOPE_CONFIG (AUTH_SCOPE_EXECUTE | AUTH_SCOPE_FILES)

/* The caller, as authentication found it. */
struct auth_id {
	char principal[CONFIG_NAME_MAX];
	unsigned scopes;             /* AUTH_SCOPE_* bits */
	char pool[CONFIG_NAME_MAX];  /* the only pool allowed; "" = all */
	char key_id[16];             /* stored key's id; "" for config keys */
};

/*
 * Resolve the caller against the config keys and, when st is not NULL,
 * the keys in the store.  Authentication is on when the config has a key
 * or the store has ever held one (revoking the last key does not turn it
 * off).  When off, every caller is "default" with every scope.  A Bearer
 * token is tried first (config keys in constant time, then the store),
 * then x-ms-apikey.  Returns 0 and fills *out, or a negative errno with
 * 401 Unauthorized in err (503 KeyStoreUnavailable when the store cannot
 * be read and no config key matched).  May block briefly on the store's
 * mutex and SQLite; never logs a key.
 */
int auth_resolve(const struct config *cfg, struct store *st,
		 const char *authorization, const char *apikey,
		 struct auth_id *out, struct sp_err *err);

/*
 * Check that id may use scope (one AUTH_SCOPE_* bit) on pool.  Returns 0,
 * or -EACCES with 403 Forbidden in err naming what is missing.
 */
int auth_require(const struct auth_id *id, unsigned scope, const char *pool,
		 struct sp_err *err);

/* Parse "execute,files,admin" (any order, no blanks; "all" = every
 * scope) into bits.  Returns 0 or -EINVAL with a 400 in err (may be
 * NULL). */
int auth_scopes_parse(const char *s, unsigned *out, struct sp_err *err);
/* The canonical text of scopes ("execute,files") into out. */
void auth_scopes_format(unsigned scopes, char *out, size_t n);

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
