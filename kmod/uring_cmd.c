// SPDX-License-Identifier: GPL-2.0
/*
 * IORING_OP_URING_CMD on a port: ENTER (submit, never wait) and CALL, for
 * applications that drive vactor from their own io_uring.
 *
 * Every command completes before ->uring_cmd returns (a positive result
 * through io_uring_cmd_done(), see below).  None is ever left pending: before
 * 6.7 io_uring has no way to cancel a driver's pending command, so ring exit
 * and task exit would wait for it forever, and the request's reference on
 * the port file keeps the port from closing.
 * Applications wait for CQEs with IORING_OP_POLL_ADD on the port instead,
 * which io_uring cancels itself (Documentation/uring.rst).
 *
 * Never return -EAGAIN: io_uring takes it as "retry from a worker" and would
 * issue the command a second time.
 */
#include <linux/build_bug.h>
#include <linux/fs.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#ifdef VACTOR_HAVE_IO_URING_SQE_CMD
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif

#include "vactor.h"

/* What the command area (16 bytes in a 64-byte SQE) holds. */
union vactor_uring_args {
	struct vactor_uring_enter enter;
	struct vactor_uring_call call;
};

/*
 * The command area (sqe->cmd).  On inline issue it is the SQ ring itself,
 * which userspace may rewrite at any time: copy it once, look at the copy.
 */
static const void *uring_cmd_area(struct io_uring_cmd *ioucmd)
{
#ifdef VACTOR_HAVE_IO_URING_SQE_CMD
	return io_uring_sqe_cmd(ioucmd->sqe);
#else
	return ioucmd->cmd;
#endif
}

/*
 * As VACTOR_IOC_CALL, but the result is 0 once the operation ran: its own
 * result, which may be -EAGAIN, is in call->cqe.res.
 */
static int uring_call(struct vactor_port *port,
		      const struct vactor_uring_call *c)
{
	void __user *ucall = u64_to_user_ptr(c->call);
	struct vactor_call call;

	if (c->flags || c->resv)
		return -EINVAL;
	if (copy_from_user(&call.sqe, ucall, sizeof(call.sqe)))
		return -EFAULT;
	vactor_call(port, &call);
	/* The operation has happened: only its result can still be lost. */
	if (copy_to_user(ucall + offsetof(struct vactor_call, cqe), &call.cqe,
			 sizeof(call.cqe)))
		return -EFAULT;
	return 0;
}

int vactor_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	struct vactor_port *port = ioucmd->file->private_data;
	union vactor_uring_args args;
	int ret;

	BUILD_BUG_ON(sizeof(struct vactor_uring_enter) != 16);
	BUILD_BUG_ON(sizeof(struct vactor_uring_call) != 16);

	if (ioucmd->cmd_op != VACTOR_URING_CMD_ENTER &&
	    ioucmd->cmd_op != VACTOR_URING_CMD_CALL)
		return -ENOTTY;
	/* Pairs with the release in vactor_ioctl_setup(), as ready_port(). */
	if (!smp_load_acquire(&port->setup_done))
		return -EBADFD;
	/* A registered buffer: no command takes one. */
	if (ioucmd->flags & IORING_URING_CMD_FIXED)
		return -EINVAL;

	memcpy(&args, uring_cmd_area(ioucmd), sizeof(args));
	if (ioucmd->cmd_op == VACTOR_URING_CMD_ENTER)
		ret = args.enter.flags || args.enter.resv ? -EINVAL :
		      vactor_enter_nowait(port, args.enter.to_submit);
	else
		ret = uring_call(port, &args.call);
	if (ret <= 0)
		return ret;
	/*
	 * 6.1 passes a positive result of ->uring_cmd back as its own return
	 * value: inline issue then completes the request as failed (breaking
	 * IOSQE_IO_LINK chains), and an io-wq worker (IOSQE_ASYNC) never
	 * completes it at all, which hangs ring exit.  Completing it here, the
	 * way a command that went asynchronous does, works on every kernel.
	 */
#ifdef VACTOR_URING_CMD_DONE_3ARGS
	io_uring_cmd_done(ioucmd, ret, 0);
#else
	io_uring_cmd_done(ioucmd, ret, 0, issue_flags);
#endif
	return -EIOCBQUEUED;
}
