/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading an image: the superblock and devices, inodes, directories,
 * xattrs and file data.  Nothing here trusts the image: every offset and
 * length is checked against the device it points into before it is used,
 * and every loop is bounded by what the image actually holds, so that a
 * hostile image gives -EFSCORRUPTED with a message naming what and where,
 * never a crash, a hang or an unbounded allocation.
 *
 * There is no global state: everything hangs off a struct erofs_image.
 */
#ifndef EROFS_READER_H
#define EROFS_READER_H

#include <errno.h>
#include <sys/types.h>
#include "erofs/erofs_fs.h"
#include "erofs/print.h"

#ifndef EFSCORRUPTED
#define EFSCORRUPTED	EUCLEAN		/* the image contradicts the format */
#endif

/* incompatible features this reader understands (compressed ones too:
 * it parses them and hands compressed extents to the z_erofs hooks) */
#define EROFS_READER_INCOMPAT \
	(EROFS_FEATURE_INCOMPAT_ZERO_PADDING | \
	 EROFS_FEATURE_INCOMPAT_COMPR_CFGS | \
	 EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER | \
	 EROFS_FEATURE_INCOMPAT_CHUNKED_FILE | \
	 EROFS_FEATURE_INCOMPAT_DEVICE_TABLE | \
	 EROFS_FEATURE_INCOMPAT_COMPR_HEAD2 | \
	 EROFS_FEATURE_INCOMPAT_ZTAILPACKING | \
	 EROFS_FEATURE_INCOMPAT_FRAGMENTS | \
	 EROFS_FEATURE_INCOMPAT_DEDUPE | \
	 EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES | \
	 EROFS_FEATURE_INCOMPAT_48BIT | \
	 EROFS_FEATURE_INCOMPAT_METABOX)

#define EROFS_NID_UNKNOWN	UINT64_MAX
#define EROFS_NULL_BLKADDR	UINT64_MAX	/* no block: a hole */
#define EROFS_SYMLINK_MAX	4095	/* PATH_MAX - 1 */

/* device 0 is the primary image; 1..extra_devices the device table's */
struct erofs_device {
	int fd;				/* -1 until attached */
	bool own_fd;
	char *path;
	uint64_t size;			/* bytes readable from fd */
	uint64_t offset;		/* where the device starts in fd */
	uint64_t blocks;		/* what the device table says */
	uint64_t mapped_blkaddr;	/* start in the flat (unified) space */
	bool missing_reported;		/* "not available" said once */
	uint8_t tag[64];
	/* a mapped layer device read from its tar (devmap.h), or NULL */
	struct erofs_devmap *map;
};

/* a long xattr name prefix: a short prefix index plus an infix */
struct erofs_xattr_prefix {
	uint8_t base_index;
	uint8_t infix_len;
	char infix[EROFS_NAME_LEN];
};

/*
 * Scratch for decoding compressed extents: grown, never shrunk, and the
 * last decoded extent is remembered so that reading a file piecewise
 * decodes each extent once.
 */
struct z_erofs_bufs {
	uint8_t *in, *out;
	size_t in_cap, out_cap;
	bool valid;			/* out holds extent (nid, la) */
	uint64_t nid, la;
	void *zstd;			/* a ZSTD_DCtx, made when first needed */
	unsigned int cfgs_ok;		/* algorithms whose record checked out */
	unsigned int zstd_windowlog;	/* from zstd's record */
	/* 4-byte extent records: where record @ext_idx's pcluster starts */
	bool ext_valid;
	uint64_t ext_nid, ext_idx, ext_pa;
};

void z_erofs_bufs_free(struct z_erofs_bufs *zb);

struct erofs_inode_info {
	uint64_t nid;			/* as in dirents: bit 63 for the metabox */
	bool in_metabox;		/* pos and iend count in the metabox */
	uint64_t pos;			/* byte offset of the inode (device 0
					 * or the metabox inode's content) */
	uint64_t iend;			/* end of inode + inline xattrs */
	uint16_t i_format;
	bool extended;
	bool dot_omitted;		/* a directory without "." */
	uint8_t datalayout;
	unsigned int inode_isize;	/* 32 or 64 */
	uint16_t xattr_icount;
	unsigned int xattr_isize;	/* bytes of inline xattrs */
	uint32_t mode;
	uint32_t nlink;
	uint32_t uid, gid;
	uint32_t ino;
	uint64_t size;
	int64_t mtime;			/* compact: epoch + i_mtime */
	uint32_t mtime_nsec;
	union erofs_inode_i_u raw_iu;	/* as on disk, for the z_erofs code */
	uint16_t raw_nb;		/* 48BIT: i_startblk_hi / i_blocks_hi */
	uint64_t raw_blkaddr;		/* flat layouts; EROFS_NULL_BLKADDR:
					 * a flat-plain file of holes only */
	uint32_t rdev;			/* devices, on-disk encoding */
	uint64_t compressed_blocks;	/* compressed layouts */
	uint16_t chunkformat;		/* chunk-based */
	unsigned int chunkbits;
};

