/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The EROFS on-disk format: the only place the toolkit spells out byte
 * layouts.  Every multi-byte field is little-endian on disk (the __le*
 * types of <linux/types.h>); conversion is done with the helpers in
 * defs.h.  Facts follow the kernel's fs/erofs/erofs_fs.h.
 */
#ifndef EROFS_EROFS_FS_H
#define EROFS_EROFS_FS_H

#include <linux/types.h>
#include <stdint.h>

#define EROFS_SUPER_MAGIC_V1	0xE0F5E1E2U
#define EROFS_SUPER_OFFSET	1024
#define EROFS_SB_EXTSLOT_SIZE	16

#define EROFS_MIN_BLKSZBITS	9
#define EROFS_MAX_BLKSZBITS	16

/* compatible features: a reader that does not know them may ignore them */
#define EROFS_FEATURE_COMPAT_SB_CHKSUM		0x00000001
#define EROFS_FEATURE_COMPAT_MTIME		0x00000002
#define EROFS_FEATURE_COMPAT_XATTR_FILTER	0x00000004
#define EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX 0x00000008
#define EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX	0x00000010	/* prefixes not in the packed inode */
#define EROFS_FEATURE_COMPAT_ISHARE_XATTRS	0x00000020

/* incompatible features: a reader must refuse an image with unknown ones */
#define EROFS_FEATURE_INCOMPAT_ZERO_PADDING	0x00000001
#define EROFS_FEATURE_INCOMPAT_COMPR_CFGS	0x00000002
#define EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER	0x00000002
#define EROFS_FEATURE_INCOMPAT_CHUNKED_FILE	0x00000004
#define EROFS_FEATURE_INCOMPAT_DEVICE_TABLE	0x00000008
#define EROFS_FEATURE_INCOMPAT_COMPR_HEAD2	0x00000008
#define EROFS_FEATURE_INCOMPAT_ZTAILPACKING	0x00000010
#define EROFS_FEATURE_INCOMPAT_FRAGMENTS	0x00000020
#define EROFS_FEATURE_INCOMPAT_DEDUPE		0x00000020
#define EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES	0x00000040
#define EROFS_FEATURE_INCOMPAT_48BIT		0x00000080	/* 48-bit block addresses */
#define EROFS_FEATURE_INCOMPAT_METABOX		0x00000100	/* metadata in an inode */

struct erofs_deviceslot {
	uint8_t tag[64];		/* content digest naming the device */
	__le32 blocks;			/* blocks of this device */
	__le32 mapped_blkaddr;		/* first block in the unified space */
	__le16 blocks_hi;		/* 48BIT: bits 32..47 of blocks */
	__le16 mapped_blkaddr_hi;	/* 48BIT: of mapped_blkaddr */
	uint8_t reserved[52];
};
#define EROFS_DEVT_SLOT_SIZE	sizeof(struct erofs_deviceslot)

/*
 * 128 bytes at EROFS_SUPER_OFFSET of the primary device, then sb_extslots
 * 16-byte slots (the first holds metabox_nid), then compression configs.
 * Compact inodes take their mtime as epoch + i_mtime, fixed_nsec.
 */
struct erofs_super_block {
	__le32 magic;			/*   0 */
	__le32 checksum;		/*   4: crc32c of the rest of the block */
	__le32 feature_compat;		/*   8 */
	uint8_t blkszbits;		/*  12 */
	uint8_t sb_extslots;		/*  13: 128 + n * 16 bytes */
	union {
		__le16 root_nid;	/*  14 */
		__le16 blocks_hi;	/*  14: 48BIT, root nid at 112 */
	};
	__le64 inos;			/*  16: number of inodes */
	__le64 epoch;			/*  24: base of compact inodes' mtime */
	__le32 fixed_nsec;		/*  32: their nanoseconds */
	__le32 blocks;			/*  36: size of the primary device */
	__le32 meta_blkaddr;		/*  40: nid 0 lives here */
	__le32 xattr_blkaddr;		/*  44: shared xattr ids count from here */
	uint8_t uuid[16];		/*  48 */
	uint8_t volume_name[16];	/*  64 */
	__le32 feature_incompat;	/*  80 */
	__le16 u1;			/*  84: compr algs bitmap or lz4 distance */
	__le16 extra_devices;		/*  86 */
	__le16 devt_slotoff;		/*  88: table at devt_slotoff * 128 */
	uint8_t dirblkbits;		/*  90: must be 0 */
	uint8_t xattr_prefix_count;	/*  91 */
	__le32 xattr_prefix_start;	/*  92 */
	__le64 packed_nid;		/*  96 */
	uint8_t xattr_filter_reserved;	/* 104 */
	uint8_t ishare_xattr_prefix_id;	/* 105 */
	uint8_t reserved[2];		/* 106 */
	__le32 build_time;		/* 108: image made at epoch + this */
	__le64 root_nid_8b;		/* 112: 48BIT root nid */
	__le64 reserved2;		/* 120 */
};

