/* SPDX-License-Identifier: MIT */
/*
 * fs/index.c - the resident indexes of containers: a cap, least recently
 * used first out
 *
 * A probed container keeps its index (df11_ct_mem: the original header,
 * the segment table, the DF11 tables) in its inode's virtual file for as
 * long as the kernel caches the inode, which may be for ever: a `stat`
 * of every file of a big tree would keep every index. The containers
 * probed are kept on a list, least recently probed or opened first, with
 * the bytes of their indexes (store/store.h counts them); when the total
 * passes the cap (t->index_cap), the oldest that no open file holds lose
 * their virtual file and are probed again when next needed, as a file
 * seen for the first time. An open file keeps its container, so the
 * indexes in memory are at most the cap, the one just probed past it,
 * and those of open files.
 *
 * Locking: t->lru_lock guards the list and its total; an inode's lock
 * comes first (a probe adds under it). Eviction, which holds the list
 * lock, only tries the lock of an inode and skips a busy one; an inode
 * leaves the list under the list lock before it is freed.
 */
#include <stdlib.h>

#include "cache/cache.h"
#include "store/store.h"
#include "fs_i.h"
#include "inode_i.h"

#define TRIM_BATCH 16 /* victims let go of per pass, outside the lock */

static void unlink_locked(struct df11fs_itable *t, struct df11fs_inode *in)
{
	if (in->lru_prev)
		in->lru_prev->lru_next = in->lru_next;
	else
		t->lru_head = in->lru_next;
	if (in->lru_next)
		in->lru_next->lru_prev = in->lru_prev;
	else
		t->lru_tail = in->lru_prev;
	in->lru_prev = in->lru_next = NULL;
	t->lru_bytes -= in->lru_bytes;
	in->lru_bytes = 0;
	in->lru_t = NULL;
}

static void append_locked(struct df11fs_itable *t, struct df11fs_inode *in)
{
	in->lru_next = NULL;
	in->lru_prev = t->lru_tail;
	if (t->lru_tail)
		t->lru_tail->lru_next = in;
	else
		t->lru_head = in;
	t->lru_tail = in;
}

void df11fs_index_add_locked(struct df11fs_itable *t, struct df11fs_inode *in)
{
	pthread_mutex_lock(&t->lru_lock);
	if (in->lru_t)
		unlink_locked(t, in);
	in->lru_bytes = df11_store_set_index(in->set);
	in->lru_t = t;
	t->lru_bytes += in->lru_bytes;
	append_locked(t, in);
	pthread_mutex_unlock(&t->lru_lock);
}

void df11fs_index_touch_locked(struct df11fs_inode *in)
{
	struct df11fs_itable *t = in->lru_t;
	size_t n;

	if (!t)
		return;
	pthread_mutex_lock(&t->lru_lock);
	if (in->lru_t == t && t->lru_tail != in) {
		n = in->lru_bytes;
		unlink_locked(t, in);
		in->lru_bytes = n;
		in->lru_t = t;
		t->lru_bytes += n;
		append_locked(t, in);
	}
	pthread_mutex_unlock(&t->lru_lock);
}

void df11fs_inode_drop_locked(struct df11fs_inode *in)
{
	struct df11fs_itable *t = in->lru_t;

	if (t) {
		pthread_mutex_lock(&t->lru_lock);
		unlink_locked(t, in);
		pthread_mutex_unlock(&t->lru_lock);
	}
	df11_vfile_put(in->vf);
	in->vf = NULL;
	df11_store_set_put(in->set);
	in->set = NULL;
}

void df11fs_index_trim(struct df11fs_itable *t, struct df11fs_inode *self)
{
	struct df11_vfile *vf[TRIM_BATCH];
	struct df11_store_set *set[TRIM_BATCH];
	struct df11fs_inode *in, *next;
	size_t n = 0;

	pthread_mutex_lock(&t->lru_lock);
	for (in = t->lru_head;
	     in && t->lru_bytes > t->index_cap && n < TRIM_BATCH; in = next) {
		next = in->lru_next;
		if (in == self || atomic_load(&in->opens) > 0 ||
		    pthread_mutex_trylock(&in->lock) != 0)
			continue;
		if (atomic_load(&in->opens) == 0 &&
		    in->kind == DF11FS_K_CONTAINER) {
			unlink_locked(t, in);
			vf[n] = in->vf;
			set[n++] = in->set;
			in->vf = NULL;
			in->set = NULL;
			in->kind = DF11FS_K_UNPROBED; /* probed again on use */
			t->evictions++;
		}
		pthread_mutex_unlock(&in->lock);
	}
	pthread_mutex_unlock(&t->lru_lock);
	while (n--) { /* frees the indexes: no lock of ours held */
		df11_vfile_put(vf[n]);
		df11_store_set_put(set[n]);
	}
}

void df11fs_index_stats(struct df11fs_itable *t, uint64_t *bytes, uint64_t *cap,
			uint64_t *evictions)
{
	pthread_mutex_lock(&t->lru_lock);
	*bytes = t->lru_bytes;
	*cap = t->index_cap;
	*evictions = t->evictions;
	pthread_mutex_unlock(&t->lru_lock);
}
