/* SPDX-License-Identifier: MIT */
/*
 * official/reader.c - open an official DFloat11 directory: config.json,
 * pattern_dict, file headers, units and their pieces
 *
 * Units are found by name alone, as the official loader does: a tensor
 * named P.luts, P.encoded_exponent, P.sign_mantissa, P.output_positions,
 * P.gaps or P.split_positions is a stream of unit P, whatever file holds
 * it; every other tensor is plain and passes through. P must fully match
 * a pattern_dict key (Python re.fullmatch), translated here to an anchored
 * POSIX extended regex; the key's attribute list names the pieces
 * (P.attr.weight, in order) or, when empty, the unit is P.weight itself.
 * Every unit goes through df11_unit_new(), which checks luts and
 * output_positions (short form included) against the stream lengths.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "official/official_i.h"

static const char *const stream_sfx[OS_COUNT] = {
    ".luts", ".encoded_exponent", ".sign_mantissa", ".output_positions",
    ".gaps", ".split_positions",
};

static int ends_with(const char *s, const char *sfx)
{
	size_t a = strlen(s), b = strlen(sfx);

	return a > b && !strcmp(s + a - b, sfx);
}

/* Read and parse the header of file @f. */
static int read_file_header(struct off_file *f, char *err, size_t errlen)
{
	char why[256] = "";
	uint8_t *hdr;
	size_t len;
	int rc;

	rc = df11_st_read_header(f->rd, f->ctx, f->size, &hdr, &len, why,
				 sizeof(why));
	if (!rc) {
		rc = df11_st_parse(&f->st, hdr + 8, len - 8, f->size - len, why,
				   sizeof(why));
		free(hdr);
		f->data0 = len;
	}
	if (rc && rc != -ENOMEM)
		df11_err_set(err, errlen, "'%s': %s", f->name, why);
	return rc;
}

static int unit_cmp(const void *a, const void *b)
{
	return strcmp(((const struct off_unit *)a)->path,
		      ((const struct off_unit *)b)->path);
}

/* The unit named @path (added when @add), NULL when absent or no memory */
static struct off_unit *unit_get(struct df11_off *m, const char *path,
				 size_t len, size_t *cap)
{
	struct off_unit *u;

	for (size_t i = m->n_units; i-- > 0;)
		if (!strncmp(m->units[i].path, path, len) &&
		    !m->units[i].path[len])
			return &m->units[i];
	if (m->n_units == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;

		u = realloc(m->units, nc * sizeof(*u));
		if (!u)
			return NULL;
		m->units = u;
		*cap = nc;
	}
	u = &m->units[m->n_units];
	memset(u, 0, sizeof(*u));
	u->path = strndup(path, len);
	if (!u->path)
		return NULL;
	m->n_units++;
	return u;
}

/* Add tensor @t of file @fi as a unit stream (*@is true) or not. */
static int classify(struct df11_off *m, uint32_t fi,
		    const struct df11_st_tensor *t, size_t *cap, bool *is,
		    char *err, size_t errlen)
{
	size_t len = strlen(t->name);
	struct off_unit *u;

	*is = false;
	for (int k = 0; k < OS_COUNT; k++) {
		size_t l = strlen(stream_sfx[k]);

		if (len <= l || strcmp(t->name + len - l, stream_sfx[k]))
			continue;
		u = unit_get(m, t->name, len - l, cap);
		if (!u)
			return -ENOMEM;
		if (u->s[k].present) {
			df11_err_set(err, errlen, "tensor '%s' appears twice",
				     t->name);
			return -EBADMSG;
		}
		u->s[k] = (struct off_stream){fi, m->files[fi].data0 + t->begin,
					      t->end - t->begin, t, true};
		*is = true;
		return 0;
	}
	return 0;
}

/* Collect units; count plain tensors into *@n_plain. */
static int find_units(struct df11_off *m, size_t *n_plain, char *err,
		      size_t errlen)
{
	size_t cap = 0;
	bool is;
	int rc;

	*n_plain = 0;
	for (size_t f = 0; f < m->n_files; f++) {
		const struct df11_st *st = m->files[f].st;

		for (size_t i = 0; i < df11_st_n_tensors(st); i++) {
			rc = classify(m, (uint32_t)f, df11_st_tensor(st, i),
				      &cap, &is, err, errlen);
			if (rc)
				return rc;
			*n_plain += !is;
		}
	}
	if (m->n_units)
		qsort(m->units, m->n_units, sizeof(*m->units), unit_cmp);
	return 0;
}

