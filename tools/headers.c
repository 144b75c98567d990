// SPDX-License-Identifier: MIT
/*
 * tools/headers.c - df11 headers ORIGINAL_DIR: describe an original model
 *
 * Writes to standard output what an official DFloat11 directory cannot
 * say about the model it came from: the name, size and exact header bytes
 * (base64 of [0, 8 + N)) of every top-level *.safetensors file of
 * ORIGINAL_DIR, and the index json if there is one:
 *
 *   {"format": "df11-headers", "version": 1,
 *    "files": [{"name", "size", "header"}],
 *    "index": {"name", "data"}}
 *
 * Given back with --headers (df11) or -o headers= (df11fs), it makes the
 * rebuilt files the original files, byte for byte, and supplies every
 * shape (official/headers.c).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "official/official.h"
#include "tools/official_i.h"

/* base64 of @p (@n bytes) as a new JSON string */
static json_t *b64_json(const uint8_t *p, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				 "qrstuvwxyz0123456789+/";
	char *s = malloc(n / 3 * 4 + 5), *o = s;
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 |
			     (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		*o++ = al[v >> 18];
		*o++ = al[(v >> 12) & 63];
		*o++ = i + 1 < n ? al[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
	}
	*o = '\0';
	j = json_string(s);
	free(s);
	return j;
}

static int add_file(json_t *files, const char *dir, const char *name)
{
	struct df11_input in;
	char *p = df11_path_join(dir, name);
	int rc;

	if (!p)
		return df11_fail_sys(-ENOMEM, "read", dir);
	rc = df11_input_open(&in, p, DF11_IN_HEADER);
	free(p);
	if (!rc && json_array_append_new(
		       files, json_pack("{s:s, s:I, s:o}", "name", name, "size",
					(json_int_t)in.size, "header",
					b64_json(in.hdr, in.hdr_len))))
		rc = df11_fail_sys(-ENOMEM, "read", name);
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
	json_t *doc = json_pack("{s:s, s:i, s:[]}", "format", "df11-headers",
				"version", 1, "files");
	char **names = calloc(1, sizeof(char *)), *txt = NULL, *p;
	const char *idx;
	size_t n = 0, len = 0;
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
	for (size_t i = 0; !rc && doc && i < n; i++)
		if (df11_is_safetensors(names[i]))
			rc = add_file(json_object_get(doc, "files"), dir,
				      names[i]);
	idx = rc ? NULL : pick_index(names, n);
	if (idx && (p = df11_path_join(dir, idx))) {
		rc = df11_off_slurp(p, &txt, &len, DF11_OFF_HEADERS_MAX / 2);
		if (!rc)
			json_object_set_new(
			    doc, "index",
			    json_pack("{s:s, s:o}", "name", idx, "data",
				      b64_json((const uint8_t *)txt, len)));
		free(txt);
		free(p);
	}
	if (!rc && doc) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	}
	json_decref(doc);
	df11_names_free(names, n);
	df11_tree_free(&t);
	fflush(stdout);
	return df11_status();
}
