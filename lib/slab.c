// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A bump allocator for the builder's nodes: a tree of millions of
 * entries is mostly small allocations of a few sizes, on which malloc
 * would spend 8 to 24 bytes each.
 */
#include <stdlib.h>
#include <string.h>
#include "erofs/defs.h"
#include "erofs/slab.h"

/* 64 pages with malloc's header, when it maps them */
#define SLAB_BLOCK_BYTES	(256 * 1024 - 64)

struct erofs_slab_block {
	struct erofs_slab_block *next;
	/* 8-byte aligned after the link */
	uint64_t data[(SLAB_BLOCK_BYTES - sizeof(void *)) / sizeof(uint64_t)];
};

void *erofs_slab_zalloc(struct erofs_slab *s, size_t size)
{
	struct erofs_slab_block *blk = s->blocks;
	void *p;

	size = ROUND_UP(size, sizeof(uint64_t));
	/* larger objects would waste much of a block: not for a slab */
	if (size > sizeof(blk->data) / 16)
		return NULL;
	if (!blk || s->used + size > sizeof(blk->data)) {
		blk = malloc(sizeof(*blk));
		if (!blk)
			return NULL;
		blk->next = s->blocks;
		s->blocks = blk;
		s->used = 0;
	}
	p = (char *)blk->data + s->used;
	s->used += size;
	return memset(p, 0, size);
}

void erofs_slab_free(struct erofs_slab *s)
{
	struct erofs_slab_block *blk, *next;

	for (blk = s->blocks; blk; blk = next) {
		next = blk->next;
		free(blk);
	}
	s->blocks = NULL;
	s->used = 0;
}
