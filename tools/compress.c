// SPDX-License-Identifier: MIT
/*
 * tools/compress.c - df11 compress SRC DST
 *
 * Every "*.safetensors" file of SRC becomes a df11 container of the same
 * name (docs/FORMAT.md); every other file is copied byte for byte, with its
 * mode bits and times. DST is built in "DST.df11-tmp.<pid>" and renamed into
 * place at the end, every file and directory fsynced before, so a DST that
 * exists is complete.
 *
 * Symbolic links (tools/walk.c): a link that resolves inside SRC is
 * written again as a link (the same relative target; an absolute one made
 * relative), and a regular file that such a link named "*.safetensors"
 * resolves to is compressed under its own name. A Hugging Face cache
 * ("models--org--name/" or the folder holding several) so keeps its layout:
 * every blob once, containers for the blobs that snapshots name
 * "*.safetensors", snapshots/ links and refs/ as they are. Links that resolve
 * outside SRC are refused before any work starts, unless --follow-symlinks.
 *
 * A container is built in three steps:
 *
 *   1. the main thread reads the header, plans the segments (df11_ctw_new)
 *      and queues one task per segment;
 *   2. a worker preads the segment's bytes and encodes them; the codec
 *      appends the coded streams through a callback that reserves space in
 *      a temporary data file with an atomic add and pwrites there, so
 *      workers never wait for each other;
 *   3. whoever ends the file's last segment places the streams in plan
 *      order (df11_ctw_pack), writes the outer header (df11_ctw_header)
 *      and copies the streams behind it in that order (copy_file_range:
 *      a clone on reflink filesystems; one copy per run of streams that
 *      the data file already holds in order).
 *
 * Files overlap: the main thread goes on to the next file (or copies plain
 * files) while workers encode, so the pool does not drain at every file
 * boundary. Two budgets bound the work in flight:
 *
 *   - bytes of segment input: at most 1/8 of physical memory, clamped to
 *     [64 MiB, 1 GiB]. The encoder needs about 1.5 x its input again for
 *     its streams, so peak memory stays near 2.5 x the budget. A segment
 *     larger than the budget waits until nothing else is in flight and
 *     then runs alone.
 *   - files open at once: threads + 2 (three descriptors each).
 *
 * Workers append streams to the data file in the order they finish; the
 * container holds them in plan order, so its bytes depend on the input
 * alone: the same for every -j and every schedule.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/safetensors.h"
#include "tools/tool_i.h"

#define BUDGET_MIN (64ull << 20)
#define BUDGET_MAX (1ull << 30)

struct cjob {
	const struct df11_opts *o;
	struct df11_tree src;
	struct df11_outdir out;
	struct df11_pool *pool;
	struct df11_budget *bytes; /* segment input bytes in flight */
	struct df11_budget *files; /* containers being built */
	atomic_bool failed;
	_Atomic uint64_t n_ct, ct_in, ct_out; /* containers written */
	uint64_t n_copied, copied;	      /* plain files */
};

struct cfile {
	struct cjob *j;
	const struct df11_entry *e;
	struct df11_input in;
	char *dst;
	int data; /* the temporary data file */
	struct df11_ctw *w;
	_Atomic uint64_t data_len; /* bytes reserved in the data file */
	_Atomic size_t refs;	   /* segment tasks + the submitter */
	atomic_int err;		   /* first error, already reported */
	atomic_bool write_failed;  /* the error came from the data file */
};

struct cseg {
	struct cfile *f;
	size_t i;
	uint64_t off, len;
};

static uint64_t byte_budget(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t b = BUDGET_MAX;

	if (pages > 0 && psz > 0)
		b = (uint64_t)pages * (uint64_t)psz / 8;
	return b < BUDGET_MIN ? BUDGET_MIN : b > BUDGET_MAX ? BUDGET_MAX : b;
}

/* Record the first error of @f (already reported) and stop the job. */
static void file_error(struct cfile *f, int rc)
{
	int zero = 0;

	atomic_compare_exchange_strong(&f->err, &zero, rc);
	atomic_store(&f->j->failed, true);
}

/* df11_write_fn: append to the data file at a reserved offset. */
static int data_write(void *ctx, const void *buf, size_t len, uint64_t *off)
{
	struct cfile *f = ctx;
	uint64_t at = atomic_fetch_add(&f->data_len, (uint64_t)len);
	int rc = df11_pwrite_full(f->data, buf, len, at);

	if (rc) {
		atomic_store(&f->write_failed, true);
		return rc;
	}
	*off = at;
	return 0;
}

