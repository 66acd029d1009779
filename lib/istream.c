// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Reading a possibly compressed stream sequentially.  Nothing is held but
 * one buffer of raw input and the codec's state, so a layer of any size
 * streams through in constant memory; a pipe is fine as nothing seeks.
 *
 * A compressed stream must end properly: a gzip member's CRC and length,
 * an xz stream's index and check, a zstd frame's end are all verified, and
 * running out of input inside a frame is an error, not a short read.
 */
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include "erofs/digest_table.h"
#include "erofs/erofs_fs.h"
#include "erofs/gzindex.h"
#include "erofs/istream.h"
#include "erofs/output.h"

#define ISTREAM_INBUF	(1U << 20)

static const uint8_t gzip_magic[] = { 0x1f, 0x8b };
static const uint8_t xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t zstd_magic[] = { 0x28, 0xb5, 0x2f, 0xfd };

const char *erofs_istream_codec_name(enum erofs_istream_codec c)
{
	switch (c) {
	case EROFS_ISTREAM_CODEC_GZIP:	return "gzip";
	case EROFS_ISTREAM_CODEC_XZ:	return "xz";
	case EROFS_ISTREAM_CODEC_ZSTD:	return "zstd";
	default:			return "tar";
	}
}

static int fail(struct erofs_istream *s, int err, const char *fmt,
		const char *detail)
{
	snprintf(s->err, sizeof(s->err), fmt, erofs_istream_codec_name(s->codec),
		 detail);
	return err;
}

/* appends what one read() gives to the raw input; in_eof at its end */
static int read_more(struct erofs_istream *s)
{
	ssize_t n;
	int err;

	if (s->pull) {
		n = s->pull(s->pull_priv, s->in + s->in_len,
			    ISTREAM_INBUF - s->in_len, s->err, sizeof(s->err));
		if (n < 0)
			return n;
		goto got;
	}
	do {
		n = read(s->fd, s->in + s->in_len, ISTREAM_INBUF - s->in_len);
	} while (n < 0 && errno == EINTR);
got:
	if (n < 0)
		return fail(s, -errno, "%s stream: read error: %s",
			    strerror(errno));
	if (!n) {
		s->in_eof = true;
		return 0;
	}
	if (s->raw_fd >= 0) {
		err = erofs_pwrite_full(s->raw_fd, s->in + s->in_len, n,
					s->raw_bytes);
		if (err)
			return fail(s, err, "%s stream: cannot keep its raw copy: %s",
				    strerror(-err));
	}
	if (s->raw_digest)
		erofs_sha256_update(s->raw_digest, s->in + s->in_len, n);
	s->in_len += n;
	s->raw_bytes += n;
	return 0;
}

/* more raw input, when all of it was consumed; none at its end */
static int fill(struct erofs_istream *s)
{
	if (s->in_pos < s->in_len || s->in_eof)
		return 0;
	s->in_pos = s->in_len = 0;
	return read_more(s);
}

/* the first bytes, enough to recognise a magic, without consuming them */
static int peek_magic(struct erofs_istream *s)
{
	int err = 0;

	while (!err && s->in_len < sizeof(xz_magic) && !s->in_eof)
		err = read_more(s);
	return err;
}

static bool starts_with(const struct erofs_istream *s, const uint8_t *magic,
			size_t len)
{
	return s->in_len >= len && !memcmp(s->in, magic, len);
}

static int init_codec(struct erofs_istream *s)
{
	switch (s->codec) {
	case EROFS_ISTREAM_CODEC_GZIP: {
		z_stream *z = calloc(1, sizeof(*z));

		/* 16 + window bits: a gzip wrapper, checked */
		if (!z || inflateInit2(z, 16 + MAX_WBITS) != Z_OK) {
			free(z);
			return -ENOMEM;
		}
		s->dec = z;
		return 0;
	}
	case EROFS_ISTREAM_CODEC_XZ: {
		lzma_stream *x = calloc(1, sizeof(*x));

		if (!x)
			return -ENOMEM;
		*x = (lzma_stream)LZMA_STREAM_INIT;
		if (lzma_stream_decoder(x, UINT64_MAX, LZMA_CONCATENATED) !=
		    LZMA_OK) {
			free(x);
			return -ENOMEM;
		}
		s->dec = x;
		return 0;
	}
	case EROFS_ISTREAM_CODEC_ZSTD:
		s->dec = ZSTD_createDCtx();
		return s->dec ? 0 : -ENOMEM;
	default:
		return 0;
	}
}

