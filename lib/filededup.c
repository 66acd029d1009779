// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole-file deduplication: a regular file whose content equals one
 * stored before refers to the same blocks or pclusters instead of
 * storing them again.  Container trees repeat files a lot (licences,
 * locales, vendored libraries), and EROFS lets any number of inodes
 * point at the same data: nothing is referenced partially, so no
 * feature bit is needed and every reader copes.
 *
 * Files are keyed by size, sha256 and how they are stored (plain, or the
 * compression entry and pcluster size), so that only data laid out
 * exactly alike is shared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/build.h"
#include "erofs/filededup.h"

struct file_rec {
	struct erofs_file_key key;
	struct erofs_node *node;
};

static uint64_t key_hash(const struct erofs_file_key *k)
{
	return erofs_hash_bytes(0, k, sizeof(*k));
}

static bool rec_eq(const void *item, const void *key)
{
	const struct file_rec *r = item;

	return !memcmp(&r->key, key, sizeof(r->key));
}

void erofs_file_key_init(struct erofs_file_key *k,
			 const struct erofs_node *n, bool compressed)
{
	memset(k, 0, sizeof(*k));
	k->size = n->size;
	k->zspec = compressed ? n->zspec : -1;
	k->pclusterblks = compressed ? n->zpclusterblks : 0;
}

struct erofs_node *erofs_file_dedup_find(struct erofs_builder *b,
					 const struct erofs_file_key *k)
{
	struct file_rec *r;

	if (!b->opts->file_dedup)
		return NULL;
	r = erofs_hashmap_find(&b->file_digests, key_hash(k), rec_eq, k);
	return r ? r->node : NULL;
}

int erofs_file_dedup_add(struct erofs_builder *b,
			 const struct erofs_file_key *k, struct erofs_node *n)
{
	struct file_rec *r;
	int err;

	if (!b->opts->file_dedup)
		return 0;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->key = *k;
	r->node = n;
	err = erofs_hashmap_insert(&b->file_digests, key_hash(k), r);
	if (err)
		free(r);
	return err;
}

void erofs_file_dedup_exit(struct erofs_builder *b)
{
	size_t i;

	if (!b->file_digests.slots)
		return;
	for (i = 0; i <= b->file_digests.mask; i++)
		free(b->file_digests.slots[i].item);
	erofs_hashmap_exit(&b->file_digests);
}
