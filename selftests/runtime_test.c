// SPDX-License-Identifier: GPL-2.0
/*
 * The libvact runtime against the real module: dispatch on several worker
 * threads and across processes, turn-based execution, request/reply with
 * replies, errors and timeouts, timers, the epoll path, stop and durable
 * actors, every error of the public API, and the three runtime examples
 * with their exact output.
 *
 * Synchronisation is by pipes (a callback writes, the test reads) and by
 * blocking requests, which per-pair FIFO orders after earlier sends; there
 * are no sleeps.  Timing is asserted only as "not before the deadline".
 */
#include "kselftest_harness.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#include "vactor_test.h"

#define MS		(1000ULL * 1000)
#define N_MSGS		2000
#define TAG_COUNT	1
#define TAG_NOTE	2

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Callbacks report to the test through this pipe: one uint64_t each. */
static int note_pipe[2] = { -1, -1 };

static void note(uint64_t v)
{
	if (write(note_pipe[1], &v, sizeof(v)) != sizeof(v))
		abort();
}

static uint64_t wait_note(void)
{
	uint64_t v = ~0ULL;

	if (read(note_pipe[0], &v, sizeof(v)) != sizeof(v))
		return ~0ULL;
	return v;
}

/* ---- a counting actor, checking turn-based execution ---- */

struct counter {
	atomic_int in_handler;
	uint64_t count;
	uint64_t violations;	/* entered while another call ran */
	uint64_t thread_moves;	/* ran on another thread than before */
	pthread_t thread;
	bool have_thread;
};

struct count_reply {
	uint64_t count, violations, thread_moves;
};

static int counter_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct counter *c = vact_ctx_data(ctx);
	int ret = 0;

	if (atomic_fetch_add(&c->in_handler, 1) != 0)
		c->violations++;
	if (c->have_thread && !pthread_equal(c->thread, pthread_self()))
		c->thread_moves++;
	c->thread = pthread_self();
	c->have_thread = true;
	if (msg->flags & VACT_MSG_REQUEST) {
		struct count_reply r = { c->count, c->violations, c->thread_moves };

		ret = vact_ctx_reply(ctx, msg, &r, sizeof(r));
	} else if (msg->tag == TAG_COUNT) {
		/* A little work inside the turn widens any overlap. */
		for (volatile int i = 0; i < 200; i++)
			;
		c->count++;
	}
	atomic_fetch_sub(&c->in_handler, 1);
	return ret;
}

static const struct vact_actor_type counter_type = {
	.name = "counter",
	.type_id = 7,
	.message = counter_message,
};

static int spawn_counter(struct vact_runtime *rt, struct counter *c,
			 const char *name, int worker, uint64_t *id)
{
	struct vact_spawn_opts o = { .name = name, .data = c };

	memset(c, 0, sizeof(*c));
	if (worker >= 0) {
		o.flags |= VACT_SPAWN_WORKER;
		o.worker = (unsigned int)worker;
	}
	return vact_runtime_spawn(rt, &counter_type, &o, id);
}

static int get_count(struct vact_runtime *rt, uint64_t id,
		     struct count_reply *r)
{
	int ret;

	while ((ret = vact_runtime_request(rt, id, "get", 3, r, sizeof(*r),
					   WAIT_NS)) == -EAGAIN)
		sched_yield();

	return ret == (int)sizeof(*r) ? 0 : (ret < 0 ? ret : -EPROTO);
}

FIXTURE(rt) {
	struct vact_runtime *rt;
};

FIXTURE_SETUP(rt)
{
	struct vact_runtime_opts o = { .workers = 2 };

	ASSERT_EQ(0, pipe(note_pipe));
	ASSERT_EQ(0, vact_runtime_start(&self->rt, &o));
	ASSERT_EQ(2, vact_runtime_workers(self->rt));
}

FIXTURE_TEARDOWN(rt)
{
	if (self->rt)
		EXPECT_EQ(0, vact_runtime_stop(self->rt));
	close(note_pipe[0]);
	close(note_pipe[1]);
}

/* Messages from the main thread reach actors on both workers, exactly. */
TEST_F_TIMEOUT(rt, spawn_and_count, 120)
{
	struct counter c[4];
	struct count_reply r;
	struct vact_runtime_stats st;
	uint64_t id[4];
	int i, n;

	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, spawn_counter(self->rt, &c[i], NULL, -1, &id[i]));
	for (n = 0; n < N_MSGS; n++)
		for (i = 0; i < 4; i++)
			ASSERT_EQ(0, vact_runtime_send(self->rt, id[i], "x", 1,
						       TAG_COUNT));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, get_count(self->rt, id[i], &r));
		EXPECT_EQ(N_MSGS, r.count);
		EXPECT_EQ(0, r.violations);
		EXPECT_EQ(0, r.thread_moves);
	}
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	EXPECT_EQ(4, st.actors);
	EXPECT_EQ(4 * N_MSGS + 4, st.received);
	EXPECT_EQ(4, st.replies);
	EXPECT_EQ(0, st.dropped);
	EXPECT_EQ(0, st.failed);
}

/* ---- many senders at once: threads and actors on both workers ---- */

struct flood_arg {
	struct vact_runtime *rt;
	uint64_t target;
	int n;
	int err;
};

static void *flood_thread(void *p)
{
	struct flood_arg *a = p;

	for (int i = 0; i < a->n && !a->err; i++) {
		/* The target's mailbox is full: the kernel says try again. */
		while ((a->err = vact_runtime_send(a->rt, a->target, NULL, 0,
						   TAG_COUNT)) == -EAGAIN)
			sched_yield();
	}
	return NULL;
}

/* A flooder actor sends `n` counts to its target on each message. */
struct flooder {
	uint64_t target;
	int n;
	int err;
};

static int flooder_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct flooder *f = vact_ctx_data(ctx);

	for (int i = 0; i < f->n && !f->err; i++)
		f->err = vact_ctx_send(ctx, f->target, NULL, 0, TAG_COUNT);
	if (msg->flags & VACT_MSG_REQUEST)
		return vact_ctx_reply(ctx, msg, &f->err, sizeof(f->err));
	return 0;
}

/* Refused for a full mailbox: send that count again. */
static void flooder_undelivered(struct vact_ctx *ctx, uint64_t to, int err)
{
	struct flooder *f = vact_ctx_data(ctx);

	if (err != -EAGAIN || vact_ctx_send(ctx, to, NULL, 0, TAG_COUNT))
		f->err = err;
}

static const struct vact_actor_type flooder_type = {
	.name = "flooder",
	.message = flooder_message,
	.undelivered = flooder_undelivered,
};

