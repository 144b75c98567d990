// SPDX-License-Identifier: MIT
/*
 * tools/info.c - df11 info [--json] DST
 *
 * Lists every file of DST (or the one file DST) and, for safetensors files,
 * every tensor in file order: dtype, shape, codec, bytes, stored bytes,
 * ratio (stored / bytes) and bits per weight (stored * 8 / elements: about
 * 10.9 for a BF16 tensor coded as df11). A container's sizes are those of
 * the original file (size) and of the container (stored); any other file
 * has size == stored. The facts are gathered into a jansson document that
 * is either printed as JSON or rendered as aligned text:
 *
 *   {"files": [{"path", "container", "size", "stored", "ratio",
 *               "tensors": [{"name", "dtype", "shape", "codec", "bytes",
 *                            "stored", "ratio", "bits_per_weight"}]}],
 *    "total": {"size", "stored", "ratio", "files"}}
 *
 * Ratios of empty things are null. A file that cannot be read is reported
 * and left out; the exit status then says why.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/container.h"
#include "codec/safetensors.h"
#include "tools/tool_i.h"

/* A JSON string; bytes that are not UTF-8 become '?'. */
static json_t *jstr(const char *s)
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

static json_t *ratio(uint64_t stored, uint64_t size)
{
	return size ? json_real((double)stored / (double)size) : json_null();
}

static json_t *tensor_json(const struct df11_st_tensor *t, const char *codec,
			   uint64_t stored)
{
	uint64_t bytes = t->end - t->begin;
	json_t *shape = json_array(), *o;

	for (unsigned d = 0; d < t->n_dims; d++)
		json_array_append_new(shape,
				      json_integer((json_int_t)t->shape[d]));
	o = json_pack("{s:o, s:s, s:o, s:s, s:I, s:I, s:o, s:o}", "name",
		      jstr(t->name), "dtype", df11_dtype_name(t->dtype),
		      "shape", shape, "codec", codec, "bytes",
		      (json_int_t)bytes, "stored", (json_int_t)stored, "ratio",
		      ratio(stored, bytes), "bits_per_weight",
		      t->n_elems && bytes
			  ? json_real((double)stored * 8.0 / (double)t->n_elems)
			  : json_null());
	return o;
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
		json_t *o;

		for (size_t m = k; m < ns && t->end > t->begin; m++) {
			if (df11_ct_segment(ct, m)->tensor == t) {
				s = df11_ct_segment(ct, m);
				k = m + 1;
				break;
			}
		}
		o = tensor_json(t, s ? df11_codec_name(s->codec) : "none",
				s ? s->stored : 0);
		if (!o || json_array_append_new(arr, o))
			return -ENOMEM;
	}
	return 0;
}

static int plain_tensors(const struct df11_st *st, json_t *arr)
{
	const size_t *order = df11_st_order(st);

	for (size_t i = 0; i < df11_st_n_tensors(st); i++) {
		const struct df11_st_tensor *t = df11_st_tensor(st, order[i]);
		json_t *o = tensor_json(t, "raw", t->end - t->begin);

		if (!o || json_array_append_new(arr, o))
			return -ENOMEM;
	}
	return 0;
}

/* One file: its JSON record in *@out, or an error already reported. */
static int file_json(const char *path, const char *name, json_t **out)
{
	struct df11_input in;
	json_t *arr = json_array(), *o = NULL;
	uint64_t size;
	int rc;

	rc = df11_input_open(&in, path, DF11_IN_PARSE);
	if (rc)
		goto out;
	rc = -ENOMEM;
	if (!arr)
		goto out;
	if (in.ct && ct_tensors(in.ct, arr))
		goto out;
	if (!in.ct && in.sth && plain_tensors(in.sth, arr))
		goto out;
	size = in.ct ? df11_ct_size(in.ct) : in.size;
	o = json_pack("{s:o, s:b, s:I, s:I, s:o, s:O}", "path", jstr(name),
		      "container", in.ct != NULL, "size", (json_int_t)size,
		      "stored", (json_int_t)in.size, "ratio",
		      ratio(in.size, size), "tensors", arr);
	rc = o ? 0 : -ENOMEM;
out:
	if (rc == -ENOMEM)
		df11_fail_sys(rc, "read", path);
	json_decref(arr);
	df11_input_close(&in);
	*out = o;
	return rc;
}

static uint64_t jint(const json_t *o, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(o, key));
}

