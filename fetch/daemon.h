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
 *   signals	turns SIGTERM/SIGINT/SIGUSR1 into flags and wakes main
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
#include "erofs/cachefiles.h"
#include "erofs/pclmap.h"
#include "erofs/print.h"
#include "erofs/source.h"
#include "erofs/workqueue.h"
#include "verify.h"

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
};

struct fetchd_opts {
	const char *devnode, *dir, *tag;
	int devfd;			/* adopted fd, -1 = open devnode */
	bool restore;
	bool supervise;
	const char *source_spec, *config;
	struct erofs_source_opts sopts;
	unsigned int workers, prefetch_workers;
	uint64_t low, high, max_window;	/* prefetch watermarks, bytes */
	const char *prefetch_list;
	bool prefetch_all;
	enum fetch_unverified unverified;	/* blobs without a table */
	const char *fallback[FETCH_MAX_SOURCES - 1];
	unsigned int nr_fallback;
};

#define FETCHD_LAT_SAMPLES	4096
#define FETCHD_HASH		256

struct fetchd_stats {
	uint64_t opens, open_errors, closes, reads, read_errors;
	uint64_t hits, misses, waited;	/* READs found populated / fetched / behind prefetch */
	uint64_t bytes_demand, bytes_prefetch;
	uint64_t unknown_objects, bad_msgs;
	uint32_t lat_us[FETCHD_LAT_SAMPLES];	/* ring of READ latencies */
	uint64_t nr_lat;
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
	struct erofs_source *fallback_srcs[FETCH_MAX_SOURCES - 1];
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
void fetchd_layout_forget(struct fetchd *d, struct fetchd_obj *obj);
void fetchd_layout_exit(struct fetchd *d);

/* fetch/fetchd_stats.c */
uint64_t fetchd_now_us(void);
void fetchd_stats_add_latency(struct fetchd *d, uint64_t us);
void fetchd_stats_print(struct fetchd *d, const char *why);

#define fetchd_count(d, field, n) do {				\
	pthread_mutex_lock(&(d)->stats_lock);			\
	(d)->st.field += (n);					\
	pthread_mutex_unlock(&(d)->stats_lock);			\
} while (0)

/* fetch/sdnotify.c: systemd notification and file descriptor store */
int fetchd_sd_listen_fd(const char *name);
int fetchd_sd_notify(const char *state, int fd);

#endif
