// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Image statistics: one walk over the tree, and for every regular file
 * (and the packed inode, which is in no directory) one pass over its
 * extents with erofs_map_blocks().  Nothing is decompressed; only the
 * first block of each LZ4 pcluster is read, to find where its compressed
 * stream starts (the in-place rule needs the stream's exact length).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/stats.h"

struct stats_ctx {
	struct erofs_image *img;
	const struct erofs_stats_opts *opts;
	struct erofs_stats *st;
	struct erofs_hashmap seen;	/* physical starts counted, by device */
};

struct phys_key {
	uint64_t pa;
	uint32_t device;
};

static bool phys_eq(const void *item, const void *key)
{
	return !memcmp(item, key, sizeof(struct phys_key));
}

/*
 * Data stored once and referred to by several files (dedup) counts as
 * stored once: true when this physical start was counted already.
 */
static int seen_before(struct stats_ctx *c, const struct erofs_map *map,
		       bool *seen)
{
	struct phys_key k = { .pa = map->pa, .device = map->device }, *item;
	uint64_t h = erofs_hash_bytes(0, &k, sizeof(k));

	*seen = erofs_hashmap_find(&c->seen, h, phys_eq, &k);
	if (*seen)
		return 0;
	item = malloc(sizeof(*item));
	if (!item)
		return -ENOMEM;
	*item = k;
	if (erofs_hashmap_insert(&c->seen, h, item)) {
		free(item);
		return -ENOMEM;
	}
	return 0;
}

uint64_t erofs_stats_size_bucket_start(unsigned int i)
{
	return i ? 1024ULL << (i - 1) : 0;
}

void erofs_stats_pcl_bucket_range(unsigned int i, uint32_t *lo, uint32_t *hi)
{
	*lo = i ? (1U << (i - 1)) + 1 : 1;
	*hi = 1U << i;
}

static unsigned int size_bucket(uint64_t size)
{
	unsigned int i = 0;

	while (i + 1 < EROFS_STATS_SIZE_BUCKETS &&
	       size >= erofs_stats_size_bucket_start(i + 1))
		i++;
	return i;
}

static unsigned int pcl_bucket(uint32_t blocks)
{
	unsigned int i = 0;

	while (i + 1 < EROFS_STATS_PCL_BUCKETS && blocks > (1U << i))
		i++;
	return i;
}

bool z_erofs_lz4_inplace(uint64_t la, uint64_t llen, uint64_t pa,
			 uint64_t plen, uint64_t insize, unsigned int page_size,
			 bool zero_padding)
{
	uint64_t pageofs_out = la % page_size;
	uint64_t oend = pageofs_out + llen;
	uint64_t outpages = DIV_ROUND_UP(oend, page_size);
	uint64_t inpages = DIV_ROUND_UP(pa % page_size + plen, page_size);
	uint64_t omargin = outpages * page_size - oend;

	/* without 0padding the stream's end is unknown: never in place */
	if (!zero_padding)
		return false;
	return outpages >= inpages && omargin >= (insize >> 8) + 32;
}

int z_erofs_stream_size(struct erofs_image *img, const struct erofs_map *map,
			uint64_t *insize)
{
	size_t n = MIN(map->plen, (uint64_t)img->blksz), pad;
	uint8_t *buf;
	int err;

	*insize = map->plen;
	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_ZERO_PADDING) ||
	    !n)
		return 0;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	err = erofs_image_pread(img, map->device, buf, n, map->pa);
	for (pad = 0; !err && pad < n && !buf[pad]; pad++)
		;
	/* the padding is within the first block and the stream not empty */
	if (!err && pad == n)
		err = erofs_corrupt(img, "pcluster at byte %llu of device %u: its first block is all zero padding",
				    (unsigned long long)map->pa, map->device);
	free(buf);
	if (!err)
		*insize = map->plen - pad;
	return err;
}

