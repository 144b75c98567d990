/* SPDX-License-Identifier: MIT */
/*
 * codec/codec_i.h - helpers shared by every part of the codec
 *
 * One home for what the container, the safetensors parser and the DF11
 * unit code all need: failure reasons (err.h, codec.c), little-endian
 * integers (le.h), and size arithmetic. Public helpers live in their
 * public headers, so that official/ uses the very same ones; this header
 * only gathers them and adds what stays private to codec/.
 */
#ifndef DF11_CODEC_I_H
#define DF11_CODEC_I_H

#include <stdint.h>

#include "err.h"
#include "le.h"

/* ceil(a / b) for b > 0, without overflow */
static inline uint64_t df11_div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

#endif
