/* SPDX-License-Identifier: MIT */
/*
 * fs/fill.c - whole decoded files in backing files (-o decoded_cache=SIZE)
 *
 * When a container is opened, its whole original file is decoded in the
 * background into a backing file (a file of the daemon's own huge-page
 * tmpfs, an unnamed O_TMPFILE in -o decoded_dir=, or a memfd), by a pool
 * of fill threads that take it span by span (whole chunks, about 16 MiB)
 * and decode each straight into the backing file's pages, mapped for that
 * span (df11_vfile_decode: every chunk checked as a cached one is; past
 * the chunk cache, copying the chunks a reader had it decode; in GPU
 * batches when the decoder has one free, on the thread's CPU otherwise). The other
 * containers of the directory that the kernel knows are queued after it
 * (fs/file.c), in name order, the order loaders read shards in.
 *
 * An open of a file being decoded waits for it, its spans going first,
 * while the fill looks likely to end soon (wait_fill). Once the file is
 * complete it is registered with the kernel (fs/passthrough.c), and its
 * opens are answered with passthrough: the kernel then reads and maps the
 * backing file itself, at the speed of its page cache, and sends no read
 * requests for them. Reads through requests (an open that did not wait,
 * no passthrough) are copied from the backing file where it is written
 * without a gap from the start (@mark), and decoded as before elsewhere.
 *
 * Plain files (not containers) need no decode: while passthrough is on,
 * their opens share one backing file per inode, the source descriptor of
 * the first (df11fs_fill_plain_open), registered until the last closes.
 *
 * The kernel takes passthrough per inode: an inode open in caching mode
 * cannot be opened in passthrough mode and the other way round (the open
 * fails with EIO). So each entry counts its open handles of both kinds,
 * and an open goes through passthrough when the file is complete and no
 * handle of the other kind is open (or when one of its own kind is).
 *
 * Memory: the backing files hold at most the budget, whole files each,
 * reserved when a fill starts. A complete file whose handles are all
 * closed stays (a second load opens it at once) until room is needed for
 * another: least recently opened first. A file larger than the budget is
 * never filled. Nor does a fill start that would leave the machine less
 * than the reserve (fs/room.c; memory, or decoded_dir's disk) once the
 * complete files no handle holds are freed; and once a second
 * (df11fs_fill_tick) those go when the machine runs short, and under half
 * the reserve the running fills stop. A fill that fails (a chunk that does not decode or check,
 * a changed source, a full disk) leaves nothing behind; the reads of that
 * file go on through the cache, and report its errors as before.
 *
 * Thread-safety: every function may be called from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fs_i.h"

#define RANGE	      (16u << 20) /* one claim of a fill thread, about */
#define PAGE	      4096u
#define WAIT_NS	      10000000000ull /* an open waits for a fill this long */
#define WAIT_PROBE_NS 100000000ull   /* before it judges the fill's speed */
#define WAIT_STEP_NS  10000000L
#define WAIT_OPENS    4	 /* opens waiting at once; more read as usual */
#define FAILED_MAX    64 /* failed entries remembered */

enum { F_IDLE, F_RUNNING, F_READY, F_FAILED };

/* a span written past the mark (struct df11fs_fillent.later) */
struct span {
	uint64_t off, end;
	struct span *next;
};

/**
 * struct df11fs_fillent - one virtual file known to the fill.
 * @prev, @next: the list, most recently opened first
 * @vf:      the virtual file (a reference: the key, never reused)
 * @name:    its path, for log lines
 * @size:    bytes of the original file
 * @fd:      the backing file, or -1
 * @id:      its backing id, or -1 (not registered, or no passthrough)
 * @state:   F_*
 * @seq:     when its fill started (fills go oldest first)
 * @next_off: the next range to claim
 * @done:    bytes written
 * @mark:    bytes written from the start without a gap (reads below it
 *           are copied from the backing file while the fill runs)
 * @later:   spans written past @mark, to join it (at most one per thread)
 * @waiters: opens waiting for this fill (it goes first)
 * @n_norm, @n_pt: open handles in caching and passthrough mode
 * @refs:    handles and fill threads using it
 * @t0:      df11fs_now_ns() at the start of the fill
 * @warned:  a refusal for want of room on the machine was logged
 */
struct df11fs_fillent {
	struct df11fs_fillent *prev, *next;
	struct df11_vfile *vf;
	char *name;
	uint64_t size;
	int fd, id, state;
	uint64_t seq, next_off, done;
	_Atomic uint64_t mark;
	struct span *later;
	unsigned waiters;
	unsigned n_norm, n_pt, refs;
	uint64_t t0;
	int warned;
};

