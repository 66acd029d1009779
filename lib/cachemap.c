// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cache files and byte ranges.  A cache file is believed only as far as
 * the filesystem holding it reports data: whatever SEEK_DATA skips is a
 * hole, i.e. not fetched yet, and so is anything past its end.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/cachemap.h"

int erofs_ranges_add(struct erofs_ranges *l, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	/* consecutive extents of one file usually continue each other */
	if (l->n && l->r[l->n - 1].end == start) {
		l->r[l->n - 1].end = end;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct erofs_range *r = realloc(l->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n++] = (struct erofs_range) { .start = start, .end = end };
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct erofs_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

void erofs_ranges_merge(struct erofs_ranges *l)
{
	size_t i, out = 0;

	if (l->n < 2)
		return;
	qsort(l->r, l->n, sizeof(*l->r), range_cmp);
	for (i = 1; i < l->n; i++) {
		if (l->r[i].start <= l->r[out].end)
			l->r[out].end = MAX(l->r[out].end, l->r[i].end);
		else
			l->r[++out] = l->r[i];
	}
	l->n = out + 1;
}

uint64_t erofs_ranges_bytes(const struct erofs_ranges *l)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < l->n; i++)
		sum += l->r[i].end - l->r[i].start;
	return sum;
}

int erofs_ranges_subtract(const struct erofs_ranges *need,
			  const struct erofs_ranges *have,
			  struct erofs_ranges *out)
{
	size_t i, j = 0;
	int err;

	out->n = 0;
	for (i = 0; i < need->n; i++) {
		uint64_t cur = need->r[i].start, end = need->r[i].end;

		/* @have is sorted: skip what ends before this range */
		while (j < have->n && have->r[j].end <= cur)
			j++;
		for (; j < have->n && have->r[j].start < end; j++) {
			err = erofs_ranges_add(out, cur,
					       MIN(have->r[j].start, end));
			if (err)
				return err;
			cur = MAX(cur, have->r[j].end);
			if (have->r[j].end > end)
				break;
		}
		err = erofs_ranges_add(out, cur, end);
		if (err)
			return err;
	}
	return 0;
}

void erofs_ranges_free(struct erofs_ranges *l)
{
	free(l->r);
	memset(l, 0, sizeof(*l));
}

/* the data ranges of @fd, up to @size */
static int scan_data(int fd, uint64_t size, struct erofs_ranges *data)
{
	off_t pos = 0, d, h;
	int err;

	while ((uint64_t)pos < size) {
		d = lseek(fd, pos, SEEK_DATA);
		if (d < 0)
			return errno == ENXIO ? 0 : -errno;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		err = erofs_ranges_add(data, d, MIN((uint64_t)h, size));
		if (err)
			return err;
		if (h <= d)		/* cannot happen, but never loop */
			return -EIO;
		pos = h;
	}
	return 0;
}

