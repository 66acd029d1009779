// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dump.erofs --cache: the data and holes of sparse cache files and, with
 * the image, what each file still needs to fetch from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "erofs/annex.h"
#include "erofs/digest_table.h"
#include "dump.h"

struct cache_walk {
	struct dump_ctx *d;
	const struct erofs_cacheset *cs;
	struct erofs_ranges *need;	/* per device, one file's */
	struct erofs_ranges *total;	/* per device, the whole subtree */
	struct erofs_ranges missing;	/* scratch */
	/* per device with a cache file and a digest table: unit states */
	struct erofs_annex ax;
	struct erofs_digest_table *tables;
	uint8_t **units;
	bool any_table;
};

/* bytes of device @dev a complete cache file of it would hold */
static uint64_t device_size(const struct erofs_image *img, int dev)
{
	if (!dev || img->devs[dev].fd >= 0)
		return img->devs[dev].size;
	return erofs_pos(img, img->devs[dev].blocks);
}

static const char *state_name(uint64_t needed, uint64_t missing)
{
	if (!needed)
		return "local";
	if (!missing)
		return "cached";
	return missing == needed ? "missing" : "partial";
}

/* [0, extent) of @cf: its data ranges, and the holes between them */
static void print_ranges(struct dump_ctx *d, const struct erofs_cachefile *cf,
			 uint64_t extent)
{
	uint64_t cur = 0;
	size_t i;

	for (i = 0; i < cf->data.n && cf->data.r[i].start < extent; i++) {
		uint64_t end = MIN(cf->data.r[i].end, extent);

		if (cf->data.r[i].start > cur && !d->json)
			printf("  hole %llu..%llu\n", (unsigned long long)cur,
			       (unsigned long long)cf->data.r[i].start);
		if (!d->json)
			printf("  data %llu..%llu\n",
			       (unsigned long long)cf->data.r[i].start,
			       (unsigned long long)end);
		cur = end;
	}
	if (cur < extent && !d->json)
		printf("  hole %llu..%llu\n", (unsigned long long)cur,
		       (unsigned long long)extent);
}

static void json_ranges_of(struct erofs_json *js, const char *key,
			   const struct erofs_cachefile *cf, uint64_t extent,
			   bool holes)
{
	uint64_t cur = 0;
	size_t i;

	erofs_json_open(js, key, '[');
	for (i = 0; i < cf->data.n && cf->data.r[i].start < extent; i++) {
		if (holes && cf->data.r[i].start > cur)
			json_range(js, cur, cf->data.r[i].start);
		if (!holes)
			json_range(js, cf->data.r[i].start,
				   MIN(cf->data.r[i].end, extent));
		cur = MIN(cf->data.r[i].end, extent);
	}
	if (holes && cur < extent)
		json_range(js, cur, extent);
	erofs_json_close(js, ']');
}

static uint64_t cached_within(const struct erofs_cachefile *cf,
			      uint64_t extent)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < cf->data.n && cf->data.r[i].start < extent; i++)
		sum += MIN(cf->data.r[i].end, extent) - cf->data.r[i].start;
	return sum;
}

static void show_cachefile(struct dump_ctx *d, const struct erofs_cachefile *cf)
{
	bool bound = d->opened && cf->device >= 0;
	uint64_t extent = bound ? device_size(&d->img, cf->device) : cf->size;
	uint64_t cached = cached_within(cf, extent);
	struct erofs_json *js = &d->js;

	if (!d->json) {
		printf("Cache file %s: %llu bytes", cf->path,
		       (unsigned long long)cf->size);
		if (bound)
			printf(", device %d of the image (%llu bytes)",
			       cf->device, (unsigned long long)extent);
		else if (d->opened)
			printf(", matches no device of the image");
		printf("\n");
		print_ranges(d, cf, extent);
		printf("  cached %llu of %llu bytes (%.2f%%)\n",
		       (unsigned long long)cached, (unsigned long long)extent,
		       extent ? 100.0 * cached / extent : 100.0);
		return;
	}
	erofs_json_open(js, NULL, '{');
	erofs_json_str(js, "path", cf->path);
	erofs_json_u64(js, "size", cf->size);
	if (bound)
		erofs_json_u64(js, "device", cf->device);
	else
		erofs_json_null(js, "device");
	erofs_json_u64(js, "extent", extent);
	json_ranges_of(js, "data", cf, extent, false);
	json_ranges_of(js, "holes", cf, extent, true);
	erofs_json_u64(js, "cached_bytes", cached);
	erofs_json_double(js, "fraction", extent ? (double)cached / extent : 1);
	erofs_json_close(js, '}');
}

