/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_i.h - container internals shared by ct_read.c and ct_write.c
 *
 * The spelling of every index key and stream field of docs/FORMAT.md lives
 * here, once, so that the writer and the reader cannot drift apart; so do
 * the format's limits and the writer's defaults.
 */
#ifndef DF11_CT_I_H
#define DF11_CT_I_H

#include <stddef.h>
#include <stdint.h>

#include "codec_i.h"
#include "container.h"
#include "df11.h"

/* index keys (FORMAT.md §2) */
#define DF11_CT_K_VERSION     "version"
#define DF11_CT_K_SIZE	      "size"
#define DF11_CT_K_HEADER      "header"
#define DF11_CT_K_HEADER_XXH3 "header_xxh3"
#define DF11_CT_K_SEGMENTS    "segments"
#define DF11_CT_K_OFF	      "off"
#define DF11_CT_K_LEN	      "len"
#define DF11_CT_K_CODEC	      "codec"
#define DF11_CT_K_STREAM      "stream"
#define DF11_CT_K_CHUNK	      "chunk"
#define DF11_CT_K_BPC	      "blocks_per_chunk"

/* stream fields: "<stream>.<field>" (FORMAT.md §3); none holds a dot */
#define DF11_CT_F_RAW	    "raw"
#define DF11_CT_F_LZ4	    "lz4"
#define DF11_CT_F_LZ4_INDEX "lz4_index"
#define DF11_CT_F_XXH3	    "xxh3"
#define DF11_CT_F_LUTS	    "luts"
#define DF11_CT_F_ENC	    "encoded_exponent"
#define DF11_CT_F_SM	    "sign_mantissa"
#define DF11_CT_F_OP	    "output_positions"
#define DF11_CT_F_GAPS	    "gaps"

/* gaps are named "df11.gap.<original file offset>" */
#define DF11_CT_GAP_PREFIX   "df11.gap."
#define DF11_CT_GAP_NAME_MAX 32 /* prefix + 20 digits + NUL */

/*
 * chunk parameters: raw/lz4 chunk bytes, df11 blocks per chunk. A reader
 * refuses any chunk (df11 ones too) that decodes to more than
 * DF11_CT_CHUNK_MAX bytes: the cache's memory bound (df11fs(1)) holds
 * because no chunk is larger. The writer keeps df11 chunks under it by
 * writing at most DF11_CT_BPC_WRITE_MAX blocks per chunk (a block decodes
 * to at most DF11_BLOCK_BITS weights).
 */
#define DF11_CT_CHUNK_MIN     4096u
#define DF11_CT_CHUNK_MAX     16777216u
#define DF11_CT_CHUNK_DEFAULT 1048576u
#define DF11_CT_BPC_MIN	      1u
#define DF11_CT_BPC_MAX	      1024u
#define DF11_CT_BPC_WRITE_MAX 256u /* 256 x 32768 weights x 2 = 16 MiB */
#define DF11_CT_BPC_DEFAULT   64u

/*
 * Per-container limits (docs/FORMAT.md §6), checked before the memory or
 * time they bound is spent: the outer header's length before it is read,
 * the tensor and stream counts right after it is parsed, the segment count
 * before the segment table is allocated, chunks and df11 tables while the
 * segments are parsed. Checksums and lz4 block offsets are never loaded:
 * a chunk's are read (8 and 16 bytes) when the chunk is.
 * DF11_CT_HEADER_MAX is in container.h: df11 compress names it.
 */
#define DF11_CT_TENSORS_MAX  16384u    /* tensors of the original file */
#define DF11_CT_SEGMENTS_MAX (2u * DF11_CT_TENSORS_MAX + 1u)
#define DF11_CT_STREAMS_MAX  (6u * DF11_CT_SEGMENTS_MAX)
#define DF11_CT_CHUNKS_MAX   4194304u  /* chunks of one container (2^22) */
#define DF11_CT_TABLES_MAX   16777216u /* df11 luts + output_positions */

