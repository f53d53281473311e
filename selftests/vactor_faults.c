// SPDX-License-Identifier: GPL-2.0
/*
 * vactor allocation-failure sweeps (fail-nth).
 *
 * For every operation that makes the kernel allocate on vactor's behalf, run
 * it with /proc/thread-self/fail-nth set to N = 1, 2, 3, ...: the Nth
 * fault-injectable allocation of this thread (slab: failslab, pages:
 * fail_page_alloc) fails, and in the second pass every one after it too
 * (make-it-fail), which also defeats fallbacks such as kvmalloc's vmalloc.
 * The sweep ends at the first N where no allocation failed, and there the
 * operation must succeed.  For every N the call either succeeds or fails
 * with its documented errno, and afterwards the state is checked exactly: a
 * failed CREATE leaves no actor and its name free, a failed SEND queues
 * nothing and a successful one is delivered exactly once and in order, a
 * failed SETUP leaves the port ready for another SETUP and charges nothing
 * to the user, a message that a closing port could not keep is counted in
 * "lost" and logged, ...  After each sweep the module holds no more actors,
 * ports, vmalloc areas or per-user charges than before; at the end kmemleak
 * must find nothing of vactor's unreferenced.
 *
 * See Documentation/fault-injection.rst.  Needs root, the module loaded and
 * a kernel with CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB,
 * CONFIG_FAIL_PAGE_ALLOC and CONFIG_FAULT_INJECTION_DEBUG_FS (the debug
 * kernel); without them every test fails, saying so.  Output is KTAP.
 *
 *   vactor_faults [-m nth|from|both] [-v VERBOSE] [-l] [TEST...]
 *     -m     fail only the nth call, every call from the nth on, or both
 *            passes (default)
 *     -v N   failslab/fail_page_alloc "verbose" while sweeping (default 0;
 *            2 dumps the stack of every injected failure)
 *     -l     list the tests
 *     TEST   run only the tests whose names contain one of these words
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/securebits.h>

#include "vact.h"

#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define MAKE_IT_FAIL	"/proc/thread-self/make-it-fail"
#define DEBUGFS		"/sys/kernel/debug"
#define KMEMLEAK	DEBUGFS "/kmemleak"
#define WAIT_NS		(20LL * 1000 * 1000 * 1000)
/* No operation of the module makes anywhere near this many allocations. */
#define MAX_SITES	4000
/* Where the mmap sweeps map: far from anything, so page tables are new. */
#define FRESH_ADDR	((void *)0x5a0000000000UL)

static int verbose_level;
static int fnth_fd = -1, mif_fd = -1;
/* Every call from the nth on fails, not only the nth. */
static bool from_mode;
static bool failed_here;	/* the current test has failed */

/* ---- output ---- */

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Records a failure of the current test with a reason; returns -1. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	failed_here = true;
	printf("# FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return -1;
}

#define CHECK(cond, ...) do { if (!(cond)) return fail(__VA_ARGS__); } while (0)

/* ---- files ---- */

static int write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

/* Reads a whole (small or /proc) file into a malloc'd NUL-terminated buffer. */
static char *read_all(const char *path)
{
	size_t size = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + size, cap - size)) > 0) {
		size += n;
		if (size == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[size] = '\0';
	return buf;
}

static int read_line(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return 0;
}

/* ---- fault injection ---- */

/* The debugfs knobs we set, and what they were, to put back at exit. */
static struct knob {
	const char *path;
	const char *value;	/* NULL: the -v level */
	char saved[32];
	bool set;
} knobs[] = {
	/* fail-nth: sleeping allocations of any order count. */
	{ .path = DEBUGFS "/failslab/ignore-gfp-wait", .value = "N" },
	{ .path = DEBUGFS "/failslab/verbose", .value = NULL },
	{ .path = DEBUGFS "/fail_page_alloc/ignore-gfp-wait", .value = "N" },
	{ .path = DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", .value = "N" },
	{ .path = DEBUGFS "/fail_page_alloc/min-order", .value = "0" },
	{ .path = DEBUGFS "/fail_page_alloc/verbose", .value = NULL },
	/*
	 * from_mode: every call fails, in tasks with make-it-fail only (this
	 * thread, while armed); nothing else in the system is affected.  Set
	 * in this order (task-filter before probability), undone in reverse.
	 */
	{ .path = DEBUGFS "/failslab/task-filter", .value = "Y" },
	{ .path = DEBUGFS "/failslab/interval", .value = "1" },
	{ .path = DEBUGFS "/failslab/times", .value = "-1" },
	{ .path = DEBUGFS "/failslab/space", .value = "0" },
	{ .path = DEBUGFS "/failslab/probability", .value = "100" },
	{ .path = DEBUGFS "/fail_page_alloc/task-filter", .value = "Y" },
	{ .path = DEBUGFS "/fail_page_alloc/interval", .value = "1" },
	{ .path = DEBUGFS "/fail_page_alloc/times", .value = "-1" },
	{ .path = DEBUGFS "/fail_page_alloc/space", .value = "0" },
	{ .path = DEBUGFS "/fail_page_alloc/probability", .value = "100" },
};

/*
 * In reverse: probability goes back to 0 before task-filter to N, so that
 * at no moment does every task's every allocation fail.
 */
static void knobs_restore(void)
{
	unsigned int i = sizeof(knobs) / sizeof(knobs[0]);

	while (i--)
		if (knobs[i].set)
			write_file(knobs[i].path, knobs[i].saved);
}

static void pwrite_or_die(int fd, const char *buf, const char *what)
{
	if (pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf)) {
		perror(what);
		abort();
	}
}

/*
 * Arms the nth fault-injectable call of this thread to fail; in from_mode
 * every later one fails too (make-it-fail with probability 100), so that
 * fallbacks (kvmalloc's vmalloc, the slab's smaller order) fail as well.
 */
static void arm(unsigned int n)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", n);
	if (from_mode)
		pwrite_or_die(mif_fd, "1", "make-it-fail");
	pwrite_or_die(fnth_fd, buf, "fail-nth");
}

/* Disarms; true when the armed failure happened (fail-nth read back 0). */
static bool disarm(void)
{
	char buf[16];
	ssize_t n;

	if (from_mode)
		pwrite_or_die(mif_fd, "0", "make-it-fail");
	n = pread(fnth_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		perror("fail-nth");
		abort();
	}
	buf[n] = '\0';
	pwrite_or_die(fnth_fd, "0", "fail-nth");
	return strtoul(buf, NULL, 10) == 0;
}

/* fail-nth and make-it-fail are per thread: a forked child opens its own. */
static int fault_reopen(void)
{
	if (fnth_fd >= 0)
		close(fnth_fd);
	if (mif_fd >= 0)
		close(mif_fd);
	fnth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	mif_fd = open(MAKE_IT_FAIL, O_RDWR | O_CLOEXEC);
	return fnth_fd < 0 || mif_fd < 0 ? -errno : 0;
}

/*
 * Checks that fail-nth and the two fault types are there, and sets them up
 * for sleeping allocations of any order.  NULL, or why not.
 */
static const char *fault_setup(void)
{
	static char why[256];
	char val[16];
	unsigned int i;
	bool fired;
	int fd;

	fnth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	if (fnth_fd < 0)
		return "no " FAIL_NTH ": the kernel lacks CONFIG_FAULT_INJECTION";
	mif_fd = open(MAKE_IT_FAIL, O_RDWR | O_CLOEXEC);
	if (mif_fd < 0)
		return "no " MAKE_IT_FAIL ": the kernel lacks CONFIG_FAULT_INJECTION";
	if (access(DEBUGFS "/failslab", F_OK) &&
	    mount("debugfs", DEBUGFS, "debugfs", 0, NULL) && errno != EBUSY) {
		snprintf(why, sizeof(why), "cannot mount debugfs on %s: %s",
			 DEBUGFS, strerror(errno));
		return why;
	}
	if (access(DEBUGFS "/failslab", F_OK))
		return "no " DEBUGFS "/failslab: the kernel lacks CONFIG_FAILSLAB or CONFIG_FAULT_INJECTION_DEBUG_FS";
	if (access(DEBUGFS "/fail_page_alloc", F_OK))
		return "no " DEBUGFS "/fail_page_alloc: the kernel lacks CONFIG_FAIL_PAGE_ALLOC";
	/* Nothing is changed before we know there is something to test. */
	if (access(VACTOR_DEVICE, R_OK | W_OK))
		return "no " VACTOR_DEVICE ": vactor.ko is not loaded";
	atexit(knobs_restore);
	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		struct knob *k = &knobs[i];
		int ret;

		if (read_line(k->path, k->saved, sizeof(k->saved))) {
			snprintf(why, sizeof(why), "cannot read %s", k->path);
			return why;
		}
		snprintf(val, sizeof(val), "%d", verbose_level);
		ret = write_file(k->path, k->value ? k->value : val);
		if (ret) {
			snprintf(why, sizeof(why), "cannot write %s: %s",
				 k->path, strerror(-ret));
			return why;
		}
		k->set = true;
	}

	/* The first allocation of an open() is its getname(): GFP_KERNEL slab. */
	arm(1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fired = disarm();
	if (fd >= 0)
		close(fd);
	if (!fired || fd >= 0)
		return "fail-nth did not make a sleeping slab allocation fail (open(\"/dev/null\") with fail-nth 1)";
	/* ...and with make-it-fail, every later one fails too. */
	from_mode = true;
	arm(1);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fired = disarm();
	from_mode = false;
	if (fd >= 0)
		close(fd);
	if (!fired || fd >= 0)
		return "make-it-fail with probability 100 did not make allocations fail";
	return NULL;
}

/* ---- /proc/vactor ---- */

struct stats {
	uint64_t sent, direct, queued, flushed, rejected, undelivered,
		 orphaned, redelivered, lost;
};

