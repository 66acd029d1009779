/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compressed files: fixed-output extents, their lcluster indexes, and the
 * options that shape them.
 */
#ifndef EROFS_COMPRESS_H
#define EROFS_COMPRESS_H

#include "erofs/compressor.h"

#define EROFS_MAX_COMPR_SPECS	4	/* -z ALG1:ALG2:... */

/* a rule of --compress-hints: files matching @regex use these settings */
struct erofs_compress_hint {
	void *regex;			/* regex_t, compiled */
	uint32_t pclusterblks;
	unsigned int spec;		/* index into the -z list */
};

struct erofs_compress_opts {
	struct erofs_compr_spec specs[EROFS_MAX_COMPR_SPECS];
	unsigned int nr_specs;		/* 0: no compression */
	uint32_t pclusterblks;		/* -C, in blocks */
	uint64_t max_extent_bytes;	/* 0: as large as the format allows */
	bool legacy_index;		/* full instead of compacted indexes */
	bool ztailpacking;		/* the tail pcluster inline */
	/*
	 * fragments: what is left of a file once at most a pcluster
	 * remains -- a small file whole -- goes to the packed inode,
	 * which is compressed as one file after all others
	 */
	bool fragments;
	bool all_fragments;		/* every compressed file whole, there */
	/* -E dedupe: data equal to an earlier pcluster's refers to it */
	bool pcluster_dedupe;
	uint32_t packed_pclusterblks;	/* the packed inode's; 0: as -C */
	unsigned int workers;
	struct erofs_compress_hint *hints;
	unsigned int nr_hints;
};

/*
 * one extent: [la, next extent's la) decompresses from nblocks blocks;
 * a fragment (the last extent, no blocks) is in the packed inode
 */
struct z_erofs_extent_rec {
	uint64_t la;
	uint32_t nblocks;
	bool raw;			/* stored as is (a PLAIN lcluster) */
	/* its pcluster decodes to more than the extent: decode a prefix */
	bool partial;
	/*
	 * -E dedupe: the pcluster is an earlier one's, @ref_off blocks from
	 * the file's first (the index adds where its device is mapped)
	 */
	bool ref;
	int64_t ref_off;
};

/* per compressed file, kept until its index is written */
struct z_erofs_file {
	struct z_erofs_extent_rec *ext;
	uint32_t nr_ext, cap_ext;
	uint64_t blocks;		/* all its own pclusters */
	uint32_t max_pclusterblks;	/* the largest it may use */
	uint8_t ondisk_alg;
	bool compact, compact_2b;
	/* ztailpacking: the last extent's pcluster, kept after the index */
	uint8_t *idata;
	uint16_t idata_size;
	/* fragments: bytes [frag_la, EOF) are at fragoff of the packed inode */
	bool fragment;
	uint64_t frag_la;
	uint64_t fragoff;
};

/* the whole file is a fragment: its map header says only where */
static inline bool z_erofs_whole_fragment(const struct z_erofs_file *z)
{
	return z->fragment && !z->frag_la;
}

/* one lcluster's index entry, decoded */
struct z_erofs_lcluster {
	uint8_t type;			/* Z_EROFS_LCLUSTER_TYPE_* */
	bool cblkcnt;			/* first NONHEAD of a big pcluster */
	uint16_t clusterofs;		/* HEAD, PLAIN */
	uint16_t delta[2];		/* NONHEAD: back to head, on to next */
	uint32_t cblks;			/* with cblkcnt */
	uint64_t blkaddr;		/* HEAD, PLAIN */
	bool partial;			/* HEAD, PLAIN: Z_EROFS_LI_PARTIAL_REF */
};

/*
 * Blocks a reader of a compacted pack adds to the pack's base address
 * for the HEAD at @i: those of the pclusters it passes walking back.
 * Z_EROFS_COMPACT_BAD when a big pcluster's NONHEAD entry cannot step
 * back (a lookback of 0 or 1, which only a damaged pack holds).
 */
#define Z_EROFS_COMPACT_BAD	UINT64_MAX
uint64_t z_erofs_compact_walk(const struct z_erofs_lcluster *pack,
			      unsigned int vcnt, int i, bool big);
/* where the compacted area splits: 4B lead-in, then 2B packs, then 4B */
void z_erofs_compact_split(bool compact_2b, uint64_t total, uint64_t ebase,
			   uint64_t *lead, uint64_t *two);

/* bytes after inode + xattrs: alignment, map header and indexes */
unsigned int z_erofs_index_size(const struct z_erofs_file *z,
				unsigned int blkszbits, uint64_t size,
				unsigned int iend);
/* writes them at @p, which is byte @iend of the metadata */
int z_erofs_write_index(const struct z_erofs_file *z, unsigned int blkszbits,
			uint64_t size, uint64_t blkaddr, uint64_t iend,
			uint8_t *p);
/* the lcluster index format a file of @blkszbits gets */
void z_erofs_choose_index(struct z_erofs_file *z, unsigned int blkszbits,
			  bool legacy);

#endif

/* one segment of a file, compressed independently of the others */
struct z_erofs_segment {
	const struct erofs_compr_spec *spec;
	unsigned int spec_idx;
	unsigned int blkszbits;
	uint32_t pclusterblks;
	uint64_t max_extent_bytes;
	uint64_t la;			/* file offset of in[0] */
	const uint8_t *in;
	uint32_t inlen;
	bool may_fragment;		/* the file's last, and -E fragments */
	bool whole_fragment;		/* -E all-fragments: all of it goes */
	struct erofs_compr_fit fit;	/* how its last extent filled up */
	/* results */
	uint32_t frag_len;		/* the last bytes, left for the packed inode */
	uint8_t *out;			/* whole blocks, pclusters in order */
	uint64_t outlen;
	struct z_erofs_extent_rec *ext;
	uint32_t nr_ext;
};

/* a worker's compressors, one per -z entry, made when first needed */
struct z_erofs_worker {
	struct erofs_compressor compr[EROFS_MAX_COMPR_SPECS];
	bool inited[EROFS_MAX_COMPR_SPECS];
	uint8_t *scratch;
	size_t scratch_size;
};

void z_erofs_worker_init(struct z_erofs_worker *w);
void z_erofs_worker_exit(struct z_erofs_worker *w);
int z_erofs_compress_segment(struct z_erofs_worker *w,
			     struct z_erofs_segment *seg);
/*
 * One extent of @seg from @pos on, appended to its output (which must
 * have room for z_erofs_segment_out_bound() of the rest): the bytes it
 * took, or 0 when the rest is left for the packed inode (frag_len).
 */
int z_erofs_compress_extent(struct z_erofs_worker *w,
			    struct z_erofs_segment *seg, uint32_t pos);
/* the largest output z_erofs_compress_segment() makes of @inlen bytes */
uint64_t z_erofs_segment_out_bound(uint32_t inlen, unsigned int blkszbits);
/* how large an extent may be: what the format and -E allow */
uint64_t z_erofs_max_extent(unsigned int blkszbits, uint64_t asked);

struct erofs_msg;
int erofs_compress_hints_load(struct erofs_compress_opts *co,
			      unsigned int blkszbits, const char *path,
			      const struct erofs_msg *msg);
/* the largest pcluster any file may get: -C or a hint */
uint32_t erofs_compress_max_pclusterblks(const struct erofs_compress_opts *co);
