// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * GPU tests of the vgpu persistent kernel, printed as KTAP.  They need an
 * NVIDIA GPU and no module: every test runs in loopback mode, where this
 * program is the kernel side of each slot's rings (vgpu_lo_post/take, the
 * same ring layout and index rules as /dev/vactor).  Each test launches its
 * own kernel and checks exact counts: messages, events, restarts.
 *
 *   gpu_test [NAME...]     only the tests whose names contain NAME
 *
 * Exit status: 0 all passed, 1 a failure, 4 no GPU (everything skipped).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgpu_cuda.h"

#include "vgpu.h"

#ifndef VGPU_EMULATE
#define WAIT_NS		5000000000LL
#else
#define WAIT_NS		60000000000LL	/* CPU threads on a shared, loaded host */
#endif
#define HOST_ACTOR	0x686f737400000001ull	/* "host": a CPU actor id */

static int fail;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		fail = 1;						\
	}								\
} while (0)

#define CHECK_EQ(want, got) do {					\
	long long w_ = (long long)(want), g_ = (long long)(got);	\
	if (w_ != g_) {							\
		printf("# %s:%d: %s == %lld, expected %s == %lld\n",	\
		       __FILE__, __LINE__, #got, g_, #want, w_);	\
		fail = 1;						\
	}								\
} while (0)

/* Ends the test on a failed setup step. */
#define REQUIRE_EQ(want, got) do {					\
	CHECK_EQ(want, got);						\
	if (fail)							\
		return;							\
} while (0)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct vgpu *start(unsigned int slots)
{
	struct vgpu_opts o;
	struct vgpu *g = NULL;
	int ret;

	memset(&o, 0, sizeof(o));
	o.slots = slots;
	o.mode = VGPU_MODE_LOOPBACK;
	o.stop_grace_ns = 200000000ull;
	ret = vgpu_start(&g, &o);
	if (ret) {
		printf("# vgpu_start(%u slots): %d\n", slots, ret);
		fail = 1;
		return NULL;
	}
	return g;
}

static struct vgpu_actor_config config(enum vgpu_type type, int group,
				       enum vgpu_policy policy, uint32_t flags)
{
	struct vgpu_actor_config c;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.group = group;
	c.policy = policy;
	c.flags = flags;
	return c;
}

static void set_state(struct vgpu_actor_config *c, unsigned int n,
		      const uint64_t *v)
{
	memcpy(c->state, v, n * sizeof(*v));
	c->state_len = n * sizeof(*v);
}

static int create(struct vgpu *g, const struct vgpu_actor_config *c)
{
	uint64_t id;
	int slot = vgpu_actor_create(g, c, &id);

	if (slot < 0) {
		printf("# vgpu_actor_create: %d\n", slot);
		fail = 1;
	}
	return slot;
}

/* Posts one message, waiting for CQ room. */
static int post(struct vgpu *g, int slot, uint64_t source, uint64_t tag,
		const void *data, uint32_t len)
{
	long long until = now_ns() + WAIT_NS;
	int ret;

	while ((ret = vgpu_lo_post(g, slot, source, tag, data, len)) == -EAGAIN &&
	       now_ns() < until)
		;
	return ret;
}

/* The next SQE of a slot, or -ETIME. */
static int take(struct vgpu *g, int slot, struct vactor_sqe *q)
{
	long long until = now_ns() + WAIT_NS;
	int ret;

	while ((ret = vgpu_lo_take(g, slot, q)) == -EAGAIN) {
		if (now_ns() > until)
			return -ETIME;
	}
	return ret;
}

