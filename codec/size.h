/* SPDX-License-Identifier: MIT */
/*
 * codec/size.h - byte counts as people write them on a command line
 *
 * df11fs (-o cache_size=, max_shard_size=, ...) and df11
 * (--max-shard-size) read sizes through this one function, so that a
 * spelling means the same number to both:
 *
 *   N          N bytes (also "NB")
 *   NK NM NG NT        powers of 1024 (4G = 4 GiB, df11fs' cache_size)
 *   NKiB ... NTiB      powers of 1024
 *   NKB  ... NTB       powers of 1000, as Hugging Face reads
 *                      max_shard_size ("5GB" = 5 * 10^9 bytes)
 *
 * The prefix letter and the "i" may be of either case; the "B" must be
 * upper case, because Hugging Face reads a lower-case "b" as bits
 * ("5Gb" = 625,000,000 bytes): such a spelling is refused rather than
 * read either way. N is decimal digits only (no sign, fraction or blank).
 * A pure function: no state, thread-safe.
 */
#ifndef DF11_SIZE_H
#define DF11_SIZE_H

#include <stdint.h>

/**
 * df11_size_parse() - read the size @s (NUL-terminated) into *@out.
 * Return: 0; -EINVAL when @s is not spelled as above (*@out unchanged);
 * -EOVERFLOW when the value does not fit in 64 bits.
 */
int df11_size_parse(const char *s, uint64_t *out);

#endif
