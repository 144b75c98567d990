// SPDX-License-Identifier: MIT
/*
 * codec/size.c - byte counts as people write them (codec/size.h)
 *
 * The suffix is read after the digits as [prefix [i]] [B]: the prefix
 * gives the power, an "i" or a bare prefix base 1024, a prefix with "B"
 * and no "i" base 1000. Anything after that is an error.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "codec/size.h"

int df11_size_parse(const char *s, uint64_t *out)
{
	static const char prefixes[] = "kmgt";
	uint64_t v = 0, mul = 1, base = 1024;
	const char *p = s, *pre;
	unsigned power = 0;

	if (!s || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -EOVERFLOW;
	pre = *p ? strchr(prefixes, *p | 0x20) : NULL;
	if (pre) {
		power = (unsigned)(pre - prefixes) + 1;
		p++;
		if (*p == 'i' || *p == 'I') {
			/* "Gi" alone, or "Gib" (bits) */
			if (p[1] != 'B')
				return -EINVAL;
			p += 2;
		} else if (*p == 'B') {
			base = 1000; /* "GB": decimal, as Hugging Face */
			p++;
		}
	} else if (*p == 'B') {
		p++;
	}
	if (*p)
		return -EINVAL;
	while (power--)
		if (__builtin_mul_overflow(mul, base, &mul))
			return -EOVERFLOW;
	if (__builtin_mul_overflow(v, mul, &v))
		return -EOVERFLOW;
	*out = v;
	return 0;
}
