/* SPDX-License-Identifier: MIT */
/*
 * tests/gen/gen_shard.c - lay out and stream one safetensors shard
 *
 * A shard's tensors keep the plan's order in the header (after
 * "__metadata__": {"format": "pt"}, as the safetensors library writes it).
 * Their data goes in the same order, or with --shuffle in a seeded
 * permutation checked to put at least two non-empty tensors out of header
 * order, so data_offsets are not monotone in key order. With --gap, random
 * bytes covered by no tensor go before every third tensor in data order
 * (the first one included) and after the last.
 *
 * The header is compact JSON, padded with spaces to a multiple of 8 bytes
 * unless --no-pad, and is built before any data is made: offsets follow
 * from the sizes alone. Data is then made and written one buffer at a
 * time, so memory does not grow with the model.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/gen/gen_i.h"

#define MAX_LEAD_GAP  61u /* bytes before a tensor, 1..61 */
#define MAX_TRAIL_GAP 32u /* bytes after the last tensor, 1..32 */

/* Stream @t's elements through @buf. Return: 0 or -errno (printed). */
static int tensor_write(struct gen_file *f, const struct gen_tensor *t,
			uint8_t *buf, size_t buflen)
{
	/* an even count per call, as gen_fill() wants */
	size_t per = buflen / t->elem_size & ~(size_t)1;
	struct gen_rng rng;

	gen_rng_seed(&rng, t->seed);
	for (uint64_t first = 0; first < t->n_elems;) {
		uint64_t left = t->n_elems - first;
		size_t cnt = left < per ? (size_t)left : per;
		int err;

		gen_fill(t, &rng, first, cnt, buf);
		err = gen_file_write(f, buf, cnt * t->elem_size);
		if (err)
			return err;
		first += cnt;
	}
	return 0;
}

/* @len random bytes (a gap) through @buf. */
static int gap_write(struct gen_file *f, struct gen_rng *rng, uint64_t len,
		     uint8_t *buf)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(gen_rng_next(rng) >> 56);
	return len ? gen_file_write(f, buf, (size_t)len) : 0;
}

/*
 * Permute @idx (indices into m->t, ascending = header order) for
 * --shuffle; then, if the non-empty tensors still come in header order,
 * swap the first two of them.
 */
static void shuffle_order(const struct gen_model *m, size_t *idx, size_t n,
			  struct gen_rng *rng)
{
	size_t first = SIZE_MAX, second = SIZE_MAX, prev = 0;
	int sorted = 1;

	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)gen_rng_below(rng, i), tmp = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = tmp;
	}
	for (size_t k = 0; k < n; k++) {
		if (!m->t[idx[k]].nbytes)
			continue;
		if (first == SIZE_MAX)
			first = k;
		else if (second == SIZE_MAX)
			second = k;
		if (first != k && idx[k] < prev)
			sorted = 0;
		prev = idx[k];
	}
	if (sorted && second != SIZE_MAX) {
		size_t tmp = idx[first];

		idx[first] = idx[second];
		idx[second] = tmp;
	}
}

/*
 * Set begin/end of the tensors in data order @idx and choose the gaps:
 * @gaps[k] bytes before the k-th, @gaps[n] after the last.
 * Return: 0, or -EOVERFLOW.
 */
static int layout(struct gen_model *m, const size_t *idx, size_t n,
		  uint64_t *gaps, int gap, struct gen_rng *rng)
{
	uint64_t off = 0;

	for (size_t k = 0; k <= n; k++) {
		struct gen_tensor *t = k < n ? &m->t[idx[k]] : NULL;

		gaps[k] = 0;
		if (gap && (k == n || k % 3 == 0))
			gaps[k] = 1 + gen_rng_below(rng, t ? MAX_LEAD_GAP
							   : MAX_TRAIL_GAP);
		if (__builtin_add_overflow(off, gaps[k], &off))
			return -EOVERFLOW;
		if (!t)
			break;
		t->begin = off;
		if (__builtin_add_overflow(off, t->nbytes, &off))
			return -EOVERFLOW;
		t->end = off;
	}
	return 0;
}

