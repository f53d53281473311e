// SPDX-License-Identifier: GPL-2.0
/*
 * vactor message stress: 2, 4 and 8 processes, each hosting one actor, send
 * to each other all-to-all, at least VACTOR_MSG_TOTAL messages (default one
 * million) per variant.  Every message is counted and checked: per
 * (sender, receiver) order through a sequence number (the tag, and the first
 * eight payload bytes when there are eight), length, and contents (a pattern
 * derived from sender and sequence number).
 *
 * Senders handle mailbox-full (EAGAIN) by sending the same message again.
 * To keep per-pair order a sender has at most one message in flight per
 * receiver: each send asks for a completion (VACTOR_SQE_F_ACK) and the next
 * message to that receiver waits for it, so a refused message is always
 * retried before any later one to the same receiver.
 *
 * Children report to the parent through a pipe; the parent asserts exact
 * totals.
 */
#include "kselftest_harness.h"

#include <sched.h>
#include <signal.h>
#include <time.h>

#include "vactor_test.h"

#define MAX_PROCS	8
#define DEFAULT_TOTAL	1000000ULL
#define STALL_NS	(120LL * 1000 * 1000 * 1000)
#define NOP_USER_DATA	(~0ULL)

/* What a child tells the parent. */
struct result {
	int idx;
	int failed;			/* 0 or a line number in child code */
	char why[96];
	uint64_t sent;			/* messages accepted by the kernel */
	uint64_t received;		/* messages received and verified */
	uint64_t eagain;		/* refusals, each retried */
	uint64_t bytes;			/* payload bytes received */
};

struct child {
	int idx, nprocs;
	uint64_t per_pair;
	struct vact_port p;
	uint64_t ids[MAX_PROCS];	/* every process's actor */
	uint64_t next[MAX_PROCS];	/* next seq to send to each */
	bool in_flight[MAX_PROCS];	/* a send to it awaits its completion */
	uint64_t expect[MAX_PROCS];	/* next seq expected from each */
	uint64_t sent_total, recv_total;
	struct result res;
	unsigned char buf[VACTOR_MSG_MAX];
};

/* Payload sizes: mostly 0..128, every 100th up to 4096, every 1000th max. */
static uint32_t msg_len(uint64_t seq)
{
	if (seq % 1000 == 999)
		return VACTOR_MSG_MAX;
	if (seq % 100 == 99)
		return VACTOR_INLINE_MAX + 1 +
		       (uint32_t)(seq / 100 * 397 % (4096 - VACTOR_INLINE_MAX));
	return (uint32_t)(seq % 129);
}

static uint64_t total_messages(void)
{
	const char *env = getenv("VACTOR_MSG_TOTAL");
	uint64_t n = env ? strtoull(env, NULL, 0) : 0;

	return n ? n : DEFAULT_TOTAL;
}

static void actor_name(char *buf, size_t size, pid_t test, int idx)
{
	snprintf(buf, size, "msg.%d.%d", (int)test, idx);
}

#define FAIL(c, ...) do {						\
	(c)->res.failed = __LINE__;					\
	snprintf((c)->res.why, sizeof((c)->res.why), __VA_ARGS__);	\
	return -1;							\
} while (0)

static int index_of(const struct child *c, uint64_t actor)
{
	int i;

	for (i = 0; i < c->nprocs; i++)
		if (c->ids[i] == actor)
			return i;
	return -1;
}

static int check_message(struct child *c, const struct vactor_cqe *cqe)
{
	int src = index_of(c, cqe->source);
	const void *data;

	if (cqe->actor != c->ids[c->idx])
		FAIL(c, "message for actor %llu", (unsigned long long)cqe->actor);
	if (src < 0 || src == c->idx)
		FAIL(c, "message from %llu", (unsigned long long)cqe->source);
	if (cqe->tag != c->expect[src])
		FAIL(c, "from %d: seq %llu, expected %llu", src,
		     (unsigned long long)cqe->tag,
		     (unsigned long long)c->expect[src]);
	if (cqe->len != msg_len(cqe->tag))
		FAIL(c, "from %d seq %llu: len %u", src,
		     (unsigned long long)cqe->tag, cqe->len);
	if (cqe->flags & VACTOR_CQE_F_REDELIVERED)
		FAIL(c, "from %d seq %llu: redelivered", src,
		     (unsigned long long)cqe->tag);
	data = vact_cqe_data(&c->p, cqe);
	if (!pattern_ok(data, cqe->len, (uint32_t)src, cqe->tag))
		FAIL(c, "from %d seq %llu: payload corrupt", src,
		     (unsigned long long)cqe->tag);
	c->expect[src]++;
	c->recv_total++;
	c->res.bytes += cqe->len;
	return 0;
}

