/* SPDX-License-Identifier: MIT */
/*
 * official/layout.c - the virtual files of an official directory
 *
 * Without the original headers the BF16 model is laid out as
 * save_pretrained would: cut into shards of at most shard_size bytes as
 * huggingface_hub cuts them (cut(), in name order: the original module
 * order is lost), each file laid out as safetensors' save_file writes it
 * (dtype, then name: st_order_cmp()), one "B.safetensors" or
 * "B-0000i-of-0000N.safetensors" plus
 * "B.safetensors.index.json" ({"metadata": {"total_size"}, "weight_map"},
 * indent 2, sorted keys, final newline, as transformers and diffusers
 * write it). B is "model" (transformers, 5 GB shards by default) or
 * "diffusion_pytorch_model" (diffusers, 10 GB: ModelMixin.save_pretrained's
 * default, huggingface_hub's split_torch_state_dict_into_shards). Each
 * header is compact JSON with {"__metadata__": {"format": "pt"}}, padded
 * with spaces to a multiple of 8. A tied lm_head copy (config
 * tie_word_embeddings true, the embedding present) is left out, as the
 * original has none.
 *
 * With the headers (`df11 headers`: {"files": [{"name", "size", "header"
 * (base64 of the bytes [0, 8 + N))}], "index": {"name", "data"}}) every
 * original file is rebuilt with its own header bytes, every tensor at its
 * own offsets; bytes that no tensor covers read as zeros.
 *
 * config.json is original-config.json verbatim when the user supplied
 * it; otherwise config.json loses the "dfloat11_config" key. The key is
 * cut out of the text, so everything else (order, indent, number
 * spelling) stays as the official tool wrote it, i.e. as transformers
 * did; a config.json that held nothing else becomes "{}", and the model
 * carries a note (df11_off_note) that the architecture is missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "official/official_i.h"

void off_vfile_free(struct off_vfile *v)
{
	free(v->name);
	free(v->prefix);
	free(v->chunks);
}

int off_chunk_add(struct off_vfile *v, enum off_chunk_kind kind, uint32_t idx,
		  uint64_t a, uint64_t len)
{
	if (!len)
		return 0;
	if (v->n_chunks == v->cap) {
		size_t nc = v->cap ? 2 * v->cap : 16;
		struct off_chunk *c = realloc(v->chunks, nc * sizeof(*c));

		if (!c)
			return -ENOMEM;
		v->chunks = c;
		v->cap = nc;
	}
	v->chunks[v->n_chunks++] =
	    (struct off_chunk){v->size, len, kind, idx, a};
	v->size += len;
	return 0;
}

int off_add_tensor_chunks(const struct df11_off *m, struct off_vfile *v,
			  const struct off_tensor *t)
{
	const struct off_unit *u;
	uint64_t pos, end, e1, nb, b;
	int rc = 0;

	if (t->unit < 0) {
		v->stored += t->nbytes;
		for (pos = 0; pos < t->nbytes && !rc; pos += OFF_RAW_CHUNK) {
			end = t->nbytes - pos < OFF_RAW_CHUNK ? t->nbytes - pos
							      : OFF_RAW_CHUNK;
			rc = off_chunk_add(v, OC_RAW, t->file, t->a + pos, end);
		}
		return rc;
	}
	u = &m->units[t->unit];
	nb = df11_unit_n_blocks(u->u);
	e1 = t->a + t->n_elems;
	{
		uint64_t st = 0;

		for (int k = 0; k < OS_COUNT; k++)
			st += u->s[k].len;
		v->stored += (uint64_t)((double)st * (double)t->n_elems /
					(double)df11_unit_n_elems(u->u));
	}
	for (pos = t->a; pos < e1 && !rc; pos = end) {
		b = df11_unit_block_of(u->u, pos) + OFF_BLOCKS_PER_CHUNK;
		end = df11_unit_block_start(u->u, b < nb ? b : nb);
		if (end > e1 || end <= pos)
			end = e1;
		rc = off_chunk_add(v, OC_PIECE, (uint32_t)t->unit, pos,
				   2 * (end - pos));
	}
	return rc;
}

/* a new virtual file named @name (copied) */
static struct off_vfile *vfile_add(struct df11_off *m, const char *name)
{
	struct off_vfile *v = realloc(m->vf, (m->n_vf + 1) * sizeof(*v));

