/* SPDX-License-Identifier: MIT */
/*
 * cache/decoder.c - the cache's decoder: CPU, or one GPU plus the CPU
 *
 * Modes (struct df11_cache_opts.decoder):
 *
 *   cpu   df11_unit_decode() only; CUDA is never touched
 *   auto  open the GPU; a decode takes it when it is free (trylock) and
 *         runs on the calling thread's CPU otherwise, so CPU threads keep
 *         decoding next to it ("gpu+cpu")
 *   gpu   open the GPU; every decode waits for it ("gpu")
 *
 * In both GPU modes a GPU that cannot be opened leaves the CPU decoder,
 * with one log line that says why. A CUDA error at run time (-EIO from
 * df11_gpu_decode()) is logged once, closes the GPU and sends every later
 * decode to the CPU; the chunk that met it is decoded again on the CPU,
 * so no reader ever sees its bytes. A job the GPU refuses (-EBADMSG,
 * -EINVAL: bit-identical verdicts, gpu/gpu.h) is decided again by the CPU
 * decoder too, which then also writes the error message.
 *
 * The mutex @mu guards @gpu (and its use) and @broken's text; @gpu_ok
 * lets the CPU-only paths skip it. Batches are prepared (compressed bytes
 * read, decodes recorded) and checked by several workers at once, each in
 * a batch of its own (@bmu guards which are busy); only the decode itself
 * holds @mu. Mode gpu lets DF11_DECODER_BATCHES batches be under way,
 * mode auto two, so that the other workers keep decoding on the CPU.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/decoder_i.h"
#include "gpu/gpu.h"

/* one worker's batch: its scratches and the GPU's job list */
struct df11_batch {
	struct df11_scratch *bs[DF11_DECODER_BATCH_MAX];
	struct df11_gpu_job jobs[DF11_DECODER_BATCH_MAX];
	int busy;
};

struct df11_decoder {
	int mode;
	pthread_mutex_t mu;
	struct df11_gpu *gpu;
	atomic_int gpu_ok;
	atomic_uint_fast64_t gpu_chunks;
	char name[128];
	char broken[160]; /* why the GPU was given up, "" if it was not */
	pthread_mutex_t bmu;
	unsigned n_batches; /* batches that may be under way */
	struct df11_batch batch[DF11_DECODER_BATCHES];
	df11_log_fn log;
	void *log_ctx;
};

__attribute__((format(printf, 2, 3))) static void dlog(struct df11_decoder *d,
						       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	df11_logv(d->log, d->log_ctx, fmt, ap);
	va_end(ap);
}

int df11_decoder_open(struct df11_decoder **out,
		      const struct df11_cache_opts *o, df11_log_fn log,
		      void *log_ctx)
{
	struct df11_decoder *d = calloc(1, sizeof(*d));
	struct df11_gpu_opts go = {0};
	char why[256] = "unknown reason";
	int rc;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	d->mode = o->decoder;
	d->log = log;
	d->log_ctx = log_ctx;
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->bmu, NULL);
	d->n_batches = d->mode == DF11_DECODER_GPU ? DF11_DECODER_BATCHES : 2;
	atomic_init(&d->gpu_ok, 0);
	atomic_init(&d->gpu_chunks, 0);
	*out = d;
	if (d->mode == DF11_DECODER_CPU) {
		dlog(d, "decoder: cpu");
		return 0;
	}
	go.mem = o->gpu_mem;
	go.lib = o->gpu_lib;
	rc = df11_gpu_open(&d->gpu, &go, why, sizeof(why));
	if (rc == -ENOMEM)
		snprintf(why, sizeof(why), "out of memory");
	if (rc) {
		d->gpu = NULL;
		if (d->mode == DF11_DECODER_GPU)
			dlog(d,
			     "decoder=gpu: no usable GPU (%s); decoding on the "
			     "CPU",
			     why);
		else
			dlog(d, "decoder: cpu (no GPU: %s)", why);
		return 0;
	}
	snprintf(d->name, sizeof(d->name), "%s", df11_gpu_name(d->gpu));
	atomic_store(&d->gpu_ok, 1);
	dlog(d, "decoder: gpu (%s)%s", d->name,
	     d->mode == DF11_DECODER_GPU ? "" : " + cpu");
	return 0;
}

