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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/decoder_i.h"
#include "codec/source.h"

#define NBUCKETS	  65536u
#define QUEUE_LEN	  1024u
#define DEFAULT_BUDGET	  (1ull << 30)
#define DEFAULT_READAHEAD (32ull << 20)
#define MAX_WORKERS	  64u
#define BUF_ALIGN	  (64u << 10) /* buffer capacities: multiples of it */
#define BATCH_MIN	  (4ull << 20)	/* GPU batch: readahead / 2 within */
#define BATCH_CAP	  (64ull << 20) /* [BATCH_MIN, BATCH_CAP] bytes */

enum { DECODING, READY, FAILED };

struct entry {
	struct df11_vfile *vf;
	uint64_t id;
	uint8_t *data;
	size_t len, cap;
	int state, err;
	int streamed; /* copied to its end by a sequential reader */
	unsigned pins;
	struct entry *hnext;
	struct entry *prev, *next; /* LRU, READY entries only */
};

struct job {
	struct df11_vfile *vf;
	uint64_t id;
};

struct df11_cache {
	pthread_mutex_t mu;
	pthread_cond_t done; /* a decode finished */
	pthread_cond_t work; /* the queue got a job, or stop */
	struct entry *tab[NBUCKETS];
	struct entry lru; /* sentinel: lru.next is the most recent */
	struct df11_cache_stats st;
	struct df11_cache_opts o;
	struct job q[QUEUE_LEN];
	unsigned qhead, qlen;
	int stop;
	pthread_t tid[MAX_WORKERS];
	unsigned n_workers;
	pthread_key_t scratch;
	struct df11_decoder *dec;
	uint64_t batch_bytes; /* decoded bytes one GPU batch takes at most */
	df11_log_fn log;
	void *log_ctx;
};

