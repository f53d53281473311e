/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * vgpu emulation: just enough of the CUDA runtime, and of the device
 * intrinsics the persistent kernel uses, to run it with one CPU thread per
 * block (make check-gpu-emu).  It checks the supervisor's and the slots'
 * logic and the tests' expectations where no GPU is; it says nothing about
 * GPU memory ordering or timing.  Host memory stands in for device memory,
 * so "device pointers" are host pointers.
 */
#ifndef VGPU_EMU_H
#define VGPU_EMU_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef int cudaError_t;
typedef void *cudaStream_t;

#define cudaSuccess			0
#define cudaErrorMemoryAllocation	2
#define cudaErrorNotReady		600
#define cudaHostAllocMapped		0x02
#define cudaHostAllocPortable		0x01
#define cudaHostAllocDefault		0x00
#define cudaHostRegisterMapped		0x02
#define cudaHostRegisterPortable	0x01
#define cudaStreamNonBlocking		0x01
#define cudaMemcpyHostToDevice		1
#define cudaLimitStackSize		0

#ifdef __cplusplus
extern "C" {
#endif
/* Threads of the emulated kernel still running (vgpu_kernel.cu). */
int vgpu_emu_running(void);
#ifdef __cplusplus
}
#endif

static inline cudaError_t emu_alloc(void **p, size_t size)
{
	return posix_memalign(p, 4096, size ? size : 1) ? cudaErrorMemoryAllocation
							: cudaSuccess;
}

static inline cudaError_t cudaHostAlloc(void **p, size_t size, unsigned int flags)
{
	(void)flags;
	return emu_alloc(p, size);
}

static inline cudaError_t cudaMalloc(void **p, size_t size)
{
	return emu_alloc(p, size);
}

static inline cudaError_t cudaFree(void *p)
{
	free(p);
	return cudaSuccess;
}

static inline cudaError_t cudaFreeHost(void *p)
{
	free(p);
	return cudaSuccess;
}

static inline cudaError_t cudaMemset(void *p, int v, size_t n)
{
	memset(p, v, n);
	return cudaSuccess;
}

static inline cudaError_t cudaMemcpy(void *d, const void *s, size_t n, int kind)
{
	(void)kind;
	memcpy(d, s, n);
	return cudaSuccess;
}

static inline cudaError_t cudaHostGetDevicePointer(void **d, void *h, unsigned int f)
{
	(void)f;
	*d = h;
	return cudaSuccess;
}

static inline cudaError_t cudaHostRegister(void *p, size_t n, unsigned int f)
{
	(void)p, (void)n, (void)f;
	return cudaSuccess;
}

static inline cudaError_t cudaHostUnregister(void *p)
{
	(void)p;
	return cudaSuccess;
}

static inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int f)
{
	(void)f;
	*s = (cudaStream_t)1;
	return cudaSuccess;
}

static inline cudaError_t cudaStreamDestroy(cudaStream_t s)
{
	(void)s;
	return cudaSuccess;
}

static inline cudaError_t cudaStreamQuery(cudaStream_t s)
{
	(void)s;
	return vgpu_emu_running() ? cudaErrorNotReady : cudaSuccess;
}

static inline cudaError_t cudaDeviceSetLimit(int what, size_t v)
{
	(void)what, (void)v;
	return cudaSuccess;
}

static inline cudaError_t cudaGetDeviceCount(int *n)
{
	*n = 1;
	return cudaSuccess;
}

#endif /* VGPU_EMU_H */
