// SPDX-License-Identifier: MIT
/*
 * auth.c: API-key authentication for api.c, scopes, and the loopback
 * test that main.c uses to refuse serving without keys on a public
 * address.  Config keys are compared with ct_equal() against every
 * configured key, always all of them, so the time taken does not say which
 * key (or how much of one) matched; only the length of the candidate can
 * leak.  Stored keys are looked up by their public id and their salted
 * hash compared in constant time (store.c).  Nothing here logs or copies
 * a key.
 */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "store.h"

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Trim optional whitespace (RFC 9110 OWS) from both ends of s[0..*n). */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && is_ows(s[0])) {
		s++;
		(*n)--;
	}
	while (*n > 0 && is_ows(s[*n - 1]))
		(*n)--;
	return s;
}

/*
 * If hdr is "Bearer TOKEN" (scheme in any case), point *tok at the token
 * and return 1; *toklen may be 0 for a bare "Bearer".  Otherwise return 0.
 */
static int
parse_bearer(const char *hdr, const char **tok, size_t *toklen)
{
	static const char scheme[] = "Bearer";
	size_t n = strlen(hdr), slen = sizeof(scheme) - 1;
	const char *s = trim(hdr, &n);

	if (n < slen || strncasecmp(s, scheme, slen) != 0)
		return 0;
	if (n > slen && !is_ows(s[slen]))
		return 0; /* "Bearerx": another scheme */
	n -= slen;
	*tok = trim(s + slen, &n);
	*toklen = n;
	return 1;
}

/*
 * Index of the configured key equal to key[0..len), or -1.  Every key is
 * compared and the selection is branch-free, so the running time depends
 * only on the number of keys and their lengths.
 */
static int
match_key(const struct config *cfg, const char *key, size_t len)
{
	int i, found = -1, nkeys = cfg->nkeys;

	if (nkeys > CONFIG_MAX_KEYS)
		nkeys = CONFIG_MAX_KEYS;
	for (i = 0; i < nkeys; i++) {
		const char *secret = cfg->keys[i].secret;
		int eq, mask;

		if (secret == NULL)
			continue;
		eq = ct_equal(key, len, secret, strlen(secret));
		mask = -eq; /* all ones on a match, else 0 */
		found = (found & ~mask) | (i & mask);
	}
	return found;
}

/*
 * Try one presented key: config keys first, then the store.  Returns 0
 * with *out filled, -ENOENT for no match, -EIO when the store failed.
 */
static int
try_key(const struct config *cfg, struct store *st, const char *key,
	size_t len, struct auth_id *out)
{
	struct store_key sk;
	int idx, rc;

	idx = match_key(cfg, key, len);
	if (idx >= 0) {
		snprintf(out->principal, sizeof(out->principal), "%s",
			 cfg->keys[idx].principal);
		out->scopes = AUTH_SCOPE_CONFIG;
		return 0;
	}
	if (st == NULL)
		return -ENOENT;
	rc = store_key_verify(st, key, len, &sk);
	if (rc < 0)
		return rc;
	snprintf(out->principal, sizeof(out->principal), "%s", sk.name);
	snprintf(out->pool, sizeof(out->pool), "%s", sk.pool);
	snprintf(out->key_id, sizeof(out->key_id), "%s", sk.id);
	out->scopes = sk.scopes;
	return 0;
}

int
auth_resolve(const struct config *cfg, struct store *st,
	     const char *authorization, const char *apikey,
	     struct auth_id *out, struct sp_err *err)
{
	const char *bearer = NULL, *key = NULL;
	size_t bearer_len = 0, key_len = 0;
	int rc = -ENOENT, other_scheme = 0, stored = 0;

	ENSURE(out != NULL);
	memset(out, 0, sizeof(*out));
	/* A store that cannot be read counts as holding keys: fail closed. */
	if (st != NULL)
		stored = store_keys_exist(st) != 0;
	if (cfg->nkeys <= 0 && !stored) {
		snprintf(out->principal, sizeof(out->principal), "%s",
			 "default");
		out->scopes = AUTH_SCOPE_ALL;
		return 0;
	}
	if (!stored)
		st = NULL;

	if (authorization != NULL) {
		size_t n = strlen(authorization);

		if (!parse_bearer(authorization, &bearer, &bearer_len)) {
			bearer = NULL;
			(void)trim(authorization, &n);
			other_scheme = n > 0;
		}
	}
	if (apikey != NULL) {
		key_len = strlen(apikey);
		key = trim(apikey, &key_len);
	}

