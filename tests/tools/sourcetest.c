// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sourcetest SPEC KEY REFFILE: drives include/erofs/source.h the way the
 * daemon does -- many threads, block-sized reads, async bursts, readahead
 * -- and checks every byte against REFFILE and the statistics against
 * what the reads must have cost.  Built and run by t44.  Prints one line
 * per check; exits 1 on the first failure.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "erofs/sha256.h"
#include "erofs/source.h"

static const struct erofs_msg msg = { .prog = "sourcetest", .level = 1 };
static const char *spec, *key;
static unsigned char *ref;
static uint64_t refsize;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "sourcetest: FAIL %s:%d: ", __FILE__,	\
			__LINE__);					\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		exit(1);						\
	}								\
} while (0)

static struct erofs_source *open_src(unsigned int min_fetch,
				     unsigned int workers)
{
	struct erofs_source_opts o = {
		.spec = spec, .min_fetch = min_fetch, .workers = workers,
		.timeout_ms = 10000,
	};
	struct erofs_source *src;
	int err = erofs_source_open(&src, &o, &msg);

	CHECK(!err, "open %s: %s", spec, strerror(-err));
	return src;
}

static void check_bytes(const void *buf, uint64_t off, size_t len)
{
	CHECK(!memcmp(buf, ref + off, len), "bytes %llu+%zu differ",
	      (unsigned long long)off, len);
}

struct thr {
	struct erofs_source *src;
	unsigned int seed, n;
};

/* random block reads and odd small ranges, as the kernel's requests */
static void *reader(void *p)
{
	struct thr *t = p;
	char buf[8192];
	unsigned int i;

	for (i = 0; i < t->n; i++) {
		uint64_t off = (uint64_t)rand_r(&t->seed) % refsize;
		size_t len = i & 1 ? 4096 : 1 + rand_r(&t->seed) % 8000;
		int err;

		if (i & 1)
			off &= ~4095ULL;
		len = MIN(len, refsize - off);
		err = erofs_source_read(t->src, key, off, len, buf);
		CHECK(!err, "read %llu+%zu: %s", (unsigned long long)off, len,
		      strerror(-err));
		check_bytes(buf, off, len);
	}
	return NULL;
}

static void test_threads(void)
{
	struct erofs_source *src = open_src(64 << 10, 4);
	struct erofs_source_stats st;
	struct thr t[16];
	pthread_t th[16];
	unsigned int i;

	for (i = 0; i < 16; i++) {
		t[i] = (struct thr){ .src = src, .seed = i + 1, .n = 150 };
		pthread_create(&th[i], NULL, reader, &t[i]);
	}
	for (i = 0; i < 16; i++)
		pthread_join(th[i], NULL);
	erofs_source_stats(src, &st);
	printf("threads: %llu reads, %llu requests, %llu hits, %llu coalesced\n",
	       (unsigned long long)st.reads, (unsigned long long)st.requests,
	       (unsigned long long)st.hits, (unsigned long long)st.coalesced);
	CHECK(st.reads == 16 * 150, "reads %llu", (unsigned long long)st.reads);
	CHECK(st.hits + st.misses + st.coalesced == st.reads,
	      "hits + misses + coalesced != reads");
	CHECK(!st.errors, "%llu reads failed", (unsigned long long)st.errors);
	if (st.retries)
		printf("threads: %llu retries\n", (unsigned long long)st.retries);
	erofs_source_close(src);
}

/* sequential block reads: one request per min_fetch, the rest are hits */
static void test_readahead(void)
{
	struct erofs_source *src = open_src(64 << 10, 2);
	struct erofs_source_stats st;
	uint64_t off, end = MIN(refsize, 1ULL << 20) & ~4095ULL;
	char buf[4096];

	for (off = 0; off < end; off += 4096) {
		int err = erofs_source_read(src, key, off, 4096, buf);

		CHECK(!err, "read %llu: %s", (unsigned long long)off,
		      strerror(-err));
		check_bytes(buf, off, 4096);
	}
	erofs_source_stats(src, &st);
	printf("readahead: %llu reads, %llu misses, %llu hits, %llu bytes\n",
	       (unsigned long long)st.reads, (unsigned long long)st.misses,
	       (unsigned long long)st.hits, (unsigned long long)st.bytes);
	CHECK(st.misses == DIV_ROUND_UP(end, 64 << 10), "misses %llu",
	      (unsigned long long)st.misses);
	CHECK(st.hits == st.reads - st.misses, "hits %llu",
	      (unsigned long long)st.hits);
	/* a retried attempt may have received part of a body first */
	CHECK(st.retries ? st.bytes >= ROUND_UP(end, 64 << 10) :
	      st.bytes == ROUND_UP(end, 64 << 10), "bytes %llu",
	      (unsigned long long)st.bytes);
	erofs_source_close(src);
}