TEST_F_TIMEOUT(rt, turn_based, 120)
{
	struct flood_arg ta[3];
	struct flooder f[2];
	struct counter c;
	struct count_reply r;
	pthread_t th[3];
	uint64_t target, fid[2];
	int i, err;

	/* The target on worker 0, one flooder on each worker. */
	ASSERT_EQ(0, spawn_counter(self->rt, &c, NULL, 0, &target));
	for (i = 0; i < 2; i++) {
		struct vact_spawn_opts o = {
			.flags = VACT_SPAWN_WORKER, .worker = (unsigned int)i,
			.data = &f[i],
		};

		f[i] = (struct flooder){ .target = target, .n = 500 };
		ASSERT_EQ(0, vact_runtime_spawn(self->rt, &flooder_type, &o,
						&fid[i]));
	}
	for (i = 0; i < 3; i++) {
		ta[i] = (struct flood_arg){ self->rt, target, N_MSGS, 0 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, flood_thread, &ta[i]));
	}
	/* Each flooder floods twice; the request's reply says it queued all. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vact_runtime_send(self->rt, fid[i], NULL, 0, 0));
		ASSERT_EQ((int)sizeof(err),
			  vact_runtime_request(self->rt, fid[i], NULL, 0, &err,
					       sizeof(err), WAIT_NS));
		EXPECT_EQ(0, err);
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, ta[i].err);
	}
	/*
	 * Everything the threads sent was accepted before this request; a
	 * flooder's refused counts are sent again later, so ask until the
	 * count is complete (and then it must be exact).
	 */
	for (;;) {
		ASSERT_EQ(0, get_count(self->rt, target, &r));
		if (r.count >= 3 * N_MSGS + 2 * 2 * 500 || f[0].err || f[1].err)
			break;
		sched_yield();
	}
	EXPECT_EQ(0, f[0].err);
	EXPECT_EQ(0, f[1].err);
	EXPECT_EQ(3 * N_MSGS + 2 * 2 * 500, r.count);
	EXPECT_EQ(0, r.violations);
	EXPECT_EQ(0, r.thread_moves);
}

/* ---- request/reply ---- */

/* Echo: replies to a request with its payload; plain tag 99 -> note. */
static int echo_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	if (msg->flags & VACT_MSG_REQUEST)
		return vact_ctx_reply(ctx, msg, msg->data, msg->len);
	if (msg->tag == 99)
		note(99);
	return 0;
}

static const struct vact_actor_type echo_type = {
	.name = "echo",
	.message = echo_message,
};

/* Asker: on "go" sends n requests to target; notes when all came back. */
struct asker {
	uint64_t target;
	int n, ok, bad, timeouts, errors;
	int64_t timeout_ns;
	uint64_t sent_at;
	int last_err;
};

static void asker_done(struct vact_ctx *ctx, struct asker *a)
{
	if (a->ok + a->bad + a->timeouts + a->errors == a->n)
		note((uint64_t)a->ok);
}

static void asker_reply(struct vact_ctx *ctx, int status,
			const struct vact_msg *reply, void *arg)
{
	struct asker *a = vact_ctx_data(ctx);
	uint64_t i = (uintptr_t)arg;

	if (status == -ETIME) {
		/* Never before the deadline. */
		if (now_ns() < a->sent_at + (uint64_t)a->timeout_ns)
			a->bad++;
		else
			a->timeouts++;
	} else if (status < 0) {
		a->last_err = status;
		a->errors++;
	} else if (reply->len == sizeof(i) &&
		   !memcmp(reply->data, &i, sizeof(i)) &&
		   reply->from == a->target) {
		a->ok++;
	} else {
		a->bad++;
	}
	asker_done(ctx, a);
}

static int asker_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct asker *a = vact_ctx_data(ctx);

	a->sent_at = now_ns();
	for (uint64_t i = 0; i < (uint64_t)a->n; i++) {
		int ret = vact_ctx_request(ctx, a->target, &i, sizeof(i),
					   a->timeout_ns, asker_reply,
					   (void *)(uintptr_t)i);
		if (ret)
			return ret;
	}
	return 0;
}

static const struct vact_actor_type asker_type = {
	.name = "asker",
	.message = asker_message,
};

static int spawn_asker(struct vact_runtime *rt, struct asker *a,
		       unsigned int worker, uint64_t *id)
{
	struct vact_spawn_opts o = {
		.flags = VACT_SPAWN_WORKER, .worker = worker, .data = a,
	};

	return vact_runtime_spawn(rt, &asker_type, &o, id);
}

TEST_F_TIMEOUT(rt, request_callbacks, 120)
{
	struct asker a = { .n = 1000, .timeout_ns = (int64_t)WAIT_NS };
	struct vact_spawn_opts eo = { .flags = VACT_SPAWN_WORKER, .worker = 1 };
	struct vact_runtime_stats st;
	uint64_t echo, asker;

	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &echo_type, &eo, &echo));
	a.target = echo;
	ASSERT_EQ(0, spawn_asker(self->rt, &a, 0, &asker));
	ASSERT_EQ(0, vact_runtime_send(self->rt, asker, NULL, 0, 0));
	EXPECT_EQ(1000, wait_note());
	EXPECT_EQ(1000, a.ok);
	EXPECT_EQ(0, a.bad);
	EXPECT_EQ(0, a.timeouts);
	EXPECT_EQ(0, a.errors);
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	EXPECT_EQ(1000, st.replies);
	EXPECT_EQ(0, st.timeouts);
}

/* Silent: keeps requests; on tag 5 answers the kept one (late). */
struct silent {
	struct vact_msg kept;
	bool have;
};

static int silent_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct silent *s = vact_ctx_data(ctx);

	if (msg->flags & VACT_MSG_REQUEST) {
		if (msg->len == 4 && !memcmp(msg->data, "ping", 4))
			return vact_ctx_reply(ctx, msg, "pong", 4);
		s->kept = *msg;		/* a copy stays valid for replying */
		s->have = true;
	} else if (msg->tag == 5 && s->have) {
		s->have = false;
		return vact_ctx_reply(ctx, &s->kept, "late", 4);
	}
	return 0;
}

static const struct vact_actor_type silent_type = {
	.name = "silent",
	.message = silent_message,
};

TEST_F_TIMEOUT(rt, request_timeouts, 120)
{
	struct asker a = { .n = 3, .timeout_ns = 50 * MS };
	struct silent s = { 0 };
	struct vact_spawn_opts so = { .data = &s };
	struct vact_runtime_stats st;
	uint64_t silent, asker, t0;
	char buf[8];

	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &silent_type, &so, &silent));
	a.target = silent;
	ASSERT_EQ(0, spawn_asker(self->rt, &a, 0, &asker));

	/* Callbacks: each of the three times out, none early. */
	ASSERT_EQ(0, vact_runtime_send(self->rt, asker, NULL, 0, 0));
	EXPECT_EQ(0, wait_note());
	EXPECT_EQ(3, a.timeouts);
	EXPECT_EQ(0, a.bad);

	/* Blocking: times out, not early. */
	t0 = now_ns();
	EXPECT_EQ(-ETIME, vact_runtime_request(self->rt, silent, "x", 1, buf,
					       sizeof(buf), 30 * MS));
	EXPECT_LE(t0 + 30 * MS, now_ns());
	/* The late answer to that request is dropped, the next one works. */
	ASSERT_EQ(0, vact_runtime_send(self->rt, silent, NULL, 0, 5));
	EXPECT_EQ(4, vact_runtime_request(self->rt, silent, "ping", 4, buf,
					  sizeof(buf), WAIT_NS));
	EXPECT_EQ(0, memcmp(buf, "pong", 4));
	/* Truncated copy, full length returned. */
	EXPECT_EQ(4, vact_runtime_request(self->rt, silent, "ping", 4, buf, 2,
					  WAIT_NS));
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	EXPECT_EQ(3 + 1, st.timeouts);
	EXPECT_EQ(1, st.dropped);
	EXPECT_EQ(2, st.replies);
}

