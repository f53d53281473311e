/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vactor: private definitions shared by the module's files.
 *
 * Lock order (outer to inner):
 *   port->lock (mutex)  ->  actor->lock  ->  port->cq_lock
 * vactor_table.lock (mutex) serialises actor creation and removal; lookups
 * by id or name are lockless under RCU and take a reference.
 */
#ifndef _VACTOR_H
#define _VACTOR_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/refcount.h>
#include <linux/rhashtable-types.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/mm.h>
#include "uapi/linux/vactor.h"

/* Kbuild defines VACTOR_HAVE_VM_FLAGS_SET when the kernel has the helpers. */
#ifndef VACTOR_HAVE_VM_FLAGS_SET
static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}

static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

extern unsigned int vactor_mailbox_max;

/* ---- region.c: memory shared with the port's process ---- */

struct vactor_region {
	struct page **pages;
	unsigned int nr_pages;
	unsigned int nr_pinned;	/* user: pages pinned so far */
	bool user;		/* the caller's pinned pages, not ours */
	void *addr;		/* vmap of pages */
	size_t size;		/* nr_pages << PAGE_SHIFT */
};

struct vactor_port;

int vactor_region_alloc(struct vactor_region *r, size_t size);
int vactor_region_pin_user(struct vactor_region *r, u64 uaddr, size_t size);
void vactor_region_free(struct vactor_region *r);
int vactor_region_mmap(struct vactor_region *r, struct vm_area_struct *vma);
int vactor_user_mem_check_areas(const struct vactor_params *p);
int vactor_user_mem_check(struct vactor_params *p, size_t sq_need,
			  size_t cq_need);
int vactor_port_regions(struct vactor_port *port, const struct vactor_params *p,
			size_t sq_size, size_t cq_size);

/* ---- user.c: per-user limits ---- */

struct vactor_user {
	kuid_t uid;
	refcount_t ref;
	atomic_t ports;
	atomic_t actors;
	atomic_long_t kmem;	/* bytes of rings and held messages */
};

struct vactor_user *vactor_user_get(kuid_t uid);
void vactor_user_hold(struct vactor_user *u);
void vactor_user_put(struct vactor_user *u);
int vactor_user_add_port(struct vactor_user *u);
void vactor_user_sub_port(struct vactor_user *u);
int vactor_user_add_actor(struct vactor_user *u);
void vactor_user_sub_actor(struct vactor_user *u);
int vactor_user_charge(struct vactor_user *u, size_t bytes, bool force);
void vactor_user_uncharge(struct vactor_user *u, size_t bytes);

/* ---- actor.c: the actor tables ---- */

struct vactor_table;

enum vactor_state {
	VACTOR_DORMANT,
	VACTOR_ACTIVE,
	VACTOR_DEAD,
};

struct vactor_port;

/* Actor flags, from CREATE. */
#define VACTOR_ACTOR_PUBLIC	BIT(0)	/* anyone in the namespace may send */

struct vactor_actor {
	u64 id;
	char name[VACTOR_NAME_MAX];	/* zero-padded; "" when unnamed */
	u32 type;
	u32 flags;			/* VACTOR_ACTOR_* */
	struct vactor_table *table;	/* referenced until destroyed */
	struct vactor_user *owner;	/* its creator; referenced likewise */
	kuid_t uid;			/* owner's, for readers that outlive it */
	refcount_t ref;
	struct rhash_head name_node;
	struct rcu_head rcu;

	spinlock_t lock;		/* state, host, mailbox */
	enum vactor_state state;
	struct vactor_port *host;	/* NULL unless ACTIVE */
	struct list_head mailbox;	/* struct vactor_msg, oldest first */
	unsigned int mailbox_len;
	struct list_head ready_node;	/* on host->ready, under cq_lock */
	struct list_head host_node;	/* on host->actors: host->lock + lock */

	u64 msgs_in;			/* accepted for this actor */
	u64 msgs_out;			/* sent by it (its host's submitter) */
};

int vactor_table_init(void);
void vactor_table_exit(void);
struct vactor_table *vactor_table_get_current(void);
struct vactor_table *vactor_table_find_current(void);
void vactor_table_put(struct vactor_table *t);
bool vactor_table_capable(struct vactor_table *t);
struct vactor_actor *vactor_actor_create(struct vactor_table *t,
					 struct vactor_user *owner,
					 const char *name, u32 type, u32 flags);
int vactor_actor_publish(struct vactor_actor *a);
struct vactor_actor *vactor_actor_get(struct vactor_table *t, u64 id);
struct vactor_actor *vactor_actor_get_by_name(struct vactor_table *t,
					      const char *name);
