/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory tree mkfs builds from a source directory before anything
 * is written: every size, nid and block address is decided on this tree,
 * so the image is a pure function of the tree and the options.
 */
#ifndef EROFS_TREE_H
#define EROFS_TREE_H

#include <sys/types.h>
#include "erofs/defs.h"

struct erofs_xattr;
struct erofs_node;
struct z_erofs_file;

struct erofs_dentry {
	char *name;
	unsigned int len;
	struct erofs_node *node;
};

struct erofs_node {
	struct erofs_node *parent;	/* ".." of a directory */
	/*
	 * Where data is read from: tar entries and layers keep theirs; a
	 * directory scan keeps only the name (in the parent's entry) and
	 * rebuilds the path from the parents when it is needed.
	 */
	char *path;
	const char *name;		/* scanned: NULL for the root */

	uint32_t mode;
	uint32_t uid, gid;
	uint32_t nlink;			/* references found in the tree */
	uint64_t size;
	int64_t mtime;
	uint32_t mtime_nsec;
	uint32_t rdev;			/* encoded as on disk */
	uint32_t ino;			/* 1-based, in build order */
	uint64_t nid;

	dev_t src_dev;			/* identity in the source, for */
	ino_t src_ino;			/* hardlinks and change checks */
	int64_t src_mtime;		/* as scanned, to notice a file */
	uint32_t src_mtime_nsec;	/* changing before it is copied */

	struct erofs_dentry *dents;	/* directories: sorted, with . and .. */
	unsigned int nr_dents;

	char *symlink;			/* symlinks: target, size bytes */

	struct erofs_xattr **xattrs;	/* sorted by (index, name) */
	unsigned int nr_xattrs;

	/* decided by the layout and data passes */
	bool extended;
	uint8_t datalayout;
	unsigned int xattr_isize;
	unsigned int inline_size;	/* tail bytes packed after the inode */
	uint64_t tail_off;		/* regular files: those bytes, in the
					 * builder's spilled tails */
	uint64_t blkaddr;		/* first data block */
	uint64_t nblocks;		/* data blocks outside the inode */

	uint32_t *chunks;		/* chunk-based: block of each chunk */
	uint64_t nr_chunks;		/* (device-relative, or a hole) */
	uint16_t chunk_device;		/* 0: this image, else its device */
	uint8_t chunkbits;		/* chunk-based: log2 of chunk bytes */
	bool in_blob;			/* its data lives in the blob */
	uint16_t z_device;		/* rebuilt: device of its pclusters */
	bool data_ready;		/* chunks refer to existing data */
	bool names_pooled;		/* entries' names are in dents' block */
	uint8_t tar_data;		/* EROFS_TAR_DATA_*: data at data_off */
	uint64_t data_off;

	int zspec;			/* -z entry to compress with, or -1 */
	uint32_t zpclusterblks;		/* its pcluster size in blocks */
	struct z_erofs_file *z;		/* compressed: extents and index */
};

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