TEST_F_TIMEOUT(rt, request_to_missing, 120)
{
	struct asker a = { .n = 2, .timeout_ns = (int64_t)WAIT_NS };
	struct counter c;
	struct vact_runtime_stats st;
	uint64_t gone, asker;
	char buf[8];

	/* An id that existed: killed, and gone once a later request returns. */
	ASSERT_EQ(0, spawn_counter(self->rt, &c, NULL, 1, &gone));
	ASSERT_EQ(0, vact_runtime_kill(self->rt, gone));
	a.target = gone;
	ASSERT_EQ(0, spawn_asker(self->rt, &a, 1, &asker));
	/* asker (worker 1) runs after the kill was handled on worker 1. */
	ASSERT_EQ(0, vact_runtime_send(self->rt, asker, NULL, 0, 0));
	EXPECT_EQ(0, wait_note());
	EXPECT_EQ(2, a.errors);
	EXPECT_EQ(-ENOENT, a.last_err);
	EXPECT_EQ(-ENOENT, vact_runtime_request(self->rt, gone, "x", 1, buf,
						sizeof(buf), WAIT_NS));
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	EXPECT_EQ(2, st.undelivered);
}

/* ---- across processes ---- */

TEST_F_TIMEOUT(rt, multi_process, 120)
{
	int ready[2];
	char name[64], b;
	pid_t pid;
	int status;
	uint64_t echo;

	snprintf(name, sizeof(name), "rt.echo.%d", (int)getpid());
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vact_runtime_opts o = { .workers = 2 };
		struct vact_spawn_opts so = { .name = name };
		struct vact_runtime *rt;

		/* Not the parent's runtime or notes: the child has its own. */
		close(note_pipe[0]);
		close(note_pipe[1]);
		if (pipe(note_pipe) || vact_runtime_start(&rt, &o) ||
		    vact_runtime_spawn(rt, &echo_type, &so, NULL))
			_exit(1);
		b = 'r';
		if (write(ready[1], &b, 1) != 1)
			_exit(2);
		/* The echo notes tag 99: the parent is done with us. */
		if (wait_note() != 99)
			_exit(3);
		_exit(vact_runtime_stop(rt) ? 4 : 0);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &b, 1));
	close(ready[0]);
	ASSERT_EQ(0, vact_runtime_find(self->rt, name, &echo));

	/* Blocking requests from this thread... */
	for (uint64_t i = 0; i < 200; i++) {
		uint64_t back = ~0ULL;

		ASSERT_EQ((int)sizeof(back),
			  vact_runtime_request(self->rt, echo, &i, sizeof(i),
					       &back, sizeof(back), WAIT_NS));
		ASSERT_EQ(i, back);
	}
	/* ...and callbacks of actors on both workers. */
	for (unsigned int wk = 0; wk < 2; wk++) {
		struct asker a = { .n = 500, .timeout_ns = (int64_t)WAIT_NS,
				   .target = echo };
		uint64_t asker;

		ASSERT_EQ(0, spawn_asker(self->rt, &a, wk, &asker));
		ASSERT_EQ(0, vact_runtime_send(self->rt, asker, NULL, 0, 0));
		EXPECT_EQ(500, wait_note());
		EXPECT_EQ(0, a.bad + a.errors + a.timeouts);
	}
	ASSERT_EQ(0, vact_runtime_send_name(self->rt, name, NULL, 0, 99));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The child's runtime destroyed its actors. */
	EXPECT_EQ(-ENOENT, vact_runtime_find(self->rt, name, &echo));
}

/* ---- timers ---- */

struct timed {
	uint64_t start;
	uint64_t order[8];
	int n_after;
	uint64_t tick_at[16];
	uint64_t ticks;
	uint64_t tick_timer;
	uint64_t early;		/* anything that came before its deadline */
	uint64_t wrong;		/* out of order or unexpected */
	uint64_t after_cancel;
	bool done;
};

#define TICK_NS		(5 * MS)
#define N_TICKS		10

static int timed_activate(struct vact_ctx *ctx, const void *ckpt, size_t len)
{
	struct timed *t = vact_ctx_data(ctx);
	uint64_t self = vact_ctx_self(ctx);
	uint64_t id;
	int ret;

	t->start = now_ns();
	/* Scheduled out of order; must arrive in deadline order. */
	ret = vact_ctx_send_after(ctx, self, 30 * MS, "c", 1, 3, &id);
	ret = ret ?: vact_ctx_send_after(ctx, self, 10 * MS, "a", 1, 1, NULL);
	ret = ret ?: vact_ctx_send_after(ctx, self, 20 * MS, "b", 1, 2, NULL);
	ret = ret ?: vact_ctx_timer_start(ctx, TICK_NS, 77, &t->tick_timer);
	return ret;
}

static int timed_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct timed *t = vact_ctx_data(ctx);
	uint64_t now = now_ns();

	if (msg->flags & VACT_MSG_TICK) {
		uint64_t k;

		if (t->ticks == N_TICKS) {
			t->after_cancel++;
			return 0;
		}
		memcpy(&k, msg->data, sizeof(k));
		if (msg->tag != 77 || msg->len != 8 || k != t->ticks + 1 ||
		    msg->from != vact_ctx_self(ctx))
			t->wrong++;
		if (now < t->start + k * TICK_NS)
			t->early++;
		t->ticks++;
		if (t->ticks == N_TICKS) {
			if (vact_ctx_timer_cancel(ctx, t->tick_timer))
				t->wrong++;
			/* Cancelled twice: gone. */
			if (vact_ctx_timer_cancel(ctx, t->tick_timer) != -ENOENT)
				t->wrong++;
		}
		return 0;
	}
	if (msg->tag >= 1 && msg->tag <= 3) {
		if (now < t->start + msg->tag * 10 * MS)
			t->early++;
		if (msg->tag != (uint64_t)t->n_after + 1 || msg->len != 1 ||
		    ((const char *)msg->data)[0] != (char)('a' + msg->tag - 1))
			t->wrong++;
		t->order[t->n_after++] = msg->tag;
		/* After the last one, wait past a few more periods. */
		if (msg->tag == 3)
			return vact_ctx_send_after(ctx, vact_ctx_self(ctx),
						   4 * TICK_NS, NULL, 0, 4, NULL);
		return 0;
	}
	if (msg->tag == 4) {
		/* Ticks may still be due: finish once all ten were seen. */
		if (t->ticks < N_TICKS)
			return vact_ctx_send_after(ctx, vact_ctx_self(ctx),
						   4 * TICK_NS, NULL, 0, 4, NULL);
		note(1);
		return 0;
	}
	t->wrong++;
	return 0;
}

