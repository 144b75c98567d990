// SPDX-License-Identifier: MIT
/*
 * tools/io.c - file I/O of the df11 tool: full reads and writes, copies,
 * and the temporary output directory
 *
 * Every read is a pread (workers share file descriptors); a short read is
 * -EIO, never a silent truncation. Copies use copy_file_range(), which
 * clones on reflink filesystems and copies inside the kernel elsewhere, and
 * fall back to pread/pwrite through a 4 MiB buffer where the kernel or the
 * filesystem cannot (EXDEV, ENOSYS, EOPNOTSUPP, EINVAL).
 *
 * Output trees are made atomic by building them in "<DST>.df11-tmp.<pid>",
 * a sibling of the destination (same filesystem), and renaming it to the
 * destination as the last step. A destination that exists as an empty
 * directory (a mount point, a volume, a directory the user owns in one
 * they cannot write) is built in place instead: in "<DST>/.df11-tmp.<pid>",
 * whose entries are renamed into DST at the end, the temporary directory
 * removed last, so a crash in that step leaves a name that says the tree
 * is not complete. An interrupted or failed run removes the temporary
 * tree; a crash leaves only a directory whose name says what it is.
 *
 * Durability: every output file is fsynced before it is closed (here,
 * tools/compress.c, tools/job.c), every directory of the temporary tree
 * before the rename, and the directory holding the new name after it, so
 * that after a power loss a destination that exists is complete.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "tools/tool_i.h"

#define COPY_PIECE (64ull << 20) /* bytes per copy_file_range call */
#define BOUNCE	   (4u << 20)	 /* fallback buffer */

int df11_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return df11_store_pread(fd, buf, len, off); /* the one pread loop */
}

int df11_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int df11_pread_cb(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct df11_fd *f = ctx;

	return df11_pread_full(f->fd, buf, len, off);
}

/* The pread/pwrite fallback; errors are reported by the caller. */
static int bounce_copy(int in, uint64_t in_off, int out, uint64_t out_off,
		       uint64_t len, bool progress, bool *wr_side)
{
	uint8_t *buf = malloc(BOUNCE);
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (len && !rc) {
		size_t n = len < BOUNCE ? (size_t)len : BOUNCE;

		if (df11_stopped()) {
			rc = -EINTR;
			break;
		}
		rc = df11_pread_full(in, buf, n, in_off);
		if (rc)
			break;
		rc = df11_pwrite_full(out, buf, n, out_off);
		*wr_side = rc != 0;
		in_off += n;
		out_off += n;
		len -= n;
		if (progress)
			df11_prog_add(n);
	}
	free(buf);
	return rc;
}

int df11_copy_range(int in, uint64_t in_off, int out, uint64_t out_off,
		    uint64_t len, const char *in_path, const char *out_path,
		    bool progress)
{
	bool wr_side = false;
	int rc = 0;

	while (len) {
		loff_t io = (loff_t)in_off, oo = (loff_t)out_off;
		size_t piece = len < COPY_PIECE ? (size_t)len : COPY_PIECE;
		ssize_t n;

		if (df11_stopped())
			return -EINTR;
		n = copy_file_range(in, &io, out, &oo, piece, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS ||
			      errno == EOPNOTSUPP || errno == EINVAL)) {
			rc = bounce_copy(in, in_off, out, out_off, len,
					 progress, &wr_side);
			break;
		}
		if (n < 0) {
			/* copy_file_range cannot say which side failed */
			rc = -errno;
			wr_side =
			    rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG;
			break;
		}
		if (n == 0) {
			rc = -EIO; /* the source ended early */
			break;
		}
		in_off += (uint64_t)n;
		out_off += (uint64_t)n;
		len -= (uint64_t)n;
		if (progress)
			df11_prog_add((uint64_t)n);
	}
	if (rc == -ENOMEM)
		return df11_fail_sys(rc, "copy", in_path);
	if (rc)
		return df11_fail_sys(rc, wr_side ? "write" : "read",
				     wr_side ? out_path : in_path);
	return 0;
}

int df11_set_attrs(int fd, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};

	if (fchmod(fd, st->st_mode & 07777) < 0)
		return -errno;
	if (futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

int df11_copy_file(const char *src, const char *dst, const struct stat *st)
{
	int in, out = -1, rc;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return df11_fail_sys(-errno, "open", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = df11_fail_sys(-errno, "create", dst);
		goto out_in;
	}
	if (st->st_size > (1 << 20))
		posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = df11_copy_range(in, 0, out, 0, (uint64_t)st->st_size, src, dst,
			     true);
	if (rc)
		goto out_out;
	rc = df11_set_attrs(out, st);
	if (rc)
		df11_fail_sys(rc, "set the attributes of", dst);
	if (!rc && fsync(out) < 0)
		rc = df11_fail_sys(-errno, "write", dst);
out_out:
	if (close(out) < 0 && !rc)
		rc = df11_fail_sys(-errno, "write", dst);
out_in:
	close(in);
	return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int open_up(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D && (st->st_mode & 0700) != 0700)
		chmod(path, 0700); /* so that its entries can be removed */
	return 0;
}

int df11_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	if (fd < 0)
		return df11_fail_sys(-errno, "open", path);
	if (fsync(fd) < 0)
		rc = df11_fail_sys(-errno, "write", path);
	close(fd);
	return rc;
}