/*
 * struct ct_seg - one segment of an open container.
 * @pub:      what df11_ct_segment() shows (first member)
 * @stream:   prefix of its stream names (owned)
 * @param:    raw/lz4: chunk bytes; df11: blocks per chunk
 * @data_off, @data_len: file range of .raw, .lz4 or .encoded_exponent
 * @gaps_off, @sm_off:   file offsets of a df11 unit's .gaps, .sign_mantissa
 * @xxh3_off: file offset of .xxh3 (n_chunks little-endian XXH3-64)
 * @idx_off:  lz4: file offset of .lz4_index (n_chunks + 1 uint64 LE)
 * @unit:     df11: the decoder (owned)
 *
 * Checksums and lz4 offsets stay in the file: a sparse container may
 * declare a gigabyte of them in a few kilobytes, so they are read per
 * chunk (ct_chunk.c), never loaded at open.
 */
struct ct_seg {
	struct df11_ct_seg pub;
	char *stream;
	uint64_t param;
	uint64_t data_off, data_len;
	uint64_t gaps_off, sm_off;
	uint64_t xxh3_off, idx_off;
	struct df11_unit *unit;
};

/* struct df11_ct - immutable once df11_ct_open() returns it */
struct df11_ct {
	uint64_t size, stored; /* original bytes; container file bytes */
	uint8_t *hdr;
	size_t hdr_len;
	struct df11_st *orig;
	struct ct_seg *segs;
	size_t n_segs;
	uint64_t n_chunks, max_chunk;
	uint64_t tables; /* df11 luts + output_positions bytes held */
};

/**
 * df11_ct_chunk_bounds() - byte range [*rel, *rel + *len) of chunk @k of
 * @s, relative to the segment's start.
 * Return: 0, or -EBADMSG when a df11 chunk's output_positions run
 * backwards (checked for every chunk at open time).
 */
int df11_ct_chunk_bounds(const struct ct_seg *s, uint64_t k, uint64_t *rel,
			 uint64_t *len);

/**
 * df11_ct_check_frame() - before a file's header is read: refuse early a
 * container whose outer header passes DF11_CT_HEADER_MAX (its first bytes
 * say the length; a scan of the header for "df11":" through @rd in small
 * reads says it is a container). A header past the limit without those
 * bytes is not a container, and is not parsed. A header within the
 * limit passes: df11_ct_check_outer() then decides.
 * Return: 0; -EBADMSG (reason in @err); -ENOMSG for a header past the
 * limit that is no container's; the read callback's error.
 */
int df11_ct_check_frame(df11_read_fn rd, void *ctx, uint64_t file_size,
			char *err, size_t errlen);

/**
 * df11_ct_check_outer() - the limits of a parsed container's outer header
 * @outer, of @hdr_len bytes: header length and stream count.
 * Return: 0, -EBADMSG (reason in @err).
 */
int df11_ct_check_outer(const struct df11_st *outer, uint64_t hdr_len,
			char *err, size_t errlen);

/**
 * df11_ct_seg_max_chunk() - raise *@max to the largest chunk of @s.
 * Return: 0; -EBADMSG when a df11 chunk runs backwards or any chunk
 * decodes to more than DF11_CT_CHUNK_MAX bytes.
 */
int df11_ct_seg_max_chunk(const struct ct_seg *s, uint64_t *max);

/**
 * df11_ct_gap_name() - the stream name of the gap at original offset @off,
 * into @buf (DF11_CT_GAP_NAME_MAX bytes).
 */
void df11_ct_gap_name(char buf[DF11_CT_GAP_NAME_MAX], uint64_t off);

/**
 * df11_ct_stream_name() - "<prefix>.<field>", malloc'ed (the caller frees
 * it). Return: the name, or NULL when out of memory.
 */
char *df11_ct_stream_name(const char *prefix, const char *field);

#endif
