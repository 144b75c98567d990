/* SPDX-License-Identifier: MIT */
/*
 * cache/vfile.c - virtual files: wrap a source (store/store.h opens the
 * files behind it), check through its callback that they are unchanged, queue
 * read-ahead for sequential readers, lend the cache's chunk bytes or copy them
 * out
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache_i.h"

int df11_vfile_new(struct df11_vfile **out, struct df11_cache *c,
		   struct df11_source *src, df11_check_fn check,
		   void (*check_free)(void *), void *check_ctx,
		   const char *name)
{
	struct df11_vfile *vf = calloc(1, sizeof(*vf));

	*out = NULL;
	if (!vf || !(vf->name = strdup(name))) {
		free(vf);
		df11_source_free(src);
		return -ENOMEM;
	}
	vf->c = c;
	vf->src = src;
	vf->check = check;
	vf->check_free = check_free;
	vf->check_ctx = check_ctx;
	vf->size = src->ops->size(src);
	vf->hdr = src->ops->prefix(src, &vf->hdr_len);
	atomic_init(&vf->refs, 1);
	atomic_init(&vf->n_served, 0);
	atomic_init(&vf->n_decoded, 0);
	atomic_init(&vf->n_errors, 0);
	*out = vf;
	return 0;
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
			df11_cache_drop(c, e, &grave);
	}
	pthread_mutex_unlock(&c->mu);
	df11_cache_bury(grave);
	df11_source_free(vf->src);
	if (vf->check_free)
		vf->check_free(vf->check_ctx);
	free(vf->name);
	free(vf);
}

uint64_t df11_vfile_size(const struct df11_vfile *vf)
{
	return vf->size;
}

uint64_t df11_vfile_stored(const struct df11_vfile *vf)
{
	return vf->src->ops->stored(vf->src);
}

void df11_vfile_stats(const struct df11_vfile *vf, struct df11_vfile_stats *st)
{
	st->bytes_served =
	    atomic_load_explicit(&vf->n_served, memory_order_relaxed);
	st->chunks_decoded =
	    atomic_load_explicit(&vf->n_decoded, memory_order_relaxed);
	st->errors = atomic_load_explicit(&vf->n_errors, memory_order_relaxed);
}

int df11_vfile_check(struct df11_vfile *vf)
{
	return vf->check ? vf->check(vf->check_ctx) : 0;
}

/*
 * The read-ahead window after @streak sequential reads: RA_FIRST, doubled
 * by each one, up to the readahead= maximum. A reader that reads a header
 * and stops costs little; one that streams a file soon has the workers
 * far enough ahead that its requests, however many the kernel sends at
 * once, find their chunks decoded.
 */
static uint64_t window(const struct df11_cache *c, uint64_t streak)
{
	uint64_t w = RA_FIRST << (streak < 16 ? streak : 16);

	return w < c->o.readahead ? w : c->o.readahead;
}

/*
 * The sequential streams that read in the last STREAM_IDLE_NS, @cur
 * among them (registered, or its time refreshed, at @now), at least 1
 * (lock held). A stream that no slot is left for counts all the same.
 */
static unsigned streams_locked(struct df11_cache *c,
			       const struct df11_cursor *cur, uint64_t now)
{
	struct stream *mine = NULL, *idle = NULL;
	unsigned n = 1;

	for (unsigned i = 0; i < MAX_STREAMS; i++) {
		struct stream *s = &c->streams[i];
		int live = s->cur && now - s->seen_ns < STREAM_IDLE_NS;
		if (s->cur == cur)
			mine = s;
		else if (live)
			n++;
		else if (!idle)
			idle = s;
	}
	if (!mine)
		mine = idle;
	if (mine)
		*mine = (struct stream){cur, now};
	return n;
}

/*
 * Queue read-ahead for a reader at [off, end): sequential readers (a read
 * that starts near where the last one ended) get the chunks after @end, up
 * to the read-ahead window, queued once each. @cur may be shared by
 * concurrent reads of one open file: it is read and written under the
 * cache's lock only. Return: the streak, as this read left it (0: not
 * sequential, or no cursor).
 */
