/* SPDX-License-Identifier: MIT */
/*
 * kernel.h: the protocol between the server and the in-sandbox kernel
 * (runtime/kernel.py), as described in docs/ARCHITECTURE.md.  Each frame
 * is a 4-byte big-endian length and one JSON object.  This module owns
 * the protocol: it frames and builds the requests, and it validates the
 * kernel's frames into the typed structs below, so that no other file
 * reads raw kernel JSON.  The reader is incremental (bytes arrive from a
 * non-blocking socket in any split) and enforces the size cap before it
 * allocates, because the kernel's bytes are as untrusted as the user code
 * that runs beside it.
 *
 * Nothing here takes a lock: the loop thread reads and decodes a
 * session's frames without sp->lock, then applies the decoded messages
 * under it.
 */
#ifndef SANDPOOL_KERNEL_H
#define SANDPOOL_KERNEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define KERNEL_MAX_IN (8 * 1024 * 1024)   /* server -> kernel, bytes */
#define KERNEL_MAX_OUT (64 * 1024 * 1024) /* kernel -> server, bytes */
#define KERNEL_MAX_OUTPUTS 4096 /* rich outputs in one reply */

/* ---- framing ---- */

struct kframe_reader {
	unsigned char hdr[4];
	size_t hdr_len;  /* header bytes received so far, 0..4 */
	uint32_t want;   /* body length once the header is complete */
	struct buf body; /* body bytes so far; cap = the reader's limit */
	size_t limit;    /* largest accepted body */
};

void kframe_reader_init(struct kframe_reader *r, size_t limit);
void kframe_reader_fini(struct kframe_reader *r);

/*
 * Feed n bytes.  Complete frames are parsed and passed to cb one by one; cb
 * takes ownership of the object.  Returns 0 once all n bytes are consumed,
 * or a negative errno: -EMSGSIZE for a frame over the limit,
 * -EBADMSG for a zero-length frame or a body that is not one JSON object.
 * After an error the stream is unusable and the reader must be reset.
 */
typedef void (*kframe_cb)(void *arg, json_t *msg);
int kframe_feed(struct kframe_reader *r, const void *data, size_t n,
		kframe_cb cb, void *arg);

/*
 * Encode obj as one frame appended to out.  Returns 0, or -EMSGSIZE when
 * the frame would exceed limit (out is then unchanged), or -E2BIG when out's
 * own cap is reached.
 */
int kframe_encode(const json_t *obj, size_t limit, struct buf *out);

/* ---- requests (server -> kernel) ---- */

/* KREQ_WARM is a ping that makes the kernel first run a scratch cell
 * through its execute path, so that a warm sandbox's first real cell
 * finds that path's pages already faulted in (the kernel's state is left
 * as it was); KREQ_TIDY one that makes it collect its garbage and give
 * freed heap pages back (an idle session's housekeeping).  The pong of
 * either comes after. */
enum kernel_req_kind {
	KREQ_EXECUTE,
	KREQ_SHELL,
	KREQ_PING,
	KREQ_WARM,
	KREQ_TIDY,
};

/*
 * Append the frame of one request to out: "execute" (code), "shell"
 * (command) or "ping" (text unused, may be NULL), as
 * {"op":..., "id":..., "code"|"command":..., "output_max":N}.  output_max
 * is bytes per stream, sent as at most KERNEL_MAX_OUT (the kernel caps it
 * there too).  Returns 0, or -EINVAL when id or text is NULL or not valid
 * UTF-8 (jansson refuses it), or kframe_encode's errors (out is then
 * unchanged).
 */
int kernel_encode_request(enum kernel_req_kind kind, const char *id,
			  const char *text, uint64_t output_max,
			  struct buf *out);
/* The same, with "stream": true for an execute or shell request when
 * stream is set: the kernel then sends "output" frames (KMSG_OUTPUT)
 * while the code runs, before the result. */
int kernel_encode_run(enum kernel_req_kind kind, const char *id,
		      const char *text, uint64_t output_max, bool stream,
		      struct buf *out);

/* ---- replies (kernel -> server), validated ---- */

/* The last expression of a cell, as the kernel describes it. */
enum kernel_value_kind {
	KV_BAD,    /* missing, wrong-typed or unknown: shown as "" */
	KV_EMPTY,  /* no final expression */
	KV_NONE,   /* the value None */
	KV_INT,    /* text: decimal digits with an optional '-' */
	KV_FLOAT,  /* text; number when finite (has_number) */
	KV_STR,    /* text: the string itself (may hold NULs) */
	KV_ARTIST, /* text: repr of matplotlib artist(s) */
	KV_REPR,   /* text: IPython-style pretty text */
};

/*
 * Strings in these structs are borrowed from the decoded frame that the
 * enclosing struct kernel_reply holds (or from the json_t given to the
 * *_decode functions), with their exact length: they may contain NUL.
 * They are valid UTF-8 (jansson checked them) and s[len] is a NUL, so a
 * caller that wants C text may use s and stop at the first NUL.
 */
struct kernel_str {
	const char *s; /* never NULL once decoded: "" when absent */
	size_t len;
};

/* Is s exactly lit (same length, so an embedded NUL never matches)? */
bool kernel_str_eq(const struct kernel_str *s, const char *lit);

/*
 * A new JSON string holding a copy of s (all len bytes).  It is not
 * checked again: decoded strings are valid UTF-8, and a 64 MiB stdout is
 * not worth a second pass.  Never NULL (aborts on OOM).
 */
json_t *kernel_str_json(const struct kernel_str *s);

