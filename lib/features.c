// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Names of superblock features and compression algorithms, the algorithm
 * records that follow the superblock, and the oldest Linux release able
 * to mount an image.
 *
 * Release numbers are those of the in-tree driver (fs/erofs, 5.4 on); the
 * staging driver of 4.19..5.3 is not counted: its on-disk support was a
 * subset and it is not what anyone mounts with today.
 */
#include <stdio.h>
#include <string.h>
#include "erofs/features.h"

static const struct erofs_feature_desc features[] = {
	{ true, EROFS_FEATURE_COMPAT_SB_CHKSUM, "sb_csum", 0 },
	{ true, EROFS_FEATURE_COMPAT_MTIME, "mtime", 0 },
	{ true, EROFS_FEATURE_COMPAT_XATTR_FILTER, "xattr_filter", 0 },
	{ true, EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX,
	  "shared_ea_in_metabox", 0 },
	{ true, EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX, "plain_xattr_pfx", 0 },
	/* page cache sharing by an xattr: nothing a reader must decode */
	{ true, EROFS_FEATURE_COMPAT_ISHARE_XATTRS, "ishare_xattrs", 0 },
	{ false, EROFS_FEATURE_INCOMPAT_ZERO_PADDING, "0padding",
	  EROFS_KVER(5, 4) },
	/* one bit, two names: the records and the big pclusters they allow */
	{ false, EROFS_FEATURE_INCOMPAT_COMPR_CFGS, "compr_cfgs",
	  EROFS_KVER(5, 13) },
	{ false, EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER, "big_pcluster",
	  EROFS_KVER(5, 13) },
	{ false, EROFS_FEATURE_INCOMPAT_CHUNKED_FILE, "chunked_file",
	  EROFS_KVER(5, 15) },
	{ false, EROFS_FEATURE_INCOMPAT_DEVICE_TABLE, "device_table",
	  EROFS_KVER(5, 16) },
	{ false, EROFS_FEATURE_INCOMPAT_COMPR_HEAD2, "compr_head2",
	  EROFS_KVER(5, 16) },
	{ false, EROFS_FEATURE_INCOMPAT_ZTAILPACKING, "ztailpacking",
	  EROFS_KVER(5, 17) },
	{ false, EROFS_FEATURE_INCOMPAT_FRAGMENTS, "fragments",
	  EROFS_KVER(6, 1) },
	{ false, EROFS_FEATURE_INCOMPAT_DEDUPE, "dedupe", EROFS_KVER(6, 1) },
	{ false, EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES, "xattr_prefixes",
	  EROFS_KVER(6, 4) },
	{ false, EROFS_FEATURE_INCOMPAT_48BIT, "48bit", EROFS_KVER(6, 15) },
	{ false, EROFS_FEATURE_INCOMPAT_METABOX, "metabox", EROFS_KVER(6, 17) },
};

/* the release whose driver first decodes each algorithm */
static const unsigned int alg_kver[Z_EROFS_COMPRESSION_MAX] = {
	[Z_EROFS_COMPRESSION_LZ4] = EROFS_KVER(5, 4),
	[Z_EROFS_COMPRESSION_LZMA] = EROFS_KVER(5, 16),
	[Z_EROFS_COMPRESSION_DEFLATE] = EROFS_KVER(6, 6),
	[Z_EROFS_COMPRESSION_ZSTD] = EROFS_KVER(6, 10),
};

const struct erofs_feature_desc *erofs_feature_table(size_t *count)
{
	*count = ARRAY_SIZE(features);
	return features;
}

uint32_t erofs_features_unknown(bool compat, uint32_t mask)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(features); i++)
		if (features[i].compat == compat)
			mask &= ~features[i].bit;
	return mask;
}

void erofs_incompat_names(uint32_t mask, char *out, size_t len)
{
	uint32_t unknown = erofs_features_unknown(false, mask);
	size_t i, used = 0;

	out[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(features); i++)
		if (!features[i].compat && (mask & features[i].bit) &&
		    used < len)
			used += snprintf(out + used, len - used, "%s\"%s\"",
					 used ? ", " : "", features[i].name);
	for (i = 0; i < 32 && used < len; i++)
		if (unknown & (1U << i))
			used += snprintf(out + used, len - used,
					 "%sunknown incompat bit 0x%x",
					 used ? ", " : "", 1U << i);
}

const char *erofs_algorithm_name(unsigned int alg)
{
	static const char *const names[] = {
		[Z_EROFS_COMPRESSION_LZ4] = "lz4",
		[Z_EROFS_COMPRESSION_LZMA] = "lzma",
		[Z_EROFS_COMPRESSION_DEFLATE] = "deflate",
		[Z_EROFS_COMPRESSION_ZSTD] = "zstd",
		[Z_EROFS_COMPRESSION_MAX] = "plain",
	};

	return alg < ARRAY_SIZE(names) ? names[alg] : "unknown";
}

