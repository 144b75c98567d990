/* SPDX-License-Identifier: MIT */
/*
 * store/store.h - the one place that opens files of a SOURCE tree
 *
 * The daemon (fs/) and the df11 tool (tools/) read models from a tree of
 * files someone else may control: a symlink may point anywhere, a FIFO
 * blocks whoever opens it, a device node has side effects, a file may be
 * replaced or removed while it is read. Every open of a source file goes
 * through this module, which
 *
 *  - looks before it opens (fstatat without following symlinks): a
 *    symlink is refused with -ELOOP, a FIFO, socket or device node with
 *    -ENXIO, and neither is ever opened;
 *  - opens with O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC and checks the open
 *    file again (fstat, S_ISREG) before any read, so a file swapped in
 *    between the two steps is refused the same way and never blocks;
 *  - keeps, for every file a source reads, its descriptor and its fstat
 *    at open (struct df11_store_set): the staleness check of every read,
 *    and the list of descriptors to release once their file is deleted.
 *
 * Only the df11 tool may ask to follow symlinks (DF11_STORE_FOLLOW: a
 * user's own tree, e.g. a Hugging Face snapshot whose files are links
 * into blobs/); the target must still be a regular file. The daemon never
 * follows.
 *
 * Depends on codec/ and official/ public headers only.
 * Thread-safety: every function may be called from any thread; a set may
 * be checked, read through and swept by many threads at once.
 */
#ifndef DF11_STORE_H
#define DF11_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "official/official.h"

struct df11_source;
struct df11_off;

/* flags of df11_store_openat() and struct df11_store_model_opts */
#define DF11_STORE_FOLLOW 0x1u /* follow symlinks (df11 tool only) */
#define DF11_STORE_STRICT 0x2u /* model: a refused file fails the open */
#define DF11_STORE_PARTIAL 0x4u /* model: open with shapes unknown (info) */

#define DF11_STORE_CONFIG_MAX (16u << 20) /* config.json bytes */

/**
 * df11_store_openat() - open regular file @name of directory @dirfd for
 * reading, without ever blocking or following a symlink.
 * @dirfd: a directory descriptor (O_PATH is enough)
 * @name:  the file's name; "" reopens @dirfd itself, which must then be
 *         an O_PATH descriptor of a file (fs/'s inodes): the new
 *         descriptor is checked to be the same inode
 * @flags: 0 or DF11_STORE_FOLLOW
 * @fd:    the new descriptor (O_RDONLY | O_CLOEXEC, blocking), owned by
 *         the caller
 * @st:    the file's stat; on -ELOOP and -ENXIO, what was found there
 *         (may be NULL)
 * Return: 0; -ELOOP for a symlink (not followed); -ENXIO for a FIFO,
 * socket or device node (never opened); -EISDIR for a directory; -ESTALE
 * when "" reopened another file; -errno of fstatat/openat (-ENOENT, ...).
 */
int df11_store_openat(int dirfd, const char *name, unsigned flags, int *fd,
		      struct stat *st);

/**
 * df11_store_pread() - read exactly @len bytes at @off of @fd (retrying
 * EINTR and short reads). Return: 0; -EIO when the file ends first;
 * -errno of pread.
 */
int df11_store_pread(int fd, void *buf, size_t len, uint64_t off);

/**
 * df11_store_pread_upto() - read @len bytes at @off of @fd, or fewer where
 * the file ends (retrying EINTR and short reads): for passing a file
 * through. Return: the bytes read; -EINVAL for @len over SSIZE_MAX;
 * -errno of pread.
 */
ssize_t df11_store_pread_upto(int fd, void *buf, size_t len, uint64_t off);

/**
 * df11_store_unchanged() - is open file @fd still what @st0 (its fstat at
 * open) describes: linked, same inode, size and mtime?
 * Return: 0, or -ESTALE (also when fstat fails).
 */
int df11_store_unchanged(int fd, const struct stat *st0);

/**
 * df11_store_release() - let go of the file behind @fd without freeing
 * the descriptor number: @fd is atomically made a descriptor of
 * /dev/null, so a concurrent pread returns end of file (never another
 * file's bytes) and the disk space of a deleted file is freed.
 * Return: 0, -errno (then @fd is unchanged).
 */
