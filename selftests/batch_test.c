// SPDX-License-Identifier: GPL-2.0
/*
 * vactor SEND_BATCH tests (kmod/uapi/linux/vactor.h, struct
 * vactor_batch_msg): one SQE sends the messages laid out back to back in
 * the send area, in order, each exactly as a SEND would, and stops at the
 * first that fails; its completion (only on error, or with
 * VACTOR_SQE_F_ACK) has len = the number of messages sent.  Through the
 * rings and through VACTOR_IOC_CALL, under backpressure, and libvact's
 * batch API (vact_batch_start, vact_batch_add, vact_prep_send_batch).
 *
 * Every payload is pattern_fill(SENDER_IDX, tag), so a receiver checks the
 * bytes of each message from its tag alone.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <sys/fsuid.h>
#include <sys/types.h>

#include "vactor_test.h"

#define SENDER_IDX	2	/* pattern_fill's sender number */
#define OTHER_UID	1000	/* an ordinary user */
#define UD		0xba7c4ULL	/* the batches' user_data */
#define HDR		((uint32_t)sizeof(struct vactor_batch_msg))

/* The layout the offsets below are computed with. */
_Static_assert(sizeof(struct vactor_batch_msg) == 24, "batch header size");
_Static_assert(VACTOR_BATCH_ALIGN == 8, "batch alignment");

/* One message of a batch. */
struct bmsg {
	uint64_t to;
	uint64_t tag;		/* also the payload pattern's seq */
	uint32_t len;
};

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static uint32_t batch_align(uint32_t x)
{
	const uint32_t mask = VACTOR_BATCH_ALIGN - 1;

	return (x + mask) & ~mask;
}

/* Inline and large, the edges of each: 0 .. VACTOR_MSG_MAX. */
static const uint32_t mixed_lens[] = {
	0, 1, 7, 8, 9, 63, VACTOR_INLINE_MAX, VACTOR_INLINE_MAX + 1, 100,
	4095, 4096, VACTOR_MSG_MAX - 1, 3, VACTOR_MSG_MAX, 64, 0,
};

#define N_MIXED		ARRAY_LEN(mixed_lens)

/* n messages to `to`, tags tag0.., lengths cycling through mixed_lens. */
static void mixed_msgs(struct bmsg *m, unsigned int n, uint64_t to,
		       uint64_t tag0)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		m[i].to = to;
		m[i].tag = tag0 + i;
		m[i].len = mixed_lens[i % N_MIXED];
	}
}

/* n messages of len bytes to `to`, tags tag0.. */
static void same_msgs(struct bmsg *m, unsigned int n, uint64_t to,
		      uint64_t tag0, uint32_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		m[i].to = to;
		m[i].tag = tag0 + i;
		m[i].len = len;
	}
}

/* ---- building batches ---- */

/* Starts a batch on p (all the free send area) holding m[0..n). */
static void batch_build_ok(struct __test_metadata *_metadata,
			   struct vact_port *p, struct vact_batch *b,
			   const struct bmsg *m, unsigned int n)
{
	unsigned int i;
	void *data;

	ASSERT_EQ(0, vact_batch_start(p, b, 0));
	for (i = 0; i < n; i++) {
		data = vact_batch_add(b, m[i].to, m[i].len, m[i].tag);
		ASSERT_NE(NULL, data)
			TH_LOG("message %u of %u does not fit", i, n);
		pattern_fill(data, m[i].len, SENDER_IDX, m[i].tag);
	}
	ASSERT_EQ(n, b->count);
}

/* As batch_build_ok, then prepares sqe (not one of the SQ's) to send it. */
static void batch_sqe_ok(struct __test_metadata *_metadata,
			 struct vact_port *p, struct vactor_sqe *sqe,
			 uint64_t from, const struct bmsg *m, unsigned int n,
			 uint8_t flags)
{
	struct vact_batch b;

	batch_build_ok(_metadata, p, &b, m, n);
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b, from, flags, UD));
}

/* Queues a batch of m[0..n) from `from` on p's SQ (not submitted). */
static void batch_queue_ok(struct __test_metadata *_metadata,
			   struct vact_port *p, uint64_t from,
			   const struct bmsg *m, unsigned int n, uint8_t flags,
			   uint64_t user_data)
{
	struct vactor_sqe *sqe;
	struct vact_batch b;

	batch_build_ok(_metadata, p, &b, m, n);
	sqe = vact_get_sqe(p);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b, from, flags, user_data));
}

/*
 * By hand, for what libvact will not write: a header at off in p's send
 * area.  Returns the offset of its payload.
 */
static uint32_t put_hdr(struct vact_port *p, uint32_t off, uint64_t to,
			uint64_t tag, uint32_t len, uint32_t resv)
{
	struct vactor_batch_msg h = {
		.target = to, .tag = tag, .len = len, .resv = resv,
	};

	memcpy(p->send + off, &h, sizeof(h));
	return off + (uint32_t)sizeof(h);
}

/* Messages m[0..n) from off on; returns where the next one would start. */
static uint32_t put_msgs(struct vact_port *p, uint32_t off,
			 const struct bmsg *m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		off = put_hdr(p, off, m[i].to, m[i].tag, m[i].len, 0);
		pattern_fill(p->send + off, m[i].len, SENDER_IDX, m[i].tag);
		off = batch_align(off + m[i].len);
	}
	return off;
}

/* A SEND_BATCH SQE for the span [off, off + len) of the send area. */
static void prep_raw(struct vactor_sqe *sqe, uint64_t from, uint32_t off,
		     uint32_t len, uint8_t flags)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = VACTOR_OP_SEND_BATCH;
	sqe->flags = flags;
	sqe->actor = from;
	sqe->buf_off = off;
	sqe->len = len;
	sqe->user_data = UD;
}

/* ---- checking what arrives ---- */

/* cqe is the batch's completion: res, and len messages sent. */
static void completion_ok(struct __test_metadata *_metadata,
			  const struct vactor_cqe *cqe, uint64_t user_data,
			  uint64_t actor, int res, uint32_t len)
{
	EXPECT_EQ(VACTOR_EV_COMPLETE, cqe->event);
	EXPECT_EQ(VACTOR_OP_SEND_BATCH, cqe->opcode);
	EXPECT_EQ(user_data, cqe->user_data);
	EXPECT_EQ(actor, cqe->actor);
	EXPECT_EQ(res, cqe->res);
	EXPECT_EQ(len, cqe->len);
}

