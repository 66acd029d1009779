// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon metrics: a snapshot (fetch/fetchd_stats.c) written
 * as Prometheus text exposition format 0.0.4 and as JSON.  Both carry
 * the same numbers; counters only grow, except across a SIGHUP that
 * re-creates the sources (a counter reset, which Prometheus handles).
 */
#include <stddef.h>
#include <stdio.h>
#include "erofs/json.h"
#include "daemon.h"

#define P	"erofs_fetch_"

static void head(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help,
		name, type);
}

static void one(FILE *f, const char *name, const char *type,
		const char *help, uint64_t v)
{
	head(f, name, type, help);
	fprintf(f, P "%s %llu\n", name, (unsigned long long)v);
}

/* a label value: backslash, quote and newline escaped */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void requests(FILE *f, const struct fetchd_stats *st)
{
	head(f, "requests_total", "counter",
	     "Requests read from the cachefiles device, by type.");
	fprintf(f, P "requests_total{type=\"open\"} %llu\n"
		P "requests_total{type=\"read\"} %llu\n"
		P "requests_total{type=\"close\"} %llu\n",
		(unsigned long long)(st->opens + st->open_errors),
		(unsigned long long)st->reads, (unsigned long long)st->closes);
	head(f, "request_errors_total", "counter",
	     "Requests that failed: the reader sees an error.");
	fprintf(f, P "request_errors_total{type=\"open\"} %llu\n"
		P "request_errors_total{type=\"read\"} %llu\n",
		(unsigned long long)st->open_errors,
		(unsigned long long)st->read_errors);
	one(f, "read_hits_total", "counter",
	    "READs found populated by prefetch when served.", st->hits);
	one(f, "read_misses_total", "counter",
	    "READs that fetched from a source.", st->misses);
	one(f, "read_waited_total", "counter",
	    "READs that waited for the prefetch window.", st->waited);
	one(f, "malformed_requests_total", "counter",
	    "Requests from the device that could not be decoded.", st->bad_msgs);
	one(f, "unknown_object_reads_total", "counter",
	    "READs for objects the daemon has not opened.", st->unknown_objects);
	one(f, "verify_failures_total", "counter",
	    "Fetched data that did not match its digest and was not written.",
	    st->verify_failures);
}

static void latency(FILE *f, const struct fetchd_stats *st)
{
	uint64_t cum = 0;
	unsigned int i;

	head(f, "read_latency_seconds", "histogram",
	     "READ service time, from reading the request to completing it.");
	for (i = 0; i < FETCHD_LAT_BUCKETS; i++) {
		cum += st->lat_hist[i];
		fprintf(f, P "read_latency_seconds_bucket{le=\"%g\"} %llu\n",
			fetchd_lat_bounds_us[i] / 1e6, (unsigned long long)cum);
	}
	cum += st->lat_hist[FETCHD_LAT_BUCKETS];
	fprintf(f, P "read_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
		P "read_latency_seconds_sum %.6f\n"
		P "read_latency_seconds_count %llu\n",
		(unsigned long long)cum, st->lat_sum_us / 1e6,
		(unsigned long long)cum);
}

