/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * vgpu internals shared by the host runtime and the persistent kernel.
 *
 * Memory, and who writes what (every index and every field has exactly one
 * writer; Documentation/cuda.rst, "Memory ordering"):
 *
 *   pinned host memory, mapped into the GPU (struct vgpu_host_shared):
 *     control ring  host -> supervisor, vactor_sqe layout: host writes tail
 *                   and entries, the supervisor writes head
 *     event ring    supervisor -> host, vactor_cqe layout: the supervisor
 *                   writes tail and entries, the host writes head
 *     slot stats, snapshots: the slot's block only
 *   each slot's port (SQ, CQ, receive area): pinned host memory, the port's
 *     own rings in direct mode; the slot writes SQ tail and CQ head
 *   device memory (struct vgpu_dev):
 *     slot config, cmd, links: the supervisor; ack, heartbeat, state: the slot
 *     channels: the sending slot writes tail and entries, the receiving slot
 *     writes head
 */
#ifndef VGPU_SHARED_H
#define VGPU_SHARED_H

#include "vgpu.h"

#define VGPU_LINE		128	/* separate lines for separate writers */
#define VGPU_CTL_ENTRIES	256
#define VGPU_EVT_ENTRIES	1024
#define VGPU_THREADS		32	/* per block; lane 0 runs the slot */

/* Control commands (vactor_sqe.opcode on the control ring). */
enum vgpu_ctl_op {
	VGPU_CTL_CREATE = 1,	/* buf_off: index of the config; user_data: cookie */
	VGPU_CTL_BIND,		/* target: slot; actor: the kernel actor id */
	VGPU_CTL_DESTROY,	/* target: slot */
	VGPU_CTL_RESTART,	/* target: slot */
	VGPU_CTL_LINK,		/* target: src slot; actor: dst slot */
	VGPU_CTL_GROUP,		/* type: strategy; len: max restarts; tag: window ns;
				 * target: parent (as int64) */
	VGPU_CTL_GROUP_RESTART,	/* target: group */
	VGPU_CTL_SHUTDOWN,
};

/* Slot commands: cmd = generation << 8 | op, written by the supervisor. */
enum vgpu_cmd_op {
	VGPU_CMD_NONE,
	VGPU_CMD_RUN,		/* (re)initialise and run */
	VGPU_CMD_STOP,		/* snapshot and stop */
	VGPU_CMD_EXIT,		/* the kernel is shutting down: return */
};

/* Slot acknowledgements: ack = generation << 8 | status, written by the slot. */
enum vgpu_ack_status {
	VGPU_ACK_NONE,
	VGPU_ACK_RUNNING,
	VGPU_ACK_STOPPED,
	VGPU_ACK_CRASHED,
	VGPU_ACK_EXITED,
	VGPU_ACK_GONE,
};

#define VGPU_PACK(gen, op)	((unsigned long long)(gen) << 8 | (op))
#define VGPU_GEN(v)		((v) >> 8)
#define VGPU_OP(v)		((unsigned int)((v) & 0xff))

/* A vactor ring as the GPU sees it (device pointers). */
struct vgpu_ring_dev {
	unsigned int *head;
	unsigned int *tail;
	unsigned int *flags;
	void *entries;
	unsigned int mask;
	unsigned int pad;
};

struct vgpu_port_dev {
	struct vgpu_ring_dev sq;	/* slot writes tail, kernel head */
	struct vgpu_ring_dev cq;	/* kernel writes tail, slot head */
	const unsigned char *recv;	/* receive area (payloads > inline) */
	unsigned int recv_size;
	unsigned int pad;
};

struct vgpu_snap {
	unsigned int seq;		/* odd while the slot writes */
	unsigned int len;
	unsigned long long gen;		/* activation that wrote it */
	unsigned long long actor;	/* whose state it is */
	unsigned char data[VGPU_STATE_MAX];
};

struct vgpu_host_shared {
	alignas(VGPU_LINE) unsigned int ctl_head;	/* supervisor */
	alignas(VGPU_LINE) unsigned int ctl_tail;	/* host */
	alignas(VGPU_LINE) unsigned int evt_head;	/* host */
	alignas(VGPU_LINE) unsigned int evt_tail;	/* supervisor */
	alignas(VGPU_LINE) struct vgpu_sup_stats sup;	/* supervisor */
	alignas(VGPU_LINE) struct vactor_sqe ctl[VGPU_CTL_ENTRIES];
	struct vgpu_actor_config ctl_cfg[VGPU_CTL_ENTRIES];
	struct vactor_cqe evt[VGPU_EVT_ENTRIES];
	struct {
		alignas(VGPU_LINE) struct vgpu_slot_stats s;
	} stats[VGPU_MAX_SLOTS];
	struct {
		alignas(VGPU_LINE) struct vgpu_snap s;
	} snap[VGPU_MAX_SLOTS];
};

