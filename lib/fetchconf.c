// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * erofs-fetch's configuration file: named sources and the map from a
 * cachefiles cookie key (a volume/fsid or a blob tag) to a source and the
 * object key there.  INI-like; the format is in erofs-fetch(1).  Sections
 * other than [source NAME] and [map] are kept as key/value pairs for the
 * daemon to read with erofs_fetchconf_get().
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/source.h"

struct parser {
	const char *name;
	unsigned int line;
	const struct erofs_msg *msg;
	struct erofs_fetchconf *conf;
	enum { SEC_NONE, SEC_SOURCE, SEC_MAP, SEC_OTHER } sec;
	char *other;			/* name of the current other section */
	/* map lines name sources that may come later: resolved at the end */
	char **map_src;
	unsigned int *map_line;
	/* "fallback = A B" of each source, resolved at the end too */
	char **fallback;
	unsigned int *fallback_line;
};

#define perr(p, fmt, ...) \
	erofs_err((p)->msg, "%s:%u: " fmt, (p)->name, (p)->line, ##__VA_ARGS__)

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void *grow(void *arr, unsigned int n, size_t elem)
{
	return realloc(arr, (n + 1) * elem);
}

static int section(struct parser *p, char *s)
{
	struct erofs_fetchconf *c = p->conf;
	char *name;

	free(p->other);
	p->other = NULL;
	if (!strncmp(s, "source", 6) && isspace((unsigned char)s[6])) {
		struct erofs_fetchconf_source *src;

		name = trim(s + 6);
		if (!*name || strpbrk(name, " \t")) {
			perr(p, "a source needs one name: [source NAME]");
			return -EINVAL;
		}
		if (erofs_fetchconf_find(c, name)) {
			perr(p, "source \"%s\" defined twice", name);
			return -EINVAL;
		}
		src = grow(c->sources, c->nr_sources, sizeof(*src));
		if (!src)
			return -ENOMEM;
		c->sources = src;
		p->fallback = grow(p->fallback, c->nr_sources, sizeof(char *));
		p->fallback_line = grow(p->fallback_line, c->nr_sources,
					sizeof(unsigned int));
		if (!p->fallback || !p->fallback_line)
			return -ENOMEM;
		p->fallback[c->nr_sources] = NULL;
		src += c->nr_sources;
		memset(src, 0, sizeof(*src));
		src->name = strdup(name);
		if (!src->name)
			return -ENOMEM;
		c->nr_sources++;
		p->sec = SEC_SOURCE;
		return 0;
	}
	if (!strcmp(s, "map")) {
		p->sec = SEC_MAP;
		return 0;
	}
	if (!strcmp(s, "source") || !*s || strpbrk(s, " \t")) {
		perr(p, "bad section [%s]", s);
		return -EINVAL;
	}
	p->other = strdup(s);
	p->sec = SEC_OTHER;
	return p->other ? 0 : -ENOMEM;
}

static int uint_value(struct parser *p, const char *key, const char *v,
		      bool size, unsigned int *out)
{
	long long n;
	uint64_t u;

	if (size) {
		if (erofs_parse_size(v, &u) || u > (1ULL << 31)) {
			perr(p, "%s: bad size \"%s\"", key, v);
			return -EINVAL;
		}
		*out = u;
		return 0;
	}
	if (erofs_parse_long(v, 0, 1 << 30, &n)) {
		perr(p, "%s: bad number \"%s\"", key, v);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static int str_value(const char *v, const char **out)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free((char *)*out);
	*out = s;
	return 0;
}

static int source_kv(struct parser *p, const char *k, const char *v)
{
	struct erofs_source_opts *o =
		&p->conf->sources[p->conf->nr_sources - 1].opts;

	if (!strcmp(k, "spec") || !strcmp(k, "url"))
		return str_value(v, &o->spec);
	if (!strcmp(k, "auth"))
		return str_value(v, &o->auth);
	if (!strcmp(k, "cacert"))
		return str_value(v, &o->cacert);
	if (!strcmp(k, "timeout_ms"))
		return uint_value(p, k, v, false, &o->timeout_ms);
	if (!strcmp(k, "retries")) {
		o->retries_set = true;
		return uint_value(p, k, v, false, &o->retries);
	}
	if (!strcmp(k, "deadline_ms"))
		return uint_value(p, k, v, false, &o->deadline_ms);
	if (!strcmp(k, "docker_config"))
		return str_value(v, &o->docker_config);
	if (!strcmp(k, "prefetch_rate")) {
		unsigned int rate;
		int err = uint_value(p, k, v, true, &rate);

		o->prefetch_rate = rate;
		return err;
	}
	if (!strcmp(k, "fallback")) {
		char **fb = &p->fallback[p->conf->nr_sources - 1];

		free(*fb);
		*fb = strdup(v);
		p->fallback_line[p->conf->nr_sources - 1] = p->line;
		return *fb ? 0 : -ENOMEM;
	}
	if (!strcmp(k, "workers"))
		return uint_value(p, k, v, false, &o->workers);
	if (!strcmp(k, "min_fetch"))
		return uint_value(p, k, v, true, &o->min_fetch);
	if (!strcmp(k, "ra_cache"))
		return uint_value(p, k, v, true, &o->ra_cache_bytes);
	perr(p, "unknown source setting \"%s\"", k);
	return -EINVAL;
}

/* KEY = SOURCE [OBJECT] */
static int map_kv(struct parser *p, const char *k, char *v)
{
	struct erofs_fetchconf *c = p->conf;
	struct erofs_fetchconf_map *m;
	char *src = v, *obj;

	obj = strpbrk(v, " \t");
	if (obj) {
		*obj++ = '\0';
		obj = trim(obj);
		if (strpbrk(obj, " \t")) {
			perr(p, "map: expected KEY = SOURCE [OBJECT]");
			return -EINVAL;
		}
	}
	m = grow(c->maps, c->nr_maps, sizeof(*m));
	if (!m)
		return -ENOMEM;
	c->maps = m;
	p->map_src = grow(p->map_src, c->nr_maps, sizeof(char *));
	p->map_line = grow(p->map_line, c->nr_maps, sizeof(unsigned int));
	if (!p->map_src || !p->map_line)
		return -ENOMEM;
	m += c->nr_maps;
	m->key = strdup(k);
	m->object = obj && *obj ? strdup(obj) : NULL;
	m->source = 0;
	p->map_src[c->nr_maps] = strdup(src);
	p->map_line[c->nr_maps] = p->line;
	c->nr_maps++;
	if (!m->key || !p->map_src[c->nr_maps - 1] || (obj && *obj && !m->object))
		return -ENOMEM;
	return 0;
}

static int other_kv(struct parser *p, const char *k, const char *v)
{
	struct erofs_fetchconf *c = p->conf;
	struct erofs_fetchconf_kv *kv = grow(c->kvs, c->nr_kvs, sizeof(*kv));

	if (!kv)
		return -ENOMEM;
	c->kvs = kv;
	kv += c->nr_kvs++;
	kv->section = strdup(p->other);
	kv->key = strdup(k);
	kv->value = strdup(v);
	return kv->section && kv->key && kv->value ? 0 : -ENOMEM;
}

static int parse_line(struct parser *p, char *line)
{
	char *s, *eq, *k, *v;

	/* '#' starts a comment anywhere: no value needs one */
	s = strchr(line, '#');
	if (s)
		*s = '\0';
	s = trim(line);
	if (!*s)
		return 0;
	if (*s == '[') {
		char *e = strchr(s, ']');

		if (!e || trim(e + 1)[0]) {
			perr(p, "unclosed section header");
			return -EINVAL;
		}
		*e = '\0';
		return section(p, trim(s + 1));
	}
	eq = strchr(s, '=');
	if (!eq) {
		perr(p, "expected KEY = VALUE");
		return -EINVAL;
	}
	*eq = '\0';
	k = trim(s);
	v = trim(eq + 1);
	if (!*k || !*v) {
		perr(p, "empty key or value");
		return -EINVAL;
	}
	switch (p->sec) {
	case SEC_SOURCE:
		return source_kv(p, k, v);
	case SEC_MAP:
		return map_kv(p, k, v);
	case SEC_OTHER:
		return other_kv(p, k, v);
	default:
		perr(p, "\"%s\" outside a section", k);
		return -EINVAL;
	}
}

/*
 * "fallback = NAME ..." of source @i: copies of those sources' settings,
 * without their own fallbacks (a list, not a chain), owned by the conf.
 */
static int resolve_fallbacks(struct parser *p, unsigned int i)
{
	struct erofs_fetchconf *c = p->conf;
	struct erofs_source_opts *o = &c->sources[i].opts, *fb;
	char *list = p->fallback[i], *name, *save = NULL;
	unsigned int n = 0;

	if (!list)
		return 0;
	p->line = p->fallback_line[i];
	fb = calloc(EROFS_SOURCE_MAX_SPECS - 1, sizeof(*fb));
	if (!fb)
		return -ENOMEM;
	o->fallbacks = fb;
	for (name = strtok_r(list, " \t,", &save); name;
	     name = strtok_r(NULL, " \t,", &save)) {
		const struct erofs_fetchconf_source *s =
			erofs_fetchconf_find(c, name);

		if (!s || s == &c->sources[i]) {
			perr(p, "fallback: %s \"%s\"",
			     s ? "a source cannot fall back on itself" :
			     "no source named", name);
			return -EINVAL;
		}
		if (n >= EROFS_SOURCE_MAX_SPECS - 1) {
			perr(p, "fallback: at most %u sources",
			     EROFS_SOURCE_MAX_SPECS - 1);
			return -EINVAL;
		}
		fb[n] = s->opts;
		fb[n].fallbacks = NULL;
		fb[n].nr_fallbacks = 0;
		n++;
	}
	o->nr_fallbacks = n;
	return 0;
}

/* every source has a spec and every map line names a known source */
static int resolve(struct parser *p)
{
	struct erofs_fetchconf *c = p->conf;
	unsigned int i;
	int err;

	for (i = 0; i < c->nr_sources; i++)
		if (!c->sources[i].opts.spec) {
			erofs_err(p->msg, "%s: source \"%s\" has no spec",
				  p->name, c->sources[i].name);
			return -EINVAL;
		}
	for (i = 0; i < c->nr_sources; i++) {
		err = resolve_fallbacks(p, i);
		if (err)
			return err;
	}
	for (i = 0; i < c->nr_maps; i++) {
		const struct erofs_fetchconf_source *s =
			erofs_fetchconf_find(c, p->map_src[i]);

		p->line = p->map_line[i];
		if (!s) {
			perr(p, "map: no source named \"%s\"", p->map_src[i]);
			return -EINVAL;
		}
		c->maps[i].source = s - c->sources;
		if (!strcmp(c->maps[i].key, "*")) {
			if (c->default_source >= 0) {
				perr(p, "map: two defaults (\"*\")");
				return -EINVAL;
			}
			c->default_source = c->maps[i].source;
		}
	}
	return 0;
}

int erofs_fetchconf_parse(const char *text, const char *name,
			  struct erofs_fetchconf *conf,
			  const struct erofs_msg *msg)
{
	struct parser p = { .name = name, .msg = msg, .conf = conf };
	char *copy = strdup(text), *line, *next;
	unsigned int i;
	int err = 0;

	memset(conf, 0, sizeof(*conf));
	conf->default_source = -1;
	if (!copy)
		return -ENOMEM;
	for (line = copy; line && !err; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		err = parse_line(&p, line);
	}
	if (!err)
		err = resolve(&p);
	for (i = 0; i < conf->nr_maps; i++)
		free(p.map_src[i]);
	free(p.map_src);
	free(p.map_line);
	for (i = 0; i < conf->nr_sources; i++)
		free(p.fallback[i]);
	free(p.fallback);
	free(p.fallback_line);
	free(p.other);
	free(copy);
	if (err)
		erofs_fetchconf_free(conf);
	return err;
}

int erofs_fetchconf_load(const char *path, struct erofs_fetchconf *conf,
			 const struct erofs_msg *msg)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t n = 0;
	int err;

	if (!f) {
		err = -errno;
		erofs_err(msg, "config %s: %s", path, strerror(-err));
		return err;
	}
	/* a config file is small: read it whole */
	text = malloc(1 << 20);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, (1 << 20) - 1, f);
	err = ferror(f) ? -EIO : 0;
	if (!err && !feof(f)) {
		erofs_err(msg, "config %s: larger than 1 MiB", path);
		err = -EFBIG;
	}
	fclose(f);
	if (!err) {
		text[n] = '\0';
		err = erofs_fetchconf_parse(text, path, conf, msg);
	}
	free(text);
	return err;
}

