/* SPDX-License-Identifier: MIT */
/*
 * sse.h: a text/event-stream response body fed by a producer on another
 * thread (the loop thread, with the output of a running execution).
 *
 * The producer adds events; MHD's reader takes them when the client's
 * socket has room.  Nothing waits: when nothing is pending the reader
 * suspends the connection and the next event resumes it.  A slow reader
 * costs bounded memory: pending text events of the same name are merged
 * into one (coalesced) rather than queued, and the producer's own caps
 * (the execution's output cap) bound the text.  The struct is shared by
 * the producer and MHD, under its own lock, and freed by the last holder.
 */
#ifndef SANDPOOL_SSE_H
#define SANDPOOL_SSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct MHD_Response;
struct sse;

/* A new stream with one reference (the producer's). */
struct sse *sse_new(void);
void sse_unref(struct sse *x);

/*
 * The response that reads x, for conn (MHD's reference, dropped when MHD
 * frees the response).  Call once.
 */
struct MHD_Response *sse_response(struct sse *x, struct MHD_Connection *conn);

/*
 * A text event: event name, data {"text": TEXT} (text[0..len), which may
 * hold NULs).  While the client has not taken the previous event of the
 * same name it is appended to that event instead.
 */
void sse_text(struct sse *x, const char *event, const char *text,
	      size_t len);
/* An event whose data is the JSON object o (stolen). */
void sse_json(struct sse *x, const char *event, json_t *o);
/* Nothing follows: the body ends once the client took what is pending. */
void sse_end(struct sse *x);

#endif
