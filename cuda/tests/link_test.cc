// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * vgpu linked to /dev/vactor: GPU actors in the kernel's actor table,
 * reached by CPU actors through the kernel, in direct mode (the ports'
 * rings in user memory the GPU maps) and in bridge mode.  Prints KTAP with
 * exact counts.
 *
 * It needs the module, so it runs where the module loads: in the VM, built
 * with VGPU_EMULATE (CPU threads stand in for the GPU's blocks, see
 * src/vgpu_emu.h; make -C cuda link-emu).  Built with nvcc it is the same
 * test for a machine that has both a GPU and the module.
 *
 *   vgpu_link_test [NAME...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vgpu_cuda.h"
#include "vact.h"
#include "vgpu.h"

#define WAIT_NS		(20LL * 1000 * 1000 * 1000)
#define MSGS		1000
#define BIG		1000

static int fail;

#define CHECK_EQ(want, got) do {					\
	long long w_ = (long long)(want), g_ = (long long)(got);	\
	if (w_ != g_) {							\
		printf("# %s:%d: %s == %lld, expected %s == %lld\n",	\
		       __FILE__, __LINE__, #got, g_, #want, w_);	\
		fail = 1;						\
	}								\
} while (0)

#define REQUIRE_EQ(want, got) do {					\
	CHECK_EQ(want, got);						\
	if (fail)							\
		goto out;						\
} while (0)

/* A CPU port with one actor, and a vgpu in the given mode. */
struct env {
	struct vact_port p;
	uint64_t me;
	struct vgpu *g;
};

static int env_open(struct env *e, enum vgpu_mode mode)
{
	struct vgpu_opts o;
	int ret;

	memset(e, 0, sizeof(*e));
	e->p.fd = -1;
	ret = vact_port_open(&e->p, NULL);
	if (!ret)
		ret = vact_create(&e->p, NULL, 0, &e->me);
	if (ret) {
		printf("# CPU port: %d\n", ret);
		fail = 1;
		return ret;
	}
	memset(&o, 0, sizeof(o));
	o.slots = 4;
	o.mode = mode;
	ret = vgpu_start(&e->g, &o);
	if (ret) {
		printf("# vgpu_start: %d\n", ret);
		fail = 1;
	}
	return ret;
}

static void env_close(struct env *e)
{
	if (e->g)
		vgpu_stop(e->g);
	if (e->p.fd >= 0) {
		vact_destroy(&e->p, e->me);
		vact_port_close(&e->p);
	}
}

static int gpu_actor(struct env *e, enum vgpu_type type, const char *name,
		     uint32_t flags, uint64_t state0, uint64_t *id)
{
	struct vgpu_actor_config c;
	int slot;

	memset(&c, 0, sizeof(c));
	c.type = type;
	c.flags = flags;
	if (name)
		snprintf(c.name, sizeof(c.name), "%s.%d", name, (int)getpid());
	if (type == VGPU_FORWARD) {
		memcpy(c.state, &state0, sizeof(state0));
		c.state_len = sizeof(state0);
	}
	slot = vgpu_actor_create(e->g, &c, id);
	if (slot < 0) {
		printf("# vgpu_actor_create: %d\n", slot);
		fail = 1;
	}
	return slot;
}

static void fill(unsigned char *b, uint32_t len, uint64_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (unsigned char)(seq * 31 + i * 7);
}

static bool same(const unsigned char *b, uint32_t len, uint64_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		if (b[i] != (unsigned char)(seq * 31 + i * 7))
			return false;
	return true;
}

/*
 * n messages from the CPU actor to `to`, each answered by `from` with the
 * same tag and the first min(len, 64) bytes; in order, nothing else.
 */
static void round_trips(struct env *e, uint64_t to, uint64_t from,
			unsigned int n, uint32_t len, unsigned int window)
{
	unsigned char buf[BIG];
	uint64_t sent = 0, got = 0;
	uint32_t rlen = len < VACTOR_INLINE_MAX ? len : VACTOR_INLINE_MAX;
	struct vactor_cqe *cqe;

	while (got < n && !fail) {
		while (sent < n && sent - got < window) {
			fill(buf, len, sent);
			CHECK_EQ(0, vact_send(&e->p, e->me, to, buf, len, sent));
			sent++;
		}
		CHECK_EQ(0, vact_wait_cqe(&e->p, &cqe, WAIT_NS));
		if (fail)
			return;
		CHECK_EQ(VACTOR_EV_MSG, cqe->event);
		CHECK_EQ(e->me, cqe->actor);
		CHECK_EQ(from, cqe->source);
		CHECK_EQ(got, cqe->tag);
		CHECK_EQ(rlen, cqe->len);
		CHECK_EQ(1, same((const unsigned char *)vact_cqe_data(&e->p, cqe),
				 rlen, got));
		vact_cqe_seen(&e->p, cqe);
		got++;
	}
}

