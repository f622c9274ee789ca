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

/* A spawn request sent to a template: a sandbox being forked. */
struct start_zygote_child {
	void *z;          /* the template, referenced (start_zygote.c) */
	uint64_t ticket;  /* the order of its answer */
	uint64_t id;      /* the request's id */
	pid_t pid;        /* its pid 1, our child, once answered */
	int release;      /* our end of the release socket */
	int errfd;        /* read end of its error pipe */
};

/*
 * Starter thread, no lock: ask the template of spec->preload to fork a
 * new sandbox (spec->ctl, the limits; the session's data directory and
 * cgroups are not needed yet), without waiting for it.  Returns 0 with
 * *c filled, to be released or abandoned; -EAGAIN with r->why when no
 * template is up or it broke (the caller falls back or waits).
 */
int start_zygote_fork(struct sandpool *sp, const struct start_spec *spec,
		      struct start_result *r, struct start_zygote_child *c);

/*
 * Wait for c's fork, write its uid maps for spec->uid0 and release it
 * with the session's data directory (spec->data_dir, as a detached tree)
 * and cgroup attach files (spec->cgroup_fds).  Consumes c.  Returns 0
 * with r->pid1, r->pidfd, r->errfd and r->backend set; or -errno with
 * r->why: -EBUSY when the template could not fork (e.g. EAGAIN from
 * clone), -EAGAIN when it failed mid-request (it is then restarted),
 * another when the release failed (the child is killed and reaped).
 */
int start_zygote_release(struct sandpool *sp, const struct start_spec *spec,
			 struct start_result *r, struct start_zygote_child *c);

/* Wait for c's fork and kill and reap the child instead (its session
 * could not be prepared).  Consumes c. */
void start_zygote_abandon(struct sandpool *sp, struct start_zygote_child *c);

/*
 * SIGHUP, sp->lock held: the preload sets the pools use now.  Templates
 * for new sets are started; those no pool uses any more are retired.
 */
void start_zygote_update(struct sandpool *sp);

#endif
