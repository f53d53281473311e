/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libvact runtime internals, shared by runtime.c (workers, dispatch,
 * request/reply) and timer.c (the per-worker timer heap).
 *
 * Everything in a struct worker except the inbox and the atomics is touched
 * only by the thread that runs the worker: its own thread, or with
 * VACT_RUNTIME_MANUAL whoever calls vact_runtime_poll (one at a time).
 */
#ifndef VACT_RUNTIME_PRIVATE_H
#define VACT_RUNTIME_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vact_private.h"

/* Kernel type number of the runtime's own actors (worker control, client). */
#define VACT_TYPE_INTERNAL	0xffffffffu

/* An intrusive hash table keyed by u64 (actor ids, correlations, timers). */
struct hnode {
	uint64_t key;
	struct hnode *next;
};

struct htab {
	struct hnode **b;
	size_t mask;
	size_t n;
};

int htab_init(struct htab *h, size_t size);
void htab_free(struct htab *h);
struct hnode *htab_get(const struct htab *h, uint64_t key);
int htab_put(struct htab *h, struct hnode *node);
struct hnode *htab_del(struct htab *h, uint64_t key);

enum timer_kind {
	TIMER_AFTER,		/* send a plain message once */
	TIMER_TICK,		/* periodic tick to the actor itself */
	TIMER_REQUEST,		/* a request's timeout */
};

struct timer {
	struct hnode node;	/* key: timer id (not for TIMER_REQUEST) */
	uint64_t deadline;	/* CLOCK_MONOTONIC ns */
	uint64_t seq;		/* ties broken in scheduling order */
	uint64_t actor;
	uint64_t interval;
	uint64_t to;
	uint64_t tag;		/* TIMER_REQUEST: the correlation id */
	uint64_t ticks;
	size_t hidx;		/* position in the heap */
	enum timer_kind kind;
	bool cancelled;		/* cancelled while its callback runs */
	uint32_t len;
	unsigned char data[];
};

struct timer_heap {
	struct timer **a;
	size_t n, cap;
	uint64_t seq;
};

int theap_push(struct timer_heap *h, struct timer *t);
struct timer *theap_pop(struct timer_heap *h);
void theap_remove(struct timer_heap *h, struct timer *t);
static inline struct timer *theap_top(const struct timer_heap *h)
{
	return h->n ? h->a[0] : NULL;
}

static inline uint64_t vact_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * @ns from @from, as a deadline the worker loop can compare as int64_t:
 * a delay too long for that means never, not a wrapped time that is due at
 * once.
 */
static inline uint64_t vact_deadline(uint64_t from, uint64_t ns)
{
	return ns >= (uint64_t)INT64_MAX - from ? (uint64_t)INT64_MAX : from + ns;
}

#endif /* VACT_RUNTIME_PRIVATE_H */
