// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * vgpu: the host side.  Allocates the shared memory, opens one vactor port
 * per slot, launches the persistent kernel once, speaks the control ring,
 * and creates each GPU actor in the kernel's actor table on its slot's
 * port.
 *
 * Modes (Documentation/cuda.rst):
 *   direct    the port's SQ, CQ and receive area are our own memory
 *             (VACTOR_SETUP_F_USER_MEM), registered with CUDA as mapped
 *             host memory: the kernel writes CQEs the GPU reads, the GPU
 *             writes SQEs the kernel reads, nobody copies.  A doorbell
 *             thread only enters the kernel when an SQ tail moved (there is
 *             no SQ polling thread in the module yet).
 *   bridge    the fallback where the module or CUDA refuses that memory: the
 *             port is mapped as usual and a host thread copies entries
 *             between it and GPU rings of the same layout.
 *   loopback  no module (the GPU test machine): the caller plays the
 *             kernel's side of each slot's rings (vgpu_lo_post/take).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vgpu_cuda.h"

#include "vact.h"
#include "vgpu_shared.h"

#define EVQ_MAX		4096	/* events read but not yet taken */
#define SQ_DEFAULT	64
#define CQ_DEFAULT	256
#define RECV_SIZE	VACTOR_MSG_MAX	/* smallest receive area: 64 KiB */