#define STAT(x) { #x, offsetof(struct stats, x) }
static const struct {
	const char *name;
	size_t off;
} fields[] = {
	STAT(sent), STAT(direct), STAT(queued), STAT(flushed), STAT(rejected),
	STAT(undelivered), STAT(orphaned), STAT(redelivered), STAT(lost),
	{ NULL, 0 },
};

static int stats_read(struct stats *s)
{
	const typeof(fields[0]) *f;
	char *buf = read_all("/proc/vactor/stats"), *line, *save;
	char name[32];
	unsigned long long v;

	memset(s, 0, sizeof(*s));
	if (!buf)
		return fail("cannot read /proc/vactor/stats");
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%31s %llu", name, &v) != 2)
			continue;
		for (f = fields; f->name; f++)
			if (!strcmp(name, f->name))
				*(uint64_t *)((char *)s + f->off) = v;
	}
	free(buf);
	return 0;
}

struct actor_info {
	bool found;
	char name[VACTOR_NAME_MAX];
	char state[16];
	unsigned int port, mailbox;
	unsigned long long msgs_in, msgs_out;
};

/*
 * Number of actors in the table (uid >= 0: of that owner only); with
 * id != 0, that actor's line too.
 */
static int actors_read_uid(uint64_t id, struct actor_info *ai, long uid)
{
	char *buf = read_all("/proc/vactor/actors"), *line, *save, *fsave;
	struct actor_info tmp;
	unsigned long long aid;
	long owner;
	int count = 0;

	if (ai)
		memset(ai, 0, sizeof(*ai));
	if (!buf)
		return fail("cannot read /proc/vactor/actors");
	line = strtok_r(buf, "\n", &save);	/* header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		/*
		 * id name type state pid port parent mailbox msgs_in msgs_out
		 * restarts migrations uid, tab-separated (names may hold
		 * spaces); a module without owners has no uid: -1.
		 */
		char *f[13] = { NULL }, *fs;
		unsigned int nf = 0;

		for (fs = strtok_r(line, "\t", &fsave); fs && nf < 13;
		     fs = strtok_r(NULL, "\t", &fsave))
			f[nf++] = fs;
		if (nf < 10)
			continue;
		aid = strtoull(f[0], NULL, 10);
		snprintf(tmp.name, sizeof(tmp.name), "%s", f[1]);
		snprintf(tmp.state, sizeof(tmp.state), "%s", f[3]);
		tmp.port = strtoul(f[5], NULL, 10);
		tmp.mailbox = strtoul(f[7], NULL, 10);
		tmp.msgs_in = strtoull(f[8], NULL, 10);
		tmp.msgs_out = strtoull(f[9], NULL, 10);
		owner = nf >= 13 ? strtol(f[12], NULL, 10) : -1;
		if (uid < 0 || owner < 0 || owner == uid)
			count++;
		if (ai && id && aid == id) {
			*ai = tmp;
			ai->found = true;
		}
	}
	free(buf);
	return count;
}

static int actors_read(uint64_t id, struct actor_info *ai)
{
	return actors_read_uid(id, ai, -1);
}

/* Open ports; with port_id != 0, how many actors that one hosts. */
static int ports_read(unsigned int port_id, unsigned int *nr_actors)
{
	char *buf = read_all("/proc/vactor/ports"), *line, *save;
	unsigned int id, actors;
	int count = 0;

	if (!buf)
		return fail("cannot read /proc/vactor/ports");
	line = strtok_r(buf, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (sscanf(line, "%u", &id) != 1)
			continue;
		count++;
		/* port pid sq cq cq_pending actors ... ("-" before setup) */
		if (port_id && id == port_id && nr_actors &&
		    sscanf(line, "%*u %*d %*s %*s %*s %u", &actors) == 1)
			*nr_actors = actors;
	}
	free(buf);
	return count;
}

/* vmalloc areas whose caller is in the module (rings, big arrays, payloads). */
static int vmalloc_count(void)
{
	char *buf = read_all("/proc/vmallocinfo"), *p;
	int n = 0;

	if (!buf)
		return -1;
	for (p = buf; (p = strstr(p, "[vactor]")); p++)
		n++;
	free(buf);
	return n;
}

/* Kernel log lines containing s (the whole ring buffer). */
static int klog_count(const char *s)
{
	int size = klogctl(10, NULL, 0), n = 0, len;
	char *buf, *p;

	if (size <= 0)
		size = 1 << 20;
	buf = malloc(size + 1);
	if (!buf)
		return -1;
	len = klogctl(3, buf, size);
	if (len < 0) {
		free(buf);
		return -1;
	}
	buf[len] = '\0';
	for (p = buf; (p = strstr(p, s)); p++)
		n++;
	free(buf);
	return n;
}

/* ---- ports and operations ---- */

static int call(int fd, const struct vactor_sqe *sqe, struct vactor_cqe *cqe)
{
	struct vactor_call c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.sqe = *sqe;
	ret = ioctl(fd, VACTOR_IOC_CALL, &c);
	ret = ret < 0 ? -errno : ret;
	if (cqe)
		*cqe = c.cqe;
	if (c.cqe.res != ret && ret != -EFAULT)
		return fail("CALL returned %d but its completion says %d",
			    ret, c.cqe.res);
	return ret;
}

static void prep(struct vactor_sqe *sqe, int op, uint64_t actor,
		 uint64_t target, const char *name)
{
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = op;
	sqe->actor = actor;
	sqe->target = target;
	sqe->user_data = 0x5eed0000 + op;
	if (name) {
		sqe->len = strlen(name);
		memcpy(sqe->data, name, sqe->len);
	}
}

static int create(int fd, const char *name, uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	prep(&sqe, VACTOR_OP_CREATE, 0, 0, name);
	ret = call(fd, &sqe, &cqe);
	if (!ret)
		*id = cqe.actor;
	return ret;
}

static int destroy(int fd, uint64_t id)
{
	struct vactor_sqe sqe;

	prep(&sqe, VACTOR_OP_DESTROY, id, 0, NULL);
	return call(fd, &sqe, NULL);
}

static int lookup(int fd, const char *name, uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	prep(&sqe, VACTOR_OP_LOOKUP, 0, 0, name);
	ret = call(fd, &sqe, &cqe);
	if (!ret && id)
		*id = cqe.actor;
	return ret;
}

static int host(int fd, uint64_t id)
{
	struct vactor_sqe sqe;

	prep(&sqe, VACTOR_OP_HOST, 0, id, NULL);
	return call(fd, &sqe, NULL);
}

static int port_open(struct vact_port *p, unsigned int sq, unsigned int cq,
		     unsigned int recv)
{
	struct vactor_params params;
	int ret;

	memset(&params, 0, sizeof(params));
	params.sq_entries = sq;
	params.cq_entries = cq;
	params.recv_size = recv;
	ret = vact_port_open(p, &params);
	if (ret)
		return fail("cannot open a port: %s", strerror(-ret));
	return 0;
}

/* A line in the kernel log, to tell which test the kernel's lines belong to. */
static void kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, buf, n) < 0)
		n = 0;
	close(fd);
}

/*
 * Allocation-failure warnings with a stack dump (warn_alloc()), from this
 * program: they are ratelimited, so a count that did not grow proves
 * nothing, but one that grew is a finding.
 */
static int warn_alloc_count(void)
{
	return klog_count("vactor_faults: vmalloc error") +
	       klog_count("vactor_faults: page allocation failure");
}

/* ---- per-user limits ---- */

#define PARAMS		"/sys/module/vactor/parameters/"
#define PROBE_LIMIT_KB	4096

static long param_get(const char *name)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	if (read_line(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static int param_set(const char *name, long v)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), PARAMS "%s", name);
	snprintf(buf, sizeof(buf), "%ld", v);
	return write_file(path, buf);
}

/* Does a SETUP with a send area of `pages` pages fit?  1, 0, or -1. */
static int setup_fits(unsigned int pages)
{
	struct vactor_params p;
	int fd, ret;

	memset(&p, 0, sizeof(p));
	p.sq_entries = 1;
	p.cq_entries = 1;
	p.send_size = pages * 4096;
	p.recv_size = VACTOR_MSG_MAX;
	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open: %s", strerror(errno));
	ret = ioctl(fd, VACTOR_IOC_SETUP, &p) ? errno : 0;
	close(fd);
	if (ret && ret != EDQUOT)
		return fail("probe SETUP of %u pages: %s", pages, strerror(ret));
	return !ret;
}

/*
 * What is left of this user's kernel-memory limit, in pages of send area
 * that still fit under a limit of PROBE_LIMIT_KB: a charge leaked by the
 * module (a SETUP or a message counted and never given back) shows as
 * fewer pages.  -1 on error.
 */
static int kmem_headroom(int guess)
{
	long saved = param_get("max_kmem_kb_per_user");
	int lo = 0, hi = PROBE_LIMIT_KB / 4, mid, r;

	if (saved < 0)
		return -1;
	param_set("max_kmem_kb_per_user", PROBE_LIMIT_KB);
	/* The usual case: nothing changed, two SETUPs say so. */
	if (guess > 0 && setup_fits(guess) == 1 && setup_fits(guess + 1) == 0) {
		lo = guess;
		goto out;
	}
	while (lo < hi) {	/* the largest that fits, 0 if none */
		mid = (lo + hi + 1) / 2;
		r = setup_fits(mid);
		if (r < 0) {
			lo = -1;
			break;
		}
		if (r)
			lo = mid;
		else
			hi = mid - 1;
	}
out:
	param_set("max_kmem_kb_per_user", saved);
	return lo;
}

/* With the limit at what is in use plus one, exactly one more fits. */
static int probe_ports(int in_use)
{
	long saved = param_get("max_ports_per_user");
	int fd1, fd2, e2;

	param_set("max_ports_per_user", in_use + 1);
	fd1 = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	fd2 = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	e2 = errno;
	param_set("max_ports_per_user", saved);
	if (fd1 >= 0)
		close(fd1);
	if (fd2 >= 0)
		close(fd2);
	CHECK(fd1 >= 0 && fd2 < 0 && e2 == EDQUOT,
	      "the user's port count is off: with %d open and a limit of %d, %s",
	      in_use, in_use + 1, fd1 < 0 ? "none more could be opened" :
	      "two more could be opened");
	return 0;
}

