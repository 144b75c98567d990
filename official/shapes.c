/* SPDX-License-Identifier: MIT */
/*
 * official/shapes.c - shapes of the pieces, without the original files
 *
 * DF11 stores no shapes: a piece is a flat run of weights. Two sources
 * give them back, tried in this order for every piece P.weight:
 *
 *  1. Its bias. Most compressed pieces of the diffusion transformers (all
 *     of FLUX, Chroma, Wan, Qwen-Image and SD3; not HiDream's
 *     feed-forwards nor Cosmos' blocks), the Qwen2-VL vision towers and
 *     the q/k/v projections of Qwen2 are nn.Linear layers whose bias stays
 *     in the directory as a plain tensor P.bias: out_features is len(bias),
 *     so the weight is [len(bias), n / len(bias)]. The bias must be a
 *     non-empty BF16 vector and divide n exactly; anything else refuses
 *     the model (a bias that does not fit is a broken directory, not a
 *     reason to guess).
 *  2. The rules of the architecture family (families.c: one table per
 *     model_type / diffusers _class_name), evaluated over the
 *     architecture config: config.json, or original-config.json when the
 *     user supplied the original's config.
 *
 * A shape is never guessed: no bias and no family, no rule for the
 * piece, a missing key, or a product that differs from the piece's
 * element count refuses the model, naming what to supply
 * (DF11_OFF_NEED_HEADERS: the front end says how to give it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "official/official_i.h"

/* the remedies, named to the caller as DF11_OFF_NEED_HEADERS */
#define HINT "the original headers give every shape"
#define HINT_CH                                                                \
	"the original config.json (copied into the directory as "              \
	"original-config.json) or the original headers give every shape"

#define EVAL_DEPTH 8 /* vars referring to vars */

struct eval {
	const json_t *c;
	const struct off_family *f;
	const struct off_var *self; /* the var being evaluated */
	int depth;
};

static int eval_expr(struct eval *x, const char *s, size_t n, uint64_t *v);

/*
 * The value of key path @s (@n bytes) in config @c: keys joined by '.'
 * name nested objects ("vision_config.hidden_size"), a number indexes an
 * array ("patch_size.0"). NULL when a key is missing or empty.
 */
static const json_t *key_path(const json_t *c, const char *s, size_t n)
{
	char key[64], *end;

	for (;;) {
		const char *dot = memchr(s, '.', n);
		size_t l = dot ? (size_t)(dot - s) : n;

		if (!l || l >= sizeof(key))
			return NULL;
		memcpy(key, s, l);
		key[l] = '\0';
		if (json_is_array(c) && key[0] >= '0' && key[0] <= '9') {
			unsigned long i = strtoul(key, &end, 10);

			c = *end ? NULL : json_array_get(c, i);
		} else {
			c = json_object_get(c, key);
		}
		if (!dot || !c)
			return c;
		s = dot + 1;
		n -= l + 1;
	}
}

/*
 * A positive integer config value: an integer, or a whole real (the
 * model code's int(dim * 4.0) of "mlp_ratio": 4.0 is dim * 4; 2.5 is
 * refused, not rounded).
 */
static int config_int(const json_t *j, uint64_t *v)
{
	double r;

	if (json_is_integer(j) && json_integer_value(j) > 0) {
		*v = (uint64_t)json_integer_value(j);
		return 0;
	}
	if (!json_is_real(j))
		return -ENOENT;
	r = json_real_value(j);
	if (!(r >= 1.0 && r < 9007199254740992.0) || r != (double)(uint64_t)r)
		return -ENOENT;
	*v = (uint64_t)r;
	return 0;
}

/*
 * The value of name @s (@n bytes): a var of the family or a config key
 * path (inside a var's own expression its name is the config key:
 * "head_dim | hidden / heads").
 */
static int eval_name(struct eval *x, const char *s, size_t n, uint64_t *v)
{
	const struct off_var *self = x->self;
	int rc;

	for (const struct off_var *d = x->f->vars; d && d->name; d++) {
		if (d == self || strlen(d->name) != n || strncmp(d->name, s, n))
			continue;
		if (x->depth >= EVAL_DEPTH)
			return -ENOENT;
		x->depth++;
		x->self = d;
		rc = eval_expr(x, d->expr, strlen(d->expr), v);
		x->self = self;
		x->depth--;
		return rc;
	}
	return config_int(key_path(x->c, s, n), v);
}

