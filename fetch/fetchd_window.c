// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The demand window of one object (seed 002: keep populated data between
 * a low and a high watermark ahead of use, refilled in the background,
 * grown after an allocation had to wait).  After each READ the daemon
 * looks at how much is populated right after it; below the low watermark
 * a job fills up to the window.  A READ that lands in the range a window
 * job was still filling means the reader waited for us: the window
 * doubles, up to the maximum.  It never shrinks: a reader that once
 * outran the prefetch will likely do so again.
 *
 * Pure policy, no locks and no I/O: the caller holds the object's lock.
 */
#include "daemon.h"

void fetchd_window_init(struct fetchd_window *w, uint64_t high)
{
	w->demand_end = 0;
	w->window = high;
	w->queued_to = 0;
	w->prefetching = false;
}

bool fetchd_window_step(struct fetchd_window *w, uint64_t low,
			uint64_t max_window, uint64_t size, uint64_t off,
			uint64_t end, uint64_t ahead, uint64_t *from,
			uint64_t *to)
{
	bool waited = false;

	*from = *to = 0;
	if (w->prefetching && off >= w->demand_end && off < w->queued_to) {
		waited = true;
		w->window = MIN(w->window * 2, max_window);
	}
	w->demand_end = end;
	if (!w->prefetching && ahead < low && end < size) {
		*from = end + ahead;
		*to = MIN(end + w->window, size);
		w->queued_to = *to;
		w->prefetching = *to > *from;
		if (!w->prefetching)
			*from = *to = 0;
	}
	return waited;
}

void fetchd_window_done(struct fetchd_window *w)
{
	w->prefetching = false;
}
