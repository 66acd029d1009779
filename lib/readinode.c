// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading one inode: compact or extended core, and the checks that make
 * every later use of its fields safe -- where its inline xattrs and data
 * end, and that its data blocks lie inside the device.
 */
#include <string.h>
#include <sys/stat.h>
#include "erofs/reader.h"

void erofs_count_type(struct erofs_type_counts *c, uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:	c->dirs++; break;
	case S_IFREG:	c->regular++; break;
	case S_IFLNK:	c->symlinks++; break;
	case S_IFCHR:	c->chrdevs++; break;
	case S_IFBLK:	c->blkdevs++; break;
	case S_IFIFO:	c->fifos++; break;
	case S_IFSOCK:	c->sockets++; break;
	}
}

const char *erofs_datalayout_name(unsigned int layout)
{
	static const char *const names[] = {
		[EROFS_INODE_FLAT_PLAIN] = "flat-plain",
		[EROFS_INODE_COMPRESSED_FULL] = "compressed-full",
		[EROFS_INODE_FLAT_INLINE] = "flat-inline",
		[EROFS_INODE_COMPRESSED_COMPACT] = "compressed-compact",
		[EROFS_INODE_CHUNK_BASED] = "chunk-based",
	};

	return layout < ARRAY_SIZE(names) ? names[layout] : "unknown";
}

unsigned int erofs_ftype_to_mode(unsigned int ftype)
{
	static const unsigned int modes[EROFS_FT_MAX] = {
		[EROFS_FT_REG_FILE] = S_IFREG,
		[EROFS_FT_DIR] = S_IFDIR,
		[EROFS_FT_CHRDEV] = S_IFCHR,
		[EROFS_FT_BLKDEV] = S_IFBLK,
		[EROFS_FT_FIFO] = S_IFIFO,
		[EROFS_FT_SOCK] = S_IFSOCK,
		[EROFS_FT_SYMLINK] = S_IFLNK,
	};

	return ftype < EROFS_FT_MAX ? modes[ftype] : 0;
}

static void parse_compact(struct erofs_image *img, struct erofs_inode_info *vi,
			  const struct erofs_inode_compact *ic)
{
	vi->xattr_icount = le16_to_cpu(ic->i_xattr_icount);
	vi->mode = le16_to_cpu(ic->i_mode);
	vi->nlink = le16_to_cpu(ic->i_nlink);
	vi->size = le32_to_cpu(ic->i_size);
	vi->raw_iu = ic->i_u;
	vi->ino = le32_to_cpu(ic->i_ino);
	vi->uid = le16_to_cpu(ic->i_uid);
	vi->gid = le16_to_cpu(ic->i_gid);
	/* compact inodes carry no time: they all have the build time */
	vi->mtime = img->build_time;
	vi->mtime_nsec = img->build_time_nsec;
}

static void parse_extended(struct erofs_inode_info *vi,
			   const struct erofs_inode_extended *ie)
{
	vi->xattr_icount = le16_to_cpu(ie->i_xattr_icount);
	vi->mode = le16_to_cpu(ie->i_mode);
	vi->size = le64_to_cpu(ie->i_size);
	vi->raw_iu = ie->i_u;
	vi->ino = le32_to_cpu(ie->i_ino);
	vi->uid = le32_to_cpu(ie->i_uid);
	vi->gid = le32_to_cpu(ie->i_gid);
	vi->mtime = le64_to_cpu(ie->i_mtime);
	vi->mtime_nsec = le32_to_cpu(ie->i_mtime_nsec);
	vi->nlink = le32_to_cpu(ie->i_nlink);
}

/* which layouts each file type may have */
static bool layout_allowed(uint32_t mode, unsigned int layout)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return true;
	case S_IFDIR:
	case S_IFLNK:
		return layout != EROFS_INODE_CHUNK_BASED;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return layout == EROFS_INODE_FLAT_PLAIN ||
		       layout == EROFS_INODE_FLAT_INLINE;
	}
	return false;
}

static int check_type_and_size(struct erofs_image *img,
			       struct erofs_inode_info *vi)
{
	uint64_t nid = vi->nid;