/* n messages to an ECHO slot and their n replies: exact, in order. */
static void echo_rounds(struct vgpu *g, int slot, unsigned int n,
			unsigned int window)
{
	uint64_t id = vgpu_actor_id(g, slot), sent = 0, got = 0;
	struct vactor_sqe q;

	while (got < n) {
		while (sent < n && sent - got < window) {
			uint64_t v = sent * 3 + 1;

			REQUIRE_EQ(0, post(g, slot, HOST_ACTOR, sent, &v, sizeof(v)));
			sent++;
		}
		REQUIRE_EQ(0, take(g, slot, &q));
		CHECK_EQ(VACTOR_OP_SEND, q.opcode);
		CHECK_EQ(id, q.actor);
		CHECK_EQ(HOST_ACTOR, q.target);
		CHECK_EQ(got, q.tag);
		CHECK_EQ(sizeof(uint64_t), q.len);
		CHECK_EQ(got * 3 + 1, *(uint64_t *)q.data);
		if (fail)
			return;
		got++;
	}
}

/* ---- events: collect, then count exactly ---- */

#define MAX_EV	1024

struct evlog {
	struct vgpu_event e[MAX_EV];
	unsigned int n;
};

static unsigned int count(const struct evlog *l, uint32_t type, int slot)
{
	unsigned int c = 0;

	for (unsigned int i = 0; i < l->n; i++)
		if (l->e[i].type == type && (slot < 0 || l->e[i].slot == slot))
			c++;
	return c;
}

/*
 * Collects events until `want` events of `type` (for slot, -1: any) have
 * come, then for settle_ms more so that extra ones would show.
 */
static void collect(struct vgpu *g, struct evlog *l, uint32_t type, int slot,
		    unsigned int want, unsigned int settle_ms)
{
	long long until = now_ns() + WAIT_NS, settle = 0;
	struct vgpu_event ev;

	for (;;) {
		long long t = now_ns();

		if (!settle && count(l, type, slot) >= want)
			settle = t + (long long)settle_ms * 1000000;
		if ((settle && t > settle) || t > until)
			break;
		if (vgpu_event_next(g, &ev, 1000000) == 0 && l->n < MAX_EV)
			l->e[l->n++] = ev;
	}
}

static void stats(struct vgpu *g, int slot, struct vgpu_slot_stats *st)
{
	memset(st, 0, sizeof(*st));
	CHECK_EQ(0, vgpu_stats(g, slot, st));
}

/* ======================================================================
 * lifecycle
 * ====================================================================== */

static void lifecycle_create_destroy(void)
{
	struct vgpu *g = start(8);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats st;
	int s[3];

	if (!g)
		return;
	for (int i = 0; i < 3; i++)
		s[i] = create(g, &c);
	CHECK(s[0] >= 1 && s[1] >= 1 && s[2] >= 1);
	CHECK(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
	for (int i = 0; i < 3; i++) {
		stats(g, s[i], &st);
		CHECK_EQ(1, st.activations);
		CHECK_EQ(0, vgpu_actor_destroy(g, s[i]));
	}
	/* The freed slots are what the next creations get. */
	for (int i = 0; i < 3; i++) {
		int again = create(g, &c);

		CHECK(again == s[0] || again == s[1] || again == s[2]);
		stats(g, again, &st);
		CHECK_EQ(2, st.activations);
	}
	vgpu_stop(g);
}

static void lifecycle_free_pool_exhaustion(void)
{
	struct vgpu *g = start(5);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT, 0);
	uint64_t id;
	int s[4];

	if (!g)
		return;
	for (int i = 0; i < 4; i++)
		s[i] = create(g, &c);
	CHECK_EQ(-ENOSPC, vgpu_actor_create(g, &c, &id));
	CHECK_EQ(0, vgpu_actor_destroy(g, s[2]));
	CHECK_EQ(s[2], create(g, &c));
	CHECK_EQ(-ENOSPC, vgpu_actor_create(g, &c, &id));
	/* A bad config is refused, not a slot taken. */
	c.type = VGPU_TYPE_LAST;
	CHECK_EQ(-EINVAL, vgpu_actor_create(g, &c, &id));
	c.type = VGPU_ECHO;
	c.group = 7;
	CHECK_EQ(-EINVAL, vgpu_actor_create(g, &c, &id));
	vgpu_stop(g);
}

