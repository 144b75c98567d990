/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_chunk.c - chunks of an open container: find, read, decode, check
 *
 * Chunk ids are global and follow file order: segment i holds ids
 * [chunk0, chunk0 + n_chunks). An id is mapped to its segment by binary
 * search over chunk0, an original file offset to its segment by binary
 * search over the segments' offsets, and then to a chunk:
 *
 *   raw, lz4  chunk k = bytes [k * chunk, min((k + 1) * chunk, len))
 *   df11      chunk k = weights [op[k * G], op[min((k + 1) * G, nb)]),
 *             found by binary search over op at multiples of G
 *
 * Reading a chunk is the two halves of codec/source.h. The fetch reads
 * only the stored bytes the chunk needs through the caller's callback:
 * raw and lz4 chunks straight into (or decompressed into) the caller's
 * buffer, df11 chunks the ranges df11_unit_need() names in three streams
 * into the scratch, leaving a decode plan. The check compares the XXH3-64
 * of the decoded bytes with the stored checksum. A mismatch is -EBADMSG,
 * and the caller must then not use the bytes.
 *
 * Everything here reads the container object only, so any number of
 * threads may read chunks at once, each with its own scratch object.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include "hash_i.h"

#include "ct_i.h"
#include "scratch_i.h"
#include "source.h"

const char *df11_codec_name(enum df11_codec c)
{
	switch (c) {
	case DF11_CODEC_RAW:
		return "raw";
	case DF11_CODEC_LZ4:
		return "lz4";
	case DF11_CODEC_DF11:
		return "df11";
	}
	return "?";
}

/* helpers of ct_i.h, shared with ct_read.c and ct_write.c */

void df11_ct_gap_name(char buf[DF11_CT_GAP_NAME_MAX], uint64_t off)
{
	snprintf(buf, DF11_CT_GAP_NAME_MAX, DF11_CT_GAP_PREFIX "%" PRIu64, off);
}

char *df11_ct_stream_name(const char *prefix, const char *field)
{
	size_t a = strlen(prefix), b = strlen(field);
	char *s = malloc(a + b + 2);

	if (!s)
		return NULL;
	memcpy(s, prefix, a);
	s[a] = '.';
	memcpy(s + a + 1, field, b + 1);
	return s;
}

uint64_t df11_ct_size(const struct df11_ct *ct)
{
	return ct->size;
}

uint64_t df11_ct_stored(const struct df11_ct *ct)
{
	return ct->stored;
}

const uint8_t *df11_ct_header(const struct df11_ct *ct, size_t *len)
{
	if (len)
		*len = ct->hdr_len;
	return ct->hdr;
}

size_t df11_ct_mem(const struct df11_ct *ct)
{
	size_t n = sizeof(*ct) + ct->hdr_len + df11_st_mem(ct->orig) +
		   ct->n_segs * sizeof(*ct->segs) + 3 * 16;

	for (size_t i = 0; i < ct->n_segs; i++) {
		const struct ct_seg *s = &ct->segs[i];

		n += strlen(s->stream) + 1 + 16;
		if (s->unit)
			n += df11_unit_mem(s->unit) + 3 * 16;
	}
	return n;
}

const struct df11_st *df11_ct_orig(const struct df11_ct *ct)
{
	return ct->orig;
}

size_t df11_ct_n_segments(const struct df11_ct *ct)
{
	return ct->n_segs;
}

const struct df11_ct_seg *df11_ct_segment(const struct df11_ct *ct, size_t i)
{
	return &ct->segs[i].pub;
}

uint64_t df11_ct_n_chunks(const struct df11_ct *ct)
{
	return ct->n_chunks;
}

uint64_t df11_ct_max_chunk(const struct df11_ct *ct)
{
	return ct->max_chunk;
}

