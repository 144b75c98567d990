/* SPDX-License-Identifier: MIT */
/*
 * cache/cache_i.h - internals shared by the chunk cache (cache.c) and the
 * virtual files (vfile.c)
 */
#ifndef DF11_CACHE_I_H
#define DF11_CACHE_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cache/cache.h"
#include "cache/decoder_i.h"
#include "codec/source.h"

#define NBUCKETS	  65536u
#define QUEUE_LEN	  1024u
#define DEFAULT_BUDGET	  (1ull << 30)
#define DEFAULT_READAHEAD (256ull << 20)
#define RA_FIRST (4ull << 20) /* read-ahead window of a new reader */
/*
 * A request smaller than this queues no read-ahead and leaves its open
 * file's cursor alone (vfile.c): page faults of an mmap with MADV_RANDOM
 * come one page at a time, in order within a memcpy, and would look like
 * a stream that needs megabytes decoded ahead.
 */
#define RA_MIN_READ (64u << 10)
#define MAX_WORKERS	  64u
#define AUTO_GPU_BATCHES  4u  /* auto: queued batches that start a GPU one */
#define STREAM_SCAN	  64u /* streamed chunks buffer_for() looks at */
/*
 * Sequential readers share readahead= (vfile.c): each one's window is at
 * most readahead / the number of streams that read in the last
 * STREAM_IDLE_NS, so that chunks read ahead for one are not evicted for
 * another's before they are used. At most MAX_STREAMS are told apart.
 */
#define MAX_STREAMS	  64u
#define STREAM_IDLE_NS	  1000000000ull
#define BUF_ALIGN	  (64u << 10)	/* buffer capacities: multiples of it */
#define BATCH_MIN	  (4ull << 20)	/* GPU batch: readahead / 16 within */
#define BATCH_CAP	  (64ull << 20) /* [BATCH_MIN, BATCH_CAP] bytes */
/*
 * Admission (cache.c): a new chunk is decoded only while the bytes that
 * cannot be evicted (pinned chunks, and twice the size of chunks being
 * decoded: their buffer and their scratch) stay within the budget plus
 * PIN_SLACK, two of the largest chunks a container may have (16 MiB,
 * docs/FORMAT.md §6); else the reader waits. A thread that already holds
 * pins never waits (no deadlock: it gets -EAGAIN and gives them back),
 * and the first chunk is admitted when nothing is held. Read-ahead never waits:
 * it skips chunks that do not fit in the budget itself.
 * Readers that wait are admitted in FIFO order (struct admit_waiter in
 * cache.c): a newcomer never overtakes one, a wake-up wakes one thread,
 * and read-ahead takes no budget while any reader waits.
 */
#define PIN_SLACK    (32ull << 20)
/*
 * Decode scratch is pooled (cache.c): after a chunk of at most
 * SCRATCH_KEEP bytes it goes back to the pool, of at most SCRATCH_POOL
 * idle ones, instead of to the allocator, so that no decode maps,
 * faults in and trims memory; a larger chunk's scratch is freed.
 */
#define SCRATCH_KEEP ((4ull << 20) + BUF_ALIGN)
#define SCRATCH_POOL MAX_WORKERS

enum { DECODING, READY, FAILED };

struct entry {
	struct df11_vfile *vf;
	uint64_t id;
	uint8_t *data;
	size_t len, cap;
	int state, err;
	size_t served; /* bytes sequential readers copied; all: streamed */
	int hot;       /* hit again since decoded or last spared by eviction */
	unsigned pins;
	struct entry *hnext;
	struct entry *prev, *next; /* LRU, READY entries only */
};

struct job {
	struct df11_vfile *vf;
	struct df11_chunk ck;
	int gone; /* a reader decoded the chunk itself: nothing to do */
};

/* a sequential reader's cursor and when it last read (vfile.c) */
struct stream {
	const struct df11_cursor *cur;
	uint64_t seen_ns;
};

