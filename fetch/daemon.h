/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * erofs-fetch daemon: serves cachefiles on-demand requests for EROFS
 * images mounted in fscache mode (mount -t erofs none -o fsid=ID).
 *
 * Threads:
 *   main	reads one request per read() from /dev/cachefiles, handles
 *		CLOSE inline, queues OPEN and READ to the demand workers
 *   demand	(--workers) OPEN: resolve and size the object, insert it,
 *		copen; READ: fetch, pwrite through the anonymous fd, complete
 *   prefetch	(--prefetch-workers) fills the window ahead of demand and
 *		the explicit prefetch list, never delaying a READ
 *   signals	turns SIGTERM/SIGINT/SIGUSR1/SIGHUP into bytes that wake main
 *   metrics	(--metrics) answers GET /metrics and /metrics.json
 *   cull	measures the cache and culls it above --cache-high
 *
 * Locking (outermost first; never take an earlier one while holding a
 * later one):
 *   1. fetchd.table_lock (rwlock) - the object table and every object's
 *	fd.  Shared: looking an object up and writing through its fd
 *	(READ, prefetch).  Exclusive: inserting (OPEN), removing and
 *	closing the fd (CLOSE), restore and shutdown.  Writers may only
 *	touch an fd under the shared lock because CLOSE closes it under
 *	the exclusive one: the number could otherwise be reused by the
 *	next OPEN's anonymous fd and data written into the wrong file.
 *	No network I/O is ever done under this lock.
 *   2. fetchd_obj.lock (mutex) - one object's prefetch window state.
 *   3. fetchd.stats_lock (mutex) - counters and latency samples.
 * fetchd.layout_lock (mutex) - the bootstraps parsed and every object's
 *	layout while it is decided - comes before all of them: deciding a
 *	layout reads the source (once per image) and writes the cache
 *	under it.  Taken by a READ or prefetch whose object's layout is
 *	not decided yet, and by CLOSE, which forgets a bootstrap (the
 *	main thread may then wait for a bootstrap being fetched).
 * Objects are reference counted (atomic): the table holds one
 * reference, each queued or running job another, so a job may keep
 * using the object's name and source after CLOSE removed it.
 */
#ifndef EROFS_FETCH_DAEMON_H
#define EROFS_FETCH_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include "erofs/cachefiles.h"
#include "erofs/pclmap.h"
#include "erofs/print.h"
#include "erofs/source.h"
#include "erofs/workqueue.h"
#include "verify.h"
#include "zran.h"

int erofs_fetch_daemon_main(int argc, char **argv);

struct fetchd;
struct fetchd_image;

/* an object's prefetch window (fetch/fetchd_window.c) */
struct fetchd_window {
	uint64_t demand_end;		/* end of the latest READ */
	uint64_t window;		/* current high watermark */
	uint64_t queued_to;		/* prefetch queued up to here */
	bool prefetching;		/* a window job is queued or running */
};

void fetchd_window_init(struct fetchd_window *w, uint64_t high);
/*
 * After a READ of [off, end) with @ahead bytes populated after it: true
 * when that READ waited for the window job, which grows the window; a
 * new job to queue in [*from, *to), when *to is not 0.
 */
bool fetchd_window_step(struct fetchd_window *w, uint64_t low,
			uint64_t max_window, uint64_t size, uint64_t off,
			uint64_t end, uint64_t ahead, uint64_t *from,
			uint64_t *to);
void fetchd_window_done(struct fetchd_window *w);

/*
 * How writes into an object's cache file are shaped, so that no pcluster
 * is ever left half-filled (see include/erofs/pclmap.h and
 * fetch/fetchd_layout.c).  Decided at the object's first READ or
 * prefetch, then fixed.
 */
enum fetchd_layout {
	FETCHD_LAYOUT_UNKNOWN,	/* not decided yet */
	FETCHD_LAYOUT_PLAIN,	/* no pclusters: write what is needed */
	FETCHD_LAYOUT_PCLUSTERS,/* widen every write to whole pclusters */
	FETCHD_LAYOUT_WHOLE,	/* fill the whole object at once */
};

struct fetchd_obj {
	struct fetchd_obj *next;	/* hash chain, under table_lock */
	atomic_int refs;
	uint32_t object_id;
	int fd;				/* anonymous fd; -1 once closed */
	bool closed;			/* CLOSE seen (under table_lock) */
	char volume[EROFS_CF_KEY_MAX];
	char cookie[EROFS_CF_KEY_MAX];	/* cookie key: fsid or blob tag */
	const char *key;		/* object key at the source */
	char *key_buf;			/* owns key when it is not cookie */
	struct erofs_source *src;	/* borrowed from fetchd */
	uint64_t size;

	pthread_mutex_t lock;		/* lock order 2: the window */
	struct fetchd_window win;

	/* written under layout_lock before layout is set, then read-only */
	atomic_int layout;		/* enum fetchd_layout */
	struct erofs_pclmap pcl;	/* FETCHD_LAYOUT_PCLUSTERS */
	bool probed;			/* looked at as a bootstrap */
	bool bootstrap;			/* it is one: forget it at CLOSE */
	/* its bootstrap's digest table (a copy): every unit is checked */
	struct erofs_digest_table table;
	uint8_t *digests;		/* owns table.digests */
	bool has_table;
	/* a gzip layer's device: read from its compressed blob (zran.c) */
	struct erofs_zran *zran;
};