/* the first extension slot (sb_extslots >= 1) */
struct erofs_super_block_ext {
	__le64 metabox_nid;		/* 128: METABOX: the metabox inode */
	__le64 reserved3;		/* 136 */
};

/* data layouts, i_format bits 1..3 */
enum {
	EROFS_INODE_FLAT_PLAIN		= 0,
	EROFS_INODE_COMPRESSED_FULL	= 1,
	EROFS_INODE_FLAT_INLINE		= 2,
	EROFS_INODE_COMPRESSED_COMPACT	= 3,
	EROFS_INODE_CHUNK_BASED		= 4,
	EROFS_INODE_DATALAYOUT_MAX
};

#define EROFS_I_VERSION_BIT		0
#define EROFS_I_VERSION_MASK		0x01
#define EROFS_I_DATALAYOUT_BIT		1
#define EROFS_I_DATALAYOUT_MASK		0x07
/* bit 4 means nlink 1 on compact non-directories (i_nb then holds the
 * high bits of a block number), and no "." entry on directories */
#define EROFS_I_NLINK_1_BIT		4
#define EROFS_I_DOT_OMITTED_BIT		4
#define EROFS_I_ALL			((1 << (EROFS_I_NLINK_1_BIT + 1)) - 1)

#define EROFS_INODE_LAYOUT_COMPACT	0	/* 32-byte inode */
#define EROFS_INODE_LAYOUT_EXTENDED	1	/* 64-byte inode */

#define EROFS_ISLOTBITS			5	/* inodes are 32-byte aligned */

/* chunk-based files: chunk size = block size << (format & BLKBITS_MASK) */
#define EROFS_CHUNK_FORMAT_BLKBITS_MASK	0x001F
#define EROFS_CHUNK_FORMAT_INDEXES	0x0020
#define EROFS_CHUNK_FORMAT_48BIT	0x0040
#define EROFS_CHUNK_FORMAT_ALL \
	(EROFS_CHUNK_FORMAT_BLKBITS_MASK | EROFS_CHUNK_FORMAT_INDEXES | \
	 EROFS_CHUNK_FORMAT_48BIT)

struct erofs_inode_chunk_info {
	__le16 format;
	__le16 reserved;
};

union erofs_inode_i_u {
	__le32 compressed_blocks;	/* compressed inodes (bits 0..31) */
	__le32 raw_blkaddr;		/* flat inodes (bits 0..31) */
	__le32 rdev;			/* device inodes, new_encode_dev() */
	struct erofs_inode_chunk_info c;	/* chunk-based inodes */
};

struct erofs_inode_compact {
	__le16 i_format;		/*  0 */
	__le16 i_xattr_icount;		/*  2 */
	__le16 i_mode;			/*  4 */
	union {				/*  6 */
		__le16 i_nlink;		/* without EROFS_I_NLINK_1_BIT */
		__le16 i_blocks_hi;	/* with it: compressed_blocks 32..47 */
		__le16 i_startblk_hi;	/* with it: raw_blkaddr 32..47 */
	};
	__le32 i_size;			/*  8 */
	__le32 i_mtime;			/* 12: seconds after the epoch */
	union erofs_inode_i_u i_u;	/* 16 */
	__le32 i_ino;			/* 20: for 32-bit stat() only */
	__le16 i_uid;			/* 24 */
	__le16 i_gid;			/* 26 */
	__le32 i_reserved2;		/* 28 */
};

