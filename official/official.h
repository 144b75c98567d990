/* SPDX-License-Identifier: MIT */
/*
 * official/official.h - official DFloat11 directories as BF16 model directories
 *
 * The official DFloat11 package (0.2.0 to 0.5.x) writes a model directory
 * whose config.json carries a "dfloat11_config" key ({version,
 * threads_per_block, bytes_per_thread, pattern_dict}) and whose
 * *.safetensors files hold, for every compressed unit P (a module path
 * that fully matches a pattern_dict key), the six tensors P.luts,
 * P.encoded_exponent, P.sign_mantissa, P.output_positions, P.gaps and
 * P.split_positions, next to plain tensors (norms, biases, the rest).
 * docs/OFFICIAL.md describes the mapping back to the original model.
 *
 * df11_off_open() turns such a directory into a list of virtual files:
 * config.json without the dfloat11_config key, the BF16 safetensors
 * files (model.safetensors, or model-0000i-of-0000N.safetensors shards
 * with model.safetensors.index.json), each served by a df11_source
 * (codec/source.h). With the original headers (`df11 headers`), the
 * virtual files are the original files byte for byte.
 *
 * No file I/O: the caller passes the config text and one read callback
 * per safetensors file. The model is immutable once open, reference
 * counted (sources hold a reference), and may be read by many threads.
 */
#ifndef DF11_OFFICIAL_H
#define DF11_OFFICIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/container.h"
#include "codec/safetensors.h"
#include "codec/source.h"

#define DF11_OFF_SHARD_DEFAULT 5000000000ull /* save_pretrained's "5GB" */
/* diffusers ModelMixin.save_pretrained's max_shard_size "10GB" */
#define DF11_OFF_SHARD_DIFFUSERS 10000000000ull
/* the original's config.json, copied by the user into the directory */
#define DF11_OFF_ORIG_CONFIG "original-config.json"
/* `df11 headers ORIGINAL_DIR` output, saved by the user in the directory */
#define DF11_OFF_ORIG_HEADERS  "original-headers.json"
#define DF11_OFF_MAX_FILES     100000u
#define DF11_OFF_HEADERS_MAX   DF11_ST_MAX_HEADER /* headers file bytes */

/*
 * The df11-headers file (`df11 headers ORIGINAL_DIR`, official/hfile.c):
 * {"format": DF11_OFF_HEADERS_FORMAT, "version": "MAJOR.MINOR", ...}.
 * A reader takes every minor of its major and refuses another major.
 */
#define DF11_OFF_HEADERS_FORMAT "df11-headers"
#define DF11_OFF_HEADERS_MAJOR	1
#define DF11_OFF_HEADERS_MINOR	0

/**
 * struct df11_off_file - one *.safetensors file of the directory.
 * @name:  its file name (copied)
 * @size:  its size in bytes
 * @rd:    read callback; called during df11_off_open() and by sources,
 *         from any thread, for as long as the model lives
 * @ctx:   the callback's context
 */
struct df11_off_file {
	const char *name;
	uint64_t size;
	df11_read_fn rd;
	void *ctx;
};

/**
 * enum df11_off_need - what the caller could supply to have a directory
 * read that df11_off_open() refused. The reader names the need; each
 * front end words it as its own option (df11: --headers FILE, df11fs:
 * -o headers=FILE), so that no flag is spelled below the front ends.
 */
enum df11_off_need {
	DF11_OFF_NEED_NONE,    /* nothing the caller can supply helps */
	DF11_OFF_NEED_HEADERS, /* the original headers (`df11 headers`) */
};

/**
 * struct df11_off_opts - knobs (zero = default).
 * @headers, @headers_len: the text written by `df11 headers`, or NULL
 * @orig_config, @orig_config_len: the original model's config.json
 *               (DF11_OFF_ORIG_CONFIG), or NULL: used for the shapes
 *               and shown as config.json
 * @shard_size:  largest shard without headers (default 5 GB, 10 GB for a
 *               diffusers model)
 * @partial:     keep a model whose shapes cannot be resolved: it opens
 *               with its units and tensors, config.json as its only
 *               virtual file, and df11_off_unresolved() saying why
 *               (df11 info); its sources are not for reading weights
 * @ctx_free:    called once for every file's @ctx when the model is freed
 *               (also when df11_off_open() fails), may be NULL
 * @need:        out, may be NULL: what would get past a failure
 *               (DF11_OFF_NEED_NONE on success and for most failures)
 */
