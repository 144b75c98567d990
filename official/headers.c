/* SPDX-License-Identifier: MIT */
/*
 * official/headers.c - virtual files from the original headers, and
 * config.json without dfloat11_config
 *
 * The headers text is what `df11 headers ORIGINAL_DIR` writes, a
 * df11-headers file (hfile.c: its format, keys and version check).
 *
 * Every tensor of every header must be found in the DF11 directory with
 * the same dtype and size (a piece: BF16 and the same element count); the
 * header supplies its shape and offsets. Every piece must be placed; an
 * unused plain tensor (the tied lm_head copy of the official remainder
 * file) is left out. Bytes of a file that no tensor covers read as zeros;
 * more than OFF_MAX_HOLES of them is refused, as no real file has any.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec/base64.h"
#include "official/official_i.h"

#define OFF_MAX_HOLES (64u << 20)

/* a plain file name of the directory: no '/', not "." or ".." */
static int name_ok(const char *s, const char *sfx)
{
	size_t n = s ? strlen(s) : 0, k = strlen(sfx);

	return n > k && !strchr(s, '/') && !strcmp(s + n - k, sfx) &&
	       strlen(s) < 256;
}

/* base64 text @j decoded into a new buffer */
static int b64(const json_t *j, uint8_t **out, size_t *len)
{
	const char *s = json_string_value(j);
	size_t n = s ? json_string_length(j) : 0;

	*out = NULL;
	if (!s || n > DF11_OFF_HEADERS_MAX)
		return -EBADMSG;
	*out = malloc(n / 4 * 3 + 1);
	if (!*out)
		return -ENOMEM;
	return df11_b64_decode(s, n, *out, len);
}

static struct off_vfile *add_vf(struct df11_off *m, const char *name)
{
	struct off_vfile *v;

	for (size_t i = 0; i < m->n_vf; i++)
		if (!strcmp(m->vf[i].name, name))
			return NULL;
	v = realloc(m->vf, (m->n_vf + 1) * sizeof(*v));
	if (!v)
		return NULL;
	m->vf = v;
	v = &m->vf[m->n_vf];
	memset(v, 0, sizeof(*v));
	if (!(v->name = strdup(name)))
		return NULL;
	m->n_vf++;
	return v;
}

/* zero chunks for @len uncovered bytes */
static int holes(struct off_vfile *v, uint64_t len)
{
	int rc = 0;

	while (len && !rc) {
		uint64_t n = len < OFF_RAW_CHUNK ? len : OFF_RAW_CHUNK;

		rc = off_chunk_add(v, OC_ZERO, 0, 0, n);
		len -= n;
	}
	return rc;
}

/* Place tensor @h of original file @v (header parsed). */
static int place(struct df11_off *m, struct off_vfile *v,
		 const struct df11_st_tensor *h, char *err, size_t errlen)
{
	long i = off_find(m, h->name);
	struct off_tensor *t = i >= 0 ? &m->tensors[i] : NULL;

	if (!t) {
		df11_err_set(err, errlen,
			     "'%s': tensor '%s' is not in the DF11 "
			     "directory",
			     v->name, h->name);
		return -EBADMSG;
	}
	if (t->vfile >= 0) {
		df11_err_set(err, errlen, "headers: tensor '%s' appears twice",
			     h->name);
		return -EBADMSG;
	}
	if (t->dtype != h->dtype || t->nbytes != h->end - h->begin ||
	    (t->unit >= 0 && t->n_elems != h->n_elems)) {
		df11_err_set(err, errlen,
			     "'%s': tensor '%s': dtype or size differs "
			     "from the DF11 directory",
			     v->name, h->name);
		return -EBADMSG;
	}
	t->n_dims = h->n_dims;
	memcpy(t->shape, h->shape, sizeof(t->shape));
	t->shape_set = true;
	t->vfile = (long)(m->n_vf - 1);
	return off_add_tensor_chunks(m, v, t);
}

/* One entry of "files": the header, then tensors in data order. */
static int file_layout(struct df11_off *m, const json_t *f, char *err,
		       size_t errlen)
{
	const char *name =
	    json_string_value(json_object_get(f, DF11_OFF_HK_NAME));
	json_int_t size =
	    json_integer_value(json_object_get(f, DF11_OFF_HK_SIZE));
	struct df11_st *st = NULL;
	struct off_vfile *v;
	uint64_t n, cur = 0, gap = 0;
	size_t hl = 0;
	uint8_t *hdr;
	char why[200] = "";
	int rc;

	if (!name_ok(name, ".safetensors") || !(v = add_vf(m, name))) {
		df11_err_set(err, errlen, "headers: bad or repeated file name");
		return -EBADMSG;
	}
	rc = b64(json_object_get(f, DF11_OFF_HK_HEADER), &hdr, &hl);
	v->prefix = hdr;
	if (rc || size < 0 ||
	    df11_st_header_frame(hdr, hl, (uint64_t)size, &n)) {
		df11_err_set(err, errlen, "headers: '%s': bad header or size",
			     name);
		return rc == -ENOMEM ? rc : -EBADMSG;
	}
	v->prefix_len = hl;
	v->size = hl;
	rc = df11_st_parse(&st, hdr + 8, (size_t)n, (uint64_t)size - hl, why,
			   sizeof(why));
	if (rc)
		df11_err_set(err, errlen, "headers: '%s': %s", name, why);
	for (size_t i = 0; !rc && i < df11_st_n_tensors(st); i++) {
		const struct df11_st_tensor *h =
		    df11_st_tensor(st, df11_st_order(st)[i]);

		gap += h->begin - cur;
		if (!(rc = holes(v, h->begin - cur)))
			rc = place(m, v, h, err, errlen);
		cur = h->end > cur ? h->end : cur;
	}
	gap += (uint64_t)size - hl - cur;
	if (!rc && gap > OFF_MAX_HOLES) {
		df11_err_set(err, errlen,
			     "headers: '%s': %llu bytes that no tensor "
			     "covers",
			     name, (unsigned long long)gap);
		rc = -ENOTSUP;
	}
	if (!rc)
		rc = holes(v, (uint64_t)size - hl - cur);
	df11_st_free(st);
	return rc;
}

