/* SPDX-License-Identifier: MIT */
/*
 * fs/fs_i.h - internals shared by the df11fs daemon's files
 *
 * fs/ is the only layer that talks to the kernel. It is split into:
 *
 *   main.c   checks, mount, session loop, signals, daemon mode, the
 *            kernel read-ahead of the mount
 *   opts.c   the command line, fstab and mount(8) conventions
 *   log.c    one logging function for stderr, a log file, syslog and
 *            libfuse (-o log=)
 *   loop.c   the fixed pool of FUSE worker threads
 *   stats.c  statistics: the line logged at exit and on SIGUSR1, the
 *            JSON file at the mount root (DF11FS_STATS_NAME)
 *   reqstat.c  timing of read requests, and the request trace (-o trace=)
 *   inode.c  the inode table: source (st_dev, st_ino) -> node id, lazily
 *            opened virtual files, change detection (inode_i.h)
 *   ops.c    lookup, getattr, readlink, directories, statfs, and EROFS for
 *            every operation that would write
 *   file.c   open, read, release (virtual and plain files)
 *   xattr.c  user.df11.* attributes (cache statistics, file ratios)
 *   fill.c   whole decoded files in backing files (-o decoded_cache=),
 *            passthrough.c their registration with the kernel, room.c
 *            the machine's memory or disk left for them
 *
 * Every operation replies exactly once, on every path.
 */
#ifndef DF11_FS_I_H
#define DF11_FS_I_H

#define FUSE_USE_VERSION 35

#include <fuse_lowlevel.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "cache/cache.h"
#include "inode_i.h"

#ifndef DF11FS_VERSION
#define DF11FS_VERSION "0.1.0"
#endif

/* Largest read request we ask the kernel for (max_read, max_pages). */
#define DF11FS_MAX_READ (1u << 20)
/* FUSE requests in the background at most, and the congestion threshold */
#define DF11FS_BACKGROUND 64u
/* -o attr_timeout= and entry_timeout=: seconds, at most one day */
#define DF11FS_MAX_TIMEOUT 86400.0

/* The statistics file at the mount root, not listed by readdir. */
#define DF11FS_STATS_NAME ".df11fs-stats.json"

struct df11fs_handle;
struct df11fs_fill;
struct df11fs_fillent;

/* request size buckets of struct df11fs_reqstat: 4K, 8K, ..., 1M and up */
#define DF11FS_REQ_BUCKETS 9

/**
 * struct df11fs_reqstat - read requests since the mount (reqstat.c).
 * @reads, @bytes:  requests served, bytes replied
 * @service_ns:     from a worker's start to its reply, summed
 * @reply_ns:       of which writing the reply (the copy into the kernel)
 * @in_flight:      requests being served now
 * @in_flight_max:  most at once
 * @in_flight_sum:  @in_flight seen by each request as it started, summed
 * @sizes:          requests per size bucket (DF11FS_REQ_BUCKETS)
 * @trace:          -o trace=FILE, or NULL; written under @trace_lock
 */
struct df11fs_reqstat {
	_Atomic uint64_t reads, bytes, service_ns, reply_ns;
	_Atomic uint64_t in_flight, in_flight_max, in_flight_sum;
	_Atomic uint64_t sizes[DF11FS_REQ_BUCKETS];
	FILE *trace;
	pthread_mutex_t trace_lock;
};

/**
 * struct df11fs_reqtime - one request being timed.
 * @start:     df11fs_now_ns() at its start
 * @reply:     ns spent writing the reply (the caller adds it)
 * @in_flight: requests in flight as it started, itself included
 */
struct df11fs_reqtime {
	uint64_t start, reply, in_flight;
};

/**
 * struct df11fs - the mounted filesystem (the session's userdata).
 * @cache:        shared chunk cache (owned)
 * @itab:         inode table (owned)
 * @attr_timeout: seconds the kernel may cache attributes
 * @entry_timeout: seconds the kernel may cache names (and missing names)
 * @debug:        -d given: log every decision
 * @allow_other:  -o allow_other given (others read the mount)
 * @mountpoint:   absolute path (borrowed from the configuration)
 * @kernel_ra_kb: kernel read-ahead to set at init, KiB (0: leave it)
 * @source:       absolute path of SOURCE (borrowed from the configuration)
 * @max_read:     largest read request, bytes (-o max_read=, at most
 *                DF11FS_MAX_READ)
 * @start_ns:     CLOCK_MONOTONIC when the mount was made (uptime)
 * @stats_ino:    the inode of DF11FS_STATS_NAME: never in the table, never
 *                freed; its node id is its address
 * @lock:         guards @handles
 * @handles:      open file handles, so that shutdown can free those the
 *                kernel never released (lazy unmount)
 * @req:          read request timing (reqstat.c)
 * @fill:         whole decoded files (fill.c), or NULL: -o decoded_cache=0
 * @se:           the session (for passthrough replies)
 */
