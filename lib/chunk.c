// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Chunk-based files: each chunk of a file is an independent run of blocks
 * (or a hole), so identical chunks anywhere in the image can be stored
 * once.  Chunks are identified by their length and SHA-256 digest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"
#include "erofs/sha256.h"

struct chunk_rec {
	uint8_t digest[EROFS_SHA256_SIZE];
	uint32_t len;
	uint32_t blkaddr;
};

int erofs_chunks_init(struct erofs_builder *b)
{
	return erofs_hashmap_init(&b->chunk_digests);
}

void erofs_chunks_exit(struct erofs_builder *b)
{
	size_t i;

	if (!b->chunk_digests.slots)
		return;
	for (i = 0; i <= b->chunk_digests.mask; i++)
		free(b->chunk_digests.slots[i].item);
	erofs_hashmap_exit(&b->chunk_digests);
}

unsigned int erofs_chunk_unit(const struct erofs_builder *b)
{
	return b->opts->chunk_indexes ? sizeof(struct erofs_inode_chunk_index) :
					sizeof(__le32);
}

static bool chunk_eq(const void *item, const void *key)
{
	const struct chunk_rec *a = item, *k = key;

	return a->len == k->len && !memcmp(a->digest, k->digest,
					   sizeof(a->digest));
}

static uint64_t chunk_hash(const struct chunk_rec *r)
{
	uint64_t h;

	memcpy(&h, r->digest, sizeof(h));
	return h ^ r->len;
}

/*
 * Either finds a stored chunk equal to @data (returns 1, *blkaddr set) or
 * records @data as stored at @new_blkaddr (returns 0).
 */
int erofs_chunk_dedup(struct erofs_builder *b, const void *data, uint32_t len,
		      uint32_t new_blkaddr, uint32_t *blkaddr)
{
	struct chunk_rec key = { .len = len }, *r;
	uint64_t h;
	int err;

	erofs_sha256(data, len, key.digest);
	h = chunk_hash(&key);
	r = erofs_hashmap_find(&b->chunk_digests, h, chunk_eq, &key);
	if (r) {
		*blkaddr = r->blkaddr;
		return 1;
	}
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	*r = key;
	r->blkaddr = new_blkaddr;
	err = erofs_hashmap_insert(&b->chunk_digests, h, r);
	if (err) {
		free(r);
		return err;
	}
	*blkaddr = new_blkaddr;
	return 0;
}
