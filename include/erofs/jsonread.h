/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small, strict JSON reader for documents of bounded size (OCI
 * manifests, image configs, ~/.docker/config.json): the whole text is
 * parsed into a tree of values, RFC 8259 only (no comments, no trailing
 * commas, no leading zeros, no control characters in strings).  Strings
 * are decoded to UTF-8; a string holding U+0000 is refused, so every
 * string is also a C string.
 */
#ifndef EROFS_JSONREAD_H
#define EROFS_JSONREAD_H

#include <stddef.h>
#include "erofs/defs.h"

/* nesting beyond this is refused: documents here are shallow */
#define EROFS_JSONR_MAX_DEPTH	64

enum erofs_jtype {
	EROFS_JNULL,
	EROFS_JFALSE,
	EROFS_JTRUE,
	EROFS_JNUMBER,
	EROFS_JSTRING,
	EROFS_JARRAY,
	EROFS_JOBJECT,
};

struct erofs_jval {
	enum erofs_jtype type;
	char *key;			/* members of an object: their name */
	char *str;			/* strings: decoded; numbers: as written */
	size_t len;			/* of str */
	struct erofs_jval *child;	/* arrays and objects: first item */
	struct erofs_jval *next;	/* the next item of the parent */
	unsigned int nr;		/* arrays and objects: items */
};

/*
 * Parses @len bytes of @text.  On error returns -EINVAL (or -ENOMEM) and
 * writes where and why into @why.
 */
int erofs_jsonr_parse(const char *text, size_t len, struct erofs_jval **root,
		      char *why, size_t why_size);
void erofs_jsonr_free(struct erofs_jval *v);
/* the same, every name and string zeroed first: for credentials */
void erofs_jsonr_free_secret(struct erofs_jval *v);

/* the member @key of object @obj; NULL if @obj is no object or lacks it */
const struct erofs_jval *erofs_jsonr_get(const struct erofs_jval *obj,
					 const char *key);
/* the member's string, or NULL if missing or not a string */
const char *erofs_jsonr_get_str(const struct erofs_jval *obj,
				const char *key);
/* a number that is a whole, non-negative integer up to UINT64_MAX */
int erofs_jsonr_u64(const struct erofs_jval *v, uint64_t *out);

#endif
