/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * vgpu: GPU actor slots on the vactor ring protocol.
 *
 * One persistent CUDA kernel with N blocks, launched once.  Block 0 is the
 * supervisor (registry, free list, supervision groups, heartbeat monitor);
 * blocks 1..N-1 are actor slots, dormant until activated.  Each slot talks
 * to the host through its own vactor port: the slot writes SQEs and reads
 * CQEs exactly as a libvact thread does, in pinned host memory that the GPU
 * maps.  With /dev/vactor the port's rings are that memory itself
 * (VACTOR_SETUP_F_USER_MEM): the kernel writes messages for a GPU actor
 * straight into memory the GPU reads.  Documentation/cuda.rst.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure.
 */
#ifndef VGPU_H
#define VGPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vactor.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VGPU_MAX_SLOTS		128	/* blocks, the supervisor included */
#define VGPU_MAX_GROUPS		32
#define VGPU_MAX_CHANNELS	256	/* GPU-to-GPU channels, all slots */
#define VGPU_CHAN_MAX		64	/* entries of one channel, at most */
#define VGPU_MAX_LINKS		8	/* channels into / out of one slot */
#define VGPU_STATE_MAX		256	/* bytes of actor state / snapshot */
#define VGPU_WINDOW_MAX		16	/* max_restarts of a group, at most - 1 */

/* Kernel actor types of GPU actors: VGPU_TYPE_BASE + enum vgpu_type. */
#define VGPU_TYPE_BASE		0x67700000u

enum vgpu_type {
	VGPU_ECHO = 1,		/* replies to the sender: same tag, same payload */
	VGPU_COUNTER,		/* state: u64 count, u64 sum of first 8 bytes; replies count */
	VGPU_FORWARD,		/* state: u64 next actor; forwards every message there */
	VGPU_PINGPONG,		/* state: u64 report, u64 done; tag n > 0: back to
				 * the sender with n - 1; n == 0: done++, and
				 * done sent to report (if not 0) as tag and data */
	VGPU_TYPE_LAST,
};

enum vgpu_policy {
	VGPU_PERMANENT,		/* always restarted */
	VGPU_TRANSIENT,		/* restarted unless it exited normally */
	VGPU_TEMPORARY,		/* never restarted */
};

enum vgpu_strategy {
	VGPU_ONE_FOR_ONE,
	VGPU_ONE_FOR_ALL,
	VGPU_REST_FOR_ONE,
};

/* A group's parent: another group, or this (the host: CPU-side supervision). */
#define VGPU_PARENT_HOST	(-1)

/* Config flags. */
#define VGPU_CFG_RESTORE	(1u << 0)	/* restart from the last snapshot */
#define VGPU_CFG_TEST_HOOKS	(1u << 1)	/* obey VGPU_TAG_* test tags */

/* Tags a test-hooked actor obeys instead of its type's behaviour. */
#define VGPU_TAG_CRASH		0xdead000000000001ull	/* handler fails */
#define VGPU_TAG_STUCK		0xdead000000000002ull	/* stops, no heartbeat */
#define VGPU_TAG_EXIT		0xdead000000000003ull	/* exits normally */

struct vgpu_actor_config {
	char name[VACTOR_NAME_MAX];	/* kernel actor name ("" none) */
	uint32_t type;			/* enum vgpu_type */
	uint32_t queue_cap;		/* entries of each channel into it (pow2) */
	uint32_t policy;		/* enum vgpu_policy */
	int32_t group;			/* supervision group */
	uint64_t hb_interval_ns;	/* heartbeat period (0: every loop) */
	uint64_t hb_timeout_ns;		/* stale for longer: failed (0: never) */
	uint32_t flags;			/* VGPU_CFG_* */
	uint32_t state_len;		/* bytes of state below */
	uint8_t state[VGPU_STATE_MAX];	/* initial state */
	uint64_t actor;			/* its id (set by the runtime) */
};

enum vgpu_event_type {
	VGPU_EV_CREATED = 1,	/* slot allocated (a = cookie) */
	VGPU_EV_STARTED,	/* actor running in slot (a = generation) */
	VGPU_EV_FAILED,		/* slot failed (a = enum vgpu_fail) */
	VGPU_EV_RESTARTED,	/* restarted in place (a = restarts so far) */
	VGPU_EV_EXITED,		/* exited and not restarted (a = enum vgpu_fail) */
	VGPU_EV_DESTROYED,	/* back in the free pool */
	VGPU_EV_LOST,		/* never acknowledged a stop: slot retired */
	VGPU_EV_ESCALATED,	/* group (slot field) over its intensity */
	VGPU_EV_GROUP_RESTARTED, /* group restarted by its parent (slot = group) */
	VGPU_EV_GROUP,		/* group created (slot = group, a = cookie) */
	VGPU_EV_LINKED,		/* channel from slot created (a = cookie, b = channel) */
	VGPU_EV_ERROR,		/* a control command failed (a = cookie, b = -errno) */
};

