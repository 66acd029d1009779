// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon: keeping the cache within its space.  Every
 * --cache-interval seconds a thread measures the cache; above the
 * high-water mark (--cache-high) it culls cache files of closed objects,
 * least recently used first, until usage is under the low-water mark
 * (--cache-low).
 *
 * A mark in bytes bounds the bytes allocated by the cache's files; a mark
 * in percent bounds the usage of the cache's filesystem, as cachefiles'
 * own brun/bcull/bstop limits do (7%, 5% and 1% free by default: below
 * bcull the kernel wants culling, below bstop it caches nothing new, so
 * a high mark above 95% starts too late).
 *
 * The cache is laid out by cachefiles as DIR/cache/I<volume>/@<hash>/
 * D<cookie key> (keys of EROFS objects are printable).  Culling goes
 * through the devnode's own commands: "inuse NAME" and "cull NAME" act
 * on NAME in the calling thread's working directory, and the kernel
 * refuses (EBUSY) a file that backs an object in use, so an object that
 * is open is never culled, whatever this daemon believes.  The thread
 * has a working directory of its own (unshare(CLONE_FS)): the daemon's
 * other threads resolve relative paths against the process's.
 *
 * cachefiles creates a new object's file as a temporary file and links
 * it into the tree when the object is released: until then it is in use
 * and invisible in the tree: what such an object holds is found through
 * the daemon's fd of it (SEEK_DATA/SEEK_HOLE).
 *
 * When each object was last used: the later of the file's atime and
 * mtime (relatime keeps atime coarse) and the time this daemon last saw
 * the object closed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include "daemon.h"

/* bounds the memory of one pass over a cache of very many files */
#define CULL_MAX_FILES		(1U << 20)
/* extents of an open object looked at; the rest counts as populated */
#define CULL_MAX_EXTENTS	256
#define CULL_LRU_MAX		65536

/* a close the daemon saw: "volume/cookie" and when */
struct fetchd_lru {
	char *name;
	time_t when;
};

struct cull_file {
	char *dir;			/* relative to DIR/cache */
	char *name;
	uint64_t bytes;
	time_t used;
};

struct cull_scan {
	struct cull_file *files;
	unsigned int nr, cap;
	uint64_t bytes;
	bool truncated;
	struct fetchd_lru *lru;		/* sorted copy of the daemon's records */
	unsigned int nr_lru;
};

static int cf_command(struct fetchd *d, const char *verb, const char *name)
{
	return erofs_cf_command(d->devfd, "%s %s", verb, name);
}

void fetchd_cull_set_marks(struct fetchd *d, const struct fetchd_mark *high,
			   const struct fetchd_mark *low)
{
	pthread_mutex_lock(&d->cull.lock);
	d->cull.high = *high;
	d->cull.low = *low;
	pthread_mutex_unlock(&d->cull.lock);
}

/* ---- what the daemon saw closed ---- */

static struct fetchd_lru *lru_find(struct fetchd *d, const char *name)
{
	unsigned int i;

	for (i = 0; i < d->cull.nr_lru; i++)
		if (!strcmp(d->cull.lru[i].name, name))
			return &d->cull.lru[i];
	return NULL;
}

/*
 * Drops the oldest record: the records are a hint, a bounded one.  While
 * a scan borrows the names, none is dropped (the table may then exceed
 * its bound by the closes of one scan).
 */
static void lru_evict(struct fetchd *d)
{
	unsigned int i, old = 0;

	if (d->cull.scanning)
		return;
	for (i = 1; i < d->cull.nr_lru; i++)
		if (d->cull.lru[i].when < d->cull.lru[old].when)
			old = i;
	free(d->cull.lru[old].name);
	d->cull.lru[old] = d->cull.lru[--d->cull.nr_lru];
}

