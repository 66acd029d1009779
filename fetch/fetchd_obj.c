// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon: the object table and the request handlers (OPEN,
 * CLOSE, READ) and background prefetch.  The lock order is documented
 * in daemon.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daemon.h"

enum fetchd_job_type { JOB_OPEN, JOB_READ, JOB_PREFETCH };

struct fetchd_job {
	struct erofs_work work;		/* first: the workqueue's handle */
	struct fetchd *d;
	enum fetchd_job_type type;
	struct fetchd_obj *obj;		/* READ, PREFETCH: holds a reference */
	struct erofs_cf_req req;	/* OPEN, READ */
	uint64_t off, end;		/* READ, PREFETCH range */
	uint64_t t0_us;			/* READ: when the request was read */
	bool window;			/* PREFETCH: the demand window job */
};

/* ---- objects and the table ---- */

static void obj_get(struct fetchd_obj *obj)
{
	atomic_fetch_add(&obj->refs, 1);
}

static void obj_put(struct fetchd_obj *obj)
{
	if (atomic_fetch_sub(&obj->refs, 1) != 1)
		return;
	/* the last reference: CLOSE or shutdown closed the fd already */
	pthread_mutex_destroy(&obj->lock);
	erofs_pclmap_free(&obj->pcl);
	free(obj->digests);
	erofs_zran_close(obj->zran);
	free(obj->key_buf);
	free(obj);
}

static struct fetchd_obj **table_slot(struct fetchd *d, uint32_t id)
{
	struct fetchd_obj **pp = &d->table[id % FETCHD_HASH];

	while (*pp && (*pp)->object_id != id)
		pp = &(*pp)->next;
	return pp;
}

/* caller holds table_lock exclusively; returns the table's reference */
static struct fetchd_obj *table_remove(struct fetchd *d, uint32_t id)
{
	struct fetchd_obj **pp = table_slot(d, id), *obj = *pp;

	if (!obj)
		return NULL;
	*pp = obj->next;
	obj->next = NULL;
	d->nr_objects--;
	obj->closed = true;
	if (obj->fd >= 0)
		close(obj->fd);
	obj->fd = -1;
	return obj;
}

/* a referenced object by id, or NULL */
static struct fetchd_obj *table_get(struct fetchd *d, uint32_t id)
{
	struct fetchd_obj *obj;

	pthread_rwlock_rdlock(&d->table_lock);
	obj = *table_slot(d, id);
	if (obj)
		obj_get(obj);
	pthread_rwlock_unlock(&d->table_lock);
	return obj;
}

void fetchd_obj_put(struct fetchd_obj *obj)
{
	obj_put(obj);
}

/*
 * A referenced open object of @volume named @cookie, or with a NULL
 * @cookie, one not yet looked at as a bootstrap; NULL when none.
 */
struct fetchd_obj *fetchd_table_find(struct fetchd *d, const char *volume,
				     const char *cookie, bool unprobed)
{
	struct fetchd_obj *obj, *found = NULL;
	unsigned int i;

	pthread_rwlock_rdlock(&d->table_lock);
	for (i = 0; i < FETCHD_HASH && !found; i++) {
		for (obj = d->table[i]; obj; obj = obj->next) {
			if (strcmp(obj->volume, volume) ||
			    (cookie && strcmp(obj->cookie, cookie)) ||
			    (unprobed && obj->probed))
				continue;
			obj_get(obj);
			found = obj;
			break;
		}
	}
	pthread_rwlock_unlock(&d->table_lock);
	return found;
}

/* ---- cache file access, always under the shared table lock ---- */

static bool obj_is_closed(struct fetchd *d, struct fetchd_obj *obj)
{
	bool closed;

	pthread_rwlock_rdlock(&d->table_lock);
	closed = obj->closed;
	pthread_rwlock_unlock(&d->table_lock);
	return closed;
}

/* first byte at or after @off that is not populated (a hole or EOF) */
static uint64_t obj_hole(struct fetchd *d, struct fetchd_obj *obj, uint64_t off)
{
	off_t pos = -1;

	pthread_rwlock_rdlock(&d->table_lock);
	if (!obj->closed)
		pos = lseek(obj->fd, off, SEEK_HOLE);
	pthread_rwlock_unlock(&d->table_lock);
	/* unknown: treat as a hole so that the data is fetched */
	return pos < 0 ? off : (uint64_t)pos;
}

