/* SPDX-License-Identifier: MIT */
/*
 * gpu/gpu.c - gpu/gpu.h in plain C: load libdf11gpu.so, prepare jobs
 *
 * This file has no CUDA dependency and is built on every machine. It
 * dlopen()s the CUDA part (next to the executable, then in
 * ../lib/df11fs/ from it, where `make install` puts it, then through the
 * dynamic loader's search path), resolves the df11_gpu_impl_* ABI of
 * gpu/gpu_i.h, and turns each public job into the plain description the
 * CUDA side decodes:
 *
 *   - the same argument checks as df11_unit_decode() (df11_unit_need(),
 *     span coverage), so a job the CPU refuses with -EINVAL is refused
 *     here too and never reaches the device;
 *   - the blocks [b0, b1) holding [a, b), their output_positions, and the
 *     exact byte ranges to copy. The encoded range is the one
 *     df11_unit_need() names, except for one odd case: when the range
 *     ends in the last block that holds codes but that block is not the
 *     last of the stream (the official short output_positions form, or a
 *     crafted index), the reference walk of that block may read on to the
 *     end of the caller's span; we copy as far as it can possibly read
 *     (32 bits per symbol), so the device sees the same bits.
 *
 * Bits past the copied range read as zero on the device, as bits past the
 * span do on the CPU; with the ranges above, every walk that can succeed
 * reads the same bits on both, so the verdicts and bytes agree.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/df11.h"
#include "codec/err.h"
#include "gpu/gpu.h"
#include "gpu/gpu_i.h"

struct df11_gpu {
	void *dl;
	void *h;
	df11_gpu_impl_close_fn close;
	df11_gpu_impl_decode_fn decode;
	df11_gpu_impl_host_alloc_fn host_alloc;
	df11_gpu_impl_host_free_fn host_free;
	df11_gpu_impl_time_fn time;
	char name[256];
};

/*
 * Where an installed library lies relative to the executable's directory:
 * next to it (the build tree), then PREFIX/lib/df11fs for PREFIX/bin
 * (`make install`, also under a DESTDIR).
 */
static const char *const exe_rel[] = {"", "../lib/df11fs/"};

/* dlopen @path, saying why not in @err */
static void *load_path(const char *path, char *err, size_t errlen)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);

	if (!dl)
		df11_err_set(err, errlen, "cannot load '%s': %s", path,
			     dlerror());
	return dl;
}

/* dlopen the library: @lib, else where exe_rel says, else by name */
static void *load(const char *lib, char *err, size_t errlen)
{
	char exe[4096], path[4096 + 64];
	ssize_t k;

	if (lib)
		return load_path(lib, err, errlen);
	k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (k > 0 && (exe[k] = 0, strrchr(exe, '/'))) {
		strrchr(exe, '/')[1] = 0;
		for (size_t i = 0; i < sizeof(exe_rel) / sizeof(exe_rel[0]);
		     i++) {
			snprintf(path, sizeof(path), "%s%s%s", exe, exe_rel[i],
				 DF11_GPU_SO);
			if (access(path, F_OK) == 0)
				return load_path(path, err, errlen);
		}
	}
	return load_path(DF11_GPU_SO, err, errlen);
}

/* resolve one symbol into a function pointer (POSIX dlsym idiom) */
#define RESOLVE(dl, var, sym)                                                  \
	(*(void **)(&(var)) = dlsym((dl), (sym)), (var) != NULL)

