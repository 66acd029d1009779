/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checking a whole image: every inode reachable from the root, visited
 * once, with its xattrs, directory entries and every byte of its data;
 * optionally extracting the tree as it goes.  fsck.erofs is a front end
 * to this; dump.erofs can reuse the walk.
 */
#ifndef EROFS_CHECK_H
#define EROFS_CHECK_H

#include "erofs/hashmap.h"
#include "erofs/reader.h"

struct erofs_extract;

struct erofs_check_opts {
	bool show_progress;
	bool quiet;			/* count problems, print none */
	struct erofs_extract *extract;	/* NULL: verify only */
	unsigned int max_depth;		/* 0: EROFS_CHECK_MAX_DEPTH */
	/*
	 * Check only the subtree at start_nid (fsck --nid/--path), named
	 * start_path in messages; image-wide checks that need every inode
	 * (link counts, the inode count, the packed inode) are left out.
	 */
	bool subtree;
	uint64_t start_nid;
	const char *start_path;
};

#define EROFS_CHECK_MAX_DEPTH	4096
#define EROFS_CHECK_MAX_LISTED	1000	/* problems kept for the summary */

struct erofs_check_stats {
	uint64_t inodes;		/* distinct inodes checked */
	struct erofs_type_counts types;
	uint64_t hardlinks;		/* names beyond an inode's first */
	uint64_t xattrs;
	uint64_t data_bytes;		/* file content read and checked */
	uint64_t errors;		/* problems in the image */
	uint64_t warnings;
	uint64_t unsupported;		/* inodes using unsupported features,
					 * or data on a device not attached */
	uint64_t unavailable;		/* of those, the latter */
};

/* a byte range of device 0 some inode uses, for overlap checks */
struct erofs_claim {
	uint64_t start, end;
	uint64_t nid;
	unsigned int kind;
};

struct erofs_check {
	struct erofs_image *img;
	const struct erofs_msg *msg;
	struct erofs_check_opts opts;
	struct erofs_check_stats stats;
	int fatal;			/* an operational error: stop */

	char **problems;		/* the first EROFS_CHECK_MAX_LISTED */
	size_t nr_problems;

	struct erofs_hashmap seen;	/* nid -> struct erofs_seen_inode */
	struct erofs_claim *claims;
	size_t nr_claims, cap_claims;

	char *path;			/* where the walk is, "/a/b" */
	size_t path_len, path_cap;
	size_t path_base;		/* the subtree's own path in it */
	bool walking;			/* else problems are the image's */
	unsigned int depth;

	uint8_t *buf;			/* data read buffer */
	size_t buf_size;
	struct erofs_progress progress;
};

int erofs_check_init(struct erofs_check *chk, struct erofs_image *img,
		     const struct erofs_msg *msg,
		     const struct erofs_check_opts *opts);
/*
 * Walks the image.  Problems found in it are reported (one line each),
 * counted in stats.errors and listed in chk->problems; the return value
 * is 0 unless the walk itself failed (out of memory, an I/O or
 * extraction error), then -errno.
 */
int erofs_check_run(struct erofs_check *chk);
void erofs_check_exit(struct erofs_check *chk);

/* reports a problem found by a caller at the current path */
void erofs_check_problem(struct erofs_check *chk, const char *fmt, ...)
	EROFS_PRINTF(2, 3);

struct erofs_annex;
struct erofs_annex_entry;
/* check_layer.c: a gzip layer's BLOB_SOURCE / GZIP_INDEX record */
void erofs_check_layer_records(struct erofs_image *img,
			       const struct erofs_annex *ax,
			       const struct erofs_annex_entry *e);

#endif
