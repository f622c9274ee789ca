// SPDX-License-Identifier: MIT
/*
 * loop.c: the event loop thread.  It owns no state of its own: every
 * event is handed to session.c (under sp->lock, but for the reading of
 * the kernels' frames), and the callbacks of jobs that finished meanwhile
 * run after the lock is dropped, so that an HTTP layer resuming a
 * connection never holds the session lock.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "session.h"

#define MAX_EVENTS 64

static struct watch wake_watch = {W_WAKE, NULL};

static void
run_output(struct job_output *o)
{
	while (o) {
		struct job_output *next = o->next;

		o->job->output(o->job, o->ev, o->job->arg);
		job_output_free(o);
		o = next;
	}
}

static void
run_callbacks(struct job *j)
{
	while (j) {
		struct job *next = j->next;

		j->next = NULL;
		j->done(j, j->arg); /* the callback owns j from here */
		j = next;
	}
}

/*
 * One batch of events in three steps: the control sockets are read and
 * their frames decoded without the lock (a reply can be 64 MiB of JSON);
 * then, under the lock, their messages are applied before any pid 1
 * exit of the same batch (what a kernel wrote before it died counts),
 * then the rest.
 */
static void *
loop_main(void *arg)
{
	struct sandpool *sp = arg;
	struct epoll_event ev[MAX_EVENTS];
	struct session_input in[MAX_EVENTS];
	int timeout = 0;

	for (;;) {
		int n, i;
		struct job *done;
		struct job_output *out;
		bool quit;

		n = epoll_wait(sp->epfd, ev, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			log_warn("epoll_wait");
			n = 0;
		}
		/* Only this thread frees sessions or closes their control
		 * sockets, so both are safe to use unlocked here. */
		for (i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			if (w->kind == W_CTL)
				session_read_ctl(w->s, ev[i].events, &in[i]);
		}
		pthread_mutex_lock(&sp->lock);
		for (i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			if (w->kind == W_CTL)
				session_on_ctl(sp, w->s, &in[i]);
		}
		for (i = 0; i < n; i++) {
			struct watch *w = ev[i].data.ptr;

			/* Torn down by an earlier event of this batch: its
			 * fds are closed and it is freed after the batch. */
			if (w->s && w->s->state == SESSION_CLOSED)
				continue;

			switch (w->kind) {
			case W_WAKE: {
				uint64_t v;

				if (read(sp->wakefd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					log_warn("wakefd");
				break;
			}
			case W_CTL:
				break;
			case W_PID:
				session_on_exit(sp, w->s);
				break;
			case W_OOM:
				session_on_oom(sp, w->s);
				break;
			}
		}
		timeout = session_tick(sp);
		out = session_take_output(sp);
		done = session_take_done(sp);
		quit = !sp->loop_running && sessions_all_gone(sp);
		pthread_mutex_unlock(&sp->lock);
		run_output(out);
		run_callbacks(done);
		if (quit)
			break;
	}
	return NULL;
}

int
loop_start(struct sandpool *sp)
{
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &wake_watch};
	int rc;

	sp->epfd = epoll_create1(EPOLL_CLOEXEC);
	sp->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sp->epfd < 0 || sp->wakefd < 0)
		return -errno;
	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, sp->wakefd, &e) < 0)
		return -errno;
	sp->loop_running = true;
	rc = pthread_create(&sp->loop_thread, NULL, loop_main, sp);
	if (rc != 0) {
		sp->loop_running = false;
		return -rc;
	}
	return 0;
}

static void
poke(struct sandpool *sp)
{
	uint64_t one = 1;

	if (write(sp->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("wakefd");
}

void
loop_stop(struct sandpool *sp, uint32_t drain_ms)
{
	uint64_t until = now_ms() + drain_ms;
	uint32_t left;

	pthread_mutex_lock(&sp->lock);
	sp->stopping = true;
	pthread_mutex_unlock(&sp->lock);
	/* Drain: let running and queued executions finish, bounded. */
	for (;;) {
		pthread_mutex_lock(&sp->lock);
		left = sessions_inflight(sp);
		pthread_mutex_unlock(&sp->lock);
		if (left == 0 || now_ms() >= until)
			break;
		usleep(20 * 1000);
	}
	if (left)
		log_warnx("shutdown: %u executions still running; killing "
			  "them",
			  left);
	pthread_mutex_lock(&sp->lock);
	sp->loop_running = false;
	sessions_kill_all(sp);
	pthread_mutex_unlock(&sp->lock);
	poke(sp);
	pthread_join(sp->loop_thread, NULL);
	close(sp->epfd);
	close(sp->wakefd);
	sp->epfd = sp->wakefd = -1;
}
