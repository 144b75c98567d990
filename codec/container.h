/* SPDX-License-Identifier: MIT */
/*
 * codec/container.h - the df11 native container (docs/FORMAT.md)
 *
 * A container is the DF11 form of one safetensors file. The reader shows it
 * as the original file: the original header bytes, then the segments in
 * file order, each cut into chunks that decode (and are checked)
 * independently. Chunks have global ids 0..n_chunks-1 in file order, so a
 * sequential reader of the original file walks ids upward.
 *
 * No file I/O here: callers pass a read callback. Objects are immutable
 * after open and may be shared by threads; scratch space is per thread.
 */
#ifndef DF11_CONTAINER_H
#define DF11_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "df11.h"
#include "safetensors.h"

#define DF11_CT_VERSION_MAJOR 1
#define DF11_CT_VERSION_MINOR 0
#define DF11_CT_META_KEY      "df11"
/*
 * The most bytes of a container's outer header (8-byte length + JSON;
 * docs/FORMAT.md §6). It holds the original header in base64, so an
 * original header of more than about 3/4 of it cannot be a container.
 */
#define DF11_CT_HEADER_MAX 33554432u

enum df11_codec { DF11_CODEC_RAW, DF11_CODEC_LZ4, DF11_CODEC_DF11 };

/** df11_codec_name() - "raw", "lz4" or "df11" (static). */
const char *df11_codec_name(enum df11_codec c);

/* ------------------------------------------------------------------ reader */

struct df11_ct;

/**
 * df11_ct_is_container() - does a parsed safetensors header describe a
 * container (metadata key "df11")? Cheap; validates nothing else.
 */
int df11_ct_is_container(const struct df11_st *st);

/**
 * df11_ct_open() - read and validate a container.
 * @rd, @ctx:   read callback of the container file (used only during the
 *              call; pass it again to df11_ct_chunk_read)
 * @file_size:  size of the container file
 * @err:        a one-line reason on failure (may be NULL)
 * Reads the outer header, the index, and every unit's luts and
 * output_positions (at most DF11_CT_TABLES_MAX bytes in all); never the
 * coded data, nor the checksums and lz4 block offsets (read per chunk).
 * Refuses a container beyond the limits of docs/FORMAT.md §6 (header,
 * tensors, segments, chunks, chunk size, tables) before spending what
 * they bound.
 * Keeps no jansson value past the call (each tree is dropped once
 * used): store/gate.c unmaps the small blocks of a large parse when the
 * call returns.
 * Return: 0 and *@out; -ENOMSG for a safetensors file that is not a
 * container (no "df11" metadata key: a plain file, not an error);
 * -ENOTSUP for a container of another major version (an error: never
 * serve its bytes as they are); -EBADMSG malformed, or beyond a limit of
 * docs/FORMAT.md §6; -EOVERFLOW, -ENOMEM, or the read callback's error.
 */
int df11_ct_open(struct df11_ct **out, df11_read_fn rd, void *ctx,
		 uint64_t file_size, char *err, size_t errlen);

/** df11_ct_free() - free a container; NULL is a no-op. */
void df11_ct_free(struct df11_ct *ct);

/** df11_ct_size() - size of the original file. */
uint64_t df11_ct_size(const struct df11_ct *ct);

/** df11_ct_stored() - size of the container file (df11_ct_open's). */
uint64_t df11_ct_stored(const struct df11_ct *ct);

/** df11_ct_header() - the original header bytes [0, 8 + N), borrowed. */
const uint8_t *df11_ct_header(const struct df11_ct *ct, size_t *len);

/**
 * df11_ct_mem() - heap bytes @ct holds, the resident index of an open
 * container: the original header bytes and its parsed tensor table, the
 * segment table with its stream names, and every df11 unit's tables
 * (df11_unit_mem: about 32 KiB each, plus luts and output_positions).
 * At the limits of docs/FORMAT.md §6 it stays under about 600 MiB, the
 * units' fixed part most of it; a typical shard's is well under 1 MiB.
 */
size_t df11_ct_mem(const struct df11_ct *ct);

/**
 * df11_ct_orig() - the original file's parsed header (borrowed), without
 * its metadata (df11_st_drop_meta: the header bytes keep it).
 */
const struct df11_st *df11_ct_orig(const struct df11_ct *ct);

/**
 * struct df11_ct_seg - one segment (all pointers borrowed from the ct).
 * @off, @len:     byte range in the original file
 * @codec:         how it is stored
 * @name:          tensor name, NULL for a gap
 * @tensor:        the original tensor (NULL for a gap)
 * @stored:        bytes the segment's streams take in the container
 * @chunk0:        global id of its first chunk
 * @n_chunks:      its number of chunks
 */
