// SPDX-License-Identifier: GPL-2.0
/*
 * A port's rings.  Each index has one writer: userspace writes the SQ tail
 * and the CQ head, the kernel the SQ head and the CQ tail.  The kernel keeps
 * its own copy of the indices it writes (sq_khead, cq_ktail) and of what it
 * wrote into each CQE (cq_slots), reads the userspace-written indices once
 * with acquire, and checks them before use.
 */
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vactor.h"

#define VACTOR_SQ_DEFAULT	128
#define VACTOR_SEND_DEFAULT	SZ_256K
#define VACTOR_RECV_DEFAULT	SZ_1M
#define VACTOR_AREA_MAX		SZ_64M
/* Payloads in the receive area are aligned to a cache line. */
#define VACTOR_DATA_ALIGN	64

/* Ring header: head, tail and flags on separate cache lines. */
#define VACTOR_RING_HEAD	0
#define VACTOR_RING_TAIL	64
#define VACTOR_RING_FLAGS	128
#define VACTOR_RING_ENTRIES	VACTOR_RING_HDR_SIZE

static void ring_offsets(struct vactor_ring_offsets *o, u32 entries)
{
	o->head = VACTOR_RING_HEAD;
	o->tail = VACTOR_RING_TAIL;
	o->flags = VACTOR_RING_FLAGS;
	o->ring_mask = entries - 1;
	o->ring_entries = entries;
	o->entries = VACTOR_RING_ENTRIES;
	o->resv[0] = 0;
	o->resv[1] = 0;
}

static int setup_check(struct vactor_params *p)
{
	int ret;

	if (p->flags & ~VACTOR_SETUP_F_ALL)
		return -EINVAL;
	if (p->flags & VACTOR_SETUP_F_USER_MEM) {
		/* Caller memory (region.c): its sizes are checked as given. */
		ret = vactor_user_mem_check_areas(p);
		if (ret)
			return ret;
	} else if (memchr_inv(p->resv, 0, sizeof(p->resv))) {
		return -EINVAL;
	}
	if (!p->sq_entries)
		p->sq_entries = VACTOR_SQ_DEFAULT;
	if (p->sq_entries > VACTOR_SQ_MAX)
		return -EINVAL;
	p->sq_entries = roundup_pow_of_two(p->sq_entries);
	if (!p->cq_entries)
		p->cq_entries = min_t(u32, 4 * p->sq_entries, VACTOR_CQ_MAX);
	if (p->cq_entries > VACTOR_CQ_MAX || p->cq_entries < p->sq_entries)
		return -EINVAL;
	p->cq_entries = roundup_pow_of_two(p->cq_entries);
	if (!p->send_size)
		p->send_size = VACTOR_SEND_DEFAULT;
	if (!p->recv_size)
		p->recv_size = VACTOR_RECV_DEFAULT;
	if (p->send_size > VACTOR_AREA_MAX || p->recv_size > VACTOR_AREA_MAX ||
	    p->recv_size < VACTOR_MSG_MAX)
		return -EINVAL;
	p->send_size = PAGE_ALIGN(p->send_size);
	/* A power of two, so receive-area positions wrap with a mask. */
	p->recv_size = roundup_pow_of_two(p->recv_size);
	return 0;
}

static void *ring_field(struct vactor_region *r, u32 off)
{
	return r->addr + off;
}

int vactor_port_setup(struct vactor_port *port, struct vactor_params *p)
{
	size_t sq_size, cq_size, charge;
	int ret;

	ret = setup_check(p);
	if (ret)
		return ret;

	sq_size = VACTOR_RING_ENTRIES + (size_t)p->sq_entries * sizeof(struct vactor_sqe);
	cq_size = VACTOR_RING_ENTRIES + (size_t)p->cq_entries * sizeof(struct vactor_cqe);
	if (p->flags & VACTOR_SETUP_F_USER_MEM) {
		ret = vactor_user_mem_check(p, PAGE_ALIGN(sq_size), PAGE_ALIGN(cq_size));
		if (ret)
			return ret;
	}
	charge = PAGE_ALIGN(sq_size) + PAGE_ALIGN(cq_size) + p->send_size +
		 p->recv_size + (size_t)p->cq_entries * sizeof(*port->cq_slots);
	ret = vactor_user_charge(port->user, charge, false);
	if (ret)
		return ret;
	port->charged = charge;
	port->cq_slots = kvcalloc(p->cq_entries, sizeof(*port->cq_slots),
				  GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!port->cq_slots) {
		vactor_port_free_rings(port);
		return -ENOMEM;
	}
	/* Kernel pages, or the caller's pinned ones (USER_MEM). */
	ret = vactor_port_regions(port, p, sq_size, cq_size);
	if (ret) {
		vactor_port_free_rings(port);
		return ret;
	}

	port->sq_head = ring_field(&port->sq_mem, VACTOR_RING_HEAD);
	port->sq_tail = ring_field(&port->sq_mem, VACTOR_RING_TAIL);
	port->sq_flags = ring_field(&port->sq_mem, VACTOR_RING_FLAGS);
	port->sqes = ring_field(&port->sq_mem, VACTOR_RING_ENTRIES);
	port->sq_entries = p->sq_entries;
	port->cq_head = ring_field(&port->cq_mem, VACTOR_RING_HEAD);
	port->cq_tail = ring_field(&port->cq_mem, VACTOR_RING_TAIL);
	port->cq_flags = ring_field(&port->cq_mem, VACTOR_RING_FLAGS);
	port->cqes = ring_field(&port->cq_mem, VACTOR_RING_ENTRIES);
	port->cq_entries = p->cq_entries;

	p->port_id = port->id;
	p->sq_size = port->sq_mem.size;
	p->cq_size = port->cq_mem.size;
	ring_offsets(&p->sq_off, p->sq_entries);
	ring_offsets(&p->cq_off, p->cq_entries);
	return 0;
}