static void lifecycle_explicit_restart(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats st;
	struct evlog l = { };
	uint64_t id;
	int s;

	if (!g)
		return;
	s = create(g, &c);
	id = vgpu_actor_id(g, s);
	CHECK_EQ(0, vgpu_actor_restart(g, s));
	collect(g, &l, VGPU_EV_STARTED, s, 1, 20);
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, s));
	CHECK_EQ(1, count(&l, VGPU_EV_STARTED, s));
	CHECK_EQ(0, count(&l, VGPU_EV_FAILED, -1));
	CHECK_EQ(id, vgpu_actor_id(g, s));	/* same actor, same id */
	stats(g, s, &st);
	CHECK_EQ(2, st.activations);
	echo_rounds(g, s, 10, 4);
	vgpu_stop(g);
}

/* Dormant slots do nothing but look at their command. */
static void lifecycle_dormant_slots_idle(void)
{
	struct vgpu *g = start(16);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats st;
	int s;

	if (!g)
		return;
	s = create(g, &c);
	echo_rounds(g, s, 1000, 16);
	for (int i = 1; i < 16; i++) {
		stats(g, i, &st);
		if (i == s) {
			CHECK(st.loops > 0);
			CHECK_EQ(1000, st.handled);
		} else {
			CHECK_EQ(0, st.loops);
			CHECK_EQ(0, st.handled);
			CHECK_EQ(0, st.activations);
		}
	}
	vgpu_stop(g);
}

/* ======================================================================
 * host round trips
 * ====================================================================== */

static void host_round_trip_echo(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats st;
	int s;

	if (!g)
		return;
	s = create(g, &c);
	echo_rounds(g, s, 10000, 32);
	stats(g, s, &st);
	CHECK_EQ(10000, st.host_in);
	CHECK_EQ(10000, st.host_out);
	CHECK_EQ(10000, st.handled);
	CHECK_EQ(0, st.full);
	vgpu_stop(g);
}

static void host_round_trip_two_slots(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats st;
	int a, b;

	if (!g)
		return;
	a = create(g, &c);
	b = create(g, &c);
	for (int round = 0; round < 10 && !fail; round++) {
		echo_rounds(g, a, 100, 8);
		echo_rounds(g, b, 100, 8);
	}
	stats(g, a, &st);
	CHECK_EQ(1000, st.host_out);
	stats(g, b, &st);
	CHECK_EQ(1000, st.host_out);
	vgpu_stop(g);
}

/* ======================================================================
 * GPU-to-GPU channels
 * ====================================================================== */

static void k2k_forward_chain(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_FORWARD, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats sa, sb;
	struct vactor_sqe q;
	uint64_t host = HOST_ACTOR, next;
	int a, b;

	if (!g)
		return;
	set_state(&c, 1, &host);
	b = create(g, &c);		/* b forwards to the host */
	next = vgpu_actor_id(g, b);
	set_state(&c, 1, &next);
	a = create(g, &c);		/* a forwards to b */
	REQUIRE_EQ(1, vgpu_link(g, a, b) >= 0);
	for (uint64_t i = 0; i < 1000 && !fail; i++) {
		REQUIRE_EQ(0, post(g, a, HOST_ACTOR, i, &i, sizeof(i)));
		REQUIRE_EQ(0, take(g, b, &q));
		CHECK_EQ(i, q.tag);
		CHECK_EQ(next, q.actor);
		CHECK_EQ(HOST_ACTOR, q.target);
		CHECK_EQ(i, *(uint64_t *)q.data);
	}
	stats(g, a, &sa);
	stats(g, b, &sb);
	CHECK_EQ(1000, sa.host_in);
	CHECK_EQ(1000, sa.k2k_out);
	CHECK_EQ(0, sa.host_out);
	CHECK_EQ(1000, sb.k2k_in);
	CHECK_EQ(1000, sb.host_out);
	CHECK_EQ(-EAGAIN, vgpu_lo_take(g, a, &q));
	vgpu_stop(g);
}

/*
 * Two PINGPONG slots linked both ways.  The host starts the ball at a "from"
 * b (in loopback the kernel side names the source); every hop after that
 * is a channel message between the two slots.
 */
