// SPDX-License-Identifier: GPL-2.0
/*
 * vactor user-provided ring memory (VACTOR_SETUP_F_USER_MEM,
 * Documentation/uapi.rst, "User-provided ring memory"): a port whose rings
 * and areas are the caller's own pages, pinned by the module.  Messages go
 * between such a port and an ordinary one both ways; every bad input fails
 * with its errno and pins nothing; closing the port or the death of its
 * process unpins every page (counted exactly with /proc/vmstat's
 * nr_foll_pin_acquired and nr_foll_pin_released) and gives back the kmem
 * charge; messages left in a dead process's CQ come back out of its pinned
 * receive area.
 */
#include "kselftest_harness.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "vactor_test.h"

#define SQ		16
#define CQ		64
#define SEND		(64U * 1024)
#define RECV		(128U * 1024)	/* a power of two, >= VACTOR_MSG_MAX */
#define MSGS		256		/* each way */
#define BATCH		16		/* sent before the receiver reaps */
#define BIG		1000		/* through the areas, not inline */
#define SMALL		24		/* inline */
#define CHILDREN	16

#define KMEM_PARAM	"/sys/module/vactor/parameters/max_kmem_kb_per_user"
#define KMEM_LIMIT_KB	4096
#define KMEM_MAX_PORTS	64

static size_t pg(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* Fresh anonymous read-write memory, or NULL. */
static void *anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* The caller memory of one port. */
struct bufs {
	unsigned char *sq, *cq, *send, *recv;
	size_t sq_size, cq_size;
};

static int bufs_alloc(struct bufs *b)
{
	b->sq_size = vact_ring_size(SQ, false);
	b->cq_size = vact_ring_size(CQ, true);
	b->sq = anon(b->sq_size);
	b->cq = anon(b->cq_size);
	b->send = anon(SEND);
	b->recv = anon(RECV);
	return b->sq && b->cq && b->send && b->recv ? 0 : -ENOMEM;
}

static void bufs_free(struct bufs *b)
{
	if (b->sq)
		munmap(b->sq, b->sq_size);
	if (b->cq)
		munmap(b->cq, b->cq_size);
	if (b->send)
		munmap(b->send, SEND);
	if (b->recv)
		munmap(b->recv, RECV);
	memset(b, 0, sizeof(*b));
}

static size_t bufs_pages(const struct bufs *b, bool areas)
{
	return (b->sq_size + b->cq_size + (areas ? SEND + RECV : 0)) / pg();
}

/* Params for a port in b: rings always, the areas if asked. */
static void params_for(struct vactor_params *p, const struct bufs *b,
		       bool areas)
{
	memset(p, 0, sizeof(*p));
	p->sq_entries = SQ;
	p->cq_entries = CQ;
	p->send_size = SEND;
	p->recv_size = RECV;
	p->flags = VACTOR_SETUP_F_USER_MEM;
	p->sq_size = b->sq_size;
	p->cq_size = b->cq_size;
	p->user.sq_addr = (uintptr_t)b->sq;
	p->user.cq_addr = (uintptr_t)b->cq;
	if (areas) {
		p->user.send_addr = (uintptr_t)b->send;
		p->user.recv_addr = (uintptr_t)b->recv;
	}
}

static int setup_raw(int fd, struct vactor_params *p)
{
	return ioctl(fd, VACTOR_IOC_SETUP, p) < 0 ? -errno : 0;
}

static bool inside(const void *p, const void *base, size_t size)
{
	return (const unsigned char *)p >= (const unsigned char *)base &&
	       (const unsigned char *)p < (const unsigned char *)base + size;
}

/* A counter from /proc/vmstat, or -1. */
static long long vmstat(const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	long long v = -1;
	FILE *f;

	f = fopen("/proc/vmstat", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ' ') {
			v = atoll(line + klen + 1);
			break;
		}
	fclose(f);
	return v;
}

struct pins {
	long long acquired, released;
};

/*
 * The counters have per-CPU parts: a write to stat_refresh (root) folds
 * them into the totals first, so the deltas are exact.
 */
static void pins_now(struct pins *p)
{
	int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			p->acquired = -1;
		close(fd);
	}
	p->acquired = vmstat("nr_foll_pin_acquired");
	p->released = vmstat("nr_foll_pin_released");
}