int df11_store_release(int fd);

/** df11_store_type_name() - "fifo", "socket", ... for @mode's S_IFMT. */
const char *df11_store_type_name(mode_t mode);

/* ------------------------------------------------------------- entries */

/**
 * enum df11_store_kind - what a directory entry of a source tree is.
 * @DF11_STORE_NATIVE:   a regular *.safetensors file: a native container
 *                       or a plain safetensors file (df11_store_ct_open
 *                       tells: -ENOMSG for a plain one)
 * @DF11_STORE_OFFICIAL: a directory whose config.json (a regular file)
 *                       has a "dfloat11_config" key
 * @DF11_STORE_PLAIN:    any other regular file
 * @DF11_STORE_DIR:      any other directory
 * @DF11_STORE_SYMLINK:  a symlink (never followed by the daemon)
 * @DF11_STORE_OTHER:    a FIFO, socket or device node (never opened)
 */
enum df11_store_kind {
	DF11_STORE_NATIVE,
	DF11_STORE_OFFICIAL,
	DF11_STORE_PLAIN,
	DF11_STORE_DIR,
	DF11_STORE_SYMLINK,
	DF11_STORE_OTHER,
};

/**
 * df11_store_classify() - the kind of entry @name whose lstat is @st, by
 * the name alone for a regular file (fs/ and the df11 tool also take a
 * file of any name for a container when df11_store_sniff() says so).
 * @dirfd: the directory holding @name, to probe a directory's
 *         config.json (reads it); -1: never probe (a directory is then
 *         DF11_STORE_DIR)
 */
enum df11_store_kind df11_store_classify(int dirfd, const char *name,
					 const struct stat *st);

/**
 * df11_store_probe() - is directory @dirfd an official DFloat11 directory
 * (a config.json regular file, followed with DF11_STORE_FOLLOW in @flags,
 * with a "dfloat11_config" key)? Reads config.json. Return: 1 or 0.
 */
int df11_store_probe(int dirfd, unsigned flags);

/** df11_store_is_safetensors() - does @name end in ".safetensors"? */
int df11_store_is_safetensors(const char *name);

#define DF11_STORE_SNIFF_MAX 4096u /* header bytes df11_store_sniff reads */

/**
 * df11_store_sniff() - does open regular file @fd of @size bytes look like
 * a native container by its content, whatever its name (Hugging Face hub
 * blobs have none)? Cheap for any file: the 8-byte length prefix must give
 * a plausible header length N (2 <= N <= DF11_ST_MAX_HEADER, 8 + N <=
 * @size), then at most the first DF11_STORE_SNIFF_MAX bytes of the JSON
 * header are read, which must open with the key "__metadata__" whose
 * object opens with the key "df11" (JSON whitespace allowed; df11
 * compress writes both first, docs/FORMAT.md). A yes is a guess that
 * df11_store_ct_open() / df11_ct_open() then checks in full. Thread-safe.
 * Return: 1 yes, 0 no (also when a read fails).
 */
int df11_store_sniff(int fd, uint64_t size);

/**
 * df11_store_sniff_at() - df11_store_sniff() of the file @name of @dirfd,
 * opened through df11_store_openat() (@name "" reopens an O_PATH @dirfd).
 * Return: 1 yes, 0 no (not a regular file, cannot open, not a container).
 */
int df11_store_sniff_at(int dirfd, const char *name, unsigned flags);

/**
 * struct df11_store_name - one entry of df11_store_list().
 * @name: the file name (owned by the list)
 * @type: its DT_* type as readdir reports it (DT_UNKNOWN possible)
 */
struct df11_store_name {
	char *name;
	unsigned char type;
};

/**
 * df11_store_list() - the entries of directory @dirfd but "." and "..",
 * sorted by name (strcmp).
 * Return: 0 and *@out (free with df11_store_list_free), *@n; -ENOMEM,
 * -errno.
 */
int df11_store_list(int dirfd, struct df11_store_name **out, size_t *n);

/** df11_store_list_free() - free a list; NULL is a no-op. */
void df11_store_list_free(struct df11_store_name *v, size_t n);

/* ----------------------------------------------------------------- sets */

struct df11_store_set;

