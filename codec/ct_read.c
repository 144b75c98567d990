/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_read.c - open and validate df11 containers (docs/FORMAT.md)
 *
 * Opening a container trusts nothing and checks everything that is cheap
 * to check before any coded byte is read (FORMAT.md §4):
 *
 *   outer header   df11_st_parse(): length prefix, JSON, streams inside the
 *                  data region, no overlaps
 *   index          version first (another major is -ENOTSUP), then the
 *                  type of every field, the original header against its
 *                  checksum and df11_st_parse(), segment coverage of
 *                  [8 + N, size), each tensor segment against its tensor's
 *                  byte range, every stream's presence and exact size
 *   small streams  df11 tables and output_positions (df11_unit_new()),
 *                  loaded into memory; checksums and lz4 block offsets
 *                  stay in the file (only the lz4 index's first and last
 *                  entries are checked here) and are read per chunk
 *   limits         FORMAT.md §6, each checked before what it bounds: the
 *                  header length and stream count before the index is
 *                  parsed (ct_limit.c), segments before their table is
 *                  allocated, chunks and df11 tables while parsing them
 *
 * Untrusted counts are checked against the stream sizes the outer header
 * declares (which lie inside the file) before anything is allocated; a
 * sparse file can declare streams of any size in a few kilobytes, so
 * what is loaded is also bounded by the limits, whatever the file size;
 * every size computation is overflow-checked. What a reader still cannot
 * know at open time (the coded bytes themselves) is caught per chunk by
 * its XXH3-64 checksum in ct_chunk.c.
 *
 * A segment names a tensor when its stream is the name of a non-empty
 * original tensor with exactly the segment's byte range, and is a gap when
 * its stream is "df11.gap.<off>"; every non-empty tensor must have its own
 * segment, so gaps hold no tensor bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include "hash_i.h"

#include "base64.h"
#include "ct_i.h"

#define ANY UINT64_MAX /* find_stream(): any size */

/* the state of one df11_ct_open() call */
struct ct_open {
	struct df11_ct *ct;
	struct df11_st *outer;
	uint64_t data0; /* the container's data region starts here */
	df11_read_fn rd;
	void *ctx;
	char *err;
	size_t errlen;
};

int df11_ct_is_container(const struct df11_st *st)
{
	return df11_st_meta(st, DF11_CT_META_KEY, NULL) != NULL;
}

/* the outer safetensors header */
static int read_outer(struct ct_open *o, uint64_t file_size)
{
	uint8_t *hdr;
	size_t len;
	int rc;

	rc = df11_st_read_header(o->rd, o->ctx, file_size, &hdr, &len, o->err,
				 o->errlen);
	if (rc)
		return rc;
	rc = df11_st_parse(&o->outer, hdr + 8, len - 8, file_size - len, o->err,
			   o->errlen);
	free(hdr);
	o->data0 = len;
	return rc;
}

/* a non-negative JSON integer */
static int get_u64(const json_t *obj, const char *key, uint64_t *v)
{
	const json_t *j = json_object_get(obj, key);

	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -EBADMSG;
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

/* "MAJOR.MINOR", each 1-9 digits */
static int parse_version(const char *v, unsigned long *major)
{
	size_t a = strspn(v, "0123456789"), b;

	if (a < 1 || a > 9 || v[a] != '.')
		return -EBADMSG;
	b = strspn(v + a + 1, "0123456789");
	if (b < 1 || b > 9 || v[a + 1 + b])
		return -EBADMSG;
	*major = strtoul(v, NULL, 10);
	return 0;
}

static int check_version(struct ct_open *o, const json_t *root)
{
	const char *v =
	    json_string_value(json_object_get(root, DF11_CT_K_VERSION));
	unsigned long major;

	if (!v || parse_version(v, &major)) {
		df11_err_set(o->err, o->errlen, "bad df11 index: bad version");
		return -EBADMSG;
	}
	if (major != DF11_CT_VERSION_MAJOR) {
		df11_err_set(o->err, o->errlen,
			     "unsupported df11 format version %s (this "
			     "reader knows %d.x)",
			     v, DF11_CT_VERSION_MAJOR);
		return -ENOTSUP;
	}
	return 0;
}

/* exactly 16 lowercase hex digits */
static int parse_hex64(const char *s, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 16; i++) {
		int c = s[i];

		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v = *v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -EBADMSG;
	}
	return s[16] ? -EBADMSG : 0;
}