static int check_completion(struct child *c, const struct vactor_cqe *cqe)
{
	int dst = (int)cqe->user_data;

	if (cqe->user_data == NOP_USER_DATA)
		return 0;
	if (cqe->opcode != VACTOR_OP_SEND || dst < 0 || dst >= c->nprocs ||
	    !c->in_flight[dst])
		FAIL(c, "stray completion op %u user_data %llu", cqe->opcode,
		     (unsigned long long)cqe->user_data);
	c->in_flight[dst] = false;
	if (cqe->res == -EAGAIN) {
		/* The same seq goes again, before any later one. */
		c->res.eagain++;
		sched_yield();
		return 0;
	}
	if (cqe->res)
		FAIL(c, "send to %d seq %llu: %s", dst,
		     (unsigned long long)c->next[dst], vact_strerror(cqe->res));
	c->next[dst]++;
	c->sent_total++;
	return 0;
}

static int handle_cqe(struct child *c, const struct vactor_cqe *cqe)
{
	switch (cqe->event) {
	case VACTOR_EV_MSG:
		return check_message(c, cqe);
	case VACTOR_EV_COMPLETE:
		return check_completion(c, cqe);
	default:
		FAIL(c, "event %u res %d", cqe->event, cqe->res);
	}
}

/* Reaps every ready CQE; returns how many, or -1 on a failed check. */
static int reap_ready(struct child *c)
{
	struct vactor_cqe *cqe;
	int n = 0;

	while (vact_peek_cqe(&c->p, &cqe) == 0) {
		/* Check before advancing: the receive area is reused after. */
		if (handle_cqe(c, cqe))
			return -1;
		vact_cqe_seen(&c->p, cqe);
		n++;
	}
	return n;
}

/* Queues the next message to every receiver that has none in flight. */
static int queue_sends(struct child *c)
{
	struct vactor_sqe *sqe;
	uint32_t len;
	uint64_t seq;
	int d, ret;

	for (d = 0; d < c->nprocs; d++) {
		if (d == c->idx || c->in_flight[d] || c->next[d] == c->per_pair)
			continue;
		sqe = vact_get_sqe(&c->p);
		if (!sqe)
			return 0;
		seq = c->next[d];
		len = msg_len(seq);
		pattern_fill(c->buf, len, (uint32_t)c->idx, seq);
		ret = vact_prep_send(&c->p, sqe, c->ids[c->idx], c->ids[d],
				     c->buf, len, seq);
		if (ret == -ENOSPC) {
			/* Send area still in use: this slot idles as a NOP. */
			vact_prep_nop(sqe, NOP_USER_DATA);
			return 0;
		}
		if (ret)
			FAIL(c, "prep send: %s", vact_strerror(ret));
		sqe->flags |= VACTOR_SQE_F_ACK;
		sqe->user_data = (uint64_t)d;
		c->in_flight[d] = true;
	}
	return 0;
}

static bool all_done(const struct child *c)
{
	uint64_t want = c->per_pair * (uint64_t)(c->nprocs - 1);

	return c->sent_total == want && c->recv_total == want;
}

static int exchange(struct child *c)
{
	struct vactor_cqe *cqe;
	int ret, got;

	while (!all_done(c)) {
		if (queue_sends(c))
			return -1;
		ret = vact_submit(&c->p);
		/* -EBUSY: our CQ is full; reaping below makes room. */
		if (ret < 0 && ret != -EBUSY)
			FAIL(c, "submit: %s", vact_strerror(ret));
		got = reap_ready(c);
		if (got < 0)
			return -1;
		if (got || all_done(c))
			continue;
		ret = vact_wait_cqe(&c->p, &cqe, STALL_NS);
		if (ret)
			FAIL(c, "waiting (sent %llu, received %llu): %s",
			     (unsigned long long)c->sent_total,
			     (unsigned long long)c->recv_total,
			     vact_strerror(ret));
	}
	return 0;
}

static int lookup_all(struct child *c, pid_t test)
{
	char name[VACTOR_NAME_MAX];
	int i, ret;

	for (i = 0; i < c->nprocs; i++) {
		actor_name(name, sizeof(name), test, i);
		ret = vact_lookup(&c->p, name, &c->ids[i]);
		if (ret)
			FAIL(c, "lookup %s: %s", name, vact_strerror(ret));
	}
	return 0;
}

/*
 * One process: host an actor, say so on ready, wait for go to close (every
 * actor exists then), exchange, report.
 */
