/* SPDX-License-Identifier: MIT */
/*
 * cache/ahead.c - the read-ahead workers: queued chunks decoded on this
 * thread's CPU, or many at once in a GPU batch
 *
 * Readers queue the chunks after a sequential read (cache/vfile.c); each
 * job holds a reference on its vfile. A worker takes the queue's first
 * job and reads it as a reader would (df11_cache_get), or, when it gets
 * one of the decoder's batches, up to DF11_DECODER_BATCH_MAX jobs: their
 * chunks are fetched into the batch's scratches, the plans decoded in one
 * df11_gpu_decode() call, and every chunk completed (checked; decoded on
 * the CPU where the GPU could not) before it is published.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "cache/cache_i.h"

/* take the queue's first job, or its last (@tail); 0 if empty (lock held) */
static int pop_job_locked(struct df11_cache *c, int tail, struct job *j)
{
	if (!c->qlen)
		return 0;
	if (tail) {
		*j = c->q[(c->qhead + c->qlen - 1) % QUEUE_LEN];
	} else {
		*j = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % QUEUE_LEN;
	}
	c->qlen--;
	if (!j->gone)
		c->qbytes -= j->ck.len;
	return 1;
}

/*
 * Take up to DF11_DECODER_BATCH_MAX queued jobs (and c->batch_bytes) for
 * a GPU batch, from the far end of the queue with @tail; check each
 * distinct source once, outside the lock; insert a DECODING entry for
 * every chunk still missing into @es. Return: the jobs taken (each holds
 * a vfile reference), *@n the entries.
 */
static unsigned batch_take(struct df11_cache *c, int tail, struct job *jobs,
			   struct entry **es, unsigned *n)
{
	unsigned nj = 0;
	uint64_t bytes = 0;
	int ok[DF11_DECODER_BATCH_MAX];
	struct entry *grave = NULL;

	pthread_mutex_lock(&c->mu);
	while (nj < DF11_DECODER_BATCH_MAX && bytes < c->batch_bytes &&
	       !c->stop && pop_job_locked(c, tail, &jobs[nj]))
		bytes += jobs[nj++].ck.len;
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < nj; i++)
		ok[i] = i && jobs[i].vf == jobs[i - 1].vf
			    ? ok[i - 1]
			    : df11_vfile_check(jobs[i].vf) == 0;
	*n = 0;
	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < nj; i++) {
		struct entry *e;
		if (ok[i] && !jobs[i].gone &&
		    !df11_cache_find(c, jobs[i].vf, jobs[i].ck.id) &&
		    df11_cache_fits_locked(c, jobs[i].ck.len, 1) &&
		    (e = df11_cache_insert_locked(c, jobs[i].vf, &jobs[i].ck,
						  &grave)))
			es[(*n)++] = e;
	}
	pthread_mutex_unlock(&c->mu);
	df11_cache_bury(grave);
	return nj;
}

void df11_cache_batch_read(struct df11_cache *c, struct df11_batch *b,
			   struct df11_batch_item *it, unsigned n,
			   struct stage_ns *t)
{
	struct df11_fetch fs[DF11_DECODER_BATCH_MAX];
	struct df11_fetch *fp[DF11_DECODER_BATCH_MAX];
	void *outs[DF11_DECODER_BATCH_MAX];
	uint64_t t0 = df11_now_ns(), t1, t2;

	for (unsigned i = 0; i < n; i++) {
		struct df11_scratch *s = df11_decoder_batch_scratch(b, i);

		if (!it[i].rc && !s) {
			it[i].rc = -ENOMEM;
			snprintf(it[i].err, sizeof(it[i].err), "out of memory");
		} else if (!it[i].rc) {
			it[i].rc = it[i].src->ops->chunk_fetch(
			    it[i].src, it[i].id, s, it[i].out, &fs[i],
			    it[i].err, sizeof(it[i].err));
		}
		fp[i] = it[i].rc ? NULL : &fs[i];
		outs[i] = it[i].out;
	}
	t1 = df11_now_ns();
	df11_decoder_batch_run(c->dec, b, fp, outs, n);
	t2 = df11_now_ns();
	for (unsigned i = 0; i < n; i++)
		if (!it[i].rc)
			it[i].rc = df11_source_complete(
			    it[i].src, it[i].id, &fs[i],
			    df11_decoder_batch_scratch(b, i), it[i].out,
			    it[i].err, sizeof(it[i].err));
	t->fetch += t1 - t0;
	t->decode += t2 - t1;
	t->check += df11_now_ns() - t2;
}

