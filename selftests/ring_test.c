// SPDX-License-Identifier: GPL-2.0
/*
 * vactor ring tests: VACTOR_IOC_SETUP, the four mappings, ENTER's wait, and
 * poll/epoll readiness (Documentation/uapi.rst, "Ports" and "Rings").
 */
#include "kselftest_harness.h"

#include <poll.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sched.h>

#include "vactor_test.h"

#define MIB	(1024U * 1024U)

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static uint32_t page_round(uint32_t n)
{
	size_t ps = page_size();

	return (uint32_t)((n + ps - 1) / ps * ps);
}

static int setup_raw(int fd, struct vactor_params *p)
{
	return ioctl(fd, VACTOR_IOC_SETUP, p) < 0 ? -errno : 0;
}

/* mmap's errno, or 0 after unmapping a successful mapping. */
static int map_errno(int fd, size_t len, int prot, int flags, uint64_t off)
{
	void *m = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (m == MAP_FAILED)
		return errno;
	munmap(m, len);
	return 0;
}

/* ---- setup: an open, not yet set up /dev/vactor ---- */

FIXTURE(setup) {
	int fd;
	struct vactor_params p;
};

FIXTURE_SETUP(setup)
{
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", VACTOR_DEVICE,
				      strerror(errno));
	memset(&self->p, 0, sizeof(self->p));
}

FIXTURE_TEARDOWN(setup)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(setup, defaults)
{
	struct vactor_params *p = &self->p;

	ASSERT_EQ(0, setup_raw(self->fd, p));
	EXPECT_EQ(128, p->sq_entries);
	EXPECT_EQ(512, p->cq_entries);
	EXPECT_EQ(256 * 1024, p->send_size);
	EXPECT_EQ(MIB, p->recv_size);
	EXPECT_EQ(0, p->flags);
}

TEST_F(setup, ring_offsets_describe_rings)
{
	struct vactor_params *p = &self->p;
	const struct vactor_ring_offsets *sq = &p->sq_off, *cq = &p->cq_off;

	ASSERT_EQ(0, setup_raw(self->fd, p));
	EXPECT_EQ(p->sq_entries, sq->ring_entries);
	EXPECT_EQ(p->sq_entries - 1, sq->ring_mask);
	EXPECT_EQ(p->cq_entries, cq->ring_entries);
	EXPECT_EQ(p->cq_entries - 1, cq->ring_mask);
	EXPECT_EQ(0, p->sq_size % page_size());
	EXPECT_EQ(0, p->cq_size % page_size());
	EXPECT_GE(p->sq_size, sq->entries + p->sq_entries * sizeof(struct vactor_sqe));
	EXPECT_GE(p->cq_size, cq->entries + p->cq_entries * sizeof(struct vactor_cqe));
	/* head and tail have one writer each: separate cache lines. */
	EXPECT_LE(64, sq->head > sq->tail ? sq->head - sq->tail : sq->tail - sq->head);
	EXPECT_LE(64, cq->head > cq->tail ? cq->head - cq->tail : cq->tail - cq->head);
}

TEST_F(setup, ports_have_distinct_ids)
{
	struct vactor_params q;
	int fd2;

	memset(&q, 0, sizeof(q));
	fd2 = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	ASSERT_EQ(0, setup_raw(fd2, &q));
	EXPECT_NE(self->p.port_id, q.port_id);
	close(fd2);
}

TEST_F(setup, entries_round_to_power_of_two)
{
	self->p.sq_entries = 100;
	self->p.cq_entries = 300;
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(128, self->p.sq_entries);
	EXPECT_EQ(512, self->p.cq_entries);
}

TEST_F(setup, cq_defaults_to_four_times_sq)
{
	self->p.sq_entries = 8;
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(8, self->p.sq_entries);
	EXPECT_EQ(32, self->p.cq_entries);
}

TEST_F(setup, cq_equal_to_sq_accepted)
{
	self->p.sq_entries = 16;
	self->p.cq_entries = 16;
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(16, self->p.cq_entries);
}

/* The send area rounds to pages; the receive area, a byte ring, to a power of two. */
TEST_F(setup, areas_round_up)
{
	self->p.send_size = 5000;
	self->p.recv_size = VACTOR_MSG_MAX + 1;
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(page_round(5000), self->p.send_size);
	EXPECT_EQ(2 * VACTOR_MSG_MAX, self->p.recv_size);
}

TEST_F(setup, largest_rings_accepted)
{
	self->p.sq_entries = VACTOR_SQ_MAX;
	self->p.cq_entries = VACTOR_CQ_MAX;
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(VACTOR_SQ_MAX, self->p.sq_entries);
	EXPECT_EQ(VACTOR_CQ_MAX, self->p.cq_entries);
}

