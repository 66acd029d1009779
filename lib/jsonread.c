// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The strict JSON reader (include/erofs/jsonread.h): recursive descent
 * with an explicit depth bound, so that a hostile document can neither
 * overflow the stack nor make it allocate more than a few times its size.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/jsonread.h"

struct jparser {
	const char *p, *start, *end;
	unsigned int depth;
	char *why;
	size_t why_size;
};

static int jfail(struct jparser *j, const char *what)
{
	snprintf(j->why, j->why_size, "at byte %zu: %s",
		 (size_t)(j->p - j->start), what);
	return -EINVAL;
}

static void skip_ws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
				 *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool take_literal(struct jparser *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n))
		return false;
	j->p += n;
	return true;
}

static int hex4(struct jparser *j, unsigned int *out)
{
	unsigned int v = 0, i;

	if (j->end - j->p < 4)
		return jfail(j, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		char c = *j->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return jfail(j, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | (cp >> 6);
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | (cp >> 12);
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (cp >> 18);
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/* a \uXXXX escape, with its low surrogate if it is a high one */
static int unicode_escape(struct jparser *j, char *o, size_t *n)
{
	unsigned int cp, lo;
	int err = hex4(j, &cp);

	if (err)
		return err;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return jfail(j, "lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (!take_literal(j, "\\u"))
			return jfail(j, "high surrogate without its low one");
		err = hex4(j, &lo);
		if (err)
			return err;
		if (lo < 0xdc00 || lo > 0xdfff)
			return jfail(j, "high surrogate without its low one");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (!cp)
		return jfail(j, "U+0000 in a string");
	*n += put_utf8(o + *n, cp);
	return 0;
}

/* after the opening quote; the decoded text is never longer than the raw */
static int parse_string(struct jparser *j, char **out, size_t *outlen)
{
	const char *q = j->p;
	char *s;
	size_t n = 0;
	int err;

	while (q < j->end && *q != '"')
		q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
	if (q >= j->end)
		return jfail(j, "unterminated string");
	s = malloc(q - j->p + 1);
	if (!s)
		return -ENOMEM;
	while (*j->p != '"') {
		unsigned char c = *j->p++;

		if (c < 0x20) {
			free(s);
			return jfail(j, "control character in a string");
		}
		if (c != '\\') {
			s[n++] = c;
			continue;
		}
		c = *j->p++;
		switch (c) {
		case '"': case '\\': case '/': s[n++] = c; break;
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'n': s[n++] = '\n'; break;
		case 'r': s[n++] = '\r'; break;
		case 't': s[n++] = '\t'; break;
		case 'u':
			err = unicode_escape(j, s, &n);
			if (err) {
				free(s);
				return err;
			}
			break;
		default:
			free(s);
			return jfail(j, "bad escape in a string");
		}
	}
	j->p++;
	s[n] = '\0';
	*out = s;
	*outlen = n;
	return 0;
}

static bool is_digit(struct jparser *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

static int parse_number(struct jparser *j, struct erofs_jval *v)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (!is_digit(j))
		return jfail(j, "bad number");
	if (*j->p++ == '0' && is_digit(j))
		return jfail(j, "number with a leading zero");
	while (is_digit(j))
		j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!is_digit(j))
			return jfail(j, "bad fraction");
		while (is_digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!is_digit(j))
			return jfail(j, "bad exponent");
		while (is_digit(j))
			j->p++;
	}
	v->type = EROFS_JNUMBER;
	v->len = j->p - s;
	v->str = strndup(s, v->len);
	return v->str ? 0 : -ENOMEM;
}

static int parse_value(struct jparser *j, struct erofs_jval *v);

/* items of an array or members of an object, after the bracket */
static int parse_items(struct jparser *j, struct erofs_jval *v, char close)
{
	struct erofs_jval **tail = &v->child, *item;
	int err;

	skip_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		item = calloc(1, sizeof(*item));
		if (!item)
			return -ENOMEM;
		*tail = item;
		tail = &item->next;
		v->nr++;
		skip_ws(j);
		if (close == '}') {
			size_t klen;

			if (j->p >= j->end || *j->p != '"')
				return jfail(j, "expected a member name");
			j->p++;
			err = parse_string(j, &item->key, &klen);
			if (err)
				return err;
			skip_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return jfail(j, "expected ':'");
			j->p++;
		}
		err = parse_value(j, item);
		if (err)
			return err;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		return jfail(j, close == '}' ? "expected ',' or '}'" :
					       "expected ',' or ']'");
	}
}

static int parse_value(struct jparser *j, struct erofs_jval *v)
{
	int err;

	skip_ws(j);
	if (j->p >= j->end)
		return jfail(j, "expected a value");
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > EROFS_JSONR_MAX_DEPTH)
			return jfail(j, "nested too deep");
		v->type = *j->p == '{' ? EROFS_JOBJECT : EROFS_JARRAY;
		j->p++;
		err = parse_items(j, v, v->type == EROFS_JOBJECT ? '}' : ']');
		j->depth--;
		return err;
	case '"':
		j->p++;
		v->type = EROFS_JSTRING;
		return parse_string(j, &v->str, &v->len);
	}
	if (take_literal(j, "null"))
		v->type = EROFS_JNULL;
	else if (take_literal(j, "true"))
		v->type = EROFS_JTRUE;
	else if (take_literal(j, "false"))
		v->type = EROFS_JFALSE;
	else
		return parse_number(j, v);
	return 0;
}

