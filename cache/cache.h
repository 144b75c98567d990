/* SPDX-License-Identifier: MIT */
/*
 * cache/cache.h - virtual files over df11 containers, with one shared
 * byte-range cache
 *
 * A virtual file (struct df11_vfile) is the original BF16 safetensors file
 * that a container (codec/container.h) stands for. Reading it maps the
 * byte range to the original header bytes (kept in memory) and to chunks,
 * the container's unit of decoding. Decoded chunks live in one cache shared
 * by every virtual file:
 *
 *  - one memory budget for all decoded bytes; least recently used chunks
 *    are evicted first; chunks being copied out are pinned, and a reader
 *    decodes a missing chunk only while pinned chunks (and twice the
 *    chunks being decoded: buffer and scratch) stay within the budget
 *    plus 32 MiB, else it waits, in FIFO order with the other waiting
 *    readers; read-ahead stays within the budget and decodes nothing
 *    while a reader waits; eviction passes over a chunk read again
 *    once, taking chunks read only once first;
 *  - single flight: a chunk is decoded once; other readers of that chunk
 *    wait for that decode;
 *  - every chunk is checked against its stored checksum before it enters
 *    the cache; a failed chunk is an error for every waiting reader (and
 *    is retried by the next reader), never wrong bytes;
 *  - read-ahead: a reader that moves forward sequentially (tracked per open
 *    file in struct df11_cursor) gets the next chunks queued on worker
 *    threads before it asks for them;
 *  - decoding on a GPU when there is one (cache/decoder_i.h): a worker
 *    that holds the GPU decodes a run of queued read-ahead chunks in one
 *    batch; other decodes use the GPU when it is free and the CPU else.
 *
 * The cache opens no files: a vfile reads through its source
 * (codec/source.h), whose files store/store.h opened. Each read first
 * asks the vfile's check callback (df11_store_set_check) whether the
 * source files are still the ones that were opened: a file replaced,
 * truncated, rewritten or removed gives -ESTALE, never stale or mixed
 * bytes.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef DF11_CACHE_H
#define DF11_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/**
 * struct df11_cache_opts - knobs (zero = default).
 * @budget:     bytes of decoded chunks to keep (default 1 GiB; one chunk
 *              is always allowed, and at most 32 MiB of pinned chunks
 *              past it: see cache.c)
 * @workers:    read-ahead decode threads (default: online CPUs)
 * @no_ahead:   nonzero: no read-ahead at all, whatever @workers says: no
 *              worker thread starts and nothing is ever queued; every
 *              chunk is decoded by the reader that asks for it
 * @readahead:  bytes to decode ahead of a sequential reader (default 32 MiB)
 * @decoder:    DF11_DECODER_AUTO (default): the GPU when one can be
 *              opened, with CPU threads decoding next to it; _GPU: the
 *              GPU for every decode; _CPU: never touch CUDA. A GPU that
 *              cannot be opened, or fails later, leaves the CPU decoder
 *              (logged once)
 * @gpu_mem:    device memory the GPU decoder may use (default 1 GiB)
 * @gpu_lib:    path of libdf11gpu.so (NULL: gpu/gpu.h's search), borrowed
 *              until df11_cache_new() returns
 */
struct df11_cache_opts {
	uint64_t budget;
	unsigned workers;
	int no_ahead;
	uint64_t readahead;
	int decoder;
	uint64_t gpu_mem;
	const char *gpu_lib;
};

/* struct df11_cache_opts.decoder */
enum { DF11_DECODER_AUTO, DF11_DECODER_GPU, DF11_DECODER_CPU };

/**
 * struct df11_cache_stats - counters since the cache was made.
 */
