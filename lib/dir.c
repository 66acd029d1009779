// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Directory blocks: dirents first, then their names without terminators.
 * Each block holds a run of the sorted entries; a name's length is the
 * distance to the next name, and the last one runs to the block's end
 * (or the directory's size in its last block).
 */
#include <string.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"

#define DIRENT_SIZE	sizeof(struct erofs_dirent)

/* entries [first, return value) fit in one block */
static unsigned int dir_block_end(const struct erofs_node *dir,
				  unsigned int first, unsigned int blksz,
				  unsigned int *used)
{
	unsigned int i, names = 0, len;

	for (i = first; i < dir->nr_dents; i++) {
		len = strlen(dir->dents[i].name);
		if ((i - first + 1) * DIRENT_SIZE + names + len > blksz)
			break;
		names += len;
	}
	*used = (i - first) * DIRENT_SIZE + names;
	return i;
}

uint64_t erofs_dir_size(const struct erofs_node *dir, unsigned int blksz)
{
	unsigned int i = 0, used = 0;
	uint64_t blocks = 0;

	while (i < dir->nr_dents) {
		i = dir_block_end(dir, i, blksz, &used);
		blocks++;
	}
	return (blocks - 1) * blksz + used;
}

static void dir_fill_block(const struct erofs_node *dir, unsigned int first,
			   unsigned int end, uint8_t *blk)
{
	unsigned int nameoff = (end - first) * DIRENT_SIZE, i, len;

	for (i = first; i < end; i++) {
		const struct erofs_dentry *d = &dir->dents[i];
		struct erofs_dirent de = {
			.nid = cpu_to_le64(d->node->nid),
			.nameoff = cpu_to_le16(nameoff),
			.file_type = erofs_mode_to_ftype(d->node->mode),
		};

		memcpy(blk + (i - first) * DIRENT_SIZE, &de, sizeof(de));
		len = strlen(d->name);
		memcpy(blk + nameoff, d->name, len);
		nameoff += len;
	}
}

/* @buf is zeroed and erofs_dir_size() rounded up to blocks long */
void erofs_dir_fill(const struct erofs_node *dir, unsigned int blksz,
		    uint8_t *buf)
{
	unsigned int i = 0, end, used;

	for (; i < dir->nr_dents; i = end, buf += blksz) {
		end = dir_block_end(dir, i, blksz, &used);
		dir_fill_block(dir, i, end, buf);
	}
}
