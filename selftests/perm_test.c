// SPDX-License-Identifier: GPL-2.0
/*
 * vactor isolation tests: one actor table per IPC namespace, actor owners
 * and who may send to, host or destroy an actor, per-user limits
 * (max_ports_per_user, max_actors_per_user, max_kmem_kb_per_user: EDQUOT),
 * the /dev/vactor node mode, and that every byte the kernel writes to
 * userspace (params, CQEs, the mapped regions) is initialised.
 *
 * Must run as root.  The other side of each check runs in a forked helper
 * process (another IPC namespace, or another uid): it reports int64 values
 * through a pipe and waits for "go" bytes on another; the test compares the
 * values.  A port's identity is the euid of the process that opened it,
 * fixed at open(), so helpers open their ports after changing uid; the
 * fixtures that need it make /dev/vactor 0666 and restore its mode after.
 * Limits are per uid and count everything that uid holds: the limited parts
 * run as uids (2000, 3000) that hold nothing else, so counts start at 0.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"

#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "vactor_test.h"

#define PROC_ACTORS	"/proc/vactor/actors"
#define PROC_PORTS	"/proc/vactor/ports"
#define PARAM_DIR	"/sys/module/vactor/parameters/"
#define MAX_PORTS_PARAM	PARAM_DIR "max_ports_per_user"
#define MAX_ACTORS_PARAM PARAM_DIR "max_actors_per_user"
#define MAX_KMEM_PARAM	PARAM_DIR "max_kmem_kb_per_user"

#define USER_UID	1000	/* an ordinary user */
#define OTHER_UID	2000	/* another one; holds nothing outside a test */
#define THIRD_UID	3000

/* ---- helper processes ------------------------------------------------- */

/* What child_get() returns once the child has gone without saying more. */
#define CHILD_GONE	INT64_MIN

/* Exit statuses of a helper: 0 when it ran to its end. */
#define CHILD_EXIT_SETUP	10	/* unshare or changing uid failed */
#define CHILD_EXIT_PIPE		11	/* could not report */
#define CHILD_EXIT_ABANDONED	12	/* the test went away */
#define CHILD_EXIT_EXTRA	200	/* (parent side) reported more than read */

struct child {
	pid_t pid;
	int from;	/* values the child reports */
	int to;		/* "go" bytes for the child */
};

/* The helper's ends of its pipes. */
static int child_out = -1;
static int child_in = -1;

/* Helper side: reports one value. */
static void put(int64_t v)
{
	if (write(child_out, &v, sizeof(v)) != sizeof(v))
		_exit(CHILD_EXIT_PIPE);
}

/* Helper side: blocks until the test says go; ends if the test is gone. */
static void wait_go(void)
{
	char c;

	if (read(child_in, &c, 1) != 1)
		_exit(CHILD_EXIT_ABANDONED);
}

/* Helper side: its only way out, so that nothing of the harness runs. */
static void __attribute__((noreturn)) child_exit(int status)
{
	_exit(status);
}

/* Helper side: supplementary groups, gid, then uid, all of them. */
static void become(uid_t uid)
{
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid))
		child_exit(CHILD_EXIT_SETUP);
}

/* Helper side: a new IPC namespace (needs CAP_SYS_ADMIN). */
static void new_ipc_ns(void)
{
	if (unshare(CLONE_NEWIPC))
		child_exit(CHILD_EXIT_SETUP);
}

static void child_init(struct child *c)
{
	c->pid = -1;
	c->from = -1;
	c->to = -1;
}

