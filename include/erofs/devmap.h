/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A mapped layer device (EROFS_ANNEX_DEVICE_MAP, see erofs_fs.h): a view
 * of a tar in which each file's data starts at a block boundary, so that
 * an index-mode image can have the page-sized blocks fscache mode needs.
 *
 * Built while the tar is read (erofs_devmap_place per file, then
 * erofs_devmap_finish), loaded by whoever reads the device from the tar
 * (the image reader with --device=TAR, erofs-fetch from the blob).
 */
#ifndef EROFS_DEVMAP_H
#define EROFS_DEVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "erofs/sha256.h"

struct erofs_digest_builder;

struct erofs_annex;
struct erofs_annex_writer;

struct erofs_devmap_extent {
	uint64_t offset, tar_offset, length;
};

struct erofs_devmap {
	uint8_t diff_id[EROFS_SHA256_SIZE];
	uint64_t tar_size;
	uint64_t size;			/* of the device */
	struct erofs_devmap_extent *ext;
	uint32_t nr, cap;
	struct erofs_sha256 view;	/* building: the device's bytes */
	struct erofs_digest_builder *units;	/* and their table, if set */
};

/* before a layer's entries */
void erofs_devmap_start(struct erofs_devmap *m);
/*
 * Places @len bytes at @tar_offset of the tar at the device's next
 * @blksz boundary and returns that offset in *@offset; the caller then
 * gives the bytes themselves to erofs_devmap_data as they go by.
 */
int erofs_devmap_place(struct erofs_devmap *m, uint64_t tar_offset,
		       uint64_t len, unsigned int blksz, uint64_t *offset);
void erofs_devmap_data(struct erofs_devmap *m, const void *buf, size_t len);
/*
 * After the whole tar (@tar_size bytes, sha256 @diff_id): the device is
 * @blocks of @blksz; adds the record for @device and gives its tag (the
 * sha256 of the device's bytes).
 */
int erofs_devmap_finish(struct erofs_devmap *m, uint64_t tar_size,
			const uint8_t diff_id[EROFS_SHA256_SIZE],
			uint64_t *blocks, unsigned int blksz,
			struct erofs_annex_writer *w, uint16_t device,
			char tag[65]);
void erofs_devmap_free(struct erofs_devmap *m);
/* frees a map of its own allocation and sets *@m NULL */
void erofs_devmap_free_ptr(struct erofs_devmap **m);

/* every field checked: -EFSCORRUPTED with @why naming what is wrong */
int erofs_devmap_decode(const void *payload, uint64_t len,
			struct erofs_devmap *m, char *why, size_t whylen);
/* device @device's map from a loaded annex: -ENOENT when it has none */
int erofs_devmap_load(const struct erofs_annex *ax, uint16_t device,
		      struct erofs_devmap *m, char *why, size_t whylen);
/*
 * What a layer's own records (blob source, index) of @device must name
 * as diff_id, 64 hex digits: the map's when the device has one, else
 * @tag itself.  -EFSCORRUPTED with @why when the map is damaged.
 */
int erofs_devmap_layer_tag(const struct erofs_annex *ax, uint16_t device,
			   const uint8_t tag[64], uint8_t out[64],
			   char *why, size_t whylen);

struct erofs_image;
/*
 * When device @index of @img has a map and the file attached for it is
 * @file_size bytes, its tar's: *@out is the map to read it through (NULL
 * when the file is the device itself).  The size tells them apart: a
 * view exactly as long as its tar would be taken for the tar, which its
 * data then shows (the tar's headers where the files' bytes should be).  -EFSCORRUPTED (reported through
 * @img) when the map is damaged or disagrees with the device table.
 */
int erofs_devmap_attach(struct erofs_image *img, unsigned int index,
			uint64_t file_size, struct erofs_devmap **out);

/* reads @len bytes at @off of the tar into @buf */
typedef int (*erofs_devmap_read_fn)(void *priv, uint64_t off, size_t len,
				    void *buf);
/*
 * Bytes [@off, @off + @len) of the device: each extent's part read from
 * the tar through @read, the rest zeros.  -ERANGE past the device's end.
 */
int erofs_devmap_read(const struct erofs_devmap *m, uint64_t off,
		      size_t len, void *buf, erofs_devmap_read_fn read,
		      void *priv);

#endif
