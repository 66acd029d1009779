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

/* sources tried for one blob: the first one, then the fallbacks */
#define FETCH_MAX_SOURCES	8

/* what a blob without a digest table gets */
enum fetch_unverified {
	FETCH_UNVERIFIED_REFUSE,	/* the default: nothing unchecked */
	FETCH_UNVERIFIED_ALLOW,
};

struct fetch_verify_stats {
	uint64_t units;			/* units that matched their digest */
	uint64_t mismatches[FETCH_MAX_SOURCES];	/* per source, in order */
};

/* one source to fetch a blob's units from */
struct fetch_try {
	struct erofs_source *src;
	const char *name;		/* in messages */
	const char *key;		/* the blob's object key there */
	unsigned int index;		/* into fetch_verify_stats.mismatches */
};

/* "allow" or "refuse"; -EINVAL otherwise */
int fetch_parse_unverified(const char *arg, enum fetch_unverified *out);

/*
 * Checks @len bytes of blob @blob at @off (whole units) in @buf.  A unit
 * that does not match is fetched again from each of @tries in turn
 * (tries[0], the source it came from, first: a retry) until one gives
 * the bytes its digest names, which replace it in @buf.  0, or -EBADMSG
 * after saying which unit no source could give; @buf then holds a bad
 * unit and must not be written.  Thread-safe; blocks on the sources.
 */
int fetch_verify_range(const struct erofs_digest_table *t, const char *blob,
		       const struct fetch_try *tries, unsigned int nr,
		       uint64_t off, void *buf, uint64_t len,
		       struct fetch_verify_stats *st,
		       const struct erofs_msg *msg);

/* counts the units of a range found matching elsewhere */
void fetch_verify_count(struct fetch_verify_stats *st,
			const struct erofs_digest_table *t, uint64_t off,
			uint64_t len);

/* "units_verified N mismatches NAME=N,..." or the JSON members (the
 * mismatches an array in source order) */
void fetch_verify_stats_format(const struct fetch_verify_stats *st,
			       const char *const *names, unsigned int nr,
			       bool json, char *buf, size_t size);

#endif
