/* SPDX-License-Identifier: MIT */
/*
 * codec/df11_unit.c - DF11 units: validate the luts and output_positions
 * of a unit, build its fast decode table, and say which stream bytes a
 * weight range needs
 *
 * The reference semantics the tables are read with, and why the fast
 * table gives the reference walk bit for bit on any input, are at the top
 * of codec/df11_dec.c. Everything a decode trusts is checked here once,
 * when the unit is made: table rows and steps, code lengths, and an
 * output_positions index that starts at 0, never falls and ends at n.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "df11.h"
#include "codec_i.h"
#include "df11_i.h"
#include "unit_i.h"

/*
 * Resolve one symbol from the first @avail known bits of @w (MSB first).
 * Return 1 and (sym, len) if every completion of the unknown bits gives the
 * same reference result with len <= avail; 0 otherwise.
 */
static int sym_known(const struct df11_unit *u, const uint8_t (*run)[256],
		     uint32_t w, unsigned avail, unsigned *sym, unsigned *len)
{
	unsigned row = 0, d = 0;

	for (unsigned lvl = 0; lvl < 4; lvl++) {
		unsigned have = avail > 8 * lvl ? avail - 8 * lvl : 0;
		unsigned idx = (w >> (24 - 8 * lvl)) & 0xFF;
		if (have < 8) { /* all entries the unknown bits reach agree? */
			unsigned span = 1u << (8 - have);
			idx &= ~(span - 1);
			if (run[row][idx] < idx + span - 1)
				return 0;
		}
		d = u->luts[row][idx];
		if (d < 240 || lvl == 3)
			break;
		if (have <= 8)
			return 0;
		row = 256 - d;
		if (row > u->n_luts - 2)
			return 0;
	}
	if (!u->lens[d] || u->lens[d] > avail)
		return 0;
	*sym = d;
	*len = u->lens[d];
	return 1;
}

static void build_fast(struct df11_unit *u)
{
	uint8_t run[DF11_MAX_LUTS][256]; /* last index of each equal run */

	for (unsigned r = 0; r + 1 < u->n_luts; r++)
		for (int i = 255; i >= 0; i--)
			run[r][i] =
			    i < 255 && u->luts[r][i] == u->luts[r][i + 1]
				? run[r][i + 1]
				: (uint8_t)i;
	for (uint32_t v = 0; v < (1u << FAST_BITS); v++) {
		uint32_t w = v << (32 - FAST_BITS);
		unsigned used = 0, k = 0, s, l;
		uint64_t syms = 0;
		while (k < FAST_SYMS &&
		       sym_known(u, (const uint8_t(*)[256])run, w << used,
				 FAST_BITS - used, &s, &l)) {
			syms |= (uint64_t)s << (8 * k++);
			used += l;
		}
		/* symbols in bytes 0..5, their count in byte 6, bits in 7 */
		u->fast[v] =
		    k ? syms | (uint64_t)k << 48 | (uint64_t)used << 56 : 0;
	}
}

static int check_op(struct df11_unit *u, const uint8_t *op, size_t op_len,
		    char *err, size_t errlen)
{
	uint64_t nb = u->nb, have = op_len / 4;

	if (op_len % 4 || (have != nb && have != nb + 1)) {
		df11_err_set(err, errlen, "%s",
			     "output_positions has the wrong length");
		return -EBADMSG;
	}
	u->op = malloc((nb + 1) * sizeof(*u->op));
	if (!u->op)
		return -ENOMEM;
	for (uint64_t b = 0; b < have; b++)
		u->op[b] = df11_le_get32(op + 4 * b);
	if (have == nb) { /* the official short form: the last block is empty */
		if (u->op[nb - 1] != u->n) {
			df11_err_set(err, errlen, "%s",
				     "output_positions is one short");
			return -EBADMSG;
		}
		u->op[nb] = (uint32_t)u->n;
	}
	if (u->op[0] != 0 || u->op[nb] != u->n) {
		df11_err_set(err, errlen, "%s",
			     "output_positions must run from 0 to n");
		return -EBADMSG;
	}
	for (uint64_t b = 0; b < nb; b++) {
		uint32_t c = u->op[b + 1] - u->op[b];
		if (u->op[b + 1] < u->op[b] || c > DF11_BLOCK_BITS ||
		    (!c && u->op[b] != u->n)) {
			df11_err_set(err, errlen, "%s",
				     "output_positions out of order");
			return -EBADMSG;
		}
	}
	return 0;
}