#define DF11FS_INDEX_MIN (32u << 20) /* the least index cap (fs/index.c) */

struct df11fs {
	struct df11_cache *cache;
	struct df11_store_gate *gate; /* container opens, index bytes */
	struct df11fs_itable itab;
	double attr_timeout, entry_timeout;
	int debug, allow_other;
	const char *mountpoint;
	const char *source;
	unsigned kernel_ra_kb;
	unsigned max_read;
	uint64_t start_ns;
	struct df11fs_inode stats_ino;
	pthread_mutex_t lock;
	struct df11fs_handle *handles;
	struct df11fs_reqstat req;
	struct df11fs_fill *fill;
	struct fuse_session *se;
};

/**
 * struct df11fs_conf - the command line, parsed (opts.c).
 * @source, @mountpoint: absolute paths once checked (owned)
 * @cache:         cache knobs (cache_size, workers, readahead)
 * @kernel_ra:     bytes of kernel read-ahead to set on the mount's bdi
 *                 (0: leave the kernel's default)
 * @threads:       FUSE worker threads (a fixed pool, fs/loop.c)
 *                 (0: libfuse's default)
 * @attr_timeout, @entry_timeout: seconds, 0 .. DF11FS_MAX_TIMEOUT
 * @foreground, @debug, @single: -f, -d, -s
 * @allow_other:   -o allow_other (left for libfuse too)
 * @fake:          called as mount.fuse.df11fs with -f: mount nothing
 * @headers:       -o headers=FILE (official DFloat11 SOURCE), or NULL
 * @shard_size:    -o max_shard_size= (0: 5 GB)
 * @log:           -o log=FILE|stderr|syslog, or NULL (fs/log.c)
 * @fsname:        -o fsname= (the first field of /proc/mounts), or NULL:
 *                 SOURCE
 * @max_read:      -o max_read= in bytes, 4096 .. DF11FS_MAX_READ
 *                 (default DF11FS_MAX_READ)
 * @trace:         -o trace=FILE (reqstat.c), or NULL
 * @decoded_cache: -o decoded_cache= in bytes: whole decoded files kept in
 *                 backing files (fill.c); 0: none
 * @decoded_dir:   -o decoded_dir=DIR for them, or NULL: memory (memfd)
 * @decoded_reserve: -o decoded_reserve= in bytes, when
 *                 @decoded_reserve_set: memory (or the disk of
 *                 @decoded_dir) that they leave free (fs/room.c)
 * @no_passthrough: -o passthrough=0: never register them with the kernel
 */