/* Pins taken and given back since *before. */
static void pins_since(const struct pins *before, struct pins *delta)
{
	pins_now(delta);
	delta->acquired -= before->acquired;
	delta->released -= before->released;
}

/* Sends count messages from -> to on port s, seq first..; no completions. */
static void send_ok(struct __test_metadata *_metadata, struct vact_port *s,
		    uint64_t from, uint64_t to, uint32_t sender,
		    uint64_t first, unsigned int count)
{
	unsigned char buf[BIG];
	uint64_t seq;

	for (seq = first; seq < first + count; seq++) {
		uint32_t len = seq % 2 ? BIG : SMALL;

		pattern_fill(buf, len, sender, seq);
		ASSERT_EQ(0, vact_send(s, from, to, buf, len, seq));
	}
	ASSERT_EQ(0, vact_submit(s));
}

/*
 * Receives count messages for actor `to` on port r, seq first..; payloads
 * outside the inline slot must be in [area, area + area_size).
 */
static void recv_ok(struct __test_metadata *_metadata, struct vact_port *r,
		    uint64_t to, uint64_t from, uint32_t sender,
		    uint64_t first, unsigned int count, const void *area,
		    size_t area_size)
{
	struct vactor_cqe *cqe;
	uint64_t seq;

	for (seq = first; seq < first + count; seq++) {
		const void *data;

		ASSERT_EQ(0, vact_wait_cqe(r, &cqe, WAIT_NS));
		ASSERT_EQ(VACTOR_EV_MSG, cqe->event);
		ASSERT_EQ(to, cqe->actor);
		ASSERT_EQ(from, cqe->source);
		ASSERT_EQ(seq, cqe->tag);
		ASSERT_EQ(seq % 2 ? BIG : SMALL, cqe->len);
		data = vact_cqe_data(r, cqe);
		ASSERT_TRUE(pattern_ok(data, cqe->len, sender, seq));
		if (cqe->flags & VACTOR_CQE_F_BUF)
			ASSERT_TRUE(inside(data, area, area_size));
		vact_cqe_seen(r, cqe);
	}
}

/* ---- usermem: one port in caller memory, one ordinary ---- */

FIXTURE(usermem) {
	struct bufs b;
	struct vact_port u, n;
	bool u_open, n_open;
	int fd;
};

