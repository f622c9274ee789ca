// SPDX-License-Identifier: MIT
/*
 * test_pool.c: the warm lists and the uid slot map of src/pool.c, on
 * sessions made by session_alloc() in a server context that never
 * starts a loop or a sandbox.  The refill and the startup probe are
 * exercised against the real server (tests/integration/test_pool.py,
 * test_zygote.py).
 */
#include <errno.h>
#include <string.h>

#include "pool.h"
#include "sandpool.h"
#include "session.h"
#include "t.h"

static struct config cfg;
static struct sandpool sp;

static void
setup(uint32_t nslots)
{
	memset(&sp, 0, sizeof(sp));
	config_defaults(&cfg);
	sp.cfg = &cfg;
	sp.sessions_dir = "/nonexistent";
	sp.epfd = sp.wakefd = -1;
	pthread_mutex_init(&sp.lock, NULL);
	CHECK_INT(sessions_init(&sp), ==, 0);
	if (nslots)
		sp.nslots = nslots;
}

static struct session *
warm(struct pool *p)
{
	uint32_t slot;
	struct session *s;

	CHECK_INT(pool_slot_alloc(&sp, &slot), ==, 0);
	s = session_alloc(&sp, p, slot);
	s->state = SESSION_IDLE; /* as if its kernel had said ready */
	return s;
}

TEST(slots_are_unique_and_reused)
{
	uint32_t a, b, c;

	setup(2);
	CHECK_INT(pool_slot_alloc(&sp, &a), ==, 0);
	CHECK_INT(pool_slot_alloc(&sp, &b), ==, 0);
	CHECK(a != b);
	CHECK_INT(pool_slot_alloc(&sp, &c), ==, -ENOSPC);
	pool_slot_free(&sp, a);
	CHECK_INT(pool_slot_alloc(&sp, &c), ==, 0);
	CHECK_INT(c, ==, a);
}

TEST(ready_lists_once)
{
	struct pool *p;
	struct session *s;

	setup(0);
	p = pool_find(&sp, "default");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	s = warm(p);
	pool_ready(&sp, s);
	/* A warm kernel that died and came back says ready again: it must
	 * not be listed twice (a cycle in the list hung the loop once). */
	pool_ready(&sp, s);
	CHECK_INT(p->ready, ==, 1);
	CHECK(p->warm == s && s->next_warm == NULL && s->on_warm);
	pool_unlist(&sp, s);
	CHECK_INT(p->ready, ==, 0);
	CHECK(p->warm == NULL && !s->on_warm);
	pool_unlist(&sp, s); /* not listed: nothing happens */
	CHECK_INT(p->ready, ==, 0);
}

TEST(take_prefers_ready_then_starting)
{
	struct pool *p;
	struct session *a, *b, *c;

	setup(0);
	p = pool_find(&sp, "default");
	if (p == NULL)
		return;
	a = warm(p);
	b = warm(p);
	pool_ready(&sp, a);
	pool_ready(&sp, b);
	c = warm(p);
	c->state = SESSION_SPAWNING;
	CHECK(pool_take(&sp, p) == b); /* last ready first */
	CHECK(!b->on_warm);
	CHECK(pool_take(&sp, p) == a);
	CHECK_INT(p->ready, ==, 0);
	/* No ready one left: a warm sandbox still coming up. */
	CHECK(pool_take(&sp, p) == c);
	c->identifier = (char *)"taken";
	CHECK(pool_take(&sp, p) == NULL);
	c->identifier = NULL;
}

TEST(not_listed)
{
	struct pool *p;
	struct session *s, *probe, *gone;

	setup(0);
	p = pool_find(&sp, "default");
	if (p == NULL)
		return;
	s = warm(p);
	s->identifier = (char *)"someone";
	pool_ready(&sp, s);
	probe = warm(p);
	probe->probe = true;
	pool_ready(&sp, probe);
	gone = warm(p);
	gone->destroy = true;
	pool_ready(&sp, gone);
	CHECK_INT(p->ready, ==, 0);
	CHECK(p->warm == NULL);
	s->identifier = NULL;
}

TEST(old_generation_is_retired)
{
	struct pool *p;
	struct session *old, *cur;

	setup(0);
	p = pool_find(&sp, "default");
	if (p == NULL)
		return;
	old = warm(p);
	pool_ready(&sp, old);
	CHECK_INT(p->ready, ==, 1);
	/* A SIGHUP changed the preload: the listed one goes, and one that
	 * started before the change is not listed when it gets ready. */
	cur = warm(p);
	pool_set_preload(&sp, p, "json");
	CHECK_STR(p->preload, "json");
	CHECK_INT(p->ready, ==, 0);
	CHECK(old->destroy && !old->on_warm);
	CHECK_STR(old->end_reason, "preload changed");
	pool_ready(&sp, cur);
	CHECK(cur->destroy && !cur->on_warm);
	/* The same set again changes nothing. */
	cur = warm(p);
	cur->generation = p->generation;
	pool_set_preload(&sp, p, "json");
	pool_ready(&sp, cur);
	CHECK(!cur->destroy && cur->on_warm);
}

TEST(refill_plan_lets_clients_start_first)
{
	struct pool *p;
	struct session *c, *w;
	uint32_t want[CONFIG_MAX_POOLS];
	uint64_t now = 1000000;

	setup(0);
	p = pool_find(&sp, "default");
	if (p == NULL)
		return;
	sp.next_scan_ms = UINT64_MAX;
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, cfg.pools[0].ready); /* 8: an empty pool */

	/* A client's own sandbox (no warm one was left) is starting: the
	 * refill does not compete with it, and the loop is woken when the
	 * wait is up. */
	c = warm(p);
	c->identifier = (char *)"client";
	c->state = SESSION_SPAWNING;
	c->spawn_ms = now - 5;
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 0);
	CHECK(sp.next_scan_ms == c->spawn_ms + 1000);
	c->state = SESSION_STARTING;
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 0);
	/* ... for a second at most: a kernel slow to start cannot hold the
	 * pool empty. */
	pool_refill_plan(&sp, c->spawn_ms + 1000, want);
	CHECK_INT(want[0], ==, 8);
	c->state = SESSION_IDLE; /* its kernel is up */
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 8);

	/* Right after a client took a warm sandbox: not yet. */
	p->took_ms = now - 3;
	sp.next_scan_ms = UINT64_MAX;
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 0);
	CHECK(sp.next_scan_ms == p->took_ms + 10);
	p->took_ms = 0;

	/* Warm ones on their way count; max_starting and max_sessions
	 * bound the rest. */
	w = warm(p);
	w->state = SESSION_SPAWNING;
	pool_ready(&sp, warm(p));
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 6);
	p->starting = cfg.pools[0].max_starting - 2;
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 2);
	p->starting = 0;
	cfg.pools[0].max_sessions = p->live + 3;
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 3);
	cfg.pools[0].max_sessions = 1000;

	/* A full pool starts nothing. */
	while (p->ready < cfg.pools[0].ready)
		pool_ready(&sp, warm(p));
	pool_refill_plan(&sp, now, want);
	CHECK_INT(want[0], ==, 0);
}

T_MAIN()
