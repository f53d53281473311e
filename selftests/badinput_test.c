// SPDX-License-Identifier: GPL-2.0
/*
 * vactor bad-input tests: every malformed SQE, ENTER and ring index gets its
 * documented errno (Documentation/uapi.rst), nothing is half-done, and the
 * port keeps working afterwards.
 */
#include "kselftest_harness.h"

#include "vactor_test.h"

/*
 * The port still works: a NOP completes and a message from its actor to
 * itself, through the send and receive areas, arrives intact and alone.
 */
static void healthy_ok(struct __test_metadata *_metadata, struct vact_port *p,
		       uint64_t self_actor)
{
	unsigned char buf[100];
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;

	ASSERT_TRUE(cq_idle(p));
	sqe = vact_get_sqe(p);
	ASSERT_NE(NULL, sqe);
	vact_prep_nop(sqe, 0x4ea1);
	ASSERT_EQ(1, vact_submit(p));
	ASSERT_EQ(0, reap(p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_EV_COMPLETE, cqe.event);
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(0x4ea1, cqe.user_data);

	pattern_fill(buf, sizeof(buf), 0, 77);
	ASSERT_EQ(0, vact_send(p, self_actor, self_actor, buf, sizeof(buf), 77));
	ASSERT_EQ(0, reap(p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_EV_MSG, cqe.event);
	EXPECT_EQ(self_actor, cqe.actor);
	EXPECT_EQ(self_actor, cqe.source);
	EXPECT_EQ(77, cqe.tag);
	ASSERT_EQ(sizeof(buf), cqe.len);
	ASSERT_NE(0, cqe.flags & VACTOR_CQE_F_BUF);
	EXPECT_TRUE(pattern_ok(p->recv + cqe.buf_off, cqe.len, 0, 77));
	EXPECT_TRUE(cq_idle(p));
}

/* ---- sqe: malformed entries, through the rings and through CALL ---- */

FIXTURE(sqe) {
	struct vact_port p, q;
	uint64_t a;		/* hosted by p */
	uint64_t b;		/* hosted by q */
	struct vactor_sqe in;
	struct vactor_cqe out;
};

FIXTURE_VARIANT(sqe) {
	bool ring;
};

FIXTURE_VARIANT_ADD(sqe, ring) { .ring = true };
FIXTURE_VARIANT_ADD(sqe, call) { .ring = false };

FIXTURE_SETUP(sqe)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->q, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	ASSERT_EQ(0, vact_create(&self->q, NULL, 0, &self->b));
	vact_prep_nop(&self->in, 0xbad0);
}

FIXTURE_TEARDOWN(sqe)
{
	vact_destroy(&self->p, self->a);
	vact_destroy(&self->q, self->b);
	vact_port_close(&self->q);
	vact_port_close(&self->p);
}

/*
 * A valid send of len inline bytes from a to b, for the tests to spoil.  The
 * target is on the other port so that p's CQ holds only p's completions.
 */
static void prep_send(FIXTURE_DATA(sqe) *self, uint32_t len)
{
	unsigned char buf[VACTOR_INLINE_MAX];

	pattern_fill(buf, sizeof(buf), 0, 1);
	vact_prep_send(&self->p, &self->in, self->a, self->b, buf, len, 1);
	self->in.user_data = 0xbad1;
}

/* Runs self->in, expects err, nothing delivered, and a healthy port. */
#define EXPECT_SQE_FAILS(err) do {					\
	EXPECT_EQ(-(err), run_sqe_ok(_metadata, &self->p, variant->ring, \
				     &self->in, &self->out));		\
	EXPECT_TRUE(cq_idle(&self->p));					\
	EXPECT_TRUE(cq_idle(&self->q));					\
	healthy_ok(_metadata, &self->p, self->a);			\
} while (0)

TEST_F(sqe, valid_send_delivered)
{
	prep_send(self, 8);
	self->in.flags |= VACTOR_SQE_F_ACK;
	EXPECT_EQ(0, run_sqe_ok(_metadata, &self->p, variant->ring, &self->in,
				&self->out));
	EXPECT_TRUE(cq_idle(&self->p));
	ASSERT_EQ(0, reap(&self->q, &self->out, WAIT_NS));
	EXPECT_EQ(self->b, self->out.actor);
	EXPECT_EQ(self->a, self->out.source);
	EXPECT_EQ(VACTOR_EV_MSG, self->out.event);
	EXPECT_EQ(8, self->out.len);
	EXPECT_TRUE(pattern_ok(self->out.data, 8, 0, 1));
	healthy_ok(_metadata, &self->p, self->a);
}

