// SPDX-License-Identifier: GPL-2.0
/*
 * vactor_bench: vactor against the usual ways two processes talk.
 *
 * Two processes, each pinned to its own CPU, exchange messages through one
 * transport at a time, all in one boot so that the figures can be compared:
 *
 *   vactor          libvact ports on /dev/vactor (vact_prep_send + vact_submit;
 *                   the receiver reaps CQEs in place, 4 KiB through the
 *                   send/receive areas)
 *   vactor-batch    the same, each batch one VACTOR_OP_SEND_BATCH SQE
 *                   (one-way only; the throughput ratios use it)
 *   pipe            two pipes (1 MiB each)
 *   unix-stream     AF_UNIX SOCK_STREAM socketpair
 *   unix-seqpacket  AF_UNIX SOCK_SEQPACKET socketpair (sendmmsg/recvmmsg)
 *   eventfd-shm     SPSC ring in MAP_SHARED memory, eventfd to sleep/wake
 *   io_uring        payload in a shared-memory ring, IORING_OP_MSG_RING posts
 *                   one CQE per message into the receiver's ring
 *   shm-spin        the SPSC ring, both sides spinning: the lower bound
 *
 * Round trip: side 0 sends a message, side 1 echoes it; p50/p99 of the
 * per-iteration CLOCK_MONOTONIC time.  Throughput: side 0 sends in batches,
 * side 1 reaps what is there; messages/s and MB/s (10^6 bytes).
 *
 * Every receiver checks each message's sequence number, length and trailer,
 * and the count, so a transport that loses, reorders or truncates fails
 * instead of looking fast.  Waiting is the same for all: spin for a budget
 * (-s, checking without sleeping where the transport allows), then block in
 * the kernel; latency is measured with the budget and with none.
 *
 * See Documentation/benchmarks.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

#include <liburing.h>
#include <vact.h>

#define MIB			(1024u * 1024u)
#define MSG_MAGIC		0x76616374u	/* "vact" */
#define MSG_MIN			24u		/* header + trailer */
#define MSG_MAX			65536u

/* vactor: tag of the receiver's flow-control credits. */
#define CREDIT_TAG		(1ull << 63)
/* io_uring: user_data of a space wake-up, and of our own MSG_RING SQEs. */
#define URING_WAKE		(1ull << 63)
#define URING_SELF		(1ull << 62)

/* ------------------------------------------------------------------ */
/* options                                                             */

static struct {
	unsigned long rt;		/* recorded round trips */
	unsigned long rt_warm;		/* warm-up round trips */
	unsigned long n_small;		/* one-way messages, small size */
	unsigned long n_large;		/* one-way messages, large size */
	uint32_t small, large;		/* message sizes */
	unsigned int batch;		/* messages per submit */
	unsigned int window;		/* messages in flight (rings, credits) */
	long spin_ns;			/* budget before sleeping */
	int cpu[2];
	unsigned int timeout_s;		/* per test */
	unsigned int cap_s;		/* per run, soft: stop sending after */
	bool lat, tput, sleep_lat, sleep_tput;
	const char *only;		/* comma list of transports */
	const char *clock;		/* auto, mono, tsc */
	unsigned int reps;		/* runs of each test (median kept) */
} opt = {
	.rt = 20000, .rt_warm = 1000,
	.n_small = 1000000, .n_large = 200000,
	.small = 64, .large = 4096,
	.batch = 32, .window = 1024,
	.spin_ns = 50000,
	.cpu = { 0, 1 },
	.timeout_s = 180,
	.cap_s = 3,
	.lat = true, .tput = true, .sleep_lat = true, .sleep_tput = false,
	.clock = "auto",
	.reps = 3,
};

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * The clock of spin budgets and per-iteration latencies.  CLOCK_MONOTONIC
 * unless reading it is slow: a VM whose kernel distrusts the TSC (qemu TCG
 * without tsc=reliable) reads the HPET, ~2 us a call, which would add 4 us
 * to every round trip.  Then the TSC, calibrated against CLOCK_MONOTONIC;
 * each side is pinned, so it only ever compares its own CPU's readings.
 */
static struct {
	bool tsc;
	double ns_per_tick;
	double mono_cost_ns;
} clk;

static inline uint64_t ticks(void)
{
#if HAVE_TSC
	if (clk.tsc)
		return __rdtsc();
#endif
	return now_ns();
}

static inline uint64_t ns_to_ticks(uint64_t ns)
{
	return clk.tsc ? (uint64_t)((double)ns / clk.ns_per_tick) : ns;
}

static inline uint64_t ticks_to_ns(uint64_t t)
{
	return clk.tsc ? (uint64_t)((double)t * clk.ns_per_tick) : t;
}

#if HAVE_TSC
/* ns per TSC tick over `ms` of CLOCK_MONOTONIC. */
static double tsc_rate(unsigned int ms)
{
	uint64_t t0 = now_ns(), c0 = __rdtsc(), t1, c1;

	do
		t1 = now_ns();
	while (t1 - t0 < ms * 1000000ull);
	c1 = __rdtsc();
	return c1 > c0 ? (double)(t1 - t0) / (double)(c1 - c0) : 0;
}
#endif

static void clock_choose(void)
{
	uint64_t t0 = now_ns();

	for (int i = 0; i < 1000; i++)
		now_ns();
	clk.mono_cost_ns = (double)(now_ns() - t0) / 1001;
#if HAVE_TSC
	if (!strcmp(opt.clock, "tsc") ||
	    (!strcmp(opt.clock, "auto") && clk.mono_cost_ns > 300)) {
		double a = tsc_rate(50), b = tsc_rate(50);

		/* Two calibrations must agree, or the TSC is not a clock here. */
		if (a > 0 && b > 0 && a / b > 0.99 && a / b < 1.01) {
			clk.tsc = true;
			clk.ns_per_tick = (a + b) / 2;
		} else {
			printf("vactor_bench: TSC calibrations disagree (%.4f vs %.4f "
			       "ns/tick): using CLOCK_MONOTONIC\n", a, b);
		}
	}
#endif
}

/* A spin budget: budget < 0 spins forever, 0 not at all. */
struct spin {
	uint64_t end;
	unsigned int n;
	bool forever, done;
};

static inline void spin_begin(struct spin *s, long budget)
{
	s->n = 0;
	s->forever = budget < 0;
	s->done = budget == 0;
	s->end = budget > 0 ? ticks() + ns_to_ticks((uint64_t)budget) : 0;
}

/* May we check once more?  Reads the clock every `every` calls. */
static inline bool spin_more(struct spin *s, unsigned int every)
{
	if (s->done)
		return false;
	cpu_relax();
	if (s->forever)
		return true;
	if (++s->n % every == 0 && ticks() >= s->end) {
		s->done = true;
		return false;
	}
	return true;
}

struct msg_hdr {
	uint64_t seq;
	uint32_t len;
	uint32_t magic;
};

/* Writes the header and trailer of a message whose body is already there. */
static inline void msg_stamp(void *buf, uint32_t len, uint64_t seq)
{
	struct msg_hdr h = { .seq = seq, .len = len, .magic = MSG_MAGIC };
	uint64_t t = ~seq;

	memcpy(buf, &h, sizeof(h));
	memcpy((unsigned char *)buf + len - 8, &t, 8);
}

static inline bool msg_ok(const void *buf, uint32_t len, uint64_t seq)
{
	struct msg_hdr h;
	uint64_t t;

	memcpy(&h, buf, sizeof(h));
	memcpy(&t, (const unsigned char *)buf + len - 8, 8);
	return h.seq == seq && h.len == len && h.magic == MSG_MAGIC && t == ~seq;
}

static uint64_t msg_seq(const void *buf)
{
	uint64_t s;

	memcpy(&s, buf, 8);
	return s;
}

/* ------------------------------------------------------------------ */
/* the single-producer single-consumer ring in shared memory           */

struct spsc {
	_Alignas(64) _Atomic uint32_t tail;	  /* producer writes */
	_Alignas(64) _Atomic uint32_t head;	  /* consumer writes */
	_Alignas(64) _Atomic uint32_t cons_sleep; /* consumer is going to sleep */
	_Alignas(64) _Atomic uint32_t prod_sleep; /* producer is going to sleep */
	_Alignas(64) uint32_t slots;		  /* power of two */
	uint32_t slot_size;
};

static inline unsigned char *spsc_slot(struct spsc *r, uint32_t idx)
{
	return (unsigned char *)r + sizeof(*r) +
	       (size_t)(idx & (r->slots - 1)) * r->slot_size;
}

static size_t spsc_bytes(uint32_t slots, uint32_t len)
{
	return sizeof(struct spsc) + (size_t)slots * ((len + 63) & ~63u);
}

/* ------------------------------------------------------------------ */
/* tests, shared results, per-child context                            */

enum kind { K_LAT, K_TPUT };

struct test {
	enum kind kind;
	uint32_t len;
	unsigned long n;		/* round trips or messages */
	unsigned long warm;
	long spin_ns;
	unsigned int batch, window;
	unsigned int id;
};

struct shared {
	/*
	 * What side 0 will send in all (round trips with warm-up, or messages).
	 * Side 0 lowers it past the time cap, before sending the last one, so
	 * side 1 sees the new value by the time that last one arrives.
	 */
	_Atomic uint64_t target;
	uint64_t t_start, t_end, received;
	uint64_t waits[2], sleeps[2];
	char err[2][240];
	uint64_t lat[];
};

struct transport;

struct ctx {
	const struct transport *tr;
	struct test t;
	struct shared *sh;
	size_t sh_size;
	int side;
	int up[2][2], down[2][2];	/* barrier pipes: child -> parent, back */
	uint64_t waits, sleeps;
	unsigned char **src;		/* one batch of messages to send */

	/* made by the parent before fork */
	int pp[2][2];			/* pipes: pp[d] carries side d -> !d */
	int sv[2];			/* socketpair: side s uses sv[s] */
	int efd_data[2], efd_space[2];	/* see struct spsc users */
	void *shm;
	size_t shm_size;
	struct spsc *ring[2];		/* ring[d]: produced by side d */

	/* child state */
	int rfd, wfd;
	unsigned char *rbuf;
	size_t rcap, roff, rfill;
	struct mmsghdr *mm;
	struct iovec *iov;
	uint32_t ptail, phead;		/* producer view of ring[side] */
	uint32_t chead;			/* consumer view of ring[!side] */

