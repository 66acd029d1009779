// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The table of stored extents for -E dedupe.
 *
 * An extent is found by a rolling hash of its first window of bytes, so
 * that the data being stored can be searched at every byte position for
 * the start of any extent stored before.  Candidates whose hash agrees
 * are compared byte by byte: a reference is only ever made to data that
 * is equal.  Entries are kept in insertion order and chained newest
 * first, so the newest can be forgotten again (a file that ends up
 * stored uncompressed gives its blocks back).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/zdedupe.h"

#define NO_ENTRY	UINT32_MAX

struct dedupe_entry {
	uint64_t hash;			/* rolling hash of the first window */
	uint32_t next;			/* older entry in the same bucket */
	uint32_t len;
	uint8_t *data;
	uint64_t blkaddr;
	uint32_t nblocks;
	bool partial;
};

struct z_erofs_dedupe {
	unsigned int window;
	uint64_t budget, used;		/* bytes of data remembered */
	uint64_t byte_hash[256];	/* what each byte adds to a window */
	uint64_t out_factor;		/* MULT^(window-1): the byte leaving */
	struct dedupe_entry *ent;
	uint32_t nr, cap;
	uint32_t *bucket;		/* newest entry of each bucket */
	uint32_t bucket_bits;
};

/* an odd multiplier: the window's hash is a polynomial in it, mod 2^64 */
#define ROLL_MULT	0x100000001b3ULL

/* splitmix64: fixed, well-mixed values for the byte table */
static uint64_t mix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t window_hash(const struct z_erofs_dedupe *d, const uint8_t *p)
{
	uint64_t h = 0;
	unsigned int i;

	for (i = 0; i < d->window; i++)
		h = h * ROLL_MULT + d->byte_hash[p[i]];
	return h;
}

static uint64_t roll(const struct z_erofs_dedupe *d, uint64_t h,
		     uint8_t out, uint8_t in)
{
	return (h - d->byte_hash[out] * d->out_factor) * ROLL_MULT +
	       d->byte_hash[in];
}

static uint32_t bucket_of(const struct z_erofs_dedupe *d, uint64_t h)
{
	return (h * 0x9e3779b97f4a7c15ULL) >> (64 - d->bucket_bits);
}

struct z_erofs_dedupe *z_erofs_dedupe_create(unsigned int window,
					     uint64_t budget)
{
	struct z_erofs_dedupe *d = calloc(1, sizeof(*d));
	uint64_t state = 0;
	unsigned int i;

	if (!d)
		return NULL;
	d->window = window;
	d->budget = budget;
	for (i = 0; i < 256; i++)
		d->byte_hash[i] = mix64(&state);
	d->out_factor = 1;
	for (i = 1; i < window; i++)
		d->out_factor *= ROLL_MULT;
	d->bucket_bits = 10;
	d->bucket = malloc(sizeof(*d->bucket) << d->bucket_bits);
	if (!d->bucket) {
		free(d);
		return NULL;
	}
	memset(d->bucket, 0xff, sizeof(*d->bucket) << d->bucket_bits);
	return d;
}

void z_erofs_dedupe_destroy(struct z_erofs_dedupe *d)
{
	if (!d)
		return;
	z_erofs_dedupe_forget(d, 0);
	free(d->ent);
	free(d->bucket);
	free(d);
}

/* twice the buckets once they hold two entries each on average */
static int grow_buckets(struct z_erofs_dedupe *d)
{
	unsigned int bits = d->bucket_bits + 1;
	uint32_t *b = malloc(sizeof(*b) << bits), i;

	if (!b)
		return -ENOMEM;
	memset(b, 0xff, sizeof(*b) << bits);
	d->bucket_bits = bits;
	free(d->bucket);
	d->bucket = b;
	/* oldest first, so that each chain stays newest first */
	for (i = 0; i < d->nr; i++) {
		uint32_t k = bucket_of(d, d->ent[i].hash);

		d->ent[i].next = b[k];
		b[k] = i;
	}
	return 0;
}

