// SPDX-License-Identifier: GPL-2.0
/*
 * vactor_fuzz: a seeded, multi-process fuzzer for /dev/vactor.
 *
 *   vactor_fuzz [-s seed] [-n total_ops] [-p procs] [-t seconds]
 *               [-k kills_per_100k] [-r 0|1] [-m 0|1] [-v]
 *
 * A parent supervises -p worker processes (default 4) that share -n
 * operations (default 1,000,000).  It SIGKILLs workers at random points,
 * driven by their progress reports on a pipe, and respawns them; a killed
 * worker's actors stay behind dormant for the others and its successor to
 * HOST.  Each worker mixes:
 *
 *   - chaos: random and half-valid SQEs through the SQ ring (batches, random
 *     ENTER arguments) and through VACTOR_IOC_CALL, SEND_BATCH with valid and
 *     malformed messages in the send area, ring indices overwritten
 *     and restored, stale SQEs replayed, mmap/mprotect/munmap with random
 *     offsets, sizes, protections and flags, ioctls before setup, twice, and
 *     unknown ones, ports closed and reopened mid-operation, HOST of dormant
 *     actors, DESTROY, LOOKUP, /proc reads;
 *   - a racer thread on a port of its own that also pokes the main thread's
 *     ports (CALL, ENTER, poll, epoll, mmap) while they change;
 *   - structured traffic: sequence-numbered messages between the worker's
 *     actors on two libvact ports (and to other workers' inboxes), with
 *     ports closed and reopened and actors destroyed under load, one SEND
 *     or a SEND_BATCH of several at a time.  Receivers check per-pair
 *     order, no duplicates and the payload bytes; an audit checks that every
 *     message sent was received or reported to its sender (EAGAIN, ENOENT,
 *     EV_UNDELIVERED), and a batch's messages past its completion's len
 *     never arrive.
 *
 * Every result is checked against Documentation/uapi.rst: an errno the uapi
 * does not document for that call, a success where it documents a failure,
 * a missing or extra completion, a malformed CQE is a failure, printed with
 * the call that produced it.  Output is KTAP with one test case.  See
 * Documentation/fuzzing.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "vact.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define PAGE		4096u
#define MAXPROCS	32
#define DEF_OPS		1000000ULL
#define DEF_PROCS	4
#define HEARTBEAT_OPS	1024
#define MAILBOX_PARAM	"/sys/module/vactor/parameters/mailbox_max"

#ifndef VACTOR_SQE_F_PUBLIC
#define VACTOR_SQE_F_PUBLIC	0
#endif

/* ---- random numbers: splitmix64, one state per thread ---- */

static __thread u64 rng_state;

static u64 mix64(u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 r64(void)
{
	rng_state += 0x9e3779b97f4a7c15ULL;
	return mix64(rng_state);
}

/* Uniform in [0, n). */
static u32 rn(u32 n)
{
	return n ? (u32)(((r64() >> 32) * (u64)n) >> 32) : 0;
}

/* True with probability permille / 1000. */
static bool pm(u32 permille)
{
	return rn(1000) < permille;
}

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* ---- ring index access ---- */

static u32 ld_acq(const u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st_rel(u32 *p, u32 v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static u32 roundup_pow2(u32 v)
{
	u32 r = 1;

	while (r < v && r)
		r <<= 1;
	return r;
}

/* ---- payloads: bytes derived from the tag, cheap to check ---- */

/* Tags whose top half is one of these carry a checkable payload. */
#define CMAGIC	0xc4a05fa2U	/* chaos messages */
#define SMAGIC	0x5e9fa11dU	/* structured, between a worker's own actors */
#define XMAGIC	0x7c055e9dU	/* structured, to another worker's inbox */
#define BMAGIC	0xba7c4ed5U	/* chaos SEND_BATCH messages (bpat payload) */
#define NMAGIC	0x9e7e2b5dU	/* a batch's message that must never arrive */

static bool tag_magic(u64 tag)
{
	u32 hi = (u32)(tag >> 32);

	return hi == CMAGIC || hi == SMAGIC || hi == XMAGIC || hi == BMAGIC ||
	       hi == NMAGIC;
}

/* A random tag that is not mistaken for a checkable one. */
static u64 tag_random(void)
{
	u64 t = r64();

	return tag_magic(t) ? t ^ (1ULL << 40) : t;
}

static void pat_fill(u8 *b, u32 len, u64 tag)
{
	u8 s = (u8)mix64(tag);
	u32 i;

	for (i = 0; i < len; i++)
		b[i] = (u8)(s + i * 7 + (i >> 8));
	if (len >= sizeof(tag))
		memcpy(b, &tag, sizeof(tag));
}

static bool pat_ok(const u8 *b, u32 len, u64 tag)
{
	u8 s = (u8)mix64(tag);
	u32 i = 0;

	if (len >= sizeof(tag)) {
		if (memcmp(b, &tag, sizeof(tag)))
			return false;
		i = sizeof(tag);
	}
	for (; i < len; i++)
		if (b[i] != (u8)(s + i * 7 + (i >> 8)))
			return false;
	return true;
}

/*
 * Batch payloads don't start with their tag: a header read at the wrong
 * place in the send area must not find a checkable tag there.
 */
static void bpat_fill(u8 *b, u32 len, u64 tag)
{
	u64 k = mix64(tag ^ 0xba7c);
	u32 i;

	for (i = 0; i < len; i++)
		b[i] = (u8)((k >> (8 * (i & 7))) + i * 13 + (i >> 8));
}

static bool bpat_ok(const u8 *b, u32 len, u64 tag)
{
	u64 k = mix64(tag ^ 0xba7c);
	u32 i;

	for (i = 0; i < len; i++)
		if (b[i] != (u8)((k >> (8 * (i & 7))) + i * 13 + (i >> 8)))
			return false;
	return true;
}

/* ---- errno sets: a bit per errno the uapi names ---- */

enum {
	X_NONE, X_EPERM, X_ENOENT, X_EINTR, X_EBADF, X_EAGAIN, X_ENOMEM,
	X_EACCES, X_EFAULT, X_EBUSY, X_EEXIST, X_EINVAL, X_ENOTTY,
	X_ENAMETOOLONG, X_ETIME, X_EMSGSIZE, X_EBADFD, X_EDQUOT, X_OTHER,
	X_NR
};

static const int x_errno[X_NR] = {
	0, EPERM, ENOENT, EINTR, EBADF, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY,
	EEXIST, EINVAL, ENOTTY, ENAMETOOLONG, ETIME, EMSGSIZE, EBADFD, EDQUOT,
	-1,
};

#define B(x)	(1u << X_##x)

static int xbit(int err)
{
	int i;

	for (i = 0; i < X_OTHER; i++)
		if (x_errno[i] == err)
			return i;
	return X_OTHER;
}

static const char *ename(int err)
{
	const char *s;

	if (!err)
		return "success";
	s = strerrorname_np(err);
	return s ? s : "E?";
}

static char *mask_str(u32 m, char *buf, size_t n)
{
	size_t o = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < X_OTHER && o < n; i++)
		if (m & (1u << i))
			o += snprintf(buf + o, n - o, "%s%s", o ? "," : "",
				      ename(x_errno[i]));
	return buf;
}

/*
 * A result against the uapi: with a documented failure condition present
 * (must), the call has to fail with one of must|may; otherwise it may
 * succeed or fail with one of may.
 */
static bool res_ok(u32 must, u32 may, int err)
{
	u32 b = 1u << xbit(err);

	if (must)
		return err && (b & (must | may));
	return !err || (b & may);
}

/* ---- state shared by all processes ---- */

#define PUB_N		256
#define SIDS_N		8

struct pub {
	_Atomic u64 id;
	_Atomic u32 nlen;
	char name[VACTOR_NAME_MAX];
};

enum {
	ST_SQE, ST_CALL, ST_ENTER, ST_REAPED, ST_MSG_OK, ST_SMSG, ST_XMSG,
	ST_AUDIT, ST_REOPEN, ST_SREOPEN, ST_RECYCLE, ST_MMAP, ST_ADOPT,
	ST_EAGAIN, ST_UNDELIV, ST_REDELIV, ST_STOLEN, ST_CORRUPT, ST_REPLAY,
	ST_SETUP, ST_RACER, ST_PROC, ST_STEAL, ST_BATCH, ST_BMSG, ST_BBAD,
	ST_NR
};

static const char *const st_name[ST_NR] = {
	"sqes", "calls", "enters", "cqes", "payloads_checked", "smsgs",
	"xmsgs", "audits", "port_reopens", "sport_reopens", "actor_recycles",
	"mmaps", "hosted_dormant", "eagain", "undelivered", "redelivered",
	"stolen", "index_corruptions", "sqe_replays", "setups", "racer_ops",
	"proc_reads", "steal_handoffs", "batches", "batch_msgs",
	"batches_malformed",
};

struct slot {
	_Atomic u64 ops;
	u64 budget;
	_Atomic u32 fails;
	_Atomic u32 gen;
	_Atomic int pid;
	_Atomic u64 inbox;		/* structured inbox, for other workers */
	_Atomic u32 pub_pos;
	struct pub pub[PUB_N];		/* actors created or hosted, any state */
	_Atomic u64 sids[SIDS_N];	/* structured actors, for the successor */
	_Atomic u64 st[ST_NR];
};

struct shm {
	u64 seed;
	u32 nprocs;
	_Atomic int stop;
	_Atomic u64 max_id;
	_Atomic u32 printed;
	_Atomic u32 parent_fails;
	_Atomic u64 kills, respawns, mailbox_changes;
	_Atomic u32 sig_count[1024];	/* failures per kind, all processes */
	struct slot slot[MAXPROCS];
};

static struct shm *shm;

/* Parts that -x can leave out (to bisect, or to fuzz around a known bug). */
enum {
	F_RACER, F_KILL, F_MMAP, F_CORRUPT, F_CLOSE, F_HOST, F_STRUCT,
	F_BADPTR, F_SETUP, F_PROC, F_MAILBOX, F_BIG, F_NR
};

static const char *const feat_name[F_NR] = {
	"racer", "kill", "mmap", "corrupt", "close", "host", "structured",
	"badptr", "setup", "proc", "mailbox", "big",
};

static u32 feat_off;

static bool on(int f)
{
	return !(feat_off & (1u << f));
}

/* This process: worker slot (-1 in the parent), generation, seed. */
static int me = -1;
static u32 my_gen;
static u64 my_seed;
static bool verbose;

static struct slot *my_slot(void)
{
	return &shm->slot[me];
}

static void stat_add(int st, u64 n)
{
	if (me >= 0)
		atomic_fetch_add_explicit(&my_slot()->st[st], n,
					  memory_order_relaxed);
}

/* ---- output: whole lines with one write(), so processes don't mix ---- */

static void out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDOUT_FILENO, buf, n) < 0)
		return;
}

#define PRINT_MAX	300	/* failure lines in all, the rest are counted */
#define SIG_SLOTS	1024

static __thread const char *thread_tag = "main";

/*
 * A failure.  @sig groups failures of one kind (the format string and an
 * errno): the first three of each kind are printed, all are counted.
 */
static void failf(u64 sig, const char *fmt, ...)
{
	char buf[900];
	va_list ap;
	u32 n, k;

	if (me >= 0)
		atomic_fetch_add(&my_slot()->fails, 1);
	else
		atomic_fetch_add(&shm->parent_fails, 1);
	k = atomic_fetch_add(&shm->sig_count[mix64(sig) % SIG_SLOTS], 1);
	if (k >= 3)
		return;
	n = atomic_fetch_add(&shm->printed, 1);
	if (n >= PRINT_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out("# FAIL w%d.%u/%s (seed %#" PRIx64 "): %s", me, my_gen,
	    thread_tag, my_seed, buf);
}

#define FAIL(err, ...)	failf((u64)(uintptr_t)__FILE__ + __LINE__ * 1000003ULL + \
			      (u64)(err), __VA_ARGS__)

static char *sqe_str(const struct vactor_sqe *s, char *b, size_t n)
{
	snprintf(b, n,
		 "{opcode=%u flags=%#x resv0=%#x len=%u actor=%" PRIu64
		 " target=%" PRIu64 " user_data=%#" PRIx64 " tag=%#" PRIx64
		 " buf_off=%u type=%u resv1={%#" PRIx64 ",%#" PRIx64
		 "} data=%02x%02x%02x%02x%02x%02x%02x%02x..}",
		 s->opcode, s->flags, s->resv0, s->len, (u64)s->actor,
		 (u64)s->target, (u64)s->user_data, (u64)s->tag, s->buf_off,
		 s->type, (u64)s->resv1[0], (u64)s->resv1[1], s->data[0],
		 s->data[1], s->data[2], s->data[3], s->data[4], s->data[5],
		 s->data[6], s->data[7]);
	return b;
}

static char *cqe_str(const struct vactor_cqe *c, char *b, size_t n)
{
	snprintf(b, n,
		 "{event=%u opcode=%u flags=%#x res=%d len=%u buf_off=%u actor=%"
		 PRIu64 " source=%" PRIu64 " user_data=%#" PRIx64 " tag=%#"
		 PRIx64 " ts_ns=%" PRIu64 " resv=%#" PRIx64 "}",
		 c->event, c->opcode, c->flags, c->res, c->len, c->buf_off,
		 (u64)c->actor, (u64)c->source, (u64)c->user_data, (u64)c->tag,
		 (u64)c->ts_ns, (u64)c->resv);
	return b;
}

/* ---- ops accounting and progress reports to the parent ---- */

static int hb_fd = -1;

static void add_ops(u64 n)
{
	u64 before;

	if (me < 0)
		return;
	before = atomic_fetch_add_explicit(&my_slot()->ops, n,
					   memory_order_relaxed);
	if ((before + n) / HEARTBEAT_OPS != before / HEARTBEAT_OPS &&
	    hb_fd >= 0) {
		char c = 'h';

		/* Non-blocking: a busy parent only delays kills. */
		if (write(hb_fd, &c, 1) < 0)
			return;
	}
}

static bool budget_done(void)
{
	struct slot *s = my_slot();

	return atomic_load(&s->ops) >= s->budget || atomic_load(&shm->stop);
}

/* ---- shared actor ids ---- */

static void max_id_note(u64 id)
{
	u64 cur = atomic_load(&shm->max_id);

	while (id > cur && id < (1ULL << 40) &&
	       !atomic_compare_exchange_weak(&shm->max_id, &cur, id))
		;
}

static void pub_add(u64 id, const char *name, u32 nlen)
{
	struct slot *s = my_slot();
	u32 i = atomic_fetch_add(&s->pub_pos, 1) % PUB_N;

	atomic_store(&s->pub[i].nlen, 0);
	if (nlen && nlen < VACTOR_NAME_MAX)
		memcpy(s->pub[i].name, name, nlen);
	atomic_store(&s->pub[i].nlen, nlen < VACTOR_NAME_MAX ? nlen : 0);
	atomic_store(&s->pub[i].id, id);
}

/* An actor id some process published (any state), or 0. */
static u64 pub_pick(int slot_hint)
{
	int s = slot_hint >= 0 ? slot_hint : (int)rn(shm->nprocs);

	return atomic_load(&shm->slot[s].pub[rn(PUB_N)].id);
}

/* A published name (possibly torn by a concurrent writer: still a name). */
static u32 pub_name(u8 *data)
{
	struct slot *s = &shm->slot[rn(shm->nprocs)];
	struct pub *p = &s->pub[rn(PUB_N)];
	u32 n = atomic_load(&p->nlen);

	if (!n || n >= VACTOR_NAME_MAX)
		return 0;
	memcpy(data, p->name, n);
	return n;
}

/* =====================================================================
 * Chaos ports: raw rings with a model of what the kernel must do.
 * ===================================================================== */

#define NCPORT		4
#define OWN_MAX		96
#define OWN_SOFT	40
#define EVER_N		2048
#define XMAP_MAX	6

enum { P_CLOSED, P_OPEN, P_READY, P_ZOMBIE };

/* What the uapi says about one SQE. */
struct sq_meta {
	u32 must, may;
	bool quiet;		/* a successful SEND without ACK posts nothing */
	u32 nlen;		/* CREATE: the name taken, if valid */
	char name[VACTOR_NAME_MAX];
	/* SEND_BATCH */
	bool bsqe;		/* its own fields fail it: nothing is sent */
	bool bflag;		/* a flag of another operation: EINVAL, maybe */
	bool bknown;		/* we wrote its messages: nmsg valid, then bad */
	u16 nmsg;
	u32 bad;		/* errnos of the malformed message (0: none) */
	u32 woff, wlen;		/* what we wrote into the send area, to scrub */
};

struct expect {
	struct vactor_sqe sqe;
	struct sq_meta m;
};

struct own {
	u64 id;
	u32 nlen;
	char name[VACTOR_NAME_MAX];
};

struct cport {
	int idx;
	_Atomic int fd;
	_Atomic u32 seq;	/* odd while the main thread changes the port */
	int state;
	int oflags;
	bool rdonly;		/* opened O_RDONLY: CALL only */
	bool big;		/* a large setup: close soon */
	struct vactor_params par;

	void *sq_ring, *cq_ring, *send;
	const void *recv;
	u32 *sq_head, *sq_tail, *cq_head, *cq_tail, *sq_flags, *cq_flags;
	struct vactor_sqe *sqes;
	struct vactor_cqe *cqes;
	u32 sq_n, cq_n;
	u32 sqt;		/* SQEs written */
	u32 pub;		/* tail we published */
	u32 khead;		/* SQEs the kernel consumed */
	u32 cqh;		/* our CQ head */
	u32 stale;		/* SQEs before it may be replays (cp_corrupt_sq) */
	u32 send_used;
	bool cq_bad;		/* CQ head outside the window right now */
	bool cq_odd;		/* CQ head not ours right now (any corruption) */

	struct vactor_sqe *shadow;	/* what each SQ slot holds */
	struct sq_meta *meta;
	struct expect *fifo;		/* consumed, completion not yet seen */
	u32 ff_head, ff_tail, ff_cap;

	struct own own[OWN_MAX];
	_Atomic int nown;
	u64 ever[EVER_N];		/* every actor hosted here, for CQE checks */
	int never;
	bool ever_full;

	struct {
		void *a;
		size_t len;
	} x[XMAP_MAX];
	int nx;
};

struct sstate;

struct worker {
	struct cport cp[NCPORT];
	struct cport rp;		/* the racer's own port */
	int epfd;
	pthread_t racer;
	bool racer_on;
	_Atomic int racer_stop;
	/*
	 * Steal handshake: before closing a port the main thread hands its
	 * actor ids to the racer, which HOSTs them while the close detaches
	 * them (a close racing a HOST on another port).
	 */
	_Atomic u64 steal_ids[8];
	_Atomic int steal_n;
	_Atomic int steal_req, steal_ack;
	struct sstate *s;
};

static struct worker *wk;

static __thread u64 ud_next, tag_next, name_next;
static struct sstate *S;

static u64 new_ud(void)
{
	return ((u64)(me + 1) << 56) | (++ud_next & ((1ULL << 48) - 1));
}

static char *port_str(const struct cport *p, char *b, size_t n)
{
	snprintf(b, n, "port[%d] id %u (sq %u cq %u send %u recv %u%s)",
		 p->idx, p->par.port_id, p->par.sq_entries, p->par.cq_entries,
		 p->par.send_size, p->par.recv_size, p->rdonly ? " O_RDONLY" : "");
	return b;
}

/* ---- the port's actor model ---- */

static bool ever_has(const struct cport *p, u64 id)
{
	u32 i = (u32)mix64(id) % EVER_N;
	int n;

	for (n = 0; n < EVER_N && p->ever[i]; n++, i = (i + 1) % EVER_N)
		if (p->ever[i] == id)
			return true;
	return false;
}

static void ever_add(struct cport *p, u64 id)
{
	u32 i = (u32)mix64(id) % EVER_N;

	if (!id || ever_has(p, id))
		return;
	if (p->never >= EVER_N * 3 / 4) {
		p->ever_full = true;
		return;
	}
	while (p->ever[i])
		i = (i + 1) % EVER_N;
	p->ever[i] = id;
	p->never++;
}

static int own_find(const struct cport *p, u64 id)
{
	int i, n = atomic_load(&p->nown);

	for (i = 0; i < n; i++)
		if (p->own[i].id == id)
			return i;
	return -1;
}

static void own_add(struct cport *p, u64 id, const char *name, u32 nlen)
{
	int n = atomic_load(&p->nown);

	ever_add(p, id);
	max_id_note(id);
	pub_add(id, name, nlen);
	if (own_find(p, id) >= 0 || n >= OWN_MAX)
		return;
	p->own[n].nlen = nlen < VACTOR_NAME_MAX ? nlen : 0;
	memcpy(p->own[n].name, name, p->own[n].nlen);
	__atomic_store_n(&p->own[n].id, id, __ATOMIC_RELAXED);
	atomic_store(&p->nown, n + 1);
}

static void own_del(struct cport *p, u64 id)
{
	int i = own_find(p, id), n = atomic_load(&p->nown);

	if (i < 0)
		return;
	atomic_store(&p->nown, n - 1);
	p->own[i] = p->own[n - 1];
}

/* A random actor this port hosts, or 0. */
static u64 own_pick(const struct cport *p)
{
	int n = atomic_load(&p->nown);

	return n ? __atomic_load_n(&p->own[rn(n)].id, __ATOMIC_RELAXED) : 0;
}

/* ---- structured state, declared here for the chaos side's queries ---- */

#define S_PORTS		2
#define S_ACTORS	4
#define S_PAIRS		64	/* between our own actors: audited */
#define S_IDS		64
#define XRX_N		1024