static int is_name_char(char c, int first)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (!first && ((c >= '0' && c <= '9') || c == '.'));
}

/* one alternative: factors joined by '*', '/' and '+' */
static int eval_alt(struct eval *x, const char *s, const char *e, uint64_t *v)
{
	uint64_t sum = 0, prod = 1, f;
	char op = '*';
	int rc;

	for (;;) {
		const char *t;

		while (s < e && *s == ' ')
			s++;
		t = s;
		if (s < e && *s >= '0' && *s <= '9') {
			for (f = 0; s < e && *s >= '0' && *s <= '9'; s++)
				if (__builtin_mul_overflow(f, 10, &f) ||
				    __builtin_add_overflow(f, *s - '0', &f))
					return -EOVERFLOW;
		} else {
			while (s < e && is_name_char(*s, s == t))
				s++;
			if (s == t)
				return -ENOENT; /* malformed: never resolves */
			if ((rc = eval_name(x, t, (size_t)(s - t), &f)))
				return rc;
		}
		if (op == '*' && __builtin_mul_overflow(prod, f, &prod))
			return -EOVERFLOW;
		if (op == '/' && (!f || !(prod /= f)))
			return -ENOENT;
		while (s < e && *s == ' ')
			s++;
		if (s == e || *s == '+') {
			if (__builtin_add_overflow(sum, prod, &sum))
				return -EOVERFLOW;
			prod = 1;
		}
		if (s == e)
			break;
		if (*s != '+' && *s != '*' && *s != '/')
			return -ENOENT;
		op = *s == '+' ? '*' : *s;
		s++;
	}
	*v = sum;
	return 0;
}

/* @s: alternatives separated by '|', the first that resolves wins */
static int eval_expr(struct eval *x, const char *s, size_t n, uint64_t *v)
{
	const char *e = s + n;
	int rc = -ENOENT;

	while (s <= e) {
		const char *bar = memchr(s, '|', (size_t)(e - s));
		const char *end = bar ? bar : e;

		rc = eval_alt(x, s, end, v);
		if (rc != -ENOENT || !bar)
			return rc;
		s = bar + 1;
	}
	return rc;
}

/* the @k-th last '.'-component of @s (@n bytes) as [*b, *b + *l) */
static int comp(const char *s, size_t n, size_t k, const char **b, size_t *l)
{
	size_t end = n, i;

	for (;;) {
		for (i = end; i > 0 && s[i - 1] != '.'; i--)
			;
		if (!k--) {
			*b = s + i;
			*l = end - i;
			return 1;
		}
		if (!i)
			return 0;
		end = i - 1;
	}
}

/* does pattern @p match module path @s (@n bytes)? (families.c) */
static int path_match(const char *p, const char *s, size_t n)
{
	int anchored = *p == '^';
	size_t pn, k = 0;
	const char *a, *b;
	size_t al, bl;

	p += anchored;
	pn = strlen(p);
	for (; comp(p, pn, k, &a, &al); k++) {
		if (!comp(s, n, k, &b, &bl) || !bl)
			return 0;
		if (!(al == 1 && *a == '*') && (al != bl || memcmp(a, b, al)))
			return 0;
		if (a == p)
			break;
	}
	return !anchored || !comp(s, n, k + 1, &b, &bl);
}

/* the first rule of @rules (may be NULL) matching module path @s */
static const struct off_rule *find_rule(const struct off_rule *rules,
					const char *s, size_t n)
{
	for (const struct off_rule *ru = rules; ru && ru->pattern; ru++)
		if (path_match(ru->pattern, s, n))
			return ru;
	return NULL;
}

/* the family of the architecture config, its name in *@type */
static const struct off_family *family(const struct df11_off *m,
				       const char **type, const char **what)
{
	const char *cls =
	    json_string_value(json_object_get(m->arch, "_class_name"));

	*what = cls ? "class" : "model_type";
	*type = cls ? cls
		    : json_string_value(json_object_get(m->arch, "model_type"));
	for (const struct off_family *f = off_families; *type && f->names; f++)
		for (const char *const *n = f->names; *n; n++)
			if (!strcmp(*n, *type))
				return f;
	return NULL;
}

static int need(struct df11_off *m, int rc)
{
	m->need = DF11_OFF_NEED_HEADERS;
	return rc;
}

/*
 * Shape piece @t from its plain bias. Return: 1 (no bias: try the
 * rules), 0 (set), -EBADMSG (a bias that does not fit, reported).
 */