int df11_gpu_open(struct df11_gpu **out, const struct df11_gpu_opts *o,
		  char *err, size_t errlen)
{
	static const struct df11_gpu_opts dflt;
	df11_gpu_impl_abi_fn abi;
	df11_gpu_impl_open_fn open_fn;
	struct df11_gpu *g;
	int rc = -ENODEV;

	*out = NULL;
	if (!o)
		o = &dflt;
	if (!(g = calloc(1, sizeof(*g))))
		return -ENOMEM;
	if (!(g->dl = load(o->lib, err, errlen)))
		goto fail;
	if (!RESOLVE(g->dl, abi, "df11_gpu_impl_abi") ||
	    !RESOLVE(g->dl, open_fn, "df11_gpu_impl_open") ||
	    !RESOLVE(g->dl, g->close, "df11_gpu_impl_close") ||
	    !RESOLVE(g->dl, g->decode, "df11_gpu_impl_decode") ||
	    !RESOLVE(g->dl, g->host_alloc, "df11_gpu_impl_host_alloc") ||
	    !RESOLVE(g->dl, g->host_free, "df11_gpu_impl_host_free") ||
	    !RESOLVE(g->dl, g->time, "df11_gpu_impl_time")) {
		df11_err_set(err, errlen, "%s: missing df11_gpu_impl_* symbols",
			     DF11_GPU_SO);
		goto fail;
	}
	if (abi() != DF11_GPU_ABI) {
		df11_err_set(err, errlen,
			     "%s: ABI version mismatch (rebuild it)",
			     DF11_GPU_SO);
		goto fail;
	}
	rc = open_fn(&g->h, o->device, o->mem ? o->mem : (uint64_t)1 << 30,
		     g->name, sizeof(g->name), err, errlen);
	if (rc)
		goto fail;
	*out = g;
	return 0;
fail:
	/* RTLD_NODELETE: the CUDA runtime's exit handlers stay mapped */
	if (g->dl)
		dlclose(g->dl);
	free(g);
	return rc;
}

void df11_gpu_close(struct df11_gpu *g)
{
	if (!g)
		return;
	g->close(g->h);
	dlclose(g->dl);
	free(g);
}

const char *df11_gpu_name(const struct df11_gpu *g)
{
	return g->name;
}

void *df11_gpu_host_alloc(struct df11_gpu *g, size_t len)
{
	return len ? g->host_alloc(g->h, len) : NULL;
}

void df11_gpu_host_free(struct df11_gpu *g, void *p)
{
	if (p)
		g->host_free(g->h, p);
}

static int covers(const struct df11_span *s, uint64_t off, uint64_t len)
{
	return s->p && s->off <= off && off - s->off <= s->len &&
	       len <= s->len - (off - s->off);
}

/* check one job as df11_unit_decode() would; fill @ij but for op */
static int prep(const struct df11_gpu_job *j, struct df11_gpu_ijob *ij,
		struct df11_need *nd)
{
	const struct df11_unit *u = j->u;

	if (!u || !j->out || df11_unit_need(u, j->a, j->b, nd))
		return -EINVAL;
	if (!covers(&j->enc, nd->enc_off, nd->enc_len) ||
	    !covers(&j->gaps, nd->gaps_off, nd->gaps_len) ||
	    !covers(&j->sm, nd->sm_off, nd->sm_len))
		return -EINVAL;
	memset(ij, 0, sizeof(*ij));
	ij->key = u;
	ij->luts = df11_unit_luts(u, &ij->n_luts);
	ij->n = df11_unit_n_elems(u);
	ij->n_bytes = df11_unit_n_bytes(u);
	ij->nb = df11_unit_n_blocks(u);
	ij->b0 = nd->b0;
	ij->b1 = nd->b1;
	ij->a = j->a;
	ij->b = j->b;
	ij->enc = j->enc.p + (nd->enc_off - j->enc.off);
	ij->enc_len = nd->enc_len;
	ij->gaps = j->gaps.p + (nd->gaps_off - j->gaps.off);
	ij->gaps_len = nd->gaps_len;
	ij->sm = j->sm.p + (j->a - j->sm.off);
	ij->out = j->out;
	return 0;
}

