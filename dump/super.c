// SPDX-License-Identifier: GPL-2.0-or-later
/* dump.erofs -s: the superblock, field by field. */
#include <string.h>
#include <time.h>
#include "erofs/util.h"
#include "dump.h"

#define LABEL	"%-46s"

/* names of the bits of @mask set in the image, space-separated */
static void feature_names(bool compat, uint32_t mask, char *out, size_t len)
{
	const struct erofs_feature_desc *f;
	size_t n, i, used = 0;
	uint32_t unknown;

	out[0] = '\0';
	f = erofs_feature_table(&n);
	for (i = 0; i < n; i++)
		if (f[i].compat == compat && (mask & f[i].bit))
			used += snprintf(out + used, len - MIN(used, len), "%s%s",
					 used ? " " : "", f[i].name);
	unknown = erofs_features_unknown(compat, mask);
	if (unknown)
		snprintf(out + MIN(used, len), len - MIN(used, len),
			 "%sunknown(0x%x)", used ? " " : "", unknown);
}

static void json_features(struct erofs_json *js, const char *key,
			  bool compat, uint32_t mask)
{
	const struct erofs_feature_desc *f;
	size_t n, i;

	f = erofs_feature_table(&n);
	erofs_json_open(js, key, '[');
	for (i = 0; i < n; i++)
		if (f[i].compat == compat && (mask & f[i].bit))
			erofs_json_str(js, NULL, f[i].name);
	erofs_json_close(js, ']');
}

static void cfg_text(const struct erofs_compr_cfg *c, char *out, size_t len)
{
	const char *name = erofs_algorithm_name(c->alg);

	if (!c->valid)
		snprintf(out, len, "%s (config of %u bytes)", name, c->size);
	else if (c->alg == Z_EROFS_COMPRESSION_LZ4)
		snprintf(out, len, "lz4 (max_distance %u, max_pclusterblks %u)",
			 c->lz4.max_distance, c->lz4.max_pclusterblks);
	else if (c->alg == Z_EROFS_COMPRESSION_LZMA)
		snprintf(out, len, "lzma (dict_size %u, format %u)",
			 c->lzma.dict_size, c->lzma.format);
	else if (c->alg == Z_EROFS_COMPRESSION_ZSTD)
		snprintf(out, len, "zstd (format %u, windowlog %u)",
			 c->zstd.format, c->zstd.windowlog + 10);
	else
		snprintf(out, len, "deflate (windowbits %u)",
			 c->deflate.windowbits);
}

static void json_cfg(struct erofs_json *js, const struct erofs_compr_cfg *c)
{
	erofs_json_open(js, NULL, '{');
	erofs_json_str(js, "name", erofs_algorithm_name(c->alg));
	erofs_json_u64(js, "id", c->alg);
	erofs_json_u64(js, "config_size", c->size);
	if (c->valid && c->alg == Z_EROFS_COMPRESSION_LZ4) {
		erofs_json_u64(js, "max_distance", c->lz4.max_distance);
		erofs_json_u64(js, "max_pclusterblks", c->lz4.max_pclusterblks);
	} else if (c->valid && c->alg == Z_EROFS_COMPRESSION_LZMA) {
		erofs_json_u64(js, "dict_size", c->lzma.dict_size);
		erofs_json_u64(js, "format", c->lzma.format);
	} else if (c->valid && c->alg == Z_EROFS_COMPRESSION_DEFLATE) {
		erofs_json_u64(js, "windowbits", c->deflate.windowbits);
	} else if (c->valid && c->alg == Z_EROFS_COMPRESSION_ZSTD) {
		erofs_json_u64(js, "format", c->zstd.format);
		erofs_json_u64(js, "windowlog", c->zstd.windowlog + 10);
	}
	erofs_json_close(js, '}');
}

/* the device's tag as text: our blobs are named by a hex digest */
static void tag_text(const uint8_t *tag, char out[65])
{
	size_t len = strnlen((const char *)tag, 64);

	memcpy(out, tag, len);
	out[len] = '\0';
}

static void text_devices(const struct erofs_image *img)
{
	unsigned int i;
	char tag[65];

	printf(LABEL "%u\n", "Filesystem extra devices:", img->nr_devs - 1);
	for (i = 1; i < img->nr_devs; i++) {
		tag_text(img->devs[i].tag, tag);
		printf("  device %u: tag \"", i);
		put_escaped(tag, strlen(tag));
		printf("\", %llu blocks, mapped at block %llu%s%s\n",
		       (unsigned long long)img->devs[i].blocks,
		       (unsigned long long)img->devs[i].mapped_blkaddr,
		       img->devs[i].fd >= 0 ? ", attached: " : "",
		       img->devs[i].fd >= 0 ? img->devs[i].path : "");
	}
}