int df11_ct_chunk_bounds(const struct ct_seg *s, uint64_t k, uint64_t *rel,
			 uint64_t *len)
{
	uint64_t a, b, e, nb;

	if (s->pub.codec != DF11_CODEC_DF11) {
		*rel = k * s->param;
		*len =
		    s->pub.len - *rel < s->param ? s->pub.len - *rel : s->param;
		return 0;
	}
	/* k < n_chunks <= nb and G <= 1024: no overflow */
	nb = df11_unit_n_blocks(s->unit);
	e = (k + 1) * s->param < nb ? (k + 1) * s->param : nb;
	a = df11_unit_block_start(s->unit, k * s->param);
	b = df11_unit_block_start(s->unit, e);
	*rel = 2 * a;
	*len = b >= a ? 2 * (b - a) : 0;
	return b >= a ? 0 : -EBADMSG;
}

/* the segment that holds chunk @id (< n_chunks) */
static size_t seg_of_chunk(const struct df11_ct *ct, uint64_t id)
{
	size_t lo = 0, hi = ct->n_segs;

	/* last segment with chunk0 <= id; every segment has a chunk */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ct->segs[mid].pub.chunk0 <= id)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* the df11 chunk holding weight @w: last k with op[k * G] <= w */
static uint64_t df11_chunk_of(const struct ct_seg *s, uint64_t w)
{
	uint64_t lo = 0, hi = s->pub.n_chunks;

	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (df11_unit_block_start(s->unit, mid * s->param) <= w)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int df11_ct_chunk_find(const struct df11_ct *ct, uint64_t off, uint64_t *id)
{
	size_t lo = 0, hi = ct->n_segs;
	const struct ct_seg *s;
	uint64_t rel;

	if (off < ct->hdr_len || off >= ct->size || !ct->n_segs)
		return -EINVAL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ct->segs[mid].pub.off <= off)
			lo = mid;
		else
			hi = mid;
	}
	s = &ct->segs[lo];
	rel = off - s->pub.off;
	if (s->pub.codec == DF11_CODEC_DF11)
		*id = s->pub.chunk0 + df11_chunk_of(s, rel / 2);
	else
		*id = s->pub.chunk0 + rel / s->param;
	return 0;
}

void df11_ct_chunk_range(const struct df11_ct *ct, uint64_t id, uint64_t *off,
			 uint64_t *len, size_t *seg)
{
	size_t si;
	uint64_t rel = 0, l = 0;

	if (id >= ct->n_chunks) {
		*off = ct->size;
		*len = 0;
		if (seg)
			*seg = ct->n_segs;
		return;
	}
	si = seg_of_chunk(ct, id);
	df11_ct_chunk_bounds(&ct->segs[si], id - ct->segs[si].pub.chunk0, &rel,
			     &l);
	*off = ct->segs[si].pub.off + rel;
	*len = l;
	if (seg)
		*seg = si;
}

/*
 * lz4 chunk @k (@len bytes): a stored block or one LZ4 block. Its two
 * offsets are read from .lz4_index now (the index is never loaded) and
 * must describe a non-empty block inside the stream, at most
 * LZ4_COMPRESSBOUND(@len) bytes.
 */
static int read_lz4(const struct ct_seg *s, uint64_t k, uint64_t len,
		    df11_read_fn rd, void *ctx, struct df11_scratch *sc,
		    void *out, const char **why)
{
	uint8_t ix[16];
	uint64_t bo, bl;
	uint8_t *src;
	int rc;

	if ((rc = rd(ctx, ix, sizeof(ix), s->idx_off + 8 * k)))
		return rc;
	bo = df11_le_get64(ix);
	bl = df11_le_get64(ix + 8) - bo;
	if (df11_le_get64(ix + 8) <= bo ||
	    df11_le_get64(ix + 8) > s->data_len ||
	    bl > (uint64_t)LZ4_COMPRESSBOUND(len)) {
		*why = "bad lz4 index";
		return -EBADMSG;
	}
	if (bl == len)
		return rd(ctx, out, len, s->data_off + bo);
	src = df11_scratch_buf(sc, DF11_SCRATCH_LZ4, bl);
	if (!src)
		return -ENOMEM;
	rc = rd(ctx, src, bl, s->data_off + bo);
	if (rc)
		return rc;
	/* both fit int: chunks <= 64 MiB, blocks <= LZ4_COMPRESSBOUND */
	if (LZ4_decompress_safe((const char *)src, out, (int)bl, (int)len) !=
	    (int)len) {
		*why = "corrupt lz4 block";
		return -EBADMSG;
	}
	return 0;
}

