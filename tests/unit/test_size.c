/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_size.c - codec/size.h: the one size spelling of df11fs
 * and df11
 *
 * A bare prefix and KiB..TiB are powers of 1024, KB..TB powers of 1000
 * (Hugging Face's "5GB"); a lower-case "b" (bits to Hugging Face), signs,
 * fractions, blanks and unknown suffixes are refused; values past 64 bits
 * are -EOVERFLOW.
 */
#include <errno.h>
#include <stdint.h>

#include "codec/size.h"
#include "test.h"

static void ok(const char *s, uint64_t want)
{
	uint64_t v = 12345;
	int rc = df11_size_parse(s, &v);

	if (rc || v != want)
		fprintf(stderr, "size '%s': rc %d, %" PRIu64 "\n", s, rc, v);
	ASSERT_EQ(rc, 0);
	ASSERT(v == want);
}

static void bad(const char *s, int want)
{
	uint64_t v = 12345;

	ASSERT_EQ(df11_size_parse(s, &v), want);
	ASSERT(v == 12345);
}

int main(void)
{
	ok("0", 0);
	ok("4096", 4096);
	ok("512B", 512);
	/* bare prefixes: df11fs' cache_size=4G is 4 GiB */
	ok("1K", 1024);
	ok("1k", 1024);
	ok("3M", 3u << 20);
	ok("4G", 4ull << 30);
	ok("2T", 2ull << 40);
	/* IEC */
	ok("1KiB", 1024);
	ok("3MiB", 3u << 20);
	ok("5GiB", 5ull << 30);
	ok("5giB", 5ull << 30);
	ok("5GIB", 5ull << 30);
	/* decimal, as Hugging Face's max_shard_size */
	ok("1KB", 1000);
	ok("1kB", 1000);
	ok("3MB", 3000000);
	ok("5GB", 5000000000ull);
	ok("10GB", 10000000000ull);
	ok("1TB", 1000000000000ull);
	ok("18446744073709551615", UINT64_MAX);
	bad("", -EINVAL);
	bad("G", -EINVAL);
	bad("-1", -EINVAL);
	bad("+1", -EINVAL);
	bad(" 1", -EINVAL);
	bad("1 ", -EINVAL);
	bad("1.5G", -EINVAL);
	bad("5Gb", -EINVAL);  /* bits to Hugging Face */
	bad("5Gib", -EINVAL); /* gibibits */
	bad("5b", -EINVAL);
	bad("5Gi", -EINVAL);
	bad("5iB", -EINVAL);
	bad("5GBB", -EINVAL);
	bad("5GiBs", -EINVAL);
	bad("5P", -EINVAL);
	bad("16EB", -EINVAL);
	bad("5Q", -EINVAL);
	bad("0x10", -EINVAL);
	bad("18446744073709551616", -EOVERFLOW);
	bad("17179869184G", -EOVERFLOW);
	bad("18446744073709552KB", -EOVERFLOW);
	TEST_DONE();
}
