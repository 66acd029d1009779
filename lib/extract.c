// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extraction to a directory.  Each object is created by name inside its
 * parent's descriptor, never by path, and never through a symlink: the
 * image decides names and symlink targets, so a path-based write could be
 * steered outside the target directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "erofs/defs.h"
#include "erofs/extract.h"

#define SPARSE_UNIT	4096	/* zero runs of this size become holes */

/* the extraction target itself has no name in the image */
static const char *ex_name(const struct erofs_extract *ex, const char *name)
{
	return name ? name : ex->opts.dir;
}

static int ex_fail(struct erofs_extract *ex, const char *what,
		   const char *name, int err)
{
	erofs_err(ex->msg, "extract: %s %s: %s", what, ex_name(ex, name),
		  strerror(-err));
	return err;
}

bool erofs_extract_name_ok(const char *name)
{
	return name[0] && strcmp(name, ".") && strcmp(name, "..") &&
	       !strchr(name, '/');
}

static bool dir_is_empty(int fd)
{
	int dup_fd = dup(fd);
	struct dirent *de;
	bool empty = true;
	DIR *d;

	if (dup_fd < 0)
		return false;
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return false;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

/* a single file is created as @dir: the descriptor is its parent's */
static int open_single(struct erofs_extract *ex)
{
	char *dir = strdup(ex->opts.dir), *slash;
	const char *parent = ".";
	size_t len;
	int err = 0;

	if (!dir)
		return -ENOMEM;
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		parent = slash == dir ? "/" : dir;
	}
	ex->top_name = strdup(slash ? slash + 1 : dir);
	if (!ex->top_name) {
		err = -ENOMEM;
	} else if (!erofs_extract_name_ok(ex->top_name)) {
		erofs_err(ex->msg, "extract: %s does not name a file",
			  ex->opts.dir);
		err = -EINVAL;
	} else {
		ex->rootfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (ex->rootfd < 0)
			err = ex_fail(ex, "cannot open directory", parent,
				      -errno);
	}
	free(dir);
	return err;
}

int erofs_extract_open(struct erofs_extract *ex, const struct erofs_msg *msg,
		       const struct erofs_extract_opts *opts)
{
	int err;

	memset(ex, 0, sizeof(*ex));
	ex->rootfd = -1;
	ex->opts = *opts;
	ex->msg = msg;
	ex->superuser = geteuid() == 0;
	ex->umask = umask(0);
	umask(ex->umask);
	if (opts->single)
		return open_single(ex);
	if (mkdir(opts->dir, 0700) && errno != EEXIST)
		return ex_fail(ex, "cannot create", opts->dir, -errno);
	ex->rootfd = open(opts->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ex->rootfd < 0)
		return ex_fail(ex, "cannot open directory", opts->dir, -errno);
	if (!opts->overwrite && !dir_is_empty(ex->rootfd)) {
		erofs_err(msg, "extract: %s is not empty (use --overwrite to extract into it)",
			  opts->dir);
		err = -EEXIST;
		close(ex->rootfd);
		ex->rootfd = -1;
		return err;
	}
	return 0;
}

void erofs_extract_close(struct erofs_extract *ex)
{
	if (ex->rootfd >= 0)
		close(ex->rootfd);
	ex->rootfd = -1;
	free(ex->top_name);
	ex->top_name = NULL;
}

/* with --overwrite, whatever non-directory is at @name goes away */
static int clear_name(struct erofs_extract *ex, int parentfd, const char *name)
{
	if (!ex->opts.overwrite)
		return 0;
	if (!unlinkat(parentfd, name, 0) || errno == ENOENT)
		return 0;
	if (errno == EISDIR && !unlinkat(parentfd, name, AT_REMOVEDIR))
		return 0;
	return ex_fail(ex, "cannot replace", name, -errno);
}

