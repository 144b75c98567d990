// SPDX-License-Identifier: MIT
/*
 * tools/walk.c - list a model directory tree
 *
 * A model directory is small (tens of files) but may be a Hugging Face
 * cache, whose snapshot files are symbolic links into the repository's
 * blob store. df11_tree_scan() follows every link: a link to a file is
 * that file, a link to a directory is that directory, and a link back to
 * an ancestor is an error (ELOOP). df11_tree_scan_links(), which compress
 * and decompress use, decides by where a link resolves (realpath):
 *
 *   - a link that resolves inside the root is kept as a link (never
 *     descended into). A relative target that reaches the same entry when
 *     read in the output tree is written again as it is
 *     ("snapshots/<rev>/x -> ../../blobs/<sha256>"); any other (absolute,
 *     or through other links) becomes "../" for each directory level of
 *     the link, then the entry's path from the root;
 *   - a link that resolves outside the root is refused, one line each,
 *     and the walk fails with DF11_EX_UNSUPPORTED, unless
 *     DF11_WALK_FOLLOW_OUT (--follow-symlinks) asks to follow it; so is
 *     a directory link out of the root ("etc -> /etc"). One exception: a
 *     root inside a hub repository's "snapshots/" follows links into that
 *     repository's "blobs/", so that a snapshot alone compresses as it
 *     always did.
 *
 * A regular file is compressed (entry.container) when its name ends in
 * ".safetensors" or a kept link of such a name resolves to it: hub blobs
 * have no extension, the snapshot's link gives the name.
 *
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
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].rel = rel;
	t->v[t->n].st = *st;
	t->v[t->n].container = S_ISREG(st->st_mode) && df11_is_safetensors(rel);
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

/* Is @path @dir or below it? (both absolute and canonical) */
static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!dir[0] || strncmp(path, dir, n))
		return false;
	return path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/');
}

/*
 * The blob store a snapshot's links point into: for a root at or below
 * "<repo>/snapshots/", "<repo>/blobs" when that is a directory; else NULL.
 */
