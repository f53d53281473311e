// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact runtime: actor types hosted by worker threads, one port each.
 *
 * A worker is a host: it owns one port, the actors created on it, their
 * timers and their pending requests, and it runs every callback of those
 * actors on its own thread, one at a time.  That is what makes execution
 * turn-based: an actor never moves between workers (the kernel cannot
 * migrate yet), so it never runs on two threads at once.
 *
 * Other threads reach a worker two ways.  Spawning creates the actor with a
 * synchronous CALL on the worker's port under the worker's inbox lock and
 * queues the record in the inbox; a message for an id the worker does not
 * know yet makes it drain the inbox, which the spawner filled before its
 * CALL returned, so no message can overtake the record.  Waking: every
 * worker hosts an anonymous control actor; a VACT_KIND_WAKE message to it
 * ends the worker's sleep in ENTER, after which it looks at its inbox and
 * stop flag.
 *
 * Threads that are not workers send through the runtime's client port and
 * its actor, always with CALL (synchronous: a refused send fails in the
 * caller, and the client port's SQ stays unused).  Replies to blocking
 * requests come back to the client actor; one waiting thread at a time
 * reaps the client CQ and hands each reply to its waiter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_private.h"

#define DEFAULT_SPIN_NS		20000u
#define DEFAULT_SQ_ENTRIES	256u
/* CQEs dispatched before timers, the inbox and submission get a turn. */
#define DISPATCH_BATCH		64
/* SQE user_data of a request: its correlation; of a plain send: the target. */
#define UD_REQUEST		(1ULL << 63)

struct actor {
	struct hnode node;		/* key: actor id */
	const struct vact_actor_type *type;
	void *data;
	unsigned int flags;		/* VACT_SPAWN_* */
	bool active;			/* activate() succeeded: stop() is owed */
	bool stopping;
	struct actor *next;		/* inbox or stop list */
	size_t ckpt_len;
	void *ckpt;			/* for activate(), freed after it */
};

struct pending {
	struct hnode node;		/* key: correlation id */
	uint64_t actor, to;
	vact_reply_fn cb;
	void *arg;
	struct timer *timer;		/* its timeout, or NULL */
};

/* A send that found the SQ full: queued here, in order, until it fits. */
struct ovf {
	struct ovf *next;
	uint64_t from, to, tag, user_data;
	uint32_t len;
	unsigned char data[];
};

struct wstats {
	_Atomic uint64_t actors, received, sent, replies, timeouts, ticks,
		undelivered, dropped, failed;
};

struct vact_ctx {
	struct worker *w;
	struct actor *a;		/* whose callback runs; NULL outside */
};

struct worker {
	struct vact_runtime *rt;
	unsigned int idx;
	struct vact_port port;
	uint64_t ctl;			/* control actor: wake-ups land here */
	pthread_t thread;
	bool started;
	struct vact_ctx ctx;
	struct htab actors;
	struct htab pending;
	struct htab timers;
	struct timer_heap heap;
	struct timer *firing;		/* the tick whose callback runs */
	struct actor *stops;		/* to stop once the callback returns */
	struct actor **stops_tail;
	struct ovf *ovf;		/* sends waiting for SQ room, FIFO */
	struct ovf **ovf_tail;
	bool send_now;			/* in stop(): sends go out at once */
	uint64_t next_timer, next_corr;

	pthread_mutex_t inbox_lock;
	struct actor *inbox;		/* spawned or adopted, newest first */
	atomic_bool inbox_ready;
	atomic_bool stop;
	atomic_bool polling;
	struct wstats st;
};

/* A thread blocked in vact_runtime_request. */
struct waiter {
	uint64_t corr, to;
	void *buf;
	size_t cap;
	int status;
	bool done;
	struct waiter *next;
};

struct vact_runtime {
	unsigned int nworkers;
	unsigned int flags;
	uint64_t spin_ns;
	struct vact_runtime_opts opts;
	struct worker *w;
	atomic_uint rr;

	struct vact_port client;	/* for threads that are not workers */
	uint64_t client_actor;
	pthread_mutex_t client_lock;	/* its send area, CQ and waiters */
	pthread_cond_t client_cond;
	bool reaping;
	struct waiter *waiters;
	uint64_t next_corr;
	_Atomic uint64_t client_sent, client_replies, client_timeouts,
		client_dropped;
};

static _Thread_local struct worker *tls_worker;

#define ST_ADD(w, f, v)	atomic_store_explicit(&(w)->st.f, \
	atomic_load_explicit(&(w)->st.f, memory_order_relaxed) + (v), \
	memory_order_relaxed)
#define ST_INC(w, f)	ST_ADD(w, f, 1)

static bool on_worker_of(const struct vact_runtime *rt)
{
	return tls_worker && tls_worker->rt == rt;
}

static int check_payload(const void *data, uint32_t len)
{
	if (len > VACTOR_MSG_MAX)
		return -EMSGSIZE;
	if (len && !data)
		return -EINVAL;
	return 0;
}

/* --- the client port -------------------------------------------------------- */

/* One send as a synchronous CALL: no SQ slot or CQ room, its error at once. */
static int call_send(struct vact_port *p, uint64_t from, uint64_t to,
		     const void *data, uint32_t len, uint64_t tag,
		     uint64_t user_data)
{
	struct vactor_sqe sqe;
	int ret;

	ret = vact_prep_send(p, &sqe, from, to, data, len, tag);
	if (ret)
		return ret;
	sqe.user_data = user_data;
	return vact_call(p, &sqe, NULL);
}

static bool client_drain(struct vact_runtime *rt);

/*
 * A synchronous send from the client actor; client_lock held.  The client
 * CQ is reaped first, unless a request's waiter is reaping it: otherwise
 * reports for failed sends would pile up while no request waits, then fill
 * the client actor's mailbox, and a later request's reply would be
 * refused (EAGAIN).
 */
static int client_send_locked(struct vact_runtime *rt, uint64_t to,
			      const void *data, uint32_t len, uint64_t tag)
{
	int ret;

	if (!rt->reaping && client_drain(rt))
		pthread_cond_broadcast(&rt->client_cond);
	ret = call_send(&rt->client, rt->client_actor, to, data, len, tag, 0);
	if (!ret)
		atomic_fetch_add_explicit(&rt->client_sent, 1,
					  memory_order_relaxed);
	return ret;
}

