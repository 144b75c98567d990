/* SPDX-License-Identifier: MIT */
/*
 * official/shapes.c - shapes of the pieces from config.json
 *
 * DF11 stores no shapes: a piece is a flat run of weights. For the
 * transformers LLM families whose linear layers are plain
 * [out_features, in_features] matrices, the shape follows from the piece's
 * leaf name and a handful of config keys (docs/OFFICIAL.md, "Shapes"):
 *
 *   q_proj        [heads * head_dim, hidden]
 *   k_proj v_proj [kv_heads * head_dim, hidden]
 *   o_proj        [hidden, heads * head_dim]
 *   qkv_proj      [(heads + 2 * kv_heads) * head_dim, hidden]   (Phi-3/4)
 *   gate_proj up_proj [intermediate, hidden]
 *   gate_up_proj  [2 * intermediate, hidden]                   (Phi-3/4)
 *   down_proj     [hidden, intermediate]
 *   embed_tokens lm_head [vocab, hidden]
 *
 * head_dim defaults to hidden / heads, kv_heads to heads. Gemma 3 keeps
 * these keys in "text_config". A shape is never guessed: an unknown
 * model_type or leaf, a missing key, or a product that differs from the
 * piece's element count refuses the model, naming the original headers
 * as the remedy (DF11_OFF_NEED_HEADERS: the front end says how to give
 * them).
 */
#include <errno.h>
#include <string.h>

#include "official/official_i.h"

static const char *const families[] = {
    "llama",  "mistral", "qwen2",	"qwen3", "gemma",
    "gemma2", "gemma3",	 "gemma3_text", "phi3",	 NULL,
};

/* the remedy, named to the caller as DF11_OFF_NEED_HEADERS */
#define HINT "the original headers give every shape"

struct dims {
	uint64_t hidden, heads, kv, head_dim, inter, vocab;
};

/* a positive integer config value of @c, 0 when absent */
static uint64_t cint(const json_t *c, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(c, key));

	return v > 0 ? (uint64_t)v : 0;
}

static int load_dims(const struct df11_off *m, struct dims *d,
		     const char **type)
{
	const json_t *c = m->config, *tc = json_object_get(c, "text_config");
	int known = 0;

	*type = json_string_value(json_object_get(c, "model_type"));
	for (int i = 0; *type && families[i]; i++)
		known |= !strcmp(*type, families[i]);
	if (!known)
		return -ENOTSUP;
	if (json_is_object(tc))
		c = tc;
	d->hidden = cint(c, "hidden_size");
	d->heads = cint(c, "num_attention_heads");
	d->kv = cint(c, "num_key_value_heads");
	d->head_dim = cint(c, "head_dim");
	d->inter = cint(c, "intermediate_size");
	d->vocab = cint(c, "vocab_size");
	if (!d->kv)
		d->kv = d->heads;
	if (!d->head_dim && d->heads)
		d->head_dim = d->hidden / d->heads;
	return 0;
}

/* the leaf module name of piece @name ("q_proj" of "x.q_proj.weight") */
static void leaf_of(const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name), e, s;

	buf[0] = '\0';
	if (n < 8 || strcmp(name + n - 7, ".weight"))
		return;
	e = n - 7;
	s = e;
	while (s > 0 && name[s - 1] != '.')
		s--;
	if (e - s < cap) {
		memcpy(buf, name + s, e - s);
		buf[e - s] = '\0';
	}
}

/* rows and columns of leaf @leaf; 0 rows when unknown */
static void rule(const struct dims *d, const char *leaf, uint64_t *r,
		 uint64_t *c)
{
	uint64_t q = d->heads * d->head_dim, kv = d->kv * d->head_dim;

	*r = 0;
	*c = d->hidden;
	if (!strcmp(leaf, "q_proj"))
		*r = q;
	else if (!strcmp(leaf, "k_proj") || !strcmp(leaf, "v_proj"))
		*r = kv;
	else if (!strcmp(leaf, "o_proj")) {
		*r = d->hidden;
		*c = q;
	} else if (!strcmp(leaf, "qkv_proj"))
		*r = q + 2 * kv;
	else if (!strcmp(leaf, "gate_proj") || !strcmp(leaf, "up_proj"))
		*r = d->inter;
	else if (!strcmp(leaf, "gate_up_proj"))
		*r = 2 * d->inter;
	else if (!strcmp(leaf, "down_proj")) {
		*r = d->hidden;
		*c = d->inter;
	} else if (!strcmp(leaf, "embed_tokens") || !strcmp(leaf, "lm_head"))
		*r = d->vocab;
}

static int unknown(struct df11_off *m, const struct off_tensor *t,
		   const char *type, char *err, size_t errlen)
{
	m->need = DF11_OFF_NEED_HEADERS;
	df11_err_set(err, errlen,
		     "cannot resolve the shape of '%s' from config.json "
		     "(model_type '%s'); " HINT,
		     t->name, type);
	return -ENOTSUP;
}

int off_shapes(struct df11_off *m, char *err, size_t errlen)
{
	const char *type = NULL;
	struct dims d = {0};
	char leaf[64];
	uint64_t r, c, n;

	for (size_t i = 0; i < m->n_tensors; i++) {
		struct off_tensor *t = &m->tensors[i];

		if (t->shape_set)
			continue;
		if (!type && load_dims(m, &d, &type)) {
			m->need = DF11_OFF_NEED_HEADERS;
			df11_err_set(
			    err, errlen,
			    "cannot resolve the shape of '%s': model_type "
			    "'%s' has no shape rules; " HINT,
			    t->name, type ? type : "(none)");
			return -ENOTSUP;
		}
		/* dims are < 2^63 each; keep products honest */
		if (d.hidden >> 31 || d.heads >> 20 || d.kv >> 20 ||
		    d.head_dim >> 20 || d.inter >> 40 || d.vocab >> 40)
			return unknown(m, t, type, err, errlen);
		leaf_of(t->name, leaf, sizeof(leaf));
		rule(&d, leaf, &r, &c);
		if (!r || !c)
			return unknown(m, t, type, err, errlen);
		if (__builtin_mul_overflow(r, c, &n) || n != t->n_elems) {
			m->need = DF11_OFF_NEED_HEADERS;
			df11_err_set(
			    err, errlen,
			    "'%s': %llu weights, but config.json gives "
			    "[%llu, %llu]; " HINT,
			    t->name, (unsigned long long)t->n_elems,
			    (unsigned long long)r, (unsigned long long)c);
			return -EBADMSG;
		}
		t->n_dims = 2;
		t->shape[0] = r;
		t->shape[1] = c;
		t->shape_set = true;
	}
	return 0;
}
