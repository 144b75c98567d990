/* SPDX-License-Identifier: MIT */
/*
 * cache/cache.c - the shared chunk cache and virtual files
 *
 * One mutex guards the hash table, the LRU list, the read-ahead queue and
 * the counters; decoding runs outside it. A chunk entry is in one of
 * three states:
 *
 *   DECODING  in the hash, its bytes being written by one thread; readers
 *             that want it pin it and sleep on the cache's condition
 *   READY     in the hash and on the LRU list (most recent first)
 *   FAILED    out of the hash; kept only until its waiters have seen it
 *
 * Pinned entries (pins > 0) are never evicted or freed. The budget counts
 * the bytes of DECODING and READY entries; a new entry evicts unpinned
 * READY entries from the LRU tail until the total fits, so the total
 * passes the budget only by entries that are pinned at that moment.
 *
 * Chunk bytes are anonymous mappings, not malloc memory: freeing one gives
 * it back to the kernel at once, so the process's resident size follows
 * the budget instead of the allocator's high-water mark. Mapping and
 * faulting in fresh memory costs as much as decoding into it, so buffers
 * are reused: a chunk that a sequential reader has copied to its end is
 * "streamed" (the kernel's page cache holds those bytes now) and goes to
 * the LRU tail, where the next new chunk takes over its buffer; an entry
 * evicted for room hands its buffer to the new chunk when it is big
 * enough. The budget counts buffer capacities.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_i.h"

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void df11_logv(df11_log_fn log, void *ctx, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log)
		log(ctx, line);
	else
		fprintf(stderr, "df11fs: %s\n", line);
}

void df11_cache_logf(struct df11_cache *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	df11_logv(c->log, c->log_ctx, fmt, ap);
	va_end(ap);
}

static unsigned bucket(const struct df11_vfile *vf, uint64_t id)
{
	uint64_t h =
	    ((uint64_t)(uintptr_t)vf >> 4) ^ (id * 0x9E3779B97F4A7C15ull);
	return (unsigned)(h ^ h >> 29) & (NBUCKETS - 1);
}

struct entry *df11_cache_find(struct df11_cache *c, struct df11_vfile *vf,
			      uint64_t id)
{
	for (struct entry *e = c->tab[bucket(vf, id)]; e; e = e->hnext)
		if (e->vf == vf && e->id == id)
			return e;
	return NULL;
}

static void unhash(struct df11_cache *c, struct entry *e)
{
	struct entry **p = &c->tab[bucket(e->vf, e->id)];
	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
}

static void lru_unlink(struct entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_front(struct df11_cache *c, struct entry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

static void entry_free(struct entry *e)
{
	if (e->data)
		munmap(e->data, e->cap);
	free(e);
}

/* free entries dropped under the lock, after unlocking: munmap is slow */
void df11_cache_bury(struct entry *grave)
{
	while (grave) {
		struct entry *n = grave->hnext;
		entry_free(grave);
		grave = n;
	}
}

/* drop a READY, unpinned entry onto @grave (lock held) */
void df11_cache_drop(struct df11_cache *c, struct entry *e,
		     struct entry **grave)
{
	lru_unlink(e);
	unhash(c, e);
	c->st.used -= e->cap;
	e->hnext = *grave;
	*grave = e;
}

/* take the buffer of READY, unpinned @e and drop @e (lock held) */
static uint8_t *take_buffer(struct df11_cache *c, struct entry *e, size_t *cap,
			    struct entry **grave)
{
	uint8_t *p = e->data;

	*cap = e->cap;
	e->data = NULL;
	df11_cache_drop(c, e, grave);
	c->st.evictions++;
	return p;
}

/*
 * A buffer of at least @len bytes for a new chunk (lock held): the most
 * recently streamed chunk's that fits (streamed chunks gather at the LRU
 * tail, the latest last, its bytes likely still in the CPU caches), else
 * evict from the tail until the budget has room, reusing an evicted buffer
 * that fits. NULL means: map *@cap fresh bytes after unlocking (the budget
 * already counts them).
 */
