/* SPDX-License-Identifier: GPL-2.0-or-later */
/* erofs-fetch get --image=BOOT: the blob's device and digest table. */
#ifndef EROFS_FETCH_GET_IMAGE_H
#define EROFS_FETCH_GET_IMAGE_H

#include "erofs/annex.h"
#include "erofs/reader.h"
#include "verify.h"

struct get_image {
	struct erofs_image img;
	bool opened;
	struct erofs_annex ax;
	struct erofs_digest_table table;
	bool has_table;
	unsigned int device;
	char blob[65];			/* the device's tag, for messages */
};

/*
 * Opens bootstrap @boot and finds the device whose tag is @tag (a sha256
 * digest with or without "sha256:", or the tag as written) and its
 * digest table.  Without a table, @policy decides: -EPERM when refused.
 */
int get_image_open(struct get_image *gi, const char *boot, const char *tag,
		   enum fetch_unverified policy, const struct erofs_msg *msg);
void get_image_close(struct get_image *gi);

#endif
