// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit checks of fetch/cull.c without a kernel: a cache tree laid out as
 * cachefiles lays it out, with files of known sizes and times, and the
 * devnode's "inuse"/"cull" commands played here (cull: unlink in the
 * working directory, as the kernel buries the file; inuse: EBUSY for the
 * files named busy).  Checks that culling goes least recently used first,
 * counts the daemon's own record of a close as a use, never culls a busy
 * file, stops at the low-water mark, and counts what open objects hold
 * outside the tree once.  Usage: culltest DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../../fetch/daemon.h"

#define MiB	(1ULL << 20)

static int failures;
static const char *busy_name = "Dbusy";
static unsigned int inuse_calls;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "culltest:%d: check failed: %s\n",	\
			__LINE__, #cond);				\
		failures++;						\
	}								\
} while (0)

static int fake_command(struct fetchd *d, const char *verb, const char *name)
{
	struct stat st;

	if (stat(name, &st))
		return -ESTALE;		/* what the kernel says for a lost name */
	if (!strcmp(name, busy_name))
		return -EBUSY;
	if (!strcmp(verb, "inuse")) {
		inuse_calls++;
		return 0;
	}
	if (!strcmp(verb, "cull"))
		return unlink(name) ? -errno : 0;
	return -EINVAL;
}