int off_headers_layout(struct df11_off *m, const char *txt, size_t len,
		       char *err, size_t errlen)
{
	json_t *root, *files, *idx;
	int rc = off_headers_load(&root, txt, len, err, errlen);

	if (rc)
		return rc;
	files = json_object_get(root, DF11_OFF_HK_FILES);
	idx = json_object_get(root, DF11_OFF_HK_INDEX);
	if (!json_is_array(files) || (idx && !json_is_object(idx))) {
		df11_err_set(err, errlen, "headers: not a 'df11 headers' file");
		json_decref(root);
		return -EBADMSG;
	}
	for (size_t i = 0; !rc && i < json_array_size(files); i++)
		rc = file_layout(m, json_array_get(files, i), err, errlen);
	if (!rc && idx) {
		const char *name =
		    json_string_value(json_object_get(idx, DF11_OFF_HK_NAME));
		struct off_vfile *v =
		    name_ok(name, ".json") && strcmp(name, "config.json")
			? add_vf(m, name)
			: NULL;
		size_t n = 0;

		rc = v ? b64(json_object_get(idx, DF11_OFF_HK_DATA), &v->prefix,
			     &n)
		       : -EBADMSG;
		if (rc)
			df11_err_set(err, errlen, "headers: bad index entry");
		else
			v->prefix_len = v->size = n;
	}
	for (size_t i = 0; !rc && i < m->n_tensors; i++) {
		if (m->tensors[i].unit >= 0 && m->tensors[i].vfile < 0) {
			df11_err_set(err, errlen,
				     "tensor '%s' is in no file of the "
				     "headers",
				     m->tensors[i].name);
			rc = -EBADMSG;
		}
	}
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------- config.json */

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n &&
	       (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* end of the JSON value at @i (text already validated by jansson) */
static size_t skip_value(const char *s, size_t i, size_t n)
{
	int depth = 0, str = 0;

	for (; i < n; i++) {
		char c = s[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"' && (str = 0, !depth))
				return i + 1;
		} else if (c == '"') {
			str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth <= 0)
				return depth < 0 ? i : i + 1;
		} else if (!depth && (c == ',' || c == ' ' || c == '\n' ||
				      c == '\t' || c == '\r')) {
			return i;
		}
	}
	return n;
}

/*
 * [*a, *b) of the text to cut: the key, its value and one comma.
 * Return: whether the key was found spelled plainly.
 */
static bool find_cut(const char *s, size_t n, size_t *a, size_t *b)
{
	static const char key[] = "\"dfloat11_config\"";
	size_t i = skip_ws(s, 0, n), prev_end = 0, k0, v1, j;

	if (i >= n || s[i] != '{')
		return false;
	for (i = skip_ws(s, i + 1, n); i < n && s[i] == '"';) {
		k0 = i;
		i = skip_value(s, i, n);
		j = skip_ws(s, i, n);
		if (j >= n || s[j] != ':')
			return false;
		v1 = skip_value(s, skip_ws(s, j + 1, n), n);
		j = skip_ws(s, v1, n);
		if (i - k0 == sizeof(key) - 1 && !memcmp(s + k0, key, i - k0)) {
			if (j < n && s[j] == ',') {
				*a = k0;
				*b = skip_ws(s, j + 1, n);
			} else if (prev_end) {
				*a = prev_end;
				*b = v1;
			} else { /* the only key: "{}", no blank inside */
				*a = skip_ws(s, 0, n) + 1;
				*b = j;
			}
			return true;
		}
		prev_end = v1;
		if (j >= n || s[j] != ',')
			return false;
		i = skip_ws(s, j + 1, n);
	}
	return false;
}

int off_config_strip(const struct df11_off *m, char **out, size_t *len)
{
	const char *s = m->config_txt;
	size_t n = m->config_len, a, b;
	json_t *c;

	if (find_cut(s, n, &a, &b)) {
		*out = malloc(n - (b - a) + 1);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, s, a);
		memcpy(*out + a, s + b, n - b);
		*len = n - (b - a);
		return 0;
	}
	/* an escaped key spelling: dump the object again */
	c = json_deep_copy(m->config);
	if (c)
		json_object_del(c, "dfloat11_config");
	*out = c ? json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(c);
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	(*out)[*len] = '\0';
	return 0;
}