static void parse_cfg(struct erofs_compr_cfg *c, const uint8_t *p)
{
	switch (c->alg) {
	case Z_EROFS_COMPRESSION_LZ4: {
		const struct z_erofs_lz4_cfgs *l = (const void *)p;

		c->valid = c->size >= sizeof(*l);
		c->lz4.max_distance = le16_to_cpu(l->max_distance);
		c->lz4.max_pclusterblks = le16_to_cpu(l->max_pclusterblks);
		break;
	}
	case Z_EROFS_COMPRESSION_LZMA: {
		const struct z_erofs_lzma_cfgs *l = (const void *)p;

		c->valid = c->size >= sizeof(*l);
		c->lzma.dict_size = le32_to_cpu(l->dict_size);
		c->lzma.format = le16_to_cpu(l->format);
		break;
	}
	case Z_EROFS_COMPRESSION_DEFLATE:
		c->valid = c->size >= sizeof(struct z_erofs_deflate_cfgs);
		c->deflate.windowbits = p[0];
		break;
	case Z_EROFS_COMPRESSION_ZSTD: {
		const struct z_erofs_zstd_cfgs *z = (const void *)p;

		c->valid = c->size >= sizeof(*z);
		c->zstd.format = z->format;
		c->zstd.windowlog = z->windowlog;
		break;
	}
	default:
		c->valid = false;
	}
}

int erofs_read_compr_cfgs(struct erofs_image *img,
			  struct erofs_compr_cfg *cfgs, unsigned int max)
{
	uint64_t pos = EROFS_SUPER_OFFSET + img->sb_size;
	unsigned int algs = img->available_compr_algs, alg, n = 0;
	uint8_t payload[16];
	__le16 len;
	int err;

	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS))
		return 0;
	for (alg = 0; algs >> alg && n < max; alg++) {
		struct erofs_compr_cfg *c = &cfgs[n];

		if (!(algs & (1U << alg)))
			continue;
		/* like the kernel: each record starts 4-byte aligned */
		pos = ROUND_UP(pos, 4);
		err = erofs_image_pread(img, 0, &len, sizeof(len), pos);
		if (err)
			return err;
		memset(c, 0, sizeof(*c));
		memset(payload, 0, sizeof(payload));
		c->alg = alg;
		c->size = le16_to_cpu(len);
		pos += sizeof(len);
		err = erofs_image_pread(img, 0, payload,
					MIN(c->size, sizeof(payload)), pos);
		if (err)
			return err;
		parse_cfg(c, payload);
		pos += c->size;
		n++;
	}
	return n;
}

static void require(struct erofs_kver_req *req, unsigned int kver,
		    const char *why)
{
	if (kver <= req->kver && req->kver)
		return;
	req->kver = kver;
	snprintf(req->why, sizeof(req->why), "%s", why);
}

static void require_blocksize(const struct erofs_image *img,
			      unsigned int page_size, bool has_compressed,
			      struct erofs_kver_req *req)
{
	char why[128];

	if (img->blksz == page_size)
		return;
	if (img->blksz > page_size) {
		snprintf(why, sizeof(why), "%u-byte blocks on %u-byte pages",
			 img->blksz, page_size);
		require(req, EROFS_KVER_NONE, why);
		return;
	}
	/* 6.4 reads blocks smaller than a page; compressed ones from 6.8 */
	snprintf(why, sizeof(why), "%u-byte blocks on %u-byte pages%s",
		 img->blksz, page_size,
		 has_compressed ? ", compressed files" : "");
	require(req, has_compressed ? EROFS_KVER(6, 8) : EROFS_KVER(6, 4), why);
}

void erofs_min_kernel(const struct erofs_image *img, unsigned int page_size,
		      bool has_compressed, struct erofs_kver_req *req)
{
	unsigned int alg;
	char why[128];
	size_t i;

	req->kver = 0;
	require(req, EROFS_KVER(5, 4), "the in-tree driver");
	for (i = 0; i < ARRAY_SIZE(features); i++) {
		if (features[i].compat ||
		    !(img->feature_incompat & features[i].bit))
			continue;
		snprintf(why, sizeof(why), "feature %s", features[i].name);
		require(req, features[i].kver, why);
	}
	if (erofs_features_unknown(false, img->feature_incompat))
		require(req, EROFS_KVER_NONE, "unknown incompatible features");
	if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS) {
		for (alg = 0; alg < 16; alg++) {
			if (!(img->available_compr_algs & (1U << alg)))
				continue;
			snprintf(why, sizeof(why), "algorithm %s",
				 erofs_algorithm_name(alg));
			require(req, alg < Z_EROFS_COMPRESSION_MAX ?
				alg_kver[alg] : EROFS_KVER_NONE, why);
		}
	}
	require_blocksize(img, page_size, has_compressed, req);
}
