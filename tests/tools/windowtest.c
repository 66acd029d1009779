// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit checks of the daemon's prefetch window (fetch/fetchd_window.c):
 * a sequential reader that keeps up never grows it; one that outruns the
 * background job doubles it up to the maximum and never shrinks it; no
 * job is queued while one runs, above the low watermark, or at EOF.
 * Exits non-zero on the first mismatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../../fetch/daemon.h"

#define KB	1024ULL
#define MB	(1024ULL * KB)

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "windowtest:%d: check failed: %s\n",	\
			__LINE__, #cond);				\
		failures++;						\
	}								\
} while (0)

static void keeps_up(void)
{
	struct fetchd_window w;
	uint64_t from, to, off;
	bool waited;

	fetchd_window_init(&w, 4 * MB);
	/* the first READ finds nothing ahead: a job for the whole window */
	waited = fetchd_window_step(&w, 1 * MB, 64 * MB, 100 * MB, 0, 64 * KB,
				    0, &from, &to);
	CHECK(!waited && from == 64 * KB && to == 64 * KB + 4 * MB);
	/* while it runs, no second job, even below the low watermark (a
	 * READ elsewhere, past what it fills, did not wait for it) */
	waited = fetchd_window_step(&w, 1 * MB, 64 * MB, 100 * MB, 50 * MB,
				    50 * MB + 64 * KB, 0, &from, &to);
	CHECK(!waited && !to);
	fetchd_window_done(&w);
	/* the job is done; plenty populated ahead: nothing to do */
	for (off = 64 * KB; off < 2 * MB; off += 64 * KB) {
		waited = fetchd_window_step(&w, 1 * MB, 64 * MB, 100 * MB, off,
					    off + 64 * KB,
					    64 * KB + 4 * MB - off - 64 * KB,
					    &from, &to);
		CHECK(!waited && !to);
	}
	/* below the low watermark again: refilled from where data ends */
	off = 3 * MB + 512 * KB;
	waited = fetchd_window_step(&w, 1 * MB, 64 * MB, 100 * MB, off,
				    off + 64 * KB, 512 * KB, &from, &to);
	CHECK(!waited && from == off + 64 * KB + 512 * KB &&
	      to == off + 64 * KB + 4 * MB);
	CHECK(w.window == 4 * MB);
}

static void outruns(void)
{
	struct fetchd_window w;
	uint64_t from, to, expect = 4 * MB, off = 0;
	int i;

	fetchd_window_init(&w, 4 * MB);
	fetchd_window_step(&w, 1 * MB, 16 * MB, 1024 * MB, off, off + 64 * KB,
			   0, &from, &to);
	for (i = 0; i < 6; i++) {
		/* the reader lands inside the range still being filled */
		off += 128 * KB;
		CHECK(fetchd_window_step(&w, 1 * MB, 16 * MB, 1024 * MB, off,
					 off + 64 * KB, 0, &from, &to));
		expect = expect * 2 > 16 * MB ? 16 * MB : expect * 2;
		CHECK(w.window == expect);
		fetchd_window_done(&w);
		/* the next job is as wide as the grown window */
		off += 64 * KB;
		fetchd_window_step(&w, 1 * MB, 16 * MB, 1024 * MB, off,
				   off + 64 * KB, 0, &from, &to);
		CHECK(to - (off + 64 * KB) == w.window);
	}
	CHECK(w.window == 16 * MB);	/* capped, and never shrinks */
}

static void at_eof(void)
{
	struct fetchd_window w;
	uint64_t from, to;

	fetchd_window_init(&w, 4 * MB);
	fetchd_window_step(&w, 1 * MB, 64 * MB, 3 * MB, 2 * MB, 3 * MB, 0,
			   &from, &to);
	CHECK(!to);			/* nothing after the last byte */
	fetchd_window_step(&w, 1 * MB, 64 * MB, 3 * MB, 0, 1 * MB, 0,
			   &from, &to);
	CHECK(from == 1 * MB && to == 3 * MB);	/* clipped to the size */
}

int main(void)
{
	keeps_up();
	outruns();
	at_eof();
	if (failures)
		return 1;
	printf("windowtest: all checks passed\n");
	return 0;
}