/*
 * The compact JSON header of @shard in header order, with the length
 * prefix in front and spaces behind: 8 + N bytes in a malloc'ed buffer.
 * Return: the buffer and *@len, or NULL (out of memory).
 */
static uint8_t *header_bytes(const struct gen_model *m, unsigned shard, int pad,
			     size_t *len)
{
	json_t *root = json_pack("{s:{s:s}}", "__metadata__", "format", "pt");
	uint8_t *out = NULL;
	size_t n, padded;
	char *s;
	int bad = !root;

	for (size_t i = 0; i < m->n && !bad; i++) {
		const struct gen_tensor *t = &m->t[i];
		json_t *shape;

		if (t->shard != shard)
			continue;
		shape = json_array();
		for (unsigned d = 0; d < t->n_dims; d++)
			bad |= json_array_append_new(
			    shape, json_integer((json_int_t)t->shape[d]));
		bad |= json_object_set_new(
		    root, t->name,
		    json_pack("{s:s, s:o, s:[I, I]}", "dtype", t->dtype,
			      "shape", shape, "data_offsets",
			      (json_int_t)t->begin, (json_int_t)t->end));
	}
	s = bad ? NULL : json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!s)
		return NULL;
	n = strlen(s);
	padded = pad ? (n + 7) & ~(size_t)7 : n;
	out = malloc(8 + padded);
	if (out) {
		for (int b = 0; b < 8; b++)
			out[b] = (uint8_t)((uint64_t)padded >> (8 * b));
		memcpy(out + 8, s, n);
		memset(out + 8 + n, ' ', padded - n);
		*len = 8 + padded;
	}
	free(s);
	return out;
}

/* Write the header, then gaps and tensors in data order @idx. */
static int shard_stream(const struct gen_model *m, const struct gen_opts *o,
			unsigned shard, const size_t *idx, size_t n,
			const uint64_t *gaps, struct gen_rng *rng, uint8_t *buf,
			size_t buflen)
{
	char name[64];
	struct gen_file f;
	uint8_t *head;
	size_t head_len;
	int err;

	head = header_bytes(m, shard, o->pad, &head_len);
	if (!head)
		return -ENOMEM;
	gen_shard_name(name, sizeof(name), shard, o->shards);
	err = gen_file_open(&f, o->outdir, name);
	if (err)
		goto out;
	err = gen_file_write(&f, head, head_len);
	for (size_t k = 0; k <= n && !err; k++) {
		err = gap_write(&f, rng, gaps[k], buf);
		if (!err && k < n)
			err = tensor_write(&f, &m->t[idx[k]], buf, buflen);
	}
	if (err)
		gen_file_abort(&f);
	else
		err = gen_file_commit(&f);
out:
	free(head);
	return err;
}

int gen_write_shard(struct gen_model *m, const struct gen_opts *o,
		    unsigned shard, uint8_t *buf, size_t buflen)
{
	size_t n = 0, k = 0;
	size_t *idx = NULL;
	uint64_t *gaps = NULL;
	struct gen_rng rng;
	int err = -ENOMEM;

	if (buflen < MAX_LEAD_GAP || buflen % 8)
		return -EINVAL;
	gen_rng_seed(&rng, o->seed ^ 0x5348415244000000u ^ shard);
	for (size_t i = 0; i < m->n; i++)
		n += m->t[i].shard == shard;
	idx = calloc(n ? n : 1, sizeof(*idx));
	gaps = calloc(n + 1, sizeof(*gaps));
	if (!idx || !gaps)
		goto out;
	for (size_t i = 0; i < m->n; i++)
		if (m->t[i].shard == shard)
			idx[k++] = i;
	if (o->shuffle)
		shuffle_order(m, idx, n, &rng);
	err = layout(m, idx, n, gaps, o->gap, &rng);
	if (!err)
		err =
		    shard_stream(m, o, shard, idx, n, gaps, &rng, buf, buflen);
out:
	free(gaps);
	free(idx);
	return err;
}
