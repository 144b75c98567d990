/* SPDX-License-Identifier: MIT */
/*
 * codec/source.h - a virtual file as in-memory prefix bytes and chunks
 *
 * The cache (cache/cache.h) and the df11 tool serve any virtual file that
 * can say its size, hand out its first bytes from memory (a safetensors
 * header), and produce the rest in chunks, each independently. A native
 * container is one (df11_ct_source); a file rebuilt from an official
 * DFloat11 directory is another (official/official.h). Chunk ids run
 * 0..n-1 in file order and cover [prefix length, size) without gaps.
 *
 * Reading a chunk is one protocol for every source, in two halves around
 * the decode, so that the caller decides where the decode runs:
 *
 *   chunk_fetch   reads what the chunk needs; raw bytes land in the
 *                 output at once, coded ones leave a df11_plan
 *   (decode)      the caller runs a pending plan: df11_unit_decode() on
 *                 this thread, or a GPU batch (gpu/gpu.h)
 *   chunk_check   checks the result (checksum where the format has one)
 *                 and words the error, naming tensor and offset
 *
 * df11_source_complete() is the CPU end of that, and df11_source_read()
 * all of it on the calling thread.
 *
 * Sources are immutable once made and may be read by many threads at once
 * (each with its own scratch, codec/df11.h).
 */
#ifndef DF11_SOURCE_H
#define DF11_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"

struct df11_source;

/** struct df11_chunk - chunk @id covers bytes [@off, @off + @len). */
struct df11_chunk {
	uint64_t id, off, len;
};

/**
 * struct df11_fetch - a chunk read between its halves.
 * @plan:    the decode to run into the chunk's buffer, while @pending
 * @pending: the plan has not run yet
 * @rc:      the decode's verdict once it ran (0, -EBADMSG, -EINVAL,
 *           -ENOMEM); whoever runs the plan sets it and clears @pending
 */
struct df11_fetch {
	struct df11_plan plan;
	bool pending;
	int rc;
};

/**
 * struct df11_source_ops - what a source does; every op is required.
 * @size:        bytes of the virtual file
 * @stored:      bytes of stored data it is read from (its container, its
 *               share of an official directory's files)
 * @prefix:      its first *len bytes, borrowed, valid while the source lives
 * @chunk_find:  the chunk holding byte @off (prefix len <= off < size) into
 *               *@c; -EINVAL outside
 * @chunk_get:   the range of chunk @id into *@c (@id >= n: off = size,
 *               len = 0)
 * @chunk_fetch: first half of reading chunk @id into @out (chunk_get's
 *               len bytes): 0 and *@f (pending or not); -EBADMSG (reason
 *               naming tensor and offset in @err), -ENOMEM, -EIO, -errno
 * @chunk_check: second half: given the decode's verdict @rc (0 when none
 *               was needed), check the bytes @out; 0, -EBADMSG (reason in
 *               @err), or -ENOMEM when @rc is
 * @free:        free the source
 */
struct df11_source_ops {
	uint64_t (*size)(const struct df11_source *s);
	uint64_t (*stored)(const struct df11_source *s);
	const uint8_t *(*prefix)(const struct df11_source *s, size_t *len);
	int (*chunk_find)(const struct df11_source *s, uint64_t off,
			  struct df11_chunk *c);
	void (*chunk_get)(const struct df11_source *s, uint64_t id,
			  struct df11_chunk *c);
	int (*chunk_fetch)(const struct df11_source *s, uint64_t id,
			   struct df11_scratch *scratch, void *out,
			   struct df11_fetch *f, char *err, size_t errlen);
	int (*chunk_check)(const struct df11_source *s, uint64_t id,
			   const void *out, int rc, char *err, size_t errlen);
	void (*free)(struct df11_source *s);
};

/**
 * DF11_SOURCE_OPS() - the ops table of a source whose operations are
 * named @p_size, @p_stored, @p_prefix, @p_find, @p_get, @p_fetch,
 * @p_check and @p_free: every implementation wires its table the same
 * way, spelled here once.
 */
#define DF11_SOURCE_OPS(p)                                                     \
	{                                                                      \
		.size = p##_size, .stored = p##_stored, .prefix = p##_prefix,  \
		.chunk_find = p##_find, .chunk_get = p##_get,                  \
		.chunk_fetch = p##_fetch, .chunk_check = p##_check,            \
		.free = p##_free,                                              \
	}

/** struct df11_source - embed as the first member of an implementation. */
struct df11_source {
	const struct df11_source_ops *ops;
};

/**
 * df11_source_decode() - the decode half of df11_source_complete(): run
 * @f's plan on this thread (with @scratch's stage) if it is still
 * pending, leaving its verdict in @f->rc; nothing else. A caller that
 * times the stages calls this, then the source's chunk_check.
 */
void df11_source_decode(struct df11_fetch *f, struct df11_scratch *scratch,
			void *out);

/**
 * df11_source_complete() - finish a chunk read after chunk_fetch
 * returned 0: run a still pending plan on this thread (with @scratch's
 * stage), then chunk_check. A caller that ran the plan elsewhere (a GPU)
 * clears @f->pending and sets @f->rc first; a plan the GPU refused stays
 * pending and the CPU decides (and words the error).
 * Return: 0 (the bytes @out are right), -EBADMSG (reason in @err),
 * -ENOMEM.
 */
int df11_source_complete(const struct df11_source *s, uint64_t id,
			 struct df11_fetch *f, struct df11_scratch *scratch,
			 void *out, char *err, size_t errlen);

/**
 * df11_source_read() - read chunk @id into @out on the calling thread:
 * chunk_fetch, then df11_source_complete().
 * Return: 0; -EBADMSG (reason naming tensor and offset in @err; never
 * any wrong bytes: the caller must not use @out), -ENOMEM, -EIO, -errno.
 */
int df11_source_read(const struct df11_source *s, uint64_t id,
		     struct df11_scratch *scratch, void *out, char *err,
		     size_t errlen);

/**
 * df11_ct_source() - a container as a source. Takes ownership of @ct;
 * @rd/@ctx read the container file for as long as the source lives.
 * Return: 0 and *@out, -ENOMEM (then @ct is freed too).
 */
int df11_ct_source(struct df11_source **out, struct df11_ct *ct,
		   df11_read_fn rd, void *ctx);

/** df11_source_free() - free a source; NULL is a no-op. */
void df11_source_free(struct df11_source *s);

#endif