TEST_F(sqe, opcode_last_einval)
{
	self->in.opcode = VACTOR_OP_LAST;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, opcode_255_einval)
{
	self->in.opcode = 255;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, resv0_einval)
{
	self->in.resv0 = 1;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, resv1_0_einval)
{
	self->in.resv1[0] = 1;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, resv1_1_einval)
{
	self->in.resv1[1] = 1ULL << 63;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, send_resv0_einval)
{
	prep_send(self, 8);
	self->in.resv0 = 0x8000;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, send_resv1_einval)
{
	prep_send(self, 8);
	self->in.resv1[1] = 1;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, unknown_flag_einval)
{
	self->in.flags = 1U << 2;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, send_unknown_flag_einval)
{
	prep_send(self, 8);
	self->in.flags |= 0x80;
	EXPECT_SQE_FAILS(EINVAL);
}

TEST_F(sqe, inline_65_bytes_emsgsize)
{
	prep_send(self, 8);
	self->in.len = VACTOR_INLINE_MAX + 1;
	EXPECT_SQE_FAILS(EMSGSIZE);
}

TEST_F(sqe, inline_huge_len_emsgsize)
{
	prep_send(self, 8);
	self->in.len = 0xffffffffU;
	EXPECT_SQE_FAILS(EMSGSIZE);
}

TEST_F(sqe, buf_over_msg_max_emsgsize)
{
	prep_send(self, 0);
	/* The send area (256 KiB) holds it: only the size is wrong. */
	ASSERT_LT(VACTOR_MSG_MAX + 1, self->p.send_size);
	self->in.flags |= VACTOR_SQE_F_BUF;
	self->in.buf_off = 0;
	self->in.len = VACTOR_MSG_MAX + 1;
	EXPECT_SQE_FAILS(EMSGSIZE);
}

TEST_F(sqe, buf_past_end_efault)
{
	prep_send(self, 0);
	self->in.flags |= VACTOR_SQE_F_BUF;
	self->in.buf_off = (uint32_t)self->p.send_size - 16;
	self->in.len = 32;
	EXPECT_SQE_FAILS(EFAULT);
}

TEST_F(sqe, buf_at_end_efault)
{
	prep_send(self, 0);
	self->in.flags |= VACTOR_SQE_F_BUF;
	self->in.buf_off = (uint32_t)self->p.send_size;
	self->in.len = 1;
	EXPECT_SQE_FAILS(EFAULT);
}

TEST_F(sqe, buf_offset_wraps_efault)
{
	prep_send(self, 0);
	self->in.flags |= VACTOR_SQE_F_BUF;
	/* off + len overflows 32 bits to 0x10: inside the area if unchecked. */
	self->in.buf_off = 0xfffffff0U;
	self->in.len = 0x20;
	EXPECT_SQE_FAILS(EFAULT);
}

TEST_F(sqe, buf_whole_area_end_accepted)
{
	/* The last byte of the area is inside it. */
	memset(self->p.send + self->p.send_size - 100, 0xab, 100);
	prep_send(self, 0);
	self->in.flags |= VACTOR_SQE_F_BUF | VACTOR_SQE_F_ACK;
	self->in.buf_off = (uint32_t)self->p.send_size - 100;
	self->in.len = 100;
	EXPECT_EQ(0, run_sqe_ok(_metadata, &self->p, variant->ring, &self->in,
				&self->out));
	EXPECT_TRUE(cq_idle(&self->p));
	ASSERT_EQ(0, reap(&self->q, &self->out, WAIT_NS));
	EXPECT_EQ(VACTOR_EV_MSG, self->out.event);
	ASSERT_EQ(100, self->out.len);
	EXPECT_EQ(0xab, ((const unsigned char *)
			 vact_cqe_data(&self->q, &self->out))[99]);
	healthy_ok(_metadata, &self->p, self->a);
}

