/* SPDX-License-Identifier: MIT */
/*
 * store/entry.c - what the entries of a source directory are, the sorted
 * listing of a directory, and native containers opened as sources
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/source.h"
#include "official/official.h"
#include "store/store_i.h"

#define SUFFIX ".safetensors"

int df11_store_is_safetensors(const char *name)
{
	size_t n = strlen(name), k = sizeof(SUFFIX) - 1;

	return n > k && strcmp(name + n - k, SUFFIX) == 0;
}

int df11_store_probe(int dirfd, unsigned flags)
{
	char *txt = NULL;
	size_t len = 0;
	struct stat st;
	int r = 0;

	if (store_read_config(dirfd, flags, &txt, &len, &st) == 0)
		r = df11_off_probe(txt, len);
	free(txt);
	return r;
}

/* is directory @name of @dirfd an official DFloat11 directory? */
static int probe_official(int dirfd, const char *name)
{
	int d =
	    openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (d < 0)
		return 0;
	r = df11_store_probe(d, 0);
	close(d);
	return r;
}

enum df11_store_kind df11_store_classify(int dirfd, const char *name,
					 const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		return df11_store_is_safetensors(name) ? DF11_STORE_NATIVE
						       : DF11_STORE_PLAIN;
	case S_IFDIR:
		return dirfd >= 0 && probe_official(dirfd, name)
			   ? DF11_STORE_OFFICIAL
			   : DF11_STORE_DIR;
	case S_IFLNK:
		return DF11_STORE_SYMLINK;
	default:
		return DF11_STORE_OTHER;
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct df11_store_name *)a)->name,
		      ((const struct df11_store_name *)b)->name);
}

void df11_store_list_free(struct df11_store_name *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int df11_store_list(int dirfd, struct df11_store_name **out, size_t *n)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct df11_store_name *v = NULL;
	size_t cap = 0, k = 0;
	struct dirent *de;
	DIR *dp;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	if (!(dp = fdopendir(fd))) {
		rc = -errno;
		close(fd);
		return rc;
	}
	while ((errno = 0, de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (k == cap) {
			size_t c = cap ? 2 * cap : 32;
			struct df11_store_name *w =
			    reallocarray(v, c, sizeof(*v));

			if (!w) {
				rc = -ENOMEM;
				break;
			}
			v = w;
			cap = c;
		}
		if (!(v[k].name = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		v[k++].type = de->d_type;
	}
	if (!rc && errno)
		rc = -errno;
	closedir(dp);
	if (rc) {
		df11_store_list_free(v, k);
		return rc;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), name_cmp);
	*out = v;
	*n = k;
	return 0;
}

int df11_store_ct_open(int dirfd, const char *name, unsigned flags,
		       struct df11_source **src, struct df11_store_set **set,
		       char *err, size_t errlen)
{
	struct df11_store_set *s;
	struct store_file *f;
	struct df11_ct *ct;
	struct stat st;
	int fd, rc;

	*src = NULL;
	*set = NULL;
	if (err && errlen)
		err[0] = '\0';
	rc = df11_store_openat(dirfd, name, flags, &fd, &st);
	if (rc) {
		if (name && name[0] && err)
			store_refusal(err, errlen, NULL, name, rc, &st);
		return rc;
	}
	if (!(s = store_set_new(1))) {
		close(fd);
		return -ENOMEM;
	}
	f = store_set_add(s, fd, &st);
	rc = df11_ct_open(&ct, store_file_read, f, (uint64_t)st.st_size, err,
			  errlen);
	if (!rc)
		rc = df11_ct_source(src, ct, store_file_read, f);
	if (rc) {
		*src = NULL;
		df11_store_set_put(s);
		return rc;
	}
	*set = s;
	return 0;
}