FIXTURE_SETUP(usermem)
{
	self->fd = -1;
	ASSERT_EQ(0, bufs_alloc(&self->b));
	ASSERT_EQ(0, port_open(&self->n, 0, 0, 0, 0));
	self->n_open = true;
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(usermem)
{
	if (self->u_open)
		vact_port_close(&self->u);
	if (self->n_open)
		vact_port_close(&self->n);
	if (self->fd >= 0)
		close(self->fd);
	bufs_free(&self->b);
}

static void open_u_ok(struct __test_metadata *_metadata,
		      FIXTURE_DATA(usermem) *self, bool areas)
{
	struct vactor_params p;

	params_for(&p, &self->b, areas);
	ASSERT_EQ(0, vact_port_open(&self->u, &p));
	self->u_open = true;
}

TEST_F(usermem, setup_reports_ring_sizes_and_keeps_inputs)
{
	struct vactor_params p, in;

	params_for(&p, &self->b, true);
	in = p;
	ASSERT_EQ(0, setup_raw(self->fd, &p));
	EXPECT_EQ(SQ, p.sq_entries);
	EXPECT_EQ(CQ, p.cq_entries);
	EXPECT_EQ(SEND, p.send_size);
	EXPECT_EQ(RECV, p.recv_size);
	EXPECT_EQ(VACTOR_SETUP_F_USER_MEM, p.flags);
	EXPECT_EQ(self->b.sq_size, p.sq_size);
	EXPECT_EQ(self->b.cq_size, p.cq_size);
	EXPECT_EQ(0, memcmp(&in.user, &p.user, sizeof(p.user)));
	EXPECT_EQ(VACTOR_RING_HDR_SIZE, p.sq_off.entries);
	EXPECT_EQ(VACTOR_RING_HDR_SIZE, p.cq_off.entries);
}

/* A larger buffer is accepted; only what the ring needs is used. */
TEST_F(usermem, larger_ring_buffer_reports_needed_size)
{
	struct vactor_params p;
	struct bufs big = { 0 };

	big.sq_size = self->b.sq_size + 4 * pg();
	big.cq_size = self->b.cq_size + 4 * pg();
	big.sq = anon(big.sq_size);
	big.cq = anon(big.cq_size);
	ASSERT_NE(NULL, big.sq);
	ASSERT_NE(NULL, big.cq);
	params_for(&p, &big, false);
	ASSERT_EQ(0, setup_raw(self->fd, &p));
	EXPECT_EQ(self->b.sq_size, p.sq_size);
	EXPECT_EQ(self->b.cq_size, p.cq_size);
	close(self->fd);
	self->fd = -1;
	munmap(big.sq, big.sq_size);
	munmap(big.cq, big.cq_size);
}

TEST_F(usermem, setup_zeroes_ring_headers_only)
{
	struct vactor_params p;
	unsigned int i, bad = 0;

	memset(self->b.sq, 0xa5, self->b.sq_size);
	memset(self->b.cq, 0xa5, self->b.cq_size);
	params_for(&p, &self->b, false);
	ASSERT_EQ(0, setup_raw(self->fd, &p));
	for (i = 0; i < VACTOR_RING_HDR_SIZE; i++)
		bad += (self->b.sq[i] != 0) + (self->b.cq[i] != 0);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0xa5, self->b.sq[VACTOR_RING_HDR_SIZE]);
	EXPECT_EQ(0xa5, self->b.cq[VACTOR_RING_HDR_SIZE]);
}

TEST_F(usermem, libvact_uses_caller_memory_in_place)
{
	open_u_ok(_metadata, self, true);
	EXPECT_EQ(VACT_USER_MEM_SQ | VACT_USER_MEM_CQ | VACT_USER_MEM_SEND |
		  VACT_USER_MEM_RECV, self->u.user_mem);
	EXPECT_EQ((void *)self->b.sq, self->u.sq.ring);
	EXPECT_EQ((void *)self->b.cq, self->u.cq.ring);
	EXPECT_EQ((void *)self->b.send, (void *)self->u.send);
	EXPECT_EQ((const void *)self->b.recv, (const void *)self->u.recv);
}

TEST_F(usermem, nops_complete_in_caller_cq)
{
	struct vactor_cqe *cqe;
	unsigned int i;

	open_u_ok(_metadata, self, true);
	for (i = 0; i < SQ; i++)
		vact_prep_nop(vact_get_sqe(&self->u), 1000 + i);
	ASSERT_EQ(SQ, vact_submit(&self->u));
	for (i = 0; i < SQ; i++) {
		ASSERT_EQ(0, vact_wait_cqe(&self->u, &cqe, WAIT_NS));
		EXPECT_TRUE(inside(cqe, self->b.cq, self->b.cq_size));
		EXPECT_EQ(VACTOR_EV_COMPLETE, cqe->event);
		EXPECT_EQ(1000 + i, cqe->user_data);
		EXPECT_EQ(0, cqe->res);
		vact_cqe_seen(&self->u, cqe);
	}
	EXPECT_TRUE(cq_idle(&self->u));
	/* The kernel's SQ head, in the caller's page. */
	EXPECT_TRUE(inside(self->u.sq.head, self->b.sq, self->b.sq_size));
	EXPECT_EQ(SQ, load_acquire(self->u.sq.head));
}

