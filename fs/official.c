/* SPDX-License-Identifier: MIT */
/*
 * fs/official.c - official DFloat11 directories as BF16 model directories
 *
 * A directory whose config.json has a "dfloat11_config" key is read once,
 * on its first lookup or opendir, through official/official.h: its
 * *.safetensors files are opened (descriptors owned by the model) and the
 * virtual files planned. From then on the directory shows the virtual
 * files (config.json without dfloat11_config, model*.safetensors, the
 * index json) in place of config.json, every *.safetensors and every
 * *.safetensors.index.json; its other entries (tokenizer, subdirectories)
 * are shown as they are. A directory that fails to open logs why once;
 * then opendir and the lookups of the names it would replace fail with
 * EIO, never showing the official files as if they were the model.
 *
 * Virtual files get inodes that are not in the (st_dev, st_ino) table:
 * each lives in its directory's struct df11fs_offdir slot while the kernel
 * holds a lookup, keeps a reference on the offdir, and is served by a
 * df11_vfile over the file's df11_source. -o headers=FILE applies to the
 * official directory that is SOURCE itself. The official files are taken
 * as they were at that first access (no change detection).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "official/official.h"
#include "fs_i.h"

#define CFG_MAX (16u << 20)

struct df11fs_offdir {
	_Atomic long refs;
	struct df11_off *m;
	size_t n;
	struct df11fs_inode **vin; /* table lock */
	struct df11_vfile **vf;
	struct stat st; /* config.json's, for the virtual files' attributes */
	struct srcset *set;
};

/*
 * The *.safetensors an official directory was read from, as opened: the
 * virtual files' staleness check. The descriptors belong to the df11_off
 * model, which outlives every virtual file's source; the set is shared
 * by the offdir and its vfiles.
 */
struct srcset {
	_Atomic long refs;
	size_t n;
	int *fd;
	struct stat *st;
};

static void srcset_put(void *ctx)
{
	struct srcset *x = ctx;

	if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
		return;
	free(x->fd);
	free(x->st);
	free(x);
}

/* the set of @n files (contexts: descriptors) as they are now; NULL: ENOMEM */
static struct srcset *srcset_new(const struct df11_off_file *files, size_t n)
{
	struct srcset *x = calloc(1, sizeof(*x));

	if (!x || !(x->fd = calloc(n + 1, sizeof(*x->fd))) ||
	    !(x->st = calloc(n + 1, sizeof(*x->st)))) {
		srcset_put(x);
		return NULL;
	}
	atomic_init(&x->refs, 1);
	x->n = n;
	for (size_t i = 0; i < n; i++) {
		x->fd[i] = (int)(intptr_t)files[i].ctx;
		fstat(x->fd[i], &x->st[i]); /* open_files() did too */
	}
	return x;
}

/*
 * df11_check_fn of the virtual files: every source file still the one
 * that was opened (not removed, replaced or rewritten), else -ESTALE, so
 * that no read mixes old and new bytes.
 */
static int srcset_check(void *ctx)
{
	const struct srcset *x = ctx;

	for (size_t i = 0; i < x->n; i++)
		if (df11_file_unchanged(x->fd[i], &x->st[i]))
			return -ESTALE;
	return 0;
}

static int fd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	int fd = (int)(intptr_t)ctx;

	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static void fd_close(void *ctx)
{
	close((int)(intptr_t)ctx);
}

static void offdir_put(struct df11fs_offdir *d)
{
	if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	for (size_t i = 0; i < d->n; i++)
		df11_vfile_put(d->vf[i]);
	free(d->vf);
	free(d->vin);
	df11_off_free(d->m);
	srcset_put(d->set);
	free(d);
}

/* config.json of @dirfd, whole; NULL if absent or unreadable */
static char *read_config(int dirfd, size_t *len, struct stat *st)
{
	int fd =
	    openat(dirfd, "config.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char *txt = NULL;

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) &&
	    (uint64_t)st->st_size <= CFG_MAX &&
	    (txt = malloc((size_t)st->st_size + 1)) &&
	    fd_read((void *)(intptr_t)fd, txt, (size_t)st->st_size, 0) == 0) {
		*len = (size_t)st->st_size;
		txt[*len] = '\0';
	} else {
		free(txt);
		txt = NULL;
	}
	close(fd);
	return txt;
}

