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
 * (vae/, text_encoder/, model_index.json) copied as it is; verify checks
 * each official component as its own model (against SRC's directory of
 * the same name) and passes over the other directories, one line each.
 * Verify with SRC
 * compares each chunk with the tensor of the same name in SRC's *.safetensors
 * (the layouts may differ), and with
 * --headers, where the virtual files are the originals, also each file's
 * size and header bytes with SRC's file of that name.
 *
 * Official files have no checksums: decoding proves that every unit
 * decodes consistently, not that its sign/mantissa bytes are intact. So
 * verify first checks each *.safetensors file against the hash
 * huggingface_hub recorded for it, where there is one (official_sum.c).
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

/* Add every file of @t that the virtual listings do not replace. */
static int add_rest(struct df11_job *j, const struct df11_tree *t,
		    const struct official *x)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *path;
		int rc;

		if (!S_ISREG(e->st.st_mode) ||
		    df11_off_hidden(x->pre, x->n, e->rel))
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
	return add_vfiles(j, x->m[0], x->o, x->src, x->pre[0]);
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
	df11_prog_printf("ok: %s%s%zu units decoded%s%s%s", x->pre[0],
			 x->pre[0][0] ? "/: " : "", df11_off_n_units(x->m[0]),
			 src ? ", equal to '" : "", src ? src : "",
			 src ? "'" : "");
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

int df11_off_cmd_decompress_pipeline(const struct df11_opts *o, const char *dir,
				     const char *out)
{
	static const struct df11_front f = {build_decompress, decompressed};
	struct official x = {.o = o};
	struct df11_off_pipeline p;
	int rc = DF11_EX_IO;

	if (df11_check_outside(dir, out) ||
	    df11_off_pipeline_open(&p, dir, o, false))
		return df11_status();
	x.m = p.m;
	x.pre = p.pre;
	x.n = p.n;
	if (!df11_tree_scan(&x.t, dir))
		rc = df11_job_main(o, &x.t, out, &f, &x);
	for (size_t k = 0; !rc && k < x.n; k++) {
		char *c = df11_path_join(dir, x.pre[k]);

		df11_off_warn_note(c ? c : x.pre[k], x.m[k]);
		free(c);
	}
	df11_tree_free(&x.t);
	df11_off_pipeline_free(&p);
	return df11_status() ? df11_status() : rc;
}

int df11_off_cmd_verify_pipeline(const struct df11_opts *o, const char *dir,
				 const char *src)
{
	static const struct df11_front f = {build_verify, verified};
	struct df11_off_pipeline p;
	int rc = 0, r;

	if (df11_off_pipeline_open(&p, dir, o, false))
		return df11_status();
	for (size_t k = 0; k < p.n; k++) {
		struct official x = {
		    .m = &p.m[k], .pre = &p.pre[k], .n = 1, .o = o};
		char *s = src ? df11_path_join(src, p.pre[k]) : NULL, *c;

		if (src && !s) {
			rc = df11_fail_sys(-ENOMEM, "read", src);
			break;
		}
		x.src = s;
		r = DF11_EX_IO;
		c = df11_path_join(dir, p.pre[k]);
		if (!c)
			df11_fail_sys(-ENOMEM, "read", dir);
		else if (df11_off_sum_check(o, c) != -EINTR &&
			 (!s || !df11_tree_scan(&x.t, s)))
			r = df11_job_main(o, NULL, NULL, &f, &x);
		if (!rc)
			rc = r;
		df11_tree_free(&x.t);
		free(c);
		free(s);
		if (df11_stopped())
			break;
	}
	for (size_t k = 0; !o->quiet && k < p.n_plain; k++)
		df11_prog_printf("passed over '%s/%s': not an official "
				 "DFloat11 component",
				 dir, p.plain[k]);
	df11_off_pipeline_free(&p);
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

	if (df11_off_sum_check(o, dir) == -EINTR)
		return df11_status() ? df11_status() : DF11_EX_IO;
	return run(o, dir, src, NULL, src, &f);
}
