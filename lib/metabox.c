// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Metadata reads.  An inode's metadata -- the inode, its inline xattrs,
 * inline tail, chunk or compression indexes -- is on the primary device,
 * or, when its nid has bit 63 set (METABOX), in the content of the
 * metabox inode, whose nid the first superblock extension slot holds.
 * The metabox inode itself is always on the primary device; its content
 * may be compressed, so reads from it go through the file reader.
 */
#include "erofs/reader.h"

static void swap_zbufs(struct erofs_image *img)
{
	struct z_erofs_bufs t = img->zbuf;

	img->zbuf = img->metabox_zbuf;
	img->metabox_zbuf = t;
}

int erofs_metabox_inode(struct erofs_image *img,
			const struct erofs_inode_info **mi)
{
	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX))
		return erofs_corrupt(img, "a nid with the metabox bit, but the image has no metabox");
	*mi = &img->metabox;
	return erofs_read_hidden_inode(img, img->metabox_nid, "metabox",
				       &img->metabox, &img->metabox_loaded);
}

int erofs_meta_size(struct erofs_image *img, bool in_metabox, uint64_t *size)
{
	const struct erofs_inode_info *mi = NULL;
	int err;

	if (!in_metabox) {
		*size = img->devs[0].size;
		return 0;
	}
	err = erofs_metabox_inode(img, &mi);
	if (!err)
		*size = mi->size;
	return err;
}

int erofs_meta_pread(struct erofs_image *img, bool in_metabox, void *buf,
		     size_t len, uint64_t pos)
{
	const struct erofs_inode_info *mi = NULL;
	ssize_t got;
	int err;

	if (!in_metabox)
		return erofs_image_pread(img, 0, buf, len, pos);
	err = erofs_metabox_inode(img, &mi);
	if (err)
		return err;
	if (pos > mi->size || len > mi->size - pos)
		return erofs_corrupt(img, "read of %zu bytes at byte %llu is past the end of the metabox (%llu bytes)",
				     len, (unsigned long long)pos,
				     (unsigned long long)mi->size);
	/*
	 * The metabox decodes in its own buffers: a caller may be decoding
	 * a file in the metabox, into the image's, when it reads this.
	 */
	swap_zbufs(img);
	got = erofs_pread_file(img, mi, buf, len, pos);
	swap_zbufs(img);
	if (got < 0)
		return got;
	/* pread_file stops only at the file's end, checked above */
	return (size_t)got == len ? 0 : -EIO;
}