static int client_send(struct vact_runtime *rt, uint64_t to, const void *data,
		       uint32_t len, uint64_t tag)
{
	int ret = check_payload(data, len);

	if (ret)
		return ret;
	pthread_mutex_lock(&rt->client_lock);
	ret = client_send_locked(rt, to, data, len, tag);
	pthread_mutex_unlock(&rt->client_lock);
	return ret;
}

static struct waiter *find_waiter(struct vact_runtime *rt, uint64_t corr)
{
	struct waiter *wt;

	for (wt = rt->waiters; wt; wt = wt->next)
		if (wt->corr == corr && !wt->done)
			return wt;
	return NULL;
}

/* Hands every ready client CQE to its waiter; client_lock held. */
static bool client_drain(struct vact_runtime *rt)
{
	struct vactor_cqe *cqe;
	bool woke = false;

	while (vact_peek_cqe(&rt->client, &cqe) == 0) {
		unsigned int kind = VACT_TAG_KIND(cqe->tag);
		struct waiter *wt = NULL;

		if (cqe->event == VACTOR_EV_MSG && kind == VACT_KIND_REPLY)
			wt = find_waiter(rt, VACT_TAG_VALUE(cqe->tag));
		else if (cqe->event == VACTOR_EV_UNDELIVERED &&
			 kind == VACT_KIND_REQUEST)
			wt = find_waiter(rt, VACT_TAG_VALUE(cqe->tag));
		if (wt && wt->to != cqe->source)
			wt = NULL;
		if (!wt) {
			atomic_fetch_add_explicit(&rt->client_dropped, 1,
						  memory_order_relaxed);
		} else if (cqe->event == VACTOR_EV_MSG) {
			const void *p = vact_cqe_data(&rt->client, cqe);
			size_t n = cqe->len < wt->cap ? cqe->len : wt->cap;

			if (!p) {
				wt->status = -EFAULT;
			} else {
				if (n)
					memcpy(wt->buf, p, n);
				wt->status = (int)cqe->len;
				atomic_fetch_add_explicit(&rt->client_replies, 1,
							  memory_order_relaxed);
			}
			wt->done = true;
			woke = true;
		} else {
			wt->status = cqe->res < 0 ? cqe->res : -EIO;
			wt->done = true;
			woke = true;
		}
		vact_cq_advance(&rt->client, 1);
	}
	return woke;
}

static void spin_wait_cq(const struct vact_port *port, uint64_t spin_ns,
			 const atomic_bool *flag)
{
	unsigned int head = vact_load_relaxed(port->cq.head);
	uint64_t end;
	unsigned int i;

	if (!spin_ns)
		return;
	end = vact_now_ns() + spin_ns;
	for (i = 1;; i++) {
		if (vact_load_acquire(port->cq.tail) != head)
			return;
		if (flag && atomic_load_explicit(flag, memory_order_acquire))
			return;
		vact_cpu_relax();
		if (!(i & 63) && vact_now_ns() >= end)
			return;
	}
}

static void ts_of(struct timespec *ts, uint64_t ns)
{
	ts->tv_sec = (time_t)(ns / 1000000000u);
	ts->tv_nsec = (long)(ns % 1000000000u);
}

int vact_runtime_request(struct vact_runtime *rt, uint64_t to,
			 const void *data, uint32_t len, void *reply,
			 size_t cap, int64_t timeout_ns)
{
	uint64_t deadline = 0;
	struct waiter wt, **pp;
	int ret;

	if (!rt || (cap && !reply))
		return -EINVAL;
	if (on_worker_of(rt))
		return -EDEADLK;
	ret = check_payload(data, len);
	if (ret)
		return ret;
	if (timeout_ns >= 0)
		deadline = vact_now_ns() + (uint64_t)timeout_ns;

	memset(&wt, 0, sizeof(wt));
	wt.to = to;
	wt.buf = reply;
	wt.cap = cap;
	pthread_mutex_lock(&rt->client_lock);
	rt->next_corr = (rt->next_corr + 1) & VACT_TAG_MAX;
	if (!rt->next_corr)
		rt->next_corr = 1;
	wt.corr = rt->next_corr;
	ret = client_send_locked(rt, to, data, len,
				 VACT_TAG(VACT_KIND_REQUEST, wt.corr));
	if (ret) {
		pthread_mutex_unlock(&rt->client_lock);
		return ret;
	}
	wt.next = rt->waiters;
	rt->waiters = &wt;

	while (!wt.done) {
		if (timeout_ns >= 0 && vact_now_ns() >= deadline)
			break;
		if (!rt->reaping) {
			/* Our turn to reap the client CQ for everyone. */
			unsigned int flags = VACTOR_ENTER_GETEVENTS;
			uint64_t left = 0;

			rt->reaping = true;
			if (client_drain(rt))
				pthread_cond_broadcast(&rt->client_cond);
			if (!wt.done) {
				pthread_mutex_unlock(&rt->client_lock);
				spin_wait_cq(&rt->client, rt->spin_ns, NULL);
				if (timeout_ns >= 0) {
					uint64_t now = vact_now_ns();

					left = deadline > now ? deadline - now : 1;
					flags |= VACTOR_ENTER_TIMEOUT;
				}
				if (vact_cq_ready(&rt->client) == 0)
					vact_enter(&rt->client, 0, 1, flags, left);
				pthread_mutex_lock(&rt->client_lock);
				client_drain(rt);
			}
			rt->reaping = false;
			/* Someone else may have to take over the reaping. */
			pthread_cond_broadcast(&rt->client_cond);
		} else if (timeout_ns >= 0) {
			struct timespec ts;

			ts_of(&ts, deadline);
			pthread_cond_timedwait(&rt->client_cond, &rt->client_lock,
					       &ts);
		} else {
			pthread_cond_wait(&rt->client_cond, &rt->client_lock);
		}
	}
	for (pp = &rt->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == &wt) {
			*pp = wt.next;
			break;
		}
	}
	pthread_mutex_unlock(&rt->client_lock);
	if (!wt.done) {
		atomic_fetch_add_explicit(&rt->client_timeouts, 1,
					  memory_order_relaxed);
		return -ETIME;
	}
	return wt.status;
}

/* --- worker: sending ----------------------------------------------------------- */