static struct vact_port A;

static int probe_actors(int in_use)
{
	long saved = param_get("max_actors_per_user");
	uint64_t id1 = 0, id2 = 0;
	int r1, r2;

	param_set("max_actors_per_user", in_use + 1);
	r1 = create(A.fd, NULL, &id1);
	r2 = create(A.fd, NULL, &id2);
	param_set("max_actors_per_user", saved);
	if (!r1)
		destroy(A.fd, id1);
	if (!r2)
		destroy(A.fd, id2);
	CHECK(!r1 && r2 == -EDQUOT,
	      "the user's actor count is off: with %d actors and a limit of %d, %s",
	      in_use, in_use + 1, r1 ? "none more could be created" :
	      "two more could be created");
	return 0;
}

/* ---- messages ---- */

static uint8_t pattern_seed(uint64_t seq)
{
	uint64_t x = seq * 0xbf58476d1ce4e5b9ULL ^ 0x9e3779b97f4a7c15ULL;

	return (uint8_t)(x >> 56 ^ x >> 24 ^ x);
}

static void pattern_fill(void *buf, uint32_t len, uint64_t seq)
{
	uint8_t *b = buf, s = pattern_seed(seq);
	uint32_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(s + i * 7 + (i >> 8));
	if (len >= sizeof(seq))
		memcpy(b, &seq, sizeof(seq));
}