/**
 * df11_store_set_check() - a df11_check_fn (cache/cache.h) over a set:
 * every file still the one that was opened (df11_store_unchanged) and not
 * released. Return: 0, or -ESTALE.
 */
int df11_store_set_check(void *set);

/** df11_store_set_get() - take another reference on @set; returns it. */
struct df11_store_set *df11_store_set_get(struct df11_store_set *set);

/**
 * df11_store_set_put() - drop a reference (the void * makes it a
 * check_free of df11_vfile_new); the last one closes the descriptors.
 * NULL is a no-op.
 */
void df11_store_set_put(void *set);

/**
 * df11_store_set_index() - bytes of the resident index counted for
 * @set's container (df11_store_ct_open with a gate), else 0.
 */
size_t df11_store_set_index(const struct df11_store_set *set);

/**
 * df11_store_set_sweep() - release (df11_store_release) the descriptor of
 * every file of @set that was deleted (st_nlink 0). Reads of a released
 * file fail with -ESTALE from then on.
 * Return: the number of files released by this call.
 */
size_t df11_store_set_sweep(struct df11_store_set *set);

/* ----------------------------------------------------------------- gate */

/*
 * Heap bytes a container open is admitted for, per byte of its outer
 * header (8-byte length + JSON): jansson's trees of the outer header,
 * the index and the original header. Measured on the costliest legal
 * header (tiny metadata entries): about 10; the rest is margin.
 */
#define DF11_STORE_PARSE_FACTOR 16u
#define DF11_STORE_GATE_SMALL	(16u << 20) /* the small lane's largest cost */
#define DF11_STORE_GATE_RESERVE (64u << 20) /* the small lane's bytes */

struct df11_store_gate;

/**
 * df11_store_gate_new() - a gate for container opens (store/gate.c):
 * opens whose cost (df11_store_gate_cost) is at most
 * DF11_STORE_GATE_SMALL run while the small ones in flight stay within
 * DF11_STORE_GATE_RESERVE bytes; larger ones wait in arrival order until
 * those in flight fit in @budget bytes with them (one larger than
 * @budget runs alone). It also counts the index each open container
 * keeps (df11_ct_mem), until the container is freed.
 * Return: 0 and *@out (df11_store_gate_free); -ENOMEM.
 */
int df11_store_gate_new(struct df11_store_gate **out, size_t budget);

/**
 * df11_store_gate_free() - free @g; NULL is a no-op. Every set opened
 * through @g must have been freed before.
 */
void df11_store_gate_free(struct df11_store_gate *g);

/**
 * df11_store_gate_cost() - bytes an open of a container whose outer
 * header has @hdr_len bytes is admitted for: DF11_STORE_PARSE_FACTOR x
 * @hdr_len (SIZE_MAX on overflow).
 */
size_t df11_store_gate_cost(uint64_t hdr_len);

/**
 * struct df11_store_gate_stats - a snapshot of a gate.
 * @budget:     the large lane's bytes
 * @used, @peak: bytes admitted now and at most (both lanes)
 * @parses:     opens admitted
 * @waits, @wait_ns: of those, how many waited, and for how long in all
 * @index, @index_peak: bytes of resident indexes now and at most
 * @containers: open containers holding them
 */
struct df11_store_gate_stats {
	uint64_t budget, used, peak;
	uint64_t parses, waits, wait_ns;
	uint64_t index, index_peak, containers;
};

/** df11_store_gate_stats() - fill @st from @g. Thread-safe. */
void df11_store_gate_stats(struct df11_store_gate *g,
			   struct df11_store_gate_stats *st);

/* ------------------------------------------------------------ containers */

/**
 * df11_store_ct_open() - open native container @name of @dirfd as a
 * source (df11_ct_open + df11_ct_source), through df11_store_openat.
 * @name, @flags: as for df11_store_openat ("" reopens an O_PATH @dirfd)
 * @gate:  admits the open by its header length before the header is
 *         read (may wait: see df11_store_gate_new) and counts the index
 *         it keeps while @set lives; NULL: neither (the df11 tool)
 * @src:   the source (df11_source_free), which reads through @set
 * @set:   the opened file (one reference): the source's staleness check;
 *         it must outlive @src (df11_vfile_new(..., src,
 *         df11_store_set_check, df11_store_set_put, set, ...) does that)
 * @err:   a one-line reason on failure (may be NULL)
 * Return: 0; -ENOMSG for a plain safetensors file (-ENOTSUP is a
 * container of another major version: an error); the errors of
 * df11_store_openat and df11_ct_open.
 */
