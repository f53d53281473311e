// SPDX-License-Identifier: GPL-2.0
/*
 * vactor io_uring tests (Documentation/uring.rst; Documentation/uapi.rst,
 * "io_uring commands"): VACTOR_URING_CMD_ENTER and _CALL through
 * IORING_OP_URING_CMD, waiting for the port's CQEs with IORING_OP_POLL_ADD,
 * every refused input with its errno, processes exchanging messages through
 * their own rings only, and polls left pending when a process dies, a ring
 * closes or a port closes.
 *
 * The port's CQ is read here without entering the kernel (cq_take), so that
 * whatever moves messages in is the io_uring path under test.
 */
#include "kselftest_harness.h"

#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "vactor_test.h"

#define RING_ENTRIES	64

/* io_uring user_data of the requests the tests make. */
#define UD_ENTER	0xe1ULL
#define UD_CALL		0xe2ULL
#define UD_POLL		0xe3ULL
#define UD_REMOVE	0xe4ULL
#define UD_RAW		0xe5ULL

#define OP_ENTER	VACTOR_URING_CMD_ENTER
#define OP_CALL		VACTOR_URING_CMD_CALL

/* Exchanges: messages per sender, senders of the fan-in. */
#define XCHG_MSGS	300
#define FANIN_SENDERS	3
#define FANIN_MSGS	200
#define MAX_SOURCES	4

static struct __kernel_timespec wait_ts(void)
{
	struct __kernel_timespec ts = {
		.tv_sec = WAIT_NS / 1000000000LL,
		.tv_nsec = WAIT_NS % 1000000000LL,
	};

	return ts;
}

/* Submits what is prepared and takes the next io_uring CQE (a copy). */
static int uring_next(struct io_uring *ring, struct io_uring_cqe *out)
{
	struct __kernel_timespec ts = wait_ts();
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit(ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	*out = *cqe;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* No io_uring CQE is ready (without waiting). */
static bool uring_idle(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	return io_uring_peek_cqe(ring, &cqe) == -EAGAIN;
}

/* The res of the one request (user_data ud) prepared on ring. */
static int uring_res_ok(struct __test_metadata *_metadata,
			struct io_uring *ring, uint64_t ud)
{
	struct io_uring_cqe cqe;

	EXPECT_EQ(0, uring_next(ring, &cqe)) return INT32_MIN;
	EXPECT_EQ(ud, cqe.user_data) return INT32_MIN;
	return cqe.res;
}

static struct io_uring_sqe *uring_sqe_ok(struct __test_metadata *_metadata,
					 struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	EXPECT_NE(NULL, sqe);
	return sqe;
}

/* VACTOR_URING_CMD_ENTER for what port has prepared: its res. */
static int uring_enter_ok(struct __test_metadata *_metadata,
			  struct io_uring *ring, struct vact_port *p)
{
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, ring);

	if (!sqe)
		return INT32_MIN;
	EXPECT_EQ(0, vact_prep_uring_enter(sqe, p));
	io_uring_sqe_set_data64(sqe, UD_ENTER);
	return uring_res_ok(_metadata, ring, UD_ENTER);
}

/* VACTOR_URING_CMD_CALL of *call: its res. */
static int uring_call_ok(struct __test_metadata *_metadata,
			 struct io_uring *ring, struct vact_port *p,
			 struct vactor_call *call, uint8_t sqe_flags)
{
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, ring);

	if (!sqe)
		return INT32_MIN;
	EXPECT_EQ(0, vact_prep_uring_call(sqe, p, call));
	sqe->flags |= sqe_flags;
	io_uring_sqe_set_data64(sqe, UD_CALL);
	return uring_res_ok(_metadata, ring, UD_CALL);
}

/* A command with every byte of its 16-byte area given. */
static void prep_raw(struct io_uring_sqe *sqe, int fd, uint32_t op,
		     const void *area)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	memcpy(sqe->cmd, area, 16);
	io_uring_sqe_set_data64(sqe, UD_RAW);
}

static void arm_poll_ok(struct __test_metadata *_metadata,
			struct io_uring *ring, struct vact_port *p,
			bool multishot)
{
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, ring);

	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_uring_poll(sqe, p, multishot));
	io_uring_sqe_set_data64(sqe, UD_POLL);
	ASSERT_EQ(1, io_uring_submit(ring));
}

/* Takes the port's next CQE without entering the kernel; -EAGAIN if none. */
static int cq_take(struct vact_port *p, struct vactor_cqe *out)
{
	unsigned int head = *p->cq.head;

	if (load_acquire(p->cq.tail) == head)
		return -EAGAIN;
	*out = p->cq.cqes[head & p->cq.mask];
	vact_cq_advance(p, 1);
	return 0;
}

static unsigned int sq_pending(const struct vact_port *p)
{
	return p->sq.sqe_tail - load_acquire(p->sq.head);
}

static bool cq_backlog(const struct vact_port *p)
{
	return load_acquire(p->cq.flags) & VACTOR_CQ_F_BACKLOG;
}

/* A NOP in the port's SQ, published, user_data ud. */
static void queue_nop_ok(struct __test_metadata *_metadata,
			 struct vact_port *p, uint64_t ud)
{
	struct vactor_sqe *sqe = vact_get_sqe(p);

	ASSERT_NE(NULL, sqe);
	vact_prep_nop(sqe, ud);
	sq_publish(p);
}

/* A message from actor from on port s to actor to, tag seq, 8 bytes. */
static void send_ok(struct __test_metadata *_metadata, struct vact_port *s,
		    uint64_t from, uint64_t to, uint64_t seq)
{
	unsigned char buf[8];

	pattern_fill(buf, sizeof(buf), 0, seq);
	ASSERT_EQ(0, vact_send(s, from, to, buf, sizeof(buf), seq));
}

