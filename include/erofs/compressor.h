/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compression algorithms behind one interface.  Every compressor works to
 * a fixed output size: it consumes as much input as fits in the space of
 * one physical cluster, which is what EROFS' fixed-output compression needs.
 */
#ifndef EROFS_COMPRESSOR_H
#define EROFS_COMPRESSOR_H

#include "erofs/defs.h"

enum erofs_compr_alg {
	EROFS_COMPR_LZ4,
	EROFS_COMPR_LZ4HC,
	EROFS_COMPR_LZMA,
	EROFS_COMPR_DEFLATE,
	EROFS_COMPR_ZSTD,
	EROFS_COMPR_NR
};

/* one algorithm as asked for on the command line */
struct erofs_compr_spec {
	enum erofs_compr_alg alg;
	int level;			/* the algorithm's default when unset */
	uint32_t dict_size;		/* lzma, zstd; 0: from the pcluster size */
};

/*
 * How the last extent of a segment filled its pcluster: deflate and zstd,
 * which cannot stop at an output size, size the next extent's input by
 * it.  It is the segment's, never a worker's: which segments a worker
 * gets depends on scheduling, and the image must not.
 */
struct erofs_compr_fit {
	uint32_t in, out;		/* 0: no extent yet */
};

/* a per-worker instance: compressors keep state between calls */
struct erofs_compressor {
	const struct erofs_compressor_ops *ops;
	struct erofs_compr_spec spec;
	void *priv;
};

struct erofs_compressor_ops {
	const char *name;
	uint8_t ondisk_alg;		/* Z_EROFS_COMPRESSION_* */
	int min_level, max_level, default_level;
	uint32_t max_dict_size;		/* 0: takes no dictsize= */
	int (*init)(struct erofs_compressor *c);
	/*
	 * Compress a prefix of @src (*srclen bytes) into at most @dstcap
	 * bytes; on return *srclen holds the bytes consumed.  @fit is the
	 * segment's: read and updated by compressors that predict.  Returns
	 * the compressed size, 0 when nothing useful fits, or -errno.
	 */
	int (*compress_destsize)(struct erofs_compressor *c, const void *src,
				 unsigned int *srclen, void *dst,
				 unsigned int dstcap, struct erofs_compr_fit *fit);
	void (*exit)(struct erofs_compressor *c);
};

const struct erofs_compressor_ops *erofs_compressor_find(const char *name);
const struct erofs_compressor_ops *erofs_compressor_ops(enum erofs_compr_alg a);

/* "lz4hc,12", "lzma,6,dictsize=1M", "deflate", "zstd,level=19" */
int erofs_compr_spec_parse(const char *arg, struct erofs_compr_spec *spec,
			   const char **why);

int erofs_compressor_init(struct erofs_compressor *c,
			  const struct erofs_compr_spec *spec);
void erofs_compressor_exit(struct erofs_compressor *c);
/* the dictionary (window) an algorithm gets unless told: 8 pclusters' worth */
uint32_t erofs_compr_default_dict(const struct erofs_compressor_ops *ops,
				  uint64_t pcluster_bytes);

/* compressor_deflate.c, compressor_zstd.c */
int z_erofs_deflate_init(struct erofs_compressor *c);
int z_erofs_deflate_compress(struct erofs_compressor *c, const void *src,
			     unsigned int *srclen, void *dst,
			     unsigned int dstcap, struct erofs_compr_fit *fit);
void z_erofs_deflate_exit(struct erofs_compressor *c);
int z_erofs_zstd_init(struct erofs_compressor *c);
int z_erofs_zstd_compress(struct erofs_compressor *c, const void *src,
			  unsigned int *srclen, void *dst, unsigned int dstcap,
			  struct erofs_compr_fit *fit);
void z_erofs_zstd_exit(struct erofs_compressor *c);

static inline int erofs_compress_destsize(struct erofs_compressor *c,
					  const void *src, unsigned int *srclen,
					  void *dst, unsigned int dstcap,
					  struct erofs_compr_fit *fit)
{
	return c->ops->compress_destsize(c, src, srclen, dst, dstcap, fit);
}

#endif
