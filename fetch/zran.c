// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A gzip (or zstd) layer served lazily: the bootstrap's annex holds the
 * layer's blob digest and size and its checkpoints (lib/gzindex.c); a
 * read of the uncompressed tar fetches the compressed pieces from the
 * nearest checkpoint before it to its end, and inflates them.
 *
 * A read fetches the compressed span it needs in one request, from the
 * checkpoint before it to the first checkpoint at or after its end (but
 * no piece that is cached already).
 * Fetched pieces stay in a small LRU cache, so that neighbouring reads,
 * which start from the same checkpoint, do not fetch them again; and the
 * cursor keeps its inflate state, so that a sequential reader inflates
 * every byte once.  The source's own statistics count what was received.
 *
 * A mapped device (EROFS_ANNEX_DEVICE_MAP: each file's data at a block
 * boundary, as fscache mode needs) is read through its map: each extent
 * from the tar as above, or straight from the source's uncompressed
 * object (keyed by the diff_id) for a layer that was not compressed,
 * and zeros between them.
 *
 * Nothing here can tell good compressed bytes from bad ones beyond what
 * inflate notices (a member's CRC is only checked where a member is read
 * from its start): a source serving other bytes of the right size gives
 * a corrupt-stream error at best.  The device's digest table (issue 15)
 * checks the uncompressed bytes against the bootstrap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "erofs/defs.h"
#include "erofs/devmap.h"
#include "erofs/erofs_fs.h"
#include "erofs/gzindex.h"
#include "erofs/layerindex.h"
#include "erofs/output.h"
#include "erofs/reader.h"
#include "zran.h"

/* 16 MiB of compressed pieces: a few spans around the current reads */
#define ZRAN_CACHE_PIECES	256
/* the most one request fetches: a quarter of the cache */
#define ZRAN_RUN_MAX		(ZRAN_CACHE_PIECES / 4 * EROFS_GZINDEX_PIECE)

struct zran_piece {
	uint64_t off;			/* UINT64_MAX: empty */
	uint64_t last_use;
	size_t len;
	uint8_t *data;
};

struct erofs_zran {
	pthread_mutex_t lock;
	struct erofs_msg msg;
	struct erofs_source *src;
	char blob[65];
	char tag[65];
	struct erofs_layer_source ls;
	struct erofs_gzindex ix;
	bool mapped;			/* z->map names where the tar's bytes are */
	bool plain;			/* the tar is the source's object z->blob */
	struct erofs_devmap map;
	struct erofs_gzindex_cursor cur;
	struct zran_piece cache[ZRAN_CACHE_PIECES];
	uint64_t clock;
	uint8_t *run;			/* ZRAN_RUN_MAX bytes being fetched */
};

static struct zran_piece *cache_find(struct erofs_zran *z, uint64_t off)
{
	unsigned int i;

	for (i = 0; i < ZRAN_CACHE_PIECES; i++)
		if (z->cache[i].off == off)
			return &z->cache[i];
	return NULL;
}

static struct zran_piece *cache_victim(struct erofs_zran *z)
{
	struct zran_piece *v = &z->cache[0];
	unsigned int i;

	for (i = 1; i < ZRAN_CACHE_PIECES; i++)
		if (z->cache[i].last_use < v->last_use)
			v = &z->cache[i];
	return v;
}

/*
 * A missing piece is fetched with the missing pieces after it, up to
 * where the current read may need them (a span or so, see need_end in
 * gzindex.h): one request per read instead of one per piece.
 */
static int fetch_run(struct erofs_zran *z, uint64_t off)
{
	uint64_t end = MIN(MAX(z->cur.need_end, off + 1), z->ls.blob_size);
	uint64_t pos;
	size_t len;
	int err;

	end = MIN(end, off + ZRAN_RUN_MAX);
	for (pos = off + EROFS_GZINDEX_PIECE; pos < end;
	     pos += EROFS_GZINDEX_PIECE)
		if (cache_find(z, pos))
			break;
	len = MIN(pos, z->ls.blob_size) - off;
	err = erofs_source_read(z->src, z->blob, off, len, z->run);
	if (err)
		return err;
	for (pos = 0; pos < len; pos += EROFS_GZINDEX_PIECE) {
		struct zran_piece *p = cache_victim(z);

		p->off = UINT64_MAX;
		if (!p->data && !(p->data = malloc(EROFS_GZINDEX_PIECE)))
			return -ENOMEM;
		p->len = MIN((uint64_t)EROFS_GZINDEX_PIECE, len - pos);
		memcpy(p->data, z->run + pos, p->len);
		p->off = off + pos;
		p->last_use = ++z->clock;
	}
	return 0;
}

/* the cursor's way to the compressed blob: aligned pieces, cached */
static int read_piece(void *priv, uint64_t off, size_t len, void *buf)
{
	struct erofs_zran *z = priv;
	struct zran_piece *p = cache_find(z, off);
	int err;

	if (!p) {
		err = fetch_run(z, off);
		if (err)
			return err;
		p = cache_find(z, off);
	}
	if (!p || p->len != len)
		return -EIO;
	p->last_use = ++z->clock;
	memcpy(buf, p->data, len);
	return 0;
}