static uint8_t *buffer_for(struct df11_cache *c, size_t len, size_t *cap,
			   struct entry **grave)
{
	size_t want = (len + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN;
	struct entry *e = c->lru.prev;
	uint8_t *p = NULL;

	for (unsigned k = 0; k < STREAM_SCAN && e != &c->lru && e->streamed;
	     k++, e = e->prev)
		if (!e->pins && e->cap >= len)
			return take_buffer(c, e, cap, grave);
	e = c->lru.prev;
	while (c->st.used + want > c->st.budget && e != &c->lru) {
		struct entry *prev = e->prev;
		if (!e->pins) {
			if (!p && e->cap >= len) {
				p = take_buffer(c, e, cap, grave);
			} else {
				df11_cache_drop(c, e, grave);
				c->st.evictions++;
			}
		}
		e = prev;
	}
	if (!p)
		*cap = want;
	return p;
}

static uint8_t *map_buffer(size_t cap)
{
	void *p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* evict unpinned entries from the LRU tail while over budget (lock held) */
static void trim(struct df11_cache *c, struct entry **grave)
{
	struct entry *e = c->lru.prev;

	while (c->st.used > c->st.budget && e != &c->lru) {
		struct entry *p = e->prev;
		if (!e->pins) {
			df11_cache_drop(c, e, grave);
			c->st.evictions++;
		}
		e = p;
	}
}

int df11_cache_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	int fd = (int)(intptr_t)ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

static struct df11_scratch *thread_scratch(struct df11_cache *c)
{
	struct df11_scratch *s = pthread_getspecific(c->scratch);
	if (!s && df11_scratch_new(&s) == 0)
		pthread_setspecific(c->scratch, s);
	return s;
}

static void scratch_dtor(void *p)
{
	df11_scratch_free(p);
}

/* the decode of entry @e ended with @rc after @dt ns: publish it (locked) */
static void publish_locked(struct df11_cache *c, struct entry *e, int rc,
			   uint64_t dt)
{
	c->st.decode_ns += dt;
	if (rc == 0) {
		e->state = READY;
		c->st.bytes_decoded += e->len;
		lru_front(c, e);
	} else {
		e->state = FAILED;
		e->err = rc;
		unhash(c, e);
		c->st.used -= e->cap;
		c->st.errors++;
	}
	pthread_cond_broadcast(&c->done);
}

/*
 * Read chunk @e (pinned, DECODING) into its buffer, without the lock: the
 * source's fetch, the plan on the GPU when the decoder takes it, the rest
 * (and the check) through df11_source_complete(). A failure is logged.
 */
static int fill(struct df11_cache *c, struct entry *e)
{
	const struct df11_source *src = e->vf->src;
	struct df11_scratch *s = thread_scratch(c);
	char err[256] = "out of memory";
	struct df11_fetch f;
	int rc = -ENOMEM;

	if (!e->data)
		e->data = map_buffer(e->cap);
	if (e->data && s)
		rc = src->ops->chunk_fetch(src, e->id, s, e->data, &f, err,
					   sizeof(err));
	if (!rc) {
		df11_decoder_run(c->dec, &f, e->data);
		rc = df11_source_complete(src, e->id, &f, s, e->data, err,
					  sizeof(err));
	}
	if (rc)
		df11_cache_logf(c, "'%s': %s", e->vf->name, err);
	return rc;
}

/*
 * A new DECODING entry for chunk @ck of @vf, pinned once, hashed and
 * counted (lock held); its buffer may still have to be mapped (NULL
 * data: map e->cap bytes after unlocking). NULL: no memory.
 */
static struct entry *insert_locked(struct df11_cache *c, struct df11_vfile *vf,
				   const struct df11_chunk *ck,
				   struct entry **grave)
{
	struct entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	*e = (struct entry){.vf = vf,
			    .id = ck->id,
			    .len = ck->len,
			    .state = DECODING,
			    .pins = 1};
	e->data = buffer_for(c, ck->len, &e->cap, grave);
	e->hnext = c->tab[bucket(vf, ck->id)];
	c->tab[bucket(vf, ck->id)] = e;
	c->st.misses++;
	c->st.used += e->cap;
	if (c->st.used > c->st.peak)
		c->st.peak = c->st.used;
	return e;
}

/* drop one pin of FAILED @e; the last one hands it back to be freed */
static struct entry *failed_unpin_locked(struct entry *e)
{
	return --e->pins ? NULL : e;
}

/*
 * Pin chunk @ck of @vf, decoding it here if nobody has it. Returns the
 * pinned entry, or NULL with *@rc set. Called without the lock.
 */
struct entry *df11_cache_get(struct df11_cache *c, struct df11_vfile *vf,
			     const struct df11_chunk *ck, int *rc)
{
	struct entry *e, *grave = NULL, *dead = NULL;

	pthread_mutex_lock(&c->mu);
	if ((e = df11_cache_find(c, vf, ck->id))) {
		e->pins++;
		if (e->state == READY) {
			c->st.hits++;
			lru_unlink(e);
			lru_front(c, e);
		} else {
			c->st.misses++;
			c->st.waits++;
			while (e->state == DECODING)
				pthread_cond_wait(&c->done, &c->mu);
		}
	} else {
		if (!(e = insert_locked(c, vf, ck, &grave))) {
			pthread_mutex_unlock(&c->mu);
			*rc = -ENOMEM;
			return NULL;
		}
		pthread_mutex_unlock(&c->mu);
		df11_cache_bury(grave);
		uint64_t t0 = now_ns();
		int r = fill(c, e); /* outside the lock */
		uint64_t dt = now_ns() - t0;
		pthread_mutex_lock(&c->mu);
		publish_locked(c, e, r, dt);
	}
	if (e->state == FAILED) {
		*rc = -EIO;
		dead = failed_unpin_locked(e);
		e = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (dead)
		entry_free(dead);
	return e;
}

/* unpin @e; a @streamed chunk moves to the LRU tail for reuse (locked) */
static void unpin_locked(struct df11_cache *c, struct entry *e, int streamed,
			 struct entry **grave)
{
	e->pins--;
	if (streamed && !e->streamed) {
		e->streamed = 1;
		lru_unlink(e);
		e->prev = c->lru.prev;
		e->next = &c->lru;
		c->lru.prev->next = e;
		c->lru.prev = e;
	}
	if (c->st.used > c->st.budget)
		trim(c, grave);
}

void df11_cache_unpin(struct df11_cache *c, struct entry *e, int streamed)
{
	struct entry *grave = NULL;

	pthread_mutex_lock(&c->mu);
	unpin_locked(c, e, streamed, &grave);
	pthread_mutex_unlock(&c->mu);
	df11_cache_bury(grave);
}

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
		if (ok[i] && !df11_cache_find(c, jobs[i].vf, jobs[i].ck.id) &&
		    (e = insert_locked(c, jobs[i].vf, &jobs[i].ck, &grave)))
			es[(*n)++] = e;
	}
	pthread_mutex_unlock(&c->mu);
	df11_cache_bury(grave);
	return nj;
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
	struct df11_fetch fs[DF11_DECODER_BATCH_MAX];
	struct df11_fetch *fp[DF11_DECODER_BATCH_MAX];
	void *outs[DF11_DECODER_BATCH_MAX];
	int rcs[DF11_DECODER_BATCH_MAX];
	char err[DF11_DECODER_BATCH_MAX][160];
	unsigned n, nj = batch_take(c, tail, jobs, es, &n);
	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < n; i++) {
		struct entry *e = es[i];
		const struct df11_source *src = e->vf->src;
		struct df11_scratch *s = df11_decoder_batch_scratch(b, i);
		if (!e->data)
			e->data = map_buffer(e->cap);
		snprintf(err[i], sizeof(err[i]), "out of memory");
		rcs[i] =
		    e->data && s
			? src->ops->chunk_fetch(src, e->id, s, e->data, &fs[i],
						err[i], sizeof(err[i]))
			: -ENOMEM;
		fp[i] = rcs[i] ? NULL : &fs[i];
		outs[i] = e->data;
	}
	df11_decoder_batch_run(c->dec, b, fp, outs, n);
	for (unsigned i = 0; i < n; i++) {
		const struct df11_source *src = es[i]->vf->src;
		if (!rcs[i])
			rcs[i] = df11_source_complete(
			    src, es[i]->id, &fs[i],
			    df11_decoder_batch_scratch(b, i), es[i]->data,
			    err[i], sizeof(err[i]));
		if (rcs[i])
			df11_cache_logf(c, "'%s': %s", es[i]->vf->name, err[i]);
	}
	uint64_t dt = n ? (now_ns() - t0) / n : 0;
	pthread_mutex_lock(&c->mu);
	for (unsigned i = 0; i < n; i++) {
		publish_locked(c, es[i], rcs[i], dt);
		if (es[i]->state == FAILED) {
			/* unhashed: the last pin frees it with the grave */
			if ((dead = failed_unpin_locked(es[i]))) {
				dead->hnext = grave;
				grave = dead;
			}
			continue;
		}
		c->st.readahead++;
		unpin_locked(c, es[i], 0, &grave);
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
		struct entry *e = df11_cache_get(c, j->vf, &j->ck, &rc);
		if (e) {
			pthread_mutex_lock(&c->mu);
			c->st.readahead++;
			pthread_mutex_unlock(&c->mu);
			df11_cache_unpin(c, e, 0);
		}
	}
	df11_vfile_put(j->vf);
}

