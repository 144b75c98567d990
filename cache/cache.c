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
 * Those are bounded too (admission): c->held counts the bytes that cannot
 * be evicted, pinned entries and twice each DECODING one (its buffer and
 * its decode scratch), and a reader decodes a missing chunk only while
 * held stays within budget + PIN_SLACK; else it waits for a publish or an
 * unpin. Two rules keep this free of deadlocks: a thread that holds pins
 * itself (a read lending several chunks) never waits: it gets -EAGAIN and
 * lends what it has (df11_vfile_lend() returns fewer bytes, its caller
 * comes again without pins); and a chunk is always admitted when nothing
 * is held. Read-ahead never waits and decodes only what fits in the
 * budget. Decode scratch goes back to a pool of at most one idle
 * scratch per worker (one used for a chunk past SCRATCH_KEEP is freed),
 * so that decoding never maps, faults in and trims memory. So decoded
 * bytes in memory stay below budget + PIN_SLACK plus what lending threads
 * hold (one FUSE request's chunks each), whatever the number of readers
 * and threads (df11fs(1), MEMORY).
 *
 * Chunk bytes are anonymous mappings, not malloc memory: freeing one gives
 * it back to the kernel at once, so the process's resident size follows
 * the budget instead of the allocator's high-water mark. Mapping and
 * faulting in fresh memory costs as much as decoding into it, so buffers
 * are reused: a chunk of which sequential readers have copied every byte
 * is "streamed" (the kernel's page cache holds those bytes now; the
 * kernel's asynchronous requests for one chunk may come in any order,
 * so its end being copied is not enough) and goes to
 * the LRU tail, where the next new chunk takes over its buffer; an entry
 * evicted for room hands its buffer to the new chunk when it is big
 * enough, and other dropped buffers are kept as spares while buffers in
 * use and spare stay within budget + PIN_SLACK (the bound admission
 * keeps anyway), so that a burst of readers past the budget does not
 * map and unmap buffers on their way. The budget counts buffer
 * capacities.
 *
 * Fairness: readers that wait for room queue in FIFO order
 * (admit_wait_locked()), so none waits behind later ones; read-ahead
 * takes no room while one waits; eviction passes over a chunk that was
 * read again once (second_chance()), so that chunks read once go first.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_i.h"

/* pins this thread took through df11_cache_get*() and still holds */
static _Thread_local unsigned t_held;

uint64_t df11_now_ns(void)
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

/* sequential readers copied every byte of @e: the page cache has them */
static int streamed(const struct entry *e)
{
	return e->served >= e->len;
}

/*
 * Bytes that chunk buffers, in use and spare, may take (lock held): the
 * budget plus PIN_SLACK, what admission lets pinned chunks hold, so that
 * the buffers of chunks pinned past the budget stay as spares when they
 * are dropped instead of being unmapped and, under the next burst of
 * readers, mapped again.
 */
static uint64_t buffers_max(const struct df11_cache *c)
{
	return c->st.budget + PIN_SLACK;
}

/*
 * Drop a READY, unpinned entry (lock held); with @keep its buffer is kept
 * as a spare while buffers in use and spares fit in buffers_max() (a mapping
 * and an unmapping cost every thread of the process: the address space's lock
 * and TLB shootdowns), else it goes onto @grave to be unmapped.
 */
static void drop(struct df11_cache *c, struct entry *e, struct entry **grave,
		 int keep)
{
	lru_unlink(e);
	unhash(c, e);
	c->st.used -= e->cap;
	if (keep && e->data &&
	    c->st.used + c->spare_bytes + e->cap <= buffers_max(c)) {
		e->hnext = c->spare;
		c->spare = e;
		c->spare_bytes += e->cap;
		return;
	}
	e->hnext = *grave;
	*grave = e;
}

void df11_cache_drop(struct df11_cache *c, struct entry *e,
		     struct entry **grave)
{
	drop(c, e, grave, 1);
}

/*
 * A spare buffer for a chunk of @len bytes (lock held): one of at least
 * @len and at most half as much again as @want (a big one is not spent
 * on a small chunk), or NULL. Its entry shell goes onto @grave.
 */
static uint8_t *spare_take(struct df11_cache *c, size_t len, size_t want,
			   size_t *cap, struct entry **grave)
{
	for (struct entry **pp = &c->spare; *pp; pp = &(*pp)->hnext) {
		struct entry *e = *pp;
		uint8_t *p = e->data;
		if (e->cap < len || e->cap > want + want / 2)
			continue;
		*pp = e->hnext;
		c->spare_bytes -= e->cap;
		*cap = e->cap;
		e->data = NULL;
		e->hnext = *grave;
		*grave = e;
		return p;
	}
	return NULL;
}

/* unmap spare buffers until used + spares + @want fit buffers_max() */
static void spare_release(struct df11_cache *c, size_t want,
			  struct entry **grave)
{
	while (c->spare &&
	       c->st.used + c->spare_bytes + want > buffers_max(c)) {
		struct entry *e = c->spare;
		c->spare = e->hnext;
		c->spare_bytes -= e->cap;
		e->hnext = *grave;
		*grave = e;
	}
}

/*
 * Scan resistance (lock held): an unpinned entry hit again since it was
 * decoded (a random reader's chunk, read by several of its requests or
 * by several readers) is spared by eviction once: it loses the mark and
 * goes to the LRU front. Chunks read only once, by read-ahead and by
 * streams that the page cache holds now, go first, so that a sequential
 * scan or a burst of read-ahead cannot flush the chunks random readers
 * come back to. Return: 1 if @e was spared.
 */
static int second_chance(struct df11_cache *c, struct entry *e)
{
	if (e->pins || !e->hot)
		return 0;
	e->hot = 0;
	lru_unlink(e);
	lru_front(c, e);
	return 1;
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
 * tail, the latest last, its bytes likely still in the CPU caches), else a
 * spare, else evict from the tail until the budget has room, reusing an
 * evicted buffer that fits (the others become spares), else a spare that
 * eviction freed. Only then are spares unmapped, as many as a fresh
 * buffer needs to keep within buffers_max(). NULL means: map *@cap fresh
 * bytes after unlocking (the budget already counts them).
 */
static uint8_t *buffer_for(struct df11_cache *c, size_t len, size_t *cap,
			   struct entry **grave)
{
	size_t want = (len + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN;
	struct entry *e = c->lru.prev;
	uint8_t *p = NULL;

	for (unsigned k = 0; k < STREAM_SCAN && e != &c->lru && streamed(e);
	     k++, e = e->prev)
		if (!e->pins && e->cap >= len)
			return take_buffer(c, e, cap, grave);
	if ((p = spare_take(c, len, want, cap, grave)))
		return p;
	e = c->lru.prev;
	while (c->st.used + want > c->st.budget && e != &c->lru) {
		struct entry *prev = e->prev;
		if (second_chance(c, e)) {
			/* spared once: evicted on the next pass */
		} else if (!e->pins) {
			if (!p && e->cap >= len && e->cap <= want + want / 2) {
				p = take_buffer(c, e, cap, grave);
			} else {
				drop(c, e, grave, 1); /* for room */
				c->st.evictions++;
			}
		}
		e = prev;
	}
	if (!p && (p = spare_take(c, len, want, cap, grave)))
		return p;
	if (!p) {
		spare_release(c, want, grave);
		*cap = want;
	}
	return p;
}

uint8_t *df11_cache_map_buffer(size_t cap)
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
		if (!second_chance(c, e) && !e->pins) {
			drop(c, e, grave, 1);
			c->st.evictions++;
		}
		e = p;
	}
}