/* Puts one send on the SQ: 0, -EBUSY/-ENOSPC (no room yet) or an error. */
static int ring_send(struct worker *w, uint64_t from, uint64_t to,
		     const void *data, uint32_t len, uint64_t tag,
		     uint64_t user_data)
{
	struct vact_port *p = &w->port;
	int tries, ret = -EBUSY;

	for (tries = 0; tries < 2; tries++) {
		struct vactor_sqe *sqe;

		if (tries) {
			/* Let the kernel take what is queued, then retry. */
			ret = vact_submit(p);
			if (ret < 0 && ret != -EBUSY)
				return ret;
			ret = -EBUSY;
		}
		sqe = vact_get_sqe(p);
		if (!sqe)
			continue;
		ret = vact_prep_send(p, sqe, from, to, data, len, tag);
		if (!ret) {
			sqe->user_data = user_data;
			ST_INC(w, sent);
			return 0;
		}
		/* Give the SQE back: nothing was published for it. */
		p->sq.sqe_tail--;
		if (ret != -ENOSPC)
			return ret;
	}
	return ret;
}

/*
 * Queues a send on the worker's SQ, submitted when the current round of
 * callbacks ends.  A callback cannot wait for ring room (its own CQ may be
 * what holds the kernel back), so what does not fit waits in the overflow
 * list, and every later send goes behind it: per-pair order holds.
 */