/* MSGS each way, half inline, half through the caller's send/recv areas. */
TEST_F(usermem, messages_both_ways_with_ordinary_port)
{
	uint64_t a, b, seq;

	open_u_ok(_metadata, self, true);
	ASSERT_EQ(0, vact_create(&self->u, NULL, 0, &a));
	ASSERT_EQ(0, vact_create(&self->n, NULL, 0, &b));
	for (seq = 0; seq < MSGS; seq += BATCH) {
		send_ok(_metadata, &self->u, a, b, 1, seq, BATCH);
		recv_ok(_metadata, &self->n, b, a, 1, seq, BATCH,
			self->n.recv, self->n.recv_size);
		send_ok(_metadata, &self->n, b, a, 2, seq, BATCH);
		recv_ok(_metadata, &self->u, a, b, 2, seq, BATCH,
			self->b.recv, RECV);
	}
	EXPECT_TRUE(cq_idle(&self->u));
	EXPECT_TRUE(cq_idle(&self->n));
	EXPECT_EQ(0, vact_destroy(&self->u, a));
	EXPECT_EQ(0, vact_destroy(&self->n, b));
}

/* Caller rings, kernel areas: libvact maps the areas as usual. */
TEST_F(usermem, kernel_areas_with_caller_rings)
{
	uint64_t a, b;

	open_u_ok(_metadata, self, false);
	EXPECT_EQ(VACT_USER_MEM_SQ | VACT_USER_MEM_CQ, self->u.user_mem);
	EXPECT_FALSE(inside(self->u.recv, self->b.recv, RECV));
	ASSERT_EQ(0, vact_create(&self->u, NULL, 0, &a));
	ASSERT_EQ(0, vact_create(&self->n, NULL, 0, &b));
	send_ok(_metadata, &self->n, b, a, 3, 0, BATCH);
	recv_ok(_metadata, &self->u, a, b, 3, 0, BATCH, self->u.recv,
		self->u.recv_size);
	send_ok(_metadata, &self->u, a, b, 4, 0, BATCH);
	recv_ok(_metadata, &self->n, b, a, 4, 0, BATCH, self->n.recv,
		self->n.recv_size);
	EXPECT_EQ(0, vact_destroy(&self->u, a));
	EXPECT_EQ(0, vact_destroy(&self->n, b));
}

static int map_errno(int fd, size_t len, int prot, uint64_t off)
{
	void *m = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);

	if (m == MAP_FAILED)
		return errno;
	munmap(m, len);
	return 0;
}

TEST_F(usermem, mmap_of_caller_regions_enodev)
{
	struct vactor_params p;

	params_for(&p, &self->b, true);
	ASSERT_EQ(0, setup_raw(self->fd, &p));
	EXPECT_EQ(ENODEV, map_errno(self->fd, p.sq_size, PROT_READ | PROT_WRITE,
				    VACTOR_OFF_SQ));
	EXPECT_EQ(ENODEV, map_errno(self->fd, p.cq_size, PROT_READ | PROT_WRITE,
				    VACTOR_OFF_CQ));
	EXPECT_EQ(ENODEV, map_errno(self->fd, SEND, PROT_READ | PROT_WRITE,
				    VACTOR_OFF_SEND));
	EXPECT_EQ(ENODEV, map_errno(self->fd, RECV, PROT_READ, VACTOR_OFF_RECV));
}

TEST_F(usermem, mmap_of_kernel_areas_allowed)
{
	struct vactor_params p;

	params_for(&p, &self->b, false);
	ASSERT_EQ(0, setup_raw(self->fd, &p));
	EXPECT_EQ(ENODEV, map_errno(self->fd, p.sq_size, PROT_READ | PROT_WRITE,
				    VACTOR_OFF_SQ));
	EXPECT_EQ(0, map_errno(self->fd, SEND, PROT_READ | PROT_WRITE,
			       VACTOR_OFF_SEND));
	EXPECT_EQ(0, map_errno(self->fd, RECV, PROT_READ, VACTOR_OFF_RECV));
}

TEST_F(usermem, second_setup_ebusy)
{
	struct vactor_params p;

	params_for(&p, &self->b, true);
	ASSERT_EQ(0, setup_raw(self->fd, &p));
	params_for(&p, &self->b, true);
	EXPECT_EQ(-EBUSY, setup_raw(self->fd, &p));
}