/* needed and missing bytes of @need over the devices that have a cache */
static int count_missing(struct cache_walk *w, struct erofs_ranges *need,
			 uint64_t *needed, uint64_t *missing, bool print)
{
	struct dump_ctx *d = w->d;
	unsigned int dev;
	size_t i;
	int err;

	*needed = *missing = 0;
	for (dev = 0; dev < d->img.nr_devs; dev++) {
		const struct erofs_cachefile *cf = erofs_cacheset_of(w->cs, dev);

		if (!cf)
			continue;
		erofs_ranges_merge(&need[dev]);
		err = erofs_ranges_subtract(&need[dev], &cf->data, &w->missing);
		if (err)
			return err;
		*needed += erofs_ranges_bytes(&need[dev]);
		*missing += erofs_ranges_bytes(&w->missing);
		for (i = 0; print && i < w->missing.n; i++) {
			if (d->json) {
				erofs_json_open(&d->js, NULL, '{');
				erofs_json_u64(&d->js, "device", dev);
				erofs_json_u64(&d->js, "start", w->missing.r[i].start);
				erofs_json_u64(&d->js, "end", w->missing.r[i].end);
				erofs_json_close(&d->js, '}');
			} else {
				printf("%s dev%u:%llu..%llu",
				       i ? "" : ";", dev,
				       (unsigned long long)w->missing.r[i].start,
				       (unsigned long long)w->missing.r[i].end);
			}
		}
	}
	return 0;
}

/*
 * Ends a file's or a total's entry: its missing ranges (listed by
 * count_missing()), then in JSON its state and figures.
 */
static int end_entry(struct cache_walk *w, struct erofs_ranges *ranges)
{
	struct dump_ctx *d = w->d;
	uint64_t needed, missing;
	int err;

	err = count_missing(w, ranges, &needed, &missing, true);
	if (d->json) {
		erofs_json_close(&d->js, ']');
		erofs_json_str(&d->js, "state", state_name(needed, missing));
		erofs_json_u64(&d->js, "needed_bytes", needed);
		erofs_json_u64(&d->js, "missing_bytes", missing);
		erofs_json_close(&d->js, '}');
	} else {
		putchar('\n');
	}
	return err;
}

/* tallies of the units a file needs, by what its cache file holds */
struct unit_tally {
	uint64_t verified, absent, unverified, mismatch;
};

static void tally_table(const struct erofs_digest_table *t,
			const uint8_t *units, const struct erofs_ranges *need,
			struct unit_tally *n)
{
	size_t i;

	for (i = 0; i < need->n; i++) {
		uint64_t u, last;

		if (need->r[i].start >= t->blob_size)
			continue;
		last = (MIN(need->r[i].end, t->blob_size) - 1) >> t->unit_bits;
		for (u = need->r[i].start >> t->unit_bits; u <= last; u++) {
			if (units[u] == EROFS_UNIT_VERIFIED)
				n->verified++;
			else if (units[u] == EROFS_UNIT_ABSENT)
				n->absent++;
			else if (units[u] == EROFS_UNIT_MISMATCH)
				n->mismatch++;
			else
				n->unverified++;
		}
	}
}

/*
 * verified: every cached byte the file needs is in a unit that matched
 * its digest; unverified: some are cached without a table to check
 * them (or in a partly cached unit); mismatch: some unit is wrong;
 * absent: nothing it needs is cached.
 */
static int verify_state(struct cache_walk *w, struct erofs_ranges *need,
			const char **state)
{
	struct unit_tally n = { 0 };
	unsigned int dev;
	int err;

	for (dev = 0; dev < w->d->img.nr_devs; dev++) {
		const struct erofs_cachefile *cf = erofs_cacheset_of(w->cs, dev);
		uint64_t needed;

		if (!cf)
			continue;
		erofs_ranges_merge(&need[dev]);
		if (w->units[dev]) {
			tally_table(&w->tables[dev], w->units[dev], &need[dev],
				    &n);
			continue;
		}
		err = erofs_ranges_subtract(&need[dev], &cf->data, &w->missing);
		if (err)
			return err;
		needed = erofs_ranges_bytes(&need[dev]);
		if (needed > erofs_ranges_bytes(&w->missing))
			n.unverified++;
		else if (needed)
			n.absent++;
	}
	*state = n.mismatch ? "mismatch" : n.unverified ? "unverified" :
		 n.verified ? "verified" : n.absent ? "absent" : "local";
	return 0;
}

