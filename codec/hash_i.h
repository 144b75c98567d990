/* SPDX-License-Identifier: MIT */
/*
 * codec/hash_i.h - XXH3-64 from libxxhash, compiled inline
 *
 * Debian's libxxhash.so runs XXH3 at about one instruction per byte (no
 * vector path is picked at run time); the same library's header, compiled
 * inline here, uses SSE2 on every x86-64 (NEON on arm64) and runs several
 * times faster. Checking every decoded chunk then costs little next to
 * decoding it. Same algorithm, same values.
 */
#ifndef DF11_HASH_I_H
#define DF11_HASH_I_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#endif
