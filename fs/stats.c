/* SPDX-License-Identifier: MIT */
/*
 * fs/stats.c - statistics: one log line, and a JSON file at the mount root
 *
 * The line (df11fs_stats_line) is logged at exit and on SIGUSR1. The file
 * DF11FS_STATS_NAME (".df11fs-stats.json") is looked up at the root but
 * not listed; each open takes one snapshot (df11fs_stats_json), so one
 * read sees figures of one moment, and a scraper (a Kubernetes sidecar,
 * a json exporter) reads it with cat. df11fs(1), STATISTICS, documents
 * every key; "format" and "version" name the schema (a new key is a
 * minor change, a removed or renamed one a new version).
 *
 * Per-file figures come from the virtual files that are open in the
 * inode table now (containers the kernel has looked up); a file the
 * kernel forgot drops out, and the cache's totals still count it. Files
 * of official DFloat11 directories are counted in the totals only. The
 * model of a file is its first path component ("." for files at the
 * root of SOURCE).
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "fs_i.h"

/* VmRSS and VmHWM of /proc/self/status, bytes (0 when unknown). */
static void rss(uint64_t *now, uint64_t *peak)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long kb;

	*now = *peak = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			*now = (uint64_t)kb << 10;
		else if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			*peak = (uint64_t)kb << 10;
	}
	fclose(f);
}

static double uptime_s(const struct df11fs *fs)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)t.tv_sec * 1e9 + (double)t.tv_nsec -
		(double)fs->start_ns) /
	       1e9;
}

void df11fs_stats_line(struct df11fs *fs, char *buf, size_t len)
{
	struct df11_cache_stats st = {0};
	uint64_t now, peak;

	if (fs->cache)
		df11_cache_stats(fs->cache, &st);
	rss(&now, &peak);
	snprintf(buf, len,
		 "statistics: uptime %.1f s, hits %" PRIu64 ", misses %" PRIu64
		 ", bytes served %" PRIu64 ", bytes decoded %" PRIu64
		 ", errors %" PRIu64 ", peak cache %" PRIu64
		 " bytes, peak rss %" PRIu64 " bytes",
		 uptime_s(fs), st.hits, st.misses, st.bytes_served,
		 st.bytes_decoded, st.errors, st.peak, peak);
}

/* A JSON string, or null for a path that is not UTF-8. */
static json_t *str(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : json_null();
}

/* jansson: integers are signed 64-bit; our counters never get near. */
json_t *df11fs_json_u64(uint64_t v)
{
	return json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v));
}

static int set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, df11fs_json_u64(v));
}