	struct io_uring urings[2];	/* made by the parent */
	struct io_uring uring;		/* ours: urings[side] */
	int peer_ring;
	unsigned int pending;		/* prepared, not yet submitted */

	struct vact_port port;
	bool port_up;
	uint64_t me, peer;
	uint64_t acked;			/* sender: credits received */
	uint64_t consumed, credited;	/* receiver */
};

struct ops {
	int (*init)(struct ctx *c);	/* in the child, before barrier 1 */
	int (*connect)(struct ctx *c);	/* after barrier 1 */
	/* round trip */
	int (*send)(struct ctx *c, const void *msg, uint64_t seq);
	int (*recv)(struct ctx *c, const void **msg);
	int (*release)(struct ctx *c);
	int (*flush)(struct ctx *c);
	/* throughput */
	int (*send_batch)(struct ctx *c, unsigned int k, uint64_t seq0);
	int (*recv_batch)(struct ctx *c, uint64_t *expected);
	void (*fini)(struct ctx *c);	/* after the last barrier */
};

struct transport {
	const char *name;
	const char *wait_spin;		/* how it waits with a budget */
	const char *wait_sleep;		/* ... and without */
	bool spin_only;
	bool tput_only;			/* batches only: no round trip */
	int (*probe)(char *why, size_t n);
	int (*setup)(struct ctx *c);	/* parent, before fork */
	void (*teardown)(struct ctx *c);	/* parent, after both exit */
	const struct ops *ops;
};

static int fail(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->sh->err[c->side][0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->sh->err[c->side], sizeof(c->sh->err[0]), fmt, ap);
	va_end(ap);
	return -1;
}

static int barrier(struct ctx *c)
{
	char b = 'b';

	if (write(c->up[c->side][1], &b, 1) != 1)
		return fail(c, "barrier: %s", strerror(errno));
	if (read(c->down[c->side][0], &b, 1) != 1)
		return fail(c, "barrier: parent gone");
	return 0;
}

/* ------------------------------------------------------------------ */
/* fd transports: pipe, unix stream, unix seqpacket                    */

/* Spins polling fd without sleeping; then the caller's call blocks. */
static void fd_wait(struct ctx *c, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct spin s;

	c->waits++;
	spin_begin(&s, c->t.spin_ns);
	while (spin_more(&s, 1))
		if (poll(&p, 1, 0) > 0)
			return;
	c->sleeps++;
}

static int write_full(struct ctx *c, int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(c, "write: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int writev_full(struct ctx *c, int fd, struct iovec *iov, int cnt)
{
	while (cnt) {
		ssize_t n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(c, "writev: %s", strerror(errno));
		}
		while (cnt && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int stream_init(struct ctx *c)
{
	c->rcap = c->t.kind == K_LAT ? 2 * (size_t)c->t.len + 4096 : 256 * 1024;
	c->rbuf = malloc(c->rcap);
	c->iov = calloc(c->t.batch, sizeof(*c->iov));
	if (!c->rbuf || !c->iov)
		return fail(c, "out of memory");
	return 0;
}

/* Reads until at least `need` unread bytes are buffered. */
static int stream_fill(struct ctx *c, size_t need)
{
	while (c->rfill - c->roff < need) {
		ssize_t n;

		if (c->roff) {
			memmove(c->rbuf, c->rbuf + c->roff, c->rfill - c->roff);
			c->rfill -= c->roff;
			c->roff = 0;
		}
		if (c->t.spin_ns) {
			fd_wait(c, c->rfd);
		} else {
			c->waits++;
			c->sleeps++;
		}
		n = read(c->rfd, c->rbuf + c->rfill, c->rcap - c->rfill);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(c, "read: %s", strerror(errno));
		}
		if (n == 0)
			return fail(c, "read: unexpected EOF");
		c->rfill += (size_t)n;
	}
	return 0;
}

static int stream_send(struct ctx *c, const void *msg, uint64_t seq)
{
	(void)seq;
	return write_full(c, c->wfd, msg, c->t.len);
}

static int stream_recv(struct ctx *c, const void **msg)
{
	if (stream_fill(c, c->t.len))
		return -1;
	*msg = c->rbuf + c->roff;
	return 0;
}

static int stream_release(struct ctx *c)
{
	c->roff += c->t.len;
	return 0;
}

static int stream_send_batch(struct ctx *c, unsigned int k, uint64_t seq0)
{
	(void)seq0;
	for (unsigned int i = 0; i < k; i++) {
		c->iov[i].iov_base = c->src[i];
		c->iov[i].iov_len = c->t.len;
	}
	return writev_full(c, c->wfd, c->iov, (int)k);
}

static int stream_recv_batch(struct ctx *c, uint64_t *expected)
{
	uint32_t len = c->t.len;

	if (stream_fill(c, len))
		return -1;
	while (c->rfill - c->roff >= len) {
		if (!msg_ok(c->rbuf + c->roff, len, *expected))
			return fail(c, "message %" PRIu64 ": bad contents (seq %" PRIu64 ")",
				    *expected, msg_seq(c->rbuf + c->roff));
		(*expected)++;
		c->roff += len;
	}
	return 0;
}

static void stream_fini(struct ctx *c)
{
	free(c->rbuf);
	free(c->iov);
}

static int probe_ok(char *why, size_t n)
{
	(void)why;
	(void)n;
	return 0;
}

/* Pipes: the largest size an unprivileged process may ask for. */
static int pipe_setup(struct ctx *c)
{
	for (int d = 0; d < 2; d++) {
		if (pipe2(c->pp[d], O_CLOEXEC))
			return -errno;
		fcntl(c->pp[d][1], F_SETPIPE_SZ, (int)MIB);
	}
	return 0;
}

static void pipe_teardown(struct ctx *c)
{
	for (int d = 0; d < 2; d++) {
		close(c->pp[d][0]);
		close(c->pp[d][1]);
	}
}

static int pipe_child_init(struct ctx *c)
{
	c->wfd = c->pp[c->side][1];
	c->rfd = c->pp[!c->side][0];
	return stream_init(c);
}

static const struct ops pipe_ops = {
	.init = pipe_child_init,
	.send = stream_send,
	.recv = stream_recv,
	.release = stream_release,
	.send_batch = stream_send_batch,
	.recv_batch = stream_recv_batch,
	.fini = stream_fini,
};

/* Socket buffers of 1 MiB, like the pipes (root may force past wmem_max). */
static void sock_bufs(int fd)
{
	int sz = (int)MIB;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
}

static int sock_setup(struct ctx *c, int type)
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, c->sv))
		return -errno;
	sock_bufs(c->sv[0]);
	sock_bufs(c->sv[1]);
	return 0;
}

static int ustream_setup(struct ctx *c)
{
	return sock_setup(c, SOCK_STREAM);
}

static int seqpkt_setup(struct ctx *c)
{
	return sock_setup(c, SOCK_SEQPACKET);
}

static void sock_teardown(struct ctx *c)
{
	close(c->sv[0]);
	close(c->sv[1]);
}

static int sock_child_init(struct ctx *c)
{
	c->rfd = c->wfd = c->sv[c->side];
	return stream_init(c);
}

static const struct ops ustream_ops = {
	.init = sock_child_init,
	.send = stream_send,
	.recv = stream_recv,
	.release = stream_release,
	.send_batch = stream_send_batch,
	.recv_batch = stream_recv_batch,
	.fini = stream_fini,
};

#define SEQ_RECV_MAX 64

static int seqpkt_init(struct ctx *c)
{
	unsigned int n = c->t.batch > SEQ_RECV_MAX ? c->t.batch : SEQ_RECV_MAX;

	c->rfd = c->wfd = c->sv[c->side];
	c->rcap = (size_t)c->t.len * SEQ_RECV_MAX;
	c->rbuf = malloc(c->rcap);
	c->iov = calloc(n, sizeof(*c->iov));
	c->mm = calloc(n, sizeof(*c->mm));
	if (!c->rbuf || !c->iov || !c->mm)
		return fail(c, "out of memory");
	return 0;
}

static int seqpkt_send(struct ctx *c, const void *msg, uint64_t seq)
{
	ssize_t n;

	(void)seq;
	do
		n = send(c->wfd, msg, c->t.len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)c->t.len)
		return fail(c, "send: %s", n < 0 ? strerror(errno) : "short");
	return 0;
}

static void seq_wait(struct ctx *c)
{
	if (c->t.spin_ns) {
		fd_wait(c, c->rfd);
	} else {
		c->waits++;
		c->sleeps++;
	}
}

static int seqpkt_recv(struct ctx *c, const void **msg)
{
	ssize_t n;

	seq_wait(c);
	do
		n = recv(c->rfd, c->rbuf, c->t.len, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)c->t.len)
		return fail(c, "recv: %s", n < 0 ? strerror(errno) : "wrong length");
	*msg = c->rbuf;
	return 0;
}

static int seqpkt_release(struct ctx *c)
{
	(void)c;
	return 0;
}

static int seqpkt_send_batch(struct ctx *c, unsigned int k, uint64_t seq0)
{
	unsigned int done = 0;

	(void)seq0;
	for (unsigned int i = 0; i < k; i++) {
		c->iov[i].iov_base = c->src[i];
		c->iov[i].iov_len = c->t.len;
		memset(&c->mm[i], 0, sizeof(c->mm[i]));
		c->mm[i].msg_hdr.msg_iov = &c->iov[i];
		c->mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < k) {
		int n = sendmmsg(c->wfd, c->mm + done, k - done, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(c, "sendmmsg: %s", strerror(errno));
		}
		done += (unsigned int)n;
	}
	return 0;
}

