// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lz4, lz4hc, lzma (MicroLZMA), raw deflate (compressor_deflate.c) and
 * zstd (compressor_zstd.c), each to a fixed output size
 */
#include <errno.h>
#include <lz4.h>
#include <lz4hc.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/compressor.h"
#include "erofs/erofs_fs.h"
#include "erofs/util.h"

static int lz4_compress(struct erofs_compressor *c, const void *src,
			unsigned int *srclen, void *dst, unsigned int dstcap,
			struct erofs_compr_fit *fit)
{
	int in = *srclen, ret;

	ret = LZ4_compress_destSize(src, dst, &in, dstcap);
	if (ret <= 0)
		return 0;
	*srclen = in;
	return ret;
}

static int lz4hc_init(struct erofs_compressor *c)
{
	c->priv = LZ4_createStreamHC();
	return c->priv ? 0 : -ENOMEM;
}

static int lz4hc_compress(struct erofs_compressor *c, const void *src,
			  unsigned int *srclen, void *dst, unsigned int dstcap,
			  struct erofs_compr_fit *fit)
{
	int in = *srclen, ret;

	/*
	 * LZ4_compress_HC_destSize() clears the whole state (256 KiB) on
	 * every call, which costs more than compressing a small pcluster;
	 * a fast reset gives the same output without it.
	 */
	LZ4_resetStreamHC_fast(c->priv, c->spec.level);
	ret = LZ4_compress_HC_continue_destSize(c->priv, src, dst, &in,
						dstcap);
	if (ret <= 0)
		return 0;
	*srclen = in;
	return ret;
}

static void lz4hc_exit(struct erofs_compressor *c)
{
	LZ4_freeStreamHC(c->priv);
	c->priv = NULL;
}

static void free_priv(struct erofs_compressor *c)
{
	free(c->priv);
	c->priv = NULL;
}

struct lzma_priv {
	lzma_stream strm;
	lzma_options_lzma opts;
};

static int lzma_init(struct erofs_compressor *c)
{
	struct lzma_priv *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->strm = (lzma_stream)LZMA_STREAM_INIT;
	if (lzma_lzma_preset(&p->opts, c->spec.level)) {
		free(p);
		return -EINVAL;
	}
	p->opts.dict_size = c->spec.dict_size;
	c->priv = p;
	return 0;
}

/* MicroLZMA encodes as much input as fits in avail_out by itself */
static int lzma_compress(struct erofs_compressor *c, const void *src,
			 unsigned int *srclen, void *dst, unsigned int dstcap,
			 struct erofs_compr_fit *fit)
{
	struct lzma_priv *p = c->priv;
	lzma_ret ret;

	/*
	 * A window larger than the input finds nothing more but costs its
	 * match-finder tables on every encoder set-up, once per extent.
	 */
	p->opts.dict_size = MIN(c->spec.dict_size,
				erofs_roundup_pow2(MAX(*srclen, 4096U)));
	p->strm.next_in = src;
	p->strm.avail_in = *srclen;
	p->strm.next_out = dst;
	p->strm.avail_out = dstcap;
	ret = lzma_microlzma_encoder(&p->strm, &p->opts);
	if (ret != LZMA_OK)
		return ret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
	ret = lzma_code(&p->strm, LZMA_FINISH);
	if (ret != LZMA_STREAM_END)
		return ret == LZMA_MEM_ERROR ? -ENOMEM : -EIO;
	*srclen = p->strm.total_in;
	return p->strm.total_out;
}

static void lzma_exit(struct erofs_compressor *c)
{
	struct lzma_priv *p = c->priv;

	if (p)
		lzma_end(&p->strm);
	free_priv(c);
}