static void json_devices(struct erofs_json *js, const struct erofs_image *img)
{
	unsigned int i;
	char tag[65];

	erofs_json_open(js, "devices", '[');
	for (i = 1; i < img->nr_devs; i++) {
		tag_text(img->devs[i].tag, tag);
		erofs_json_open(js, NULL, '{');
		erofs_json_u64(js, "id", i);
		erofs_json_str(js, "tag", tag);
		erofs_json_u64(js, "blocks", img->devs[i].blocks);
		erofs_json_u64(js, "mapped_blkaddr", img->devs[i].mapped_blkaddr);
		if (img->devs[i].fd >= 0)
			erofs_json_str(js, "path", img->devs[i].path);
		else
			erofs_json_null(js, "path");
		erofs_json_close(js, '}');
	}
	erofs_json_close(js, ']');
}

/* "trusted.overlay." for a long prefix, or why it cannot be told */
static void prefix_text(const struct erofs_image *img, unsigned int i,
			char *out)
{
	int len = erofs_xattr_full_name((struct erofs_image *)img,
					EROFS_XATTR_LONG_PREFIX | i, "", 0,
					out);

	if (len == -ENODATA)
		snprintf(out, EROFS_XATTR_NAME_MAX, "(base index %u: no namespace)%.*s",
			 img->prefixes[i].base_index,
			 img->prefixes[i].infix_len, img->prefixes[i].infix);
	else if (len < 0)
		snprintf(out, EROFS_XATTR_NAME_MAX, "(unreadable: %s)",
			 strerror(-len));
}

static void print_prefixes(const struct erofs_image *img)
{
	char name[EROFS_XATTR_NAME_MAX];
	unsigned int i;

	printf(LABEL "%u, from %s\n", "Filesystem long xattr prefixes:",
	       img->xattr_prefix_count,
	       img->feature_compat & EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX ?
	       "the primary device" :
	       img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX ?
	       "the metabox inode" : img->packed_nid ? "the packed inode" :
	       "the primary device");
	for (i = 0; i < img->xattr_prefix_count; i++) {
		prefix_text(img, i, name);
		printf("  prefix %u: \"", i);
		put_escaped(name, strlen(name));
		printf("\"\n");
	}
}

static void json_prefixes(struct erofs_json *js,
			  const struct erofs_image *img)
{
	char name[EROFS_XATTR_NAME_MAX];
	unsigned int i;

	erofs_json_open(js, "xattr_prefixes", '[');
	for (i = 0; i < img->xattr_prefix_count; i++) {
		prefix_text(img, i, name);
		erofs_json_str(js, NULL, name);
	}
	erofs_json_close(js, ']');
}

static void kver_text(const struct erofs_kver_req *k, char *out, size_t len)
{
	if (k->kver == EROFS_KVER_NONE)
		snprintf(out, len, "none (%s)", k->why);
	else
		snprintf(out, len, "%u.%u (%s)", EROFS_KVER_MAJOR(k->kver),
			 EROFS_KVER_MINOR(k->kver), k->why);
}

static void print_text(struct dump_ctx *d, const struct erofs_compr_cfg *cfgs,
		       int ncfgs, const struct erofs_kver_req *k)
{
	const struct erofs_image *img = &d->img;
	char buf[512], uuid[37], when[64];
	time_t t = img->build_time;
	int i;

	printf(LABEL "0x%08X\n", "Filesystem magic number:", img->magic);
	printf(LABEL "%u\n", "Filesystem blocksize:", img->blksz);
	printf(LABEL "%llu\n", "Filesystem blocks:",
	       (unsigned long long)img->blocks);
	printf(LABEL "%u\n", "Filesystem inode metadata start block:",
	       img->meta_blkaddr);
	printf(LABEL "%u\n", "Filesystem shared xattr metadata start block:",
	       img->xattr_blkaddr);
	printf(LABEL "%llu\n", "Filesystem root nid:",
	       (unsigned long long)img->root_nid);
	if (img->packed_nid)
		printf(LABEL "%llu\n", "Filesystem packed nid:",
		       (unsigned long long)img->packed_nid);
	if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX)
		printf(LABEL "%llu\n", "Filesystem metabox nid:",
		       (unsigned long long)img->metabox_nid);
	if (img->xattr_prefix_count)
		print_prefixes(img);
	printf(LABEL "%llu\n", "Filesystem inode count:",
	       (unsigned long long)img->inos);
	/* local time as ctime() gives it, as erofs-utils prints it */
	if (!ctime_r(&t, when))
		snprintf(when, sizeof(when), "%lld\n", (long long)t);
	printf(LABEL "%s", "Filesystem created:", when);
	format_time(img->build_time, img->build_time_nsec, when, sizeof(when));
	printf(LABEL "%s\n", "Filesystem build time:", when);
	/* compat names first, then incompat, as erofs-utils lists them */
	feature_names(true, img->feature_compat, buf, sizeof(buf));
	printf(LABEL "%s", "Filesystem features:", buf);
	feature_names(false, img->feature_incompat, buf, sizeof(buf));
	printf("%s%s\n", *buf ? " " : "", buf);
	printf(LABEL, "Filesystem compression algorithms:");
	for (i = 0; i < ncfgs; i++) {
		cfg_text(&cfgs[i], buf, sizeof(buf));
		printf("%s%s", i ? ", " : "", buf);
	}
	printf("%s\n", ncfgs ? "" : img->feature_incompat &
	       EROFS_FEATURE_INCOMPAT_ZERO_PADDING ? "lz4 (no configs)" :
	       "none recorded");
	erofs_uuid_to_string(img->uuid, uuid);
	printf(LABEL "%s\n", "Filesystem UUID:", uuid);
	printf(LABEL, "Filesystem label:");
	put_escaped(img->volume_name, strlen(img->volume_name));
	putchar('\n');
	text_devices(img);
	show_annex(d);
	kver_text(k, buf, sizeof(buf));
	printf(LABEL "%s, on %u-byte pages\n", "Oldest Linux that mounts it:",
	       buf, d->cfg->page_size);
}

