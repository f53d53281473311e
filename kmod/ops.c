// SPDX-License-Identifier: GPL-2.0
/*
 * SQE operations: one table, one entry per opcode, and a common path that
 * copies each SQE once, checks what every operation shares (opcode, flags,
 * reserved fields, the acting actor) and then issues it.  The same path
 * serves the SQ (vactor_submit) and the synchronous VACTOR_IOC_CALL.
 */
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "vactor.h"

/*
 * What one submission shares between its SQEs.  The acting actor of the
 * last SEND is remembered: only this port's own operations, under
 * port->lock, can take an actor off it, and any operation but SEND forgets
 * it.  The time is taken once, at the first SEND.
 */
struct vactor_submit_state {
	struct vactor_send_run run;
	struct vactor_actor *actor;	/* hosted here, or NULL */
	u64 ts_ns;			/* 0: not taken yet */
};

struct vactor_req {
	struct vactor_port *port;
	const struct vactor_sqe *sqe;	/* the kernel's own copy */
	struct vactor_actor *actor;	/* the acting actor, hosted by port */
	struct vactor_submit_state *st;	/* NULL for CALL */
	const u8 *data;			/* the inline payload */
	u64 res_actor;			/* the completion's actor */
	u32 res_len;			/* the completion's len */
};

struct vactor_opdef {
	const char *name;
	u8 flags;		/* SQE flags the operation accepts */
	bool acting_actor;	/* sqe->actor must be hosted by this port */
	bool quiet;		/* completes only on error, unless F_ACK */
	bool sends;		/* only sends: the submission's run stays open */
	bool reads_data;	/* looks at data[]: copied before it is checked */
	int (*issue)(struct vactor_req *req);
};

/*
 * Copies the name of a CREATE or LOOKUP into a zero-padded key.  Control
 * characters are refused: names are printed one per line in /proc.
 */
static int req_name(const struct vactor_sqe *sqe, char name[VACTOR_NAME_MAX])
{
	u32 i;

	memset(name, 0, VACTOR_NAME_MAX);
	if (sqe->len >= VACTOR_NAME_MAX)
		return -ENAMETOOLONG;
	for (i = 0; i < sqe->len; i++)
		if (sqe->data[i] < 0x20 || sqe->data[i] == 0x7f)
			return -EINVAL;
	memcpy(name, sqe->data, sqe->len);
	return 0;
}

static int op_nop(struct vactor_req *req)
{
	return 0;
}

static int op_create(struct vactor_req *req)
{
	char name[VACTOR_NAME_MAX];
	struct vactor_actor *a;
	int ret;

	ret = req_name(req->sqe, name);
	if (ret)
		return ret;
	a = vactor_actor_create(req->port->table, req->port->user, name,
				req->sqe->type,
				req->sqe->flags & VACTOR_SQE_F_PUBLIC ?
				VACTOR_ACTOR_PUBLIC : 0);
	if (IS_ERR(a))
		return PTR_ERR(a);
	/* Hosted before it is visible (can't fail: nobody else knows it). */
	vactor_actor_claim(a, req->port);
	ret = vactor_actor_publish(a);
	if (ret) {
		/* Whatever reached it meanwhile is reported to its senders. */
		vactor_actor_destroy(a);
		return ret;
	}
	req->res_actor = a->id;
	return 0;
}

static int op_destroy(struct vactor_req *req)
{
	if (!vactor_may_manage(req->port, req->actor))
		return -EPERM;
	req->res_actor = req->actor->id;
	vactor_actor_destroy(req->actor);
	return 0;
}

static int op_lookup(struct vactor_req *req)
{
	char name[VACTOR_NAME_MAX];
	struct vactor_actor *a;
	int ret;

	ret = req_name(req->sqe, name);
	if (ret)
		return ret;
	if (!name[0])
		return -EINVAL;
	a = vactor_actor_get_by_name(req->port->table, name);
	if (!a)
		return -ENOENT;
	req->res_actor = a->id;
	vactor_actor_put(a);
	return 0;
}

