/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/codec.c - DF11 unit codec throughput next to memcpy
 *
 * Generates weights drawn like trained LLM weights (zero mean, std
 * 0.005-0.05 per tensor, every third tensor Student-t(3)), then times, in
 * the same run: memcpy of the BF16 bytes, encoding (histogram + code +
 * encode, one thread), decoding with one thread and with all threads. Best
 * of several repetitions. Also prints bits/weight next to the entropy
 * floor 8 + H(exponent).
 *
 *   bench_codec [MiB of BF16 (default 256)] [threads (default: online CPUs)]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/df11.h"
#include "tests/unit/decode_mt.h"
#include "tests/unit/weights.h"

#define TENSORS 16
#define REPS	5

static void fill(uint8_t *w, size_t n, int t, uint64_t *s)
{
	double sd = 0.005 + 0.045 * (wt_rand(s) >> 11) / 9007199254740992.0;
	for (size_t i = 0; i < n; i++) {
		uint16_t v = wt_bf16(
		    (float)(t % 3 == 2 ? wt_t3(s, sd) : sd * wt_gauss(s)));
		w[2 * i] = (uint8_t)v;
		w[2 * i + 1] = (uint8_t)(v >> 8);
	}
}

struct enc {
	struct df11_sizes sz;
	uint8_t *luts, *e, *sm, *op, *gaps;
	struct df11_unit *u;
};

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
	unsigned thr = argc > 2 ? (unsigned)atoi(argv[2])
				: (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = mib << 19, per = n / TENSORS; /* weights */
	uint8_t *w = malloc(2 * n), *out = malloc(2 * n), *cp = malloc(2 * n);
	struct enc x[TENSORS];
	uint64_t s = 42;
	double H = 0; /* mean per-tensor exponent entropy: one table each */
	double best_cpy = 1e9, best_enc = 1e9, best_d1 = 1e9, best_dn = 1e9;

	if (!w || !out || !cp)
		return 3;
	for (int t = 0; t < TENSORS; t++)
		fill(w + 2 * per * t, per, t, &s);
	memset(out, 1, 2 * n);
	memset(cp, 1, 2 * n);
	for (int r = 0; r < REPS; r++) {
		double t0 = wt_now();
		memcpy(cp, w, 2 * per * TENSORS);
		double t1 = wt_now() - t0;
		best_cpy = t1 < best_cpy ? t1 : best_cpy;
	}
	uint64_t stored = 0;
	for (int r = 0; r < 2; r++) {
		double t0 = wt_now();
		stored = 0;
		for (int t = 0; t < TENSORS; t++) {
			const uint8_t *in = w + 2 * per * t;
			uint64_t hist[256] = {0};
			struct df11_code c;
			df11_hist(in, per, hist);
			for (int k = 0; r == 0 && k < 256; k++)
				if (hist[k])
					H -= (double)hist[k] / per *
					     log2((double)hist[k] / per) /
					     TENSORS;
			df11_code_build(&c, hist);
			df11_code_sizes(&c, hist, &x[t].sz);
			if (r == 0) {
				x[t].luts = malloc(x[t].sz.luts);
				x[t].e = malloc(x[t].sz.enc);
				x[t].sm = malloc(x[t].sz.sm);
				x[t].op = malloc(x[t].sz.op);
				x[t].gaps = malloc(x[t].sz.gaps);
			}
			struct df11_enc_out o = {x[t].luts, x[t].e, x[t].sm,
						 x[t].op, x[t].gaps};
			df11_encode(&c, in, per, &o);
			stored += x[t].sz.luts + x[t].sz.enc + x[t].sz.sm +
				  x[t].sz.op + x[t].sz.gaps;
		}
		double t1 = wt_now() - t0;
		best_enc = t1 < best_enc ? t1 : best_enc;
	}
	for (int t = 0; t < TENSORS; t++)
		if (df11_unit_new(&x[t].u, x[t].luts, x[t].sz.luts, x[t].op,
				  x[t].sz.op, x[t].sz.enc, x[t].sz.gaps, per,
				  NULL, 0))
			return 4;
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0; r < REPS; r++) {
			double t0 = wt_now();
			for (int t = 0; t < TENSORS; t++) {
				struct df11_span e = {x[t].e, 0, x[t].sz.enc},
						 g = {x[t].gaps, 0,
						      x[t].sz.gaps},
						 sm = {x[t].sm, 0, per};
				if (unit_decode_mt(x[t].u, &e, &g, &sm, 0, per,
						   out + 2 * per * t,
						   pass ? thr : 1))
					return 5;
			}
			double t1 = wt_now() - t0;
			double *b = pass ? &best_dn : &best_d1;
			*b = t1 < *b ? t1 : *b;
		}
	if (memcmp(out, w, 2 * per * TENSORS)) {
		fprintf(stderr, "bench_codec: decoded bytes differ\n");
		return 1;
	}
	double tot = (double)per * TENSORS;
	double gb = 2.0 * per * TENSORS / 1e9, cpy = gb / best_cpy;
	printf("DF11 unit codec, %zu MiB of BF16 in %d tensors, %u threads\n",
	       mib, TENSORS, thr);
	printf("%-28s %10s %12s\n", "", "GB/s", "x memcpy");
	printf("%-28s %10.2f %12.3f\n", "memcpy (1 thread)", cpy, 1.0);
	printf("%-28s %10.2f %12.3f\n", "encode (1 thread, input)",
	       gb / best_enc, gb / best_enc / cpy);
	printf("%-28s %10.2f %12.3f\n", "decode (1 thread, output)",
	       gb / best_d1, gb / best_d1 / cpy);
	printf("%-28s %10.2f %12.3f\n", "decode (all threads)", gb / best_dn,
	       gb / best_dn / cpy);
	printf("bits/weight %.3f, floor 8 + H(exp) = %.3f (H = %.3f bits), "
	       "ratio %.4f of BF16\n",
	       8.0 * stored / tot, 8 + H, H, stored / (2 * tot));
	return 0;
}
