// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>
#include <string.h>
#include "erofs/build.h"
#include "erofs/crc32c.h"
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

/* fills in the superblock inside the metadata buffer, checksum last */
int erofs_write_super(struct erofs_builder *b)
{
	const struct erofs_build_options *o = b->opts;
	uint8_t *p = b->meta + EROFS_SUPER_OFFSET;
	struct erofs_super_block sb = {
		.magic = cpu_to_le32(EROFS_SUPER_MAGIC_V1),
		.feature_compat = cpu_to_le32(EROFS_FEATURE_COMPAT_MTIME),
		.blkszbits = o->blkszbits,
		.root_nid = cpu_to_le16(b->root->nid),
		.inos = cpu_to_le64(b->nr_nodes),
		.build_time = cpu_to_le64(o->build_time),
		.build_time_nsec = cpu_to_le32(o->build_time_nsec),
		.blocks = cpu_to_le32(b->total_blocks),
		.meta_blkaddr = cpu_to_le32(0),
		.xattr_blkaddr = cpu_to_le32(b->xattr_blkaddr),
	};

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