uint64_t fetchd_obj_hole(struct fetchd *d, struct fetchd_obj *obj, uint64_t off)
{
	return obj_hole(d, obj, off);
}

/* first populated byte at or after @off, or @limit when none before it */
static uint64_t obj_data(struct fetchd *d, struct fetchd_obj *obj,
			 uint64_t off, uint64_t limit)
{
	off_t pos = -1;

	pthread_rwlock_rdlock(&d->table_lock);
	if (!obj->closed)
		pos = lseek(obj->fd, off, SEEK_DATA);
	pthread_rwlock_unlock(&d->table_lock);
	return pos < 0 || (uint64_t)pos > limit ? limit : (uint64_t)pos;
}

int fetchd_obj_write(struct fetchd *d, struct fetchd_obj *obj,
		     const void *buf, size_t len, uint64_t off)
{
	ssize_t n = -1;
	int err = -EBADF;

	pthread_rwlock_rdlock(&d->table_lock);
	if (!obj->closed) {
		n = pwrite(obj->fd, buf, len, off);
		err = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	}
	pthread_rwlock_unlock(&d->table_lock);
	return err;
}

/*
 * [*off, *end) widened as the object's layout demands: to whole
 * pclusters (and their runs), or to the whole object.
 */
static void obj_shape(struct fetchd_obj *obj, uint64_t *off, uint64_t *end)
{
	switch (atomic_load(&obj->layout)) {
	case FETCHD_LAYOUT_WHOLE:
		*off = 0;
		*end = obj->size;
		break;
	case FETCHD_LAYOUT_PCLUSTERS:
		erofs_pclmap_extend(&obj->pcl, off, end, FETCHD_RUN_MAX);
		if (*end > obj->size)
			*end = obj->size;
		break;
	default:
		break;
	}
}

/*
 * Where a write that starts at @off and would stop at @limit must stop in
 * a blob of pclusters.  One kernel read may cover a whole run of joined
 * pclusters and sees its range half-filled while the run is written in
 * pieces, so a run of up to FETCHD_RUN_MAX bytes is written by a single
 * write: the write stops before the run, or goes on to its end.  A
 * longer run is cut between two of its pclusters, never inside one.
 */
static uint64_t obj_write_end(struct fetchd_obj *obj, uint64_t off,
			      uint64_t limit)
{
	uint64_t us = limit - 1, ue = limit;

	erofs_pclmap_extend(&obj->pcl, &us, &ue, FETCHD_RUN_MAX);
	if (ue <= limit)
		return limit;
	if (us > off)
		return us;
	if (ue - off <= FETCHD_RUN_MAX)
		return ue;
	return erofs_pclmap_cut(&obj->pcl, off, limit);
}

/* what obj_fetch() got: the bytes to write, and where */
struct fetched {
	void *buf;
	uint64_t off, len;
	void *owned;			/* to free once written */
};

/* [off, off + n) of @obj as it is served: from its source or its layer blob */
static int obj_read(struct fetchd_obj *obj, uint64_t off, uint64_t n,
		    void *buf, bool prefetch)
{
	if (obj->zran)
		return erofs_zran_read(obj->zran, off, n, buf);
	if (prefetch)
		return erofs_source_prefetch(obj->src, obj->key, off, n, buf);
	return erofs_source_read(obj->src, obj->key, off, n, buf);
}

/*
 * The whole units [uoff, uoff + ulen), fetched and checked; a unit that
 * came wrong is asked of each spec of the source in turn.  Mismatches
 * feed the verify_failures counter: bytes that were never written.
 */
static int fetch_units(struct fetchd *d, struct fetchd_obj *obj,
		       uint64_t uoff, uint64_t ulen, uint8_t *ubuf,
		       bool prefetch)
{
	struct fetch_try tries[FETCH_MAX_SOURCES];
	struct fetch_verify_stats vst = { 0 };
	unsigned int nr;
	uint64_t p, k, bad;
	int err = 0;

	for (p = 0; p < ulen && !err; p += k) {
		k = MIN(ulen - p, (uint64_t)EROFS_SOURCE_MAX_REQUEST);
		err = obj_read(obj, uoff + p, k, ubuf + p, prefetch);
	}
	if (err)
		return err;
	nr = fetch_tries_init(tries, obj->src, obj->key, obj->zran);
	err = fetch_verify_range(&obj->table, obj->cookie, tries, nr, uoff,
				 ubuf, ulen, &vst, &d->msg);
	bad = fetch_verify_stats_add(&d->vst, &vst);
	if (bad)
		fetchd_count(d, verify_failures, bad);
	return err;
}