static bool pattern_ok(const void *buf, uint32_t len, uint64_t seq)
{
	const uint8_t *b = buf;
	uint8_t s = pattern_seed(seq);
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

/* A SEND of message seq (tag = seq, payload pattern) from..to, len bytes. */
static void prep_send(struct vact_port *p, struct vactor_sqe *sqe,
		      uint64_t from, uint64_t to, uint32_t len, uint64_t seq)
{
	prep(sqe, VACTOR_OP_SEND, from, to, NULL);
	sqe->tag = seq;
	sqe->len = len;
	sqe->user_data = seq;
	if (len <= VACTOR_INLINE_MAX) {
		pattern_fill(sqe->data, len, seq);
	} else {
		sqe->flags = VACTOR_SQE_F_BUF;
		sqe->buf_off = 0;
		pattern_fill(p->send, len, seq);
	}
}

/* What a receiver must see, in order. */
struct expect {
	uint64_t seq[MAX_SITES + 64];
	uint32_t len[MAX_SITES + 64];
	uint64_t source[MAX_SITES + 64];
	uint8_t event[MAX_SITES + 64];
	unsigned int n;
};

static void expect_add(struct expect *e, uint64_t seq, uint32_t len,
		       uint64_t source, uint8_t event)
{
	e->seq[e->n] = seq;
	e->len[e->n] = len;
	e->source[e->n] = source;
	e->event[e->n] = event;
	e->n++;
}

/*
 * Reaps port p and checks that actor `to` receives exactly e, in order, each
 * message once (with `flags` set), then nothing more.  `skip`: up to that
 * many of e may be missing (messages reported lost), in which case *missing
 * says how many were.
 */
static int expect_reap(struct vact_port *p, uint64_t to, struct expect *e,
		       uint16_t flags, unsigned int skip, unsigned int *missing)
{
	struct vactor_cqe *cqe;
	unsigned int i = 0, gone = 0;
	int ret;

	while (i < e->n) {
		ret = vact_wait_cqe(p, &cqe, i + skip - gone < e->n ? WAIT_NS : 0);
		if (ret == -ETIME && skip)
			break;
		CHECK(!ret, "reaping message %u of %u: %s", i + 1, e->n,
		      strerror(-ret));
		if (cqe->event == VACTOR_EV_COMPLETE) {
			/* Our own HOST/NOP completions: not messages. */
			vact_cqe_seen(p, cqe);
			continue;
		}
		/* A lost message leaves a gap: skip expectations up to it. */
		while (i < e->n && cqe->tag != e->seq[i] && gone < skip) {
			i++;
			gone++;
		}
		CHECK(i < e->n, "unexpected message tag %llu (duplicate or out of order)",
		      (unsigned long long)cqe->tag);
		CHECK(cqe->tag == e->seq[i], "message %u: tag %llu, expected %llu (lost, duplicated or reordered)",
		      i, (unsigned long long)cqe->tag,
		      (unsigned long long)e->seq[i]);
		CHECK(cqe->event == e->event[i], "message %llu: event %u, expected %u",
		      (unsigned long long)e->seq[i], cqe->event, e->event[i]);
		CHECK(cqe->actor == to, "message %llu: for actor %llu, expected %llu",
		      (unsigned long long)e->seq[i],
		      (unsigned long long)cqe->actor, (unsigned long long)to);
		CHECK(cqe->source == e->source[i], "message %llu: source %llu, expected %llu",
		      (unsigned long long)e->seq[i],
		      (unsigned long long)cqe->source,
		      (unsigned long long)e->source[i]);
		CHECK((cqe->flags & flags) == flags, "message %llu: flags %#x lack %#x",
		      (unsigned long long)e->seq[i], cqe->flags, flags);
		if (cqe->event == VACTOR_EV_MSG) {
			CHECK(cqe->len == e->len[i], "message %llu: len %u, expected %u",
			      (unsigned long long)e->seq[i], cqe->len, e->len[i]);
			CHECK(pattern_ok(vact_cqe_data(p, cqe), cqe->len, e->seq[i]),
			      "message %llu: payload corrupted",
			      (unsigned long long)e->seq[i]);
		} else {
			CHECK(cqe->res == -ENOENT && cqe->user_data == e->seq[i],
			      "report for %llu: res %d user_data %llu",
			      (unsigned long long)e->seq[i], cqe->res,
			      (unsigned long long)cqe->user_data);
		}
		vact_cqe_seen(p, cqe);
		i++;
	}
	gone += e->n - i;
	if (missing)
		*missing = gone;
	CHECK(gone <= skip, "%u of %u messages never arrived", gone, e->n);
	ret = vact_wait_cqe(p, &cqe, 0);
	CHECK(ret == -ETIME, "a message more than expected: event %u tag %llu",
	      ret ? 0 : cqe->event, ret ? 0ULL : (unsigned long long)cqe->tag);
	return 0;
}

/* ---- the sweep ---- */

struct sweep {
	const char *op;
	unsigned int n;		/* fail-nth value of this step */
	bool fired;		/* the nth allocation happened and failed */
	unsigned int sites;	/* fault-injectable calls the operation made */
	unsigned int failed;	/* steps where the operation failed */
	unsigned int absorbed;	/* steps where it fired but the op succeeded */
};

enum { STEP_FAIL = -1, STEP_NEXT = 0, STEP_DONE = 1 };

/*
 * Ends one step: ret is the operation's result (0 or -errno), ok_errs the
 * errnos it may fail with (0-terminated).  Returns STEP_*.
 */
static int step_result(struct sweep *s, int ret, const int *ok_errs)
{
	const int *e;

	if (ret) {
		for (e = ok_errs; *e; e++)
			if (-ret == *e)
				break;
		if (!*e)
			return fail("%s, fail-nth %u: unexpected error %s",
				    s->op, s->n, strerror(-ret));
		if (!s->fired)
			return fail("%s, fail-nth %u: failed (%s) though no allocation failed",
				    s->op, s->n, strerror(-ret));
		s->failed++;
		return STEP_NEXT;
	}
	if (s->fired) {
		s->absorbed++;
		return STEP_NEXT;
	}
	s->sites = s->n - 1;
	return STEP_DONE;
}

typedef int (*step_fn)(struct sweep *s, void *ctx);

/* Runs step for n = 1, 2, ... until it reports the operation done. */
static int sweep(struct sweep *s, step_fn step, void *ctx)
{
	int ret;

	for (s->n = 1; s->n <= MAX_SITES; s->n++) {
		s->fired = false;
		ret = step(s, ctx);
		if (ret == STEP_FAIL || failed_here)
			return fail("%s: sweep stopped at fail-nth %u", s->op, s->n);
		if (ret == STEP_DONE) {
			diag("%s%s: %u fault-injectable calls; the operation failed at %u, succeeded despite the failure at %u",
			     s->op, from_mode ? " (from-nth)" : "", s->sites,
			     s->failed, s->absorbed);
			return 0;
		}
	}
	return fail("%s: still allocating after %u failures", s->op, MAX_SITES);
}

static const int ENOMEM_ONLY[] = { ENOMEM, 0 };

/* ---- fixtures ---- */

/* Port A with actor a: the sender of every message (A is defined above). */
static uint64_t a_id;
static int base_actors, base_ports, base_vmalloc;
static int base_own_actors;	/* of this euid: its per-user count */
static bool have_limits;	/* the module has per-user limits */

/* A dormant actor: created on a port that is then closed. */
static int make_dormant(const char *name, uint64_t *id)
{
	struct vact_port p;

	if (port_open(&p, 0, 0, 0))
		return -1;
	if (create(p.fd, name, id)) {
		vact_port_close(&p);
		return fail("create %s failed", name ? name : "(unnamed)");
	}
	vact_port_close(&p);
	return 0;
}

/* ---- open ---- */

static int step_open(struct sweep *s, void *ctx)
{
	int fd, ret, ports;

	arm(s->n);
	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	s->fired = disarm();
	ports = ports_read(0, NULL);
	if (fd >= 0) {
		CHECK(ports == base_ports + 1, "open succeeded: %d ports, expected %d",
		      ports, base_ports + 1);
		close(fd);
	} else {
		CHECK(ports == base_ports, "open failed: %d ports left, expected %d",
		      ports, base_ports);
	}
	return step_result(s, ret, ENOMEM_ONLY);
}

static int t_open(struct sweep *s)
{
	return sweep(s, step_open, NULL);
}

/*
 * The first port of a namespace, opened by a user with nothing open yet:
 * the open also makes the namespace's actor table and the user's counters.
 * Run in a child in a new IPC namespace, with an euid of its own (keeping
 * root's capabilities, so the 0600 node still opens).
 */
#define OPEN_NS_UID	4242

static int step_open_ns(struct sweep *s, void *ctx)
{
	int fd, ret, ports;

	arm(s->n);
	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	s->fired = disarm();
	ports = ports_read(0, NULL);
	if (fd >= 0) {
		CHECK(ports == 1, "open succeeded: %d ports in the namespace, expected 1",
		      ports);
		close(fd);
	} else {
		CHECK(ports == 0, "open failed: %d ports in the namespace, expected 0",
		      ports);
	}
	return step_result(s, ret, ENOMEM_ONLY);
}

static void prefault_stack(void);

static int t_open_ns(struct sweep *s)
{
	struct sweep *shared;
	int status, ret;
	pid_t pid;

	shared = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED, "mmap: %s", strerror(errno));
	*shared = *s;
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		if (unshare(CLONE_NEWIPC)) {
			fail("unshare(CLONE_NEWIPC): %s", strerror(errno));
			_exit(1);
		}
		if (fault_reopen() || mlockall(MCL_CURRENT | MCL_FUTURE)) {
			fail("child setup: %s", strerror(errno));
			_exit(1);
		}
		if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP) ||
		    setresuid(-1, OPEN_NS_UID, -1)) {
			fail("euid %d: %s", OPEN_NS_UID, strerror(errno));
			_exit(1);
		}
		prefault_stack();
		ret = sweep(shared, step_open_ns, NULL);
		if (!ret && ports_read(0, NULL) != 0)
			ret = fail("a port is left in the namespace");
		/* The new user's port count is back to 0. */
		if (!ret && have_limits)
			ret = probe_ports(0);
		fflush(stdout);
		_exit(ret || failed_here ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return fail("waitpid: %s", strerror(errno));
	*s = *shared;
	munmap(shared, sizeof(*s));
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child sweeping in its own namespace failed (status %#x)", status);
	return 0;
}

/* ---- SETUP ---- */

struct setup_ctx {
	struct vactor_params want;
};

static int step_setup(struct sweep *s, void *ctx)
{
	struct setup_ctx *c = ctx;
	struct vactor_params p = c->want;
	struct vactor_enter e;
	int fd, ret, r2;
	void *map;

	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open: %s", strerror(errno));
	arm(s->n);
	ret = ioctl(fd, VACTOR_IOC_SETUP, &p);
	ret = ret < 0 ? -errno : 0;
	s->fired = disarm();
	if (ret) {
		/* Nothing may stay allocated, and the port is still unset. */
		r2 = vmalloc_count();
		if (r2 != base_vmalloc) {
			close(fd);
			return fail("SETUP failed (%s) with %d vmalloc areas of the module left, expected %d",
				    strerror(-ret), r2, base_vmalloc);
		}
		memset(&e, 0, sizeof(e));
		r2 = ioctl(fd, VACTOR_IOC_ENTER, &e) < 0 ? errno : 0;
		if (r2 != EBADFD) {
			close(fd);
			return fail("after a failed SETUP, ENTER gives %s, expected EBADFD",
				    strerror(r2));
		}
		/* ...and may be set up again. */
		p = c->want;
		r2 = ioctl(fd, VACTOR_IOC_SETUP, &p) < 0 ? errno : 0;
		if (r2) {
			close(fd);
			return fail("SETUP again after a failed one: %s", strerror(r2));
		}
	}
	/* Set up: the rings can be mapped. */
	map = mmap(NULL, p.sq_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   VACTOR_OFF_SQ);
	if (map == MAP_FAILED) {
		close(fd);
		return fail("mmap of the SQ after SETUP: %s", strerror(errno));
	}
	munmap(map, p.sq_size);
	close(fd);
	return step_result(s, ret, ENOMEM_ONLY);
}

static int t_setup_min(struct sweep *s)
{
	struct setup_ctx c = { .want = { .sq_entries = 1, .cq_entries = 1,
		.send_size = 4096, .recv_size = VACTOR_MSG_MAX } };

	return sweep(s, step_setup, &c);
}

static int t_setup_default(struct sweep *s)
{
	struct setup_ctx c;

	memset(&c, 0, sizeof(c));
	return sweep(s, step_setup, &c);
}

/* ---- mmap ---- */

struct mmap_ctx {
	int fd;
	uint64_t off;
	size_t size;
	int prot;
};

static int step_mmap(struct sweep *s, void *ctx)
{
	struct mmap_ctx *c = ctx;
	void *p;
	int ret;

	arm(s->n);
	p = mmap(FRESH_ADDR, c->size, c->prot, MAP_SHARED | MAP_FIXED_NOREPLACE,
		 c->fd, c->off);
	ret = p == MAP_FAILED ? -errno : 0;
	s->fired = disarm();
	if (!ret) {
		CHECK(p == FRESH_ADDR, "mmap placed the region at %p, not %p",
		      p, FRESH_ADDR);
	} else {
		/* Nothing may be left there: the same mapping must fit again. */
		p = mmap(FRESH_ADDR, c->size, c->prot,
			 MAP_SHARED | MAP_FIXED_NOREPLACE, c->fd, c->off);
		CHECK(p == FRESH_ADDR, "mmap after a failed one: %s",
		      p == MAP_FAILED ? strerror(errno) : "misplaced");
	}
	/* The mapping shows the ring: the SQ/CQ header has the kernel's indices. */
	if (c->off == VACTOR_OFF_SQ || c->off == VACTOR_OFF_CQ)
		CHECK(((volatile uint32_t *)p)[0] == 0, "ring head not 0 in a new mapping");
	munmap(p, c->size);
	return step_result(s, ret, ENOMEM_ONLY);
}

static int t_mmap(struct sweep *s)
{
	static const struct { uint64_t off; int prot; const char *what; } r[] = {
		{ VACTOR_OFF_SQ, PROT_READ | PROT_WRITE, "sq" },
		{ VACTOR_OFF_CQ, PROT_READ | PROT_WRITE, "cq" },
		{ VACTOR_OFF_SEND, PROT_READ | PROT_WRITE, "send" },
		{ VACTOR_OFF_RECV, PROT_READ, "recv" },
	};
	struct vactor_params p;
	struct mmap_ctx c;
	struct sweep sub;
	unsigned int i, total = 0;
	char name[64];
	int ret = 0;

	memset(&p, 0, sizeof(p));
	c.fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	CHECK(c.fd >= 0, "open: %s", strerror(errno));
	if (ioctl(c.fd, VACTOR_IOC_SETUP, &p)) {
		close(c.fd);
		return fail("SETUP: %s", strerror(errno));
	}
	for (i = 0; i < 4 && !ret; i++) {
		snprintf(name, sizeof(name), "mmap %s", r[i].what);
		memset(&sub, 0, sizeof(sub));
		sub.op = name;
		c.off = r[i].off;
		c.prot = r[i].prot;
		c.size = i == 0 ? p.sq_size : i == 1 ? p.cq_size :
			 i == 2 ? p.send_size : p.recv_size;
		ret = sweep(&sub, step_mmap, &c);
		total += sub.sites;
		s->failed += sub.failed;
		s->absorbed += sub.absorbed;
	}
	close(c.fd);
	s->sites = total;
	return ret;
}

/* ---- CREATE ---- */

struct create_ctx {
	const char *name;	/* NULL: unnamed */
	bool leaf;		/* give it the first id of a new xarray leaf */
	bool keep;		/* keep the actor of the final, successful step */
	uint64_t id;		/* ...here */
};

/* Makes the next id a multiple of 64: a new leaf in the id xarray. */
static int pad_ids(void)
{
	uint64_t id = 0;
	int i;

	for (i = 0; i < 130; i++) {
		CHECK(!create(A.fd, NULL, &id), "padding CREATE failed");
		CHECK(!destroy(A.fd, id), "padding DESTROY failed");
		if (id % 64 == 63)
			return 0;
	}
	return fail("ids do not advance by one");
}

static int step_create(struct sweep *s, void *ctx)
{
	struct create_ctx *c = ctx;
	struct actor_info ai;
	unsigned int hosted = 0, hosted2 = 0;
	uint64_t id = 0, id2;
	int ret, actors, actors2;

	if (c->leaf && pad_ids())
		return STEP_FAIL;
	actors = actors_read(0, NULL);
	ports_read(A.id, &hosted);
	arm(s->n);
	ret = create(A.fd, c->name, &id);
	s->fired = disarm();
	actors2 = actors_read(id, &ai);
	ports_read(A.id, &hosted2);
	if (ret) {
		CHECK(actors2 == actors, "failed CREATE: %d actors, expected %d",
		      actors2, actors);
		CHECK(hosted2 == hosted, "failed CREATE: port hosts %u, expected %u",
		      hosted2, hosted);
		if (c->name)
			CHECK(lookup(A.fd, c->name, NULL) == -ENOENT,
			      "failed CREATE: its name is taken");
		/* The name is free: a retry succeeds. */
		CHECK(!create(A.fd, c->name, &id2), "CREATE again after a failed one");
		CHECK(!destroy(A.fd, id2), "DESTROY");
		return step_result(s, ret, ENOMEM_ONLY);
	}
	CHECK(actors2 == actors + 1, "CREATE: %d actors, expected %d",
	      actors2, actors + 1);
	CHECK(ai.found && !strcmp(ai.state, "active") && ai.port == A.id,
	      "CREATE: actor %llu not active on port %u",
	      (unsigned long long)id, A.id);
	CHECK(hosted2 == hosted + 1, "CREATE: port hosts %u, expected %u",
	      hosted2, hosted + 1);
	if (c->name)
		CHECK(!lookup(A.fd, c->name, &id2) && id2 == id,
		      "CREATE: the name does not lead to the actor");
	if (c->leaf && !s->fired)
		CHECK(id % 64 == 0, "id %llu is not the first of a leaf",
		      (unsigned long long)id);
	ret = step_result(s, 0, ENOMEM_ONLY);
	if (ret == STEP_DONE && c->keep) {
		c->id = id;
		return ret;
	}
	CHECK(!destroy(A.fd, id), "DESTROY");
	if (c->name)
		CHECK(lookup(A.fd, c->name, NULL) == -ENOENT,
		      "the name outlived DESTROY");
	return ret;
}

static int t_create(struct sweep *s)
{
	struct create_ctx c = { 0 };

	return sweep(s, step_create, &c);
}

static int t_create_named(struct sweep *s)
{
	struct create_ctx c = { .name = "faults.create" };

	return sweep(s, step_create, &c);
}

static int t_create_leaf(struct sweep *s)
{
	struct create_ctx c = { .name = "faults.leaf", .leaf = true };

	return sweep(s, step_create, &c);
}

/*
 * Named CREATEs that grow the name table in the caller.  The rhashtable
 * schedules its resize worker at 75% load and rehashes in the inserting task
 * (GFP_ATOMIC, then a nested table) only above 100%: so the worker, bound
 * to this CPU's pool, is kept waiting by running SCHED_FIFO on this CPU
 * with RT throttling off, while names go in one by one, each insertion
 * swept.  An insertion that rehashes makes more fault-injectable calls
 * than the others.
 */
#define REHASH_NAMES	200
#define RT_RUNTIME	"/proc/sys/kernel/sched_rt_runtime_us"

struct rehash_ctx {
	char name[32];
	uint64_t id;		/* the name's actor, once created */
};

/* A light step_create: nothing here may sleep or take long. */
static int step_rehash(struct sweep *s, void *ctx)
{
	struct rehash_ctx *c = ctx;
	uint64_t id = 0, id2 = 0;
	int ret;

	arm(s->n);
	ret = create(A.fd, c->name, &id);
	s->fired = disarm();
	if (ret) {
		CHECK(lookup(A.fd, c->name, NULL) == -ENOENT,
		      "failed CREATE %s: its name is taken", c->name);
		return step_result(s, ret, ENOMEM_ONLY);
	}
	CHECK(!lookup(A.fd, c->name, &id2) && id2 == id,
	      "CREATE %s: the name does not lead to the actor", c->name);
	ret = step_result(s, 0, ENOMEM_ONLY);
	if (ret == STEP_DONE) {
		c->id = id;
		return ret;
	}
	CHECK(!destroy(A.fd, id), "DESTROY");
	return ret;
}

static int t_create_rehash(struct sweep *s)
{
	struct sched_param sp = { .sched_priority = 50 };
	unsigned int sites[REHASH_NAMES], hist[64] = { 0 }, i, most = 0;
	static uint64_t ids[REHASH_NAMES];
	char rt_saved[32] = "", list[256] = "";
	struct rehash_ctx c;
	struct sweep sub;
	cpu_set_t cpus, old;
	int ret = 0, cpu = sched_getcpu(), len = 0;

	memset(ids, 0, sizeof(ids));
	if (!read_line(RT_RUNTIME, rt_saved, sizeof(rt_saved)))
		write_file(RT_RUNTIME, "-1");
	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus) ||
	    sched_setscheduler(0, SCHED_FIFO, &sp))
		diag("cannot run SCHED_FIFO on one CPU (%s): the resize worker may run first",
		     strerror(errno));
	for (i = 0; i < REHASH_NAMES; i++) {
		snprintf(c.name, sizeof(c.name), "faults.rehash.%u", i);
		c.id = 0;
		memset(&sub, 0, sizeof(sub));
		sub.op = c.name;
		for (sub.n = 1; sub.n <= MAX_SITES; sub.n++) {
			ret = step_rehash(&sub, &c);
			if (ret != STEP_NEXT)
				break;
		}
		if (ret != STEP_DONE || failed_here) {
			ret = fail("CREATE %s: sweep stopped at fail-nth %u", c.name,
				   sub.n);
			break;
		}
		ret = 0;
		ids[i] = c.id;
		sites[i] = sub.sites;
		s->failed += sub.failed;
		s->absorbed += sub.absorbed;
		hist[sub.sites < 63 ? sub.sites : 63]++;
	}
	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	sched_setaffinity(0, sizeof(old), &old);
	if (rt_saved[0])
		write_file(RT_RUNTIME, rt_saved);
	for (i = 0; i < REHASH_NAMES; i++)
		if (ids[i] && destroy(A.fd, ids[i]))
			ret = fail("DESTROY %llu", (unsigned long long)ids[i]);
	if (ret)
		return -1;
	for (i = 0; i < 64; i++)
		if (hist[i] > hist[most])
			most = i;
	for (i = 0; i < REHASH_NAMES; i++) {
		if (sites[i] > s->sites)
			s->sites = sites[i];
		if (sites[i] > most && len < (int)sizeof(list) - 16)
			len += snprintf(list + len, sizeof(list) - len, " #%u:%u",
					i, sites[i]);
	}
	diag("create named rehash%s: %u names on CPU %d, most insertions made %u fault-injectable calls; more:%s",
	     from_mode ? " (from-nth)" : "", REHASH_NAMES, cpu, most,
	     len ? list : " none");
	return 0;
}

