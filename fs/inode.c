/* SPDX-License-Identifier: MIT */
/*
 * fs/inode.c - the inode table: (st_dev, st_ino) -> node, lazy probing of
 * regular files (container by name or by content), change detection
 *
 * See inode_i.h for the model. Locking: the table lock guards the hash and
 * the lookup counts and is never held while doing I/O; an inode's own lock
 * guards its probe state and may be held across df11_store_ct_open
 * (other users of the same inode wait for the probe instead of repeating
 * it). Every open of a source file goes through store/store.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "codec/source.h"
#include "store/store.h"
#include "fs_i.h"
#include "inode_i.h"

static size_t hash_of(dev_t dev, ino_t ino, size_t n_buckets)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev;

	h ^= h >> 29;
	return (size_t)(h & (n_buckets - 1));
}

/* Same file, same content as far as the metadata can tell. */
static int same_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* a FIFO, socket or device node: shown as an empty file, never opened */
static int is_special(mode_t type)
{
	return type != S_IFREG && type != S_IFDIR && type != S_IFLNK;
}

static int join_path(char *buf, size_t len, const char *parent,
		     const char *name);

static void inode_free(struct df11fs_inode *in)
{
	if (!in)
		return;
	if (in->fd >= 0)
		close(in->fd);
	df11fs_inode_drop_locked(in); /* the last user: no lock needed */
	if (in->vdir)
		df11fs_off_virtual_free(in);
	df11fs_off_dir_free(in);
	free(in->why);
	pthread_mutex_destroy(&in->lock);
	free(in->path);
	free(in);
}

void df11fs_inode_free(struct df11fs_inode *in)
{
	inode_free(in);
}

/* A new inode owning @fd; NULL (fd not closed) on allocation failure. */
static struct df11fs_inode *inode_new(int fd, const struct stat *st,
				      const char *path, int probe)
{
	struct df11fs_inode *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->path = strdup(path);
	if (!in->path || pthread_mutex_init(&in->lock, NULL) != 0) {
		free(in->path);
		free(in);
		return NULL;
	}
	in->fd = fd;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->type = st->st_mode & S_IFMT;
	in->probe = probe;
	in->kind = probe ? DF11FS_K_UNPROBED : DF11FS_K_OTHER;
	atomic_init(&in->gone, 0);
	atomic_init(&in->opens, 0);
	return in;
}

struct df11fs_inode *df11fs_inode_new_virtual(struct df11fs_inode *parent,
					      const char *name)
{
	struct df11fs_inode *in = calloc(1, sizeof(*in));
	char path[PATH_MAX];

	if (!in || join_path(path, sizeof(path), parent->path, name) ||
	    !(in->path = strdup(path)) ||
	    pthread_mutex_init(&in->lock, NULL) != 0) {
		if (in)
			free(in->path);
		free(in);
		return NULL;
	}
	in->fd = -1;
	in->type = S_IFREG;
	in->kind = DF11FS_K_CONTAINER;
	atomic_init(&in->gone, 0);
	return in;
}