static int from_bias(struct df11_off *m, struct off_tensor *t, char *err,
		     size_t errlen)
{
	size_t n = strlen(t->name);
	const struct off_tensor *b;
	char bname[1024];
	uint64_t len;
	long i;

	if (n < 8 || strcmp(t->name + n - 7, ".weight") ||
	    n - 7 + sizeof(".bias") > sizeof(bname))
		return 1;
	memcpy(bname, t->name, n - 7);
	memcpy(bname + n - 7, ".bias", sizeof(".bias"));
	if ((i = off_find(m, bname)) < 0 || m->tensors[i].unit >= 0)
		return 1;
	b = &m->tensors[i];
	len = b->n_dims == 1 ? b->shape[0] : 0;
	if (b->dtype != DF11_DT_BF16 || !len || t->n_elems % len) {
		df11_err_set(
		    err, errlen,
		    "'%s': %llu weights do not fit its bias '%s' "
		    "(%s, %u dims, %llu values: needs a non-empty "
		    "BF16 vector whose length divides the weights); " HINT,
		    t->name, (unsigned long long)t->n_elems, bname,
		    df11_dtype_name(b->dtype), b->n_dims,
		    (unsigned long long)b->n_elems);
		return need(m, -EBADMSG);
	}
	t->n_dims = 2;
	t->shape[0] = len;
	t->shape[1] = t->n_elems / len;
	t->shape_set = true;
	return 0;
}

/* Shape piece @t by the rules of family @f. */
static int from_rules(struct df11_off *m, const struct off_family *f,
		      const char *what, const char *type, struct off_tensor *t,
		      char *err, size_t errlen)
{
	struct eval x = {m->arch, f, NULL, 0};
	const json_t *sub = f->sub ? json_object_get(m->arch, f->sub) : NULL;
	size_t n = strlen(t->name);
	const struct off_rule *ru;
	uint64_t r = 0, c = 0, prod;
	int rc = -ENOENT;

	if (json_is_object(sub))
		x.c = sub;
	if (n < 8 || strcmp(t->name + n - 7, ".weight"))
		goto unknown;
	if (!(ru = find_rule(f->rules, t->name, n - 7)))
		ru = find_rule(f->more, t->name, n - 7);
	if (ru && !(rc = eval_expr(&x, ru->rows, strlen(ru->rows), &r)))
		rc = eval_expr(&x, ru->cols, strlen(ru->cols), &c);
	if (rc || !r || !c)
		goto unknown;
	if (__builtin_mul_overflow(r, c, &prod) || prod != t->n_elems) {
		df11_err_set(err, errlen,
			     "'%s': %llu weights, but %s gives "
			     "[%llu, %llu]; " HINT,
			     t->name, (unsigned long long)t->n_elems,
			     m->arch_name, (unsigned long long)r,
			     (unsigned long long)c);
		return need(m, -EBADMSG);
	}
	t->n_dims = 2;
	t->shape[0] = r;
	t->shape[1] = c;
	t->shape_set = true;
	return 0;
unknown:
	df11_err_set(
	    err, errlen,
	    "cannot resolve the shape of '%s' from %s (%s '%s'); " HINT,
	    t->name, m->arch_name, what, type);
	return need(m, -ENOTSUP);
}

int off_shapes(struct df11_off *m, char *err, size_t errlen)
{
	const struct off_family *f = NULL;
	const char *type = NULL, *what = NULL;
	int rc;

	for (size_t i = 0; i < m->n_tensors; i++) {
		struct off_tensor *t = &m->tensors[i];

		if (t->shape_set)
			continue;
		if ((rc = from_bias(m, t, err, errlen)) <= 0) {
			if (rc)
				return rc;
			continue;
		}
		if (!what)
			f = family(m, &type, &what);
		if (!f) {
			if (type)
				df11_err_set(
				    err, errlen,
				    "cannot resolve the shape of '%s': "
				    "no bias, and %s '%s' has no shape "
				    "rules; %s",
				    t->name, what, type,
				    m->arch == m->config ? HINT_CH : HINT);
			else
				df11_err_set(
				    err, errlen,
				    "cannot resolve the shape of '%s': "
				    "no bias, and %s names no "
				    "architecture (model_type or "
				    "_class_name); %s",
				    t->name, m->arch_name,
				    m->arch == m->config ? HINT_CH : HINT);
			return need(m, -ENOTSUP);
		}
		if ((rc = from_rules(m, f, what, type, t, err, errlen)))
			return rc;
	}
	return 0;
}
