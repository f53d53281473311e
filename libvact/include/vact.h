/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libvact: userspace access to /dev/vactor ports.
 *
 * Every function returns 0 (or a non-negative count) on success and a
 * negative errno on failure; none aborts or prints.  Ring indices are read
 * with acquire and published with release (C11 atomics).
 */
#ifndef VACT_H
#define VACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vactor.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vact_sq {
	unsigned int *head;		/* kernel writes */
	unsigned int *tail;		/* we write */
	unsigned int *flags;
	unsigned int mask;
	unsigned int entries;
	struct vactor_sqe *sqes;
	unsigned int sqe_tail;		/* next free SQE (local, not published) */
	void *ring;
	size_t ring_size;
};

struct vact_cq {
	unsigned int *head;		/* we write */
	unsigned int *tail;		/* kernel writes */
	unsigned int *flags;
	unsigned int mask;
	unsigned int entries;
	struct vactor_cqe *cqes;
	void *ring;
	size_t ring_size;
};

/* One open /dev/vactor: a host of actors with its own rings. */
struct vact_port {
	int fd;
	unsigned int id;		/* port id as shown in /proc/vactor */
	struct vact_sq sq;
	struct vact_cq cq;
	unsigned char *send;		/* send area (read-write) */
	size_t send_size;
	size_t send_used;		/* bump allocator, reset once SQ drains */
	const unsigned char *recv;	/* receive area (read-only) */
	size_t recv_size;
	unsigned int user_mem;		/* VACT_USER_MEM_*: regions in caller memory */
};

/* Regions of a port that live in the caller's memory (not mapped, not unmapped). */
#define VACT_USER_MEM_SQ	(1U << 0)
#define VACT_USER_MEM_CQ	(1U << 1)
#define VACT_USER_MEM_SEND	(1U << 2)
#define VACT_USER_MEM_RECV	(1U << 3)

/*
 * params may be NULL for defaults; on success it holds the actual sizes.
 * With VACTOR_SETUP_F_USER_MEM in params->flags the rings (and the areas
 * whose params->user address is not 0) are the caller's memory, used in
 * place: page aligned, writable, at least vact_ring_size() bytes for a ring
 * (give it in params->sq_size / cq_size); the caller frees it after
 * vact_port_close().  The kernel pins it for the port's life
 * (Documentation/uapi.rst, "User-provided ring memory").
 */
int vact_port_open(struct vact_port *port, struct vactor_params *params);
void vact_port_close(struct vact_port *port);
/*
 * Bytes a ring of @entries entries takes (entries rounded up to a power of
 * two as SETUP does, bytes to the page size); @cq: CQ, else SQ.  0 if
 * entries is out of range.
 */
size_t vact_ring_size(unsigned int entries, bool cq);

/* --- ring access ------------------------------------------------------- */

/* Next free SQE, zeroed, or NULL when the SQ is full (submit first). */
struct vactor_sqe *vact_get_sqe(struct vact_port *port);

/* Publishes prepared SQEs and enters the kernel; returns SQEs consumed. */
int vact_submit(struct vact_port *port);
/* As vact_submit, then waits until wait_nr CQEs are ready.
 * timeout_ns < 0: no timeout.  Returns the SQEs consumed even if the wait
 * then timed out; -ETIME (-EINTR) only when none were. */
int vact_submit_and_wait(struct vact_port *port, unsigned int wait_nr,
			 int64_t timeout_ns);

/* Number of CQEs ready to reap. */
unsigned int vact_cq_ready(const struct vact_port *port);
/*
 * First ready CQE without consuming it; -EAGAIN when none.  An empty CQ with
 * VACTOR_CQ_F_BACKLOG set is refilled first (one ENTER).
 */
int vact_peek_cqe(struct vact_port *port, struct vactor_cqe **cqe);
/* Waits for a CQE (submitting pending SQEs); timeout_ns < 0: forever. */
int vact_wait_cqe(struct vact_port *port, struct vactor_cqe **cqe,
		  int64_t timeout_ns);
/* Consumes n CQEs: their payloads in the receive area are given back. */
void vact_cq_advance(struct vact_port *port, unsigned int n);
static inline void vact_cqe_seen(struct vact_port *port, struct vactor_cqe *cqe)
{
	(void)cqe;
	vact_cq_advance(port, 1);
}
/* The payload of a CQE (inline or in the receive area). */
const void *vact_cqe_data(const struct vact_port *port,
			  const struct vactor_cqe *cqe);