struct kernel_value {
	enum kernel_value_kind kind;
	struct kernel_str text; /* see the kinds; "" for BAD, EMPTY, NONE */
	bool has_number;        /* KV_FLOAT with a finite "value" */
	double number;
};

enum kernel_output_type {
	KOUT_PNG,  /* data: standard base64 with padding (checked), of a PNG
		    * (not checked: the bytes only pass through) */
	KOUT_HTML, /* data: HTML text, may be "" */
};

struct kernel_output {
	enum kernel_output_type type;
	struct kernel_str data;
};

/* An error the kernel reports.  Every field is "" when absent or not a
 * string, also when there is no error at all. */
struct kernel_error {
	struct kernel_str code; /* "PythonError", "KernelExit",
				 * "ImportNotAllowed", or what the kernel
				 * sent (callers compare) */
	struct kernel_str name; /* exception class, e.g. "ValueError" */
	struct kernel_str message;
	struct kernel_str stack; /* traceback text */
};

/* One "result" frame: the answer to an execute or shell request. */
struct kernel_reply {
	json_t *frame; /* owns every string below; internal */
	char id[40];   /* the request's id (checked: at most 39 bytes, no
			* NUL) */
	struct kernel_str out, err; /* captured stdout and stderr */
	bool out_truncated, err_truncated;
	struct kernel_value value;  /* KV_BAD when absent or malformed */
	struct kernel_output *outputs; /* owned array, noutputs entries */
	size_t noutputs;
	bool has_error;
	struct kernel_error error;
	bool interrupted;    /* a KeyboardInterrupt ended the run */
	bool has_exit_code;  /* shell: "exit_code" was an integer */
	int64_t exit_code;   /* the command's exit status; 0 when absent */
	bool has_exit;       /* the code called sys.exit(): "exit" was an
			      * integer 0..255; the kernel exits next */
	int exit_status;     /* 0..255; 0 when absent */
	double duration_ms;  /* as the kernel measured it; finite, >= 0
			      * (0 when absent, negative or not finite) */
};

/*
 * One "output" frame of a streaming run: what the code wrote and showed
 * since the previous frame, in order.  The kernel coalesces it (a frame
 * at most every 50 ms) and streams only what the result keeps, so the
 * events never add up to more than the result's own outputs.
 */
enum kernel_event_type {
	KEV_STDOUT, /* data: text */
	KEV_STDERR,
	KEV_PNG,    /* data: base64 of a PNG, checked as in kernel_output */
	KEV_HTML,   /* data: HTML text */
};

struct kernel_event {
	enum kernel_event_type type;
	struct kernel_str data;
};

#define KERNEL_MAX_EVENTS 1024 /* items of one output frame kept */

struct kernel_events {
	json_t *frame; /* owns the strings; internal */
	char id[40];   /* the request's id (checked as a result's) */
	struct kernel_event *ev; /* owned array */
	size_t n;
};

void kernel_events_free(struct kernel_events *e);

enum kernel_msg_type {
	KMSG_READY,  /* startup done */
	KMSG_RESULT, /* reply is set */
	KMSG_OUTPUT, /* events is set */
	KMSG_FATAL,  /* startup failed; text holds the message */
	KMSG_PONG,
};

struct kernel_msg {
	enum kernel_msg_type type;
	char text[256]; /* READY: "python"; FATAL: "message"; cut at the
			 * first NUL or to fit, on a UTF-8 boundary; "" when
			 * absent */
	char id[40];    /* PONG: the ping's id; "" unless a string of at
			 * most 39 bytes without NUL */
	struct kernel_reply *reply; /* RESULT: owned; else NULL */
	struct kernel_events *events; /* OUTPUT: owned; else NULL */
};

/*
 * Validate one decoded frame into m.  Takes ownership of frame (it is
 * kept inside m->reply for a result or m->events for an output frame,
 * else released, also on error).  Returns 0, or -EBADMSG when the frame
 * is not a message the kernel may send: not an object, no or unknown "op"
 * (compared exactly), a result or output frame without a string "id" of
 * at most 39 bytes and no NUL.  An output frame's items that are not
 * {"type":"stdout"|"stderr","text":S}, a valid image or html output are
 * skipped, and only the first KERNEL_MAX_EVENTS are kept.  Optional fields
 * of the wrong type are treated as absent, as a confused kernel must not
 * become a server error; every size is bounded by the frame, which the
 * reader capped.  m is always initialised: call kernel_msg_fini()
 * afterwards, whatever the result.
 */
int kernel_decode(json_t *frame, struct kernel_msg *m);
void kernel_msg_fini(struct kernel_msg *m);

/* Free a reply (NULL is a no-op). */
void kernel_reply_free(struct kernel_reply *r);

/*
 * Decode the RESULT object and the outputs array on their own (borrowed
 * from obj; used by kernel_decode and by the unit tests of result.c).
 * A NULL or malformed value gives KV_BAD: no object, an unknown "kind",
 * or an int whose "text" is not -?[0-9]+.  A missing or wrong-typed
 * "text" ("value" for str) of a known kind is "".  Outputs that are not
 * a valid image ({"type":"image","format":"png","data":BASE64}) or html
 * ({"type":"html","data":STRING}) are skipped, and only the first
 * KERNEL_MAX_OUTPUTS valid ones are kept.  kernel_outputs_decode returns
 * the count and a new array in *out that the caller frees with free()
 * (NULL when the count is 0); arr may be NULL or not an array (0).
 */
void kernel_value_decode(const json_t *obj, struct kernel_value *v);
size_t kernel_outputs_decode(const json_t *arr, struct kernel_output **out);

#endif
