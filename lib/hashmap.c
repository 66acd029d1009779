// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include "erofs/hashmap.h"

#define HASHMAP_MIN_SLOTS	64

int erofs_hashmap_init(struct erofs_hashmap *map)
{
	map->slots = calloc(HASHMAP_MIN_SLOTS, sizeof(*map->slots));
	if (!map->slots)
		return -ENOMEM;
	map->mask = HASHMAP_MIN_SLOTS - 1;
	map->count = 0;
	return 0;
}

void erofs_hashmap_exit(struct erofs_hashmap *map)
{
	free(map->slots);
	map->slots = NULL;
}

void *erofs_hashmap_find(const struct erofs_hashmap *map, uint64_t hash,
			 erofs_hashmap_eq_t eq, const void *key)
{
	size_t i = hash & map->mask;

	for (; map->slots[i].item; i = (i + 1) & map->mask)
		if (map->slots[i].hash == hash && eq(map->slots[i].item, key))
			return map->slots[i].item;
	return NULL;
}

static void hashmap_place(struct erofs_hashmap_slot *slots, size_t mask,
			  uint64_t hash, void *item)
{
	size_t i = hash & mask;

	while (slots[i].item)
		i = (i + 1) & mask;
	slots[i].hash = hash;
	slots[i].item = item;
}

static int hashmap_grow(struct erofs_hashmap *map)
{
	size_t newmask = map->mask * 2 + 1, i;
	struct erofs_hashmap_slot *slots = calloc(newmask + 1, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= map->mask; i++)
		if (map->slots[i].item)
			hashmap_place(slots, newmask, map->slots[i].hash,
				      map->slots[i].item);
	free(map->slots);
	map->slots = slots;
	map->mask = newmask;
	return 0;
}

int erofs_hashmap_insert(struct erofs_hashmap *map, uint64_t hash, void *item)
{
	int err;

	/* keep the load under 1/2 so that probe chains stay short */
	if ((map->count + 1) * 2 > map->mask + 1) {
		err = hashmap_grow(map);
		if (err)
			return err;
	}
	hashmap_place(map->slots, map->mask, hash, item);
	map->count++;
	return 0;
}

/* FNV-1a, 64-bit: good enough spreading for names and xattr values */
uint64_t erofs_hash_bytes(uint64_t seed, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
