// SPDX-License-Identifier: MIT
/*
 * health.c: the startup probe behind GET /health/startup.  health_tick()
 * (loop thread, lock held) queues "1+1" on a sandbox of its own; the
 * job's callback (loop thread, no lock) checks that the kernel answered
 * the integer 2, records the verdict, and destroys the probe's session.
 * A failure is logged and retried after HEALTH_RETRY_MS, so a server whose
 * sandboxes cannot run code never reports ready.
 */
#define _GNU_SOURCE
#include "health.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "pool.h"
#include "session.h"

#define PROBE_TIMEOUT_S 60

struct probe_call {
	struct sandpool *sp;
	struct session *s; /* a reference */
};

/* Did the kernel answer "1+1" with the integer 2? */
static bool
probe_passed(const struct job *j)
{
	const struct kernel_reply *r = j->reply;

	return j->outcome == JOB_OK && r != NULL && !r->has_error &&
	       r->value.kind == KV_INT && kernel_str_eq(&r->value.text, "2");
}

static void
probe_done(struct job *j, void *arg)
{
	struct probe_call *c = arg;
	struct sandpool *sp = c->sp;
	bool ok = probe_passed(j);

	pthread_mutex_lock(&sp->lock);
	if (ok) {
		sp->probe_state = HEALTH_PROBE_OK;
	} else {
		sp->probe_state = HEALTH_PROBE_IDLE;
		/* Cancelled: its template was not up yet; try again as
		 * soon as one is (start_warm_ok). */
		sp->probe_next_ms = now_ms() + (j->outcome == JOB_CANCELLED
							? HEALTH_SOON_MS
							: HEALTH_RETRY_MS);
	}
	pthread_mutex_unlock(&sp->lock);
	if (ok)
		log_info(
			"startup probe: 1+1 = 2 in %llu ms",
			(unsigned long long)(j->finished_ms - j->submitted_ms));
	else if (j->outcome != JOB_SHUTDOWN && j->outcome != JOB_CANCELLED)
		log_warnx("session=%s startup probe failed (%s); retrying",
			  c->s->sid, j->detail[0] ? j->detail : "wrong answer");
	session_destroy(sp, c->s);
	session_unref(sp, c->s);
	job_free(j);
	free(c);
}

void
health_tick(struct sandpool *sp)
{
	struct probe_call *c;
	struct session *s = NULL;
	struct job *j;
	int rc;

	if (sp->probe_state != HEALTH_PROBE_IDLE || sp->stopping ||
	    now_ms() < sp->probe_next_ms)
		return;
	j = job_new(JOB_EXECUTE, "1+1", PROBE_TIMEOUT_S, 4096);
	c = xcalloc(1, sizeof(*c));
	c->sp = sp;
	j->done = probe_done;
	j->arg = c;
	rc = pool_probe(sp, j, &s);
	if (rc < 0) {
		sp->probe_next_ms =
			now_ms() + (rc == -EAGAIN ? HEALTH_SOON_MS
						  : HEALTH_RETRY_MS);
		job_free(j);
		free(c);
		return;
	}
	c->s = s;
	sp->probe_state = HEALTH_PROBE_RUNNING;
}

bool
health_startup_ready(struct sandpool *sp)
{
	bool ok;
	int i;

	pthread_mutex_lock(&sp->lock);
	ok = sp->startup_done;
	if (!ok && sp->probe_state == HEALTH_PROBE_OK) {
		for (i = 0; i < sp->npools; i++)
			if (sp->pools[i].ready < sp->pools[i].cfg->ready)
				break;
		if (i == sp->npools)
			ok = sp->startup_done = true;
	}
	pthread_mutex_unlock(&sp->lock);
	return ok;
}
