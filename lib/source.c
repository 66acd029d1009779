// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fetch sources: the part common to every backend.
 *
 * Callers queue reads; a fixed pool of worker threads, each owning its
 * backend state (one curl handle, so connections are reused), takes them
 * in order.  Before a read is queued it is widened to min_fetch and
 * looked up in a small readahead cache; a read that falls inside a
 * request already queued or in flight waits for that one, and adjacent
 * small reads still queued are merged into one request, so that a burst
 * of block-sized reads from the kernel costs one round trip.
 *
 * A source may have several specs (a mirror, then the registry).  Each
 * request tries them in order; a spec that keeps failing is skipped for a
 * while (its health), so that a dead mirror does not cost every request
 * a timeout.  Every request ends by its deadline, whatever happens.
 * Prefetch reads wait in a queue of their own, behind every other read,
 * and leave it no faster than prefetch_rate allows.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "erofs/sha256.h"
#include "source_priv.h"

/* reads merged while queued never grow past this (or min_fetch) */
#define COALESCE_MAX		(1U << 20)
#define SIZE_CACHE_MAX		4096
#define BACKOFF_FIRST_MS	100
#define BACKOFF_MAX_MS		2000
/* latency histogram: 4 buckets per power of two of microseconds */
#define LAT_BUCKETS		(4 + 4 * 40)

enum job_kind { JOB_READ, JOB_SIZE };

struct lat_hist {
	uint64_t b[LAT_BUCKETS];
	uint64_t max;
};

/* one spec of the source: its backend, health and counters */
struct src_spec {
	struct erofs_source_backend b;
	char *name;			/* the spec, without credentials */
	/* under src->lock */
	struct erofs_source_health health;
	struct erofs_source_stats st;
	struct lat_hist lat;
};

struct src_waiter {
	struct src_waiter *next;
	uint64_t off;
	size_t len;
	void *buf;
	erofs_source_done_t done;
	void *priv;
};

struct src_job {
	struct src_job *next;
	enum job_kind kind;
	char *key;
	uint64_t off;
	size_t len;
	uint64_t size;			/* JOB_SIZE result */
	bool prefetch;			/* in the prefetch queue, throttled */
	struct src_waiter *waiters;
	unsigned int nr_waiters;
};

struct ra_entry {
	struct ra_entry *next;
	char *key;
	uint64_t off;
	size_t len;
	void *data;
};

struct size_entry {
	struct size_entry *next;
	char *key;
	uint64_t size;
};

struct erofs_source {
	struct src_spec *specs;
	unsigned int nr_specs;
	struct erofs_msg msg;
	unsigned int retries, min_fetch, nr_workers;
	uint64_t deadline_us;
	size_t ra_max;

	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC */
	struct src_job *pending, **pending_tail;
	struct src_job *pf_pending, **pf_tail;	/* prefetch, throttled */
	struct src_job *inflight;	/* chained through ->next */
	bool stopping;
	pthread_t *threads;
	unsigned int nr_threads;

	struct erofs_source_bucket pf_bucket;	/* paces prefetch */

	struct ra_entry *ra;		/* most recently used first */
	size_t ra_bytes;
	struct size_entry *sizes;
	unsigned int nr_sizes;

	struct erofs_source_stats st;
	struct lat_hist lat;
	unsigned int seed;
};

uint64_t erofs_source_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static unsigned int lat_bucket(uint64_t us)
{
	unsigned int e, b;

	if (us < 4)
		return us;
	e = erofs_ilog2(us);
	b = 4 + (e - 2) * 4 + ((us >> (e - 2)) & 3);
	return MIN(b, LAT_BUCKETS - 1);
}

/* the largest value that falls in bucket @b */
static uint64_t lat_bucket_top(unsigned int b)
{
	unsigned int e, sub;

	if (b < 4)
		return b;
	e = (b - 4) / 4 + 2;
	sub = (b - 4) % 4;
	return ((4ULL + sub + 1) << (e - 2)) - 1;
}

bool erofs_source_key_is_safe(const char *key, bool allow_slash)
{
	const char *p = key;

	if (!*key)
		return false;
	if (!allow_slash && strchr(key, '/'))
		return false;
	/* no path component may be "." or ".." */
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = e - p;

		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p = *e ? e + 1 : e;
	}
	return key[strlen(key) - 1] != '/';
}

int erofs_source_parse_digest(const char *s, char hex[65])
{
	unsigned int i;

	if (!strncmp(s, "sha256:", 7))
		s += 7;
	if (strlen(s) != 64)
		return -EINVAL;
	/* what people type may be upper case; what is compared is not */
	for (i = 0; i <= 64; i++)
		hex[i] = tolower((unsigned char)s[i]);
	return erofs_sha256_hex_ok(hex) ? 0 : -EINVAL;
}

int erofs_source_verify_fd(int fd, uint64_t size, const char *hex,
			   const struct erofs_msg *msg)
{
	struct erofs_sha256 s;
	uint8_t d[EROFS_SHA256_SIZE];
	char want[65], got[65];
	uint64_t pos = 0;
	size_t bufsz = 1 << 20;
	char *buf;
	int err;

	err = erofs_source_parse_digest(hex, want);
	if (err)
		return err;
	buf = malloc(bufsz);
	if (!buf)
		return -ENOMEM;
	erofs_sha256_init(&s);
	while (pos < size) {
		ssize_t n = pread(fd, buf, MIN(bufsz, size - pos), pos);

		if (n <= 0) {
			free(buf);
			return n < 0 ? -errno : -EIO;
		}
		erofs_sha256_update(&s, buf, n);
		pos += n;
	}
	free(buf);
	erofs_sha256_final(&s, d);
	erofs_sha256_hex(d, got);
	if (strcmp(got, want)) {
		erofs_err(msg, "digest mismatch: expected sha256:%s, got sha256:%s",
			  want, got);
		return -EBADMSG;
	}
	return 0;
}