/* Starts fn(arg) in a new process; 0 or -errno. */
static int child_start(struct child *c, void (*fn)(const void *arg),
		       const void *arg)
{
	int out[2], in[2];

	child_init(c);
	if (pipe2(out, O_CLOEXEC))
		return -errno;
	if (pipe2(in, O_CLOEXEC)) {
		close(out[0]);
		close(out[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid == 0) {
		close(out[0]);
		close(in[1]);
		child_out = out[1];
		child_in = in[0];
		fn(arg);
		child_exit(0);
	}
	close(out[1]);
	close(in[0]);
	if (c->pid < 0) {
		close(out[0]);
		close(in[1]);
		return -errno;
	}
	c->from = out[0];
	c->to = in[1];
	return 0;
}

/* The child's next value, or CHILD_GONE. */
static int64_t child_get(struct child *c)
{
	int64_t v;

	if (read(c->from, &v, sizeof(v)) != sizeof(v))
		return CHILD_GONE;
	return v;
}

static void child_go(struct child *c)
{
	char g = 'g';

	if (write(c->to, &g, 1) != 1)
		return;	/* it is gone: what it reported tells */
}

/*
 * Lets the child finish and reaps it: its exit status, 128 + signal if a
 * signal ended it, CHILD_EXIT_EXTRA if it reported values nobody read.
 */
static int child_end(struct child *c)
{
	int status, extra = 0;
	int64_t v;

	if (c->pid <= 0)
		return -1;
	close(c->to);
	c->to = -1;
	while (read(c->from, &v, sizeof(v)) == sizeof(v))
		extra++;
	close(c->from);
	c->from = -1;
	if (waitpid(c->pid, &status, 0) != c->pid)
		status = -1;
	c->pid = -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (!WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	return extra ? CHILD_EXIT_EXTRA : 0;
}

/* Teardown: a child a failed test left behind. */
static void child_kill(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
	}
	if (c->to >= 0)
		close(c->to);
	if (c->from >= 0)
		close(c->from);
	child_init(c);
}

#define CHILD_START(c, fn, arg) \
	ASSERT_EQ(0, child_start(c, fn, arg))
#define CHILD_END_OK(c) \
	EXPECT_EQ(0, child_end(c)) \
		TH_LOG("helper: exit status (10 setup, 11 pipe, 12 abandoned, 200 extra values)")

/* ---- small operations --------------------------------------------------- */

static int create_flags(struct vact_port *p, const char *name, uint8_t flags,
			uint64_t *id)
{
	struct vactor_sqe sqe;
	struct vactor_cqe cqe;
	int ret;

	ret = vact_prep_create(&sqe, name, 0, 0);
	if (ret)
		return ret;
	sqe.flags = flags;
	ret = vact_call(p, &sqe, &cqe);
	if (!ret && id)
		*id = cqe.actor;
	return ret;
}

/* A SEND through VACTOR_IOC_CALL: its res. */
static int call_send(struct vact_port *p, uint64_t from, uint64_t to,
		     const void *data, uint32_t len, uint64_t tag)
{
	struct vactor_sqe sqe;
	int ret;

	ret = vact_prep_send(p, &sqe, from, to, data, len, tag);
	if (ret)
		return ret;
	return vact_call(p, &sqe, NULL);
}

/* An actor with no host: created on a port that is then closed. */
static int create_dormant(const char *name, uint64_t *id)
{
	struct vact_port t;
	int ret;

	ret = port_open(&t, 0, 0, 0, 0);
	if (ret)
		return ret;
	ret = vact_create(&t, name, 0, id);
	vact_port_close(&t);
	return ret;
}

/* ---- /proc/vactor ------------------------------------------------------ */

/* A whole file, NUL-terminated, malloc'd; NULL with errno on failure. */
static char *slurp(const char *path)
{
	size_t len = 0, size = 4096;
	char *buf = malloc(size), *bigger;
	ssize_t n;
	int fd, err;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	for (;;) {
		if (size - len < 2) {
			bigger = realloc(buf, size * 2);
			if (!bigger)
				goto fail;
			buf = bigger;
			size *= 2;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = err;
	return NULL;
}

/* Splits a line at tabs, in place: the number of fields. */
static int split_tabs(char *line, char **tok, int max)
{
	int n = 0;

	while (n < max) {
		tok[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

static int col_of(char **hdr, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(hdr[i], name))
			return i;
	return -1;
}

#define MAX_COLS	32

struct actor_row {
	uint64_t id;
	char name[VACTOR_NAME_MAX];
	char state[16];
	unsigned int port;
	unsigned int mailbox;
	long uid;
};

struct port_row {
	unsigned int port;
	long pid;
};

/*
 * The rows of a /proc/vactor file: how many there are (row() is called for
 * the first max), -errno, or -EPROTO if malformed.  want[] names the columns
 * by their header; row() gets their values, as strings, in that order.
 */
static int read_table(const char *path, const char *const *want, int nwant,
		      int max, void (*row)(void *rows, int i, char **vals),
		      void *rows)
{
	char *buf, *line, *next, *tok[MAX_COLS], *vals[MAX_COLS];
	int idx[MAX_COLS], ncols, n, i, count = 0;

	buf = slurp(path);
	if (!buf)
		return -errno;
	line = buf;
	next = strchr(line, '\n');
	if (!next)
		goto proto;
	*next++ = '\0';
	ncols = split_tabs(line, tok, MAX_COLS);
	for (i = 0; i < nwant; i++) {
		idx[i] = col_of(tok, ncols, want[i]);
		if (idx[i] < 0)
			goto proto;
	}
	for (line = next; *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			goto proto;
		*next++ = '\0';
		n = split_tabs(line, tok, MAX_COLS);
		if (n != ncols)
			goto proto;
		if (count < max) {
			for (i = 0; i < nwant; i++)
				vals[i] = tok[idx[i]];
			row(rows, count, vals);
		}
		count++;
	}
	free(buf);
	return count;
proto:
	free(buf);
	return -EPROTO;
}

static void actor_row_fill(void *rows, int i, char **v)
{
	struct actor_row *r = (struct actor_row *)rows + i;

	r->id = strtoull(v[0], NULL, 10);
	snprintf(r->name, sizeof(r->name), "%s", v[1]);
	snprintf(r->state, sizeof(r->state), "%s", v[2]);
	r->port = strtoul(v[3], NULL, 10);
	r->mailbox = strtoul(v[4], NULL, 10);
	r->uid = strtol(v[5], NULL, 10);
}

static int read_actors(struct actor_row *rows, int max)
{
	static const char *const cols[] = {
		"id", "name", "state", "port", "mailbox", "uid",
	};

	return read_table(PROC_ACTORS, cols, 6, max, actor_row_fill, rows);
}

static void port_row_fill(void *rows, int i, char **v)
{
	struct port_row *r = (struct port_row *)rows + i;

	r->port = strtoul(v[0], NULL, 10);
	r->pid = strtol(v[1], NULL, 10);
}

static int read_ports(struct port_row *rows, int max)
{
	static const char *const cols[] = { "port", "pid" };

	return read_table(PROC_PORTS, cols, 2, max, port_row_fill, rows);
}

#define MAX_ROWS	1024

/* The row of actor id, copied into *out: 0, -ENOENT or read_actors' error. */
static int find_actor(uint64_t id, struct actor_row *out)
{
	struct actor_row *rows = calloc(MAX_ROWS, sizeof(*rows));
	int n, i, ret = -ENOENT;

	if (!rows)
		return -ENOMEM;
	n = read_actors(rows, MAX_ROWS);
	if (n < 0)
		ret = n;
	for (i = 0; i < n && i < MAX_ROWS; i++) {
		if (rows[i].id == id) {
			*out = rows[i];
			ret = 0;
			break;
		}
	}
	free(rows);
	return ret;
}

/* How many actors of the reader's namespace have this name (0 or 1). */
static int count_named(const char *name)
{
	struct actor_row *rows = calloc(MAX_ROWS, sizeof(*rows));
	int n, i, found = 0;

	if (!rows)
		return -ENOMEM;
	n = read_actors(rows, MAX_ROWS);
	if (n < 0)
		found = n;
	for (i = 0; i < n && i < MAX_ROWS; i++)
		found += !strcmp(rows[i].name, name);
	free(rows);
	return found;
}

/*
 * Teardown: hosts on p and destroys every actor of uid that a helper left
 * behind (root may: CAP_SYS_ADMIN).  Helpers are reaped by then, so all of
 * them are dormant.
 */
static void destroy_actors_of(struct vact_port *p, long uid)
{
	struct actor_row *rows = calloc(MAX_ROWS, sizeof(*rows));
	int n, i;

	if (!rows)
		return;
	n = read_actors(rows, MAX_ROWS);
	for (i = 0; i < n && i < MAX_ROWS; i++) {
		if (rows[i].uid != uid)
			continue;
		vact_host(p, rows[i].id);
		vact_destroy(p, rows[i].id);
	}
	free(rows);
}

/* ---- module parameters and the device node ----------------------------- */

struct saved_param {
	const char *path;
	char value[32];
	bool saved;
};

static int param_write(const char *path, const char *value)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

static int param_set(const char *path, unsigned long value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", value);
	return param_write(path, buf);
}

static int param_save(struct saved_param *s, const char *path)
{
	ssize_t n;
	int fd;

	s->path = path;
	s->saved = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, s->value, sizeof(s->value) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	s->value[n] = '\0';
	s->value[strcspn(s->value, "\n")] = '\0';
	s->saved = true;
	return 0;
}

static void param_restore(struct saved_param *s)
{
	if (s->saved)
		param_write(s->path, s->value);
	s->saved = false;
}

struct saved_mode {
	mode_t mode;
	bool saved;
};

/*
 * Whether a uid other than root can reach /dev/vactor at all: every
 * directory on the way must be searchable by others.  (An initramfs whose
 * root directory is 0700 makes every absolute path fail with EACCES.)
 */
static const char *unreachable_dir(void)
{
	static const char *const dirs[] = { "/", "/dev" };
	struct stat st;
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (stat(dirs[i], &st) || !(st.st_mode & S_IXOTH))
			return dirs[i];
	return NULL;
}

/* Lets every uid open /dev/vactor; the old mode is kept for dev_restore(). */
static int dev_open_to_all(struct saved_mode *s)
{
	struct stat st;

	s->saved = false;
	if (stat(VACTOR_DEVICE, &st))
		return -errno;
	s->mode = st.st_mode & 07777;
	if (chmod(VACTOR_DEVICE, 0666))
		return -errno;
	s->saved = true;
	return 0;
}

static void dev_restore(struct saved_mode *s)
{
	if (s->saved)
		chmod(VACTOR_DEVICE, s->mode);
	s->saved = false;
}

/* ---- the device node ----------------------------------------------------- */

TEST(device_node_is_root_0600)
{
	struct stat st;

	ASSERT_EQ(0, stat(VACTOR_DEVICE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

static void user_opens_device(const void *arg)
{
	int fd;

	become(USER_UID);
	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	put(fd < 0 ? -errno : 0);
}

TEST(user_cannot_open_0600_device)
{
	struct child c;

	ASSERT_EQ(0, geteuid()) TH_LOG("must run as root");
	/* Else EACCES would come from the path, not from the node's mode. */
	ASSERT_EQ(NULL, unreachable_dir())
		TH_LOG("%s is not searchable by other users", unreachable_dir());
	CHILD_START(&c, user_opens_device, NULL);
	EXPECT_EQ(-EACCES, child_get(&c));
	CHILD_END_OK(&c);
}

/* ---- namespaces: one table per IPC namespace ------------------------------ */

/* Actors created (and destroyed) first, so the parent's ids are not 1, 2... */
#define NS_PAD_ACTORS	4

struct ns_arg {
	char name[VACTOR_NAME_MAX];	/* the parent's named actor */
	char other[VACTOR_NAME_MAX];	/* a name for the child's own */
	uint64_t id;			/* the parent's named actor */
	uint64_t dormant;		/* the parent's dormant actor */
};

FIXTURE(ns) {
	struct vact_port p;
	struct ns_arg arg;
	bool dormant_hosted;
	struct child c;
};

FIXTURE_SETUP(ns)
{
	char dname[VACTOR_NAME_MAX];
	uint64_t pad;
	int i;

	child_init(&self->c);
	ASSERT_EQ(0, geteuid()) TH_LOG("must run as root");
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	for (i = 0; i < NS_PAD_ACTORS; i++) {
		ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &pad));
		ASSERT_EQ(0, vact_destroy(&self->p, pad));
	}
	unique_name(self->arg.name, sizeof(self->arg.name), "perm.ns");
	unique_name(self->arg.other, sizeof(self->arg.other), "perm.ns.child");
	unique_name(dname, sizeof(dname), "perm.ns.dormant");
	ASSERT_EQ(0, vact_create(&self->p, self->arg.name, 0, &self->arg.id));
	ASSERT_EQ(0, create_dormant(dname, &self->arg.dormant));
}

FIXTURE_TEARDOWN(ns)
{
	child_kill(&self->c);
	vact_host(&self->p, self->arg.dormant);
	vact_destroy(&self->p, self->arg.dormant);
	vact_destroy(&self->p, self->arg.id);
	vact_port_close(&self->p);
}

static void ns_lookup_parent_name(const void *arg)
{
	const struct ns_arg *a = arg;
	struct vact_port p;
	uint64_t id = 0;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_lookup(&p, a->name, &id));
	put((int64_t)id);
}

TEST_F(ns, lookup_of_parent_name_enoent)
{
	CHILD_START(&self->c, ns_lookup_parent_name, &self->arg);
	EXPECT_EQ(-ENOENT, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

static void ns_send_to_parent_actor(const void *arg)
{
	const struct ns_arg *a = arg;
	struct vact_port p;
	uint64_t me;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0) || vact_create(&p, NULL, 0, &me))
		child_exit(CHILD_EXIT_SETUP);
	put(me == a->id);	/* an id of its own would make this moot */
	put(call_send(&p, me, a->id, "x", 1, 1));
	put(vact_destroy(&p, me));
}

TEST_F(ns, send_to_parent_actor_enoent)
{
	CHILD_START(&self->c, ns_send_to_parent_actor, &self->arg);
	ASSERT_EQ(0, child_get(&self->c)) TH_LOG("the child's actor has the target's id");
	EXPECT_EQ(-ENOENT, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
	/* Nothing reached the parent's actor. */
	EXPECT_TRUE(cq_idle(&self->p));
}

static void ns_host_parent_dormant(const void *arg)
{
	const struct ns_arg *a = arg;
	struct vact_port p;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_host(&p, a->dormant));
}

TEST_F(ns, host_of_parent_dormant_actor_enoent)
{
	CHILD_START(&self->c, ns_host_parent_dormant, &self->arg);
	EXPECT_EQ(-ENOENT, child_get(&self->c));
	CHILD_END_OK(&self->c);
	/* Still dormant, so still here to be hosted. */
	EXPECT_EQ(0, vact_host(&self->p, self->arg.dormant));
}

static void ns_same_name(const void *arg)
{
	const struct ns_arg *a = arg;
	struct vact_port p;
	uint64_t mine = 0, found = 0;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, a->name, 0, &mine));
	put(vact_lookup(&p, a->name, &found));
	put(found == mine);
	put(vact_destroy(&p, mine));
}

TEST_F(ns, same_name_in_own_namespace)
{
	CHILD_START(&self->c, ns_same_name, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));	/* not EEXIST */
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(1, child_get(&self->c));	/* its own, not the parent's */
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* Takes the parent's name and a few more in its own namespace, then ends. */
static void ns_busy_child(const void *arg)
{
	const struct ns_arg *a = arg;
	struct vact_port p;
	uint64_t ids[3];
	int i;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, a->name, 0, &ids[0]));
	put(vact_create(&p, a->other, 0, &ids[1]));
	put(vact_create(&p, NULL, 0, &ids[2]));
	for (i = 0; i < 3; i++)
		put(vact_destroy(&p, ids[i]));
	/* Its port closes, its table goes away with it. */
}

TEST_F(ns, parent_table_untouched_after_child_exits)
{
	struct actor_row before, after;
	uint64_t found = 0;
	int i;

	ASSERT_EQ(0, find_actor(self->arg.id, &before));
	CHILD_START(&self->c, ns_busy_child, &self->arg);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);

	ASSERT_EQ(0, vact_lookup(&self->p, self->arg.name, &found));
	EXPECT_EQ(self->arg.id, found);
	ASSERT_EQ(0, find_actor(self->arg.id, &after));
	EXPECT_STREQ(self->arg.name, after.name);
	EXPECT_STREQ("active", after.state);
	EXPECT_EQ(self->p.id, after.port);
	EXPECT_EQ(before.uid, after.uid);
	EXPECT_EQ(0, count_named(self->arg.other));
}

static void ns_proc_actors(const void *arg)
{
	const struct ns_arg *a = arg;
	struct actor_row rows[8];
	struct vact_port p;
	uint64_t named, unnamed;
	int n, i, mine = 0;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0) ||
	    vact_create(&p, a->other, 0, &named) ||
	    vact_create(&p, NULL, 0, &unnamed))
		child_exit(CHILD_EXIT_SETUP);
	n = read_actors(rows, 8);
	put(n);
	for (i = 0; i < n && i < 8; i++)
		mine += (rows[i].id == named && !strcmp(rows[i].name, a->other)) ||
			(rows[i].id == unnamed && !strcmp(rows[i].name, "-"));
	put(mine);
	vact_destroy(&p, named);
	vact_destroy(&p, unnamed);
}