/*
 * the original header: base64, checksum, then parsed. The base64 text
 * leaves the index tree once decoded, and the parsed header keeps no
 * metadata tree (the header bytes have it): what a parse holds at once,
 * and what the container keeps, stay near the header's own size.
 */
static int load_header(struct ct_open *o, json_t *root)
{
	struct df11_ct *ct = o->ct;
	const json_t *h = json_object_get(root, DF11_CT_K_HEADER);
	const char *hx =
	    json_string_value(json_object_get(root, DF11_CT_K_HEADER_XXH3));
	size_t blen = json_string_length(h);
	uint64_t want, n;
	char sub[200];
	int rc;

	if (get_u64(root, DF11_CT_K_SIZE, &ct->size) || !json_is_string(h) ||
	    !hx || parse_hex64(hx, &want))
		goto bad;
	/* at most 8 + DF11_ST_MAX_HEADER bytes: check before allocating */
	if (blen / 4 * 3 > 8 + (size_t)DF11_ST_MAX_HEADER + 2)
		goto bad;
	ct->hdr = malloc(blen / 4 * 3 + 1);
	if (!ct->hdr)
		return -ENOMEM;
	if (df11_b64_decode(json_string_value(h), blen, ct->hdr, &ct->hdr_len))
		goto bad;
	json_object_del(root, DF11_CT_K_HEADER); /* frees @h's text */
	if (df11_xxh3(ct->hdr, ct->hdr_len) != want) {
		df11_err_set(o->err, o->errlen,
			     "bad df11 index: header checksum mismatch");
		return -EBADMSG;
	}
	if (df11_st_header_frame(ct->hdr, ct->hdr_len, ct->size, &n))
		goto bad;
	rc = df11_st_parse(&ct->orig, ct->hdr + 8, n, ct->size - 8 - n, sub,
			   sizeof(sub));
	if (rc) {
		df11_err_set(o->err, o->errlen, "original header: %s", sub);
		return rc;
	}
	df11_st_drop_meta(ct->orig);
	if (df11_st_n_tensors(ct->orig) > DF11_CT_TENSORS_MAX) {
		df11_err_set(o->err, o->errlen,
			     "%zu tensors: more than the limit of %u for one "
			     "df11 container",
			     df11_st_n_tensors(ct->orig), DF11_CT_TENSORS_MAX);
		rc = -EBADMSG;
	}
	return rc;
bad:
	df11_err_set(o->err, o->errlen,
		     "bad df11 index: bad size, header or header_xxh3");
	return -EBADMSG;
}

/*
 * Stream "<s->stream>.<field>": a U8 vector of @want bytes (ANY: any);
 * its file offset and length go to @off and @len.
 */
static int find_stream(struct ct_open *o, struct ct_seg *s, const char *field,
		       uint64_t want, uint64_t *off, uint64_t *len)
{
	char *name = df11_ct_stream_name(s->stream, field);
	const struct df11_st_tensor *t;
	int rc = -EBADMSG;

	if (!name)
		return -ENOMEM;
	t = df11_st_find(o->outer, name);
	if (!t)
		df11_err_set(o->err, o->errlen,
			     "segment '%s': stream '%s' missing", s->stream,
			     name);
	else if (t->dtype != DF11_DT_U8 || t->n_dims != 1)
		df11_err_set(o->err, o->errlen,
			     "segment '%s': stream '%s' is not a U8 vector",
			     s->stream, name);
	else if (want != ANY && t->end - t->begin != want)
		df11_err_set(o->err, o->errlen,
			     "segment '%s': stream '%s' has %" PRIu64
			     " bytes, expected %" PRIu64,
			     s->stream, name, t->end - t->begin, want);
	else
		rc = 0;
	if (!rc) {
		*off = o->data0 + t->begin;
		*len = t->end - t->begin;
		s->pub.stored += *len;
	}
	free(name);
	return rc;
}

