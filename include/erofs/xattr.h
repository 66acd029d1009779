/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef EROFS_XATTR_H
#define EROFS_XATTR_H

#include "erofs/hashmap.h"
#include "erofs/print.h"

struct erofs_node;

/* one distinct (prefix, name, value), shared by every inode carrying it */
struct erofs_xattr {
	uint8_t index;			/* EROFS_XATTR_INDEX_* */
	uint8_t name_len;		/* name after the prefix */
	uint16_t value_len;
	char *name;
	void *value;
	uint32_t refs;			/* inodes carrying it */
	uint32_t shared_id;		/* EROFS_XATTR_NOT_SHARED or id */
};

#define EROFS_XATTR_NOT_SHARED	UINT32_MAX

struct erofs_xattr_table {
	struct erofs_hashmap map;
	struct erofs_xattr **shared;	/* in id order */
	unsigned int nr_shared;
	uint64_t shared_size;		/* bytes of the shared area */
};

int erofs_xattr_table_init(struct erofs_xattr_table *t);
void erofs_xattr_table_exit(struct erofs_xattr_table *t);

/* reads the xattrs of @path into @node, interning them in @t */
int erofs_xattr_read(struct erofs_xattr_table *t, const struct erofs_msg *msg,
		     struct erofs_node *node, const char *path);

/*
 * Adds xattr @name ("user.foo") with its value to @node, interned in @t;
 * names EROFS has no prefix for are skipped with a warning.  Call
 * erofs_xattr_sort() once all are added.
 */
int erofs_xattr_add(struct erofs_xattr_table *t, const struct erofs_msg *msg,
		    struct erofs_node *node, const char *path,
		    const char *name, const void *value, size_t vlen);
void erofs_xattr_sort(struct erofs_node *node);
/* forgets @node's xattrs (it is replaced or dropped from the tree) */
void erofs_xattr_drop(struct erofs_node *node);

/*
 * Chooses the shared xattrs: those carried by more than @tolerance inodes
 * (erofs-utils' -x; 0: every xattr, negative: none), in a canonical order
 * so that ids do not depend on scan order.
 */
int erofs_xattr_plan_shared(struct erofs_xattr_table *t, int tolerance);

/* the inline xattr area of @node in bytes (0 when it has none) */
unsigned int erofs_xattr_ibody_bytes(const struct erofs_node *node);

void erofs_xattr_write_ibody(const struct erofs_node *node, uint8_t *buf);
void erofs_xattr_write_shared(const struct erofs_xattr_table *t, uint8_t *buf);

#endif