/* Where a SEND's payload is: inline in the SQE, or in the send area. */
static int send_payload(struct vactor_req *req, const void **payload)
{
	const struct vactor_sqe *sqe = req->sqe;

	if (sqe->len > VACTOR_MSG_MAX)
		return -EMSGSIZE;
	if (!(sqe->flags & VACTOR_SQE_F_BUF)) {
		if (sqe->len > VACTOR_INLINE_MAX)
			return -EMSGSIZE;
		*payload = req->data;
		return 0;
	}
	if ((u64)sqe->buf_off + sqe->len > req->port->send_mem.size)
		return -EFAULT;
	*payload = req->port->send_mem.addr + sqe->buf_off;
	return 0;
}

/*
 * The time a message was accepted: one clock read per submission, since
 * under emulation a read can cost as much as the rest of a send (uapi.rst,
 * ts_ns); a CALL reads it when it runs.
 */
static u64 req_time(struct vactor_req *req)
{
	if (!req->st)
		return ktime_get_ns();
	if (!req->st->ts_ns)
		req->st->ts_ns = ktime_get_ns();
	return req->st->ts_ns;
}

/* One message: in the submission's send run, or alone for a CALL. */
static int req_send(struct vactor_req *req, u64 target,
		    const struct vactor_msg_hdr *h, const void *payload)
{
	if (!req->st)
		return vactor_send(req->port, target, h, payload);
	return vactor_send_run(&req->st->run, target, h, payload);
}

static int op_send(struct vactor_req *req)
{
	const struct vactor_sqe *sqe = req->sqe;
	struct vactor_msg_hdr h = {
		.source = req->actor->id, .tag = sqe->tag,
		.user_data = sqe->user_data, .len = sqe->len,
		.event = VACTOR_EV_MSG,
	};
	const void *payload;
	int ret;

	req->res_actor = req->actor->id;
	ret = send_payload(req, &payload);
	if (ret)
		return ret;
	h.ts_ns = req_time(req);
	ret = req_send(req, sqe->target, &h, payload);
	if (!ret)
		WRITE_ONCE(req->actor->msgs_out, req->actor->msgs_out + 1);
	return ret;
}

/*
 * Checks the batch's place in the send area and returns its start; the
 * messages in it are checked one by one as they are sent.
 */
static int batch_span(struct vactor_req *req, const u8 **start)
{
	const struct vactor_sqe *sqe = req->sqe;

	/* Its fields are per message: the SQE's own must stay unused. */
	if (sqe->target || sqe->tag)
		return -EINVAL;
	if (!sqe->len || !IS_ALIGNED(sqe->buf_off, VACTOR_BATCH_ALIGN))
		return -EINVAL;
	if ((u64)sqe->buf_off + sqe->len > req->port->send_mem.size)
		return -EFAULT;
	*start = req->port->send_mem.addr + sqe->buf_off;
	return 0;
}

/*
 * Reads the header of the batch message at @p, @left bytes before the end
 * of the batch, once: userspace can write the send area meanwhile, so only
 * the copy is looked at.
 */
static int batch_msg(const u8 *p, u32 left, struct vactor_batch_msg *m)
{
	if (left < sizeof(*m))
		return -EINVAL;
	memcpy(m, p, sizeof(*m));
	if (m->resv)
		return -EINVAL;
	if (m->len > VACTOR_MSG_MAX)
		return -EMSGSIZE;
	if (m->len > left - sizeof(*m))
		return -EINVAL;
	return 0;
}

/*
 * SEND_BATCH: the messages of the batch in order, each as a SEND would send
 * it, stopping at the first that fails; the completion's len says how many
 * were sent, so the sender knows where to resume.
 */
