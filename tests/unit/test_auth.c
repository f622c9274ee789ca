// SPDX-License-Identifier: MIT
/*
 * test_auth.c: API-key checks and loopback detection.  The config is built
 * by hand from config.h's fields, so this test does not depend on the
 * config parser.
 */
#include <string.h>

#include "auth.h"
#include "config.h"
#include "t.h"
#include "util.h"

static char secret_alice[] = "s3cret-alice";
static char secret_bob[] = "s3cret-bob";
static char secret_long[] = "k-0123456789abcdef0123456789abcdef";

#define LONG_NAME                                                              \
	"p23456789012345678901234567890123456789012345678901234567890123"

static void
keyed(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->keys[0].principal, CONFIG_NAME_MAX, "%s", "alice");
	cfg->keys[0].secret = secret_alice;
	/* A NULL secret (a slot being filled) must simply be skipped. */
	snprintf(cfg->keys[1].principal, CONFIG_NAME_MAX, "%s", "ghost");
	cfg->keys[1].secret = NULL;
	snprintf(cfg->keys[2].principal, CONFIG_NAME_MAX, "%s", "bob");
	cfg->keys[2].secret = secret_bob;
	snprintf(cfg->keys[3].principal, CONFIG_NAME_MAX, "%s", LONG_NAME);
	cfg->keys[3].secret = secret_long;
	cfg->nkeys = 4;
}

struct acase {
	const char *authorization;
	const char *apikey;
	const char *principal; /* expected, or NULL for a 401 */
	const char *msg;       /* expected message prefix for a 401 */
};

static const struct acase cases[] = {
	{"Bearer s3cret-alice", NULL, "alice", NULL},
	{"bearer s3cret-bob", NULL, "bob", NULL},
	{"BEARER   s3cret-bob  ", NULL, "bob", NULL},
	{"Bearer\ts3cret-bob", NULL, "bob", NULL},
	{"  Bearer s3cret-alice", NULL, "alice", NULL},
	{NULL, "s3cret-bob", "bob", NULL},
	{NULL, " s3cret-alice ", "alice", NULL},
	{"Bearer k-0123456789abcdef0123456789abcdef", NULL, LONG_NAME, NULL},
	/* Bearer wins when both are valid; either alone suffices. */
	{"Bearer s3cret-alice", "s3cret-bob", "alice", NULL},
	{"Bearer wrong", "s3cret-bob", "bob", NULL},
	{"Basic dXNlcjpwYXNz", "s3cret-bob", "bob", NULL},
	/* Wrong keys. */
	{"Bearer wrong", NULL, NULL, "invalid API key"},
	{NULL, "wrong", NULL, "invalid API key"},
	{"Bearer s3cret-bo", NULL, NULL, "invalid API key"},
	{"Bearer s3cret-bobb", NULL, NULL, "invalid API key"},
	{"Bearer S3CRET-BOB", NULL, NULL, "invalid API key"},
	{"Bearer s3cret bob", NULL, NULL, "invalid API key"},
	{"Bearer wrong", "wrong", NULL, "invalid API key"},
	{NULL, "Bearer s3cret-bob", NULL, "invalid API key"},
	/* Missing keys. */
	{NULL, NULL, NULL,
	 "missing API key: send Authorization: Bearer <key> "
	 "or x-ms-apikey"},
	{"", "", NULL, "missing API key"},
	{"Bearer", NULL, NULL, "missing API key"},
	{"Bearer   ", "  ", NULL, "missing API key"},
	/* Another scheme is named as such. */
	{"Basic dXNlcjpwYXNz", NULL, NULL, "the Authorization header must be"},
	{"Bearers3cret-bob", NULL, NULL, "the Authorization header must be"},
	{"s3cret-bob", NULL, NULL, "the Authorization header must be"},
};

TEST(vectors)
{
	struct config cfg;
	size_t i;

	keyed(&cfg);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct acase *c = &cases[i];
		struct sp_err err = {0, NULL, ""};
		char principal[CONFIG_NAME_MAX] = "junk";
		int rc = auth_check(&cfg, c->authorization, c->apikey,
				    principal, sizeof(principal), &err);

		if (c->principal != NULL) {
			if (rc != 0 || strcmp(principal, c->principal) != 0)
				T_FAIL("row %zu: rc %d principal \"%s\" (%s)",
				       i, rc, principal, err.msg);
		} else if (rc >= 0 || err.http != 401 || err.code == NULL ||
			   strcmp(err.code, "Unauthorized") != 0 ||
			   strncmp(err.msg, c->msg, strlen(c->msg)) != 0 ||
			   principal[0] != '\0') {
			T_FAIL("row %zu: rc %d http %d msg \"%s\" principal "
			       "\"%s\"",
			       i, rc, err.http, err.msg, principal);
		}
	}
}

