/* SPDX-License-Identifier: MIT */
/*
 * fs/inode_i.h - the inode table of the df11fs daemon
 *
 * One struct df11fs_inode per source file the kernel knows about, keyed by
 * the source's (st_dev, st_ino), so that hard links and repeated lookups
 * give the same node id. The node id handed to the kernel is the inode's
 * address (FUSE_ROOT_ID for the root). Each inode holds an O_PATH
 * descriptor of its source file, opened relative to its parent without
 * following symlinks; files are reopened for reading by
 * df11_store_openat(fd, "") (store/store.h), never by path, so a symlink
 * is never followed by us and a FIFO, socket or device is never opened:
 * those are shown as empty regular files of mode 0 whose open fails with
 * ENXIO (one log line).
 *
 * Deleted sources: df11fs_itable_sweep(), about once a second, releases
 * (df11_store_release) the descriptors of inodes whose source has
 * st_nlink 0, and those of their container or official files, so that
 * the disk space of a removed model is freed while mounted. A released
 * inode leaves the hash (its inode number may be reused) and answers
 * ESTALE.
 *
 * Lifetime: lookups (lookup, readdirplus) add to @nlookup; FORGET takes
 * away; at zero the inode leaves the table and is freed. The root is
 * never freed before the table.
 *
 * Every regular file is probed lazily (when its attributes are first
 * needed: a lookup or readdirplus reply carries the size; or an open or
 * an attribute read; never at mount), whatever its name: Hugging
 * Face hub blobs are named by their hash. A file whose name does not end
 * in ".safetensors" and whose content df11_store_sniff() does not take
 * for a container (the outer header must open with "__metadata__"
 * holding "df11"; at most 4 KiB are read) is plain at once. Any other is
 * opened by df11_store_ct_open(), which decides whether it is a container
 * (shown with the original size, decoded on read), a plain file (-ENOMSG,
 * e.g. an uncompressed .safetensors: shown as it is), or a broken
 * container (shown with its stored size; open fails with EIO, the reason
 * is logged once and is user.df11.error). A file that cannot be opened
 * for the probe (EACCES, ELOOP, ...) is shown as it is, and its open
 * reports the error. The probe is repeated when the source's identity,
 * size, mtime or ctime change.
 */
#ifndef DF11_FS_INODE_I_H
#define DF11_FS_INODE_I_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct df11_cache;
struct df11_vfile;
struct df11_store_set;
struct df11_store_gate;

/** enum df11fs_kind - what a file is shown as. */
enum df11fs_kind {
	DF11FS_K_OTHER,	    /* not a regular file (directory, link, ...) */
	DF11FS_K_UNPROBED,  /* a regular file, not probed yet */
	DF11FS_K_PLAIN,	    /* a regular file that is not a container */
	DF11FS_K_CONTAINER, /* a container: the virtual file */
	DF11FS_K_BAD,	    /* a container that failed to open */
};

/**
 * struct df11fs_inode - one source file.
 * @next:    hash chain (table lock)
 * @dev, @ino: the source's identity (immutable)
 * @fd:      O_PATH descriptor of the source (owned, immutable)
 * @type:    S_IFMT bits of the source (immutable)
 * @probe:   a regular file, probed lazily (immutable)
 * @nlookup: kernel references (table lock)
 * @path:    path relative to SOURCE for log lines; "." for the root
 * @lock:    guards every field below
 * @kind:    enum df11fs_kind
 * @vf:      the virtual file (one reference) when @kind is CONTAINER
 * @set:     the container's opened file (one reference), with @vf
 * @why:     the reason when @kind is BAD (owned)
 * @vst:     source stat when @kind was decided
 * @ost:     source stat at the last open (@ost_valid)
 * @off, @off_state: a directory's official-DFloat11 view (fs/official.c;
 *           @lock): 0 not probed, 1 plain, 2 official (@off), 3 broken
 * @vdir, @vidx: a virtual file of an official directory (immutable;
 *           @fd is -1, @vf its virtual file)
 * @gone:    the source was deleted and @fd released (set once)
 * @hashed:  1 in the (dev, ino) hash, 2 in the table's @gone list once
 *           released, 0 neither (table lock)
 * @lru_prev, @lru_next, @lru_t, @lru_bytes: on the table's list of
 *           containers with an index in memory (fs/index.c; lru_lock):
 *           neighbours, the table (NULL: not on it), the index's bytes
 * @opens:   open files holding @vf (never evicted while > 0)
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
	struct df11_store_set *set;
	char *why;
	struct stat vst;
	struct stat ost;
	int ost_valid;

	struct df11fs_offdir *off;
	int off_state;
	struct df11fs_offdir *vdir;
	size_t vidx;
	atomic_int gone;
	int hashed;

	struct df11fs_inode *lru_prev, *lru_next;
	struct df11fs_itable *lru_t;
	size_t lru_bytes;
	atomic_int opens;
};

/**
 * struct df11fs_itable - all inodes.
 * @lock:     guards the hash, @count and every @nlookup
 * @buckets:  hash of (dev, ino), chained
 * @root:     the root directory (SOURCE)
 * @gone:     released inodes the kernel still knows, chained by @next
 * @cache:    where virtual files are opened (borrowed)
 * @gate:     admits container opens, counts their indexes (borrowed;
 *            store/store.h)
 * @off_headers, @off_headers_len: -o headers= text for an official
 *            SOURCE directory (borrowed), or NULL
 * @off_shard_size: -o max_shard_size= (0: 5 GB)
 * @lru_lock: guards the list below (fs/index.c)
 * @lru_head, @lru_tail: containers with an index in memory, least
 *            recently probed or opened first
 * @lru_bytes, @index_cap: their indexes' bytes, and the most kept
 *            before idle ones are let go of
 * @evictions: containers let go of
 */