/*
 * [off, off + n) of @obj.  With a digest table, the whole units around it
 * are fetched and each is checked (and asked of the fallback sources
 * when it does not match) before any byte is handed on: nothing
 * unchecked reaches the cache file.  Whole units are written, so that
 * fsck and dump can check the cache file later, unless the object's
 * pclusters must not be cut (then exactly the range, all of it checked).
 */
static int obj_fetch(struct fetchd *d, struct fetchd_obj *obj, uint64_t off,
		     uint64_t n, void *buf, bool prefetch, struct fetched *f)
{
	uint64_t uoff = off, ulen = n;
	void *ubuf;
	int err;

	*f = (struct fetched){ .buf = buf, .off = off, .len = n };
	if (!obj->has_table)
		return obj_read(obj, off, n, buf, prefetch);
	erofs_digest_table_widen(&obj->table, &uoff, &ulen);
	/* cachefiles writes with direct I/O: page-aligned buffers only */
	if (posix_memalign(&ubuf, FETCHD_PAGE, MAX(ulen, FETCHD_PAGE)))
		return -ENOMEM;
	err = fetch_units(d, obj, uoff, ulen, ubuf, prefetch);
	if (!err && atomic_load(&obj->layout) == FETCHD_LAYOUT_PCLUSTERS) {
		memcpy(buf, (uint8_t *)ubuf + (off - uoff), n);
	} else if (!err) {
		*f = (struct fetched){ .buf = ubuf, .off = uoff, .len = ulen,
				       .owned = ubuf };
		return 0;
	}
	free(ubuf);
	return err;
}

/*
 * Fetches [off, end) from the source and writes it into the cache file,
 * a chunk at a time so memory stays bounded (a run of pclusters is one
 * chunk, see obj_write_end()), skipping what is populated already.
 * Returns the bytes written or -errno.
 */
static int64_t obj_fill(struct fetchd *d, struct fetchd_obj *obj,
			uint64_t off, uint64_t end, void *buf, bool prefetch)
{
	int64_t done = 0;
	uint64_t hole, data, n;
	struct fetched f;
	int err;

	while (off < end) {
		hole = obj_hole(d, obj, off);
		if (hole >= end)
			break;
		/* the cache only takes page-aligned writes */
		off = hole & ~(FETCHD_PAGE - 1);
		data = obj_data(d, obj, off, end);
		n = data > off ? MIN(data - off, FETCHD_CHUNK) : FETCHD_PAGE;
		if (off + n > obj->size)
			n = obj->size - off;
		/* a hole that ends at data is filled exactly: that completes */
		if (atomic_load(&obj->layout) == FETCHD_LAYOUT_PCLUSTERS &&
		    off + n != data)
			n = MIN(obj_write_end(obj, off, off + n), obj->size) - off;
		if (prefetch && atomic_load(&d->stopping))
			return -ECANCELED;
		err = obj_fetch(d, obj, off, n, buf, prefetch, &f);
		if (!err)
			err = fetchd_obj_write(d, obj, f.buf, f.len, f.off);
		free(f.owned);
		if (err)
			return err;
		done += f.len;
		off = MAX(off + n, f.off + f.len);
	}
	return done;
}

/* ---- prefetch ---- */

static void job_fn(struct erofs_work *work, void *buf);

/* false when nothing was queued */
static bool queue_prefetch(struct fetchd *d, struct fetchd_obj *obj,
			   uint64_t off, uint64_t end, bool window)
{
	struct fetchd_job *job;

	if (end > obj->size)
		end = obj->size;
	if (off >= end)
		return false;
	job = calloc(1, sizeof(*job));
	if (!job)
		return false;	/* prefetch is best effort */
	job->work.fn = job_fn;
	job->d = d;
	job->type = JOB_PREFETCH;
	job->obj = obj;
	job->off = off & ~(FETCHD_PAGE - 1);
	job->end = end;
	job->window = window;
	obj_get(obj);
	erofs_workqueue_add(&d->prefetch_wq, &job->work);
	return true;
}