static int count_pcluster(struct stats_ctx *c, const struct erofs_map *map)
{
	struct erofs_stats *st = c->st;
	struct erofs_alg_stats *a = &st->alg[map->algorithm];
	uint32_t blocks = map->plen >> c->img->blkszbits;
	bool padded = c->img->feature_incompat &
		      EROFS_FEATURE_INCOMPAT_ZERO_PADDING;
	uint64_t insize;
	int err;

	a->logical += map->llen;
	a->physical += map->plen;
	if (map->flags & EROFS_MAP_META) {
		/* ztailpacking: read with the metadata, never in place */
		a->inline_pclusters++;
		return 0;
	}
	a->pclusters++;
	st->pclusters++;
	a->max_pclusterblks = MAX(a->max_pclusterblks, blocks);
	st->max_pclusterblks = MAX(st->max_pclusterblks, blocks);
	st->pcl_hist[pcl_bucket(blocks)]++;
	/* only LZ4 copies a whole pcluster to the per-CPU buffer */
	if (map->algorithm != Z_EROFS_COMPRESSION_LZ4)
		return 0;
	/* the stream's start is in a blob that is not at hand */
	if (c->img->devs[map->device].fd < 0) {
		a->inplace_unknown++;
		st->inplace_unknown++;
		return 0;
	}
	err = z_erofs_stream_size(c->img, map, &insize);
	if (err)
		return err;
	if (!z_erofs_lz4_inplace(map->la, map->llen, map->pa, map->plen,
				 insize, c->opts->page_size, padded)) {
		a->not_inplace++;
		st->not_inplace++;
	}
	return 0;
}

/* a fragment's packed offset, where seen_before() keeps device numbers */
#define PACKED_DEVICE	UINT32_MAX

/*
 * What @map takes on disk, once however many files refer to it, and its
 * pcluster figures.  Not for fragments: the packed inode's own extents
 * count what they take.
 */
static int count_physical(struct stats_ctx *c, const struct erofs_map *map,
			  bool *algs_seen)
{
	bool encoded = map->flags & EROFS_MAP_ENCODED;
	uint64_t len = encoded ? map->plen : map->llen;
	struct erofs_stats *st = c->st;
	bool seen = false;
	int err;

	if (!(map->flags & EROFS_MAP_META)) {
		err = seen_before(c, map, &seen);
		if (err)
			return err;
	}
	if (seen)
		st->shared_bytes += len;
	else
		st->stored_bytes += len;
	if (!encoded)
		return 0;
	if (map->algorithm >= Z_EROFS_COMPRESSION_MAX) {
		/* a PLAIN lcluster: kept as is inside a compressed file */
		st->stored_pclusters++;
		return 0;
	}
	algs_seen[map->algorithm] = true;
	return count_pcluster(c, map);
}

/* a fragment is stored by the packed inode: count its bytes, once */
static int count_fragment(struct stats_ctx *c, const struct erofs_map *map)
{
	struct erofs_map key = { .pa = map->pa, .device = PACKED_DEVICE };
	struct erofs_stats *st = c->st;
	bool seen;
	int err = seen_before(c, &key, &seen);

	if (err)
		return err;
	st->fragment_bytes += map->llen;
	st->fragment_files++;
	st->whole_fragment_files += !map->la;
	if (seen)
		st->shared_bytes += map->llen;
	return 0;
}

/* how a regular file's bytes are kept, then what that takes on disk */
static int count_extent(struct stats_ctx *c, const struct erofs_map *map,
			bool *algs_seen)
{
	struct erofs_stats *st = c->st;

	if (!(map->flags & EROFS_MAP_MAPPED)) {
		st->hole_bytes += map->llen;
		return 0;
	}
	if (map->flags & EROFS_MAP_FRAGMENT)
		return count_fragment(c, map);
	if (!(map->flags & EROFS_MAP_ENCODED) &&
	    (map->flags & EROFS_MAP_META))
		st->inline_bytes += map->llen;
	else if (!(map->flags & EROFS_MAP_ENCODED) ||
		 map->algorithm >= Z_EROFS_COMPRESSION_MAX)
		st->plain_bytes += map->llen;	/* PLAIN lclusters too */
	else
		st->compressed_bytes += map->llen;
	return count_physical(c, map, algs_seen);
}

/*
 * The packed inode's extents: what they take on disk.  Their bytes are
 * the fragments, already counted as the files' content.
 */
