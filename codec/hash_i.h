/* SPDX-License-Identifier: MIT */
/*
 * codec/hash_i.h - XXH3-64 from libxxhash, at the machine's vector width
 *
 * Debian's libxxhash.so runs plain XXH3_64bits() at about one instruction
 * per byte. On x86-64 the same library exports XXH3_64bits_dispatch(),
 * which picks SSE2, AVX2 or AVX-512 at run time (about 10, 30 and 40 GB/s
 * here); elsewhere the library's header is compiled inline (SSE2 or NEON).
 * Same algorithm, same values: checking every decoded chunk then costs
 * little next to decoding it.
 */
#ifndef DF11_HASH_I_H
#define DF11_HASH_I_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) && defined(__has_include)
#if __has_include(<xxh_x86dispatch.h>)
#include <xxh_x86dispatch.h>
#define DF11_XXH3_DISPATCH 1
#endif
#endif

#ifndef DF11_XXH3_DISPATCH
#define XXH_INLINE_ALL
#include <xxhash.h>
#endif

/* XXH3-64 of @n bytes at @p */
static inline uint64_t df11_xxh3(const void *p, size_t n)
{
#ifdef DF11_XXH3_DISPATCH
	return XXH3_64bits_dispatch(p, n);
#else
	return XXH3_64bits(p, n);
#endif
}

#endif
