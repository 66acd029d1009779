// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading the source directory into the in-memory tree.  Directories are
 * visited breadth first and their entries sorted by name, so the order of
 * inodes -- and with it every nid and block address -- depends only on the
 * tree, never on readdir order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* @name in directory @dfd is @path: errors name the path */
static int read_symlink(struct erofs_builder *b, struct erofs_node *n,
			int dfd, const char *name, const char *path,
			const struct stat *st)
{
	ssize_t len;

	n->symlink = malloc(st->st_size + 1);
	if (!n->symlink)
		return -ENOMEM;
	len = readlinkat(dfd, name, n->symlink, st->st_size + 1);
	if (len < 0) {
		int err = -errno;

		erofs_err(b->msg, "%s: cannot read symlink: %s", path,
			  strerror(errno));
		return err;
	}
	if (len != st->st_size) {
		erofs_err(b->msg, "%s: symlink changed during the build", path);
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
	if (!S_ISDIR(st->st_mode)) {	/* a directory may have no room */
		n->src_dev = st->st_dev;
		n->src_ino = st->st_ino;
		n->src_mtime = st->st_mtim.tv_sec;
		n->src_mtime_nsec = st->st_mtim.tv_nsec;
	}
	return erofs_build_owner(o, b->msg, n->path, n, st->st_uid,
				 st->st_gid);
}

/*
 * A node for @path, named @name in @parent (NULL: the root) whose
 * directory is open as @dfd.  The path is lent to it while its
 * attributes are read: nodes keep only their name.
 */
static int new_node(struct erofs_builder *b, int dfd, const char *path,
		    const char *name, const struct stat *st,
		    struct erofs_node *parent, struct erofs_node **out)
{
	struct erofs_node *n = erofs_node_alloc(&b->slab, S_ISDIR(st->st_mode));
	int err;

	if (!n)
		return -ENOMEM;
	n->path = (char *)path;
	n->name = name;
	n->parent = parent ? parent : n;
	err = erofs_node_fill_attrs(b, n, st);
	n->path = NULL;
	if (!err)
		err = erofs_add_node(b, n);
	if (err) {
		erofs_node_free(n);
		return err;
	}
	if (S_ISLNK(st->st_mode)) {
		err = read_symlink(b, n, dfd, name ? name : path, path, st);
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

/*
 * A directory's entries and all their names are one allocation
 * (erofs_node::names_pooled): scanned names are read into a pool, sorted
 * by offset, and the pool copied after the entry array.
 */
struct name_pool {
	char *buf;
	size_t len, cap;
	uint32_t *offs;			/* where each name starts */
	size_t n, offs_cap;
};

static void put_dent(struct erofs_node *dir, char *name,
		     struct erofs_node *node)
{
	dir->dents[dir->nr_dents++] = (struct erofs_dentry){
		.name = name, .node = node,
	};
}

/*
 * @path is @dir's path, "/" and @name: a buffer of PATH_MAX.  @dir is
 * open as @dfd: the entry is looked up there, not by its whole path.
 */
static int scan_entry(struct erofs_builder *b, struct erofs_node *dir,
		      int dfd, char *path, char *name)
{
	struct erofs_node *child;
	size_t len = strlen(name);
	struct stat st;
	int err;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot stat: %s", path, strerror(errno));
		return err;
	}
	if ((st.st_dev == b->out_dev && st.st_ino == b->out_ino) ||
	    is_excluded(b, path))
		return 0;
	if (len > EROFS_NAME_LEN) {
		erofs_err(b->msg, "%s: name longer than %u bytes cannot be stored",
			  path, EROFS_NAME_LEN);
		return -ENAMETOOLONG;
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		struct inode_key k = { st.st_dev, st.st_ino };

		child = erofs_hashmap_find(&b->hardlinks, inode_key_hash(&k),
					   hardlink_eq, &k);
		if (child) {
			child->nlink++;
			b->stats.hardlinks++;
			put_dent(dir, name, child);
			return 0;
		}
	}
	err = new_node(b, dfd, path, name, &st, dir, &child);
	if (err)
		return err;
	if (S_ISDIR(st.st_mode))
		dir->nlink++;
	put_dent(dir, name, child);
	return 0;
}

static int pool_add(struct name_pool *p, const char *name)
{
	size_t len = strlen(name) + 1;

	if (p->len + len > UINT32_MAX)
		return -E2BIG;
	if (p->len + len > p->cap) {
		size_t cap = MAX(p->cap * 2, p->len + len + 4096);
		char *buf = realloc(p->buf, cap);

		if (!buf)
			return -ENOMEM;
		p->buf = buf;
		p->cap = cap;
	}
	if (p->n == p->offs_cap) {
		size_t cap = p->offs_cap ? p->offs_cap * 2 : 64;
		uint32_t *offs = realloc(p->offs, cap * sizeof(*offs));

		if (!offs)
			return -ENOMEM;
		p->offs = offs;
		p->offs_cap = cap;
	}
	p->offs[p->n++] = p->len;
	memcpy(p->buf + p->len, name, len);
	p->len += len;
	return 0;
}

static int offset_cmp(const void *a, const void *b, void *arg)
{
	const char *pool = arg;

	return strcmp(pool + *(const uint32_t *)a, pool + *(const uint32_t *)b);
}

/* the names in directory @d (at @path) except . and .., sorted, into @p */
static int read_names(struct erofs_builder *b, DIR *d, const char *path,
		      struct name_pool *p)
{
	struct dirent *de;
	int err = 0;

	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno) {
				err = -errno;
				erofs_err(b->msg, "%s: cannot read directory: %s",
					  path, strerror(errno));
			}
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		err = pool_add(p, de->d_name);
		if (err)
			break;
	}
	if (!err && p->n > 1)
		qsort_r(p->offs, p->n, sizeof(*p->offs), offset_cmp, p->buf);
	return err;
}

