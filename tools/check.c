// SPDX-License-Identifier: MIT
/*
 * tools/check.c - refuse wrong input before any output is written
 *
 * Each command takes directories of one kind: compress a model of plain
 * safetensors files, decompress and verify a tree of df11 containers (or
 * an official DFloat11 directory, dispatched before these checks). Given
 * the other kind, the pipeline would "succeed": a plain model decompresses
 * to a copy of itself, a compressed one compresses into containers of
 * containers. So each command first looks at what it was given and says,
 * in one line, what is wrong and what to do instead:
 *
 *   - compress: DST is not SRC nor inside it (resolved paths); SRC is not
 *     an official DFloat11 directory (tools/official_i.h); it holds
 *     *.safetensors files; none of them is a container already (by its
 *     content: the "df11" key of the outer header's __metadata__, never
 *     by its name). Their headers are read and parsed here, so a malformed
 *     header or a Git LFS pointer (tools/input.c) is reported before DST
 *     is created, with the message the pipeline would give.
 *   - decompress: OUT is not DST nor inside it, as for compress;
 *   - decompress, verify: at least one container, unless a file could not
 *     be read or parsed: then the pipeline reports that file, with the
 *     context it has (verify goes on with the other files).
 *
 * These are usage errors (DF11_EX_USAGE): the operands are the wrong kind
 * of directory. A model with no BF16 tensor is valid input, only nothing in
 * it is DF11-coded; compress says so after the run (df11_check_note()), a
 * warning with the ratio, not an error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/safetensors.h"
#include "tools/official_i.h"
#include "tools/tool_i.h"

/* The directory that will hold @dst, resolved, plus @dst's last name. */
static char *resolve_dst(const char *dst)
{
	char *copy = strdup(dst), *slash, *dir, *out = NULL;
	const char *base;

	if (!copy)
		return NULL;
	out = realpath(dst, NULL);
	if (out)
		goto done;
	while ((slash = strrchr(copy, '/')) && slash != copy && !slash[1])
		*slash = '\0'; /* "dst/" names dst */
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (slash == copy)
		dir = realpath("/", NULL);
	else if (slash) {
		*slash = '\0';
		dir = realpath(copy, NULL);
	} else
		dir = realpath(".", NULL);
	if (dir && strcmp(base, ".") && strcmp(base, ".."))
		out = df11_path_join(strcmp(dir, "/") ? dir : "", base);
	free(dir);
done:
	free(copy);
	return out;
}

/* Is @path @root itself or below it? Both resolved. */
static bool below(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (!strcmp(root, "/"))
		return true;
	return !strncmp(path, root, n) && (path[n] == '\0' || path[n] == '/');
}

int df11_check_outside(const char *src, const char *dst)
{
	char *rs = realpath(src, NULL), *rd = resolve_dst(dst);
	int rc = 0;

	if (rs && rd && below(rd, rs)) {
		if (!strcmp(rs, rd))
			df11_fail(DF11_EX_USAGE,
				  "'%s' is the source itself: give a new "
				  "directory outside it",
				  dst);
		else
			df11_fail(DF11_EX_USAGE,
				  "'%s' is inside the source '%s': give a "
				  "directory outside it",
				  dst, src);
		rc = -EINVAL;
	}
	free(rd);
	free(rs);
	return rc;
}

/* Tensors of header @st with BF16 weights. */
static size_t n_bf16(const struct df11_st *st)
{
	size_t n = 0;

	for (size_t i = 0; i < df11_st_n_tensors(st); i++) {
		const struct df11_st_tensor *t = df11_st_tensor(st, i);

		n += t->dtype == DF11_DT_BF16 && t->n_elems > 0;
	}
	return n;
}

/* Parse the header of compress input @path; refuse a container. */
static int check_source_file(struct df11_check *c, const char *path,
			     const char *src)
{
	struct df11_input in;
	struct df11_st *st = NULL;
	char err[512] = "";
	int rc;

	rc = df11_input_open(&in, path, DF11_IN_HEADER | DF11_IN_ANY);
	if (rc)
		goto out;
	rc = df11_st_parse(&st, in.hdr + 8, in.hdr_len - 8,
			   in.size - in.hdr_len, err, sizeof(err));
	if (rc) {
		df11_fail_codec(rc, path, err);
		goto out;
	}
	if (df11_ct_is_container(st)) {
		df11_fail(DF11_EX_USAGE,
			  "'%s' is a df11 container already: '%s' is "
			  "compressed; compress the original model, or "
			  "decompress this one",
			  path, src);
		rc = -EINVAL;
		goto out;
	}
	rc = df11_ctw_check(st, in.hdr_len, err, sizeof(err));
	if (rc) {
		df11_fail_codec(rc, path, err);
		goto out;
	}
	c->n_bf16 += n_bf16(st);
out:
	df11_st_free(st);
	df11_input_close(&in);
	return rc;
}