/*
 * Read-ahead on the GPU in batch @b: the chunks batch_take() gives are
 * fetched into the batch's scratches, their plans decoded in one
 * df11_gpu_decode() call, and each completed (checked; decoded on the CPU
 * when the GPU could not). With @tail the jobs come from the far end of
 * the queue, the chunks readers need last, while CPU workers take the
 * near end: readers never wait for a batch that the CPU would have done
 * sooner. Every entry is published; every job's vfile reference dropped.
 */
static void gpu_batch(struct df11_cache *c, struct df11_batch *b, int tail)
{
	struct job jobs[DF11_DECODER_BATCH_MAX];
	struct entry *es[DF11_DECODER_BATCH_MAX], *grave = NULL, *dead;
	struct df11_batch_item it[DF11_DECODER_BATCH_MAX];
	unsigned n, nj = batch_take(c, tail, jobs, es, &n);
	struct stage_ns t = {0};
	uint64_t t0 = df11_now_ns();

	for (unsigned i = 0; i < n; i++) {
		struct entry *e = es[i];
		if (!e->data)
			e->data = df11_cache_map_buffer(e->cap);
		it[i] = (struct df11_batch_item){.src = e->vf->src,
						 .id = e->id,
						 .out = e->data,
						 .rc = e->data ? 0 : -ENOMEM};
		if (!e->data)
			snprintf(it[i].err, sizeof(it[i].err), "out of memory");
	}
	t.map = df11_now_ns() - t0;
	df11_cache_batch_read(c, b, it, n, &t);
	for (unsigned i = 0; i < n; i++)
		if (it[i].rc)
			df11_cache_logf(c, "'%s': %s", es[i]->vf->name,
					it[i].err);
	/* per chunk: the batch's stages shared evenly (the CPU's decode of
	 * chunks the GPU refused counts as checking) */
	if (n)
		t = (struct stage_ns){t.map / n, t.fetch / n, t.decode / n,
				      t.check / n};
	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < n; i++) {
		df11_cache_publish_locked(c, es[i], it[i].rc, &t);
		if (es[i]->state == FAILED) {
			/* unhashed: the last pin frees it with the grave */
			if ((dead = df11_cache_failed_unpin_locked(es[i]))) {
				dead->hnext = grave;
				grave = dead;
			}
			continue;
		}
		c->st.readahead++;
		df11_cache_unpin_locked(c, es[i], 0, &grave);
	}
	c->st.gpu_batches++;
	pthread_mutex_unlock(&c->mu);
	df11_cache_bury(grave);
	for (unsigned i = 0; i < nj; i++)
		df11_vfile_put(jobs[i].vf);
}

/* one read-ahead job on this worker's CPU (no lock held); puts the vfile */
static void ahead_one(struct df11_cache *c, struct job *j, int present)
{
	if (!present && df11_vfile_check(j->vf) == 0) {
		int rc;
		struct entry *e = df11_cache_get_ahead(c, j->vf, &j->ck, &rc);
		if (e) {
			pthread_mutex_lock(&c->mu);
			c->st.readahead++;
			pthread_mutex_unlock(&c->mu);
			df11_cache_unpin(c, e, 0);
		}
	}
	df11_vfile_put(j->vf);
}

void *df11_cache_worker(void *arg)
{
	struct df11_cache *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->qlen && !c->stop)
			pthread_cond_wait(&c->work, &c->mu);
		if (c->stop)
			break;
		/*
		 * gpu: every job in a batch. auto: a batch only when work
		 * piles up (the CPU workers are not keeping up: more than
		 * AUTO_GPU_BATCHES batches queued), taken from the far end
		 * of the queue while they keep the near end, so that no
		 * reader soon needs a chunk the GPU holds.
		 */
		int auto_mode = c->o.decoder != DF11_DECODER_GPU;
		struct df11_batch *b = !auto_mode ||
				c->qbytes > AUTO_GPU_BATCHES * c->batch_bytes
					   ? df11_decoder_batch_begin(c->dec)
					   : NULL;
		struct job j;
		if (b) {
			pthread_mutex_unlock(&c->mu);
			gpu_batch(c, b, auto_mode); /* puts the vfiles */
			df11_decoder_batch_end(c->dec, b);
		} else if (pop_job_locked(c, 0, &j)) {
			int present =
			    j.gone || df11_cache_find(c, j.vf, j.ck.id);
			pthread_mutex_unlock(&c->mu);
			ahead_one(c, &j, present);
		} else {
			continue;
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}
