// SPDX-License-Identifier: GPL-2.0
/*
 * runtime_bench: the libvact runtime's own costs, on top of the raw ports
 * that selftests/vactor_bench measures.
 *
 *   rtt-actors   ping-pong between two actors on two workers (ctx_send)
 *   rtt-request  blocking vact_runtime_request from main to an actor
 *   throughput   one actor streams to another on the other worker
 *
 * Usage: runtime_bench [ROUNDS] (default 20000).  Prints one line per
 * measurement; exit status 0 unless a message went missing.  Under qemu
 * TCG compare only ratios taken in one boot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vact.h>

#define WINDOW		256

static int done_pipe[2];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void done(uint64_t v)
{
	if (write(done_pipe[1], &v, sizeof(v)) != sizeof(v))
		_exit(2);
}

static uint64_t wait_done(void)
{
	uint64_t v = 0;

	return read(done_pipe[0], &v, sizeof(v)) == sizeof(v) ? v : 0;
}

struct peer {
	uint64_t other;
	uint64_t n, limit;
};

/* Ping-pong and streaming: tag 1 bounces until limit, tag 2 counts. */
static int peer_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct peer *p = vact_ctx_data(ctx);

	if (msg->flags & VACT_MSG_REQUEST)
		return vact_ctx_reply(ctx, msg, msg->data, msg->len);
	if (msg->tag == 3 || msg->tag == 4) {
		/* Stream a window; the receiver asks for more (tag 4) as it
		 * goes, so the kernel mailbox never overflows. */
		for (int i = 0; i < WINDOW && p->n < p->limit; i++, p->n++) {
			int ret = vact_ctx_send(ctx, p->other, &p->n,
						sizeof(p->n), 2);

			if (ret)
				return ret;
		}
		return 0;
	}
	if (msg->tag == 2 && (p->n + 1) % WINDOW == 0 && p->n + 1 < p->limit) {
		int ret = vact_ctx_send(ctx, p->other, NULL, 0, 4);

		if (ret)
			return ret;
	}
	if (++p->n == p->limit) {
		done(p->n);
		return 0;
	}
	if (msg->tag == 1)
		return vact_ctx_send(ctx, p->other, NULL, 0, 1);
	return 0;
}

static void peer_undelivered(struct vact_ctx *ctx, uint64_t to, int err)
{
	fprintf(stderr, "runtime_bench: lost a message: %s\n", vact_strerror(err));
	done(0);
}

static const struct vact_actor_type peer_type = {
	.name = "bench-peer",
	.message = peer_message,
	.undelivered = peer_undelivered,
};

int main(int argc, char **argv)
{
	uint64_t rounds = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000;
	struct vact_runtime_opts o = { .workers = 2 };
	struct peer a = { 0 }, b = { 0 };
	struct vact_runtime *rt;
	uint64_t ida, idb, t0, t1;
	int ret, rc = 0;

	if (!rounds || pipe(done_pipe))
		return 1;
	ret = vact_runtime_start(&rt, &o);
	if (!ret) {
		struct vact_spawn_opts sa = { .flags = VACT_SPAWN_WORKER, .worker = 0, .data = &a };
		struct vact_spawn_opts sb = { .flags = VACT_SPAWN_WORKER, .worker = 1, .data = &b };

		ret = vact_runtime_spawn(rt, &peer_type, &sa, &ida);
		ret = ret ?: vact_runtime_spawn(rt, &peer_type, &sb, &idb);
	}
	if (ret) {
		fprintf(stderr, "runtime_bench: %s\n", vact_strerror(ret));
		return 1;
	}
	a.other = idb;
	b.other = ida;

	/* a counts the balls that come back: one per round trip. */
	a.limit = rounds;
	b.limit = rounds + 1;
	t0 = now_ns();
	ret = vact_runtime_send(rt, idb, NULL, 0, 1);
	if (ret || wait_done() != rounds) {
		rc = 1;
	} else {
		t1 = now_ns();
		printf("runtime_bench: rtt-actors    %8" PRIu64 " round trips  %8.0f ns each\n",
		       rounds, (double)(t1 - t0) / (double)rounds);
	}

	t0 = now_ns();
	for (uint64_t i = 0; i < rounds && !rc; i++) {
		uint64_t back = 0;

		ret = vact_runtime_request(rt, ida, &i, sizeof(i), &back,
					   sizeof(back), -1);
		if (ret != (int)sizeof(back) || back != i)
			rc = 1;
	}
	if (!rc)
		printf("runtime_bench: rtt-request   %8" PRIu64 " round trips  %8.0f ns each\n",
		       rounds, (double)(now_ns() - t0) / (double)rounds);

	/* b counts what a streams. */
	b.n = 0;
	b.limit = rounds * 4;
	a.n = 0;
	a.limit = rounds * 4;
	t0 = now_ns();
	ret = vact_runtime_send(rt, ida, NULL, 0, 3);
	if (rc || ret || wait_done() != rounds * 4) {
		rc = 1;
	} else {
		t1 = now_ns();
		printf("runtime_bench: throughput    %8" PRIu64 " messages     %8.0f ns each, %.0f msg/s\n",
		       rounds * 4, (double)(t1 - t0) / (double)(rounds * 4),
		       (double)rounds * 4 * 1e9 / (double)(t1 - t0));
	}
	vact_runtime_stop(rt);
	printf("runtime_bench: %s\n", rc ? "FAIL" : "ok");
	return rc;
}