/* ---- size cache ---- */

static bool size_lookup(struct erofs_source *src, const char *key,
			uint64_t *size)
{
	struct size_entry *e;

	for (e = src->sizes; e; e = e->next)
		if (!strcmp(e->key, key)) {
			*size = e->size;
			return true;
		}
	return false;
}

static void size_clear(struct erofs_source *src)
{
	while (src->sizes) {
		struct size_entry *e = src->sizes;

		src->sizes = e->next;
		free(e->key);
		free(e);
	}
	src->nr_sizes = 0;
}

static void size_remember(struct erofs_source *src, const char *key,
			  uint64_t size)
{
	struct size_entry *e;
	uint64_t old;

	if (size_lookup(src, key, &old))
		return;
	/* forgetting everything now and then is enough for a daemon's keys */
	if (src->nr_sizes >= SIZE_CACHE_MAX)
		size_clear(src);
	e = malloc(sizeof(*e));
	if (!e)
		return;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return;
	}
	e->size = size;
	e->next = src->sizes;
	src->sizes = e;
	src->nr_sizes++;
}

/* ---- readahead cache (under src->lock) ---- */

static bool ra_lookup(struct erofs_source *src, const char *key, uint64_t off,
		      size_t len, void *buf)
{
	struct ra_entry **pp, *e;

	for (pp = &src->ra; (e = *pp); pp = &e->next) {
		if (strcmp(e->key, key) || off < e->off ||
		    off + len > e->off + e->len)
			continue;
		memcpy(buf, (char *)e->data + (off - e->off), len);
		*pp = e->next;		/* move to the front: LRU */
		e->next = src->ra;
		src->ra = e;
		return true;
	}
	return false;
}

static void ra_free(struct ra_entry *e)
{
	free(e->key);
	free(e->data);
	free(e);
}

/* takes @data; frees it when it does not fit */
static void ra_insert(struct erofs_source *src, const char *key, uint64_t off,
		      size_t len, void *data)
{
	struct ra_entry *e, **pp;

	if (!src->ra_max || len > src->ra_max)
		goto drop;
	e = malloc(sizeof(*e));
	if (!e)
		goto drop;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		goto drop;
	}
	e->off = off;
	e->len = len;
	e->data = data;
	e->next = src->ra;
	src->ra = e;
	src->ra_bytes += len;
	/* evict from the tail (least recently used) */
	while (src->ra_bytes > src->ra_max) {
		for (pp = &src->ra; (*pp)->next; pp = &(*pp)->next)
			;
		src->ra_bytes -= (*pp)->len;
		ra_free(*pp);
		*pp = NULL;
	}
	return;
drop:
	free(data);
}

/* ---- statistics ---- */

static void lat_add(struct lat_hist *h, uint64_t us)
{
	h->b[lat_bucket(us)]++;
	h->max = MAX(h->max, us);
}

static void stats_attempt(struct erofs_source *src, struct src_spec *sp,
			  uint64_t us, const struct erofs_source_attempt *at)
{
	pthread_mutex_lock(&src->lock);
	src->st.requests++;
	src->st.bytes += at->received;
	lat_add(&src->lat, us);
	sp->st.requests++;
	sp->st.bytes += at->received;
	lat_add(&sp->lat, us);
	pthread_mutex_unlock(&src->lock);
}

static uint64_t lat_percentile(const struct lat_hist *h, uint64_t n,
			       unsigned int pct)
{
	uint64_t want = (n * pct + 99) / 100, seen = 0;
	unsigned int b;

	for (b = 0; b < LAT_BUCKETS; b++) {
		seen += h->b[b];
		if (seen >= want && seen)
			return MIN(lat_bucket_top(b), h->max);
	}
	return h->max;
}

static void stats_fill(struct erofs_source_stats *st,
		       const struct erofs_source_stats *from,
		       const struct lat_hist *h)
{
	*st = *from;
	st->lat_p50_us = lat_percentile(h, st->requests, 50);
	st->lat_p90_us = lat_percentile(h, st->requests, 90);
	st->lat_p99_us = lat_percentile(h, st->requests, 99);
	st->lat_max_us = h->max;
}

void erofs_source_stats(struct erofs_source *src,
			struct erofs_source_stats *st)
{
	unsigned int i;

	pthread_mutex_lock(&src->lock);
	stats_fill(st, &src->st, &src->lat);
	/* counted per spec only */
	st->skips = 0;
	for (i = 0; i < src->nr_specs; i++)
		st->skips += src->specs[i].st.skips;
	pthread_mutex_unlock(&src->lock);
}

unsigned int erofs_source_nr_specs(struct erofs_source *src)
{
	return src->nr_specs;
}

int erofs_source_spec_stats(struct erofs_source *src, unsigned int i,
			    struct erofs_source_stats *st,
			    char *spec, size_t size)
{
	struct src_spec *sp;

	if (i >= src->nr_specs)
		return -ENOENT;
	sp = &src->specs[i];
	pthread_mutex_lock(&src->lock);
	stats_fill(st, &sp->st, &sp->lat);
	st->backing_off = erofs_source_health_backing_off(&sp->health,
							   erofs_source_now_us());
	pthread_mutex_unlock(&src->lock);
	if (spec && size)
		snprintf(spec, size, "%s", sp->name);
	return 0;
}