static uint64_t readahead(struct df11_vfile *vf, struct df11_cursor *cur,
			  uint64_t off, uint64_t end)
{
	struct df11_cache *c = vf->c;
	uint64_t size = vf->size, win, streak;

	if (!cur)
		return 0;
	pthread_mutex_lock(&c->mu);
	if (!c->n_workers || end >= size) { /* nothing to queue */
		streak = cur->streak;
		pthread_mutex_unlock(&c->mu);
		return streak;
	}
	win = window(c, cur->streak);
	int seq = off <= cur->next_off + win && off + win >= cur->next_off;
	cur->streak = seq ? cur->streak + 1 : 0;
	win = window(c, cur->streak);
	if (!seq)
		cur->ahead = 0;
	cur->next_off = end;
	streak = cur->streak;
	if (seq) { /* concurrent streams share readahead= */
		uint64_t share =
		    c->o.readahead / streams_locked(c, cur, df11_now_ns());
		if (win > share)
			win = share;
	}
	if (cur->streak >= 1 || off == 0) {
		uint64_t from = cur->ahead > end ? cur->ahead : end;
		uint64_t to = end + win < size ? end + win : size;
		while (from < to && c->qlen < QUEUE_LEN) {
			struct df11_chunk ck;
			if (from < vf->hdr_len)
				from = vf->hdr_len;
			if (from >= to ||
			    vf->src->ops->chunk_find(vf->src, from, &ck))
				break;
			if (!df11_cache_find(c, vf, ck.id)) {
				c->q[(c->qhead + c->qlen) % QUEUE_LEN] =
				    (struct job){df11_vfile_get(vf), ck, 0};
				c->qlen++;
				c->qbytes += ck.len;
				pthread_cond_signal(&c->work);
			}
			from = ck.off + ck.len;
		}
		cur->ahead = from;
	}
	pthread_mutex_unlock(&c->mu);
	return streak;
}

void df11_vfile_return(struct df11_vfile *vf, struct df11_slice *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (s[i].pin)
			df11_cache_unpin(vf->c, s[i].pin, s[i].seq);
}

ssize_t df11_vfile_lend(struct df11_vfile *vf, uint64_t off, size_t len,
			struct df11_cursor *cur, struct df11_slice *s,
			unsigned max, unsigned *n)
{
	struct df11_cache *c = vf->c;
	uint64_t pos = off, end, streak;
	int rc = 0;

	*n = 0;
	if (df11_vfile_check(vf)) {
		df11_cache_logf(c, "'%s': source file changed or removed",
				vf->name);
		atomic_fetch_add_explicit(&vf->n_errors, 1,
					  memory_order_relaxed);
		return -ESTALE;
	}
	if (off >= vf->size || !len || !max)
		return 0;
	end = len < vf->size - off ? off + len : vf->size;
	streak = readahead(vf, len < RA_MIN_READ ? NULL : cur, off, end);
	if (pos < vf->hdr_len) {
		uint64_t e = end < vf->hdr_len ? end : vf->hdr_len;
		s[(*n)++] =
		    (struct df11_slice){vf->hdr + pos, e - pos, NULL, 0};
		pos = e;
	}
	while (pos < end && *n < max) {
		struct df11_chunk ck;
		struct entry *e;
		if ((rc = vf->src->ops->chunk_find(vf->src, pos, &ck)))
			break;
		if (!(e = df11_cache_get(c, vf, &ck, &rc))) {
			if (rc == -EAGAIN && *n) /* no room past the budget: */
				rc = 0;		 /* lend what we have */
			break;
		}
		uint64_t cend = ck.off + ck.len;
		uint64_t k = (cend < end ? cend : end) - pos;
		s[(*n)++] = (struct df11_slice){e->data + (pos - ck.off), k, e,
						streak ? k : 0};
		pos += k;
	}
	if (rc) {
		df11_vfile_return(vf, s, *n);
		*n = 0;
		atomic_fetch_add_explicit(&vf->n_errors, 1,
					  memory_order_relaxed);
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	pthread_mutex_lock(&c->mu);
	c->st.bytes_served += pos - off;
	pthread_mutex_unlock(&c->mu);
	atomic_fetch_add_explicit(&vf->n_served, pos - off,
				  memory_order_relaxed);
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
