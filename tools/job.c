// SPDX-License-Identifier: MIT
/*
 * tools/job.c - df11 decompress and verify: one pipeline over sources
 *
 * A job is a list of files (tools/job_i.h). Plain files are copied or
 * compared on the main thread, in list order. A source is decoded chunk
 * by chunk: its prefix bytes (a safetensors header) are written first,
 * then the pool gets one task per worker (at most one per chunk) that
 * pulls chunk ids from an atomic counter, so fast and slow chunks balance
 * themselves; each chunk is read with df11_source_read() (the source
 * checks it: a checksum where the format has one) into the worker's
 * buffer and pwritten at its offset (decompress) or compared with SRC
 * (verify, job_ref.c). Each worker owns a decoder scratch and two chunk
 * buffers, indexed by its pool index. At most FILES_IN_FLIGHT files are
 * in flight: the next one starts while the last chunks of the previous
 * one decode; the last task to end finishes the file (attributes, close,
 * counts, "ok" line).
 *
 * Decompress writes into a temporary sibling directory of OUT that is
 * renamed into place only when every file is complete (struct
 * df11_outdir), and stops at the first error; verify reports every error
 * and mismatch and goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/job_i.h"

#define FILES_IN_FLIGHT 2

struct jentry {
	char *rel;   /* path below OUT */
	char *label; /* name in messages */
	char *path;  /* a plain file: the file itself */
	char *ref;   /* SRC's file to compare with, or NULL */
	struct stat st;
	bool attrs; /* give the output @st's mode and times */
	struct df11_source *src;
	struct df11_input *in;
};

struct jworker {
	struct df11_scratch *scratch;
	uint8_t *buf, *ref;
	size_t cap;
};

struct df11_job {
	const struct df11_opts *o;
	bool verify;
	struct jentry *v;
	size_t n, cap;
	struct df11_refs *names; /* by-name compare, or NULL */
	const char *out;	 /* the temporary output directory */
	struct df11_pool *pool;
	struct df11_budget *files;
	struct jworker *wk;
	unsigned n_wk;
	atomic_bool failed; /* decompress: stop at the first error */
	_Atomic uint64_t n_src, src_size, src_stored, n_chunks;
	uint64_t n_plain, plain_bytes, total;
	double seconds;
};

/* a source in flight */
struct xfile {
	struct df11_job *j;
	const struct jentry *e;
	struct df11_st *st; /* its header, to name tensors in reports */
	char *out;
	int out_fd, ref_fd;
	uint64_t size, data0, n_chunks;
	_Atomic uint64_t next;
	_Atomic size_t refs;
	atomic_int err;
	_Atomic uint64_t bad;
};

static int job_new(struct df11_job **out, const struct df11_opts *o,
		   bool verify)
{
	struct df11_job *j = calloc(1, sizeof(*j));

	*out = NULL;
	if (!j)
		return df11_fail_sys(-ENOMEM, "start", "workers");
	j->o = o;
	j->verify = verify;
	*out = j;
	return 0;
}

static int add(struct df11_job *j, const char *rel, const char *label,
	       const char *path, const char *ref, struct jentry **out)
{
	struct jentry *e;

	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 64;
		struct jentry *v = realloc(j->v, cap * sizeof(*v));

		if (!v)
			return df11_fail_sys(-ENOMEM, "read", label);
		j->v = v;
		j->cap = cap;
	}
	e = &j->v[j->n];
	memset(e, 0, sizeof(*e));
	e->rel = strdup(rel);
	e->label = strdup(label);
	e->path = path ? strdup(path) : NULL;
	e->ref = ref ? strdup(ref) : NULL;
	j->n++; /* freed with the job, complete or not */
	if (!e->rel || !e->label || (path && !e->path) || (ref && !e->ref))
		return df11_fail_sys(-ENOMEM, "read", label);
	*out = e;
	return 0;
}

int df11_job_add_copy(struct df11_job *j, const char *rel, const char *path,
		      const struct stat *st, const char *ref)
{
	struct jentry *e;
	int rc = add(j, rel, path, path, ref, &e);

	if (rc)
		return rc;
	e->st = *st;
	e->attrs = true;
	j->total += (uint64_t)st->st_size;
	return 0;
}

int df11_job_add_source(struct df11_job *j, const char *rel, const char *label,
			struct df11_source *s, struct df11_input *in,
			const struct stat *attrs, const char *ref)
{
	struct jentry *e;
	int rc = add(j, rel, label, NULL, ref, &e);

	if (rc) {
		df11_source_free(s);
		if (in)
			df11_input_close(in);
		free(in);
		return rc;
	}
	e->src = s;
	e->in = in;
	if (attrs) {
		e->st = *attrs;
		e->attrs = true;
	}
	j->total += s->ops->size(s);
	return 0;
}