/* DIR/cache/I<vol>/@<fan>/<name>, @mib MiB written, times @age s ago */
static void make_file(const char *dir, const char *vol, const char *fan,
		      const char *name, unsigned int mib, time_t age)
{
	char path[4096];
	struct timespec ts[2];
	static char buf[1 << 20];
	unsigned int i;
	int fd;

	snprintf(path, sizeof(path), "%s/cache", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cache/I%s", dir, vol);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cache/I%s/@%s", dir, vol, fan);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/cache/I%s/@%s/%s", dir, vol, fan, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	memset(buf, 0x5a, sizeof(buf));
	for (i = 0; i < mib; i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			exit(1);
	fsync(fd);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	futimens(fd, ts);
	close(fd);
}

static bool exists(const char *dir, const char *vol, const char *fan,
		   const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/cache/I%s/@%s/%s", dir, vol, fan, name);
	return !access(path, F_OK);
}

static struct fetchd *new_daemon(const char *dir)
{
	struct fetchd *d = calloc(1, sizeof(*d));

	d->msg = (struct erofs_msg){ .prog = "culltest", .level = EROFS_MSG_INFO };
	d->o.dir = dir;
	d->devfd = -1;
	pthread_mutex_init(&d->stats_lock, NULL);
	pthread_rwlock_init(&d->table_lock, NULL);
	fetchd_cull_init(d);
	d->cull.command = fake_command;
	return d;
}

/* byte marks: LRU order, the daemon's close record, busy, low mark */
static void test_bytes(const char *dir)
{
	struct fetchd *d = new_daemon(dir);
	struct fetchd_mark high = { .bytes = 10 * MiB }, low = { .bytes = 6 * MiB };

	make_file(dir, "erofs,a", "01", "Dbusy", 3, 5000);	/* oldest, in use */
	make_file(dir, "erofs,a", "01", "Dold", 3, 4000);	/* closed just now */
	make_file(dir, "erofs,a", "02", "Dc", 3, 3000);
	make_file(dir, "erofs,b", "03", "Dd", 3, 2000);
	make_file(dir, "erofs,b", "03", "De", 3, 1000);
	fetchd_cull_closed(d, "erofs,a", "old");
	fetchd_cull_set_marks(d, &high, &low);

	CHECK(fetchd_cull_run(d) == 0);
	/* 15 MiB > 10: Dc, Dd, De go (then 6 MiB); Dold was used last */
	CHECK(exists(dir, "erofs,a", "01", "Dbusy"));
	CHECK(exists(dir, "erofs,a", "01", "Dold"));
	CHECK(!exists(dir, "erofs,a", "02", "Dc"));
	CHECK(!exists(dir, "erofs,b", "03", "Dd"));
	CHECK(!exists(dir, "erofs,b", "03", "De"));
	CHECK(d->st.cache_bytes >= 15 * MiB && d->st.cache_bytes < 16 * MiB);
	CHECK(d->st.cull_runs == 1 && d->st.culled == 3 && d->st.cull_busy == 1);
	CHECK(d->st.culled_bytes >= 9 * MiB && d->st.culled_bytes < 10 * MiB);

	/* under the high mark now: measured, nothing culled */
	CHECK(fetchd_cull_run(d) == 0);
	CHECK(d->st.cull_runs == 1 && d->st.culled == 3);
	CHECK(d->st.cache_bytes >= 6 * MiB && d->st.cache_bytes < 7 * MiB);
	CHECK(exists(dir, "erofs,a", "01", "Dold"));
	fetchd_cull_exit(d);
	free(d);
}

/* a percentage below the filesystem's usage: all but the busy one go */
static void test_pct(const char *dir)
{
	struct fetchd *d = new_daemon(dir);
	struct fetchd_mark high = { .pct = 1 }, low = { .bytes = 0 };

	make_file(dir, "erofs,c", "04", "Df", 1, 100);
	make_file(dir, "erofs,c", "04", "Dg", 1, 50);
	fetchd_cull_set_marks(d, &high, &low);
	CHECK(fetchd_cull_run(d) == 0);
	if (d->st.fs_used * 100 <= d->st.fs_size) {
		printf("culltest: filesystem under 1%% used: percent marks not checked\n");
		goto out;
	}
	CHECK(exists(dir, "erofs,a", "01", "Dbusy"));
	CHECK(!exists(dir, "erofs,a", "01", "Dold"));
	CHECK(!exists(dir, "erofs,c", "04", "Df"));
	CHECK(!exists(dir, "erofs,c", "04", "Dg"));
	CHECK(d->st.culled == 3 && d->st.cull_busy == 1);
out:
	fetchd_cull_exit(d);
	free(d);
}

/* an open object of the daemon's table, its cache file at @path */
static struct fetchd_obj *add_open(struct fetchd *d, const char *vol,
				   const char *cookie, const char *path,
				   uint64_t size)
{
	struct fetchd_obj *obj = calloc(1, sizeof(*obj));

	strcpy(obj->volume, vol);
	strcpy(obj->cookie, cookie);
	obj->size = size;
	obj->fd = open(path, O_RDWR | O_CREAT, 0600);
	obj->next = d->table[0];
	d->table[0] = obj;
	return obj;
}

/*
 * An object open since before its file is in the tree counts by what its
 * fd shows populated; one whose file is in the tree is not counted twice.
 */
static void test_open_objects(const char *dir)
{
	struct fetchd *d = new_daemon(dir);
	struct fetchd_mark high = { .bytes = 1ULL << 40 }, low = { .bytes = 1 };
	static char buf[1 << 20];
	char path[4096];
	struct fetchd_obj *tmp, *linked;
	uint64_t before;

	fetchd_cull_set_marks(d, &high, &low);
	CHECK(fetchd_cull_run(d) == 0);
	before = d->st.cache_bytes;

	/* 2 MiB populated at 4 MiB and 6 MiB of an 8 MiB object */
	snprintf(path, sizeof(path), "%s/tmpfile", dir);
	tmp = add_open(d, "erofs,t", "fresh", path, 8 * MiB);
	memset(buf, 1, sizeof(buf));
	CHECK(pwrite(tmp->fd, buf, sizeof(buf), 4 * MiB) == sizeof(buf));
	CHECK(pwrite(tmp->fd, buf, sizeof(buf), 7 * MiB) == sizeof(buf));
	CHECK(ftruncate(tmp->fd, 8 * MiB) == 0);
	/* the busy file of test_bytes(), open again: in the tree already */
	snprintf(path, sizeof(path), "%s/cache/Ierofs,a/@01/Dbusy", dir);
	linked = add_open(d, "erofs,a", "busy", path, 3 * MiB);

	CHECK(fetchd_cull_run(d) == 0);
	CHECK(d->st.cache_bytes == before + 2 * MiB);
	close(tmp->fd);
	close(linked->fd);
	free(tmp);
	free(linked);
	fetchd_cull_exit(d);
	free(d);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: culltest DIR\n");
		return 2;
	}
	test_bytes(argv[1]);
	test_pct(argv[1]);
	test_open_objects(argv[1]);
	CHECK(inuse_calls > 0);
	if (failures)
		return 1;
	printf("culling checks passed\n");
	return 0;
}
