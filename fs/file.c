/* SPDX-License-Identifier: MIT */
/*
 * fs/file.c - open, read and release of regular files
 *
 * A container is read through its virtual file: df11_vfile_read fills a
 * per-thread buffer (up to the 1 MiB a read request may ask for) that is
 * replied with fuse_reply_buf. Any other file is read from the source: a
 * descriptor opened at open time is handed to fuse_reply_data, which
 * reads (or splices) straight from it.
 *
 * Page cache: every open keeps the kernel's cached pages (keep_cache)
 * unless the source changed since the previous open of the same inode,
 * so a rewritten source is never served from stale pages. Never
 * direct_io: loaders mmap safetensors files.
 *
 * Each handle carries the struct df11_cursor the cache uses to see a
 * sequential reader. The kernel sends concurrent reads on one handle
 * (asynchronous read-ahead, page faults of several threads); the cache
 * updates a cursor under its own lock, so every read passes it.
 *
 * The statistics file (fs/stats.c) is made at open: the handle holds the
 * snapshot, read with direct I/O (its size is not known at lookup).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs_i.h"
#include "store/store.h"

#define LEND_MAX 32 /* slices one reply may gather */

/**
 * struct df11fs_handle - one open file.
 * @vf:     the virtual file (a reference), or NULL for a plain file
 * @fd:     the source descriptor of a plain file, else -1
 * @in:     the inode (for log lines)
 * @lock:   guards @stale_logged
 * @cur:    read-ahead state of this open file
 * @snap, @snap_len: the statistics file's bytes (owned), else NULL
 * @fill:   the whole-file decode of @vf (fs/fill.c), or NULL
 * @fs:     the filesystem, for @fill
 * @pt:     opened in passthrough mode (the kernel sends no reads)
 * @plain:  a plain file counted by df11fs_fill_plain_open (mode @pt)
 * @prev, @next: the filesystem's list of open handles (fs->lock)
 */
struct df11fs_handle {
	struct df11_vfile *vf;
	int fd;
	struct df11fs_inode *in;
	pthread_mutex_t lock;
	int stale_logged;
	struct df11_cursor cur;
	char *snap;
	size_t snap_len;
	struct df11fs_fillent *fill;
	struct df11fs *fs;
	int pt, plain;
	struct df11fs_handle *prev, *next;
};

/* One buffer per FUSE worker thread, freed when the thread ends. */
static pthread_key_t buf_key;
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;

struct thread_buf {
	size_t len;
	char data[];
};

static void buf_key_make(void)
{
	if (pthread_key_create(&buf_key, free) != 0)
		abort(); /* only at start-up, with no key left: cannot run */
}

static void *thread_buf(size_t len)
{
	struct thread_buf *b;

	pthread_once(&buf_once, buf_key_make);
	b = pthread_getspecific(buf_key);
	if (b && b->len >= len)
		return b->data;
	free(b);
	pthread_setspecific(buf_key, NULL);
	if (len < DF11FS_MAX_READ)
		len = DF11FS_MAX_READ;
	b = malloc(sizeof(*b) + len);
	if (!b)
		return NULL;
	b->len = len;
	pthread_setspecific(buf_key, b);
	return b->data;
}

static void handle_free(struct df11fs_handle *h)
{
	if (h->fill)
		df11fs_fill_release(h->fs->fill, h->fill, h->pt);
	if (h->plain)
		df11fs_fill_plain_release(h->fs->fill, h->in, h->pt);
	if (h->fd >= 0)
		close(h->fd);
	if (h->vf)
		df11fs_inode_release(h->in);
	df11_vfile_put(h->vf);
	free(h->snap);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void handle_link(struct df11fs *fs, struct df11fs_handle *h)
{
	pthread_mutex_lock(&fs->lock);
	h->next = fs->handles;
	if (h->next)
		h->next->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->lock);
}

static void handle_unlink(struct df11fs *fs, struct df11fs_handle *h)
{
	pthread_mutex_lock(&fs->lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->lock);
}

void df11fs_handles_free_all(struct df11fs *fs)
{
	struct df11fs_handle *h, *next;

	pthread_mutex_lock(&fs->lock);
	h = fs->handles;
	fs->handles = NULL;
	pthread_mutex_unlock(&fs->lock);
	for (; h; h = next) {
		next = h->next;
		handle_free(h);
	}
}

/* the length of @p's directory part ("a/b/c" -> 3, "c" -> 0) */
static size_t dir_len(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? (size_t)(s - p) : 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp((*(struct df11fs_inode *const *)a)->path,
		      (*(struct df11fs_inode *const *)b)->path);
}

