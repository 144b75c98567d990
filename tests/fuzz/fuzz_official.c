/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_official.c - libFuzzer target for the official-directory
 * reader (official/official.h): config.json and pattern_dict parsing, regex
 * translation, unit discovery and checks, shape rules, the headers file,
 * the layout of the virtual files, and reading every chunk of them
 *
 * Input: parts separated by the line "\n@@\n": config.json, the headers
 * text (empty: none; a part that starts with "#orig\n" is an
 * original-config.json instead), then the safetensors files
 * ("f0.safetensors", ...),
 * each read through a callback over its part that aborts on a read
 * outside it. Whatever df11_off_open() accepts is checked: chunk ranges
 * tile [prefix, size) and chunk_find agrees; every chunk reads (into a
 * heap buffer of exactly its size) or fails with -EBADMSG and a one-line
 * message. A refusal that shapes would get past is opened again partial
 * (as df11 info does) and must then open. Seeds:
 * tests/fuzz/corpus/fuzz_official/ (a synthetic unit, a fixture's config
 * with its remainder file, a piece shaped by its bias, a diffusers piece
 * shaped by original-config.json).
 */
#include "official/official.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_i.h"

#define MAX_PARTS 10
#define BUDGET	  (32u << 20) /* decoded bytes per input */

/* split @data at "\n@@\n" into at most MAX_PARTS parts */
static size_t split(const uint8_t *data, size_t size, struct mem *parts)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i + 4 <= size && n < MAX_PARTS - 1; i++) {
		if (!memcmp(data + i, "\n@@\n", 4)) {
			parts[n++] = (struct mem){data + start, i - start};
			start = i + 4;
			i += 3;
		}
	}
	parts[n++] = (struct mem){data + start, size - start};
	return n;
}

static void read_all(struct df11_off *m)
{
	uint64_t budget = BUDGET;

	for (size_t i = 0; i < df11_off_n_vfiles(m); i++) {
		struct df11_source *s;
		struct df11_scratch *sc;
		struct df11_chunk ck, fc;
		uint64_t size, len, id, pos;
		size_t plen;

		CHECK(df11_off_source(m, i, &s) == 0);
		CHECK(df11_scratch_new(&sc) == 0);
		size = s->ops->size(s);
		s->ops->prefix(s, &plen);
		CHECK(plen <= size);
		for (pos = plen, id = 0; pos < size; pos += len, id++) {
			char err[256] = "";
			uint8_t *buf;
			int rc;

			s->ops->chunk_get(s, id, &ck);
			len = ck.len;
			CHECK(ck.id == id && ck.off == pos && len > 0 &&
			      len <= size - pos);
			CHECK(s->ops->chunk_find(s, pos + len - 1, &fc) == 0 &&
			      fc.id == id && fc.off == ck.off && fc.len == len);
			if (len > budget)
				continue;
			budget -= len;
			buf = malloc((size_t)len);
			if (!buf)
				continue;
			rc = df11_source_read(s, id, sc, buf, err, sizeof(err));
			CHECK(rc == 0 || rc == -EBADMSG || rc == -ENOMEM);
			CHECK(rc == 0 || (err[0] && !strchr(err, '\n')));
			free(buf);
		}
		CHECK(s->ops->chunk_find(s, size, &fc) == -EINVAL);
		df11_scratch_free(sc);
		df11_source_free(s);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem parts[MAX_PARTS];
	struct df11_off_file files[MAX_PARTS];
	char names[MAX_PARTS][32], err[512];
	enum df11_off_need need = DF11_OFF_NEED_NONE;
	struct df11_off_opts o = {.need = &need};
	struct df11_off *m = NULL;
	size_t n = split(data, size, parts), nf = 0;
	int rc;

	if (n < 2)
		return 0;
	if (parts[1].len >= 6 && !memcmp(parts[1].p, "#orig\n", 6)) {
		o.orig_config = (const char *)parts[1].p + 6;
		o.orig_config_len = parts[1].len - 6;
	} else if (parts[1].len) {
		o.headers = (const char *)parts[1].p;
		o.headers_len = parts[1].len;
	}
	o.shard_size = 1u << 20; /* exercise sharding on small inputs */
	for (size_t i = 2; i < n; i++, nf++) {
		snprintf(names[nf], sizeof(names[nf]), "f%zu.safetensors", nf);
		files[nf] = (struct df11_off_file){names[nf], parts[i].len,
						   mem_read, &parts[i]};
	}
	(void)df11_off_probe((const char *)parts[0].p, parts[0].len);
	rc = df11_off_open(&m, (const char *)parts[0].p, parts[0].len, files,
			   nf, &o, err, sizeof(err));
	if (rc) {
		CHECK(m == NULL);
		CHECK(rc == -EBADMSG || rc == -ENOTSUP || rc == -EOVERFLOW ||
		      rc == -ENOMEM);
		CHECK(err[0] && !strchr(err, '\n'));
		if (need != DF11_OFF_NEED_HEADERS || o.headers)
			return 0;
		o.partial = true;
		rc = df11_off_open(&m, (const char *)parts[0].p, parts[0].len,
				   files, nf, &o, err, sizeof(err));
		CHECK(rc == 0 || rc == -ENOMEM);
		if (rc)
			return 0;
		CHECK(df11_off_n_vfiles(m) == 1 &&
		      df11_off_unresolved(m, NULL));
	}
	CHECK(df11_off_n_vfiles(m) >= 1);
	read_all(m);
	df11_off_free(m);
	return 0;
}