struct erofs_inode_extended {
	__le16 i_format;		/*  0 */
	__le16 i_xattr_icount;		/*  2 */
	__le16 i_mode;			/*  4 */
	union {				/*  6 */
		__le16 i_reserved;
		__le16 i_blocks_hi;	/* 48BIT: compressed_blocks 32..47 */
		__le16 i_startblk_hi;	/* 48BIT: raw_blkaddr 32..47 */
	};
	__le64 i_size;			/*  8 */
	union erofs_inode_i_u i_u;	/* 16 */
	__le32 i_ino;			/* 20 */
	__le32 i_uid;			/* 24 */
	__le32 i_gid;			/* 28 */
	__le64 i_mtime;			/* 32 */
	__le32 i_mtime_nsec;		/* 40 */
	__le32 i_nlink;			/* 44 */
	uint8_t i_reserved2[16];	/* 48 */
};

/*
 * Inline xattrs follow the inode: this header, h_shared_count 4-byte shared
 * xattr ids, then 4-byte aligned entries.  i_xattr_icount counts the area
 * in 4-byte units, the 12-byte header counting as one.
 */
struct erofs_xattr_ibody_header {
	__le32 h_name_filter;
	uint8_t h_shared_count;
	uint8_t h_reserved2[7];
	__le32 h_shared_xattrs[];
};

#define EROFS_XATTR_INDEX_USER			1
#define EROFS_XATTR_INDEX_POSIX_ACL_ACCESS	2
#define EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT	3
#define EROFS_XATTR_INDEX_TRUSTED		4
#define EROFS_XATTR_INDEX_LUSTRE		5
#define EROFS_XATTR_INDEX_SECURITY		6
#define EROFS_XATTR_LONG_PREFIX			0x80
#define EROFS_XATTR_LONG_PREFIX_MASK		0x7f

/*
 * A long prefix record: __le16 length, then base_index and the infix,
 * padded to 4 bytes.  The records are in the packed inode from byte
 * xattr_prefix_start * 4, or with PLAIN_XATTR_PFX at that offset of
 * the primary device.
 */
struct erofs_xattr_long_prefix {
	uint8_t base_index;
	char infix[];
};

struct erofs_xattr_entry {
	uint8_t e_name_len;
	uint8_t e_name_index;
	__le16 e_value_size;
	char e_name[];			/* name, then value, no terminators */
};

static inline unsigned int erofs_xattr_ibody_size(unsigned int icount)
{
	return icount ? sizeof(struct erofs_xattr_ibody_header) +
			(icount - 1) * sizeof(uint32_t) : 0;
}

#define EROFS_XATTR_ALIGN(n)	(((n) + 3) & ~3U)

static inline unsigned int erofs_xattr_entry_size(unsigned int name_len,
						  unsigned int value_size)
{
	return EROFS_XATTR_ALIGN(sizeof(struct erofs_xattr_entry) +
				 name_len + value_size);
}

#define EROFS_NULL_ADDR		0xFFFFFFFFU	/* a chunk that is a hole */

struct erofs_inode_chunk_index {
	__le16 startblk_hi;		/* CHUNK_FORMAT_48BIT: bits 32..47 */
	__le16 device_id;
	__le32 blkaddr;
};

/* METABOX: the nid counts in the metabox inode, not the primary device */
#define EROFS_DIRENT_NID_METABOX_BIT	63
#define EROFS_DIRENT_NID_MASK		((1ULL << EROFS_DIRENT_NID_METABOX_BIT) - 1)

/* names of one directory sort bytewise across all of its blocks */
struct erofs_dirent {
	__le64 nid;
	__le16 nameoff;
	uint8_t file_type;
	uint8_t reserved;
} __attribute__((packed));