void fetchd_cull_closed(struct fetchd *d, const char *volume,
			const char *cookie)
{
	struct fetchd_lru *e;
	char *name;

	if (asprintf(&name, "I%s/D%s", volume, cookie) < 0)
		return;
	pthread_mutex_lock(&d->cull.lock);
	e = lru_find(d, name);
	if (!e) {
		if (d->cull.nr_lru >= CULL_LRU_MAX)
			lru_evict(d);
		if (d->cull.nr_lru == d->cull.lru_cap) {
			unsigned int cap = d->cull.lru_cap ? d->cull.lru_cap * 2 : 64;
			struct fetchd_lru *n = realloc(d->cull.lru, cap * sizeof(*n));

			if (!n)
				goto out;
			d->cull.lru = n;
			d->cull.lru_cap = cap;
		}
		e = &d->cull.lru[d->cull.nr_lru++];
		e->name = name;
		name = NULL;
	}
	e->when = time(NULL);
out:
	pthread_mutex_unlock(&d->cull.lock);
	free(name);
}

static int cmp_lru(const void *a, const void *b)
{
	return strcmp(((const struct fetchd_lru *)a)->name,
		      ((const struct fetchd_lru *)b)->name);
}

/* the daemon's records, sorted by name for one pass (names borrowed) */
static struct fetchd_lru *lru_snapshot(struct fetchd *d, unsigned int *nr)
{
	struct fetchd_lru *snap;

	pthread_mutex_lock(&d->cull.lock);
	*nr = d->cull.nr_lru;
	snap = malloc((*nr ? *nr : 1) * sizeof(*snap));
	if (snap) {
		if (*nr)
			memcpy(snap, d->cull.lru, *nr * sizeof(*snap));
		/* the names stay valid: lru_evict() frees none meanwhile */
		d->cull.scanning = true;
	}
	pthread_mutex_unlock(&d->cull.lock);
	if (!snap)
		*nr = 0;
	else if (*nr)
		qsort(snap, *nr, sizeof(*snap), cmp_lru);
	return snap;
}

/* the later of the file's times and the daemon's record of its close */
static time_t last_used(const struct cull_scan *sc, const char *vol,
			const char *name, const struct stat *st)
{
	time_t t = st->st_atime > st->st_mtime ? st->st_atime : st->st_mtime;
	char key[2 * EROFS_CF_KEY_MAX + 4];
	struct fetchd_lru k = { .name = key }, *e;

	if (!sc->nr_lru)
		return t;
	snprintf(key, sizeof(key), "%s/%s", vol, name);
	e = bsearch(&k, sc->lru, sc->nr_lru, sizeof(k), cmp_lru);
	return e && e->when > t ? e->when : t;
}

/* ---- measuring ---- */

