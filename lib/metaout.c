// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The metadata area goes out through a window of blocks rather than being
 * built whole in memory: inodes are written in the order of their blocks,
 * and a block is written once nothing later can land in it.  Only records
 * larger than a block (big directories' inline parts aside, block maps and
 * indexes) make the window grow past a few blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/build.h"

/* blocks written out together, once finished */
#define META_FLUSH_BLOCKS	64

static int meta_flush(struct erofs_builder *b, uint64_t upto)
{
	uint64_t n = upto - b->meta_win;
	int err;

	if (!n)
		return 0;
	err = erofs_output_pwrite(b->out, b->meta, n * b->blksz,
				  b->meta_win * b->blksz);
	if (err)
		return err;
	memmove(b->meta, b->meta + n * b->blksz,
		(b->meta_win_blocks - n) * b->blksz);
	b->meta_win = upto;
	b->meta_win_blocks -= n;
	return 0;
}

/* the window covers blocks up to @end (exclusive), zeroed when new */
static int meta_extend(struct erofs_builder *b, uint64_t end)
{
	uint64_t need = end - b->meta_win;

	if (need <= b->meta_win_blocks)
		return 0;
	if (need > b->meta_win_cap) {
		uint64_t cap = MAX(need, MAX(b->meta_win_cap * 2,
					     (uint64_t)META_FLUSH_BLOCKS * 2));
		uint8_t *p = realloc(b->meta, cap * b->blksz);

		if (!p)
			return -ENOMEM;
		b->meta = p;
		b->meta_win_cap = cap;
	}
	memset(b->meta + b->meta_win_blocks * b->blksz, 0,
	       (need - b->meta_win_blocks) * b->blksz);
	b->meta_win_blocks = need;
	return 0;
}

int erofs_meta_window(struct erofs_builder *b, uint64_t pos, uint64_t len)
{
	uint64_t first = pos / b->blksz;
	uint64_t end = DIV_ROUND_UP(pos + MAX(len, 1ULL), b->blksz);
	int err;

	if (first < b->meta_win)
		return -EINVAL;		/* a block already written out */
	if (first - b->meta_win >= META_FLUSH_BLOCKS ||
	    end - b->meta_win > b->meta_win_cap) {
		/* blocks before @first are finished: out with them */
		err = meta_extend(b, first);
		if (!err)
			err = meta_flush(b, first);
		if (err)
			return err;
	}
	return meta_extend(b, end);
}

int erofs_meta_window_finish(struct erofs_builder *b)
{
	uint64_t end = b->meta_start + b->meta_blocks;
	int err;

	if (!b->meta_blocks)
		return 0;
	err = meta_extend(b, end);
	return err ? err : meta_flush(b, end);
}
