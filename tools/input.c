// SPDX-License-Identifier: MIT
/*
 * tools/input.c - open a file of a model tree and read its headers
 *
 * Every command reads files the same way: open, fstat, and for a
 * ".safetensors" file the 8-byte length prefix and the JSON header, which
 * is then parsed to tell a df11 container from a plain safetensors file.
 * Both are read and explained by codec/ (df11_st_read_header(),
 * df11_st_parse()). A Git LFS pointer in place of the file is named as
 * such, with the command that fetches the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/safetensors.h"
#include "store/store.h"
#include "tools/tool_i.h"

/* Is @in a Git LFS pointer (a clone without `git lfs pull`)? */
static bool is_lfs_pointer(struct df11_input *in)
{
	uint8_t buf[DF11_ST_LFS_PROBE];

	return in->size >= sizeof(buf) &&
	       !df11_pread_full(in->fd, buf, sizeof(buf), 0) &&
	       df11_st_lfs_pointer(buf, sizeof(buf), in->size);
}

/* Read the prefix and header bytes of a safetensors file into @in->hdr. */
static int read_header(struct df11_input *in)
{
	char why[160] = "";
	int rc;

	rc = df11_st_read_header(df11_pread_cb, &in->rd, in->size, &in->hdr,
				 &in->hdr_len, why, sizeof(why));
	if (rc == -EBADMSG && is_lfs_pointer(in)) {
		df11_fail(DF11_EX_MALFORMED, "'%s' " DF11_ST_LFS_MSG, in->path);
		return rc;
	}
	if (rc == -EBADMSG)
		return df11_fail_codec(rc, in->path, why);
	if (rc)
		return df11_fail_sys(rc, "read", in->path);
	return 0;
}

/* Parse the outer header; open the container if it is one. */
static int parse(struct df11_input *in)
{
	uint64_t n = in->hdr_len - 8;
	char err[512] = "";
	int rc;

	rc = df11_st_parse(&in->sth, in->hdr + 8, (size_t)n, in->size - 8 - n,
			   err, sizeof(err));
	if (rc)
		return df11_fail_codec(rc, in->path, err);
	if (!df11_ct_is_container(in->sth))
		return 0;
	rc = df11_ct_open(&in->ct, df11_pread_cb, &in->rd, in->size, err,
			  sizeof(err));
	if (rc)
		return df11_fail_codec(rc, in->path, err);
	return 0;
}

int df11_input_open(struct df11_input *in, const char *path, unsigned how)
{
	struct stat st;
	int rc;

	memset(in, 0, sizeof(*in));
	in->fd = in->rd.fd = -1;
	in->path = strdup(path);
	if (!in->path)
		return df11_fail_sys(-ENOMEM, "open", path);
	in->fd = in->rd.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return df11_fail_sys(-errno, "open", path);
	if (fstat(in->fd, &st) < 0)
		return df11_fail_sys(-errno, "stat", path);
	in->st = st;
	in->size = (uint64_t)st.st_size;
	if (!(how & (DF11_IN_HEADER | DF11_IN_PARSE)) ||
	    (!(how & DF11_IN_ANY) && !df11_is_safetensors(path)))
		return 0;
	rc = read_header(in);
	if (rc || !(how & DF11_IN_PARSE))
		return rc;
	return parse(in);
}

bool df11_input_sniff(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	bool r = false;

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		r = df11_store_sniff(fd, (uint64_t)st.st_size) == 1;
	close(fd);
	return r;
}

int df11_input_reopen(struct df11_input *in)
{
	if (in->fd >= 0)
		return 0;
	in->fd = in->rd.fd = open(in->path, O_RDONLY | O_CLOEXEC);
	if (in->fd < 0)
		return df11_fail_sys(-errno, "open", in->path);
	return 0;
}

void df11_input_close_fd(struct df11_input *in)
{
	if (in->fd >= 0)
		close(in->fd);
	in->fd = in->rd.fd = -1;
}

void df11_input_close(struct df11_input *in)
{
	df11_input_close_fd(in);
	df11_ct_free(in->ct);
	df11_st_free(in->sth);
	free(in->hdr);
	free(in->path);
	memset(in, 0, sizeof(*in));
	in->fd = in->rd.fd = -1;
}

/* Check one index file @e of @t (see df11_index_check). */
static int index_one(const struct df11_tree *t, const struct df11_entry *e)
{
	char *path = df11_path_join(t->root, e->rel), *dir = NULL;
	const char *slash = strrchr(e->rel, '/');
	json_t *root = NULL, *map;
	json_error_t jerr;
	int rc = -EBADMSG;

	if (!path)
		return df11_fail_sys(-ENOMEM, "read", t->root);
	if ((uint64_t)e->st.st_size > DF11_ST_MAX_HEADER) {
		df11_fail(DF11_EX_MALFORMED, "'%s': index json too large",
			  path);
		goto out;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_cannot_open_file)
			df11_fail(DF11_EX_IO, "cannot read '%s': %s", path,
				  jerr.text);
		else
			df11_fail(DF11_EX_MALFORMED,
				  "'%s': invalid JSON at line %d column %d: %s",
				  path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	map = json_object_get(root, "weight_map");
	if (!json_is_object(map)) {
		df11_fail(DF11_EX_MALFORMED, "'%s': no weight_map object",
			  path);
		goto out;
	}
	dir = strndup(e->rel, slash ? (size_t)(slash - e->rel) : 0);
	if (!dir) {
		rc = df11_fail_sys(-ENOMEM, "read", path);
		goto out;
	}
	for (void *it = json_object_iter(map); it;
	     it = json_object_iter_next(map, it)) {
		const char *key = json_object_iter_key(it);
		const char *shard =
		    json_string_value(json_object_iter_value(it));
		char *rel;
		const struct df11_entry *se;

		if (!shard || !*shard) {
			df11_fail(DF11_EX_MALFORMED,
				  "'%s': tensor '%s' has no shard name", path,
				  key);
			goto out;
		}
		rel = df11_path_join(dir, shard);
		if (!rel) {
			rc = df11_fail_sys(-ENOMEM, "read", path);
			goto out;
		}
		se = df11_tree_find(t, rel);
		free(rel);
		/* a link kept inside the tree (a hub snapshot's): its file */
		if (se && se->link)
			se = df11_tree_find(t, se->dest);
		if (!se || !S_ISREG(se->st.st_mode)) {
			df11_fail(DF11_EX_MALFORMED,
				  "'%s': shard '%s' not found", path, shard);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	free(dir);
	free(path);
	return rc;
}

int df11_index_check(const struct df11_tree *t)
{
	static const char ext[] = ".safetensors.index.json";
	const size_t el = sizeof(ext) - 1;

	for (size_t i = 0; i < t->n; i++) {
		const char *rel = t->v[i].rel;
		size_t len = strlen(rel);
		int rc;

		if (len < el || strcmp(rel + len - el, ext) ||
		    !S_ISREG(t->v[i].st.st_mode))
			continue;
		rc = index_one(t, &t->v[i]);
		if (rc)
			return rc;
	}
	return 0;
}
