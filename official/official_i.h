/* SPDX-License-Identifier: MIT */
/*
 * official/official_i.h - internals of the official-directory reader
 *
 *   config.c   config.json, dfloat11_config, pattern_dict regexes
 *   reader.c   files, units and their pieces
 *   model.c    open, free, accessors
 *   shapes.c   shapes from biases and from the architecture rules
 *   families.c the architecture rules, one table per family (data)
 *   hfile.c    the df11-headers file: format, version, writer, loader
 *   headers.c  virtual files from the original headers
 *   layout.c   virtual files: headers, shards, index, config.json
 *   source.c   a df11_source per virtual file
 */
#ifndef DF11_OFFICIAL_I_H
#define DF11_OFFICIAL_I_H

#include <jansson.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "codec/df11.h"
#include "codec/err.h"
#include "codec/le.h"
#include "official/official.h"

/* the six streams of a unit, in the order of their name suffixes */
enum off_stream_kind {
	OS_LUTS,
	OS_ENC,
	OS_SM,
	OS_OP,
	OS_GAPS,
	OS_SPLIT,
	OS_COUNT
};

/* one safetensors file of the directory */
struct off_file {
	char *name;
	uint64_t size, data0; /* data0: 8 + N, where the data region starts */
	df11_read_fn rd;
	void *ctx;
	struct df11_st *st;
};

/* one stream of a unit: absolute byte range in file @file */
struct off_stream {
	uint32_t file;
	uint64_t off, len;
	const struct df11_st_tensor *t;
	bool present;
};

struct off_unit {
	char *path;
	struct off_stream s[OS_COUNT];
	struct df11_unit *u;
	size_t piece0, n_pieces;
};

/* a tensor of the BF16 model: a piece of a unit or a plain tensor */
struct off_tensor {
	char *name;
	enum df11_dtype dtype;
	unsigned n_dims;
	uint64_t shape[DF11_ST_MAX_DIMS];
	uint64_t n_elems, nbytes;
	long unit;     /* -1: plain */
	uint64_t a;    /* piece: first element; plain: absolute file offset */
	uint32_t file; /* plain: the file */
	long vfile;    /* where it is shown, -1 if nowhere */
	bool shape_set;
};

/* what a chunk of a virtual file is read from */
enum off_chunk_kind {
	OC_PIECE, /* weights of a unit, decoded */
	OC_RAW,	  /* bytes of a plain tensor, as they are */
	OC_ZERO,  /* bytes no tensor covers (headers mode only) */
};

/* a chunk of a virtual file: [off, off + len) */
struct off_chunk {
	uint64_t off, len;
	enum off_chunk_kind kind;
	uint32_t idx; /* unit (PIECE) or file (RAW) */
	uint64_t a;   /* PIECE: first element; RAW: file offset */
};

struct off_vfile {
	char *name;
	uint8_t *prefix;
	size_t prefix_len;
	uint64_t size, stored;
	struct off_chunk *chunks;
	size_t n_chunks, cap;
};

struct df11_off {
	atomic_int refs;
	void (*ctx_free)(void *ctx);
	struct off_file *files;
	size_t n_files;
	json_t *config;
	const char *config_txt;
	size_t config_len;
	json_t *arch;	      /* the architecture config: config or orig */
	const char *orig_txt; /* original-config.json, borrowed in open */
	size_t orig_len;
	const char *arch_name; /* "config.json" or "original-config.json" */
	bool diffusers;	       /* laid out as diffusers' save_pretrained */
	const char *note;      /* df11_off_note(), static or NULL */
	bool partial;	       /* keep the model when shapes are unknown */
	char *unresolved;      /* why shapes are unknown (partial only) */
	int unresolved_rc;     /* and the error it stands for */
	char *version;
	regex_t *re;
	size_t n_pat;
	struct off_unit *units;
	size_t n_units;
	struct off_tensor *tensors;
	size_t n_tensors;
	size_t *by_name; /* tensor indices sorted by name */
	struct off_vfile *vf;
	size_t n_vf;
	enum df11_off_need need; /* set where a failure has a remedy */
};

/*
 * Shape rules of one architecture family (families.c has the syntax).
 * @names: the model_type / _class_name values it covers (NULL-ended)
 * @sub:   a sub-object of the config that holds the keys when present
 *         ("text_config"), or NULL
 * @vars:  named expressions (NULL-ended)
 * @rules: module path patterns and their [rows, cols] (NULL-ended)
 * @more:  rules tried after @rules (a family built on another), or NULL
 */
