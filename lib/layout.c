// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The layout pass: inode formats, data layouts, nids and block addresses.
 *
 * Metadata (superblock, shared xattrs, inodes with their inline xattrs
 * and tails) comes first, then every data block in inode order.  Inodes
 * are packed best-fit into partly used metadata blocks; an inode together
 * with its xattrs and tail never straddles a block when it fits in one,
 * which is what inline tails require.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"

#define SLOT_SIZE	(1U << EROFS_ISLOTBITS)
#define SB_END		(EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block))

struct block_list {
	uint64_t *blk;
	size_t n, cap;
};

struct meta_alloc {
	unsigned int blksz, slots_per_blk;
	uint64_t next_fresh;		/* first block never handed out */
	struct block_list *free_by_slots;	/* [k]: k free slots at end */
};

static int meta_put_free(struct meta_alloc *a, uint64_t blk,
			 unsigned int slots)
{
	struct block_list *l = &a->free_by_slots[slots];

	if (!slots)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		uint64_t *p = realloc(l->blk, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->blk = p;
		l->cap = cap;
	}
	l->blk[l->n++] = blk;
	return 0;
}

static int meta_alloc_init(struct meta_alloc *a, unsigned int blksz)
{
	a->blksz = blksz;
	a->slots_per_blk = blksz / SLOT_SIZE;
	a->free_by_slots = calloc(a->slots_per_blk + 1,
				  sizeof(*a->free_by_slots));
	if (!a->free_by_slots)
		return -ENOMEM;
	/* everything up to the end of the superblock is taken */
	a->next_fresh = DIV_ROUND_UP(SB_END, blksz);
	return meta_put_free(a, a->next_fresh - 1,
			     (a->next_fresh * blksz - SB_END) / SLOT_SIZE);
}

static void meta_alloc_exit(struct meta_alloc *a)
{
	unsigned int k;

	for (k = 0; k <= a->slots_per_blk; k++)
		free(a->free_by_slots[k].blk);
	free(a->free_by_slots);
}

/* byte position of @bytes within one block, or of whole blocks if larger */
static int meta_alloc(struct meta_alloc *a, unsigned int bytes, uint64_t *pos)
{
	unsigned int slots = DIV_ROUND_UP(bytes, SLOT_SIZE), k, used;
	uint64_t blk, nblks;

	if (slots <= a->slots_per_blk) {
		for (k = slots; k <= a->slots_per_blk; k++) {
			struct block_list *l = &a->free_by_slots[k];

			if (!l->n)
				continue;
			blk = l->blk[--l->n];
			*pos = blk * a->blksz +
			       (a->slots_per_blk - k) * SLOT_SIZE;
			return meta_put_free(a, blk, k - slots);
		}
	}
	nblks = DIV_ROUND_UP(slots, a->slots_per_blk);
	blk = a->next_fresh;
	a->next_fresh += nblks;
	*pos = blk * a->blksz;
	used = slots - (nblks - 1) * a->slots_per_blk;
	return meta_put_free(a, blk + nblks - 1, a->slots_per_blk - used);
}

static bool needs_extended(const struct erofs_builder *b,
			   const struct erofs_node *n)
{
	const struct erofs_build_options *o = b->opts;

	if (o->inode_policy == EROFS_INODE_FORCE_EXTENDED)
		return true;
	if (n->size > UINT32_MAX || n->uid > UINT16_MAX ||
	    n->gid > UINT16_MAX || n->nlink > UINT16_MAX)
		return true;
	if (o->inode_policy == EROFS_INODE_FORCE_COMPACT || o->ignore_mtime)
		return false;
	return n->mtime != o->build_time || n->mtime_nsec != o->build_time_nsec;
}

static bool has_data(const struct erofs_node *n)
{
	return S_ISREG(n->mode) || S_ISDIR(n->mode) || S_ISLNK(n->mode);
}

