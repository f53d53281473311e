// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact: the submission and completion rings.
 *
 * Backlog: when the kernel could not write a message into our CQ (no room in
 * the CQ or the receive area) it holds it in the actor's mailbox and sets
 * VACTOR_CQ_F_BACKLOG; only entering the kernel moves it in.  We enter for
 * that in vact_peek_cqe, and only once the CQ is empty: while CQEs are ready
 * the caller has work and the flag costs nothing, and one ENTER then refills
 * the whole CQ instead of one ENTER per vact_cq_advance.  vact_submit also
 * enters when the flag is set, as a submission is a syscall anyway.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "vact_private.h"

int vact_enter(struct vact_port *port, unsigned int to_submit,
	       unsigned int min_complete, unsigned int flags,
	       uint64_t timeout_ns)
{
	struct vactor_enter e = {
		.to_submit = to_submit,
		.min_complete = min_complete,
		.flags = flags,
		.timeout_ns = timeout_ns,
	};
	int ret;

	ret = ioctl(port->fd, VACTOR_IOC_ENTER, &e);
	return ret < 0 ? -errno : ret;
}

struct vactor_sqe *vact_get_sqe(struct vact_port *port)
{
	struct vact_sq *sq = &port->sq;
	struct vactor_sqe *sqe;

	if (sq->sqe_tail - vact_load_acquire(sq->head) >= sq->entries)
		return NULL;
	sqe = &sq->sqes[sq->sqe_tail & sq->mask];
	sq->sqe_tail++;
	memset(sqe, 0, sizeof(*sqe));
	return sqe;
}

/*
 * Makes every prepared SQE visible to the kernel and returns how many it has
 * not consumed yet.  The release store orders the SQE contents (and any
 * send-area payload) before the new tail.
 */
static unsigned int flush_sq(struct vact_port *port)
{
	struct vact_sq *sq = &port->sq;

	if (vact_load_relaxed(sq->tail) != sq->sqe_tail)
		vact_store_release(sq->tail, sq->sqe_tail);
	return vact_sq_pending(port);
}

static int submit(struct vact_port *port, unsigned int wait_nr,
		  int64_t timeout_ns)
{
	unsigned int to_submit = flush_sq(port);
	unsigned int flags = 0;

	if (wait_nr) {
		flags |= VACTOR_ENTER_GETEVENTS;
		if (timeout_ns >= 0)
			flags |= VACTOR_ENTER_TIMEOUT;
	} else if (!to_submit && !vact_cq_backlog(port)) {
		return 0;
	}
	return vact_enter(port, to_submit, wait_nr, flags,
			  timeout_ns >= 0 ? (uint64_t)timeout_ns : 0);
}

int vact_submit(struct vact_port *port)
{
	return submit(port, 0, -1);
}

int vact_submit_and_wait(struct vact_port *port, unsigned int wait_nr,
			 int64_t timeout_ns)
{
	return submit(port, wait_nr, timeout_ns);
}

unsigned int vact_cq_ready(const struct vact_port *port)
{
	return vact_load_acquire(port->cq.tail) -
	       vact_load_relaxed(port->cq.head);
}

int vact_peek_cqe(struct vact_port *port, struct vactor_cqe **cqe)
{
	struct vact_cq *cq = &port->cq;
	unsigned int head = vact_load_relaxed(cq->head);

	if (vact_load_acquire(cq->tail) == head) {
		int ret;

		if (!vact_cq_backlog(port))
			return -EAGAIN;
		ret = vact_enter(port, 0, 0, 0, 0);
		if (ret < 0)
			return ret;
		if (vact_load_acquire(cq->tail) == head)
			return -EAGAIN;
	}
	*cqe = &cq->cqes[head & cq->mask];
	return 0;
}

void vact_cq_advance(struct vact_port *port, unsigned int n)
{
	struct vact_cq *cq = &port->cq;

	if (n)
		vact_store_release(cq->head, vact_load_relaxed(cq->head) + n);
}

const void *vact_cqe_data(const struct vact_port *port,
			  const struct vactor_cqe *cqe)
{
	if (!(cqe->flags & VACTOR_CQE_F_BUF))
		return cqe->data;
	/* The CQ is writable by us: don't follow a corrupted offset. */
	if (cqe->buf_off > port->recv_size ||
	    cqe->len > port->recv_size - cqe->buf_off)
		return NULL;
	return port->recv + cqe->buf_off;
}

/* Spins a bounded while for the CQ tail to move: sleeping costs far more. */
static bool spin_for_cqe(const struct vact_port *port)
{
	const struct vact_cq *cq = &port->cq;
	unsigned int head = vact_load_relaxed(cq->head);
	unsigned int i;

	for (i = 0; i < VACT_SPIN_CHECKS; i++) {
		if (vact_load_acquire(cq->tail) != head)
			return true;
		vact_cpu_relax();
	}
	return false;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps in the kernel for one CQE, at most until deadline (< 0: none). */
static int sleep_for_cqe(struct vact_port *port, int64_t deadline)
{
	unsigned int flags = VACTOR_ENTER_GETEVENTS;
	int64_t left = 0;
	int ret;

	if (deadline >= 0) {
		left = deadline - now_ns();
		if (left <= 0)
			return -ETIME;
		flags |= VACTOR_ENTER_TIMEOUT;
	}
	ret = vact_enter(port, 0, 1, flags, (uint64_t)left);
	return ret < 0 ? ret : 0;
}

int vact_wait_cqe(struct vact_port *port, struct vactor_cqe **cqe,
		  int64_t timeout_ns)
{
	int64_t deadline = timeout_ns >= 0 ? now_ns() + timeout_ns : -1;
	int ret;

	/* -EBUSY: the CQ is full of our completions; the peek finds them. */
	if (vact_sq_pending(port)) {
		ret = vact_submit(port);
		if (ret < 0 && ret != -EBUSY)
			return ret;
	}
	for (;;) {
		ret = vact_peek_cqe(port, cqe);
		if (ret != -EAGAIN)
			return ret;
		if (timeout_ns == 0)
			return -ETIME;
		if (spin_for_cqe(port))
			continue;
		ret = sleep_for_cqe(port, deadline);
		if (ret < 0)
			return ret;
	}
}
