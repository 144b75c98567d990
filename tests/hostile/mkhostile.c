/* SPDX-License-Identifier: MIT */
/*
 * tests/hostile/mkhostile.c - write hostile and extreme df11 containers
 *
 * usage: mkhostile [-f] MODE OUT ARGS...
 *
 *   raw-sparse OUT LEN CHUNK   one raw segment of LEN bytes in CHUNK-byte
 *                              chunks; every stream a hole (a few KiB on
 *                              disk whatever LEN)
 *   lz4-sparse OUT N           one lz4 segment of N 4096-byte chunks: its
 *                              .lz4, .lz4_index and .xxh3 holes but for
 *                              the index's last entry (valid at open)
 *   lz4 OUT ORIG N CHUNK       a valid lz4 container of N chunks of CHUNK
 *                              bytes (compressible); ORIG gets the
 *                              original file, to compare with ("-": none)
 *   tensors OUT N              a valid raw container of N one-byte tensors
 *   version OUT VERSION        a valid raw container of two tensors whose
 *                              index says VERSION (e.g. "2.0")
 *   meta OUT ORIG HLEN         a valid raw container of two tensors whose
 *                              outer header is about HLEN bytes (at most
 *                              the 32 MiB limit): the original header's
 *                              __metadata__ holds as many tiny entries
 *                              as fit, the costliest JSON to parse; ORIG
 *                              gets the original file ("-": none)
 *
 * With -f, OUT is a seed for tests/fuzz/fuzz_container.c instead: the
 * magic "HOLE", the file's size and T (uint64 LE), the file's header,
 * then its last T bytes (the last stream's written tail, if any): the
 * target reads zeros between, as from a sparse file.
 *
 * Containers are written by hand, not by codec/ct_write.c, so that they
 * can pass the limits a writer keeps (docs/FORMAT.md §6) or break them.
 * Exit status: 0, 1 on I/O or memory errors, 2 on bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <lz4.h>
#include <xxhash.h>

#include "codec/base64.h"

#define MAX_STREAMS 4

/* one stream: @len bytes, of which @head (at 0) and @tail (at the end)
 * are written and the rest is a hole */
struct stream {
	char name[64];
	uint64_t len;
	const uint8_t *head, *tail;
	size_t head_len, tail_len;
};

struct ct {
	json_t *orig;	  /* the original header's tensors */
	json_t *segs;	  /* the index's segments */
	json_t *outer;	  /* the outer header */
	uint8_t *ohdr;	  /* the original header bytes */
	size_t ohdr_len;  /* 8 + N */
	uint64_t data;	  /* bytes of the original data region */
	uint64_t stored;  /* bytes of the container's data region */
	struct stream *s; /* every stream, in data order */
	size_t n, cap;
};

