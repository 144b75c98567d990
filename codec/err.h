/* SPDX-License-Identifier: MIT */
/*
 * codec/err.h - one-line failure reasons
 *
 * Functions that can fail for a reason worth telling take a caller-owned
 * buffer (char *err, size_t errlen) next to their -errno return. The
 * reason is one line, lowercase, without a full stop, with the subject
 * quoted ("tensor 'x': data_offsets past the end"); the front end puts
 * the file name and the program name in front of it. Names inside a
 * reason come from untrusted files, so every control byte of it is
 * replaced, and a reason never spans two log lines.
 */
#ifndef DF11_ERR_H
#define DF11_ERR_H

#include <stdarg.h>
#include <stddef.h>

/**
 * df11_err_set() - format a one-line reason into @err (@errlen bytes,
 * cut to fit, always NUL-terminated); control bytes (0x00-0x1f, 0x7f)
 * become '?'. A no-op when @err is NULL or @errlen is 0.
 * Thread-safe: touches @err only.
 */
void df11_err_set(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** df11_err_vset() - df11_err_set() with a va_list. */
void df11_err_vset(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
