/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory tree mkfs builds from a source directory before anything
 * is written: every size, nid and block address is decided on this tree,
 * so the image is a pure function of the tree and the options.
 */
#ifndef EROFS_TREE_H
#define EROFS_TREE_H

#include <stddef.h>
#include <sys/types.h>
#include "erofs/defs.h"

struct erofs_xattr;
struct erofs_node;
struct z_erofs_file;

/*
 * A name in a directory.  Names hold no NUL, so they are C strings whose
 * lookup order is strcmp()'s; their length is not kept: a directory's
 * entries are many, their lengths wanted twice.
 */
struct erofs_dentry {
	char *name;
	struct erofs_node *node;
};

/*
 * A node of the tree: one per inode.  The fields up to the marker are
 * every node's; the rest belong to other things than directories, and a
 * scanned directory is allocated without them (erofs_node_alloc()), so
 * that a tree of many directories costs less: code reaching past the
 * marker must know that the node is not a directory.  Fields are
 * grouped by size to leave no padding; sizes, addresses and layouts are
 * decided by the layout and data passes.
 */
struct erofs_node {
	struct erofs_node *parent;	/* ".." of a directory */
	/*
	 * Where data is read from: tar entries and layers keep theirs; a
	 * directory scan keeps only the name (in the parent's entry) and
	 * rebuilds the path from the parents when it is needed.
	 */
	char *path;
	const char *name;		/* scanned: NULL for the root */
	/*
	 * directories: sorted, with . and ..; room for the power of two at
	 * or above nr_dents (erofs_array_grow()), or exactly sized once
	 * names_pooled (scanned: complete)
	 */
	struct erofs_dentry *dents;
	struct erofs_xattr **xattrs;	/* sorted by (index, name) */
	struct z_erofs_file *z;		/* compressed: extents and index */

	uint64_t size;
	int64_t mtime;
	uint64_t nid;
	uint64_t blkaddr;		/* first data block */
	uint64_t nblocks;		/* data blocks outside the inode */

	uint32_t mode;
	uint32_t uid, gid;
	uint32_t nlink;			/* references found in the tree */
	uint32_t mtime_nsec;
	uint32_t ino;			/* 1-based, in build order */
	unsigned int nr_dents;
	unsigned int nr_xattrs;
	unsigned int xattr_isize;
	unsigned int inline_size;	/* tail bytes packed after the inode */
	int zspec;			/* -z entry to compress with, or -1 */
	uint8_t datalayout;
	bool extended:1;
	bool data_ready:1;		/* chunks refer to existing data */
	bool names_pooled:1;		/* entries' names are in dents' block */
	bool dents_in_slab:1;		/* that block is in the builder slab */
	bool in_slab:1;			/* so is the node */

	/* ---- not allocated for scanned directories ---- */
	char *symlink;			/* symlinks: target, size bytes */
	uint32_t *chunks;		/* chunk-based: block of each chunk */
	uint64_t nr_chunks;		/* (device-relative, or a hole) */
	uint64_t tail_off;		/* regular files: the inline tail, in
					 * the builder's spilled tails */
	uint64_t data_off;		/* tar_data: where the data starts */
	dev_t src_dev;			/* identity in the source, for */
	ino_t src_ino;			/* hardlinks and change checks */
	int64_t src_mtime;		/* as scanned, to notice a file */
	uint32_t src_mtime_nsec;	/* changing before it is copied */
	uint32_t rdev;			/* encoded as on disk */
	uint32_t zpclusterblks;		/* its pcluster size in blocks */
	uint16_t chunk_device;		/* 0: this image, else its device */
	uint16_t z_device;		/* rebuilt: device of its pclusters */
	uint8_t chunkbits;		/* chunk-based: log2 of chunk bytes */
	bool in_blob;			/* its data lives in the blob */
	uint8_t tar_data;		/* EROFS_TAR_DATA_*: data at data_off */
};

/* a scanned directory's allocation: the fields every node has */
#define EROFS_DIR_NODE_SIZE	offsetof(struct erofs_node, symlink)

/* a node's source path: a buffer for the ones rebuilt from parents */
struct erofs_path_buf {
	char s[4096];
	bool truncated;			/* "..." for the start: not openable */
};

static inline unsigned int erofs_node_isize(const struct erofs_node *n)
{
	return n->extended ? 64 : 32;
}

unsigned int erofs_mode_to_ftype(uint32_t mode);

/* bytewise, shorter first on a common prefix: the kernel's lookup order */
int erofs_name_cmp(const char *a, unsigned int alen,
		   const char *b, unsigned int blen);

#endif
