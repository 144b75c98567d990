/* SPDX-License-Identifier: MIT */
/*
 * store/model.c - official DFloat11 model directories opened for reading
 *
 * The one copy of "list the directory, read config.json (and the user's
 * original-config.json and original-headers.json), open every
 * *.safetensors, hand them to df11_off_open" that fs/ and tools/ share.
 * A *.safetensors entry that is not a regular file (a symlink, FIFO,
 * socket, device node, directory) is never opened: it is skipped, with
 * one warning naming it, and the model is read from the other files (or,
 * with DF11_STORE_STRICT, the open fails naming it). The opened files
 * form one struct df11_store_set: the staleness check of every virtual
 * file covers every file of the model, and each read context holds a
 * reference on the set, so the descriptors live as long as the df11_off
 * model reading them, whoever frees the struct df11_store_model first.
 * A Git LFS pointer in place of a *.safetensors file is named as such
 * (the reader would only see a header length of 2^61 bytes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "official/official.h"
#include "store/store_i.h"

struct df11_store_model {
	struct df11_off *off;
	struct df11_store_set *set;
	struct stat cfg_st;
	char **skipped; /* *.safetensors entries not opened */
	size_t n_skipped;
};

int store_read_config(int dirfd, unsigned flags, char **txt, size_t *len,
		      struct stat *st)
{
	char *t;
	int fd, rc;

	*txt = NULL;
	*len = 0;
	rc = df11_store_openat(dirfd, "config.json", flags & DF11_STORE_FOLLOW,
			       &fd, st);
	if (rc)
		return -ENODATA; /* no readable config.json: not official */
	if ((uint64_t)st->st_size > DF11_STORE_CONFIG_MAX) {
		close(fd);
		return -ENODATA;
	}
	t = malloc((size_t)st->st_size + 1);
	rc = t ? df11_store_pread(fd, t, (size_t)st->st_size, 0) : -ENOMEM;
	close(fd);
	if (rc) {
		free(t);
		return rc;
	}
	t[st->st_size] = '\0';
	*txt = t;
	*len = (size_t)st->st_size;
	return 0;
}

/*
 * Read the user's file @fname of @dirfd (original-config.json,
 * original-headers.json), at most @max bytes, into *@txt. Return: 0 (an
 * absent file leaves *@txt NULL), or -errno with the reason in @err: not
 * a regular file (a symlink the daemon does not follow, a FIFO...), too
 * large, unreadable.
 */
static int read_sidecar(int dirfd, const char *name, const char *fname,
			unsigned flags, size_t max, char **txt, size_t *len,
			char *err, size_t errlen)
{
	struct stat st;
	char *t = NULL;
	int fd, rc;

	*txt = NULL;
	*len = 0;
	rc = df11_store_openat(dirfd, fname, flags & DF11_STORE_FOLLOW, &fd,
			       &st);
	if (rc == -ENOENT)
		return 0;
	if (rc == -ELOOP || rc == -ENXIO || rc == -EISDIR) {
		if (err && errlen)
			store_refusal(err, errlen, name, fname, rc, &st);
		return rc;
	}
	if (!rc && (uint64_t)st.st_size > max)
		rc = -EFBIG;
	if (!rc && !(t = malloc((size_t)st.st_size + 1)))
		rc = -ENOMEM;
	if (!rc)
		rc = df11_store_pread(fd, t, (size_t)st.st_size, 0);
	if (fd >= 0)
		close(fd);
	if (rc) {
		free(t);
		if (err && errlen)
			snprintf(err, errlen, "'%s/%s': %s", name, fname,
				 rc == -EFBIG ? "file too large"
					      : strerror(-rc));
		return rc == -EFBIG ? -EBADMSG : rc;
	}
	t[st.st_size] = '\0';
	*txt = t;
	*len = (size_t)st.st_size;
	return 0;
}

/* ctx_free of the model's files: each read context holds the set */
static void file_put(void *ctx)
{
	struct store_file *f = ctx;

	df11_store_set_put(f->set);
}

void df11_store_model_close(struct df11_store_model *m)
{
	if (!m)
		return;
	df11_off_free(m->off);
	df11_store_set_put(m->set);
	for (size_t i = 0; i < m->n_skipped; i++)
		free(m->skipped[i]);
	free(m->skipped);
	free(m);
}

/* Is open file @fd (@st its stat) a Git LFS pointer, not the file? */
static int lfs_pointer(int fd, const struct stat *st)
{
	uint8_t head[DF11_ST_LFS_PROBE];

	return (uint64_t)st->st_size >= sizeof(head) &&
	       (uint64_t)st->st_size < DF11_ST_LFS_MAX &&
	       !df11_store_pread(fd, head, sizeof(head), 0) &&
	       df11_st_lfs_pointer(head, sizeof(head), (uint64_t)st->st_size);
}

/*
 * Open the *.safetensors entries of @v into @m->set and @files. A Git
 * LFS pointer in place of one fails the open (-EBADMSG, named as such):
 * the model cannot be read without that file. Return:
 * 0 (refused entries skipped), or -errno with the reason in @err.
 */