void erofs_source_stats_format(const struct erofs_source_stats *st,
			       bool json, char *buf, size_t size)
{
	const char *fmt = json ?
		"{\"reads\":%llu,\"requests\":%llu,\"bytes\":%llu,"
		"\"hits\":%llu,\"misses\":%llu,\"coalesced\":%llu,"
		"\"errors\":%llu,\"retries\":%llu,\"skips\":%llu,"
		"\"fallbacks\":%llu,\"deadlines\":%llu,"
		"\"prefetch_bytes\":%llu,\"lat_p50_us\":%llu,"
		"\"lat_p90_us\":%llu,\"lat_p99_us\":%llu,\"lat_max_us\":%llu}" :
		"reads %llu requests %llu bytes %llu hits %llu misses %llu "
		"coalesced %llu errors %llu retries %llu skips %llu "
		"fallbacks %llu deadlines %llu prefetch %llu latency p50 %lluus "
		"p90 %lluus p99 %lluus max %lluus";

	snprintf(buf, size, fmt, (unsigned long long)st->reads,
		 (unsigned long long)st->requests,
		 (unsigned long long)st->bytes, (unsigned long long)st->hits,
		 (unsigned long long)st->misses,
		 (unsigned long long)st->coalesced,
		 (unsigned long long)st->errors,
		 (unsigned long long)st->retries,
		 (unsigned long long)st->skips,
		 (unsigned long long)st->fallbacks,
		 (unsigned long long)st->deadlines,
		 (unsigned long long)st->prefetch_bytes,
		 (unsigned long long)st->lat_p50_us,
		 (unsigned long long)st->lat_p90_us,
		 (unsigned long long)st->lat_p99_us,
		 (unsigned long long)st->lat_max_us);
}

/* ---- health ---- */

/*
 * A spec that is backing off is skipped while another one that is not
 * is left to try in this pass (@done: answered or failed already): with
 * nothing else, it is tried anyway (a probe).
 */
static bool spec_skip(struct erofs_source *src, unsigned int i,
		      const bool *done)
{
	uint64_t now = erofs_source_now_us();
	bool skip = false;
	unsigned int j;

	pthread_mutex_lock(&src->lock);
	if (erofs_source_health_backing_off(&src->specs[i].health, now)) {
		for (j = 0; j < src->nr_specs; j++)
			if (j != i && !done[j] &&
			    !erofs_source_health_backing_off(&src->specs[j].health,
							     now))
				skip = true;
		if (skip)
			src->specs[i].st.skips++;
	}
	pthread_mutex_unlock(&src->lock);
	return skip;
}

static void spec_result(struct erofs_source *src, struct src_spec *sp,
			bool failed)
{
	unsigned int ms;

	pthread_mutex_lock(&src->lock);
	if (failed)
		sp->st.errors++;
	ms = erofs_source_health_update(&sp->health, failed,
					erofs_source_now_us());
	pthread_mutex_unlock(&src->lock);
	if (ms && src->nr_specs > 1)
		erofs_warn(&src->msg, "%s keeps failing: skipped for %u ms",
			   sp->name, ms);
}

/* ---- workers ---- */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* false when the deadline comes first: then nothing is left to wait for */
static bool backoff_sleep(struct erofs_source *src, unsigned int attempt,
			  uint64_t deadline)
{
	unsigned int ms = BACKOFF_FIRST_MS << MIN(attempt, 10U);
	uint64_t now = erofs_source_now_us();

	ms = MIN(ms, (unsigned int)BACKOFF_MAX_MS);
	/* up to a quarter more, so that many clients do not retry in step */
	pthread_mutex_lock(&src->lock);
	ms += rand_r(&src->seed) % (ms / 4 + 1);
	pthread_mutex_unlock(&src->lock);
	if (now + ms * 1000ULL >= deadline)
		return false;
	sleep_ms(ms);
	return true;
}

static void describe_job(struct src_spec *sp, const struct src_job *job,
			 char *out, size_t size)
{
	char what[400];

	sp->b.describe(sp->b.be, job->key, what, sizeof(what));
	if (job->kind == JOB_SIZE)
		snprintf(out, size, "size of %s", what);
	else
		snprintf(out, size, "%s bytes %llu-%llu", what,
			 (unsigned long long)job->off,
			 (unsigned long long)(job->off + job->len - 1));
}

static int attempt_once(struct erofs_source *src, unsigned int i, void *w,
			struct src_job *job, void *buf, uint64_t deadline,
			struct erofs_source_attempt *at)
{
	struct src_spec *sp = &src->specs[i];
	uint64_t t0 = erofs_source_now_us();
	int err;

	memset(at, 0, sizeof(*at));
	at->deadline_us = deadline;
	pthread_mutex_lock(&src->lock);
	if (job->kind == JOB_SIZE ||
	    !size_lookup(src, job->key, &at->object_size))
		at->object_size = UINT64_MAX;
	pthread_mutex_unlock(&src->lock);
	if (job->kind == JOB_SIZE)
		err = sp->b.size(sp->b.be, w, job->key, &job->size, at);
	else
		err = sp->b.read(sp->b.be, w, job->key, job->off, job->len,
				 buf, at);
	stats_attempt(src, sp, erofs_source_now_us() - t0, at);
	/* too little time left for a back-off and another try: the end */
	if (err && at->transient &&
	    erofs_source_now_us() + BACKOFF_FIRST_MS * 1000 >= deadline) {
		/* whatever the transport said, the deadline ended it */
		at->transient = false;
		at->deadline = true;
	}
	return err;
}

