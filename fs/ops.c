/* SPDX-License-Identifier: MIT */
/*
 * fs/ops.c - the low-level operations: names, attributes, directories,
 * statfs, and EROFS for everything that would write
 *
 * Node ids come from the inode table (inode.c); names are resolved with
 * openat(parent, name, O_PATH | O_NOFOLLOW) relative to the parent's
 * descriptor, so nothing outside SOURCE is reached through a symlink.
 * Directory listings come from the source directory (readdir with the
 * source's d_off as the offset); readdirplus counts a lookup for every
 * entry it hands over, and gives it back when the entry does not fit.
 * The statistics file (DF11FS_STATS_NAME, fs/stats.c) is found by lookup
 * at the root only and never listed; its inode is not in the table.
 * Every handler replies exactly once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_i.h"

/*
 * An open directory: the source stream and where the kernel is in it, or
 * (@virt) the in-memory listing of an official DFloat11 directory, where
 * entry i has offset i + 1.
 */
struct dir_handle {
	DIR *dp;
	struct dirent *entry; /* read but not yet handed over, or NULL */
	off_t offset;
	int virt;
	struct df11fs_listing l;
};

static struct df11fs_inode *inode_of(fuse_req_t req, fuse_ino_t ino)
{
	return df11fs_inode_get(&df11fs_from_req(req)->itab, ino);
}

/* ------------------------------------------------------------ session */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct df11fs *fs = userdata;
	unsigned want = FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS |
			FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_AUTO_INVAL_DATA;

	/* the kernel checks the source's ACLs (fs/xattr.c passes them) */
	want |= FUSE_CAP_POSIX_ACL;
	conn->want |= want & conn->capable;
	if (!(conn->capable & FUSE_CAP_POSIX_ACL) && fs->allow_other)
		df11fs_log(LOG_WARNING,
			   "allow_other: this kernel cannot check POSIX ACLs "
			   "on FUSE (no FUSE_POSIX_ACL): every user may read "
			   "what the mode bits allow, whatever an ACL of "
			   "SOURCE says");
	conn->want &=
	    ~(unsigned)(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC);
	/* max_write also sets max_pages: 1 MiB read requests */
	conn->max_write = DF11FS_MAX_READ;
	conn->max_read = fs->max_read; /* must equal the mount's max_read= */
	/*
	 * Room for read-ahead requests of several files in flight, and no
	 * congestion below that: the kernel drops a file's asynchronous
	 * read-ahead while congestion_threshold requests are in the
	 * background (default 9), so that a reader then stalls on a miss
	 * and the next window is only asked for after it has copied the
	 * last one; with the threshold at the limit, the windows overlap.
	 */
	if (conn->max_background < DF11FS_BACKGROUND)
		conn->max_background = DF11FS_BACKGROUND;
	conn->congestion_threshold = conn->max_background;
	/*
	 * The kernel keeps min(bdi read-ahead, max_readahead of this reply):
	 * raise both, the bdi first, so the order of the two cannot matter.
	 */
	if (fs->kernel_ra_kb) {
		df11fs_set_readahead(fs->mountpoint, fs->kernel_ra_kb);
		conn->max_readahead = fs->kernel_ra_kb << 10;
	}
	df11fs_log(LOG_DEBUG,
		   "init: protocol %u.%u, max_readahead %u, capable 0x%x, "
		   "want 0x%x",
		   conn->proto_major, conn->proto_minor, conn->max_readahead,
		   conn->capable, conn->want);
}

/* ------------------------------------------------------- names, attrs */