TEST_F(sqe, send_from_other_ports_actor_eperm)
{
	prep_send(self, 8);
	self->in.actor = self->b;
	self->in.target = self->a;
	EXPECT_SQE_FAILS(EPERM);
}

TEST_F(sqe, send_from_unknown_actor_eperm)
{
	prep_send(self, 8);
	self->in.actor = ~0ULL;
	EXPECT_SQE_FAILS(EPERM);
}

TEST_F(sqe, send_to_unknown_target_enoent)
{
	prep_send(self, 8);
	self->in.target = ~0ULL;
	EXPECT_SQE_FAILS(ENOENT);
}

TEST_F(sqe, send_to_destroyed_target_enoent)
{
	uint64_t gone;

	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &gone));
	ASSERT_EQ(0, vact_destroy(&self->p, gone));
	prep_send(self, 8);
	self->in.target = gone;
	EXPECT_SQE_FAILS(ENOENT);
}

TEST_F(sqe, host_unknown_enoent)
{
	vact_prep_host(&self->in, ~0ULL, 0xbad2);
	EXPECT_SQE_FAILS(ENOENT);
}

TEST_F(sqe, host_hosted_ebusy)
{
	vact_prep_host(&self->in, self->b, 0xbad3);
	EXPECT_SQE_FAILS(EBUSY);
}

/* ---- rings: ENTER arguments and corrupted ring indices ---- */

FIXTURE(rings) {
	struct vact_port p;
	uint64_t a;
};

FIXTURE_SETUP(rings)
{
	struct vactor_sqe *sqe;

	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	/* One NOP prepared, not published: the tests decide how. */
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	vact_prep_nop(sqe, 0x90);
}

FIXTURE_TEARDOWN(rings)
{
	vact_destroy(&self->p, self->a);
	vact_port_close(&self->p);
}

static int enter_with(int fd, const struct vactor_enter *e)
{
	struct vactor_enter copy = *e;

	return ioctl(fd, VACTOR_IOC_ENTER, &copy) < 0 ? -errno : 0;
}

/* The prepared NOP is taken by the next ENTER and completes once. */
static void nop_goes_through_ok(struct __test_metadata *_metadata,
				struct vact_port *p)
{
	struct vactor_cqe cqe;

	sq_publish(p);
	ASSERT_EQ(1, enter_raw(p->fd, 1, 0, 0, 0));
	ASSERT_EQ(0, reap(p, &cqe, WAIT_NS));
	EXPECT_EQ(0x90, cqe.user_data);
	EXPECT_EQ(0, cqe.res);
	EXPECT_TRUE(cq_idle(p));
}

/* A refused ENTER took nothing: the kernel's SQ head has not moved. */
#define EXPECT_ENTER_REFUSED(call) do {				\
	unsigned int head = load_acquire(self->p.sq.head);		\
	EXPECT_EQ(-EINVAL, (call));					\
	EXPECT_EQ(head, load_acquire(self->p.sq.head));			\
	EXPECT_EQ(0, vact_cq_ready(&self->p));				\
} while (0)

TEST_F(rings, enter_unknown_flag_einval)
{
	struct vactor_enter e = { .to_submit = 1, .flags = 1U << 2 };

	sq_publish(&self->p);
	EXPECT_ENTER_REFUSED(enter_with(self->p.fd, &e));
	nop_goes_through_ok(_metadata, &self->p);
	healthy_ok(_metadata, &self->p, self->a);
}

TEST_F(rings, enter_all_flags_einval)
{
	struct vactor_enter e = { .to_submit = 1, .flags = ~0U };

	sq_publish(&self->p);
	EXPECT_ENTER_REFUSED(enter_with(self->p.fd, &e));
	nop_goes_through_ok(_metadata, &self->p);
}

TEST_F(rings, enter_resv0_einval)
{
	struct vactor_enter e = { .to_submit = 1, .resv0 = 1 };

	sq_publish(&self->p);
	EXPECT_ENTER_REFUSED(enter_with(self->p.fd, &e));
	nop_goes_through_ok(_metadata, &self->p);
}

TEST_F(rings, enter_resv_0_einval)
{
	struct vactor_enter e = { .to_submit = 1, .resv = { 1, 0 } };

	sq_publish(&self->p);
	EXPECT_ENTER_REFUSED(enter_with(self->p.fd, &e));
	nop_goes_through_ok(_metadata, &self->p);
}

