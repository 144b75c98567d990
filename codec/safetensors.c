/* SPDX-License-Identifier: MIT */
/*
 * codec/safetensors.c - parse and validate safetensors headers
 *
 * The header is untrusted input: a model downloaded from anywhere. jansson
 * decodes it (duplicate keys rejected, nesting depth bounded by jansson,
 * NUL bytes allowed inside string values only, since metadata values may
 * hold any string; jansson itself refuses NUL bytes in keys). Then one pass
 * over the top-level object, in header order (jansson >= 2.8 iterates
 * objects in insertion order), checks each entry:
 *
 *   "__metadata__": {"k": "v", ...}            strings only, kept as json_t
 *   "name": {"dtype": "BF16",                  a known dtype, exact spelling
 *            "shape": [d0, d1, ...],           0..16 integers >= 0
 *            "data_offsets": [begin, end]}     begin <= end <= data_size
 *
 * with no other key inside a tensor, and
 *
 *   end - begin == d0 * d1 * ... * dtype_size  (a scalar has one element)
 *
 * computed with overflow checks (-EOVERFLOW, unless a dimension is 0).
 * A second pass sorts the tensors by begin (ties keep header order) and
 * rejects two non-empty tensors whose ranges intersect; empty tensors
 * occupy no bytes and overlap nothing. Bytes covered by no tensor are fine.
 *
 * The result owns copies of the names and one reference to the metadata
 * object, so it never points into the caller's buffer. Error messages are
 * one line: names are truncated to ST_NAME_SHOWN bytes and every control
 * byte of the message becomes '?'.
 */
#include "codec/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec_i.h"

#define ST_NAME_SHOWN 64u /* bytes of a name quoted in an error message */
#define ST_QUOTE_LEN  (ST_NAME_SHOWN + 4u) /* + "..." + NUL */
#define ST_SHAPE_LEN  400u /* "[" + 16 x ("18446744073709551615, ") + "]" */
#define ST_METADATA   "__metadata__"

struct df11_st {
	struct df11_st_tensor *tensors; /* @n, header order */
	size_t n;
	size_t *order; /* @n indices by (begin, index) */
	const struct df11_st_tensor **by_name; /* @n, sorted by strcmp */
	json_t *meta; /* the "__metadata__" object (own reference) or NULL */
};

/* Where a parse reports its failure. */
struct st_err {
	char *buf; /* NULL: nobody listens */
	size_t len;
};

/* clang-format off */
static const struct {
	const char *name;
	size_t size;
} st_dtypes[DF11_DT_COUNT] = {
	[DF11_DT_BOOL]    = {"BOOL", 1},
	[DF11_DT_U8]      = {"U8", 1},
	[DF11_DT_I8]      = {"I8", 1},
	[DF11_DT_F8_E5M2] = {"F8_E5M2", 1},
	[DF11_DT_F8_E4M3] = {"F8_E4M3", 1},
	[DF11_DT_I16]     = {"I16", 2},
	[DF11_DT_U16]     = {"U16", 2},
	[DF11_DT_F16]     = {"F16", 2},
	[DF11_DT_BF16]    = {"BF16", 2},
	[DF11_DT_I32]     = {"I32", 4},
	[DF11_DT_U32]     = {"U32", 4},
	[DF11_DT_F32]     = {"F32", 4},
	[DF11_DT_I64]     = {"I64", 8},
	[DF11_DT_U64]     = {"U64", 8},
	[DF11_DT_F64]     = {"F64", 8},
};
/* clang-format on */

size_t df11_dtype_size(enum df11_dtype dt)
{
	if ((unsigned)dt >= DF11_DT_COUNT)
		return 0;
	return st_dtypes[dt].size;
}

const char *df11_dtype_name(enum df11_dtype dt)
{
	if ((unsigned)dt >= DF11_DT_COUNT)
		return NULL;
	return st_dtypes[dt].name;
}

int df11_dtype_parse(const char *name, enum df11_dtype *dt)
{
	if (!name || !dt)
		return -EINVAL;
	for (unsigned i = 0; i < DF11_DT_COUNT; i++) {
		if (strcmp(name, st_dtypes[i].name) == 0) {
			*dt = (enum df11_dtype)i;
			return 0;
		}
	}
	return -EBADMSG;
}