/* Is port id in /proc/vactor/ports?  1, 0 or -errno. */
static int port_listed(unsigned int id)
{
	char line[256];
	unsigned int n;
	int found = 0;
	FILE *f;

	f = fopen("/proc/vactor/ports", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u\t", &n) == 1 && n == id)
			found = 1;
	fclose(f);
	return found;
}

/*
 * Waits for port id to be released.  Its last reference may belong to a
 * poll request that io_uring's exit work (a kworker) frees after the close,
 * exit or waitpid that caused it has returned: no event tells when, so this
 * polls /proc, 1 ms apart, for at most WAIT_NS.  0, or -ETIME.
 */
static int wait_port_gone(unsigned int id)
{
	struct timespec ms = { .tv_nsec = 1000 * 1000 };
	int64_t left;
	int ret;

	for (left = WAIT_NS; left > 0; left -= ms.tv_nsec) {
		ret = port_listed(id);
		if (ret <= 0)
			return ret;
		nanosleep(&ms, NULL);
	}
	return -ETIME;
}

/* How many ports process pid has open, by /proc/vactor/ports; or -errno. */
static int ports_of_pid(pid_t pid)
{
	unsigned int id;
	char line[256];
	int n = 0, opener;
	FILE *f;

	f = fopen("/proc/vactor/ports", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u\t%d\t", &id, &opener) == 2 &&
		    opener == pid)
			n++;
	fclose(f);
	return n;
}

/*
 * Waits until process pid has no port left (see wait_port_gone): a test
 * ends with everything it opened released, so the next program (or rmmod)
 * finds none of it.  0, or -ETIME.
 */
static int wait_ports_of_pid_gone(pid_t pid)
{
	struct timespec ms = { .tv_nsec = 1000 * 1000 };
	int64_t left;
	int ret;

	for (left = WAIT_NS; left > 0; left -= ms.tv_nsec) {
		ret = ports_of_pid(pid);
		if (ret <= 0)
			return ret;
		nanosleep(&ms, NULL);
	}
	return -ETIME;
}

/* ---- uring: a set-up port with an actor, and an io_uring ---- */

FIXTURE(uring) {
	struct vact_port p;
	uint64_t a;
	struct io_uring ring;
	struct vact_port s;	/* a sender, opened by the tests that need it */
	uint64_t sa;
};

FIXTURE_SETUP(uring)
{
	self->s.fd = -1;
	ASSERT_EQ(0, port_open(&self->p, 16, 64, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &self->ring, 0));
}

FIXTURE_TEARDOWN(uring)
{
	io_uring_queue_exit(&self->ring);
	if (self->s.fd >= 0) {
		vact_destroy(&self->s, self->sa);
		vact_port_close(&self->s);
	}
	vact_destroy(&self->p, self->a);
	vact_port_close(&self->p);
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

static void open_sender_ok(struct __test_metadata *_metadata,
			   FIXTURE_DATA(uring) *self)
{
	ASSERT_EQ(0, port_open(&self->s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->s, NULL, 0, &self->sa));
}

/* ---- ENTER ---- */

TEST_F(uring, enter_submits_one)
{
	struct vactor_cqe cqe;

	queue_nop_ok(_metadata, &self->p, 7);
	ASSERT_EQ(1, uring_enter_ok(_metadata, &self->ring, &self->p));
	EXPECT_EQ(0, sq_pending(&self->p));
	ASSERT_EQ(0, cq_take(&self->p, &cqe));
	EXPECT_EQ(VACTOR_EV_COMPLETE, cqe.event);
	EXPECT_EQ(VACTOR_OP_NOP, cqe.opcode);
	EXPECT_EQ(7, cqe.user_data);
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(-EAGAIN, cq_take(&self->p, &cqe));
}

TEST_F(uring, enter_submits_batch_in_order)
{
	struct vactor_cqe cqe;
	unsigned int i;

	for (i = 0; i < 10; i++)
		queue_nop_ok(_metadata, &self->p, 100 + i);
	ASSERT_EQ(10, uring_enter_ok(_metadata, &self->ring, &self->p));
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, cq_take(&self->p, &cqe));
		EXPECT_EQ(100 + i, cqe.user_data);
		EXPECT_EQ(0, cqe.res);
	}
	EXPECT_EQ(-EAGAIN, cq_take(&self->p, &cqe));
}

/* to_submit bounds what one ENTER consumes, as with the ioctl. */
TEST_F(uring, enter_consumes_at_most_to_submit)
{
	struct vactor_uring_enter e = { .to_submit = 2 };
	struct io_uring_sqe *sqe;
	struct vactor_cqe cqe;
	unsigned int i;

	for (i = 0; i < 5; i++)
		queue_nop_ok(_metadata, &self->p, i);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->p.fd, VACTOR_URING_CMD_ENTER, &e);
	ASSERT_EQ(2, uring_res_ok(_metadata, &self->ring, UD_RAW));
	EXPECT_EQ(3, sq_pending(&self->p));
	EXPECT_EQ(3, uring_enter_ok(_metadata, &self->ring, &self->p));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, cq_take(&self->p, &cqe));
		EXPECT_EQ(i, cqe.user_data);
	}
}

TEST_F(uring, enter_with_nothing_prepared_returns_zero)
{
	struct vactor_cqe cqe;

	EXPECT_FALSE(vact_uring_need_enter(&self->p));
	EXPECT_EQ(0, uring_enter_ok(_metadata, &self->ring, &self->p));
	EXPECT_EQ(-EAGAIN, cq_take(&self->p, &cqe));
}

/* No CQ room for the completions: EBUSY and nothing consumed, as the ioctl. */
TEST_F(uring, enter_cq_full_ebusy)
{
	struct vactor_cqe cqe;
	struct vact_port q;
	unsigned int i;

	ASSERT_EQ(0, port_open(&q, 4, 4, 0, 0));
	for (i = 0; i < 4; i++)
		queue_nop_ok(_metadata, &q, i);
	ASSERT_EQ(4, uring_enter_ok(_metadata, &self->ring, &q));
	queue_nop_ok(_metadata, &q, 4);
	EXPECT_EQ(-EBUSY, uring_enter_ok(_metadata, &self->ring, &q));
	EXPECT_EQ(1, sq_pending(&q));
	ASSERT_EQ(0, cq_take(&q, &cqe));
	EXPECT_EQ(1, uring_enter_ok(_metadata, &self->ring, &q));
	vact_port_close(&q);
}

TEST_F(uring, enter_corrupt_sq_tail_einval)
{
	struct vactor_uring_enter e = { .to_submit = 1 };
	unsigned int head = load_acquire(self->p.sq.head);
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);

	ASSERT_NE(NULL, sqe);
	store_release(self->p.sq.tail, head + self->p.sq.entries + 1);
	prep_raw(sqe, self->p.fd, OP_ENTER, &e);
	EXPECT_EQ(-EINVAL, uring_res_ok(_metadata, &self->ring, UD_RAW));
	store_release(self->p.sq.tail, head);
}

/* Messages waiting for CQ room come in with an ENTER, oldest first. */
TEST_F(uring, enter_moves_backlog)
{
	struct vactor_cqe cqe;
	struct vact_port r;
	uint64_t ra, seq;

	open_sender_ok(_metadata, self);
	ASSERT_EQ(0, port_open(&r, 4, 8, 0, 0));
	ASSERT_EQ(0, vact_create(&r, NULL, 0, &ra));
	for (seq = 0; seq < 11; seq++)
		send_ok(_metadata, &self->s, self->sa, ra, seq);
	EXPECT_TRUE(cq_backlog(&r));
	for (seq = 0; seq < 8; seq++) {
		ASSERT_EQ(0, cq_take(&r, &cqe));
		EXPECT_EQ(seq, cqe.tag);
	}
	ASSERT_EQ(-EAGAIN, cq_take(&r, &cqe));
	EXPECT_TRUE(vact_uring_need_enter(&r));
	EXPECT_EQ(0, uring_enter_ok(_metadata, &self->ring, &r));
	EXPECT_FALSE(cq_backlog(&r));
	for (seq = 8; seq < 11; seq++) {
		ASSERT_EQ(0, cq_take(&r, &cqe));
		EXPECT_EQ(VACTOR_EV_MSG, cqe.event);
		EXPECT_EQ(seq, cqe.tag);
	}
	EXPECT_EQ(-EAGAIN, cq_take(&r, &cqe));
	vact_destroy(&r, ra);
	vact_port_close(&r);
}

