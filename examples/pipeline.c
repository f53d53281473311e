// SPDX-License-Identifier: MIT
/*
 * pipeline: three stages, one process each, connected by name.
 *
 *   parse   (child 2)  "17" (text)       -> 17 (uint64_t) to square
 *   square  (child 1)  17                -> 289 to sum
 *   sum     (parent)   adds up, counts items
 *
 * The parent's main thread feeds "1".."ITEMS" to parse, then an END
 * message.  Messages keep their order per sender and receiver, so END
 * reaches each stage after every item before it; sum tells main the
 * total when END arrives.  Each stage forwards END and the parent then
 * stops the children's stages (vact_runtime_kill).
 *
 * Prints four fixed lines; exit status 0 only if the sum is right.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <vact.h>

#define ITEMS		1000
#define TAG_ITEM	1
#define TAG_END		2

static int done_pipe[2];

static void done(char code)
{
	if (write(done_pipe[1], &code, 1) != 1)
		_exit(3);
}

static int wait_done(void)
{
	char b;

	return read(done_pipe[0], &b, 1) == 1 ? b : -1;
}

struct stage {
	uint64_t next;		/* the following stage */
	uint64_t items;
	uint64_t total;		/* sum only */
	int err;
};

static int parse_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct stage *s = vact_ctx_data(ctx);
	char text[32];
	uint64_t v;

	if (msg->tag == TAG_END)
		return vact_ctx_send(ctx, s->next, NULL, 0, TAG_END);
	if (msg->len == 0 || msg->len >= sizeof(text))
		return -EINVAL;
	memcpy(text, msg->data, msg->len);
	text[msg->len] = 0;
	v = strtoull(text, NULL, 10);
	s->items++;
	return vact_ctx_send(ctx, s->next, &v, sizeof(v), TAG_ITEM);
}

static int square_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct stage *s = vact_ctx_data(ctx);
	uint64_t v;

	if (msg->tag == TAG_END)
		return vact_ctx_send(ctx, s->next, NULL, 0, TAG_END);
	if (msg->len != sizeof(v))
		return -EINVAL;
	memcpy(&v, msg->data, sizeof(v));
	v *= v;
	s->items++;
	return vact_ctx_send(ctx, s->next, &v, sizeof(v), TAG_ITEM);
}

static int sum_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct stage *s = vact_ctx_data(ctx);
	uint64_t v;

	if (msg->tag == TAG_END) {
		done(0);
		return 0;
	}
	if (msg->len != sizeof(v))
		return -EINVAL;
	memcpy(&v, msg->data, sizeof(v));
	s->total += v;
	s->items++;
	return 0;
}

/* A refused or dropped message breaks the pipeline: say so. */
static void stage_undelivered(struct vact_ctx *ctx, uint64_t to, int err)
{
	struct stage *s = vact_ctx_data(ctx);

	s->err = err;
	fprintf(stderr, "pipeline: a message to %" PRIu64 " was lost: %s\n",
		to, vact_strerror(err));
}

static void stage_stop(struct vact_ctx *ctx)
{
	done(0);
}

static const struct vact_actor_type parse_type = {
	.name = "parse", .type_id = 3, .message = parse_message,
	.undelivered = stage_undelivered, .stop = stage_stop,
};
static const struct vact_actor_type square_type = {
	.name = "square", .type_id = 3, .message = square_message,
	.undelivered = stage_undelivered, .stop = stage_stop,
};
static const struct vact_actor_type sum_type = {
	.name = "sum", .type_id = 3, .message = sum_message,
};

static void stage_name(char *buf, size_t size, pid_t owner, const char *what)
{
	snprintf(buf, size, "pipeline.%d.%s", (int)owner, what);
}