struct erofs_image;
/*
 * Receives every corruption message instead of erofs_err() when set, so
 * that a caller (fsck) can add the path it is at and keep a list.
 */
typedef void (*erofs_report_fn)(void *arg, const char *text);

struct erofs_image {
	const struct erofs_msg *msg;
	erofs_report_fn report;
	void *report_arg;
	/*
	 * Set before opening by a caller that checks what it can of an
	 * image with incompatible features this reader does not know
	 * (they are left in unknown_incompat); others are refused them.
	 */
	bool open_unknown;
	uint32_t unknown_incompat;

	struct erofs_device *devs;	/* nr_devs entries */
	unsigned int nr_devs;		/* 1 + extra_devices */
	unsigned int missing_dev;	/* the last read's, with -ENODEV */
	uint16_t device_id_mask;

	/* the superblock, field by field */
	uint32_t magic, checksum;
	uint32_t feature_compat, feature_incompat;
	unsigned int blkszbits, blksz;
	uint8_t sb_extslots;
	unsigned int sb_size;		/* 128 + extslots * 16 */
	uint64_t root_nid;
	uint64_t inos;
	int64_t epoch;			/* compact inodes' mtime base */
	uint32_t fixed_nsec;		/* and their nanoseconds */
	int64_t build_time;		/* epoch + the build_time field */
	uint32_t build_time_nsec;
	uint64_t blocks;		/* with 48BIT, blocks_hi too */
	uint64_t file_size;		/* device 0's bytes, annex included */
	uint32_t meta_blkaddr, xattr_blkaddr;
	uint64_t metabox_nid;		/* METABOX: from the first ext slot */
	uint8_t uuid[16];
	char volume_name[17];		/* NUL-terminated copy */
	union {
		uint16_t available_compr_algs;	/* with COMPR_CFGS */
		uint16_t lz4_max_distance;	/* without */
	};
	uint16_t extra_devices, devt_slotoff;
	uint8_t dirblkbits;
	uint8_t xattr_prefix_count;
	uint32_t xattr_prefix_start;
	uint64_t packed_nid;
	uint8_t xattr_filter_reserved;
	uint8_t ishare_xattr_prefix_id;
	/* the superblock block from EROFS_SUPER_OFFSET (compression configs
	 * follow the 128 bytes); sb_area_len bytes */
	uint8_t *sb_area;
	unsigned int sb_area_len;

	struct erofs_xattr_prefix *prefixes;	/* xattr_prefix_count */
	int prefixes_err;		/* why they could not be loaded */

	/* the packed inode (fragments), read when first needed */
	struct erofs_inode_info packed;
	bool packed_loaded;
	/* the metabox inode (METABOX), read when first needed */
	struct erofs_inode_info metabox;
	bool metabox_loaded;

	struct z_erofs_bufs zbuf;
	struct z_erofs_bufs metabox_zbuf;	/* decoding the metabox */
};

int erofs_image_open(struct erofs_image *img, const struct erofs_msg *msg,
		     const char *path);
/* as erofs_image_open(), the image starting @offset bytes into @path */
int erofs_image_open_at(struct erofs_image *img, const struct erofs_msg *msg,
			const char *path, uint64_t offset);
/* as erofs_image_open() on an open descriptor (a memfd, say); @fd is
 * not closed by erofs_image_close() */
int erofs_image_open_fd(struct erofs_image *img, const struct erofs_msg *msg,
			int fd, const char *name);
/*
 * Only the superblock's 128 bytes, parsed field by field and believed in
 * nothing, so that what opens no further can still be shown (dump -s).
 * The image must be closed with erofs_image_close() whatever it returns.
 */
int erofs_image_peek_super(struct erofs_image *img,
			   const struct erofs_msg *msg, const char *path,
			   uint64_t offset);
/* attaches device @index (1-based, device-table order) from @path */
int erofs_image_add_device(struct erofs_image *img, unsigned int index,
			   const char *path);