struct df11_cache_stats {
	uint64_t budget; /* bytes */
	uint64_t used;	 /* bytes of decoded chunks held now */
	uint64_t peak;	 /* highest @used seen */
	uint64_t hits;	 /* chunk lookups served from the cache */
	uint64_t misses; /* chunk lookups that decoded (or waited) */
	uint64_t waits;	 /* misses that waited for another decode */
	uint64_t evictions;
	uint64_t readahead;	/* chunks decoded ahead by workers */
	uint64_t errors;	/* chunks that failed to decode or check */
	uint64_t bytes_served;	/* bytes returned by df11_vfile_read */
	uint64_t bytes_decoded; /* decoded chunk bytes */
	uint64_t decode_ns;	/* reading chunks, all threads: map+fetch+decode+check */
	uint64_t map_ns;	/* of which mapping fresh chunk buffers */
	uint64_t fetch_ns;	/* of which reading stored bytes */
	uint64_t check_ns;	/* of which checking (checksums) */
	uint64_t wait_ns;	/* readers waiting: another's decode, or room */
	uint64_t maps;		/* chunk buffers mapped fresh (not reused) */
	uint64_t scratches;	/* decode scratches made (not from the pool) */
	uint64_t gpu_chunks;	/* chunks decoded on the GPU */
	uint64_t gpu_batches;	/* df11_gpu_decode() batches of read-ahead */
};

struct df11_cache;
struct df11_vfile;

/**
 * struct df11_cursor - per open file state for sequential detection; zero
 * it when the file is opened. Owned by the caller; concurrent reads may
 * share it (the cache reads and writes it only under its lock).
 */
struct df11_cursor {
	uint64_t next_off; /* where the last read ended */
	uint64_t streak;   /* sequential reads in a row */
	uint64_t ahead;	   /* read-ahead queued up to this offset */
};

/**
 * df11_log_fn - where the cache reports errors (one line, no newline):
 * "'FILE': tensor 'T' at offset N: checksum mismatch".
 */
typedef void (*df11_log_fn)(void *ctx, const char *line);

/**
 * df11_cache_new() - make a cache and start its workers.
 * @log, @log_ctx: error reporting (may be NULL: stderr)
 * Return: 0 and *@out; -ENOMEM, or a pthread error as -errno.
 */
int df11_cache_new(struct df11_cache **out, const struct df11_cache_opts *o,
		   df11_log_fn log, void *log_ctx);

/**
 * df11_cache_free() - stop workers and free everything. Every vfile must
 * have been released. NULL is a no-op.
 */
void df11_cache_free(struct df11_cache *c);

/** df11_cache_stats() - a snapshot of the counters. */
void df11_cache_stats(struct df11_cache *c, struct df11_cache_stats *st);

/**
 * df11_cache_decoder() - the decoder in use, as user.df11.decoder shows it:
 * "cpu", "gpu", "gpu+cpu" or "gpu (fell back to cpu: <why>)".
 * Return: the length snprintf() reports.
 */
int df11_cache_decoder(struct df11_cache *c, char *buf, size_t len);

/**
 * df11_check_fn - is a source's backing data unchanged? 0, or -ESTALE.
 */
typedef int (*df11_check_fn)(void *ctx);

struct df11_source;

/**
 * df11_vfile_new() - a virtual file over any source (codec/source.h): a
 * native container or a file rebuilt from an official DFloat11
 * directory (store/store.h opens both).
 * @src:        taken over (freed with the vfile, or on failure)
 * @check:      called with @check_ctx before each read and read-ahead
 *              (NULL: never stale); -ESTALE fails the read
 * @check_free: called with @check_ctx when the vfile is freed (NULL:
 *              nothing), not on failure
 * Return: 0 and *@out (one reference), -ENOMEM.
 */
int df11_vfile_new(struct df11_vfile **out, struct df11_cache *c,
		   struct df11_source *src, df11_check_fn check,
		   void (*check_free)(void *), void *check_ctx,
		   const char *name);

/** df11_vfile_get() - take another reference. */
struct df11_vfile *df11_vfile_get(struct df11_vfile *vf);

/**
 * df11_vfile_put() - drop a reference; the last one drops the vfile's
 * cached chunks, frees its source, then calls check_free. NULL is a
 * no-op.
 */
void df11_vfile_put(struct df11_vfile *vf);

/** df11_vfile_size() - size of the original file, known without decoding. */
uint64_t df11_vfile_size(const struct df11_vfile *vf);