struct burst {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int left, failed;
};

static void burst_done(void *priv, int err)
{
	struct burst *b = priv;

	pthread_mutex_lock(&b->lock);
	b->failed += !!err;
	if (!--b->left)
		pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* 256 adjacent async reads at once, no readahead: merged into few requests */
static void test_coalesce(bool close_early)
{
	struct erofs_source *src = open_src(0, 1);
	struct burst b = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			   256, 0 };
	struct erofs_source_stats st;
	size_t n = MIN(refsize / 256, 4096);
	char *buf = malloc(256 * n);
	unsigned int i;

	CHECK(buf && n, "tiny reference");
	for (i = 0; i < 256; i++)
		erofs_source_read_async(src, key, i * n, n, buf + i * n,
					burst_done, &b);
	if (close_early) {
		/* close waits for every queued read to finish */
		erofs_source_close(src);
		CHECK(!b.left && !b.failed, "close: %u left, %u failed",
		      b.left, b.failed);
		check_bytes(buf, 0, 256 * n);
		printf("close with 256 reads queued: all answered\n");
		free(buf);
		return;
	}
	pthread_mutex_lock(&b.lock);
	while (b.left)
		pthread_cond_wait(&b.cond, &b.lock);
	pthread_mutex_unlock(&b.lock);
	CHECK(!b.failed, "%u async reads failed", b.failed);
	check_bytes(buf, 0, 256 * n);
	erofs_source_stats(src, &st);
	printf("coalesce: 256 reads of %zu bytes in %llu requests (%llu coalesced)\n",
	       n, (unsigned long long)st.requests,
	       (unsigned long long)st.coalesced);
	CHECK(st.requests < 64, "requests %llu", (unsigned long long)st.requests);
	CHECK(st.coalesced > 128, "coalesced %llu",
	      (unsigned long long)st.coalesced);
	erofs_source_close(src);
	free(buf);
}

static void test_errors(void)
{
	struct erofs_source *src = open_src(0, 2);
	char buf[16];
	uint64_t size, off = 70000;
	size_t len = 10;
	int err;

	err = erofs_source_size(src, key, &size);
	CHECK(!err && size == refsize, "size %llu: %d",
	      (unsigned long long)size, err);
	err = erofs_source_read(src, key, refsize - 8, 16, buf);
	CHECK(err == -ERANGE, "read past the end: %d", err);
	err = erofs_source_read(src, key, refsize - 8, 8, buf);
	CHECK(!err, "last 8 bytes: %d", err);
	check_bytes(buf, refsize - 8, 8);
	err = erofs_source_read(src, key, 0, 0, buf);
	CHECK(!err, "empty read: %d", err);
	err = erofs_source_size(src, "no-such-object", &size);
	CHECK(err == -ENOENT || err == -EINVAL, "missing object: %d", err);
	err = erofs_source_read(src, "../x", 0, 1, buf);
	CHECK(err == -EINVAL, "bad key: %d", err);
	err = erofs_source_widen(src, key, &off, &len);
	CHECK(!err && off == 70000 && len == 10, "widen without min_fetch");
	erofs_source_close(src);

	src = open_src(64 << 10, 1);
	err = erofs_source_widen(src, key, &off, &len);
	CHECK(!err && off == 65536 && len == MIN(65536, refsize - 65536),
	      "widen: %llu+%zu", (unsigned long long)off, len);
	off = refsize - 1;
	len = 1;
	err = erofs_source_widen(src, key, &off, &len);
	CHECK(!err && off == ROUND_DOWN(refsize - 1, 65536) &&
	      off + len == refsize, "widen at the end");
	erofs_source_close(src);
	printf("errors and widening: as documented\n");
}

static void test_verify(const char *path)
{
	uint8_t d[EROFS_SHA256_SIZE];
	char hex[65];
	int fd = open(path, O_RDONLY);

	erofs_sha256(ref, refsize, d);
	erofs_sha256_hex(d, hex);
	CHECK(!erofs_source_verify_fd(fd, refsize, hex, &msg), "verify good");
	hex[0] = hex[0] == '0' ? '1' : '0';
	CHECK(erofs_source_verify_fd(fd, refsize, hex, &msg) == -EBADMSG,
	      "verify bad");
	CHECK(erofs_source_verify_fd(fd, refsize, "xyz", &msg) == -EINVAL,
	      "verify junk");
	close(fd);
	printf("verify_fd: good, bad and junk digests\n");
}