/* a small stream into a new buffer */
static int load(struct ct_open *o, uint64_t off, uint64_t len, uint8_t **buf)
{
	int rc;

	if (len > SIZE_MAX)
		return -EOVERFLOW;
	*buf = malloc(len ? len : 1);
	if (!*buf)
		return -ENOMEM;
	rc = len ? o->rd(o->ctx, *buf, len, off) : 0;
	if (rc)
		df11_err_set(o->err, o->errlen,
			     "cannot read the container at offset %" PRIu64,
			     off);
	return rc;
}

/*
 * The lz4 block offsets run from 0 to the stream's end: the first and the
 * last are checked here, every block's when its chunk is read (ct_chunk.c:
 * the index is never loaded). The stream must also hold a byte per block.
 */
static int check_lz4_index(struct ct_open *o, struct ct_seg *s)
{
	uint64_t n = s->pub.n_chunks;
	uint8_t first[8], last[8];
	int rc;

	if (s->data_len < n)
		goto bad;
	if ((rc = o->rd(o->ctx, first, 8, s->idx_off)) ||
	    (rc = o->rd(o->ctx, last, 8, s->idx_off + 8 * n))) {
		df11_err_set(o->err, o->errlen,
			     "cannot read the container at offset %" PRIu64,
			     s->idx_off);
		return rc;
	}
	if (df11_le_get64(first) == 0 && df11_le_get64(last) == s->data_len)
		return 0;
bad:
	df11_err_set(o->err, o->errlen, "segment '%s': bad lz4 index",
		     s->stream);
	return -EBADMSG;
}

/* raw and lz4: fixed-size chunks */
static int seg_chunked(struct ct_open *o, struct ct_seg *s, const json_t *js)
{
	uint64_t c, n, len;
	int rc;

	if (get_u64(js, DF11_CT_K_CHUNK, &c) || c < DF11_CT_CHUNK_MIN ||
	    c > DF11_CT_CHUNK_MAX) {
		df11_err_set(o->err, o->errlen,
			     "segment '%s': bad chunk size (%u to %u bytes)",
			     s->stream, DF11_CT_CHUNK_MIN, DF11_CT_CHUNK_MAX);
		return -EBADMSG;
	}
	s->param = c;
	s->pub.n_chunks = n = df11_div_up(s->pub.len, c);
	if (s->pub.codec == DF11_CODEC_RAW) {
		rc = find_stream(o, s, DF11_CT_F_RAW, s->pub.len, &s->data_off,
				 &s->data_len);
	} else {
		rc = find_stream(o, s, DF11_CT_F_LZ4, ANY, &s->data_off,
				 &s->data_len);
		if (!rc)
			rc = find_stream(o, s, DF11_CT_F_LZ4_INDEX, 8 * (n + 1),
					 &s->idx_off, &len);
		if (!rc)
			rc = check_lz4_index(o, s);
	}
	return rc ? rc
		  : find_stream(o, s, DF11_CT_F_XXH3, 8 * n, &s->xxh3_off,
				&len);
}

