// SPDX-License-Identifier: MIT
/*
 * tools/official_run.c - df11 decompress and verify on an official
 * DFloat11 directory: the job list (tools/job_i.h) and the summaries
 *
 * Every virtual file of the model (official/official.h) is a source of
 * the job; decompress also copies every file the virtual listing does not
 * replace. A diffusers pipeline folder (model_index.json next to
 * component directories) is decompressed whole: each official component
 * (transformer/ ...) as its own model below its name, every other file
 * (vae/, text_encoder/, model_index.json) copied as it is. Verify with SRC
 * compares each chunk with the tensor of the same name in SRC's *.safetensors
 * (the layouts may differ), and with
 * --headers, where the virtual files are the originals, also each file's
 * size and header bytes with SRC's file of that name.
 *
 * Official files have no checksums: verify without SRC proves that every
 * unit decodes consistently, not that its sign/mantissa bytes are intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "official/official.h"
#include "store/store.h"
#include "tools/job_i.h"
#include "tools/official_i.h"

/*
 * Add every virtual file of @m, as @pre (a component's "name/", or "")
 * followed by its name; with @src and --headers, a twin in SRC.
 */
static int add_vfiles(struct df11_job *j, struct df11_off *m,
		      const struct df11_opts *o, const char *src,
		      const char *pre)
{
	for (size_t i = 0; i < df11_off_n_vfiles(m); i++) {
		const char *name = df11_off_vfile_name(m, i);
		struct df11_source *s;
		char *ref = NULL, *rel = NULL;
		int rc;

		if (src && o->headers && strcmp(name, "config.json") &&
		    !(ref = df11_path_join(src, name)))
			return df11_fail_sys(-ENOMEM, "read", name);
		if (*pre && !(rel = df11_path_join(pre, name))) {
			free(ref);
			return df11_fail_sys(-ENOMEM, "read", name);
		}
		rc = df11_off_source(m, i, &s);
		if (rc) {
			free(ref);
			free(rel);
			return df11_fail_sys(rc, "read", name);
		}
		rc = df11_job_add_source(j, rel ? rel : name, rel ? rel : name,
					 s, NULL, NULL, ref);
		free(ref);
		free(rel);
		if (rc)
			return rc;
	}
	return 0;
}

/* what the official commands build from */
struct official {
	struct df11_off **m; /* one model, or a pipeline's components */
	char **pre;	     /* each one's directory below DIR ("": DIR) */
	size_t n;
	const struct df11_opts *o;
	struct df11_tree t; /* decompress: DIR; verify: SRC */
	const char *src;
};

/* Is @rel a file that the virtual listing of one of @x's models hides? */
static int hidden(const struct official *x, const char *rel)
{
	for (size_t k = 0; k < x->n; k++) {
		size_t l = strlen(x->pre[k]);
		const char *r = rel + l + (l > 0);

		if (l && (strncmp(rel, x->pre[k], l) || rel[l] != '/'))
			continue;
		if (!strchr(r, '/') && df11_off_hides(r))
			return 1;
	}
	return 0;
}

/* Add every file of @t that the virtual listings do not replace. */
static int add_rest(struct df11_job *j, const struct df11_tree *t,
		    const struct official *x)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *path;
		int rc;

		if (!S_ISREG(e->st.st_mode) || hidden(x, e->rel))
			continue;
		path = df11_path_join(t->root, e->rel);
		rc = path ? df11_job_add_copy(j, e->rel, path, &e->st, NULL)
			  : df11_fail_sys(-ENOMEM, "copy", e->rel);
		free(path);
		if (rc)
			return rc;
	}
	return 0;
}

static int build_decompress(struct df11_job *j, void *ctx)
{
	struct official *x = ctx;
	int rc = add_rest(j, &x->t, x);

	for (size_t k = 0; !rc && k < x->n; k++)
		rc = add_vfiles(j, x->m[k], x->o, NULL, x->pre[k]);
	return rc;
}

static int build_verify(struct df11_job *j, void *ctx)
{
	struct official *x = ctx;
	long n;

	if (x->src) {
		n = df11_job_index(j, &x->t);
		if (n < 0)
			return (int)n;
		if (!n) {
			df11_fail(DF11_EX_USAGE, "'%s': no safetensors files",
				  x->src);
			return -EINVAL;
		}
	}
	return add_vfiles(j, x->m[0], x->o, x->src, "");
}

static void decompressed(const struct df11_job_stats *s, void *ctx)
{
	char a[32];

	(void)ctx;
	df11_prog_printf("decompressed official DFloat11 directory: %llu "
			 "files, %s",
			 (unsigned long long)s->n_src,
			 df11_human(s->src_size, a, sizeof(a)));
}