/* an idle scratch from the pool, or a new one; NULL: no memory */
struct df11_scratch *df11_cache_scratch_get(struct df11_cache *c)
{
	struct df11_scratch *s = NULL;

	pthread_mutex_lock(&c->pool_mu);
	if (c->pool_n)
		s = c->pool[--c->pool_n];
	else
		c->scratches++; /* made below */
	pthread_mutex_unlock(&c->pool_mu);
	if (!s && df11_scratch_new(&s) != 0)
		s = NULL;
	return s;
}

/* give @s back after a chunk of @cap bytes: pooled, or freed if big */
void df11_cache_scratch_put(struct df11_cache *c, struct df11_scratch *s,
			    size_t cap)
{
	if (s && cap <= SCRATCH_KEEP) {
		pthread_mutex_lock(&c->pool_mu);
		if (c->pool_n < c->pool_max) {
			c->pool[c->pool_n++] = s;
			s = NULL;
		}
		pthread_mutex_unlock(&c->pool_mu);
	}
	df11_scratch_free(s);
}

/*
 * A reader waiting for room, on its own stack: waiters form a FIFO
 * queue from c->admit_head. Only the first is woken when room may have
 * been made (a publish, an unpin to zero), and it wakes the next once it
 * is admitted or leaves, so readers are admitted in the order they came
 * and one wake-up wakes one thread, not every reader of the cache.
 */
struct admit_waiter {
	pthread_cond_t cv;
	struct admit_waiter *next;
};