/* df11: luts and output_positions into a df11_unit */
static int seg_unit(struct ct_open *o, struct ct_seg *s, uint64_t luts_off,
		    uint64_t luts_len, uint64_t op_off, uint64_t op_len)
{
	uint64_t n = s->pub.len / 2;
	uint8_t *luts = NULL, *op = NULL;
	char sub[200];
	int rc;

	if (luts_len > DF11_MAX_LUTS * 256)
		goto bad;
	/* what df11_unit_new() keeps: about the bytes it is given */
	if (luts_len + op_len > DF11_CT_TABLES_MAX - o->ct->tables) {
		df11_err_set(o->err, o->errlen,
			     "segment '%s': df11 tables over the limit of %u "
			     "bytes for one container",
			     s->stream, DF11_CT_TABLES_MAX);
		return -EBADMSG;
	}
	o->ct->tables += luts_len + op_len;
	if ((rc = load(o, luts_off, luts_len, &luts)) ||
	    (rc = load(o, op_off, op_len, &op)))
		goto out;
	rc = df11_unit_new(&s->unit, luts, luts_len, op, op_len, s->data_len,
			   320 * df11_div_up(s->data_len, DF11_BLOCK_BYTES), n,
			   sub, sizeof(sub));
	if (rc == -EBADMSG)
		df11_err_set(o->err, o->errlen, "segment '%s': %s", s->stream,
			     sub);
	if (rc)
		goto out;
	if (df11_unit_block_start(s->unit, 0) != 0 ||
	    df11_unit_block_start(s->unit, df11_unit_n_blocks(s->unit)) != n)
		goto bad;
	goto out;
bad:
	rc = -EBADMSG;
	df11_err_set(o->err, o->errlen, "segment '%s': bad df11 tables",
		     s->stream);
out:
	free(op);
	free(luts);
	return rc;
}

/* df11: one unit, chunks of G blocks */
static int seg_df11(struct ct_open *o, struct ct_seg *s, const json_t *js)
{
	uint64_t g, n = s->pub.len / 2, nb, gl, luts_off, luts_len, op_off,
		    op_len, len;
	int rc;

	if (get_u64(js, DF11_CT_K_BPC, &g) || g < DF11_CT_BPC_MIN ||
	    g > DF11_CT_BPC_MAX || s->pub.len % 2 || n > DF11_MAX_UNIT_ELEMS) {
		df11_err_set(o->err, o->errlen,
			     "segment '%s': bad df11 parameters", s->stream);
		return -EBADMSG;
	}
	s->param = g;
	rc = find_stream(o, s, DF11_CT_F_ENC, ANY, &s->data_off, &s->data_len);
	if (rc)
		return rc;
	nb = df11_div_up(s->data_len, DF11_BLOCK_BYTES);
	/* codes are at most 32 bits: 4 bytes a weight, then one block */
	if (nb == 0 || s->data_len > 4 * n + DF11_BLOCK_BYTES ||
	    __builtin_mul_overflow(nb, DF11_GAPS_PER_BLOCK, &gl)) {
		df11_err_set(o->err, o->errlen,
			     "segment '%s': bad encoded_exponent", s->stream);
		return -EBADMSG;
	}
	s->pub.n_chunks = df11_div_up(nb, g);
	if ((rc = find_stream(o, s, DF11_CT_F_GAPS, gl, &s->gaps_off, &len)) ||
	    (rc = find_stream(o, s, DF11_CT_F_SM, n, &s->sm_off, &len)) ||
	    (rc = find_stream(o, s, DF11_CT_F_LUTS, ANY, &luts_off,
			      &luts_len)) ||
	    (rc = find_stream(o, s, DF11_CT_F_OP, ANY, &op_off, &op_len)))
		return rc;
	if (op_len != 4 * nb && op_len != 4 * (nb + 1)) {
		df11_err_set(o->err, o->errlen,
			     "segment '%s': output_positions has %" PRIu64
			     " bytes for %" PRIu64 " blocks",
			     s->stream, op_len, nb);
		return -EBADMSG;
	}
	if ((rc = find_stream(o, s, DF11_CT_F_XXH3, 8 * s->pub.n_chunks,
			      &s->xxh3_off, &len)))
		return rc;
	return seg_unit(o, s, luts_off, luts_len, op_off, op_len);
}

