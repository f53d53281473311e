// SPDX-License-Identifier: GPL-2.0
/*
 * vactor backpressure tests (Documentation/uapi.rst, "Delivery and
 * backpressure"): a receiver that does not reap fills its CQ, then its
 * mailbox (VACTOR_CQ_F_BACKLOG), then senders get EAGAIN; nothing accepted is
 * lost, duplicated or reordered.  Payloads that do not fit the receive area
 * wait for it.
 */
#include "kselftest_harness.h"

#include <poll.h>

#include "vactor_test.h"

#define RX_SQ		4
#define RX_CQ		8	/* the receiver's tiny CQ */
#define SENDER_IDX	1	/* pattern_fill's sender number */

FIXTURE(bp) {
	struct vact_port r, s;	/* receiver, sender */
	uint64_t ra, sa;	/* their actors */
	long mailbox_max;
	unsigned char buf[VACTOR_MSG_MAX];
};

FIXTURE_SETUP(bp)
{
	/* The smallest receive area makes the large-payload tests bite. */
	tiny_receiver_ok(_metadata, &self->mailbox_max, &self->r, RX_SQ, RX_CQ,
			 &self->s, &self->ra, &self->sa);
}

FIXTURE_TEARDOWN(bp)
{
	vact_destroy(&self->r, self->ra);
	vact_destroy(&self->s, self->sa);
	vact_port_close(&self->s);
	vact_port_close(&self->r);
}

static unsigned int sq_pending(const struct vact_port *p)
{
	return p->sq.sqe_tail - load_acquire(p->sq.head);
}

/* Submits until the kernel has taken every prepared SQE. */
static void submit_all_ok(struct __test_metadata *_metadata,
			  struct vact_port *p)
{
	while (sq_pending(p))
		ASSERT_LT(0, vact_submit(p));
}

/* Queues sends seq first..first+count-1 from sa to ra: tag = user_data = seq. */
static void send_seqs_ok(struct __test_metadata *_metadata,
			 FIXTURE_DATA(bp) *self, uint64_t first,
			 unsigned int count, uint32_t len, uint8_t flags)
{
	struct vactor_sqe *sqe;
	uint64_t seq;

	for (seq = first; seq < first + count; seq++) {
		sqe = vact_get_sqe(&self->s);
		if (!sqe) {
			submit_all_ok(_metadata, &self->s);
			sqe = vact_get_sqe(&self->s);
		}
		ASSERT_NE(NULL, sqe);
		pattern_fill(self->buf, len, SENDER_IDX, seq);
		ASSERT_EQ(0, vact_prep_send(&self->s, sqe, self->sa, self->ra,
					    self->buf, len, seq));
		sqe->flags |= flags;
		sqe->user_data = seq;
	}
	submit_all_ok(_metadata, &self->s);
}

/* The next CQE of r is message seq (len bytes, intact); consumes it. */
static void receive_ok(struct __test_metadata *_metadata,
		       FIXTURE_DATA(bp) *self, uint64_t seq, uint32_t len)
{
	struct vactor_cqe *cqe;

	ASSERT_EQ(0, vact_wait_cqe(&self->r, &cqe, WAIT_NS));
	ASSERT_EQ(VACTOR_EV_MSG, cqe->event);
	ASSERT_EQ(self->ra, cqe->actor);
	ASSERT_EQ(self->sa, cqe->source);
	ASSERT_EQ(seq, cqe->tag) TH_LOG("out of order or lost");
	ASSERT_EQ(len, cqe->len);
	EXPECT_EQ(0, cqe->flags & VACTOR_CQE_F_REDELIVERED);
	EXPECT_EQ(len > VACTOR_INLINE_MAX, !!(cqe->flags & VACTOR_CQE_F_BUF));
	/* Before advancing: the receive area is reused after it. */
	EXPECT_TRUE(pattern_ok(vact_cqe_data(&self->r, cqe), len, SENDER_IDX, seq));
	vact_cqe_seen(&self->r, cqe);
}

static void receive_seqs_ok(struct __test_metadata *_metadata,
			    FIXTURE_DATA(bp) *self, uint64_t first,
			    unsigned int count, uint32_t len)
{
	uint64_t seq;

	for (seq = first; seq < first + count; seq++)
		receive_ok(_metadata, self, seq, len);
}

static bool backlog(const struct vact_port *p)
{
	return load_acquire(p->cq.flags) & VACTOR_CQ_F_BACKLOG;
}

TEST_F(bp, full_cq_sets_backlog)
{
	send_seqs_ok(_metadata, self, 0, RX_CQ + 20, 8, 0);
	EXPECT_EQ(RX_CQ, vact_cq_ready(&self->r));
	EXPECT_TRUE(backlog(&self->r));
	/* Accepted, so the sender hears nothing. */
	EXPECT_TRUE(cq_idle(&self->s));
}

TEST_F(bp, backlog_delivered_once_in_order)
{
	send_seqs_ok(_metadata, self, 0, RX_CQ + 20, 8, 0);
	receive_seqs_ok(_metadata, self, 0, RX_CQ + 20, 8);
	EXPECT_TRUE(cq_idle(&self->r));
	EXPECT_FALSE(backlog(&self->r));
}

