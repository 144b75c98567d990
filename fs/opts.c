/* SPDX-License-Identifier: MIT */
/*
 * fs/opts.c - the df11fs command line
 *
 *   df11fs [-f] [-d] [-s] [-o opt[,opt...]] SOURCE MOUNTPOINT
 *
 * Our options (cache_size=, workers=, readahead=, kernel_readahead=,
 * threads=, attr_timeout=, entry_timeout=, decoder=, gpu_mem=, ...) are
 * taken out; libfuse's own (allow_other, debug, ...) are left for
 * fuse_session_new, which rejects what nobody knows. The options an fstab
 * line or mount(8) add that mean nothing to a FUSE mount are dropped, so
 * that
 *
 *   /srv/df11 /mnt/models fuse.df11fs ro,allow_other,cache_size=4G 0 0
 *
 * works through mount.fuse3, and through /sbin/mount.fuse.df11fs linked
 * to df11fs (then argv[0] starts with "mount." and mount(8)'s flags -s,
 * -n, -v, -t TYPE, -N NS are accepted; -f there means "fake"). The mount
 * is always read-only: "rw" is dropped and "ro" added.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/size.h"
#include "fs_i.h"

/* What fuse_opt_parse fills; strings are parsed and checked afterwards. */
struct raw_opts {
	struct df11fs_conf *conf;
	char *cache_size, *workers, *readahead, *kernel_ra, *threads;
	char *attr_timeout, *entry_timeout, *headers, *shard;
	char *decoder, *gpu_mem;
	char *log, *fsname, *max_read, *trace;
	char *decoded_cache, *decoded_dir, *decoded_reserve, *passthrough;
	char *type, *ns; /* mount(8) -t and -N, ignored */
	int helper, help, version, n_pos;
};

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FG,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_DROP,
	KEY_ALLOW_OTHER
};

#define RAW(t, f)                                                              \
	{                                                                      \
		t, offsetof(struct raw_opts, f), 0                             \
	}

static const struct fuse_opt opt_spec[] = {
    RAW("cache_size=%s", cache_size),
    RAW("workers=%s", workers),
    RAW("readahead=%s", readahead),
    RAW("kernel_readahead=%s", kernel_ra),
    RAW("threads=%s", threads),
    RAW("max_threads=%s", threads),
    RAW("attr_timeout=%s", attr_timeout),
    RAW("entry_timeout=%s", entry_timeout),
    RAW("headers=%s", headers),
    RAW("max_shard_size=%s", shard),
    RAW("decoder=%s", decoder),
    RAW("gpu_mem=%s", gpu_mem),
    RAW("decoded_cache=%s", decoded_cache),
    RAW("decoded_dir=%s", decoded_dir),
    RAW("decoded_reserve=%s", decoded_reserve),
    RAW("passthrough=%s", passthrough),
    RAW("log=%s", log),
    RAW("fsname=%s", fsname),
    RAW("max_read=%s", max_read),
    RAW("trace=%s", trace),
    RAW("-t %s", type),
    RAW("-N %s", ns),
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_KEY("-f", KEY_FG),
    FUSE_OPT_KEY("-d", KEY_DEBUG),
    FUSE_OPT_KEY("debug", KEY_DEBUG),
    FUSE_OPT_KEY("-s", KEY_SINGLE),
    FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
    FUSE_OPT_KEY("-n", KEY_DROP),
    FUSE_OPT_KEY("-v", KEY_DROP),
    FUSE_OPT_KEY("clone_fd", KEY_DROP), /* always on */
    /* fstab and mount(8) options with no meaning here */
    FUSE_OPT_KEY("rw", KEY_DROP),
    FUSE_OPT_KEY("ro", KEY_DROP),
    FUSE_OPT_KEY("defaults", KEY_DROP),
    FUSE_OPT_KEY("auto", KEY_DROP),
    FUSE_OPT_KEY("noauto", KEY_DROP),
    FUSE_OPT_KEY("user", KEY_DROP),
    FUSE_OPT_KEY("nouser", KEY_DROP),
    FUSE_OPT_KEY("users", KEY_DROP),
    FUSE_OPT_KEY("owner", KEY_DROP),
    FUSE_OPT_KEY("group", KEY_DROP),
    FUSE_OPT_KEY("_netdev", KEY_DROP),
    FUSE_OPT_KEY("nofail", KEY_DROP),
    FUSE_OPT_KEY("comment=", KEY_DROP),
    FUSE_OPT_END,
};

