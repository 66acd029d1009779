// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The layout passes: inode formats, data layouts, nids and addresses.
 *
 * The image is: the superblock with its compression configs and the root
 * inode; every file's data in inode order; then the metadata area with
 * the shared xattrs and the other inodes.  Data comes before most
 * metadata because a compressed file's size on disk, and so whether it
 * stays compressed at all, is known only once it has been compressed.
 * Inodes are packed best-fit into partly used metadata blocks; an inode
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

struct block_list {
	uint64_t *blk;
	size_t n, cap;
};

struct erofs_meta_alloc {
	unsigned int blksz, slots_per_blk;
	uint64_t next_fresh;		/* first block never handed out */
	struct block_list *free_by_slots;	/* [k]: k free slots at end */
};

static int meta_put_free(struct erofs_meta_alloc *a, uint64_t blk,
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

void erofs_meta_alloc_free(struct erofs_meta_alloc *a)
{
	unsigned int k;

	if (!a)
		return;
	for (k = 0; a->free_by_slots && k <= a->slots_per_blk; k++)
		free(a->free_by_slots[k].blk);
	free(a->free_by_slots);
	free(a);
}

/* everything below @reserved bytes (superblock and configs) is taken */
static struct erofs_meta_alloc *meta_alloc_create(unsigned int blksz,
						  unsigned int reserved)
{
	struct erofs_meta_alloc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	reserved = ROUND_UP(reserved, SLOT_SIZE);
	a->blksz = blksz;
	a->slots_per_blk = blksz / SLOT_SIZE;
	a->free_by_slots = calloc(a->slots_per_blk + 1,
				  sizeof(*a->free_by_slots));
	a->next_fresh = DIV_ROUND_UP(reserved, blksz);
	if (!a->free_by_slots ||
	    meta_put_free(a, a->next_fresh - 1,
			  (a->next_fresh * blksz - reserved) / SLOT_SIZE)) {
		erofs_meta_alloc_free(a);
		return NULL;
	}
	return a;
}

/* byte position of @bytes within one block, or of whole blocks if larger */
static int meta_alloc(struct erofs_meta_alloc *a, unsigned int bytes, uint64_t *pos)
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


int64_t erofs_epoch(const struct erofs_build_options *o)
{
	if (!o->layout_48bit)
		return o->build_time;
	return MAX(0, o->build_time - (int64_t)UINT32_MAX);
}

bool erofs_node_needs_extended(const struct erofs_builder *b,
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
	/* compact: epoch + a 32-bit offset (zero before 48BIT), fixed nsec */
	if (o->layout_48bit)
		return n->mtime < erofs_epoch(o) ||
		       n->mtime - erofs_epoch(o) > UINT32_MAX ||
		       n->mtime_nsec != o->build_time_nsec;
	return n->mtime != o->build_time || n->mtime_nsec != o->build_time_nsec;
}

static bool has_data(const struct erofs_node *n)
{
	return S_ISREG(n->mode) || S_ISDIR(n->mode) || S_ISLNK(n->mode);
}

void erofs_choose_flat_layout(struct erofs_builder *b, struct erofs_node *n)
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

unsigned int erofs_node_meta_size(const struct erofs_builder *b,
				  const struct erofs_node *n)
{
	unsigned int iend = erofs_node_isize(n) + n->xattr_isize;

	if (n->z)
		return iend + z_erofs_index_size(n->z, b->opts->blkszbits,
						 n->size, iend) +
		       n->z->idata_size;
	if (n->datalayout == EROFS_INODE_CHUNK_BASED)
		return ROUND_UP(iend, erofs_chunk_unit(b)) +
		       n->nr_chunks * erofs_chunk_unit(b);
	return iend + n->inline_size;
}

/* the first --compress-hints rule matching @n, else the defaults */
static void choose_compression(struct erofs_builder *b, struct erofs_node *n)
{
	const struct erofs_compress_opts *co = &b->opts->compress;
	struct erofs_path_buf pb;
	const char *rel;
	unsigned int i;

	n->zspec = -1;
	if (!co->nr_specs || !S_ISREG(n->mode) || !n->size)
		return;
	n->zspec = 0;
	n->zpclusterblks = co->pclusterblks;
	if (!co->nr_hints)
		return;
	rel = erofs_node_path(b, n, &pb);
	if (!pb.truncated)
		rel += strlen(b->src_root);
	while (*rel == '/')
		rel++;
	for (i = 0; i < co->nr_hints; i++) {
		if (regexec(co->hints[i].regex, rel, 0, NULL, 0))
			continue;
		n->zspec = co->hints[i].spec;
		n->zpclusterblks = co->hints[i].pclusterblks;
		if (!n->zpclusterblks)	/* a size of 0: stored as it is */
			n->zspec = -1;
		break;
	}
}

/*
 * A file of one block or less compressed is a stored block at best, and
 * an index besides: never smaller than flat, so not worth compressing --
 * unless it may go to the packed inode or refer to a pcluster stored
 * before.
 */
static bool compression_may_pay(const struct erofs_builder *b,
				const struct erofs_node *n)
{
	const struct erofs_compress_opts *co = &b->opts->compress;

	return n->size > b->blksz || co->fragments || co->pcluster_dedupe;
}

static int shape_node(struct erofs_builder *b, struct erofs_node *n)
{
	n->xattr_isize = erofs_xattr_ibody_bytes(n);
	if (n->xattr_isize > erofs_xattr_ibody_size(UINT16_MAX)) {
		struct erofs_path_buf pb;

		erofs_err(b->msg, "%s: %u bytes of xattrs do not fit in one inode",
			  erofs_node_path(b, n, &pb), n->xattr_isize);
		return -E2BIG;
	}
	if (S_ISDIR(n->mode))
		n->size = erofs_dir_size(n, b->blksz);
	n->extended = erofs_node_needs_extended(b, n);
	choose_compression(b, n);
	if (n->zspec >= 0 && !compression_may_pay(b, n))
		n->zspec = -1;
	/* a regular file's layout waits until its data has been written */
	if (!S_ISREG(n->mode))
		erofs_choose_flat_layout(b, n);
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

static int place_node(struct erofs_builder *b, struct erofs_node *n)
{
	uint64_t pos;
	int err = meta_alloc(b->alloc, erofs_node_meta_size(b, n), &pos);

	n->nid = pos >> EROFS_ISLOTBITS;
	return err;
}

int erofs_layout_prepare(struct erofs_builder *b)
{
	size_t i;
	int err;

	err = erofs_xattr_plan_shared(&b->xattrs, b->opts->xattr_tolerance);
	if (err)
		return err;
	for (i = 0; i < b->nr_nodes; i++) {
		err = shape_node(b, b->nodes[i]);
		if (err)
			return err;
	}
	b->alloc = meta_alloc_create(b->blksz, erofs_sb_head_size(b));
	if (!b->alloc)
		return -ENOMEM;
	/* the root goes first, next to the superblock: its nid is 16 bits */
	err = place_node(b, b->root);
	if (err)
		return err;
	b->head_blocks = b->alloc->next_fresh;
	b->data_start = b->head_blocks;
	return 0;
}

int erofs_layout_metadata(struct erofs_builder *b)
{
	struct erofs_meta_alloc *a = b->alloc;
	size_t i;
	int err;

	a->next_fresh = b->meta_start = b->data_end;
	if (b->xattrs.shared_size) {
		b->xattr_blkaddr = a->next_fresh;
		a->next_fresh += DIV_ROUND_UP(b->xattrs.shared_size, b->blksz);
	}
	for (i = 0; i < b->nr_nodes; i++) {
		struct erofs_node *n = b->nodes[i];

		/* the packed inode is an inode, but not a file of the tree */
		if (n == b->packed)
			b->stats.inodes++;
		else
			count_node(&b->stats, n);
		if (n == b->root)
			continue;
		err = place_node(b, n);
		if (err)
			return err;
	}
	b->meta_blocks = a->next_fresh - b->meta_start;
	b->total_blocks = a->next_fresh;
	if (b->total_blocks > UINT32_MAX) {
		erofs_err(b->msg, "image needs %llu blocks, more than 32-bit block addresses reach",
			  (unsigned long long)b->total_blocks);
		return -EFBIG;
	}
	b->stats.shared_xattrs = b->xattrs.nr_shared;
	b->stats.meta_blocks = b->head_blocks + b->meta_blocks;
	b->stats.data_blocks = b->data_end - b->data_start;
	b->stats.total_blocks = b->total_blocks;
	b->stats.root_nid = b->root->nid;
	return 0;
}

uint8_t *erofs_meta_ptr(struct erofs_builder *b, uint64_t pos)
{
	uint64_t blk = pos / b->blksz;

	if (blk < b->head_blocks)
		return b->head + pos;
	return b->meta + (pos - b->meta_win * b->blksz);
}
