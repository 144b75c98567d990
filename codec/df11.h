/* SPDX-License-Identifier: MIT */
/*
 * codec/df11.h - DF11 units: encode BF16 weights, decode element ranges
 *
 * A DF11 unit is the official DFloat11 encoding of n BF16 weights:
 *
 *   luts              U8 [n_luts][256]  decode tables + a code-length row
 *   encoded_exponent  U8 [n_bytes]      Huffman codes of the exponent bytes,
 *                                        MSB-first, one stream for the unit
 *   sign_mantissa     U8 [n]            bit 7 = sign, bits 6..0 = mantissa
 *   output_positions  U32 LE [nb(+1)]   first weight whose code starts in
 *                                        each 4096-byte block; last == n
 *   gaps              U8 [320 * nb]     5-bit offset of the first code in
 *                                        each 8-byte chunk, MSB-packed
 *
 * with nb = ceil(n_bytes / 4096). ../docs/FORMAT.md and the official
 * reader's spec give every bit. One decoder reads units written by
 * df11_encode() and units written by the official compressor.
 *
 * All functions are pure: no globals, no I/O; objects are immutable once
 * built and may be shared between threads.
 */
#ifndef DF11_DF11_H
#define DF11_DF11_H

#include <stddef.h>
#include <stdint.h>

#define DF11_BLOCK_BYTES    4096u /* encoded bytes per block (512 x 8) */
#define DF11_BLOCK_BITS	    32768u
#define DF11_THREADS	    512u /* 8-byte chunks ("threads") per block */
#define DF11_GAPS_PER_BLOCK 320u /* gaps bytes per block: 512 x 5 bits */
#define DF11_MAX_LUTS	    18u	 /* root + 16 sub-tables + length row */
#define DF11_MAX_CODE_LEN   32u
#define DF11_MAX_EXP	    239u       /* exponents >= 240 cannot be symbols */
#define DF11_MAX_UNIT_ELEMS UINT32_MAX /* output_positions are uint32 */

/* ---------------------------------------------------------------- encoder */

/**
 * struct df11_code - a prefix code for the exponent bytes of one unit.
 * @len:    code length in bits per exponent, 0 = exponent absent
 * @code:   the code, right-aligned (its first bit is bit len-1)
 * @luts:   the official table layout of this code, rows 0..n_luts-1;
 *          row n_luts-1 holds the code lengths
 * @n_luts: rows used in @luts (2..18)
 *
 * A plain value: copy it, keep it on the stack.
 */
struct df11_code {
	uint8_t len[256];
	uint32_t code[256];
	uint8_t luts[DF11_MAX_LUTS][256];
	unsigned n_luts;
};

/**
 * df11_hist() - add the exponent histogram of @n BF16 weights to @hist.
 * @w: little-endian BF16 values (2 * @n bytes, any alignment)
 * Accumulates: zero @hist first for a fresh count.
 */
void df11_hist(const void *w, size_t n, uint64_t hist[256]);

/**
 * df11_code_build() - build a length-limited Huffman code and its tables.
 * Codes are at most 32 bits and the table needs at most 16 sub-tables;
 * a one-symbol alphabet gets a 1-bit code.
 * Return: 0; -ENOTSUP if an exponent >= 240 occurs (the official table
 * layout cannot hold it) or the histogram is empty.
 */
int df11_code_build(struct df11_code *c, const uint64_t hist[256]);

/**
 * struct df11_sizes - stream sizes of a unit, in bytes (luts: n_luts*256).
 */
struct df11_sizes {
	uint64_t n_elems;
	uint64_t n_blocks;
	uint64_t luts;
	uint64_t enc;
	uint64_t sm;
	uint64_t op;
	uint64_t gaps;
};

/**
 * df11_code_sizes() - exact stream sizes df11_encode() will write for data
 * with histogram @hist under code @c.
 * Return: 0; -EOVERFLOW if the unit would exceed DF11_MAX_UNIT_ELEMS
 * weights; -EINVAL if @hist holds an exponent @c cannot code.
 */