struct off_var {
	const char *name, *expr;
};

struct off_rule {
	const char *pattern, *rows, *cols;
};

struct off_family {
	const char *const *names;
	const char *sub;
	const struct off_var *vars;
	const struct off_rule *rules, *more;
};

/* every family, ended by one whose @names is NULL */
extern const struct off_family off_families[];

/* weights per chunk of a piece: 64 blocks, as the native container */
#define OFF_BLOCKS_PER_CHUNK 64u
#define OFF_RAW_CHUNK	     (1u << 20)

/**
 * off_shapes() - give every piece without a shape one: from its plain
 * bias tensor (an nn.Linear: [len(bias), n / len(bias)]), else from the
 * family rules of the architecture config. Return: 0; -ENOTSUP when a rule is
 * missing; -EBADMSG when a product differs from the piece's size; both set
 * m->need to DF11_OFF_NEED_HEADERS.
 */
int off_shapes(struct df11_off *m, char *err, size_t errlen);

/**
 * off_layout() - plan the virtual files (@headers: the `df11 headers`
 * text, or NULL). Return: 0, -EBADMSG, -ENOTSUP, -EOVERFLOW, -ENOMEM.
 */
int off_layout(struct df11_off *m, const char *headers, size_t headers_len,
	       uint64_t shard_size, char *err, size_t errlen);

/** off_parse_config() - parse config.json (@config is borrowed until
 * df11_off_open returns). Return: 0, -EBADMSG, -ENOTSUP, -ENOMEM. */
int off_parse_config(struct df11_off *m, const char *config, size_t len,
		     char *err, size_t errlen);

/**
 * off_parse_orig() - parse original-config.json (@txt borrowed until
 * df11_off_open returns) as the architecture config.
 * Return: 0, -EBADMSG (not a JSON object), -ENOMEM.
 */
int off_parse_orig(struct df11_off *m, const char *txt, size_t len, char *err,
		   size_t errlen);

/** off_detect_layout() - set m->diffusers (after off_build_tensors). */
void off_detect_layout(struct df11_off *m);

/** off_read_files() - copy the names, read and parse every header. */
int off_read_files(struct df11_off *m, const struct df11_off_file *files,
		   char *err, size_t errlen);

/**
 * off_build_tensors() - find the units, check them, and list the BF16
 * model's tensors (pieces, then plain tensors) with a name index.
 */
int off_build_tensors(struct df11_off *m, char *err, size_t errlen);

/* keys of the df11-headers file (hfile.c), for its writer and its reader */
#define DF11_OFF_HK_FORMAT  "format"
#define DF11_OFF_HK_VERSION "version"
#define DF11_OFF_HK_FILES   "files"
#define DF11_OFF_HK_NAME    "name"
#define DF11_OFF_HK_SIZE    "size"
#define DF11_OFF_HK_HEADER  "header"
#define DF11_OFF_HK_INDEX   "index"
#define DF11_OFF_HK_DATA    "data"

/**
 * off_headers_load() - parse a df11-headers text and check its format
 * and version (hfile.c). Return: 0 and *@root (a new reference);
 * -EBADMSG (not JSON, not a df11-headers file, a bad version); -ENOTSUP
 * for another major version (the message names it and ours).
 */
int off_headers_load(json_t **root, const char *txt, size_t len, char *err,
		     size_t errlen);

/**
 * off_headers_layout() - the virtual files from the `df11 headers` text
 * (headers.c). Return: 0, -EBADMSG, -ENOTSUP, -ENOMEM.
 */
int off_headers_layout(struct df11_off *m, const char *txt, size_t len,
		       char *err, size_t errlen);

/** off_find() - tensor index by name, -1 if none. */
long off_find(const struct df11_off *m, const char *name);

/** off_vfile_free() - free what a virtual file owns. */
void off_vfile_free(struct off_vfile *v);

/**
 * off_chunk_add() - append a chunk to @v. Return: 0, -ENOMEM.
 */
int off_chunk_add(struct off_vfile *v, enum off_chunk_kind kind, uint32_t idx,
		  uint64_t a, uint64_t len);

/**
 * off_add_tensor_chunks() - append the chunks of tensor @t (placed at
 * v->size) and grow v->size. Return: 0, -ENOMEM.
 */
int off_add_tensor_chunks(const struct df11_off *m, struct off_vfile *v,
			  const struct off_tensor *t);

/** off_config_strip() - config.json without dfloat11_config (malloc'ed). */
int off_config_strip(const struct df11_off *m, char **out, size_t *len);

#endif
