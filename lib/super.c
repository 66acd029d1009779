// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/build.h"
#include "erofs/crc32c.h"
#include "erofs/sha256.h"
#include "erofs/super.h"

uint32_t erofs_sb_checksum(const void *sb, unsigned int blksz)
{
	unsigned int len = erofs_sb_csum_len(blksz);
	const uint32_t zero = 0;
	uint32_t crc;

	crc = erofs_crc32c(~0U, sb, offsetof(struct erofs_super_block,
					     checksum));
	crc = erofs_crc32c(crc, &zero, sizeof(zero));
	return erofs_crc32c(crc, (const uint8_t *)sb + 8, len - 8);
}

#define SB_END	(EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block))

/* the configured algorithms, in on-disk numbering */
static uint16_t configured_algs(const struct erofs_builder *b)
{
	const struct erofs_compress_opts *co = &b->opts->compress;
	uint16_t algs = 0;
	unsigned int i;

	for (i = 0; i < co->nr_specs; i++)
		algs |= 1U << erofs_compressor_ops(co->specs[i].alg)->ondisk_alg;
	/* and those of files rebuilt from other images */
	return algs | b->compr_algs;
}

static unsigned int cfg_size(unsigned int alg)
{
	switch (alg) {
	case Z_EROFS_COMPRESSION_LZ4:
		return sizeof(struct z_erofs_lz4_cfgs);
	case Z_EROFS_COMPRESSION_LZMA:
		return sizeof(struct z_erofs_lzma_cfgs);
	case Z_EROFS_COMPRESSION_ZSTD:
		return sizeof(struct z_erofs_zstd_cfgs);
	default:
		return sizeof(struct z_erofs_deflate_cfgs);
	}
}

unsigned int erofs_sb_cfgs_size(const struct erofs_builder *b)
{
	uint16_t algs = configured_algs(b);
	unsigned int alg, size = 0;

	for (alg = 0; algs >> alg; alg++)
		if (algs & (1U << alg))
			size += ROUND_UP(sizeof(__le16) + cfg_size(alg), 4);
	return size;
}

unsigned int erofs_sb_devt_offset(const struct erofs_builder *b)
{
	return ROUND_UP(SB_END + erofs_sb_cfgs_size(b), EROFS_DEVT_SLOT_SIZE);
}

unsigned int erofs_sb_head_size(const struct erofs_builder *b)
{
	if (!b->nr_devices)
		return SB_END + erofs_sb_cfgs_size(b);
	return erofs_sb_devt_offset(b) +
	       b->nr_devices * EROFS_DEVT_SLOT_SIZE;
}

uint64_t erofs_device_mapped(const struct erofs_builder *b, unsigned int dev)
{
	/* past the annex too: "cat IMAGE DEVICE" is then a flat image */
	uint64_t mapped = b->total_blocks +
			  erofs_annex_blocks(&b->annex, b->blksz);
	unsigned int i;

	if (!dev)
		return 0;
	for (i = 0; i + 1 < dev; i++)
		mapped += b->devices[i].blocks;
	return mapped;
}

/*
 * Devices are named by their digests and mapped one after another past
 * this image file (its annex included), so that compressed data on a
 * device has a unified address.  The annex must be complete by now.
 */
static void write_devt(struct erofs_builder *b, struct erofs_super_block *sb)
{
	unsigned int off = erofs_sb_devt_offset(b), i;

	for (i = 0; i < b->nr_devices; i++) {
		uint64_t mapped = erofs_device_mapped(b, i + 1);
		struct erofs_deviceslot slot = {
			.blocks = cpu_to_le32(b->devices[i].blocks),
			.mapped_blkaddr = cpu_to_le32(mapped),
		};

		if (b->opts->layout_48bit)
			slot.mapped_blkaddr_hi = cpu_to_le16(mapped >> 32);

		memcpy(slot.tag, b->devices[i].tag, sizeof(slot.tag));
		memcpy(b->head + off + i * EROFS_DEVT_SLOT_SIZE, &slot,
		       sizeof(slot));
	}
	sb->extra_devices = cpu_to_le16(b->nr_devices);
	sb->devt_slotoff = cpu_to_le16(off / EROFS_DEVT_SLOT_SIZE);
	sb->feature_incompat |= cpu_to_le32(EROFS_FEATURE_INCOMPAT_DEVICE_TABLE);
}

/* the largest dictionary the -z entries of @alg use */
static uint32_t specs_dict_size(const struct erofs_builder *b,
				enum erofs_compr_alg alg)
{
	const struct erofs_compress_opts *co = &b->opts->compress;
	uint32_t dict = 0;
	unsigned int i;

	for (i = 0; i < co->nr_specs; i++)
		if (co->specs[i].alg == alg)
			dict = MAX(dict, co->specs[i].dict_size);
	return dict;
}

static uint32_t lzma_dict_size(const struct erofs_builder *b)
{
	return MAX(specs_dict_size(b, EROFS_COMPR_LZMA), b->lzma_dict_size);
}

/* the kernel sizes its decoders by it: windowlog = log2(window) - 10 */
static uint8_t zstd_windowlog(const struct erofs_builder *b)
{
	uint32_t window = MAX(specs_dict_size(b, EROFS_COMPR_ZSTD),
			      b->zstd_window);

	return window > 1024 ? erofs_ilog2(window) - 10 : 0;
}