	if (!v)
		return NULL;
	m->vf = v;
	v = &m->vf[m->n_vf];
	memset(v, 0, sizeof(*v));
	v->name = strdup(name);
	if (!v->name)
		return NULL;
	m->n_vf++;
	return v;
}

/* the prefix: 8-byte length + @j as compact JSON padded to 8 */
static int set_header(struct off_vfile *v, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n, pad;

	if (!s)
		return -ENOMEM;
	n = strlen(s);
	pad = (8 - n % 8) % 8;
	v->prefix = malloc(8 + n + pad);
	if (!v->prefix) {
		free(s);
		return -ENOMEM;
	}
	df11_le_put64(v->prefix, n + pad);
	memcpy(v->prefix + 8, s, n);
	memset(v->prefix + 8 + n, ' ', pad);
	free(s);
	v->prefix_len = 8 + n + pad;
	v->size = v->prefix_len;
	return 0;
}

static json_t *tensor_entry(const struct off_tensor *t, uint64_t off)
{
	json_t *shape = json_array();

	for (unsigned d = 0; d < t->n_dims; d++)
		json_array_append_new(shape,
				      json_integer((json_int_t)t->shape[d]));
	return json_pack("{s:s, s:o, s:[I,I]}", "dtype",
			 df11_dtype_name(t->dtype), "shape", shape,
			 "data_offsets", (json_int_t)off,
			 (json_int_t)(off + t->nbytes));
}

/*
 * The rank of @dt in safetensors' Dtype enum (BOOL, U8, I8, F8_E5M2,
 * F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64), whose
 * order save_file sorts by; ours puts F64 after U64.
 */
static int st_rank(enum df11_dtype dt)
{
	switch (dt) {
	case DF11_DT_F64:
		return DF11_DT_I64;
	case DF11_DT_I64:
	case DF11_DT_U64:
		return (int)dt + 1;
	default:
		return (int)dt;
	}
}

/* save_file's order: dtype rank descending, then name (bytes) */
static int st_order_cmp(const void *a, const void *b)
{
	const struct off_tensor *x = *(const struct off_tensor *const *)a;
	const struct off_tensor *y = *(const struct off_tensor *const *)b;
	int rx = st_rank(x->dtype), ry = st_rank(y->dtype);

	if (rx != ry)
		return ry - rx;
	return strcmp(x->name, y->name);
}

/*
 * One file: the @n tensors @v (in any order) laid out as safetensors'
 * save_file writes them, into virtual file @name; with @wmap, each named
 * there as in the index json.
 */
static int shard_write(struct df11_off *m, struct off_tensor **v, size_t n,
		       const char *name, json_t *wmap)
{
	struct off_vfile *f = vfile_add(m, name);
	json_t *h = json_pack("{s:{s:s}}", "__metadata__", "format", "pt");
	uint64_t off = 0;
	int rc = -ENOMEM;

	if (!f || !h)
		goto out;
	qsort(v, n, sizeof(*v), st_order_cmp);
	for (size_t i = 0; i < n; i++) {
		v[i]->vfile = (long)(m->n_vf - 1);
		if (json_object_set_new(h, v[i]->name,
					tensor_entry(v[i], off)) ||
		    (wmap &&
		     json_object_set_new(wmap, v[i]->name, json_string(name))))
			goto out;
		off += v[i]->nbytes;
	}
	if ((rc = set_header(f, h)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++)
		rc = off_add_tensor_chunks(m, f, v[i]);
out:
	json_decref(h);
	return rc;
}

/* Leave out a plain lm_head copy of tied embeddings (vfile = -2). */
/*
 * Are the input embeddings and lm_head tied? config.json says so with
 * tie_word_embeddings, at the top or in text_config; transformers leaves
 * the key out when it equals the class default, which is "tied" for the
 * families listed here (and "untied" for the rest, e.g. Llama).
 */
static int tied(const json_t *config)
{
	static const char *const tied_by_default[] = {
	    "gemma", "gemma2", "gemma3", "gemma3_text", "mamba"};
	const json_t *text = json_object_get(config, "text_config");
	const json_t *v = json_object_get(config, "tie_word_embeddings");
	const char *type;

	if (!v && json_is_object(text))
		v = json_object_get(text, "tie_word_embeddings");
	if (v)
		return json_is_true(v);
	type = json_string_value(json_object_get(config, "model_type"));
	for (size_t k = 0;
	     type && k < sizeof(tied_by_default) / sizeof(tied_by_default[0]);
	     k++)
		if (!strcmp(type, tied_by_default[k]))
			return 1;
	return 0;
}

/*
 * The official compressor stores a plain copy of a tied lm_head next to a
 * compressed embedding; the original has no such tensor, so hide it.
 */
static void drop_tied(struct df11_off *m)
{
	static const char *const pairs[][2] = {
	    {"lm_head.weight", "model.embed_tokens.weight"},
	    {"language_model.lm_head.weight",
	     "language_model.model.embed_tokens.weight"},
	};
	long i;

	if (!tied(m->arch))
		return;
	for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++)
		if ((i = off_find(m, pairs[k][0])) >= 0 &&
		    m->tensors[i].unit < 0 && off_find(m, pairs[k][1]) >= 0)
			m->tensors[i].vfile = -2;
}

