/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/test_store.c - store/: opening source files safely
 *
 * In a temporary directory: a regular file, a symlink (to it, to a FIFO),
 * a FIFO, a UNIX socket, a directory and (as root) a device node.
 * df11_store_openat must refuse each non-regular kind by its errno
 * without blocking (a FIFO opened for reading would hang the test);
 * pread must read exactly or fail with -EIO at the end; the staleness
 * check must notice changes; classify and list must say what is there;
 * a plain safetensors file is no container; an official directory with a
 * FIFO and a symlink named *.safetensors opens with both skipped (one
 * warning each) or, strict, fails naming the first.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "codec/source.h"
#include "official/official.h"
#include "store/store.h"
#include "test.h"

#define OFFICIAL "tests/data/official/llama-tiny/df11"

static char dir[] = "/tmp/df11-store-XXXXXX";

static void put_file(const char *name, const void *p, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static void make_tree(int dfd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	put_file("reg.txt", "0123456789", 10);
	ASSERT_EQ(symlinkat("reg.txt", dfd, "link.safetensors"), 0);
	ASSERT_EQ(mkfifoat(dfd, "fifo.safetensors", 0644), 0);
	ASSERT_EQ(symlinkat("fifo.safetensors", dfd, "tofifo"), 0);
	ASSERT_EQ(mkdirat(dfd, "sub", 0755), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock.safetensors", dir);
	ASSERT(s >= 0);
	ASSERT_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	if (geteuid() == 0)
		ASSERT_EQ(mknodat(dfd, "null.safetensors", S_IFCHR | 0644,
				  makedev(1, 3)),
			  0);
}

static void test_openat(int dfd)
{
	struct stat st;
	int fd, p;

	ASSERT_EQ(df11_store_openat(dfd, "reg.txt", 0, &fd, &st), 0);
	ASSERT(fd >= 0 && S_ISREG(st.st_mode) && st.st_size == 10);
	ASSERT_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	ASSERT_EQ(df11_store_openat(dfd, "link.safetensors", 0, &fd, &st),
		  -ELOOP);
	ASSERT(fd == -1 && S_ISLNK(st.st_mode));
	ASSERT_EQ(df11_store_openat(dfd, "fifo.safetensors", 0, &fd, &st),
		  -ENXIO);
	ASSERT(S_ISFIFO(st.st_mode));
	ASSERT_EQ(df11_store_openat(dfd, "sock.safetensors", 0, &fd, &st),
		  -ENXIO);
	ASSERT(S_ISSOCK(st.st_mode));
	ASSERT_EQ(df11_store_openat(dfd, "sub", 0, &fd, NULL), -EISDIR);
	ASSERT_EQ(df11_store_openat(dfd, "missing", 0, &fd, NULL), -ENOENT);
	if (geteuid() == 0) {
		ASSERT_EQ(
		    df11_store_openat(dfd, "null.safetensors", 0, &fd, &st),
		    -ENXIO);
		ASSERT(S_ISCHR(st.st_mode));
	}
	/* following: the target must still be a regular file */
	ASSERT_EQ(df11_store_openat(dfd, "link.safetensors", DF11_STORE_FOLLOW,
				    &fd, &st),
		  0);
	ASSERT(S_ISREG(st.st_mode));
	close(fd);
	ASSERT_EQ(df11_store_openat(dfd, "tofifo", DF11_STORE_FOLLOW, &fd, &st),
		  -ENXIO);
	ASSERT(S_ISFIFO(st.st_mode));

	/* "" reopens an O_PATH descriptor of the file itself */
	p = openat(dfd, "reg.txt", O_PATH | O_NOFOLLOW);
	ASSERT_EQ(df11_store_openat(p, "", 0, &fd, &st), 0);
	ASSERT(S_ISREG(st.st_mode));
	close(fd);
	close(p);
	p = openat(dfd, "link.safetensors", O_PATH | O_NOFOLLOW);
	ASSERT_EQ(df11_store_openat(p, "", 0, &fd, NULL), -ELOOP);
	close(p);
	p = openat(dfd, "fifo.safetensors", O_PATH | O_NOFOLLOW);
	ASSERT_EQ(df11_store_openat(p, "", 0, &fd, NULL), -ENXIO);
	close(p);
	ASSERT_EQ(df11_store_openat(dfd, NULL, 0, &fd, NULL), -EINVAL);
}

static void test_pread(int dfd)
{
	char b[16];
	struct stat st;
	int fd;

	ASSERT_EQ(df11_store_openat(dfd, "reg.txt", 0, &fd, &st), 0);
	ASSERT_EQ(df11_store_pread(fd, b, 10, 0), 0);
	ASSERT_MEM(b, "0123456789", 10);
	ASSERT_EQ(df11_store_pread(fd, b, 4, 6), 0);
	ASSERT_MEM(b, "6789", 4);
	ASSERT_EQ(df11_store_pread(fd, b, 11, 0), -EIO); /* ends first */
	ASSERT_EQ(df11_store_pread(fd, b, 1, 10), -EIO);
	ASSERT_EQ(df11_store_pread(fd, b, 0, 99), 0);
	ASSERT_EQ(df11_store_pread(-1, b, 1, 0), -EBADF);
	/* upto: what there is, short where the file ends */
	ASSERT_EQ(df11_store_pread_upto(fd, b, 16, 4), 6);
	ASSERT_MEM(b, "456789", 6);
	ASSERT_EQ(df11_store_pread_upto(fd, b, 16, 10), 0);
	ASSERT_EQ(df11_store_pread_upto(fd, b, 3, 0), 3);
	ASSERT_EQ(df11_store_pread_upto(fd, b, (size_t)SSIZE_MAX + 1, 0),
		  -EINVAL);
	ASSERT_EQ(df11_store_pread_upto(-1, b, 1, 0), -EBADF);

	ASSERT_EQ(df11_store_unchanged(fd, &st), 0);
	put_file("reg.txt", "0123456789a", 11);
	ASSERT_EQ(df11_store_unchanged(fd, &st), -ESTALE);
	ASSERT_EQ(fstat(fd, &st), 0);
	ASSERT_EQ(df11_store_unchanged(fd, &st), 0);
	/* released: /dev/null in its place, reads end at once */
	ASSERT_EQ(df11_store_release(fd), 0);
	ASSERT_EQ(df11_store_unchanged(fd, &st), -ESTALE);
	ASSERT_EQ(df11_store_pread(fd, b, 1, 0), -EIO);
	close(fd);
	put_file("reg.txt", "0123456789", 10);
}

static void test_classify(int dfd)
{
	static const char cfg[] = "{\"dfloat11_config\": {}}";
	struct df11_store_name *v;
	struct stat st;
	size_t n;

	ASSERT_EQ(mkdirat(dfd, "off", 0755), 0);
	put_file("off/config.json", cfg, sizeof(cfg) - 1);
	put_file("a.safetensors", "x", 1);
#define KIND(name)                                                             \
	(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW),                         \
	 df11_store_classify(dfd, name, &st))
	ASSERT_EQ(KIND("a.safetensors"), DF11_STORE_NATIVE);
	ASSERT_EQ(KIND("reg.txt"), DF11_STORE_PLAIN);
	ASSERT_EQ(KIND("sub"), DF11_STORE_DIR);
	ASSERT_EQ(KIND("off"), DF11_STORE_OFFICIAL);
	ASSERT_EQ(KIND("link.safetensors"), DF11_STORE_SYMLINK);
	ASSERT_EQ(KIND("fifo.safetensors"), DF11_STORE_OTHER);
	ASSERT_EQ(KIND("sock.safetensors"), DF11_STORE_OTHER);
#undef KIND
	ASSERT_EQ(fstatat(dfd, "off", &st, 0), 0);
	ASSERT_EQ(df11_store_classify(-1, "off", &st), DF11_STORE_DIR);

	ASSERT_EQ(df11_store_list(dfd, &v, &n), 0);
	ASSERT(n >= 8);
	for (size_t i = 1; i < n; i++)
		ASSERT(strcmp(v[i - 1].name, v[i].name) < 0);
	ASSERT(strcmp(v[0].name, "a.safetensors") == 0);
	df11_store_list_free(v, n);
}

static void test_plain(int dfd)
{
	static const char hdr[] =
	    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
	unsigned char b[8 + sizeof(hdr) - 1 + 4] = {sizeof(hdr) - 1};
	struct df11_store_set *set;
	struct df11_source *src;
	char err[256];

	memcpy(b + 8, hdr, sizeof(hdr) - 1);
	put_file("plain.safetensors", b, sizeof(b));
	ASSERT_EQ(df11_store_ct_open(dfd, "plain.safetensors", 0, NULL, &src,
				     &set, err, sizeof(err)),
		  -ENOMSG);
	ASSERT(!src && !set);
	ASSERT_EQ(df11_store_ct_open(dfd, "fifo.safetensors", 0, NULL, &src,
				     &set, err, sizeof(err)),
		  -ENXIO);
	ASSERT(strstr(err, "fifo.safetensors") && strstr(err, "fifo)"));
}

static void count_warn(void *ctx, const char *msg)
{
	(*(int *)ctx)++;
	ASSERT(strstr(msg, "skipped") != NULL);
}

static void test_model(void)
{
	char path[PATH_MAX + 32], err[512] = "";
	struct df11_store_model_opts o = {.warn = count_warn};
	struct df11_store_model *m, *clean;
	int warned = 0, mfd, dfd;
	size_t n;

	snprintf(path, sizeof(path), "cp -r " OFFICIAL " %s/m", dir);
	ASSERT_EQ(system(path), 0);
	snprintf(path, sizeof(path), "%s/m", dir);
	mfd = open(path, O_RDONLY | O_DIRECTORY);
	ASSERT(mfd >= 0);
	ASSERT_EQ(
	    df11_store_model_open(mfd, "m", NULL, &clean, err, sizeof(err)), 0);
	n = df11_off_n_vfiles(df11_store_model_off(clean));
	ASSERT(n >= 2);
	ASSERT_EQ(symlinkat("/etc/hostname", mfd, "yy.safetensors"), 0);
	ASSERT_EQ(mkfifoat(mfd, "zz.safetensors", 0644), 0);

	o.warn_ctx = &warned;
	ASSERT_EQ(df11_store_model_open(mfd, "m", &o, &m, err, sizeof(err)), 0);
	ASSERT_EQ(warned, 2);
	ASSERT_EQ(df11_off_n_vfiles(df11_store_model_off(m)), n);
	ASSERT(!df11_store_model_hides(m, "zz.safetensors"));
	ASSERT(!df11_store_model_hides(m, "yy.safetensors"));
	ASSERT(df11_store_model_hides(m, "model_layers_0.safetensors"));
	ASSERT(df11_store_model_hides(m, "config.json"));
	ASSERT(!df11_store_model_hides(m, "generation_config.json"));
	ASSERT(S_ISREG(df11_store_model_config_stat(m)->st_mode));
	ASSERT_EQ(df11_store_set_check(df11_store_model_set(m)), 0);

	/* a deleted file: released by the sweep, stale from then on */
	ASSERT_EQ(unlinkat(mfd, "model_layers_1.safetensors", 0), 0);
	ASSERT_EQ(df11_store_set_check(df11_store_model_set(m)), -ESTALE);
	ASSERT_EQ(df11_store_set_sweep(df11_store_model_set(m)), 1);
	ASSERT_EQ(df11_store_set_sweep(df11_store_model_set(m)), 0);
	ASSERT_EQ(df11_store_set_sweep(df11_store_model_set(clean)), 1);
	df11_store_model_close(m);
	df11_store_model_close(clean);

	/* strict: the first refused entry (sorted) fails the open */
	o.flags = DF11_STORE_STRICT;
	warned = 0;
	ASSERT_EQ(df11_store_model_open(mfd, "m", &o, &m, err, sizeof(err)),
		  -ELOOP);
	ASSERT(strstr(err, "'m/yy.safetensors': symbolic link") != NULL);
	ASSERT_EQ(warned, 0);

	/* not official */
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ASSERT_EQ(df11_store_model_open(dfd, "x", NULL, &m, err, sizeof(err)),
		  -ENODATA);
	ASSERT(!m);
	close(dfd);
	close(mfd);
}

int main(void)
{
	char cmd[PATH_MAX];
	int dfd;

	ASSERT(mkdtemp(dir) != NULL);
	dfd = open(dir, O_PATH | O_DIRECTORY);
	ASSERT(dfd >= 0);
	make_tree(dfd);
	test_openat(dfd);
	test_pread(dfd);
	test_classify(dfd);
	test_plain(dfd);
	test_model();
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(system(cmd), 0);
	TEST_DONE();
}