/* The next CQE of q is message m from source, intact; consumes it. */
static void recv_ok(struct __test_metadata *_metadata, struct vact_port *q,
		    uint64_t source, const struct bmsg *m, uint64_t *ts_ns)
{
	struct vactor_cqe *cqe;

	ASSERT_EQ(0, vact_wait_cqe(q, &cqe, WAIT_NS))
		TH_LOG("message tag %llu never came",
		       (unsigned long long)m->tag);
	ASSERT_EQ(VACTOR_EV_MSG, cqe->event);
	ASSERT_EQ(m->to, cqe->actor);
	ASSERT_EQ(source, cqe->source);
	ASSERT_EQ(m->tag, cqe->tag) TH_LOG("out of order or lost");
	ASSERT_EQ(m->len, cqe->len);
	/* The sender's user_data is not the receiver's business. */
	EXPECT_EQ(0, cqe->user_data);
	EXPECT_EQ(0, cqe->res);
	EXPECT_EQ(0, cqe->flags & VACTOR_CQE_F_REDELIVERED);
	EXPECT_EQ(m->len > VACTOR_INLINE_MAX,
		  !!(cqe->flags & VACTOR_CQE_F_BUF));
	EXPECT_TRUE(pattern_ok(vact_cqe_data(q, cqe), m->len, SENDER_IDX,
			       m->tag));
	if (ts_ns)
		*ts_ns = cqe->ts_ns;
	vact_cqe_seen(q, cqe);
}

/* q receives m[0..n) from source, in this order. */
static void recv_all_ok(struct __test_metadata *_metadata, struct vact_port *q,
			uint64_t source, const struct bmsg *m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		recv_ok(_metadata, q, source, &m[i], NULL);
}

/*
 * q, the host of actors mine[0..nmine), receives the messages of m[0..n)
 * for them, each actor's in the order of m (nothing says how the messages
 * of two targets interleave).
 */
static void recv_per_target_ok(struct __test_metadata *_metadata,
			       struct vact_port *q, uint64_t source,
			       const struct bmsg *m, unsigned int n,
			       const uint64_t *mine, unsigned int nmine)
{
	unsigned int i, j, want = 0, got;
	struct vactor_cqe *cqe;
	bool done[64] = { };

	ASSERT_GE(ARRAY_LEN(done), n);
	for (i = 0; i < n; i++)
		for (j = 0; j < nmine; j++)
			want += m[i].to == mine[j];
	for (got = 0; got < want; got++) {
		ASSERT_EQ(0, vact_wait_cqe(q, &cqe, WAIT_NS));
		ASSERT_EQ(VACTOR_EV_MSG, cqe->event);
		/* The first message not yet received for this actor. */
		for (i = 0; i < n; i++)
			if (!done[i] && m[i].to == cqe->actor)
				break;
		ASSERT_LT(i, n) TH_LOG("a message nobody sent to %llu",
				       (unsigned long long)cqe->actor);
		ASSERT_EQ(m[i].tag, cqe->tag)
			TH_LOG("out of order for %llu",
			       (unsigned long long)cqe->actor);
		ASSERT_EQ(source, cqe->source);
		ASSERT_EQ(m[i].len, cqe->len);
		EXPECT_TRUE(pattern_ok(vact_cqe_data(q, cqe), cqe->len,
				       SENDER_IDX, cqe->tag));
		done[i] = true;
		vact_cqe_seen(q, cqe);
	}
}

/* ---- batch: delivery and order through the rings ---- */

FIXTURE(batch) {
	struct vact_port p, q, r;
	uint64_t a;		/* hosted by p: the sender */
	uint64_t b, c;		/* hosted by q */
	uint64_t d;		/* hosted by r */
};

FIXTURE_SETUP(batch)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->q, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->r, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	ASSERT_EQ(0, vact_create(&self->q, NULL, 0, &self->b));
	ASSERT_EQ(0, vact_create(&self->q, NULL, 0, &self->c));
	ASSERT_EQ(0, vact_create(&self->r, NULL, 0, &self->d));
}

FIXTURE_TEARDOWN(batch)
{
	vact_destroy(&self->p, self->a);
	vact_destroy(&self->q, self->b);
	vact_destroy(&self->q, self->c);
	vact_destroy(&self->r, self->d);
	vact_port_close(&self->r);
	vact_port_close(&self->q);
	vact_port_close(&self->p);
}

/*
 * Without F_ACK a batch that succeeds completes with nothing: the NOP after
 * it has the only completion.  Every message arrives whole and in order,
 * all of them stamped with the submission's one time.
 */
TEST_F(batch, one_target_in_order_quiet)
{
	struct bmsg m[N_MIXED];
	struct vactor_cqe cqe;
	uint64_t ts0, ts;
	unsigned int i;

	mixed_msgs(m, N_MIXED, self->b, 100);
	batch_queue_ok(_metadata, &self->p, self->a, m, N_MIXED, 0, UD);
	vact_prep_nop(vact_get_sqe(&self->p), 0x40b);
	ASSERT_EQ(2, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_EV_COMPLETE, cqe.event);
	EXPECT_EQ(VACTOR_OP_NOP, cqe.opcode);
	EXPECT_EQ(0x40b, cqe.user_data);
	EXPECT_TRUE(cq_idle(&self->p));

	recv_ok(_metadata, &self->q, self->a, &m[0], &ts0);
	EXPECT_NE(0, ts0);
	for (i = 1; i < N_MIXED; i++) {
		recv_ok(_metadata, &self->q, self->a, &m[i], &ts);
		EXPECT_EQ(ts0, ts);
	}
	EXPECT_TRUE(cq_idle(&self->q));
	EXPECT_TRUE(cq_idle(&self->r));
}

/* With F_ACK: one completion, res 0, len = every message. */
TEST_F(batch, one_target_ack_counts_all)
{
	struct bmsg m[N_MIXED];
	struct vactor_cqe cqe;

	mixed_msgs(m, N_MIXED, self->b, 200);
	batch_queue_ok(_metadata, &self->p, self->a, m, N_MIXED,
		       VACTOR_SQE_F_ACK, UD);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, N_MIXED);
	EXPECT_TRUE(cq_idle(&self->p));
	recv_all_ok(_metadata, &self->q, self->a, m, N_MIXED);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* A single message, of 0 bytes, is a batch too. */
