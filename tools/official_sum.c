// SPDX-License-Identifier: MIT
/*
 * tools/official_sum.c - df11 verify on an official DFloat11 directory:
 * every *.safetensors file against the hash huggingface_hub recorded
 *
 * Official files carry no checksums. Decoding catches damage to the
 * tables and the index, but no flip of sign_mantissa and only about a
 * third of the flips of encoded_exponent (docs/OFFICIAL.md, Integrity):
 * the rest give wrong weights silently. The Hugging Face hub, though,
 * knows every file's hash, and huggingface_hub leaves it on disk in the
 * two layouts it downloads to:
 *
 *   hub cache    models--ORG--NAME/snapshots/REV/FILE is a symbolic link
 *                to ../../blobs/HASH (one more ../ per subdirectory)
 *   --local-dir  ROOT/.cache/huggingface/download/FILE.metadata holds
 *                three lines: the commit, the etag, a timestamp;
 *                for a component (transformer/FILE) the metadata lies
 *                at download/transformer/FILE.metadata, so the ROOT is
 *                looked for in DIR and the directories above it
 *
 * HASH and etag are the file's sha256 (64 hex digits) for files the hub
 * keeps in Git LFS, which safetensors files are by the hub's default
 * .gitattributes; for files kept in git itself, the git blob sha1 (40 hex
 * digits: the sha1 of "blob SIZE\0" followed by the bytes). Both are
 * checked, with OpenSSL's libcrypto (EVP). The metadata's timestamp is
 * not used: huggingface_hub takes a file modified after it for outdated
 * and hashes it again, but the hash recorded is what was published, and
 * verify reports a file that differs from it either way.
 *
 * The files are hashed before the model is opened, so that a damaged
 * header is named as a damaged file too; a file that cannot be opened
 * or is not a regular file (never opened here: it could be a FIFO) is
 * left to the model's open, which reports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "store/store.h"
#include "tools/official_i.h"

#define SUM_PIECE (4u << 20) /* bytes read at a time */
#define META_MAX  4096	     /* bytes of a .metadata file */
#define META_DIR  ".cache/huggingface/download"
#define ROOT_UP	  8 /* directories above DIR searched for META_DIR */

enum sum_kind { SUM_NONE, SUM_SHA256, SUM_GIT_SHA1 };

/* one *.safetensors file of DIR */
struct sum_file {
	char *path;	    /* DIR/NAME */
	enum sum_kind kind; /* of @want; SUM_NONE: nothing recorded */
	char want[65];	    /* the recorded digest, lowercase hex */
	char *where;	    /* where it is recorded: link target, .metadata */
	bool link;	    /* @where is a link target */
	char got[65];	    /* the file's digest */
	int rc;		    /* hashing: 0, 1 (left to the open), -errno */
};

/* the kind of digest @s is (lowercased in place), by its length */
static enum sum_kind hex_kind(char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] >= 'A' && s[n] <= 'F')
			s[n] = (char)(s[n] - 'A' + 'a');
		if (!((s[n] >= '0' && s[n] <= '9') ||
		      (s[n] >= 'a' && s[n] <= 'f')))
			return SUM_NONE;
	}
	return n == 64 ? SUM_SHA256 : n == 40 ? SUM_GIT_SHA1 : SUM_NONE;
}

/* Take @hex (length checked) as @f's recorded digest, @where its place. */
static int record(struct sum_file *f, const char *hex, const char *where)
{
	f->where = strdup(where);
	if (!f->where)
		return -ENOMEM;
	f->kind = strlen(hex) == 64 ? SUM_SHA256 : SUM_GIT_SHA1;
	strcpy(f->want, hex);
	return 0;
}

/* A hub cache snapshot: @f->path is a link to .../blobs/HASH. */
static int from_link(struct sum_file *f)
{
	char t[PATH_MAX], *b;
	ssize_t n = readlink(f->path, t, sizeof(t) - 1);

	if (n < 0)
		return 0; /* not a link: nothing recorded here */
	t[n] = '\0';
	b = strrchr(t, '/');
	if (!b || b - t < 5 || strncmp(b - 5, "blobs", 5) ||
	    (b - t > 5 && b[-6] != '/'))
		return 0;
	if (hex_kind(b + 1) == SUM_NONE)
		return 0;
	f->link = true;
	return record(f, b + 1, t);
}

/*
 * A --local-dir folder: @meta (ROOT/.cache/huggingface/download/SUB/NAME
 * .metadata) holds the commit, the etag, a timestamp, one a line. A
 * missing or unreadable file, or an etag that is no digest, records
 * nothing.
 */
