/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_source.c - a native container seen through codec/source.h
 */
#include <errno.h>
#include <stdlib.h>

#include "source.h"

struct ct_source {
	struct df11_source pub;
	struct df11_ct *ct;
	df11_read_fn rd;
	void *ctx;
};

#define CT(s) (((const struct ct_source *)(s))->ct)

static uint64_t cs_size(const struct df11_source *s)
{
	return df11_ct_size(CT(s));
}

static const uint8_t *cs_prefix(const struct df11_source *s, size_t *len)
{
	return df11_ct_header(CT(s), len);
}

static int cs_find(const struct df11_source *s, uint64_t off, uint64_t *id)
{
	return df11_ct_chunk_find(CT(s), off, id);
}

static void cs_range(const struct df11_source *s, uint64_t id, uint64_t *off,
		     uint64_t *len)
{
	size_t seg;
	df11_ct_chunk_range(CT(s), id, off, len, &seg);
}

static int cs_read(const struct df11_source *s, uint64_t id,
		   struct df11_scratch *scratch, void *out, unsigned n_threads,
		   char *err, size_t errlen)
{
	const struct ct_source *c = (const struct ct_source *)s;
	return df11_ct_chunk_read(c->ct, id, c->rd, c->ctx, scratch, out,
				  n_threads, err, errlen);
}

static int cs_check(const struct df11_source *s, uint64_t id, const void *out,
		    char *err, size_t errlen)
{
	return df11_ct_chunk_check(CT(s), id, out, err, errlen);
}

static void cs_free(struct df11_source *s)
{
	struct ct_source *c = (struct ct_source *)s;
	df11_ct_free(c->ct);
	free(c);
}

static const struct df11_source_ops ct_ops = {
    .size = cs_size,
    .prefix = cs_prefix,
    .chunk_find = cs_find,
    .chunk_range = cs_range,
    .chunk_read = cs_read,
    .chunk_check = cs_check,
    .free = cs_free,
};

int df11_ct_source(struct df11_source **out, struct df11_ct *ct,
		   df11_read_fn rd, void *ctx)
{
	struct ct_source *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c) {
		df11_ct_free(ct);
		return -ENOMEM;
	}
	c->pub.ops = &ct_ops;
	c->ct = ct;
	c->rd = rd;
	c->ctx = ctx;
	*out = &c->pub;
	return 0;
}

void df11_source_free(struct df11_source *s)
{
	if (s)
		s->ops->free(s);
}
