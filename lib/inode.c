// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The write pass for metadata: inode cores, inline xattrs, directory and
 * symlink contents.  Regular file contents are copied by data.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"

/*
 * With -E 48bit, a compact non-directory of one link says so in i_format
 * and has i_nlink's place for bits 32..47 of its block number.
 */
static bool node_nlink_1(const struct erofs_builder *b,
			 const struct erofs_node *n)
{
	return b->opts->layout_48bit && !n->extended && !S_ISDIR(n->mode) &&
	       n->nlink == 1;
}

static uint16_t node_format(const struct erofs_builder *b,
			    const struct erofs_node *n)
{
	return (n->extended ? EROFS_INODE_LAYOUT_EXTENDED :
			      EROFS_INODE_LAYOUT_COMPACT) |
	       (n->datalayout << EROFS_I_DATALAYOUT_BIT) |
	       (node_nlink_1(b, n) << EROFS_I_NLINK_1_BIT);
}

/* bits 32..47 of what i_u holds bits 0..31 of (48BIT's i_nb) */
static uint16_t node_blk_hi(const struct erofs_node *n)
{
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode) ||
	    n->datalayout == EROFS_INODE_CHUNK_BASED)
		return 0;
	return (n->z ? n->z->blocks : n->blkaddr) >> 32;
}

/* a compact inode's mtime is the epoch plus this offset */
static uint32_t compact_mtime(const struct erofs_builder *b,
			      const struct erofs_node *n)
{
	const struct erofs_build_options *o = b->opts;
	int64_t epoch = erofs_epoch(o);

	if (!o->layout_48bit)
		return 0;
	if (!o->ignore_mtime && n->mtime >= epoch &&
	    n->mtime - epoch <= UINT32_MAX)
		return n->mtime - epoch;
	return o->build_time - epoch;
}

static uint16_t node_xattr_icount(const struct erofs_node *n)
{
	if (!n->xattr_isize)
		return 0;
	return (n->xattr_isize - sizeof(struct erofs_xattr_ibody_header)) /
	       sizeof(uint32_t) + 1;
}

static union erofs_inode_i_u node_i_u(const struct erofs_builder *b,
				      const struct erofs_node *n)
{
	union erofs_inode_i_u u = { 0 };

	if (S_ISCHR(n->mode) || S_ISBLK(n->mode))
		u.rdev = cpu_to_le32(n->rdev);
	else if (n->datalayout == EROFS_INODE_CHUNK_BASED)
		u.c.format = cpu_to_le16(
			(n->chunkbits - b->opts->blkszbits) |
			(b->opts->chunk_indexes ? EROFS_CHUNK_FORMAT_INDEXES : 0) |
			(b->opts->layout_48bit ? EROFS_CHUNK_FORMAT_48BIT : 0));
	else if (n->z)
		u.compressed_blocks = cpu_to_le32(n->z->blocks);
	else
		u.raw_blkaddr = cpu_to_le32(n->blkaddr);
	return u;
}

static void put_compact(const struct erofs_builder *b,
			const struct erofs_node *n, void *p)
{
	struct erofs_inode_compact ic = {
		.i_format = cpu_to_le16(node_format(b, n)),
		.i_xattr_icount = cpu_to_le16(node_xattr_icount(n)),
		.i_mode = cpu_to_le16(n->mode),
		.i_nlink = cpu_to_le16(node_nlink_1(b, n) ? node_blk_hi(n) :
				       n->nlink),
		.i_size = cpu_to_le32(n->size),
		.i_mtime = cpu_to_le32(compact_mtime(b, n)),
		.i_u = node_i_u(b, n),
		.i_ino = cpu_to_le32(n->ino),
		.i_uid = cpu_to_le16(n->uid),
		.i_gid = cpu_to_le16(n->gid),
	};

	memcpy(p, &ic, sizeof(ic));
}

