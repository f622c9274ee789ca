// SPDX-License-Identifier: MIT
/*
 * pool.c: the pools of warm sandboxes, the uid slot map and the startup
 * probe's sandbox; see pool.h.  Called with sp->lock held, from the loop
 * thread (refill, ready) and from HTTP threads (session_get takes a warm
 * sandbox through pool_take).
 *
 * A warm sandbox is a session with no identifier whose kernel said
 * "ready" and answered its warming ping (session.c); until "ready" it is
 * counted in `starting`.  Refill runs on every
 * loop tick and is cheap when nothing is missing: it counts the warm
 * sandboxes still starting per pool in one pass over the sessions only
 * when a pool is short.
 */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sandpool.h"
#include "session.h"
#include "start.h"

#define NSLOTS 65536 /* uid slots: uid_base + slot * 2048, 2^27 uids */
/* A refill waits this long after a client took a warm sandbox: a fork
 * is milliseconds of CPU, and on a small host it would slow the very
 * cell the client took the sandbox for. */
#define REFILL_DELAY_MS 10
/* Nor does it start while a client's own sandbox is starting (a burst
 * past the warm ones): for this long at most, so that a kernel slow to
 * start cannot hold the pool empty. */
#define CLIENT_FIRST_MS 1000

/* Is s a client's sandbox, started on demand, still starting? */
static bool
client_starting(const struct session *s, uint64_t now)
{
	return s->identifier != NULL && !s->destroy &&
	       (s->state == SESSION_NEW || s->state == SESSION_SPAWNING ||
		s->state == SESSION_STARTING) &&
	       now < s->spawn_ms + CLIENT_FIRST_MS;
}

int
pools_init(struct sandpool *sp)
{
	int i;

	sp->nslots = NSLOTS;
	sp->slots = xcalloc(sp->nslots, 1);
	sp->npools = sp->cfg->npools;
	for (i = 0; i < sp->npools; i++) {
		struct pool *p = &sp->pools[i];

		memset(p, 0, sizeof(*p));
		p->cfg = &sp->cfg->pools[i];
		snprintf(p->preload, sizeof(p->preload), "%s",
			 p->cfg->preload);
		if (p->cfg->cooldown < 300)
			log_warnx("pool %s: cooldown %u s is below ACA's "
				  "minimum of 300 s; meant for tests",
				  p->cfg->name, p->cfg->cooldown);
	}
	return 0;
}

void
pools_fini(struct sandpool *sp)
{
	free(sp->slots);
	sp->slots = NULL;
}

struct pool *
pool_find(struct sandpool *sp, const char *name)
{
	int i;

	for (i = 0; i < sp->npools; i++)
		if (strcmp(sp->pools[i].cfg->name, name) == 0)
			return &sp->pools[i];
	return NULL;
}

int
pool_slot_alloc(struct sandpool *sp, uint32_t *out)
{
	uint32_t i;

	for (i = 0; i < sp->nslots; i++) {
		if (!sp->slots[i]) {
			sp->slots[i] = 1;
			*out = i;
			return 0;
		}
	}
	return -ENOSPC;
}

void
pool_slot_free(struct sandpool *sp, uint32_t slot)
{
	ENSURE(slot < sp->nslots && sp->slots[slot]);
	sp->slots[slot] = 0;
}

/* Is s a warm sandbox of p still coming up? */
static bool
warm_starting(const struct session *s, const struct pool *p)
{
	return s->pool == p && s->identifier == NULL && !s->probe &&
	       !s->destroy && s->generation == p->generation &&
	       (s->state == SESSION_NEW || s->state == SESSION_SPAWNING ||
		s->state == SESSION_STARTING || s->warming);
}

struct session *
pool_take(struct sandpool *sp, struct pool *p)
{
	struct session *s;

	p->took_ms = now_ms();
	if (p->warm) {
		s = p->warm;
		p->warm = s->next_warm;
		s->next_warm = NULL;
		s->on_warm = false;
		p->ready--;
		return s;
	}
	/* Linear, but only for a drained pool, where the alternative is a
	 * start of its own. */
	for (s = sp->all; s; s = s->next_all)
		if (warm_starting(s, p))
			return s;
	return NULL;
}

void
pool_ready(struct sandpool *sp, struct session *s)
{
	struct pool *p = s->pool;

	if (s->identifier != NULL || s->destroy || s->probe || s->on_warm)
		return;
	if (s->generation != p->generation) {
		/* Started before the preload changed: not what a new
		 * session of this pool gets any more. */
		s->destroy = true;
		s->end_reason = "preload changed";
		session_mark(sp, s);
		return;
	}
	s->next_warm = p->warm;
	p->warm = s;
	s->on_warm = true;
	p->ready++;
}

