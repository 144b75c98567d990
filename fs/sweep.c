/* SPDX-License-Identifier: MIT */
/*
 * fs/sweep.c - letting go of source files deleted while mounted
 *
 * The kernel may keep a name cached (and so its inode, with our O_PATH
 * descriptor, and a container's open descriptor) long after the file
 * was removed from SOURCE, which would keep the disk space of a removed
 * model in use until unmount. About once a second the main thread pins
 * every inode (one more lookup, so that a concurrent FORGET cannot free
 * it), checks st_nlink of its source without the table lock, and
 * releases (df11_store_release) the descriptors of deleted ones: the
 * inode's own, its container's, its official model's files. A released
 * inode leaves the hash for the table's gone list, where FORGET or
 * unmount finds it, and answers ESTALE from then on.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cache/cache.h"
#include "store/store.h"
#include "fs_i.h"
#include "inode_i.h"

/* release @in's descriptors if its source was deleted (@in pinned) */
static void sweep_one(struct df11fs_itable *t, struct df11fs_inode *in)
{
	struct stat st;
	size_t n = 0;

	if (in->type == S_IFDIR)
		df11fs_off_sweep(in);
	pthread_mutex_lock(&in->lock);
	if (in->set)
		n = df11_store_set_sweep(in->set);
	pthread_mutex_unlock(&in->lock);
	if (in == t->root || atomic_load(&in->gone) ||
	    fstatat(in->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) !=
		0 ||
	    st.st_nlink != 0)
		return;
	/* out of the hash first: its inode number may be reused */
	pthread_mutex_lock(&t->lock);
	df11fs_inode_retire_locked(t, in);
	pthread_mutex_unlock(&t->lock);
	atomic_store(&in->gone, 1);
	df11_store_release(in->fd);
	pthread_mutex_lock(&in->lock);
	df11fs_inode_drop_locked(in);
	if (in->probe)
		in->kind = DF11FS_K_PLAIN;
	pthread_mutex_unlock(&in->lock);
	df11fs_log(LOG_DEBUG, "'%s': deleted from the source, released%s",
		   in->path, n ? " (and its container)" : "");
}

struct df11fs_inode **df11fs_itable_pin_all(struct df11fs_itable *t,
					    size_t *n)
{
	struct df11fs_inode **v;

	*n = 0;
	pthread_mutex_lock(&t->lock);
	v = calloc(t->count + 1, sizeof(*v));
	for (size_t i = 0; v && i < t->n_buckets; i++)
		for (struct df11fs_inode *in = t->buckets[i]; in;
		     in = in->next) {
			in->nlookup++; /* pinned until df11fs_itable_unpin_all */
			v[(*n)++] = in;
		}
	pthread_mutex_unlock(&t->lock);
	return v;
}

void df11fs_itable_unpin_all(struct df11fs_itable *t,
			     struct df11fs_inode **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		df11fs_inode_forget(t, v[i], 1);
	free(v);
}

void df11fs_itable_sweep(struct df11fs_itable *t)
{
	size_t n;
	struct df11fs_inode **v = df11fs_itable_pin_all(t, &n);

	for (size_t i = 0; i < n; i++)
		sweep_one(t, v[i]);
	df11fs_itable_unpin_all(t, v, n);
}
