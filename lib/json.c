// SPDX-License-Identifier: GPL-2.0-or-later
#include <math.h>
#include <string.h>
#include "erofs/json.h"

void erofs_json_init(struct erofs_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

void erofs_json_quote(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			fprintf(f, "\\u%04x", p[i]);
		else
			fputc(p[i], f);
	}
	fputc('"', f);
}

/* the comma, newline and indent before an item, and its key */
static void item(struct erofs_json *j, const char *key)
{
	unsigned int d = MIN(j->depth, EROFS_JSON_MAX_DEPTH - 1);

	if (j->depth) {
		fputs(j->has_items[d] ? ",\n" : "\n", j->f);
		fprintf(j->f, "%*s", (int)j->depth * 2, "");
	}
	j->has_items[d] = true;
	if (key) {
		erofs_json_quote(j->f, key, strlen(key));
		fputs(": ", j->f);
	}
}

void erofs_json_open(struct erofs_json *j, const char *key, char bracket)
{
	item(j, key);
	fputc(bracket, j->f);
	j->depth++;
	if (j->depth < EROFS_JSON_MAX_DEPTH)
		j->has_items[j->depth] = false;
}

void erofs_json_close(struct erofs_json *j, char bracket)
{
	bool had = j->has_items[MIN(j->depth, EROFS_JSON_MAX_DEPTH - 1)];

	j->depth--;
	if (had)
		fprintf(j->f, "\n%*s", (int)j->depth * 2, "");
	fputc(bracket, j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

void erofs_json_strn(struct erofs_json *j, const char *key, const char *s,
		     size_t len)
{
	item(j, key);
	erofs_json_quote(j->f, s, len);
}

void erofs_json_str(struct erofs_json *j, const char *key, const char *s)
{
	erofs_json_strn(j, key, s, strlen(s));
}

void erofs_json_u64(struct erofs_json *j, const char *key, uint64_t v)
{
	item(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void erofs_json_i64(struct erofs_json *j, const char *key, int64_t v)
{
	item(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void erofs_json_double(struct erofs_json *j, const char *key, double v)
{
	item(j, key);
	/* JSON has no NaN or infinity */
	if (isfinite(v))
		fprintf(j->f, "%.12g", v);
	else
		fputs("null", j->f);
}

void erofs_json_bool(struct erofs_json *j, const char *key, bool v)
{
	item(j, key);
	fputs(v ? "true" : "false", j->f);
}

void erofs_json_null(struct erofs_json *j, const char *key)
{
	item(j, key);
	fputs("null", j->f);
}