static int print_file(struct cache_walk *w, const char *path,
		      const struct erofs_inode_info *vi)
{
	const char *vstate;
	struct dump_ctx *d = w->d;
	uint64_t needed, missing;
	int err;

	err = verify_state(w, w->need, &vstate);
	if (err)
		return err;
	if (d->json) {
		erofs_json_open(&d->js, NULL, '{');
		erofs_json_str(&d->js, "path", path);
		erofs_json_u64(&d->js, "nid", vi->nid);
		erofs_json_str(&d->js, "verify", vstate);
		erofs_json_open(&d->js, "missing", '[');
	} else {
		/* the figures first, then the missing ranges */
		err = count_missing(w, w->need, &needed, &missing, false);
		if (err)
			return err;
		printf("  ");
		put_escaped(path, strlen(path));
		printf(": %s", state_name(needed, missing));
		if (w->any_table && strcmp(vstate, "local"))
			printf(" (%s)", vstate);
		printf(", %llu of %llu bytes to fetch",
		       (unsigned long long)missing,
		       (unsigned long long)needed);
	}
	return end_entry(w, w->need);
}

/* @vi's content ranges, in w->need */
static int file_need(struct cache_walk *w, const struct erofs_inode_info *vi)
{
	struct erofs_image *img = &w->d->img;
	unsigned int dev;

	for (dev = 0; dev < img->nr_devs; dev++)
		w->need[dev].n = 0;
	return erofs_content_ranges(img, vi, w->need);
}

static int add_to_total(struct cache_walk *w)
{
	unsigned int dev;
	size_t i;
	int err;

	for (dev = 0; dev < w->d->img.nr_devs; dev++)
		for (i = 0; i < w->need[dev].n; i++) {
			err = erofs_ranges_add(&w->total[dev],
					       w->need[dev].r[i].start,
					       w->need[dev].r[i].end);
			if (err)
				return err;
		}
	return 0;
}

/* damage is reported by the reader; the rest of the tree still counts */
static bool skip_damage(struct dump_ctx *d, int err)
{
	if (err != -EFSCORRUPTED && err != -EOPNOTSUPP)
		return false;
	note_error(d, err);
	return true;
}

static int visit(void *arg, const char *path, const struct erofs_inode_info *vi,
		 bool first)
{
	struct cache_walk *w = arg;
	int err;

	(void)first;
	err = file_need(w, vi);
	if (skip_damage(w->d, err))
		return 0;
	if (!err)
		err = add_to_total(w);
	return err ? err : print_file(w, path, vi);
}

/*
 * The packed inode is in no directory: it is listed after the tree, and
 * left out of the total, which counts what the files' fragments need.
 */
static int visit_packed(struct cache_walk *w)
{
	struct erofs_image *img = &w->d->img;
	const struct erofs_inode_info *vi;
	int err;

	if (!erofs_has_packed_inode(img))
		return 0;
	err = erofs_packed_inode(img, &vi);
	if (!err)
		err = file_need(w, vi);
	if (skip_damage(w->d, err))
		return 0;
	return err ? err : print_file(w, "(packed inode)", vi);
}

static int print_total(struct cache_walk *w, const char *path)
{
	struct dump_ctx *d = w->d;
	uint64_t needed, missing;
	int err;

	if (d->json) {
		erofs_json_open(&d->js, "total", '{');
		erofs_json_str(&d->js, "path", path);
		erofs_json_open(&d->js, "missing", '[');
	} else {
		err = count_missing(w, w->total, &needed, &missing, false);
		if (err)
			return err;
		printf("To read ");
		put_escaped(path, strlen(path));
		printf(": %llu bytes to fetch, of %llu bytes needed from cache files",
		       (unsigned long long)missing, (unsigned long long)needed);
	}
	return end_entry(w, w->total);
}