enum vgpu_fail {
	VGPU_FAIL_CRASH = 1,	/* its handler failed */
	VGPU_FAIL_TIMEOUT,	/* heartbeat older than its timeout */
	VGPU_FAIL_EXIT,		/* exited normally */
	VGPU_FAIL_SIBLING,	/* stopped for a sibling (one_for_all, rest_for_one) */
	VGPU_FAIL_GROUP,	/* its group was restarted or stopped */
};

struct vgpu_event {
	uint32_t type;		/* enum vgpu_event_type */
	int32_t slot;
	uint64_t a, b;
	uint64_t ts_ns;		/* GPU global timer */
};

/* Per-slot counters, written by the slot only (pinned memory). */
struct vgpu_slot_stats {
	uint64_t handled;	/* messages handled */
	uint64_t host_in;	/* ...of them from the host (CQ) */
	uint64_t k2k_in;	/* ...from other slots (channels) */
	uint64_t host_out;	/* SQEs written */
	uint64_t k2k_out;	/* channel messages written */
	uint64_t full;		/* sends refused: ring or channel full */
	uint64_t dropped;	/* channel messages for a former actor */
	uint64_t activations;	/* times started (create or restart) */
	uint64_t loops;		/* loop iterations while active */
};

enum vgpu_mode {
	VGPU_MODE_AUTO,		/* direct if the module takes user memory, else bridge */
	VGPU_MODE_DIRECT,	/* /dev/vactor ports in user memory the GPU maps */
	VGPU_MODE_BRIDGE,	/* /dev/vactor ports; a host thread copies */
	VGPU_MODE_LOOPBACK,	/* no module: the caller is the kernel side */
};

struct vgpu_opts {
	unsigned int slots;	/* blocks including the supervisor (2..VGPU_MAX_SLOTS) */
	unsigned int sq_entries;	/* per slot port (0: 64) */
	unsigned int cq_entries;	/* per slot port (0: 256) */
	enum vgpu_mode mode;
	unsigned int dormant_sleep_ns;	/* a dormant slot's nap (0: 2000) */
	uint64_t stop_grace_ns;	/* stop not acknowledged: lost (0: 100 ms) */
};

struct vgpu;

int vgpu_start(struct vgpu **g, const struct vgpu_opts *opts);
/* Shuts the kernel down, closes the ports (their actors go dormant). */
void vgpu_stop(struct vgpu *g);
enum vgpu_mode vgpu_mode(const struct vgpu *g);
unsigned int vgpu_slots(const struct vgpu *g);

/* A supervision group: its id. */
int vgpu_group_create(struct vgpu *g, enum vgpu_strategy strategy,
		      unsigned int max_restarts, uint64_t window_ns,
		      int parent);
/* CPU-side parent: restart a group that escalated to VGPU_PARENT_HOST. */
int vgpu_group_restart(struct vgpu *g, int group);

/*
 * Activates a dormant slot: the kernel actor (in the module modes) is
 * created on that slot's port.  Returns the slot; *actor its id.
 */
int vgpu_actor_create(struct vgpu *g, const struct vgpu_actor_config *cfg,
		      uint64_t *actor);
int vgpu_actor_destroy(struct vgpu *g, int slot);
int vgpu_actor_restart(struct vgpu *g, int slot);
/* A channel from slot src to slot dst in device memory: its number. */
int vgpu_link(struct vgpu *g, int src, int dst);
uint64_t vgpu_actor_id(const struct vgpu *g, int slot);

/*
 * The next event, waiting up to timeout_ns (< 0: forever); -ETIME.  Events
 * that the calls above waited for are delivered too, in order.
 */
int vgpu_event_next(struct vgpu *g, struct vgpu_event *ev, int64_t timeout_ns);
/* Waits for an event of type for slot (-1: any); earlier ones are kept. */
int vgpu_event_wait(struct vgpu *g, uint32_t type, int slot,
		    struct vgpu_event *ev, int64_t timeout_ns);

/* A consistent copy of the slot's last snapshot: its length. */
int vgpu_snapshot(struct vgpu *g, int slot, void *buf, size_t size);
/* The slot's counters (a copy). */
int vgpu_stats(struct vgpu *g, int slot, struct vgpu_slot_stats *st);
/* Supervisor counters: heartbeat timeouts seen, restarts, events dropped. */
struct vgpu_sup_stats {
	uint64_t loops, timeouts, restarts, escalations, lost, events_dropped;
};
int vgpu_sup_stats(struct vgpu *g, struct vgpu_sup_stats *st);

/*
 * Loopback mode only: the caller is the kernel side of each slot's port.
 * post: a message into the slot's CQ (inline payload, -EAGAIN when full);
 * take: the next SQE the slot wrote (-EAGAIN when none).
 */
int vgpu_lo_post(struct vgpu *g, int slot, uint64_t source, uint64_t tag,
		 const void *data, uint32_t len);
int vgpu_lo_take(struct vgpu *g, int slot, struct vactor_sqe *sqe);

/* The port of a slot (module modes): its fd, or -ENODEV. */
int vgpu_port_fd(const struct vgpu *g, int slot);

#ifdef __cplusplus
}
#endif

#endif /* VGPU_H */
