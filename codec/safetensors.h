/* SPDX-License-Identifier: MIT */
/*
 * codec/safetensors.h - parse and validate safetensors headers
 *
 * A safetensors file is an 8-byte little-endian header length N, N bytes of
 * JSON (usually padded with spaces to a multiple of 8), then the data region.
 * Each tensor names its dtype, shape and data_offsets [begin, end) relative
 * to the start of the data region; "__metadata__" maps strings to strings.
 *
 * The parser trusts nothing: N is capped at DF11_ST_MAX_HEADER, JSON is read
 * with duplicate keys rejected, every shape product is overflow-checked
 * against the dtype size and the byte range, ranges must lie inside the
 * data region and must not overlap. Bytes of the data region covered by no
 * tensor are allowed (the container keeps them).
 */
#ifndef DF11_SAFETENSORS_H
#define DF11_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define DF11_ST_MAX_HEADER 100000000u /* bytes of JSON, as safetensors */
#define DF11_ST_MAX_DIMS   16u

enum df11_dtype {
	DF11_DT_BOOL,
	DF11_DT_U8,
	DF11_DT_I8,
	DF11_DT_F8_E5M2,
	DF11_DT_F8_E4M3,
	DF11_DT_I16,
	DF11_DT_U16,
	DF11_DT_F16,
	DF11_DT_BF16,
	DF11_DT_I32,
	DF11_DT_U32,
	DF11_DT_F32,
	DF11_DT_I64,
	DF11_DT_U64,
	DF11_DT_F64,
	DF11_DT_COUNT
};

/** df11_dtype_size() - bytes per element of @dt (0 for an invalid value). */
size_t df11_dtype_size(enum df11_dtype dt);

/** df11_dtype_name() - the safetensors spelling of @dt ("BF16"), static. */
const char *df11_dtype_name(enum df11_dtype dt);

/** df11_dtype_parse() - @name -> dtype. Return: 0, -EBADMSG if unknown. */
int df11_dtype_parse(const char *name, enum df11_dtype *dt);

/**
 * struct df11_st_tensor - one tensor of a header (all fields owned by the
 * struct df11_st it belongs to).
 * @name:    UTF-8 name, NUL-terminated
 * @dtype:   element type
 * @n_dims:  0 for a scalar
 * @shape:   dimensions
 * @n_elems: product of @shape (1 for a scalar)
 * @begin, @end: byte range inside the data region
 */
struct df11_st_tensor {
	char *name;
	enum df11_dtype dtype;
	unsigned n_dims;
	uint64_t shape[DF11_ST_MAX_DIMS];
	uint64_t n_elems;
	uint64_t begin, end;
};

struct df11_st;

/**
 * df11_read_fn - read exactly @len bytes at @off of a file into @buf.
 * Return: 0, or -errno (-EIO for a short read).
 */
typedef int (*df11_read_fn)(void *ctx, void *buf, size_t len, uint64_t off);

/* ------------------------------------------- the frame (st_frame.c) */

/**
 * df11_st_header_len() - read the 8-byte length prefix.
 * @prefix:    the first 8 bytes of the file
 * @file_size: the file's size
 * Return: 0 and *@n; -EBADMSG if N is 0, above DF11_ST_MAX_HEADER, or
 * 8 + N exceeds @file_size.
 */
int df11_st_header_len(const uint8_t prefix[8], uint64_t file_size,
		       uint64_t *n);

/**
 * df11_st_header_frame() - check the bytes [0, 8 + N) of a file of
 * @file_size bytes held in memory (@hdr, @hdr_len): the prefix as
 * df11_st_header_len() and @hdr_len == 8 + N.
 * Return: 0 and *@n (N); -EBADMSG.
 */
int df11_st_header_frame(const uint8_t *hdr, size_t hdr_len, uint64_t file_size,
			 uint64_t *n);

/**
 * df11_st_read_header() - read the frame of a safetensors file of
 * @file_size bytes through @rd(@ctx, ...): the prefix, checked, then the
 * N header bytes.
 * Return: 0 and *@hdr (the bytes [0, 8 + N), malloc'ed, the caller frees
 * them; parse @hdr + 8 with df11_st_parse()) and *@hdr_len (8 + N);
 * -EBADMSG for a short file or a bad length (@err says which: "empty
 * safetensors header", "header length N past the end of the file (S
 * bytes)", ...); -ENOMEM; the callback's error (never -EBADMSG: a
 * callback's -EBADMSG becomes -EIO) with "cannot read the header".
 * Thread-safe as far as @rd is.
 */