struct spair {
	u64 from, to;
	u32 next_seq, last_rx;
	u64 sent, rx, eagain, enoent, undeliv;
	bool used, to_dead, lost;
};

#define SB_N		128	/* structured batches in flight */
#define SB_MSGS		16
#define SX_N		4096	/* batch messages never sent, until the audit */

/* A SEND_BATCH in flight, until its completion or its SQE is consumed. */
struct sbatch {
	u64 ud, from;
	int port;
	u32 sq_idx;		/* its SQE's index in the SQ */
	u32 n;
	bool used;
	struct {
		u64 to;
		int pair;	/* -1: another worker's inbox */
		u32 seq;
	} msg[SB_MSGS];
};


struct sstate {
	struct vact_port port[S_PORTS];
	bool open[S_PORTS];
	int stall[S_PORTS];
	struct {
		u64 id;
		int port;
		bool lost;
		u32 xseq;	/* to other workers: one sequence per actor */
	} a[S_ACTORS];
	u64 ids[S_IDS];			/* every structured actor of this worker */
	int nids;
	struct spair pair[S_PAIRS];
	struct {
		u64 src, dst;
		u32 last;
	} xrx[XRX_N];
	u64 since_audit;
	struct sbatch sb[SB_N];
	u32 sb_seq;
	u64 unsent[SX_N];		/* pair << 32 | seq, plus one */
	u32 nunsent;
	u8 buf[VACTOR_MSG_MAX];
};

/* A live actor of this worker (chaos or structured), main thread's view. */
static bool ours_alive(u64 id)
{
	int i;

	for (i = 0; i < NCPORT; i++)
		if (wk->cp[i].state == P_READY && own_find(&wk->cp[i], id) >= 0)
			return true;
	for (i = 0; wk->s && i < S_ACTORS; i++)
		if (wk->s->a[i].id == id && !wk->s->a[i].lost)
			return true;
	return false;
}

/*
 * A live structured actor of this worker.  Chaos must not HOST one: a
 * HOST that takes it while s_reopen() has it dormant, reaps its
 * redelivered messages and closes is invisible to s_reopen() (its own
 * HOST then succeeds), and the audit would count those messages as lost.
 */
static bool s_protected(u64 id)
{
	int i;

	for (i = 0; wk->s && i < S_ACTORS; i++)
		if (wk->s->a[i].id == id && !wk->s->a[i].lost)
			return true;
	return false;
}

/* ---- the uapi's rules for one SQE (Documentation/uapi.rst) ---- */

static bool name_has_ctl(const u8 *d, u32 len)
{
	u32 i;

	for (i = 0; i < len && i < VACTOR_INLINE_MAX; i++)
		if (d[i] < 0x20 || d[i] == 0x7f)
			return true;
	return false;
}

static void sqe_rules(const struct vactor_sqe *s, u32 send_size,
		      struct sq_meta *m)
{
	u32 known = 0, must = 0, may = 0;

	memset(m, 0, sizeof(*m));
	if (s->opcode >= VACTOR_OP_LAST) {
		m->must = B(EINVAL);
		return;
	}
	switch (s->opcode) {
	case VACTOR_OP_SEND:
		known = VACTOR_SQE_F_BUF | VACTOR_SQE_F_ACK;
		break;
	case VACTOR_OP_SEND_BATCH:
		known = VACTOR_SQE_F_ACK;
		break;
	case VACTOR_OP_CREATE:
		known = VACTOR_SQE_F_PUBLIC;
		break;
	}
	if (s->flags & ~VACTOR_SQE_F_ALL)
		must |= B(EINVAL);
	else if (s->flags & ~known)
		may |= B(EINVAL);	/* a flag of another operation */
	if (s->resv0 || s->resv1[0] || s->resv1[1])
		must |= B(EINVAL);

	switch (s->opcode) {
	case VACTOR_OP_CREATE:
		if (s->len >= VACTOR_NAME_MAX) {
			must |= B(ENAMETOOLONG);
			if (name_has_ctl(s->data, s->len))
				may |= B(EINVAL);
		} else if (name_has_ctl(s->data, s->len)) {
			must |= B(EINVAL);
		} else {
			m->nlen = s->len;
			memcpy(m->name, s->data, s->len);
		}
		if (s->len)
			may |= B(EEXIST);
		may |= B(EDQUOT);	/* max_actors_per_user */
		break;
	case VACTOR_OP_DESTROY:
		may |= B(EPERM);
		break;
	case VACTOR_OP_LOOKUP:
		if (!s->len)
			must |= B(EINVAL);
		else if (s->len >= VACTOR_NAME_MAX)
			must |= B(ENAMETOOLONG);
		else if (name_has_ctl(s->data, s->len))
			must |= B(EINVAL);
		may |= B(ENOENT);
		break;
	case VACTOR_OP_SEND:
		if (s->len > VACTOR_MSG_MAX)
			must |= B(EMSGSIZE);
		else if (!(s->flags & VACTOR_SQE_F_BUF) &&
			 s->len > VACTOR_INLINE_MAX)
			must |= B(EMSGSIZE);
		if ((s->flags & VACTOR_SQE_F_BUF) &&
		    (u64)s->buf_off + s->len > send_size)
			must |= B(EFAULT);
		/* EDQUOT: a message that waits counts against max_kmem_kb. */
		may |= B(EPERM) | B(ENOENT) | B(EAGAIN) | B(EDQUOT);
		m->quiet = !(s->flags & VACTOR_SQE_F_ACK);
		break;
	case VACTOR_OP_HOST:
		may |= B(ENOENT) | B(EBUSY) | B(EPERM);	/* EPERM: not the owner */
		break;
	case VACTOR_OP_SEND_BATCH:
		/* Target and tag are per message: the SQE's own must be 0. */
		if (s->target || s->tag || !s->len ||
		    s->buf_off % VACTOR_BATCH_ALIGN)
			must |= B(EINVAL);
		if ((u64)s->buf_off + s->len > send_size)
			must |= B(EFAULT);
		/*
		 * Each message fails as a SEND would; what the send area holds
		 * is unknown here (gen_sqe knows, batch_meta() says so):
		 * malformed messages, EINVAL, too long ones, EMSGSIZE.
		 */
		may |= B(EPERM) | B(ENOENT) | B(EAGAIN) | B(EDQUOT) |
		       B(EINVAL) | B(EMSGSIZE);
		m->quiet = !(s->flags & VACTOR_SQE_F_ACK);
		m->bsqe = !!must;
		m->bflag = !!(s->flags & ~VACTOR_SQE_F_ACK);
		break;
	}
	m->must = must;
	m->may = may;
}

/*
 * What the port's own state decides, for a CALL on a port with nothing in
 * flight: the acting actor is or is not hosted here, a target is alive.
 * Returns the id a LOOKUP must find, or 0.
 */
static u64 certain_rules(const struct cport *p, const struct vactor_sqe *s,
			 struct sq_meta *m, bool world)
{
	char name[VACTOR_NAME_MAX];
	u64 want = 0;
	int i, j;

	if (s->opcode >= VACTOR_OP_LAST || m->must || (m->may & B(EINVAL)))
		return 0;
	switch (s->opcode) {
	case VACTOR_OP_DESTROY:
		if (own_find(p, s->actor) >= 0)
			m->may &= ~B(EPERM);
		else
			m->must |= B(EPERM);
		break;
	case VACTOR_OP_SEND:
		if (own_find(p, s->actor) >= 0)
			m->may &= ~B(EPERM);
		else
			m->must |= B(EPERM);
		if (world && !m->must && ours_alive(s->target))
			m->may &= ~B(ENOENT);
		break;
	case VACTOR_OP_SEND_BATCH:
		/* Only with the messages known (batch_meta): else EINVAL may. */
		if (own_find(p, s->actor) >= 0) {
			m->may &= ~B(EPERM);
		} else {
			m->must |= B(EPERM);
			m->bsqe = true;
		}
		break;
	case VACTOR_OP_HOST:
		if (own_find(p, s->target) >= 0 ||
		    (world && ours_alive(s->target)))
			m->must |= B(EBUSY);
		break;
	case VACTOR_OP_CREATE:
	case VACTOR_OP_LOOKUP:
		if (!s->len || s->len >= VACTOR_NAME_MAX)
			break;
		memcpy(name, s->data, s->len);
		for (j = 0; j < NCPORT; j++) {
			const struct cport *q = world ? &wk->cp[j] : p;
			int n = atomic_load(&q->nown);

			if (q->state != P_READY)
				continue;
			for (i = 0; i < n; i++) {
				if (q->own[i].nlen != s->len ||
				    memcmp(q->own[i].name, name, s->len))
					continue;
				if (s->opcode == VACTOR_OP_CREATE) {
					m->must |= B(EEXIST);
				} else {
					m->may &= ~B(ENOENT);
					want = q->own[i].id;
				}
			}
			if (!world)
				break;
		}
		break;
	}
	return want;
}

/* ---- building random SQEs ---- */

static u32 gen_name(u8 *data, bool lookup)
{
	u32 r = rn(100), len, i;

	memset(data, 0, VACTOR_INLINE_MAX);
	if (r < (lookup ? 5 : 35))
		return 0;
	if (r < 60)
		return snprintf((char *)data, VACTOR_INLINE_MAX, "f%d.%u.%" PRIu64,
				me, my_gen, ++name_next);
	if (r < 80) {
		len = pub_name(data);
		if (len)
			return len;
		return snprintf((char *)data, VACTOR_INLINE_MAX, "f%d.%u", me,
				rn(64));
	}
	if (r < 88) {		/* random bytes: control characters too */
		len = 1 + rn(VACTOR_NAME_MAX - 1);
		for (i = 0; i < len; i++)
			data[i] = (u8)r64();
		return len;
	}
	if (r < 94) {		/* printable and high bytes */
		len = 1 + rn(VACTOR_NAME_MAX - 1);
		for (i = 0; i < len; i++) {
			data[i] = (u8)(0x20 + rn(0xdf));
			if (data[i] == 0x7f)
				data[i] = 'x';
		}
		return len;
	}
	for (i = 0; i < VACTOR_INLINE_MAX; i++)
		data[i] = (u8)('a' + rn(26));
	if (r < 98)
		return VACTOR_NAME_MAX + rn(200) - (r & 1);
	return (u32)r64();
}

/* Send-area space for a payload; UINT32_MAX when it doesn't fit. */
static u32 send_alloc(struct cport *p, u32 len)
{
	u32 start = (p->send_used + 63) & ~63u;

	if (!p->send || p->rdonly || start > p->par.send_size ||
	    len > p->par.send_size - start)
		return UINT32_MAX;
	p->send_used = start + len;
	return start;
}

static u64 pick_target(struct cport *p)
{
	u32 r = rn(100);
	u64 max;

	if (r < 35 && (max = own_pick(p)))
		return max;
	if (r < 50 && (max = own_pick(&wk->cp[rn(NCPORT)])))
		return max;
	if (r < 75 && (max = pub_pick(-1)))
		return max;
	if (r < 82 && wk->s)
		return wk->s->a[rn(S_ACTORS)].id;
	if (r < 88)
		return r64();
	if (r < 92)
		return 0;
	max = atomic_load(&shm->max_id);
	if (r < 96)
		return max + 1 + rn(8);	/* an id about to be created */
	return max ? 1 + rn((u32)max) : 1;
}


/* ---- SEND_BATCH: messages laid out in the send area ---- */

#define BHDR		((u32)sizeof(struct vactor_batch_msg))
#define BALIGN(x)	(((x) + VACTOR_BATCH_ALIGN - 1) & \
			 ~(u32)(VACTOR_BATCH_ALIGN - 1))
#define BMAX		64	/* messages in one chaos batch */

/* What gen_batch() wrote, for batch_meta(). */
struct bgen {
	u32 buf_off, len;	/* the SQE's, as generated */
	u32 woff, wlen;		/* the bytes written into the send area */
	bool known;		/* its outcome follows from what was written */
	u16 nmsg;		/* valid messages before the malformed one */
	u32 bad;		/* the malformed one's errnos (0: none) */
};

enum {
	BV_VALID, BV_HCROSS, BV_RESV, BV_PCROSS, BV_BIG,	/* sent up to... */
	BV_TARGET, BV_TAG, BV_MISALIGN,				/* the SQE fails */
	BV_GARBAGE,						/* anything */
};

static void bmsg_put(u8 *at, u64 target, u64 tag, u32 len, u32 resv)
{
	struct vactor_batch_msg h = {
		.target = target, .tag = tag, .len = len, .resv = resv,
	};

	memcpy(at, &h, sizeof(h));
}

/* A batch message's target: mostly an actor that exists. */
static u64 batch_target(struct cport *p)
{
	u32 r = rn(100);
	u64 id = 0;

	if (r < 60)
		id = own_pick(p);
	else if (r < 75)
		id = own_pick(&wk->cp[rn(NCPORT)]);
	else if (r < 85 && wk->s)
		id = wk->s->a[rn(S_ACTORS)].id;
	else if (r < 93)
		id = pub_pick(-1);
	return id ? id : pick_target(p);
}

static u32 batch_len(bool own)
{
	u32 r = rn(1000);

	if (r < 600)
		return rn(VACTOR_INLINE_MAX + 1);
	if (r < 900)
		return 65 + rn(960);
	if (r < 990 || !own)
		return 1 + rn(4096);
	return 4097 + rn(12288);
}

static u64 ntag(void)
{
	return ((u64)NMAGIC << 32) | (u32)++tag_next;
}

/*
 * Turns the magic tags of the batch we wrote at woff into plain ones (only
 * NMAGIC ones with nmagic_only).  Once the kernel has read a batch, a stale
 * SQE run again (cp_corrupt_sq) may read its bytes with others' written
 * over part of them: what it sends then must not be checked.  Walks the
 * headers as the kernel would; idempotent.
 */
static void batch_scrub(struct cport *p, u32 woff, u32 wlen, bool nmagic_only)
{
	struct vactor_batch_msg h;
	u32 at = 0, hi;
	u8 *base;

	if (!p->send || !wlen || (u64)woff + wlen > p->par.send_size)
		return;
	base = (u8 *)p->send + woff;
	while (wlen - at >= BHDR) {
		memcpy(&h, base + at, BHDR);
		hi = (u32)(h.tag >> 32);
		if (hi == NMAGIC || (hi == BMAGIC && !nmagic_only)) {
			h.tag ^= 1ULL << 40;
			memcpy(base + at + offsetof(struct vactor_batch_msg, tag),
			       &h.tag, sizeof(h.tag));
		}
		if (h.len > wlen - at - BHDR)
			break;
		at = BALIGN(at + BHDR + h.len);
		if (at >= wlen)
			break;
	}
}

/*
 * The kernel has consumed this SQE: what it read of the send area is
 * scrubbed (see batch_scrub).  A SEND's payload starts with its tag.
 */
static void scrub_consumed(struct cport *p, const struct vactor_sqe *s,
			   struct sq_meta *m)
{
	u8 *b;

	if (m->wlen) {
		batch_scrub(p, m->woff, m->wlen, false);
		m->wlen = 0;
		return;
	}
	if (s->opcode != VACTOR_OP_SEND || !(s->flags & VACTOR_SQE_F_BUF) ||
	    !tag_magic(s->tag) || s->len < sizeof(s->tag) || !p->send ||
	    (u64)s->buf_off + s->len > p->par.send_size)
		return;
	b = (u8 *)p->send + s->buf_off;
	if (!memcmp(b, &s->tag, sizeof(s->tag)))
		b[5] ^= 1;	/* bit 40 of the little-endian tag */
}

/* A batch its SQE's own fields refuse, with nothing written. */
static void gen_batch_sqe_bad(struct cport *p, struct vactor_sqe *s)
{
	u32 size = p->par.send_size, q;

	switch (rn(4)) {
	case 0:		/* empty */
		s->len = 0;
		s->buf_off = rn(size + 1) & ~(u32)(VACTOR_BATCH_ALIGN - 1);
		break;
	case 1:		/* past the end of the send area */
		s->len = 1 + rn(pm(500) ? 256 : VACTOR_MSG_MAX);
		q = rn(s->len) / 8;	/* 8 * q < len */
		s->buf_off = size >= 8 * q ? size - 8 * q : 0;
		if (pm(200)) {
			s->buf_off = (u32)r64() & ~7u;
			if ((u64)s->buf_off + s->len <= size)
				s->buf_off = size;
		}
		break;
	case 2:		/* not aligned */
		s->len = 1 + rn(4096);
		s->buf_off = (rn(size + 1) & ~7u) + 1 + rn(7);
		break;
	default:	/* anything, not aligned */
		s->len = (u32)r64();
		s->buf_off = (u32)r64() | 1;
	}
}

/*
 * A SEND_BATCH: mostly valid messages to actors that exist, then sometimes
 * a malformed one (a header crossing the end of the span, resv set, a
 * payload crossing it, a length over VACTOR_MSG_MAX) or messages behind a
 * bad SQE; or random headers.  Messages that must never arrive carry
 * NMAGIC tags, the others BMAGIC ones with a checked payload.
 */
static void gen_batch(struct cport *p, struct vactor_sqe *s, struct bgen *g)
{
	u32 len[BMAX], tlen[3], r, k, j, i, at, end = 0, need, off, woff;
	u32 budget, bad_sz = 0, plen = 0, ntrail = 0, span, hl, bad = 0;
	u64 tgt[BMAX], tag;
	u8 *base;
	int v;

	memset(g, 0, sizeof(*g));
	if (pm(300))
		s->flags |= VACTOR_SQE_F_ACK;
	if (!p->send || p->rdonly || pm(30)) {
		gen_batch_sqe_bad(p, s);
		return;
	}
	r = rn(1000);
	v = r < 620 ? BV_VALID : r < 680 ? BV_HCROSS : r < 740 ? BV_RESV :
	    r < 800 ? BV_PCROSS : r < 840 ? BV_BIG : r < 870 ? BV_TARGET :
	    r < 900 ? BV_TAG : r < 930 ? BV_MISALIGN : BV_GARBAGE;
	k = 1 + rn(pm(100) ? BMAX : 8);
	budget = p->par.send_size / 2 < 65536 ? p->par.send_size / 2 : 65536;

	if (v == BV_GARBAGE) {
		/* Random headers at 8-byte steps: lengths, resv, targets. */
		for (i = 0, need = 0; i < k && need < budget / 2; i++) {
			len[i] = rn(200);
			need = BALIGN(need + BHDR + len[i]);
		}
		k = i;
		off = send_alloc(p, need);
		if (off == UINT32_MAX) {
			gen_batch_sqe_bad(p, s);
			return;
		}
		base = (u8 *)p->send + off;
		for (i = 0, at = 0; i < k; i++) {
			bmsg_put(base + at, pm(600) ? batch_target(p) : r64(),
				 tag_random(), pm(900) ? len[i] : (u32)r64(),
				 pm(900) ? 0 : (u32)r64());
			for (j = 0; j < len[i]; j++)
				base[at + BHDR + j] = (u8)r64();
			at = BALIGN(at + BHDR + len[i]);
		}
		s->buf_off = off;
		s->len = pm(500) ? need : 1 + rn(need);
		g->buf_off = s->buf_off;
		g->len = s->len;
		g->woff = off;
		g->wlen = need;
		return;
	}

	for (i = 0; i < k; i++) {
		tgt[i] = batch_target(p);
		len[i] = batch_len(own_find(p, tgt[i]) >= 0);
	}
	j = v == BV_VALID || v >= BV_TARGET ? k : rn(k + 1);
	/* The valid messages: as many as fit. */
	for (i = 0, at = 0; i < j; i++) {
		if (BALIGN(at + BHDR + len[i]) + 1024 > budget)
			break;
		at = BALIGN(at + BHDR + len[i]);
	}
	if (!i && (v == BV_VALID || v >= BV_TARGET)) {
		len[0] = rn(VACTOR_INLINE_MAX + 1);
		i = 1;
		at = BALIGN(BHDR + len[0]);
	}
	j = i;
	switch (v) {
	case BV_HCROSS:
		bad_sz = BHDR;
		break;
	case BV_RESV:
		plen = rn(VACTOR_INLINE_MAX + 1);
		bad_sz = BALIGN(BHDR + plen);
		ntrail = rn(4);
		for (i = 0; i < ntrail; i++) {
			tlen[i] = rn(VACTOR_INLINE_MAX + 1);
			bad_sz += BALIGN(BHDR + tlen[i]);
		}
		break;
	case BV_PCROSS:
		plen = rn(256);
		bad_sz = BHDR + plen;
		break;
	case BV_BIG:
		plen = rn(64);
		bad_sz = BHDR + plen;
		break;
	}
	need = at + bad_sz + (v == BV_MISALIGN ? VACTOR_BATCH_ALIGN : 0);
	off = send_alloc(p, need);
	if (off == UINT32_MAX) {
		gen_batch_sqe_bad(p, s);
		return;
	}
	woff = off + (v == BV_MISALIGN ? 1 + rn(VACTOR_BATCH_ALIGN - 1) : 0);
	base = (u8 *)p->send + woff;
	for (i = 0, at = 0; i < j; i++) {
		tag = v >= BV_TARGET ? ntag() :
		      ((u64)BMAGIC << 32) | (u32)++tag_next;
		bmsg_put(base + at, tgt[i], tag, len[i], 0);
		bpat_fill(base + at + BHDR, len[i], tag);
		end = at + BHDR + len[i];
		at = BALIGN(end);
	}
	/* The last one's padding may lie past the span. */
	span = pm(500) ? end : at;
	switch (v) {
	case BV_HCROSS:		/* a header the span cuts */
		bmsg_put(base + at, batch_target(p), ntag(), rn(16), 0);
		span = at + 1 + rn(BHDR - 1);
		bad = B(EINVAL);
		break;
	case BV_RESV:		/* resv set, then valid ones */
		tag = ntag();
		bmsg_put(base + at, batch_target(p), tag, plen, 1 + rn(UINT32_MAX));
		bpat_fill(base + at + BHDR, plen, tag);
		end = at + BHDR + plen;
		at = BALIGN(end);
		for (i = 0; i < ntrail; i++) {
			tag = ntag();
			bmsg_put(base + at, batch_target(p), tag, tlen[i], 0);
			bpat_fill(base + at + BHDR, tlen[i], tag);
			end = at + BHDR + tlen[i];
			at = BALIGN(end);
		}
		span = pm(500) ? end : at;
		bad = B(EINVAL);
		break;
	case BV_PCROSS:		/* a payload the span cuts */
		tag = ntag();
		hl = plen + 1 + rn(VACTOR_MSG_MAX - plen);
		bmsg_put(base + at, batch_target(p), tag, hl, 0);
		bpat_fill(base + at + BHDR, plen, tag);
		span = at + BHDR + plen;
		bad = B(EINVAL);
		break;
	case BV_BIG:		/* over VACTOR_MSG_MAX (and past the span) */
		tag = ntag();
		hl = pm(500) ? VACTOR_MSG_MAX + 1 + rn(1u << 20) :
			       UINT32_MAX - rn(16);
		bmsg_put(base + at, batch_target(p), tag, hl, 0);
		bpat_fill(base + at + BHDR, plen, tag);
		span = at + BHDR + plen;
		bad = B(EMSGSIZE) | B(EINVAL);
		break;
	case BV_TARGET:
		s->target = batch_target(p);
		if (!s->target)
			s->target = 1 + rn(1000);
		break;
	case BV_TAG:
		s->tag = tag_random() | 1;
		break;
	}
	s->buf_off = woff;
	s->len = span;
	g->buf_off = s->buf_off;
	g->len = s->len;
	g->woff = woff;
	g->wlen = need - (woff - off);
	g->known = true;
	g->nmsg = j;
	g->bad = bad;
}

