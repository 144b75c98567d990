/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_unit.c - fuzz the DF11 unit loader and decoder
 *
 * Input: 1 byte n_luts (2..18), 4 bytes n (LE, kept small), then the luts
 * rows, then the output_positions, then the rest as encoded_exponent.
 * gaps and sign_mantissa are derived from the input. The unit loader must
 * refuse or accept cleanly; an accepted unit must decode any range to 0 or
 * -EBADMSG, and a range must decode to the same bytes as the whole unit.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/df11.h"
#include "tests/fuzz/fuzz_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	unsigned n_luts = 2 + data[0] % 17;
	uint64_t n = 1 + ((uint64_t)data[1] | (uint64_t)data[2] << 8 |
			  (uint64_t)(data[3] & 0x3) << 16);
	data += 5;
	size -= 5;
	size_t luts_len = 256u * n_luts;
	if (size < luts_len + 8)
		return 0;
	const uint8_t *luts = data;
	size_t rest = size - luts_len;
	uint64_t n_bytes = rest / 2 ? rest / 2 : 1;
	uint64_t nb = (n_bytes + DF11_BLOCK_BYTES - 1) / DF11_BLOCK_BYTES;
	size_t op_len = 4 * (nb + 1);
	if (rest < op_len + 1)
		return 0;
	const uint8_t *op = data + luts_len;
	const uint8_t *enc = op + op_len;
	n_bytes = rest - op_len;
	nb = (n_bytes + DF11_BLOCK_BYTES - 1) / DF11_BLOCK_BYTES;
	op_len = op_len < 4 * (nb + 1) ? op_len : 4 * (nb + 1);
	uint8_t *gaps = calloc(DF11_GAPS_PER_BLOCK * nb, 1);
	uint8_t *sm = malloc(n), *a = malloc(2 * n), *b = malloc(2 * n);
	struct df11_unit *u = NULL;
	for (uint64_t i = 0; i < DF11_GAPS_PER_BLOCK * nb; i++)
		gaps[i] = enc[i % n_bytes];
	for (uint64_t i = 0; i < n; i++)
		sm[i] = (uint8_t)(i * 131);
	if (df11_unit_new(&u, luts, luts_len, op, op_len, n_bytes,
			  DF11_GAPS_PER_BLOCK * nb, n, NULL, 0) == 0) {
		struct df11_span e = {enc, 0, n_bytes},
				 g = {gaps, 0, DF11_GAPS_PER_BLOCK * nb},
				 s = {sm, 0, n};
		int rc = df11_unit_decode(u, &e, &g, &s, 0, n, a, NULL);
		CHECK(rc == 0 || rc == -EBADMSG);
		uint64_t lo = n / 3, hi = n - n / 5;
		if (rc == 0 && lo < hi) {
			int r2 =
			    df11_unit_decode(u, &e, &g, &s, lo, hi, b, NULL);
			/* a sub-range checks fewer blocks, so it may pass
			 * where the whole failed, never the other way */
			CHECK(r2 == 0 && !memcmp(a + 2 * lo, b, 2 * (hi - lo)));
		}
		df11_unit_free(u);
	}
	free(gaps);
	free(sm);
	free(a);
	free(b);
	return 0;
}