static int op_send_batch(struct vactor_req *req)
{
	struct vactor_msg_hdr h = {
		.source = req->actor->id, .user_data = req->sqe->user_data,
		.event = VACTOR_EV_MSG,
	};
	struct vactor_batch_msg m;
	u32 off = 0, step, len = req->sqe->len;
	const u8 *start;
	int ret;

	req->res_actor = req->actor->id;
	ret = batch_span(req, &start);
	if (ret)
		return ret;
	h.ts_ns = req_time(req);
	while (off < len) {
		ret = batch_msg(start + off, len - off, &m);
		if (ret)
			break;
		h.tag = m.tag;
		h.len = m.len;
		ret = req_send(req, m.target, &h, start + off + sizeof(m));
		if (ret)
			break;
		req->res_len++;
		/* The last message's padding may lie past the batch. */
		step = sizeof(m) + ALIGN(m.len, VACTOR_BATCH_ALIGN);
		off = step < len - off ? off + step : len;
		/* A batch can be as long as the send area: let others run. */
		if (!(req->res_len % VACTOR_RUN_MSGS) && need_resched()) {
			if (req->st)
				vactor_send_run_end(&req->st->run);
			cond_resched();
		}
	}
	if (req->res_len)
		WRITE_ONCE(req->actor->msgs_out,
			   req->actor->msgs_out + req->res_len);
	return ret;
}

static int op_host(struct vactor_req *req)
{
	struct vactor_actor *a;
	int ret;

	a = vactor_actor_get(req->port->table, req->sqe->target);
	if (!a)
		return -ENOENT;
	ret = vactor_may_manage(req->port, a) ? vactor_actor_claim(a, req->port)
					      : -EPERM;
	if (!ret)
		req->res_actor = a->id;
	vactor_actor_put(a);
	return ret;
}

static const struct vactor_opdef vactor_ops[VACTOR_OP_LAST] = {
	[VACTOR_OP_NOP] = {
		.name = "nop",
		.issue = op_nop,
	},
	[VACTOR_OP_CREATE] = {
		.name = "create",
		.flags = VACTOR_SQE_F_PUBLIC,
		.reads_data = true,
		.issue = op_create,
	},
	[VACTOR_OP_DESTROY] = {
		.name = "destroy",
		.acting_actor = true,
		.issue = op_destroy,
	},
	[VACTOR_OP_LOOKUP] = {
		.name = "lookup",
		.reads_data = true,
		.issue = op_lookup,
	},
	[VACTOR_OP_SEND] = {
		.name = "send",
		.flags = VACTOR_SQE_F_BUF | VACTOR_SQE_F_ACK,
		.acting_actor = true,
		.quiet = true,
		.sends = true,
		.issue = op_send,
	},
	[VACTOR_OP_HOST] = {
		.name = "host",
		.issue = op_host,
	},
	[VACTOR_OP_SEND_BATCH] = {
		.name = "send_batch",
		.flags = VACTOR_SQE_F_ACK,
		.acting_actor = true,
		.quiet = true,
		.sends = true,
		.issue = op_send_batch,
	},
};

/* The operation of @opcode, or NULL for an unknown one. */
static const struct vactor_opdef *opdef(u8 opcode)
{
	return opcode < VACTOR_OP_LAST ? &vactor_ops[opcode] : NULL;
}

/* The acting actor, if this port hosts it.  port->lock held. */
static struct vactor_actor *hosted_actor(struct vactor_port *port, u64 id)
{
	struct vactor_actor *a;

	/*
	 * Only this port detaches or destroys its actors, under port->lock,
	 * so a hosted actor stays valid after the RCU section ends.
	 */
	rcu_read_lock();
	a = vactor_actor_find_rcu(port->table, id);
	if (a && READ_ONCE(a->host) != port)
		a = NULL;
	rcu_read_unlock();
	return a;
}

static int req_prep(struct vactor_req *req, const struct vactor_opdef **def)
{
	const struct vactor_sqe *sqe = req->sqe;

	*def = opdef(sqe->opcode);
	if (!*def)
		return -EINVAL;
	if (sqe->flags & ~(*def)->flags)
		return -EINVAL;
	if (sqe->resv0 || sqe->resv1[0] || sqe->resv1[1])
		return -EINVAL;
	if ((*def)->acting_actor) {
		if (req->st && req->st->actor && req->st->actor->id == sqe->actor) {
			req->actor = req->st->actor;
			return 0;
		}
		req->actor = hosted_actor(req->port, sqe->actor);
		if (!req->actor)
			return -EPERM;
	}
	return 0;
}