void df11_decoder_close(struct df11_decoder *d)
{
	if (!d)
		return;
	for (unsigned k = 0; k < DF11_DECODER_BATCHES; k++)
		for (unsigned i = 0; i < DF11_DECODER_BATCH_MAX; i++)
			df11_scratch_free(d->batch[k].bs[i]);
	df11_gpu_close(d->gpu);
	pthread_mutex_destroy(&d->bmu);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

int df11_decoder_describe(struct df11_decoder *d, char *buf, size_t len)
{
	int n;

	pthread_mutex_lock(&d->mu);
	if (d->broken[0])
		n = snprintf(buf, len, "gpu (fell back to cpu: %s)", d->broken);
	else if (!d->gpu)
		n = snprintf(buf, len, "cpu");
	else
		n = snprintf(buf, len, "%s",
			     d->mode == DF11_DECODER_GPU ? "gpu" : "gpu+cpu");
	pthread_mutex_unlock(&d->mu);
	return n;
}

uint64_t df11_decoder_gpu_chunks(struct df11_decoder *d)
{
	return atomic_load(&d->gpu_chunks);
}

/* take the GPU (mode auto: only if free). Return: 1 held, 0 not. */
static int gpu_take(struct df11_decoder *d)
{
	if (!atomic_load_explicit(&d->gpu_ok, memory_order_relaxed))
		return 0;
	if (d->mode == DF11_DECODER_GPU)
		pthread_mutex_lock(&d->mu);
	else if (pthread_mutex_trylock(&d->mu))
		return 0;
	if (d->gpu)
		return 1;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

/* df11_gpu_decode() with the GPU held; a CUDA error gives it up */
static int gpu_run(struct df11_decoder *d, struct df11_gpu_job *jobs, size_t n)
{
	int rc = df11_gpu_decode(d->gpu, jobs, n);

	if (rc == -EIO) {
		snprintf(d->broken, sizeof(d->broken), "CUDA error on %s",
			 d->name);
		dlog(d,
		     "decoder: CUDA error on %s: %s; decoding on the CPU "
		     "from now on",
		     d->name, strerror(-rc));
		atomic_store(&d->gpu_ok, 0);
		df11_gpu_close(d->gpu);
		d->gpu = NULL;
	}
	return rc;
}

/* the GPU job of a pending plan */
static struct df11_gpu_job job_of(const struct df11_fetch *f, void *out)
{
	const struct df11_plan *p = &f->plan;
	return (struct df11_gpu_job){p->u, p->enc, p->gaps, p->sm,
				     p->a, p->b,   out,	    0};
}

void df11_decoder_run(struct df11_decoder *d, struct df11_fetch *f, void *out)
{
	if (!f->pending || !gpu_take(d))
		return;
	struct df11_gpu_job j = job_of(f, out);
	int rc = gpu_run(d, &j, 1);
	pthread_mutex_unlock(&d->mu);
	/* a refusal or a failure stays pending: the CPU decides, says why */
	if (rc == 0 && j.rc == 0) {
		atomic_fetch_add(&d->gpu_chunks, 1);
		f->pending = false;
		f->rc = 0;
	}
}

struct df11_batch *df11_decoder_batch_begin(struct df11_decoder *d)
{
	struct df11_batch *b = NULL;

	if (!atomic_load_explicit(&d->gpu_ok, memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&d->bmu);
	for (unsigned k = 0; k < d->n_batches && !b; k++)
		if (!d->batch[k].busy)
			b = &d->batch[k];
	if (b)
		b->busy = 1;
	pthread_mutex_unlock(&d->bmu);
	return b;
}

void df11_decoder_batch_end(struct df11_decoder *d, struct df11_batch *b)
{
	pthread_mutex_lock(&d->bmu);
	b->busy = 0;
	pthread_mutex_unlock(&d->bmu);
}

struct df11_scratch *df11_decoder_batch_scratch(struct df11_batch *b,
						unsigned i)
{
	if (i >= DF11_DECODER_BATCH_MAX)
		return NULL;
	if (!b->bs[i] && df11_scratch_new(&b->bs[i]))
		return NULL;
	return b->bs[i];
}

void df11_decoder_batch_run(struct df11_decoder *d, struct df11_batch *b,
			    struct df11_fetch *const *f, void *const *out,
			    unsigned n)
{
	unsigned idx[DF11_DECODER_BATCH_MAX], m = 0;
	int rc = -ENODEV;

	for (unsigned i = 0; i < n && i < DF11_DECODER_BATCH_MAX; i++)
		if (f[i] && f[i]->pending) {
			b->jobs[m] = job_of(f[i], out[i]);
			idx[m++] = i;
		}
	if (!m)
		return;
	pthread_mutex_lock(&d->mu);
	if (d->gpu)
		rc = gpu_run(d, b->jobs, m);
	pthread_mutex_unlock(&d->mu);
	for (unsigned k = 0; rc == 0 && k < m; k++)
		if (b->jobs[k].rc == 0) {
			f[idx[k]]->pending = false;
			f[idx[k]]->rc = 0;
			atomic_fetch_add(&d->gpu_chunks, 1);
		}
}
