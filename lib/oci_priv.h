/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Between the parts of mkfs --oci that fetch: oci.c and oci_blob.c. */
#ifndef EROFS_OCI_PRIV_H
#define EROFS_OCI_PRIV_H

#include "erofs/oci.h"
#include "erofs/sha256.h"
#include "erofs/source.h"

struct erofs_oci_blob;

/* a layer blob of @size bytes, streamed and checked against @hex */
int erofs_oci_blob_open(struct erofs_oci_blob **out, struct erofs_source *src,
			const char *hex, uint64_t size);
/* an erofs_istream_pull_t: -EBADMSG at the end if the digest differs */
ssize_t erofs_oci_blob_pull(void *priv, void *buf, size_t len, char *why,
			    size_t why_size);
/* reads what is left of the blob; 0 once its digest matched */
int erofs_oci_blob_finish(struct erofs_oci_blob *b, char *why, size_t size);
void erofs_oci_blob_close(struct erofs_oci_blob *b);

/* a manifest or config blob, whole, its digest checked */
int erofs_oci_blob_fetch(struct erofs_source *src,
			 const struct erofs_oci_desc *d, char **out,
			 const struct erofs_msg *msg);

#endif
