// SPDX-License-Identifier: MIT
/*
 * tools/info.c - df11 info [--json] DST: one document for every kind of
 * directory
 *
 * Lists every file of what DST shows (a native DF11 tree, one file of it,
 * or an official DFloat11 directory: official_info.c) and, for safetensors
 * files, every tensor in file order. A file's "size" is that of the file
 * as decompressed (or shown by the mount), "stored" the bytes it is read
 * from, "ratio" stored / size. The facts are gathered into one jansson
 * document that is either printed as JSON or rendered as text, so both
 * forms say the same. The schema (version 1; man/df11.1 documents it):
 *
 *   {"format": "df11fs-info", "version": 1,
 *    "kind": "native" | "official", "path": DST,
 *    "dfloat11_version": null | "0.5.0",
 *    "units": [{"path", "file", "weights", "luts", "blocks", "stored",
 *               "bits_per_weight", "pieces": [tensor names]}],
 *    "files": [{"name", "kind", "container", "size", "stored", "ratio",
 *               "links": [paths],
 *               "tensors": [{"name", "dtype", "shape", "codec", "bytes",
 *                            "stored", "ratio", "bits_per_weight"}]}],
 *    "total": {"files", "size", "stored", "ratio"}}
 *
 * Every key is present for both kinds. "units" are the compressed units
 * of an official directory, whose streams several tensors share ([] for a
 * native tree, where every df11 tensor is its own unit). A file's "kind"
 * is "container" (a native DF11 container), "official" (a safetensors
 * file rebuilt from an official directory; a tensor's "stored" is then
 * its share of its unit, by weights) or "file" (shown as it is: stored ==
 * size; this includes the rewritten config.json and the generated index
 * json of an official directory); "container" is true for the first two.
 * Ratios of empty things are null. A file that cannot be read is
 * reported and left out; the exit status then says why.
 *
 * Links inside a native tree are not files of their own: each stored file
 * is listed once, sorted by name, with the links that resolve to it in
 * "links" (paths relative to DST; [] for official files). A Hugging Face
 * hub blob ("blobs/<hash>", named by no extension) is listed under the
 * first of its snapshot links instead, the name a loader opens; so the
 * totals count every stored byte once, however many revisions share it.
 *
 * Names come from the files (tensor names, file names, a config.json's
 * version string) and may hold anything: the text form never writes a
 * control character to the terminal. Each byte of C0 (below 0x20), DEL
 * and each C1 control (U+0080..U+009F: 0x9b is CSI for some terminals)
 * is written as \xNN or \u00NN, a backslash as \\, a byte that is not
 * part of valid UTF-8 as \xNN; the rest of UTF-8 passes. JSON needs no
 * such care: jansson writes controls as \u00NN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/container.h"
#include "tools/info_i.h"

json_t *df11_info_str(const char *s)
{
	json_t *j = json_string(s);
	char *c;

	if (j || !s)
		return j;
	c = strdup(s);
	if (!c)
		return NULL;
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j;
}

json_t *df11_info_ratio(uint64_t stored, uint64_t size)
{
	return size ? json_real((double)stored / (double)size) : json_null();
}

json_t *df11_info_tensor(const struct df11_st_tensor *t, const char *codec,
			 uint64_t stored)
{
	uint64_t bytes = t->end - t->begin;
	json_t *shape = json_array();

	for (unsigned d = 0; shape && d < t->n_dims; d++)
		json_array_append_new(shape,
				      json_integer((json_int_t)t->shape[d]));
	return json_pack(
	    "{s:o, s:s, s:o, s:s, s:I, s:I, s:o, s:o}", "name",
	    df11_info_str(t->name), "dtype", df11_dtype_name(t->dtype), "shape",
	    shape, "codec", codec, "bytes", (json_int_t)bytes, "stored",
	    (json_int_t)stored, "ratio", df11_info_ratio(stored, bytes),
	    "bits_per_weight",
	    t->n_elems && bytes
		? json_real((double)stored * 8.0 / (double)t->n_elems)
		: json_null());
}

json_t *df11_info_file(const char *name, const char *kind, uint64_t size,
		       uint64_t stored, json_t *tensors)
{
	return json_pack("{s:o, s:s, s:b, s:I, s:I, s:o, s:o, s:o}", "name",
			 df11_info_str(name), "kind", kind, "container",
			 strcmp(kind, "file") != 0, "size", (json_int_t)size,
			 "stored", (json_int_t)stored, "ratio",
			 df11_info_ratio(stored, size), "links", json_array(),
			 "tensors", tensors ? tensors : json_array());
}

/* The tensors of a container, in file order, with their segments. */
static int ct_tensors(const struct df11_ct *ct, json_t *arr)
{
	const struct df11_st *st = df11_ct_orig(ct);
	const size_t *order = df11_st_order(st);
	size_t n = df11_st_n_tensors(st), ns = df11_ct_n_segments(ct), k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct df11_st_tensor *t = df11_st_tensor(st, order[i]);
		const struct df11_ct_seg *s = NULL;

		for (size_t m = k; m < ns && t->end > t->begin; m++) {
			if (df11_ct_segment(ct, m)->tensor == t) {
				s = df11_ct_segment(ct, m);
				k = m + 1;
				break;
			}
		}
		if (json_array_append_new(
			arr, df11_info_tensor(
				 t, s ? df11_codec_name(s->codec) : "none",
				 s ? s->stored : 0)))
			return -ENOMEM;
	}
	return 0;
}

