/* SPDX-License-Identifier: MIT */
/*
 * tools/tool_i.h - internals shared by the files of the df11 tool
 *
 * The tool is a thin driver around codec/: it walks directory trees, reads
 * and writes files, runs a small worker pool and reports. Conventions:
 *
 * - Functions return 0 or -errno like the codec. An error is reported once,
 *   where the most context is known (file, tensor, offset), with df11_fail()
 *   or df11_fail_sys(); callers then only pass the -errno up. -EINTR means
 *   "interrupted by SIGINT/SIGTERM" and is not reported per file.
 * - The exit status is the class of the first error reported (DF11_EX_*).
 * - Output files are written into a temporary sibling directory that is
 *   renamed into place at the very end (struct df11_outdir).
 */
#ifndef DF11_TOOL_I_H
#define DF11_TOOL_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#ifndef DF11_TOOL_VERSION
#define DF11_TOOL_VERSION "0.1.0"
#endif

#define DF11_PRINTF(a, b) __attribute__((format(printf, a, b)))

struct df11_st;
struct df11_ct;
struct df11_tree;

/* exit statuses, one per class of failure (man/df11.1, EXIT STATUS) */
enum {
	DF11_EX_OK = 0,
	DF11_EX_MISMATCH = 1,  /* checksum mismatch, verify found differences */
	DF11_EX_USAGE = 2,     /* bad command line, destination not empty */
	DF11_EX_IO = 3,	       /* cannot open/read/write, out of memory */
	DF11_EX_MALFORMED = 4, /* bad safetensors, container or index json */
	DF11_EX_UNSUPPORTED = 5, /* container of another major version, fifo */
};

/** struct df11_opts - options of one command. */
struct df11_opts {
	unsigned threads;    /* -j: worker threads, >= 1 */
	bool quiet;	     /* -q: no progress bar, no summary */
	bool json;	     /* info --json */
	const char *headers; /* --headers FILE (official directories) */
	uint64_t shard_size; /* --max-shard-size (official), 0: 5 GB */
	bool follow_symlinks; /* --follow-symlinks: links out of SRC too */
};

/* ------------------------------------------------------------- df11.c */

/**
 * df11_fail() - print "df11: <message>" as one line on stderr and record
 * @status as the exit status if none was recorded yet. Thread-safe.
 */
void df11_fail(int status, const char *fmt, ...) DF11_PRINTF(2, 3);

/**
 * df11_fail_sys() - report a failed system call on @path: "df11: cannot
 * <what> '<path>': <strerror>" (DF11_EX_IO). Nothing is printed for -EINTR
 * (interrupted). Return: @neg_errno, for "return df11_fail_sys(...)".
 */
int df11_fail_sys(int neg_errno, const char *what, const char *path);

/**
 * df11_fail_codec() - report a codec error about @path: "df11: '<path>':
 * <reason>", with the exit status its errno class maps to (-EBADMSG and
 * -EOVERFLOW: malformed, -ENOTSUP: unsupported, -ENOMEM and I/O: I/O).
 * Return: @neg_errno.
 */
int df11_fail_codec(int neg_errno, const char *path, const char *reason);

/** df11_status() - the exit status so far (0 when nothing failed). */
int df11_status(void);

/** df11_stopped() - has SIGINT, SIGTERM or SIGHUP arrived? */
bool df11_stopped(void);

/* ----------------------------------------------------------- progress.c */

/**
 * df11_prog_start() - start the progress bar for @verb ("compressing") over
 * @files files and @bytes bytes. Draws only when @enabled and stdout is a
 * terminal; a thread redraws it ten times a second.
 */
void df11_prog_start(bool enabled, const char *verb, uint64_t files,
		     uint64_t bytes);

/** df11_prog_add() - @bytes more bytes done. Thread-safe, lock-free. */
void df11_prog_add(uint64_t bytes);

/** df11_prog_file() - one more file done. Thread-safe, lock-free. */
void df11_prog_file(void);