static void print_json(struct dump_ctx *d, const struct erofs_compr_cfg *cfgs,
		       int ncfgs, const struct erofs_kver_req *k)
{
	const struct erofs_image *img = &d->img;
	struct erofs_json *js = &d->js;
	char uuid[37], ver[16];
	int i;

	erofs_json_open(js, "superblock", '{');
	erofs_json_u64(js, "magic", img->magic);
	erofs_json_u64(js, "blocksize", img->blksz);
	erofs_json_u64(js, "blocks", img->blocks);
	erofs_json_u64(js, "meta_blkaddr", img->meta_blkaddr);
	erofs_json_u64(js, "xattr_blkaddr", img->xattr_blkaddr);
	erofs_json_u64(js, "root_nid", img->root_nid);
	/* the fragments' inode (or the prefixes'), in no directory */
	if (img->packed_nid)
		erofs_json_u64(js, "packed_nid", img->packed_nid);
	else
		erofs_json_null(js, "packed_nid");
	if (img->feature_incompat & EROFS_FEATURE_INCOMPAT_METABOX)
		erofs_json_u64(js, "metabox_nid", img->metabox_nid);
	else
		erofs_json_null(js, "metabox_nid");
	json_prefixes(js, img);
	erofs_json_u64(js, "inodes", img->inos);
	erofs_json_i64(js, "build_time", img->build_time);
	erofs_json_u64(js, "build_time_nsec", img->build_time_nsec);
	erofs_json_u64(js, "feature_compat", img->feature_compat);
	erofs_json_u64(js, "feature_incompat", img->feature_incompat);
	json_features(js, "compat_features", true, img->feature_compat);
	json_features(js, "incompat_features", false, img->feature_incompat);
	erofs_json_u64(js, "unknown_compat",
		       erofs_features_unknown(true, img->feature_compat));
	erofs_json_u64(js, "unknown_incompat",
		       erofs_features_unknown(false, img->feature_incompat));
	erofs_json_open(js, "compression", '[');
	for (i = 0; i < ncfgs; i++)
		json_cfg(js, &cfgs[i]);
	erofs_json_close(js, ']');
	erofs_uuid_to_string(img->uuid, uuid);
	erofs_json_str(js, "uuid", uuid);
	erofs_json_str(js, "label", img->volume_name);
	erofs_json_u64(js, "checksum", img->checksum);
	json_devices(js, img);
	show_annex(d);
	erofs_json_open(js, "min_kernel", '{');
	if (k->kver == EROFS_KVER_NONE) {
		erofs_json_null(js, "version");
	} else {
		snprintf(ver, sizeof(ver), "%u.%u", EROFS_KVER_MAJOR(k->kver),
			 EROFS_KVER_MINOR(k->kver));
		erofs_json_str(js, "version", ver);
	}
	erofs_json_str(js, "reason", k->why);
	erofs_json_u64(js, "page_size", d->cfg->page_size);
	erofs_json_close(js, '}');
	erofs_json_close(js, '}');
}

int show_super(struct dump_ctx *d)
{
	struct erofs_compr_cfg cfgs[EROFS_MAX_COMPR_CFGS];
	struct erofs_kver_req k;
	int ncfgs;

	ncfgs = erofs_read_compr_cfgs(&d->img, cfgs, ARRAY_SIZE(cfgs));
	if (ncfgs < 0) {
		note_error(d, ncfgs);
		ncfgs = 0;
	}
	/* a compressed image without configs has its lz4 settings implied */
	erofs_min_kernel(&d->img, d->cfg->page_size,
			 d->img.feature_incompat &
			 (EROFS_FEATURE_INCOMPAT_ZERO_PADDING |
			  EROFS_FEATURE_INCOMPAT_COMPR_CFGS), &k);
	if (d->json)
		print_json(d, cfgs, ncfgs, &k);
	else
		print_text(d, cfgs, ncfgs, &k);
	return 0;
}