TEST_F(batch, single_empty_message)
{
	struct bmsg m = { .to = self->b, .tag = 7, .len = 0 };
	struct vactor_cqe cqe;

	batch_queue_ok(_metadata, &self->p, self->a, &m, 1, VACTOR_SQE_F_ACK,
		       UD);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, 1);
	recv_ok(_metadata, &self->q, self->a, &m, NULL);
	EXPECT_TRUE(cq_idle(&self->q));
}

/*
 * Three targets interleaved, two of them on one port: each receives its
 * own messages, in the batch's order.
 */
TEST_F(batch, several_targets_interleaved)
{
	static const char order[] = "bbdcdbcbbddcbcdbdcbbcdcdbb";
	const uint64_t on_q[] = { self->b, self->c };
	const uint64_t on_r[] = { self->d };
	const unsigned int n = sizeof(order) - 1;
	struct bmsg m[sizeof(order) - 1];
	struct vactor_cqe cqe;
	unsigned int i;

	for (i = 0; i < n; i++) {
		m[i].to = order[i] == 'b' ? self->b :
			  order[i] == 'c' ? self->c : self->d;
		m[i].tag = 300 + i;
		m[i].len = (i * 37) % 200;
	}
	batch_queue_ok(_metadata, &self->p, self->a, m, n, VACTOR_SQE_F_ACK,
		       UD);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, n);
	recv_per_target_ok(_metadata, &self->q, self->a, m, n, on_q, 2);
	recv_per_target_ok(_metadata, &self->r, self->a, m, n, on_r, 1);
	EXPECT_TRUE(cq_idle(&self->q));
	EXPECT_TRUE(cq_idle(&self->r));
}

/*
 * SEND, SEND_BATCH, SEND in one submission, the first SEND's payload in
 * the send area before the batch: one order for the receiver, and the
 * completions in SQE order.
 */
TEST_F(batch, sends_around_batch_keep_order)
{
	unsigned char buf[100];
	struct bmsg m[12];
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;

	same_msgs(&m[0], 1, self->b, 0, sizeof(buf));
	mixed_msgs(&m[1], 10, self->b, 1);
	same_msgs(&m[11], 1, self->b, 11, 8);

	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	pattern_fill(buf, m[0].len, SENDER_IDX, m[0].tag);
	ASSERT_EQ(0, vact_prep_send(&self->p, sqe, self->a, self->b, buf,
				    m[0].len, m[0].tag));
	ASSERT_NE(0, sqe->flags & VACTOR_SQE_F_BUF);
	sqe->flags |= VACTOR_SQE_F_ACK;
	sqe->user_data = 1;

	batch_queue_ok(_metadata, &self->p, self->a, &m[1], 10,
		       VACTOR_SQE_F_ACK, 2);

	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	pattern_fill(buf, m[11].len, SENDER_IDX, m[11].tag);
	ASSERT_EQ(0, vact_prep_send(&self->p, sqe, self->a, self->b, buf,
				    m[11].len, m[11].tag));
	sqe->flags |= VACTOR_SQE_F_ACK;
	sqe->user_data = 3;

	ASSERT_EQ(3, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_OP_SEND, cqe.opcode);
	EXPECT_EQ(1, cqe.user_data);
	EXPECT_EQ(0, cqe.res);
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, 2, self->a, 0, 10);
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_OP_SEND, cqe.opcode);
	EXPECT_EQ(3, cqe.user_data);
	EXPECT_EQ(0, cqe.res);
	EXPECT_TRUE(cq_idle(&self->p));

	recv_all_ok(_metadata, &self->q, self->a, m, 12);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* Two batches in one submission: the second starts after the first. */
TEST_F(batch, two_batches_one_submission)
{
	struct bmsg m[20];
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;
	struct vact_batch b1, b2;

	mixed_msgs(&m[0], 10, self->b, 400);
	mixed_msgs(&m[10], 10, self->b, 410);
	batch_build_ok(_metadata, &self->p, &b1, &m[0], 10);
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b1, self->a,
					  VACTOR_SQE_F_ACK, 1));
	batch_build_ok(_metadata, &self->p, &b2, &m[10], 10);
	EXPECT_LE(b1.off + b1.used, b2.off);
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b2, self->a,
					  VACTOR_SQE_F_ACK, 2));

	ASSERT_EQ(2, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, 1, self->a, 0, 10);
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, 2, self->a, 0, 10);
	recv_all_ok(_metadata, &self->q, self->a, m, 20);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* To its own actor: the messages, then the completion, in the one CQ. */
TEST_F(batch, to_own_actor)
{
	struct bmsg m[N_MIXED];
	struct vactor_cqe cqe;

	mixed_msgs(m, N_MIXED, self->a, 500);
	batch_queue_ok(_metadata, &self->p, self->a, m, N_MIXED,
		       VACTOR_SQE_F_ACK, UD);
	ASSERT_EQ(1, vact_submit(&self->p));
	recv_all_ok(_metadata, &self->p, self->a, m, N_MIXED);
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, N_MIXED);
	EXPECT_TRUE(cq_idle(&self->p));
}

/* The last message's padding is not part of the span: it may be left out. */
TEST_F(batch, last_message_unpadded)
{
	const struct bmsg m[] = {
		{ .to = self->b, .tag = 1, .len = 3 },
		{ .to = self->b, .tag = 2, .len = 5 },
	};
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;
	uint32_t end;

	/* Padded, it would end at 64; the span stops at 32 + 24 + 5. */
	ASSERT_EQ(64, put_msgs(&self->p, 0, m, 2));
	end = 32 + HDR + 5;
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->a, 0, end, VACTOR_SQE_F_ACK);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, 2);
	recv_all_ok(_metadata, &self->q, self->a, m, 2);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* A span that includes the last message's padding ends the same. */
TEST_F(batch, last_message_padding_in_span)
{
	const struct bmsg m = { .to = self->b, .tag = 1, .len = 5 };
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;

	ASSERT_EQ(32, put_msgs(&self->p, 0, &m, 1));
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->a, 0, 32, VACTOR_SQE_F_ACK);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, 1);
	recv_ok(_metadata, &self->q, self->a, &m, NULL);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* The kernel wants 8-byte alignment (libvact uses 64), up to the area end. */
