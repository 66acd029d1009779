/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * erofs-fetch get --image=BOOT: the blob's device, its digest table, and
 * for a gzip or zstd layer the index its bytes are inflated with.
 */
#ifndef EROFS_FETCH_GET_IMAGE_H
#define EROFS_FETCH_GET_IMAGE_H

#include "erofs/annex.h"
#include "erofs/reader.h"
#include "verify.h"
#include "zran.h"

struct get_image {
	struct erofs_image img;
	bool opened;
	struct erofs_annex ax;
	struct erofs_digest_table table;
	bool has_table;
	struct erofs_zran *zran;	/* a compressed layer's, or NULL */
	unsigned int device;
	char blob[65];			/* the device's tag, for messages */
};

/*
 * Opens bootstrap @boot and finds the device whose tag is @tag (a sha256
 * digest with or without "sha256:", or the tag as written) and its
 * digest table, and whether its bytes are a layer inflated from a blob at
 * @src.  Without a table, @policy decides: -EPERM when refused.
 */
int get_image_open(struct get_image *gi, const char *boot, const char *tag,
		   enum fetch_unverified policy, struct erofs_source *src,
		   const struct erofs_msg *msg);
void get_image_close(struct get_image *gi);

#endif
