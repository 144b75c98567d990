// SPDX-License-Identifier: MIT
/*
 * tools/decompress.c - df11 decompress DST OUT and df11 verify DST [SRC]:
 * the chunk-decoding engine they share
 *
 * Both commands decode every chunk of every container of DST; decompress
 * pwrites each chunk at its original offset of a new file in OUT, verify
 * writes nothing and, given SRC, compares each chunk with SRC's bytes at
 * the same offset. The codec checks each chunk's XXH3 checksum, so even a
 * verify without SRC catches any flipped bit of the coded data.
 *
 * Pass 1 (main thread) opens every container (df11_ct_open validates the
 * index and reads the small streams): a malformed or unsupported file is
 * reported before any output exists, and the sizes are known for the
 * progress bar. Pass 2 starts the files one after another; for each it
 * queues one task per worker (at most one per chunk) that pulls chunk ids
 * from an atomic counter, so fast and slow chunks balance themselves. Each
 * worker owns a decoder scratch and a chunk buffer, indexed by its pool
 * index. At most two files are in flight: the next one starts while the
 * last chunks of the previous one decode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "tools/tool_i.h"

#define FILES_IN_FLIGHT 2

struct xworker {
	struct df11_scratch *scratch;
	uint8_t *buf, *ref;
	size_t cap;
};

struct xjob {
	const struct df11_opts *o;
	bool verify;
	struct df11_tree dst, src;
	bool with_src;
	struct df11_outdir out;
	struct df11_pool *pool;
	struct df11_budget *files;
	struct xworker *wk;
	struct df11_input **ins; /* containers of dst.v[i], from pass 1 */
	bool *bad;		 /* dst.v[i] failed in pass 1 (verify) */
	atomic_bool failed;	 /* decompress: stop at the first error */
	_Atomic uint64_t n_ct, ct_size, ct_stored, n_chunks;
	uint64_t n_plain, plain_bytes, total;
};

struct xfile {
	struct xjob *j;
	const struct df11_entry *e;
	struct df11_input *in;
	char *out, *ref;
	int out_fd, ref_fd;
	uint64_t n_chunks;
	_Atomic uint64_t next;
	_Atomic size_t refs;
	atomic_int err;
	_Atomic uint64_t bad;
};

static void file_error(struct xfile *f, int rc)
{
	int zero = 0;

	atomic_compare_exchange_strong(&f->err, &zero, rc);
	if (!f->j->verify)
		atomic_store(&f->j->failed, true);
}

static int grow(struct xworker *w, uint64_t len, bool ref)
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
		w->ref = malloc(w->cap);
	return ref && !w->ref ? -ENOMEM : 0;
}

/* Compare chunk [off, off + len) of @f with SRC; report a difference. */
static int compare_chunk(struct xfile *f, struct xworker *w, uint64_t off,
			 uint64_t len, size_t seg)
{
	const struct df11_ct_seg *s = df11_ct_segment(f->in->ct, seg);
	int rc = df11_pread_full(f->ref_fd, w->ref, (size_t)len, off);
	size_t d;

	if (rc)
		return df11_fail_sys(rc, "read", f->ref);
	d = df11_first_diff(w->buf, w->ref, (size_t)len);
	if (d == len)
		return 0;
	atomic_fetch_add(&f->bad, 1);
	if (s->name)
		df11_mismatch("'%s': tensor '%s' at offset %llu: differs "
			      "from '%s'",
			      f->in->path, s->name,
			      (unsigned long long)(off + d), f->ref);
	else
		df11_mismatch("'%s': offset %llu: differs from '%s'",
			      f->in->path, (unsigned long long)(off + d),
			      f->ref);
	return 0;
}

/* Decode chunk @id of @f and write or compare it. */
static int do_chunk(struct xfile *f, struct xworker *w, uint64_t id)
{
	const struct df11_ct *ct = f->in->ct;
	uint64_t off, len;
	char err[512] = "";
	size_t seg;
	int rc;

	df11_ct_chunk_range(ct, id, &off, &len, &seg);
	rc = grow(w, len, f->ref_fd >= 0);
	if (rc)
		return df11_fail_sys(rc, "decode", f->in->path);
	rc = df11_ct_chunk_read(ct, id, df11_pread_cb, &f->in->rd, w->scratch,
				w->buf, err, sizeof(err));
	if (rc == -EBADMSG) {
		atomic_fetch_add(&f->bad, 1);
		df11_mismatch("'%s': %s", f->in->path, err);
		return f->j->verify ? 0 : rc;
	}
	if (rc == -ENOMEM)
		return df11_fail_sys(rc, "decode", f->in->path);
	if (rc)
		return df11_fail_sys(rc, "read", f->in->path);
	if (f->out_fd >= 0) {
		rc = df11_pwrite_full(f->out_fd, w->buf, (size_t)len, off);
		if (rc)
			return df11_fail_sys(rc, "write", f->out);
	}
	if (f->ref_fd >= 0) {
		rc = compare_chunk(f, w, off, len, seg);
		if (rc)
			return rc;
	}
	df11_prog_add(len);
	return 0;
}