/* --- preparing SQEs ---------------------------------------------------- */

void vact_prep_nop(struct vactor_sqe *sqe, uint64_t user_data);
/* name may be NULL; -ENAMETOOLONG if it does not fit. */
int vact_prep_create(struct vactor_sqe *sqe, const char *name, uint32_t type,
		     uint64_t user_data);
void vact_prep_destroy(struct vactor_sqe *sqe, uint64_t actor,
		       uint64_t user_data);
int vact_prep_lookup(struct vactor_sqe *sqe, const char *name,
		     uint64_t user_data);
void vact_prep_host(struct vactor_sqe *sqe, uint64_t actor, uint64_t user_data);
/*
 * A send: payloads up to VACTOR_INLINE_MAX go inline, larger ones are copied
 * into the send area (-ENOSPC if it is full: submit, then retry).
 */
int vact_prep_send(struct vact_port *port, struct vactor_sqe *sqe,
		   uint64_t from, uint64_t to, const void *data, uint32_t len,
		   uint64_t tag);

/* --- batches of messages (VACTOR_OP_SEND_BATCH) ------------------------ */

/*
 * A batch is written straight into the send area: one SQE then sends all
 * of its messages (to any targets, in order), and the kernel reads no SQE
 * per message.  Between vact_batch_start() and vact_prep_send_batch()
 * nothing else may use the port's send area (no vact_prep_send() of a
 * payload over VACTOR_INLINE_MAX, no other batch).
 */
struct vact_batch {
	struct vact_port *port;
	uint32_t off;			/* where it starts in the send area */
	uint32_t used;			/* bytes written */
	uint32_t cap;			/* bytes it may take */
	uint32_t count;			/* messages added */
};

/*
 * Starts a batch of at most max_bytes (0: all the free send area);
 * -ENOSPC when less than one empty message's room is free (submit first).
 */
int vact_batch_start(struct vact_port *port, struct vact_batch *b,
		     uint32_t max_bytes);
/*
 * Adds a message of len bytes for actor `to`, and returns where to write
 * its payload; NULL when it does not fit (send this batch, start another)
 * or len is over VACTOR_MSG_MAX.
 */
void *vact_batch_add(struct vact_batch *b, uint64_t to, uint32_t len,
		     uint64_t tag);
/*
 * Prepares sqe to send the batch from actor `from`: it completes only on
 * error unless flags has VACTOR_SQE_F_ACK, and the completion's len is the
 * number of messages sent (those after a failed one were not).  -EINVAL
 * for an empty batch.
 */
int vact_prep_send_batch(struct vactor_sqe *sqe, struct vact_batch *b,
			 uint64_t from, uint8_t flags, uint64_t user_data);

/* --- synchronous operations (VACTOR_IOC_CALL) --------------------------- */

/* Executes one SQE now; the result is the completion's res, cqe optional. */
int vact_call(struct vact_port *port, const struct vactor_sqe *sqe,
	      struct vactor_cqe *cqe);
int vact_create(struct vact_port *port, const char *name, uint32_t type,
		uint64_t *id);
int vact_destroy(struct vact_port *port, uint64_t id);
int vact_lookup(struct vact_port *port, const char *name, uint64_t *id);
int vact_host(struct vact_port *port, uint64_t id);
/*
 * Queues a send and submits it, submitting first if the SQ is full.  0: the
 * message is queued (if the kernel answered EBUSY it goes with the next
 * submit); -EBUSY: the SQ is full and the kernel takes nothing until CQEs are
 * reaped, the message was not queued.
 */
int vact_send(struct vact_port *port, uint64_t from, uint64_t to,
	      const void *data, uint32_t len, uint64_t tag);

const char *vact_strerror(int err);

/* ======================================================================
 * liburing integration (Documentation/uring.rst): a port driven from the
 * application's own io_uring.  Include <liburing.h> for the structs below.
 * These only prepare io_uring SQEs (user_data is left to the caller, as
 * with liburing's io_uring_prep_*); the port's own CQEs are read with
 * vact_peek_cqe() and vact_cq_advance() as usual.
 * ====================================================================== */