static void verified(const struct df11_job_stats *s, void *ctx)
{
	const struct official *x = ctx;
	const char *src = x->src;

	(void)s;
	df11_prog_printf("ok: %zu units decoded%s%s%s",
			 df11_off_n_units(x->m[0]), src ? ", equal to '" : "",
			 src ? src : "", src ? "'" : "");
}

/* Open @dir and scan @tree, then run the command @f. */
static int run(const struct df11_opts *o, const char *dir, const char *tree,
	       const char *out, const char *src, const struct df11_front *f)
{
	static char empty[] = "";
	struct df11_off *m = NULL;
	char *pre = empty;
	struct official x = {.m = &m, .pre = &pre, .n = 1, .o = o, .src = src};
	int rc = DF11_EX_IO;

	if (!df11_off_dir_open(dir, o, false, &m) &&
	    (!tree || !df11_tree_scan(&x.t, tree)))
		rc = df11_job_main(o, &x.t, out, f, &x);
	if (!rc && out)
		df11_off_warn_note(dir, m);
	df11_tree_free(&x.t);
	df11_off_free(m);
	return df11_status() ? df11_status() : rc;
}

/* @dir/@name is a directory, official (1), not (0), or reported (< 0) */
static int component(const char *dir, const char *name)
{
	char *p = df11_path_join(dir, name);
	struct stat st;
	int r = 0;

	if (!p)
		return df11_fail_sys(-ENOMEM, "read", dir);
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		r = df11_off_dir_probe(p);
	free(p);
	return r;
}

/* the entries of directory @dir (df11_store_list), reported */
static int list(const char *dir, struct df11_store_name **v, size_t *n)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	*v = NULL;
	*n = 0;
	if (fd < 0)
		return df11_fail_sys(-errno, "list", dir);
	rc = df11_store_list(fd, v, n);
	close(fd);
	return rc ? df11_fail_sys(rc, "list", dir) : 0;
}

int df11_off_pipeline_probe(const char *dir)
{
	char *idx = df11_path_join(dir, "model_index.json");
	struct df11_store_name *v = NULL;
	struct stat st;
	size_t n = 0;
	int r = 0, c;

	if (!idx || stat(idx, &st) || !S_ISREG(st.st_mode)) {
		free(idx);
		return 0;
	}
	free(idx);
	if (list(dir, &v, &n))
		return -1;
	for (size_t i = 0; i < n && r >= 0; i++)
		if ((c = component(dir, v[i].name)) != 0)
			r = c < 0 ? -1 : 1;
	df11_store_list_free(v, n);
	return r;
}

int df11_off_cmd_decompress_pipeline(const struct df11_opts *o, const char *dir,
				     const char *out)
{
	static const struct df11_front f = {build_decompress, decompressed};
	struct official x = {.o = o};
	struct df11_store_name *v = NULL;
	int rc = DF11_EX_IO;
	size_t n = 0;

	if (list(dir, &v, &n))
		return df11_status();
	x.m = calloc(n + 1, sizeof(*x.m));
	x.pre = calloc(n + 1, sizeof(*x.pre));
	if (!x.m || !x.pre) {
		df11_fail_sys(-ENOMEM, "read", dir);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *p;

		if (component(dir, v[i].name) <= 0)
			continue;
		if (!(p = df11_path_join(dir, v[i].name)) ||
		    !(x.pre[x.n] = strdup(v[i].name))) {
			free(p);
			df11_fail_sys(-ENOMEM, "read", dir);
			goto out;
		}
		rc = df11_off_dir_open(p, o, false, &x.m[x.n]);
		free(p);
		x.n++;
		if (rc)
			goto out;
	}
	rc = DF11_EX_IO;
	if (!df11_tree_scan(&x.t, dir))
		rc = df11_job_main(o, &x.t, out, &f, &x);
	for (size_t k = 0; !rc && k < x.n; k++) {
		char *p = df11_path_join(dir, x.pre[k]);

		df11_off_warn_note(p ? p : x.pre[k], x.m[k]);
		free(p);
	}
out:
	df11_tree_free(&x.t);
	for (size_t k = 0; k < x.n; k++) {
		df11_off_free(x.m[k]);
		free(x.pre[k]);
	}
	free(x.m);
	free(x.pre);
	df11_store_list_free(v, n);
	return df11_status() ? df11_status() : rc;
}

int df11_off_cmd_decompress(const struct df11_opts *o, const char *dir,
			    const char *out)
{
	static const struct df11_front f = {build_decompress, decompressed};

	if (df11_check_outside(dir, out))
		return df11_status();
	return run(o, dir, dir, out, NULL, &f);
}

int df11_off_cmd_verify(const struct df11_opts *o, const char *dir,
			const char *src)
{
	static const struct df11_front f = {build_verify, verified};

	return run(o, dir, src, NULL, src, &f);
}