static const struct vact_actor_type timed_type = {
	.name = "timed",
	.activate = timed_activate,
	.message = timed_message,
};

TEST_F_TIMEOUT(rt, timers, 120)
{
	struct timed t;
	struct vact_spawn_opts o = { .data = &t };
	struct vact_runtime_stats st;

	memset(&t, 0, sizeof(t));
	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &timed_type, &o, NULL));
	EXPECT_EQ(1, wait_note());
	EXPECT_EQ(3, t.n_after);
	EXPECT_EQ(1, t.order[0]);
	EXPECT_EQ(2, t.order[1]);
	EXPECT_EQ(3, t.order[2]);
	EXPECT_EQ(N_TICKS, t.ticks);
	EXPECT_EQ(0, t.after_cancel);
	EXPECT_EQ(0, t.early);
	EXPECT_EQ(0, t.wrong);
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	/* Three send-afters, ten ticks, at least one "wait more" send-after. */
	EXPECT_LE(3 + N_TICKS + 1, st.ticks);
}

/* ---- epoll: the runtime on the caller's thread ---- */

static int busy_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct counter *c = vact_ctx_data(ctx);
	struct vact_runtime *rt = vact_ctx_runtime(ctx);

	/* The worker is being polled right now: nobody else may. */
	if (vact_runtime_poll(rt, vact_ctx_worker(ctx), 0) != -EBUSY)
		c->violations++;
	c->count++;
	return 0;
}

static const struct vact_actor_type busy_type = {
	.name = "busy",
	.message = busy_message,
};

TEST(epoll_manual)
{
	struct vact_runtime_opts o = { .workers = 1, .flags = VACT_RUNTIME_MANUAL };
	struct vact_runtime *rt;
	struct counter c;
	struct vact_spawn_opts so = { .data = &c };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	uint64_t id;
	int ep, fd, i, waits = 0;

	memset(&c, 0, sizeof(c));
	ASSERT_EQ(0, vact_runtime_start(&rt, &o));
	fd = vact_runtime_fd(rt, 0);
	ASSERT_LE(0, fd);
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));

	/* Nothing yet: a poll that does not wait handles nothing. */
	EXPECT_EQ(0, vact_runtime_poll(rt, 0, 0));
	ASSERT_EQ(0, vact_runtime_spawn(rt, &busy_type, &so, &id));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, vact_runtime_send(rt, id, &i, sizeof(i), 0));
	while (c.count < 10) {
		ASSERT_EQ(1, epoll_wait(ep, &out, 1, 20000));
		EXPECT_TRUE(out.events & EPOLLIN);
		ASSERT_LE(0, vact_runtime_poll(rt, 0, 0));
		waits++;
	}
	EXPECT_EQ(10, c.count);
	EXPECT_EQ(0, c.violations);
	EXPECT_GE(11, waits);
	/* Everything was taken: the fd is quiet again. */
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	/* poll with a timeout waits for it, then returns 0. */
	EXPECT_EQ(0, vact_runtime_poll(rt, 0, 5 * MS));
	close(ep);
	EXPECT_EQ(0, vact_runtime_stop(rt));
}

/* ---- stopping: kill, vact_ctx_stop, a failing callback ---- */

static int stopper_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	if (msg->tag == 1)
		return vact_ctx_stop(ctx);
	if (msg->tag == 2)
		return -EIO;	/* fails the actor */
	return 0;
}

static void stopper_stop(struct vact_ctx *ctx)
{
	note(vact_ctx_self(ctx));
}

static const struct vact_actor_type stopper_type = {
	.name = "stopper",
	.message = stopper_message,
	.stop = stopper_stop,
};

TEST_F_TIMEOUT(rt, stop_kill_fail, 120)
{
	struct vact_spawn_opts o = { .flags = VACT_SPAWN_WORKER, .worker = 0 };
	struct vact_runtime_stats st;
	struct counter c;
	struct count_reply r;
	uint64_t id[3], probe;
	int i;

	ASSERT_EQ(0, spawn_counter(self->rt, &c, NULL, 0, &probe));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, vact_runtime_spawn(self->rt, &stopper_type, &o, &id[i]));
	ASSERT_EQ(0, vact_runtime_kill(self->rt, id[0]));
	ASSERT_EQ(0, vact_runtime_send(self->rt, id[1], NULL, 0, 1));
	ASSERT_EQ(0, vact_runtime_send(self->rt, id[2], NULL, 0, 2));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(id[i], wait_note());
	/* Destroyed once a later turn on that worker answered. */
	ASSERT_EQ(0, get_count(self->rt, probe, &r));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-ENOENT, vact_runtime_send(self->rt, id[i], NULL, 0, 0));
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	EXPECT_EQ(1, st.failed);
	EXPECT_EQ(1, st.actors);
}

/*
 * An actor that replies and then stops in the same turn, and says goodbye
 * from stop(): both messages go out before its DESTROY (the kernel would
 * refuse a send from an actor it no longer has).
 */
static int last_word_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	int ret = 0;

	if (msg->flags & VACT_MSG_REQUEST)
		ret = vact_ctx_reply(ctx, msg, "bye", 3);
	return ret ?: vact_ctx_stop(ctx);
}

static void last_word_stop(struct vact_ctx *ctx)
{
	const uint64_t *witness = vact_ctx_data(ctx);

	vact_ctx_send(ctx, *witness, NULL, 0, 99);
}

static const struct vact_actor_type last_word_type = {
	.name = "last_word",
	.message = last_word_message,
	.stop = last_word_stop,
};

TEST_F_TIMEOUT(rt, stop_after_reply_sends_both, 120)
{
	struct vact_spawn_opts eo = { .flags = VACT_SPAWN_WORKER, .worker = 1 };
	struct vact_spawn_opts lo = { .flags = VACT_SPAWN_WORKER, .worker = 0 };
	uint64_t witness, lw;
	char buf[8] = { 0 };

	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &echo_type, &eo, &witness));
	lo.data = &witness;
	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &last_word_type, &lo, &lw));
	EXPECT_EQ(3, vact_runtime_request(self->rt, lw, "?", 1, buf,
					  sizeof(buf), WAIT_NS));
	EXPECT_EQ(0, memcmp(buf, "bye", 3));
	/* stop()'s goodbye reached the witness. */
	EXPECT_EQ(99, wait_note());
}

/*
 * stop() and deactivate() that call vact_ctx_stop() as the runtime stops:
 * each actor leaves once (one stop(), one note), nothing is freed twice.
 */
static void restopper_stop(struct vact_ctx *ctx)
{
	note(vact_ctx_self(ctx));
	vact_ctx_stop(ctx);
}

static int restopper_deactivate(struct vact_ctx *ctx, void *buf, size_t cap)
{
	vact_ctx_stop(ctx);
	return 0;
}

