// SPDX-License-Identifier: MIT
/*
 * tools/official_info.c - df11 info on an official DFloat11 directory
 *
 * The same document as for a native tree (tools/info.c has the schema):
 * the files are those a decompress writes, i.e. the virtual files that
 * df11_off_open() planned (config.json, the BF16 safetensors files, their
 * index json) and the files of the directory the listing does not
 * replace; each safetensors file lists its tensors in file order, read
 * from its header (the source's prefix). A tensor of a unit is "df11" and
 * gets its share of the unit's stored bytes, by weights, as the file's
 * stored figure does (df11_off_vfile_stored); a plain tensor is "raw".
 * "units" lists every compressed unit with the tensors cut from it.
 *
 * A diffusers pipeline folder gets one document too: every official
 * component's units and virtual files (named below the component, as
 * decompress writes them), then every other file as it is on disk; each
 * directory that is not an official component gets one line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "official/official.h"
#include "tools/info_i.h"
#include "tools/official_i.h"

/* a tensor of the model, by name */
struct tname {
	const char *name;
	size_t i;
};

static int tname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tname *)a)->name,
		      ((const struct tname *)b)->name);
}

/* "@pre/@name", or @name when @pre is "" (new string, NULL: ENOMEM) */
static char *prefixed(const char *pre, const char *name)
{
	return *pre ? df11_path_join(pre, name) : strdup(name);
}

/* Append the units of @m (files named below @pre) to @arr. */
static int units_json(const struct df11_off *m, const char *pre, json_t *arr)
{
	for (size_t i = 0; i < df11_off_n_units(m); i++) {
		struct df11_off_unit_info u;
		json_t *pieces = json_array();
		char *file;

		df11_off_unit(m, i, &u);
		for (size_t k = 0; pieces && k < u.n_pieces; k++) {
			struct df11_off_tensor_info t;

			df11_off_tensor(m, u.piece0 + k, &t);
			json_array_append_new(pieces, df11_info_str(t.name));
		}
		file = prefixed(pre, u.file);
		if (!file) {
			json_decref(pieces);
			return -ENOMEM;
		}
		if (json_array_append_new(
			arr,
			json_pack("{s:o, s:o, s:I, s:i, s:I, s:I, s:o, s:o}",
				  "path", df11_info_str(u.path), "file",
				  df11_info_str(file), "weights",
				  (json_int_t)u.n_elems, "luts", (int)u.n_luts,
				  "blocks", (json_int_t)u.n_blocks, "stored",
				  (json_int_t)u.stored, "bits_per_weight",
				  u.n_elems ? json_real(8.0 * (double)u.stored /
							(double)u.n_elems)
					    : json_null(),
				  "pieces", pieces))) {
			free(file);
			return -ENOMEM;
		}
		free(file);
	}
	return 0;
}

/* The record of tensor @t of a virtual file: its codec and stored bytes. */
static json_t *tensor_json(const struct df11_off *m, const struct tname *names,
			   const struct df11_st_tensor *t)
{
	struct tname key = {t->name, 0}, *x;
	struct df11_off_tensor_info ti;
	struct df11_off_unit_info u;

	x = bsearch(&key, names, df11_off_n_tensors(m), sizeof(key), tname_cmp);
	if (x)
		df11_off_tensor(m, x->i, &ti);
	if (!x || ti.unit < 0)
		return df11_info_tensor(t, "raw", t->end - t->begin);
	df11_off_unit(m, (size_t)ti.unit, &u);
	/* the share df11_off_vfile_stored() counts, computed the same way */
	return df11_info_tensor(
	    t, "df11",
	    u.n_elems ? (uint64_t)((double)u.stored * (double)t->n_elems /
				   (double)u.n_elems)
		      : 0);
}

/* The record of virtual file @i, named below @pre. */
static json_t *vfile_json(struct df11_off *m, const struct tname *names,
			  size_t i, const char *pre)
{
	char *name = prefixed(pre, df11_off_vfile_name(m, i));
	uint64_t size = df11_off_vfile_size(m, i);
	struct df11_source *s = NULL;
	struct df11_st *st = NULL;
	json_t *arr, *o = NULL;
	const uint8_t *p;
	size_t plen;

	if (!name)
		return NULL;
	if (!df11_is_safetensors(name)) {
		o = df11_info_file(name, "file", size, size, NULL);
		free(name);
		return o;
	}
	if (df11_off_source(m, i, &s) || !(arr = json_array()))
		goto out;
	p = s->ops->prefix(s, &plen);
	if (plen >= 8)
		df11_st_parse(&st, p + 8, plen - 8, size - plen, NULL, 0);
	for (size_t k = 0; st && k < df11_st_n_tensors(st); k++)
		if (json_array_append_new(
			arr,
			tensor_json(m, names,
				    df11_st_tensor(st, df11_st_order(st)[k]))))
			goto out_arr;
	o = df11_info_file(name, "official", size, df11_off_vfile_stored(m, i),
			   arr);
	arr = NULL;
out_arr:
	json_decref(arr);
out:
	df11_st_free(st);
	df11_source_free(s);
	free(name);
	return o;
}