int df11_st_read_header(df11_read_fn rd, void *ctx, uint64_t file_size,
			uint8_t **hdr, size_t *hdr_len, char *err,
			size_t errlen);

/*
 * A Git LFS pointer in place of a file (a clone made without git-lfs, or
 * before `git lfs pull`): a few lines of text starting with
 * DF11_ST_LFS_MAGIC, well under DF11_ST_LFS_MAX bytes. Read as
 * safetensors, "version " is a header length of 2336927755350992246
 * bytes. Every front end names such a file as "'PATH' " DF11_ST_LFS_MSG.
 */
#define DF11_ST_LFS_MAGIC "version https://git-lfs.github.com/spec/"
#define DF11_ST_LFS_PROBE (sizeof(DF11_ST_LFS_MAGIC) - 1) /* bytes to read */
#define DF11_ST_LFS_MAX	  4096u
#define DF11_ST_LFS_MSG                                                        \
	"is a Git LFS pointer, not the file: fetch it with git lfs pull"

/**
 * df11_st_lfs_pointer() - is a file of @file_size bytes whose first @len
 * bytes are @head (at least DF11_ST_LFS_PROBE of them, or the whole file)
 * a Git LFS pointer? Pure, thread-safe. Return: 1 or 0.
 */
int df11_st_lfs_pointer(const uint8_t *head, size_t len, uint64_t file_size);

/* ------------------------------------------ the header (safetensors.c) */

/**
 * df11_st_parse() - parse and validate a header.
 * @json, @len: the N header bytes after the length prefix (trailing
 *              spaces allowed; the bytes need not be NUL-terminated)
 * @data_size:  size of the data region (file size - 8 - N)
 * @err:        on failure, a one-line reason naming the tensor when there
 *              is one ("tensor 'x': data_offsets past the end"); may be NULL
 * Tensors are kept in header order.
 * Return: 0 and *@out (free with df11_st_free); -EBADMSG for any malformed
 * or inconsistent header, -EOVERFLOW for sizes that overflow, -ENOMEM.
 */
int df11_st_parse(struct df11_st **out, const uint8_t *json, size_t len,
		  uint64_t data_size, char *err, size_t errlen);

/** df11_st_free() - free a parsed header; NULL is a no-op. */
void df11_st_free(struct df11_st *st);

/** df11_st_n_tensors() - number of tensors (the metadata entry excluded). */
size_t df11_st_n_tensors(const struct df11_st *st);

/** df11_st_tensor() - tensor @i in header order (borrowed). */
const struct df11_st_tensor *df11_st_tensor(const struct df11_st *st, size_t i);

/** df11_st_find() - tensor by name (borrowed), NULL if absent. */
const struct df11_st_tensor *df11_st_find(const struct df11_st *st,
					  const char *name);

/**
 * df11_st_meta() - value of metadata key @key (borrowed, NUL-terminated,
 * valid while @st lives), NULL if there is no such key. @len receives the
 * value's length (values may hold NUL bytes) when not NULL.
 */
const char *df11_st_meta(const struct df11_st *st, const char *key,
			 size_t *len);

/**
 * df11_st_drop_meta() - free the metadata of @st once nobody needs its
 * values: from then on df11_st_meta() returns NULL for every key. Its
 * jansson tree may take ten times the bytes of the header (tiny entries
 * cost about 100 bytes each), so a reader that keeps @st should drop it.
 * Not thread-safe: no other thread may use @st during the call.
 */
void df11_st_drop_meta(struct df11_st *st);

/**
 * df11_st_mem() - heap bytes @st holds, the metadata not counted (drop
 * it first to make this the whole): the tensor table, the two indices
 * and every name, each allocation with 16 bytes of malloc overhead.
 */
size_t df11_st_mem(const struct df11_st *st);

/**
 * df11_st_order() - tensor indices sorted by data offset (borrowed array of
 * df11_st_n_tensors() entries; ties, i.e. empty tensors, keep header order).
 */
const size_t *df11_st_order(const struct df11_st *st);

#endif
