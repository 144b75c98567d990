// SPDX-License-Identifier: MIT
/*
 * tools/official_run.c - df11 decompress and verify on an official
 * DFloat11 directory: the job list (tools/job_i.h) and the summaries
 *
 * Every virtual file of the model (official/official.h) is a source of
 * the job; decompress also copies every file the virtual listing does not
 * replace. Verify with SRC compares each chunk with the tensor of the same
 * name in SRC's *.safetensors (the layouts may differ), and with
 * --headers, where the virtual files are the originals, also each file's
 * size and header bytes with SRC's file of that name.
 *
 * Official files have no checksums: verify without SRC proves that every
 * unit decodes consistently, not that its sign/mantissa bytes are intact.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "official/official.h"
#include "tools/job_i.h"
#include "tools/official_i.h"

/* Add every virtual file of @m; with @src and --headers, a twin in SRC. */
static int add_vfiles(struct df11_job *j, struct df11_off *m,
		      const struct df11_opts *o, const char *src)
{
	for (size_t i = 0; i < df11_off_n_vfiles(m); i++) {
		const char *name = df11_off_vfile_name(m, i);
		struct df11_source *s;
		char *ref = NULL;
		int rc;

		if (src && o->headers && strcmp(name, "config.json") &&
		    !(ref = df11_path_join(src, name)))
			return df11_fail_sys(-ENOMEM, "read", name);
		rc = df11_off_source(m, i, &s);
		if (rc) {
			free(ref);
			return df11_fail_sys(rc, "read", name);
		}
		rc = df11_job_add_source(j, name, name, s, NULL, NULL, ref);
		free(ref);
		if (rc)
			return rc;
	}
	return 0;
}

/* Add every file of @t that the virtual listing does not replace. */
static int add_rest(struct df11_job *j, const struct df11_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *path;
		int rc;

		if (!S_ISREG(e->st.st_mode) ||
		    (!strchr(e->rel, '/') && df11_off_hides(e->rel)))
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

/* what the official commands build from */
struct official {
	struct df11_off *m;
	const struct df11_opts *o;
	struct df11_tree t; /* decompress: DIR; verify: SRC */
	const char *src;
};

static int build_decompress(struct df11_job *j, void *ctx)
{
	struct official *x = ctx;
	int rc = add_rest(j, &x->t);

	return rc ? rc : add_vfiles(j, x->m, x->o, NULL);
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
	return add_vfiles(j, x->m, x->o, x->src);
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
	df11_prog_printf("ok: %zu units decoded%s%s%s", df11_off_n_units(x->m),
			 src ? ", equal to '" : "", src ? src : "",
			 src ? "'" : "");
}

/* Open @dir and scan @tree, then run the command @f. */
static int run(const struct df11_opts *o, const char *dir, const char *tree,
	       const char *out, const char *src, const struct df11_front *f)
{
	struct official x = {.o = o, .src = src};
	int rc = DF11_EX_IO;

	if (!df11_off_dir_open(dir, o, false, &x.m) &&
	    (!tree || !df11_tree_scan(&x.t, tree)))
		rc = df11_job_main(o, &x.t, out, f, &x);
	df11_tree_free(&x.t);
	df11_off_free(x.m);
	return df11_status() ? df11_status() : rc;
}

int df11_off_cmd_decompress(const struct df11_opts *o, const char *dir,
			    const char *out)
{
	static const struct df11_front f = {build_decompress, decompressed};

	return run(o, dir, dir, out, NULL, &f);
}

int df11_off_cmd_verify(const struct df11_opts *o, const char *dir,
			const char *src)
{
	static const struct df11_front f = {build_verify, verified};

	return run(o, dir, src, NULL, src, &f);
}
