// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fetched bytes are checked unit by unit against the blob's digest table
 * before anything writes them.  A mismatch is not trusted to be
 * transient or permanent: the same source is asked once more (a proxy
 * may have handed out a torn object), then each fallback source; the
 * unit is failed only when none of them gives the bytes the table names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/defs.h"
#include "verify.h"

int fetch_parse_unverified(const char *arg, enum fetch_unverified *out)
{
	if (!strcmp(arg, "refuse"))
		*out = FETCH_UNVERIFIED_REFUSE;
	else if (!strcmp(arg, "allow"))
		*out = FETCH_UNVERIFIED_ALLOW;
	else
		return -EINVAL;
	return 0;
}

static void count(uint64_t *counter)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static void mismatch(const struct fetch_try *try, const char *blob,
		     uint64_t unit, uint64_t uoff, uint64_t ulen,
		     struct fetch_verify_stats *st, const struct erofs_msg *msg)
{
	count(&st->mismatches[try->index]);
	erofs_warn(msg, "source %s: blob %s unit %llu (bytes %llu-%llu): sha256 does not match the digest table",
		   try->name, blob, (unsigned long long)unit,
		   (unsigned long long)uoff,
		   (unsigned long long)(uoff + ulen - 1));
}

/* a unit that came wrong: asked again of each source in turn */
static int repair_unit(const struct erofs_digest_table *t, const char *blob,
		       const struct fetch_try *tries, unsigned int nr,
		       uint64_t unit, uint8_t *dst,
		       struct fetch_verify_stats *st,
		       const struct erofs_msg *msg)
{
	uint64_t uoff, ulen;
	unsigned int i;
	uint8_t *tmp;
	int err;

	erofs_digest_unit_range(t, unit, &uoff, &ulen);
	mismatch(&tries[0], blob, unit, uoff, ulen, st, msg);
	tmp = malloc(ulen);
	if (!tmp)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		if (tries[i].zran)
			err = erofs_zran_read(tries[i].zran, uoff, ulen, tmp);
		else
			err = erofs_source_read_spec(tries[i].src,
						     tries[i].spec,
						     tries[i].key, uoff, ulen,
						     tmp);
		if (err) {
			erofs_warn(msg, "source %s: blob %s unit %llu: %s",
				   tries[i].name, blob,
				   (unsigned long long)unit, strerror(-err));
			continue;
		}
		if (erofs_digest_unit_matches(t, unit, tmp, ulen)) {
			memcpy(dst, tmp, ulen);
			count(&st->units);
			erofs_info(msg, "blob %s unit %llu: good bytes from source %s",
				   blob, (unsigned long long)unit,
				   tries[i].name);
			free(tmp);
			return 0;
		}
		mismatch(&tries[i], blob, unit, uoff, ulen, st, msg);
	}
	free(tmp);
	erofs_err(msg, "blob %s unit %llu (bytes %llu-%llu): no source gave bytes matching its digest (%u tried, first %s)",
		  blob, (unsigned long long)unit, (unsigned long long)uoff,
		  (unsigned long long)(uoff + ulen - 1), nr, tries[0].name);
	return -EBADMSG;
}

int fetch_verify_range(const struct erofs_digest_table *t, const char *blob,
		       const struct fetch_try *tries, unsigned int nr,
		       uint64_t off, void *buf, uint64_t len,
		       struct fetch_verify_stats *st,
		       const struct erofs_msg *msg)
{
	uint64_t unit, done = 0;
	uint8_t *p = buf;
	int err;

	if (off & (erofs_digest_unit_size(t) - 1))
		return -EINVAL;
	for (unit = off >> t->unit_bits; done < len; unit++) {
		uint64_t uoff, ulen;

		if (unit >= t->nr_units)
			return -EINVAL;
		erofs_digest_unit_range(t, unit, &uoff, &ulen);
		if (len - done < ulen)
			return -EINVAL;
		if (erofs_digest_unit_matches(t, unit, p + done, ulen)) {
			count(&st->units);
		} else {
			err = repair_unit(t, blob, tries, nr, unit, p + done,
					  st, msg);
			if (err)
				return err;
		}
		done += ulen;
	}
	return 0;
}

unsigned int fetch_tries_init(struct fetch_try *tries, struct erofs_source *src,
			      const char *key, struct erofs_zran *zran)
{
	struct erofs_source_stats st;
	unsigned int i, nr;

	if (zran) {
		tries[0] = (struct fetch_try){ .zran = zran, .key = key };
		snprintf(tries[0].name, sizeof(tries[0].name),
			 "blob sha256:%s", erofs_zran_blob(zran));
		return 1;
	}
	nr = MIN(erofs_source_nr_specs(src), (unsigned int)FETCH_MAX_SOURCES);
	for (i = 0; i < nr; i++) {
		tries[i] = (struct fetch_try){ .src = src, .spec = i,
					       .key = key, .index = i };
		if (erofs_source_spec_stats(src, i, &st, tries[i].name,
					    sizeof(tries[i].name)))
			snprintf(tries[i].name, sizeof(tries[i].name),
				 "source %u", i);
	}
	return nr;
}

uint64_t fetch_verify_stats_add(struct fetch_verify_stats *to,
				const struct fetch_verify_stats *from)
{
	uint64_t bad = 0;
	unsigned int i;

	__atomic_add_fetch(&to->units, from->units, __ATOMIC_RELAXED);
	for (i = 0; i < FETCH_MAX_SOURCES; i++) {
		__atomic_add_fetch(&to->mismatches[i], from->mismatches[i],
				   __ATOMIC_RELAXED);
		bad += from->mismatches[i];
	}
	return bad;
}

void fetch_verify_count(struct fetch_verify_stats *st,
			const struct erofs_digest_table *t, uint64_t off,
			uint64_t len)
{
	uint64_t units = len ? ((off + len - 1) >> t->unit_bits) -
			       (off >> t->unit_bits) + 1 : 0;

	__atomic_add_fetch(&st->units, units, __ATOMIC_RELAXED);
}

void fetch_verify_stats_format(const struct fetch_verify_stats *st,
			       const struct fetch_try *tries, unsigned int nr,
			       bool json, char *buf, size_t size)
{
	uint64_t total = 0;
	size_t n;
	unsigned int i;

	/* JSON lists the counts in source order: names need no escaping */
	n = snprintf(buf, size, json ? "\"units_verified\": %llu, \"mismatches\": [" :
		     "units_verified %llu mismatches ",
		     (unsigned long long)__atomic_load_n(&st->units,
							 __ATOMIC_RELAXED));
	for (i = 0; i < nr && n < size; i++)
		n += snprintf(buf + n, size - n, json ? "%s%s%llu" : "%s%s=%llu",
			      i ? "," : "", json ? "" : tries[i].name,
			      (unsigned long long)__atomic_load_n(&st->mismatches[i],
								  __ATOMIC_RELAXED));
	for (i = 0; !nr && i < FETCH_MAX_SOURCES; i++)
		total += __atomic_load_n(&st->mismatches[i], __ATOMIC_RELAXED);
	if (n >= size)
		return;
	if (json)
		snprintf(buf + n, size - n, "]");
	else if (!nr)
		snprintf(buf + n, size - n, "%llu", (unsigned long long)total);
}