/* Open the *.safetensors of @dir into @files (contexts: descriptors). */
static int open_files(struct df11fs_inode *dir, struct df11_off_file **files,
		      size_t *n, char ***names)
{
	int dfd = df11fs_inode_reopen(dir, O_RDONLY | O_DIRECTORY);
	DIR *dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	size_t cap = 0;
	int rc = 0;

	*files = NULL;
	*names = NULL;
	*n = 0;
	if (!dp) {
		if (dfd >= 0)
			close(dfd);
		return dfd < 0 ? dfd : -errno;
	}
	while (!rc && (de = readdir(dp))) {
		size_t l = strlen(de->d_name);
		struct stat st;
		int fd;

		if (l <= 12 || strcmp(de->d_name + l - 12, ".safetensors"))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			void *a = realloc(*files, cap * sizeof(**files));
			void *b =
			    a ? realloc(*names, cap * sizeof(char *)) : NULL;

			*files = a ? a : *files;
			*names = b ? b : *names;
			if (!a || !b) {
				rc = -ENOMEM;
				break;
			}
		}
		fd = openat(dir->fd, de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 ||
		    !((*names)[*n] = strdup(de->d_name))) {
			rc = fd < 0 ? -errno : -ENOMEM;
			if (fd >= 0)
				close(fd);
			break;
		}
		(*files)[*n] =
		    (struct df11_off_file){(*names)[*n], (uint64_t)st.st_size,
					   fd_read, (void *)(intptr_t)fd};
		(*n)++;
	}
	closedir(dp);
	return rc;
}

/* Read official directory @dir; NULL (logged) when it cannot be used. */
static struct df11fs_offdir *offdir_open(struct df11fs_itable *t,
					 struct df11fs_inode *dir,
					 const char *cfg, size_t len,
					 const struct stat *cst)
{
	enum df11_off_need need = DF11_OFF_NEED_NONE;
	struct df11_off_opts o = {.ctx_free = fd_close,
				  .shard_size = t->off_shard_size,
				  .need = &need};
	struct df11fs_offdir *d = calloc(1, sizeof(*d));
	struct df11_off_file *files = NULL;
	char **names = NULL, err[512] = "";
	size_t n = 0;
	int rc = d ? open_files(dir, &files, &n, &names) : -ENOMEM;

	if (dir == t->root) {
		o.headers = t->off_headers;
		o.headers_len = t->off_headers_len;
	}
	if (rc)
		for (size_t i = 0; i < n; i++)
			close((int)(intptr_t)files[i].ctx);
	if (!rc && !(d->set = srcset_new(files, n))) {
		rc = -ENOMEM;
		for (size_t i = 0; i < n; i++)
			close((int)(intptr_t)files[i].ctx);
	}
	if (!rc)
		rc = df11_off_open(&d->m, cfg, len, files, n, &o, err,
				   sizeof(err));
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(files);
	if (!rc) {
		d->n = df11_off_n_vfiles(d->m);
		d->vin = calloc(d->n + 1, sizeof(*d->vin));
		d->vf = calloc(d->n + 1, sizeof(*d->vf));
		rc = d->vin && d->vf ? 0 : -ENOMEM;
	}
	for (size_t i = 0; !rc && i < d->n; i++) {
		struct df11_source *src;
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir->path,
			 df11_off_vfile_name(d->m, i));
		rc = df11_off_source(d->m, i, &src);
		if (!rc)
			rc = df11_vfile_new(&d->vf[i], t->cache, src,
					    srcset_check, srcset_put, d->set,
					    path);
		if (!rc)
			atomic_fetch_add(&d->set->refs, 1);
	}
	if (rc) {
		df11fs_log(
		    LOG_ERR, "'%s': official DFloat11 directory: %s%s",
		    dir->path, err[0] ? err : strerror(-rc),
		    need == DF11_OFF_NEED_HEADERS
			? " (write them with 'df11 headers ORIGINAL_DIR"
			  " > h.json', then mount with -o headers=h.json)"
			: "");
		if (d)
			atomic_init(&d->refs, 1);
		offdir_put(d);
		return NULL;
	}
	atomic_init(&d->refs, 1);
	d->st = *cst;
	df11fs_log(LOG_DEBUG, "'%s': official DFloat11 directory, %zu files",
		   dir->path, d->n);
	return d;
}

/*
 * The offdir of directory @dir, probing it once. Return: 1 and *@d, 0
 * (not official), -EIO (official but broken).
 */
static int offdir_of(struct df11fs_itable *t, struct df11fs_inode *dir,
		     struct df11fs_offdir **d)
{
	struct stat cst;
	size_t len = 0;
	char *cfg;
	int st;

