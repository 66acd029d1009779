// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"

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

void erofs_tree_free(struct erofs_builder *b)
{
	size_t i;
	unsigned int j;

	for (i = 0; i < b->nr_nodes; i++) {
		struct erofs_node *n = b->nodes[i];

		for (j = 0; j < n->nr_dents; j++)
			free(n->dents[j].name);
		free(n->dents);
		free(n->xattrs);
		free(n->symlink);
		free(n->tail);
		free(n->chunks);
		if (n->z)
			free(n->z->ext);
		free(n->z);
		free(n->path);
		free(n);
	}
	free(b->nodes);
	b->nodes = NULL;
	b->nr_nodes = 0;
	b->root = NULL;
	erofs_hashmap_exit(&b->hardlinks);
	erofs_xattr_table_exit(&b->xattrs);
}
