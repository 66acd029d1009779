/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writing an image's tree out to a directory.  Everything is created
 * relative to directory descriptors with O_NOFOLLOW, so nothing is ever
 * written outside the target, whatever names and symlinks the image holds.
 */
#ifndef EROFS_EXTRACT_H
#define EROFS_EXTRACT_H

#include <sys/types.h>
#include "erofs/print.h"

struct erofs_extract_opts {
	const char *dir;
	bool overwrite;			/* replace what is in the way */
	bool preserve_owner;
	bool preserve_perms;		/* else mode & 0777 & ~umask */
	bool skip_xattrs;		/* set no xattrs at all */
	/* what is extracted is one non-directory, written as @dir itself */
	bool single;
};

struct erofs_extract {
	struct erofs_extract_opts opts;
	const struct erofs_msg *msg;
	int rootfd;			/* @dir, or its parent when single */
	char *top_name;			/* single: @dir's last component */
	mode_t umask;
	bool superuser;
	bool warned_xattrs;		/* privileged xattrs were skipped */
	uint64_t files_written;
};

/* one xattr to set: the full name, then the value */
struct erofs_extract_xattr {
	char *name;
	void *value;
	unsigned int value_len;
};

struct erofs_extract_attrs {
	uint32_t mode, uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	struct erofs_extract_xattr *xattrs;
	unsigned int nr_xattrs;
};

int erofs_extract_open(struct erofs_extract *ex, const struct erofs_msg *msg,
		       const struct erofs_extract_opts *opts);
void erofs_extract_close(struct erofs_extract *ex);

/* rejects names that could leave the target: "", ".", "..", with '/' */
bool erofs_extract_name_ok(const char *name);

/* creates (or, with overwrite, reuses) a directory; *fd opened on it */
int erofs_extract_mkdir(struct erofs_extract *ex, int parentfd,
			const char *name, int *fd);
int erofs_extract_creat(struct erofs_extract *ex, int parentfd,
			const char *name, int *fd);
/* writes @len bytes at @off, leaving holes for zero blocks */
int erofs_extract_write(struct erofs_extract *ex, int fd, const char *name,
			const void *buf, size_t len, uint64_t off);
int erofs_extract_truncate(struct erofs_extract *ex, int fd, const char *name,
			   uint64_t size);
int erofs_extract_symlink(struct erofs_extract *ex, int parentfd,
			  const char *name, const char *target);
int erofs_extract_mknod(struct erofs_extract *ex, int parentfd,
			const char *name, uint32_t mode, uint32_t rdev);
/* a further name of an extracted inode, @target relative to the root */
int erofs_extract_link(struct erofs_extract *ex, const char *target,
		       int parentfd, const char *name);
/*
 * Owner, xattrs, mode and times, in that order (chown would clear
 * capabilities and set-id bits set before it).  @fd is the object's own
 * descriptor when the caller has one, else -1 and it is reached as
 * @name in @parentfd without following a symlink.
 */
int erofs_extract_attrs(struct erofs_extract *ex, int fd, int parentfd,
			const char *name, const struct erofs_extract_attrs *a);

#endif
