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

struct erofs_istream {
	int fd;
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

/* raw bytes taken from the input so far (for progress against its size) */
static inline uint64_t erofs_istream_consumed(const struct erofs_istream *s)
{
	return s->raw_bytes - (s->in_len - s->in_pos);
}

const char *erofs_istream_codec_name(enum erofs_istream_codec c);

#endif