int df11_code_sizes(const struct df11_code *c, const uint64_t hist[256],
		    struct df11_sizes *s);

/**
 * struct df11_enc_out - caller-owned output buffers of df11_encode(), each
 * at least as large as df11_code_sizes() says (luts is copied from the code).
 */
struct df11_enc_out {
	uint8_t *luts;
	uint8_t *enc;
	uint8_t *sm;
	uint8_t *op;
	uint8_t *gaps;
};

/**
 * df11_encode() - encode @n BF16 weights with code @c into @out.
 * Every exponent of @w must have a code in @c. Writes exactly the sizes
 * that df11_code_sizes() reports for the histogram of @w; output_positions
 * always has nb + 1 entries.
 * Return: 0, -EINVAL if an exponent has no code, -EOVERFLOW if @n is too big.
 */
int df11_encode(const struct df11_code *c, const void *w, size_t n,
		const struct df11_enc_out *out);

/* ---------------------------------------------------------------- decoder */

struct df11_unit;

/**
 * df11_unit_new() - validate a unit's tables and index and build a decoder.
 * @luts, @luts_len:  the luts stream (n_luts * 256 bytes)
 * @op, @op_len:      the output_positions stream (4 * (nb or nb + 1) bytes)
 * @n_bytes:          encoded_exponent length
 * @gaps_len:         gaps length (must be 320 * nb)
 * @n_elems:          weights in the unit (sign_mantissa length)
 * The streams are copied; the caller keeps ownership of its buffers.
 * Return: 0 and *@out; -EBADMSG for malformed tables or index (a message is
 * written to @err, @errlen bytes, when @err is not NULL), -ENOMEM.
 */
int df11_unit_new(struct df11_unit **out, const uint8_t *luts, size_t luts_len,
		  const uint8_t *op, size_t op_len, uint64_t n_bytes,
		  uint64_t gaps_len, uint64_t n_elems, char *err,
		  size_t errlen);

/** df11_unit_free() - free a unit; NULL is a no-op. */
void df11_unit_free(struct df11_unit *u);

/**
 * df11_unit_mem() - heap bytes @u holds: the struct with its fast table
 * (about 32 KiB, whatever the unit), the luts and output_positions.
 */
size_t df11_unit_mem(const struct df11_unit *u);

/** df11_unit_n_elems() - weights in the unit. */
uint64_t df11_unit_n_elems(const struct df11_unit *u);

/** df11_unit_n_blocks() - 4096-byte blocks in the encoded stream. */
uint64_t df11_unit_n_blocks(const struct df11_unit *u);

/** df11_unit_n_bytes() - length of the encoded_exponent stream. */
uint64_t df11_unit_n_bytes(const struct df11_unit *u);

/**
 * df11_unit_block_start() - first weight of block @b (0 <= b <= nb);
 * df11_unit_block_start(u, nb) == n. A missing last output_positions entry
 * reads as n.
 */
uint64_t df11_unit_block_start(const struct df11_unit *u, uint64_t b);

/**
 * df11_unit_block_of() - the block that decodes weight @i (i < n).
 */
uint64_t df11_unit_block_of(const struct df11_unit *u, uint64_t i);

/** df11_unit_luts() - the unit's luts as given (n_luts * 256 bytes, borrowed).
 */
const uint8_t *df11_unit_luts(const struct df11_unit *u, unsigned *n_luts);

/**
 * struct df11_span - bytes [off, off + len) of one stream, borrowed.
 */
struct df11_span {
	const uint8_t *p;
	uint64_t off;
	size_t len;
};

/**
 * struct df11_need - what decoding an element range needs: blocks
 * [b0, b1) and, for each stream, the byte range [off, off + len).
 */
struct df11_need {
	uint64_t b0, b1;
	uint64_t enc_off, enc_len;
	uint64_t gaps_off, gaps_len;
	uint64_t sm_off, sm_len;
};