struct io_uring_sqe;
struct io_uring_cqe;

/*
 * IORING_OP_URING_CMD VACTOR_URING_CMD_ENTER: publishes the SQEs prepared
 * with vact_get_sqe() and submits them.  The io_uring CQE's res is the
 * number the kernel consumed or a negative errno (-EBUSY: the port's CQ has
 * no room for their completions, reap it and enter again).  Entering also
 * moves messages waiting in the kernel into the port's CQ.  Never waits.
 */
int vact_prep_uring_enter(struct io_uring_sqe *sqe, struct vact_port *port);
/*
 * IORING_OP_URING_CMD VACTOR_URING_CMD_CALL: runs call->sqe synchronously.
 * res 0: it ran, its completion is in call->cqe; *call must stay valid
 * until the io_uring CQE arrives.
 */
int vact_prep_uring_call(struct io_uring_sqe *sqe, struct vact_port *port,
			 struct vactor_call *call);
/*
 * The wait for the port's CQEs: IORING_OP_POLL_ADD for POLLIN on the port,
 * completing once its CQ holds an entry; multishot stays armed and
 * completes again on each later wakeup.
 */
int vact_prep_uring_poll(struct io_uring_sqe *sqe, struct vact_port *port,
			 bool multishot);
/*
 * That poll's io_uring CQE: 1 still armed, 0 ended (prepare another), or a
 * negative errno: io_uring's (-ECANCELED once cancelled) or -EINVAL when
 * the port reported EPOLLERR (its CQ head was corrupted).
 */
int vact_uring_poll_result(const struct io_uring_cqe *cqe);
/*
 * After reaping: true when the port needs an ENTER, for SQEs prepared and
 * not yet submitted or for messages waiting in the kernel for CQ room.
 */
bool vact_uring_need_enter(const struct vact_port *port);
/* ===================== end of liburing integration ==================== */

/* ======================================================================
 * The runtime (issue 3): actor types, worker threads, dispatch,
 * request/reply and timers on top of the ports above.
 * Documentation/libvact.rst is the reference; every function returns 0 (or
 * a non-negative count or length) or a negative errno, never aborts and
 * never prints.
 * ====================================================================== */

struct vact_runtime;	/* opaque: worker threads, one port each */
struct vact_ctx;	/* opaque: the actor a callback runs for */

/*
 * Wire convention: the SQE/CQE tag is (kind << 56) | value.  Plain
 * messages carry a user tag of at most VACT_TAG_MAX; requests and replies
 * carry a correlation id.  Processes that use the raw ports interoperate
 * with runtime actors by sending plain messages (tags <= VACT_TAG_MAX).
 */
#define VACT_TAG_KIND_SHIFT	56
#define VACT_TAG_MAX		((1ULL << VACT_TAG_KIND_SHIFT) - 1)
enum vact_tag_kind {
	VACT_KIND_PLAIN		= 0x00,	/* value: the sender's tag */
	VACT_KIND_REQUEST	= 0x01,	/* value: correlation id */
	VACT_KIND_REPLY		= 0x02,	/* value: the request's correlation id */
	VACT_KIND_STOP		= 0x03,	/* please stop (vactorctl stop) */
	VACT_KIND_WAKE		= 0x04,	/* runtime internal: wakes a worker */
};
#define VACT_TAG(kind, value)	(((uint64_t)(kind) << VACT_TAG_KIND_SHIFT) | \
				 ((value) & VACT_TAG_MAX))
#define VACT_TAG_KIND(tag)	((unsigned int)((tag) >> VACT_TAG_KIND_SHIFT))
#define VACT_TAG_VALUE(tag)	((tag) & VACT_TAG_MAX)

/* A received message; valid only during the callback that gets it. */
struct vact_msg {
	uint64_t from;		/* sending actor (the actor itself for ticks) */
	uint64_t to;		/* receiving actor */
	uint64_t tag;		/* plain: the sender's tag; tick: the timer's */
	uint64_t corr;		/* VACT_MSG_REQUEST / replies: correlation id */
	const void *data;	/* payload (tick: the uint64_t tick number) */
	uint32_t len;
	uint32_t flags;		/* VACT_MSG_* */
};
#define VACT_MSG_REQUEST	(1U << 0)	/* answer with vact_ctx_reply() */
#define VACT_MSG_TICK		(1U << 1)	/* a periodic timer fired */
#define VACT_MSG_REDELIVERED	(1U << 2)	/* handed to an earlier host too */