	switch (vi->mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	default:
		return erofs_corrupt(img, "nid %llu: bogus file type in i_mode 0%o",
				     (unsigned long long)nid, vi->mode);
	}
	if (!layout_allowed(vi->mode, vi->datalayout))
		return erofs_corrupt(img, "nid %llu: data layout %s is not allowed for i_mode 0%o",
				     (unsigned long long)nid,
				     erofs_datalayout_name(vi->datalayout),
				     vi->mode);
	if (S_ISLNK(vi->mode) && (!vi->size || vi->size > EROFS_SYMLINK_MAX))
		return erofs_corrupt(img, "nid %llu: symlink of %llu bytes (must be 1..%u)",
				     (unsigned long long)nid,
				     (unsigned long long)vi->size,
				     EROFS_SYMLINK_MAX);
	/* even an empty directory holds "." and ".." */
	if (S_ISDIR(vi->mode) && vi->size < 2 * sizeof(struct erofs_dirent) + 3)
		return erofs_corrupt(img, "nid %llu: directory of %llu bytes cannot hold . and ..",
				     (unsigned long long)nid,
				     (unsigned long long)vi->size);
	if ((S_ISCHR(vi->mode) || S_ISBLK(vi->mode) || S_ISFIFO(vi->mode) ||
	     S_ISSOCK(vi->mode)) && vi->size)
		return erofs_corrupt(img, "nid %llu: special file (i_mode 0%o) with size %llu",
				     (unsigned long long)nid, vi->mode,
				     (unsigned long long)vi->size);
	if (!vi->nlink)
		return erofs_corrupt(img, "nid %llu: nlink is 0",
				     (unsigned long long)nid);
	return 0;
}

/* flat layouts: the blocks in the data area, then the inline tail */
static int check_flat(struct erofs_image *img, struct erofs_inode_info *vi)
{
	uint64_t nblocks = DIV_ROUND_UP(vi->size, img->blksz);
	uint64_t devblocks = img->devs[0].size >> img->blkszbits;
	uint64_t tail, tailpos;

	if (!vi->size)
		return 0;
	if (vi->datalayout == EROFS_INODE_FLAT_INLINE) {
		nblocks--;
		tail = vi->size - erofs_pos(img, nblocks);
		tailpos = vi->iend;
		if ((tailpos & (img->blksz - 1)) + tail > img->blksz)
			return erofs_corrupt(img, "nid %llu: inline tail of %llu bytes at byte %llu crosses its block's end",
					     (unsigned long long)vi->nid,
					     (unsigned long long)tail,
					     (unsigned long long)tailpos);
		if (tailpos + tail > img->devs[0].size)
			return erofs_corrupt(img, "nid %llu: inline tail at byte %llu runs past the image end",
					     (unsigned long long)vi->nid,
					     (unsigned long long)tailpos);
	}
	if (nblocks && (vi->raw_blkaddr > devblocks ||
			nblocks > devblocks - vi->raw_blkaddr))
		return erofs_corrupt(img, "nid %llu: %llu data blocks from block %u run past the image end (%llu blocks)",
				     (unsigned long long)vi->nid,
				     (unsigned long long)nblocks, vi->raw_blkaddr,
				     (unsigned long long)devblocks);
	return 0;
}