void
pool_unlist(struct sandpool *sp, struct session *s)
{
	struct session **pp;

	(void)sp;
	if (!s->on_warm)
		return;
	for (pp = &s->pool->warm; *pp; pp = &(*pp)->next_warm) {
		if (*pp == s) {
			*pp = s->next_warm;
			s->next_warm = NULL;
			s->on_warm = false;
			s->pool->ready--;
			return;
		}
	}
	ENSURE(!"a session marked warm is not on its warm list");
}

/* Retire p's warm sandboxes of an older preload generation. */
static void
retire_old(struct sandpool *sp, struct pool *p)
{
	struct session **pp = &p->warm;

	while (*pp) {
		struct session *s = *pp;

		if (s->generation == p->generation) {
			pp = &s->next_warm;
			continue;
		}
		*pp = s->next_warm;
		s->next_warm = NULL;
		s->on_warm = false;
		p->ready--;
		s->destroy = true;
		s->end_reason = "preload changed";
		session_mark(sp, s);
	}
}

void
pool_refill_plan(struct sandpool *sp, uint64_t now, uint32_t *want)
{
	uint32_t starting[CONFIG_MAX_POOLS] = {0};
	uint32_t clients[CONFIG_MAX_POOLS] = {0};
	bool counted = false;
	struct session *s;
	int i;

	for (i = 0; i < sp->npools; i++) {
		struct pool *p = &sp->pools[i];
		uint32_t have, n = 0;

		want[i] = 0;
		if (p->ready >= p->cfg->ready)
			continue;
		if (now < p->took_ms + REFILL_DELAY_MS) {
			/* session_tick() wakes up for it. */
			if (p->took_ms + REFILL_DELAY_MS < sp->next_scan_ms)
				sp->next_scan_ms = p->took_ms + REFILL_DELAY_MS;
			continue;
		}
		if (!counted) {
			for (s = sp->all; s; s = s->next_all) {
				if (warm_starting(s, s->pool))
					starting[s->pool - sp->pools]++;
				else if (client_starting(s, now)) {
					uint64_t t = s->spawn_ms +
						     CLIENT_FIRST_MS;

					clients[s->pool - sp->pools]++;
					if (t < sp->next_scan_ms)
						sp->next_scan_ms = t;
				}
			}
			counted = true;
		}
		/* The loop comes back when that start is done. */
		if (clients[i] > 0 || !start_warm_ok(sp, p))
			continue;
		have = p->ready + starting[i];
		while (have + n < p->cfg->ready &&
		       p->live + n < p->cfg->max_sessions &&
		       p->starting + n < p->cfg->max_starting)
			n++;
		want[i] = n;
	}
}

void
pool_refill(struct sandpool *sp)
{
	uint32_t want[CONFIG_MAX_POOLS];
	int i;

	if (sp->stopping)
		return;
	for (i = 0; i < sp->npools; i++)
		retire_old(sp, &sp->pools[i]);
	pool_refill_plan(sp, now_ms(), want);
	for (i = 0; i < sp->npools; i++) {
		struct pool *p = &sp->pools[i];

		while (want[i]-- > 0) {
			uint32_t slot;

			if (pool_slot_alloc(sp, &slot) < 0)
				return;
			start_spawn(sp, session_alloc(sp, p, slot), false);
		}
	}
}

int
pool_probe(struct sandpool *sp, struct job *job, struct session **out)
{
	struct pool *p = &sp->pools[0];
	struct session *s;
	uint32_t slot;

	*out = NULL;
	if (sp->stopping)
		return -ESHUTDOWN;
	if (sp->npools < 1 || p->live >= p->cfg->max_sessions)
		return -ENOSPC;
	/* Like a warm sandbox, the probe waits for the template rather
	 * than cost a cold start while it comes up. */
	if (!start_warm_ok(sp, p))
		return -EAGAIN;
	if (pool_slot_alloc(sp, &slot) < 0)
		return -ENOSPC;
	/* Its own sandbox, never handed to a client: the probe's "1+1"
	 * must not leave `_` behind in someone's session. */
	s = session_alloc(sp, p, slot);
	s->probe = true;
	job->next = NULL;
	job->mem_limit = p->cfg->memory;
	s->q_head = s->q_tail = job;
	s->qlen = 1;
	s->refs++;
	session_mark(sp, s);
	*out = s;
	return 0;
}

void
pool_set_preload(struct sandpool *sp, struct pool *p, const char *preload)
{
	pthread_mutex_lock(&sp->lock);
	if (strcmp(p->preload, preload) != 0) {
		log_info("pool %s: preload \"%s\" -> \"%s\" for new sessions",
			 p->cfg->name, p->preload, preload);
		snprintf(p->preload, sizeof(p->preload), "%s", preload);
		p->generation++;
		retire_old(sp, p);
		/* The loop refills with the new set. */
		if (p->warm == NULL && p->cfg->ready > 0)
			sp->next_scan_ms = 0;
	}
	pthread_mutex_unlock(&sp->lock);
}
