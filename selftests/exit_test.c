// SPDX-License-Identifier: GPL-2.0
/*
 * vactor host-exit tests (Documentation/uapi.rst, "Closing a port"): when the
 * process hosting an actor closes its port, exits or is killed, the actor
 * goes dormant with its name, id and messages; the next port that HOSTs it
 * receives every message in order, those that sat unconsumed in the dead
 * CQ marked VACTOR_CQE_F_REDELIVERED.  Destroying it reports each waiting
 * message to its sender as EV_UNDELIVERED (-ENOENT).
 *
 * The host is a child process driven through pipes: one command byte in,
 * one status byte out.
 */
#include "kselftest_harness.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "vactor_test.h"

#define CHILD_SQ	4
#define CHILD_CQ	8
#define CONSUMED	3	/* messages the child takes before it dies */
#define UNCONSUMED	20	/* left in its CQ (CHILD_CQ) and mailbox (rest) */
#define DORMANT_SENDS	2	/* sent while nobody hosts it */
#define LATE_SENDS	2	/* sent after the new host took it */
#define PAYLOAD_LEN	24

enum how_it_ends { CLOSES_PORT, EXITS, IS_KILLED };

/* Child commands and replies. */
#define CMD_CONSUME	'c'	/* take CONSUMED messages, check them */
#define CMD_END		'e'	/* close the port (variant) and exit */
#define REPLY_OK	'k'

FIXTURE(host) {
	struct vact_port s;		/* the senders' port */
	uint64_t senders[2];
	struct vact_port n;		/* the next host */
	bool n_open;
	char name[VACTOR_NAME_MAX];
	uint64_t id;			/* the child's actor */
	pid_t child;
	int cmd, reply;			/* pipe ends to and from the child */
	uint64_t next_seq;
};

FIXTURE_VARIANT(host) {
	enum how_it_ends how;
};

FIXTURE_VARIANT_ADD(host, closes_port) { .how = CLOSES_PORT };
FIXTURE_VARIANT_ADD(host, exits) { .how = EXITS };
FIXTURE_VARIANT_ADD(host, is_killed) { .how = IS_KILLED };

/* Messages alternate between the two senders; seq is global. */
static unsigned int sender_of(uint64_t seq)
{
	return seq % 2;
}

/* Child: checks the next message is seq, consumes it.  0 or a reason. */
static int child_take(struct vact_port *p, uint64_t id, uint64_t seq)
{
	struct vactor_cqe *cqe;

	if (vact_wait_cqe(p, &cqe, WAIT_NS))
		return 'w';
	if (cqe->event != VACTOR_EV_MSG || cqe->actor != id)
		return 'm';
	if (cqe->tag != seq || cqe->len != PAYLOAD_LEN ||
	    !pattern_ok(vact_cqe_data(p, cqe), cqe->len, sender_of(seq), seq))
		return 'o';
	vact_cqe_seen(p, cqe);
	return 0;
}

static void write_byte(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static void __attribute__((noreturn))
child_main(const char *name, enum how_it_ends how, int cmd, int reply)
{
	struct vact_port p;
	uint64_t id, seq = 0;
	char c;
	int err;

	if (port_open(&p, CHILD_SQ, CHILD_CQ, 0, 0) ||
	    vact_create(&p, name, 0, &id))
		_exit(2);
	if (write(reply, &id, sizeof(id)) != sizeof(id))
		_exit(3);
	while (read(cmd, &c, 1) == 1) {
		if (c == CMD_END) {
			if (how == CLOSES_PORT)
				vact_port_close(&p);
			_exit(0);
		}
		for (err = 0; !err && seq < CONSUMED; seq++)
			err = child_take(&p, id, seq);
		write_byte(reply, err ? (char)err : REPLY_OK);
	}
	/* The test is gone: stay out of the way. */
	_exit(4);
}

FIXTURE_SETUP(host)
{
	int to_child[2], from_child[2];

	self->child = -1;
	ASSERT_EQ(0, port_open(&self->s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->s, NULL, 0, &self->senders[0]));
	ASSERT_EQ(0, vact_create(&self->s, NULL, 0, &self->senders[1]));
	unique_name(self->name, sizeof(self->name), "exit.host");

	ASSERT_EQ(0, pipe2(to_child, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(from_child, O_CLOEXEC));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (self->child == 0) {
		close(to_child[1]);
		close(from_child[0]);
		child_main(self->name, variant->how, to_child[0], from_child[1]);
	}
	close(to_child[0]);
	close(from_child[1]);
	self->cmd = to_child[1];
	self->reply = from_child[0];
	ASSERT_EQ(sizeof(self->id), read(self->reply, &self->id, sizeof(self->id)));
}

FIXTURE_TEARDOWN(host)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->n_open) {
		vact_destroy(&self->n, self->id);
		vact_port_close(&self->n);
	}
	vact_destroy(&self->s, self->senders[0]);
	vact_destroy(&self->s, self->senders[1]);
	vact_port_close(&self->s);
}