TEST_F(rings, enter_resv_1_einval)
{
	struct vactor_enter e = { .to_submit = 1, .resv = { 0, 1ULL << 63 } };

	sq_publish(&self->p);
	EXPECT_ENTER_REFUSED(enter_with(self->p.fd, &e));
	nop_goes_through_ok(_metadata, &self->p);
}

/* Refused before anything is consumed, not after (the fuzzer found that). */
TEST_F(rings, enter_wait_for_more_than_cq_einval)
{
	struct vactor_enter e = {
		.to_submit = 1, .flags = VACTOR_ENTER_GETEVENTS,
		.min_complete = self->p.cq.entries + 1,
	};

	sq_publish(&self->p);
	EXPECT_ENTER_REFUSED(enter_with(self->p.fd, &e));
	nop_goes_through_ok(_metadata, &self->p);
}

TEST_F(rings, sq_tail_far_ahead_einval_then_recovers)
{
	unsigned int head = load_acquire(self->p.sq.head);

	store_release(self->p.sq.tail, head + self->p.sq.entries + 1);
	EXPECT_ENTER_REFUSED(enter_raw(self->p.fd, 1, 0, 0, 0));
	nop_goes_through_ok(_metadata, &self->p);
	healthy_ok(_metadata, &self->p, self->a);
}

TEST_F(rings, sq_tail_behind_head_einval_then_recovers)
{
	unsigned int head = load_acquire(self->p.sq.head);

	store_release(self->p.sq.tail, head - 1);
	EXPECT_ENTER_REFUSED(enter_raw(self->p.fd, 1, 0, 0, 0));
	nop_goes_through_ok(_metadata, &self->p);
	healthy_ok(_metadata, &self->p, self->a);
}

TEST_F(rings, sq_tail_exactly_full_accepted)
{
	unsigned int i, n = self->p.sq.entries;

	for (i = 1; i < n; i++)
		vact_prep_nop(vact_get_sqe(&self->p), 0x90 + i);
	ASSERT_EQ(NULL, vact_get_sqe(&self->p));
	sq_publish(&self->p);
	ASSERT_EQ((int)n, enter_raw(self->p.fd, n, 0, 0, 0));
	ASSERT_EQ(n, vact_cq_ready(&self->p));
	vact_cq_advance(&self->p, n);
	healthy_ok(_metadata, &self->p, self->a);
}

TEST_F(rings, cq_head_ahead_of_tail_einval)
{
	unsigned int tail = load_acquire(self->p.cq.tail);

	store_release(self->p.cq.head, tail + 1);
	sq_publish(&self->p);
	EXPECT_EQ(-EINVAL, enter_raw(self->p.fd, 1, 0, 0, 0));
	EXPECT_EQ(0, load_acquire(self->p.sq.head));
	EXPECT_EQ(tail, load_acquire(self->p.cq.tail));
}

TEST_F(rings, cq_head_too_far_behind_einval)
{
	unsigned int tail = load_acquire(self->p.cq.tail);

	store_release(self->p.cq.head, tail - self->p.cq.entries - 1);
	sq_publish(&self->p);
	EXPECT_EQ(-EINVAL, enter_raw(self->p.fd, 1, 0, 0, 0));
	EXPECT_EQ(0, load_acquire(self->p.sq.head));
	EXPECT_EQ(tail, load_acquire(self->p.cq.tail));
}

TEST_F(rings, cq_head_fixed_works_again)
{
	unsigned int tail = load_acquire(self->p.cq.tail);

	store_release(self->p.cq.head, tail + 1);
	sq_publish(&self->p);
	ASSERT_EQ(-EINVAL, enter_raw(self->p.fd, 1, 0, 0, 0));
	store_release(self->p.cq.head, tail);
	nop_goes_through_ok(_metadata, &self->p);
	healthy_ok(_metadata, &self->p, self->a);
}

/*
 * Consumed CQEs stay consumed: a head moved back behind one the kernel has
 * read (each ENTER reads it) is refused like any corrupted index.
 */