static void shape_str(const json_t *shape, char *buf, size_t len)
{
	size_t at = (size_t)snprintf(buf, len, "[");

	for (size_t i = 0; i < json_array_size(shape); i++) {
		const json_t *d = json_array_get(shape, i);

		if (at < len)
			at += (size_t)snprintf(
			    buf + at, len - at, "%s%lld", i ? ", " : "",
			    (long long)json_integer_value(d));
	}
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

static void num(const json_t *v, int prec, char *buf, size_t len)
{
	if (json_is_real(v))
		snprintf(buf, len, "%.*f", prec, json_real_value(v));
	else
		snprintf(buf, len, "-");
}

static const char *jtext(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int imax(int a, int b)
{
	return a > b ? a : b;
}

/* column widths of a tensor table */
struct widths {
	int name, shape, bytes, stored;
};

static void table_widths(const json_t *ts, struct widths *w)
{
	char buf[256];

	*w = (struct widths){6, 5, 5, 6}; /* the titles */
	for (size_t i = 0; i < json_array_size(ts); i++) {
		const json_t *t = json_array_get(ts, i);

		shape_str(json_object_get(t, "shape"), buf, sizeof(buf));
		w->name = imax(w->name, (int)strlen(jtext(t, "name")));
		w->shape = imax(w->shape, (int)strlen(buf));
		w->bytes = imax(w->bytes, df11_digits(jint(t, "bytes")));
		w->stored = imax(w->stored, df11_digits(jint(t, "stored")));
	}
}

/* Text form of one file record: a title line, then a tensor table. */
static void print_file(const json_t *f)
{
	const json_t *ts = json_object_get(f, "tensors");
	char r[32], bpw[32], buf[256];
	struct widths w;

	num(json_object_get(f, "ratio"), 3, r, sizeof(r));
	printf("%s: %s, %llu -> %llu bytes, ratio %s\n", jtext(f, "path"),
	       json_is_true(json_object_get(f, "container")) ? "container"
							     : "file",
	       (unsigned long long)jint(f, "size"),
	       (unsigned long long)jint(f, "stored"), r);
	if (!json_array_size(ts))
		return;
	table_widths(ts, &w);
	printf("  %-*s  %-5s  %-*s  %-5s  %*s  %*s  %6s  %6s\n", w.name,
	       "TENSOR", "DTYPE", w.shape, "SHAPE", "CODEC", w.bytes, "BYTES",
	       w.stored, "STORED", "RATIO", "BITS/W");
	for (size_t i = 0; i < json_array_size(ts); i++) {
		const json_t *t = json_array_get(ts, i);

		shape_str(json_object_get(t, "shape"), buf, sizeof(buf));
		num(json_object_get(t, "ratio"), 3, r, sizeof(r));
		num(json_object_get(t, "bits_per_weight"), 2, bpw, sizeof(bpw));
		printf("  %-*s  %-5s  %-*s  %-5s  %*llu  %*llu  %6s  %6s\n",
		       w.name, jtext(t, "name"), jtext(t, "dtype"), w.shape,
		       buf, jtext(t, "codec"), w.bytes,
		       (unsigned long long)jint(t, "bytes"), w.stored,
		       (unsigned long long)jint(t, "stored"), r, bpw);
	}
}

/* Gather the records of @path (a directory or one file) into @files. */
static int gather(const char *path, json_t *files)
{
	struct df11_tree t;
	struct stat st;
	json_t *o;
	int rc;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		if (file_json(path, path, &o) == 0 &&
		    json_array_append_new(files, o))
			return df11_fail_sys(-ENOMEM, "read", path);
		return 0;
	}
	rc = df11_tree_scan(&t, path);
	for (size_t i = 0; !rc && i < t.n; i++) {
		char *p;

		if (!S_ISREG(t.v[i].st.st_mode))
			continue;
		p = df11_path_join(t.root, t.v[i].rel);
		if (!p) {
			rc = df11_fail_sys(-ENOMEM, "read", path);
			break;
		}
		if (file_json(p, t.v[i].rel, &o) == 0 &&
		    json_array_append_new(files, o))
			rc = df11_fail_sys(-ENOMEM, "read", path);
		free(p);
	}
	df11_tree_free(&t);
	return rc;
}

int df11_cmd_info(const struct df11_opts *o, const char *dst)
{
	json_t *files = json_array(), *doc = NULL, *f;
	uint64_t size = 0, stored = 0;
	size_t i;
	char r[32];

	if (!files || gather(dst, files))
		goto out;
	for (i = 0; i < json_array_size(files); i++) {
		f = json_array_get(files, i);
		size += jint(f, "size");
		stored += jint(f, "stored");
	}
	doc = json_pack("{s:O, s:{s:I, s:I, s:o, s:I}}", "files", files,
			"total", "size", (json_int_t)size, "stored",
			(json_int_t)stored, "ratio", ratio(stored, size),
			"files", (json_int_t)json_array_size(files));
	if (!doc) {
		df11_fail_sys(-ENOMEM, "list", dst);
		goto out;
	}
	if (o->json) {
		json_dumpf(doc, stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       JSON_REAL_PRECISION(6));
		putchar('\n');
		goto out;
	}
	for (i = 0; i < json_array_size(files); i++)
		print_file(json_array_get(files, i));
	num(json_object_get(json_object_get(doc, "total"), "ratio"), 3, r,
	    sizeof(r));
	printf("total: %zu files, %llu -> %llu bytes, ratio %s\n",
	       json_array_size(files), (unsigned long long)size,
	       (unsigned long long)stored, r);
out:
	json_decref(doc);
	json_decref(files);
	fflush(stdout);
	return df11_status();
}
