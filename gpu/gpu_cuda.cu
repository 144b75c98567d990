/* SPDX-License-Identifier: MIT */
/*
 * gpu/gpu_cuda.cu - host side of libdf11gpu.so: device, pieces, batches
 *
 * Implements the df11_gpu_impl_* ABI of gpu/gpu_i.h with the CUDA runtime
 * (linked statically: the library needs only the driver, libcuda.so.1).
 * Every CUDA error becomes -EIO and marks the device broken; nothing here
 * exits or prints.
 *
 * Tables: gpu/gpu_table.cu. The benchmark hook: gpu/gpu_time.cu.
 *
 * Batches. Jobs are cut at block boundaries into pieces that fit one
 * slot (device buffer + pinned staging buffer of the same size); NSLOT
 * slots rotate on their own streams, so while slot k's inputs are copied,
 * slot k-1 decodes and slot k-2 copies its output back, and the CPU packs
 * the next slot. Inputs and outputs in memory from df11_gpu_host_alloc()
 * are copied directly; others pass through the staging buffer. A slot's
 * layout (offsets into both buffers, each item 16-byte aligned):
 *
 *   [pieces][rc][op slices][staged enc|gaps|sm] -> one H2D copy
 *   [direct enc|gaps|sm]                        -> one H2D copy each
 *   [staged out]                                -> one D2H copy
 *   [direct out]                                -> one D2H copy each
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_i.h"

/* ------------------------------------------------------------- pieces */

static int is_pinned(const struct impl *g, const void *p, uint64_t len)
{
	const uint8_t *q = (const uint8_t *)p;
	for (size_t i = 0; i < g->nhb; i++)
		if (q >= g->hb[i].p && len <= g->hb[i].len &&
		    (size_t)(q - g->hb[i].p) <= g->hb[i].len - len)
			return 1;
	return 0;
}

/* fill a piece's ranges from its job and block range [lb0, lb1) */
void df11_gpu_derive(const struct impl *g, const struct df11_gpu_ijob *j,
		     struct piece *p)
{
	uint64_t nblk = j->b1 - j->b0;
	uint64_t s = j->op[p->lb0], e = j->op[p->lb1];

	p->a = s > j->a ? s : j->a;
	p->b = e < j->b ? e : j->b;
	p->op = j->op + p->lb0;
	p->enc = j->enc + BLK_BYTES * p->lb0;
	p->enc_len = j->enc_len - BLK_BYTES * p->lb0;
	p->gaps = j->gaps + GAPS_BYTES * p->lb0;
	p->gaps_len = j->gaps_len - GAPS_BYTES * p->lb0;
	if (p->lb1 < nblk) { /* a cut inside the job: 8 bytes, 1 gaps byte */
		uint64_t el = BLK_BYTES * (p->lb1 - p->lb0) + 8;
		uint64_t gl = GAPS_BYTES * (p->lb1 - p->lb0) + 1;
		p->enc_len = p->enc_len < el ? p->enc_len : el;
		p->gaps_len = p->gaps_len < gl ? p->gaps_len : gl;
	}
	p->sm = j->sm + (p->a - j->a);
	p->out = (uint8_t *)j->out + 2 * (p->a - j->a);
	p->in_direct = g && is_pinned(g, p->enc, p->enc_len) &&
		       is_pinned(g, p->gaps, p->gaps_len) &&
		       is_pinned(g, p->sm, p->b - p->a);
	p->out_direct = g && is_pinned(g, p->out, 2 * (p->b - p->a));
}

static size_t piece_bytes(const struct piece *p)
{
	uint64_t n = p->b - p->a;
	return sizeof(struct df11_djob) + 16 + A16(4 * (p->lb1 - p->lb0 + 1)) +
	       A16(p->enc_len) + A16(p->gaps_len) + A16(n) + A16(2 * n);
}

