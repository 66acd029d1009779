// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/build.h"
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "erofs/filededup.h"
#include "erofs/sha256.h"

void erofs_build_options_default(struct erofs_build_options *o)
{
	memset(o, 0, sizeof(*o));
	o->blkszbits = 12;
	o->inode_policy = EROFS_INODE_AUTO;
	o->inline_data = true;
	o->sb_checksum = true;
	o->force_uid = -1;
	o->force_gid = -1;
	o->xattr_tolerance = 2;
	o->compress.pclusterblks = 1;
	o->compress.workers = 1;
	o->file_dedup = true;
	o->digest_unit_bits = EROFS_DIGEST_UNIT_DEFAULT_BITS;
}

void erofs_build_mtime(const struct erofs_build_options *o,
		       struct erofs_node *n, int64_t sec, uint32_t nsec)
{
	/* erofs-utils clamps by whole seconds */
	if (o->fixed_mtime || (o->clamp_mtime && sec >= o->build_time)) {
		n->mtime = o->build_time;
		n->mtime_nsec = o->build_time_nsec;
	} else {
		n->mtime = sec;
		n->mtime_nsec = nsec;
	}
}

int erofs_build_owner(const struct erofs_build_options *o,
		      const struct erofs_msg *msg, const char *path,
		      struct erofs_node *n, uint32_t uid, uint32_t gid)
{
	uint64_t u = o->all_root ? 0 : uid, g = o->all_root ? 0 : gid;

	if (o->force_uid >= 0)
		u = o->force_uid;
	if (o->force_gid >= 0)
		g = o->force_gid;
	u += o->uid_offset;
	g += o->gid_offset;
	if (u > UINT32_MAX || g > UINT32_MAX) {
		erofs_err(msg, "%s: owner %u:%u plus --uid-offset/--gid-offset is past 4294967295",
			  path, uid, gid);
		return -EOVERFLOW;
	}
	n->uid = u;
	n->gid = g;
	return 0;
}

static int builder_init(struct erofs_builder *b,
			const struct erofs_build_options *opts,
			const struct erofs_msg *msg, const char *src,
			struct erofs_output *out, struct erofs_output *blob)
{
	struct stat st;
	int err;

	memset(b, 0, sizeof(*b));
	b->opts = opts;
	b->msg = msg;
	b->blksz = 1U << opts->blkszbits;
	b->src_root = src;
	b->tar_data_fd[0] = b->tar_data_fd[1] = -1;
	b->out = out;
	b->blob = blob;
	erofs_progress_init(&b->progress, msg->prog, opts->show_progress);
	/* the image may be written inside the tree it is built from */
	if (!fstat(out->fd, &st)) {
		b->out_dev = st.st_dev;
		b->out_ino = st.st_ino;
	}
	if (blob) {
		b->devices = calloc(1, sizeof(*b->devices));
		if (!b->devices)
			return -ENOMEM;
		b->nr_devices = 1;
	}
	err = erofs_hashmap_init(&b->hardlinks);
	if (err)
		return err;
	err = erofs_xattr_table_init(&b->xattrs);
	if (!err)
		err = erofs_chunks_init(b);
	if (!err)
		err = erofs_hashmap_init(&b->file_digests);
	if (err) {
		erofs_hashmap_exit(&b->hardlinks);
		erofs_xattr_table_exit(&b->xattrs);
	}
	return err;
}

/* the blob's digest table, from the finished blob read back */
static int blob_digest_table(struct erofs_builder *b)
{
	struct erofs_digest_builder db;
	int err;

	erofs_digest_builder_init(&db, b->opts->digest_unit_bits);
	err = erofs_digest_builder_read_fd(&db, b->blob->fd, b->blob->offset,
					   b->blob_blocks * b->blksz);
	if (!err)
		err = erofs_digest_builder_emit(&db, &b->annex, 1);
	erofs_digest_builder_free(&db);
	if (err)
		erofs_err(b->msg, "%s: digest table: %s", b->opts->blob_path,
			  strerror(-err));
	return err;
}

/* the blob is finished first: the image's device table names its digest */
static int finish_blob(struct erofs_builder *b)
{
	int err;

	err = erofs_output_digest(b->blob, b->blob_blocks * b->blksz,
				  b->blob_digest);
	if (!err)
		err = blob_digest_table(b);
	if (err)
		return err;
	b->stats.blob_blocks = b->blob_blocks;
	erofs_sha256_hex(b->blob_digest, b->stats.blob_digest);
	memcpy(b->devices[0].tag, b->stats.blob_digest, 64);
	b->devices[0].blocks = b->blob_blocks;
	return 0;
}

