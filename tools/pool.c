// SPDX-License-Identifier: MIT
/*
 * tools/pool.c - a small pthread worker pool and a blocking budget
 *
 * The pool runs tasks FIFO on a fixed set of threads; each task learns the
 * index of the thread that runs it, so callers can keep per-thread state
 * (decoder scratch, chunk buffers) in a plain array without locks. Tasks
 * never fail through the pool: they record their own errors.
 *
 * The budget bounds what is in flight (bytes of segment buffers, open
 * files). The submitting thread takes units before it queues a task and the
 * task gives them back, so a slow pool stalls the submitter instead of
 * letting memory grow.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "tools/tool_i.h"

struct task {
	struct task *next;
	df11_task_fn fn;
	void *arg;
};

struct df11_pool {
	pthread_mutex_t mu;
	pthread_cond_t work; /* a task was queued, or quit */
	pthread_cond_t idle; /* a task ended */
	struct task *head, *tail;
	unsigned busy; /* tasks running */
	bool quit;
	unsigned n, started;
	pthread_t *th;
};

struct worker_arg {
	struct df11_pool *p;
	unsigned idx;
};

static void *worker_main(void *v)
{
	struct worker_arg *wa = v;
	struct df11_pool *p = wa->p;
	unsigned idx = wa->idx;

	free(wa);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->quit)
			pthread_cond_wait(&p->work, &p->mu);
		if (!p->head)
			break;
		struct task *t = p->head;
		p->head = t->next;
		if (!p->head)
			p->tail = NULL;
		p->busy++;
		pthread_mutex_unlock(&p->mu);
		t->fn(t->arg, idx);
		free(t);
		pthread_mutex_lock(&p->mu);
		p->busy--;
		if (!p->head && !p->busy)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int df11_pool_new(struct df11_pool **out, unsigned n)
{
	struct df11_pool *p;
	int rc;

	if (n == 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->th = calloc(n, sizeof(*p->th));
	if (!p->th) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->idle, NULL);
	p->n = n;
	for (; p->started < n; p->started++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		if (!wa) {
			rc = -ENOMEM;
			goto fail;
		}
		wa->p = p;
		wa->idx = p->started;
		rc = pthread_create(&p->th[p->started], NULL, worker_main, wa);
		if (rc) {
			free(wa);
			rc = -rc;
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	df11_pool_free(p);
	return rc;
}

int df11_pool_submit(struct df11_pool *p, df11_task_fn fn, void *arg)
{
	struct task *t = malloc(sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->next = NULL;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = t;
	else
		p->head = t;
	p->tail = t;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void df11_pool_wait(struct df11_pool *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->head || p->busy)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

unsigned df11_pool_size(const struct df11_pool *p)
{
	return p->n;
}

void df11_pool_free(struct df11_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true; /* workers drain the queue, then leave */
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p->th);
	free(p);
}

/* ---------------------------------------------------------------- budget */

struct df11_budget {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t cap, used;
};

int df11_budget_new(struct df11_budget **out, uint64_t cap)
{
	struct df11_budget *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->cap = cap;
	*out = b;
	return 0;
}

void df11_budget_take(struct df11_budget *b, uint64_t n)
{
	pthread_mutex_lock(&b->mu);
	/* over the cap: wait for room, or for nothing else to be held */
	while (b->used && b->used + n > b->cap)
		pthread_cond_wait(&b->cv, &b->mu);
	b->used += n;
	pthread_mutex_unlock(&b->mu);
}

void df11_budget_give(struct df11_budget *b, uint64_t n)
{
	pthread_mutex_lock(&b->mu);
	b->used -= n;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void df11_budget_free(struct df11_budget *b)
{
	if (!b)
		return;
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
