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
};

/* params may be NULL for defaults; on success it holds the actual sizes. */
int vact_port_open(struct vact_port *port, struct vactor_params *params);
void vact_port_close(struct vact_port *port);

/* --- ring access ------------------------------------------------------- */

/* Next free SQE, zeroed, or NULL when the SQ is full (submit first). */
struct vactor_sqe *vact_get_sqe(struct vact_port *port);

/* Publishes prepared SQEs and enters the kernel; returns SQEs consumed. */
int vact_submit(struct vact_port *port);
/* As vact_submit, then waits until wait_nr CQEs are ready.
 * timeout_ns < 0: no timeout.  -ETIME when it expires. */
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

#ifdef __cplusplus
}
#endif

#endif /* VACT_H */
