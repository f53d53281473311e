// SPDX-License-Identifier: MIT
/*
 * pingpong: two processes, one actor each, on the libvact runtime.
 *
 *   pong  (child)   returns every ball to its sender; answers requests
 *                   with the number they carry plus one
 *   ping  (parent)  serves ball 1; each ball that comes back is served
 *                   again with the next number, up to ROUNDS
 *
 * Then the parent's main thread makes ROUNDS blocking requests to pong and
 * checks every reply, and finally asks pong to stop (vact_runtime_kill);
 * pong's stop callback lets the child's main thread return.
 *
 * Prints four fixed lines; exit status 0 only if every ball and reply was
 * right.  Errors go to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <vact.h>

#define ROUNDS		1000
#define WAIT_NS		(30LL * 1000 * 1000 * 1000)

static int done_pipe[2];	/* a callback tells main it is done */

static void done(int code)
{
	char b = (char)code;

	if (write(done_pipe[1], &b, 1) != 1)
		_exit(3);
}

static int wait_done(void)
{
	char b;

	return read(done_pipe[0], &b, 1) == 1 ? b : -1;
}

/* --- pong ---------------------------------------------------------------- */

static int pong_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	uint64_t n;

	if (msg->flags & VACT_MSG_REQUEST) {
		if (msg->len != sizeof(n))
			return -EINVAL;
		memcpy(&n, msg->data, sizeof(n));
		n++;
		return vact_ctx_reply(ctx, msg, &n, sizeof(n));
	}
	/* A ball: back to whoever served it, same number. */
	return vact_ctx_send(ctx, msg->from, NULL, 0, msg->tag);
}

static void pong_stop(struct vact_ctx *ctx)
{
	done(0);
}

static const struct vact_actor_type pong_type = {
	.name = "pong",
	.type_id = 1,
	.message = pong_message,
	.stop = pong_stop,
};

static int pong_main(const char *name, int ready)
{
	struct vact_spawn_opts so = { .name = name, .flags = VACT_SPAWN_PUBLIC };
	struct vact_runtime *rt;
	char b = 'r';
	int ret;

	ret = vact_runtime_start(&rt, NULL);
	if (ret) {
		fprintf(stderr, "pong: runtime: %s\n", vact_strerror(ret));
		return 1;
	}
	ret = vact_runtime_spawn(rt, &pong_type, &so, NULL);
	if (ret)
		fprintf(stderr, "pong: spawn: %s\n", vact_strerror(ret));
	if (ret || write(ready, &b, 1) != 1 || wait_done() != 0) {
		vact_runtime_stop(rt);
		return 1;
	}
	return vact_runtime_stop(rt) ? 1 : 0;
}

/* --- ping ---------------------------------------------------------------- */

struct ping {
	uint64_t pong;
	uint64_t next;		/* the ball we wait for */
	int bad;
};

static int ping_message(struct vact_ctx *ctx, const struct vact_msg *msg)
{
	struct ping *p = vact_ctx_data(ctx);

	if (msg->from != p->pong || msg->tag != p->next) {
		fprintf(stderr, "ping: ball %" PRIu64 " from %" PRIu64 ", expected %" PRIu64 "\n",
			msg->tag, msg->from, p->next);
		p->bad++;
		done(1);
		return -EPROTO;
	}
	if (msg->tag == ROUNDS) {
		done(0);
		return 0;
	}
	return vact_ctx_send(ctx, p->pong, NULL, 0, ++p->next);
}

static int ping_activate(struct vact_ctx *ctx, const void *ckpt, size_t len)
{
	struct ping *p = vact_ctx_data(ctx);

	p->next = 1;
	return vact_ctx_send(ctx, p->pong, NULL, 0, 1);	/* serve */
}

static const struct vact_actor_type ping_type = {
	.name = "ping",
	.type_id = 1,
	.activate = ping_activate,
	.message = ping_message,
};

int main(void)
{
	struct vact_runtime_opts o = { .workers = 1 };
	struct vact_runtime *rt = NULL;
	struct ping p = { 0 };
	struct vact_spawn_opts so = { .data = &p };
	char name[64], b;
	int ready[2], status, ret, ok = 1;
	pid_t pid;
	uint64_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(300);	/* a lost message must not hang anyone */
	snprintf(name, sizeof(name), "pingpong.pong.%d", (int)getpid());
	if (pipe(ready) || pipe(done_pipe)) {
		perror("pipe");
		return 1;
	}
	printf("pingpong: ping and pong in two processes\n");
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(ready[0]);
		/* Our own done pipe: the parent's is the parent's. */
		close(done_pipe[0]);
		close(done_pipe[1]);
		if (pipe(done_pipe))
			_exit(1);
		_exit(pong_main(name, ready[1]));
	}
	close(ready[1]);
	if (read(ready[0], &b, 1) != 1) {
		fprintf(stderr, "ping: pong did not start\n");
		ok = 0;
		goto out;
	}
	ret = vact_runtime_start(&rt, &o);
	if (!ret)
		ret = vact_runtime_find(rt, name, &p.pong);
	if (!ret)
		ret = vact_runtime_spawn(rt, &ping_type, &so, NULL);
	if (ret) {
		fprintf(stderr, "ping: %s\n", vact_strerror(ret));
		ok = 0;
		goto out;
	}
	if (wait_done() != 0 || p.bad) {
		ok = 0;
		goto out;
	}
	printf("pingpong: %d round trips, ball came back %" PRIu64 " times in order\n",
	       ROUNDS, p.next);

	for (i = 0; i < ROUNDS; i++) {
		uint64_t back = 0;

		ret = vact_runtime_request(rt, p.pong, &i, sizeof(i), &back,
					   sizeof(back), WAIT_NS);
		if (ret != (int)sizeof(back) || back != i + 1) {
			fprintf(stderr, "ping: request %" PRIu64 ": %s\n", i,
				ret < 0 ? vact_strerror(ret) : "wrong reply");
			ok = 0;
			goto out;
		}
	}
	printf("pingpong: %d round trips as requests, every reply matched\n",
	       ROUNDS);
out:
	/* Ask pong to stop; a pong that never started has gone already. */
	if (rt && p.pong)
		vact_runtime_kill(rt, p.pong);
	else
		kill(pid, SIGTERM);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "ping: pong did not exit cleanly\n");
		ok = 0;
	}
	if (rt)
		vact_runtime_stop(rt);
	printf("pingpong: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
