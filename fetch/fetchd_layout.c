// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch daemon: the layout of what it serves, so that it never
 * leaves a pcluster half-filled in a cache file.  A kernel that reads
 * compressed data through cachefiles (Linux 6.12 among others) completes
 * a bio once per populated piece of the cache file it finds in the bio's
 * range: a bio whose range is part data, part hole is completed twice,
 * and the reader hangs in D state, reads wrong data, or the kernel
 * panics.  So every write into a blob's cache file is widened to whole
 * pclusters, and to whole runs of pclusters one read may cover
 * (include/erofs/pclmap.h).
 *
 * Where the pclusters are comes from the bootstrap that names the blob in
 * its device table.  An object is recognised as a bootstrap by its
 * superblock at its first READ; one that may hold compressed data is
 * fetched whole (it is metadata, and the kernel reads most of it anyway)
 * into a temporary file next to the cache, copied into its cache file,
 * and parsed; its files' compressed indexes are walked at the first READ
 * of one of its blobs.  A blob whose bootstrap the kernel does not open
 * (again) has it read from the source by the volume's name.  A blob no
 * bootstrap names, or whose bootstrap cannot be parsed, is filled whole
 * at its first READ: slow, but never half.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "erofs/annex.h"
#include "erofs/defs.h"
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "daemon.h"

/* superblock features that only images with compressed files have */
#define FETCHD_COMPR_FEATURES	(EROFS_FEATURE_INCOMPAT_ZERO_PADDING | \
				 EROFS_FEATURE_INCOMPAT_COMPR_CFGS | \
				 EROFS_FEATURE_INCOMPAT_ZTAILPACKING | \
				 EROFS_FEATURE_INCOMPAT_FRAGMENTS)

#define FETCHD_TAG_MAX		sizeof(((struct erofs_deviceslot *)0)->tag)

/* a bootstrap the daemon has looked into */
struct fetchd_image {
	struct fetchd_image *next;
	char volume[EROFS_CF_KEY_MAX];
	char cookie[EROFS_CF_KEY_MAX];
	bool compressed;		/* may hold pclusters */
	int fd;				/* its bytes until walked, or -1 */
	struct erofs_image img;		/* open on fd until walked */
	bool walked;
	int walk_err;			/* why its maps are unknown */
	unsigned int nr_devs;
	char (*tags)[FETCHD_TAG_MAX + 1];	/* device i's, [0] unused */
	struct erofs_pclmap *maps;	/* device i's pclusters, once walked */
	bool opened;			/* img is open on fd */
	struct erofs_annex annex;	/* its records past the filesystem */
	/* device i's digest table, pointing into @annex, or zeroes */
	struct erofs_digest_table *tables;
};

static void image_close(struct fetchd_image *img)
{
	if (img->fd < 0)
		return;
	if (img->opened)
		erofs_image_close(&img->img);
	img->opened = false;
	close(img->fd);
	img->fd = -1;
}

static void image_free(struct fetchd_image *img)
{
	unsigned int i;

	image_close(img);
	for (i = 0; img->maps && i < img->nr_devs; i++)
		erofs_pclmap_free(&img->maps[i]);
	free(img->tables);
	free(img->maps);
	free(img->tags);
	erofs_annex_free(&img->annex);
	free(img);
}