/*
 * What gen_batch() wrote decides the outcome, unless the SQE was spoilt
 * afterwards: then nobody reads those bytes, scrubbed at once.
 */
static void batch_meta(struct cport *p, const struct vactor_sqe *s,
		       struct sq_meta *m, const struct bgen *g)
{
	if (!g->wlen)
		return;
	if (s->opcode != VACTOR_OP_SEND_BATCH || s->buf_off != g->buf_off ||
	    s->len != g->len) {
		batch_scrub(p, g->woff, g->wlen, false);
		return;
	}
	m->woff = g->woff;
	m->wlen = g->wlen;
	if (!g->known)
		return;
	m->bknown = true;
	m->nmsg = g->nmsg;
	m->bad = g->bad;
	m->must |= g->bad;
	m->may &= ~(B(EINVAL) | B(EMSGSIZE));
	if (m->bflag)
		m->may |= B(EINVAL);
}

/*
 * A SEND_BATCH's completion: len is how many messages were sent, all of
 * them on success; on error the one at len failed with it (and none after
 * it was sent), or the SQE itself did (len 0).
 */
static void batch_check(const struct vactor_sqe *s, const struct sq_meta *m,
			int err, u32 n, const char *via)
{
	u32 max = s->len / BHDR;
	char b[600], mb[80];
	bool ok;

	if (m->bsqe || err == EFAULT)
		ok = !n;
	else if (!err)
		ok = n && n <= max && (!m->bknown || n == m->nmsg);
	else if (!n && (err == EPERM || (err == EINVAL && m->bflag)))
		ok = true;		/* the SQE itself */
	else if (!m->bknown)
		ok = n <= max;
	else if (err == EINVAL || err == EMSGSIZE)
		ok = (m->bad & (1u << xbit(err))) && n == m->nmsg;
	else
		ok = n < m->nmsg;
	stat_add(ST_BATCH, 1);
	stat_add(ST_BMSG, n);
	if (ok && m->bknown && m->bad && n == m->nmsg && err)
		stat_add(ST_BBAD, 1);
	if (!ok)
		FAIL(((u64)err << 8) + 46,
		     "%s SEND_BATCH %s: %s with len (messages sent) %u; span of %u bytes, %s %u valid messages%s%s",
		     via, sqe_str(s, b, sizeof(b)), ename(err), n, s->len,
		     m->bsqe ? "refused by its own fields," :
		     m->bknown ? "written:" : "unknown content, at most",
		     m->bknown ? m->nmsg : max,
		     m->bad ? ", then a malformed one: " : "",
		     m->bad ? mask_str(m->bad, mb, sizeof(mb)) : "");
}

static void gen_sqe(struct cport *p, struct vactor_sqe *s, struct sq_meta *m)
{
	u32 r, i, off;
	bool big_ok = false;
	int nown = atomic_load(&p->nown);
	struct bgen bg = { 0 };

	memset(s, 0, sizeof(*s));
	r = rn(1000);
	if (r < 390)
		s->opcode = VACTOR_OP_SEND;
	else if (r < 460)
		s->opcode = VACTOR_OP_SEND_BATCH;
	else if (r < 560)
		s->opcode = nown >= OWN_SOFT ? VACTOR_OP_DESTROY : VACTOR_OP_CREATE;
	else if (r < 630)
		s->opcode = VACTOR_OP_DESTROY;
	else if (r < 720)
		s->opcode = VACTOR_OP_LOOKUP;
	else if (r < 780)
		s->opcode = on(F_HOST) ? VACTOR_OP_HOST : VACTOR_OP_NOP;
	else if (r < 940)
		s->opcode = VACTOR_OP_NOP;
	else if (r < 960)
		s->opcode = VACTOR_OP_LAST + rn(4);
	else if (r < 980)
		s->opcode = (u8)r64();
	else
		s->opcode = 255;
	if (!on(F_HOST) && s->opcode == VACTOR_OP_HOST)
		s->opcode = VACTOR_OP_NOP;
	s->user_data = new_ud();
	s->type = pm(500) ? 0 : (u32)r64();

	/* Acting actor: mostly one hosted here. */
	r = rn(100);
	if (r < 75 && nown)
		s->actor = own_pick(p);
	else if (r < 85)
		s->actor = own_pick(&wk->cp[rn(NCPORT)]);
	else if (r < 92)
		s->actor = pub_pick(-1);
	else if (r < 96)
		s->actor = r64();
	else
		s->actor = 0;

	switch (s->opcode) {
	case VACTOR_OP_CREATE:
		s->len = gen_name(s->data, false);
		if (pm(200))
			s->flags = VACTOR_SQE_F_PUBLIC;
		break;
	case VACTOR_OP_LOOKUP:
		if (pm(300) && nown) {
			i = rn(nown);
			s->len = p->own[i].nlen;
			memcpy(s->data, p->own[i].name, s->len);
		} else {
			s->len = gen_name(s->data, true);
		}
		break;
	case VACTOR_OP_HOST:
		s->target = pm(700) ? pub_pick(-1) : pick_target(p);
		if (s_protected(s->target))
			s->target = 0;
		break;
	case VACTOR_OP_SEND:
		s->target = pick_target(p);
		big_ok = own_find(p, s->target) >= 0;
		if (pm(300))
			s->flags |= VACTOR_SQE_F_ACK;
		s->tag = ((u64)CMAGIC << 32) | (u32)++tag_next;
		r = rn(1000);
		if (r < 520) {
			s->len = rn(VACTOR_INLINE_MAX + 1);
			pat_fill(s->data, s->len, s->tag);
		} else if (r < 920) {
			s->len = r < 780 ? 65 + rn(960) : 1 + rn(4096);
			if (r >= 900 && big_ok)
				s->len = 4097 + rn((on(F_BIG) ? VACTOR_MSG_MAX :
						    VACTOR_MSG_MAX / 2) - 4096);
			off = send_alloc(p, s->len);
			s->flags |= VACTOR_SQE_F_BUF;
			if (off != UINT32_MAX) {
				s->buf_off = off;
				pat_fill((u8 *)p->send + off, s->len, s->tag);
			} else {
				s->buf_off = rn(p->par.send_size + 1);
				s->tag = tag_random();
			}
		} else if (r < 940) {	/* inline and too long */
			s->len = VACTOR_INLINE_MAX + 1 + rn(200);
			s->tag = tag_random();
		} else if (r < 955) {	/* over VACTOR_MSG_MAX */
			s->len = VACTOR_MSG_MAX + 1 + rn(1000);
			s->flags |= pm(500) ? VACTOR_SQE_F_BUF : 0;
			s->tag = tag_random();
		} else if (r < 975) {	/* past the end of the send area */
			s->flags |= VACTOR_SQE_F_BUF;
			s->len = 1 + rn(VACTOR_MSG_MAX);
			s->buf_off = pm(500) ? p->par.send_size - rn(s->len) :
					       (u32)r64();
			s->tag = tag_random();
		} else {		/* anything */
			s->len = (u32)r64();
			s->buf_off = (u32)r64();
			s->flags |= pm(500) ? VACTOR_SQE_F_BUF : 0;
			s->tag = tag_random();
		}
		break;
	case VACTOR_OP_SEND_BATCH:
		gen_batch(p, s, &bg);
		break;
	default:
		s->target = pick_target(p);
		s->len = pm(900) ? 0 : (u32)r64();
		break;
	}

	/* Spoil it now and then. */
	off = s->flags & VACTOR_SQE_F_BUF;
	if (pm(25))
		s->flags = (u8)r64();
	else if (pm(20))
		s->flags ^= 1u << rn(8);
	if (pm(20))
		s->resv0 = (u16)(1 + rn(0xffff));
	if (pm(15))
		s->resv1[rn(2)] = 1ULL << rn(64);
	if (pm(10)) {
		for (i = 0; i < sizeof(*s); i++)
			((u8 *)s)[i] = (u8)r64();
		if (!on(F_HOST) && s->opcode == VACTOR_OP_HOST)
			s->opcode = VACTOR_OP_NOP;
		s->user_data = new_ud();
		if (tag_magic(s->tag))
			s->tag ^= 1ULL << 40;
	}
	/* A spoilt send whose payload is not ours: don't check the bytes. */
	if (tag_magic(s->tag) && (s->flags & VACTOR_SQE_F_BUF) != off)
		s->tag = tag_random();
	if ((s->flags & VACTOR_SQE_F_BUF) && tag_magic(s->tag) &&
	    (s->opcode != VACTOR_OP_SEND ||
	     (u64)s->buf_off + s->len > p->par.send_size))
		s->tag = tag_random();
	sqe_rules(s, p->par.send_size, m);
	batch_meta(p, s, m, &bg);
}

/* ---- mapping and setup ---- */

static void *map_region(int fd, size_t len, int prot, u64 off)
{
	void *a = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)off);

	return a == MAP_FAILED ? NULL : a;
}

static void cp_unmap_all(struct cport *p)
{
	int i;

	for (i = 0; i < p->nx; i++)
		munmap(p->x[i].a, p->x[i].len);
	p->nx = 0;
	if (p->sq_ring)
		munmap(p->sq_ring, p->par.sq_size);
	if (p->cq_ring)
		munmap(p->cq_ring, p->par.cq_size);
	if (p->send)
		munmap(p->send, p->par.send_size);
	if (p->recv)
		munmap((void *)p->recv, p->par.recv_size);
	p->sq_ring = p->cq_ring = p->send = NULL;
	p->recv = NULL;
}

static void cp_free_model(struct cport *p)
{
	free(p->shadow);
	free(p->meta);
	free(p->fifo);
	p->shadow = NULL;
	p->meta = NULL;
	p->fifo = NULL;
}

/* Random SETUP parameters and what the uapi says of them. */
static void gen_params(struct vactor_params *par, bool *bad, bool *unsure)
{
	static const u32 sqs[] = { 0, 1, 2, 3, 8, 16, 31, 64, 128, 256 };
	static const u32 sends[] = { 0, 1, 4096, 65536, 100000, 200000 };
	static const u32 recvs[] = { 0, 65536, 65537, 131072, 262144 };
	u32 sq_act;

	memset(par, 0, sizeof(*par));
	*bad = false;
	*unsure = false;
	par->sq_entries = sqs[rn(10)];
	if (pm(10))
		par->sq_entries = VACTOR_SQ_MAX >> rn(4);
	else if (pm(15))
		par->sq_entries = VACTOR_SQ_MAX + 1 + rn(100);
	else if (pm(10))
		par->sq_entries = (u32)r64();
	if (pm(600))
		par->cq_entries = 0;
	else if (pm(800))
		par->cq_entries = (par->sq_entries ? par->sq_entries : 128) << rn(4);
	else if (pm(500))
		par->cq_entries = rn(par->sq_entries + 1);
	else
		par->cq_entries = (u32)r64();
	par->send_size = sends[rn(6)];
	par->recv_size = recvs[rn(5)];
	if (pm(3)) {		/* the largest allowed: 64 MiB each */
		par->send_size = 64u << 20;
		par->recv_size = (64u << 20) - rn(1000);
	}
	if (pm(15))
		par->send_size = (64u << 20) + 1 + rn(1000);
	if (pm(15))
		par->recv_size = pm(500) ? 1 + rn(VACTOR_MSG_MAX - 1) :
					   (64u << 20) + 1;
	if (pm(10))
		par->send_size = (u32)r64();
	if (pm(15))
		par->flags = 1u << rn(32);
	if (pm(15))
		par->resv[rn(4)] = 1;
	if (pm(5))
		par->port_id = (u32)r64();	/* out only: ignored */

	/* Certainly out of range? */
	if (par->flags || par->resv[0] || par->resv[1] || par->resv[2] ||
	    par->resv[3] || par->sq_entries > VACTOR_SQ_MAX ||
	    par->cq_entries > VACTOR_CQ_MAX ||
	    par->send_size > (64u << 20) || par->recv_size > (64u << 20) ||
	    (par->recv_size && par->recv_size < VACTOR_MSG_MAX) ||
	    (par->cq_entries && par->cq_entries < par->sq_entries)) {
		*bad = true;
		return;
	}
	/* "at least sq_entries": the requested or the rounded count. */
	sq_act = roundup_pow2(par->sq_entries ? par->sq_entries : 128);
	if (par->cq_entries && par->cq_entries < sq_act)
		*unsure = true;
	if (!par->cq_entries && 4ULL * sq_act > VACTOR_CQ_MAX)
		*unsure = true;
}

/* The values SETUP returned, against the uapi. */
static void check_params(const struct vactor_params *in,
			 const struct vactor_params *o)
{
	u32 sq = roundup_pow2(in->sq_entries ? in->sq_entries : 128);
	u32 send = in->send_size ? in->send_size : 256u << 10;
	u32 recv = in->recv_size ? in->recv_size : 1u << 20;
	const struct vactor_ring_offsets *r[2] = { &o->sq_off, &o->cq_off };
	u32 ent[2] = { o->sq_entries, o->cq_entries };
	u32 size[2] = { o->sq_size, o->cq_size };
	int i;

	send = (send + PAGE - 1) & ~(PAGE - 1);
	recv = roundup_pow2(recv);
	if (o->sq_entries != sq || o->send_size != send ||
	    o->recv_size != recv || o->cq_entries < o->sq_entries ||
	    o->cq_entries > VACTOR_CQ_MAX ||
	    (o->cq_entries & (o->cq_entries - 1)) ||
	    (in->cq_entries && o->cq_entries != roundup_pow2(in->cq_entries)) ||
	    !o->port_id)
		FAIL(0, "SETUP{sq %u cq %u send %u recv %u} returned sq %u cq %u send %u recv %u port %u",
		     in->sq_entries, in->cq_entries, in->send_size,
		     in->recv_size, o->sq_entries, o->cq_entries, o->send_size,
		     o->recv_size, o->port_id);
	for (i = 0; i < 2; i++) {
		if (r[i]->ring_entries != ent[i] ||
		    r[i]->ring_mask != ent[i] - 1 ||
		    (r[i]->head > r[i]->tail ? r[i]->head - r[i]->tail :
					       r[i]->tail - r[i]->head) < 64 ||
		    r[i]->head + 4 > size[i] || r[i]->tail + 4 > size[i] ||
		    r[i]->flags + 4 > size[i] ||
		    (u64)r[i]->entries + (u64)ent[i] * 128 > size[i] ||
		    r[i]->resv[0] || r[i]->resv[1])
			FAIL(i, "SETUP: %s ring offsets head %u tail %u flags %u entries %u mask %#x n %u in %u bytes",
			     i ? "CQ" : "SQ", r[i]->head, r[i]->tail,
			     r[i]->flags, r[i]->entries, r[i]->ring_mask,
			     r[i]->ring_entries, size[i]);
	}
}

static void cp_bump(struct cport *p)
{
	atomic_fetch_add(&p->seq, 1);
}

static void cp_close(struct cport *p, bool keep_maps);

/* Maps the four regions and builds the ring model.  False on failure. */
static bool cp_map(struct cport *p)
{
	const struct vactor_params *o = &p->par;
	int wprot = p->rdonly ? PROT_READ : PROT_READ | PROT_WRITE;
	int fd = atomic_load(&p->fd);
	int err;

	p->sq_ring = map_region(fd, o->sq_size, wprot, VACTOR_OFF_SQ);
	p->cq_ring = map_region(fd, o->cq_size, wprot, VACTOR_OFF_CQ);
	p->send = map_region(fd, o->send_size, wprot, VACTOR_OFF_SEND);
	p->recv = map_region(fd, o->recv_size, PROT_READ, VACTOR_OFF_RECV);
	if (!p->sq_ring || !p->cq_ring || !p->send || !p->recv) {
		err = errno;
		FAIL(err, "mmap of a region of a set-up port failed: %s (sq %p cq %p send %p recv %p)",
		     ename(err), p->sq_ring, p->cq_ring, p->send, p->recv);
		cp_unmap_all(p);
		return false;
	}
	p->sq_head = (u32 *)((u8 *)p->sq_ring + o->sq_off.head);
	p->sq_tail = (u32 *)((u8 *)p->sq_ring + o->sq_off.tail);
	p->sq_flags = (u32 *)((u8 *)p->sq_ring + o->sq_off.flags);
	p->sqes = (struct vactor_sqe *)((u8 *)p->sq_ring + o->sq_off.entries);
	p->cq_head = (u32 *)((u8 *)p->cq_ring + o->cq_off.head);
	p->cq_tail = (u32 *)((u8 *)p->cq_ring + o->cq_off.tail);
	p->cq_flags = (u32 *)((u8 *)p->cq_ring + o->cq_off.flags);
	p->cqes = (struct vactor_cqe *)((u8 *)p->cq_ring + o->cq_off.entries);
	p->sq_n = o->sq_entries;
	p->cq_n = o->cq_entries;
	p->sqt = p->pub = p->khead = p->stale = ld_acq(p->sq_tail);
	p->cqh = ld_acq(p->cq_head);
	if (p->sqt || p->cqh || ld_acq(p->sq_head) || ld_acq(p->cq_tail))
		FAIL(0, "fresh port's ring indices not zero: sq %u/%u cq %u/%u",
		     ld_acq(p->sq_head), p->sqt, p->cqh, ld_acq(p->cq_tail));
	p->send_used = 0;
	p->cq_bad = false;
	p->cq_odd = false;
	p->shadow = calloc(p->sq_n, sizeof(*p->shadow));
	p->meta = calloc(p->sq_n, sizeof(*p->meta));
	p->ff_cap = 4 * (p->sq_n < 1024 ? p->sq_n : 1024) + 64;
	p->fifo = calloc(p->ff_cap, sizeof(*p->fifo));
	p->ff_head = p->ff_tail = 0;
	if (!p->shadow || !p->meta || !p->fifo) {
		out("# vactor_fuzz: out of memory");
		exit(2);
	}
	return true;
}

/* Runs a SETUP on fd and checks it; 0 or the errno. */
static int do_setup(int fd, struct vactor_params *par, bool bad, bool unsure,
		    bool again)
{
	struct vactor_params in = *par;
	int ret, err;

	ret = ioctl(fd, VACTOR_IOC_SETUP, par);
	err = ret < 0 ? errno : 0;
	stat_add(ST_SETUP, 1);
	add_ops(1);
	if (again) {
		/* A second setup: EBUSY (an out-of-range one may say EINVAL). */
		if (err != EBUSY && !(bad && err == EINVAL))
			FAIL(err, "second SETUP{sq %u cq %u send %u recv %u flags %#x}: %s, uapi: EBUSY",
			     in.sq_entries, in.cq_entries, in.send_size,
			     in.recv_size, in.flags, ename(err));
		return err;
	}
	/* Valid sizes may still be past max_kmem_kb_per_user: EDQUOT. */
	if (!bad && err == EDQUOT)
		return err;
	if ((bad && err != EINVAL) || (!bad && !unsure && err) ||
	    (unsure && err && err != EINVAL))
		FAIL(err, "SETUP{sq %u cq %u send %u recv %u flags %#x resv %" PRIx64 ",%" PRIx64 ",%" PRIx64 ",%" PRIx64 "}: %s, uapi: %s",
		     in.sq_entries, in.cq_entries, in.send_size, in.recv_size,
		     in.flags, (u64)in.resv[0], (u64)in.resv[1], (u64)in.resv[2],
		     (u64)in.resv[3], ename(err),
		     bad ? "EINVAL" : unsure ? "success or EINVAL" : "success");
	if (!err)
		check_params(&in, par);
	return err;
}

