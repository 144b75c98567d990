// SPDX-License-Identifier: MIT
/*
 * tools/headers.c - df11 headers ORIGINAL_DIR: describe an original model
 *
 * Writes to standard output what an official DFloat11 directory cannot
 * say about the model it came from: the name, size and exact header bytes
 * (base64 of [0, 8 + N)) of every top-level *.safetensors file of
 * ORIGINAL_DIR, and the index json if there is one, as a df11-headers
 * file (its format and version are official/'s: df11_off_headers_encode()).
 *
 * Given back with --headers (df11) or -o headers= (df11fs), it makes the
 * rebuilt files the original files, byte for byte, and supplies every
 * shape (official/headers.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "official/official.h"
#include "tools/official_i.h"

/* the name, size and header bytes of original file @name (kept in @f) */
static int add_file(struct df11_off_hfile *f, const char *dir, const char *name)
{
	struct df11_input in;
	char *p = df11_path_join(dir, name);
	int rc;

	if (!p)
		return df11_fail_sys(-ENOMEM, "read", dir);
	rc = df11_input_open(&in, p, DF11_IN_HEADER);
	free(p);
	if (!rc) {
		*f = (struct df11_off_hfile){name, in.size, in.hdr, in.hdr_len};
		in.hdr = NULL; /* now @f's */
	}
	df11_input_close(&in);
	return rc;
}

static const char *pick_index(char **names, size_t n)
{
	const char *found = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (l > 23 &&
		    !strcmp(names[i] + l - 23, ".safetensors.index.json") &&
		    (!found ||
		     !strcmp(names[i], "model.safetensors.index.json")))
			found = names[i];
	}
	return found;
}

int df11_cmd_headers(const struct df11_opts *o, const char *dir)
{
	struct df11_tree t;
	struct df11_off_hfile *files = NULL;
	char **names = calloc(1, sizeof(char *)), *txt = NULL, *out = NULL, *p;
	const char *idx;
	size_t n = 0, nf = 0, len = 0, out_len = 0;
	int rc;

	(void)o;
	rc = df11_tree_scan(&t, dir);
	for (size_t i = 0; !rc && i < t.n; i++) {
		char **v;

		if (strchr(t.v[i].rel, '/') || !S_ISREG(t.v[i].st.st_mode))
			continue;
		if (!(v = realloc(names, (n + 1) * sizeof(*v))) ||
		    !(v[n] = strdup(t.v[i].rel)))
			rc = df11_fail_sys(-ENOMEM, "read", dir);
		names = v ? v : names;
		n += !rc;
	}
	if (!rc && !(files = calloc(n + 1, sizeof(*files))))
		rc = df11_fail_sys(-ENOMEM, "read", dir);
	for (size_t i = 0; !rc && i < n; i++)
		if (df11_is_safetensors(names[i]) &&
		    !(rc = add_file(&files[nf], dir, names[i])))
			nf++;
	idx = rc ? NULL : pick_index(names, n);
	if (idx && (p = df11_path_join(dir, idx))) {
		rc = df11_off_slurp(p, &txt, &len, DF11_OFF_HEADERS_MAX / 2);
		free(p);
	}
	if (!rc && df11_off_headers_encode(&out, &out_len, files, nf, idx,
					   (const uint8_t *)txt, len))
		rc = df11_fail_sys(-ENOMEM, "read", dir);
	if (!rc) {
		fwrite(out, 1, out_len, stdout);
		putchar('\n');
	}
	free(out);
	free(txt);
	for (size_t i = 0; i < nf; i++)
		free((void *)files[i].header);
	free(files);
	df11_names_free(names, n);
	df11_tree_free(&t);
	fflush(stdout);
	return df11_status();
}
