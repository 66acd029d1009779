/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Random access into a gzip blob: inflate checkpoints recorded while the
 * blob is decompressed once (struct erofs_annex_gzip_index in erofs_fs.h
 * is their stored form), and reading any range of the uncompressed bytes
 * from the nearest checkpoint before it, given only a way to read ranges
 * of the compressed blob.  A zstd blob of several frames is indexed the
 * same way, with checkpoints at frame starts and no windows.
 */
#ifndef EROFS_GZINDEX_H
#define EROFS_GZINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* output distance between checkpoints unless told: see gzindex.c */
#define EROFS_GZINDEX_DEFAULT_SPAN	(1ULL << 20)
#define EROFS_GZINDEX_MIN_SPAN		(64ULL << 10)
#define EROFS_GZINDEX_MAX_SPAN		(1ULL << 30)
/* SOCI zinfo checkpoints: erofs-utils 1.9 writes them 4 MiB apart */
#define EROFS_GZINDEX_ZINFO_SPAN	(4ULL << 20)

struct erofs_gzindex_point {
	uint64_t in_bits;		/* where the deflate block starts */
	uint64_t out;
	uint32_t window_off, window_zlen;
	uint16_t window_len;
};

struct erofs_gzindex {
	uint32_t codec;			/* EROFS_BLOB_CODEC_* */
	uint64_t span, blob_size, size;
	struct erofs_gzindex_point *points;
	uint32_t nr;
	uint8_t *windows;		/* compressed, back to back */
	uint64_t windows_size;
};

void erofs_gzindex_free(struct erofs_gzindex *ix);

/*
 * Building: the decoder calls erofs_gzindex_want() at every deflate block
 * boundary that is not a member's end, and erofs_gzindex_add() when it
 * says yes, with the last (up to 32 KiB) bytes output in that member.
 * SOCI's zinfo also wants a checkpoint where each member's first block
 * starts: erofs_gzindex_member_start() records those for the export.
 */
struct erofs_gzindex_builder {
	struct erofs_gzindex ix;
	uint32_t cap_points;
	uint64_t cap_windows;
	int zinfo_fd;			/* SOCI zinfo written on the side, or -1 */
	uint64_t zinfo_last;		/* its last checkpoint's output offset */
	uint32_t zinfo_nr;
	bool zinfo_any;
};

int erofs_gzindex_builder_init(struct erofs_gzindex_builder *b,
			       uint32_t codec, uint64_t span, int zinfo_fd);
bool erofs_gzindex_want(const struct erofs_gzindex_builder *b, uint64_t out,
			bool member_start);
int erofs_gzindex_add(struct erofs_gzindex_builder *b, uint64_t in_bits,
		      uint64_t out, const uint8_t *window, unsigned int len,
		      bool member_start);
/* the blob's and the output's sizes, once the stream is over */
void erofs_gzindex_finish(struct erofs_gzindex_builder *b, uint64_t blob_size,
			  uint64_t size);
/* completes the SOCI zinfo (its header) when one is written */
int erofs_gzindex_finish_zinfo(struct erofs_gzindex_builder *b);
void erofs_gzindex_builder_exit(struct erofs_gzindex_builder *b);

/* the stored form: its size, and writing it into a zeroed payload */
uint64_t erofs_gzindex_encoded_size(const struct erofs_gzindex *ix);
void erofs_gzindex_encode(const struct erofs_gzindex *ix, void *payload);
/*
 * Parses a stored index, checking every field; on damage returns
 * -EFSCORRUPTED with @why (of @whylen bytes) naming the field.  The
 * windows stay compressed: erofs_gzindex_check_windows() inflates each.
 */
int erofs_gzindex_decode(const void *payload, uint64_t len, uint32_t codec,
			 struct erofs_gzindex *ix, char *why, size_t whylen);
int erofs_gzindex_check_windows(const struct erofs_gzindex *ix, char *why,
				size_t whylen);

/*
 * Reading ranges.  @read fills @buf with exactly @len bytes of the
 * compressed blob at @off (0 or -errno); the cursor asks for aligned
 * pieces of EROFS_GZINDEX_PIECE bytes (the last one shorter), so that the
 * caller can cache them.  While a read runs, c->need_end says how far
 * into the blob it can go at most (where the first checkpoint at or past
 * its end lies): a caller may fetch the pieces up to there at once.  A
 * cursor continues where the previous read stopped when the next one
 * starts there or a little after.
 */
#define EROFS_GZINDEX_PIECE	(64U << 10)

typedef int (*erofs_gzindex_read_t)(void *priv, uint64_t off, size_t len,
				    void *buf);

struct erofs_gzindex_cursor {
	const struct erofs_gzindex *ix;
	erofs_gzindex_read_t read;
	void *priv;
	/* its next_in/avail_in are the input window for either codec */
	void *z;			/* z_stream */
	void *zs;			/* ZSTD_DCtx, for a zstd blob */
	bool active;			/* z is positioned at out */
	bool raw;			/* entered a member at a checkpoint */
	uint64_t out;
	uint64_t in_end;		/* blob offset just after inbuf's bytes */
	uint64_t need_end;		/* the current read needs no byte past it */
	uint8_t *inbuf;
	uint8_t *window;		/* an inflated checkpoint window */
	char err[160];
};

int erofs_gzindex_cursor_init(struct erofs_gzindex_cursor *c,
			      const struct erofs_gzindex *ix,
			      erofs_gzindex_read_t read, void *priv);
/* exactly @len uncompressed bytes at @off, or -errno with c->err set */
int erofs_gzindex_pread(struct erofs_gzindex_cursor *c, void *buf,
			size_t len, uint64_t off);
void erofs_gzindex_cursor_exit(struct erofs_gzindex_cursor *c);

#endif
