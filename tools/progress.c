// SPDX-License-Identifier: MIT
/*
 * tools/progress.c - the progress bar and the line printer it shares
 *
 * The bar is one line on stdout, drawn only when stdout is a terminal and
 * -q was not given:
 *
 *   compressing [#########.....]  2/5 files  1.2/3.4 GiB  410 MB/s  ETA    0:05
 *
 * Sizes are in powers of 1024 with IEC symbols (KiB, MiB, GiB: the K, M, G
 * that df11fs reads); rates in MB/s, 10^6 bytes a second.
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
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tools/tool_i.h"

#define TICK_NS 100000000L /* 10 redraws a second */
#define BAR_MAX	     30		/* columns of the bar itself */
#define BAR_MIN	     5		/* narrower than this, no bar */
#define RATE_SECS    1.0	/* a rate is measured over this at least */
#define ETA_FRACTION 0.01	/* ...and an ETA over this much of the work */

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
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1023.95 && u < 4) {
		v /= 1024;
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

/*
 * The width of the terminal on stdout; $COLUMNS when the terminal does not
 * say (a pty of unknown size reports 0), else 80.
 */
static int term_cols(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	long v;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	v = env ? strtol(env, NULL, 10) : 0;
	return v > 0 && v < 10000 ? (int)v : 80;
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

/* @secs as "m:ss", or "h:mm:ss" from an hour on, into @buf. */
static void clock_text(char *buf, size_t len, double secs)
{
	unsigned long t = secs < 3.6e7 ? (unsigned long)secs : 35999999ul;

	if (t >= 3600)
		snprintf(buf, len, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60,
			 t % 60);
	else
		snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

/*
 * Draw the bar; called with g.mu held. Fields have fixed widths so that
 * the line does not jitter; the bar takes what the terminal has left, up
 * to BAR_MAX. The rate is shown once it is measured over RATE_SECS, the
 * ETA once that much time and ETA_FRACTION of the work are behind (an ETA
 * from the first header bytes alone would say hours). The line never
 * reaches the last column, so the terminal never wraps it: on a narrow
 * terminal the bar goes first, then the files, the ETA and the rate, and
 * what still does not fit is cut.
 */
static void draw(void)
{
	enum { F_FILES, F_BYTES, F_RATE, F_ETA, N_F };
	static const int drop[] = {F_FILES, F_ETA, F_RATE, F_BYTES};
	uint64_t done = atomic_load(&g.done_bytes);
	uint64_t nf = atomic_load(&g.done_files);
	double secs = df11_prog_seconds(), rate = 0;
	char f[N_F][64], a[32], b[32], eta[24] = "", line[512], bar[BAR_MAX];
	int cols = term_cols() - 1, width, fill, len, at = 0;
	bool on[N_F] = {true, true, true, true};

	if (done > g.bytes)
		done = g.bytes;
	if (secs >= RATE_SECS)
		rate = (double)done / secs;
	if (rate > 0 && (double)done >= ETA_FRACTION * (double)g.bytes)
		clock_text(eta, sizeof(eta), (double)(g.bytes - done) / rate);
	df11_human(g.bytes, b, sizeof(b));
	snprintf(f[F_FILES], sizeof(f[0]), "%*llu/%llu files",
		 df11_digits(g.files), (unsigned long long)nf,
		 (unsigned long long)g.files);
	snprintf(f[F_BYTES], sizeof(f[0]), "%*s/%s", (int)strlen(b),
		 df11_human(done, a, sizeof(a)), b);
	if (rate > 0)
		snprintf(f[F_RATE], sizeof(f[0]), "%5.0f MB/s", rate / 1e6);
	else
		snprintf(f[F_RATE], sizeof(f[0]), "   -- MB/s");
	snprintf(f[F_ETA], sizeof(f[0]), "ETA %5s", *eta ? eta : "--:--");
	len = (int)strlen(g.verb);
	for (int i = 0; i < N_F; i++)
		len += 2 + (int)strlen(f[i]);
	width = cols - len - 3; /* " [" and "]" */
	width = width > BAR_MAX ? BAR_MAX : width;
	for (int k = 0; width < BAR_MIN && len > cols && k < N_F; k++) {
		on[drop[k]] = false;
		len -= 2 + (int)strlen(f[drop[k]]);
	}
	at = snprintf(line, sizeof(line), "%s", g.verb);
	if (width >= BAR_MIN) {
		fill = g.bytes ? (int)((double)done / (double)g.bytes * width)
			       : width;
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '#' : '.';
		at += snprintf(line + at, sizeof(line) - (size_t)at, " [%.*s]",
			       width, bar);
	}
	for (int i = 0; i < N_F; i++)
		if (on[i])
			at += snprintf(line + at, sizeof(line) - (size_t)at,
				       "  %s", f[i]);
	printf("\r%.*s\033[K", cols > 0 ? cols : 0, line);
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