int erofs_extract_mkdir(struct erofs_extract *ex, int parentfd,
			const char *name, int *fd)
{
	if (mkdirat(parentfd, name, 0700)) {
		if (errno != EEXIST || !ex->opts.overwrite)
			return ex_fail(ex, "cannot create directory", name,
				       -errno);
	}
	*fd = openat(parentfd, name,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	/* a non-directory was in the way: replace it */
	if (ex->opts.overwrite && (errno == ENOTDIR || errno == ELOOP) &&
	    !unlinkat(parentfd, name, 0) && !mkdirat(parentfd, name, 0700)) {
		*fd = openat(parentfd, name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*fd >= 0)
			return 0;
	}
	return ex_fail(ex, "cannot open directory", name, -errno);
}

int erofs_extract_creat(struct erofs_extract *ex, int parentfd,
			const char *name, int *fd)
{
	int err = clear_name(ex, parentfd, name);

	if (err)
		return err;
	*fd = openat(parentfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	if (*fd < 0)
		return ex_fail(ex, "cannot create", name, -errno);
	ex->files_written++;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

int erofs_extract_write(struct erofs_extract *ex, int fd, const char *name,
			const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		size_t n = SPARSE_UNIT - off % SPARSE_UNIT;
		ssize_t w;

		n = MIN(n, len);
		if (all_zero(p, n)) {
			p += n;
			off += n;
			len -= n;
			continue;
		}
		w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return ex_fail(ex, "cannot write", name,
				       w < 0 ? -errno : -EIO);
		p += w;
		off += w;
		len -= w;
	}
	return 0;
}

int erofs_extract_truncate(struct erofs_extract *ex, int fd, const char *name,
			   uint64_t size)
{
	if (ftruncate(fd, size))
		return ex_fail(ex, "cannot set the size of", name, -errno);
	return 0;
}

int erofs_extract_symlink(struct erofs_extract *ex, int parentfd,
			  const char *name, const char *target)
{
	int err = clear_name(ex, parentfd, name);

	if (!err && symlinkat(target, parentfd, name))
		err = ex_fail(ex, "cannot create symlink", name, -errno);
	return err;
}

int erofs_extract_mknod(struct erofs_extract *ex, int parentfd,
			const char *name, uint32_t mode, uint32_t rdev)
{
	unsigned int major, minor;
	int err = clear_name(ex, parentfd, name);

	if (err)
		return err;
	erofs_decode_dev(rdev, &major, &minor);
	if (mknodat(parentfd, name, (mode & S_IFMT) | 0600,
		    (S_ISCHR(mode) || S_ISBLK(mode)) ?
		    makedev(major, minor) : 0))
		return ex_fail(ex, "cannot create node", name, -errno);
	return 0;
}

int erofs_extract_link(struct erofs_extract *ex, const char *target,
		       int parentfd, const char *name)
{
	int err = clear_name(ex, parentfd, name);

	if (!err && linkat(ex->rootfd, target, parentfd, name, 0))
		err = ex_fail(ex, "cannot create hard link", name, -errno);
	return err;
}

/*
 * The xattr calls have no *at() form; /proc/self/fd/PARENT/NAME reaches
 * NAME inside the parent without resolving any path the image chose.
 */
static void proc_path(char *buf, size_t len, int parentfd, const char *name)
{
	snprintf(buf, len, "/proc/self/fd/%d/%s", parentfd, name);
}

static int set_xattrs(struct erofs_extract *ex, int fd, int parentfd,
		      const char *name, const struct erofs_extract_attrs *a)
{
	char path[64 + 256];
	unsigned int i;
	int ret;

	if (fd < 0)
		proc_path(path, sizeof(path), parentfd, name);
	for (i = 0; i < a->nr_xattrs; i++) {
		const struct erofs_extract_xattr *x = &a->xattrs[i];

		if (fd >= 0)
			ret = fsetxattr(fd, x->name, x->value, x->value_len, 0);
		else
			ret = lsetxattr(path, x->name, x->value, x->value_len,
					0);
		if (!ret)
			continue;
		/* as erofs-utils: an ordinary user cannot set trusted.* or
		 * security.*; that is no reason to give up the rest */
		if (errno == EPERM && !ex->superuser &&
		    strncmp(x->name, "user.", 5)) {
			if (!ex->warned_xattrs)
				erofs_warn(ex->msg, "extract: xattr %s on %s (and any other non-user xattr) skipped: only root may set it",
					   x->name, ex_name(ex, name));
			ex->warned_xattrs = true;
			continue;
		}
		erofs_err(ex->msg, "extract: cannot set xattr %s on %s: %s",
			  x->name, ex_name(ex, name), strerror(errno));
		return -errno;
	}
	return 0;
}

int erofs_extract_attrs(struct erofs_extract *ex, int fd, int parentfd,
			const char *name, const struct erofs_extract_attrs *a)
{
	struct timespec ts[2] = {
		{ .tv_sec = a->mtime, .tv_nsec = a->mtime_nsec },
		{ .tv_sec = a->mtime, .tv_nsec = a->mtime_nsec },
	};
	mode_t mode = a->mode & 07777;
	int err, ret;

	if (!ex->opts.preserve_perms)
		mode = a->mode & 0777 & ~ex->umask;
	if (ex->opts.preserve_owner) {
		ret = fd >= 0 ? fchown(fd, a->uid, a->gid) :
				fchownat(parentfd, name, a->uid, a->gid,
					 AT_SYMLINK_NOFOLLOW);
		if (ret)
			return ex_fail(ex, "cannot set the owner of", name,
				       -errno);
	}
	err = ex->opts.skip_xattrs ? 0 : set_xattrs(ex, fd, parentfd, name, a);
	if (err)
		return err;
	if (!S_ISLNK(a->mode)) {
		ret = fd >= 0 ? fchmod(fd, mode) :
				fchmodat(parentfd, name, mode, 0);
		if (ret)
			return ex_fail(ex, "cannot set the mode of", name,
				       -errno);
	}
	ret = fd >= 0 ? futimens(fd, ts) :
			utimensat(parentfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (ret)
		return ex_fail(ex, "cannot set the times of", name, -errno);
	return 0;
}
