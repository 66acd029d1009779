// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes: reading them from the source, interning identical
 * ones, choosing which are shared and serialising both areas.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include "erofs/erofs_fs.h"
#include "erofs/tree.h"
#include "erofs/xattr.h"

struct xattr_prefix {
	const char *prefix;
	uint8_t index;
	bool whole_name;	/* the prefix is the full name (POSIX ACLs) */
};

static const struct xattr_prefix xattr_prefixes[] = {
	{ "user.", EROFS_XATTR_INDEX_USER, false },
	{ "trusted.", EROFS_XATTR_INDEX_TRUSTED, false },
	{ "security.", EROFS_XATTR_INDEX_SECURITY, false },
	{ "system.posix_acl_access", EROFS_XATTR_INDEX_POSIX_ACL_ACCESS, true },
	{ "system.posix_acl_default", EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT, true },
};

int erofs_xattr_table_init(struct erofs_xattr_table *t)
{
	memset(t, 0, sizeof(*t));
	return erofs_hashmap_init(&t->map);
}

void erofs_xattr_table_exit(struct erofs_xattr_table *t)
{
	size_t i;

	for (i = 0; t->map.slots && i <= t->map.mask; i++) {
		struct erofs_xattr *x = t->map.slots[i].item;

		if (!x)
			continue;
		free(x->name);
		free(x->value);
		free(x);
	}
	erofs_hashmap_exit(&t->map);
	free(t->shared);
	t->shared = NULL;
}

static bool xattr_eq(const void *item, const void *key)
{
	const struct erofs_xattr *a = item, *b = key;

	return a->index == b->index && a->name_len == b->name_len &&
	       a->value_len == b->value_len &&
	       !memcmp(a->name, b->name, a->name_len) &&
	       !memcmp(a->value, b->value, a->value_len);
}

static uint64_t xattr_hash(const struct erofs_xattr *x)
{
	uint64_t h = erofs_hash_bytes(x->index, x->name, x->name_len);

	return erofs_hash_bytes(h, x->value, x->value_len);
}

static struct erofs_xattr *xattr_intern(struct erofs_xattr_table *t,
					const struct erofs_xattr *key)
{
	uint64_t h = xattr_hash(key);
	struct erofs_xattr *x = erofs_hashmap_find(&t->map, h, xattr_eq, key);

	if (x) {
		x->refs++;
		return x;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	*x = *key;
	x->name = malloc(key->name_len + 1);
	x->value = malloc(key->value_len + 1);
	if (!x->name || !x->value || erofs_hashmap_insert(&t->map, h, x)) {
		free(x->name);
		free(x->value);
		free(x);
		return NULL;
	}
	memcpy(x->name, key->name, key->name_len);
	memcpy(x->value, key->value, key->value_len);
	x->refs = 1;
	x->shared_id = EROFS_XATTR_NOT_SHARED;
	return x;
}

static const struct xattr_prefix *xattr_match_prefix(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(xattr_prefixes); i++) {
		const struct xattr_prefix *p = &xattr_prefixes[i];
		size_t len = strlen(p->prefix);

		if (strncmp(name, p->prefix, len))
			continue;
		if (p->whole_name ? name[len] == '\0' : name[len] != '\0')
			return p;
	}
	return NULL;
}

static int xattr_cmp(const void *a, const void *b)
{
	const struct erofs_xattr *x = *(struct erofs_xattr *const *)a;
	const struct erofs_xattr *y = *(struct erofs_xattr *const *)b;

	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return erofs_name_cmp(x->name, x->name_len, y->name, y->name_len);
}

static ssize_t xattr_list(const char *path, char **out)
{
	ssize_t len, got;
	char *buf;

	for (;;) {
		len = llistxattr(path, NULL, 0);
		if (len <= 0)
			return len < 0 && (errno == ENOTSUP) ? 0 : len;
		buf = malloc(len);
		if (!buf)
			return -1;
		got = llistxattr(path, buf, len);
		if (got >= 0) {
			*out = buf;
			return got;
		}
		free(buf);
		if (errno != ERANGE)	/* ERANGE: the list grew meanwhile */
			return -1;
	}
}

