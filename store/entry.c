/* SPDX-License-Identifier: MIT */
/*
 * store/entry.c - what the entries of a source directory are, the sorted
 * listing of a directory, and native containers opened as sources
 *
 * A container is recognised by its name ("*.safetensors") or by its
 * content (df11_store_sniff): Hugging Face hub blobs are named by their
 * hash. The sniff reads 8 bytes of every regular file, and up to 4 KiB of
 * those whose length prefix is plausible, so plain files stay cheap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/le.h"
#include "codec/safetensors.h"
#include "codec/source.h"
#include "official/official.h"
#include "store/store_i.h"

#define SUFFIX ".safetensors"

int df11_store_is_safetensors(const char *name)
{
	size_t n = strlen(name), k = sizeof(SUFFIX) - 1;

	return n > k && strcmp(name + n - k, SUFFIX) == 0;
}

/* @p past JSON whitespace, at most @end */
static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* @p past whitespace and then @tok; NULL when @tok is not there */
static const char *expect(const char *p, const char *end, const char *tok)
{
	size_t n = strlen(tok);

	p = skip_ws(p, end);
	if ((size_t)(end - p) < n || memcmp(p, tok, n))
		return NULL;
	return p + n;
}

int df11_store_sniff(int fd, uint64_t size)
{
	char buf[DF11_STORE_SNIFF_MAX];
	const char *p = buf, *end;
	uint8_t pre[8];
	uint64_t n;
	size_t k;

	if (size < 8 + 2 || df11_store_pread(fd, pre, sizeof(pre), 0))
		return 0;
	n = df11_le_get64(pre);
	if (n < 2 || n > DF11_ST_MAX_HEADER || n > size - 8)
		return 0;
	k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
	if (df11_store_pread(fd, buf, k, 8))
		return 0;
	end = buf + k;
	p = expect(p, end, "{");
	p = p ? expect(p, end, "\"__metadata__\"") : NULL;
	p = p ? expect(p, end, ":") : NULL;
	p = p ? expect(p, end, "{") : NULL;
	p = p ? expect(p, end, "\"" DF11_CT_META_KEY "\"") : NULL;
	p = p ? expect(p, end, ":") : NULL;
	return p != NULL;
}

int df11_store_sniff_at(int dirfd, const char *name, unsigned flags)
{
	struct stat st;
	int fd, r;

	if (df11_store_openat(dirfd, name, flags, &fd, &st))
		return 0;
	r = df11_store_sniff(fd, (uint64_t)st.st_size);
	close(fd);
	return r;
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

/*
 * What opening @fd (@size bytes) is admitted for, by its length prefix:
 * a header past DF11_CT_HEADER_MAX, or one the file cannot hold, is
 * refused or passed over before it is parsed (df11_ct_open).
 */
static size_t open_cost(int fd, uint64_t size)
{
	uint8_t pre[8];
	uint64_t n;

	if (size < 8 || df11_store_pread(fd, pre, sizeof(pre), 0))
		return 0;
	n = df11_le_get64(pre);
	if (n > size - 8 || n > DF11_CT_HEADER_MAX - 8)
		return 0;
	return df11_store_gate_cost(8 + n);
}

int df11_store_ct_open(int dirfd, const char *name, unsigned flags,
		       struct df11_store_gate *gate, struct df11_source **src,
		       struct df11_store_set **set, char *err, size_t errlen)
{
	struct df11_store_set *s;
	struct store_file *f;
	struct df11_ct *ct;
	size_t cost = 0, index = 0;
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
	if (gate) {
		cost = open_cost(fd, (uint64_t)st.st_size);
		store_gate_enter(gate, cost);
	}
	rc = df11_ct_open(&ct, store_file_read, f, (uint64_t)st.st_size, err,
			  errlen);
	if (!rc)
		index = df11_ct_mem(ct);
	if (gate)
		store_gate_leave(gate, cost);
	if (!rc)
		rc = df11_ct_source(src, ct, store_file_read, f);
	if (rc) {
		*src = NULL;
		df11_store_set_put(s);
		return rc;
	}
	if (gate) {
		s->gate = gate;
		s->index = index;
		store_gate_index(gate, index, 1);
	}
	*set = s;
	return 0;
}
