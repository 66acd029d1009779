/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Walking the tree of an image for tools that only read it (dump.erofs):
 * every name under a directory, each inode's first name flagged, every
 * directory entered once, and lookups of a path.  Nothing here trusts the
 * image: cycles and depth are bounded, and a damaged inode or directory
 * is reported and skipped so that the walk goes on with its siblings.
 */
#ifndef EROFS_WALK_H
#define EROFS_WALK_H

#include "erofs/hashmap.h"
#include "erofs/reader.h"

#define EROFS_WALK_MAX_DEPTH	4096

/*
 * Called once per name, the start included (depth 0); @first is false
 * for the second and later names of one inode.  A negative return stops
 * the walk and is returned by it.
 */
typedef int (*erofs_walk_fn)(void *arg, const char *path,
			     const struct erofs_inode_info *vi, bool first);

struct erofs_walk {
	struct erofs_image *img;
	erofs_walk_fn fn;
	void *arg;
	struct erofs_hashmap seen;	/* nids met so far */
	char *path;
	size_t path_len, path_cap;
	unsigned int depth;
	uint64_t errors;		/* damaged parts skipped */
	uint64_t unsupported;		/* parts using unsupported features */
};

/*
 * Walks from @nid, named @path ("/" for the root).  Returns 0, or the
 * first operational error (-ENOMEM, -EIO, ...) or negative return of @fn.
 * Damage found on the way is reported through the image and counted in
 * @w->errors (-EOPNOTSUPP in @w->unsupported), not returned.
 */
int erofs_walk_tree(struct erofs_walk *w, struct erofs_image *img,
		    uint64_t nid, const char *path, erofs_walk_fn fn,
		    void *arg);
void erofs_walk_exit(struct erofs_walk *w);

/* the nid of absolute or root-relative @path; -ENOENT, -ENOTDIR, ... */
int erofs_lookup_path(struct erofs_image *img, const char *path,
		      uint64_t *nid);

#endif