/* the codec by the stream's first bytes */
static int start(struct erofs_istream *s, unsigned int accept)
{
	const struct erofs_msg *msg = s->msg;
	const char *name = s->name;
	int err;

	err = peek_magic(s);
	if (err) {
		erofs_err(msg, "%s: %s", name, s->err);
		return err;
	}
	if ((accept & EROFS_ISTREAM_GZIP) &&
	    starts_with(s, gzip_magic, sizeof(gzip_magic)))
		s->codec = EROFS_ISTREAM_CODEC_GZIP;
	else if ((accept & EROFS_ISTREAM_XZ) &&
		 starts_with(s, xz_magic, sizeof(xz_magic)))
		s->codec = EROFS_ISTREAM_CODEC_XZ;
	else if ((accept & EROFS_ISTREAM_ZSTD) &&
		 starts_with(s, zstd_magic, sizeof(zstd_magic)))
		s->codec = EROFS_ISTREAM_CODEC_ZSTD;
	err = init_codec(s);
	if (err)
		erofs_err(msg, "%s: cannot start the %s decoder", name,
			  erofs_istream_codec_name(s->codec));
	return err;
}

int erofs_istream_open(struct erofs_istream *s, const struct erofs_msg *msg,
		       int fd, const char *name, unsigned int accept,
		       int raw_fd)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->name = name;
	s->msg = msg;
	s->raw_fd = raw_fd;
	s->in = malloc(ISTREAM_INBUF);
	if (!s->in)
		return -ENOMEM;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) &&
	    lseek(fd, 0, SEEK_CUR) == 0) {
		s->seekable = true;
		s->file_size = st.st_size;
	}
	return start(s, accept);
}

int erofs_istream_open_pull(struct erofs_istream *s,
			    const struct erofs_msg *msg,
			    erofs_istream_pull_t pull, void *priv,
			    const char *name, unsigned int accept,
			    uint64_t size)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->raw_fd = -1;
	s->pull = pull;
	s->pull_priv = priv;
	s->name = name;
	s->msg = msg;
	s->file_size = size;
	s->in = malloc(ISTREAM_INBUF);
	if (!s->in)
		return -ENOMEM;
	return start(s, accept);
}

void erofs_istream_close(struct erofs_istream *s)
{
	switch (s->codec) {
	case EROFS_ISTREAM_CODEC_GZIP:
		if (s->dec)
			inflateEnd(s->dec);
		break;
	case EROFS_ISTREAM_CODEC_XZ:
		if (s->dec)
			lzma_end(s->dec);
		break;
	case EROFS_ISTREAM_CODEC_ZSTD:
		ZSTD_freeDCtx(s->dec);
		s->dec = NULL;
		break;
	default:
		break;
	}
	free(s->dec);
	free(s->in);
	free(s->gz_window);
	s->gz_window = NULL;
	s->dec = NULL;
	s->in = NULL;
}

static ssize_t read_raw(struct erofs_istream *s, uint8_t *buf, size_t len)
{
	size_t done = 0, n;
	int err;

	while (done < len) {
		err = fill(s);
		if (err)
			return err;
		if (s->in_pos == s->in_len)
			break;
		n = MIN(len - done, s->in_len - s->in_pos);
		memcpy(buf + done, s->in + s->in_pos, n);
		s->in_pos += n;
		done += n;
	}
	return done;
}

/* another gzip member follows the one that ended? */
static int gzip_next_member(struct erofs_istream *s, z_stream *z)
{
	int err = fill(s);

	if (err)
		return err;
	if (s->in_pos == s->in_len ||
	    s->in_len - s->in_pos < sizeof(gzip_magic) ||
	    memcmp(s->in + s->in_pos, gzip_magic, sizeof(gzip_magic))) {
		/* trailing bytes that are not a member are ignored, as gzip -d */
		s->end = true;
		return 0;
	}
	inflateReset(z);
	s->gz_member_start = true;
	return 0;
}