/* an open plain file's backing id, one per inode (df11fs_fill_plain_open) */
struct plainent {
	const void *key;
	int id;
	unsigned n_norm, n_pt;
	struct plainent *next;
};

struct df11fs_fill {
	pthread_mutex_t lock;
	pthread_cond_t cv, progress;
	struct fuse_session *se; /* NULL: no passthrough */
	int dirfd;		 /* where backing files are made, or -1 */
	uint64_t budget, held, seq;
	uint64_t reserve; /* room left to the machine (fs/room.c) */
	int room_fd;	  /* where the room is measured: dirfd, or -1 */
	unsigned failed, waiting;   /* failed entries; opens waiting */
	struct df11fs_fillent head; /* list sentinel */
	struct plainent *plain;	    /* open plain files, by inode */
	pthread_t *tid;
	unsigned n;
	int stop;
	struct df11fs_fill_stats st;
};

static void ent_unlink(struct df11fs_fillent *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

static void ent_push(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	e->next = f->head.next;
	e->prev = &f->head;
	f->head.next->prev = e;
	f->head.next = e;
}

/* Close @e's backing file and give its bytes back. Lock held. */
static void ent_close(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	if (f->se)
		df11fs_pt_backing_close(f->se, e->id);
	e->id = -1;
	if (e->fd >= 0) {
		close(e->fd);
		e->fd = -1;
		f->held -= e->size;
	}
}

static void spans_free(struct df11fs_fillent *e)
{
	while (e->later) {
		struct span *sp = e->later;
		e->later = sp->next;
		free(sp);
	}
}

static void ent_free(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	ent_unlink(e);
	ent_close(f, e);
	spans_free(e);
	if (e->state == F_FAILED)
		f->failed--;
	df11_vfile_put(e->vf);
	free(e->name);
	free(e);
}

/*
 * Drop a reference. At the last one, an entry that holds nothing goes, a
 * failed one lets go of its backing file (its failure stays known), a
 * complete one stays for the next open. Lock held.
 */
static void ent_put(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	if (--e->refs)
		return;
	if (e->state == F_IDLE)
		ent_free(f, e);
	else if (e->state == F_FAILED)
		ent_close(f, e);
}

/* Free room for @need bytes, least recently opened first. Lock held. */
static int make_room(struct df11fs_fill *f, uint64_t need)
{
	struct df11fs_fillent *e, *p;

	if (need > f->budget)
		return 0;
	for (e = f->head.prev; e != &f->head && f->held + need > f->budget;
	     e = p) {
		p = e->prev;
		if (e->refs == 0 && e->state == F_READY) {
			f->st.evicted++;
			ent_free(f, e);
		}
	}
	return f->held + need <= f->budget;
}

static int backing_new(struct df11fs_fill *f, const char *name)
{
	if (f->dirfd >= 0)
		return openat(f->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			      0600);
	return memfd_create(name, MFD_CLOEXEC);
}

/* Bytes the running fills have yet to write. Lock held. */
static uint64_t pending(struct df11fs_fill *f)
{
	uint64_t n = 0;

	for (struct df11fs_fillent *e = f->head.next; e != &f->head;
	     e = e->next)
		if (e->state == F_RUNNING)
			n += e->size - e->done;
	return n;
}

/*
 * Free complete files that no handle holds, least recently opened first,
 * until the machine has room where backing files go (fs/room.c: memory,
 * or the file system of decoded_dir) for @need bytes and the reserve.
 * Lock held. Return: 1 when it has, 0 when not even that made it, -1 when
 * the room cannot be told (no /proc/meminfo: the budget alone bounds).
 */
static int shed(struct df11fs_fill *f, uint64_t need)
{
	struct df11fs_fillent *e = f->head.prev, *p;
	uint64_t room;

	need = need > UINT64_MAX - f->reserve ? UINT64_MAX : need + f->reserve;
	for (;;) {
		if (df11fs_room(f->room_fd, &room))
			return -1;
		if (room >= need)
			return 1;
		while (e != &f->head && (e->refs || e->state != F_READY))
			e = e->prev;
		if (e == &f->head)
			return 0;
		p = e->prev;
		f->st.shed++;
		ent_free(f, e);
		e = p;
	}
}

/*
 * Is there room on the machine for @e's fill, past the reserve and what
 * running fills will still take? Complete unopened files go to make it.
 * The first refusal of each file is logged. Lock held.
 */
static int machine_room(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	if (shed(f, e->size + pending(f)) != 0)
		return 1;
	f->st.no_room++;
	if (!e->warned) {
		e->warned = 1;
		df11fs_log(LOG_WARNING,
			   "'%s': not decoded whole: it needs %llu bytes and "
			   "the reserve %llu, more than the machine has free",
			   e->name, (unsigned long long)e->size,
			   (unsigned long long)f->reserve);
	}
	return 0;
}

/* Start @e's fill if there is room. Lock held. */
static void start(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	if (e->state != F_IDLE || !make_room(f, e->size) ||
	    !machine_room(f, e))
		return;
	e->fd = backing_new(f, "df11fs");
	if (e->fd < 0 || ftruncate(e->fd, (off_t)e->size) != 0) {
		df11fs_log(LOG_WARNING, "'%s': no backing file: %s", e->name,
			   strerror(errno));
		if (e->fd >= 0)
			close(e->fd);
		e->fd = -1;
		return;
	}
	f->held += e->size;
	e->state = F_RUNNING;
	e->seq = ++f->seq;
	e->t0 = df11fs_now_ns();
	f->st.started++;
	pthread_cond_broadcast(&f->cv);
}

/*
 * The running fill with a span left that an open waits for, else the
 * oldest. Lock held.
 */
static struct df11fs_fillent *pick(struct df11fs_fill *f)
{
	struct df11fs_fillent *best = NULL;

	for (struct df11fs_fillent *e = f->head.next; e != &f->head;
	     e = e->next)
		if (e->state == F_RUNNING && e->next_off < e->size &&
		    (!best || (e->waiters && !best->waiters) ||
		     (!e->waiters == !best->waiters && e->seq < best->seq)))
			best = e;
	return best;
}

/*
 * Span [@off, @end) is written: move the mark past it and past the spans
 * written beyond it that it now reaches. Lock held. Return: 0, -ENOMEM.
 */
static int span_done(struct df11fs_fillent *e, uint64_t off, uint64_t end)
{
	struct span **pp, *sp;
	uint64_t mark = atomic_load(&e->mark);

	if (off != mark) {
		if (!(sp = malloc(sizeof(*sp))))
			return -ENOMEM;
		*sp = (struct span){off, end, NULL};
		for (pp = &e->later; *pp && (*pp)->off < off; pp = &(*pp)->next)
			;
		sp->next = *pp;
		*pp = sp;
		return 0;
	}
	mark = end;
	while ((sp = e->later) && sp->off == mark) {
		mark = sp->end;
		e->later = sp->next;
		free(sp);
	}
	atomic_store(&e->mark, mark);
	return 0;
}

/*
 * Decode span [@off, @off + @len) of @e's original file into its backing
 * file: map those pages (populated at once, huge where the filesystem
 * gives them), decode into them, unmap. The two halves' times are added
 * to *@map_ns and *@dec_ns.
 */
static int copy_span(struct df11fs_fillent *e, uint64_t off, uint64_t len,
		     uint64_t *map_ns, uint64_t *dec_ns)
{
	uint64_t a = off & ~(uint64_t)(PAGE - 1), mlen = off + len - a;
	uint64_t t0 = df11fs_now_ns(), t1;
	uint8_t *m;
	ssize_t r;

	m = mmap(NULL, (size_t)mlen, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd,
		 (off_t)a);
	if (m == MAP_FAILED)
		return -errno;
	madvise(m, (size_t)mlen, MADV_HUGEPAGE);
	if (madvise(m, (size_t)mlen, MADV_POPULATE_WRITE) != 0 &&
	    errno != EINVAL) {
		int rc = -errno; /* ENOSPC, ENOMEM: a full disk or memory */
		munmap(m, (size_t)mlen);
		return rc;
	}
	t1 = df11fs_now_ns();
	*map_ns += t1 - t0;
	r = df11_vfile_decode(e->vf, m + (off - a), off, len);
	munmap(m, (size_t)mlen);
	*dec_ns += df11fs_now_ns() - t1;
	return r < 0 ? (int)r : 0;
}

/*
 * Register @fd as a backing file: its id, or -1 without passthrough. The
 * first failure (no CAP_SYS_ADMIN) ends passthrough for the mount, with
 * one log line. Lock held.
 */
static int backing_register(struct df11fs_fill *f, int fd)
{
	int id;

	if (!f->se)
		return -1;
	id = df11fs_pt_backing_open(f->se, fd);
	if (id >= 0)
		return id;
	df11fs_log(LOG_WARNING,
		   "passthrough: cannot register a backing file: %s; reading "
		   "through requests",
		   strerror(-id));
	f->se = NULL;
	return -1;
}

/* A fill is complete: register the backing file. Lock held. */
static void complete(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	uint64_t dt = df11fs_now_ns() - e->t0;

	e->id = backing_register(f, e->fd);
	e->state = F_READY;
	pthread_cond_broadcast(&f->progress);
	f->st.filled++;
	f->st.fill_ns += dt;
	df11fs_log(LOG_DEBUG, "'%s': decoded whole in %.3f s%s", e->name,
		   (double)dt / 1e9,
		   e->id >= 0 ? ", passthrough from now on" : "");
	ent_put(f, e);
}

/*
 * A fill failed: its backing file goes with the last reference (a reader
 * may be copying from it now); the failure is remembered. Lock held.
 */
static void fail(struct df11fs_fill *f, struct df11fs_fillent *e, int rc)
{
	df11fs_log(LOG_WARNING, "'%s': whole-file decode stopped: %s", e->name,
		   strerror(-rc));
	e->state = F_FAILED;
	if (!e->refs)
		ent_close(f, e);
	f->st.failed++;
	/* forget the oldest failures, so that the list stays short */
	if (++f->failed > FAILED_MAX)
		for (struct df11fs_fillent *o = f->head.prev; o != &f->head;
		     o = o->prev)
			if (o != e && o->state == F_FAILED && o->refs == 0) {
				ent_free(f, o);
				break;
			}
}

static void *worker(void *arg)
{
	struct df11fs_fill *f = arg;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		struct df11fs_fillent *e;
		uint64_t off, len, map_ns = 0, dec_ns = 0;
		int rc;

		while (!f->stop && !(e = pick(f)))
			pthread_cond_wait(&f->cv, &f->lock);
		if (f->stop)
			break;
		off = e->next_off;
		len = df11_vfile_span(e->vf, off, RANGE);
		if (!len) { /* cannot happen: spans tile the file */
			fail(f, e, -EINVAL);
			continue;
		}
		e->next_off += len;
		e->refs++;
		pthread_mutex_unlock(&f->lock);
		rc = copy_span(e, off, len, &map_ns, &dec_ns);
		pthread_mutex_lock(&f->lock);
		f->st.map_ns += map_ns;
		f->st.decode_ns += dec_ns;
		if (!rc && e->state == F_RUNNING)
			rc = span_done(e, off, off + len);
		if (rc && e->state == F_RUNNING)
			fail(f, e, rc);
		pthread_cond_broadcast(&f->progress);
		if (!rc && e->state == F_RUNNING) {
			f->st.bytes += len;
			if ((e->done += len) == e->size) {
				complete(f, e);
				continue;
			}
		}
		ent_put(f, e);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int df11fs_fill_new(struct df11fs_fill **out,
		    const struct df11fs_fill_conf *c)
{
	struct df11fs_fill *f = calloc(1, sizeof(*f));
	unsigned threads = c->threads ? c->threads : 1;

	*out = NULL;
	if (!f) {
		if (c->dirfd >= 0)
			close(c->dirfd);
		return -ENOMEM;
	}
	f->dirfd = c->dirfd;
	f->room_fd = c->own_dir ? -1 : c->dirfd;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cv, NULL);
	pthread_cond_init(&f->progress, NULL);
	f->head.prev = f->head.next = &f->head;
	f->budget = c->budget;
	f->reserve = c->reserve;
	if (!(f->tid = calloc(threads, sizeof(*f->tid)))) {
		df11fs_fill_free(f);
		return -ENOMEM;
	}
	for (; f->n < threads; f->n++)
		if (pthread_create(&f->tid[f->n], NULL, worker, f))
			break;
	if (!f->n) {
		df11fs_fill_free(f);
		return -EAGAIN;
	}
	*out = f;
	return 0;
}

void df11fs_fill_passthrough(struct df11fs_fill *f, struct fuse_session *se)
{
	pthread_mutex_lock(&f->lock);
	f->se = se;
	pthread_mutex_unlock(&f->lock);
}

void df11fs_fill_stop(struct df11fs_fill *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	f->se = NULL; /* the session's descriptor goes next */
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->lock);
	for (unsigned i = 0; i < f->n; i++)
		pthread_join(f->tid[i], NULL);
	f->n = 0;
}

