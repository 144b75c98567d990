/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/units.h - DF11 units for tests and benchmarks
 *
 * One way for every test and benchmark to get a unit: weights encoded with
 * the library into streams the fixture owns (unit_encode / unit_free), and
 * the worked example of the official format spec (§3.7), whose tables are
 * made by hand (unit_example).
 */
#ifndef DF11_UNITS_H
#define DF11_UNITS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/df11.h"

struct unit {
	struct df11_code code;
	struct df11_sizes sz;
	uint8_t *luts, *enc, *sm, *op, *gaps;
	struct df11_unit *u;
	const uint8_t *w; /* the weights it was encoded from (borrowed) */
};

static inline void unit_free(struct unit *x)
{
	df11_unit_free(x->u);
	free(x->luts);
	free(x->enc);
	free(x->sm);
	free(x->op);
	free(x->gaps);
}

/* encode @n BF16 weights @w into @x; 0 or -errno (free @x either way) */
static inline int unit_encode(struct unit *x, const uint8_t *w, size_t n)
{
	uint64_t hist[256] = {0};
	int rc;

	memset(x, 0, sizeof(*x));
	x->w = w;
	df11_hist(w, n, hist);
	if ((rc = df11_code_build(&x->code, hist)) ||
	    (rc = df11_code_sizes(&x->code, hist, &x->sz)))
		return rc;
	x->luts = malloc(x->sz.luts);
	x->enc = malloc(x->sz.enc);
	x->sm = malloc(x->sz.sm);
	x->op = malloc(x->sz.op);
	x->gaps = malloc(x->sz.gaps);
	if (!x->luts || !x->enc || !x->sm || !x->op || !x->gaps)
		return -ENOMEM;
	struct df11_enc_out o = {x->luts, x->enc, x->sm, x->op, x->gaps};
	if ((rc = df11_encode(&x->code, w, n, &o)))
		return rc;
	return df11_unit_new(&x->u, x->luts, x->sz.luts, x->op, x->sz.op,
			     x->sz.enc, x->sz.gaps, n, NULL, 0);
}

/* the spec's worked example: 5 weights, one block, 3 table rows */
struct example {
	uint8_t luts[3][256], enc[3], gaps[320], op[8], sm[5];
	uint8_t exps[5]; /* the exponents it decodes to */
};

static inline void unit_example(struct example *x)
{
	static const struct {
		int lo, hi, v;
	} r0[] = {{0, 63, 121},	   {64, 95, 120},   {96, 96, 255},
		  {97, 97, 117},   {98, 99, 125},   {100, 103, 118},
		  {104, 111, 119}, {112, 127, 124}, {128, 191, 123},
		  {192, 255, 122}},
	  r1[] = {{0, 39, 114},
		  {40, 47, 110},
		  {48, 63, 127},
		  {64, 127, 126},
		  {128, 255, 116}};
	static const int lens[][2] = {{110, 13}, {114, 11}, {116, 9}, {117, 8},
				      {118, 6},	 {119, 5},  {120, 3}, {121, 2},
				      {122, 2},	 {123, 2},  {124, 4}, {125, 7},
				      {126, 10}, {127, 12}};
	static const struct example base = {
	    .enc = {0xC9, 0x80, 0xA9},
	    .op = {0, 0, 0, 0, 5, 0, 0, 0},
	    .sm = {0x00, 0x85, 0x7F, 0x80, 0x01},
	    .exps = {122, 121, 123, 110, 120}};

	*x = base;
	for (unsigned i = 0; i < sizeof(r0) / sizeof(r0[0]); i++)
		for (int k = r0[i].lo; k <= r0[i].hi; k++)
			x->luts[0][k] = (uint8_t)r0[i].v;
	for (unsigned i = 0; i < sizeof(r1) / sizeof(r1[0]); i++)
		for (int k = r1[i].lo; k <= r1[i].hi; k++)
			x->luts[1][k] = (uint8_t)r1[i].v;
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		x->luts[2][lens[i][0]] = (uint8_t)lens[i][1];
}

#endif
