/* SPDX-License-Identifier: MIT */
/*
 * codec/base64.c - RFC 4648 base64 with strict decoding
 *
 * Three bytes become four characters of six bits each, most significant
 * bits first:
 *
 *   bytes   aaaaaaaa bbbbbbbb cccccccc
 *   chars   aaaaaa aabbbb bbbbcc cccccc
 *
 * A final group of one or two bytes is written as two or three characters
 * and padded with '=' to four. The decoder is the exact inverse: it refuses
 * whitespace, the URL-safe alphabet, missing or misplaced padding and
 * non-zero leftover bits, so a corrupted index cannot decode "by accident"
 * to a header that differs from the one whose checksum it carries.
 */
#include <errno.h>

#include "base64.h"

static const char b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* the 6-bit value of character @c, or -1 when it is not in the alphabet */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t df11_b64_encoded_len(size_t len)
{
	size_t groups = len / 3 + (len % 3 != 0);

	if (groups > SIZE_MAX / 4 - 1)
		return 0;
	return groups * 4;
}

void df11_b64_encode(const uint8_t *src, size_t len, char *dst)
{
	size_t i = 0;

	for (; len - i >= 3; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 |
			     (uint32_t)src[i + 1] << 8 | src[i + 2];
		*dst++ = b64_alphabet[v >> 18];
		*dst++ = b64_alphabet[(v >> 12) & 63];
		*dst++ = b64_alphabet[(v >> 6) & 63];
		*dst++ = b64_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)src[i] << 16;
		*dst++ = b64_alphabet[v >> 18];
		*dst++ = b64_alphabet[(v >> 12) & 63];
		*dst++ = '=';
		*dst++ = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		*dst++ = b64_alphabet[v >> 18];
		*dst++ = b64_alphabet[(v >> 12) & 63];
		*dst++ = b64_alphabet[(v >> 6) & 63];
		*dst++ = '=';
	}
	*dst = '\0';
}

int df11_b64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0;

	if (len % 4)
		return -EBADMSG;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;

		for (int j = 0; j < 4; j++) {
			v[j] = b64_value(s[i + j]);
			if (v[j] >= 0)
				continue;
			/* '=' only in the last quantum's final positions */
			if (s[i + j] != '=' || i + 4 != len || j < 2)
				return -EBADMSG;
			pad = pad ? pad : 4 - j;
		}
		/* "x=y=" and "x==y" are not padding */
		if (pad == 2 && v[3] >= 0)
			return -EBADMSG;
		uint32_t w =
		    (uint32_t)(v[0] << 18 | v[1] << 12 | (pad ? 0 : v[3]) |
			       (pad == 2 ? 0 : v[2] << 6));
		dst[o++] = (uint8_t)(w >> 16);
		if (pad == 2) {
			if (w & 0xffff) /* leftover bits of "xy==" */
				return -EBADMSG;
			continue;
		}
		dst[o++] = (uint8_t)(w >> 8);
		if (pad == 1) {
			if (w & 0xff) /* leftover bits of "xyz=" */
				return -EBADMSG;
			continue;
		}
		dst[o++] = (uint8_t)w;
	}
	*out_len = o;
	return 0;
}