/* a cache space mark: bytes of the cache, or percent of its filesystem */
struct fetchd_mark {
	uint64_t bytes;
	unsigned int pct;		/* 1..99; 0: @bytes is the mark */
};

struct fetchd_opts {
	const char *devnode, *dir, *tag;
	int devfd;			/* adopted fd, -1 = open devnode */
	bool restore;
	bool supervise;
	const char *source_spec, *config;
	struct erofs_source_opts sopts;
	/* --source given again: fallbacks of the first, in order */
	struct erofs_source_opts fallbacks[EROFS_SOURCE_MAX_SPECS - 1];
	unsigned int workers, prefetch_workers;
	uint64_t low, high, max_window;	/* prefetch watermarks, bytes */
	const char *prefetch_list;
	bool prefetch_all;
	enum fetch_unverified unverified;	/* blobs without a table */
	const char *metrics;		/* "unix:PATH[,tcp:ADDR:PORT]" */
	struct fetchd_mark cache_high, cache_low;	/* high 0: no culling */
	unsigned int cache_interval;	/* seconds between cache checks */
	int log_level;			/* enum erofs_msg_level */
};

#define FETCHD_LAT_SAMPLES	4096
#define FETCHD_HASH		256
/* READ latency histogram: fixed upper bounds in microseconds, then +Inf */
#define FETCHD_LAT_BUCKETS	16
extern const uint32_t fetchd_lat_bounds_us[FETCHD_LAT_BUCKETS];

struct fetchd_stats {
	uint64_t opens, open_errors, closes, reads, read_errors;
	uint64_t hits, misses, waited;	/* READs found populated / fetched / behind prefetch */
	uint64_t bytes_demand, bytes_prefetch;
	uint64_t unknown_objects, bad_msgs;
	/* fetched data that did not match its digest (never written) */
	uint64_t verify_failures;
	uint32_t lat_us[FETCHD_LAT_SAMPLES];	/* ring of READ latencies */
	uint64_t nr_lat;
	uint64_t lat_hist[FETCHD_LAT_BUCKETS + 1];	/* not cumulative */
	uint64_t lat_sum_us;
	/* fetch/cull.c: the last measurement and what culling did */
	uint64_t cache_bytes;		/* allocated by the cache's files */
	uint64_t fs_size, fs_used;	/* the cache's filesystem */
	uint64_t cull_runs, culled, culled_bytes, cull_busy, cull_errors;
	uint64_t reloads, reload_errors;
};

/* fetch/cull.c: the cache space keeper */
struct fetchd_cull {
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;		/* leaf: marks, stop, the LRU table */
	pthread_cond_t wake;
	bool stop;
	struct fetchd_mark high, low;	/* copies: SIGHUP may change them */
	struct fetchd_lru *lru;		/* when objects were last closed */
	unsigned int nr_lru, lru_cap;
	bool scanning;			/* a pass borrows the names */
	/* sends "inuse NAME" / "cull NAME" relative to the cwd; tests fake it */
	int (*command)(struct fetchd *d, const char *verb, const char *name);
};

/* fetch/metrics_http.c: the metrics endpoint */
struct fetchd_http {
	int fds[2];			/* listening: unix, tcp; -1 if none */
	char *unix_path;		/* unlinked at exit */
	int stop_pipe[2];
	pthread_t thread;
	bool running;
};

/* one --prefetch list entry */
struct fetchd_plist {
	char key[EROFS_CF_KEY_MAX];
	uint64_t off, len;		/* len 0: to the end */
};

struct fetchd {
	struct erofs_msg msg;
	struct fetchd_opts o;
	int devfd;
	uint64_t start_ms;

	struct erofs_fetchconf conf;
	bool have_conf;
	struct erofs_source *default_src;
	struct erofs_source **srcs;	/* one per conf source, opened lazily */
	pthread_mutex_t srcs_lock;	/* opening a conf source (leaf lock) */

	pthread_rwlock_t table_lock;	/* lock order 1 */
	struct fetchd_obj *table[FETCHD_HASH];
	unsigned int nr_objects;

	struct erofs_workqueue demand_wq, prefetch_wq;
	atomic_bool stopping;

	struct fetchd_plist *plist;	/* read-only once serving */
	unsigned int nr_plist;

	pthread_mutex_t stats_lock;	/* lock order 3 */
	struct fetchd_stats st;
	struct fetch_verify_stats vst;	/* atomic: no lock */

	pthread_mutex_t layout_lock;	/* before table_lock */
	struct fetchd_image *images;	/* bootstraps parsed */

	int argc;			/* kept to parse again at SIGHUP */
	char **argv;
	struct fetchd_retired *retired;	/* configurations replaced by SIGHUP */

	struct fetchd_cull cull;
	struct fetchd_http http;
};

/*
 * A configuration replaced by SIGHUP, and its sources: open objects and
 * queued jobs still use them, so they live until the daemon exits.
 */
