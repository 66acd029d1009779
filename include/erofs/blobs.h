/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Extra devices found by tag, and blobs checked against their tags. */
#ifndef EROFS_BLOBS_H
#define EROFS_BLOBS_H

#include "erofs/reader.h"

/* 64 lower-case hex characters: a sha256 digest, as our mkfs writes */
bool erofs_tag_is_digest(const uint8_t tag[64]);

/*
 * Attaches every device not attached yet from DIR/<tag> or, as in an OCI
 * image layout's blobs directory, DIR/sha256/<tag>.  A blob that is not
 * there is left unattached (with a warning) for the caller to report.
 */
int erofs_image_find_blobs(struct erofs_image *img, const char *dir);

/*
 * Hashes attached device @i whole and compares with its tag: 0 when
 * equal, -EFSCORRUPTED when not, -EOPNOTSUPP when the tag is no digest,
 * -ENODEV when the device is not attached.
 */
int erofs_image_verify_blob(struct erofs_image *img, unsigned int i);

#endif