/**
 * df11_vfile_stored() - bytes of stored data the file is read from: the
 * container's size on disk, or its share of an official directory's files.
 */
uint64_t df11_vfile_stored(const struct df11_vfile *vf);

/**
 * struct df11_vfile_stats - counters of one virtual file since it was made.
 * @bytes_served:   bytes lent or read by df11_vfile_lend/df11_vfile_read
 * @chunks_decoded: chunks of this file decoded (by a reader or read-ahead)
 * @errors:         reads of this file that failed (-EIO, -ESTALE, -ENOMEM)
 */
struct df11_vfile_stats {
	uint64_t bytes_served;
	uint64_t chunks_decoded;
	uint64_t errors;
};

/**
 * df11_vfile_stats() - a snapshot of @vf's counters (relaxed atomics: each
 * figure is exact, the three need not be of one instant). Thread-safe.
 */
void df11_vfile_stats(const struct df11_vfile *vf, struct df11_vfile_stats *st);

/**
 * df11_vfile_read() - read @len bytes at @off of the original file.
 * @cur: the open file's cursor (read-ahead), or NULL
 * Return: bytes read (short only at the end of the file), or -EIO if a
 * chunk failed to decode or check (logged with file, tensor and offset),
 * -ESTALE if the source changed, -ENOMEM.
 */
ssize_t df11_vfile_read(struct df11_vfile *vf, void *buf, size_t len,
			uint64_t off, struct df11_cursor *cur);

/**
 * struct df11_slice - bytes of a virtual file lent by df11_vfile_lend():
 * @p, @len: the bytes (in the cache: read them, never write)
 * @pin, @seq: private to the cache
 */
struct df11_slice {
	const void *p;
	size_t len;
	void *pin;
	size_t seq;
};

/**
 * df11_vfile_lend() - like df11_vfile_read(), without the copy: the bytes
 * at [@off, @off + @len) are lent as up to @max slices of the cache's own
 * memory, pinned until df11_vfile_return(). Fewer bytes than asked come
 * back when @max slices are not enough (or at the end of the file).
 * Return: bytes lent (in *@n slices), 0 at the end, or the errors of
 * df11_vfile_read (nothing is then lent).
 */
ssize_t df11_vfile_lend(struct df11_vfile *vf, uint64_t off, size_t len,
			struct df11_cursor *cur, struct df11_slice *s,
			unsigned max, unsigned *n);

/** df11_vfile_return() - give back what df11_vfile_lend() lent. */
void df11_vfile_return(struct df11_vfile *vf, struct df11_slice *s, unsigned n);

/**
 * df11_vfile_span() - the bytes from @off (0, or where a chunk starts)
 * that df11_vfile_decode() can write in one call: the header bytes, or
 * whole chunks of at most @max bytes in all (at least one, whatever its
 * size: chunks are at most 16 MiB). Return: the length, or 0 at the end
 * of the file or for an @off that starts nothing.
 */
uint64_t df11_vfile_span(struct df11_vfile *vf, uint64_t off, uint64_t max);

/**
 * df11_vfile_decode() - decode the span [@off, @off + @len) that
 * df11_vfile_span() gave into @dst, past the cache: nothing is kept,
 * nothing evicted; a chunk the cache holds is copied from it. The others
 * go to the GPU in batches of up to DF11_DECODER_BATCH_MAX chunks when
 * the decoder has a batch free (decoder=gpu or auto), else to the calling
 * thread's CPU (one chunk alone on the GPU, into pageable memory, is
 * slower than a core). Every chunk is checked as a cached one is. For writing a
 * whole file (fs/fill.c). Return: @len; -EIO (a chunk failed to decode or
 * check: logged with file, tensor and offset), -ESTALE (source changed),
 * -ENOMEM, -EINVAL (not a span).
 */
ssize_t df11_vfile_decode(struct df11_vfile *vf, void *dst, uint64_t off,
			  uint64_t len);

/**
 * df11_vfile_check() - are the source files still the ones that were
 * opened (the check callback; none: yes)? Return: 0, or -ESTALE.
 */
int df11_vfile_check(struct df11_vfile *vf);

#endif
