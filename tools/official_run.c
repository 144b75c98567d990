// SPDX-License-Identifier: MIT
/*
 * tools/official_run.c - decompress and verify an official directory
 *
 * One virtual file at a time: the worker pool pulls chunk ids from an
 * atomic counter, decodes each chunk through the file's source into the
 * worker's buffer, and writes it (decompress) or compares it with SRC
 * (verify). A chunk lies inside one tensor, so its SRC bytes are found
 * from the tensor's name (SRC's *.safetensors headers, any layout).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "official/official.h"
#include "codec/safetensors.h"
#include "tools/official_i.h"

/* a tensor of SRC */
struct sref {
	const char *name;
	int fd;
	uint64_t off, len;
};

struct owk {
	struct df11_scratch *sc;
	uint8_t *buf, *ref;
	size_t cap;
};

struct orun {
	const struct df11_opts *o;
	struct df11_off *m;
	bool verify;
	const char *out;
	struct df11_pool *pool;
	struct owk *wk;
	struct df11_input *src; /* SRC's safetensors files */
	size_t n_src;
	struct sref *refs;
	size_t n_refs;
	const char *src_dir;
	uint64_t bytes;
};

struct ofile {
	struct orun *r;
	struct df11_source *s;
	const char *name;
	struct df11_st *st; /* our header, for SRC lookups */
	uint64_t data0, n_chunks;
	int out_fd;
	_Atomic uint64_t next;
	atomic_int err;
};

static int sref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sref *)a)->name,
		      ((const struct sref *)b)->name);
}

/* Index every tensor of SRC's top-level *.safetensors by name. */
static int src_index(struct orun *r, const struct df11_tree *t)
{
	size_t cap = 0;

	r->src = calloc(t->n + 1, sizeof(*r->src));
	if (!r->src)
		return df11_fail_sys(-ENOMEM, "read", t->root);
	for (size_t i = 0; i < t->n; i++) {
		struct df11_input *in = &r->src[r->n_src];
		char *p;
		int rc;

		if (strchr(t->v[i].rel, '/') ||
		    !df11_is_safetensors(t->v[i].rel))
			continue;
		if (!(p = df11_path_join(t->root, t->v[i].rel)))
			return df11_fail_sys(-ENOMEM, "read", t->root);
		rc = df11_input_open(in, p, DF11_IN_PARSE);
		free(p);
		r->n_src++;
		if (rc)
			return rc;
		for (size_t k = 0; k < df11_st_n_tensors(in->sth); k++) {
			const struct df11_st_tensor *x =
			    df11_st_tensor(in->sth, k);

			if (r->n_refs == cap) {
				struct sref *v = realloc(
				    r->refs,
				    (cap = cap ? 2 * cap : 256) * sizeof(*v));
				if (!v)
					return df11_fail_sys(-ENOMEM, "read",
							     in->path);
				r->refs = v;
			}
			r->refs[r->n_refs++] = (struct sref){
			    x->name, in->fd, in->hdr_len + x->begin,
			    x->end - x->begin};
		}
	}
	if (r->n_refs)
		qsort(r->refs, r->n_refs, sizeof(*r->refs), sref_cmp);
	return 0;
}