static json_t *cache_obj(const struct df11_cache_stats *st)
{
	json_t *o = json_object();

	if (!o || set_u64(o, "budget", st->budget) ||
	    set_u64(o, "used", st->used) || set_u64(o, "peak", st->peak) ||
	    set_u64(o, "hits", st->hits) || set_u64(o, "misses", st->misses) ||
	    set_u64(o, "waits", st->waits) ||
	    set_u64(o, "wait_ns", st->wait_ns) ||
	    set_u64(o, "maps", st->maps) ||
	    set_u64(o, "scratches", st->scratches) ||
	    set_u64(o, "evictions", st->evictions) ||
	    set_u64(o, "readahead", st->readahead) ||
	    set_u64(o, "errors", st->errors) ||
	    set_u64(o, "bytes_served", st->bytes_served) ||
	    set_u64(o, "bytes_decoded", st->bytes_decoded)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *decoder_obj(struct df11fs *fs, const struct df11_cache_stats *st)
{
	json_t *o = json_object();
	char name[256];

	if (fs->cache)
		df11_cache_decoder(fs->cache, name, sizeof(name));
	else
		snprintf(name, sizeof(name), "none");
	if (!o || json_object_set_new(o, "name", json_string(name)) ||
	    set_u64(o, "decode_ns", st->decode_ns) ||
	    set_u64(o, "map_ns", st->map_ns) ||
	    set_u64(o, "fetch_ns", st->fetch_ns) ||
	    set_u64(o, "check_ns", st->check_ns) ||
	    json_object_set_new(o, "decode_gbps",
				json_real(st->decode_ns
					      ? (double)st->bytes_decoded /
						    (double)st->decode_ns
					      : 0.0)) ||
	    set_u64(o, "gpu_chunks", st->gpu_chunks) ||
	    set_u64(o, "gpu_batches", st->gpu_batches)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Add @in's virtual file (if it has one) to @files and to its model. */
static int add_file(json_t *files, json_t *models, struct df11fs_inode *in)
{
	struct df11_vfile_stats vs;
	struct df11_vfile *vf = NULL;
	json_t *f, *m;
	const char *slash;
	char model[256];
	int rc = -ENOMEM;

	pthread_mutex_lock(&in->lock);
	if (in->vf)
		vf = df11_vfile_get(in->vf);
	pthread_mutex_unlock(&in->lock);
	if (!vf)
		return 0;
	/* names in SOURCE need not be UTF-8: JSON cannot hold those keys */
	if (!(f = json_string(in->path))) {
		df11_vfile_put(vf);
		return 0;
	}
	json_decref(f);
	df11_vfile_stats(vf, &vs);
	slash = strchr(in->path, '/');
	snprintf(model, sizeof(model), "%.*s",
		 slash ? (int)(slash - in->path) : 1, slash ? in->path : ".");
	if (!(m = json_object_get(models, model))) {
		m = json_object();
		if (!m || json_object_set_new(models, model, m))
			goto out;
		if (set_u64(m, "files", 0) || set_u64(m, "bytes_served", 0) ||
		    set_u64(m, "chunks_decoded", 0) || set_u64(m, "errors", 0))
			goto out;
	}
	f = json_object();
	if (!f || json_object_set_new(files, in->path, f) ||
	    set_u64(f, "size", df11_vfile_size(vf)) ||
	    set_u64(f, "stored", df11_vfile_stored(vf)) ||
	    set_u64(f, "bytes_served", vs.bytes_served) ||
	    set_u64(f, "chunks_decoded", vs.chunks_decoded) ||
	    set_u64(f, "errors", vs.errors))
		goto out;
#define ADD(key, v)                                                            \
	set_u64(m, key,                                                        \
		(uint64_t)json_integer_value(json_object_get(m, key)) + (v))
	if (ADD("files", 1) || ADD("bytes_served", vs.bytes_served) ||
	    ADD("chunks_decoded", vs.chunks_decoded) ||
	    ADD("errors", vs.errors))
		goto out;
#undef ADD
	rc = 0;
out:
	df11_vfile_put(vf);
	return rc;
}

/*
 * Every inode of the table with a virtual file, into @files and @models:
 * pinned under the table lock (df11fs_itable_pin_all), read without it.
 */
static int add_files(struct df11fs *fs, json_t *files, json_t *models)
{
	struct df11fs_itable *t = &fs->itab;
	size_t n;
	struct df11fs_inode **v = df11fs_itable_pin_all(t, &n);
	int rc = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; !rc && i < n; i++)
		if (v[i]->probe)
			rc = add_file(files, models, v[i]);
	df11fs_itable_unpin_all(t, v, n);
	return rc;
}

/* "headers": container opens admitted, and the indexes they keep */
static json_t *headers_obj(struct df11fs *fs)
{
	struct df11_store_gate_stats g = {0};
	uint64_t kept, cap, evicted;
	json_t *o = json_object();

	if (fs->gate)
		df11_store_gate_stats(fs->gate, &g);
	df11fs_index_stats(&fs->itab, &kept, &cap, &evicted);
	if (!o || set_u64(o, "budget", g.budget) ||
	    set_u64(o, "used", g.used) || set_u64(o, "peak", g.peak) ||
	    set_u64(o, "parses", g.parses) || set_u64(o, "waits", g.waits) ||
	    set_u64(o, "wait_ns", g.wait_ns) || set_u64(o, "index", g.index) ||
	    set_u64(o, "index_peak", g.index_peak) ||
	    set_u64(o, "containers", g.containers) ||
	    set_u64(o, "index_cap", cap) || set_u64(o, "index_kept", kept) ||
	    set_u64(o, "evictions", evicted)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "decoded": whole files in backing files (-o decoded_cache=) */
static json_t *decoded_obj(struct df11fs *fs)
{
	struct df11fs_fill_stats f;
	json_t *o = json_object();

	df11fs_fill_stats(fs->fill, &f);
	if (!o || set_u64(o, "budget", f.budget) ||
	    set_u64(o, "held", f.held) || set_u64(o, "started", f.started) ||
	    set_u64(o, "filled", f.filled) || set_u64(o, "failed", f.failed) ||
	    set_u64(o, "evicted", f.evicted) || set_u64(o, "shed", f.shed) ||
	    set_u64(o, "no_room", f.no_room) || set_u64(o, "bytes", f.bytes) ||
	    set_u64(o, "fill_ns", f.fill_ns) ||
	    set_u64(o, "map_ns", f.map_ns) ||
	    set_u64(o, "decode_ns", f.decode_ns) ||
	    set_u64(o, "passthrough_opens", f.pt_opens) ||
	    set_u64(o, "passthrough_plain_opens", f.pt_plain) ||
	    set_u64(o, "backed_reads", f.backed_reads) ||
	    set_u64(o, "open_wait_ns", f.wait_ns) ||
	    json_object_set_new(o, "passthrough",
				json_boolean(f.passthrough))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The document's top level, without "files" and "models". */
static int top(struct df11fs *fs, json_t *o)
{
	struct df11_cache_stats st = {0};
	uint64_t now, peak;
	time_t t = time(NULL);
	struct tm tm;
	char when[32];
	json_t *mem = json_object();

	if (fs->cache)
		df11_cache_stats(fs->cache, &st);
	rss(&now, &peak);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!mem || set_u64(mem, "rss", now) ||
	    set_u64(mem, "rss_peak", peak)) {
		json_decref(mem);
		return -ENOMEM;
	}
	if (json_object_set_new(o, "format", json_string("df11fs-stats")) ||
	    set_u64(o, "version", 1) ||
	    json_object_set_new(o, "df11fs", json_string(DF11FS_VERSION)) ||
	    json_object_set_new(o, "source", str(fs->source)) ||
	    json_object_set_new(o, "mountpoint", str(fs->mountpoint)) ||
	    set_u64(o, "pid", (uint64_t)getpid()) ||
	    json_object_set_new(o, "time", json_string(when)) ||
	    json_object_set_new(o, "uptime_s", json_real(uptime_s(fs))) ||
	    json_object_set_new(o, "memory", mem) ||
	    json_object_set_new(o, "cache", cache_obj(&st)) ||
	    json_object_set_new(o, "headers", headers_obj(fs)) ||
	    json_object_set_new(o, "decoder", decoder_obj(fs, &st)) ||
	    json_object_set_new(o, "decoded", decoded_obj(fs)) ||
	    json_object_set_new(o, "requests", df11fs_reqstat_json(fs)))
		return -ENOMEM;
	return 0;
}

int df11fs_stats_json(struct df11fs *fs, char **out, size_t *len)
{
	json_t *o = json_object(), *files = json_object();
	json_t *models = json_object();
	char *txt = NULL, *nl;
	int rc = -ENOMEM;

	*out = NULL;
	if (!o || !files || !models || top(fs, o) ||
	    add_files(fs, files, models) ||
	    json_object_set(o, "models", models) ||
	    json_object_set(o, "files", files))
		goto out;
	txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
				JSON_REAL_PRECISION(10));
	if (!txt || !(nl = realloc(txt, strlen(txt) + 2)))
		goto out;
	txt = NULL;
	*len = strlen(nl);
	nl[(*len)++] = '\n';
	nl[*len] = '\0';
	*out = nl;
	rc = 0;
out:
	free(txt);
	json_decref(models);
	json_decref(files);
	json_decref(o);
	return rc;
}

void df11fs_stats_attr(struct df11fs *fs, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)(uintptr_t)&fs->stats_ino;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_atim = st->st_ctim = st->st_mtim;
}