/**
 * df11_unit_need() - the blocks and stream bytes needed to decode weights
 * [a, b) of @u (a < b <= n). The encoded range reaches 8 bytes into the
 * next block (or to the end) so that the last code of a block can be
 * read and checked; gaps covers one byte of the next block likewise.
 * Return: 0, -EINVAL for an empty or out-of-range request.
 */
int df11_unit_need(const struct df11_unit *u, uint64_t a, uint64_t b,
		   struct df11_need *need);

struct df11_scratch;

/**
 * df11_scratch_new() - working memory for one thread's fetches and
 * decodes (stream buffers, the decoder's stage), grown as needed and kept.
 * Return: 0 and *@out, -ENOMEM.
 */
int df11_scratch_new(struct df11_scratch **out);

/** df11_scratch_free() - NULL is a no-op. */
void df11_scratch_free(struct df11_scratch *s);

/**
 * df11_unit_decode() - decode weights [a, b) of @u into @out as
 * little-endian BF16 ((b - a) * 2 bytes, any alignment).
 * @enc, @gaps, @sm: spans that cover what df11_unit_need() reports (larger
 *                   spans are fine; a whole stream is fine)
 * @s:               scratch for the decoder's stage (kept for the next
 *                   call), or NULL: a temporary one
 * Only the blocks holding [a, b) are decoded, on the calling thread (the
 * codec starts no threads). Every block is checked: its codes must end
 * exactly where the next block's first code starts (or in the last byte
 * of the stream) and every table step must be valid.
 * Thread-safe: @u is read only; @s is used by one thread at a time.
 * Return: 0; -EINVAL if a span does not cover what is needed; -EBADMSG if
 * the stream is inconsistent (the contents of @out are then unspecified);
 * -ENOMEM.
 */
int df11_unit_decode(const struct df11_unit *u, const struct df11_span *enc,
		     const struct df11_span *gaps, const struct df11_span *sm,
		     uint64_t a, uint64_t b, void *out, struct df11_scratch *s);

/**
 * struct df11_plan - a decode to run: weights [@a, @b) of @u from the
 * stream bytes in @enc, @gaps and @sm, i.e. df11_unit_decode()'s
 * arguments but the output. Filled by df11_unit_fetch(); the spans point
 * into the scratch it was given and stay valid until that scratch is
 * used again.
 */
struct df11_plan {
	const struct df11_unit *u;
	struct df11_span enc, gaps, sm;
	uint64_t a, b;
};

/** enum df11_stream - the streams a fetch callback reads. */
enum df11_stream {
	DF11_STREAM_ENC,  /* encoded_exponent */
	DF11_STREAM_GAPS, /* gaps */
	DF11_STREAM_SM,	  /* sign_mantissa */
};

/**
 * df11_fetch_fn - read bytes [@off, @off + @len) of stream @which of a
 * unit into @buf. Return: 0, -EBADMSG if the range lies outside the
 * stream as stored, or a read error (-errno).
 */
typedef int (*df11_fetch_fn)(void *ctx, enum df11_stream which, uint64_t off,
			     uint64_t len, uint8_t *buf);

/**
 * df11_unit_fetch() - the fetch half of reading weights [a, b) of @u:
 * read the stream bytes df11_unit_need() names through @fetch(@ctx, ...)
 * into @sc and describe the decode in *@plan. Run the plan with
 * df11_unit_decode() (or a GPU: gpu/gpu.h) into a buffer of 2 (b - a)
 * bytes.
 * Return: 0; -EBADMSG for a range outside @u or a stream shorter than
 * the unit says; -ENOMEM; the callback's read error.
 */
int df11_unit_fetch(const struct df11_unit *u, df11_fetch_fn fetch, void *ctx,
		    uint64_t a, uint64_t b, struct df11_scratch *sc,
		    struct df11_plan *plan);

#endif
