// SPDX-License-Identifier: MIT
/*
 * sse.c: an event-stream body fed from another thread (sse.h).  Pending
 * events are kept as items, not bytes: a text item grows while the
 * client does not read, and an item is serialised only when MHD asks for
 * bytes, so what a slow client has not taken is at most one copy of the
 * text (plus the JSON objects queued), never a backlog of framed copies.
 */
#define _GNU_SOURCE
#include "sse.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct item {
	char event[16];
	struct buf text; /* a text event's text, or */
	json_t *json;    /* a JSON event's data */
	struct item *next;
};

struct sse {
	pthread_mutex_t lock;
	int refs;
	struct MHD_Connection *conn; /* NULL before sse_response / once gone */
	bool suspended;              /* the reader parked conn */
	bool ended;
	bool gone;
	struct item *head, *tail;
	size_t pending;              /* bytes of the items */
	struct buf out;              /* serialised, not yet read */
	size_t out_off;
	unsigned long long seq;
};

struct sse *
sse_new(void)
{
	struct sse *x = xcalloc(1, sizeof(*x));

	pthread_mutex_init(&x->lock, NULL);
	x->refs = 1;
	buf_init(&x->out, SIZE_MAX);
	return x;
}

static void
item_free(struct item *it)
{
	buf_fini(&it->text);
	json_decref(it->json);
	free(it);
}

void
sse_unref(struct sse *x)
{
	struct item *it, *next;
	bool last;

	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	last = --x->refs == 0;
	pthread_mutex_unlock(&x->lock);
	if (!last)
		return;
	for (it = x->head; it; it = next) {
		next = it->next;
		item_free(it);
	}
	buf_fini(&x->out);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

/* Let the reader see new items.  x->lock held. */
static void
kick(struct sse *x)
{
	if (x->suspended && x->conn) {
		x->suspended = false;
		MHD_resume_connection(x->conn);
	}
}

static void
push(struct sse *x, struct item *it)
{
	if (x->tail)
		x->tail->next = it;
	else
		x->head = it;
	x->tail = it;
}

void
sse_text(struct sse *x, const char *event, const char *text, size_t len)
{
	struct item *it;

	if (len == 0)
		return;
	pthread_mutex_lock(&x->lock);
	if (x->gone || x->ended)
		goto out;
	it = x->tail;
	if (it == NULL || it->json || strcmp(it->event, event) != 0) {
		it = xcalloc(1, sizeof(*it));
		snprintf(it->event, sizeof(it->event), "%s", event);
		buf_init(&it->text, SIZE_MAX);
		push(x, it);
	}
	buf_append(&it->text, text, len);
	x->pending += len;
	kick(x);
out:
	pthread_mutex_unlock(&x->lock);
}

void
sse_json(struct sse *x, const char *event, json_t *o)
{
	struct item *it;

	pthread_mutex_lock(&x->lock);
	if (x->gone || x->ended) {
		pthread_mutex_unlock(&x->lock);
		json_decref(o);
		return;
	}
	it = xcalloc(1, sizeof(*it));
	snprintf(it->event, sizeof(it->event), "%s", event);
	it->json = o;
	push(x, it);
	kick(x);
	pthread_mutex_unlock(&x->lock);
}

void
sse_end(struct sse *x)
{
	pthread_mutex_lock(&x->lock);
	x->ended = true;
	kick(x);
	pthread_mutex_unlock(&x->lock);
}

/* Serialise the first item into x->out.  x->lock held. */
static void
serialise(struct sse *x)
{
	struct item *it = x->head;
	json_t *o = it->json;
	char *s;

	x->head = it->next;
	if (x->head == NULL)
		x->tail = NULL;
	if (o == NULL) {
		x->pending -= it->text.len;
		o = json_object();
		json_object_set_new(o, "text",
				    json_stringn_nocheck(it->text.data,
							 it->text.len));
	} else {
		json_incref(o);
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s) {
		buf_printf(&x->out, "id: %llu\nevent: %s\ndata: %s\n\n",
			   ++x->seq, it->event, s);
		free(s);
	}
	item_free(it);
}

static ssize_t
reader(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct sse *x = cls;
	ssize_t n = 0;

	(void)pos;
	pthread_mutex_lock(&x->lock);
	if (x->out_off == x->out.len && x->head) {
		buf_reset(&x->out);
		x->out_off = 0;
		serialise(x);
	}
	if (x->out_off < x->out.len) {
		size_t left = x->out.len - x->out_off;

		n = (ssize_t)(left < max ? left : max);
		memcpy(dst, x->out.data + x->out_off, (size_t)n);
		x->out_off += (size_t)n;
	} else if (x->ended) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		/* Nothing yet: park the connection until kick(). */
		x->suspended = true;
		MHD_suspend_connection(x->conn);
	}
	pthread_mutex_unlock(&x->lock);
	return n;
}

static void
reader_free(void *cls)
{
	struct sse *x = cls;

	pthread_mutex_lock(&x->lock);
	x->gone = true;
	x->conn = NULL;
	pthread_mutex_unlock(&x->lock);
	sse_unref(x);
}

struct MHD_Response *
sse_response(struct sse *x, struct MHD_Connection *conn)
{
	struct MHD_Response *r;

	pthread_mutex_lock(&x->lock);
	x->conn = conn;
	x->refs++; /* MHD's, dropped by reader_free */
	pthread_mutex_unlock(&x->lock);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
					      reader, x, reader_free);
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return r;
}