static int seqpkt_recv_batch(struct ctx *c, uint64_t *expected)
{
	uint32_t len = c->t.len;
	int n;

	for (unsigned int i = 0; i < SEQ_RECV_MAX; i++) {
		c->iov[i].iov_base = c->rbuf + (size_t)i * len;
		c->iov[i].iov_len = len;
		memset(&c->mm[i], 0, sizeof(c->mm[i]));
		c->mm[i].msg_hdr.msg_iov = &c->iov[i];
		c->mm[i].msg_hdr.msg_iovlen = 1;
	}
	seq_wait(c);
	do
		n = recvmmsg(c->rfd, c->mm, SEQ_RECV_MAX, MSG_WAITFORONE, NULL);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return fail(c, "recvmmsg: %s", n < 0 ? strerror(errno) : "EOF");
	for (int i = 0; i < n; i++) {
		const unsigned char *p = c->rbuf + (size_t)i * len;

		if (c->mm[i].msg_len != len || (c->mm[i].msg_hdr.msg_flags & MSG_TRUNC))
			return fail(c, "message %" PRIu64 ": length %u", *expected,
				    c->mm[i].msg_len);
		if (!msg_ok(p, len, *expected))
			return fail(c, "message %" PRIu64 ": bad contents (seq %" PRIu64 ")",
				    *expected, msg_seq(p));
		(*expected)++;
	}
	return 0;
}

static void seqpkt_fini(struct ctx *c)
{
	free(c->rbuf);
	free(c->iov);
	free(c->mm);
}

static const struct ops seqpkt_ops = {
	.init = seqpkt_init,
	.send = seqpkt_send,
	.recv = seqpkt_recv,
	.release = seqpkt_release,
	.send_batch = seqpkt_send_batch,
	.recv_batch = seqpkt_recv_batch,
	.fini = seqpkt_fini,
};

/* ------------------------------------------------------------------ */
/* shared-memory rings: eventfd-shm, shm-spin, and io_uring's payloads */

enum shm_wake { WAKE_NONE, WAKE_EVENTFD, WAKE_URING };

static int shm_setup_rings(struct ctx *c)
{
	uint32_t slots = 1;
	size_t one;

	while (slots < c->t.window)
		slots <<= 1;
	one = spsc_bytes(slots, c->t.len);
	c->shm_size = 2 * one;
	c->shm = mmap(NULL, c->shm_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->shm == MAP_FAILED) {
		c->shm = NULL;
		return -errno;
	}
	/* Fault every page in now, not during the measurement. */
	memset(c->shm, 0, c->shm_size);
	for (int d = 0; d < 2; d++) {
		c->ring[d] = (struct spsc *)((unsigned char *)c->shm + d * one);
		c->ring[d]->slots = slots;
		c->ring[d]->slot_size = (c->t.len + 63) & ~63u;
	}
	return 0;
}

static int efd_setup(struct ctx *c)
{
	for (int d = 0; d < 2; d++) {
		c->efd_data[d] = eventfd(0, EFD_CLOEXEC);
		c->efd_space[d] = eventfd(0, EFD_CLOEXEC);
		if (c->efd_data[d] < 0 || c->efd_space[d] < 0)
			return -errno;
	}
	return shm_setup_rings(c);
}

static void shm_teardown(struct ctx *c)
{
	if (c->shm)
		munmap(c->shm, c->shm_size);
	c->shm = NULL;
}

static void efd_teardown(struct ctx *c)
{
	for (int d = 0; d < 2; d++) {
		close(c->efd_data[d]);
		close(c->efd_space[d]);
	}
	shm_teardown(c);
}

static int spin_setup(struct ctx *c)
{
	return shm_setup_rings(c);
}

static int uring_wake_peer(struct ctx *c);
static int uring_wait_own(struct ctx *c);

static enum shm_wake shm_wake_kind(struct ctx *c);

/* Producer: make ptail visible; wake the consumer if it went to sleep. */
static int shm_publish(struct ctx *c)
{
	struct spsc *r = c->ring[c->side];

	atomic_store_explicit(&r->tail, c->ptail, memory_order_release);
	if (shm_wake_kind(c) == WAKE_EVENTFD) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&r->cons_sleep, memory_order_relaxed) &&
		    atomic_exchange(&r->cons_sleep, 0) &&
		    eventfd_write(c->efd_data[c->side], 1))
			return fail(c, "eventfd_write: %s", strerror(errno));
	}
	return 0;
}

/* Consumer: publish chead; wake the producer if it sleeps for space. */
static int shm_consumed(struct ctx *c)
{
	struct spsc *r = c->ring[!c->side];

	atomic_store_explicit(&r->head, c->chead, memory_order_release);
	if (shm_wake_kind(c) == WAKE_NONE)
		return 0;
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&r->prod_sleep, memory_order_relaxed) ||
	    !atomic_exchange(&r->prod_sleep, 0))
		return 0;
	if (shm_wake_kind(c) == WAKE_URING)
		return uring_wake_peer(c);
	if (eventfd_write(c->efd_space[!c->side], 1))
		return fail(c, "eventfd_write: %s", strerror(errno));
	return 0;
}

static inline bool ring_full(struct ctx *c)
{
	struct spsc *r = c->ring[c->side];

	if (c->ptail - c->phead < r->slots)
		return false;
	c->phead = atomic_load_explicit(&r->head, memory_order_acquire);
	return c->ptail - c->phead >= r->slots;
}

/* Producer: wait until the ring has a free slot (after publishing). */
static int shm_wait_space(struct ctx *c)
{
	struct spsc *r = c->ring[c->side];
	struct spin s;
	bool slept = false;

	if (!ring_full(c))
		return 0;
	c->waits++;
	spin_begin(&s, c->t.spin_ns);
	while (spin_more(&s, 64))
		if (!ring_full(c))
			return 0;
	for (;;) {
		atomic_store(&r->prod_sleep, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (!ring_full(c)) {
			atomic_store(&r->prod_sleep, 0);
			break;
		}
		if (!slept)
			c->sleeps++;
		slept = true;
		if (shm_wake_kind(c) == WAKE_URING) {
			if (uring_wait_own(c))
				return -1;
		} else {
			eventfd_t v;

			if (eventfd_read(c->efd_space[c->side], &v) && errno != EINTR)
				return fail(c, "eventfd_read: %s", strerror(errno));
		}
		if (!ring_full(c))
			break;
	}
	return 0;
}

/* Consumer: number of messages ready in ring[!side], waiting for one. */
static int shm_wait_data(struct ctx *c, uint32_t *avail)
{
	struct spsc *r = c->ring[!c->side];
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	struct spin s;
	bool slept = false;

	if (t != c->chead)
		goto out;
	c->waits++;
	spin_begin(&s, c->t.spin_ns);
	while (spin_more(&s, 64)) {
		t = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (t != c->chead)
			goto out;
	}
	for (;;) {
		eventfd_t v;

		atomic_store(&r->cons_sleep, 1);
		atomic_thread_fence(memory_order_seq_cst);
		t = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (t != c->chead) {
			atomic_store(&r->cons_sleep, 0);
			break;
		}
		if (!slept)
			c->sleeps++;
		slept = true;
		if (eventfd_read(c->efd_data[!c->side], &v) && errno != EINTR)
			return fail(c, "eventfd_read: %s", strerror(errno));
		t = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (t != c->chead)
			break;
	}
out:
	*avail = t - c->chead;
	if (*avail > r->slots)
		return fail(c, "ring index corrupted");
	return 0;
}

static int shm_init(struct ctx *c)
{
	c->ptail = c->phead = c->chead = 0;
	return 0;
}

static int shm_send(struct ctx *c, const void *msg, uint64_t seq)
{
	(void)seq;
	if (shm_wait_space(c))
		return -1;
	memcpy(spsc_slot(c->ring[c->side], c->ptail), msg, c->t.len);
	c->ptail++;
	return shm_publish(c);
}

static int shm_recv(struct ctx *c, const void **msg)
{
	uint32_t avail;

	if (shm_wait_data(c, &avail))
		return -1;
	*msg = spsc_slot(c->ring[!c->side], c->chead);
	return 0;
}

static int shm_release(struct ctx *c)
{
	c->chead++;
	return shm_consumed(c);
}

static int shm_send_batch(struct ctx *c, unsigned int k, uint64_t seq0)
{
	struct spsc *r = c->ring[c->side];

	(void)seq0;
	for (unsigned int i = 0; i < k; i++) {
		if (ring_full(c)) {
			if (shm_publish(c) || shm_wait_space(c))
				return -1;
		}
		memcpy(spsc_slot(r, c->ptail), c->src[i], c->t.len);
		c->ptail++;
	}
	return shm_publish(c);
}

static int shm_recv_batch(struct ctx *c, uint64_t *expected)
{
	struct spsc *r = c->ring[!c->side];
	uint32_t avail;

	if (shm_wait_data(c, &avail))
		return -1;
	for (uint32_t i = 0; i < avail; i++) {
		const unsigned char *p = spsc_slot(r, c->chead + i);

		if (!msg_ok(p, c->t.len, *expected))
			return fail(c, "message %" PRIu64 ": bad contents (seq %" PRIu64 ")",
				    *expected, msg_seq(p));
		(*expected)++;
	}
	c->chead += avail;
	return shm_consumed(c);
}

static const struct ops shm_ops = {
	.init = shm_init,
	.send = shm_send,
	.recv = shm_recv,
	.release = shm_release,
	.send_batch = shm_send_batch,
	.recv_batch = shm_recv_batch,
};

/* ------------------------------------------------------------------ */
/* io_uring MSG_RING                                                   */

static int uring_probe(char *why, size_t n)
{
	struct io_uring ring;
	struct io_uring_probe *p;
	int ret = io_uring_queue_init(4, &ring, 0);

	if (ret) {
		snprintf(why, n, "io_uring_queue_init: %s", strerror(-ret));
		return ret;
	}
	p = io_uring_get_probe_ring(&ring);
	if (!p || !io_uring_opcode_supported(p, IORING_OP_MSG_RING)) {
		snprintf(why, n, "IORING_OP_MSG_RING not supported");
		ret = -EOPNOTSUPP;
	}
	if (p)
		io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
	return ret;
}

/*
 * Both rings are made here, before fork: a ring fd cannot be passed with
 * SCM_RIGHTS (recent kernels refuse it), and MSG_RING needs the target's fd.
 * Side s uses ring[s] as its own (mappings inherited) and ring[!s]'s fd only
 * as the MSG_RING target.
 */
static int uring_setup(struct ctx *c)
{
	for (int s = 0; s < 2; s++) {
		struct io_uring_params p = { 0 };
		int ret;

		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = 4 * c->t.window;
		ret = io_uring_queue_init_params(2 * c->t.batch, &c->urings[s], &p);
		if (ret) {
			c->urings[s].ring_fd = -1;
			return ret;
		}
	}
	return shm_setup_rings(c);
}

static void uring_teardown(struct ctx *c)
{
	for (int s = 0; s < 2; s++)
		if (c->urings[s].ring_fd >= 0)
			io_uring_queue_exit(&c->urings[s]);
	shm_teardown(c);
}

static int uring_init(struct ctx *c)
{
	shm_init(c);
	c->uring = c->urings[c->side];
	c->peer_ring = c->urings[!c->side].ring_fd;
	return 0;
}

static struct io_uring_sqe *uring_sqe(struct ctx *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->uring);

	if (!sqe) {
		io_uring_submit(&c->uring);
		c->pending = 0;
		sqe = io_uring_get_sqe(&c->uring);
	}
	return sqe;
}

