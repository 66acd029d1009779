// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File content: mapping a file offset to where it is stored (flat blocks,
 * an inline tail, or chunks on any device) and reading through that map.
 * Compressed layouts are handed to the z_erofs hooks.
 */
#include <stdio.h>
#include <string.h>
#include "erofs/reader.h"

static int map_flat(struct erofs_image *img, const struct erofs_inode_info *vi,
		    uint64_t offset, struct erofs_map *map)
{
	uint64_t nblocks = DIV_ROUND_UP(vi->size, img->blksz);
	uint64_t lastblk = nblocks -
			   (vi->datalayout == EROFS_INODE_FLAT_INLINE);
	uint64_t tail_start = erofs_pos(img, lastblk);

	if (vi->raw_blkaddr == EROFS_NULL_BLKADDR) {
		/* no blocks at all: the whole file is a hole */
		map->la = offset;
		map->llen = vi->size - offset;
		return 0;
	}
	map->flags = EROFS_MAP_MAPPED;
	if (offset < tail_start) {
		map->la = offset;
		map->llen = MIN(tail_start, vi->size) - offset;
		map->pa = erofs_pos(img, vi->raw_blkaddr) + offset;
		map->plen = map->llen;
		/* flat blocks may be in an extra device's unified range too */
		return erofs_map_device(img, vi, map);
	} else {
		/* erofs_read_inode() checked that the tail fits its block */
		map->la = offset;
		map->llen = vi->size - offset;
		map->pa = vi->iend + (offset - tail_start);
		map->flags |= EROFS_MAP_META;
	}
	map->plen = map->llen;
	return 0;
}

/*
 * Which device really holds @map: an unattached extra device may live in
 * the primary at its mapped_blkaddr (a flat image), and with attached
 * devices the primary's unified address space may point into them.
 */
int erofs_map_device(struct erofs_image *img, const struct erofs_inode_info *vi,
		     struct erofs_map *map)
{
	struct erofs_device *dev;
	uint64_t start, len;
	unsigned int i;

	if (map->device) {
		if (map->device >= img->nr_devs)
			return erofs_corrupt(img, "nid %llu: chunk at offset %llu is on device %u, the image has %u extra device(s)",
					     (unsigned long long)vi->nid,
					     (unsigned long long)map->la,
					     map->device, img->nr_devs - 1);
		dev = &img->devs[map->device];
		/* unattached, but the primary may hold it (a flat image);
		 * 48-bit addresses make the sum's overflow possible */
		start = erofs_pos(img, dev->mapped_blkaddr);
		if (dev->fd < 0 && dev->mapped_blkaddr &&
		    start <= img->devs[0].size &&
		    map->pa <= img->devs[0].size - start &&
		    map->plen <= img->devs[0].size - start - map->pa) {
			map->pa += start;
			map->device = 0;
		}
		return 0;
	}
	for (i = 1; i < img->nr_devs; i++) {
		dev = &img->devs[i];
		if (!dev->mapped_blkaddr)
			continue;
		start = erofs_pos(img, dev->mapped_blkaddr);
		len = erofs_pos(img, dev->blocks);
		if (map->pa < start || map->pa - start >= len)
			continue;
		/*
		 * Inside device i's part of the unified address space: read it
		 * from that device, or from the primary if the primary holds
		 * it (a flat image); else the device must be attached.
		 */
		if (dev->fd >= 0 || map->plen > img->devs[0].size ||
		    map->pa > img->devs[0].size - map->plen) {
			map->pa -= start;
			map->device = i;
		}
		break;
	}
	return 0;
}

static int map_chunked(struct erofs_image *img,
		       const struct erofs_inode_info *vi, uint64_t offset,
		       struct erofs_map *map)
{
	bool indexes = vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES;
	unsigned int unit = indexes ? sizeof(struct erofs_inode_chunk_index) :
				      sizeof(__le32);
	uint64_t chunknr = offset >> vi->chunkbits;
	uint64_t pos = ROUND_UP(vi->iend, unit) + chunknr * unit;
	struct erofs_inode_chunk_index idx;
	uint64_t blkaddr, null = EROFS_NULL_ADDR;
	int err;

	/* in bounds: erofs_read_inode() checked the whole index array */
	err = erofs_meta_pread(img, vi->in_metabox, &idx, unit, pos);
	if (err)
		return err;
	map->la = chunknr << vi->chunkbits;
	map->llen = MIN(1ULL << vi->chunkbits, vi->size - map->la);
	map->plen = map->llen;
	map->device = 0;
	if (indexes) {
		blkaddr = le32_to_cpu(idx.blkaddr);
		/* startblk_hi was reserved, zero, before CHUNK_FORMAT_48BIT */
		if (vi->chunkformat & EROFS_CHUNK_FORMAT_48BIT) {
			blkaddr |= (uint64_t)le16_to_cpu(idx.startblk_hi) << 32;
			null = (1ULL << 48) - 1;
		}
		map->device = le16_to_cpu(idx.device_id) & img->device_id_mask;
	} else {
		__le32 raw;

		memcpy(&raw, &idx, sizeof(raw));
		blkaddr = le32_to_cpu(raw);
	}
	if (blkaddr == null) {
		map->flags = 0;
		map->pa = 0;
		return 0;
	}
	map->flags = EROFS_MAP_MAPPED;
	map->pa = erofs_pos(img, blkaddr);
	return erofs_map_device(img, vi, map);
}

