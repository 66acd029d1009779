/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Building an image from a directory tree: options, context and passes. */
#ifndef EROFS_BUILD_H
#define EROFS_BUILD_H

#include <regex.h>
#include <sys/stat.h>
#include "erofs/annex.h"
#include "erofs/compress.h"
#include "erofs/hashmap.h"
#include "erofs/output.h"
#include "erofs/print.h"
#include "erofs/slab.h"
#include "erofs/spill.h"
#include "erofs/tree.h"
#include "erofs/xattr.h"

enum erofs_inode_policy {
	EROFS_INODE_AUTO,		/* compact where it loses nothing */
	EROFS_INODE_FORCE_COMPACT,	/* compact unless a field overflows */
	EROFS_INODE_FORCE_EXTENDED,
};

/* where a tar entry's data is read from at write time */
#define EROFS_TAR_DATA_IN_TAR	1
#define EROFS_TAR_DATA_SPOOL	2

enum erofs_tar_mode {
	EROFS_TAR_NONE,
	EROFS_TAR_FULL,			/* --tar=f: data stored in the image */
	EROFS_TAR_INDEX,		/* --tar=i: data addressed in the tar */
	EROFS_TAR_HEADERBALL,		/* headers only, files read as zeroes */
};

struct erofs_builder;

struct erofs_build_options {
	unsigned int blkszbits;
	enum erofs_inode_policy inode_policy;
	bool inline_data;
	bool sb_checksum;
	bool ignore_mtime;		/* per-file mtimes give way to build time */

	int64_t build_time;
	uint32_t build_time_nsec;
	bool fixed_mtime;		/* every inode gets build_time (-T) */
	bool clamp_mtime;		/* mtimes from build_time on get it
					 * ($SOURCE_DATE_EPOCH) */

	bool all_root;
	int64_t force_uid, force_gid;	/* -1: keep the source's */
	uint32_t uid_offset, gid_offset;	/* added to every owner */
	int xattr_tolerance;		/* < 0: no xattrs; 0: none shared */

	uint8_t uuid[16];
	char volume_name[16];		/* NUL-padded, not terminated at 16 */

	char **exclude_paths;		/* relative to the source root */
	unsigned int nr_exclude_paths;
	regex_t *exclude_regexes;
	unsigned int nr_exclude_regexes;

	struct erofs_compress_opts compress;

	unsigned int chunkbits;		/* 0: flat files; else chunk-based */
	bool chunk_indexes;		/* 8-byte indexes, not a block map */
	/*
	 * -E 48bit: the 48-bit layout (Linux 6.15): 48-bit block numbers,
	 * an epoch under compact inodes' own mtimes, nlink-1 compact
	 * inodes, 48-bit chunk indexes
	 */
	bool layout_48bit;
	bool file_dedup;		/* identical files share their data */
	const char *blob_path;		/* file data goes to this blob */
	/* log2 of the unit of the digest tables of every blob (annex) */
	unsigned int digest_unit_bits;

	/* rebuild mode: the tree and data of existing images, merged */
	char **layers;
	unsigned int nr_layers;

	/* tar input (--tar): the tree is a tar stream's, not a directory's */
	enum erofs_tar_mode tar_mode;
	/* none: standard input; several: layers merged, the first lowest */
	char **tar_paths;
	unsigned int nr_tar_paths;
	unsigned int tar_codecs;	/* EROFS_ISTREAM_*: decoded if seen */
	const char *tar_raw_copy;	/* keeps the raw (compressed) stream */
	/* --tar=i over gzip: checkpoint distance of the annex's index */
	uint64_t gzip_span;		/* 0: EROFS_GZINDEX_DEFAULT_SPAN */
	const char *gzinfo_path;	/* --gzinfo=FILE: a SOCI zinfo */
	bool tar_need_gzip;		/* --gzinfo: anything else is refused */
	bool aufs;			/* .wh. entries are overlay whiteouts */
	bool ovlfs_strip;		/* no whiteouts or overlay xattrs */

	bool show_progress;

	/* instead of the scan: a tree from elsewhere (mkfs --oci) */
	int (*tree_source)(struct erofs_builder *b, void *priv);
	void *tree_priv;
};

/* an extra device in the device table */
struct erofs_build_device {
	uint8_t tag[64];		/* sha256 of its content, hex */
	uint32_t blocks;
};

