/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_write.c - write df11 containers (docs/FORMAT.md)
 *
 * The writer plans the original file as segments in file order: each
 * non-empty tensor is one segment, and every run of data-region bytes that
 * no tensor covers is a gap segment "df11.gap.<off>". Empty tensors need no
 * segment: the original header, kept whole in the index, rebuilds them.
 *
 * df11_ctw_encode() picks a codec per segment (FORMAT.md §3) and appends
 * the segment's streams through the caller's write callback, one call per
 * stream so that each stream is contiguous even when other threads append
 * at the same time. Each segment's state (codec, where its streams landed)
 * is written only by the thread that encodes it, so segments encode in
 * parallel without locks here; df11_ctw_header() reads it all at the end.
 *
 * Checksums are XXH3-64 of each chunk's original bytes. The writer has
 * those bytes, so it hashes them directly instead of decoding its own
 * output; `df11 verify` and the reader check the coded form.
 *
 * Memory: a df11 segment needs its coded streams (about 0.7x its size),
 * an lz4 segment one buffer of its size; raw segments are written from the
 * caller's buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lz4.h>
#include "hash_i.h"

#include "base64.h"
#include "container.h"
#include "ct_i.h"
#include "df11.h"

#define CTW_MAX_STREAMS 6

struct ctw_stream {
	const char *field;
	uint64_t off, len; /* in the container's data region */
	uint64_t from;	   /* where the write callback put it */
};

struct ctw_seg {
	uint64_t off, len;		/* in the original file */
	const struct df11_st_tensor *t; /* NULL for a gap */
	char gap[DF11_CT_GAP_NAME_MAX]; /* a gap's stream prefix */
	int done;
	enum df11_codec codec;
	uint64_t param; /* chunk or blocks_per_chunk */
	uint64_t stored;
	struct ctw_stream s[CTW_MAX_STREAMS];
	unsigned n_s;
};

struct df11_ctw {
	uint8_t *hdr;
	size_t hdr_len;
	uint64_t size;
	struct df11_st *st;
	uint64_t chunk;
	unsigned bpc;
	struct ctw_seg *segs;
	size_t n_segs;
};

static const char *seg_stream(const struct ctw_seg *s)
{
	return s->t ? s->t->name : s->gap;
}

/* append gap [from, to) of the data region (offsets are file offsets) */
static int plan_gap(struct df11_ctw *w, uint64_t from, uint64_t to, char *err,
		    size_t errlen)
{
	struct ctw_seg *s = &w->segs[w->n_segs];
	const struct df11_st_tensor *t;

	memset(s, 0, sizeof(*s));
	s->off = from;
	s->len = to - from;
	df11_ct_gap_name(s->gap, from);
	/* a tensor of that name would own the same stream names */
	t = df11_st_find(w->st, s->gap);
	if (t && t->end > t->begin) {
		df11_err_set(err, errlen,
			     "tensor '%s': name clashes with a gap stream",
			     s->gap);
		return -ENOTSUP;
	}
	w->n_segs++;
	return 0;
}

/*
 * The least bytes of the outer header that a non-empty tensor adds, its
 * name aside: its index segment (in the index text) and two stream
 * entries, its data stream (".raw" or ".lz4"; df11's are longer) and its
 * checksums, every number of one digit and nothing escaped. Its name is
 * in all three. (The templates write ' for ": the same length.)
 */
#define SEG_LEAST                                                              \
	(sizeof("{'off':0,'len':1,'codec':'raw','stream':'','chunk':1},") - 1)
#define STREAM_LEAST                                                           \
	(sizeof("'.raw':{'dtype':'U8','shape':[1],'data_offsets':[0,1]},") - 1)
#define XXH3_LEAST                                                             \
	(sizeof("'.xxh3':{'dtype':'U8','shape':[8],'data_offsets':[0,8]},") - 1)
#define TENSOR_LEAST (SEG_LEAST + STREAM_LEAST + XXH3_LEAST)