int df11_unit_new(struct df11_unit **out, const uint8_t *luts, size_t luts_len,
		  const uint8_t *op, size_t op_len, uint64_t n_bytes,
		  uint64_t gaps_len, uint64_t n_elems, char *err, size_t errlen)
{
	struct df11_unit *u;
	int rc = -EBADMSG;

	*out = NULL;
	if (luts_len % 256 || luts_len / 256 < 2 ||
	    luts_len / 256 > DF11_MAX_LUTS) {
		df11_err_set(err, errlen, "%s",
			     "luts must have 2 to 18 rows of 256 bytes");
		return -EBADMSG;
	}
	if (!n_elems || n_elems > DF11_MAX_UNIT_ELEMS || !n_bytes ||
	    n_bytes > (uint64_t)DF11_MAX_CODE_LEN * n_elems / 8 + 4) {
		df11_err_set(err, errlen, "%s", "unit sizes out of range");
		return -EBADMSG;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->n = n_elems;
	u->n_bytes = n_bytes;
	u->nb = (n_bytes + DF11_BLOCK_BYTES - 1) / DF11_BLOCK_BYTES;
	u->n_luts = (unsigned)(luts_len / 256);
	if (gaps_len != DF11_GAPS_PER_BLOCK * u->nb) {
		df11_err_set(err, errlen, "%s", "gaps has the wrong length");
		goto fail;
	}
	if (!(u->luts = malloc(luts_len))) {
		rc = -ENOMEM;
		goto fail;
	}
	memcpy(u->luts, luts, luts_len);
	u->lens = u->luts[u->n_luts - 1];
	for (int s = 0; s < 256; s++)
		if (u->lens[s] > DF11_MAX_CODE_LEN) {
			df11_err_set(err, errlen, "%s",
				     "luts: code length over 32 bits");
			goto fail;
		}
	if ((rc = check_op(u, op, op_len, err, errlen)))
		goto fail;
	build_fast(u);
	*out = u;
	return 0;
fail:
	df11_unit_free(u);
	return rc;
}

void df11_unit_free(struct df11_unit *u)
{
	if (!u)
		return;
	free(u->op);
	free(u->luts);
	free(u);
}

size_t df11_unit_mem(const struct df11_unit *u)
{
	return sizeof(*u) + (size_t)u->n_luts * 256 +
	       (size_t)(u->nb + 1) * sizeof(*u->op);
}

uint64_t df11_unit_n_elems(const struct df11_unit *u)
{
	return u->n;
}

uint64_t df11_unit_n_blocks(const struct df11_unit *u)
{
	return u->nb;
}

uint64_t df11_unit_n_bytes(const struct df11_unit *u)
{
	return u->n_bytes;
}

uint64_t df11_unit_block_start(const struct df11_unit *u, uint64_t b)
{
	return b <= u->nb ? u->op[b] : u->n;
}

uint64_t df11_unit_block_of(const struct df11_unit *u, uint64_t i)
{
	uint64_t lo = 0, hi = u->nb; /* op[lo] <= i < op[hi] */

	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (u->op[mid] <= i)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

const uint8_t *df11_unit_luts(const struct df11_unit *u, unsigned *n_luts)
{
	*n_luts = u->n_luts;
	return u->luts[0];
}

int df11_unit_need(const struct df11_unit *u, uint64_t a, uint64_t b,
		   struct df11_need *need)
{
	if (a >= b || b > u->n)
		return -EINVAL;
	need->b0 = df11_unit_block_of(u, a);
	need->b1 = df11_unit_block_of(u, b - 1) + 1;
	need->enc_off = need->b0 * DF11_BLOCK_BYTES;
	need->enc_len = need->b1 * DF11_BLOCK_BYTES + 8;
	if (need->enc_len > u->n_bytes)
		need->enc_len = u->n_bytes;
	need->enc_len -= need->enc_off;
	need->gaps_off = need->b0 * DF11_GAPS_PER_BLOCK;
	need->gaps_len =
	    (need->b1 - need->b0) * DF11_GAPS_PER_BLOCK + (need->b1 < u->nb);
	need->sm_off = a;
	need->sm_len = b - a;
	return 0;
}