static int cachefile_scan(struct erofs_cachefile *cf,
			  const struct erofs_msg *msg, const char *path)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd, err;

	memset(cf, 0, sizeof(*cf));
	cf->device = -1;
	cf->path = strdup(path);
	cf->name = strdup(slash ? slash + 1 : path);
	if (!cf->path || !cf->name)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		erofs_err(msg, "cannot open cache file %s: %s", path,
			  strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		erofs_err(msg, "cache file %s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	cf->size = st.st_size;
	err = scan_data(fd, cf->size, &cf->data);
	if (err)
		erofs_err(msg, "cache file %s: cannot find its data: %s",
			  path, strerror(-err));
	close(fd);
	erofs_ranges_merge(&cf->data);
	return err;
}

static int add_file(struct erofs_cacheset *cs, const char *path)
{
	struct erofs_cachefile *f;

	f = realloc(cs->files, (cs->n + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	cs->files = f;
	return cachefile_scan(&cs->files[cs->n++], cs->msg, path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * cachefiles keeps a volume's objects in subdirectories
 * (cache/I<volume>/@<hash>/D<key>): look that deep, no deeper
 */
#define CACHE_DIR_DEPTH	4

static int load_dir(struct erofs_cacheset *cs, const char *dir,
		    unsigned int depth);

/* the directory's regular files, in name order, so output is stable */
static int load_dir(struct erofs_cacheset *cs, const char *dir,
		    unsigned int depth)
{
	char **names = NULL, *path;
	size_t n = 0, i;
	struct dirent *de;
	struct stat st;
	int err = 0;
	DIR *d = opendir(dir);

	if (!d) {
		err = -errno;
		erofs_err(cs->msg, "cannot open %s: %s", dir, strerror(errno));
		return err;
	}
	while (!err && (de = readdir(d))) {
		char **more;

		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			err = -ENOMEM;
			break;
		}
		if (de->d_name[0] == '.' || stat(path, &st) ||
		    (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) ||
		    (S_ISDIR(st.st_mode) && depth >= CACHE_DIR_DEPTH)) {
			free(path);
			continue;
		}
		more = realloc(names, (n + 1) * sizeof(*names));
		if (!more) {
			free(path);
			err = -ENOMEM;
			break;
		}
		names = more;
		names[n++] = path;
	}
	closedir(d);
	if (n)		/* qsort() must not be handed NULL */
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (!err && !stat(names[i], &st) && S_ISDIR(st.st_mode))
			err = load_dir(cs, names[i], depth + 1);
		else if (!err)
			err = add_file(cs, names[i]);
		free(names[i]);
	}
	free(names);
	return err;
}

int erofs_cacheset_load(struct erofs_cacheset *cs, const struct erofs_msg *msg,
			const char *path)
{
	struct stat st;

	memset(cs, 0, sizeof(*cs));
	cs->msg = msg;
	if (stat(path, &st)) {
		int err = -errno;

		erofs_err(msg, "cannot find cache %s: %s", path, strerror(errno));
		return err;
	}
	if (S_ISDIR(st.st_mode)) {
		cs->is_dir = true;
		return load_dir(cs, path, 0);
	}
	return add_file(cs, path);
}

void erofs_cacheset_free(struct erofs_cacheset *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++) {
		free(cs->files[i].path);
		free(cs->files[i].name);
		erofs_ranges_free(&cs->files[i].data);
	}
	free(cs->files);
	cs->files = NULL;
	cs->n = 0;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/*
 * Does cache file @name hold device @dev: named by its tag, or by its tag
 * as cachefiles names a data object with a printable key ("D<key>"), or
 * like the device's own file?
 */
static bool names_device(struct erofs_image *img, unsigned int dev,
			 const char *dev_path, const char *name)
{
	const char *tag = (const char *)img->devs[dev].tag;
	size_t len = strnlen(tag, sizeof(img->devs[dev].tag));

	if (dev && len && name[0] == 'D' && strlen(name) == len + 1 &&
	    !memcmp(name + 1, tag, len))
		return true;
	if (dev && len && strlen(name) == len && !memcmp(name, tag, len))
		return true;
	return dev_path && !strcmp(base_name(dev_path), name);
}

int erofs_cacheset_bind(struct erofs_cacheset *cs, struct erofs_image *img,
			const char *const *dev_paths)
{
	unsigned int data_dev = img->nr_devs == 2 ? 1 : 0, dev;
	size_t i;
	bool any = false;

	for (i = 0; i < cs->n; i++)
		cs->files[i].device = -1;
	if (!cs->is_dir) {
		if (cs->n == 1)
			cs->files[0].device = data_dev;
		return 0;
	}
	for (i = 0; i < cs->n; i++) {
		for (dev = 0; dev < img->nr_devs; dev++) {
			if (!names_device(img, dev, dev_paths[dev],
					  cs->files[i].name) ||
			    erofs_cacheset_of(cs, dev))
				continue;
			cs->files[i].device = dev;
			any = true;
			break;
		}
	}
	if (!any && cs->n == 1)
		cs->files[0].device = data_dev;
	return 0;
}

const struct erofs_cachefile *erofs_cacheset_of(const struct erofs_cacheset *cs,
						int dev)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (cs->files[i].device == dev)
			return &cs->files[i];
	return NULL;
}

static int add_extent(struct erofs_image *img, const struct erofs_map *map,
		      struct erofs_ranges *per_dev)
{
	if (map->device >= img->nr_devs)
		return -EFSCORRUPTED;
	return erofs_ranges_add(&per_dev[map->device], map->pa,
				map->pa + map->plen);
}

/* of an uncompressed extent holding @pos, only [pos, end) is needed */
static void clip_plain(struct erofs_map *map, uint64_t pos, uint64_t end)
{
	map->pa += pos - map->la;
	map->plen = MIN(end, map->la + map->llen) - pos;
}

/*
 * A fragment is bytes [pos, pos + len) of the packed inode's content:
 * what holds them is the packed inode's extents there, whole pclusters
 * where it is compressed.
 */
static int packed_ranges(struct erofs_image *img, uint64_t pos, uint64_t len,
			 struct erofs_ranges *per_dev)
{
	const struct erofs_inode_info *packed;
	uint64_t cur = pos, end = pos + len;
	struct erofs_map map;
	int err = erofs_packed_inode(img, &packed);

	while (!err && cur < end) {
		err = erofs_map_blocks(img, packed, cur, &map);
		if (err)
			break;
		/* zmap refuses this: it would lead back here */
		if (map.flags & EROFS_MAP_FRAGMENT)
			return erofs_corrupt(img, "the packed inode has a fragment of itself");
		if (map.flags & EROFS_MAP_MAPPED) {
			if (!(map.flags & EROFS_MAP_ENCODED))
				clip_plain(&map, cur, end);
			err = add_extent(img, &map, per_dev);
		}
		cur = map.la + map.llen;
	}
	return err;
}

int erofs_content_ranges(struct erofs_image *img,
			 const struct erofs_inode_info *vi,
			 struct erofs_ranges *per_dev)
{
	struct erofs_map map;
	uint64_t off = 0;
	int err = 0;

	while (!err && off < vi->size) {
		err = erofs_map_blocks(img, vi, off, &map);
		if (err)
			break;
		/* pa of a fragment is an offset in the packed inode */
		if (map.flags & EROFS_MAP_FRAGMENT)
			err = packed_ranges(img, map.pa, map.llen, per_dev);
		else if (map.flags & EROFS_MAP_MAPPED)
			err = add_extent(img, &map, per_dev);
		off = map.la + map.llen;
	}
	return err;
}
