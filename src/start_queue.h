// SPDX-License-Identifier: MIT
/*
 * start_queue.h: the starter threads' work queue (start.c).
 *
 * Two classes, each first in, first out: what a client waits for (its
 * own sandbox, a data directory for its file) before what nobody waits
 * for (a refill's warm sandbox, a cleanup), so that a burst of new
 * identifiers is not served after the refill that it set off.  Items are
 * links embedded in the caller's requests; the queue owns none.
 */
#ifndef SANDPOOL_START_QUEUE_H
#define SANDPOOL_START_QUEUE_H

#include <pthread.h>
#include <stdbool.h>

struct start_link {
	struct start_link *next;
};

struct start_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* last_urgent: the last of the first class, or NULL. */
	struct start_link *head, *tail, *last_urgent;
	bool stop;
};

void start_queue_init(struct start_queue *q);
void start_queue_fini(struct start_queue *q);

/* Add l at the end of its class, and wake one waiting starter. */
void start_queue_push(struct start_queue *q, struct start_link *l,
		      bool urgent);

/* The first item, waiting for one; NULL once the queue is stopped and
 * empty (what was queued before the stop is still handed out). */
struct start_link *start_queue_pop(struct start_queue *q);

/* Wake every waiting starter for the end. */
void start_queue_stop(struct start_queue *q);

#endif
