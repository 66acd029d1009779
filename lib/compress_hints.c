// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --compress-hints: per-path compression settings, one rule a line, in
 * erofs-utils' grammar:
 *
 *	PCLUSTER_BYTES [ALGORITHM_INDEX] REGEX
 *
 * The first rule whose POSIX extended REGEX matches a file's path
 * (relative to the source, no leading '/') gives its pcluster size and
 * its entry in the -z list (0 when left out); a size of 0 stores the file
 * uncompressed.  With an index, REGEX is the rest of the line after the
 * one blank that ends the index, so it may hold blanks.  Lines starting
 * with # and blank lines are ignored; a size that is not whole blocks
 * drops its line with a warning, as erofs-utils does.
 */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/compress.h"
#include "erofs/erofs_fs.h"
#include "erofs/print.h"
#include "erofs/util.h"

#define BLANKS	" \t"

static int hint_error(const struct erofs_msg *msg, const char *path,
		      unsigned int line, const char *why)
{
	erofs_err(msg, "%s:%u: %s", path, line, why);
	return -EINVAL;
}

/*
 * Splits @text into its size, optional index and regex: with nothing but
 * blanks after the second column, that column is the regex.
 */
static int split_hint(char *text, char **size_s, char **alg_s, char **re)
{
	char *p = text, *second, *rest;

	*size_s = p;
	p += strcspn(p, BLANKS);
	if (!*p)
		return -EINVAL;
	*p++ = '\0';
	second = p + strspn(p, BLANKS);
	rest = second + strcspn(second, BLANKS);
	if (rest == second)
		return -EINVAL;
	if (*rest)
		*rest++ = '\0';
	if (!rest[strspn(rest, BLANKS)]) {
		*alg_s = NULL;
		*re = second;
	} else {
		*alg_s = second;
		*re = rest;
	}
	return 0;
}

/* 1: a rule, 0: a line to skip (size not whole blocks), else -errno */
static int parse_hint(struct erofs_compress_opts *co, unsigned int blkszbits,
		      char *text, struct erofs_compress_hint *h,
		      const char **why)
{
	char *size_s, *re, *alg_s;
	uint64_t size;
	long long alg = 0;
	regex_t *rx;

	if (split_hint(text, &size_s, &alg_s, &re)) {
		*why = "expected: PCLUSTER_BYTES [ALGORITHM_INDEX] REGEX";
		return -EINVAL;
	}
	if (erofs_parse_size(size_s, &size) ||
	    size > Z_EROFS_PCLUSTER_MAX_SIZE ||
	    (size >> blkszbits) > 2047) {
		*why = "pcluster size must be whole blocks, at most 1 MiB";
		return -EINVAL;
	}
	if (alg_s && (erofs_parse_long(alg_s, 0, EROFS_MAX_COMPR_SPECS - 1,
				       &alg) || (unsigned int)alg >= co->nr_specs)) {
		*why = "algorithm index is not an entry of the -z list (this column comes before REGEX)";
		return -EINVAL;
	}
	if (size % (1U << blkszbits)) {
		*why = "pcluster size is not whole blocks: line ignored";
		return 0;
	}
	rx = malloc(sizeof(*rx));
	if (!rx)
		return -ENOMEM;
	if (regcomp(rx, re, REG_EXTENDED | REG_NOSUB)) {
		free(rx);
		*why = "invalid regular expression";
		return -EINVAL;
	}
	h->regex = rx;
	h->pclusterblks = size >> blkszbits;
	h->spec = alg;
	return 1;
}

int erofs_compress_hints_load(struct erofs_compress_opts *co,
			      unsigned int blkszbits, const char *path,
			      const struct erofs_msg *msg)
{
	struct erofs_compress_hint *arr;
	unsigned int lineno = 0;
	char *line = NULL, *p;
	const char *why;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		erofs_err(msg, "%s: cannot open compress hints: %s", path,
			  strerror(errno));
		return err;
	}
	while (!err && getline(&line, &cap, f) > 0) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
			continue;
		arr = realloc(co->hints, (co->nr_hints + 1) * sizeof(*arr));
		if (!arr) {
			err = -ENOMEM;
			break;
		}
		co->hints = arr;
		p[strcspn(p, "\n")] = '\0';
		err = parse_hint(co, blkszbits, p, &arr[co->nr_hints], &why);
		if (err == -EINVAL)
			hint_error(msg, path, lineno, why);
		else if (!err)
			erofs_warn(msg, "%s:%u: %s", path, lineno, why);
		if (err > 0)
			co->nr_hints++;
		if (err >= 0)
			err = 0;
	}
	free(line);
	fclose(f);
	return err;
}

uint32_t erofs_compress_max_pclusterblks(const struct erofs_compress_opts *co)
{
	uint32_t max = co->pclusterblks;
	unsigned int i;

	for (i = 0; i < co->nr_hints; i++)
		max = MAX(max, co->hints[i].pclusterblks);
	return max;
}
