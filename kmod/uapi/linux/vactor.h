/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vactor: kernel-resident virtual actors.
 *
 * The one definition of the /dev/vactor ioctls, ring layout and entry
 * formats, shared by the module, libvact, the CUDA helper and the tests.
 * See Documentation/uapi.rst.
 */
#ifndef _UAPI_LINUX_VACTOR_H
#define _UAPI_LINUX_VACTOR_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/const.h>

#define VACTOR_DEVICE		"/dev/vactor"

/* Payloads up to this size ride inline in the SQE/CQE. */
#define VACTOR_INLINE_MAX	64
/* Largest payload of one message (through the buffer area). */
#define VACTOR_MSG_MAX		65536
/* Actor names: NUL-terminated, at most VACTOR_NAME_MAX - 1 bytes. */
#define VACTOR_NAME_MAX		64

/* Ring size limits (entries are rounded up to a power of two). */
#define VACTOR_SQ_MAX		32768
#define VACTOR_CQ_MAX		65536

/*
 * Submission queue entry: 128 bytes.  Written by userspace; the kernel reads
 * each one once into a private copy.  Every field marked resv must be zero.
 */
struct vactor_sqe {
	__u8	opcode;		/* enum vactor_op */
	__u8	flags;		/* VACTOR_SQE_F_* */
	__u16	resv0;
	__u32	len;		/* payload (or name) length in bytes */
	__u64	actor;		/* acting actor: must be hosted by this port */
	__u64	target;		/* target actor id */
	__u64	user_data;	/* echoed in this entry's completion */
	__u64	tag;		/* carried unchanged to the receiver */
	__u32	buf_off;	/* VACTOR_SQE_F_BUF: offset in the send area */
	__u32	type;		/* CREATE: the actor's type */
	__u64	resv1[2];
	__u8	data[VACTOR_INLINE_MAX];	/* inline payload or name */
};

/* The payload is in the send area at buf_off, not inline. */
#define VACTOR_SQE_F_BUF	_BITUL(0)
/* Post a completion for a send that succeeded (errors always complete). */
#define VACTOR_SQE_F_ACK	_BITUL(1)
/* CREATE: any port of the namespace may send to it, not only its owner's. */
#define VACTOR_SQE_F_PUBLIC	_BITUL(2)
#define VACTOR_SQE_F_ALL	(VACTOR_SQE_F_BUF | VACTOR_SQE_F_ACK | \
				 VACTOR_SQE_F_PUBLIC)

enum vactor_op {
	VACTOR_OP_NOP,		/* completes with res 0 */
	VACTOR_OP_CREATE,	/* new actor hosted here; data: optional name */
	VACTOR_OP_DESTROY,	/* destroy actor (hosted here) */
	VACTOR_OP_LOOKUP,	/* name in data -> cqe.actor */
	VACTOR_OP_SEND,		/* message from actor to target */
	VACTOR_OP_HOST,		/* host the dormant actor target on this port */
	VACTOR_OP_SEND_BATCH,	/* messages from actor, laid out in the send area */

	VACTOR_OP_LAST,
};

/*
 * VACTOR_OP_SEND_BATCH: the SQE's [buf_off, buf_off + len) in the send area
 * holds messages back to back, each this header followed by its len payload
 * bytes, the next one starting at the following multiple of
 * VACTOR_BATCH_ALIGN.  The completion's len counts the messages sent.
 */
struct vactor_batch_msg {
	__u64	target;		/* target actor id */
	__u64	tag;		/* carried unchanged to the receiver */
	__u32	len;		/* payload bytes after this header */
	__u32	resv;		/* must be 0 */
};

#define VACTOR_BATCH_ALIGN	8

/*
 * Completion queue entry: 128 bytes.  Written by the kernel only.
 */
struct vactor_cqe {
	__u8	event;		/* enum vactor_event */
	__u8	opcode;		/* EV_COMPLETE: the SQE's opcode */
	__u16	flags;		/* VACTOR_CQE_F_* */
	__s32	res;		/* 0 or a negative errno */
	__u32	len;		/* payload length; SEND_BATCH: messages sent */
	__u32	buf_off;	/* VACTOR_CQE_F_BUF: offset in the receive area */
	__u64	actor;		/* actor this event is for (see events) */
	__u64	source;		/* MSG: sending actor; UNDELIVERED: its target */
	__u64	user_data;	/* COMPLETE, UNDELIVERED: the SQE's user_data */
	__u64	tag;		/* MSG, UNDELIVERED: the sender's tag */
	__u64	ts_ns;		/* CLOCK_MONOTONIC time the kernel accepted it */
	__u64	resv;
	__u8	data[VACTOR_INLINE_MAX];	/* inline payload */
};

/* The payload is in the receive area at buf_off, not inline. */
#define VACTOR_CQE_F_BUF	_BITUL(0)
/* This message was handed to an earlier host and not consumed there. */
#define VACTOR_CQE_F_REDELIVERED _BITUL(1)

enum vactor_event {
	VACTOR_EV_COMPLETE = 1,	/* result of an SQE of this port */
	VACTOR_EV_MSG,		/* message for a hosted actor */
	VACTOR_EV_UNDELIVERED,	/* a message this port's actor sent was dropped */
};

/*
 * Ring header layout: offsets from the start of the ring's mapping.  head and
 * tail sit on separate cache lines; each has exactly one writer.
 *   SQ: userspace writes tail, the kernel writes head.
 *   CQ: the kernel writes tail, userspace writes head.
 */
