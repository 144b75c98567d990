// SPDX-License-Identifier: MIT
/*
 * tools/walk.c - list a model directory tree
 *
 * A model directory is small (tens of files) but may be a Hugging Face
 * cache snapshot whose files are symbolic links into a blob store, so the
 * walk follows links: a link to a file is that file, a link to a directory
 * is that directory, and a link back to an ancestor is an error (ELOOP).
 * Fifos, sockets and devices are refused rather than skipped, so that no
 * file of the model goes missing without a word.
 *
 * The list is sorted by path with '/' ordered before every other byte:
 * "a" < "a/b" < "a.txt". A directory then precedes its contents (create in
 * list order, set attributes in reverse), and two trees can be compared by
 * a merge.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tools/tool_i.h"

/* the directories being walked, to catch symlink loops */
struct ancestor {
	const struct ancestor *up;
	dev_t dev;
	ino_t ino;
};

char *df11_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p;

	if (!*a)
		return strdup(b);
	if (!*b)
		return strdup(a);
	p = malloc(la + lb + 2);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

bool df11_is_safetensors(const char *path)
{
	static const char ext[] = ".safetensors";
	size_t len = strlen(path), el = sizeof(ext) - 1;

	return len > el && !strcmp(path + len - el, ext);
}

int df11_path_cmp(const char *a, const char *b)
{
	const unsigned char *p = (const void *)a, *q = (const void *)b;

	for (;; p++, q++) {
		unsigned x = *p == '/' ? 1 : *p ? *p + 1u : 0;
		unsigned y = *q == '/' ? 1 : *q ? *q + 1u : 0;

		if (x != y)
			return x < y ? -1 : 1;
		if (!x)
			return 0;
	}
}

static int entry_cmp(const void *a, const void *b)
{
	const struct df11_entry *x = a, *y = b;

	return df11_path_cmp(x->rel, y->rel);
}

static int add(struct df11_tree *t, char *rel, const struct stat *st)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct df11_entry *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].rel = rel;
	t->v[t->n].st = *st;
	t->n++;
	if (S_ISREG(st->st_mode)) {
		t->n_files++;
		t->bytes += (uint64_t)st->st_size;
	}
	return 0;
}

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "fifo";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISCHR(m))
		return "character device";
	if (S_ISBLK(m))
		return "block device";
	return "unknown type";
}

static int scan_dir(struct df11_tree *t, const char *rel,
		    const struct ancestor *up);

/* One directory entry @name of directory @rel. */
static int scan_one(struct df11_tree *t, const char *rel, const char *name,
		    const struct ancestor *up)
{
	char *crel = df11_path_join(rel, name), *full = NULL;
	struct stat st;
	int rc = -ENOMEM;

	if (!crel)
		goto fail;
	full = df11_path_join(t->root, crel);
	if (!full)
		goto fail;
	if (stat(full, &st) < 0) {
		rc = df11_fail_sys(-errno, "stat", full);
		goto fail;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		df11_fail(DF11_EX_UNSUPPORTED,
			  "'%s': unsupported file type (%s)", full,
			  kind(st.st_mode));
		rc = -ENOTSUP;
		goto fail;
	}
	for (const struct ancestor *a = up; a; a = a->up) {
		if (a->dev == st.st_dev && a->ino == st.st_ino) {
			rc = df11_fail_sys(-ELOOP, "walk", full);
			goto fail;
		}
	}
	rc = add(t, crel, &st);
	if (rc)
		goto fail;
	free(full);
	if (S_ISDIR(st.st_mode)) {
		struct ancestor me = {up, st.st_dev, st.st_ino};

		return scan_dir(t, crel, &me);
	}
	return 0;
fail:
	if (rc == -ENOMEM)
		df11_fail_sys(rc, "walk", t->root);
	free(full);
	free(crel);
	return rc;
}

static int scan_dir(struct df11_tree *t, const char *rel,
		    const struct ancestor *up)
{
	char *full = df11_path_join(t->root, rel);
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0;

	if (!full)
		return df11_fail_sys(-ENOMEM, "walk", t->root);
	d = opendir(full);
	if (!d) {
		rc = df11_fail_sys(-errno, "open", full);
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = df11_fail_sys(-errno, "read", full);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		rc = scan_one(t, rel, de->d_name, up);
		if (rc)
			break;
	}
	closedir(d);
out:
	free(full);
	return rc;
}

int df11_tree_scan(struct df11_tree *t, const char *root)
{
	struct ancestor me;
	int rc;

	memset(t, 0, sizeof(*t));
	t->root = strdup(root);
	if (!t->root)
		return df11_fail_sys(-ENOMEM, "walk", root);
	if (stat(root, &t->root_st) < 0)
		return df11_fail_sys(-errno, "open", root);
	if (!S_ISDIR(t->root_st.st_mode))
		return df11_fail_sys(-ENOTDIR, "open", root);
	me.up = NULL;
	me.dev = t->root_st.st_dev;
	me.ino = t->root_st.st_ino;
	rc = scan_dir(t, "", &me);
	if (rc)
		return rc;
	qsort(t->v, t->n, sizeof(*t->v), entry_cmp);
	return 0;
}

void df11_tree_free(struct df11_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].rel);
	free(t->v);
	free(t->root);
	memset(t, 0, sizeof(*t));
}

const struct df11_entry *df11_tree_find(const struct df11_tree *t,
					const char *rel)
{
	struct df11_entry key = {.rel = (char *)rel};

	return bsearch(&key, t->v, t->n, sizeof(*t->v), entry_cmp);
}

int df11_tree_mkdirs(const struct df11_tree *t, const char *dir)
{
	for (size_t i = 0; i < t->n; i++) {
		char *p;

		if (!S_ISDIR(t->v[i].st.st_mode))
			continue;
		p = df11_path_join(dir, t->v[i].rel);
		if (!p)
			return df11_fail_sys(-ENOMEM, "create", dir);
		if (mkdir(p, 0700) < 0) {
			int rc = df11_fail_sys(-errno, "create", p);

			free(p);
			return rc;
		}
		free(p);
	}
	return 0;
}

int df11_tree_dir_attrs(const struct df11_tree *t, const char *dir)
{
	for (size_t i = t->n; i-- > 0;) {
		const struct stat *st = &t->v[i].st;
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		char *p;
		int rc = 0;

		if (!S_ISDIR(st->st_mode))
			continue;
		p = df11_path_join(dir, t->v[i].rel);
		if (!p)
			return df11_fail_sys(-ENOMEM, "create", dir);
		if (chmod(p, st->st_mode & 07777) < 0 ||
		    utimensat(AT_FDCWD, p, ts, 0) < 0)
			rc = df11_fail_sys(-errno, "set the attributes of", p);
		free(p);
		if (rc)
			return rc;
	}
	return 0;
}