/* The submitting task need not be the port's: an io-wq worker. */
TEST_F(uring, enter_from_io_worker)
{
	struct io_uring_sqe *sqe;
	struct vactor_cqe cqe;

	queue_nop_ok(_metadata, &self->p, 3);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_uring_enter(sqe, &self->p));
	sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data64(sqe, UD_ENTER);
	ASSERT_EQ(1, uring_res_ok(_metadata, &self->ring, UD_ENTER));
	ASSERT_EQ(0, cq_take(&self->p, &cqe));
	EXPECT_EQ(3, cqe.user_data);
}

/* An error from a worker completes too (the SQE stays unconsumed). */
TEST_F(uring, enter_error_from_io_worker)
{
	struct vactor_uring_enter e = { .to_submit = 1, .flags = 1 };
	struct io_uring_sqe *sqe;

	queue_nop_ok(_metadata, &self->p, 3);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->p.fd, OP_ENTER, &e);
	sqe->flags |= IOSQE_ASYNC;
	EXPECT_EQ(-EINVAL, uring_res_ok(_metadata, &self->ring, UD_RAW));
	EXPECT_EQ(1, sq_pending(&self->p));
}

/* A successful ENTER does not break an IOSQE_IO_LINK chain. */
TEST_F(uring, enter_keeps_link_chain)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe ucqe;
	int i;

	queue_nop_ok(_metadata, &self->p, 5);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_uring_enter(sqe, &self->p));
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, UD_ENTER);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, UD_RAW);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
		/* Linked requests complete in order. */
		EXPECT_EQ(i ? UD_RAW : UD_ENTER, ucqe.user_data);
		EXPECT_EQ(i ? 0 : 1, ucqe.res);
	}
}

TEST_F(uring, enter_from_sqpoll_thread)
{
	struct io_uring sqp;
	struct vactor_cqe cqe;

	ASSERT_EQ(0, io_uring_queue_init(8, &sqp, IORING_SETUP_SQPOLL));
	queue_nop_ok(_metadata, &self->p, 4);
	EXPECT_EQ(1, uring_enter_ok(_metadata, &sqp, &self->p));
	io_uring_queue_exit(&sqp);
	ASSERT_EQ(0, cq_take(&self->p, &cqe));
	EXPECT_EQ(4, cqe.user_data);
}

/* ---- CALL ---- */

TEST_F(uring, call_runs_operation)
{
	char name[VACTOR_NAME_MAX];
	struct vactor_call call;
	struct vactor_cqe cqe;
	uint64_t id;

	unique_name(name, sizeof(name), "uring.call");
	memset(&call, 0, sizeof(call));
	ASSERT_EQ(0, vact_prep_create(&call.sqe, name, 0, 11));
	ASSERT_EQ(0, uring_call_ok(_metadata, &self->ring, &self->p, &call, 0));
	EXPECT_EQ(VACTOR_EV_COMPLETE, call.cqe.event);
	EXPECT_EQ(VACTOR_OP_CREATE, call.cqe.opcode);
	EXPECT_EQ(11, call.cqe.user_data);
	EXPECT_EQ(0, call.cqe.res);
	ASSERT_EQ(0, vact_lookup(&self->p, name, &id));
	EXPECT_EQ(id, call.cqe.actor);
	/* The completion went to the caller, not to the CQ. */
	EXPECT_EQ(-EAGAIN, cq_take(&self->p, &cqe));
	EXPECT_EQ(0, vact_destroy(&self->p, id));
}

/* The operation's own error is in call.cqe; the command itself succeeded. */
TEST_F(uring, call_operation_error_in_cqe)
{
	struct vactor_call call;

	memset(&call, 0, sizeof(call));
	ASSERT_EQ(0, vact_prep_lookup(&call.sqe, "uring.nobody.has.this", 12));
	EXPECT_EQ(0, uring_call_ok(_metadata, &self->ring, &self->p, &call, 0));
	EXPECT_EQ(-ENOENT, call.cqe.res);
	EXPECT_EQ(12, call.cqe.user_data);
}

/*
 * A SEND refused with EAGAIN (full mailbox) is reported in call.cqe and not
 * retried: io_uring would reissue a command that returned -EAGAIN.
 */
TEST_F(uring, call_send_eagain_runs_once)
{
	long max = module_param_read(MAILBOX_MAX_PARAM);
	struct vactor_call call;
	struct vactor_cqe cqe;
	unsigned char buf[8];
	unsigned int n, i;
	struct vact_port r;
	uint64_t ra;

	ASSERT_LT(0, max);
	open_sender_ok(_metadata, self);
	ASSERT_EQ(0, port_open(&r, 4, 8, 0, 0));
	ASSERT_EQ(0, vact_create(&r, NULL, 0, &ra));
	n = 8 + (unsigned int)max;
	for (i = 0; i < n; i++)
		send_ok(_metadata, &self->s, self->sa, ra, i);

	memset(&call, 0, sizeof(call));
	pattern_fill(buf, sizeof(buf), 0, n);
	ASSERT_EQ(0, vact_prep_send(&self->s, &call.sqe, self->sa, ra, buf,
				    sizeof(buf), n));
	EXPECT_EQ(0, uring_call_ok(_metadata, &self->ring, &self->s, &call, 0));
	EXPECT_EQ(-EAGAIN, call.cqe.res);

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, reap(&r, &cqe, WAIT_NS));
		ASSERT_EQ(i, cqe.tag);
	}
	EXPECT_TRUE(cq_idle(&r));
	vact_destroy(&r, ra);
	vact_port_close(&r);
}

TEST_F(uring, call_null_address_efault)
{
	struct vactor_uring_call c = { .call = 0 };
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);

	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->p.fd, VACTOR_URING_CMD_CALL, &c);
	EXPECT_EQ(-EFAULT, uring_res_ok(_metadata, &self->ring, UD_RAW));
}

TEST_F(uring, call_kernel_address_efault)
{
	struct vactor_uring_call c = { .call = 0xffff888000000000ULL };
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);

	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->p.fd, VACTOR_URING_CMD_CALL, &c);
	EXPECT_EQ(-EFAULT, uring_res_ok(_metadata, &self->ring, UD_RAW));
}

/* A completion that can't be written back: EFAULT, but the operation ran. */
TEST_F(uring, call_readonly_result_efault_after_running)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	char name[VACTOR_NAME_MAX];
	struct vactor_call *call;
	uint64_t id;

	call = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, call);
	unique_name(name, sizeof(name), "uring.rocall");
	ASSERT_EQ(0, vact_prep_create(&call->sqe, name, 0, 13));
	ASSERT_EQ(0, mprotect(call, ps, PROT_READ));
	EXPECT_EQ(-EFAULT, uring_call_ok(_metadata, &self->ring, &self->p,
					 call, 0));
	ASSERT_EQ(0, vact_lookup(&self->p, name, &id));
	EXPECT_EQ(0, vact_destroy(&self->p, id));
	munmap(call, ps);
}