struct df11_off_opts {
	const char *headers;
	size_t headers_len;
	const char *orig_config;
	size_t orig_config_len;
	uint64_t shard_size;
	bool partial;
	void (*ctx_free)(void *ctx);
	enum df11_off_need *need;
};

struct df11_off;

/**
 * struct df11_off_hfile - one *.safetensors file of an original model,
 * for df11_off_headers_encode() (all borrowed).
 * @name:   its file name
 * @size:   its size in bytes
 * @header, @header_len: its bytes [0, 8 + N)
 */
struct df11_off_hfile {
	const char *name;
	uint64_t size;
	const uint8_t *header;
	size_t header_len;
};

/**
 * df11_off_headers_encode() - the text of a df11-headers file, the
 * current format version, describing an original model: @files
 * (@n_files of them, in the order given) and, when @index_name is not
 * NULL, its index json (@index, @index_len bytes).
 * Return: 0 and *@out (malloc'ed, NUL-terminated JSON, no final newline;
 * the caller frees it), *@out_len its length; -ENOMEM (also for a size
 * above INT64_MAX).
 */
int df11_off_headers_encode(char **out, size_t *out_len,
			    const struct df11_off_hfile *files, size_t n_files,
			    const char *index_name, const uint8_t *index,
			    size_t index_len);

/**
 * df11_off_probe() - is @config (a config.json text) that of an official
 * DFloat11 directory?
 * Return: true if it is a JSON object with a "dfloat11_config" key, false
 * if not (or not JSON at all: such a directory is shown as it is).
 */
bool df11_off_probe(const char *config, size_t len);

/**
 * df11_off_legacy() - do the file names @names (@n of them) of a directory
 * look like the unsupported DFloat11 0.1 layout (*.pkl pickles and a
 * per-model decode.ptx)?
 */
bool df11_off_legacy(const char *const *names, size_t n);

/**
 * df11_off_open() - read an official directory.
 * @config, @config_len: config.json's text
 * @files, @n_files:     every *.safetensors file of the directory
 * @o:                   options, may be NULL
 * @err:                 a one-line reason on failure (may be NULL)
 * Reads every file's header and every unit's small streams (luts,
 * output_positions, split_positions), checks them (df11_unit_new), maps
 * the units' pieces to tensor names, resolves every shape (config rules or
 * the headers) and plans the virtual files. Decodes nothing.
 * Return: 0 and *@out (one reference); -EBADMSG malformed, -ENOTSUP valid
 * but not understood (unknown architecture, untranslatable pattern, a
 * headers file of another major version), -EOVERFLOW, -ENOMEM, or a read
 * error. When shapes cannot be resolved without the original headers
 * (-ENOTSUP, or -EBADMSG for a config that contradicts the weights),
 * *@o->need is DF11_OFF_NEED_HEADERS and the message says so without
 * naming any option: the caller adds how to give them.
 */
int df11_off_open(struct df11_off **out, const char *config, size_t config_len,
		  const struct df11_off_file *files, size_t n_files,
		  const struct df11_off_opts *o, char *err, size_t errlen);

/** df11_off_free() - drop a reference; NULL is a no-op. Thread-safe. */
void df11_off_free(struct df11_off *m);

/**
 * df11_off_hides() - is the file @name of the directory replaced by the
 * virtual listing (config.json, every *.safetensors and
 * *.safetensors.index.json, original-config.json and
 * original-headers.json)? Other files are shown as they are.
 */
bool df11_off_hides(const char *name);

/** df11_off_n_vfiles() - number of virtual files. */
size_t df11_off_n_vfiles(const struct df11_off *m);