int erofs_istream_index(struct erofs_istream *s,
			struct erofs_gzindex_builder *b)
{
	if (s->pos)
		return -EINVAL;
	if (s->codec == EROFS_ISTREAM_CODEC_GZIP) {
		s->gz_window = malloc(EROFS_GZIP_WINDOW_SIZE);
		if (!s->gz_window)
			return -ENOMEM;
	} else if (s->codec != EROFS_ISTREAM_CODEC_ZSTD) {
		return -EINVAL;
	}
	s->gzindex = b;
	s->gz_member_start = true;
	return 0;
}

/*
 * inflate stopped (Z_BLOCK) where a block ends or a member's header
 * does: a checkpoint may go there, unless the member's last block ended.
 */
static int gzip_boundary(struct erofs_istream *s, z_stream *z, uint64_t out)
{
	uint64_t in_bits = erofs_istream_consumed(s) * 8 - (z->data_type & 7);
	bool first = s->gz_member_start;
	uInt len = 0;
	int err;

	if (!(z->data_type & 128) || (z->data_type & 64))
		return 0;
	s->gz_member_start = false;
	if (!erofs_gzindex_want(s->gzindex, out, first))
		return 0;
	if (inflateGetDictionary(z, s->gz_window, &len) != Z_OK)
		return fail(s, -EIO, "%s stream: no window at a block boundary%s",
			    "");
	err = erofs_gzindex_add(s->gzindex, in_bits, out, s->gz_window, len,
				first);
	if (err)
		return fail(s, err, "%s stream: cannot record a checkpoint: %s",
			    strerror(-err));
	return 0;
}

static ssize_t read_gzip(struct erofs_istream *s, uint8_t *buf, size_t len)
{
	z_stream *z = s->dec;
	int ret, err;

	z->next_out = buf;
	z->avail_out = len;
	while (z->avail_out && !s->end) {
		err = fill(s);
		if (err)
			return err;
		if (s->in_pos == s->in_len)
			return fail(s, -EIO, "%s stream truncated%s", "");
		z->next_in = s->in + s->in_pos;
		z->avail_in = s->in_len - s->in_pos;
		ret = inflate(z, s->gzindex ? Z_BLOCK : Z_NO_FLUSH);
		s->in_pos = s->in_len - z->avail_in;
		if (ret == Z_OK && s->gzindex) {
			err = gzip_boundary(s, z, s->pos + len - z->avail_out);
			if (err)
				return err;
		}
		if (ret == Z_STREAM_END) {
			err = gzip_next_member(s, z);
			if (err)
				return err;
		} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
			return fail(s, -EIO, "%s stream corrupt: %s",
				    z->msg ? z->msg : "bad data");
		}
	}
	return len - z->avail_out;
}

static ssize_t read_xz(struct erofs_istream *s, uint8_t *buf, size_t len)
{
	lzma_stream *x = s->dec;
	lzma_ret ret;
	int err;

	x->next_out = buf;
	x->avail_out = len;
	while (x->avail_out && !s->end) {
		err = fill(s);
		if (err)
			return err;
		x->next_in = s->in + s->in_pos;
		x->avail_in = s->in_len - s->in_pos;
		ret = lzma_code(x, s->in_eof ? LZMA_FINISH : LZMA_RUN);
		s->in_pos = s->in_len - x->avail_in;
		if (ret == LZMA_STREAM_END)
			s->end = true;
		else if (ret == LZMA_BUF_ERROR && s->in_eof)
			return fail(s, -EIO, "%s stream truncated%s", "");
		else if (ret != LZMA_OK)
			return fail(s, -EIO, "%s stream corrupt: %s",
				    ret == LZMA_DATA_ERROR ? "bad data" :
				    ret == LZMA_FORMAT_ERROR ? "bad format" :
				    ret == LZMA_MEM_ERROR ? "out of memory" :
				    "decoder error");
	}
	return len - x->avail_out;
}

