// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Random access into gzip blobs (see include/erofs/gzindex.h).
 *
 * A deflate stream can only be entered where a block starts, with the
 * bits of the byte the previous block ended in and the 32 KiB of output
 * its back-references may reach.  The builder is told of block
 * boundaries by the decoder that decompresses the blob anyway (the tar
 * reader's), so indexing costs no second inflate pass; it keeps one
 * checkpoint per span of output.  The span trades index size against
 * what a cold read must fetch and inflate, measured on a 127 MB tar of
 * binaries and text (71 MB gzip'd): a 1 MiB span (the default) makes an
 * index of 2.2 MB (1.7% of the tar; a window compresses to about 20 KiB)
 * and a 64 KiB read fetches about 380 KiB; 256 KiB: 8.3 MB and 170 KiB;
 * 4 MiB (SOCI's): 0.58 MB and 1.2 MiB.
 *
 * A checkpoint always lies inside a member: entering it inflates raw
 * deflate, skips the member's trailer at its end (its CRC covers bytes
 * before the checkpoint, so it cannot be checked) and continues through
 * later members as gzip, whose headers and trailers zlib checks.
 *
 * A zstd blob of several frames uses the same index and cursor: its
 * checkpoints are frame starts (a frame refers to nothing before it),
 * with no windows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "erofs/defs.h"
#include "erofs/erofs_fs.h"
#include "erofs/gzindex.h"
#include "erofs/output.h"
#include "erofs/reader.h"

#define GZIP_MIN_HEADER		10
#define GZIP_TRAILER		8
#define ZINFO_HEADER		12
#define ZINFO_POINT		(17 + EROFS_GZIP_WINDOW_SIZE)

static void put_le32(uint32_t v, uint8_t *p)
{
	__le32 x = cpu_to_le32(v);

	memcpy(p, &x, sizeof(x));
}

static void put_le64(uint64_t v, uint8_t *p)
{
	__le64 x = cpu_to_le64(v);

	memcpy(p, &x, sizeof(x));
}

void erofs_gzindex_free(struct erofs_gzindex *ix)
{
	free(ix->points);
	free(ix->windows);
	memset(ix, 0, sizeof(*ix));
}

/* ---- building ---- */

int erofs_gzindex_builder_init(struct erofs_gzindex_builder *b,
			       uint32_t codec, uint64_t span, int zinfo_fd)
{
	memset(b, 0, sizeof(*b));
	if (span < EROFS_GZINDEX_MIN_SPAN || span > EROFS_GZINDEX_MAX_SPAN)
		return -EINVAL;
	b->ix.codec = codec;
	b->ix.span = span;
	b->zinfo_fd = zinfo_fd;
	return 0;
}

static uint64_t last_out(const struct erofs_gzindex *ix)
{
	return ix->nr ? ix->points[ix->nr - 1].out : 0;
}

static bool index_wants(const struct erofs_gzindex_builder *b, uint64_t out)
{
	return out && out - last_out(&b->ix) >= b->ix.span;
}

/* as SOCI: each member's first block, then more than a span apart */
static bool zinfo_wants(const struct erofs_gzindex_builder *b, uint64_t out,
			bool member_start)
{
	if (b->zinfo_fd < 0)
		return false;
	return member_start || out - b->zinfo_last > EROFS_GZINDEX_ZINFO_SPAN;
}

bool erofs_gzindex_want(const struct erofs_gzindex_builder *b, uint64_t out,
			bool member_start)
{
	return index_wants(b, out) || zinfo_wants(b, out, member_start);
}

static int grow(void **p, uint64_t *cap, uint64_t need, size_t unit)
{
	uint64_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / unit)
		return -ENOMEM;
	q = realloc(*p, n * unit);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static int add_point(struct erofs_gzindex_builder *b, uint64_t in_bits,
		     uint64_t out, const uint8_t *window, unsigned int len)
{
	struct erofs_gzindex *ix = &b->ix;
	uint64_t cap = b->cap_points;
	uLongf zlen = len ? compressBound(len) : 0;
	struct erofs_gzindex_point *p;
	int err;

	if (ix->nr == UINT32_MAX ||
	    ix->windows_size + zlen > UINT32_MAX)
		return -EFBIG;
	err = grow((void **)&ix->points, &cap, ix->nr + 1ULL, sizeof(*p));
	if (err)
		return err;
	b->cap_points = cap;
	err = grow((void **)&ix->windows, &b->cap_windows,
		   ix->windows_size + zlen, 1);
	if (err)
		return err;
	p = &ix->points[ix->nr];
	*p = (struct erofs_gzindex_point){
		.in_bits = in_bits, .out = out,
		.window_off = ix->windows_size, .window_len = len,
	};
	if (len) {
		if (compress2(ix->windows + ix->windows_size, &zlen, window,
			      len, Z_DEFAULT_COMPRESSION) != Z_OK)
			return -ENOMEM;
		p->window_zlen = zlen;
		ix->windows_size += zlen;
	}
	ix->nr++;
	return 0;
}

/* one SOCI checkpoint: the window is always 32 KiB, zeros before a short one */
static int add_zinfo(struct erofs_gzindex_builder *b, uint64_t in_bits,
		     uint64_t out, const uint8_t *window, unsigned int len)
{
	uint8_t rec[ZINFO_POINT] = { 0 };
	uint64_t pos = ZINFO_HEADER + (uint64_t)b->zinfo_nr * ZINFO_POINT;
	uint64_t in = DIV_ROUND_UP(in_bits, 8);
	int err;

	put_le64(in, rec);
	put_le64(out, rec + 8);
	rec[16] = in * 8 - in_bits;
	memcpy(rec + 17 + EROFS_GZIP_WINDOW_SIZE - len, window, len);
	err = erofs_pwrite_full(b->zinfo_fd, rec, sizeof(rec), pos);
	if (err)
		return err;
	b->zinfo_nr++;
	b->zinfo_last = out;
	b->zinfo_any = true;
	return 0;
}

int erofs_gzindex_add(struct erofs_gzindex_builder *b, uint64_t in_bits,
		      uint64_t out, const uint8_t *window, unsigned int len,
		      bool member_start)
{
	int err = 0;

	if (len > EROFS_GZIP_WINDOW_SIZE)
		return -EINVAL;
	if (index_wants(b, out))
		err = add_point(b, in_bits, out, window, len);
	if (!err && zinfo_wants(b, out, member_start))
		err = add_zinfo(b, in_bits, out, window, len);
	return err;
}

void erofs_gzindex_finish(struct erofs_gzindex_builder *b, uint64_t blob_size,
			  uint64_t size)
{
	/* the end of the last zstd frame is no frame start */
	while (b->ix.nr && b->ix.points[b->ix.nr - 1].out >= size)
		b->ix.windows_size -= b->ix.points[--b->ix.nr].window_zlen;
	b->ix.blob_size = blob_size;
	b->ix.size = size;
}

int erofs_gzindex_finish_zinfo(struct erofs_gzindex_builder *b)
{
	uint8_t hdr[ZINFO_HEADER];
	uint64_t end = ZINFO_HEADER + (uint64_t)b->zinfo_nr * ZINFO_POINT;

	if (b->zinfo_fd < 0)
		return 0;
	put_le32(b->zinfo_nr, hdr);
	put_le64(EROFS_GZINDEX_ZINFO_SPAN, hdr + 4);
	if (ftruncate(b->zinfo_fd, end))
		return -errno;
	return erofs_pwrite_full(b->zinfo_fd, hdr, sizeof(hdr), 0);
}

void erofs_gzindex_builder_exit(struct erofs_gzindex_builder *b)
{
	erofs_gzindex_free(&b->ix);
}

/* ---- the stored form ---- */

uint64_t erofs_gzindex_encoded_size(const struct erofs_gzindex *ix)
{
	return sizeof(struct erofs_annex_gzip_index) +
	       (uint64_t)ix->nr * sizeof(struct erofs_annex_gzip_point) +
	       ix->windows_size;
}

void erofs_gzindex_encode(const struct erofs_gzindex *ix, void *payload)
{
	struct erofs_annex_gzip_index h = {
		.nr_points = cpu_to_le32(ix->nr),
		.span = cpu_to_le64(ix->span),
		.blob_size = cpu_to_le64(ix->blob_size),
		.size = cpu_to_le64(ix->size),
		.windows_size = cpu_to_le64(ix->windows_size),
	};
	uint8_t *p = payload;
	uint32_t i;

	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	for (i = 0; i < ix->nr; i++) {
		const struct erofs_gzindex_point *s = &ix->points[i];
		struct erofs_annex_gzip_point d = {
			.in_bits = cpu_to_le64(s->in_bits),
			.out = cpu_to_le64(s->out),
			.window_off = cpu_to_le32(s->window_off),
			.window_zlen = cpu_to_le32(s->window_zlen),
			.window_len = cpu_to_le16(s->window_len),
		};

		memcpy(p, &d, sizeof(d));
		p += sizeof(d);
	}
	if (ix->windows_size)
		memcpy(p, ix->windows, ix->windows_size);
}

#define BAD(...)	(snprintf(why, whylen, __VA_ARGS__), -EFSCORRUPTED)

/* the smallest gzip member (header, empty block, trailer); zstd frame */
#define GZIP_MIN_MEMBER		(GZIP_MIN_HEADER + 2 + GZIP_TRAILER)
#define ZSTD_MIN_FRAME		9

static int decode_header(const struct erofs_annex_gzip_index *h, uint64_t len,
			 struct erofs_gzindex *ix, char *why, size_t whylen)
{
	uint64_t table, wsize = le64_to_cpu(h->windows_size);

	if (le32_to_cpu(h->flags))
		return BAD("flags 0x%x: not known to this reader",
			   le32_to_cpu(h->flags));
	ix->nr = le32_to_cpu(h->nr_points);
	ix->span = le64_to_cpu(h->span);
	ix->blob_size = le64_to_cpu(h->blob_size);
	ix->size = le64_to_cpu(h->size);
	if (ix->span < EROFS_GZINDEX_MIN_SPAN ||
	    ix->span > EROFS_GZINDEX_MAX_SPAN)
		return BAD("span %llu out of range",
			   (unsigned long long)ix->span);
	if (ix->blob_size < (ix->codec == EROFS_BLOB_CODEC_GZIP ?
			     GZIP_MIN_MEMBER : ZSTD_MIN_FRAME))
		return BAD("blob size %llu is too small",
			   (unsigned long long)ix->blob_size);
	table = (uint64_t)ix->nr * sizeof(struct erofs_annex_gzip_point);
	if (table > len - sizeof(*h) || wsize != len - sizeof(*h) - table)
		return BAD("%u checkpoints and %llu bytes of windows do not make %llu bytes",
			   ix->nr, (unsigned long long)wsize,
			   (unsigned long long)len);
	if (wsize > UINT32_MAX)
		return BAD("%llu bytes of windows: more than 4 GiB",
			   (unsigned long long)wsize);
	ix->windows_size = wsize;
	return 0;
}

static int decode_point(const struct erofs_annex_gzip_point *d, uint32_t i,
			const struct erofs_gzindex *ix, uint64_t prev_out,
			uint64_t prev_bits, uint64_t woff,
			struct erofs_gzindex_point *p, char *why, size_t whylen)
{
	p->in_bits = le64_to_cpu(d->in_bits);
	p->out = le64_to_cpu(d->out);
	p->window_off = le32_to_cpu(d->window_off);
	p->window_zlen = le32_to_cpu(d->window_zlen);
	p->window_len = le16_to_cpu(d->window_len);
	if (d->reserved || d->reserved2)
		return BAD("checkpoint %u: reserved bits set", i);
	if (ix->codec == EROFS_BLOB_CODEC_ZSTD &&
	    (p->in_bits % 8 || p->window_len || p->window_zlen))
		return BAD("checkpoint %u: a zstd frame starts on a byte, with no window",
			   i);
	if (p->out <= prev_out || p->out - prev_out < ix->span ||
	    p->out >= ix->size)
		return BAD("checkpoint %u: output offset %llu is not a span (%llu) past the previous one (%llu) and inside the %llu bytes",
			   i, (unsigned long long)p->out,
			   (unsigned long long)ix->span,
			   (unsigned long long)prev_out,
			   (unsigned long long)ix->size);
	/*
	 * A gzip trailer follows the byte holding the block's first bit; a
	 * zstd frame takes 9 bytes at least, past that byte too.
	 */
	if (p->in_bits <= prev_bits ||
	    p->in_bits / 8 >= ix->blob_size - GZIP_TRAILER)
		return BAD("checkpoint %u: bit offset %llu does not follow %llu inside the %llu-byte blob",
			   i, (unsigned long long)p->in_bits,
			   (unsigned long long)prev_bits,
			   (unsigned long long)ix->blob_size);
	if (p->window_len > EROFS_GZIP_WINDOW_SIZE || p->window_len > p->out ||
	    !p->window_len != !p->window_zlen)
		return BAD("checkpoint %u: window of %u bytes (%u compressed) at output offset %llu",
			   i, p->window_len, p->window_zlen,
			   (unsigned long long)p->out);
	if (p->window_off != woff || p->window_zlen > ix->windows_size - woff)
		return BAD("checkpoint %u: window at %u+%u, expected at %llu within %llu bytes",
			   i, p->window_off, p->window_zlen,
			   (unsigned long long)woff,
			   (unsigned long long)ix->windows_size);
	return 0;
}

int erofs_gzindex_decode(const void *payload, uint64_t len, uint32_t codec,
			 struct erofs_gzindex *ix, char *why, size_t whylen)
{
	const uint8_t *base = payload;
	struct erofs_annex_gzip_index h;
	uint64_t prev_out = 0, prev_bits, woff = 0;
	uint32_t i;
	int err;

	memset(ix, 0, sizeof(*ix));
	ix->codec = codec;
	/* no checkpoint inside the first gzip header or zstd frame */
	prev_bits = (codec == EROFS_BLOB_CODEC_GZIP ? GZIP_MIN_HEADER :
		     ZSTD_MIN_FRAME) * 8 - 1;
	if (len < sizeof(h))
		return BAD("%llu bytes: shorter than its header",
			   (unsigned long long)len);
	memcpy(&h, base, sizeof(h));
	err = decode_header(&h, len, ix, why, whylen);
	if (err)
		goto fail;
	ix->points = calloc(ix->nr ?: 1, sizeof(*ix->points));
	ix->windows = malloc(ix->windows_size ?: 1);
	if (!ix->points || !ix->windows) {
		err = -ENOMEM;
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	for (i = 0; i < ix->nr; i++) {
		struct erofs_annex_gzip_point d;

		memcpy(&d, base + sizeof(h) + (uint64_t)i * sizeof(d),
		       sizeof(d));
		err = decode_point(&d, i, ix, prev_out, prev_bits, woff,
				   &ix->points[i], why, whylen);
		if (err)
			goto fail;
		prev_out = ix->points[i].out;
		prev_bits = ix->points[i].in_bits;
		woff += ix->points[i].window_zlen;
	}
	if (woff != ix->windows_size) {
		err = BAD("%llu bytes of windows after the last one",
			  (unsigned long long)(ix->windows_size - woff));
		goto fail;
	}
	memcpy(ix->windows, base + len - ix->windows_size, ix->windows_size);
	return 0;
fail:
	erofs_gzindex_free(ix);
	return err;
}

static int inflate_window(const struct erofs_gzindex *ix, uint32_t i,
			  uint8_t *window, char *why, size_t whylen)
{
	const struct erofs_gzindex_point *p = &ix->points[i];
	uLongf n = EROFS_GZIP_WINDOW_SIZE;

	if (!p->window_len)
		return 0;
	if (uncompress(window, &n, ix->windows + p->window_off,
		       p->window_zlen) != Z_OK || n != p->window_len)
		return BAD("checkpoint %u: its window does not inflate to %u bytes",
			   i, p->window_len);
	return 0;
}

int erofs_gzindex_check_windows(const struct erofs_gzindex *ix, char *why,
				size_t whylen)
{
	uint8_t *window = malloc(EROFS_GZIP_WINDOW_SIZE);
	uint32_t i;
	int err = 0;

	if (!window) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < ix->nr && !err; i++)
		err = inflate_window(ix, i, window, why, whylen);
	free(window);
	return err;
}

#undef BAD

/* ---- reading ranges ---- */

/* the cursor's state is unknown after a failure: the next read re-enters */
static int __attribute__((format(printf, 3, 4)))
cfail(struct erofs_gzindex_cursor *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->active = false;
	return err;
}

int erofs_gzindex_cursor_init(struct erofs_gzindex_cursor *c,
			      const struct erofs_gzindex *ix,
			      erofs_gzindex_read_t read, void *priv)
{
	memset(c, 0, sizeof(*c));
	c->ix = ix;
	c->read = read;
	c->priv = priv;
	c->z = calloc(1, sizeof(z_stream));
	c->inbuf = malloc(EROFS_GZINDEX_PIECE);
	c->window = malloc(EROFS_GZIP_WINDOW_SIZE);
	if (ix->codec == EROFS_BLOB_CODEC_ZSTD)
		c->zs = ZSTD_createDCtx();
	if (!c->z || !c->inbuf || !c->window ||
	    (ix->codec == EROFS_BLOB_CODEC_ZSTD && !c->zs) ||
	    inflateInit2((z_stream *)c->z, -MAX_WBITS) != Z_OK) {
		free(c->z);
		c->z = NULL;
		erofs_gzindex_cursor_exit(c);
		return -ENOMEM;
	}
	return 0;
}

void erofs_gzindex_cursor_exit(struct erofs_gzindex_cursor *c)
{
	if (c->z) {
		inflateEnd(c->z);
		free(c->z);
	}
	ZSTD_freeDCtx(c->zs);
	free(c->inbuf);
	free(c->window);
	memset(c, 0, sizeof(*c));
}

/* the piece of the blob holding byte @pos becomes the input, from @pos */
static int load_at(struct erofs_gzindex_cursor *c, uint64_t pos)
{
	z_stream *z = c->z;
	uint64_t start = ROUND_DOWN(pos, EROFS_GZINDEX_PIECE);
	size_t len;
	int err;

	if (pos >= c->ix->blob_size)
		return cfail(c, -EIO, "the gzip stream is cut off at byte %llu of the blob",
			     (unsigned long long)c->ix->blob_size);
	len = MIN((uint64_t)EROFS_GZINDEX_PIECE, c->ix->blob_size - start);
	err = c->read(c->priv, start, len, c->inbuf);
	if (err)
		return cfail(c, err, "reading bytes %llu-%llu of the blob: %s",
			     (unsigned long long)start,
			     (unsigned long long)(start + len - 1),
			     strerror(-err));
	c->in_end = start + len;
	z->next_in = c->inbuf + (pos - start);
	z->avail_in = c->in_end - pos;
	return 0;
}

static uint64_t in_pos(const struct erofs_gzindex_cursor *c)
{
	return c->in_end - ((z_stream *)c->z)->avail_in;
}

/* the last checkpoint at or before @off; -1: the blob's start */
static int64_t point_before(const struct erofs_gzindex *ix, uint64_t off)
{
	int64_t lo = 0, hi = (int64_t)ix->nr - 1, found = -1;

	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (ix->points[mid].out <= off) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

static int enter_point(struct erofs_gzindex_cursor *c, int64_t i)
{
	const struct erofs_gzindex_point *p = &c->ix->points[i];
	uint64_t byte = DIV_ROUND_UP(p->in_bits, 8);
	unsigned int bits = byte * 8 - p->in_bits;
	z_stream *z = c->z;
	char why[sizeof(c->err)];
	int err;

	err = inflate_window(c->ix, i, c->window, why, sizeof(why));
	if (err)
		return cfail(c, err, "gzip index: %s", why);
	if (inflateReset2(z, -MAX_WBITS) != Z_OK)
		return cfail(c, -ENOMEM, "cannot restart inflate");
	err = load_at(c, byte - (bits ? 1 : 0));
	if (err)
		return err;
	if (bits) {
		inflatePrime(z, bits, *z->next_in >> (8 - bits));
		z->next_in++;
		z->avail_in--;
	}
	if (p->window_len &&
	    inflateSetDictionary(z, c->window, p->window_len) != Z_OK)
		return cfail(c, -EIO, "checkpoint %lld: the window is refused",
			     (long long)i);
	c->raw = true;
	c->out = p->out;
	return 0;
}

static int enter(struct erofs_gzindex_cursor *c, int64_t i)
{
	int err;

	c->active = false;
	if (c->ix->codec == EROFS_BLOB_CODEC_ZSTD) {
		/* a frame needs nothing before it */
		ZSTD_DCtx_reset(c->zs, ZSTD_reset_session_only);
		c->out = i >= 0 ? c->ix->points[i].out : 0;
		err = load_at(c, i >= 0 ? c->ix->points[i].in_bits / 8 : 0);
	} else if (i >= 0) {
		err = enter_point(c, i);
	} else {
		c->raw = false;
		c->out = 0;
		err = inflateReset2(c->z, 16 + MAX_WBITS) != Z_OK ?
			cfail(c, -ENOMEM, "cannot restart inflate") :
			load_at(c, 0);
	}
	c->active = !err;
	return err;
}

/* drops @n bytes of input (a trailer), across pieces */
static int skip_input(struct erofs_gzindex_cursor *c, unsigned int n)
{
	z_stream *z = c->z;
	int err;

	while (n) {
		unsigned int k;

		if (!z->avail_in) {
			err = load_at(c, c->in_end);
			if (err)
				return err;
		}
		k = MIN(n, z->avail_in);
		z->next_in += k;
		z->avail_in -= k;
		n -= k;
	}
	return 0;
}

/* a member ended: the next one follows, unless the output is complete */
static int member_end(struct erofs_gzindex_cursor *c)
{
	int err;

	if (c->raw) {
		err = skip_input(c, GZIP_TRAILER);
		if (err)
			return err;
	}
	c->raw = false;
	if (c->out >= c->ix->size)
		return 0;
	if (in_pos(c) >= c->ix->blob_size)
		return cfail(c, -EIO, "the gzip stream ends at output byte %llu, the index says %llu",
			     (unsigned long long)c->out,
			     (unsigned long long)c->ix->size);
	if (inflateReset2(c->z, 16 + MAX_WBITS) != Z_OK)
		return cfail(c, -ENOMEM, "cannot restart inflate");
	return 0;
}

/* decompresses exactly @len bytes of a zstd blob into @dst */
static int produce_zstd(struct erofs_gzindex_cursor *c, uint8_t *dst,
			size_t len)
{
	ZSTD_outBuffer out = { dst, len, 0 };
	z_stream *z = c->z;
	size_t ret;
	int err;

	while (out.pos < out.size) {
		ZSTD_inBuffer in;
		size_t before = out.pos;

		if (!z->avail_in) {
			err = load_at(c, c->in_end);
			if (err)
				return err;
		}
		in = (ZSTD_inBuffer){ z->next_in, z->avail_in, 0 };
		ret = ZSTD_decompressStream(c->zs, &out, &in);
		z->next_in += in.pos;
		z->avail_in -= in.pos;
		c->out += out.pos - before;
		if (ZSTD_isError(ret))
			return cfail(c, -EIO, "the zstd stream is corrupt near byte %llu of the blob: %s",
				     (unsigned long long)in_pos(c),
				     ZSTD_getErrorName(ret));
		if (out.pos < out.size && !ret && in_pos(c) >= c->ix->blob_size)
			return cfail(c, -EIO, "the zstd stream ends at output byte %llu, the index says %llu",
				     (unsigned long long)c->out,
				     (unsigned long long)c->ix->size);
		if (!in.pos && out.pos == before && z->avail_in)
			return cfail(c, -EIO, "zstd is stuck at byte %llu of the blob",
				     (unsigned long long)in_pos(c));
	}
	return 0;
}

/* inflates exactly @len bytes into @dst */
static int produce(struct erofs_gzindex_cursor *c, uint8_t *dst, size_t len)
{
	z_stream *z = c->z;
	int ret, err;

	if (c->ix->codec == EROFS_BLOB_CODEC_ZSTD)
		return produce_zstd(c, dst, len);
	z->next_out = dst;
	z->avail_out = len;
	while (z->avail_out) {
		unsigned int before = z->avail_out, in_before;

		if (!z->avail_in) {
			err = load_at(c, c->in_end);
			if (err)
				return err;
		}
		in_before = z->avail_in;
		ret = inflate(z, Z_NO_FLUSH);
		c->out += before - z->avail_out;
		if (ret == Z_STREAM_END) {
			err = member_end(c);
			if (err)
				return err;
			if (z->avail_out && c->out >= c->ix->size)
				return cfail(c, -EIO, "the gzip stream ends at output byte %llu, the index says %llu",
					     (unsigned long long)c->out,
					     (unsigned long long)c->ix->size);
			continue;
		}
		if (ret != Z_OK && !(ret == Z_BUF_ERROR && !z->avail_in))
			return cfail(c, -EIO, "the gzip stream is corrupt near byte %llu of the blob: %s",
				     (unsigned long long)in_pos(c),
				     z->msg ? z->msg : "bad data");
		if (before == z->avail_out && in_before == z->avail_in &&
		    z->avail_in)
			return cfail(c, -EIO, "inflate is stuck at byte %llu of the blob",
				     (unsigned long long)in_pos(c));
	}
	return 0;
}

/*
 * Output up to @end is inflated before the first checkpoint at or past it
 * begins (the byte holding its first bits included); failing one, the blob
 * ends first.
 */
static uint64_t need_end(const struct erofs_gzindex *ix, uint64_t end)
{
	int64_t i = point_before(ix, end);

	if (i < 0 || ix->points[i].out < end)
		i++;
	if (i >= ix->nr)
		return ix->blob_size;
	return DIV_ROUND_UP(ix->points[i].in_bits, 8);
}

int erofs_gzindex_pread(struct erofs_gzindex_cursor *c, void *buf,
			size_t len, uint64_t off)
{
	int64_t i = point_before(c->ix, off);
	int err;

	c->err[0] = '\0';
	c->need_end = need_end(c->ix, off + len);
	if (off > c->ix->size || len > c->ix->size - off)
		return cfail(c, -ERANGE, "bytes %llu+%zu reach past the end (%llu)",
			     (unsigned long long)off, len,
			     (unsigned long long)c->ix->size);
	if (!len)
		return 0;
	/* continue where the last read stopped, unless a checkpoint is closer */
	if (!c->active || c->out > off ||
	    (i >= 0 && c->ix->points[i].out > c->out)) {
		err = enter(c, i);
		if (err)
			return err;
	}
	while (c->out < off) {
		err = produce(c, c->window,
			      MIN(off - c->out, (uint64_t)EROFS_GZIP_WINDOW_SIZE));
		if (err)
			return err;
	}
	return produce(c, buf, len);
}