static int file_cmp(const void *a, const void *b)
{
	return df11_path_cmp(
	    json_string_value(json_object_get(*(json_t *const *)a, "name")),
	    json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

/* Append the virtual files of @m, named below @pre, to @files. */
static int vfiles_json(struct df11_off *m, const char *pre, json_t *files)
{
	size_t n = df11_off_n_tensors(m);
	struct tname *names = calloc(n + 1, sizeof(*names));
	int rc = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct df11_off_tensor_info ti;

		df11_off_tensor(m, i, &ti);
		names[i] = (struct tname){ti.name, i};
	}
	qsort(names, n, sizeof(*names), tname_cmp);
	for (size_t i = 0; !rc && i < df11_off_n_vfiles(m); i++)
		rc = json_array_append_new(files, vfile_json(m, names, i, pre));
	free(names);
	return rc ? -ENOMEM : 0;
}

/*
 * The virtual files of the models @m at @pre (@n of them), then the
 * files of @t they do not replace, sorted into @files.
 */
static int files_json(struct df11_off **m, char *const *pre, size_t n,
		      const struct df11_tree *t, json_t *files)
{
	json_t **v = NULL, *o;
	int rc = 0;
	size_t nf;

	for (size_t k = 0; !rc && k < n; k++)
		rc = vfiles_json(m[k], pre[k], files);
	for (size_t i = 0; !rc && i < t->n; i++) {
		const struct df11_entry *e = &t->v[i];
		char *path;

		if (!S_ISREG(e->st.st_mode) || df11_off_hidden(pre, n, e->rel))
			continue;
		if (!(path = df11_path_join(t->root, e->rel)))
			rc = -ENOMEM;
		else if (df11_info_disk(path, e->rel, &o) == 0)
			rc = json_array_append_new(files, o);
		free(path);
	}
	nf = json_array_size(files);
	if (rc || !(v = malloc((nf + 1) * sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < nf; i++)
		v[i] = json_incref(json_array_get(files, i));
	qsort(v, nf, sizeof(*v), file_cmp);
	json_array_clear(files);
	for (size_t i = 0; i < nf; i++)
		if (json_array_append_new(files, v[i]))
			rc = -ENOMEM;
	free(v);
	return rc ? -ENOMEM : 0;
}

/*
 * The document of @dir from the models @m at @pre (@n of them, the first
 * gives dfloat11_version), then the warnings and, for a model whose
 * shapes are unknown, the failure. Return: the exit status.
 */
static int info(const struct df11_opts *o, const char *dir, struct df11_off **m,
		char *const *pre, size_t n)
{
	json_t *files = json_array(), *units = json_array();
	struct df11_tree t = {0};
	int rc = 0;

	if (!df11_tree_scan(&t, dir)) {
		for (size_t k = 0; !rc && units && k < n; k++)
			rc = units_json(m[k], pre[k], units);
		if (!files || !units || rc || files_json(m, pre, n, &t, files))
			df11_fail_sys(-ENOMEM, "list", dir);
		else
			df11_info_emit(o, dir, "official",
				       n ? df11_off_version(m[0]) : NULL,
				       json_incref(units), json_incref(files));
	}
	for (size_t k = 0; k < n; k++) {
		char *c = *pre[k] ? df11_path_join(dir, pre[k]) : NULL;
		const char *cdir = *pre[k] && c ? c : dir;

		df11_off_warn_note(cdir, m[k]);
		/* listed as far as known; the weight files need the shapes */
		if (df11_off_unresolved(m[k], &rc)) {
			char why[1024];

			snprintf(why, sizeof(why), "%s%s",
				 df11_off_unresolved(m[k], NULL),
				 DF11_OFF_HINT);
			df11_fail_codec(rc, cdir, why);
		}
		free(c);
	}
	json_decref(units);
	json_decref(files);
	df11_tree_free(&t);
	return df11_status();
}

int df11_off_cmd_info(const struct df11_opts *o, const char *dir)
{
	static char empty[] = "";
	char *pre = empty;
	struct df11_off *m;
	int rc;

	if (df11_off_dir_open(dir, o, true, &m))
		return df11_status();
	rc = info(o, dir, &m, &pre, 1);
	df11_off_free(m);
	return rc;
}

int df11_off_cmd_info_pipeline(const struct df11_opts *o, const char *dir)
{
	struct df11_off_pipeline p;
	int rc;

	if (df11_off_pipeline_open(&p, dir, o, true))
		return df11_status();
	rc = info(o, dir, p.m, p.pre, p.n);
	for (size_t k = 0; k < p.n_plain; k++) {
		char line[1024];

		snprintf(line, sizeof(line),
			 "df11: '%s/%s': not an official DFloat11 component: "
			 "passed over, its files listed as they are",
			 dir, p.plain[k]);
		df11_prog_line(stderr, line);
	}
	df11_off_pipeline_free(&p);
	return rc;
}