/* A child: hosts one stage that forwards to `next_name`, until stopped. */
static int stage_main(const struct vact_actor_type *type, pid_t owner,
		      const char *next, int ready)
{
	struct stage s = { 0 };
	struct vact_spawn_opts so = { .data = &s };
	struct vact_runtime *rt;
	char name[64], nname[64], b = 'r';
	int ret;

	stage_name(name, sizeof(name), owner, type->name);
	stage_name(nname, sizeof(nname), owner, next);
	so.name = name;
	ret = vact_runtime_start(&rt, NULL);
	if (ret)
		goto fail;
	ret = vact_runtime_find(rt, nname, &s.next);
	if (!ret)
		ret = vact_runtime_spawn(rt, type, &so, NULL);
	if (ret) {
		vact_runtime_stop(rt);
		goto fail;
	}
	if (write(ready, &b, 1) != 1 || wait_done() != 0)
		ret = -EPIPE;
	vact_runtime_stop(rt);
	if (ret)
		goto fail;
	/* Items are read by the stage's worker; it has stopped by now. */
	if (s.err || s.items != ITEMS) {
		fprintf(stderr, "pipeline: %s saw %" PRIu64 " items\n",
			type->name, s.items);
		return 1;
	}
	return 0;
fail:
	fprintf(stderr, "pipeline: %s: %s\n", type->name, vact_strerror(ret));
	return 1;
}

static pid_t start_stage(const struct vact_actor_type *type, const char *next)
{
	int ready[2];
	pid_t owner = getpid(), pid;
	char b;

	if (pipe(ready))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(ready[0]);
		/* Our own done pipe: the parent's is the parent's. */
		close(done_pipe[0]);
		close(done_pipe[1]);
		if (pipe(done_pipe))
			_exit(1);
		_exit(stage_main(type, owner, next, ready[1]));
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &b, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

int main(void)
{
	const uint64_t expect = (uint64_t)ITEMS * (ITEMS + 1) * (2 * ITEMS + 1) / 6;
	struct vact_runtime *rt;
	struct stage sum = { 0 };
	struct vact_spawn_opts so = { .data = &sum };
	pid_t pids[2] = { -1, -1 };
	uint64_t parse = 0, square = 0;
	char name[64];
	int i, ret, ok = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(300);
	if (pipe(done_pipe)) {
		perror("pipe");
		return 1;
	}
	printf("pipeline: parse -> square -> sum, one process per stage\n");
	ret = vact_runtime_start(&rt, NULL);
	if (ret) {
		fprintf(stderr, "pipeline: %s\n", vact_strerror(ret));
		printf("pipeline: FAIL\n");
		return 1;
	}
	stage_name(name, sizeof(name), getpid(), "sum");
	so.name = name;
	ret = vact_runtime_spawn(rt, &sum_type, &so, NULL);
	/* Last stage first: each finds the next one by name as it starts. */
	if (!ret && (pids[0] = start_stage(&square_type, "sum")) < 0)
		ret = -ECHILD;
	if (!ret && (pids[1] = start_stage(&parse_type, "square")) < 0)
		ret = -ECHILD;
	if (!ret) {
		stage_name(name, sizeof(name), getpid(), "parse");
		ret = vact_runtime_find(rt, name, &parse);
	}
	if (!ret) {
		stage_name(name, sizeof(name), getpid(), "square");
		ret = vact_runtime_find(rt, name, &square);
	}
	for (i = 1; i <= ITEMS && !ret; i++) {
		char text[16];
		int len = snprintf(text, sizeof(text), "%d", i);

		/* -EAGAIN: parse's mailbox is full; the kernel kept nothing. */
		while ((ret = vact_runtime_send(rt, parse, text, (uint32_t)len,
						TAG_ITEM)) == -EAGAIN)
			;
	}
	if (!ret)
		ret = vact_runtime_send(rt, parse, NULL, 0, TAG_END);
	if (ret || wait_done() != 0) {
		fprintf(stderr, "pipeline: %s\n", vact_strerror(ret));
		ok = 0;
	}
	/* sum's worker wrote these before it reported END. */
	if (ok) {
		printf("pipeline: %" PRIu64 " items through 3 stages\n", sum.items);
		printf("pipeline: sum of squares of 1..%d = %" PRIu64
		       " (expected %" PRIu64 ")\n", ITEMS, sum.total, expect);
		if (sum.items != ITEMS || sum.total != expect)
			ok = 0;
	}
	/* Stop the children's stages; their stop() lets each child return. */
	for (i = 0; i < 2; i++) {
		uint64_t id = i == 0 ? square : parse;
		int status;

		if (pids[i] <= 0)
			continue;
		if (!id || vact_runtime_kill(rt, id))
			kill(pids[i], SIGTERM);
		if (waitpid(pids[i], &status, 0) != pids[i] ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "pipeline: stage process %d failed\n", i);
			ok = 0;
		}
	}
	vact_runtime_stop(rt);
	printf("pipeline: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