static void uring_prep(struct ctx *c, struct io_uring_sqe *sqe, uint32_t len,
		       uint64_t data)
{
	io_uring_prep_msg_ring(sqe, c->peer_ring, len, data, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, URING_SELF | data);
	c->pending++;
}

static int uring_submit(struct ctx *c)
{
	int ret;

	if (!c->pending)
		return 0;
	ret = io_uring_submit(&c->uring);
	if (ret < 0)
		return fail(c, "io_uring_submit: %s", strerror(-ret));
	c->pending = 0;
	return 0;
}

static int uring_wake_peer(struct ctx *c)
{
	struct io_uring_sqe *sqe = uring_sqe(c);

	if (!sqe)
		return fail(c, "io_uring: no SQE");
	uring_prep(c, sqe, 0, URING_WAKE);
	return uring_submit(c);
}

/* A CQE of ours that is not a message: a wake-up (ignored) or an error. */
static int uring_other(struct ctx *c, struct io_uring_cqe *cqe)
{
	if (cqe->user_data == URING_WAKE)
		return 0;
	if (cqe->user_data & URING_SELF)
		return fail(c, "MSG_RING failed: %s", strerror(-cqe->res));
	return 1;	/* a message */
}

/* Waits for the next CQE: spin peeking, then io_uring_wait_cqe. */
static int uring_next(struct ctx *c, struct io_uring_cqe **cqe)
{
	struct spin s;
	int ret;

	if (c->pending) {
		if (!c->t.spin_ns) {
			c->waits++;
			c->sleeps++;
			ret = io_uring_submit_and_wait(&c->uring, 1);
			if (ret < 0)
				return fail(c, "io_uring_submit_and_wait: %s", strerror(-ret));
			c->pending = 0;
		} else if (uring_submit(c)) {
			return -1;
		}
	}
	if (!io_uring_peek_cqe(&c->uring, cqe))
		return 0;
	c->waits++;
	spin_begin(&s, c->t.spin_ns);
	while (spin_more(&s, 64))
		if (!io_uring_peek_cqe(&c->uring, cqe))
			return 0;
	c->sleeps++;
	do
		ret = io_uring_wait_cqe(&c->uring, cqe);
	while (ret == -EINTR);
	if (ret)
		return fail(c, "io_uring_wait_cqe: %s", strerror(-ret));
	return 0;
}

/* Producer waiting for space: one CQE on our ring (a wake-up, normally). */
static int uring_wait_own(struct ctx *c)
{
	struct io_uring_cqe *cqe;
	int ret;

	if (uring_submit(c))
		return -1;
	do
		ret = io_uring_wait_cqe(&c->uring, &cqe);
	while (ret == -EINTR);
	if (ret)
		return fail(c, "io_uring_wait_cqe: %s", strerror(-ret));
	ret = uring_other(c, cqe);
	io_uring_cqe_seen(&c->uring, cqe);
	if (ret > 0)
		return fail(c, "io_uring: unexpected message CQE on the sender");
	return ret;
}

static int uring_send(struct ctx *c, const void *msg, uint64_t seq)
{
	struct io_uring_sqe *sqe;

	if (shm_wait_space(c))
		return -1;
	memcpy(spsc_slot(c->ring[c->side], c->ptail), msg, c->t.len);
	c->ptail++;
	atomic_store_explicit(&c->ring[c->side]->tail, c->ptail, memory_order_release);
	sqe = uring_sqe(c);
	if (!sqe)
		return fail(c, "io_uring: no SQE");
	uring_prep(c, sqe, c->t.len, seq);
	return 0;	/* submitted by the next wait, or flush */
}

static int uring_recv(struct ctx *c, const void **msg)
{
	for (;;) {
		struct io_uring_cqe *cqe;
		const unsigned char *p;
		int ret;

		if (uring_next(c, &cqe))
			return -1;
		ret = uring_other(c, cqe);
		if (ret <= 0) {
			io_uring_cqe_seen(&c->uring, cqe);
			if (ret < 0)
				return -1;
			continue;
		}
		p = spsc_slot(c->ring[!c->side], c->chead);
		if ((uint32_t)cqe->res != c->t.len || cqe->user_data != msg_seq(p)) {
			fail(c, "CQE (seq %llu, len %d) does not match its slot",
			     (unsigned long long)cqe->user_data, cqe->res);
			return -1;
		}
		io_uring_cqe_seen(&c->uring, cqe);
		*msg = p;
		return 0;
	}
}

static int uring_flush(struct ctx *c)
{
	return uring_submit(c);
}

static int uring_reap_own(struct ctx *c)
{
	struct io_uring_cqe *cqe;

	while (!io_uring_peek_cqe(&c->uring, &cqe)) {
		int ret = uring_other(c, cqe);

		io_uring_cqe_seen(&c->uring, cqe);
		if (ret)
			return ret < 0 ? -1 : fail(c, "io_uring: message CQE on the sender");
	}
	return 0;
}

static int uring_send_batch(struct ctx *c, unsigned int k, uint64_t seq0)
{
	struct spsc *r = c->ring[c->side];

	for (unsigned int i = 0; i < k; i++) {
		struct io_uring_sqe *sqe;

		if (ring_full(c)) {
			atomic_store_explicit(&r->tail, c->ptail, memory_order_release);
			if (uring_submit(c) || shm_wait_space(c))
				return -1;
		}
		memcpy(spsc_slot(r, c->ptail), c->src[i], c->t.len);
		c->ptail++;
		sqe = io_uring_get_sqe(&c->uring);
		if (!sqe) {
			atomic_store_explicit(&r->tail, c->ptail - 1, memory_order_release);
			if (uring_submit(c))
				return -1;
			sqe = io_uring_get_sqe(&c->uring);
			if (!sqe)
				return fail(c, "io_uring: no SQE");
		}
		uring_prep(c, sqe, c->t.len, seq0 + i);
	}
	atomic_store_explicit(&r->tail, c->ptail, memory_order_release);
	if (uring_submit(c))
		return -1;
	return uring_reap_own(c);
}

static int uring_recv_batch(struct ctx *c, uint64_t *expected)
{
	struct spsc *r = c->ring[!c->side];
	struct io_uring_cqe *cqes[256];
	uint32_t got = 0;
	unsigned int n;

	if (uring_next(c, &cqes[0]))
		return -1;
	n = io_uring_peek_batch_cqe(&c->uring, cqes, 256);
	for (unsigned int i = 0; i < n; i++) {
		struct io_uring_cqe *cqe = cqes[i];
		const unsigned char *p;
		int ret = uring_other(c, cqe);

		if (ret < 0)
			return -1;
		if (!ret)
			continue;
		p = spsc_slot(r, c->chead + got);
		if (cqe->user_data != *expected || (uint32_t)cqe->res != c->t.len ||
		    !msg_ok(p, c->t.len, *expected))
			return fail(c, "message %" PRIu64 ": CQE seq %llu len %d, slot seq %" PRIu64,
				    *expected, (unsigned long long)cqe->user_data,
				    cqe->res, msg_seq(p));
		(*expected)++;
		got++;
	}
	io_uring_cq_advance(&c->uring, n);
	c->chead += got;
	return shm_consumed(c);
}

static const struct ops uring_ops = {
	.init = uring_init,
	.send = uring_send,
	.recv = uring_recv,
	.release = shm_release,
	.flush = uring_flush,
	.send_batch = uring_send_batch,
	.recv_batch = uring_recv_batch,
};

/* ------------------------------------------------------------------ */
/* vactor                                                              */

static int vactor_probe(char *why, size_t n)
{
	int fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, n, "%s: %s (is vactor.ko loaded?)", VACTOR_DEVICE,
			 strerror(errno));
		return -errno;
	}
	close(fd);
	return 0;
}

static void vactor_name(char *buf, size_t n, const struct ctx *c, int side)
{
	snprintf(buf, n, "bench-%d-%u-%d", (int)getppid(), c->t.id, side);
}

static int vactor_init(struct ctx *c)
{
	struct vactor_params p = { 0 };
	char name[VACTOR_NAME_MAX];
	int ret;

	/* Room for a window of messages plus credits, in the CQ and recv area. */
	p.sq_entries = 2 * c->t.batch;
	p.send_size = 2 * c->t.batch * ((c->t.len + 63) & ~63u);
	if (p.send_size < 256 * 1024)
		p.send_size = 256 * 1024;
	p.cq_entries = 4 * c->t.window;
	/* The receive area is at most 64 MiB: big messages get a smaller window. */
	while (c->t.window > 2 * c->t.batch &&
	       2ull * c->t.window * ((c->t.len + 63) & ~63u) > 64ull * MIB)
		c->t.window /= 2;
	p.recv_size = 2 * c->t.window * ((c->t.len + 63) & ~63u);
	if (p.recv_size < 2 * MIB)
		p.recv_size = 2 * MIB;
	ret = vact_port_open(&c->port, &p);
	if (ret)
		return fail(c, "vact_port_open: %s", vact_strerror(ret));
	c->port_up = true;
	vactor_name(name, sizeof(name), c, c->side);
	ret = vact_create(&c->port, name, 0, &c->me);
	if (ret)
		return fail(c, "vact_create(%s): %s", name, vact_strerror(ret));
	return 0;
}

static int vactor_connect(struct ctx *c)
{
	char name[VACTOR_NAME_MAX];
	int ret;

	vactor_name(name, sizeof(name), c, !c->side);
	ret = vact_lookup(&c->port, name, &c->peer);
	if (ret)
		return fail(c, "vact_lookup(%s): %s", name, vact_strerror(ret));
	return 0;
}

