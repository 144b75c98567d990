/* SPDX-License-Identifier: MIT */
/*
 * official/model.c - the official-directory model: open, free,
 * reference counting and the read-only accessors
 *
 * df11_off_open() runs the steps of reader.c (config, headers, units,
 * pieces), shapes.c (shapes) and layout.c (virtual
 * files) in that order; any failure frees everything, including the
 * caller's read contexts (opts->ctx_free), so that the caller never has
 * to tell which of them the model took.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "official/official_i.h"

static void model_free(struct df11_off *m)
{
	for (size_t i = 0; i < m->n_vf; i++)
		off_vfile_free(&m->vf[i]);
	free(m->vf);
	for (size_t i = 0; i < m->n_tensors; i++)
		free(m->tensors[i].name);
	free(m->tensors);
	free(m->by_name);
	for (size_t i = 0; i < m->n_units; i++) {
		free(m->units[i].path);
		df11_unit_free(m->units[i].u);
	}
	free(m->units);
	for (size_t i = 0; i < m->n_pat; i++)
		regfree(&m->re[i]);
	free(m->re);
	free(m->version);
	free(m->unresolved);
	if (m->arch != m->config)
		json_decref(m->arch);
	json_decref(m->config);
	for (size_t i = 0; i < m->n_files; i++) {
		df11_st_free(m->files[i].st);
		free(m->files[i].name);
		if (m->ctx_free)
			m->ctx_free(m->files[i].ctx);
	}
	free(m->files);
	free(m);
}

void df11_off_free(struct df11_off *m)
{
	if (m && atomic_fetch_sub(&m->refs, 1) == 1)
		model_free(m);
}

/* the model without its steps: files and read contexts taken over */
static struct df11_off *model_new(const struct df11_off_file *files,
				  size_t n_files, const struct df11_off_opts *o)
{
	struct df11_off *m = calloc(1, sizeof(*m));

	if (m)
		m->files = calloc(n_files + 1, sizeof(*m->files));
	if (!m || !m->files) {
		free(m);
		for (size_t i = 0; o && o->ctx_free && i < n_files; i++)
			o->ctx_free(files[i].ctx);
		return NULL;
	}
	atomic_init(&m->refs, 1);
	m->ctx_free = o ? o->ctx_free : NULL;
	m->n_files = n_files;
	for (size_t i = 0; i < n_files; i++) {
		m->files[i].size = files[i].size;
		m->files[i].rd = files[i].rd;
		m->files[i].ctx = files[i].ctx;
	}
	return m;
}

int df11_off_open(struct df11_off **out, const char *config, size_t config_len,
		  const struct df11_off_file *files, size_t n_files,
		  const struct df11_off_opts *o, char *err, size_t errlen)
{
	struct df11_off *m;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (o && o->need)
		*o->need = DF11_OFF_NEED_NONE;
	if (n_files > DF11_OFF_MAX_FILES) {
		df11_err_set(err, errlen, "too many safetensors files");
		for (size_t i = 0; o && o->ctx_free && i < n_files; i++)
			o->ctx_free(files[i].ctx);
		return -ENOTSUP;
	}
	m = model_new(files, n_files, o);
	if (!m)
		return -ENOMEM;
	m->partial = o && o->partial;
	rc = off_parse_config(m, config, config_len, err, errlen);
	if (!rc && o && o->orig_config)
		rc = off_parse_orig(m, o->orig_config, o->orig_config_len, err,
				    errlen);
	if (!rc && !(rc = off_read_files(m, files, err, errlen)) &&
	    !(rc = off_build_tensors(m, err, errlen))) {
		off_detect_layout(m);
		rc =
		    off_layout(m, o ? o->headers : NULL, o ? o->headers_len : 0,
			       o ? o->shard_size : 0, err, errlen);
	}
	m->config_txt = NULL; /* borrowed for the call only */
	m->orig_txt = NULL;
	if (rc) {
		if (rc == -ENOMEM)
			df11_err_set(err, errlen, "out of memory");
		if (o && o->need)
			*o->need = m->need;
		model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

size_t df11_off_n_vfiles(const struct df11_off *m)
{
	return m->n_vf;
}

const char *df11_off_vfile_name(const struct df11_off *m, size_t i)
{
	return i < m->n_vf ? m->vf[i].name : NULL;
}

uint64_t df11_off_vfile_size(const struct df11_off *m, size_t i)
{
	return i < m->n_vf ? m->vf[i].size : 0;
}

uint64_t df11_off_vfile_stored(const struct df11_off *m, size_t i)
{
	return i < m->n_vf ? m->vf[i].stored : 0;
}

size_t df11_off_n_units(const struct df11_off *m)
{
	return m->n_units;
}

void df11_off_unit(const struct df11_off *m, size_t i,
		   struct df11_off_unit_info *u)
{
	const struct off_unit *x = &m->units[i];

	memset(u, 0, sizeof(*u));
	u->path = x->path;
	u->file = m->files[x->s[OS_ENC].file].name;
	u->n_elems = df11_unit_n_elems(x->u);
	for (int k = 0; k < OS_COUNT; k++)
		u->stored += x->s[k].len;
	df11_unit_luts(x->u, &u->n_luts);
	u->n_blocks = df11_unit_n_blocks(x->u);
	u->piece0 = x->piece0;
	u->n_pieces = x->n_pieces;
}

size_t df11_off_n_tensors(const struct df11_off *m)
{
	return m->n_tensors;
}

void df11_off_tensor(const struct df11_off *m, size_t i,
		     struct df11_off_tensor_info *t)
{
	const struct off_tensor *x = &m->tensors[i];

	t->name = x->name;
	t->dtype = x->dtype;
	t->n_dims = x->n_dims;
	t->shape = x->shape;
	t->unit = x->unit;
	t->file = x->unit < 0 ? m->files[x->file].name : NULL;
	t->vfile = x->vfile;
}

const char *df11_off_unresolved(const struct df11_off *m, int *rc)
{
	if (rc)
		*rc = m->unresolved_rc;
	return m->unresolved;
}

bool df11_off_diffusers(const struct df11_off *m)
{
	return m->diffusers;
}

const char *df11_off_note(const struct df11_off *m)
{
	return m->note;
}

const char *df11_off_version(const struct df11_off *m)
{
	return m->version;
}
