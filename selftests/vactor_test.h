/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vactor selftests: ports, completions, payload
 * patterns and module parameters.  Include after kselftest_harness.h.
 *
 * Functions named *_ok assert and take the harness's _metadata so ASSERT_*
 * work in them; they run only in the test process itself (forked helper
 * processes report through pipes instead, an ASSERT there would unwind into
 * the harness's copy of the test).
 */
#ifndef VACTOR_TEST_H
#define VACTOR_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vact.h"

/* Long enough for anything under qemu TCG; short enough to fail, not hang. */
#define WAIT_NS		(20LL * 1000 * 1000 * 1000)

#define MAILBOX_MAX_PARAM	"/sys/module/vactor/parameters/mailbox_max"
#define WAIT_SPIN_PARAM		"/sys/module/vactor/parameters/wait_spin_us"

static inline int port_open(struct vact_port *p, unsigned int sq,
			    unsigned int cq, unsigned int send,
			    unsigned int recv)
{
	struct vactor_params params;

	memset(&params, 0, sizeof(params));
	params.sq_entries = sq;
	params.cq_entries = cq;
	params.send_size = send;
	params.recv_size = recv;
	return vact_port_open(p, &params);
}

/* VACTOR_IOC_ENTER with every field explicit: its result or -errno. */
static inline int enter_raw(int fd, unsigned int to_submit,
			    unsigned int min_complete, unsigned int flags,
			    uint64_t timeout_ns)
{
	struct vactor_enter e;
	int ret;

	memset(&e, 0, sizeof(e));
	e.to_submit = to_submit;
	e.min_complete = min_complete;
	e.flags = flags;
	e.timeout_ns = timeout_ns;
	ret = ioctl(fd, VACTOR_IOC_ENTER, &e);
	return ret < 0 ? -errno : ret;
}

static inline unsigned int load_acquire(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void store_release(unsigned int *p, unsigned int v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Makes the prepared SQEs visible without entering the kernel. */
static inline void sq_publish(struct vact_port *p)
{
	store_release(p->sq.tail, p->sq.sqe_tail);
}

/*
 * Takes the next CQE into *out (a copy: the slot is given back), waiting up
 * to timeout_ns.  Returns 0 or the negative errno of vact_wait_cqe.
 */
static inline int reap(struct vact_port *p, struct vactor_cqe *out,
		       int64_t timeout_ns)
{
	struct vactor_cqe *cqe;
	int ret;

	ret = vact_wait_cqe(p, &cqe, timeout_ns);
	if (ret)
		return ret;
	*out = *cqe;
	vact_cqe_seen(p, cqe);
	return 0;
}

/* True when no CQE is ready and nothing waits in a mailbox for this CQ. */
static inline bool cq_idle(struct vact_port *p)
{
	struct vactor_cqe *cqe;

	return vact_peek_cqe(p, &cqe) == -EAGAIN;
}

/*
 * Runs one SQE on port p through the rings (ring: SQE in, CQE out) or
 * through VACTOR_IOC_CALL, and returns the completion's res with the
 * completion in *cqe.  Either way the completion must be the EV_COMPLETE of
 * this SQE: same opcode and user_data.
 */
static inline int run_sqe_ok(struct __test_metadata *_metadata,
			     struct vact_port *p, bool ring,
			     const struct vactor_sqe *in, struct vactor_cqe *cqe)
{
	struct vactor_sqe *sqe;
	int ret;

	if (!ring) {
		ret = vact_call(p, in, cqe);
		EXPECT_EQ(ret, cqe->res);
	} else {
		sqe = vact_get_sqe(p);
		EXPECT_NE(NULL, sqe) return -ENOSPC;
		*sqe = *in;
		EXPECT_EQ(1, vact_submit(p)) return -EIO;
		EXPECT_EQ(0, reap(p, cqe, WAIT_NS)) return -EIO;
		ret = cqe->res;
	}
	EXPECT_EQ(VACTOR_EV_COMPLETE, cqe->event);
	EXPECT_EQ(in->opcode, cqe->opcode);
	EXPECT_EQ(in->user_data, cqe->user_data);
	return ret;
}

/* ---- payload patterns: derived from (sender, seq), cheap to check ---- */

static inline uint8_t pattern_seed(uint32_t sender, uint64_t seq)
{
	uint64_t x = (sender + 1) * 0x9e3779b97f4a7c15ULL ^ seq * 0xbf58476d1ce4e5b9ULL;

	return (uint8_t)(x >> 56 ^ x >> 24 ^ x);
}

/* Bytes follow the pattern; a payload of 8 bytes or more starts with seq. */
static inline void pattern_fill(void *buf, uint32_t len, uint32_t sender,
				uint64_t seq)
{
	uint8_t *b = buf, s = pattern_seed(sender, seq);
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(s + i * 7 + (i >> 8));
	if (len >= sizeof(seq))
		memcpy(b, &seq, sizeof(seq));
}

static inline bool pattern_ok(const void *buf, uint32_t len, uint32_t sender,
			      uint64_t seq)
{
	const uint8_t *b = buf;
	uint8_t s = pattern_seed(sender, seq);
	uint64_t got;
	uint32_t i = 0;

	if (len && !buf)
		return false;
	if (len >= sizeof(seq)) {
		memcpy(&got, b, sizeof(got));
		if (got != seq)
			return false;
		i = sizeof(seq);
	}
	for (; i < len; i++)
		if (b[i] != (uint8_t)(s + i * 7 + (i >> 8)))
			return false;
	return true;
}

/* ---- module parameters ---- */

static inline long module_param_read(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* Writes @s, as it is, to a module parameter: 0 or -errno. */
static inline int module_param_write_str(const char *path, const char *s)
{
	ssize_t n = (ssize_t)strlen(s);
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, s, (size_t)n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* Writes a module parameter: 0 or -errno. */
static inline int module_param_write(const char *path, long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", value);
	return module_param_write_str(path, buf);
}

/*
 * The backpressure set-up: *mailbox_max as the module has it, a receiver
 * port r with rx_sq SQ and rx_cq CQ entries and the smallest receive area
 * (VACTOR_MSG_MAX: large payloads wait for room), a sender port s, and an
 * actor on each (ra, sa).
 */
static inline void tiny_receiver_ok(struct __test_metadata *_metadata,
				    long *mailbox_max, struct vact_port *r,
				    unsigned int rx_sq, unsigned int rx_cq,
				    struct vact_port *s, uint64_t *ra,
				    uint64_t *sa)
{
	*mailbox_max = module_param_read(MAILBOX_MAX_PARAM);
	ASSERT_LT(0, *mailbox_max) TH_LOG("%s: %s", MAILBOX_MAX_PARAM,
					  strerror((int)-*mailbox_max));
	ASSERT_EQ(0, port_open(r, rx_sq, rx_cq, 0, VACTOR_MSG_MAX));
	ASSERT_EQ(rx_cq, r->cq.entries);
	ASSERT_EQ(0, port_open(s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(r, NULL, 0, ra));
	ASSERT_EQ(0, vact_create(s, NULL, 0, sa));
}

/* A name unique to this test process: actors outlive their ports. */
static inline void unique_name(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "%s.%d", what, (int)getpid());
}

#endif /* VACTOR_TEST_H */