TEST_F(bp, poll_moves_backlog_in)
{
	struct pollfd pfd = { .fd = self->r.fd, .events = POLLIN };

	send_seqs_ok(_metadata, self, 0, RX_CQ + 20, 8, 0);
	ASSERT_EQ(RX_CQ, vact_cq_ready(&self->r));
	vact_cq_advance(&self->r, RX_CQ);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN, pfd.revents);
	EXPECT_EQ(RX_CQ, vact_cq_ready(&self->r));
	receive_seqs_ok(_metadata, self, RX_CQ, 20, 8);
}

TEST_F(bp, mailbox_full_eagain_exactly_for_excess)
{
	unsigned int accepted = RX_CQ + (unsigned int)self->mailbox_max;
	struct vactor_cqe cqe;
	unsigned int i;

	send_seqs_ok(_metadata, self, 0, accepted + 5, 8, 0);
	ASSERT_EQ(RX_CQ, vact_cq_ready(&self->r));
	EXPECT_TRUE(backlog(&self->r));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, reap(&self->s, &cqe, 0)) TH_LOG("only %u EAGAIN", i);
		EXPECT_EQ(VACTOR_EV_COMPLETE, cqe.event);
		EXPECT_EQ(VACTOR_OP_SEND, cqe.opcode);
		EXPECT_EQ(-EAGAIN, cqe.res);
		EXPECT_EQ(accepted + i, cqe.user_data);
		EXPECT_EQ(self->sa, cqe.actor);
	}
	EXPECT_TRUE(cq_idle(&self->s));
	receive_seqs_ok(_metadata, self, 0, accepted, 8);
	EXPECT_TRUE(cq_idle(&self->r));
}

TEST_F(bp, send_after_eagain_accepted_once_reaped)
{
	unsigned int accepted = RX_CQ + (unsigned int)self->mailbox_max;
	struct vactor_cqe cqe;

	send_seqs_ok(_metadata, self, 0, accepted + 1, 8, 0);
	ASSERT_EQ(0, reap(&self->s, &cqe, 0));
	ASSERT_EQ(-EAGAIN, cqe.res);
	ASSERT_EQ(accepted, cqe.user_data);
	receive_seqs_ok(_metadata, self, 0, accepted, 8);
	/* Send the refused one again: now it goes through. */
	send_seqs_ok(_metadata, self, accepted, 1, 8, VACTOR_SQE_F_ACK);
	ASSERT_EQ(0, reap(&self->s, &cqe, WAIT_NS));
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(accepted, cqe.user_data);
	receive_ok(_metadata, self, accepted, 8);
	EXPECT_TRUE(cq_idle(&self->r));
}

TEST_F(bp, max_payload_fits_empty_recv_area)
{
	send_seqs_ok(_metadata, self, 0, 1, VACTOR_MSG_MAX, 0);
	EXPECT_EQ(1, vact_cq_ready(&self->r));
	receive_ok(_metadata, self, 0, VACTOR_MSG_MAX);
}

/* Two payloads that don't fit the receive area together: the second waits. */
TEST_F(bp, large_payload_waits_for_recv_area)
{
	uint32_t len = (uint32_t)(self->r.recv_size / 2 + 4096);

	ASSERT_GE(VACTOR_MSG_MAX, len);
	send_seqs_ok(_metadata, self, 0, 1, len, 0);
	send_seqs_ok(_metadata, self, 1, 1, len, 0);
	EXPECT_TRUE(cq_idle(&self->s));
	EXPECT_EQ(1, vact_cq_ready(&self->r));
	EXPECT_TRUE(backlog(&self->r));
	receive_seqs_ok(_metadata, self, 0, 2, len);
	EXPECT_TRUE(cq_idle(&self->r));
	EXPECT_FALSE(backlog(&self->r));
}

/* FIFO holds across sizes: an inline message waits behind a large one. */
TEST_F(bp, small_does_not_overtake_waiting_large)
{
	uint32_t len = (uint32_t)(self->r.recv_size / 2 + 4096);

	ASSERT_GE(VACTOR_MSG_MAX, len);
	send_seqs_ok(_metadata, self, 0, 2, len, 0);
	send_seqs_ok(_metadata, self, 2, 1, 8, 0);
	EXPECT_EQ(1, vact_cq_ready(&self->r));
	receive_seqs_ok(_metadata, self, 0, 2, len);
	receive_ok(_metadata, self, 2, 8);
	EXPECT_TRUE(cq_idle(&self->r));
}

/*
 * Payloads over half the receive area, each starting where the last ended:
 * with the CQ empty, the unused end of the area must not count as taken.
 */
TEST_F(bp, large_payloads_fit_after_wrap_with_empty_cq)
{
	static const uint32_t lens[] = { 20000, 50000, 1000, VACTOR_MSG_MAX,
					 40000, VACTOR_MSG_MAX };
	unsigned int i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		send_seqs_ok(_metadata, self, i, 1, lens[i], 0);
		receive_ok(_metadata, self, i, lens[i]);
	}
	EXPECT_TRUE(cq_idle(&self->r));
}

TEST_HARNESS_MAIN
