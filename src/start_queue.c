// SPDX-License-Identifier: MIT
/*
 * start_queue.c: the starter threads' work queue (start_queue.h).
 */
#include "start_queue.h"

#include <stddef.h>

void
start_queue_init(struct start_queue *q)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = q->tail = q->last_urgent = NULL;
	q->stop = false;
}

void
start_queue_fini(struct start_queue *q)
{
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
}

void
start_queue_push(struct start_queue *q, struct start_link *l, bool urgent)
{
	struct start_link **at;

	pthread_mutex_lock(&q->lock);
	if (!urgent)
		at = q->tail ? &q->tail->next : &q->head;
	else
		at = q->last_urgent ? &q->last_urgent->next : &q->head;
	l->next = *at;
	*at = l;
	if (l->next == NULL)
		q->tail = l;
	if (urgent)
		q->last_urgent = l;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

struct start_link *
start_queue_pop(struct start_queue *q)
{
	struct start_link *l;

	pthread_mutex_lock(&q->lock);
	while (q->head == NULL && !q->stop)
		pthread_cond_wait(&q->cond, &q->lock);
	l = q->head;
	if (l) {
		q->head = l->next;
		if (q->head == NULL)
			q->tail = NULL;
		if (q->last_urgent == l)
			q->last_urgent = NULL;
		l->next = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return l;
}

void
start_queue_stop(struct start_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