static void put_extended(const struct erofs_builder *b,
			 const struct erofs_node *n, void *p)
{
	struct erofs_inode_extended ie = {
		.i_format = cpu_to_le16(node_format(b, n)),
		.i_xattr_icount = cpu_to_le16(node_xattr_icount(n)),
		.i_mode = cpu_to_le16(n->mode),
		.i_startblk_hi = cpu_to_le16(b->opts->layout_48bit ?
					     node_blk_hi(n) : 0),
		.i_size = cpu_to_le64(n->size),
		.i_u = node_i_u(b, n),
		.i_ino = cpu_to_le32(n->ino),
		.i_uid = cpu_to_le32(n->uid),
		.i_gid = cpu_to_le32(n->gid),
		.i_mtime = cpu_to_le64(n->mtime),
		.i_mtime_nsec = cpu_to_le32(n->mtime_nsec),
		.i_nlink = cpu_to_le32(n->nlink),
	};

	memcpy(p, &ie, sizeof(ie));
}

/* where what follows the inode and its xattrs goes in metadata */
static uint8_t *node_after_xattrs(struct erofs_builder *b,
				  const struct erofs_node *n)
{
	return erofs_meta_ptr(b, n->nid << EROFS_ISLOTBITS) +
	       erofs_node_isize(n) + n->xattr_isize;
}

/* places @size bytes of content: whole blocks in the data area, tail inline */
int erofs_node_put_content(struct erofs_builder *b, const struct erofs_node *n,
			   const uint8_t *buf, uint64_t size)
{
	uint64_t outside = n->nblocks * b->blksz;
	int err = 0;

	if (n->inline_size) {
		outside = size - n->inline_size;
		memcpy(node_after_xattrs(b, n), buf + outside, n->inline_size);
	}
	if (outside)
		err = erofs_output_pwrite_sparse(b->out, buf, outside,
						 n->blkaddr * b->blksz,
						 b->blksz);
	return err;
}

static int write_dir(struct erofs_builder *b, const struct erofs_node *n)
{
	uint8_t *buf = calloc(1, ROUND_UP(n->size, b->blksz));
	int err;

	if (!buf)
		return -ENOMEM;
	erofs_dir_fill(n, b->blksz, buf);
	err = erofs_node_put_content(b, n, buf, n->size);
	free(buf);
	return err;
}

static int write_symlink(struct erofs_builder *b, const struct erofs_node *n)
{
	uint8_t *buf = calloc(1, ROUND_UP(n->size, b->blksz));
	int err;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, n->symlink, n->size);
	err = erofs_node_put_content(b, n, buf, n->size);
	free(buf);
	return err;
}

/* the block map or chunk indexes, at the next 4- or 8-byte boundary */
static void write_chunks(struct erofs_builder *b, const struct erofs_node *n,
			 uint64_t iend)
{
	unsigned int unit = erofs_chunk_unit(b);
	uint8_t *p = erofs_meta_ptr(b, ROUND_UP(iend, unit));
	uint64_t i;

	for (i = 0; i < n->nr_chunks; i++, p += unit) {
		struct erofs_inode_chunk_index ci = {
			.device_id = cpu_to_le16(n->chunks[i] == EROFS_NULL_ADDR ?
						 0 : n->chunk_device),
			.blkaddr = cpu_to_le32(n->chunks[i]),
		};

		if (unit == sizeof(ci))
			memcpy(p, &ci, sizeof(ci));
		else
			memcpy(p, &ci.blkaddr, sizeof(ci.blkaddr));
	}
}