/* output_positions of blocks b0..b1, the largest count, the tail rule */
static void fill_op(const struct df11_gpu_job *j, struct df11_gpu_ijob *ij,
		    uint32_t *op)
{
	uint32_t max = 0;

	for (uint64_t k = ij->b0; k <= ij->b1; k++) {
		op[k - ij->b0] = (uint32_t)df11_unit_block_start(j->u, k);
		if (k > ij->b0 && op[k - ij->b0] - op[k - 1 - ij->b0] > max)
			max = op[k - ij->b0] - op[k - 1 - ij->b0];
	}
	ij->op = op;
	ij->max_cnt = max;
	uint64_t last = ij->b1 - ij->b0;
	if (ij->b1 < ij->nb && op[last] == ij->n) {
		/* the reference walk of block b1 - 1 may run past b1 */
		uint64_t cnt = op[last] - op[last - 1];
		uint64_t reach = DF11_BLOCK_BYTES * (ij->b1 - 1) + 4 * cnt + 8;
		uint64_t span_end = j->enc.off + j->enc.len;
		uint64_t end = ij->b0 * DF11_BLOCK_BYTES + ij->enc_len;
		if (reach > span_end)
			reach = span_end;
		if (reach > ij->n_bytes)
			reach = ij->n_bytes;
		if (reach > end)
			ij->enc_len = reach - ij->b0 * DF11_BLOCK_BYTES;
	}
}

/*
 * Prepare @n jobs: @ij gets the valid ones (their indices in @idx), the
 * others get their rc now. Returns the count of valid jobs, or -ENOMEM.
 */
static long prepare(struct df11_gpu_job *jobs, size_t n,
		    struct df11_gpu_ijob **ijp, size_t **idxp, uint32_t **opp)
{
	struct df11_gpu_ijob *ij = malloc(n * sizeof(*ij));
	size_t *idx = malloc(n * sizeof(*idx)), m = 0, nop = 0;
	uint32_t *op = NULL;
	struct df11_need nd;

	if (!ij || !idx)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		jobs[i].rc = prep(&jobs[i], &ij[m], &nd);
		if (jobs[i].rc)
			continue;
		nop += ij[m].b1 - ij[m].b0 + 1;
		idx[m++] = i;
	}
	if (m && !(op = malloc(nop * sizeof(*op))))
		goto nomem;
	nop = 0;
	for (size_t k = 0; k < m; k++) {
		fill_op(&jobs[idx[k]], &ij[k], op + nop);
		nop += ij[k].b1 - ij[k].b0 + 1;
	}
	*ijp = ij;
	*idxp = idx;
	*opp = op;
	return (long)m;
nomem:
	free(ij);
	free(idx);
	return -ENOMEM;
}

int df11_gpu_decode(struct df11_gpu *g, struct df11_gpu_job *jobs, size_t n)
{
	struct df11_gpu_ijob *ij;
	size_t *idx;
	uint32_t *op;
	long m;
	int rc = 0;

	if (!n)
		return 0;
	if ((m = prepare(jobs, n, &ij, &idx, &op)) < 0)
		return (int)m;
	if (m)
		rc = g->decode(g->h, ij, (size_t)m);
	for (long k = 0; !rc && k < m; k++)
		jobs[idx[k]].rc = ij[k].rc;
	free(op);
	free(idx);
	free(ij);
	return rc;
}

int df11_gpu_time_kernel(struct df11_gpu *g, struct df11_gpu_job *jobs,
			 size_t n, unsigned reps, struct df11_gpu_timing *t)
{
	struct df11_gpu_ijob *ij;
	size_t *idx;
	uint32_t *op;
	long m;
	int rc = -EINVAL;

	if (!n || !reps)
		return -EINVAL;
	if ((m = prepare(jobs, n, &ij, &idx, &op)) < 0)
		return (int)m;
	if ((size_t)m == n)
		rc = g->time(g->h, ij, n, reps, t);
	for (long k = 0; !rc && k < m; k++)
		jobs[idx[k]].rc = ij[k].rc;
	free(op);
	free(idx);
	free(ij);
	return rc;
}
