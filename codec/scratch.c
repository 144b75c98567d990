/* SPDX-License-Identifier: MIT */
/*
 * codec/scratch.c - per-thread working memory, and the fetch half of
 * decoding a weight range
 *
 * Reading weights [a, b) of a unit takes two steps, so that the decode
 * itself can run wherever the caller likes (this thread, or a GPU batch):
 *
 *   df11_unit_fetch()   asks the caller's fetch callback for exactly the
 *                       stream bytes df11_unit_need() names, into the
 *                       scratch, and describes the decode as a df11_plan
 *   df11_unit_decode()  runs a plan on the CPU (gpu/gpu.h on a GPU)
 *
 * Both kinds of source (native containers, official directories) fetch
 * through here; only their fetch callbacks differ.
 */
#include <errno.h>
#include <stdlib.h>

#include "df11.h"
#include "scratch_i.h"

int df11_scratch_new(struct df11_scratch **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void df11_scratch_free(struct df11_scratch *s)
{
	if (!s)
		return;
	for (int i = 0; i < 3; i++)
		free(s->buf[i]);
	free(s->stage);
	free(s);
}

/* grow *@p (capacity *@cap) to @len bytes, contents not kept */
static uint8_t *grow(uint8_t **p, size_t *cap, uint64_t len)
{
	uint8_t *n;

	if (len <= *cap && *p)
		return *p;
	if (len > SIZE_MAX)
		return NULL;
	/* contents are not kept: free first, so peak memory stays one copy */
	free(*p);
	*cap = 0;
	*p = n = malloc(len ? (size_t)len : 1);
	if (n)
		*cap = (size_t)len;
	return n;
}

uint8_t *df11_scratch_buf(struct df11_scratch *sc, enum df11_stream i,
			  uint64_t len)
{
	return grow(&sc->buf[i], &sc->cap[i], len);
}

uint8_t *df11_scratch_stage(struct df11_scratch *sc, size_t len)
{
	return grow(&sc->stage, &sc->stage_cap, len);
}

int df11_unit_fetch(const struct df11_unit *u, df11_fetch_fn fetch, void *ctx,
		    uint64_t a, uint64_t b, struct df11_scratch *sc,
		    struct df11_plan *plan)
{
	struct df11_need nd;
	uint8_t *pe, *pg, *ps;
	int rc;

	if (df11_unit_need(u, a, b, &nd))
		return -EBADMSG;
	pe = df11_scratch_buf(sc, DF11_STREAM_ENC, nd.enc_len);
	pg = df11_scratch_buf(sc, DF11_STREAM_GAPS, nd.gaps_len);
	ps = df11_scratch_buf(sc, DF11_STREAM_SM, nd.sm_len);
	if (!pe || !pg || !ps)
		return -ENOMEM;
	if ((rc = fetch(ctx, DF11_STREAM_ENC, nd.enc_off, nd.enc_len, pe)) ||
	    (rc = fetch(ctx, DF11_STREAM_GAPS, nd.gaps_off, nd.gaps_len, pg)) ||
	    (rc = fetch(ctx, DF11_STREAM_SM, nd.sm_off, nd.sm_len, ps)))
		return rc;
	*plan = (struct df11_plan){
	    .u = u,
	    .enc = {pe, nd.enc_off, (size_t)nd.enc_len},
	    .gaps = {pg, nd.gaps_off, (size_t)nd.gaps_len},
	    .sm = {ps, nd.sm_off, (size_t)nd.sm_len},
	    .a = a,
	    .b = b,
	};
	return 0;
}