static int count_packed_extent(struct stats_ctx *c,
			       const struct erofs_map *map, bool *algs_seen)
{
	struct erofs_stats *st = c->st;
	uint64_t stored = st->stored_bytes, pclusters = st->pclusters;
	int err;

	if (!(map->flags & EROFS_MAP_MAPPED))
		return 0;
	/* zmap refuses it; were it let through, it would count nothing */
	if (map->flags & EROFS_MAP_FRAGMENT)
		return erofs_corrupt(c->img, "the packed inode has a fragment of itself");
	err = count_physical(c, map, algs_seen);
	st->packed_stored += st->stored_bytes - stored;
	st->packed_pclusters += st->pclusters - pclusters;
	return err;
}

typedef int (*extent_fn)(struct stats_ctx *c, const struct erofs_map *map,
			 bool *algs_seen);

/* every extent of @vi through @fn; each algorithm counts the file once */
static int count_extents(struct stats_ctx *c, const struct erofs_inode_info *vi,
			 extent_fn fn)
{
	bool algs_seen[Z_EROFS_COMPRESSION_MAX] = { false };
	struct erofs_map map;
	uint64_t off = 0;
	unsigned int i;
	int err = 0;

	while (off < vi->size) {
		err = erofs_map_blocks(c->img, vi, off, &map);
		if (err)
			break;
		err = fn(c, &map, algs_seen);
		if (err)
			break;
		/* erofs_map_blocks() returns an extent holding off */
		off = map.la + map.llen;
	}
	for (i = 0; i < Z_EROFS_COMPRESSION_MAX; i++)
		c->st->alg[i].files += algs_seen[i];
	return err;
}

static int count_content(struct stats_ctx *c, const struct erofs_inode_info *vi)
{
	struct erofs_stats *st = c->st;

	st->bytes += vi->size;
	st->size_hist[size_bucket(vi->size)]++;
	if (erofs_inode_is_compressed(vi))
		st->compressed_files++;
	else if (vi->datalayout == EROFS_INODE_CHUNK_BASED)
		st->chunked_files++;
	else
		st->flat_files++;
	return count_extents(c, vi, count_extent);
}

/* a damaged inode is counted and skipped; other errors stop the walk */
static int skip_damage(struct erofs_stats *st, int err)
{
	if (err == -EFSCORRUPTED)
		st->errors++;
	else if (err == -EOPNOTSUPP)
		st->unsupported++;
	else
		return err;
	return 0;
}

static int visit(void *arg, const char *path, const struct erofs_inode_info *vi,
		 bool first)
{
	struct stats_ctx *c = arg;
	struct erofs_stats *st = c->st;

	(void)path;
	st->names++;
	if (!first) {
		st->hardlinks++;
		return 0;
	}
	st->inodes++;
	erofs_count_type(&st->types, vi->mode);
	if (!S_ISREG(vi->mode))
		return 0;
	return skip_damage(st, count_content(c, vi));
}

/* the packed inode is in no directory: it is counted on its own, once */
static int count_packed(struct stats_ctx *c)
{
	const struct erofs_inode_info *vi;
	struct erofs_stats *st = c->st;
	int err;

	if (!erofs_has_packed_inode(c->img))
		return 0;
	st->has_packed = true;
	st->packed_nid = c->img->packed_nid;
	err = erofs_packed_inode(c->img, &vi);
	if (!err) {
		st->packed_bytes = vi->size;
		err = count_extents(c, vi, count_packed_extent);
	}
	return skip_damage(st, err);
}

int erofs_stats_collect(struct erofs_image *img,
			const struct erofs_stats_opts *opts,
			struct erofs_stats *st)
{
	struct stats_ctx c = { .img = img, .opts = opts, .st = st };
	struct erofs_walk w;
	size_t i;
	int err;

	memset(st, 0, sizeof(*st));
	err = erofs_hashmap_init(&c.seen);
	if (err)
		return err;
	err = erofs_walk_tree(&w, img, img->root_nid, "/", visit, &c);
	st->errors += w.errors;
	st->unsupported += w.unsupported;
	erofs_walk_exit(&w);
	if (!err)
		err = count_packed(&c);
	for (i = 0; c.seen.slots && i <= c.seen.mask; i++)
		free(c.seen.slots[i].item);
	erofs_hashmap_exit(&c.seen);
	return err;
}