TEST_F(uring, call_from_io_worker)
{
	struct vactor_call call;

	memset(&call, 0, sizeof(call));
	ASSERT_EQ(0, vact_prep_create(&call.sqe, NULL, 0, 14));
	ASSERT_EQ(0, uring_call_ok(_metadata, &self->ring, &self->p, &call,
				   IOSQE_ASYNC));
	EXPECT_EQ(0, call.cqe.res);
	EXPECT_NE(0, call.cqe.actor);
	EXPECT_EQ(0, vact_destroy(&self->p, call.cqe.actor));
}

TEST_F(uring, call_from_sqpoll_thread)
{
	struct vactor_call call;
	struct io_uring sqp;

	ASSERT_EQ(0, io_uring_queue_init(8, &sqp, IORING_SETUP_SQPOLL));
	memset(&call, 0, sizeof(call));
	ASSERT_EQ(0, vact_prep_create(&call.sqe, NULL, 0, 15));
	EXPECT_EQ(0, uring_call_ok(_metadata, &sqp, &self->p, &call, 0));
	io_uring_queue_exit(&sqp);
	EXPECT_EQ(0, call.cqe.res);
	EXPECT_NE(0, call.cqe.actor);
	EXPECT_EQ(0, vact_destroy(&self->p, call.cqe.actor));
}

/* ---- waiting: IORING_OP_POLL_ADD on the port ---- */

TEST_F(uring, poll_completes_on_message)
{
	struct io_uring_cqe ucqe;
	struct vactor_cqe cqe;

	open_sender_ok(_metadata, self);
	arm_poll_ok(_metadata, &self->ring, &self->p, true);
	EXPECT_TRUE(uring_idle(&self->ring));
	send_ok(_metadata, &self->s, self->sa, self->a, 21);
	ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
	EXPECT_EQ(UD_POLL, ucqe.user_data);
	EXPECT_EQ(POLLIN, ucqe.res & POLLIN);
	EXPECT_EQ(1, vact_uring_poll_result(&ucqe));
	ASSERT_EQ(0, cq_take(&self->p, &cqe));
	EXPECT_EQ(VACTOR_EV_MSG, cqe.event);
	EXPECT_EQ(self->sa, cqe.source);
	EXPECT_EQ(21, cqe.tag);
}

TEST_F(uring, poll_completes_at_once_when_ready)
{
	struct io_uring_cqe ucqe;
	struct vactor_cqe cqe;

	open_sender_ok(_metadata, self);
	send_ok(_metadata, &self->s, self->sa, self->a, 22);
	arm_poll_ok(_metadata, &self->ring, &self->p, false);
	ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
	EXPECT_EQ(UD_POLL, ucqe.user_data);
	EXPECT_EQ(POLLIN, ucqe.res & POLLIN);
	/* One-shot: ended, prepare another. */
	EXPECT_EQ(0, vact_uring_poll_result(&ucqe));
	ASSERT_EQ(0, cq_take(&self->p, &cqe));
	EXPECT_EQ(22, cqe.tag);
}

/* One multishot poll, one completion per message, still armed after each. */
TEST_F(uring, poll_multishot_stays_armed)
{
	struct io_uring_cqe ucqe;
	struct vactor_cqe cqe;
	uint64_t seq;

	open_sender_ok(_metadata, self);
	arm_poll_ok(_metadata, &self->ring, &self->p, true);
	for (seq = 0; seq < 5; seq++) {
		send_ok(_metadata, &self->s, self->sa, self->a, seq);
		ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
		ASSERT_EQ(UD_POLL, ucqe.user_data);
		ASSERT_EQ(1, vact_uring_poll_result(&ucqe));
		ASSERT_EQ(0, cq_take(&self->p, &cqe));
		EXPECT_EQ(seq, cqe.tag);
		EXPECT_EQ(-EAGAIN, cq_take(&self->p, &cqe));
		EXPECT_TRUE(uring_idle(&self->ring));
	}
}

/* Arming a poll moves messages waiting for CQ room in, as poll() does. */
TEST_F(uring, poll_arm_moves_backlog)
{
	struct io_uring_cqe ucqe;
	struct vactor_cqe cqe;
	struct vact_port r;
	uint64_t ra, seq;

	open_sender_ok(_metadata, self);
	ASSERT_EQ(0, port_open(&r, 4, 8, 0, 0));
	ASSERT_EQ(0, vact_create(&r, NULL, 0, &ra));
	for (seq = 0; seq < 9; seq++)
		send_ok(_metadata, &self->s, self->sa, ra, seq);
	for (seq = 0; seq < 8; seq++)
		ASSERT_EQ(0, cq_take(&r, &cqe));
	ASSERT_TRUE(cq_backlog(&r));
	arm_poll_ok(_metadata, &self->ring, &r, false);
	ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
	EXPECT_EQ(UD_POLL, ucqe.user_data);
	EXPECT_EQ(POLLIN, ucqe.res & POLLIN);
	EXPECT_FALSE(cq_backlog(&r));
	ASSERT_EQ(0, cq_take(&r, &cqe));
	EXPECT_EQ(8, cqe.tag);
	EXPECT_EQ(-EAGAIN, cq_take(&r, &cqe));
	vact_destroy(&r, ra);
	vact_port_close(&r);
}

/*
 * A multishot poll armed while the CQ was full is not woken by reaping
 * (no syscall); the ENTER that then moves the waiting message in wakes it.
 */
TEST_F(uring, poll_woken_by_enter_moving_backlog)
{
	bool entered = false, polled = false;
	struct io_uring_cqe ucqe;
	struct io_uring_sqe *sqe;
	struct vactor_cqe cqe;
	struct vact_port r;
	uint64_t ra, seq;
	int i;

	open_sender_ok(_metadata, self);
	ASSERT_EQ(0, port_open(&r, 4, 8, 0, 0));
	ASSERT_EQ(0, vact_create(&r, NULL, 0, &ra));
	for (seq = 0; seq < 9; seq++)
		send_ok(_metadata, &self->s, self->sa, ra, seq);
	/* Ready at once (the CQ is full), and stays armed. */
	arm_poll_ok(_metadata, &self->ring, &r, true);
	ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
	ASSERT_EQ(UD_POLL, ucqe.user_data);
	ASSERT_EQ(1, vact_uring_poll_result(&ucqe));
	for (seq = 0; seq < 8; seq++)
		ASSERT_EQ(0, cq_take(&r, &cqe));
	ASSERT_TRUE(cq_backlog(&r));
	ASSERT_TRUE(uring_idle(&self->ring));

	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_uring_enter(sqe, &r));
	io_uring_sqe_set_data64(sqe, UD_ENTER);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
		if (ucqe.user_data == UD_ENTER) {
			EXPECT_EQ(0, ucqe.res);
			entered = true;
		} else {
			EXPECT_EQ(UD_POLL, ucqe.user_data);
			EXPECT_EQ(POLLIN, ucqe.res & POLLIN);
			EXPECT_EQ(1, vact_uring_poll_result(&ucqe));
			polled = true;
		}
	}
	EXPECT_TRUE(entered);
	EXPECT_TRUE(polled);
	ASSERT_EQ(0, cq_take(&r, &cqe));
	EXPECT_EQ(8, cqe.tag);
	EXPECT_EQ(-EAGAIN, cq_take(&r, &cqe));
	vact_destroy(&r, ra);
	vact_port_close(&r);
}

