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
 */
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
	struct erofs_source_backend b;
	struct erofs_msg msg;
	unsigned int timeout_ms, retries, min_fetch, nr_workers;
	size_t ra_max;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct src_job *pending, **pending_tail;
	struct src_job *inflight;	/* chained through ->next */
	bool stopping;
	pthread_t *threads;
	unsigned int nr_threads;

	struct ra_entry *ra;		/* most recently used first */
	size_t ra_bytes;
	struct size_entry *sizes;
	unsigned int nr_sizes;

	struct erofs_source_stats st;
	uint64_t lat[LAT_BUCKETS];
	uint64_t lat_max;
	unsigned int seed;
};

static uint64_t now_us(void)
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
	for (i = 0; i < 64; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'F')
			c += 'a' - 'A';
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
		hex[i] = c;
	}
	hex[64] = '\0';
	return 0;
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

static void stats_attempt(struct erofs_source *src, uint64_t us,
			  const struct erofs_source_attempt *at)
{
	pthread_mutex_lock(&src->lock);
	src->st.requests++;
	src->st.bytes += at->received;
	src->lat[lat_bucket(us)]++;
	src->lat_max = MAX(src->lat_max, us);
	pthread_mutex_unlock(&src->lock);
}

static uint64_t lat_percentile(const struct erofs_source *src, uint64_t n,
			       unsigned int pct)
{
	uint64_t want = (n * pct + 99) / 100, seen = 0;
	unsigned int b;

	for (b = 0; b < LAT_BUCKETS; b++) {
		seen += src->lat[b];
		if (seen >= want && seen)
			return MIN(lat_bucket_top(b), src->lat_max);
	}
	return src->lat_max;
}

void erofs_source_stats(struct erofs_source *src,
			struct erofs_source_stats *st)
{
	pthread_mutex_lock(&src->lock);
	*st = src->st;
	st->lat_p50_us = lat_percentile(src, st->requests, 50);
	st->lat_p90_us = lat_percentile(src, st->requests, 90);
	st->lat_p99_us = lat_percentile(src, st->requests, 99);
	st->lat_max_us = src->lat_max;
	pthread_mutex_unlock(&src->lock);
}

void erofs_source_stats_format(const struct erofs_source_stats *st,
			       bool json, char *buf, size_t size)
{
	const char *fmt = json ?
		"{\"reads\":%llu,\"requests\":%llu,\"bytes\":%llu,"
		"\"hits\":%llu,\"misses\":%llu,\"coalesced\":%llu,"
		"\"errors\":%llu,\"retries\":%llu,\"lat_p50_us\":%llu,"
		"\"lat_p90_us\":%llu,\"lat_p99_us\":%llu,\"lat_max_us\":%llu}" :
		"reads %llu requests %llu bytes %llu hits %llu misses %llu "
		"coalesced %llu errors %llu retries %llu latency p50 %lluus "
		"p90 %lluus p99 %lluus max %lluus";

	snprintf(buf, size, fmt, (unsigned long long)st->reads,
		 (unsigned long long)st->requests,
		 (unsigned long long)st->bytes, (unsigned long long)st->hits,
		 (unsigned long long)st->misses,
		 (unsigned long long)st->coalesced,
		 (unsigned long long)st->errors,
		 (unsigned long long)st->retries,
		 (unsigned long long)st->lat_p50_us,
		 (unsigned long long)st->lat_p90_us,
		 (unsigned long long)st->lat_p99_us,
		 (unsigned long long)st->lat_max_us);
}

/* ---- workers ---- */

