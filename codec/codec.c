/* SPDX-License-Identifier: MIT */
/*
 * codec/codec.c - helpers every part of the codec shares (codec_i.h):
 * the one-line failure reason (codec/err.h)
 */
#include <stdio.h>

#include "codec_i.h"

void df11_err_vset(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (!err || !errlen)
		return;
	vsnprintf(err, errlen, fmt, ap);
	/* names are untrusted: keep the message on one line */
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void df11_err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	df11_err_vset(err, errlen, fmt, ap);
	va_end(ap);
}