struct df11fs_itable {
	pthread_mutex_t lock;
	struct df11fs_inode **buckets;
	size_t n_buckets, count;
	struct df11fs_inode *root;
	struct df11fs_inode *gone;
	struct df11_cache *cache;
	struct df11_store_gate *gate;
	const char *off_headers;
	size_t off_headers_len;
	uint64_t off_shard_size;
	pthread_mutex_t lru_lock;
	struct df11fs_inode *lru_head, *lru_tail;
	size_t lru_bytes, index_cap;
	uint64_t evictions;
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
 * df11fs_itable_sweep() - release the descriptors of sources deleted
 * since (see above; fs/sweep.c). Called from the main thread about once a
 * second.
 */
void df11fs_itable_sweep(struct df11fs_itable *t);

/**
 * df11fs_itable_pin_all() - every inode of @t, each pinned with one lookup
 * count taken under the table lock, so the caller may read them without
 * it; *@n receives the count. NULL: no memory (nothing pinned).
 */
struct df11fs_inode **df11fs_itable_pin_all(struct df11fs_itable *t,
					    size_t *n);

/** df11fs_itable_unpin_all() - drop the pins of pin_all, free @v. */
void df11fs_itable_unpin_all(struct df11fs_itable *t,
			     struct df11fs_inode **v, size_t n);

/**
 * df11fs_inode_retire_locked() - move released inode @in from the hash to
 * the gone list (table lock held; fs/sweep.c).
 */
void df11fs_inode_retire_locked(struct df11fs_itable *t,
				struct df11fs_inode *in);

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
 * Probes a regular file first if needed (see above).
 * @src: the source stat if the caller has it fresh, or NULL to fstat
 * Return: 0 or -errno.
 */
int df11fs_inode_attr(struct df11fs_itable *t, struct df11fs_inode *in,
		      const struct stat *src, struct stat *st);

/**
 * df11fs_inode_open() - what an open of @in gets, under the inode lock.
 * @vf:      a new reference to the virtual file, or NULL for a file read
 *           as it is; when set, the open counts until
 *           df11fs_inode_release()
 * @changed: 1 if the source changed since the previous open (the kernel
 *           must drop its cached pages), else 0
 * Return: 0; -EIO for a broken container; -ESTALE when the source was
 * removed (the kernel then looks the name up again); -errno.
 */
int df11fs_inode_open(struct df11fs_itable *t, struct df11fs_inode *in,
		      struct df11_vfile **vf, int *changed);

/**
 * df11fs_inode_release() - end an open of @in that df11fs_inode_open()
 * gave a virtual file: the container may be let go of (fs/index.c) once
 * no open is left.
 */
void df11fs_inode_release(struct df11fs_inode *in);

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
 * df11fs_inode_reopen() - a new descriptor of the source opened for
 * reading: a directory with @flags (O_RDONLY | O_DIRECTORY), a regular
 * file through df11_store_openat.
 * Return: the descriptor; -ENXIO for a FIFO, socket or device node (never
 * opened), -ELOOP for a symlink, -ESTALE once released, or -errno.
 */
int df11fs_inode_reopen(const struct df11fs_inode *in, int flags);

/* ---------------------------------------------------- fs/index.c */

/**
 * df11fs_index_add_locked() - put container @in (@in->lock held, @in->vf
 * and @in->set just set) last on @t's list, with its index's bytes.
 */
void df11fs_index_add_locked(struct df11fs_itable *t, struct df11fs_inode *in);

/** df11fs_index_touch_locked() - move @in last (@in->lock held). */
void df11fs_index_touch_locked(struct df11fs_inode *in);

/**
 * df11fs_inode_drop_locked() - take @in off the list and drop its virtual
 * file and set (@in->lock held, or @in no longer shared).
 */
void df11fs_inode_drop_locked(struct df11fs_inode *in);

/**
 * df11fs_index_trim() - while the indexes on @t's list pass
 * @t->index_cap, let go of the virtual files of the least recently used
 * containers no open file holds (not @self, just probed; busy inodes are
 * skipped): they are probed again when next needed. Call with no lock
 * held.
 */
void df11fs_index_trim(struct df11fs_itable *t, struct df11fs_inode *self);

/** df11fs_index_stats() - the list's bytes, its cap, the evictions. */
void df11fs_index_stats(struct df11fs_itable *t, uint64_t *bytes, uint64_t *cap,
			uint64_t *evictions);

/* ------------------------------------------------- fs/official.c */

/** struct df11fs_listing - a directory listing built in memory. */
struct df11fs_listing {
	char **names;
	unsigned char *types; /* DT_* */
	size_t n, cap;
};

/**
 * df11fs_inode_new_virtual() - an inode for virtual file @name of
 * directory @parent (not in the table; fd -1). NULL when out of memory.
 */
struct df11fs_inode *df11fs_inode_new_virtual(struct df11fs_inode *parent,
					      const char *name);

/**
 * df11fs_off_lookup() - look @name up in @parent if it is an official
 * DFloat11 directory (probed on first use).
 * Return: 0 and *@out, *@st (a virtual file, one more lookup); 1 when
 * the name is to be looked up in the source as usual; -ENOENT for a
 * replaced name; -EIO in a broken official directory; -ENOMEM.
 */
int df11fs_off_lookup(struct df11fs_itable *t, struct df11fs_inode *parent,
		      const char *name, struct df11fs_inode **out,
		      struct stat *st);

/** df11fs_off_attr() - the attributes of virtual-file inode @in. */
void df11fs_off_attr(const struct df11fs_inode *in, struct stat *st);

/**
 * df11fs_off_acl() - ACL @name of virtual-file inode @in: config.json's
 * access ACL as it was when its directory was opened (*@val borrowed,
 * valid while @in is). Return: the length, -ENODATA (none), -EIO.
 */
ssize_t df11fs_off_acl(const struct df11fs_inode *in, const char *name,
		       const void **val);

/** df11fs_off_unlink_locked() - forget @in's slot (table lock held). */
void df11fs_off_unlink_locked(struct df11fs_inode *in);

/** df11fs_off_virtual_free() - drop what virtual inode @in holds. */
void df11fs_off_virtual_free(struct df11fs_inode *in);

/**
 * df11fs_off_dir_free_all() - at shutdown: free the virtual-file inodes
 * the kernel never forgot (they are not in the table).
 */
void df11fs_off_dir_free_all(struct df11fs_inode *in);

/** df11fs_inode_free() - free an inode that is in no table. */
void df11fs_inode_free(struct df11fs_inode *in);

/** df11fs_off_dir_free() - drop a directory's official view. */
void df11fs_off_dir_free(struct df11fs_inode *in);

/**
 * df11fs_off_listing() - the listing of official directory @dir into @l.
 * Return: 0; 1 when @dir is not official (list the source); -EIO broken;
 * -errno.
 */
int df11fs_off_listing(struct df11fs_itable *t, struct df11fs_inode *dir,
		       struct df11fs_listing *l);

/**
 * df11fs_off_sweep() - release the files of @dir's official model that
 * were deleted from the source.
 */
void df11fs_off_sweep(struct df11fs_inode *dir);

/**
 * df11fs_dtype() - the DT_* type to list for a source entry of type
 * @type: DT_REG for a FIFO, socket or device node (shown as empty regular
 * files), else @type.
 */
unsigned char df11fs_dtype(unsigned char type);

/** df11fs_listing_add() - append an entry. Return: 0, -ENOMEM. */
int df11fs_listing_add(struct df11fs_listing *l, const char *name,
		       unsigned char type);

/** df11fs_listing_free() - free the entries; @l is left empty. */
void df11fs_listing_free(struct df11fs_listing *l);

#endif