TEST_F(usermem, close_unpins_every_page)
{
	struct pins before, d;

	pins_now(&before);
	ASSERT_LE(0, before.acquired);
	open_u_ok(_metadata, self, true);
	pins_since(&before, &d);
	EXPECT_EQ(bufs_pages(&self->b, true), d.acquired);
	EXPECT_EQ(0, d.released);
	vact_port_close(&self->u);
	self->u_open = false;
	pins_since(&before, &d);
	EXPECT_EQ(bufs_pages(&self->b, true), d.acquired);
	EXPECT_EQ(bufs_pages(&self->b, true), d.released);
}

/* The pinned pages stay the caller's: what it writes, the kernel reads. */
TEST_F(usermem, caller_writes_reach_kernel_through_pinned_send_area)
{
	unsigned char payload[BIG];
	struct vactor_sqe *sqe;
	uint64_t a, b;

	open_u_ok(_metadata, self, true);
	ASSERT_EQ(0, vact_create(&self->u, NULL, 0, &a));
	ASSERT_EQ(0, vact_create(&self->n, NULL, 0, &b));
	/* Written straight into the caller's buffer, not through libvact. */
	pattern_fill(payload, BIG, 5, 1);
	memcpy(self->b.send + 3 * pg(), payload, BIG);
	sqe = vact_get_sqe(&self->u);
	ASSERT_NE(NULL, sqe);
	sqe->opcode = VACTOR_OP_SEND;
	sqe->flags = VACTOR_SQE_F_BUF;
	sqe->actor = a;
	sqe->target = b;
	sqe->len = BIG;
	sqe->buf_off = 3 * pg();
	sqe->tag = 1;
	ASSERT_EQ(1, vact_submit(&self->u));
	recv_ok(_metadata, &self->n, b, a, 5, 1, 1, self->n.recv,
		self->n.recv_size);
	EXPECT_EQ(0, vact_destroy(&self->u, a));
	EXPECT_EQ(0, vact_destroy(&self->n, b));
}

/* ---- badmem: every bad input, its errno, nothing pinned, nothing written ---- */

enum bad_what {
	BAD_FLAG,		/* an unknown SETUP flag */
	BAD_ADDR_NO_FLAG,	/* a user address without USER_MEM */
	BAD_SQ_ZERO,
	BAD_CQ_ZERO,
	BAD_SQ_MISALIGNED,
	BAD_CQ_MISALIGNED,
	BAD_SEND_MISALIGNED,
	BAD_RECV_MISALIGNED,
	BAD_SQ_SHORT,		/* sq_size below what the ring needs */
	BAD_CQ_SHORT,
	BAD_SEND_SIZE_ZERO,	/* an area address needs its size */
	BAD_SEND_SIZE_ODD,	/* not a page multiple */
	BAD_RECV_SIZE_ODD,	/* not a power of two */
	BAD_SQ_IS_CQ,		/* overlapping buffers */
	BAD_SEND_RECV_OVERLAP,
	BAD_RING_IN_AREA,
	BAD_BEYOND_USER,	/* above the user address space */
	BAD_WRAPS,		/* addr + size wraps around */
	BAD_SQ_UNMAPPED,
	BAD_CQ_TAIL_UNMAPPED,	/* last page of the CQ buffer not mapped */
	BAD_SQ_READONLY,
	BAD_RECV_READONLY,
	BAD_SEND_PROT_NONE,
};

FIXTURE(badmem) {
	struct bufs b;
	int fd;
};

FIXTURE_VARIANT(badmem) {
	enum bad_what what;
	int err;
	bool pins;	/* the check is made while pinning (some pages got pinned) */
};

