// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * Bulk data, 32 bytes a round in four lanes (the XXH64 construction):
 * several GB/s where the bytewise hash above does one.  Not for keys an
 * attacker picks: callers compare the data itself on a match.
 */
#define P1	0x9E3779B185EBCA87ULL
#define P2	0xC2B2AE3D27D4EB4FULL
#define P3	0x165667B19E3779F9ULL
#define P4	0x85EBCA77C2B2AE63ULL
#define P5	0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, unsigned int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64_to_cpu(v);
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32_to_cpu(v);
}

static inline uint64_t round64(uint64_t acc, uint64_t in)
{
	return rotl64(acc + in * P2, 31) * P1;
}

static inline uint64_t merge64(uint64_t h, uint64_t v)
{
	return (h ^ round64(0, v)) * P1 + P4;
}

uint64_t erofs_hash_data(uint64_t seed, const void *buf, size_t len)
{
	const uint8_t *p = buf, *end = p + len;
	uint64_t h;

	if (len >= 32) {
		uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed;
		uint64_t v4 = seed - P1;

		for (; end - p >= 32; p += 32) {
			v1 = round64(v1, get64(p));
			v2 = round64(v2, get64(p + 8));
			v3 = round64(v3, get64(p + 16));
			v4 = round64(v4, get64(p + 24));
		}
		h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) +
		    rotl64(v4, 18);
		h = merge64(merge64(merge64(merge64(h, v1), v2), v3), v4);
	} else {
		h = seed + P5;
	}
	h += len;
	for (; end - p >= 8; p += 8)
		h = rotl64(h ^ round64(0, get64(p)), 27) * P1 + P4;
	if (end - p >= 4) {
		h = rotl64(h ^ (get32(p) * P1), 23) * P2 + P3;
		p += 4;
	}
	for (; p < end; p++)
		h = rotl64(h ^ (*p * P5), 11) * P1;
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	return h ^ (h >> 32);
}
