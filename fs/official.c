/* SPDX-License-Identifier: MIT */
/*
 * fs/official.c - official DFloat11 directories as BF16 model directories
 *
 * A directory whose config.json has a "dfloat11_config" key is opened
 * once, on its first lookup or opendir, by df11_store_model_open
 * (store/store.h), which lists it, opens its *.safetensors files (never
 * following a symlink, never opening a FIFO, socket or device: those are
 * skipped with one log line and shown as they are) and plans the
 * virtual files. From then on the directory shows the virtual files
 * (config.json without dfloat11_config, model*.safetensors, the index
 * json) in place of config.json, every opened *.safetensors and every
 * *.safetensors.index.json; its other entries (tokenizer, subdirectories,
 * skipped files) are shown as they are. A directory that fails to open
 * logs why once; then opendir and the lookups of the names it would
 * replace fail with EIO, never showing the official files as if they
 * were the model.
 *
 * This file is only the glue between inodes and the store's model.
 * Virtual files get inodes that are not in the (st_dev, st_ino) table:
 * each lives in its directory's struct df11fs_offdir slot while the kernel
 * holds a lookup, keeps a reference on the offdir, and is served by a
 * df11_vfile over the file's df11_source, whose staleness check is the
 * model's file set (every opened file unchanged). -o headers=FILE applies
 * to the official directory that is SOURCE itself; an
 * original-headers.json or original-config.json in a model directory
 * (read by the store) applies to that model.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "official/official.h"
#include "store/store.h"
#include "fs_i.h"

struct df11fs_offdir {
	_Atomic long refs;
	struct df11_store_model *sm;
	size_t n;
	struct df11fs_inode **vin; /* table lock */
	struct df11_vfile **vf;
	struct stat st; /* config.json's, for the virtual files' attributes */
	void *acl;	/* config.json's access ACL, for theirs: @acl_len */
	ssize_t acl_len; /* bytes, or -ENODATA (none), or -EIO (fail closed) */
};

