/* SPDX-License-Identifier: MIT */
/*
 * codec/st_frame.c - the frame of a safetensors file: the 8-byte
 * little-endian length N and the N header bytes after it
 *
 *   [0, 8)        N, uint64 little-endian, 1 <= N <= DF11_ST_MAX_HEADER
 *   [8, 8 + N)    the JSON header (safetensors.c parses it)
 *   [8 + N, size) the data region
 *
 * Everything that opens a safetensors file (the container reader, the
 * official reader, the df11 tool, a `df11 headers` file) reads or checks
 * the frame here, so the limits and the reasons given for a bad prefix
 * are spelled once. N is checked against the file size before anything
 * is allocated, without letting 8 + N wrap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec_i.h"
#include "codec/safetensors.h"

int df11_st_header_len(const uint8_t prefix[8], uint64_t file_size, uint64_t *n)
{
	uint64_t len;

	if (!prefix || !n)
		return -EINVAL;
	len = df11_le_get64(prefix);
	/* 8 + len may wrap: compare against what is left after the prefix. */
	if (len == 0 || len > DF11_ST_MAX_HEADER || file_size < 8 ||
	    len > file_size - 8)
		return -EBADMSG;
	*n = len;
	return 0;
}

int df11_st_header_frame(const uint8_t *hdr, size_t hdr_len, uint64_t file_size,
			 uint64_t *n)
{
	if (!hdr || hdr_len < 8 || df11_st_header_len(hdr, file_size, n) ||
	    hdr_len - 8 != *n)
		return -EBADMSG;
	return 0;
}

/* why the prefix @pre of a @file_size-byte file is refused */
static void bad_len(const uint8_t pre[8], uint64_t file_size, char *err,
		    size_t errlen)
{
	uint64_t n = df11_le_get64(pre);

	if (n == 0)
		df11_err_set(err, errlen, "empty safetensors header");
	else if (n > DF11_ST_MAX_HEADER)
		df11_err_set(err, errlen,
			     "header length %llu above the limit of %u",
			     (unsigned long long)n, DF11_ST_MAX_HEADER);
	else
		df11_err_set(err, errlen,
			     "header length %llu past the end of the file "
			     "(%llu bytes)",
			     (unsigned long long)n,
			     (unsigned long long)file_size);
}

int df11_st_read_header(df11_read_fn rd, void *ctx, uint64_t file_size,
			uint8_t **hdr, size_t *hdr_len, char *err,
			size_t errlen)
{
	uint8_t pre[8], *buf;
	uint64_t n;
	int rc;

	*hdr = NULL;
	*hdr_len = 0;
	if (file_size < 8) {
		df11_err_set(err, errlen,
			     "file too short for a safetensors header");
		return -EBADMSG;
	}
	if ((rc = rd(ctx, pre, sizeof(pre), 0)))
		goto read_error;
	if (df11_st_header_len(pre, file_size, &n)) {
		bad_len(pre, file_size, err, errlen);
		return -EBADMSG;
	}
	/* n <= DF11_ST_MAX_HEADER: 8 + n fits size_t */
	buf = malloc((size_t)n + 8);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, pre, sizeof(pre));
	if ((rc = rd(ctx, buf + 8, (size_t)n, 8))) {
		free(buf);
		goto read_error;
	}
	*hdr = buf;
	*hdr_len = (size_t)n + 8;
	return 0;
read_error:
	df11_err_set(err, errlen, "cannot read the header");
	return rc == -EBADMSG ? -EIO : rc;
}

int df11_st_lfs_pointer(const uint8_t *head, size_t len, uint64_t file_size)
{
	return head && len >= DF11_ST_LFS_PROBE &&
	       file_size >= DF11_ST_LFS_PROBE && file_size < DF11_ST_LFS_MAX &&
	       !memcmp(head, DF11_ST_LFS_MAGIC, DF11_ST_LFS_PROBE);
}