static const struct vact_actor_type restopper_type = {
	.name = "restopper",
	.message = stopper_message,
	.stop = restopper_stop,
	.deactivate = restopper_deactivate,
};

TEST(runtime_stop_with_stopping_callbacks)
{
	struct vact_spawn_opts plain = { 0 };
	struct vact_spawn_opts durable = { .flags = VACT_SPAWN_DURABLE };
	struct vact_runtime_opts o = { .workers = 1 };
	struct vact_runtime *rt;
	uint64_t a, b;

	ASSERT_EQ(0, pipe(note_pipe));
	ASSERT_EQ(0, vact_runtime_start(&rt, &o));
	ASSERT_EQ(0, vact_runtime_spawn(rt, &restopper_type, &plain, &a));
	ASSERT_EQ(0, vact_runtime_spawn(rt, &restopper_type, &durable, &b));
	EXPECT_EQ(0, vact_runtime_stop(rt));
	close(note_pipe[1]);
	/* Only the plain one is stopped; the durable one goes dormant. */
	EXPECT_EQ(a, wait_note());
	EXPECT_EQ(~0ULL, wait_note());
	close(note_pipe[0]);
}

/*
 * Delays too long for the clock: a timer that never fires, not one that
 * wraps around and fires at once (or, periodic, on every round).
 */
static int farsighted_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	uint64_t self = vact_ctx_self(ctx);
	int ret;

	if (msg->flags & VACT_MSG_TICK) {
		note(11);
		return 0;
	}
	if (msg->tag != 1) {
		note(msg->tag);
		return 0;
	}
	ret = vact_ctx_send_after(ctx, self, UINT64_MAX, NULL, 0, 10, NULL);
	ret = ret ?: vact_ctx_timer_start(ctx, UINT64_MAX, 11, NULL);
	ret = ret ?: vact_ctx_timer_start(ctx, (uint64_t)INT64_MAX, 11, NULL);
	return ret ?: vact_ctx_send_after(ctx, self, MS, NULL, 0, 12, NULL);
}

static const struct vact_actor_type farsighted_type = {
	.name = "farsighted",
	.message = farsighted_message,
};

TEST_F_TIMEOUT(rt, timer_too_far_never_fires, 120)
{
	uint64_t id;

	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &farsighted_type, NULL, &id));
	ASSERT_EQ(0, vact_runtime_send(self->rt, id, NULL, 0, 1));
	EXPECT_EQ(12, wait_note());
	/* The workers still stop (a timer due on every round would not). */
	EXPECT_EQ(0, vact_runtime_stop(self->rt));
	self->rt = NULL;
	close(note_pipe[1]);
	note_pipe[1] = -1;
	EXPECT_EQ(~0ULL, wait_note());
}

/*
 * Without spinning, an actor spawned onto the worker that runs the spawning
 * callback is activated at once: the worker looks at its inbox before it
 * sleeps.
 */
static int child_activate(struct vact_ctx *ctx, const void *ckpt, size_t len)
{
	note(5);
	return 0;
}

static const struct vact_actor_type child_type = {
	.name = "child",
	.activate = child_activate,
	.message = stopper_message,
};

static int spawner_activate(struct vact_ctx *ctx, const void *ckpt, size_t len)
{
	struct vact_runtime *rt = vact_ctx_data(ctx);
	struct vact_spawn_opts o = { .flags = VACT_SPAWN_WORKER, .worker = 0 };

	return vact_runtime_spawn(rt, &child_type, &o, NULL);
}

static const struct vact_actor_type spawner_type = {
	.name = "spawner",
	.activate = spawner_activate,
	.message = stopper_message,
};

TEST(nospin_spawn_onto_own_worker)
{
	struct vact_runtime_opts o = { .workers = 1,
				       .flags = VACT_RUNTIME_NOSPIN };
	struct vact_spawn_opts so = { 0 };
	struct vact_runtime *rt;

	ASSERT_EQ(0, pipe(note_pipe));
	ASSERT_EQ(0, vact_runtime_start(&rt, &o));
	so.data = rt;
	ASSERT_EQ(0, vact_runtime_spawn(rt, &spawner_type, &so, NULL));
	EXPECT_EQ(5, wait_note());
	EXPECT_EQ(0, vact_runtime_stop(rt));
	close(note_pipe[0]);
	close(note_pipe[1]);
}

/*
 * Fire-and-forget sends whose targets die leave reports in the client
 * port's CQ.  More of them than the CQ holds, with no request waiting,
 * must not pile up in the kernel (in the client actor's mailbox, where they
 * would also leave no room for a later reply).  A raw port with a full CQ
 * hosts each target, so the client's sends wait in the target's mailbox
 * and come back as EV_UNDELIVERED reports when it is destroyed.
 */
#define REPORT_MAILBOX	4
#define REPORT_TARGETS	300	/* 1200 reports: past the client CQ's 1024 */

/* Messages waiting in kernel mailboxes, over all actors: /proc's column. */
static long mailboxes_total(void)
{
	char line[512], name[128], type[32], state[32];
	unsigned long long id;
	long total = 0, pid, port, parent, mb;
	FILE *f = fopen("/proc/vactor/actors", "r");

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EIO;
	}
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llu %127s %31s %31s %ld %ld %ld %ld", &id, name,
			   type, state, &pid, &port, &parent, &mb) == 8)
			total += mb;
	fclose(f);
	return total;
}

TEST(client_reports_leave_room_for_replies)
{
	struct vact_runtime_opts o = { .workers = 1 };
	struct vact_runtime *rt;
	struct vact_port p;
	uint64_t echo, x;
	long saved;
	char buf[8];
	int i, k;

	saved = module_param_read(MAILBOX_MAX_PARAM);
	ASSERT_LT(0, saved);
	ASSERT_EQ(0, module_param_write(MAILBOX_MAX_PARAM, REPORT_MAILBOX));
	ASSERT_EQ(0, vact_runtime_start(&rt, &o));
	ASSERT_EQ(0, vact_runtime_spawn(rt, &echo_type, NULL, &echo));
	/* Its CQ filled and never reaped: what comes next waits. */
	ASSERT_EQ(0, port_open(&p, 2, 2, 0, 0));
	ASSERT_EQ(0, vact_create(&p, NULL, 0, &x));
	for (k = 0; k < 2; k++)
		ASSERT_EQ(0, vact_runtime_send(rt, x, NULL, 0, k));
	for (i = 0; i < REPORT_TARGETS; i++) {
		ASSERT_EQ(0, vact_create(&p, NULL, 0, &x));
		for (k = 0; k < REPORT_MAILBOX; k++)
			ASSERT_EQ(0, vact_runtime_send(rt, x, NULL, 0, k));
		ASSERT_EQ(0, vact_destroy(&p, x));
	}
	/* The client reaped the reports as it sent: none waits. */
	EXPECT_EQ(0, mailboxes_total());
	EXPECT_EQ(1, vact_runtime_request(rt, echo, "?", 1, buf, sizeof(buf),
					  WAIT_NS));
	EXPECT_EQ(0, vact_runtime_stop(rt));
	vact_port_close(&p);
	EXPECT_EQ(0, module_param_write(MAILBOX_MAX_PARAM, saved));
}

