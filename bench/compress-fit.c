// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Benchmark (not a test): what fitting deflate or zstd output to a
 * pcluster costs.  Each file is cut into pclusters twice, file by file in
 * turns: by this tree's compressors (erofs_compress_destsize(), the
 * ratio carried within the file as mkfs carries it within a segment),
 * and by one library call per pcluster at the input the last ratio
 * predicts, output unbounded (as bench/compress-alone.c).  Prints the CPU
 * of both and the blocks each takes (fitted: whole blocks per pcluster,
 * or the raw blocks when that is fewer).  On a shared machine CPU time
 * varies by a third; instruction counts do not:
 *
 *   gcc -O2 -include config.h -Iinclude -Ilib -o fit bench/compress-fit.c \
 *	lib/compressor*.c lib/util.c -llz4 -llzma -lz -lzstd -luuid
 *   MODE=fit valgrind --tool=callgrind --toggle-collect=run_fit ./fit zstd 65536 <list
 *   MODE=alone valgrind --tool=callgrind --toggle-collect=run_alone ./fit zstd 65536 <list
 *
 * (file names on stdin, one a line; MODE unset runs both).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>
#include <zstd.h>
#include "erofs/compressor.h"

#define BLKSZ		4096U
#define MAX_EXTENT	(2047ULL * BLKSZ)

struct bench {
	const char *alg;
	unsigned int cap;
	struct erofs_compressor c;
	ZSTD_CCtx *zstd;
	z_stream z;
	unsigned char *dst, *tmp;
	double guess;
	unsigned long long fit_blocks, alone_blocks, calls;
};

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long blocks(unsigned long long bytes)
{
	return (bytes + BLKSZ - 1) / BLKSZ;
}

__attribute__((noinline)) void run_fit(struct bench *b,
				       const unsigned char *in, size_t len)
{
	struct erofs_compr_fit fit = { 0 };
	size_t pos = 0;

	while (pos < len) {
		unsigned int n = len - pos > MAX_EXTENT ? MAX_EXTENT : len - pos;
		int cl = erofs_compress_destsize(&b->c, in + pos, &n, b->dst,
						 b->cap, &fit);

		b->calls++;
		if (cl <= 0 || !n) {
			n = len - pos < b->cap ? len - pos : b->cap;
			b->fit_blocks += blocks(n);
		} else {
			b->fit_blocks += blocks(cl) < blocks(n) ? blocks(cl) :
								  blocks(n);
		}
		pos += n;
	}
}

__attribute__((noinline)) void run_alone(struct bench *b,
					 const unsigned char *in, size_t len)
{
	size_t pos, take, out;

	for (pos = 0; pos < len; pos += take) {
		take = b->guess * b->cap;
		if (take > len - pos)
			take = len - pos;
		if (!take)
			take = 1;
		if (b->alg[0] == 'z') {
			out = ZSTD_compressCCtx(b->zstd, b->tmp,
						ZSTD_compressBound(take),
						in + pos, take, 3);
		} else {
			deflateReset(&b->z);
			b->z.next_in = (unsigned char *)in + pos;
			b->z.avail_in = take;
			b->z.next_out = b->tmp;
			b->z.avail_out = deflateBound(&b->z, take);
			deflate(&b->z, Z_FINISH);
			out = b->z.total_out;
		}
		if (out)
			b->guess = (double)take / out;
		if (b->guess > 64)
			b->guess = 64;
		b->alone_blocks += blocks(out);
	}
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 &&
	    !fseek(f, 0, SEEK_SET) && (buf = malloc(n ? n : 1)))
		*len = fread(buf, 1, n, f);
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct bench b = { .guess = 3 };
	struct erofs_compr_spec spec;
	const char *why, *mode = getenv("MODE");
	double t, tfit = 0, talone = 0;
	char line[4096];

	if (argc != 3 || (strcmp(argv[1], "zstd") && strcmp(argv[1], "deflate"))) {
		fprintf(stderr, "usage: %s zstd|deflate PCLUSTER_BYTES <list\n", argv[0]);
		return 2;
	}
	b.alg = argv[1];
	b.cap = strtoul(argv[2], NULL, 0);
	if (erofs_compr_spec_parse(b.alg[0] == 'z' ? "zstd,3" : "deflate,1",
				   &spec, &why))
		return 1;
	spec.dict_size = erofs_compr_default_dict(erofs_compressor_ops(spec.alg),
						  b.cap);
	b.zstd = ZSTD_createCCtx();
	b.dst = malloc(b.cap);
	b.tmp = malloc(ZSTD_compressBound(64ULL * b.cap) + (1 << 20));
	if (erofs_compressor_init(&b.c, &spec) || !b.zstd || !b.dst || !b.tmp ||
	    deflateInit2(&b.z, 1, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return 1;
	while (fgets(line, sizeof(line), stdin)) {
		unsigned char *in;
		size_t len = 0;

		line[strcspn(line, "\n")] = '\0';
		in = read_file(line, &len);
		if (!in)
			continue;
		t = cpu_now();
		if (!mode || !strcmp(mode, "fit"))
			run_fit(&b, in, len);
		tfit += cpu_now() - t;
		t = cpu_now();
		if (!mode || !strcmp(mode, "alone"))
			run_alone(&b, in, len);
		talone += cpu_now() - t;
		free(in);
	}
	printf("%s %u: fitted %.3f s, %llu blocks in %llu pclusters; alone %.3f s, %llu blocks\n",
	       b.alg, b.cap, tfit, b.fit_blocks, b.calls, talone,
	       b.alone_blocks);
	erofs_compressor_exit(&b.c);
	return 0;
}