/** df11_prog_stop() - stop the redraw thread and clear the bar. */
void df11_prog_stop(void);

/** df11_prog_seconds() - seconds since df11_prog_start(). */
double df11_prog_seconds(void);

/**
 * df11_prog_line() - write the line @line (no newline) to @f, clearing the
 * bar first so that it is redrawn below. Thread-safe.
 */
void df11_prog_line(FILE *f, const char *line);

/** df11_digits() - decimal digits of @v (1 for 0), for column widths. */
int df11_digits(uint64_t v);

/** df11_prog_printf() - df11_prog_line() on stdout, printf style. */
void df11_prog_printf(const char *fmt, ...) DF11_PRINTF(1, 2);

/**
 * df11_human() - @bytes as "7.3 MiB" (powers of 1024, IEC symbols: B,
 * KiB, MiB, GiB, TiB, PiB) into @buf. Return: @buf.
 */
const char *df11_human(uint64_t bytes, char *buf, size_t len);

/* --------------------------------------------------------------- pool.c */

struct df11_pool;

/** df11_task_fn - a task; @worker is the index of the running thread. */
typedef void (*df11_task_fn)(void *arg, unsigned worker);

/**
 * df11_pool_new() - start @n worker threads (n >= 1).
 * Return: 0 and *@out; -ENOMEM, -EAGAIN.
 */
int df11_pool_new(struct df11_pool **out, unsigned n);

/**
 * df11_pool_submit() - queue @fn(@arg) for the next free worker (FIFO).
 * Return: 0; -ENOMEM (nothing queued).
 */
int df11_pool_submit(struct df11_pool *p, df11_task_fn fn, void *arg);

/** df11_pool_wait() - wait until the queue is empty and every task ended. */
void df11_pool_wait(struct df11_pool *p);

/** df11_pool_size() - number of workers. */
unsigned df11_pool_size(const struct df11_pool *p);

/** df11_pool_free() - wait for the tasks, join the workers; NULL no-op. */
void df11_pool_free(struct df11_pool *p);

/**
 * struct df11_budget - a counted resource (bytes in flight, files open):
 * df11_budget_take() blocks while taking @n would exceed the capacity,
 * except that a request larger than the capacity is granted when nothing
 * else is held (it runs alone). Thread-safe.
 */
struct df11_budget;

/** df11_budget_new() - a budget of @cap units. Return: 0, -ENOMEM. */
int df11_budget_new(struct df11_budget **out, uint64_t cap);

/** df11_budget_take() - take @n units, waiting as described above. */
void df11_budget_take(struct df11_budget *b, uint64_t n);

/** df11_budget_give() - give back @n units taken before. */
void df11_budget_give(struct df11_budget *b, uint64_t n);

/** df11_budget_free() - NULL is a no-op. */
void df11_budget_free(struct df11_budget *b);

/* ----------------------------------------------------------------- io.c */

/** struct df11_fd - read-callback context of an open file. */
struct df11_fd {
	int fd;
};

/**
 * df11_pread_cb() - a df11_read_fn over struct df11_fd: reads exactly @len
 * bytes at @off. Return: 0; -EIO for a short read; -errno.
 */
int df11_pread_cb(void *ctx, void *buf, size_t len, uint64_t off);

/** df11_pread_full() - pread exactly @len bytes. Return: 0, -EIO, -errno. */
int df11_pread_full(int fd, void *buf, size_t len, uint64_t off);

/** df11_pwrite_full() - pwrite all @len bytes. Return: 0, -errno. */
int df11_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/**
 * df11_copy_range() - copy @len bytes from @in at @in_off to @out at
 * @out_off: copy_file_range(), read/write when the kernel cannot. Adds the
 * bytes to the progress bar when @progress. Reports errors naming
 * @in_path or @out_path. Return: 0, -EINTR when stopped, -errno.
 */
int df11_copy_range(int in, uint64_t in_off, int out, uint64_t out_off,
		    uint64_t len, const char *in_path, const char *out_path,
		    bool progress);

