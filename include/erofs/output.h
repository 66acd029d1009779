/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where an image is written.  A regular file is built under a temporary
 * name next to its final one and renamed only once complete, so a failed
 * or interrupted build never leaves something that looks like an image.
 */
#ifndef EROFS_OUTPUT_H
#define EROFS_OUTPUT_H

#include "erofs/print.h"

struct erofs_output {
	int fd;
	char *path;		/* the name asked for */
	char *tmppath;		/* NULL when writing a block device in place */
	uint64_t offset;	/* where the image starts in the file */
	const struct erofs_msg *msg;
};

/* all of @len bytes at @pos of @fd: 0, or -errno (-EIO if none went) */
int erofs_pwrite_full(int fd, const void *buf, size_t len, uint64_t pos);

/*
 * A scratch file in $TMPDIR (else /tmp), unlinked at once: the space is
 * given back however the process ends.  @what names it in messages.
 */
int erofs_tmpfile(const struct erofs_msg *msg, const char *what);

int erofs_output_open(struct erofs_output *out, const struct erofs_msg *msg,
		      const char *path);
int erofs_output_pwrite(struct erofs_output *out, const void *buf,
			size_t len, uint64_t pos);
/* writes @len bytes at @pos, leaving holes where whole blocks are zero */
int erofs_output_pwrite_sparse(struct erofs_output *out, const void *buf,
			       size_t len, uint64_t pos, unsigned int blksz);
/* image positions below are relative to out->offset, which a caller
 * may set after opening (mkfs --offset) */
/* sets the size to @size and returns the SHA-256 of the whole content */
int erofs_output_digest(struct erofs_output *out, uint64_t size,
			uint8_t digest[32]);
int erofs_output_commit(struct erofs_output *out, uint64_t size);
void erofs_output_abort(struct erofs_output *out);

#endif
