/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the tar reader (tar.c) and its GNU sparse files (tarsparse.c). */
#ifndef EROFS_TAR_PRIV_H
#define EROFS_TAR_PRIV_H

#include "erofs/build.h"
#include "erofs/devmap.h"
#include "erofs/digest_table.h"
#include "erofs/istream.h"
#include "erofs/layerindex.h"
#include "erofs/sha256.h"

#define TAR_BLOCK		512

struct tar_header {
	char name[100];
	char mode[8];
	char uid[8];
	char gid[8];
	char size[12];
	char mtime[12];
	char chksum[8];
	char typeflag;
	char linkname[100];
	char magic[6];
	char version[2];
	char uname[32];
	char gname[32];
	char devmajor[8];
	char devminor[8];
	char prefix[155];
	char pad[12];
};

struct tar_xattr {
	char *name;
	uint8_t *value;
	size_t len;
};

/* a stretch of a sparse file's data; the rest reads as zeros */
struct tar_seg {
	uint64_t off, len;
};

/* GNU sparse: old 'S' headers, PAX formats 0.0, 0.1 and 1.0 */
struct tar_sparse {
	bool on;
	unsigned int major;		/* 1: the map opens the data */
	bool has_realsize;
	uint64_t realsize;		/* the file's size */
	char *name;			/* its real name (0.1, 1.0) */
	struct tar_seg *segs;
	unsigned int nr_segs, cap_segs;
	bool len_pending;		/* 0.0: an offset waits for numbytes */
};

/* what extension headers said about the entry that follows them */
struct tar_ext {
	char *path, *link;
	bool has_size, has_uid, has_gid, has_mtime;
	uint64_t size, uid, gid;
	int64_t mtime;
	uint32_t mtime_nsec;
	struct tar_xattr *xattrs;
	unsigned int nr_xattrs;
	struct tar_sparse sparse;
};

/* a name in a directory, found by hash while entries arrive */
struct tar_dent {
	struct erofs_node *dir;
	unsigned int idx;		/* in dir->dents */
	unsigned int layer;		/* the layer that gave the name last */
};

struct tar_reader {
	struct erofs_builder *b;
	const struct erofs_msg *msg;	/* the builder's, or one per layer */
	const struct erofs_build_options *o;
	struct erofs_istream is;
	int fd;
	bool fd_owned;			/* opened here, not standard input */
	bool in_place;			/* data read back from the tar file */
	int spool_fd;
	uint64_t spool_size;
	struct erofs_sha256 digest;	/* --tar=i: the tar's sha256 */
	char diff_id[65];		/* that, in hex, once the layer is read */
	struct erofs_digest_builder units;	/* --tar=i: the device's table */
	struct erofs_layer_gzip gz;	/* a gzip stream's checkpoints */
	struct erofs_devmap map;	/* --tar=i with blocks over 512 bytes */
	int zinfo_fd;			/* --gzinfo=FILE, or -1 */
	struct erofs_hashmap dents;
	struct erofs_node **made;	/* every node made, reached or not */
	size_t nr_made, cap_made;
	struct erofs_node *root;
	struct tar_ext ext, global;
	char *entry;			/* the entry being read, for messages */
	uint64_t entry_pos;		/* where its first header starts */

	/* several layers (mkfs --oci) */
	bool merge;			/* whiteouts apply, as OCI says */
	unsigned int layer;		/* the one being read, 0 = bottom */
	uint16_t device;		/* index mode: the layer's device */
	const char *progress_what;
};

struct tar_entry {
	char *path;
	char *link;
	char type;
	struct stat st;
	uint64_t size;			/* bytes of data the header declares */
	bool in_stream;			/* the stream holds them */
	bool consumed;			/* already read past them */
	bool sparse;
};

int tar_reader_init(struct tar_reader *r, struct erofs_builder *b);
/* r->is must be open: its entries into the tree */
int tar_layer_begin(struct tar_reader *r, const char *name);
int tar_read_layer(struct tar_reader *r);
int tar_index_layer(struct tar_reader *r, struct erofs_build_device *dev);
int tar_reader_finish(struct tar_reader *r);
void tar_reader_exit(struct tar_reader *r);

struct tar_dent *tar_find_dent(struct tar_reader *r,
			       const struct erofs_node *dir,
			       const char *name, unsigned int len);
/*
 * The directory holding the last component of @path (normalised), made
 * if @create; *last is that component.  NULL with *err = 0: missing.
 */
struct erofs_node *tar_walk_parent(struct tar_reader *r, const char *path,
				   bool create, const char **last, int *err);
static inline struct erofs_dentry *tar_dentry(const struct tar_dent *d)
{
	return &d->dir->dents[d->idx];
}

/*
 * Merging layers (tar_merge.c): 1 if @path is an OCI whiteout, applied
 * to what the layers below gave; 0 if it is an ordinary entry.
 */
int tar_merge_whiteout(struct tar_reader *r, const char *path);
/* drops the names whiteouts left without a node */
void tar_merge_compact(struct erofs_node *dir);

int tar_bad_entry(struct tar_reader *r, int err, const char *why);
int tar_read_exact(struct tar_reader *r, void *buf, size_t len,
		   const char *what);
int tar_parse_number(const char *field, size_t len, bool is_signed,
		     int64_t *out);
/* @len bytes of the stream to the spool at @pos */
int tar_spool_copy(struct tar_reader *r, uint64_t pos, uint64_t len);

/* a "GNU.sparse.KEY" PAX record, KEY given */
int tar_sparse_record(struct tar_sparse *sp, const char *key, const char *v,
		      size_t vlen);
/* an old GNU 'S' header's map and its extension blocks */
int tar_sparse_gnu_header(struct tar_reader *r, const uint8_t *blk);
/* the sparse file's data, holes and all, into the spool */
int tar_sparse_take(struct tar_reader *r, struct erofs_node *n,
		    struct tar_entry *te);
void tar_sparse_reset(struct tar_sparse *sp);

#endif
