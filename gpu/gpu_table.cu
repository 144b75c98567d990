/* SPDX-License-Identifier: MIT */
/*
 * gpu/gpu_table.cu - the per-unit device tables of libdf11gpu.so
 *
 * Per unit: the 12-bit multi-symbol table (the fill rule of the CPU
 * decoder's fast table, codec/df11_dec.c: an entry holds a symbol only if
 * every value of the later bits gives the reference walk's symbol) and the
 * luts, 37 KB, uploaded once and kept in an LRU keyed by the unit pointer.
 * A hit also compares the luts bytes, so a freed unit whose address is
 * reused cannot alias a stale table. The LRU holds at most mem / 16 bytes;
 * entries the current call needs stay.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_i.h"

/* the CPU decoder's sym_known(): one symbol from @avail known bits of w */
static int sym_known(const uint8_t *luts, unsigned n_luts, uint32_t w,
		     unsigned avail, unsigned *sym, unsigned *len)
{
	const uint8_t *lens = luts + 256 * (n_luts - 1);
	unsigned row = 0, d = 0;

	for (unsigned lvl = 0; lvl < 4; lvl++) {
		unsigned have = avail > 8 * lvl ? avail - 8 * lvl : 0;
		unsigned idx = (w >> (24 - 8 * lvl)) & 0xFF;
		const uint8_t *r = luts + 256 * row;
		if (have <
		    8) { /* do all entries the unknown bits reach agree? */
			unsigned span = 1u << (8 - have);
			idx &= ~(span - 1);
			for (unsigned k = 1; k < span; k++)
				if (r[idx + k] != r[idx])
					return 0;
		}
		d = r[idx];
		if (d < 240 || lvl == 3)
			break;
		if (have <= 8)
			return 0;
		row = 256 - d;
		if (row > n_luts - 2)
			return 0;
	}
	if (!lens[d] || lens[d] > avail)
		return 0;
	*sym = d;
	*len = lens[d];
	return 1;
}

/* the device table image: 4096 fast entries (kernel_i.h), then the luts */
static void build_table(const uint8_t *luts, unsigned n_luts, uint8_t *img)
{
	uint32_t *e = (uint32_t *)img;

	for (uint32_t v = 0; v < 4096; v++) {
		uint32_t w = v << 20, syms = 0, y = 0;
		unsigned used = 0, k = 0, s, l;
		while (k < 4 &&
		       sym_known(luts, n_luts, w << used, 12 - used, &s, &l)) {
			syms |= s << (8 * k++);
			used += l;
			y |= used << (4 + 4 * k);
		}
		e[2 * v] = k ? syms : 0;
		e[2 * v + 1] = k ? y | used << 28 | k : 0;
	}
	memset(img + DF11_K_TAB_BYTES, 0, DF11_K_LUT_BYTES);
	memcpy(img + DF11_K_TAB_BYTES, luts, 256 * (size_t)n_luts);
}

int df11_gpu_fail(struct impl *g)
{
	g->broken = 1;
	return -EIO;
}

static void evict(struct impl *g)
{
	size_t budget = g->mem / 16 / DF11_K_TABLE_BYTES + 1;

	while (g->ntabs > budget) {
		size_t victim = g->ntabs;
		for (size_t i = 0; i < g->ntabs; i++)
			if (g->tabs[i].used < g->calls &&
			    (victim == g->ntabs ||
			     g->tabs[i].used < g->tabs[victim].used))
				victim = i;
		if (victim == g->ntabs)
			return;
		cudaFree(g->tabs[victim].dev);
		g->tabs[victim] = g->tabs[--g->ntabs];
	}
}

/*
 * The device table of a job's unit: cached, checked, or built (then
 * *uploaded = 1: the caller synchronises before any launch, since a
 * cudaMemcpy from pageable memory may return before its DMA is done and
 * our streams do not wait for the legacy stream).
 */
static int table_of(struct impl *g, const struct df11_gpu_ijob *j,
		    const uint8_t **dev, int *uploaded)
{
	size_t lb = 256 * (size_t)j->n_luts;
	struct tabent *t = NULL;

	if (j->n_luts < 2 || j->n_luts > 18)
		return -EINVAL;
	for (size_t i = 0; i < g->ntabs; i++)
		if (g->tabs[i].key == j->key) {
			t = &g->tabs[i];
			break;
		}
	if (t && t->n_luts == j->n_luts && !memcmp(t->luts, j->luts, lb)) {
		t->used = g->calls;
		*dev = t->dev;
		return 0;
	}
	if (!t) {
		if (g->ntabs == g->tabcap) {
			size_t nc = g->tabcap ? 2 * g->tabcap : 16;
			void *p = realloc(g->tabs, nc * sizeof(*g->tabs));
			if (!p)
				return -ENOMEM;
			g->tabs = (struct tabent *)p;
			g->tabcap = nc;
		}
		t = &g->tabs[g->ntabs];
		memset(t, 0, sizeof(*t));
		if (cudaMalloc(&t->dev, DF11_K_TABLE_BYTES) != cudaSuccess)
			return df11_gpu_fail(g);
		g->ntabs++;
	}
	uint8_t *img = (uint8_t *)malloc(DF11_K_TABLE_BYTES);
	if (!img)
		return -ENOMEM;
	build_table(j->luts, j->n_luts, img);
	/* synchronous: no launch of this call is in flight yet */
	cudaError_t e =
	    cudaMemcpy(t->dev, img, DF11_K_TABLE_BYTES, cudaMemcpyHostToDevice);
	free(img);
	if (e != cudaSuccess)
		return df11_gpu_fail(g);
	t->key = j->key;
	t->n_luts = j->n_luts;
	memset(t->luts, 0, sizeof(t->luts));
	memcpy(t->luts, j->luts, lb);
	t->used = g->calls;
	*dev = t->dev;
	*uploaded = 1;
	return 0;
}

int df11_gpu_tables(struct impl *g, struct df11_gpu_ijob *jobs, size_t n,
		    const uint8_t ***tabs)
{
	const uint8_t **t = (const uint8_t **)malloc(n * sizeof(*t));
	int rc, uploaded = 0;

	if (!t)
		return -ENOMEM;
	g->calls++;
	for (size_t i = 0; i < n; i++) {
		jobs[i].rc = 0;
		if ((rc = table_of(g, &jobs[i], &t[i], &uploaded))) {
			free(t);
			return rc;
		}
	}
	if (uploaded && cudaDeviceSynchronize() != cudaSuccess) {
		free(t);
		return df11_gpu_fail(g);
	}
	evict(g);
	*tabs = t;
	return 0;
}