	if (bearer_len == 0 && key_len == 0) {
		if (other_scheme)
			return sp_errf(err, 401, "Unauthorized",
				       "the Authorization header must be "
				       "\"Bearer <key>\"; or send x-ms-apikey");
		return sp_errf(err, 401, "Unauthorized",
			       "missing API key: send Authorization: Bearer "
			       "<key> or x-ms-apikey");
	}
	if (bearer_len > 0)
		rc = try_key(cfg, st, bearer, bearer_len, out);
	if (rc < 0 && key_len > 0) {
		int rc2 = try_key(cfg, st, key, key_len, out);

		rc = rc2 == 0 || rc == -ENOENT ? rc2 : rc;
	}
	if (rc == -EIO)
		return sp_errf(err, 503, "KeyStoreUnavailable",
			       "the key store could not be read; retry "
			       "later");
	if (rc < 0) {
		memset(out, 0, sizeof(*out));
		return sp_errf(err, 401, "Unauthorized", "invalid API key");
	}
	return 0;
}

int
auth_check(const struct config *cfg, const char *authorization,
	   const char *apikey, char *principal, size_t principal_sz,
	   struct sp_err *err)
{
	struct auth_id id;
	int rc;

	ENSURE(principal != NULL && principal_sz > 0);
	rc = auth_resolve(cfg, NULL, authorization, apikey, &id, err);
	(void)snprintf(principal, principal_sz, "%s", rc == 0 ? id.principal
							      : "");
	return rc;
}

static const struct {
	const char *name;
	unsigned bit;
} scope_names[] = {
	{"execute", AUTH_SCOPE_EXECUTE},
	{"files", AUTH_SCOPE_FILES},
	{"admin", AUTH_SCOPE_ADMIN},
};

int
auth_require(const struct auth_id *id, unsigned scope, const char *pool,
	     struct sp_err *err)
{
	size_t i;

	if ((id->scopes & scope) != scope) {
		for (i = 0; i < ARRAY_SIZE(scope_names); i++)
			if (scope & scope_names[i].bit)
				break;
		return sp_errf(err, 403, "Forbidden",
			       "this API key lacks the \"%s\" scope this "
			       "operation needs; create a key with --scopes "
			       "including it",
			       i < ARRAY_SIZE(scope_names) ? scope_names[i].name
							   : "?");
	}
	if (id->pool[0] && pool && strcmp(id->pool, pool) != 0)
		return sp_errf(err, 403, "Forbidden",
			       "this API key is restricted to pool \"%s\"; "
			       "it cannot use pool \"%.64s\"",
			       id->pool, pool);
	return 0;
}

int
auth_scopes_parse(const char *s, unsigned *out, struct sp_err *err)
{
	unsigned bits = 0;
	const char *p = s, *end;
	size_t i, n;

	if (s == NULL || s[0] == '\0')
		return sp_errf(err, 400, "InvalidScopes",
			       "scopes must not be empty: a comma-separated "
			       "list of execute, files, admin");
	if (strcmp(s, "all") == 0) {
		*out = AUTH_SCOPE_ALL;
		return 0;
	}
	while (*p) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < ARRAY_SIZE(scope_names); i++)
			if (strlen(scope_names[i].name) == n &&
			    strncmp(p, scope_names[i].name, n) == 0)
				break;
		if (i == ARRAY_SIZE(scope_names))
			return sp_errf(err, 400, "InvalidScopes",
				       "unknown scope \"%.*s\": use a "
				       "comma-separated list of execute, "
				       "files, admin (or all)",
				       (int)(n > 32 ? 32 : n), p);
		bits |= scope_names[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	*out = bits;
	return 0;
}

void
auth_scopes_format(unsigned scopes, char *out, size_t n)
{
	size_t i, off = 0;

	ENSURE(n > 0);
	out[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(scope_names); i++) {
		if (!(scopes & scope_names[i].bit))
			continue;
		off += (size_t)snprintf(out + off, n - off, "%s%s",
					off ? "," : "", scope_names[i].name);
		if (off >= n)
			break;
	}
}

int
auth_listen_is_loopback(const char *listen)
{
	char host[256];
	const char *h, *end, *colon;
	size_t n;
	struct in_addr a4;
	struct in6_addr a6;

	if (listen == NULL)
		return 0;
	if (listen[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		h = listen + 1;
		end = strchr(h, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			return 0;
	} else {
		/* One colon is host:port; two or more is a bare v6 address. */
		h = listen;
		colon = strchr(h, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL)
			end = colon;
		else
			end = h + strlen(h);
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&a6))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
	}
	return 0;
}
