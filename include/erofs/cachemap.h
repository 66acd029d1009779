/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cache files: sparse copies of an image or of its blobs, as an on-demand
 * daemon fills them.  Their data and holes (SEEK_DATA / SEEK_HOLE), which
 * device of an image each one copies, and what a file of the image still
 * needs from them.  Ranges are byte ranges [start, end) of one device.
 */
#ifndef EROFS_CACHEMAP_H
#define EROFS_CACHEMAP_H

#include "erofs/reader.h"

struct erofs_range {
	uint64_t start, end;
};

struct erofs_ranges {
	struct erofs_range *r;
	size_t n, cap;
};

int erofs_ranges_add(struct erofs_ranges *l, uint64_t start, uint64_t end);
/* sorts and merges touching or overlapping ranges */
void erofs_ranges_merge(struct erofs_ranges *l);
uint64_t erofs_ranges_bytes(const struct erofs_ranges *l);
/* @out = @need without @have (both merged); @out is emptied first */
int erofs_ranges_subtract(const struct erofs_ranges *need,
			  const struct erofs_ranges *have,
			  struct erofs_ranges *out);
void erofs_ranges_free(struct erofs_ranges *l);

struct erofs_cachefile {
	char *path;
	char *name;			/* basename, for matching */
	uint64_t size;			/* of the file */
	struct erofs_ranges data;	/* merged */
	int device;			/* of the image it copies, -1: none */
};

struct erofs_cacheset {
	const struct erofs_msg *msg;
	struct erofs_cachefile *files;
	size_t n;
	bool is_dir;
};

/* @path: one cache file, or a directory whose regular files are */
int erofs_cacheset_load(struct erofs_cacheset *cs, const struct erofs_msg *msg,
			const char *path);
void erofs_cacheset_free(struct erofs_cacheset *cs);

/*
 * Decides which device of @img each cache file copies.  A single file
 * copies the image's data device: the only blob when the device table has
 * exactly one, else the image itself.  In a directory, a file copies the
 * device whose tag or path basename (the image's for device 0) is its
 * name; if nothing matches and the directory holds one file, it copies
 * the data device.  @dev_paths[i] is device i's path (NULL if unknown).
 */
int erofs_cacheset_bind(struct erofs_cacheset *cs, struct erofs_image *img,
			const char *const *dev_paths);
/* the cache file of device @dev, or NULL: its data is local */
const struct erofs_cachefile *erofs_cacheset_of(const struct erofs_cacheset *cs,
						int dev);

/*
 * Appends the device ranges holding @vi's content to @per_dev[device]: a
 * fragment is held by the packed inode's pclusters that hold its bytes.
 */
int erofs_content_ranges(struct erofs_image *img,
			 const struct erofs_inode_info *vi,
			 struct erofs_ranges *per_dev);

#endif
