// SPDX-License-Identifier: MIT
/*
 * tools/df11.c - the df11 command-line tool: options, dispatch, messages,
 * exit statuses, signals
 *
 *   df11 compress   [-q] [-j N] SRC DST
 *   df11 decompress [-q] [-j N] DST OUT
 *   df11 verify     [-q] [-j N] DST [SRC]
 *   df11 info       [--json] DST
 *
 * Each class of failure has its own exit status (DF11_EX_*, man/df11.1);
 * the first error reported decides it. Messages are one line on stderr in
 * git style: "df11: cannot open 'x': No such file or directory".
 *
 * SIGINT, SIGTERM and SIGHUP set a flag that every loop polls; the command
 * then unwinds, removes its temporary output directory, and the signal is
 * raised again (handlers are one-shot) so that the parent sees how the
 * process died. A second signal during the cleanup kills at once.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/container.h"
#include "codec/size.h"
#include "tools/official_i.h"
#include "tools/tool_i.h"

static _Atomic int g_status;
/*
 * The signal that arrived (0: none). Every worker reads it: atomic (lock
 * free, so the handler may store it), not only sig_atomic_t.
 */
static atomic_int g_signal;

static const char usage_text[] =
    "usage: df11 compress   [-q] [-j N] SRC DST\n"
    "       df11 decompress [-q] [-j N] DST OUT\n"
    "       df11 verify     [-q] [-j N] DST [SRC]\n"
    "       df11 info       [--json] [--headers FILE] DST\n"
    "       df11 headers    ORIGINAL_DIR > FILE\n"
    "       df11 --version | --help\n"
    "\n"
    "  compress    store the BF16 safetensors files of model directory SRC\n"
    "              DF11-compressed in the new directory DST; copy the rest\n"
    "  decompress  rebuild the original files of DST, byte for byte, in OUT\n"
    "  verify      decode every chunk of DST and check its checksum; with\n"
    "              SRC, also compare every file with SRC byte for byte\n"
    "  info        per file and tensor: dtype, shape, codec, sizes, ratio\n"
    "  headers     print the header bytes of the original model's\n"
    "              safetensors files and its index json, as JSON\n"
    "\n"
    "  DST may also be an official DFloat11 directory (config.json with\n"
    "  dfloat11_config): it is read as the BF16 model it stands for;\n"
    "  verify checks its files against the hashes huggingface_hub\n"
    "  recorded (hub cache snapshot, download --local-dir folder).\n"
    "\n"
    "  -j, --jobs N  worker threads (default: the number of online CPUs)\n"
    "  -q, --quiet   no progress bar and no summary\n"
    "      --json    info as JSON\n"
    "      --headers FILE  official DST: the original files' headers\n"
    "                    ('df11 headers' output): rebuild them exactly\n"
    "      --max-shard-size SIZE  official DST: largest shard (default\n"
    "                    5GB; KB, MB, GB: powers of 1000; K, M, G and\n"
    "                    KiB, MiB, GiB: powers of 1024)\n"
    "      --follow-symlinks  also follow links that resolve outside SRC\n"
    "\n"
    "exit status: 0 ok, 1 data mismatch, 2 usage, 3 I/O error,\n"
    "             4 malformed input, 5 unsupported\n";

void df11_fail(int status, const char *fmt, ...)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static char last[2048];
	char line[2048];
	int zero = 0, n;
	bool again;
	va_list ap;

	n = snprintf(line, sizeof(line), "df11: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	atomic_compare_exchange_strong(&g_status, &zero, status);
	/* workers failing on the same cause say so once */
	pthread_mutex_lock(&mu);
	again = !strcmp(line, last);
	memcpy(last, line, sizeof(last));
	pthread_mutex_unlock(&mu);
	if (!again)
		df11_prog_line(stderr, line);
}

int df11_fail_sys(int neg_errno, const char *what, const char *path)
{
	if (neg_errno == -EINTR)
		return neg_errno;
	df11_fail(DF11_EX_IO, "cannot %s '%s': %s", what, path,
		  strerror(-neg_errno));
	return neg_errno;
}