static void prefetch_work(struct fetchd_job *job, void *buf)
{
	struct fetchd *d = job->d;
	struct fetchd_obj *obj = job->obj;
	uint64_t t0 = fetchd_now_us();
	int64_t n;

	n = fetchd_layout_get(d, obj, buf);
	if (!n) {
		obj_shape(obj, &job->off, &job->end);
		n = obj_fill(d, obj, job->off, job->end, buf, true);
	}
	if (n > 0)
		fetchd_count(d, bytes_prefetch, n);
	if (n >= 0 && !job->window)
		erofs_info(&d->msg, "prefetched %s [%llu, %llu): %lld bytes fetched in %llums",
			   obj->cookie, (unsigned long long)job->off,
			   (unsigned long long)job->end, (long long)n,
			   (unsigned long long)(fetchd_now_us() - t0) / 1000);
	else if (n < 0 && n != -ECANCELED && n != -EBADF)
		erofs_warn(&d->msg, "prefetch %s [%llu, %llu): %s", obj->cookie,
			   (unsigned long long)job->off,
			   (unsigned long long)job->end, strerror((int)-n));
	if (job->window) {
		pthread_mutex_lock(&obj->lock);
		fetchd_window_done(&obj->win);
		pthread_mutex_unlock(&obj->lock);
	}
}

/* after a READ: grow the window if it waited, refill it if low */
static void prefetch_after_read(struct fetchd *d, struct fetchd_obj *obj,
				uint64_t off, uint64_t end)
{
	uint64_t ahead, from = 0, to = 0;
	bool waited = false;

	if (!d->o.high || obj_is_closed(d, obj))
		return;
	ahead = obj_hole(d, obj, end);
	ahead = ahead > end ? ahead - end : 0;

	pthread_mutex_lock(&obj->lock);
	waited = fetchd_window_step(&obj->win, d->o.low, d->o.max_window,
				    obj->size, off, end, ahead, &from, &to);
	pthread_mutex_unlock(&obj->lock);

	if (waited)
		fetchd_count(d, waited, 1);
	if (to && !queue_prefetch(d, obj, from, to, true)) {
		/* populated up to the window already: nothing to queue */
		pthread_mutex_lock(&obj->lock);
		fetchd_window_done(&obj->win);
		pthread_mutex_unlock(&obj->lock);
	}
}

/* ---- READ ---- */

/*
 * Fills what READ [off, end) needs, shaped by the object's layout, and
 * what the source's fetch unit widens it to.  The bytes written, 0 when
 * it was populated already, or -errno.
 */
static int64_t read_fill(struct fetchd *d, struct fetchd_obj *obj,
			 uint64_t off, uint64_t end, void *buf)
{
	uint64_t woff = off, wend, tail;
	size_t wlen = end - off;
	int64_t n, extra;

	n = fetchd_layout_get(d, obj, buf);
	if (n)
		return n;
	obj_shape(obj, &off, &end);
	if (obj_hole(d, obj, off) >= end) {
		/* prefetch populated it between the kernel's miss and now */
		fetchd_count(d, hits, 1);
		return 0;
	}
	fetchd_count(d, misses, 1);
	/* widen to the source's fetch unit: fewer round trips */
	if (erofs_source_widen(obj->src, obj->key, &woff, &wlen))
		wlen = 0;
	wend = woff + wlen;
	n = obj_fill(d, obj, off, end, buf, false);
	if (n < 0 || wend <= end)
		return n;
	/* the widened tail is a bonus: its failure is no error */
	tail = end;
	obj_shape(obj, &tail, &wend);
	extra = obj_fill(d, obj, tail, wend, buf, false);
	return extra > 0 ? n + extra : n;
}

