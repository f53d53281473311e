// SPDX-License-Identifier: GPL-2.0
/*
 * Memory shared with a port's process: pages charged to the opener's memory
 * cgroup, mapped contiguously in the kernel with vmap() and into userspace
 * with vm_map_pages_zero().
 */
#include <linux/mm.h>
#include <linux/slab.h>
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

void vactor_region_free(struct vactor_region *r)
{
	unsigned int i;

	if (r->addr)
		vunmap(r->addr);
	for (i = 0; r->pages && i < r->nr_pages && r->pages[i]; i++)
		__free_page(r->pages[i]);
	kvfree(r->pages);
	memset(r, 0, sizeof(*r));
}

int vactor_region_mmap(struct vactor_region *r, struct vm_area_struct *vma)
{
	if (vma->vm_end - vma->vm_start != r->size)
		return -EINVAL;
	/* Fixed-size regions: never grown by mremap. */
	vm_flags_set(vma, VM_DONTEXPAND);
	return vm_map_pages_zero(vma, r->pages, r->nr_pages);
}