#define HOPS	10000

static void k2k_pingpong(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_PINGPONG, 0, VGPU_PERMANENT, 0);
	struct vgpu_slot_stats sa, sb;
	struct vactor_sqe q;
	uint64_t st[2] = { HOST_ACTOR, 0 };
	int a, b;

	if (!g)
		return;
	set_state(&c, 2, st);
	a = create(g, &c);
	b = create(g, &c);
	REQUIRE_EQ(1, vgpu_link(g, a, b) >= 0);
	REQUIRE_EQ(1, vgpu_link(g, b, a) >= 0);
	REQUIRE_EQ(0, post(g, a, vgpu_actor_id(g, b), HOPS, NULL, 0));
	/* tag 0 lands on a (HOPS is even): a reports done == 1. */
	REQUIRE_EQ(0, take(g, a, &q));
	CHECK_EQ(HOST_ACTOR, q.target);
	CHECK_EQ(1, q.tag);
	CHECK_EQ(1, *(uint64_t *)q.data);
	stats(g, a, &sa);
	stats(g, b, &sb);
	CHECK_EQ(HOPS / 2, sa.k2k_out);
	CHECK_EQ(HOPS / 2, sb.k2k_out);
	CHECK_EQ(HOPS / 2, sa.k2k_in);
	CHECK_EQ(HOPS / 2, sb.k2k_in);
	CHECK_EQ(1, sa.host_in);
	CHECK_EQ(1, sa.host_out);
	CHECK_EQ(0, sb.host_out);
	CHECK_EQ(0, sa.full + sb.full);
	CHECK_EQ(-EAGAIN, vgpu_lo_take(g, b, &q));
	vgpu_stop(g);
}

/* A channel to a slot that stopped reading fills; the sender is refused, not stuck. */
static void k2k_full_channel_refuses(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_FORWARD, 0, VGPU_PERMANENT, 0);
	struct vgpu_actor_config e = config(VGPU_ECHO, 0, VGPU_PERMANENT,
					    VGPU_CFG_TEST_HOOKS);
	struct vgpu_slot_stats sa;
	uint64_t next;
	int a, b;

	if (!g)
		return;
	e.queue_cap = 4;
	b = create(g, &e);
	next = vgpu_actor_id(g, b);
	set_state(&c, 1, &next);
	a = create(g, &c);
	REQUIRE_EQ(1, vgpu_link(g, a, b) >= 0);
	REQUIRE_EQ(0, post(g, b, HOST_ACTOR, VGPU_TAG_STUCK, NULL, 0));
	for (uint64_t i = 0; i < 6; i++)
		REQUIRE_EQ(0, post(g, a, HOST_ACTOR, i, &i, sizeof(i)));
	/* 4 fit; the other 2 are refused after a bounded wait each. */
	for (long long until = now_ns() + WAIT_NS; now_ns() < until;) {
		stats(g, a, &sa);
		if (sa.full == 2)
			break;
	}
	stats(g, a, &sa);
	CHECK_EQ(6, sa.handled);
	CHECK_EQ(4, sa.k2k_out);
	CHECK_EQ(2, sa.full);
	vgpu_stop(g);
}

/* ======================================================================
 * supervision
 * ====================================================================== */

/* A group with three test-hooked COUNTERs; returns the group. */
static int three_children(struct vgpu *g, enum vgpu_strategy strategy,
			  unsigned int max, uint64_t window, int parent,
			  int s[3])
{
	int grp = vgpu_group_create(g, strategy, max, window, parent);
	struct vgpu_actor_config c = config(VGPU_COUNTER, grp, VGPU_PERMANENT,
					    VGPU_CFG_TEST_HOOKS);

	if (grp < 0) {
		printf("# vgpu_group_create: %d\n", grp);
		fail = 1;
		return grp;
	}
	c.state_len = 16;
	for (int i = 0; i < 3; i++)
		s[i] = create(g, &c);
	return grp;
}

