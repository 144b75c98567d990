/* SPDX-License-Identifier: MIT */
/*
 * codec/base64.h - RFC 4648 base64 with strict decoding
 *
 * Two JSON documents carry header bytes as base64 text: the container's
 * index (the original safetensors header) and the df11-headers file of
 * official/ (every original header and the index json). Both use these
 * functions, so this header is public. Encoding uses the standard
 * alphabet with '=' padding; decoding accepts exactly what the encoder
 * writes and nothing else. Pure functions: no state, thread-safe.
 */
#ifndef DF11_BASE64_H
#define DF11_BASE64_H

#include <stddef.h>
#include <stdint.h>

/**
 * df11_b64_encoded_len() - characters df11_b64_encode() writes for @len
 * bytes, NUL excluded: 4 * ceil(@len / 3).
 * Return: that count, or 0 when it would overflow size_t (for @len > 0).
 */
size_t df11_b64_encoded_len(size_t len);

/**
 * df11_b64_encode() - base64 of @src (@len bytes) into @dst, which holds
 * df11_b64_encoded_len(@len) + 1 bytes; the text is NUL-terminated.
 */
void df11_b64_encode(const uint8_t *src, size_t len, char *dst);

/**
 * df11_b64_decode() - decode @len characters of @src into @dst, which
 * holds at least @len / 4 * 3 bytes; *@out_len receives the decoded size.
 * Strict: @len must be a multiple of 4, only the standard alphabet, '='
 * only as one or two final padding characters, and the bits a padded
 * quantum leaves over must be zero (one text per byte string).
 * Return: 0, or -EBADMSG for anything else.
 */
int df11_b64_decode(const char *src, size_t len, uint8_t *dst, size_t *out_len);

#endif
