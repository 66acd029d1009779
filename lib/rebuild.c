// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Rebuild mode: one image over the trees of existing images (layers),
 * merged as overlayfs would stack them, whose files point at the data
 * where it already is -- in the layers' blobs, or in a layer image
 * itself -- so that layers are merged without copying a byte of data.
 *
 * A later layer's entry replaces an earlier one of the same name, except
 * that two directories merge; a whiteout (a 0:0 character device) hides
 * the lower entry, and a directory with trusted.overlay.opaque="y" hides
 * all of the lower directory's entries.  Whiteouts and opaque marks are
 * consumed, not copied.
 *
 * Only data that can be addressed as whole blocks can be referenced:
 * chunk-based files (any chunk size, on any device), flat files without
 * an inline tail, and compressed files whose pclusters lie in sequence
 * on one device (as mkfs writes them), with one algorithm and neither
 * an inline tail pcluster nor fragments.  Compressed files get a new
 * index addressing their pclusters through the new image's unified
 * address space, where each device is mapped past the image.  Anything
 * else is refused, naming the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/annex.h"
#include "erofs/build.h"
#include "erofs/devmap.h"
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "erofs/layerindex.h"
#include "erofs/reader.h"
#include "erofs/sha256.h"

#define REBUILD_MAX_DEPTH	1024

struct rb_layer {
	struct erofs_image img;
	const char *path;
	bool opened;
};

struct rb_entry {
	char *name;
	unsigned int len;
	uint64_t nid;
};

struct rebuild {
	struct erofs_builder *b;
	struct rb_layer *layers;
	unsigned int nr_layers;
	struct erofs_node **made;	/* every node made, reached or not */
	size_t nr_made, cap_made;
	struct erofs_hashmap links;	/* (layer, nid) -> node, hardlinks */
	struct erofs_hashmap dirs_seen;	/* (layer, nid) of directories */
	uint32_t *devkeys;		/* (layer << 16 | device), first use */
	unsigned int nr_devkeys;
};

struct rb_key {
	uint64_t layer, nid;
};

struct rb_seen {
	struct rb_key key;
};

static uint64_t key_hash(const struct rb_key *k)
{
	return erofs_hash_bytes(0, k, sizeof(*k));
}

static bool link_eq(const void *item, const void *key)
{
	const struct erofs_node *n = item;
	const struct rb_key *k = key;

	return n->src_dev == k->layer && n->src_ino == k->nid;
}

static bool seen_eq(const void *item, const void *key)
{
	const struct rb_seen *s = item;

	return !memcmp(&s->key, key, sizeof(s->key));
}

static int remember(struct rebuild *r, struct erofs_node *n)
{
	if (r->nr_made == r->cap_made) {
		size_t cap = r->cap_made ? r->cap_made * 2 : 1024;
		struct erofs_node **arr = realloc(r->made, cap * sizeof(*arr));

		if (!arr)
			return -ENOMEM;
		r->made = arr;
		r->cap_made = cap;
	}
	r->made[r->nr_made++] = n;
	return 0;
}

/* the overlay meaning of an inode */
static bool is_whiteout(const struct erofs_inode_info *vi)
{
	return S_ISCHR(vi->mode) && !vi->rdev;
}

struct xattr_ctx {
	struct rebuild *r;
	struct erofs_image *img;
	struct erofs_node *n;
	bool opaque;
};

static int add_xattr(void *arg, unsigned int index, const char *name,
		     unsigned int name_len, const void *value,
		     unsigned int value_len)
{
	struct xattr_ctx *x = arg;
	char full[EROFS_XATTR_NAME_MAX];
	int len;

	len = erofs_xattr_full_name(x->img, index, name, name_len, full);
	if (len < 0)
		return len;
	if (!strcmp(full, "trusted.overlay.opaque")) {
		x->opaque = value_len == 1 && *(const char *)value == 'y';
		return 0;
	}
	return erofs_xattr_add(&x->r->b->xattrs, x->r->b->msg, x->n,
			       x->n->path, full, value, value_len);
}