/* ---- SEND ---- */

struct send_ctx {
	uint64_t to;
	uint32_t len;
	unsigned int batch;	/* a SEND_BATCH of this many messages, not SEND */
	bool ring;		/* through the SQ and ENTER, not CALL */
	bool direct;		/* the target has room: no mailbox */
	uint64_t seq;
	struct expect e;
	unsigned int mailbox;	/* messages waiting in the target's mailbox */
	struct stats st;
};

/* Sends message seq from a; armed with s->n if s.  0 or -errno. */
static int send_once(struct send_ctx *c, struct sweep *s, uint64_t seq)
{
	struct vactor_enter e = { .to_submit = 1 };
	struct vactor_cqe *cqe;
	struct vactor_sqe sqe, *q;
	int ret;

	if (!c->ring) {
		prep_send(&A, &sqe, a_id, c->to, c->len, seq);
		if (s)
			arm(s->n);
		ret = call(A.fd, &sqe, NULL);
		if (s)
			s->fired = disarm();
		return ret;
	}
	q = vact_get_sqe(&A);
	CHECK(q, "no free SQE");
	prep_send(&A, q, a_id, c->to, c->len, seq);
	q->flags |= VACTOR_SQE_F_ACK;
	__atomic_store_n(A.sq.tail, A.sq.sqe_tail, __ATOMIC_RELEASE);
	if (s)
		arm(s->n);
	ret = ioctl(A.fd, VACTOR_IOC_ENTER, &e);
	ret = ret < 0 ? -errno : ret;
	if (s)
		s->fired = disarm();
	CHECK(ret == 1, "ENTER consumed %d SQEs, expected 1", ret);
	ret = vact_wait_cqe(&A, &cqe, WAIT_NS);
	CHECK(!ret, "no completion for the SEND: %s", strerror(-ret));
	CHECK(cqe->event == VACTOR_EV_COMPLETE && cqe->opcode == VACTOR_OP_SEND &&
	      cqe->user_data == seq && cqe->actor == a_id,
	      "SEND completion: event %u opcode %u user_data %llu actor %llu",
	      cqe->event, cqe->opcode, (unsigned long long)cqe->user_data,
	      (unsigned long long)cqe->actor);
	ret = cqe->res;
	vact_cqe_seen(&A, cqe);
	return ret;
}

/*
 * A SEND_BATCH of n messages seq0, seq0 + 1, ... from..to, len bytes each,
 * laid out at the start of the send area.
 */
static void prep_batch(struct vact_port *p, struct vactor_sqe *sqe,
		       uint64_t from, uint64_t to, uint32_t len, uint64_t seq0,
		       unsigned int n)
{
	struct vactor_batch_msg m = { .target = to, .len = len };
	uint8_t *area = p->send;
	uint32_t at = 0, end = 0;
	unsigned int i;

	prep(sqe, VACTOR_OP_SEND_BATCH, from, 0, NULL);
	for (i = 0; i < n; i++) {
		at = (end + VACTOR_BATCH_ALIGN - 1) & ~(VACTOR_BATCH_ALIGN - 1);
		m.tag = seq0 + i;
		memcpy(area + at, &m, sizeof(m));
		pattern_fill(area + at + sizeof(m), len, seq0 + i);
		end = at + sizeof(m) + len;
	}
	sqe->len = end;
	sqe->user_data = seq0;
}

/*
 * Sends messages seq0.. as one SEND_BATCH from a; armed with s->n.  0 or
 * -errno; *sent: the completion's len.
 */
static int batch_once(struct send_ctx *c, struct sweep *s, uint64_t seq0,
		      uint32_t *sent)
{
	struct vactor_enter e = { .to_submit = 1 };
	struct vactor_cqe cqe_call, *cqe = &cqe_call;
	struct vactor_sqe sqe, *q;
	int ret;

	if (!c->ring) {
		prep_batch(&A, &sqe, a_id, c->to, c->len, seq0, c->batch);
		arm(s->n);
		ret = call(A.fd, &sqe, &cqe_call);
		s->fired = disarm();
	} else {
		q = vact_get_sqe(&A);
		CHECK(q, "no free SQE");
		prep_batch(&A, q, a_id, c->to, c->len, seq0, c->batch);
		q->flags |= VACTOR_SQE_F_ACK;
		__atomic_store_n(A.sq.tail, A.sq.sqe_tail, __ATOMIC_RELEASE);
		arm(s->n);
		ret = ioctl(A.fd, VACTOR_IOC_ENTER, &e);
		ret = ret < 0 ? -errno : ret;
		s->fired = disarm();
		CHECK(ret == 1, "ENTER consumed %d SQEs, expected 1", ret);
		ret = vact_wait_cqe(&A, &cqe, WAIT_NS);
		CHECK(!ret, "no completion for the SEND_BATCH: %s", strerror(-ret));
		ret = cqe->res;
	}
	CHECK(cqe->event == VACTOR_EV_COMPLETE &&
	      cqe->opcode == VACTOR_OP_SEND_BATCH && cqe->user_data == seq0 &&
	      cqe->actor == a_id,
	      "SEND_BATCH completion: event %u opcode %u user_data %llu actor %llu",
	      cqe->event, cqe->opcode, (unsigned long long)cqe->user_data,
	      (unsigned long long)cqe->actor);
	*sent = cqe->len;
	if (c->ring)
		vact_cqe_seen(&A, cqe);
	return ret;
}

