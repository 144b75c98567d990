/* SPDX-License-Identifier: MIT */
/*
 * codec/le.h - little-endian loads and stores of 32- and 64-bit integers
 *
 * Every on-disk integer of the formats df11fs reads is little-endian: the
 * safetensors length prefix, output_positions, split_positions, the
 * container's checksums and lz4 block offsets. These read and write them
 * byte by byte, at any alignment and on any host; compilers turn each
 * into one load or store (and a byte swap on a big-endian host).
 */
#ifndef DF11_LE_H
#define DF11_LE_H

#include <stdint.h>

/** df11_le_get32() - the little-endian uint32 at @p (any alignment). */
static inline uint32_t df11_le_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/** df11_le_get64() - the little-endian uint64 at @p (any alignment). */
static inline uint64_t df11_le_get64(const uint8_t *p)
{
	return (uint64_t)df11_le_get32(p) | (uint64_t)df11_le_get32(p + 4)
						<< 32;
}

/** df11_le_put32() - store @v at @p, little-endian (any alignment). */
static inline void df11_le_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/** df11_le_put64() - store @v at @p, little-endian (any alignment). */
static inline void df11_le_put64(uint8_t *p, uint64_t v)
{
	df11_le_put32(p, (uint32_t)v);
	df11_le_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