/* owners, times and xattrs from the layer; @opaque if it hides below */
static int set_attrs(struct rebuild *r, struct erofs_image *img,
		     const struct erofs_inode_info *vi, struct erofs_node *n,
		     bool *opaque)
{
	const struct erofs_build_options *o = r->b->opts;
	struct xattr_ctx x = { .r = r, .img = img, .n = n };
	int err = 0;

	n->mode = vi->mode;
	err = erofs_build_owner(o, r->b->msg, n->path ? n->path : "?", n,
				vi->uid, vi->gid);
	if (err)
		return err;
	erofs_build_mtime(o, n, vi->mtime, vi->mtime_nsec);
	erofs_xattr_drop(n);
	if (o->xattr_tolerance >= 0)
		err = erofs_iterate_xattrs(img, vi, add_xattr, &x);
	erofs_xattr_sort(n);
	if (opaque)
		*opaque = x.opaque;
	return err;
}

static int devkey_index(struct rebuild *r, uint32_t key)
{
	uint32_t *arr;
	unsigned int i;

	for (i = 0; i < r->nr_devkeys; i++)
		if (r->devkeys[i] == key)
			return i;
	if (r->nr_devkeys >= UINT16_MAX - 1)
		return -E2BIG;
	arr = realloc(r->devkeys, (r->nr_devkeys + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	r->devkeys = arr;
	arr[r->nr_devkeys] = key;
	return r->nr_devkeys++;
}

static int refuse(struct rebuild *r, const struct erofs_node *n,
		  const char *why)
{
	erofs_err(r->b->msg, "%s: %s: its data cannot be referenced in place",
		  n->path, why);
	return -EOPNOTSUPP;
}

/* one chunk's place: a hole, or a block of some device of the layer */
static int map_chunk(struct rebuild *r, unsigned int l,
		     const struct erofs_inode_info *vi, struct erofs_node *n,
		     uint64_t i, int *dev)
{
	struct erofs_image *img = &r->layers[l].img;
	struct erofs_map map;
	uint64_t want = MIN(1ULL << n->chunkbits, vi->size - (i << n->chunkbits));
	int err, idx;

	err = erofs_map_blocks(img, vi, i << n->chunkbits, &map);
	if (err)
		return err;
	if (!(map.flags & EROFS_MAP_MAPPED)) {
		n->chunks[i] = EROFS_NULL_ADDR;
		return 0;
	}
	if ((map.flags & EROFS_MAP_META) || map.llen < want ||
	    (map.pa & (r->b->blksz - 1)))
		return refuse(r, n, "data not in whole blocks");
	idx = devkey_index(r, l << 16 | map.device);
	if (idx < 0)
		return idx;
	if (*dev >= 0 && *dev != idx)
		return refuse(r, n, "chunks on several devices");
	*dev = idx;
	n->chunks[i] = map.pa >> r->b->opts->blkszbits;
	return 0;
}

static int add_extent(struct z_erofs_file *z, const struct erofs_map *map,
		      unsigned int blkbits)
{
	struct z_erofs_extent_rec *e;
	uint32_t nblocks = map->plen >> blkbits;

	if (z->nr_ext == z->cap_ext) {
		uint32_t cap = z->cap_ext ? z->cap_ext * 2 : 16;

		e = realloc(z->ext, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		z->ext = e;
		z->cap_ext = cap;
	}
	z->ext[z->nr_ext++] = (struct z_erofs_extent_rec){
		.la = map->la,
		.nblocks = nblocks,
		.raw = map->algorithm == Z_EROFS_COMPRESSION_MAX,
	};
	z->blocks += nblocks;
	z->max_pclusterblks = MAX(z->max_pclusterblks, nblocks);
	return 0;
}

/* the extents of a compressed file, re-indexed where its pclusters are */
static int map_compressed(struct rebuild *r, unsigned int l,
			  const struct erofs_inode_info *vi,
			  struct erofs_node *n)
{
	struct erofs_image *img = &r->layers[l].img;
	unsigned int blkbits = r->b->opts->blkszbits;
	struct erofs_map map;
	uint64_t off = 0, next_pa = 0;
	int dev = -1, alg = -1, idx, err;

	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_ZERO_PADDING))
		return refuse(r, n, "compressed without 0padding");
	n->z = calloc(1, sizeof(*n->z));
	if (!n->z)
		return -ENOMEM;
	while (off < vi->size) {
		err = z_erofs_map_blocks(img, vi, off, &map);
		if (err)
			return err;
		if (map.flags & (EROFS_MAP_META | EROFS_MAP_FRAGMENT))
			return refuse(r, n, "tail pcluster inline or in a fragment");
		/* what our indexes cannot say: the layer's data as it is */
		if (map.flags & (EROFS_MAP_INTERLACED | EROFS_MAP_PARTIAL_REF))
			return refuse(r, n, "interlaced or partially referenced pclusters");
		if ((map.pa | map.plen) & ((1ULL << blkbits) - 1))
			return refuse(r, n, "pclusters not aligned to blocks");
		if (map.algorithm != Z_EROFS_COMPRESSION_MAX) {
			if (alg >= 0 && alg != (int)map.algorithm)
				return refuse(r, n, "two compression algorithms");
			alg = map.algorithm;
		}
		idx = devkey_index(r, l << 16 | map.device);
		if (idx < 0)
			return idx;
		if (dev < 0) {
			dev = idx;
			n->blkaddr = map.pa >> blkbits;
		} else if (idx != dev || map.pa != next_pa) {
			return refuse(r, n, "pclusters not in sequence on one device");
		}
		next_pa = map.pa + map.plen;
		err = add_extent(n->z, &map, blkbits);
		if (err)
			return err;
		off = map.la + map.llen;
	}
	n->z->ondisk_alg = alg < 0 ? Z_EROFS_COMPRESSION_LZ4 : alg;
	z_erofs_choose_index(n->z, blkbits, false);
	n->datalayout = n->z->compact ? EROFS_INODE_COMPRESSED_COMPACT :
					EROFS_INODE_COMPRESSED_FULL;
	n->z_device = dev + 1;	/* an index into devkeys, for now */
	r->b->compr_algs |= 1U << n->z->ondisk_alg;
	r->b->max_pclusterblks = MAX(r->b->max_pclusterblks,
				     n->z->max_pclusterblks);
	r->b->stats.compressed_files++;
	r->b->stats.compressed_bytes_in += vi->size;
	r->b->stats.compressed_blocks += n->z->blocks;
	return 0;
}

static int map_data(struct rebuild *r, unsigned int l,
		    const struct erofs_inode_info *vi, struct erofs_node *n)
{
	unsigned int blkbits = r->b->opts->blkszbits;
	int dev = -1, err = 0;
	uint64_t i;

	n->data_ready = true;
	if (!vi->size)
		return 0;
	switch (vi->datalayout) {
	case EROFS_INODE_CHUNK_BASED:
		n->chunkbits = vi->chunkbits;
		break;
	case EROFS_INODE_FLAT_INLINE:
		if (vi->size & (r->b->blksz - 1))
			return refuse(r, n, "inline tail (build the layer with --chunksize or -E ^inline_data)");
		/* fall through */
	case EROFS_INODE_FLAT_PLAIN:
		/* one chunk as large as the file: its blocks are contiguous */
		n->chunkbits = MAX(blkbits, erofs_ilog2(vi->size - 1) + 1);
		break;
	case EROFS_INODE_COMPRESSED_FULL:
	case EROFS_INODE_COMPRESSED_COMPACT:
		return map_compressed(r, l, vi, n);
	default:
		return refuse(r, n, "unknown layout");
	}
	n->nr_chunks = DIV_ROUND_UP(vi->size, 1ULL << n->chunkbits);
	n->chunks = calloc(n->nr_chunks, sizeof(*n->chunks));
	if (!n->chunks)
		return -ENOMEM;
	for (i = 0; i < n->nr_chunks && !err; i++)
		err = map_chunk(r, l, vi, n, i, &dev);
	if (err)
		return err;
	n->datalayout = EROFS_INODE_CHUNK_BASED;
	n->chunk_device = dev + 1;	/* an index into devkeys, for now */
	r->b->chunked = true;
	r->b->stats.chunks += n->nr_chunks;
	return 0;
}

static int read_symlink(struct erofs_image *img,
			const struct erofs_inode_info *vi, struct erofs_node *n)
{
	ssize_t got;

	if (vi->size > EROFS_SYMLINK_MAX)
		return erofs_corrupt(img, "%s: symlink of %llu bytes", n->path,
				     (unsigned long long)vi->size);
	n->symlink = malloc(vi->size + 1);
	if (!n->symlink)
		return -ENOMEM;
	got = erofs_pread_file(img, vi, n->symlink, vi->size, 0);
	if (got < 0)
		return got;
	if ((uint64_t)got != vi->size)
		return erofs_corrupt(img, "%s: symlink target is short", n->path);
	n->symlink[got] = '\0';
	return 0;
}

static int new_node(struct rebuild *r, unsigned int l,
		    const struct erofs_inode_info *vi, const char *path,
		    struct erofs_node **out)
{
	struct erofs_image *img = &r->layers[l].img;
	struct rb_key k = { l + 1, vi->nid };
	struct erofs_node *n;
	int err;

	if (!S_ISDIR(vi->mode) && vi->nlink > 1) {
		n = erofs_hashmap_find(&r->links, key_hash(&k), link_eq, &k);
		if (n) {
			*out = n;
			return 0;
		}
	}
	n = erofs_node_alloc(NULL, false);
	if (!n)
		return -ENOMEM;
	err = remember(r, n);
	if (err) {
		free(n);
		return err;
	}
	n->zspec = -1;
	if (asprintf(&n->path, "%s:%s", r->layers[l].path, path) < 0) {
		n->path = NULL;
		return -ENOMEM;
	}
	n->src_dev = k.layer;
	n->src_ino = k.nid;
	err = set_attrs(r, img, vi, n, NULL);
	if (err)
		return err;
	if (S_ISCHR(vi->mode) || S_ISBLK(vi->mode))
		n->rdev = vi->rdev;
	if (S_ISREG(vi->mode) || S_ISLNK(vi->mode))
		n->size = vi->size;
	if (S_ISLNK(vi->mode))
		err = read_symlink(img, vi, n);
	else if (S_ISREG(vi->mode))
		err = map_data(r, l, vi, n);
	if (!err && !S_ISDIR(vi->mode) && vi->nlink > 1)
		err = erofs_hashmap_insert(&r->links, key_hash(&k), n);
	if (!err)
		*out = n;
	return err;
}

static int collect_entry(void *arg, const char *name, unsigned int len,
			 uint64_t nid, unsigned int ftype)
{
	struct rb_entry **arr = arg, *e;
	size_t n = 0;

	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	/* a NULL-named sentinel ends the array */
	while ((*arr) && (*arr)[n].name)
		n++;
	e = realloc(*arr, (n + 2) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	*arr = e;
	e[n].name = strndup(name, len);
	e[n].len = len;
	e[n].nid = nid;
	e[n + 1].name = NULL;
	return e[n].name ? 0 : -ENOMEM;
}

static void free_entries(struct rb_entry *e)
{
	size_t i;

	for (i = 0; e && e[i].name; i++)
		free(e[i].name);
	free(e);
}

struct dent_list {
	struct erofs_dentry *d;
	unsigned int n, cap;
};

static int push(struct dent_list *l, const char *name, unsigned int len,
		struct erofs_node *node, bool copy)
{
	if (l->n == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 16;
		struct erofs_dentry *d = realloc(l->d, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		l->d = d;
		l->cap = cap;
	}
	l->d[l->n].name = copy ? strndup(name, len) : (char *)name;
	if (!l->d[l->n].name)
		return -ENOMEM;
	l->d[l->n].node = node;
	l->n++;
	return 0;
}

static int merge_dir(struct rebuild *r, unsigned int l, struct erofs_node *dir,
		     const struct erofs_inode_info *dvi, const char *path,
		     unsigned int depth);

/* layer @l's entry @e over the lower one @old (NULL: none) */
static int merge_entry(struct rebuild *r, unsigned int l,
		       struct dent_list *out, const struct rb_entry *e,
		       struct erofs_node *old, const char *dirpath,
		       unsigned int depth)
{
	struct erofs_image *img = &r->layers[l].img;
	struct erofs_inode_info vi;
	struct erofs_node *n = old;
	char *path;
	int err;

	err = erofs_read_inode(img, e->nid, &vi);
	if (err)
		return err;
	if (is_whiteout(&vi))
		return 0;
	if (asprintf(&path, "%s/%s", strcmp(dirpath, "/") ? dirpath : "",
		     e->name) < 0)
		return -ENOMEM;
	if (!old || !S_ISDIR(vi.mode) || !S_ISDIR(old->mode))
		err = new_node(r, l, &vi, path, &n);
	if (!err)
		err = push(out, e->name, e->len, n, true);
	if (!err && S_ISDIR(vi.mode))
		err = merge_dir(r, l, n, &vi, path, depth + 1);
	free(path);
	return err;
}

static int mark_seen(struct rebuild *r, unsigned int l, uint64_t nid,
		     const char *path)
{
	struct rb_key k = { l + 1, nid };
	struct rb_seen *s;
	int err;

	if (erofs_hashmap_find(&r->dirs_seen, key_hash(&k), seen_eq, &k))
		return erofs_corrupt(&r->layers[l].img, "%s:%s: directory nid %llu is reached twice (a loop)",
				     r->layers[l].path, path,
				     (unsigned long long)nid);
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->key = k;
	err = erofs_hashmap_insert(&r->dirs_seen, key_hash(&k), s);
	if (err)
		free(s);
	return err;
}

static void free_dents(struct erofs_dentry *d, unsigned int n)
{
	while (n)
		free(d[--n].name);
	free(d);
}

/*
 * Layer @l's directory @dvi over @dir: the entries of both, sorted, are
 * joined in one pass; @dir's attributes become the layer's.
 */
static int merge_dir(struct rebuild *r, unsigned int l, struct erofs_node *dir,
		     const struct erofs_inode_info *dvi, const char *path,
		     unsigned int depth)
{
	struct erofs_image *img = &r->layers[l].img;
	struct rb_entry *ents = NULL;
	struct dent_list out = { 0 };
	unsigned int i = 0, j = 0;
	bool opaque = false;
	int err;

	if (depth > REBUILD_MAX_DEPTH)
		return erofs_corrupt(img, "%s:%s: directories nested deeper than %u",
				     r->layers[l].path, path,
				     REBUILD_MAX_DEPTH);
	err = mark_seen(r, l, dvi->nid, path);
	if (!err)
		err = set_attrs(r, img, dvi, dir, &opaque);
	if (!err)
		err = erofs_iterate_dir(img, dvi, EROFS_NID_UNKNOWN,
					collect_entry, &ents);
	while (!err && (i < dir->nr_dents || (ents && ents[j].name))) {
		struct erofs_dentry *d = i < dir->nr_dents ? &dir->dents[i] : NULL;
		struct rb_entry *e = ents && ents[j].name ? &ents[j] : NULL;
		int cmp = !d ? 1 : !e ? -1 : strcmp(d->name, e->name);

		if (cmp < 0) {		/* lower only */
			if (!opaque) {
				err = push(&out, d->name, strlen(d->name),
					   d->node, false);
				d->name = NULL;
			}
			i++;
			continue;
		}
		err = merge_entry(r, l, &out, e, cmp ? NULL : d->node, path,
				  depth);
		j++;
		i += !cmp;
	}
	free_entries(ents);
	free_dents(dir->dents, dir->nr_dents);
	dir->dents = out.d;
	dir->nr_dents = out.n;
	return err;
}

/*
 * The lzma dictionary and zstd window a layer's compressed files may
 * need, from its cfgs: the merged image declares the largest of each.
 */
static void layer_dicts(const struct erofs_image *img, struct erofs_builder *b)
{
	const unsigned int base = img->sb_size;
	unsigned int alg, off = base;
	__le16 len;
	__le32 v;

	if (!(img->feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS))
		return;
	for (alg = 0; alg < 16; alg++) {
		if (!(img->available_compr_algs & (1U << alg)))
			continue;
		off = base + ROUND_UP(off - base, 4);
		if (off + sizeof(len) > img->sb_area_len)
			break;
		memcpy(&len, img->sb_area + off, sizeof(len));
		off += sizeof(len);
		if (alg == Z_EROFS_COMPRESSION_LZMA &&
		    off + sizeof(v) <= img->sb_area_len) {
			memcpy(&v, img->sb_area + off, sizeof(v));
			b->lzma_dict_size = MAX(b->lzma_dict_size,
						le32_to_cpu(v));
		}
		/* windowlog is the record's second byte: log2(window) - 10 */
		if (alg == Z_EROFS_COMPRESSION_ZSTD &&
		    off + 2 <= img->sb_area_len && img->sb_area[off + 1] <= 10)
			b->zstd_window = MAX(b->zstd_window,
					     1U << (img->sb_area[off + 1] + 10));
		off += le16_to_cpu(len);
	}
}

static int open_layers(struct rebuild *r)
{
	const struct erofs_build_options *o = r->b->opts;
	unsigned int i;
	int err;

	r->layers = calloc(o->nr_layers, sizeof(*r->layers));
	if (!r->layers)
		return -ENOMEM;
	r->nr_layers = o->nr_layers;
	for (i = 0; i < r->nr_layers; i++) {
		struct rb_layer *ly = &r->layers[i];

		ly->path = o->layers[i];
		err = erofs_image_open(&ly->img, r->b->msg, ly->path);
		if (err) {
			erofs_err(r->b->msg, "%s: cannot be opened as an EROFS image",
				  ly->path);
			return err;
		}
		ly->opened = true;
		layer_dicts(&ly->img, r->b);
		if (ly->img.blkszbits != o->blkszbits) {
			erofs_err(r->b->msg, "%s has %u-byte blocks: rebuild with -b %u",
				  ly->path, ly->img.blksz, ly->img.blksz);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A layer image used whole as a device: its tag and its digest table
 * from one read of the file.
 */
static int layer_digests(struct rebuild *r, struct rb_layer *ly, uint16_t id,
			 struct erofs_build_device *dev)
{
	struct erofs_digest_builder db;
	struct erofs_sha256 whole;
	uint8_t digest[EROFS_SHA256_SIZE];
	char hex[65];
	struct stat st;
	int fd, err;

	fd = open(ly->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	erofs_sha256_init(&whole);
	erofs_digest_builder_init(&db, r->b->opts->digest_unit_bits);
	db.whole = &whole;
	err = erofs_digest_builder_read_fd(&db, fd, 0, st.st_size);
	if (!err)
		err = erofs_digest_builder_emit(&db, &r->b->annex, id);
	erofs_digest_builder_free(&db);
	if (!err) {
		erofs_sha256_final(&whole, digest);
		erofs_sha256_hex(digest, hex);
		memcpy(dev->tag, hex, sizeof(dev->tag));
	}
out:
	if (fd >= 0)
		close(fd);
	if (err)
		erofs_err(r->b->msg, "%s: cannot read: %s", ly->path,
			  strerror(-err));
	return err;
}

/*
 * A layer's own extra device: its blob is not at hand, so its digest
 * table comes from the layer's annex, checked like any reader would.
 */
static int copy_digest_table(struct rebuild *r, struct rb_layer *ly,
			     const struct erofs_annex *ax, unsigned int d,
			     uint16_t id)
{
	struct erofs_digest_table t;
	int err;

	err = erofs_digest_table_load(&ly->img, ax, d, &t);
	if (!err)
		return erofs_digest_table_emit(&t, &r->b->annex, id);
	if (err != -ENOENT)
		return err;
	erofs_warn(r->b->msg, "%s: device %u (%.64s) has no digest table; the new image has none for it either",
		   ly->path, d, ly->img.devs[d].tag);
	return 0;
}

/*
 * What lets a reader serve a tar-index device from its compressed layer
 * (blob source, gzip or zstd index) and make a block-aligned view of it
 * (device map): checked as a reader checks them, then carried over as
 * they are under the device's new number.  Their payloads name no device.
 */
static int copy_layer_records(struct rebuild *r, struct rb_layer *ly,
			      const struct erofs_annex *ax, unsigned int d,
			      uint16_t id)
{
	static const uint32_t types[] = {
		EROFS_ANNEX_BLOB_SOURCE, EROFS_ANNEX_GZIP_INDEX,
		EROFS_ANNEX_ZSTD_INDEX, EROFS_ANNEX_DEVICE_MAP,
	};
	struct erofs_layer_source src;
	struct erofs_annex_entry e;
	struct erofs_gzindex ix;
	struct erofs_devmap map;
	char why[256];
	unsigned int i;
	void *p;
	int err;

	err = erofs_layer_gzip_load(ax, d, ly->img.devs[d].tag, &src, &ix,
				    why, sizeof(why));
	if (!err)
		erofs_gzindex_free(&ix);
	if (!err || err == -ENOENT)
		err = erofs_devmap_load(ax, d, &map, why, sizeof(why));
	if (!err)
		erofs_devmap_free(&map);
	if (err && err != -ENOENT) {
		erofs_err(r->b->msg, "%s: device %u: %s", ly->path, d, why);
		return err;
	}
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		if (!erofs_annex_find(ax, types[i], d, &e))
			continue;
		p = erofs_annex_add(&r->b->annex, types[i], id, e.length);
		if (!p)
			return -ENOMEM;
		memcpy(p, e.payload, e.length);
	}
	return 0;
}

/* the records of a layer's device @d, as the new image's device @id */
static int copy_device_records(struct rebuild *r, struct rb_layer *ly,
			       unsigned int d, uint16_t id)
{
	struct erofs_annex ax;
	int err;

	err = erofs_annex_load(&ly->img, &ax);
	if (err)
		return err;
	err = copy_digest_table(r, ly, &ax, d, id);
	if (!err)
		err = copy_layer_records(r, ly, &ax, d, id);
	erofs_annex_free(&ax);
	return err;
}

/* a device of the new image: a layer's blob, or the layer image itself */
static int fill_device(struct rebuild *r, uint32_t key, uint16_t id,
		       struct erofs_build_device *dev)
{
	struct rb_layer *ly = &r->layers[key >> 16];
	unsigned int d = key & 0xffff;

	if (d) {
		memcpy(dev->tag, ly->img.devs[d].tag, sizeof(dev->tag));
		dev->blocks = ly->img.devs[d].blocks;
		return copy_device_records(r, ly, d, id);
	}
	dev->blocks = ly->img.blocks;
	return layer_digests(r, ly, id, dev);
}

static int keycmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* devices in (layer, device) order, whatever order files met them */
static int make_devices(struct rebuild *r)
{
	struct erofs_builder *b = r->b;
	uint32_t *sorted;
	uint16_t *newid;
	unsigned int i, k;
	size_t m;
	int err = 0;

	if (!r->nr_devkeys)
		return 0;
	sorted = malloc(r->nr_devkeys * sizeof(*sorted));
	newid = malloc(r->nr_devkeys * sizeof(*newid));
	b->devices = calloc(r->nr_devkeys, sizeof(*b->devices));
	if (!sorted || !newid || !b->devices) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(sorted, r->devkeys, r->nr_devkeys * sizeof(*sorted));
	qsort(sorted, r->nr_devkeys, sizeof(*sorted), keycmp);
	b->nr_devices = r->nr_devkeys;
	for (k = 0; k < r->nr_devkeys && !err; k++)
		err = fill_device(r, sorted[k], k + 1, &b->devices[k]);
	for (i = 0; i < r->nr_devkeys; i++)
		for (k = 0; k < r->nr_devkeys; k++)
			if (sorted[k] == r->devkeys[i])
				newid[i] = k + 1;
	for (m = 0; m < b->nr_nodes && !err; m++) {
		struct erofs_node *n = b->nodes[m];

		if (S_ISDIR(n->mode))
			continue;
		if (n->chunk_device)
			n->chunk_device = newid[n->chunk_device - 1];
		if (n->z_device)
			n->z_device = newid[n->z_device - 1];
	}
out:
	free(sorted);
	free(newid);
	return err;
}

static void rebuild_exit(struct rebuild *r)
{
	size_t i;

	for (i = 0; i < r->nr_made; i++) {
		struct erofs_node *n = r->made[i];

		if (n->ino)
			continue;
		/* hidden by a later layer: not in the image */
		erofs_xattr_drop(n);
		erofs_node_free(n);
	}
	free(r->made);
	for (i = 0; r->dirs_seen.slots && i <= r->dirs_seen.mask; i++)
		free(r->dirs_seen.slots[i].item);
	erofs_hashmap_exit(&r->dirs_seen);
	erofs_hashmap_exit(&r->links);
	for (i = 0; i < r->nr_layers; i++)
		if (r->layers[i].opened)
			erofs_image_close(&r->layers[i].img);
	free(r->layers);
	free(r->devkeys);
}

int erofs_rebuild_tree(struct erofs_builder *b)
{
	struct rebuild r = { .b = b };
	struct erofs_inode_info vi;
	struct erofs_node *root = NULL;
	unsigned int l;
	int err;

	err = erofs_hashmap_init(&r.links);
	if (!err)
		err = erofs_hashmap_init(&r.dirs_seen);
	if (!err)
		err = open_layers(&r);
	for (l = 0; l < r.nr_layers && !err; l++) {
		struct erofs_image *img = &r.layers[l].img;

		err = erofs_read_inode(img, img->root_nid, &vi);
		if (!err && !S_ISDIR(vi.mode))
			err = erofs_corrupt(img, "%s: root is not a directory",
					    r.layers[l].path);
		if (!err && !root)
			err = new_node(&r, l, &vi, "/", &root);
		if (!err)
			err = merge_dir(&r, l, root, &vi, "/", 0);
		erofs_progress_update(&b->progress, "merging layers", l + 1,
				      r.nr_layers);
	}
	if (!err) {
		b->root = root;
		err = erofs_tree_order(b, root);
	}
	if (!err)
		err = make_devices(&r);
	erofs_progress_done(&b->progress);
	rebuild_exit(&r);
	return err;
}