static int vactor_submit(struct ctx *c);

static int vactor_prep(struct ctx *c, const void *data, uint32_t len,
		       uint64_t tag)
{
	struct vactor_sqe *sqe = vact_get_sqe(&c->port);
	int ret;

	if (!sqe) {
		/* SQ full: submit what is prepared, then there is room. */
		if (vactor_submit(c))
			return -1;
		sqe = vact_get_sqe(&c->port);
		if (!sqe)
			return fail(c, "no SQE after submitting");
	}
	/*
	 * The send area holds two batches (vactor_init), and we submit every
	 * batch whole, so -ENOSPC cannot happen; if it did, the SQE taken
	 * would be half prepared, so it is an error, not a retry.
	 */
	ret = vact_prep_send(&c->port, sqe, c->me, c->peer, data, len, tag);
	if (ret)
		return fail(c, "vact_prep_send: %s", vact_strerror(ret));
	c->pending++;
	return 0;
}

static int vactor_submit(struct ctx *c)
{
	while (c->pending) {
		int ret = vact_submit(&c->port);

		if (ret < 0)
			return fail(c, "vact_submit: %s", vact_strerror(ret));
		if (ret == 0)
			return fail(c, "vact_submit consumed nothing");
		c->pending -= (unsigned int)ret > c->pending ? c->pending : (unsigned int)ret;
	}
	return 0;
}

/* Waits until a CQE is ready: spin on the CQ, then sleep in ENTER. */
static int vactor_wait(struct ctx *c)
{
	struct spin s;
	int ret;

	if (c->pending && !c->t.spin_ns) {
		/* Submit and wait in one call, as io_uring_submit_and_wait. */
		c->waits++;
		c->sleeps++;
		ret = vact_submit_and_wait(&c->port, 1, -1);
		if (ret < 0)
			return fail(c, "vact_submit_and_wait: %s", vact_strerror(ret));
		c->pending = 0;
	} else if (vactor_submit(c)) {
		return -1;
	}
	if (vact_cq_ready(&c->port))
		return 0;
	c->waits++;
	spin_begin(&s, c->t.spin_ns);
	while (spin_more(&s, 64))
		if (vact_cq_ready(&c->port))
			return 0;
	c->sleeps++;
	while (!vact_cq_ready(&c->port)) {
		ret = vact_submit_and_wait(&c->port, 1, -1);
		if (ret < 0 && ret != -EINTR)
			return fail(c, "vact_submit_and_wait: %s", vact_strerror(ret));
	}
	return 0;
}

/* A CQE that is not a message for us: an error, or unexpected. */
static int vactor_bad_cqe(struct ctx *c, const struct vactor_cqe *cqe)
{
	if (cqe->event == VACTOR_EV_COMPLETE)
		return fail(c, "completion of op %u: %s", cqe->opcode,
			    vact_strerror(cqe->res));
	if (cqe->event == VACTOR_EV_UNDELIVERED)
		return fail(c, "message tag %llu undelivered: %s",
			    (unsigned long long)cqe->tag, vact_strerror(cqe->res));
	if (cqe->event != VACTOR_EV_MSG)
		return fail(c, "unknown event %u", cqe->event);
	if (cqe->actor != c->me || cqe->source != c->peer)
		return fail(c, "message for %llu from %llu (expected %llu from %llu)",
			    (unsigned long long)cqe->actor,
			    (unsigned long long)cqe->source,
			    (unsigned long long)c->me, (unsigned long long)c->peer);
	return 0;
}

static int vactor_send(struct ctx *c, const void *msg, uint64_t seq)
{
	return vactor_prep(c, msg, c->t.len, seq);
}

static int vactor_recv(struct ctx *c, const void **msg)
{
	struct vactor_cqe *cqe;
	int ret;

	if (vactor_wait(c))
		return -1;
	ret = vact_peek_cqe(&c->port, &cqe);
	if (ret)
		return fail(c, "vact_peek_cqe: %s", vact_strerror(ret));
	if (vactor_bad_cqe(c, cqe))
		return -1;
	if (cqe->len != c->t.len)
		return fail(c, "message of %u bytes, expected %u", cqe->len, c->t.len);
	*msg = vact_cqe_data(&c->port, cqe);
	if (!*msg)
		return fail(c, "CQE payload outside the receive area");
	if (cqe->tag != msg_seq(*msg))
		return fail(c, "tag %llu but payload seq %" PRIu64,
			    (unsigned long long)cqe->tag, msg_seq(*msg));
	return 0;
}

static int vactor_release(struct ctx *c)
{
	vact_cq_advance(&c->port, 1);
	if (*c->port.cq.flags & VACTOR_CQ_F_BACKLOG)
		return vactor_submit(c) || vact_submit(&c->port) < 0 ? -1 : 0;
	return 0;
}

static int vactor_flush(struct ctx *c)
{
	return vactor_submit(c);
}

/* Sender: take credits (and errors) from our CQ. */
static int vactor_reap_credits(struct ctx *c)
{
	struct vactor_cqe *cqe;

	while (!vact_peek_cqe(&c->port, &cqe)) {
		uint64_t v;

		if (vactor_bad_cqe(c, cqe))
			return -1;
		if (cqe->tag != CREDIT_TAG || cqe->len != sizeof(v) ||
		    !vact_cqe_data(&c->port, cqe))
			return fail(c, "unexpected message on the sender (tag %llu)",
				    (unsigned long long)cqe->tag);
		memcpy(&v, vact_cqe_data(&c->port, cqe), sizeof(v));
		if (v > c->acked)
			c->acked = v;
		vact_cq_advance(&c->port, 1);
	}
	return 0;
}

static int vactor_send_batch(struct ctx *c, unsigned int k, uint64_t seq0)
{
	/* Credit-based flow control: at most `window` messages unconsumed. */
	if (vactor_reap_credits(c))
		return -1;
	while (seq0 + k - c->acked > c->t.window) {
		if (vactor_wait(c) || vactor_reap_credits(c))
			return -1;
	}
	for (unsigned int i = 0; i < k; i++)
		if (vactor_prep(c, c->src[i], c->t.len, seq0 + i))
			return -1;
	return vactor_submit(c);
}

static int vactor_recv_batch(struct ctx *c, uint64_t *expected)
{
	struct vact_cq *cq = &c->port.cq;
	unsigned int n, head;

	if (vactor_wait(c))
		return -1;
	n = vact_cq_ready(&c->port);
	head = __atomic_load_n(cq->head, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < n; i++) {
		const struct vactor_cqe *cqe = &cq->cqes[(head + i) & cq->mask];
		const void *p;

		if (vactor_bad_cqe(c, cqe))
			return -1;
		p = vact_cqe_data(&c->port, cqe);
		if (!p)
			return fail(c, "CQE payload outside the receive area");
		if (cqe->tag != *expected || cqe->len != c->t.len ||
		    !msg_ok(p, c->t.len, *expected))
			return fail(c, "message %" PRIu64 ": tag %llu len %u seq %" PRIu64,
				    *expected, (unsigned long long)cqe->tag, cqe->len,
				    msg_seq(p));
		(*expected)++;
	}
	vact_cq_advance(&c->port, n);
	c->consumed += n;
	if (c->consumed - c->credited >= c->t.window / 4 || c->consumed == c->t.n) {
		uint64_t v = c->consumed;

		if (vactor_prep(c, &v, sizeof(v), CREDIT_TAG))
			return -1;
		c->credited = c->consumed;
	}
	if (c->pending || (*cq->flags & VACTOR_CQ_F_BACKLOG)) {
		int ret = vact_submit(&c->port);

		if (ret < 0)
			return fail(c, "vact_submit: %s", vact_strerror(ret));
		c->pending = 0;
	}
	return 0;
}

static void vactor_fini(struct ctx *c)
{
	if (!c->port_up)
		return;
	if (c->me)
		vact_destroy(&c->port, c->me);
	vact_port_close(&c->port);
	c->port_up = false;
}

/*
 * vactor-batch: the same port and receiver, but each batch goes as one
 * VACTOR_OP_SEND_BATCH SQE, its messages written straight into the send
 * area: the kernel reads no SQE per message.
 */
static int vactor_send_batch_op(struct ctx *c, unsigned int k, uint64_t seq0)
{
	struct vactor_sqe *sqe;
	struct vact_batch b;
	int ret;

	if (vactor_reap_credits(c))
		return -1;
	while (seq0 + k - c->acked > c->t.window) {
		if (vactor_wait(c) || vactor_reap_credits(c))
			return -1;
	}
	/* The last batch was submitted whole: the send area is free. */
	ret = vact_batch_start(&c->port, &b, 0);
	if (ret)
		return fail(c, "vact_batch_start: %s", vact_strerror(ret));
	for (unsigned int i = 0; i < k; i++) {
		void *p = vact_batch_add(&b, c->peer, c->t.len, seq0 + i);

		if (!p)
			return fail(c, "vact_batch_add: message %u of %u does not fit", i, k);
		memcpy(p, c->src[i], c->t.len);
	}
	sqe = vact_get_sqe(&c->port);
	if (!sqe)
		return fail(c, "no SQE with the SQ drained");
	ret = vact_prep_send_batch(sqe, &b, c->me, 0, 0);
	if (ret)
		return fail(c, "vact_prep_send_batch: %s", vact_strerror(ret));
	c->pending++;
	return vactor_submit(c);
}

static const struct ops vactor_batch_ops = {
	.init = vactor_init,
	.connect = vactor_connect,
	.send_batch = vactor_send_batch_op,
	.recv_batch = vactor_recv_batch,
	.fini = vactor_fini,
};

static const struct ops vactor_ops = {
	.init = vactor_init,
	.connect = vactor_connect,
	.send = vactor_send,
	.recv = vactor_recv,
	.release = vactor_release,
	.flush = vactor_flush,
	.send_batch = vactor_send_batch,
	.recv_batch = vactor_recv_batch,
	.fini = vactor_fini,
};

/* ------------------------------------------------------------------ */
/* transports                                                          */