void vactor_port_free_rings(struct vactor_port *port)
{
	vactor_region_free(&port->sq_mem);
	vactor_region_free(&port->cq_mem);
	vactor_region_free(&port->send_mem);
	vactor_region_free(&port->recv_mem);
	kvfree(port->cq_slots);
	port->cq_slots = NULL;
	vactor_user_uncharge(port->user, port->charged);
	port->charged = 0;
}

int vactor_port_mmap(struct vactor_port *port, struct vm_area_struct *vma)
{
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;
	struct vactor_region *r;

	switch (off) {
	case VACTOR_OFF_SQ:
		r = &port->sq_mem;
		break;
	case VACTOR_OFF_CQ:
		r = &port->cq_mem;
		break;
	case VACTOR_OFF_SEND:
		r = &port->send_mem;
		break;
	case VACTOR_OFF_RECV:
		r = &port->recv_mem;
		break;
	default:
		return -EINVAL;
	}
	/* A private copy would never see the other side's writes. */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EACCES;
	if (r == &port->recv_mem) {
		/* Only the kernel writes payloads into the receive area. */
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vm_flags_clear(vma, VM_MAYWRITE);
	}
	vm_flags_clear(vma, VM_MAYEXEC);
	return vactor_region_mmap(r, vma);
}

/* ---- SQ ---- */

/* Entries userspace has published and the kernel not yet consumed. */
int vactor_sq_pending(struct vactor_port *port, u32 *pending)
{
	/* Pairs with userspace's release of the tail after writing SQEs. */
	u32 tail = smp_load_acquire(port->sq_tail);
	u32 n = tail - port->sq_khead;

	if (n > port->sq_entries) {
		pr_warn_ratelimited("vactor: port %u: SQ tail %u is %u entries ahead of head %u (ring has %u)\n",
				    port->id, tail, n, port->sq_khead,
				    port->sq_entries);
		return -EINVAL;
	}
	*pending = n;
	return 0;
}

bool vactor_sq_has_room(struct vactor_port *port)
{
	u32 n = READ_ONCE(*port->sq_tail) - port->sq_khead;

	return n < port->sq_entries;
}

/* ---- CQ ---- */

/*
 * Reads the userspace-written CQ head; false if it can't be right.  It may
 * only move forward, from the last head read here up to the tail: entries
 * behind a head the kernel has seen are consumed, and their receive-area
 * bytes may have been reused.  A head moved back would also make a close
 * redeliver them all again (vactor_cq_window()), at whatever length their
 * records say.  cq_lock held.
 */
static bool cq_user_head(struct vactor_port *port, u32 *head)
{
	/* Pairs with userspace's release: it is done reading those CQEs. */
	u32 h = smp_load_acquire(port->cq_head);

	lockdep_assert_held(&port->cq_lock);
	if (h - port->cq_head_seen > port->cq_ktail - port->cq_head_seen) {
		if (!port->cq_corrupt)
			pr_warn_ratelimited("vactor: port %u: CQ head %u outside [%u, %u]\n",
					    port->id, h, port->cq_head_seen,
					    port->cq_ktail);
		port->cq_corrupt = true;
		return false;
	}
	port->cq_corrupt = false;
	port->cq_head_seen = h;
	*head = h;
	return true;
}

/* Free CQ slots not held for this port's own completions.  cq_lock held. */
static u32 cq_free(struct vactor_port *port, u32 *head)
{
	u32 used;

	if (port->closing || !cq_user_head(port, head))
		return 0;
	used = port->cq_ktail - *head + port->cq_reserved;
	return used >= port->cq_entries ? 0 : port->cq_entries - used;
}

