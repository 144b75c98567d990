/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/replay.c - run a fuzz target over a corpus without libFuzzer
 *
 * Linked with one tests/fuzz/fuzz_<target>.c, it feeds every file named on
 * the command line, and every regular file of every directory named there
 * (one level, names starting with '.' skipped, in name order), to
 * LLVMFuzzerTestOneInput(), each from a heap buffer of exactly its size so
 * that AddressSanitizer builds catch over-reads. `make fuzz-replay` runs it
 * on tests/fuzz/corpus/<target>/ so that the corpus and every crash once
 * found stay regression tests.
 *
 * Exit status: 0 when at least one input ran, 1 when a path cannot be read
 * or nothing was found. A crashing input crashes the program.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* replay_file() - feed @path to the target. Return: 0, -errno. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	struct stat sb;
	size_t size;
	int ret = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0) {
		ret = -errno;
		goto out;
	}
	size = (size_t)sb.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (fread(buf, 1, size, f) != size) {
		ret = -EIO;
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, size);
out:
	free(buf);
	fclose(f);
	return ret;
}

static int skip_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/*
 * replay_entry() - @dir/@name when it is a regular file.
 * Return: 1 when run, 0 when skipped, -1 after printing why it failed.
 */
static int replay_entry(const char *dir, const char *name)
{
	char path[4096];
	struct stat sb;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		ret = -ENAMETOOLONG;
	else if (stat(path, &sb) != 0)
		ret = -errno;
	else if (!S_ISREG(sb.st_mode))
		return 0;
	else
		ret = replay_file(path);
	if (ret == 0)
		return 1;
	fprintf(stderr, "replay: cannot read '%s/%s': %s\n", dir, name,
		strerror(-ret));
	return -1;
}

/*
 * replay_dir() - every regular file of @dir, in name order.
 * Return: the number of files run, -1 after printing why.
 */
static long replay_dir(const char *dir)
{
	struct dirent **names;
	long n = 0;
	int count = scandir(dir, &names, skip_hidden, alphasort);

	if (count < 0) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	for (int i = 0; i < count; i++) {
		if (n >= 0) {
			int ret = replay_entry(dir, names[i]->d_name);

			n = ret < 0 ? -1 : n + ret;
		}
		free(names[i]);
	}
	free(names);
	return n;
}

int main(int argc, char **argv)
{
	long total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		struct stat sb;
		long n = 1;

		if (stat(argv[i], &sb) != 0) {
			fprintf(stderr, "replay: cannot open '%s': %s\n",
				argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(sb.st_mode)) {
			n = replay_dir(argv[i]);
		} else {
			int ret = replay_file(argv[i]);

			if (ret != 0) {
				fprintf(stderr,
					"replay: cannot read '%s': %s\n",
					argv[i], strerror(-ret));
				n = -1;
			}
		}
		if (n < 0)
			return 1;
		total += n;
	}
	printf("%ld inputs replayed\n", total);
	if (total == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return 0;
}