enum {
	EROFS_FT_UNKNOWN,
	EROFS_FT_REG_FILE,
	EROFS_FT_DIR,
	EROFS_FT_CHRDEV,
	EROFS_FT_BLKDEV,
	EROFS_FT_FIFO,
	EROFS_FT_SOCK,
	EROFS_FT_SYMLINK,
	EROFS_FT_MAX
};

#define EROFS_NAME_LEN		255

/*
 * Compressed files.  A file is cut into logical clusters (lclusters) of
 * 1 << (blkszbits + h_clusterbits) bytes, each described by one index
 * entry.  Compressed extents start anywhere inside an lcluster (HEAD or
 * PLAIN entries record that offset) and decompress from one physical
 * cluster (pcluster) of one or more blocks; lclusters an extent covers
 * entirely are NONHEAD entries pointing back to their HEAD.
 */
#define Z_EROFS_PCLUSTER_MAX_SIZE	(1024 * 1024)
#define Z_EROFS_PCLUSTER_MAX_DSIZE	(12 * 1024 * 1024)

enum {
	Z_EROFS_COMPRESSION_LZ4		= 0,
	Z_EROFS_COMPRESSION_LZMA	= 1,
	Z_EROFS_COMPRESSION_DEFLATE	= 2,
	Z_EROFS_COMPRESSION_ZSTD	= 3,
	Z_EROFS_COMPRESSION_MAX
};
#define Z_EROFS_ALL_COMPR_ALGS		((1 << Z_EROFS_COMPRESSION_MAX) - 1)

/*
 * With COMPR_CFGS, each algorithm set in available_compr_algs has a record
 * after the superblock: a 4-byte aligned __le16 length, then its config.
 */
struct z_erofs_lz4_cfgs {
	__le16 max_distance;
	__le16 max_pclusterblks;
	uint8_t reserved[10];
} __attribute__((packed));

struct z_erofs_lzma_cfgs {
	__le32 dict_size;
	__le16 format;			/* 0: MicroLZMA */
	uint8_t reserved[8];
} __attribute__((packed));
#define Z_EROFS_LZMA_MAX_DICT_SIZE	(8 * Z_EROFS_PCLUSTER_MAX_SIZE)

struct z_erofs_deflate_cfgs {
	uint8_t windowbits;		/* 8..15, raw deflate */
	uint8_t reserved[5];
} __attribute__((packed));

struct z_erofs_zstd_cfgs {
	uint8_t format;			/* 0 */
	uint8_t windowlog;		/* window log - 10 */
	uint8_t reserved[4];
} __attribute__((packed));
#define Z_EROFS_ZSTD_MAX_DICT_SIZE	Z_EROFS_PCLUSTER_MAX_SIZE

#define Z_EROFS_ADVISE_COMPACTED_2B		0x0001	/* compact indexes */
#define Z_EROFS_ADVISE_EXTENTS			0x0001	/* full layout: extents */
#define Z_EROFS_ADVISE_BIG_PCLUSTER_1		0x0002
#define Z_EROFS_ADVISE_BIG_PCLUSTER_2		0x0004
#define Z_EROFS_ADVISE_INLINE_PCLUSTER		0x0008
#define Z_EROFS_ADVISE_INTERLACED_PCLUSTER	0x0010
#define Z_EROFS_ADVISE_FRAGMENT_PCLUSTER	0x0020
#define Z_EROFS_FRAGMENT_INODE_BIT		7
/* with EXTENTS: each record is 4 << ((advise >> 1) & 3) bytes */
#define Z_EROFS_ADVISE_EXTRECSZ_BIT		1
#define Z_EROFS_ADVISE_EXTRECSZ_MASK		0x3

/* 8 bytes at the first 8-byte boundary after the inode and its xattrs */
struct z_erofs_map_header {
	union {
		__le32 h_fragmentoff;
		struct {
			__le16 h_reserved1;
			__le16 h_idata_size;	/* ztailpacking: inline bytes */
		};
		__le32 h_extents_lo;	/* EXTENTS: number of extents */
	};
	__le16 h_advise;
	union {
		struct {
			uint8_t h_algorithmtype; /* bits 0-3: HEAD1, 4-7: HEAD2 */
			uint8_t h_clusterbits;	/* bits 0-3: lclusterbits - blkszbits */
		};
		__le16 h_extents_hi;	/* EXTENTS: bits 32..47 of the count */
	};
};