static void __attribute__((noreturn))
child_main(struct child *c, pid_t test, int ready, int go, int results)
{
	struct vactor_params params = {
		.sq_entries = 64,
		.cq_entries = 1024,
		.send_size = 1 << 20,	/* room for a full batch of 64 KiB sends */
	};
	char name[VACTOR_NAME_MAX], b;
	int ret;

	c->res.idx = c->idx;
	actor_name(name, sizeof(name), test, c->idx);
	ret = vact_port_open(&c->p, &params);
	if (!ret)
		ret = vact_create(&c->p, name, 0, &c->ids[c->idx]);
	if (ret) {
		c->res.failed = __LINE__;
		snprintf(c->res.why, sizeof(c->res.why), "port/actor: %s",
			 vact_strerror(ret));
	}
	if (write(ready, "r", 1) != 1)
		_exit(3);
	close(ready);
	if (read(go, &b, 1) != 0)
		_exit(3);
	if (!c->res.failed && !lookup_all(c, test))
		exchange(c);
	c->res.sent = c->sent_total;
	c->res.received = c->recv_total;
	if (write(results, &c->res, sizeof(c->res)) != sizeof(c->res))
		_exit(3);
	/* Leave no actor behind: destroy ours (everything for it arrived). */
	if (!c->res.failed)
		vact_destroy(&c->p, c->ids[c->idx]);
	_exit(c->res.failed ? 1 : 0);
}

FIXTURE(msg) {
	pid_t pids[MAX_PROCS];
	int nr;
};

FIXTURE_VARIANT(msg) {
	int nprocs;
};

FIXTURE_VARIANT_ADD(msg, two) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(msg, four) { .nprocs = 4 };
FIXTURE_VARIANT_ADD(msg, eight) { .nprocs = 8 };

FIXTURE_SETUP(msg)
{
	self->nr = 0;
}

FIXTURE_TEARDOWN(msg)
{
	int i;

	/* Only after a failed assert: a finished test reaped them all. */
	for (i = 0; i < self->nr; i++) {
		if (self->pids[i] > 0) {
			kill(self->pids[i], SIGKILL);
			waitpid(self->pids[i], NULL, 0);
		}
	}
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Long under qemu TCG; the timeout is what catches a lost message. */
TEST_F_TIMEOUT(msg, all_to_all, 900)
{
	int n = variant->nprocs, ready[2], go[2], results[2], i, status;
	uint64_t total = total_messages();
	uint64_t per_pair = (total + (uint64_t)(n * (n - 1)) - 1) / (n * (n - 1));
	uint64_t want = per_pair * (uint64_t)(n - 1);
	uint64_t sum_recv = 0, sum_sent = 0, eagain = 0, bytes = 0;
	struct result r, seen[MAX_PROCS];
	struct timespec t0, t1;
	struct child *c;
	char b;

	ASSERT_LE(n, MAX_PROCS);
	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(results, O_CLOEXEC));
	c = calloc(1, sizeof(*c));
	ASSERT_NE(NULL, c);
	c->nprocs = n;
	c->per_pair = per_pair;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(ready[0]);
			close(go[1]);
			close(results[0]);
			c->idx = i;
			child_main(c, getppid(), ready[1], go[0], results[1]);
		}
		self->pids[self->nr++] = pid;
	}
	close(ready[1]);
	close(go[0]);
	close(results[1]);
	for (i = 0; i < n; i++)
		ASSERT_EQ(1, read(ready[0], &b, 1));
	/* Go: every actor exists.  Closing the pipe wakes all at once. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(go[1]);

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++) {
		ASSERT_TRUE(read_full(results[0], &r, sizeof(r)))
			TH_LOG("only %d of %d processes reported", i, n);
		ASSERT_LE(0, r.idx);
		ASSERT_GT(n, r.idx);
		ASSERT_FALSE(seen[r.idx].idx) TH_LOG("%d reported twice", r.idx);
		seen[r.idx] = r;
		seen[r.idx].idx = 1;
		EXPECT_EQ(0, r.failed) TH_LOG("process %d (line %d): %s", r.idx,
					      r.failed, r.why);
		EXPECT_EQ(want, r.sent) TH_LOG("process %d sent", r.idx);
		EXPECT_EQ(want, r.received) TH_LOG("process %d received", r.idx);
		sum_sent += r.sent;
		sum_recv += r.received;
		eagain += r.eagain;
		bytes += r.bytes;
	}
	for (i = 0; i < n; i++) {
		ASSERT_EQ(self->pids[i], waitpid(self->pids[i], &status, 0));
		self->pids[i] = 0;
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("process %d: status %#x", i, status);
	}
	EXPECT_EQ(per_pair * n * (n - 1), sum_sent);
	EXPECT_EQ(per_pair * n * (n - 1), sum_recv);
	EXPECT_LE(total, sum_recv);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ksft_print_msg("%d processes: %llu messages, %llu payload bytes, %llu EAGAIN retries, %.1f s\n",
		       n, (unsigned long long)sum_recv,
		       (unsigned long long)bytes, (unsigned long long)eagain,
		       (double)(t1.tv_sec - t0.tv_sec) +
		       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* The harness ends the test with _exit(): flush what we printed. */
	fflush(stdout);
	close(ready[0]);
	close(results[0]);
	free(c);
}

TEST_HARNESS_MAIN