/* An unlinked data file in the directory of @f->dst. */
static int open_data(struct cfile *f)
{
	char *dir = strdup(f->dst), *slash = strrchr(dir ? dir : "", '/');
	char *name = NULL;
	int rc = 0;

	if (!dir || !slash || asprintf(&name, "%s.df11-data", f->dst) < 0) {
		name = NULL;
		rc = df11_fail_sys(-ENOMEM, "create", f->dst);
		goto out;
	}
	*slash = '\0';
	f->data = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (f->data >= 0)
		goto out;
	f->data = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->data < 0)
		rc = df11_fail_sys(-errno, "create", name);
	else
		unlink(name);
out:
	free(name);
	free(dir);
	return rc;
}

/*
 * Copy the streams from the data file to @out at @base in plan order
 * (df11_ctw_pack), each run of streams that lie in that order in the data
 * file in one copy: with -j 1, one copy in all.
 */
static int copy_streams(struct cfile *f, int out, uint64_t base)
{
	uint64_t run_from = 0, run_to = 0, run_len = 0, from, to, len;
	size_t n = df11_ctw_n_segments(f->w);
	int rc;

	for (size_t i = 0; i <= n; i++) {
		size_t m = i < n ? df11_ctw_n_streams(f->w, i) : 1;

		for (size_t k = 0; k < m; k++) {
			if (i < n)
				df11_ctw_stream(f->w, i, k, &from, &to, &len);
			if (i < n && run_from + run_len == from &&
			    run_to + run_len == to) {
				run_len += len;
				continue;
			}
			if (run_len &&
			    (rc = df11_copy_range(f->data, run_from, out,
						  base + run_to, run_len,
						  f->dst, f->dst, false)))
				return rc;
			run_from = from;
			run_to = to;
			run_len = len;
		}
	}
	return 0;
}

/* Step 3: outer header + data, streams in plan order -> the container. */
static int write_container(struct cfile *f)
{
	uint64_t data_len;
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	int out, rc;

	rc = df11_ctw_pack(f->w, &data_len);
	if (!rc && data_len != atomic_load(&f->data_len))
		rc = -EINVAL;
	if (!rc)
		rc = df11_ctw_header(f->w, data_len, &hdr, &hlen);
	if (rc == -ENOTSUP) {
		char why[160];

		snprintf(why, sizeof(why),
			 "its df11 container header would have %zu bytes, more "
			 "than the limit of %u",
			 hlen, DF11_CT_HEADER_MAX);
		return df11_fail_codec(rc, f->in.path, why);
	}
	if (rc)
		return df11_fail_codec(rc, f->in.path,
				       "cannot build the header");
	out = open(f->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = df11_fail_sys(-errno, "create", f->dst);
		goto out_hdr;
	}
	if (fallocate(out, 0, 0, (off_t)(hlen + data_len)) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS) {
		rc = df11_fail_sys(-errno, "write", f->dst);
		goto out_fd;
	}
	rc = df11_pwrite_full(out, hdr, hlen, 0);
	if (rc) {
		df11_fail_sys(rc, "write", f->dst);
		goto out_fd;
	}
	rc = copy_streams(f, out, hlen);
	if (rc)
		goto out_fd;
	rc = df11_set_attrs(out, &f->in.st);
	if (rc) {
		df11_fail_sys(rc, "set the attributes of", f->dst);
		goto out_fd;
	}
	if (fsync(out) < 0) {
		rc = df11_fail_sys(-errno, "write", f->dst);
		goto out_fd;
	}
	df11_prog_add(f->in.hdr_len);
	atomic_fetch_add(&f->j->ct_in, f->in.size);
	atomic_fetch_add(&f->j->ct_out, hlen + data_len);
	atomic_fetch_add(&f->j->n_ct, 1);
out_fd:
	if (close(out) < 0 && !rc)
		rc = df11_fail_sys(-errno, "write", f->dst);
out_hdr:
	free(hdr);
	return rc;
}

static void file_free(struct cfile *f)
{
	if (f->data >= 0)
		close(f->data);
	df11_ctw_free(f->w);
	df11_input_close(&f->in);
	df11_budget_give(f->j->files, 1);
	free(f->dst);
	free(f);
}