TEST_F(setup, smallest_recv_area_accepted)
{
	self->p.recv_size = VACTOR_MSG_MAX;
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(VACTOR_MSG_MAX, self->p.recv_size);
}

TEST_F(setup, twice_ebusy)
{
	struct vactor_params again;

	memset(&again, 0, sizeof(again));
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	EXPECT_EQ(-EBUSY, setup_raw(self->fd, &again));
}

TEST_F(setup, enter_before_setup_ebadfd)
{
	EXPECT_EQ(-EBADFD, enter_raw(self->fd, 0, 0, 0, 0));
}

TEST_F(setup, call_before_setup_ebadfd)
{
	struct vactor_call call;

	memset(&call, 0, sizeof(call));
	call.sqe.opcode = VACTOR_OP_NOP;
	ASSERT_EQ(-1, ioctl(self->fd, VACTOR_IOC_CALL, &call));
	EXPECT_EQ(EBADFD, errno);
}

TEST_F(setup, mmap_before_setup_ebadfd)
{
	EXPECT_EQ(EBADFD, map_errno(self->fd, page_size(), PROT_READ | PROT_WRITE,
				    MAP_SHARED, VACTOR_OFF_SQ));
	EXPECT_EQ(EBADFD, map_errno(self->fd, page_size(), PROT_READ,
				    MAP_SHARED, VACTOR_OFF_RECV));
}

/*
 * No /dev/vactor (the module is not loaded): libvact says so with ENODEV,
 * not open()'s ENOENT, which its callers read as "no such actor".  The
 * child hides the node under an empty /dev in a mount namespace of its own.
 */
