/* SPDX-License-Identifier: MIT */
/*
 * tools/official_i.h - the df11 tool on official DFloat11 directories
 *
 *   official.c       detection, opening (store/store.h, --headers)
 *   official_run.c   decompress and verify
 *   official_info.c  info
 *   official_sum.c   verify: the hashes huggingface_hub recorded
 *   headers.c        df11 headers ORIGINAL_DIR
 */
#ifndef DF11_TOOLS_OFFICIAL_I_H
#define DF11_TOOLS_OFFICIAL_I_H

#include <stdbool.h>

#include "official/official.h"
#include "tools/tool_i.h"

struct df11_off;

/**
 * df11_off_dir_probe() - is directory @dir an official DFloat11 directory
 * (config.json with dfloat11_config)? The 0.1 layout is reported.
 * Return: 1, 0, or -ENOTSUP (the 0.1 layout, reported).
 */
int df11_off_dir_probe(const char *dir);

/**
 * df11_off_dir_open() - open the official directory @dir (with
 * o->headers, o->shard_size) through df11_store_model_open, following
 * symlinks; a *.safetensors entry that is not a regular file (a FIFO,
 * socket, device, or a link to one) fails the open, reported as one line
 * naming it (DF11_EX_UNSUPPORTED); one that cannot be opened (a dangling
 * link, no permission) is DF11_EX_IO. Reports errors. With @partial
 * (df11 info), a model whose shapes are unknown opens anyway
 * (df11_off_unresolved() says why); the caller reports that.
 * Return: 0 and *@out (free with df11_off_free), -errno.
 */
int df11_off_dir_open(const char *dir, const struct df11_opts *o, bool partial,
		      struct df11_off **out);

/**
 * df11_off_warn_note() - print df11_off_note() of model @m of @dir, if
 * any, as one warning line on stderr (also with -q: the output lacks
 * what loaders need).
 */
void df11_off_warn_note(const char *dir, const struct df11_off *m);

/* what the user can give when shapes are unknown (after the reason) */
#define DF11_OFF_HINT                                                          \
	" (write them with 'df11 headers ORIGINAL_DIR > h.json', then give "   \
	"--headers h.json or save them as DIR/" DF11_OFF_ORIG_HEADERS ")"

/**
 * df11_off_slurp() - read file @path (at most @max bytes) into a new
 * NUL-terminated buffer. Reports errors. Return: 0, -errno.
 */
int df11_off_slurp(const char *path, char **out, size_t *len, size_t max);

/** df11_strp_cmp() - qsort comparison of char * by strcmp. */
int df11_strp_cmp(const void *a, const void *b);

/** df11_names_free() - free an array of @n strings. */
void df11_names_free(char **names, size_t n);

/** df11_off_cmd_decompress() - decompress an official dir; exit status. */
int df11_off_cmd_decompress(const struct df11_opts *o, const char *dir,
			    const char *out);

/**
 * df11_off_pipeline_probe() - is @dir a diffusers pipeline folder (a
 * model_index.json file) with at least one official DFloat11 component
 * directory? Return: 1, 0, or < 0 (reported: a component in the 0.1
 * layout, an unreadable directory).
 */
int df11_off_pipeline_probe(const char *dir);

/**
 * struct df11_off_pipeline - the components of a diffusers pipeline folder.
 * @m, @pre, @n:       its official DFloat11 components (transformer/ ...):
 *                     each one's model and directory name, in name order
 * @plain, @n_plain:   its other directories (vae/, text_encoder/ ...),
 *                     names starting with "." left out
 */
struct df11_off_pipeline {
	struct df11_off **m;
	char **pre;
	size_t n;
	char **plain;
	size_t n_plain;
};

/**
 * df11_off_pipeline_open() - open every official component of pipeline
 * folder @dir with df11_off_dir_open (@partial as there) and list the
 * other directories. Reports errors. Return: 0 and *@p (free with
 * df11_off_pipeline_free), -errno (nothing left to free).
 */
int df11_off_pipeline_open(struct df11_off_pipeline *p, const char *dir,
			   const struct df11_opts *o, bool partial);

/** df11_off_pipeline_free() - free what @p holds. */
void df11_off_pipeline_free(struct df11_off_pipeline *p);

/**
 * df11_off_hidden() - is @rel (a path below DIR) a file that the virtual
 * listing of one of the models at @pre (@n directory names below DIR, ""
 * for DIR itself) replaces?
 */
int df11_off_hidden(char *const *pre, size_t n, const char *rel);

/**
 * df11_off_cmd_decompress_pipeline() - decompress pipeline folder @dir:
 * each official component as its model, every other file copied; exit
 * status.
 */
int df11_off_cmd_decompress_pipeline(const struct df11_opts *o, const char *dir,
				     const char *out);

/**
 * df11_off_sum_check() - check every *.safetensors file of official
 * directory @dir against the hash huggingface_hub recorded for it (the
 * blob name of a hub cache snapshot link, or the etag of a --local-dir
 * folder's .cache/huggingface/download/NAME.metadata, looked for in @dir
 * and up to 8 directories above it), hashing on o->threads threads. A
 * file that differs is a mismatch (df11_mismatch: named, with both
 * digests); unless o->quiet, the files with nothing recorded are named
 * as not checked on stdout, and an ok line counts the equal ones. A file
 * that cannot be opened is left to the model's open, which reports it.
 * Return: 0, or -errno (reported; -EINTR: interrupted).
 */
int df11_off_sum_check(const struct df11_opts *o, const char *dir);

/** df11_off_cmd_verify() - verify an official dir (@src may be NULL). */
int df11_off_cmd_verify(const struct df11_opts *o, const char *dir,
			const char *src);

/**
 * df11_off_cmd_verify_pipeline() - verify pipeline folder @dir: each
 * official component as its model (with @src, against the directory of
 * the same name in @src), one line for each other directory, which is
 * passed over; exit status.
 */
int df11_off_cmd_verify_pipeline(const struct df11_opts *o, const char *dir,
				 const char *src);

/** df11_off_cmd_info() - info on an official dir; exit status. */
int df11_off_cmd_info(const struct df11_opts *o, const char *dir);

/**
 * df11_off_cmd_info_pipeline() - info on pipeline folder @dir: one
 * document with every file a decompress writes (each official
 * component's virtual files, the other files as they are on disk) and
 * the units of every component; one line on stderr for each other
 * directory, passed over as plain files; exit status.
 */
int df11_off_cmd_info_pipeline(const struct df11_opts *o, const char *dir);

/** df11_cmd_headers() - df11 headers ORIGINAL_DIR; exit status. */
int df11_cmd_headers(const struct df11_opts *o, const char *dir);

#endif