struct vactor_ring_offsets {
	__u32	head;
	__u32	tail;
	__u32	flags;		/* VACTOR_SQ_F_* / VACTOR_CQ_F_* */
	__u32	ring_mask;
	__u32	ring_entries;
	__u32	entries;	/* offset of the entry array */
	__u32	resv[2];
};

/*
 * Each ring's entry array starts this many bytes into the ring (after head,
 * tail and flags); a ring takes this plus its entries, rounded up to pages.
 */
#define VACTOR_RING_HDR_SIZE	256

/* CQ flags: messages are waiting in kernel mailboxes for CQ space. */
#define VACTOR_CQ_F_BACKLOG	_BITUL(0)

/* mmap offsets of the four regions of a port. */
#define VACTOR_OFF_SQ		0x00000000ULL
#define VACTOR_OFF_CQ		0x10000000ULL
#define VACTOR_OFF_SEND		0x20000000ULL	/* read-write */
#define VACTOR_OFF_RECV		0x30000000ULL	/* read-only */

/*
 * SETUP flags.  VACTOR_SETUP_F_USER_MEM: the rings (and, optionally, the
 * areas) are in the caller's own memory, at the page-aligned addresses in
 * vactor_params.user; the module pins those pages until the port is
 * released and they can't be mapped with mmap.  See Documentation/uapi.rst,
 * "User-provided ring memory".
 */
#define VACTOR_SETUP_F_USER_MEM	_BITUL(0)
#define VACTOR_SETUP_F_ALL	VACTOR_SETUP_F_USER_MEM

/* Caller memory for a VACTOR_SETUP_F_USER_MEM port (addresses: this process). */
struct vactor_user_mem {
	__u64	sq_addr;	/* SQ ring, sq_size bytes: required */
	__u64	cq_addr;	/* CQ ring, cq_size bytes: required */
	__u64	send_addr;	/* send area, send_size bytes; 0: kernel pages */
	__u64	recv_addr;	/* receive area, recv_size bytes; 0: kernel pages */
};

struct vactor_params {
	__u32	sq_entries;	/* in: requested (0: 128); out: actual */
	__u32	cq_entries;	/* in: requested (0: 4 * sq); out: actual */
	__u32	send_size;	/* in: bytes (0: 256 KiB); out: rounded to pages */
	__u32	recv_size;	/* in: bytes (0: 1 MiB, min VACTOR_MSG_MAX) */
	__u32	flags;		/* in: VACTOR_SETUP_F_* */
	__u32	port_id;	/* out: this port's id, as in /proc/vactor */
	__u32	sq_size;	/* out: bytes to map at VACTOR_OFF_SQ */
				/* (USER_MEM in: bytes at user.sq_addr) */
	__u32	cq_size;	/* out: bytes to map at VACTOR_OFF_CQ */
				/* (USER_MEM in: bytes at user.cq_addr) */
	struct vactor_ring_offsets sq_off;	/* out */
	struct vactor_ring_offsets cq_off;	/* out */
	union {
		__u64	resv[4];	/* without USER_MEM: must be 0 */
		struct vactor_user_mem user;	/* with VACTOR_SETUP_F_USER_MEM */
	};
};

#define VACTOR_ENTER_GETEVENTS	_BITUL(0)	/* wait for min_complete */
#define VACTOR_ENTER_TIMEOUT	_BITUL(1)	/* ...for at most timeout_ns */
#define VACTOR_ENTER_ALL	(VACTOR_ENTER_GETEVENTS | VACTOR_ENTER_TIMEOUT)

struct vactor_enter {
	__u32	to_submit;	/* SQEs to consume from the SQ */
	__u32	min_complete;	/* with GETEVENTS: CQEs to wait for */
	__u32	flags;		/* VACTOR_ENTER_* */
	__u32	resv0;
	__u64	timeout_ns;	/* with TIMEOUT: relative */
	__u64	resv[2];
};

/* One SQE executed synchronously; its completion is returned, not queued. */
struct vactor_call {
	struct vactor_sqe sqe;	/* in */
	struct vactor_cqe cqe;	/* out */
};

#define VACTOR_IOC_MAGIC	0xAC
#define VACTOR_IOC_SETUP	_IOWR(VACTOR_IOC_MAGIC, 0, struct vactor_params)
#define VACTOR_IOC_ENTER	_IOW(VACTOR_IOC_MAGIC, 1, struct vactor_enter)
#define VACTOR_IOC_CALL		_IOWR(VACTOR_IOC_MAGIC, 2, struct vactor_call)

/*
 * io_uring: IORING_OP_URING_CMD on a port's fd runs these commands from an
 * application's own io_uring (Documentation/uring.rst).  sqe->cmd_op is a
 * VACTOR_URING_CMD_*; the command area of a plain 64-byte SQE (sqe->cmd, 16
 * bytes) holds the struct it names.  Waiting for CQEs is IORING_OP_POLL_ADD
 * on the port's fd, not a command: io_uring can always cancel a poll.
 */
struct vactor_uring_enter {
	__u32	to_submit;	/* SQEs to consume from the SQ */
	__u32	flags;		/* must be 0 */
	__u64	resv;
};

struct vactor_uring_call {
	__u64	call;		/* user address of a struct vactor_call */
	__u32	flags;		/* must be 0 */
	__u32	resv;
};

#define VACTOR_URING_CMD_ENTER	_IOW(VACTOR_IOC_MAGIC, 0x80, struct vactor_uring_enter)
#define VACTOR_URING_CMD_CALL	_IOW(VACTOR_IOC_MAGIC, 0x81, struct vactor_uring_call)

#endif /* _UAPI_LINUX_VACTOR_H */
