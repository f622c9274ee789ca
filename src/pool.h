/* SPDX-License-Identifier: MIT */
/*
 * pool.h: the pools of warm sandboxes (pool.c).  Each configured pool
 * keeps `ready` sandboxes started, with the kernel up and the preloads
 * imported, on its warm list: sessions with no identifier yet.  A new
 * identifier takes one; refill starts replacements in the background,
 * at most max_starting at a time, within max_sessions.  Here too: the
 * uid slot map (a slot is a session's range of host uids) and the
 * startup probe's own sandbox.  Everything is under sp->lock.
 */
#ifndef SANDPOOL_POOL_H
#define SANDPOOL_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct sandpool;
struct session;
struct job;

#define POOL_SLOT_STRIDE 2048 /* host uids per slot: inside 0 and 1000 */

/* Runtime state of one configured pool. */
struct pool {
	const struct pool_config *cfg;
	uint32_t live;     /* sessions holding a slot (warm ones included) */
	uint32_t ready;    /* warm sandboxes with no identifier yet */
	uint32_t starting; /* sandboxes being started right now */
	struct session *warm; /* list of ready warm sessions (next_warm) */
	/* The preload set new sandboxes get.  A SIGHUP that changes it
	 * bumps generation; warm sandboxes of an older one are replaced. */
	char preload[sizeof(((struct pool_config *)0)->preload)];
	uint32_t generation;
	uint64_t took_ms;  /* monotonic: a client last took a warm sandbox */
};

/* Set up sp->pools from sp->cfg and the slot map.  Returns 0. */
int pools_init(struct sandpool *sp);
void pools_fini(struct sandpool *sp);

/* The pool called name, or NULL. */
struct pool *pool_find(struct sandpool *sp, const char *name);

/* Take a free uid slot.  Returns 0, or -ENOSPC when all are used. */
int pool_slot_alloc(struct sandpool *sp, uint32_t *slot);
void pool_slot_free(struct sandpool *sp, uint32_t slot);

/*
 * A sandbox for a new identifier in p: the first warm one (kernel up),
 * else a warm one still starting (counted in live already; the job waits
 * for its kernel), else NULL (the caller makes a new session if p is
 * below max_sessions).  The session leaves the warm list.
 */
struct session *pool_take(struct sandpool *sp, struct pool *p);

/* s's kernel is ready: put it on its pool's warm list if it is a warm
 * sandbox of the pool's current preload generation. */
void pool_ready(struct sandpool *sp, struct session *s);

/* Remove s from its pool's warm list if it is on it. */
void pool_unlist(struct sandpool *sp, struct session *s);

/*
 * Loop thread: start warm sandboxes until each pool has its ready
 * count, and retire warm ones of an old preload generation.
 */
void pool_refill(struct sandpool *sp);
/* What pool_refill() would start now (monotonic ms): want[i] sandboxes
 * for pool i.  None while the pool has its ready ones, within
 * REFILL_DELAY_MS of a client's take, while a client's own sandbox of
 * that pool is starting (for up to CLIENT_FIRST_MS), or while its
 * template is coming; never past max_sessions or max_starting. */
void pool_refill_plan(struct sandpool *sp, uint64_t now, uint32_t *want);

/*
 * The startup probe (health.c): take a new session in the first pool
 * that is never offered as a warm sandbox, queue job on it and start its
 * sandbox.  On success *out holds a reference (drop it with
 * session_unref, after session_destroy) and job->done will be called.
 * Returns 0, or -ENOSPC (no slot) / -ESHUTDOWN (stopping) /
 * -EAGAIN (the template is still coming up), keeping job.
 */
int pool_probe(struct sandpool *sp, struct job *job, struct session **out);

/*
 * SIGHUP (main thread): set p's preload set to preload.  New sandboxes
 * get it; warm ones with the old set are replaced.  Takes sp->lock.
 */
void pool_set_preload(struct sandpool *sp, struct pool *p,
		      const char *preload);

#endif
