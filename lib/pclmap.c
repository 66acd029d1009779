// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pcluster maps: the byte ranges of each device that hold pclusters, so
 * that a cache filler writes them whole (see include/erofs/pclmap.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/pclmap.h"
#include "erofs/walk.h"

void erofs_pclmap_init(struct erofs_pclmap *m, unsigned int align)
{
	memset(m, 0, sizeof(*m));
	m->align = align ? align : 1;
	m->sorted = true;
}

void erofs_pclmap_free(struct erofs_pclmap *m)
{
	free(m->p);
	m->p = NULL;
	m->n = m->cap = 0;
}

static uint64_t pcl_end(const struct erofs_pcl *p)
{
	return p->start + p->len;
}

static int push(struct erofs_pclmap *m, const struct erofs_pcl *pcl)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct erofs_pcl *p;

		if (cap > SIZE_MAX / sizeof(*p))
			return -ENOMEM;
		p = realloc(m->p, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->p = p;
		m->cap = cap;
	}
	m->p[m->n++] = *pcl;
	m->sorted = false;
	return 0;
}

int erofs_pclmap_add(struct erofs_pclmap *m, uint64_t start, uint64_t end,
		     bool follows)
{
	uint64_t mask = m->align - 1;
	struct erofs_pcl pcl = { 0 };

	if (start >= end || end > UINT64_MAX - mask)
		return -EFSCORRUPTED;
	/* the cache is written in aligned units: a shared unit is one */
	start &= ~mask;
	end = (end + mask) & ~mask;
	if (end - start > UINT32_MAX)
		return -EFSCORRUPTED;
	pcl.start = start;
	pcl.len = end - start;
	if (follows && m->n) {
		struct erofs_pcl *prev = &m->p[m->n - 1];

		/* either way round: one read may cover both */
		if (pcl_end(prev) == start)
			pcl.flags |= EROFS_PCL_JOINED;
		else if (end == prev->start)
			prev->flags |= EROFS_PCL_JOINED;
	}
	return push(m, &pcl);
}

int erofs_pclmap_merge(struct erofs_pclmap *m, const struct erofs_pclmap *src)
{
	size_t i;
	int err;

	for (i = 0; i < src->n; i++) {
		err = push(m, &src->p[i]);
		if (err)
			return err;
	}
	return 0;
}

static int pcl_cmp(const void *a, const void *b)
{
	const struct erofs_pcl *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->len > y->len) - (x->len < y->len);
}

void erofs_pclmap_finish(struct erofs_pclmap *m)
{
	size_t i, out = 0;

	if (m->sorted)
		return;
	m->sorted = true;
	if (m->n < 2)
		return;
	qsort(m->p, m->n, sizeof(*m->p), pcl_cmp);
	for (i = 1; i < m->n; i++) {
		struct erofs_pcl *cur = &m->p[out], *next = &m->p[i];
		uint64_t end = MAX(pcl_end(cur), pcl_end(next));

		/*
		 * Overlapping ranges (dedupe's partial references, units
		 * shared after alignment) are read and written as one;
		 * one that would outgrow the length field stays separate
		 * (a hostile image only: real pclusters are at most 1 MiB).
		 */
		if (next->start < pcl_end(cur) && end - cur->start <= UINT32_MAX) {
			if (next->start == cur->start)
				cur->flags |= next->flags;
			cur->len = end - cur->start;
			continue;
		}
		m->p[++out] = *next;
	}
	m->n = out + 1;
}

/* the first pcluster that ends after @off, or m->n */
static size_t first_ending_after(const struct erofs_pclmap *m, uint64_t off)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pcl_end(&m->p[mid]) > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static bool joined(const struct erofs_pclmap *m, size_t i)
{
	return i && i < m->n && (m->p[i].flags & EROFS_PCL_JOINED) &&
	       pcl_end(&m->p[i - 1]) == m->p[i].start;
}

/* the run of joined pclusters around [start, end), within @max bytes */
static bool run_bounds(const struct erofs_pclmap *m, uint64_t *start,
		       uint64_t *end, uint64_t max)
{
	size_t i = first_ending_after(m, *start);
	uint64_t rs = *start, re = *end;

	if (i < m->n && m->p[i].start == rs) {
		while (joined(m, i) && re - m->p[i - 1].start <= max)
			i--;
		if (joined(m, i))
			return false;
		rs = m->p[i].start;
	}
	i = first_ending_after(m, re - 1);
	if (i < m->n && pcl_end(&m->p[i]) == re) {
		while (joined(m, i + 1) && pcl_end(&m->p[i + 1]) - rs <= max)
			i++;
		if (joined(m, i + 1))
			return false;
		re = pcl_end(&m->p[i]);
	}
	*start = rs;
	*end = re;
	return true;
}