/* Calls that must fail with EBADFD on a port without setup. */
static void cp_presetup_pokes(int fd)
{
	struct vactor_enter e;
	struct vactor_call c;
	struct pollfd pfd;
	void *a;
	int n = 1 + rn(4), ret, err;

	while (n--) {
		switch (rn(4)) {
		case 0:
			memset(&e, 0, sizeof(e));
			e.to_submit = rn(4);
			e.flags = rn(4);
			ret = ioctl(fd, VACTOR_IOC_ENTER, &e);
			err = ret < 0 ? errno : 0;
			if (err != EBADFD)
				FAIL(err, "ENTER before SETUP: %s, uapi: EBADFD",
				     ename(err));
			break;
		case 1:
			memset(&c, 0, sizeof(c));
			c.sqe.opcode = rn(VACTOR_OP_LAST);
			ret = ioctl(fd, VACTOR_IOC_CALL, &c);
			err = ret < 0 ? errno : 0;
			if (err != EBADFD)
				FAIL(err, "CALL before SETUP: %s, uapi: EBADFD",
				     ename(err));
			break;
		case 2:
			a = mmap(NULL, PAGE << rn(4), PROT_READ, MAP_SHARED, fd,
				 (off_t)(rn(4) * 0x10000000ULL));
			err = a == MAP_FAILED ? errno : 0;
			if (!err)
				munmap(a, PAGE);
			if (err != EBADFD)
				FAIL(err, "mmap before SETUP: %s, uapi: EBADFD",
				     ename(err));
			break;
		default:
			pfd.fd = fd;
			pfd.events = POLLIN | POLLOUT;
			pfd.revents = 0;
			ret = poll(&pfd, 1, 0);
			if (ret < 0 || (pfd.revents & (POLLIN | POLLOUT)))
				FAIL(ret, "poll before SETUP: ret %d revents %#x",
				     ret, pfd.revents);
			break;
		}
		add_ops(1);
	}
}

/*
 * Opens a port: sometimes pokes it before setup, sometimes gets the setup
 * wrong first; then a valid setup, mapped.  mode: 0 anything, 1 usable.
 */
static void cp_open(struct cport *p, int mode)
{
	struct vactor_params par;
	bool bad, unsure;
	int fd, tries, err;

	memset(&p->par, 0, sizeof(p->par));
	p->oflags = O_RDWR;
	if (!mode && pm(30))
		p->oflags = O_RDONLY;
	p->rdonly = p->oflags == O_RDONLY;
	p->big = false;
	fd = open(VACTOR_DEVICE, p->oflags | O_CLOEXEC);
	add_ops(1);
	if (fd < 0) {
		err = errno;
		/* EDQUOT past max_ports_per_user: the only documented error. */
		if (err != EDQUOT)
			FAIL(err, "open(%s): %s, uapi: success or EDQUOT",
			     VACTOR_DEVICE, ename(err));
		return;
	}
	cp_bump(p);
	atomic_store(&p->fd, fd);
	p->state = P_OPEN;
	cp_bump(p);
	if (pm(200))
		cp_presetup_pokes(fd);
	if (!mode && pm(10))
		return;		/* left without setup for a while */

	for (tries = 0; tries < 4; tries++) {
		gen_params(&par, &bad, &unsure);
		if (tries == 3 || (mode && !pm(100))) {
			/* A usable, modest port. */
			memset(&par, 0, sizeof(par));
			par.sq_entries = 8u << rn(6);
			par.cq_entries = pm(500) ? 0 : par.sq_entries << rn(3);
			par.send_size = pm(500) ? 0 : 65536u << rn(2);
			par.recv_size = pm(500) ? 0 : 65536u << rn(3);
			bad = unsure = false;
		}
		err = do_setup(fd, &par, bad, unsure, false);
		if (!err)
			break;
		if (!bad && !unsure)
			break;		/* reported */
		/* Nothing half-done: still not set up. */
		if (pm(300))
			cp_presetup_pokes(fd);
	}
	if (err)
		return;
	p->par = par;
	p->big = par.send_size > (16u << 20) || par.recv_size > (16u << 20) ||
		 par.sq_entries > 4096;
	if (pm(100)) {
		/* Twice: EBUSY, and the port is unchanged. */
		gen_params(&par, &bad, &unsure);
		do_setup(fd, &par, bad, unsure, true);
	}
	if (p->rdonly) {
		/*
		 * The mm makes MAP_SHARED of an O_RDONLY file VM_MAYSHARE
		 * without VM_SHARED, which the driver takes for MAP_PRIVATE:
		 * such a port can't be mapped (uapi.rst says nothing of
		 * O_RDONLY).  CALLs only.
		 */
		p->sq_n = p->cq_n = 0;
	} else if (!cp_map(p)) {
		/* Set up but unusable: away with it. */
		cp_close(p, false);
		return;
	}
	p->ever_full = false;
	p->never = 0;
	memset(p->ever, 0, sizeof(p->ever));
	atomic_store(&p->nown, 0);
	cp_bump(p);
	p->state = P_READY;
	cp_bump(p);
	if (wk->epfd >= 0 && p != &wk->rp) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };

		ev.data.u32 = p->idx;
		if (epoll_ctl(wk->epfd, EPOLL_CTL_ADD, fd, &ev))
			FAIL(errno, "epoll_ctl(ADD) on a port: %s", ename(errno));
	}
}

/* Main thread: gives the racer this port's actors to HOST as it closes. */
static void steal_handoff(struct cport *p)
{
	int i, n = atomic_load(&p->nown);
	long spins;

	if (n > 8)
		n = 8;
	for (i = 0; i < n; i++)
		atomic_store(&wk->steal_ids[i], p->own[i].id);
	atomic_store(&wk->steal_n, n);
	atomic_store(&wk->steal_ack, 0);
	atomic_store(&wk->steal_req, 1);
	/* Until the racer is spinning on them (it may be in a short wait). */
	for (spins = 0; spins < 50000000 && !atomic_load(&wk->steal_ack) &&
	     !atomic_load(&wk->racer_stop) && !budget_done(); spins++)
		sched_yield();
	stat_add(ST_STEAL, 1);
}

/*
 * Closes a port mid-operation: SQEs published and not consumed, CQEs not
 * reaped, messages waiting.  Sometimes scribbles over the header fields of
 * the unconsumed CQEs first: the kernel redelivers from its own records.
 * Sometimes keeps the mappings, so the port lives on until they go.
 */
static void cp_close(struct cport *p, bool keep_maps)
{
	u32 t, i;
	int fd = atomic_load(&p->fd);

	if (p->state == P_CLOSED)
		return;
	if (p->state == P_ZOMBIE) {
		cp_unmap_all(p);
		p->state = P_CLOSED;
		return;
	}
	if (p->state == P_READY && p->cq_ring && !p->rdonly && pm(300)) {
		t = ld_acq(p->cq_tail);
		for (i = p->cqh; i != t && t - p->cqh <= p->cq_n; i++) {
			struct vactor_cqe *c = &p->cqes[i & (p->cq_n - 1)];

			/* Everything but the inline payload bytes. */
			memset(c, (u8)r64(), offsetof(struct vactor_cqe, data));
		}
		if (pm(500))
			*p->cq_flags = (u32)r64();
	}
	if (p->state == P_READY && p != &wk->rp && wk->racer_on &&
	    on(F_HOST) && atomic_load(&p->nown) && pm(300))
		steal_handoff(p);
	cp_bump(p);
	atomic_store(&p->fd, -1);
	close(fd);
	add_ops(1);
	stat_add(ST_REOPEN, 1);
	if (p->state == P_READY && keep_maps && p->sq_ring) {
		p->state = P_ZOMBIE;
	} else {
		cp_unmap_all(p);
		p->state = P_CLOSED;
	}
	cp_free_model(p);
	atomic_store(&p->nown, 0);
	cp_bump(p);
}

/* ---- completions ---- */

static void ff_push(struct cport *p, const struct vactor_sqe *s,
		    const struct sq_meta *m)
{
	struct expect *e;

	if (p->ff_tail - p->ff_head >= p->ff_cap) {
		/* Only quiet sends pile up: drop the oldest. */
		p->ff_head++;
	}
	e = &p->fifo[p->ff_tail++ % p->ff_cap];
	e->sqe = *s;
	e->m = *m;
}

static bool ff_must_complete(const struct expect *e)
{
	return e->m.must || !e->m.quiet;
}

static void report_missing(struct cport *p, const struct expect *e,
			   const char *why)
{
	char b[600], pb[120];

	FAIL(e->sqe.opcode, "%s: no completion for SQE %s on %s", why,
	     sqe_str(&e->sqe, b, sizeof(b)), port_str(p, pb, sizeof(pb)));
}

/* The completion of one of this port's SQEs. */
static void on_complete(struct cport *p, const struct vactor_cqe *c,
			bool *failed_create)
{
	struct expect *e = NULL;
	char b[600], cb[300], mb[120];
	u32 i;
	int err;

	for (i = p->ff_head; i != p->ff_tail; i++)
		if (p->fifo[i % p->ff_cap].sqe.user_data == c->user_data) {
			e = &p->fifo[i % p->ff_cap];
			break;
		}
	if (!e) {
		FAIL(0, "completion for no SQE in flight: %s",
		     cqe_str(c, cb, sizeof(cb)));
		return;
	}
	/* Earlier SQEs: only successful quiet sends complete silently. */
	for (; p->ff_head != i; p->ff_head++)
		if (ff_must_complete(&p->fifo[p->ff_head % p->ff_cap]))
			report_missing(p, &p->fifo[p->ff_head % p->ff_cap],
				       "out of order");
	p->ff_head++;

	err = c->res < 0 ? -c->res : (c->res ? -1 : 0);
	/* len: SEND_BATCH's messages sent, 0 for every other operation. */
	if (c->opcode != e->sqe.opcode || c->res > 0 || c->flags ||
	    c->resv || (c->opcode != VACTOR_OP_SEND_BATCH && c->len))
		FAIL(1, "completion %s does not match SQE %s",
		     cqe_str(c, cb, sizeof(cb)), sqe_str(&e->sqe, b, sizeof(b)));
	if (!res_ok(e->m.must, e->m.may, err)) {
		FAIL(((u64)e->sqe.opcode << 16) + err,
		     "ring SQE %s: res %s (%d), uapi: %s%s",
		     sqe_str(&e->sqe, b, sizeof(b)), ename(err), c->res,
		     e->m.must ? "" : "success or ",
		     mask_str(e->m.must | e->m.may, mb, sizeof(mb)));
		return;
	}
	if (e->sqe.opcode == VACTOR_OP_SEND_BATCH)
		batch_check(&e->sqe, &e->m, err, c->len, "ring");
	if (err) {
		if (e->sqe.opcode == VACTOR_OP_CREATE)
			*failed_create = true;
		if (err == EAGAIN)
			stat_add(ST_EAGAIN, 1);
		return;
	}
	switch (e->sqe.opcode) {
	case VACTOR_OP_CREATE:
		if (!c->actor || ever_has(p, c->actor))
			FAIL(2, "CREATE returned id %" PRIu64 ", zero or reused",
			     (u64)c->actor);
		own_add(p, c->actor, e->m.name, e->m.nlen);
		break;
	case VACTOR_OP_HOST:
		if (c->actor != e->sqe.target)
			FAIL(3, "HOST of %" PRIu64 " completed for actor %" PRIu64,
			     (u64)e->sqe.target, (u64)c->actor);
		own_add(p, e->sqe.target, "", 0);
		stat_add(ST_ADOPT, 1);
		break;
	case VACTOR_OP_DESTROY:
		own_del(p, e->sqe.actor);
		break;
	case VACTOR_OP_LOOKUP:
		if (!c->actor)
			FAIL(4, "LOOKUP succeeded with actor 0");
		break;
	}
}

/* Checks a message or report CQE (chaos or structured port). */
static bool check_msg_cqe(const struct vactor_cqe *c, const void *recv,
			  u32 recv_size, const u8 **payload)
{
	char cb[300];
	u64 t;

	*payload = NULL;
	if (c->event == VACTOR_EV_UNDELIVERED) {
		if (c->res != -ENOENT || (c->flags & ~VACTOR_CQE_F_REDELIVERED) ||
		    c->resv) {
			FAIL(10, "bad EV_UNDELIVERED %s (uapi: res -ENOENT)",
			     cqe_str(c, cb, sizeof(cb)));
			return false;
		}
		if ((u32)(c->tag >> 32) == NMAGIC)
			FAIL(15, "EV_UNDELIVERED %s: a batch's message past where it must fail was accepted",
			     cqe_str(c, cb, sizeof(cb)));
		stat_add(ST_UNDELIV, 1);
		return true;
	}
	if (c->flags & ~(VACTOR_CQE_F_BUF | VACTOR_CQE_F_REDELIVERED) ||
	    c->len > VACTOR_MSG_MAX || c->res || c->resv || c->user_data ||
	    !!(c->flags & VACTOR_CQE_F_BUF) != (c->len > VACTOR_INLINE_MAX) ||
	    ((c->flags & VACTOR_CQE_F_BUF) &&
	     (u64)c->buf_off + c->len > recv_size)) {
		FAIL(11, "bad EV_MSG %s (recv area %u)",
		     cqe_str(c, cb, sizeof(cb)), recv_size);
		return false;
	}
	t = now_ns();
	if (!c->ts_ns || c->ts_ns > t)
		FAIL(12, "EV_MSG timestamp %" PRIu64 " not in (0, now %" PRIu64 "]",
		     (u64)c->ts_ns, t);
	if (c->flags & VACTOR_CQE_F_REDELIVERED)
		stat_add(ST_REDELIV, 1);
	*payload = c->flags & VACTOR_CQE_F_BUF ?
		   (const u8 *)recv + c->buf_off : c->data;
	if ((u32)(c->tag >> 32) == NMAGIC) {
		/* Behind a malformed message or in a batch the SQE refuses. */
		FAIL(14, "message %s delivered: a batch's message past where it must fail",
		     cqe_str(c, cb, sizeof(cb)));
		return false;
	}
	if (tag_magic(c->tag)) {
		if ((u32)(c->tag >> 32) == BMAGIC ?
		    !bpat_ok(*payload, c->len, c->tag) :
		    !pat_ok(*payload, c->len, c->tag)) {
			FAIL(13, "payload of %s corrupted",
			     cqe_str(c, cb, sizeof(cb)));
			return false;
		}
		stat_add(ST_MSG_OK, 1);
	}
	return true;
}

/*
 * Reaps every ready CQE of a chaos port and checks it.  Every SQE the
 * kernel consumed has its completion in the CQ by the time ENTER returns,
 * so once the CQ is drained only quiet sends may be left without one.
 */
static bool s_known(u64 id);

/*
 * For a failure report: which of this worker's ports ever hosted @id, to
 * tell a kernel that posts to the wrong port from a CQ read through a
 * mapping that is not the port's own.  The racer's port is read while it
 * may change: good enough for a message.
 */
static const char *hosts_str(u64 id, char *b, size_t n)
{
	size_t at = 0;
	int i;

	b[0] = '\0';
	for (i = 0; i <= NCPORT && at < n; i++) {
		const struct cport *q = i < NCPORT ? &wk->cp[i] : &wk->rp;

		if (ever_has(q, id))
			at += snprintf(b + at, n - at, "%sport[%d] id %u%s",
				       at ? ", " : "", q->idx, q->par.port_id,
				       q->state == P_READY ? "" : " (closed)");
	}
	if (S && at < n && s_known(id) && S->nids < S_IDS)
		at += snprintf(b + at, n - at, "%sa structured port",
			       at ? ", " : "");
	if (!at)
		snprintf(b, n, "none");
	return b;
}

static void cp_reap(struct cport *p)
{
	struct vactor_cqe unknown[16];
	int nunk = 0, k;
	bool failed_create = false;
	char cb[300], eb[300], hb[200];
	u32 tail, n, i;

	if (p->state != P_READY || p->cq_bad || p->rdonly)
		return;
	tail = ld_acq(p->cq_tail);
	n = tail - p->cqh;
	if (n > p->cq_n) {
		FAIL(20, "CQ tail %u is %u entries past head %u (ring has %u)",
		     tail, n, p->cqh, p->cq_n);
		return;
	}
	for (i = 0; i < n; i++) {
		struct vactor_cqe c;
		const u8 *payload;

		memcpy(&c, &p->cqes[(p->cqh + i) & (p->cq_n - 1)], sizeof(c));
		switch (c.event) {
		case VACTOR_EV_COMPLETE:
			on_complete(p, &c, &failed_create);
			break;
		case VACTOR_EV_MSG:
		case VACTOR_EV_UNDELIVERED:
			if (!ever_has(p, c.actor) && nunk < 16)
				unknown[nunk++] = c;
			check_msg_cqe(&c, p->recv, p->par.recv_size, &payload);
			break;
		default:
			FAIL(21, "unknown event %s", cqe_str(&c, cb, sizeof(cb)));
		}
	}
	stat_add(ST_REAPED, n);
	p->cqh = tail;
	st_rel(p->cq_head, tail);
	/* A message can precede the completion of the CREATE or HOST. */
	for (k = 0; k < nunk; k++)
		if (!ever_has(p, unknown[k].actor) && !p->ever_full &&
		    !failed_create)
			FAIL(22, "event %s for actor %" PRIu64 " never hosted by %s (of this worker's ports, hosted by: %s)",
			     cqe_str(&unknown[k], eb, sizeof(eb)),
			     (u64)unknown[k].actor, port_str(p, cb, sizeof(cb)),
			     hosts_str(unknown[k].actor, hb, sizeof(hb)));
	for (; p->ff_head != p->ff_tail; p->ff_head++)
		if (ff_must_complete(&p->fifo[p->ff_head % p->ff_cap]))
			report_missing(p, &p->fifo[p->ff_head % p->ff_cap],
				       "CQ drained");
}

/* ---- ENTER ---- */

/*
 * A stale batch (a replay, cp_corrupt_sq) reads the send area wherever it
 * pointed, maybe where SQEs not consumed yet wrote theirs: their
 * never-to-arrive messages become plain ones, and so do short SEND
 * payloads (a header read just before one finds its tag there, and what
 * follows it for resv).
 */
static void cp_unstale(struct cport *p)
{
	u32 i;

	if ((int)(p->stale - p->khead) <= 0 || p->sqt - p->khead > p->sq_n)
		return;
	for (i = p->khead; i != p->sqt; i++) {
		struct vactor_sqe *s = &p->shadow[i & (p->sq_n - 1)];
		struct sq_meta *m = &p->meta[i & (p->sq_n - 1)];

		if (m->wlen)
			batch_scrub(p, m->woff, m->wlen, true);
		if (s->opcode == VACTOR_OP_SEND &&
		    (s->flags & VACTOR_SQE_F_BUF) && tag_magic(s->tag) &&
		    s->len < 2 * sizeof(s->tag)) {
			scrub_consumed(p, s, m);
			s->tag = tag_random();
			p->sqes[i & (p->sq_n - 1)].tag = s->tag;
		}
	}
}

static void cp_enter(struct cport *p, u32 to_submit, u32 min, u32 flags,
		     u64 timeout_ns, bool bad_resv)
{
	struct vactor_enter e;
	u32 pending = p->pub - p->khead, must = 0, may = B(EINTR), head0, head,
	    i, ready;
	bool tail_bad = pending > p->sq_n;
	char mb[120], pb[120];
	int ret, err, fd = atomic_load(&p->fd);

	memset(&e, 0, sizeof(e));
	e.to_submit = to_submit;
	e.min_complete = min;
	e.flags = flags;
	e.timeout_ns = timeout_ns;
	if (bad_resv) {
		switch (rn(3)) {
		case 0:
			e.resv0 = 1 + rn(100);
			break;
		default:
			e.resv[rn(2)] = 1ULL << rn(64);
		}
		must |= B(EINVAL);
	}
	if (flags & ~VACTOR_ENTER_ALL)
		must |= B(EINVAL);
	if ((flags & VACTOR_ENTER_GETEVENTS) && min > p->cq_n)
		must |= B(EINVAL);
	if (to_submit && tail_bad)
		must |= B(EINVAL);
	if (to_submit && pending && !tail_bad) {
		may |= B(EBUSY);
		if (p->cq_bad)
			must |= B(EINVAL);
	}
	if (p->cq_bad)
		may |= B(EINVAL);
	if ((flags & VACTOR_ENTER_GETEVENTS) && (flags & VACTOR_ENTER_TIMEOUT))
		may |= B(ETIME);

	if (to_submit)
		cp_unstale(p);
	head0 = ld_acq(p->sq_head);
	ret = ioctl(fd, VACTOR_IOC_ENTER, &e);
	err = ret < 0 ? errno : 0;
	add_ops(1);
	stat_add(ST_ENTER, 1);
	if (!res_ok(must, may, err)) {
		FAIL(((u64)flags << 20) + err,
		     "ENTER{to_submit %u min_complete %u flags %#x timeout_ns %" PRIu64 " resv0 %u resv %#" PRIx64 ",%#" PRIx64 "} (SQ %u pending%s, CQ head %s) on %s: %s, uapi: %s%s",
		     to_submit, min, flags, timeout_ns, e.resv0, (u64)e.resv[0],
		     (u64)e.resv[1], pending, tail_bad ? " (tail corrupted)" : "",
		     p->cq_bad ? "corrupted" : "ok",
		     port_str(p, pb, sizeof(pb)), ret < 0 ? ename(err) : "success",
		     must ? "" : "success or ", mask_str(must | may, mb, sizeof(mb)));
	}
	head = ld_acq(p->sq_head);
	if (ret < 0) {
		if (head != head0)
			FAIL(30, "ENTER failed with %s but the SQ head moved %u -> %u",
			     ename(err), head0, head);
		return;
	}
	if ((u32)ret > to_submit || (u32)ret > pending ||
	    head != p->khead + (u32)ret) {
		FAIL(31, "ENTER{to_submit %u} with %u pending returned %d, SQ head %u -> %u",
		     to_submit, pending, ret, p->khead, head);
		p->khead = head;
		return;
	}
	for (i = 0; i < (u32)ret; i++) {
		u32 slot = (p->khead + i) & (p->sq_n - 1);

		ff_push(p, &p->shadow[slot], &p->meta[slot]);
		scrub_consumed(p, &p->shadow[slot], &p->meta[slot]);
	}
	p->khead += ret;
	stat_add(ST_SQE, ret);
	if (p->khead == p->sqt)
		p->send_used = 0;
	if ((flags & VACTOR_ENTER_GETEVENTS) && !ret && !p->cq_odd) {
		ready = ld_acq(p->cq_tail) - p->cqh;
		if (ready < min)
			FAIL(32, "ENTER{min_complete %u, flags %#x} returned 0 with %u CQEs ready",
			     min, flags, ready);
	}
}

