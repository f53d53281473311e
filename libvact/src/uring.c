// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact: liburing integration (Documentation/uring.rst).
 *
 * An application that runs its own io_uring puts a port in it with three
 * kinds of request: IORING_OP_URING_CMD with VACTOR_URING_CMD_ENTER (submit
 * the port's SQ) or VACTOR_URING_CMD_CALL (one synchronous operation), and
 * IORING_OP_POLL_ADD for POLLIN on the port, which completes when the
 * port's CQ holds entries.  The port's CQEs are then read from the mapped
 * CQ as usual (vact_peek_cqe, vact_cq_advance).
 *
 * The module never leaves a command pending: io_uring cannot cancel a
 * driver's pending command before Linux 6.7, so a command that waited would
 * hang ring and task exit.  A poll is io_uring's own, and always cancelable.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <liburing.h>

#include "vact_private.h"

/* The command area of a 64-byte SQE: 16 bytes from sqe->cmd. */
_Static_assert(sizeof(struct vactor_uring_enter) == 16, "uring_cmd area");
_Static_assert(sizeof(struct vactor_uring_call) == 16, "uring_cmd area");

/*
 * Every field of a 64-byte SQE set, as liburing's own prep helpers do: SQEs
 * are reused and io_uring_get_sqe() does not clear them.  The second half
 * of a 128-byte SQE (IORING_SETUP_SQE128) is not looked at by the module.
 */
static void prep_cmd(struct io_uring_sqe *sqe, int fd, uint32_t cmd_op,
		     const void *args, size_t len)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = cmd_op;
	memcpy(sqe->cmd, args, len);
}

int vact_prep_uring_enter(struct io_uring_sqe *sqe, struct vact_port *port)
{
	struct vactor_uring_enter e;
	struct vact_sq *sq;

	if (!sqe || !port || port->fd < 0)
		return -EINVAL;
	sq = &port->sq;
	/* Publish now: the kernel reads the SQ tail when io_uring issues this. */
	if (vact_load_relaxed(sq->tail) != sq->sqe_tail)
		vact_store_release(sq->tail, sq->sqe_tail);
	memset(&e, 0, sizeof(e));
	e.to_submit = vact_sq_pending(port);
	prep_cmd(sqe, port->fd, VACTOR_URING_CMD_ENTER, &e, sizeof(e));
	return 0;
}

int vact_prep_uring_call(struct io_uring_sqe *sqe, struct vact_port *port,
			 struct vactor_call *call)
{
	struct vactor_uring_call c;

	if (!sqe || !port || port->fd < 0 || !call)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.call = (uint64_t)(uintptr_t)call;
	prep_cmd(sqe, port->fd, VACTOR_URING_CMD_CALL, &c, sizeof(c));
	return 0;
}

int vact_prep_uring_poll(struct io_uring_sqe *sqe, struct vact_port *port,
			 bool multishot)
{
	if (!sqe || !port || port->fd < 0)
		return -EINVAL;
	if (multishot)
		io_uring_prep_poll_multishot(sqe, port->fd, POLLIN);
	else
		io_uring_prep_poll_add(sqe, port->fd, POLLIN);
	return 0;
}

int vact_uring_poll_result(const struct io_uring_cqe *cqe)
{
	if (!cqe)
		return -EINVAL;
	if (cqe->res < 0)
		return cqe->res;
	/* The port is not set up, or its CQ head was corrupted. */
	if (cqe->res & POLLERR)
		return -EINVAL;
	return (cqe->flags & IORING_CQE_F_MORE) ? 1 : 0;
}

bool vact_uring_need_enter(const struct vact_port *port)
{
	if (!port || port->fd < 0)
		return false;
	return vact_sq_pending(port) || vact_cq_backlog(port);
}
