/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Whole-file deduplication while writing data (lib/filededup.c). */
#ifndef EROFS_FILEDEDUP_H
#define EROFS_FILEDEDUP_H

#include "erofs/build.h"

/*
 * What must be equal for two files to share their data.  The hash only
 * finds candidates (erofs_hash_data()): their bytes are compared before
 * anything is shared.
 */
struct erofs_file_key {
	uint64_t size;
	uint64_t hash;
	int32_t zspec;			/* -1: stored plain */
	uint32_t pclusterblks;
};

/*
 * Notes the file sizes that occur more than once: only files of such a
 * size can equal another, and only they are hashed.
 */
int erofs_file_dedup_prepare(struct erofs_builder *b);
bool erofs_file_dedup_candidate(const struct erofs_builder *b, uint64_t size);

/* the key without its hash, which the caller fills in */
void erofs_file_key_init(struct erofs_file_key *k,
			 const struct erofs_node *n, bool compressed);
/* the first file stored with this key, if dedup is on and there is one */
struct erofs_node *erofs_file_dedup_find(struct erofs_builder *b,
					 const struct erofs_file_key *k);
int erofs_file_dedup_add(struct erofs_builder *b,
			 const struct erofs_file_key *k, struct erofs_node *n);
void erofs_file_dedup_exit(struct erofs_builder *b);

#endif
