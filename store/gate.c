/* SPDX-License-Identifier: MIT */
/*
 * store/gate.c - admission of container header parses, and the count of
 * the indexes they leave resident
 *
 * Opening a container parses its JSON header with jansson, which takes
 * about ten heap bytes per header byte for a header of tiny entries
 * (measured: a 32 MiB header peaks near 400 MiB), and a lookup of every
 * container runs one. Many lookups at once (threads=64, a `stat` of each
 * shard of a model) would each hold that much. A parse is therefore
 * admitted first, for DF11_STORE_PARSE_FACTOR bytes per header byte:
 *
 *   small lane  a cost of at most DF11_STORE_GATE_SMALL (a header of
 *               1 MiB, larger than any real model's) is admitted while
 *               the small parses in flight stay within
 *               DF11_STORE_GATE_RESERVE; they never wait behind a large
 *               one, so a lookup of an ordinary file stays quick;
 *   large lane  any other waits in arrival order (FIFO) until the large
 *               parses in flight plus its own cost fit in the budget;
 *               one larger than the whole budget runs alone.
 *
 * So parses hold at most DF11_STORE_GATE_RESERVE + max(budget, the
 * largest admitted cost) at once, whatever the number of threads.
 *
 * Admission alone does not bound the resident set: glibc keeps the freed
 * nodes of a tree in the malloc arena of the thread that parsed it, and
 * each FUSE thread has its own, so that eight parses one after the other
 * on eight threads kept eight peaks resident (measured: 2.5 GB for eight
 * 32 MiB headers), and malloc_trim() of millions of tiny chunks took
 * seconds. A large parse therefore takes jansson's small blocks (at most
 * ARENA_BLOCK bytes: the tree's nodes, keys and short strings) from a
 * region of its own, mapped for its cost and unmapped when it ends: no
 * jansson value outlives df11_ct_open() (ct_read.c drops every tree), so
 * the whole region goes back at once. Larger blocks (long strings, the
 * lexer's buffer, hash buckets), and any block once the region is full,
 * come from malloc as usual. jansson's allocator is process-wide
 * (json_set_alloc_funcs, set once by df11_store_gate_new): outside a
 * large parse, or on another thread, it is malloc and free.
 *
 * The index a container keeps once open (df11_ct_mem) is counted here
 * too, from the open until its set is freed with the container.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include <jansson.h>

#include "store/store_i.h"

#define ARENA_BLOCK 1024u /* the largest block taken from a region */

/* a large parse's region of small jansson blocks */
struct arena {
	uint8_t *base;
	size_t cap, used;
};

static _Thread_local struct arena *cur; /* this thread's, while it parses */
static _Thread_local struct arena mine; /* one parse at a time a thread */
static pthread_once_t alloc_once = PTHREAD_ONCE_INIT;

static void *arena_malloc(size_t n)
{
	struct arena *a = cur;
	size_t k = (n + 15) & ~(size_t)15;

	if (a && n <= ARENA_BLOCK && k <= a->cap - a->used) {
		void *p = a->base + a->used;

		a->used += k;
		return p;
	}
	return malloc(n);
}

static void arena_free(void *p)
{
	const struct arena *a = cur;

	if (a && (uint8_t *)p >= a->base && (uint8_t *)p < a->base + a->cap)
		return; /* goes with the region */
	free(p);
}

static void alloc_install(void)
{
	json_set_alloc_funcs(arena_malloc, arena_free);
}

/* make @a this thread's region for @cost bytes; none when mmap fails */
static void arena_open(struct arena *a, size_t cost)
{
	void *p = mmap(NULL, cost, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return;
	a->base = p;
	a->cap = cost;
	a->used = 0;
	cur = a;
}

static void arena_close(struct arena *a)
{
	if (cur != a)
		return;
	cur = NULL;
	munmap(a->base, a->cap);
}

/* a large parse waiting for its turn; lives on its thread's stack */
struct waiter {
	struct waiter *next;
	size_t cost;
};

/**
 * struct df11_store_gate - the lanes and the counters.
 * @lock, @cond:  guard and signal everything below but the atomics
 * @budget:       the large lane's bytes
 * @small, @large: bytes admitted now in each lane
 * @peak:         the most bytes admitted at once, both lanes
 * @head, @tail:  the large lane's FIFO of waiters
 * @parses, @waits, @wait_ns: admissions, those that waited, time waited
 * @index, @index_peak, @n_index: resident index bytes now and at most,
 *                and the containers they belong to
 */
struct df11_store_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t budget, small, large, peak;
	struct waiter *head, *tail;
	uint64_t parses, waits, wait_ns;
	atomic_size_t index, index_peak, n_index;
};

