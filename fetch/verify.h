/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Checking fetched bytes against a blob's digest table before they are
 * written anywhere (erofs-fetch get --image and the daemon), trying the
 * source again and then the next ones when a unit does not match.
 */
#ifndef EROFS_FETCH_VERIFY_H
#define EROFS_FETCH_VERIFY_H

#include <stdint.h>
#include "erofs/digest_table.h"
#include "erofs/source.h"
#include "zran.h"

/* a source's specs tried for one blob: the first one, then its fallbacks */
#define FETCH_MAX_SOURCES	EROFS_SOURCE_MAX_SPECS

/* what a blob without a digest table gets */
enum fetch_unverified {
	FETCH_UNVERIFIED_REFUSE,	/* the default: nothing unchecked */
	FETCH_UNVERIFIED_ALLOW,
};

struct fetch_verify_stats {
	uint64_t units;			/* units that matched their digest */
	uint64_t mismatches[FETCH_MAX_SOURCES];	/* per source, in order */
};

/* where a blob's units come from: one spec of a source, or a layer blob */
struct fetch_try {
	struct erofs_source *src;
	unsigned int spec;		/* which of src's specs */
	struct erofs_zran *zran;	/* or: inflated from this (one try) */
	const char *key;		/* the blob's object key at src */
	char name[128];			/* in messages */
	unsigned int index;		/* into fetch_verify_stats.mismatches */
};

/* one try per spec of @src (or one from @zran): how many */
unsigned int fetch_tries_init(struct fetch_try *tries, struct erofs_source *src,
			      const char *key, struct erofs_zran *zran);

/* "allow" or "refuse"; -EINVAL otherwise */
int fetch_parse_unverified(const char *arg, enum fetch_unverified *out);

/*
 * Checks @len bytes of blob @blob at @off (whole units) in @buf.  A unit
 * that does not match is fetched again from each of @tries in turn
 * (tries[0], the first spec, first: a retry) until one gives
 * the bytes its digest names, which replace it in @buf.  0, or -EBADMSG
 * after saying which unit no source could give; @buf then holds a bad
 * unit and must not be written.  Thread-safe; blocks on the sources.
 */
int fetch_verify_range(const struct erofs_digest_table *t, const char *blob,
		       const struct fetch_try *tries, unsigned int nr,
		       uint64_t off, void *buf, uint64_t len,
		       struct fetch_verify_stats *st,
		       const struct erofs_msg *msg);

/* adds @from into @to; the mismatches added */
uint64_t fetch_verify_stats_add(struct fetch_verify_stats *to,
				const struct fetch_verify_stats *from);

/* counts the units of a range found matching elsewhere */
void fetch_verify_count(struct fetch_verify_stats *st,
			const struct erofs_digest_table *t, uint64_t off,
			uint64_t len);

/* "units_verified N mismatches NAME=N,..." or the JSON members (the
 * mismatches an array in the order of @tries; their sum without) */
void fetch_verify_stats_format(const struct fetch_verify_stats *st,
			       const struct fetch_try *tries, unsigned int nr,
			       bool json, char *buf, size_t size);

#endif