static void die(const char *what)
{
	fprintf(stderr, "mkhostile: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* the safetensors bytes of header @j: 8-byte length, JSON, spaces */
static uint8_t *frame(json_t *j, size_t *len)
{
	char *t = json_dumps(j, JSON_COMPACT);
	size_t tl, n;
	uint8_t *p;

	if (!t)
		die("json");
	tl = strlen(t);
	n = (tl + 7) & ~(size_t)7;
	if (!(p = malloc(8 + n)))
		die("malloc");
	put64(p, n);
	memcpy(p + 8, t, tl);
	memset(p + 8 + tl, ' ', n - tl);
	free(t);
	*len = 8 + n;
	return p;
}

static json_t *u8(uint64_t a, uint64_t b)
{
	return json_pack("{s:s,s:[I],s:[I,I]}", "dtype", "U8", "shape",
			 (json_int_t)(b - a), "data_offsets", (json_int_t)a,
			 (json_int_t)b);
}

/* a tensor of the original file: @len bytes at the end of its data */
static void tensor(struct ct *c, const char *name, uint64_t len)
{
	json_object_set_new(c->orig, name, u8(c->data, c->data + len));
	c->data += len;
}

/* a stream of the container, appended to its data region */
static struct stream *stream(struct ct *c, const char *prefix,
			     const char *field, uint64_t len)
{
	struct stream *s;

	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		if (!(c->s = realloc(c->s, c->cap * sizeof(*c->s))))
			die("realloc");
	}
	s = &c->s[c->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s.%s", prefix, field);
	s->len = len;
	json_object_set_new(c->outer, s->name, u8(c->stored, c->stored + len));
	c->stored += len;
	return s;
}

/* the original header, once every tensor is in: frames it */
static void orig_done(struct ct *c)
{
	c->ohdr = frame(c->orig, &c->ohdr_len);
}

static void segment(struct ct *c, uint64_t off, uint64_t len, const char *codec,
		    const char *name, uint64_t chunk)
{
	json_array_append_new(
	    c->segs, json_pack("{s:I,s:I,s:s,s:s,s:I}", "off", (json_int_t)off,
			       "len", (json_int_t)len, "codec", codec, "stream",
			       name, "chunk", (json_int_t)chunk));
}

/* the outer header with the index, then every stream's written bytes */
static void write_ct(struct ct *c, const char *version, const char *path,
		     int seed)
{
	size_t b64len = df11_b64_encoded_len(c->ohdr_len), hlen;
	char *b64 = malloc(b64len + 1), hex[17], *idx;
	uint8_t *hdr;
	uint64_t at;
	json_t *index;
	int fd;

	if (!b64)
		die("malloc");
	df11_b64_encode(c->ohdr, c->ohdr_len, b64);
	snprintf(hex, sizeof(hex), "%016" PRIx64,
		 (uint64_t)XXH3_64bits(c->ohdr, c->ohdr_len));
	index = json_pack("{s:s,s:I,s:s,s:s,s:O}", "version", version, "size",
			  (json_int_t)(c->ohdr_len + c->data), "header", b64,
			  "header_xxh3", hex, "segments", c->segs);
	idx = json_dumps(index, JSON_COMPACT);
	json_object_set_new(c->outer, "__metadata__",
			    json_pack("{s:s}", "df11", idx));
	hdr = frame(c->outer, &hlen);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die(path);
	if (seed) { /* "HOLE", size, tail length, header, tail */
		uint8_t m[20] = {'H', 'O', 'L', 'E'};
		const struct stream *t = c->n ? &c->s[c->n - 1] : NULL;
		size_t tl = t && !t->head_len ? t->tail_len : 0;

		put64(m + 4, hlen + c->stored);
		put64(m + 12, tl);
		if (write(fd, m, sizeof(m)) != sizeof(m) ||
		    write(fd, hdr, hlen) != (ssize_t)hlen ||
		    (tl && write(fd, t->tail, tl) != (ssize_t)tl) || close(fd))
			die(path);
		goto out;
	}
	if (pwrite(fd, hdr, hlen, 0) != (ssize_t)hlen)
		die(path);
	at = hlen;
	for (size_t i = 0; i < c->n; i++) {
		const struct stream *s = &c->s[i];

		if (s->head_len && pwrite(fd, s->head, s->head_len,
					  (off_t)at) != (ssize_t)s->head_len)
			die(path);
		if (s->tail_len && pwrite(fd, s->tail, s->tail_len,
					  (off_t)(at + s->len - s->tail_len)) !=
				       (ssize_t)s->tail_len)
			die(path);
		at += s->len;
	}
	if (ftruncate(fd, (off_t)at) || close(fd))
		die(path);
out:
	free(hdr);
	free(idx);
	json_decref(index);
	free(b64);
	json_decref(c->orig);
	json_decref(c->segs);
	json_decref(c->outer);
	free(c->ohdr);
	free(c->s);
}

static void ct_init(struct ct *c)
{
	memset(c, 0, sizeof(*c));
	c->orig = json_object();
	c->segs = json_array();
	c->outer = json_object();
}

/* one raw segment of @len bytes, all holes (checksums too) */
static void raw_sparse(const char *out, uint64_t len, uint64_t chunk, int seed)
{
	struct ct c;

	ct_init(&c);
	tensor(&c, "w", len);
	orig_done(&c);
	segment(&c, c.ohdr_len, len, "raw", "w", chunk);
	stream(&c, "w", "raw", len);
	stream(&c, "w", "xxh3", 8 * ((len + chunk - 1) / chunk));
	write_ct(&c, "1.0", out, seed);
}

/* one lz4 segment of @n 4096-byte chunks; only the index's ends are set */
static void lz4_sparse(const char *out, uint64_t n, int seed)
{
	static uint8_t last[8];
	struct ct c;
	struct stream *s;

	ct_init(&c);
	tensor(&c, "w", 4096 * n);
	orig_done(&c);
	segment(&c, c.ohdr_len, 4096 * n, "lz4", "w", 4096);
	stream(&c, "w", "lz4", n); /* one byte a block: the least */
	stream(&c, "w", "xxh3", 8 * n);
	s = stream(&c, "w", "lz4_index", 8 * (n + 1)); /* last: its tail */
	put64(last, n);
	s->tail = last;
	s->tail_len = 8;
	write_ct(&c, "1.0", out, seed);
}

/* byte @k of the lz4 container's original data: compressible */
static uint8_t pattern(uint64_t k)
{
	return (uint8_t)((k >> 6) * 31 + (k >> 17) + (k % 7 == 0));
}

static void lz4_valid(const char *out, const char *orig, uint64_t n,
		      uint64_t chunk)
{
	uint8_t *raw = malloc(chunk), *idx = malloc(8 * (n + 1)),
		*sums = malloc(8 * n), *z = NULL;
	size_t zlen = 0, bound = (size_t)LZ4_compressBound((int)chunk);
	struct stream *s;
	struct ct c;
	int fd;

	if (!raw || !idx || !sums)
		die("malloc");
	ct_init(&c);
	tensor(&c, "w", chunk * n);
	orig_done(&c);
	fd = strcmp(orig, "-") ? open(orig, O_WRONLY | O_CREAT | O_TRUNC, 0644)
			       : open("/dev/null", O_WRONLY);
	if (fd < 0 || write(fd, c.ohdr, c.ohdr_len) != (ssize_t)c.ohdr_len)
		die(orig);
	put64(idx, 0);
	for (uint64_t k = 0; k < n; k++) {
		for (uint64_t i = 0; i < chunk; i++)
			raw[i] = pattern(k * chunk + i);
		if (write(fd, raw, chunk) != (ssize_t)chunk)
			die(orig);
		put64(sums + 8 * k, XXH3_64bits(raw, chunk));
		if (!(z = realloc(z, zlen + bound)))
			die("realloc");
		int zl =
		    LZ4_compress_default((const char *)raw, (char *)z + zlen,
					 (int)chunk, (int)bound);
		if (zl <= 0 || (uint64_t)zl >= chunk)
			die("lz4");
		zlen += (size_t)zl;
		put64(idx + 8 * (k + 1), zlen);
	}
	if (close(fd))
		die(orig);
	segment(&c, c.ohdr_len, chunk * n, "lz4", "w", chunk);
	s = stream(&c, "w", "lz4", zlen);
	s->head = z;
	s->head_len = zlen;
	s = stream(&c, "w", "lz4_index", 8 * (n + 1));
	s->head = idx;
	s->head_len = 8 * (n + 1);
	s = stream(&c, "w", "xxh3", 8 * n);
	s->head = sums;
	s->head_len = 8 * n;
	write_ct(&c, "1.0", out, 0);
	free(z);
	free(sums);
	free(idx);
	free(raw);
}

/* @n one-byte raw tensors (chunk 4096): a valid container of @version */
static void raw_tensors(const char *out, uint64_t n, const char *version)
{
	struct ct c;
	char name[32];
	uint8_t *sums = malloc(8 * n);
	static const uint8_t byte = 0x5a;

	if (!sums)
		die("malloc");
	ct_init(&c);
	for (uint64_t k = 0; k < n; k++) {
		snprintf(name, sizeof(name), "t%" PRIu64, k);
		tensor(&c, name, 1);
	}
	orig_done(&c);
	put64(sums, XXH3_64bits(&byte, 1));
	for (uint64_t k = 0; k < n; k++) {
		struct stream *s;

		snprintf(name, sizeof(name), "t%" PRIu64, k);
		segment(&c, c.ohdr_len + k, 1, "raw", name, 4096);
		s = stream(&c, name, "raw", 1);
		s->head = &byte;
		s->head_len = 1;
		s = stream(&c, name, "xxh3", 8);
		s->head = sums;
		s->head_len = 8;
	}
	write_ct(&c, version, out, 0);
	free(sums);
}

/*
 * two raw tensors and an original header of tiny metadata entries
 * ("m<k>":"", about 14 bytes each) sized so that the outer header (the
 * original header in base64, 4/3 of it) is about @hlen bytes
 */
static void meta_big(const char *out, const char *orig, uint64_t hlen, int seed)
{
	static const uint8_t data[2] = {0x11, 0x22};
	uint64_t sum[2], bytes = 0;
	json_t *meta = json_object();
	struct stream *s;
	char key[32];
	struct ct c;
	int fd;

	ct_init(&c);
	/* "key":"", in base64; 4 KiB left for the rest of the header */
	for (uint64_t k = 0; (bytes + 4096) / 3 * 4 + 4096 < hlen; k++) {
		int kl = snprintf(key, sizeof(key), "m%" PRIu64, k);

		json_object_set_new(meta, key, json_string(""));
		bytes += (uint64_t)kl + 6;
	}
	json_object_set_new(c.orig, "__metadata__", meta);
	tensor(&c, "a", 1);
	tensor(&c, "b", 1);
	orig_done(&c);
	fd = strcmp(orig, "-") ? open(orig, O_WRONLY | O_CREAT | O_TRUNC, 0644)
			       : open("/dev/null", O_WRONLY);
	if (fd < 0 || write(fd, c.ohdr, c.ohdr_len) != (ssize_t)c.ohdr_len ||
	    write(fd, data, 2) != 2 || close(fd))
		die(orig);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "b" : "a";
		uint8_t *sp = (uint8_t *)&sum[i];

		put64(sp, XXH3_64bits(data + i, 1));
		segment(&c, c.ohdr_len + (uint64_t)i, 1, "raw", name, 4096);
		s = stream(&c, name, "raw", 1);
		s->head = data + i;
		s->head_len = 1;
		s = stream(&c, name, "xxh3", 8);
		s->head = sp;
		s->head_len = 8;
	}
	write_ct(&c, "1.0", out, seed);
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !v) {
		fprintf(stderr, "mkhostile: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int seed = argc > 1 && !strcmp(argv[1], "-f");
	const char *mode = argc > 1 + seed ? argv[1 + seed] : "";
	char **a = argv + 2 + seed;
	int n = argc - 2 - seed;

	if (!strcmp(mode, "raw-sparse") && n == 3)
		raw_sparse(a[0], num(a[1]), num(a[2]), seed);
	else if (!strcmp(mode, "lz4-sparse") && n == 2)
		lz4_sparse(a[0], num(a[1]), seed);
	else if (!strcmp(mode, "lz4") && n == 4 && !seed)
		lz4_valid(a[0], a[1], num(a[2]), num(a[3]));
	else if (!strcmp(mode, "tensors") && n == 2 && !seed)
		raw_tensors(a[0], num(a[1]), "1.0");
	else if (!strcmp(mode, "version") && n == 2 && !seed)
		raw_tensors(a[0], 2, a[1]);
	else if (!strcmp(mode, "meta") && n == 3)
		meta_big(a[0], a[1], num(a[2]), seed);
	else {
		fprintf(stderr,
			"usage: mkhostile [-f] raw-sparse OUT LEN "
			"CHUNK | [-f] lz4-sparse OUT N | lz4 OUT ORIG "
			"N CHUNK | tensors OUT N | version OUT VER | [-f] "
			"meta OUT ORIG HLEN\n");
		return 2;
	}
	return 0;
}