static int open_files(int dirfd, const char *name,
		      const struct df11_store_model_opts *o,
		      const struct df11_store_name *v, size_t n,
		      struct df11_store_model *m, struct df11_off_file *files,
		      size_t *nf, char *err, size_t errlen)
{
	char msg[1024];

	for (size_t i = 0; i < n; i++) {
		struct store_file *f;
		struct stat st;
		int fd, rc, refused;

		if (!df11_store_is_safetensors(v[i].name))
			continue;
		rc = df11_store_openat(dirfd, v[i].name,
				       o->flags & DF11_STORE_FOLLOW, &fd, &st);
		/* following, -ELOOP is a loop of links: an open error */
		refused = rc == -ENXIO || rc == -EISDIR ||
			  (rc == -ELOOP && !(o->flags & DF11_STORE_FOLLOW));
		if (rc && !refused)
			snprintf(msg, sizeof(msg), "cannot open '%s/%s': %s",
				 name, v[i].name, strerror(-rc));
		else if (rc)
			store_refusal(msg, sizeof(msg), name, v[i].name, rc,
				      &st);
		if (rc && (o->flags & DF11_STORE_STRICT || !refused)) {
			if (err && errlen)
				snprintf(err, errlen, "%s", msg);
			return rc;
		}
		if (rc) {
			if (!(m->skipped[m->n_skipped] = strdup(v[i].name)))
				return -ENOMEM;
			m->n_skipped++;
			if (o->warn) {
				size_t l = strlen(msg);

				snprintf(msg + l, sizeof(msg) - l, ": skipped");
				o->warn(o->warn_ctx, msg);
			}
			continue;
		}
		if (lfs_pointer(fd, &st)) {
			close(fd);
			if (err && errlen)
				store_refusal(err, errlen, name, v[i].name,
					      -EBADMSG, &st);
			return -EBADMSG;
		}
		f = store_set_add(m->set, fd, &st);
		if (!f) { /* more entries than counted: cannot happen */
			close(fd);
			return -EIO;
		}
		files[(*nf)++] = (struct df11_off_file){
		    v[i].name, (uint64_t)st.st_size, store_file_read, f};
	}
	return 0;
}

int df11_store_model_open(int dirfd, const char *name,
			  const struct df11_store_model_opts *o,
			  struct df11_store_model **out, char *err,
			  size_t errlen)
{
	static const struct df11_store_model_opts none;
	struct df11_off_opts oo = {.ctx_free = file_put};
	struct df11_off_file *files = NULL;
	struct df11_store_name *v = NULL;
	struct df11_store_model *m;
	size_t len = 0, n = 0, nst = 0, nf = 0, olen = 0, hlen = 0;
	char *cfg = NULL, *orig = NULL, *hdr = NULL;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!o)
		o = &none;
	if (!(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	rc = store_read_config(dirfd, o->flags, &cfg, &len, &m->cfg_st);
	if (!rc && !df11_off_probe(cfg, len))
		rc = -ENODATA;
	if (rc)
		goto out;
	rc = read_sidecar(dirfd, name, DF11_OFF_ORIG_CONFIG, o->flags,
			  DF11_STORE_CONFIG_MAX, &orig, &olen, err, errlen);
	if (!rc && !o->headers)
		rc = read_sidecar(dirfd, name, DF11_OFF_ORIG_HEADERS, o->flags,
				  DF11_OFF_HEADERS_MAX, &hdr, &hlen, err,
				  errlen);
	if (rc)
		goto out;
	if ((rc = df11_store_list(dirfd, &v, &n))) {
		if (err && errlen)
			snprintf(err, errlen, "cannot list '%s': %s", name,
				 strerror(-rc));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		nst += df11_store_is_safetensors(v[i].name) != 0;
	m->set = store_set_new(nst);
	files = calloc(nst + 1, sizeof(*files));
	m->skipped = calloc(nst + 1, sizeof(*m->skipped));
	if (!m->set || !files || !m->skipped) {
		rc = -ENOMEM;
		goto out;
	}
	rc = open_files(dirfd, name, o, v, n, m, files, &nf, err, errlen);
	if (rc)
		goto out;
	for (size_t i = 0; i < nf; i++)
		df11_store_set_get(m->set); /* dropped by file_put */
	oo.headers = o->headers ? o->headers : hdr;
	oo.headers_len = o->headers ? o->headers_len : hlen;
	oo.orig_config = orig;
	oo.orig_config_len = olen;
	oo.shard_size = o->shard_size;
	oo.partial = (o->flags & DF11_STORE_PARTIAL) != 0;
	oo.need = o->need;
	rc = df11_off_open(&m->off, cfg, len, files, nf, &oo, err, errlen);
out:
	free(files);
	df11_store_list_free(v, n);
	free(cfg);
	free(orig);
	free(hdr);
	if (rc) {
		df11_store_model_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

struct df11_off *df11_store_model_off(const struct df11_store_model *m)
{
	return m->off;
}

struct df11_off *df11_store_model_steal(struct df11_store_model *m)
{
	struct df11_off *off = m->off;

	m->off = NULL;
	return off;
}

struct df11_store_set *df11_store_model_set(const struct df11_store_model *m)
{
	return m->set;
}

const struct stat *
df11_store_model_config_stat(const struct df11_store_model *m)
{
	return &m->cfg_st;
}

int df11_store_model_hides(const struct df11_store_model *m, const char *name)
{
	if (!df11_off_hides(name))
		return 0;
	for (size_t i = 0; i < m->n_skipped; i++)
		if (!strcmp(m->skipped[i], name))
			return 0;
	return 1;
}