/* a failed attempt that is not the end of the request: @retry, or 0 */
static void warn_attempt(struct erofs_source *src, unsigned int i,
			 const struct src_job *job,
			 const struct erofs_source_attempt *at, int err,
			 unsigned int retry)
{
	const char *why = at->why[0] ? at->why : strerror(-err);
	char what[512];

	if (i + 1 >= src->nr_specs && !retry)
		return;
	describe_job(&src->specs[i], job, what, sizeof(what));
	if (i + 1 < src->nr_specs)
		erofs_warn(&src->msg, "%s: %s; trying the next source", what,
			   why);
	else
		erofs_warn(&src->msg, "%s: %s; retry %u of %u", what, why,
			   retry, src->retries);
}

static void count(struct erofs_source *src, uint64_t *field)
{
	pthread_mutex_lock(&src->lock);
	(*field)++;
	pthread_mutex_unlock(&src->lock);
}

/*
 * Passes over the specs in order until one answers; a spec that gives a
 * final answer (404, refused) is not asked again for this request, one
 * that failed in passing is, after a back-off, up to src->retries times.
 */
static int run_attempts(struct erofs_source *src, void **ws,
			struct src_job *job, void *buf)
{
	uint64_t deadline = erofs_source_now_us() + src->deadline_us;
	bool final[EROFS_SOURCE_MAX_SPECS] = { false };
	bool done[EROFS_SOURCE_MAX_SPECS];
	struct erofs_source_attempt at = { 0 };
	unsigned int pass, i, last = 0, attempts = 0;
	char what[512];
	bool transient, out_of_time = false;
	int err = -EIO;

	for (pass = 0;; pass++) {
		transient = false;
		memcpy(done, final, sizeof(done));
		for (i = 0; i < src->nr_specs && !out_of_time; i++) {
			struct src_spec *sp = &src->specs[i];

			if (final[i] || spec_skip(src, i, done))
				continue;
			done[i] = true;
			if (pass)
				count(src, &sp->st.retries);
			err = attempt_once(src, i, ws[i], job, buf, deadline,
					   &at);
			last = i;
			attempts++;
			if (!err) {
				spec_result(src, sp, false);
				if (i)
					count(src, &src->st.fallbacks);
				return 0;
			}
			out_of_time = at.deadline;
			spec_result(src, sp, at.transient || at.deadline);
			if (at.transient)
				transient = true;
			else
				final[i] = true;
			warn_attempt(src, i, job, &at, err,
				     transient && pass < src->retries &&
				     !out_of_time ? pass + 1 : 0);
		}
		if (out_of_time || !transient || pass >= src->retries)
			break;
		count(src, &src->st.retries);
		if (!backoff_sleep(src, pass, deadline)) {
			out_of_time = true;
			break;
		}
	}
	describe_job(&src->specs[last], job, what, sizeof(what));
	if (out_of_time) {
		count(src, &src->st.deadlines);
		erofs_err(&src->msg, "%s: deadline of %llu ms reached after %u attempt%s (%s)",
			  what, (unsigned long long)(src->deadline_us / 1000),
			  attempts, attempts == 1 ? "" : "s",
			  at.why[0] ? at.why : strerror(-err));
		return -ETIMEDOUT;
	}
	erofs_err(&src->msg, "%s: %s%s", what,
		  at.why[0] ? at.why : strerror(-err),
		  pass ? " (retries exhausted)" : "");
	return err;
}

/* a single waiter asking for the whole range gets the bytes directly */
static bool job_is_direct(const struct src_job *job)
{
	return job->kind == JOB_READ && job->nr_waiters == 1 &&
		job->waiters->off == job->off &&
		job->waiters->len == job->len;
}

static void job_free(struct src_job *job)
{
	free(job->key);
	free(job);
}

static void inflight_remove(struct erofs_source *src, struct src_job *job)
{
	struct src_job **pp;

	for (pp = &src->inflight; *pp; pp = &(*pp)->next)
		if (*pp == job) {
			*pp = job->next;
			return;
		}
}

static void run_job(struct erofs_source *src, void **ws, struct src_job *job)
{
	struct src_waiter *wt, *next;
	void *buf = NULL;
	bool direct;
	int err;

	/* waiters may still join while the job runs: decide under the lock */
	pthread_mutex_lock(&src->lock);
	direct = job_is_direct(job);
	if (direct)
		buf = job->waiters->buf;
	pthread_mutex_unlock(&src->lock);

	if (job->kind == JOB_READ) {
		if (!direct)
			buf = malloc(job->len);
		err = buf ? run_attempts(src, ws, job, buf) : -ENOMEM;
	} else {
		err = run_attempts(src, ws, job, NULL);
	}

	pthread_mutex_lock(&src->lock);
	inflight_remove(src, job);
	if (!err && job->kind == JOB_SIZE)
		size_remember(src, job->key, job->size);
	if (err)
		src->st.errors += job->nr_waiters;
	/* a waiter that joined after we chose "direct" needs a copy too */
	if (direct && job->nr_waiters > 1 && !err) {
		void *copy = malloc(job->len);

		if (copy)
			memcpy(copy, buf, job->len);
		else
			err = -ENOMEM;
		buf = copy;
		direct = false;
	}
	wt = job->waiters;
	job->waiters = NULL;
	pthread_mutex_unlock(&src->lock);

	for (next = wt; next; next = next->next) {
		if (!err && job->kind == JOB_SIZE)
			*(uint64_t *)next->buf = job->size;
		else if (!err && !(direct && next->buf == buf))
			memcpy(next->buf, (char *)buf + (next->off - job->off),
			       next->len);
	}
	/*
	 * Into the readahead cache before anyone is answered: a caller
	 * reading on sequentially must find the rest of the range there.
	 */
	if (job->kind == JOB_READ && !direct) {
		pthread_mutex_lock(&src->lock);
		if (!err && src->min_fetch)
			ra_insert(src, job->key, job->off, job->len, buf);
		else
			free(buf);
		pthread_mutex_unlock(&src->lock);
	}
	for (; wt; wt = next) {
		next = wt->next;
		wt->done(wt->priv, err);
		free(wt);
	}
	job_free(job);
}