struct vactor_actor *vactor_actor_find_rcu(struct vactor_table *t, u64 id);
void vactor_actor_put(struct vactor_actor *a);
void vactor_actor_unlink(struct vactor_actor *a);
void vactor_actor_release(struct vactor_actor *a);
const char *vactor_state_name(enum vactor_state s);

/* Iteration for /proc: returns a referenced actor with id >= *pos. */
struct vactor_actor *vactor_actor_next(struct vactor_table *t,
				       unsigned long *pos);

/* ---- ring.c: the port's rings ---- */

/* What the kernel remembers of each CQE it wrote: userspace can't change it. */
struct vactor_cq_slot {
	u64 actor;
	u64 source;
	u64 tag;
	u64 ts_ns;
	u64 data_start;		/* receive-area position before this entry */
	u32 len;
	u32 buf_off;
	u64 user_data;
	s32 res;
	u8 event;
	u16 flags;
};

struct vactor_port {
	u32 id;
	struct pid *pid;		/* opener's thread group */
	struct vactor_table *table;	/* the opener's IPC namespace's */
	struct vactor_user *user;	/* the opener's euid: limits, ownership */
	bool admin;			/* opener had CAP_SYS_ADMIN there */
	size_t charged;			/* ring bytes counted against user */
	struct list_head node;		/* vactor_ports, under vactor_ports_lock */

	struct mutex lock;		/* setup, submission, hosted actors */
	bool setup_done;		/* published with release */
	struct list_head actors;	/* hosted actors (host_node) */
	unsigned int nr_actors;

	struct vactor_region sq_mem, cq_mem, send_mem, recv_mem;

	/* SQ: userspace owns tail, the kernel owns head (sq_khead). */
	u32 *sq_head, *sq_tail, *sq_flags;
	struct vactor_sqe *sqes;
	u32 sq_entries;
	u32 sq_khead;

	/* CQ: the kernel owns tail (cq_ktail), userspace owns head. */
	spinlock_t cq_lock;		/* everything down to 'ready' */
	u32 *cq_head, *cq_tail, *cq_flags;
	struct vactor_cqe *cqes;
	struct vactor_cq_slot *cq_slots;
	u32 cq_entries;
	u32 cq_ktail;
	u32 cq_head_seen;		/* the last CQ head found good */
	u32 cq_reserved;		/* slots held for our own completions */
	u64 data_tail;			/* receive-area position, free-running */
	struct list_head ready;		/* hosted actors with waiting messages */
	bool cq_corrupt;		/* userspace wrote a bad CQ head */
	bool closing;			/* no more posts into this CQ */
	atomic_t backlog_seq;		/* bumped when a message waits for us */
	u32 spin_misses;		/* ENTER's spins in a row that slept */
	u32 spin_skipped;		/* waits not spun since the last probe */

	wait_queue_head_t wq;
	u64 submitted;			/* SQEs consumed */
	u64 delivered;			/* messages posted to this CQ */
};

/* Header of a message the kernel holds (and of one it delivers). */
struct vactor_msg_hdr {
	u64 source;
	u64 tag;
	u64 user_data;
	u64 ts_ns;
	u32 len;
	s32 res;
	u8 event;
	u16 cqe_flags;
};

struct vactor_msg {
	struct list_head node;
	struct vactor_user *user;	/* whose limit this memory counts in */
	struct vactor_msg_hdr hdr;
	void *payload;			/* inline_data or a kvmalloc'd buffer */
	u8 inline_data[VACTOR_INLINE_MAX];
};

int vactor_port_setup(struct vactor_port *port, struct vactor_params *p);
void vactor_port_free_rings(struct vactor_port *port);
int vactor_port_mmap(struct vactor_port *port, struct vm_area_struct *vma);
u32 vactor_cq_reserve(struct vactor_port *port, u32 want);
void vactor_cq_unreserve(struct vactor_port *port, u32 n);
void vactor_cq_post_completion(struct vactor_port *port, u8 opcode, s32 res,
			       u64 actor, u32 len, u64 user_data);
u32 vactor_cq_room(struct vactor_port *port, u32 *head);
bool __vactor_cq_post_msg(struct vactor_port *port, u32 head, u64 actor,
			  const struct vactor_msg_hdr *h, const void *payload);
void vactor_cq_publish(struct vactor_port *port);
bool vactor_cq_post_msg(struct vactor_port *port, u64 actor,
			const struct vactor_msg_hdr *h, const void *payload);