static void choose_data_layout(struct erofs_builder *b, struct erofs_node *n)
{
	unsigned int blksz = b->blksz, tail = n->size % blksz;
	unsigned int meta = erofs_node_isize(n) + n->xattr_isize;

	n->datalayout = EROFS_INODE_FLAT_PLAIN;
	n->inline_size = 0;
	n->nblocks = has_data(n) ? DIV_ROUND_UP(n->size, blksz) : 0;
	if (has_data(n) && tail && b->opts->inline_data &&
	    meta + tail <= blksz) {
		n->datalayout = EROFS_INODE_FLAT_INLINE;
		n->inline_size = tail;
		n->nblocks = n->size / blksz;
	}
}

static int shape_node(struct erofs_builder *b, struct erofs_node *n)
{
	n->xattr_isize = erofs_xattr_ibody_bytes(n);
	if (n->xattr_isize > erofs_xattr_ibody_size(UINT16_MAX)) {
		erofs_err(b->msg, "%s: %u bytes of xattrs do not fit in one inode",
			  n->path, n->xattr_isize);
		return -E2BIG;
	}
	if (S_ISDIR(n->mode))
		n->size = erofs_dir_size(n, b->blksz);
	n->extended = needs_extended(b, n);
	choose_data_layout(b, n);
	return 0;
}

static void count_node(struct erofs_build_stats *s, const struct erofs_node *n)
{
	s->inodes++;
	s->extended_inodes += n->extended;
	s->inline_data_bytes += n->inline_size;
	s->inline_xattr_bytes += n->xattr_isize;
	switch (n->mode & S_IFMT) {
	case S_IFDIR:
		s->dirs++;
		break;
	case S_IFREG:
		s->regular++;
		break;
	case S_IFLNK:
		s->symlinks++;
		break;
	case S_IFCHR:
	case S_IFBLK:
		s->devices++;
		break;
	default:
		s->special++;
	}
}

static int place_metadata(struct erofs_builder *b, struct meta_alloc *a)
{
	uint64_t pos;
	size_t i;
	int err;

	if (b->xattrs.shared_size) {
		b->xattr_blkaddr = a->next_fresh;
		a->next_fresh += DIV_ROUND_UP(b->xattrs.shared_size, b->blksz);
	}
	for (i = 0; i < b->nr_nodes; i++) {
		struct erofs_node *n = b->nodes[i];

		err = meta_alloc(a, erofs_node_isize(n) + n->xattr_isize +
				 n->inline_size, &pos);
		if (err)
			return err;
		n->nid = pos >> EROFS_ISLOTBITS;
	}
	if (b->root->nid > UINT16_MAX) {
		erofs_err(b->msg, "root inode nid %llu does not fit the superblock",
			  (unsigned long long)b->root->nid);
		return -EFBIG;
	}
	b->meta_blocks = a->next_fresh;
	return 0;
}

static int place_data(struct erofs_builder *b)
{
	uint64_t next = b->meta_blocks;
	size_t i;

	for (i = 0; i < b->nr_nodes; i++) {
		struct erofs_node *n = b->nodes[i];

		n->blkaddr = n->nblocks ? next : 0;
		next += n->nblocks;
	}
	if (next > UINT32_MAX) {
		erofs_err(b->msg, "image needs %llu blocks, more than 32-bit block addresses reach",
			  (unsigned long long)next);
		return -EFBIG;
	}
	b->total_blocks = next;
	return 0;
}

int erofs_layout_tree(struct erofs_builder *b)
{
	struct meta_alloc a;
	size_t i;
	int err;

	err = erofs_xattr_plan_shared(&b->xattrs, b->opts->xattr_tolerance);
	if (err)
		return err;
	for (i = 0; i < b->nr_nodes; i++) {
		err = shape_node(b, b->nodes[i]);
		if (err)
			return err;
		count_node(&b->stats, b->nodes[i]);
	}
	err = meta_alloc_init(&a, b->blksz);
	if (err)
		return err;
	err = place_metadata(b, &a);
	meta_alloc_exit(&a);
	if (err)
		return err;
	err = place_data(b);
	if (err)
		return err;
	b->stats.shared_xattrs = b->xattrs.nr_shared;
	b->stats.meta_blocks = b->meta_blocks;
	b->stats.data_blocks = b->total_blocks - b->meta_blocks;
	b->stats.total_blocks = b->total_blocks;
	b->stats.root_nid = b->root->nid;
	return 0;
}