TEST_F(batch, span_at_8_aligned_end_of_area)
{
	const struct bmsg m = { .to = self->b, .tag = 9, .len = 16 };
	uint32_t off = (uint32_t)self->p.send_size - 40;
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;

	ASSERT_EQ(0, off % VACTOR_BATCH_ALIGN);
	ASSERT_NE(0, off % 64);
	ASSERT_EQ(self->p.send_size, put_msgs(&self->p, off, &m, 1));
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	prep_raw(sqe, self->a, off, 40, VACTOR_SQE_F_ACK);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, 1);
	recv_ok(_metadata, &self->q, self->a, &m, NULL);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* Through VACTOR_IOC_CALL without F_ACK: the call still returns the cqe. */
TEST_F(batch, call_without_ack_returns_count)
{
	struct bmsg m[N_MIXED];
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;

	mixed_msgs(m, N_MIXED, self->b, 600);
	batch_sqe_ok(_metadata, &self->p, &sqe, self->a, m, N_MIXED, 0);
	memset(&cqe, 0xff, sizeof(cqe));
	EXPECT_EQ(0, vact_call(&self->p, &sqe, &cqe));
	completion_ok(_metadata, &cqe, UD, self->a, 0, N_MIXED);
	EXPECT_TRUE(cq_idle(&self->p));
	recv_all_ok(_metadata, &self->q, self->a, m, N_MIXED);
	EXPECT_TRUE(cq_idle(&self->q));
}

/*
 * The acting actor destroyed by an earlier SQE of the same submission (the
 * kernel remembers the last sender's actor across sends): EPERM.
 */
TEST_F(batch, acting_actor_destroyed_in_same_submission_eperm)
{
	const struct bmsg m = { .to = self->b, .tag = 1, .len = 8 };
	const struct bmsg m2 = { .to = self->b, .tag = 2, .len = 8 };
	struct vactor_cqe cqe;
	uint64_t gone;

	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &gone));
	batch_queue_ok(_metadata, &self->p, gone, &m, 1, 0, 1);
	vact_prep_destroy(vact_get_sqe(&self->p), gone, 2);
	batch_queue_ok(_metadata, &self->p, gone, &m2, 1, 0, 3);
	ASSERT_EQ(3, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_OP_DESTROY, cqe.opcode);
	EXPECT_EQ(2, cqe.user_data);
	EXPECT_EQ(0, cqe.res);
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_OP_SEND_BATCH, cqe.opcode);
	EXPECT_EQ(3, cqe.user_data);
	EXPECT_EQ(-EPERM, cqe.res);
	EXPECT_EQ(0, cqe.len);
	EXPECT_TRUE(cq_idle(&self->p));
	recv_ok(_metadata, &self->q, gone, &m, NULL);
	EXPECT_TRUE(cq_idle(&self->q));
}

/*
 * ---- bad: every error, through the rings and through CALL ----
 *
 * Each with its exact errno and count: the messages before the bad one are
 * delivered, none after it.  Batches are written by hand (put_msgs) at
 * offset 0.
 */

FIXTURE(bad) {
	struct vact_port p, q;
	uint64_t a;		/* hosted by p: the sender */
	uint64_t b;		/* hosted by q */
	struct vactor_sqe in;
	struct vactor_cqe out;
	/* private_target_of_other_uid_eperm only */
	struct vact_port u;	/* opened as OTHER_UID */
	bool u_open;
	uint64_t x;		/* hosted by u, owned by OTHER_UID */
	uint64_t pub;		/* hosted by q, public */
};

FIXTURE_VARIANT(bad) {
	bool ring;
};

FIXTURE_VARIANT_ADD(bad, ring) { .ring = true };
FIXTURE_VARIANT_ADD(bad, call) { .ring = false };

FIXTURE_SETUP(bad)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->q, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	ASSERT_EQ(0, vact_create(&self->q, NULL, 0, &self->b));
}

FIXTURE_TEARDOWN(bad)
{
	if (self->u_open) {
		vact_destroy(&self->u, self->x);
		vact_port_close(&self->u);
	}
	if (self->pub)
		vact_destroy(&self->q, self->pub);
	vact_destroy(&self->p, self->a);
	vact_destroy(&self->q, self->b);
	vact_port_close(&self->q);
	vact_port_close(&self->p);
}

/*
 * Runs self->in: it fails with err after sending m[0..sent), which q
 * receives, and nothing else.  issued: the batch itself was looked at, so
 * the completion's actor is a (the checks every operation shares, flags,
 * reserved fields and the acting actor, come before that).
 */
static void fails_ok(struct __test_metadata *_metadata, FIXTURE_DATA(bad) *self,
		     bool ring, int err, const struct bmsg *m,
		     unsigned int sent, bool issued)
{
	EXPECT_EQ(-err, run_sqe_ok(_metadata, &self->p, ring, &self->in,
				   &self->out));
	EXPECT_EQ(sent, self->out.len);
	if (issued)
		EXPECT_EQ(self->a, self->out.actor);
	EXPECT_TRUE(cq_idle(&self->p));
	recv_all_ok(_metadata, &self->q, self->a, m, sent);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* Three good messages to b at offset 0, self->in set up to send them. */
static void good3(FIXTURE_DATA(bad) *self, struct bmsg *m, uint8_t flags)
{
	mixed_msgs(m, 3, self->b, 1);
	m[2].len = 1000;
	prep_raw(&self->in, self->a, 0, put_msgs(&self->p, 0, m, 3), flags);
}

TEST_F(bad, valid_batch_acked)
{
	struct bmsg m[3];

	good3(self, m, VACTOR_SQE_F_ACK);
	EXPECT_EQ(0, run_sqe_ok(_metadata, &self->p, variant->ring, &self->in,
				&self->out));
	completion_ok(_metadata, &self->out, UD, self->a, 0, 3);
	EXPECT_TRUE(cq_idle(&self->p));
	recv_all_ok(_metadata, &self->q, self->a, m, 3);
	EXPECT_TRUE(cq_idle(&self->q));
}

/* ---- the SQE ---- */

TEST_F(bad, sqe_target_einval)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.target = self->b;
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, true);
}

TEST_F(bad, sqe_tag_einval)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.tag = 1;
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, true);
}

TEST_F(bad, sqe_len_zero_einval)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.len = 0;
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, true);
}

TEST_F(bad, buf_off_unaligned_einval)
{
	struct bmsg m[3];
	uint32_t end;

	mixed_msgs(m, 3, self->b, 1);
	end = put_msgs(&self->p, 4, m, 3);
	prep_raw(&self->in, self->a, 4, end - 4, 0);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, true);
}

TEST_F(bad, buf_past_end_efault)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.buf_off = (uint32_t)self->p.send_size - 16;
	self->in.len = 32;
	fails_ok(_metadata, self, variant->ring, EFAULT, m, 0, true);
}

