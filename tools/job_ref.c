// SPDX-License-Identifier: MIT
/*
 * tools/job_ref.c - verify with SRC: decoded bytes against the originals
 *
 * Two ways to find the original bytes of a chunk:
 *
 *   same offset  SRC's file of the same name holds the chunk at the same
 *                offset. A native container restores its file byte for
 *                byte, and so does an official directory read with the
 *                original headers, so the size and the header bytes are
 *                compared too (df11_ref_open).
 *   by name      an official directory is rebuilt as a standard layout
 *                that may differ from SRC's in shards, order and header
 *                bytes; a chunk lies inside one tensor, so its bytes are
 *                those of the tensor of the same name in any of SRC's
 *                top-level *.safetensors files (struct df11_refs).
 *
 * Either way a difference is reported as a mismatch naming file, tensor
 * and offset, and verify goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/job_i.h"

struct df11_refs {
	struct df11_input *in; /* SRC's top-level safetensors files */
	size_t n_in, n_tensors;
	char *root;
};

int df11_refs_new(struct df11_refs **out, const struct df11_tree *t)
{
	struct df11_refs *r = calloc(1, sizeof(*r));
	int rc = 0;

	*out = NULL;
	if (!r || !(r->in = calloc(t->n + 1, sizeof(*r->in))) ||
	    !(r->root = strdup(t->root))) {
		df11_refs_free(r);
		return df11_fail_sys(-ENOMEM, "read", t->root);
	}
	for (size_t i = 0; !rc && i < t->n; i++) {
		struct df11_input *in = &r->in[r->n_in];
		char *p;

		if (strchr(t->v[i].rel, '/') ||
		    !df11_is_safetensors(t->v[i].rel))
			continue;
		p = df11_path_join(t->root, t->v[i].rel);
		rc = p ? df11_input_open(in, p, DF11_IN_PARSE)
		       : df11_fail_sys(-ENOMEM, "read", t->root);
		free(p);
		r->n_in++;
		if (!rc)
			r->n_tensors += df11_st_n_tensors(in->sth);
	}
	if (rc) {
		df11_refs_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

size_t df11_refs_count(const struct df11_refs *r)
{
	return r ? r->n_tensors : 0;
}

void df11_refs_free(struct df11_refs *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_in; i++)
		df11_input_close(&r->in[i]);
	free(r->in);
	free(r->root);
	free(r);
}

const struct df11_st_tensor *df11_st_at(const struct df11_st *st, uint64_t rel)
{
	const struct df11_st_tensor *t = NULL;
	const size_t *ord;
	size_t lo = 0, hi;

	if (!st)
		return NULL;
	ord = df11_st_order(st);
	hi = df11_st_n_tensors(st);
	while (lo < hi) { /* the last tensor with begin <= rel */
		size_t mid = lo + (hi - lo) / 2;

		if (df11_st_tensor(st, ord[mid])->begin <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo)
		t = df11_st_tensor(st, ord[lo - 1]);
	return t && rel < t->end ? t : NULL;
}

/* Report a difference at byte @at of @label. */
static void differs(const char *label, const struct df11_st_tensor *t,
		    uint64_t at, const char *ref)
{
	if (t)
		df11_mismatch("'%s': tensor '%s' at offset %llu: differs "
			      "from '%s'",
			      label, t->name, (unsigned long long)at, ref);
	else
		df11_mismatch("'%s': offset %llu: differs from '%s'", label,
			      (unsigned long long)at, ref);
}

int df11_refs_compare(const struct df11_refs *r, const char *label,
		      const struct df11_st *st, uint64_t data0,
		      const uint8_t *buf, uint8_t *tmp, uint64_t off,
		      uint64_t len)
{
	const struct df11_st_tensor *t, *x = NULL;
	const struct df11_input *in = NULL;
	uint64_t rel = off - data0;
	size_t d;
	int rc;

	if (off < data0 || !(t = df11_st_at(st, rel)))
		return 0; /* bytes no tensor covers */
	for (size_t i = 0; !x && i < r->n_in; i++)
		x = df11_st_find((in = &r->in[i])->sth, t->name);
	if (!x || x->end - x->begin != t->end - t->begin) {
		if (rel != t->begin)
			return 0; /* reported at the tensor's first chunk */
		df11_mismatch("'%s': tensor '%s' %s '%s'", label, t->name,
			      x ? "differs in size from" : "is not in",
			      r->root);
		return 1;
	}
	rc = df11_pread_full(in->fd, tmp, (size_t)len,
			     in->hdr_len + x->begin + (rel - t->begin));
	if (rc)
		return df11_fail_sys(rc, "read", in->path);
	d = df11_first_diff(buf, tmp, (size_t)len);
	if (d == len)
		return 0;
	differs(label, t, off + d, r->root);
	return 1;
}

int df11_ref_compare(int fd, const char *ref, const char *label,
		     const struct df11_st *st, uint64_t data0,
		     const uint8_t *buf, uint8_t *tmp, uint64_t off,
		     uint64_t len)
{
	int rc = df11_pread_full(fd, tmp, (size_t)len, off);
	size_t d;

	if (rc)
		return df11_fail_sys(rc, "read", ref);
	d = df11_first_diff(buf, tmp, (size_t)len);
	if (d == len)
		return 0;
	differs(label, off >= data0 ? df11_st_at(st, off - data0) : NULL,
		off + d, ref);
	return 1;
}

int df11_ref_open(const char *ref, const char *label, uint64_t size,
		  const uint8_t *prefix, size_t plen, int *fd)
{
	struct stat st;
	uint8_t *buf;
	size_t d;
	int rc;

	*fd = open(ref, O_RDONLY | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT) {
		df11_mismatch("'%s': '%s' does not exist", label, ref);
		return 1;
	}
	if (*fd < 0 || fstat(*fd, &st) < 0)
		return df11_fail_sys(-errno, "open", ref);
	if ((uint64_t)st.st_size != size) {
		df11_mismatch("'%s': size %llu differs from '%s' (%lld bytes)",
			      label, (unsigned long long)size, ref,
			      (long long)st.st_size);
		close(*fd);
		*fd = -1; /* still decode and check the checksums */
		return 1;
	}
	posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	buf = malloc(plen ? plen : 1);
	if (!buf)
		return df11_fail_sys(-ENOMEM, "read", ref);
	rc = df11_pread_full(*fd, buf, plen, 0);
	d = rc ? 0 : df11_first_diff(prefix, buf, plen);
	free(buf);
	if (rc)
		return df11_fail_sys(rc, "read", ref);
	if (d == plen)
		return 0;
	df11_mismatch("'%s': header at offset %zu: differs from '%s'", label, d,
		      ref);
	return 1;
}
