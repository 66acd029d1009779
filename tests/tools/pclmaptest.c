// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The pcluster map (lib/pclmap.c).  Without arguments: unit checks of
 * sorting, merging, alignment, joins, widening and cutting on made-up
 * pclusters.  With an image (and its page alignment): prints every
 * device's finished map, one pcluster a line, "DEV START END [joined]",
 * for the test to compare with dump.erofs -e.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/pclmap.h"

#define KB	1024ULL

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "pclmaptest:%d: check failed: %s\n",	\
			__LINE__, #cond);				\
		failures++;						\
	}								\
} while (0)

static void extend_is(const struct erofs_pclmap *m, uint64_t s, uint64_t e,
		      uint64_t run_max, uint64_t want_s, uint64_t want_e,
		      int line)
{
	erofs_pclmap_extend(m, &s, &e, run_max);
	if (s != want_s || e != want_e) {
		fprintf(stderr, "pclmaptest:%d: extended to [%llu, %llu), want [%llu, %llu)\n",
			line, (unsigned long long)s, (unsigned long long)e,
			(unsigned long long)want_s, (unsigned long long)want_e);
		failures++;
	}
}
#define EXTEND_IS(m, s, e, max, ws, we) extend_is(m, s, e, max, ws, we, __LINE__)

static void unit_checks(void)
{
	struct erofs_pclmap m, m2;

	erofs_pclmap_init(&m, 4096);
	/* a file of three adjacent pclusters, added out of device order */
	CHECK(!erofs_pclmap_add(&m, 64 * KB, 128 * KB, false));
	CHECK(!erofs_pclmap_add(&m, 128 * KB, 160 * KB, true));
	CHECK(!erofs_pclmap_add(&m, 160 * KB, 224 * KB, true));
	/* another file right after it: adjacent, not joined */
	CHECK(!erofs_pclmap_add(&m, 224 * KB, 256 * KB, false));
	/* a pcluster deduplicated: the same range again */
	CHECK(!erofs_pclmap_add(&m, 128 * KB, 160 * KB, false));
	/* sub-block pcluster ends: rounded out to pages, overlap merged */
	CHECK(!erofs_pclmap_add(&m, 1024 * KB + 100, 1030 * KB, false));
	CHECK(!erofs_pclmap_add(&m, 1030 * KB, 1040 * KB, false));
	/* reversed order: the later one read first, joined all the same */
	CHECK(!erofs_pclmap_add(&m, 2048 * KB, 2112 * KB, false));
	CHECK(!erofs_pclmap_add(&m, 1984 * KB, 2048 * KB, true));
	CHECK(erofs_pclmap_add(&m, 10, 10, false) == -EFSCORRUPTED);
	CHECK(erofs_pclmap_add(&m, 0, 8ULL << 30, false) == -EFSCORRUPTED);
	erofs_pclmap_finish(&m);

	CHECK(m.n == 7);
	CHECK(m.p[0].start == 64 * KB && m.p[0].len == 64 * KB);
	CHECK(m.p[1].start == 128 * KB && (m.p[1].flags & EROFS_PCL_JOINED));
	CHECK(m.p[3].start == 224 * KB && !(m.p[3].flags & EROFS_PCL_JOINED));
	CHECK(m.p[4].start == 1024 * KB && m.p[4].len == 16 * KB);
	CHECK(m.p[5].start == 1984 * KB && !(m.p[5].flags & EROFS_PCL_JOINED));
	CHECK(m.p[6].start == 2048 * KB && (m.p[6].flags & EROFS_PCL_JOINED));

	/* no pcluster cut, nothing outside pclusters moved */
	EXTEND_IS(&m, 0, 4 * KB, 0, 0, 4 * KB);
	EXTEND_IS(&m, 64 * KB, 96 * KB, 0, 64 * KB, 128 * KB);
	EXTEND_IS(&m, 100 * KB, 140 * KB, 0, 64 * KB, 160 * KB);
	EXTEND_IS(&m, 128 * KB, 160 * KB, 0, 128 * KB, 160 * KB);
	EXTEND_IS(&m, 300 * KB, 400 * KB, 0, 300 * KB, 400 * KB);
	EXTEND_IS(&m, 1028 * KB, 1032 * KB, 0, 1024 * KB, 1040 * KB);
	/* whole runs when they fit: the run is [64K, 224K), not 256K */
	EXTEND_IS(&m, 130 * KB, 140 * KB, 1024 * KB, 64 * KB, 224 * KB);
	EXTEND_IS(&m, 240 * KB, 250 * KB, 1024 * KB, 224 * KB, 256 * KB);
	EXTEND_IS(&m, 130 * KB, 140 * KB, 64 * KB, 128 * KB, 160 * KB);
	EXTEND_IS(&m, 2050 * KB, 2060 * KB, 1024 * KB, 1984 * KB, 2112 * KB);

	/* where a bounded write stops: never inside a pcluster */
	CHECK(erofs_pclmap_cut(&m, 64 * KB, 200 * KB) == 160 * KB);
	CHECK(erofs_pclmap_cut(&m, 64 * KB, 160 * KB) == 160 * KB);
	CHECK(erofs_pclmap_cut(&m, 170 * KB, 200 * KB) == 200 * KB);
	CHECK(erofs_pclmap_cut(&m, 0, 500 * KB) == 500 * KB);
	CHECK(erofs_pclmap_cut(&m, 0, 100 * KB) == 64 * KB);

	/* two images' maps of one blob: the union */
	erofs_pclmap_init(&m2, 4096);
	CHECK(!erofs_pclmap_add(&m2, 4096 * KB, 4160 * KB, false));
	CHECK(!erofs_pclmap_merge(&m2, &m));
	erofs_pclmap_finish(&m2);
	CHECK(m2.n == m.n + 1);
	erofs_pclmap_free(&m2);

	/* the empty map changes nothing */
	erofs_pclmap_free(&m);
	erofs_pclmap_init(&m, 4096);
	erofs_pclmap_finish(&m);
	EXTEND_IS(&m, 5, 6, 1024 * KB, 5, 6);
	CHECK(erofs_pclmap_cut(&m, 0, 100) == 100);
	erofs_pclmap_free(&m);
}