static inline unsigned int load_acquire(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline unsigned int load_relaxed(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void store_release(unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A vactor ring in host memory, as the host sees it. */
struct hring {
	unsigned int *head, *tail, *flags;
	unsigned char *entries;
	unsigned int mask;
};

/* One slot's port and the memory the GPU uses for it. */
struct slot_port {
	bool open;			/* module modes: port is a real port */
	struct vact_port port;
	void *mem;			/* our allocation (rings + receive area) */
	size_t mem_size;
	bool mem_mmap;			/* mmap'd (direct) or cudaHostAlloc'd */
	bool registered;		/* cudaHostRegister'd */
	struct hring sq, cq;		/* the rings the GPU uses */
	unsigned char *recv;
	unsigned int recv_size;
	unsigned int lo_sq_head;	/* loopback/bridge: our SQ head */
	unsigned int lo_cq_tail;	/* loopback/bridge: our CQ tail */
	unsigned int br_pending;	/* bridge: port CQEs handed on, not consumed */
	uint64_t actor;
};

struct vgpu {
	struct vgpu_opts o;
	enum vgpu_mode mode;
	unsigned int nslots;
	struct vgpu_host_shared *hs;	/* pinned, mapped */
	struct vgpu_host_shared *hs_dev;
	struct vgpu_dev *dev;
	cudaStream_t stream;
	bool launched;
	struct slot_port sp[VGPU_MAX_SLOTS];

	pthread_mutex_t lock;		/* control ring, events, ids */
	unsigned int ctl_tail;
	unsigned int evt_head;
	uint64_t cookie;
	struct vgpu_event evq[EVQ_MAX];
	unsigned int nevq;
	uint64_t next_lo_id;

	pthread_t thread;		/* doorbell or bridge */
	bool thread_on;
	volatile int stop;
};

/* ---- ring memory ---- */

static void hring_init(struct hring *r, unsigned char *base,
		       const struct vactor_ring_offsets *o)
{
	r->head = (unsigned int *)(base + o->head);
	r->tail = (unsigned int *)(base + o->tail);
	r->flags = (unsigned int *)(base + o->flags);
	r->entries = base + o->entries;
	r->mask = o->ring_mask;
}

/* The layout the module uses (uapi: head, tail, flags, entries). */
static void default_offsets(struct vactor_ring_offsets *o, unsigned int entries)
{
	memset(o, 0, sizeof(*o));
	o->head = 0;
	o->tail = 64;
	o->flags = 128;
	o->entries = VACTOR_RING_HDR_SIZE;
	o->ring_entries = entries;
	o->ring_mask = entries - 1;
}

static int dev_ptr(void *host, void **dev)
{
	return cudaHostGetDevicePointer(dev, host, 0) == cudaSuccess ? 0 : -EFAULT;
}

static int ring_dev(struct vgpu_ring_dev *d, const struct hring *r)
{
	void *p;
	int ret;

	ret = dev_ptr(r->head, &p);
	d->head = (unsigned int *)p;
	if (!ret)
		ret = dev_ptr(r->tail, &p);
	d->tail = (unsigned int *)p;
	if (!ret)
		ret = dev_ptr(r->flags, &p);
	d->flags = (unsigned int *)p;
	if (!ret)
		ret = dev_ptr(r->entries, &p);
	d->entries = p;
	d->mask = r->mask;
	return ret;
}

static unsigned int pow2(unsigned int n)
{
	unsigned int p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Memory for one slot's rings and receive area: sq | cq | recv, each page
 * aligned.  Direct mode: anonymous memory (the module pins it, CUDA maps
 * it); otherwise CUDA's own pinned, mapped memory.
 */
static int slot_mem(struct slot_port *sp, unsigned int sq, unsigned int cq,
		    bool direct, size_t *sq_size, size_t *cq_size)
{
	*sq_size = vact_ring_size(sq, false);
	*cq_size = vact_ring_size(cq, true);
	if (!*sq_size || !*cq_size)
		return -EINVAL;
	sp->recv_size = RECV_SIZE;
	sp->mem_size = *sq_size + *cq_size + sp->recv_size;
	if (direct) {
		void *m = mmap(NULL, sp->mem_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			return -errno;
		sp->mem = m;
		sp->mem_mmap = true;
	} else {
		if (cudaHostAlloc(&sp->mem, sp->mem_size,
				  cudaHostAllocMapped | cudaHostAllocPortable) != cudaSuccess)
			return -ENOMEM;
		memset(sp->mem, 0, sp->mem_size);
	}
	return 0;
}

static void slot_mem_free(struct slot_port *sp)
{
	if (sp->registered)
		cudaHostUnregister(sp->mem);
	if (sp->mem && sp->mem_mmap)
		munmap(sp->mem, sp->mem_size);
	else if (sp->mem)
		cudaFreeHost(sp->mem);
	sp->mem = NULL;
	sp->registered = false;
}

/*
 * Direct: a port whose rings are sp->mem, registered with CUDA.  -EINVAL or
 * -ENOTTY from the module, or a CUDA refusal: the caller may fall back.
 */
static int open_direct(struct vgpu *g, struct slot_port *sp)
{
	struct vactor_params p;
	size_t sqs, cqs;
	unsigned char *m;
	int ret;

	ret = slot_mem(sp, g->o.sq_entries, g->o.cq_entries, true, &sqs, &cqs);
	if (ret)
		return ret;
	m = (unsigned char *)sp->mem;
	memset(&p, 0, sizeof(p));
	p.sq_entries = g->o.sq_entries;
	p.cq_entries = g->o.cq_entries;
	p.recv_size = sp->recv_size;
	p.flags = VACTOR_SETUP_F_USER_MEM;
	p.sq_size = (uint32_t)sqs;
	p.cq_size = (uint32_t)cqs;
	p.user.sq_addr = (uintptr_t)m;
	p.user.cq_addr = (uintptr_t)(m + sqs);
	p.user.recv_addr = (uintptr_t)(m + sqs + cqs);
	ret = vact_port_open(&sp->port, &p);
	if (ret)
		goto fail;
	sp->open = true;
	if (cudaHostRegister(sp->mem, sp->mem_size,
			     cudaHostRegisterMapped | cudaHostRegisterPortable) != cudaSuccess) {
		ret = -EOPNOTSUPP;
		goto fail;
	}
	sp->registered = true;
	hring_init(&sp->sq, m, &p.sq_off);
	hring_init(&sp->cq, m + sqs, &p.cq_off);
	sp->recv = m + sqs + cqs;
	return 0;
fail:
	if (sp->open)
		vact_port_close(&sp->port);
	sp->open = false;
	slot_mem_free(sp);
	return ret;
}

/* Bridge and loopback: GPU rings in CUDA pinned memory; bridge: a port too. */
static int open_copy(struct vgpu *g, struct slot_port *sp, bool port)
{
	struct vactor_ring_offsets so, co;
	struct vactor_params p;
	size_t sqs, cqs;
	unsigned char *m;
	int ret;

	ret = slot_mem(sp, g->o.sq_entries, g->o.cq_entries, false, &sqs, &cqs);
	if (ret)
		return ret;
	m = (unsigned char *)sp->mem;
	default_offsets(&so, pow2(g->o.sq_entries));
	default_offsets(&co, pow2(g->o.cq_entries));
	if (port) {
		memset(&p, 0, sizeof(p));
		p.sq_entries = g->o.sq_entries;
		p.cq_entries = g->o.cq_entries;
		p.recv_size = sp->recv_size;
		ret = vact_port_open(&sp->port, &p);
		if (ret) {
			slot_mem_free(sp);
			return ret;
		}
		sp->open = true;
		/* Same entries, same receive size: offsets carry over 1:1. */
		co.ring_entries = p.cq_entries;
		co.ring_mask = p.cq_entries - 1;
		so.ring_entries = p.sq_entries;
		so.ring_mask = p.sq_entries - 1;
	}
	hring_init(&sp->sq, m, &so);
	hring_init(&sp->cq, m + sqs, &co);
	sp->recv = m + sqs + cqs;
	return 0;
}

static void close_slot(struct slot_port *sp)
{
	if (sp->open)
		vact_port_close(&sp->port);
	sp->open = false;
	slot_mem_free(sp);
}

/* ---- doorbell (direct) and bridge threads ---- */

static void enter(int fd, unsigned int to_submit)
{
	struct vactor_enter e;

	memset(&e, 0, sizeof(e));
	e.to_submit = to_submit;
	/* EBUSY: the CQ holds no room for completions yet; next round. */
	(void)ioctl(fd, VACTOR_IOC_ENTER, &e);
}

/*
 * The GPU published SQEs (its SQ tail moved past the kernel's head): enter
 * the kernel to consume them.  A CQ backlog (messages waiting in kernel
 * mailboxes for room) is let in the same way.  Nothing is copied.
 */
static bool doorbell_round(struct vgpu *g)
{
	bool busy = false;

	for (unsigned int s = 1; s < g->nslots; s++) {
		struct slot_port *sp = &g->sp[s];
		unsigned int tail, head;

		if (!sp->open)
			continue;
		tail = load_acquire(sp->sq.tail);
		head = load_acquire(sp->sq.head);
		if (tail != head) {
			enter(sp->port.fd, tail - head);
			busy = true;
		} else if (load_relaxed(sp->cq.flags) & VACTOR_CQ_F_BACKLOG) {
			enter(sp->port.fd, 0);
		}
	}
	return busy;
}

/* GPU SQ -> port SQ; port CQ -> GPU CQ (1:1, same receive offsets). */
static bool bridge_slot(struct slot_port *sp)
{
	struct vact_port *p = &sp->port;
	unsigned int t = load_acquire(sp->sq.tail), n = 0, gh, ready;
	bool busy = false;

	while (sp->lo_sq_head != t) {
		struct vactor_sqe *q = vact_get_sqe(p);

		if (!q)
			break;
		memcpy(q, sp->sq.entries + (size_t)(sp->lo_sq_head & sp->sq.mask) *
		       sizeof(*q), sizeof(*q));
		sp->lo_sq_head++;
		n++;
	}
	if (n) {
		store_release(sp->sq.head, sp->lo_sq_head);
		busy = true;
	}
	/* Also lets a CQ backlog in (vact_submit enters for it). */
	vact_submit(p);

	/* What the GPU consumed, the port may now take back. */
	gh = load_acquire(sp->cq.head);
	{
		unsigned int consumed = sp->br_pending - (sp->lo_cq_tail - gh);

		if (consumed) {
			vact_cq_advance(p, consumed);
			sp->br_pending -= consumed;
		}
	}
	ready = vact_cq_ready(p);
	while (ready > sp->br_pending && sp->lo_cq_tail - gh <= sp->cq.mask) {
		unsigned int ph = *p->cq.head + sp->br_pending;
		const struct vactor_cqe *e = &p->cq.cqes[ph & p->cq.mask];
		struct vactor_cqe *d = (struct vactor_cqe *)sp->cq.entries +
				       (sp->lo_cq_tail & sp->cq.mask);

		*d = *e;
		if ((e->flags & VACTOR_CQE_F_BUF) && e->buf_off < sp->recv_size &&
		    e->len <= sp->recv_size - e->buf_off)
			memcpy(sp->recv + e->buf_off, p->recv + e->buf_off, e->len);
		sp->lo_cq_tail++;
		sp->br_pending++;
		store_release(sp->cq.tail, sp->lo_cq_tail);
		busy = true;
	}
	return busy;
}

static void *helper_thread(void *arg)
{
	struct vgpu *g = (struct vgpu *)arg;
	unsigned int idle = 0;

	while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		bool busy = false;

		if (g->mode == VGPU_MODE_DIRECT) {
			busy = doorbell_round(g);
		} else {
			for (unsigned int s = 1; s < g->nslots; s++)
				if (g->sp[s].open)
					busy |= bridge_slot(&g->sp[s]);
		}
		/* Spin while there is traffic; past a quiet while, nap. */
		if (busy)
			idle = 0;
		else if (++idle < 100000)
			cpu_relax();
		else
			usleep(50);
	}
	return NULL;
}

/* ---- control ring and events ---- */

static int ctl_submit(struct vgpu *g, uint8_t op, uint64_t target,
		      uint64_t actor, uint32_t type, uint32_t len, uint64_t tag,
		      const struct vgpu_actor_config *cfg, uint64_t *cookie)
{
	struct vgpu_host_shared *h = g->hs;
	unsigned int t = g->ctl_tail, idx = t % VGPU_CTL_ENTRIES;
	struct vactor_sqe *q;
	int64_t until = now_ns() + 1000000000;

	while (t - load_acquire(&h->ctl_head) >= VGPU_CTL_ENTRIES) {
		if (now_ns() > until)
			return -EBUSY;
		cpu_relax();
	}
	q = &h->ctl[idx];
	memset(q, 0, sizeof(*q));
	q->opcode = op;
	q->target = target;
	q->actor = actor;
	q->type = type;
	q->len = len;
	q->tag = tag;
	q->user_data = ++g->cookie;
	if (cfg) {
		h->ctl_cfg[idx] = *cfg;
		q->buf_off = idx;
	}
	if (cookie)
		*cookie = q->user_data;
	g->ctl_tail = t + 1;
	/* The entry (and config) before the tail, for the GPU. */
	store_release(&h->ctl_tail, t + 1);
	return 0;
}

/* Events the supervisor posted -> our queue.  Lock held. */
static void ingest(struct vgpu *g)
{
	struct vgpu_host_shared *h = g->hs;
	unsigned int t = load_acquire(&h->evt_tail);

	while (g->evt_head != t && g->nevq < EVQ_MAX) {
		const struct vactor_cqe *e = &h->evt[g->evt_head % VGPU_EVT_ENTRIES];
		struct vgpu_event *ev = &g->evq[g->nevq++];

		ev->type = e->event;
		ev->slot = (int32_t)e->actor;
		ev->a = e->source;
		ev->b = e->tag;
		ev->ts_ns = e->ts_ns;
		g->evt_head++;
		/* The actor of a slot freed by its supervisor leaves the table too. */
		if (ev->type == VGPU_EV_DESTROYED && ev->slot > 0 &&
		    (unsigned int)ev->slot < g->nslots) {
			struct slot_port *sp = &g->sp[ev->slot];

			if (sp->open && sp->actor)
				vact_destroy(&sp->port, sp->actor);
			sp->actor = 0;
		}
	}
	store_release(&h->evt_head, g->evt_head);
}

static bool ev_match(const struct vgpu_event *e, uint32_t type, int slot)
{
	return e->type == type && (slot < 0 || e->slot == slot);
}

/* Takes the first queued event matching (type 0: any).  Lock held. */
static bool take(struct vgpu *g, uint32_t type, int slot, struct vgpu_event *ev)
{
	for (unsigned int i = 0; i < g->nevq; i++) {
		if (type && !ev_match(&g->evq[i], type, slot))
			continue;
		*ev = g->evq[i];
		memmove(&g->evq[i], &g->evq[i + 1], (g->nevq - i - 1) * sizeof(*ev));
		g->nevq--;
		return true;
	}
	return false;
}

static int wait_event(struct vgpu *g, uint32_t type, int slot,
		      struct vgpu_event *ev, int64_t timeout_ns)
{
	int64_t until = timeout_ns < 0 ? INT64_MAX : now_ns() + timeout_ns;
	unsigned int spins = 0;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		ingest(g);
		if (take(g, type, slot, ev)) {
			pthread_mutex_unlock(&g->lock);
			return 0;
		}
		pthread_mutex_unlock(&g->lock);
		if (now_ns() > until)
			return -ETIME;
		if (cudaStreamQuery(g->stream) == cudaSuccess)
			return -EPIPE;	/* the kernel is gone */
		if (++spins < 1000)
			cpu_relax();
		else
			usleep(20);
	}
}

/*
 * The event answering a command: ok_type (for slot, or with a == cookie
 * when slot < 0), or the ERROR carrying its cookie.
 */
static int wait_reply(struct vgpu *g, uint32_t ok_type, int slot,
		      uint64_t cookie, struct vgpu_event *ev, int64_t timeout_ns)
{
	int64_t until = now_ns() + timeout_ns;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		ingest(g);
		for (unsigned int i = 0; i < g->nevq; i++) {
			struct vgpu_event *e = &g->evq[i];
			bool ok = e->type == ok_type &&
				  (slot >= 0 ? e->slot == slot : e->a == cookie);

			if (ok || (e->type == VGPU_EV_ERROR && e->a == cookie)) {
				*ev = *e;
				memmove(e, e + 1, (g->nevq - i - 1) * sizeof(*e));
				g->nevq--;
				pthread_mutex_unlock(&g->lock);
				return ok ? 0 : (int)(int64_t)ev->b;
			}
		}
		pthread_mutex_unlock(&g->lock);
		if (now_ns() > until)
			return -ETIME;
		if (cudaStreamQuery(g->stream) == cudaSuccess)
			return -EPIPE;
		usleep(10);
	}
}

#ifndef VGPU_EMULATE
#define REPLY_NS	5000000000LL
#else
#define REPLY_NS	60000000000LL	/* CPU threads standing in for blocks */
#endif

static int ctl(struct vgpu *g, uint8_t op, uint64_t target, uint64_t actor,
	       uint32_t type, uint32_t len, uint64_t tag,
	       const struct vgpu_actor_config *cfg, uint64_t *cookie)
{
	int ret;

	pthread_mutex_lock(&g->lock);
	ret = ctl_submit(g, op, target, actor, type, len, tag, cfg, cookie);
	pthread_mutex_unlock(&g->lock);
	return ret;
}

/* ---- public API ---- */

static int open_ports(struct vgpu *g)
{
	int ret = 0;

	for (unsigned int s = 1; s < g->nslots && !ret; s++) {
		struct slot_port *sp = &g->sp[s];

		switch (g->mode) {
		case VGPU_MODE_DIRECT:
			ret = open_direct(g, sp);
			if (ret && g->o.mode == VGPU_MODE_AUTO && s == 1) {
				/* No user memory here: the bridge, for every slot. */
				g->mode = VGPU_MODE_BRIDGE;
				ret = open_copy(g, sp, true);
			}
			break;
		case VGPU_MODE_BRIDGE:
			ret = open_copy(g, sp, true);
			break;
		default:
			ret = open_copy(g, sp, false);
			break;
		}
	}
	return ret;
}

int vgpu_start(struct vgpu **out, const struct vgpu_opts *opts)
{
	struct vgpu_port_dev ports[VGPU_MAX_SLOTS];
	struct vgpu_params P;
	struct vgpu *g;
	int max = 0, ret;
	void *p;

	if (!out || !opts || opts->slots < 2 || opts->slots > VGPU_MAX_SLOTS)
		return -EINVAL;
	g = (struct vgpu *)calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->o = *opts;
	if (!g->o.sq_entries)
		g->o.sq_entries = SQ_DEFAULT;
	if (!g->o.cq_entries)
		g->o.cq_entries = CQ_DEFAULT;
	if (!g->o.dormant_sleep_ns)
		g->o.dormant_sleep_ns = 2000;
	if (!g->o.stop_grace_ns)
		g->o.stop_grace_ns = 100000000ull;
	g->nslots = opts->slots;
	g->mode = opts->mode == VGPU_MODE_AUTO ? VGPU_MODE_DIRECT : opts->mode;
	g->next_lo_id = 0x4750550000000001ull;	/* "GPU": loopback ids */
	pthread_mutex_init(&g->lock, NULL);

	ret = vgpu_max_blocks(&max);
	if (ret)
		goto fail;
	if ((int)g->nslots > max) {
		ret = -E2BIG;	/* not all resident at once: no persistent kernel */
		goto fail;
	}
	ret = -ENOMEM;
	if (cudaHostAlloc((void **)&g->hs, sizeof(*g->hs),
			  cudaHostAllocMapped | cudaHostAllocPortable) != cudaSuccess)
		goto fail;
	memset(g->hs, 0, sizeof(*g->hs));
	if (dev_ptr(g->hs, &p))
		goto fail;
	g->hs_dev = (struct vgpu_host_shared *)p;
	if (cudaMalloc((void **)&g->dev, sizeof(*g->dev)) != cudaSuccess)
		goto fail;
	if (cudaMemset(g->dev, 0, sizeof(*g->dev)) != cudaSuccess)
		goto fail;
	if (cudaStreamCreateWithFlags(&g->stream, cudaStreamNonBlocking) != cudaSuccess)
		goto fail;

	ret = open_ports(g);
	if (ret)
		goto fail;
	memset(ports, 0, sizeof(ports));
	for (unsigned int s = 1; s < g->nslots; s++) {
		struct slot_port *sp = &g->sp[s];

		ret = ring_dev(&ports[s].sq, &sp->sq);
		if (!ret)
			ret = ring_dev(&ports[s].cq, &sp->cq);
		if (!ret)
			ret = dev_ptr(sp->recv, &p);
		if (ret)
			goto fail;
		ports[s].recv = (const unsigned char *)p;
		ports[s].recv_size = sp->recv_size;
	}
	if (cudaMemcpy(g->dev->ports, ports, sizeof(ports),
		       cudaMemcpyHostToDevice) != cudaSuccess) {
		ret = -EIO;
		goto fail;
	}

	/* Supervision recurses (escalation up the groups): room for it. */
	cudaDeviceSetLimit(cudaLimitStackSize, 8192);
	P.dev = g->dev;
	P.host = g->hs_dev;
	P.nslots = g->nslots;
	P.dormant_sleep_ns = g->o.dormant_sleep_ns;
	P.stop_grace_ns = g->o.stop_grace_ns;
	ret = vgpu_launch(&P, g->stream);
	if (ret)
		goto fail;
	g->launched = true;
	if (g->mode != VGPU_MODE_LOOPBACK) {
		if (pthread_create(&g->thread, NULL, helper_thread, g)) {
			ret = -EAGAIN;
			goto fail;
		}
		g->thread_on = true;
	}
	*out = g;
	return 0;
fail:
	vgpu_stop(g);
	return ret;
}

void vgpu_stop(struct vgpu *g)
{
	if (!g)
		return;
	if (g->launched) {
		int64_t until;

		ctl(g, VGPU_CTL_SHUTDOWN, 0, 0, 0, 0, 0, NULL, NULL);
		/* A lost slot never returns: then the kernel is left behind. */
		until = now_ns() + 2 * (int64_t)g->o.stop_grace_ns + 10000000000LL;
		while (cudaStreamQuery(g->stream) == cudaErrorNotReady && now_ns() < until)
			usleep(100);
		g->launched = cudaStreamQuery(g->stream) == cudaErrorNotReady;
	}
	if (g->thread_on) {
		__atomic_store_n(&g->stop, 1, __ATOMIC_RELEASE);
		pthread_join(g->thread, NULL);
	}
	/* Memory a still-running kernel may touch is left to process exit. */
	if (!g->launched) {
		for (unsigned int s = 1; s < VGPU_MAX_SLOTS; s++)
			close_slot(&g->sp[s]);
		if (g->dev)
			cudaFree(g->dev);
		if (g->hs)
			cudaFreeHost(g->hs);
		if (g->stream)
			cudaStreamDestroy(g->stream);
	} else {
		for (unsigned int s = 1; s < VGPU_MAX_SLOTS; s++)
			if (g->sp[s].open)
				vact_port_close(&g->sp[s].port);
	}
	pthread_mutex_destroy(&g->lock);
	free(g);
}

enum vgpu_mode vgpu_mode(const struct vgpu *g)
{
	return g->mode;
}

unsigned int vgpu_slots(const struct vgpu *g)
{
	return g->nslots;
}

int vgpu_group_create(struct vgpu *g, enum vgpu_strategy strategy,
		      unsigned int max_restarts, uint64_t window_ns, int parent)
{
	struct vgpu_event ev;
	uint64_t cookie;
	int ret;

	ret = ctl(g, VGPU_CTL_GROUP, (uint64_t)(int64_t)parent, 0, strategy,
		  max_restarts, window_ns, NULL, &cookie);
	if (!ret)
		ret = wait_reply(g, VGPU_EV_GROUP, -1, cookie, &ev, REPLY_NS);
	return ret ? ret : ev.slot;
}

int vgpu_group_restart(struct vgpu *g, int group)
{
	return ctl(g, VGPU_CTL_GROUP_RESTART, (uint64_t)group, 0, 0, 0, 0, NULL, NULL);
}

int vgpu_actor_create(struct vgpu *g, const struct vgpu_actor_config *cfg,
		      uint64_t *actor)
{
	struct vgpu_event ev;
	struct slot_port *sp;
	uint64_t cookie, id = 0;
	int ret, slot;

	ret = ctl(g, VGPU_CTL_CREATE, 0, 0, 0, 0, 0, cfg, &cookie);
	if (!ret)
		ret = wait_reply(g, VGPU_EV_CREATED, -1, cookie, &ev, REPLY_NS);
	if (ret)
		return ret;
	slot = ev.slot;
	sp = &g->sp[slot];
	/* The kernel actor, hosted by this slot's port. */
	if (sp->open) {
		ret = vact_create(&sp->port, cfg->name[0] ? cfg->name : NULL,
				  VGPU_TYPE_BASE + cfg->type, &id);
	} else {
		pthread_mutex_lock(&g->lock);
		id = g->next_lo_id++;
		pthread_mutex_unlock(&g->lock);
	}
	if (ret) {
		if (!ctl(g, VGPU_CTL_DESTROY, (uint64_t)slot, 0, 0, 0, 0, NULL, &cookie))
			wait_reply(g, VGPU_EV_DESTROYED, slot, cookie, &ev, REPLY_NS);
		return ret;
	}
	sp->actor = id;
	ret = ctl(g, VGPU_CTL_BIND, (uint64_t)slot, id, 0, 0, 0, NULL, &cookie);
	if (!ret)
		ret = wait_reply(g, VGPU_EV_STARTED, slot, cookie, &ev, REPLY_NS);
	if (ret)
		return ret;
	if (actor)
		*actor = id;
	return slot;
}

int vgpu_actor_destroy(struct vgpu *g, int slot)
{
	struct vgpu_event ev;
	uint64_t cookie;
	int ret;

	if (slot < 1 || (unsigned int)slot >= g->nslots)
		return -EINVAL;
	ret = ctl(g, VGPU_CTL_DESTROY, (uint64_t)slot, 0, 0, 0, 0, NULL, &cookie);
	if (!ret)	/* ingest() takes the kernel actor out of the table */
		ret = wait_reply(g, VGPU_EV_DESTROYED, slot, cookie, &ev,
				 2 * (int64_t)g->o.stop_grace_ns + REPLY_NS);
	return ret;
}

int vgpu_actor_restart(struct vgpu *g, int slot)
{
	if (slot < 1 || (unsigned int)slot >= g->nslots)
		return -EINVAL;
	return ctl(g, VGPU_CTL_RESTART, (uint64_t)slot, 0, 0, 0, 0, NULL, NULL);
}

int vgpu_link(struct vgpu *g, int src, int dst)
{
	struct vgpu_event ev;
	uint64_t cookie;
	int ret;

	ret = ctl(g, VGPU_CTL_LINK, (uint64_t)src, (uint64_t)dst, 0, 0, 0, NULL,
		  &cookie);
	if (!ret)
		ret = wait_reply(g, VGPU_EV_LINKED, -1, cookie, &ev, REPLY_NS);
	return ret ? ret : (int)ev.b;
}

uint64_t vgpu_actor_id(const struct vgpu *g, int slot)
{
	return slot > 0 && (unsigned int)slot < g->nslots ? g->sp[slot].actor : 0;
}

int vgpu_event_next(struct vgpu *g, struct vgpu_event *ev, int64_t timeout_ns)
{
	return wait_event(g, 0, -1, ev, timeout_ns);
}

int vgpu_event_wait(struct vgpu *g, uint32_t type, int slot,
		    struct vgpu_event *ev, int64_t timeout_ns)
{
	return wait_event(g, type, slot, ev, timeout_ns);
}

int vgpu_snapshot(struct vgpu *g, int slot, void *buf, size_t size)
{
	const struct vgpu_snap *s;

	if (slot < 1 || (unsigned int)slot >= g->nslots)
		return -EINVAL;
	s = &g->hs->snap[slot].s;
	for (int tries = 0; tries < 1000000; tries++) {
		unsigned int a = load_acquire(&s->seq), b, len;

		if (a & 1) {
			cpu_relax();
			continue;
		}
		len = *(volatile const unsigned int *)&s->len;
		if (len > VGPU_STATE_MAX || len > size)
			return -ENOSPC;
		memcpy(buf, s->data, len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		b = load_relaxed(&s->seq);
		if (a == b)
			return (int)len;
	}
	return -EBUSY;
}

int vgpu_stats(struct vgpu *g, int slot, struct vgpu_slot_stats *st)
{
	if (slot < 1 || (unsigned int)slot >= g->nslots)
		return -EINVAL;
	memcpy(st, (const void *)&g->hs->stats[slot].s, sizeof(*st));
	return 0;
}

int vgpu_sup_stats(struct vgpu *g, struct vgpu_sup_stats *st)
{
	memcpy(st, (const void *)&g->hs->sup, sizeof(*st));
	return 0;
}

int vgpu_lo_post(struct vgpu *g, int slot, uint64_t source, uint64_t tag,
		 const void *data, uint32_t len)
{
	struct slot_port *sp;
	struct vactor_cqe *e;

	if (g->mode != VGPU_MODE_LOOPBACK)
		return -EOPNOTSUPP;
	if (slot < 1 || (unsigned int)slot >= g->nslots || len > VACTOR_INLINE_MAX)
		return -EINVAL;
	sp = &g->sp[slot];
	if (sp->lo_cq_tail - load_acquire(sp->cq.head) > sp->cq.mask)
		return -EAGAIN;
	e = (struct vactor_cqe *)sp->cq.entries + (sp->lo_cq_tail & sp->cq.mask);
	memset(e, 0, sizeof(*e));
	e->event = VACTOR_EV_MSG;
	e->len = len;
	e->actor = sp->actor;
	e->source = source;
	e->tag = tag;
	e->ts_ns = (uint64_t)now_ns();
	if (len)
		memcpy(e->data, data, len);
	store_release(sp->cq.tail, ++sp->lo_cq_tail);
	return 0;
}

int vgpu_lo_take(struct vgpu *g, int slot, struct vactor_sqe *sqe)
{
	struct slot_port *sp;

	if (g->mode != VGPU_MODE_LOOPBACK)
		return -EOPNOTSUPP;
	if (slot < 1 || (unsigned int)slot >= g->nslots)
		return -EINVAL;
	sp = &g->sp[slot];
	if (load_acquire(sp->sq.tail) == sp->lo_sq_head)
		return -EAGAIN;
	memcpy(sqe, sp->sq.entries + (size_t)(sp->lo_sq_head & sp->sq.mask) *
	       sizeof(*sqe), sizeof(*sqe));
	store_release(sp->sq.head, ++sp->lo_sq_head);
	return 0;
}

int vgpu_port_fd(const struct vgpu *g, int slot)
{
	if (slot < 1 || (unsigned int)slot >= g->nslots || !g->sp[slot].open)
		return -ENODEV;
	return g->sp[slot].port.fd;
}