TEST_F(bad, buf_at_end_efault)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.buf_off = (uint32_t)self->p.send_size;
	self->in.len = HDR;
	fails_ok(_metadata, self, variant->ring, EFAULT, m, 0, true);
}

TEST_F(bad, buf_offset_wraps_efault)
{
	struct bmsg m[3];

	good3(self, m, 0);
	/* off + len overflows 32 bits to 0x18: inside the area if unchecked. */
	self->in.buf_off = 0xfffffff8U;
	self->in.len = 0x20;
	fails_ok(_metadata, self, variant->ring, EFAULT, m, 0, true);
}

TEST_F(bad, flag_buf_einval)
{
	struct bmsg m[3];

	good3(self, m, VACTOR_SQE_F_BUF);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, false);
}

TEST_F(bad, flag_public_einval)
{
	struct bmsg m[3];

	good3(self, m, VACTOR_SQE_F_PUBLIC | VACTOR_SQE_F_ACK);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, false);
}

TEST_F(bad, flag_unknown_einval)
{
	struct bmsg m[3];

	good3(self, m, 0x80);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, false);
}

TEST_F(bad, resv0_einval)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.resv0 = 1;
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, false);
}

TEST_F(bad, resv1_einval)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.resv1[1] = 1ULL << 63;
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, false);
}

TEST_F(bad, actor_of_other_port_eperm)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.actor = self->b;
	fails_ok(_metadata, self, variant->ring, EPERM, m, 0, false);
}

TEST_F(bad, actor_unknown_eperm)
{
	struct bmsg m[3];

	good3(self, m, 0);
	self->in.actor = ~0ULL;
	fails_ok(_metadata, self, variant->ring, EPERM, m, 0, false);
}

/* ---- the messages: the good ones before the bad one go ---- */

TEST_F(bad, span_shorter_than_header_einval)
{
	struct bmsg m[1];

	same_msgs(m, 1, self->b, 1, 0);
	put_msgs(&self->p, 0, m, 1);
	prep_raw(&self->in, self->a, 0, HDR - 8, 0);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 0, true);
}

TEST_F(bad, header_crosses_span_end_einval)
{
	struct bmsg m[3];
	uint32_t third;

	mixed_msgs(m, 3, self->b, 1);
	third = put_msgs(&self->p, 0, m, 2);
	put_msgs(&self->p, third, &m[2], 1);
	/* The span cuts the third header after 16 of its 24 bytes. */
	prep_raw(&self->in, self->a, 0, third + 16, 0);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 2, true);
}

TEST_F(bad, payload_crosses_span_end_einval)
{
	struct bmsg m[3];
	uint32_t third;

	mixed_msgs(m, 3, self->b, 1);
	m[2].len = 100;
	third = put_msgs(&self->p, 0, m, 2);
	put_msgs(&self->p, third, &m[2], 1);
	/* The span ends 50 bytes into the third payload. */
	prep_raw(&self->in, self->a, 0, third + HDR + 50, 0);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 2, true);
}

TEST_F(bad, msg_resv_einval)
{
	struct bmsg m[4];
	uint32_t off, end;

	mixed_msgs(m, 4, self->b, 1);
	end = put_msgs(&self->p, 0, m, 4);
	off = put_msgs(&self->p, 0, m, 2);
	put_hdr(&self->p, off, m[2].to, m[2].tag, m[2].len, 1);
	prep_raw(&self->in, self->a, 0, end, 0);
	fails_ok(_metadata, self, variant->ring, EINVAL, m, 2, true);
}

/* Over VACTOR_MSG_MAX, its payload whole in the span: EMSGSIZE. */
TEST_F(bad, msg_over_max_emsgsize)
{
	struct bmsg m[4];
	uint32_t end;

	mixed_msgs(m, 4, self->b, 1);
	m[2].len = VACTOR_MSG_MAX + 1;
	end = put_msgs(&self->p, 0, m, 4);
	ASSERT_GE(self->p.send_size, end);
	prep_raw(&self->in, self->a, 0, end, 0);
	fails_ok(_metadata, self, variant->ring, EMSGSIZE, m, 2, true);
}

/* A length no span could hold: the size is what is wrong. */
TEST_F(bad, msg_huge_len_emsgsize)
{
	struct bmsg m[2];
	uint32_t off;

	mixed_msgs(m, 2, self->b, 1);
	off = put_msgs(&self->p, 0, m, 1);
	off = put_hdr(&self->p, off, self->b, 2, 0xffffffffU, 0);
	prep_raw(&self->in, self->a, 0, off, 0);
	fails_ok(_metadata, self, variant->ring, EMSGSIZE, m, 1, true);
}

TEST_F(bad, first_target_unknown_enoent)
{
	struct bmsg m[3];

	mixed_msgs(m, 3, self->b, 1);
	m[0].to = ~0ULL;
	prep_raw(&self->in, self->a, 0, put_msgs(&self->p, 0, m, 3), 0);
	fails_ok(_metadata, self, variant->ring, ENOENT, m, 0, true);
}

/* Stops at the first failure: the ones after it are not sent. */
TEST_F(bad, middle_target_unknown_enoent)
{
	struct bmsg m[6];

	mixed_msgs(m, 6, self->b, 1);
	m[3].to = ~0ULL;
	prep_raw(&self->in, self->a, 0, put_msgs(&self->p, 0, m, 6), 0);
	fails_ok(_metadata, self, variant->ring, ENOENT, m, 3, true);
}

TEST_F(bad, last_target_unknown_enoent)
{
	struct bmsg m[5];

	mixed_msgs(m, 5, self->b, 1);
	m[4].to = ~0ULL;
	prep_raw(&self->in, self->a, 0, put_msgs(&self->p, 0, m, 5), 0);
	fails_ok(_metadata, self, variant->ring, ENOENT, m, 4, true);
}

TEST_F(bad, target_destroyed_enoent)
{
	struct bmsg m[3];
	uint64_t gone;

	ASSERT_EQ(0, vact_create(&self->q, NULL, 0, &gone));
	ASSERT_EQ(0, vact_destroy(&self->q, gone));
	mixed_msgs(m, 3, self->b, 1);
	m[1].to = gone;
	prep_raw(&self->in, self->a, 0, put_msgs(&self->p, 0, m, 3), 0);
	fails_ok(_metadata, self, variant->ring, ENOENT, m, 1, true);
}