/* place the pieces in a buffer; returns the total size */
size_t df11_gpu_layout(struct piece *pc, size_t n, size_t *rc_off,
		       size_t *in_end, size_t *out0, size_t *out1)
{
	size_t off = A16(n * sizeof(struct df11_djob));

	*rc_off = off;
	off += A16(4 * (n + 1)); /* + the count of reference walks */
	for (size_t i = 0; i < n; i++) {
		pc[i].o_op = off;
		off += A16(4 * (pc[i].lb1 - pc[i].lb0 + 1));
	}
	for (int direct = 0; direct < 2; direct++) {
		for (size_t i = 0; i < n; i++) {
			if (pc[i].in_direct != direct)
				continue;
			pc[i].o_enc = off;
			off += A16(pc[i].enc_len);
			pc[i].o_gaps = off;
			off += A16(pc[i].gaps_len);
			pc[i].o_sm = off;
			off += A16(pc[i].b - pc[i].a);
		}
		if (!direct)
			*in_end = off;
	}
	for (int direct = 0; direct < 2; direct++) {
		if (direct)
			*out1 = off;
		else
			*out0 = off;
		for (size_t i = 0; i < n; i++) {
			if (pc[i].out_direct != direct)
				continue;
			pc[i].o_out = off;
			off += A16(2 * (pc[i].b - pc[i].a));
		}
	}
	return off;
}

/* the kernel's piece table, in host memory @h (device base @d) */
void df11_gpu_fill(struct piece *pc, size_t n, const struct df11_gpu_ijob *jobs,
		   const uint8_t *const *tabs, uint8_t *h, uint8_t *d,
		   uint64_t *work, uint32_t *max_cnt)
{
	struct df11_djob *dj = (struct df11_djob *)h;
	uint64_t w = 0;

	*max_cnt = 0;
	for (size_t i = 0; i < n; i++) {
		const struct df11_gpu_ijob *j = &jobs[pc[i].job];
		struct df11_djob x;
		memset(&x, 0, sizeof(x));
		x.enc = d + pc[i].o_enc;
		x.gaps = d + pc[i].o_gaps;
		x.sm = d + pc[i].o_sm;
		x.out = (uint16_t *)(d + pc[i].o_out);
		x.op = (const uint32_t *)(d + pc[i].o_op);
		x.tab = tabs[pc[i].job];
		x.enc_len = pc[i].enc_len;
		x.gaps_len = pc[i].gaps_len;
		x.a = pc[i].a;
		x.b = pc[i].b;
		x.b0 = j->b0 + pc[i].lb0;
		x.nblk = pc[i].lb1 - pc[i].lb0;
		x.w0 = w;
		x.nb = j->nb;
		x.n = j->n;
		x.n_bytes = j->n_bytes;
		x.n_luts = j->n_luts;
		w += x.nblk;
		memcpy(&dj[i], &x, sizeof(x));
		memcpy(h + pc[i].o_op, pc[i].op, 4 * (x.nblk + 1));
		if (j->max_cnt > *max_cnt)
			*max_cnt = j->max_cnt;
	}
	*work = w;
}

int df11_gpu_launch(struct impl *g, uint8_t *d, size_t n, size_t rc_off,
		    uint64_t work, uint32_t max_cnt, cudaStream_t st,
		    struct df11_gpu_timing *t)
{
	size_t smem = df11_k_smem(max_cnt);
	int occ = 0;

	CK(g, df11_k_occupancy(smem, &occ));
	if (occ < 1)
		return df11_gpu_fail(g);
	uint64_t grid = (uint64_t)g->sms * (unsigned)occ;
	if (grid > work)
		grid = work;
	CK(g, df11_k_launch((const struct df11_djob *)d, (uint32_t)n, work,
			    (int *)(d + rc_off), (unsigned)grid, smem, st));
	if (t) {
		t->grid = (unsigned)grid;
		t->smem = (unsigned)smem;
		t->occupancy = (unsigned)occ;
	}
	return 0;
}

/* ------------------------------------------------------------- slots */