/* Check unit @u's stream types and build its decoder. */
static int unit_check(struct df11_off *m, struct off_unit *u, char *err,
		      size_t errlen)
{
	const struct off_stream *s = u->s;
	uint8_t *luts = NULL, *op = NULL;
	char why[200] = "";
	int rc = -EBADMSG;

	for (int k = 0; k < OS_COUNT; k++) {
		enum df11_dtype want = k == OS_SPLIT ? DF11_DT_I64 : DF11_DT_U8;

		if (!s[k].present) {
			df11_err_set(err, errlen, "unit '%s': no '%s%s' tensor",
				     u->path, u->path, stream_sfx[k]);
			return -EBADMSG;
		}
		if (s[k].t->dtype != want ||
		    s[k].t->n_dims != (k == OS_LUTS ? 2u : 1u)) {
			df11_err_set(err, errlen,
				     "tensor '%s': unexpected dtype "
				     "or rank",
				     s[k].t->name);
			return -EBADMSG;
		}
	}
	if (s[OS_LUTS].len > DF11_MAX_LUTS * 256 ||
	    s[OS_OP].len > (s[OS_GAPS].len / DF11_GAPS_PER_BLOCK + 1) * 4 + 4)
		goto bad;
	luts = malloc(s[OS_LUTS].len + 1);
	op = malloc(s[OS_OP].len + 1);
	if (!luts || !op) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = m->files[s[OS_LUTS].file].rd(m->files[s[OS_LUTS].file].ctx,
					       luts, s[OS_LUTS].len,
					       s[OS_LUTS].off)) ||
	    (rc = m->files[s[OS_OP].file].rd(m->files[s[OS_OP].file].ctx, op,
					     s[OS_OP].len, s[OS_OP].off)))
		goto out;
	rc = df11_unit_new(&u->u, luts, s[OS_LUTS].len, op, s[OS_OP].len,
			   s[OS_ENC].len, s[OS_GAPS].len, s[OS_SM].len, why,
			   sizeof(why));
	if (rc == -EBADMSG)
		df11_err_set(err, errlen, "unit '%s': %s", u->path, why);
	goto out;
bad:
	df11_err_set(err, errlen,
		     "unit '%s': luts or output_positions too large", u->path);
out:
	free(luts);
	free(op);
	return rc;
}

/* The pattern_dict attribute list that unit path @p fully matches. */
static json_t *unit_attrs(const struct df11_off *m, const char *p)
{
	json_t *pd = json_object_get(
	    json_object_get(m->config, "dfloat11_config"), "pattern_dict");
	size_t i = 0;
	const char *key;
	json_t *v;

	json_object_foreach(pd, key, v)
	{
		if (i < m->n_pat && regexec(&m->re[i], p, 0, NULL, 0) == 0)
			return v;
		i++;
	}
	return NULL;
}

/* Read unit @u's split_positions into the piece boundaries @cut (k + 1). */
static int read_splits(struct df11_off *m, const struct off_unit *u, size_t k,
		       uint64_t *cut, char *err, size_t errlen)
{
	const struct off_stream *s = &u->s[OS_SPLIT];
	uint64_t n = df11_unit_n_elems(u->u);
	uint8_t b[8];
	int rc;

	if (s->t->n_elems != k - 1) {
		df11_err_set(err, errlen,
			     "unit '%s': %llu split positions for %zu "
			     "pattern_dict attributes",
			     u->path, (unsigned long long)s->t->n_elems, k);
		return -EBADMSG;
	}
	cut[0] = 0;
	cut[k] = n;
	for (size_t i = 1; i < k; i++) {
		rc = m->files[s->file].rd(m->files[s->file].ctx, b, 8,
					  s->off + 8 * (i - 1));
		if (rc)
			return rc;
		cut[i] = df11_le_get64(b);
	}
	for (size_t i = 0; i < k; i++) {
		if (cut[i] >= cut[i + 1]) {
			df11_err_set(err, errlen,
				     "unit '%s': split_positions not "
				     "strictly increasing inside "
				     "[1, %llu)",
				     u->path, (unsigned long long)n);
			return -EBADMSG;
		}
	}
	return 0;
}

/* "P.attr.weight" or "P.weight" */
static char *piece_name(const char *p, const char *attr)
{
	size_t a = strlen(p), b = attr ? strlen(attr) + 1 : 0;
	char *s = malloc(a + b + sizeof(".weight"));

	if (!s)
		return NULL;
	memcpy(s, p, a);
	if (attr) {
		s[a] = '.';
		memcpy(s + a + 1, attr, b - 1);
	}
	memcpy(s + a + b, ".weight", sizeof(".weight"));
	return s;
}