bool vactor_cq_has_room(struct vactor_port *port)
{
	bool room;
	u32 head;

	spin_lock(&port->cq_lock);
	room = cq_free(port, &head) > 0;
	spin_unlock(&port->cq_lock);
	return room;
}

int vactor_cq_count(struct vactor_port *port, u32 *count)
{
	int ret = 0;
	u32 head;

	spin_lock(&port->cq_lock);
	if (cq_user_head(port, &head))
		*count = port->cq_ktail - head;
	else
		ret = -EINVAL;
	spin_unlock(&port->cq_lock);
	return ret;
}

/*
 * Holds up to @want CQ slots for completions of SQEs about to be consumed,
 * so that no completion ever lacks room.  Returns how many it got.
 */
u32 vactor_cq_reserve(struct vactor_port *port, u32 want)
{
	u32 got, head;

	spin_lock(&port->cq_lock);
	got = min(cq_free(port, &head), want);
	port->cq_reserved += got;
	spin_unlock(&port->cq_lock);
	return got;
}

void vactor_cq_unreserve(struct vactor_port *port, u32 n)
{
	if (!n)
		return;
	spin_lock(&port->cq_lock);
	port->cq_reserved -= n;
	spin_unlock(&port->cq_lock);
}

/*
 * Receive-area position of the oldest payload userspace still owns: the one
 * of the oldest unconsumed CQE, or everything when the CQ is empty.
 */
static u64 data_head(struct vactor_port *port, u32 cq_head)
{
	if (cq_head == port->cq_ktail)
		return port->data_tail;
	return port->cq_slots[cq_head & (port->cq_entries - 1)].data_start;
}

/*
 * Finds room for @len payload bytes, contiguous, and returns its position
 * in @at: it is also the entry's data_start, since whatever lies before it
 * belongs to older entries or to nobody.  cq_lock held.
 */
static bool data_alloc(struct vactor_port *port, u32 cq_head, u32 len,
		       u64 *at)
{
	u64 size = port->recv_mem.size;
	u64 pos = port->data_tail;
	u32 alen = ALIGN(len, VACTOR_DATA_ALIGN);
	u64 off = pos & (size - 1);
	u64 head = data_head(port, cq_head);

	if (off + alen > size) {
		pos += size - off;	/* skip the tail end, start over at 0 */
		/*
		 * With no payload outstanding the skipped bytes are nobody's:
		 * counting them as used would refuse a payload over half the
		 * area for ever, the CQ being empty.
		 */
		if (cq_head == port->cq_ktail)
			head = pos;
	}
	if (pos + alen - head > size)
		return false;
	*at = pos;
	port->data_tail = pos + alen;
	return true;
}

static struct vactor_cq_slot *cq_slot(struct vactor_port *port)
{
	return &port->cq_slots[port->cq_ktail & (port->cq_entries - 1)];
}

static struct vactor_cqe *cq_next(struct vactor_port *port)
{
	return &port->cqes[port->cq_ktail & (port->cq_entries - 1)];
}

/*
 * Makes every entry written so far visible to userspace.  Posting only moves
 * the kernel's cq_ktail, so a run of messages is published with one
 * release; cq_lock is held until then, so nobody else publishes in between.
 */
void vactor_cq_publish(struct vactor_port *port)
{
	lockdep_assert_held(&port->cq_lock);
	/* Publish the entries before the tail that makes them visible. */
	smp_store_release(port->cq_tail, port->cq_ktail);
}

/* Posts a completion into a slot reserved with vactor_cq_reserve(). */
void vactor_cq_post_completion(struct vactor_port *port, u8 opcode, s32 res,
			       u64 actor, u32 len, u64 user_data)
{
	struct vactor_cq_slot *slot;
	struct vactor_cqe *cqe;

	spin_lock(&port->cq_lock);
	/* Only what a close needs: completions are never put back. */
	slot = cq_slot(port);
	slot->event = VACTOR_EV_COMPLETE;
	slot->actor = actor;
	slot->data_start = port->data_tail;
	/* Written in place, once: no stack copy of 128 bytes to move. */
	cqe = cq_next(port);
	memset(cqe, 0, sizeof(*cqe));
	cqe->event = VACTOR_EV_COMPLETE;
	cqe->opcode = opcode;
	cqe->res = res;
	cqe->actor = actor;
	cqe->len = len;
	cqe->user_data = user_data;
	port->cq_reserved--;
	WRITE_ONCE(port->cq_ktail, port->cq_ktail + 1);
	vactor_cq_publish(port);
	spin_unlock(&port->cq_lock);
}

/*
 * Free CQ slots for messages and the CQ head they were counted from (for
 * __vactor_cq_post_msg()); 0 when there is none.  cq_lock held.  Only the
 * poster, under cq_lock, takes slots, so the count stays good while the
 * lock is held, however far userspace moves its head.
 */