/* A GPU-to-GPU channel: one sending slot, one receiving slot. */
struct vgpu_chan {
	alignas(VGPU_LINE) unsigned int head;	/* receiver */
	alignas(VGPU_LINE) unsigned int tail;	/* sender */
	alignas(VGPU_LINE) unsigned int mask;	/* set before the link is published */
	int src, dst;
	struct vactor_cqe e[VGPU_CHAN_MAX];
};

struct vgpu_link {
	unsigned long long dst_actor;	/* 0: unlinked (its actor was destroyed) */
	int dst_slot;
	int chan;
};

struct vgpu_slot_dev {
	/* Written by the supervisor. */
	struct vgpu_actor_config cfg;
	alignas(VGPU_LINE) unsigned long long cmd;
	int nr_out, nr_in;		/* published with release after the entry */
	struct vgpu_link out[VGPU_MAX_LINKS];
	int in[VGPU_MAX_LINKS];
	/* Written by the slot. */
	alignas(VGPU_LINE) unsigned long long ack;
	alignas(VGPU_LINE) unsigned long long hb_ns;
	alignas(VGPU_LINE) unsigned char state[VGPU_STATE_MAX];
};

/* Supervisor-private registry entry of a slot. */
enum vgpu_reg_status {
	VGPU_REG_FREE,
	VGPU_REG_BINDING,	/* allocated, waiting for its kernel actor id */
	VGPU_REG_STARTING,	/* RUN sent */
	VGPU_REG_RUNNING,
	VGPU_REG_STOPPING,	/* STOP sent; then: pending */
	VGPU_REG_HELD,		/* stopped by its group's escalation */
	VGPU_REG_LOST,		/* never acknowledged a stop: retired */
};

enum vgpu_pending {
	VGPU_PEND_FREE,		/* back to the free list */
	VGPU_PEND_RESTART,	/* run again */
	VGPU_PEND_HOLD,		/* stay stopped (group escalated) */
};

struct vgpu_reg {
	unsigned int status;
	unsigned int pending;
	unsigned long long gen;
	int group;
	unsigned int restarts;
	unsigned long long deadline;	/* STOPPING: lost past it */
	unsigned long long last_hb;	/* last heartbeat seen, for the timeout */
};

struct vgpu_group_dev {
	unsigned int used;
	unsigned int strategy;
	unsigned int max_restarts;
	unsigned int failed;		/* escalated, children held */
	unsigned long long window_ns;
	int parent;			/* group, or VGPU_PARENT_HOST */
	unsigned int nr_children;
	int children[VGPU_MAX_SLOTS];	/* in creation order */
	unsigned int nr_ts;
	unsigned long long ts[VGPU_WINDOW_MAX];	/* restarts inside the window */
};

struct vgpu_dev {
	struct vgpu_port_dev ports[VGPU_MAX_SLOTS];	/* host fills before launch */
	struct vgpu_slot_dev slot[VGPU_MAX_SLOTS];
	struct vgpu_chan chan[VGPU_MAX_CHANNELS];
	/* Supervisor-private. */
	struct vgpu_reg reg[VGPU_MAX_SLOTS];
	struct vgpu_group_dev group[VGPU_MAX_GROUPS];
	int free_list[VGPU_MAX_SLOTS];
	unsigned int nr_free;
	unsigned int nr_chans;
	unsigned int evt_tail;
	unsigned int ctl_head;
};

struct vgpu_params {
	struct vgpu_dev *dev;
	struct vgpu_host_shared *host;	/* device pointer of the pinned block */
	unsigned int nslots;
	unsigned int dormant_sleep_ns;
	unsigned long long stop_grace_ns;
};

#ifdef __cplusplus
extern "C" {
#endif
/* vgpu_kernel.cu: the kernel and its occupancy query. */
int vgpu_launch(const struct vgpu_params *p, void *stream);
int vgpu_max_blocks(int *max);
#ifdef __cplusplus
}
#endif

#endif /* VGPU_SHARED_H */