/* Writes n random SQEs into the SQ (not published). */
static u32 cp_fill(struct cport *p, u32 n)
{
	u32 room = p->sq_n - (p->sqt - p->khead), i, slot;

	if (p->sqt - p->khead > p->sq_n)
		return 0;
	if (n > room)
		n = room;
	for (i = 0; i < n; i++) {
		slot = p->sqt & (p->sq_n - 1);
		gen_sqe(p, &p->shadow[slot], &p->meta[slot]);
		memcpy(&p->sqes[slot], &p->shadow[slot], sizeof(struct vactor_sqe));
		p->sqt++;
	}
	return n;
}

static void cp_publish(struct cport *p, u32 tail)
{
	p->pub = tail;
	st_rel(p->sq_tail, tail);
}

/* A batch through the ring: many SQEs, one ENTER. */
static void cp_batch(struct cport *p)
{
	u32 n, flags = 0, min = 0, to_submit, pending;
	u64 tmo = 0;

	if (p->ff_tail - p->ff_head > p->ff_cap / 2)
		cp_reap(p);
	n = cp_fill(p, 1 + rn(pm(200) ? (p->sq_n < 1024 ? p->sq_n : 1024) : 32));
	add_ops(n);
	cp_publish(p, p->sqt);
	pending = p->pub - p->khead;
	to_submit = pending;
	if (pm(100))
		to_submit = rn(pending + 2);
	else if (pm(20))
		to_submit = UINT32_MAX - rn(3);
	if (pm(300)) {
		flags = VACTOR_ENTER_GETEVENTS | VACTOR_ENTER_TIMEOUT;
		min = rn(4);
		tmo = rn(200000);
	}
	cp_enter(p, to_submit, min, flags, tmo, false);
	if (ld_acq(p->sq_tail) != p->pub)
		FAIL(33, "the kernel wrote the SQ tail");
	if (!pm(50))
		cp_reap(p);
	if (p->khead != p->pub && pm(500)) {
		/* EBUSY or a short submit: reap, then the rest. */
		cp_reap(p);
		cp_enter(p, p->pub - p->khead, 0, 0, 0, false);
		cp_reap(p);
	}
}

/* ENTER with odd arguments. */
static void cp_enter_odd(struct cport *p)
{
	u32 flags = rn(4), min = rn(8), ready;
	u64 tmo = rn(500000);

	if (pm(100))
		flags = (u32)r64();
	if (pm(50))
		min = p->cq_n + 1 + rn(4);	/* more than the CQ holds */
	if (pm(200))
		tmo = UINT64_MAX - rn(10);
	ready = ld_acq(p->cq_tail) - p->cqh;
	/* Never a wait without a deadline that could last. */
	if ((flags & VACTOR_ENTER_GETEVENTS) &&
	    (!(flags & VACTOR_ENTER_TIMEOUT) || tmo > 1000000)) {
		if (min > ready)
			min = ready;
	}
	if (pm(300) && p->sqt == p->khead) {
		cp_fill(p, 1 + rn(4));
		cp_publish(p, p->sqt);
	}
	cp_enter(p, pm(500) ? rn(8) : p->pub - p->khead, min, flags, tmo,
		 pm(150));
	cp_reap(p);
}

/* ---- CALL ---- */

static void cp_call(struct cport *p, bool rdonly_ok)
{
	struct vactor_call call;
	struct sq_meta m;
	bool stable, world;
	char b[600], cb[300], mb[120], pb[120];
	u64 want;
	int ret, err, i;

	gen_sqe(p, &call.sqe, &m);
	memset(&call.cqe, 0xa5, sizeof(call.cqe));
	stable = p->ff_head == p->ff_tail && p->pub == p->khead;
	world = stable;
	for (i = 0; i < NCPORT && world && p != &wk->rp; i++)
		if (wk->cp[i].state == P_READY &&
		    (wk->cp[i].ff_head != wk->cp[i].ff_tail ||
		     wk->cp[i].pub != wk->cp[i].khead))
			world = false;
	want = 0;
	if (stable)
		want = certain_rules(p, &call.sqe, &m, world && p != &wk->rp);
	ret = ioctl(atomic_load(&p->fd), VACTOR_IOC_CALL, &call);
	err = ret < 0 ? errno : 0;
	add_ops(1);
	stat_add(ST_CALL, 1);
	scrub_consumed(p, &call.sqe, &m);
	if (!res_ok(m.must, m.may, err)) {
		FAIL(((u64)call.sqe.opcode << 16) + err + 7,
		     "CALL %s on %s: %s, uapi: %s%s%s",
		     sqe_str(&call.sqe, b, sizeof(b)), port_str(p, pb, sizeof(pb)),
		     ename(err), m.must ? "" : "success or ",
		     mask_str(m.must | m.may, mb, sizeof(mb)),
		     stable ? " (port state known)" : "");
		return;
	}
	if (ret > 0 || call.cqe.event != VACTOR_EV_COMPLETE ||
	    call.cqe.opcode != call.sqe.opcode ||
	    call.cqe.user_data != call.sqe.user_data ||
	    call.cqe.res != (ret < 0 ? -err : 0) ||
	    (call.sqe.opcode != VACTOR_OP_SEND_BATCH && call.cqe.len)) {
		FAIL(40, "CALL %s returned %d (%s) with cqe %s",
		     sqe_str(&call.sqe, b, sizeof(b)), ret, ename(err),
		     cqe_str(&call.cqe, cb, sizeof(cb)));
		return;
	}
	if (call.sqe.opcode == VACTOR_OP_SEND_BATCH)
		batch_check(&call.sqe, &m, err, call.cqe.len, "CALL");
	if (err) {
		if (err == EAGAIN)
			stat_add(ST_EAGAIN, 1);
		return;
	}
	switch (call.sqe.opcode) {
	case VACTOR_OP_CREATE:
		if (!call.cqe.actor || ever_has(p, call.cqe.actor))
			FAIL(41, "CREATE returned id %" PRIu64 ", zero or reused",
			     (u64)call.cqe.actor);
		own_add(p, call.cqe.actor, m.name, m.nlen);
		break;
	case VACTOR_OP_HOST:
		if (call.cqe.actor != call.sqe.target)
			FAIL(42, "HOST of %" PRIu64 " answered actor %" PRIu64,
			     (u64)call.sqe.target, (u64)call.cqe.actor);
		own_add(p, call.sqe.target, "", 0);
		stat_add(ST_ADOPT, 1);
		break;
	case VACTOR_OP_DESTROY:
		own_del(p, call.sqe.actor);
		break;
	case VACTOR_OP_LOOKUP:
		if (!call.cqe.actor || (want && call.cqe.actor != want))
			FAIL(43, "LOOKUP %s found %" PRIu64 ", this process's actor of that name is %" PRIu64,
			     sqe_str(&call.sqe, b, sizeof(b)),
			     (u64)call.cqe.actor, want);
		break;
	}
	(void)rdonly_ok;
}

/* HOST dormant actors left behind (by closed ports and killed workers). */
static void cp_adopt(struct cport *p, int slot_hint, int n)
{
	struct vactor_call call;
	int ret, err;

	while (on(F_HOST) && n--) {
		memset(&call, 0, sizeof(call));
		call.sqe.opcode = VACTOR_OP_HOST;
		call.sqe.user_data = new_ud();
		call.sqe.target = pub_pick(slot_hint);
		if (!call.sqe.target || own_find(p, call.sqe.target) >= 0 ||
		    s_protected(call.sqe.target))
			continue;
		ret = ioctl(atomic_load(&p->fd), VACTOR_IOC_CALL, &call);
		err = ret < 0 ? errno : 0;
		add_ops(1);
		if (err && err != ENOENT && err != EBUSY && err != EPERM) {
			FAIL(err + 50, "CALL HOST %" PRIu64 ": %s, uapi: success, ENOENT, EBUSY or EPERM",
			     (u64)call.sqe.target, ename(err));
			continue;
		}
		if (err)
			continue;
		own_add(p, call.sqe.target, "", 0);
		stat_add(ST_ADOPT, 1);
		/* Most of them end here. */
		if (pm(700)) {
			u64 id = call.sqe.target;

			memset(&call, 0, sizeof(call));
			call.sqe.opcode = VACTOR_OP_DESTROY;
			call.sqe.actor = id;
			ret = ioctl(atomic_load(&p->fd), VACTOR_IOC_CALL, &call);
			err = ret < 0 ? errno : 0;
			add_ops(1);
			if (err)
				FAIL(err + 60, "CALL DESTROY of hosted actor %" PRIu64 ": %s",
				     (u64)call.sqe.actor, ename(err));
			else
				own_del(p, call.sqe.actor);
		}
	}
}

/* ---- poll ---- */

static void cp_poll(struct cport *p)
{
	struct pollfd pfd = { .fd = atomic_load(&p->fd), .events = POLLIN | POLLOUT };
	u32 before = 0, after, published;
	bool room;
	int ret;

	if (p->state == P_READY && !p->cq_odd && !p->rdonly)
		before = ld_acq(p->cq_tail) - p->cqh;
	ret = poll(&pfd, 1, pm(100) ? 1 : 0);
	add_ops(1);
	if (ret < 0) {
		FAIL(errno + 70, "poll: %s", ename(errno));
		return;
	}
	if (pfd.revents & ~(POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM | POLLERR))
		FAIL(71, "poll revents %#x", pfd.revents);
	if (p->state != P_READY || p->cq_odd || p->rdonly)
		return;
	after = ld_acq(p->cq_tail) - p->cqh;
	if (before && !(pfd.revents & POLLIN))
		FAIL(72, "poll: %u CQEs ready but no POLLIN (revents %#x)",
		     before, pfd.revents);
	if ((pfd.revents & POLLIN) && !after)
		FAIL(73, "poll: POLLIN with an empty CQ");
	published = ld_acq(p->sq_tail);
	room = published - p->khead < p->sq_n;
	if (!!(pfd.revents & POLLOUT) != room)
		FAIL(74, "poll: POLLOUT %d but the SQ has %u of %u pending",
		     !!(pfd.revents & POLLOUT), published - p->khead, p->sq_n);
}

/* ---- ring indices overwritten, then restored ---- */

static void cp_corrupt_sq(struct cport *p)
{
	u32 k;

	stat_add(ST_CORRUPT, 1);
	if (pm(500)) {
		/* Too far ahead: EINVAL, nothing consumed. */
		cp_bump(p);
		k = p->sq_n + 1 + rn(pm(500) ? 100 : UINT32_MAX - p->sq_n - 1);
		cp_publish(p, p->khead + k);
		if (pm(300))
			cp_poll(p);
		cp_enter(p, 1 + rn(8), 0, 0, 0, false);
		cp_publish(p, p->sqt);
		cp_bump(p);
		return;
	}
	/* Within range: SQEs left over from earlier rounds run again. */
	k = 1 + rn(p->sq_n < 512 ? p->sq_n : 512);
	if (p->khead + k - p->sqt <= p->sq_n && (int)(p->khead + k - p->sqt) > 0) {
		u32 i;

		p->stale = p->khead + k;	/* until consumed: cp_enter */
		for (i = p->sqt; i != p->khead + k; i++) {
			struct vactor_sqe *s = &p->shadow[i & (p->sq_n - 1)];

			/* Their send-area bytes are gone: unchecked now. */
			if ((s->flags & VACTOR_SQE_F_BUF) && tag_magic(s->tag)) {
				s->tag = tag_random();
				p->sqes[i & (p->sq_n - 1)].tag = s->tag;
			}
			/* A batch reads whatever is there now. */
			if (s->opcode == VACTOR_OP_SEND_BATCH)
				sqe_rules(s, p->par.send_size,
					  &p->meta[i & (p->sq_n - 1)]);
		}
		stat_add(ST_REPLAY, p->khead + k - p->sqt);
		p->sqt = p->khead + k;
	}
	cp_publish(p, p->khead + k);
	cp_enter(p, pm(500) ? k : rn(k + 1), 0, 0, 0, false);
	cp_reap(p);
	cp_publish(p, p->sqt);
}

/* Makes the kernel read (and take) this port's CQ head as it is now. */
static void cq_sync(struct cport *p)
{
	struct vactor_enter e = { .flags = VACTOR_ENTER_GETEVENTS };
	int ret = ioctl(atomic_load(&p->fd), VACTOR_IOC_ENTER, &e);

	add_ops(1);
	if (ret)
		FAIL(errno + 700, "ENTER{0, min 0} with the CQ head good: %d %s",
		     ret, ret < 0 ? ename(errno) : "");
}

static void cp_corrupt_cq(struct cport *p)
{
	u32 tail, bad;

	stat_add(ST_CORRUPT, 1);
	cp_reap(p);
	tail = ld_acq(p->cq_tail);
	cp_bump(p);
	p->cq_odd = true;
	p->cq_bad = true;
	if (pm(700)) {
		/* Ahead of the tail. */
		bad = tail + 1 + rn(pm(500) ? 8 : UINT32_MAX - p->cq_n - 2);
	} else {
		/*
		 * Behind a head the kernel has read, within the CQ's window or
		 * not: consumed CQEs stay consumed.  A wait that returns at
		 * once makes the kernel read ours first.
		 */
		cq_sync(p);
		bad = p->cqh - 1 - rn(pm(500) ? p->cq_n : UINT32_MAX - 1);
	}
	st_rel(p->cq_head, bad);
	switch (rn(4)) {
	case 0:
		cp_poll(p);
		break;
	case 1:
		cp_enter(p, 0, rn(3), VACTOR_ENTER_GETEVENTS |
			 VACTOR_ENTER_TIMEOUT, rn(100000), false);
		break;
	case 2:
		cp_fill(p, 1 + rn(4));
		cp_publish(p, p->sqt);
		cp_enter(p, p->pub - p->khead, 0, 0, 0, false);
		break;
	default:
		cp_call(p, false);
	}
	st_rel(p->cq_head, p->cqh);
	p->cq_bad = false;
	p->cq_odd = false;
	cp_bump(p);
	cp_reap(p);
}

/* ---- mmap, mprotect, munmap with random arguments ---- */

static const u64 region_off[4] = {
	VACTOR_OFF_SQ, VACTOR_OFF_CQ, VACTOR_OFF_SEND, VACTOR_OFF_RECV,
};

static u32 region_size(const struct cport *p, int i)
{
	switch (i) {
	case 0:
		return p->par.sq_size;
	case 1:
		return p->par.cq_size;
	case 2:
		return p->par.send_size;
	default:
		return p->par.recv_size;
	}
}

static void cp_mmap(struct cport *p)
{
	int i = rn(4), j, prot, flags, err, fd = atomic_load(&p->fd);
	u32 size = region_size(p, i), must = 0;
	u64 off = region_off[i];
	size_t len = size;
	bool known = true;
	void *a;
	char mb[80];

	stat_add(ST_MMAP, 1);
	switch (rn(10)) {
	case 0:
		off = (u64)rn(1u << 20) * PAGE;	/* some other offset */
		known = false;
		for (j = 0; j < 4; j++)
			if (off == region_off[j]) {
				known = true;
				i = j;
				size = region_size(p, j);
			}
		break;
	case 1:
		off += PAGE * (1 + rn(4));
		known = false;
		break;
	case 2:
		len = size - rn(PAGE);		/* rounds up to the size */
		break;
	case 3:
		len = size + PAGE * (1 + rn(4));
		break;
	case 4:
		if (size > PAGE)
			len = size - PAGE * (1 + rn(size / PAGE - 1));
		break;
	}
	prot = i == 3 ? PROT_READ : PROT_READ | PROT_WRITE;
	if (pm(400))
		prot = rn(8);
	flags = pm(850) ? MAP_SHARED : pm(600) ? MAP_PRIVATE :
		MAP_SHARED | MAP_POPULATE;
	if (p->rdonly && (prot & PROT_WRITE) && (flags & MAP_SHARED))
		must |= B(EACCES);	/* the mm refuses before the driver */
	if (!known || ((len + PAGE - 1) & ~(size_t)(PAGE - 1)) != size ||
	    !(flags & MAP_SHARED))
		must |= B(EINVAL);
	if ((prot & PROT_EXEC) || (i == 3 && (prot & PROT_WRITE)))
		must |= B(EACCES);
	a = mmap(NULL, len, prot, flags, fd, (off_t)off);
	err = a == MAP_FAILED ? errno : 0;
	add_ops(1);
	/*
	 * PROT_EXEC where /dev is mounted noexec: EPERM from the mm.  An
	 * O_RDONLY port: EINVAL (see cp_open).
	 */
	if (!res_ok(must, ((prot & PROT_EXEC) ? B(EPERM) : 0) |
			  (p->rdonly ? B(EINVAL) : 0), err))
		FAIL(err + 80, "mmap(len %zu, prot %#x, flags %#x, offset %#" PRIx64 ") of a region of %u bytes on %s: %s, uapi: %s",
		     len, prot, flags, off, size, p->rdonly ? "O_RDONLY port" : "port",
		     err ? ename(err) : "success",
		     must ? mask_str(must, mb, sizeof(mb)) : "success");
	if (err)
		return;
	if (prot & PROT_READ)
		(void)*(volatile u8 *)a;
	/* Never writable or executable later: RECV and all with EXEC. */
	if (pm(500)) {
		int np = i == 3 ? PROT_READ | PROT_WRITE : prot | PROT_EXEC;
		int r = mprotect(a, PAGE, np);

		err = r ? errno : 0;
		add_ops(1);
		if (err != EACCES)
			FAIL(err + 90, "mprotect(%#x) of a %s mapping: %s, uapi: EACCES",
			     np, i == 3 ? "RECV" : "vactor",
			     err ? ename(err) : "success");
	}
	if (pm(200))
		madvise(a, len, MADV_DONTNEED);	/* and never touched again */
	if (p->nx < XMAP_MAX && pm(700)) {
		p->x[p->nx].a = a;
		p->x[p->nx].len = len;
		p->nx++;
	} else {
		munmap(a, len);
	}
}

static void cp_munmap(struct cport *p)
{
	size_t len;
	u8 *a;
	int i;

	if (!p->nx)
		return;
	i = rn(p->nx);
	a = p->x[i].a;
	len = p->x[i].len;
	if (len > PAGE && pm(300)) {
		/*
		 * A page in the middle first, then the rest around it: never
		 * the hole again, which the racer's mmap may have taken
		 * meanwhile (its rings would go, and a later mapping would
		 * land where its CQ was).
		 */
		munmap(a + PAGE, PAGE);
		munmap(a, PAGE);
		if (len > 2 * PAGE)
			munmap(a + 2 * PAGE, len - 2 * PAGE);
	} else {
		munmap(a, len);
	}
	p->x[i] = p->x[--p->nx];
	add_ops(1);
}

/* ---- ioctls the driver doesn't have, and bad pointers ---- */

static void fz_ioctl_unknown(int fd)
{
	static const unsigned long cmds[] = {
		_IO(VACTOR_IOC_MAGIC, 3), _IOWR(VACTOR_IOC_MAGIC, 0, u32),
		_IOR(VACTOR_IOC_MAGIC, 1, struct vactor_enter),
		_IOW(VACTOR_IOC_MAGIC, 2, struct vactor_call),
		_IOWR(VACTOR_IOC_MAGIC, 0x7f, struct vactor_params),
		_IO('T', 1), FIONREAD, 0,
	};
	u8 buf[512];
	unsigned long cmd = pm(700) ? cmds[rn(8)] : (unsigned long)r64();
	int ret, err;

	if (cmd == VACTOR_IOC_SETUP || cmd == VACTOR_IOC_ENTER ||
	    cmd == VACTOR_IOC_CALL)
		return;
	memset(buf, 0, sizeof(buf));
	ret = ioctl(fd, cmd, buf);
	err = ret < 0 ? errno : 0;
	add_ops(1);
	if (err != ENOTTY)
		FAIL(err + 100, "unknown ioctl %#lx: %s, expected ENOTTY", cmd,
		     err ? ename(err) : "success");
}

/* SETUP, ENTER, CALL with pointers the kernel can't read or write. */
static void fz_badptr(struct cport *p)
{
	static __thread u8 *ro;
	unsigned long cmd;
	void *arg;
	int ret, err, fd = atomic_load(&p->fd);

	if (!ro) {
		ro = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ro == MAP_FAILED) {
			ro = NULL;
			return;
		}
		memset(ro, 0, 2 * PAGE);
		mprotect(ro, 2 * PAGE, PROT_READ);
	}
	switch (rn(4)) {
	case 0:
		cmd = VACTOR_IOC_ENTER;
		arg = (void *)(uintptr_t)(pm(500) ? 8 : 0xffff800000000000ULL);
		break;
	case 1:
		cmd = VACTOR_IOC_CALL;
		arg = (void *)(uintptr_t)(pm(500) ? 0 : 0x10);
		break;
	case 2:
		/* A NOP CALL in read-only memory: runs, the result can't be stored. */
		cmd = VACTOR_IOC_CALL;
		arg = ro;
		break;
	default:
		cmd = VACTOR_IOC_SETUP;
		arg = pm(500) ? (void *)ro : (void *)(uintptr_t)0x8;
	}
	ret = ioctl(fd, cmd, arg);
	err = ret < 0 ? errno : 0;
	add_ops(1);
	/* EFAULT is no uapi errno: the universal answer to a bad pointer. */
	if (err != EFAULT && !(cmd == VACTOR_IOC_SETUP && err == EBUSY) &&
	    !(p->state != P_READY && err == EBADFD))
		FAIL(err + 110, "ioctl %#lx with pointer %p: %s, expected EFAULT",
		     cmd, arg, err ? ename(err) : "success");
}