/* Append unit @ui's pieces to m->tensors. */
static int add_pieces(struct df11_off *m, size_t ui, char *err, size_t errlen)
{
	struct off_unit *u = &m->units[ui];
	json_t *attrs = unit_attrs(m, u->path);
	size_t k = json_array_size(attrs) ? json_array_size(attrs) : 1;
	uint64_t cut[257];
	int rc;

	if (!attrs) {
		df11_err_set(err, errlen,
			     "unit '%s' matches no pattern_dict key", u->path);
		return -EBADMSG;
	}
	if (k > 256) {
		df11_err_set(err, errlen, "unit '%s': too many attributes",
			     u->path);
		return -ENOTSUP;
	}
	if ((rc = read_splits(m, u, k, cut, err, errlen)))
		return rc;
	u->piece0 = m->n_tensors;
	u->n_pieces = k;
	for (size_t i = 0; i < k; i++) {
		struct off_tensor *t = &m->tensors[m->n_tensors];

		memset(t, 0, sizeof(*t));
		t->name = piece_name(
		    u->path, json_string_value(json_array_get(attrs, i)));
		if (!t->name)
			return -ENOMEM;
		t->dtype = DF11_DT_BF16;
		t->n_elems = cut[i + 1] - cut[i];
		t->nbytes = 2 * t->n_elems;
		t->unit = (long)ui;
		t->a = cut[i];
		t->vfile = -1;
		m->n_tensors++;
	}
	return 0;
}

/* Append every plain tensor of every file to m->tensors. */
static int add_plain(struct df11_off *m)
{
	for (size_t f = 0; f < m->n_files; f++) {
		const struct df11_st *st = m->files[f].st;

		for (size_t i = 0; i < df11_st_n_tensors(st); i++) {
			const struct df11_st_tensor *s = df11_st_tensor(st, i);
			struct off_tensor *t = &m->tensors[m->n_tensors];
			int stream = 0;

			for (int k = 0; k < OS_COUNT; k++)
				stream |= ends_with(s->name, stream_sfx[k]);
			if (stream)
				continue;
			memset(t, 0, sizeof(*t));
			t->name = strdup(s->name);
			if (!t->name)
				return -ENOMEM;
			t->dtype = s->dtype;
			t->n_dims = s->n_dims;
			memcpy(t->shape, s->shape, sizeof(t->shape));
			t->n_elems = s->n_elems;
			t->nbytes = s->end - s->begin;
			t->unit = -1;
			t->a = m->files[f].data0 + s->begin;
			t->file = (uint32_t)f;
			t->vfile = -1;
			t->shape_set = true;
			m->n_tensors++;
		}
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct off_tensor *const *)a)->name,
		      (*(const struct off_tensor *const *)b)->name);
}

/* m->by_name: tensor indices in name order (qsort has no context) */
static int sort_names(struct df11_off *m)
{
	const struct off_tensor **v = malloc((m->n_tensors + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_tensors; i++)
		v[i] = &m->tensors[i];
	if (m->n_tensors > 1)
		qsort(v, m->n_tensors, sizeof(*v), name_cmp);
	for (size_t i = 0; i < m->n_tensors; i++)
		m->by_name[i] = (size_t)(v[i] - m->tensors);
	free(v);
	return 0;
}

long off_find(const struct df11_off *m, const char *name)
{
	size_t lo = 0, hi = m->n_tensors;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->tensors[m->by_name[mid]].name, name);

		if (!c)
			return (long)m->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Build m->tensors (pieces, then plain tensors) and the name index. */
int off_build_tensors(struct df11_off *m, char *err, size_t errlen)
{
	size_t n_plain, total = 0;
	int rc;

	if ((rc = find_units(m, &n_plain, err, errlen)))
		return rc;
	for (size_t i = 0; i < m->n_units; i++) {
		if ((rc = unit_check(m, &m->units[i], err, errlen)))
			return rc;
		total += m->units[i].s[OS_SPLIT].t->n_elems + 1;
	}
	m->tensors = calloc(total + n_plain + 1, sizeof(*m->tensors));
	m->by_name = calloc(total + n_plain + 1, sizeof(*m->by_name));
	if (!m->tensors || !m->by_name)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_units; i++)
		if ((rc = add_pieces(m, i, err, errlen)))
			return rc;
	if ((rc = add_plain(m)))
		return rc;
	if ((rc = sort_names(m)))
		return rc;
	for (size_t i = 1; i < m->n_tensors; i++) {
		if (!strcmp(m->tensors[m->by_name[i]].name,
			    m->tensors[m->by_name[i - 1]].name)) {
			df11_err_set(err, errlen, "tensor '%s' appears twice",
				     m->tensors[m->by_name[i]].name);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Read every file's header. */
int off_read_files(struct df11_off *m, const struct df11_off_file *files,
		   char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < m->n_files; i++) {
		struct off_file *f = &m->files[i];

		f->name = strdup(files[i].name);
		if (!f->name)
			return -ENOMEM;
		if ((rc = read_file_header(f, err, errlen)))
			return rc;
	}
	return 0;
}