static const struct transport transports[] = {
	{ "vactor", "spin on CQ, then ENTER", "ENTER (submit+wait)", false,
	  false, vactor_probe, NULL, NULL, &vactor_ops },
	{ "vactor-batch", "spin on CQ, then ENTER", "ENTER (submit+wait)", false,
	  true, vactor_probe, NULL, NULL, &vactor_batch_ops },
	{ "pipe", "spin poll(0), then read", "read", false, false,
	  probe_ok, pipe_setup, pipe_teardown, &pipe_ops },
	{ "unix-stream", "spin poll(0), then read", "read", false, false,
	  probe_ok, ustream_setup, sock_teardown, &ustream_ops },
	{ "unix-seqpacket", "spin poll(0), then recv", "recv", false, false,
	  probe_ok, seqpkt_setup, sock_teardown, &seqpkt_ops },
	{ "eventfd-shm", "spin on ring, then eventfd", "eventfd read", false, false,
	  probe_ok, efd_setup, efd_teardown, &shm_ops },
	{ "io_uring", "spin on CQ, then wait_cqe", "submit_and_wait", false, false,
	  uring_probe, uring_setup, uring_teardown, &uring_ops },
	{ "shm-spin", "spin only (no sleep)", "-", true, false,
	  probe_ok, spin_setup, shm_teardown, &shm_ops },
};

#define N_TRANSPORTS (sizeof(transports) / sizeof(transports[0]))

static enum shm_wake shm_wake_kind(struct ctx *c)
{
	if (c->tr->ops == &uring_ops)
		return WAKE_URING;
	if (c->tr->setup == efd_setup)
		return WAKE_EVENTFD;
	return WAKE_NONE;
}