/* ---- durable actors: deactivate, dormant, adopt ---- */

struct durable {
	uint64_t count;
	uint64_t activated_with;
	uint64_t ckpt[2];
	size_t ckpt_len;
};

static int durable_activate(struct vact_ctx *ctx, const void *ckpt, size_t len)
{
	struct durable *d = vact_ctx_data(ctx);

	if (len == sizeof(d->count))
		memcpy(&d->count, ckpt, len);
	d->activated_with = len;
	return 0;
}

static int durable_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct durable *d = vact_ctx_data(ctx);

	if (msg->flags & VACT_MSG_REQUEST)
		return vact_ctx_reply(ctx, msg, &d->count, sizeof(d->count));
	d->count++;
	return 0;
}

static int durable_deactivate(struct vact_ctx *ctx, void *buf, size_t cap)
{
	struct durable *d = vact_ctx_data(ctx);

	memcpy(buf, &d->count, sizeof(d->count));
	return sizeof(d->count);
}

static const struct vact_actor_type durable_type = {
	.name = "durable",
	.activate = durable_activate,
	.message = durable_message,
	.deactivate = durable_deactivate,
};

static void keep_checkpoint(uint64_t id, const void *ckpt, size_t len,
			    void *arg)
{
	struct durable *d = arg;

	d->ckpt_len = len;
	if (len <= sizeof(d->ckpt))
		memcpy(d->ckpt, ckpt, len);
}

TEST(durable_adopt)
{
	struct durable kept = { 0 }, d1 = { 0 }, d2 = { 0 };
	struct vact_runtime_opts o1 = { .on_checkpoint = keep_checkpoint,
					.arg = &kept };
	struct vact_runtime *rt1, *rt2;
	char name[64];
	uint64_t id, id2, count;
	struct vact_spawn_opts so = { .name = name, .flags = VACT_SPAWN_DURABLE,
				      .data = &d1 };
	struct vact_spawn_opts ao = { .data = &d2 };
	int i;

	snprintf(name, sizeof(name), "rt.durable.%d", (int)getpid());
	ASSERT_EQ(0, vact_runtime_start(&rt1, &o1));
	ASSERT_EQ(0, vact_runtime_start(&rt2, NULL));
	ASSERT_EQ(0, vact_runtime_spawn(rt1, &durable_type, &so, &id));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, vact_runtime_send(rt2, id, NULL, 0, 0));
	ASSERT_EQ((int)sizeof(count),
		  vact_runtime_request(rt2, id, NULL, 0, &count, sizeof(count),
				       WAIT_NS));
	EXPECT_EQ(3, count);
	EXPECT_EQ(0, d1.activated_with);

	/* rt1 leaves: a checkpoint, and the actor stays, dormant, named. */
	EXPECT_EQ(0, vact_runtime_stop(rt1));
	ASSERT_EQ(sizeof(uint64_t), kept.ckpt_len);
	EXPECT_EQ(3, kept.ckpt[0]);
	ASSERT_EQ(0, vact_runtime_find(rt2, name, &id2));
	EXPECT_EQ(id, id2);
	/* Held by the kernel while dormant. */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, vact_runtime_send(rt2, id, NULL, 0, 0));
	/* Hosted elsewhere already: busy; unknown: no such actor. */
	ao.ckpt = kept.ckpt;
	ao.ckpt_len = kept.ckpt_len;
	ASSERT_EQ(0, vact_runtime_adopt(rt2, &durable_type, id, &ao));
	EXPECT_EQ(-EBUSY, vact_runtime_adopt(rt2, &durable_type, id, &ao));
	EXPECT_EQ(-ENOENT, vact_runtime_adopt(rt2, &durable_type, ~0ULL >> 2, &ao));
	ASSERT_EQ((int)sizeof(count),
		  vact_runtime_request(rt2, id, NULL, 0, &count, sizeof(count),
				       WAIT_NS));
	EXPECT_EQ(5, count);
	EXPECT_EQ(sizeof(uint64_t), d2.activated_with);
	/* Not durable in rt2: destroyed when it stops. */
	EXPECT_EQ(0, vact_runtime_stop(rt2));
	ASSERT_EQ(0, vact_runtime_start(&rt2, NULL));
	EXPECT_EQ(-ENOENT, vact_runtime_find(rt2, name, &id2));
	EXPECT_EQ(0, vact_runtime_stop(rt2));
}

/* ---- every error of the public API ---- */

static const struct vact_actor_type no_message_type = { .name = "none" };