TEST(no_keys_means_default)
{
	struct config cfg;
	struct sp_err err = {0, NULL, ""};
	char principal[CONFIG_NAME_MAX];

	memset(&cfg, 0, sizeof(cfg));
	CHECK_INT(auth_check(&cfg, NULL, NULL, principal, sizeof(principal),
			     &err),
		  ==, 0);
	CHECK_STR(principal, "default");
	CHECK_INT(auth_check(&cfg, "Bearer anything", "x", principal,
			     sizeof(principal), &err),
		  ==, 0);
	CHECK_STR(principal, "default");
	CHECK_INT(auth_check(&cfg, "Basic zzz", NULL, principal,
			     sizeof(principal), &err),
		  ==, 0);
	CHECK_STR(principal, "default");
}

TEST(every_key_slot)
{
	static char secrets[CONFIG_MAX_KEYS][16];
	struct config cfg;
	struct sp_err err = {0, NULL, ""};
	char principal[CONFIG_NAME_MAX], hdr[64];
	int i;

	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < CONFIG_MAX_KEYS; i++) {
		snprintf(secrets[i], sizeof(secrets[i]), "key-%d", i);
		snprintf(cfg.keys[i].principal, CONFIG_NAME_MAX, "p%d", i);
		cfg.keys[i].secret = secrets[i];
	}
	cfg.nkeys = CONFIG_MAX_KEYS;
	for (i = 0; i < CONFIG_MAX_KEYS; i++) {
		char want[16];

		snprintf(hdr, sizeof(hdr), "Bearer key-%d", i);
		snprintf(want, sizeof(want), "p%d", i);
		CHECK_INT(auth_check(&cfg, hdr, NULL, principal,
				     sizeof(principal), &err),
			  ==, 0);
		CHECK_STR(principal, want);
	}
	/* A corrupt count cannot read past the table. */
	cfg.nkeys = CONFIG_MAX_KEYS + 100;
	CHECK(auth_check(&cfg, "Bearer key-999", NULL, principal,
			 sizeof(principal), &err) < 0);
}

struct lcase {
	const char *listen;
	int loopback;
};

static const struct lcase listens[] = {
	{"127.0.0.1", 1},
	{"127.0.0.1:6000", 1},
	{"127.1.2.3", 1},
	{"127.255.255.255:80", 1},
	{"::1", 1},
	{"[::1]", 1},
	{"[::1]:6000", 1},
	{"0:0:0:0:0:0:0:1", 1},
	{"::ffff:127.0.0.1", 1},
	{"[::ffff:127.0.0.1]:6000", 1},
	{"localhost", 1},
	{"localhost:6000", 1},
	{"LocalHost", 1},
	{"0.0.0.0", 0},
	{"0.0.0.0:6000", 0},
	{"10.0.0.1", 0},
	{"10.0.0.1:6000", 0},
	{"128.0.0.1", 0},
	{"126.255.255.255", 0},
	{"::", 0},
	{"[::]:6000", 0},
	{"[::ffff:10.0.0.1]", 0},
	{"::2", 0},
	{"", 0},
	{":6000", 0},
	{"[]:6000", 0},
	{"[::1", 0},
	{"[::1]x", 0},
	{"[::1]6000", 0},
	{"example.com", 0},
	{"localhost.evil.example", 0},
	{"127.0.0.1.evil.example", 0},
	{"127.1", 0},
	{"[::1%lo]", 0},
};

TEST(loopback)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(listens); i++) {
		int got = auth_listen_is_loopback(listens[i].listen);

		if (got != listens[i].loopback)
			T_FAIL("listen \"%s\": %d, want %d", listens[i].listen,
			       got, listens[i].loopback);
	}
	CHECK_INT(auth_listen_is_loopback(NULL), ==, 0);
}

TEST(loopback_long_host)
{
	char host[400];

	memset(host, 'a', sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	CHECK_INT(auth_listen_is_loopback(host), ==, 0);
}

T_MAIN()