struct ct_fetch {
	const struct ct_seg *s;
	df11_read_fn rd;
	void *ctx;
};

/* a container segment's df11 streams through the container's reader */
static int ct_fetch(void *ctx, enum df11_stream which, uint64_t off,
		    uint64_t len, uint8_t *buf)
{
	const struct ct_fetch *f = ctx;
	const struct ct_seg *s = f->s;
	uint64_t base[3] = {s->data_off, s->gaps_off, s->sm_off};
	uint64_t size[3] = {s->data_len,
			    (uint64_t)DF11_GAPS_PER_BLOCK *
				df11_unit_n_blocks(s->unit),
			    s->pub.len / 2};

	if (off > size[which] || len > size[which] - off)
		return -EBADMSG;
	return f->rd(f->ctx, buf, (size_t)len, base[which] + off);
}

/* where chunk @id's bytes begin, and its segment, for messages */
static int chunk_err(const struct df11_ct *ct, uint64_t id, const char *why,
		     char *err, size_t errlen)
{
	const struct ct_seg *s = &ct->segs[seg_of_chunk(ct, id)];
	uint64_t rel, len;

	df11_ct_chunk_bounds(s, id - s->pub.chunk0, &rel, &len);
	df11_err_set(err, errlen, "%s '%s' at offset %" PRIu64 ": %s",
		     s->pub.tensor ? "tensor" : "gap", s->stream,
		     s->pub.off + rel, why);
	return -EBADMSG;
}

int df11_ct_chunk_fetch(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
			void *ctx, struct df11_scratch *scratch, void *out,
			struct df11_fetch *f, char *err, size_t errlen)
{
	const struct ct_seg *s;
	const char *why = "cannot read the container";
	uint64_t rel, len, k;
	int rc;

	*f = (struct df11_fetch){0};
	if (id >= ct->n_chunks)
		return -EINVAL;
	s = &ct->segs[seg_of_chunk(ct, id)];
	k = id - s->pub.chunk0;
	if (df11_ct_chunk_bounds(s, k, &rel, &len))
		return chunk_err(ct, id, "corrupt df11 data", err, errlen);
	switch (s->pub.codec) {
	case DF11_CODEC_RAW:
		rc = rd(ctx, out, len, s->data_off + rel);
		break;
	case DF11_CODEC_LZ4:
		rc = read_lz4(s, k, len, rd, ctx, scratch, out, &why);
		break;
	default:
		if (len == 0) /* an empty chunk: the checksum has the word */
			return 0;
		struct ct_fetch cf = {s, rd, ctx};
		rc = df11_unit_fetch(s->unit, ct_fetch, &cf, rel / 2,
				     rel / 2 + len / 2, scratch, &f->plan);
		f->pending = rc == 0;
		if (rc == -EBADMSG)
			why = "corrupt df11 data";
		else if (rc && rc != -ENOMEM)
			why = "cannot read the stored data";
		break;
	}
	if (rc && rc != -ENOMEM)
		chunk_err(ct, id, why, err, errlen);
	return rc;
}

int df11_ct_chunk_check(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
			void *ctx, const void *out, int rc, char *err,
			size_t errlen)
{
	const struct ct_seg *s;
	uint64_t rel, len, k;
	uint8_t sum[8];

	if (id >= ct->n_chunks)
		return -EINVAL;
	if (rc == -ENOMEM)
		return rc;
	if (rc)
		return chunk_err(ct, id, "corrupt df11 data", err, errlen);
	s = &ct->segs[seg_of_chunk(ct, id)];
	k = id - s->pub.chunk0;
	df11_ct_chunk_bounds(s, k, &rel, &len);
	/* the checksums are never loaded: 8 bytes of .xxh3, read now */
	if ((rc = rd(ctx, sum, sizeof(sum), s->xxh3_off + 8 * k))) {
		chunk_err(ct, id, "cannot read its checksum", err, errlen);
		return rc;
	}
	if (df11_xxh3(out, len) == df11_le_get64(sum))
		return 0;
	return chunk_err(ct, id, "checksum mismatch", err, errlen);
}
