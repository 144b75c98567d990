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
 * (official_run.c, official_info.c).
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