/* the state of every unit of each cache file whose device has a table */
static int scan_units(struct cache_walk *w)
{
	struct erofs_image *img = &w->d->img;
	unsigned int dev;
	int err;

	err = erofs_annex_load(img, &w->ax);
	if (err) {
		note_error(w->d, err);
		return 0;	/* said; the files are shown unverified */
	}
	for (dev = 1; dev < img->nr_devs; dev++) {
		const struct erofs_cachefile *cf = erofs_cacheset_of(w->cs, dev);
		int fd;

		if (!cf || erofs_digest_table_load(img, &w->ax, dev,
						   &w->tables[dev]))
			continue;
		w->units[dev] = malloc(w->tables[dev].nr_units ?: 1);
		if (!w->units[dev])
			return -ENOMEM;
		fd = open(cf->path, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? -errno :
		      erofs_digest_table_scan(&w->tables[dev], fd, 0,
					      w->units[dev]);
		if (fd >= 0)
			close(fd);
		if (err) {
			erofs_err(&w->d->cfg->msg, "%s: %s", cf->path,
				  strerror(-err));
			return err;
		}
		w->any_table = true;
	}
	return 0;
}

static int walk_files(struct dump_ctx *d, const struct erofs_cacheset *cs)
{
	unsigned int n = d->img.nr_devs, dev;
	struct cache_walk w = { .d = d, .cs = cs };
	struct erofs_walk walk;
	const char *path;
	uint64_t nid;
	int err;

	err = resolve_inode(d, &nid, &path);
	if (err)
		return err;
	w.need = calloc(n, sizeof(*w.need));
	w.total = calloc(n, sizeof(*w.total));
	w.tables = calloc(n, sizeof(*w.tables));
	w.units = calloc(n, sizeof(*w.units));
	if (!w.need || !w.total || !w.tables || !w.units) {
		err = -ENOMEM;
		goto out;
	}
	err = scan_units(&w);
	if (err)
		goto out;
	if (d->json)
		erofs_json_open(&d->js, "inodes", '[');
	else
		printf("Files (state, bytes to fetch, missing ranges as device:start..end):\n");
	err = erofs_walk_tree(&walk, &d->img, nid, path ? path : "(nid)",
			      visit, &w);
	if (walk.errors)
		d->status |= EXIT_DAMAGED;
	if (walk.unsupported)
		d->status |= EXIT_UNSUPPORTED;
	erofs_walk_exit(&walk);
	if (!err && nid == d->img.root_nid)
		err = visit_packed(&w);
	if (d->json)
		erofs_json_close(&d->js, ']');
	if (!err)
		err = print_total(&w, path ? path : "(nid)");
out:
	for (dev = 0; dev < n && w.need; dev++)
		erofs_ranges_free(&w.need[dev]);
	for (dev = 0; dev < n && w.total; dev++)
		erofs_ranges_free(&w.total[dev]);
	erofs_ranges_free(&w.missing);
	for (dev = 0; dev < n && w.units; dev++)
		free(w.units[dev]);
	free(w.units);
	free(w.tables);
	erofs_annex_free(&w.ax);
	free(w.need);
	free(w.total);
	return err;
}

static int bind(struct dump_ctx *d, struct erofs_cacheset *cs)
{
	const char **paths = calloc(d->img.nr_devs, sizeof(*paths));
	unsigned int i;
	int err;

	if (!paths)
		return -ENOMEM;
	paths[0] = d->cfg->image;
	for (i = 1; i < d->img.nr_devs && i <= d->cfg->nr_devices; i++)
		paths[i] = d->cfg->devices[i - 1];
	err = erofs_cacheset_bind(cs, &d->img, paths);
	free(paths);
	return err;
}

int show_cache(struct dump_ctx *d)
{
	struct erofs_cacheset cs;
	size_t i;
	int err;

	err = erofs_cacheset_load(&cs, &d->cfg->msg, d->cfg->cache);
	if (!err && d->opened)
		err = bind(d, &cs);
	if (err)
		goto out;
	if (!cs.n)
		erofs_warn(&d->cfg->msg, "%s: no cache files in it: everything counts as local",
			   d->cfg->cache);
	if (d->json) {
		erofs_json_open(&d->js, "cache", '{');
		erofs_json_open(&d->js, "files", '[');
	}
	for (i = 0; i < cs.n; i++)
		show_cachefile(d, &cs.files[i]);
	if (d->json)
		erofs_json_close(&d->js, ']');
	if (d->opened)
		err = walk_files(d, &cs);
	if (d->json)
		erofs_json_close(&d->js, '}');
out:
	erofs_cacheset_free(&cs);
	return err;
}