int df11_store_gate_new(struct df11_store_gate **out, size_t budget)
{
	struct df11_store_gate *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g)
		return -ENOMEM;
	if (pthread_mutex_init(&g->lock, NULL)) {
		free(g);
		return -ENOMEM;
	}
	if (pthread_cond_init(&g->cond, NULL)) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		return -ENOMEM;
	}
	g->budget = budget;
	pthread_once(&alloc_once, alloc_install);
	*out = g;
	return 0;
}

void df11_store_gate_free(struct df11_store_gate *g)
{
	if (!g)
		return;
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

size_t df11_store_gate_cost(uint64_t hdr_len)
{
	if (hdr_len > SIZE_MAX / DF11_STORE_PARSE_FACTOR)
		return SIZE_MAX;
	return (size_t)hdr_len * DF11_STORE_PARSE_FACTOR;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void note_peak_locked(struct df11_store_gate *g)
{
	if (g->small + g->large > g->peak)
		g->peak = g->small + g->large;
}

void store_gate_enter(struct df11_store_gate *g, size_t cost)
{
	struct waiter me = {.cost = cost};
	uint64_t t0 = 0;

	pthread_mutex_lock(&g->lock);
	g->parses++;
	if (cost <= DF11_STORE_GATE_SMALL) {
		while (g->small && g->small + cost > DF11_STORE_GATE_RESERVE) {
			if (!t0)
				t0 = now_ns();
			pthread_cond_wait(&g->cond, &g->lock);
		}
		g->small += cost;
		goto out;
	}
	if (!g->head && (!g->large || g->large + cost <= g->budget)) {
		g->large += cost; /* nobody waits and it fits */
		goto large;
	}
	t0 = now_ns();
	if (g->tail)
		g->tail->next = &me;
	else
		g->head = &me;
	g->tail = &me;
	while (g->head != &me || (g->large && g->large + cost > g->budget))
		pthread_cond_wait(&g->cond, &g->lock);
	g->head = me.next;
	if (!g->head)
		g->tail = NULL;
	g->large += cost;
	pthread_cond_broadcast(&g->cond); /* the next one may fit too */
large:
	arena_open(&mine, cost);
out:
	if (t0) {
		g->waits++;
		g->wait_ns += now_ns() - t0;
	}
	note_peak_locked(g);
	pthread_mutex_unlock(&g->lock);
}

void store_gate_leave(struct df11_store_gate *g, size_t cost)
{
	int large = cost > DF11_STORE_GATE_SMALL;

	if (large) {
		arena_close(&mine);
#ifdef __GLIBC__
		malloc_trim(0); /* the long strings' pages, freed in the heap */
#endif
	}
	pthread_mutex_lock(&g->lock);
	if (large)
		g->large -= cost;
	else
		g->small -= cost;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void store_gate_index(struct df11_store_gate *g, size_t nbytes, int add)
{
	size_t now, peak;

	if (!add) {
		atomic_fetch_sub(&g->index, nbytes);
		atomic_fetch_sub(&g->n_index, 1);
		return;
	}
	atomic_fetch_add(&g->n_index, 1);
	now = atomic_fetch_add(&g->index, nbytes) + nbytes;
	peak = atomic_load(&g->index_peak);
	while (now > peak &&
	       !atomic_compare_exchange_weak(&g->index_peak, &peak, now))
		;
}

void df11_store_gate_stats(struct df11_store_gate *g,
			   struct df11_store_gate_stats *st)
{
	pthread_mutex_lock(&g->lock);
	st->budget = g->budget;
	st->used = g->small + g->large;
	st->peak = g->peak;
	st->parses = g->parses;
	st->waits = g->waits;
	st->wait_ns = g->wait_ns;
	pthread_mutex_unlock(&g->lock);
	st->index = atomic_load(&g->index);
	st->index_peak = atomic_load(&g->index_peak);
	st->containers = atomic_load(&g->n_index);
}