/*
 * Opens u as uid `uid` (a port's owner is the euid that opens it), with
 * fsuid 0 meanwhile to reach the 0600 node, and no capabilities: the
 * effective set is dropped with the euid and fsuid 0 brings back only the
 * file ones, not CAP_SYS_ADMIN.
 */
static int port_open_as(struct vact_port *u, uid_t uid)
{
	int ret;

	if (seteuid(uid))
		return -errno;
	setfsuid(0);
	ret = port_open(u, 0, 0, 0, 0);
	if (seteuid(0) && !ret)
		ret = -errno;
	return ret;
}

/* A private target of another uid, in the middle: EPERM, as a SEND gets. */
TEST_F(bad, private_target_of_other_uid_eperm)
{
	struct vactor_sqe create;
	struct vactor_cqe cqe;
	struct bmsg m[4];

	if (geteuid() != 0)
		SKIP(return, "needs root: the other side is another uid");
	/* A public actor of root on q: anyone may send to it. */
	ASSERT_EQ(0, vact_prep_create(&create, NULL, 0, 0));
	create.flags = VACTOR_SQE_F_PUBLIC;
	ASSERT_EQ(0, vact_call(&self->q, &create, &cqe));
	self->pub = cqe.actor;
	ASSERT_EQ(0, port_open_as(&self->u, OTHER_UID));
	self->u_open = true;
	ASSERT_EQ(0, vact_create(&self->u, NULL, 0, &self->x));

	/* From x (OTHER_UID): pub, pub, b (root's, private), pub. */
	mixed_msgs(m, 4, self->pub, 1);
	m[2].to = self->b;
	prep_raw(&self->in, self->x, 0, put_msgs(&self->u, 0, m, 4), 0);
	EXPECT_EQ(-EPERM, run_sqe_ok(_metadata, &self->u, variant->ring,
				     &self->in, &self->out));
	EXPECT_EQ(2, self->out.len);
	EXPECT_EQ(self->x, self->out.actor);
	EXPECT_TRUE(cq_idle(&self->u));
	recv_all_ok(_metadata, &self->q, self->x, m, 2);
	EXPECT_TRUE(cq_idle(&self->q));
}

/*
 * ---- bp: backpressure, through the rings and through CALL ----
 *
 * The receiver's CQ holds RX_CQ; past it messages wait in the mailbox
 * (VACTOR_CQ_F_BACKLOG), past mailbox_max the batch stops with EAGAIN.  A
 * CALL sends each message alone, the rings in the submission's send run.
 */

#define RX_SQ		4
#define RX_CQ		8
#define LOW_MAILBOX	16	/* mailbox_max for the EAGAIN tests */

FIXTURE(bp) {
	struct vact_port r, s;	/* receiver, sender */
	uint64_t ra, sa;	/* their actors */
	long mailbox_max;	/* as found */
	bool lowered;
	struct vactor_sqe in;
	struct vactor_cqe out;
};

FIXTURE_VARIANT(bp) {
	bool ring;
};

FIXTURE_VARIANT_ADD(bp, ring) { .ring = true };
FIXTURE_VARIANT_ADD(bp, call) { .ring = false };

FIXTURE_SETUP(bp)
{
	/* The smallest receive area: large payloads wait for it. */
	tiny_receiver_ok(_metadata, &self->mailbox_max, &self->r, RX_SQ, RX_CQ,
			 &self->s, &self->ra, &self->sa);
}

FIXTURE_TEARDOWN(bp)
{
	if (self->lowered)
		module_param_write(MAILBOX_MAX_PARAM, self->mailbox_max);
	vact_destroy(&self->r, self->ra);
	vact_destroy(&self->s, self->sa);
	vact_port_close(&self->s);
	vact_port_close(&self->r);
}

static bool backlog(const struct vact_port *p)
{
	return load_acquire(p->cq.flags) & VACTOR_CQ_F_BACKLOG;
}

static void lower_mailbox_ok(struct __test_metadata *_metadata,
			     FIXTURE_DATA(bp) *self)
{
	ASSERT_LT(LOW_MAILBOX, self->mailbox_max);
	ASSERT_EQ(0, module_param_write(MAILBOX_MAX_PARAM, LOW_MAILBOX));
	self->lowered = true;
	ASSERT_EQ(LOW_MAILBOX, module_param_read(MAILBOX_MAX_PARAM));
}

/* Sends self->in and expects res with len messages sent. */
static void bp_run_ok(struct __test_metadata *_metadata, FIXTURE_DATA(bp) *self,
		      bool ring, int res, uint32_t len)
{
	EXPECT_EQ(res, run_sqe_ok(_metadata, &self->s, ring, &self->in,
				  &self->out));
	completion_ok(_metadata, &self->out, UD, self->sa, res, len);
	EXPECT_TRUE(cq_idle(&self->s));
}

/* Past the CQ: the rest waits in the mailbox, and all arrive in order. */
TEST_F(bp, over_cq_waits_in_mailbox_in_order)
{
	struct bmsg m[RX_CQ + 20];

	same_msgs(m, RX_CQ + 20, self->ra, 0, 8);
	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, m, RX_CQ + 20,
		     VACTOR_SQE_F_ACK);
	bp_run_ok(_metadata, self, variant->ring, 0, RX_CQ + 20);
	EXPECT_EQ(RX_CQ, vact_cq_ready(&self->r));
	EXPECT_TRUE(backlog(&self->r));
	recv_all_ok(_metadata, &self->r, self->sa, m, RX_CQ + 20);
	EXPECT_TRUE(cq_idle(&self->r));
	EXPECT_FALSE(backlog(&self->r));
}

/* Payloads that do not fit the receive area together wait, in order. */
TEST_F(bp, large_payloads_wait_for_recv_area_in_order)
{
	static const uint32_t lens[] = {
		8, 40000, 30000, VACTOR_MSG_MAX, 8, 0, 20000, 1, 64, 65,
		50000, 8, 8, 8, 8, 8, 8, 8, 8, 8, 33000,
	};
	struct bmsg m[ARRAY_LEN(lens)];
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(lens); i++) {
		m[i].to = self->ra;
		m[i].tag = i;
		m[i].len = lens[i];
	}
	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, m,
		     ARRAY_LEN(lens), VACTOR_SQE_F_ACK);
	bp_run_ok(_metadata, self, variant->ring, 0, ARRAY_LEN(lens));
	EXPECT_TRUE(backlog(&self->r));
	recv_all_ok(_metadata, &self->r, self->sa, m, ARRAY_LEN(lens));
	EXPECT_TRUE(cq_idle(&self->r));
	EXPECT_FALSE(backlog(&self->r));
}