/*
 * Under src->lock: the next job to run, other reads before prefetch;
 * NULL with *wait_us set when only throttled prefetch is left.
 */
static struct src_job *take_job(struct erofs_source *src, uint64_t *wait_us)
{
	struct src_job *job = src->pending;

	*wait_us = 0;
	if (job) {
		src->pending = job->next;
		if (!src->pending)
			src->pending_tail = &src->pending;
		return job;
	}
	job = src->pf_pending;
	if (!job)
		return NULL;
	*wait_us = erofs_source_bucket_take(&src->pf_bucket, job->len,
					    erofs_source_now_us());
	if (*wait_us)
		return NULL;
	src->pf_pending = job->next;
	if (!src->pf_pending)
		src->pf_tail = &src->pf_pending;
	return job;
}

static void timed_wait(struct erofs_source *src, uint64_t us)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	us += ts.tv_nsec / 1000;
	ts.tv_sec += us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	pthread_cond_timedwait(&src->cond, &src->lock, &ts);
}

static void *worker_main(void *arg)
{
	struct erofs_source *src = arg;
	void *ws[EROFS_SOURCE_MAX_SPECS] = { NULL };
	struct src_job *job;
	uint64_t wait_us;
	unsigned int i;

	for (i = 0; i < src->nr_specs; i++)
		if (src->specs[i].b.worker_init)
			ws[i] = src->specs[i].b.worker_init(src->specs[i].b.be);
	for (;;) {
		pthread_mutex_lock(&src->lock);
		for (;;) {
			job = take_job(src, &wait_us);
			/* stopping: throttled prefetch still drains, unthrottled */
			if (!job && src->stopping && src->pf_pending) {
				src->pf_bucket.rate = 0;
				continue;
			}
			if (job || src->stopping)
				break;
			if (wait_us)
				timed_wait(src, wait_us);
			else
				pthread_cond_wait(&src->cond, &src->lock);
		}
		if (!job) {
			pthread_mutex_unlock(&src->lock);
			break;
		}
		/* someone else watches the bucket for the prefetch left */
		if (src->pf_pending)
			pthread_cond_signal(&src->cond);
		job->next = src->inflight;
		src->inflight = job;
		pthread_mutex_unlock(&src->lock);
		run_job(src, ws, job);
	}
	for (i = 0; i < src->nr_specs; i++)
		if (src->specs[i].b.worker_exit)
			src->specs[i].b.worker_exit(src->specs[i].b.be, ws[i]);
	return NULL;
}

/* ---- queueing ---- */

static struct src_job *job_new(enum job_kind kind, const char *key,
			       uint64_t off, size_t len)
{
	struct src_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->key = strdup(key);
	if (!job->key) {
		free(job);
		return NULL;
	}
	job->kind = kind;
	job->off = off;
	job->len = len;
	return job;
}

static void job_add_waiter(struct src_job *job, struct src_waiter *wt)
{
	wt->next = job->waiters;
	job->waiters = wt;
	job->nr_waiters++;
}

static struct src_job *find_covering(struct src_job *list, enum job_kind kind,
				     const char *key, uint64_t off, size_t len)
{
	for (; list; list = list->next)
		if (list->kind == kind && !strcmp(list->key, key) &&
		    (kind == JOB_SIZE ||
		     (off >= list->off && off + len <= list->off + list->len)))
			return list;
	return NULL;
}

/* a queued read of @key in @list that [off, off + len) touches or overlaps */
static struct src_job *find_mergeable(struct erofs_source *src,
				      struct src_job *list, const char *key,
				      uint64_t off, size_t len)
{
	size_t limit = MAX((size_t)COALESCE_MAX, (size_t)src->min_fetch);
	struct src_job *j;

	for (j = list; j; j = j->next) {
		uint64_t s, e;

		if (j->kind != JOB_READ || strcmp(j->key, key) ||
		    off > j->off + j->len || off + len < j->off)
			continue;
		s = MIN(off, j->off);
		e = MAX(off + len, j->off + j->len);
		if (e - s <= limit)
			return j;
	}
	return NULL;
}

static void queue_append(struct erofs_source *src, struct src_job *job)
{
	job->next = NULL;
	if (job->prefetch) {
		*src->pf_tail = job;
		src->pf_tail = &job->next;
	} else {
		*src->pending_tail = job;
		src->pending_tail = &job->next;
	}
	pthread_cond_signal(&src->cond);
}

/* a plain read needs a queued prefetch job: it is not throttled any more */
static void promote(struct erofs_source *src, struct src_job *job)
{
	struct src_job **pp;

	for (pp = &src->pf_pending; *pp; pp = &(*pp)->next)
		if (*pp == job)
			break;
	if (!*pp)
		return;		/* running already */
	*pp = job->next;
	if (src->pf_tail == &job->next)
		src->pf_tail = pp;
	job->prefetch = false;
	queue_append(src, job);
}

