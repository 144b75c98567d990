/* SPDX-License-Identifier: MIT */
/*
 * store/open.c - opening source files safely, reading them, telling when
 * they changed, and sets of opened files
 *
 * An open is two looks around one openat (see store.h): fstatat first, so
 * that a FIFO, socket or device node is never opened at all (opening a
 * FIFO for reading blocks until a writer comes; a device may rewind a
 * tape), then openat with O_NOFOLLOW | O_NONBLOCK, so that whatever was
 * swapped in since cannot block or be a link, then fstat on the open file
 * to decide. O_NONBLOCK is cleared at the end: it means nothing for a
 * regular file, but callers may hand the descriptor to splice.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_i.h"

/* 0 for a regular file, else why it is refused */
static int refuse(mode_t mode)
{
	if (S_ISREG(mode))
		return 0;
	if (S_ISLNK(mode))
		return -ELOOP;
	if (S_ISDIR(mode))
		return -EISDIR;
	return -ENXIO;
}

const char *df11_store_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symbolic link";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	default:
		return "special file";
	}
}

/* open what @dirfd (O_PATH) itself refers to, through /proc */
static int reopen_self(int dirfd)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	return open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

int df11_store_openat(int dirfd, const char *name, unsigned flags, int *fd,
		      struct stat *st)
{
	int follow = (flags & DF11_STORE_FOLLOW) != 0, self, f, fl, rc;
	struct stat pre, post;

	*fd = -1;
	if (!name)
		return -EINVAL;
	self = name[0] == '\0';
	if (self)
		rc = fstatat(dirfd, "", &pre, AT_EMPTY_PATH);
	else
		rc = fstatat(dirfd, name, &pre,
			     follow ? 0 : AT_SYMLINK_NOFOLLOW);
	if (rc != 0)
		return -errno;
	if (st)
		*st = pre;
	if ((rc = refuse(pre.st_mode)))
		return rc;
	if (self)
		f = reopen_self(dirfd);
	else
		f = openat(dirfd, name,
			   O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
			       (follow ? 0 : O_NOFOLLOW));
	if (f < 0)
		return -errno;
	if (fstat(f, &post) != 0) {
		rc = -errno;
		goto fail;
	}
	if (st)
		*st = post;
	if ((rc = refuse(post.st_mode)))
		goto fail;
	if (self && (post.st_dev != pre.st_dev || post.st_ino != pre.st_ino)) {
		rc = -ESTALE;
		goto fail;
	}
	fl = fcntl(f, F_GETFL);
	if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	*fd = f;
	return 0;

fail:
	close(f);
	return rc;
}

ssize_t df11_store_pread_upto(int fd, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	size_t got = 0;

	if (len > SSIZE_MAX)
		return -EINVAL;
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* the end of the file */
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int df11_store_pread(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = df11_store_pread_upto(fd, buf, len, off);

	if (n < 0)
		return (int)n;
	return (size_t)n < len ? -EIO : 0; /* shorter than it said */
}

int df11_store_unchanged(int fd, const struct stat *st0)
{
	struct stat st;

	if (fstat(fd, &st) || st.st_nlink == 0 || st.st_size != st0->st_size ||
	    st.st_ino != st0->st_ino || st.st_dev != st0->st_dev ||
	    st.st_mtim.tv_sec != st0->st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != st0->st_mtim.tv_nsec)
		return -ESTALE;
	return 0;
}

int df11_store_release(int fd)
{
	int z = open("/dev/null", O_RDONLY | O_CLOEXEC), rc = 0;

	if (z < 0)
		return -errno;
	if (dup3(z, fd, O_CLOEXEC) < 0)
		rc = -errno;
	close(z);
	return rc;
}

/* ----------------------------------------------------------------- sets */

struct df11_store_set *store_set_new(size_t cap)
{
	struct df11_store_set *s;
	size_t sz;

	if (__builtin_mul_overflow(cap, sizeof(s->f[0]), &sz) ||
	    __builtin_add_overflow(sz, sizeof(*s), &sz))
		return NULL;
	s = calloc(1, sz);
	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->cap = cap;
	return s;
}

struct store_file *store_set_add(struct df11_store_set *s, int fd,
				 const struct stat *st)
{
	struct store_file *f;

	if (s->n == s->cap)
		return NULL;
	f = &s->f[s->n++];
	f->set = s;
	f->fd = fd;
	f->st = *st;
	atomic_init(&f->released, 0);
	return f;
}

int store_file_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	const struct store_file *f = ctx;

	return df11_store_pread(f->fd, buf, len, off);
}

int df11_store_set_check(void *set)
{
	struct df11_store_set *s = set;

	for (size_t i = 0; i < s->n; i++)
		if (atomic_load(&s->f[i].released) ||
		    df11_store_unchanged(s->f[i].fd, &s->f[i].st))
			return -ESTALE;
	return 0;
}

struct df11_store_set *df11_store_set_get(struct df11_store_set *set)
{
	atomic_fetch_add(&set->refs, 1);
	return set;
}

void df11_store_set_put(void *set)
{
	struct df11_store_set *s = set;

	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->gate)
		store_gate_index(s->gate, s->index, 0);
	for (size_t i = 0; i < s->n; i++)
		close(s->f[i].fd);
	free(s);
}

size_t df11_store_set_index(const struct df11_store_set *set)
{
	return set ? set->index : 0;
}

size_t df11_store_set_sweep(struct df11_store_set *set)
{
	size_t n = 0;

	for (size_t i = 0; set && i < set->n; i++) {
		struct store_file *f = &set->f[i];
		struct stat st;

		if (atomic_load(&f->released) || fstat(f->fd, &st) != 0 ||
		    st.st_nlink != 0)
			continue;
		/* flag first: a check that sees /dev/null already says so */
		if (atomic_exchange(&f->released, 1) == 0) {
			if (df11_store_release(f->fd) == 0)
				n++;
		}
	}
	return n;
}

/* ---------------------------------------------------------------- errors */

void store_refusal(char *buf, size_t len, const char *dir, const char *name,
		   int rc, const struct stat *st)
{
	const char *sep = dir && dir[0] ? "/" : "";

	if (!dir)
		dir = "";
	if (rc == -ELOOP)
		snprintf(buf, len, "'%s%s%s': symbolic link, not followed", dir,
			 sep, name);
	else if (rc == -EBADMSG)
		snprintf(buf, len, "'%s%s%s' " DF11_ST_LFS_MSG, dir, sep, name);
	else if (rc == -ENXIO || rc == -EISDIR)
		snprintf(buf, len, "'%s%s%s': not a regular file (%s)", dir,
			 sep, name, df11_store_type_name(st->st_mode));
	else
		snprintf(buf, len, "cannot open '%s%s%s': %s", dir, sep, name,
			 strerror(-rc));
	/* names are untrusted: keep the message on one line */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}
