/* SPDX-License-Identifier: MIT */
/*
 * fs/passthrough.c - FUSE passthrough (Linux 6.9+) with libfuse 3.14
 *
 * With passthrough the kernel reads an open file straight from a backing
 * file that the daemon registered (FUSE_DEV_IOC_BACKING_OPEN): read(2),
 * splice and mmap faults then never become FUSE requests, and run at the
 * speed of the backing file's page cache. fs/fill.c decodes whole files
 * into such backing files.
 *
 * libfuse 3.16 has an API for it; Debian 12 ships 3.14, which neither
 * negotiates the capability nor can reply to an open with a backing id.
 * So this file speaks those two bits of the protocol itself (the layouts
 * are the kernel's uapi, <linux/fuse.h> 7.40):
 *
 *  - INIT: libfuse processes the request as usual, but its reply is
 *    caught (the session descriptor points at a pipe for that one call,
 *    made before any worker thread runs), FUSE_PASSTHROUGH and
 *    max_stack_depth are added when the kernel offered it, and the reply
 *    is written to /dev/fuse;
 *  - OPEN: the reply (fuse_out_header + fuse_open_out with
 *    FOPEN_PASSTHROUGH and the backing id) is written directly, with the
 *    request's unique id that the worker loop noted before dispatching
 *    (df11fs_pt_set_unique), and libfuse's request is freed with
 *    fuse_reply_none.
 *
 * Registering a backing file needs CAP_SYS_ADMIN: a mount by another user
 * has no passthrough and reads every file through requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fs_i.h"

/* <linux/fuse.h> 7.40, which Debian 12's headers predate */
#define PT_INIT_EXT	(1u << 30)
#define PT_PASSTHROUGH2 (1u << 5) /* FUSE_PASSTHROUGH (bit 37) in flags2 */
#define PT_FOPEN	(1u << 7) /* FOPEN_PASSTHROUGH */
#define PT_OPCODE_INIT	26
#define PT_WRITEBACK	(1u << 16) /* FUSE_WRITEBACK_CACHE */
#define PT_STACK_DEPTH	1 /* backing files on a filesystem that stacks none */

struct pt_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};

struct pt_init_in {
	uint32_t major, minor, max_readahead, flags, flags2, unused[11];
};

struct pt_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct pt_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth, unused[6];
};

struct pt_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define PT_IOC_BACKING_OPEN  _IOW(229, 1, struct pt_backing_map)
#define PT_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

static _Thread_local uint64_t cur_unique;

void df11fs_pt_set_unique(const struct fuse_buf *buf)
{
	const struct pt_in_header *h = buf->mem;

	cur_unique = !(buf->flags & FUSE_BUF_IS_FD) && buf->size >= sizeof(*h)
			 ? h->unique
			 : 0;
}

/* Does this INIT request offer passthrough? */
static int init_offers(const struct fuse_buf *buf)
{
	const struct pt_in_header *h = buf->mem;
	const struct pt_init_in *in = (const void *)(h + 1);

	if ((buf->flags & FUSE_BUF_IS_FD) ||
	    buf->size < sizeof(*h) + sizeof(*in) || h->opcode != PT_OPCODE_INIT)
		return 0;
	return in->major == 7 && (in->flags & PT_INIT_EXT) &&
	       (in->flags2 & PT_PASSTHROUGH2);
}

int df11fs_pt_init(struct fuse_session *se, const struct fuse_buf *buf,
		   int want)
{
	struct {
		struct pt_out_header h;
		struct pt_init_out o;
	} r;
	int fd = fuse_session_fd(se), saved, p[2], ok = 0;
	ssize_t n;

	p[0] = p[1] = -1;
	if (!want || !init_offers(buf))
		goto plain;
	/*
	 * dup, not F_DUPFD: race detectors see the requests and replies of
	 * one /dev/fuse descriptor as synchronising the threads, and follow
	 * dup() and dup3() but not fcntl()
	 */
	if ((saved = dup(fd)) < 0)
		goto plain;
	fcntl(saved, F_SETFD, FD_CLOEXEC);
	/* libfuse writes its reply (80 bytes, within a pipe's buffer) to p */
	if (pipe2(p, O_CLOEXEC) != 0 || dup3(p[1], fd, O_CLOEXEC) < 0) {
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		close(saved);
		goto plain;
	}
	fuse_session_process_buf(se, buf);
	dup3(saved, fd, O_CLOEXEC);
	close(saved);
	close(p[1]);
	n = read(p[0], &r, sizeof(r));
	close(p[0]);
	if (n <= 0)
		return 0; /* libfuse replied nothing: it logged why */
	if ((size_t)n == sizeof(r) && r.h.len == sizeof(r) && r.h.error == 0 &&
	    !(r.o.flags & PT_WRITEBACK)) {
		r.o.flags |= PT_INIT_EXT;
		r.o.flags2 |= PT_PASSTHROUGH2;
		r.o.max_stack_depth = PT_STACK_DEPTH;
		ok = 1;
	}
	if (write(fd, &r, (size_t)n) != n && ok) {
		/* the kernel refused the patched reply: send libfuse's own */
		r.o.flags2 &= ~PT_PASSTHROUGH2;
		r.o.max_stack_depth = 0;
		ok = 0;
		if (write(fd, &r, (size_t)n) != n)
			df11fs_log(LOG_ERR, "init reply: %s", strerror(errno));
	}
	return ok;
plain:
	fuse_session_process_buf(se, buf);
	return 0;
}

int df11fs_pt_backing_open(struct fuse_session *se, int fd)
{
	struct pt_backing_map m = {.fd = fd};
	int id = ioctl(fuse_session_fd(se), PT_IOC_BACKING_OPEN, &m);

	return id < 0 ? -errno : id;
}

void df11fs_pt_backing_close(struct fuse_session *se, int id)
{
	uint32_t v = (uint32_t)id;

	if (id >= 0)
		ioctl(fuse_session_fd(se), PT_IOC_BACKING_CLOSE, &v);
}

int df11fs_pt_reply_open(fuse_req_t req, struct fuse_session *se, uint64_t fh,
			 int id)
{
	struct {
		struct pt_out_header h;
		struct pt_open_out o;
	} r = {{sizeof(r), 0, cur_unique}, {fh, PT_FOPEN, id}};
	int rc = 0;

	if (!cur_unique) { /* not noted: cannot happen in fs/loop.c */
		fuse_reply_err(req, EIO);
		return -EINVAL;
	}
	if (write(fuse_session_fd(se), &r, sizeof(r)) != (ssize_t)sizeof(r))
		rc = -errno;
	if (rc && rc != -ENOENT)
		fuse_reply_err(req, EIO); /* the kernel took nothing of ours */
	else
		fuse_reply_none(req);
	return rc;
}
