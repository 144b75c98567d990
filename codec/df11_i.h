/* SPDX-License-Identifier: MIT */
/*
 * codec/df11_i.h - internals shared by the DF11 encoder and decoder
 */
#ifndef DF11_DF11_I_H
#define DF11_DF11_I_H

#include <stdint.h>

#include "le.h"

/* BF16 little-endian bytes lo, hi:  hi = s eeeeeee, lo = e mmmmmmm */
static inline unsigned df11_exp_of(const uint8_t *p)
{
	return ((unsigned)(p[1] & 0x7F) << 1) | (p[0] >> 7);
}

static inline unsigned df11_sm_of(const uint8_t *p)
{
	return (p[1] & 0x80u) | (p[0] & 0x7Fu);
}

/* 5-bit gap entry @t of a gaps stream, MSB-first (bytes past @len are 0) */
static inline unsigned df11_gap_get(const uint8_t *gaps, uint64_t len,
				    uint64_t t)
{
	uint64_t bit = 5 * t, j = bit >> 3;
	unsigned o = bit & 7;
	unsigned w = (unsigned)gaps[j] << 8 | (j + 1 < len ? gaps[j + 1] : 0);
	return (w >> (11 - o)) & 0x1F;
}

static inline void df11_gap_put(uint8_t *gaps, uint64_t t, unsigned g)
{
	uint64_t bit = 5 * t, j = bit >> 3;
	unsigned w = (g & 0x1F) << (11 - (bit & 7));
	gaps[j] |= (uint8_t)(w >> 8);
	if (w & 0xFF)
		gaps[j + 1] |= (uint8_t)w;
}

#endif