static void read_work(struct fetchd_job *job, void *buf)
{
	struct fetchd *d = job->d;
	struct fetchd_obj *obj = job->obj;
	uint64_t off = job->req.read.off, end = off + job->req.read.len;
	int64_t n;
	int err;

	if (end > obj->size)
		end = obj->size;
	if (obj_is_closed(d, obj))
		return;		/* CLOSE dropped the request in the kernel too */
	n = read_fill(d, obj, off, end, buf);
	if (n == -EBADF && obj_is_closed(d, obj)) {
		/* CLOSE won the race: the kernel dropped the request itself */
		n = 0;
	} else if (n < 0) {
		/* complete anyway: the kernel finds the hole and fails the read */
		erofs_err(&d->msg, "READ %s [%llu, +%llu): %s; the reader gets EIO",
			  obj->cookie, (unsigned long long)off,
			  (unsigned long long)job->req.read.len, strerror((int)-n));
		fetchd_count(d, read_errors, 1);
	} else if (n) {
		fetchd_count(d, bytes_demand, n);
	}

	pthread_rwlock_rdlock(&d->table_lock);
	err = obj->closed ? -EBADF : erofs_cf_read_complete(obj->fd, job->req.msg_id);
	pthread_rwlock_unlock(&d->table_lock);
	if (err && err != -EBADF)
		erofs_err(&d->msg, "READ %s: completing msg %u: %s", obj->cookie,
			  job->req.msg_id, strerror(-err));
	fetchd_stats_add_latency(d, fetchd_now_us() - job->t0_us);
	erofs_dbg(&d->msg, "READ %s [%llu, +%llu) done in %lluus", obj->cookie,
		  (unsigned long long)off, (unsigned long long)job->req.read.len,
		  (unsigned long long)(fetchd_now_us() - job->t0_us));
	if (n >= 0)
		prefetch_after_read(d, obj, off, end);
}

void fetchd_queue_read(struct fetchd *d, const struct erofs_cf_req *req,
		       uint64_t t0_us)
{
	struct fetchd_obj *obj = table_get(d, req->object_id);
	struct fetchd_job *job;

	fetchd_count(d, reads, 1);
	if (!obj) {
		/*
		 * Without the object's anonymous fd there is no way to
		 * complete it.  The kernel only sends READs for objects it
		 * gave us, so this is a daemon bug or a lost OPEN.
		 */
		erofs_err(&d->msg, "READ msg %u for unknown object %u",
			  req->msg_id, req->object_id);
		fetchd_count(d, unknown_objects, 1);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		erofs_err(&d->msg, "READ msg %u: out of memory", req->msg_id);
		pthread_rwlock_rdlock(&d->table_lock);
		if (!obj->closed)
			erofs_cf_read_complete(obj->fd, req->msg_id);
		pthread_rwlock_unlock(&d->table_lock);
		obj_put(obj);
		return;
	}
	job->work.fn = job_fn;
	job->d = d;
	job->type = JOB_READ;
	job->obj = obj;
	job->req = *req;
	job->t0_us = t0_us;
	erofs_workqueue_add(&d->demand_wq, &job->work);
}

/* ---- OPEN ---- */

int fetchd_resolve(struct fetchd *d, const char *cookie,
		   struct erofs_source **src, const char **key)
{
	const struct erofs_fetchconf_source *cs;
	unsigned int i;
	int ret;

	if (!d->have_conf) {
		*src = d->default_src;
		*key = cookie;
		return *src ? 0 : -ENOENT;
	}
	/* under the lock: SIGHUP may replace the configuration */
	pthread_mutex_lock(&d->srcs_lock);
	ret = erofs_fetchconf_lookup(&d->conf, cookie, &cs, key);
	if (ret) {
		pthread_mutex_unlock(&d->srcs_lock);
		return ret;
	}
	i = cs - d->conf.sources;
	if (!d->srcs[i]) {
		struct erofs_source_opts so = cs->opts;

		if (!so.min_fetch)
			so.min_fetch = d->o.sopts.min_fetch;
		if (!so.prefetch_rate)
			so.prefetch_rate = d->o.sopts.prefetch_rate;
		ret = erofs_source_open(&d->srcs[i], &so, &d->msg);
	}
	*src = d->srcs[i];
	pthread_mutex_unlock(&d->srcs_lock);
	return ret;
}

static int obj_create(struct fetchd *d, const struct erofs_cf_req *req,
		      struct fetchd_obj **out)
{
	struct fetchd_obj *obj = calloc(1, sizeof(*obj));
	const char *key;
	int ret;

	if (!obj)
		return -ENOMEM;
	atomic_init(&obj->refs, 1);
	pthread_mutex_init(&obj->lock, NULL);
	obj->object_id = req->object_id;
	obj->fd = req->open.fd;
	memcpy(obj->volume, req->open.volume, sizeof(obj->volume));
	memcpy(obj->cookie, req->open.cookie, sizeof(obj->cookie));
	fetchd_window_init(&obj->win, d->o.high);
	atomic_init(&obj->layout, FETCHD_LAYOUT_UNKNOWN);
	erofs_pclmap_init(&obj->pcl, FETCHD_PAGE);

