/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/decode_mt.h - decode one weight range on several threads, as
 * the cache's workers do (the codec itself starts no threads): weights
 * [a, b) are cut into @nthr equal parts, each decoded by df11_unit_decode()
 * on a thread of its own with a scratch of its own. For benchmarks and the
 * GPU tests' CPU reference.
 */
#ifndef DF11_DECODE_MT_H
#define DF11_DECODE_MT_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "codec/df11.h"

#define MT_MAX 64u

struct mt_part {
	const struct df11_unit *u;
	const struct df11_span *e, *g, *s;
	uint64_t a, b, base;
	uint8_t *out;
	int rc;
};

static void *mt_run(void *arg)
{
	struct mt_part *p = arg;
	struct df11_scratch *sc = NULL;

	df11_scratch_new(&sc); /* NULL: a temporary stage */
	p->rc = df11_unit_decode(p->u, p->e, p->g, p->s, p->a, p->b,
				 p->out + 2 * (p->a - p->base), sc);
	df11_scratch_free(sc);
	return NULL;
}

/* df11_unit_decode() of [a, b) into @out on @nthr threads: 0 or an error */
static inline int unit_decode_mt(const struct df11_unit *u,
				 const struct df11_span *e,
				 const struct df11_span *g,
				 const struct df11_span *s, uint64_t a,
				 uint64_t b, void *out, unsigned nthr)
{
	struct mt_part p[MT_MAX];
	pthread_t tid[MT_MAX];
	int started[MT_MAX] = {0}, rc = 0;

	if (nthr < 1)
		nthr = 1;
	if (nthr > MT_MAX)
		nthr = MT_MAX;
	if ((uint64_t)nthr > b - a)
		nthr = b > a ? (unsigned)(b - a) : 1;
	for (unsigned t = 0; t < nthr; t++) {
		p[t] = (struct mt_part){u,
					e,
					g,
					s,
					a + (b - a) * t / nthr,
					a + (b - a) * (t + 1) / nthr,
					a,
					out,
					0};
		started[t] = t && !pthread_create(&tid[t], NULL, mt_run, &p[t]);
	}
	for (unsigned t = 0; t < nthr; t++)
		if (!started[t])
			mt_run(&p[t]);
	for (unsigned t = 0; t < nthr; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		if (p[t].rc && !rc)
			rc = p[t].rc;
	}
	return rc;
}

#endif