/* a file for the bootstrap's bytes: on the cache's disk, else in memory */
static int scratch_file(struct fetchd *d)
{
	int fd = open(d->o.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		fd = memfd_create("erofs-fetch-bootstrap", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * A bootstrap to look into: an open object, or (after a restore, when the
 * kernel has no reason to open it again) only its name at the source.
 */
struct boot_src {
	const char *volume, *cookie;
	struct erofs_source *src;
	const char *key;
	uint64_t size;
	struct fetchd_obj *obj;		/* the cache file to fill, or NULL */
};

static void boot_src_of(struct boot_src *bs, struct fetchd_obj *obj)
{
	*bs = (struct boot_src) {
		.volume = obj->volume, .cookie = obj->cookie,
		.src = obj->src, .key = obj->key, .size = obj->size, .obj = obj,
	};
}

/*
 * The bootstrap is the root of every blob's digest table: when it is
 * named by a digest (its object key at the source, or its cookie, the
 * fsid), its bytes must have that digest before any of them is served.
 */
static int check_pin(struct fetchd *d, const struct boot_src *bs,
		     struct erofs_sha256 *sha)
{
	uint8_t digest[EROFS_SHA256_SIZE];
	char want[65], got[65];

	if (erofs_source_parse_digest(bs->key, want) &&
	    erofs_source_parse_digest(bs->cookie, want)) {
		erofs_warn(&d->msg, "%s: bootstrap not pinned by a digest (neither its fsid nor its object key is one): its digest tables are only as good as its source",
			   bs->cookie);
		return 0;
	}
	erofs_sha256_final(sha, digest);
	erofs_sha256_hex(digest, got);
	if (!strcmp(got, want))
		return 0;
	erofs_err(&d->msg, "%s: bootstrap has sha256 %s, but is pinned as %s: none of it is served",
		  bs->cookie, got, want);
	return -EBADMSG;
}

/* what the bootstrap's cache file lacks, from its checked copy in @fd */
static int fill_boot_cache(struct fetchd *d, const struct boot_src *bs,
			   int fd, void *buf)
{
	uint64_t off, n;
	int err = 0;

	for (off = 0; !err && off < bs->size; off += n) {
		n = MIN(bs->size - off, FETCHD_CHUNK);
		if (fetchd_obj_hole(d, bs->obj, off) >= off + n)
			continue;
		if (pread(fd, buf, n, off) != (ssize_t)n)
			return -EIO;
		err = fetchd_obj_write(d, bs->obj, buf, n, off);
		if (!err)
			fetchd_count(d, bytes_demand, n);
	}
	return err;
}

/*
 * Fetches the whole bootstrap into @img->fd, checks it against its pin,
 * then writes whatever its cache file lacks and opens it.  An image that
 * cannot be opened keeps its bytes (@img->opened false).
 */
static int image_load(struct fetchd *d, const struct boot_src *bs,
		      struct fetchd_image *img, void *buf)
{
	struct erofs_sha256 sha;
	uint64_t off, n;
	int fd, err = 0;
	ssize_t w;

	fd = scratch_file(d);
	if (fd < 0)
		return fd;
	erofs_sha256_init(&sha);
	for (off = 0; !err && off < bs->size; off += n) {
		n = MIN(bs->size - off, FETCHD_CHUNK);
		err = erofs_source_read(bs->src, bs->key, off, n, buf);
		if (err)
			break;
		erofs_sha256_update(&sha, buf, n);
		w = pwrite(fd, buf, n, off);
		if (w != (ssize_t)n)
			err = w < 0 ? -errno : -ENOSPC;
	}
	if (!err)
		err = check_pin(d, bs, &sha);
	if (!err && bs->obj)
		err = fill_boot_cache(d, bs, fd, buf);
	if (err) {
		close(fd);
		return err;
	}
	img->fd = fd;
	err = erofs_image_open_fd(&img->img, &d->msg, fd, bs->cookie);
	img->opened = !err;
	return err;
}

static int image_tags(struct fetchd_image *img, unsigned int nr_devs,
		      const void *slots)
{
	const struct erofs_deviceslot *slot = slots;
	unsigned int i;

	img->tags = calloc(nr_devs, sizeof(*img->tags));
	if (!img->tags)
		return -ENOMEM;
	img->nr_devs = nr_devs;
	for (i = 1; i < nr_devs; i++)
		memcpy(img->tags[i], slot[i - 1].tag, FETCHD_TAG_MAX);
	return 0;
}

/* the device table as the superblock @sb places it, in the checked copy */
static int read_tags(const struct boot_src *bs, struct fetchd_image *img,
		     const struct erofs_super_block *sb, void *buf)
{
	unsigned int n = 0;
	uint64_t pos, len;

	if (le32_to_cpu(sb->feature_incompat) & EROFS_FEATURE_INCOMPAT_DEVICE_TABLE)
		n = le16_to_cpu(sb->extra_devices);
	pos = (uint64_t)le16_to_cpu(sb->devt_slotoff) * EROFS_DEVT_SLOT_SIZE;
	len = (uint64_t)n * EROFS_DEVT_SLOT_SIZE;	/* at most 8 MiB */
	if (pos + len > bs->size || len > FETCHD_CHUNK)
		return -EFSCORRUPTED;
	if (n && pread(img->fd, buf, len, pos) != (ssize_t)len)
		return -EIO;
	return image_tags(img, n + 1, buf);
}

/*
 * The annex (digest tables, gzip indexes) is kept for its devices' OPEN
 * and READs; each device's digest table is checked against the image
 * now, while it is open.
 */
static int image_tables(struct fetchd *d, struct fetchd_image *img)
{
	unsigned int i;
	int err;

	img->tables = calloc(img->nr_devs, sizeof(*img->tables));
	if (!img->tables)
		return -ENOMEM;
	err = erofs_annex_load(&img->img, &img->annex);
	if (err) {
		erofs_warn(&d->msg, "%s: its annex cannot be read (%s): its blobs have no digest tables, gzip layers it names are not served",
			   img->cookie, strerror(-err));
		return 0;
	}
	for (i = 1; i < img->nr_devs && i < img->img.nr_devs; i++)
		if (erofs_digest_table_load(&img->img, &img->annex, i,
					    &img->tables[i]))
			memset(&img->tables[i], 0, sizeof(img->tables[i]));
	return 0;
}

/*
 * Looks at @bs as a bootstrap.  *out is the image it is (entered in the
 * list), or NULL when its superblock is not an EROFS one.
 */
static int probe(struct fetchd *d, const struct boot_src *bs, void *buf,
		 struct fetchd_image **out)
{
	struct erofs_super_block sb;
	struct fetchd_image *img;
	int err;

	*out = NULL;
	if (bs->size < EROFS_SUPER_OFFSET + sizeof(sb))
		return 0;
	err = erofs_source_read(bs->src, bs->key, EROFS_SUPER_OFFSET,
				sizeof(sb), buf);
	if (err)
		return err;
	memcpy(&sb, buf, sizeof(sb));
	if (le32_to_cpu(sb.magic) != EROFS_SUPER_MAGIC_V1)
		return 0;

	img = calloc(1, sizeof(*img));
	if (!img)
		return -ENOMEM;
	img->fd = -1;
	strcpy(img->volume, bs->volume);
	strcpy(img->cookie, bs->cookie);
	img->compressed = le32_to_cpu(sb.feature_incompat) & FETCHD_COMPR_FEATURES;
	/* whole and checked: its tables vouch for its blobs */
	err = image_load(d, bs, img, buf);
	if (err == -EFSCORRUPTED || err == -EOPNOTSUPP) {
		/* its blobs get whole fills; the kernel judges it */
		img->walked = true;
		img->walk_err = err;
		err = 0;
	}
	if (!err)
		err = read_tags(bs, img, &sb, buf);
	if (err == -EFSCORRUPTED) {
		erofs_warn(&d->msg, "%s: its device table is not where its superblock says",
			   bs->cookie);
		image_free(img);
		return 0;
	}
	if (!err && img->opened)
		err = image_tables(d, img);
	if (!err && !img->compressed)
		image_close(img);	/* nothing to walk */
	if (err) {
		image_free(img);
		return err;
	}
	img->next = d->images;
	d->images = img;
	*out = img;
	erofs_info(&d->msg, "%s is a bootstrap with %u blob(s)%s", bs->cookie,
		   img->nr_devs - 1, img->compressed ?
		   " and may hold compressed files" : "");
	return 0;
}

/* looks at open object @obj as a bootstrap, once */
static int probe_obj(struct fetchd *d, struct fetchd_obj *obj, void *buf,
		     struct fetchd_image **out)
{
	struct boot_src bs;
	int err;

	boot_src_of(&bs, obj);
	err = probe(d, &bs, buf, out);
	if (!err)
		obj->probed = true;
	if (*out)
		obj->bootstrap = true;
	return err;
}

/* the pclusters of every device of @img, once */
static void image_walk(struct fetchd *d, struct fetchd_image *img)
{
	uint64_t files = 0, t0 = fetchd_now_us();
	unsigned int i;

	if (img->walked)
		return;
	img->walked = true;
	img->maps = calloc(img->nr_devs, sizeof(*img->maps));
	if (!img->maps) {
		img->walk_err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < img->nr_devs; i++)
		erofs_pclmap_init(&img->maps[i], FETCHD_PAGE);
	img->walk_err = erofs_pclmap_build(&img->img, img->maps, &files);
	if (!img->walk_err && !files)
		img->compressed = false;
	erofs_info(&d->msg, "%s: pclusters of %llu compressed file(s) mapped in %llums%s%s",
		   img->cookie, (unsigned long long)files,
		   (unsigned long long)(fetchd_now_us() - t0) / 1000,
		   img->walk_err ? ": " : "",
		   img->walk_err ? strerror(-img->walk_err) : "");
out:
	image_close(img);
}

/* blob @obj's digest table, from device @dev of bootstrap @img */
static void take_table(struct fetchd *d, struct fetchd_obj *obj,
		       const struct fetchd_image *img, unsigned int dev)
{
	const struct erofs_digest_table *t;
	uint8_t *copy;

	if (obj->has_table || !img->tables || !img->tables[dev].digests)
		return;
	t = &img->tables[dev];
	if (t->blob_size != obj->size) {
		erofs_err(&d->msg, "%s: the source has %llu bytes, the digest table in bootstrap %s %llu: not used",
			  obj->cookie, (unsigned long long)obj->size,
			  img->cookie, (unsigned long long)t->blob_size);
		return;
	}
	copy = malloc(MAX(t->nr_units * EROFS_SHA256_SIZE, 1ULL));
	if (!copy)
		return;
	memcpy(copy, t->digests, t->nr_units * EROFS_SHA256_SIZE);
	obj->table = *t;
	obj->table.digests = copy;
	obj->digests = copy;
	obj->has_table = true;
}

/*
 * @obj as a blob: the union of its pclusters in every image of its
 * volume that names it.  False when no image names it.
 */
static bool blob_layout(struct fetchd *d, struct fetchd_obj *obj,
			enum fetchd_layout *layout, const char **why)
{
	struct fetchd_image *img;
	bool named = false;
	unsigned int i;

	*layout = FETCHD_LAYOUT_PLAIN;
	for (img = d->images; img; img = img->next) {
		if (strcmp(img->volume, obj->volume))
			continue;
		for (i = 1; i < img->nr_devs; i++) {
			if (strcmp(img->tags[i], obj->cookie))
				continue;
			named = true;
			take_table(d, obj, img, i);
			if (!img->compressed || *layout == FETCHD_LAYOUT_WHOLE)
				continue;
			image_walk(d, img);
			if (!img->walk_err && !img->compressed)
				continue;
			if (img->walk_err ||
			    erofs_pclmap_merge(&obj->pcl, &img->maps[i])) {
				*layout = FETCHD_LAYOUT_WHOLE;
				*why = "its bootstrap's compressed indexes could not be read";
				continue;
			}
			*layout = FETCHD_LAYOUT_PCLUSTERS;
		}
	}
	return named;
}

static struct fetchd_image *find_image(struct fetchd *d, const char *volume,
				       const char *cookie)
{
	struct fetchd_image *img;

	for (img = d->images; img; img = img->next)
		if (!strcmp(img->volume, volume) && !strcmp(img->cookie, cookie))
			return img;
	return NULL;
}

/*
 * Without a domain, the kernel names a bootstrap's volume "erofs,FSID"
 * and the bootstrap's cookie FSID: the bootstrap of blob @obj is read
 * from the source even when the kernel has not opened it (again).  True
 * when a bootstrap was found that way.
 */
static bool probe_volume_fsid(struct fetchd *d, struct fetchd_obj *obj,
			      void *buf)
{
	static const char prefix[] = "erofs,";
	struct boot_src bs = { .volume = obj->volume };
	struct fetchd_image *img = NULL;
	int err;

	if (strncmp(obj->volume, prefix, sizeof(prefix) - 1))
		return false;
	bs.cookie = obj->volume + sizeof(prefix) - 1;
	if (!strcmp(bs.cookie, obj->cookie) ||
	    find_image(d, obj->volume, bs.cookie))
		return false;
	err = fetchd_resolve(d, bs.cookie, &bs.src, &bs.key);
	if (!err)
		err = erofs_source_size(bs.src, bs.key, &bs.size);
	if (!err)
		err = probe(d, &bs, buf, &img);
	/* with domain_id=, the volume names the domain: no such object */
	if (err)
		erofs_dbg(&d->msg, "%s: no bootstrap %s at the source: %s",
			  obj->volume, bs.cookie, strerror(-err));
	return img != NULL;
}

/* looks at every open object of @volume not looked at yet */
static void probe_volume(struct fetchd *d, const char *volume, void *buf)
{
	struct fetchd_image *img;
	struct fetchd_obj *o;
	int err;

	while ((o = fetchd_table_find(d, volume, NULL, true))) {
		err = probe_obj(d, o, buf, &img);
		if (err) {
			erofs_warn(&d->msg, "%s: cannot read its superblock: %s",
				   o->cookie, strerror(-err));
			o->probed = true;	/* once: this loop must end */
		}
		fetchd_obj_put(o);
	}
}

static int decide(struct fetchd *d, struct fetchd_obj *obj, void *buf,
		  enum fetchd_layout *layout, const char **why)
{
	struct fetchd_image *img = find_image(d, obj->volume, obj->cookie);
	int err;

	*why = NULL;
	if (!img) {
		if (blob_layout(d, obj, layout, why))
			return 0;
		/*
		 * A blob whose bootstrap this daemon has not read: after a
		 * restore, or a mount whose metadata was all cached already.
		 */
		if (probe_volume_fsid(d, obj, buf) &&
		    blob_layout(d, obj, layout, why))
			return 0;
		if (!obj->probed) {
			err = probe_obj(d, obj, buf, &img);
			if (err)
				return err;
		}
	}
	if (img) {
		/* a compressed bootstrap was written whole by probe() */
		obj->bootstrap = true;
		*layout = img->compressed ? FETCHD_LAYOUT_WHOLE : FETCHD_LAYOUT_PLAIN;
		return 0;
	}
	/* in a domain: any open object of the volume may be a bootstrap */
	probe_volume(d, obj->volume, buf);
	if (blob_layout(d, obj, layout, why))
		return 0;
	*layout = FETCHD_LAYOUT_WHOLE;
	*why = "no bootstrap of its volume names it";
	return 0;
}

/*
 * A blob whose bootstrap holds no digest table for it cannot be checked:
 * refused unless --unverified=allow (its READs then fail; asked again at
 * each, so that a bootstrap opened later can still vouch for it).
 */
static int unverified_policy(struct fetchd *d, struct fetchd_obj *obj)
{
	if (obj->bootstrap || obj->has_table)
		return 0;
	if (d->o.unverified == FETCH_UNVERIFIED_ALLOW) {
		erofs_warn(&d->msg, "%s: no digest table vouches for it: served unchecked (--unverified=allow)",
			   obj->cookie);
		return 0;
	}
	erofs_err(&d->msg, "%s: no digest table vouches for it: refused (--unverified=allow serves it unchecked)",
		  obj->cookie);
	return -EPERM;
}

int fetchd_layout_get(struct fetchd *d, struct fetchd_obj *obj, void *buf)
{
	enum fetchd_layout layout;
	const char *why;
	int err = 0;

	if (atomic_load(&obj->layout) != FETCHD_LAYOUT_UNKNOWN)
		return 0;
	pthread_mutex_lock(&d->layout_lock);
	if (atomic_load(&obj->layout) != FETCHD_LAYOUT_UNKNOWN)
		goto out;
	err = decide(d, obj, buf, &layout, &why);
	if (err) {
		erofs_err(&d->msg, "%s: cannot learn its layout: %s",
			  obj->cookie, strerror(-err));
		goto out;
	}
	err = unverified_policy(d, obj);
	if (err)
		goto out;
	if (why)
		erofs_warn(&d->msg, "%s: pcluster layout unknown (%s): filling it whole (%llu bytes) at once",
			   obj->cookie, why, (unsigned long long)obj->size);
	else if (layout == FETCHD_LAYOUT_PCLUSTERS)
		erofs_info(&d->msg, "%s: %zu pclusters: written whole",
			   obj->cookie, obj->pcl.n);
	erofs_pclmap_finish(&obj->pcl);
	atomic_store(&obj->layout, layout);
out:
	pthread_mutex_unlock(&d->layout_lock);
	return err;
}

int fetchd_layout_zran(struct fetchd *d, struct fetchd_obj *obj)
{
	struct fetchd_image *img;
	unsigned int i;
	int err = 0;

	pthread_mutex_lock(&d->layout_lock);
	for (img = d->images; img && !obj->zran && !err; img = img->next) {
		if (strcmp(img->volume, obj->volume) || !img->annex.nr)
			continue;
		for (i = 1; i < img->nr_devs && !obj->zran && !err; i++) {
			if (strcmp(img->tags[i], obj->cookie))
				continue;
			/* the blob is at the device's source, by its digest */
			err = erofs_zran_create(&obj->zran, &img->annex, i,
						(const uint8_t *)img->tags[i],
						obj->src, &d->msg);
		}
	}
	pthread_mutex_unlock(&d->layout_lock);
	if (obj->zran) {
		obj->size = erofs_zran_size(obj->zran);
		erofs_info(&d->msg, "%s: a compressed layer, served from blob sha256:%s",
			   obj->cookie, erofs_zran_blob(obj->zran));
	}
	return err;
}

void fetchd_layout_forget(struct fetchd *d, struct fetchd_obj *obj)
{
	struct fetchd_image **pp, *img;

	pthread_mutex_lock(&d->layout_lock);
	for (pp = &d->images; obj->bootstrap && (img = *pp); pp = &img->next) {
		if (strcmp(img->volume, obj->volume) ||
		    strcmp(img->cookie, obj->cookie))
			continue;
		/* its blobs keep their own copies of the maps */
		*pp = img->next;
		image_free(img);
		break;
	}
	pthread_mutex_unlock(&d->layout_lock);
}

void fetchd_layout_exit(struct fetchd *d)
{
	struct fetchd_image *img;

	while ((img = d->images)) {
		d->images = img->next;
		image_free(img);
	}
}
