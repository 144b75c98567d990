/* SPDX-License-Identifier: MIT */
/*
 * fs/loop.c - a fixed pool of FUSE worker threads
 *
 * libfuse's multi-threaded loop starts a thread when none is idle and ends
 * one when too many are; with libfuse 3.14 as shipped in Debian 12 that
 * ends up creating and destroying a thread (and cloning /dev/fuse) for
 * nearly every request, which halved df11fs's sequential read speed. This
 * loop starts its threads once: each receives a request, processes it and
 * replies, until the session ends. All threads read the session's one
 * /dev/fuse descriptor; the kernel hands each request to one of them.
 *
 * Signals go to the main thread (the workers block them, and so do the
 * cache's: df11fs_signals_block()). Between two
 * waits, at most WAKE_NS apart and after every signal it takes, the main
 * thread calls the tick, which does what the signal asked (fs/main.c).
 *
 * Shutdown: a signal (libfuse's handlers call fuse_session_exit) wakes the
 * main thread (or its next check, at most WAKE_NS later), which cancels the
 * workers where they wait for a request; a worker is never cancelled while it
 * processes one. An unmount makes every receive fail, and the workers leave by
 * themselves.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "fs_i.h"

#define MAX_POOL 1024
#define WAKE_NS	 (100 * 1000000L) /* the main thread's longest sleep */

struct pool {
	struct fuse_session *se;
	sem_t done;
};

static void free_buf(void *p)
{
	struct fuse_buf *b = p;
	free(b->mem);
	b->mem = NULL;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	struct fuse_buf buf = {.mem = NULL};

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(free_buf, &buf);
	while (!fuse_session_exited(p->se)) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		int r = fuse_session_receive_buf(p->se, &buf);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0) {
			fuse_session_exit(p->se);
			break;
		}
		df11fs_pt_set_unique(&buf);
		fuse_session_process_buf(p->se, &buf);
	}
	pthread_cleanup_pop(1);
	sem_post(&p->done);
	return NULL;
}

void df11fs_signals_block(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

int df11fs_loop_init(struct fuse_session *se, int want_pt)
{
	struct fuse_buf buf = {.mem = NULL};
	int r;

	do
		r = fuse_session_receive_buf(se, &buf);
	while ((r == -EINTR || r == -EAGAIN) && !fuse_session_exited(se));
	if (r <= 0) {
		free(buf.mem);
		return r < 0 ? r : -ENOTCONN;
	}
	r = df11fs_pt_init(se, &buf, want_pt);
	free(buf.mem);
	return r;
}

int df11fs_loop(struct fuse_session *se, unsigned threads,
		void (*tick)(void *ctx), void *ctx)
{
	struct pool p = {.se = se};
	pthread_t *tid;
	sigset_t old;
	unsigned n = 0;

	if (threads < 1)
		threads = 1;
	if (threads > MAX_POOL)
		threads = MAX_POOL;
	if (!(tid = calloc(threads, sizeof(*tid))))
		return -ENOMEM;
	sem_init(&p.done, 0, 0);
	/* the main thread takes the signals; workers only serve */
	df11fs_signals_block(&old);
	for (; n < threads; n++)
		if (pthread_create(&tid[n], NULL, worker, &p))
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!n) {
		free(tid);
		sem_destroy(&p.done);
		return -EAGAIN;
	}
	/*
	 * A signal or a worker that left ends the wait. A signal that comes
	 * between the check and sem_wait() would interrupt nothing, so the
	 * wait is bounded and the flag checked again.
	 */
	while (!fuse_session_exited(se)) {
		struct timespec t;
		if (tick)
			tick(ctx);
		df11fs_deadline(&t, WAKE_NS);
		sem_timedwait(&p.done, &t);
	}
	for (unsigned i = 0; i < n; i++)
		pthread_cancel(tid[i]);
	for (unsigned i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	sem_destroy(&p.done);
	free(tid);
	return 0;
}