/* Largest checkpoint deactivate() may write. */
#define VACT_CHECKPOINT_MAX	VACTOR_MSG_MAX

/*
 * An actor type: callbacks run on the actor's worker thread, one at a time
 * per actor (turn-based).  Only message is required.
 */
struct vact_actor_type {
	const char *name;	/* for people and tools */
	uint32_t type_id;	/* the kernel's type number (/proc/vactor) */
	/* Before the first message; ckpt: the spawn/adopt bytes (may be
	 * NULL).  A negative errno destroys the actor. */
	int (*activate)(struct vact_ctx *ctx, const void *ckpt, size_t len);
	/* Every message; a negative errno fails the actor (stop, destroy). */
	int (*message)(struct vact_ctx *ctx, const struct vact_msg *msg);
	/* A durable actor leaves with its runtime: write a checkpoint of at
	 * most cap bytes into buf, return its length (or a negative errno). */
	int (*deactivate)(struct vact_ctx *ctx, void *buf, size_t cap);
	/* Migration (not called yet: the kernel cannot migrate): state to
	 * bytes on the source, bytes to state on the target. */
	int (*snapshot)(struct vact_ctx *ctx, void *buf, size_t cap);
	int (*restore)(struct vact_ctx *ctx, const void *buf, size_t len);
	/* The actor is destroyed (vact_ctx_stop, a stop request, a failure,
	 * the runtime stopping): release what vact_ctx_data() holds. */
	void (*stop)(struct vact_ctx *ctx);
	/* A message this actor sent was refused or dropped (err < 0). */
	void (*undelivered)(struct vact_ctx *ctx, uint64_t to, int err);
};

#define VACT_RUNTIME_MANUAL	(1U << 0)	/* no threads: vact_runtime_poll */
#define VACT_RUNTIME_NOSPIN	(1U << 1)	/* sleep at once, never spin */
#define VACT_RUNTIME_MAX_WORKERS 256

struct vact_runtime_opts {
	unsigned int workers;	/* threads (ports); 0: 1 */
	unsigned int flags;	/* VACT_RUNTIME_* */
	unsigned int spin_ns;	/* busy-poll before sleeping; 0: 20 us */
	unsigned int sq_entries; /* per port; 0: 256 (CQ: 4x) */
	/* A durable actor was deactivated: keep its checkpoint (the kernel
	 * does not store checkpoints yet).  Called on the stopping thread. */
	void (*on_checkpoint)(uint64_t id, const void *ckpt, size_t len,
			      void *arg);
	void *arg;
};

#define VACT_SPAWN_PUBLIC	(1U << 0)	/* any uid may send to it */
#define VACT_SPAWN_DURABLE	(1U << 1)	/* survives its runtime, dormant */
#define VACT_SPAWN_WORKER	(1U << 2)	/* on worker .worker, not placed */

struct vact_spawn_opts {
	const char *name;	/* NULL: anonymous */
	unsigned int flags;	/* VACT_SPAWN_* */
	unsigned int worker;	/* with VACT_SPAWN_WORKER */
	void *data;		/* vact_ctx_data() starts as this */
	const void *ckpt;	/* bytes for activate() */
	size_t ckpt_len;
};

struct vact_runtime_stats {
	uint64_t actors;	/* hosted now */
	uint64_t received;	/* messages dispatched to callbacks */
	uint64_t sent;		/* messages handed to the kernel */
	uint64_t replies;	/* replies matched to a request */
	uint64_t timeouts;	/* requests that timed out */
	uint64_t ticks;		/* timer firings (ticks and send-afters) */
	uint64_t undelivered;	/* sends refused or dropped after the fact */
	uint64_t dropped;	/* messages for no local actor, late replies */
	uint64_t failed;	/* actors failed by a callback's error */
};

/* Reply to vact_ctx_request: status 0 with the reply, or a negative errno
 * (-ETIME, -ENOENT, ...) with reply NULL.  Runs as the requesting actor. */
typedef void (*vact_reply_fn)(struct vact_ctx *ctx, int status,
			      const struct vact_msg *reply, void *arg);

