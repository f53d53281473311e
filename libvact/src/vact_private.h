/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libvact internals: ring index access and the ENTER wrapper.
 *
 * Ring counters live in memory the kernel shares with us.  Each has exactly
 * one writer: we read the other side's counters with acquire (so the entries
 * it published before moving the counter are visible) and publish ours with
 * release (so the entries we wrote are visible before the counter moves).
 * Counters we write ourselves are read back relaxed: nobody else changes them.
 */
#ifndef VACT_PRIVATE_H
#define VACT_PRIVATE_H

#include <stdatomic.h>
#include <stdint.h>
#include "vact.h"

/* Checks of the CQ tail before vact_wait_cqe sleeps in the kernel. */
#define VACT_SPIN_CHECKS	1024

/* Send-area allocations are cache-line aligned. */
#define VACT_SEND_ALIGN		64

static inline unsigned int vact_load_acquire(const unsigned int *p)
{
	return atomic_load_explicit((const _Atomic unsigned int *)p,
				    memory_order_acquire);
}

static inline unsigned int vact_load_relaxed(const unsigned int *p)
{
	return atomic_load_explicit((const _Atomic unsigned int *)p,
				    memory_order_relaxed);
}

static inline void vact_store_release(unsigned int *p, unsigned int v)
{
	atomic_store_explicit((_Atomic unsigned int *)p, v,
			      memory_order_release);
}

static inline void vact_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

/* SQEs prepared (published or not) that the kernel has not consumed yet. */
static inline unsigned int vact_sq_pending(const struct vact_port *port)
{
	return port->sq.sqe_tail - vact_load_acquire(port->sq.head);
}

static inline bool vact_cq_backlog(const struct vact_port *port)
{
	return vact_load_relaxed(port->cq.flags) & VACTOR_CQ_F_BACKLOG;
}

/* VACTOR_IOC_ENTER; returns SQEs consumed or a negative errno. */
int vact_enter(struct vact_port *port, unsigned int to_submit,
	       unsigned int min_complete, unsigned int flags,
	       uint64_t timeout_ns);

#endif /* VACT_PRIVATE_H */