struct df11_cache {
	pthread_mutex_t mu;
	pthread_cond_t done; /* a decode finished */
	pthread_cond_t work; /* the queue got a job, or stop */
	struct entry *tab[NBUCKETS];
	struct entry lru; /* sentinel: lru.next is the most recent */
	struct df11_cache_stats st;
	uint64_t held;	      /* bytes not evictable: see PIN_SLACK */
	struct entry *spare;  /* buffers of dropped entries, kept to reuse */
	uint64_t spare_bytes; /* capacity: used + spare <= budget + slack */
	struct admit_waiter *admit_head; /* readers waiting for room */
	struct df11_cache_opts o;
	struct job q[QUEUE_LEN];
	unsigned qhead, qlen;
	uint64_t qbytes; /* decoded bytes of the queued jobs not gone */
	struct stream streams[MAX_STREAMS];
	int stop;
	pthread_t tid[MAX_WORKERS];
	unsigned n_workers;
	pthread_mutex_t pool_mu;		    /* guards the scratch pool */
	struct df11_scratch *pool[SCRATCH_POOL]; /* idle decode scratch */
	unsigned pool_n, pool_max;
	uint64_t scratches; /* made because the pool was empty (pool_mu) */
	struct df11_decoder *dec;
	uint64_t batch_bytes; /* decoded bytes one GPU batch takes at most */
	df11_log_fn log;
	void *log_ctx;
};

struct df11_vfile {
	struct df11_cache *c;
	struct df11_source *src;
	df11_check_fn check;
	void (*check_free)(void *);
	void *check_ctx;
	uint64_t size;
	char *name;
	atomic_uint refs;
	const uint8_t *hdr;
	size_t hdr_len;
	/* struct df11_vfile_stats, counted without the cache lock */
	atomic_uint_fast64_t n_served, n_decoded, n_errors;
};

/**
 * df11_cache_logf() - one line to the cache's log callback (or stderr).
 */