static int add_named(struct erofs_xattr_table *t, const struct erofs_msg *msg,
		     struct erofs_node *node, const char *path,
		     const char *name, const void *value, size_t vlen)
{
	const struct xattr_prefix *p = xattr_match_prefix(name);
	struct erofs_xattr key = { 0 }, *x, **arr;
	size_t suffix_len;

	if (!p) {
		erofs_warn(msg, "%s: xattr %s has no EROFS name index, skipped",
			   path, name);
		return 0;
	}
	suffix_len = p->whole_name ? 0 : strlen(name) - strlen(p->prefix);
	if (suffix_len > EROFS_NAME_LEN) {
		erofs_err(msg, "%s: xattr name %s is too long to store", path,
			  name);
		return -ENAMETOOLONG;
	}
	if (vlen > UINT16_MAX) {
		erofs_err(msg, "%s: xattr %s value is %zu bytes, EROFS stores at most %u",
			  path, name, vlen, UINT16_MAX);
		return -EFBIG;
	}
	key.index = p->index;
	key.name = (char *)name + strlen(name) - suffix_len;
	key.name_len = suffix_len;
	key.value = (void *)value;
	key.value_len = vlen;

	arr = realloc(node->xattrs, (node->nr_xattrs + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	node->xattrs = arr;
	x = xattr_intern(t, &key);
	if (!x)
		return -ENOMEM;
	arr[node->nr_xattrs++] = x;
	return 0;
}

static int xattr_read_one(struct erofs_xattr_table *t,
			  const struct erofs_msg *msg, struct erofs_node *node,
			  const char *path, const char *name)
{
	char value[65536 + 1];
	ssize_t vlen;

	if (!xattr_match_prefix(name))
		return add_named(t, msg, node, path, name, NULL, 0);
	vlen = lgetxattr(path, name, value, sizeof(value));
	if (vlen < 0) {
		int err = -errno;

		erofs_err(msg, "%s: cannot read xattr %s: %s", path, name,
			  strerror(errno));
		return err;
	}
	return add_named(t, msg, node, path, name, value, vlen);
}

int erofs_xattr_add(struct erofs_xattr_table *t, const struct erofs_msg *msg,
		    struct erofs_node *node, const char *path,
		    const char *name, const void *value, size_t vlen)
{
	return add_named(t, msg, node, path, name, value, vlen);
}

void erofs_xattr_sort(struct erofs_node *node)
{
	if (node->nr_xattrs > 1)
		qsort(node->xattrs, node->nr_xattrs, sizeof(*node->xattrs),
		      xattr_cmp);
}

void erofs_xattr_drop(struct erofs_node *node)
{
	unsigned int i;

	for (i = 0; i < node->nr_xattrs; i++)
		node->xattrs[i]->refs--;
	free(node->xattrs);
	node->xattrs = NULL;
	node->nr_xattrs = 0;
}

int erofs_xattr_read(struct erofs_xattr_table *t, const struct erofs_msg *msg,
		     struct erofs_node *node, const char *path)
{
	char *list = NULL, *name;
	ssize_t len;
	int err = 0;

	len = xattr_list(path, &list);
	if (len < 0) {
		err = -errno;
		erofs_err(msg, "%s: cannot list xattrs: %s", path,
			  strerror(errno));
		return err;
	}
	for (name = list; name < list + len; name += strlen(name) + 1) {
		err = xattr_read_one(t, msg, node, path, name);
		if (err)
			break;
	}
	free(list);
	if (!err)
		erofs_xattr_sort(node);
	return err;
}

static int xattr_value_cmp(const void *a, const void *b)
{
	const struct erofs_xattr *x = *(struct erofs_xattr *const *)a;
	const struct erofs_xattr *y = *(struct erofs_xattr *const *)b;
	int ret = xattr_cmp(a, b);

	if (ret)
		return ret;
	return erofs_name_cmp(x->value, x->value_len, y->value, y->value_len);
}

int erofs_xattr_plan_shared(struct erofs_xattr_table *t, int tolerance)
{
	unsigned int n = 0;
	uint64_t off = 0;
	size_t i;

	if (tolerance < 0)
		return 0;
	t->shared = calloc(t->map.count + 1, sizeof(*t->shared));
	if (!t->shared)
		return -ENOMEM;
	for (i = 0; i <= t->map.mask; i++) {
		struct erofs_xattr *x = t->map.slots[i].item;

		/* erofs-utils' -x: more inodes than the tolerance */
		if (x && x->refs > (unsigned int)tolerance)
			t->shared[n++] = x;
	}
	if (n > 1)
		qsort(t->shared, n, sizeof(*t->shared), xattr_value_cmp);
	for (i = 0; i < n; i++) {
		struct erofs_xattr *x = t->shared[i];

		x->shared_id = off / sizeof(uint32_t);
		off += erofs_xattr_entry_size(x->name_len, x->value_len);
	}
	if (off / sizeof(uint32_t) > UINT32_MAX)
		return -EFBIG;
	t->nr_shared = n;
	t->shared_size = off;
	return 0;
}

/* h_shared_count is 8 bits wide: shared xattrs past that many stay inline */
static bool xattr_goes_shared(const struct erofs_xattr *x,
			      unsigned int *nshared)
{
	if (x->shared_id == EROFS_XATTR_NOT_SHARED || *nshared >= UINT8_MAX)
		return false;
	(*nshared)++;
	return true;
}

unsigned int erofs_xattr_ibody_bytes(const struct erofs_node *node)
{
	unsigned int i, size, nshared;

	if (!node->nr_xattrs)
		return 0;
	size = sizeof(struct erofs_xattr_ibody_header);
	for (i = 0, nshared = 0; i < node->nr_xattrs; i++) {
		const struct erofs_xattr *x = node->xattrs[i];

		if (xattr_goes_shared(x, &nshared))
			size += sizeof(uint32_t);
		else
			size += erofs_xattr_entry_size(x->name_len,
						       x->value_len);
	}
	return size;
}

static unsigned int xattr_put_entry(const struct erofs_xattr *x, uint8_t *buf)
{
	struct erofs_xattr_entry e = {
		.e_name_len = x->name_len,
		.e_name_index = x->index,
		.e_value_size = cpu_to_le16(x->value_len),
	};

	memcpy(buf, &e, sizeof(e));
	memcpy(buf + sizeof(e), x->name, x->name_len);
	memcpy(buf + sizeof(e) + x->name_len, x->value, x->value_len);
	return erofs_xattr_entry_size(x->name_len, x->value_len);
}

/* @buf is zeroed and erofs_xattr_ibody_bytes(node) long */
void erofs_xattr_write_ibody(const struct erofs_node *node, uint8_t *buf)
{
	struct erofs_xattr_ibody_header *h = (void *)buf;
	unsigned int i, nshared = 0, pos;

	for (i = 0; i < node->nr_xattrs; i++)
		if (xattr_goes_shared(node->xattrs[i], &nshared))
			h->h_shared_xattrs[nshared - 1] =
				cpu_to_le32(node->xattrs[i]->shared_id);
	h->h_shared_count = nshared;
	pos = sizeof(*h) + nshared * sizeof(uint32_t);
	/* the same walk again decides the same way: the rest go inline */
	for (i = 0, nshared = 0; i < node->nr_xattrs; i++)
		if (!xattr_goes_shared(node->xattrs[i], &nshared))
			pos += xattr_put_entry(node->xattrs[i], buf + pos);
}

void erofs_xattr_write_shared(const struct erofs_xattr_table *t, uint8_t *buf)
{
	unsigned int i;
	uint64_t pos = 0;

	for (i = 0; i < t->nr_shared; i++)
		pos += xattr_put_entry(t->shared[i], buf + pos);
}
