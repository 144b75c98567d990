// SPDX-License-Identifier: MIT
/*
 * tools/verify.c - what df11 verify adds to the decoding engine: mismatch
 * reports, the comparison of two trees, and of two plain files
 *
 * A mismatch is not fatal to verify: each one is reported (the first
 * DF11_MAX_REPORTS of them; then they are only counted) and the run goes
 * on, so one pass over a damaged model shows the extent of the damage.
 * The exit status is then DF11_EX_MISMATCH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/tool_i.h"

#define CMP_PIECE (4u << 20)

static _Atomic uint64_t g_mismatches;

void df11_mismatch(const char *fmt, ...)
{
	uint64_t n = atomic_fetch_add(&g_mismatches, 1);
	char line[1024];
	va_list ap;

	if (n > DF11_MAX_REPORTS)
		return;
	if (n == DF11_MAX_REPORTS) {
		df11_fail(DF11_EX_MISMATCH, "more mismatches, not shown");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	df11_fail(DF11_EX_MISMATCH, "%s", line);
}

uint64_t df11_mismatches(void)
{
	return atomic_load(&g_mismatches);
}

uint64_t df11_trees_compare(const struct df11_tree *dst,
			    const struct df11_tree *src)
{
	size_t i = 0, k = 0;
	uint64_t diff = 0;

	while (i < dst->n || k < src->n) {
		int c = i == dst->n ? 1
			: k == src->n
			    ? -1
			    : df11_path_cmp(dst->v[i].rel, src->v[k].rel);

		if (c < 0) {
			df11_mismatch("'%s/%s': not in '%s'", dst->root,
				      dst->v[i++].rel, src->root);
			diff++;
		} else if (c > 0) {
			df11_mismatch("'%s/%s': missing from '%s'", src->root,
				      src->v[k++].rel, dst->root);
			diff++;
		} else {
			if (S_ISDIR(dst->v[i].st.st_mode) !=
			    S_ISDIR(src->v[k].st.st_mode)) {
				df11_mismatch("'%s/%s': file type differs "
					      "from '%s'",
					      dst->root, dst->v[i].rel,
					      src->root);
				diff++;
			}
			i++;
			k++;
		}
	}
	return diff;
}

size_t df11_first_diff(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	size_t i = 0;

	if (!memcmp(x, y, n))
		return n;
	while (i < n && x[i] == y[i])
		i++;
	return i;
}

/* Compare the open files @fa and @fb, @size bytes each. */
static int compare_fds(int fa, const char *a, int fb, const char *b,
		       uint64_t size)
{
	uint8_t *x = malloc(CMP_PIECE), *y = malloc(CMP_PIECE);
	uint64_t off = 0;
	int rc = 0;

	if (!x || !y) {
		rc = df11_fail_sys(-ENOMEM, "compare", a);
		goto out;
	}
	while (off < size) {
		size_t n = size - off < CMP_PIECE ? (size_t)(size - off)
						  : CMP_PIECE,
		       d;

		if (df11_stopped()) {
			rc = -EINTR;
			break;
		}
		rc = df11_pread_full(fa, x, n, off);
		if (rc) {
			df11_fail_sys(rc, "read", a);
			break;
		}
		rc = df11_pread_full(fb, y, n, off);
		if (rc) {
			df11_fail_sys(rc, "read", b);
			break;
		}
		d = df11_first_diff(x, y, n);
		if (d < n) {
			df11_mismatch("'%s': differs from '%s' at offset %llu",
				      a, b, (unsigned long long)(off + d));
			rc = 1;
			break;
		}
		off += n;
		df11_prog_add(n);
	}
out:
	free(y);
	free(x);
	return rc;
}

int df11_files_compare(const char *a, const char *b)
{
	struct stat sa, sb;
	int fa, fb = -1, rc;

	fa = open(a, O_RDONLY | O_CLOEXEC);
	if (fa < 0)
		return df11_fail_sys(-errno, "open", a);
	fb = open(b, O_RDONLY | O_CLOEXEC);
	if (fb < 0) {
		rc = df11_fail_sys(-errno, "open", b);
		goto out;
	}
	if (fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0) {
		rc = df11_fail_sys(-errno, "stat", a);
		goto out;
	}
	if (sa.st_size != sb.st_size) {
		df11_mismatch("'%s': size %lld differs from '%s' (%lld bytes)",
			      a, (long long)sa.st_size, b,
			      (long long)sb.st_size);
		rc = 1;
		goto out;
	}
	posix_fadvise(fa, 0, 0, POSIX_FADV_SEQUENTIAL);
	posix_fadvise(fb, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = compare_fds(fa, a, fb, b, (uint64_t)sa.st_size);
out:
	if (fb >= 0)
		close(fb);
	close(fa);
	return rc;
}