static char *hub_blobs(const char *real)
{
	const char *p = real, *hit = NULL;
	struct stat st;
	char *b = NULL;

	while ((p = strstr(p, "/snapshots"))) {
		if (p[10] == '/' || p[10] == '\0')
			hit = p;
		p += 10;
	}
	if (!hit || asprintf(&b, "%.*s/blobs", (int)(hit - real), real) < 0)
		return NULL;
	if (stat(b, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(b);
		return NULL;
	}
	return b;
}

/*
 * Does relative @target, read from the directory of @crel, name @dest by
 * its path alone ("a/b" + "../c" is "a/c")? Both are root-relative.
 */
static bool lexically(const char *crel, const char *target, const char *dest)
{
	char buf[2 * PATH_MAX];
	const char *c = target, *slash = strrchr(crel, '/');
	size_t n = slash ? (size_t)(slash - crel) : 0;

	if (target[0] == '/' || n >= sizeof(buf))
		return false;
	memcpy(buf, crel, n);
	buf[n] = '\0';
	for (; *c; c += strcspn(c, "/"), c += *c == '/') {
		size_t w = strcspn(c, "/");
		char *up;

		if (w == 0 || (w == 1 && c[0] == '.'))
			continue;
		if (w == 2 && c[0] == '.' && c[1] == '.') {
			if (!n)
				return false; /* above the root */
			up = strrchr(buf, '/');
			n = up ? (size_t)(up - buf) : 0;
			buf[n] = '\0';
			continue;
		}
		if (n + 1 + w >= sizeof(buf))
			return false;
		if (n)
			buf[n++] = '/';
		memcpy(buf + n, c, w);
		n += w;
		buf[n] = '\0';
	}
	return strcmp(buf, dest) == 0;
}

/* The target to write for kept link @crel -> @target, resolving to @dest. */
static char *kept_target(const char *crel, const char *target, const char *dest)
{
	size_t depth = 0, len;
	char *p;

	if (lexically(crel, target, dest))
		return strdup(target);
	for (const char *c = crel; (c = strchr(c, '/')); c++)
		depth++;
	len = 3 * depth + strlen(dest) + 2;
	p = malloc(len);
	if (!p)
		return NULL;
	p[0] = '\0';
	for (size_t i = 0; i < depth; i++)
		strcat(p, "../");
	strcat(p, *dest ? dest : depth ? "" : ".");
	len = strlen(p);
	if (len > 1 && p[len - 1] == '/')
		p[len - 1] = '\0';
	return p;
}

/*
 * What to do with entry @crel (@full) under DF11_WALK_KEEP_LINKS (see the
 * top of the file). Return: 1 when the entry is done (kept as a link, or
 * refused and reported), 0 to follow it, -errno (reported).
 */
static int link_policy(struct df11_tree *t, char *crel, const char *full)
{
	char target[PATH_MAX], *real = NULL;
	struct stat lst;
	ssize_t n;
	int rc = 0;

	if (lstat(full, &lst) < 0)
		return df11_fail_sys(-errno, "stat", full);
	if (!S_ISLNK(lst.st_mode))
		return 0;
	n = readlink(full, target, sizeof(target) - 1);
	if (n < 0)
		return df11_fail_sys(-errno, "read the link", full);
	target[n] = '\0';
	real = realpath(full, NULL);
	if (!real)
		return df11_fail_sys(-errno, "resolve", full);
	if (under(real, t->real)) {
		size_t k = strlen(t->real);
		const char *dest = real[k] ? real + k + (k > 1) : "";
		struct df11_entry *e;

		rc = add(t, crel, &lst);
		if (rc)
			goto out;
		e = &t->v[t->n - 1];
		e->link = kept_target(crel, target, dest);
		e->dest = strdup(dest);
		rc = e->link && e->dest ? 1 : -ENOMEM;
		if (rc < 0) {
			t->n--;
			free(e->link);
			free(e->dest);
			e->rel = NULL; /* the caller frees crel */
		}
	} else if ((t->flags & DF11_WALK_FOLLOW_OUT) ||
		   (t->blobs && under(real, t->blobs))) {
		rc = 0;
	} else {
		df11_fail(DF11_EX_UNSUPPORTED,
			  "'%s' is a symbolic link to '%s', outside '%s'; use "
			  "--follow-symlinks to copy what it points to",
			  full, target, t->root);
		t->refused++;
		free(crel);
		rc = 1;
	}
out:
	free(real);
	return rc;
}

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
	if (t->flags & DF11_WALK_KEEP_LINKS) {
		rc = link_policy(t, crel, full);
		if (rc == 1) { /* kept as a link, or refused */
			free(full);
			return 0;
		}
		if (rc < 0)
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

/* Mark the regular files that a kept "*.safetensors" link resolves to. */
static void mark_link_targets(struct df11_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct df11_entry *e = &t->v[i], *d;

		if (!e->link || !df11_is_safetensors(e->rel))
			continue;
		d = (struct df11_entry *)df11_tree_find(t, e->dest);
		if (d && S_ISREG(d->st.st_mode))
			d->container = true;
	}
}

int df11_tree_scan_links(struct df11_tree *t, const char *root, unsigned flags)
{
	struct ancestor me;
	int rc;

	memset(t, 0, sizeof(*t));
	t->flags = flags;
	t->root = strdup(root);
	if (!t->root)
		return df11_fail_sys(-ENOMEM, "walk", root);
	if (stat(root, &t->root_st) < 0)
		return df11_fail_sys(-errno, "open", root);
	if (!S_ISDIR(t->root_st.st_mode))
		return df11_fail_sys(-ENOTDIR, "open", root);
	if (flags & DF11_WALK_KEEP_LINKS) {
		t->real = realpath(root, NULL);
		if (!t->real)
			return df11_fail_sys(-errno, "resolve", root);
		t->blobs = hub_blobs(t->real);
	}
	me.up = NULL;
	me.dev = t->root_st.st_dev;
	me.ino = t->root_st.st_ino;
	rc = scan_dir(t, "", &me);
	if (!rc && t->refused)
		rc = -ENOTSUP; /* each one reported */
	if (rc)
		return rc;
	qsort(t->v, t->n, sizeof(*t->v), entry_cmp);
	mark_link_targets(t);
	return 0;
}

int df11_tree_scan(struct df11_tree *t, const char *root)
{
	return df11_tree_scan_links(t, root, 0);
}

void df11_tree_free(struct df11_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].rel);
		free(t->v[i].link);
		free(t->v[i].dest);
	}
	free(t->v);
	free(t->root);
	free(t->real);
	free(t->blobs);
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

int df11_tree_links(const struct df11_tree *t, const char *dir)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct stat *st = &t->v[i].st;
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		char *p;
		int rc = 0;

		if (!t->v[i].link)
			continue;
		p = df11_path_join(dir, t->v[i].rel);
		if (!p)
			return df11_fail_sys(-ENOMEM, "create", dir);
		if (symlink(t->v[i].link, p) < 0)
			rc = df11_fail_sys(-errno, "create", p);
		else if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
			rc = df11_fail_sys(-errno, "set the attributes of", p);
		free(p);
		if (rc)
			return rc;
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