long df11_job_index(struct df11_job *j, const struct df11_tree *src)
{
	int rc = df11_refs_new(&j->names, src);

	return rc ? rc : (long)df11_refs_count(j->names);
}

static void file_error(struct xfile *f, int rc)
{
	int zero = 0;

	atomic_compare_exchange_strong(&f->err, &zero, rc);
	if (!f->j->verify)
		atomic_store(&f->j->failed, true);
}

static int grow(struct jworker *w, uint64_t len, bool ref)
{
	if (!w->scratch && df11_scratch_new(&w->scratch))
		return -ENOMEM;
	if (len > w->cap) {
		free(w->buf);
		free(w->ref);
		w->ref = NULL;
		w->cap = 0;
		w->buf = malloc((size_t)len);
		if (!w->buf)
			return -ENOMEM;
		w->cap = (size_t)len;
	}
	if (ref && !w->ref)
		w->ref = malloc(w->cap ? w->cap : 1);
	return ref && !w->ref ? -ENOMEM : 0;
}

/* Compare chunk [off, off + len) of @f, in w->buf, with SRC. */
static int compare_chunk(struct xfile *f, struct jworker *w, uint64_t off,
			 uint64_t len)
{
	const struct df11_job *j = f->j;
	int rc = 0;

	if (j->names)
		rc = df11_refs_compare(j->names, f->e->label, f->st, f->data0,
				       w->buf, w->ref, off, len);
	else if (f->ref_fd >= 0)
		rc = df11_ref_compare(f->ref_fd, f->e->ref, f->e->label, f->st,
				      f->data0, w->buf, w->ref, off, len);
	if (rc > 0)
		atomic_fetch_add(&f->bad, 1);
	return rc < 0 ? rc : 0;
}

/* Decode chunk @id of @f and write or compare it. */
static int do_chunk(struct xfile *f, struct jworker *w, uint64_t id)
{
	const struct df11_source *s = f->e->src;
	bool cmp = f->ref_fd >= 0 || (f->j->names && f->st);
	char err[512] = "";
	struct df11_chunk c;
	int rc;

	s->ops->chunk_get(s, id, &c);
	rc = grow(w, c.len, cmp);
	if (rc)
		return df11_fail_sys(rc, "decode", f->e->label);
	rc = df11_source_read(s, id, w->scratch, w->buf, err, sizeof(err));
	if (rc == -EBADMSG) {
		atomic_fetch_add(&f->bad, 1);
		df11_mismatch("'%s': %s", f->e->label, err);
		return f->j->verify ? 0 : rc;
	}
	if (rc == -ENOMEM)
		return df11_fail_sys(rc, "decode", f->e->label);
	if (rc)
		return err[0] ? df11_fail_codec(rc, f->e->label, err)
			      : df11_fail_sys(rc, "read", f->e->label);
	if (f->out_fd >= 0) {
		rc = df11_pwrite_full(f->out_fd, w->buf, (size_t)c.len, c.off);
		if (rc)
			return df11_fail_sys(rc, "write", f->out);
	}
	if (cmp && (rc = compare_chunk(f, w, c.off, c.len)))
		return rc;
	df11_prog_add(c.len);
	return 0;
}

static void file_finish(struct xfile *f)
{
	struct df11_job *j = f->j;
	const struct jentry *e = f->e;
	bool good = !atomic_load(&f->err) && !atomic_load(&f->bad) &&
		    !atomic_load(&j->failed) && !df11_stopped();
	int rc = 0;

	if (f->out_fd >= 0) {
		rc = good && e->attrs ? df11_set_attrs(f->out_fd, &e->st) : 0;
		if (rc)
			df11_fail_sys(rc, "set the attributes of", f->out);
		else if (good && fsync(f->out_fd) < 0) /* before the rename */
			rc = df11_fail_sys(-errno, "write", f->out);
		if (close(f->out_fd) < 0 && good && !rc)
			rc = df11_fail_sys(-errno, "write", f->out);
		if (rc) {
			file_error(f, rc);
			good = false;
		}
	}
	if (good) {
		atomic_fetch_add(&j->n_src, 1);
		atomic_fetch_add(&j->src_size, f->size);
		atomic_fetch_add(&j->src_stored, e->src->ops->stored(e->src));
		atomic_fetch_add(&j->n_chunks, f->n_chunks);
		df11_prog_file();
		if (j->verify && !j->o->quiet)
			df11_prog_printf("ok '%s'", e->label);
	}
	if (f->ref_fd >= 0)
		close(f->ref_fd);
	if (e->in)
		df11_input_close_fd(e->in);
	df11_budget_give(j->files, 1);
	df11_st_free(f->st);
	free(f->out);
	free(f);
}

