// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data pass: every file's contents, in inode order, from the block
 * after the head on.
 *
 * Work flows through an ordered queue.  Compressed files are read in
 * segments that workers compress in any order; the queue is retired in
 * order, so blocks are handed out -- and the image comes out -- the same
 * whatever the number of workers.  A file whose compressed form saves no
 * block is rewritten uncompressed.  Sizes were fixed when the tree was
 * scanned; a file that is not exactly what was scanned fails the build
 * rather than yielding an image that lies.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/build.h"
#include "erofs/erofs_fs.h"
#include "erofs/filededup.h"
#include "erofs/workqueue.h"
#include "erofs/zdedupe.h"

#define COPY_CHUNK	(1U << 20)
/* the kernel's readahead window of a file opened without hints */
#define READAHEAD_DEFAULT	(128U << 10)
/* extents never cross a segment, so segments compress independently */
#define Z_SEGMENT_SIZE	(16U << 20)
/* enough queued small files to keep a worker busy past a large one */
#define Z_ITEMS_PER_WORKER	256

struct src_file {
	struct erofs_node *node;
	int fd;
	uint64_t zstart;		/* first block of its pclusters */
	uint32_t dedupe_mark;		/* -E dedupe: entries before its own */
	/* -E all-fragments: its segments but the last, in the packed inode */
	uint64_t frag_start, frag_bytes;
	unsigned int pending;		/* its segments still queued */
	bool queued_all;		/* no more will be (or it failed) */
};

struct data_item {
	struct erofs_work work;		/* compression jobs */
	struct data_item *next;
	struct erofs_node *node;
	struct src_file *file;		/* compression jobs */
	struct erofs_node *dup_of;	/* a compressed file equal to it */
	struct z_erofs_segment seg;
	uint8_t *in;
	bool last;			/* the file's last segment */
	bool done;
	int err;
	struct data_pass *dp;
};

struct data_pass {
	struct erofs_builder *b;
	uint64_t cursor;		/* next free block of the image */
	/* regular files' data: the blob's, or the image's own cursor */
	struct erofs_output *dout;
	uint64_t blob_cursor, *dcursor;
	uint8_t *chunkbuf;
	struct data_item *head, **tail;
	/*
	 * Bounds on the queue: bytes of input read ahead, and items (each
	 * holds its output, and small files make many).  Without worker
	 * threads an item is compressed when queued: nothing waits.
	 */
	uint64_t inflight, max_inflight;
	unsigned int nr_items, max_items;
	bool threaded;
	struct erofs_workqueue wq;
	struct z_erofs_worker worker;	/* when not threaded */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint8_t *buf;			/* copies, COPY_CHUNK + a block */
	const struct erofs_node *dir;	/* the directory open as dir_fd */
	int dir_fd;
	uint64_t files, files_done;
	/* -E fragments: the packed inode's content */
	struct erofs_spill packed;
	/* -E dedupe: the pclusters stored so far, by content */
	struct z_erofs_dedupe *dedupe;
	struct z_erofs_dedupe_stats dedupe_stats;
};

/*
 * -E dedupe remembers this much of the data it stored, to compare
 * candidates byte by byte: past it, later data is no longer remembered.
 */
#define Z_DEDUPE_BUDGET		(512ULL << 20)

static int changed(struct erofs_builder *b, const struct erofs_node *n)
{
	struct erofs_path_buf pb;

	erofs_err(b->msg, "%s: file changed during the build",
		  erofs_node_path(b, n, &pb));
	return -EAGAIN;
}

static int pread_full(int fd, uint8_t *buf, size_t len, uint64_t pos,
		      size_t *got)
{
	ssize_t ret;

	*got = 0;
	while (*got < len) {
		ret = pread(fd, buf + *got, len - *got, pos + *got);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (!ret)
			break;
		*got += ret;
	}
	return 0;
}

/* reads exactly @len bytes at @pos: fewer means the file shrank */
static int read_exact(struct erofs_builder *b, const struct erofs_node *n,
		      int fd, uint8_t *buf, size_t len, uint64_t pos)
{
	size_t got;
	int err;

	/* a tar's file data lies within the tar (or its spool) */
	if (n->tar_data)
		pos += n->data_off;
	err = pread_full(fd, buf, len, pos, &got);
	if (err) {
		struct erofs_path_buf pb;

		erofs_err(b->msg, "%s: read failed: %s",
			  erofs_node_path(b, n, &pb), strerror(-err));
		return err;
	}
	return got == len ? 0 : changed(b, n);
}

/*
 * Where a file's bytes come from when they are stored as they are: its
 * source, or memory when they were read whole for compression that did
 * not pay (and checked against the scan then).
 */
struct data_src {
	int fd;
	const uint8_t *mem;
};

static int src_read(struct erofs_builder *b, const struct erofs_node *n,
		    const struct data_src *src, uint8_t *buf, size_t len,
		    uint64_t pos)
{
	if (!src->mem)
		return read_exact(b, n, src->fd, buf, len, pos);
	memcpy(buf, src->mem + pos, len);
	return 0;
}

static bool same_file(const struct erofs_node *n, const struct stat *st)
{
	return st->st_ino == n->src_ino && st->st_dev == n->src_dev &&
	       (uint64_t)st->st_size == n->size &&
	       st->st_mtim.tv_sec == n->src_mtime &&
	       st->st_mtim.tv_nsec == n->src_mtime_nsec;
}

/*
 * Files come in scan order, a directory's together: each is opened from
 * its directory's descriptor rather than by walking its whole path.
 */
static int parent_fd(struct data_pass *dp, const struct erofs_node *n)
{
	struct erofs_path_buf pb;
	const char *path;
	int err;

	if (dp->dir == n->parent)
		return dp->dir_fd;
	if (dp->dir_fd >= 0)
		close(dp->dir_fd);
	dp->dir = NULL;
	err = erofs_node_open_path(dp->b, n->parent, &pb, &path);
	if (err)
		return err;
	dp->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dp->dir_fd < 0) {
		err = -errno;
		erofs_err(dp->b->msg, "%s: cannot open directory: %s", path,
			  strerror(errno));
		return err;
	}
	dp->dir = n->parent;
	return dp->dir_fd;
}