TEST(libvact_open_without_device_node_enodev)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vact_port p;

		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tmpfs", "/dev", "tmpfs", 0, NULL))
			_exit(100);
		_exit(vact_port_open(&p, NULL) == -ENODEV ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_NE(100, WEXITSTATUS(status)) TH_LOG("no mount namespace to hide /dev/vactor in");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- badparams: every out-of-range setup field, EINVAL each ---- */

FIXTURE(badparams) {
	int fd;
};

FIXTURE_VARIANT(badparams) {
	struct vactor_params p;
};

FIXTURE_VARIANT_ADD(badparams, sq_over_max) {
	.p = { .sq_entries = VACTOR_SQ_MAX + 1 },
};

FIXTURE_VARIANT_ADD(badparams, cq_over_max) {
	.p = { .cq_entries = VACTOR_CQ_MAX + 1 },
};

FIXTURE_VARIANT_ADD(badparams, cq_below_sq) {
	.p = { .sq_entries = 256, .cq_entries = 128 },
};

FIXTURE_VARIANT_ADD(badparams, sq_huge) {
	.p = { .sq_entries = 0x80000001U },
};

FIXTURE_VARIANT_ADD(badparams, send_over_64mib) {
	.p = { .send_size = 64 * MIB + 1 },
};

FIXTURE_VARIANT_ADD(badparams, send_rounding_overflows) {
	.p = { .send_size = 0xffffffffU },
};

FIXTURE_VARIANT_ADD(badparams, recv_below_msg_max) {
	.p = { .recv_size = VACTOR_MSG_MAX - 1 },
};

FIXTURE_VARIANT_ADD(badparams, recv_over_64mib) {
	.p = { .recv_size = 64 * MIB + 1 },
};

FIXTURE_VARIANT_ADD(badparams, flags) {
	.p = { .flags = 1 },
};

FIXTURE_VARIANT_ADD(badparams, resv0) {
	.p = { .resv = { 1, 0, 0, 0 } },
};

FIXTURE_VARIANT_ADD(badparams, resv1) {
	.p = { .resv = { 0, 1, 0, 0 } },
};

FIXTURE_VARIANT_ADD(badparams, resv2) {
	.p = { .resv = { 0, 0, 1, 0 } },
};

FIXTURE_VARIANT_ADD(badparams, resv3) {
	.p = { .resv = { 0, 0, 0, 1ULL << 63 } },
};

FIXTURE_SETUP(badparams)
{
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(badparams)
{
	close(self->fd);
}

TEST_F(badparams, einval)
{
	struct vactor_params p = variant->p;

	EXPECT_EQ(-EINVAL, setup_raw(self->fd, &p));
}

/* ---- region: the mapping rules, for each of the four regions ---- */

FIXTURE(region) {
	int fd;
	struct vactor_params p;
	size_t size;
};

FIXTURE_VARIANT(region) {
	uint64_t off;
	bool writable;
};

FIXTURE_VARIANT_ADD(region, sq) { .off = VACTOR_OFF_SQ, .writable = true };
FIXTURE_VARIANT_ADD(region, cq) { .off = VACTOR_OFF_CQ, .writable = true };
FIXTURE_VARIANT_ADD(region, send) { .off = VACTOR_OFF_SEND, .writable = true };
FIXTURE_VARIANT_ADD(region, recv) { .off = VACTOR_OFF_RECV, .writable = false };

static size_t region_size(const struct vactor_params *p, uint64_t off)
{
	switch (off) {
	case VACTOR_OFF_SQ:
		return p->sq_size;
	case VACTOR_OFF_CQ:
		return p->cq_size;
	case VACTOR_OFF_SEND:
		return p->send_size;
	default:
		return p->recv_size;
	}
}

FIXTURE_SETUP(region)
{
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	memset(&self->p, 0, sizeof(self->p));
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
	self->size = region_size(&self->p, variant->off);
	/* The default sizes make every region more than one page. */
	ASSERT_LT(page_size(), self->size);
}

FIXTURE_TEARDOWN(region)
{
	close(self->fd);
}

static int region_prot(const FIXTURE_VARIANT(region) *variant)
{
	return variant->writable ? PROT_READ | PROT_WRITE : PROT_READ;
}

TEST_F(region, maps_whole)
{
	EXPECT_EQ(0, map_errno(self->fd, self->size, region_prot(variant),
			       MAP_SHARED, variant->off));
}

TEST_F(region, length_rounding_to_size_accepted)
{
	EXPECT_EQ(0, map_errno(self->fd, self->size - 1, region_prot(variant),
			       MAP_SHARED, variant->off));
}

TEST_F(region, longer_einval)
{
	EXPECT_EQ(EINVAL, map_errno(self->fd, self->size + page_size(),
				    region_prot(variant), MAP_SHARED,
				    variant->off));
}

TEST_F(region, shorter_einval)
{
	EXPECT_EQ(EINVAL, map_errno(self->fd, self->size - page_size(),
				    region_prot(variant), MAP_SHARED,
				    variant->off));
}

TEST_F(region, offset_inside_einval)
{
	EXPECT_EQ(EINVAL, map_errno(self->fd, self->size - page_size(),
				    region_prot(variant), MAP_SHARED,
				    variant->off + page_size()));
}

TEST_F(region, private_einval)
{
	EXPECT_EQ(EINVAL, map_errno(self->fd, self->size, PROT_READ,
				    MAP_PRIVATE, variant->off));
}

TEST_F(region, exec_eacces)
{
	EXPECT_EQ(EACCES, map_errno(self->fd, self->size,
				    PROT_READ | PROT_EXEC, MAP_SHARED,
				    variant->off));
}

TEST_F(region, mprotect_exec_eacces)
{
	void *m = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd,
		       (off_t)variant->off);

	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, mprotect(m, self->size, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	munmap(m, self->size);
}

/* ---- mapped: offsets that name no region, and the receive area ---- */

FIXTURE(mapped) {
	int fd;
	struct vactor_params p;
};

FIXTURE_SETUP(mapped)
{
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	memset(&self->p, 0, sizeof(self->p));
	ASSERT_EQ(0, setup_raw(self->fd, &self->p));
}

FIXTURE_TEARDOWN(mapped)
{
	close(self->fd);
}

TEST_F(mapped, unknown_offset_einval)
{
	EXPECT_EQ(EINVAL, map_errno(self->fd, page_size(), PROT_READ,
				    MAP_SHARED, 0x40000000ULL));
}

TEST_F(mapped, offset_between_regions_einval)
{
	EXPECT_EQ(EINVAL, map_errno(self->fd, page_size(), PROT_READ,
				    MAP_SHARED, VACTOR_OFF_CQ - page_size()));
}

TEST_F(mapped, recv_write_eacces)
{
	EXPECT_EQ(EACCES, map_errno(self->fd, self->p.recv_size,
				    PROT_READ | PROT_WRITE, MAP_SHARED,
				    VACTOR_OFF_RECV));
}

TEST_F(mapped, recv_mprotect_write_eacces)
{
	void *m = mmap(NULL, self->p.recv_size, PROT_READ, MAP_SHARED,
		       self->fd, (off_t)VACTOR_OFF_RECV);

	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, mprotect(m, self->p.recv_size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(m, self->p.recv_size);
}

/* ---- ready: poll, epoll and ENTER's wait on a set-up port ---- */

FIXTURE(ready) {
	struct vact_port p;
};

FIXTURE_SETUP(ready)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
}

FIXTURE_TEARDOWN(ready)
{
	vact_port_close(&self->p);
}

static short poll_now(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };

	if (poll(&pfd, 1, 0) < 0)
		return -1;
	return pfd.revents;
}

/* Submits one NOP and waits until its completion is in the CQ. */
static int nop_completed(struct vact_port *p, uint64_t user_data)
{
	struct vactor_sqe *sqe = vact_get_sqe(p);

	if (!sqe)
		return -ENOSPC;
	vact_prep_nop(sqe, user_data);
	return vact_submit_and_wait(p, 1, WAIT_NS);
}

TEST_F(ready, rings_start_empty)
{
	EXPECT_EQ(0, load_acquire(self->p.sq.head));
	EXPECT_EQ(0, load_acquire(self->p.sq.tail));
	EXPECT_EQ(0, load_acquire(self->p.cq.head));
	EXPECT_EQ(0, load_acquire(self->p.cq.tail));
	EXPECT_EQ(0, load_acquire(self->p.cq.flags));
}

TEST_F(ready, empty_port_pollout_only)
{
	EXPECT_EQ(POLLOUT, poll_now(self->p.fd));
}

TEST_F(ready, completion_sets_pollin)
{
	ASSERT_EQ(1, nop_completed(&self->p, 1));
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(self->p.fd));
}