TEST_F(ns, proc_actors_shows_only_own_namespace)
{
	CHILD_START(&self->c, ns_proc_actors, &self->arg);
	EXPECT_EQ(2, child_get(&self->c));	/* lines besides the header */
	EXPECT_EQ(2, child_get(&self->c));	/* ...both its own */
	CHILD_END_OK(&self->c);
}

static void ns_proc_ports(const void *arg)
{
	struct port_row rows[8];
	struct vact_port p;
	int n;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	n = read_ports(rows, 8);
	put(n);
	put(n > 0 ? rows[0].port : 0);
	put(p.id);
	put(n > 0 ? rows[0].pid : 0);
	put(getpid());
}

TEST_F(ns, proc_ports_shows_only_own_namespace)
{
	int64_t port, pid;

	CHILD_START(&self->c, ns_proc_ports, &self->arg);
	EXPECT_EQ(1, child_get(&self->c));
	port = child_get(&self->c);
	EXPECT_EQ(child_get(&self->c), port);
	pid = child_get(&self->c);
	EXPECT_EQ(child_get(&self->c), pid);
	CHILD_END_OK(&self->c);
}

static void ns_proc_before_port(const void *arg)
{
	struct actor_row arows[1];
	struct port_row prows[1];

	new_ipc_ns();
	put(read_actors(arows, 1));
	put(read_ports(prows, 1));
}

TEST_F(ns, proc_empty_before_first_port)
{
	CHILD_START(&self->c, ns_proc_before_port, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* Holds a named actor in its own namespace until told to go. */
static void ns_holder(const void *arg)
{
	const struct ns_arg *a = arg;
	struct vact_port p;
	uint64_t id;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, a->other, 0, &id));
	wait_go();
	put(vact_destroy(&p, id));
}

TEST_F(ns, parent_proc_hides_child_actors)
{
	CHILD_START(&self->c, ns_holder, &self->arg);
	ASSERT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, count_named(self->arg.other));
	EXPECT_EQ(1, count_named(self->arg.name));
	child_go(&self->c);
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

TEST_F(ns, parent_cannot_lookup_child_name)
{
	uint64_t found = 0;

	CHILD_START(&self->c, ns_holder, &self->arg);
	ASSERT_EQ(0, child_get(&self->c));
	EXPECT_EQ(-ENOENT, vact_lookup(&self->p, self->arg.other, &found));
	child_go(&self->c);
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/*
 * Documentation/uapi.rst: "Ids are never reused".  A namespace's table goes
 * away with its last port and actor; the next one must not hand out the
 * same ids again (a stale id would reach a new actor).
 */
static void ns_ids_after_table_gone(const void *arg)
{
	struct vact_port p;
	uint64_t first = 0, second = 0;

	new_ipc_ns();
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &first));
	put(vact_destroy(&p, first));
	vact_port_close(&p);	/* nothing of this namespace is left */
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &second));
	put((int64_t)first);
	put((int64_t)second);
	vact_destroy(&p, second);
}

TEST_F(ns, ids_not_reused_after_namespace_table_freed)
{
	int64_t first, second;

	CHILD_START(&self->c, ns_ids_after_table_gone, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	first = child_get(&self->c);
	second = child_get(&self->c);
	EXPECT_NE(first, second) TH_LOG("id %lld handed out twice", (long long)first);
	CHILD_END_OK(&self->c);
}

/* ---- owners: who may send, host and destroy ----------------------------- */

struct owner_arg {
	char priv_name[VACTOR_NAME_MAX];
	char user_name[VACTOR_NAME_MAX];	/* for the helpers' actors */
	uint64_t priv;		/* root's private actor, hosted by p */
	uint64_t pub;		/* root's public actor, hosted by p */
	uint64_t dormant;	/* root's dormant actor */
	uint64_t target;	/* per test */
};

FIXTURE(owner) {
	struct vact_port p;
	struct owner_arg arg;
	struct saved_mode mode;
	struct child c, c2;
};

FIXTURE_SETUP(owner)
{
	char name[VACTOR_NAME_MAX];

	child_init(&self->c);
	child_init(&self->c2);
	ASSERT_EQ(0, geteuid()) TH_LOG("must run as root");
	ASSERT_EQ(NULL, unreachable_dir())
		TH_LOG("%s is not searchable by other users: no uid but root can open "
		       VACTOR_DEVICE, unreachable_dir());
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	unique_name(self->arg.priv_name, sizeof(self->arg.priv_name),
		    "perm.own.priv");
	unique_name(self->arg.user_name, sizeof(self->arg.user_name),
		    "perm.own.user");
	ASSERT_EQ(0, vact_create(&self->p, self->arg.priv_name, 0,
				 &self->arg.priv));
	unique_name(name, sizeof(name), "perm.own.pub");
	ASSERT_EQ(0, create_flags(&self->p, name, VACTOR_SQE_F_PUBLIC,
				  &self->arg.pub));
	unique_name(name, sizeof(name), "perm.own.dormant");
	ASSERT_EQ(0, create_dormant(name, &self->arg.dormant));
	/* Last: nothing above can fail after the node was opened up. */
	ASSERT_EQ(0, dev_open_to_all(&self->mode));
}

FIXTURE_TEARDOWN(owner)
{
	child_kill(&self->c);
	child_kill(&self->c2);
	dev_restore(&self->mode);
	destroy_actors_of(&self->p, USER_UID);
	destroy_actors_of(&self->p, OTHER_UID);
	vact_host(&self->p, self->arg.dormant);
	vact_destroy(&self->p, self->arg.dormant);
	vact_destroy(&self->p, self->arg.pub);
	vact_destroy(&self->p, self->arg.priv);
	vact_port_close(&self->p);
}

/* As USER_UID: an actor of its own sends to arg->target through CALL. */
static void user_sends(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;
	uint64_t me;

	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &me));
	put((int64_t)me);
	put(call_send(&p, me, a->target, "hello", 5, 0x1234));
	put(vact_destroy(&p, me));
}