/*
 * The blob goes into place before the image that names it.  A blob it
 * replaces is kept under a second name until the image is in place too:
 * should the image fail, the old blob comes back and the image built
 * with it still finds it.  Both are committed, or neither.
 */
static int keep_old_blob(struct erofs_builder *b, char **kept)
{
	const char *path = b->opts->blob_path;
	struct stat st;

	*kept = NULL;
	if (!b->blob->tmppath || lstat(path, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (asprintf(kept, "%s.prev.%d", path, (int)getpid()) < 0) {
		*kept = NULL;
		return -ENOMEM;
	}
	unlink(*kept);
	if (link(path, *kept)) {
		int err = -errno;

		erofs_err(b->msg, "%s: cannot keep the blob it replaces as %s: %s",
			  path, *kept, strerror(-err));
		free(*kept);
		*kept = NULL;
		return err;
	}
	return 0;
}

static void settle_blob(struct erofs_builder *b, char *kept, bool committed,
			bool image_ok)
{
	const char *path = b->opts->blob_path;

	if (committed && !image_ok) {
		if (kept ? rename(kept, path) : unlink(path))
			erofs_err(b->msg, "%s: cannot put the previous blob back: %s",
				  path, strerror(errno));
		else if (kept)
			erofs_info(b->msg, "%s: the previous blob is back in place",
				   path);
	} else if (kept) {
		unlink(kept);
	}
	free(kept);
}

static int write_image(struct erofs_builder *b)
{
	uint64_t fs_end = b->total_blocks * (uint64_t)b->blksz, end;
	bool blob_committed = false;
	char *kept = NULL;
	int err;

	err = erofs_write_super(b);
	if (!err)
		err = erofs_output_pwrite(b->out, b->head,
					  b->head_blocks * b->blksz, 0);
	/* the metadata area was written by erofs_write_metadata() */
	if (!err)
		err = erofs_annex_write(&b->annex, b->out, fs_end, b->blksz,
					&end);
	if (!err && b->blob)
		err = keep_old_blob(b, &kept);
	if (!err && b->blob) {
		err = erofs_output_commit(b->blob, b->blob_blocks * b->blksz);
		blob_committed = !err;
	}
	if (!err)
		err = erofs_output_commit(b->out, end);
	if (b->blob)
		settle_blob(b, kept, blob_committed, !err);
	return err;
}

int erofs_build_image(const struct erofs_build_options *opts,
		      const struct erofs_msg *msg, const char *src,
		      struct erofs_output *out, struct erofs_output *blob,
		      struct erofs_build_stats *stats)
{
	struct erofs_builder b;
	int err;

	err = builder_init(&b, opts, msg, src, out, blob);
	if (err)
		return err;
	if (opts->tree_source)
		err = opts->tree_source(&b, opts->tree_priv);
	else if (opts->nr_layers)
		err = erofs_rebuild_tree(&b);
	else if (opts->tar_mode)
		err = erofs_tar_tree(&b);
	else
		err = erofs_scan_tree(&b);
	if (!err)
		err = erofs_layout_prepare(&b);
	if (!err)
		err = erofs_write_data(&b);
	/* the blob is complete: its table sizes the annex devices follow */
	if (!err && b.blob)
		err = finish_blob(&b);
	if (!err)
		err = erofs_layout_metadata(&b);
	if (!err)
		err = erofs_write_metadata(&b);
	if (!err)
		err = write_image(&b);
	if (!err && stats) {
		*stats = b.stats;
		stats->devt = b.devices;
		stats->nr_devt = b.nr_devices;
		b.devices = NULL;
	}
	free(b.head);
	free(b.meta);
	erofs_annex_writer_free(&b.annex);
	erofs_meta_alloc_free(b.alloc);
	erofs_chunks_exit(&b);
	erofs_file_dedup_exit(&b);
	erofs_tree_free(&b);
	free(b.devices);
	if (b.tar_data_fd[0] >= 0)
		close(b.tar_data_fd[0]);
	if (b.tar_data_fd[1] >= 0)
		close(b.tar_data_fd[1]);
	return err;
}