	ret = fetchd_resolve(d, obj->cookie, &obj->src, &key);
	if (!ret && key != obj->cookie) {
		obj->key_buf = strdup(key);
		if (!obj->key_buf)
			ret = -ENOMEM;
	}
	obj->key = obj->key_buf ? obj->key_buf : obj->cookie;
	if (!ret)
		ret = fetchd_layout_zran(d, obj);
	if (!ret && !obj->zran)
		ret = erofs_source_size(obj->src, obj->key, &obj->size);
	if (ret) {
		obj->fd = -1;		/* the caller closes the request's fd */
		obj_put(obj);
		return ret;
	}
	*out = obj;
	return 0;
}

static void table_insert(struct fetchd *d, struct fetchd_obj *obj)
{
	struct fetchd_obj *old;

	pthread_rwlock_wrlock(&d->table_lock);
	/* ids are unique among open objects; a duplicate is stale */
	old = table_remove(d, obj->object_id);
	obj->next = d->table[obj->object_id % FETCHD_HASH];
	d->table[obj->object_id % FETCHD_HASH] = obj;
	d->nr_objects++;
	pthread_rwlock_unlock(&d->table_lock);
	if (old) {
		erofs_warn(&d->msg, "object %u reused while open (%s)",
			   old->object_id, old->cookie);
		obj_put(old);
	}
}

static void open_prefetch(struct fetchd *d, struct fetchd_obj *obj);

static void open_work(struct fetchd_job *job, void *buf)
{
	struct fetchd *d = job->d;
	struct erofs_cf_req *req = &job->req;
	struct fetchd_obj *obj = NULL;
	int ret;

	/* the kernel installs it without O_CLOEXEC */
	fcntl(req->open.fd, F_SETFD, FD_CLOEXEC);
	if (!erofs_cf_key_printable(req))
		ret = -EINVAL;
	else
		ret = obj_create(d, req, &obj);
	if (ret) {
		/*
		 * The kernel turns a refused blob into a cookie without a
		 * cache: its readers see ENOBUFS, which names nothing.  Say
		 * here what they will see, so that the log can be found.
		 */
		erofs_err(&d->msg, "OPEN %s (volume %s): %s: the mount fails, or for a blob, reads of its data fail with ENOBUFS (No buffer space available) until it is mounted again",
			  req->open.cookie, req->open.volume, strerror(-ret));
		fetchd_count(d, open_errors, 1);
		ret = erofs_cf_copen(d->devfd, req->msg_id, ret);
		if (ret)
			erofs_err(&d->msg, "copen %u: %s", req->msg_id, strerror(-ret));
		close(req->open.fd);
		return;
	}
	/* in the table before copen: the kernel may send READs right after */
	table_insert(d, obj);
	ret = erofs_cf_copen(d->devfd, req->msg_id, obj->size);
	if (ret) {
		erofs_err(&d->msg, "copen %u (%s): %s", req->msg_id, obj->cookie,
			  strerror(-ret));
		pthread_rwlock_wrlock(&d->table_lock);
		if (*table_slot(d, obj->object_id) == obj)
			obj = table_remove(d, obj->object_id);
		else
			obj = NULL;
		pthread_rwlock_unlock(&d->table_lock);
		if (obj)
			obj_put(obj);
		return;
	}
	fetchd_count(d, opens, 1);
	erofs_info(&d->msg, "opened %s (volume %s) as object %u: %llu bytes from %s",
		   obj->cookie, obj->volume, obj->object_id,
		   (unsigned long long)obj->size, obj->key);
	open_prefetch(d, obj);
}

void fetchd_handle_open(struct fetchd *d, struct erofs_cf_req *req)
{
	struct fetchd_job *job = calloc(1, sizeof(*job));

	if (!job) {
		erofs_cf_copen(d->devfd, req->msg_id, -ENOMEM);
		close(req->open.fd);
		return;
	}
	job->work.fn = job_fn;
	job->d = d;
	job->type = JOB_OPEN;
	job->req = *req;
	erofs_workqueue_add(&d->demand_wq, &job->work);
}

/* ---- CLOSE ---- */