void erofs_pclmap_extend(const struct erofs_pclmap *m, uint64_t *start,
			 uint64_t *end, uint64_t run_max)
{
	uint64_t rs, re;
	size_t i;

	if (!m->n || *start >= *end)
		return;
	i = first_ending_after(m, *start);
	if (i < m->n && m->p[i].start < *start)
		*start = m->p[i].start;
	i = first_ending_after(m, *end);
	if (i < m->n && m->p[i].start < *end)
		*end = pcl_end(&m->p[i]);
	rs = *start;
	re = *end;
	if (run_max && run_bounds(m, &rs, &re, run_max)) {
		*start = rs;
		*end = re;
	}
}

uint64_t erofs_pclmap_cut(const struct erofs_pclmap *m, uint64_t off,
			  uint64_t limit)
{
	size_t i = first_ending_after(m, limit);

	if (i < m->n && m->p[i].start < limit && m->p[i].start > off)
		return m->p[i].start;
	return limit;
}

/* ---- building the maps of an image ---- */

struct pcl_build {
	struct erofs_image *img;
	struct erofs_pclmap *maps;
	uint64_t nr_files;
	int damage;			/* why a file could not be mapped */
};

/* the pclusters of one compressed file, in the order a reader meets them */
static int map_file(struct erofs_image *img, const struct erofs_inode_info *vi,
		    struct erofs_pclmap *maps)
{
	unsigned int prev_dev = 0;
	bool have_prev = false;
	struct erofs_map map;
	uint64_t off = 0;
	int err;

	while (off < vi->size) {
		err = erofs_map_blocks(img, vi, off, &map);
		if (err)
			return err;
		/* inline tails and fragments are not read from the device */
		if ((map.flags & EROFS_MAP_MAPPED) &&
		    !(map.flags & (EROFS_MAP_META | EROFS_MAP_FRAGMENT)) &&
		    map.plen) {
			if (map.device >= img->nr_devs)
				return erofs_corrupt(img, "nid %llu: pcluster on device %u of %u",
						     (unsigned long long)vi->nid,
						     map.device, img->nr_devs);
			err = erofs_pclmap_add(&maps[map.device], map.pa,
					       map.pa + map.plen,
					       have_prev && prev_dev == map.device);
			if (err == -EFSCORRUPTED)
				return erofs_corrupt(img, "nid %llu: pcluster at %llu+%llu of device %u cannot be mapped",
						     (unsigned long long)vi->nid,
						     (unsigned long long)map.pa,
						     (unsigned long long)map.plen,
						     map.device);
			if (err)
				return err;
			have_prev = true;
			prev_dev = map.device;
		} else {
			have_prev = false;
		}
		/* erofs_map_blocks() returns an extent holding @off */
		off = map.la + map.llen;
	}
	return 0;
}

static int build_visit(void *arg, const char *path,
		       const struct erofs_inode_info *vi, bool first)
{
	struct pcl_build *b = arg;
	int err;

	(void)path;
	if (!first || !S_ISREG(vi->mode) || !erofs_inode_is_compressed(vi))
		return 0;
	err = map_file(b->img, vi, b->maps);
	/* the walk would count damage and go on: a partial map is no use */
	if (err == -EFSCORRUPTED || err == -EOPNOTSUPP) {
		b->damage = err;
		return -ECANCELED;
	}
	if (!err)
		b->nr_files++;
	return err;
}

int erofs_pclmap_build(struct erofs_image *img, struct erofs_pclmap *maps,
		       uint64_t *nr_files)
{
	struct pcl_build b = { .img = img, .maps = maps };
	const struct erofs_inode_info *packed;
	struct erofs_walk w = { 0 };
	unsigned int i;
	int err;

	err = erofs_walk_tree(&w, img, img->root_nid, "/", build_visit, &b);
	if (err == -ECANCELED && b.damage)
		err = b.damage;
	else if (!err && (w.errors || w.unsupported))
		err = w.unsupported && !w.errors ? -EOPNOTSUPP : -EFSCORRUPTED;
	erofs_walk_exit(&w);
	/* fragments are read through the packed inode's own pclusters */
	if (!err && erofs_has_packed_inode(img)) {
		err = erofs_packed_inode(img, &packed);
		if (!err && erofs_inode_is_compressed(packed)) {
			err = map_file(img, packed, maps);
			if (!err)
				b.nr_files++;
		}
	}
	for (i = 0; !err && i < img->nr_devs; i++)
		erofs_pclmap_finish(&maps[i]);
	if (nr_files)
		*nr_files = b.nr_files;
	return err;
}