TEST_F(uring, poll_remove_cancels)
{
	struct io_uring_cqe ucqe;
	struct io_uring_sqe *sqe;
	bool removed = false, cancelled = false;
	int i;

	arm_poll_ok(_metadata, &self->ring, &self->p, true);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_poll_remove(sqe, UD_POLL);
	io_uring_sqe_set_data64(sqe, UD_REMOVE);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
		if (ucqe.user_data == UD_REMOVE) {
			EXPECT_EQ(0, ucqe.res);
			removed = true;
		} else {
			EXPECT_EQ(UD_POLL, ucqe.user_data);
			EXPECT_EQ(-ECANCELED, vact_uring_poll_result(&ucqe));
			cancelled = true;
		}
	}
	EXPECT_TRUE(removed);
	EXPECT_TRUE(cancelled);
}

/* ---- refused inputs ---- */

/* io_uring's own checks of the SQE, before the module sees it. */
TEST_F(uring, unknown_uring_cmd_flag_einval)
{
	struct vactor_uring_enter e = { .to_submit = 1 };
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);

	ASSERT_NE(NULL, sqe);
	queue_nop_ok(_metadata, &self->p, 1);
	prep_raw(sqe, self->p.fd, OP_ENTER, &e);
	sqe->uring_cmd_flags = 1U << 1;
	EXPECT_EQ(-EINVAL, uring_res_ok(_metadata, &self->ring, UD_RAW));
	EXPECT_EQ(1, sq_pending(&self->p));
}

/* No command takes a registered buffer. */
TEST_F(uring, fixed_buffer_einval)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE);
	struct vactor_uring_enter e = { .to_submit = 1 };
	struct io_uring_sqe *sqe;
	struct iovec iov;

	iov.iov_len = ps;
	iov.iov_base = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, iov.iov_base);
	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	queue_nop_ok(_metadata, &self->p, 1);
	sqe = uring_sqe_ok(_metadata, &self->ring);
	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->p.fd, OP_ENTER, &e);
	sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
	sqe->buf_index = 0;
	EXPECT_EQ(-EINVAL, uring_res_ok(_metadata, &self->ring, UD_RAW));
	EXPECT_EQ(1, sq_pending(&self->p));
	io_uring_unregister_buffers(&self->ring);
	munmap(iov.iov_base, ps);
}

/* The module has no iopoll handler: io_uring refuses for an IOPOLL ring. */
TEST_F(uring, iopoll_ring_eopnotsupp)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, IORING_SETUP_IOPOLL));
	queue_nop_ok(_metadata, &self->p, 1);
	sqe = uring_sqe_ok(_metadata, &ring);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_uring_enter(sqe, &self->p));
	io_uring_sqe_set_data64(sqe, UD_ENTER);
	EXPECT_EQ(-EOPNOTSUPP, uring_res_ok(_metadata, &ring, UD_ENTER));
	io_uring_queue_exit(&ring);
	EXPECT_EQ(1, sq_pending(&self->p));
}

/* A 128-byte SQE works; its second half is not looked at. */
TEST_F(uring, sqe128_second_half_ignored)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct vactor_cqe cqe;

	ASSERT_EQ(0, io_uring_queue_init(8, &ring, IORING_SETUP_SQE128));
	queue_nop_ok(_metadata, &self->p, 1);
	sqe = uring_sqe_ok(_metadata, &ring);
	ASSERT_NE(NULL, sqe);
	memset(sqe, 0xff, 128);
	ASSERT_EQ(0, vact_prep_uring_enter(sqe, &self->p));
	io_uring_sqe_set_data64(sqe, UD_ENTER);
	EXPECT_EQ(1, uring_res_ok(_metadata, &ring, UD_ENTER));
	io_uring_queue_exit(&ring);
	ASSERT_EQ(0, cq_take(&self->p, &cqe));
	EXPECT_EQ(1, cqe.user_data);
}

/* ---- refused inputs: one per variant ---- */

FIXTURE(badcmd) {
	struct vact_port p;
	struct io_uring ring;
	struct vactor_call call;
};

FIXTURE_VARIANT(badcmd) {
	uint32_t op;
	uint32_t area[4];	/* the 16-byte command area, as words */
	bool call_addr;		/* area[0..1]: the address of a valid call */
	int err;
};

FIXTURE_VARIANT_ADD(badcmd, op_zero) { .op = 0, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, op_all_ones) { .op = 0xffffffff, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, op_ioctl_enter) {
	.op = VACTOR_IOC_ENTER, .area = { 1 }, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, op_ioctl_call) {
	.op = VACTOR_IOC_CALL, .call_addr = true, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, op_next_number) {
	.op = _IOW(VACTOR_IOC_MAGIC, 0x82, struct vactor_uring_enter),
	.area = { 1 }, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, op_enter_other_size) {
	.op = _IOW(VACTOR_IOC_MAGIC, 0x80, struct vactor_enter),
	.area = { 1 }, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, op_enter_other_dir) {
	.op = _IOWR(VACTOR_IOC_MAGIC, 0x80, struct vactor_uring_enter),
	.area = { 1 }, .err = ENOTTY };
FIXTURE_VARIANT_ADD(badcmd, enter_flag_getevents) {
	.op = OP_ENTER, .area = { 1, VACTOR_ENTER_GETEVENTS }, .err = EINVAL };
FIXTURE_VARIANT_ADD(badcmd, enter_flag_top_bit) {
	.op = OP_ENTER, .area = { 1, 0x80000000 }, .err = EINVAL };
FIXTURE_VARIANT_ADD(badcmd, enter_resv_low) {
	.op = OP_ENTER, .area = { 1, 0, 1, 0 }, .err = EINVAL };
FIXTURE_VARIANT_ADD(badcmd, enter_resv_high) {
	.op = OP_ENTER, .area = { 1, 0, 0, 0x80000000 }, .err = EINVAL };
FIXTURE_VARIANT_ADD(badcmd, call_flags) {
	.op = OP_CALL, .area = { 0, 0, 1, 0 }, .call_addr = true,
	.err = EINVAL };
FIXTURE_VARIANT_ADD(badcmd, call_resv) {
	.op = OP_CALL, .area = { 0, 0, 0, 1 }, .call_addr = true,
	.err = EINVAL };

FIXTURE_SETUP(badcmd)
{
	ASSERT_EQ(0, port_open(&self->p, 4, 16, 0, 0));
	ASSERT_EQ(0, io_uring_queue_init(8, &self->ring, 0));
	/* What an accepted command would run: a NOP in the SQ, one in call. */
	queue_nop_ok(_metadata, &self->p, 1);
	memset(&self->call, 0xa5, sizeof(self->call));
	vact_prep_nop(&self->call.sqe, 2);
	memset(self->call.sqe.data, 0, sizeof(self->call.sqe.data));
}