struct df11_vfile {
	struct df11_cache *c;
	struct df11_source *src;
	df11_check_fn check;
	void *check_ctx;
	uint64_t size;
	int fd; /* a container's file, -1 for other sources */
	char *name;
	atomic_uint refs;
	struct stat st0;
	const uint8_t *hdr;
	size_t hdr_len;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void logf_(struct df11_cache *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(struct df11_cache *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (c->log)
		c->log(c->log_ctx, line);
	else
		fprintf(stderr, "df11fs: %s\n", line);
}

static unsigned bucket(const struct df11_vfile *vf, uint64_t id)
{
	uint64_t h =
	    ((uint64_t)(uintptr_t)vf >> 4) ^ (id * 0x9E3779B97F4A7C15ull);
	return (unsigned)(h ^ h >> 29) & (NBUCKETS - 1);
}

static struct entry *find(struct df11_cache *c, struct df11_vfile *vf,
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
static void bury(struct entry *grave)
{
	while (grave) {
		struct entry *n = grave->hnext;
		entry_free(grave);
		grave = n;
	}
}

/* drop a READY, unpinned entry onto @grave (lock held) */
static void drop(struct df11_cache *c, struct entry *e, struct entry **grave)
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
	drop(c, e, grave);
	c->st.evictions++;
	return p;
}

/*
 * A buffer of at least @len bytes for a new chunk (lock held): a streamed
 * chunk's at the LRU tail, else evict from the tail until the budget has
 * room, reusing an evicted buffer that fits. NULL means: map *@cap fresh
 * bytes after unlocking (the budget already counts them).
 */
static uint8_t *buffer_for(struct df11_cache *c, size_t len, size_t *cap,
			   struct entry **grave)
{
	size_t want = (len + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN;
	struct entry *e = c->lru.prev;
	uint8_t *p = NULL;

	if (e != &c->lru && e->streamed && !e->pins && e->cap >= len)
		return take_buffer(c, e, cap, grave);
	while (c->st.used + want > c->st.budget && e != &c->lru) {
		struct entry *prev = e->prev;
		if (!e->pins) {
			if (!p && e->cap >= len) {
				p = take_buffer(c, e, cap, grave);
			} else {
				drop(c, e, grave);
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
			drop(c, e, grave);
			c->st.evictions++;
		}
		e = p;
	}
}

static int pread_cb(void *ctx, void *buf, size_t len, uint64_t off)
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
	if (!s && df11_scratch_new(&s) == 0) {
		df11_decoder_attach(c->dec, s);
		pthread_setspecific(c->scratch, s);
	}
	return s;
}

static void scratch_dtor(void *p)
{
	df11_scratch_free(p);
}

/* the decode of entry @e ended with @rc after @dt ns: publish it */
static void publish(struct df11_cache *c, struct entry *e, int rc,
		    const char *err, uint64_t dt)
{
	if (rc)
		logf_(c, "'%s': %s", e->vf->name, err);
	pthread_mutex_lock(&c->mu);
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
	/* lock still held */
}

/* decode entry @e (pinned, DECODING) outside the lock; then publish it */
static int fill(struct df11_cache *c, struct entry *e)
{
	struct df11_scratch *s = thread_scratch(c);
	char err[256] = "out of memory";
	uint64_t t0 = now_ns();
	int rc = -ENOMEM;

	if (e->data && s)
		rc = e->vf->src->ops->chunk_read(e->vf->src, e->id, s, e->data,
						 c->o.decode_threads, err,
						 sizeof(err));
	publish(c, e, rc, err, now_ns() - t0);
	return rc; /* lock still held */
}

/*
 * A new DECODING entry for chunk @id of @vf, pinned once, hashed and
 * counted (lock held); its buffer may still have to be mapped (NULL
 * data: map e->cap bytes after unlocking). NULL: no memory.
 */
static struct entry *insert(struct df11_cache *c, struct df11_vfile *vf,
			    uint64_t id, struct entry **grave)
{
	struct entry *e = calloc(1, sizeof(*e));
	uint64_t off, len;

	if (!e)
		return NULL;
	vf->src->ops->chunk_range(vf->src, id, &off, &len);
	*e = (struct entry){
	    .vf = vf, .id = id, .len = len, .state = DECODING, .pins = 1};
	e->data = buffer_for(c, len, &e->cap, grave);
	e->hnext = c->tab[bucket(vf, id)];
	c->tab[bucket(vf, id)] = e;
	c->st.misses++;
	c->st.used += e->cap;
	if (c->st.used > c->st.peak)
		c->st.peak = c->st.used;
	return e;
}

/*
 * Pin chunk @id of @vf, decoding it here if nobody has it. Returns the
 * pinned entry, or NULL with *@rc set. Called without the lock.
 */
static struct entry *get(struct df11_cache *c, struct df11_vfile *vf,
			 uint64_t id, int *rc)
{
	struct entry *e;

	pthread_mutex_lock(&c->mu);
	if ((e = find(c, vf, id))) {
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
		struct entry *grave = NULL;
		if (!(e = insert(c, vf, id, &grave))) {
			pthread_mutex_unlock(&c->mu);
			*rc = -ENOMEM;
			return NULL;
		}
		pthread_mutex_unlock(&c->mu);
		bury(grave);
		if (!e->data) /* outside the lock: prefaulting takes a while */
			e->data = map_buffer(e->cap);
		fill(c, e); /* returns with the lock held */
	}
	struct entry *dead = NULL;
	if (e->state == FAILED) {
		*rc = -EIO;
		if (!--e->pins)
			dead = e;
		e = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (dead)
		entry_free(dead);
	return e;
}

/* unpin @e; a @streamed chunk moves to the LRU tail for reuse */
static void unpin(struct df11_cache *c, struct entry *e, int streamed)
{
	struct entry *grave = NULL;

	pthread_mutex_lock(&c->mu);
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
		trim(c, &grave);
	pthread_mutex_unlock(&c->mu);
	bury(grave);
}

/* after publish() (lock held): count a read-ahead chunk, unpin it */
static void ahead_done(struct df11_cache *c, struct entry *e)
{
	struct entry *dead = NULL;

	if (e->state == FAILED) {
		if (!--e->pins)
			dead = e;
		pthread_mutex_unlock(&c->mu);
		entry_free(dead);
		return;
	}
	c->st.readahead++;
	pthread_mutex_unlock(&c->mu);
	unpin(c, e, 0);
}

/*
 * Read-ahead on the GPU, which this worker holds: @j and the queued jobs
 * after it (up to DF11_DECODER_BATCH_MAX chunks and c->batch_bytes) are
 * read through the batch scratches, whose decoder only records the
 * decode, then decoded in one df11_gpu_decode() call and checked one by
 * one. Chunks that need no decoder (raw, lz4) are done when read; chunks
 * the GPU could not do are read and decoded again on the CPU. Every
 * entry is published before the GPU is let go; every job's vfile
 * reference is dropped.
 */
static void gpu_batch(struct df11_cache *c, struct job j)
{
	struct job jobs[DF11_DECODER_BATCH_MAX];
	struct entry *es[DF11_DECODER_BATCH_MAX], *grave = NULL;
	int rcs[DF11_DECODER_BATCH_MAX], ok[DF11_DECODER_BATCH_MAX];
	char err[DF11_DECODER_BATCH_MAX][160];
	unsigned n = 0, nj = 0;
	uint64_t bytes = 0, t0 = now_ns();

	jobs[nj++] = j;
	pthread_mutex_lock(&c->mu);
	for (;;) { /* the chunks of this batch, DECODING and pinned */
		struct job *x = &jobs[nj - 1];
		if (!find(c, x->vf, x->id) && df11_vfile_check(x->vf) == 0) {
			struct entry *e = insert(c, x->vf, x->id, &grave);
			if (e) {
				bytes += e->len;
				es[n++] = e;
			}
		}
		if (!c->qlen || nj == DF11_DECODER_BATCH_MAX ||
		    bytes >= c->batch_bytes || c->stop)
			break;
		jobs[nj++] = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % QUEUE_LEN;
		c->qlen--;
	}
	pthread_mutex_unlock(&c->mu);
	bury(grave);
	for (unsigned i = 0; i < n; i++) {
		struct entry *e = es[i];
		struct df11_scratch *s = df11_decoder_batch_scratch(c->dec, i);
		if (!e->data)
			e->data = map_buffer(e->cap);
		snprintf(err[i], sizeof(err[i]), "out of memory");
		rcs[i] = e->data && s ? e->vf->src->ops->chunk_read(
					    e->vf->src, e->id, s, e->data,
					    1, err[i], sizeof(err[i]))
				      : -ENOMEM;
	}
	df11_decoder_batch_run(c->dec, n, ok);
	for (unsigned i = 0; i < n; i++) {
		struct entry *e = es[i];
		const struct df11_source *src = e->vf->src;
		if (rcs[i] != -EINPROGRESS)
			continue;
		if (ok[i]) {
			rcs[i] = src->ops->chunk_check(src, e->id, e->data,
						       err[i], sizeof(err[i]));
		} else { /* on the CPU, which also says what is wrong */
			struct df11_scratch *s = df11_decoder_batch_scratch(c->dec, i);
			df11_scratch_set_decoder(s, NULL, NULL);
			rcs[i] = src->ops->chunk_read(src, e->id, s, e->data,
						      c->o.decode_threads,
						      err[i], sizeof(err[i]));
		}
	}
	uint64_t dt = n ? (now_ns() - t0) / n : 0;
	for (unsigned i = 0; i < n; i++) {
		publish(c, es[i], rcs[i], err[i], dt);
		ahead_done(c, es[i]); /* unlocks */
	}
	df11_decoder_batch_end(c->dec);
	pthread_mutex_lock(&c->mu);
	c->st.gpu_batches++;
	pthread_mutex_unlock(&c->mu);
	for (unsigned i = 0; i < nj; i++)
		df11_vfile_put(jobs[i].vf);
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
		struct job j = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % QUEUE_LEN;
		c->qlen--;
		int present = find(c, j.vf, j.id) != NULL;
		pthread_mutex_unlock(&c->mu);
		if (!present && df11_decoder_batch_begin(c->dec)) {
			gpu_batch(c, j); /* lets go of the GPU, puts the vfiles */
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (!present && df11_vfile_check(j.vf) == 0) {
			int rc;
			struct entry *e = get(c, j.vf, j.id, &rc);
			if (e) {
				pthread_mutex_lock(&c->mu);
				c->st.readahead++;
				pthread_mutex_unlock(&c->mu);
				unpin(c, e, 0);
			}
		}
		df11_vfile_put(j.vf);
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
	c->batch_bytes = c->o.readahead / 2;
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
		drop(c, c->lru.next, &grave);
	bury(grave);
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

/* a vfile around @src; takes @src and @fd (-1: none) even on failure */
static int vfile_new(struct df11_vfile **out, struct df11_cache *c,
		     struct df11_source *src, int fd, const char *name)
{
	struct df11_vfile *vf = calloc(1, sizeof(*vf));

	*out = NULL;
	if (!vf || !(vf->name = strdup(name))) {
		free(vf);
		df11_source_free(src);
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	vf->c = c;
	vf->src = src;
	vf->fd = fd;
	vf->size = src->ops->size(src);
	vf->hdr = src->ops->prefix(src, &vf->hdr_len);
	atomic_init(&vf->refs, 1);
	*out = vf;
	return 0;
}

int df11_vfile_open(struct df11_vfile **out, struct df11_cache *c, int fd,
		    const char *name, char *err, size_t errlen)
{
	struct df11_source *src;
	struct df11_vfile *vf;
	struct df11_ct *ct;
	struct stat st;
	int rc;

	*out = NULL;
	if (fstat(fd, &st)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* the read callback's context is the fd, which outlives the source */
	rc = df11_ct_open(&ct, pread_cb, (void *)(intptr_t)fd,
			  (uint64_t)st.st_size, err, errlen);
	if (!rc)
		rc = df11_ct_source(&src, ct, pread_cb, (void *)(intptr_t)fd);
	if (rc) {
		close(fd);
		return rc;
	}
	if ((rc = vfile_new(&vf, c, src, fd, name)))
		return rc;
	vf->st0 = st;
	*out = vf;
	return 0;
}

int df11_vfile_new(struct df11_vfile **out, struct df11_cache *c,
		   struct df11_source *src, df11_check_fn check,
		   void *check_ctx, const char *name)
{
	int rc = vfile_new(out, c, src, -1, name);
	if (!rc) {
		(*out)->check = check;
		(*out)->check_ctx = check_ctx;
	}
	return rc;
}

struct df11_vfile *df11_vfile_get(struct df11_vfile *vf)
{
	atomic_fetch_add(&vf->refs, 1);
	return vf;
}

void df11_vfile_put(struct df11_vfile *vf)
{
	if (!vf || atomic_fetch_sub(&vf->refs, 1) != 1)
		return;
	struct df11_cache *c = vf->c;
	struct entry *grave = NULL;
	pthread_mutex_lock(&c->mu);
	/* no reader or job holds it, so its entries are READY and unpinned */
	for (struct entry *e = c->lru.next, *n; e != &c->lru; e = n) {
		n = e->next;
		if (e->vf == vf)
			drop(c, e, &grave);
	}
	pthread_mutex_unlock(&c->mu);
	bury(grave);
	df11_source_free(vf->src);
	if (vf->fd >= 0)
		close(vf->fd);
	free(vf->name);
	free(vf);
}

uint64_t df11_vfile_size(const struct df11_vfile *vf)
{
	return vf->size;
}

uint64_t df11_vfile_stored(const struct df11_vfile *vf)
{
	return (uint64_t)vf->st0.st_size;
}

int df11_vfile_check(struct df11_vfile *vf)
{
	struct stat st;

	if (vf->fd < 0)
		return vf->check ? vf->check(vf->check_ctx) : 0;
	if (fstat(vf->fd, &st) || st.st_nlink == 0 ||
	    st.st_size != vf->st0.st_size || st.st_ino != vf->st0.st_ino ||
	    st.st_mtim.tv_sec != vf->st0.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != vf->st0.st_mtim.tv_nsec)
		return -ESTALE;
	return 0;
}

/*
 * Queue read-ahead for a reader at [off, end): sequential readers (a read
 * that starts near where the last one ended) get the chunks after @end, up
 * to the read-ahead window, queued once each.
 */
static void readahead(struct df11_vfile *vf, struct df11_cursor *cur,
		      uint64_t off, uint64_t end)
{
	struct df11_cache *c = vf->c;
	uint64_t size = vf->size, win = c->o.readahead;

	if (!cur || !c->n_workers || end >= size)
		return;
	pthread_mutex_lock(&c->mu);
	int seq = off <= cur->next_off + win && off + win >= cur->next_off;
	cur->streak = seq ? cur->streak + 1 : 0;
	if (!seq)
		cur->ahead = 0;
	cur->next_off = end;
	if (cur->streak >= 1 || off == 0) {
		uint64_t from = cur->ahead > end ? cur->ahead : end;
		uint64_t to = end + win < size ? end + win : size;
		while (from < to && c->qlen < QUEUE_LEN) {
			uint64_t id, coff, clen;
			if (from < vf->hdr_len)
				from = vf->hdr_len;
			if (from >= to ||
			    vf->src->ops->chunk_find(vf->src, from, &id))
				break;
			vf->src->ops->chunk_range(vf->src, id, &coff, &clen);
			if (!find(c, vf, id)) {
				c->q[(c->qhead + c->qlen) % QUEUE_LEN] =
				    (struct job){df11_vfile_get(vf), id};
				c->qlen++;
				pthread_cond_signal(&c->work);
			}
			from = coff + clen;
		}
		cur->ahead = from;
	}
	pthread_mutex_unlock(&c->mu);
}

void df11_vfile_return(struct df11_vfile *vf, struct df11_slice *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (s[i].pin)
			unpin(vf->c, s[i].pin, s[i].streamed);
}

ssize_t df11_vfile_lend(struct df11_vfile *vf, uint64_t off, size_t len,
			struct df11_cursor *cur, struct df11_slice *s,
			unsigned max, unsigned *n)
{
	struct df11_cache *c = vf->c;
	uint64_t pos = off, end;
	int rc = 0;

	*n = 0;
	if (df11_vfile_check(vf)) {
		logf_(c, "'%s': source file changed or removed", vf->name);
		return -ESTALE;
	}
	if (off >= vf->size || !len || !max)
		return 0;
	end = len < vf->size - off ? off + len : vf->size;
	readahead(vf, cur, off, end);
	if (pos < vf->hdr_len) {
		uint64_t e = end < vf->hdr_len ? end : vf->hdr_len;
		s[(*n)++] =
		    (struct df11_slice){vf->hdr + pos, e - pos, NULL, 0};
		pos = e;
	}
	while (pos < end && *n < max) {
		uint64_t id, coff, clen;
		struct entry *e;
		if ((rc = vf->src->ops->chunk_find(vf->src, pos, &id)))
			break;
		vf->src->ops->chunk_range(vf->src, id, &coff, &clen);
		if (!(e = get(c, vf, id, &rc)))
			break;
		uint64_t k = (coff + clen < end ? coff + clen : end) - pos;
		s[(*n)++] = (struct df11_slice){e->data + (pos - coff), k, e,
						cur && cur->streak &&
						    pos + k == coff + clen};
		pos += k;
	}
	if (rc) {
		df11_vfile_return(vf, s, *n);
		*n = 0;
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	pthread_mutex_lock(&c->mu);
	c->st.bytes_served += pos - off;
	pthread_mutex_unlock(&c->mu);
	return (ssize_t)(pos - off);
}

ssize_t df11_vfile_read(struct df11_vfile *vf, void *buf, size_t len,
			uint64_t off, struct df11_cursor *cur)
{
	struct df11_slice s[16];
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		unsigned n;
		ssize_t r = df11_vfile_lend(vf, off + done, len - done,
					    done ? NULL : cur, s, 16, &n);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		for (unsigned i = 0; i < n; i++) {
			memcpy(p + done, s[i].p, s[i].len);
			done += s[i].len;
		}
		df11_vfile_return(vf, s, n);
	}
	return (ssize_t)done;
}
