// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes.  An inode's inline area (i_xattr_icount) holds a
 * header, the ids of its shared xattrs, then its own entries; a shared
 * xattr id counts 4-byte units from xattr_blkaddr.  Names are stored
 * without their prefix ("user.", ...), which an index selects; an index
 * with bit 7 set selects a long prefix from the superblock's table.
 */
#include <stdlib.h>
#include <string.h>
#include "erofs/reader.h"

#define IBODY_HDR	sizeof(struct erofs_xattr_ibody_header)
#define ENTRY_HDR	sizeof(struct erofs_xattr_entry)

static const char *short_prefix(unsigned int index)
{
	switch (index) {
	case EROFS_XATTR_INDEX_USER:			return "user.";
	case EROFS_XATTR_INDEX_POSIX_ACL_ACCESS:	return "system.posix_acl_access";
	case EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT:	return "system.posix_acl_default";
	case EROFS_XATTR_INDEX_TRUSTED:			return "trusted.";
	case EROFS_XATTR_INDEX_LUSTRE:			return "lustre.";
	case EROFS_XATTR_INDEX_SECURITY:		return "security.";
	}
	return NULL;
}

static bool is_acl(unsigned int index)
{
	return index == EROFS_XATTR_INDEX_POSIX_ACL_ACCESS ||
	       index == EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT;
}

int erofs_xattr_full_name(struct erofs_image *img, unsigned int index,
			  const char *name, unsigned int name_len, char *out)
{
	const struct erofs_xattr_prefix *pf = NULL;
	const char *prefix;
	size_t plen, len;

	if (index & EROFS_XATTR_LONG_PREFIX) {
		if (img->prefixes_err)
			return img->prefixes_err;
		if ((index & 0x7f) >= img->xattr_prefix_count || !img->prefixes)
			return -EFSCORRUPTED;
		pf = &img->prefixes[index & 0x7f];
		index = pf->base_index;
	}
	prefix = short_prefix(index);
	/* a long prefix in no namespace: the kernel lists no such xattr */
	if (!prefix && pf)
		return -ENODATA;
	if (!prefix)
		return -EFSCORRUPTED;
	plen = strlen(prefix);
	memcpy(out, prefix, plen);
	len = plen;
	if (pf) {
		memcpy(out + len, pf->infix, pf->infix_len);
		len += pf->infix_len;
	}
	memcpy(out + len, name, name_len);
	len += name_len;
	out[len] = '\0';
	return len;
}

/* what makes an entry's index and name acceptable */
static const char *entry_problem(struct erofs_image *img, unsigned int index,
				 const char *name, unsigned int name_len)
{
	if (index & EROFS_XATTR_LONG_PREFIX) {
		if ((index & 0x7f) >= img->xattr_prefix_count)
			return "long prefix index past the prefix table";
	} else if (!short_prefix(index)) {
		return "unknown name index";
	} else if (is_acl(index) && name_len) {
		return "ACL xattr with a name after its prefix";
	} else if (!is_acl(index) && !name_len) {
		return "empty name";
	}
	if (memchr(name, '\0', name_len))
		return "NUL byte inside the name";
	return NULL;
}

static int report_entry(struct erofs_image *img,
			const struct erofs_inode_info *vi, uint64_t pos,
			const char *what)
{
	return erofs_corrupt(img, "nid %llu: xattr entry at byte %llu: %s",
			     (unsigned long long)vi->nid,
			     (unsigned long long)pos, what);
}

static int emit(struct erofs_image *img, const struct erofs_inode_info *vi,
		uint64_t pos, const struct erofs_xattr_entry *e,
		const char *body, erofs_xattr_fn fn, void *arg)
{
	unsigned int name_len = e->e_name_len;
	const char *problem = entry_problem(img, e->e_name_index, body,
					    name_len);

	if (problem)
		return report_entry(img, vi, pos, problem);
	return fn(arg, e->e_name_index, body, name_len, body + name_len,
		  le16_to_cpu(e->e_value_size));
}

static int iterate_inline(struct erofs_image *img,
			  const struct erofs_inode_info *vi,
			  const uint8_t *area, unsigned int start,
			  erofs_xattr_fn fn, void *arg)
{
	uint64_t base = vi->pos + vi->inode_isize;
	unsigned int p = start, size;
	int err;

	while (p < vi->xattr_isize) {
		struct erofs_xattr_entry e;

		if (vi->xattr_isize - p < ENTRY_HDR)
			return report_entry(img, vi, base + p, "header runs past the inline xattr area");
		memcpy(&e, area + p, ENTRY_HDR);
		size = erofs_xattr_entry_size(e.e_name_len,
					      le16_to_cpu(e.e_value_size));
		if (size > vi->xattr_isize - p)
			return report_entry(img, vi, base + p, "name and value run past the inline xattr area");
		err = emit(img, vi, base + p, &e,
			   (const char *)area + p + ENTRY_HDR, fn, arg);
		if (err)
			return err;
		p += size;
	}
	return 0;
}