FIXTURE_TEARDOWN(badcmd)
{
	io_uring_queue_exit(&self->ring);
	vact_port_close(&self->p);
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

TEST_F(badcmd, refused_with_nothing_done)
{
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);
	struct vactor_cqe untouched, cqe;
	uint32_t area[4];
	uint64_t addr = (uint64_t)(uintptr_t)&self->call;

	ASSERT_NE(NULL, sqe);
	memcpy(area, variant->area, sizeof(area));
	if (variant->call_addr)
		memcpy(area, &addr, sizeof(addr));
	prep_raw(sqe, self->p.fd, variant->op, area);
	memset(&untouched, 0xa5, sizeof(untouched));

	EXPECT_EQ(-variant->err, uring_res_ok(_metadata, &self->ring, UD_RAW));
	EXPECT_EQ(1, sq_pending(&self->p));
	EXPECT_EQ(-EAGAIN, cq_take(&self->p, &cqe));
	EXPECT_EQ(0, memcmp(&untouched, &self->call.cqe, sizeof(untouched)));
}

TEST(prep_helpers_refuse_null)
{
	struct io_uring_sqe sqe;
	struct vactor_call call;
	struct vact_port p;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	EXPECT_EQ(-EINVAL, vact_prep_uring_enter(NULL, &p));
	EXPECT_EQ(-EINVAL, vact_prep_uring_enter(&sqe, NULL));
	EXPECT_EQ(-EINVAL, vact_prep_uring_enter(&sqe, &p));
	EXPECT_EQ(-EINVAL, vact_prep_uring_call(&sqe, &p, &call));
	EXPECT_EQ(-EINVAL, vact_prep_uring_poll(&sqe, &p, true));
	EXPECT_EQ(-EINVAL, vact_uring_poll_result(NULL));
	EXPECT_FALSE(vact_uring_need_enter(NULL));
}

/* ---- before VACTOR_IOC_SETUP ---- */

FIXTURE(nosetup) {
	int fd;
	struct io_uring ring;
};

FIXTURE_SETUP(nosetup)
{
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, io_uring_queue_init(8, &self->ring, 0));
}

FIXTURE_TEARDOWN(nosetup)
{
	io_uring_queue_exit(&self->ring);
	close(self->fd);
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

static int nosetup_cmd_ok(struct __test_metadata *_metadata,
			  FIXTURE_DATA(nosetup) *self, uint32_t op,
			  const void *area)
{
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);

	if (!sqe)
		return INT32_MIN;
	prep_raw(sqe, self->fd, op, area);
	return uring_res_ok(_metadata, &self->ring, UD_RAW);
}

TEST_F(nosetup, enter_ebadfd)
{
	struct vactor_uring_enter e = { .to_submit = 1 };

	EXPECT_EQ(-EBADFD, nosetup_cmd_ok(_metadata, self, OP_ENTER, &e));
}

TEST_F(nosetup, call_ebadfd)
{
	struct vactor_call call, untouched;
	struct vactor_uring_call c;

	memset(&call, 0xa5, sizeof(call));
	vact_prep_nop(&call.sqe, 1);
	untouched = call;
	memset(&c, 0, sizeof(c));
	c.call = (uint64_t)(uintptr_t)&call;
	EXPECT_EQ(-EBADFD, nosetup_cmd_ok(_metadata, self, OP_CALL, &c));
	EXPECT_EQ(0, memcmp(&untouched, &call, sizeof(call)));
}

/* An unknown command is unknown whether or not the port is set up. */
TEST_F(nosetup, unknown_op_enotty)
{
	struct vactor_uring_enter e = { .to_submit = 1 };

	EXPECT_EQ(-ENOTTY, nosetup_cmd_ok(_metadata, self, 0, &e));
}

TEST_F(nosetup, poll_reports_pollerr)
{
	struct io_uring_cqe ucqe;
	struct io_uring_sqe *sqe = uring_sqe_ok(_metadata, &self->ring);

	ASSERT_NE(NULL, sqe);
	io_uring_prep_poll_add(sqe, self->fd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD_POLL);
	ASSERT_EQ(0, uring_next(&self->ring, &ucqe));
	EXPECT_EQ(UD_POLL, ucqe.user_data);
	EXPECT_EQ(POLLERR, ucqe.res & POLLERR);
	EXPECT_EQ(-EINVAL, vact_uring_poll_result(&ucqe));
}

/* ---- a wait left pending: no hang, the port is released ---- */

/* Sets up a port with the named actor, a ring and a multishot poll. */
static int pending_setup(struct vact_port *p, struct io_uring *ring,
			 const char *name, uint64_t *id)
{
	struct io_uring_sqe *sqe;
	int ret;

	ret = port_open(p, 4, 8, 0, 0);
	if (ret)
		return ret;
	ret = vact_create(p, name, 0, id);
	if (ret)
		return ret;
	ret = io_uring_queue_init(8, ring, 0);
	if (ret)
		return ret;
	sqe = io_uring_get_sqe(ring);
	ret = vact_prep_uring_poll(sqe, p, true);
	if (ret)
		return ret;
	io_uring_sqe_set_data64(sqe, UD_POLL);
	ret = io_uring_submit(ring);
	return ret == 1 ? 0 : -EIO;
}

/*
 * The actor of a released port is dormant: a new host gets it, with the
 * one message (tag) its old port had in its CQ, marked redelivered.
 */
