// SPDX-License-Identifier: GPL-2.0
/*
 * send_cost: the kernel's cost per message on the send path, which one
 * process shows alone, with no second vCPU to wait for or wake.
 *
 * One port sends batches of 64-byte messages to its own actor (or to two in
 * turn) through the SQ, one SQE each or all in one VACTOR_OP_SEND_BATCH,
 * and reaps them; the same loop with one
 * IORING_OP_MSG_RING per message to its own ring is the io_uring figure,
 * and NOPs (each posts a completion) the floor of an ENTER.  Each figure is
 * the best and the median of ROUNDS runs of MSGS messages.
 *
 * Usage: send_cost [BATCH [MSGS [ROUNDS]]] (default 32 100000 9).
 * Exit status 0 unless a call failed.  Under qemu TCG compare only figures
 * of one boot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vact.h>

enum { ONE_TARGET, TWO_TARGETS, BATCH_OP, NOP, MSG_RING, NR_MODES };

static const char *const mode_name[NR_MODES] = {
	"vactor, one target", "vactor, two targets in turn",
	"vactor SEND_BATCH, one SQE", "vactor NOP (completes)",
	"io_uring MSG_RING",
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The CQ holds the batch's messages (and nothing else): consume them. */
static int reap(struct vact_port *port, unsigned int batch)
{
	unsigned int n = vact_cq_ready(port);

	vact_cq_advance(port, n);
	return n == batch ? 0 : -EIO;
}

/* One batch as one SEND_BATCH SQE, written into the send area. */
static int vactor_batch_op(struct vact_port *port, uint64_t to,
			   unsigned int batch, const char *msg)
{
	struct vactor_sqe *sqe;
	struct vact_batch b;
	unsigned int k;
	void *p;
	int ret;

	ret = vact_batch_start(port, &b, 0);
	if (ret)
		return ret;
	for (k = 0; k < batch; k++) {
		p = vact_batch_add(&b, to, 64, k);
		if (!p)
			return -ENOSPC;
		memcpy(p, msg, 64);
	}
	sqe = vact_get_sqe(port);
	if (!sqe)
		return -EBUSY;
	ret = vact_prep_send_batch(sqe, &b, to, 0, 0);
	if (ret)
		return ret;
	ret = vact_submit(port);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	return reap(port, batch);
}

/* One batch through the vactor port; 0 or a negative errno. */
static int vactor_batch(struct vact_port *port, int mode, const uint64_t *to,
			unsigned int batch, const char *msg)
{
	struct vactor_sqe *sqe;
	unsigned int k;
	int ret;

	if (mode == BATCH_OP)
		return vactor_batch_op(port, to[0], batch, msg);
	for (k = 0; k < batch; k++) {
		sqe = vact_get_sqe(port);
		if (!sqe)
			return -EBUSY;
		if (mode == NOP) {
			vact_prep_nop(sqe, k);
			continue;
		}
		ret = vact_prep_send(port, sqe, to[0],
				     to[mode == TWO_TARGETS ? k & 1 : 0],
				     msg, 64, k);
		if (ret)
			return ret;
	}
	ret = vact_submit(port);
	if (ret != (int)batch)
		return ret < 0 ? ret : -EIO;
	/* The messages came back to this port: consume them. */
	return reap(port, batch);
}

/* One batch of MSG_RINGs to our own ring. */
static int msg_ring_batch(struct io_uring *ring, unsigned int batch)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned int k, head, got = 0;
	int ret;

	for (k = 0; k < batch; k++) {
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
		io_uring_prep_msg_ring(sqe, ring->ring_fd, 64, k, 0);
	}
	ret = io_uring_submit(ring);
	if (ret != (int)batch)
		return ret < 0 ? ret : -EIO;
	io_uring_for_each_cqe(ring, head, cqe)
		got++;
	io_uring_cq_advance(ring, got);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int batch = argc > 1 ? (unsigned int)atoi(argv[1]) : 32;
	unsigned int msgs = argc > 2 ? (unsigned int)atoi(argv[2]) : 100000;
	unsigned int rounds = argc > 3 ? (unsigned int)atoi(argv[3]) : 9;
	/* Room for a batch's messages and the MSG_RING's two CQEs each. */
	struct vactor_params params = { .sq_entries = 256, .cq_entries = 4096 };
	double *ns[NR_MODES], t0;
	struct io_uring ring;
	struct vact_port port;
	unsigned int r, i;
	uint64_t to[2];
	char msg[64];
	cpu_set_t cpu;
	int mode, ret;

	if (!batch || batch > 256 || !msgs || !rounds) {
		fprintf(stderr, "usage: send_cost [BATCH (1..256) [MSGS [ROUNDS]]]\n");
		return 2;
	}
	/* One CPU: the figure is the send path, not a cross-CPU wakeup. */
	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	sched_setaffinity(0, sizeof(cpu), &cpu);
	memset(msg, 0x5a, sizeof(msg));
	ret = vact_port_open(&port, &params);
	if (!ret)
		ret = vact_create(&port, NULL, 0, &to[0]);
	if (!ret)
		ret = vact_create(&port, NULL, 0, &to[1]);
	if (!ret)
		ret = io_uring_queue_init(512, &ring, 0);
	if (ret) {
		fprintf(stderr, "send_cost: setup: %s\n", vact_strerror(ret));
		return 1;
	}
	for (mode = 0; mode < NR_MODES; mode++) {
		ns[mode] = calloc(rounds, sizeof(double));
		if (!ns[mode])
			return 1;
	}
	/* The modes interleave, so that drift in the host hits them alike. */
	for (r = 0; r < rounds; r++) {
		for (mode = 0; mode < NR_MODES; mode++) {
			t0 = now_ns();
			for (i = 0; i < msgs; i += batch) {
				ret = mode == MSG_RING ? msg_ring_batch(&ring, batch) :
				      vactor_batch(&port, mode, to, batch, msg);
				if (ret) {
					fprintf(stderr, "send_cost: %s: %s\n",
						mode_name[mode], vact_strerror(ret));
					return 1;
				}
			}
			ns[mode][r] = (now_ns() - t0) / msgs;
		}
	}
	printf("# send_cost: batch %u, %u messages, best and median of %u\n",
	       batch, msgs, rounds);
	for (mode = 0; mode < NR_MODES; mode++) {
		qsort(ns[mode], rounds, sizeof(double), cmp_double);
		printf("%-28s best %7.1f  median %7.1f ns/msg\n", mode_name[mode],
		       ns[mode][0], ns[mode][rounds / 2]);
	}
	printf("vactor one target / MSG_RING: %.2f (best), %.2f (median)\n",
	       ns[ONE_TARGET][0] / ns[MSG_RING][0],
	       ns[ONE_TARGET][rounds / 2] / ns[MSG_RING][rounds / 2]);
	printf("vactor SEND_BATCH / MSG_RING: %.2f (best), %.2f (median)\n",
	       ns[BATCH_OP][0] / ns[MSG_RING][0],
	       ns[BATCH_OP][rounds / 2] / ns[MSG_RING][rounds / 2]);
	io_uring_queue_exit(&ring);
	vact_port_close(&port);
	return 0;
}