static int worker_send(struct worker *w, uint64_t from, uint64_t to,
		       const void *data, uint32_t len, uint64_t tag,
		       uint64_t user_data)
{
	struct ovf *o;
	int ret;

	ret = check_payload(data, len);
	if (ret)
		return ret;
	if (w->send_now && !w->ovf) {
		ret = call_send(&w->port, from, to, data, len, tag, user_data);
		if (!ret)
			ST_INC(w, sent);
		return ret;
	}
	if (!w->ovf) {
		ret = ring_send(w, from, to, data, len, tag, user_data);
		if (ret != -EBUSY && ret != -ENOSPC)
			return ret;
	}
	o = malloc(sizeof(*o) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->from = from;
	o->to = to;
	o->tag = tag;
	o->user_data = user_data;
	o->len = len;
	if (len)
		memcpy(o->data, data, len);
	*w->ovf_tail = o;
	w->ovf_tail = &o->next;
	return 0;
}

static void send_failed(struct worker *w, uint64_t actor, uint64_t to,
			uint64_t corr, int err);

/* Moves overflowed sends onto the SQ while they fit. */
static void flush_ovf(struct worker *w)
{
	struct ovf *o;

	while ((o = w->ovf)) {
		int ret = ring_send(w, o->from, o->to, o->data, o->len, o->tag,
				    o->user_data);

		if (ret == -EBUSY || ret == -ENOSPC)
			return;
		w->ovf = o->next;
		if (!w->ovf)
			w->ovf_tail = &w->ovf;
		if (ret)
			send_failed(w, o->from, o->user_data & UD_REQUEST ? 0 : o->to,
				    o->user_data & UD_REQUEST ?
				    o->user_data & VACT_TAG_MAX : 0, ret);
		free(o);
	}
}

/* Ends a worker's sleep so that it looks at its inbox and stop flag. */
static void wake_worker(struct vact_runtime *rt, struct worker *w)
{
	struct worker *me = tls_worker;

	if (me == w)
		return;
	if (me && me->rt == rt) {
		if (!worker_send(me, me->ctl, w->ctl, NULL, 0,
				 VACT_TAG(VACT_KIND_WAKE, 0), w->ctl)) {
			vact_submit(&me->port);
			return;
		}
	}
	client_send(rt, w->ctl, NULL, 0, VACT_TAG(VACT_KIND_WAKE, 0));
}

/* --- worker: actors ------------------------------------------------------------ */

static struct actor *actor_get(struct worker *w, uint64_t id)
{
	struct hnode *n = htab_get(&w->actors, id);

	return n ? (struct actor *)n : NULL;
}

/*
 * Stops @a once the current callback returns.  What the worker queued until
 * now, @a's last sends among it (a reply just before vact_ctx_stop()), goes
 * to the kernel at once, while @a still exists there: the DESTROY comes
 * before this round's later sends, which then find @a gone (ENOENT).  Only
 * sends still waiting for ring room (the overflow list) can miss it.
 */
static void request_stop(struct worker *w, struct actor *a)
{
	if (a->stopping)
		return;
	a->stopping = true;
	a->next = NULL;
	*w->stops_tail = a;
	w->stops_tail = &a->next;
	if (vact_sq_pending(&w->port))
		vact_submit(&w->port);
}

static void free_timer(struct worker *w, struct timer *t)
{
	if (t->kind != TIMER_REQUEST)
		htab_del(&w->timers, t->node.key);
	free(t);
}

/* Drops an actor's timers and pending requests (no callbacks: it is gone). */
static void forget_actor(struct worker *w, uint64_t id)
{
	size_t i;

	for (i = 0; i < w->heap.n;) {
		struct timer *t = w->heap.a[i];

		if (t->actor == id && t->kind != TIMER_REQUEST) {
			theap_remove(&w->heap, t);
			free_timer(w, t);
			i = 0;	/* the heap moved under us; rare, restart */
			continue;
		}
		i++;
	}
	if (w->firing && w->firing->actor == id)
		w->firing->cancelled = true;
	for (i = 0; i <= w->pending.mask; i++) {
		struct hnode **pp = &w->pending.b[i], *n;

		while ((n = *pp)) {
			struct pending *p = (struct pending *)n;

			if (p->actor != id) {
				pp = &n->next;
				continue;
			}
			*pp = n->next;
			w->pending.n--;
			if (p->timer) {
				theap_remove(&w->heap, p->timer);
				free(p->timer);
			}
			free(p);
		}
	}
}

static void actor_free(struct worker *w, struct actor *a)
{
	htab_del(&w->actors, a->node.key);
	forget_actor(w, a->node.key);
	ST_ADD(w, actors, (uint64_t)-1);
	free(a->ckpt);
	free(a);
}

/*
 * stop() (if owed), DESTROY in the kernel, forget it.  stop()'s sends go
 * out at once, before the DESTROY that would make the kernel refuse them.
 */
static void actor_destroy(struct worker *w, struct actor *a)
{
	struct vactor_sqe sqe;

	/* From here on, a vact_ctx_stop() of its own changes nothing. */
	a->stopping = true;
	if (a->active && a->type->stop) {
		/* Its queued sends first: per-pair order. */
		if (vact_sq_pending(&w->port))
			vact_submit(&w->port);
		w->ctx.a = a;
		w->send_now = true;
		a->type->stop(&w->ctx);
		w->send_now = false;
		w->ctx.a = NULL;
	}
	vact_prep_destroy(&sqe, a->node.key, 0);
	vact_call(&w->port, &sqe, NULL);
	actor_free(w, a);
}

static void run_stops(struct worker *w)
{
	while (w->stops) {
		struct actor *a = w->stops;

		w->stops = a->next;
		if (!w->stops)
			w->stops_tail = &w->stops;
		actor_destroy(w, a);
	}
}

static void activate(struct worker *w, struct actor *a)
{
	int ret = 0;

	if (a->type->activate) {
		w->ctx.a = a;
		ret = a->type->activate(&w->ctx, a->ckpt, a->ckpt_len);
		w->ctx.a = NULL;
	}
	free(a->ckpt);
	a->ckpt = NULL;
	if (ret < 0) {
		ST_INC(w, failed);
		request_stop(w, a);
		return;
	}
	a->active = true;
}

static void drain_inbox(struct worker *w)
{
	struct actor *list, *rev = NULL;

	pthread_mutex_lock(&w->inbox_lock);
	list = w->inbox;
	w->inbox = NULL;
	atomic_store_explicit(&w->inbox_ready, false, memory_order_relaxed);
	pthread_mutex_unlock(&w->inbox_lock);
	/* Newest first: activate in the order they were spawned. */
	while (list) {
		struct actor *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev) {
		struct actor *a = rev;

		rev = a->next;
		a->next = NULL;
		htab_put(&w->actors, &a->node);
		ST_INC(w, actors);
		activate(w, a);
	}
}

/* The actor a message is for, draining the inbox if it is new. */
static struct actor *actor_for(struct worker *w, uint64_t id)
{
	struct actor *a = actor_get(w, id);

	/*
	 * Not the flag: a spawner sets it only after its CALL returned, and
	 * the CQE can be here before that.  The lock waits for the spawner.
	 */
	if (!a) {
		drain_inbox(w);
		a = actor_get(w, id);
	}
	return a;
}

/* --- worker: dispatch ---------------------------------------------------------- */

static void deliver(struct worker *w, struct actor *a,
		    const struct vact_msg *msg)
{
	int ret;

	w->ctx.a = a;
	ret = a->type->message(&w->ctx, msg);
	w->ctx.a = NULL;
	ST_INC(w, received);
	if (ret < 0) {
		ST_INC(w, failed);
		request_stop(w, a);
	}
}

static void run_reply_cb(struct worker *w, struct actor *a,
			 struct pending *p, int status,
			 const struct vact_msg *reply)
{
	if (p->timer) {
		theap_remove(&w->heap, p->timer);
		free(p->timer);
	}
	if (a && !a->stopping) {
		w->ctx.a = a;
		p->cb(&w->ctx, status, reply, p->arg);
		w->ctx.a = NULL;
	}
	free(p);
}

static struct pending *pending_take(struct worker *w, uint64_t corr,
				    uint64_t actor)
{
	struct hnode *n = htab_get(&w->pending, corr);

	if (!n || ((struct pending *)n)->actor != actor)
		return NULL;
	htab_del(&w->pending, corr);
	return (struct pending *)n;
}

/* A send of actor (to `to`, request corr or 0) failed with err. */
static void send_failed(struct worker *w, uint64_t actor, uint64_t to,
			uint64_t corr, int err)
{
	struct actor *a = actor_get(w, actor);
	struct pending *p;

	ST_INC(w, undelivered);
	if (corr && (p = pending_take(w, corr, actor))) {
		run_reply_cb(w, a, p, err, NULL);
		return;
	}
	if (a && !a->stopping && a->type->undelivered) {
		w->ctx.a = a;
		a->type->undelivered(&w->ctx, to, err);
		w->ctx.a = NULL;
	}
}

static void on_message(struct worker *w, const struct vactor_cqe *cqe)
{
	unsigned int kind = VACT_TAG_KIND(cqe->tag);
	uint64_t value = VACT_TAG_VALUE(cqe->tag);
	struct vact_msg msg;
	struct actor *a;
	struct pending *p;

	if (cqe->actor == w->ctl)
		return;		/* a wake-up: the loop looks at the inbox */
	a = actor_for(w, cqe->actor);
	if (!a || a->stopping) {
		ST_INC(w, dropped);
		return;
	}
	memset(&msg, 0, sizeof(msg));
	msg.from = cqe->source;
	msg.to = cqe->actor;
	msg.len = cqe->len;
	msg.data = vact_cqe_data(&w->port, cqe);
	if (cqe->flags & VACTOR_CQE_F_REDELIVERED)
		msg.flags |= VACT_MSG_REDELIVERED;
	if (!msg.data) {
		ST_INC(w, dropped);
		return;
	}
	switch (kind) {
	case VACT_KIND_PLAIN:
		msg.tag = value;
		deliver(w, a, &msg);
		break;
	case VACT_KIND_REQUEST:
		msg.corr = value;
		msg.flags |= VACT_MSG_REQUEST;
		deliver(w, a, &msg);
		break;
	case VACT_KIND_REPLY:
		p = pending_take(w, value, a->node.key);
		if (!p || p->to != cqe->source) {
			if (p)	/* not from whom we asked: put it back */
				htab_put(&w->pending, &p->node);
			ST_INC(w, dropped);
			break;
		}
		msg.corr = value;
		ST_INC(w, replies);
		run_reply_cb(w, a, p, 0, &msg);
		break;
	case VACT_KIND_STOP:
		request_stop(w, a);
		break;
	default:
		ST_INC(w, dropped);
		break;
	}
}

static void dispatch(struct worker *w, const struct vactor_cqe *cqe)
{
	switch (cqe->event) {
	case VACTOR_EV_MSG:
		on_message(w, cqe);
		break;
	case VACTOR_EV_COMPLETE:
		/* Only sends go through the ring; they complete on error. */
		if (cqe->res < 0)
			send_failed(w, cqe->actor,
				    cqe->user_data & UD_REQUEST ? 0 : cqe->user_data,
				    cqe->user_data & UD_REQUEST ?
				    cqe->user_data & VACT_TAG_MAX : 0, cqe->res);
		break;
	case VACTOR_EV_UNDELIVERED:
		send_failed(w, cqe->actor, cqe->source,
			    VACT_TAG_KIND(cqe->tag) == VACT_KIND_REQUEST ?
			    VACT_TAG_VALUE(cqe->tag) : 0,
			    cqe->res < 0 ? cqe->res : -EIO);
		break;
	default:
		ST_INC(w, dropped);
		break;
	}
}

static int fire_timers(struct worker *w)
{
	uint64_t now = vact_now_ns();
	struct timer *t;
	int n = 0;

	while ((t = theap_top(&w->heap)) && t->deadline <= now) {
		struct actor *a = actor_get(w, t->actor);
		struct vact_msg msg;
		struct pending *p = NULL;

		theap_pop(&w->heap);
		if (t->kind == TIMER_REQUEST) {
			/* The request may outlive a stopping actor until its
			 * destroy; it must not point at a freed timer. */
			p = (struct pending *)htab_get(&w->pending, t->tag);
			if (p && p->actor == t->actor)
				p->timer = NULL;
			else
				p = NULL;
		}
		if (!a || a->stopping) {
			free_timer(w, t);
			continue;
		}
		n++;
		switch (t->kind) {
		case TIMER_AFTER: {
			uint64_t to = t->to;
			int ret;

			ST_INC(w, ticks);
			ret = worker_send(w, a->node.key, to, t->data, t->len,
					  VACT_TAG(VACT_KIND_PLAIN, t->tag), to);
			free_timer(w, t);
			if (ret)
				send_failed(w, a->node.key, to, 0, ret);
			break;
		}
		case TIMER_TICK:
			ST_INC(w, ticks);
			t->ticks++;
			memset(&msg, 0, sizeof(msg));
			msg.from = msg.to = a->node.key;
			msg.tag = t->tag;
			msg.data = &t->ticks;
			msg.len = sizeof(t->ticks);
			msg.flags = VACT_MSG_TICK;
			w->firing = t;
			deliver(w, a, &msg);
			w->firing = NULL;
			if (t->cancelled || a->stopping) {
				free_timer(w, t);
				break;
			}
			/* Next period; a late worker skips, never fires early. */
			t->deadline = vact_deadline(t->deadline, t->interval);
			now = vact_now_ns();
			if (t->deadline <= now)
				t->deadline = vact_deadline(now, t->interval);
			if (theap_push(&w->heap, t))
				free_timer(w, t);
			break;
		case TIMER_REQUEST:
			if (p) {
				htab_del(&w->pending, p->node.key);
				ST_INC(w, timeouts);
				run_reply_cb(w, a, p, -ETIME, NULL);
			}
			free(t);
			break;
		}
	}
	return n;
}

/* Sleeps until a CQE, the inbox or the stop flag, or until `until`. */
static void worker_wait(struct worker *w, int64_t until)
{
	unsigned int flags = VACTOR_ENTER_GETEVENTS;
	uint64_t left = 0;

	if (!(w->rt->flags & VACT_RUNTIME_NOSPIN))
		spin_wait_cq(&w->port, w->rt->spin_ns, &w->inbox_ready);
	/*
	 * Spinning or not: a callback of this round may have spawned onto
	 * this worker, which sends itself no wake-up (wake_worker()).
	 */
	if (vact_cq_ready(&w->port) ||
	    atomic_load_explicit(&w->inbox_ready, memory_order_acquire))
		return;
	if (until >= 0) {
		uint64_t now = vact_now_ns();

		if ((uint64_t)until <= now)
			return;
		left = (uint64_t)until - now;
		flags |= VACTOR_ENTER_TIMEOUT;
	}
	vact_enter(&w->port, 0, 1, flags, left);
}

/*
 * One round: inbox, due timers, a batch of CQEs, deferred stops, then the
 * SQEs the callbacks queued.  With nothing to do it waits, up to timeout_ns
 * (< 0: until something happens).  Returns callbacks' events handled.
 */
static int run_once(struct worker *w, int64_t timeout_ns)
{
	int64_t deadline = timeout_ns < 0 ? -1 :
			   (int64_t)vact_deadline(vact_now_ns(), (uint64_t)timeout_ns);

	for (;;) {
		struct vactor_cqe *cqe;
		struct timer *t;
		int64_t until;
		int n = 0;

		if (atomic_load_explicit(&w->inbox_ready, memory_order_acquire))
			drain_inbox(w);
		if (theap_top(&w->heap))
			n += fire_timers(w);
		while (n < DISPATCH_BATCH && vact_peek_cqe(&w->port, &cqe) == 0) {
			/* The payload may be in the receive area: advance after. */
			/* Wake-ups are not events for the caller. */
			if (cqe->event != VACTOR_EV_MSG || cqe->actor != w->ctl)
				n++;
			dispatch(w, cqe);
			vact_cq_advance(&w->port, 1);
		}
		run_stops(w);
		if (w->ovf)
			flush_ovf(w);
		if (vact_sq_pending(&w->port))
			vact_submit(&w->port);
		if ((n && !w->ovf) ||
		    atomic_load_explicit(&w->stop, memory_order_acquire))
			return n;
		t = theap_top(&w->heap);
		until = deadline;
		/* Sends wait for ring room: come back soon, reap meanwhile. */
		if (w->ovf) {
			int64_t soon = (int64_t)(vact_now_ns() + 1000000);

			if (until < 0 || soon < until)
				until = soon;
		}
		if (t && (until < 0 || (int64_t)t->deadline < until))
			until = (int64_t)t->deadline;
		if (deadline >= 0 && (int64_t)vact_now_ns() >= deadline)
			return 0;
		worker_wait(w, until);
	}
}

/* The worker leaves: durable actors go dormant, the others are destroyed. */
static void worker_shutdown(struct worker *w)
{
	struct vact_runtime *rt = w->rt;
	void *buf = NULL;
	size_t i;

	drain_inbox(w);
	run_stops(w);
	/* What callbacks sent goes out first (bounded: ~1 s of retries). */
	for (i = 0; w->ovf && i < 1000; i++) {
		run_once(w, 0);
		if (w->ovf)
			worker_wait(w, (int64_t)(vact_now_ns() + 1000000));
	}
	for (i = 0; i <= w->actors.mask; i++) {
		while (w->actors.b[i]) {
			struct actor *a = (struct actor *)w->actors.b[i];
			int len = 0;

			if (!(a->flags & VACT_SPAWN_DURABLE)) {
				actor_destroy(w, a);
				continue;
			}
			/* Leaving: its own vact_ctx_stop() changes nothing. */
			a->stopping = true;
			if (a->active && a->type->deactivate) {
				if (!buf)
					buf = malloc(VACT_CHECKPOINT_MAX);
				w->ctx.a = a;
				len = buf ? a->type->deactivate(&w->ctx, buf,
							VACT_CHECKPOINT_MAX) : -ENOMEM;
				w->ctx.a = NULL;
			}
			if (len > VACT_CHECKPOINT_MAX)
				len = -EOVERFLOW;
			if (len >= 0 && rt->opts.on_checkpoint)
				rt->opts.on_checkpoint(a->node.key, len ? buf : NULL,
						       (size_t)len, rt->opts.arg);
			/* Left to the kernel: dormant once the port closes. */
			actor_free(w, a);
		}
	}
	free(buf);
	if (vact_sq_pending(&w->port))
		vact_submit(&w->port);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	tls_worker = w;
	while (!atomic_load_explicit(&w->stop, memory_order_acquire))
		run_once(w, -1);
	worker_shutdown(w);
	tls_worker = NULL;
	return NULL;
}

/* --- runtime ------------------------------------------------------------------- */

static int create_internal(struct vact_port *port, unsigned int flags,
			   uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	vact_prep_create(&sqe, NULL, VACT_TYPE_INTERNAL, 0);
	sqe.flags = (uint8_t)flags;
	ret = vact_call(port, &sqe, &cqe);
	if (!ret)
		*id = cqe.actor;
	return ret;
}

static void free_actor_list(struct actor *a)
{
	while (a) {
		struct actor *next = a->next;

		free(a->ckpt);
		free(a);
		a = next;
	}
}

static void worker_fini(struct worker *w)
{
	struct timer *t;
	size_t i;

	if (w->port.fd >= 0) {
		if (w->ctl) {
			struct vactor_sqe sqe;

			vact_prep_destroy(&sqe, w->ctl, 0);
			vact_call(&w->port, &sqe, NULL);
		}
		vact_port_close(&w->port);
	}
	free_actor_list(w->inbox);
	while (w->ovf) {
		struct ovf *o = w->ovf;

		w->ovf = o->next;
		free(o);
	}
	while ((t = theap_pop(&w->heap)))
		free(t);
	free(w->heap.a);
	if (w->pending.b)
		for (i = 0; i <= w->pending.mask; i++)
			while (w->pending.b[i]) {
				struct hnode *n = w->pending.b[i];

				w->pending.b[i] = n->next;
				free(n);
			}
	htab_free(&w->actors);
	htab_free(&w->pending);
	htab_free(&w->timers);
	pthread_mutex_destroy(&w->inbox_lock);
}

static int worker_init(struct vact_runtime *rt, struct worker *w,
		       unsigned int idx, unsigned int sq_entries)
{
	struct vactor_params params;
	int ret;

	w->rt = rt;
	w->idx = idx;
	w->port.fd = -1;
	w->ctx.w = w;
	w->stops_tail = &w->stops;
	w->ovf_tail = &w->ovf;
	pthread_mutex_init(&w->inbox_lock, NULL);
	if (htab_init(&w->actors, 64) || htab_init(&w->pending, 64) ||
	    htab_init(&w->timers, 16))
		return -ENOMEM;
	memset(&params, 0, sizeof(params));
	params.sq_entries = sq_entries;
	ret = vact_port_open(&w->port, &params);
	if (ret)
		return ret;
	return create_internal(&w->port, 0, &w->ctl);
}

int vact_runtime_start(struct vact_runtime **rtp,
		       const struct vact_runtime_opts *opts)
{
	static const struct vact_runtime_opts defaults;
	struct vact_runtime *rt;
	pthread_condattr_t ca;
	unsigned int i;
	int ret;

	if (!rtp)
		return -EINVAL;
	*rtp = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->flags & ~(VACT_RUNTIME_MANUAL | VACT_RUNTIME_NOSPIN) ||
	    opts->workers > VACT_RUNTIME_MAX_WORKERS ||
	    opts->sq_entries > VACTOR_SQ_MAX)
		return -EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->opts = *opts;
	rt->flags = opts->flags;
	rt->nworkers = opts->workers ? opts->workers : 1;
	rt->spin_ns = opts->flags & VACT_RUNTIME_NOSPIN ? 0 :
		      opts->spin_ns ? opts->spin_ns : DEFAULT_SPIN_NS;
	rt->client.fd = -1;
	pthread_mutex_init(&rt->client_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->client_cond, &ca);
	pthread_condattr_destroy(&ca);

	rt->w = calloc(rt->nworkers, sizeof(*rt->w));
	if (!rt->w) {
		ret = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < rt->nworkers; i++)
		rt->w[i].port.fd = -1;
	ret = vact_port_open(&rt->client, NULL);
	if (ret)
		goto fail;
	/* Public: replies come from actors of any owner. */
	ret = create_internal(&rt->client, VACTOR_SQE_F_PUBLIC, &rt->client_actor);
	if (ret)
		goto fail;
	for (i = 0; i < rt->nworkers; i++) {
		ret = worker_init(rt, &rt->w[i], i,
				  opts->sq_entries ? opts->sq_entries :
				  DEFAULT_SQ_ENTRIES);
		if (ret)
			goto fail;
	}
	if (!(rt->flags & VACT_RUNTIME_MANUAL)) {
		for (i = 0; i < rt->nworkers; i++) {
			ret = -pthread_create(&rt->w[i].thread, NULL, worker_main,
					      &rt->w[i]);
			if (ret)
				goto fail;
			rt->w[i].started = true;
		}
	}
	*rtp = rt;
	return 0;
fail:
	vact_runtime_stop(rt);
	return ret;
}