/* Past the mailbox: EAGAIN, len = exactly what the CQ and mailbox took. */
TEST_F(bp, past_mailbox_eagain_exact_len)
{
	const unsigned int accepted = RX_CQ + LOW_MAILBOX, n = accepted + 5;
	struct bmsg m[RX_CQ + LOW_MAILBOX + 5];

	lower_mailbox_ok(_metadata, self);
	same_msgs(m, n, self->ra, 0, 8);
	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, m, n, 0);
	bp_run_ok(_metadata, self, variant->ring, -EAGAIN, accepted);
	EXPECT_EQ(RX_CQ, vact_cq_ready(&self->r));
	EXPECT_TRUE(backlog(&self->r));
	recv_all_ok(_metadata, &self->r, self->sa, m, accepted);
	EXPECT_TRUE(cq_idle(&self->r));
}

/* The sender resumes at len: the rest goes once the receiver has reaped. */
TEST_F(bp, resume_after_eagain)
{
	const unsigned int accepted = RX_CQ + LOW_MAILBOX, n = accepted + 5;
	struct bmsg m[RX_CQ + LOW_MAILBOX + 5];

	lower_mailbox_ok(_metadata, self);
	same_msgs(m, n, self->ra, 0, 100);
	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, m, n, 0);
	bp_run_ok(_metadata, self, variant->ring, -EAGAIN, accepted);
	recv_all_ok(_metadata, &self->r, self->sa, m, accepted);

	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, &m[accepted],
		     n - accepted, VACTOR_SQE_F_ACK);
	bp_run_ok(_metadata, self, variant->ring, 0, n - accepted);
	recv_all_ok(_metadata, &self->r, self->sa, &m[accepted], n - accepted);
	EXPECT_TRUE(cq_idle(&self->r));
}

/* Mailbox already full from plain SENDs: the first message fails, len 0. */
TEST_F(bp, mailbox_already_full_eagain_len_0)
{
	const unsigned int accepted = RX_CQ + LOW_MAILBOX;
	struct bmsg m[RX_CQ + LOW_MAILBOX + 2];
	unsigned char buf[8];
	unsigned int i;

	lower_mailbox_ok(_metadata, self);
	same_msgs(m, accepted + 2, self->ra, 0, 8);
	for (i = 0; i < accepted; i++) {
		pattern_fill(buf, sizeof(buf), SENDER_IDX, i);
		ASSERT_EQ(0, vact_send(&self->s, self->sa, self->ra, buf,
				       sizeof(buf), i));
	}
	EXPECT_TRUE(cq_idle(&self->s));
	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, &m[accepted],
		     2, 0);
	bp_run_ok(_metadata, self, variant->ring, -EAGAIN, 0);
	recv_all_ok(_metadata, &self->r, self->sa, m, accepted);
	EXPECT_TRUE(cq_idle(&self->r));
}

/*
 * Messages still in the mailbox when their target is destroyed come back
 * to the sender as EV_UNDELIVERED, each with its tag and the batch SQE's
 * user_data.
 */
TEST_F(bp, undelivered_reports_return_user_data)
{
	struct bmsg m[RX_CQ + 3];
	struct vactor_cqe cqe;
	unsigned int i;

	same_msgs(m, RX_CQ + 3, self->ra, 0, 8);
	batch_sqe_ok(_metadata, &self->s, &self->in, self->sa, m, RX_CQ + 3,
		     VACTOR_SQE_F_ACK);
	bp_run_ok(_metadata, self, variant->ring, 0, RX_CQ + 3);
	ASSERT_EQ(RX_CQ, vact_cq_ready(&self->r));
	ASSERT_EQ(0, vact_destroy(&self->r, self->ra));
	for (i = RX_CQ; i < RX_CQ + 3; i++) {
		ASSERT_EQ(0, reap(&self->s, &cqe, WAIT_NS));
		EXPECT_EQ(VACTOR_EV_UNDELIVERED, cqe.event);
		EXPECT_EQ(self->sa, cqe.actor);
		EXPECT_EQ(self->ra, cqe.source);
		EXPECT_EQ(-ENOENT, cqe.res);
		EXPECT_EQ(i, cqe.tag);
		EXPECT_EQ(UD, cqe.user_data);
	}
	EXPECT_TRUE(cq_idle(&self->s));
}

/* ---- lib: libvact's batch API ---- */

FIXTURE(lib) {
	struct vact_port p;	/* default send area */
	struct vact_port small;	/* one page of send area */
	struct vact_port q;
	uint64_t a, sa, b;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->small, 0, 0, 4096, 0));
	ASSERT_EQ(4096, self->small.send_size);
	ASSERT_EQ(0, port_open(&self->q, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	ASSERT_EQ(0, vact_create(&self->small, NULL, 0, &self->sa));
	ASSERT_EQ(0, vact_create(&self->q, NULL, 0, &self->b));
}

FIXTURE_TEARDOWN(lib)
{
	vact_destroy(&self->p, self->a);
	vact_destroy(&self->small, self->sa);
	vact_destroy(&self->q, self->b);
	vact_port_close(&self->q);
	vact_port_close(&self->small);
	vact_port_close(&self->p);
}

/*
 * max_bytes caps the batch: a message that fits exactly is taken, one byte
 * more is refused (NULL) and changes nothing; the batch still sends.
 */
TEST_F(lib, add_null_when_full)
{
	const struct bmsg m[] = {
		{ .to = self->b, .tag = 1, .len = 100 },
		{ .to = self->b, .tag = 2, .len = 104 },
	};
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;
	struct vact_batch b;
	unsigned char *d;

	ASSERT_EQ(0, vact_batch_start(&self->p, &b, 256));
	EXPECT_EQ(256, b.cap);
	EXPECT_EQ(0, b.used);
	EXPECT_EQ(0, b.count);

	d = vact_batch_add(&b, m[0].to, m[0].len, m[0].tag);
	ASSERT_EQ(self->p.send + b.off + HDR, d);
	pattern_fill(d, m[0].len, SENDER_IDX, m[0].tag);
	EXPECT_EQ(124, b.used);
	/* At 128, a header and 105 bytes: 257 > 256. */
	EXPECT_EQ(NULL, vact_batch_add(&b, self->b, 105, 99));
	EXPECT_EQ(124, b.used);
	EXPECT_EQ(1, b.count);
	d = vact_batch_add(&b, m[1].to, m[1].len, m[1].tag);
	ASSERT_EQ(self->p.send + b.off + 128 + HDR, d);
	pattern_fill(d, m[1].len, SENDER_IDX, m[1].tag);
	EXPECT_EQ(256, b.used);
	/* Not even an empty message now. */
	EXPECT_EQ(NULL, vact_batch_add(&b, self->b, 0, 99));
	EXPECT_EQ(256, b.used);
	EXPECT_EQ(2, b.count);

	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b, self->a, VACTOR_SQE_F_ACK,
					  UD));
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, 2);
	recv_all_ok(_metadata, &self->q, self->a, m, 2);
	EXPECT_TRUE(cq_idle(&self->q));
}

