/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small streaming JSON writer: objects and arrays nest, commas and
 * indentation are handled here, strings are escaped.  Bytes that are not
 * printable ASCII are written as \u00XX, one per byte, so that names
 * which are not UTF-8 still give valid JSON.
 */
#ifndef EROFS_JSON_H
#define EROFS_JSON_H

#include <stdio.h>
#include "erofs/defs.h"

#define EROFS_JSON_MAX_DEPTH	32

struct erofs_json {
	FILE *f;
	unsigned int depth;
	bool has_items[EROFS_JSON_MAX_DEPTH];
};

void erofs_json_init(struct erofs_json *j, FILE *f);
/* @key is NULL inside arrays and at the top */
void erofs_json_open(struct erofs_json *j, const char *key, char bracket);
void erofs_json_close(struct erofs_json *j, char bracket);
void erofs_json_str(struct erofs_json *j, const char *key, const char *s);
void erofs_json_strn(struct erofs_json *j, const char *key, const char *s,
		     size_t len);
void erofs_json_u64(struct erofs_json *j, const char *key, uint64_t v);
void erofs_json_i64(struct erofs_json *j, const char *key, int64_t v);
void erofs_json_double(struct erofs_json *j, const char *key, double v);
void erofs_json_bool(struct erofs_json *j, const char *key, bool v);
void erofs_json_null(struct erofs_json *j, const char *key);
/* @s quoted and escaped as above, for JSON that is put together by hand */
void erofs_json_quote(FILE *f, const char *s, size_t len);

#endif