int vact_runtime_stop(struct vact_runtime *rt)
{
	unsigned int i;

	if (!rt)
		return -EINVAL;
	if (on_worker_of(rt))
		return -EDEADLK;
	for (i = 0; rt->w && i < rt->nworkers; i++) {
		struct worker *w = &rt->w[i];

		atomic_store_explicit(&w->stop, true, memory_order_release);
		if (w->started && w->ctl)
			client_send(rt, w->ctl, NULL, 0,
				    VACT_TAG(VACT_KIND_WAKE, 0));
	}
	for (i = 0; rt->w && i < rt->nworkers; i++) {
		struct worker *w = &rt->w[i];

		if (w->started) {
			pthread_join(w->thread, NULL);
		} else if (w->port.fd >= 0 && w->actors.b) {
			struct worker *prev = tls_worker;

			tls_worker = w;
			worker_shutdown(w);
			tls_worker = prev;
		}
	}
	for (i = 0; rt->w && i < rt->nworkers; i++)
		worker_fini(&rt->w[i]);
	free(rt->w);
	if (rt->client.fd >= 0) {
		if (rt->client_actor)
			vact_destroy(&rt->client, rt->client_actor);
		vact_port_close(&rt->client);
	}
	pthread_cond_destroy(&rt->client_cond);
	pthread_mutex_destroy(&rt->client_lock);
	free(rt);
	return 0;
}

