// SPDX-License-Identifier: MIT
/*
 * tools/official_info.c - df11 info on an official DFloat11 directory
 *
 * Shows what df11_off_open() made of the directory: every unit (module
 * path, file, weights, luts rows, blocks, stored bytes, bits per weight),
 * its pieces with their resolved shapes, the plain tensors, and the
 * virtual files with their sizes and the ratio stored / size. --json
 * prints the same as one document:
 *
 *   {"official": {"version"}, "units": [{"path", "file", "weights",
 *    "luts", "blocks", "stored", "bits_per_weight", "pieces": [...]}],
 *    "tensors": [{"name", "dtype", "shape", "unit", "file", "vfile"}],
 *    "files": [{"path", "size", "stored", "ratio"}],
 *    "total": {"size", "stored", "ratio", "files"}}
 */
#include <jansson.h>
#include <stdio.h>

#include "official/official.h"
#include "tools/official_i.h"

static json_t *shape_json(const struct df11_off_tensor_info *t)
{
	json_t *a = json_array();

	for (unsigned d = 0; a && d < t->n_dims; d++)
		json_array_append_new(a, json_integer((json_int_t)t->shape[d]));
	return a;
}

static json_t *units_json(const struct df11_off *m)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < df11_off_n_units(m); i++) {
		struct df11_off_unit_info u;
		json_t *pieces = json_array();

		df11_off_unit(m, i, &u);
		for (size_t k = 0; pieces && k < u.n_pieces; k++) {
			struct df11_off_tensor_info t;

			df11_off_tensor(m, u.piece0 + k, &t);
			json_array_append_new(pieces, json_string(t.name));
		}
		json_array_append_new(
		    arr, json_pack("{s:s, s:s, s:I, s:i, s:I, s:I, s:f, s:o}",
				   "path", u.path, "file", u.file, "weights",
				   (json_int_t)u.n_elems, "luts", (int)u.n_luts,
				   "blocks", (json_int_t)u.n_blocks, "stored",
				   (json_int_t)u.stored, "bits_per_weight",
				   u.n_elems ? 8.0 * (double)u.stored /
						   (double)u.n_elems
					     : 0.0,
				   "pieces", pieces));
	}
	return arr;
}

static json_t *tensors_json(const struct df11_off *m)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < df11_off_n_tensors(m); i++) {
		struct df11_off_tensor_info t;

		df11_off_tensor(m, i, &t);
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:s, s:o, s:o, s:o}", "name", t.name,
			      "dtype", df11_dtype_name(t.dtype), "shape",
			      shape_json(&t), "source",
			      t.unit >= 0 ? json_string("df11")
					  : json_string(t.file),
			      "vfile",
			      t.vfile >= 0 ? json_string(df11_off_vfile_name(
						 m, (size_t)t.vfile))
					   : json_null()));
	}
	return arr;
}

static json_t *files_json(const struct df11_off *m, uint64_t *size,
			  uint64_t *stored)
{
	json_t *arr = json_array();

	*size = *stored = 0;
	for (size_t i = 0; arr && i < df11_off_n_vfiles(m); i++) {
		uint64_t s = df11_off_vfile_size(m, i);
		uint64_t st = df11_off_vfile_stored(m, i);

		*size += s;
		*stored += st;
		json_array_append_new(
		    arr, json_pack("{s:s, s:I, s:I, s:f}", "path",
				   df11_off_vfile_name(m, i), "size",
				   (json_int_t)s, "stored", (json_int_t)st,
				   "ratio", s ? (double)st / (double)s : 0.0));
	}
	return arr;
}

static void print_text(const json_t *doc)
{
	const json_t *v, *p;
	size_t i, k;

	printf("official DFloat11 directory, version %s\n",
	       json_string_value(json_object_get(
		   json_object_get(doc, "official"), "version")));
	json_array_foreach(json_object_get(doc, "units"), i, v)
	{
		printf("unit %s (%s): %lld weights, %lld luts rows, %lld "
		       "blocks, %lld bytes stored, %.2f bits/weight\n",
		       json_string_value(json_object_get(v, "path")),
		       json_string_value(json_object_get(v, "file")),
		       json_integer_value(json_object_get(v, "weights")),
		       json_integer_value(json_object_get(v, "luts")),
		       json_integer_value(json_object_get(v, "blocks")),
		       json_integer_value(json_object_get(v, "stored")),
		       json_real_value(json_object_get(v, "bits_per_weight")));
	}
	json_array_foreach(json_object_get(doc, "tensors"), i, v)
	{
		printf("  %s  %s  [",
		       json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "dtype")));
		json_array_foreach(json_object_get(v, "shape"), k, p)
		    printf("%s%lld", k ? ", " : "", json_integer_value(p));
		printf("]  %s -> %s\n",
		       json_string_value(json_object_get(v, "source")),
		       json_is_null(json_object_get(v, "vfile"))
			   ? "(left out: tied)"
			   : json_string_value(json_object_get(v, "vfile")));
	}
	json_array_foreach(json_object_get(doc, "files"), i, v)
	{
		printf("%s: %lld bytes, %lld stored, ratio %.3f\n",
		       json_string_value(json_object_get(v, "path")),
		       json_integer_value(json_object_get(v, "size")),
		       json_integer_value(json_object_get(v, "stored")),
		       json_real_value(json_object_get(v, "ratio")));
	}
	v = json_object_get(doc, "total");
	printf("total: %lld files, %lld -> %lld bytes, ratio %.3f\n",
	       json_integer_value(json_object_get(v, "files")),
	       json_integer_value(json_object_get(v, "size")),
	       json_integer_value(json_object_get(v, "stored")),
	       json_real_value(json_object_get(v, "ratio")));
}

int df11_off_cmd_info(const struct df11_opts *o, const char *dir)
{
	struct df11_off *m;
	uint64_t size, stored;
	json_t *doc;

	if (df11_off_dir_open(dir, o, &m))
		return df11_status();
	doc =
	    json_pack("{s:{s:s}, s:o, s:o, s:o}", "official", "version",
		      df11_off_version(m), "units", units_json(m), "tensors",
		      tensors_json(m), "files", files_json(m, &size, &stored));
	if (doc)
		json_object_set_new(
		    doc, "total",
		    json_pack("{s:I, s:I, s:f, s:I}", "size", (json_int_t)size,
			      "stored", (json_int_t)stored, "ratio",
			      size ? (double)stored / (double)size : 0.0,
			      "files", (json_int_t)df11_off_n_vfiles(m)));
	if (!doc)
		df11_fail_sys(-12, "list", dir);
	else if (o->json) {
		json_dumpf(doc, stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			       JSON_REAL_PRECISION(6));
		putchar('\n');
	} else
		print_text(doc);
	json_decref(doc);
	df11_off_free(m);
	fflush(stdout);
	return df11_status();
}