TEST_F(owner, send_to_root_private_actor_eperm)
{
	self->arg.target = self->arg.priv;
	CHILD_START(&self->c, user_sends, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_LT(0, child_get(&self->c));
	EXPECT_EQ(-EPERM, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
	EXPECT_TRUE(cq_idle(&self->p));
}

/* The same refusal through the rings: an EV_COMPLETE with -EPERM. */
static void user_sends_ring(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vactor_sqe *sqe;
	struct vactor_cqe cqe;
	struct vact_port p;
	uint64_t me;

	memset(&cqe, 0, sizeof(cqe));
	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0) || vact_create(&p, NULL, 0, &me))
		child_exit(CHILD_EXIT_SETUP);
	sqe = vact_get_sqe(&p);
	if (!sqe || vact_prep_send(&p, sqe, me, a->target, "hello", 5, 7))
		child_exit(CHILD_EXIT_SETUP);
	sqe->user_data = 0xabc;
	put(vact_submit(&p));
	put(reap(&p, &cqe, WAIT_NS));
	put(cqe.event);
	put(cqe.opcode);
	put(cqe.res);
	put(cqe.user_data);
	put(cq_idle(&p));
	vact_destroy(&p, me);
}

TEST_F(owner, send_to_root_private_actor_eperm_ring)
{
	self->arg.target = self->arg.priv;
	CHILD_START(&self->c, user_sends_ring, &self->arg);
	EXPECT_EQ(1, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(VACTOR_EV_COMPLETE, child_get(&self->c));
	EXPECT_EQ(VACTOR_OP_SEND, child_get(&self->c));
	EXPECT_EQ(-EPERM, child_get(&self->c));
	EXPECT_EQ(0xabc, child_get(&self->c));
	EXPECT_EQ(1, child_get(&self->c));
	CHILD_END_OK(&self->c);
	EXPECT_TRUE(cq_idle(&self->p));
}

TEST_F(owner, send_to_root_public_actor_delivered)
{
	struct vactor_cqe cqe;
	int64_t source;

	self->arg.target = self->arg.pub;
	CHILD_START(&self->c, user_sends, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	source = child_get(&self->c);
	EXPECT_LT(0, source);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);

	ASSERT_EQ(0, reap(&self->p, &cqe, WAIT_NS));
	EXPECT_EQ(VACTOR_EV_MSG, cqe.event);
	EXPECT_EQ(0, cqe.res);
	EXPECT_EQ(self->arg.pub, cqe.actor);
	EXPECT_EQ(source, cqe.source);
	EXPECT_EQ(0x1234, cqe.tag);
	ASSERT_EQ(5, cqe.len);
	EXPECT_EQ(0, memcmp(cqe.data, "hello", 5));
	EXPECT_TRUE(cq_idle(&self->p));
}

/* As USER_UID: HOST of arg->target. */
static void user_hosts(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;

	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_host(&p, a->target));
}

/* DESTROY needs the actor hosted by the port: refusing HOST refuses it too. */
TEST_F(owner, host_of_root_dormant_actor_eperm)
{
	struct actor_row row;

	self->arg.target = self->arg.dormant;
	CHILD_START(&self->c, user_hosts, &self->arg);
	EXPECT_EQ(-EPERM, child_get(&self->c));
	CHILD_END_OK(&self->c);
	ASSERT_EQ(0, find_actor(self->arg.dormant, &row));
	EXPECT_STREQ("dormant", row.state);
	EXPECT_EQ(0, vact_host(&self->p, self->arg.dormant));
}

static void user_destroys_root_actor(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;

	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_destroy(&p, a->target));
}

TEST_F(owner, destroy_of_root_actor_eperm)
{
	uint64_t found = 0;

	self->arg.target = self->arg.priv;
	CHILD_START(&self->c, user_destroys_root_actor, &self->arg);
	EXPECT_EQ(-EPERM, child_get(&self->c));
	CHILD_END_OK(&self->c);
	EXPECT_EQ(0, vact_lookup(&self->p, self->arg.priv_name, &found));
	EXPECT_EQ(self->arg.priv, found);
}

static void user_looks_up(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;
	uint64_t found = 0;

	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_lookup(&p, a->priv_name, &found));
	put((int64_t)found);
}

TEST_F(owner, lookup_of_root_actor_name)
{
	CHILD_START(&self->c, user_looks_up, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(self->arg.priv, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* As USER_UID (or arg->target as the uid): a named actor left dormant. */
static void user_leaves_dormant(const void *arg)
{
	const struct owner_arg *a = arg;
	uint64_t id = 0;

	become(USER_UID);
	put(create_dormant(a->user_name, &id));
	put((int64_t)id);
}

TEST_F(owner, root_hosts_user_dormant_actor)
{
	struct actor_row row;
	int64_t id;

	CHILD_START(&self->c, user_leaves_dormant, &self->arg);
	ASSERT_EQ(0, child_get(&self->c));
	id = child_get(&self->c);
	CHILD_END_OK(&self->c);
	ASSERT_EQ(0, find_actor(id, &row));
	EXPECT_STREQ("dormant", row.state);

	EXPECT_EQ(0, vact_host(&self->p, id));
	ASSERT_EQ(0, find_actor(id, &row));
	EXPECT_STREQ("active", row.state);
	EXPECT_EQ(self->p.id, row.port);
	EXPECT_EQ(USER_UID, row.uid);	/* hosting does not change the owner */
	EXPECT_EQ(0, vact_destroy(&self->p, id));
}

/* As USER_UID: hosts a private actor, reports the first message it gets. */
static void user_receives(const void *arg)
{
	struct vactor_cqe cqe;
	struct vact_port p;
	uint64_t me = 0;

	memset(&cqe, 0, sizeof(cqe));
	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &me));
	put((int64_t)me);
	wait_go();
	put(reap(&p, &cqe, WAIT_NS));
	put(cqe.event);
	put((int64_t)cqe.actor);
	put((int64_t)cqe.source);
	put((int64_t)cqe.tag);
	put(vact_destroy(&p, me));
}

TEST_F(owner, root_sends_to_user_private_actor)
{
	int64_t target;

	CHILD_START(&self->c, user_receives, &self->arg);
	ASSERT_EQ(0, child_get(&self->c));
	target = child_get(&self->c);
	EXPECT_EQ(0, call_send(&self->p, self->arg.priv, target, "hi", 2, 99));
	child_go(&self->c);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(VACTOR_EV_MSG, child_get(&self->c));
	EXPECT_EQ(target, child_get(&self->c));
	EXPECT_EQ(self->arg.priv, child_get(&self->c));
	EXPECT_EQ(99, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* As USER_UID: an actor left dormant by one port, hosted by the next. */
static void user_hosts_own_dormant(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;
	uint64_t id = 0;

	become(USER_UID);
	put(create_dormant(a->user_name, &id));
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_host(&p, id));
	put(vact_destroy(&p, id));
}

TEST_F(owner, user_hosts_and_destroys_own_dormant_actor)
{
	CHILD_START(&self->c, user_hosts_own_dormant, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
	EXPECT_EQ(0, count_named(self->arg.user_name));
}

/* As OTHER_UID: HOST of, then SEND to, arg->target (USER_UID's). */
static void other_user_reaches(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;
	uint64_t me;

	become(OTHER_UID);
	if (port_open(&p, 0, 0, 0, 0) || vact_create(&p, NULL, 0, &me))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_host(&p, a->target));
	put(call_send(&p, me, a->target, "x", 1, 1));
	put(vact_destroy(&p, me));
}

TEST_F(owner, other_user_cannot_host_or_send_to_private_actor)
{
	struct actor_row row;
	int64_t id;

	CHILD_START(&self->c, user_leaves_dormant, &self->arg);
	ASSERT_EQ(0, child_get(&self->c));
	id = child_get(&self->c);
	CHILD_END_OK(&self->c);

	self->arg.target = id;
	CHILD_START(&self->c2, other_user_reaches, &self->arg);
	EXPECT_EQ(-EPERM, child_get(&self->c2));
	EXPECT_EQ(-EPERM, child_get(&self->c2));
	EXPECT_EQ(0, child_get(&self->c2));
	CHILD_END_OK(&self->c2);
	ASSERT_EQ(0, find_actor(id, &row));
	EXPECT_STREQ("dormant", row.state);
	EXPECT_EQ(0, row.mailbox);	/* the refused message was not held */
}

/* As USER_UID: a named actor, held until told to go. */
static void user_holds(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;
	uint64_t id = 0;

	become(USER_UID);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, a->user_name, 0, &id));
	put((int64_t)id);
	wait_go();
	put(vact_destroy(&p, id));
}