struct erofs_build_stats {
	uint64_t inodes, dirs, regular, symlinks, devices, special;
	uint64_t hardlinks;		/* extra names of one inode */
	uint64_t extended_inodes;
	uint64_t shared_xattrs, inline_xattr_bytes;
	uint64_t inline_data_bytes;
	uint64_t compressed_files, compressed_bytes_in, compressed_blocks;
	uint64_t raw_fallback_files;	/* compression did not pay */
	uint64_t chunks, hole_chunks, dedup_chunks, dedup_bytes;
	uint64_t dedup_files, dedup_file_bytes;	/* sharing another's data */
	uint64_t ztail_files, ztail_bytes;	/* tail pclusters inline */
	uint64_t fragment_files, whole_fragment_files, fragment_bytes;
	uint64_t packed_blocks;		/* the packed inode's data */
	/* -E dedupe: extents referring to pclusters stored before */
	uint64_t pcluster_refs, pcluster_ref_saved_blocks;
	uint64_t blob_blocks;
	char blob_digest[65];		/* sha256 of the blob, hex */
	uint64_t meta_blocks, data_blocks, total_blocks;
	uint32_t root_nid;
	/* the device table, handed to the caller (free() it) */
	struct erofs_build_device *devt;
	unsigned int nr_devt;
};

struct erofs_builder {
	const struct erofs_build_options *opts;
	const struct erofs_msg *msg;
	struct erofs_progress progress;
	unsigned int blksz;

	const char *src_root;
	/* tar input: file data is in the tar itself or in the spool */
	int tar_data_fd[EROFS_TAR_DATA_SPOOL];
	dev_t out_dev;			/* the image itself, if it sits */
	ino_t out_ino;			/* inside the source tree */

	struct erofs_node *root;
	struct erofs_node **nodes;	/* every inode, in build order */
	size_t nr_nodes, nodes_cap;
	struct erofs_slab slab;		/* scanned nodes, small entry arrays */
	struct erofs_hashmap hardlinks;	/* (dev, ino) -> node */
	struct erofs_spill tails;	/* inline tails of regular files */
	struct erofs_xattr_table xattrs;

	uint64_t xattr_blkaddr;
	struct erofs_meta_alloc *alloc;
	/*
	 * Metadata is built in memory in two runs of blocks: the head (the
	 * superblock, its compression configs, the root inode) and the
	 * metadata area after all file data.
	 */
	uint8_t *head;
	uint64_t head_blocks;
	/*
	 * a window of the metadata area, written out in block order as it
	 * is filled (erofs_write_metadata): blocks [meta_win, +meta_win_blocks)
	 */
	uint8_t *meta;
	uint64_t meta_win, meta_win_blocks, meta_win_cap;
	uint64_t meta_start, meta_blocks;
	uint64_t data_start, data_end;	/* blocks of file data */
	uint64_t total_blocks;
	uint16_t compr_algs;		/* Z_EROFS_COMPRESSION_* bits used */
	uint32_t max_pclusterblks;	/* over every compressed file */
	uint32_t lzma_dict_size;	/* rebuilt lzma files need this much */
	uint32_t zstd_window;		/* and rebuilt zstd files this */

	struct erofs_output *out;
	struct erofs_output *blob;	/* with --blobdev */
	uint64_t blob_blocks;
	uint8_t blob_digest[32];
	/* device 1.. : the blob, or the devices rebuilt images use */
	struct erofs_build_device *devices;
	unsigned int nr_devices;
	bool chunked;			/* some file is chunk-based */
	bool ztailpacking;		/* some tail pcluster is inline */
	bool pcluster_refs;		/* some extent refers to another's */
	struct erofs_node *packed;	/* -E fragments: holds them, if any */
	struct erofs_hashmap chunk_digests;	/* chunk dedup */
	struct erofs_hashmap file_digests;	/* whole-file dedup */
	uint64_t *dup_sizes;		/* sizes two or more files have */
	size_t nr_dup_sizes;
	/* digest tables, gzip indexes: written past the last block */
	struct erofs_annex_writer annex;
	struct erofs_build_stats stats;
};

struct erofs_meta_alloc;
void erofs_meta_alloc_free(struct erofs_meta_alloc *a);

void erofs_build_options_default(struct erofs_build_options *opts);
/*
 * A file's owner in the image from its owner in the source: --all-root,
 * --force-uid/gid, then --uid/gid-offset; -EOVERFLOW past 2^32 - 1.
 */
/* a file's mtime in the image from its mtime in the source: -T,
 * $SOURCE_DATE_EPOCH's clamping, or as it is */
void erofs_build_mtime(const struct erofs_build_options *o,
		       struct erofs_node *n, int64_t sec, uint32_t nsec);
int erofs_build_owner(const struct erofs_build_options *o,
		      const struct erofs_msg *msg, const char *path,
		      struct erofs_node *n, uint32_t uid, uint32_t gid);

/* the whole build: scan, layout, write, commit */
int erofs_build_image(const struct erofs_build_options *opts,
		      const struct erofs_msg *msg, const char *src,
		      struct erofs_output *out, struct erofs_output *blob,
		      struct erofs_build_stats *stats);