static void cache(FILE *f, const struct fetchd_snapshot *s)
{
	const struct fetchd_stats *st = &s->st;

	head(f, "bytes_written_total", "counter",
	     "Bytes fetched and written into cache files.");
	fprintf(f, P "bytes_written_total{kind=\"demand\"} %llu\n"
		P "bytes_written_total{kind=\"prefetch\"} %llu\n",
		(unsigned long long)st->bytes_demand,
		(unsigned long long)st->bytes_prefetch);
	one(f, "prefetch_bytes_total", "counter",
	    "Bytes written by background prefetch.", st->bytes_prefetch);
	one(f, "prefetch_window_bytes", "gauge",
	    "Sum of the open objects' prefetch windows.", s->window_bytes);
	one(f, "open_objects", "gauge", "Objects open in the cache.",
	    s->nr_objects);
	one(f, "cache_bytes", "gauge",
	    "Bytes allocated by the cache's files (last measurement).",
	    st->cache_bytes);
	one(f, "cache_filesystem_size_bytes", "gauge",
	    "Size of the cache's filesystem.", st->fs_size);
	one(f, "cache_filesystem_used_bytes", "gauge",
	    "Bytes in use on the cache's filesystem.", st->fs_used);
	one(f, "cull_runs_total", "counter",
	    "Culling passes started above the high-water mark.", st->cull_runs);
	one(f, "culled_objects_total", "counter",
	    "Cache files culled.", st->culled);
	one(f, "culled_bytes_total", "counter",
	    "Bytes freed by culling.", st->culled_bytes);
	one(f, "cull_busy_total", "counter",
	    "Culling candidates skipped because they were in use.",
	    st->cull_busy);
	one(f, "cull_errors_total", "counter",
	    "Culling commands the kernel refused otherwise.", st->cull_errors);
	one(f, "reloads_total", "counter",
	    "Configuration reloads (SIGHUP) applied.", st->reloads);
	one(f, "reload_errors_total", "counter",
	    "Configuration reloads refused.", st->reload_errors);
}

/* one counter of every source, @off into struct erofs_source_stats */
static void per_source(FILE *f, const struct fetchd_snapshot *s,
		       const char *name, const char *help, size_t off)
{
	unsigned int i;

	head(f, name, "counter", help);
	for (i = 0; i < s->nr_srcs; i++) {
		fprintf(f, P "%s{source=\"", name);
		label(f, s->srcs[i].name);
		fprintf(f, "\"} %llu\n", (unsigned long long)
			*(const uint64_t *)((const char *)&s->srcs[i].st + off));
	}
}

/*
 * A source with fallbacks: each spec's counter in a family of its own
 * (labels source and spec), so that summing a family never counts a
 * request twice.
 */
static void per_spec(FILE *f, const struct fetchd_snapshot *s,
		     const char *name, const char *type, const char *help,
		     size_t off)
{
	unsigned int i, j;

	head(f, name, type, help);
	for (i = 0; i < s->nr_srcs; i++) {
		for (j = 0; j < s->srcs[i].nr_specs; j++) {
			const struct fetchd_spec_snap *sp = &s->srcs[i].specs[j];

			fprintf(f, P "%s{source=\"", name);
			label(f, s->srcs[i].name);
			fprintf(f, "\",spec=\"");
			label(f, sp->spec);
			fprintf(f, "\"} %llu\n", (unsigned long long)
				*(const uint64_t *)((const char *)&sp->st + off));
		}
	}
}

#define PER_SPEC(f, s, name, type, help, field) \
	per_spec(f, s, name, type, help, \
		 offsetof(struct erofs_source_stats, field))

static void specs(FILE *f, const struct fetchd_snapshot *s)
{
	PER_SPEC(f, s, "source_spec_requests_total", "counter",
		 "Requests sent to one spec of a source with fallbacks.",
		 requests);
	PER_SPEC(f, s, "source_spec_bytes_total", "counter",
		 "Bytes received from one spec of a source with fallbacks.",
		 bytes);
	PER_SPEC(f, s, "source_spec_errors_total", "counter",
		 "Failed attempts at one spec of a source with fallbacks.",
		 errors);
	PER_SPEC(f, s, "source_spec_retries_total", "counter",
		 "Attempts repeated at one spec of a source with fallbacks.",
		 retries);
	PER_SPEC(f, s, "source_spec_skips_total", "counter",
		 "Times one spec was passed over while it backed off.",
		 skips);
	PER_SPEC(f, s, "source_spec_backing_off", "gauge",
		 "1 while one spec is skipped after repeated failures.",
		 backing_off);
}

#define PER_SOURCE(f, s, name, help, field) \
	per_source(f, s, name, help, offsetof(struct erofs_source_stats, field))