#define USAGE "usage: df11fs [-f] [-d] [-s] [-o opt[,opt...]] SOURCE MOUNTPOINT"

static void usage(void)
{
	printf(USAGE
	       "\n"
	       "\n"
	       "Mounts SOURCE, a directory of df11 models, read-only on "
	       "MOUNTPOINT;\n"
	       "df11 containers appear as the original BF16 safetensors "
	       "files.\n"
	       "\n"
	       "options:\n"
	       "  -h, --help             print this help and exit\n"
	       "  -V, --version          print the version and exit\n"
	       "  -f                     stay in the foreground\n"
	       "  -d, -o debug           log every request (implies -f)\n"
	       "  -s                     single-threaded\n"
	       "  -o cache_size=SIZE     decoded bytes to keep (default 1G)\n"
	       "  -o workers=N           read-ahead decode threads "
	       "(default: CPUs;\n"
	       "                         0: no read-ahead)\n"
	       "  -o readahead=SIZE      bytes decoded ahead of a sequential "
	       "reader\n"
	       "                         (default 256M)\n"
	       "  -o kernel_readahead=SIZE  the mount's kernel read-ahead, "
	       "set when\n"
	       "                         permitted (default 4M; 0: kernel's)\n"
	       "  -o threads=N           most FUSE worker threads (default "
	       "16)\n"
	       "  -o attr_timeout=SECS   attribute cache time, 0 to 86400 "
	       "(default 1)\n"
	       "  -o entry_timeout=SECS  name cache time (default: "
	       "attr_timeout)\n"
	       "  -o headers=FILE        official DFloat11 SOURCE: the "
	       "original files'\n"
	       "                         headers ('df11 headers'), rebuilt "
	       "exactly\n"
	       "  -o max_shard_size=SIZE official DFloat11 directories: "
	       "largest shard\n"
	       "                         (default 5000000000 bytes)\n"
	       "  -o decoder=auto|gpu|cpu  auto (default): the GPU if there "
	       "is one, and\n"
	       "                         the CPU next to it; gpu: the GPU "
	       "for every\n"
	       "                         chunk; cpu: never the GPU (no GPU "
	       "usable: CPU)\n"
	       "  -o gpu_mem=SIZE        device memory for the GPU decoder "
	       "(default 1G)\n"
	       "  -o decoded_cache=SIZE  whole decoded files to keep, read by "
	       "the\n"
	       "                         kernel directly when it can "
	       "(passthrough;\n"
	       "                         default 0: none)\n"
	       "  -o decoded_dir=DIR     where they are kept (default: "
	       "memory)\n"
	       "  -o decoded_reserve=SIZE  memory (or disk, for decoded_dir) "
	       "they leave\n"
	       "                         free (default: 1/8 of the memory, "
	       "at most 4G)\n"
	       "  -o passthrough=0|1     let the kernel read decoded files "
	       "directly\n"
	       "                         (default 1)\n"
	       "  -o log=FILE|stderr|syslog  where messages go, with "
	       "timestamps (default:\n"
	       "                         stderr with -f, else syslog; FILE "
	       "is reopened\n"
	       "                         on SIGHUP)\n"
	       "  -o fsname=NAME         the first field of /proc/mounts "
	       "(default SOURCE)\n"
	       "  -o max_read=SIZE       largest read request, 4K to 1M "
	       "(default 1M)\n"
	       "  -o trace=FILE          one line per read request (for "
	       "measuring)\n"
	       "SIZE takes a K, M, G or T suffix (powers of 1024).\n"
	       "\n");
}

static int opt_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct raw_opts *r = data;

	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (r->n_pos == 0)
			r->conf->source = strdup(arg);
		else if (r->n_pos == 1)
			r->conf->mountpoint = strdup(arg);
		else {
			df11fs_log(LOG_ERR, "unexpected argument '%s'", arg);
			return -1;
		}
		r->n_pos++;
		return 0;
	case FUSE_OPT_KEY_OPT:
		return strncmp(arg, "x-", 2) == 0 ? 0 : 1;
	case KEY_HELP:
		r->help = 1;
		return 0;
	case KEY_VERSION:
		r->version = 1;
		return 0;
	case KEY_FG:
		if (r->helper)
			r->conf->fake = 1; /* mount -f: fake */
		else
			r->conf->foreground = 1;
		return 0;
	case KEY_DEBUG:
		r->conf->debug = 1;
		r->conf->foreground = 1;
		return 1; /* libfuse logs every request too */
	case KEY_SINGLE:
		if (!r->helper) /* mount -s: sloppy */
			r->conf->single = 1;
		return 0;
	case KEY_ALLOW_OTHER:
		r->conf->allow_other = 1;
		return 1; /* libfuse's */
	default:
		return 0;
	}
}

