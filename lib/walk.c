// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A read-only walk of an image's tree.  A directory's entries are
 * collected first and visited after its iteration ends, so that a visit
 * may read anything (other directories included) without nesting inside
 * the directory reader.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/walk.h"

struct dentry {
	uint64_t nid;
	unsigned int len;
	char name[EROFS_NAME_LEN + 1];
};

struct dlist {
	struct dentry *e;
	size_t n, cap;
};

static int collect(void *arg, const char *name, unsigned int len,
		   uint64_t nid, unsigned int ftype)
{
	struct dlist *l = arg;

	(void)ftype;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct dentry *e = realloc(l->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->n].nid = nid;
	l->e[l->n].len = len;
	memcpy(l->e[l->n].name, name, len);
	l->e[l->n].name[len] = '\0';
	l->n++;
	return 0;
}

/* damage and what cannot be read are counted and skipped; anything
 * else stops the walk */
static int walk_error(struct erofs_walk *w, int err)
{
	if (err == -EFSCORRUPTED) {
		w->errors++;
		return 0;
	}
	/* an unsupported feature or a device not attached: not read */
	if (err == -EOPNOTSUPP || err == -ENODEV) {
		w->unsupported++;
		return 0;
	}
	return err;
}

static int path_push(struct erofs_walk *w, const char *name, size_t len,
		     size_t *saved)
{
	size_t need = w->path_len + 1 + len + 1;

	if (need > w->path_cap) {
		size_t cap = MAX(need, w->path_cap * 2);
		char *p = realloc(w->path, cap);

		if (!p)
			return -ENOMEM;
		w->path = p;
		w->path_cap = cap;
	}
	*saved = w->path_len;
	if (w->path_len != 1 || w->path[0] != '/')
		w->path[w->path_len++] = '/';
	memcpy(w->path + w->path_len, name, len);
	w->path_len += len;
	w->path[w->path_len] = '\0';
	return 0;
}

static bool nid_eq(const void *item, const void *key)
{
	return *(const uint64_t *)item == *(const uint64_t *)key;
}

static uint64_t nid_hash(uint64_t nid)
{
	return erofs_hash_bytes(0, &nid, sizeof(nid));
}

/* true when @nid was met before; else remembers it */
static int seen_before(struct erofs_walk *w, uint64_t nid, bool *before)
{
	uint64_t *item;
	int err;

	*before = erofs_hashmap_find(&w->seen, nid_hash(nid), nid_eq, &nid);
	if (*before)
		return 0;
	item = malloc(sizeof(*item));
	if (!item)
		return -ENOMEM;
	*item = nid;
	err = erofs_hashmap_insert(&w->seen, nid_hash(nid), item);
	if (err)
		free(item);
	return err;
}

static int visit(struct erofs_walk *w, uint64_t nid, uint64_t parent);

static int walk_dir(struct erofs_walk *w, const struct erofs_inode_info *vi,
		    uint64_t parent)
{
	struct dlist l = { 0 };
	size_t i, saved;
	int err;

	if (w->depth >= EROFS_WALK_MAX_DEPTH)
		return erofs_corrupt(w->img, "nid %llu: directories nested more than %u deep",
				     (unsigned long long)vi->nid,
				     EROFS_WALK_MAX_DEPTH);
	err = erofs_iterate_dir(w->img, vi, parent, collect, &l);
	/* a damaged block ends the listing: visit what came before it */
	err = walk_error(w, err);
	w->depth++;
	for (i = 0; !err && i < l.n; i++) {
		err = path_push(w, l.e[i].name, l.e[i].len, &saved);
		if (err)
			break;
		err = walk_error(w, visit(w, l.e[i].nid, vi->nid));
		w->path_len = saved;
		w->path[saved] = '\0';
	}
	w->depth--;
	free(l.e);
	return err;
}

static int visit(struct erofs_walk *w, uint64_t nid, uint64_t parent)
{
	struct erofs_inode_info vi;
	bool before;
	int err;

	err = erofs_read_inode(w->img, nid, &vi);
	if (err)
		return err;
	err = seen_before(w, nid, &before);
	if (err)
		return err;
	if (before && S_ISDIR(vi.mode))
		return erofs_corrupt(w->img, "%s: directory nid %llu is reached a second time (a cycle or a hard-linked directory)",
				     w->path, (unsigned long long)nid);
	err = w->fn(w->arg, w->path, &vi, !before);
	if (err || !S_ISDIR(vi.mode))
		return err;
	return walk_dir(w, &vi, parent);
}

int erofs_walk_tree(struct erofs_walk *w, struct erofs_image *img,
		    uint64_t nid, const char *path, erofs_walk_fn fn,
		    void *arg)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->img = img;
	w->fn = fn;
	w->arg = arg;
	err = erofs_hashmap_init(&w->seen);
	if (err)
		return err;
	w->path_cap = strlen(path) + 64;
	w->path = malloc(w->path_cap);
	if (!w->path)
		return -ENOMEM;
	w->path_len = strlen(path);
	memcpy(w->path, path, w->path_len + 1);
	/* ".." of the start is only checked when the start is the root */
	return walk_error(w, visit(w, nid, nid == img->root_nid ?
				   nid : EROFS_NID_UNKNOWN));
}

void erofs_walk_exit(struct erofs_walk *w)
{
	size_t i;

	for (i = 0; w->seen.slots && i <= w->seen.mask; i++)
		free(w->seen.slots[i].item);
	erofs_hashmap_exit(&w->seen);
	free(w->path);
	w->path = NULL;
}

struct lookup {
	const char *name;
	size_t len;
	uint64_t nid;
	bool found;
};

static int match(void *arg, const char *name, unsigned int len,
		 uint64_t nid, unsigned int ftype)
{
	struct lookup *l = arg;

	(void)ftype;
	if (len != l->len || memcmp(name, l->name, len))
		return 0;
	l->nid = nid;
	l->found = true;
	return 1;		/* stop */
}

int erofs_lookup_path(struct erofs_image *img, const char *path,
		      uint64_t *nid)
{
	struct erofs_inode_info vi;
	uint64_t cur = img->root_nid;
	unsigned int steps = 0;
	int err;

	while (*path) {
		struct lookup l = { .name = path };

		if (*path == '/') {
			path++;
			continue;
		}
		l.len = strcspn(path, "/");
		path += l.len;
		if (l.len > EROFS_NAME_LEN)
			return -ENAMETOOLONG;
		if (++steps > EROFS_WALK_MAX_DEPTH * 2)
			return -ELOOP;
		err = erofs_read_inode(img, cur, &vi);
		if (err)
			return err;
		if (!S_ISDIR(vi.mode))
			return -ENOTDIR;
		err = erofs_iterate_dir(img, &vi, EROFS_NID_UNKNOWN, match, &l);
		if (err < 0)
			return err;
		if (!l.found)
			return -ENOENT;
		cur = l.nid;
	}
	*nid = cur;
	return 0;
}