int df11fs_entry_fill(struct df11fs *fs, struct df11fs_inode *parent,
		      const char *name, struct fuse_entry_param *e)
{
	struct df11fs_inode *in;
	struct stat src;
	int rc;

	memset(e, 0, sizeof(*e));
	rc = df11fs_inode_lookup(&fs->itab, parent, name, &in, &src);
	if (rc)
		return rc;
	rc = df11fs_inode_attr(&fs->itab, in, &src, &e->attr);
	if (rc) {
		df11fs_inode_forget(&fs->itab, in, 1);
		return rc;
	}
	e->ino = df11fs_inode_id(&fs->itab, in);
	e->attr_timeout = fs->attr_timeout;
	e->entry_timeout = fs->entry_timeout;
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct fuse_entry_param e;
	int rc;

	if (parent == FUSE_ROOT_ID && strcmp(name, DF11FS_STATS_NAME) == 0) {
		memset(&e, 0, sizeof(e));
		e.ino = (fuse_ino_t)(uintptr_t)&fs->stats_ino;
		df11fs_stats_attr(fs, &e.attr);
		e.attr_timeout = fs->attr_timeout;
		e.entry_timeout = fs->entry_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	rc = df11fs_entry_fill(fs, inode_of(req, parent), name, &e);
	if (rc == -ENOENT) {
		/* a negative entry, cached like a positive one */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->entry_timeout;
		fuse_reply_entry(req, &e);
	} else if (rc) {
		fuse_reply_err(req, -rc);
	} else {
		fuse_reply_entry(req, &e);
	}
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (df11fs_stats_ino(df11fs_from_req(req), ino)) {
		fuse_reply_none(req); /* never freed */
		return;
	}
	df11fs_inode_forget(&df11fs_from_req(req)->itab, inode_of(req, ino),
			    nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct df11fs *fs = df11fs_from_req(req);
	size_t i;

	for (i = 0; i < count; i++)
		if (!df11fs_stats_ino(fs, forgets[i].ino))
			df11fs_inode_forget(
			    &fs->itab,
			    df11fs_inode_get(&fs->itab, forgets[i].ino),
			    forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct stat st;
	int rc;

	(void)fi;
	if (df11fs_stats_ino(fs, ino)) {
		df11fs_stats_attr(fs, &st);
		fuse_reply_attr(req, &st, fs->attr_timeout);
		return;
	}
	rc = df11fs_inode_attr(&fs->itab, inode_of(req, ino), NULL, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, fs->attr_timeout);
}

/*
 * An absolute link target under SOURCE would make the kernel resolve it
 * outside the mount, to the stored bytes (a raw container): rewrite
 * "<SOURCE>/rest" to the relative "../../rest" that reaches the same
 * entry inside the mount, from link @in. SOURCE is the root descriptor's
 * canonical path; a target with "." or ".." components is left as it is.
 */
static void abs_to_rel(struct df11fs *fs, const struct df11fs_inode *in,
		       char *buf, size_t len)
{
	char root[PATH_MAX], fdp[32], out[PATH_MAX + 1];
	const char *rest, *c;
	size_t rl, k = 0;
	ssize_t n;

	if (buf[0] != '/')
		return;
	snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", fs->itab.root->fd);
	n = readlink(fdp, root, sizeof(root) - 1);
	if (n <= 0 || root[0] != '/')
		return;
	root[n] = '\0';
	rl = n == 1 ? 0 : (size_t)n; /* SOURCE "/" */
	if (strncmp(buf, root, rl) || (buf[rl] != '/' && buf[rl] != '\0'))
		return;
	for (rest = buf + rl; *rest == '/'; rest++)
		;
	for (c = rest; *c; c += strcspn(c, "/"), c += *c == '/') {
		size_t w = strcspn(c, "/");

		if ((w == 1 && c[0] == '.') || (w == 2 && !strncmp(c, "..", 2)))
			return;
	}
	for (c = in->path; (c = strchr(c, '/')); c++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "../");
	if (k >= sizeof(out) || (size_t)snprintf(out + k, sizeof(out) - k, "%s",
						 *rest ? rest
						 : k   ? ""
						     : ".") >= sizeof(out) - k)
		return;
	k = strlen(out);
	if (k > 1 && out[k - 1] == '/')
		out[k - 1] = '\0'; /* "../" of a target that is SOURCE */
	if (strlen(out) < len)
		strcpy(buf, out);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct df11fs_inode *in = inode_of(req, ino);
	char buf[PATH_MAX + 1];
	ssize_t n;

	n = readlinkat(in->fd, "", buf, sizeof(buf));
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((size_t)n >= sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	buf[n] = '\0';
	abs_to_rel(df11fs_from_req(req), in, buf, sizeof(buf));
	fuse_reply_readlink(req, buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct statvfs sv;

	(void)ino;
	if (fstatvfs(fs->itab.root->fd, &sv) != 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_flag |= ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

/* -------------------------------------------------------- directories */

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct dir_handle *d = calloc(1, sizeof(*d));
	int fd, err;

	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fd = df11fs_off_listing(&df11fs_from_req(req)->itab, inode_of(req, ino),
				&d->l);
	if (fd == 0) {
		d->virt = 1;
		goto opened;
	}
	if (fd < 0) {
		err = -fd;
		goto fail;
	}
	fd = df11fs_inode_reopen(inode_of(req, ino), O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		err = -fd;
		goto fail;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		err = errno;
		close(fd);
		goto fail;
	}
opened:
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0) {
		if (d->dp)
			closedir(d->dp);
		df11fs_listing_free(&d->l);
		free(d);
	}
	return;

fail:
	free(d);
	fuse_reply_err(req, err);
}

static int is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/*
 * Add the next entry of @d to @p (@rem bytes left). Return: bytes used
 * (more than @rem when it did not fit: nothing was added), 0 to skip the
 * entry (it vanished), or -errno.
 */
static ssize_t add_entry(fuse_req_t req, struct df11fs_inode *parent,
			 struct dir_handle *d, char *p, size_t rem, int plus)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct dirent *de = d->entry;
	struct fuse_entry_param e;
	size_t n;
	int rc;

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = de->d_ino;
	e.attr.st_mode = (mode_t)df11fs_dtype(de->d_type) << 12;
	if (!plus)
		return (ssize_t)fuse_add_direntry(req, p, rem, de->d_name,
						  &e.attr, de->d_off);
	if (!is_dot(de->d_name)) {
		rc = df11fs_entry_fill(fs, parent, de->d_name, &e);
		if (rc)
			return rc == -ENOENT ? 0 : rc;
	}
	n = fuse_add_direntry_plus(req, p, rem, de->d_name, &e, de->d_off);
	if (n > rem && e.ino)
		df11fs_inode_forget(&fs->itab,
				    df11fs_inode_get(&fs->itab, e.ino), 1);
	return (ssize_t)n;
}

/* readdir of an official directory's listing (see struct dir_handle) */
static void virt_readdir(fuse_req_t req, struct df11fs_inode *parent,
			 struct dir_handle *d, size_t size, off_t off, int plus)
{
	struct df11fs *fs = df11fs_from_req(req);
	char *buf = calloc(1, size ? size : 1);
	size_t rem = size, n;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->l.n; i++) {
		const char *name = d->l.names[i];
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.attr.st_mode = (mode_t)d->l.types[i] << 12;
		if (!plus) {
			n = fuse_add_direntry(req, buf + (size - rem), rem,
					      name, &e.attr, (off_t)i + 1);
		} else {
			if (!is_dot(name) &&
			    df11fs_entry_fill(fs, parent, name, &e) != 0)
				continue;
			n = fuse_add_direntry_plus(req, buf + (size - rem), rem,
						   name, &e, (off_t)i + 1);
			if (n > rem && e.ino)
				df11fs_inode_forget(
				    &fs->itab,
				    df11fs_inode_get(&fs->itab, e.ino), 1);
		}
		if (n > rem)
			break;
		rem -= n;
	}
	fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	struct df11fs_inode *parent = inode_of(req, ino);
	char *buf = calloc(1, size ? size : 1);
	size_t rem = size;
	ssize_t n;
	int err = 0;

	if (d->virt) {
		free(buf);
		virt_readdir(req, parent, d, size, off, plus);
		return;
	}
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->offset) {
		seekdir(d->dp, off);
		d->entry = NULL;
		d->offset = off;
	}
	for (;;) {
		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		n = add_entry(req, parent, d, buf + (size - rem), rem, plus);
		if (n < 0) {
			err = (int)-n;
			break;
		}
		if ((size_t)n > rem)
			break;
		rem -= (size_t)n;
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	if (err && rem == size)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (d->dp)
		closedir(d->dp);
	df11fs_listing_free(&d->l);
	free(d);
	fuse_reply_err(req, 0);
}

/* ------------------------------------- everything that would write */

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}

/* unlink and rmdir */
static void op_remove(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino, (void)buf, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)offset, (void)length, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			       off_t off_out, struct fuse_file_info *fi_out,
			       size_t len, int flags)
{
	(void)ino_in, (void)off_in, (void)fi_in, (void)ino_out, (void)off_out;
	(void)fi_out, (void)len, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, EROFS);
}

void df11fs_ops_fill(struct fuse_lowlevel_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->init = op_init;
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->readlink = op_readlink;
	ops->statfs = op_statfs;
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->open = df11fs_op_open;
	ops->read = df11fs_op_read;
	ops->release = df11fs_op_release;
	ops->getxattr = df11fs_op_getxattr;
	ops->listxattr = df11fs_op_listxattr;

	ops->setattr = op_setattr;
	ops->mknod = op_mknod;
	ops->mkdir = op_mkdir;
	ops->unlink = op_remove;
	ops->rmdir = op_remove;
	ops->symlink = op_symlink;
	ops->rename = op_rename;
	ops->link = op_link;
	ops->create = op_create;
	ops->write = op_write;
	ops->fallocate = op_fallocate;
	ops->copy_file_range = op_copy_file_range;
	ops->setxattr = op_setxattr;
	ops->removexattr = op_removexattr;
}
