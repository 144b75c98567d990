/* SPDX-License-Identifier: MIT */
/*
 * fs/inode_i.h - the inode table of the df11fs daemon
 *
 * One struct df11fs_inode per source file the kernel knows about, keyed by
 * the source's (st_dev, st_ino), so that hard links and repeated lookups
 * give the same node id. The node id handed to the kernel is the inode's
 * address (FUSE_ROOT_ID for the root). Each inode holds an O_PATH
 * descriptor of its source file, opened relative to its parent without
 * following symlinks; files are reopened for reading through
 * /proc/self/fd, never by path, so a symlink is never followed by us.
 *
 * Lifetime: lookups (lookup, readdirplus) add to @nlookup; FORGET takes
 * away; at zero the inode leaves the table and is freed. The root is
 * never freed before the table.
 *
 * A regular file whose name ends in ".safetensors" is probed lazily (on
 * the first lookup or getattr, never at mount): df11_vfile_open decides
 * whether it is a container (shown with the original size, decoded on
 * read), a plain file (-ENOTSUP: shown as it is), or a broken container
 * (shown with its stored size; open fails with EIO, the reason is logged
 * once). The probe is repeated when the source's identity, size, mtime
 * or ctime change.
 */
#ifndef DF11_FS_INODE_I_H
#define DF11_FS_INODE_I_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct df11_cache;
struct df11_vfile;

/** enum df11fs_kind - what a file is shown as. */
enum df11fs_kind {
	DF11FS_K_OTHER,	    /* not a .safetensors regular file: as it is */
	DF11FS_K_UNPROBED,  /* .safetensors, not probed yet */
	DF11FS_K_PLAIN,	    /* .safetensors that is not a container */
	DF11FS_K_CONTAINER, /* a container: the virtual file */
	DF11FS_K_BAD,	    /* a container that failed to open */
};

/**
 * struct df11fs_inode - one source file.
 * @next:    hash chain (table lock)
 * @dev, @ino: the source's identity (immutable)
 * @fd:      O_PATH descriptor of the source (owned, immutable)
 * @type:    S_IFMT bits of the source (immutable)
 * @probe:   a .safetensors regular file, probed lazily (immutable)
 * @nlookup: kernel references (table lock)
 * @path:    path relative to SOURCE for log lines; "." for the root
 * @lock:    guards every field below
 * @kind:    enum df11fs_kind
 * @vf:      the virtual file (one reference) when @kind is CONTAINER
 * @why:     the reason when @kind is BAD (owned)
 * @vst:     source stat when @kind was decided
 * @ost:     source stat at the last open (@ost_valid)
 */
struct df11fs_inode {
	struct df11fs_inode *next;
	dev_t dev;
	ino_t ino;
	int fd;
	mode_t type;
	int probe;
	uint64_t nlookup;
	char *path;

	pthread_mutex_t lock;
	int kind;
	struct df11_vfile *vf;
	char *why;
	struct stat vst;
	struct stat ost;
	int ost_valid;
};

/**
 * struct df11fs_itable - all inodes.
 * @lock:     guards the hash, @count and every @nlookup
 * @buckets:  hash of (dev, ino), chained
 * @root:     the root directory (SOURCE)
 * @cache:    where virtual files are opened (borrowed)
 */
struct df11fs_itable {
	pthread_mutex_t lock;
	struct df11fs_inode **buckets;
	size_t n_buckets, count;
	struct df11fs_inode *root;
	struct df11_cache *cache;
};

/**
 * df11fs_itable_init() - make the table with its root.
 * @root_fd: O_PATH descriptor of SOURCE (the table takes ownership)
 * Return: 0 or -errno (the descriptor is closed on failure too).
 */
int df11fs_itable_init(struct df11fs_itable *t, int root_fd);

/**
 * df11fs_itable_destroy() - free every inode and drop every virtual
 * file. Call once the session has stopped.
 */
void df11fs_itable_destroy(struct df11fs_itable *t);

/**
 * df11fs_inode_get() - the inode of node id @id (borrowed: valid until
 * the kernel forgets it).
 */
struct df11fs_inode *df11fs_inode_get(struct df11fs_itable *t, uint64_t id);

/** df11fs_inode_id() - the node id to give the kernel for @in. */
uint64_t df11fs_inode_id(struct df11fs_itable *t, struct df11fs_inode *in);

/**
 * df11fs_inode_lookup() - find or add the inode of @name in directory
 * @parent and count one lookup.
 * @out: the inode; @st: its source stat
 * Return: 0, or -errno (-ENOENT, -ENOTDIR, -ENOMEM, ...).
 */
int df11fs_inode_lookup(struct df11fs_itable *t, struct df11fs_inode *parent,
			const char *name, struct df11fs_inode **out,
			struct stat *st);

/**
 * df11fs_inode_forget() - drop @n lookups; frees the inode at zero.
 */
void df11fs_inode_forget(struct df11fs_itable *t, struct df11fs_inode *in,
			 uint64_t n);

/**
 * df11fs_inode_attr() - the attributes to show for @in: the source's,
 * without write permission bits, with the original size for a container.
 * Probes a .safetensors file first if needed (see above).
 * @src: the source stat if the caller has it fresh, or NULL to fstat
 * Return: 0 or -errno.
 */
int df11fs_inode_attr(struct df11fs_itable *t, struct df11fs_inode *in,
		      const struct stat *src, struct stat *st);

/**
 * df11fs_inode_open() - what an open of @in gets, under the inode lock.
 * @vf:      a new reference to the virtual file, or NULL for a file read
 *           as it is
 * @changed: 1 if the source changed since the previous open (the kernel
 *           must drop its cached pages), else 0
 * Return: 0; -EIO for a broken container; -ESTALE when the source was
 * removed (the kernel then looks the name up again); -errno.
 */
int df11fs_inode_open(struct df11fs_itable *t, struct df11fs_inode *in,
		      struct df11_vfile **vf, int *changed);

/**
 * df11fs_inode_vfile() - a new reference to @in's virtual file, or NULL
 * when it is not a (working) container. Probes like df11fs_inode_attr.
 */
struct df11_vfile *df11fs_inode_vfile(struct df11fs_itable *t,
				      struct df11fs_inode *in);

/**
 * df11fs_inode_why() - copy into @buf why @in is a broken container.
 * Return: the length, or -ENODATA when it is not one.
 */
int df11fs_inode_why(struct df11fs_inode *in, char *buf, size_t len);

/**
 * df11fs_inode_reopen() - a new descriptor of the source opened with
 * @flags (O_RDONLY, O_RDONLY | O_DIRECTORY, ...), through /proc/self/fd.
 * Return: the descriptor, or -errno.
 */
int df11fs_inode_reopen(const struct df11fs_inode *in, int flags);

#endif