static int plain_tensors(const struct df11_st *st, json_t *arr)
{
	const size_t *order = df11_st_order(st);

	for (size_t i = 0; i < df11_st_n_tensors(st); i++) {
		const struct df11_st_tensor *t = df11_st_tensor(st, order[i]);

		if (json_array_append_new(
			arr, df11_info_tensor(t, "raw", t->end - t->begin)))
			return -ENOMEM;
	}
	return 0;
}

/* df11_info_disk() with df11_input_open flags @how */
static int info_disk(const char *path, const char *name, unsigned how,
		     json_t **out)
{
	struct df11_input in;
	json_t *arr = json_array();
	int rc;

	*out = NULL;
	rc = df11_input_open(&in, path, DF11_IN_PARSE | how);
	if (rc)
		goto out;
	rc = -ENOMEM;
	if (!arr || (in.ct && ct_tensors(in.ct, arr)) ||
	    (!in.ct && in.sth && plain_tensors(in.sth, arr)))
		goto out;
	*out =
	    df11_info_file(name, in.ct ? "container" : "file",
			   in.ct ? df11_ct_size(in.ct) : in.size, in.size, arr);
	arr = NULL;
	rc = *out ? 0 : -ENOMEM;
out:
	if (rc == -ENOMEM)
		df11_fail_sys(rc, "read", path);
	json_decref(arr);
	df11_input_close(&in);
	return rc;
}

int df11_info_disk(const char *path, const char *name, json_t **out)
{
	return info_disk(path, name, 0, out);
}

/*
 * The length of the valid UTF-8 character at @p (1..4), or 0 when @p does
 * not start one (stray continuation, overlong form, surrogate, past
 * U+10FFFF, cut short).
 */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned min;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, min = p[0] == 0xe0 ? 0xa0 : 0x80;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, min = p[0] == 0xf0 ? 0x90 : 0x80;
	else
		return 0;
	/* the second byte's range rules out overlongs, surrogates, > 10FFFF */
	if (p[1] < min || p[1] > (p[0] == 0xed || p[0] == 0xf4 ? 0x9f : 0xbf))
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * The text form of the character at @p, NUL-terminated in @out (at most
 * 7 bytes: "\u009b"): itself, or its escape (see the top of this file).
 * Return: the bytes of @p it stands for (0 at the end of the string).
 */
static size_t esc_char(const char *p, char out[8])
{
	const unsigned char *u = (const unsigned char *)p;
	size_t n = *u ? utf8_len(u) : 0;

	if (!*u) {
		out[0] = '\0';
	} else if (!n || *u < 0x20 || *u == 0x7f) {
		snprintf(out, 8, "\\x%02x", *u);
		n = 1;
	} else if (*u == '\\') {
		snprintf(out, 8, "\\\\");
	} else if (n == 2 && u[0] == 0xc2 && u[1] < 0xa0) {
		snprintf(out, 8, "\\u%04x", u[1]);
	} else {
		memcpy(out, p, n);
		out[n] = '\0';
	}
	return n;
}