struct fetchd_retired {
	struct fetchd_retired *next;
	struct erofs_fetchconf conf;
	struct erofs_source **srcs;
};

/* fetch/fetchd_obj.c */
void fetchd_handle_open(struct fetchd *d, struct erofs_cf_req *req);
void fetchd_handle_close(struct fetchd *d, const struct erofs_cf_req *req);
void fetchd_queue_read(struct fetchd *d, const struct erofs_cf_req *req,
		       uint64_t t0_us);
void fetchd_close_all(struct fetchd *d);
int fetchd_load_prefetch_list(struct fetchd *d);
void *fetchd_worker_init(void *arg);
void fetchd_worker_exit(void *priv);

/* fetch/fetchd_obj.c: cache file access for fetch/fetchd_layout.c */
uint64_t fetchd_obj_hole(struct fetchd *d, struct fetchd_obj *obj, uint64_t off);
int fetchd_obj_write(struct fetchd *d, struct fetchd_obj *obj,
		     const void *buf, size_t len, uint64_t off);
struct fetchd_obj *fetchd_table_find(struct fetchd *d, const char *volume,
				     const char *cookie, bool unprobed);
void fetchd_obj_put(struct fetchd_obj *obj);
/* the source and the key there of cookie key @cookie */
int fetchd_resolve(struct fetchd *d, const char *cookie,
		   struct erofs_source **src, const char **key);

/* fetch/fetchd_layout.c */
#define FETCHD_PAGE		4096ULL		/* the unit of cache writes */
#define FETCHD_CHUNK		(1U << 20)	/* fetched and written at once */
/*
 * The longest run of joined pclusters a write is widened to, and written
 * by one write: a worker's buffer holds that much.
 */
#define FETCHD_RUN_MAX		(8ULL << 20)
int fetchd_layout_get(struct fetchd *d, struct fetchd_obj *obj, void *buf);
/*
 * At OPEN: when a bootstrap of @obj's volume names it as a gzip layer's
 * device, obj->zran serves it and obj->size is its uncompressed size.
 */
int fetchd_layout_zran(struct fetchd *d, struct fetchd_obj *obj);
void fetchd_layout_forget(struct fetchd *d, struct fetchd_obj *obj);
void fetchd_layout_exit(struct fetchd *d);

/* fetch/fetchd_stats.c */
uint64_t fetchd_now_us(void);
void fetchd_stats_add_latency(struct fetchd *d, uint64_t us);
void fetchd_stats_print(struct fetchd *d, const char *why);

/* a consistent copy of every number the daemon reports */
/* one spec of a source with fallbacks: a mirror, the registry */
struct fetchd_spec_snap {
	char spec[256];			/* without credentials */
	struct erofs_source_stats st;
};

struct fetchd_source_snap {
	char name[64];
	struct erofs_source_stats st;
	struct fetchd_spec_snap *specs;	/* only when it has fallbacks */
	unsigned int nr_specs;
};

struct fetchd_snapshot {
	uint64_t uptime_ms;
	unsigned int nr_objects;
	uint64_t window_bytes;		/* prefetch windows of open objects */
	struct fetchd_stats st;		/* lat_us[] sorted */
	unsigned int nr_lat;		/* samples in lat_us[] */
	struct fetchd_source_snap *srcs;
	unsigned int nr_srcs;
};

int fetchd_snapshot_take(struct fetchd *d, struct fetchd_snapshot **out);
void fetchd_snapshot_free(struct fetchd_snapshot *s);
/* the latency at @pct percent of the samples, in microseconds */
uint32_t fetchd_snapshot_pct(const struct fetchd_snapshot *s, unsigned int pct);

/* fetch/metrics.c: the snapshot as Prometheus text and as JSON */
void fetchd_metrics_prometheus(const struct fetchd_snapshot *s, FILE *f);
void fetchd_metrics_json(const struct fetchd_snapshot *s, FILE *f);

/* fetch/metrics_http.c */
int fetchd_http_start(struct fetchd *d);
void fetchd_http_stop(struct fetchd *d);

/* fetch/cull.c */
void fetchd_cull_init(struct fetchd *d);
int fetchd_cull_start(struct fetchd *d);
void fetchd_cull_stop(struct fetchd *d);
void fetchd_cull_set_marks(struct fetchd *d, const struct fetchd_mark *high,
			   const struct fetchd_mark *low);
/* an object was closed: it is a candidate from now on */
void fetchd_cull_closed(struct fetchd *d, const char *volume,
			const char *cookie);
/* one measurement and, above the high mark, one culling pass */
int fetchd_cull_run(struct fetchd *d);
void fetchd_cull_exit(struct fetchd *d);

#define fetchd_count(d, field, n) do {				\
	pthread_mutex_lock(&(d)->stats_lock);			\
	(d)->st.field += (n);					\
	pthread_mutex_unlock(&(d)->stats_lock);			\
} while (0)

/* fetch/sdnotify.c: systemd notification and file descriptor store */
int fetchd_sd_listen_fd(const char *name);
int fetchd_sd_notify(const char *state, int fd);

#endif
