// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * vgpu benchmarks, one run, one GPU:
 *   - host -> GPU actor -> host round trip through pinned memory (an ECHO
 *     slot; this program is the kernel side of the rings, as in loopback
 *     mode), p50 and p99, with a few slots and with every slot allocated
 *     (the rest dormant);
 *   - GPU-to-GPU slot messaging: two PINGPONG slots over device-memory
 *     channels, one ball (per-hop latency) and several (throughput);
 *   - the baseline: a kernel launch + synchronize round trip, and a launch
 *     with a 64-byte copy in and out, measured in the same run.
 *
 *   gpu_bench [ITERATIONS]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime.h>

#include "vgpu.h"

#define HOST_ACTOR	0x686f737400000001ull

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

struct pct {
	long long p50, p99;
};

static struct pct percentiles(long long *v, int n)
{
	struct pct p;

	qsort(v, (size_t)n, sizeof(*v), cmp_ll);
	p.p50 = v[n / 2];
	p.p99 = v[(int)((long long)n * 99 / 100)];
	return p;
}

static struct vgpu *start(unsigned int slots)
{
	struct vgpu_opts o;
	struct vgpu *g = NULL;
	int ret;

	memset(&o, 0, sizeof(o));
	o.slots = slots;
	o.mode = VGPU_MODE_LOOPBACK;
	ret = vgpu_start(&g, &o);
	if (ret) {
		fprintf(stderr, "vgpu_start(%u): %d\n", slots, ret);
		exit(1);
	}
	return g;
}

static int create(struct vgpu *g, enum vgpu_type type, const uint64_t *state,
		  unsigned int n)
{
	struct vgpu_actor_config c;
	uint64_t id;
	int slot;

	memset(&c, 0, sizeof(c));
	c.type = type;
	memcpy(c.state, state, n * sizeof(*state));
	c.state_len = n * sizeof(*state);
	slot = vgpu_actor_create(g, &c, &id);
	if (slot < 0) {
		fprintf(stderr, "vgpu_actor_create: %d\n", slot);
		exit(1);
	}
	return slot;
}

static void take(struct vgpu *g, int slot, struct vactor_sqe *q)
{
	long long until = now_ns() + 5000000000LL;

	while (vgpu_lo_take(g, slot, q) == -EAGAIN)
		if (now_ns() > until) {
			fprintf(stderr, "no reply from slot %d\n", slot);
			exit(1);
		}
}

static struct pct host_rtt(unsigned int slots, int iters)
{
	struct vgpu *g = start(slots);
	long long *t = (long long *)calloc((size_t)iters, sizeof(*t));
	struct vactor_sqe q;
	uint64_t none = 0;
	int s = create(g, VGPU_ECHO, &none, 0);
	struct pct p;

	for (int i = -1000; i < iters; i++) {
		long long t0 = now_ns();
		uint64_t v = (uint64_t)i;

		while (vgpu_lo_post(g, s, HOST_ACTOR, v, &v, sizeof(v)) == -EAGAIN)
			;
		take(g, s, &q);
		if (q.tag != v) {
			fprintf(stderr, "reply %llu for %llu\n",
				(unsigned long long)q.tag, (unsigned long long)v);
			exit(1);
		}
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	p = percentiles(t, iters);
	free(t);
	vgpu_stop(g);
	return p;
}

/* balls x hops PINGPONG messages between two slots: messages per second. */
static double k2k(unsigned int balls, uint64_t hops, double *hop_ns)
{
	struct vgpu *g = start(4);
	uint64_t st[2] = { HOST_ACTOR, 0 };
	struct vactor_sqe q;
	int a = create(g, VGPU_PINGPONG, st, 2), b = create(g, VGPU_PINGPONG, st, 2);
	long long t0, dt;
	unsigned int done = 0;

	if (vgpu_link(g, a, b) < 0 || vgpu_link(g, b, a) < 0) {
		fprintf(stderr, "vgpu_link failed\n");
		exit(1);
	}
	t0 = now_ns();
	for (unsigned int i = 0; i < balls; i++)
		while (vgpu_lo_post(g, a, vgpu_actor_id(g, b), hops, NULL, 0) == -EAGAIN)
			;
	/* hops is even: every ball ends on a, which reports. */
	while (done < balls) {
		take(g, a, &q);
		done++;
	}
	dt = now_ns() - t0;
	vgpu_stop(g);
	*hop_ns = (double)dt / (double)hops;
	return (double)balls * (double)hops * 1e9 / (double)dt;
}

__global__ void empty_kernel(void)
{
}

__global__ void echo_kernel(const unsigned long long *in, unsigned long long *out)
{
	for (int i = 0; i < 8; i++)
		out[i] = in[i];
}

static struct pct launch_rtt(int iters, bool copy)
{
	long long *t = (long long *)calloc((size_t)iters, sizeof(*t));
	unsigned long long *hin, *hout, *din, *dout;
	cudaStream_t s;
	struct pct p;

	cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
	cudaHostAlloc((void **)&hin, 64, cudaHostAllocDefault);
	cudaHostAlloc((void **)&hout, 64, cudaHostAllocDefault);
	cudaMalloc((void **)&din, 64);
	cudaMalloc((void **)&dout, 64);
	for (int i = -1000; i < iters; i++) {
		long long t0 = now_ns();

		if (copy) {
			hin[0] = (unsigned long long)i;
			cudaMemcpyAsync(din, hin, 64, cudaMemcpyHostToDevice, s);
			echo_kernel<<<1, 1, 0, s>>>(din, dout);
			cudaMemcpyAsync(hout, dout, 64, cudaMemcpyDeviceToHost, s);
		} else {
			empty_kernel<<<1, 1, 0, s>>>();
		}
		cudaStreamSynchronize(s);
		if (i >= 0)
			t[i] = now_ns() - t0;
	}
	p = percentiles(t, iters);
	cudaFree(din);
	cudaFree(dout);
	cudaFreeHost(hin);
	cudaFreeHost(hout);
	cudaStreamDestroy(s);
	free(t);
	return p;
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 100000, devs = 0;
	struct pct few, all, launch, launch_copy;
	double one_hop, many_hop, one_rate, many_rate;
	cudaDeviceProp prop;

	if (cudaGetDeviceCount(&devs) != cudaSuccess || devs == 0) {
		printf("gpu_bench: no CUDA device: skipped\n");
		return 4;
	}
	if (iters < 100)
		iters = 100;
	cudaGetDeviceProperties(&prop, 0);
	printf("# device: %s (sm_%d%d), %d iterations\n", prop.name, prop.major,
	       prop.minor, iters);

	few = host_rtt(4, iters);
	all = host_rtt(VGPU_MAX_SLOTS, iters);
	launch = launch_rtt(iters, false);
	launch_copy = launch_rtt(iters, true);
	one_rate = k2k(1, 200000, &one_hop);
	many_rate = k2k(16, 200000, &many_hop);

	printf("%-52s %10s %10s\n", "round trip", "p50 ns", "p99 ns");
	printf("%-52s %10lld %10lld\n", "host -> GPU actor -> host, 3 slots",
	       few.p50, few.p99);
	printf("%-52s %10lld %10lld\n", "host -> GPU actor -> host, 127 slots (126 dormant)",
	       all.p50, all.p99);
	printf("%-52s %10lld %10lld\n", "kernel launch + synchronize", launch.p50,
	       launch.p99);
	printf("%-52s %10lld %10lld\n", "launch + 64 B copy in and out + synchronize",
	       launch_copy.p50, launch_copy.p99);
	printf("ratio launch+sync / actor round trip (p50): %.1f\n",
	       (double)launch.p50 / (double)few.p50);
	printf("ratio launch+copy+sync / actor round trip (p50): %.1f\n",
	       (double)launch_copy.p50 / (double)few.p50);
	printf("GPU-to-GPU slot messaging, 1 ball:   %.0f msg/s (%.0f ns per hop)\n",
	       one_rate, one_hop);
	printf("GPU-to-GPU slot messaging, 16 balls: %.0f msg/s\n", many_rate);
	(void)many_hop;
	return 0;
}