int z_erofs_dedupe_insert(struct z_erofs_dedupe *d, const uint8_t *data,
			  uint32_t len, uint64_t blkaddr, uint32_t nblocks,
			  bool partial)
{
	struct dedupe_entry *e;
	uint32_t k;

	if (len < d->window || d->used + len > d->budget)
		return 0;
	if (d->nr == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 256;

		e = realloc(d->ent, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->ent = e;
		d->cap = cap;
	}
	if (d->nr >= (2U << d->bucket_bits) && grow_buckets(d))
		return -ENOMEM;
	e = &d->ent[d->nr];
	e->data = malloc(len);
	if (!e->data)
		return -ENOMEM;
	memcpy(e->data, data, len);
	e->len = len;
	e->hash = window_hash(d, data);
	e->blkaddr = blkaddr;
	e->nblocks = nblocks;
	e->partial = partial;
	k = bucket_of(d, e->hash);
	e->next = d->bucket[k];
	d->bucket[k] = d->nr++;
	d->used += len;
	return 0;
}

uint32_t z_erofs_dedupe_count(const struct z_erofs_dedupe *d)
{
	return d->nr;
}

void z_erofs_dedupe_forget(struct z_erofs_dedupe *d, uint32_t count)
{
	while (d->nr > count) {
		struct dedupe_entry *e = &d->ent[--d->nr];

		/* the newest entry heads its chain */
		d->bucket[bucket_of(d, e->hash)] = e->next;
		d->used -= e->len;
		free(e->data);
	}
}

static uint32_t common_prefix(const uint8_t *a, const uint8_t *b, uint32_t max)
{
	uint32_t n = 0;

	while (n < max && a[n] == b[n])
		n++;
	return n;
}

/*
 * Candidates compared at one position at most: equal data stored many
 * times (runs of zeros) would otherwise be compared again and again.
 */
#define MAX_CANDIDATES	8

/*
 * The longest remembered extent @pos starts like that @accept takes;
 * else false, with *@seen the most equal bytes a refused one had there.
 */
static bool hit_at(const struct z_erofs_dedupe *d, const uint8_t *buf,
		   uint32_t buflen, uint32_t pos, uint64_t h,
		   z_erofs_dedupe_accept_t accept, void *ctx,
		   struct z_erofs_dedupe_hit *hit, uint32_t *seen)
{
	struct z_erofs_dedupe_hit best = { 0 }, cand;
	unsigned int tried = 0;
	uint32_t i;

	for (i = d->bucket[bucket_of(d, h)];
	     i != NO_ENTRY && tried < MAX_CANDIDATES; i = d->ent[i].next) {
		const struct dedupe_entry *e = &d->ent[i];
		uint32_t max = MIN(e->len, buflen - pos);

		if (e->hash != h)
			continue;
		tried++;
		if (memcmp(buf + pos, e->data, d->window))
			continue;
		cand = (struct z_erofs_dedupe_hit){
			.pos = pos,
			.len = d->window + common_prefix(buf + pos + d->window,
						e->data + d->window,
						max - d->window),
			.blkaddr = e->blkaddr,
			.nblocks = e->nblocks,
			.stored_len = e->len,
		};
		cand.partial = e->partial || cand.len < e->len;
		if (cand.len <= best.len)
			continue;
		if (accept(ctx, &cand))
			best = cand;
		else
			*seen = MAX(*seen, cand.len);
	}
	if (!best.len)
		return false;
	*hit = best;
	return true;
}

bool z_erofs_dedupe_find(const struct z_erofs_dedupe *d, const uint8_t *buf,
			 uint32_t buflen, uint32_t from, uint32_t to,
			 z_erofs_dedupe_accept_t accept, void *ctx,
			 struct z_erofs_dedupe_hit *hit)
{
	uint32_t pos = from, seen;
	uint64_t h;

	if (!d->nr || buflen < d->window)
		return false;
	to = MIN(to, buflen - d->window + 1);
	if (from >= to)
		return false;
	h = window_hash(d, buf + pos);
	while (1) {
		seen = 0;
		if (d->bucket[bucket_of(d, h)] != NO_ENTRY &&
		    hit_at(d, buf, buflen, pos, h, accept, ctx, hit, &seen))
			return true;
		/*
		 * Data equal to a stored extent for @seen bytes but refused:
		 * positions inside it would find the same data shifted,
		 * shorter still.  Search on past it.
		 */
		if (seen > d->window) {
			pos += seen - d->window;
			if (pos >= to)
				return false;
			h = window_hash(d, buf + pos);
			continue;
		}
		if (pos + 1 >= to)
			return false;
		h = roll(d, h, buf[pos], buf[pos + d->window]);
		pos++;
	}
}