u32 vactor_cq_room(struct vactor_port *port, u32 *head)
{
	lockdep_assert_held(&port->cq_lock);
	return cq_free(port, head);
}

/*
 * Writes a message (or an undelivered report) for @actor into a CQ slot
 * the caller found free with vactor_cq_room(), its payload inline or into
 * the receive area, without publishing it (vactor_cq_publish()).  @head:
 * the CQ head vactor_cq_room() read; an older head only makes the receive
 * area look fuller.  False when the receive area has no room: the caller
 * keeps the message.  cq_lock held.
 */
bool __vactor_cq_post_msg(struct vactor_port *port, u32 head, u64 actor,
			  const struct vactor_msg_hdr *h, const void *payload)
{
	struct vactor_cq_slot *slot = cq_slot(port);
	struct vactor_cqe *cqe = cq_next(port);
	u16 flags = h->cqe_flags;
	u32 buf_off = 0;
	u64 pos;

	lockdep_assert_held(&port->cq_lock);
	if (h->len > VACTOR_INLINE_MAX) {
		if (!data_alloc(port, head, h->len, &pos))
			return false;
		flags |= VACTOR_CQE_F_BUF;
		buf_off = pos & (port->recv_mem.size - 1);
		memcpy(port->recv_mem.addr + buf_off, payload, h->len);
	} else {
		pos = port->data_tail;
	}

	/* The kernel's record, for a close to put the message back. */
	slot->actor = actor;
	slot->source = h->source;
	slot->tag = h->tag;
	slot->ts_ns = h->ts_ns;
	slot->data_start = pos;
	slot->len = h->len;
	slot->buf_off = buf_off;
	slot->user_data = h->user_data;
	slot->res = h->res;
	slot->event = h->event;
	slot->flags = flags;

	/* Every byte of the shared entry once: no zeroing before filling. */
	cqe->event = h->event;
	cqe->opcode = 0;
	cqe->flags = flags;
	cqe->res = h->res;
	cqe->len = h->len;
	cqe->buf_off = buf_off;
	cqe->actor = actor;
	cqe->source = h->source;
	/*
	 * The sender's user_data is its own business: the receiver of a
	 * message never sees it, a report returns it to the sender.
	 */
	cqe->user_data = h->event == VACTOR_EV_UNDELIVERED ? h->user_data : 0;
	cqe->tag = h->tag;
	cqe->ts_ns = h->ts_ns;
	cqe->resv = 0;
	if (h->len <= VACTOR_INLINE_MAX) {
		memcpy(cqe->data, payload, h->len);
		if (h->len < VACTOR_INLINE_MAX)
			memset(cqe->data + h->len, 0, VACTOR_INLINE_MAX - h->len);
	} else {
		memset(cqe->data, 0, VACTOR_INLINE_MAX);
	}
	WRITE_ONCE(port->cq_ktail, port->cq_ktail + 1);
	WRITE_ONCE(port->delivered, port->delivered + 1);
	return true;
}

/*
 * Posts and publishes one message: vactor_cq_room(),
 * __vactor_cq_post_msg() and vactor_cq_publish().  cq_lock held.  False
 * when there is no room: the caller keeps the message.
 */
bool vactor_cq_post_msg(struct vactor_port *port, u64 actor,
			const struct vactor_msg_hdr *h, const void *payload)
{
	u32 head;

	if (!vactor_cq_room(port, &head) ||
	    !__vactor_cq_post_msg(port, head, actor, h, payload))
		return false;
	vactor_cq_publish(port);
	return true;
}

/* Tells userspace that messages wait for CQ room (or that none do). */
void vactor_cq_set_backlog(struct vactor_port *port)
{
	u32 flags = list_empty(&port->ready) ? 0 : VACTOR_CQ_F_BACKLOG;

	lockdep_assert_held(&port->cq_lock);
	if (READ_ONCE(*port->cq_flags) != flags)
		WRITE_ONCE(*port->cq_flags, flags);
}

void vactor_port_wake(struct vactor_port *port)
{
	if (wq_has_sleeper(&port->wq))
		wake_up(&port->wq);
}

/*
 * Stops all posting into a closing port's CQ and returns the window of
 * entries its process had not consumed; false if the CQ head it left behind
 * can't be trusted (then nothing in the window is known to be unconsumed).
 */
bool vactor_cq_window(struct vactor_port *port, u32 *head, u32 *tail)
{
	bool ok;

	spin_lock(&port->cq_lock);
	ok = cq_user_head(port, head);
	*tail = port->cq_ktail;
	port->closing = true;
	spin_unlock(&port->cq_lock);
	if (!ok) {
		vactor_stat_inc(lost);
		pr_warn_ratelimited("vactor: port %u closed with a corrupted CQ head: its unconsumed messages can't be told apart and are dropped\n",
				    port->id);
	}
	return ok;
}
