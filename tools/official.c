// SPDX-License-Identifier: MIT
/*
 * tools/official.c - opening official DFloat11 directories for df11
 * decompress, verify and info (official/official.h)
 *
 * The directory is opened by df11_store_model_open (store/store.h), the
 * one copy of "list it, read config.json, open every *.safetensors" that
 * the daemon uses too. The tool follows symlinks (DF11_STORE_FOLLOW: the
 * user's own tree, e.g. a Hugging Face snapshot whose files are links
 * into blobs/) but never opens a FIFO, socket or device node, and is
 * strict (DF11_STORE_STRICT): a *.safetensors entry that is not a regular
 * file fails the command at once with one line naming it and exit status
 * DF11_EX_UNSUPPORTED, rather than decompress or verify part of a model.
 * With --headers, the `df11 headers` file is handed over too; the virtual
 * files df11_off_open() plans are then read through their sources
 * (official_run.c, official_info.c). A diffusers pipeline folder is
 * opened here too, component by component (df11_off_pipeline_open), for
 * the three commands to take whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "official/official.h"
#include "store/store.h"
#include "tools/official_i.h"

/* Read small file @path whole (NUL-terminated). Reports errors. */
int df11_off_slurp(const char *path, char **out, size_t *len, size_t max)
{
	struct stat st;
	int fd = -1, rc;

	*out = NULL;
	rc = df11_store_openat(AT_FDCWD, path, DF11_STORE_FOLLOW, &fd, &st);
	if (rc == -ENXIO || rc == -EISDIR) {
		df11_fail(DF11_EX_UNSUPPORTED, "'%s': not a regular file (%s)",
			  path, df11_store_type_name(st.st_mode));
		goto out;
	}
	if (rc) {
		df11_fail_sys(rc, "read", path);
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
	rc = df11_store_pread(fd, *out, (size_t)st.st_size, 0);
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

/* the 0.1 layout (*.pkl and decode.ptx) of directory @dirfd, reported */
static int legacy(int dirfd, const char *dir)
{
	struct df11_store_name *v = NULL;
	const char **names;
	size_t n = 0;
	int r = 0;

	if (df11_store_list(dirfd, &v, &n))
		return 0; /* not official, as far as we can tell */
	names = calloc(n + 1, sizeof(*names));
	for (size_t i = 0; names && i < n; i++)
		names[i] = v[i].name;
	if (names && df11_off_legacy(names, n)) {
		df11_fail(DF11_EX_UNSUPPORTED,
			  "'%s': the DFloat11 0.1 layout (*.pkl and "
			  "decode.ptx) is not supported; recompress with the "
			  "official package 0.2.0 or later",
			  dir);
		r = -ENOTSUP;
	}
	free(names);
	df11_store_list_free(v, n);
	return r;
}

int df11_off_dir_probe(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return 0; /* not a directory: the caller says what it is */
	r = df11_store_probe(fd, DF11_STORE_FOLLOW);
	if (!r)
		r = legacy(fd, dir);
	close(fd);
	return r;
}

void df11_off_warn_note(const char *dir, const struct df11_off *m)
{
	char line[1024];

	if (!df11_off_note(m))
		return;
	snprintf(line, sizeof(line), "df11: warning: '%s': %s", dir,
		 df11_off_note(m));
	df11_prog_line(stderr, line);
}

/* report df11_store_model_open's failure @rc (reason @err) on @dir */
static int report(int rc, const char *dir, const char *err)
{
	if (!strncmp(err, "cannot open '", 13) ||
	    !strncmp(err, "cannot list '", 13))
		df11_fail(DF11_EX_IO, "%s", err); /* the store's own words */
	else if (rc == -ELOOP || rc == -ENXIO || rc == -EISDIR)
		df11_fail(DF11_EX_UNSUPPORTED, "%s", err);
	else if (rc == -EBADMSG && strstr(err, DF11_ST_LFS_MSG))
		df11_fail(DF11_EX_MALFORMED, "%s", err); /* names the file */
	else if (rc == -ENODATA)
		df11_fail(DF11_EX_MALFORMED,
			  "'%s': not an official DFloat11 directory "
			  "(no config.json with dfloat11_config)",
			  dir);
	else if (err[0])
		df11_fail_codec(rc, dir, err);
	else
		df11_fail_sys(rc, "read", dir);
	return rc;
}

int df11_off_dir_open(const char *dir, const struct df11_opts *o, bool partial,
		      struct df11_off **out)
{
	enum df11_off_need need = DF11_OFF_NEED_NONE;
	struct df11_store_model_opts so = {.shard_size = o->shard_size,
					   .flags = DF11_STORE_FOLLOW |
						    DF11_STORE_STRICT};
	struct df11_store_model *sm = NULL;
	char *hdr = NULL, err[1024] = "";
	size_t hlen = 0;
	int fd, rc = 0;

	*out = NULL;
	if (partial)
		so.flags |= DF11_STORE_PARTIAL;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return df11_fail_sys(-errno, "open", dir);
	if (o->headers)
		rc = df11_off_slurp(o->headers, &hdr, &hlen,
				    DF11_OFF_HEADERS_MAX);
	if (!rc) {
		so.headers = hdr;
		so.headers_len = hlen;
		so.need = &need;
		rc = df11_store_model_open(fd, dir, &so, &sm, err, sizeof(err));
		if (rc && need == DF11_OFF_NEED_HEADERS)
			snprintf(err + strlen(err), sizeof(err) - strlen(err),
				 "%s", DF11_OFF_HINT);
		if (rc)
			report(rc, dir, err);
	}
	if (!rc)
		*out = df11_store_model_steal(sm);
	df11_store_model_close(sm);
	free(hdr);
	close(fd);
	return rc;
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

int df11_off_hidden(char *const *pre, size_t n, const char *rel)
{
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(pre[k]);
		const char *r = rel + l + (l > 0);

		if (l && (strncmp(rel, pre[k], l) || rel[l] != '/'))
			continue;
		if (!strchr(r, '/') && df11_off_hides(r))
			return 1;
	}
	return 0;
}

void df11_off_pipeline_free(struct df11_off_pipeline *p)
{
	for (size_t k = 0; k < p->n; k++) {
		df11_off_free(p->m[k]);
		free(p->pre[k]);
	}
	free(p->m);
	free(p->pre);
	df11_names_free(p->plain, p->n_plain);
	memset(p, 0, sizeof(*p));
}

int df11_off_pipeline_open(struct df11_off_pipeline *p, const char *dir,
			   const struct df11_opts *o, bool partial)
{
	struct df11_store_name *v = NULL;
	size_t n = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = list(dir, &v, &n)))
		return rc;
	p->m = calloc(n + 1, sizeof(*p->m));
	p->pre = calloc(n + 1, sizeof(*p->pre));
	p->plain = calloc(n + 1, sizeof(*p->plain));
	rc = p->m && p->pre && p->plain ? 0
					: df11_fail_sys(-ENOMEM, "read", dir);
	for (size_t i = 0; !rc && i < n; i++) {
		char *path = df11_path_join(dir, v[i].name);
		struct stat st;
		int c = path ? component(dir, v[i].name) : 0;

		if (!path) {
			rc = df11_fail_sys(-ENOMEM, "read", dir);
		} else if (c < 0) {
			rc = c; /* reported */
		} else if (c) {
			if (!(p->pre[p->n] = strdup(v[i].name)))
				rc = df11_fail_sys(-ENOMEM, "read", dir);
			else
				rc = df11_off_dir_open(path, o, partial,
						       &p->m[p->n++]);
		} else if (v[i].name[0] != '.' && stat(path, &st) == 0 &&
			   S_ISDIR(st.st_mode) &&
			   !(p->plain[p->n_plain++] = strdup(v[i].name))) {
			p->n_plain--;
			rc = df11_fail_sys(-ENOMEM, "read", dir);
		}
		free(path);
	}
	df11_store_list_free(v, n);
	if (rc)
		df11_off_pipeline_free(p);
	return rc;
}