static uint32_t max_pclusterblks(const struct erofs_builder *b)
{
	return MAX(erofs_compress_max_pclusterblks(&b->opts->compress),
		   b->max_pclusterblks);
}


/* one record per algorithm, in algorithm order, after the superblock */
static void write_cfgs(struct erofs_builder *b, uint8_t *p)
{
	uint16_t algs = configured_algs(b);
	unsigned int alg;

	for (alg = 0; algs >> alg; alg++) {
		union {
			struct z_erofs_lz4_cfgs lz4;
			struct z_erofs_lzma_cfgs lzma;
			struct z_erofs_deflate_cfgs deflate;
			struct z_erofs_zstd_cfgs zstd;
		} cfg = { 0 };
		__le16 len = cpu_to_le16(cfg_size(alg));

		if (!(algs & (1U << alg)))
			continue;
		if (alg == Z_EROFS_COMPRESSION_LZ4) {
			cfg.lz4.max_distance = cpu_to_le16(UINT16_MAX);
			cfg.lz4.max_pclusterblks = cpu_to_le16(
				max_pclusterblks(b));
		} else if (alg == Z_EROFS_COMPRESSION_LZMA) {
			cfg.lzma.dict_size = cpu_to_le32(lzma_dict_size(b));
		} else if (alg == Z_EROFS_COMPRESSION_ZSTD) {
			cfg.zstd.windowlog = zstd_windowlog(b);
		} else {
			cfg.deflate.windowbits = 15;
		}
		memcpy(p, &len, sizeof(len));
		memcpy(p + sizeof(len), &cfg, cfg_size(alg));
		p += ROUND_UP(sizeof(len) + cfg_size(alg), 4);
	}
}

/* fills in the superblock inside the head buffer, checksum last */
int erofs_write_super(struct erofs_builder *b)
{
	const struct erofs_build_options *o = b->opts;
	uint8_t *p = b->head + EROFS_SUPER_OFFSET;
	uint32_t incompat = 0;
	struct erofs_super_block sb = {
		.magic = cpu_to_le32(EROFS_SUPER_MAGIC_V1),
		.feature_compat = cpu_to_le32(EROFS_FEATURE_COMPAT_MTIME),
		.blkszbits = o->blkszbits,
		.root_nid = cpu_to_le16(b->root->nid),
		.inos = cpu_to_le64(b->nr_nodes),
		.epoch = cpu_to_le64(erofs_epoch(o)),
		.build_time = cpu_to_le32(o->build_time - erofs_epoch(o)),
		.fixed_nsec = cpu_to_le32(o->build_time_nsec),
		.blocks = cpu_to_le32(b->total_blocks),
		.meta_blkaddr = cpu_to_le32(0),
		.xattr_blkaddr = cpu_to_le32(b->xattr_blkaddr),
	};

	if (configured_algs(b)) {
		incompat |= EROFS_FEATURE_INCOMPAT_ZERO_PADDING |
			    EROFS_FEATURE_INCOMPAT_COMPR_CFGS;
		if (max_pclusterblks(b) > 1)
			incompat |= EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER;
		sb.u1 = cpu_to_le16(configured_algs(b));
		write_cfgs(b, b->head + SB_END);
	}
	if (o->chunkbits || b->chunked)
		incompat |= EROFS_FEATURE_INCOMPAT_CHUNKED_FILE;
	if (b->ztailpacking)
		incompat |= EROFS_FEATURE_INCOMPAT_ZTAILPACKING;
	if (b->pcluster_refs)
		incompat |= EROFS_FEATURE_INCOMPAT_DEDUPE;
	if (b->packed) {
		incompat |= EROFS_FEATURE_INCOMPAT_FRAGMENTS;
		sb.packed_nid = cpu_to_le64(b->packed->nid);
	}
	if (o->layout_48bit) {
		incompat |= EROFS_FEATURE_INCOMPAT_48BIT;
		/* a zero root_nid_8b would make blocks_hi the root nid */
		if (!b->root->nid && b->total_blocks >> 32) {
			erofs_err(b->msg, "-E 48bit: root nid 0 in an image of more than 2^32 blocks cannot be expressed");
			return -EOVERFLOW;
		}
		sb.root_nid_8b = cpu_to_le64(b->root->nid);
		sb.blocks_hi = cpu_to_le16(b->total_blocks >> 32);
	}
	sb.feature_incompat = cpu_to_le32(incompat);
	if (b->nr_devices)
		write_devt(b, &sb);
	memcpy(sb.uuid, o->uuid, sizeof(sb.uuid));
	memcpy(sb.volume_name, o->volume_name, sizeof(sb.volume_name));
	if (o->sb_checksum)
		sb.feature_compat |= cpu_to_le32(EROFS_FEATURE_COMPAT_SB_CHKSUM);
	memcpy(p, &sb, sizeof(sb));
	if (o->sb_checksum) {
		uint32_t crc = cpu_to_le32(erofs_sb_checksum(p, b->blksz));

		memcpy(p + offsetof(struct erofs_super_block, checksum), &crc,
		       sizeof(crc));
	}
	return 0;
}