TEST_F(rt, api_errors)
{
	struct vact_runtime_opts bad = { .flags = 1U << 7 };
	struct vact_runtime_opts many = { .workers = VACT_RUNTIME_MAX_WORKERS + 1 };
	struct vact_runtime_stats st;
	struct vact_runtime *rt;
	struct vact_spawn_opts so = { 0 };
	struct counter c;
	char longname[VACTOR_NAME_MAX + 8], name[64], buf[8];
	uint64_t id, echo;

	EXPECT_EQ(-EINVAL, vact_runtime_start(NULL, NULL));
	EXPECT_EQ(-EINVAL, vact_runtime_start(&rt, &bad));
	EXPECT_EQ(NULL, rt);
	EXPECT_EQ(-EINVAL, vact_runtime_start(&rt, &many));
	EXPECT_EQ(-EINVAL, vact_runtime_stop(NULL));
	EXPECT_EQ(-EINVAL, vact_runtime_workers(NULL));
	EXPECT_EQ(-EINVAL, vact_runtime_fd(NULL, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_fd(self->rt, 2));
	EXPECT_LE(0, vact_runtime_fd(self->rt, 1));
	/* Threaded runtimes are not polled by hand. */
	EXPECT_EQ(-EINVAL, vact_runtime_poll(self->rt, 0, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_poll(NULL, 0, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_stats(self->rt, NULL));
	EXPECT_EQ(-EINVAL, vact_runtime_stats(NULL, &st));

	/* spawn */
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(NULL, &counter_type, NULL, &id));
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(self->rt, NULL, NULL, &id));
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(self->rt, &no_message_type, NULL, &id));
	so.flags = 1U << 9;
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(self->rt, &echo_type, &so, &id));
	so.flags = VACT_SPAWN_WORKER;
	so.worker = 2;
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(self->rt, &echo_type, &so, &id));
	so = (struct vact_spawn_opts){ .ckpt_len = 4 };
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(self->rt, &echo_type, &so, &id));
	so = (struct vact_spawn_opts){ .ckpt = buf,
				       .ckpt_len = VACT_CHECKPOINT_MAX + 1 };
	EXPECT_EQ(-EINVAL, vact_runtime_spawn(self->rt, &echo_type, &so, &id));
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	so = (struct vact_spawn_opts){ .name = longname };
	EXPECT_EQ(-ENAMETOOLONG, vact_runtime_spawn(self->rt, &echo_type, &so, &id));
	snprintf(name, sizeof(name), "rt.err.%d", (int)getpid());
	so = (struct vact_spawn_opts){ .name = name };
	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &echo_type, &so, &echo));
	EXPECT_EQ(-EEXIST, vact_runtime_spawn(self->rt, &echo_type, &so, &id));

	/* adopt */
	EXPECT_EQ(-EBUSY, vact_runtime_adopt(self->rt, &echo_type, echo, NULL));
	EXPECT_EQ(-EINVAL, vact_runtime_adopt(self->rt, &echo_type, echo, &so));
	EXPECT_EQ(-EINVAL, vact_runtime_adopt(self->rt, NULL, echo, NULL));

	/* find */
	EXPECT_EQ(-EINVAL, vact_runtime_find(NULL, name, &id));
	EXPECT_EQ(-EINVAL, vact_runtime_find(self->rt, NULL, &id));
	EXPECT_EQ(-EINVAL, vact_runtime_find(self->rt, name, NULL));
	EXPECT_EQ(-ENOENT, vact_runtime_find(self->rt, "rt.no.such.name", &id));
	EXPECT_EQ(-ENAMETOOLONG, vact_runtime_find(self->rt, longname, &id));
	EXPECT_EQ(0, vact_runtime_find(self->rt, name, &id));
	EXPECT_EQ(echo, id);

	/* send */
	EXPECT_EQ(-EINVAL, vact_runtime_send(NULL, echo, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_send(self->rt, echo, NULL, 0,
					     VACT_TAG_MAX + 1));
	EXPECT_EQ(-EINVAL, vact_runtime_send(self->rt, echo, NULL, 1, 0));
	EXPECT_EQ(-EMSGSIZE, vact_runtime_send(self->rt, echo, buf,
					       VACTOR_MSG_MAX + 1, 0));
	EXPECT_EQ(-ENOENT, vact_runtime_send(self->rt, ~0ULL >> 2, NULL, 0, 0));
	EXPECT_EQ(-ENOENT, vact_runtime_send_name(self->rt, "rt.no.such.name",
						  NULL, 0, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_send_name(self->rt, NULL, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_send_name(self->rt, name, NULL, 0,
						  VACT_TAG_MAX + 1));
	EXPECT_EQ(0, vact_runtime_send_name(self->rt, name, "hi", 2, 3));

	/* request */
	EXPECT_EQ(-EINVAL, vact_runtime_request(NULL, echo, NULL, 0, buf, 1, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_request(self->rt, echo, NULL, 0, NULL, 1, 0));
	EXPECT_EQ(-EINVAL, vact_runtime_request(self->rt, echo, NULL, 1, buf, 1, 0));
	EXPECT_EQ(-EMSGSIZE, vact_runtime_request(self->rt, echo, buf,
						  VACTOR_MSG_MAX + 1, buf, 1, 0));
	EXPECT_EQ(-ENOENT, vact_runtime_request(self->rt, ~0ULL >> 2, NULL, 0,
						buf, sizeof(buf), WAIT_NS));
	/* timeout 0: asks, does not wait */
	EXPECT_EQ(-ETIME, vact_runtime_request(self->rt, echo, "a", 1, buf,
					       sizeof(buf), 0));
	/* No reply buffer: only the length. */
	EXPECT_EQ(2, vact_runtime_request(self->rt, echo, "ab", 2, NULL, 0,
					  WAIT_NS));

	/* kill */
	EXPECT_EQ(-EINVAL, vact_runtime_kill(NULL, echo));
	EXPECT_EQ(-ENOENT, vact_runtime_kill(self->rt, ~0ULL >> 2));

	/* ctx functions outside a callback */
	EXPECT_EQ(-EINVAL, vact_ctx_send(NULL, echo, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, vact_ctx_stop(NULL));
	EXPECT_EQ(0, vact_ctx_self(NULL));
	EXPECT_EQ(NULL, vact_ctx_data(NULL));
	EXPECT_EQ(NULL, vact_ctx_runtime(NULL));

	/* the late reply of the timeout-0 request above was dropped */
	ASSERT_EQ(0, spawn_counter(self->rt, &c, NULL, -1, &id));
	ASSERT_EQ(0, vact_runtime_stats(self->rt, &st));
	EXPECT_EQ(1, st.dropped);
}

/* Inside a callback: the ctx functions' errors, and what a worker may not do. */
struct prober {
	uint64_t echo;
	int fails;
	int line;
};

#define PROBE(p, expr, want) do {					\
	int _r = (expr);						\
	if (_r != (want)) {						\
		(p)->fails++;						\
		if (!(p)->line)						\
			(p)->line = __LINE__;				\
	}								\
} while (0)

static void ignore_reply(struct vact_ctx *ctx, int status,
			 const struct vact_msg *reply, void *arg)
{
}

static int prober_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct prober *p = vact_ctx_data(ctx);
	struct vact_runtime *rt = vact_ctx_runtime(ctx);
	static char big[VACTOR_MSG_MAX + 1];
	struct vact_msg fake = *msg;
	char buf[8];
	uint64_t t;

	if (!(msg->flags & VACT_MSG_REQUEST))
		return 0;
	PROBE(p, vact_ctx_send(ctx, p->echo, NULL, 0, VACT_TAG_MAX + 1), -EINVAL);
	PROBE(p, vact_ctx_send(ctx, p->echo, NULL, 4, 0), -EINVAL);
	PROBE(p, vact_ctx_send(ctx, p->echo, big, sizeof(big), 0), -EMSGSIZE);
	PROBE(p, vact_ctx_send_name(ctx, "rt.no.such.name", NULL, 0, 0), -ENOENT);
	PROBE(p, vact_ctx_send_name(ctx, NULL, NULL, 0, 0), -EINVAL);
	PROBE(p, vact_ctx_request(ctx, p->echo, NULL, 0, -1, NULL, NULL), -EINVAL);
	PROBE(p, vact_ctx_request(ctx, p->echo, big, sizeof(big), -1,
				  ignore_reply, NULL), -EMSGSIZE);
	fake.flags = 0;
	PROBE(p, vact_ctx_reply(ctx, &fake, NULL, 0), -EINVAL);
	PROBE(p, vact_ctx_reply(ctx, NULL, NULL, 0), -EINVAL);
	PROBE(p, vact_ctx_timer_start(ctx, 0, 1, &t), -EINVAL);
	PROBE(p, vact_ctx_timer_start(ctx, MS, VACT_TAG_MAX + 1, &t), -EINVAL);
	PROBE(p, vact_ctx_send_after(ctx, p->echo, MS, NULL, 0,
				     VACT_TAG_MAX + 1, &t), -EINVAL);
	PROBE(p, vact_ctx_send_after(ctx, p->echo, MS, big, sizeof(big), 0, &t),
	      -EMSGSIZE);
	PROBE(p, vact_ctx_timer_cancel(ctx, 12345), -ENOENT);
	/* A timer of this actor cancels once. */
	PROBE(p, vact_ctx_send_after(ctx, p->echo, 1000 * MS, NULL, 0, 0, &t), 0);
	PROBE(p, vact_ctx_timer_cancel(ctx, t), 0);
	PROBE(p, vact_ctx_timer_cancel(ctx, t), -ENOENT);
	/* A worker must not block on its own runtime. */
	PROBE(p, vact_runtime_request(rt, p->echo, NULL, 0, buf, sizeof(buf),
				      WAIT_NS), -EDEADLK);
	PROBE(p, vact_runtime_stop(rt), -EDEADLK);
	PROBE(p, vact_runtime_poll(rt, 0, 0), -EINVAL);
	/* A send to a missing actor fails later, in undelivered(). */
	PROBE(p, vact_ctx_send(ctx, ~0ULL >> 2, "x", 1, 0), 0);
	return vact_ctx_reply(ctx, msg, &p->fails, sizeof(p->fails));
}

static void prober_undelivered(struct vact_ctx *ctx, uint64_t to, int err)
{
	if (to == ~0ULL >> 2 && err == -ENOENT)
		note(1);
	else
		note(2);
}

static const struct vact_actor_type prober_type = {
	.name = "prober",
	.message = prober_message,
	.undelivered = prober_undelivered,
};

TEST_F_TIMEOUT(rt, ctx_errors, 120)
{
	struct prober p = { 0 };
	struct vact_spawn_opts so = { .data = &p };
	int fails = -1;
	uint64_t id;

	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &echo_type, NULL, &p.echo));
	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &prober_type, &so, &id));
	ASSERT_EQ((int)sizeof(fails),
		  vact_runtime_request(self->rt, id, NULL, 0, &fails,
				       sizeof(fails), WAIT_NS));
	EXPECT_EQ(0, fails);
	EXPECT_EQ(0, p.line);
	EXPECT_EQ(1, wait_note());
}