void df11fs_fill_free(struct df11fs_fill *f)
{
	if (!f)
		return;
	df11fs_fill_stop(f);
	pthread_mutex_lock(&f->lock);
	while (f->head.next != &f->head)
		ent_free(f, f->head.next);
	while (f->plain) {
		struct plainent *p = f->plain;
		f->plain = p->next;
		free(p);
	}
	pthread_mutex_unlock(&f->lock);
	pthread_cond_destroy(&f->cv);
	pthread_cond_destroy(&f->progress);
	pthread_mutex_destroy(&f->lock);
	free(f->tid);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f);
}

/*
 * The entry of @vf, or of an earlier virtual file of the same @name whose
 * source files are unchanged (the kernel forgot the inode, a later lookup
 * made a new one): its bytes are this file's. Lock held.
 */
static struct df11fs_fillent *find(struct df11fs_fill *f, struct df11_vfile *vf,
				   const char *name)
{
	for (struct df11fs_fillent *e = f->head.next; e != &f->head;
	     e = e->next) {
		if (e->vf == vf)
			return e;
		if (e->state != F_FAILED && strcmp(e->name, name) == 0 &&
		    e->size == df11_vfile_size(vf) &&
		    df11_vfile_check(e->vf) == 0)
			return e;
	}
	return NULL;
}