/* Drop a reference; the last one finishes the file. */
static void file_put(struct cfile *f)
{
	if (atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (!atomic_load(&f->err) && !atomic_load(&f->j->failed) &&
	    !df11_stopped()) {
		int rc = write_container(f);

		if (rc)
			file_error(f, rc);
		else
			df11_prog_file();
	}
	file_free(f);
}

/* Step 2, on a worker: read and encode one segment. */
static void seg_task(void *arg, unsigned worker)
{
	struct cseg *s = arg;
	struct cfile *f = s->f;
	void *buf = NULL;
	int rc = 0;

	(void)worker;
	if (atomic_load(&f->j->failed) || df11_stopped()) {
		rc = -ECANCELED; /* another file failed: nothing to report */
		goto out;
	}
	buf = malloc(s->len ? (size_t)s->len : 1);
	if (!buf) {
		rc = df11_fail_sys(-ENOMEM, "read", f->in.path);
		goto out;
	}
	rc = df11_pread_full(f->in.fd, buf, (size_t)s->len, s->off);
	if (rc) {
		df11_fail_sys(rc, "read", f->in.path);
		goto out;
	}
	rc = df11_ctw_encode(f->w, s->i, buf, data_write, f);
	if (rc && atomic_load(&f->write_failed))
		df11_fail_sys(rc, "write", f->dst);
	else if (rc == -ENOMEM)
		df11_fail_sys(rc, "encode", f->in.path);
	else if (rc)
		df11_fail_codec(rc, f->in.path, "cannot encode");
	if (!rc)
		df11_prog_add(s->len);
out:
	free(buf);
	df11_budget_give(f->j->bytes, s->len);
	if (rc)
		file_error(f, rc);
	file_put(f);
	free(s);
}

/* Queue the segments of @f; the caller holds one reference. */
static int submit_segments(struct cfile *f)
{
	size_t n = df11_ctw_n_segments(f->w);

	for (size_t i = 0; i < n; i++) {
		const struct df11_st_tensor *t;
		struct cseg *s;
		int rc;

		if (atomic_load(&f->j->failed) || df11_stopped())
			return -EINTR;
		s = calloc(1, sizeof(*s));
		if (!s)
			return df11_fail_sys(-ENOMEM, "read", f->in.path);
		s->f = f;
		s->i = i;
		df11_ctw_segment(f->w, i, &s->off, &s->len, &t);
		if (s->len > SIZE_MAX) {
			free(s);
			return df11_fail_codec(-EOVERFLOW, f->in.path,
					       "segment too large");
		}
		df11_budget_take(f->j->bytes, s->len);
		atomic_fetch_add(&f->refs, 1);
		rc = df11_pool_submit(f->j->pool, seg_task, s);
		if (rc) {
			atomic_fetch_sub(&f->refs, 1);
			df11_budget_give(f->j->bytes, s->len);
			free(s);
			return df11_fail_sys(rc, "read", f->in.path);
		}
	}
	return 0;
}

/*
 * The header of a file whose own name does not end in ".safetensors" (a
 * hub blob: the kept link that resolves to it has that name).
 */
static int read_header(struct df11_input *in)
{
	char why[160] = "";
	int rc;

	rc = df11_st_read_header(df11_pread_cb, &in->rd, in->size, &in->hdr,
				 &in->hdr_len, why, sizeof(why));
	if (rc == -EBADMSG)
		return df11_fail_codec(rc, in->path, why);
	if (rc)
		return df11_fail_sys(rc, "read", in->path);
	return 0;
}

/* Step 1, on the main thread: start the container for entry @e. */
static int compress_file(struct cjob *j, const struct df11_entry *e)
{
	struct cfile *f;
	char *src = df11_path_join(j->src.root, e->rel), err[512] = "";
	struct df11_ctw_opts wo = {0};
	int rc;

	df11_budget_take(j->files, 1);
	f = calloc(1, sizeof(*f));
	if (!f || !src) {
		free(f);
		free(src);
		df11_budget_give(j->files, 1);
		return df11_fail_sys(-ENOMEM, "read", j->src.root);
	}
	f->j = j;
	f->e = e;
	f->data = -1;
	atomic_init(&f->refs, 1);
	f->dst = df11_path_join(j->out.tmp, e->rel);
	rc = df11_input_open(&f->in, src, DF11_IN_HEADER);
	free(src);
	if (!rc && !f->in.hdr)
		rc = read_header(&f->in); /* a blob named by a link */
	if (rc)
		goto fail;
	rc = f->dst ? open_data(f) : df11_fail_sys(-ENOMEM, "create", e->rel);
	if (rc)
		goto fail;
	rc = df11_ctw_new(&f->w, f->in.hdr, f->in.hdr_len, f->in.size, &wo, err,
			  sizeof(err));
	if (rc) {
		df11_fail_codec(rc, f->in.path, err);
		goto fail;
	}
	free(f->in.hdr); /* copied by the writer */
	f->in.hdr = NULL;
	if (f->in.size > (1u << 20))
		posix_fadvise(f->in.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = submit_segments(f);
fail:
	if (rc)
		file_error(f, rc);
	file_put(f);
	return rc;
}

/* Walk the entries: containers through the pool, the rest copied here. */
static int run_files(struct cjob *j)
{
	for (size_t i = 0; i < j->src.n; i++) {
		const struct df11_entry *e = &j->src.v[i];
		char *s, *d;
		int rc;

		if (df11_stopped())
			return -EINTR;
		if (atomic_load(&j->failed))
			return -EIO;
		if (!S_ISREG(e->st.st_mode))
			continue; /* directories and kept links: made apart */
		if (e->container) {
			rc = compress_file(j, e);
			if (rc)
				return rc;
			continue;
		}
		s = df11_path_join(j->src.root, e->rel);
		d = df11_path_join(j->out.tmp, e->rel);
		rc = s && d ? df11_copy_file(s, d, &e->st)
			    : df11_fail_sys(-ENOMEM, "copy", e->rel);
		free(s);
		free(d);
		if (rc) {
			atomic_store(&j->failed, true);
			return rc;
		}
		j->n_copied++;
		j->copied += (uint64_t)e->st.st_size;
		df11_prog_file();
	}
	return 0;
}

static void summary(const struct cjob *j, double secs)
{
	char a[32], b[32], c[32];
	uint64_t in = atomic_load(&j->ct_in), out = atomic_load(&j->ct_out);
	double total = (double)(j->src.bytes);

	df11_prog_printf(
	    "compressed %llu files, %s -> %s (%.1f%%), copied %llu files "
	    "(%s), %.0f MB/s",
	    (unsigned long long)atomic_load(&j->n_ct),
	    df11_human(in, a, sizeof(a)), df11_human(out, b, sizeof(b)),
	    in ? 100.0 * (double)out / (double)in : 100.0,
	    (unsigned long long)j->n_copied,
	    df11_human(j->copied, c, sizeof(c)),
	    secs > 0 ? total / secs / 1e6 : 0.0);
}

int df11_cmd_compress(const struct df11_opts *o, const char *src,
		      const char *dst)
{
	struct cjob j = {.o = o};
	struct df11_check chk = {0};
	int rc;
	unsigned walk = DF11_WALK_KEEP_LINKS;

	if (o->follow_symlinks)
		walk |= DF11_WALK_FOLLOW_OUT;
	rc = df11_tree_scan_links(&j.src, src, walk);
	if (!rc)
		rc = df11_index_check(&j.src);
	if (!rc)
		rc = df11_check_compress(&chk, &j.src, dst);
	if (!rc)
		rc = df11_outdir_begin(&j.out, dst);
	if (rc)
		goto out;
	rc = df11_tree_mkdirs(&j.src, j.out.tmp);
	if (!rc && (df11_pool_new(&j.pool, o->threads) ||
		    df11_budget_new(&j.bytes, byte_budget()) ||
		    df11_budget_new(&j.files, o->threads + 2)))
		rc = df11_fail_sys(-ENOMEM, "start", "workers");
	if (rc)
		goto out;
	df11_prog_start(!o->quiet, "compressing", j.src.n_files, j.src.bytes);
	rc = run_files(&j);
	df11_pool_wait(j.pool);
	df11_prog_stop();
	if (df11_stopped())
		rc = -EINTR;
	else if (!rc && atomic_load(&j.failed))
		rc = -EIO;
	if (!rc)
		rc = df11_tree_links(&j.src, j.out.tmp);
	if (!rc)
		rc = df11_tree_dir_attrs(&j.src, j.out.tmp);
	if (!rc)
		rc = df11_outdir_commit(&j.out, &j.src.root_st);
	if (!rc && !o->quiet)
		summary(&j, df11_prog_seconds());
	if (!rc)
		df11_check_note(&chk, src, atomic_load(&j.ct_in),
				atomic_load(&j.ct_out));
out:
	df11_pool_free(j.pool);
	if (rc)
		df11_outdir_abort(&j.out);
	df11_budget_free(j.files);
	df11_budget_free(j.bytes);
	df11_tree_free(&j.src);
	if (rc && !df11_status())
		return DF11_EX_IO; /* interrupted: main() raises the signal */
	return df11_status();
}
