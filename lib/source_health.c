// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Two small policies of the fetch sources, kept apart from the queueing
 * in source.c so that each reads on its own: the health of a spec (when
 * a failing mirror is skipped, and for how long) and the token bucket
 * that paces background prefetch.  Neither locks: source.c calls them
 * under its own lock.
 */
#include "source_priv.h"

bool erofs_source_health_backing_off(const struct erofs_source_health *h,
				     uint64_t now)
{
	return h->until_us > now;
}

unsigned int erofs_source_health_update(struct erofs_source_health *h,
					bool failed, uint64_t now)
{
	unsigned int ms;

	if (!failed) {
		h->fails = h->trips = 0;
		h->until_us = 0;
		return 0;
	}
	/* a probe after a back-off that fails again backs off longer */
	if (++h->fails < EROFS_SOURCE_HEALTH_FAILURES && !h->trips)
		return 0;
	ms = EROFS_SOURCE_HEALTH_BACKOFF_MS << MIN(h->trips, 16U);
	ms = MIN(ms, (unsigned int)EROFS_SOURCE_HEALTH_BACKOFF_MAX_MS);
	h->trips++;
	h->fails = 0;
	h->until_us = now + ms * 1000ULL;
	return ms;
}

void erofs_source_bucket_init(struct erofs_source_bucket *b, uint64_t rate,
			      uint64_t now)
{
	b->rate = MIN(rate, (uint64_t)INT64_MAX);
	b->tokens = b->rate;		/* a second's worth to start with */
	b->last_us = now;
}

/* at most a second's worth is saved up */
static void bucket_refill(struct erofs_source_bucket *b, uint64_t now)
{
	uint64_t add = (now - b->last_us) * b->rate / 1000000;

	if (!add)
		return;		/* keep the remainder for later */
	b->last_us = now;
	b->tokens = MIN(b->tokens + (int64_t)MIN(add, b->rate),
			(int64_t)b->rate);
}

uint64_t erofs_source_bucket_take(struct erofs_source_bucket *b, size_t len,
				  uint64_t now)
{
	/* more than a second's budget waits for a full bucket ... */
	int64_t need = MIN((uint64_t)len, b->rate);

	if (!b->rate)
		return 0;
	bucket_refill(b, now);
	if (b->tokens < need)
		return (uint64_t)(need - b->tokens) * 1000000 / b->rate + 1;
	/* ... and leaves a debt that the next ones wait for */
	b->tokens -= len;
	return 0;
}