static const struct erofs_compressor_ops compressors[EROFS_COMPR_NR] = {
	[EROFS_COMPR_LZ4] = {
		.name = "lz4", .ondisk_alg = Z_EROFS_COMPRESSION_LZ4,
		.compress_destsize = lz4_compress,
	},
	[EROFS_COMPR_LZ4HC] = {
		.name = "lz4hc", .ondisk_alg = Z_EROFS_COMPRESSION_LZ4,
		.min_level = LZ4HC_CLEVEL_MIN, .max_level = LZ4HC_CLEVEL_MAX,
		.default_level = LZ4HC_CLEVEL_DEFAULT,
		.init = lz4hc_init, .compress_destsize = lz4hc_compress,
		.exit = lz4hc_exit,
	},
	[EROFS_COMPR_LZMA] = {
		.name = "lzma", .ondisk_alg = Z_EROFS_COMPRESSION_LZMA,
		.min_level = 0, .max_level = 9, .default_level = 6,
		.max_dict_size = Z_EROFS_LZMA_MAX_DICT_SIZE,
		.init = lzma_init, .compress_destsize = lzma_compress,
		.exit = lzma_exit,
	},
	[EROFS_COMPR_DEFLATE] = {
		.name = "deflate", .ondisk_alg = Z_EROFS_COMPRESSION_DEFLATE,
		.min_level = 1, .max_level = 9, .default_level = 6,
		.init = z_erofs_deflate_init,
		.compress_destsize = z_erofs_deflate_compress,
		.exit = z_erofs_deflate_exit,
	},
	[EROFS_COMPR_ZSTD] = {
		.name = "zstd", .ondisk_alg = Z_EROFS_COMPRESSION_ZSTD,
		/* 0 is libzstd's default level, as erofs-utils takes it */
		.min_level = 0, .max_level = 22, .default_level = 3,
		.max_dict_size = Z_EROFS_ZSTD_MAX_DICT_SIZE,
		.init = z_erofs_zstd_init,
		.compress_destsize = z_erofs_zstd_compress,
		.exit = z_erofs_zstd_exit,
	},
};

const struct erofs_compressor_ops *erofs_compressor_ops(enum erofs_compr_alg a)
{
	return &compressors[a];
}

const struct erofs_compressor_ops *erofs_compressor_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < EROFS_COMPR_NR; i++)
		if (!strcmp(compressors[i].name, name))
			return &compressors[i];
	return NULL;
}

static int spec_option(struct erofs_compr_spec *spec,
		       const struct erofs_compressor_ops *ops, const char *tok,
		       const char **why)
{
	long long v;
	uint64_t sz;

	if (!strncmp(tok, "dictsize=", 9)) {
		if (!ops->max_dict_size) {
			*why = "only lzma and zstd take a dictionary size";
			return -EINVAL;
		}
		if (erofs_parse_size(tok + 9, &sz) || sz < 4096 ||
		    sz > ops->max_dict_size) {
			*why = ops->max_dict_size == Z_EROFS_LZMA_MAX_DICT_SIZE ?
			       "lzma dictionary size must be 4096 to 8M" :
			       "zstd dictionary size must be 4096 to 1M";
			return -EINVAL;
		}
		/* zstd's window is a power of two: one that is not would lie */
		if (spec->alg == EROFS_COMPR_ZSTD && !erofs_is_power_of_2(sz)) {
			*why = "zstd dictionary size must be a power of two";
			return -EINVAL;
		}
		spec->dict_size = sz;
		return 0;
	}
	if (!strncmp(tok, "level=", 6))
		tok += 6;
	else if (strchr(tok, '=')) {
		*why = "unknown option (level=N, dictsize=SIZE)";
		return -EINVAL;
	}
	if (ops->max_level == ops->min_level) {
		*why = "this algorithm has no levels";
		return -EINVAL;
	}
	if (erofs_parse_long(tok, ops->min_level, ops->max_level, &v)) {
		*why = "level out of range for this algorithm";
		return -EINVAL;
	}
	spec->level = v;
	return 0;
}

int erofs_compr_spec_parse(const char *arg, struct erofs_compr_spec *spec,
			   const char **why)
{
	const struct erofs_compressor_ops *ops;
	char *copy = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	tok = strtok_r(copy, ",", &save);
	ops = tok ? erofs_compressor_find(tok) : NULL;
	if (!ops) {
		*why = "unknown algorithm (lz4, lz4hc, lzma, deflate, zstd)";
		free(copy);
		return -EINVAL;
	}
	memset(spec, 0, sizeof(*spec));
	spec->alg = ops - compressors;
	spec->level = ops->default_level;
	while (!err && (tok = strtok_r(NULL, ",", &save)))
		err = spec_option(spec, ops, tok, why);
	free(copy);
	return err;
}

int erofs_compressor_init(struct erofs_compressor *c,
			  const struct erofs_compr_spec *spec)
{
	c->ops = &compressors[spec->alg];
	c->spec = *spec;
	c->priv = NULL;
	return c->ops->init ? c->ops->init(c) : 0;
}

uint32_t erofs_compr_default_dict(const struct erofs_compressor_ops *ops,
				  uint64_t pcluster_bytes)
{
	uint32_t dict = 32 << 10;

	while (dict < pcluster_bytes * 8 && dict < ops->max_dict_size)
		dict <<= 1;
	return dict;
}

void erofs_compressor_exit(struct erofs_compressor *c)
{
	if (c->ops && c->ops->exit)
		c->ops->exit(c);
	c->ops = NULL;
}