/* ---- /proc/vactor ---- */

static void fz_proc(void)
{
	static const char *const files[] = {
		"/proc/vactor/actors", "/proc/vactor/ports", "/proc/vactor/stats",
	};
	char buf[4096];
	const char *f = files[rn(3)];
	ssize_t n;
	int fd;

	fd = open(f, O_RDONLY | O_CLOEXEC);
	add_ops(1);
	stat_add(ST_PROC, 1);
	if (fd < 0) {
		FAIL(errno + 120, "open(%s): %s", f, ename(errno));
		return;
	}
	/* Short reads too: the seq_file restarts in the middle. */
	while ((n = read(fd, buf, pm(300) ? 1 + rn(64) : sizeof(buf))) > 0)
		if (pm(2))
			break;
	if (n < 0)
		FAIL(errno + 121, "read(%s): %s", f, ename(errno));
	close(fd);
}

/* =====================================================================
 * Structured traffic
 * ===================================================================== */

#define S_UD		(1ULL << 63)
#define S_NBIT		(1ULL << 61)
#define S_NOP_UD	(S_UD | S_NBIT)
/* A batch: S_UD, S_BBIT, its index in S->sb, a count. */
#define S_BBIT		(1ULL << 60)

static void s_note_id(u64 id)
{
	if (S->nids < S_IDS)
		S->ids[S->nids++] = id;
	atomic_store(&my_slot()->sids[S->nids % SIDS_N], id);
}

static bool s_known(u64 id)
{
	int i;

	for (i = 0; i < S->nids; i++)
		if (S->ids[i] == id)
			return true;
	return S->nids >= S_IDS;
}

static int s_actor_index(u64 id)
{
	int i;

	for (i = 0; i < S_ACTORS; i++)
		if (S->a[i].id == id)
			return i;
	return -1;
}

/*
 * user_data of a structured send: S_UD, the pair's index and the sequence
 * number; S_RBIT for a send to another worker (a remote pair).
 */
#define S_RBIT		(1ULL << 62)

static bool s_alive(u64 id)
{
	int i;

	for (i = 0; i < S_ACTORS; i++)
		if (S->a[i].id == id && !S->a[i].lost)
			return true;
	return false;
}

/*
 * While s_reopen() has a structured port closed, its actors are dormant and
 * anyone may HOST them, and then DESTROY them: this worker's racer thread
 * (pick_target() hands it our structured ids) or another worker's chaos
 * port (random ids).  s_reopen() learns of it only from its HOST (EBUSY or
 * ENOENT: s_lose()), so an ENOENT for such a target before that is no
 * kernel error.
 */
static bool s_dormant(u64 id)
{
	int i = s_actor_index(id);

	return i >= 0 && !S->a[i].lost && !S->open[S->a[i].port];
}

static struct spair *s_pair(u64 from, u64 to, int *idx)
{
	int i, free_i = -1;

	for (i = 0; i < S_PAIRS; i++) {
		if (!S->pair[i].used) {
			if (free_i < 0)
				free_i = i;
			continue;
		}
		if (S->pair[i].from == from && S->pair[i].to == to) {
			*idx = i;
			return &S->pair[i];
		}
	}
	if (free_i < 0)
		return NULL;	/* full until the next audit frees some */
	memset(&S->pair[free_i], 0, sizeof(S->pair[free_i]));
	S->pair[free_i].from = from;
	S->pair[free_i].to = to;
	S->pair[free_i].used = true;
	S->pair[free_i].to_dead = !s_alive(to);
	*idx = free_i;
	return &S->pair[free_i];
}

static struct spair *s_pair_by_ud(u64 ud, u32 *seq)
{
	u32 i = (u32)(ud >> 32) & 0xffff;

	if ((ud & (S_UD | S_RBIT | S_NBIT | S_BBIT)) != S_UD || i >= S_PAIRS ||
	    !S->pair[i].used)
		return NULL;
	*seq = (u32)ud;
	return &S->pair[i];
}

static bool s_remote_ud(u64 ud)
{
	return (ud & (S_UD | S_RBIT)) == (S_UD | S_RBIT);
}

static bool s_batch_ud(u64 ud)
{
	return (ud & (S_UD | S_RBIT | S_BBIT)) == (S_UD | S_BBIT);
}

static struct sbatch *s_batch_by_ud(u64 ud)
{
	u32 i = (u32)(ud >> 32) & 0xffff;

	if (!s_batch_ud(ud) || i >= SB_N || !S->sb[i].used ||
	    S->sb[i].ud != ud)
		return NULL;
	return &S->sb[i];
}

/* Message i's pair, if it is still the same one (pairs end at audits). */
static struct spair *s_batch_pair(const struct sbatch *b, u32 i)
{
	struct spair *pr;

	if (b->msg[i].pair < 0)
		return NULL;
	pr = &S->pair[b->msg[i].pair];
	if (!pr->used || pr->from != b->from || pr->to != b->msg[i].to)
		return NULL;
	return pr;
}

static u32 s_unsent_slot(u64 key)
{
	u32 i = (u32)mix64(key) % SX_N, n;

	for (n = 0; n < SX_N; n++, i = (i + 1) % SX_N)
		if (!S->unsent[i] || S->unsent[i] == key)
			return i;
	return UINT32_MAX;
}

/* Message seq of pair idx was in a batch and never sent: it never arrives. */
static void s_unsent_add(int idx, u32 seq)
{
	u64 key = ((u64)idx << 32 | seq) + 1;
	u32 i;

	if (S->nunsent >= SX_N * 3 / 4)
		return;		/* full until the audit: the books still count */
	i = s_unsent_slot(key);
	if (i != UINT32_MAX && !S->unsent[i]) {
		S->unsent[i] = key;
		S->nunsent++;
	}
}

static bool s_unsent_has(int idx, u32 seq)
{
	u64 key = ((u64)idx << 32 | seq) + 1;
	u32 i = s_unsent_slot(key);

	return i != UINT32_MAX && S->unsent[i] == key;
}

/* A batch that never reached the kernel: none of its messages was sent. */
static void s_batch_cancel(struct sbatch *b)
{
	struct spair *pr;
	u32 i;

	for (i = 0; i < b->n; i++) {
		pr = s_batch_pair(b, i);
		if (pr) {
			pr->sent--;
			s_unsent_add(b->msg[i].pair, b->msg[i].seq);
		}
	}
	b->used = false;
}

/*
 * A structured message of pair @pr refused with @res, booked as the audit
 * counts it; @kind and @kind + 1 - errno are the failure kinds.
 */
static void s_book_refused(struct spair *pr, int res, const char *via,
			   const char *what, u32 seq, int kind)
{
	switch (res) {
	case -EDQUOT:		/* max_kmem_kb_per_user: refused like EAGAIN */
	case -EAGAIN:
		pr->eagain++;
		stat_add(ST_EAGAIN, 1);
		break;
	case -ENOENT:
		if (!pr->to_dead && !pr->lost && !s_dormant(pr->to))
			FAIL(kind, "%s %s %" PRIu64 "->%" PRIu64 " seq %u: ENOENT while the target lives",
			     via, what, pr->from, pr->to, seq);
		pr->enoent++;
		break;
	default:
		FAIL(kind + 1 + res, "structured %s %s %" PRIu64 "->%" PRIu64 ": res %s, uapi: success, EAGAIN, ENOENT, EDQUOT",
		     via, what, pr->from, pr->to, ename(-res));
	}
}

/*
 * A batch's outcome: messages [0, n) were sent; with res != 0 the one at n
 * failed with it, as a SEND would, and none after it was sent.
 */
static void s_batch_done(struct sbatch *b, int res, u32 n, const char *via)
{
	struct spair *pr;
	u32 i;

	stat_add(ST_BATCH, 1);
	stat_add(ST_BMSG, n);
	if (res ? n >= b->n : n != b->n) {
		FAIL(205, "structured %s SEND_BATCH of %u messages from %" PRIu64 ": res %s with len %u",
		     via, b->n, b->from, ename(-res), n);
		n = res ? b->n - 1 : b->n;
	}
	if (res) {
		pr = s_batch_pair(b, n);
		if (b->msg[n].pair < 0) {
			if (res != -EAGAIN && res != -ENOENT && res != -EDQUOT)
				FAIL(206, "batch message to another worker: res %s, uapi: success, EAGAIN, ENOENT, EDQUOT",
				     ename(-res));
		} else if (pr) {
			s_book_refused(pr, res, via, "batch message",
				       b->msg[n].seq, 207);
		}
		for (i = n + 1; i < b->n; i++) {
			pr = s_batch_pair(b, i);
			if (pr) {
				pr->sent--;
				s_unsent_add(b->msg[i].pair, b->msg[i].seq);
			}
		}
	}
	b->used = false;
}

/*
 * Batches of port pi whose SQE the kernel consumed before SQ head `head`
 * with no completion found once the CQ was drained: quiet, all sent.
 */
static void s_batch_settle(int pi, u32 head, bool all)
{
	int i;

	for (i = 0; i < SB_N; i++)
		if (S->sb[i].used && S->sb[i].port == pi &&
		    (all || (int)(head - S->sb[i].sq_idx) > 0)) {
			S->sb[i].used = false;
			stat_add(ST_BATCH, 1);
			stat_add(ST_BMSG, S->sb[i].n);
		}
}

static u32 s_len(void)
{
	u32 r = rn(1000);

	if (r < 600)
		return rn(VACTOR_INLINE_MAX + 1);
	if (r < 900)
		return 65 + rn(2000);
	if (r < 990 || !on(F_BIG))
		return 1 + rn(16384);
	return 1 + rn(VACTOR_MSG_MAX);
}

static void s_complete(int pi, const struct vactor_cqe *c)
{
	struct spair *pr;
	char cb[300];
	u32 seq;

	if (c->user_data == S_NOP_UD && c->opcode == VACTOR_OP_NOP && !c->res)
		return;
	if (s_batch_ud(c->user_data)) {
		struct sbatch *b = s_batch_by_ud(c->user_data);

		if (!b || c->opcode != VACTOR_OP_SEND_BATCH || b->port != pi)
			FAIL(204, "structured port %d: completion for no batch in flight: %s",
			     pi, cqe_str(c, cb, sizeof(cb)));
		else
			s_batch_done(b, c->res, c->len, "ring");
		return;
	}
	if (s_remote_ud(c->user_data) && c->opcode == VACTOR_OP_SEND) {
		if (c->res && c->res != -EAGAIN && c->res != -ENOENT &&
		    c->res != -EDQUOT)
			FAIL(199, "send to another worker: res %s, uapi: success, EAGAIN, ENOENT, EDQUOT",
			     ename(-c->res));
		return;
	}
	if (c->len)
		FAIL(203, "structured port %d: completion with len %u (uapi: 0 but for SEND_BATCH): %s",
		     pi, c->len, cqe_str(c, cb, sizeof(cb)));
	pr = s_pair_by_ud(c->user_data, &seq);
	if (!pr || c->opcode != VACTOR_OP_SEND) {
		FAIL(200, "structured port %d: completion for no SQE: %s", pi,
		     cqe_str(c, cb, sizeof(cb)));
		return;
	}
	if (c->res)		/* else an ACK */
		s_book_refused(pr, c->res, "ring", "send", seq, 201);
}

static void s_xrx(const struct vactor_cqe *c)
{
	u32 i = (u32)mix64(c->source * 31 + c->actor) % XRX_N, n, seq = (u32)c->tag;

	for (n = 0; n < XRX_N; n++, i = (i + 1) % XRX_N) {
		if (!S->xrx[i].src) {
			S->xrx[i].src = c->source;
			S->xrx[i].dst = c->actor;
			S->xrx[i].last = seq;
			return;
		}
		if (S->xrx[i].src == c->source && S->xrx[i].dst == c->actor)
			break;
	}
	if (n == XRX_N) {
		memset(S->xrx, 0, sizeof(S->xrx));
		return;
	}
	if (seq <= S->xrx[i].last)
		FAIL(210, "cross-process %" PRIu64 "->%" PRIu64 ": seq %u after %u (flags %#x): order or duplicate",
		     (u64)c->source, (u64)c->actor, seq, S->xrx[i].last, c->flags);
	else
		S->xrx[i].last = seq;
	stat_add(ST_XMSG, 1);
}

static void s_handle(int pi, const struct vactor_cqe *c)
{
	const struct vact_port *p = &S->port[pi];
	const u8 *payload;
	struct spair *pr;
	char cb[300];
	u32 seq;
	int idx;

	switch (c->event) {
	case VACTOR_EV_COMPLETE:
		s_complete(pi, c);
		return;
	case VACTOR_EV_MSG:
	case VACTOR_EV_UNDELIVERED:
		break;
	default:
		FAIL(220, "structured port: unknown event %s",
		     cqe_str(c, cb, sizeof(cb)));
		return;
	}
	if (!s_known(c->actor))
		FAIL(221, "structured port %d: event for actor %" PRIu64 " it never hosted: %s",
		     pi, (u64)c->actor, cqe_str(c, cb, sizeof(cb)));
	if (!check_msg_cqe(c, p->recv, (u32)p->recv_size, &payload))
		return;
	if (c->event == VACTOR_EV_UNDELIVERED) {
		if (s_remote_ud(c->user_data))
			return;
		if (s_batch_ud(c->user_data)) {
			/* A batch message: its pair from the event, seq the tag. */
			if ((u32)(c->tag >> 32) == XMAGIC)
				return;
			pr = NULL;
			for (idx = 0; idx < S_PAIRS; idx++)
				if (S->pair[idx].used &&
				    S->pair[idx].from == c->actor &&
				    S->pair[idx].to == c->source) {
					pr = &S->pair[idx];
					break;
				}
			seq = (u32)c->tag;
			if (!pr || (u32)(c->tag >> 32) != SMAGIC ||
			    seq > pr->next_seq || s_unsent_has(idx, seq)) {
				FAIL(225, "EV_UNDELIVERED for no batch message of ours%s: %s",
				     pr && s_unsent_has(idx, seq) ?
				     " (one past its batch's len)" : "",
				     cqe_str(c, cb, sizeof(cb)));
				return;
			}
			pr->undeliv++;
			return;
		}
		pr = s_pair_by_ud(c->user_data, &seq);
		if (!pr || pr->from != c->actor || pr->to != c->source ||
		    (u32)c->tag != seq) {
			FAIL(222, "EV_UNDELIVERED for no send of ours: %s",
			     cqe_str(c, cb, sizeof(cb)));
			return;
		}
		pr->undeliv++;
		return;
	}
	if ((u32)(c->tag >> 32) == XMAGIC) {
		s_xrx(c);
		return;
	}
	if ((u32)(c->tag >> 32) != SMAGIC)
		return;		/* chaos traffic */
	pr = NULL;
	for (idx = 0; idx < S_PAIRS; idx++)
		if (S->pair[idx].used && S->pair[idx].from == c->source &&
		    S->pair[idx].to == c->actor) {
			pr = &S->pair[idx];
			break;
		}
	seq = (u32)c->tag;
	if (!pr) {
		/* A pair dropped when one of its actors was lost: late mail. */
		if (!s_known(c->source))
			FAIL(223, "structured message from no pair of ours: %s",
			     cqe_str(c, cb, sizeof(cb)));
		return;
	}
	if (s_unsent_has(idx, seq)) {
		FAIL(226, "pair %" PRIu64 "->%" PRIu64 ": seq %u arrived, but its batch stopped before it (flags %#x): %s",
		     pr->from, pr->to, seq, c->flags, cqe_str(c, cb, sizeof(cb)));
		return;
	}
	if (seq <= pr->last_rx || seq > pr->next_seq) {
		FAIL(224, "pair %" PRIu64 "->%" PRIu64 ": seq %u after %u (sent up to %u, flags %#x): %s",
		     pr->from, pr->to, seq, pr->last_rx, pr->next_seq, c->flags,
		     seq <= pr->last_rx ? "duplicate or out of order" :
					  "never sent");
		return;
	}
	pr->last_rx = seq;
	pr->rx++;
	stat_add(ST_SMSG, 1);
}

static void s_reap(int pi)
{
	struct vact_port *p = &S->port[pi];
	struct vactor_cqe *cqe, c;
	int ret, n = 0;
	u32 head;

	if (!S->open[pi])
		return;
	/* Consumed before this: its completion, if any, is in the CQ. */
	head = ld_acq(p->sq.head);
	for (;;) {
		ret = vact_peek_cqe(p, &cqe);
		if (ret == -EAGAIN) {
			s_batch_settle(pi, head, false);
			break;
		}
		if (ret) {
			FAIL(-ret + 230, "structured port %d: ENTER to refill the CQ: %s",
			     pi, ename(-ret));
			break;
		}
		c = *cqe;
		s_handle(pi, &c);
		vact_cq_advance(p, 1);
		n++;
	}
	stat_add(ST_REAPED, n);
}

static void s_submit(int pi)
{
	int ret;

	if (!S->open[pi])
		return;
	ret = vact_submit(&S->port[pi]);
	add_ops(1);
	if (ret == -EBUSY && !S->stall[pi]) {
		s_reap(pi);
		ret = vact_submit(&S->port[pi]);
	}
	if (ret < 0 && ret != -EBUSY)
		FAIL(-ret + 240, "structured port %d: submit: %s", pi, ename(-ret));
}

/*
 * Submits what the structured port has queued; true when the kernel took
 * all of it, so that a CALL now does not overtake any of this port's SQEs.
 */
static bool s_sq_drained(int pi)
{
	const struct vact_port *p = &S->port[pi];

	s_submit(pi);
	return ld_acq(p->sq.head) == p->sq.sqe_tail;
}

/* One sequence-numbered message from actor @fi to @to. */
static void s_send(int fi, u64 to, bool remote)
{
	struct vact_port *p;
	struct vactor_sqe *sqe, local;
	struct vactor_cqe cqe;
	struct spair *pr = NULL;
	u64 tag, ud;
	u32 len, seq;
	int idx, pi = S->a[fi].port, ret, tries;
	bool call = pm(200) || S->stall[pi];

	if (S->a[fi].lost || !S->open[pi])
		return;
	p = &S->port[pi];
	if (call && !s_sq_drained(pi))
		return;
	if (remote) {
		seq = ++S->a[fi].xseq;
		tag = ((u64)XMAGIC << 32) | seq;
		ud = S_UD | S_RBIT | seq;
		len = rn(256);
	} else {
		pr = s_pair(S->a[fi].id, to, &idx);
		if (!pr)
			return;
		seq = ++pr->next_seq;
		tag = ((u64)SMAGIC << 32) | seq;
		ud = S_UD | ((u64)idx << 32) | seq;
		len = s_len();
		pr->sent++;
	}
	pat_fill(S->buf, len, tag);
	add_ops(1);

	for (tries = 0; !call && tries < 2; tries++) {
		sqe = vact_get_sqe(p);
		if (!sqe) {
			s_submit(pi);
			continue;
		}
		ret = vact_prep_send(p, sqe, S->a[fi].id, to, S->buf, len, tag);
		if (ret) {
			/* No send-area room: make it a no-op, submit, retry. */
			vact_prep_nop(sqe, S_NOP_UD);
			s_submit(pi);
			continue;
		}
		sqe->user_data = ud;
		if (pm(200))
			sqe->flags |= VACTOR_SQE_F_ACK;
		return;
	}
	/* Through CALL, unless it would overtake SQEs still in the SQ. */
	if (ld_acq(p->sq.head) != p->sq.sqe_tail) {
		if (pr)
			pr->sent--;
		return;
	}
	ret = vact_prep_send(p, &local, S->a[fi].id, to, S->buf, len, tag);
	if (ret) {
		len = rn(VACTOR_INLINE_MAX + 1);
		vact_prep_send(p, &local, S->a[fi].id, to, S->buf, len, tag);
	}
	local.user_data = ud;
	ret = vact_call(p, &local, &cqe);
	stat_add(ST_CALL, 1);
	if (ret == -EDQUOT)
		ret = -EAGAIN;		/* refused, nothing queued: the same books */
	if (ret && ret != -EAGAIN && ret != -ENOENT) {
		FAIL(-ret + 250, "structured CALL send %" PRIu64 "->%" PRIu64 " len %u: %s, uapi: success, EAGAIN, ENOENT",
		     S->a[fi].id, to, len, ename(-ret));
		if (pr)
			pr->sent--;
		return;
	}
	if (cqe.user_data != ud || cqe.opcode != VACTOR_OP_SEND ||
	    cqe.event != VACTOR_EV_COMPLETE || cqe.res != ret)
		FAIL(251, "structured CALL send: completion for another SQE");
	if (ret == -EAGAIN)
		stat_add(ST_EAGAIN, 1);
	if (!pr)
		return;
	if (ret == -EAGAIN) {
		pr->eagain++;
	} else if (ret == -ENOENT) {
		if (!pr->to_dead && !pr->lost && !s_dormant(to))
			FAIL(252, "structured CALL send %" PRIu64 "->%" PRIu64 ": ENOENT while the target lives",
			     S->a[fi].id, to);
		pr->enoent++;
	}
}