/* --- the runtime (any thread unless said otherwise) --------------------- */
int vact_runtime_start(struct vact_runtime **rt,
		       const struct vact_runtime_opts *opts);
/* Stops every worker: durable actors are deactivated and left dormant,
 * the others stopped and destroyed; frees rt.  Not from a callback. */
int vact_runtime_stop(struct vact_runtime *rt);
int vact_runtime_workers(const struct vact_runtime *rt);
/* The port fd of a worker, for poll/epoll (EPOLLIN: events ready). */
int vact_runtime_fd(const struct vact_runtime *rt, unsigned int worker);
/* VACT_RUNTIME_MANUAL: dispatch what worker has ready, waiting up to
 * timeout_ns (< 0: forever) for something; returns events handled. */
int vact_runtime_poll(struct vact_runtime *rt, unsigned int worker,
		      int64_t timeout_ns);
int vact_runtime_spawn(struct vact_runtime *rt,
		       const struct vact_actor_type *type,
		       const struct vact_spawn_opts *opts, uint64_t *id);
/* Hosts the dormant actor id here, activated with opts->ckpt. */
int vact_runtime_adopt(struct vact_runtime *rt,
		       const struct vact_actor_type *type, uint64_t id,
		       const struct vact_spawn_opts *opts);
int vact_runtime_find(struct vact_runtime *rt, const char *name,
		      uint64_t *id);
/* A plain message from the runtime's own actor; refused sends fail here. */
int vact_runtime_send(struct vact_runtime *rt, uint64_t to, const void *data,
		      uint32_t len, uint64_t tag);
int vact_runtime_send_name(struct vact_runtime *rt, const char *name,
			   const void *data, uint32_t len, uint64_t tag);
/* Blocking request from a thread that is not a worker (-EDEADLK there):
 * copies at most cap bytes of the reply, returns the reply's length. */
int vact_runtime_request(struct vact_runtime *rt, uint64_t to,
			 const void *data, uint32_t len, void *reply,
			 size_t cap, int64_t timeout_ns);
/* Asks actor id (anywhere) to stop: a VACT_KIND_STOP message. */
int vact_runtime_kill(struct vact_runtime *rt, uint64_t id);
int vact_runtime_stats(struct vact_runtime *rt, struct vact_runtime_stats *st);

/* --- inside a callback --------------------------------------------------- */
uint64_t vact_ctx_self(const struct vact_ctx *ctx);
void *vact_ctx_data(const struct vact_ctx *ctx);
void vact_ctx_set_data(struct vact_ctx *ctx, void *data);
struct vact_runtime *vact_ctx_runtime(const struct vact_ctx *ctx);
unsigned int vact_ctx_worker(const struct vact_ctx *ctx);
/* Queued on the worker's ring; later failures reach undelivered(). */
int vact_ctx_send(struct vact_ctx *ctx, uint64_t to, const void *data,
		  uint32_t len, uint64_t tag);
int vact_ctx_send_name(struct vact_ctx *ctx, const char *name,
		       const void *data, uint32_t len, uint64_t tag);
/* timeout_ns < 0: none.  cb runs exactly once (reply, error or timeout). */
int vact_ctx_request(struct vact_ctx *ctx, uint64_t to, const void *data,
		     uint32_t len, int64_t timeout_ns, vact_reply_fn cb,
		     void *arg);
/* Answers req (a VACT_MSG_REQUEST; a saved copy of it works later). */
int vact_ctx_reply(struct vact_ctx *ctx, const struct vact_msg *req,
		   const void *data, uint32_t len);
/* Sends a plain message from this actor after delay_ns. */
int vact_ctx_send_after(struct vact_ctx *ctx, uint64_t to, uint64_t delay_ns,
			const void *data, uint32_t len, uint64_t tag,
			uint64_t *timer);
/* A VACT_MSG_TICK message to this actor every interval_ns. */
int vact_ctx_timer_start(struct vact_ctx *ctx, uint64_t interval_ns,
			 uint64_t tag, uint64_t *timer);
int vact_ctx_timer_cancel(struct vact_ctx *ctx, uint64_t timer);
/* This actor stops (stop(), destroy) once the current callback returns. */
int vact_ctx_stop(struct vact_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* VACT_H */