int df11_fail_codec(int neg_errno, const char *path, const char *reason)
{
	int status = DF11_EX_IO;

	if (neg_errno == -EINTR)
		return neg_errno;
	if (neg_errno == -EBADMSG || neg_errno == -EOVERFLOW)
		status = DF11_EX_MALFORMED;
	else if (neg_errno == -ENOTSUP)
		status = DF11_EX_UNSUPPORTED;
	if (!reason || !*reason)
		reason = strerror(-neg_errno);
	df11_fail(status, "'%s': %s", path, reason);
	return neg_errno;
}

int df11_status(void)
{
	return atomic_load(&g_status);
}

bool df11_stopped(void)
{
	return atomic_load(&g_signal) != 0;
}

static void on_signal(int sig)
{
	atomic_store(&g_signal, sig);
}

static void install_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND | SA_RESTART; /* a second one kills */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int usage_error(const char *fmt, ...) DF11_PRINTF(1, 2);

/* A usage-class message with a hint; returns DF11_EX_USAGE. */
static int usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	df11_fail(DF11_EX_USAGE, "%s (see 'df11 --help')", msg);
	return DF11_EX_USAGE;
}

static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (unsigned)n;
}

/* A shard size (codec/size.h: 5GB = 5 * 10^9, 5G = 5GiB), not 0. */
static int parse_shard(const char *s, uint64_t *out)
{
	uint64_t v;

	if (df11_size_parse(s, &v) || !v)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_jobs(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 1024 || *s == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/*
 * Parse the options of command @cmd (argv[0]); on return argv[*first..]
 * are its operands. Return: -1 to go on, else an exit status.
 */
static int parse_opts(int argc, char **argv, bool info, struct df11_opts *o,
		      int *first)
{
	static const struct option work_longs[] = {
	    {"quiet", no_argument, NULL, 'q'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"headers", required_argument, NULL, 'H'},
	    {"max-shard-size", required_argument, NULL, 'S'},
	    {"follow-symlinks", no_argument, NULL, 'L'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const struct option info_longs[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"headers", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const struct option *longs = info ? info_longs : work_longs;
	const char *shorts = info ? ":h" : ":qj:h";
	char opt[3] = "-?";
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->quiet = true;
			break;
		case 'j':
			if (parse_jobs(optarg, &o->threads))
				return usage_error("invalid thread count '%s'",
						   optarg);
			break;
		case 'J':
			o->json = true;
			break;
		case 'L':
			o->follow_symlinks = true;
			break;
		case 'H':
			o->headers = optarg;
			break;
		case 'S':
			if (parse_shard(optarg, &o->shard_size))
				return usage_error("invalid shard size '%s'",
						   optarg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return DF11_EX_OK;
		case ':':
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		default:
			opt[1] = (char)optopt;
			return usage_error("unknown option '%s'",
					   optopt ? opt : argv[optind - 1]);
		}
	}
	*first = optind;
	return -1;
}

/*
 * decompress, verify and info on an official DFloat11 directory; -1 when
 * @dir is not one (then --headers is a usage error).
 */
static int dispatch_official(const char *cmd, struct df11_opts *o, char **ops,
			     int n)
{
	struct stat st;
	bool dir;
	int r;

	/* the wrong number of operands: the native usage error */
	if ((!strcmp(cmd, "decompress") && n != 2) ||
	    (!strcmp(cmd, "info") && n != 1))
		return -1;
	dir = stat(ops[0], &st) == 0 && S_ISDIR(st.st_mode);
	r = dir ? df11_off_dir_probe(ops[0]) : 0;
	if (r < 0)
		return df11_status();
	/* a diffusers pipeline folder with official components */
	if (!r && !o->headers && dir &&
	    (r = df11_off_pipeline_probe(ops[0])) != 0) {
		if (r < 0)
			return df11_status();
		if (!strcmp(cmd, "decompress"))
			return df11_off_cmd_decompress_pipeline(o, ops[0],
								ops[1]);
		if (!strcmp(cmd, "verify"))
			return df11_off_cmd_verify_pipeline(
			    o, ops[0], n == 2 ? ops[1] : NULL);
		return df11_off_cmd_info_pipeline(o, ops[0]);
	}
	if (!r && (o->headers || o->shard_size))
		return usage_error("%s: --headers and --max-shard-size need an "
				   "official DFloat11 directory",
				   cmd);
	if (!r)
		return -1;
	if (!strcmp(cmd, "decompress"))
		return df11_off_cmd_decompress(o, ops[0], ops[1]);
	if (!strcmp(cmd, "verify"))
		return df11_off_cmd_verify(o, ops[0], n == 2 ? ops[1] : NULL);
	return df11_off_cmd_info(o, ops[0]);
}

/* Run command @cmd on its @n operands @ops. */
static int dispatch(const char *cmd, struct df11_opts *o, char **ops, int n)
{
	int rc;

	if (!strcmp(cmd, "headers")) {
		if (n != 1)
			return usage_error("%s: expected ORIGINAL_DIR", cmd);
		return df11_cmd_headers(o, ops[0]);
	}
	if (strcmp(cmd, "compress") && n >= 1 && n <= 2 &&
	    (rc = dispatch_official(cmd, o, ops, n)) >= 0)
		return rc;
	if (!strcmp(cmd, "compress")) {
		if (n != 2)
			return usage_error("%s: expected SRC and DST", cmd);
		return df11_cmd_compress(o, ops[0], ops[1]);
	}
	if (!strcmp(cmd, "decompress")) {
		if (n != 2)
			return usage_error("%s: expected DST and OUT", cmd);
		return df11_cmd_decompress(o, ops[0], ops[1]);
	}
	if (!strcmp(cmd, "verify")) {
		if (n != 1 && n != 2)
			return usage_error("%s: expected DST and maybe SRC",
					   cmd);
		return df11_cmd_verify(o, ops[0], n == 2 ? ops[1] : NULL);
	}
	if (n != 1)
		return usage_error("%s: expected DST", cmd);
	return df11_cmd_info(o, ops[0]);
}

/*
 * Flush and close stdout: output that did not reach its file (a full disk,
 * a closed pipe) is a failure of the command, exit status 3, not a
 * truncated file with status 0.
 */
static int close_stdout(int rc)
{
	bool bad = fflush(stdout) == EOF || ferror(stdout);

	if (fclose(stdout) == EOF)
		bad = true;
	if (!bad)
		return rc;
	df11_fail(DF11_EX_IO, "cannot write the standard output: %s",
		  strerror(errno ? errno : EIO));
	return rc ? rc : DF11_EX_IO;
}

static int run(int argc, char **argv)
{
	struct df11_opts o = {.threads = default_threads()};
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int rc, first = 0, sig;

	if (!cmd)
		return usage_error("%s", "missing command");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return DF11_EX_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("df11 %s (df11fs), container format %d.%d\n",
		       DF11_TOOL_VERSION, DF11_CT_VERSION_MAJOR,
		       DF11_CT_VERSION_MINOR);
		return DF11_EX_OK;
	}
	if (strcmp(cmd, "compress") && strcmp(cmd, "decompress") &&
	    strcmp(cmd, "verify") && strcmp(cmd, "info") &&
	    strcmp(cmd, "headers"))
		return usage_error("unknown command '%s'", cmd);
	rc = parse_opts(argc - 1, argv + 1, !strcmp(cmd, "info"), &o, &first);
	if (rc >= 0)
		return rc;
	install_signals();
	rc = dispatch(cmd, &o, argv + 1 + first, argc - 1 - first);
	if ((sig = atomic_load(&g_signal))) {
		df11_fail(DF11_EX_IO, "interrupted");
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return rc;
}

int main(int argc, char **argv)
{
	return close_stdout(run(argc, argv));
}
