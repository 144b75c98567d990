/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_container.c - libFuzzer target for the container reader
 *
 * The input is a whole container file, read through a callback over the
 * input buffer; a read outside it is a reader bug and aborts. Whatever
 * df11_ct_open() accepts is checked against the promises of
 * codec/container.h: chunk ranges tile [8 + N, size) in id order,
 * df11_ct_chunk_find() agrees with them, no chunk exceeds
 * df11_ct_max_chunk(), and every chunk read either succeeds (its checksum
 * matched) or fails with -EBADMSG and a one-line message. Each chunk is
 * decoded into a heap buffer of exactly its size so that AddressSanitizer
 * catches any write past it.
 *
 * A plain safetensors input (not a container) takes the writer's side:
 * its container is written, reopened and read back, and must give back
 * the input byte for byte. Seeds: tests/fuzz/corpus/fuzz_container/,
 * written by `build/tests/test_container DIR`.
 *
 * An input that starts with "HOLE", a uint64 LE size S and a uint64 LE
 * length T is a sparse file of S bytes (at most 2^44): the rest of the
 * input is its first bytes but for the last T, which are its last T bytes;
 * zeros in between (seeds: `build/tests/mkhostile -f`, hole-heavy and
 * huge-stream containers; tests/fuzz/seeds.sh writes the larger ones at
 * test time). However large the file says it is, opening it
 * must read no more than its header twice (scan and parse) plus the df11
 * tables' limit and 16 bytes a segment, and allocate accordingly.
 */
#include "codec/container.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/ct_i.h"
#include "tests/fuzz/fuzz_i.h"

/*
 * A sparse file of @size bytes: @p (@len bytes) at its start, @t (@tlen
 * bytes) at its end, zeros between; @nread counts the bytes read.
 */
struct hole {
	const uint8_t *p, *t;
	size_t len, tlen;
	uint64_t size, nread;
};

static int hole_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct hole *h = ctx;
	uint8_t *b = buf;

	CHECK(off <= h->size && len <= h->size - off);
	h->nread += len;
	for (size_t i = 0; i < len; i++) {
		uint64_t at = off + i;

		if (at < h->len)
			b[i] = h->p[at];
		else if (at >= h->size - h->tlen)
			b[i] = h->t[at - (h->size - h->tlen)];
		else
			b[i] = 0;
	}
	return 0;
}

/* decoded bytes per input, so that claimed huge chunks stay cheap */
#define BUDGET (64u << 20)

static int one_line(const char *err)
{
	return err[0] && !strchr(err, '\n');
}

/* check_layout() - chunk ranges and chunk_find() against each other */
static void check_layout(const struct df11_ct *ct)
{
	uint64_t n = df11_ct_n_chunks(ct), pos, id, off, len;
	size_t hl, seg, last = 0;

	df11_ct_header(ct, &hl);
	pos = hl;
	CHECK(hl >= 8 && hl <= df11_ct_size(ct));
	for (uint64_t i = 0; i < n; i++) {
		df11_ct_chunk_range(ct, i, &off, &len, &seg);
		CHECK(off == pos && len <= df11_ct_max_chunk(ct));
		CHECK(seg >= last && seg < df11_ct_n_segments(ct));
		last = seg;
		if (len && i < 4096) {
			CHECK(df11_ct_chunk_find(ct, off, &id) == 0 && id == i);
			CHECK(df11_ct_chunk_find(ct, off + len - 1, &id) == 0 &&
			      id == i);
		}
		pos += len;
	}
	CHECK(pos == df11_ct_size(ct));
	CHECK(df11_ct_chunk_find(ct, df11_ct_size(ct), &id) == -EINVAL);
}

/* read_chunks() - every chunk, within the budget */
static void read_chunks(const struct df11_ct *ct, struct hole *m)
{
	struct df11_scratch *sc;
	uint64_t spent = 0, off, len;
	char err[256];

	CHECK(df11_scratch_new(&sc) == 0);
	for (uint64_t id = 0; id < df11_ct_n_chunks(ct); id++) {
		uint8_t *out;
		int rc;

		df11_ct_chunk_range(ct, id, &off, &len, NULL);
		if (len > BUDGET - spent)
			continue;
		spent += len;
		out = malloc(len ? len : 1);
		CHECK(out);
		err[0] = '\0';
		rc = df11_ct_chunk_read(ct, id, hole_read, m, sc, out, err,
					sizeof(err));
		CHECK(rc == 0 || (rc == -EBADMSG && one_line(err)));
		free(out);
	}
	df11_scratch_free(sc);
}

struct sink {
	uint8_t *p;
	size_t len, cap;
};