static int send_step_end(struct sweep *s, struct send_ctx *c, int ret);

static int step_send(struct sweep *s, void *ctx)
{
	struct send_ctx *c = ctx;
	int ret;

	ret = send_once(c, s, ++c->seq);
	if (failed_here)
		return STEP_FAIL;
	if (!ret) {
		expect_add(&c->e, c->seq, c->len, a_id, VACTOR_EV_MSG);
		if (!c->direct)
			c->mailbox++;
	}
	return send_step_end(s, c, ret);
}

/*
 * A batch stops at the message that fails: those before it were accepted
 * (and arrive, in order), none after it was.
 */
static int step_send_batch(struct sweep *s, void *ctx)
{
	struct send_ctx *c = ctx;
	uint64_t seq0 = c->seq + 1;
	uint32_t sent = 0, i;
	int ret;

	c->seq += c->batch;
	ret = batch_once(c, s, seq0, &sent);
	if (failed_here)
		return STEP_FAIL;
	CHECK(ret ? sent < c->batch : sent == c->batch,
	      "SEND_BATCH of %u messages, fail-nth %u: %s with len %u",
	      c->batch, s->n, ret ? strerror(-ret) : "success", sent);
	for (i = 0; i < sent; i++) {
		expect_add(&c->e, seq0 + i, c->len, a_id, VACTOR_EV_MSG);
		if (!c->direct)
			c->mailbox++;
	}
	return send_step_end(s, c, ret);
}

static step_fn send_step(const struct send_ctx *c)
{
	return c->batch ? step_send_batch : step_send;
}

/* The end of a SEND or SEND_BATCH step: ret is its result. */
static int send_step_end(struct sweep *s, struct send_ctx *c, int ret)
{
	struct actor_info ai;
	struct stats st;
	unsigned int queued;

	/* Exactly what was accepted waits in the mailbox; counters agree. */
	actors_read(c->to, &ai);
	CHECK(ai.found && ai.mailbox == c->mailbox,
	      "target's mailbox holds %u, expected %u", ai.mailbox, c->mailbox);
	if (stats_read(&st))
		return STEP_FAIL;
	queued = c->direct ? 0 : c->mailbox;
	CHECK(st.sent - c->st.sent == c->e.n && st.queued - c->st.queued == queued &&
	      st.rejected == c->st.rejected,
	      "stats: sent +%llu queued +%llu rejected +%llu, expected +%u +%u +0",
	      (unsigned long long)(st.sent - c->st.sent),
	      (unsigned long long)(st.queued - c->st.queued),
	      (unsigned long long)(st.rejected - c->st.rejected), c->e.n, queued);
	return step_result(s, ret, ENOMEM_ONLY);
}

/*
 * Sweeps a SEND (or a SEND_BATCH of batch messages) that must queue in a
 * dormant actor's mailbox, then hosts it.
 */
static int send_dormant(struct sweep *s, uint32_t len, bool ring,
			unsigned int batch)
{
	static struct send_ctx c;
	struct vact_port rx;
	int ret;

	memset(&c, 0, sizeof(c));
	c.len = len;
	c.ring = ring;
	c.batch = batch;
	if (make_dormant(NULL, &c.to) || stats_read(&c.st))
		return -1;
	ret = sweep(s, send_step(&c), &c);
	if (port_open(&rx, 0, 0, 0))
		return -1;
	if (host(rx.fd, c.to))
		ret = fail("HOST of the target");
	else if (!ret)
		ret = expect_reap(&rx, c.to, &c.e, 0, 0, NULL);
	if (destroy(rx.fd, c.to))
		ret = fail("DESTROY");
	vact_port_close(&rx);
	return ret;
}

static int t_send_inline(struct sweep *s)
{
	return send_dormant(s, 48, false, 0);
}

static int t_send_buf(struct sweep *s)
{
	return send_dormant(s, 200, false, 0);
}

static int t_send_big(struct sweep *s)
{
	return send_dormant(s, VACTOR_MSG_MAX, false, 0);
}

static int t_send_ring(struct sweep *s)
{
	return send_dormant(s, 1000, true, 0);
}

/* Six messages in one SQE: each one's allocations in turn. */
static int t_send_batch(struct sweep *s)
{
	return send_dormant(s, 200, false, 6);
}

static int t_send_batch_ring(struct sweep *s)
{
	return send_dormant(s, 40, true, 6);
}

/*
 * The target is hosted but its CQ is full: the message waits in the mailbox,
 * and arrives, in order, once the CQ is reaped.
 */
static int send_cqfull(struct sweep *s, uint32_t len, unsigned int batch)
{
	static struct send_ctx c;
	struct vact_port rx;
	struct actor_info ai;
	int ret = 0;

	memset(&c, 0, sizeof(c));
	c.len = len;
	/* One CQE, and a receive area that holds one biggest message. */
	if (port_open(&rx, 1, 1, VACTOR_MSG_MAX))
		return -1;
	if (create(rx.fd, NULL, &c.to)) {
		vact_port_close(&rx);
		return fail("CREATE");
	}
	/* Direct sends until one has to wait. */
	for (;;) {
		ret = send_once(&c, NULL, ++c.seq);
		if (ret) {
			ret = fail("filling the CQ: %s", strerror(-ret));
			break;
		}
		expect_add(&c.e, c.seq, c.len, a_id, VACTOR_EV_MSG);
		actors_read(c.to, &ai);
		if (ai.mailbox) {
			c.mailbox = ai.mailbox;
			break;
		}
	}
	if (!ret && !stats_read(&c.st)) {
		/* step_send counts from the first message on. */
		c.st.sent -= c.e.n;
		c.st.queued -= c.mailbox;
		c.batch = batch;
		ret = sweep(s, send_step(&c), &c);
	}
	if (!ret)
		ret = expect_reap(&rx, c.to, &c.e, 0, 0, NULL);
	if (destroy(rx.fd, c.to))
		ret = fail("DESTROY");
	vact_port_close(&rx);
	return ret;
}

static int t_send_cqfull(struct sweep *s)
{
	return send_cqfull(s, 32, 0);
}

static int t_send_cqfull_buf(struct sweep *s)
{
	return send_cqfull(s, 4096, 0);
}

static int t_send_batch_cqfull(struct sweep *s)
{
	return send_cqfull(s, 100, 6);
}

/*
 * A target with room in its CQ: the direct path (a batch through the SQ:
 * one run of messages straight into the receiver's CQ).
 */
static int send_direct(struct sweep *s, unsigned int batch)
{
	static struct send_ctx c;
	struct vact_port rx;
	int ret;

	memset(&c, 0, sizeof(c));
	c.len = 1000;
	c.direct = true;
	c.batch = batch;
	c.ring = !!batch;
	if (port_open(&rx, 0, 0, 0))
		return -1;
	if (create(rx.fd, NULL, &c.to) || stats_read(&c.st)) {
		vact_port_close(&rx);
		return fail("CREATE");
	}
	ret = sweep(s, send_step(&c), &c);
	if (!ret)
		ret = expect_reap(&rx, c.to, &c.e, 0, 0, NULL);
	if (destroy(rx.fd, c.to))
		ret = fail("DESTROY");
	vact_port_close(&rx);
	return ret;
}

static int t_send_direct(struct sweep *s)
{
	return send_direct(s, 0);
}

static int t_send_batch_direct(struct sweep *s)
{
	return send_direct(s, 6);
}

/* ---- HOST ---- */

struct host_ctx {
	uint64_t to;
	struct expect e;
};

static int step_host(struct sweep *s, void *ctx)
{
	struct host_ctx *c = ctx;
	struct actor_info ai;
	struct vact_port rx;
	int ret, r2;

	if (port_open(&rx, 0, 0, 0))
		return STEP_FAIL;
	arm(s->n);
	ret = host(rx.fd, c->to);
	s->fired = disarm();
	actors_read(c->to, &ai);
	if (ret) {
		vact_port_close(&rx);
		CHECK(!strcmp(ai.state, "dormant") && ai.mailbox == c->e.n,
		      "failed HOST: actor %s with %u waiting, expected dormant with %u",
		      ai.state, ai.mailbox, c->e.n);
		return step_result(s, ret, ENOMEM_ONLY);
	}
	r2 = 0;
	if (strcmp(ai.state, "active") || ai.port != rx.id)
		r2 = fail("HOST: actor is %s on port %u", ai.state, ai.port);
	if (!r2)
		r2 = expect_reap(&rx, c->to, &c->e, 0, 0, NULL);
	if (destroy(rx.fd, c->to))
		r2 = fail("DESTROY");
	vact_port_close(&rx);
	if (r2)
		return STEP_FAIL;
	return step_result(s, ret, ENOMEM_ONLY);
}

/* HOST of a dormant actor with messages waiting of every size. */
static int t_host(struct sweep *s)
{
	static const uint32_t lens[] = { 8, 100, 5000, VACTOR_MSG_MAX, 64 };
	static struct host_ctx c;
	struct send_ctx sc;
	unsigned int i;

	memset(&c, 0, sizeof(c));
	memset(&sc, 0, sizeof(sc));
	if (make_dormant(NULL, &c.to))
		return -1;
	sc.to = c.to;
	for (i = 0; i < 5; i++) {
		sc.len = lens[i];
		CHECK(!send_once(&sc, NULL, 1000 + i), "SEND to a dormant actor");
		expect_add(&c.e, 1000 + i, lens[i], a_id, VACTOR_EV_MSG);
	}
	return sweep(s, step_host, &c);
}

/* ---- close with unconsumed CQEs ---- */