/**
 * df11_copy_file() - copy regular file @src to new file @dst (created,
 * never replaced) with the mode bits and times of @st; reports errors.
 * Return: 0, -EINTR, -errno.
 */
int df11_copy_file(const char *src, const char *dst, const struct stat *st);

/**
 * df11_set_attrs() - give open file @fd the permission bits and the access
 * and modification times of @st. Return: 0, -errno.
 */
int df11_set_attrs(int fd, const struct stat *st);

/**
 * df11_fsync_path() - fsync file or directory @path (opened read-only).
 * Reports errors. Return: 0, -errno.
 */
int df11_fsync_path(const char *path);

/** df11_rmtree() - remove @path and everything below it (best effort). */
void df11_rmtree(const char *path);

/**
 * struct df11_outdir - an output tree written under @tmp and moved to
 * @final at the end: @tmp is "<final>.df11-tmp.<pid>", renamed to @final;
 * or, when @final exists as an empty directory (@inside), it is
 * "<final>/.df11-tmp.<pid>", whose entries are renamed into @final.
 */
struct df11_outdir {
	char *final;
	char *tmp;
	bool inside;
};

/**
 * df11_outdir_begin() - check that @dst does not exist or is an empty
 * directory (else a usage-class error) and create the temporary directory
 * with mode 0700, before any work starts. Reports errors.
 * Return: 0, -EEXIST, -errno.
 */
int df11_outdir_begin(struct df11_outdir *o, const char *dst);

/**
 * df11_outdir_commit() - give the temporary directory the mode bits and
 * times of @st, fsync it and every directory below it (the files were
 * fsynced when closed), rename it to its final name and fsync the parent
 * (built in place: rename its entries into @final, then fsync @final).
 * Reports errors.
 * Return: 0, -errno.
 */
int df11_outdir_commit(struct df11_outdir *o, const struct stat *st);

/** df11_outdir_abort() - remove the temporary tree; frees @o. */
void df11_outdir_abort(struct df11_outdir *o);

/* -------------------------------------------------------------- input.c */

/**
 * struct df11_input - a file of a model tree, open for reading.
 * @path:    its path (owned)
 * @fd, @rd: the descriptor, and the read-callback context over it
 * @st:      fstat() at open
 * @size:    its size in bytes
 * @hdr:     the bytes [0, 8 + N) of a safetensors file (owned), or NULL
 * @sth:     the parsed header (DF11_IN_PARSE), or NULL
 * @ct:      the container, when @sth describes one, or NULL
 */
struct df11_input {
	char *path;
	int fd;
	struct df11_fd rd;
	struct stat st;
	uint64_t size;
	uint8_t *hdr;
	size_t hdr_len;
	struct df11_st *sth;
	struct df11_ct *ct;
};

#define DF11_IN_HEADER 1u /* read the header bytes of a .safetensors file */
#define DF11_IN_PARSE  2u /* ...and parse them, open a container */
#define DF11_IN_ANY    4u /* ...whatever the name (a hub blob a link names) */

/**
 * df11_input_open() - open @path; for a ".safetensors" file (any file
 * with DF11_IN_ANY) and @how flags, read (and parse) its header. Reports
 * errors, naming the file: malformed headers and containers are
 * DF11_EX_MALFORMED, containers of another major version
 * DF11_EX_UNSUPPORTED. Close @in in every case.
 * Return: 0, -EBADMSG, -EOVERFLOW, -ENOTSUP, -errno.
 */
int df11_input_open(struct df11_input *in, const char *path, unsigned how);

/**
 * df11_input_sniff() - is @path a df11 container by its content
 * (df11_store_sniff), whatever its name? Silent: false when it cannot be
 * opened or is not a regular file (whoever reads it reports that).
 */
bool df11_input_sniff(const char *path);

/** df11_input_reopen() - open the file again after close_fd. */
int df11_input_reopen(struct df11_input *in);

/** df11_input_close_fd() - close the descriptor, keep what was parsed. */
void df11_input_close_fd(struct df11_input *in);