/*
 * An open of a file being decoded waits for it (its spans go first) while
 * that is likely to end within WAIT_NS: judged at the speed all fill
 * threads have written since the wait began, once they had WAIT_PROBE_NS
 * to show it. An open that gives up reads through requests, and so do
 * the file's later opens while it is open (the kernel takes one mode per
 * inode): waiting is the better bet. At most WAIT_OPENS opens wait at
 * once, so that most FUSE threads stay free for other requests. Lock held.
 */
static void wait_fill(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	uint64_t t0 = df11fs_now_ns(), b0 = f->st.bytes;

	e->waiters++;
	f->waiting++;
	while (e->state == F_RUNNING && !f->stop) {
		struct timespec ts;
		uint64_t el, rate;

		df11fs_deadline(&ts, WAIT_STEP_NS);
		pthread_cond_timedwait(&f->progress, &f->lock, &ts);
		el = df11fs_now_ns() - t0;
		if (e->state != F_RUNNING || el >= WAIT_NS)
			break;
		if (el < WAIT_PROBE_NS)
			continue;
		/* bytes per second written by the pool since the wait began */
		rate =
		    (uint64_t)((double)(f->st.bytes - b0) * 1e9 / (double)el);
		if (!rate || (double)(e->size - e->done) / (double)rate * 1e9 >
				 (double)(WAIT_NS - el))
			break;
	}
	e->waiters--;
	f->waiting--;
	f->st.wait_ns += df11fs_now_ns() - t0;
}