void erofs_image_close(struct erofs_image *img);

/*
 * A second reader of an open image, for another thread: it shares the
 * descriptors and everything parsed at open time (read-only from then
 * on) and has its own decoding scratch and report hook.  It says nothing
 * about a missing device: its owner does, once, through
 * erofs_image_note_missing() on the image it was made from.  @img must
 * stay open while the view is used.
 */
int erofs_image_view_init(struct erofs_image *view,
			  const struct erofs_image *img);
void erofs_image_view_exit(struct erofs_image *view);
/* "device N is needed but not attached", said once per device */
void erofs_image_note_missing(struct erofs_image *img, unsigned int device);

/* exactly @len bytes at @pos of @device; past its end is corruption;
 * -ENODEV (once said per device) when the device is not attached */
int erofs_image_pread(struct erofs_image *img, int device, void *buf,
		      size_t len, uint64_t pos);
/* device 0's file past the filesystem's last block, where the annex is */
int erofs_image_pread_tail(struct erofs_image *img, void *buf, size_t len,
			   uint64_t pos);
/* reports a corruption (through img->report or erofs_err) */
int erofs_corrupt(struct erofs_image *img, const char *fmt, ...)
	EROFS_PRINTF(2, 3);

static inline uint64_t erofs_pos(const struct erofs_image *img, uint64_t blk)
{
	return blk << img->blkszbits;
}

static inline uint64_t erofs_dev_size(const struct erofs_image *img, int dev)
{
	return img->devs[dev].size;
}

/* --- inodes --- */

int erofs_read_inode(struct erofs_image *img, uint64_t nid,
		     struct erofs_inode_info *vi);

/*
 * The packed inode, which holds fragments (and may hold the long xattr
 * prefixes): read once, then kept.  Without one, -EFSCORRUPTED.  Only
 * with FRAGMENTS may file data point into it.
 */
int erofs_packed_inode(struct erofs_image *img,
		       const struct erofs_inode_info **pi);

/* the superblock names a packed inode (fragments may point into it) */
static inline bool erofs_has_packed_inode(const struct erofs_image *img)
{
	return (img->feature_incompat & EROFS_FEATURE_INCOMPAT_FRAGMENTS) &&
	       img->packed_nid;
}

/* reads a regular-file inode in no directory once, then keeps it */
int erofs_read_hidden_inode(struct erofs_image *img, uint64_t nid,
			    const char *what, struct erofs_inode_info *vi,
			    bool *loaded);

/*
 * The metabox inode (METABOX), read once, then kept; metadata reads
 * (@in_metabox: from its content, else from the primary device) and
 * the size of where they read.
 */
int erofs_metabox_inode(struct erofs_image *img,
			const struct erofs_inode_info **mi);
int erofs_meta_pread(struct erofs_image *img, bool in_metabox, void *buf,
		     size_t len, uint64_t pos);
int erofs_meta_size(struct erofs_image *img, bool in_metabox, uint64_t *size);

static inline bool erofs_inode_is_compressed(const struct erofs_inode_info *vi)
{
	return vi->datalayout == EROFS_INODE_COMPRESSED_FULL ||
	       vi->datalayout == EROFS_INODE_COMPRESSED_COMPACT;
}

const char *erofs_datalayout_name(unsigned int layout);

/* inodes by file type, as fsck and dump count them */
struct erofs_type_counts {
	uint64_t dirs, regular, symlinks, chrdevs, blkdevs, fifos, sockets;
};

void erofs_count_type(struct erofs_type_counts *c, uint32_t mode);
/* S_IF* of an EROFS_FT_* value, 0 when unknown */
unsigned int erofs_ftype_to_mode(unsigned int ftype);

/* --- directories --- */

/*
 * Called for each entry, "." and ".." included, in on-disk order.  A
 * non-zero return stops the iteration and is returned by it.
 */
typedef int (*erofs_dirent_fn)(void *arg, const char *name, unsigned int len,
			       uint64_t nid, unsigned int ftype);

/*
 * Iterates directory @dir, checking every block: dirent and name bounds,
 * names valid and sorted across the whole directory, "." naming @dir
 * (absent from a dot-omitted directory) and
 * ".." naming @parent_nid (not checked when EROFS_NID_UNKNOWN).
 */
int erofs_iterate_dir(struct erofs_image *img,
		      const struct erofs_inode_info *dir, uint64_t parent_nid,
		      erofs_dirent_fn fn, void *arg);

/* --- xattrs --- */

