// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * vgpu: the persistent kernel.  Block 0 supervises, blocks 1..N-1 are actor
 * slots.  There is no grid-wide barrier anywhere: every block loops on its
 * own, a dormant slot costs one load and a nap per iteration, and a slot
 * that stops making progress only stops its own heartbeat.
 *
 * Ordering (Documentation/cuda.rst, "Memory ordering"): an index shared
 * with the host (or the kernel module) is read with ld.acquire.sys and
 * published with st.release.sys after the entries it covers; device-only
 * indices (channels, cmd/ack, heartbeats) use the .gpu scope.  Each index
 * has one writer, so none needs an atomic read-modify-write.
 */
#include <errno.h>
#include <string.h>

#include "vgpu_cuda.h"
#include "vgpu_shared.h"

#ifndef VGPU_EMULATE

/* ---- ordered loads and stores ---- */

__device__ __forceinline__ unsigned int ld_acquire_sys(const unsigned int *p)
{
	unsigned int v;

	asm volatile("ld.acquire.sys.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ void st_release_sys(unsigned int *p, unsigned int v)
{
	asm volatile("st.release.sys.u32 [%0], %1;" :: "l"(p), "r"(v) : "memory");
}

__device__ __forceinline__ unsigned int ld_relaxed_sys(const unsigned int *p)
{
	unsigned int v;

	asm volatile("ld.relaxed.sys.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ void st_relaxed_sys(unsigned int *p, unsigned int v)
{
	asm volatile("st.relaxed.sys.u32 [%0], %1;" :: "l"(p), "r"(v) : "memory");
}

__device__ __forceinline__ void fence_sys(void)
{
	asm volatile("fence.acq_rel.sys;" ::: "memory");
}

__device__ __forceinline__ unsigned int ld_acquire_gpu(const unsigned int *p)
{
	unsigned int v;

	asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ void st_release_gpu(unsigned int *p, unsigned int v)
{
	asm volatile("st.release.gpu.u32 [%0], %1;" :: "l"(p), "r"(v) : "memory");
}

__device__ __forceinline__ unsigned long long ld_acquire_gpu64(const unsigned long long *p)
{
	unsigned long long v;

	asm volatile("ld.acquire.gpu.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ void st_release_gpu64(unsigned long long *p,
						 unsigned long long v)
{
	asm volatile("st.release.gpu.u64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
}

__device__ __forceinline__ unsigned long long ld_relaxed_gpu64(const unsigned long long *p)
{
	unsigned long long v;

	asm volatile("ld.relaxed.gpu.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
	return v;
}

__device__ __forceinline__ void st_relaxed_gpu64(unsigned long long *p,
						 unsigned long long v)
{
	asm volatile("st.relaxed.gpu.u64 [%0], %1;" :: "l"(p), "l"(v) : "memory");
}

__device__ __forceinline__ unsigned long long now_ns(void)
{
	unsigned long long t;

	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
}

#define nap(ns)	__nanosleep(ns)

#else /* VGPU_EMULATE: one CPU thread per block, C11-style atomics */

#include <pthread.h>
#include <sched.h>
#include <time.h>

#define __device__
#define __forceinline__ inline

static inline unsigned int ld_acquire_sys(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void st_release_sys(unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline unsigned int ld_relaxed_sys(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st_relaxed_sys(unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void fence_sys(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#define ld_acquire_gpu		ld_acquire_sys
#define st_release_gpu		st_release_sys

static inline unsigned long long ld_acquire_gpu64(const unsigned long long *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void st_release_gpu64(unsigned long long *p, unsigned long long v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline unsigned long long ld_relaxed_gpu64(const unsigned long long *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st_relaxed_gpu64(unsigned long long *p, unsigned long long v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* CPU threads share two cores: give the others a turn. */
static inline void nap(unsigned int ns)
{
	(void)ns;
	sched_yield();
}

#endif /* VGPU_EMULATE */

__device__ __forceinline__ int ld_acquire_gpu_int(const int *p)
{
	return (int)ld_acquire_gpu((const unsigned int *)p);
}

__device__ __forceinline__ void st_release_gpu_int(int *p, int v)
{
	st_release_gpu((unsigned int *)p, (unsigned int)v);
}

/* Host-visible counters: one writer, the host reads them whenever. */
__device__ __forceinline__ void stat_add(uint64_t *p, uint64_t n)
{
	*(volatile uint64_t *)p = *(volatile uint64_t *)p + n;
}

__device__ __forceinline__ void copy_bytes(void *dst, const void *src,
					   unsigned int n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;

	for (unsigned int i = 0; i < n; i++)
		d[i] = s[i];
}

/* ======================================================================
 * Slots
 * ====================================================================== */

enum { R_OK, R_CRASH, R_EXIT, R_ABORT };

/* Spins a send waits for ring or channel room before giving up (-EAGAIN). */
#define VGPU_SEND_TRIES		4096
/* Messages handled from each source per loop: the rest wait their turn. */
#define VGPU_BUDGET		32

struct slot_ctx {
	const struct vgpu_params *P;
	int slot;
	struct vgpu_slot_dev *sd;
	struct vgpu_port_dev *port;
	struct vgpu_slot_stats *st;	/* pinned: host reads */
	struct vgpu_snap *snap;		/* pinned: host reads */
	unsigned long long cmd;		/* the command this activation runs under */
	unsigned long long actor;
	unsigned int type, flags, state_len;
	unsigned int sq_tail;		/* ours: the SQ tail we publish */
	unsigned int cq_head;		/* ours: the CQ head we publish */
};

/* The supervisor changed our command (stop, exit): abandon what we wait for. */
__device__ __forceinline__ bool cmd_changed(const struct slot_ctx *c)
{
	return ld_acquire_gpu64(&c->sd->cmd) != c->cmd;
}

/* A SEND SQE in the slot's port: the kernel (or the host) routes it. */
__device__ int sq_send(struct slot_ctx *c, unsigned long long target,
		       unsigned long long tag, const void *data, unsigned int len)
{
	struct vgpu_ring_dev *sq = &c->port->sq;
	struct vactor_sqe *e;

	if (len > VACTOR_INLINE_MAX)
		return -EMSGSIZE;
	/* Pairs with the consumer's release of head: that entry is free. */
	if (c->sq_tail - ld_acquire_sys(sq->head) > sq->mask)
		return -EAGAIN;
	e = (struct vactor_sqe *)sq->entries + (c->sq_tail & sq->mask);
	e->opcode = VACTOR_OP_SEND;
	e->flags = 0;
	e->resv0 = 0;
	e->len = len;
	e->actor = c->actor;
	e->target = target;
	e->user_data = c->actor;
	e->tag = tag;
	e->buf_off = 0;
	e->type = 0;
	e->resv1[0] = 0;
	e->resv1[1] = 0;
	copy_bytes(e->data, data, len);
	/* The entry before the tail that makes it visible, to the host. */
	st_release_sys(sq->tail, ++c->sq_tail);
	stat_add(&c->st->host_out, 1);
	return 0;
}

/* A message into another slot's channel, in device memory. */
__device__ int chan_send(struct slot_ctx *c, int ch, unsigned long long target,
			 unsigned long long tag, const void *data,
			 unsigned int len)
{
	struct vgpu_chan *q = &c->P->dev->chan[ch];
	unsigned int t = q->tail;	/* ours */
	struct vactor_cqe *e;

	if (len > VACTOR_INLINE_MAX)
		return -EMSGSIZE;
	if (t - ld_acquire_gpu(&q->head) > q->mask)
		return -EAGAIN;
	e = &q->e[t & q->mask];
	e->event = VACTOR_EV_MSG;
	e->opcode = 0;
	e->flags = 0;
	e->res = 0;
	e->len = len;
	e->buf_off = 0;
	e->actor = target;
	e->source = c->actor;
	e->user_data = 0;
	e->tag = tag;
	e->ts_ns = now_ns();
	e->resv = 0;
	copy_bytes(e->data, data, len);
	st_release_gpu(&q->tail, t + 1);
	stat_add(&c->st->k2k_out, 1);
	return 0;
}

/* Channel to target if we have one, else -1. */
__device__ int find_link(struct slot_ctx *c, unsigned long long target)
{
	int n = ld_acquire_gpu_int(&c->sd->nr_out);

	for (int i = 0; i < n; i++)
		if (ld_relaxed_gpu64(&c->sd->out[i].dst_actor) == target)
			return c->sd->out[i].chan;
	return -1;
}

/*
 * Sends to any actor: through a channel when the target is a linked slot,
 * else through the SQ.  Waits a bounded while for room, never past a
 * change of command.
 */
__device__ int vgpu_send(struct slot_ctx *c, unsigned long long target,
			 unsigned long long tag, const void *data,
			 unsigned int len)
{
	int ch = find_link(c, target);
	int ret = -EAGAIN;

	for (int i = 0; i < VGPU_SEND_TRIES; i++) {
		ret = ch >= 0 ? chan_send(c, ch, target, tag, data, len) :
				sq_send(c, target, tag, data, len);
		if (ret != -EAGAIN || cmd_changed(c))
			break;
		nap(256);
	}
	if (ret)
		stat_add(&c->st->full, 1);
	return ret;
}

/* Publishes the state for the host and for a restart (seqlock). */
__device__ void snapshot(struct slot_ctx *c)
{
	struct vgpu_snap *s = c->snap;
	unsigned int seq = ld_relaxed_sys(&s->seq);

	st_relaxed_sys(&s->seq, seq + 1);
	fence_sys();
	s->len = c->state_len;
	s->gen = VGPU_GEN(c->cmd);
	s->actor = c->actor;
	copy_bytes(s->data, c->sd->state, c->state_len);
	st_release_sys(&s->seq, seq + 2);
}

__device__ __forceinline__ unsigned long long state_u64(struct slot_ctx *c, int i)
{
	return ((unsigned long long *)c->sd->state)[i];
}

__device__ __forceinline__ void set_state_u64(struct slot_ctx *c, int i,
					      unsigned long long v)
{
	((unsigned long long *)c->sd->state)[i] = v;
}

/* The actor types: one message in, R_* out. */
__device__ int handle(struct slot_ctx *c, const struct vactor_cqe *m,
		      const unsigned char *payload)
{
	unsigned int len = m->len < VACTOR_INLINE_MAX ? m->len : VACTOR_INLINE_MAX;
	unsigned long long v = 0, n;

	if (c->flags & VGPU_CFG_TEST_HOOKS) {
		switch (m->tag) {
		case VGPU_TAG_CRASH:
			return R_CRASH;
		case VGPU_TAG_EXIT:
			return R_EXIT;
		case VGPU_TAG_STUCK:
			/* No heartbeat until the supervisor gives up on us. */
			while (!cmd_changed(c))
				nap(1000);
			return R_ABORT;
		}
	}
	switch (c->type) {
	case VGPU_ECHO:
		vgpu_send(c, m->source, m->tag, payload, len);
		break;
	case VGPU_COUNTER:
		copy_bytes(&v, payload, len < 8 ? len : 8);
		n = state_u64(c, 0) + 1;
		set_state_u64(c, 0, n);
		set_state_u64(c, 1, state_u64(c, 1) + v);
		vgpu_send(c, m->source, m->tag, &n, sizeof(n));
		break;
	case VGPU_FORWARD:
		vgpu_send(c, state_u64(c, 0), m->tag, payload, len);
		break;
	case VGPU_PINGPONG:
		/* state: report, done */
		if (m->tag) {
			vgpu_send(c, m->source, m->tag - 1, payload, len);
		} else {
			n = state_u64(c, 1) + 1;
			set_state_u64(c, 1, n);
			if (state_u64(c, 0))
				vgpu_send(c, state_u64(c, 0), n, &n, sizeof(n));
		}
		break;
	}
	return R_OK;
}

/* Messages the kernel (or the host) wrote into our CQ. */
__device__ int poll_cq(struct slot_ctx *c)
{
	struct vgpu_ring_dev *cq = &c->port->cq;
	/* Pairs with the producer's release: the entries up to tail are written. */
	unsigned int tail = ld_acquire_sys(cq->tail);
	int r = R_OK;

	for (int n = 0; c->cq_head != tail && n < VGPU_BUDGET && r == R_OK; n++) {
		const struct vactor_cqe *e =
			(const struct vactor_cqe *)cq->entries + (c->cq_head & cq->mask);
		struct vactor_cqe m = *e;
		const unsigned char *payload = e->data;

		if (m.event == VACTOR_EV_MSG) {
			if (m.flags & VACTOR_CQE_F_BUF) {
				/* Bounds from a ring anyone could have written. */
				if (m.buf_off >= c->port->recv_size ||
				    m.len > c->port->recv_size - m.buf_off)
					m.len = 0;
				payload = c->port->recv + m.buf_off;
			}
			stat_add(&c->st->host_in, 1);
			stat_add(&c->st->handled, 1);
			r = handle(c, &m, payload);
		}
		/*
		 * Consumed even if the handler failed on it: a restart must not
		 * meet the message that killed its predecessor.  Our reads of
		 * the entry (and its payload) before the head that frees it.
		 */
		st_release_sys(cq->head, ++c->cq_head);
	}
	return r;
}

/* Messages other slots wrote into our channels. */
__device__ int poll_chans(struct slot_ctx *c)
{
	int nin = ld_acquire_gpu_int(&c->sd->nr_in);
	int r = R_OK;

	for (int i = 0; i < nin && r == R_OK; i++) {
		struct vgpu_chan *q = &c->P->dev->chan[c->sd->in[i]];
		unsigned int h = q->head;	/* ours */
		unsigned int t = ld_acquire_gpu(&q->tail);

		for (int n = 0; h != t && n < VGPU_BUDGET && r == R_OK; n++) {
			struct vactor_cqe m = q->e[h & q->mask];

			if (m.actor != c->actor) {
				/* For an actor this slot hosted before. */
				stat_add(&c->st->dropped, 1);
			} else {
				stat_add(&c->st->k2k_in, 1);
				stat_add(&c->st->handled, 1);
				r = handle(c, &m, m.data);
			}
			h++;
		}
		st_release_gpu(&q->head, h);
	}
	return r;
}

__device__ void ack(struct slot_ctx *c, unsigned int status)
{
	st_release_gpu64(&c->sd->ack, VGPU_PACK(VGPU_GEN(c->cmd), status));
}

/* (Re)initialise for command cmd: config, state from config or snapshot. */
__device__ void activate(struct slot_ctx *c, unsigned long long cmd)
{
	const struct vgpu_actor_config *cfg = &c->sd->cfg;
	struct vgpu_snap *s = c->snap;

	c->cmd = cmd;
	c->actor = cfg->actor;
	c->type = cfg->type;
	c->flags = cfg->flags;
	c->state_len = cfg->state_len <= VGPU_STATE_MAX ? cfg->state_len : VGPU_STATE_MAX;
	for (unsigned int i = 0; i < VGPU_STATE_MAX; i++)
		c->sd->state[i] = 0;
	/* Our own snapshot: no one else writes it, no seqlock needed to read. */
	/* Only this actor's own snapshot: the slot may have hosted others. */
	if ((c->flags & VGPU_CFG_RESTORE) && s->actor == c->actor &&
	    s->len == c->state_len)
		copy_bytes(c->sd->state, s->data, c->state_len);
	else
		copy_bytes(c->sd->state, cfg->state, c->state_len);
	snapshot(c);
	stat_add(&c->st->activations, 1);
	st_release_gpu64(&c->sd->hb_ns, now_ns());
}

__device__ void slot_main(const struct vgpu_params *P, int slot)
{
	struct slot_ctx c;
	unsigned long long seen = 0, last_hb = 0, interval = 0;
	bool running = false;

	c.P = P;
	c.slot = slot;
	c.sd = &P->dev->slot[slot];
	c.port = &P->dev->ports[slot];
	c.st = &P->host->stats[slot].s;
	c.snap = &P->host->snap[slot].s;
	c.cmd = 0;
	c.actor = 0;
	/* The port's indices outlive activations: the slot owns these two. */
	c.sq_tail = ld_relaxed_sys(c.port->sq.tail);
	c.cq_head = ld_relaxed_sys(c.port->cq.head);

	for (;;) {
		unsigned long long cmd = ld_acquire_gpu64(&c.sd->cmd);
		int r;

		if (cmd == seen) {
			if (!running) {
				/* Dormant: this load and a nap, nothing else. */
				nap(P->dormant_sleep_ns);
				continue;
			}
		} else {
			seen = cmd;
			switch (VGPU_OP(cmd)) {
			case VGPU_CMD_RUN:
				activate(&c, cmd);
				interval = c.sd->cfg.hb_interval_ns;
				last_hb = now_ns();
				running = true;
				ack(&c, VGPU_ACK_RUNNING);
				break;
			case VGPU_CMD_STOP:
				c.cmd = cmd;
				if (running)
					snapshot(&c);
				running = false;
				ack(&c, VGPU_ACK_STOPPED);
				continue;
			case VGPU_CMD_EXIT:
				c.cmd = cmd;
				ack(&c, VGPU_ACK_GONE);
				return;
			default:
				continue;
			}
		}

		stat_add(&c.st->loops, 1);
		{
			unsigned long long t = now_ns();

			if (t - last_hb >= interval) {
				st_release_gpu64(&c.sd->hb_ns, t);
				last_hb = t;
			}
		}
		{
			uint64_t before = *(volatile uint64_t *)&c.st->handled;

			r = poll_cq(&c);
			if (r == R_OK)
				r = poll_chans(&c);
			/*
			 * The state after each good batch: restarts and
			 * migration start there.  Not after a failure: the
			 * last good state is what a restart restores.
			 */
			if ((r == R_OK || r == R_ABORT) && c.state_len &&
			    *(volatile uint64_t *)&c.st->handled != before)
				snapshot(&c);
		}
		if (r == R_OK || r == R_ABORT)
			continue;	/* an abort: the new command is next */
		running = false;
		ack(&c, r == R_CRASH ? VGPU_ACK_CRASHED : VGPU_ACK_EXITED);
	}
}

/* ======================================================================
 * Supervisor (block 0)
 * ====================================================================== */

struct sup {
	const struct vgpu_params *P;
	struct vgpu_dev *d;
	struct vgpu_host_shared *h;
	bool shutting_down;
};

__device__ void post_event(struct sup *s, unsigned int type, int slot,
			   unsigned long long a, unsigned long long b)
{
	struct vgpu_host_shared *h = s->h;
	unsigned int t = s->d->evt_tail;
	struct vactor_cqe *e;

	if (t - ld_acquire_sys(&h->evt_head) >= VGPU_EVT_ENTRIES) {
		stat_add(&h->sup.events_dropped, 1);
		return;
	}
	e = &h->evt[t % VGPU_EVT_ENTRIES];
	e->event = (unsigned char)type;
	e->opcode = 0;
	e->flags = 0;
	e->res = 0;
	e->len = 0;
	e->buf_off = 0;
	e->actor = (unsigned long long)(long long)slot;
	e->source = a;
	e->user_data = 0;
	e->tag = b;
	e->ts_ns = now_ns();
	e->resv = 0;
	s->d->evt_tail = t + 1;
	st_release_sys(&h->evt_tail, t + 1);
}

__device__ void send_cmd(struct sup *s, int slot, unsigned int op)
{
	struct vgpu_reg *r = &s->d->reg[slot];

	st_release_gpu64(&s->d->slot[slot].cmd, VGPU_PACK(r->gen, op));
}

/* RUN under a new generation; STARTED follows its acknowledgement. */
__device__ void run_slot(struct sup *s, int slot)
{
	struct vgpu_reg *r = &s->d->reg[slot];

	r->gen++;
	r->status = VGPU_REG_STARTING;
	r->last_hb = 0;
	send_cmd(s, slot, VGPU_CMD_RUN);
}

__device__ void free_slot(struct sup *s, int slot);

/* A stopped slot runs again: counted as a restart. */
__device__ void restart_now(struct sup *s, int slot)
{
	struct vgpu_reg *r = &s->d->reg[slot];

	r->restarts++;
	stat_add(&s->h->sup.restarts, 1);
	post_event(s, VGPU_EV_RESTARTED, slot, r->restarts, 0);
	run_slot(s, slot);
}

/* STOP; what follows its acknowledgement is @pending. */
__device__ void stop_slot(struct sup *s, int slot, unsigned int pending)
{
	struct vgpu_reg *r = &s->d->reg[slot];

	switch (r->status) {
	case VGPU_REG_STOPPING:
		/* Already on its way: FREE wins over the rest. */
		if (r->pending != VGPU_PEND_FREE)
			r->pending = pending;
		return;
	case VGPU_REG_HELD:
		/* Stopped and acknowledged already. */
		if (pending == VGPU_PEND_RESTART)
			restart_now(s, slot);
		else if (pending == VGPU_PEND_FREE)
			free_slot(s, slot);
		return;
	case VGPU_REG_FREE:
	case VGPU_REG_LOST:
		return;
	default:
		break;
	}
	r->status = VGPU_REG_STOPPING;
	r->pending = pending;
	r->deadline = now_ns() + s->P->stop_grace_ns;
	send_cmd(s, slot, VGPU_CMD_STOP);
}

__device__ void group_remove(struct sup *s, int g, int slot)
{
	struct vgpu_group_dev *gr = &s->d->group[g];
	unsigned int i, j;

	for (i = 0, j = 0; i < gr->nr_children; i++)
		if (gr->children[i] != slot)
			gr->children[j++] = gr->children[i];
	gr->nr_children = j;
}

/* Unlinks every channel into a slot whose actor is gone. */
__device__ void unlink_slot(struct sup *s, int slot)
{
	struct vgpu_dev *d = s->d;

	for (unsigned int i = 1; i < s->P->nslots; i++) {
		struct vgpu_slot_dev *sd = &d->slot[i];

		for (int k = 0; k < sd->nr_out; k++)
			if (sd->out[k].dst_slot == slot)
				st_relaxed_gpu64(&sd->out[k].dst_actor, 0);
	}
	st_release_gpu_int(&d->slot[slot].nr_in, 0);
	st_release_gpu_int(&d->slot[slot].nr_out, 0);
}

__device__ void free_slot(struct sup *s, int slot)
{
	struct vgpu_reg *r = &s->d->reg[slot];

	if (r->group >= 0)
		group_remove(s, r->group, slot);
	unlink_slot(s, slot);
	r->status = VGPU_REG_FREE;
	r->group = -1;
	r->restarts = 0;
	s->d->free_list[s->d->nr_free++] = slot;
	post_event(s, VGPU_EV_DESTROYED, slot, r->gen, 0);
}

/*
 * Restart intensity: at most max_restarts restarts inside the window.  True
 * (and the restart counted) when one more is allowed.
 */
__device__ bool intensity_ok(struct sup *s, int g, unsigned long long now)
{
	struct vgpu_group_dev *gr = &s->d->group[g];
	unsigned int i, j;

	for (i = 0, j = 0; i < gr->nr_ts; i++)
		if (now - gr->ts[i] <= gr->window_ns)
			gr->ts[j++] = gr->ts[i];
	gr->nr_ts = j;
	if (gr->nr_ts >= gr->max_restarts)
		return false;
	gr->ts[gr->nr_ts++] = now;
	return true;
}

__device__ void restart_child(struct sup *s, int slot)
{
	const struct vgpu_actor_config *cfg = &s->d->slot[slot].cfg;

	if (cfg->policy == VGPU_TEMPORARY) {
		post_event(s, VGPU_EV_EXITED, slot, VGPU_FAIL_SIBLING, 0);
		stop_slot(s, slot, VGPU_PEND_FREE);
		return;
	}
	stop_slot(s, slot, VGPU_PEND_RESTART);
}

__device__ void group_restart(struct sup *s, int g);

/* A group is over its intensity: hold its children, tell its parent. */
__device__ void escalate(struct sup *s, int g)
{
	struct vgpu_group_dev *gr = &s->d->group[g];
	unsigned long long now = now_ns();

	stat_add(&s->h->sup.escalations, 1);
	gr->failed = 1;
	post_event(s, VGPU_EV_ESCALATED, g, gr->parent, 0);
	for (unsigned int i = 0; i < gr->nr_children; i++)
		stop_slot(s, gr->children[i], VGPU_PEND_HOLD);
	if (gr->parent == VGPU_PARENT_HOST)
		return;	/* the CPU side decides: VGPU_CTL_GROUP_RESTART */
	if (intensity_ok(s, gr->parent, now))
		group_restart(s, g);
	else
		escalate(s, gr->parent);
}

__device__ void group_restart(struct sup *s, int g)
{
	struct vgpu_group_dev *gr = &s->d->group[g];

	gr->failed = 0;
	gr->nr_ts = 0;
	post_event(s, VGPU_EV_GROUP_RESTARTED, g, 0, 0);
	for (unsigned int i = 0; i < gr->nr_children; i++) {
		int c = gr->children[i];

		post_event(s, VGPU_EV_FAILED, c, VGPU_FAIL_GROUP, 0);
		restart_child(s, c);
	}
	/* Child groups held by an escalation that passed through this one. */
	for (int k = 0; k < VGPU_MAX_GROUPS; k++)
		if (k != g && s->d->group[k].used && s->d->group[k].parent == g &&
		    s->d->group[k].failed)
			group_restart(s, k);
}

/* A child failed (crash, timeout, exit): its policy, its group's strategy. */
__device__ void child_failed(struct sup *s, int slot, unsigned int why)
{
	struct vgpu_reg *r = &s->d->reg[slot];
	const struct vgpu_actor_config *cfg = &s->d->slot[slot].cfg;
	int g = r->group;
	struct vgpu_group_dev *gr = &s->d->group[g];
	unsigned int i, from;

	if (why == VGPU_FAIL_TIMEOUT)
		stat_add(&s->h->sup.timeouts, 1);
	post_event(s, VGPU_EV_FAILED, slot, why, r->gen);
	if (cfg->policy == VGPU_TEMPORARY ||
	    (cfg->policy == VGPU_TRANSIENT && why == VGPU_FAIL_EXIT)) {
		post_event(s, VGPU_EV_EXITED, slot, why, 0);
		stop_slot(s, slot, VGPU_PEND_FREE);
		return;
	}
	if (!intensity_ok(s, g, now_ns())) {
		escalate(s, g);
		return;
	}
	switch (gr->strategy) {
	case VGPU_ONE_FOR_ALL:
		for (i = 0; i < gr->nr_children; i++) {
			int c = gr->children[i];

			if (c != slot)
				post_event(s, VGPU_EV_FAILED, c, VGPU_FAIL_SIBLING, 0);
			restart_child(s, c);
		}
		break;
	case VGPU_REST_FOR_ONE:
		for (from = 0; from < gr->nr_children; from++)
			if (gr->children[from] == slot)
				break;
		for (i = from; i < gr->nr_children; i++) {
			int c = gr->children[i];

			if (c != slot)
				post_event(s, VGPU_EV_FAILED, c, VGPU_FAIL_SIBLING, 0);
			restart_child(s, c);
		}
		break;
	default:
		restart_child(s, slot);
		break;
	}
}

/* Watches one slot: acknowledgements, heartbeat, stop deadline. */
__device__ void watch_slot(struct sup *s, int slot, unsigned long long now)
{
	struct vgpu_reg *r = &s->d->reg[slot];
	struct vgpu_slot_dev *sd = &s->d->slot[slot];
	unsigned long long a = ld_acquire_gpu64(&sd->ack);
	bool mine = VGPU_GEN(a) == r->gen;
	unsigned int st = VGPU_OP(a);

	switch (r->status) {
	case VGPU_REG_STARTING:
		if (mine && st == VGPU_ACK_RUNNING) {
			r->status = VGPU_REG_RUNNING;
			r->last_hb = now;
			post_event(s, VGPU_EV_STARTED, slot, r->gen, 0);
		}
		break;
	case VGPU_REG_RUNNING:
		if (mine && st == VGPU_ACK_CRASHED) {
			child_failed(s, slot, VGPU_FAIL_CRASH);
		} else if (mine && st == VGPU_ACK_EXITED) {
			child_failed(s, slot, VGPU_FAIL_EXIT);
		} else if (sd->cfg.hb_timeout_ns) {
			unsigned long long hb = ld_acquire_gpu64(&sd->hb_ns);

			/* A heartbeat from before this activation is no heartbeat. */
			if (hb > r->last_hb)
				r->last_hb = hb;
			if (now > r->last_hb && now - r->last_hb > sd->cfg.hb_timeout_ns)
				child_failed(s, slot, VGPU_FAIL_TIMEOUT);
		}
		break;
	case VGPU_REG_STOPPING:
		if (mine && (st == VGPU_ACK_STOPPED || st == VGPU_ACK_GONE)) {
			switch (r->pending) {
			case VGPU_PEND_FREE:
				free_slot(s, slot);
				break;
			case VGPU_PEND_RESTART:
				restart_now(s, slot);
				break;
			default:
				r->status = VGPU_REG_HELD;
				break;
			}
		} else if (r->deadline && now > r->deadline) {
			/* It never came back: its block is lost, not the others. */
			r->status = VGPU_REG_LOST;
			if (r->group >= 0)
				group_remove(s, r->group, slot);
			stat_add(&s->h->sup.lost, 1);
			post_event(s, VGPU_EV_LOST, slot, r->gen, 0);
		}
		break;
	default:
		break;
	}
}

__device__ int pop_free(struct sup *s)
{
	return s->d->nr_free ? s->d->free_list[--s->d->nr_free] : -1;
}

__device__ bool valid_slot(struct sup *s, unsigned long long slot)
{
	return slot >= 1 && slot < s->P->nslots;
}

__device__ int do_create(struct sup *s, const struct vactor_sqe *q)
{
	const struct vgpu_actor_config *cfg;
	struct vgpu_reg *r;
	int slot;
	unsigned int qc;

	if (q->buf_off >= VGPU_CTL_ENTRIES)
		return -EINVAL;
	cfg = &s->h->ctl_cfg[q->buf_off];
	if (cfg->type == 0 || cfg->type >= VGPU_TYPE_LAST ||
	    cfg->policy > VGPU_TEMPORARY || cfg->state_len > VGPU_STATE_MAX ||
	    cfg->group < 0 || cfg->group >= VGPU_MAX_GROUPS ||
	    !s->d->group[cfg->group].used)
		return -EINVAL;
	qc = cfg->queue_cap ? cfg->queue_cap : VGPU_CHAN_MAX;
	if (qc > VGPU_CHAN_MAX || (qc & (qc - 1)))
		return -EINVAL;
	slot = pop_free(s);
	if (slot < 0)
		return -ENOSPC;
	r = &s->d->reg[slot];
	s->d->slot[slot].cfg = *cfg;
	s->d->slot[slot].cfg.queue_cap = qc;
	s->d->slot[slot].cfg.actor = 0;
	r->status = VGPU_REG_BINDING;
	r->group = cfg->group;
	r->restarts = 0;
	{
		struct vgpu_group_dev *gr = &s->d->group[cfg->group];

		gr->children[gr->nr_children++] = slot;
	}
	post_event(s, VGPU_EV_CREATED, slot, q->user_data, 0);
	return 0;
}

__device__ int do_link(struct sup *s, const struct vactor_sqe *q)
{
	struct vgpu_dev *d = s->d;
	int src = (int)q->target, dst = (int)q->actor, ch;
	struct vgpu_slot_dev *ss, *ds;

	if (!valid_slot(s, q->target) || !valid_slot(s, q->actor) || src == dst)
		return -EINVAL;
	ss = &d->slot[src];
	ds = &d->slot[dst];
	if (d->reg[src].status == VGPU_REG_FREE || d->reg[dst].status == VGPU_REG_FREE ||
	    !ds->cfg.actor)
		return -ENOENT;
	if (ss->nr_out >= VGPU_MAX_LINKS || ds->nr_in >= VGPU_MAX_LINKS)
		return -ENOSPC;
	if (d->nr_chans >= VGPU_MAX_CHANNELS)
		return -ENOSPC;
	ch = d->nr_chans++;
	d->chan[ch].mask = ds->cfg.queue_cap - 1;
	d->chan[ch].src = src;
	d->chan[ch].dst = dst;
	/* Receiver first, then the sender may use it. */
	ds->in[ds->nr_in] = ch;
	st_release_gpu_int(&ds->nr_in, ds->nr_in + 1);
	ss->out[ss->nr_out].dst_slot = dst;
	ss->out[ss->nr_out].chan = ch;
	ss->out[ss->nr_out].dst_actor = ds->cfg.actor;
	st_release_gpu_int(&ss->nr_out, ss->nr_out + 1);
	post_event(s, VGPU_EV_LINKED, src, q->user_data, ch);
	return 0;
}

__device__ int do_group(struct sup *s, const struct vactor_sqe *q)
{
	long long parent = (long long)q->target;
	int g;

	if (q->type > VGPU_REST_FOR_ONE || q->len >= VGPU_WINDOW_MAX ||
	    (parent != VGPU_PARENT_HOST &&
	     (parent < 0 || parent >= VGPU_MAX_GROUPS || !s->d->group[parent].used)))
		return -EINVAL;
	for (g = 0; g < VGPU_MAX_GROUPS; g++)
		if (!s->d->group[g].used)
			break;
	if (g == VGPU_MAX_GROUPS)
		return -ENOSPC;
	s->d->group[g].used = 1;
	s->d->group[g].strategy = q->type;
	s->d->group[g].max_restarts = q->len;
	s->d->group[g].window_ns = q->tag;
	s->d->group[g].parent = (int)parent;
	s->d->group[g].nr_children = 0;
	s->d->group[g].nr_ts = 0;
	s->d->group[g].failed = 0;
	post_event(s, VGPU_EV_GROUP, g, q->user_data, 0);
	return 0;
}

__device__ int do_control(struct sup *s, const struct vactor_sqe *q)
{
	struct vgpu_reg *r;

	switch (q->opcode) {
	case VGPU_CTL_CREATE:
		return do_create(s, q);
	case VGPU_CTL_BIND:
		if (!valid_slot(s, q->target))
			return -EINVAL;
		r = &s->d->reg[q->target];
		if (r->status != VGPU_REG_BINDING || !q->actor)
			return -EINVAL;
		s->d->slot[q->target].cfg.actor = q->actor;
		run_slot(s, (int)q->target);
		return 0;
	case VGPU_CTL_DESTROY:
		if (!valid_slot(s, q->target))
			return -EINVAL;
		r = &s->d->reg[q->target];
		if (r->status == VGPU_REG_FREE || r->status == VGPU_REG_LOST)
			return -ENOENT;
		if (r->status == VGPU_REG_BINDING)
			free_slot(s, (int)q->target);
		else
			stop_slot(s, (int)q->target, VGPU_PEND_FREE);
		return 0;
	case VGPU_CTL_RESTART:
		if (!valid_slot(s, q->target))
			return -EINVAL;
		r = &s->d->reg[q->target];
		if (r->status != VGPU_REG_RUNNING && r->status != VGPU_REG_HELD)
			return -EBUSY;
		stop_slot(s, (int)q->target, VGPU_PEND_RESTART);
		return 0;
	case VGPU_CTL_LINK:
		return do_link(s, q);
	case VGPU_CTL_GROUP:
		return do_group(s, q);
	case VGPU_CTL_GROUP_RESTART:
		if (q->target >= VGPU_MAX_GROUPS || !s->d->group[q->target].used)
			return -EINVAL;
		if (!s->d->group[q->target].failed)
			return -EBUSY;
		group_restart(s, (int)q->target);
		return 0;
	case VGPU_CTL_SHUTDOWN:
		s->shutting_down = true;
		return 0;
	default:
		return -EINVAL;
	}
}

__device__ void poll_control(struct sup *s)
{
	struct vgpu_host_shared *h = s->h;
	unsigned int head = s->d->ctl_head;
	unsigned int tail = ld_acquire_sys(&h->ctl_tail);

	for (int n = 0; head != tail && n < 8; n++, head++) {
		struct vactor_sqe q = h->ctl[head % VGPU_CTL_ENTRIES];
		int ret = do_control(s, &q);

		if (ret)
			post_event(s, VGPU_EV_ERROR, (int)q.target, q.user_data,
				   (unsigned long long)(long long)ret);
	}
	s->d->ctl_head = head;
	st_release_sys(&h->ctl_head, head);
}

__device__ void supervisor_main(const struct vgpu_params *P)
{
	struct sup s = { P, P->dev, P->host, false };
	struct vgpu_dev *d = P->dev;
	unsigned int i;

	/* Group 0: one_for_one, the most restarts a window holds, in 1 s. */
	d->group[0].used = 1;
	d->group[0].strategy = VGPU_ONE_FOR_ONE;
	d->group[0].max_restarts = VGPU_WINDOW_MAX - 1;
	d->group[0].window_ns = 1000000000ull;
	d->group[0].parent = VGPU_PARENT_HOST;
	for (i = P->nslots - 1; i >= 1; i--) {
		d->reg[i].group = -1;
		d->free_list[d->nr_free++] = i;
	}
	d->ctl_head = ld_relaxed_sys(&P->host->ctl_head);
	d->evt_tail = ld_relaxed_sys(&P->host->evt_tail);

	while (!s.shutting_down) {
		unsigned long long now = now_ns();

		stat_add(&s.h->sup.loops, 1);
		poll_control(&s);
		for (i = 1; i < P->nslots; i++)
			if (d->reg[i].status != VGPU_REG_FREE &&
			    d->reg[i].status != VGPU_REG_LOST)
				watch_slot(&s, i, now);
		nap(500);
	}

	/* Shutdown: every slot returns; a lost one can't, and is left. */
	for (i = 1; i < P->nslots; i++) {
		d->reg[i].gen++;
		send_cmd(&s, i, VGPU_CMD_EXIT);
	}
	{
		unsigned long long until = now_ns() + P->stop_grace_ns;
		unsigned int left;

		do {
			left = 0;
			for (i = 1; i < P->nslots; i++) {
				unsigned long long a = ld_acquire_gpu64(&d->slot[i].ack);

				if (d->reg[i].status != VGPU_REG_LOST &&
				    a != VGPU_PACK(d->reg[i].gen, VGPU_ACK_GONE))
					left++;
			}
		} while (left && now_ns() < until);
	}
}

#ifndef VGPU_EMULATE

__global__ void __launch_bounds__(VGPU_THREADS)
vgpu_kernel(struct vgpu_params P)
{
	/* Lane 0 runs the block; the rest of the warp is there for handlers
	 * that want it and costs nothing while it waits. */
	if (threadIdx.x != 0)
		return;
	if (blockIdx.x == 0)
		supervisor_main(&P);
	else
		slot_main(&P, blockIdx.x);
}

extern "C" int vgpu_launch(const struct vgpu_params *p, void *stream)
{
	struct vgpu_params copy = *p;
	void *args[] = { &copy };
	cudaError_t err;

	/* Cooperative: all blocks resident at once, or the launch fails. */
	err = cudaLaunchCooperativeKernel((const void *)vgpu_kernel,
					  dim3(p->nslots), dim3(VGPU_THREADS),
					  args, 0, (cudaStream_t)stream);
	return err == cudaSuccess ? 0 : -(int)err;
}

extern "C" int vgpu_max_blocks(int *max)
{
	int dev, per_sm, sms;

	if (cudaGetDevice(&dev) != cudaSuccess ||
	    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, vgpu_kernel,
							  VGPU_THREADS, 0) != cudaSuccess ||
	    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
		return -ENODEV;
	*max = per_sm * sms;
	return 0;
}

#else /* VGPU_EMULATE */

struct emu_block {
	struct vgpu_params P;
	unsigned int block;
};

static struct emu_block emu_blocks[VGPU_MAX_SLOTS];
static int emu_threads;

static void *emu_block_main(void *arg)
{
	struct emu_block *b = (struct emu_block *)arg;

	if (b->block == 0)
		supervisor_main(&b->P);
	else
		slot_main(&b->P, (int)b->block);
	__atomic_sub_fetch(&emu_threads, 1, __ATOMIC_RELEASE);
	return NULL;
}

extern "C" int vgpu_emu_running(void)
{
	return __atomic_load_n(&emu_threads, __ATOMIC_ACQUIRE);
}

extern "C" int vgpu_launch(const struct vgpu_params *p, void *stream)
{
	pthread_attr_t attr;

	(void)stream;
	if (vgpu_emu_running())
		return -EBUSY;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	__atomic_store_n(&emu_threads, (int)p->nslots, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < p->nslots; i++) {
		pthread_t t;

		emu_blocks[i].P = *p;
		emu_blocks[i].block = i;
		if (pthread_create(&t, &attr, emu_block_main, &emu_blocks[i])) {
			/* Blocks not started count as finished; the rest run on. */
			__atomic_sub_fetch(&emu_threads, (int)(p->nslots - i),
					   __ATOMIC_RELEASE);
			pthread_attr_destroy(&attr);
			return -EAGAIN;
		}
	}
	pthread_attr_destroy(&attr);
	return 0;
}

extern "C" int vgpu_max_blocks(int *max)
{
	*max = VGPU_MAX_SLOTS;
	return 0;
}

#endif /* VGPU_EMULATE */
