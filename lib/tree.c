// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"
#include "erofs/util.h"

unsigned int erofs_mode_to_ftype(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:	return EROFS_FT_REG_FILE;
	case S_IFDIR:	return EROFS_FT_DIR;
	case S_IFCHR:	return EROFS_FT_CHRDEV;
	case S_IFBLK:	return EROFS_FT_BLKDEV;
	case S_IFIFO:	return EROFS_FT_FIFO;
	case S_IFSOCK:	return EROFS_FT_SOCK;
	case S_IFLNK:	return EROFS_FT_SYMLINK;
	}
	return EROFS_FT_UNKNOWN;
}

int erofs_name_cmp(const char *a, unsigned int alen,
		   const char *b, unsigned int blen)
{
	int ret = memcmp(a, b, MIN(alen, blen));

	if (ret)
		return ret;
	return alen < blen ? -1 : alen > blen;
}

/* appends @n to the inodes in build order, which numbers it */
int erofs_add_node(struct erofs_builder *b, struct erofs_node *n)
{
	if (b->nr_nodes == b->nodes_cap) {
		size_t cap = b->nodes_cap ? b->nodes_cap * 2 : 1024;
		struct erofs_node **arr = realloc(b->nodes, cap * sizeof(*arr));

		if (!arr)
			return -ENOMEM;
		b->nodes = arr;
		b->nodes_cap = cap;
	}
	b->nodes[b->nr_nodes++] = n;
	n->ino = b->nr_nodes;
	return 0;
}

static int dentry_cmp(const void *a, const void *b)
{
	const struct erofs_dentry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

void erofs_sort_dents(struct erofs_node *dir)
{
	if (dir->nr_dents > 1)	/* an empty directory has no array yet */
		qsort(dir->dents, dir->nr_dents, sizeof(*dir->dents),
		      dentry_cmp);
}

/*
 * A zeroed node.  A directory that stays one -- a scanned directory, not
 * a tar entry a later one may replace -- goes without the fields past
 * EROFS_DIR_NODE_SIZE: a tree of many directories is mostly nodes.
 */
struct erofs_node *erofs_node_alloc(struct erofs_slab *slab, bool fixed_dir)
{
	size_t size = fixed_dir ? EROFS_DIR_NODE_SIZE :
				  sizeof(struct erofs_node);
	struct erofs_node *n = slab ? erofs_slab_zalloc(slab, size) : NULL;

	if (!n)
		return calloc(1, size);
	n->in_slab = true;
	return n;
}

void erofs_node_free(struct erofs_node *n)
{
	unsigned int j;

	for (j = 0; !n->names_pooled && j < n->nr_dents; j++)
		free(n->dents[j].name);
	if (!n->dents_in_slab)
		free(n->dents);
	free(n->xattrs);
	if (!S_ISDIR(n->mode)) {
		free(n->symlink);
		free(n->chunks);
	}
	if (n->z) {
		free(n->z->ext);
		free(n->z->idata);
	}
	free(n->z);
	free(n->path);
	if (!n->in_slab)
		free(n);
}

void erofs_tree_free(struct erofs_builder *b)
{
	size_t i;

	for (i = 0; i < b->nr_nodes; i++)
		erofs_node_free(b->nodes[i]);
	free(b->nodes);
	b->nodes = NULL;
	b->nr_nodes = 0;
	b->root = NULL;
	erofs_slab_free(&b->slab);
	erofs_hashmap_exit(&b->hardlinks);
	erofs_xattr_table_exit(&b->xattrs);
	erofs_spill_close(&b->tails);
}

/* prepends @len bytes of @s before @p, if they fit after @start */
static bool path_prepend(char **p, const char *start, const char *s,
			 size_t len)
{
	if ((size_t)(*p - start) < len)
		return false;
	*p -= len;
	memcpy(*p, s, len);
	return true;
}

const char *erofs_node_path(const struct erofs_builder *b,
			    const struct erofs_node *n,
			    struct erofs_path_buf *pb)
{
	const char *root = b->src_root ? b->src_root : "";
	/* room for "..." if the path does not fit */
	const char *start = pb->s + 3;
	char *p = pb->s + sizeof(pb->s) - 1;

	pb->truncated = false;
	if (n->path)
		return n->path;
	*p = '\0';
	/* the root is its own parent; depth is bounded by the tree's */
	for (; n->name && n->parent != n; n = n->parent) {
		if (!path_prepend(&p, start, n->name, strlen(n->name)) ||
		    !path_prepend(&p, start, "/", 1)) {
			pb->truncated = true;
			break;
		}
	}
	if (!pb->truncated && path_prepend(&p, start, root, strlen(root)))
		return p;
	pb->truncated = true;
	p -= 3;
	memcpy(p, "...", 3);
	return p;
}

int erofs_node_open_path(const struct erofs_builder *b,
			 const struct erofs_node *n, struct erofs_path_buf *pb,
			 const char **path)
{
	*path = erofs_node_path(b, n, pb);
	if (!pb->truncated)
		return 0;
	erofs_err(b->msg, "%s: path longer than %zu bytes", *path,
		  sizeof(pb->s) - 1);
	return -ENAMETOOLONG;
}

int erofs_dir_add(struct erofs_node *dir, const char *name, unsigned int len,
		  struct erofs_node *node)
{
	struct erofs_dentry *d;

	/* a scanned directory's entries are complete: its names would move */
	if (dir->names_pooled)
		return -EINVAL;
	d = erofs_array_grow(dir->dents, dir->nr_dents, sizeof(*d));
	if (!d)
		return -ENOMEM;
	dir->dents = d;
	d[dir->nr_dents].name = strndup(name, len);
	if (!d[dir->nr_dents].name)
		return -ENOMEM;
	d[dir->nr_dents].node = node;
	dir->nr_dents++;
	return 0;
}

/*
 * A tree assembled from several sources (layers, tar entries) in
 * breadth-first order, as a scan would give it: inode numbers, parents
 * and link counts from what is reachable, "." and ".." added, entries
 * in lookup order.  Nodes never reached keep ino 0.
 */
int erofs_tree_order(struct erofs_builder *b, struct erofs_node *root)
{
	size_t i;
	unsigned int j;
	int err;

	root->parent = root;
	err = erofs_add_node(b, root);
	for (i = 0; i < b->nr_nodes && !err; i++) {
		struct erofs_node *dir = b->nodes[i];

		if (!S_ISDIR(dir->mode))
			continue;
		dir->nlink = 2;
		for (j = 0; j < dir->nr_dents && !err; j++) {
			struct erofs_node *c = dir->dents[j].node;

			if (S_ISDIR(c->mode)) {
				c->parent = dir;
				dir->nlink++;
			} else if (c->ino) {
				c->nlink++;
				b->stats.hardlinks++;
				continue;
			} else {
				c->nlink = 1;
			}
			err = erofs_add_node(b, c);
		}
		if (!err)
			err = erofs_dir_add(dir, ".", 1, dir);
		if (!err)
			err = erofs_dir_add(dir, "..", 2, dir->parent);
		if (!err)
			erofs_sort_dents(dir);
	}
	return err;
}