enum {
	Z_EROFS_LCLUSTER_TYPE_PLAIN	= 0,	/* stored uncompressed */
	Z_EROFS_LCLUSTER_TYPE_HEAD1	= 1,
	Z_EROFS_LCLUSTER_TYPE_NONHEAD	= 2,
	Z_EROFS_LCLUSTER_TYPE_HEAD2	= 3,
	Z_EROFS_LCLUSTER_TYPE_MAX
};
#define Z_EROFS_LI_LCLUSTER_TYPE_MASK	(Z_EROFS_LCLUSTER_TYPE_MAX - 1)
#define Z_EROFS_LI_PARTIAL_REF		(1 << 15)
/* on the first NONHEAD of a big pcluster: delta[0] carries its blocks */
#define Z_EROFS_LI_D0_CBLKCNT		(1 << 11)

/* full (legacy) index: one per lcluster after the map header + 8 bytes */
struct z_erofs_lcluster_index {
	__le16 di_advise;		/* bits 0-1: lcluster type */
	__le16 di_clusterofs;
	union {
		__le32 blkaddr;		/* HEAD and PLAIN */
		__le16 delta[2];	/* NONHEAD: back to head, on to next */
	} di_u;
};

/*
 * Extent records (48BIT images, Z_EROFS_ADVISE_EXTENTS): the first
 * recsize bytes of this, recsize 8 (plen, pstart_lo: one record per
 * lcluster-sized step), 16 (+ pstart_hi, lstart_lo) or 32.  plen bits
 * 0..20 are the stored length, bit 27 a partial reference, bits 28..31
 * the algorithm (Z_EROFS_COMPRESSION_MAX: stored raw).
 */
#define Z_EROFS_EXTENT_PLEN_PARTIAL	(1U << 27)
#define Z_EROFS_EXTENT_PLEN_FMT_BIT	28
#define Z_EROFS_EXTENT_PLEN_MASK	((Z_EROFS_PCLUSTER_MAX_SIZE << 1) - 1)
struct z_erofs_extent {
	__le32 plen;
	__le32 pstart_lo;
	__le32 pstart_hi;
	__le32 lstart_lo;
	__le32 lstart_hi;
	uint8_t reserved[12];
};

/*
 * Toolkit extension, not part of EROFS: the annex.  Records that on-demand
 * readers need (digest tables of blobs, random-access indexes of gzip
 * layers) are kept in the image file after the last block the superblock
 * counts.  The kernel and erofs-utils never read there, so an image with an
 * annex mounts and checks exactly as one without, and whoever pins the
 * image file by its sha256 pins the annex too.
 *
 * The annex starts at the block boundary sb.blocks (blocks_hi) names and
 * ends with a trailer in the last 64 bytes of the file, padded so that the
 * file stays a whole number of blocks.  Records follow one another, each
 * payload padded to 8 bytes.
 */
#define EROFS_ANNEX_MAGIC	"EROFSANX"
#define EROFS_ANNEX_VERSION	1

struct erofs_annex_trailer {
	uint8_t magic[8];
	__le32 version;
	__le32 nr_records;
	__le64 start;		/* byte offset of the first record */
	__le64 size;		/* bytes of records, padding included */
	uint8_t sha256[32];	/* of those bytes */
};

struct erofs_annex_record {
	__le32 type;		/* EROFS_ANNEX_* */
	__le16 device;		/* 0: the image itself, N: extra device N */
	__le16 reserved;	/* 0 */
	__le64 length;		/* payload bytes that follow */
};

enum {
	EROFS_ANNEX_DIGEST_TABLE = 1,	/* sha256 of each unit of a device */
	EROFS_ANNEX_GZIP_INDEX = 2,	/* inflate checkpoints of a layer */
	EROFS_ANNEX_BLOB_SOURCE = 3,	/* where a device's bytes come from */
	EROFS_ANNEX_ZSTD_INDEX = 4,	/* frame checkpoints of a zstd layer */
	EROFS_ANNEX_DEVICE_MAP = 5,	/* a device is a block-aligned view */
};

