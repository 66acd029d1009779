// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon statistics: counters under stats_lock (lock order 3,
 * a leaf) and a ring of the latest READ latencies for percentiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "daemon.h"

uint64_t fetchd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

void fetchd_stats_add_latency(struct fetchd *d, uint64_t us)
{
	pthread_mutex_lock(&d->stats_lock);
	d->st.lat_us[d->st.nr_lat % FETCHD_LAT_SAMPLES] =
		us > UINT32_MAX ? UINT32_MAX : us;
	d->st.nr_lat++;
	pthread_mutex_unlock(&d->stats_lock);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* "1.234ms" style: latencies span microseconds (hits) to seconds (WAN) */
static const char *fmt_us(uint32_t us, char *buf, size_t len)
{
	if (us < 1000)
		snprintf(buf, len, "%uus", us);
	else if (us < 1000000)
		snprintf(buf, len, "%.1fms", us / 1000.0);
	else
		snprintf(buf, len, "%.2fs", us / 1000000.0);
	return buf;
}

/* units checked against digest tables, and mismatches per source */
static void print_verify_stats(struct fetchd *d)
{
	const char *names[FETCH_MAX_SOURCES];
	unsigned int i, nr = 0;
	char line[600];

	names[nr++] = d->have_conf ? "configured" : d->o.source_spec;
	for (i = 0; i < d->o.nr_fallback; i++)
		names[nr++] = d->o.fallback[i];
	fetch_verify_stats_format(&d->vst, names, nr, false, line,
				  sizeof(line));
	erofs_info(&d->msg, "verify stats: %s", line);
}

void fetchd_stats_print(struct fetchd *d, const char *why)
{
	struct erofs_source_stats sst;
	struct fetchd_stats *st;
	char p[4][16], hb[2][32], sline[512];
	unsigned int nr_objects;
	uint32_t *lat;
	size_t n;

	pthread_rwlock_rdlock(&d->table_lock);
	nr_objects = d->nr_objects;
	pthread_rwlock_unlock(&d->table_lock);
	/* snapshot, so nothing slow runs under the leaf lock */
	st = malloc(sizeof(*st));
	if (!st)
		return;
	pthread_mutex_lock(&d->stats_lock);
	memcpy(st, &d->st, sizeof(*st));
	pthread_mutex_unlock(&d->stats_lock);

	n = st->nr_lat < FETCHD_LAT_SAMPLES ? st->nr_lat : FETCHD_LAT_SAMPLES;
	lat = st->lat_us;
	qsort(lat, n, sizeof(*lat), cmp_u32);
	if (n) {
		fmt_us(lat[n * 50 / 100], p[0], sizeof(p[0]));
		fmt_us(lat[n * 90 / 100], p[1], sizeof(p[1]));
		fmt_us(lat[n * 99 / 100], p[2], sizeof(p[2]));
		fmt_us(lat[n - 1], p[3], sizeof(p[3]));
	} else {
		strcpy(p[0], "-");
		strcpy(p[1], "-");
		strcpy(p[2], "-");
		strcpy(p[3], "-");
	}
	erofs_info(&d->msg,
		   "stats (%s): uptime %llus objects %u opens %llu (failed %llu) closes %llu "
		   "reads %llu (hit %llu miss %llu waited %llu failed %llu) "
		   "bytes demand %llu (%s) prefetch %llu (%s) "
		   "latency p50 %s p90 %s p99 %s max %s",
		   why, (unsigned long long)(erofs_now_ms() - d->start_ms) / 1000,
		   nr_objects,
		   (unsigned long long)st->opens, (unsigned long long)st->open_errors,
		   (unsigned long long)st->closes, (unsigned long long)st->reads,
		   (unsigned long long)st->hits, (unsigned long long)st->misses,
		   (unsigned long long)st->waited,
		   (unsigned long long)st->read_errors,
		   (unsigned long long)st->bytes_demand,
		   erofs_human_size(st->bytes_demand, hb[0], sizeof(hb[0])),
		   (unsigned long long)st->bytes_prefetch,
		   erofs_human_size(st->bytes_prefetch, hb[1], sizeof(hb[1])),
		   p[0], p[1], p[2], p[3]);
	if (st->unknown_objects || st->bad_msgs)
		erofs_warn(&d->msg, "stats: %llu READs for unknown objects, %llu malformed requests",
			   (unsigned long long)st->unknown_objects,
			   (unsigned long long)st->bad_msgs);
	print_verify_stats(d);
	if (d->default_src) {
		erofs_source_stats(d->default_src, &sst);
		erofs_source_stats_format(&sst, false, sline, sizeof(sline));
		erofs_info(&d->msg, "source stats: %s", sline);
	}
	free(st);
}