struct close_ctx {
	struct expect e;
};

static void unmap_port(struct vact_port *p)
{
	munmap(p->sq.ring, p->sq.ring_size);
	munmap(p->cq.ring, p->cq.ring_size);
	munmap(p->send, p->send_size);
	munmap((void *)p->recv, p->recv_size);
}

/*
 * Port rx hosts b and leaves five entries unconsumed in its CQ: messages of
 * 16 B, 200 B, 9000 B and 64 KiB from a, and an UNDELIVERED report for a
 * message of b's to c (destroyed with it in its mailbox), then the
 * completion of a NOP of its own.  Closing rx puts the five back in b's
 * mailbox, one allocation each (the NOP's completion is dropped).
 */
static int step_close(struct sweep *s, void *ctx)
{
	static const uint32_t lens[] = { 16, 200, 9000, VACTOR_MSG_MAX };
	struct close_ctx *c = ctx;
	struct vact_port rx, rx2;
	struct vactor_sqe sqe, *q;
	struct send_ctx sc;
	struct stats st0, st1;
	unsigned int i, missing = 0;
	uint64_t b, cid, redelivered, lost;
	int ret, r2 = 0;

	memset(&sc, 0, sizeof(sc));
	c->e.n = 0;
	if (port_open(&rx, 0, 0, 0))
		return STEP_FAIL;
	CHECK(!create(rx.fd, NULL, &b), "CREATE b");
	sc.to = b;
	for (i = 0; i < 4; i++) {
		sc.len = lens[i];
		CHECK(!send_once(&sc, NULL, 2000 + i), "SEND a -> b");
		expect_add(&c->e, 2000 + i, lens[i], a_id, VACTOR_EV_MSG);
	}
	/* c on a port with a one-entry CQ, full: b's message waits for it. */
	if (port_open(&rx2, 1, 1, VACTOR_MSG_MAX))
		return STEP_FAIL;
	CHECK(!create(rx2.fd, NULL, &cid), "CREATE c");
	sc.to = cid;
	sc.len = 8;
	CHECK(!send_once(&sc, NULL, 2100), "SEND a -> c");
	prep(&sqe, VACTOR_OP_SEND, b, cid, NULL);
	sqe.tag = 2004;
	sqe.user_data = 2004;
	CHECK(!call(rx.fd, &sqe, NULL), "SEND b -> c");
	CHECK(!destroy(rx2.fd, cid), "DESTROY c");
	vact_port_close(&rx2);
	expect_add(&c->e, 2004, 0, cid, VACTOR_EV_UNDELIVERED);
	/* A completion of rx's own: dropped at close. */
	q = vact_get_sqe(&rx);
	CHECK(q, "no SQE");
	vact_prep_nop(q, 7);
	CHECK(vact_submit(&rx) == 1, "NOP");
	CHECK(vact_cq_ready(&rx) == 6, "rx's CQ holds %u entries, expected 6",
	      vact_cq_ready(&rx));

	/* The mappings go first: the close is then the last reference. */
	unmap_port(&rx);
	if (stats_read(&st0))
		return STEP_FAIL;
	arm(s->n);
	ret = close(rx.fd) ? -errno : 0;
	s->fired = disarm();
	if (stats_read(&st1))
		return STEP_FAIL;
	CHECK(!ret, "close: %s", strerror(-ret));
	redelivered = st1.redelivered - st0.redelivered;
	lost = st1.lost - st0.lost;
	CHECK(redelivered + lost == 5 && st1.orphaned == st0.orphaned,
	      "close: redelivered %llu + lost %llu, expected 5 in all (orphaned +%llu)",
	      (unsigned long long)redelivered, (unsigned long long)lost,
	      (unsigned long long)(st1.orphaned - st0.orphaned));
	/* Closing can't fail, nor lose what it holds: no allocation of it fails. */
	CHECK(lost == 0, "close: %llu messages lost, fail-nth %s",
	      (unsigned long long)lost, s->fired ? "fired" : "did not fire");

	/* What was kept goes to the next host, in order, flagged. */
	if (port_open(&rx2, 0, 0, 0))
		return STEP_FAIL;
	if (host(rx2.fd, b))
		r2 = fail("HOST b");
	if (!r2)
		r2 = expect_reap(&rx2, b, &c->e, VACTOR_CQE_F_REDELIVERED, 0,
				 &missing);
	if (destroy(rx2.fd, b))
		r2 = fail("DESTROY b");
	vact_port_close(&rx2);
	if (r2)
		return STEP_FAIL;
	return step_result(s, 0, ENOMEM_ONLY);
}

static int t_close(struct sweep *s)
{
	static struct close_ctx c;

	memset(&c, 0, sizeof(c));
	return sweep(s, step_close, &c);
}

/* ---- DESTROY ---- */

/*
 * DESTROY of b, hosted on a port whose one-entry CQ is full, with four
 * messages in its mailbox: three from a (its host is open: the reports go to
 * its CQ) and one from d (dormant: the report waits for it).
 */
static int step_destroy(struct sweep *s, void *ctx)
{
	static const uint32_t lens[] = { 8, 40, 200, VACTOR_MSG_MAX };
	static struct expect ea, ed;
	struct vact_port rx, rd;
	struct actor_info ai;
	struct send_ctx sc;
	struct stats st0, st1;
	struct vactor_sqe sqe;
	uint64_t b, d;
	unsigned int i;
	int ret, actors0, actors1;

	memset(&sc, 0, sizeof(sc));
	ea.n = ed.n = 0;
	if (port_open(&rx, 1, 1, VACTOR_MSG_MAX))
		return STEP_FAIL;
	CHECK(!create(rx.fd, "faults.destroy", &b), "CREATE b");
	sc.to = b;
	for (i = 0; i < 4; i++) {
		sc.len = lens[i];
		CHECK(!send_once(&sc, NULL, 3000 + i), "SEND a -> b");
		if (i)	/* the first went into the CQ */
			expect_add(&ea, 3000 + i, 0, b, VACTOR_EV_UNDELIVERED);
	}
	if (port_open(&rd, 0, 0, 0))
		return STEP_FAIL;
	CHECK(!create(rd.fd, NULL, &d), "CREATE d");
	prep(&sqe, VACTOR_OP_SEND, d, b, NULL);
	sqe.tag = 3100;
	sqe.user_data = 3100;
	CHECK(!call(rd.fd, &sqe, NULL), "SEND d -> b");
	vact_port_close(&rd);
	expect_add(&ed, 3100, 0, b, VACTOR_EV_UNDELIVERED);
	actors_read(b, &ai);
	CHECK(ai.mailbox == 4, "b's mailbox holds %u, expected 4", ai.mailbox);

	actors0 = actors_read(0, NULL);
	if (stats_read(&st0))
		return STEP_FAIL;
	arm(s->n);
	ret = destroy(rx.fd, b);
	s->fired = disarm();
	if (ret) {
		actors_read(b, &ai);
		CHECK(ai.found && ai.mailbox == 4,
		      "failed DESTROY: b %s with %u waiting", ai.found ?
		      "present" : "gone", ai.mailbox);
		CHECK(!destroy(rx.fd, b), "DESTROY again");
	}
	actors1 = actors_read(0, NULL);
	if (stats_read(&st1))
		return STEP_FAIL;
	CHECK(actors1 == actors0 - 1, "DESTROY: %d actors, expected %d",
	      actors1, actors0 - 1);
	CHECK(lookup(A.fd, "faults.destroy", NULL) == -ENOENT,
	      "the name outlived DESTROY");
	CHECK(st1.undelivered - st0.undelivered == 4 && st1.orphaned == st0.orphaned,
	      "DESTROY: undelivered +%llu orphaned +%llu, expected +4 +0",
	      (unsigned long long)(st1.undelivered - st0.undelivered),
	      (unsigned long long)(st1.orphaned - st0.orphaned));
	if (expect_reap(&A, a_id, &ea, 0, 0, NULL))
		return STEP_FAIL;
	actors_read(d, &ai);
	CHECK(ai.found && ai.mailbox == 1, "the dormant sender holds %u reports, expected 1",
	      ai.mailbox);
	if (port_open(&rd, 0, 0, 0))
		return STEP_FAIL;
	CHECK(!host(rd.fd, d), "HOST d");
	if (expect_reap(&rd, d, &ed, 0, 0, NULL))
		return STEP_FAIL;
	CHECK(!destroy(rd.fd, d), "DESTROY d");
	vact_port_close(&rd);
	/* rx's CQ still holds a message for b: dropped (orphaned) at close. */
	vact_port_close(&rx);
	return step_result(s, ret, ENOMEM_ONLY);
}

static int t_destroy(struct sweep *s)
{
	return sweep(s, step_destroy, NULL);
}

/* Prints text line by line as KTAP diagnostics. */
static void print_prefixed(const char *text)
{
	const char *nl;

	while (*text) {
		nl = strchr(text, '\n');
		if (!nl)
			nl = text + strlen(text);
		printf("# %.*s\n", (int)(nl - text), text);
		text = *nl ? nl + 1 : nl;
	}
}

/* ---- /proc/vactor ---- */

/* Reading the module's /proc files: open, read to the end, close. */
static int step_proc(struct sweep *s, void *ctx)
{
	static const char *const files[] = {
		"/proc/vactor/actors", "/proc/vactor/ports", "/proc/vactor/stats",
	};
	char buf[4096];
	unsigned int i;
	int fd, ret = 0;
	ssize_t n = 0;

	arm(s->n);
	for (i = 0; i < 3 && !ret; i++) {
		fd = open(files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			break;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n < 0)
			ret = -errno;
		close(fd);
	}
	s->fired = disarm();
	return step_result(s, ret, ENOMEM_ONLY);
}

static int t_proc(struct sweep *s)
{
	return sweep(s, step_proc, NULL);
}

/* ---- leaks ---- */

static int base_vmalloc0;

/*
 * Every test checked on its way that nothing of its own was left (actors,
 * ports, the module's vmalloc areas).  Here the sending port goes too, and
 * kmemleak looks for anything unreferenced the sweeps left behind.
 */
