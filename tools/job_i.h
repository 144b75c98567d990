/* SPDX-License-Identifier: MIT */
/*
 * tools/job_i.h - the one decompress / verify pipeline of the df11 tool
 *
 * A job is a list of output files, each either a plain file (copied as it
 * is, or compared with SRC byte for byte) or a df11_source (codec/source.h:
 * a native container, or a virtual file of an official directory) whose
 * prefix bytes and chunks are decoded by a worker pool and pwritten at
 * their offsets (decompress) or checked and compared with SRC (verify).
 * The front ends (decompress.c for native trees, official_run.c for
 * official directories) only build the list and print the summary.
 *
 *   job.c      the list, the worker pool, output files, the run
 *   job_ref.c  comparing decoded bytes with SRC: the same bytes of SRC's
 *              file of the same name, or the same tensor by name in any
 *              of SRC's *.safetensors files (official layouts may differ)
 */
#ifndef DF11_TOOLS_JOB_I_H
#define DF11_TOOLS_JOB_I_H

#include "codec/safetensors.h"
#include "codec/source.h"
#include "tools/tool_i.h"

struct df11_job;
struct df11_refs;

/**
 * struct df11_job_stats - what a run did; files that failed are not
 * counted. @seconds: from the start of the run to its end.
 */
struct df11_job_stats {
	uint64_t n_src, src_size, src_stored, n_chunks;
	uint64_t n_plain, plain_bytes, total;
	double seconds;
};

/**
 * df11_job_add_copy() - add plain file @path, written as @rel below OUT
 * with the mode and times of @st. Verify compares it with @ref (a file of
 * SRC) when not NULL and otherwise only counts it. Strings are copied.
 * Return: 0, -ENOMEM (reported).
 */
int df11_job_add_copy(struct df11_job *j, const char *rel, const char *path,
		      const struct stat *st, const char *ref);

/**
 * df11_job_add_source() - add source @s (owned from now on, also when
 * this fails) as file @rel below OUT, named @label in messages. @in, when
 * not NULL, is the input file @s reads through (owned): its descriptor is
 * reopened while the file is in flight and closed after. @attrs: the mode
 * and times to give the output, or NULL (mode 0644 less the umask). @ref:
 * SRC's file to compare with byte for byte (size, prefix and, without a
 * by-name index, every chunk), or NULL. Strings are copied.
 * Return: 0, -ENOMEM (reported).
 */
int df11_job_add_source(struct df11_job *j, const char *rel, const char *label,
			struct df11_source *s, struct df11_input *in,
			const struct stat *attrs, const char *ref);

/**
 * df11_job_index() - compare the chunks of every safetensors source by
 * tensor name with the tensors of SRC's top-level *.safetensors files
 * (@src, scanned). Reports errors.
 * Return: the number of tensors found (0: SRC has none), or -errno.
 */
long df11_job_index(struct df11_job *j, const struct df11_tree *src);

/**
 * struct df11_front - what a front end adds to the pipeline.
 * @build:   add the files of the command to @j; 0 or -errno (reported)
 * @summary: print the summary line of a run that succeeded (not called
 *           with -q, nor for a verify that reported anything)
 */
struct df11_front {
	int (*build)(struct df11_job *j, void *ctx);
	void (*summary)(const struct df11_job_stats *s, void *ctx);
};

/**
 * df11_job_main() - a whole command: a new job of options @o (borrowed),
 * @f->build(job, @ctx), the run, the summary, and for a verify with
 * mismatches the line "verify failed: N mismatches". With @out
 * (decompress): everything is written into a temporary sibling of @out
 * with the directories of @dirs, renamed to @out at the end; nothing is
 * left behind on failure, and the first error stops the run. Without
 * (verify): nothing is written; errors and mismatches are each reported
 * and the run goes on.
 * Return: the exit status: the class of the first error reported,
 * DF11_EX_IO for an unreported one (interrupted: main() raises the
 * signal).
 */
int df11_job_main(const struct df11_opts *o, const struct df11_tree *dirs,
		  const char *out, const struct df11_front *f, void *ctx);

/* ---------------------------------------------------------- job_ref.c */

/**
 * df11_refs_new() - index the tensors of @t's top-level *.safetensors
 * files by name (the files stay open until df11_refs_free()). Reports
 * errors. Return: 0 and *@out, -errno.
 */
int df11_refs_new(struct df11_refs **out, const struct df11_tree *t);

/** df11_refs_count() - tensors in the index. */
size_t df11_refs_count(const struct df11_refs *r);

/** df11_refs_free() - NULL is a no-op. */
void df11_refs_free(struct df11_refs *r);

/**
 * df11_st_at() - the tensor of @st holding byte @rel of the data region,
 * or NULL (padding, or no tensor there).
 */
const struct df11_st_tensor *df11_st_at(const struct df11_st *st, uint64_t rel);

/**
 * df11_refs_compare() - compare decoded bytes @buf, [@off, @off + @len)
 * of file @label (header @st, data at @data0; one chunk: inside one
 * tensor), with the same tensor's bytes in the index, read into @tmp
 * (@len bytes). Return: 0 equal or not comparable, 1 a mismatch
 * (reported), -errno (reported).
 */
int df11_refs_compare(const struct df11_refs *r, const char *label,
		      const struct df11_st *st, uint64_t data0,
		      const uint8_t *buf, uint8_t *tmp, uint64_t off,
		      uint64_t len);

/**
 * df11_ref_compare() - compare @buf, [@off, @off + @len) of @label, with
 * the same bytes of file @fd (path @ref), read into @tmp; the tensor named
 * in a report is found in @st (may be NULL). Return: 0, 1, -errno, as
 * df11_refs_compare().
 */
int df11_ref_compare(int fd, const char *ref, const char *label,
		     const struct df11_st *st, uint64_t data0,
		     const uint8_t *buf, uint8_t *tmp, uint64_t off,
		     uint64_t len);

/**
 * df11_ref_open() - open @ref to compare file @label (@size bytes, first
 * bytes @prefix) with: check its size and its first bytes. A missing file
 * or a different size is a mismatch (then *@fd is -1: only the checksums
 * are checked); a different prefix is one too, and the chunks are still
 * compared. Return: 0 and *@fd, 1 when a mismatch was reported, -errno
 * (reported).
 */
int df11_ref_open(const char *ref, const char *label, uint64_t size,
		  const uint8_t *prefix, size_t plen, int *fd);

#endif
