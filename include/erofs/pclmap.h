/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the pclusters of an image lie in each of its devices, for a cache
 * filler that must never leave a pcluster half-written: a kernel reading
 * compressed data through cachefiles (at least up to Linux 6.12) completes
 * one bio once per piece of the cache file it finds populated, so a bio
 * whose range is partly data and partly hole is completed twice, which
 * hangs, corrupts or crashes the reader.  A bio covers one pcluster, or
 * several that are adjacent on the device and read one after the other
 * for one file: such pclusters are "joined" here into runs.
 *
 * The map of one device is a sorted array of disjoint pclusters (a
 * pcluster is its byte range rounded out to the alignment the cache
 * writes in; ranges that then overlap, or that dedupe shares partly,
 * become one).  It is compact: 16 bytes a pcluster.
 */
#ifndef EROFS_PCLMAP_H
#define EROFS_PCLMAP_H

#include "erofs/reader.h"

/* a bio may run into this pcluster from the one that ends at its start */
#define EROFS_PCL_JOINED	0x1

struct erofs_pcl {
	uint64_t start;
	uint32_t len;
	uint32_t flags;
};

struct erofs_pclmap {
	struct erofs_pcl *p;
	size_t n, cap;
	unsigned int align;		/* a power of two, at least 1 */
	bool sorted;			/* erofs_pclmap_finish() since the last add */
};

void erofs_pclmap_init(struct erofs_pclmap *m, unsigned int align);
void erofs_pclmap_free(struct erofs_pclmap *m);
/*
 * Adds pcluster [start, end).  @follows: it is the next pcluster one
 * file reads after the one added just before, so that if the two are
 * adjacent on the device, a single read may cover both.
 */
int erofs_pclmap_add(struct erofs_pclmap *m, uint64_t start, uint64_t end,
		     bool follows);
/* appends every pcluster of @src (finished or not) to @m */
int erofs_pclmap_merge(struct erofs_pclmap *m, const struct erofs_pclmap *src);
/* sorts and makes the pclusters disjoint; queries need it */
void erofs_pclmap_finish(struct erofs_pclmap *m);

/*
 * Widens [*start, *end) so that it cuts no pcluster; then, if the runs of
 * joined pclusters it touches fit in @run_max bytes, to those whole runs.
 */
void erofs_pclmap_extend(const struct erofs_pclmap *m, uint64_t *start,
			 uint64_t *end, uint64_t run_max);
/*
 * The largest offset in (@off, @limit] that is not strictly inside a
 * pcluster, or @limit when there is none: where a write that starts at
 * @off and may not go past @limit should stop.
 */
uint64_t erofs_pclmap_cut(const struct erofs_pclmap *m, uint64_t off,
			  uint64_t limit);

/*
 * Builds the maps of every device of @img (@maps has img->nr_devs
 * entries, initialised) from the compressed indexes of every file and of
 * the packed inode.  Plain and chunked data are not pclusters and are
 * left out, as are inline (ztailpacking) tails.  Any damage met is an
 * error (-EFSCORRUPTED): a partial map would be worse than none.
 * @nr_files: compressed files mapped (may be NULL).
 */
int erofs_pclmap_build(struct erofs_image *img, struct erofs_pclmap *maps,
		       uint64_t *nr_files);

#endif