#define BAD(name, e, p) \
	FIXTURE_VARIANT_ADD(badmem, name) { .what = BAD_##name, .err = e, .pins = p }

BAD(FLAG, EINVAL, false);
BAD(ADDR_NO_FLAG, EINVAL, false);
BAD(SQ_ZERO, EINVAL, false);
BAD(CQ_ZERO, EINVAL, false);
BAD(SQ_MISALIGNED, EINVAL, false);
BAD(CQ_MISALIGNED, EINVAL, false);
BAD(SEND_MISALIGNED, EINVAL, false);
BAD(RECV_MISALIGNED, EINVAL, false);
BAD(SQ_SHORT, EINVAL, false);
BAD(CQ_SHORT, EINVAL, false);
BAD(SEND_SIZE_ZERO, EINVAL, false);
BAD(SEND_SIZE_ODD, EINVAL, false);
BAD(RECV_SIZE_ODD, EINVAL, false);
BAD(SQ_IS_CQ, EINVAL, false);
BAD(SEND_RECV_OVERLAP, EINVAL, false);
BAD(RING_IN_AREA, EINVAL, false);
BAD(BEYOND_USER, EFAULT, false);
BAD(WRAPS, EFAULT, false);
BAD(SQ_UNMAPPED, EFAULT, false);
BAD(CQ_TAIL_UNMAPPED, EFAULT, true);
BAD(SQ_READONLY, EACCES, false);
BAD(RECV_READONLY, EACCES, true);
BAD(SEND_PROT_NONE, EACCES, true);

FIXTURE_SETUP(badmem)
{
	ASSERT_EQ(0, bufs_alloc(&self->b));
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(badmem)
{
	close(self->fd);
	bufs_free(&self->b);
}

/* Params with the variant's one defect (memory changes included). */
static void bad_params(struct vactor_params *p, struct bufs *b,
		       enum bad_what what)
{
	struct vactor_user_mem *u = &p->user;

	params_for(p, b, true);
	switch (what) {
	case BAD_FLAG:
		p->flags |= 1U << 1;
		break;
	case BAD_ADDR_NO_FLAG:
		p->flags = 0;
		break;
	case BAD_SQ_ZERO:
		u->sq_addr = 0;
		break;
	case BAD_CQ_ZERO:
		u->cq_addr = 0;
		break;
	case BAD_SQ_MISALIGNED:
		u->sq_addr += 64;
		break;
	case BAD_CQ_MISALIGNED:
		u->cq_addr += 8;
		break;
	case BAD_SEND_MISALIGNED:
		u->send_addr += 2048;
		break;
	case BAD_RECV_MISALIGNED:
		u->recv_addr += 1;
		break;
	case BAD_SQ_SHORT:
		p->sq_size = b->sq_size - 1;
		break;
	case BAD_CQ_SHORT:
		p->cq_size = b->cq_size - (uint32_t)pg();
		break;
	case BAD_SEND_SIZE_ZERO:
		p->send_size = 0;
		break;
	case BAD_SEND_SIZE_ODD:
		p->send_size = SEND - 100;
		break;
	case BAD_RECV_SIZE_ODD:
		p->recv_size = RECV - (uint32_t)pg();
		break;
	case BAD_SQ_IS_CQ:
		u->cq_addr = u->sq_addr;
		break;
	case BAD_SEND_RECV_OVERLAP:
		u->recv_addr = u->send_addr + SEND - pg();
		break;
	case BAD_RING_IN_AREA:
		u->sq_addr = u->recv_addr + 4 * pg();
		break;
	case BAD_BEYOND_USER:
		u->sq_addr = 1ULL << 62;
		break;
	case BAD_WRAPS:
		u->recv_addr = -(uint64_t)pg();
		break;
	case BAD_SQ_UNMAPPED:
		munmap(b->sq, b->sq_size);
		b->sq = NULL;
		break;
	case BAD_CQ_TAIL_UNMAPPED:
		munmap(b->cq + b->cq_size - pg(), pg());
		b->cq_size -= pg();
		break;
	case BAD_SQ_READONLY:
		mprotect(b->sq, b->sq_size, PROT_READ);
		break;
	case BAD_RECV_READONLY:
		mprotect(b->recv, RECV, PROT_READ);
		break;
	case BAD_SEND_PROT_NONE:
		mprotect(b->send, SEND, PROT_NONE);
		break;
	}
}

TEST_F(badmem, setup_fails_with_errno)
{
	struct vactor_params p;

	bad_params(&p, &self->b, variant->what);
	EXPECT_EQ(-variant->err, setup_raw(self->fd, &p));
}

TEST_F(badmem, failed_setup_writes_nothing)
{
	struct vactor_params p, before;

	bad_params(&p, &self->b, variant->what);
	before = p;
	ASSERT_EQ(-variant->err, setup_raw(self->fd, &p));
	EXPECT_EQ(0, memcmp(&before, &p, sizeof(p)));
}

/* Whatever was pinned before the check failed is unpinned again. */
TEST_F(badmem, failed_setup_leaves_nothing_pinned)
{
	struct vactor_params p;
	struct pins before, d;

	bad_params(&p, &self->b, variant->what);
	pins_now(&before);
	ASSERT_LE(0, before.acquired);
	ASSERT_EQ(-variant->err, setup_raw(self->fd, &p));
	pins_since(&before, &d);
	EXPECT_EQ(d.acquired, d.released);
	if (variant->pins) {
		EXPECT_LT(0, d.acquired);
	} else {
		EXPECT_EQ(0, d.acquired);
	}
}

/* The port is still unset: a good setup after the bad one works. */
TEST_F(badmem, port_usable_after_failed_setup)
{
	struct vactor_params p;
	struct bufs good = { 0 };

	bad_params(&p, &self->b, variant->what);
	ASSERT_EQ(-variant->err, setup_raw(self->fd, &p));
	EXPECT_EQ(-EBADFD, enter_raw(self->fd, 0, 0, 0, 0));
	ASSERT_EQ(0, bufs_alloc(&good));
	params_for(&p, &good, true);
	EXPECT_EQ(0, setup_raw(self->fd, &p));
	close(self->fd);
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	bufs_free(&good);
}

/* ---- exit: a process dies holding a port in its own pinned memory ---- */

/* Child: a user-memory port, never closed; reports 0 before dying. */
static void __attribute__((noreturn)) child_hold_port(int report)
{
	struct vactor_params p;
	struct vact_port port;
	struct bufs b = { 0 };
	int err;

	err = bufs_alloc(&b);
	if (!err) {
		params_for(&p, &b, true);
		err = vact_port_open(&port, &p);
	}
	if (write(report, &err, sizeof(err)) != sizeof(err))
		_exit(3);
	_exit(err ? 2 : 0);
}

static void run_children_ok(struct __test_metadata *_metadata,
			    unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		int fds[2], err = -1, status;
		pid_t pid;

		ASSERT_EQ(0, pipe2(fds, O_CLOEXEC));
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			close(fds[0]);
			child_hold_port(fds[1]);
		}
		close(fds[1]);
		EXPECT_EQ(sizeof(err), read(fds[0], &err, sizeof(err)));
		EXPECT_EQ(0, err);
		close(fds[0]);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
}

TEST(exit_unpins_every_page)
{
	struct pins before, d;
	struct bufs b = { 0 };
	size_t per_port;

	ASSERT_EQ(0, bufs_alloc(&b));
	per_port = bufs_pages(&b, true);
	bufs_free(&b);
	pins_now(&before);
	ASSERT_LE(0, before.acquired);
	run_children_ok(_metadata, CHILDREN);
	pins_since(&before, &d);
	EXPECT_EQ(CHILDREN * per_port, d.acquired);
	EXPECT_EQ(CHILDREN * per_port, d.released);
}

/* User-memory ports opened (and kept open) until EDQUOT; all closed. */
static int ports_until_full(void)
{
	struct vact_port ports[KMEM_MAX_PORTS];
	struct bufs b[KMEM_MAX_PORTS];
	struct vactor_params p;
	int n, err = 0;

	memset(b, 0, sizeof(b));
	for (n = 0; n < KMEM_MAX_PORTS; n++) {
		if (bufs_alloc(&b[n])) {
			err = -ENOMEM;
			break;
		}
		params_for(&p, &b[n], true);
		err = vact_port_open(&ports[n], &p);
		if (err)
			break;
	}
	for (int i = 0; i < n; i++)
		vact_port_close(&ports[i]);
	for (int i = 0; i <= n && i < KMEM_MAX_PORTS; i++)
		bufs_free(&b[i]);
	return err == -EDQUOT ? n : err ? err : -ERANGE;
}

/* The kmem charge of a dead process's pinned rings comes back, exactly. */
TEST(exit_returns_kmem_charge)
{
	long saved = module_param_read(KMEM_PARAM);
	char buf[32];
	int fd, first, again;

	ASSERT_LT(0, saved);
	fd = open(KMEM_PARAM, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	snprintf(buf, sizeof(buf), "%d", KMEM_LIMIT_KB);
	ASSERT_LT(0, write(fd, buf, strlen(buf)));
	first = ports_until_full();
	run_children_ok(_metadata, CHILDREN);
	again = ports_until_full();
	snprintf(buf, sizeof(buf), "%ld", saved);
	EXPECT_LT(0, write(fd, buf, strlen(buf)));
	close(fd);
	EXPECT_LT(0, first);
	EXPECT_EQ(first, again);
}

#define REDELIVER	8

/*
 * Child: hosts a named actor on a port whose receive area is its own
 * memory, reports the id, waits, then exits without consuming anything.
 */
static void __attribute__((noreturn)) child_host(const char *name, int report,
						  int go)
{
	struct vactor_params p;
	struct vact_port port;
	struct bufs b = { 0 };
	uint64_t id = 0;
	char c;

	if (bufs_alloc(&b))
		_exit(2);
	params_for(&p, &b, true);
	if (vact_port_open(&port, &p) || vact_create(&port, name, 0, &id))
		id = 0;
	if (write(report, &id, sizeof(id)) != sizeof(id))
		_exit(3);
	if (read(go, &c, 1) != 1)
		_exit(4);
	_exit(0);
}

/*
 * Messages the dead process left in its CQ, payloads in its pinned receive
 * area, come back out of that area after its memory is gone.
 */
TEST(exit_redelivers_from_pinned_recv_area)
{
	int report[2], go[2], status;
	struct vact_port s, n;
	char name[VACTOR_NAME_MAX];
	uint64_t id = 0, from, seq;
	struct vactor_cqe *cqe;
	pid_t pid;

	unique_name(name, sizeof(name), "usermem.exit");
	ASSERT_EQ(0, pipe2(report, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child_host(name, report[1], go[0]);
	close(report[1]);
	close(go[0]);
	ASSERT_EQ(sizeof(id), read(report[0], &id, sizeof(id)));
	ASSERT_NE(0, id);

	ASSERT_EQ(0, port_open(&s, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&s, NULL, 0, &from));
	for (seq = 0; seq < REDELIVER; seq++) {
		unsigned char buf[BIG];

		pattern_fill(buf, BIG, 6, seq);
		ASSERT_EQ(0, vact_send(&s, from, id, buf, BIG, seq));
	}
	ASSERT_EQ(0, vact_submit(&s));
	ASSERT_TRUE(cq_idle(&s));

	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, port_open(&n, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_host(&n, id));
	for (seq = 0; seq < REDELIVER; seq++) {
		ASSERT_EQ(0, vact_wait_cqe(&n, &cqe, WAIT_NS));
		ASSERT_EQ(VACTOR_EV_MSG, cqe->event);
		ASSERT_EQ(id, cqe->actor);
		ASSERT_EQ(seq, cqe->tag);
		ASSERT_EQ(BIG, cqe->len);
		EXPECT_TRUE(cqe->flags & VACTOR_CQE_F_REDELIVERED);
		EXPECT_TRUE(pattern_ok(vact_cqe_data(&n, cqe), BIG, 6, seq));
		vact_cqe_seen(&n, cqe);
	}
	EXPECT_TRUE(cq_idle(&n));
	EXPECT_EQ(0, vact_destroy(&n, id));
	EXPECT_EQ(0, vact_destroy(&s, from));
	vact_port_close(&n);
	vact_port_close(&s);
	close(report[0]);
	close(go[1]);
}

TEST_HARNESS_MAIN