/*
 * EROFS_ANNEX_BLOB_SOURCE: the device is the uncompressed form of a blob
 * kept elsewhere (a registry layer).  The device's tag is the sha256 of
 * the uncompressed bytes (the layer's diff_id).
 */
#define EROFS_BLOB_CODEC_GZIP	1
#define EROFS_BLOB_CODEC_ZSTD	2

struct erofs_annex_blob_source {
	uint8_t blob_digest[32];	/* sha256 of the compressed blob */
	__le64 blob_size;		/* its bytes */
	__le64 size;			/* uncompressed bytes (the device's) */
	uint8_t diff_id[32];		/* sha256 of the uncompressed bytes */
	__le32 codec;			/* EROFS_BLOB_CODEC_* */
	__le32 reserved;		/* 0 */
};

/*
 * EROFS_ANNEX_GZIP_INDEX: inflate checkpoints of a gzip blob (one or more
 * members), so that any range of its uncompressed bytes can be inflated
 * from the nearest checkpoint before it.  Offset 0 of the output is an
 * implicit checkpoint (the blob's start, a gzip header).  Each explicit
 * checkpoint is a deflate block boundary inside a member: "in_bits" bits
 * into the blob the next block starts, "out" bytes of output precede it,
 * and the last "window_len" (at most 32 KiB, less early in a member) of
 * those bytes are the dictionary inflate needs there.  The windows follow
 * the table, each compressed as a raw deflate stream, in table order and
 * back to back.  Checkpoints are strictly increasing in both offsets.
 *
 * EROFS_ANNEX_ZSTD_INDEX has the same layout for a zstd blob of several
 * frames: each checkpoint is where a frame starts (in_bits a multiple of
 * 8, no window: a frame needs nothing before it); the blob's start is
 * the implicit first one.
 */
#define EROFS_GZIP_WINDOW_SIZE	32768

struct erofs_annex_gzip_index {
	__le32 flags;			/* 0 */
	__le32 nr_points;		/* explicit checkpoints */
	__le64 span;			/* the builder's output distance */
	__le64 blob_size;		/* compressed bytes */
	__le64 size;			/* uncompressed bytes */
	__le64 windows_size;		/* bytes of compressed windows */
};

struct erofs_annex_gzip_point {
	__le64 in_bits;			/* bit offset of the block in the blob */
	__le64 out;			/* output offset of the block */
	__le32 window_off;		/* in the window area */
	__le32 window_zlen;		/* compressed bytes of the window */
	__le16 window_len;		/* its bytes once inflated */
	__le16 reserved;		/* 0 */
	__le32 reserved2;		/* 0 */
};

/*
 * EROFS_ANNEX_DEVICE_MAP: the device is not the layer's tar but a view of
 * it in which every regular file's data starts at a block boundary (the
 * kernel's fscache mode takes no block size but its page size, and a tar
 * puts data at 512-byte offsets).  Extents are sorted by virtual offset,
 * do not overlap, and lie inside both the device (blocks * blksz bytes)
 * and the tar (tar_size bytes); the device's bytes outside every extent
 * are zeros.
 *
 * Such a device is not tagged with its diff_id: a cache shared by two
 * bootstraps of the same layer (one in place, one mapped) would otherwise
 * hold two different devices under one name, and a reader checking a
 * device against its tag would find other bytes.  Its tag is the sha256
 * of its own bytes, as any device's; the diff_id is named here, and the
 * record's presence is what tells a reader that the device is a view to
 * be made from the tar.  The layer's BLOB_SOURCE and index records stay
 * those of the tar itself (their diff_id is this record's, not the tag).
 */
struct erofs_annex_device_map {
	uint8_t diff_id[32];		/* sha256 of the tar */
	__le64 tar_size;		/* its bytes */
	__le64 size;			/* the device's bytes */
	__le32 nr_extents;		/* struct erofs_annex_map_extent follow */
	__le32 reserved;		/* 0 */
};

