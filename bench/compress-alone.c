// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Benchmark (not a test): the compressors alone, on the files mkfs.erofs
 * would compress, cut into pclusters the way mkfs cuts them -- each
 * extent takes as much input as fits in one pcluster -- with nothing
 * else: no tree walk, no queue, no index, no writes.  bench/mkfs-cpu.sh
 * compares mkfs.erofs' CPU time per input byte with this one's.
 *
 *   compress-alone ALG PCLUSTER_BYTES FILE...    (file names on stdin if none)
 *
 * ALG: lz4hc (LZ4_compress_HC_destSize, level 9), lzma (MicroLZMA, level
 * 6, as large a dictionary as the pcluster), deflate (raw, level 1 as
 * erofs-utils' default; zlib has no output bound, so each pcluster's
 * input is compressed once at the size that filled the last one) and
 * zstd (level 3; the same, for the same reason).  Prints input bytes,
 * output bytes, CPU seconds of the compressor calls and of the whole run.
 *
 * With COMPRESS_OUT=FILE in the environment, each file's pclusters, each
 * padded to whole 4 KiB blocks as it lies in an image, are also written
 * to FILE in one write per file: the least I/O any builder of such an
 * image has, reading the files and writing what they compress to.
 */
#include <lz4hc.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			unsigned char *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p)
				break;
			buf = p;
		}
		got = fread(buf + n, 1, cap - n, f);
		if (!got)
			break;
		n += got;
	}
	fclose(f);
	*len = n;
	return buf;
}

struct ctx {
	const char *alg;
	unsigned int cap;
	void *lz4hc;
	z_stream z;
	ZSTD_CCtx *zstd;
	unsigned char *out, *tmp;
	unsigned char *file_out;	/* COMPRESS_OUT: one file's pclusters */
	size_t file_out_len, file_out_cap;
	double guess;			/* input per output byte, last pcluster */
};

/* one pcluster from @in: returns input bytes taken, *@olen its size */
static size_t one(struct ctx *c, const unsigned char *in, size_t len,
		  size_t *olen)
{
	size_t take;

	if (!strcmp(c->alg, "lz4hc")) {
		int n = len > 1U << 30 ? 1 << 30 : (int)len;

		*olen = LZ4_compress_HC_destSize(c->lz4hc, (const char *)in,
						 (char *)c->out, &n, c->cap, 9);
		return n;
	}
	if (!strcmp(c->alg, "lzma")) {
		lzma_stream s = LZMA_STREAM_INIT;
		lzma_options_lzma o;

		lzma_lzma_preset(&o, 6);
		o.dict_size = c->cap < 4096 ? 4096 : c->cap;
		s.next_in = in;
		s.avail_in = len;
		s.next_out = c->out;
		s.avail_out = c->cap;
		if (lzma_microlzma_encoder(&s, &o) != LZMA_OK ||
		    lzma_code(&s, LZMA_FINISH) != LZMA_STREAM_END) {
			lzma_end(&s);
			return 0;
		}
		*olen = s.total_out;
		take = s.total_in;
		lzma_end(&s);
		return take;
	}
	/* deflate, zstd: one call on the input the last ratio predicts */
	take = c->guess * c->cap;
	if (take > len)
		take = len;
	if (take < 1)
		take = len < 4096 ? len : 4096;
	if (!strcmp(c->alg, "deflate")) {
		deflateReset(&c->z);
		c->z.next_in = (unsigned char *)in;
		c->z.avail_in = take;
		c->z.next_out = c->tmp;
		c->z.avail_out = deflateBound(&c->z, take);
		deflate(&c->z, Z_FINISH);
		*olen = c->z.total_out;
	} else {
		*olen = ZSTD_compressCCtx(c->zstd, c->tmp,
					  ZSTD_compressBound(take), in, take, 3);
	}
	if (*olen)
		c->guess = (double)take / *olen;
	return take;
}

/* appends one pcluster of @len bytes at @p, padded to whole blocks */
static int keep(struct ctx *c, const unsigned char *p, size_t len)
{
	size_t padded = (len + 4095) & ~(size_t)4095;

	if (c->file_out_len + padded > c->file_out_cap) {
		size_t cap = (c->file_out_len + padded) * 2;
		unsigned char *q = realloc(c->file_out, cap);

		if (!q)
			return -1;
		c->file_out = q;
		c->file_out_cap = cap;
	}
	memcpy(c->file_out + c->file_out_len, p, len);
	memset(c->file_out + c->file_out_len + len, 0, padded - len);
	c->file_out_len += padded;
	return 0;
}

int main(int argc, char **argv)
{
	double t0 = cpu_now(), tc = 0, t;
	unsigned long long in_bytes = 0, out_bytes = 0;
	const char *out_path = getenv("COMPRESS_OUT");
	struct ctx c = { 0 };
	char line[4096];
	int i = 3, ofd = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: %s lz4hc|lzma|deflate|zstd PCLUSTER_BYTES [FILE...]\n",
			argv[0]);
		return 2;
	}
	c.alg = argv[1];
	c.cap = strtoul(argv[2], NULL, 0);
	c.guess = 3;
	c.lz4hc = malloc(LZ4_sizeofStateHC());
	c.zstd = ZSTD_createCCtx();
	deflateInit2(&c.z, 1, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
	c.out = malloc(c.cap);
	/* the largest input one call takes, bounded: ratios stay under 64 */
	c.tmp = malloc(ZSTD_compressBound((size_t)c.cap * 64) +
		       deflateBound(&c.z, (unsigned long)c.cap * 64));
	if (!c.lz4hc || !c.zstd || !c.out || !c.tmp)
		return 1;
	if (out_path) {
		ofd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (ofd < 0) {
			perror(out_path);
			return 1;
		}
	}
	for (;;) {
		const char *path;
		unsigned char *buf;
		size_t len, pos, olen, n;

		if (argc > 3) {
			if (i >= argc)
				break;
			path = argv[i++];
		} else {
			if (!fgets(line, sizeof(line), stdin))
				break;
			line[strcspn(line, "\n")] = '\0';
			path = line;
		}
		buf = read_file(path, &len);
		if (!buf)
			continue;
		t = cpu_now();
		for (pos = 0; pos < len; pos += n) {
			if (c.guess * c.cap > (double)c.cap * 64)
				c.guess = 64;
			n = one(&c, buf + pos, len - pos, &olen);
			if (!n)
				break;
			out_bytes += olen;
			if (ofd >= 0 && keep(&c, !strcmp(c.alg, "lz4hc") ||
					     !strcmp(c.alg, "lzma") ?
					     c.out : c.tmp, olen))
				return 1;
		}
		tc += cpu_now() - t;
		if (ofd >= 0 && c.file_out_len) {
			if (write(ofd, c.file_out, c.file_out_len) !=
			    (ssize_t)c.file_out_len) {
				perror(out_path);
				return 1;
			}
			c.file_out_len = 0;
		}
		in_bytes += len;
		free(buf);
	}
	printf("alg %s pcluster %u in %llu out %llu compress_cpu %.3f total_cpu %.3f\n",
	       c.alg, c.cap, in_bytes, out_bytes, tc, cpu_now() - t0);
	return 0;
}