/*
 * Called for each xattr, inline ones first then shared ones in id order.
 * @index is the on-disk prefix index (with EROFS_XATTR_LONG_PREFIX for
 * long prefixes); @name the rest of the name.
 */
typedef int (*erofs_xattr_fn)(void *arg, unsigned int index,
			      const char *name, unsigned int name_len,
			      const void *value, unsigned int value_len);

int erofs_iterate_xattrs(struct erofs_image *img,
			 const struct erofs_inode_info *vi,
			 erofs_xattr_fn fn, void *arg);

#define EROFS_XATTR_NAME_MAX	(EROFS_NAME_LEN * 2 + 32)
/*
 * The full name ("user.foo") of an xattr into @out (NUL-terminated, at
 * least EROFS_XATTR_NAME_MAX bytes); its length, or -errno: -ENODATA
 * for a long prefix of no namespace known to the kernel (erofs-utils'
 * default inode digest name), which the kernel does not list.
 */
int erofs_xattr_full_name(struct erofs_image *img, unsigned int index,
			  const char *name, unsigned int name_len, char *out);

/* loads the long xattr name prefixes (done by erofs_image_open) */
int erofs_load_xattr_prefixes(struct erofs_image *img);

/* --- data --- */

#define EROFS_MAP_MAPPED	0x0001	/* pa is valid; else a hole */
#define EROFS_MAP_META		0x0002	/* inline, in the metadata */
#define EROFS_MAP_ENCODED	0x0004	/* compressed with @algorithm */
#define EROFS_MAP_FULL_MAPPED	0x0008	/* the extent decodes whole */
#define EROFS_MAP_FRAGMENT	0x0010	/* in the packed inode: pa is the
					 * offset of la in its content */
#define EROFS_MAP_PARTIAL_REF	0x0020	/* the extent uses only the start
					 * of what its pcluster decodes to */
#define EROFS_MAP_INTERLACED	0x0040	/* a stored pcluster (algorithm
					 * Z_EROFS_COMPRESSION_MAX) rotated by
					 * la's offset in its block */

/* [la, la + llen) of a file is stored at [pa, pa + plen) of @device */
struct erofs_map {
	uint64_t la, llen;
	uint64_t pa, plen;
	unsigned int device;
	unsigned int flags;
	unsigned int algorithm;		/* Z_EROFS_COMPRESSION_* if ENCODED */
};

/*
 * Which device holds mapped extent @map, whose pa is an address in the
 * unified space of device 0 (or, for chunk indexes, of map->device): an
 * address in an extra device's range moves to that device, unless the
 * device is not attached and the primary holds the bytes (a flat image).
 */
int erofs_map_device(struct erofs_image *img, const struct erofs_inode_info *vi,
		     struct erofs_map *map);

/* maps the extent containing byte @offset (< vi->size) */
int erofs_map_blocks(struct erofs_image *img,
		     const struct erofs_inode_info *vi, uint64_t offset,
		     struct erofs_map *map);

/*
 * Reads bytes [off, off + len) of extent @map, which erofs_map_blocks()
 * returned for @vi and which contains them: a caller that mapped a file
 * once (fsck) reads it without mapping it again.
 */
int erofs_read_mapped(struct erofs_image *img,
		      const struct erofs_inode_info *vi,
		      const struct erofs_map *map, void *buf, size_t len,
		      uint64_t off);

/*
 * Reads @len bytes of file content at @off (clamped to the file's size);
 * holes read as zeros.  Returns the bytes read or -errno.
 */
ssize_t erofs_pread_file(struct erofs_image *img,
			 const struct erofs_inode_info *vi, void *buf,
			 size_t len, uint64_t off);

/*
 * Compressed files (lib/zmap.c, lib/zdecompress.c).
 * z_erofs_read_extent() decodes the
 * extent @map and copies its bytes [off, off + len) -- which lie inside
 * [map->la, map->la + map->llen) -- to @buf.
 */
int z_erofs_map_blocks(struct erofs_image *img,
		       const struct erofs_inode_info *vi, uint64_t offset,
		       struct erofs_map *map);
/*
 * Where a compressed inode's metadata ends: its map header, indexes or
 * extent records, and an inline (ztailpacking) pcluster.
 */
int z_erofs_meta_end(struct erofs_image *img,
		     const struct erofs_inode_info *vi, uint64_t *end);
int z_erofs_read_extent(struct erofs_image *img,
			const struct erofs_inode_info *vi,
			const struct erofs_map *map, void *buf, size_t len,
			uint64_t off);

#endif