/* Compare chunk [off, off + len) (in w->buf) with SRC's tensor bytes. */
static void compare(struct ofile *f, struct owk *w, uint64_t off, uint64_t len)
{
	const struct df11_st_tensor *t = NULL;
	const size_t *ord = df11_st_order(f->st);
	size_t lo = 0, hi = df11_st_n_tensors(f->st), d;
	uint64_t rel = off - f->data0;
	struct sref key, *s;

	while (lo < hi) { /* last tensor with begin <= rel */
		size_t mid = lo + (hi - lo) / 2;

		if (df11_st_tensor(f->st, ord[mid])->begin <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		t = df11_st_tensor(f->st, ord[lo - 1]);
	if (!t || rel >= t->end)
		return; /* bytes no tensor covers */
	key.name = t->name;
	s = bsearch(&key, f->r->refs, f->r->n_refs, sizeof(key), sref_cmp);
	if (!s || s->len != t->end - t->begin) {
		if (rel == t->begin)
			df11_mismatch("'%s': tensor '%s' %s '%s'", f->name,
				      t->name,
				      s ? "differs in size from" : "is not in",
				      f->r->src_dir);
		return;
	}
	if (df11_pread_full(s->fd, w->ref, (size_t)len,
			    s->off + (rel - t->begin))) {
		df11_fail_sys(-EIO, "read", f->r->src_dir);
		return;
	}
	d = df11_first_diff(w->buf, w->ref, (size_t)len);
	if (d < len)
		df11_mismatch("'%s': tensor '%s' at offset %llu: differs from "
			      "'%s'",
			      f->name, t->name, (unsigned long long)(off + d),
			      f->r->src_dir);
}

static int do_chunk(struct ofile *f, struct owk *w, uint64_t id)
{
	struct df11_chunk ck;
	char err[512] = "";
	int rc;

	f->s->ops->chunk_get(f->s, id, &ck);
	uint64_t off = ck.off, len = ck.len;
	if (len > w->cap) {
		free(w->buf);
		free(w->ref);
		w->buf = malloc((size_t)len);
		w->ref = malloc((size_t)len);
		w->cap = w->buf && w->ref ? (size_t)len : 0;
		if (!w->cap)
			return df11_fail_sys(-ENOMEM, "decode", f->name);
	}
	if (!w->sc && df11_scratch_new(&w->sc))
		return df11_fail_sys(-ENOMEM, "decode", f->name);
	rc = df11_source_read(f->s, id, w->sc, w->buf, err, sizeof(err));
	if (rc == -EBADMSG) {
		df11_mismatch("'%s': %s", f->r->src_dir ? f->name : f->name,
			      err);
		return f->r->verify ? 0 : rc;
	}
	if (rc)
		return df11_fail_codec(rc, f->name, err);
	if (f->out_fd >= 0 &&
	    (rc = df11_pwrite_full(f->out_fd, w->buf, (size_t)len, off)))
		return df11_fail_sys(rc, "write", f->name);
	if (f->r->refs && f->st)
		compare(f, w, off, len);
	df11_prog_add(len);
	return 0;
}

static void chunk_task(void *arg, unsigned worker)
{
	struct ofile *f = arg;
	struct owk *w = &f->r->wk[worker];

	while (!atomic_load(&f->err) && !df11_stopped()) {
		uint64_t id = atomic_fetch_add(&f->next, 1);
		int rc;

		if (id >= f->n_chunks)
			break;
		if ((rc = do_chunk(f, w, id)))
			atomic_store(&f->err, rc);
	}
}

/* With --headers and SRC: the header bytes equal SRC's file's. */
static void compare_prefix(struct ofile *f, const uint8_t *p, size_t n)
{
	char *path = df11_path_join(f->r->src_dir, f->name);
	uint8_t *b = malloc(n + 1);
	struct stat st;
	int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	if (fd < 0 || !b || fstat(fd, &st) < 0)
		df11_mismatch("'%s': missing from '%s'", f->name,
			      f->r->src_dir);
	else if ((uint64_t)st.st_size != f->s->ops->size(f->s) ||
		 df11_pread_full(fd, b, n, 0) || memcmp(b, p, n))
		df11_mismatch("'%s': size or header differs from '%s'", f->name,
			      path);
	if (fd >= 0)
		close(fd);
	free(b);
	free(path);
}

/* Decode (and write or compare) virtual file @i. */
static int run_vfile(struct orun *r, size_t i)
{
	struct ofile f = {.r = r, .out_fd = -1};
	const uint8_t *p;
	size_t plen;
	struct df11_chunk last;
	uint64_t size;
	char *path = NULL;
	int rc;

	f.name = df11_off_vfile_name(r->m, i);
	if ((rc = df11_off_source(r->m, i, &f.s)))
		return df11_fail_sys(rc, "read", f.name);
	size = f.s->ops->size(f.s);
	p = f.s->ops->prefix(f.s, &plen);
	f.data0 = plen;
	if (size > plen && !f.s->ops->chunk_find(f.s, size - 1, &last))
		f.n_chunks = last.id + 1;
	if (r->refs && df11_is_safetensors(f.name) && plen >= 8)
		df11_st_parse(&f.st, p + 8, plen - 8, size - plen, NULL, 0);
	if (r->refs && r->o->headers && strcmp(f.name, "config.json"))
		compare_prefix(&f, p, plen);
	if (!r->verify) {
		path = df11_path_join(r->out, f.name);
		f.out_fd =
		    path ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				0644)
			 : -1;
		if (f.out_fd < 0 || ftruncate(f.out_fd, (off_t)size) < 0 ||
		    df11_pwrite_full(f.out_fd, p, plen, 0))
			rc = df11_fail_sys(path ? -errno : -ENOMEM, "write",
					   path ? path : f.name);
	}
	df11_prog_add(plen);
	for (unsigned t = 0;
	     !rc && t < df11_pool_size(r->pool) && t < f.n_chunks; t++)
		if ((rc = df11_pool_submit(r->pool, chunk_task, &f)))
			df11_fail_sys(rc, "decode", f.name);
	df11_pool_wait(r->pool);
	if (!rc)
		rc = atomic_load(&f.err);
	if (f.out_fd >= 0 && close(f.out_fd) < 0 && !rc)
		rc = df11_fail_sys(-errno, "write", path);
	if (!rc && r->verify && !r->o->quiet)
		df11_prog_printf("ok '%s'", f.name);
	r->bytes += size;
	df11_st_free(f.st);
	df11_source_free(f.s);
	free(path);
	return df11_stopped() ? -EINTR : rc;
}

/* Copy (decompress) every file the virtual listing does not replace. */
static int copy_rest(struct orun *r, const struct df11_tree *t)
{
	int rc = df11_tree_mkdirs(t, r->out);

	for (size_t i = 0; !rc && i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *a, *b;

		if (!S_ISREG(e->st.st_mode) ||
		    (!strchr(e->rel, '/') && df11_off_hides(e->rel)))
			continue;
		a = df11_path_join(t->root, e->rel);
		b = df11_path_join(r->out, e->rel);
		rc = a && b ? df11_copy_file(a, b, &e->st)
			    : df11_fail_sys(-ENOMEM, "copy", e->rel);
		free(a);
		free(b);
	}
	return rc;
}

static int run_all(struct orun *r, const char *verb)
{
	unsigned n = r->o->threads;
	int rc = 0;

	r->wk = calloc(n, sizeof(*r->wk));
	if (!r->wk || df11_pool_new(&r->pool, n))
		return df11_fail_sys(-ENOMEM, "start", "workers");
	df11_prog_start(!r->o->quiet, verb, df11_off_n_vfiles(r->m), 0);
	for (size_t i = 0; !rc && i < df11_off_n_vfiles(r->m); i++)
		rc = run_vfile(r, i);
	df11_prog_stop();
	return rc;
}

static void run_free(struct orun *r)
{
	df11_pool_free(r->pool);
	for (unsigned i = 0; r->wk && i < r->o->threads; i++) {
		df11_scratch_free(r->wk[i].sc);
		free(r->wk[i].buf);
		free(r->wk[i].ref);
	}
	free(r->wk);
	for (size_t i = 0; i < r->n_src; i++)
		df11_input_close(&r->src[i]);
	free(r->src);
	free(r->refs);
	df11_off_free(r->m);
}

int df11_off_cmd_decompress(const struct df11_opts *o, const char *dir,
			    const char *out)
{
	struct orun r = {.o = o};
	struct df11_outdir od = {0};
	struct df11_tree t = {0};
	char a[32];
	int rc;

	rc = df11_off_dir_open(dir, o, &r.m);
	if (!rc)
		rc = df11_tree_scan(&t, dir);
	if (!rc)
		rc = df11_outdir_begin(&od, out);
	r.out = od.tmp;
	if (!rc)
		rc = copy_rest(&r, &t);
	if (!rc)
		rc = run_all(&r, "decompressing");
	if (!rc)
		rc = df11_tree_dir_attrs(&t, od.tmp);
	if (!rc)
		rc = df11_outdir_commit(&od, &t.root_st);
	if (!rc && !o->quiet)
		df11_prog_printf("decompressed official DFloat11 directory: "
				 "%zu files, %s",
				 df11_off_n_vfiles(r.m),
				 df11_human(r.bytes, a, sizeof(a)));
	if (rc && od.tmp)
		df11_outdir_abort(&od);
	run_free(&r);
	df11_tree_free(&t);
	if (rc && !df11_status())
		return DF11_EX_IO;
	return df11_status();
}

int df11_off_cmd_verify(const struct df11_opts *o, const char *dir,
			const char *src)
{
	struct orun r = {.o = o, .verify = true, .src_dir = src};
	struct df11_tree t = {0};
	int rc;

	rc = df11_off_dir_open(dir, o, &r.m);
	if (!rc && src && !(rc = df11_tree_scan(&t, src)))
		rc = src_index(&r, &t);
	if (!rc && src && !r.refs) {
		df11_fail(DF11_EX_USAGE, "'%s': no safetensors files", src);
		rc = -EINVAL;
	}
	if (!rc)
		rc = run_all(&r, "verifying");
	if (!rc && !df11_status() && !o->quiet)
		df11_prog_printf(
		    "ok: %zu units decoded%s%s%s", df11_off_n_units(r.m),
		    src ? ", equal to '" : "", src ? src : "", src ? "'" : "");
	else if (df11_mismatches())
		df11_fail(DF11_EX_MISMATCH, "verify failed: %llu mismatch%s",
			  (unsigned long long)df11_mismatches(),
			  df11_mismatches() == 1 ? "" : "es");
	run_free(&r);
	df11_tree_free(&t);
	if (rc && !df11_status())
		return DF11_EX_IO;
	return df11_status();
}
