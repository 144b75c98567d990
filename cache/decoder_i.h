/* SPDX-License-Identifier: MIT */
/*
 * cache/decoder_i.h - which decoder the cache's chunk reads go through
 *
 * The cache owns one struct df11_decoder: the CPU decoder only, or one GPU
 * (gpu/gpu.h) plus the CPU. It runs the decode plans that sources leave
 * between the halves of a chunk read (codec/source.h, struct df11_fetch);
 * a plan it does not run stays pending, and df11_source_complete() then
 * decodes it on the CPU. The codec never sees the GPU. Two ways onto it:
 *
 *  - one chunk: df11_decoder_run() sends a pending plan to the GPU when
 *    it is free (mode auto: trylock) or always (mode gpu: wait for it);
 *  - a batch: a read-ahead worker that gets a batch (batch_begin) fetches
 *    several chunks into the batch's scratches, decodes all their plans
 *    in one df11_gpu_decode() call (batch_run), completes each, and gives
 *    the batch back (batch_end). Several batches can be under way at once
 *    (mode gpu: DF11_DECODER_BATCHES, mode auto: two); they meet only in
 *    batch_run.
 *
 * One df11_gpu is used by one thread at a time: a mutex serialises the
 * decodes of both ways. A CUDA error closes the GPU for good; every later
 * decode runs on the CPU, and the chunk that met the error is decoded again on
 * the CPU.
 *
 * Thread-safety: every function may be called from any thread; the batch
 * functions only between a successful batch_begin and batch_end.
 */
#ifndef DF11_CACHE_DECODER_I_H
#define DF11_CACHE_DECODER_I_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "codec/source.h"

/* chunks in one GPU batch, at most */
#define DF11_DECODER_BATCH_MAX 32u
/* batches under way at once, at most (mode gpu) */
#define DF11_DECODER_BATCHES 4u

struct df11_decoder;
struct df11_batch;

/**
 * df11_logv() - format one log line and hand it to @log (stderr, prefixed
 * "df11fs: ", when @log is NULL). Shared by the cache and the decoder.
 */
void df11_logv(df11_log_fn log, void *ctx, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/**
 * df11_decoder_open() - pick the decoder @o asks for (opts.decoder,
 * gpu_mem, gpu_lib) and log the choice as one line through @log.
 * A GPU that cannot be opened is never an error: the CPU decodes.
 * Return: 0 and *@out, -ENOMEM.
 */
int df11_decoder_open(struct df11_decoder **out,
		      const struct df11_cache_opts *o, df11_log_fn log,
		      void *log_ctx);

/** df11_decoder_close() - release the GPU and the batch scratches. */
void df11_decoder_close(struct df11_decoder *d);

/**
 * df11_decoder_run() - run @f's pending plan (output @out) on the GPU if
 * this decoder has one and gets it; on success @f is no longer pending.
 * Otherwise (no GPU, busy in mode auto, refused, failed) @f stays pending
 * for the CPU. Nothing to do when @f is not pending.
 */
void df11_decoder_run(struct df11_decoder *d, struct df11_fetch *f, void *out);

/**
 * df11_decoder_describe() - "cpu", "gpu", "gpu+cpu" or "gpu (fell back to
 * cpu: <why>)" into @buf. Return: its length (snprintf).
 */
int df11_decoder_describe(struct df11_decoder *d, char *buf, size_t len);

/** df11_decoder_gpu_chunks() - chunks decoded on the GPU so far. */
uint64_t df11_decoder_gpu_chunks(struct df11_decoder *d);

/**
 * df11_decoder_batch_begin() - a free batch for the calling worker, or
 * NULL (no GPU, or every batch this mode allows is under way). Never
 * waits.
 */
struct df11_batch *df11_decoder_batch_begin(struct df11_decoder *d);

/**
 * df11_decoder_batch_scratch() - scratch @i (< DF11_DECODER_BATCH_MAX) of
 * batch @b, for the fetch of the batch's chunk @i, or NULL (no memory).
 */
struct df11_scratch *df11_decoder_batch_scratch(struct df11_batch *b,
						unsigned i);

/**
 * df11_decoder_batch_run() - run the pending plans of @f[0..@n-1] (NULL
 * entries skipped; outputs @out[i]) in one df11_gpu_decode() call,
 * waiting for the GPU. Each plan the GPU decoded and found consistent is
 * no longer pending; the others stay pending for the CPU (the GPU failed
 * or refused it).
 */
void df11_decoder_batch_run(struct df11_decoder *d, struct df11_batch *b,
			    struct df11_fetch *const *f, void *const *out,
			    unsigned n);

/** df11_decoder_batch_end() - give batch @b back. */
void df11_decoder_batch_end(struct df11_decoder *d, struct df11_batch *b);

#endif
