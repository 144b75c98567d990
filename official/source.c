/* SPDX-License-Identifier: MIT */
/*
 * official/source.c - a virtual file of an official directory as a
 * df11_source (codec/source.h)
 *
 * The prefix is the file's header (or the whole text of config.json and
 * of the index json, which have no chunks). Chunks were planned by
 * official_layout.c and are found by binary search over their offsets:
 *
 *   PIECE  weights [a, a + len / 2) of a unit: df11_unit_fetch() reads
 *          the stream bytes it needs from the unit's files and leaves a
 *          plan, which the caller decodes (every block touched checked)
 *   RAW    bytes of a plain tensor, read as they are
 *   ZERO   bytes no tensor covers (headers mode only)
 *
 * Official files carry no checksums: what the decoder checks (table
 * steps, code lengths, every block ending where the next one starts) is
 * all there is. A flipped sign or mantissa bit cannot be detected.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "official/official_i.h"

struct off_source {
	struct df11_source pub;
	struct df11_off *m;
	const struct off_vfile *v;
};

#define OSRC(s) ((const struct off_source *)(s))

static uint64_t os_size(const struct df11_source *s)
{
	return OSRC(s)->v->size;
}

static uint64_t os_stored(const struct df11_source *s)
{
	return OSRC(s)->v->stored;
}

static const uint8_t *os_prefix(const struct df11_source *s, size_t *len)
{
	*len = OSRC(s)->v->prefix_len;
	return OSRC(s)->v->prefix;
}

static void os_get(const struct df11_source *s, uint64_t id,
		   struct df11_chunk *c)
{
	const struct off_vfile *v = OSRC(s)->v;

	c->id = id;
	if (id >= v->n_chunks) {
		c->off = v->size;
		c->len = 0;
		return;
	}
	c->off = v->chunks[id].off;
	c->len = v->chunks[id].len;
}

static int os_find(const struct df11_source *s, uint64_t off,
		   struct df11_chunk *c)
{
	const struct off_vfile *v = OSRC(s)->v;
	size_t lo = 0, hi = v->n_chunks;

	if (off < v->prefix_len || off >= v->size || !v->n_chunks)
		return -EINVAL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->chunks[mid].off <= off)
			lo = mid;
		else
			hi = mid;
	}
	os_get(s, lo, c);
	return 0;
}

struct off_fetch {
	const struct df11_off *m;
	const struct off_unit *u;
};

/* a unit's streams, each in whichever official file holds it */
static int off_fetch(void *ctx, enum df11_stream which, uint64_t off,
		     uint64_t len, uint8_t *buf)
{
	static const enum off_stream_kind field[3] = {OS_ENC, OS_GAPS, OS_SM};
	const struct off_fetch *f = ctx;
	const struct off_stream *st = &f->u->s[field[which]];
	const struct off_file *file = &f->m->files[st->file];

	if (off > st->len || len > st->len - off)
		return -EBADMSG;
	return file->rd(file->ctx, buf, (size_t)len, st->off + off);
}

/* a corrupt piece: name the unit, its weights and the file offset */
static int piece_err(const struct df11_off *m, const struct off_chunk *c,
		     char *err, size_t errlen)
{
	df11_err_set(err, errlen,
		     "unit '%s' weights [%" PRIu64 ", %" PRIu64
		     ") at offset %" PRIu64 ": corrupt DF11 data",
		     m->units[c->idx].path, c->a, c->a + c->len / 2, c->off);
	return -EBADMSG;
}

static int os_fetch(const struct df11_source *s, uint64_t id,
		    struct df11_scratch *scratch, void *out,
		    struct df11_fetch *f, char *err, size_t errlen)
{
	const struct df11_off *m = OSRC(s)->m;
	const struct off_vfile *v = OSRC(s)->v;
	const struct off_chunk *c;
	int rc = -EINVAL; /* a kind the planner never writes */

	*f = (struct df11_fetch){0};
	if (id >= v->n_chunks)
		return -EINVAL;
	c = &v->chunks[id];
	switch (c->kind) {
	case OC_PIECE: {
		struct off_fetch of = {m, &m->units[c->idx]};
		rc = df11_unit_fetch(of.u->u, off_fetch, &of, c->a,
				     c->a + c->len / 2, scratch, &f->plan);
		f->pending = rc == 0;
		if (rc == -EBADMSG)
			return piece_err(m, c, err, errlen);
		break;
	}
	case OC_RAW:
		rc = m->files[c->idx].rd(m->files[c->idx].ctx, out,
					 (size_t)c->len, c->a);
		break;
	case OC_ZERO:
		memset(out, 0, (size_t)c->len);
		rc = 0;
		break;
	}
	if (rc && rc != -ENOMEM)
		df11_err_set(err, errlen, "'%s' at offset %" PRIu64 ": %s",
			     v->name, c->off,
			     rc == -EBADMSG ? "corrupt data" : "read error");
	return rc;
}

/* official files carry no checksums: the decoder's verdict is all */
static int os_check(const struct df11_source *s, uint64_t id, const void *out,
		    int rc, char *err, size_t errlen)
{
	const struct off_vfile *v = OSRC(s)->v;

	(void)out;
	if (id >= v->n_chunks)
		return -EINVAL;
	if (rc == 0 || rc == -ENOMEM)
		return rc;
	return piece_err(OSRC(s)->m, &v->chunks[id], err, errlen);
}

static void os_free(struct df11_source *s)
{
	df11_off_free(((struct off_source *)s)->m);
	free(s);
}

static const struct df11_source_ops off_ops = DF11_SOURCE_OPS(os);

int df11_off_source(struct df11_off *m, size_t i, struct df11_source **out)
{
	struct off_source *s;

	*out = NULL;
	if (i >= m->n_vf)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pub.ops = &off_ops;
	s->m = m;
	s->v = &m->vf[i];
	atomic_fetch_add(&m->refs, 1);
	*out = &s->pub;
	return 0;
}