TEST_F(rings, cq_head_moved_back_einval_then_recovers)
{
	unsigned int tail;

	nop_goes_through_ok(_metadata, &self->p);
	vact_prep_nop(vact_get_sqe(&self->p), 0x90);
	/* This ENTER reads head 1: the kernel has seen entry 0 consumed. */
	nop_goes_through_ok(_metadata, &self->p);
	tail = load_acquire(self->p.cq.tail);
	ASSERT_EQ(2, tail);
	store_release(self->p.cq.head, 0);
	vact_prep_nop(vact_get_sqe(&self->p), 0x90);
	sq_publish(&self->p);
	EXPECT_EQ(-EINVAL, enter_raw(self->p.fd, 1, 0, 0, 0));
	EXPECT_EQ(-EINVAL, enter_raw(self->p.fd, 0, 0,
				     VACTOR_ENTER_GETEVENTS, 0));
	EXPECT_EQ(2, load_acquire(self->p.sq.head));
	EXPECT_EQ(tail, load_acquire(self->p.cq.tail));
	/* Back only as far as the head the kernel read: accepted. */
	store_release(self->p.cq.head, 1);
	EXPECT_EQ(0, enter_raw(self->p.fd, 0, 0, VACTOR_ENTER_GETEVENTS, 0));
	store_release(self->p.cq.head, tail);
	nop_goes_through_ok(_metadata, &self->p);
	healthy_ok(_metadata, &self->p, self->a);
}

/*
 * A port closed with its CQ head moved back gives nothing back: the
 * messages behind the head the kernel read were consumed, so none of them
 * is redelivered (each would cost the kernel a copy, at whatever length
 * its record says).  The close drops the port's window, as for any
 * corrupted head.
 */
TEST_F(rings, cq_head_moved_back_at_close_redelivers_nothing)
{
	unsigned char buf[VACTOR_INLINE_MAX];
	struct vactor_cqe cqe;
	struct vact_port n;
	uint64_t i;

	nop_goes_through_ok(_metadata, &self->p);
	for (i = 0; i < 4; i++) {
		pattern_fill(buf, sizeof(buf), 0, i);
		ASSERT_EQ(0, vact_send(&self->p, self->a, self->a, buf,
				       sizeof(buf), i));
		ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
		ASSERT_EQ(VACTOR_EV_MSG, cqe.event);
		ASSERT_EQ(i, cqe.tag);
	}
	/* This ENTER reads the head past all four. */
	vact_prep_nop(vact_get_sqe(&self->p), 0x90);
	nop_goes_through_ok(_metadata, &self->p);
	/* Back to the first message, still inside the CQ's window. */
	store_release(self->p.cq.head, 1);
	vact_port_close(&self->p);

	ASSERT_EQ(0, port_open(&n, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_host(&n, self->a));
	EXPECT_TRUE(cq_idle(&n));
	EXPECT_EQ(0, vact_destroy(&n, self->a));
	vact_port_close(&n);
}

TEST_F(rings, cq_full_of_own_completions_ebusy)
{
	unsigned int i, n = self->p.cq.entries;
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;

	/* Fill the CQ with NOP completions, up to an SQ's worth at a time. */
	for (i = 1; i < n; i++) {
		sqe = vact_get_sqe(&self->p);
		if (!sqe) {
			ASSERT_EQ((int)self->p.sq.entries, vact_submit(&self->p));
			sqe = vact_get_sqe(&self->p);
		}
		ASSERT_NE(NULL, sqe);
		vact_prep_nop(sqe, 0x90 + i);
	}
	ASSERT_LT(0, vact_submit(&self->p));
	ASSERT_EQ(n, vact_cq_ready(&self->p));
	/* No room for one more completion: nothing is taken. */
	vact_prep_nop(vact_get_sqe(&self->p), 0x90 + n);
	sq_publish(&self->p);
	EXPECT_EQ(-EBUSY, enter_raw(self->p.fd, 1, 0, 0, 0));
	EXPECT_EQ(n, load_acquire(self->p.sq.head));
	/* Reaping makes room; every completion arrives once, in order. */
	for (i = 0; i < n + 1; i++) {
		ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
		ASSERT_EQ(0x90 + i, cqe.user_data);
	}
	EXPECT_TRUE(cq_idle(&self->p));
}

TEST_HARNESS_MAIN