void df11_cache_logf(struct df11_cache *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** df11_cache_find() - the entry of chunk @id of @vf, or NULL (lock held). */
struct entry *df11_cache_find(struct df11_cache *c, struct df11_vfile *vf,
			      uint64_t id);

/**
 * df11_cache_get() - pin chunk @ck of @vf, decoding it here if nobody has
 * it; waits while decoding it would pass the budget plus PIN_SLACK, but
 * when this thread holds pins already: then NULL and *@rc = -EAGAIN (give
 * them back and come again). Return: the pinned entry, or NULL with *@rc
 * set. Lock not held.
 */
struct entry *df11_cache_get(struct df11_cache *c, struct df11_vfile *vf,
			     const struct df11_chunk *ck, int *rc);

/**
 * df11_cache_get_ahead() - df11_cache_get() for read-ahead: never waits;
 * a chunk that is missing and does not fit in the budget is not decoded
 * (NULL, *@rc = -EAGAIN).
 */
struct entry *df11_cache_get_ahead(struct df11_cache *c, struct df11_vfile *vf,
				   const struct df11_chunk *ck, int *rc);

/**
 * df11_cache_fits_locked() - may a missing chunk of @len bytes be decoded
 * now? @ahead: read-ahead (within the budget, and no reader waiting for
 * room); else a reader (within the budget plus PIN_SLACK, or nothing
 * held). Lock held.
 */
int df11_cache_fits_locked(const struct df11_cache *c, uint64_t len, int ahead);

/**
 * df11_cache_unpin() - unpin @e, of which a sequential reader copied @seq
 * bytes (0: not sequential); once such readers have copied all of it, it
 * is "streamed" and goes to the LRU tail, its buffer the first reused.
 */
void df11_cache_unpin(struct df11_cache *c, struct entry *e, size_t seq);

/** df11_now_ns() - CLOCK_MONOTONIC in nanoseconds. */
uint64_t df11_now_ns(void);

/**
 * df11_cache_insert_locked() - a new DECODING entry for chunk @ck of @vf,
 * pinned once, hashed and counted in the budget (evicting onto @grave);
 * NULL data means: df11_cache_map_buffer() e->cap bytes after unlocking.
 * Return: the entry, NULL when out of memory.
 */
struct entry *df11_cache_insert_locked(struct df11_cache *c,
				       struct df11_vfile *vf,
				       const struct df11_chunk *ck,
				       struct entry **grave);

/** df11_cache_map_buffer() - @cap bytes of fresh memory, or NULL. */
uint8_t *df11_cache_map_buffer(size_t cap);

/**
 * struct stage_ns - where the read of one chunk spent its time, ns:
 * @map:    mapping a fresh buffer for it (0 when one was reused)
 * @fetch:  reading the stored bytes
 * @decode: decoding (CPU or GPU)
 * @check:  the checksum and the verdict
 */
struct stage_ns {
	uint64_t map, fetch, decode, check;
};

/**
 * df11_cache_publish_locked() - the read of DECODING entry @e ended with
 * @rc, its stages timed in @t: READY on the LRU, or FAILED out of the
 * hash; wakes the waiters.
 */
void df11_cache_publish_locked(struct df11_cache *c, struct entry *e, int rc,
			       const struct stage_ns *t);

/**
 * df11_cache_stages_add_locked() - add the stage times of @t to the
 * cache's counters. Lock held.
 */
void df11_cache_stages_add_locked(struct df11_cache *c,
				  const struct stage_ns *t);

/**
 * df11_cache_scratch_get() - an idle scratch from the pool, or a new one.
 * Return: the scratch, NULL when out of memory.
 */
struct df11_scratch *df11_cache_scratch_get(struct df11_cache *c);

/**
 * df11_cache_scratch_put() - give @s back after a chunk of @cap bytes:
 * pooled, or freed if big (or the pool is full). NULL: no-op.
 */
void df11_cache_scratch_put(struct df11_cache *c, struct df11_scratch *s,
			    size_t cap);

/**
 * df11_cache_read_chunk() - read chunk @id of @vf into @out with scratch
 * @s, without the lock: the source's fetch, the plan on the GPU when @gpu
 * and the decoder takes it, the rest (and the check) on this thread; the
 * stage times added to @t. A failure is logged.
 * Return: 0, or the source's error.
 */
int df11_cache_read_chunk(struct df11_cache *c, struct df11_vfile *vf,
			  uint64_t id, struct df11_scratch *s, uint8_t *out,
			  int gpu, struct stage_ns *t);

/**
 * df11_cache_copy_ready() - copy chunk @ck of @vf into @out if the cache
 * holds it decoded (READY), pinned for the copy. Lock not held.
 * Return: 1 when copied, 0 when the cache does not have it.
 */
int df11_cache_copy_ready(struct df11_cache *c, struct df11_vfile *vf,
			  const struct df11_chunk *ck, void *out);

/**
 * struct df11_batch_item - one chunk of df11_cache_batch_read():
 * @src, @id: the chunk
 * @out:      where it is decoded to
 * @rc:       in: nonzero to skip the item (its @err set); out: 0 or the
 *            source's error, worded in @err
 */
struct df11_batch_item {
	const struct df11_source *src;
	uint64_t id;
	void *out;
	int rc;
	char err[160];
};

/**
 * df11_cache_batch_read() - read @n (at most DF11_DECODER_BATCH_MAX)
 * chunks in GPU batch @b: each fetched into the batch's scratch of its
 * index, every plan in one df11_decoder_batch_run(), then each completed
 * on this thread (checked; decoded here when the GPU refused it). The
 * time of the three steps is added to @t's fetch, decode and check
 * (ahead.c). Logs nothing.
 */
void df11_cache_batch_read(struct df11_cache *c, struct df11_batch *b,
			   struct df11_batch_item *it, unsigned n,
			   struct stage_ns *t);

/** df11_cache_failed_unpin_locked() - unpin FAILED @e; @e if it was last. */
struct entry *df11_cache_failed_unpin_locked(struct entry *e);

/** df11_cache_unpin_locked() - df11_cache_unpin() with the lock held. */
void df11_cache_unpin_locked(struct df11_cache *c, struct entry *e, size_t seq,
			     struct entry **grave);

/** df11_cache_worker() - a read-ahead worker thread's body (ahead.c). */
void *df11_cache_worker(void *arg);

/** df11_cache_drop() - move a READY, unpinned entry to @grave (lock held). */
void df11_cache_drop(struct df11_cache *c, struct entry *e,
		     struct entry **grave);

/** df11_cache_bury() - free what df11_cache_drop() collected (no lock). */
void df11_cache_bury(struct entry *grave);

#endif