static void rehost_ok(struct __test_metadata *_metadata, const char *name,
		      uint64_t id, uint64_t tag)
{
	struct vactor_cqe cqe;
	struct vact_port q;
	uint64_t found;

	ASSERT_EQ(0, port_open(&q, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_lookup(&q, name, &found));
	EXPECT_EQ(id, found);
	ASSERT_EQ(0, vact_host(&q, id));
	ASSERT_EQ(0, reap(&q, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_EV_MSG, cqe.event);
	EXPECT_EQ(tag, cqe.tag);
	EXPECT_EQ(VACTOR_CQE_F_REDELIVERED,
		  cqe.flags & VACTOR_CQE_F_REDELIVERED);
	EXPECT_TRUE(cq_idle(&q));
	EXPECT_EQ(0, vact_destroy(&q, id));
	vact_port_close(&q);
}

enum child_end { CHILD_EXITS, CHILD_IS_KILLED };

/* A child hosts the actor with a poll pending, then exits or is killed. */
static void child_with_poll(struct __test_metadata *_metadata,
			    enum child_end how)
{
	struct { unsigned int port; uint64_t id; } info;
	char name[VACTOR_NAME_MAX], c = 'g';
	int up[2], down[2], status;
	struct vact_port s;
	uint64_t sa;
	pid_t pid;

	unique_name(name, sizeof(name), how == CHILD_EXITS ? "uring.exits" :
		    "uring.killed");
	ASSERT_EQ(0, port_open(&s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&s, NULL, 0, &sa));
	ASSERT_EQ(0, pipe2(up, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(down, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct io_uring_cqe *cqe;
		struct io_uring ring;
		struct vact_port p;

		close(up[0]);
		close(down[1]);
		if (pending_setup(&p, &ring, name, &info.id))
			_exit(2);
		info.port = p.id;
		if (write(up[1], &info, sizeof(info)) != sizeof(info))
			_exit(3);
		/* The parent's message is in our CQ once it says go. */
		if (read(down[0], &c, 1) != 1)
			_exit(4);
		if (how == CHILD_EXITS)
			_exit(0);
		for (;;) {
			if (io_uring_wait_cqe(&ring, &cqe))
				_exit(5);
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	close(up[1]);
	close(down[0]);
	ASSERT_EQ(sizeof(info), read(up[0], &info, sizeof(info)));
	close(up[0]);
	ASSERT_EQ(1, port_listed(info.port));
	send_ok(_metadata, &s, sa, info.id, 31);
	ASSERT_EQ(1, write(down[1], &c, 1));
	close(down[1]);
	if (how == CHILD_IS_KILLED)
		ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (how == CHILD_IS_KILLED) {
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	ASSERT_EQ(0, wait_port_gone(info.port));
	rehost_ok(_metadata, name, info.id, 31);
	vact_destroy(&s, sa);
	vact_port_close(&s);
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

TEST(process_killed_with_poll_pending)
{
	child_with_poll(_metadata, CHILD_IS_KILLED);
}

TEST(process_exits_with_poll_pending)
{
	child_with_poll(_metadata, CHILD_EXITS);
}

TEST(ring_closed_with_poll_pending)
{
	char name[VACTOR_NAME_MAX];
	struct io_uring ring;
	struct vact_port p, s;
	unsigned int port;
	uint64_t id, sa;

	unique_name(name, sizeof(name), "uring.ringclose");
	ASSERT_EQ(0, port_open(&s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&s, NULL, 0, &sa));
	ASSERT_EQ(0, pending_setup(&p, &ring, name, &id));
	port = p.id;
	send_ok(_metadata, &s, sa, id, 32);
	io_uring_queue_exit(&ring);
	/* The port is still open here: its host is unchanged. */
	ASSERT_EQ(1, port_listed(port));
	vact_port_close(&p);
	ASSERT_EQ(0, wait_port_gone(port));
	rehost_ok(_metadata, name, id, 32);
	vact_destroy(&s, sa);
	vact_port_close(&s);
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

/*
 * Closing the port's fd does not close the port while a poll holds it:
 * the poll still completes for its messages.  Cancelling the poll releases
 * the port.
 */
TEST(port_closed_with_poll_pending)
{
	bool removed = false, cancelled = false;
	char name[VACTOR_NAME_MAX];
	struct io_uring_cqe ucqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct vact_port p, s;
	unsigned int port;
	uint64_t id, sa;
	int i;

	unique_name(name, sizeof(name), "uring.portclose");
	ASSERT_EQ(0, port_open(&s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&s, NULL, 0, &sa));
	ASSERT_EQ(0, pending_setup(&p, &ring, name, &id));
	port = p.id;
	vact_port_close(&p);
	ASSERT_EQ(1, port_listed(port));
	EXPECT_EQ(-EBUSY, vact_host(&s, id));

	send_ok(_metadata, &s, sa, id, 33);
	ASSERT_EQ(0, uring_next(&ring, &ucqe));
	EXPECT_EQ(UD_POLL, ucqe.user_data);
	EXPECT_EQ(POLLIN, ucqe.res & POLLIN);
	EXPECT_EQ(1, vact_uring_poll_result(&ucqe));

	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_poll_remove(sqe, UD_POLL);
	io_uring_sqe_set_data64(sqe, UD_REMOVE);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, uring_next(&ring, &ucqe));
		if (ucqe.user_data == UD_REMOVE) {
			EXPECT_EQ(0, ucqe.res);
			removed = true;
		} else {
			EXPECT_EQ(UD_POLL, ucqe.user_data);
			EXPECT_EQ(-ECANCELED, ucqe.res);
			cancelled = true;
		}
	}
	EXPECT_TRUE(removed);
	EXPECT_TRUE(cancelled);
	ASSERT_EQ(0, wait_port_gone(port));
	rehost_ok(_metadata, name, id, 33);
	io_uring_queue_exit(&ring);
	vact_destroy(&s, sa);
	vact_port_close(&s);
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

/* ---- processes exchanging messages through their own rings only ---- */

/* Why a peer failed: its exit status, or the value the parent checks. */
enum peer_fail {
	PF_SETUP = 10, PF_WAIT, PF_ENTER, PF_POLL, PF_UD, PF_SEND_ERR,
	PF_EVENT, PF_SOURCE, PF_ORDER, PF_PAYLOAD, PF_EXTRA, PF_PIPE,
};

struct peer {
	struct vact_port p;
	struct io_uring ring;
	uint64_t self;			/* this peer's actor */
	/* sending: nsend messages to actor to, pattern sender idx */
	uint64_t to;
	unsigned int idx, nsend, prepped;
	/* receiving: nrecv in all, per source in order from 0 */
	unsigned int nrecv, received, nsources;
	uint64_t sources[MAX_SOURCES];	/* actor ids */
	unsigned int source_idx[MAX_SOURCES];
	uint64_t next_seq[MAX_SOURCES];
	bool enter_inflight, poll_armed;
};

static int peer_init(struct peer *pe)
{
	if (port_open(&pe->p, 32, 64, 0, 0))
		return PF_SETUP;
	if (vact_create(&pe->p, NULL, 0, &pe->self))
		return PF_SETUP;
	if (io_uring_queue_init(RING_ENTRIES, &pe->ring, 0))
		return PF_SETUP;
	return 0;
}

static int peer_take_msgs(struct peer *pe)
{
	struct vactor_cqe *cqe;
	unsigned int head, i;

	for (;;) {
		head = *pe->p.cq.head;
		if (load_acquire(pe->p.cq.tail) == head)
			return 0;
		cqe = &pe->p.cq.cqes[head & pe->p.cq.mask];
		if (cqe->event == VACTOR_EV_COMPLETE)
			return PF_SEND_ERR;
		if (cqe->event != VACTOR_EV_MSG || cqe->actor != pe->self)
			return PF_EVENT;
		for (i = 0; i < pe->nsources; i++)
			if (pe->sources[i] == cqe->source)
				break;
		if (i == pe->nsources)
			return PF_SOURCE;
		if (cqe->tag != pe->next_seq[i])
			return PF_ORDER;
		if (cqe->len != 8 + cqe->tag % 57 ||
		    !pattern_ok(vact_cqe_data(&pe->p, cqe), cqe->len,
				pe->source_idx[i], cqe->tag))
			return PF_PAYLOAD;
		pe->next_seq[i]++;
		if (++pe->received > pe->nrecv)
			return PF_EXTRA;
		vact_cq_advance(&pe->p, 1);
	}
}

static int peer_uring_cqes(struct peer *pe)
{
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	int ret = 0;

	io_uring_for_each_cqe(&pe->ring, head, cqe) {
		n++;
		if (cqe->user_data == UD_ENTER) {
			pe->enter_inflight = false;
			/* EBUSY: our CQ is full; reap, then enter again. */
			if (cqe->res < 0 && cqe->res != -EBUSY)
				ret = ret ? ret : PF_ENTER;
		} else if (cqe->user_data == UD_POLL) {
			int r = vact_uring_poll_result(cqe);

			if (r < 0)
				ret = ret ? ret : PF_POLL;
			if (r == 0)
				pe->poll_armed = false;
		} else {
			ret = ret ? ret : PF_UD;
		}
	}
	io_uring_cq_advance(&pe->ring, n);
	return ret;
}

/* Sends and receives until both are done, waiting only in io_uring. */
static int peer_run(struct peer *pe)
{
	unsigned char buf[VACTOR_INLINE_MAX];
	struct __kernel_timespec ts = wait_ts();
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct vactor_sqe *vsqe;
	uint64_t seq;
	int ret;

	while (pe->prepped < pe->nsend || sq_pending(&pe->p) ||
	       pe->received < pe->nrecv) {
		while (pe->prepped < pe->nsend &&
		       (vsqe = vact_get_sqe(&pe->p))) {
			seq = pe->prepped++;
			pattern_fill(buf, 8 + seq % 57, pe->idx, seq);
			vact_prep_send(&pe->p, vsqe, pe->self, pe->to, buf,
				       8 + seq % 57, seq);
		}
		if (!pe->enter_inflight && vact_uring_need_enter(&pe->p)) {
			sqe = io_uring_get_sqe(&pe->ring);
			if (!sqe || vact_prep_uring_enter(sqe, &pe->p))
				return PF_ENTER;
			io_uring_sqe_set_data64(sqe, UD_ENTER);
			pe->enter_inflight = true;
		}
		if (!pe->poll_armed) {
			sqe = io_uring_get_sqe(&pe->ring);
			if (!sqe || vact_prep_uring_poll(sqe, &pe->p, true))
				return PF_POLL;
			io_uring_sqe_set_data64(sqe, UD_POLL);
			pe->poll_armed = true;
		}
		ret = io_uring_submit_and_wait_timeout(&pe->ring, &cqe, 1, &ts,
						       NULL);
		if (ret < 0)
			return PF_WAIT;
		ret = peer_uring_cqes(pe);
		if (!ret)
			ret = peer_take_msgs(pe);
		if (ret)
			return ret;
	}
	return 0;
}

static void peer_fini(struct peer *pe)
{
	io_uring_queue_exit(&pe->ring);
	vact_destroy(&pe->p, pe->self);
	vact_port_close(&pe->p);
}

FIXTURE(procs) {
	int unused;
};

FIXTURE_SETUP(procs)
{
}

FIXTURE_TEARDOWN(procs)
{
	EXPECT_EQ(0, wait_ports_of_pid_gone(getpid()));
}

/* Two processes send XCHG_MSGS each to the other and check what they get. */
TEST_F_TIMEOUT(procs, two_processes_exchange, 300)
{
	struct peer me;
	int to_parent[2], status, ret;
	uint64_t parent_actor, child_actor;
	pid_t pid;

	memset(&me, 0, sizeof(me));
	ASSERT_EQ(0, port_open(&me.p, 32, 64, 0, 0));
	ASSERT_EQ(0, vact_create(&me.p, NULL, 0, &me.self));
	parent_actor = me.self;
	ASSERT_EQ(0, pipe2(to_parent, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct peer ch;

		close(to_parent[0]);
		memset(&ch, 0, sizeof(ch));
		ret = peer_init(&ch);
		if (ret)
			_exit(ret);
		if (write(to_parent[1], &ch.self, sizeof(ch.self)) !=
		    sizeof(ch.self))
			_exit(PF_PIPE);
		ch.to = parent_actor;
		ch.idx = 1;
		ch.nsend = XCHG_MSGS;
		ch.nrecv = XCHG_MSGS;
		ch.nsources = 1;
		ch.sources[0] = parent_actor;
		ch.source_idx[0] = 0;
		ret = peer_run(&ch);
		peer_fini(&ch);
		_exit(ret);
	}
	close(to_parent[1]);
	ASSERT_EQ(sizeof(child_actor),
		  read(to_parent[0], &child_actor, sizeof(child_actor)));
	close(to_parent[0]);
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &me.ring, 0));
	me.to = child_actor;
	me.idx = 0;
	me.nsend = XCHG_MSGS;
	me.nrecv = XCHG_MSGS;
	me.nsources = 1;
	me.sources[0] = child_actor;
	me.source_idx[0] = 1;
	EXPECT_EQ(0, peer_run(&me));
	EXPECT_EQ(XCHG_MSGS, me.received);
	EXPECT_EQ(XCHG_MSGS, me.next_seq[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, wait_ports_of_pid_gone(pid));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Nothing more arrived. */
	EXPECT_EQ(0, peer_take_msgs(&me));
	EXPECT_EQ(XCHG_MSGS, me.received);
	peer_fini(&me);
}

/* FANIN_SENDERS processes send to one actor; each one's order is kept. */
TEST_F_TIMEOUT(procs, fan_in, 300)
{
	pid_t pids[FANIN_SENDERS];
	int pipes[FANIN_SENDERS][2];
	struct peer me;
	int status, ret;
	unsigned int i;

	memset(&me, 0, sizeof(me));
	ASSERT_EQ(0, port_open(&me.p, 32, 64, 0, 0));
	ASSERT_EQ(0, vact_create(&me.p, NULL, 0, &me.self));
	for (i = 0; i < FANIN_SENDERS; i++) {
		ASSERT_EQ(0, pipe2(pipes[i], O_CLOEXEC));
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			struct peer ch;

			close(pipes[i][0]);
			memset(&ch, 0, sizeof(ch));
			ret = peer_init(&ch);
			if (ret)
				_exit(ret);
			if (write(pipes[i][1], &ch.self, sizeof(ch.self)) !=
			    sizeof(ch.self))
				_exit(PF_PIPE);
			ch.to = me.self;
			ch.idx = i + 1;
			ch.nsend = FANIN_MSGS;
			ret = peer_run(&ch);
			peer_fini(&ch);
			_exit(ret);
		}
		close(pipes[i][1]);
		ASSERT_EQ(sizeof(me.sources[i]),
			  read(pipes[i][0], &me.sources[i],
			       sizeof(me.sources[i])));
		close(pipes[i][0]);
		me.source_idx[i] = i + 1;
	}
	ASSERT_EQ(0, io_uring_queue_init(RING_ENTRIES, &me.ring, 0));
	me.nsources = FANIN_SENDERS;
	me.nrecv = FANIN_SENDERS * FANIN_MSGS;
	EXPECT_EQ(0, peer_run(&me));
	for (i = 0; i < FANIN_SENDERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, wait_ports_of_pid_gone(pids[i]));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
		EXPECT_EQ(FANIN_MSGS, me.next_seq[i]);
	}
	EXPECT_EQ(0, peer_take_msgs(&me));
	EXPECT_EQ(FANIN_SENDERS * FANIN_MSGS, me.received);
	peer_fini(&me);
}

TEST_HARNESS_MAIN