int df11_store_ct_open(int dirfd, const char *name, unsigned flags,
		       struct df11_store_gate *gate, struct df11_source **src,
		       struct df11_store_set **set, char *err, size_t errlen);

/* ---------------------------------------------------------------- models */

/**
 * struct df11_store_model_opts - knobs of df11_store_model_open (zero =
 * default).
 * @headers, @headers_len: the text written by `df11 headers`, or NULL
 *              (borrowed during the call)
 * @shard_size: largest shard without headers (0: 5 GB, diffusers 10 GB)
 * @flags:      DF11_STORE_FOLLOW, DF11_STORE_STRICT, DF11_STORE_PARTIAL
 *              (df11_off_opts.partial)
 * @warn:       called once for every *.safetensors entry that is not
 *              opened (a symlink, FIFO, socket, device node, directory)
 *              with a one-line message naming it, unless STRICT (may be
 *              NULL)
 * @warn_ctx:   @warn's first argument
 * @need:       set to what would get past a refusal of the reader
 *              (official/official.h), for the front end to word as its own
 *              option; may be NULL
 */
struct df11_store_model_opts {
	const char *headers;
	size_t headers_len;
	uint64_t shard_size;
	unsigned flags;
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	enum df11_off_need *need;
};

struct df11_store_model;

/**
 * df11_store_model_open() - open the official DFloat11 directory @dirfd.
 * @name: the directory's name for messages (borrowed during the call)
 * Reads config.json (not followed, at most DF11_STORE_CONFIG_MAX bytes)
 * and, when present, the user's original-config.json (same cap) and
 * original-headers.json (at most DF11_OFF_HEADERS_MAX bytes; @o->headers
 * wins over it), each through df11_store_openat (a regular file, followed
 * only with DF11_STORE_FOLLOW; anything else fails the open naming it),
 * lists the directory and opens every *.safetensors regular file with
 * df11_store_openat. Other *.safetensors entries are skipped (reported
 * through @o->warn; the model is read from the rest) or, with
 * DF11_STORE_STRICT, fail the open (-ELOOP, -ENXIO, -EISDIR, reason in
 * @err). A Git LFS pointer in place of a *.safetensors file fails the
 * open with -EBADMSG and @err "'NAME/FILE' " DF11_ST_LFS_MSG, the words
 * the df11 tool uses for any file. Then df11_off_open() plans the
 * virtual files.
 * Return: 0 and *@out; -ENODATA when @dirfd is not an official directory
 * (no config.json regular file with dfloat11_config); the errors of
 * df11_off_open (reason in @err) and of the opens.
 */
int df11_store_model_open(int dirfd, const char *name,
			  const struct df11_store_model_opts *o,
			  struct df11_store_model **out, char *err,
			  size_t errlen);

/** df11_store_model_close() - free @m; NULL is a no-op. */
void df11_store_model_close(struct df11_store_model *m);

/**
 * df11_store_model_off() - the model (borrowed from @m; its sources may
 * outlive @m: they keep the files open).
 */
struct df11_off *df11_store_model_off(const struct df11_store_model *m);

/**
 * df11_store_model_steal() - take @m's reference on the model (free it
 * with df11_off_free); @m no longer has one.
 */
struct df11_off *df11_store_model_steal(struct df11_store_model *m);

/**
 * df11_store_model_set() - the files the model reads (borrowed: take a
 * reference with df11_store_set_get to keep it).
 */
struct df11_store_set *df11_store_model_set(const struct df11_store_model *m);

/** df11_store_model_config_stat() - config.json's stat at open. */
const struct stat *
df11_store_model_config_stat(const struct df11_store_model *m);

/**
 * df11_store_model_hides() - is entry @name of the directory replaced by
 * the virtual listing (df11_off_hides) rather than shown as it is? A
 * skipped *.safetensors entry is shown as it is.
 */
int df11_store_model_hides(const struct df11_store_model *m, const char *name);

#endif
