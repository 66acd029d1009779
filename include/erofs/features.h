/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Feature names, compression algorithm names and configs, and the oldest
 * Linux release whose in-tree (fs/erofs) driver mounts a given image.
 */
#ifndef EROFS_FEATURES_H
#define EROFS_FEATURES_H

#include "erofs/reader.h"

/* one named superblock feature bit; some bits have two names */
struct erofs_feature_desc {
	bool compat;
	uint32_t bit;
	const char *name;		/* as erofs-utils spells it */
	unsigned int kver;		/* KVER(major, minor) that mounts it;
					 * 0 for compat bits (ignored when
					 * unknown) */
};

#define EROFS_KVER(major, minor)	((major) << 8 | (minor))
#define EROFS_KVER_MAJOR(v)		((v) >> 8)
#define EROFS_KVER_MINOR(v)		((v) & 0xff)
#define EROFS_KVER_NONE			0xffffU	/* no release mounts it */

const struct erofs_feature_desc *erofs_feature_table(size_t *count);
/* feature bits of @compat (or incompat) @mask no table entry names */
uint32_t erofs_features_unknown(bool compat, uint32_t mask);

/* the incompat bits of @mask by name, '"48bit", unknown incompat bit 0x200' */
void erofs_incompat_names(uint32_t mask, char *out, size_t len);

/* "lz4", "lzma", "deflate", "zstd", "plain" (Z_EROFS_COMPRESSION_MAX),
 * else "unknown" */
const char *erofs_algorithm_name(unsigned int alg);

/* one algorithm's record after the superblock (with COMPR_CFGS) */
struct erofs_compr_cfg {
	unsigned int alg;
	unsigned int size;		/* bytes of the record's payload */
	bool valid;			/* payload long enough for its type */
	union {
		struct { uint16_t max_distance, max_pclusterblks; } lz4;
		struct { uint32_t dict_size; uint16_t format; } lzma;
		struct { uint8_t windowbits; } deflate;
		struct { uint8_t format, windowlog; } zstd;
	};
};

#define EROFS_MAX_COMPR_CFGS	16

/*
 * Parses the algorithm records from the superblock area.  Returns how
 * many were found (at most EROFS_MAX_COMPR_CFGS) or -EFSCORRUPTED if the
 * records run past the superblock block.  Without COMPR_CFGS, returns 0.
 */
int erofs_read_compr_cfgs(struct erofs_image *img,
			  struct erofs_compr_cfg *cfgs, unsigned int max);

/* what decides the oldest kernel: the newest requirement and its reason */
struct erofs_kver_req {
	unsigned int kver;		/* EROFS_KVER() or EROFS_KVER_NONE */
	char why[128];
};

/*
 * The oldest Linux release that mounts @img on a machine with pages of
 * @page_size bytes, from its incompatible features, its compression
 * algorithms, and its block size.  @has_compressed says whether any file
 * is compressed (a block size below the page size needs a newer kernel
 * then).
 */
void erofs_min_kernel(const struct erofs_image *img, unsigned int page_size,
		      bool has_compressed, struct erofs_kver_req *req);

#endif