/* under src->lock; takes @wt */
static int queue_waiter(struct erofs_source *src, enum job_kind kind,
			const char *key, uint64_t off, size_t len,
			bool prefetch, struct src_waiter *wt)
{
	struct src_job *job;

	job = find_covering(src->inflight, kind, key, off, len);
	if (!job)
		job = find_covering(src->pending, kind, key, off, len);
	if (!job)
		job = find_covering(src->pf_pending, kind, key, off, len);
	if (!job && kind == JOB_READ) {
		job = find_mergeable(src, src->pending, key, off, len);
		if (!job)
			job = find_mergeable(src, src->pf_pending, key, off,
					     len);
		if (job) {
			uint64_t end = MAX(off + len, job->off + job->len);

			job->off = MIN(off, job->off);
			job->len = end - job->off;
		}
	}
	if (job) {
		if (kind == JOB_READ)
			src->st.coalesced++;
		job_add_waiter(job, wt);
		if (job->prefetch && !prefetch)
			promote(src, job);
		return 0;
	}
	job = job_new(kind, key, off, len);
	if (!job)
		return -ENOMEM;
	if (kind == JOB_READ)
		src->st.misses++;
	job->prefetch = prefetch && src->pf_bucket.rate;
	job_add_waiter(job, wt);
	queue_append(src, job);
	return 0;
}

static int submit(struct erofs_source *src, enum job_kind kind,
		  const char *key, uint64_t off, size_t len, uint64_t woff,
		  size_t wlen, bool prefetch, void *buf,
		  erofs_source_done_t done, void *priv)
{
	struct src_waiter *wt = malloc(sizeof(*wt));
	int err;

	if (!wt)
		return -ENOMEM;
	wt->off = off;
	wt->len = len;
	wt->buf = buf;
	wt->done = done;
	wt->priv = priv;
	pthread_mutex_lock(&src->lock);
	if (src->stopping)
		err = -ESHUTDOWN;
	else
		err = queue_waiter(src, kind, key, woff, wlen, prefetch, wt);
	pthread_mutex_unlock(&src->lock);
	if (err)
		free(wt);
	return err;
}

struct sync_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;
};

static void sync_done(void *priv, int err)
{
	struct sync_wait *sw = priv;

	pthread_mutex_lock(&sw->lock);
	sw->err = err;
	sw->done = true;
	pthread_cond_signal(&sw->cond);
	pthread_mutex_unlock(&sw->lock);
}

static void sync_init(struct sync_wait *sw)
{
	pthread_mutex_init(&sw->lock, NULL);
	pthread_cond_init(&sw->cond, NULL);
	sw->done = false;
	sw->err = 0;
}

static int sync_wait_for(struct sync_wait *sw)
{
	pthread_mutex_lock(&sw->lock);
	while (!sw->done)
		pthread_cond_wait(&sw->cond, &sw->lock);
	pthread_mutex_unlock(&sw->lock);
	pthread_mutex_destroy(&sw->lock);
	pthread_cond_destroy(&sw->cond);
	return sw->err;
}

int erofs_source_size(struct erofs_source *src, const char *key,
		      uint64_t *size)
{
	struct sync_wait sw;
	bool known;
	int err;

	pthread_mutex_lock(&src->lock);
	known = size_lookup(src, key, size);
	pthread_mutex_unlock(&src->lock);
	if (known)
		return 0;
	sync_init(&sw);
	err = submit(src, JOB_SIZE, key, 0, 0, 0, 0, false, size, sync_done,
		     &sw);
	if (err) {
		sw.done = true;
		sync_wait_for(&sw);
		return err;
	}
	return sync_wait_for(&sw);
}

int erofs_source_widen(struct erofs_source *src, const char *key,
		       uint64_t *off, size_t *len)
{
	uint64_t size, s, e;
	int err;

	if (!src->min_fetch || *len >= EROFS_SOURCE_MAX_REQUEST)
		return 0;
	err = erofs_source_size(src, key, &size);
	if (err)
		return err;
	s = ROUND_DOWN(*off, src->min_fetch);
	e = ROUND_UP(*off + *len, (uint64_t)src->min_fetch);
	e = MIN(e, size);
	/* widening never makes a request bigger than the backend limit */
	if (e - s > EROFS_SOURCE_MAX_REQUEST || e < *off + *len)
		return 0;
	*off = s;
	*len = e - s;
	return 0;
}

static void read_async(struct erofs_source *src, const char *key,
		       uint64_t off, size_t len, void *buf, bool prefetch,
		       erofs_source_done_t done, void *priv)
{
	uint64_t woff = off, size;
	size_t wlen = len;
	bool hit;
	int err = 0;

	pthread_mutex_lock(&src->lock);
	src->st.reads++;
	hit = len && src->min_fetch && ra_lookup(src, key, off, len, buf);
	if (hit)
		src->st.hits++;
	pthread_mutex_unlock(&src->lock);
	if (hit || !len)
		goto answer;
	if (off + len < off) {
		err = -EINVAL;
		goto answer;
	}
	/* past the end of an object whose size is known: no request at all */
	pthread_mutex_lock(&src->lock);
	if (size_lookup(src, key, &size) && off + len > size)
		err = -ERANGE;
	pthread_mutex_unlock(&src->lock);
	if (err)
		goto fail;
	err = erofs_source_widen(src, key, &woff, &wlen);
	if (!err)
		err = submit(src, JOB_READ, key, off, len, woff, wlen,
			     prefetch, buf, done, priv);
	if (!err) {
		if (prefetch) {
			pthread_mutex_lock(&src->lock);
			src->st.prefetch_bytes += len;
			pthread_mutex_unlock(&src->lock);
		}
		return;
	}
fail:
	pthread_mutex_lock(&src->lock);
	src->st.errors++;
	pthread_mutex_unlock(&src->lock);
answer:
	done(priv, err);
}

