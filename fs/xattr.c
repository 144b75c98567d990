/* SPDX-License-Identifier: MIT */
/*
 * fs/xattr.c - user.df11.* extended attributes
 *
 * The root directory carries the cache's counters (df11_cache_stats), a
 * container its sizes; values are decimal ASCII without a newline, so
 * `getfattr -d -m user.df11 /mnt/models` shows them.
 *
 * The POSIX ACLs of the source (system.posix_acl_access, and _default of
 * a directory) are passed through, read-only, for regular files and
 * directories: with FUSE_CAP_POSIX_ACL and default_permissions the kernel
 * checks every access against them, so a user an ACL denies on SOURCE is
 * denied through an allow_other mount too. A container's virtual file
 * carries the container's ACL; an official directory's virtual files
 * carry its config.json's (as they carry its mode). No other attribute
 * of the source is passed through (ENODATA).
 *
 *   root:       user.df11.cache_budget, cache_used, cache_peak, hits,
 *               misses, waits, evictions, readahead, errors, bytes_served,
 *               bytes_decoded, decode_gbps, decoder ("cpu", "gpu",
 *               "gpu+cpu" or "gpu (fell back to cpu: ...)"), gpu_chunks,
 *               gpu_batches
 *   container,  user.df11.size (original bytes), user.df11.stored (bytes
 *   official    on disk it is read from: the container, or its share of
 *   file:       the official directory's files), user.df11.ratio
 *               (stored / size)
 *   broken:     user.df11.error (why it cannot be read)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs_i.h"

#define PFX "user.df11."

static const char *const root_names[] = {
    "cache_budget",  "cache_used",  "cache_peak", "hits",	"misses",
    "waits",	     "evictions",   "readahead",  "errors",	"bytes_served",
    "bytes_decoded", "decode_gbps", "decoder",	  "gpu_chunks", "gpu_batches",
};

static const char *const file_names[] = {"size", "stored", "ratio"};

#define N_ROOT (sizeof(root_names) / sizeof(root_names[0]))
#define N_FILE (sizeof(file_names) / sizeof(file_names[0]))

/* Value of root attribute @name into @buf. Return: length or -ENODATA. */
static int root_value(struct df11fs *fs, const char *name, char *buf,
		      size_t len)
{
	struct df11_cache_stats st;
	const uint64_t *v = NULL;

	df11_cache_stats(fs->cache, &st);
	if (strcmp(name, "cache_budget") == 0)
		v = &st.budget;
	else if (strcmp(name, "cache_used") == 0)
		v = &st.used;
	else if (strcmp(name, "cache_peak") == 0)
		v = &st.peak;
	else if (strcmp(name, "hits") == 0)
		v = &st.hits;
	else if (strcmp(name, "misses") == 0)
		v = &st.misses;
	else if (strcmp(name, "waits") == 0)
		v = &st.waits;
	else if (strcmp(name, "evictions") == 0)
		v = &st.evictions;
	else if (strcmp(name, "readahead") == 0)
		v = &st.readahead;
	else if (strcmp(name, "errors") == 0)
		v = &st.errors;
	else if (strcmp(name, "bytes_served") == 0)
		v = &st.bytes_served;
	else if (strcmp(name, "bytes_decoded") == 0)
		v = &st.bytes_decoded;
	else if (strcmp(name, "gpu_chunks") == 0)
		v = &st.gpu_chunks;
	else if (strcmp(name, "gpu_batches") == 0)
		v = &st.gpu_batches;
	if (v)
		return snprintf(buf, len, "%" PRIu64, *v);
	if (strcmp(name, "decode_gbps") == 0)
		return snprintf(buf, len, "%.3f",
				st.decode_ns ? (double)st.bytes_decoded /
						   (double)st.decode_ns
					     : 0.0);
	if (strcmp(name, "decoder") == 0)
		return df11_cache_decoder(fs->cache, buf, len);
	return -ENODATA;
}

/*
 * The virtual file whose sizes @in shows, or NULL: a container, or an
 * official directory's file decoded from stored data (not its rewritten
 * config.json or index json, which are shown as plain files are).
 */
static struct df11_vfile *file_vfile(struct df11fs *fs, struct df11fs_inode *in)
{
	struct df11_vfile *vf = df11fs_inode_vfile(&fs->itab, in);

	if (vf && in->vdir && !df11_vfile_stored(vf)) {
		df11_vfile_put(vf);
		vf = NULL;
	}
	return vf;
}

