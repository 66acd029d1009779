// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The random-access index (lib/gzindex.c) against a real gzip file, or
 * a zstd file of several frames:
 *
 *   gzindextest GZ SPAN [READS]
 *
 * decompresses GZ once through the tar reader's input stream with the
 * index builder attached, round-trips the index through its stored form,
 * then reads READS (default 200) random ranges and a few edge ranges
 * through a fresh cursor, comparing each with the plain decompression.
 * Prints one line: "points N index BYTES avg_fetch64k BYTES" (the mean
 * compressed bytes a cold 64 KiB read fetches, in pieces), which is what
 * chooses the default span.  Damaging the stored form field by field
 * must be refused by the parser, never crash it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "erofs/defs.h"
#include "erofs/erofs_fs.h"
#include "erofs/gzindex.h"
#include "erofs/istream.h"

static uint32_t codec;

struct blob {
	int fd;
	uint64_t fetched;
};

static int read_blob(void *priv, uint64_t off, size_t len, void *buf)
{
	struct blob *b = priv;

	b->fetched += len;
	return pread(b->fd, buf, len, off) == (ssize_t)len ? 0 : -EIO;
}

static void die(const char *what)
{
	fprintf(stderr, "gzindextest: %s\n", what);
	exit(1);
}

/* decompresses the whole file with the builder attached */
static uint8_t *build(const char *path, uint64_t span,
		      struct erofs_gzindex_builder *gb, uint64_t *size)
{
	struct erofs_msg msg = { .prog = "gzindextest", .level = 1 };
	struct erofs_istream is;
	size_t cap = 1 << 20, len = 0;
	uint8_t *all = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !all)
		die("cannot open the input");
	if (erofs_istream_open(&is, &msg, fd, path,
			       EROFS_ISTREAM_GZIP | EROFS_ISTREAM_ZSTD, -1))
		die("cannot start reading");
	codec = is.codec == EROFS_ISTREAM_CODEC_ZSTD ? EROFS_BLOB_CODEC_ZSTD :
						      EROFS_BLOB_CODEC_GZIP;
	if (
	    erofs_gzindex_builder_init(gb, codec, span, -1) ||
	    erofs_istream_index(&is, gb))
		die("cannot start indexing (neither gzip nor zstd?)");
	do {
		if (cap - len < 65536 && !(all = realloc(all, cap *= 2)))
			die("out of memory");
		n = erofs_istream_read(&is, all + len, 65536);
		if (n < 0)
			die(is.err);
		len += n;
	} while (n);
	if (erofs_istream_finish_raw(&is))
		die("reading to the end");
	erofs_gzindex_finish(gb, is.raw_bytes, len);
	erofs_istream_close(&is);
	close(fd);
	*size = len;
	return all;
}

static int check_read(struct erofs_gzindex_cursor *c, const uint8_t *all,
		      uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len ?: 1);
	int err = erofs_gzindex_pread(c, buf, len, off);

	if (err)
		fprintf(stderr, "gzindextest: read %llu+%zu: %s\n",
			(unsigned long long)off, len, c->err);
	else if (memcmp(buf, all + off, len))
		fprintf(stderr, "gzindextest: read %llu+%zu: wrong bytes\n",
			(unsigned long long)off, len), err = -EIO;
	free(buf);
	return err;
}

/* every single-byte change of the table and header parses or is refused */
static void damage(const uint8_t *enc, uint64_t len, uint32_t nr)
{
	uint64_t table = 40 + (uint64_t)nr * 32, i;
	uint8_t *copy = malloc(len);
	struct erofs_gzindex ix;
	char why[200];

	for (i = 0; i < table && i < len; i++) {
		memcpy(copy, enc, len);
		copy[i] ^= 0x5a;
		if (!erofs_gzindex_decode(copy, len, codec, &ix, why, sizeof(why))) {
			erofs_gzindex_check_windows(&ix, why, sizeof(why));
			erofs_gzindex_free(&ix);
		}
	}
	for (i = 0; i < len; i += 7)
		if (!erofs_gzindex_decode(enc, i, codec, &ix, why, sizeof(why)))
			die("a cut-off index was accepted");
	free(copy);
}

int main(int argc, char **argv)
{
	struct erofs_gzindex_builder gb;
	struct erofs_gzindex ix;
	struct erofs_gzindex_cursor c;
	struct blob blob;
	uint64_t size, enclen, fetched = 0, off, span;
	unsigned int reads = argc > 3 ? atoi(argv[3]) : 200, i, bad = 0, cold = 0;
	uint8_t *all, *enc;
	char why[200];

	if (argc < 3)
		die("usage: gzindextest GZ SPAN [READS]");
	span = strtoull(argv[2], NULL, 0);
	all = build(argv[1], span, &gb, &size);
	enclen = erofs_gzindex_encoded_size(&gb.ix);
	enc = calloc(1, enclen);
	erofs_gzindex_encode(&gb.ix, enc);
	if (erofs_gzindex_decode(enc, enclen, codec, &ix, why, sizeof(why)))
		die(why);
	if (erofs_gzindex_check_windows(&ix, why, sizeof(why)))
		die(why);
	blob.fd = open(argv[1], O_RDONLY);
	srand(42);
	for (i = 0; i < reads && size; i++) {
		size_t len = 1 + rand() % 65536;

		off = ((uint64_t)rand() << 20 ^ rand()) % size;
		if (len > size - off)
			len = size - off;
		/* a cold cursor each time: what one lazy read costs */
		blob.fetched = 0;
		if (erofs_gzindex_cursor_init(&c, &ix, read_blob, &blob))
			die("cursor");
		bad += !!check_read(&c, all, off, len);
		/* and a continuing read right after it */
		if (off + len < size)
			bad += !!check_read(&c, all, off + len,
					    MIN(4096, size - off - len));
		erofs_gzindex_cursor_exit(&c);
		if (len == 65536 || size - off > 65536) {
			fetched += blob.fetched;
			cold++;
		}
	}
	/* the whole output in 1 MiB steps through one cursor, and the ends */
	if (erofs_gzindex_cursor_init(&c, &ix, read_blob, &blob))
		die("cursor");
	for (off = 0; off < size; off += 1 << 20)
		bad += !!check_read(&c, all, off, MIN(1ULL << 20, size - off));
	if (size) {
		bad += !!check_read(&c, all, size - 1, 1);
		bad += !!check_read(&c, all, 0, 1);
	}
	if (!erofs_gzindex_pread(&c, all, 1, size))
		die("a read past the end was accepted"), bad++;
	erofs_gzindex_cursor_exit(&c);
	damage(enc, enclen, ix.nr);
	printf("points %u index %llu avg_fetch64k %llu\n", ix.nr,
	       (unsigned long long)enclen,
	       (unsigned long long)(cold ? fetched / cold : 0));
	erofs_gzindex_free(&ix);
	erofs_gzindex_builder_exit(&gb);
	free(enc);
	free(all);
	return bad ? 1 : 0;
}