static u64 s_remote_inbox(void)
{
	int s = rn(shm->nprocs);

	if (s == me)
		return 0;
	return atomic_load(&shm->slot[s].inbox);
}

/*
 * Up to SB_MSGS sequence-numbered messages from actor @fi in one SEND_BATCH
 * (to @to_fixed, or to any of our actors and other workers' inboxes),
 * written into the send area with vact_batch_add(), through the SQ or
 * CALL.  Counted as sent when written; s_batch_done() takes back those
 * after a failed one.
 */
static void s_send_batch(int fi, u64 to_fixed)
{
	struct vactor_sqe *sqe = NULL, local;
	struct vactor_cqe cqe;
	struct vact_batch vb;
	struct vact_port *p;
	struct spair *pr;
	struct sbatch *b;
	int pi = S->a[fi].port, bi, idx, ret, k, i, ti;
	bool call = pm(200) || S->stall[pi], remote;
	u64 to, tag;
	u32 len, seq;
	u8 flags, *d;
	char cb[300];

	if (S->a[fi].lost || !S->open[pi])
		return;
	p = &S->port[pi];
	for (bi = 0; bi < SB_N && S->sb[bi].used; bi++)
		;
	if (bi == SB_N)
		return;
	b = &S->sb[bi];
	if (call && !s_sq_drained(pi))
		return;
	ret = vact_batch_start(p, &vb, pm(100) ? BHDR + rn(4096) : 0);
	if (ret == -ENOSPC && !call) {
		s_submit(pi);
		ret = vact_batch_start(p, &vb, 0);
	}
	if (ret) {
		if (ret != -ENOSPC)
			FAIL(-ret + 255, "structured vact_batch_start: %s", ename(-ret));
		return;
	}
	memset(b, 0, sizeof(*b));
	b->from = S->a[fi].id;
	b->port = pi;
	for (k = 1 + rn(SB_MSGS), i = 0; i < k; i++) {
		remote = false;
		idx = -1;
		pr = NULL;
		if (to_fixed) {
			to = to_fixed;
		} else if (pm(100) && (to = s_remote_inbox()) &&
			   s_actor_index(to) < 0) {
			remote = true;
		} else {
			ti = rn(S_ACTORS);
			if (S->a[ti].lost)
				continue;
			to = S->a[ti].id;
		}
		if (remote) {
			seq = S->a[fi].xseq + 1;
			tag = ((u64)XMAGIC << 32) | seq;
			len = rn(256);
		} else {
			pr = s_pair(b->from, to, &idx);
			if (!pr)
				continue;
			seq = pr->next_seq + 1;
			tag = ((u64)SMAGIC << 32) | seq;
			len = s_len();
		}
		d = vact_batch_add(&vb, to, len, tag);
		if (!d)
			break;		/* full: send what it has */
		pat_fill(d, len, tag);
		if (remote) {
			S->a[fi].xseq = seq;
		} else {
			pr->next_seq = seq;
			pr->sent++;
		}
		b->msg[b->n].to = to;
		b->msg[b->n].pair = idx;
		b->msg[b->n].seq = seq;
		b->n++;
		add_ops(1);
	}
	if (!b->n)
		return;		/* nothing taken from the send area */
	b->ud = S_UD | S_BBIT | ((u64)bi << 32) | ++S->sb_seq;
	flags = pm(300) ? VACTOR_SQE_F_ACK : 0;
	if (!call) {
		sqe = vact_get_sqe(p);
		if (!sqe) {
			/* Not in flight yet: the reap this may do settles others. */
			s_submit(pi);
			sqe = vact_get_sqe(p);
		}
		b->used = true;
		if (sqe) {
			ret = vact_prep_send_batch(sqe, &vb, b->from, flags, b->ud);
			if (ret)
				FAIL(-ret + 256, "vact_prep_send_batch: %s", ename(-ret));
			b->sq_idx = p->sq.sqe_tail - 1;
			return;
		}
		/* Through CALL, unless it would overtake SQEs still in the SQ. */
		if (ld_acq(p->sq.head) != p->sq.sqe_tail) {
			s_batch_cancel(b);
			return;
		}
	}
	b->used = true;
	memset(&local, 0, sizeof(local));
	ret = vact_prep_send_batch(&local, &vb, b->from, flags, b->ud);
	if (ret) {
		FAIL(-ret + 256, "vact_prep_send_batch: %s", ename(-ret));
		s_batch_cancel(b);
		return;
	}
	ret = vact_call(p, &local, &cqe);
	stat_add(ST_CALL, 1);
	if (cqe.user_data != b->ud || cqe.opcode != VACTOR_OP_SEND_BATCH ||
	    cqe.event != VACTOR_EV_COMPLETE || cqe.res != ret)
		FAIL(257, "structured CALL SEND_BATCH returned %d with a completion for another SQE: %s",
		     ret, cqe_str(&cqe, cb, sizeof(cb)));
	s_batch_done(b, ret, cqe.len, "CALL");
}

static void s_burst(void)
{
	int k = 1 + rn(16), fi, ti, i;
	u64 to;

	while (k--) {
		fi = rn(S_ACTORS);
		if (pm(100)) {
			s_send_batch(fi, 0);
			continue;
		}
		if (pm(100) && (to = s_remote_inbox())) {
			if (s_actor_index(to) < 0)
				s_send(fi, to, true);
			continue;
		}
		ti = rn(S_ACTORS);
		if (S->a[ti].lost)
			continue;
		s_send(fi, S->a[ti].id, false);
	}
	for (i = 0; i < S_PORTS; i++)
		if (!S->stall[i] && pm(700))
			s_submit(i);
}

/* Prints the lines of a /proc/vactor file whose first field is @id. */
static void proc_show(const char *file, u64 id)
{
	char buf[65536], want[32];
	ssize_t n, got = 0;
	char *l, *save;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	snprintf(want, sizeof(want), "%" PRIu64 "\t", id);
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, want, strlen(want)))
			out("#   %s: %s", file, l);
}

/* The kernel's view of a pair that doesn't add up. */
static void s_explain(const struct spair *pr)
{
	int i;

	proc_show("/proc/vactor/actors", pr->from);
	proc_show("/proc/vactor/actors", pr->to);
	for (i = 0; i < S_PORTS; i++)
		if (S->open[i]) {
			struct vact_port *p = &S->port[i];

			out("#   structured port %d: id %u sq head %u tail %u cq head %u tail %u flags %#x",
			    i, p->id, ld_acq(p->sq.head), p->sq.sqe_tail,
			    ld_acq(p->cq.head), ld_acq(p->cq.tail),
			    ld_acq(p->cq.flags));
			proc_show("/proc/vactor/ports", p->id);
		}
	for (i = 0; i < S_ACTORS; i++)
		out("#   structured actor %d: id %" PRIu64 " port %d%s", i,
		    S->a[i].id, S->a[i].port, S->a[i].lost ? " lost" : "");
}

static bool s_balanced(bool report)
{
	struct spair *pr;
	bool ok = true, shown = false;
	int i;

	for (i = 0; i < S_PAIRS; i++) {
		pr = &S->pair[i];
		if (!pr->used || pr->lost)
			continue;
		if (pr->sent == pr->rx + pr->eagain + pr->enoent + pr->undeliv)
			continue;
		ok = false;
		if (report)
			FAIL(260, "audit: pair %" PRIu64 "->%" PRIu64 "%s: sent %" PRIu64 " != received %" PRIu64 " + EAGAIN %" PRIu64 " + ENOENT %" PRIu64 " + undelivered %" PRIu64 " (last seq %u of %u)",
			     pr->from, pr->to, pr->to_dead ? " (target destroyed)" : "",
			     pr->sent, pr->rx, pr->eagain, pr->enoent, pr->undeliv,
			     pr->last_rx, pr->next_seq);
		if (report && !shown) {
			shown = true;
			s_explain(pr);
		}
	}
	return ok;
}

/* Drains everything in flight between our actors, then checks the books. */
static void s_quiesce_audit(void)
{
	int round, i;
	bool drained;

	for (i = 0; i < S_PORTS; i++)
		S->stall[i] = 0;
	for (round = 0; round < 2000; round++) {
		drained = true;
		for (i = 0; i < S_PORTS; i++) {
			struct vact_port *p = &S->port[i];

			if (!S->open[i])
				continue;
			s_submit(i);
			s_reap(i);
			if (ld_acq(p->sq.head) != p->sq.sqe_tail ||
			    (ld_acq(p->cq.flags) & VACTOR_CQ_F_BACKLOG))
				drained = false;
		}
		if (drained && s_balanced(false))
			break;
		if (round > 20) {
			/* Let the others run: wait a little on a port. */
			struct vact_port *p = &S->port[rn(S_PORTS)];

			if (S->open[p == &S->port[0] ? 0 : 1])
				vact_submit_and_wait(p, 1, 1000000);
		}
	}
	s_balanced(true);
	stat_add(ST_AUDIT, 1);
	S->since_audit = 0;
	/* Drained: no batch is in flight, nothing unsent can arrive late. */
	for (i = 0; i < S_PORTS; i++)
		if (S->open[i])
			s_batch_settle(i, ld_acq(S->port[i].sq.head), false);
	memset(S->unsent, 0, sizeof(S->unsent));
	S->nunsent = 0;
	/*
	 * Nothing between our actors is in flight now: pairs with an actor
	 * that is gone are final, their slots free.
	 */
	for (i = 0; i < S_PAIRS; i++) {
		struct spair *pr = &S->pair[i];

		if (pr->used && (pr->lost || pr->to_dead ||
				 s_actor_index(pr->from) < 0 ||
				 s_actor_index(pr->to) < 0))
			pr->used = false;
	}
}

static void s_open_port(int pi)
{
	struct vactor_params par;
	int ret;

	memset(&par, 0, sizeof(par));
	par.sq_entries = 16u << rn(3);
	par.cq_entries = pm(500) ? 0 : par.sq_entries << rn(3);
	par.send_size = 65536u << rn(3);
	par.recv_size = 65536u << rn(3);
	ret = vact_port_open(&S->port[pi], &par);
	add_ops(1);
	S->open[pi] = !ret;
	S->stall[pi] = 0;
	if (ret && ret != -EDQUOT)
		FAIL(-ret + 270, "structured port open: %s", ename(-ret));
}

/* Actor i is out of our hands: its pairs leave the books. */
static void s_lose(int i)
{
	int j;

	S->a[i].lost = true;
	for (j = 0; j < S_PAIRS; j++)
		if (S->pair[j].used && (S->pair[j].to == S->a[i].id ||
					S->pair[j].from == S->a[i].id))
			S->pair[j].lost = true;
}

static void s_new_actor(int i, int pi)
{
	char name[48];
	u64 id = 0;
	int ret;

	/* The parent's pid: names of an earlier run in this boot live on. */
	snprintf(name, sizeof(name), "s%d.%d.%u.%d.%" PRIu64, (int)getppid(),
		 me, my_gen, i, ++name_next);
	ret = S->open[pi] ? vact_create(&S->port[pi], pm(500) ? name : NULL,
					rn(4), &id) : -EBADF;
	add_ops(1);
	S->a[i].id = id;
	S->a[i].port = pi;
	S->a[i].lost = !!ret;
	if (ret) {
		if (ret != -EDQUOT && ret != -EBADF)
			FAIL(-ret + 280, "structured CREATE: %s", ename(-ret));
		return;
	}
	s_note_id(id);
	max_id_note(id);
	if (!i)
		atomic_store(&my_slot()->inbox, id);
}

/*
 * Closes a structured port mid-traffic and hosts its actors on a new one.
 * Completions in the CQ are read first (a closed port's completions are
 * gone); messages and reports in it come back, marked redelivered, in
 * order, to the new host.  SQEs never consumed were never sent.
 */
static void s_reopen(int pi)
{
	struct vact_port *p = &S->port[pi];
	struct spair *pr;
	u32 h, t, seq;
	int i, ret;

	if (!S->open[pi])
		return;
	stat_add(ST_SREOPEN, 1);
	h = ld_acq(p->cq.head);
	t = ld_acq(p->cq.tail);
	for (; h != t; h++) {
		struct vactor_cqe c = p->cq.cqes[h & p->cq.mask];

		if (c.event == VACTOR_EV_COMPLETE)
			s_complete(pi, &c);
	}
	if (pm(500)) {
		/* The kernel keeps its own records of what it wrote. */
		for (h = ld_acq(p->cq.head); h != t; h++)
			memset(&p->cq.cqes[h & p->cq.mask], (u8)r64(),
			       offsetof(struct vactor_cqe, data));
	}
	for (h = ld_acq(p->sq.head); h != p->sq.sqe_tail; h++) {
		u64 ud = p->sq.sqes[h & p->sq.mask].user_data;
		struct sbatch *b = s_batch_by_ud(ud);

		if (b) {
			s_batch_cancel(b);
			continue;
		}
		pr = s_pair_by_ud(ud, &seq);
		if (pr)
			pr->sent--;
	}
	/* The port's other batches were consumed and posted nothing: sent. */
	s_batch_settle(pi, 0, true);
	vact_port_close(p);
	add_ops(1);
	S->open[pi] = false;

	/* Dormant now: messages wait for them.  Send some meanwhile. */
	if (pm(500))
		s_burst();
	s_open_port(pi);
	if (!S->open[pi]) {
		/* EDQUOT: its actors stay dormant, their pairs out of the books. */
		for (i = 0; i < S_ACTORS; i++)
			if (S->a[i].port == pi)
				s_lose(i);
		return;
	}
	for (i = 0; i < S_ACTORS; i++) {
		if (S->a[i].port != pi || S->a[i].lost)
			continue;
		ret = vact_host(p, S->a[i].id);
		add_ops(1);
		if (ret == -EBUSY || ret == -ENOENT) {
			/* Another process hosted it in between: not ours now. */
			stat_add(ST_STOLEN, 1);
			s_lose(i);
			s_new_actor(i, pi);
		} else if (ret) {
			FAIL(-ret + 290, "structured HOST of its own dormant actor: %s, uapi: success, ENOENT or EBUSY",
			     ename(-ret));
		}
	}
}

/*
 * Destroys a structured actor with messages waiting for it: those in its
 * mailbox come back to their senders as EV_UNDELIVERED, sends after it get
 * ENOENT.  Then a new actor takes its place.
 */
static void s_recycle(void)
{
	int i = rn(S_ACTORS), pi = S->a[i].port, j, k, ret;

	if (S->a[i].lost || !S->open[pi])
		return;
	s_quiesce_audit();
	stat_add(ST_RECYCLE, 1);
	S->stall[pi] = 1;
	for (k = 8 + rn(64); k; k--) {
		j = rn(S_ACTORS);
		if (j == i || S->a[j].lost)
			continue;
		if (pm(100))
			s_send_batch(j, S->a[i].id);
		else
			s_send(j, S->a[i].id, false);
	}
	for (j = 0; j < S_PORTS; j++)
		if (j != pi)
			s_submit(j);
	ret = vact_destroy(&S->port[pi], S->a[i].id);
	add_ops(1);
	if (ret)
		FAIL(-ret + 300, "structured DESTROY of a hosted actor: %s",
		     ename(-ret));
	for (j = 0; j < S_PAIRS; j++)
		if (S->pair[j].used && S->pair[j].to == S->a[i].id)
			S->pair[j].to_dead = true;
	S->a[i].lost = true;
	/* A few sends to the dead: ENOENT. */
	for (k = rn(4); k; k--) {
		j = rn(S_ACTORS);
		if (j == i || S->a[j].lost)
			continue;
		if (pm(300))
			s_send_batch(j, S->a[i].id);
		else
			s_send(j, S->a[i].id, false);
	}
	S->stall[pi] = 0;
	s_new_actor(i, rn(S_PORTS));
	if (!S->open[S->a[i].port])
		S->a[i].lost = true;
	s_quiesce_audit();
}

static void s_init(void)
{
	int i;

	S = calloc(1, sizeof(*S));
	if (!S) {
		out("# vactor_fuzz: out of memory");
		exit(2);
	}
	wk->s = S;
	for (i = 0; i < S_PORTS; i++)
		s_open_port(i);
	for (i = 0; i < S_ACTORS; i++)
		s_new_actor(i, i % S_PORTS);
}

static void s_step(void)
{
	u32 r = rn(1000);
	int i;

	if (r < 640) {
		s_burst();
	} else if (r < 880) {
		for (i = 0; i < S_PORTS; i++)
			if (!S->stall[i])
				s_reap(i);
	} else if (r < 930) {
		i = rn(S_PORTS);
		S->stall[i] = !S->stall[i];
	} else if (r < 970) {
		i = rn(S_PORTS);
		if (S->open[i]) {
			vact_submit_and_wait(&S->port[i], 1 + rn(4), rn(300000));
			add_ops(1);
		}
	} else if (r < 985) {
		s_quiesce_audit();
	} else if (r < 995) {
		if (on(F_CLOSE))
			s_reopen(rn(S_PORTS));
	} else {
		s_recycle();
	}
	if (++S->since_audit > 3000)
		s_quiesce_audit();
}

static void s_fini(void)
{
	int i;

	s_quiesce_audit();
	for (i = 0; i < S_PORTS; i++)
		if (S->open[i])
			vact_port_close(&S->port[i]);
}

/* =====================================================================
 * The racer thread
 * ===================================================================== */

/* Pokes a port of the main thread while it may be changing. */
static void racer_poke(void)
{
	struct cport *p = &wk->cp[rn(NCPORT)];
	u32 seq0 = atomic_load(&p->seq), must, may;
	int fd = atomic_load(&p->fd), ret, err, state = p->state;
	struct vactor_call call;
	struct vactor_enter e;
	struct pollfd pfd;
	struct sq_meta m;
	char b[600], mb[120];
	void *a;
	u32 len;

	if (fd < 0 || (seq0 & 1) || state != P_READY)
		return;
	switch (rn(5)) {
	case 0:
	case 1:
		/*
		 * A CALL that changes no hosting: NOP, LOOKUP, SEND, a
		 * SEND_BATCH its own fields refuse (the send area is the main
		 * thread's), bad.
		 */
		memset(&call, 0, sizeof(call));
		call.sqe.user_data = new_ud();
		switch (rn(5)) {
		case 0:
			call.sqe.opcode = VACTOR_OP_NOP;
			break;
		case 1:
			call.sqe.opcode = VACTOR_OP_LOOKUP;
			call.sqe.len = gen_name(call.sqe.data, true);
			break;
		case 2:
			call.sqe.opcode = VACTOR_OP_SEND;
			call.sqe.actor = own_pick(p);
			call.sqe.target = pm(500) ? own_pick(p) : pub_pick(-1);
			call.sqe.tag = ((u64)CMAGIC << 32) | (u32)++tag_next;
			call.sqe.len = rn(VACTOR_INLINE_MAX + 1);
			pat_fill(call.sqe.data, call.sqe.len, call.sqe.tag);
			break;
		case 3:
			call.sqe.opcode = VACTOR_OP_SEND_BATCH;
			call.sqe.actor = own_pick(p);
			call.sqe.len = 1 + rn(4096);
			call.sqe.buf_off = rn(4096) & ~7u;
			if (pm(300))
				call.sqe.flags = VACTOR_SQE_F_ACK;
			switch (rn(4)) {
			case 0:
				call.sqe.target = 1 + rn(1000);
				break;
			case 1:
				call.sqe.tag = tag_random() | 1;
				break;
			case 2:
				call.sqe.len = 0;
				break;
			default:
				call.sqe.buf_off += 1 + rn(7);
			}
			break;
		default:
			call.sqe.opcode = VACTOR_OP_LAST + rn(200);
		}
		sqe_rules(&call.sqe, 0, &m);
		ret = ioctl(fd, VACTOR_IOC_CALL, &call);
		err = ret < 0 ? errno : 0;
		if (call.sqe.opcode == VACTOR_OP_SEND_BATCH &&
		    call.cqe.event == VACTOR_EV_COMPLETE && call.cqe.len)
			FAIL(403, "racer CALL %s: refused (%s) with len %u",
			     sqe_str(&call.sqe, b, sizeof(b)), ename(err),
			     call.cqe.len);
		if (atomic_load(&p->seq) != seq0)
			break;
		if (!res_ok(m.must, m.may, err))
			FAIL(((u64)call.sqe.opcode << 16) + err + 400,
			     "racer CALL %s: %s, uapi: %s%s",
			     sqe_str(&call.sqe, b, sizeof(b)), ename(err),
			     m.must ? "" : "success or ",
			     mask_str(m.must | m.may, mb, sizeof(mb)));
		break;
	case 2:
		memset(&e, 0, sizeof(e));
		e.min_complete = rn(p->cq_n < 4 ? p->cq_n + 1 : 4);
		e.flags = VACTOR_ENTER_GETEVENTS | VACTOR_ENTER_TIMEOUT;
		e.timeout_ns = rn(300000);
		ret = ioctl(fd, VACTOR_IOC_ENTER, &e);
		err = ret < 0 ? errno : 0;
		must = 0;
		may = B(ETIME) | B(EINTR);
		if (atomic_load(&p->seq) != seq0)
			break;
		if (!res_ok(must, may, err) || ret > 0)
			FAIL(err + 410, "racer ENTER{0, min %u, wait %" PRIu64 "ns}: %d %s",
			     e.min_complete, (u64)e.timeout_ns, ret, ename(err));
		break;
	case 3:
		pfd.fd = fd;
		pfd.events = POLLIN | POLLOUT;
		ret = poll(&pfd, 1, rn(2));
		if (ret < 0)
			FAIL(errno + 420, "racer poll: %s", ename(errno));
		break;
	default:
		len = p->par.recv_size;
		a = mmap(NULL, len, PROT_READ, MAP_SHARED, fd,
			 (off_t)VACTOR_OFF_RECV);
		err = a == MAP_FAILED ? errno : 0;
		if (!err)
			munmap(a, len);
		else if (atomic_load(&p->seq) == seq0 && !p->rdonly)
			FAIL(err + 430, "racer mmap of the receive area: %s",
			     ename(err));
	}
	add_ops(1);
	stat_add(ST_RACER, 1);
}