struct df11fs_conf {
	char *source, *mountpoint;
	struct df11_cache_opts cache;
	uint64_t kernel_ra;
	unsigned threads;
	double attr_timeout, entry_timeout;
	int foreground, debug, single, fake, allow_other;
	char *headers;
	uint64_t shard_size;
	char *log, *fsname, *trace;
	unsigned max_read;
	uint64_t decoded_cache;
	char *decoded_dir;
	uint64_t decoded_reserve;
	int decoded_reserve_set, no_passthrough;
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
 * df11fs_log() - one message line: "df11fs: <text>" on stderr, with a
 * timestamp to the -o log= file or stderr, or <text> to syslog
 * (LOG_DAEMON). @prio is a syslog priority; LOG_DEBUG lines are dropped
 * unless debug was enabled. Thread-safe.
 */
void df11fs_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** df11fs_log_debug() - enable (1) or disable LOG_DEBUG lines. */
void df11fs_log_debug(int on);

/** df11fs_log_debugging() - 1 when LOG_DEBUG lines are written. */
int df11fs_log_debugging(void);

/** df11fs_log_to_syslog() - send every later line to syslog. */
void df11fs_log_to_syslog(void);

/**
 * df11fs_log_setup() - choose where lines go (fs/log.c has the table):
 * @spec is -o log= ("stderr", "syslog", a file name) or NULL, @foreground
 * -f. Call before detaching (a relative FILE is made absolute, stderr is
 * kept) and before any thread starts. Return: 0, or -errno (logged).
 */
int df11fs_log_setup(const char *spec, int foreground);

/** df11fs_log_detached() - after fuse_daemonize(): syslog if chosen. */
void df11fs_log_detached(void);

/**
 * df11fs_log_reopen() - open the log file again (SIGHUP; no-op without
 * one). Thread-safe. Return: 0, or -errno (logged; the old file stays).
 */
int df11fs_log_reopen(void);

/** df11fs_log_close() - back to plain stderr; close what setup opened. */
void df11fs_log_close(void);

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

/* the POSIX ACLs, the only attributes of SOURCE passed through */
#define DF11FS_ACL_ACCESS  "system.posix_acl_access"
#define DF11FS_ACL_DEFAULT "system.posix_acl_default"
#define DF11FS_XATTR_MAX   65536 /* the kernel's largest value */

/**
 * df11fs_acl_read() - getxattr(2) of ACL @name of the file behind O_PATH
 * descriptor @fd (through /proc/self/fd: an O_PATH descriptor has no
 * fgetxattr), into @buf of @size bytes (0: only the length).
 * Return: the length; -ENODATA when there is none (or the filesystem has
 * no ACLs); -ERANGE, or another -errno.
 */
ssize_t df11fs_acl_read(int fd, const char *name, void *buf, size_t size);

void df11fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size);
void df11fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/**
 * df11fs_signals_block() - block, in the calling thread, the signals that
 * only the main thread takes (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1),
 * so that the threads it starts next never run their handlers; the mask
 * before goes to *@old (restore it with pthread_sigmask(SIG_SETMASK)).
 */
void df11fs_signals_block(sigset_t *old);

/**
 * df11fs_loop() - serve @se with a fixed pool of @threads workers until
 * the session ends (unmount or signal), calling @tick(@ctx) from the
 * main thread at least every 100 ms and after every signal it takes
 * (NULL: never). Return: 0, or -errno.
 */
int df11fs_loop(struct fuse_session *se, unsigned threads,
		void (*tick)(void *ctx), void *ctx);

/**
 * df11fs_loop_init() - receive and process the session's first request
 * (INIT) in the calling thread, before df11fs_loop(), negotiating
 * passthrough when @want_pt (df11fs_pt_init). Return: 1 with
 * passthrough, 0 without, or -errno (the session ended first).
 */
int df11fs_loop_init(struct fuse_session *se, int want_pt);

/* ----------------------------------------------------- passthrough.c */

/**
 * df11fs_pt_set_unique() - note the unique id of the request in @buf for
 * df11fs_pt_reply_open() in this thread; the worker loop calls it before
 * it dispatches each request.
 */
void df11fs_pt_set_unique(const struct fuse_buf *buf);

/**
 * df11fs_pt_init() - process INIT request @buf; when @want_pt and the
 * kernel offers FUSE_PASSTHROUGH, accept it in libfuse's reply. Call
 * before any other thread reads the session. Return: 1 when passthrough
 * was accepted, else 0 (INIT was answered either way).
 */
int df11fs_pt_init(struct fuse_session *se, const struct fuse_buf *buf,
		   int want_pt);

/**
 * df11fs_pt_backing_open() - register descriptor @fd (open read-write) as
 * a backing file. Needs CAP_SYS_ADMIN. Return: the backing id (>= 0), or
 * -errno.
 */
int df11fs_pt_backing_open(struct fuse_session *se, int fd);

/** df11fs_pt_backing_close() - unregister backing @id (< 0: no-op). */
void df11fs_pt_backing_close(struct fuse_session *se, int id);

/**
 * df11fs_pt_reply_open() - answer the open @req (the request this thread
 * is processing) with handle @fh in passthrough mode over backing @id.
 * Return: 0; -ENOENT if the open was interrupted (no release will come);
 * another -errno if the reply could not be written (then EIO was
 * replied). @req is answered in every case.
 */
int df11fs_pt_reply_open(fuse_req_t req, struct fuse_session *se, uint64_t fh,
			 int id);

/* ------------------------------------------------------------ fill.c */