/* wake the first reader waiting for room, if any (lock held) */
static void admit_wake_locked(struct df11_cache *c)
{
	if (c->admit_head)
		pthread_cond_signal(&c->admit_head->cv);
}

/* add the stage times of @t to the counters (lock held) */
void df11_cache_stages_add_locked(struct df11_cache *c,
				  const struct stage_ns *t)
{
	c->st.decode_ns += t->map + t->fetch + t->decode + t->check;
	c->st.map_ns += t->map;
	c->st.fetch_ns += t->fetch;
	c->st.check_ns += t->check;
}

/* the decode of entry @e ended with @rc after @dt ns: publish it (locked) */
void df11_cache_publish_locked(struct df11_cache *c, struct entry *e, int rc,
			       const struct stage_ns *t)
{
	df11_cache_stages_add_locked(c, t);
	if (rc == 0) {
		e->state = READY;
		c->st.bytes_decoded += e->len;
		atomic_fetch_add_explicit(&e->vf->n_decoded, 1,
					  memory_order_relaxed);
		lru_front(c, e);
		c->held -= e->cap; /* its scratch */
	} else {
		e->state = FAILED;
		e->err = rc;
		unhash(c, e);
		c->st.used -= e->cap;
		c->held -= 2 * e->cap; /* out of the accounts */
		c->st.errors++;
	}
	pthread_cond_broadcast(&c->done);
	admit_wake_locked(c);
}

/*
 * Read chunk @id of @vf into @out with scratch @s, without the lock: the
 * source's fetch, the plan on the GPU when @gpu and the decoder takes it,
 * the rest (and the check) on this thread; the stage times added to @t.
 * A failure is logged. Return: 0, or the source's error.
 */
int df11_cache_read_chunk(struct df11_cache *c, struct df11_vfile *vf,
			  uint64_t id, struct df11_scratch *s, uint8_t *out,
			  int gpu, struct stage_ns *t)
{
	const struct df11_source *src = vf->src;
	char err[256];
	struct df11_fetch f;
	uint64_t t0 = df11_now_ns(), t1, t2;
	int rc = src->ops->chunk_fetch(src, id, s, out, &f, err, sizeof(err));

	t1 = df11_now_ns();
	t->fetch += t1 - t0;
	if (!rc) {
		if (gpu)
			df11_decoder_run(c->dec, &f, out);
		df11_source_decode(&f, s, out);
		t2 = df11_now_ns();
		t->decode += t2 - t1;
		rc = src->ops->chunk_check(src, id, out, f.rc, err,
					   sizeof(err));
		t->check += df11_now_ns() - t2;
	}
	if (rc)
		df11_cache_logf(c, "'%s': %s", vf->name, err);
	return rc;
}

/* Read chunk @e (pinned, DECODING) into its buffer, mapped first if new. */
static int fill(struct df11_cache *c, struct entry *e, struct stage_ns *t)
{
	struct df11_scratch *s = df11_cache_scratch_get(c);
	uint64_t t0 = df11_now_ns();
	int rc = -ENOMEM;

	if (!e->data)
		e->data = df11_cache_map_buffer(e->cap);
	t->map = df11_now_ns() - t0;
	if (e->data && s)
		rc = df11_cache_read_chunk(c, e->vf, e->id, s, e->data, 1, t);
	else
		df11_cache_logf(c, "'%s': out of memory", e->vf->name);
	df11_cache_scratch_put(c, s, e->cap);
	return rc;
}