int vactor_cq_count(struct vactor_port *port, u32 *count);
bool vactor_cq_has_room(struct vactor_port *port);
void vactor_cq_set_backlog(struct vactor_port *port);
void vactor_port_wake(struct vactor_port *port);
int vactor_sq_pending(struct vactor_port *port, u32 *pending);
bool vactor_sq_has_room(struct vactor_port *port);
bool vactor_cq_window(struct vactor_port *port, u32 *head, u32 *tail);

/* ---- router.c: sending, mailboxes, delivery ---- */

int vactor_router_init(void);
void vactor_router_exit(void);
int vactor_send(struct vactor_port *from, u64 target,
		const struct vactor_msg_hdr *h, const void *payload);

/*
 * A run of direct sends to one target within one submission: the target is
 * looked up once, its lock and its host's cq_lock are taken once, and the
 * host's CQ tail is published and its waiters woken once, when the run ends.
 * While a run is open those two spinlocks (and RCU) are held: the submitter
 * must end it before anything that sleeps, takes another actor's lock or
 * any cq_lock (a completion of its own, another operation).
 */
/*
 * A run's bounds: its payloads are copied with preemption off, and its
 * receiver sees nothing of it until it ends.
 */
#define VACTOR_RUN_MSGS		64
#define VACTOR_RUN_BYTES	SZ_64K

struct vactor_send_run {
	struct vactor_port *from;
	struct vactor_actor *to;	/* NULL: no run open */
	struct vactor_port *host;	/* to->host; its cq_lock is held */
	u32 head;			/* CQ head the room was counted from */
	u32 room;			/* CQ slots still known to be free */
	u32 msgs;			/* posted in this run */
	u32 bytes;			/* payload bytes copied in this run */
};

static inline void vactor_send_run_init(struct vactor_send_run *run,
					struct vactor_port *from)
{
	run->from = from;
	run->to = NULL;
}

int vactor_send_run(struct vactor_send_run *run, u64 target,
		    const struct vactor_msg_hdr *h, const void *payload);
void vactor_send_run_end(struct vactor_send_run *run);
void vactor_port_close_actors(struct vactor_port *port);
unsigned int vactor_mailbox_flush_locked(struct vactor_actor *a,
					 struct vactor_port *port,
					 struct list_head *done);
void vactor_port_flush(struct vactor_port *port);
void vactor_msgs_free(struct list_head *msgs);
struct vactor_msg *vactor_msg_alloc(struct vactor_user *user,
				    const struct vactor_msg_hdr *h,
				    const void *payload, bool keep);
int vactor_actor_claim(struct vactor_actor *a, struct vactor_port *port);
void vactor_actor_detach(struct vactor_actor *a);
void vactor_actor_destroy(struct vactor_actor *a);

/* May @port destroy, host or move @a? */
static inline bool vactor_may_manage(const struct vactor_port *port,
				     const struct vactor_actor *a)
{
	return a->owner == port->user || port->admin;
}

/* May @port send to @a? */
static inline bool vactor_may_send(const struct vactor_port *port,
				   const struct vactor_actor *a)
{
	return (a->flags & VACTOR_ACTOR_PUBLIC) || vactor_may_manage(port, a);
}

/* ---- ops.c: SQE operations ---- */

int vactor_submit(struct vactor_port *port, u32 to_submit);
int vactor_call(struct vactor_port *port, struct vactor_call *call);

/* ---- uring_cmd.c: IORING_OP_URING_CMD ---- */

struct io_uring_cmd;
int vactor_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
/* device.c: ENTER without waiting, shared with the io_uring command. */
int vactor_enter_nowait(struct vactor_port *port, u32 to_submit);

/* ---- device.c / proc.c ---- */

extern struct list_head vactor_ports;
extern struct mutex vactor_ports_lock;
int vactor_proc_init(void);
void vactor_proc_exit(void);

/* Counters for /proc/vactor/stats, per CPU. */
struct vactor_stats {
	u64 sent;		/* messages accepted */
	u64 direct;		/* ...written straight into the target's CQ */
	u64 queued;		/* ...held in a mailbox first */
	u64 flushed;		/* mailbox messages later moved into a CQ */
	u64 rejected;		/* sends refused: mailbox full (EAGAIN) */
	u64 undelivered;	/* reports to senders of dropped messages */
	u64 orphaned;		/* dropped with no sender left to tell */
	u64 redelivered;	/* unconsumed CQEs requeued at port close */
	u64 lost;		/* dropped at close: corrupted CQ head */
};

DECLARE_PER_CPU(struct vactor_stats, vactor_stats);
#define vactor_stat_inc(field) this_cpu_inc(vactor_stats.field)
#define vactor_stat_add(field, n) this_cpu_add(vactor_stats.field, n)

#endif /* _VACTOR_H */
