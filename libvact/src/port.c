// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libvact: opening and closing a port.
 *
 * A port is one open /dev/vactor, set up with VACTOR_IOC_SETUP, with its
 * four regions mapped: SQ, CQ, send area and (read-only) receive area.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vact_private.h"

static void *map_region(int fd, size_t size, int prot, uint64_t off)
{
	void *p = mmap(NULL, size, prot, MAP_SHARED, fd, (off_t)off);

	return p == MAP_FAILED ? NULL : p;
}

/* Unmaps what we mapped; regions in the caller's memory stay as they are. */
static void unmap_regions(struct vact_port *port)
{
	unsigned int u = port->user_mem;

	if (port->sq.ring && !(u & VACT_USER_MEM_SQ))
		munmap(port->sq.ring, port->sq.ring_size);
	if (port->cq.ring && !(u & VACT_USER_MEM_CQ))
		munmap(port->cq.ring, port->cq.ring_size);
	if (port->send && !(u & VACT_USER_MEM_SEND))
		munmap(port->send, port->send_size);
	if (port->recv && !(u & VACT_USER_MEM_RECV))
		munmap((void *)port->recv, port->recv_size);
}

/* Which regions SETUP took from the caller's memory. */
static unsigned int user_regions(const struct vactor_params *p)
{
	unsigned int u;

	if (!(p->flags & VACTOR_SETUP_F_USER_MEM))
		return 0;
	u = VACT_USER_MEM_SQ | VACT_USER_MEM_CQ;
	if (p->user.send_addr)
		u |= VACT_USER_MEM_SEND;
	if (p->user.recv_addr)
		u |= VACT_USER_MEM_RECV;
	return u;
}

static void *user_ptr(uint64_t addr)
{
	return (void *)(uintptr_t)addr;
}

size_t vact_ring_size(unsigned int entries, bool cq)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 1, bytes;

	if (!entries || entries > (cq ? VACTOR_CQ_MAX : VACTOR_SQ_MAX))
		return 0;
	while (n < entries)
		n <<= 1;
	bytes = VACTOR_RING_HDR_SIZE + n * (cq ? sizeof(struct vactor_cqe) :
					    sizeof(struct vactor_sqe));
	return (bytes + page - 1) / page * page;
}

static void init_sq(struct vact_sq *sq, const struct vactor_params *p)
{
	unsigned char *ring = sq->ring;

	sq->head = (unsigned int *)(ring + p->sq_off.head);
	sq->tail = (unsigned int *)(ring + p->sq_off.tail);
	sq->flags = (unsigned int *)(ring + p->sq_off.flags);
	sq->mask = p->sq_off.ring_mask;
	sq->entries = p->sq_off.ring_entries;
	sq->sqes = (struct vactor_sqe *)(ring + p->sq_off.entries);
	sq->sqe_tail = vact_load_relaxed(sq->tail);
}

static void init_cq(struct vact_cq *cq, const struct vactor_params *p)
{
	unsigned char *ring = cq->ring;

	cq->head = (unsigned int *)(ring + p->cq_off.head);
	cq->tail = (unsigned int *)(ring + p->cq_off.tail);
	cq->flags = (unsigned int *)(ring + p->cq_off.flags);
	cq->mask = p->cq_off.ring_mask;
	cq->entries = p->cq_off.ring_entries;
	cq->cqes = (struct vactor_cqe *)(ring + p->cq_off.entries);
}

/*
 * Maps the four regions that SETUP sized, or points at the caller's memory
 * for those it gave; on failure nothing stays mapped.
 */
static int map_port(struct vact_port *port, const struct vactor_params *p)
{
	unsigned int u = user_regions(p);

	port->user_mem = u;
	port->sq.ring_size = p->sq_size;
	port->cq.ring_size = p->cq_size;
	port->send_size = p->send_size;
	port->recv_size = p->recv_size;

	port->sq.ring = u & VACT_USER_MEM_SQ ? user_ptr(p->user.sq_addr) :
		map_region(port->fd, p->sq_size, PROT_READ | PROT_WRITE,
			   VACTOR_OFF_SQ);
	if (!port->sq.ring)
		goto fail;
	port->cq.ring = u & VACT_USER_MEM_CQ ? user_ptr(p->user.cq_addr) :
		map_region(port->fd, p->cq_size, PROT_READ | PROT_WRITE,
			   VACTOR_OFF_CQ);
	if (!port->cq.ring)
		goto fail;
	port->send = u & VACT_USER_MEM_SEND ? user_ptr(p->user.send_addr) :
		map_region(port->fd, p->send_size, PROT_READ | PROT_WRITE,
			   VACTOR_OFF_SEND);
	if (!port->send)
		goto fail;
	port->recv = u & VACT_USER_MEM_RECV ? user_ptr(p->user.recv_addr) :
		map_region(port->fd, p->recv_size, PROT_READ, VACTOR_OFF_RECV);
	if (!port->recv)
		goto fail;
	return 0;
fail:
	{
		int err = -errno;

		unmap_regions(port);
		return err;
	}
}

int vact_port_open(struct vact_port *port, struct vactor_params *params)
{
	struct vactor_params p;
	int err;

	if (!port)
		return -EINVAL;
	memset(port, 0, sizeof(*port));
	port->fd = -1;

	if (params)
		p = *params;
	else
		memset(&p, 0, sizeof(p));

	port->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	/* No node: the module is not loaded, whatever ENOENT means elsewhere. */
	if (port->fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	if (ioctl(port->fd, VACTOR_IOC_SETUP, &p) < 0) {
		err = -errno;
		goto fail;
	}
	err = map_port(port, &p);
	if (err)
		goto fail;

	port->id = p.port_id;
	init_sq(&port->sq, &p);
	init_cq(&port->cq, &p);
	if (params)
		*params = p;
	return 0;
fail:
	close(port->fd);
	memset(port, 0, sizeof(*port));
	port->fd = -1;
	return err;
}

void vact_port_close(struct vact_port *port)
{
	if (!port || port->fd < 0)
		return;
	unmap_regions(port);
	close(port->fd);
	memset(port, 0, sizeof(*port));
	port->fd = -1;
}