/* a slot's buffers, on first use; -ENOMEM leaves the device usable */
static int slot_alloc(struct impl *g, struct slot *s)
{
	if (s->h && s->d)
		return 0;
	if (!s->h && cudaMallocHost(&s->h, g->slot_cap) != cudaSuccess)
		s->h = NULL;
	if (!s->d && cudaMalloc(&s->d, g->slot_cap) != cudaSuccess)
		s->d = NULL;
	if (!s->h || !s->d) {
		cudaGetLastError(); /* out of memory is not sticky */
		return -ENOMEM;
	}
	s->cap = g->slot_cap;
	return 0;
}

/* wait for a slot's batch, deliver staged outputs and piece verdicts */
static int slot_finish(struct impl *g, struct slot *s,
		       struct df11_gpu_ijob *jobs)
{
	if (!s->busy)
		return 0;
	s->busy = 0;
	CK(g, cudaEventSynchronize(s->ev));
	const int *rc = (const int *)(s->h + s->rc_off);
	for (size_t i = 0; i < s->npc; i++) {
		struct piece *p = &s->pc[i];
		if (rc[i])
			jobs[p->job].rc = -EBADMSG;
		if (!p->out_direct)
			memcpy(p->out, s->h + p->o_out, 2 * (p->b - p->a));
	}
	return 0;
}

static int slot_add(struct slot *s, const struct piece *p)
{
	if (s->npc == s->pccap) {
		size_t nc = s->pccap ? 2 * s->pccap : 64;
		void *q = realloc(s->pc, nc * sizeof(*s->pc));
		if (!q)
			return -ENOMEM;
		s->pc = (struct piece *)q;
		s->pccap = nc;
	}
	s->pc[s->npc++] = *p;
	return 0;
}

/* pack, copy in, decode, copy out: the slot's pieces, asynchronously */
static int slot_run(struct impl *g, struct slot *s,
		    const struct df11_gpu_ijob *jobs,
		    const uint8_t *const *tabs)
{
	size_t in_end, out0, out1;
	uint64_t work;
	uint32_t max_cnt;
	size_t end =
	    df11_gpu_layout(s->pc, s->npc, &s->rc_off, &in_end, &out0, &out1);
	uint8_t *h = s->h, *d = s->d;

	if (end > s->cap)
		return -EINVAL; /* cannot happen: pieces are sized to fit */
	df11_gpu_fill(s->pc, s->npc, jobs, tabs, h, d, &work, &max_cnt);
	memset(h + s->rc_off, 0, 4 * (s->npc + 1));
	for (size_t i = 0; i < s->npc; i++) {
		struct piece *p = &s->pc[i];
		if (p->in_direct)
			continue;
		memcpy(h + p->o_enc, p->enc, p->enc_len);
		memcpy(h + p->o_gaps, p->gaps, p->gaps_len);
		memcpy(h + p->o_sm, p->sm, p->b - p->a);
	}
	CK(g, cudaMemcpyAsync(d, h, in_end, cudaMemcpyHostToDevice, s->st));
	for (size_t i = 0; i < s->npc; i++) {
		struct piece *p = &s->pc[i];
		if (!p->in_direct)
			continue;
		CK(g, cudaMemcpyAsync(d + p->o_enc, p->enc, p->enc_len,
				      cudaMemcpyHostToDevice, s->st));
		CK(g, cudaMemcpyAsync(d + p->o_gaps, p->gaps, p->gaps_len,
				      cudaMemcpyHostToDevice, s->st));
		CK(g, cudaMemcpyAsync(d + p->o_sm, p->sm, p->b - p->a,
				      cudaMemcpyHostToDevice, s->st));
	}
	int rc = df11_gpu_launch(g, d, s->npc, s->rc_off, work, max_cnt, s->st,
				 NULL);
	if (rc)
		return rc;
	CK(g, cudaMemcpyAsync(h + s->rc_off, d + s->rc_off, 4 * s->npc,
			      cudaMemcpyDeviceToHost, s->st));
	if (out1 > out0)
		CK(g, cudaMemcpyAsync(h + out0, d + out0, out1 - out0,
				      cudaMemcpyDeviceToHost, s->st));
	for (size_t i = 0; i < s->npc; i++) {
		struct piece *p = &s->pc[i];
		if (p->out_direct)
			CK(g, cudaMemcpyAsync(p->out, d + p->o_out,
					      2 * (p->b - p->a),
					      cudaMemcpyDeviceToHost, s->st));
	}
	CK(g, cudaEventRecord(s->ev, s->st));
	s->busy = 1;
	return 0;
}

