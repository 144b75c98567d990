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
 * Reading a chunk reads only the stored bytes it needs through the caller's
 * callback (for df11 the ranges df11_unit_need() names in three streams)
 * into per-thread scratch buffers, decodes into the caller's buffer and
 * compares the XXH3-64 of the decoded bytes with the stored checksum. A
 * mismatch is -EBADMSG, and the caller must then not use the bytes.
 *
 * Everything here reads the container object only, so any number of
 * threads may read chunks at once, each with its own scratch object.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include "hash_i.h"

#include "ct_i.h"

/* per-thread buffers: df11 uses all three, lz4 the first */
struct df11_scratch {
	uint8_t *buf[3];
	size_t cap[3];
	df11_decode_fn decode; /* NULL: df11_unit_decode() */
	void *decode_ctx;
};

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

void df11_ct_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* names are untrusted: keep the message on one line */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

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

const uint8_t *df11_ct_header(const struct df11_ct *ct, size_t *len)
{
	if (len)
		*len = ct->hdr_len;
	return ct->hdr;
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

int df11_scratch_new(struct df11_scratch **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void df11_scratch_free(struct df11_scratch *s)
{
	if (!s)
		return;
	for (int i = 0; i < 3; i++)
		free(s->buf[i]);
	free(s);
}

void df11_scratch_set_decoder(struct df11_scratch *s, df11_decode_fn fn,
			      void *ctx)
{
	s->decode = fn;
	s->decode_ctx = fn ? ctx : NULL;
}

int df11_scratch_decode(struct df11_scratch *s, const struct df11_unit *u,
			const struct df11_span *enc,
			const struct df11_span *gaps,
			const struct df11_span *sm, uint64_t a, uint64_t b,
			void *out, unsigned n_threads)
{
	if (s->decode)
		return s->decode(s->decode_ctx, u, enc, gaps, sm, a, b, out,
				 n_threads);
	return df11_unit_decode(u, enc, gaps, sm, a, b, out, n_threads);
}

uint8_t *df11_scratch_buf(struct df11_scratch *sc, int i, uint64_t len)
{
	uint8_t *p;

	if (len <= sc->cap[i] && sc->buf[i])
		return sc->buf[i];
	if (len > SIZE_MAX)
		return NULL;
	p = realloc(sc->buf[i], len ? len : 1);
	if (!p)
		return NULL;
	sc->buf[i] = p;
	sc->cap[i] = len;
	return p;
}

/* lz4 chunk @k (@len bytes): a stored block or one LZ4 block */
static int read_lz4(const struct ct_seg *s, uint64_t k, uint64_t len,
		    df11_read_fn rd, void *ctx, struct df11_scratch *sc,
		    void *out, const char **why)
{
	uint64_t bo = s->lz4_idx[k], bl = s->lz4_idx[k + 1] - bo;
	uint8_t *src;
	int rc;

	if (bl == len)
		return rd(ctx, out, len, s->data_off + bo);
	src = df11_scratch_buf(sc, 0, bl);
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

/* does [off, off + len) lie inside a stream of @size bytes? */
int df11_scratch_fetch_decode(struct df11_scratch *sc,
			      const struct df11_unit *u, df11_fetch_fn fetch,
			      void *ctx, uint64_t a, uint64_t b, void *out,
			      unsigned n_threads, const char **why)
{
	struct df11_span enc, gaps, sm;
	struct df11_need nd;
	uint8_t *pe, *pg, *ps;
	int rc;

	*why = "corrupt df11 data";
	if (df11_unit_need(u, a, b, &nd))
		return -EBADMSG;
	pe = df11_scratch_buf(sc, 0, nd.enc_len);
	pg = df11_scratch_buf(sc, 1, nd.gaps_len);
	ps = df11_scratch_buf(sc, 2, nd.sm_len);
	if (!pe || !pg || !ps)
		return -ENOMEM;
	if ((rc = fetch(ctx, 0, nd.enc_off, nd.enc_len, pe)) ||
	    (rc = fetch(ctx, 1, nd.gaps_off, nd.gaps_len, pg)) ||
	    (rc = fetch(ctx, 2, nd.sm_off, nd.sm_len, ps))) {
		if (rc != -EBADMSG)
			*why = "cannot read the stored data";
		return rc;
	}
	enc = (struct df11_span){pe, nd.enc_off, (size_t)nd.enc_len};
	gaps = (struct df11_span){pg, nd.gaps_off, (size_t)nd.gaps_len};
	sm = (struct df11_span){ps, nd.sm_off, (size_t)nd.sm_len};
	rc = df11_scratch_decode(sc, u, &enc, &gaps, &sm, a, b, out, n_threads);
	return rc == -ENOMEM || rc == -EINPROGRESS ? rc : rc ? -EBADMSG : 0;
}

struct ct_fetch {
	const struct ct_seg *s;
	df11_read_fn rd;
	void *ctx;
};

/* a container segment's df11 streams through the container's reader */
static int ct_fetch(void *ctx, int which, uint64_t off, uint64_t len,
		    uint8_t *buf)
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

/* df11 chunk @k: the stored bytes its weights need, decoded */
static int read_df11(const struct ct_seg *s, uint64_t k, df11_read_fn rd,
		     void *ctx, struct df11_scratch *sc, void *out,
		     unsigned n_threads, const char **why)
{
	struct ct_fetch f = {s, rd, ctx};
	uint64_t rel, len;

	if (df11_ct_chunk_bounds(s, k, &rel, &len) || len == 0)
		return 0; /* an empty chunk: the checksum has the last word */
	return df11_scratch_fetch_decode(sc, s->unit, ct_fetch, &f, rel / 2,
					 rel / 2 + len / 2, out, n_threads,
					 why);
}

int df11_ct_chunk_read(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
		       void *ctx, struct df11_scratch *scratch, void *out,
		       unsigned n_threads, char *err, size_t errlen)
{
	const struct ct_seg *s;
	const char *why = "cannot read the container";
	uint64_t rel, len, k;
	int rc;

	if (id >= ct->n_chunks)
		return -EINVAL;
	s = &ct->segs[seg_of_chunk(ct, id)];
	k = id - s->pub.chunk0;
	df11_ct_chunk_bounds(s, k, &rel, &len);
	switch (s->pub.codec) {
	case DF11_CODEC_RAW:
		rc = rd(ctx, out, len, s->data_off + rel);
		break;
	case DF11_CODEC_LZ4:
		rc = read_lz4(s, k, len, rd, ctx, scratch, out, &why);
		break;
	default:
		rc = read_df11(s, k, rd, ctx, scratch, out, n_threads, &why);
		if (rc == -EINPROGRESS)
			return rc; /* deferred: df11_ct_chunk_check() follows */
		break;
	}
	if (!rc && df11_xxh3(out, len) != df11_ct_le64(s->xxh3 + 8 * k)) {
		why = "checksum mismatch";
		rc = -EBADMSG;
	}
	if (rc && rc != -ENOMEM)
		df11_ct_seterr(err, errlen, "%s '%s' at offset %" PRIu64 ": %s",
			       s->pub.tensor ? "tensor" : "gap", s->stream,
			       s->pub.off + rel, why);
	return rc;
}

int df11_ct_chunk_check(const struct df11_ct *ct, uint64_t id, const void *out,
			char *err, size_t errlen)
{
	const struct ct_seg *s;
	uint64_t rel, len, k;

	if (id >= ct->n_chunks)
		return -EINVAL;
	s = &ct->segs[seg_of_chunk(ct, id)];
	k = id - s->pub.chunk0;
	df11_ct_chunk_bounds(s, k, &rel, &len);
	if (df11_xxh3(out, len) == df11_ct_le64(s->xxh3 + 8 * k))
		return 0;
	df11_ct_seterr(err, errlen, "%s '%s' at offset %" PRIu64 ": %s",
		       s->pub.tensor ? "tensor" : "gap", s->stream,
		       s->pub.off + rel, "checksum mismatch");
	return -EBADMSG;
}