static int print_image(const char *path, unsigned int align)
{
	struct erofs_msg msg = { .prog = "pclmaptest", .level = EROFS_MSG_WARN };
	struct erofs_pclmap *maps;
	struct erofs_image img;
	uint64_t files;
	unsigned int i;
	size_t j;
	int err;

	err = erofs_image_open(&img, &msg, path);
	if (err)
		return 1;
	maps = calloc(img.nr_devs, sizeof(*maps));
	if (!maps)
		return 1;
	for (i = 0; i < img.nr_devs; i++)
		erofs_pclmap_init(&maps[i], align);
	err = erofs_pclmap_build(&img, maps, &files);
	if (err) {
		fprintf(stderr, "pclmaptest: %s: %s\n", path, strerror(-err));
		return 1;
	}
	fprintf(stderr, "pclmaptest: %llu compressed files\n",
		(unsigned long long)files);
	for (i = 0; i < img.nr_devs; i++) {
		for (j = 0; j < maps[i].n; j++)
			printf("%u %llu %llu%s\n", i,
			       (unsigned long long)maps[i].p[j].start,
			       (unsigned long long)(maps[i].p[j].start +
						    maps[i].p[j].len),
			       maps[i].p[j].flags & EROFS_PCL_JOINED ?
			       " joined" : "");
		erofs_pclmap_free(&maps[i]);
	}
	free(maps);
	erofs_image_close(&img);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return print_image(argv[1], argc > 2 ? atoi(argv[2]) : 1);
	unit_checks();
	if (failures)
		return 1;
	printf("pclmaptest: all checks passed\n");
	return 0;
}
