/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A sequential input stream that may be compressed: a tar layer read from
 * a file or a pipe, through gzip (zlib), xz (liblzma) or zstd (libzstd)
 * when its first bytes say so and the caller allows that format.
 */
#ifndef EROFS_ISTREAM_H
#define EROFS_ISTREAM_H

#include <sys/types.h>
#include "erofs/print.h"
#include "erofs/sha256.h"

struct erofs_gzindex_builder;

#define EROFS_ISTREAM_GZIP	(1U << 0)
#define EROFS_ISTREAM_XZ	(1U << 1)
#define EROFS_ISTREAM_ZSTD	(1U << 2)

enum erofs_istream_codec {
	EROFS_ISTREAM_RAW,
	EROFS_ISTREAM_CODEC_GZIP,
	EROFS_ISTREAM_CODEC_XZ,
	EROFS_ISTREAM_CODEC_ZSTD,
};

struct erofs_digest_builder;

/*
 * Where a stream that is no file descriptor gets its raw bytes: up to
 * @len into @buf, 0 at the end, or a negative errno with @why saying why.
 */
typedef ssize_t (*erofs_istream_pull_t)(void *priv, void *buf, size_t len,
					char *why, size_t why_size);

struct erofs_istream {
	int fd;				/* -1 with a pull function */
	erofs_istream_pull_t pull;
	void *pull_priv;
	const char *name;		/* "standard input" or the path */
	const struct erofs_msg *msg;
	int raw_fd;			/* keeps the raw stream, or -1 */
	enum erofs_istream_codec codec;
	void *dec;			/* the codec's state */

	uint8_t *in;			/* raw bytes read, not yet decoded */
	size_t in_pos, in_len;
	bool in_eof;
	bool end;			/* the decoded stream is over */
	bool dec_pending;		/* zstd: inside a frame */

	bool seekable;			/* a regular file read from its start */
	uint64_t file_size;
	uint64_t raw_bytes;		/* read from fd */
	uint64_t pos;			/* decoded bytes handed out */
	struct erofs_sha256 *digest;	/* of the decoded bytes, if set */
	struct erofs_sha256 *raw_digest; /* of the raw bytes, if set */
	/* gzip, zstd: checkpoints recorded here, if set */
	struct erofs_gzindex_builder *gzindex;
	uint8_t *gz_window;		/* for the checkpoints' windows */
	bool gz_member_start;		/* no block of this member seen yet */
	struct erofs_digest_builder *units;	/* their digest table, if set */
	char err[128];			/* why the last read failed */
};

/*
 * Starts reading @fd (not closed by the stream).  @accept: the codecs
 * (EROFS_ISTREAM_*) recognised by their magic; anything else is read as
 * is.  @raw_fd >= 0 receives a copy of every raw byte read.
 */
int erofs_istream_open(struct erofs_istream *s, const struct erofs_msg *msg,
		       int fd, const char *name, unsigned int accept,
		       int raw_fd);
/* the same, reading through @pull; @size (for progress) may be 0 */
int erofs_istream_open_pull(struct erofs_istream *s,
			    const struct erofs_msg *msg,
			    erofs_istream_pull_t pull, void *priv,
			    const char *name, unsigned int accept,
			    uint64_t size);
void erofs_istream_close(struct erofs_istream *s);

/*
 * Up to @len decoded bytes into @buf: fewer only at the end of the stream.
 * Returns the count, or a negative errno with s->err saying why (a read
 * error, a corrupt or truncated compressed stream).
 */
ssize_t erofs_istream_read(struct erofs_istream *s, void *buf, size_t len);
/* reads and drops @len bytes; -ENODATA if the stream ends first */
int erofs_istream_skip(struct erofs_istream *s, uint64_t len);
/* reads to the end (checking a compressed stream's trailer) */
int erofs_istream_drain(struct erofs_istream *s, uint64_t *extra);

/*
 * Records checkpoints into @b as the stream is read (set before the
 * first read): inflate's at gzip block boundaries, zstd frame starts;
 * -EINVAL for another codec.
 */
int erofs_istream_index(struct erofs_istream *s,
			struct erofs_gzindex_builder *b);
/* reads the raw input to its end, for raw_bytes and raw_digest */
int erofs_istream_finish_raw(struct erofs_istream *s);

/* raw bytes taken from the input so far (for progress against its size) */
static inline uint64_t erofs_istream_consumed(const struct erofs_istream *s)
{
	return s->raw_bytes - (s->in_len - s->in_pos);
}

const char *erofs_istream_codec_name(enum erofs_istream_codec c);

#endif