static void backoff_sleep(struct erofs_source *src, unsigned int attempt)
{
	unsigned int ms = BACKOFF_FIRST_MS << MIN(attempt, 10U);
	struct timespec ts;

	ms = MIN(ms, (unsigned int)BACKOFF_MAX_MS);
	/* up to a quarter more, so that many clients do not retry in step */
	pthread_mutex_lock(&src->lock);
	ms += rand_r(&src->seed) % (ms / 4 + 1);
	pthread_mutex_unlock(&src->lock);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int run_attempts(struct erofs_source *src, void *w, struct src_job *job,
			void *buf)
{
	struct erofs_source_attempt at;
	unsigned int attempt;
	char what[512];
	uint64_t t0;
	int err;

	for (attempt = 0;; attempt++) {
		memset(&at, 0, sizeof(at));
		pthread_mutex_lock(&src->lock);
		if (job->kind == JOB_SIZE ||
		    !size_lookup(src, job->key, &at.object_size))
			at.object_size = UINT64_MAX;
		pthread_mutex_unlock(&src->lock);
		t0 = now_us();
		if (job->kind == JOB_SIZE)
			err = src->b.size(src->b.be, w, job->key, &job->size,
					  &at);
		else
			err = src->b.read(src->b.be, w, job->key, job->off,
					  job->len, buf, &at);
		stats_attempt(src, now_us() - t0, &at);
		if (!err || !at.transient || attempt >= src->retries)
			break;
		src->b.describe(src->b.be, job->key, what, sizeof(what));
		erofs_warn(&src->msg, "%s%s: %s; retry %u of %u",
			   job->kind == JOB_SIZE ? "size of " : "", what,
			   at.why[0] ? at.why : strerror(-err), attempt + 1,
			   src->retries);
		pthread_mutex_lock(&src->lock);
		src->st.retries++;
		pthread_mutex_unlock(&src->lock);
		backoff_sleep(src, attempt);
	}
	if (err) {
		src->b.describe(src->b.be, job->key, what, sizeof(what));
		if (job->kind == JOB_SIZE)
			erofs_err(&src->msg, "size of %s: %s%s", what,
				  at.why[0] ? at.why : strerror(-err),
				  attempt ? " (retries exhausted)" : "");
		else
			erofs_err(&src->msg, "%s bytes %llu-%llu: %s%s", what,
				  (unsigned long long)job->off,
				  (unsigned long long)(job->off + job->len - 1),
				  at.why[0] ? at.why : strerror(-err),
				  attempt ? " (retries exhausted)" : "");
	}
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

static void run_job(struct erofs_source *src, void *w, struct src_job *job)
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
		err = buf ? run_attempts(src, w, job, buf) : -ENOMEM;
	} else {
		err = run_attempts(src, w, job, NULL);
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

static void *worker_main(void *arg)
{
	struct erofs_source *src = arg;
	void *w = src->b.worker_init ? src->b.worker_init(src->b.be) : NULL;
	struct src_job *job;

	for (;;) {
		pthread_mutex_lock(&src->lock);
		while (!src->pending && !src->stopping)
			pthread_cond_wait(&src->cond, &src->lock);
		job = src->pending;
		if (!job) {
			pthread_mutex_unlock(&src->lock);
			break;
		}
		src->pending = job->next;
		if (!src->pending)
			src->pending_tail = &src->pending;
		job->next = src->inflight;
		src->inflight = job;
		pthread_mutex_unlock(&src->lock);
		run_job(src, w, job);
	}
	if (src->b.worker_exit)
		src->b.worker_exit(src->b.be, w);
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

/* a queued read of @key that [off, off + len) touches or overlaps */
static struct src_job *find_mergeable(struct erofs_source *src,
				      const char *key, uint64_t off,
				      size_t len)
{
	size_t limit = MAX((size_t)COALESCE_MAX, (size_t)src->min_fetch);
	struct src_job *j;

	for (j = src->pending; j; j = j->next) {
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

/* under src->lock; takes @wt */
static int queue_waiter(struct erofs_source *src, enum job_kind kind,
			const char *key, uint64_t off, size_t len,
			struct src_waiter *wt)
{
	struct src_job *job;

	job = find_covering(src->inflight, kind, key, off, len);
	if (!job)
		job = find_covering(src->pending, kind, key, off, len);
	if (!job && kind == JOB_READ) {
		job = find_mergeable(src, key, off, len);
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
		return 0;
	}
	job = job_new(kind, key, off, len);
	if (!job)
		return -ENOMEM;
	if (kind == JOB_READ)
		src->st.misses++;
	job_add_waiter(job, wt);
	*src->pending_tail = job;
	src->pending_tail = &job->next;
	pthread_cond_signal(&src->cond);
	return 0;
}

static int submit(struct erofs_source *src, enum job_kind kind,
		  const char *key, uint64_t off, size_t len, uint64_t woff,
		  size_t wlen, void *buf, erofs_source_done_t done, void *priv)
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
		err = queue_waiter(src, kind, key, woff, wlen, wt);
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
	err = submit(src, JOB_SIZE, key, 0, 0, 0, 0, size, sync_done, &sw);
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

int erofs_source_read_async(struct erofs_source *src, const char *key,
			    uint64_t off, size_t len, void *buf,
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
		err = submit(src, JOB_READ, key, off, len, woff, wlen, buf,
			     done, priv);
	if (!err)
		return 0;
fail:
	pthread_mutex_lock(&src->lock);
	src->st.errors++;
	pthread_mutex_unlock(&src->lock);
answer:
	done(priv, err);
	return 0;
}

int erofs_source_read(struct erofs_source *src, const char *key,
		      uint64_t off, size_t len, void *buf)
{
	struct sync_wait sw;

	sync_init(&sw);
	erofs_source_read_async(src, key, off, len, buf, sync_done, &sw);
	return sync_wait_for(&sw);
}

/* ---- open / close ---- */

static int open_backend(struct erofs_source *src,
			const struct erofs_source_opts *opts)
{
	const char *spec = opts->spec;

	if (!spec || !*spec) {
		erofs_err(&src->msg, "no source given");
		return -EINVAL;
	}
	if (!strncmp(spec, "dir:", 4))
		return erofs_source_dir_open(&src->b, spec + 4, &src->msg);
	if (spec[0] == '/' || spec[0] == '.')
		return erofs_source_dir_open(&src->b, spec, &src->msg);
	if (!strncmp(spec, "http://", 7) || !strncmp(spec, "https://", 8))
		return erofs_source_http_open(&src->b, opts, spec, NULL,
					      &src->msg);
	if (!strncmp(spec, "oci://", 6))
		return erofs_source_oci_open(&src->b, opts, spec, &src->msg);
	erofs_err(&src->msg,
		  "unknown source \"%s\": expected dir:PATH, /PATH, http(s)://URL or oci://HOST/REPO",
		  spec);
	return -EINVAL;
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

int erofs_source_open(struct erofs_source **out,
		      const struct erofs_source_opts *opts,
		      const struct erofs_msg *msg)
{
	struct erofs_source *src = calloc(1, sizeof(*src));
	int err;

	if (!src)
		return -ENOMEM;
	src->msg = *msg;
	src->timeout_ms = opts->timeout_ms ?: EROFS_SOURCE_DEFAULT_TIMEOUT_MS;
	src->retries = opts->retries ?: EROFS_SOURCE_DEFAULT_RETRIES;
	src->nr_workers = opts->workers ?: EROFS_SOURCE_DEFAULT_WORKERS;
	src->min_fetch = opts->min_fetch;
	src->ra_max = opts->ra_cache_bytes ?: (size_t)8 * opts->min_fetch;
	src->seed = (unsigned int)now_us() ^ (unsigned int)getpid();
	src->pending_tail = &src->pending;
	pthread_mutex_init(&src->lock, NULL);
	pthread_cond_init(&src->cond, NULL);
	if (src->nr_workers > 256 || src->min_fetch > EROFS_SOURCE_MAX_REQUEST) {
		erofs_err(msg, "workers must be at most 256 and min_fetch at most %u",
			  EROFS_SOURCE_MAX_REQUEST);
		err = -EINVAL;
		goto fail;
	}

	err = open_backend(src, opts);
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
	pthread_mutex_destroy(&src->lock);
	pthread_cond_destroy(&src->cond);
	free(src);
	return err;
}

void erofs_source_close(struct erofs_source *src)
{
	struct src_job *job;
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
	while ((job = src->pending)) {
		struct src_waiter *wt, *next;

		src->pending = job->next;
		for (wt = job->waiters; wt; wt = next) {
			next = wt->next;
			wt->done(wt->priv, -ESHUTDOWN);
			free(wt);
		}
		job_free(job);
	}
	while (src->ra) {
		struct ra_entry *e = src->ra;

		src->ra = e->next;
		ra_free(e);
	}
	size_clear(src);
	if (src->b.close)
		src->b.close(src->b.be);
	pthread_mutex_destroy(&src->lock);
	pthread_cond_destroy(&src->cond);
	free(src);
}