/* Sends the next count messages to the child's actor: tag = user_data = seq. */
static void send_next_ok(struct __test_metadata *_metadata,
			 FIXTURE_DATA(host) *self, unsigned int count)
{
	unsigned char buf[PAYLOAD_LEN];
	struct vactor_sqe *sqe;

	while (count--) {
		uint64_t seq = self->next_seq++;

		sqe = vact_get_sqe(&self->s);
		ASSERT_NE(NULL, sqe);
		pattern_fill(buf, sizeof(buf), sender_of(seq), seq);
		ASSERT_EQ(0, vact_prep_send(&self->s, sqe,
					    self->senders[sender_of(seq)],
					    self->id, buf, sizeof(buf), seq));
		sqe->user_data = seq;
		ASSERT_EQ(1, vact_submit(&self->s));
	}
	/* All accepted: no completion for the senders. */
	ASSERT_TRUE(cq_idle(&self->s));
}

static char command(FIXTURE_DATA(host) *self, char c)
{
	char r = 0;

	if (write(self->cmd, &c, 1) != 1 || read(self->reply, &r, 1) != 1)
		return 0;
	return r;
}

/*
 * The common start: the child consumes CONSUMED messages, UNCONSUMED more
 * stay in its CQ and mailbox, then it ends the variant's way and is reaped.
 */
static void host_dies_with_messages_ok(struct __test_metadata *_metadata,
				       FIXTURE_DATA(host) *self,
				       const FIXTURE_VARIANT(host) *variant)
{
	int status;

	send_next_ok(_metadata, self, CONSUMED);
	ASSERT_EQ(REPLY_OK, command(self, CMD_CONSUME));
	send_next_ok(_metadata, self, UNCONSUMED);

	if (variant->how == IS_KILLED) {
		ASSERT_EQ(0, kill(self->child, SIGKILL));
	} else {
		ASSERT_EQ(1, write(self->cmd, &(char){ CMD_END }, 1));
	}
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;
	if (variant->how == IS_KILLED) {
		ASSERT_TRUE(WIFSIGNALED(status));
		ASSERT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
	}
}

static void open_next_host_ok(struct __test_metadata *_metadata,
			      FIXTURE_DATA(host) *self, unsigned int sq,
			      unsigned int cq)
{
	ASSERT_EQ(0, port_open(&self->n, sq, cq, 0, 0));
	self->n_open = true;
}

TEST_F(host, hosted_actor_cannot_be_taken_ebusy)
{
	open_next_host_ok(_metadata, self, 0, 0);
	EXPECT_EQ(-EBUSY, vact_host(&self->n, self->id));
}

TEST_F(host, dead_host_leaves_actor_dormant_with_name)
{
	uint64_t found;

	host_dies_with_messages_ok(_metadata, self, variant);
	open_next_host_ok(_metadata, self, 0, 0);
	ASSERT_EQ(0, vact_lookup(&self->n, self->name, &found));
	EXPECT_EQ(self->id, found);
	/* Dormant: hosting it is allowed (a hosted one would be EBUSY). */
	EXPECT_EQ(0, vact_host(&self->n, self->id));
	EXPECT_EQ(-EBUSY, vact_host(&self->s, self->id));
}

TEST_F(host, next_host_receives_all_in_order)
{
	uint64_t seq, found;
	struct vactor_cqe *cqe;

	host_dies_with_messages_ok(_metadata, self, variant);
	send_next_ok(_metadata, self, DORMANT_SENDS);
	open_next_host_ok(_metadata, self, 0, 0);
	ASSERT_EQ(0, vact_lookup(&self->n, self->name, &found));
	ASSERT_EQ(self->id, found);
	ASSERT_EQ(0, vact_host(&self->n, found));
	send_next_ok(_metadata, self, LATE_SENDS);

	for (seq = CONSUMED; seq < self->next_seq; seq++) {
		bool was_in_cq = seq < CONSUMED + CHILD_CQ;

		ASSERT_EQ(0, vact_wait_cqe(&self->n, &cqe, WAIT_NS))
			TH_LOG("message %llu missing", (unsigned long long)seq);
		ASSERT_EQ(VACTOR_EV_MSG, cqe->event);
		ASSERT_EQ(self->id, cqe->actor);
		ASSERT_EQ(seq, cqe->tag) TH_LOG("lost, duplicated or reordered");
		EXPECT_EQ(self->senders[sender_of(seq)], cqe->source);
		ASSERT_EQ(PAYLOAD_LEN, cqe->len);
		EXPECT_TRUE(pattern_ok(vact_cqe_data(&self->n, cqe), cqe->len,
				       sender_of(seq), seq));
		EXPECT_EQ(was_in_cq, !!(cqe->flags & VACTOR_CQE_F_REDELIVERED))
			TH_LOG("message %llu: flags %#x", (unsigned long long)seq,
			       cqe->flags);
		vact_cqe_seen(&self->n, cqe);
	}
	EXPECT_TRUE(cq_idle(&self->n));
	EXPECT_TRUE(cq_idle(&self->s));
}

