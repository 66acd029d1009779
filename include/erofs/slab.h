/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Many small objects that live as long as their owner: carved from large
 * blocks with no per-object header or rounding, freed all at once.
 */
#ifndef EROFS_SLAB_H
#define EROFS_SLAB_H

#include <stddef.h>

struct erofs_slab_block;

struct erofs_slab {
	struct erofs_slab_block *blocks;	/* newest first */
	size_t used;				/* bytes of the newest */
};

/* zeroed, 8-byte aligned; NULL when out of memory or too large */
void *erofs_slab_zalloc(struct erofs_slab *s, size_t size);
void erofs_slab_free(struct erofs_slab *s);

#endif