static void offdir_put(struct df11fs_offdir *d)
{
	if (!d || atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	for (size_t i = 0; i < d->n; i++)
		df11_vfile_put(d->vf[i]);
	free(d->vf);
	free(d->vin);
	df11_store_model_close(d->sm);
	free(d->acl);
	free(d);
}

/*
 * config.json's access ACL, which the virtual files carry as they carry
 * its mode and owner (d->st), read once like them. Any doubt (config.json
 * replaced since the store read it, an error) is -EIO: the kernel then
 * refuses access instead of falling back to the mode bits.
 */
static void offdir_acl(struct df11fs_inode *dir, struct df11fs_offdir *d)
{
	int fd =
	    openat(dir->fd, "config.json", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	void *buf = malloc(DF11FS_XATTR_MAX);
	ssize_t n = -EIO;

	if (fd >= 0 && buf && fstat(fd, &st) == 0 &&
	    st.st_dev == d->st.st_dev && st.st_ino == d->st.st_ino)
		n = df11fs_acl_read(fd, DF11FS_ACL_ACCESS, buf,
				    DF11FS_XATTR_MAX);
	if (n < 0 && n != -ENODATA)
		n = -EIO;
	if (n == -EIO)
		df11fs_log(LOG_WARNING,
			   "'%s': cannot read the ACL of config.json: its "
			   "files refuse every access checked against it",
			   dir->path);
	if (n > 0 && (d->acl = realloc(buf, (size_t)n)))
		buf = NULL;
	d->acl_len = n > 0 && !d->acl ? -EIO : n;
	free(buf);
	if (fd >= 0)
		close(fd);
}

ssize_t df11fs_off_acl(const struct df11fs_inode *in, const char *name,
		       const void **val)
{
	if (strcmp(name, DF11FS_ACL_ACCESS) != 0)
		return -ENODATA; /* a file has no default ACL */
	*val = in->vdir->acl;
	return in->vdir->acl_len;
}

/* the store's warning about a skipped *.safetensors entry */
static void warn_log(void *ctx, const char *msg)
{
	(void)ctx;
	df11fs_log(LOG_WARNING, "%s", msg);
}

/* the virtual files of @d's model */
static int offdir_vfiles(struct df11fs_itable *t, struct df11fs_inode *dir,
			 struct df11fs_offdir *d)
{
	struct df11_off *m = df11_store_model_off(d->sm);
	struct df11_store_set *set = df11_store_model_set(d->sm);
	int rc = 0;

	d->n = df11_off_n_vfiles(m);
	d->vin = calloc(d->n + 1, sizeof(*d->vin));
	d->vf = calloc(d->n + 1, sizeof(*d->vf));
	if (!d->vin || !d->vf)
		return -ENOMEM;
	for (size_t i = 0; !rc && i < d->n; i++) {
		struct df11_source *src;
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir->path,
			 df11_off_vfile_name(m, i));
		rc = df11_off_source(m, i, &src);
		if (!rc)
			rc = df11_vfile_new(&d->vf[i], t->cache, src,
					    df11_store_set_check,
					    df11_store_set_put, set, path);
		if (!rc)
			df11_store_set_get(set); /* the vfile's */
	}
	return rc;
}

/*
 * Open official directory @dir into *@out. Return: 0; -ENODATA (not
 * official); another -errno (logged: broken).
 */
static int offdir_open(struct df11fs_itable *t, struct df11fs_inode *dir,
		       struct df11fs_offdir **out)
{
	enum df11_off_need need = DF11_OFF_NEED_NONE;
	struct df11_store_model_opts o = {.shard_size = t->off_shard_size,
					  .warn = warn_log};
	struct df11fs_offdir *d = calloc(1, sizeof(*d));
	char err[512] = "";
	int rc;

	*out = NULL;
	if (!d)
		return -ENOMEM;
	atomic_init(&d->refs, 1);
	if (dir == t->root) {
		o.headers = t->off_headers;
		o.headers_len = t->off_headers_len;
	}
	o.need = &need;
	rc = df11_store_model_open(dir->fd, dir->path, &o, &d->sm, err,
				   sizeof(err));
	if (rc == -ENODATA) {
		free(d);
		return rc;
	}
	if (!rc)
		rc = offdir_vfiles(t, dir, d);
	if (rc) {
		df11fs_log(LOG_ERR, "'%s': official DFloat11 directory: %s%s",
			   dir->path, err[0] ? err : strerror(-rc),
			   need == DF11_OFF_NEED_HEADERS
			       ? " (write them with 'df11 headers ORIGINAL_DIR"
				 " > h.json', then save them as "
				 "DIR/" DF11_OFF_ORIG_HEADERS
				 " or mount with -o headers=h.json)"
			       : "");
		offdir_put(d);
		return rc;
	}
	d->st = *df11_store_model_config_stat(d->sm);
	offdir_acl(dir, d);
	df11fs_log(LOG_DEBUG, "'%s': official DFloat11 directory, %zu files",
		   dir->path, d->n);
	if (df11_off_note(df11_store_model_off(d->sm)))
		df11fs_log(LOG_WARNING, "'%s': %s", dir->path,
			   df11_off_note(df11_store_model_off(d->sm)));
	*out = d;
	return 0;
}

/*
 * The offdir of directory @dir, opening it once. Return: 1 and *@d, 0
 * (not official), -EIO (official but broken).
 */
static int offdir_of(struct df11fs_itable *t, struct df11fs_inode *dir,
		     struct df11fs_offdir **d)
{
	int st, rc;

	if (dir->type != S_IFDIR || dir->vdir)
		return 0;
	pthread_mutex_lock(&dir->lock);
	if (!dir->off_state) {
		rc = offdir_open(t, dir, &dir->off);
		dir->off_state = rc == -ENODATA ? 1 : rc ? 3 : 2;
	}
	*d = dir->off;
	st = dir->off_state;
	pthread_mutex_unlock(&dir->lock);
	return st == 2 ? 1 : st == 3 ? -EIO : 0;
}

void df11fs_off_sweep(struct df11fs_inode *dir)
{
	size_t n = 0;

	pthread_mutex_lock(&dir->lock);
	if (dir->off)
		n = df11_store_set_sweep(df11_store_model_set(dir->off->sm));
	pthread_mutex_unlock(&dir->lock);
	if (n)
		df11fs_log(LOG_DEBUG, "'%s': released %zu deleted files",
			   dir->path, n);
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
		if (!strcmp(df11_off_vfile_name(df11_store_model_off(d->sm), i),
			    name))
			break;
	if (i == d->n)
		return df11_store_model_hides(d->sm, name) ? -ENOENT : 1;
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

unsigned char df11fs_dtype(unsigned char type)
{
	/* FIFOs, sockets and devices are shown as empty regular files */
	return type == DT_FIFO || type == DT_SOCK || type == DT_CHR ||
		       type == DT_BLK
		   ? DT_REG
		   : type;
}

int df11fs_off_listing(struct df11fs_itable *t, struct df11fs_inode *dir,
		       struct df11fs_listing *l)
{
	struct df11fs_offdir *d;
	struct df11_store_name *v = NULL;
	struct df11_off *m;
	size_t n = 0;
	int r = offdir_of(t, dir, &d);

	memset(l, 0, sizeof(*l));
	if (r <= 0)
		return r < 0 ? r : 1;
	r = df11_store_list(dir->fd, &v, &n);
	if (r)
		return r;
	m = df11_store_model_off(d->sm);
	for (size_t i = 0; !r && i < d->n; i++)
		r = df11fs_listing_add(l, df11_off_vfile_name(m, i), DT_REG);
	if (!r)
		r = df11fs_listing_add(l, ".", DT_DIR);
	if (!r)
		r = df11fs_listing_add(l, "..", DT_DIR);
	for (size_t i = 0; !r && i < n; i++)
		if (!df11_store_model_hides(d->sm, v[i].name))
			r = df11fs_listing_add(l, v[i].name,
					       df11fs_dtype(v[i].type));
	df11_store_list_free(v, n);
	if (r)
		df11fs_listing_free(l);
	return r;
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
