// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading the source directory into the in-memory tree.  Directories are
 * visited breadth first and their entries sorted by name, so the order of
 * inodes -- and with it every nid and block address -- depends only on the
 * tree, never on readdir order.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"

struct inode_key {
	dev_t dev;
	ino_t ino;
};

static uint64_t inode_key_hash(const struct inode_key *k)
{
	return erofs_hash_bytes(0, k, sizeof(*k));
}

static bool hardlink_eq(const void *item, const void *key)
{
	const struct erofs_node *n = item;
	const struct inode_key *k = key;

	return n->src_dev == k->dev && n->src_ino == k->ino;
}

static int read_symlink(struct erofs_builder *b, struct erofs_node *n,
			const struct stat *st)
{
	ssize_t len;

	n->symlink = malloc(st->st_size + 1);
	if (!n->symlink)
		return -ENOMEM;
	len = readlink(n->path, n->symlink, st->st_size + 1);
	if (len < 0) {
		int err = -errno;

		erofs_err(b->msg, "%s: cannot read symlink: %s", n->path,
			  strerror(errno));
		return err;
	}
	if (len != st->st_size) {
		erofs_err(b->msg, "%s: symlink changed during the build",
			  n->path);
		return -EAGAIN;
	}
	n->size = len;
	return 0;
}

int erofs_node_fill_attrs(struct erofs_builder *b, struct erofs_node *n,
			  const struct stat *st)
{
	const struct erofs_build_options *o = b->opts;

	n->mode = st->st_mode;
	erofs_build_mtime(o, n, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		n->rdev = erofs_encode_dev(major(st->st_rdev),
					   minor(st->st_rdev));
	if (S_ISREG(st->st_mode))
		n->size = st->st_size;
	n->nlink = S_ISDIR(st->st_mode) ? 2 : 1;
	n->src_dev = st->st_dev;
	n->src_ino = st->st_ino;
	n->src_mtime = st->st_mtim.tv_sec;
	n->src_mtime_nsec = st->st_mtim.tv_nsec;
	return erofs_build_owner(o, b->msg, n->path, n, st->st_uid,
				 st->st_gid);
}

static int new_node(struct erofs_builder *b, char *path, const struct stat *st,
		    struct erofs_node *parent, struct erofs_node **out)
{
	struct erofs_node *n = calloc(1, sizeof(*n));
	int err;

	if (!n) {
		free(path);
		return -ENOMEM;
	}
	n->path = path;
	n->parent = parent ? parent : n;
	err = erofs_node_fill_attrs(b, n, st);
	if (!err)
		err = erofs_add_node(b, n);
	if (err) {
		free(path);
		free(n);
		return err;
	}
	if (S_ISLNK(st->st_mode)) {
		err = read_symlink(b, n, st);
		if (err)
			return err;
	}
	if (b->opts->xattr_tolerance >= 0) {
		err = erofs_xattr_read(&b->xattrs, b->msg, n, path);
		if (err)
			return err;
	}
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		struct inode_key k = { st->st_dev, st->st_ino };

		err = erofs_hashmap_insert(&b->hardlinks, inode_key_hash(&k),
					   n);
		if (err)
			return err;
	}
	*out = n;
	return 0;
}

static bool is_excluded(const struct erofs_builder *b, const char *path)
{
	const struct erofs_build_options *o = b->opts;
	const char *rel = path + strlen(b->src_root);
	unsigned int i;

	while (*rel == '/')
		rel++;
	for (i = 0; i < o->nr_exclude_paths; i++)
		if (!strcmp(rel, o->exclude_paths[i]))
			return true;
	for (i = 0; i < o->nr_exclude_regexes; i++)
		if (!regexec(&o->exclude_regexes[i], rel, 0, NULL, 0))
			return true;
	return false;
}

static char *join_path(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

static int scan_entry(struct erofs_builder *b, struct erofs_node *dir,
		      const char *name)
{
	struct erofs_node *child;
	size_t len = strlen(name);
	struct stat st;
	char *path;
	int err;

	path = join_path(dir->path, name);
	if (!path)
		return -ENOMEM;
	if (lstat(path, &st)) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot stat: %s", path, strerror(errno));
		goto out_free;
	}
	if ((st.st_dev == b->out_dev && st.st_ino == b->out_ino) ||
	    is_excluded(b, path)) {
		err = 0;
		goto out_free;
	}
	if (len > EROFS_NAME_LEN) {
		erofs_err(b->msg, "%s: name longer than %u bytes cannot be stored",
			  path, EROFS_NAME_LEN);
		err = -ENAMETOOLONG;
		goto out_free;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct inode_key k = { st.st_dev, st.st_ino };

		child = erofs_hashmap_find(&b->hardlinks, inode_key_hash(&k),
					   hardlink_eq, &k);
		if (child) {
			free(path);
			child->nlink++;
			b->stats.hardlinks++;
			return erofs_dir_add(dir, name, len, child);
		}
	}
	err = new_node(b, path, &st, dir, &child);
	if (err)
		return err;
	if (S_ISDIR(st.st_mode))
		dir->nlink++;
	return erofs_dir_add(dir, name, len, child);
out_free:
	free(path);
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;

	return erofs_name_cmp(x, strlen(x), y, strlen(y));
}

static void free_names(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

/* the names of @dir except . and .., sorted */
static int read_names(struct erofs_builder *b, struct erofs_node *dir,
		      char ***out, size_t *count)
{
	char **names = NULL, **tmp;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(dir->path);
	if (!d) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot open directory: %s", dir->path,
			  strerror(errno));
		return err;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				err = -errno;
				erofs_err(b->msg, "%s: cannot read directory: %s",
					  dir->path, strerror(errno));
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(names, cap * sizeof(*names));
			if (!tmp) {
				err = -ENOMEM;
				break;
			}
			names = tmp;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			err = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (err) {
		free_names(names, n);
		return err;
	}
	if (n > 1)	/* an empty directory has no array at all */
		qsort(names, n, sizeof(*names), name_cmp);
	*out = names;
	*count = n;
	return 0;
}

static int scan_dir(struct erofs_builder *b, struct erofs_node *dir)
{
	char **names = NULL;
	size_t i, n = 0;
	int err;

	err = read_names(b, dir, &names, &n);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++) {
		err = scan_entry(b, dir, names[i]);
		erofs_progress_update(&b->progress, "scanning", b->nr_nodes, 0);
	}
	free_names(names, n);
	if (err)
		return err;
	err = erofs_dir_add(dir, ".", 1, dir);
	if (!err)
		err = erofs_dir_add(dir, "..", 2, dir->parent);
	if (err)
		return err;
	erofs_sort_dents(dir);
	return 0;
}

int erofs_scan_tree(struct erofs_builder *b)
{
	struct stat st;
	size_t i;
	char *path;
	int err;

	if (stat(b->src_root, &st)) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot stat source: %s", b->src_root,
			  strerror(errno));
		return err;
	}
	if (!S_ISDIR(st.st_mode)) {
		erofs_err(b->msg, "%s: source is not a directory", b->src_root);
		return -ENOTDIR;
	}
	path = strdup(b->src_root);
	if (!path)
		return -ENOMEM;
	err = new_node(b, path, &st, NULL, &b->root);
	if (err)
		return err;
	/* b->nodes doubles as the breadth-first queue */
	for (i = 0; i < b->nr_nodes; i++) {
		if (!S_ISDIR(b->nodes[i]->mode))
			continue;
		err = scan_dir(b, b->nodes[i]);
		if (err)
			return err;
	}
	erofs_progress_done(&b->progress);
	return 0;
}
