/* SPDX-License-Identifier: MIT */
/*
 * store/store_i.h - the store's internals shared by its files
 *
 *   open.c   df11_store_openat, pread, unchanged, release, sets
 *   entry.c  kinds, listing, containers
 *   gate.c   admission of container opens, resident index bytes
 *   model.c  official model directories
 */
#ifndef DF11_STORE_I_H
#define DF11_STORE_I_H

#include <stdatomic.h>
#include <sys/stat.h>

#include "store/store.h"

/**
 * struct store_file - one opened file of a set.
 * @set:      the set it belongs to (a read callback's context is the
 *            struct store_file, so that it can hold the set)
 * @fd:       the descriptor (owned by the set; released: /dev/null)
 * @st:       its fstat at open
 * @released: set once df11_store_release() replaced @fd
 */
struct store_file {
	struct df11_store_set *set;
	int fd;
	struct stat st;
	atomic_int released;
};

/**
 * struct df11_store_set - files opened for sources, of a fixed capacity
 * (the struct store_file addresses never move: they are contexts).
 * @refs: references (holders of the set and read contexts)
 * @gate, @index: where the container's resident index (@index bytes) is
 *       counted until the set is freed (NULL, 0: nowhere)
 * @n, @cap: files in @f, room for
 */
struct df11_store_set {
	atomic_long refs;
	struct df11_store_gate *gate;
	size_t index;
	size_t n, cap;
	struct store_file f[];
};

/** store_set_new() - an empty set with room for @cap files; NULL: ENOMEM */
struct df11_store_set *store_set_new(size_t cap);

/**
 * store_set_add() - add open file @fd (@st its fstat); the set owns @fd
 * from then on. Return: the file (its address is stable), or NULL when
 * the set is full (then @fd is not taken).
 */
struct store_file *store_set_add(struct df11_store_set *s, int fd,
				 const struct stat *st);

/**
 * store_gate_enter() - wait for admission of a parse of @cost bytes
 * (store/gate.c); store_gate_leave() with the same @cost ends it.
 */
void store_gate_enter(struct df11_store_gate *g, size_t cost);

/** store_gate_leave() - end an admission of store_gate_enter(). */
void store_gate_leave(struct df11_store_gate *g, size_t cost);

/**
 * store_gate_index() - count (@add 1) or stop counting (@add 0) the
 * @nbytes of one resident index.
 */
void store_gate_index(struct df11_store_gate *g, size_t nbytes, int add);

/** store_file_read() - a df11_read_fn over a struct store_file. */
int store_file_read(void *ctx, void *buf, size_t len, uint64_t off);

/**
 * store_refusal() - a one-line reason for a refused entry @name (rc from
 * df11_store_openat, @st what was there; -EBADMSG: a Git LFS pointer in
 * place of the file) into @buf.
 */
void store_refusal(char *buf, size_t len, const char *dir, const char *name,
		   int rc, const struct stat *st);

/**
 * store_read_config() - config.json of directory @dirfd, whole and
 * NUL-terminated, opened with df11_store_openat(@flags).
 * Return: 0 and *@txt (free), *@len, *@st; -ENODATA when it is absent,
 * not a regular file or over DF11_STORE_CONFIG_MAX; -ENOMEM, -EIO.
 */
int store_read_config(int dirfd, unsigned flags, char **txt, size_t *len,
		      struct stat *st);

#endif