static void free_tree(struct erofs_jval *v, bool wipe)
{
	while (v) {
		struct erofs_jval *next = v->next;

		free_tree(v->child, wipe);
		if (wipe) {
			if (v->key)
				memset(v->key, 0, strlen(v->key));
			if (v->str)
				memset(v->str, 0, v->len);
		}
		free(v->key);
		free(v->str);
		free(v);
		v = next;
	}
}

void erofs_jsonr_free(struct erofs_jval *v)
{
	free_tree(v, false);
}

void erofs_jsonr_free_secret(struct erofs_jval *v)
{
	free_tree(v, true);
}

int erofs_jsonr_parse(const char *text, size_t len, struct erofs_jval **root,
		      char *why, size_t why_size)
{
	struct jparser j = { .p = text, .start = text, .end = text + len,
			     .why = why, .why_size = why_size };
	struct erofs_jval *v = calloc(1, sizeof(*v));
	int err;

	if (!v)
		return -ENOMEM;
	if (why_size)
		why[0] = '\0';
	err = parse_value(&j, v);
	if (!err) {
		skip_ws(&j);
		if (j.p != j.end)
			err = jfail(&j, "text after the value");
	}
	if (err) {
		if (err == -ENOMEM)
			snprintf(why, why_size, "out of memory");
		erofs_jsonr_free(v);
		return err;
	}
	*root = v;
	return 0;
}

const struct erofs_jval *erofs_jsonr_get(const struct erofs_jval *obj,
					 const char *key)
{
	const struct erofs_jval *m, *found = NULL;

	if (!obj || obj->type != EROFS_JOBJECT)
		return NULL;
	/* the last of duplicate names wins, as most readers do */
	for (m = obj->child; m; m = m->next)
		if (!strcmp(m->key, key))
			found = m;
	return found;
}

const char *erofs_jsonr_get_str(const struct erofs_jval *obj,
				const char *key)
{
	const struct erofs_jval *v = erofs_jsonr_get(obj, key);

	return v && v->type == EROFS_JSTRING ? v->str : NULL;
}

int erofs_jsonr_u64(const struct erofs_jval *v, uint64_t *out)
{
	const char *s;
	uint64_t n = 0;

	if (!v || v->type != EROFS_JNUMBER)
		return -EINVAL;
	for (s = v->str; *s; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - (*s - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (*s - '0');
	}
	*out = n;
	return 0;
}
