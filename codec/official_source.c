/* SPDX-License-Identifier: MIT */
/*
 * codec/official_source.c - a virtual file of an official directory as a
 * df11_source (codec/source.h)
 *
 * The prefix is the file's header (or the whole text of config.json and
 * of the index json, which have no chunks). Chunks were planned by
 * official_layout.c and are found by binary search over their offsets:
 *
 *   PIECE  weights [a, a + len / 2) of a unit: the stream bytes that
 *          df11_unit_need() names are read from the unit's files, and
 *          the scratch's decoder (df11_unit_decode() unless the caller
 *          set another) decodes and checks every block touched
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

#include "official_i.h"

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

static const uint8_t *os_prefix(const struct df11_source *s, size_t *len)
{
	*len = OSRC(s)->v->prefix_len;
	return OSRC(s)->v->prefix;
}

static int os_find(const struct df11_source *s, uint64_t off, uint64_t *id)
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
	*id = lo;
	return 0;
}

static void os_range(const struct df11_source *s, uint64_t id, uint64_t *off,
		     uint64_t *len)
{
	const struct off_vfile *v = OSRC(s)->v;

	if (id >= v->n_chunks) {
		*off = v->size;
		*len = 0;
		return;
	}
	*off = v->chunks[id].off;
	*len = v->chunks[id].len;
}

/* read [off, off + len) of stream @st (whose length bounds it) */
struct off_fetch {
	const struct df11_off *m;
	const struct off_unit *u;
};

/* a unit's streams, each in whichever official file holds it */
static int off_fetch(void *ctx, int which, uint64_t off, uint64_t len,
		     uint8_t *buf)
{
	static const int field[3] = {OS_ENC, OS_GAPS, OS_SM};
	const struct off_fetch *f = ctx;
	const struct off_stream *st = &f->u->s[field[which]];
	const struct off_file *file = &f->m->files[st->file];

	if (off > st->len || len > st->len - off)
		return -EBADMSG;
	return file->rd(file->ctx, buf, (size_t)len, st->off + off);
}

static int read_piece(const struct df11_off *m, const struct off_chunk *c,
		      struct df11_scratch *sc, void *out, unsigned n_threads)
{
	struct off_fetch f = {m, &m->units[c->idx]};
	const char *why;

	return df11_scratch_fetch_decode(sc, f.u->u, off_fetch, &f, c->a,
					 c->a + c->len / 2, out, n_threads,
					 &why);
}

static int os_read(const struct df11_source *s, uint64_t id,
		   struct df11_scratch *scratch, void *out, unsigned n_threads,
		   char *err, size_t errlen)
{
	const struct df11_off *m = OSRC(s)->m;
	const struct off_vfile *v = OSRC(s)->v;
	const struct off_chunk *c;
	int rc;

	if (id >= v->n_chunks)
		return -EINVAL;
	c = &v->chunks[id];
	switch (c->kind) {
	case OC_PIECE:
		rc = read_piece(m, c, scratch, out, n_threads);
		break;
	case OC_RAW:
		rc = m->files[c->idx].rd(m->files[c->idx].ctx, out,
					 (size_t)c->len, c->a);
		break;
	default:
		memset(out, 0, (size_t)c->len);
		rc = 0;
		break;
	}
	if (rc == -EINPROGRESS)
		return rc; /* deferred by the scratch's decoder */
	if (rc == -EBADMSG && c->kind == OC_PIECE)
		off_err(err, errlen,
			"unit '%s' weights [%" PRIu64 ", %" PRIu64
			") at offset %" PRIu64 ": corrupt DF11 data",
			m->units[c->idx].path, c->a, c->a + c->len / 2, c->off);
	else if (rc && rc != -ENOMEM)
		off_err(err, errlen, "'%s' at offset %" PRIu64 ": %s", v->name,
			c->off, rc == -EBADMSG ? "corrupt data" : "read error");
	return rc;
}

/* official files carry no checksums: the decoder's checks are all */
static int os_check(const struct df11_source *s, uint64_t id, const void *out,
		    char *err, size_t errlen)
{
	(void)out;
	(void)err;
	(void)errlen;
	return id < OSRC(s)->v->n_chunks ? 0 : -EINVAL;
}

static void os_free(struct df11_source *s)
{
	df11_off_free(((struct off_source *)s)->m);
	free(s);
}

static const struct df11_source_ops off_ops = {
    .size = os_size,
    .prefix = os_prefix,
    .chunk_find = os_find,
    .chunk_range = os_range,
    .chunk_read = os_read,
    .chunk_check = os_check,
    .free = os_free,
};

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