void fetchd_handle_close(struct fetchd *d, const struct erofs_cf_req *req)
{
	struct fetchd_obj *obj;

	pthread_rwlock_wrlock(&d->table_lock);
	obj = table_remove(d, req->object_id);
	pthread_rwlock_unlock(&d->table_lock);
	if (!obj) {
		erofs_warn(&d->msg, "CLOSE for unknown object %u", req->object_id);
		return;
	}
	fetchd_count(d, closes, 1);
	erofs_info(&d->msg, "closed %s (object %u)", obj->cookie, obj->object_id);
	fetchd_cull_closed(d, obj->volume, obj->cookie);
	fetchd_layout_forget(d, obj);
	obj_put(obj);
}

void fetchd_close_all(struct fetchd *d)
{
	struct fetchd_obj *obj;
	unsigned int i;

	for (i = 0; i < FETCHD_HASH; i++) {
		for (;;) {
			pthread_rwlock_wrlock(&d->table_lock);
			obj = d->table[i] ? table_remove(d, d->table[i]->object_id) : NULL;
			pthread_rwlock_unlock(&d->table_lock);
			if (!obj)
				break;
			obj_put(obj);
		}
	}
}

/* ---- prefetch at open: --prefetch-all and the --prefetch list ---- */

static void open_prefetch(struct fetchd *d, struct fetchd_obj *obj)
{
	unsigned int i;

	if (d->o.prefetch_all) {
		queue_prefetch(d, obj, 0, obj->size, false);
		return;
	}
	for (i = 0; i < d->nr_plist; i++) {
		const struct fetchd_plist *p = &d->plist[i];

		if (strcmp(p->key, obj->cookie))
			continue;
		queue_prefetch(d, obj, p->off,
			       p->len ? p->off + p->len : obj->size, false);
	}
}

static int plist_add(struct fetchd *d, const char *key, uint64_t off,
		     uint64_t len)
{
	struct fetchd_plist *p;

	if (strlen(key) >= sizeof(p->key))
		return -ENAMETOOLONG;
	p = realloc(d->plist, (d->nr_plist + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	d->plist = p;
	p += d->nr_plist++;
	strcpy(p->key, key);
	p->off = off;
	p->len = len;
	return 0;
}

/*
 * One entry a line: "KEY [OFFSET LENGTH]", KEY the cookie key (fsid or
 * blob tag), sizes with k/M/G suffixes, no range for the whole object;
 * '#' starts a comment.
 */
int fetchd_load_prefetch_list(struct fetchd *d)
{
	char line[1024], key[EROFS_CF_KEY_MAX], a[64], b[64];
	unsigned int lineno = 0;
	uint64_t off, len;
	FILE *f;
	int ret = 0, n;

	f = fopen(d->o.prefetch_list, "re");
	if (!f)
		return -errno;
	while (!ret && fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');

		lineno++;
		if (hash)
			*hash = '\0';
		n = sscanf(line, "%255s %63s %63s", key, a, b);
		if (n <= 0)
			continue;
		off = len = 0;
		if (n == 2 || (n == 3 && (erofs_parse_size(a, &off) ||
					  erofs_parse_size(b, &len) || !len))) {
			erofs_err(&d->msg, "%s:%u: expected KEY [OFFSET LENGTH]",
				  d->o.prefetch_list, lineno);
			ret = -EINVAL;
			break;
		}
		ret = plist_add(d, key, off, len);
	}
	fclose(f);
	return ret;
}

/* ---- the job dispatcher, run by both workqueues ---- */

static void job_fn(struct erofs_work *work, void *buf)
{
	struct fetchd_job *job = (struct fetchd_job *)work;

	switch (job->type) {
	case JOB_OPEN:
		open_work(job, buf);
		break;
	case JOB_READ:
		read_work(job, buf);
		break;
	case JOB_PREFETCH:
		prefetch_work(job, buf);
		break;
	}
	if (job->obj)
		obj_put(job->obj);
	free(job);
}

/*
 * Each worker owns one buffer for its whole life, large enough for a run
 * of pclusters written at once (its pages are touched only when a run
 * that long is).  Page-aligned: cachefiles writes the cache file with
 * direct I/O, which refuses (EINVAL) user buffers not aligned to the
 * backing block size.
 */
void *fetchd_worker_init(void *arg)
{
	void *buf;

	if (posix_memalign(&buf, FETCHD_PAGE, FETCHD_RUN_MAX))
		abort();	/* at start-up: nothing sensible to do */
	return buf;
}

void fetchd_worker_exit(void *priv)
{
	free(priv);
}