static bool in_proc_actors(uint64_t id, const char *name)
{
	char line[512], want[128];
	FILE *f = fopen("/proc/vactor/actors", "re");
	bool found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "%llu\t%s\t%u\t", (unsigned long long)id,
		 name, VGPU_TYPE_BASE + VGPU_ECHO);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = true;
	fclose(f);
	return found;
}

/* ---- tests ---- */

static void auto_mode_is_direct(void)
{
	struct env e;

	if (!env_open(&e, VGPU_MODE_AUTO))
		CHECK_EQ(VGPU_MODE_DIRECT, vgpu_mode(e.g));
	env_close(&e);
}

static void gpu_actor_in_kernel_table(void)
{
	struct env e;
	char name[VACTOR_NAME_MAX];
	uint64_t id, found = 0;

	if (env_open(&e, VGPU_MODE_DIRECT))
		goto out;
	gpu_actor(&e, VGPU_ECHO, "gpu.echo", 0, 0, &id);
	snprintf(name, sizeof(name), "gpu.echo.%d", (int)getpid());
	REQUIRE_EQ(0, vact_lookup(&e.p, name, &found));
	CHECK_EQ(id, found);
	CHECK_EQ(1, in_proc_actors(id, name));
out:
	env_close(&e);
}

static void mode_round_trip(enum vgpu_mode mode, uint32_t len)
{
	struct vgpu_slot_stats st;
	struct env e;
	uint64_t id;
	int s;

	if (env_open(&e, mode))
		goto out;
	REQUIRE_EQ(mode, vgpu_mode(e.g));
	s = gpu_actor(&e, VGPU_ECHO, NULL, 0, 0, &id);
	REQUIRE_EQ(1, s > 0);
	round_trips(&e, id, id, MSGS, len, 16);
	vgpu_stats(e.g, s, &st);
	CHECK_EQ(MSGS, st.host_in);
	CHECK_EQ(MSGS, st.host_out);
	CHECK_EQ(0, st.full);
out:
	env_close(&e);
}

static void direct_round_trip(void)
{
	mode_round_trip(VGPU_MODE_DIRECT, 24);
}

static void direct_large_payload_from_recv_area(void)
{
	mode_round_trip(VGPU_MODE_DIRECT, BIG);
}

static void bridge_round_trip(void)
{
	mode_round_trip(VGPU_MODE_BRIDGE, 24);
}

static void bridge_large_payload(void)
{
	mode_round_trip(VGPU_MODE_BRIDGE, BIG);
}

/* CPU -> F1 (kernel) -> F2 (GPU channel) -> CPU (kernel). */
static void direct_mixed_kernel_and_channel(void)
{
	struct vgpu_slot_stats s1, s2;
	struct env e;
	uint64_t f1, f2;
	int a, b;

	if (env_open(&e, VGPU_MODE_DIRECT))
		goto out;
	b = gpu_actor(&e, VGPU_FORWARD, NULL, 0, e.me, &f2);
	a = gpu_actor(&e, VGPU_FORWARD, NULL, 0, f2, &f1);
	REQUIRE_EQ(1, a > 0 && b > 0);
	REQUIRE_EQ(1, vgpu_link(e.g, a, b) >= 0);
	round_trips(&e, f1, f2, MSGS, 24, 16);
	vgpu_stats(e.g, a, &s1);
	vgpu_stats(e.g, b, &s2);
	CHECK_EQ(MSGS, s1.host_in);
	CHECK_EQ(MSGS, s1.k2k_out);
	CHECK_EQ(MSGS, s2.k2k_in);
	CHECK_EQ(MSGS, s2.host_out);
out:
	env_close(&e);
}