static void crash(struct vgpu *g, int slot)
{
	CHECK_EQ(0, post(g, slot, HOST_ACTOR, VGPU_TAG_CRASH, NULL, 0));
}

static void activations(struct vgpu *g, const int s[3], unsigned int a0,
			unsigned int a1, unsigned int a2)
{
	struct vgpu_slot_stats st;
	unsigned int want[3] = { a0, a1, a2 };

	for (int i = 0; i < 3; i++) {
		stats(g, s[i], &st);
		CHECK_EQ(want[i], st.activations);
	}
}

static void supervise_one_for_one(void)
{
	struct vgpu *g = start(8);
	struct evlog l = { };
	int s[3];

	if (!g)
		return;
	three_children(g, VGPU_ONE_FOR_ONE, 5, 10000000000ull, VGPU_PARENT_HOST, s);
	REQUIRE_EQ(0, fail);
	crash(g, s[1]);
	collect(g, &l, VGPU_EV_STARTED, s[1], 1, 50);
	CHECK_EQ(1, count(&l, VGPU_EV_FAILED, -1));
	CHECK_EQ(1, count(&l, VGPU_EV_FAILED, s[1]));
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, -1));
	CHECK_EQ(1, count(&l, VGPU_EV_STARTED, -1));
	activations(g, s, 1, 2, 1);
	vgpu_stop(g);
}

static void supervise_one_for_all(void)
{
	struct vgpu *g = start(8);
	struct evlog l = { };
	int s[3];

	if (!g)
		return;
	three_children(g, VGPU_ONE_FOR_ALL, 5, 10000000000ull, VGPU_PARENT_HOST, s);
	REQUIRE_EQ(0, fail);
	crash(g, s[1]);
	collect(g, &l, VGPU_EV_STARTED, -1, 3, 50);
	CHECK_EQ(3, count(&l, VGPU_EV_FAILED, -1));
	CHECK_EQ(3, count(&l, VGPU_EV_RESTARTED, -1));
	CHECK_EQ(3, count(&l, VGPU_EV_STARTED, -1));
	activations(g, s, 2, 2, 2);
	vgpu_stop(g);
}

static void supervise_rest_for_one(void)
{
	struct vgpu *g = start(8);
	struct evlog l = { };
	int s[3];

	if (!g)
		return;
	three_children(g, VGPU_REST_FOR_ONE, 5, 10000000000ull, VGPU_PARENT_HOST, s);
	REQUIRE_EQ(0, fail);
	crash(g, s[1]);
	collect(g, &l, VGPU_EV_STARTED, -1, 2, 50);
	CHECK_EQ(2, count(&l, VGPU_EV_RESTARTED, -1));
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, s[1]));
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, s[2]));
	CHECK_EQ(0, count(&l, VGPU_EV_RESTARTED, s[0]));
	activations(g, s, 1, 2, 2);
	vgpu_stop(g);
}

/* max 2 restarts in 10 s: the third crash escalates to the host. */
static void restart_window_enforced(void)
{
	struct vgpu *g = start(8);
	struct evlog l = { };
	struct vgpu_sup_stats sup;
	int s[3], grp;

	if (!g)
		return;
	grp = three_children(g, VGPU_ONE_FOR_ONE, 2, 10000000000ull,
			     VGPU_PARENT_HOST, s);
	REQUIRE_EQ(0, fail);
	for (int i = 1; i <= 2; i++) {
		crash(g, s[0]);
		collect(g, &l, VGPU_EV_STARTED, s[0], (unsigned int)i, 0);
	}
	crash(g, s[0]);
	collect(g, &l, VGPU_EV_ESCALATED, grp, 1, 50);
	CHECK_EQ(3, count(&l, VGPU_EV_FAILED, s[0]));
	CHECK_EQ(2, count(&l, VGPU_EV_RESTARTED, -1));
	CHECK_EQ(1, count(&l, VGPU_EV_ESCALATED, grp));
	CHECK_EQ(0, count(&l, VGPU_EV_GROUP_RESTARTED, -1));
	CHECK_EQ(0, vgpu_sup_stats(g, &sup));
	CHECK_EQ(2, sup.restarts);
	CHECK_EQ(1, sup.escalations);
	/* The CPU-side parent decides: restart the whole group. */
	CHECK_EQ(0, vgpu_group_restart(g, grp));
	collect(g, &l, VGPU_EV_STARTED, -1, 2 + 3, 50);
	CHECK_EQ(1, count(&l, VGPU_EV_GROUP_RESTARTED, grp));
	CHECK_EQ(2 + 3, count(&l, VGPU_EV_STARTED, -1));
	activations(g, s, 4, 2, 2);
	vgpu_stop(g);
}