/** df11_off_vfile_name() - name of virtual file @i (borrowed). */
const char *df11_off_vfile_name(const struct df11_off *m, size_t i);

/** df11_off_vfile_size() - size in bytes of virtual file @i. */
uint64_t df11_off_vfile_size(const struct df11_off *m, size_t i);

/**
 * df11_off_vfile_stored() - bytes of the official files that virtual file
 * @i is decoded from (its share of unit streams and plain tensors).
 */
uint64_t df11_off_vfile_stored(const struct df11_off *m, size_t i);

/**
 * df11_off_source() - virtual file @i as a source; it holds a reference
 * on @m. Return: 0 and *@out, -EINVAL for a bad @i, -ENOMEM.
 */
int df11_off_source(struct df11_off *m, size_t i, struct df11_source **out);

/**
 * struct df11_off_unit_info - one compressed unit (borrowed strings).
 * @path:     module path P
 * @file:     the file holding P.encoded_exponent
 * @n_elems:  weights
 * @stored:   bytes of its six streams
 * @n_luts:   rows of its luts
 * @n_blocks: 4096-byte blocks of its stream
 * @piece0, @n_pieces: its pieces in df11_off_tensor() order
 */
struct df11_off_unit_info {
	const char *path;
	const char *file;
	uint64_t n_elems, stored;
	unsigned n_luts;
	uint64_t n_blocks;
	size_t piece0, n_pieces;
};

/**
 * struct df11_off_tensor_info - one tensor of the BF16 model.
 * @name, @dtype, @n_dims, @shape: as the virtual files show it
 * @unit:     its unit, or -1 for a plain tensor copied from @file
 * @vfile:    the virtual file holding it, or -1 (a dropped tied copy)
 */
struct df11_off_tensor_info {
	const char *name;
	enum df11_dtype dtype;
	unsigned n_dims;
	const uint64_t *shape;
	long unit;
	const char *file;
	long vfile;
};

/** df11_off_n_units() - compressed units, in unit path order. */
size_t df11_off_n_units(const struct df11_off *m);

/** df11_off_unit() - unit @i. */
void df11_off_unit(const struct df11_off *m, size_t i,
		   struct df11_off_unit_info *u);

/** df11_off_n_tensors() - tensors of the BF16 model. */
size_t df11_off_n_tensors(const struct df11_off *m);

/** df11_off_tensor() - tensor @i (pieces of unit 0 first, then ...). */
void df11_off_tensor(const struct df11_off *m, size_t i,
		     struct df11_off_tensor_info *t);

/**
 * df11_off_unresolved() - why the shapes are unknown, for a model opened
 * with @partial whose shapes could not be resolved (borrowed); NULL when
 * every shape is known. *@rc (may be NULL): what df11_off_open() would
 * have returned without @partial (-ENOTSUP, or -EBADMSG when the config
 * or a bias contradicts the weights).
 */
const char *df11_off_unresolved(const struct df11_off *m, int *rc);

/**
 * df11_off_diffusers() - is the model laid out as diffusers writes it
 * (diffusion_pytorch_model*.safetensors)? A config with "_class_name",
 * or a config holding only dfloat11_config whose units are named like
 * diffusers transformer blocks.
 */
bool df11_off_diffusers(const struct df11_off *m);

/**
 * df11_off_note() - a one-line warning about the model as shown, or NULL
 * (borrowed, static). Set when no original-config.json was given and
 * config.json, once dfloat11_config is cut out, holds no architecture: a
 * diffusers model without "_class_name" (the official tool writes
 * dfloat11_config alone for every diffusers model), or a transformers
 * model without "model_type" and "architectures". config.json is then
 * shown as what is left ("{}"), which no loader can build the model
 * from; the note says to copy the original config.json in. The front
 * ends show it once (df11fs logs it; df11 prints it as a warning).
 */
const char *df11_off_note(const struct df11_off *m);

/** df11_off_version() - dfloat11_config.version (borrowed). */
const char *df11_off_version(const struct df11_off *m);

#endif