/* A size, spelled as codec/size.h says (4G = 4 GiB). Return: 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	return df11_size_parse(s, out) ? -EINVAL : 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/*
 * -o max_read=: the kernel never sends a read larger than it, and df11fs
 * never asks for more than DF11FS_MAX_READ (its buffers and max_pages).
 * Smaller values are honoured (said once), larger ones refused.
 * Return: 0 or -1 (reported).
 */
static int convert_max_read(const struct raw_opts *r, struct df11fs_conf *c)
{
	uint64_t v;

	c->max_read = DF11FS_MAX_READ;
	if (!r->max_read)
		return 0;
	if (parse_size(r->max_read, &v)) {
		df11fs_log(LOG_ERR, "invalid value for option 'max_read'");
		return -1;
	}
	if (v > DF11FS_MAX_READ || v < 4096) {
		df11fs_log(LOG_ERR,
			   "max_read=%s: must be between 4096 and %u bytes",
			   r->max_read, DF11FS_MAX_READ);
		return -1;
	}
	c->max_read = (unsigned)v;
	if (v < DF11FS_MAX_READ)
		df11fs_log(LOG_INFO,
			   "max_read=%s: read requests of at most %u bytes "
			   "(default %u)",
			   r->max_read, c->max_read, DF11FS_MAX_READ);
	return 0;
}

/*
 * -o attr_timeout= / entry_timeout=: a decimal number of seconds from 0
 * to DF11FS_MAX_TIMEOUT. strtod() also takes "inf", "nan", hexadecimal
 * and 1e309 (HUGE_VAL): none of them is a time the kernel should cache a
 * name for, so only finite values in range pass. @s NULL: *@out kept.
 * Return: 0 or -1 (reported).
 */
static int convert_timeout(const char *name, const char *s, double *out)
{
	char *end;
	double v;

	if (!s)
		return 0;
	errno = 0;
	v = strtod(s, &end);
	if (((*s < '0' || *s > '9') && *s != '.') || strpbrk(s, "xX") || *end ||
	    end == s || errno || !isfinite(v) || v < 0 ||
	    v > DF11FS_MAX_TIMEOUT) {
		df11fs_log(LOG_ERR,
			   "%s=%s: must be a number of seconds from 0 to %.0f",
			   name, s, DF11FS_MAX_TIMEOUT);
		return -1;
	}
	*out = v;
	return 0;
}

/* Check and convert the option strings into @c. Return: 0 or -1. */
static int convert(const struct raw_opts *r, struct df11fs_conf *c)
{
	const char *bad = NULL;
	unsigned v;

	if (r->cache_size && parse_size(r->cache_size, &c->cache.budget))
		bad = "cache_size";
	if (r->readahead && parse_size(r->readahead, &c->cache.readahead))
		bad = "readahead";
	if (r->kernel_ra && (parse_size(r->kernel_ra, &c->kernel_ra) ||
			     c->kernel_ra > (1u << 30)))
		bad = "kernel_readahead";
	if (r->shard &&
	    (parse_size(r->shard, &c->shard_size) || !c->shard_size))
		bad = "max_shard_size";
	if (r->headers && !(c->headers = strdup(r->headers)))
		bad = "headers";
	if (r->gpu_mem &&
	    (parse_size(r->gpu_mem, &c->cache.gpu_mem) || !c->cache.gpu_mem))
		bad = "gpu_mem";
	if (r->decoder && strcmp(r->decoder, "auto") == 0)
		c->cache.decoder = DF11_DECODER_AUTO;
	else if (r->decoder && strcmp(r->decoder, "gpu") == 0)
		c->cache.decoder = DF11_DECODER_GPU;
	else if (r->decoder && strcmp(r->decoder, "cpu") == 0)
		c->cache.decoder = DF11_DECODER_CPU;
	else if (r->decoder)
		bad = "decoder";
	if (r->workers && parse_uint(r->workers, 1024, &c->cache.workers))
		bad = "workers";
	else if (r->workers && !c->cache.workers)
		c->cache.no_ahead = 1; /* 0 means off, not the default */
	if (r->threads && (parse_uint(r->threads, 4096, &v) || v == 0))
		bad = "threads";
	else if (r->threads)
		c->threads = v;
	if (r->log && (!*r->log || !(c->log = strdup(r->log))))
		bad = "log";
	if (r->fsname && !(c->fsname = strdup(r->fsname)))
		bad = "fsname";
	if (r->trace && (!*r->trace || !(c->trace = strdup(r->trace))))
		bad = "trace";
	if (r->decoded_cache && parse_size(r->decoded_cache, &c->decoded_cache))
		bad = "decoded_cache";
	if (r->decoded_reserve &&
	    parse_size(r->decoded_reserve, &c->decoded_reserve))
		bad = "decoded_reserve";
	else if (r->decoded_reserve)
		c->decoded_reserve_set = 1;
	if (r->passthrough && strcmp(r->passthrough, "0") == 0)
		c->no_passthrough = 1;
	else if (r->passthrough && strcmp(r->passthrough, "1") != 0)
		bad = "passthrough";
	if (r->decoded_dir &&
	    (!*r->decoded_dir ||
	     !(c->decoded_dir = realpath(r->decoded_dir, NULL))))
		bad = "decoded_dir";
	if (bad) {
		df11fs_log(LOG_ERR, "invalid value for option '%s'", bad);
		return -1;
	}
	if (convert_timeout("attr_timeout", r->attr_timeout, &c->attr_timeout))
		return -1;
	c->entry_timeout = c->attr_timeout;
	if (convert_timeout("entry_timeout", r->entry_timeout,
			    &c->entry_timeout))
		return -1;
	return convert_max_read(r, c);
}

