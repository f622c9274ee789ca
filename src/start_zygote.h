/* SPDX-License-Identifier: MIT */
/*
 * start_zygote.h: the zygote backend of the start path
 * (start_zygote.c): one warm template process per preload set, forked
 * into each new sandbox; and the manager thread that starts, watches,
 * rotates and retires the templates.
 */
#ifndef SANDPOOL_START_ZYGOTE_H
#define SANDPOOL_START_ZYGOTE_H

#include "start.h"

enum start_zygote_state {
	START_ZYGOTE_UP,     /* a template answers spawn requests */
	START_ZYGOTE_COMING, /* one is starting, or will after a short wait */
	START_ZYGOTE_DOWN,   /* it keeps failing: use the launcher */
};

/* Start the manager thread and a template for each pool's preload set
 * (of pools that use the zygote).  Returns 0 or -errno. */
int start_zygote_init(struct sandpool *sp);

/* Kill every template and join the manager.  Live sandboxes are not
 * affected: they are the server's children, not the templates'. */
void start_zygote_fini(struct sandpool *sp);

/* Any thread: the state of the template for preload. */
enum start_zygote_state start_zygote_state(struct sandpool *sp,
					   const char *preload);

/*
 * Starter thread, no lock: fork the template of spec->preload into a new
 * sandbox, write its uid maps and release it.  Returns 0 with r->pid1,
 * r->pidfd, r->errfd and r->backend set; -EAGAIN when no template is up
 * (the caller falls back or waits); another -errno with r->why when the
 * template could not fork (e.g. -EAGAIN from clone is reported as
 * -EBUSY) or failed mid-request (it is then restarted).
 */
int start_zygote_spawn(struct sandpool *sp, const struct start_spec *spec,
		       struct start_result *r);

/*
 * SIGHUP, sp->lock held: the preload sets the pools use now.  Templates
 * for new sets are started; those no pool uses any more are retired.
 */
void start_zygote_update(struct sandpool *sp);

#endif