static ssize_t read_zstd(struct erofs_istream *s, uint8_t *buf, size_t len)
{
	ZSTD_outBuffer out = { buf, len, 0 };
	size_t ret;
	int err;

	while (out.pos < out.size && !s->end) {
		ZSTD_inBuffer in;

		err = fill(s);
		if (err)
			return err;
		if (s->in_pos == s->in_len) {
			/* at a frame boundary the stream may end */
			if (!s->dec_pending)
				s->end = true;
			else
				return fail(s, -EIO, "%s stream truncated%s", "");
			break;
		}
		in = (ZSTD_inBuffer){ s->in, s->in_len, s->in_pos };
		ret = ZSTD_decompressStream(s->dec, &out, &in);
		s->in_pos = in.pos;
		if (ZSTD_isError(ret))
			return fail(s, -EIO, "%s stream corrupt: %s",
				    ZSTD_getErrorName(ret));
		s->dec_pending = ret != 0;
		/* a frame ended: where another may start */
		if (!ret && s->gzindex) {
			int err = erofs_gzindex_add(s->gzindex,
					erofs_istream_consumed(s) * 8,
					s->pos + out.pos, NULL, 0, false);

			if (err)
				return fail(s, err, "%s stream: cannot record a checkpoint: %s",
					    strerror(-err));
		}
	}
	return out.pos;
}

ssize_t erofs_istream_read(struct erofs_istream *s, void *buf, size_t len)
{
	ssize_t n;

	switch (s->codec) {
	case EROFS_ISTREAM_CODEC_GZIP:
		n = read_gzip(s, buf, len);
		break;
	case EROFS_ISTREAM_CODEC_XZ:
		n = read_xz(s, buf, len);
		break;
	case EROFS_ISTREAM_CODEC_ZSTD:
		n = read_zstd(s, buf, len);
		break;
	default:
		n = read_raw(s, buf, len);
	}
	if (n > 0) {
		if (s->digest)
			erofs_sha256_update(s->digest, buf, n);
		if (s->units)
			erofs_digest_builder_update(s->units, buf, n);
		s->pos += n;
	}
	return n;
}

/* a plain file skips by seeking, unless every byte must be seen */
static bool can_seek_over(const struct erofs_istream *s)
{
	return s->seekable && s->codec == EROFS_ISTREAM_RAW &&
	       s->raw_fd < 0 && !s->digest && !s->units;
}

static int seek_over(struct erofs_istream *s, uint64_t len)
{
	uint64_t buffered = s->in_len - s->in_pos;
	off_t cur;

	if (len <= buffered) {
		s->in_pos += len;
		s->pos += len;
		return 0;
	}
	cur = lseek(s->fd, 0, SEEK_CUR);
	if (cur < 0)
		return fail(s, -errno, "%s stream: cannot seek: %s",
			    strerror(errno));
	len -= buffered;
	if ((uint64_t)cur + len > s->file_size) {
		/* what is there is consumed; the rest is missing */
		s->pos += buffered + (s->file_size - cur);
		s->in_pos = s->in_len;
		lseek(s->fd, 0, SEEK_END);
		s->in_eof = true;
		return -ENODATA;
	}
	if (lseek(s->fd, len, SEEK_CUR) < 0)
		return fail(s, -errno, "%s stream: cannot seek: %s",
			    strerror(errno));
	s->in_pos = s->in_len;
	s->pos += buffered + len;
	s->raw_bytes += len;
	return 0;
}

int erofs_istream_skip(struct erofs_istream *s, uint64_t len)
{
	uint8_t buf[65536];
	ssize_t n;

	if (len > sizeof(buf) && can_seek_over(s))
		return seek_over(s, len);
	while (len) {
		n = erofs_istream_read(s, buf, MIN(len, (uint64_t)sizeof(buf)));
		if (n < 0)
			return n;
		if (!n)
			return -ENODATA;
		len -= n;
	}
	return 0;
}

int erofs_istream_finish_raw(struct erofs_istream *s)
{
	int err = 0;

	while (!err && !s->in_eof) {
		s->in_pos = s->in_len = 0;
		err = read_more(s);
	}
	s->in_pos = s->in_len;
	return err;
}

int erofs_istream_drain(struct erofs_istream *s, uint64_t *extra)
{
	uint8_t buf[65536];
	ssize_t n;

	*extra = 0;
	do {
		n = erofs_istream_read(s, buf, sizeof(buf));
		if (n < 0)
			return n;
		*extra += n;
	} while (n);
	return 0;
}