static int check_chunked(struct erofs_image *img, struct erofs_inode_info *vi)
{
	uint64_t unit, nchunks, start;

	if (vi->chunkformat & ~(EROFS_CHUNK_FORMAT_ALL & ~EROFS_CHUNK_FORMAT_48BIT))
		return erofs_corrupt(img, "nid %llu: unknown chunk format bits 0x%x",
				     (unsigned long long)vi->nid,
				     vi->chunkformat);
	vi->chunkbits = img->blkszbits +
			(vi->chunkformat & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
	if (vi->chunkbits > 47)
		return erofs_corrupt(img, "nid %llu: chunks of 2^%u bytes",
				     (unsigned long long)vi->nid, vi->chunkbits);
	unit = vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES ?
	       sizeof(struct erofs_inode_chunk_index) : sizeof(__le32);
	nchunks = DIV_ROUND_UP(vi->size, 1ULL << vi->chunkbits);
	start = ROUND_UP(vi->iend, unit);
	/* the whole index array must be in the image: bounds every lookup */
	if (nchunks > (img->devs[0].size - MIN(start, img->devs[0].size)) / unit)
		return erofs_corrupt(img, "nid %llu: %llu chunk indexes at byte %llu run past the image end",
				     (unsigned long long)vi->nid,
				     (unsigned long long)nchunks,
				     (unsigned long long)start);
	return 0;
}

static int read_core(struct erofs_image *img, struct erofs_inode_info *vi)
{
	union {
		struct erofs_inode_compact c;
		struct erofs_inode_extended e;
	} raw;
	uint64_t size = img->devs[0].size;
	int err;

	if (vi->pos + sizeof(raw.c) > size)
		return erofs_corrupt(img, "nid %llu: inode at byte %llu is outside the image",
				     (unsigned long long)vi->nid,
				     (unsigned long long)vi->pos);
	err = erofs_image_pread(img, 0, &raw.c, sizeof(raw.c), vi->pos);
	if (err)
		return err;
	vi->i_format = le16_to_cpu(raw.c.i_format);
	/* bit 4 (nlink 1 / dot omitted) is not read yet: refuse, never guess */
	if (vi->i_format & ~(EROFS_I_ALL & ~(1U << EROFS_I_NLINK_1_BIT)))
		return erofs_corrupt(img, "nid %llu: unknown i_format bits 0x%x",
				     (unsigned long long)vi->nid, vi->i_format);
	vi->extended = (vi->i_format >> EROFS_I_VERSION_BIT) &
		       EROFS_I_VERSION_MASK;
	vi->datalayout = (vi->i_format >> EROFS_I_DATALAYOUT_BIT) &
			 EROFS_I_DATALAYOUT_MASK;
	if (vi->datalayout >= EROFS_INODE_DATALAYOUT_MAX)
		return erofs_corrupt(img, "nid %llu: unknown data layout %u",
				     (unsigned long long)vi->nid,
				     vi->datalayout);
	if (!vi->extended) {
		vi->inode_isize = sizeof(raw.c);
		parse_compact(img, vi, &raw.c);
		return 0;
	}
	/* an extended inode may straddle a block boundary: read it whole */
	vi->inode_isize = sizeof(raw.e);
	if (vi->pos + sizeof(raw.e) > size)
		return erofs_corrupt(img, "nid %llu: extended inode at byte %llu runs past the image end",
				     (unsigned long long)vi->nid,
				     (unsigned long long)vi->pos);
	err = erofs_image_pread(img, 0, &raw.e, sizeof(raw.e), vi->pos);
	if (err)
		return err;
	parse_extended(vi, &raw.e);
	return 0;
}

int erofs_read_inode(struct erofs_image *img, uint64_t nid,
		     struct erofs_inode_info *vi)
{
	uint64_t meta = erofs_pos(img, img->meta_blkaddr);
	int err;

	memset(vi, 0, sizeof(*vi));
	vi->nid = nid;
	if (nid > (img->devs[0].size - meta) >> EROFS_ISLOTBITS)
		return erofs_corrupt(img, "nid %llu is outside the image",
				     (unsigned long long)nid);
	vi->pos = meta + (nid << EROFS_ISLOTBITS);
	err = read_core(img, vi);
	if (err)
		return err;
	vi->xattr_isize = erofs_xattr_ibody_size(vi->xattr_icount);
	vi->iend = vi->pos + vi->inode_isize + vi->xattr_isize;
	if (vi->iend > img->devs[0].size)
		return erofs_corrupt(img, "nid %llu: %u bytes of inline xattrs run past the image end",
				     (unsigned long long)nid, vi->xattr_isize);
	err = check_type_and_size(img, vi);
	if (err)
		return err;

	if (S_ISCHR(vi->mode) || S_ISBLK(vi->mode))
		vi->rdev = le32_to_cpu(vi->raw_iu.rdev);
	else
		vi->raw_blkaddr = le32_to_cpu(vi->raw_iu.raw_blkaddr);
	switch (vi->datalayout) {
	case EROFS_INODE_FLAT_PLAIN:
	case EROFS_INODE_FLAT_INLINE:
		return check_flat(img, vi);
	case EROFS_INODE_CHUNK_BASED:
		vi->chunkformat = le16_to_cpu(vi->raw_iu.c.format);
		return check_chunked(img, vi);
	default:
		vi->compressed_blocks = le32_to_cpu(vi->raw_iu.compressed_blocks);
		return 0;
	}
}

int erofs_packed_inode(struct erofs_image *img,
		       const struct erofs_inode_info **pi)
{
	int err;

	if (img->packed_loaded) {
		*pi = &img->packed;
		return 0;
	}
	if (!erofs_has_packed_inode(img))
		return erofs_corrupt(img, "fragments referred to, but the image has no packed inode");
	err = erofs_read_inode(img, img->packed_nid, &img->packed);
	if (err)
		return err;
	if (!S_ISREG(img->packed.mode))
		return erofs_corrupt(img, "packed inode nid %llu is not a regular file (i_mode 0%o)",
				     (unsigned long long)img->packed_nid,
				     img->packed.mode);
	img->packed_loaded = true;
	*pi = &img->packed;
	return 0;
}