TEST_F(host, destroy_reports_each_waiting_message)
{
	bool reported[CONSUMED + UNCONSUMED + DORMANT_SENDS] = { false };
	unsigned int i, undelivered;
	struct vactor_sqe *sqe;
	uint64_t seq;
	struct vactor_cqe cqe;

	host_dies_with_messages_ok(_metadata, self, variant);
	send_next_ok(_metadata, self, DORMANT_SENDS);
	undelivered = (unsigned int)self->next_seq - CONSUMED;

	/* A host whose CQ is full of NOPs: the messages stay waiting. */
	open_next_host_ok(_metadata, self, CHILD_CQ, CHILD_CQ);
	for (i = 0; i < CHILD_CQ; i++) {
		sqe = vact_get_sqe(&self->n);
		ASSERT_NE(NULL, sqe);
		vact_prep_nop(sqe, i);
	}
	ASSERT_EQ(CHILD_CQ, vact_submit(&self->n));
	ASSERT_EQ(CHILD_CQ, vact_cq_ready(&self->n));
	ASSERT_EQ(0, vact_host(&self->n, self->id));
	ASSERT_EQ(0, vact_destroy(&self->n, self->id));

	/* Each sender hears of each of its messages, once. */
	for (i = 0; i < undelivered; i++) {
		ASSERT_EQ(0, reap(&self->s, &cqe, WAIT_NS))
			TH_LOG("%u of %u reported", i, undelivered);
		ASSERT_EQ(VACTOR_EV_UNDELIVERED, cqe.event);
		EXPECT_EQ(-ENOENT, cqe.res);
		EXPECT_EQ(self->id, cqe.source);
		seq = cqe.tag;
		ASSERT_LE(CONSUMED, seq) TH_LOG("consumed message %llu reported",
						(unsigned long long)seq);
		ASSERT_GT(self->next_seq, seq);
		ASSERT_FALSE(reported[seq]) TH_LOG("%llu reported twice",
						   (unsigned long long)seq);
		reported[seq] = true;
		EXPECT_EQ(self->senders[sender_of(seq)], cqe.actor);
		EXPECT_EQ(seq, cqe.user_data);
	}
	EXPECT_TRUE(cq_idle(&self->s));
	/* The name went with it. */
	EXPECT_EQ(-ENOENT, vact_lookup(&self->s, self->name, &seq));
	/* And the host's CQ holds just its NOPs. */
	EXPECT_EQ(CHILD_CQ, vact_cq_ready(&self->n));
	self->n_open = false;
	vact_port_close(&self->n);
}

/*
 * A port closes while another thread HOSTs its actors on a second port, over
 * and over: each actor ends up hosted by the second port exactly once, and
 * the kernel's lists survive (an actor once joined the new host's list while
 * the closing port was still unlinking it: list corruption, found by the
 * fuzzer).  The window is a few instructions wide: the stock kernels rarely
 * hit it, the debug kernel (KASAN) did on the first run (use-after-free in
 * vactor_port_close_actors); vm.sh fails the run on the report.
 */
#define RACE_ACTORS	64
#define RACE_ROUNDS	200

struct race {
	struct vact_port b;
	uint64_t ids[RACE_ACTORS];
	atomic_int go;
	int hosted, errors;
};

/*
 * The close detaches the actors in creation order: HOST each one as it comes
 * free, so that every HOST lands as close to its detach as it can.
 */
static void *race_host(void *arg)
{
	struct race *r = arg;
	unsigned long spins;
	int i, ret;

	while (!atomic_load(&r->go))
		;
	for (i = 0; i < RACE_ACTORS; i++) {
		spins = 0;
		do
			ret = vact_host(&r->b, r->ids[i]);
		while (ret == -EBUSY && ++spins < 100000000);
		if (ret)
			r->errors++;
		else
			r->hosted++;
	}
	return NULL;
}

TEST(host_races_close)
{
	struct vact_port a;
	struct race r;
	pthread_t t;
	int round, i;

	for (round = 0; round < RACE_ROUNDS; round++) {
		memset(&r, 0, sizeof(r));
		ASSERT_EQ(0, port_open(&a, 0, 0, 0, 0));
		ASSERT_EQ(0, port_open(&r.b, 0, 0, 0, 0));
		for (i = 0; i < RACE_ACTORS; i++)
			ASSERT_EQ(0, vact_create(&a, NULL, 0, &r.ids[i]));
		ASSERT_EQ(0, pthread_create(&t, NULL, race_host, &r));
		atomic_store(&r.go, 1);
		vact_port_close(&a);
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, r.errors);
		ASSERT_EQ(RACE_ACTORS, r.hosted) TH_LOG("round %d", round);
		/* Hosted by b, each once: b may destroy every one. */
		for (i = 0; i < RACE_ACTORS; i++)
			ASSERT_EQ(0, vact_destroy(&r.b, r.ids[i]));
		vact_port_close(&r.b);
	}
}

TEST_HARNESS_MAIN
