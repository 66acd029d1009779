/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Statistics of an image for dump.erofs -S and --pcpubuf: file counts by
 * type, a file size histogram, how the bytes of regular files are stored
 * (inline, plain, compressed per algorithm, holes, fragments), pcluster
 * sizes, and which compressed pclusters the kernel cannot decompress in
 * place.
 */
#ifndef EROFS_STATS_H
#define EROFS_STATS_H

#include "erofs/walk.h"

/* file sizes: [0, 1K), [1K, 2K), ... [16M, 32M), [32M, inf) */
#define EROFS_STATS_SIZE_BUCKETS	17
/* pcluster blocks: 1, 2, 3-4, 5-8, ... 2049-4096 */
#define EROFS_STATS_PCL_BUCKETS		13

struct erofs_alg_stats {
	uint64_t files;			/* files with an extent of it,
					 * the packed inode included */
	uint64_t pclusters;		/* compressed pclusters (not inline) */
	uint64_t inline_pclusters;	/* ztailpacking: in the metadata */
	uint64_t logical;		/* bytes they decompress to */
	uint64_t physical;		/* bytes they take on disk */
	uint32_t max_pclusterblks;
	uint64_t not_inplace;		/* need the per-CPU buffer */
	uint64_t inplace_unknown;	/* on an unattached device: not read */
};

struct erofs_stats {
	uint64_t names, inodes;
	struct erofs_type_counts types;
	uint64_t hardlinks;		/* names beyond an inode's first */
	uint64_t flat_files, chunked_files, compressed_files;
	uint64_t size_hist[EROFS_STATS_SIZE_BUCKETS];

	/* regular files' content, each inode once */
	uint64_t bytes;			/* sum of their sizes */
	uint64_t inline_bytes;		/* tails in the metadata */
	uint64_t plain_bytes;		/* uncompressed, in data blocks */
	uint64_t compressed_bytes;	/* decompressed size of compressed
					 * extents */
	uint64_t hole_bytes;		/* unmapped (holes, sparse chunks) */
	uint64_t shared_bytes;		/* data another file already stores
					 * (deduplicated files and chunks,
					 * fragments at one packed offset) */
	uint64_t stored_bytes;		/* on disk: all of the above but holes
					 * and shared data
					 * (compressed ones at pcluster size),
					 * and the packed inode */
	uint64_t stored_pclusters;	/* PLAIN lclusters: kept uncompressed */
	uint64_t fragment_bytes;	/* in the packed inode (-E fragments) */
	uint64_t fragment_files;	/* files with a fragment */
	uint64_t whole_fragment_files;	/* of them, those wholly one */

	/*
	 * The packed inode is in no directory: it is counted on its own,
	 * once, its content being the fragments above.  Its pclusters count
	 * as stored and in the algorithm and pcluster figures (the kernel
	 * decompresses them like any other), its bytes in none of the
	 * content figures.
	 */
	bool has_packed;
	uint64_t packed_nid;
	uint64_t packed_bytes;		/* its size */
	uint64_t packed_stored;		/* on disk, in stored_bytes too */
	uint64_t packed_pclusters;	/* compressed ones */

	struct erofs_alg_stats alg[Z_EROFS_COMPRESSION_MAX];
	uint64_t pcl_hist[EROFS_STATS_PCL_BUCKETS];
	uint64_t pclusters;		/* compressed, all algorithms */
	uint32_t max_pclusterblks;
	uint64_t not_inplace;
	uint64_t inplace_unknown;

	uint64_t errors;		/* damaged inodes or extents skipped */
	uint64_t unsupported;
};

struct erofs_stats_opts {
	unsigned int page_size;		/* for the in-place rule */
};

/*
 * Walks the tree from the root, then the packed inode, and fills @st.
 * Damage is reported and counted in st->errors; the return value is 0 or
 * an operational error.
 */
int erofs_stats_collect(struct erofs_image *img,
			const struct erofs_stats_opts *opts,
			struct erofs_stats *st);

/* lower bound, in bytes, of size bucket @i */
uint64_t erofs_stats_size_bucket_start(unsigned int i);
/* the blocks covered by pcluster bucket @i: [lo, hi] */
void erofs_stats_pcl_bucket_range(unsigned int i, uint32_t *lo, uint32_t *hi);

/*
 * The kernel's in-place rule for one LZ4 pcluster (see dump.erofs(1)):
 * whether it decompresses in place, given the extent [la, la + llen), the
 * pcluster at @pa of @plen bytes whose compressed stream is @insize bytes
 * (after the leading zero padding).
 */
bool z_erofs_lz4_inplace(uint64_t la, uint64_t llen, uint64_t pa,
			 uint64_t plen, uint64_t insize, unsigned int page_size,
			 bool zero_padding);

/* the compressed stream's length in pcluster @map (zero padding skipped) */
int z_erofs_stream_size(struct erofs_image *img, const struct erofs_map *map,
			uint64_t *insize);

#endif