/* ---- the examples, exact output ---- */

/* Runs build/DIR/PROG (/DIR/PROG in the VM) with args; its stdout in out. */
static int run_prog(const char *dir, char *const argv[], char *out, size_t size)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n;
	size_t len = 0;
	int fds[2], status;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(path, sizeof(path), "%s/../%s/%s", exe, dir, argv[0]);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		execv(path, argv);
		_exit(127);
	}
	close(fds[1]);
	while (len < size - 1 && (n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int run_example(const char *name, char *out, size_t size)
{
	char *const argv[] = { (char *)name, NULL };

	return run_prog("examples", argv, out, size);
}

/* ---- vactorctl against a runtime actor ---- */

static int recorder_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	char *last = vact_ctx_data(ctx);

	if (msg->len < 63) {
		memcpy(last, msg->data, msg->len);
		last[msg->len] = 0;
		note(msg->tag);
	}
	return 0;
}

static void recorder_stop(struct vact_ctx *ctx)
{
	note(1000);
}

static const struct vact_actor_type recorder_type = {
	.name = "recorder",
	.type_id = 42,
	.message = recorder_message,
	.stop = recorder_stop,
};

TEST_F_TIMEOUT(rt, vactorctl, 120)
{
	char name[64], last[64] = "", out[16384], want[128], ids[32];
	struct vact_spawn_opts so = { .name = name, .data = last };
	uint64_t id;

	snprintf(name, sizeof(name), "rt.ctl.%d", (int)getpid());
	ASSERT_EQ(0, vact_runtime_spawn(self->rt, &recorder_type, &so, &id));
	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	{
		char *const argv[] = { "vactorctl", "--json", "ls", NULL };

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		snprintf(want, sizeof(want), "{\"id\":%s,\"name\":\"%s\",\"type\":42,",
			 ids, name);
		EXPECT_NE(NULL, strstr(out, want));
	}
	{
		char *const argv[] = { "vactorctl", "ls", NULL };

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		EXPECT_EQ(0, strncmp(out, "ID  ", 4));
		EXPECT_NE(NULL, strstr(out, name));
	}
	{
		char *const argv[] = { "vactorctl", "send", "--tag", "7", name,
				       "hello", "world", NULL };

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		EXPECT_EQ(7, wait_note());
		EXPECT_STREQ("hello world", last);
	}
	{
		char *const argv[] = { "vactorctl", "send", ids, "by-id", NULL };

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		EXPECT_EQ(0, wait_note());
		EXPECT_STREQ("by-id", last);
	}
	{
		char *const argv[] = { "vactorctl", "--json", "tree", NULL };
		const char *lit = "{\"supervision\":false,\"root\":null,";

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		EXPECT_EQ(0, strncmp(out, lit, strlen(lit)));
	}
	{
		char *const argv[] = { "vactorctl", "--json", "stats", NULL };

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		EXPECT_EQ(0, strncmp(out, "{\"sent\":", 8));
		EXPECT_NE(NULL, strstr(out, "\"ports\":[{\"port\":"));
	}
	{
		char *const argv[] = { "vactorctl", "stop", name, NULL };

		ASSERT_EQ(0, run_prog("tools", argv, out, sizeof(out)));
		snprintf(want, sizeof(want), "#%s asked to stop", ids);
		EXPECT_EQ(0, strncmp(out, want, strlen(want)));
		EXPECT_EQ(1000, wait_note());
	}
	{
		char *const a1[] = { "vactorctl", "migrate", ids, NULL };
		char *const a2[] = { "vactorctl", "frobnicate", NULL };
		char *const a3[] = { "vactorctl", "send", "rt.no.such.name", "x", NULL };
		char *const a4[] = { "vactorctl", "tree", "rt.no.such.name", NULL };

		EXPECT_EQ(3, run_prog("tools", a1, out, sizeof(out)));
		EXPECT_EQ(2, run_prog("tools", a2, out, sizeof(out)));
		EXPECT_EQ(1, run_prog("tools", a3, out, sizeof(out)));
		EXPECT_EQ(1, run_prog("tools", a4, out, sizeof(out)));
	}
}

TEST(example_pingpong)
{
	char out[4096];

	EXPECT_EQ(0, run_example("pingpong", out, sizeof(out)));
	EXPECT_STREQ("pingpong: ping and pong in two processes\n"
		     "pingpong: 1000 round trips, ball came back 1000 times in order\n"
		     "pingpong: 1000 round trips as requests, every reply matched\n"
		     "pingpong: PASS\n", out);
}

TEST(example_bank)
{
	char out[4096];

	EXPECT_EQ(0, run_example("bank", out, sizeof(out)));
	EXPECT_STREQ("bank: 8 accounts of 1000, 4 client processes x 500 transfers\n"
		     "bank: 2000 transfers done\n"
		     "bank: total 8000, expected 8000: conserved\n"
		     "bank: PASS\n", out);
}

TEST(example_pipeline)
{
	char out[4096];

	EXPECT_EQ(0, run_example("pipeline", out, sizeof(out)));
	EXPECT_STREQ("pipeline: parse -> square -> sum, one process per stage\n"
		     "pipeline: 1000 items through 3 stages\n"
		     "pipeline: sum of squares of 1..1000 = 333833500 (expected 333833500)\n"
		     "pipeline: PASS\n", out);
}

TEST_HARNESS_MAIN
