// SPDX-License-Identifier: MIT
/*
 * tools/official.c - df11 decompress and verify on an official DFloat11
 * directory (official/official.h)
 *
 * The directory's config.json, its *.safetensors files (each opened once,
 * its descriptor owned by the model through ctx_free) and, with
 * --headers, the `df11 headers` file are handed to df11_off_open(); the
 * virtual files it plans are then read through their sources:
 *
 *   decompress  writes every virtual file (prefix, then every chunk
 *               decoded by the worker pool and pwritten at its offset) and
 *               copies every file the virtual listing does not replace
 *   verify      decodes every chunk of every virtual file; with SRC, each
 *               chunk is also compared with the same tensor's bytes in
 *               SRC (found by name in SRC's *.safetensors), and with
 *               --headers the header bytes with SRC's file of that name
 *
 * Official files have no checksums: verify without SRC proves that every
 * unit decodes consistently, not that its sign/mantissa bytes are intact.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "official/official.h"
#include "tools/official_i.h"

#define CFG_MAX (16u << 20)

/* Read small file @path whole (NUL-terminated). Reports errors. */
int df11_off_slurp(const char *path, char **out, size_t *len, size_t max)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*out = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = df11_fail_sys(-errno, "read", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		df11_fail(DF11_EX_MALFORMED, "'%s': file too large", path);
		rc = -EBADMSG;
		goto out;
	}
	*out = malloc((size_t)st.st_size + 1);
	if (!*out) {
		rc = df11_fail_sys(-ENOMEM, "read", path);
		goto out;
	}
	rc = df11_pread_full(fd, *out, (size_t)st.st_size, 0);
	if (rc)
		df11_fail_sys(rc, "read", path);
	(*out)[st.st_size] = '\0';
	*len = (size_t)st.st_size;
out:
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* top-level file names of @dir (regular files and links), sorted */
static int list_names(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return df11_fail_sys(-errno, "open", dir);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		if (*n == cap) {
			char **v = realloc(*names, (cap = cap ? 2 * cap : 32) *
						       sizeof(*v));
			if (!v)
				break;
			*names = v;
		}
		if (!((*names)[*n] = strdup(de->d_name)))
			break;
		(*n)++;
	}
	closedir(d);
	if (de)
		return df11_fail_sys(-ENOMEM, "read", dir);
	if (*n > 1)
		qsort(*names, *n, sizeof(char *), df11_strp_cmp);
	return 0;
}

int df11_strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void df11_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int df11_off_dir_probe(const char *dir)
{
	char *cfg = df11_path_join(dir, "config.json"), *txt = NULL;
	char **names = NULL;
	size_t len = 0, n = 0;
	struct stat st;
	int r = 0;

	if (!cfg)
		return df11_fail_sys(-ENOMEM, "read", dir);
	if (stat(cfg, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size <= CFG_MAX) {
		if (df11_off_slurp(cfg, &txt, &len, CFG_MAX) == 0)
			r = df11_off_probe(txt, len);
		free(txt);
	}
	free(cfg);
	if (r || list_names(dir, &names, &n))
		return r;
	if (df11_off_legacy((const char *const *)names, n)) {
		df11_fail(DF11_EX_UNSUPPORTED,
			  "'%s': the DFloat11 0.1 layout (*.pkl and "
			  "decode.ptx) is not supported; recompress with the "
			  "official package 0.2.0 or later",
			  dir);
		r = -ENOTSUP;
	}
	df11_names_free(names, n);
	return r;
}

static void fd_free(void *ctx)
{
	struct df11_fd *f = ctx;

	if (f && f->fd >= 0)
		close(f->fd);
	free(f);
}

/* Open every *.safetensors of @dir into @files (contexts: struct df11_fd) */
static int open_files(const char *dir, char **names, size_t n,
		      struct df11_off_file *files, size_t *nf)
{
	*nf = 0;
	for (size_t i = 0; i < n; i++) {
		char *p;
		struct df11_fd *f;
		struct stat st;

		if (!df11_is_safetensors(names[i]))
			continue;
		p = df11_path_join(dir, names[i]);
		f = malloc(sizeof(*f));
		if (!p || !f) {
			free(p);
			free(f);
			return df11_fail_sys(-ENOMEM, "open", dir);
		}
		f->fd = open(p, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0 || fstat(f->fd, &st) < 0) {
			int rc = df11_fail_sys(-errno, "open", p);

			free(p);
			fd_free(f);
			return rc;
		}
		free(p);
		files[(*nf)++] = (struct df11_off_file){
		    names[i], (uint64_t)st.st_size, df11_pread_cb, f};
	}
	return 0;
}

int df11_off_dir_open(const char *dir, const struct df11_opts *o,
		      struct df11_off **out)
{
	struct df11_off_opts oo = {.ctx_free = fd_free,
				   .shard_size = o->shard_size};
	enum df11_off_need need = DF11_OFF_NEED_NONE;
	char *cfg = df11_path_join(dir, "config.json"), *txt = NULL;
	char *hdr = NULL, **names = NULL, err[1024] = "";
	struct df11_off_file *files = NULL;
	size_t len = 0, hlen = 0, n = 0, nf = 0;
	int rc;

	*out = NULL;
	if (!cfg)
		return df11_fail_sys(-ENOMEM, "read", dir);
	rc = df11_off_slurp(cfg, &txt, &len, CFG_MAX);
	if (!rc && o->headers)
		rc = df11_off_slurp(o->headers, &hdr, &hlen,
				    DF11_OFF_HEADERS_MAX);
	if (!rc)
		rc = list_names(dir, &names, &n);
	if (!rc && !(files = calloc(n + 1, sizeof(*files))))
		rc = df11_fail_sys(-ENOMEM, "read", dir);
	if (!rc)
		rc = open_files(dir, names, n, files, &nf);
	if (rc) {
		for (size_t i = 0; files && i < nf; i++)
			fd_free(files[i].ctx);
		goto out;
	}
	oo.headers = hdr;
	oo.headers_len = hlen;
	oo.need = &need;
	rc = df11_off_open(out, txt, len, files, nf, &oo, err, sizeof(err));
	if (rc && need == DF11_OFF_NEED_HEADERS)
		snprintf(err + strlen(err), sizeof(err) - strlen(err), "%s",
			 " (write them with 'df11 headers ORIGINAL_DIR > "
			 "h.json', then give --headers h.json)");
	if (rc)
		df11_fail_codec(rc, dir, err);
out:
	free(files);
	df11_names_free(names, n);
	free(hdr);
	free(txt);
	free(cfg);
	return rc;
}