static void sources(FILE *f, const struct fetchd_snapshot *s)
{
	static const unsigned int q[] = { 50, 90, 99 };
	unsigned int i, j;

	PER_SOURCE(f, s, "source_reads_total",
		   "Reads asked of a source.", reads);
	PER_SOURCE(f, s, "source_requests_total",
		   "Backend requests sent, retries included.", requests);
	PER_SOURCE(f, s, "source_bytes_total",
		   "Bytes received from a source.", bytes);
	PER_SOURCE(f, s, "source_hits_total",
		   "Reads served from a source's readahead cache.", hits);
	PER_SOURCE(f, s, "source_misses_total",
		   "Reads that needed a backend request.", misses);
	PER_SOURCE(f, s, "source_errors_total",
		   "Reads that failed after all retries.", errors);
	PER_SOURCE(f, s, "source_retries_total",
		   "Attempts repeated after a transient failure.", retries);
	head(f, "source_request_latency_seconds", "summary",
	     "Latency of one backend request (recent requests).");
	for (i = 0; i < s->nr_srcs; i++) {
		const struct erofs_source_stats *ss = &s->srcs[i].st;
		const uint64_t v[] = {
			ss->lat_p50_us, ss->lat_p90_us, ss->lat_p99_us,
		};

		for (j = 0; j < ARRAY_SIZE(q); j++) {
			fprintf(f, P "source_request_latency_seconds{source=\"");
			label(f, s->srcs[i].name);
			fprintf(f, "\",quantile=\"0.%u\"} %.6f\n", q[j],
				v[j] / 1e6);
		}
	}
}

void fetchd_metrics_prometheus(const struct fetchd_snapshot *s, FILE *f)
{
	head(f, "uptime_seconds", "gauge", "Seconds since the daemon started.");
	fprintf(f, P "uptime_seconds %.3f\n", s->uptime_ms / 1e3);
	requests(f, &s->st);
	latency(f, &s->st);
	cache(f, s);
	sources(f, s);
	specs(f, s);
}

static void json_latency(struct erofs_json *j, const struct fetchd_snapshot *s)
{
	const struct fetchd_stats *st = &s->st;
	uint64_t cum = 0;
	unsigned int i;

	erofs_json_open(j, "read_latency", '{');
	erofs_json_open(j, "buckets", '[');
	for (i = 0; i <= FETCHD_LAT_BUCKETS; i++) {
		cum += st->lat_hist[i];
		erofs_json_open(j, NULL, '{');
		if (i < FETCHD_LAT_BUCKETS)
			erofs_json_u64(j, "le_us", fetchd_lat_bounds_us[i]);
		else
			erofs_json_null(j, "le_us");
		erofs_json_u64(j, "count", cum);
		erofs_json_close(j, '}');
	}
	erofs_json_close(j, ']');
	erofs_json_u64(j, "count", cum);
	erofs_json_u64(j, "sum_us", st->lat_sum_us);
	erofs_json_u64(j, "p50_us", fetchd_snapshot_pct(s, 50));
	erofs_json_u64(j, "p90_us", fetchd_snapshot_pct(s, 90));
	erofs_json_u64(j, "p99_us", fetchd_snapshot_pct(s, 99));
	erofs_json_u64(j, "max_us", fetchd_snapshot_pct(s, 100));
	erofs_json_close(j, '}');
}

static void json_specs(struct erofs_json *j,
		       const struct fetchd_source_snap *src)
{
	unsigned int i;

	erofs_json_open(j, "specs", '[');
	for (i = 0; i < src->nr_specs; i++) {
		const struct erofs_source_stats *ss = &src->specs[i].st;

		erofs_json_open(j, NULL, '{');
		erofs_json_str(j, "spec", src->specs[i].spec);
		erofs_json_u64(j, "requests", ss->requests);
		erofs_json_u64(j, "bytes", ss->bytes);
		erofs_json_u64(j, "errors", ss->errors);
		erofs_json_u64(j, "retries", ss->retries);
		erofs_json_u64(j, "skips", ss->skips);
		erofs_json_u64(j, "backing_off", ss->backing_off);
		erofs_json_close(j, '}');
	}
	erofs_json_close(j, ']');
}

