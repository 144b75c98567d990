// SPDX-License-Identifier: MIT
/*
 * tools/progress.c - the progress bar and the line printer it shares
 *
 * The bar is one line on stdout, drawn only when stdout is a terminal and
 * -q was not given:
 *
 *   compressing [#########.........]  2/5 files  1.2/3.4 GB  410 MB/s  ETA 0:05
 *
 * Workers only bump two atomic counters; a thread redraws the line ten
 * times a second, so the cost does not depend on how often work is
 * reported. Every other line the tool prints (errors on stderr, summaries
 * on stdout) goes through df11_prog_line(), which erases the bar first
 * under the same lock; the next tick draws it again below.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tools/tool_i.h"

#define TICK_NS 100000000L /* 10 redraws a second */

static struct {
	pthread_mutex_t mu; /* the terminal: drawing and printing */
	pthread_cond_t cv;
	pthread_t th;
	bool on, quit, drawn;
	const char *verb;
	uint64_t files, bytes;
	_Atomic uint64_t done_files, done_bytes;
	struct timespec t0;
} g = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
};

const char *df11_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"kB", "MB", "GB", "TB", "PB"};
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1000) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 999.95 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

double df11_prog_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - g.t0.tv_sec) +
	       (double)(t.tv_nsec - g.t0.tv_nsec) / 1e9;
}

static unsigned term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
		return ws.ws_col;
	return 80;
}

int df11_digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/*
 * Draw the bar; called with g.mu held. Fields have fixed widths so that
 * the line does not jitter; the bar takes what the terminal has left.
 */
static void draw(void)
{
	uint64_t done = atomic_load(&g.done_bytes);
	uint64_t nf = atomic_load(&g.done_files);
	double secs = df11_prog_seconds(), rate = 0;
	char tail[160], a[32], b[32], eta[32] = "--:--", bar[64];
	int cols = (int)term_cols(), width, fill, tl;

	if (done > g.bytes)
		done = g.bytes;
	if (secs > 0.2)
		rate = (double)done / secs;
	if (rate > 0 && done > 0) {
		unsigned long left =
		    (unsigned long)((double)(g.bytes - done) / rate);

		snprintf(eta, sizeof(eta), "%lu:%02lu", left / 60, left % 60);
	}
	df11_human(g.bytes, b, sizeof(b));
	snprintf(tail, sizeof(tail),
		 "%*llu/%llu files  %*s/%s  %5.0f MB/s  ETA %5s",
		 df11_digits(g.files), (unsigned long long)nf,
		 (unsigned long long)g.files, (int)strlen(b) + 1,
		 df11_human(done, a, sizeof(a)), b, rate / 1e6, eta);
	tl = (int)(strlen(tail) + strlen(g.verb)) + 6;
	width = cols - tl - 1;
	width = width > 30 ? 30 : width;
	fill = g.bytes ? (int)((double)done / (double)g.bytes * width) : width;
	for (int i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	if (width >= 5)
		printf("\r%s [%.*s]  %s\033[K", g.verb, width, bar, tail);
	else
		printf("\r%s  %.*s\033[K", g.verb, cols - 12, tail);
	fflush(stdout);
	g.drawn = true;
}

static void erase(void)
{
	if (g.drawn) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		g.drawn = false;
	}
}

static void *ticker(void *unused)
{
	struct timespec t;

	(void)unused;
	pthread_mutex_lock(&g.mu);
	while (!g.quit) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += TICK_NS;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g.cv, &g.mu, &t);
		if (!g.quit)
			draw();
	}
	pthread_mutex_unlock(&g.mu);
	return NULL;
}

void df11_prog_start(bool enabled, const char *verb, uint64_t files,
		     uint64_t bytes)
{
	clock_gettime(CLOCK_MONOTONIC, &g.t0);
	g.verb = verb;
	g.files = files;
	g.bytes = bytes;
	atomic_store(&g.done_files, 0);
	atomic_store(&g.done_bytes, 0);
	g.quit = false;
	g.on = enabled && isatty(STDOUT_FILENO);
	if (g.on && pthread_create(&g.th, NULL, ticker, NULL) != 0)
		g.on = false; /* no bar is no failure */
}

void df11_prog_add(uint64_t bytes)
{
	atomic_fetch_add_explicit(&g.done_bytes, bytes, memory_order_relaxed);
}

void df11_prog_file(void)
{
	atomic_fetch_add_explicit(&g.done_files, 1, memory_order_relaxed);
}

void df11_prog_stop(void)
{
	if (!g.on)
		return;
	pthread_mutex_lock(&g.mu);
	g.quit = true;
	pthread_cond_signal(&g.cv);
	pthread_mutex_unlock(&g.mu);
	pthread_join(g.th, NULL);
	pthread_mutex_lock(&g.mu);
	erase();
	pthread_mutex_unlock(&g.mu);
	g.on = false;
}

void df11_prog_line(FILE *f, const char *line)
{
	pthread_mutex_lock(&g.mu);
	erase();
	fputs(line, f);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&g.mu);
}

void df11_prog_printf(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	df11_prog_line(stdout, line);
}
