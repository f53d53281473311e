// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact runtime: a binary min-heap of timers (by deadline, then by the
 * order they were scheduled in), each timer knowing its position so that a
 * cancelled one leaves in O(log n); and the u64-keyed hash table the
 * runtime uses for actors, pending requests and timer ids.
 */
#include <errno.h>
#include <stdlib.h>

#include "runtime_private.h"

/* --- hash table ------------------------------------------------------------ */

static size_t slot(const struct htab *h, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & h->mask;
}

int htab_init(struct htab *h, size_t size)
{
	h->b = calloc(size, sizeof(*h->b));
	if (!h->b)
		return -ENOMEM;
	h->mask = size - 1;
	h->n = 0;
	return 0;
}

void htab_free(struct htab *h)
{
	free(h->b);
	h->b = NULL;
	h->n = 0;
}

struct hnode *htab_get(const struct htab *h, uint64_t key)
{
	struct hnode *n;

	for (n = h->b[slot(h, key)]; n; n = n->next)
		if (n->key == key)
			return n;
	return NULL;
}

/* Doubles the buckets; on ENOMEM the table stays as it is, only slower. */
static void grow(struct htab *h)
{
	struct htab bigger;
	size_t i;

	if (htab_init(&bigger, (h->mask + 1) * 2))
		return;
	for (i = 0; i <= h->mask; i++) {
		struct hnode *n = h->b[i], *next;

		for (; n; n = next) {
			size_t s = slot(&bigger, n->key);

			next = n->next;
			n->next = bigger.b[s];
			bigger.b[s] = n;
		}
	}
	bigger.n = h->n;
	free(h->b);
	*h = bigger;
}

int htab_put(struct htab *h, struct hnode *node)
{
	size_t s;

	if (h->n >= 2 * (h->mask + 1))
		grow(h);
	s = slot(h, node->key);
	node->next = h->b[s];
	h->b[s] = node;
	h->n++;
	return 0;
}

struct hnode *htab_del(struct htab *h, uint64_t key)
{
	struct hnode **pp, *n;

	for (pp = &h->b[slot(h, key)]; (n = *pp); pp = &n->next) {
		if (n->key == key) {
			*pp = n->next;
			h->n--;
			return n;
		}
	}
	return NULL;
}

/* --- timer heap ------------------------------------------------------------ */

static bool before(const struct timer *a, const struct timer *b)
{
	return a->deadline < b->deadline ||
	       (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(struct timer_heap *h, size_t i, struct timer *t)
{
	h->a[i] = t;
	t->hidx = i;
}

static void sift_up(struct timer_heap *h, size_t i)
{
	struct timer *t = h->a[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (!before(t, h->a[parent]))
			break;
		place(h, i, h->a[parent]);
		i = parent;
	}
	place(h, i, t);
}

static void sift_down(struct timer_heap *h, size_t i)
{
	struct timer *t = h->a[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->a[c + 1], h->a[c]))
			c++;
		if (!before(h->a[c], t))
			break;
		place(h, i, h->a[c]);
		i = c;
	}
	place(h, i, t);
}

int theap_push(struct timer_heap *h, struct timer *t)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct timer **a = realloc(h->a, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		h->a = a;
		h->cap = cap;
	}
	t->seq = h->seq++;
	place(h, h->n++, t);
	sift_up(h, t->hidx);
	return 0;
}

void theap_remove(struct timer_heap *h, struct timer *t)
{
	size_t i = t->hidx;
	struct timer *last;

	if (i >= h->n || h->a[i] != t)
		return;
	last = h->a[--h->n];
	if (last == t)
		return;
	place(h, i, last);
	if (i && before(last, h->a[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct timer *theap_pop(struct timer_heap *h)
{
	struct timer *t = theap_top(h);

	if (t)
		theap_remove(h, t);
	return t;
}
