/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * -E dedupe: compressed extents already stored, found again by content.
 *
 * Every pcluster stored is remembered by the bytes its extent decodes
 * to.  A later extent -- of any file, or of the same one -- whose data
 * starts with at least a window's worth of an earlier extent's data can
 * refer to that pcluster instead of storing its own: readers decode the
 * pcluster and keep the prefix they need (a partial reference).
 */
#ifndef EROFS_ZDEDUPE_H
#define EROFS_ZDEDUPE_H

#include "erofs/defs.h"

struct z_erofs_dedupe;

/* a stored extent's pcluster, as a later one refers to it */
struct z_erofs_dedupe_hit {
	uint32_t pos;			/* where in the searched data */
	uint32_t len;			/* equal bytes from there */
	uint64_t blkaddr;
	uint32_t nblocks;
	uint32_t stored_len;		/* the stored extent's length */
	bool partial;			/* the pcluster decodes to more than len */
};

/*
 * Windows of @window bytes (a block: the smallest extent worth a
 * reference); at most @budget bytes of extents' data are remembered.
 */
struct z_erofs_dedupe *z_erofs_dedupe_create(unsigned int window,
					     uint64_t budget);
void z_erofs_dedupe_destroy(struct z_erofs_dedupe *d);

/*
 * Remembers an extent: its @len bytes of @data (copied) decode from
 * @nblocks blocks at @blkaddr, exactly or (@partial) as their prefix.
 */
int z_erofs_dedupe_insert(struct z_erofs_dedupe *d, const uint8_t *data,
			  uint32_t len, uint64_t blkaddr, uint32_t nblocks,
			  bool partial);

/* the caller's say on a hit: true takes it, false searches on */
typedef bool (*z_erofs_dedupe_accept_t)(void *ctx,
					const struct z_erofs_dedupe_hit *hit);

/*
 * The first position in [@from, @to) of @buf (@buflen bytes) where the
 * data starts like a remembered extent and @accept takes the longest
 * such hit there.  Returns true with @hit filled in.
 */
bool z_erofs_dedupe_find(const struct z_erofs_dedupe *d, const uint8_t *buf,
			 uint32_t buflen, uint32_t from, uint32_t to,
			 z_erofs_dedupe_accept_t accept, void *ctx,
			 struct z_erofs_dedupe_hit *hit);

/* how many are remembered; forgetting back to such a count */
uint32_t z_erofs_dedupe_count(const struct z_erofs_dedupe *d);
void z_erofs_dedupe_forget(struct z_erofs_dedupe *d, uint32_t count);

struct z_erofs_dedupe_stats {
	uint64_t refs;			/* extents referring to earlier pclusters */
	uint64_t saved_blocks;		/* blocks not stored because of them */
};

/* where a segment goes, and what its file can afford */
struct z_erofs_dedupe_where {
	uint64_t blkaddr;		/* the segment's output, on its device */
	uint64_t file_blkaddr;		/* the file's first pcluster */
	uint64_t index_cost;		/* what full indexes cost the file more */
	bool remember_last;		/* false: its last extent may go inline */
};

struct z_erofs_worker;
struct z_erofs_segment;
/*
 * Searches a compressed segment for data stored before
 * (zdedupe_segment.c): its extents are rewritten to refer to it if that
 * saves more than the index cost, and those it keeps are remembered --
 * the last one only if it stays in blocks (an inline tail has none).
 */
int z_erofs_dedupe_segment(struct z_erofs_dedupe *d, struct z_erofs_worker *w,
			   struct z_erofs_segment *seg,
			   const struct z_erofs_dedupe_where *at,
			   struct z_erofs_dedupe_stats *st);

#endif