static int write_regular(struct erofs_builder *b, const struct erofs_node *n)
{
	uint64_t iend = (n->nid << EROFS_ISLOTBITS) + erofs_node_isize(n) +
			n->xattr_isize;
	int err;

	if (n->datalayout == EROFS_INODE_CHUNK_BASED) {
		write_chunks(b, n, iend);
		return 0;
	}
	if (n->z) {
		/* pclusters on a device are addressed past the image itself */
		err = z_erofs_write_index(n->z, b->opts->blkszbits, n->size,
					  n->blkaddr +
					  erofs_device_mapped(b, n->z_device),
					  iend, node_after_xattrs(b, n));
		if (err) {
			struct erofs_path_buf pb;

			erofs_err(b->msg, "%s: internal error laying out compressed extents",
				  erofs_node_path(b, n, &pb));
		}
		return err;
	}
	if (n->inline_size)
		return erofs_spill_read(&b->tails, b->msg,
					node_after_xattrs(b, n),
					n->inline_size, n->tail_off);
	return 0;
}

static int write_node(struct erofs_builder *b, struct erofs_node *n)
{
	uint8_t *p = erofs_meta_ptr(b, n->nid << EROFS_ISLOTBITS);

	if (n->extended)
		put_extended(b, n, p);
	else
		put_compact(b, n, p);
	if (n->xattr_isize)
		erofs_xattr_write_ibody(n, p + erofs_node_isize(n));
	if (S_ISDIR(n->mode))
		return write_dir(b, n);
	if (S_ISLNK(n->mode))
		return write_symlink(b, n);
	if (S_ISREG(n->mode))
		return write_regular(b, n);
	return 0;
}

/*
 * The nodes of the metadata area in the order of the blocks they start
 * in (a counting sort: placement filled earlier blocks' free slots, so
 * nid order is not build order); @order gets indexes into b->nodes.
 */
static int nodes_by_block(struct erofs_builder *b, uint32_t **order,
			  size_t *count)
{
	uint64_t base = b->meta_start, blk;
	uint32_t *start, *ord;
	size_t i, n = 0;

	start = calloc(b->meta_blocks + 1, sizeof(*start));
	ord = malloc(MAX(b->nr_nodes, (size_t)1) * sizeof(*ord));
	if (!start || !ord) {
		free(start);
		free(ord);
		return -ENOMEM;
	}
	for (i = 0; i < b->nr_nodes; i++) {
		blk = (b->nodes[i]->nid << EROFS_ISLOTBITS) / b->blksz;
		if (blk >= b->head_blocks)
			start[blk - base + 1]++;
	}
	for (blk = 0; blk < b->meta_blocks; blk++)
		start[blk + 1] += start[blk];
	for (i = 0; i < b->nr_nodes; i++) {
		blk = (b->nodes[i]->nid << EROFS_ISLOTBITS) / b->blksz;
		if (blk < b->head_blocks)
			continue;
		ord[start[blk - base]++] = i;
		n++;
	}
	free(start);
	*order = ord;
	*count = n;
	return 0;
}

int erofs_write_metadata(struct erofs_builder *b)
{
	uint32_t *order = NULL;
	size_t i, n = 0;
	int err;

	b->head = calloc(b->head_blocks, b->blksz);
	if (!b->head)
		return -ENOMEM;
	b->meta_win = b->meta_start;
	if (b->xattrs.nr_shared) {
		err = erofs_meta_window(b, b->xattr_blkaddr * b->blksz,
					b->xattrs.shared_size);
		if (err)
			return err;
		erofs_xattr_write_shared(&b->xattrs, erofs_meta_ptr(b,
					 b->xattr_blkaddr * b->blksz));
	}
	/* the root, and anything else in the head */
	for (i = 0; i < b->nr_nodes; i++) {
		struct erofs_node *nd = b->nodes[i];

		if ((nd->nid << EROFS_ISLOTBITS) / b->blksz >= b->head_blocks)
			continue;
		err = write_node(b, nd);
		if (err)
			return err;
	}
	err = nodes_by_block(b, &order, &n);
	for (i = 0; i < n && !err; i++) {
		struct erofs_node *nd = b->nodes[order[i]];

		err = erofs_meta_window(b, nd->nid << EROFS_ISLOTBITS,
					erofs_node_meta_size(b, nd));
		if (!err)
			err = write_node(b, nd);
	}
	free(order);
	return err ? err : erofs_meta_window_finish(b);
}