int erofs_source_read_async(struct erofs_source *src, const char *key,
			    uint64_t off, size_t len, void *buf,
			    erofs_source_done_t done, void *priv)
{
	read_async(src, key, off, len, buf, false, done, priv);
	return 0;
}

static int read_sync(struct erofs_source *src, const char *key, uint64_t off,
		     size_t len, void *buf, bool prefetch)
{
	struct sync_wait sw;

	sync_init(&sw);
	read_async(src, key, off, len, buf, prefetch, sync_done, &sw);
	return sync_wait_for(&sw);
}

int erofs_source_read(struct erofs_source *src, const char *key,
		      uint64_t off, size_t len, void *buf)
{
	return read_sync(src, key, off, len, buf, false);
}

int erofs_source_prefetch(struct erofs_source *src, const char *key,
			  uint64_t off, size_t len, void *buf)
{
	return read_sync(src, key, off, len, buf, true);
}

int erofs_source_read_spec(struct erofs_source *src, unsigned int spec,
			   const char *key, uint64_t off, size_t len,
			   void *buf)
{
	uint64_t deadline = erofs_source_now_us() + src->deadline_us;
	struct src_job job = { .kind = JOB_READ, .off = off, .len = len };
	struct erofs_source_attempt at;
	struct src_spec *sp;
	unsigned int attempt;
	char what[512];
	void *w = NULL;
	int err;

	if (spec >= src->nr_specs || !len || len > EROFS_SOURCE_MAX_REQUEST)
		return -EINVAL;
	sp = &src->specs[spec];
	job.key = (char *)key;
	if (sp->b.worker_init) {
		w = sp->b.worker_init(sp->b.be);
		if (!w)
			return -ENOMEM;
	}
	for (attempt = 0;; attempt++) {
		err = attempt_once(src, spec, w, &job, buf, deadline, &at);
		if (!err || !at.transient || attempt >= src->retries)
			break;
		count(src, &sp->st.retries);
		if (!backoff_sleep(src, attempt, deadline))
			break;
	}
	if (err) {
		describe_job(sp, &job, what, sizeof(what));
		erofs_err(&src->msg, "%s: %s", what,
			  at.why[0] ? at.why : strerror(-err));
	}
	if (sp->b.worker_exit)
		sp->b.worker_exit(sp->b.be, w);
	return err;
}

/* ---- open / close ---- */

void erofs_source_spec_redact(const char *spec, char *out, size_t size)
{
	const char *host = strstr(spec, "://"), *at = NULL, *end;

	if (host) {
		host += 3;
		end = host + strcspn(host, "/?#");
		at = memchr(host, '@', end - host);
	}
	if (at)
		snprintf(out, size, "%.*s%s", (int)(host - spec), spec, at + 1);
	else
		snprintf(out, size, "%s", spec);
}

static char *spec_name(const char *spec)
{
	size_t n = strlen(spec) + 1;
	char *name = malloc(n);

	if (name)
		erofs_source_spec_redact(spec, name, n);
	return name;
}

static int open_backend(struct erofs_source *src, struct src_spec *sp,
			const struct erofs_source_opts *opts)
{
	const char *spec = opts->spec;
	struct erofs_source_backend *b = &sp->b;

	if (!spec || !*spec) {
		erofs_err(&src->msg, "no source given");
		return -EINVAL;
	}
	sp->name = spec_name(spec);
	if (!sp->name)
		return -ENOMEM;
	if (!strncmp(spec, "dir:", 4))
		return erofs_source_dir_open(b, spec + 4, &src->msg);
	if (spec[0] == '/' || spec[0] == '.')
		return erofs_source_dir_open(b, spec, &src->msg);
	if (!strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8))
		return erofs_source_http_open(b, opts, spec, NULL, &src->msg);
	if (!strncmp(spec, "oci://", 6))
		return erofs_source_oci_open(b, opts, spec, &src->msg);
	erofs_err(&src->msg,
		  "unknown source \"%s\": expected dir:PATH, /PATH, http(s)://URL or oci://HOST/REPO",
		  sp->name);
	return -EINVAL;
}

/* the first spec and its fallbacks, which share the source's workers */
static int open_specs(struct erofs_source *src,
		      const struct erofs_source_opts *opts)
{
	unsigned int i, timeout;
	int err;

	if (opts->nr_fallbacks >= EROFS_SOURCE_MAX_SPECS) {
		erofs_err(&src->msg, "at most %u fallbacks",
			  EROFS_SOURCE_MAX_SPECS - 1);
		return -EINVAL;
	}
	src->specs = calloc(opts->nr_fallbacks + 1, sizeof(*src->specs));
	if (!src->specs)
		return -ENOMEM;
	for (i = 0; i <= opts->nr_fallbacks; i++) {
		struct erofs_source_opts o = i ? opts->fallbacks[i - 1] : *opts;

		o.workers = src->nr_workers;
		err = open_backend(src, &src->specs[i], &o);
		if (err) {
			free(src->specs[i].name);
			return err;
		}
		src->nr_specs++;
		/* by default, every spec may use all its attempts */
		timeout = o.timeout_ms ?: EROFS_SOURCE_DEFAULT_TIMEOUT_MS;
		if (!opts->deadline_ms)
			src->deadline_us += (src->retries + 1ULL) * timeout * 1000;
	}
	if (opts->deadline_ms)
		src->deadline_us = opts->deadline_ms * 1000ULL;
	return 0;
}