TEST_F(ready, reaped_clears_pollin)
{
	ASSERT_EQ(1, nop_completed(&self->p, 1));
	vact_cq_advance(&self->p, 1);
	EXPECT_EQ(POLLOUT, poll_now(self->p.fd));
}

TEST_F(ready, full_sq_clears_pollout)
{
	unsigned int i;

	for (i = 0; i < self->p.sq.entries; i++) {
		struct vactor_sqe *sqe = vact_get_sqe(&self->p);

		ASSERT_NE(NULL, sqe);
		vact_prep_nop(sqe, i);
	}
	ASSERT_EQ(NULL, vact_get_sqe(&self->p));
	sq_publish(&self->p);
	EXPECT_EQ(0, poll_now(self->p.fd));
	ASSERT_EQ((int)self->p.sq.entries, vact_submit(&self->p));
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(self->p.fd));
}

TEST_F(ready, epoll_in_iff_cq_nonempty)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->p.fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(1, nop_completed(&self->p, 7));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ(EPOLLIN, out.events);
	/* Level-triggered: still ready until reaped. */
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 0));
	vact_cq_advance(&self->p, 1);
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

/* A message from another process wakes a blocked epoll_wait. */
TEST_F(ready, epoll_woken_by_message)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct vactor_cqe cqe;
	uint64_t me;
	int ep, status;
	pid_t pid;

	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &me));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->p.fd, &ev));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vact_port q;
		uint64_t from;

		if (port_open(&q, 0, 0, 0, 0) || vact_create(&q, NULL, 0, &from) ||
		    vact_send(&q, from, me, "wake", 4, 42))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, (int)(WAIT_NS / 1000000)));
	EXPECT_EQ(EPOLLIN, out.events);
	ASSERT_EQ(0, reap(&self->p, &cqe, 0));
	EXPECT_EQ(VACTOR_EV_MSG, cqe.event);
	EXPECT_EQ(42, cqe.tag);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(ep);
}

TEST_F(ready, enter_wait_times_out_etime)
{
	EXPECT_EQ(-ETIME, enter_raw(self->p.fd, 0, 1,
				    VACTOR_ENTER_GETEVENTS | VACTOR_ENTER_TIMEOUT,
				    1000000));
}

TEST_F(ready, enter_wait_returns_with_completion)
{
	struct vactor_sqe *sqe = vact_get_sqe(&self->p);

	ASSERT_NE(NULL, sqe);
	vact_prep_nop(sqe, 5);
	sq_publish(&self->p);
	EXPECT_EQ(1, enter_raw(self->p.fd, 1, 1, VACTOR_ENTER_GETEVENTS, 0));
	EXPECT_EQ(1, vact_cq_ready(&self->p));
}

TEST_F(ready, enter_consumes_only_pending)
{
	struct vactor_sqe *sqe = vact_get_sqe(&self->p);

	ASSERT_NE(NULL, sqe);
	vact_prep_nop(sqe, 5);
	sq_publish(&self->p);
	EXPECT_EQ(1, enter_raw(self->p.fd, 8, 0, 0, 0));
	EXPECT_EQ(1, load_acquire(self->p.sq.head));
}