static int open_source(struct data_pass *dp, const struct erofs_node *n)
{
	struct erofs_builder *b = dp->b;
	struct erofs_path_buf pb;
	struct stat st;
	int fd, dfd, err;

	if (n->tar_data) {
		fd = fcntl(b->tar_data_fd[n->tar_data - 1], F_DUPFD_CLOEXEC,
			   0);
		return fd < 0 ? -errno : fd;
	}
	dfd = parent_fd(dp, n);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, n->name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		erofs_err(b->msg, "%s: cannot open: %s",
			  erofs_node_path(b, n, &pb), strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !same_file(n, &st)) {
		close(fd);
		return changed(b, n);
	}
	/* a file within the default readahead gains nothing from the hint */
	if (n->size > READAHEAD_DEFAULT)
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fd;
}

/* a file's content: its source, or for the packed inode the fragments */
static int open_data(struct data_pass *dp, const struct erofs_node *n)
{
	int fd;

	if (n != dp->b->packed)
		return open_source(dp, n);
	fd = erofs_spill_flush(&dp->packed, dp->b->msg);
	if (!fd)
		fd = fcntl(dp->packed.fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* after the last byte was read: no more bytes, nothing touched */
static int check_unchanged(struct erofs_builder *b, const struct erofs_node *n,
			   int fd)
{
	struct stat st;
	uint8_t byte;
	size_t got;

	if (n->tar_data)	/* read once from a stream that cannot change */
		return 0;
	if (pread_full(fd, &byte, 1, n->size, &got) || got ||
	    fstat(fd, &st) || !same_file(n, &st))
		return changed(b, n);
	return 0;
}

/* zeroes blocks a file wrote and then gave back */
static int zero_blocks(struct data_pass *dp, uint64_t start, uint64_t end)
{
	struct erofs_builder *b = dp->b;
	uint64_t blk, n;
	int err;

	/* often a block or two: clear no more of the buffer than they need */
	memset(dp->buf, 0, MIN((end - start) * b->blksz, (uint64_t)COPY_CHUNK));
	for (blk = start; blk < end; blk += n) {
		n = MIN(end - blk, (uint64_t)(COPY_CHUNK / b->blksz));
		err = erofs_output_pwrite(dp->dout, dp->buf, n * b->blksz,
					  blk * b->blksz);
		if (err)
			return err;
	}
	return 0;
}

static int read_image(struct erofs_builder *b, uint8_t *buf, size_t len,
		      uint64_t pos)
{
	size_t got;
	int err = pread_full(b->out->fd, buf, len, b->out->offset + pos, &got);

	if (!err && got != len)
		err = -EIO;
	if (err)
		erofs_err(b->msg, "%s: cannot read the image back: %s",
			  b->out->path, strerror(-err));
	return err;
}

static int same_tail(struct erofs_builder *b, const struct erofs_node *d,
		     const uint8_t *tail, uint8_t *scratch)
{
	int err;

	if (!d->inline_size)
		return 1;
	err = erofs_spill_read(&b->tails, b->msg, scratch, d->inline_size,
			       d->tail_off);
	return err ? err : !memcmp(scratch, tail, d->inline_size);
}

/*
 * A plain file equal to one stored before with as many blocks takes
 * that one's blocks.  Are @n's blocks, just written, and tail the same
 * as @d's?
 */
static int same_flat_data(struct data_pass *dp, const struct erofs_node *n,
			  const struct erofs_node *d)
{
	struct erofs_builder *b = dp->b;
	uint64_t pos, len, total = n->nblocks * b->blksz;
	uint8_t *x = dp->buf, *y = dp->buf + COPY_CHUNK / 2;
	int err;

	if (d->nblocks != n->nblocks || d->inline_size != n->inline_size)
		return 0;
	if (n->inline_size) {
		err = erofs_spill_read(&b->tails, b->msg, x, n->inline_size,
				       n->tail_off);
		if (!err)
			err = same_tail(b, d, x, y);
		if (err <= 0)
			return err;
	}
	for (pos = 0; pos < total; pos += len) {
		len = MIN(total - pos, (uint64_t)COPY_CHUNK / 2);
		err = read_image(b, x, len, n->blkaddr * b->blksz + pos);
		if (!err)
			err = read_image(b, y, len, d->blkaddr * b->blksz + pos);
		if (err)
			return err;
		if (memcmp(x, y, len))
			return 0;
	}
	return 1;
}

/* are @d's blocks and tail @buf, @n's blocks (zero-padded) and tail? */
static int same_flat_bytes(struct data_pass *dp, const struct erofs_node *n,
			   const struct erofs_node *d, const uint8_t *buf)
{
	struct erofs_builder *b = dp->b;
	uint64_t pos, len, total = n->nblocks * b->blksz;
	uint8_t chunk[65536];
	int err;

	if (d->nblocks != n->nblocks || d->inline_size != n->inline_size)
		return 0;
	err = same_tail(b, d, buf + total, chunk);
	for (pos = 0; err > 0 && pos < total; pos += len) {
		len = MIN(total - pos, (uint64_t)sizeof(chunk));
		err = read_image(b, chunk, len, d->blkaddr * b->blksz + pos);
		if (!err)
			err = !memcmp(chunk, buf + pos, len);
	}
	return err;
}

static void count_dedup(struct erofs_builder *b, const struct erofs_node *n)
{
	b->stats.dedup_files++;
	b->stats.dedup_file_bytes += n->size;
}

/* @n's own blocks, just written, are given back when @d has the same */
static int dedup_flat(struct data_pass *dp, struct erofs_node *n,
		      uint64_t hash)
{
	struct erofs_builder *b = dp->b;
	struct erofs_file_key k;
	struct erofs_node *d;
	int err;

	erofs_file_key_init(&k, n, false);
	k.hash = hash;
	d = erofs_file_dedup_find(b, &k);
	if (!d)
		return erofs_file_dedup_add(b, &k, n);
	err = same_flat_data(dp, n, d);
	if (err <= 0)
		return err;
	err = zero_blocks(dp, n->blkaddr, dp->cursor);
	if (err)
		return err;
	dp->cursor = n->blkaddr;
	n->blkaddr = d->blkaddr;
	count_dedup(b, n);
	return 0;
}

/*
 * A file that may equal an earlier one and fits the copy buffer is read
 * whole and compared before it is written: an equal one's blocks are
 * taken without writing its own and clearing them again.
 */
static int copy_flat_whole(struct data_pass *dp, struct erofs_node *n,
			   const struct data_src *src)
{
	struct erofs_builder *b = dp->b;
	uint64_t outside = n->size - n->inline_size;
	uint64_t padded = ROUND_UP(outside, b->blksz);
	struct erofs_file_key k;
	struct erofs_node *d;
	int err;

	err = src_read(b, n, src, dp->buf, n->size, 0);
	if (!err && !src->mem)
		err = check_unchanged(b, n, src->fd);
	if (!err && n->inline_size)
		err = erofs_spill_append(&b->tails, b->msg, dp->buf + outside,
					 n->inline_size, &n->tail_off);
	if (err || !n->nblocks)
		return err;
	/* hashed in the pieces copy_flat() hashes, so equal files meet */
	erofs_file_key_init(&k, n, false);
	k.hash = erofs_hash_data(0, dp->buf, outside);
	if (n->inline_size)
		k.hash = erofs_hash_data(k.hash, dp->buf + outside,
					 n->inline_size);
	/* with a tail inline, @outside is whole blocks: nothing to clobber */
	memset(dp->buf + outside, 0, padded - outside);
	d = erofs_file_dedup_find(b, &k);
	err = d ? same_flat_bytes(dp, n, d, dp->buf) :
		  erofs_file_dedup_add(b, &k, n);
	if (err < 0)
		return err;
	if (d && err) {
		n->blkaddr = d->blkaddr;
		count_dedup(b, n);
		return 0;
	}
	err = erofs_output_pwrite_sparse(b->out, dp->buf, padded,
					 n->blkaddr * b->blksz, b->blksz);
	dp->cursor += n->nblocks;
	return err;
}

/* whole blocks at the cursor, the tail kept for the inode when inline */
static int copy_flat(struct data_pass *dp, struct erofs_node *n,
		     const struct data_src *src)
{
	struct erofs_builder *b = dp->b;
	bool dedup = erofs_file_dedup_candidate(b, n->size);
	uint64_t pos, outside, hash = 0;
	size_t len, padded;
	int err;

	erofs_choose_flat_layout(b, n);
	outside = n->size - n->inline_size;
	n->blkaddr = n->nblocks ? dp->cursor : 0;
	if (dedup && n->size <= COPY_CHUNK)
		return copy_flat_whole(dp, n, src);
	for (pos = 0; pos < outside; pos += len) {
		len = MIN((uint64_t)COPY_CHUNK, outside - pos);
		err = src_read(b, n, src, dp->buf, len, pos);
		if (err)
			return err;
		if (dedup)
			hash = erofs_hash_data(hash, dp->buf, len);
		/* the last plain block is zero-padded to its end */
		padded = ROUND_UP(len, b->blksz);
		memset(dp->buf + len, 0, padded - len);
		err = erofs_output_pwrite_sparse(b->out, dp->buf, padded,
				(n->blkaddr * b->blksz) + pos, b->blksz);
		if (err)
			return err;
	}
	if (n->inline_size) {
		/* kept aside until its inode is written */
		err = src_read(b, n, src, dp->buf, n->inline_size, outside);
		if (!err)
			err = erofs_spill_append(&b->tails, b->msg, dp->buf,
						 n->inline_size, &n->tail_off);
		if (err)
			return err;
		if (dedup)
			hash = erofs_hash_data(hash, dp->buf, n->inline_size);
	}
	dp->cursor += n->nblocks;
	err = src->mem ? 0 : check_unchanged(b, n, src->fd);
	if (!err && n->nblocks && dedup)
		err = dedup_flat(dp, n, hash);
	return err;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

/* one chunk: a hole, a reference to an equal stored chunk, or new blocks */
static int store_chunk(struct data_pass *dp, struct erofs_node *n,
		       uint64_t idx, uint32_t len)
{
	struct erofs_builder *b = dp->b;
	uint32_t blkaddr, nblocks = DIV_ROUND_UP(len, b->blksz);
	int ret;

	if (all_zero(dp->chunkbuf, len)) {
		n->chunks[idx] = EROFS_NULL_ADDR;
		b->stats.hole_chunks++;
		return 0;
	}
	if (*dp->dcursor + nblocks > EROFS_NULL_ADDR) {
		struct erofs_path_buf pb;

		erofs_err(b->msg, "%s: data past 32-bit block addresses",
			  erofs_node_path(b, n, &pb));
		return -EFBIG;
	}
	ret = erofs_chunk_dedup(b, dp->chunkbuf, len, *dp->dcursor, &blkaddr);
	if (ret < 0)
		return ret;
	n->chunks[idx] = blkaddr;
	if (ret) {
		b->stats.dedup_chunks++;
		b->stats.dedup_bytes += len;
		return 0;
	}
	memset(dp->chunkbuf + len, 0, nblocks * b->blksz - len);
	ret = erofs_output_pwrite_sparse(dp->dout, dp->chunkbuf,
					 nblocks * b->blksz,
					 *dp->dcursor * b->blksz, b->blksz);
	*dp->dcursor += nblocks;
	return ret;
}

static int copy_chunked(struct data_pass *dp, struct erofs_node *n,
			const struct data_src *src)
{
	struct erofs_builder *b = dp->b;
	uint64_t chunksize = 1ULL << b->opts->chunkbits, i, pos;
	int err = 0;

	n->datalayout = EROFS_INODE_CHUNK_BASED;
	n->inline_size = 0;
	n->nblocks = 0;
	n->nr_chunks = DIV_ROUND_UP(n->size, chunksize);
	n->chunks = calloc(n->nr_chunks, sizeof(*n->chunks));
	if (!n->chunks)
		return -ENOMEM;
	n->in_blob = dp->dout != b->out;
	n->chunk_device = n->in_blob;
	n->chunkbits = b->opts->chunkbits;
	b->chunked = true;
	for (i = 0, pos = 0; i < n->nr_chunks && !err; i++, pos += chunksize) {
		uint32_t len = MIN(chunksize, n->size - pos);

		err = src_read(b, n, src, dp->chunkbuf, len, pos);
		if (!err)
			err = store_chunk(dp, n, i, len);
		b->stats.chunks++;
	}
	if (err || src->mem)
		return err;
	return check_unchanged(b, n, src->fd);
}

/* an uncompressed regular file: chunk-based, or flat */
static int copy_plain(struct data_pass *dp, struct erofs_node *n,
		      const struct data_src *src)
{
	if (dp->b->opts->chunkbits)
		return copy_chunked(dp, n, src);
	return copy_flat(dp, n, src);
}

static int copy_file(struct data_pass *dp, struct erofs_node *n)
{
	struct data_src src = { .fd = open_source(dp, n) };
	int err;

	if (src.fd < 0)
		return src.fd;
	err = copy_plain(dp, n, &src);
	close(src.fd);
	return err;
}

static void *worker_init(void *arg)
{
	struct z_erofs_worker *w = malloc(sizeof(*w));

	if (w)
		z_erofs_worker_init(w);
	return w;
}

static void worker_exit(void *priv)
{
	if (priv)
		z_erofs_worker_exit(priv);
	free(priv);
}

static void run_job(struct erofs_work *work, void *priv)
{
	struct data_item *it = (struct data_item *)work;
	struct data_pass *dp = it->dp;
	int err = priv ? z_erofs_compress_segment(priv, &it->seg) : -ENOMEM;

	pthread_mutex_lock(&dp->lock);
	it->err = err;
	it->done = true;
	pthread_cond_broadcast(&dp->cond);
	pthread_mutex_unlock(&dp->lock);
}

static void wait_done(struct data_pass *dp, struct data_item *it)
{
	pthread_mutex_lock(&dp->lock);
	while (!it->done)
		pthread_cond_wait(&dp->cond, &dp->lock);
	pthread_mutex_unlock(&dp->lock);
}

static void free_item(struct data_item *it)
{
	free(it->in);
	free(it->seg.out);
	free(it->seg.ext);
	free(it);
}


/*
 * Stored flat, a file takes its whole blocks plus a tail inline when it
 * fits by its inode.
 */
static uint64_t flat_blocks(const struct erofs_builder *b,
			    const struct erofs_node *n, unsigned int *meta)
{
	unsigned int iend = erofs_node_isize(n) + n->xattr_isize;
	unsigned int tail = n->size % b->blksz;

	*meta = 0;
	if (tail && b->opts->inline_data && iend + tail <= b->blksz) {
		*meta = tail;
		return n->size / b->blksz;
	}
	return DIV_ROUND_UP(n->size, b->blksz);
}

/*
 * Compressed, a file takes its pclusters plus its index and any inline
 * tail pcluster.  Fewer blocks than flat win, then fewer metadata bytes.
 */
static bool compression_pays(const struct erofs_builder *b,
			     const struct erofs_node *n)
{
	const struct z_erofs_file *z = n->z;
	unsigned int iend = erofs_node_isize(n) + n->xattr_isize;
	unsigned int flat_meta, z_meta;
	uint64_t flat = flat_blocks(b, n, &flat_meta);

	if (z->blocks != flat)
		return z->blocks < flat;
	z_meta = z_erofs_index_size(z, b->opts->blkszbits, n->size, iend) +
		 z->idata_size;
	return z_meta < flat_meta;
}

/*
 * With a fragment, part of the cost is known only once the packed inode
 * is compressed.  A small file whole always goes there: stored alone it
 * would take as many bytes at best.  The tail of a larger one is taken
 * to compress as well as the rest of it did: stored pclusters (data that
 * does not compress) and their index must not cost more than flat.
 */
static bool fragment_pays(const struct erofs_builder *b,
			  const struct erofs_node *n, uint64_t frag_len)
{
	const struct z_erofs_file *z = n->z;
	unsigned int iend = erofs_node_isize(n) + n->xattr_isize, flat_meta;
	uint64_t flat = flat_blocks(b, n, &flat_meta) * b->blksz + flat_meta;
	uint64_t zbytes = z->blocks * b->blksz, frag_la = n->size - frag_len;
	uint64_t est;

	if (!frag_la)
		return true;
	est = zbytes + z_erofs_index_size(z, b->opts->blkszbits, n->size, iend) +
	      MIN(frag_len, frag_len * zbytes / frag_la);
	return est < flat;
}

static int reserve_extents(struct z_erofs_file *z, uint32_t more)
{
	struct z_erofs_extent_rec *e;
	uint32_t cap;

	if (z->nr_ext + more <= z->cap_ext)
		return 0;
	cap = MAX(z->cap_ext * 2, z->nr_ext + more);
	e = realloc(z->ext, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	z->ext = e;
	z->cap_ext = cap;
	return 0;
}

/* appends to the packed inode; its file is made when first needed */
static int packed_append(struct data_pass *dp, const uint8_t *buf,
			 uint32_t len, uint64_t *off)
{
	return erofs_spill_append(&dp->packed, dp->b->msg, buf, len, off);
}

/*
 * The file's last bytes become its last extent, in the packed inode: the
 * @len bytes of @frag after those of its segments already there.
 */
static int keep_fragment(struct data_pass *dp, struct src_file *f,
			 const uint8_t *frag, uint32_t len)
{
	struct erofs_node *n = f->node;
	struct z_erofs_file *z = n->z;
	uint64_t total = f->frag_bytes + len;
	int err = reserve_extents(z, 1);

	if (!err)
		err = packed_append(dp, frag, len, &z->fragoff);
	if (err)
		return err;
	if (f->frag_bytes)
		z->fragoff = f->frag_start;
	z->fragment = true;
	z->frag_la = n->size - total;
	z->ext[z->nr_ext++] = (struct z_erofs_extent_rec){ .la = z->frag_la };
	/*
	 * A whole-file fragment needs only its map header, which is read
	 * the same in both layouts; compacted indexes hold 32 bits of
	 * offset, full ones 64.
	 */
	if (z_erofs_whole_fragment(z) || z->fragoff > UINT32_MAX)
		z->compact = z->compact_2b = false;
	dp->b->stats.fragment_files++;
	dp->b->stats.whole_fragment_files += !z->frag_la;
	dp->b->stats.fragment_bytes += total;
	return 0;
}

/* -E dedupe made it refer to pclusters beyond its own */
static bool has_refs(const struct z_erofs_file *z)
{
	uint32_t i;

	for (i = 0; i < z->nr_ext; i++)
		if (z->ext[i].ref || z->ext[i].partial)
			return true;
	return false;
}

/* is @f, with a fragment of @frag_len more bytes, better stored compressed? */
static bool compressed_pays(struct data_pass *dp, const struct src_file *f,
			    uint32_t frag_len)
{
	if (frag_len || f->frag_bytes)
		return fragment_pays(dp->b, f->node, f->frag_bytes + frag_len);
	return compression_pays(dp->b, f->node);
}

static int keep_compressed(struct data_pass *dp, struct src_file *f,
			   const uint8_t *frag, uint32_t frag_len)
{
	struct erofs_builder *b = dp->b;
	struct erofs_node *n = f->node;
	struct z_erofs_file *z = n->z;
	int err;

	if (frag_len || f->frag_bytes) {
		err = keep_fragment(dp, f, frag, frag_len);
		if (err)
			return err;
	}
	n->datalayout = z->compact ? EROFS_INODE_COMPRESSED_COMPACT :
				     EROFS_INODE_COMPRESSED_FULL;
	n->blkaddr = f->zstart;
	n->in_blob = dp->dout != b->out;
	n->z_device = n->in_blob;
	b->compr_algs |= 1U << z->ondisk_alg;
	b->max_pclusterblks = MAX(b->max_pclusterblks, z->max_pclusterblks);
	b->pcluster_refs |= has_refs(z);
	if (n == b->packed) {
		b->stats.packed_blocks = z->blocks;
	} else {
		b->stats.compressed_files++;
		b->stats.compressed_bytes_in += n->size;
		b->stats.compressed_blocks += z->blocks;
	}
	if (z->idata_size) {
		b->ztailpacking = true;
		b->stats.ztail_files++;
		b->stats.ztail_bytes += z->idata_size;
	}
	return 0;
}

/*
 * Compression did not pay: the blocks of its segments written before the
 * last are taken back and the file is stored as it is, from @mem when it
 * is in memory whole (nothing of it was written then), else read again.
 */
static int store_raw(struct data_pass *dp, struct src_file *f,
		     const uint8_t *mem)
{
	struct erofs_builder *b = dp->b;
	struct erofs_node *n = f->node;
	struct data_src src = { .fd = -1, .mem = mem };
	int err;

	if (dp->dedupe)
		z_erofs_dedupe_forget(dp->dedupe, f->dedupe_mark);
	err = zero_blocks(dp, f->zstart, *dp->dcursor);
	if (err)
		return err;
	*dp->dcursor = f->zstart;
	free(n->z->ext);
	free(n->z->idata);
	free(n->z);
	n->z = NULL;
	if (n == b->packed)
		b->stats.packed_blocks = DIV_ROUND_UP(n->size, b->blksz);
	else
		b->stats.raw_fallback_files++;
	if (!mem) {
		src.fd = open_data(dp, n);
		if (src.fd < 0)
			return src.fd;
	}
	err = copy_plain(dp, n, &src);
	if (src.fd >= 0)
		close(src.fd);
	return err;
}

static int append_extents(struct erofs_node *n, const struct z_erofs_segment *s)
{
	struct z_erofs_file *z = n->z;
	uint32_t i;
	int err = reserve_extents(z, s->nr_ext);

	if (err)
		return err;
	for (i = 0; i < s->nr_ext; i++) {
		const struct z_erofs_extent_rec *e = &s->ext[i];

		z->ext[z->nr_ext++] = *e;
		if (!e->ref)
			z->blocks += e->nblocks;
		/* only full indexes say where and how much to decode */
		if (e->ref || e->partial)
			z->compact = z->compact_2b = false;
	}
	return 0;
}

/*
 * ztailpacking: the file's last pcluster goes after its index, in the
 * metadata, when it fits in the inode's block -- a compressed one as its
 * stream without padding, a stored one only if it lies in the last
 * lcluster (readers take a stored extent to end there).  Returns the
 * bytes of output no longer to be written.
 */
static int inline_tail(struct data_pass *dp, struct data_item *it,
		       uint64_t *dropped)
{
	struct erofs_builder *b = dp->b;
	struct erofs_node *n = it->node;
	struct z_erofs_segment *s = &it->seg;
	struct z_erofs_extent_rec *e = &s->ext[s->nr_ext - 1];
	unsigned int bits = b->opts->blkszbits;
	unsigned int iend = erofs_node_isize(n) + n->xattr_isize;
	uint64_t plen = (uint64_t)e->nblocks << bits;
	const uint8_t *data;
	uint64_t len;

	*dropped = 0;
	/* another's pcluster, or one decoding to more, stays where it is */
	if (e->ref || e->partial)
		return 0;
	if (e->raw) {
		if ((e->la >> bits) != ((n->size - 1) >> bits))
			return 0;
		data = s->in + (e->la - s->la);
		len = n->size - e->la;
	} else {
		data = s->out + s->outlen - plen;
		for (len = plen; len && !*data; len--)
			data++;
	}
	if (!len || iend + z_erofs_index_size(n->z, bits, n->size, iend) +
		    len > b->blksz)
		return 0;
	n->z->idata = malloc(len);
	if (!n->z->idata)
		return -ENOMEM;
	memcpy(n->z->idata, data, len);
	n->z->idata_size = len;
	*dropped = plen;
	e->nblocks = 0;
	return 0;
}

/* what full lcluster indexes, which references need, cost @n more */
static uint64_t full_index_cost(const struct erofs_builder *b,
				const struct erofs_node *n)
{
	const struct z_erofs_file *z = n->z;

	if (!z->compact)
		return 0;
	return DIV_ROUND_UP(n->size, b->blksz) *
	       (sizeof(struct z_erofs_lcluster_index) - (z->compact_2b ? 2 : 4));
}

static int retire_segment(struct data_pass *dp, struct data_item *it)
{
	struct erofs_builder *b = dp->b;
	struct src_file *f = it->file;
	uint64_t dropped, off;
	int err = it->err;

	if (err) {
		struct erofs_path_buf pb;

		erofs_err(b->msg, "%s: compression failed: %s",
			  erofs_node_path(b, f->node, &pb), strerror(-err));
		return err;
	}
	if (!it->seg.la) {
		f->zstart = *dp->dcursor;
		if (dp->dedupe)
			f->dedupe_mark = z_erofs_dedupe_count(dp->dedupe);
	}
	/* the packed inode holds fragments: deduplicated as files, if at all */
	if (dp->dedupe && f->node != b->packed) {
		struct z_erofs_dedupe_where at = {
			.blkaddr = *dp->dcursor,
			.file_blkaddr = f->zstart,
			.index_cost = full_index_cost(b, f->node),
			.remember_last = !(it->last &&
					   b->opts->compress.ztailpacking),
		};

		err = z_erofs_dedupe_segment(dp->dedupe, &dp->worker, &it->seg,
					     &at, &dp->dedupe_stats);
		if (err)
			return err;
	}
	/* a fragment is the tail: nothing is left to inline */
	if (it->last && b->opts->compress.ztailpacking && !it->seg.frag_len) {
		err = inline_tail(dp, it, &dropped);
		if (err)
			return err;
		it->seg.outlen -= dropped;
	}
	err = append_extents(f->node, &it->seg);
	if (err)
		return err;
	/*
	 * Decided before the last segment is written: one that does not pay
	 * is not written at all, and a file in one segment is stored from
	 * memory.
	 */
	if (it->last) {
		dp->files_done++;
		if (!compressed_pays(dp, f, it->seg.frag_len))
			return store_raw(dp, f,
					 it->seg.la ? NULL : it->seg.in);
	}
	err = erofs_output_pwrite_sparse(dp->dout, it->seg.out, it->seg.outlen,
					 *dp->dcursor * b->blksz, b->blksz);
	if (err)
		return err;
	*dp->dcursor += it->seg.outlen / b->blksz;
	/* -E all-fragments: segments go to the packed inode in file order */
	if (!it->last && it->seg.frag_len) {
		err = packed_append(dp, it->seg.in + it->seg.inlen - it->seg.frag_len,
				    it->seg.frag_len, &off);
		if (!f->frag_bytes)
			f->frag_start = off;
		f->frag_bytes += it->seg.frag_len;
		if (err)
			return err;
	}
	if (!it->last)
		return 0;
	return keep_compressed(dp, f, it->seg.in + it->seg.inlen -
			       it->seg.frag_len, it->seg.frag_len);
}

static int retire_other(struct data_pass *dp, struct erofs_node *n)
{
	if (S_ISREG(n->mode)) {
		dp->files_done++;
		return copy_file(dp, n);
	}
	/* directories and symlinks get their blocks now, contents later */
	n->blkaddr = n->nblocks ? dp->cursor : 0;
	dp->cursor += n->nblocks;
	return 0;
}

static void close_file(struct src_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f);
}

/* a compressed file shares the pclusters of the equal one before it */
static int retire_dup(struct data_pass *dp, struct erofs_node *n,
		      const struct erofs_node *d)
{
	struct erofs_builder *b = dp->b;
	struct z_erofs_file *z;

	dp->files_done++;
	if (!d->z)	/* that one is stored plain: so is this, sharing it */
		return copy_file(dp, n);
	z = malloc(sizeof(*z));
	if (!z)
		return -ENOMEM;
	*z = *d->z;
	z->cap_ext = z->nr_ext;
	z->ext = malloc(z->nr_ext * sizeof(*z->ext));
	if (!z->ext) {
		free(z);
		return -ENOMEM;
	}
	memcpy(z->ext, d->z->ext, z->nr_ext * sizeof(*z->ext));
	if (d->z->idata_size) {
		/* an inline tail lives in each inode's own metadata */
		z->idata = malloc(z->idata_size);
		if (!z->idata) {
			free(z->ext);
			free(z);
			return -ENOMEM;
		}
		memcpy(z->idata, d->z->idata, z->idata_size);
	}
	n->z = z;
	n->datalayout = d->datalayout;
	n->blkaddr = d->blkaddr;
	n->in_blob = d->in_blob;
	n->z_device = d->z_device;
	b->stats.dedup_files++;
	b->stats.dedup_file_bytes += n->size;
	return 0;
}

/* the oldest queued item, once done, does its writing */
static int retire_one(struct data_pass *dp, bool failed)
{
	struct data_item *it = dp->head;
	int err = 0;

	if (it->file)
		wait_done(dp, it);
	dp->head = it->next;
	if (!dp->head)
		dp->tail = &dp->head;
	dp->inflight -= it->seg.inlen;
	dp->nr_items--;
	if (!failed && it->dup_of)
		err = retire_dup(dp, it->node, it->dup_of);
	else if (!failed)
		err = it->file ? retire_segment(dp, it) :
				 retire_other(dp, it->node);
	if (it->file && !--it->file->pending && it->file->queued_all)
		close_file(it->file);
	free_item(it);
	return err;
}

static void enqueue(struct data_pass *dp, struct data_item *it)
{
	it->next = NULL;
	*dp->tail = it;
	dp->tail = &it->next;
	dp->nr_items++;
}

/* retires the oldest items until @len more bytes may be queued */
static int make_room(struct data_pass *dp, uint64_t len)
{
	int err = 0;

	while (dp->head && !err &&
	       (dp->inflight + len > dp->max_inflight ||
		dp->nr_items >= dp->max_items))
		err = retire_one(dp, false);
	return err;
}

static int add_other(struct data_pass *dp, struct erofs_node *n)
{
	struct data_item *it;
	int err = make_room(dp, 0);

	if (err)
		return err;
	if (!dp->head)		/* nothing ahead of it: no need to queue */
		return retire_other(dp, n);
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->node = n;
	it->done = true;
	enqueue(dp, it);
	return 0;
}

/* does @d's source still hold exactly @buf (its size)? */
static bool same_source(struct erofs_builder *b, const struct erofs_node *d,
			const uint8_t *buf)
{
	uint64_t pos, base = d->tar_data ? d->data_off : 0;
	struct erofs_path_buf pb;
	uint8_t chunk[65536];
	const char *path;
	size_t got, len;
	bool same = true;
	int fd;

	path = erofs_node_path(b, d, &pb);
	if (d->tar_data)
		fd = fcntl(b->tar_data_fd[d->tar_data - 1], F_DUPFD_CLOEXEC, 0);
	else if (pb.truncated)
		return false;
	else
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (pos = 0; same && pos < d->size; pos += len) {
		len = MIN(d->size - pos, sizeof(chunk));
		same = !pread_full(fd, chunk, len, base + pos, &got) &&
		       got == len &&
		       !memcmp(chunk, buf + pos, len);
	}
	close(fd);
	return same;
}

/*
 * A compressed file read whole: the file stored before with equal
 * content and compression, else NULL after noting this one as such.
 */
static struct erofs_node *find_dup(struct data_pass *dp, struct erofs_node *n,
				   const uint8_t *buf, int *err)
{
	struct erofs_builder *b = dp->b;
	struct erofs_file_key k;
	struct erofs_node *d;

	*err = 0;
	if (!erofs_file_dedup_candidate(b, n->size))
		return NULL;
	erofs_file_key_init(&k, n, true);
	k.hash = erofs_hash_data(0, buf, n->size);
	d = erofs_file_dedup_find(b, &k);
	if (!d) {
		*err = erofs_file_dedup_add(b, &k, n);
		return NULL;
	}
	return same_source(b, d, buf) ? d : NULL;
}

/* a duplicate waits in the queue for the file it equals to be written */
static void queue_dup(struct data_pass *dp, struct data_item *it,
		      struct erofs_node *n, struct erofs_node *d)
{
	free(it->in);
	it->in = NULL;
	it->node = n;
	it->dup_of = d;
	it->done = true;
	free(n->z);
	n->z = NULL;
	enqueue(dp, it);
}

static int submit_segment(struct data_pass *dp, struct src_file *f,
			  uint64_t pos, uint32_t len)
{
	struct erofs_node *dup;
	struct erofs_builder *b = dp->b;
	const struct erofs_compress_opts *co = &b->opts->compress;
	struct erofs_node *n = f->node;
	struct data_item *it;
	int err = 0;

	err = make_room(dp, len);
	it = calloc(1, sizeof(*it));
	if (err || !it) {
		free(it);
		return err ? err : -ENOMEM;
	}
	it->in = malloc(len);
	err = it->in ? read_exact(b, n, f->fd, it->in, len, pos) : -ENOMEM;
	/*
	 * Files of one segment are whole in memory: dedup them cheaply.
	 * Not the packed inode: sharing a file's pclusters, it could
	 * share its fragment too, and so point into itself.
	 */
	if (!err && !pos && len == n->size && n != b->packed) {
		dup = find_dup(dp, n, it->in, &err);
		if (dup && !err) {
			queue_dup(dp, it, n, dup);
			return 0;
		}
	}
	if (err) {
		free_item(it);
		return err;
	}
	it->dp = dp;
	it->node = n;
	it->file = f;
	it->last = pos + len == n->size;
	it->seg = (struct z_erofs_segment){
		.spec = &co->specs[n->zspec],
		.spec_idx = n->zspec,
		.blkszbits = b->opts->blkszbits,
		.pclusterblks = n->zpclusterblks,
		.max_extent_bytes = z_erofs_max_extent(b->opts->blkszbits,
						       co->max_extent_bytes),
		.la = pos,
		.in = it->in,
		.inlen = len,
		.may_fragment = (it->last || co->all_fragments) &&
				co->fragments && n != b->packed,
		.whole_fragment = co->all_fragments && n != b->packed,
	};
	dp->inflight += len;
	f->pending++;
	enqueue(dp, it);
	if (dp->threaded) {
		it->work.fn = run_job;
		erofs_workqueue_add(&dp->wq, &it->work);
	} else {
		it->err = z_erofs_compress_segment(&dp->worker, &it->seg);
		it->done = true;
	}
	return 0;
}

static int add_compressed(struct data_pass *dp, struct erofs_node *n)
{
	struct erofs_builder *b = dp->b;
	struct src_file *f;
	uint64_t pos;
	int err = 0;

	n->z = calloc(1, sizeof(*n->z));
	f = calloc(1, sizeof(*f));
	if (!n->z || !f) {
		free(f);
		return -ENOMEM;
	}
	n->z->ondisk_alg =
		erofs_compressor_ops(b->opts->compress.specs[n->zspec].alg)->ondisk_alg;
	n->z->max_pclusterblks = n->zpclusterblks;
	z_erofs_choose_index(n->z, b->opts->blkszbits,
			     b->opts->compress.legacy_index);
	f->node = n;
	f->fd = open_data(dp, n);
	if (f->fd < 0) {
		err = f->fd;
		free(f);
		return err;
	}
	for (pos = 0; pos < n->size && !err; pos += Z_SEGMENT_SIZE)
		err = submit_segment(dp, f, pos,
				     MIN((uint64_t)Z_SEGMENT_SIZE, n->size - pos));
	/*
	 * Every byte is in memory now: close the file rather than hold one
	 * descriptor per queued file (thousands of small files fit in the
	 * queue); a raw fallback of several segments reopens it.
	 */
	if (!err)
		err = check_unchanged(b, n, f->fd);
	close(f->fd);
	f->fd = -1;
	/* from here on, the last of its queued segments to retire frees it */
	f->queued_all = true;
	if (!f->pending)
		close_file(f);
	return err;
}

static int data_pass_init(struct data_pass *dp, struct erofs_builder *b)
{
	unsigned int workers = b->opts->compress.workers;
	size_t i;
	int err;

	memset(dp, 0, sizeof(*dp));
	dp->b = b;
	dp->cursor = b->data_start;
	dp->tail = &dp->head;
	dp->dir_fd = -1;
	dp->packed.what = "the packed inode's temporary file";
	b->tails.what = "the inline tails' temporary file";
	pthread_mutex_init(&dp->lock, NULL);
	pthread_cond_init(&dp->cond, NULL);
	z_erofs_worker_init(&dp->worker);
	dp->dout = b->blob ? b->blob : b->out;
	dp->dcursor = b->blob ? &dp->blob_cursor : &dp->cursor;
	dp->buf = malloc(COPY_CHUNK + b->blksz);
	if (!dp->buf)
		return -ENOMEM;
	if (b->opts->chunkbits) {
		dp->chunkbuf = malloc((1ULL << b->opts->chunkbits) + b->blksz);
		if (!dp->chunkbuf)
			return -ENOMEM;
	}
	for (i = 0; i < b->nr_nodes; i++)
		dp->files += S_ISREG(b->nodes[i]->mode) && b->nodes[i]->size;
	if (b->opts->compress.nr_specs && workers > 1) {
		dp->max_inflight = (uint64_t)(workers + 1) * Z_SEGMENT_SIZE;
		dp->max_items = workers * Z_ITEMS_PER_WORKER;
	}
	if (b->opts->compress.pcluster_dedupe) {
		dp->dedupe = z_erofs_dedupe_create(b->blksz, Z_DEDUPE_BUDGET);
		if (!dp->dedupe)
			return -ENOMEM;
	}
	if (b->opts->compress.nr_specs && workers > 1) {
		err = erofs_workqueue_init(&dp->wq, workers, worker_init,
					   worker_exit, NULL);
		if (err)
			return err;
		dp->threaded = true;
	}
	return 0;
}

static void data_pass_exit(struct data_pass *dp)
{
	/* queued jobs may still be running: wait for each before freeing */
	while (dp->head)
		retire_one(dp, true);
	if (dp->threaded)
		erofs_workqueue_exit(&dp->wq);
	z_erofs_worker_exit(&dp->worker);
	z_erofs_dedupe_destroy(dp->dedupe);
	free(dp->buf);
	free(dp->chunkbuf);
	if (dp->dir_fd >= 0)
		close(dp->dir_fd);
	erofs_spill_close(&dp->packed);
	pthread_mutex_destroy(&dp->lock);
	pthread_cond_destroy(&dp->cond);
}

/*
 * The packed inode: a regular file outside the tree, compressed like
 * any other once every fragment is in it, after every file's data.
 */
static int add_packed(struct data_pass *dp)
{
	struct erofs_builder *b = dp->b;
	const struct erofs_build_options *o = b->opts;
	struct erofs_node *n;
	struct stat st;
	int err;

	if (!dp->packed.size)
		return 0;
	err = erofs_spill_flush(&dp->packed, b->msg);
	if (err)
		return err;
	if (fstat(dp->packed.fd, &st))
		return -errno;
	n = erofs_node_alloc(NULL, false);
	if (!n)
		return -ENOMEM;
	n->path = strdup("(packed inode)");
	if (!n->path) {
		free(n);
		return -ENOMEM;
	}
	n->mode = S_IFREG | 0600;
	n->nlink = 1;
	n->size = dp->packed.size;
	n->mtime = o->build_time;
	n->mtime_nsec = o->build_time_nsec;
	n->extended = erofs_node_needs_extended(b, n);
	/* what the change checks compare against: the temporary file */
	n->src_dev = st.st_dev;
	n->src_ino = st.st_ino;
	n->src_mtime = st.st_mtim.tv_sec;
	n->src_mtime_nsec = st.st_mtim.tv_nsec;
	n->zspec = 0;
	n->zpclusterblks = o->compress.packed_pclusterblks ?:
			   o->compress.pclusterblks;
	err = erofs_add_node(b, n);
	if (err) {
		erofs_node_free(n);
		return err;
	}
	b->packed = n;
	dp->files++;
	return add_compressed(dp, n);
}

int erofs_write_data(struct erofs_builder *b)
{
	struct data_pass dp;
	size_t i;
	int err;

	err = erofs_file_dedup_prepare(b);
	if (err)
		return err;
	err = data_pass_init(&dp, b);
	for (i = 0; i < b->nr_nodes && !err; i++) {
		struct erofs_node *n = b->nodes[i];

		if (n->data_ready)
			continue;
		if (n->zspec >= 0)
			err = add_compressed(&dp, n);
		else if (n->size && (S_ISREG(n->mode) || n->nblocks))
			err = add_other(&dp, n);
		erofs_progress_update(&b->progress, "writing files",
				      dp.files_done, dp.files);
	}
	while (dp.head && !err)
		err = retire_one(&dp, false);
	if (!err)
		err = add_packed(&dp);
	while (dp.head && !err)
		err = retire_one(&dp, false);
	b->data_end = dp.cursor;
	b->blob_blocks = dp.blob_cursor;
	b->stats.pcluster_refs = dp.dedupe_stats.refs;
	b->stats.pcluster_ref_saved_blocks = dp.dedupe_stats.saved_blocks;
	data_pass_exit(&dp);
	erofs_progress_done(&b->progress);
	return err;
}