static void close_specs(struct erofs_source *src)
{
	unsigned int i;

	for (i = 0; i < src->nr_specs; i++) {
		struct src_spec *sp = &src->specs[i];

		if (sp->b.close)
			sp->b.close(sp->b.be);
		free(sp->name);
	}
	free(src->specs);
}

static int start_workers(struct erofs_source *src)
{
	unsigned int i;

	src->threads = calloc(src->nr_workers, sizeof(*src->threads));
	if (!src->threads)
		return -ENOMEM;
	for (i = 0; i < src->nr_workers; i++) {
		if (pthread_create(&src->threads[i], NULL, worker_main, src))
			return -EAGAIN;
		src->nr_threads++;
	}
	return 0;
}

static void init_sync(struct erofs_source *src)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&src->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&src->cond, &ca);
	pthread_condattr_destroy(&ca);
}

int erofs_source_open(struct erofs_source **out,
		      const struct erofs_source_opts *opts,
		      const struct erofs_msg *msg)
{
	struct erofs_source *src = calloc(1, sizeof(*src));
	int err;

	if (!src)
		return -ENOMEM;
	src->msg = *msg;
	src->retries = opts->retries_set ? opts->retries :
		EROFS_SOURCE_DEFAULT_RETRIES;
	src->nr_workers = opts->workers ?: EROFS_SOURCE_DEFAULT_WORKERS;
	src->min_fetch = opts->min_fetch;
	src->ra_max = opts->ra_cache_bytes ?: (size_t)8 * opts->min_fetch;
	erofs_source_bucket_init(&src->pf_bucket, opts->prefetch_rate,
				 erofs_source_now_us());
	src->seed = (unsigned int)erofs_source_now_us() ^ (unsigned int)getpid();
	src->pending_tail = &src->pending;
	src->pf_tail = &src->pf_pending;
	init_sync(src);
	if (src->nr_workers > 256 || src->min_fetch > EROFS_SOURCE_MAX_REQUEST ||
	    src->retries > 1000) {
		erofs_err(msg, "workers must be at most 256, retries at most 1000 and min_fetch at most %u",
			  EROFS_SOURCE_MAX_REQUEST);
		err = -EINVAL;
		goto fail;
	}

	err = open_specs(src, opts);
	if (err)
		goto fail;
	err = start_workers(src);
	if (err) {
		erofs_source_close(src);
		return err;
	}
	*out = src;
	return 0;
fail:
	close_specs(src);
	pthread_mutex_destroy(&src->lock);
	pthread_cond_destroy(&src->cond);
	free(src);
	return err;
}

void erofs_source_close(struct erofs_source *src)
{
	struct src_job *job, **lists[2];
	unsigned int i;

	if (!src)
		return;
	/* workers drain what is queued, then leave */
	pthread_mutex_lock(&src->lock);
	src->stopping = true;
	pthread_cond_broadcast(&src->cond);
	pthread_mutex_unlock(&src->lock);
	for (i = 0; i < src->nr_threads; i++)
		pthread_join(src->threads[i], NULL);
	free(src->threads);
	/* only if no worker ever started */
	lists[0] = &src->pending;
	lists[1] = &src->pf_pending;
	for (i = 0; i < 2; i++) {
		while ((job = *lists[i])) {
			struct src_waiter *wt, *next;

			*lists[i] = job->next;
			for (wt = job->waiters; wt; wt = next) {
				next = wt->next;
				wt->done(wt->priv, -ESHUTDOWN);
				free(wt);
			}
			job_free(job);
		}
	}
	while (src->ra) {
		struct ra_entry *e = src->ra;

		src->ra = e->next;
		ra_free(e);
	}
	size_clear(src);
	close_specs(src);
	pthread_mutex_destroy(&src->lock);
	pthread_cond_destroy(&src->cond);
	free(src);
}

/*
 * Manifests are few and small: fetched on the caller's thread with a
 * worker state of its own, so that the read queue is not involved.
 */
int erofs_source_get_manifest(struct erofs_source *src, const char *ref,
			      const char *accept, size_t max, char **body,
			      size_t *len, char *type, size_t type_size)
{
	/* manifests come from the registry, the first spec; mirrors hold blobs */
	struct src_spec *sp = &src->specs[0];
	uint64_t deadline = erofs_source_now_us() + src->deadline_us;
	struct erofs_source_attempt at;
	unsigned int attempt;
	void *w = NULL;
	uint64_t t0;
	int err;

	if (!sp->b.manifest)
		return -EOPNOTSUPP;
	if (sp->b.worker_init) {
		w = sp->b.worker_init(sp->b.be);
		if (!w)
			return -ENOMEM;
	}
	for (attempt = 0;; attempt++) {
		memset(&at, 0, sizeof(at));
		at.deadline_us = deadline;
		t0 = erofs_source_now_us();
		err = sp->b.manifest(sp->b.be, w, ref, accept, max, body, len,
				     type, type_size, &at);
		stats_attempt(src, sp, erofs_source_now_us() - t0, &at);
		if (!err || !at.transient || attempt >= src->retries)
			break;
		erofs_warn(&src->msg, "manifest %s: %s; retry %u of %u", ref,
			   at.why[0] ? at.why : strerror(-err), attempt + 1,
			   src->retries);
		if (!backoff_sleep(src, attempt, deadline))
			break;
	}
	if (err)
		erofs_err(&src->msg, "manifest %s: %s%s", ref,
			  at.why[0] ? at.why : strerror(-err),
			  attempt ? " (retries exhausted)" : "");
	if (sp->b.worker_exit)
		sp->b.worker_exit(sp->b.be, w);
	return err;
}