/* the largest lb1 such that blocks [lb0, lb1) fit in @room (>= lb0 + 1) */
static uint64_t fit(const struct impl *g, const struct df11_gpu_ijob *j,
		    struct piece *p, size_t room)
{
	uint64_t nblk = j->b1 - j->b0, lo = p->lb0 + 1, hi = nblk;

	while (lo < hi) { /* piece_bytes grows with lb1 */
		uint64_t mid = lo + (hi - lo + 1) / 2;
		p->lb1 = mid;
		df11_gpu_derive(g, j, p);
		if (piece_bytes(p) <= room)
			lo = mid;
		else
			hi = mid - 1;
	}
	p->lb1 = lo;
	df11_gpu_derive(g, j, p);
	return lo;
}

static int run_all(struct impl *g, struct df11_gpu_ijob *jobs, size_t n,
		   const uint8_t *const *tabs)
{
	size_t cur = 0, room = g->slot_cap;
	struct slot *s = &g->s[0];
	int rc;

	s->npc = 0;
	for (size_t ji = 0; ji < n; ji++) {
		const struct df11_gpu_ijob *j = &jobs[ji];
		uint64_t nblk = j->b1 - j->b0;
		for (uint64_t lb = 0; lb < nblk;) {
			struct piece p;
			memset(&p, 0, sizeof(p));
			p.job = ji;
			p.lb0 = lb;
			p.lb1 = lb + 1;
			df11_gpu_derive(g, j, &p);
			size_t need = piece_bytes(&p) + 64;
			if (need > room && s->npc) { /* flush this slot */
				if ((rc = slot_run(g, s, jobs, tabs)))
					return rc;
				cur = (cur + 1) % NSLOT;
				s = &g->s[cur];
				if ((rc = slot_finish(g, s, jobs)) ||
				    (rc = slot_alloc(g, s)))
					return rc;
				s->npc = 0;
				room = g->slot_cap;
			}
			if (need > room)
				return -ENOMEM; /* one block > a slot */
			lb = fit(g, j, &p, room - 64);
			room -= piece_bytes(&p) + 64;
			if ((rc = slot_add(s, &p)))
				return rc;
		}
	}
	if (s->npc && (rc = slot_run(g, s, jobs, tabs)))
		return rc;
	for (unsigned k = 1; k <= NSLOT; k++)
		if ((rc = slot_finish(g, &g->s[(cur + k) % NSLOT], jobs)))
			return rc;
	return 0;
}

/* ------------------------------------------------------------- the ABI */

EXPORT int df11_gpu_impl_abi(void)
{
	return DF11_GPU_ABI;
}

static void impl_free(struct impl *g)
{
	for (unsigned k = 0; k < NSLOT; k++) {
		struct slot *s = &g->s[k];
		if (s->st)
			cudaStreamDestroy(s->st);
		if (s->ev)
			cudaEventDestroy(s->ev);
		cudaFreeHost(s->h);
		cudaFree(s->d);
		free(s->pc);
	}
	for (size_t i = 0; i < g->ntabs; i++)
		cudaFree(g->tabs[i].dev);
	for (size_t i = 0; i < g->nhb; i++)
		cudaFreeHost(g->hb[i].p);
	free(g->tabs);
	free(g->hb);
	free(g);
}

