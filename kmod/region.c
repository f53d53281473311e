// SPDX-License-Identifier: GPL-2.0
/*
 * Memory shared with a port's process.  Either kernel pages, charged to the
 * opener's memory cgroup, mapped contiguously in the kernel with vmap() and
 * into userspace with vm_map_pages_zero(); or, for a VACTOR_SETUP_F_USER_MEM
 * port, pages of the caller's own memory, pinned for the port's life
 * (FOLL_LONGTERM) and vmapped the same way, so that everything past setup
 * sees one kind of region.  Memory a device maps too (a GPU through
 * cudaHostRegister()) is shared with the kernel with no copy in between.
 *
 * Pinned pages count against the per-user kmem limit exactly as kernel ring
 * pages do (ring.c charges both): the module holds the same amount of
 * unreclaimable memory either way, and one limit bounds it.  They already
 * count in the memory cgroup of whoever faulted them in.
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "vactor.h"

int vactor_region_alloc(struct vactor_region *r, size_t size)
{
	unsigned int i;

	r->nr_pages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	r->size = (size_t)r->nr_pages << PAGE_SHIFT;
	r->pages = kvcalloc(r->nr_pages, sizeof(*r->pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!r->pages)
		return -ENOMEM;

	for (i = 0; i < r->nr_pages; i++) {
		r->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!r->pages[i])
			goto fail;
	}
	r->addr = vmap(r->pages, r->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!r->addr)
		goto fail;
	return 0;

fail:
	vactor_region_free(r);
	return -ENOMEM;
}

/*
 * Every page of [start, start + len) must be mapped writable in the
 * caller's memory, in a mapping that has struct pages behind it.  Checked
 * first so that the errno says which it is: pinning would fail either with
 * EFAULT.  A concurrent munmap or mprotect can still make the pin fail
 * (EFAULT); it can't make it pin something it should not.
 */
static int user_range_check(unsigned long start, unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = start, end = start + len;
	struct vm_area_struct *vma;
	int ret = 0;

	if (!mm)
		return -EFAULT;
	mmap_read_lock(mm);
	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr) {
			ret = -EFAULT;
			break;
		}
		if (vma->vm_flags & (VM_IO | VM_PFNMAP)) {
			ret = -EFAULT;
			break;
		}
		if (!(vma->vm_flags & VM_WRITE)) {
			ret = -EACCES;
			break;
		}
		addr = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return ret;
}

/*
 * Pins @size bytes (a multiple of the page size) of the caller's memory at
 * @uaddr, checked by vactor_user_mem_check(), and vmaps them.
 */
int vactor_region_pin_user(struct vactor_region *r, u64 uaddr, size_t size)
{
	unsigned long start = untagged_addr((unsigned long)uaddr);
	unsigned int done = 0;
	int ret;

	if (!size || !PAGE_ALIGNED(size) || !PAGE_ALIGNED(start))
		return -EINVAL;
	ret = user_range_check(start, size);
	if (ret)
		return ret;
	r->nr_pages = size >> PAGE_SHIFT;
	r->size = size;
	r->user = true;
	r->pages = kvcalloc(r->nr_pages, sizeof(*r->pages), GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!r->pages) {
		ret = -ENOMEM;
		goto fail;
	}
	/* The fast path may pin fewer pages than asked: go on from there. */
	while (done < r->nr_pages) {
		ret = pin_user_pages_fast(start + ((unsigned long)done << PAGE_SHIFT),
					  r->nr_pages - done,
					  FOLL_WRITE | FOLL_LONGTERM,
					  r->pages + done);
		if (ret <= 0) {
			ret = ret ? ret : -EFAULT;
			goto fail;
		}
		done += ret;
		r->nr_pinned = done;
	}
	r->addr = vmap(r->pages, r->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!r->addr) {
		ret = -ENOMEM;
		goto fail;
	}
	return 0;

fail:
	vactor_region_free(r);
	return ret;
}

void vactor_region_free(struct vactor_region *r)
{
	unsigned int i;

	if (r->addr)
		vunmap(r->addr);
	if (r->user) {
		/* The kernel may have written any of them: dirty. */
		if (r->nr_pinned)
			unpin_user_pages_dirty_lock(r->pages, r->nr_pinned, true);
	} else {
		for (i = 0; r->pages && i < r->nr_pages && r->pages[i]; i++)
			__free_page(r->pages[i]);
	}
	kvfree(r->pages);
	memset(r, 0, sizeof(*r));
}