/** df11_input_close() - release everything; safe after a failed open. */
void df11_input_close(struct df11_input *in);

/**
 * df11_index_check() - check every "*.safetensors.index.json" of @t: valid
 * JSON whose weight_map names shards that exist in @t, as regular files
 * or as links kept inside @t (DF11_WALK_KEEP_LINKS) to one. Reports errors
 * (DF11_EX_MALFORMED). Return: 0, -EBADMSG, -errno.
 */
int df11_index_check(const struct df11_tree *t);

/* -------------------------------------------------------------- check.c */

/**
 * struct df11_check - what df11_check_compress() learnt of SRC.
 * @n_files: its *.safetensors files
 * @n_bf16:  their tensors with BF16 weights (the ones DF11 codes)
 */
struct df11_check {
	size_t n_files, n_bf16;
};

/**
 * df11_check_outside() - refuse an output directory @dst that is the
 * input directory @src or lies inside it (the input would gain a
 * subdirectory), comparing resolved paths; a @dst whose parent does not
 * resolve is left to the output code to report. Reports the refusal.
 * Return: 0; -EINVAL (usage class).
 */
int df11_check_outside(const char *src, const char *dst);

/**
 * df11_check_compress() - before compress writes anything: refuse a DST
 * that is SRC (@t->root) or lies inside it, a SRC without *.safetensors
 * files, and one that holds df11 containers already (by content); read
 * and parse every safetensors header (malformed ones and Git LFS pointers
 * are reported as the pipeline would). Reports errors, one line each.
 * Return: 0 and *@c; -EINVAL (usage class), -EBADMSG, -errno.
 */
int df11_check_compress(struct df11_check *c, const struct df11_tree *t,
			const char *dst);

/**
 * df11_check_note() - after compress: when no tensor of SRC was BF16,
 * warn on stderr that nothing was DF11-coded, with the sizes @in -> @out
 * of the containers and their ratio. Not an error: the status is kept.
 */
void df11_check_note(const struct df11_check *c, const char *src, uint64_t in,
		     uint64_t out);

/**
 * df11_check_native() - before decompress or verify (@cmd) of native tree
 * @t: refuse a tree with no df11 container (a plain model, or no model)
 * unless some *.safetensors file could not be read or parsed (the
 * pipeline reports those). Reads headers silently. Reports the refusal.
 * Return: 0; -EINVAL (usage class), -ENOMEM.
 */
int df11_check_native(const struct df11_tree *t, const char *cmd);

/* --------------------------------------------------------------- walk.c */

/**
 * struct df11_entry - a file, directory or kept link of a tree.
 * @rel:  path relative to the root, '/'-separated, malloc'ed
 * @st:   stat() of the entry (links followed); lstat() of a kept link
 * @link: a link kept as a link (DF11_WALK_KEEP_LINKS): the target to
 *        write (readlink's, or made relative), malloc'ed; NULL otherwise
 * @dest: a kept link: the root-relative path it resolves to, malloc'ed
 * @container: a regular file to compress: named "*.safetensors", or a
 *        kept link of such a name resolves to it (a hub blob)
 */
struct df11_entry {
	char *rel;
	struct stat st;
	char *link, *dest;
	bool container;
};

/**
 * struct df11_tree - every regular file and directory below @root, sorted
 * by path with '/' ordered first, so a directory comes before its contents
 * and two trees can be merged. The root itself is not an entry; @root_st is
 * its stat().
 */
struct df11_tree {
	char *root;
	struct stat root_st;
	struct df11_entry *v;
	size_t n, cap;
	uint64_t n_files, bytes; /* regular files and their total size */
	unsigned flags;		 /* DF11_WALK_* */
	char *real, *blobs;	 /* realpath of @root; a snapshot's blobs/ */
	size_t refused;		 /* links out of @root refused */
};

#define DF11_WALK_KEEP_LINKS 1u /* keep links inside the root, refuse out */
#define DF11_WALK_FOLLOW_OUT 2u /* ...but follow links out of the root */