/*
 * Runs one SQE; returns its result, and in @post whether a completion is
 * due.  port->lock held.
 */
static int vactor_issue(struct vactor_req *req, bool *post)
{
	const struct vactor_sqe *sqe = req->sqe;
	const struct vactor_opdef *def = NULL;
	int res;

	res = req_prep(req, &def);
	/* The hot operation without an indirect call (a retpoline). */
	if (!res)
		res = sqe->opcode == VACTOR_OP_SEND ? op_send(req) : def->issue(req);
	*post = res || !def->quiet || (sqe->flags & VACTOR_SQE_F_ACK);
	return res;
}

int vactor_submit(struct vactor_port *port, u32 to_submit)
{
	struct vactor_submit_state st = { };
	u32 mask = port->sq_entries - 1;
	struct vactor_req req = {
		.port = port, .st = &st,
	};
	const struct vactor_opdef *def;
	const struct vactor_sqe *usqe;
	struct vactor_sqe sqe;
	u32 n, got, i, posted = 0;
	bool post;
	int ret, res;

	mutex_lock(&port->lock);
	ret = vactor_sq_pending(port, &n);
	if (ret || !n || !to_submit)
		goto out;
	got = vactor_cq_reserve(port, min(n, to_submit));
	if (!got) {
		/* No room for completions: reap first (or fix the CQ head). */
		ret = READ_ONCE(port->cq_corrupt) ? -EINVAL : -EBUSY;
		goto out;
	}
	vactor_send_run_init(&st.run, port);
	for (i = 0; i < got; i++) {
		usqe = &port->sqes[(port->sq_khead + i) & mask];
		/* One read of the shared entry; only the copy is looked at. */
		memcpy(&sqe, usqe, offsetof(struct vactor_sqe, data));
		def = opdef(sqe.opcode);
		/*
		 * An inline payload is only carried, never looked at: it is
		 * read once, where it is copied to (CQE or held message),
		 * instead of twice.  Names (CREATE, LOOKUP) are checked, so
		 * they are copied first.
		 */
		if (def && def->reads_data) {
			memcpy(sqe.data, usqe->data, sizeof(sqe.data));
			req.data = sqe.data;
		} else {
			req.data = usqe->data;
		}
		if (!def || !def->sends) {
			/* It may take any lock, or take an actor off this port. */
			vactor_send_run_end(&st.run);
			st.actor = NULL;
		}
		req.sqe = &sqe;
		req.actor = NULL;
		req.res_actor = 0;
		req.res_len = 0;
		res = vactor_issue(&req, &post);
		if (!res && def->sends)
			st.actor = req.actor;
		if (post) {
			/* Our own cq_lock may be the one the run holds. */
			vactor_send_run_end(&st.run);
			vactor_cq_post_completion(port, sqe.opcode, res,
						  req.res_actor, req.res_len,
						  sqe.user_data);
			posted++;
		}
	}
	vactor_send_run_end(&st.run);
	WRITE_ONCE(port->sq_khead, port->sq_khead + got);
	/* The SQEs were copied: userspace may reuse their slots. */
	smp_store_release(port->sq_head, port->sq_khead);
	WRITE_ONCE(port->submitted, port->submitted + got);
	vactor_cq_unreserve(port, got - posted);
	/* Completions for other threads, SQ room for epoll writers. */
	vactor_port_wake(port);
	ret = got;
out:
	mutex_unlock(&port->lock);
	return ret;
}

int vactor_call(struct vactor_port *port, struct vactor_call *call)
{
	struct vactor_req req = {
		.port = port, .sqe = &call->sqe, .data = call->sqe.data,
	};
	struct vactor_cqe *cqe = &call->cqe;
	bool post;
	int res;

	mutex_lock(&port->lock);
	res = vactor_issue(&req, &post);
	mutex_unlock(&port->lock);
	memset(cqe, 0, sizeof(*cqe));
	cqe->event = VACTOR_EV_COMPLETE;
	cqe->opcode = call->sqe.opcode;
	cqe->res = res;
	cqe->actor = req.res_actor;
	cqe->len = req.res_len;
	cqe->user_data = call->sqe.user_data;
	return res;
}