/* Is `word` one of the comma-separated words of `list`? */
static bool has_word(const char *list, const char *word)
{
	const char *p = list;
	size_t n = strlen(word);

	while (*p) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && !strncmp(p, word, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static bool selected(const char *name)
{
	return !opt.only || has_word(opt.only, name);
}

/* ------------------------------------------------------------------ */
/* the two sides                                                       */

/* Past the time cap (and a minimum of samples), side 0 stops early. */
static bool past_cap(struct ctx *c, uint64_t done, uint64_t min)
{
	return opt.cap_s && done >= min && done % 64 == 0 &&
	       now_ns() - c->sh->t_start > opt.cap_s * 1000000000ull;
}

static int drive_lat(const struct ops *o, struct ctx *c)
{
	uint64_t total = atomic_load(&c->sh->target);
	uint64_t min = c->t.n < 1000 ? c->t.n : 1000;
	unsigned char *buf = malloc(c->t.len);

	if (!buf)
		return fail(c, "out of memory");
	for (uint32_t i = 0; i < c->t.len; i++)
		buf[i] = (unsigned char)(i * 7);

	for (uint64_t i = 0; i < total; i++) {
		const void *m;

		if (c->side == 0 && i == c->t.warm)
			c->sh->t_start = now_ns();
		if (c->side == 0) {
			uint64_t t0, t1;

			if (i > c->t.warm && past_cap(c, i - c->t.warm, min)) {
				total = i + 1;		/* this one is the last */
				atomic_store(&c->sh->target, total);
			}

			msg_stamp(buf, c->t.len, i);
			t0 = ticks();
			if (o->send(c, buf, i) || o->recv(c, &m))
				return -1;
			if (!msg_ok(m, c->t.len, i))
				return fail(c, "reply %" PRIu64 ": bad contents (seq %" PRIu64 ")",
					    i, msg_seq(m));
			if (o->release(c))
				return -1;
			t1 = ticks();
			if (i >= c->t.warm)
				c->sh->lat[i - c->t.warm] = ticks_to_ns(t1 - t0);
		} else {
			if (o->recv(c, &m))
				return -1;
			if (!msg_ok(m, c->t.len, i))
				return fail(c, "request %" PRIu64 ": bad contents (seq %" PRIu64 ")",
					    i, msg_seq(m));
			if (o->send(c, m, i) || o->release(c))
				return -1;
			total = atomic_load(&c->sh->target);
		}
	}
	if (c->side == 0)
		c->sh->t_end = now_ns();
	free(buf);
	if (o->flush && o->flush(c))
		return -1;
	if (c->side == 1)
		c->sh->received = total;
	return 0;
}

static int drive_tput(const struct ops *o, struct ctx *c)
{
	if (c->side == 0) {
		c->src = calloc(c->t.batch, sizeof(*c->src));
		if (!c->src)
			return fail(c, "out of memory");
		for (unsigned int b = 0; b < c->t.batch; b++) {
			c->src[b] = malloc(c->t.len);
			if (!c->src[b])
				return fail(c, "out of memory");
			for (uint32_t i = 0; i < c->t.len; i++)
				c->src[b][i] = (unsigned char)(i * 7 + b);
		}
		uint64_t total = c->t.n;

		c->sh->t_start = now_ns();
		for (uint64_t seq = 0; seq < total;) {
			unsigned int k = c->t.batch;

			if (total - seq < k)
				k = (unsigned int)(total - seq);
			if (past_cap(c, seq / c->t.batch, c->t.n / 10 / c->t.batch)) {
				total = seq + k;	/* this batch is the last */
				atomic_store(&c->sh->target, total);
			}
			for (unsigned int b = 0; b < k; b++)
				msg_stamp(c->src[b], c->t.len, seq + b);
			if (o->send_batch(c, k, seq))
				return -1;
			seq += k;
		}
		if (o->flush && o->flush(c))
			return -1;
	} else {
		uint64_t expected = 0;

		while (expected < atomic_load(&c->sh->target))
			if (o->recv_batch(c, &expected))
				return -1;
		c->sh->t_end = now_ns();
		c->sh->received = expected;
	}
	return 0;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void child(struct ctx *c)
{
	const struct ops *o = c->tr->ops;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	for (int s = 0; s < 2; s++) {
		if (s == c->side)
			continue;
		close(c->up[s][1]);
		close(c->down[s][0]);
	}
	pin(opt.cpu[c->side]);
	rc = o->init ? o->init(c) : 0;
	if (!rc)
		rc = barrier(c);
	if (!rc && o->connect)
		rc = o->connect(c);
	if (!rc)
		rc = barrier(c);
	if (!rc)
		rc = c->t.kind == K_LAT ? drive_lat(o, c) : drive_tput(o, c);
	c->sh->waits[c->side] = c->waits;
	c->sh->sleeps[c->side] = c->sleeps;
	/* Both done before either tears down (vactor: actors, names). */
	if (!rc)
		rc = barrier(c);
	if (o->fini)
		o->fini(c);
	_exit(rc ? 1 : 0);
}

/* ------------------------------------------------------------------ */
/* the parent                                                          */

struct result {
	const struct transport *tr;
	enum kind kind;
	uint32_t len;
	bool sleep_mode;
	bool ok, skipped;
	char why[300];
	double p50, p99, mean;		/* us */
	double mps, mbps;
	double blocked[2];		/* per side: share of waits that blocked */
	uint64_t n, planned;		/* measured; asked for (-X stops early) */
	double secs;
};

static struct result *results;
static size_t n_results, cap_results;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void kill_child(pid_t pid)
{
	if (pid > 0)
		kill(pid, SIGKILL);
}

/* Serves barriers until both children exit; kills both past the deadline. */
static int supervise(struct ctx *c, pid_t pid[2], int status[2], char *why, size_t n)
{
	uint64_t deadline = now_ns() + (uint64_t)opt.timeout_s * 1000000000ull;
	bool arrived[2] = { false, false }, alive[2] = { true, true };
	int failed = 0;

	while (alive[0] || alive[1]) {
		struct pollfd p[2];
		int r;

		for (int s = 0; s < 2; s++) {
			p[s].fd = alive[s] ? c->up[s][0] : -1;
			p[s].events = POLLIN;
			p[s].revents = 0;
		}
		r = poll(p, 2, 200);
		if (r < 0 && errno != EINTR)
			break;
		if (now_ns() > deadline) {
			snprintf(why, n, "timed out after %u s", opt.timeout_s);
			kill_child(pid[0]);
			kill_child(pid[1]);
			failed = 1;
			deadline = UINT64_MAX;
		}
		for (int s = 0; s < 2; s++) {
			char b;

			if (!alive[s] || !p[s].revents)
				continue;
			if (read(c->up[s][0], &b, 1) == 1) {
				arrived[s] = true;
				continue;
			}
			/* EOF: the child exited. */
			waitpid(pid[s], &status[s], 0);
			alive[s] = false;
			if (!WIFEXITED(status[s]) || WEXITSTATUS(status[s])) {
				failed = 1;
				kill_child(alive[!s] ? pid[!s] : 0);
			} else if (alive[!s] && arrived[!s]) {
				failed = 1;	/* would wait forever */
				kill_child(pid[!s]);
			}
		}
		if (arrived[0] && arrived[1]) {
			char b = 'g';

			arrived[0] = arrived[1] = false;
			for (int s = 0; s < 2; s++)
				if (write(c->down[s][1], &b, 1) != 1)
					failed = 1;
		}
	}
	return failed ? -1 : 0;
}

static void add_result(const struct result *r)
{
	if (n_results == cap_results) {
		cap_results = cap_results ? 2 * cap_results : 64;
		results = realloc(results, cap_results * sizeof(*results));
		if (!results) {
			perror("realloc");
			exit(2);
		}
	}
	results[n_results++] = *r;
}

static const char *mode_name(const struct result *r)
{
	return r->sleep_mode ? "sleep" : "spin";
}

static void run_once(const struct transport *tr, enum kind kind, uint32_t len,
		     bool sleep_mode, unsigned int id, struct result *out)
{
	struct result r = { .tr = tr, .kind = kind, .len = len, .sleep_mode = sleep_mode };
	struct ctx c = { 0 };
	pid_t pid[2] = { -1, -1 };
	int status[2] = { 0, 0 };
	uint64_t t0 = now_ns(), target;
	int ret;

	/* Nothing open yet: teardown after a failed setup closes nothing. */
	memset(c.pp, -1, sizeof(c.pp));
	memset(c.sv, -1, sizeof(c.sv));
	memset(c.efd_data, -1, sizeof(c.efd_data));
	memset(c.efd_space, -1, sizeof(c.efd_space));
	memset(c.up, -1, sizeof(c.up));
	memset(c.down, -1, sizeof(c.down));
	c.urings[0].ring_fd = c.urings[1].ring_fd = -1;
	c.tr = tr;
	c.t.kind = kind;
	c.t.len = len;
	c.t.n = kind == K_LAT ? opt.rt : (len == opt.small ? opt.n_small : opt.n_large);
	c.t.warm = kind == K_LAT ? opt.rt_warm : 0;
	c.t.spin_ns = tr->spin_only ? -1 : sleep_mode ? 0 : opt.spin_ns;
	c.t.batch = kind == K_LAT ? 1 : opt.batch;
	/* One message in flight: a small ring stays in the cache. */
	c.t.window = kind == K_LAT ? 16 : opt.window;
	c.t.id = id;

	ret = tr->probe(r.why, sizeof(r.why));
	if (ret) {
		r.skipped = true;
		printf("skipped: %s\n", r.why);
		*out = r;
		return;
	}

	c.sh_size = sizeof(struct shared) +
		    (kind == K_LAT ? c.t.n * sizeof(uint64_t) : 0);
	c.sh = mmap(NULL, c.sh_size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c.sh == MAP_FAILED) {
		snprintf(r.why, sizeof(r.why), "mmap: %s", strerror(errno));
		goto out_nosh;
	}
	atomic_store(&c.sh->target, c.t.warm + c.t.n);
	for (int s = 0; s < 2; s++) {
		if (pipe2(c.up[s], O_CLOEXEC) || pipe2(c.down[s], O_CLOEXEC)) {
			snprintf(r.why, sizeof(r.why), "pipe: %s", strerror(errno));
			goto out;
		}
	}
	if (tr->setup) {
		ret = tr->setup(&c);
		if (ret) {
			snprintf(r.why, sizeof(r.why), "setup: %s", strerror(-ret));
			goto out_td;
		}
	}

	fflush(stdout);
	for (int s = 0; s < 2; s++) {
		pid[s] = fork();
		if (pid[s] < 0) {
			snprintf(r.why, sizeof(r.why), "fork: %s", strerror(errno));
			kill_child(s ? pid[0] : -1);
			if (s)
				waitpid(pid[0], NULL, 0);
			goto out_td;
		}
		if (pid[s] == 0) {
			c.side = s;
			child(&c);
		}
	}
	for (int s = 0; s < 2; s++) {
		close(c.up[s][1]);
		close(c.down[s][0]);
		c.up[s][1] = c.down[s][0] = -1;
	}

	ret = supervise(&c, pid, status, r.why, sizeof(r.why));
	r.secs = (double)(now_ns() - t0) / 1e9;
	if (ret) {
		size_t l = strlen(r.why);

		for (int s = 0; s < 2; s++) {
			if (c.sh->err[s][0])
				l += (size_t)snprintf(r.why + l, l < sizeof(r.why) ?
						      sizeof(r.why) - l : 0, "%s%s: %s",
						      l ? "; " : "", s ? "receiver" : "sender",
						      c.sh->err[s]);
			else if (WIFSIGNALED(status[s]) && WTERMSIG(status[s]) != SIGKILL)
				l += (size_t)snprintf(r.why + l, l < sizeof(r.why) ?
						      sizeof(r.why) - l : 0, "%sside %d: signal %d",
						      l ? "; " : "", s, WTERMSIG(status[s]));
		}
		if (!r.why[0])
			snprintf(r.why, sizeof(r.why), "a side failed");
		goto out_td;
	}
	target = atomic_load(&c.sh->target);
	r.planned = c.t.n;
	r.n = kind == K_LAT ? target - c.t.warm : target;
	if (c.sh->received != target || r.n == 0 || r.n > c.t.n) {
		snprintf(r.why, sizeof(r.why), "%s %" PRIu64 " of %" PRIu64,
			 kind == K_LAT ? "echoed" : "received", c.sh->received, target);
		goto out_td;
	}
	if (kind == K_LAT) {
		uint64_t sum = 0;

		qsort(c.sh->lat, r.n, sizeof(uint64_t), cmp_u64);
		for (unsigned long i = 0; i < r.n; i++)
			sum += c.sh->lat[i];
		r.p50 = (double)c.sh->lat[r.n / 2] / 1e3;
		r.p99 = (double)c.sh->lat[(r.n * 99) / 100] / 1e3;
		r.mean = (double)sum / (double)r.n / 1e3;
		/* The per-iteration times cannot add up to more than the loop took. */
		if ((double)sum > 1.02 * (double)(c.sh->t_end - c.sh->t_start)) {
			snprintf(r.why, sizeof(r.why), "per-iteration times add up to %.3f s "
				 "but the loop took %.3f s: the clock is wrong (try -K mono)",
				 (double)sum / 1e9,
				 (double)(c.sh->t_end - c.sh->t_start) / 1e9);
			goto out_td;
		}
	} else {
		double secs = (double)(c.sh->t_end - c.sh->t_start) / 1e9;

		r.mps = (double)r.n / secs;
		r.mbps = r.mps * len / 1e6;
	}
	for (int side = 0; side < 2; side++)
		r.blocked[side] = c.sh->waits[side] ?
			(double)c.sh->sleeps[side] / (double)c.sh->waits[side] : 0;
	r.ok = true;
out_td:
	if (tr->teardown)
		tr->teardown(&c);
out:
	for (int s = 0; s < 2; s++)
		for (int e = 0; e < 2; e++) {
			if (c.up[s][e] >= 0)
				close(c.up[s][e]);
			if (c.down[s][e] >= 0)
				close(c.down[s][e]);
		}
	munmap(c.sh, c.sh_size);
out_nosh:
	if (r.ok && kind == K_LAT)
		printf("p50 %.2f us, p99 %.2f us (%.1f s)", r.p50, r.p99, r.secs);
	else if (r.ok)
		printf("%.0f msgs/s, %.1f MB/s (%.1f s)", r.mps, r.mbps, r.secs);
	else
		printf("FAILED: %s", r.why);
	if (r.ok && r.n < r.planned)
		printf(" [time cap: %" PRIu64 " of %" PRIu64 "]", r.n, r.planned);
	fflush(stdout);
	*out = r;
}

static double result_key(const struct result *r)
{
	return r->kind == K_LAT ? r->p50 : r->mps;
}

static int cmp_result(const void *a, const void *b)
{
	double x = result_key(a), y = result_key(b);

	return x < y ? -1 : x > y;
}

/*
 * The tests, run in rounds: each round runs every test once, so the runs of
 * one test are spread over the whole benchmark and a burst of noise (another
 * guest, the host) spoils one run of several tests, not every run of one.
 * Each test keeps its median run.
 */
struct testdef {
	const struct transport *tr;
	enum kind kind;
	uint32_t len;
	bool sleep_mode;
	unsigned int nruns;
	bool done;			/* failed or skipped: no more rounds */
	struct result runs[16];
};

static void run_round(struct testdef *td, unsigned int round, unsigned int *id)
{
	struct result *r = &td->runs[td->nruns];

	if (td->done)
		return;
	printf("  %-15s %5u B  %-10s %-5s ", td->tr->name, td->len,
	       td->kind == K_LAT ? "round-trip" : "one-way",
	       td->sleep_mode ? "sleep" : "spin");
	if (opt.reps > 1)
		printf("[%u] ", round + 1);
	printf("... ");
	fflush(stdout);
	run_once(td->tr, td->kind, td->len, td->sleep_mode, ++*id, r);
	if (!r->skipped)
		putchar('\n');
	td->nruns++;
	if (!r->ok)
		td->done = true;
}

static void keep_median(struct testdef *td)
{
	struct result *last = &td->runs[td->nruns - 1];

	if (!last->ok) {
		add_result(last);
		return;
	}
	qsort(td->runs, td->nruns, sizeof(td->runs[0]), cmp_result);
	add_result(&td->runs[td->nruns / 2]);
}

static const struct result *find_result(const struct transport *tr,
				       const struct result *r)
{
	for (size_t i = 0; i < n_results; i++) {
		const struct result *v = &results[i];

		if (v->tr == tr && v->kind == r->kind && v->len == r->len &&
		    v->sleep_mode == r->sleep_mode)
			return v->ok ? v : NULL;
	}
	return NULL;
}

/*
 * The vactor figure a result is compared with: in throughput, batches sent
 * as batches (vactor-batch) when that ran, as the peers send theirs.
 */
static const struct result *find_vactor(const struct result *r)
{
	const struct result *v = NULL;

	if (r->kind == K_TPUT)
		v = find_result(&transports[1], r);
	return v ? v : find_result(&transports[0], r);
}

static void print_tables(void)
{
	bool capped = false;
	char spin[32];

	if (opt.spin_ns)
		snprintf(spin, sizeof(spin), "%ld us", opt.spin_ns / 1000);
	else
		snprintf(spin, sizeof(spin), "none");

	for (int kind = K_LAT; kind <= K_TPUT; kind++) {
		bool any = false;

		for (size_t i = 0; i < n_results; i++)
			any |= results[i].kind == (enum kind)kind;
		if (!any)
			continue;
		if (kind == K_LAT) {
			printf("\nRound trip latency: %lu round trips after %lu warm-up, "
			       "spin budget %s\n", opt.rt, opt.rt_warm, spin);
			printf("(vs vactor = peer / vactor: above 1 means vactor is faster)\n\n");
			printf("%-15s %5s %-5s %-28s %9s %9s %9s %9s %8s %8s\n",
			       "transport", "size", "mode", "waiting", "p50 us", "p99 us",
			       "mean us", "block%s/r", "vs p50", "vs p99");
		} else {
			printf("\nOne-way throughput: batches of %u, window %u, spin budget %s\n",
			       opt.batch, opt.window, spin);
			printf("(vs vactor = vactor-batch / peer, or vactor / peer without\n"
			       "vactor-batch: above 1 means vactor is faster)\n\n");
			printf("%-15s %5s %-5s %-28s %12s %9s %9s %8s\n",
			       "transport", "size", "mode", "waiting", "msgs/s", "MB/s",
			       "block%s/r", "vs msgs");
		}
		for (size_t i = 0; i < n_results; i++) {
			const struct result *r = &results[i];
			const struct result *v = find_vactor(r);
			const char *wait = r->sleep_mode ? r->tr->wait_sleep : r->tr->wait_spin;

			if (r->kind != (enum kind)kind)
				continue;
			printf("%-15s %5u %-5s %-28s ", r->tr->name, r->len, mode_name(r), wait);
			if (r->skipped) {
				printf("skipped: %s\n", r->why);
				continue;
			}
			if (!r->ok) {
				printf("FAILED: %s\n", r->why);
				continue;
			}
			if (kind == K_LAT) {
				printf("%9.2f %9.2f %9.2f %4.0f/%-4.0f ", r->p50, r->p99, r->mean,
				       100 * r->blocked[0], 100 * r->blocked[1]);
				if (v && v != r)
					printf("%8.2f %8.2f", r->p50 / v->p50, r->p99 / v->p99);
				else
					printf("%8s %8s", "-", "-");
			} else {
				printf("%12.0f %9.1f %4.0f/%-4.0f ", r->mps, r->mbps,
				       100 * r->blocked[0], 100 * r->blocked[1]);
				if (v && v != r)
					printf("%8.2f", v->mps / r->mps);
				else
					printf("%8s", "-");
			}
			if (r->n < r->planned) {
				printf("  * %" PRIu64 " of %" PRIu64, r->n, r->planned);
				capped = true;
			}
			putchar('\n');
		}
	}
	if (capped)
		printf("\n*: stopped at the time cap (-X %u s) after that many "
		       "round trips or messages.\n", opt.cap_s);
	printf("\nblock%%s/r: of the waits of the sender (s; in a round trip the side "
	       "that starts it)\nand of the receiver (r), the share that gave up "
	       "spinning and blocked in the kernel.\n");
}

/*
 * The module's own spin in a waiting ENTER (wait_spin_us): with it, vactor's
 * "sleep" rows spin in the kernel first, which the figures should say.
 */
static void print_wait_spin(void)
{
	FILE *f = fopen("/sys/module/vactor/parameters/wait_spin_us", "r");
	unsigned int us;

	if (!f)
		return;
	if (fscanf(f, "%u", &us) == 1)
		printf("vactor_bench: vactor.ko wait_spin_us %u: a waiting ENTER spins "
		       "up to %u us before it sleeps\n", us, us);
	fclose(f);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vactor_bench [options]\n"
"  -r N    round trips per latency test (default %lu)\n"
"  -w N    warm-up round trips (default %lu)\n"
"  -m N    one-way messages of the small size (default %lu)\n"
"  -k N    one-way messages of the large size (default %lu)\n"
"  -S B,L  the two message sizes in bytes (default %u,%u; %u..%u)\n"
"  -b N    messages per submit in the one-way tests (default %u)\n"
"  -W N    messages in flight at most: rings, credits (default %u)\n"
"  -s US   spin budget in microseconds before sleeping (default %ld; 0: none)\n"
"  -c A,B  CPUs of the two sides (default %d,%d)\n"
"  -t LIST transports, comma separated (default all):\n"
"          vactor,vactor-batch,pipe,unix-stream,unix-seqpacket,eventfd-shm,io_uring,shm-spin\n"
"  -T LIST tests: lat,tput,sleep-lat,sleep-tput (default lat,tput,sleep-lat)\n"
"  -x S    per-run time limit in seconds: past it the run fails (default %u)\n"
"  -X S    per-run time cap: past it the sender stops early, once it has sent\n"
"          a tenth (one-way) or 1000 round trips (default %u; 0: none)\n"
"  -R N    rounds (at most 16): each runs every test once, and every test\n"
"          keeps its median run (default %u)\n"
"  -K CLK  clock for latencies and spin budgets: auto, mono, tsc (default auto:\n"
"          CLOCK_MONOTONIC unless a read costs over 300 ns, then the TSC)\n"
"  -q      quick: a tenth of every count\n",
		opt.rt, opt.rt_warm, opt.n_small, opt.n_large, opt.small, opt.large,
		MSG_MIN, MSG_MAX, opt.batch, opt.window, opt.spin_ns / 1000,
		opt.cpu[0], opt.cpu[1], opt.timeout_s, opt.cap_s, opt.reps);
}

static unsigned long num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end) {
		fprintf(stderr, "vactor_bench: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void pair(const char *s, unsigned long *a, unsigned long *b)
{
	char buf[64], *comma;

	snprintf(buf, sizeof(buf), "%s", s);
	comma = strchr(buf, ',');
	if (!comma) {
		fprintf(stderr, "vactor_bench: expected A,B, got '%s'\n", s);
		exit(2);
	}
	*comma = 0;
	*a = num(buf);
	*b = num(comma + 1);
}

int main(int argc, char **argv)
{
	unsigned long a, b;
	struct utsname u;
	unsigned int id = 0;
	size_t failures = 0, n_tests = 0;
	struct testdef *tests = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "r:w:m:k:S:b:W:s:c:t:T:x:X:R:K:qh")) != -1) {
		switch (ch) {
		case 'r':
			opt.rt = num(optarg);
			break;
		case 'w':
			opt.rt_warm = num(optarg);
			break;
		case 'm':
			opt.n_small = num(optarg);
			break;
		case 'k':
			opt.n_large = num(optarg);
			break;
		case 'S':
			pair(optarg, &a, &b);
			opt.small = (uint32_t)a;
			opt.large = (uint32_t)b;
			break;
		case 'b':
			opt.batch = (unsigned int)num(optarg);
			break;
		case 'W':
			opt.window = (unsigned int)num(optarg);
			break;
		case 's':
			opt.spin_ns = (long)num(optarg) * 1000;
			break;
		case 'c':
			pair(optarg, &a, &b);
			opt.cpu[0] = (int)a;
			opt.cpu[1] = (int)b;
			break;
		case 't':
			opt.only = optarg;
			break;
		case 'T':
			opt.lat = has_word(optarg, "lat");
			opt.tput = has_word(optarg, "tput");
			opt.sleep_lat = has_word(optarg, "sleep-lat");
			opt.sleep_tput = has_word(optarg, "sleep-tput");
			break;
		case 'x':
			opt.timeout_s = (unsigned int)num(optarg);
			break;
		case 'X':
			opt.cap_s = (unsigned int)num(optarg);
			break;
		case 'R':
			opt.reps = (unsigned int)num(optarg);
			break;
		case 'K':
			opt.clock = optarg;
			break;
		case 'q':
			opt.rt = opt.rt / 10 ? opt.rt / 10 : 1;
			opt.rt_warm /= 10;
			opt.n_small = opt.n_small / 10 ? opt.n_small / 10 : 1;
			opt.n_large = opt.n_large / 10 ? opt.n_large / 10 : 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !opt.rt || !opt.batch || opt.batch > 1024 ||
	    !opt.reps || opt.reps > 16 ||
	    (strcmp(opt.clock, "auto") && strcmp(opt.clock, "mono") &&
	     strcmp(opt.clock, "tsc")) ||
	    opt.window < 2 * opt.batch || opt.window > 8192 ||
	    opt.small < MSG_MIN || opt.large < MSG_MIN ||
	    opt.small > MSG_MAX || opt.large > MSG_MAX) {
		usage(stderr);
		return 2;
	}

	uname(&u);
	clock_choose();
	printf("vactor_bench: %s %s, %ld CPUs online, sides on CPUs %d and %d\n",
	       u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN), opt.cpu[0], opt.cpu[1]);
	{
		char cs[64] = "?";
		FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/"
				"current_clocksource", "r");

		if (f) {
			if (fgets(cs, sizeof(cs), f))
				cs[strcspn(cs, "\n")] = 0;
			fclose(f);
		}
		printf("vactor_bench: clocksource %s, CLOCK_MONOTONIC read %.0f ns; "
		       "timing with %s", cs, clk.mono_cost_ns,
		       clk.tsc ? "the TSC" : "CLOCK_MONOTONIC");
		if (clk.tsc)
			printf(" (%.4f ns/tick, calibrated)", clk.ns_per_tick);
		printf("\n");
		if (clk.mono_cost_ns > 300)
			printf("vactor_bench: note: clocksource %s makes every clock read "
			       "slow, in the kernel too (a VM can boot with tsc=reliable)\n",
			       cs);
	}
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 || opt.cpu[0] == opt.cpu[1])
		printf("vactor_bench: warning: both sides share a CPU; spinning "
		       "transports will look slow\n");
	print_wait_spin();
	printf("vactor_bench: spin budget %ld us, batch %u, window %u, %u round(s), "
	       "time cap %u s per run\n\n", opt.spin_ns / 1000, opt.batch, opt.window,
	       opt.reps, opt.cap_s);

	for (int kind = K_LAT; kind <= K_TPUT; kind++) {
		for (int sleep_mode = 0; sleep_mode < 2; sleep_mode++) {
			bool want = kind == K_LAT ? (sleep_mode ? opt.sleep_lat : opt.lat)
						  : (sleep_mode ? opt.sleep_tput : opt.tput);

			if (!want)
				continue;
			for (int sz = 0; sz < 2; sz++) {
				for (size_t t = 0; t < N_TRANSPORTS; t++) {
					struct testdef *td;

					if (!selected(transports[t].name) ||
					    (sleep_mode && transports[t].spin_only) ||
					    (kind == K_LAT && transports[t].tput_only))
						continue;
					tests = realloc(tests, (n_tests + 1) * sizeof(*tests));
					if (!tests) {
						perror("realloc");
						return 2;
					}
					td = &tests[n_tests++];
					memset(td, 0, sizeof(*td));
					td->tr = &transports[t];
					td->kind = (enum kind)kind;
					td->len = sz ? opt.large : opt.small;
					td->sleep_mode = sleep_mode;
				}
			}
		}
	}
	for (unsigned int round = 0; round < opt.reps; round++) {
		if (opt.reps > 1)
			printf("round %u of %u\n", round + 1, opt.reps);
		for (size_t i = 0; i < n_tests; i++)
			run_round(&tests[i], round, &id);
	}
	for (size_t i = 0; i < n_tests; i++)
		keep_median(&tests[i]);
	free(tests);
	print_tables();
	for (size_t i = 0; i < n_results; i++)
		failures += !results[i].ok && !results[i].skipped;
	printf("\nvactor_bench: %zu test(s), %zu failed\n", n_results, failures);
	return failures ? 1 : 0;
}