static void raw_free(struct raw_opts *r)
{
	free(r->decoded_cache);
	free(r->decoded_dir);
	free(r->decoded_reserve);
	free(r->passthrough);
	free(r->cache_size);
	free(r->workers);
	free(r->readahead);
	free(r->kernel_ra);
	free(r->threads);
	free(r->attr_timeout);
	free(r->entry_timeout);
	free(r->headers);
	free(r->shard);
	free(r->decoder);
	free(r->gpu_mem);
	free(r->log);
	free(r->fsname);
	free(r->max_read);
	free(r->trace);
	free(r->type);
	free(r->ns);
}

int df11fs_opts_parse(int argc, char **argv, struct df11fs_conf *conf,
		      struct fuse_args *args)
{
	const char *prog = strrchr(argv[0], '/');
	struct raw_opts r;
	int rc = DF11FS_OPTS_USAGE;

	memset(conf, 0, sizeof(*conf));
	conf->kernel_ra = 4u << 20;
	conf->threads = 16;
	conf->attr_timeout = 1.0;
	conf->max_read = DF11FS_MAX_READ;
	memset(&r, 0, sizeof(r));
	r.conf = conf;
	prog = prog ? prog + 1 : argv[0];
	r.helper = strncmp(prog, "mount.", 6) == 0;
	*args = (struct fuse_args)FUSE_ARGS_INIT(argc, argv);

	if (fuse_opt_parse(args, &r, opt_spec, opt_proc) != 0)
		goto out;
	if (r.help) {
		usage();
		printf("libfuse options:\n");
		fflush(stdout);
		fuse_lowlevel_help();
		rc = DF11FS_OPTS_EXIT;
		goto out;
	}
	if (r.version) {
		printf("df11fs version %s\nlibfuse version %s\n",
		       DF11FS_VERSION, fuse_pkgversion());
		rc = DF11FS_OPTS_EXIT;
		goto out;
	}
	if (r.n_pos != 2) {
		df11fs_log(LOG_ERR, "%s",
			   r.n_pos ? "missing MOUNTPOINT" : "missing SOURCE");
		fprintf(stderr, "%s\nTry 'df11fs --help'.\n", USAGE);
		goto out;
	}
	if (convert(&r, conf) != 0)
		goto out;
	conf->cache.gpu_lib = getenv("DF11_GPU_LIB"); /* NULL: the default */
	rc = 0;
out:
	raw_free(&r);
	return rc;
}

void df11fs_conf_free(struct df11fs_conf *conf)
{
	free(conf->source);
	free(conf->mountpoint);
	free(conf->headers);
	free(conf->log);
	free(conf->fsname);
	free(conf->trace);
	free(conf->decoded_dir);
	conf->decoded_dir = NULL;
	conf->source = conf->mountpoint = conf->headers = NULL;
	conf->log = conf->fsname = conf->trace = NULL;
}
