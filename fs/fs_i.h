/* SPDX-License-Identifier: MIT */
/*
 * fs/fs_i.h - internals shared by the df11fs daemon's files
 *
 * fs/ is the only layer that talks to the kernel. It is split into:
 *
 *   main.c   checks, mount, session loop, signals, daemon mode, the
 *            kernel read-ahead of the mount
 *   opts.c   the command line, fstab and mount(8) conventions
 *   log.c    one logging function for stderr, syslog and libfuse
 *   inode.c  the inode table: source (st_dev, st_ino) -> node id, lazily
 *            opened virtual files, change detection (inode_i.h)
 *   ops.c    lookup, getattr, readlink, directories, statfs, and EROFS for
 *            every operation that would write
 *   file.c   open, read, release (virtual and plain files)
 *   xattr.c  user.df11.* attributes (cache statistics, file ratios)
 *
 * Every operation replies exactly once, on every path.
 */
#ifndef DF11_FS_I_H
#define DF11_FS_I_H

#define FUSE_USE_VERSION 35

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <syslog.h>

#include "cache/cache.h"
#include "inode_i.h"

#ifndef DF11FS_VERSION
#define DF11FS_VERSION "0.1.0"
#endif

/* Largest read request we ask the kernel for (max_read, max_pages). */
#define DF11FS_MAX_READ (1u << 20)

struct df11fs_handle;

/**
 * struct df11fs - the mounted filesystem (the session's userdata).
 * @cache:        shared chunk cache (owned)
 * @itab:         inode table (owned)
 * @attr_timeout: seconds the kernel may cache attributes and entries
 * @debug:        -d given: log every decision
 * @mountpoint:   absolute path (borrowed from the configuration)
 * @kernel_ra_kb: kernel read-ahead to set at init, KiB (0: leave it)
 * @lock:         guards @handles
 * @handles:      open file handles, so that shutdown can free those the
 *                kernel never released (lazy unmount)
 */
struct df11fs {
	struct df11_cache *cache;
	struct df11fs_itable itab;
	double attr_timeout;
	int debug;
	const char *mountpoint;
	unsigned kernel_ra_kb;
	pthread_mutex_t lock;
	struct df11fs_handle *handles;
};

/**
 * struct df11fs_conf - the command line, parsed (opts.c).
 * @source, @mountpoint: absolute paths once checked (owned)
 * @cache:         cache knobs (cache_size, workers, readahead)
 * @kernel_ra:     bytes of kernel read-ahead to set on the mount's bdi
 *                 (0: leave the kernel's default)
 * @threads:       FUSE worker threads (a fixed pool, fs/loop.c)
 *                 (0: libfuse's default)
 * @attr_timeout:  seconds
 * @foreground, @debug, @single: -f, -d, -s
 * @fake:          called as mount.fuse.df11fs with -f: mount nothing
 * @headers:       -o headers=FILE (official DFloat11 SOURCE), or NULL
 * @shard_size:    -o max_shard_size= (0: 5 GB)
 */
struct df11fs_conf {
	char *source, *mountpoint;
	struct df11_cache_opts cache;
	uint64_t kernel_ra;
	unsigned threads;
	double attr_timeout;
	int foreground, debug, single, fake;
	char *headers;
	uint64_t shard_size;
};

/** Results of df11fs_opts_parse() other than 0. */
#define DF11FS_OPTS_EXIT  1  /* --help or --version printed: exit 0 */
#define DF11FS_OPTS_USAGE -1 /* usage error reported: exit 2 */

/**
 * df11fs_opts_parse() - parse the command line into @conf, and into @args
 * the arguments for fuse_session_new (libfuse's own options, plus ro,
 * default_permissions, fsname, subtype and max_read). Options of fstab
 * and mount(8) that mean nothing here (rw, defaults, noauto, user,
 * _netdev, nofail, x-*, comment=...) are dropped; "rw" never makes the
 * mount writable.
 * Return: 0, DF11FS_OPTS_EXIT or DF11FS_OPTS_USAGE.
 */
int df11fs_opts_parse(int argc, char **argv, struct df11fs_conf *conf,
		      struct fuse_args *args);

/** df11fs_conf_free() - free what df11fs_opts_parse allocated. */
void df11fs_conf_free(struct df11fs_conf *conf);

/**
 * df11fs_set_readahead() - write @kb to read_ahead_kb of the bdi of the
 * df11fs mount on @mnt (found in /proc/self/mountinfo, so no request is
 * sent to the mount). Failure (not root) is logged at LOG_DEBUG only.
 */
void df11fs_set_readahead(const char *mnt, unsigned kb);

/* ------------------------------------------------------------- log.c */

/**
 * df11fs_log() - one message line: "df11fs: <text>" on stderr, or
 * <text> to syslog (LOG_DAEMON) after df11fs_log_to_syslog(). @prio is a
 * syslog priority; LOG_DEBUG lines are dropped unless debug was enabled.
 * Thread-safe.
 */
void df11fs_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** df11fs_log_debug() - enable (1) or disable LOG_DEBUG lines. */
void df11fs_log_debug(int on);

/** df11fs_log_to_syslog() - send every later line to syslog. */
void df11fs_log_to_syslog(void);

/** df11fs_log_install() - route libfuse's own messages through df11fs_log. */
void df11fs_log_install(void);

/** df11fs_cache_log() - a df11_log_fn for df11_cache_new (ctx unused). */
void df11fs_cache_log(void *ctx, const char *line);

/* ------------------------------------------------------------- ops.c */

/** df11fs_ops_fill() - fill the low-level operation table. */
void df11fs_ops_fill(struct fuse_lowlevel_ops *ops);

/**
 * df11fs_entry_fill() - look @name up in directory @parent and fill @e
 * (one more lookup reference on the inode). Shared by lookup and
 * readdirplus. Return: 0 or -errno.
 */
int df11fs_entry_fill(struct df11fs *fs, struct df11fs_inode *parent,
		      const char *name, struct fuse_entry_param *e);

/** df11fs_from_req() - the filesystem of a request. */
static inline struct df11fs *df11fs_from_req(fuse_req_t req)
{
	return (struct df11fs *)fuse_req_userdata(req);
}

/* ------------------------------------------------------------ file.c */

void df11fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void df11fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void df11fs_op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);

/**
 * df11fs_handles_free_all() - free the handles the kernel never released;
 * call after the session loop ended, before freeing the cache.
 */
void df11fs_handles_free_all(struct df11fs *fs);

/* ----------------------------------------------------------- xattr.c */

void df11fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size);
void df11fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/**
 * df11fs_loop() - serve @se with a fixed pool of @threads workers until
 * the session ends (unmount or signal), calling @tick(@ctx) from the
 * main thread about once a second (NULL: never). Return: 0, or -errno.
 */
int df11fs_loop(struct fuse_session *se, unsigned threads,
		void (*tick)(void *ctx), void *ctx);

#endif