/**
 * struct df11fs_fill_stats - whole-file decoding since the mount.
 * @budget, @held: bytes allowed and held in backing files now
 * @started, @filled, @failed, @evicted: fills, by outcome
 * @shed:     complete files freed because the machine ran short of room
 *            (fs/room.c; counted apart from @evicted, which the budget
 *            frees)
 * @no_room:  fills not started for want of room on the machine
 * @bytes:    bytes written into backing files
 * @fill_ns:  time of the completed fills, summed
 * @map_ns, @decode_ns: fill threads' time mapping and populating spans,
 *            and decoding into them (with the unmap), summed
 * @pt_opens: opens answered with passthrough
 * @pt_plain: opens of plain files answered with passthrough
 * @backed_reads: read requests copied from a backing file
 * @wait_ns:  opens waiting for a fill to end, summed
 * @passthrough: 1 when backing files are registered with the kernel
 */
struct df11fs_fill_stats {
	uint64_t budget, held;
	uint64_t started, filled, failed, evicted, shed, no_room, bytes;
	uint64_t fill_ns, map_ns, decode_ns;
	uint64_t pt_opens, pt_plain, backed_reads, wait_ns;
	int passthrough;
};

/**
 * struct df11fs_fill_conf - how whole files are decoded (df11fs_fill_new).
 * @budget:  bytes of backing files at most
 * @reserve: room they leave to the machine (fs/room.c): memory, or the
 *           file system of @dirfd when it is not @own_dir
 * @threads: fill threads (0: one)
 * @dirfd:   directory where backing files are made unnamed (O_TMPFILE),
 *           taken over; -1: memfds
 * @own_dir: @dirfd is the daemon's private tmpfs, sized for the budget:
 *           its free space is not the machine's room
 */
struct df11fs_fill_conf {
	uint64_t budget, reserve;
	unsigned threads;
	int dirfd, own_dir;
};

/**
 * df11fs_fill_new() - whole-file decoding into backing files as @c says.
 * Return: 0 and *@out, or -errno (@c->dirfd is closed either way on
 * failure).
 */
int df11fs_fill_new(struct df11fs_fill **out,
		    const struct df11fs_fill_conf *c);

/**
 * df11fs_fill_tick() - about once a second (the main thread): when the
 * machine has less room than the reserve where backing files go (fs/room.c),
 * free complete files no handle holds, least recently opened first; under
 * half the reserve even so, stop the running fills (their files are read
 * through the cache, as without decoded_cache). NULL: no-op.
 */
void df11fs_fill_tick(struct df11fs_fill *f);

/**
 * df11fs_room() - bytes that backing files may still take where @dirfd
 * puts them (-1: memfds): for memory (tmpfs, ramfs, memfds) the least of
 * MemAvailable, the headroom of the daemon's memory cgroup and its
 * ancestors, and a tmpfs's own free space; for a disk, its free space.
 * Return: 0 and *@room, or -errno when it cannot be told (fs/room.c).
 */
int df11fs_room(int dirfd, uint64_t *room);

/** df11fs_mem_total() - MemTotal in bytes, or 0 when it cannot be told. */
uint64_t df11fs_mem_total(void);

/** df11fs_fill_passthrough() - register complete files with @se's kernel. */
void df11fs_fill_passthrough(struct df11fs_fill *f, struct fuse_session *se);

/** df11fs_fill_stop() - end the fill threads (before the session goes). */
void df11fs_fill_stop(struct df11fs_fill *f);

/** df11fs_fill_free() - stop, and free every backing file. NULL: no-op. */
void df11fs_fill_free(struct df11fs_fill *f);

/**
 * df11fs_fill_open() - an open of virtual file @vf (log name @name):
 * start its fill if there is room (*@started: 1 when this call started
 * it). Then df11fs_fill_mode() chooses the open's mode.
 * Return: the entry (a reference, for df11fs_fill_release()), or NULL (not
 * filled: larger than the budget, or no memory).
 */
struct df11fs_fillent *df11fs_fill_open(struct df11fs_fill *f,
					struct df11_vfile *vf, const char *name,
					int *started);

/**
 * df11fs_fill_queue() - start the fill of @vf (not open) if there is
 * room: the other files of a model that is being opened.
 */
void df11fs_fill_queue(struct df11fs_fill *f, struct df11_vfile *vf,
		       const char *name);

/**
 * df11fs_fill_mode() - the mode of an open of @e: the backing id for
 * passthrough, or -1 for the usual requests. An open of a file being
 * decoded waits for it (up to a second) when that looks near.
 */
int df11fs_fill_mode(struct df11fs_fill *f, struct df11fs_fillent *e);

