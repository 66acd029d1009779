/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An open-addressing hash map from a 64-bit hash to caller-owned items;
 * the caller's equality callback resolves collisions.
 */
#ifndef EROFS_HASHMAP_H
#define EROFS_HASHMAP_H

#include "erofs/defs.h"

struct erofs_hashmap_slot {
	uint64_t hash;
	void *item;
};

struct erofs_hashmap {
	struct erofs_hashmap_slot *slots;
	size_t mask;		/* capacity - 1, capacity a power of two */
	size_t count;
};

typedef bool (*erofs_hashmap_eq_t)(const void *item, const void *key);

int erofs_hashmap_init(struct erofs_hashmap *map);
void erofs_hashmap_exit(struct erofs_hashmap *map);
void *erofs_hashmap_find(const struct erofs_hashmap *map, uint64_t hash,
			 erofs_hashmap_eq_t eq, const void *key);
int erofs_hashmap_insert(struct erofs_hashmap *map, uint64_t hash,
			 void *item);

uint64_t erofs_hash_bytes(uint64_t seed, const void *buf, size_t len);
/* the same job for bulk data, much faster; compare on a match */
uint64_t erofs_hash_data(uint64_t seed, const void *buf, size_t len);

#endif