/* the index json as transformers writes it (indent 2, sorted, newline) */
static int index_write(struct df11_off *m, const char *base, json_t *wmap,
		       uint64_t total)
{
	struct off_vfile *v;
	char name[64];

	snprintf(name, sizeof(name), "%s.safetensors.index.json", base);
	v = vfile_add(m, name);
	json_t *j = json_pack("{s:{s:I}, s:O}", "metadata", "total_size",
			      (json_int_t)total, "weight_map", wmap);
	char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	size_t n = s ? strlen(s) : 0;
	int rc = -ENOMEM;

	if (v && s && (v->prefix = malloc(n + 1))) {
		memcpy(v->prefix, s, n);
		v->prefix[n] = '\n';
		v->prefix_len = n + 1;
		v->size = n + 1;
		rc = 0;
	}
	free(s);
	json_decref(j);
	return rc;
}

/*
 * Cut the shown tensors into shards of at most @cap bytes as
 * huggingface_hub's split_state_dict_into_shards_factory does (what
 * transformers' and diffusers' save_pretrained call): tensors are taken
 * in order and added to the current shard; one that would take it past
 * @cap closes it first; one larger than @cap gets a shard of its own,
 * numbered where it is met, while the current shard stays open. Shards
 * are numbered in the order they are closed. The order taken is the
 * name order: the originals' state-dict (module registration) order is
 * not in the directory, whose files safetensors wrote sorted.
 * Return: 0 and *@sh (each shown tensor's shard, by by_name position;
 * -1 for a hidden one), *@n_sh; -ENOMEM.
 */
static int cut(const struct df11_off *m, uint64_t cap, long **sh, size_t *n_sh)
{
	long *g = calloc(m->n_tensors + 1, sizeof(*g));
	size_t *num = calloc(m->n_tensors + 1, sizeof(*num));
	size_t n_g = 0, n = 0, i;
	long open = -1;
	uint64_t cur = 0;

	if (!g || !num) {
		free(g);
		free(num);
		return -ENOMEM;
	}
	for (i = 0; i < m->n_tensors; i++) {
		const struct off_tensor *t = &m->tensors[m->by_name[i]];

		g[i] = -1;
		if (t->vfile == -2)
			continue;
		if (t->nbytes > cap) { /* its own shard, closed at once */
			num[n_g] = n++;
			g[i] = (long)n_g++;
			continue;
		}
		if (open >= 0 && cur + t->nbytes > cap) {
			num[open] = n++;
			open = -1;
		}
		if (open < 0) {
			open = (long)n_g++;
			cur = 0;
		}
		g[i] = open;
		cur += t->nbytes;
	}
	if (open >= 0)
		num[open] = n++;
	for (i = 0; i < m->n_tensors; i++)
		if (g[i] >= 0)
			g[i] = (long)num[g[i]];
	free(num);
	*sh = g;
	*n_sh = n;
	return 0;
}

