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

/*
 * Bit 4 of i_format: on a compact non-directory, nlink is 1 and i_nb
 * holds bits 32..47 of its block number; on a directory, "." is omitted.
 */
static bool format_bit4(const struct erofs_inode_info *vi)
{
	return (vi->i_format >> EROFS_I_NLINK_1_BIT) & 1;
}

static void parse_compact(struct erofs_image *img, struct erofs_inode_info *vi,
			  const struct erofs_inode_compact *ic)
{
	vi->xattr_icount = le16_to_cpu(ic->i_xattr_icount);
	vi->mode = le16_to_cpu(ic->i_mode);
	if (!S_ISDIR(vi->mode) && format_bit4(vi)) {
		vi->nlink = 1;
		vi->raw_nb = le16_to_cpu(ic->i_startblk_hi);
	} else {
		vi->nlink = le16_to_cpu(ic->i_nlink);
	}
	vi->size = le32_to_cpu(ic->i_size);
	vi->raw_iu = ic->i_u;
	vi->ino = le32_to_cpu(ic->i_ino);
	vi->uid = le16_to_cpu(ic->i_uid);
	vi->gid = le16_to_cpu(ic->i_gid);
	/* an offset from the epoch, zero in images older than 48BIT */
	vi->mtime = img->epoch + le32_to_cpu(ic->i_mtime);
	vi->mtime_nsec = img->fixed_nsec;
}

static void parse_extended(struct erofs_inode_info *vi,
			   const struct erofs_inode_extended *ie)
{
	vi->xattr_icount = le16_to_cpu(ie->i_xattr_icount);
	vi->mode = le16_to_cpu(ie->i_mode);
	/* reserved, so zero, before 48BIT */
	vi->raw_nb = le16_to_cpu(ie->i_startblk_hi);
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
	/* even an empty directory holds ".." and, unless omitted, "." */
	if (S_ISDIR(vi->mode) &&
	    vi->size < (2 - vi->dot_omitted) * sizeof(struct erofs_dirent) +
		       3 - vi->dot_omitted)
		return erofs_corrupt(img, "nid %llu: directory of %llu bytes cannot hold %s",
				     (unsigned long long)nid,
				     (unsigned long long)vi->size,
				     vi->dot_omitted ? ".." : ". and ..");
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
	uint64_t tail, tailpos, metasize;
	int err;

	if (!vi->size || vi->raw_blkaddr == EROFS_NULL_BLKADDR)
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
		err = erofs_meta_size(img, vi->in_metabox, &metasize);
		if (err)
			return err;
		if (tailpos + tail > metasize)
			return erofs_corrupt(img, "nid %llu: inline tail at byte %llu runs past the end of the %s",
					     (unsigned long long)vi->nid,
					     (unsigned long long)tailpos,
					     vi->in_metabox ? "metabox" : "image");
	}
	if (nblocks && (vi->raw_blkaddr > devblocks ||
			nblocks > devblocks - vi->raw_blkaddr))
		return erofs_corrupt(img, "nid %llu: %llu data blocks from block %llu run past the image end (%llu blocks)",
				     (unsigned long long)vi->nid,
				     (unsigned long long)nblocks,
				     (unsigned long long)vi->raw_blkaddr,
				     (unsigned long long)devblocks);
	return 0;
}

static int check_chunked(struct erofs_image *img, struct erofs_inode_info *vi)
{
	uint64_t unit, nchunks, start, metasize;
	int err;

	if (vi->chunkformat & ~EROFS_CHUNK_FORMAT_ALL)
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
	if ((vi->chunkformat & EROFS_CHUNK_FORMAT_48BIT) &&
	    !(vi->chunkformat & EROFS_CHUNK_FORMAT_INDEXES))
		return erofs_corrupt(img, "nid %llu: 48-bit chunk format 0x%x without chunk indexes",
				     (unsigned long long)vi->nid,
				     vi->chunkformat);
	err = erofs_meta_size(img, vi->in_metabox, &metasize);
	if (err)
		return err;
	/* the whole index array must be in the image: bounds every lookup */
	if (nchunks > (metasize - MIN(start, metasize)) / unit)
		return erofs_corrupt(img, "nid %llu: %llu chunk indexes at byte %llu run past the end of the %s",
				     (unsigned long long)vi->nid,
				     (unsigned long long)nchunks,
				     (unsigned long long)start,
				     vi->in_metabox ? "metabox" : "image");
	return 0;
}

