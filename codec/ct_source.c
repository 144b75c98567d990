/* SPDX-License-Identifier: MIT */
/*
 * codec/ct_source.c - a native container seen through codec/source.h, and
 * the one CPU read path of every source
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

#define CS(s) ((const struct ct_source *)(s))

static uint64_t cs_size(const struct df11_source *s)
{
	return df11_ct_size(CS(s)->ct);
}

static uint64_t cs_stored(const struct df11_source *s)
{
	return df11_ct_stored(CS(s)->ct);
}

static const uint8_t *cs_prefix(const struct df11_source *s, size_t *len)
{
	return df11_ct_header(CS(s)->ct, len);
}

static void cs_get(const struct df11_source *s, uint64_t id,
		   struct df11_chunk *c)
{
	c->id = id;
	df11_ct_chunk_range(CS(s)->ct, id, &c->off, &c->len, NULL);
}

static int cs_find(const struct df11_source *s, uint64_t off,
		   struct df11_chunk *c)
{
	uint64_t id;
	int rc = df11_ct_chunk_find(CS(s)->ct, off, &id);

	if (!rc)
		cs_get(s, id, c);
	return rc;
}

static int cs_fetch(const struct df11_source *s, uint64_t id,
		    struct df11_scratch *scratch, void *out,
		    struct df11_fetch *f, char *err, size_t errlen)
{
	return df11_ct_chunk_fetch(CS(s)->ct, id, CS(s)->rd, CS(s)->ctx,
				   scratch, out, f, err, errlen);
}

static int cs_check(const struct df11_source *s, uint64_t id, const void *out,
		    int rc, char *err, size_t errlen)
{
	return df11_ct_chunk_check(CS(s)->ct, id, CS(s)->rd, CS(s)->ctx, out,
				   rc, err, errlen);
}

static void cs_free(struct df11_source *s)
{
	struct ct_source *c = (struct ct_source *)s;
	df11_ct_free(c->ct);
	free(c);
}

static const struct df11_source_ops ct_ops = DF11_SOURCE_OPS(cs);

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

int df11_ct_chunk_read(const struct df11_ct *ct, uint64_t id, df11_read_fn rd,
		       void *ctx, struct df11_scratch *scratch, void *out,
		       char *err, size_t errlen)
{
	/* a source on the stack that borrows @ct: never freed */
	struct ct_source c = {{&ct_ops}, (struct df11_ct *)ct, rd, ctx};

	return df11_source_read(&c.pub, id, scratch, out, err, errlen);
}

void df11_source_decode(struct df11_fetch *f, struct df11_scratch *scratch,
			void *out)
{
	if (f->pending) {
		const struct df11_plan *p = &f->plan;
		f->rc = df11_unit_decode(p->u, &p->enc, &p->gaps, &p->sm, p->a,
					 p->b, out, scratch);
		f->pending = false;
	}
}

int df11_source_complete(const struct df11_source *s, uint64_t id,
			 struct df11_fetch *f, struct df11_scratch *scratch,
			 void *out, char *err, size_t errlen)
{
	df11_source_decode(f, scratch, out);
	return s->ops->chunk_check(s, id, out, f->rc, err, errlen);
}

int df11_source_read(const struct df11_source *s, uint64_t id,
		     struct df11_scratch *scratch, void *out, char *err,
		     size_t errlen)
{
	struct df11_fetch f;
	int rc = s->ops->chunk_fetch(s, id, scratch, out, &f, err, errlen);

	return rc ? rc
		  : df11_source_complete(s, id, &f, scratch, out, err, errlen);
}

void df11_source_free(struct df11_source *s)
{
	if (s)
		s->ops->free(s);
}