struct pf_thr {
	struct erofs_source *src;
	uint64_t total;
	unsigned char *buf;
	uint64_t end_ms;
	int err;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static void *prefetcher(void *p)
{
	struct pf_thr *t = p;
	uint64_t off;

	for (off = 0; off < t->total && !t->err; off += 256 << 10)
		t->err = erofs_source_prefetch(t->src, key, off, 256 << 10,
					       t->buf + off);
	t->end_ms = mono_ms();
	return NULL;
}

/*
 * 2 MiB of prefetch at 1 MiB/s takes a second past the first second's
 * budget, while plain reads beside it are answered at once.
 */
static void test_prefetch_rate(void)
{
	struct erofs_source_opts o = {
		.spec = spec, .workers = 2, .timeout_ms = 10000,
		.prefetch_rate = 1 << 20,
	};
	struct pf_thr t = { .total = 2 << 20 };
	struct erofs_source_stats st;
	uint64_t t0, t1, slowest = 0;
	pthread_t th;
	char buf[4096];
	unsigned int i;
	int err;

	CHECK(refsize >= 3 << 20, "prefetch rate: a reference of 3 MiB");
	err = erofs_source_open(&t.src, &o, &msg);
	CHECK(!err, "open %s: %s", spec, strerror(-err));
	t.buf = malloc(t.total);
	CHECK(t.buf, "prefetch buffer");
	t0 = mono_ms();
	CHECK(!pthread_create(&th, NULL, prefetcher, &t), "thread");
	for (i = 0; i < 20; i++) {
		uint64_t off = t.total + i * 8192, s;

		usleep(20000);
		s = mono_ms();
		err = erofs_source_read(t.src, key, off, sizeof(buf), buf);
		CHECK(!err, "read beside prefetch: %s", strerror(-err));
		check_bytes(buf, off, sizeof(buf));
		slowest = MAX(slowest, mono_ms() - s);
	}
	pthread_join(th, NULL);
	t1 = t.end_ms;
	CHECK(!t.err, "prefetch: %s", strerror(-t.err));
	check_bytes(t.buf, 0, t.total);
	erofs_source_stats(t.src, &st);
	CHECK(st.prefetch_bytes == t.total, "prefetch bytes %llu",
	      (unsigned long long)st.prefetch_bytes);
	CHECK(t1 - t0 >= 800, "2 MiB of prefetch at 1 MiB/s in %llu ms",
	      (unsigned long long)(t1 - t0));
	CHECK(slowest < 500, "a plain read waited %llu ms behind prefetch",
	      (unsigned long long)slowest);
	printf("prefetch rate: 2 MiB at 1 MiB/s in %llu ms, plain reads within %llu ms\n",
	       (unsigned long long)(t1 - t0), (unsigned long long)slowest);
	erofs_source_close(t.src);
	free(t.buf);
}

static void test_conf(void)
{
	const struct erofs_fetchconf_source *s;
	struct erofs_fetchconf c;
	const char *obj;
	char text[1024];
	int err;

	snprintf(text, sizeof(text),
		 "[source a]\nspec = %s\nmin_fetch = 1M\nworkers = 3\n"
		 "[daemon]\ncachedir = /var/cache/x\n"
		 "[map]\nfsid = a %s\n* = a\n", spec, key);
	err = erofs_fetchconf_parse(text, "test", &c, &msg);
	CHECK(!err, "parse: %d", err);
	CHECK(!erofs_fetchconf_lookup(&c, "fsid", &s, &obj) &&
	      !strcmp(obj, key) && s->opts.min_fetch == 1 << 20 &&
	      s->opts.workers == 3, "lookup fsid");
	CHECK(!erofs_fetchconf_lookup(&c, "other", &s, &obj) &&
	      !strcmp(obj, "other"), "lookup default");
	CHECK(!strcmp(erofs_fetchconf_get(&c, "daemon", "cachedir"),
		      "/var/cache/x"), "daemon setting");
	CHECK(!erofs_fetchconf_get(&c, "daemon", "nothing"), "no setting");
	erofs_fetchconf_free(&c);
	printf("fetchconf: parse, lookup, default, other sections\n");
}

int main(int argc, char **argv)
{
	struct stat st;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: sourcetest SPEC KEY REFFILE\n");
		return 2;
	}
	spec = argv[1];
	key = argv[2];
	fd = open(argv[3], O_RDONLY);
	CHECK(fd >= 0 && !fstat(fd, &st) && st.st_size > 1 << 20,
	      "reference file of more than 1 MiB");
	refsize = st.st_size;
	ref = malloc(refsize);
	CHECK(ref && read(fd, ref, refsize) == (ssize_t)refsize, "read ref");
	close(fd);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_errors();
	test_threads();
	test_readahead();
	test_coalesce(false);
	test_coalesce(true);
	test_verify(argv[3]);
	test_prefetch_rate();
	test_conf();
	curl_global_cleanup();
	free(ref);
	printf("sourcetest: all checks passed for %s\n", spec);
	return 0;
}