const struct erofs_fetchconf_source *
erofs_fetchconf_find(const struct erofs_fetchconf *conf, const char *name)
{
	unsigned int i;

	for (i = 0; i < conf->nr_sources; i++)
		if (!strcmp(conf->sources[i].name, name))
			return &conf->sources[i];
	return NULL;
}

int erofs_fetchconf_lookup(const struct erofs_fetchconf *conf, const char *key,
			   const struct erofs_fetchconf_source **src,
			   const char **object)
{
	unsigned int i;

	for (i = 0; i < conf->nr_maps; i++) {
		const struct erofs_fetchconf_map *m = &conf->maps[i];

		if (strcmp(m->key, key))
			continue;
		*src = &conf->sources[m->source];
		*object = m->object ? m->object : key;
		return 0;
	}
	if (conf->default_source < 0)
		return -ENOENT;
	*src = &conf->sources[conf->default_source];
	*object = key;
	return 0;
}

const char *erofs_fetchconf_get(const struct erofs_fetchconf *conf,
				const char *section, const char *key)
{
	unsigned int i;

	/* the last one wins, as when a setting is repeated to override it */
	for (i = conf->nr_kvs; i-- > 0;)
		if (!strcmp(conf->kvs[i].section, section) &&
		    !strcmp(conf->kvs[i].key, key))
			return conf->kvs[i].value;
	return NULL;
}

void erofs_fetchconf_free(struct erofs_fetchconf *conf)
{
	unsigned int i;

	for (i = 0; i < conf->nr_sources; i++) {
		struct erofs_source_opts *o = &conf->sources[i].opts;

		free(conf->sources[i].name);
		free((char *)o->spec);
		free((char *)o->auth);
		free((char *)o->cacert);
		free((char *)o->docker_config);
		free((void *)o->fallbacks);
	}
	for (i = 0; i < conf->nr_maps; i++) {
		free(conf->maps[i].key);
		free(conf->maps[i].object);
	}
	for (i = 0; i < conf->nr_kvs; i++) {
		free(conf->kvs[i].section);
		free(conf->kvs[i].key);
		free(conf->kvs[i].value);
	}
	free(conf->sources);
	free(conf->maps);
	free(conf->kvs);
	memset(conf, 0, sizeof(*conf));
	conf->default_source = -1;
}