struct df11_ct_seg {
	uint64_t off, len;
	enum df11_codec codec;
	const char *name;
	const struct df11_st_tensor *tensor;
	uint64_t stored;
	uint64_t chunk0, n_chunks;
};

/** df11_ct_n_segments() - number of segments. */
size_t df11_ct_n_segments(const struct df11_ct *ct);

/** df11_ct_segment() - segment @i (borrowed). */
const struct df11_ct_seg *df11_ct_segment(const struct df11_ct *ct, size_t i);

/** df11_ct_n_chunks() - chunks in the whole file. */
uint64_t df11_ct_n_chunks(const struct df11_ct *ct);

/**
 * df11_ct_chunk_find() - id of the chunk holding original byte @off
 * (header len <= off < size). Return: 0, -EINVAL out of range.
 */
int df11_ct_chunk_find(const struct df11_ct *ct, uint64_t off, uint64_t *id);

/**
 * df11_ct_chunk_range() - original byte range [*off, *off + *len) of chunk
 * @id and the segment it belongs to.
 */
void df11_ct_chunk_range(const struct df11_ct *ct, uint64_t id, uint64_t *off,
			 uint64_t *len, size_t *seg);

/** df11_ct_max_chunk() - the largest chunk's decoded size in bytes. */
uint64_t df11_ct_max_chunk(const struct df11_ct *ct);

struct df11_scratch;
struct df11_fetch;

/**
 * df11_ct_chunk_fetch() - the first half of reading chunk @id
 * (codec/source.h, chunk_fetch): raw and lz4 chunks are read into @out
 * whole; a df11 chunk's stream bytes are read into @scratch and *@f holds
 * the decode to run into @out.
 * @rd, @ctx: the container file's read callback
 * Return: 0; -EBADMSG (corrupt lz4 block, stream range outside the
 * container; reason naming tensor and offset in @err); -EINVAL for an @id
 * out of range; -ENOMEM; the read callback's error.
 */
int df11_ct_chunk_fetch(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
			void *ctx, struct df11_scratch *scratch, void *out,
			struct df11_fetch *f, char *err, size_t errlen);

/**
 * df11_ct_chunk_check() - the second half: given the verdict @rc of the
 * chunk's decode (0 when it needed none), compare the bytes @out of chunk
 * @id with the stored XXH3-64 checksum, read now (8 bytes) through @rd.
 * Return: 0; -EBADMSG for a failed decode or a checksum mismatch (reason
 * naming tensor and offset in @err); -ENOMEM when @rc is; -EINVAL bad @id;
 * the read callback's error.
 */
int df11_ct_chunk_check(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
			void *ctx, const void *out, int rc, char *err,
			size_t errlen);

/**
 * df11_ct_chunk_read() - read, decode (on this thread) and check chunk @id
 * into @out (df11_ct_chunk_range() bytes): df11_source_read() for a
 * container that is not wrapped in a source.
 * Return: what df11_source_read() returns; never any wrong bytes: on
 * failure the caller must not use @out.
 */
int df11_ct_chunk_read(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
		       void *ctx, struct df11_scratch *scratch, void *out,
		       char *err, size_t errlen);

/* ------------------------------------------------------------------ writer */

struct df11_ctw;

/**
 * struct df11_ctw_opts - writer knobs (zero = default).
 * @chunk:            raw/lz4 chunk size (default 1 MiB)
 * @blocks_per_chunk: df11 blocks per chunk (default 64)
 */
struct df11_ctw_opts {
	uint64_t chunk;
	unsigned blocks_per_chunk;
};

/**
 * df11_ctw_check() - can the file whose parsed header is @st (@hdr_len
 * bytes: 8 + N) be written as a container within docs/FORMAT.md §6? The
 * tensors are counted, and the outer header's least size (the original
 * header in base64; per non-empty tensor an index segment and two stream
 * entries, each with its name) is held against DF11_CT_HEADER_MAX. A
 * file that passes may still fail df11_ctw_header() by a little (its
 * stream entries are known only once encoded); one that fails never
 * fits. Cheap: no allocation.
 * Return: 0; -ENOTSUP with the reason (naming the limit) in @err.
 */
int df11_ctw_check(const struct df11_st *st, size_t hdr_len, char *err,
		   size_t errlen);