/* ------------------------------------------------------------- messages */

/*
 * st_fail() - format a reason into @e and return @ret. Control bytes (a
 * name may hold "\n") become '?' so that the message stays one line.
 */
__attribute__((format(printf, 3, 4))) static int
st_fail(const struct st_err *e, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	df11_err_vset(e->buf, e->len, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * st_quote() - @name cut to ST_NAME_SHOWN bytes for a message; the cut
 * backs off to a UTF-8 character boundary and is marked with "...".
 */
static const char *st_quote(char q[ST_QUOTE_LEN], const char *name)
{
	size_t len = strlen(name);

	if (len <= ST_NAME_SHOWN)
		return name;
	len = ST_NAME_SHOWN;
	while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
		len--;
	memcpy(q, name, len);
	memcpy(q + len, "...", 4);
	return q;
}

/* st_fmt_shape() - "[d0, d1, ...]" of @t into @buf (truncated if need be). */
static const char *st_fmt_shape(char buf[ST_SHAPE_LEN],
				const struct df11_st_tensor *t)
{
	size_t off = 1;

	buf[0] = '[';
	buf[1] = '\0';
	for (unsigned i = 0; i < t->n_dims && off < ST_SHAPE_LEN; i++) {
		int w =
		    snprintf(buf + off, ST_SHAPE_LEN - off, "%s%llu",
			     i ? ", " : "", (unsigned long long)t->shape[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off < ST_SHAPE_LEN - 1) {
		buf[off] = ']';
		buf[off + 1] = '\0';
	}
	return buf;
}

/* ------------------------------------------------------------- tensors */

/* st_uint() - @v as a non-negative JSON integer. Return: 0, -1 if not. */
static int st_uint(const json_t *v, uint64_t *out)
{
	json_int_t x;

	if (!json_is_integer(v))
		return -1;
	x = json_integer_value(v);
	if (x < 0)
		return -1;
	*out = (uint64_t)x;
	return 0;
}

/* st_tensor_keys() - @v holds exactly dtype, shape and data_offsets. */
static int st_tensor_keys(const json_t *v, const char *q,
			  const struct st_err *e)
{
	static const char *const want[] = {"dtype", "shape", "data_offsets"};
	char kq[ST_QUOTE_LEN];

	for (void *it = json_object_iter((json_t *)v); it;
	     it = json_object_iter_next((json_t *)v, it)) {
		const char *key = json_object_iter_key(it);
		unsigned i = 0;

		while (i < 3 && strcmp(key, want[i]) != 0)
			i++;
		if (i == 3)
			return st_fail(e, -EBADMSG,
				       "tensor '%s': unknown key '%s'", q,
				       st_quote(kq, key));
	}
	for (unsigned i = 0; i < 3; i++) {
		if (!json_object_get(v, want[i]))
			return st_fail(e, -EBADMSG, "tensor '%s': missing %s",
				       q, want[i]);
	}
	return 0;
}

/* st_dtype() - "dtype" of tensor @q: a string naming a known dtype. */
static int st_dtype(struct df11_st_tensor *t, const json_t *v, const char *q,
		    const struct st_err *e)
{
	const char *s;
	char sq[ST_QUOTE_LEN];

	if (!json_is_string(v))
		return st_fail(e, -EBADMSG,
			       "tensor '%s': dtype is not a string", q);
	s = json_string_value(v);
	/* "BF16\u0000x" would pass strcmp(): insist on the whole string. */
	if (strlen(s) != json_string_length(v) ||
	    df11_dtype_parse(s, &t->dtype) != 0)
		return st_fail(e, -EBADMSG, "tensor '%s': unknown dtype '%s'",
			       q, st_quote(sq, s));
	return 0;
}

/* st_shape() - "shape" of tensor @q into @t->shape and @t->n_elems. */
static int st_shape(struct df11_st_tensor *t, const json_t *v, const char *q,
		    const struct st_err *e)
{
	size_t n_dims;
	int has_zero = 0;

	if (!json_is_array(v))
		return st_fail(e, -EBADMSG,
			       "tensor '%s': shape is not an array", q);
	n_dims = json_array_size(v);
	if (n_dims > DF11_ST_MAX_DIMS)
		return st_fail(e, -EBADMSG,
			       "tensor '%s': shape has %zu dims, at most %u", q,
			       n_dims, DF11_ST_MAX_DIMS);
	t->n_dims = (unsigned)n_dims;
	for (size_t i = 0; i < n_dims; i++) {
		if (st_uint(json_array_get(v, i), &t->shape[i]) != 0)
			return st_fail(e, -EBADMSG,
				       "tensor '%s': shape entry %zu is not an "
				       "integer >= 0",
				       q, i);
		has_zero |= t->shape[i] == 0;
	}
	/* A zero dimension makes the product 0 whatever the others are. */
	t->n_elems = has_zero ? 0 : 1;
	for (size_t i = 0; i < n_dims && !has_zero; i++) {
		if (__builtin_mul_overflow(t->n_elems, t->shape[i],
					   &t->n_elems))
			return st_fail(e, -EOVERFLOW,
				       "tensor '%s': shape product overflows "
				       "64 bits",
				       q);
	}
	return 0;
}

/* st_offsets() - "data_offsets" of tensor @q: [begin, end], begin <= end. */
static int st_offsets(struct df11_st_tensor *t, const json_t *v, const char *q,
		      const struct st_err *e)
{
	if (!json_is_array(v) || json_array_size(v) != 2 ||
	    st_uint(json_array_get(v, 0), &t->begin) != 0 ||
	    st_uint(json_array_get(v, 1), &t->end) != 0)
		return st_fail(e, -EBADMSG,
			       "tensor '%s': data_offsets is not an array of 2 "
			       "integers >= 0",
			       q);
	if (t->begin > t->end)
		return st_fail(
		    e, -EBADMSG,
		    "tensor '%s': data_offsets begin %llu > end %llu", q,
		    (unsigned long long)t->begin, (unsigned long long)t->end);
	return 0;
}

/* st_extent() - the byte count matches the shape; the range fits. */
static int st_extent(const struct df11_st_tensor *t, uint64_t data_size,
		     const char *q, const struct st_err *e)
{
	uint64_t nbytes;
	char sh[ST_SHAPE_LEN];
	const char *dt = df11_dtype_name(t->dtype);

	if (__builtin_mul_overflow(
		t->n_elems, (uint64_t)df11_dtype_size(t->dtype), &nbytes))
		return st_fail(e, -EOVERFLOW,
			       "tensor '%s': byte size of shape %s of %s "
			       "overflows 64 bits",
			       q, st_fmt_shape(sh, t), dt);
	if (nbytes != t->end - t->begin)
		return st_fail(e, -EBADMSG,
			       "tensor '%s': data_offsets [%llu, %llu) do not "
			       "match shape %s of %s (%llu bytes)",
			       q, (unsigned long long)t->begin,
			       (unsigned long long)t->end, st_fmt_shape(sh, t),
			       dt, (unsigned long long)nbytes);
	if (t->end > data_size)
		return st_fail(
		    e, -EBADMSG,
		    "tensor '%s': data_offsets [%llu, %llu) past the "
		    "end of the %llu-byte data region",
		    q, (unsigned long long)t->begin, (unsigned long long)t->end,
		    (unsigned long long)data_size);
	return 0;
}

/* st_tensor() - check entry @name: @v of the header into @t. */
static int st_tensor(struct df11_st_tensor *t, const char *name,
		     const json_t *v, uint64_t data_size,
		     const struct st_err *e)
{
	char q[ST_QUOTE_LEN];
	const char *qn;
	int ret;

	if (name[0] == '\0')
		return st_fail(e, -EBADMSG, "tensor with an empty name");
	qn = st_quote(q, name);
	if (!json_is_object(v))
		return st_fail(e, -EBADMSG, "tensor '%s': not a json object",
			       qn);
	ret = st_tensor_keys(v, qn, e);
	if (ret == 0)
		ret = st_dtype(t, json_object_get(v, "dtype"), qn, e);
	if (ret == 0)
		ret = st_shape(t, json_object_get(v, "shape"), qn, e);
	if (ret == 0)
		ret = st_offsets(t, json_object_get(v, "data_offsets"), qn, e);
	if (ret == 0)
		ret = st_extent(t, data_size, qn, e);
	if (ret != 0)
		return ret;
	t->name = strdup(name);
	return t->name ? 0 : -ENOMEM;
}

/* st_meta() - "__metadata__" is an object of strings; keep a reference. */
static int st_meta(struct df11_st *st, json_t *v, const struct st_err *e)
{
	char kq[ST_QUOTE_LEN];

	if (!json_is_object(v))
		return st_fail(e, -EBADMSG,
			       ST_METADATA " is not a json object");
	for (void *it = json_object_iter(v); it;
	     it = json_object_iter_next(v, it)) {
		const char *key = json_object_iter_key(it);

		if (!json_is_string(json_object_iter_value(it)))
			return st_fail(e, -EBADMSG,
				       ST_METADATA " value of '%s' is not a "
						   "string",
				       st_quote(kq, key));
	}
	st->meta = json_incref(v);
	return 0;
}

/* ----------------------------------------------------------- the header */

/* st_load() - decode @json; an object followed by JSON whitespace only. */
static int st_load(json_t **root, const uint8_t *json, size_t len,
		   const struct st_err *e)
{
	json_error_t je;
	size_t pos;

	*root = json_loadb((const char *)json, len,
			   JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL |
			       JSON_DISABLE_EOF_CHECK,
			   &je);
	if (!*root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -ENOMEM;
		return st_fail(e, -EBADMSG,
			       "invalid json at line %d column %d: %s", je.line,
			       je.column, je.text);
	}
	if (!json_is_object(*root))
		return st_fail(e, -EBADMSG, "header is not a json object");
	/* With JSON_DISABLE_EOF_CHECK, position = bytes of the object. */
	for (pos = (size_t)je.position; pos < len; pos++) {
		if (json[pos] != ' ' && json[pos] != '\t' &&
		    json[pos] != '\r' && json[pos] != '\n')
			return st_fail(
			    e, -EBADMSG,
			    "trailing bytes after the json object at "
			    "offset %zu",
			    pos);
	}
	return 0;
}

/* st_collect() - every entry of @root, in header order, into @st. */
static int st_collect(struct df11_st *st, json_t *root, uint64_t data_size,
		      const struct st_err *e)
{
	size_t cap = json_object_size(root);

	/* One spare slot: calloc(0) may return NULL. */
	st->tensors = calloc(cap + 1, sizeof(*st->tensors));
	st->order = calloc(cap + 1, sizeof(*st->order));
	st->by_name = calloc(cap + 1, sizeof(*st->by_name));
	if (!st->tensors || !st->order || !st->by_name)
		return -ENOMEM;
	/* The iterator walks the object in insertion (header) order. */
	for (void *it = json_object_iter(root); it;
	     it = json_object_iter_next(root, it)) {
		const char *key = json_object_iter_key(it);
		json_t *val = json_object_iter_value(it);
		int ret;

		if (strcmp(key, ST_METADATA) == 0) {
			ret = st_meta(st, val, e);
		} else {
			ret = st_tensor(&st->tensors[st->n], key, val,
					data_size, e);
			st->n += ret == 0;
		}
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* By begin; equal begins keep header order (pointers into one array). */
static int st_cmp_begin(const void *a, const void *b)
{
	const struct df11_st_tensor *x =
	    *(const struct df11_st_tensor *const *)a;
	const struct df11_st_tensor *y =
	    *(const struct df11_st_tensor *const *)b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x > y) - (x < y);
}

static int st_cmp_name(const void *a, const void *b)
{
	const struct df11_st_tensor *x =
	    *(const struct df11_st_tensor *const *)a;
	const struct df11_st_tensor *y =
	    *(const struct df11_st_tensor *const *)b;

	return strcmp(x->name, y->name);
}

/*
 * st_index() - build the offset order, reject overlaps, build the name
 * index. Sorted by begin, non-overlapping ranges have increasing ends, so
 * each non-empty tensor need only be checked against the last one.
 */
static int st_index(struct df11_st *st, const struct st_err *e)
{
	const struct df11_st_tensor **by = st->by_name, *prev = NULL;
	char q1[ST_QUOTE_LEN], q2[ST_QUOTE_LEN];

	for (size_t i = 0; i < st->n; i++)
		by[i] = &st->tensors[i];
	qsort(by, st->n, sizeof(*by), st_cmp_begin);
	for (size_t i = 0; i < st->n; i++) {
		const struct df11_st_tensor *t = by[i];

		st->order[i] = (size_t)(t - st->tensors);
		if (t->begin == t->end)
			continue;
		if (prev && t->begin < prev->end)
			return st_fail(e, -EBADMSG,
				       "tensors '%s' [%llu, %llu) and '%s' "
				       "[%llu, %llu) overlap",
				       st_quote(q1, prev->name),
				       (unsigned long long)prev->begin,
				       (unsigned long long)prev->end,
				       st_quote(q2, t->name),
				       (unsigned long long)t->begin,
				       (unsigned long long)t->end);
		prev = t;
	}
	qsort(by, st->n, sizeof(*by), st_cmp_name);
	return 0;
}

int df11_st_parse(struct df11_st **out, const uint8_t *json, size_t len,
		  uint64_t data_size, char *err, size_t errlen)
{
	const struct st_err e = {err, errlen};
	struct df11_st *st = NULL;
	json_t *root = NULL;
	int ret;

	if (!out || (!json && len))
		return -EINVAL;
	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (len == 0 || len > DF11_ST_MAX_HEADER)
		return st_fail(&e, -EBADMSG,
			       "header length %zu out of range 1..%u", len,
			       DF11_ST_MAX_HEADER);
	ret = st_load(&root, json, len, &e);
	if (ret != 0)
		goto fail;
	st = calloc(1, sizeof(*st));
	if (!st) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = st_collect(st, root, data_size, &e);
	if (ret == 0)
		ret = st_index(st, &e);
	if (ret != 0)
		goto fail;
	json_decref(root);
	*out = st;
	return 0;
fail:
	if (ret == -ENOMEM)
		st_fail(&e, ret, "out of memory");
	df11_st_free(st);
	json_decref(root);
	return ret;
}

void df11_st_free(struct df11_st *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->tensors[i].name);
	free(st->tensors);
	free(st->order);
	free(st->by_name);
	json_decref(st->meta);
	free(st);
}

size_t df11_st_n_tensors(const struct df11_st *st)
{
	return st->n;
}

const struct df11_st_tensor *df11_st_tensor(const struct df11_st *st, size_t i)
{
	return i < st->n ? &st->tensors[i] : NULL;
}

const struct df11_st_tensor *df11_st_find(const struct df11_st *st,
					  const char *name)
{
	struct df11_st_tensor key = {.name = (char *)name};
	const struct df11_st_tensor *k = &key, *const * hit;

	if (!name)
		return NULL;
	hit =
	    bsearch(&k, st->by_name, st->n, sizeof(*st->by_name), st_cmp_name);
	return hit ? *hit : NULL;
}

const char *df11_st_meta(const struct df11_st *st, const char *key, size_t *len)
{
	const json_t *v =
	    (st->meta && key) ? json_object_get(st->meta, key) : NULL;

	if (!v)
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

void df11_st_drop_meta(struct df11_st *st)
{
	json_decref(st->meta);
	st->meta = NULL;
}

size_t df11_st_mem(const struct df11_st *st)
{
	size_t n = sizeof(*st) + 16 +
		   (st->n + 1) * (sizeof(*st->tensors) + sizeof(*st->order) +
				  sizeof(*st->by_name)) +
		   3 * 16;

	for (size_t i = 0; i < st->n; i++)
		n += strlen(st->tensors[i].name) + 1 + 16;
	return n;
}

const size_t *df11_st_order(const struct df11_st *st)
{
	return st->order;
}