/* passes, in order */
int erofs_scan_tree(struct erofs_builder *b);
/* instead of the scan: the merged trees of opts->layers */
int erofs_rebuild_tree(struct erofs_builder *b);
/* instead of the scan: the tree of a tar stream (opts->tar_mode) */
int erofs_tar_tree(struct erofs_builder *b);
int erofs_layout_prepare(struct erofs_builder *b);
int erofs_write_data(struct erofs_builder *b);
int erofs_layout_metadata(struct erofs_builder *b);
int erofs_write_metadata(struct erofs_builder *b);
int erofs_write_super(struct erofs_builder *b);

/* the in-memory copy of metadata byte @pos: the head, or the window */
uint8_t *erofs_meta_ptr(struct erofs_builder *b, uint64_t pos);
/*
 * Makes the window cover bytes [@pos, @pos + @len) of the metadata area,
 * writing out the blocks before @pos's: positions asked for must not go
 * back to a block written out.
 */
int erofs_meta_window(struct erofs_builder *b, uint64_t pos, uint64_t len);
/* writes out the rest of the metadata area */
int erofs_meta_window_finish(struct erofs_builder *b);
/* a 64-byte inode: a field overflows the compact one, or the policy says */
/* the base of compact inodes' mtimes: the build time, or with -E 48bit
 * as far before it as a 32-bit offset reaches */
int64_t erofs_epoch(const struct erofs_build_options *o);
bool erofs_node_needs_extended(const struct erofs_builder *b,
			       const struct erofs_node *n);
/* chooses plain or inline for an uncompressed file, directory, symlink */
void erofs_choose_flat_layout(struct erofs_builder *b, struct erofs_node *n);
/* bytes from the inode to the end of what follows it in metadata */
unsigned int erofs_node_meta_size(const struct erofs_builder *b,
				  const struct erofs_node *n);
/* where device @dev (0: the image) starts in the unified address space */
uint64_t erofs_device_mapped(const struct erofs_builder *b, unsigned int dev);
/* bytes of compression configs after the superblock */
unsigned int erofs_sb_cfgs_size(const struct erofs_builder *b);
/* where the device table starts; the head ends after it */
unsigned int erofs_sb_devt_offset(const struct erofs_builder *b);
unsigned int erofs_sb_head_size(const struct erofs_builder *b);

/* chunk-based files: dedup table, and the byte size of the chunk array */
int erofs_chunks_init(struct erofs_builder *b);
void erofs_chunks_exit(struct erofs_builder *b);
unsigned int erofs_chunk_unit(const struct erofs_builder *b);
/* 1: an equal chunk is stored at *blkaddr; 0: @data recorded as new */
int erofs_chunk_dedup(struct erofs_builder *b, const void *data, uint32_t len,
		      uint32_t new_blkaddr, uint32_t *blkaddr);

/* directory blocks */
uint64_t erofs_dir_size(const struct erofs_node *dir, unsigned int blksz);
void erofs_dir_fill(const struct erofs_node *dir, unsigned int blksz,
		    uint8_t *buf);

/* places content: whole blocks in the data area, the tail inline */
int erofs_node_put_content(struct erofs_builder *b, const struct erofs_node *n,
			   const uint8_t *buf, uint64_t size);

/* @n's source path, for messages; pb->truncated if it is too long to open */
const char *erofs_node_path(const struct erofs_builder *b,
			    const struct erofs_node *n,
			    struct erofs_path_buf *pb);
/* the same to open: -ENAMETOOLONG (reported) when it does not fit */
int erofs_node_open_path(const struct erofs_builder *b,
			 const struct erofs_node *n, struct erofs_path_buf *pb,
			 const char **path);

void erofs_tree_free(struct erofs_builder *b);
/*
 * @fixed_dir: a directory for good, allocated without the other fields;
 * @slab: where to allocate it, or NULL
 */
struct erofs_node *erofs_node_alloc(struct erofs_slab *slab, bool fixed_dir);
void erofs_node_free(struct erofs_node *n);
int erofs_add_node(struct erofs_builder *b, struct erofs_node *n);
/* in the kernel's lookup order */
void erofs_sort_dents(struct erofs_node *dir);
/* appends the entry @name -> @node to @dir (unsorted) */
int erofs_dir_add(struct erofs_node *dir, const char *name, unsigned int len,
		  struct erofs_node *node);
/* numbers a merged tree from @root breadth first; adds . and .. */
int erofs_tree_order(struct erofs_builder *b, struct erofs_node *root);
/* a node's attributes from @st, as the options say (-T, --all-root,
 * --uid-offset...); -ERANGE when an offset owner does not fit */
int erofs_node_fill_attrs(struct erofs_builder *b, struct erofs_node *n,
			  const struct stat *st);

#endif