	if (dir->type != S_IFDIR || dir->vdir)
		return 0;
	pthread_mutex_lock(&dir->lock);
	if (!dir->off_state) {
		cfg = read_config(dir->fd, &len, &cst);
		dir->off_state = 1;
		if (cfg && df11_off_probe(cfg, len)) {
			dir->off = offdir_open(t, dir, cfg, len, &cst);
			dir->off_state = dir->off ? 2 : 3;
		}
		free(cfg);
	}
	*d = dir->off;
	st = dir->off_state;
	pthread_mutex_unlock(&dir->lock);
	return st == 2 ? 1 : st == 3 ? -EIO : 0;
}

void df11fs_off_dir_free_all(struct df11fs_inode *in)
{
	struct df11fs_offdir *d = in->off;

	for (size_t i = 0; d && i < d->n; i++) {
		struct df11fs_inode *v = d->vin[i];

		d->vin[i] = NULL;
		if (v)
			df11fs_inode_free(v);
	}
}

void df11fs_off_dir_free(struct df11fs_inode *in)
{
	offdir_put(in->off);
	in->off = NULL;
}

int df11fs_off_lookup(struct df11fs_itable *t, struct df11fs_inode *parent,
		      const char *name, struct df11fs_inode **out,
		      struct stat *st)
{
	struct df11fs_offdir *d;
	struct df11fs_inode *in;
	int r = offdir_of(t, parent, &d);
	size_t i;

	if (r < 0)
		return df11_off_hides(name) ? -EIO : 1;
	if (r == 0)
		return 1;
	for (i = 0; i < d->n; i++)
		if (!strcmp(df11_off_vfile_name(d->m, i), name))
			break;
	if (i == d->n)
		return df11_off_hides(name) ? -ENOENT : 1;
	pthread_mutex_lock(&t->lock);
	in = d->vin[i];
	if (!in) {
		in = df11fs_inode_new_virtual(parent, name);
		if (!in) {
			pthread_mutex_unlock(&t->lock);
			return -ENOMEM;
		}
		atomic_fetch_add(&d->refs, 1);
		in->vdir = d;
		in->vidx = i;
		in->vf = df11_vfile_get(d->vf[i]);
		d->vin[i] = in;
	}
	in->nlookup++;
	pthread_mutex_unlock(&t->lock);
	*out = in;
	df11fs_off_attr(in, st);
	return 0;
}

void df11fs_off_unlink_locked(struct df11fs_inode *in)
{
	in->vdir->vin[in->vidx] = NULL;
}

void df11fs_off_virtual_free(struct df11fs_inode *in)
{
	offdir_put(in->vdir);
	in->vdir = NULL;
}

void df11fs_off_attr(const struct df11fs_inode *in, struct stat *st)
{
	*st = in->vdir->st;
	st->st_ino = (ino_t)(in->vdir->st.st_ino * 1000003u + in->vidx + 1) |
		     ((ino_t)1 << (sizeof(ino_t) * 8 - 1));
	st->st_mode = S_IFREG | (st->st_mode & 0444);
	st->st_nlink = 1;
	st->st_size = (off_t)df11_vfile_size(in->vf);
	st->st_blocks = (st->st_size + 511) / 512;
}

int df11fs_off_listing(struct df11fs_itable *t, struct df11fs_inode *dir,
		       struct df11fs_listing *l)
{
	struct df11fs_offdir *d;
	int r = offdir_of(t, dir, &d), fd;
	struct dirent *de;
	DIR *dp;

	memset(l, 0, sizeof(*l));
	if (r <= 0)
		return r < 0 ? r : 1;
	fd = df11fs_inode_reopen(dir, O_RDONLY | O_DIRECTORY);
	dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : -errno;
	}
	for (size_t i = 0; i < d->n; i++)
		if (df11fs_listing_add(l, df11_off_vfile_name(d->m, i), DT_REG))
			goto nomem;
	while ((de = readdir(dp)))
		if (!df11_off_hides(de->d_name) &&
		    df11fs_listing_add(l, de->d_name, de->d_type))
			goto nomem;
	closedir(dp);
	return 0;
nomem:
	closedir(dp);
	df11fs_listing_free(l);
	return -ENOMEM;
}

int df11fs_listing_add(struct df11fs_listing *l, const char *name,
		       unsigned char type)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		char **a = realloc(l->names, cap * sizeof(*a));
		unsigned char *b = a ? realloc(l->types, cap) : NULL;

		if (a)
			l->names = a;
		if (b)
			l->types = b;
		if (!a || !b)
			return -ENOMEM;
		l->cap = cap;
	}
	if (!(l->names[l->n] = strdup(name)))
		return -ENOMEM;
	l->types[l->n++] = type;
	return 0;
}

void df11fs_listing_free(struct df11fs_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->types);
	memset(l, 0, sizeof(*l));
}
