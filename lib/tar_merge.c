// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Layers merged into one tree, bottom first, as the OCI image spec
 * applies them ("Applying changesets"): ".wh.NAME" removes NAME as the
 * layers below gave it, ".wh..wh..opq" removes everything the layers
 * below put in its directory.  What this layer itself gave stays, as
 * containerd's applier keeps the paths it unpacked from the same layer.
 * Neither kind of whiteout is in the result: the image is the flattened
 * root filesystem, not an overlayfs layer.
 *
 * A removed name keeps its slot in the directory with no node, so that
 * the name lookups of tar.c stay valid while entries arrive; the slots
 * are dropped once the tree is complete (tar_merge_compact).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "tar_priv.h"

#define WH_PREFIX		".wh."
#define WH_OPAQUE		".wh..wh..opq"

static void whiteout_name(struct tar_reader *r, struct erofs_node *dir,
			  const char *name)
{
	struct tar_dent *d = tar_find_dent(r, dir, name, strlen(name));

	/* a name this layer gave is not the whiteout's to remove */
	if (d && d->layer < r->layer)
		tar_dentry(d)->node = NULL;
}

/*
 * Everything below @top that lower layers gave.  A directory this layer
 * gave again keeps its name, but not what lower layers put in it.  The
 * walk uses a stack of its own: a tar may nest directories deeper than
 * a C stack could recurse.
 */
static int make_opaque(struct tar_reader *r, struct erofs_node *top)
{
	struct erofs_node **stack, **bigger;
	size_t nr = 0, cap = 64;
	unsigned int i;

	stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[nr++] = top;
	while (nr) {
		struct erofs_node *dir = stack[--nr];

		for (i = 0; i < dir->nr_dents; i++) {
			struct erofs_dentry *de = &dir->dents[i];
			struct tar_dent *d;

			if (!de->node)
				continue;
			d = tar_find_dent(r, dir, de->name, strlen(de->name));
			if (d->layer < r->layer) {
				de->node = NULL;
				continue;
			}
			/* a hardlinked file is no directory: no cycles */
			if (!S_ISDIR(de->node->mode))
				continue;
			if (nr == cap) {
				cap *= 2;
				bigger = realloc(stack, cap * sizeof(*stack));
				if (!bigger) {
					free(stack);
					return -ENOMEM;
				}
				stack = bigger;
			}
			stack[nr++] = de->node;
		}
	}
	free(stack);
	return 0;
}

int tar_merge_whiteout(struct tar_reader *r, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	struct erofs_node *dir;
	const char *name;
	int err;

	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
		return 0;
	/* nothing below to remove from a directory no layer gave */
	dir = tar_walk_parent(r, path, false, &name, &err);
	if (!dir)
		return err ?: 1;
	if (!strcmp(name, WH_OPAQUE)) {
		err = make_opaque(r, dir);
		return err ?: 1;
	}
	/* other ".wh..wh." names are aufs' own bookkeeping */
	if (!strncmp(name, WH_PREFIX WH_PREFIX, 2 * strlen(WH_PREFIX)))
		return 1;
	name += strlen(WH_PREFIX);
	if (!*name)
		return tar_bad_entry(r, -EINVAL, "whiteout without a name");
	whiteout_name(r, dir, name);
	return 1;
}

void tar_merge_compact(struct erofs_node *dir)
{
	unsigned int i, kept = 0;

	for (i = 0; i < dir->nr_dents; i++) {
		if (!dir->dents[i].node) {
			free(dir->dents[i].name);
			continue;
		}
		dir->dents[kept++] = dir->dents[i];
	}
	dir->nr_dents = kept;
}