/* Plan the shards of the shown tensors (at most @cap bytes each). */
static int synth(struct df11_off *m, uint64_t cap, char *err, size_t errlen)
{
	const char *base = m->diffusers ? "diffusion_pytorch_model" : "model";
	struct off_tensor **v = NULL;
	size_t n_sh = 0, *first = NULL, *fill = NULL;
	uint64_t total = 0;
	json_t *wmap = json_object();
	long *sh = NULL;
	char name[128];
	int rc;

	if (!cap)
		cap = m->diffusers ? DF11_OFF_SHARD_DIFFUSERS
				   : DF11_OFF_SHARD_DEFAULT;
	if (!m->diffusers)
		drop_tied(m);
	if ((rc = off_shapes(m, err, errlen))) {
		if (!m->partial || m->need != DF11_OFF_NEED_HEADERS)
			goto out;
		/* df11 info: the units without the weight files */
		m->unresolved_rc = rc;
		rc = (m->unresolved = strdup(err ? err : "")) ? 0 : -ENOMEM;
		goto out;
	}
	rc = -ENOMEM;
	v = calloc(m->n_tensors + 1, sizeof(*v));
	if (!v || !wmap || cut(m, cap, &sh, &n_sh))
		goto out;
	if (n_sh > 99999) {
		df11_err_set(err, errlen, "too many shards");
		rc = -ENOTSUP;
		goto out;
	}
	first = calloc(n_sh + 2, sizeof(*first));
	fill = calloc(n_sh + 2, sizeof(*fill));
	if (!first || !fill)
		goto out;
	/* v: the shown tensors grouped by shard; shard k is [first[k],
	 * first[k + 1]) */
	for (size_t i = 0; i < m->n_tensors; i++)
		if (sh[i] >= 0) {
			first[sh[i] + 1]++;
			total += m->tensors[m->by_name[i]].nbytes;
		}
	for (size_t k = 0; k < n_sh; k++)
		first[k + 1] += first[k];
	memcpy(fill, first, (n_sh + 1) * sizeof(*fill));
	for (size_t i = 0; i < m->n_tensors; i++)
		if (sh[i] >= 0)
			v[fill[sh[i]]++] = &m->tensors[m->by_name[i]];
	rc = 0;
	for (size_t k = 0; k < (n_sh ? n_sh : 1) && !rc; k++) {
		if (n_sh > 1)
			snprintf(name, sizeof(name),
				 "%s-%05zu-of-%05zu.safetensors", base, k + 1,
				 n_sh);
		else
			snprintf(name, sizeof(name), "%s.safetensors", base);
		rc = shard_write(m, v + first[k], first[k + 1] - first[k], name,
				 n_sh > 1 ? wmap : NULL);
	}
	if (!rc && n_sh > 1)
		rc = index_write(m, base, wmap, total);
out:
	json_decref(wmap);
	free(first);
	free(fill);
	free(sh);
	free(v);
	return rc;
}

/*
 * Why config.json, shown without dfloat11_config and without the user's
 * original-config.json, cannot be loaded; NULL when it can. It is still
 * shown as it is (the key cut out): the release's own config.json would
 * tell loaders, and df11 itself, that the BF16 files are DF11 ones.
 */
static const char *config_note(const struct df11_off *m)
{
	if (m->orig_txt)
		return NULL;
	if (m->diffusers && !json_object_get(m->config, "_class_name"))
		return "config.json holds no architecture (no _class_name: "
		       "the DFloat11 release's config.json has only "
		       "dfloat11_config), which diffusers needs to load the "
		       "model; copy the original model's config.json into "
		       "the directory as " DF11_OFF_ORIG_CONFIG;
	if (!m->diffusers && !json_object_get(m->config, "model_type") &&
	    !json_object_get(m->config, "architectures"))
		return "config.json holds no architecture (no model_type: "
		       "the DFloat11 release's config.json has only "
		       "dfloat11_config), which transformers needs to load "
		       "the model; copy the original model's config.json "
		       "into the directory as " DF11_OFF_ORIG_CONFIG;
	return NULL;
}

int off_layout(struct df11_off *m, const char *headers, size_t headers_len,
	       uint64_t shard_size, char *err, size_t errlen)
{
	struct off_vfile *v;
	char *cfg = NULL;
	size_t cfg_len = 0;
	int rc;

	v = vfile_add(m, "config.json");
	if (v && m->orig_txt && (cfg = malloc(m->orig_len + 1))) {
		memcpy(cfg, m->orig_txt, m->orig_len);
		cfg_len = m->orig_len;
	} else if (!v || m->orig_txt ||
		   (rc = off_config_strip(m, &cfg, &cfg_len)))
		return -ENOMEM;
	v->prefix = (uint8_t *)cfg;
	v->prefix_len = cfg_len;
	v->size = cfg_len;
	m->note = config_note(m);
	if (headers)
		return off_headers_layout(m, headers, headers_len, err, errlen);
	return synth(m, shard_size, err, errlen);
}