int vact_runtime_workers(const struct vact_runtime *rt)
{
	return rt ? (int)rt->nworkers : -EINVAL;
}

int vact_runtime_fd(const struct vact_runtime *rt, unsigned int worker)
{
	if (!rt || worker >= rt->nworkers)
		return -EINVAL;
	return rt->w[worker].port.fd;
}

int vact_runtime_poll(struct vact_runtime *rt, unsigned int worker,
		      int64_t timeout_ns)
{
	struct worker *w, *prev;
	int ret;

	if (!rt || worker >= rt->nworkers || !(rt->flags & VACT_RUNTIME_MANUAL))
		return -EINVAL;
	w = &rt->w[worker];
	if (atomic_exchange(&w->polling, true))
		return -EBUSY;
	prev = tls_worker;
	tls_worker = w;
	ret = run_once(w, timeout_ns);
	tls_worker = prev;
	atomic_store(&w->polling, false);
	return ret;
}

#define SPAWN_FLAGS	(VACT_SPAWN_PUBLIC | VACT_SPAWN_DURABLE | VACT_SPAWN_WORKER)

static int spawn_common(struct vact_runtime *rt,
			const struct vact_actor_type *type,
			const struct vact_spawn_opts *opts, bool adopt,
			uint64_t adopt_id, uint64_t *id)
{
	static const struct vact_spawn_opts defaults;
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	struct worker *w;
	struct actor *a;
	int ret;

	if (!rt || !type || !type->message)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if ((opts->flags & ~SPAWN_FLAGS) || (opts->ckpt_len && !opts->ckpt) ||
	    opts->ckpt_len > VACT_CHECKPOINT_MAX)
		return -EINVAL;
	if (opts->flags & VACT_SPAWN_WORKER) {
		if (opts->worker >= rt->nworkers)
			return -EINVAL;
		w = &rt->w[opts->worker];
	} else {
		w = &rt->w[atomic_fetch_add(&rt->rr, 1) % rt->nworkers];
	}
	if (adopt) {
		vact_prep_host(&sqe, adopt_id, 0);
	} else {
		ret = vact_prep_create(&sqe, opts->name, type->type_id, 0);
		if (ret)
			return ret;
		if (opts->flags & VACT_SPAWN_PUBLIC)
			sqe.flags |= VACTOR_SQE_F_PUBLIC;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->type = type;
	a->data = opts->data;
	a->flags = opts->flags;
	if (opts->ckpt_len) {
		a->ckpt = malloc(opts->ckpt_len);
		if (!a->ckpt) {
			free(a);
			return -ENOMEM;
		}
		memcpy(a->ckpt, opts->ckpt, opts->ckpt_len);
		a->ckpt_len = opts->ckpt_len;
	}
	/* Held across the CALL: a message for the new id waits for us. */
	pthread_mutex_lock(&w->inbox_lock);
	ret = vact_call(&w->port, &sqe, &cqe);
	if (ret) {
		pthread_mutex_unlock(&w->inbox_lock);
		free(a->ckpt);
		free(a);
		return ret;
	}
	a->node.key = adopt ? adopt_id : cqe.actor;
	a->next = w->inbox;
	w->inbox = a;
	atomic_store_explicit(&w->inbox_ready, true, memory_order_release);
	if (id)
		*id = a->node.key;
	pthread_mutex_unlock(&w->inbox_lock);
	wake_worker(rt, w);
	return 0;
}

int vact_runtime_spawn(struct vact_runtime *rt,
		       const struct vact_actor_type *type,
		       const struct vact_spawn_opts *opts, uint64_t *id)
{
	return spawn_common(rt, type, opts, false, 0, id);
}

int vact_runtime_adopt(struct vact_runtime *rt,
		       const struct vact_actor_type *type, uint64_t id,
		       const struct vact_spawn_opts *opts)
{
	if (opts && opts->name)
		return -EINVAL;	/* the actor has its name already */
	return spawn_common(rt, type, opts, true, id, NULL);
}

int vact_runtime_find(struct vact_runtime *rt, const char *name, uint64_t *id)
{
	if (!rt || !name || !id)
		return -EINVAL;
	return vact_lookup(&rt->client, name, id);
}

int vact_runtime_send(struct vact_runtime *rt, uint64_t to, const void *data,
		      uint32_t len, uint64_t tag)
{
	if (!rt || tag > VACT_TAG_MAX)
		return -EINVAL;
	return client_send(rt, to, data, len, VACT_TAG(VACT_KIND_PLAIN, tag));
}

int vact_runtime_send_name(struct vact_runtime *rt, const char *name,
			   const void *data, uint32_t len, uint64_t tag)
{
	uint64_t id;
	int ret;

	if (!rt || !name || tag > VACT_TAG_MAX)
		return -EINVAL;
	ret = vact_lookup(&rt->client, name, &id);
	return ret ? ret : vact_runtime_send(rt, id, data, len, tag);
}

int vact_runtime_kill(struct vact_runtime *rt, uint64_t id)
{
	if (!rt)
		return -EINVAL;
	return client_send(rt, id, NULL, 0, VACT_TAG(VACT_KIND_STOP, 0));
}

#define LOAD(x)	atomic_load_explicit(&(x), memory_order_relaxed)

int vact_runtime_stats(struct vact_runtime *rt, struct vact_runtime_stats *st)
{
	unsigned int i;

	if (!rt || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (i = 0; i < rt->nworkers; i++) {
		struct wstats *s = &rt->w[i].st;

		st->actors += LOAD(s->actors);
		st->received += LOAD(s->received);
		st->sent += LOAD(s->sent);
		st->replies += LOAD(s->replies);
		st->timeouts += LOAD(s->timeouts);
		st->ticks += LOAD(s->ticks);
		st->undelivered += LOAD(s->undelivered);
		st->dropped += LOAD(s->dropped);
		st->failed += LOAD(s->failed);
	}
	st->sent += LOAD(rt->client_sent);
	st->replies += LOAD(rt->client_replies);
	st->timeouts += LOAD(rt->client_timeouts);
	st->dropped += LOAD(rt->client_dropped);
	return 0;
}

/* --- inside a callback ----------------------------------------------------------- */

uint64_t vact_ctx_self(const struct vact_ctx *ctx)
{
	return ctx && ctx->a ? ctx->a->node.key : 0;
}

void *vact_ctx_data(const struct vact_ctx *ctx)
{
	return ctx && ctx->a ? ctx->a->data : NULL;
}

void vact_ctx_set_data(struct vact_ctx *ctx, void *data)
{
	if (ctx && ctx->a)
		ctx->a->data = data;
}

struct vact_runtime *vact_ctx_runtime(const struct vact_ctx *ctx)
{
	return ctx ? ctx->w->rt : NULL;
}

unsigned int vact_ctx_worker(const struct vact_ctx *ctx)
{
	return ctx ? ctx->w->idx : 0;
}

#define CTX_CHECK(ctx)	do {					\
	if (!(ctx) || !(ctx)->a || tls_worker != (ctx)->w)	\
		return -EINVAL;					\
} while (0)

int vact_ctx_send(struct vact_ctx *ctx, uint64_t to, const void *data,
		  uint32_t len, uint64_t tag)
{
	CTX_CHECK(ctx);
	if (tag > VACT_TAG_MAX)
		return -EINVAL;
	return worker_send(ctx->w, ctx->a->node.key, to, data, len,
			   VACT_TAG(VACT_KIND_PLAIN, tag), to);
}

int vact_ctx_send_name(struct vact_ctx *ctx, const char *name,
		       const void *data, uint32_t len, uint64_t tag)
{
	uint64_t id;
	int ret;

	CTX_CHECK(ctx);
	if (!name || tag > VACT_TAG_MAX)
		return -EINVAL;
	ret = vact_lookup(&ctx->w->port, name, &id);
	return ret ? ret : vact_ctx_send(ctx, id, data, len, tag);
}

static struct timer *timer_new(struct worker *w, enum timer_kind kind,
			       uint64_t actor, uint64_t delay_ns,
			       const void *data, uint32_t len)
{
	struct timer *t = calloc(1, sizeof(*t) + len);

	if (!t)
		return NULL;
	t->kind = kind;
	t->actor = actor;
	t->deadline = vact_deadline(vact_now_ns(), delay_ns);
	if (len)
		memcpy(t->data, data, len);
	t->len = len;
	if (kind != TIMER_REQUEST)
		t->node.key = ++w->next_timer;
	if (theap_push(&w->heap, t)) {
		free(t);
		return NULL;
	}
	if (kind != TIMER_REQUEST)
		htab_put(&w->timers, &t->node);
	return t;
}

int vact_ctx_request(struct vact_ctx *ctx, uint64_t to, const void *data,
		     uint32_t len, int64_t timeout_ns, vact_reply_fn cb,
		     void *arg)
{
	struct worker *w;
	struct pending *p;
	uint64_t corr;
	int ret;

	CTX_CHECK(ctx);
	if (!cb)
		return -EINVAL;
	w = ctx->w;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	do
		corr = w->next_corr = (w->next_corr + 1) & VACT_TAG_MAX;
	while (!corr || htab_get(&w->pending, corr));
	p->node.key = corr;
	p->actor = ctx->a->node.key;
	p->to = to;
	p->cb = cb;
	p->arg = arg;
	if (timeout_ns >= 0) {
		p->timer = timer_new(w, TIMER_REQUEST, p->actor,
				     (uint64_t)timeout_ns, NULL, 0);
		if (!p->timer) {
			free(p);
			return -ENOMEM;
		}
		p->timer->tag = corr;
	}
	ret = worker_send(w, p->actor, to, data, len,
			  VACT_TAG(VACT_KIND_REQUEST, corr), UD_REQUEST | corr);
	if (ret) {
		if (p->timer) {
			theap_remove(&w->heap, p->timer);
			free(p->timer);
		}
		free(p);
		return ret;
	}
	htab_put(&w->pending, &p->node);
	return 0;
}

int vact_ctx_reply(struct vact_ctx *ctx, const struct vact_msg *req,
		   const void *data, uint32_t len)
{
	CTX_CHECK(ctx);
	if (!req || !(req->flags & VACT_MSG_REQUEST) || !req->corr)
		return -EINVAL;
	return worker_send(ctx->w, ctx->a->node.key, req->from, data, len,
			   VACT_TAG(VACT_KIND_REPLY, req->corr), req->from);
}

int vact_ctx_send_after(struct vact_ctx *ctx, uint64_t to, uint64_t delay_ns,
			const void *data, uint32_t len, uint64_t tag,
			uint64_t *timer)
{
	struct timer *t;
	int ret;

	CTX_CHECK(ctx);
	ret = check_payload(data, len);
	if (ret)
		return ret;
	if (tag > VACT_TAG_MAX)
		return -EINVAL;
	t = timer_new(ctx->w, TIMER_AFTER, ctx->a->node.key, delay_ns, data,
		      len);
	if (!t)
		return -ENOMEM;
	t->to = to;
	t->tag = tag;
	if (timer)
		*timer = t->node.key;
	return 0;
}

int vact_ctx_timer_start(struct vact_ctx *ctx, uint64_t interval_ns,
			 uint64_t tag, uint64_t *timer)
{
	struct timer *t;

	CTX_CHECK(ctx);
	if (!interval_ns || tag > VACT_TAG_MAX)
		return -EINVAL;
	t = timer_new(ctx->w, TIMER_TICK, ctx->a->node.key, interval_ns,
		      NULL, 0);
	if (!t)
		return -ENOMEM;
	t->interval = interval_ns;
	t->tag = tag;
	if (timer)
		*timer = t->node.key;
	return 0;
}

int vact_ctx_timer_cancel(struct vact_ctx *ctx, uint64_t timer)
{
	struct hnode *n;
	struct timer *t;

	CTX_CHECK(ctx);
	n = htab_get(&ctx->w->timers, timer);
	t = (struct timer *)n;
	if (!n || t->actor != ctx->a->node.key || t->cancelled)
		return -ENOENT;
	if (t == ctx->w->firing) {
		t->cancelled = true;	/* freed when its callback returns */
		return 0;
	}
	theap_remove(&ctx->w->heap, t);
	free_timer(ctx->w, t);
	return 0;
}

int vact_ctx_stop(struct vact_ctx *ctx)
{
	CTX_CHECK(ctx);
	request_stop(ctx->w, ctx->a);
	return 0;
}