static void file_finish(struct xfile *f)
{
	struct xjob *j = f->j;
	bool good = !atomic_load(&f->err) && !atomic_load(&f->bad) &&
		    !atomic_load(&j->failed) && !df11_stopped();
	int rc;

	if (f->out_fd >= 0) {
		rc = good ? df11_set_attrs(f->out_fd, &f->in->st) : 0;
		if (rc)
			df11_fail_sys(rc, "set the attributes of", f->out);
		if (close(f->out_fd) < 0 && good && !rc)
			rc = df11_fail_sys(-errno, "write", f->out);
		if (rc) {
			file_error(f, rc);
			good = false;
		}
	}
	if (good) {
		atomic_fetch_add(&j->n_ct, 1);
		atomic_fetch_add(&j->ct_size, df11_ct_size(f->in->ct));
		atomic_fetch_add(&j->ct_stored, f->in->size);
		atomic_fetch_add(&j->n_chunks, f->n_chunks);
		df11_prog_file();
		if (j->verify && !j->o->quiet)
			df11_prog_printf("ok '%s'", f->in->path);
	}
	if (f->ref_fd >= 0)
		close(f->ref_fd);
	df11_input_close_fd(f->in);
	df11_budget_give(j->files, 1);
	free(f->out);
	free(f->ref);
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
	struct xworker *w = &f->j->wk[worker];

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

/* Verify with SRC: open SRC's file, check its size and header bytes. */
static int open_ref(struct xfile *f)
{
	const struct df11_entry *se = df11_tree_find(&f->j->src, f->e->rel);
	size_t hlen;
	const uint8_t *hdr = df11_ct_header(f->in->ct, &hlen);
	uint8_t *buf;
	struct stat st;
	size_t d;
	int rc;

	if (!se || !S_ISREG(se->st.st_mode))
		return 0; /* reported by df11_trees_compare() */
	f->ref = df11_path_join(f->j->src.root, f->e->rel);
	if (!f->ref)
		return df11_fail_sys(-ENOMEM, "open", f->e->rel);
	f->ref_fd = open(f->ref, O_RDONLY | O_CLOEXEC);
	if (f->ref_fd < 0 || fstat(f->ref_fd, &st) < 0)
		return df11_fail_sys(-errno, "open", f->ref);
	if ((uint64_t)st.st_size != df11_ct_size(f->in->ct)) {
		df11_mismatch("'%s': size %llu differs from '%s' (%lld bytes)",
			      f->in->path,
			      (unsigned long long)df11_ct_size(f->in->ct),
			      f->ref, (long long)st.st_size);
		atomic_fetch_add(&f->bad, 1);
		close(f->ref_fd);
		f->ref_fd = -1; /* still decode and check the checksums */
		return 0;
	}
	posix_fadvise(f->ref_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(hlen);
	if (!buf)
		return df11_fail_sys(-ENOMEM, "read", f->ref);
	rc = df11_pread_full(f->ref_fd, buf, hlen, 0);
	d = rc ? 0 : df11_first_diff(hdr, buf, hlen);
	free(buf);
	if (rc)
		return df11_fail_sys(rc, "read", f->ref);
	if (d < hlen) {
		df11_mismatch("'%s': header at offset %zu: differs from '%s'",
			      f->in->path, d, f->ref);
		atomic_fetch_add(&f->bad, 1);
	}
	return 0;
}

/* Decompress: the output file, with the original header in place. */
static int open_out(struct xfile *f)
{
	uint64_t size = df11_ct_size(f->in->ct);
	size_t hlen;
	const uint8_t *hdr = df11_ct_header(f->in->ct, &hlen);
	int rc;

	f->out = df11_path_join(f->j->out.tmp, f->e->rel);
	if (!f->out)
		return df11_fail_sys(-ENOMEM, "create", f->e->rel);
	f->out_fd = open(f->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->out_fd < 0)
		return df11_fail_sys(-errno, "create", f->out);
	if (fallocate(f->out_fd, 0, 0, (off_t)size) < 0 &&
	    (errno != EOPNOTSUPP || ftruncate(f->out_fd, (off_t)size) < 0))
		return df11_fail_sys(-errno, "write", f->out);
	rc = df11_pwrite_full(f->out_fd, hdr, hlen, 0);
	if (rc)
		return df11_fail_sys(rc, "write", f->out);
	return 0;
}

/* Pass 2 for container @in of entry @e: queue its chunks. */
static int start_container(struct xjob *j, const struct df11_entry *e,
			   struct df11_input *in)
{
	struct xfile *f;
	unsigned tasks;
	size_t hlen;
	int rc;

	df11_budget_take(j->files, 1);
	f = calloc(1, sizeof(*f));
	if (!f) {
		df11_budget_give(j->files, 1);
		return df11_fail_sys(-ENOMEM, "read", in->path);
	}
	f->j = j;
	f->e = e;
	f->in = in;
	f->out_fd = f->ref_fd = -1;
	f->n_chunks = df11_ct_n_chunks(in->ct);
	atomic_init(&f->refs, 1);
	rc = df11_input_reopen(in);
	if (!rc && in->size > (1u << 20))
		posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (!rc)
		rc = j->verify ? (j->with_src ? open_ref(f) : 0) : open_out(f);
	if (!rc) {
		df11_ct_header(in->ct, &hlen);
		df11_prog_add(hlen); /* the header bytes count as done */
	}
	tasks = df11_pool_size(j->pool);
	if (tasks > f->n_chunks)
		tasks = (unsigned)f->n_chunks;
	for (unsigned t = 0; t < tasks && !rc; t++) {
		atomic_fetch_add(&f->refs, 1);
		rc = df11_pool_submit(j->pool, chunk_task, f);
		if (rc) {
			atomic_fetch_sub(&f->refs, 1);
			df11_fail_sys(rc, "decode", in->path);
		}
	}
	if (rc)
		file_error(f, rc);
	file_put(f);
	return j->verify ? 0 : rc;
}

/*
 * Pass 1: open every container of DST. Decompress stops at the first bad
 * file; verify reports it and goes on with the others.
 */
static int prepare(struct xjob *j)
{
	j->ins = calloc(j->dst.n ? j->dst.n : 1, sizeof(*j->ins));
	j->bad = calloc(j->dst.n ? j->dst.n : 1, sizeof(*j->bad));
	if (!j->ins || !j->bad)
		return df11_fail_sys(-ENOMEM, "read", j->dst.root);
	for (size_t i = 0; i < j->dst.n; i++) {
		const struct df11_entry *e = &j->dst.v[i];
		struct df11_input *in;
		char *path;
		int rc;

		if (!S_ISREG(e->st.st_mode))
			continue;
		j->total += (uint64_t)e->st.st_size;
		if (!df11_is_safetensors(e->rel))
			continue;
		if (df11_stopped())
			return -EINTR;
		in = malloc(sizeof(*in));
		path = df11_path_join(j->dst.root, e->rel);
		if (!in || !path) {
			free(in);
			free(path);
			return df11_fail_sys(-ENOMEM, "read", e->rel);
		}
		rc = df11_input_open(in, path, DF11_IN_PARSE);
		free(path);
		if (rc || !in->ct) {
			df11_input_close(in);
			free(in);
			if (rc && (!j->verify || rc == -ENOMEM || rc == -EINTR))
				return rc;
			j->bad[i] = rc != 0;
			continue;
		}
		df11_input_close_fd(in); /* reopened in pass 2 */
		j->ins[i] = in;
		j->total += df11_ct_size(in->ct) - in->size;
	}
	return 0;
}

/* A file that is not a container: copied, compared, or skipped. */
static int plain_file(struct xjob *j, const struct df11_entry *e)
{
	char *a = df11_path_join(j->dst.root, e->rel), *b = NULL;
	const struct df11_entry *se;
	int rc = 0;

	if (!a)
		return df11_fail_sys(-ENOMEM, "read", e->rel);
	if (!j->verify) {
		b = df11_path_join(j->out.tmp, e->rel);
		rc = b ? df11_copy_file(a, b, &e->st)
		       : df11_fail_sys(-ENOMEM, "copy", a);
	} else if (j->with_src && (se = df11_tree_find(&j->src, e->rel)) &&
		   S_ISREG(se->st.st_mode)) {
		b = df11_path_join(j->src.root, e->rel);
		rc = b ? df11_files_compare(a, b)
		       : df11_fail_sys(-ENOMEM, "compare", a);
		if (!rc && !j->o->quiet)
			df11_prog_printf("ok '%s'", a);
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
	free(a);
	return rc;
}

/* Pass 2 over every file of DST. */
static int run_files(struct xjob *j)
{
	for (size_t i = 0; i < j->dst.n; i++) {
		const struct df11_entry *e = &j->dst.v[i];
		int rc;

		if (df11_stopped())
			return -EINTR;
		if (atomic_load(&j->failed))
			return -EIO;
		if (!S_ISREG(e->st.st_mode))
			continue;
		if (j->ins[i])
			rc = start_container(j, e, j->ins[i]);
		else if (j->bad[i])
			continue; /* reported in pass 1 */
		else
			rc = plain_file(j, e);
		if (rc && (!j->verify || rc == -EINTR || rc == -ENOMEM)) {
			atomic_store(&j->failed, true);
			return rc;
		}
	}
	return 0;
}

/* Start the workers and run both passes' files; the caller cleans up. */
static int run(struct xjob *j, const char *verb)
{
	unsigned n = j->o->threads;
	int rc;

	j->wk = calloc(n, sizeof(*j->wk));
	if (!j->wk || df11_pool_new(&j->pool, n) ||
	    df11_budget_new(&j->files, FILES_IN_FLIGHT))
		return df11_fail_sys(-ENOMEM, "start", "workers");
	df11_prog_start(!j->o->quiet, verb, j->dst.n_files, j->total);
	rc = run_files(j);
	df11_pool_wait(j->pool);
	df11_prog_stop();
	if (df11_stopped())
		return -EINTR;
	if (!rc && atomic_load(&j->failed))
		rc = -EIO;
	return rc;
}

static void job_free(struct xjob *j)
{
	df11_pool_free(j->pool);
	for (size_t i = 0; j->ins && i < j->dst.n; i++) {
		if (j->ins[i])
			df11_input_close(j->ins[i]);
		free(j->ins[i]);
	}
	free(j->ins);
	free(j->bad);
	for (unsigned i = 0; j->wk && i < j->o->threads; i++) {
		df11_scratch_free(j->wk[i].scratch);
		free(j->wk[i].buf);
		free(j->wk[i].ref);
	}
	free(j->wk);
	df11_budget_free(j->files);
	df11_tree_free(&j->src);
	df11_tree_free(&j->dst);
}

int df11_cmd_decompress(const struct df11_opts *o, const char *dst,
			const char *out)
{
	struct xjob j = {.o = o};
	char a[32], b[32], c[32];
	double secs;
	int rc;

	rc = df11_tree_scan(&j.dst, dst);
	if (!rc)
		rc = prepare(&j);
	if (!rc)
		rc = df11_outdir_begin(&j.out, out);
	if (!rc)
		rc = df11_tree_mkdirs(&j.dst, j.out.tmp);
	if (!rc)
		rc = run(&j, "decompressing");
	if (!rc)
		rc = df11_tree_dir_attrs(&j.dst, j.out.tmp);
	if (!rc)
		rc = df11_outdir_commit(&j.out, &j.dst.root_st);
	secs = df11_prog_seconds();
	if (!rc && !o->quiet)
		df11_prog_printf(
		    "decompressed %llu files, %s -> %s, copied %llu files "
		    "(%s), %.0f MB/s",
		    (unsigned long long)j.n_ct,
		    df11_human(j.ct_stored, a, sizeof(a)),
		    df11_human(j.ct_size, b, sizeof(b)),
		    (unsigned long long)j.n_plain,
		    df11_human(j.plain_bytes, c, sizeof(c)),
		    secs > 0 ? (double)j.total / secs / 1e6 : 0.0);
	df11_pool_free(j.pool);
	j.pool = NULL;
	if (rc)
		df11_outdir_abort(&j.out);
	job_free(&j);
	if (rc && !df11_status())
		return DF11_EX_IO; /* interrupted: main() raises the signal */
	return df11_status();
}

int df11_cmd_verify(const struct df11_opts *o, const char *dst, const char *src)
{
	struct xjob j = {.o = o, .verify = true, .with_src = src != NULL};
	char a[32];
	double secs;
	int rc;

	rc = df11_tree_scan(&j.dst, dst);
	if (!rc && src)
		rc = df11_tree_scan(&j.src, src);
	if (rc)
		goto out;
	if (src)
		df11_trees_compare(&j.dst, &j.src);
	rc = prepare(&j);
	if (!rc)
		rc = run(&j, "verifying");
	secs = df11_prog_seconds();
	if (!rc && !df11_status() && !o->quiet)
		df11_prog_printf("ok: %llu containers (%s, %llu chunks), %llu "
				 "other files%s%s%s, %.0f MB/s",
				 (unsigned long long)j.n_ct,
				 df11_human(j.ct_size, a, sizeof(a)),
				 (unsigned long long)j.n_chunks,
				 (unsigned long long)j.n_plain,
				 src ? ", equal to '" : "", src ? src : "",
				 src ? "'" : "",
				 secs > 0 ? (double)j.total / secs / 1e6 : 0.0);
	else if (df11_mismatches())
		df11_fail(DF11_EX_MISMATCH, "verify failed: %llu mismatch%s",
			  (unsigned long long)df11_mismatches(),
			  df11_mismatches() == 1 ? "" : "es");
out:
	job_free(&j);
	if (rc && !df11_status())
		return DF11_EX_IO;
	return df11_status();
}