static void *worker(void *arg)
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
		 * piles up (the CPU workers are not keeping up), taken from
		 * the far end of the queue while they keep the near end.
		 */
		int auto_mode = c->o.decoder != DF11_DECODER_GPU;
		struct df11_batch *b = !auto_mode || c->qlen >= AUTO_GPU_QUEUE
					   ? df11_decoder_batch_begin(c->dec)
					   : NULL;
		struct job j;
		if (b) {
			pthread_mutex_unlock(&c->mu);
			gpu_batch(c, b, auto_mode); /* puts the vfiles */
			df11_decoder_batch_end(c->dec, b);
		} else if (pop_job_locked(c, 0, &j)) {
			int present = df11_cache_find(c, j.vf, j.ck.id) != NULL;
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

int df11_cache_new(struct df11_cache **out, const struct df11_cache_opts *o,
		   df11_log_fn log, void *log_ctx)
{
	struct df11_cache *c = calloc(1, sizeof(*c));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->o = o ? *o : (struct df11_cache_opts){0};
	if (!c->o.budget)
		c->o.budget = DEFAULT_BUDGET;
	if (!c->o.workers)
		c->o.workers = ncpu > 0 ? (unsigned)ncpu : 1;
	if (c->o.workers > MAX_WORKERS)
		c->o.workers = MAX_WORKERS;
	if (!c->o.readahead)
		c->o.readahead = DEFAULT_READAHEAD;
	if (c->o.readahead > c->o.budget / 2) /* never evict its own work */
		c->o.readahead = c->o.budget / 2;
	c->st.budget = c->o.budget;
	c->batch_bytes = c->o.readahead / 4; /* several batches under way */
	if (c->batch_bytes < BATCH_MIN)
		c->batch_bytes = BATCH_MIN;
	if (c->batch_bytes > BATCH_CAP)
		c->batch_bytes = BATCH_CAP;
	c->lru.next = c->lru.prev = &c->lru;
	c->log = log;
	c->log_ctx = log_ctx;
	if ((rc = df11_decoder_open(&c->dec, &c->o, log, log_ctx))) {
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->done, NULL);
	pthread_cond_init(&c->work, NULL);
	if ((rc = pthread_key_create(&c->scratch, scratch_dtor))) {
		df11_decoder_close(c->dec);
		free(c);
		return -rc;
	}
	for (; c->n_workers < c->o.workers; c->n_workers++)
		if ((rc = pthread_create(&c->tid[c->n_workers], NULL, worker,
					 c))) {
			df11_cache_free(c);
			return -rc;
		}
	*out = c;
	return 0;
}

void df11_cache_free(struct df11_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_broadcast(&c->work);
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < c->n_workers; i++)
		pthread_join(c->tid[i], NULL);
	while (c->qlen) { /* jobs never run hold vfile references */
		df11_vfile_put(c->q[c->qhead].vf);
		c->qhead = (c->qhead + 1) % QUEUE_LEN;
		c->qlen--;
	}
	struct entry *grave = NULL;
	while (c->lru.next != &c->lru)
		df11_cache_drop(c, c->lru.next, &grave);
	df11_cache_bury(grave);
	df11_scratch_free(pthread_getspecific(c->scratch));
	pthread_key_delete(c->scratch);
	df11_decoder_close(c->dec);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->work);
	free(c);
}

void df11_cache_stats(struct df11_cache *c, struct df11_cache_stats *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->st;
	pthread_mutex_unlock(&c->mu);
	st->gpu_chunks = df11_decoder_gpu_chunks(c->dec);
}

int df11_cache_decoder(struct df11_cache *c, char *buf, size_t len)
{
	return df11_decoder_describe(c->dec, buf, len);
}