TEST_F(owner, proc_uid_of_user_actor)
{
	struct actor_row row;
	int64_t id;

	CHILD_START(&self->c, user_holds, &self->arg);
	ASSERT_EQ(0, child_get(&self->c));
	id = child_get(&self->c);
	ASSERT_EQ(0, find_actor(id, &row));
	EXPECT_EQ(USER_UID, row.uid);
	EXPECT_STREQ(self->arg.user_name, row.name);
	child_go(&self->c);
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

TEST_F(owner, proc_uid_of_root_actor)
{
	struct actor_row row;

	ASSERT_EQ(0, find_actor(self->arg.priv, &row));
	EXPECT_EQ(0, row.uid);
}

TEST_F(owner, proc_uid_is_last_column)
{
	char *buf = slurp(PROC_ACTORS), *nl;

	ASSERT_NE(NULL, buf);
	nl = strchr(buf, '\n');
	ASSERT_NE(NULL, nl);
	*nl = '\0';
	ASSERT_LE(4, strlen(buf));
	EXPECT_STREQ("\tuid", buf + strlen(buf) - 4);
	free(buf);
}

/* Opens a port as root, then becomes USER_UID and uses it. */
static void root_port_then_user(const void *arg)
{
	const struct owner_arg *a = arg;
	struct vact_port p;

	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	become(USER_UID);
	put(geteuid());
	put(vact_host(&p, a->target));
	put(vact_destroy(&p, a->target));
}

TEST_F(owner, identity_fixed_at_open)
{
	self->arg.target = self->arg.dormant;
	CHILD_START(&self->c, root_port_then_user, &self->arg);
	EXPECT_EQ(USER_UID, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));	/* the port is root's */
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* ---- per-user limits -------------------------------------------------- */

struct limit_arg {
	uid_t uid;
	unsigned int n;		/* the limit under test, where it is a count */
	char name[VACTOR_NAME_MAX];
};

FIXTURE(limits) {
	struct vact_port p;	/* root's, to clean up after helpers */
	struct saved_param ports, actors, kmem;
	struct saved_mode mode;
	struct limit_arg arg;
	struct child c, c2;
};

FIXTURE_SETUP(limits)
{
	child_init(&self->c);
	child_init(&self->c2);
	ASSERT_EQ(0, geteuid()) TH_LOG("must run as root");
	ASSERT_EQ(NULL, unreachable_dir())
		TH_LOG("%s is not searchable by other users: no uid but root can open "
		       VACTOR_DEVICE, unreachable_dir());
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, param_save(&self->ports, MAX_PORTS_PARAM));
	ASSERT_EQ(0, param_save(&self->actors, MAX_ACTORS_PARAM));
	ASSERT_EQ(0, param_save(&self->kmem, MAX_KMEM_PARAM));
	self->arg.uid = OTHER_UID;
	unique_name(self->arg.name, sizeof(self->arg.name), "perm.limit");
	ASSERT_EQ(0, dev_open_to_all(&self->mode));
}

FIXTURE_TEARDOWN(limits)
{
	child_kill(&self->c);
	child_kill(&self->c2);
	param_restore(&self->ports);
	param_restore(&self->actors);
	param_restore(&self->kmem);
	dev_restore(&self->mode);
	destroy_actors_of(&self->p, OTHER_UID);
	destroy_actors_of(&self->p, THIRD_UID);
	vact_port_close(&self->p);
}

/* n actors, then one more (named): EDQUOT, and the name stays free. */
static void actors_to_limit(const void *arg)
{
	const struct limit_arg *a = arg;
	uint64_t ids[16], extra = 0, found = 0;
	struct vact_port p;
	unsigned int i;

	become(a->uid);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	for (i = 0; i < a->n; i++)
		put(vact_create(&p, NULL, 0, &ids[i]));
	put(vact_create(&p, a->name, 0, &extra));
	put(vact_lookup(&p, a->name, &found));
	for (i = 0; i < a->n; i++)
		vact_destroy(&p, ids[i]);
}

TEST_F(limits, actors_over_limit_edquot)
{
	unsigned int i;

	self->arg.n = 3;
	ASSERT_EQ(0, param_set(MAX_ACTORS_PARAM, self->arg.n));
	CHILD_START(&self->c, actors_to_limit, &self->arg);
	for (i = 0; i < self->arg.n; i++)
		EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	EXPECT_EQ(-ENOENT, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

static void actors_destroy_makes_room(const void *arg)
{
	const struct limit_arg *a = arg;
	uint64_t ids[16], again = 0, extra = 0;
	struct vact_port p;
	unsigned int i;

	become(a->uid);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	for (i = 0; i < a->n; i++)
		if (vact_create(&p, NULL, 0, &ids[i]))
			child_exit(CHILD_EXIT_SETUP);
	put(vact_destroy(&p, ids[0]));
	put(vact_create(&p, NULL, 0, &again));
	put(vact_create(&p, NULL, 0, &extra));
	vact_destroy(&p, again);
	for (i = 1; i < a->n; i++)
		vact_destroy(&p, ids[i]);
}

TEST_F(limits, actors_destroy_makes_room)
{
	self->arg.n = 3;
	ASSERT_EQ(0, param_set(MAX_ACTORS_PARAM, self->arg.n));
	CHILD_START(&self->c, actors_destroy_makes_room, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* Dormant actors count: a new port of the same uid is at the limit. */
static void actors_dormant_count(const void *arg)
{
	const struct limit_arg *a = arg;
	uint64_t ids[16], extra = 0;
	struct vact_port p;
	unsigned int i;

	become(a->uid);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	for (i = 0; i < a->n; i++)
		if (vact_create(&p, NULL, 0, &ids[i]))
			child_exit(CHILD_EXIT_SETUP);
	vact_port_close(&p);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &extra));
	for (i = 0; i < a->n; i++) {
		put(vact_host(&p, ids[i]));
		put(vact_destroy(&p, ids[i]));
	}
	put(vact_create(&p, NULL, 0, &extra));
	vact_destroy(&p, extra);
}

TEST_F(limits, actors_dormant_ones_count)
{
	unsigned int i;

	self->arg.n = 2;
	ASSERT_EQ(0, param_set(MAX_ACTORS_PARAM, self->arg.n));
	CHILD_START(&self->c, actors_dormant_count, &self->arg);
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	for (i = 0; i < 2 * self->arg.n; i++)
		EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));	/* room again */
	CHILD_END_OK(&self->c);
}

/*
 * One actor in the initial IPC namespace, one in a new one, both as a->uid
 * (euid only: the saved uid stays 0 so that unshare is still allowed).
 */
static void actors_across_namespaces(const void *arg)
{
	const struct limit_arg *a = arg;
	struct vact_port p, q;
	uint64_t x = 0, y = 0, z = 0;

	if (setresuid(a->uid, a->uid, 0) || port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &x));
	if (setresuid(-1, 0, -1))
		child_exit(CHILD_EXIT_SETUP);
	new_ipc_ns();
	if (setresuid(-1, a->uid, -1) || port_open(&q, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&q, NULL, 0, &y));
	put(vact_create(&q, NULL, 0, &z));
	vact_destroy(&q, y);
	vact_destroy(&p, x);
}

TEST_F(limits, actors_counted_across_namespaces)
{
	self->arg.n = 2;
	ASSERT_EQ(0, param_set(MAX_ACTORS_PARAM, self->arg.n));
	CHILD_START(&self->c, actors_across_namespaces, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* Reaches the limit, then holds it until told to go. */
static void actors_hold_limit(const void *arg)
{
	const struct limit_arg *a = arg;
	uint64_t ids[16], extra;
	struct vact_port p;
	unsigned int i;

	become(a->uid);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	for (i = 0; i < a->n; i++)
		if (vact_create(&p, NULL, 0, &ids[i]))
			child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &extra));
	wait_go();
	for (i = 0; i < a->n; i++)
		vact_destroy(&p, ids[i]);
}

static void actors_create_one(const void *arg)
{
	const struct limit_arg *a = arg;
	struct vact_port p;
	uint64_t id = 0;

	become(a->uid);
	if (port_open(&p, 0, 0, 0, 0))
		child_exit(CHILD_EXIT_SETUP);
	put(vact_create(&p, NULL, 0, &id));
	vact_destroy(&p, id);
}

TEST_F(limits, actors_limit_is_per_user)
{
	struct limit_arg other;

	self->arg.n = 2;
	ASSERT_EQ(0, param_set(MAX_ACTORS_PARAM, self->arg.n));
	CHILD_START(&self->c, actors_hold_limit, &self->arg);
	ASSERT_EQ(-EDQUOT, child_get(&self->c));
	other = self->arg;
	other.uid = THIRD_UID;
	CHILD_START(&self->c2, actors_create_one, &other);
	EXPECT_EQ(0, child_get(&self->c2));
	CHILD_END_OK(&self->c2);
	child_go(&self->c);
	CHILD_END_OK(&self->c);
}

/* a->n ports (open only), one more, then one after closing one. */
static void ports_to_limit(const void *arg)
{
	const struct limit_arg *a = arg;
	int fds[16], extra;
	unsigned int i;

	become(a->uid);
	for (i = 0; i < a->n; i++) {
		fds[i] = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
		put(fds[i] < 0 ? -errno : 0);
	}
	extra = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	put(extra < 0 ? -errno : 0);
	if (extra >= 0)
		close(extra);
	close(fds[0]);
	extra = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	put(extra < 0 ? -errno : 0);
}

TEST_F(limits, ports_over_limit_edquot_until_one_closes)
{
	unsigned int i;

	self->arg.n = 2;
	ASSERT_EQ(0, param_set(MAX_PORTS_PARAM, self->arg.n));
	CHILD_START(&self->c, ports_to_limit, &self->arg);
	for (i = 0; i < self->arg.n; i++)
		EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));	/* after a close */
	CHILD_END_OK(&self->c);
}

/* The smallest port: 1 SQE, 1 CQE, a page of send area, 64 KiB receive area. */
static int setup_small(int fd)
{
	struct vactor_params params;

	memset(&params, 0, sizeof(params));
	params.sq_entries = 1;
	params.cq_entries = 1;
	params.send_size = 1;
	params.recv_size = VACTOR_MSG_MAX;
	return ioctl(fd, VACTOR_IOC_SETUP, &params) ? -errno : 0;
}

