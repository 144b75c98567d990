/* SPDX-License-Identifier: MIT */
/*
 * codec/unit_i.h - the insides of struct df11_unit, shared by its builder
 * (df11_unit.c: validation, fast table) and the decoder (df11_dec.c)
 */
#ifndef DF11_UNIT_I_H
#define DF11_UNIT_I_H

#include <stdint.h>

#define FAST_BITS 12
#define FAST_SYMS 6 /* symbols one fast entry can hold */

/*
 * fast[v]: the symbols the next FAST_BITS stream bits v resolve on their
 * own (df11_dec.c explains why that can be trusted): symbols in bytes
 * 0..5, their count in byte 6, the bits they take in byte 7; 0 = walk.
 */
struct df11_unit {
	uint64_t n, n_bytes, nb;
	uint32_t *op; /* nb + 1 entries */
	unsigned n_luts;
	uint8_t (*luts)[256];
	const uint8_t *lens; /* the last row */
	uint64_t fast[1u << FAST_BITS];
};

#endif