struct erofs_annex_map_extent {
	__le64 offset;			/* in the device */
	__le64 tar_offset;		/* in the tar */
	__le64 length;			/* bytes, not 0 */
};

/*
 * EROFS_ANNEX_DIGEST_TABLE payload: the sha256 of every unit of a device's
 * blob, so that an on-demand reader can check each range it fetches
 * before it lands in a cache.  Units are aligned (unit i covers bytes
 * i << unit_bits up to the next unit); the last one ends with the blob
 * and may be short.  blob_size is the whole object the device's tag
 * names, which may reach past the blocks the device table maps (a tar,
 * an image with an annex of its own), never fall short of them.
 */
#define EROFS_DIGEST_UNIT_MIN_BITS	12	/* 4 KiB */
#define EROFS_DIGEST_UNIT_MAX_BITS	23	/* 8 MiB: one request */

struct erofs_annex_digest_table {
	__le64 blob_size;	/* bytes of the blob */
	__le64 nr_units;	/* DIV_ROUND_UP(blob_size, 1 << unit_bits) */
	uint8_t unit_bits;	/* EROFS_DIGEST_UNIT_{MIN,MAX}_BITS */
	uint8_t reserved[7];	/* 0 */
	/* followed by nr_units sha256 digests of 32 bytes each */
};

/* byte offsets of the index areas, given the end of inode + xattrs */
#define Z_EROFS_MAP_HEADER_START(end)	(((end) + 7) & ~7ULL)
#define Z_EROFS_MAP_HEADER_END(end) \
	(Z_EROFS_MAP_HEADER_START(end) + sizeof(struct z_erofs_map_header))
#define Z_EROFS_FULL_INDEX_START(end)	(Z_EROFS_MAP_HEADER_END(end) + 8)

_Static_assert(sizeof(struct erofs_super_block) == 128, "superblock");
_Static_assert(sizeof(struct erofs_super_block_ext) == 16, "sb ext slot");
_Static_assert(sizeof(struct z_erofs_extent) == 32, "extent");
_Static_assert(sizeof(struct z_erofs_zstd_cfgs) == 6, "zstd cfgs");
_Static_assert(sizeof(struct erofs_inode_compact) == 32, "compact inode");
_Static_assert(sizeof(struct erofs_inode_extended) == 64, "extended inode");
_Static_assert(sizeof(struct erofs_xattr_ibody_header) == 12, "xattr hdr");
_Static_assert(sizeof(struct erofs_xattr_entry) == 4, "xattr entry");
_Static_assert(sizeof(struct erofs_inode_chunk_index) == 8, "chunk index");
_Static_assert(sizeof(struct erofs_dirent) == 12, "dirent");
_Static_assert(sizeof(struct erofs_deviceslot) == 128, "device slot");
_Static_assert(sizeof(struct z_erofs_map_header) == 8, "map header");
_Static_assert(sizeof(struct z_erofs_lcluster_index) == 8, "lcluster index");
_Static_assert(sizeof(struct z_erofs_lz4_cfgs) == 14, "lz4 cfgs");
_Static_assert(sizeof(struct z_erofs_lzma_cfgs) == 14, "lzma cfgs");
_Static_assert(sizeof(struct z_erofs_deflate_cfgs) == 6, "deflate cfgs");
_Static_assert(sizeof(struct erofs_annex_trailer) == 64, "annex trailer");
_Static_assert(sizeof(struct erofs_annex_record) == 16, "annex record");
_Static_assert(sizeof(struct erofs_annex_digest_table) == 24, "digest table");
_Static_assert(sizeof(struct erofs_annex_blob_source) == 88, "blob source");
_Static_assert(sizeof(struct erofs_annex_gzip_index) == 40, "gzip index");
_Static_assert(sizeof(struct erofs_annex_gzip_point) == 32, "gzip point");
_Static_assert(sizeof(struct erofs_annex_device_map) == 56, "device map");
_Static_assert(sizeof(struct erofs_annex_map_extent) == 24, "map extent");

#endif