static void file_put(struct xfile *f)
{
	if (atomic_fetch_sub(&f->refs, 1) == 1)
		file_finish(f);
}

static void chunk_task(void *arg, unsigned worker)
{
	struct xfile *f = arg;
	struct jworker *w = &f->j->wk[worker];

	while (!atomic_load(&f->err) && !atomic_load(&f->j->failed) &&
	       !df11_stopped()) {
		uint64_t id = atomic_fetch_add(&f->next, 1);
		int rc;

		if (id >= f->n_chunks)
			break;
		rc = do_chunk(f, w, id);
		if (rc)
			file_error(f, rc);
	}
	file_put(f);
}

/* Decompress: the output file, with the prefix bytes in place. */
static int open_out(struct xfile *f, const uint8_t *p, size_t plen)
{
	int rc;

	f->out = df11_path_join(f->j->out, f->e->rel);
	if (!f->out)
		return df11_fail_sys(-ENOMEM, "create", f->e->rel);
	f->out_fd = open(f->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			 f->e->attrs ? 0600 : 0644);
	if (f->out_fd < 0)
		return df11_fail_sys(-errno, "create", f->out);
	if (fallocate(f->out_fd, 0, 0, (off_t)f->size) < 0 &&
	    (errno != EOPNOTSUPP || ftruncate(f->out_fd, (off_t)f->size) < 0))
		return df11_fail_sys(-errno, "write", f->out);
	rc = df11_pwrite_full(f->out_fd, p, plen, 0);
	if (rc)
		return df11_fail_sys(rc, "write", f->out);
	return 0;
}

/* Verify with SRC: the header to name tensors, SRC's file to compare. */
static int open_ref(struct xfile *f, const uint8_t *p, size_t plen)
{
	int rc = 0;

	if (df11_is_safetensors(f->e->rel) && plen >= 8)
		df11_st_parse(&f->st, p + 8, plen - 8, f->size - plen, NULL, 0);
	if (f->e->ref)
		rc = df11_ref_open(f->e->ref, f->e->label, f->size, p, plen,
				   &f->ref_fd);
	if (rc > 0)
		atomic_fetch_add(&f->bad, 1);
	return rc < 0 ? rc : 0;
}

/* Start source @e: open its output or its reference, queue its chunks. */
static int start_source(struct df11_job *j, const struct jentry *e)
{
	const struct df11_source *s = e->src;
	struct df11_chunk last;
	const uint8_t *p;
	struct xfile *f;
	size_t plen;
	int rc = 0;

	df11_budget_take(j->files, 1);
	f = calloc(1, sizeof(*f));
	if (!f) {
		df11_budget_give(j->files, 1);
		return df11_fail_sys(-ENOMEM, "read", e->label);
	}
	f->j = j;
	f->e = e;
	f->out_fd = f->ref_fd = -1;
	f->size = s->ops->size(s);
	p = s->ops->prefix(s, &plen);
	f->data0 = plen;
	if (f->size > plen && !s->ops->chunk_find(s, f->size - 1, &last))
		f->n_chunks = last.id + 1;
	atomic_init(&f->refs, 1);
	if (e->in && !(rc = df11_input_reopen(e->in)) &&
	    e->in->size > (1u << 20))
		posix_fadvise(e->in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!rc)
		rc = j->verify ? (e->ref || j->names ? open_ref(f, p, plen) : 0)
			       : open_out(f, p, plen);
	if (!rc)
		df11_prog_add(plen); /* the prefix bytes count as done */
	for (uint64_t t = 0;
	     t < df11_pool_size(j->pool) && t < f->n_chunks && !rc; t++) {
		atomic_fetch_add(&f->refs, 1);
		rc = df11_pool_submit(j->pool, chunk_task, f);
		if (rc) {
			atomic_fetch_sub(&f->refs, 1);
			df11_fail_sys(rc, "decode", e->label);
		}
	}
	if (rc)
		file_error(f, rc);
	file_put(f);
	return j->verify ? 0 : rc;
}

/* A plain file: copied, compared, or only counted. */
static int plain_file(struct df11_job *j, const struct jentry *e)
{
	char *b = NULL;
	int rc = 0;

	if (!j->verify) {
		b = df11_path_join(j->out, e->rel);
		rc = b ? df11_copy_file(e->path, b, &e->st)
		       : df11_fail_sys(-ENOMEM, "copy", e->path);
	} else if (e->ref) {
		rc = df11_files_compare(e->path, e->ref);
		if (!rc && !j->o->quiet)
			df11_prog_printf("ok '%s'", e->label);
		if (rc > 0)
			rc = 0; /* a mismatch: reported, go on */
	} else {
		df11_prog_add((uint64_t)e->st.st_size);
	}
	if (!rc) {
		j->n_plain++;
		j->plain_bytes += (uint64_t)e->st.st_size;
		df11_prog_file();
	}
	free(b);
	return rc;
}