/* Double the hash when it gets crowded; failure just keeps it as is. */
static void table_grow(struct df11fs_itable *t)
{
	size_t n = t->n_buckets * 2, i;
	struct df11fs_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < t->n_buckets; i++) {
		struct df11fs_inode *in = t->buckets[i], *next;

		for (; in; in = next) {
			size_t h = hash_of(in->dev, in->ino, n);

			next = in->next;
			in->next = b[h];
			b[h] = in;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

static struct df11fs_inode *table_find(struct df11fs_itable *t, dev_t dev,
				       ino_t ino)
{
	struct df11fs_inode *in = t->buckets[hash_of(dev, ino, t->n_buckets)];

	while (in && (in->dev != dev || in->ino != ino))
		in = in->next;
	return in;
}

static void table_insert(struct df11fs_itable *t, struct df11fs_inode *in)
{
	size_t h;

	if (t->count >= 2 * t->n_buckets)
		table_grow(t);
	h = hash_of(in->dev, in->ino, t->n_buckets);
	in->next = t->buckets[h];
	t->buckets[h] = in;
	in->hashed = 1;
	t->count++;
}

static void table_remove(struct df11fs_itable *t, struct df11fs_inode *in)
{
	struct df11fs_inode **p =
	    &t->buckets[hash_of(in->dev, in->ino, t->n_buckets)];

	while (*p && *p != in)
		p = &(*p)->next;
	if (*p) {
		*p = in->next;
		t->count--;
	}
	in->hashed = 0;
}

void df11fs_inode_retire_locked(struct df11fs_itable *t,
				struct df11fs_inode *in)
{
	if (in->hashed != 1)
		return;
	table_remove(t, in);
	in->next = t->gone;
	t->gone = in;
	in->hashed = 2;
}

/* take released inode @in off the table's gone list (table lock) */
static void gone_remove(struct df11fs_itable *t, struct df11fs_inode *in)
{
	struct df11fs_inode **p = &t->gone;

	while (*p && *p != in)
		p = &(*p)->next;
	if (*p)
		*p = in->next;
	in->hashed = 0;
}

int df11fs_itable_init(struct df11fs_itable *t, int root_fd)
{
	struct stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	if (fstat(root_fd, &st) != 0) {
		rc = -errno;
		goto fail_fd;
	}
	t->n_buckets = 256;
	t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
	if (!t->buckets) {
		rc = -ENOMEM;
		goto fail_fd;
	}
	rc = -pthread_mutex_init(&t->lock, NULL);
	if (rc)
		goto fail_buckets;
	rc = -pthread_mutex_init(&t->lru_lock, NULL);
	if (rc) {
		pthread_mutex_destroy(&t->lock);
		goto fail_buckets;
	}
	t->root = inode_new(root_fd, &st, ".", 0);
	if (!t->root) {
		rc = -ENOMEM;
		goto fail_lock;
	}
	t->root->nlookup = 1;
	table_insert(t, t->root);
	return 0;

fail_lock:
	pthread_mutex_destroy(&t->lru_lock);
	pthread_mutex_destroy(&t->lock);
fail_buckets:
	free(t->buckets);
	t->buckets = NULL;
fail_fd:
	close(root_fd);
	return rc;
}

void df11fs_itable_destroy(struct df11fs_itable *t)
{
	size_t i;

	if (!t->buckets)
		return;
	for (i = 0; i < t->n_buckets; i++) {
		for (struct df11fs_inode *in = t->buckets[i]; in; in = in->next)
			df11fs_off_dir_free_all(in);
	}
	for (struct df11fs_inode *in = t->gone; in; in = in->next)
		df11fs_off_dir_free_all(in);
	while (t->gone) {
		struct df11fs_inode *in = t->gone;

		t->gone = in->next;
		inode_free(in);
	}
	for (i = 0; i < t->n_buckets; i++) {
		struct df11fs_inode *in = t->buckets[i], *next;

		for (; in; in = next) {
			next = in->next;
			inode_free(in);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->root = NULL;
	pthread_mutex_destroy(&t->lru_lock);
	pthread_mutex_destroy(&t->lock);
}

struct df11fs_inode *df11fs_inode_get(struct df11fs_itable *t, uint64_t id)
{
	if (id == FUSE_ROOT_ID)
		return t->root;
	return (struct df11fs_inode *)(uintptr_t)id;
}

uint64_t df11fs_inode_id(struct df11fs_itable *t, struct df11fs_inode *in)
{
	if (in == t->root)
		return FUSE_ROOT_ID;
	return (uint64_t)(uintptr_t)in;
}

/* "parent/name" relative to SOURCE; NULL if it does not fit. */
static int join_path(char *buf, size_t len, const char *parent,
		     const char *name)
{
	int n;

	if (strcmp(parent, ".") == 0)
		n = snprintf(buf, len, "%s", name);
	else
		n = snprintf(buf, len, "%s/%s", parent, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int df11fs_inode_lookup(struct df11fs_itable *t, struct df11fs_inode *parent,
			const char *name, struct df11fs_inode **out,
			struct stat *st)
{
	struct df11fs_inode *in, *found;
	char path[PATH_MAX];
	int fd, rc;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -ENOENT; /* never sent: we do not export */
	rc = df11fs_off_lookup(t, parent, name, out, st);
	if (rc <= 0)
		return rc;
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
		rc = -errno;
		goto fail_fd;
	}
	rc = join_path(path, sizeof(path), parent->path, name);
	if (rc)
		goto fail_fd;

	pthread_mutex_lock(&t->lock);
	found = table_find(t, st->st_dev, st->st_ino);
	if (found) {
		found->nlookup++;
		pthread_mutex_unlock(&t->lock);
		close(fd);
		*out = found;
		return 0;
	}
	/* every regular file: a container by name or by content (probe) */
	in = inode_new(fd, st, path, S_ISREG(st->st_mode));
	if (!in) {
		pthread_mutex_unlock(&t->lock);
		rc = -ENOMEM;
		goto fail_fd;
	}
	in->nlookup = 1;
	table_insert(t, in);
	pthread_mutex_unlock(&t->lock);
	*out = in;
	return 0;

fail_fd:
	close(fd);
	return rc;
}

void df11fs_inode_forget(struct df11fs_itable *t, struct df11fs_inode *in,
			 uint64_t n)
{
	int gone = 0;

	pthread_mutex_lock(&t->lock);
	in->nlookup = in->nlookup > n ? in->nlookup - n : 0;
	if (in->nlookup == 0 && in != t->root) {
		if (in->vdir)
			df11fs_off_unlink_locked(in);
		else if (in->hashed == 1)
			table_remove(t, in);
		else if (in->hashed == 2)
			gone_remove(t, in);
		gone = 1;
	}
	pthread_mutex_unlock(&t->lock);
	if (gone)
		inode_free(in);
}

int df11fs_inode_reopen(const struct df11fs_inode *in, int flags)
{
	int fd, rc;

	if (atomic_load(&in->gone))
		return -ESTALE;
	if (in->type == S_IFDIR) {
		fd = openat(in->fd, ".", flags | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	rc = df11_store_openat(in->fd, "", 0, &fd, NULL);
	return rc ? rc : fd;
}

/*
 * (Re)decide what @in is shown as, unless @src says nothing changed since
 * the last decision. Called with @in->lock held. Return: 1 when it made
 * a container (its index now counts: df11fs_index_trim() after the
 * unlock), else 0.
 */
static int probe_locked(struct df11fs_itable *t, struct df11fs_inode *in,
			const struct stat *src)
{
	char err[256] = "";
	struct df11_vfile *vf = NULL;
	struct df11_store_set *set;
	struct df11_source *s;
	int rc;

	if (!in->probe || atomic_load(&in->gone) ||
	    (in->kind != DF11FS_K_UNPROBED && same_state(&in->vst, src)))
		return 0;
	df11fs_inode_drop_locked(in);
	free(in->why);
	in->why = NULL;
	in->vst = *src;
	if (!df11_store_is_safetensors(in->path) &&
	    !df11_store_sniff_at(in->fd, "", 0)) {
		in->kind = DF11FS_K_PLAIN; /* no name, no df11 metadata */
		return 0;
	}
	rc = df11_store_ct_open(in->fd, "", 0, t->gate, &s, &set, err,
				sizeof(err));
	if (rc == -EACCES || rc == -EPERM || rc == -ENOENT || rc == -ESTALE ||
	    rc == -ELOOP || rc == -ENXIO || rc == -EISDIR) {
		/* not readable: shown as it is; open reports the error */
		df11fs_log(LOG_DEBUG, "'%s': cannot open: %s", in->path,
			   strerror(-rc));
		in->kind = DF11FS_K_PLAIN;
		return 0;
	}
	if (rc == 0) {
		rc = df11_vfile_new(&vf, t->cache, s, df11_store_set_check,
				    df11_store_set_put, set, in->path);
		if (rc)
			df11_store_set_put(set);
		else
			in->set = df11_store_set_get(set);
	}
	if (rc == 0) {
		in->vf = vf;
		in->kind = DF11FS_K_CONTAINER;
		df11fs_index_add_locked(t, in);
		df11fs_log(LOG_DEBUG, "'%s': container, %llu bytes", in->path,
			   (unsigned long long)df11_vfile_size(vf));
		return 1;
	} else if (rc == -ENOMSG) { /* not a container; -ENOTSUP is broken */
		in->kind = DF11FS_K_PLAIN;
	} else {
		in->kind = DF11FS_K_BAD;
		if (rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ||
		    rc == -EINTR || rc == -EAGAIN)
			memset(&in->vst, 0, sizeof(in->vst)); /* retry */
		in->why = strdup(err[0] ? err : strerror(-rc));
		df11fs_log(LOG_ERR, "'%s': %s", in->path,
			   err[0] ? err : strerror(-rc));
	}
	return 0;
}

/* the source's stat now; -ESTALE once it was deleted and released */
static int fresh_stat(const struct df11fs_inode *in, struct stat *st)
{
	if (atomic_load(&in->gone))
		return -ESTALE;
	if (fstatat(in->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	/* released meanwhile: that was /dev/null's stat */
	return atomic_load(&in->gone) ? -ESTALE : 0;
}

int df11fs_inode_attr(struct df11fs_itable *t, struct df11fs_inode *in,
		      const struct stat *src, struct stat *st)
{
	struct stat s;
	int rc, added;

	if (in->vdir) {
		df11fs_off_attr(in, st);
		return 0;
	}
	if (!src) {
		rc = fresh_stat(in, &s);
		if (rc)
			return rc;
		src = &s;
	}
	*st = *src;
	st->st_mode &= ~(mode_t)(S_IWUSR | S_IWGRP | S_IWOTH);
	if (is_special(st->st_mode & S_IFMT)) {
		st->st_mode = S_IFREG;
		st->st_size = 0;
		st->st_blocks = 0;
		st->st_rdev = 0;
	}
	if (!in->probe)
		return 0;
	pthread_mutex_lock(&in->lock);
	added = probe_locked(t, in, src);
	if (in->kind == DF11FS_K_CONTAINER)
		st->st_size = (off_t)df11_vfile_size(in->vf);
	pthread_mutex_unlock(&in->lock);
	if (added)
		df11fs_index_trim(t, in);
	return 0;
}

int df11fs_inode_open(struct df11fs_itable *t, struct df11fs_inode *in,
		      struct df11_vfile **vf, int *changed)
{
	struct stat src;
	int rc, added;

	*vf = NULL;
	*changed = 0;
	if (in->vdir) {
		*vf = df11_vfile_get(in->vf);
		return 0;
	}
	if (is_special(in->type)) {
		df11fs_log(LOG_ERR, "cannot open '%s': not a regular file (%s)",
			   in->path, df11_store_type_name(in->type));
		return -ENXIO;
	}
	rc = fresh_stat(in, &src);
	if (rc)
		return rc;
	/*
	 * Removed or replaced (renamed over) in the source while the kernel
	 * still had the name cached: ESTALE makes the kernel look the name
	 * up again (LOOKUP_REVAL) and open what is there now.
	 */
	if (src.st_nlink == 0)
		return -ESTALE;
	pthread_mutex_lock(&in->lock);
	added = probe_locked(t, in, &src);
	*changed = in->ost_valid && !same_state(&in->ost, &src);
	in->ost = src;
	in->ost_valid = 1;
	if (in->kind == DF11FS_K_CONTAINER) {
		*vf = df11_vfile_get(in->vf);
		atomic_fetch_add(&in->opens, 1); /* kept while open */
		df11fs_index_touch_locked(in);
	} else if (in->kind == DF11FS_K_BAD) {
		rc = -EIO;
	}
	pthread_mutex_unlock(&in->lock);
	if (added)
		df11fs_index_trim(t, in);
	return rc;
}

void df11fs_inode_release(struct df11fs_inode *in)
{
	if (!in->vdir)
		atomic_fetch_sub(&in->opens, 1);
}

struct df11_vfile *df11fs_inode_vfile(struct df11fs_itable *t,
				      struct df11fs_inode *in)
{
	struct df11_vfile *vf = NULL;
	struct stat src;
	int added;

	if (in->vdir)
		return df11_vfile_get(in->vf);
	if (!in->probe || fresh_stat(in, &src) != 0)
		return NULL;
	pthread_mutex_lock(&in->lock);
	added = probe_locked(t, in, &src);
	if (in->kind == DF11FS_K_CONTAINER)
		vf = df11_vfile_get(in->vf);
	pthread_mutex_unlock(&in->lock);
	if (added)
		df11fs_index_trim(t, in);
	return vf;
}

int df11fs_inode_why(struct df11fs_inode *in, char *buf, size_t len)
{
	int n = -ENODATA;

	if (!in->probe)
		return n;
	pthread_mutex_lock(&in->lock);
	if (in->kind == DF11FS_K_BAD)
		n = snprintf(buf, len, "%s", in->why ? in->why : "broken");
	pthread_mutex_unlock(&in->lock);
	return n;
}