/* Value of file attribute @name of @in. Return: length or -ENODATA. */
static int file_value(struct df11fs *fs, struct df11fs_inode *in,
		      const char *name, char *buf, size_t len)
{
	struct df11_vfile *vf;
	uint64_t size, stored;

	if (strcmp(name, "error") == 0)
		return df11fs_inode_why(in, buf, len);
	vf = file_vfile(fs, in);
	if (!vf)
		return -ENODATA;
	size = df11_vfile_size(vf);
	stored = df11_vfile_stored(vf);
	df11_vfile_put(vf);
	if (strcmp(name, "size") == 0)
		return snprintf(buf, len, "%" PRIu64, size);
	if (strcmp(name, "stored") == 0)
		return snprintf(buf, len, "%" PRIu64, stored);
	if (strcmp(name, "ratio") == 0)
		return snprintf(buf, len, "%.4f",
				size ? (double)stored / (double)size : 0.0);
	return -ENODATA;
}

ssize_t df11fs_acl_read(int fd, const char *name, void *buf, size_t size)
{
	char proc[32];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = getxattr(proc, name, buf, size);
	if (n >= 0)
		return n;
	return errno == ENOTSUP ? -ENODATA : -errno;
}

/*
 * ACL @name of @in's source into @buf (@size bytes, 0: the length; at
 * most DF11FS_XATTR_MAX), or borrowed in *@val (a virtual file of an
 * official directory). Return: the length or -errno.
 */
static ssize_t acl_get(struct df11fs_inode *in, const char *name, void *buf,
		       size_t size, const void **val)
{
	*val = buf;
	if (in->vdir)
		return df11fs_off_acl(in, name, val);
	if (atomic_load(&in->gone))
		return -ESTALE;
	if (in->type != S_IFDIR &&
	    (in->type != S_IFREG || strcmp(name, DF11FS_ACL_ACCESS) != 0))
		return -ENODATA; /* links, special files: no ACL checked */
	return df11fs_acl_read(in->fd, name, buf, size);
}

/* Reply @val (@n bytes) to a getxattr/listxattr of @size. */
static void reply_value(fuse_req_t req, const char *val, size_t n, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, n);
	else if (size < n)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, n);
}

void df11fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct df11fs_inode *in = df11fs_inode_get(&fs->itab, ino);
	char val[512];
	int n = -ENODATA;

	if (!strcmp(name, DF11FS_ACL_ACCESS) ||
	    !strcmp(name, DF11FS_ACL_DEFAULT)) {
		size_t cap = size < DF11FS_XATTR_MAX ? size : DF11FS_XATTR_MAX;
		void *buf = cap ? malloc(cap) : NULL;
		const void *v = NULL;
		ssize_t k =
		    cap && !buf ? -ENOMEM : acl_get(in, name, buf, cap, &v);

		if (k < 0)
			fuse_reply_err(req, (int)-k);
		else
			reply_value(req, v, (size_t)k, size);
		free(buf);
		return;
	}
	if (strncmp(name, PFX, sizeof(PFX) - 1) == 0) {
		name += sizeof(PFX) - 1;
		if (in == fs->itab.root)
			n = root_value(fs, name, val, sizeof(val));
		else if (in->probe || in->vdir)
			n = file_value(fs, in, name, val, sizeof(val));
	}
	if (n < 0)
		fuse_reply_err(req, -n);
	else
		reply_value(req, val,
			    (size_t)n < sizeof(val) ? (size_t)n
						    : sizeof(val) - 1,
			    size);
}

/* Append "user.df11.<name>\0" for each of @names to @buf at *@n. */
static void list_add(char *buf, size_t len, size_t *n, const char *const *names,
		     size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int k = snprintf(buf + *n, len - *n, PFX "%s", names[i]);

		if (k < 0 || (size_t)k + 1 > len - *n)
			return;
		*n += (size_t)k + 1;
	}
}

void df11fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct df11fs *fs = df11fs_from_req(req);
	struct df11fs_inode *in = df11fs_inode_get(&fs->itab, ino);
	struct df11_vfile *vf;
	char buf[1024], why[8];
	size_t n = 0;

	if (in == fs->itab.root) {
		list_add(buf, sizeof(buf), &n, root_names, N_ROOT);
	} else if (in->probe || in->vdir) {
		vf = file_vfile(fs, in);
		if (vf)
			list_add(buf, sizeof(buf), &n, file_names, N_FILE);
		else if (df11fs_inode_why(in, why, sizeof(why)) >= 0)
			list_add(buf, sizeof(buf), &n,
				 (const char *const[]){"error"}, 1);
		df11_vfile_put(vf);
	}
	for (int i = 0; i < 2; i++) { /* the source's ACLs, if any */
		const char *acl = i ? DF11FS_ACL_DEFAULT : DF11FS_ACL_ACCESS;
		const void *v;

		if (acl_get(in, acl, NULL, 0, &v) >= 0 &&
		    strlen(acl) + 1 <= sizeof(buf) - n) {
			memcpy(buf + n, acl, strlen(acl) + 1);
			n += strlen(acl) + 1;
		}
	}
	reply_value(req, buf, n, size);
}
