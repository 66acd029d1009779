// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon statistics: counters under stats_lock (lock order 3,
 * a leaf), a ring of the latest READ latencies for percentiles and a
 * fixed-bucket histogram of all of them, and the snapshot that the stats
 * line (SIGUSR1, exit) and the metrics endpoint are made from.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "daemon.h"

/* from a page-cache hit in the daemon to a slow WAN round trip */
const uint32_t fetchd_lat_bounds_us[FETCHD_LAT_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 10000000,
};

uint64_t fetchd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static unsigned int lat_bucket(uint64_t us)
{
	unsigned int i;

	for (i = 0; i < FETCHD_LAT_BUCKETS; i++)
		if (us <= fetchd_lat_bounds_us[i])
			break;
	return i;
}

void fetchd_stats_add_latency(struct fetchd *d, uint64_t us)
{
	unsigned int b = lat_bucket(us);

	pthread_mutex_lock(&d->stats_lock);
	d->st.lat_us[d->st.nr_lat % FETCHD_LAT_SAMPLES] =
		us > UINT32_MAX ? UINT32_MAX : us;
	d->st.nr_lat++;
	d->st.lat_hist[b]++;
	d->st.lat_sum_us += us;
	pthread_mutex_unlock(&d->stats_lock);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* a source with fallbacks: each spec's own numbers, so that none hides */
static int snap_add_specs(struct fetchd_source_snap *ss,
			  struct erofs_source *src)
{
	unsigned int i, n = erofs_source_nr_specs(src);

	if (n < 2)
		return 0;
	ss->specs = calloc(n, sizeof(*ss->specs));
	if (!ss->specs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!erofs_source_spec_stats(src, i, &ss->specs[i].st,
					     ss->specs[i].spec,
					     sizeof(ss->specs[i].spec)))
			ss->nr_specs = i + 1;
	return 0;
}

static int snap_add_source(struct fetchd_snapshot *s, const char *name,
			   struct erofs_source *src)
{
	struct fetchd_source_snap *ss;

	ss = realloc(s->srcs, (s->nr_srcs + 1) * sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	s->srcs = ss;
	ss += s->nr_srcs++;
	snprintf(ss->name, sizeof(ss->name), "%s", name);
	memset(&ss->st, 0, sizeof(ss->st));
	ss->specs = NULL;
	ss->nr_specs = 0;
	/* a configured source is opened at the first OPEN that needs it */
	if (!src)
		return 0;
	erofs_source_stats(src, &ss->st);
	return snap_add_specs(ss, src);
}

/* every configured source, opened or not, so that none goes unseen */
static int snap_sources(struct fetchd *d, struct fetchd_snapshot *s)
{
	unsigned int i;
	int ret = 0;

	if (d->default_src)
		return snap_add_source(s, "default", d->default_src);
	pthread_mutex_lock(&d->srcs_lock);
	for (i = 0; !ret && d->have_conf && i < d->conf.nr_sources; i++)
		ret = snap_add_source(s, d->conf.sources[i].name,
				      d->srcs ? d->srcs[i] : NULL);
	pthread_mutex_unlock(&d->srcs_lock);
	return ret;
}

/* the open objects and their prefetch windows (lock order 1, then 2) */
static void snap_objects(struct fetchd *d, struct fetchd_snapshot *s)
{
	struct fetchd_obj *obj;
	unsigned int i;

	pthread_rwlock_rdlock(&d->table_lock);
	s->nr_objects = d->nr_objects;
	for (i = 0; i < FETCHD_HASH; i++) {
		for (obj = d->table[i]; obj; obj = obj->next) {
			pthread_mutex_lock(&obj->lock);
			s->window_bytes += obj->win.window;
			pthread_mutex_unlock(&obj->lock);
		}
	}
	pthread_rwlock_unlock(&d->table_lock);
}

int fetchd_snapshot_take(struct fetchd *d, struct fetchd_snapshot **out)
{
	struct fetchd_snapshot *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->uptime_ms = erofs_now_ms() - d->start_ms;
	snap_objects(d, s);
	/* copied first, so that nothing slow runs under the leaf lock */
	pthread_mutex_lock(&d->stats_lock);
	memcpy(&s->st, &d->st, sizeof(s->st));
	pthread_mutex_unlock(&d->stats_lock);
	s->nr_lat = s->st.nr_lat < FETCHD_LAT_SAMPLES ? s->st.nr_lat :
		FETCHD_LAT_SAMPLES;
	qsort(s->st.lat_us, s->nr_lat, sizeof(s->st.lat_us[0]), cmp_u32);
	ret = snap_sources(d, s);
	if (ret) {
		fetchd_snapshot_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void fetchd_snapshot_free(struct fetchd_snapshot *s)
{
	unsigned int i;

	if (!s)
		return;
	for (i = 0; i < s->nr_srcs; i++)
		free(s->srcs[i].specs);
	free(s->srcs);
	free(s);
}

uint32_t fetchd_snapshot_pct(const struct fetchd_snapshot *s, unsigned int pct)
{
	if (!s->nr_lat)
		return 0;
	if (pct >= 100)
		return s->st.lat_us[s->nr_lat - 1];
	return s->st.lat_us[(uint64_t)s->nr_lat * pct / 100];
}

/* "1.234ms" style: latencies span microseconds (hits) to seconds (WAN) */
static const char *fmt_us(const struct fetchd_snapshot *s, unsigned int pct,
			  char *buf, size_t len)
{
	uint32_t us = fetchd_snapshot_pct(s, pct);

	if (!s->nr_lat)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%uus", us);
	else if (us < 1000000)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else
		snprintf(buf, len, "%.2fs", us / 1000000.0);
	return buf;
}

/*
 * Units checked against digest tables, and mismatches by spec: the
 * --source given first, then the ones given again (named when there is
 * one command-line source; with a configuration file, counted in all).
 */
static void print_verify_stats(struct fetchd *d)
{
	struct fetch_try tries[FETCH_MAX_SOURCES];
	unsigned int nr = 0;
	char line[600];

	if (d->default_src)
		nr = fetch_tries_init(tries, d->default_src, NULL, NULL);
	fetch_verify_stats_format(&d->vst, tries, nr, false, line,
				  sizeof(line));
	erofs_info(&d->msg, "verify stats: %s", line);
}

void fetchd_stats_print(struct fetchd *d, const char *why)
{
	const struct fetchd_stats *st;
	struct fetchd_snapshot *s;
	char p[4][16], hb[3][32], sline[512];
	unsigned int i, j;

	if (fetchd_snapshot_take(d, &s))
		return;
	st = &s->st;
	erofs_info(&d->msg,
		   "stats (%s): uptime %llus objects %u opens %llu (failed %llu) closes %llu "
		   "reads %llu (hit %llu miss %llu waited %llu failed %llu) "
		   "bytes demand %llu (%s) prefetch %llu (%s) "
		   "verify failures %llu cache %llu (%s) culled %llu "
		   "latency p50 %s p90 %s p99 %s max %s",
		   why, (unsigned long long)s->uptime_ms / 1000, s->nr_objects,
		   (unsigned long long)st->opens, (unsigned long long)st->open_errors,
		   (unsigned long long)st->closes, (unsigned long long)st->reads,
		   (unsigned long long)st->hits, (unsigned long long)st->misses,
		   (unsigned long long)st->waited,
		   (unsigned long long)st->read_errors,
		   (unsigned long long)st->bytes_demand,
		   erofs_human_size(st->bytes_demand, hb[0], sizeof(hb[0])),
		   (unsigned long long)st->bytes_prefetch,
		   erofs_human_size(st->bytes_prefetch, hb[1], sizeof(hb[1])),
		   (unsigned long long)st->verify_failures,
		   (unsigned long long)st->cache_bytes,
		   erofs_human_size(st->cache_bytes, hb[2], sizeof(hb[2])),
		   (unsigned long long)st->culled,
		   fmt_us(s, 50, p[0], sizeof(p[0])),
		   fmt_us(s, 90, p[1], sizeof(p[1])),
		   fmt_us(s, 99, p[2], sizeof(p[2])),
		   fmt_us(s, 100, p[3], sizeof(p[3])));
	if (st->unknown_objects || st->bad_msgs)
		erofs_warn(&d->msg, "stats: %llu READs for unknown objects, %llu malformed requests",
			   (unsigned long long)st->unknown_objects,
			   (unsigned long long)st->bad_msgs);
	print_verify_stats(d);
	for (i = 0; i < s->nr_srcs; i++) {
		erofs_source_stats_format(&s->srcs[i].st, false, sline,
					  sizeof(sline));
		erofs_info(&d->msg, "source stats (%s): %s", s->srcs[i].name,
			   sline);
		for (j = 0; j < s->srcs[i].nr_specs; j++) {
			const struct fetchd_spec_snap *sp = &s->srcs[i].specs[j];

			erofs_source_stats_format(&sp->st, false, sline,
						  sizeof(sline));
			erofs_info(&d->msg, "source stats (%s, spec %u %s): %s",
				   s->srcs[i].name, j, sp->spec, sline);
		}
	}
	fetchd_snapshot_free(s);
}