TEST_F(lib, add_over_msg_max_null)
{
	struct vact_batch b;

	ASSERT_EQ(0, vact_batch_start(&self->p, &b, 0));
	ASSERT_LT(HDR + VACTOR_MSG_MAX + 1, b.cap);
	EXPECT_EQ(NULL, vact_batch_add(&b, self->b, VACTOR_MSG_MAX + 1, 1));
	EXPECT_EQ(NULL, vact_batch_add(&b, self->b, 0xffffffffU, 1));
	EXPECT_EQ(0, b.count);
	EXPECT_EQ(0, b.used);
	EXPECT_NE(NULL, vact_batch_add(&b, self->b, VACTOR_MSG_MAX, 1));
	EXPECT_EQ(1, b.count);
	EXPECT_EQ(HDR + VACTOR_MSG_MAX, b.used);
}

TEST_F(lib, prep_empty_einval)
{
	struct vactor_sqe sqe;
	struct vact_batch b;

	ASSERT_EQ(0, vact_batch_start(&self->p, &b, 0));
	EXPECT_EQ(-EINVAL, vact_prep_send_batch(&sqe, &b, self->a, 0, UD));
	EXPECT_EQ(-EINVAL, vact_prep_send_batch(&sqe, &b, self->a,
						VACTOR_SQE_F_ACK, UD));
	/* A refused add leaves it empty. */
	EXPECT_EQ(NULL, vact_batch_add(&b, self->b, VACTOR_MSG_MAX + 1, 1));
	EXPECT_EQ(-EINVAL, vact_prep_send_batch(&sqe, &b, self->a, 0, UD));
}

TEST_F(lib, prep_flags_other_than_ack_einval)
{
	static const uint8_t bad_flags[] = {
		VACTOR_SQE_F_BUF, VACTOR_SQE_F_PUBLIC,
		VACTOR_SQE_F_BUF | VACTOR_SQE_F_ACK, 0x80, 0xff,
	};
	const struct bmsg m = { .to = self->b, .tag = 5, .len = 10 };
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;
	struct vact_batch b;
	unsigned int i;

	batch_build_ok(_metadata, &self->p, &b, &m, 1);
	sqe = vact_get_sqe(&self->p);
	ASSERT_NE(NULL, sqe);
	for (i = 0; i < ARRAY_LEN(bad_flags); i++) {
		uint8_t flags = bad_flags[i];

		EXPECT_EQ(-EINVAL,
			  vact_prep_send_batch(sqe, &b, self->a, flags, UD))
			TH_LOG("flags 0x%x", flags);
	}
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b, self->a, VACTOR_SQE_F_ACK,
					  UD));
	EXPECT_EQ(VACTOR_OP_SEND_BATCH, sqe->opcode);
	EXPECT_EQ(VACTOR_SQE_F_ACK, sqe->flags);
	EXPECT_EQ(self->a, sqe->actor);
	EXPECT_EQ(0, sqe->target);
	EXPECT_EQ(0, sqe->tag);
	EXPECT_EQ(b.off, sqe->buf_off);
	EXPECT_EQ(HDR + 10, sqe->len);
	EXPECT_EQ(UD, sqe->user_data);
	ASSERT_EQ(1, vact_submit(&self->p));
	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	completion_ok(_metadata, &cqe, UD, self->a, 0, 1);
	recv_ok(_metadata, &self->q, self->a, &m, NULL);
}

/* A payload queued and not submitted holds the whole send area. */
TEST_F(lib, start_enospc_send_area_full)
{
	const struct bmsg m = { .to = self->b, .tag = 1, .len = 4096 };
	unsigned char buf[4096];
	struct vactor_sqe *sqe;
	struct vact_batch b;

	sqe = vact_get_sqe(&self->small);
	ASSERT_NE(NULL, sqe);
	pattern_fill(buf, sizeof(buf), SENDER_IDX, m.tag);
	ASSERT_EQ(0, vact_prep_send(&self->small, sqe, self->sa, self->b, buf,
				    sizeof(buf), m.tag));
	EXPECT_EQ(-ENOSPC, vact_batch_start(&self->small, &b, 0));
	/* Once the kernel took it, the area is free again. */
	ASSERT_EQ(1, vact_submit(&self->small));
	recv_ok(_metadata, &self->q, self->sa, &m, NULL);
	ASSERT_EQ(0, vact_batch_start(&self->small, &b, 0));
	EXPECT_EQ(0, b.off);
	EXPECT_EQ(4096, b.cap);
}

/* A batch that filled the area, prepared and not submitted: the same. */
TEST_F(lib, start_enospc_after_full_batch)
{
	const struct bmsg m = { .to = self->b, .tag = 1, .len = 4096 - HDR };
	struct vactor_sqe *sqe;
	struct vact_batch b, b2;

	batch_build_ok(_metadata, &self->small, &b, &m, 1);
	EXPECT_EQ(4096, b.used);
	EXPECT_EQ(NULL, vact_batch_add(&b, self->b, 0, 2));
	sqe = vact_get_sqe(&self->small);
	ASSERT_NE(NULL, sqe);
	ASSERT_EQ(0, vact_prep_send_batch(sqe, &b, self->sa, 0, UD));
	EXPECT_EQ(-ENOSPC, vact_batch_start(&self->small, &b2, 0));
	ASSERT_EQ(1, vact_submit(&self->small));
	EXPECT_TRUE(cq_idle(&self->small));
	recv_ok(_metadata, &self->q, self->sa, &m, NULL);
	EXPECT_EQ(0, vact_batch_start(&self->small, &b2, 0));
}

TEST_HARNESS_MAIN