static int sink_write(void *ctx, const void *buf, size_t len, uint64_t *off)
{
	struct sink *k = ctx;

	if (k->len + len > k->cap) {
		size_t cap = (k->len + len) * 2;
		uint8_t *p = realloc(k->p, cap);

		if (!p)
			return -ENOMEM;
		k->p = p;
		k->cap = cap;
	}
	memcpy(k->p + k->len, buf, len);
	*off = k->len;
	k->len += len;
	return 0;
}

/*
 * roundtrip() - a plain safetensors input: write its container, reopen
 * it and read every chunk; each must give back the input's bytes.
 */
static void roundtrip(const uint8_t *data, size_t size)
{
	const struct df11_ctw_opts opts = {4096, 1};
	struct sink k = {0};
	struct df11_ctw *w;
	struct df11_ct *ct;
	struct df11_scratch *sc;
	struct mem m;
	uint8_t *h, *out;
	uint64_t n = 0, off, len;
	size_t hl;

	for (int i = 7; i >= 0 && size >= 8; i--)
		n = n << 8 | data[i];
	if (size < 8 || n > size - 8 ||
	    df11_ctw_new(&w, data, 8 + n, size, &opts, NULL, 0))
		return;
	for (size_t i = 0; i < df11_ctw_n_segments(w); i++) {
		df11_ctw_segment(w, i, &off, &len, NULL);
		CHECK(df11_ctw_encode(w, i, data + off, sink_write, &k) == 0);
	}
	CHECK(df11_ctw_header(w, k.len, &h, &hl) == 0);
	df11_ctw_free(w);
	CHECK(sink_write(&k, h, hl, &off) == 0); /* header last, then moved */
	memmove(k.p + hl, k.p, k.len - hl);
	memcpy(k.p, h, hl);
	free(h);
	m = (struct mem){k.p, k.len};
	CHECK(df11_ct_open(&ct, mem_read, &m, m.len, NULL, 0) == 0);
	CHECK(df11_ct_size(ct) == size);
	check_layout(ct);
	CHECK(df11_scratch_new(&sc) == 0);
	for (uint64_t id = 0; id < df11_ct_n_chunks(ct); id++) {
		df11_ct_chunk_range(ct, id, &off, &len, NULL);
		out = malloc(len ? len : 1);
		CHECK(out);
		CHECK(df11_ct_chunk_read(ct, id, mem_read, &m, sc, out, NULL,
					 0) == 0);
		CHECK(memcmp(out, data + off, len) == 0);
		free(out);
	}
	df11_scratch_free(sc);
	df11_ct_free(ct);
	free(k.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hole m = {data, NULL, size, 0, size, 0};
	struct df11_ct *ct = (struct df11_ct *)&m; /* must become NULL */
	char err[256] = "";
	int rc, sparse = size >= 20 && !memcmp(data, "HOLE", 4);
	size_t hlen;

	if (sparse) {
		uint64_t s = 0, t = 0;

		for (int i = 11; i >= 4; i--)
			s = s << 8 | data[i];
		for (int i = 19; i >= 12; i--)
			t = t << 8 | data[i];
		t = t < size - 20 ? t : size - 20;
		m.tlen = (size_t)t;
		m.len = size - 20 - m.tlen;
		m.p = data + 20;
		m.t = data + 20 + m.len;
		m.size = s & ((1ull << 44) - 1);
		if (m.size < m.len + m.tlen)
			m.size = m.len + m.tlen;
	}
	rc = df11_ct_open(&ct, hole_read, &m, m.size, err, sizeof(err));
	/*
	 * Bounded by the header (read twice at most: scan and parse; it may
	 * lie in the hole, but never past DF11_ST_MAX_HEADER) and the limits,
	 * never by the sizes the streams claim.
	 */
	CHECK(m.nread <= 2 * (16ull + DF11_ST_MAX_HEADER) + DF11_CT_TABLES_MAX +
			     16ull * DF11_CT_SEGMENTS_MAX);
	if (rc == -ENOMSG && !strcmp(err, "not a df11 container") && !sparse)
		roundtrip(data, size);
	if (rc) {
		CHECK(ct == NULL);
		CHECK(rc == -EBADMSG || rc == -ENOTSUP || rc == -ENOMSG ||
		      rc == -EOVERFLOW || rc == -ENOMEM);
		CHECK(rc == -ENOMEM || one_line(err));
		return 0;
	}
	/* the resident index holds the original header, and no more than
	 * the limits allow (docs/FORMAT.md §6: about 600 MiB) */
	df11_ct_header(ct, &hlen);
	CHECK(df11_ct_mem(ct) > hlen && df11_ct_mem(ct) < (640u << 20));
	check_layout(ct);
	read_chunks(ct, &m);
	df11_ct_free(ct);
	return 0;
}