int df11_ctw_check(const struct df11_st *st, size_t hdr_len, char *err,
		   size_t errlen)
{
	size_t nt = df11_st_n_tensors(st);
	uint64_t least = 8 + (uint64_t)(hdr_len + 2) / 3 * 4; /* base64 */

	if (nt > DF11_CT_TENSORS_MAX) {
		df11_err_set(err, errlen,
			     "%zu tensors: more than the limit of %u for one "
			     "df11 container",
			     nt, DF11_CT_TENSORS_MAX);
		return -ENOTSUP;
	}
	/* at most 16384 names of at most 100 MB in all: no overflow */
	for (size_t i = 0; i < nt; i++) {
		const struct df11_st_tensor *t = df11_st_tensor(st, i);

		if (t->end > t->begin)
			least += 3 * (uint64_t)strlen(t->name) + TENSOR_LEAST;
	}
	if (least > DF11_CT_HEADER_MAX) {
		df11_err_set(
		    err, errlen,
		    "safetensors header of %zu bytes: too large for a "
		    "df11 container, whose header (this one in base64, "
		    "a segment and streams per tensor) would have at "
		    "least %" PRIu64 " bytes, more than the limit of %u",
		    hdr_len, least, DF11_CT_HEADER_MAX);
		return -ENOTSUP;
	}
	return 0;
}

/* tensors and gaps in file order */
static int plan(struct df11_ctw *w, uint64_t data0, char *err, size_t errlen)
{
	size_t nt = df11_st_n_tensors(w->st);
	const size_t *order = df11_st_order(w->st);
	uint64_t cur = data0, chunks;
	int rc;

	/* raw and lz4 chunks; df11 ones are fewer at the default settings */
	chunks = df11_div_up(w->size - data0, w->chunk) + 2 * nt + 1;
	if (chunks > DF11_CT_CHUNKS_MAX) {
		df11_err_set(err, errlen,
			     "%" PRIu64 " chunks of %" PRIu64 " bytes: more "
			     "than the limit of %u for one df11 container",
			     chunks, w->chunk, DF11_CT_CHUNKS_MAX);
		return -ENOTSUP;
	}
	w->segs = calloc(2 * nt + 1, sizeof(*w->segs));
	if (!w->segs)
		return -ENOMEM;
	for (size_t i = 0; i < nt; i++) {
		const struct df11_st_tensor *t =
		    df11_st_tensor(w->st, order[i]);
		struct ctw_seg *s;

		if (t->end == t->begin)
			continue;
		if (data0 + t->begin > cur) {
			rc = plan_gap(w, cur, data0 + t->begin, err, errlen);
			if (rc)
				return rc;
		}
		s = &w->segs[w->n_segs++];
		s->off = data0 + t->begin;
		s->len = t->end - t->begin;
		s->t = t;
		cur = data0 + t->end;
	}
	if (cur < w->size)
		return plan_gap(w, cur, w->size, err, errlen);
	return 0;
}