/* max 1 restart in 200 ms: crashes 500 ms apart never escalate. */
static void restart_window_slides(void)
{
	struct vgpu *g = start(8);
	struct evlog l = { };
	int s[3], grp;

	if (!g)
		return;
	grp = three_children(g, VGPU_ONE_FOR_ONE, 1, 200000000ull,
			     VGPU_PARENT_HOST, s);
	REQUIRE_EQ(0, fail);
	crash(g, s[2]);
	collect(g, &l, VGPU_EV_STARTED, s[2], 1, 0);
	usleep(500000);
	crash(g, s[2]);
	collect(g, &l, VGPU_EV_STARTED, s[2], 2, 0);
	CHECK_EQ(2, count(&l, VGPU_EV_RESTARTED, s[2]));
	CHECK_EQ(0, count(&l, VGPU_EV_ESCALATED, grp));
	/* At once after the second: two inside the window, escalated. */
	crash(g, s[2]);
	collect(g, &l, VGPU_EV_ESCALATED, grp, 1, 50);
	CHECK_EQ(3, count(&l, VGPU_EV_FAILED, s[2]));
	CHECK_EQ(2, count(&l, VGPU_EV_RESTARTED, s[2]));
	CHECK_EQ(1, count(&l, VGPU_EV_ESCALATED, grp));
	vgpu_stop(g);
}

/* A child group with no restarts allowed escalates to its GPU parent. */
static void escalation_to_parent_group(void)
{
	struct vgpu *g = start(8);
	struct evlog l = { };
	int parent, s[3], child;

	if (!g)
		return;
	parent = vgpu_group_create(g, VGPU_ONE_FOR_ONE, 1, 10000000000ull,
				   VGPU_PARENT_HOST);
	REQUIRE_EQ(1, parent >= 0);
	child = three_children(g, VGPU_ONE_FOR_ALL, 0, 10000000000ull, parent, s);
	REQUIRE_EQ(0, fail);
	crash(g, s[0]);
	collect(g, &l, VGPU_EV_STARTED, -1, 3, 50);
	CHECK_EQ(1, count(&l, VGPU_EV_ESCALATED, child));
	CHECK_EQ(1, count(&l, VGPU_EV_GROUP_RESTARTED, child));
	CHECK_EQ(0, count(&l, VGPU_EV_ESCALATED, parent));
	CHECK_EQ(3, count(&l, VGPU_EV_STARTED, -1));
	activations(g, s, 2, 2, 2);
	/* The parent allows one: a second escalation goes up to the host. */
	crash(g, s[1]);
	collect(g, &l, VGPU_EV_ESCALATED, parent, 1, 50);
	CHECK_EQ(2, count(&l, VGPU_EV_ESCALATED, child));
	CHECK_EQ(1, count(&l, VGPU_EV_ESCALATED, parent));
	CHECK_EQ(1, count(&l, VGPU_EV_GROUP_RESTARTED, child));
	vgpu_stop(g);
}

static void policy_temporary_not_restarted(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_TEMPORARY,
					    VGPU_CFG_TEST_HOOKS);
	struct evlog l = { };
	int s;

	if (!g)
		return;
	s = create(g, &c);
	crash(g, s);
	collect(g, &l, VGPU_EV_DESTROYED, s, 1, 50);
	CHECK_EQ(1, count(&l, VGPU_EV_FAILED, s));
	CHECK_EQ(1, count(&l, VGPU_EV_EXITED, s));
	CHECK_EQ(1, count(&l, VGPU_EV_DESTROYED, s));
	CHECK_EQ(0, count(&l, VGPU_EV_RESTARTED, -1));
	vgpu_stop(g);
}