EXPORT int df11_gpu_impl_open(void **hp, int device, uint64_t mem, char *name,
			      size_t namelen, char *err, size_t errlen)
{
	struct impl *g;
	cudaDeviceProp prop;
	int n = 0;
	cudaError_t e;

	*hp = NULL;
	if ((e = cudaGetDeviceCount(&n)) != cudaSuccess || n < 1) {
		snprintf(err, errlen, "no CUDA device: %s",
			 e != cudaSuccess ? cudaGetErrorString(e)
					  : "none found");
		return -ENODEV;
	}
	if (device < 0 || device >= n) {
		snprintf(err, errlen, "no CUDA device %d (%d found)", device,
			 n);
		return -ENODEV;
	}
	if ((e = cudaSetDevice(device)) != cudaSuccess ||
	    (e = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) {
		snprintf(err, errlen, "cannot use CUDA device %d: %s", device,
			 cudaGetErrorString(e));
		return -ENODEV;
	}
	if ((e = df11_k_init()) != cudaSuccess) {
		snprintf(err, errlen, "no DF11 kernel for %s (sm_%d%d): %s",
			 prop.name, prop.major, prop.minor,
			 cudaGetErrorString(e));
		return -ENODEV;
	}
	if (!(g = (struct impl *)calloc(1, sizeof(*g))))
		return -ENOMEM;
	g->dev = device;
	g->sms = prop.multiProcessorCount;
	g->mem = mem;
	g->slot_cap = mem / 2 / NSLOT;
	if (g->slot_cap > SLOT_MAX)
		g->slot_cap = SLOT_MAX;
	if (g->slot_cap < SLOT_MIN)
		g->slot_cap = SLOT_MIN;
	for (unsigned k = 0; k < NSLOT; k++)
		if (cudaStreamCreateWithFlags(&g->s[k].st,
					      cudaStreamNonBlocking) ||
		    cudaEventCreateWithFlags(&g->s[k].ev,
					     cudaEventDisableTiming)) {
			snprintf(err, errlen, "cannot create CUDA streams");
			impl_free(g);
			return -ENODEV;
		}
	snprintf(name, namelen, "%s", prop.name);
	*hp = g;
	return 0;
}

EXPORT void df11_gpu_impl_close(void *h)
{
	struct impl *g = (struct impl *)h;
	if (!g)
		return;
	cudaSetDevice(g->dev);
	cudaDeviceSynchronize();
	impl_free(g);
}

EXPORT void *df11_gpu_impl_host_alloc(void *h, size_t len)
{
	struct impl *g = (struct impl *)h;
	void *p = NULL;

	if (cudaSetDevice(g->dev) != cudaSuccess)
		return NULL;
	if (g->nhb == g->hbcap) {
		size_t nc = g->hbcap ? 2 * g->hbcap : 8;
		void *q = realloc(g->hb, nc * sizeof(*g->hb));
		if (!q)
			return NULL;
		g->hb = (struct hostbuf *)q;
		g->hbcap = nc;
	}
	if (cudaHostAlloc(&p, len, cudaHostAllocPortable) != cudaSuccess)
		return NULL;
	g->hb[g->nhb].p = (uint8_t *)p;
	g->hb[g->nhb++].len = len;
	return p;
}

EXPORT void df11_gpu_impl_host_free(void *h, void *p)
{
	struct impl *g = (struct impl *)h;

	for (size_t i = 0; i < g->nhb; i++)
		if (g->hb[i].p == p) {
			cudaFreeHost(p);
			g->hb[i] = g->hb[--g->nhb];
			return;
		}
}

/* the device table of every job; tabs[] is allocated here */

EXPORT int df11_gpu_impl_decode(void *h, struct df11_gpu_ijob *jobs, size_t n)
{
	struct impl *g = (struct impl *)h;
	const uint8_t **tabs;
	int rc;

	if (g->broken)
		return -EIO;
	CK(g, cudaSetDevice(g->dev));
	if ((rc = df11_gpu_tables(g, jobs, n, &tabs)))
		return rc;
	if (!(rc = slot_alloc(g, &g->s[0])))
		rc = run_all(g, jobs, n, tabs);
	if (rc) /* leave no copy in flight into buffers we hand back */
		for (unsigned k = 0; k < NSLOT; k++) {
			if (g->s[k].busy)
				cudaEventSynchronize(g->s[k].ev);
			g->s[k].busy = 0;
		}
	free(tabs);
	return rc;
}