/*
 * A model is being opened (@in's fill just started): queue the fills of
 * the other containers the kernel knows in its directory whose names sort
 * after it, in name order, the order loaders read shards in.
 */
static void queue_siblings(struct df11fs *fs, struct df11fs_inode *in)
{
	size_t n, k = 0, d = dir_len(in->path);
	struct df11fs_inode **v = df11fs_itable_pin_all(&fs->itab, &n), **sel;

	if (!v)
		return;
	if (!(sel = malloc((n ? n : 1) * sizeof(*sel)))) {
		df11fs_itable_unpin_all(&fs->itab, v, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct df11fs_inode *o = v[i];
		if (o != in && o->path && dir_len(o->path) == d &&
		    strncmp(o->path, in->path, d) == 0 &&
		    strcmp(o->path, in->path) > 0)
			sel[k++] = o;
	}
	qsort(sel, k, sizeof(*sel), by_path);
	for (size_t i = 0; i < k; i++) {
		struct df11_vfile *vf = NULL;
		pthread_mutex_lock(&sel[i]->lock);
		if (sel[i]->kind == DF11FS_K_CONTAINER && sel[i]->vf)
			vf = df11_vfile_get(sel[i]->vf);
		pthread_mutex_unlock(&sel[i]->lock);
		if (vf)
			df11fs_fill_queue(fs->fill, vf, sel[i]->path);
		df11_vfile_put(vf);
	}
	free(sel);
	df11fs_itable_unpin_all(&fs->itab, v, n);
}

void df11fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct df11fs_inode *in = df11fs_inode_get(&fs->itab, ino);
	struct df11fs_handle *h;
	int rc, changed;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h || pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->fd = -1;
	h->in = in;
	if (df11fs_stats_ino(fs, ino)) {
		rc = df11fs_stats_json(fs, &h->snap, &h->snap_len);
		changed = 1;
	} else {
		rc = df11fs_inode_open(&fs->itab, in, &h->vf, &changed);
	}
	if (rc == 0 && !h->vf && !h->snap) {
		h->fd = df11fs_inode_reopen(in, O_RDONLY);
		rc = h->fd < 0 ? h->fd : 0;
	}
	if (rc) {
		if (rc == -EIO)
			df11fs_log(LOG_ERR,
				   "cannot open '%s': broken container",
				   in->path);
		handle_free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	if (changed)
		df11fs_log(LOG_DEBUG, "'%s': source changed, dropping pages",
			   in->path);
	h->fs = fs;
	if (fs->fill && (h->vf || h->fd >= 0)) {
		int id = -1, started;
		if (h->vf) {
			h->fill = df11fs_fill_open(fs->fill, h->vf, in->path,
						   &started);
			if (started)
				queue_siblings(fs, in);
			if (h->fill)
				id = df11fs_fill_mode(fs->fill, h->fill);
		} else {
			id = df11fs_fill_plain_open(fs->fill, in, h->fd);
			h->plain = id != -2;
		}
		h->pt = id >= 0;
		if (h->pt) {
			handle_link(fs, h);
			rc = df11fs_pt_reply_open(req, fs->se,
						  (uint64_t)(uintptr_t)h, id);
			if (rc) { /* no release will come */
				handle_unlink(fs, h);
				handle_free(h);
			}
			return;
		}
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = !changed;
	fi->direct_io = h->snap != NULL; /* never for a model file: mmap */
	handle_link(fs, h);
	if (fuse_reply_open(req, fi) != 0) {
		/* interrupted: the kernel will send no release */
		handle_unlink(fs, h);
		handle_free(h);
	}
}

/* Map a virtual-file read error to the reply; log a changed source once. */
static int read_error(struct df11fs_handle *h, ssize_t rc)
{
	int first;

	if (rc == -ENOMEM)
		return ENOMEM;
	if (rc == -ESTALE) {
		pthread_mutex_lock(&h->lock);
		first = !h->stale_logged;
		h->stale_logged = 1;
		pthread_mutex_unlock(&h->lock);
		if (first) /* the cache logs every failed read at LOG_ERR */
			df11fs_log(LOG_DEBUG, "'%s': source changed while open",
				   h->in->path);
	}
	/* the cache already logged decode and checksum failures */
	return EIO;
}

/* fuse_reply_buf, timed into @t */
static void reply_buf(fuse_req_t req, const void *buf, size_t len,
		      struct df11fs_reqtime *t)
{
	uint64_t t0 = df11fs_now_ns();

	fuse_reply_buf(req, buf, len);
	t->reply = df11fs_now_ns() - t0;
}

/*
 * Reply with the cache's own bytes (fuse_reply_iov: one copy, into the
 * kernel) when the range fits in a few slices; else copy into the
 * thread's buffer first (many small chunks, or a failure to lend).
 */
static ssize_t read_vfile(fuse_req_t req, struct df11fs_handle *h,
			  size_t size, off_t off, struct df11fs_reqtime *t)
{
	uint64_t end = df11_vfile_size(h->vf);
	struct df11_slice s[LEND_MAX];
	struct iovec iov[LEND_MAX];
	unsigned n;
	ssize_t r;
	void *buf;

	if (off < 0 || (uint64_t)off >= end || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return 0;
	}
	if (size > end - (uint64_t)off)
		size = (size_t)(end - (uint64_t)off);
	if (h->fill && (buf = thread_buf(size)) &&
	    df11fs_fill_pread(h->fs->fill, h->fill, buf, size, (uint64_t)off) ==
		(ssize_t)size) {
		reply_buf(req, buf, size, t);
		return (ssize_t)size;
	}
	r = df11_vfile_lend(h->vf, (uint64_t)off, size, &h->cur, s, LEND_MAX,
			    &n);
	if (r < 0) {
		fuse_reply_err(req, read_error(h, r));
		return r;
	}
	if ((size_t)r == size) {
		/*
		 * Once the reply is written the kernel may send RELEASE and
		 * another worker free @h (and its vfile reference): keep a
		 * reference of our own for the slices.
		 */
		struct df11_vfile *vf = df11_vfile_get(h->vf);

		for (unsigned i = 0; i < n; i++)
			iov[i] = (struct iovec){(void *)s[i].p, s[i].len};
		uint64_t t0 = df11fs_now_ns();
		fuse_reply_iov(req, iov, (int)n);
		t->reply = df11fs_now_ns() - t0;
		df11_vfile_return(vf, s, n);
		df11_vfile_put(vf);
		return r;
	}
	df11_vfile_return(h->vf, s, n);
	if (!(buf = thread_buf(size))) {
		fuse_reply_err(req, ENOMEM);
		return -ENOMEM;
	}
	r = df11_vfile_read(h->vf, buf, size, (uint64_t)off, NULL);
	if (r < 0)
		fuse_reply_err(req, read_error(h, r));
	else
		reply_buf(req, buf, (size_t)r, t);
	return r;
}

/*
 * A plain file: pread into the thread's buffer, then one reply. (Handing
 * the descriptor to fuse_reply_data costs libfuse a fresh aligned buffer
 * per request without splice, and splicing page-cache pages into
 * /dev/fuse copies them anyway: both measured slower.)
 */
static ssize_t read_plain(fuse_req_t req, struct df11fs_handle *h,
			  size_t size, off_t off, struct df11fs_reqtime *t)
{
	void *buf = thread_buf(size);
	ssize_t got;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return -ENOMEM;
	}
	got = df11_store_pread_upto(h->fd, buf, size, (uint64_t)off);
	if (got < 0) {
		fuse_reply_err(req, (int)-got);
		return got;
	}
	reply_buf(req, buf, (size_t)got, t);
	return got;
}

void df11fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct df11fs_handle *h = (struct df11fs_handle *)(uintptr_t)fi->fh;
	struct df11fs_reqtime t;
	ssize_t r;

	if (h->snap) {
		size_t o = off < 0 || (uint64_t)off > h->snap_len ? h->snap_len
								  : (size_t)off;
		size_t n = size < h->snap_len - o ? size : h->snap_len - o;
		/*
		 * From this thread's buffer, not @h's: once the kernel has
		 * the reply, RELEASE may free @h on another worker while
		 * writev() returns here. The kernel has copied the bytes by
		 * then, but a race detector sees the read after the free.
		 */
		void *buf = thread_buf(n);

		if (!buf) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		memcpy(buf, h->snap + o, n);
		fuse_reply_buf(req, buf, n);
		return;
	}
	df11fs_reqstat_begin(fs, &t);
	r = h->vf ? read_vfile(req, h, size, off, &t)
		  : read_plain(req, h, size, off, &t);
	df11fs_reqstat_end(fs, &t, ino, (uint64_t)off, size, r);
}

void df11fs_op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct df11fs_handle *h = (struct df11fs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	handle_unlink(fs, h);
	handle_free(h);
	fuse_reply_err(req, 0);
}