/**
 * df11_ctw_new() - start the container for one original file.
 * @hdr, @hdr_len: the original bytes [0, 8 + N) (copied)
 * @size:          the original file's size
 * @err:           reason on failure
 * Parses and validates the original header and plans the segments
 * (tensors and gaps in file order).
 * Return: 0 and *@out; -EINVAL for @opts out of range (docs/FORMAT.md §3);
 * -EBADMSG; -ENOTSUP for a file beyond the limits of docs/FORMAT.md §6
 * (df11_ctw_check(), chunks: reason in @err), or if a non-empty tensor
 * is named like one of the file's gaps ("df11.gap.<off>": the stream
 * names would clash);
 * -EOVERFLOW; -ENOMEM.
 */
int df11_ctw_new(struct df11_ctw **out, const uint8_t *hdr, size_t hdr_len,
		 uint64_t size, const struct df11_ctw_opts *opts, char *err,
		 size_t errlen);

/** df11_ctw_free() - NULL is a no-op. */
void df11_ctw_free(struct df11_ctw *w);

/** df11_ctw_n_segments() - number of segments to encode. */
size_t df11_ctw_n_segments(const struct df11_ctw *w);

/**
 * df11_ctw_segment() - original byte range of segment @i, and its tensor
 * (NULL for a gap).
 */
void df11_ctw_segment(const struct df11_ctw *w, size_t i, uint64_t *off,
		      uint64_t *len, const struct df11_st_tensor **t);

/**
 * df11_write_fn - append @len bytes to the container's data region; the
 * callee returns in *@off where they landed (relative to the data region
 * start). Called from the thread that runs df11_ctw_encode; must be
 * thread-safe if segments are encoded concurrently.
 */
typedef int (*df11_write_fn)(void *ctx, const void *buf, size_t len,
			     uint64_t *off);

/**
 * df11_ctw_encode() - encode segment @i from its original bytes @data
 * (len bytes, see df11_ctw_segment) and append its streams through @wr.
 * Picks the codec (docs/FORMAT.md §3). Different segments may be encoded
 * concurrently from different threads; the same segment only once.
 * Return: 0, -EINVAL for a bad @i or a segment already encoded, -ENOMEM,
 * or the write callback's error.
 */
int df11_ctw_encode(struct df11_ctw *w, size_t i, const void *data,
		    df11_write_fn wr, void *ctx);

/**
 * df11_ctw_header() - once every segment is encoded, the container's outer
 * header: 8-byte length + JSON padded to a multiple of 8. The data region
 * (everything appended through the write callback, in append order) must
 * follow it. *@out is malloc'ed; the caller frees it.
 * @data_len: total bytes appended
 * Return: 0; -EINVAL if a segment was not encoded, or a stream lies past
 * @data_len; -ENOTSUP if the header would pass DF11_CT_HEADER_MAX (then
 * *@len is the size it would have; df11_ctw_check() refuses most such
 * files before any work); -ENOMEM.
 */
int df11_ctw_header(struct df11_ctw *w, uint64_t data_len, uint8_t **out,
		    size_t *len);

/**
 * df11_ctw_pack() - once every segment is encoded, place the streams in
 * plan order (segment by segment, each segment's streams in the order it
 * wrote them, no gaps) instead of the order the write callback appended
 * them, so that the container's bytes depend on the input alone, not on
 * how threads were scheduled. The caller then moves each stream from
 * where it was appended to its place (df11_ctw_stream()) and passes
 * *@data_len to df11_ctw_header(). Without this call the streams stay
 * where they were appended.
 * Return: 0 and *@data_len (bytes of the data region); -EINVAL if a
 * segment was not encoded; -EOVERFLOW.
 */
int df11_ctw_pack(struct df11_ctw *w, uint64_t *data_len);

/** df11_ctw_n_streams() - streams segment @i wrote (after encoding). */
size_t df11_ctw_n_streams(const struct df11_ctw *w, size_t i);

/**
 * df11_ctw_stream() - stream @j of segment @i: @from, where the write
 * callback appended it; @to, its offset in the data region (equal to
 * @from unless df11_ctw_pack() moved it); @len bytes.
 */
void df11_ctw_stream(const struct df11_ctw *w, size_t i, size_t j,
		     uint64_t *from, uint64_t *to, uint64_t *len);

/**
 * df11_ctw_stored() - after encoding: codec and stored bytes of segment @i.
 */
void df11_ctw_stored(const struct df11_ctw *w, size_t i, enum df11_codec *codec,
		     uint64_t *stored);

#endif
