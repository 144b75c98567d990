/* SPDX-License-Identifier: MIT */
/*
 * fs/room.c - how much the machine can still give to backing files
 *
 * Backing files (fs/fill.c) live in memory (a tmpfs, memfds) or on a disk
 * (-o decoded_dir= on a disk file system). Memory they take cannot be
 * reclaimed without swap, so before a fill starts, and about once a
 * second while the mount is up, the fill asks how much is left:
 *   - memory: MemAvailable (/proc/meminfo), and under a memory limit of
 *     the daemon's cgroup or one of its ancestors (v2 memory.max, v1
 *     memory.limit_in_bytes), the limit less the usage plus the cgroup's
 *     reclaimable page cache (file less shmem), whichever is smaller; a
 *     tmpfs directory's own free space also bounds it;
 *   - a disk: the free space of the directory's file system.
 * Reads a few small files from /proc and /sys: a few tens of
 * microseconds. Thread-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_i.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef RAMFS_MAGIC
#define RAMFS_MAGIC 0x858458f6
#endif

#define CG_DEPTH 16 /* cgroup levels looked at, at most */

/* the whole of a small file at @path, NUL-terminated, into @buf */
static int slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return 0;
}

/* the number after "@key" at the start of a line of @text, or -1 */
static int64_t field(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, key, kl) == 0) {
			char *end;
			unsigned long long v = strtoull(p + kl, &end, 10);
			return end == p + kl || v > INT64_MAX ? -1 : (int64_t)v;
		}
	return -1;
}

/* MemAvailable, in bytes, or -1 */
static int64_t mem_available(void)
{
	char buf[8192];
	int64_t kb;

	if (slurp("/proc/meminfo", buf, sizeof(buf)))
		return -1;
	kb = field(buf, "MemAvailable:");
	return kb < 0 || kb > INT64_MAX / 1024 ? -1 : kb * 1024;
}

uint64_t df11fs_mem_total(void)
{
	char buf[8192];
	int64_t kb;

	if (slurp("/proc/meminfo", buf, sizeof(buf)))
		return 0;
	kb = field(buf, "MemTotal:");
	return kb < 0 || kb > INT64_MAX / 1024 ? 0 : (uint64_t)kb * 1024;
}

/* one cgroup version's names for the limit, the usage and memory.stat */
struct cgnames {
	const char *root, *limit, *usage, *file, *shmem;
};

static const struct cgnames cg_v2 = {"/sys/fs/cgroup", "memory.max",
				     "memory.current", "file ", "shmem "};
static const struct cgnames cg_v1 = {
    "/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
    "cache ", "shmem "};

/* file @name of cgroup directory @dir into @buf */
static int cg_read(const char *dir, const char *name, char *buf, size_t cap)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return slurp(path, buf, cap);
}

/* the headroom of cgroup directory @dir, or -1 (no limit there) */
static int64_t cg_level(const struct cgnames *n, const char *dir)
{
	char buf[8192];
	int64_t lim, use, file, shmem, room;

	if (cg_read(dir, n->limit, buf, sizeof(buf)) ||
	    strncmp(buf, "max", 3) == 0)
		return -1;
	lim = field(buf, "");
	/* v1 says "no limit" with a number near 2^63 */
	if (lim < 0 || lim >= INT64_MAX / 2)
		return -1;
	if (cg_read(dir, n->usage, buf, sizeof(buf)) ||
	    (use = field(buf, "")) < 0)
		return -1;
	file = shmem = 0;
	if (cg_read(dir, "memory.stat", buf, sizeof(buf)) == 0) {
		file = field(buf, n->file);
		shmem = field(buf, n->shmem);
		if (file < 0 || shmem < 0 || shmem > file)
			file = shmem = 0;
	}
	room = lim - use;
	if (room < 0)
		room = 0;
	return room > INT64_MAX - (file - shmem) ? INT64_MAX
						 : room + (file - shmem);
}

/*
 * The least headroom of the daemon's memory cgroup and its ancestors, or
 * -1 (no limit, or no cgroup file system to tell).
 */
static int64_t cg_room(void)
{
	char buf[8192], dir[PATH_MAX];
	int64_t best = -1;

	if (slurp("/proc/self/cgroup", buf, sizeof(buf)))
		return -1;
	for (char *sp, *line = strtok_r(buf, "\n", &sp); line;
	     line = strtok_r(NULL, "\n", &sp)) {
		const struct cgnames *n;
		char *p = strchr(line, ':'), *q = p ? strchr(p + 1, ':') : NULL;
		size_t len;

		if (!q)
			continue;
		if (strncmp(p, "::", 2) == 0)
			n = &cg_v2;
		else if (strncmp(p + 1, "memory:", 7) == 0)
			n = &cg_v1;
		else
			continue;
		if (snprintf(dir, sizeof(dir), "%s%s", n->root, q + 1) >=
		    (int)sizeof(dir))
			continue;
		/* this level, then each ancestor up to the root */
		for (int d = 0; d < CG_DEPTH; d++) {
			int64_t r = cg_level(n, dir);
			char *slash;

			if (r >= 0 && (best < 0 || r < best))
				best = r;
			len = strlen(n->root);
			if (strlen(dir) <= len ||
			    !(slash = strrchr(dir + len, '/')))
				break;
			*slash = '\0';
		}
	}
	return best;
}

int df11fs_room(int dirfd, uint64_t *room)
{
	struct statfs sf;
	struct statvfs sv;
	int64_t mem, cg;
	uint64_t disk = UINT64_MAX;
	int memory = 1;

	if (dirfd >= 0) {
		if (fstatfs(dirfd, &sf) != 0 || fstatvfs(dirfd, &sv) != 0)
			return -errno;
		memory = sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
		/* ramfs has no size: it says 0 blocks */
		if (sf.f_type != RAMFS_MAGIC)
			disk = sv.f_frsize &&
				       sv.f_bavail > UINT64_MAX / sv.f_frsize
				   ? UINT64_MAX
				   : (uint64_t)sv.f_bavail * sv.f_frsize;
	}
	if (!memory) {
		*room = disk;
		return 0;
	}
	if ((mem = mem_available()) < 0)
		return -ENOSYS;
	if ((cg = cg_room()) >= 0 && cg < mem)
		mem = cg;
	*room = (uint64_t)mem < disk ? (uint64_t)mem : disk;
	return 0;
}