static int from_meta(struct sum_file *f, const char *meta)
{
	char buf[META_MAX + 1], *etag, *end;
	ssize_t n;
	int fd = open(meta, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return 0;
	n = read(fd, buf, META_MAX);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	etag = strchr(buf, '\n');
	if (!etag)
		return 0;
	etag++;
	end = etag + strcspn(etag, "\r\n");
	*end = '\0';
	/* an etag may come quoted ("..." or W/"...") from older writers */
	if (!strncmp(etag, "W/", 2))
		etag += 2;
	if (*etag == '"' && end > etag + 1 && end[-1] == '"') {
		etag++;
		*--end = '\0';
	}
	if (hex_kind(etag) == SUM_NONE)
		return 0;
	return record(f, etag, meta);
}

/*
 * The --local-dir folder that @dir is or lies in: *@root (malloc'ed) is
 * realpath(@dir) or the nearest of the ROOT_UP directories above it that
 * holds META_DIR, and *@sub the path from it down to @dir ("", or ending
 * in '/'); both NULL when there is none. Return: 0, -ENOMEM.
 */
static int local_root(const char *dir, char **root, char **sub)
{
	char *p = realpath(dir, NULL);
	size_t cut;
	int rc = 0;

	*root = *sub = NULL;
	if (!p)
		return errno == ENOMEM ? -ENOMEM : 0;
	cut = strlen(p);
	for (int up = 0; up <= ROOT_UP && !*root && !rc; up++) {
		char *r = strndup(p, cut),
		     *m = r ? df11_path_join(r, META_DIR) : NULL;
		const char *s = p + cut + (p[cut] == '/');
		struct stat st;

		if (!m)
			rc = -ENOMEM;
		else if (stat(m, &st) == 0 && S_ISDIR(st.st_mode)) {
			*sub = malloc(strlen(s) + 2);
			if (!*sub)
				rc = -ENOMEM;
			else
				sprintf(*sub, "%s%s", s, *s ? "/" : "");
			*root = rc ? NULL : r;
			r = rc ? r : NULL;
		}
		free(m);
		free(r);
		if (cut <= 1)
			break; /* "/" was the last */
		while (cut > 1 && p[--cut] != '/')
			; /* up to the previous '/', or "/" itself */
	}
	free(p);
	return rc;
}

/* Hash @f's file (a task of the pool); the result in @f->got, @f->rc. */
static void hash_task(void *arg, unsigned worker)
{
	static const char hex[] = "0123456789abcdef";
	struct sum_file *f = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *c = NULL;
	uint8_t *buf = NULL;
	unsigned mdlen = 0;
	uint64_t off = 0;
	struct stat st;
	int fd = -1, rc;

	(void)worker;
	rc = df11_store_openat(AT_FDCWD, f->path, DF11_STORE_FOLLOW, &fd, &st);
	if (rc) {
		f->rc = 1; /* the model's open reports it */
		return;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(SUM_PIECE);
	c = EVP_MD_CTX_new();
	if (!buf || !c ||
	    !EVP_DigestInit_ex(
		c, f->kind == SUM_SHA256 ? EVP_sha256() : EVP_sha1(), NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	if (f->kind == SUM_GIT_SHA1) {
		char head[32];
		int n = snprintf(head, sizeof(head), "blob %llu",
				 (unsigned long long)st.st_size);

		if (!EVP_DigestUpdate(c, head, (size_t)n + 1)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	while (off < (uint64_t)st.st_size) {
		size_t n = (uint64_t)st.st_size - off < SUM_PIECE
			       ? (size_t)((uint64_t)st.st_size - off)
			       : SUM_PIECE;

		if (df11_stopped()) {
			rc = -EINTR;
			goto out;
		}
		rc = df11_pread_full(fd, buf, n, off);
		if (rc)
			goto out;
		if (!EVP_DigestUpdate(c, buf, n)) {
			rc = -ENOMEM;
			goto out;
		}
		off += n;
		df11_prog_add(n);
	}
	if (!EVP_DigestFinal_ex(c, md, &mdlen)) {
		rc = -ENOMEM;
		goto out;
	}
	mdlen = mdlen < 32 ? mdlen : 32; /* sha256: 32 bytes, sha1: 20 */
	for (unsigned i = 0; i < mdlen; i++) {
		f->got[2 * i] = hex[md[i] >> 4];
		f->got[2 * i + 1] = hex[md[i] & 15];
	}
	f->got[2 * mdlen] = '\0';
	df11_prog_file();
out:
	if (rc)
		df11_fail_sys(rc, "read", f->path);
	f->rc = rc;
	EVP_MD_CTX_free(c);
	free(buf);
	close(fd);
}

/* The *.safetensors files of @dir, each with what is recorded for it. */
static int find(const char *dir, struct sum_file **out, size_t *nout)
{
	struct df11_store_name *v = NULL;
	struct sum_file *fs = NULL;
	char *root = NULL, *sub = NULL;
	size_t n = 0, k = 0;
	int fd, rc;

	*out = NULL;
	*nout = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the model's open reports it */
	rc = df11_store_list(fd, &v, &n);
	close(fd);
	if (rc)
		return 0;
	fs = calloc(n + 1, sizeof(*fs));
	rc = fs ? local_root(dir, &root, &sub) : -ENOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		struct sum_file *f = &fs[k];
		char *meta;

		if (!df11_store_is_safetensors(v[i].name))
			continue;
		k++;
		f->path = df11_path_join(dir, v[i].name);
		rc = f->path ? from_link(f) : -ENOMEM;
		if (rc || f->kind != SUM_NONE || !root)
			continue;
		meta = malloc(strlen(root) + strlen(sub) + strlen(v[i].name) +
			      sizeof("/" META_DIR "/.metadata"));
		if (!meta) {
			rc = -ENOMEM;
			continue;
		}
		sprintf(meta, "%s/" META_DIR "/%s%s.metadata",
			strcmp(root, "/") ? root : "", sub, v[i].name);
		rc = from_meta(f, meta);
		free(meta);
	}
	free(root);
	free(sub);
	df11_store_list_free(v, n);
	if (rc) {
		for (size_t i = 0; i < k; i++) {
			free(fs[i].path);
			free(fs[i].where);
		}
		free(fs);
		return df11_fail_sys(rc, "read", dir);
	}
	*out = fs;
	*nout = k;
	return 0;
}

/* Hash the files of @fs that have a recorded digest, -j threads. */
static int hash_all(const struct df11_opts *o, struct sum_file *fs, size_t n)
{
	struct df11_pool *p = NULL;
	uint64_t bytes = 0;
	size_t todo = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (fs[i].kind == SUM_NONE)
			continue;
		todo++;
		if (stat(fs[i].path, &st) == 0 && S_ISREG(st.st_mode))
			bytes += (uint64_t)st.st_size;
	}
	if (!todo)
		return 0;
	rc = df11_pool_new(&p, o->threads < todo ? o->threads : (unsigned)todo);
	if (rc)
		return df11_fail_sys(rc, "hash", fs[0].path);
	df11_prog_start(!o->quiet, "hashing", todo, bytes);
	for (size_t i = 0; !rc && i < n; i++)
		if (fs[i].kind != SUM_NONE &&
		    (rc = df11_pool_submit(p, hash_task, &fs[i])))
			df11_fail_sys(rc, "hash", fs[i].path);
	df11_pool_free(p);
	df11_prog_stop();
	return rc;
}

int df11_off_sum_check(const struct df11_opts *o, const char *dir)
{
	struct sum_file *fs = NULL;
	size_t n = 0, n_known = 0, n_rec = 0, n_ok = 0;
	int rc = find(dir, &fs, &n);

	if (!rc)
		rc = hash_all(o, fs, n);
	for (size_t i = 0; !rc && i < n; i++) {
		struct sum_file *f = &fs[i];

		n_known += f->kind != SUM_NONE;
		if (f->kind == SUM_NONE || f->rc)
			continue; /* not recorded, or reported */
		n_rec++;
		if (!strcmp(f->got, f->want)) {
			n_ok++;
			continue;
		}
		df11_mismatch(
		    "'%s': %s %s differs from %s, recorded by "
		    "huggingface_hub %s'%s'",
		    f->path, f->kind == SUM_SHA256 ? "sha256" : "git blob sha1",
		    f->got, f->want, f->link ? "as the link's target " : "in ",
		    f->where);
	}
	for (size_t i = 0; !rc && !o->quiet && n_known && i < n; i++)
		if (fs[i].kind == SUM_NONE)
			df11_prog_printf("not checked '%s': no hash recorded "
					 "by huggingface_hub",
					 fs[i].path);
	if (!rc && !o->quiet && n && !n_known)
		df11_prog_printf("not checked: no hash recorded by "
				 "huggingface_hub for the %zu *.safetensors "
				 "files of '%s' (neither a hub cache snapshot "
				 "nor a download --local-dir folder)",
				 n, dir);
	else if (!rc && !o->quiet && n_ok && n_ok == n_rec)
		df11_prog_printf("ok: %zu of %zu *.safetensors files of '%s' "
				 "have the hash huggingface_hub recorded",
				 n_ok, n, dir);
	for (size_t i = 0; i < n; i++) {
		free(fs[i].path);
		free(fs[i].where);
	}
	free(fs);
	return rc;
}