static void json_sources(struct erofs_json *j, const struct fetchd_snapshot *s)
{
	unsigned int i;

	erofs_json_open(j, "sources", '[');
	for (i = 0; i < s->nr_srcs; i++) {
		const struct erofs_source_stats *ss = &s->srcs[i].st;

		erofs_json_open(j, NULL, '{');
		erofs_json_str(j, "name", s->srcs[i].name);
		erofs_json_u64(j, "reads", ss->reads);
		erofs_json_u64(j, "requests", ss->requests);
		erofs_json_u64(j, "bytes", ss->bytes);
		erofs_json_u64(j, "hits", ss->hits);
		erofs_json_u64(j, "misses", ss->misses);
		erofs_json_u64(j, "errors", ss->errors);
		erofs_json_u64(j, "retries", ss->retries);
		erofs_json_u64(j, "latency_p50_us", ss->lat_p50_us);
		erofs_json_u64(j, "latency_p90_us", ss->lat_p90_us);
		erofs_json_u64(j, "latency_p99_us", ss->lat_p99_us);
		json_specs(j, &s->srcs[i]);
		erofs_json_close(j, '}');
	}
	erofs_json_close(j, ']');
}

void fetchd_metrics_json(const struct fetchd_snapshot *s, FILE *f)
{
	const struct fetchd_stats *st = &s->st;
	struct erofs_json j;

	erofs_json_init(&j, f);
	erofs_json_open(&j, NULL, '{');
	erofs_json_double(&j, "uptime_seconds", s->uptime_ms / 1e3);
	erofs_json_open(&j, "requests", '{');
	erofs_json_u64(&j, "open", st->opens + st->open_errors);
	erofs_json_u64(&j, "read", st->reads);
	erofs_json_u64(&j, "close", st->closes);
	erofs_json_close(&j, '}');
	erofs_json_open(&j, "request_errors", '{');
	erofs_json_u64(&j, "open", st->open_errors);
	erofs_json_u64(&j, "read", st->read_errors);
	erofs_json_close(&j, '}');
	erofs_json_u64(&j, "read_hits", st->hits);
	erofs_json_u64(&j, "read_misses", st->misses);
	erofs_json_u64(&j, "read_waited", st->waited);
	erofs_json_u64(&j, "malformed_requests", st->bad_msgs);
	erofs_json_u64(&j, "unknown_object_reads", st->unknown_objects);
	erofs_json_u64(&j, "verify_failures", st->verify_failures);
	erofs_json_u64(&j, "bytes_demand", st->bytes_demand);
	erofs_json_u64(&j, "bytes_prefetch", st->bytes_prefetch);
	erofs_json_u64(&j, "prefetch_window_bytes", s->window_bytes);
	erofs_json_u64(&j, "open_objects", s->nr_objects);
	erofs_json_u64(&j, "cache_bytes", st->cache_bytes);
	erofs_json_u64(&j, "cache_filesystem_size", st->fs_size);
	erofs_json_u64(&j, "cache_filesystem_used", st->fs_used);
	erofs_json_open(&j, "cull", '{');
	erofs_json_u64(&j, "runs", st->cull_runs);
	erofs_json_u64(&j, "objects", st->culled);
	erofs_json_u64(&j, "bytes", st->culled_bytes);
	erofs_json_u64(&j, "busy", st->cull_busy);
	erofs_json_u64(&j, "errors", st->cull_errors);
	erofs_json_close(&j, '}');
	erofs_json_u64(&j, "reloads", st->reloads);
	erofs_json_u64(&j, "reload_errors", st->reload_errors);
	json_latency(&j, s);
	json_sources(&j, s);
	erofs_json_close(&j, '}');
	fputc('\n', f);
}