static int read_core(struct erofs_image *img, struct erofs_inode_info *vi,
		     uint64_t size)
{
	union {
		struct erofs_inode_compact c;
		struct erofs_inode_extended e;
	} raw;
	int err;

	if (vi->pos + sizeof(raw.c) > size)
		return erofs_corrupt(img, "nid %llu: inode at byte %llu is outside the %s",
				     (unsigned long long)vi->nid,
				     (unsigned long long)vi->pos,
				     vi->in_metabox ? "metabox" : "image");
	err = erofs_meta_pread(img, vi->in_metabox, &raw.c, sizeof(raw.c),
			       vi->pos);
	if (err)
		return err;
	vi->i_format = le16_to_cpu(raw.c.i_format);
	if (vi->i_format & ~EROFS_I_ALL)
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
	} else {
		/* an extended inode may straddle a block boundary: read it whole */
		vi->inode_isize = sizeof(raw.e);
		if (vi->pos + sizeof(raw.e) > size)
			return erofs_corrupt(img, "nid %llu: extended inode at byte %llu runs past the end of the %s",
					     (unsigned long long)vi->nid,
					     (unsigned long long)vi->pos,
					     vi->in_metabox ? "metabox" : "image");
		err = erofs_meta_pread(img, vi->in_metabox, &raw.e,
				       sizeof(raw.e), vi->pos);
		if (err)
			return err;
		parse_extended(vi, &raw.e);
	}
	vi->dot_omitted = S_ISDIR(vi->mode) && format_bit4(vi);
	return 0;
}

/*
 * Block numbers are 48 bits where i_nb may carry the high ones (extended
 * inodes, compact ones with nlink 1); a flat-plain file whose address is
 * all ones in those bits has no blocks: it reads as zeros.
 */
static void parse_addresses(struct erofs_inode_info *vi)
{
	uint64_t lo = le32_to_cpu(vi->raw_iu.raw_blkaddr);
	bool wide = vi->extended || (!S_ISDIR(vi->mode) && format_bit4(vi));
	uint64_t mask = wide ? (1ULL << 48) - 1 : (1ULL << 32) - 1;

	if (S_ISCHR(vi->mode) || S_ISBLK(vi->mode)) {
		vi->rdev = le32_to_cpu(vi->raw_iu.rdev);
		return;
	}
	if (S_ISFIFO(vi->mode) || S_ISSOCK(vi->mode))
		return;
	vi->raw_blkaddr = lo | (uint64_t)vi->raw_nb << 32;
	if (erofs_inode_is_compressed(vi))
		vi->compressed_blocks = vi->raw_blkaddr;
	if (vi->datalayout == EROFS_INODE_FLAT_PLAIN &&
	    (vi->raw_blkaddr & mask) == mask)
		vi->raw_blkaddr = EROFS_NULL_BLKADDR;
}

int erofs_read_inode(struct erofs_image *img, uint64_t nid,
		     struct erofs_inode_info *vi)
{
	uint64_t size, base = 0, slot = nid & EROFS_DIRENT_NID_MASK;
	int err;

	memset(vi, 0, sizeof(*vi));
	vi->nid = nid;
	vi->in_metabox = nid >> EROFS_DIRENT_NID_METABOX_BIT;
	err = erofs_meta_size(img, vi->in_metabox, &size);
	if (err)
		return err;
	/* nids count from meta_blkaddr, or from the metabox's start */
	if (!vi->in_metabox)
		base = erofs_pos(img, img->meta_blkaddr);
	if (base > size || slot > (size - base) >> EROFS_ISLOTBITS)
		return erofs_corrupt(img, "nid %llu is outside the %s",
				     (unsigned long long)slot,
				     vi->in_metabox ? "metabox" : "image");
	vi->pos = base + (slot << EROFS_ISLOTBITS);
	err = read_core(img, vi, size);
	if (err)
		return err;
	vi->xattr_isize = erofs_xattr_ibody_size(vi->xattr_icount);
	vi->iend = vi->pos + vi->inode_isize + vi->xattr_isize;
	if (vi->iend > size)
		return erofs_corrupt(img, "nid %llu: %u bytes of inline xattrs run past the end of the %s",
				     (unsigned long long)nid, vi->xattr_isize,
				     vi->in_metabox ? "metabox" : "image");
	err = check_type_and_size(img, vi);
	if (err)
		return err;
	parse_addresses(vi);
	switch (vi->datalayout) {
	case EROFS_INODE_FLAT_PLAIN:
	case EROFS_INODE_FLAT_INLINE:
		return check_flat(img, vi);
	case EROFS_INODE_CHUNK_BASED:
		vi->chunkformat = le16_to_cpu(vi->raw_iu.c.format);
		return check_chunked(img, vi);
	default:
		return 0;
	}
}

int erofs_read_hidden_inode(struct erofs_image *img, uint64_t nid,
			    const char *what, struct erofs_inode_info *vi,
			    bool *loaded)
{
	int err;

	if (*loaded)
		return 0;
	err = erofs_read_inode(img, nid, vi);
	if (err)
		return err;
	if (!S_ISREG(vi->mode))
		return erofs_corrupt(img, "%s inode nid %llu is not a regular file (i_mode 0%o)",
				     what, (unsigned long long)nid, vi->mode);
	*loaded = true;
	return 0;
}

int erofs_packed_inode(struct erofs_image *img,
		       const struct erofs_inode_info **pi)
{
	if (!img->packed_nid)
		return erofs_corrupt(img, "the packed inode is referred to, but the superblock names none");
	*pi = &img->packed;
	return erofs_read_hidden_inode(img, img->packed_nid, "packed",
				       &img->packed, &img->packed_loaded);
}