/* a tensor segment (stream = name, same byte range) or a gap */
static int seg_name(struct ct_open *o, struct ct_seg *s, size_t i,
		    const json_t *js)
{
	const struct df11_ct *ct = o->ct;
	const char *name =
	    json_string_value(json_object_get(js, DF11_CT_K_STREAM));
	const struct df11_st_tensor *t;
	char gap[DF11_CT_GAP_NAME_MAX];

	if (!name) {
		df11_err_set(o->err, o->errlen,
			     "bad df11 index: segment %zu: bad stream", i);
		return -EBADMSG;
	}
	t = df11_st_find(ct->orig, name);
	df11_ct_gap_name(gap, s->pub.off);
	if (t && t->end > t->begin && ct->hdr_len + t->begin == s->pub.off &&
	    t->end - t->begin == s->pub.len) {
		s->pub.name = t->name;
		s->pub.tensor = t;
	} else if (strcmp(name, gap)) {
		df11_err_set(o->err, o->errlen,
			     "bad df11 index: segment %zu: '%s' is neither "
			     "a tensor of its byte range nor its gap",
			     i, name);
		return -EBADMSG;
	}
	s->stream = strdup(name);
	return s->stream ? 0 : -ENOMEM;
}

/* segment @i, which must start at @off */
static int parse_seg(struct ct_open *o, struct ct_seg *s, size_t i,
		     const json_t *js, uint64_t off)
{
	const char *codec =
	    json_string_value(json_object_get(js, DF11_CT_K_CODEC));
	int rc;

	if (!json_is_object(js) || get_u64(js, DF11_CT_K_OFF, &s->pub.off) ||
	    get_u64(js, DF11_CT_K_LEN, &s->pub.len) || !codec) {
		df11_err_set(o->err, o->errlen,
			     "bad df11 index: segment %zu: bad fields", i);
		return -EBADMSG;
	}
	if (s->pub.off != off || s->pub.len == 0 ||
	    s->pub.len > o->ct->size - off) {
		df11_err_set(o->err, o->errlen,
			     "bad df11 index: segment %zu: [%" PRIu64
			     ", +%" PRIu64 ") does not continue at %" PRIu64,
			     i, s->pub.off, s->pub.len, off);
		return -EBADMSG;
	}
	rc = seg_name(o, s, i, js);
	if (rc)
		return rc;
	if (!strcmp(codec, "raw")) {
		s->pub.codec = DF11_CODEC_RAW;
		return seg_chunked(o, s, js);
	}
	if (!strcmp(codec, "lz4")) {
		s->pub.codec = DF11_CODEC_LZ4;
		return seg_chunked(o, s, js);
	}
	if (!strcmp(codec, "df11")) {
		s->pub.codec = DF11_CODEC_DF11;
		return seg_df11(o, s, js);
	}
	df11_err_set(o->err, o->errlen,
		     "bad df11 index: segment %zu: unknown codec", i);
	return -EBADMSG;
}

