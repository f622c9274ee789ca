// SPDX-License-Identifier: MIT
/*
 * test_start_queue.c: the starter threads' queue (src/start_queue.c):
 * what a client waits for goes before a refill, each class in its
 * order, and a stop ends the waiting starters once the queue is empty.
 */
#include <pthread.h>
#include <string.h>

#include "start_queue.h"
#include "t.h"

struct item {
	struct start_link link;
	char name;
};

static char
pop_name(struct start_queue *q)
{
	struct start_link *l = start_queue_pop(q);

	return l ? ((struct item *)l)->name : '-';
}

TEST(clients_first_each_class_in_order)
{
	struct start_queue q;
	struct item it[6];
	const char *names = "rRcCsD"; /* refill, client, ... */
	const bool urgent[6] = {false, false, true, true, false, true};
	char got[7] = {0};
	int i;

	start_queue_init(&q);
	for (i = 0; i < 6; i++) {
		it[i].name = names[i];
		start_queue_push(&q, &it[i].link, urgent[i]);
	}
	start_queue_stop(&q); /* what is queued is still handed out */
	for (i = 0; i < 6; i++)
		got[i] = pop_name(&q);
	CHECK_STR(got, "cCDrRs");
	CHECK(pop_name(&q) == '-');
	start_queue_fini(&q);
}

TEST(urgent_after_the_last_urgent_popped)
{
	struct start_queue q;
	struct item a = {.name = 'a'}, b = {.name = 'b'}, c = {.name = 'c'},
		    d = {.name = 'd'};

	start_queue_init(&q);
	start_queue_push(&q, &a.link, true);
	start_queue_push(&q, &b.link, false);
	CHECK(pop_name(&q) == 'a');
	/* a was the last urgent one and is gone: c goes to the head. */
	start_queue_push(&q, &c.link, true);
	start_queue_push(&q, &d.link, false);
	CHECK(pop_name(&q) == 'c');
	CHECK(pop_name(&q) == 'b');
	CHECK(pop_name(&q) == 'd');
	/* Empty again: the tail is reset, a push is the only item. */
	start_queue_push(&q, &a.link, false);
	CHECK(pop_name(&q) == 'a');
	start_queue_fini(&q);
}

static void *
waiter(void *arg)
{
	return start_queue_pop(arg);
}

TEST(stop_wakes_waiting_starters)
{
	struct start_queue q;
	struct item a = {.name = 'a'};
	pthread_t t1, t2;
	void *r1, *r2;

	start_queue_init(&q);
	CHECK_INT(pthread_create(&t1, NULL, waiter, &q), ==, 0);
	CHECK_INT(pthread_create(&t2, NULL, waiter, &q), ==, 0);
	start_queue_push(&q, &a.link, false);
	start_queue_stop(&q);
	pthread_join(t1, &r1);
	pthread_join(t2, &r2);
	/* One of them got the item, the other the end. */
	CHECK((r1 == &a.link && r2 == NULL) || (r2 == &a.link && r1 == NULL));
	start_queue_fini(&q);
}

T_MAIN()