/* @s escaped into @buf of @len bytes, cut before an escape that does not
 * fit. Return: the bytes written (without the NUL). */
static size_t esc(const char *s, char *buf, size_t len)
{
	size_t at = 0, n;
	char c[8];

	if (!len)
		return 0;
	while ((n = esc_char(s, c)) && at + strlen(c) < len) {
		memcpy(buf + at, c, strlen(c));
		at += strlen(c);
		s += n;
	}
	buf[at] = '\0';
	return at;
}

/* @s escaped to stdout, however long */
static void put_esc(const char *s)
{
	size_t n;
	char c[8];

	while ((n = esc_char(s, c))) {
		fputs(c, stdout);
		s += n;
	}
}

static uint64_t jint(const json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

static const char *jtext(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void num(const json_t *v, int prec, char *buf, size_t len)
{
	if (json_is_real(v))
		snprintf(buf, len, "%.*f", prec, json_real_value(v));
	else
		snprintf(buf, len, "-");
}

/* "NAME  DTYPE  [D0, D1]": the first column of a tensor table */
static void tensor_title(const json_t *t, char *buf, size_t len)
{
	const json_t *shape = json_object_get(t, "shape");
	size_t at = esc(jtext(t, "name"), buf, len);

	at += esc("  ", buf + at, len - at);
	at += esc(jtext(t, "dtype"), buf + at, len - at);
	at += esc("  [", buf + at, len - at);
	for (size_t i = 0; i < json_array_size(shape) && at < len; i++)
		at += (size_t)snprintf(
		    buf + at, len - at, "%s%lld", i ? ", " : "",
		    (long long)json_integer_value(json_array_get(shape, i)));
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/* column widths of a tensor table */
struct widths {
	int title, bytes, stored;
};

static void table_widths(const json_t *ts, struct widths *w)
{
	char buf[1024];

	*w = (struct widths){20, 5, 6}; /* the column titles */
	for (size_t i = 0; i < json_array_size(ts); i++) {
		const json_t *t = json_array_get(ts, i);

		tensor_title(t, buf, sizeof(buf));
		w->title = imax(w->title, (int)strlen(buf));
		w->bytes = imax(w->bytes, df11_digits(jint(t, "bytes")));
		w->stored = imax(w->stored, df11_digits(jint(t, "stored")));
	}
}

/* Text form of one file record: a title line, then a tensor table. */
static void print_file(const json_t *f)
{
	const json_t *ts = json_object_get(f, "tensors");
	char r[32], bpw[32], buf[1024];
	struct widths w;

	const json_t *v;
	size_t k;

	num(json_object_get(f, "ratio"), 3, r, sizeof(r));
	put_esc(jtext(f, "name"));
	printf(": %s, %llu -> %llu bytes, ratio %s\n", jtext(f, "kind"),
	       (unsigned long long)jint(f, "size"),
	       (unsigned long long)jint(f, "stored"), r);
	json_array_foreach(json_object_get(f, "links"), k, v) {
		fputs("  also as ", stdout);
		put_esc(json_string_value(v));
		putchar('\n');
	}
	if (!json_array_size(ts))
		return;
	table_widths(ts, &w);
	printf("  %-*s  %-5s  %*s  %*s  %6s  %6s\n", w.title,
	       "TENSOR  DTYPE  SHAPE", "CODEC", w.bytes, "BYTES", w.stored,
	       "STORED", "RATIO", "BITS/W");
	for (size_t i = 0; i < json_array_size(ts); i++) {
		const json_t *t = json_array_get(ts, i);

		tensor_title(t, buf, sizeof(buf));
		num(json_object_get(t, "ratio"), 3, r, sizeof(r));
		num(json_object_get(t, "bits_per_weight"), 2, bpw, sizeof(bpw));
		printf("  %-*s  %-5s  %*llu  %*llu  %6s  %6s\n", w.title, buf,
		       jtext(t, "codec"), w.bytes,
		       (unsigned long long)jint(t, "bytes"), w.stored,
		       (unsigned long long)jint(t, "stored"), r, bpw);
	}
}

/* Text form of the whole document. */
static void print_text(const json_t *doc)
{
	const json_t *v, *tot = json_object_get(doc, "total");
	char r[32];
	size_t i;

	if (!json_is_null(json_object_get(doc, "dfloat11_version"))) {
		printf("official DFloat11 directory, version ");
		put_esc(jtext(doc, "dfloat11_version"));
		putchar('\n');
	}
	json_array_foreach(json_object_get(doc, "units"), i, v)
	{
		num(json_object_get(v, "bits_per_weight"), 2, r, sizeof(r));
		printf("unit ");
		put_esc(jtext(v, "path"));
		printf(" (");
		put_esc(jtext(v, "file"));
		printf("): %llu weights, %llu luts rows, %llu "
		       "blocks, %llu bytes stored, %s bits/weight\n",
		       (unsigned long long)jint(v, "weights"),
		       (unsigned long long)jint(v, "luts"),
		       (unsigned long long)jint(v, "blocks"),
		       (unsigned long long)jint(v, "stored"), r);
	}
	json_array_foreach(json_object_get(doc, "files"), i, v) print_file(v);
	num(json_object_get(tot, "ratio"), 3, r, sizeof(r));
	printf("total: %llu files, %llu -> %llu bytes, ratio %s\n",
	       (unsigned long long)jint(tot, "files"),
	       (unsigned long long)jint(tot, "size"),
	       (unsigned long long)jint(tot, "stored"), r);
}

int df11_info_emit(const struct df11_opts *o, const char *path,
		   const char *kind, const char *dfl_version, json_t *units,
		   json_t *files)
{
	uint64_t size = 0, stored = 0;
	json_t *doc, *f;
	size_t i;

	json_array_foreach(files, i, f)
	{
		size += jint(f, "size");
		stored += jint(f, "stored");
	}
	doc = json_pack("{s:s, s:i, s:s, s:o, s:s?, s:o, s:O, s:{s:I, s:I, "
			"s:I, s:o}}",
			"format", DF11_INFO_FORMAT, "version",
			DF11_INFO_VERSION, "kind", kind, "path",
			df11_info_str(path), "dfloat11_version", dfl_version,
			"units", units ? units : json_array(), "files", files,
			"total", "files", (json_int_t)json_array_size(files),
			"size", (json_int_t)size, "stored", (json_int_t)stored,
			"ratio", df11_info_ratio(stored, size));
	json_decref(files);
	if (!doc) {
		df11_fail_sys(-ENOMEM, "list", path);
	} else if (o->json) {
		json_dumpf(doc, stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       JSON_REAL_PRECISION(6));
		putchar('\n');
	} else {
		print_text(doc);
	}
	json_decref(doc);
	fflush(stdout);
	return df11_status();
}

/* records by "name", in the order of struct df11_tree */
static int rec_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return df11_path_cmp(json_string_value(json_object_get(x, "name")),
			     json_string_value(json_object_get(y, "name")));
}

/* Sort the records of @files by name (a blob's is its link's). */
static int sort_records(json_t *files)
{
	size_t n = json_array_size(files);
	json_t **v = n ? calloc(n, sizeof(*v)) : NULL;
	int rc = 0;

	if (n && !v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(files, i));
	if (n > 1)
		qsort(v, n, sizeof(*v), rec_cmp);
	json_array_clear(files);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(files, v[i]))
			rc = -ENOMEM;
	free(v);
	return rc;
}

/* kept links by target, then by path */
static int link_cmp(const void *a, const void *b)
{
	const struct df11_entry *x = *(const struct df11_entry *const *)a;
	const struct df11_entry *y = *(const struct df11_entry *const *)b;
	int c = df11_path_cmp(x->dest, y->dest);

	return c ? c : df11_path_cmp(x->rel, y->rel);
}

/* Is @rel directly in a folder named "blobs" (a hub blob)? */
static bool is_blob(const char *rel)
{
	const char *s = strrchr(rel, '/');

	if (!s)
		return false;
	return s - rel == 5 ? !strncmp(rel, "blobs", 5)
			    : s - rel > 5 && !strncmp(s - 6, "/blobs", 6);
}

/*
 * The record of regular file @e of @t; @lk, @n: the links to it. A hub
 * blob is named by its first link (snapshots/REV/x.safetensors); every
 * other link is in "links". A file is parsed when a name says
 * ".safetensors" or its content says container (a blob has no name).
 */
static int file_record(const struct df11_tree *t, const struct df11_entry *e,
		       const struct df11_entry *const *lk, size_t n,
		       json_t **out)
{
	const char *name = n && is_blob(e->rel) ? lk[0]->rel : e->rel;
	char *p = df11_path_join(t->root, e->rel);
	json_t *links = json_array();
	unsigned how = 0;
	int rc;

	*out = NULL;
	if (!p || !links) {
		free(p);
		json_decref(links);
		return df11_fail_sys(-ENOMEM, "read", t->root);
	}
	if (e->container || df11_is_safetensors(name) || df11_input_sniff(p))
		how = DF11_IN_ANY;
	rc = info_disk(p, name, how, out);
	free(p);
	for (size_t i = 0; !rc && i < n; i++)
		if (lk[i]->rel != name &&
		    json_array_append_new(links, df11_info_str(lk[i]->rel)))
			rc = df11_fail_sys(-ENOMEM, "read", t->root);
	if (!rc && json_object_set_new(*out, "links", links))
		rc = df11_fail_sys(-ENOMEM, "read", t->root);
	else if (rc)
		json_decref(links);
	if (rc) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * Gather the records of @path (a directory or one file) into @files.
 * Links that stay inside @path are kept as links (tools/walk.c), so every
 * file is listed once whatever links to it (a hub cache's snapshots and
 * blobs); links out of it are followed.
 */
static int gather(const char *path, json_t *files)
{
	const struct df11_entry **lk = NULL;
	size_t nl = 0;
	struct df11_tree t;
	struct stat st;
	json_t *o;
	int rc;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (df11_info_disk(path, path, &o) == 0 &&
		    json_array_append_new(files, o))
			return df11_fail_sys(-ENOMEM, "read", path);
		return 0;
	}
	rc = df11_tree_scan_links(&t, path,
				  DF11_WALK_KEEP_LINKS | DF11_WALK_FOLLOW_OUT);
	if (!rc && t.n && !(lk = calloc(t.n, sizeof(*lk))))
		rc = df11_fail_sys(-ENOMEM, "read", path);
	for (size_t i = 0; !rc && i < t.n; i++)
		if (t.v[i].link)
			lk[nl++] = &t.v[i];
	if (nl > 1)
		qsort(lk, nl, sizeof(*lk), link_cmp);
	for (size_t i = 0, k = 0; !rc && i < t.n; i++) {
		const struct df11_entry *e = &t.v[i];
		size_t m;

		if (!S_ISREG(e->st.st_mode) || e->link)
			continue;
		/* the links to @e: a run of @lk (both sorted by path) */
		while (k < nl && df11_path_cmp(lk[k]->dest, e->rel) < 0)
			k++;
		for (m = k; m < nl && !strcmp(lk[m]->dest, e->rel); m++)
			;
		if (file_record(&t, e, lk + k, m - k, &o) == 0 &&
		    json_array_append_new(files, o))
			rc = df11_fail_sys(-ENOMEM, "read", path);
		k = m;
	}
	if (!rc && sort_records(files))
		rc = df11_fail_sys(-ENOMEM, "read", path);
	free(lk);
	df11_tree_free(&t);
	return rc;
}

int df11_cmd_info(const struct df11_opts *o, const char *dst)
{
	json_t *files = json_array();

	if (!files || gather(dst, files)) {
		json_decref(files);
		return df11_status();
	}
	return df11_info_emit(o, dst, "native", NULL, NULL, files);
}