/* Racer: HOSTs the ids the main thread handed over, while it closes. */
static void racer_steal(void)
{
	struct cport *p = &wk->rp;
	struct vactor_call call;
	int n = atomic_load(&wk->steal_n), i, round, ret, err, fd;
	u64 ids[8];

	for (i = 0; i < n; i++)
		ids[i] = atomic_load(&wk->steal_ids[i]);
	atomic_store(&wk->steal_req, 0);
	atomic_store(&wk->steal_ack, 1);
	fd = atomic_load(&p->fd);
	if (p->state != P_READY)
		return;
	for (round = 0; round < 400 && n; round++) {
		for (i = 0; i < n; i++) {
			if (!ids[i])
				continue;
			memset(&call, 0, sizeof(call));
			call.sqe.opcode = VACTOR_OP_HOST;
			call.sqe.target = ids[i];
			call.sqe.user_data = new_ud();
			ret = ioctl(fd, VACTOR_IOC_CALL, &call);
			err = ret < 0 ? errno : 0;
			if (err && err != EBUSY && err != ENOENT && err != EPERM)
				FAIL(err + 450, "racer HOST of a closing port's actor %" PRIu64 ": %s, uapi: success, ENOENT, EBUSY or EPERM",
				     ids[i], ename(err));
			if (!err) {
				own_add(p, ids[i], "", 0);
				stat_add(ST_ADOPT, 1);
			}
			if (err != EBUSY)
				ids[i] = 0;	/* hosted, gone or not ours */
		}
	}
	add_ops(1);
}

static void racer_epoll(void)
{
	struct epoll_event ev[8];
	int n, i;

	n = epoll_wait(wk->epfd, ev, 8, rn(2));
	add_ops(1);
	if (n < 0 && errno != EINTR)
		FAIL(errno + 440, "racer epoll_wait: %s", ename(errno));
	for (i = 0; i < n; i++)
		if (ev[i].events & ~(EPOLLIN | EPOLLOUT | EPOLLRDNORM |
				      EPOLLWRNORM | EPOLLERR | EPOLLHUP))
			FAIL(441, "epoll events %#x", ev[i].events);
}

static void cp_step(struct cport *p, bool racer);

static void *racer_main(void *arg)
{
	(void)arg;
	thread_tag = "racer";
	rng_state = my_seed ^ 0x7ace7ace7aceULL;
	wk->rp.idx = NCPORT;
	atomic_store(&wk->rp.fd, -1);
	cp_open(&wk->rp, 1);
	while (!atomic_load(&wk->racer_stop) && !budget_done()) {
		if (atomic_load(&wk->steal_req)) {
			racer_steal();
			continue;
		}
		switch (rn(10)) {
		case 0:
		case 1:
		case 2:
			racer_poke();
			break;
		case 3:
			racer_epoll();
			break;
		case 4:
			if (pm(50) && on(F_PROC))
				fz_proc();
			break;
		default:
			cp_step(&wk->rp, true);
		}
	}
	atomic_store(&wk->steal_ack, 1);
	cp_close(&wk->rp, false);
	cp_close(&wk->rp, false);
	return NULL;
}

/* =====================================================================
 * One chaos step on a port
 * ===================================================================== */

static void cp_step(struct cport *p, bool racer)
{
	u32 r;

	if (p->state == P_CLOSED) {
		cp_open(p, racer ? 1 : 0);
		if (p->state == P_READY && !racer && pm(300))
			cp_adopt(p, pm(300) ? me : -1, 1 + rn(8));
		return;
	}
	if (p->state == P_ZOMBIE) {
		/* The fd is gone; the port lives until its last mapping goes. */
		if (p->cq_ring && pm(300))
			(void)ld_acq(p->cq_tail);
		cp_close(p, false);
		return;
	}
	if (p->state == P_OPEN) {
		int fd = atomic_load(&p->fd);

		switch (rn(4)) {
		case 0:
			cp_presetup_pokes(fd);
			break;
		case 1:
			fz_ioctl_unknown(fd);
			break;
		default:
			cp_close(p, false);
			cp_open(p, 1);
		}
		return;
	}
	if (p->rdonly) {
		/* Can't map the rings writable: CALLs, then away. */
		r = rn(100);
		if (r < 80 || (r >= 90 && !on(F_CLOSE)))
			cp_call(p, true);
		else if (r < 90)
			on(F_MMAP) ? cp_mmap(p) : cp_call(p, true);
		else
			cp_close(p, false);
		return;
	}
	if (p->big && (pm(300) || !on(F_CLOSE))) {
		cp_close(p, false);
		return;
	}
	r = rn(1000);
	if (r < 560)
		cp_batch(p);
	else if (r < 700)
		cp_call(p, false);
	else if (r < 740)
		cp_reap(p);
	else if (r < 770)
		cp_enter_odd(p);
	else if (r < 800)
		cp_poll(p);
	else if (r < 815 && on(F_CORRUPT))
		cp_corrupt_sq(p);
	else if (r < 830 && on(F_CORRUPT))
		cp_corrupt_cq(p);
	else if (r < 850 && on(F_MMAP))
		cp_mmap(p);
	else if (r < 860 && on(F_MMAP))
		cp_munmap(p);
	else if (r < 870)
		fz_ioctl_unknown(atomic_load(&p->fd));
	else if (r < 875 && on(F_SETUP)) {
		struct vactor_params par;
		bool bad, unsure;

		gen_params(&par, &bad, &unsure);
		do_setup(atomic_load(&p->fd), &par, bad, unsure, true);
	} else if (r < 880 && on(F_BADPTR))
		fz_badptr(p);
	else if (r < 920)
		cp_adopt(p, -1, 1 + rn(4));
	else if (r < 930 && on(F_CLOSE)) {
		/* Publish a batch and leave it for the close to find. */
		cp_fill(p, 1 + rn(16));
		cp_publish(p, p->sqt);
		cp_close(p, on(F_MMAP) && pm(300));
	} else if (r < 940 && on(F_CLOSE)) {
		cp_close(p, on(F_MMAP) && pm(200));
		if (p->state == P_CLOSED)
			cp_open(p, 0);
	} else if (r < 945 && on(F_PROC)) {
		fz_proc();
	} else {
		cp_batch(p);
	}
}

/* =====================================================================
 * Workers
 * ===================================================================== */

static void worker_main(int slot, int hb)
{
	struct slot *s = &shm->slot[slot];
	int i, ret;
	u64 sid;

	me = slot;
	my_gen = atomic_load(&s->gen);
	my_seed = mix64(shm->seed ^ ((u64)slot << 32) ^ ((u64)my_gen << 48) ^
			0x5eed);
	rng_state = my_seed;
	hb_fd = hb;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	if (verbose)
		out("# w%d.%u: pid %d seed %#" PRIx64, me, my_gen, getpid(),
		    my_seed);

	wk = calloc(1, sizeof(*wk));
	if (!wk)
		exit(2);
	wk->epfd = epoll_create1(EPOLL_CLOEXEC);
	for (i = 0; i < NCPORT; i++) {
		wk->cp[i].idx = i;
		atomic_store(&wk->cp[i].fd, -1);
	}

	/* The predecessor's structured actors: host them, then end them. */
	cp_open(&wk->cp[0], 1);
	for (i = 0; i < SIDS_N && wk->cp[0].state == P_READY && on(F_HOST); i++) {
		struct vactor_call call;

		sid = atomic_exchange(&s->sids[i], 0);
		if (!sid)
			continue;
		memset(&call, 0, sizeof(call));
		call.sqe.opcode = VACTOR_OP_HOST;
		call.sqe.target = sid;
		ret = ioctl(atomic_load(&wk->cp[0].fd), VACTOR_IOC_CALL, &call);
		if (ret < 0 && errno != EBUSY && errno != ENOENT &&
		    errno != EPERM)
			FAIL(errno + 500, "HOST of a dead worker's actor: %s",
			     ename(errno));
		if (!ret)
			own_add(&wk->cp[0], sid, "", 0);
	}
	cp_reap(&wk->cp[0]);
	if (wk->cp[0].state == P_READY)
		cp_adopt(&wk->cp[0], me, 16);

	if (on(F_STRUCT))
		s_init();
	wk->racer_on = on(F_RACER);
	if (wk->racer_on &&
	    pthread_create(&wk->racer, NULL, racer_main, NULL))
		wk->racer_on = false;

	while (!budget_done()) {
		if (pm(150) && on(F_STRUCT))
			s_step();
		else
			cp_step(&wk->cp[rn(NCPORT)], false);
	}

	if (wk->racer_on) {
		atomic_store(&wk->racer_stop, 1);
		pthread_join(wk->racer, NULL);
	}
	if (S)
		s_fini();
	for (i = 0; i < NCPORT; i++) {
		cp_reap(&wk->cp[i]);
		cp_close(&wk->cp[i], false);
		cp_close(&wk->cp[i], false);
	}
	exit(atomic_load(&s->fails) ? 1 : 0);
}

/* =====================================================================
 * The parent: spawns, kills, respawns, and reports
 * ===================================================================== */

struct child {
	pid_t pid;
	int rfd;
	bool killed;		/* by us */
	bool done;
	u64 last_beat;
};

static int mailbox_orig = -1;

static int param_read(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return atoi(buf);
}

static bool param_write(const char *path, int v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), n;
	bool ok;

	if (fd < 0)
		return false;
	n = snprintf(buf, sizeof(buf), "%d\n", v);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok;
}

static void spawn(struct child *c, int slot, struct child *all, int n)
{
	int p[2], i;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		out("# vactor_fuzz: pipe: %s", strerror(errno));
		exit(2);
	}
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	pid = fork();
	if (pid < 0) {
		out("# vactor_fuzz: fork: %s", strerror(errno));
		exit(2);
	}
	if (!pid) {
		close(p[0]);
		for (i = 0; i < n; i++)
			if (all[i].rfd >= 0)
				close(all[i].rfd);
		worker_main(slot, p[1]);
	}
	close(p[1]);
	c->pid = pid;
	c->rfd = p[0];
	c->killed = false;
	c->done = false;
	c->last_beat = now_ns();
	atomic_store(&shm->slot[slot].pid, pid);
}

/* Prints what a stuck worker is doing, from /proc. */
static void dump_stuck(pid_t pid)
{
	char path[64], buf[2048];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
			out("#   %s", l);
	}
}

/*
 * Once every worker has exited no port is open, so every actor left must be
 * dormant: an active one still points at a host that is gone.
 */
static void final_sweep(void)
{
	static char buf[8 << 20];
	const char *files[2] = { "/proc/vactor/ports", "/proc/vactor/actors" };
	char *l, *save, *t;
	ssize_t n, got;
	int f, fd, bad = 0, i;

	for (f = 0; f < 2; f++) {
		fd = open(files[f], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		got = 0;
		while (got < (ssize_t)sizeof(buf) - 1 &&
		       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
			got += n;
		close(fd);
		buf[got] = '\0';
		l = strtok_r(buf, "\n", &save);	/* the header */
		for (l = strtok_r(NULL, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save)) {
			if (!f) {
				FAIL(600, "a port is left after every process exited: %s", l);
				continue;
			}
			/* Tab-separated; a name can hold spaces but no tab. */
			for (i = 0, t = l; i < 3 && t; i++)
				t = strchr(t, '\t') ? strchr(t, '\t') + 1 : NULL;
			if (t && strncmp(t, "dormant\t", 8)) {
				if (bad++ < 5)
					out("#   %s", l);
			}
		}
	}
	if (bad)
		FAIL(601, "%d actors are not dormant though no port is open (a host that is gone)",
		     bad);
}

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-s seed] [-n total_ops] [-p procs] [-t seconds]\n"
		"          [-k kills_per_100k_ops] [-r 0|1] [-m 0|1] [-x parts] [-v]\n"
		"  -s  seed (default: from the clock, printed first)\n"
		"  -n  operations in total across processes (default %llu)\n"
		"  -p  worker processes (default %d, at most %d)\n"
		"  -t  stop after this many seconds (default: none)\n"
		"  -k  SIGKILLs per 100,000 operations (default 3)\n"
		"  -r  racer threads (default 1)\n"
		"  -m  vary the mailbox_max module parameter (default 1, root)\n"
		"  -x  leave out parts, comma-separated: racer,kill,mmap,corrupt,\n"
		"      close,host,structured,badptr,setup,proc,mailbox,big\n"
		"  -v  verbose: spawns, kills\n",
		argv0, DEF_OPS, DEF_PROCS, MAXPROCS);
	exit(2);
}

int main(int argc, char **argv)
{
	u64 seed = 0, total = DEF_OPS, kills_per_100k = 3, t0, ops, fails = 0,
	    tlimit = 0, beats = 0;
	int procs = DEF_PROCS, opt, i, live, status, vary_mb;
	bool have_seed = false, ok, crashed = false;
	struct child ch[MAXPROCS];
	struct pollfd pfd[MAXPROCS];
	char *end;

	while ((opt = getopt(argc, argv, "s:n:p:t:k:r:m:x:vh")) != -1) {
		switch (opt) {
		case 's':
			seed = strtoull(optarg, &end, 0);
			have_seed = !*end;
			if (!have_seed)
				usage(argv[0]);
			break;
		case 'n':
			total = strtoull(optarg, NULL, 0);
			break;
		case 'p':
			procs = atoi(optarg);
			break;
		case 't':
			tlimit = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			kills_per_100k = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			if (!atoi(optarg))
				feat_off |= 1u << F_RACER;
			break;
		case 'm':
			if (!atoi(optarg))
				feat_off |= 1u << F_MAILBOX;
			break;
		case 'x':
			for (char *t = strtok(optarg, ","); t; t = strtok(NULL, ",")) {
				int f;

				for (f = 0; f < F_NR; f++)
					if (!strcmp(t, feat_name[f]))
						break;
				if (f == F_NR)
					usage(argv[0]);
				feat_off |= 1u << f;
			}
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (procs < 1 || procs > MAXPROCS)
		usage(argv[0]);
	if (!have_seed)
		seed = mix64(now_ns() ^ ((u64)getpid() << 32));
	setvbuf(stdout, NULL, _IONBF, 0);
	out("TAP version 13");
	out("# vactor_fuzz: seed=%#" PRIx64 " ops=%" PRIu64 " procs=%d", seed,
	    total, procs);
	out("1..1");

	vary_mb = on(F_MAILBOX);
	if (!on(F_KILL))
		kills_per_100k = 0;
	if (feat_off) {
		char xs[200];
		size_t o = 0;

		xs[0] = '\0';
		for (i = 0; i < F_NR; i++)
			if (!on(i))
				o += snprintf(xs + o, sizeof(xs) - o, "%s%s",
					      o ? "," : "", feat_name[i]);
		out("# left out: %s", xs);
	}
	if (access(VACTOR_DEVICE, R_OK | W_OK)) {
		out("ok 1 - fuzz seed=%#" PRIx64 " ops=0 # SKIP %s: %s", seed,
		    VACTOR_DEVICE, strerror(errno));
		out("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0");
		return 4;
	}

	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		out("# vactor_fuzz: mmap: %s", strerror(errno));
		return 2;
	}
	memset(shm, 0, sizeof(*shm));
	shm->seed = seed;
	shm->nprocs = procs;
	for (i = 0; i < procs; i++)
		shm->slot[i].budget = total / procs + (i ? 0 : total % procs);
	rng_state = seed ^ 0x9a7e;
	signal(SIGPIPE, SIG_IGN);
	mailbox_orig = param_read(MAILBOX_PARAM);
	if (mailbox_orig <= 0 || access(MAILBOX_PARAM, W_OK))
		vary_mb = 0;

	t0 = now_ns();
	for (i = 0; i < procs; i++)
		ch[i].rfd = -1;
	for (i = 0; i < procs; i++)
		spawn(&ch[i], i, ch, procs);

	for (;;) {
		live = 0;
		for (i = 0; i < procs; i++) {
			pfd[i].fd = ch[i].done ? -1 : ch[i].rfd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			live += !ch[i].done;
		}
		if (!live)
			break;
		if (poll(pfd, procs, 1000) < 0 && errno != EINTR)
			break;
		if (tlimit && now_ns() - t0 > tlimit * 1000000000ULL)
			atomic_store(&shm->stop, 1);
		for (i = 0; i < procs; i++) {
			struct slot *s = &shm->slot[i];
			char buf[256];
			ssize_t n;

			if (ch[i].done)
				continue;
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				/* No progress for a minute: report it stuck. */
				if (now_ns() - ch[i].last_beat > 60000000000ULL &&
				    !ch[i].killed) {
					out("# FAIL w%d: pid %d made no progress for 60 s; kernel stack:",
					    i, ch[i].pid);
					dump_stuck(ch[i].pid);
					atomic_fetch_add(&s->fails, 1);
					kill(ch[i].pid, SIGKILL);
					ch[i].killed = true;
					crashed = true;
					ch[i].last_beat = now_ns();
				} else if (ch[i].killed &&
					   now_ns() - ch[i].last_beat > 60000000000ULL) {
					/* SIGKILLed a minute ago and still there. */
					out("# FAIL w%d: pid %d does not die: stuck in the kernel",
					    i, ch[i].pid);
					dump_stuck(ch[i].pid);
					ch[i].done = true;
					crashed = true;
				}
				continue;
			}
			n = read(ch[i].rfd, buf, sizeof(buf));
			if (n > 0) {
				ch[i].last_beat = now_ns();
				beats += n;
				/* Kill mid-operation, now and then. */
				if (!ch[i].killed &&
				    atomic_load(&s->ops) < s->budget * 95 / 100 &&
				    rn(100000) < kills_per_100k * HEARTBEAT_OPS * n) {
					kill(ch[i].pid, SIGKILL);
					ch[i].killed = true;
					atomic_fetch_add(&shm->kills, 1);
					if (verbose)
						out("# w%d.%u: SIGKILL pid %d at %" PRIu64 " ops",
						    i, atomic_load(&s->gen),
						    ch[i].pid, atomic_load(&s->ops));
				}
				if (vary_mb && rn(200) < (u32)n) {
					static const int v[] = { 1, 2, 16, 64, 1024 };

					param_write(MAILBOX_PARAM, rn(4) ? v[rn(5)] :
						    mailbox_orig);
					atomic_fetch_add(&shm->mailbox_changes, 1);
				}
				continue;
			}
			/* EOF: the worker is gone. */
			close(ch[i].rfd);
			ch[i].rfd = -1;
			if (waitpid(ch[i].pid, &status, 0) < 0)
				status = 0;
			if (ch[i].killed && WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGKILL) {
				if (atomic_load(&s->ops) < s->budget &&
				    !atomic_load(&shm->stop)) {
					atomic_fetch_add(&s->gen, 1);
					atomic_fetch_add(&shm->respawns, 1);
					spawn(&ch[i], i, ch, procs);
				} else {
					ch[i].done = true;
				}
				continue;
			}
			ch[i].done = true;
			if (WIFSIGNALED(status)) {
				out("# FAIL w%d.%u: pid %d died of signal %d (%s): the fuzzer crashed",
				    i, atomic_load(&s->gen), ch[i].pid,
				    WTERMSIG(status), strsignal(WTERMSIG(status)));
				crashed = true;
			} else if (WEXITSTATUS(status) &&
				   !atomic_load(&s->fails)) {
				out("# FAIL w%d.%u: pid %d exited with status %d",
				    i, atomic_load(&s->gen), ch[i].pid,
				    WEXITSTATUS(status));
				crashed = true;
			}
		}
	}

	if (vary_mb)
		param_write(MAILBOX_PARAM, mailbox_orig);
	if (!crashed)
		final_sweep();

	ops = 0;
	for (i = 0; i < procs; i++) {
		ops += atomic_load(&shm->slot[i].ops);
		fails += atomic_load(&shm->slot[i].fails);
	}
	out("# %" PRIu64 " ops in %.1f s by %d processes: %" PRIu64 " SIGKILLs, %" PRIu64 " respawns, %" PRIu64 " mailbox_max changes",
	    ops, (now_ns() - t0) / 1e9, procs, atomic_load(&shm->kills),
	    atomic_load(&shm->respawns), atomic_load(&shm->mailbox_changes));
	{
		char line[1024];
		size_t o = 0;

		for (int k = 0; k < ST_NR; k++) {
			u64 v = 0;

			for (i = 0; i < procs; i++)
				v += atomic_load(&shm->slot[i].st[k]);
			o += snprintf(line + o, sizeof(line) - o, " %s=%" PRIu64,
				      st_name[k], v);
			if (o > 100 || k == ST_NR - 1) {
				out("#%s", line);
				o = 0;
			}
		}
	}
	{
		u32 kinds = 0, k;

		for (k = 0; k < SIG_SLOTS; k++)
			kinds += !!atomic_load(&shm->sig_count[k]);
		if (fails)
			out("# %" PRIu64 " failures of %u kinds (3 of each kind printed)",
			    fails, kinds);
	}
	if (atomic_load(&shm->printed) > PRINT_MAX)
		out("# %u more failure lines not printed",
		    atomic_load(&shm->printed) - PRINT_MAX);
	fails += atomic_load(&shm->parent_fails);
	ok = !fails && !crashed;
	out("%s 1 - fuzz seed=%#" PRIx64 " ops=%" PRIu64, ok ? "ok" : "not ok",
	    seed, ops);
	out("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0", ok,
	    !ok);
	(void)beats;
	return ok ? 0 : 1;
}