static int check_blob_size(struct erofs_zran *z)
{
	uint64_t want = z->plain ? z->map.tar_size : z->ls.blob_size;
	uint64_t size;
	int err = erofs_source_size(z->src, z->blob, &size);

	if (err) {
		erofs_err(&z->msg, "device %s: its compressed blob sha256:%s: %s",
			  z->tag, z->blob, strerror(-err));
		return err;
	}
	if (size != want) {
		erofs_err(&z->msg, "device %s: the source serves %llu bytes as blob sha256:%s, the image says %llu",
			  z->tag, (unsigned long long)size, z->blob,
			  (unsigned long long)want);
		return -EPROTO;
	}
	return 0;
}

static int zran_init(struct erofs_zran *z, struct erofs_source *src,
		     const struct erofs_msg *msg)
{
	unsigned int i;
	int err;

	pthread_mutex_init(&z->lock, NULL);
	z->msg = *msg;
	z->src = src;
	for (i = 0; i < ZRAN_CACHE_PIECES; i++)
		z->cache[i].off = UINT64_MAX;
	z->run = malloc(ZRAN_RUN_MAX);
	if (!z->run)
		return -ENOMEM;
	if (z->plain)
		return check_blob_size(z);
	erofs_sha256_hex(z->ls.blob_digest, z->blob);
	err = erofs_gzindex_cursor_init(&z->cur, &z->ix, read_piece, z);
	if (err)
		return err;
	return check_blob_size(z);
}

#define BAD_MAP(...)	(snprintf(why, sizeof(why), __VA_ARGS__), -EFSCORRUPTED)

/* a mapped device: its map */
static int load_map(struct erofs_zran *z, const struct erofs_annex *ax,
		    uint16_t device, char *why, size_t whylen)
{
	int err = erofs_devmap_load(ax, device, &z->map, why, whylen);

	if (err == -ENOENT)
		return 0;
	if (!err)
		z->mapped = true;
	return err;
}

int erofs_zran_create(struct erofs_zran **out, const struct erofs_annex *ax,
		      uint16_t device, const uint8_t tag[64],
		      struct erofs_source *src, const struct erofs_msg *msg)
{
	struct erofs_zran *z = calloc(1, sizeof(*z));
	char why[256];
	int err;

	*out = NULL;
	if (!z)
		return -ENOMEM;
	memcpy(z->tag, tag, 64);
	err = load_map(z, ax, device, why, sizeof(why));
	if (!err)
		err = erofs_layer_gzip_load(ax, device, tag, &z->ls, &z->ix,
					    why, sizeof(why));
	/* every window now: a damaged one fails the open, not a late read */
	if (!err)
		err = erofs_gzindex_check_windows(&z->ix, why, sizeof(why));
	if (!err && z->mapped && z->map.tar_size != z->ix.size)
		err = BAD_MAP("the map's tar of %llu bytes is not the blob's %llu",
			      (unsigned long long)z->map.tar_size,
			      (unsigned long long)z->ix.size);
	/* a mapped tar that was never compressed: the source holds it */
	if (err == -ENOENT && z->mapped) {
		z->plain = true;
		erofs_sha256_hex(z->map.diff_id, z->blob);
		err = 0;
	}
	if (err == -ENOENT) {
		free(z);
		return 0;
	}
	if (err) {
		erofs_err(msg, "device %u (%s): damaged layer records: %s",
			  device, z->tag, why);
		erofs_gzindex_free(&z->ix);
		erofs_devmap_free(&z->map);
		free(z);
		return err;
	}
	err = zran_init(z, src, msg);
	if (err) {
		erofs_zran_close(z);
		return err;
	}
	*out = z;
	return 0;
}

uint64_t erofs_zran_size(const struct erofs_zran *z)
{
	return z->mapped ? z->map.size : z->ix.size;
}

const char *erofs_zran_blob(const struct erofs_zran *z)
{
	return z->blob;
}

/* a mapped device's extent: from the tar, wherever the source has it */
static int read_tar(void *priv, uint64_t off, size_t len, void *buf)
{
	struct erofs_zran *z = priv;

	if (z->plain)
		return erofs_source_read(z->src, z->blob, off, len, buf);
	return erofs_gzindex_pread(&z->cur, buf, len, off);
}

int erofs_zran_read(struct erofs_zran *z, uint64_t off, size_t len,
		    void *buf)
{
	int err;

	pthread_mutex_lock(&z->lock);
	if (z->mapped)
		err = erofs_devmap_read(&z->map, off, len, buf, read_tar, z);
	else
		err = erofs_gzindex_pread(&z->cur, buf, len, off);
	if (err)
		erofs_err(&z->msg, "device %s, bytes %llu+%zu from blob sha256:%s: %s",
			  z->tag, (unsigned long long)off, len, z->blob,
			  z->plain || err == -ERANGE ? strerror(-err) :
			  z->cur.err);
	pthread_mutex_unlock(&z->lock);
	return err;
}

void erofs_zran_close(struct erofs_zran *z)
{
	unsigned int i;

	if (!z)
		return;
	if (!z->plain)
		erofs_gzindex_cursor_exit(&z->cur);
	erofs_gzindex_free(&z->ix);
	erofs_devmap_free(&z->map);
	for (i = 0; i < ZRAN_CACHE_PIECES; i++)
		free(z->cache[i].data);
	free(z->run);
	pthread_mutex_destroy(&z->lock);
	free(z);
}