/**
 * df11_tree_scan() - walk directory @root recursively, following symbolic
 * links (a loop is an error), refusing fifos, sockets and devices.
 * Reports errors. Return: 0, -errno.
 */
int df11_tree_scan(struct df11_tree *t, const char *root);

/**
 * df11_tree_scan_links() - df11_tree_scan() that, with
 * DF11_WALK_KEEP_LINKS in @flags, keeps links resolving inside @root as
 * link entries (absolute targets made relative), and refuses links
 * resolving outside (each reported, DF11_EX_UNSUPPORTED) unless
 * DF11_WALK_FOLLOW_OUT; sets entry.container (tools/walk.c, top).
 * Return: 0, -ENOTSUP (links refused), -errno.
 */
int df11_tree_scan_links(struct df11_tree *t, const char *root, unsigned flags);

/**
 * df11_tree_links() - create the kept links of @t below @dir, with their
 * targets as read and their times. Reports errors. Return: 0, -errno.
 */
int df11_tree_links(const struct df11_tree *t, const char *dir);

/** df11_tree_free() - free what df11_tree_scan() built. */
void df11_tree_free(struct df11_tree *t);

/** df11_tree_find() - the entry with path @rel, NULL if absent. */
const struct df11_entry *df11_tree_find(const struct df11_tree *t,
					const char *rel);

/** df11_path_cmp() - the order of struct df11_tree ('/' sorts first). */
int df11_path_cmp(const char *a, const char *b);

/**
 * df11_tree_mkdirs() - create every directory of @t below @dir (mode 0700
 * while it is being filled). Reports errors. Return: 0, -errno.
 */
int df11_tree_mkdirs(const struct df11_tree *t, const char *dir);

/**
 * df11_tree_dir_attrs() - give the directories below @dir the modes and
 * times of @t's, deepest first. Reports errors. Return: 0, -errno.
 */
int df11_tree_dir_attrs(const struct df11_tree *t, const char *dir);

/** df11_path_join() - "@a/@b", malloc'ed; NULL when out of memory. */
char *df11_path_join(const char *a, const char *b);

/** df11_is_safetensors() - does @path end in ".safetensors"? */
bool df11_is_safetensors(const char *path);

/* ------------------------------------------------------------- verify.c */

#define DF11_MAX_REPORTS 20 /* mismatches printed; the rest are counted */

/**
 * df11_mismatch() - report a data mismatch, one line, status
 * DF11_EX_MISMATCH; only the first DF11_MAX_REPORTS are printed. Thread-safe.
 */
void df11_mismatch(const char *fmt, ...) DF11_PRINTF(1, 2);

/** df11_mismatches() - mismatches reported so far. */
uint64_t df11_mismatches(void);

/**
 * df11_trees_compare() - report every path that is in only one of @dst and
 * @src, or a file in one and a directory in the other.
 * Return: the number of such differences.
 */
uint64_t df11_trees_compare(const struct df11_tree *dst,
			    const struct df11_tree *src);

/**
 * df11_files_compare() - compare regular files @a and @b byte for byte,
 * reporting the first difference. Return: 0 equal, 1 different, -errno.
 */
int df11_files_compare(const char *a, const char *b);

/** df11_first_diff() - first index where @a and @b differ; @n if none. */
size_t df11_first_diff(const void *a, const void *b, size_t n);

/* --------------------------------------------------------- the commands */

/** df11_cmd_compress() - df11 compress; returns the exit status. */
int df11_cmd_compress(const struct df11_opts *o, const char *src,
		      const char *dst);

/** df11_cmd_decompress() - df11 decompress; returns the exit status. */
int df11_cmd_decompress(const struct df11_opts *o, const char *dst,
			const char *out);

/** df11_cmd_verify() - df11 verify (@src may be NULL); the exit status. */
int df11_cmd_verify(const struct df11_opts *o, const char *dst,
		    const char *src);

/** df11_cmd_info() - df11 info; returns the exit status. */
int df11_cmd_info(const struct df11_opts *o, const char *dst);

#endif