static int sync_dir(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_D && flag != FTW_DP)
		return 0;
	return df11_fsync_path(path) ? 1 : 0;
}

/* fsync directory @path and every directory below it; reports errors */
static int sync_dirs(const char *path)
{
	int r = nftw(path, sync_dir, 32, FTW_PHYS | FTW_DEPTH);

	if (r < 0)
		return df11_fail_sys(-errno, "read", path);
	return r ? -EIO : 0;
}

/* the directory that holds @path ("." for a bare name), malloc'ed */
static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

void df11_rmtree(const char *path)
{
	nftw(path, open_up, 32, FTW_PHYS);
	nftw(path, rm_one, 32, FTW_PHYS | FTW_DEPTH);
}

/* Is directory @path empty? Return: 1, 0, or -errno. */
static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

int df11_outdir_begin(struct df11_outdir *o, const char *dst)
{
	size_t len = strlen(dst);
	struct stat st;
	int rc;

	o->final = o->tmp = NULL;
	while (len > 1 && dst[len - 1] == '/')
		len--;
	o->inside = false;
	o->final = strndup(dst, len);
	if (!o->final) {
		rc = df11_fail_sys(-ENOMEM, "create", dst);
		goto fail;
	}
	if (lstat(o->final, &st) == 0) {
		rc = S_ISDIR(st.st_mode) ? dir_empty(o->final) : 0;
		if (rc < 0) {
			df11_fail_sys(rc, "open", o->final);
			goto fail;
		}
		if (rc == 0) {
			df11_fail(DF11_EX_USAGE,
				  "destination '%s' exists and is not empty",
				  o->final);
			rc = -EEXIST;
			goto fail;
		}
		o->inside = true;
	} else if (errno != ENOENT) {
		rc = df11_fail_sys(-errno, "open", o->final);
		goto fail;
	}
	if (asprintf(&o->tmp,
		     o->inside ? "%s/.df11-tmp.%ld" : "%s.df11-tmp.%ld",
		     o->final, (long)getpid()) < 0) {
		o->tmp = NULL;
		rc = df11_fail_sys(-ENOMEM, "create", dst);
		goto fail;
	}
	if (mkdir(o->tmp, 0700) < 0) {
		if (errno != EEXIST) {
			rc = df11_fail_sys(-errno, "create", o->tmp);
			goto fail;
		}
		df11_rmtree(o->tmp); /* left by a dead run with our pid */
		if (mkdir(o->tmp, 0700) < 0) {
			rc = df11_fail_sys(-errno, "create", o->tmp);
			goto fail;
		}
	}
	return 0;
fail:
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
	return rc;
}

/* Built in place: move every entry of o->tmp into o->final, then drop it. */
static int commit_inside(struct df11_outdir *o)
{
	DIR *d = opendir(o->tmp);
	int fd = d ? dirfd(d) : -1,
	    out = open(o->final, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int rc = 0;

	if (!d || out < 0) {
		rc = df11_fail_sys(-errno, "open", d ? o->final : o->tmp);
		goto out;
	}
	while (!rc && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (renameat(fd, de->d_name, out, de->d_name) < 0)
			rc = df11_fail_sys(-errno, "rename into", o->final);
	}
	if (!rc && errno)
		rc = df11_fail_sys(-errno, "read", o->tmp);
	if (!rc && rmdir(o->tmp) < 0)
		rc = df11_fail_sys(-errno, "remove", o->tmp);
out:
	if (out >= 0)
		close(out);
	if (d)
		closedir(d);
	return rc;
}

int df11_outdir_commit(struct df11_outdir *o, const struct stat *st)
{
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	char *parent;
	int rc = 0;

	if (o->inside) {
		if ((rc = sync_dirs(o->tmp)) || (rc = commit_inside(o)))
			return rc;
		if (chmod(o->final, st->st_mode & 07777) < 0 ||
		    utimensat(AT_FDCWD, o->final, ts, 0) < 0)
			df11_fail_sys(-errno, "set the attributes of",
				      o->final);
		rc = df11_fsync_path(o->final);
		goto done;
	}
	if (chmod(o->tmp, st->st_mode & 07777) < 0 ||
	    utimensat(AT_FDCWD, o->tmp, ts, 0) < 0)
		return df11_fail_sys(-errno, "set the attributes of", o->tmp);
	if ((rc = sync_dirs(o->tmp)))
		return rc;
	if (rename(o->tmp, o->final) < 0) {
		rc = -errno;
		if (rc == -ENOTEMPTY || rc == -EEXIST || rc == -ENOTDIR)
			df11_fail(DF11_EX_USAGE,
				  "destination '%s' exists and is not empty",
				  o->final);
		else
			df11_fail_sys(rc, "rename to", o->final);
		return rc;
	}
	parent = parent_of(o->final);
	rc = parent ? df11_fsync_path(parent)
		    : df11_fail_sys(-ENOMEM, "write", o->final);
	free(parent);
done:
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
	return rc;
}

void df11_outdir_abort(struct df11_outdir *o)
{
	if (o->tmp)
		df11_rmtree(o->tmp);
	free(o->tmp);
	free(o->final);
	o->tmp = o->final = NULL;
}
