/* SPDX-License-Identifier: MIT */
/*
 * gpu/emu_i.h - a CPU stand-in for the CUDA runtime and device, for tests
 *
 * With -DDF11_EMU, gpu/kernel.cu and gpu/gpu_cuda.cu compile with a plain
 * C++ compiler into libdf11gpu-emu.so, which runs the unchanged kernel on
 * the CPU (gpu/emu.cc): each CUDA block runs as 512 fibers that really
 * meet at __syncthreads() and at the warp collectives, in a random order
 * between barriers; a barrier reached by only some threads, or by threads
 * at different collectives, aborts. Streams are queues run when an event
 * or the device is synchronised, so a host that touches a buffer before
 * its copies are done reads stale data, as on a GPU. Shared memory starts
 * as garbage in every block. This lets tests/gpu/test_gpu check the
 * decoder, host side included, on a machine without a GPU; it does not
 * replace a run on one (timing, memory model, hardware limits).
 */
#ifndef DF11_EMU_I_H
#define DF11_EMU_I_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>

/* ---- CUDA C++ keywords */
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__	__attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__   static
#define __align__(n) __attribute__((aligned(n)))

struct alignas(8) uint2 {
	uint32_t x, y;
};
struct alignas(16) uint4 {
	uint32_t x, y, z, w;
};
static inline uint4 make_uint4(uint32_t x, uint32_t y, uint32_t z, uint32_t w)
{
	return uint4{x, y, z, w};
}
struct dim3 {
	unsigned x, y, z;
};
extern dim3 emu_threadIdx, emu_blockIdx, emu_gridDim, emu_blockDim;
#define threadIdx emu_threadIdx
#define blockIdx  emu_blockIdx
#define gridDim	  emu_gridDim
#define blockDim  emu_blockDim
extern uint8_t *emu_dyn_smem;

/* ---- device intrinsics */
static inline uint32_t __byte_perm(uint32_t x, uint32_t y, uint32_t s)
{
	uint64_t v = (uint64_t)y << 32 | x;
	uint32_t r = 0;
	for (unsigned n = 0; n < 4; n++)
		r |= (uint32_t)((v >> (8 * ((s >> (4 * n)) & 7))) & 0xFF)
		     << (8 * n);
	return r;
}
static inline uint32_t __funnelshift_l(uint32_t lo, uint32_t hi, uint32_t sh)
{
	sh &= 31;
	return sh ? hi << sh | lo >> (32 - sh) : hi;
}
template <class V> static inline V __ldg(const V *p)
{
	return *p;
}
template <class V> static inline V __ldcs(const V *p)
{
	return *p;
}
template <class V> static inline void __stcs(V *p, V v)
{
	*p = v;
}
static inline unsigned atomicAdd(unsigned *p, unsigned v)
{
	unsigned old = *p; /* fibers never run at the same time */
	*p = old + v;
	return old;
}
static inline uint32_t min(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}
void __syncthreads(void);
int __syncthreads_or(int pred);
uint32_t __shfl_up_sync(uint32_t mask, uint32_t v, unsigned delta);
uint32_t __reduce_add_sync(uint32_t mask, uint32_t v);

/* ---- the runtime API subset libdf11gpu.so uses */
typedef int cudaError_t;
enum {
	cudaSuccess = 0,
	cudaErrorInvalidValue = 1,
	cudaErrorMemoryAllocation = 2,
	cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
	cudaMemcpyHostToDevice = 1,
	cudaMemcpyDeviceToHost = 2,
	cudaMemcpyDeviceToDevice = 3,
};
enum cudaFuncAttribute {
	cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};
#define cudaStreamNonBlocking  1u
#define cudaEventDisableTiming 2u
#define cudaHostAllocPortable  1u
typedef struct emu_stream *cudaStream_t;
typedef struct emu_event *cudaEvent_t;
struct cudaDeviceProp {
	char name[256];
	int multiProcessorCount, major, minor;
};

cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int dev);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaDeviceSynchronize(void);
cudaError_t cudaMalloc(void *p, size_t len);
cudaError_t cudaFree(void *p);
cudaError_t cudaMallocHost(void *p, size_t len);
cudaError_t cudaHostAlloc(void *p, size_t len, unsigned flags);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t len,
		       cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t len,
			    cudaMemcpyKind kind, cudaStream_t st);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *st, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t st);
cudaError_t cudaEventCreate(cudaEvent_t *ev);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *ev, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t ev);
cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t st);
cudaError_t cudaEventSynchronize(cudaEvent_t ev);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);

/* blocks decided by the fast path, by the reference walk, and good there */
enum { EMU_FAST, EMU_SLOW, EMU_SLOW_GOOD };
extern uint64_t emu_count[3];

/* a launch: run @body as grid x block threads, now or in stream order */
void emu_launch(cudaStream_t st, unsigned grid, unsigned block, size_t smem,
		std::function<void()> body);

template <class K>
static inline cudaError_t cudaFuncSetAttribute(K *, cudaFuncAttribute, int)
{
	return cudaSuccess;
}
template <class K>
static inline cudaError_t
cudaOccupancyMaxActiveBlocksPerMultiprocessor(int *n, K *, int, size_t smem)
{
	*n = smem <= 75u * 1024 ? 3 : 2;
	return cudaSuccess;
}

#endif
