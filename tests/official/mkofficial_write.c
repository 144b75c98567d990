/* SPDX-License-Identifier: MIT */
/*
 * tests/official/mkofficial_write.c - the files mkofficial writes
 *
 * Tensors in a safetensors file are laid out as the safetensors package
 * does: by dtype alignment (largest first), then by name; header keys in
 * data order, the header padded with spaces to a multiple of 8. json
 * files as save_pretrained writes them. A unit is encoded with
 * codec/df11.h over its BF16 pieces concatenated in pattern_dict order,
 * and written as the official compressor does: one file per unit, its
 * streams and split_positions, and for a layer every other tensor of the
 * layer uncompressed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec/df11.h"
#include "tests/official/mkofficial_i.h"

#define HF_JSON_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))

static const char *const dt_name[] = {"BF16", "F32", "U8", "I64"};

static int by_layout(const void *pa, const void *pb)
{
	const struct tensor *a = *(const struct tensor *const *)pa,
			    *b = *(const struct tensor *const *)pb;

	if (mk_dt_size[a->dt] != mk_dt_size[b->dt])
		return mk_dt_size[a->dt] > mk_dt_size[b->dt] ? -1 : 1;
	return strcmp(a->name, b->name);
}

static void put(FILE *f, const void *p, size_t n, const char *path)
{
	if (n && fwrite(p, 1, n, f) != n)
		mk_die("cannot write '%s': %s", path, strerror(errno));
}

/* one safetensors file of @n tensors, laid out as the safetensors package
 * does; with @meta a {"format": "pt"} __metadata__ */
void mk_st_write(const char *dir, const char *name, struct tensor **v, size_t n,
		 int meta)
{
	json_t *h = json_object();
	char *path = mk_fmt("%s/%s", dir, name), *js;
	uint64_t off = 0, hl;
	uint8_t len8[8];
	size_t jl;
	FILE *f;

	qsort(v, n, sizeof(*v), by_layout);
	if (meta)
		json_object_set_new(h, "__metadata__",
				    json_pack("{s:s}", "format", "pt"));
	for (size_t i = 0; i < n; i++) {
		json_t *shape = json_array();

		for (unsigned d = 0; d < v[i]->nd; d++)
			json_array_append_new(
			    shape, json_integer((json_int_t)v[i]->shape[d]));
		if (json_object_set_new(
			h, v[i]->name,
			json_pack("{s:s, s:o, s:[I,I]}", "dtype",
				  dt_name[v[i]->dt], "shape", shape,
				  "data_offsets", (json_int_t)off,
				  (json_int_t)(off + v[i]->len))))
			mk_die("cannot add '%s' to a header", v[i]->name);
		off += v[i]->len;
	}
	js = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!js)
		mk_die("out of memory");
	jl = strlen(js);
	hl = (jl + 7) & ~(uint64_t)7;
	for (unsigned i = 0; i < 8; i++)
		len8[i] = (uint8_t)(hl >> (8 * i));
	f = fopen(path, "wb");
	if (!f)
		mk_die("cannot create '%s': %s", path, strerror(errno));
	put(f, len8, 8, path);
	put(f, js, jl, path);
	put(f, "        ", (size_t)(hl - jl), path);
	for (size_t i = 0; i < n; i++)
		put(f, v[i]->data, (size_t)v[i]->len, path);
	if (fclose(f))
		mk_die("cannot write '%s': %s", path, strerror(errno));
	free(js);
	free(path);
	json_decref(h);
}

void mk_json_write(const char *dir, const char *name, json_t *j)
{
	char *path = mk_fmt("%s/%s", dir, name);
	char *s = json_dumps(j, HF_JSON_FLAGS);
	FILE *f = fopen(path, "wb");

	if (!s || !f)
		mk_die("cannot write '%s'", path);
	put(f, s, strlen(s), path);
	put(f, "\n", 1, path);
	if (fclose(f))
		mk_die("cannot write '%s': %s", path, strerror(errno));
	free(s);
	free(path);
}

/* a U8 (or I64) stream tensor of unit @p; takes @data */
static struct tensor *stream(struct tlist *l, const char *p, const char *s,
			     enum dt dt, uint64_t d0, uint64_t d1, unsigned nd,
			     uint8_t *data)
{
	const uint64_t shape[2] = {d0, d1};
	struct tensor *t =
	    mk_tensor_new(l, mk_fmt("%s.%s", p, s), dt, nd, shape);

	free(t->data);
	t->data = data;
	return t;
}