int vactor_region_mmap(struct vactor_region *r, struct vm_area_struct *vma)
{
	/* The caller has this memory already, at the address it gave. */
	if (r->user)
		return -ENODEV;
	if (vma->vm_end - vma->vm_start != r->size)
		return -EINVAL;
	/* Fixed-size regions: never grown by mremap. */
	vm_flags_set(vma, VM_DONTEXPAND);
	return vm_map_pages_zero(vma, r->pages, r->nr_pages);
}

/* ---- VACTOR_SETUP_F_USER_MEM: checking what the caller gave ---- */

struct user_span {
	u64 addr;
	u64 size;
};

/*
 * The area sizes, before setup rounds them: with a caller address each must
 * be given and already be what rounding would make it (pages for the send
 * area, a power of two for the receive area), since the caller sized its
 * memory by it.
 */
int vactor_user_mem_check_areas(const struct vactor_params *p)
{
	const struct vactor_user_mem *u = &p->user;

	if (u->send_addr && (!p->send_size || !PAGE_ALIGNED(p->send_size)))
		return -EINVAL;
	if (u->recv_addr && (!p->recv_size || !is_power_of_2(p->recv_size) ||
			     p->recv_size < PAGE_SIZE))
		return -EINVAL;
	return 0;
}

/*
 * Everything about the caller's memory that can be checked without
 * touching it: the rings are given, every address is page aligned, each
 * ring buffer is as large as its ring (@sq_need, @cq_need: page multiples),
 * every span lies in the user address space without wrapping, and no two
 * overlap.  On success the SQ and CQ sizes to pin are in p->sq_size and
 * p->cq_size.
 */
int vactor_user_mem_check(struct vactor_params *p, size_t sq_need,
			  size_t cq_need)
{
	const struct vactor_user_mem *u = &p->user;
	struct user_span s[4] = {
		{ u->sq_addr, sq_need },
		{ u->cq_addr, cq_need },
		{ u->send_addr, p->send_size },
		{ u->recv_addr, p->recv_size },
	};
	unsigned int i, j;

	if (!u->sq_addr || !u->cq_addr)
		return -EINVAL;
	if (p->sq_size < sq_need || p->cq_size < cq_need)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		if (!s[i].addr)
			continue;
		s[i].addr = untagged_addr(s[i].addr);
		if (!PAGE_ALIGNED(s[i].addr))
			return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(s); i++) {
		if (!s[i].addr)
			continue;
		if (s[i].addr + s[i].size < s[i].addr ||
		    s[i].addr != (unsigned long)s[i].addr ||
		    !access_ok(u64_to_user_ptr(s[i].addr), s[i].size))
			return -EFAULT;
	}
	for (i = 0; i < ARRAY_SIZE(s); i++)
		for (j = i + 1; j < ARRAY_SIZE(s); j++)
			if (s[i].addr && s[j].addr &&
			    s[i].addr < s[j].addr + s[j].size &&
			    s[j].addr < s[i].addr + s[i].size)
				return -EINVAL;
	p->sq_size = sq_need;
	p->cq_size = cq_need;
	return 0;
}

/* The four regions of a port: kernel pages, or the caller's where it gave them. */
int vactor_port_regions(struct vactor_port *port, const struct vactor_params *p,
			size_t sq_size, size_t cq_size)
{
	const struct vactor_user_mem *u = &p->user;
	bool user = p->flags & VACTOR_SETUP_F_USER_MEM;
	int ret;

	if (user) {
		ret = vactor_region_pin_user(&port->sq_mem, u->sq_addr,
					     PAGE_ALIGN(sq_size));
		if (!ret)
			ret = vactor_region_pin_user(&port->cq_mem, u->cq_addr,
						     PAGE_ALIGN(cq_size));
		if (ret)
			return ret;
		/*
		 * Indices start at 0 as in kernel pages: whatever the caller's
		 * memory held there before would read as a corrupted ring.
		 */
		memset(port->sq_mem.addr, 0, VACTOR_RING_HDR_SIZE);
		memset(port->cq_mem.addr, 0, VACTOR_RING_HDR_SIZE);
	} else {
		ret = vactor_region_alloc(&port->sq_mem, sq_size);
		if (!ret)
			ret = vactor_region_alloc(&port->cq_mem, cq_size);
		if (ret)
			return ret;
	}
	if (user && u->send_addr)
		ret = vactor_region_pin_user(&port->send_mem, u->send_addr,
					     p->send_size);
	else
		ret = vactor_region_alloc(&port->send_mem, p->send_size);
	if (ret)
		return ret;
	if (user && u->recv_addr)
		ret = vactor_region_pin_user(&port->recv_mem, u->recv_addr,
					     p->recv_size);
	else
		ret = vactor_region_alloc(&port->recv_mem, p->recv_size);
	return ret;
}
