/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_i.h - what the libFuzzer targets share: the entry point,
 * a check that aborts (libFuzzer reports it as a crash), and a read
 * callback over the input that aborts on a read outside it
 */
#ifndef DF11_FUZZ_I_H
#define DF11_FUZZ_I_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

struct mem {
	const uint8_t *p;
	size_t len;
};

/* a read callback (df11_read_fn) over struct mem @ctx */
static inline int mem_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct mem *m = ctx;

	CHECK(off <= m->len && len <= m->len - off);
	memcpy(buf, m->p + off, len);
	return 0;
}

#endif