/* The entry of @vf, made (not started) if new. NULL: no memory. Lock held. */
static struct df11fs_fillent *entry_of(struct df11fs_fill *f,
				       struct df11_vfile *vf, const char *name)
{
	struct df11fs_fillent *e = find(f, vf, name);

	if (e) {
		ent_unlink(e);
	} else {
		if (!(e = calloc(1, sizeof(*e))) || !(e->name = strdup(name))) {
			free(e);
			return NULL;
		}
		e->vf = df11_vfile_get(vf);
		e->size = df11_vfile_size(vf);
		e->fd = e->id = -1;
	}
	ent_push(f, e);
	return e;
}

struct df11fs_fillent *df11fs_fill_open(struct df11fs_fill *f,
					struct df11_vfile *vf, const char *name,
					int *started)
{
	struct df11fs_fillent *e = NULL;

	*started = 0;
	pthread_mutex_lock(&f->lock);
	if (df11_vfile_size(vf) <= f->budget && (e = entry_of(f, vf, name))) {
		e->refs++;
		*started = e->state == F_IDLE;
		start(f, e);
		*started = *started && e->state == F_RUNNING;
	}
	pthread_mutex_unlock(&f->lock);
	return e;
}

void df11fs_fill_queue(struct df11fs_fill *f, struct df11_vfile *vf,
		       const char *name)
{
	struct df11fs_fillent *e;

	pthread_mutex_lock(&f->lock);
	if (df11_vfile_size(vf) <= f->budget && (e = entry_of(f, vf, name))) {
		e->refs++;
		start(f, e);
		ent_put(f, e);
	}
	pthread_mutex_unlock(&f->lock);
}