/* the extent must be inside the device it names */
static int check_extent(struct erofs_image *img,
			const struct erofs_inode_info *vi,
			const struct erofs_map *map)
{
	const struct erofs_device *dev = &img->devs[map->device];

	if (!(map->flags & EROFS_MAP_MAPPED) || dev->fd < 0)
		return 0;
	/* erofs_meta_pread() bounds what lies in the metabox */
	if ((map->flags & EROFS_MAP_META) && vi->in_metabox)
		return 0;
	if (map->pa > dev->size || map->plen > dev->size - map->pa)
		return erofs_corrupt(img, "nid %llu: bytes %llu..%llu are stored at byte %llu of device %u, past its end (%llu bytes)",
				     (unsigned long long)vi->nid,
				     (unsigned long long)map->la,
				     (unsigned long long)(map->la + map->llen - 1),
				     (unsigned long long)map->pa, map->device,
				     (unsigned long long)dev->size);
	return 0;
}

int erofs_map_blocks(struct erofs_image *img,
		     const struct erofs_inode_info *vi, uint64_t offset,
		     struct erofs_map *map)
{
	int err;

	memset(map, 0, sizeof(*map));
	if (offset >= vi->size) {
		/* past the end: an empty, unmapped extent */
		map->la = offset;
		return 0;
	}
	switch (vi->datalayout) {
	case EROFS_INODE_FLAT_PLAIN:
	case EROFS_INODE_FLAT_INLINE:
		err = map_flat(img, vi, offset, map);
		break;
	case EROFS_INODE_CHUNK_BASED:
		err = map_chunked(img, vi, offset, map);
		break;
	default:
		err = z_erofs_map_blocks(img, vi, offset, map);
		break;
	}
	if (err)
		return err;
	if (map->la > offset || map->llen <= offset - map->la)
		return erofs_corrupt(img, "nid %llu: the extent mapped for offset %llu (%llu+%llu) does not contain it",
				     (unsigned long long)vi->nid,
				     (unsigned long long)offset,
				     (unsigned long long)map->la,
				     (unsigned long long)map->llen);
	if (map->flags & (EROFS_MAP_ENCODED | EROFS_MAP_FRAGMENT))
		return 0;
	return check_extent(img, vi, map);
}

/* bytes of a fragment: zmap checked that the packed inode holds them */
static int read_fragment(struct erofs_image *img,
			 const struct erofs_inode_info *vi,
			 const struct erofs_map *map, void *buf, uint64_t len,
			 uint64_t off)
{
	const struct erofs_inode_info *packed;
	ssize_t got;
	int err;

	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_FRAGMENTS))
		return erofs_corrupt(img, "nid %llu: a fragment, but the image has no fragments feature",
				     (unsigned long long)vi->nid);
	err = erofs_packed_inode(img, &packed);
	if (err)
		return err;
	got = erofs_pread_file(img, packed, buf, len, map->pa + (off - map->la));
	if (got < 0)
		return got;
	if ((uint64_t)got != len)
		return erofs_corrupt(img, "nid %llu: fragment cut short by the packed inode's end",
				     (unsigned long long)vi->nid);
	return 0;
}

int erofs_read_mapped(struct erofs_image *img,
		      const struct erofs_inode_info *vi,
		      const struct erofs_map *map, void *buf, size_t len,
		      uint64_t off)
{
	if (!(map->flags & EROFS_MAP_MAPPED)) {
		memset(buf, 0, len);
		return 0;
	}
	if (map->flags & EROFS_MAP_FRAGMENT)
		return read_fragment(img, vi, map, buf, len, off);
	if (map->flags & EROFS_MAP_ENCODED)
		return z_erofs_read_extent(img, vi, map, buf, len, off);
	if ((map->flags & EROFS_MAP_META) && !map->device)
		return erofs_meta_pread(img, vi->in_metabox, buf, len,
					map->pa + (off - map->la));
	return erofs_image_pread(img, map->device, buf, len,
				 map->pa + (off - map->la));
}

ssize_t erofs_pread_file(struct erofs_image *img,
			 const struct erofs_inode_info *vi, void *buf,
			 size_t len, uint64_t off)
{
	uint8_t *p = buf;
	uint64_t cur = off, end;
	struct erofs_map map;
	int err;

	if (off >= vi->size)
		return 0;
	end = off + MIN(len, vi->size - off);
	while (cur < end) {
		uint64_t n;

		err = erofs_map_blocks(img, vi, cur, &map);
		if (err)
			return err;
		/* erofs_map_blocks() guarantees progress: cur is inside */
		n = MIN(end - cur, map.la + map.llen - cur);
		err = erofs_read_mapped(img, vi, &map, p, n, cur);
		if (err)
			return err;
		p += n;
		cur += n;
	}
	return end - off;
}