TEST_F(ready, nop_completes_with_zero)
{
	struct vactor_cqe cqe;

	ASSERT_EQ(1, nop_completed(&self->p, 0xfeedULL << 40));
	ASSERT_EQ(0, reap(&self->p, &cqe, 0));
	EXPECT_EQ(VACTOR_EV_COMPLETE, cqe.event);
	EXPECT_EQ(VACTOR_OP_NOP, cqe.opcode);
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(0xfeedULL << 40, cqe.user_data);
	EXPECT_TRUE(cq_idle(&self->p));
}

TEST_F(ready, libvact_wait_times_out_etime)
{
	struct vactor_cqe *cqe;

	EXPECT_EQ(-ETIME, vact_wait_cqe(&self->p, &cqe, 1000000));
	EXPECT_EQ(-ETIME, vact_wait_cqe(&self->p, &cqe, 0));
}

/*
 * ---- spin: ENTER's wait with each wait_spin_us setting ----
 * A waiting ENTER spins first (admin-guide.rst); whether it spins or
 * sleeps, it must end the same way: with the message, at its timeout, or
 * at a signal.
 */

FIXTURE(spin) {
	struct vact_port p;
	uint64_t me;
	long saved;
};

FIXTURE_VARIANT(spin) {
	long us;
};

FIXTURE_VARIANT_ADD(spin, off) { .us = 0 };
FIXTURE_VARIANT_ADD(spin, default_50us) { .us = 50 };
FIXTURE_VARIANT_ADD(spin, longest_1ms) { .us = 1000 };

FIXTURE_SETUP(spin)
{
	self->saved = module_param_read(WAIT_SPIN_PARAM);
	ASSERT_LE(0, self->saved) TH_LOG("%s: %s", WAIT_SPIN_PARAM,
					 strerror((int)-self->saved));
	ASSERT_EQ(0, module_param_write(WAIT_SPIN_PARAM, variant->us));
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->me));
}

FIXTURE_TEARDOWN(spin)
{
	vact_destroy(&self->p, self->me);
	vact_port_close(&self->p);
	module_param_write(WAIT_SPIN_PARAM, self->saved);
}

/* A timeout shorter than the spin ends the spin too. */
TEST_F(spin, timeout_shorter_than_spin_etime)
{
	int i;

	/* Several waits: past the misses that turn spinning into probes. */
	for (i = 0; i < 20; i++)
		ASSERT_EQ(-ETIME, enter_raw(self->p.fd, 0, 1,
					    VACTOR_ENTER_GETEVENTS | VACTOR_ENTER_TIMEOUT,
					    200000));
}

/* Messages from another process end each wait, spinning or asleep. */
TEST_F(spin, messages_end_waits)
{
	struct vactor_cqe cqe;
	int i, status, ack[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ack));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vact_port q;
		uint64_t from;

		close(ack[1]);
		if (port_open(&q, 0, 0, 0, 0) || vact_create(&q, NULL, 0, &from))
			_exit(1);
		/* One message per wait of the parent, after it reaped the last. */
		for (i = 0; i < 50; i++) {
			if (read(ack[0], &c, 1) != 1 ||
			    vact_send(&q, from, self->me, &i, sizeof(i), (uint64_t)i))
				_exit(2);
		}
		_exit(0);
	}
	close(ack[0]);
	for (i = 0; i < 50; i++) {
		ASSERT_EQ(1, write(ack[1], "g", 1));
		ASSERT_EQ(0, enter_raw(self->p.fd, 0, 1,
				       VACTOR_ENTER_GETEVENTS | VACTOR_ENTER_TIMEOUT,
				       WAIT_NS));
		ASSERT_EQ(0, reap(&self->p, &cqe, 0));
		ASSERT_EQ(VACTOR_EV_MSG, cqe.event);
		ASSERT_EQ((uint64_t)i, cqe.tag);
		ASSERT_TRUE(cq_idle(&self->p));
	}
	close(ack[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* A signal ends a wait without a timeout, spinning or asleep. */
TEST_F(spin, signal_eintr)
{
	struct itimerval every = {
		.it_interval = { .tv_usec = 5000 }, .it_value = { .tv_usec = 5000 },
	};
	struct itimerval off = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	int i, ret;

	/* No SA_RESTART; the timer repeats, so one that fires early is no matter. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &every, NULL));
	for (i = 0; i < 5; i++) {
		ret = enter_raw(self->p.fd, 0, 1, VACTOR_ENTER_GETEVENTS, 0);
		if (ret != -EINTR)
			break;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(0, vact_cq_ready(&self->p));
}

TEST_HARNESS_MAIN
