// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mapped layer devices: a block-aligned view of a tar, its annex record,
 * and reads of the view from the tar (see include/erofs/devmap.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erofs/annex.h"
#include "erofs/defs.h"
#include "erofs/devmap.h"
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "erofs/reader.h"

/* as many extents as a tar of 2^32 files: bounded by the annex anyway */
#define DEVMAP_MAX_EXTENTS	(1U << 28)

static const uint8_t zeros[4096];

/* the padding before the next extent (or the device's end) */
static void hash_zeros(struct erofs_devmap *m, uint64_t len)
{
	while (len) {
		size_t n = MIN(len, (uint64_t)sizeof(zeros));

		erofs_sha256_update(&m->view, zeros, n);
		if (m->units)
			erofs_digest_builder_update(m->units, zeros, n);
		len -= n;
	}
}

void erofs_devmap_start(struct erofs_devmap *m)
{
	free(m->ext);
	memset(m, 0, sizeof(*m));
	erofs_sha256_init(&m->view);
}

void erofs_devmap_data(struct erofs_devmap *m, const void *buf, size_t len)
{
	erofs_sha256_update(&m->view, buf, len);
	if (m->units)
		erofs_digest_builder_update(m->units, buf, len);
}

int erofs_devmap_place(struct erofs_devmap *m, uint64_t tar_offset,
		       uint64_t len, unsigned int blksz, uint64_t *offset)
{
	uint64_t at = ROUND_UP(m->size, (uint64_t)blksz);

	if (!len)
		return -EINVAL;
	if (m->nr == m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 64;
		struct erofs_devmap_extent *ext;

		if (cap > DEVMAP_MAX_EXTENTS)
			return -EFBIG;
		ext = realloc(m->ext, cap * sizeof(*ext));
		if (!ext)
			return -ENOMEM;
		m->ext = ext;
		m->cap = cap;
	}
	m->ext[m->nr++] = (struct erofs_devmap_extent){
		.offset = at, .tar_offset = tar_offset, .length = len,
	};
	hash_zeros(m, at - m->size);
	m->size = at + len;
	*offset = at;
	return 0;
}

static uint64_t payload_size(uint32_t nr)
{
	return sizeof(struct erofs_annex_device_map) +
	       (uint64_t)nr * sizeof(struct erofs_annex_map_extent);
}

int erofs_devmap_finish(struct erofs_devmap *m, uint64_t tar_size,
			const uint8_t diff_id[EROFS_SHA256_SIZE],
			uint64_t *blocks, unsigned int blksz,
			struct erofs_annex_writer *w, uint16_t device,
			char tag[65])
{
	struct erofs_annex_device_map *hdr;
	struct erofs_annex_map_extent *ext;
	uint64_t len = payload_size(m->nr);
	uint8_t d[EROFS_SHA256_SIZE];
	uint32_t i;

	m->tar_size = tar_size;
	memcpy(m->diff_id, diff_id, sizeof(m->diff_id));
	*blocks = DIV_ROUND_UP(m->size, blksz);
	hash_zeros(m, *blocks * blksz - m->size);
	m->size = *blocks * blksz;
	erofs_sha256_final(&m->view, d);
	erofs_sha256_hex(d, tag);
	hdr = erofs_annex_add(w, EROFS_ANNEX_DEVICE_MAP, device, len);
	if (!hdr)
		return -ENOMEM;
	memcpy(hdr->diff_id, diff_id, sizeof(hdr->diff_id));
	hdr->tar_size = cpu_to_le64(tar_size);
	hdr->size = cpu_to_le64(m->size);
	hdr->nr_extents = cpu_to_le32(m->nr);
	ext = (struct erofs_annex_map_extent *)(hdr + 1);
	for (i = 0; i < m->nr; i++) {
		ext[i].offset = cpu_to_le64(m->ext[i].offset);
		ext[i].tar_offset = cpu_to_le64(m->ext[i].tar_offset);
		ext[i].length = cpu_to_le64(m->ext[i].length);
	}
	return 0;
}

void erofs_devmap_free(struct erofs_devmap *m)
{
	free(m->ext);
	memset(m, 0, sizeof(*m));
}

#define BAD(...)	(snprintf(why, whylen, __VA_ARGS__), -EFSCORRUPTED)

static int check_extent(const struct erofs_devmap *m, uint32_t i,
			uint64_t prev_end, char *why, size_t whylen)
{
	const struct erofs_devmap_extent *e = &m->ext[i];

	if (!e->length)
		return BAD("device map: extent %u is empty", i);
	if (e->offset < prev_end)
		return BAD("device map: extent %u at byte %llu is before the end of the one before (%llu)",
			   i, (unsigned long long)e->offset,
			   (unsigned long long)prev_end);
	if (e->offset > m->size || e->length > m->size - e->offset)
		return BAD("device map: extent %u (%llu+%llu) runs past the device's %llu bytes",
			   i, (unsigned long long)e->offset,
			   (unsigned long long)e->length,
			   (unsigned long long)m->size);
	if (e->tar_offset > m->tar_size ||
	    e->length > m->tar_size - e->tar_offset)
		return BAD("device map: extent %u (tar %llu+%llu) runs past the tar's %llu bytes",
			   i, (unsigned long long)e->tar_offset,
			   (unsigned long long)e->length,
			   (unsigned long long)m->tar_size);
	return 0;
}

int erofs_devmap_decode(const void *payload, uint64_t len,
			struct erofs_devmap *m, char *why, size_t whylen)
{
	struct erofs_annex_device_map hdr;
	const uint8_t *p = payload;
	uint64_t end = 0;
	uint32_t i;
	int err;

	memset(m, 0, sizeof(*m));
	if (len < sizeof(hdr))
		return BAD("device map: %llu bytes, shorter than its header",
			   (unsigned long long)len);
	memcpy(&hdr, p, sizeof(hdr));
	if (hdr.reserved)
		return BAD("device map: reserved bits set");
	m->nr = le32_to_cpu(hdr.nr_extents);
	if (m->nr > DEVMAP_MAX_EXTENTS || len != payload_size(m->nr))
		return BAD("device map: %llu bytes for %u extents",
			   (unsigned long long)len, m->nr);
	m->tar_size = le64_to_cpu(hdr.tar_size);
	m->size = le64_to_cpu(hdr.size);
	memcpy(m->diff_id, hdr.diff_id, sizeof(m->diff_id));
	m->ext = calloc(m->nr ?: 1, sizeof(*m->ext));
	if (!m->ext)
		return -ENOMEM;
	m->cap = m->nr;
	for (i = 0; i < m->nr; i++) {
		struct erofs_annex_map_extent x;

		memcpy(&x, p + payload_size(i), sizeof(x));
		m->ext[i].offset = le64_to_cpu(x.offset);
		m->ext[i].tar_offset = le64_to_cpu(x.tar_offset);
		m->ext[i].length = le64_to_cpu(x.length);
		err = check_extent(m, i, end, why, whylen);
		if (err) {
			erofs_devmap_free(m);
			return err;
		}
		end = m->ext[i].offset + m->ext[i].length;
	}
	return 0;
}

int erofs_devmap_load(const struct erofs_annex *ax, uint16_t device,
		      struct erofs_devmap *m, char *why, size_t whylen)
{
	struct erofs_annex_entry e;

	memset(m, 0, sizeof(*m));
	if (!erofs_annex_find(ax, EROFS_ANNEX_DEVICE_MAP, device, &e))
		return -ENOENT;
	return erofs_devmap_decode(e.payload, e.length, m, why, whylen);
}

int erofs_devmap_layer_tag(const struct erofs_annex *ax, uint16_t device,
			   const uint8_t tag[64], uint8_t out[64],
			   char *why, size_t whylen)
{
	struct erofs_devmap m;
	char hex[65];
	int err = erofs_devmap_load(ax, device, &m, why, whylen);

	if (err == -ENOENT) {
		memcpy(out, tag, 64);
		return 0;
	}
	if (err)
		return err;
	erofs_sha256_hex(m.diff_id, hex);
	memcpy(out, hex, 64);
	erofs_devmap_free(&m);
	return 0;
}

/* the first extent that ends past @off: extents are sorted */
static uint32_t first_after(const struct erofs_devmap *m, uint64_t off)
{
	uint32_t lo = 0, hi = m->nr;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->ext[mid].offset + m->ext[mid].length <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int erofs_devmap_read(const struct erofs_devmap *m, uint64_t off,
		      size_t len, void *buf, erofs_devmap_read_fn read,
		      void *priv)
{
	uint64_t end = off + len;
	uint8_t *p = buf;
	uint32_t i;
	int err;

	if (off > m->size || len > m->size - off)
		return -ERANGE;
	for (i = first_after(m, off); off < end; i++) {
		const struct erofs_devmap_extent *e = i < m->nr ?
						      &m->ext[i] : NULL;
		uint64_t gap_end = e ? MIN(e->offset, end) : end;
		uint64_t n;

		if (off < gap_end) {
			memset(p, 0, gap_end - off);
			p += gap_end - off;
			off = gap_end;
		}
		if (!e || off >= end)
			break;
		n = MIN(end, e->offset + e->length) - off;
		err = read(priv, e->tar_offset + (off - e->offset), n, p);
		if (err)
			return err;
		p += n;
		off += n;
	}
	return 0;
}

void erofs_devmap_free_ptr(struct erofs_devmap **m)
{
	if (!*m)
		return;
	erofs_devmap_free(*m);
	free(*m);
	*m = NULL;
}

int erofs_devmap_attach(struct erofs_image *img, unsigned int index,
			uint64_t file_size, struct erofs_devmap **out)
{
	const struct erofs_device *dev = &img->devs[index];
	struct erofs_annex ax;
	struct erofs_devmap *m;
	char why[256];
	size_t whylen = sizeof(why);
	int err;

	*out = NULL;
	/* only index mode with blocks larger than the tar's maps devices */
	if (img->blkszbits <= 9)
		return 0;
	/*
	 * A damaged annex was reported by the load; the device is then read
	 * as it is, as any device of an image without maps (its size is
	 * still checked against the device table).
	 */
	if (erofs_annex_load(img, &ax) || !ax.nr)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m) {
		erofs_annex_free(&ax);
		return -ENOMEM;
	}
	err = erofs_devmap_load(&ax, index, m, why, whylen);
	erofs_annex_free(&ax);
	if (!err && m->size != erofs_pos(img, dev->blocks))
		err = BAD("device map: %llu bytes, the device table says %llu blocks",
			  (unsigned long long)m->size,
			  (unsigned long long)dev->blocks);
	if (err == -EFSCORRUPTED)
		erofs_corrupt(img, "annex: device %u: %s", index, why);
	/* the device itself attached, or no map: read as it is */
	if (err || file_size != m->tar_size) {
		erofs_devmap_free_ptr(&m);
		return err == -ENOENT ? 0 : err;
	}
	*out = m;
	return 0;
}