/* Every file of the list, in order. */
static int run_files(struct df11_job *j)
{
	for (size_t i = 0; i < j->n; i++) {
		const struct jentry *e = &j->v[i];
		int rc;

		if (df11_stopped())
			return -EINTR;
		if (atomic_load(&j->failed))
			return -EIO;
		rc = e->src ? start_source(j, e) : plain_file(j, e);
		if (rc && (!j->verify || rc == -EINTR || rc == -ENOMEM)) {
			atomic_store(&j->failed, true);
			return rc;
		}
	}
	return 0;
}

/* Start the workers and run the files; the caller cleans up. */
static int run(struct df11_job *j, const char *verb)
{
	unsigned n = j->o->threads;
	int rc;

	j->wk = calloc(n, sizeof(*j->wk));
	if (!j->wk || df11_pool_new(&j->pool, n) ||
	    df11_budget_new(&j->files, FILES_IN_FLIGHT))
		return df11_fail_sys(-ENOMEM, "start", "workers");
	j->n_wk = n;
	df11_prog_start(!j->o->quiet, verb, j->n, j->total);
	rc = run_files(j);
	df11_pool_wait(j->pool);
	df11_prog_stop();
	j->seconds = df11_prog_seconds();
	if (df11_stopped())
		return -EINTR;
	if (!rc && atomic_load(&j->failed))
		rc = -EIO;
	return rc;
}

static int job_run(struct df11_job *j, const struct df11_tree *dirs,
		   const char *out)
{
	struct df11_outdir od = {0};
	int rc;

	if (!out)
		return run(j, "verifying");
	rc = df11_outdir_begin(&od, out);
	if (rc)
		return rc;
	j->out = od.tmp;
	rc = df11_tree_mkdirs(dirs, od.tmp);
	if (!rc)
		rc = run(j, "decompressing");
	if (!rc)
		rc = df11_tree_links(dirs, od.tmp);
	if (!rc)
		rc = df11_tree_dir_attrs(dirs, od.tmp);
	if (!rc)
		rc = df11_outdir_commit(&od, &dirs->root_st);
	df11_pool_free(j->pool); /* every file closed */
	j->pool = NULL;
	j->out = NULL;
	if (rc)
		df11_outdir_abort(&od);
	return rc;
}

static void job_stats(const struct df11_job *j, struct df11_job_stats *st)
{
	*st = (struct df11_job_stats){atomic_load(&j->n_src),
				      atomic_load(&j->src_size),
				      atomic_load(&j->src_stored),
				      atomic_load(&j->n_chunks),
				      j->n_plain,
				      j->plain_bytes,
				      j->total,
				      j->seconds};
}

static void job_free(struct df11_job *j)
{
	if (!j)
		return;
	df11_pool_free(j->pool);
	for (size_t i = 0; i < j->n; i++) {
		struct jentry *e = &j->v[i];

		df11_source_free(e->src);
		if (e->in)
			df11_input_close(e->in);
		free(e->in);
		free(e->rel);
		free(e->label);
		free(e->path);
		free(e->ref);
	}
	free(j->v);
	for (unsigned i = 0; j->wk && i < j->n_wk; i++) {
		df11_scratch_free(j->wk[i].scratch);
		free(j->wk[i].buf);
		free(j->wk[i].ref);
	}
	free(j->wk);
	df11_budget_free(j->files);
	df11_refs_free(j->names);
	free(j);
}

int df11_job_main(const struct df11_opts *o, const struct df11_tree *dirs,
		  const char *out, const struct df11_front *f, void *ctx)
{
	struct df11_job_stats st;
	struct df11_job *j;
	int rc;

	rc = job_new(&j, o, out == NULL);
	if (!rc)
		rc = f->build(j, ctx);
	if (!rc)
		rc = job_run(j, dirs, out);
	if (!rc && !o->quiet && (out || !df11_status())) {
		job_stats(j, &st);
		f->summary(&st, ctx);
	} else if (!out && df11_mismatches()) {
		df11_fail(DF11_EX_MISMATCH, "verify failed: %llu mismatch%s",
			  (unsigned long long)df11_mismatches(),
			  df11_mismatches() == 1 ? "" : "es");
	}
	job_free(j);
	if (rc && !df11_status())
		return DF11_EX_IO; /* interrupted: main() raises the signal */
	return df11_status();
}