int df11_check_compress(struct df11_check *c, const struct df11_tree *t,
			const char *dst)
{
	size_t n = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = df11_check_outside(t->root, dst);
	if (rc)
		return rc;
	rc = df11_off_dir_probe(t->root);
	if (rc < 0)
		return rc;
	if (rc) {
		df11_fail(DF11_EX_USAGE,
			  "'%s' is an official DFloat11 directory, compressed "
			  "already: compress the original BF16 model, or "
			  "decompress this one",
			  t->root);
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *path;

		/* a hub blob that a kept link names: compress reads it too */
		if (!S_ISREG(e->st.st_mode) ||
		    (!df11_is_safetensors(e->rel) && !e->container))
			continue;
		n++;
		path = df11_path_join(t->root, e->rel);
		rc = path ? check_source_file(c, path, t->root)
			  : df11_fail_sys(-ENOMEM, "read", e->rel);
		free(path);
		if (rc)
			return rc;
	}
	if (!n) {
		df11_fail(DF11_EX_USAGE,
			  "'%s' holds no *.safetensors files: nothing to "
			  "compress; give the directory of a safetensors model",
			  t->root);
		return -EINVAL;
	}
	c->n_files = n;
	return 0;
}

void df11_check_note(const struct df11_check *c, const char *src, uint64_t in,
		     uint64_t out)
{
	char a[32], b[32], line[1024];

	if (!c->n_files || c->n_bf16)
		return;
	snprintf(line, sizeof(line),
		 "df11: warning: no tensor of '%s' is BF16, so nothing was "
		 "DF11-coded: tensors are stored raw or LZ4, %s -> %s "
		 "(%.1f%%)",
		 src, df11_human(in, a, sizeof(a)),
		 df11_human(out, b, sizeof(b)),
		 in ? 100.0 * (double)out / (double)in : 100.0);
	df11_prog_line(stderr, line);
}

/*
 * Is @path a container? 1 yes, 0 a plain safetensors file, -1 unknown
 * (unreadable or malformed: left to the pipeline to report). Silent.
 */
static int probe_container(const char *path)
{
	struct df11_fd rd = {open(path, O_RDONLY | O_CLOEXEC)};
	struct df11_st *st = NULL;
	uint8_t *hdr = NULL;
	size_t hlen = 0;
	struct stat sb;
	int r = -1;

	if (rd.fd < 0)
		return -1;
	if (fstat(rd.fd, &sb) == 0 &&
	    !df11_st_read_header(df11_pread_cb, &rd, (uint64_t)sb.st_size, &hdr,
				 &hlen, NULL, 0) &&
	    !df11_st_parse(&st, hdr + 8, hlen - 8, (uint64_t)sb.st_size - hlen,
			   NULL, 0))
		r = df11_ct_is_container(st) ? 1 : 0;
	df11_st_free(st);
	free(hdr);
	close(rd.fd);
	return r;
}

int df11_check_native(const struct df11_tree *t, const char *cmd)
{
	bool unknown = false;

	for (size_t i = 0; i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *path;
		int r;

		bool named = df11_is_safetensors(e->rel);

		/* hub blobs have no name: a container there is one too */
		if (!S_ISREG(e->st.st_mode) ||
		    (!named && !strstr(e->rel, "blobs/")))
			continue;
		path = df11_path_join(t->root, e->rel);
		if (!path)
			return df11_fail_sys(-ENOMEM, "read", e->rel);
		r = probe_container(path);
		free(path);
		if (r > 0)
			return 0;
		unknown |= named && r < 0;
	}
	if (unknown)
		return 0;
	df11_fail(DF11_EX_USAGE,
		  "'%s' holds no df11 containers and is not an official "
		  "DFloat11 directory: nothing to %s; compress a model with "
		  "'df11 compress' first",
		  t->root, cmd);
	return -EINVAL;
}