static void policy_transient(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_TRANSIENT,
					    VGPU_CFG_TEST_HOOKS);
	struct evlog l = { };
	int s;

	if (!g)
		return;
	s = create(g, &c);
	crash(g, s);		/* abnormal: restarted */
	collect(g, &l, VGPU_EV_STARTED, s, 1, 20);
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, s));
	CHECK_EQ(0, post(g, s, HOST_ACTOR, VGPU_TAG_EXIT, NULL, 0));	/* normal */
	collect(g, &l, VGPU_EV_DESTROYED, s, 1, 50);
	CHECK_EQ(2, count(&l, VGPU_EV_FAILED, s));
	CHECK_EQ(1, count(&l, VGPU_EV_EXITED, s));
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, s));
	vgpu_stop(g);
}

/* ======================================================================
 * heartbeats
 * ====================================================================== */

/*
 * One slot stops heartbeating (stuck in its handler); the supervisor
 * notices after its timeout and restarts it; meanwhile another slot serves
 * its traffic untouched.
 */
static void heartbeat_timeout_stuck_slot(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_ECHO, 0, VGPU_PERMANENT,
					    VGPU_CFG_TEST_HOOKS);
	struct vgpu_slot_stats st;
	struct vgpu_sup_stats sup;
	struct evlog l = { };
	long long t0;
	int a, b;

	if (!g)
		return;
	c.hb_interval_ns = 100000;		/* 100 us */
	c.hb_timeout_ns = 1000000000;		/* 1 s */
	a = create(g, &c);
	b = create(g, &c);
	t0 = now_ns();
	CHECK_EQ(0, post(g, a, HOST_ACTOR, VGPU_TAG_STUCK, NULL, 0));
	echo_rounds(g, b, 500, 16);		/* while a is stuck: */
	CHECK_EQ(0, vgpu_sup_stats(g, &sup));
	CHECK_EQ(0, sup.timeouts);		/* ...before its timeout */
	CHECK(now_ns() - t0 < 1000000000LL);
	collect(g, &l, VGPU_EV_STARTED, a, 1, 100);
	CHECK(now_ns() - t0 >= 1000000000LL);
	CHECK_EQ(1, count(&l, VGPU_EV_FAILED, a));
	CHECK_EQ(0, count(&l, VGPU_EV_FAILED, b));
	CHECK_EQ(1, count(&l, VGPU_EV_RESTARTED, a));
	CHECK_EQ(1, count(&l, VGPU_EV_STARTED, a));
	for (unsigned int i = 0; i < l.n; i++)
		if (l.e[i].type == VGPU_EV_FAILED)
			CHECK_EQ(VGPU_FAIL_TIMEOUT, l.e[i].a);
	CHECK_EQ(0, vgpu_sup_stats(g, &sup));
	CHECK_EQ(1, sup.timeouts);
	CHECK_EQ(0, sup.lost);
	stats(g, b, &st);
	CHECK_EQ(500, st.host_out);
	echo_rounds(g, a, 10, 4);		/* a serves again */
	vgpu_stop(g);
}

/* ======================================================================
 * snapshots
 * ====================================================================== */

static void counter_query(struct vgpu *g, int s, uint64_t v, uint64_t want)
{
	struct vactor_sqe q;

	REQUIRE_EQ(0, post(g, s, HOST_ACTOR, 1, &v, sizeof(v)));
	REQUIRE_EQ(0, take(g, s, &q));
	CHECK_EQ(want, *(uint64_t *)q.data);
}

