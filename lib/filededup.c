// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole-file deduplication: a regular file whose content equals one
 * stored before refers to the same blocks or pclusters instead of
 * storing them again.  Container trees repeat files a lot (licences,
 * locales, vendored libraries), and EROFS lets any number of inodes
 * point at the same data: nothing is referenced partially, so no
 * feature bit is needed and every reader copes.
 *
 * Files are keyed by size, a fast hash of their bytes and how they are
 * stored (plain, or the compression entry and pcluster size), so that
 * only data laid out exactly alike is shared; the bytes of two files
 * with equal keys are compared before the second shares the first's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int erofs_file_dedup_prepare(struct erofs_builder *b)
{
	uint64_t *sizes;
	size_t i, n = 0, out = 0;

	if (!b->opts->file_dedup)
		return 0;
	sizes = malloc((b->nr_nodes + 1) * sizeof(*sizes));
	if (!sizes)
		return -ENOMEM;
	for (i = 0; i < b->nr_nodes; i++)
		if (S_ISREG(b->nodes[i]->mode) && b->nodes[i]->size)
			sizes[n++] = b->nodes[i]->size;
	if (n > 1)
		qsort(sizes, n, sizeof(*sizes), u64_cmp);
	for (i = 1; i < n; i++)
		if (sizes[i] == sizes[i - 1] && (!out || sizes[out - 1] != sizes[i]))
			sizes[out++] = sizes[i];
	/* kept through the data pass: only the repeated sizes */
	b->dup_sizes = realloc(sizes, (out + 1) * sizeof(*sizes)) ?: sizes;
	b->nr_dup_sizes = out;
	return 0;
}

bool erofs_file_dedup_candidate(const struct erofs_builder *b, uint64_t size)
{
	return b->opts->file_dedup && b->nr_dup_sizes &&
	       bsearch(&size, b->dup_sizes, b->nr_dup_sizes,
		       sizeof(*b->dup_sizes), u64_cmp);
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

	free(b->dup_sizes);
	b->dup_sizes = NULL;
	b->nr_dup_sizes = 0;
	if (!b->file_digests.slots)
		return;
	for (i = 0; i <= b->file_digests.mask; i++)
		free(b->file_digests.slots[i].item);
	erofs_hashmap_exit(&b->file_digests);
}