int df11_cache_copy_ready(struct df11_cache *c, struct df11_vfile *vf,
			  const struct df11_chunk *ck, void *out)
{
	struct entry *e;

	pthread_mutex_lock(&c->mu);
	e = df11_cache_find(c, vf, ck->id);
	if (e && e->state == READY && e->len == ck->len) {
		if (e->pins++ == 0)
			c->held += e->cap;
		t_held++;
	} else {
		e = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (!e)
		return 0;
	memcpy(out, e->data, (size_t)ck->len);
	df11_cache_unpin(c, e, 0);
	return 1;
}

/*
 * A new DECODING entry for chunk @ck of @vf, pinned once, hashed and
 * counted (lock held); its buffer may still have to be mapped (NULL
 * data: map e->cap bytes after unlocking). NULL: no memory.
 */
struct entry *df11_cache_insert_locked(struct df11_cache *c,
				       struct df11_vfile *vf,
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
	if (!e->data)
		c->st.maps++; /* mapped after unlocking */
	e->hnext = c->tab[bucket(vf, ck->id)];
	c->tab[bucket(vf, ck->id)] = e;
	c->st.misses++;
	c->st.used += e->cap;
	c->held += 2 * e->cap; /* buffer and scratch until published */
	if (c->st.used > c->st.peak)
		c->st.peak = c->st.used;
	return e;
}

int df11_cache_fits_locked(const struct df11_cache *c, uint64_t len, int ahead)
{
	uint64_t want = (len + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN * 2;

	if (ahead) /* never ahead of a reader waiting for room */
		return !c->admit_head && c->held + want <= c->st.budget;
	return c->held == 0 || c->held + want <= c->st.budget + PIN_SLACK;
}

/* drop one pin of FAILED @e; the last one hands it back to be freed */
struct entry *df11_cache_failed_unpin_locked(struct entry *e)
{
	return --e->pins ? NULL : e;
}

/*
 * A reader decodes chunk @id of @vf itself: the queued read-ahead jobs for
 * it are gone (lock held). Without this, a reader that overtakes the
 * workers leaves jobs behind it that decode its chunks a second time once
 * it has streamed them and their buffers were reused.
 */
static void void_jobs_locked(struct df11_cache *c, struct df11_vfile *vf,
			     uint64_t id)
{
	for (unsigned i = 0; i < c->qlen; i++) {
		struct job *j = &c->q[(c->qhead + i) % QUEUE_LEN];
		if (j->vf == vf && j->ck.id == id && !j->gone) {
			j->gone = 1;
			c->qbytes -= j->ck.len;
		}
	}
}

/*
 * Wait in FIFO order until chunk @ck of @vf is in the cache (then its
 * entry) or this reader is the first waiter and the chunk fits (then
 * NULL: decode it). Lock held; released while waiting.
 */
static struct entry *admit_wait_locked(struct df11_cache *c,
				       struct df11_vfile *vf,
				       const struct df11_chunk *ck)
{
	struct admit_waiter w = {.next = NULL}, **pp = &c->admit_head;
	struct entry *e;

	pthread_cond_init(&w.cv, NULL);
	while (*pp)
		pp = &(*pp)->next;
	*pp = &w;
	while (!(e = df11_cache_find(c, vf, ck->id)) &&
	       (c->admit_head != &w || !df11_cache_fits_locked(c, ck->len, 0)))
		pthread_cond_wait(&w.cv, &c->mu);
	for (pp = &c->admit_head; *pp != &w; pp = &(*pp)->next)
		;
	*pp = w.next;
	pthread_cond_destroy(&w.cv);
	admit_wake_locked(c); /* the next may fit too, or find its chunk */
	return e;
}

/*
 * Pin chunk @ck of @vf, decoding it here if nobody has it, once admitted
 * (see the top of the file; @ahead: never wait, -EAGAIN when it does not
 * fit). Returns the pinned entry, or NULL with *@rc set. Called without
 * the lock.
 */
static struct entry *get(struct df11_cache *c, struct df11_vfile *vf,
			 const struct df11_chunk *ck, int ahead, int *rc)
{
	struct entry *e, *grave = NULL, *dead = NULL;

	uint64_t w0 = 0;

	pthread_mutex_lock(&c->mu);
	e = df11_cache_find(c, vf, ck->id);
	if (!e && !ahead && !t_held &&
	    (c->admit_head || !df11_cache_fits_locked(c, ck->len, 0))) {
		w0 = df11_now_ns(); /* behind waiters, or no room: queue */
		e = admit_wait_locked(c, vf, ck);
	}
	if (!e && (!df11_cache_fits_locked(c, ck->len, ahead) ||
		   (t_held && c->admit_head))) {
		/* read-ahead, or a thread that holds pins: never waits */
		pthread_mutex_unlock(&c->mu);
		*rc = -EAGAIN;
		return NULL;
	}
	if (e) {
		if (e->pins++ == 0)
			c->held += e->cap;
		if (e->state == READY) {
			c->st.hits++;
			if (!ahead)
				e->hot = 1; /* read again: spare it once */
			lru_unlink(e);
			lru_front(c, e);
		} else {
			c->st.misses++;
			c->st.waits++;
			if (!w0)
				w0 = df11_now_ns();
			while (e->state == DECODING)
				pthread_cond_wait(&c->done, &c->mu);
		}
		if (w0)
			c->st.wait_ns += df11_now_ns() - w0;
	} else {
		if (!(e = df11_cache_insert_locked(c, vf, ck, &grave))) {
			pthread_mutex_unlock(&c->mu);
			*rc = -ENOMEM;
			return NULL;
		}
		uint64_t w = w0 ? df11_now_ns() - w0 : 0;
		if (!ahead)
			void_jobs_locked(c, vf, ck->id);
		pthread_mutex_unlock(&c->mu);
		df11_cache_bury(grave);
		struct stage_ns t = {0};
		int r = fill(c, e, &t); /* outside the lock */
		pthread_mutex_lock(&c->mu);
		c->st.wait_ns += w;
		df11_cache_publish_locked(c, e, r, &t);
	}
	if (e->state == FAILED) {
		*rc = -EIO;
		dead = df11_cache_failed_unpin_locked(e);
		e = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (dead)
		entry_free(dead);
	if (e)
		t_held++;
	return e;
}

struct entry *df11_cache_get(struct df11_cache *c, struct df11_vfile *vf,
			     const struct df11_chunk *ck, int *rc)
{
	return get(c, vf, ck, 0, rc);
}

struct entry *df11_cache_get_ahead(struct df11_cache *c, struct df11_vfile *vf,
				   const struct df11_chunk *ck, int *rc)
{
	return get(c, vf, ck, 1, rc);
}

/* unpin @e, @seq bytes of it copied by a sequential reader (locked) */
void df11_cache_unpin_locked(struct df11_cache *c, struct entry *e, size_t seq,
			     struct entry **grave)
{
	if (--e->pins == 0) {
		c->held -= e->cap;
		admit_wake_locked(c); /* room for a waiting reader */
	}
	int was = streamed(e);
	e->served += seq;
	if (!was && streamed(e)) {
		e->hot = 0; /* the page cache has it now */
		lru_unlink(e);
		e->prev = c->lru.prev;
		e->next = &c->lru;
		c->lru.prev->next = e;
		c->lru.prev = e;
	}
	if (c->st.used > c->st.budget)
		trim(c, grave);
}

void df11_cache_unpin(struct df11_cache *c, struct entry *e, size_t seq)
{
	struct entry *grave = NULL;

	pthread_mutex_lock(&c->mu);
	df11_cache_unpin_locked(c, e, seq, &grave);
	pthread_mutex_unlock(&c->mu);
	df11_cache_bury(grave);
	if (t_held)
		t_held--;
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
#ifdef __GLIBC__
	/*
	 * Scratch past SCRATCH_KEEP is freed after its decode (fill()); with
	 * glibc's moving mmap threshold such blocks would stay in the
	 * threads' arenas after the first free, one per thread. A fixed
	 * threshold maps them, so freeing them gives them back.
	 */
	mallopt(M_MMAP_THRESHOLD, (int)SCRATCH_KEEP);
#endif
	c->o = o ? *o : (struct df11_cache_opts){0};
	if (!c->o.budget)
		c->o.budget = DEFAULT_BUDGET;
	if (c->o.no_ahead)
		c->o.workers = 0; /* vfile.c queues nothing without workers */
	else if (!c->o.workers)
		c->o.workers = ncpu > 0 ? (unsigned)ncpu : 1;
	if (c->o.workers > MAX_WORKERS)
		c->o.workers = MAX_WORKERS;
	if (!c->o.readahead)
		c->o.readahead = DEFAULT_READAHEAD;
	if (c->o.readahead > c->o.budget / 2) /* never evict its own work */
		c->o.readahead = c->o.budget / 2;
	c->st.budget = c->o.budget;
	c->batch_bytes = c->o.readahead / 16; /* several batches under way */
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
	pthread_mutex_init(&c->pool_mu, NULL);
	/* idle scratch: as many as decode at once, the workers */
	c->pool_max = c->o.workers < SCRATCH_POOL ? c->o.workers : SCRATCH_POOL;
	if (c->pool_max < 2)
		c->pool_max = 2;
	for (; c->n_workers < c->o.workers; c->n_workers++)
		if ((rc = pthread_create(&c->tid[c->n_workers], NULL,
					 df11_cache_worker, c))) {
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
	c->qbytes = 0;
	struct entry *grave = NULL;
	while (c->lru.next != &c->lru)
		df11_cache_drop(c, c->lru.next, &grave);
	spare_release(c, buffers_max(c) + 1, &grave); /* all of them */
	df11_cache_bury(grave);
	while (c->pool_n)
		df11_scratch_free(c->pool[--c->pool_n]);
	pthread_mutex_destroy(&c->pool_mu);
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
	pthread_mutex_lock(&c->pool_mu);
	st->scratches = c->scratches;
	pthread_mutex_unlock(&c->pool_mu);
	st->gpu_chunks = df11_decoder_gpu_chunks(c->dec);
}

int df11_cache_decoder(struct df11_cache *c, char *buf, size_t len)
{
	return df11_decoder_describe(c->dec, buf, len);
}
