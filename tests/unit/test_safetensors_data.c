/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_safetensors_data.c - safetensors parser over the test
 * data
 *
 * A data-driven pass over tests/data/{valid,invalid}/<case>/file.safetensors,
 * each whole file through df11_st_header_len() and df11_st_parse(): valid
 * cases must parse, with every tensor inside the data region; invalid ones
 * must fail with -EBADMSG or -EOVERFLOW and a message holding the text of
 * the case's `expect` file. Run from the repository root (make unit) or
 * point DF11_TEST_DATA at tests/data. The rules one by one are tested in
 * tests/unit/test_safetensors.c.
 */
#include "codec/safetensors.h"
#include "tests/unit/test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#define ERRLEN 512

/* slurp() - the whole of @path, malloc'ed. Return: 0, -errno. */
static int slurp(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0, got;
	uint8_t *b = malloc(cap);

	if (!f) {
		free(b);
		return -errno;
	}
	while ((got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	*buf = b;
	*len = n;
	return 0;
}

/*
 * check_file() - run a whole file through both entry points. Return: 0 or
 * the first failure, with a message in @err (header_len has none, so the
 * test writes one).
 */
static int check_file(const uint8_t *f, size_t size, char err[ERRLEN])
{
	struct df11_st *st = NULL;
	uint64_t n = 0;
	int ret;

	if (size < 8) {
		snprintf(err, ERRLEN, "file shorter than 8 bytes");
		return -EBADMSG;
	}
	ret = df11_st_header_len(f, size, &n);
	if (ret != 0) {
		uint64_t claim = 0;

		for (unsigned i = 0; i < 8; i++)
			claim |= (uint64_t)f[i] << (8 * i);
		snprintf(err, ERRLEN,
			 "header length %llu invalid for a "
			 "%zu-byte file",
			 (unsigned long long)claim, size);
		return ret;
	}
	ret = df11_st_parse(&st, f + 8, n, size - 8 - n, err, ERRLEN);
	if (ret == 0) {
		for (size_t i = 0; i < df11_st_n_tensors(st); i++)
			ASSERT(df11_st_tensor(st, i)->end <= size - 8 - n);
	}
	df11_st_free(st);
	return ret;
}

/* run_case() - one case directory; @valid says which kind. */
static void run_case(const char *dir, int valid)
{
	char path[4096], err[ERRLEN] = "", expect[256] = "";
	uint8_t *f = NULL, *e = NULL;
	size_t size = 0, elen = 0;
	int ret;

	if (snprintf(path, sizeof(path), "%s/file.safetensors", dir) >=
	    (int)sizeof(path))
		path[0] = '\0';
	ASSERT_EQ(slurp(path, &f, &size), 0);
	ret = f ? check_file(f, size, err) : -ENOENT;
	free(f);
	if (valid) {
		if (ret != 0)
			fprintf(stderr, "%s: %s\n", dir, err);
		ASSERT_EQ(ret, 0);
		return;
	}
	if (snprintf(path, sizeof(path), "%s/expect", dir) >= (int)sizeof(path))
		path[0] = '\0';
	ASSERT_EQ(slurp(path, &e, &elen), 0);
	if (e) {
		while (elen && (e[elen - 1] == '\n' || e[elen - 1] == '\r'))
			elen--;
		snprintf(expect, sizeof(expect), "%.*s", (int)elen, (char *)e);
		free(e);
	}
	ASSERT(ret == -EBADMSG || ret == -EOVERFLOW);
	ASSERT(expect[0] != '\0');
	if (!strstr(err, expect))
		fprintf(stderr, "%s: want '%s' in '%s'\n", dir, expect, err);
	ASSERT(strstr(err, expect) != NULL);
}

/* run_dir() - every case under @root/@kind. Return: the number of cases. */
static size_t run_dir(const char *root, const char *kind)
{
	char dir[2048], path[4096];
	struct dirent *de;
	struct stat sb;
	size_t n = 0;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/%s", root, kind) >= (int)sizeof(dir))
		return 0;
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open '%s': %s\n", dir, strerror(errno));
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			(int)sizeof(path) ||
		    stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
			continue;
		run_case(path, strcmp(kind, "valid") == 0);
		n++;
	}
	closedir(d);
	return n;
}

/* data_root() - $DF11_TEST_DATA, else tests/data from the repo root. */
static const char *data_root(void)
{
	const char *env = getenv("DF11_TEST_DATA");

	return env && env[0] ? env : "tests/data";
}

static void test_data_cases(void)
{
	const char *root = data_root();
	size_t n_valid = run_dir(root, "valid");
	size_t n_invalid = run_dir(root, "invalid");

	printf("%s: %zu valid and %zu invalid cases\n", root, n_valid,
	       n_invalid);
	ASSERT(n_valid >= 6);
	ASSERT(n_invalid >= 12);
}

int main(void)
{
	test_data_cases();
	TEST_DONE();
}