static int setup_default(int fd)
{
	struct vactor_params params;

	memset(&params, 0, sizeof(params));
	return ioctl(fd, VACTOR_IOC_SETUP, &params) ? -errno : 0;
}

/* SETUP with the default (1 MiB + 256 KiB areas), then a small one. */
static void kmem_setup(const void *arg)
{
	const struct limit_arg *a = arg;
	int fd;

	become(a->uid);
	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		child_exit(CHILD_EXIT_SETUP);
	put(setup_default(fd));
	put(setup_small(fd));	/* the refused SETUP left nothing charged */
}

TEST_F(limits, kmem_setup_over_limit_edquot)
{
	ASSERT_EQ(0, param_set(MAX_KMEM_PARAM, 512));
	CHILD_START(&self->c, kmem_setup, &self->arg);
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

#define KMEM_MAX_PORTS	64

/* Small ports until EDQUOT (a count), all closed, then the same again. */
static void kmem_ports_until_full(const void *arg)
{
	const struct limit_arg *a = arg;
	int fds[KMEM_MAX_PORTS], round, n, err;

	become(a->uid);
	for (round = 0; round < 2; round++) {
		err = 0;
		for (n = 0; n < KMEM_MAX_PORTS; n++) {
			fds[n] = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
			if (fds[n] < 0)
				child_exit(CHILD_EXIT_SETUP);
			err = setup_small(fds[n]);
			if (err) {
				close(fds[n]);
				break;
			}
		}
		put(n);
		put(err);
		while (n--)
			close(fds[n]);
	}
}

TEST_F(limits, kmem_given_back_when_ports_close)
{
	int64_t first;

	ASSERT_EQ(0, param_set(MAX_KMEM_PARAM, 1024));
	CHILD_START(&self->c, kmem_ports_until_full, &self->arg);
	first = child_get(&self->c);
	EXPECT_LT(0, first);
	EXPECT_GT(KMEM_MAX_PORTS, first);
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	EXPECT_EQ(first, child_get(&self->c));
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/*
 * A receiver whose CQ holds one 64 KiB message (its receive area is that
 * big) and who does not reap: further messages wait in its actor's mailbox,
 * counted against the sender's kmem.  Sends of 64 KiB each, tag = seq.
 */
#define HELD_MAX	16

struct held {
	struct vact_port rx, tx;
	uint64_t ra, ta;
	uint64_t seq;			/* next tag */
	uint64_t accepted[2 * HELD_MAX];
	unsigned int nr_accepted;
};

static void held_setup(struct held *h)
{
	struct vactor_params params;

	memset(&params, 0, sizeof(params));
	params.sq_entries = 1;
	params.cq_entries = 2;
	params.send_size = 1;
	params.recv_size = VACTOR_MSG_MAX;
	if (vact_port_open(&h->rx, &params))
		child_exit(CHILD_EXIT_SETUP);
	memset(&params, 0, sizeof(params));
	params.sq_entries = 4;
	params.cq_entries = 4;
	params.send_size = VACTOR_MSG_MAX;
	params.recv_size = VACTOR_MSG_MAX;
	if (vact_port_open(&h->tx, &params) ||
	    vact_create(&h->rx, NULL, 0, &h->ra) ||
	    vact_create(&h->tx, NULL, 0, &h->ta))
		child_exit(CHILD_EXIT_SETUP);
	h->seq = 0;
	h->nr_accepted = 0;
}

/* One 64 KiB message from the send area: its res. */
static int held_send(struct held *h)
{
	struct vactor_sqe sqe;
	uint64_t seq = h->seq++;
	int ret;

	pattern_fill(h->tx.send, VACTOR_MSG_MAX, 0, seq);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = VACTOR_OP_SEND;
	sqe.flags = VACTOR_SQE_F_BUF;
	sqe.actor = h->ta;
	sqe.target = h->ra;
	sqe.tag = seq;
	sqe.len = VACTOR_MSG_MAX;
	sqe.buf_off = 0;
	ret = vact_call(&h->tx, &sqe, NULL);
	if (!ret && h->nr_accepted < 2 * HELD_MAX)
		h->accepted[h->nr_accepted++] = seq;
	return ret;
}

/* Sends until one is refused: how many were accepted, then the refusal. */
static void held_fill(struct held *h)
{
	int held = 0, ret;

	put(held_send(h));		/* straight into the receiver's CQ */
	while ((ret = held_send(h)) == 0 && held < HELD_MAX)
		held++;
	put(held);
	put(ret);
}

static int held_mailbox(struct held *h)
{
	struct actor_row row;
	int ret = find_actor(h->ra, &row);

	return ret ? ret : (int)row.mailbox;
}

/* Receives everything: how many, and whether they are the accepted ones. */
static void held_drain(struct held *h)
{
	struct vactor_cqe *cqe;
	unsigned int n = 0;
	bool ok = true;

	while (vact_wait_cqe(&h->rx, &cqe, n < h->nr_accepted ? WAIT_NS : 0) == 0) {
		ok = ok && n < h->nr_accepted && cqe->event == VACTOR_EV_MSG &&
		     cqe->actor == h->ra && cqe->source == h->ta &&
		     cqe->tag == h->accepted[n] && cqe->len == VACTOR_MSG_MAX &&
		     pattern_ok(vact_cqe_data(&h->rx, cqe), cqe->len, 0, cqe->tag);
		vact_cqe_seen(&h->rx, cqe);
		n++;
	}
	put(n);
	put(ok);
}

static void held_teardown(struct held *h)
{
	vact_destroy(&h->rx, h->ra);
	vact_destroy(&h->tx, h->ta);
}

static void kmem_held_messages(const void *arg)
{
	const struct limit_arg *a = arg;
	struct held h;

	become(a->uid);
	held_setup(&h);
	held_fill(&h);
	put(held_mailbox(&h));
	held_drain(&h);
	held_teardown(&h);
}

TEST_F(limits, kmem_held_messages_edquot)
{
	int64_t held;

	ASSERT_EQ(0, param_set(MAX_KMEM_PARAM, 512));
	CHILD_START(&self->c, kmem_held_messages, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	held = child_get(&self->c);
	EXPECT_LT(0, held) TH_LOG("no message was held before EDQUOT");
	EXPECT_GT(HELD_MAX, held) TH_LOG("the limit never bit");
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	EXPECT_EQ(held, child_get(&self->c));	/* the refused one isn't held */
	EXPECT_EQ(held + 1, child_get(&self->c));
	EXPECT_EQ(1, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* At the limit, the receiver takes one message: exactly one more fits. */
static void kmem_reap_frees(const void *arg)
{
	const struct limit_arg *a = arg;
	struct held h;

	become(a->uid);
	held_setup(&h);
	held_fill(&h);
	/* The direct one is taken unchecked: the drain starts after it. */
	vact_cq_advance(&h.rx, 1);
	h.nr_accepted--;
	memmove(h.accepted, h.accepted + 1, h.nr_accepted * sizeof(h.accepted[0]));
	/* Entering moves the oldest held message into the CQ and frees it. */
	put(enter_raw(h.rx.fd, 0, 0, 0, 0));
	put(held_send(&h));
	put(held_send(&h));
	held_drain(&h);
	held_teardown(&h);
}

TEST_F(limits, kmem_reaping_lets_sends_in_again)
{
	int64_t held;

	ASSERT_EQ(0, param_set(MAX_KMEM_PARAM, 512));
	CHILD_START(&self->c, kmem_reap_frees, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	held = child_get(&self->c);
	EXPECT_LT(0, held);
	EXPECT_GT(HELD_MAX, held);
	EXPECT_EQ(-EDQUOT, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));
	EXPECT_EQ(0, child_get(&self->c));	/* one more fits... */
	EXPECT_EQ(-EDQUOT, child_get(&self->c));	/* ...and only one */
	/* The held ones and the one more, in order, nothing refused among them. */
	EXPECT_EQ(held + 1, child_get(&self->c));
	EXPECT_EQ(1, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* A larger limit never refuses what a smaller one allows. */
static void kmem_default_setup(const void *arg)
{
	const struct limit_arg *a = arg;
	int fd;

	become(a->uid);
	fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		child_exit(CHILD_EXIT_SETUP);
	put(setup_default(fd));
}

TEST_F(limits, kmem_largest_limit_allows_setup)
{
	ASSERT_EQ(0, param_set(MAX_KMEM_PARAM, ULONG_MAX));
	CHILD_START(&self->c, kmem_default_setup, &self->arg);
	EXPECT_EQ(0, child_get(&self->c));
	CHILD_END_OK(&self->c);
}

/* ---- no information leaks ---------------------------------------------- */

/* Offset of the first byte of buf[0..len) that is not b, or -1. */
static long first_not(const void *buf, size_t len, uint8_t b)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != b)
			return (long)i;
	return -1;
}

/* Every byte of a CQE as expected (fields first, for readable failures). */
static void cqe_eq_ok(struct __test_metadata *_metadata,
		      const struct vactor_cqe *want, const struct vactor_cqe *got)
{
	EXPECT_EQ(want->event, got->event);
	EXPECT_EQ(want->opcode, got->opcode);
	EXPECT_EQ(want->flags, got->flags);
	EXPECT_EQ(want->res, got->res);
	EXPECT_EQ(want->len, got->len);
	EXPECT_EQ(want->buf_off, got->buf_off);
	EXPECT_EQ(want->actor, got->actor);
	EXPECT_EQ(want->source, got->source);
	EXPECT_EQ(want->user_data, got->user_data);
	EXPECT_EQ(want->tag, got->tag);
	EXPECT_EQ(want->ts_ns, got->ts_ns);
	EXPECT_EQ(0, got->resv);
	EXPECT_EQ(0, memcmp(want->data, got->data, sizeof(got->data)))
		TH_LOG("data differs from byte %ld",
		       first_not(got->data, sizeof(got->data), 0));
	EXPECT_EQ(0, memcmp(want, got, sizeof(*got)));
}

/* Makes every CQE slot of p all-ones, so that no byte the kernel skips passes. */
static void cq_poison(struct vact_port *p)
{
	memset(p->cq.cqes, 0xff, (size_t)p->cq.entries * sizeof(struct vactor_cqe));
}

FIXTURE(params) {
	int fd;
};

FIXTURE_VARIANT(params) {
	unsigned int sq, cq, send, recv;
};

FIXTURE_VARIANT_ADD(params, defaults) { 0, 0, 0, 0 };
FIXTURE_VARIANT_ADD(params, explicit) { 16, 64, 8192, VACTOR_MSG_MAX };

FIXTURE_SETUP(params)
{
	self->fd = open(VACTOR_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(params)
{
	close(self->fd);
}

/* All-ones params with valid inputs: what SETUP reads must be right. */
static void params_poisoned(struct vactor_params *p,
			    const FIXTURE_VARIANT(params) *variant)
{
	memset(p, 0xff, sizeof(*p));
	p->sq_entries = variant->sq;
	p->cq_entries = variant->cq;
	p->send_size = variant->send;
	p->recv_size = variant->recv;
	p->flags = 0;
	memset(p->resv, 0, sizeof(p->resv));	/* inputs: must be zero */
}

static void ring_offsets_ok(struct __test_metadata *_metadata,
			    const struct vactor_ring_offsets *o,
			    unsigned int entries, unsigned int size,
			    size_t entry_size)
{
	EXPECT_EQ(entries, o->ring_entries);
	EXPECT_EQ(entries - 1, o->ring_mask);
	EXPECT_GT(size, o->head);
	EXPECT_GT(size, o->tail);
	EXPECT_GT(size, o->flags);
	EXPECT_GE(size, o->entries + entries * entry_size);
	EXPECT_EQ(0, o->resv[0]);
	EXPECT_EQ(0, o->resv[1]);
}

TEST_F(params, setup_writes_every_output_field)
{
	struct vactor_params p;
	unsigned int i;

	params_poisoned(&p, variant);
	ASSERT_EQ(0, ioctl(self->fd, VACTOR_IOC_SETUP, &p));
	EXPECT_EQ(variant->sq ? variant->sq : 128, p.sq_entries);
	EXPECT_EQ(variant->cq ? variant->cq : 4 * p.sq_entries, p.cq_entries);
	EXPECT_EQ(0, p.flags);
	EXPECT_NE(0, p.port_id);
	EXPECT_NE(0xffffffff, p.port_id);
	EXPECT_EQ(0, p.send_size % 4096);
	EXPECT_EQ(0, p.sq_size % 4096);
	EXPECT_EQ(0, p.cq_size % 4096);
	EXPECT_GE(0x10000000, p.sq_size);
	EXPECT_GE(0x10000000, p.cq_size);
	ring_offsets_ok(_metadata, &p.sq_off, p.sq_entries, p.sq_size,
			sizeof(struct vactor_sqe));
	ring_offsets_ok(_metadata, &p.cq_off, p.cq_entries, p.cq_size,
			sizeof(struct vactor_cqe));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, p.resv[i]);
}

TEST_F(params, failed_setup_writes_nothing)
{
	struct vactor_params p, before;

	params_poisoned(&p, variant);
	p.flags = 1;
	before = p;
	ASSERT_EQ(-1, ioctl(self->fd, VACTOR_IOC_SETUP, &p));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, memcmp(&before, &p, sizeof(p)));
}

TEST_F(params, regions_zero_after_setup)
{
	struct vact_port port;

	ASSERT_EQ(0, port_open(&port, variant->sq, variant->cq, variant->send,
			       variant->recv));
	EXPECT_EQ(-1, first_not(port.sq.ring, port.sq.ring_size, 0));
	EXPECT_EQ(-1, first_not(port.cq.ring, port.cq.ring_size, 0));
	EXPECT_EQ(-1, first_not(port.send, port.send_size, 0));
	EXPECT_EQ(-1, first_not(port.recv, port.recv_size, 0));
	vact_port_close(&port);
}

/* Completions: every operation, through VACTOR_IOC_CALL and the rings. */
enum op_case {
	OC_NOP, OC_CREATE, OC_LOOKUP, OC_LOOKUP_ENOENT, OC_SEND, OC_SEND_EPERM,
	OC_HOST_EBUSY, OC_DESTROY, OC_BAD_OPCODE,
};

FIXTURE(complete) {
	struct vact_port p;	/* the port under test */
	struct vact_port q;	/* hosts the target */
	char tname[VACTOR_NAME_MAX];
	uint64_t t;		/* hosted by q */
	uint64_t a;		/* hosted by p */
	uint64_t made;		/* created by the test */
};

FIXTURE_VARIANT(complete) {
	enum op_case op;
	bool ring;
};

#define COMPLETE_VARIANTS(name, o) \
	FIXTURE_VARIANT_ADD(complete, name##_call) { .op = o, .ring = false }; \
	FIXTURE_VARIANT_ADD(complete, name##_ring) { .op = o, .ring = true }

COMPLETE_VARIANTS(nop, OC_NOP);
COMPLETE_VARIANTS(create, OC_CREATE);
COMPLETE_VARIANTS(lookup, OC_LOOKUP);
COMPLETE_VARIANTS(lookup_enoent, OC_LOOKUP_ENOENT);
COMPLETE_VARIANTS(send, OC_SEND);
COMPLETE_VARIANTS(send_eperm, OC_SEND_EPERM);
COMPLETE_VARIANTS(host_ebusy, OC_HOST_EBUSY);
COMPLETE_VARIANTS(destroy, OC_DESTROY);
COMPLETE_VARIANTS(bad_opcode, OC_BAD_OPCODE);

FIXTURE_SETUP(complete)
{
	ASSERT_EQ(0, port_open(&self->p, 0, 0, 0, 0));
	ASSERT_EQ(0, port_open(&self->q, 0, 0, 0, 0));
	unique_name(self->tname, sizeof(self->tname), "perm.leak.t");
	ASSERT_EQ(0, vact_create(&self->q, self->tname, 0, &self->t));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->a));
	cq_poison(&self->p);
}

FIXTURE_TEARDOWN(complete)
{
	if (self->made)
		vact_destroy(&self->p, self->made);
	vact_destroy(&self->p, self->a);
	vact_destroy(&self->q, self->t);
	vact_port_close(&self->q);
	vact_port_close(&self->p);
}

/* The SQE of the variant (data beyond len all-ones) and its completion. */
static void complete_prep(struct __test_metadata *_metadata,
			  FIXTURE_DATA(complete) *self, enum op_case op,
			  struct vactor_sqe *sqe, struct vactor_cqe *want)
{
	char absent[VACTOR_NAME_MAX];

	memset(sqe, 0xff, sizeof(*sqe));
	memset(sqe, 0, offsetof(struct vactor_sqe, data));
	memset(want, 0, sizeof(*want));
	switch (op) {
	case OC_NOP:
		sqe->opcode = VACTOR_OP_NOP;
		break;
	case OC_CREATE:
		sqe->opcode = VACTOR_OP_CREATE;
		sqe->type = 7;
		break;
	case OC_LOOKUP:
		sqe->opcode = VACTOR_OP_LOOKUP;
		sqe->len = strlen(self->tname);
		memcpy(sqe->data, self->tname, sqe->len);
		want->actor = self->t;
		break;
	case OC_LOOKUP_ENOENT:
		unique_name(absent, sizeof(absent), "perm.leak.absent");
		sqe->opcode = VACTOR_OP_LOOKUP;
		sqe->len = strlen(absent);
		memcpy(sqe->data, absent, sqe->len);
		want->res = -ENOENT;
		break;
	case OC_SEND:
		sqe->opcode = VACTOR_OP_SEND;
		sqe->flags = VACTOR_SQE_F_ACK;
		sqe->actor = self->a;
		sqe->target = self->t;
		sqe->tag = 5;
		sqe->len = 3;
		memcpy(sqe->data, "abc", 3);
		want->actor = self->a;
		break;
	case OC_SEND_EPERM:
		sqe->opcode = VACTOR_OP_SEND;
		sqe->actor = self->t;	/* not hosted by p */
		sqe->target = self->a;
		sqe->len = 3;
		want->res = -EPERM;
		break;
	case OC_HOST_EBUSY:
		sqe->opcode = VACTOR_OP_HOST;
		sqe->target = self->t;
		want->res = -EBUSY;
		break;
	case OC_DESTROY:
		ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->made));
		sqe->opcode = VACTOR_OP_DESTROY;
		sqe->actor = self->made;
		want->actor = self->made;
		break;
	case OC_BAD_OPCODE:
		sqe->opcode = VACTOR_OP_LAST + 100;
		want->res = -EINVAL;
		break;
	}
	sqe->user_data = 0x0123456789abcdefULL ^ op;
	want->event = VACTOR_EV_COMPLETE;
	want->opcode = sqe->opcode;
	want->user_data = sqe->user_data;
}

TEST_F(complete, cqe_fully_written)
{
	struct vactor_sqe sqe, *slot;
	struct vactor_call call;
	struct vactor_cqe want, got;
	int ret;

	complete_prep(_metadata, self, variant->op, &sqe, &want);
	if (variant->ring) {
		slot = vact_get_sqe(&self->p);
		ASSERT_NE(NULL, slot);
		*slot = sqe;
		ASSERT_EQ(1, vact_submit(&self->p));
		ASSERT_EQ(0, reap(&self->p, &got, WAIT_NS));
		EXPECT_TRUE(cq_idle(&self->p));
	} else {
		memset(&call, 0xff, sizeof(call));
		call.sqe = sqe;
		ret = ioctl(self->p.fd, VACTOR_IOC_CALL, &call);
		EXPECT_EQ(want.res, ret < 0 ? -errno : ret);
		got = call.cqe;
	}
	if (variant->op == OC_CREATE) {
		EXPECT_NE(0, got.actor);
		want.actor = got.actor;
		if (!got.res)
			self->made = got.actor;
	}
	if (variant->op == OC_DESTROY && !got.res)
		self->made = 0;
	cqe_eq_ok(_metadata, &want, &got);
}

/* Messages: a receiver p whose CQ is poisoned, a sender s. */
FIXTURE(msgleak) {
	struct vact_port p, s;
	uint64_t ra, sa;
	unsigned char buf[VACTOR_MSG_MAX];
};

FIXTURE_SETUP(msgleak)
{
	ASSERT_EQ(0, port_open(&self->p, 128, 128, 0, 0));
	ASSERT_EQ(0, port_open(&self->s, 128, 128, 0, 0));
	ASSERT_EQ(0, vact_create(&self->p, NULL, 0, &self->ra));
	ASSERT_EQ(0, vact_create(&self->s, NULL, 0, &self->sa));
	cq_poison(&self->p);
	cq_poison(&self->s);
}

FIXTURE_TEARDOWN(msgleak)
{
	vact_destroy(&self->p, self->ra);
	vact_destroy(&self->s, self->sa);
	vact_port_close(&self->s);
	vact_port_close(&self->p);
}

/*
 * Queues a send from sa to 'to' with tag = seq and a user_data the receiver
 * must not see; the SQE's inline bytes beyond len are all-ones.
 */
static void leak_send_ok(struct __test_metadata *_metadata,
			 FIXTURE_DATA(msgleak) *self, uint64_t to,
			 uint32_t len, uint64_t seq)
{
	struct vactor_sqe *sqe = vact_get_sqe(&self->s);

	ASSERT_NE(NULL, sqe);
	pattern_fill(self->buf, len, 1, seq);
	ASSERT_EQ(0, vact_prep_send(&self->s, sqe, self->sa, to, self->buf,
				    len, seq));
	if (len > VACTOR_INLINE_MAX)
		memset(sqe->data, 0xff, VACTOR_INLINE_MAX);	/* unused: F_BUF */
	else if (len < VACTOR_INLINE_MAX)
		memset(sqe->data + len, 0xff, VACTOR_INLINE_MAX - len);
	sqe->user_data = 0x5ec2e7000000ULL + seq;
	ASSERT_EQ(1, vact_submit(&self->s));
}

/* What an EV_MSG from sa to ra must look like, but for ts_ns. */
static void want_msg(FIXTURE_DATA(msgleak) *self, struct vactor_cqe *want,
		     uint32_t len, uint64_t seq)
{
	memset(want, 0, sizeof(*want));
	want->event = VACTOR_EV_MSG;
	want->len = len;
	want->actor = self->ra;
	want->source = self->sa;
	want->tag = seq;
	if (len <= VACTOR_INLINE_MAX)
		pattern_fill(want->data, len, 1, seq);
}

TEST_F(msgleak, inline_msg_cqes_fully_written)
{
	struct vactor_cqe want, got;
	uint32_t len;

	for (len = 0; len <= VACTOR_INLINE_MAX; len++)
		leak_send_ok(_metadata, self, self->ra, len, len);
	EXPECT_TRUE(cq_idle(&self->s));
	for (len = 0; len <= VACTOR_INLINE_MAX; len++) {
		ASSERT_EQ(0, reap(&self->p, &got, WAIT_NS));
		want_msg(self, &want, len, len);
		EXPECT_NE(0, got.ts_ns);
		want.ts_ns = got.ts_ns;
		cqe_eq_ok(_metadata, &want, &got);
		if (_metadata->passed == 0)
			TH_LOG("payload length %u", len);
	}
	EXPECT_TRUE(cq_idle(&self->p));
}

TEST_F(msgleak, buffered_msg_cqes_have_zero_inline_data)
{
	static const uint32_t lens[] = { VACTOR_INLINE_MAX + 1, 4096, VACTOR_MSG_MAX };
	struct vactor_cqe want, got;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		leak_send_ok(_metadata, self, self->ra, lens[i], i);
		ASSERT_EQ(0, reap(&self->p, &got, WAIT_NS));
		want_msg(self, &want, lens[i], i);
		want.flags = VACTOR_CQE_F_BUF;
		want.buf_off = got.buf_off;
		want.ts_ns = got.ts_ns;
		EXPECT_NE(0, got.ts_ns);
		cqe_eq_ok(_metadata, &want, &got);
		EXPECT_TRUE(pattern_ok(vact_cqe_data(&self->p, &got), lens[i], 1, i));
	}
}

TEST_F(msgleak, undelivered_cqe_fully_written)
{
	struct vactor_cqe want, got;
	struct vact_port h;
	uint64_t t;

	/* A host whose one-entry CQ the first message fills. */
	ASSERT_EQ(0, port_open(&h, 1, 1, 0, 0));
	ASSERT_EQ(0, vact_create(&h, NULL, 0, &t));
	leak_send_ok(_metadata, self, t, 8, 1);
	leak_send_ok(_metadata, self, t, VACTOR_INLINE_MAX, 2);	/* held */
	ASSERT_EQ(0, vact_destroy(&h, t));
	vact_port_close(&h);

	ASSERT_EQ(0, reap(&self->s, &got, WAIT_NS));
	memset(&want, 0, sizeof(want));
	want.event = VACTOR_EV_UNDELIVERED;
	want.res = -ENOENT;
	want.actor = self->sa;
	want.source = t;
	want.user_data = 0x5ec2e7000000ULL + 2;
	want.tag = 2;
	EXPECT_NE(0, got.ts_ns);
	want.ts_ns = got.ts_ns;
	cqe_eq_ok(_metadata, &want, &got);
	EXPECT_TRUE(cq_idle(&self->s));
}

TEST_F(msgleak, redelivered_cqe_fully_written)
{
	struct vactor_cqe want, got;
	struct vact_port h;
	uint64_t t;

	ASSERT_EQ(0, port_open(&h, 0, 0, 0, 0));
	ASSERT_EQ(0, vact_create(&h, NULL, 0, &t));
	leak_send_ok(_metadata, self, t, 10, 3);
	vact_port_close(&h);	/* unconsumed: goes back to t's mailbox */

	ASSERT_EQ(0, vact_host(&self->p, t));
	ASSERT_EQ(0, reap(&self->p, &got, WAIT_NS));
	memset(&want, 0, sizeof(want));
	want.event = VACTOR_EV_MSG;
	want.flags = VACTOR_CQE_F_REDELIVERED;
	want.len = 10;
	want.actor = t;
	want.source = self->sa;
	want.tag = 3;
	pattern_fill(want.data, 10, 1, 3);
	want.ts_ns = got.ts_ns;
	cqe_eq_ok(_metadata, &want, &got);
	EXPECT_EQ(0, vact_destroy(&self->p, t));
}

TEST_F(msgleak, sq_entries_not_written_by_kernel)
{
	size_t size = (size_t)self->s.sq.entries * sizeof(struct vactor_sqe);
	unsigned char *copy = malloc(size);
	struct vactor_sqe *sqe;

	ASSERT_NE(NULL, copy);
	memset(self->s.sq.sqes, 0xff, size);
	sqe = vact_get_sqe(&self->s);
	ASSERT_NE(NULL, sqe);
	vact_prep_nop(sqe, 1);
	memcpy(copy, self->s.sq.sqes, size);
	ASSERT_EQ(1, vact_submit(&self->s));
	EXPECT_EQ(0, memcmp(copy, self->s.sq.sqes, size));
	free(copy);
}

TEST_HARNESS_MAIN
