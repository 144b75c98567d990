/* SPDX-License-Identifier: MIT */
/*
 * codec/source.h - a virtual file as in-memory prefix bytes and chunks
 *
 * The cache (cache/cache.h) serves any virtual file that can say its size,
 * hand out its first bytes from memory (a safetensors header), and decode
 * the rest in chunks, each independently. A native container is one
 * (df11_ct_source); a file rebuilt from an official DFloat11 directory is
 * another. Chunk ids run 0..n-1 in file order and cover
 * [prefix length, size) without gaps.
 *
 * Sources are immutable once made and may be read by many threads at once
 * (chunk_read takes a per-thread scratch).
 */
#ifndef DF11_SOURCE_H
#define DF11_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"

struct df11_source;

/**
 * struct df11_source_ops - what a source does; every op is required.
 * @size:        bytes of the virtual file
 * @prefix:      its first *len bytes, borrowed, valid while the source lives
 * @chunk_find:  id of the chunk holding byte @off (prefix len <= off < size);
 *               -EINVAL outside
 * @chunk_range: [*off, *off + *len) of chunk @id
 * @chunk_read:  decode and check chunk @id into @out; 0, -EBADMSG (message
 *               naming tensor and offset in @err), -ENOMEM, -EIO; or
 *               -EINPROGRESS when @scratch's decoder deferred the decode
 *               (container.h, df11_decode_fn)
 * @chunk_check: after a deferred decode: check the bytes @out of chunk
 *               @id as chunk_read would have (0 or -EBADMSG with @err)
 * @free:        free the source
 */
struct df11_source_ops {
	uint64_t (*size)(const struct df11_source *s);
	const uint8_t *(*prefix)(const struct df11_source *s, size_t *len);
	int (*chunk_find)(const struct df11_source *s, uint64_t off,
			  uint64_t *id);
	void (*chunk_range)(const struct df11_source *s, uint64_t id,
			    uint64_t *off, uint64_t *len);
	int (*chunk_read)(const struct df11_source *s, uint64_t id,
			  struct df11_scratch *scratch, void *out,
			  unsigned n_threads, char *err, size_t errlen);
	int (*chunk_check)(const struct df11_source *s, uint64_t id,
			   const void *out, char *err, size_t errlen);
	void (*free)(struct df11_source *s);
};

/** struct df11_source - embed as the first member of an implementation. */
struct df11_source {
	const struct df11_source_ops *ops;
};

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
