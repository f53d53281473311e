/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * The CUDA runtime, or with VGPU_EMULATE its stand-in on CPU threads
 * (vgpu_emu.h): the same sources then build without nvcc.
 */
#ifndef VGPU_CUDA_H
#define VGPU_CUDA_H

#ifdef VGPU_EMULATE
#include "vgpu_emu.h"
#else
#include <cuda_runtime.h>
#endif

#endif /* VGPU_CUDA_H */
