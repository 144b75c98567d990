/* SPDX-License-Identifier: MIT */
/*
 * codec/scratch_i.h - the insides of struct df11_scratch (codec/df11.h)
 *
 * A scratch is one thread's working memory: the three stream buffers a
 * fetch fills (df11_unit_fetch(); lz4 blocks use the first) and the
 * decoder's stage. Everything grows on demand and is kept for the next
 * use, so a steady reader allocates nothing per chunk.
 */
#ifndef DF11_SCRATCH_I_H
#define DF11_SCRATCH_I_H

#include <stddef.h>
#include <stdint.h>

#include "df11.h"

struct df11_scratch {
	uint8_t *buf[3];
	size_t cap[3];
	uint8_t *stage;
	size_t stage_cap;
};

/**
 * df11_scratch_buf() - the buffer of stream @i of @sc, grown to at least
 * @len bytes (contents not kept); lz4 blocks use DF11_SCRATCH_LZ4.
 * Return: the buffer, or NULL when out of memory.
 */
uint8_t *df11_scratch_buf(struct df11_scratch *sc, enum df11_stream i,
			  uint64_t len);

/* the buffer an lz4 chunk's compressed block is read into */
#define DF11_SCRATCH_LZ4 DF11_STREAM_ENC

/**
 * df11_scratch_stage() - the decoder's stage buffer of @sc, at least @len
 * bytes (contents not kept). Return: the buffer, or NULL.
 */
uint8_t *df11_scratch_stage(struct df11_scratch *sc, size_t len);

#endif