static int scan_add(struct cull_scan *sc, const char *dir, const char *name,
		    uint64_t bytes, time_t used)
{
	struct cull_file *f;

	if (sc->nr >= CULL_MAX_FILES) {
		sc->truncated = true;
		return 0;
	}
	if (sc->nr == sc->cap) {
		unsigned int cap = sc->cap ? sc->cap * 2 : 256;

		f = realloc(sc->files, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		sc->files = f;
		sc->cap = cap;
	}
	f = &sc->files[sc->nr];
	f->dir = strdup(dir);
	f->name = strdup(name);
	if (!f->dir || !f->name) {
		free(f->dir);
		free(f->name);
		return -ENOMEM;
	}
	f->bytes = bytes;
	f->used = used;
	sc->nr++;
	return 0;
}

static void scan_free(struct cull_scan *sc)
{
	unsigned int i;

	for (i = 0; i < sc->nr; i++) {
		free(sc->files[i].dir);
		free(sc->files[i].name);
	}
	free(sc->files);
}

/* the data files of one "@hash" directory of volume @vol */
static int scan_fan(struct fetchd *d, struct cull_scan *sc, int fanfd,
		    const char *vol, const char *fan)
{
	char dir[2 * EROFS_CF_KEY_MAX + 8];
	struct dirent *de;
	struct stat st;
	DIR *dp = fdopendir(fanfd);
	int ret = 0;

	if (!dp) {
		close(fanfd);
		return -errno;
	}
	snprintf(dir, sizeof(dir), "%s/%s", vol, fan);
	while (!ret && (de = readdir(dp))) {
		if (fstatat(fanfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		sc->bytes += (uint64_t)st.st_blocks * 512;
		/* only data objects ("D"): nothing else of the cache's */
		if (de->d_name[0] != 'D')
			continue;
		ret = scan_add(sc, dir, de->d_name, (uint64_t)st.st_blocks * 512,
			       last_used(sc, vol, de->d_name, &st));
	}
	closedir(dp);
	return ret;
}

/* DIR/cache/<volume>/<fan>/<file>: each level a directory of its own */
static int scan_cache(struct fetchd *d, int cachefd, struct cull_scan *sc)
{
	struct dirent *vde, *fde;
	DIR *vdp, *fdp;
	int vfd, ffd, ret = 0;

	vdp = fdopendir(dup(cachefd));
	if (!vdp)
		return -errno;
	while (!ret && (vde = readdir(vdp))) {
		if (vde->d_name[0] == '.')
			continue;
		vfd = openat(cachefd, vde->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (vfd < 0)
			continue;
		fdp = fdopendir(vfd);
		if (!fdp) {
			close(vfd);
			continue;
		}
		while (!ret && (fde = readdir(fdp))) {
			if (fde->d_name[0] == '.')
				continue;
			ffd = openat(vfd, fde->d_name, O_RDONLY | O_DIRECTORY |
				     O_NOFOLLOW | O_CLOEXEC);
			if (ffd >= 0)
				ret = scan_fan(d, sc, ffd, vde->d_name,
					       fde->d_name);
		}
		closedir(fdp);
	}
	closedir(vdp);
	return ret;
}

/* "I<volume>/D<cookie>" of a scanned file */
static char *file_key(const struct cull_file *f)
{
	const char *slash = strchr(f->dir, '/');
	int vlen = slash ? slash - f->dir : (int)strlen(f->dir);
	char *key;

	return asprintf(&key, "%.*s/%s", vlen, f->dir, f->name) < 0 ? NULL : key;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* bytes populated in an open object's cache file, by its extents */
static uint64_t obj_populated(const struct fetchd_obj *obj)
{
	uint64_t off = 0, bytes = 0;
	unsigned int n;
	off_t data, hole;

	for (n = 0; off < obj->size; n++) {
		if (n == CULL_MAX_EXTENTS)
			return bytes + obj->size - off;
		data = lseek(obj->fd, off, SEEK_DATA);
		if (data < 0)
			break;		/* ENXIO: no data after @off */
		hole = lseek(obj->fd, data, SEEK_HOLE);
		if (hole <= data)
			break;
		bytes += hole - data;
		off = hole;
	}
	return bytes;
}

/*
 * What open objects hold whose files are not in the tree (temporary
 * files until the kernel releases them).  The table's shared lock keeps
 * their fds open meanwhile.
 */
static uint64_t scan_open_objects(struct fetchd *d, const struct cull_scan *sc)
{
	char key[2 * EROFS_CF_KEY_MAX + 4], *kp = key, **keys;
	unsigned int i, nr = 0;
	struct fetchd_obj *obj;
	uint64_t bytes = 0;

	keys = malloc((sc->nr ? sc->nr : 1) * sizeof(*keys));
	for (i = 0; keys && i < sc->nr; i++)
		if ((keys[nr] = file_key(&sc->files[i])))
			nr++;
	if (nr)
		qsort(keys, nr, sizeof(*keys), cmp_str);

	pthread_rwlock_rdlock(&d->table_lock);
	for (i = 0; i < FETCHD_HASH; i++) {
		for (obj = d->table[i]; obj; obj = obj->next) {
			if (obj->closed || obj->fd < 0)
				continue;
			snprintf(key, sizeof(key), "I%s/D%s", obj->volume,
				 obj->cookie);
			if (nr && bsearch(&kp, keys, nr, sizeof(*keys), cmp_str))
				continue;	/* counted in the tree */
			bytes += obj_populated(obj);
		}
	}
	pthread_rwlock_unlock(&d->table_lock);
	for (i = 0; i < nr; i++)
		free(keys[i]);
	free(keys);
	return bytes;
}

/* ---- culling ---- */

static int cmp_used(const void *a, const void *b)
{
	const struct cull_file *x = a, *y = b;

	return x->used < y->used ? -1 : x->used > y->used;
}

/* a mark in bytes of what @pct measures */
static uint64_t mark_bytes(const struct fetchd_mark *m, uint64_t fs_size)
{
	return m->pct ? fs_size / 100 * m->pct : m->bytes;
}

/* one file; 0 culled, -EBUSY in use, another -errno */
static int cull_one(struct fetchd *d, int cachefd, const struct cull_file *f)
{
	int dfd, ret;

	dfd = openat(cachefd, f->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		     O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	ret = fchdir(dfd) ? -errno : 0;
	close(dfd);
	if (!ret)
		ret = d->cull.command(d, "inuse", f->name);
	if (!ret)
		ret = d->cull.command(d, "cull", f->name);
	return ret;
}

/* culls until @used is at most @low; what was culled is counted */
static void cull_down(struct fetchd *d, int cachefd, struct cull_scan *sc,
		      uint64_t used, uint64_t high, uint64_t low,
		      const char *what)
{
	uint64_t culled = 0, bytes = 0, busy = 0, errors = 0, start = used;
	char hb[5][32];
	unsigned int i;
	int ret = 0;

	qsort(sc->files, sc->nr, sizeof(*sc->files), cmp_used);
	for (i = 0; i < sc->nr && used > low; i++) {
		ret = cull_one(d, cachefd, &sc->files[i]);
		if (!ret) {
			culled++;
			bytes += sc->files[i].bytes;
			used -= MIN(used, sc->files[i].bytes);
			erofs_dbg(&d->msg, "culled %s/%s (%llu bytes)",
				  sc->files[i].dir, sc->files[i].name,
				  (unsigned long long)sc->files[i].bytes);
		} else if (ret == -EBUSY) {
			busy++;
		} else if (ret != -ESTALE && ret != -ENOENT) {
			/* the cache itself is in trouble: no point going on */
			errors++;
			erofs_warn(&d->msg, "cull %s/%s: %s: culling stops until the next check",
				   sc->files[i].dir, sc->files[i].name, strerror(-ret));
			break;
		}
	}
	pthread_mutex_lock(&d->stats_lock);
	d->st.cull_runs++;
	d->st.culled += culled;
	d->st.culled_bytes += bytes;
	d->st.cull_busy += busy;
	d->st.cull_errors += errors;
	pthread_mutex_unlock(&d->stats_lock);
	erofs_info(&d->msg, "cull: %s %s above the high-water mark %s: culled %llu objects (%s), %llu in use; now %s, low-water mark %s",
		   what, erofs_human_size(start, hb[0], sizeof(hb[0])),
		   erofs_human_size(high, hb[1], sizeof(hb[1])),
		   (unsigned long long)culled,
		   erofs_human_size(bytes, hb[2], sizeof(hb[2])),
		   (unsigned long long)busy,
		   erofs_human_size(used, hb[3], sizeof(hb[3])),
		   erofs_human_size(low, hb[4], sizeof(hb[4])));
	if (used > low)
		erofs_warn(&d->msg, "cull: still above the low-water mark: every other object is in use");
}

int fetchd_cull_run(struct fetchd *d)
{
	struct fetchd_mark high, low;
	struct cull_scan sc = { 0 };
	uint64_t fs_size, fs_used, used;
	struct statvfs sv;
	char path[4096];
	int cachefd, ret;

	if (statvfs(d->o.dir, &sv))
		return -errno;
	fs_size = (uint64_t)sv.f_blocks * sv.f_frsize;
	fs_used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	pthread_mutex_lock(&d->stats_lock);
	d->st.fs_size = fs_size;
	d->st.fs_used = fs_used;
	pthread_mutex_unlock(&d->stats_lock);
	snprintf(path, sizeof(path), "%s/cache", d->o.dir);
	cachefd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cachefd < 0)
		return errno == ENOENT ? 0 : -errno;	/* nothing cached yet */
	sc.lru = lru_snapshot(d, &sc.nr_lru);
	ret = scan_cache(d, cachefd, &sc);
	pthread_mutex_lock(&d->cull.lock);
	d->cull.scanning = false;
	pthread_mutex_unlock(&d->cull.lock);
	free(sc.lru);
	if (sc.truncated)
		erofs_warn(&d->msg, "cull: more than %u cache files: the oldest of the first ones are culled",
			   CULL_MAX_FILES);
	if (!ret)
		sc.bytes += scan_open_objects(d, &sc);
	pthread_mutex_lock(&d->stats_lock);
	d->st.cache_bytes = sc.bytes;
	pthread_mutex_unlock(&d->stats_lock);

	pthread_mutex_lock(&d->cull.lock);
	high = d->cull.high;
	low = d->cull.low;
	pthread_mutex_unlock(&d->cull.lock);
	used = high.pct ? fs_used : sc.bytes;
	if (!ret && (high.pct || high.bytes) &&
	    used > mark_bytes(&high, fs_size))
		cull_down(d, cachefd, &sc, used, mark_bytes(&high, fs_size),
			  mark_bytes(&low, fs_size),
			  high.pct ? "filesystem usage" : "cache size");
	scan_free(&sc);
	close(cachefd);
	return ret;
}

/* ---- the thread ---- */

static void *cull_thread(void *arg)
{
	struct fetchd *d = arg;
	struct timespec ts;
	int ret;

	/* a working directory of its own for "cull" and "inuse" */
	if (unshare(CLONE_FS)) {
		erofs_err(&d->msg, "cull: unshare(CLONE_FS): %s: no culling",
			  strerror(errno));
		return NULL;
	}
	pthread_mutex_lock(&d->cull.lock);
	while (!d->cull.stop) {
		pthread_mutex_unlock(&d->cull.lock);
		ret = fetchd_cull_run(d);
		if (ret)
			erofs_warn(&d->msg, "cull: measuring %s: %s", d->o.dir,
				   strerror(-ret));
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += d->o.cache_interval;
		pthread_mutex_lock(&d->cull.lock);
		while (!d->cull.stop &&
		       pthread_cond_timedwait(&d->cull.wake, &d->cull.lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&d->cull.lock);
	return NULL;
}

void fetchd_cull_init(struct fetchd *d)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&d->cull.lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cull.wake, &attr);
	pthread_condattr_destroy(&attr);
	d->cull.command = cf_command;
}

int fetchd_cull_start(struct fetchd *d)
{
	d->cull.high = d->o.cache_high;
	d->cull.low = d->o.cache_low;
	if (pthread_create(&d->cull.thread, NULL, cull_thread, d))
		return -EAGAIN;
	d->cull.running = true;
	return 0;
}

void fetchd_cull_stop(struct fetchd *d)
{
	if (!d->cull.running)
		return;
	pthread_mutex_lock(&d->cull.lock);
	d->cull.stop = true;
	pthread_cond_signal(&d->cull.wake);
	pthread_mutex_unlock(&d->cull.lock);
	pthread_join(d->cull.thread, NULL);
	d->cull.running = false;
}

void fetchd_cull_exit(struct fetchd *d)
{
	unsigned int i;

	for (i = 0; i < d->cull.nr_lru; i++)
		free(d->cull.lru[i].name);
	free(d->cull.lru);
	d->cull.lru = NULL;
	d->cull.nr_lru = d->cull.lru_cap = 0;
}
