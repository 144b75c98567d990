/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_limit.c - the per-container limits (docs/FORMAT.md §6)
 *
 * A container is refused before the work a limit bounds is spent:
 *
 *   outer header  its length, from the first 8 bytes, when the header
 *                 holds "df11":" as a writer spells the metadata key (a
 *                 scan in small reads, no memory held): such a header
 *                 past DF11_CT_HEADER_MAX is never parsed. A header
 *                 past it without those bytes is not a container
 *                 (-ENOMSG, docs/FORMAT.md §6), and is not parsed
 *                 either: a plain file's header may have 100 MB
 *                 (DF11_ST_MAX_HEADER), whose parse would take ten times
 *                 that. A header within the limit that spells the key
 *                 otherwise is parsed; df11_ct_check_outer() decides.
 *   streams       the outer header's tensor count, before the index
 *   chunks        every chunk's decoded size, df11 ones included
 *
 * ct_read.c checks the rest where the counts appear: tensors of the
 * original header, segments before their table is allocated, the chunk
 * total and the bytes of df11 tables while segments are parsed.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ct_i.h"

#define SCAN_BUF 65536u
#define KEY	 "\"" DF11_CT_META_KEY "\":\""

int df11_ct_check_frame(df11_read_fn rd, void *ctx, uint64_t file_size,
			char *err, size_t errlen)
{
	uint8_t buf[SCAN_BUF + sizeof(KEY)];
	const size_t keep = sizeof(KEY) - 2; /* a key across two reads */
	uint64_t n, at = 8, end;
	size_t have = 0;
	int rc;

	if (file_size < 8 || (rc = rd(ctx, buf, 8, 0)))
		return 0; /* df11_st_read_header() words it */
	n = df11_le_get64(buf);
	/* past DF11_ST_MAX_HEADER: df11_st_read_header() refuses it */
	if (n <= DF11_CT_HEADER_MAX - 8 || n > DF11_ST_MAX_HEADER ||
	    n > file_size - 8)
		return 0;
	end = 8 + n;
	while (at < end) {
		size_t k = end - at < SCAN_BUF ? (size_t)(end - at) : SCAN_BUF;

		if ((rc = rd(ctx, buf + have, k, at)))
			return rc;
		if (memmem(buf, have + k, KEY, sizeof(KEY) - 1)) {
			df11_err_set(err, errlen,
				     "df11 container header of %" PRIu64
				     " bytes: more than the limit of %u",
				     end, DF11_CT_HEADER_MAX);
			return -EBADMSG;
		}
		at += k;
		k += have; /* keep the last bytes: a key may straddle reads */
		have = k < keep ? k : keep;
		memmove(buf, buf + k - have, have);
	}
	df11_err_set(err, errlen, "not a df11 container");
	return -ENOMSG;
}

int df11_ct_check_outer(const struct df11_st *outer, uint64_t hdr_len,
			char *err, size_t errlen)
{
	size_t n = df11_st_n_tensors(outer);

	if (hdr_len > DF11_CT_HEADER_MAX) {
		df11_err_set(err, errlen,
			     "df11 container header of %" PRIu64
			     " bytes: more than the limit of %u",
			     hdr_len, DF11_CT_HEADER_MAX);
		return -EBADMSG;
	}
	if (n > DF11_CT_STREAMS_MAX) {
		df11_err_set(err, errlen,
			     "df11 container of %zu streams: more than the "
			     "limit of %u",
			     n, DF11_CT_STREAMS_MAX);
		return -EBADMSG;
	}
	return 0;
}

int df11_ct_seg_max_chunk(const struct ct_seg *s, uint64_t *max)
{
	for (uint64_t k = 0; k < s->pub.n_chunks; k++) {
		uint64_t rel, len;

		if (df11_ct_chunk_bounds(s, k, &rel, &len) ||
		    len > DF11_CT_CHUNK_MAX)
			return -EBADMSG;
		if (len > *max)
			*max = len;
		if (s->pub.codec != DF11_CODEC_DF11)
			break; /* the first chunk is the largest */
	}
	return 0;
}
