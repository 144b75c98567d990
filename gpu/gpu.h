/* SPDX-License-Identifier: MIT */
/*
 * gpu/gpu.h - DF11 decoding on an NVIDIA GPU, behind a plain C interface
 *
 * No CUDA type crosses this header. The CUDA part is built (when nvcc is
 * found) into a shared object, build/libdf11gpu.so, that df11_gpu_open()
 * loads at run time with dlopen: one df11fs binary runs on machines with
 * and without CUDA, and without the driver the open fails with -ENODEV and
 * callers decode on the CPU.
 *
 * The decoder is bit-identical to df11_unit_decode() on every input (the
 * same reference semantics, codec/df11_dec.c), and checks every block the
 * same way: an inconsistent stream is an error, never wrong bytes.
 *
 * A struct df11_gpu is used by one thread at a time (callers serialise,
 * e.g. one decode thread per GPU).
 */
#ifndef DF11_GPU_H
#define DF11_GPU_H

#include <stddef.h>
#include <stdint.h>

#include "codec/df11.h"

struct df11_gpu;

/**
 * struct df11_gpu_opts - zero = default.
 * @device:  CUDA device ordinal
 * @mem:     device memory the decoder may use, bytes (default 1 GiB)
 * @lib:     path of libdf11gpu.so (default: next to the executable, then
 *           the dynamic loader's search path)
 */
struct df11_gpu_opts {
	int device;
	uint64_t mem;
	const char *lib;
};

/**
 * df11_gpu_open() - load the CUDA part and open a device.
 * Return: 0 and *@out; -ENODEV when there is no library, no driver or no
 * usable device (reason in @err), -ENOMEM.
 */
int df11_gpu_open(struct df11_gpu **out, const struct df11_gpu_opts *o,
		  char *err, size_t errlen);

/** df11_gpu_close() - release the device; NULL is a no-op. */
void df11_gpu_close(struct df11_gpu *g);

/** df11_gpu_name() - the device's name, e.g. "NVIDIA H200" (borrowed). */
const char *df11_gpu_name(const struct df11_gpu *g);

/**
 * struct df11_gpu_job - one range to decode: the arguments of
 * df11_unit_decode() (spans in host memory, output in host memory).
 */
struct df11_gpu_job {
	const struct df11_unit *u;
	struct df11_span enc, gaps, sm;
	uint64_t a, b;
	void *out;
	int rc; /* out: 0, -EBADMSG, -EINVAL */
};

/**
 * df11_gpu_decode() - decode a batch of jobs: copies their inputs to the
 * device, decodes every job in as few launches as it can, copies the BF16
 * output back. Pinned staging buffers and streams overlap the copies of
 * one part of the batch with the kernels of another.
 * Return: 0 when the device did its work (each job's rc says how its
 * decode went); -EIO on a CUDA error (the device is then unusable: close
 * it and decode on the CPU); -ENOMEM.
 */
int df11_gpu_decode(struct df11_gpu *g, struct df11_gpu_job *jobs, size_t n);

/**
 * df11_gpu_host_alloc() - @len bytes of page-locked host memory.
 * df11_gpu_decode() copies spans and outputs that lie in such a buffer
 * straight to and from the device; other memory goes through its pinned
 * staging buffers (one more memcpy on the CPU).
 * Return: the buffer (owned by the caller: df11_gpu_host_free() it before
 * df11_gpu_close()), or NULL.
 */
void *df11_gpu_host_alloc(struct df11_gpu *g, size_t len);

/** df11_gpu_host_free() - free a df11_gpu_host_alloc() buffer; NULL is a
 * no-op. */
void df11_gpu_host_free(struct df11_gpu *g, void *p);

#endif