/* Messages sent while the actor restarts wait for it: none lost. */
static void direct_restart_loses_nothing(void)
{
	struct vgpu_event ev;
	struct env e;
	uint64_t id;
	int s;

	if (env_open(&e, VGPU_MODE_DIRECT))
		goto out;
	s = gpu_actor(&e, VGPU_ECHO, NULL, VGPU_CFG_TEST_HOOKS, 0, &id);
	REQUIRE_EQ(1, s > 0);
	round_trips(&e, id, id, 50, 24, 8);
	/* The crash consumes its message: no reply to it. */
	REQUIRE_EQ(0, vact_send(&e.p, e.me, id, NULL, 0, VGPU_TAG_CRASH));
	REQUIRE_EQ(0, vact_submit(&e.p));
	REQUIRE_EQ(0, vgpu_event_wait(e.g, VGPU_EV_RESTARTED, s, &ev, WAIT_NS));
	CHECK_EQ(1, ev.a);
	round_trips(&e, id, id, 50, 24, 8);
	{
		struct vactor_cqe *extra;

		CHECK_EQ(-EAGAIN, vact_peek_cqe(&e.p, &extra));
	}
out:
	env_close(&e);
}

static void destroy_leaves_kernel_table(void)
{
	struct env e;
	char name[VACTOR_NAME_MAX];
	uint64_t id, found;
	int s;

	if (env_open(&e, VGPU_MODE_DIRECT))
		goto out;
	s = gpu_actor(&e, VGPU_ECHO, "gpu.gone", 0, 0, &id);
	snprintf(name, sizeof(name), "gpu.gone.%d", (int)getpid());
	REQUIRE_EQ(0, vact_lookup(&e.p, name, &found));
	REQUIRE_EQ(0, vgpu_actor_destroy(e.g, s));
	CHECK_EQ(-ENOENT, vact_lookup(&e.p, name, &found));
	CHECK_EQ(0, in_proc_actors(id, name));
out:
	env_close(&e);
}

/* After the helper stops, its GPU actors are dormant: a CPU port takes one. */
static void stopped_gpu_actor_moves_to_cpu_port(void)
{
	struct vactor_cqe *cqe;
	struct vact_port q;
	struct env e;
	uint64_t id;

	if (env_open(&e, VGPU_MODE_DIRECT))
		goto out;
	gpu_actor(&e, VGPU_ECHO, NULL, 0, 0, &id);
	REQUIRE_EQ(0, fail);
	vgpu_stop(e.g);
	e.g = NULL;
	REQUIRE_EQ(0, vact_send(&e.p, e.me, id, "held", 4, 7));
	REQUIRE_EQ(0, vact_submit(&e.p));
	REQUIRE_EQ(0, vact_port_open(&q, NULL));
	CHECK_EQ(0, vact_host(&q, id));
	CHECK_EQ(0, vact_wait_cqe(&q, &cqe, WAIT_NS));
	if (!fail) {
		CHECK_EQ(id, cqe->actor);
		CHECK_EQ(e.me, cqe->source);
		CHECK_EQ(7, cqe->tag);
		vact_cqe_seen(&q, cqe);
	}
	vact_destroy(&q, id);
	vact_port_close(&q);
out:
	env_close(&e);
}

struct test {
	const char *name;
	void (*fn)(void);
};

#define T(f) { #f, f }
static const struct test tests[] = {
	T(auto_mode_is_direct),
	T(gpu_actor_in_kernel_table),
	T(direct_round_trip),
	T(direct_large_payload_from_recv_area),
	T(bridge_round_trip),
	T(bridge_large_payload),
	T(direct_mixed_kernel_and_channel),
	T(direct_restart_loses_nothing),
	T(destroy_leaves_kernel_table),
	T(stopped_gpu_actor_moves_to_cpu_port),
};

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned int n = 0, pass = 0, failed = 0, i;
	int devs = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("KTAP version 1\n");
	if (cudaGetDeviceCount(&devs) != cudaSuccess || devs == 0) {
		printf("1..0 # SKIP no CUDA device\n");
		return 4;
	}
	if (access(VACTOR_DEVICE, R_OK | W_OK)) {
		printf("1..0 # SKIP no %s (module not loaded)\n", VACTOR_DEVICE);
		return 4;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		n += selected(tests[i].name, argc, argv);
	printf("1..%u\n", n);
	n = 0;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		fail = 0;
		printf("# %s\n", tests[i].name);
		tests[i].fn();
		printf("%sok %u %s\n", fail ? "not " : "", ++n, tests[i].name);
		if (fail)
			failed++;
		else
			pass++;
	}
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:0 error:0\n",
	       pass, failed);
	return failed ? 1 : 0;
}
