/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef EROFS_SUPER_H
#define EROFS_SUPER_H

#include "erofs/erofs_fs.h"

/* bytes of the block holding the superblock that its checksum covers */
static inline unsigned int erofs_sb_csum_len(unsigned int blksz)
{
	return blksz > EROFS_SUPER_OFFSET ? blksz - EROFS_SUPER_OFFSET : blksz;
}

/*
 * The checksum of the superblock area starting at @sb (the stored
 * checksum field is taken as zero), as the kernel computes it.
 */
uint32_t erofs_sb_checksum(const void *sb, unsigned int blksz);

#endif