int df11_ctw_new(struct df11_ctw **out, const uint8_t *hdr, size_t hdr_len,
		 uint64_t size, const struct df11_ctw_opts *opts, char *err,
		 size_t errlen)
{
	struct df11_ctw *w;
	uint64_t n;
	int rc;

	*out = NULL;
	if (opts && ((opts->chunk && (opts->chunk < DF11_CT_CHUNK_MIN ||
				      opts->chunk > DF11_CT_CHUNK_MAX)) ||
		     opts->blocks_per_chunk > DF11_CT_BPC_WRITE_MAX)) {
		df11_err_set(err, errlen, "chunk parameters out of range");
		return -EINVAL;
	}
	if (size > INT64_MAX) { /* JSON integers are signed 64-bit */
		df11_err_set(err, errlen, "file too large");
		return -EOVERFLOW;
	}
	if (df11_st_header_frame(hdr, hdr_len, size, &n)) {
		df11_err_set(err, errlen, "bad safetensors header length");
		return -EBADMSG;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->size = size;
	w->hdr_len = hdr_len;
	w->chunk = opts && opts->chunk ? opts->chunk : DF11_CT_CHUNK_DEFAULT;
	w->bpc = opts && opts->blocks_per_chunk ? opts->blocks_per_chunk
						: DF11_CT_BPC_DEFAULT;
	rc = -ENOMEM;
	w->hdr = malloc(hdr_len);
	if (!w->hdr)
		goto fail;
	memcpy(w->hdr, hdr, hdr_len);
	rc = df11_st_parse(&w->st, hdr + 8, n, size - hdr_len, err, errlen);
	if (!rc)
		rc = df11_ctw_check(w->st, hdr_len, err, errlen);
	if (rc)
		goto fail;
	rc = plan(w, hdr_len, err, errlen);
	if (rc)
		goto fail;
	*out = w;
	return 0;
fail:
	df11_ctw_free(w);
	return rc;
}

void df11_ctw_free(struct df11_ctw *w)
{
	if (!w)
		return;
	free(w->segs);
	df11_st_free(w->st);
	free(w->hdr);
	free(w);
}

size_t df11_ctw_n_segments(const struct df11_ctw *w)
{
	return w->n_segs;
}

void df11_ctw_segment(const struct df11_ctw *w, size_t i, uint64_t *off,
		      uint64_t *len, const struct df11_st_tensor **t)
{
	const struct ctw_seg *s = &w->segs[i];

	if (off)
		*off = s->off;
	if (len)
		*len = s->len;
	if (t)
		*t = s->t;
}

void df11_ctw_stored(const struct df11_ctw *w, size_t i, enum df11_codec *codec,
		     uint64_t *stored)
{
	if (codec)
		*codec = w->segs[i].codec;
	if (stored)
		*stored = w->segs[i].stored;
}

/* append one stream and remember where it landed */
static int put(struct ctw_seg *s, const char *field, const void *buf,
	       size_t len, df11_write_fn wr, void *ctx)
{
	struct ctw_stream *st = &s->s[s->n_s];
	int rc;

	rc = wr(ctx, buf, len, &st->off);
	if (rc)
		return rc;
	st->from = st->off;
	st->field = field;
	st->len = len;
	s->stored += len;
	s->n_s++;
	return 0;
}

/*
 * df11 when the code exists and its streams, checksums included, are
 * smaller than the bytes: *@written says whether it was.
 * Return: 0 (written or declined), -errno.
 */
static int enc_df11(struct ctw_seg *s, unsigned bpc, const uint8_t *data,
		    df11_write_fn wr, void *ctx, bool *written)
{
	uint64_t n = s->len / 2, hist[256] = {0}, n_chunks, total;
	struct df11_sizes sz;
	struct df11_code code;
	struct df11_enc_out o;
	uint8_t *buf, *xx;
	int rc;

	*written = false;
	if (n < 1 || n > DF11_MAX_UNIT_ELEMS || n > SIZE_MAX / 2)
		return 0;
	df11_hist(data, n, hist);
	rc = df11_code_build(&code, hist);
	if (rc == -ENOTSUP)
		return 0;
	if (rc)
		return rc;
	rc = df11_code_sizes(&code, hist, &sz);
	if (rc == -EOVERFLOW)
		return 0;
	if (rc)
		return rc;
	n_chunks = df11_div_up(sz.n_blocks, bpc);
	total = sz.luts + sz.enc + sz.sm + sz.op + sz.gaps + 8 * n_chunks;
	if (sz.n_blocks < 1 || sz.op != 4 * (sz.n_blocks + 1) ||
	    total >= s->len)
		return 0;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	o.luts = buf;
	o.enc = o.luts + sz.luts;
	o.sm = o.enc + sz.enc;
	o.op = o.sm + sz.sm;
	o.gaps = o.op + sz.op;
	xx = o.gaps + sz.gaps;
	rc = df11_encode(&code, data, n, &o);
	if (rc)
		goto out;
	/* chunk k: weights [op[k*G], op[min((k+1)*G, nb)]) */
	for (uint64_t k = 0; k < n_chunks; k++) {
		uint64_t e =
		    (k + 1) * bpc < sz.n_blocks ? (k + 1) * bpc : sz.n_blocks;
		uint64_t a = df11_le_get32(o.op + 4 * k * bpc);
		uint64_t b = df11_le_get32(o.op + 4 * e);

		df11_le_put64(xx + 8 * k, df11_xxh3(data + 2 * a, 2 * (b - a)));
	}
	s->codec = DF11_CODEC_DF11;
	s->param = bpc;
	if ((rc = put(s, DF11_CT_F_LUTS, o.luts, sz.luts, wr, ctx)) ||
	    (rc = put(s, DF11_CT_F_ENC, o.enc, sz.enc, wr, ctx)) ||
	    (rc = put(s, DF11_CT_F_SM, o.sm, sz.sm, wr, ctx)) ||
	    (rc = put(s, DF11_CT_F_OP, o.op, sz.op, wr, ctx)) ||
	    (rc = put(s, DF11_CT_F_GAPS, o.gaps, sz.gaps, wr, ctx)) ||
	    (rc = put(s, DF11_CT_F_XXH3, xx, 8 * n_chunks, wr, ctx)))
		goto out;
	*written = true;
out:
	free(buf);
	return rc;
}

/*
 * LZ4 blocks chunk by chunk into @blocks (s->len bytes: no block is
 * larger than its chunk), the offsets into @idx. Return: whether the lz4
 * form is smaller than the raw one (given up as soon as it is certain
 * that it is not).
 */
static bool lz4_blocks(const struct ctw_seg *s, uint64_t chunk,
		       const uint8_t *data, uint8_t *blocks, uint8_t *idx,
		       uint64_t n_chunks)
{
	uint64_t pos = 0, over = 8 * (n_chunks + 1);

	df11_le_put64(idx, 0);
	for (uint64_t k = 0; k < n_chunks; k++) {
		uint64_t a = k * chunk;
		int clen = (int)(s->len - a < chunk ? s->len - a : chunk);
		int r = 0;

		if (clen > 16)
			r = LZ4_compress_default((const char *)data + a,
						 (char *)blocks + pos, clen,
						 clen - 1);
		if (r <= 0) { /* does not shrink: stored as is */
			memcpy(blocks + pos, data + a, (size_t)clen);
			r = clen;
		}
		pos += (uint64_t)r;
		if (pos + over >= s->len)
			return false;
		df11_le_put64(idx + 8 * (k + 1), pos);
	}
	return true;
}

/* lz4 when smaller than the bytes, else raw */
static int enc_chunked(struct ctw_seg *s, uint64_t chunk, const uint8_t *data,
		       df11_write_fn wr, void *ctx)
{
	uint64_t n_chunks = df11_div_up(s->len, chunk);
	uint8_t *blocks = NULL, *idx = NULL, *xx;
	int rc = -ENOMEM;
	bool lz;

	if (s->len > SIZE_MAX / 2 || n_chunks > SIZE_MAX / 16 - 1)
		return -ENOMEM;
	blocks = malloc(s->len);
	idx = malloc(8 * (n_chunks + 1) + 8 * n_chunks);
	if (!blocks || !idx)
		goto out;
	xx = idx + 8 * (n_chunks + 1);
	for (uint64_t k = 0; k < n_chunks; k++) {
		uint64_t a = k * chunk;
		uint64_t l = s->len - a < chunk ? s->len - a : chunk;

		df11_le_put64(xx + 8 * k, df11_xxh3(data + a, l));
	}
	lz = lz4_blocks(s, chunk, data, blocks, idx, n_chunks);
	s->param = chunk;
	if (lz) {
		uint64_t blen = df11_le_get64(idx + 8 * n_chunks);

		s->codec = DF11_CODEC_LZ4;
		if ((rc = put(s, DF11_CT_F_LZ4, blocks, blen, wr, ctx)) ||
		    (rc = put(s, DF11_CT_F_LZ4_INDEX, idx, 8 * (n_chunks + 1),
			      wr, ctx)))
			goto out;
	} else {
		s->codec = DF11_CODEC_RAW;
		rc = put(s, DF11_CT_F_RAW, data, s->len, wr, ctx);
		if (rc)
			goto out;
	}
	rc = put(s, DF11_CT_F_XXH3, xx, 8 * n_chunks, wr, ctx);
out:
	free(idx);
	free(blocks);
	return rc;
}

int df11_ctw_encode(struct df11_ctw *w, size_t i, const void *data,
		    df11_write_fn wr, void *ctx)
{
	struct ctw_seg *s;
	bool coded = false;
	int rc = 0;

	if (i >= w->n_segs || w->segs[i].done)
		return -EINVAL;
	s = &w->segs[i];
	s->n_s = 0;
	s->stored = 0;
	if (s->t && s->t->dtype == DF11_DT_BF16)
		rc = enc_df11(s, w->bpc, data, wr, ctx, &coded);
	if (!rc && !coded)
		rc = enc_chunked(s, w->chunk, data, wr, ctx);
	if (rc)
		return rc;
	s->done = 1;
	return 0;
}

/* ------------------------------------------------------------- header */

/* the index: version, size, header, header_xxh3, segments */
static char *index_text(const struct df11_ctw *w)
{
	json_t *root = json_object(), *segs = json_array();
	char ver[32], hx[17], *b64 = NULL, *text = NULL;
	size_t blen = df11_b64_encoded_len(w->hdr_len);

	if (!root || !segs || !blen)
		goto out;
	b64 = malloc(blen + 1);
	if (!b64)
		goto out;
	df11_b64_encode(w->hdr, w->hdr_len, b64);
	snprintf(ver, sizeof(ver), "%d.%d", DF11_CT_VERSION_MAJOR,
		 DF11_CT_VERSION_MINOR);
	snprintf(hx, sizeof(hx), "%016" PRIx64,
		 (uint64_t)df11_xxh3(w->hdr, w->hdr_len));
	if (json_object_set_new(root, DF11_CT_K_VERSION, json_string(ver)) ||
	    json_object_set_new(root, DF11_CT_K_SIZE,
				json_integer((json_int_t)w->size)) ||
	    json_object_set_new(root, DF11_CT_K_HEADER,
				json_stringn(b64, blen)) ||
	    json_object_set_new(root, DF11_CT_K_HEADER_XXH3, json_string(hx)) ||
	    json_object_set(root, DF11_CT_K_SEGMENTS, segs))
		goto out;
	for (size_t i = 0; i < w->n_segs; i++) {
		const struct ctw_seg *s = &w->segs[i];
		json_t *o = json_object();

		if (!o || json_array_append_new(segs, o) ||
		    json_object_set_new(o, DF11_CT_K_OFF,
					json_integer((json_int_t)s->off)) ||
		    json_object_set_new(o, DF11_CT_K_LEN,
					json_integer((json_int_t)s->len)) ||
		    json_object_set_new(
			o, DF11_CT_K_CODEC,
			json_string(df11_codec_name(s->codec))) ||
		    json_object_set_new(o, DF11_CT_K_STREAM,
					json_string(seg_stream(s))) ||
		    json_object_set_new(o,
					s->codec == DF11_CODEC_DF11
					    ? DF11_CT_K_BPC
					    : DF11_CT_K_CHUNK,
					json_integer((json_int_t)s->param)))
			goto out;
	}
	text = json_dumps(root, JSON_COMPACT);
out:
	free(b64);
	json_decref(segs);
	json_decref(root);
	return text;
}

int df11_ctw_pack(struct df11_ctw *w, uint64_t *data_len)
{
	uint64_t at = 0;

	for (size_t i = 0; i < w->n_segs; i++)
		if (!w->segs[i].done)
			return -EINVAL;
	for (size_t i = 0; i < w->n_segs; i++)
		for (unsigned j = 0; j < w->segs[i].n_s; j++) {
			struct ctw_stream *st = &w->segs[i].s[j];

			st->off = at;
			if (__builtin_add_overflow(at, st->len, &at))
				return -EOVERFLOW;
		}
	*data_len = at;
	return 0;
}

size_t df11_ctw_n_streams(const struct df11_ctw *w, size_t i)
{
	return w->segs[i].n_s;
}

void df11_ctw_stream(const struct df11_ctw *w, size_t i, size_t j,
		     uint64_t *from, uint64_t *to, uint64_t *len)
{
	const struct ctw_stream *st = &w->segs[i].s[j];

	*from = st->from;
	*to = st->off;
	*len = st->len;
}

/* {"dtype":"U8","shape":[len],"data_offsets":[off,off+len]} for each stream */
static int add_streams(json_t *outer, const struct ctw_seg *s,
		       uint64_t data_len)
{
	for (unsigned j = 0; j < s->n_s; j++) {
		const struct ctw_stream *st = &s->s[j];
		char *name = df11_ct_stream_name(seg_stream(s), st->field);
		json_t *o = json_pack("{s:s, s:[I], s:[I, I]}", "dtype", "U8",
				      "shape", (json_int_t)st->len,
				      "data_offsets", (json_int_t)st->off,
				      (json_int_t)(st->off + st->len));
		int rc = -ENOMEM;

		if (st->off > data_len || st->len > data_len - st->off)
			rc = -EINVAL; /* the write callback lied */
		else if (name && o && json_object_get(outer, name))
			rc = -EINVAL; /* two streams of one name */
		else if (name && o && !json_object_set(outer, name, o))
			rc = 0;
		json_decref(o);
		free(name);
		if (rc)
			return rc;
	}
	return 0;
}

int df11_ctw_header(struct df11_ctw *w, uint64_t data_len, uint8_t **out,
		    size_t *len)
{
	json_t *outer = NULL;
	char *idx = NULL, *text = NULL;
	size_t tlen, n;
	int rc;

	*out = NULL;
	for (size_t i = 0; i < w->n_segs; i++)
		if (!w->segs[i].done)
			return -EINVAL;
	if (data_len > INT64_MAX)
		return -EOVERFLOW;
	rc = -ENOMEM;
	idx = index_text(w);
	outer = json_pack("{s:{s:s}}", "__metadata__", DF11_CT_META_KEY,
			  idx ? idx : "");
	if (!idx || !outer)
		goto out;
	for (size_t i = 0; i < w->n_segs; i++) {
		rc = add_streams(outer, &w->segs[i], data_len);
		if (rc)
			goto out;
	}
	rc = -ENOMEM;
	text = json_dumps(outer, JSON_COMPACT);
	if (!text)
		goto out;
	tlen = strlen(text);
	n = (tlen + 7) & ~(size_t)7; /* 8 + n is a multiple of 8 */
	rc = -ENOTSUP;
	if (n > DF11_CT_HEADER_MAX - 8) { /* FORMAT.md §6 */
		*len = 8 + n;
		goto out;
	}
	rc = -ENOMEM;
	*out = malloc(8 + n);
	if (!*out)
		goto out;
	df11_le_put64(*out, n);
	memcpy(*out + 8, text, tlen);
	memset(*out + 8 + tlen, ' ', n - tlen);
	*len = 8 + n;
	rc = 0;
out:
	free(text);
	json_decref(outer);
	free(idx);
	return rc;
}
