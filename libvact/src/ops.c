// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact: preparing SQEs, synchronous calls and sends.
 *
 * Send area: a bump allocator.  Payloads are copied in at send_used and the
 * SQE points at them; the kernel copies a payload when it consumes the SQE,
 * so once its SQ head reaches everything we prepared, the whole area is free
 * again and send_used goes back to 0.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vact_private.h"

/* Resets every field but the payload, so a reused SQE carries nothing old. */
static void prep_header(struct vactor_sqe *sqe, uint8_t opcode,
			uint64_t user_data)
{
	memset(sqe, 0, offsetof(struct vactor_sqe, data));
	sqe->opcode = opcode;
	sqe->user_data = user_data;
}

/* A name goes in data[0..len) without its NUL (the kernel rejects a NUL). */
static int prep_name(struct vactor_sqe *sqe, const char *name)
{
	size_t len = strnlen(name, VACTOR_NAME_MAX);

	if (len >= VACTOR_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(sqe->data, name, len);
	sqe->len = (uint32_t)len;
	return 0;
}

void vact_prep_nop(struct vactor_sqe *sqe, uint64_t user_data)
{
	prep_header(sqe, VACTOR_OP_NOP, user_data);
}

int vact_prep_create(struct vactor_sqe *sqe, const char *name, uint32_t type,
		     uint64_t user_data)
{
	prep_header(sqe, VACTOR_OP_CREATE, user_data);
	sqe->type = type;
	return name ? prep_name(sqe, name) : 0;
}

void vact_prep_destroy(struct vactor_sqe *sqe, uint64_t actor,
		       uint64_t user_data)
{
	prep_header(sqe, VACTOR_OP_DESTROY, user_data);
	sqe->actor = actor;
}

int vact_prep_lookup(struct vactor_sqe *sqe, const char *name,
		     uint64_t user_data)
{
	prep_header(sqe, VACTOR_OP_LOOKUP, user_data);
	if (!name)
		return -EINVAL;
	return prep_name(sqe, name);
}

void vact_prep_host(struct vactor_sqe *sqe, uint64_t actor, uint64_t user_data)
{
	prep_header(sqe, VACTOR_OP_HOST, user_data);
	sqe->target = actor;
}

/*
 * The send area may be reused once the kernel has consumed every SQE before
 * this one; the SQE being prepared is the newest taken and holds nothing yet.
 */
static bool send_area_idle(const struct vact_port *port,
			   const struct vactor_sqe *sqe)
{
	const struct vact_sq *sq = &port->sq;
	unsigned int head = vact_load_acquire(sq->head);

	if (head == sq->sqe_tail)
		return true;
	return head + 1 == sq->sqe_tail &&
	       sqe == &sq->sqes[(sq->sqe_tail - 1) & sq->mask];
}

static int send_area_alloc(struct vact_port *port,
			   const struct vactor_sqe *sqe, uint32_t len,
			   uint32_t *off)
{
	size_t start;

	if (send_area_idle(port, sqe))
		port->send_used = 0;
	start = (port->send_used + VACT_SEND_ALIGN - 1) &
		~(size_t)(VACT_SEND_ALIGN - 1);
	if (start > port->send_size || len > port->send_size - start)
		return -ENOSPC;
	port->send_used = start + len;
	*off = (uint32_t)start;
	return 0;
}

int vact_prep_send(struct vact_port *port, struct vactor_sqe *sqe,
		   uint64_t from, uint64_t to, const void *data, uint32_t len,
		   uint64_t tag)
{
	uint32_t off;
	int ret;

	if (len > VACTOR_MSG_MAX)
		return -EMSGSIZE;
	if (len && !data)
		return -EINVAL;

	prep_header(sqe, VACTOR_OP_SEND, 0);
	sqe->actor = from;
	sqe->target = to;
	sqe->tag = tag;
	sqe->len = len;
	if (len <= VACTOR_INLINE_MAX) {
		memcpy(sqe->data, data, len);
		return 0;
	}
	ret = send_area_alloc(port, sqe, len, &off);
	if (ret)
		return ret;
	memcpy(port->send + off, data, len);
	sqe->flags = VACTOR_SQE_F_BUF;
	sqe->buf_off = off;
	return 0;
}

int vact_batch_start(struct vact_port *port, struct vact_batch *b,
		     uint32_t max_bytes)
{
	uint32_t off;
	size_t free;
	int ret;

	ret = send_area_alloc(port, NULL, 0, &off);
	if (ret)
		return ret;
	free = port->send_size - off;
	if (free < sizeof(struct vactor_batch_msg))
		return -ENOSPC;
	if (free > UINT32_MAX)
		free = UINT32_MAX;
	b->port = port;
	b->off = off;
	b->used = 0;
	b->cap = max_bytes && max_bytes < free ? max_bytes : (uint32_t)free;
	b->count = 0;
	return 0;
}

void *vact_batch_add(struct vact_batch *b, uint64_t to, uint32_t len,
		     uint64_t tag)
{
	struct vactor_batch_msg m = { .target = to, .tag = tag, .len = len };
	/* The previous message's padding, then this one's header. */
	uint32_t at = (b->used + VACTOR_BATCH_ALIGN - 1) &
		      ~(uint32_t)(VACTOR_BATCH_ALIGN - 1);
	unsigned char *p;

	if (len > VACTOR_MSG_MAX || at > b->cap ||
	    b->cap - at < sizeof(m) + (uint64_t)len)
		return NULL;
	p = b->port->send + b->off + at;
	memcpy(p, &m, sizeof(m));
	b->used = at + (uint32_t)sizeof(m) + len;
	b->count++;
	return p + sizeof(m);
}

int vact_prep_send_batch(struct vactor_sqe *sqe, struct vact_batch *b,
			 uint64_t from, uint8_t flags, uint64_t user_data)
{
	if (!b->count || (flags & ~VACTOR_SQE_F_ACK))
		return -EINVAL;
	prep_header(sqe, VACTOR_OP_SEND_BATCH, user_data);
	sqe->flags = flags;
	sqe->actor = from;
	sqe->buf_off = b->off;
	sqe->len = b->used;
	/* The area after it is free again for the next payload or batch. */
	b->port->send_used = b->off + b->used;
	return 0;
}

int vact_call(struct vact_port *port, const struct vactor_sqe *sqe,
	      struct vactor_cqe *cqe)
{
	struct vactor_call call;
	int ret;

	memset(&call, 0, sizeof(call));
	call.sqe = *sqe;
	ret = ioctl(port->fd, VACTOR_IOC_CALL, &call);
	if (ret < 0)
		ret = -errno;
	if (cqe)
		*cqe = call.cqe;
	return ret;
}

int vact_create(struct vact_port *port, const char *name, uint32_t type,
		uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	ret = vact_prep_create(&sqe, name, type, 0);
	if (ret)
		return ret;
	ret = vact_call(port, &sqe, &cqe);
	if (!ret && id)
		*id = cqe.actor;
	return ret;
}

int vact_destroy(struct vact_port *port, uint64_t id)
{
	struct vactor_sqe sqe;

	vact_prep_destroy(&sqe, id, 0);
	return vact_call(port, &sqe, NULL);
}

int vact_lookup(struct vact_port *port, const char *name, uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	ret = vact_prep_lookup(&sqe, name, 0);
	if (ret)
		return ret;
	ret = vact_call(port, &sqe, &cqe);
	if (!ret && id)
		*id = cqe.actor;
	return ret;
}

int vact_host(struct vact_port *port, uint64_t id)
{
	struct vactor_sqe sqe;

	vact_prep_host(&sqe, id, 0);
	return vact_call(port, &sqe, NULL);
}

/* An SQE for vact_send, submitting to make room when the SQ is full. */
static struct vactor_sqe *send_get_sqe(struct vact_port *port, int *err)
{
	struct vactor_sqe *sqe = vact_get_sqe(port);
	int ret;

	if (sqe)
		return sqe;
	ret = vact_submit(port);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	sqe = vact_get_sqe(port);
	if (!sqe)
		*err = -EBUSY;
	return sqe;
}

/* Gives back the SQE just taken: nothing was published for it. */
static void put_last_sqe(struct vact_port *port)
{
	port->sq.sqe_tail--;
}

int vact_send(struct vact_port *port, uint64_t from, uint64_t to,
	      const void *data, uint32_t len, uint64_t tag)
{
	struct vactor_sqe *sqe;
	int ret = 0;

	sqe = send_get_sqe(port, &ret);
	if (!sqe)
		return ret;
	ret = vact_prep_send(port, sqe, from, to, data, len, tag);
	if (ret == -ENOSPC) {
		/* Let the kernel take the pending payloads, then retry. */
		put_last_sqe(port);
		ret = vact_submit(port);
		if (ret < 0)
			return ret;
		sqe = send_get_sqe(port, &ret);
		if (!sqe)
			return ret;
		ret = vact_prep_send(port, sqe, from, to, data, len, tag);
	}
	if (ret) {
		put_last_sqe(port);
		return ret;
	}
	ret = vact_submit(port);
	/* -EBUSY: queued all the same; it goes with the next submit. */
	return ret < 0 && ret != -EBUSY ? ret : 0;
}