int df11fs_fill_mode(struct df11fs_fill *f, struct df11fs_fillent *e)
{
	int id = -1;

	pthread_mutex_lock(&f->lock);
	if (e->state == F_RUNNING && !e->n_norm && f->se &&
	    f->waiting < WAIT_OPENS)
		wait_fill(f, e);
	if (e->n_pt || (e->state == F_READY && e->id >= 0 && !e->n_norm)) {
		e->n_pt++;
		id = e->id;
		f->st.pt_opens++;
	} else {
		e->n_norm++;
	}
	pthread_mutex_unlock(&f->lock);
	return id;
}

void df11fs_fill_release(struct df11fs_fill *f, struct df11fs_fillent *e,
			 int pt)
{
	if (!e)
		return;
	pthread_mutex_lock(&f->lock);
	if (pt)
		e->n_pt--;
	else
		e->n_norm--;
	ent_put(f, e);
	pthread_mutex_unlock(&f->lock);
}

int df11fs_fill_plain_open(struct df11fs_fill *f, const void *key, int fd)
{
	struct plainent *p;
	int id = -1;

	pthread_mutex_lock(&f->lock);
	for (p = f->plain; p && p->key != key; p = p->next)
		;
	if (!p && f->se && (p = calloc(1, sizeof(*p)))) {
		p->key = key;
		p->id = -1;
		p->next = f->plain;
		f->plain = p;
	}
	if (!p) {
		pthread_mutex_unlock(&f->lock);
		return -2; /* not counted: nothing to release */
	}
	if (!p->n_norm && !p->n_pt)
		p->id = backing_register(f, fd);
	if (!p->n_norm && p->id >= 0) {
		p->n_pt++;
		id = p->id;
		f->st.pt_plain++;
	} else {
		p->n_norm++;
	}
	pthread_mutex_unlock(&f->lock);
	return id;
}

void df11fs_fill_plain_release(struct df11fs_fill *f, const void *key, int pt)
{
	struct plainent **pp, *p;

	pthread_mutex_lock(&f->lock);
	for (pp = &f->plain; (p = *pp) && p->key != key; pp = &p->next)
		;
	if (p) {
		if (pt)
			p->n_pt--;
		else
			p->n_norm--;
		if (!p->n_pt && !p->n_norm) {
			if (f->se)
				df11fs_pt_backing_close(f->se, p->id);
			*pp = p->next;
			free(p);
		}
	}
	pthread_mutex_unlock(&f->lock);
}

ssize_t df11fs_fill_pread(struct df11fs_fill *f, struct df11fs_fillent *e,
			  void *buf, size_t len, uint64_t off)
{
	ssize_t got;
	int fd;

	if (!e || !len || off + len > e->size)
		return -EAGAIN;
	pthread_mutex_lock(&f->lock);
	fd = e->state == F_READY || (e->state == F_RUNNING &&
				     off + len <= atomic_load(&e->mark))
		 ? e->fd
		 : -1;
	pthread_mutex_unlock(&f->lock);
	if (fd < 0)
		return -EAGAIN;
	/* the handle's reference keeps @fd open */
	got = pread(fd, buf, len, (off_t)off);
	if (got != (ssize_t)len)
		return -EAGAIN; /* served the usual way */
	pthread_mutex_lock(&f->lock);
	f->st.backed_reads++;
	pthread_mutex_unlock(&f->lock);
	return got;
}

void df11fs_fill_tick(struct df11fs_fill *f)
{
	uint64_t room;
	unsigned stopped = 0;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	/* nothing held, nothing to let go of: no need to measure the room;
	 * else complete files no handle holds go first, least recently
	 * opened */
	if (f->held && shed(f, 0) == 0 && !df11fs_room(f->room_fd, &room) &&
	    room < f->reserve / 2) {
		/* then the running fills: their reads go on through the cache */
		for (struct df11fs_fillent *e = f->head.next; e != &f->head;
		     e = e->next)
			if (e->state == F_RUNNING) {
				fail(f, e, -ENOMEM);
				stopped++;
			}
		if (stopped)
			df11fs_log(LOG_WARNING,
				   "the machine has %llu bytes free, under half "
				   "the reserve (decoded_reserve=%llu): "
				   "%u whole-file decodes stopped",
				   (unsigned long long)room,
				   (unsigned long long)f->reserve, stopped);
	}
	pthread_mutex_unlock(&f->lock);
}

void df11fs_fill_stats(struct df11fs_fill *f, struct df11fs_fill_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	*st = f->st;
	st->budget = f->budget;
	st->held = f->held;
	st->passthrough = f->se != NULL;
	pthread_mutex_unlock(&f->lock);
}
