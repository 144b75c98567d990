// SPDX-License-Identifier: MIT
/*
 * tools/decompress.c - df11 decompress DST OUT and df11 verify DST [SRC]
 * on a native tree: the job list (tools/job_i.h) and the summaries
 *
 * Every container of DST becomes a source (df11_ct_source), every other
 * file a plain file of the job; a container is named "*.safetensors" or
 * recognised by its content (df11_input_sniff: hub blobs have no
 * extension). Links kept by compress are written again as links
 * (tools/walk.c); the pipeline in job.c does the rest. The
 * containers are all opened first (df11_ct_open validates the index and
 * reads the small streams): a malformed or unsupported file is reported
 * before any output exists, and the sizes are known for the progress bar.
 * Their descriptors are closed again until the pipeline gets to them.
 * Decompress stops at the first bad file; verify reports it and goes on
 * with the others. The codec checks each chunk's XXH3 checksum, so even a
 * verify without SRC catches any flipped bit of the coded data.
 */
#include <errno.h>
#include <stdlib.h>

#include "codec/container.h"
#include "tools/job_i.h"

/* Open the container of open file @in whose name gave no hint. */
static int open_blob(struct df11_input *in)
{
	char err[512] = "";
	int rc;

	rc = df11_ct_open(&in->ct, df11_pread_cb, &in->rd, in->size, err,
			  sizeof(err));
	if (rc)
		return df11_fail_codec(rc, in->path, err);
	return 0;
}

/* Add file @e of @t to @j; @ref: the file of SRC to compare with. */
static int add_file(struct df11_job *j, const struct df11_tree *t,
		    const struct df11_entry *e, const char *ref, bool verify)
{
	struct df11_source *s;
	struct df11_input *in;
	struct df11_ct *ct;
	char *path = df11_path_join(t->root, e->rel);
	int rc;

	if (!path)
		return df11_fail_sys(-ENOMEM, "read", e->rel);
	if (!df11_is_safetensors(e->rel) && !df11_input_sniff(path)) {
		rc = df11_job_add_copy(j, e->rel, path, &e->st, ref);
		free(path);
		return rc;
	}
	in = malloc(sizeof(*in));
	rc = in ? df11_input_open(in, path, DF11_IN_PARSE)
		: df11_fail_sys(-ENOMEM, "read", e->rel);
	if (!rc && !in->sth)
		rc = open_blob(in); /* a container without the name */
	if (rc || !in->ct) {
		if (in)
			df11_input_close(in);
		free(in);
		if (!rc)
			rc = df11_job_add_copy(j, e->rel, path, &e->st, ref);
		else if (verify && rc != -ENOMEM && rc != -EINTR)
			rc = 0; /* reported; verify the other files */
		free(path);
		return rc;
	}
	free(path);
	df11_input_close_fd(in); /* reopened by the pipeline */
	ct = in->ct;
	in->ct = NULL; /* the source owns it */
	rc = df11_ct_source(&s, ct, df11_pread_cb, &in->rd);
	if (rc) {
		df11_input_close(in);
		free(in);
		return df11_fail_sys(rc, "read", e->rel);
	}
	return df11_job_add_source(j, e->rel, in->path, s, in, &in->st, ref);
}

/* what the native commands build from */
struct native {
	const struct df11_tree *t, *src; /* DST, and SRC or NULL */
	const char *src_root;
	bool verify;
};

/* The job of tree t; with src, each file is compared with its SRC twin. */
static int build(struct df11_job *j, void *ctx)
{
	const struct native *n = ctx;

	for (size_t i = 0; i < n->t->n; i++) {
		const struct df11_entry *e = &n->t->v[i], *se;
		char *ref = NULL;
		int rc;

		if (!S_ISREG(e->st.st_mode))
			continue;
		if (df11_stopped())
			return -EINTR;
		se = n->src ? df11_tree_find(n->src, e->rel) : NULL;
		if (se && S_ISREG(se->st.st_mode) &&
		    !(ref = df11_path_join(n->src->root, e->rel)))
			return df11_fail_sys(-ENOMEM, "read", e->rel);
		rc = add_file(j, n->t, e, ref, n->verify);
		free(ref);
		if (rc)
			return rc;
	}
	return 0;
}

static double mbps(const struct df11_job_stats *s)
{
	return s->seconds > 0 ? (double)s->total / s->seconds / 1e6 : 0.0;
}

static void decompressed(const struct df11_job_stats *s, void *ctx)
{
	char a[32], b[32], c[32];

	(void)ctx;
	df11_prog_printf("decompressed %llu files, %s -> %s, copied %llu "
			 "files (%s), %.0f MB/s",
			 (unsigned long long)s->n_src,
			 df11_human(s->src_stored, a, sizeof(a)),
			 df11_human(s->src_size, b, sizeof(b)),
			 (unsigned long long)s->n_plain,
			 df11_human(s->plain_bytes, c, sizeof(c)), mbps(s));
}

static void verified(const struct df11_job_stats *s, void *ctx)
{
	const char *src = ((const struct native *)ctx)->src_root;
	char a[32];

	df11_prog_printf(
	    "ok: %llu containers (%s, %llu chunks), %llu other "
	    "files%s%s%s, %.0f MB/s",
	    (unsigned long long)s->n_src, df11_human(s->src_size, a, sizeof(a)),
	    (unsigned long long)s->n_chunks, (unsigned long long)s->n_plain,
	    src ? ", equal to '" : "", src ? src : "", src ? "'" : "", mbps(s));
}

#define KEEP_READ (DF11_WALK_KEEP_LINKS | DF11_WALK_FOLLOW_OUT)

static unsigned walk_flags(const struct df11_opts *o)
{
	return o->follow_symlinks ? KEEP_READ : DF11_WALK_KEEP_LINKS;
}

int df11_cmd_decompress(const struct df11_opts *o, const char *dst,
			const char *out)
{
	static const struct df11_front front = {build, decompressed};
	struct df11_tree t = {0};
	struct native n = {&t, NULL, NULL, false};
	int rc;

	if (df11_check_outside(dst, out) ||
	    df11_tree_scan_links(&t, dst, walk_flags(o)) ||
	    df11_check_native(&t, "decompress")) {
		df11_tree_free(&t);
		return df11_status();
	}
	rc = df11_job_main(o, &t, out, &front, &n);
	df11_tree_free(&t);
	return rc;
}

int df11_cmd_verify(const struct df11_opts *o, const char *dst, const char *src)
{
	static const struct df11_front front = {build, verified};
	struct df11_tree t = {0}, st = {0};
	struct native n = {&t, src ? &st : NULL, src, true};
	int rc = DF11_EX_IO;

	/* verify writes nothing: links out of the trees are only read */
	if (!df11_tree_scan_links(&t, dst, KEEP_READ) &&
	    !df11_check_native(&t, "verify") &&
	    (!src || !df11_tree_scan_links(&st, src, KEEP_READ))) {
		if (src)
			df11_trees_compare(&t, &st);
		rc = df11_job_main(o, NULL, NULL, &front, &n);
	}
	df11_tree_free(&st);
	df11_tree_free(&t);
	return df11_status() ? df11_status() : rc;
}