/* Encode unit @u and write its file, with the layer's plain tensors. */
void mk_unit_write(struct model *m, const struct unit *u, const char *dir,
		   struct tlist *into)
{
	json_t *attrs = json_object_get(m->pat, u->key);
	size_t k = json_array_size(attrs), np = k ? k : 1, nf = 0;
	struct tensor *pieces[32], **files;
	struct tlist s = {0};
	struct df11_code c;
	struct df11_sizes sz;
	struct df11_enc_out out;
	uint64_t hist[256] = {0}, n = 0, acc = 0;
	uint8_t *w, *split;
	char *fname, *pre;

	if (!json_is_array(attrs) || np > 32)
		mk_die("unit '%s': bad pattern_dict entry", u->path);
	for (size_t i = 0; i < np; i++) {
		char *pn =
		    k ? mk_fmt("%s.%s.weight", u->path,
			       json_string_value(json_array_get(attrs, i)))
		      : mk_fmt("%s.weight", u->path);

		pieces[i] = mk_find(&m->orig, pn);
		if (!pieces[i] || pieces[i]->dt != BF16)
			mk_die("unit '%s': no BF16 tensor '%s'", u->path, pn);
		pieces[i]->used = 1;
		n += pieces[i]->len / 2;
		free(pn);
	}
	w = mk_alloc((size_t)n * 2);
	for (size_t i = 0; i < np; i++) {
		memcpy(w + 2 * acc, pieces[i]->data, (size_t)pieces[i]->len);
		acc += pieces[i]->len / 2;
	}
	df11_hist(w, (size_t)n, hist);
	if (df11_code_build(&c, hist) || df11_code_sizes(&c, hist, &sz))
		mk_die("unit '%s': cannot build a code", u->path);
	out.luts = mk_alloc((size_t)sz.luts);
	out.enc = mk_alloc((size_t)sz.enc);
	out.sm = mk_alloc((size_t)sz.sm);
	out.op = mk_alloc((size_t)sz.op);
	out.gaps = mk_alloc((size_t)sz.gaps);
	if (df11_encode(&c, w, (size_t)n, &out))
		mk_die("unit '%s': encoding failed", u->path);
	free(w);
	if (sz.luts != (uint64_t)c.n_luts * 256 || sz.sm != n ||
	    sz.gaps != 320 * sz.n_blocks || sz.op != 4 * (sz.n_blocks + 1))
		mk_die("unit '%s': unexpected stream sizes", u->path);

	split = mk_alloc(8 * (np - 1));
	acc = 0;
	for (size_t i = 0; i + 1 < np; i++) {
		acc += pieces[i]->len / 2;
		for (unsigned b = 0; b < 8; b++)
			split[8 * i + b] = (uint8_t)(acc >> (8 * b));
	}
	stream(&s, u->path, "luts", U8, c.n_luts, 256, 2, out.luts);
	stream(&s, u->path, "encoded_exponent", U8, sz.enc, 0, 1, out.enc);
	stream(&s, u->path, "sign_mantissa", U8, sz.sm, 0, 1, out.sm);
	stream(&s, u->path, "output_positions", U8, sz.op, 0, 1, out.op);
	stream(&s, u->path, "gaps", U8, sz.gaps, 0, 1, out.gaps);
	stream(&s, u->path, "split_positions", I64, np - 1, 0, 1, split);

	if (into) {
		/* save_single_file: the streams go into the one file */
		for (size_t i = 0; i < s.n; i++) {
			struct tensor *t = &s.v[i],
				      *d = mk_tensor_new(into, t->name, t->dt,
							 t->nd, t->shape);

			free(d->data);
			d->data = t->data;
		}
		free(s.v);
		return;
	}
	files = mk_alloc((s.n + m->orig.n) * sizeof(*files));
	for (size_t i = 0; i < s.n; i++)
		files[nf++] = &s.v[i];
	/* a layer module's whole state_dict goes with it */
	pre = mk_fmt("%s.", u->path);
	for (size_t i = 0; k && i < m->orig.n; i++) {
		struct tensor *t = &m->orig.v[i];

		if (!t->used && !strncmp(t->name, pre, strlen(pre))) {
			t->used = 1;
			files[nf++] = t;
		}
	}
	fname = mk_fmt("%s.safetensors", u->path);
	for (char *p = fname; *p && strcmp(p, ".safetensors"); p++)
		if (*p == '.')
			*p = '_';
	mk_st_write(dir, fname, files, nf, 0);
	for (size_t i = 0; i < s.n; i++) {
		free(s.v[i].name);
		free(s.v[i].data);
	}
	free(s.v);
	free(files);
	free(fname);
	free(pre);
}
