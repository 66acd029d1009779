// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --compress-hints: per-path compression settings, one rule a line:
 *
 *	PCLUSTER_BYTES REGEX [ALGORITHM_INDEX]
 *
 * The first rule whose POSIX extended REGEX matches a file's path
 * (relative to the source) gives its pcluster size and its entry in the
 * -z list (0 when left out).  Blank lines and lines starting with # are
 * ignored.
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

static int hint_error(const struct erofs_msg *msg, const char *path,
		      unsigned int line, const char *why)
{
	erofs_err(msg, "%s:%u: %s", path, line, why);
	return -EINVAL;
}

static int parse_hint(struct erofs_compress_opts *co, unsigned int blkszbits,
		      char *text, struct erofs_compress_hint *h,
		      const char **why)
{
	char *size_s, *re, *alg_s, *save = NULL;
	uint64_t size;
	long long alg = 0;
	regex_t *rx;

	size_s = strtok_r(text, " \t\n", &save);
	re = strtok_r(NULL, " \t\n", &save);
	alg_s = strtok_r(NULL, " \t\n", &save);
	if (!re || strtok_r(NULL, " \t\n", &save)) {
		*why = "expected: PCLUSTER_BYTES REGEX [ALGORITHM_INDEX]";
		return -EINVAL;
	}
	if (erofs_parse_size(size_s, &size) || !size ||
	    size % (1U << blkszbits) || size > Z_EROFS_PCLUSTER_MAX_SIZE ||
	    (size >> blkszbits) > 2047) {
		*why = "pcluster size must be whole blocks, at most 1 MiB";
		return -EINVAL;
	}
	if (alg_s && erofs_parse_long(alg_s, 0, co->nr_specs - 1, &alg)) {
		*why = "algorithm index is not an entry of the -z list";
		return -EINVAL;
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
	return 0;
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
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		arr = realloc(co->hints, (co->nr_hints + 1) * sizeof(*arr));
		if (!arr) {
			err = -ENOMEM;
			break;
		}
		co->hints = arr;
		err = parse_hint(co, blkszbits, p, &arr[co->nr_hints], &why);
		if (err == -EINVAL)
			hint_error(msg, path, lineno, why);
		else if (!err)
			co->nr_hints++;
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