/* shared xattrs are in the metabox with COMPAT_SHARED_EA_IN_METABOX */
static int read_shared(struct erofs_image *img,
		       const struct erofs_inode_info *vi, uint32_t id,
		       uint8_t *buf, erofs_xattr_fn fn, void *arg)
{
	uint64_t pos = erofs_pos(img, img->xattr_blkaddr) + (uint64_t)id * 4;
	bool mbox = img->feature_compat &
		    EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX;
	struct erofs_xattr_entry e;
	unsigned int len;
	uint64_t size;
	int err;

	err = erofs_meta_size(img, mbox, &size);
	if (err)
		return err;
	if (pos > size || size - pos < ENTRY_HDR)
		return erofs_corrupt(img, "nid %llu: shared xattr id %u (byte %llu) is outside the %s",
				     (unsigned long long)vi->nid, id,
				     (unsigned long long)pos,
				     mbox ? "metabox" : "image");
	err = erofs_meta_pread(img, mbox, &e, ENTRY_HDR, pos);
	if (err)
		return err;
	len = e.e_name_len + le16_to_cpu(e.e_value_size);
	if (size - pos - ENTRY_HDR < len)
		return report_entry(img, vi, pos, mbox ?
				    "shared xattr runs past the metabox end" :
				    "shared xattr runs past the image end");
	err = erofs_meta_pread(img, mbox, buf, len, pos + ENTRY_HDR);
	if (err)
		return err;
	return emit(img, vi, pos, &e, (const char *)buf, fn, arg);
}

int erofs_iterate_xattrs(struct erofs_image *img,
			 const struct erofs_inode_info *vi,
			 erofs_xattr_fn fn, void *arg)
{
	uint8_t *area, *buf = NULL;
	unsigned int shared, i;
	int err;

	if (!vi->xattr_isize)
		return 0;
	/* bounded: icount is 16 bits and read_inode checked the image end */
	area = malloc(vi->xattr_isize);
	if (!area)
		return -ENOMEM;
	err = erofs_meta_pread(img, vi->in_metabox, area, vi->xattr_isize,
			       vi->pos + vi->inode_isize);
	if (err)
		goto out;
	shared = area[offsetof(struct erofs_xattr_ibody_header,
			       h_shared_count)];
	if (IBODY_HDR + shared * 4 > vi->xattr_isize) {
		err = erofs_corrupt(img, "nid %llu: %u shared xattr ids do not fit the %u-byte inline xattr area",
				    (unsigned long long)vi->nid, shared,
				    vi->xattr_isize);
		goto out;
	}
	err = iterate_inline(img, vi, area, IBODY_HDR + shared * 4, fn, arg);
	if (err || !shared)
		goto out;
	buf = malloc(UINT8_MAX + UINT16_MAX);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < shared && !err; i++) {
		__le32 id;

		memcpy(&id, area + IBODY_HDR + i * 4, sizeof(id));
		err = read_shared(img, vi, le32_to_cpu(id), buf, fn, arg);
	}
out:
	free(buf);
	free(area);
	return err;
}

/* reads the prefix table from @from, or from the primary device */
static int read_table(struct erofs_image *img,
		      const struct erofs_inode_info *from, void *buf,
		      size_t len, uint64_t pos)
{
	ssize_t got;

	if (!from)
		return erofs_image_pread(img, 0, buf, len, pos);
	got = erofs_pread_file(img, from, buf, len, pos);
	if (got < 0)
		return got;
	if ((size_t)got != len)
		return erofs_corrupt(img, "long xattr prefixes at byte %llu run past the end of nid %llu",
				     (unsigned long long)pos,
				     (unsigned long long)from->nid);
	return 0;
}

/* one length-prefixed record of the prefix table, 4-byte aligned */
static int read_prefix(struct erofs_image *img,
		       const struct erofs_inode_info *from, uint64_t *pos,
		       unsigned int i, uint8_t *rec)
{
	__le16 raw;
	unsigned int len;
	int err;

	*pos = ROUND_UP(*pos, 4);
	err = read_table(img, from, &raw, sizeof(raw), *pos);
	if (err)
		return err;
	len = le16_to_cpu(raw);
	if (len < 1 || len > 1 + EROFS_NAME_LEN)
		return erofs_corrupt(img, "long xattr prefix %u at byte %llu: bad length %u",
				     i, (unsigned long long)*pos, len);
	*pos += sizeof(raw);
	err = read_table(img, from, rec, len, *pos);
	if (err)
		return err;
	*pos += len;
	/* an unknown base index is no error: see erofs_xattr_full_name() */
	img->prefixes[i].base_index = rec[0];
	img->prefixes[i].infix_len = len - 1;
	memcpy(img->prefixes[i].infix, rec + 1, len - 1);
	return 0;
}

/*
 * Where the prefix table is: with COMPAT_PLAIN_XATTR_PFX on the primary
 * device; else in the metabox inode if there is one, else in the packed
 * inode if there is one, else on the primary device.
 */
static int prefix_table_inode(struct erofs_image *img,
			      const struct erofs_inode_info **from)
{
	*from = NULL;
	if (img->feature_compat & EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX)
		return 0;
	if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX)
		return erofs_metabox_inode(img, from);
	if (!img->packed_nid)
		return 0;
	return erofs_packed_inode(img, from);
}

int erofs_load_xattr_prefixes(struct erofs_image *img)
{
	const struct erofs_inode_info *from;
	uint8_t rec[1 + EROFS_NAME_LEN];
	uint64_t pos = (uint64_t)img->xattr_prefix_start * 4;
	unsigned int i;
	int err;

	if (!img->xattr_prefix_count)
		return 0;
	img->prefixes = calloc(img->xattr_prefix_count,
			       sizeof(*img->prefixes));
	if (!img->prefixes)
		return -ENOMEM;
	err = prefix_table_inode(img, &from);
	for (i = 0; !err && i < img->xattr_prefix_count; i++)
		err = read_prefix(img, from, &pos, i, rec);
	if (err == -EOPNOTSUPP || err == -EFSCORRUPTED) {
		/* names with a long prefix fail when used, the rest is read */
		img->prefixes_err = err;
		return 0;
	}
	return err;
}