/* every segment, in order, covering [8 + N, size) exactly */
static int parse_segments(struct ct_open *o, const json_t *root)
{
	struct df11_ct *ct = o->ct;
	const json_t *arr = json_object_get(root, DF11_CT_K_SEGMENTS);
	uint64_t off = ct->hdr_len;
	size_t n = json_array_size(arr), n_tensors = 0, n_named = 0;
	int rc;

	if (!json_is_array(arr))
		goto bad;
	if (n > DF11_CT_SEGMENTS_MAX) {
		df11_err_set(o->err, o->errlen,
			     "df11 container of %zu segments: more than the "
			     "limit of %u",
			     n, DF11_CT_SEGMENTS_MAX);
		return -EBADMSG;
	}
	ct->segs = calloc(n ? n : 1, sizeof(*ct->segs));
	if (!ct->segs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct ct_seg *s = &ct->segs[i];

		ct->n_segs = i + 1;
		rc = parse_seg(o, s, i, json_array_get(arr, i), off);
		if (rc)
			return rc;
		if (s->pub.n_chunks > DF11_CT_CHUNKS_MAX - ct->n_chunks) {
			df11_err_set(o->err, o->errlen,
				     "df11 container of more than %u chunks "
				     "(segment '%s' has %" PRIu64 ")",
				     DF11_CT_CHUNKS_MAX, s->stream,
				     s->pub.n_chunks);
			return -EBADMSG;
		}
		if (df11_ct_seg_max_chunk(s, &ct->max_chunk)) {
			df11_err_set(o->err, o->errlen,
				     "segment '%s': a chunk runs backwards or "
				     "decodes to more than %u bytes",
				     s->stream, DF11_CT_CHUNK_MAX);
			return -EBADMSG;
		}
		off += s->pub.len;
		n_named += s->pub.tensor != NULL;
		s->pub.chunk0 = ct->n_chunks;
		ct->n_chunks += s->pub.n_chunks; /* <= DF11_CT_CHUNKS_MAX */
	}
	for (size_t i = 0; i < df11_st_n_tensors(ct->orig); i++) {
		const struct df11_st_tensor *t = df11_st_tensor(ct->orig, i);

		n_tensors += t->end > t->begin;
	}
	if (off != ct->size || n_named != n_tensors)
		goto bad;
	return 0;
bad:
	df11_err_set(o->err, o->errlen,
		     "bad df11 index: segments do not cover the file");
	return -EBADMSG;
}

int df11_ct_open(struct df11_ct **out, df11_read_fn rd, void *ctx,
		 uint64_t file_size, char *err, size_t errlen)
{
	struct ct_open o = {.rd = rd, .ctx = ctx, .err = err, .errlen = errlen};
	json_t *root = NULL;
	json_error_t jerr;
	const char *idx;
	size_t ilen;
	int rc;

	*out = NULL;
	o.ct = calloc(1, sizeof(*o.ct));
	if (!o.ct)
		return -ENOMEM;
	o.ct->stored = file_size;
	rc = df11_ct_check_frame(rd, ctx, file_size, err, errlen);
	if (!rc)
		rc = read_outer(&o, file_size);
	if (rc)
		goto fail;
	rc = -ENOMSG; /* not "unsupported": a plain file, not a container */
	idx = df11_st_meta(o.outer, DF11_CT_META_KEY, &ilen);
	if (!idx) {
		df11_err_set(err, errlen, "not a df11 container");
		goto fail;
	}
	if ((rc = df11_ct_check_outer(o.outer, o.data0, err, errlen)))
		goto fail;
	rc = -EBADMSG;
	root = json_loadb(idx, ilen, JSON_REJECT_DUPLICATES, &jerr);
	df11_st_drop_meta(o.outer); /* @idx with it: the tree has a copy */
	if (!json_is_object(root)) {
		df11_err_set(err, errlen, "bad df11 index: %s",
			     root ? "not an object" : jerr.text);
		goto fail;
	}
	if ((rc = check_version(&o, root)) || (rc = load_header(&o, root)) ||
	    (rc = parse_segments(&o, root)))
		goto fail;
	json_decref(root);
	df11_st_free(o.outer);
	*out = o.ct;
	return 0;
fail:
	json_decref(root);
	df11_st_free(o.outer);
	df11_ct_free(o.ct);
	return rc;
}

void df11_ct_free(struct df11_ct *ct)
{
	if (!ct)
		return;
	for (size_t i = 0; i < ct->n_segs; i++) {
		struct ct_seg *s = &ct->segs[i];

		df11_unit_free(s->unit);
		free(s->stream);
	}
	free(ct->segs);
	df11_st_free(ct->orig);
	free(ct->hdr);
	free(ct);
}