static int t_leaks(struct sweep *s)
{
	char *rep, *p, *obj;
	int n, leaks = 0, others = 0;

	if (destroy(A.fd, a_id))
		return fail("DESTROY a");
	vact_port_close(&A);
	/* Each finding is reported; kmemleak runs whatever came before. */
	n = vmalloc_count();
	if (n != base_vmalloc0)
		fail("%d vmalloc areas of the module left, expected %d", n,
		     base_vmalloc0);
	n = actors_read(0, NULL);
	if (n != base_actors - 1)
		fail("%d actors left, expected %d", n, base_actors - 1);
	n = ports_read(0, NULL);
	if (n != base_ports - 1)
		fail("%d ports left, expected %d", n, base_ports - 1);

	if (access(KMEMLEAK, W_OK)) {
		diag("no %s: leaks of slab objects not checked", KMEMLEAK);
		return fail("kmemleak is not available");
	}
	/* kmemleak reports objects 5 s old, unreferenced in two scans. */
	sleep(6);
	write_file(KMEMLEAK, "scan");
	write_file(KMEMLEAK, "scan");
	rep = read_all(KMEMLEAK);
	if (!rep)
		return fail("cannot read %s", KMEMLEAK);
	for (obj = strstr(rep, "unreferenced object"); obj;
	     obj = strstr(obj + 1, "unreferenced object")) {
		p = strstr(obj + 1, "unreferenced object");
		if (p)
			*p = '\0';
		/* A frame in the module (the comm, vactor_faults, does not count). */
		if (strstr(obj, "[vactor]")) {
			leaks++;
			print_prefixed(obj);
		} else {
			others++;
		}
		if (p)
			*p = 'u';
	}
	free(rep);
	if (others)
		diag("kmemleak: %d unreferenced objects not allocated by vactor (see the kernel's report)",
		     others);
	CHECK(!leaks, "kmemleak: %d unreferenced objects allocated by vactor", leaks);
	return failed_here ? -1 : 0;
}

/* ---- main ---- */

static const struct test {
	const char *name;
	int (*fn)(struct sweep *s);
} tests[] = {
	{ "open", t_open },
	{ "open new-namespace new-user", t_open_ns },
	{ "setup minimal", t_setup_min },
	{ "setup default", t_setup_default },
	{ "mmap", t_mmap },
	{ "create", t_create },
	{ "create named", t_create_named },
	{ "create new-leaf", t_create_leaf },
	{ "create named rehash", t_create_rehash },
	{ "send dormant inline", t_send_inline },
	{ "send dormant buffer", t_send_buf },
	{ "send dormant 64k", t_send_big },
	{ "send dormant ring", t_send_ring },
	{ "send cq-full", t_send_cqfull },
	{ "send cq-full buffer", t_send_cqfull_buf },
	{ "send direct", t_send_direct },
	{ "send batch dormant", t_send_batch },
	{ "send batch dormant ring", t_send_batch_ring },
	{ "send batch cq-full", t_send_batch_cqfull },
	{ "send batch direct ring", t_send_batch_direct },
	{ "host", t_host },
	{ "close requeue", t_close },
	{ "destroy", t_destroy },
	{ "proc read", t_proc },
	{ "leaks", t_leaks },
};

#define NR_TESTS (sizeof(tests) / sizeof(tests[0]))

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (!argc)
		return true;
	for (i = 0; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

static int base_headroom;

/* What every test must leave as it found it. */
static int after_test(void)
{
	struct vactor_cqe *cqe;
	int n;

	if (!vact_peek_cqe(&A, &cqe))
		return fail("the sending port got an unexpected CQE: event %u actor %llu source %llu tag %llu res %d",
			    cqe->event, (unsigned long long)cqe->actor,
			    (unsigned long long)cqe->source,
			    (unsigned long long)cqe->tag, cqe->res);
	n = actors_read(0, NULL);
	CHECK(n == base_actors, "%d actors in the table, expected %d", n, base_actors);
	n = ports_read(0, NULL);
	CHECK(n == base_ports, "%d ports open, expected %d", n, base_ports);
	n = vmalloc_count();
	CHECK(n == base_vmalloc, "%d vmalloc areas of the module, expected %d",
	      n, base_vmalloc);
	if (!have_limits)
		return 0;
	/* The user's counters: ports and actors exactly, memory to a page. */
	if (probe_ports(base_ports) || probe_actors(base_own_actors))
		return -1;
	n = kmem_headroom(base_headroom);
	if (n != base_headroom) {
		fail("the user's kernel-memory count %s by %d KiB with nothing held (a charge %s)",
		     n < base_headroom ? "grew" : "shrank",
		     abs(base_headroom - n) * 4, n < base_headroom ?
		     "was not given back" : "was given back twice");
		/* Judge the next test on its own. */
		base_headroom = n;
		return -1;
	}
	return 0;
}

/* Touches stack pages now, so that no page fault allocates mid-sweep. */
static void prefault_stack(void)
{
	volatile char buf[512 * 1024];

	memset((char *)buf, 0, sizeof(buf));
}

/* One run of a test: its index in tests[] and the mode. */
struct run {
	unsigned int test;
	bool from;
};

static const char *run_name(const struct run *r, char *buf, size_t size)
{
	if (tests[r->test].fn == t_leaks)
		snprintf(buf, size, "no leaks after the sweeps");
	else
		snprintf(buf, size, "%s %s sweep", tests[r->test].name,
			 r->from ? "fail-from-nth" : "fail-nth");
	return buf;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-m nth|from|both] [-v VERBOSE] [-l] [TEST...]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct run runs[2 * NR_TESTS];
	unsigned int i, m, n = 0, pass = 0, nfail = 0;
	bool modes[2] = { true, true };	/* nth, from */
	const char *why;
	char name[128];
	struct sweep s;
	int opt;

	while ((opt = getopt(argc, argv, "m:v:l")) != -1) {
		switch (opt) {
		case 'm':
			modes[0] = !strcmp(optarg, "nth") || !strcmp(optarg, "both");
			modes[1] = !strcmp(optarg, "from") || !strcmp(optarg, "both");
			if (!modes[0] && !modes[1])
				usage(argv[0]);
			break;
		case 'v':
			verbose_level = atoi(optarg);
			break;
		case 'l':
			for (i = 0; i < NR_TESTS; i++)
				printf("%s\n", tests[i].name);
			return 0;
		default:
			usage(argv[0]);
		}
	}
	argc -= optind;
	argv += optind;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Every selected test in each mode, then the leak check once. */
	for (m = 0; m < 2; m++)
		for (i = 0; i < NR_TESTS && modes[m]; i++)
			if (tests[i].fn != t_leaks &&
			    selected(tests[i].name, argc, argv))
				runs[n++] = (struct run){ .test = i, .from = m };
	for (i = 0; i < NR_TESTS; i++)
		if (tests[i].fn == t_leaks)
			runs[n++] = (struct run){ .test = i };

	printf("TAP version 13\n");
	printf("1..%u\n", n);
	why = fault_setup();
	if (!why && mlockall(MCL_CURRENT | MCL_FUTURE))
		why = "mlockall failed: page faults would allocate mid-sweep";
	if (why) {
		printf("# FAIL: fault injection is not available: %s\n", why);
		for (i = 0; i < n; i++)
			printf("not ok %u - %s # %s\n", i + 1,
			       run_name(&runs[i], name, sizeof(name)), why);
		printf("# Totals: pass:0 fail:%u xfail:0 xpass:0 skip:0 error:0\n",
		       n);
		return 1;
	}
	prefault_stack();

	base_vmalloc0 = vmalloc_count();
	if (port_open(&A, 0, 0, 0) || create(A.fd, NULL, &a_id)) {
		printf("Bail out! cannot set up the sending port\n");
		return 1;
	}
	base_actors = actors_read(0, NULL);
	base_own_actors = actors_read_uid(0, NULL, geteuid());
	base_ports = ports_read(0, NULL);
	base_vmalloc = vmalloc_count();
	have_limits = param_get("max_kmem_kb_per_user") >= 0;
	if (have_limits) {
		base_headroom = kmem_headroom(0);
		diag("per-user limits: %d pages of send area fit under %d KiB",
		     base_headroom, PROBE_LIMIT_KB);
		if (base_headroom <= 0) {
			printf("Bail out! cannot measure the user's kernel-memory count\n");
			return 1;
		}
	} else {
		diag("no per-user limits in this module: their counters are not checked");
	}
	diag("failslab and fail_page_alloc: sleeping allocations, any order; verbose %d",
	     verbose_level);
	diag("fail-nth: only the nth allocation fails; fail-from-nth: it and every later one (make-it-fail)");

	for (i = 0; i < n; i++) {
		const struct test *t = &tests[runs[i].test];
		struct timespec t0, t1;
		int ret, warns;

		run_name(&runs[i], name, sizeof(name));
		memset(&s, 0, sizeof(s));
		s.op = t->name;
		from_mode = runs[i].from;
		failed_here = false;
		kmsg("vactor_faults: %u %s", i + 1, name);
		warns = warn_alloc_count();
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ret = t->fn(&s);
		if (t->fn != t_leaks)
			ret |= after_test();
		clock_gettime(CLOCK_MONOTONIC, &t1);
		from_mode = false;
		if (warn_alloc_count() > warns)
			ret = fail("the kernel dumped a stack for a failed allocation (warn_alloc: \"vmalloc error\" or \"page allocation failure\") that was reported to userspace as ENOMEM: the allocation should pass __GFP_NOWARN (see the kernel log)");
		if (ret || failed_here) {
			nfail++;
			printf("not ok %u - %s (%u sites)\n", i + 1, name, s.sites);
		} else {
			pass++;
			printf("ok %u - %s (%u sites)\n", i + 1, name, s.sites);
		}
		diag("%s: %.1f s", name,
		     (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n",
	       pass, nfail);
	return nfail ? 1 : 0;
}
