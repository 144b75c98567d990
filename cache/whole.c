/* SPDX-License-Identifier: MIT */
/*
 * cache/whole.c - a virtual file decoded span by span past the cache
 *
 * For writing a whole decoded file (fs/fill.c): df11_vfile_span() cuts the
 * file into spans of whole chunks, df11_vfile_decode() writes one into
 * the caller's memory. Nothing is kept in the cache and nothing evicted;
 * a chunk the cache holds already is copied from it. The others are read
 * as the cache reads its own (df11_cache_read_chunk: fetched, decoded,
 * checked), in GPU batches when the decoder has one free
 * (df11_cache_batch_read), else on the calling thread's CPU.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "cache/cache_i.h"

uint64_t df11_vfile_span(struct df11_vfile *vf, uint64_t off, uint64_t max)
{
	const struct df11_source *src = vf->src;
	struct df11_chunk ck;
	uint64_t end = off;

	if (off >= vf->size)
		return 0;
	if (off < vf->hdr_len)
		return vf->hdr_len - off;
	if (src->ops->chunk_find(src, off, &ck) || ck.off != off)
		return 0;
	do {
		end = ck.off + ck.len;
		src->ops->chunk_get(src, ck.id + 1, &ck);
	} while (ck.len && ck.off + ck.len - off <= max);
	return end - off;
}

/* chunks of a span waiting for one GPU batch */
struct group {
	struct df11_batch_item it[DF11_DECODER_BATCH_MAX];
	unsigned n;
};

/*
 * Read group @g of @vf in batch @b, the stage times added to @t; empties
 * @g. Return: 0, or the first chunk's error (logged).
 */
static int decode_group(struct df11_cache *c, struct df11_vfile *vf,
			struct df11_batch *b, struct group *g,
			struct stage_ns *t)
{
	unsigned n = g->n;

	g->n = 0;
	df11_cache_batch_read(c, b, g->it, n, t);
	for (unsigned i = 0; i < n; i++)
		if (g->it[i].rc) {
			df11_cache_logf(c, "'%s': %s", vf->name, g->it[i].err);
			return g->it[i].rc;
		}
	return 0;
}

ssize_t df11_vfile_decode(struct df11_vfile *vf, void *dst, uint64_t off,
			  uint64_t len)
{
	struct df11_cache *c = vf->c;
	const struct df11_source *src = vf->src;
	struct stage_ns t = {0};
	struct df11_chunk ck;
	struct df11_scratch *s;
	struct df11_batch *b;
	struct group g;
	uint64_t done = 0, n = 0, big = 0, copied = 0;
	int rc;

	if (vf->check && (rc = vf->check(vf->check_ctx)) != 0)
		return rc;
	if (off + len > vf->size || len == 0)
		return -EINVAL;
	if (off < vf->hdr_len) {
		if (off + len > vf->hdr_len)
			return -EINVAL;
		memcpy(dst, vf->hdr + off, (size_t)len);
		return (ssize_t)len;
	}
	if (src->ops->chunk_find(src, off, &ck) || ck.off != off)
		return -EINVAL;
	if (!(s = df11_cache_scratch_get(c)))
		return -ENOMEM;
	/* a GPU batch when one is free (never in mode cpu): its chunks go
	 * in groups, the chunks of the other spans on their threads' CPUs */
	b = df11_decoder_batch_begin(c->dec);
	g.n = 0;
	rc = 0;
	while (!rc && done < len) {
		uint8_t *out = (uint8_t *)dst + done;

		if (ck.off != off + done || done + ck.len > len) {
			rc = -EINVAL;
			break;
		}
		if (df11_cache_copy_ready(c, vf, &ck, out)) {
			copied += ck.len; /* decoded already for a reader */
		} else {
			if (b) {
				g.it[g.n++] = (struct df11_batch_item){
				    .src = src, .id = ck.id, .out = out};
				if (g.n == DF11_DECODER_BATCH_MAX)
					rc = decode_group(c, vf, b, &g, &t);
			} else {
				/* one chunk alone on the GPU, into pageable
				 * memory, is slower than a core */
				rc = df11_cache_read_chunk(c, vf, ck.id, s, out,
							   0, &t);
			}
			if (rc)
				break;
			n++;
			big = ck.len > big ? ck.len : big;
		}
		done += ck.len;
		src->ops->chunk_get(src, ck.id + 1, &ck);
	}
	if (b) {
		if (!rc && g.n)
			rc = decode_group(c, vf, b, &g, &t);
		df11_decoder_batch_end(c->dec, b);
	}
	df11_cache_scratch_put(c, s, (size_t)big);
	pthread_mutex_lock(&c->mu);
	df11_cache_stages_add_locked(c, &t);
	c->st.bytes_decoded += done - copied;
	if (rc && rc != -EINVAL)
		c->st.errors++;
	pthread_mutex_unlock(&c->mu);
	atomic_fetch_add_explicit(&vf->n_decoded, n, memory_order_relaxed);
	if (rc == -EINVAL)
		return rc;
	return rc ? (rc == -ENOMEM ? -ENOMEM : -EIO) : (ssize_t)done;
}