static void snapshot_restore_on_restart(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_COUNTER, 0, VGPU_PERMANENT,
					    VGPU_CFG_TEST_HOOKS | VGPU_CFG_RESTORE);
	struct evlog l = { };
	uint64_t snap[2];
	int s;

	if (!g)
		return;
	c.state_len = 16;
	s = create(g, &c);
	for (uint64_t i = 1; i <= 10; i++)
		counter_query(g, s, i, i);
	/* Written after the batch that sent the reply: wait for it. */
	snap[0] = 0;
	for (long long until = now_ns() + WAIT_NS; now_ns() < until && snap[0] != 10;)
		CHECK_EQ(16, vgpu_snapshot(g, s, snap, sizeof(snap)));
	CHECK_EQ(10, snap[0]);
	CHECK_EQ(55, snap[1]);
	crash(g, s);
	collect(g, &l, VGPU_EV_STARTED, s, 1, 20);
	counter_query(g, s, 1, 11);		/* from the snapshot */
	vgpu_stop(g);
}

static void snapshot_initial_state_without_restore(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_COUNTER, 0, VGPU_PERMANENT,
					    VGPU_CFG_TEST_HOOKS);
	struct evlog l = { };
	uint64_t init[2] = { 100, 0 };
	int s;

	if (!g)
		return;
	set_state(&c, 2, init);
	s = create(g, &c);
	for (uint64_t i = 1; i <= 5; i++)
		counter_query(g, s, i, 100 + i);
	crash(g, s);
	collect(g, &l, VGPU_EV_STARTED, s, 1, 20);
	counter_query(g, s, 1, 101);		/* from the initial state */
	vgpu_stop(g);
}

/* Out to the host and back in as a new activation: the state moves. */
static void snapshot_migrate_out_and_back(void)
{
	struct vgpu *g = start(4);
	struct vgpu_actor_config c = config(VGPU_COUNTER, 0, VGPU_PERMANENT, 0);
	uint64_t snap[2];
	int s;

	if (!g)
		return;
	c.state_len = 16;
	s = create(g, &c);
	for (uint64_t i = 1; i <= 7; i++)
		counter_query(g, s, 2, i);
	CHECK_EQ(0, vgpu_actor_destroy(g, s));
	/* Its last state, taken at the stop. */
	CHECK_EQ(16, vgpu_snapshot(g, s, snap, sizeof(snap)));
	CHECK_EQ(7, snap[0]);
	CHECK_EQ(14, snap[1]);
	set_state(&c, 2, snap);
	s = create(g, &c);
	counter_query(g, s, 2, 8);
	vgpu_stop(g);
}

/* ======================================================================
 * runner
 * ====================================================================== */

struct test {
	const char *name;
	void (*fn)(void);
};

#define T(f) { #f, f }
static const struct test tests[] = {
	T(lifecycle_create_destroy),
	T(lifecycle_free_pool_exhaustion),
	T(lifecycle_explicit_restart),
	T(lifecycle_dormant_slots_idle),
	T(host_round_trip_echo),
	T(host_round_trip_two_slots),
	T(k2k_forward_chain),
	T(k2k_pingpong),
	T(k2k_full_channel_refuses),
	T(supervise_one_for_one),
	T(supervise_one_for_all),
	T(supervise_rest_for_one),
	T(restart_window_enforced),
	T(restart_window_slides),
	T(escalation_to_parent_group),
	T(policy_temporary_not_restarted),
	T(policy_transient),
	T(heartbeat_timeout_stuck_slot),
	T(snapshot_restore_on_restart),
	T(snapshot_initial_state_without_restore),
	T(snapshot_migrate_out_and_back),
};

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned int n = 0, pass = 0, failed = 0, i;
	int devs = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	if (cudaGetDeviceCount(&devs) != cudaSuccess || devs == 0) {
		printf("1..0 # SKIP no CUDA device\n");
		return 4;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		n += selected(tests[i].name, argc, argv);
	printf("1..%u\n", n);
	n = 0;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		fail = 0;
		printf("# %s\n", tests[i].name);
		tests[i].fn();
		printf("%sok %u %s\n", fail ? "not " : "", ++n, tests[i].name);
		if (fail)
			failed++;
		else
			pass++;
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n",
	       pass, failed);
	return failed ? 1 : 0;
}