static const char dots[] = ".\0..";

/*
 * @dir's entry array, with room for @p's names, "." and "..", and the
 * names themselves after it: the names are the pool's, in sorted order.
 */
static int alloc_dents(struct erofs_builder *b, struct erofs_node *dir,
		       const struct name_pool *p, char **names)
{
	size_t arr = (p->n + 2) * sizeof(*dir->dents);
	size_t size = arr + p->len + sizeof(dots);
	char *blk = erofs_slab_zalloc(&b->slab, size);

	dir->dents_in_slab = blk != NULL;
	if (!blk)
		blk = malloc(size);	/* a large directory's */
	if (!blk)
		return -ENOMEM;
	dir->dents = (struct erofs_dentry *)blk;
	dir->names_pooled = true;
	*names = blk + arr;
	if (p->len)		/* an empty directory's pool has no buffer */
		memcpy(*names, p->buf, p->len);
	memcpy(*names + p->len, dots, sizeof(dots));
	return 0;
}

/* @path (PATH_MAX bytes) holds @dir's path, @plen bytes of it */
static int scan_names(struct erofs_builder *b, struct erofs_node *dir,
		      int dfd, char *path, size_t plen,
		      const struct name_pool *p, char *names)
{
	size_t i, len;
	int err = 0;

	for (i = 0; i < p->n && !err; i++) {
		char *name = names + p->offs[i];

		len = strlen(name);
		if (plen + 1 + len >= PATH_MAX) {
			path[plen] = '\0';
			erofs_err(b->msg, "%s/%s: path longer than %u bytes",
				  path, name, PATH_MAX - 1);
			return -ENAMETOOLONG;
		}
		path[plen] = '/';
		memcpy(path + plen + 1, name, len + 1);
		err = scan_entry(b, dir, dfd, path, name);
		erofs_progress_update(&b->progress, "scanning", b->nr_nodes, 0);
	}
	return err;
}

/* moves the last entry of @dir, the others sorted, to its place: O(n) */
static void insert_last_sorted(struct erofs_node *dir)
{
	struct erofs_dentry last = dir->dents[dir->nr_dents - 1];
	unsigned int lo = 0, hi = dir->nr_dents - 1, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(dir->dents[mid].name, last.name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&dir->dents[lo + 1], &dir->dents[lo],
		(dir->nr_dents - 1 - lo) * sizeof(last));
	dir->dents[lo] = last;
}

static int scan_dir(struct erofs_builder *b, struct erofs_node *dir,
		    struct name_pool *p)
{
	struct erofs_path_buf pb;
	const char *dpath;
	char *names;
	size_t plen;
	DIR *d;
	int err;

	err = erofs_node_open_path(b, dir, &pb, &dpath);
	if (err)
		return err;
	/* entries' paths are built after it, in place */
	plen = strlen(dpath);
	if (dpath != pb.s)
		memmove(pb.s, dpath, plen + 1);
	d = opendir(pb.s);
	if (!d) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot open directory: %s", pb.s,
			  strerror(errno));
		return err;
	}
	p->len = p->n = 0;
	err = read_names(b, d, pb.s, p);
	if (!err)
		err = alloc_dents(b, dir, p, &names);
	if (err) {
		closedir(d);
		return err;
	}
	/* entries are looked up in the open directory, not by their paths */
	err = scan_names(b, dir, dirfd(d), pb.s, plen, p, names);
	closedir(d);
	put_dent(dir, names + p->len, dir);
	insert_last_sorted(dir);
	put_dent(dir, names + p->len + 2, dir->parent);
	insert_last_sorted(dir);
	return err;
}

int erofs_scan_tree(struct erofs_builder *b)
{
	struct name_pool pool = { 0 };
	struct stat st;
	size_t i;
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
	err = new_node(b, AT_FDCWD, b->src_root, NULL, &st, NULL, &b->root);
	if (err)
		return err;
	/* b->nodes doubles as the breadth-first queue */
	for (i = 0; i < b->nr_nodes && !err; i++)
		if (S_ISDIR(b->nodes[i]->mode))
			err = scan_dir(b, b->nodes[i], &pool);
	free(pool.buf);
	free(pool.offs);
	erofs_progress_done(&b->progress);
	return err;
}