/** df11fs_fill_release() - the handle of df11fs_fill_open() is closed. */
void df11fs_fill_release(struct df11fs_fill *f, struct df11fs_fillent *e,
			 int pt);

/**
 * df11fs_fill_pread() - copy [@off, @off + @len) of the original file
 * from @e's backing file when that range is written. Return: @len, or
 * -EAGAIN (not written yet, or no backing file: read it the usual way).
 */
ssize_t df11fs_fill_pread(struct df11fs_fill *f, struct df11fs_fillent *e,
			  void *buf, size_t len, uint64_t off);

/**
 * df11fs_fill_plain_open() - an open of the plain file (not a container)
 * of inode @key, read from descriptor @fd: while passthrough is on, the
 * inode's opens share one backing file, registered at the first.
 * Return: the backing id for passthrough; -1 for the usual requests
 * (counted: give df11fs_fill_plain_release() pt 0); -2 not counted.
 */
int df11fs_fill_plain_open(struct df11fs_fill *f, const void *key, int fd);

/** df11fs_fill_plain_release() - that open is closed (@pt: its mode). */
void df11fs_fill_plain_release(struct df11fs_fill *f, const void *key, int pt);

/** df11fs_fill_stats() - a snapshot (all zero for a NULL @f). */
void df11fs_fill_stats(struct df11fs_fill *f, struct df11fs_fill_stats *st);

/* ----------------------------------------------------------- stats.c */

/**
 * df11fs_stats_line() - the one-line summary logged at exit and on
 * SIGUSR1 into @buf: "statistics: uptime 12.3 s, hits N, ...".
 */
void df11fs_stats_line(struct df11fs *fs, char *buf, size_t len);

/**
 * df11fs_stats_json() - a snapshot of every figure as a JSON document
 * (format in df11fs(1), STATISTICS), taken once: what one open of
 * DF11FS_STATS_NAME reads. Return: 0 and *@out (malloc'd, owned by the
 * caller, *@len bytes with a final newline), or -ENOMEM.
 */
int df11fs_stats_json(struct df11fs *fs, char **out, size_t *len);

/**
 * df11fs_json_u64() - a JSON integer of @v, INT64_MAX for more (JSON
 * integers of jansson are signed); NULL without memory. For the figures
 * of the statistics file.
 */
json_t *df11fs_json_u64(uint64_t v);

/** df11fs_stats_ino() - is node id @ino the statistics file? */
static inline int df11fs_stats_ino(struct df11fs *fs, fuse_ino_t ino)
{
	return ino == (fuse_ino_t)(uintptr_t)&fs->stats_ino;
}

/**
 * df11fs_stats_attr() - the statistics file's attributes: read-only,
 * size 0 (its bytes are made at open and read with direct I/O, like a
 * /proc file).
 */
void df11fs_stats_attr(struct df11fs *fs, struct stat *st);

/** df11fs_now_ns() - CLOCK_MONOTONIC in nanoseconds. */
uint64_t df11fs_now_ns(void);

/**
 * df11fs_deadline() - *@t = CLOCK_REALTIME now plus @ns: the absolute
 * time that sem_timedwait() and pthread_cond_timedwait() take.
 */
void df11fs_deadline(struct timespec *t, long ns);

/**
 * df11fs_reqstat_trace_open() - start the request trace (-o trace=FILE):
 * one line per read request (reqstat.c). Return: 0, or -errno of fopen.
 */
int df11fs_reqstat_trace_open(struct df11fs *fs, const char *path);

/** df11fs_reqstat_trace_close() - flush and close the trace, if any. */
void df11fs_reqstat_trace_close(struct df11fs *fs);

/** df11fs_reqstat_begin() - a read request starts: fill @t. */
void df11fs_reqstat_begin(struct df11fs *fs, struct df11fs_reqtime *t);

/**
 * df11fs_reqstat_end() - the read request @t of @size bytes at @off of
 * node @ino was replied, with @served bytes (< 0: an error): count it,
 * and trace it with -o trace=.
 */
void df11fs_reqstat_end(struct df11fs *fs, const struct df11fs_reqtime *t,
			uint64_t ino, uint64_t off, size_t size,
			ssize_t served);

/**
 * df11fs_reqstat_json() - the "requests" object of the statistics file
 * (documented in df11fs(1), STATISTICS). Return: a new reference, or NULL
 * when out of memory.
 */
json_t *df11fs_reqstat_json(struct df11fs *fs);

#endif
