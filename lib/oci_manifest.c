// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * OCI image indexes (and Docker manifest lists), image manifests and
 * image configs: what mkfs --oci needs of them, every field it uses
 * checked before use.  Nothing here fetches anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/oci.h"

#define MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define ANN_REF_NAME	"org.opencontainers.image.ref.name"

static const struct {
	const char *media_type;
	enum erofs_istream_codec codec;
} layer_types[] = {
	{ "application/vnd.oci.image.layer.v1.tar", EROFS_ISTREAM_RAW },
	{ "application/vnd.oci.image.layer.v1.tar+gzip", EROFS_ISTREAM_CODEC_GZIP },
	{ "application/vnd.oci.image.layer.v1.tar+zstd", EROFS_ISTREAM_CODEC_ZSTD },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar", EROFS_ISTREAM_RAW },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", EROFS_ISTREAM_CODEC_GZIP },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", EROFS_ISTREAM_CODEC_ZSTD },
	{ "application/vnd.docker.image.rootfs.diff.tar", EROFS_ISTREAM_RAW },
	{ "application/vnd.docker.image.rootfs.diff.tar.gzip", EROFS_ISTREAM_CODEC_GZIP },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", EROFS_ISTREAM_CODEC_GZIP },
};

enum erofs_oci_doc erofs_oci_doc_kind(const char *media_type,
				      const struct erofs_jval *doc)
{
	const char *mt = media_type && *media_type ? media_type :
			 erofs_jsonr_get_str(doc, "mediaType");

	if (mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)))
		return EROFS_OCI_DOC_INDEX;
	if (mt && (!strcmp(mt, MT_OCI_MANIFEST) ||
		   !strcmp(mt, MT_DOCKER_MANIFEST)))
		return EROFS_OCI_DOC_MANIFEST;
	if (mt)
		return EROFS_OCI_DOC_UNKNOWN;
	/* an OCI document may leave mediaType out: tell by its fields */
	if (erofs_jsonr_get(doc, "manifests"))
		return EROFS_OCI_DOC_INDEX;
	if (erofs_jsonr_get(doc, "layers"))
		return EROFS_OCI_DOC_MANIFEST;
	return EROFS_OCI_DOC_UNKNOWN;
}

static int bad(const struct erofs_msg *msg, const char *what, const char *why)
{
	erofs_err(msg, "%s: %s", what, why);
	return -EINVAL;
}

/* mediaType, digest and size of a descriptor */
static int parse_desc(const struct erofs_jval *d, const char *what,
		      struct erofs_oci_desc *out, const struct erofs_msg *msg)
{
	const char *mt = erofs_jsonr_get_str(d, "mediaType");
	const char *digest = erofs_jsonr_get_str(d, "digest");
	const char *hex = erofs_oci_digest_hex(digest);
	char why[160];

	memset(out, 0, sizeof(*out));
	if (!d || d->type != EROFS_JOBJECT)
		return bad(msg, what, "a descriptor that is not an object");
	if (!hex) {
		snprintf(why, sizeof(why), "descriptor digest \"%.80s\" is not sha256:<64 hex>",
			 digest ? digest : "(none)");
		return bad(msg, what, why);
	}
	memcpy(out->digest, hex, 65);
	if (erofs_jsonr_u64(erofs_jsonr_get(d, "size"), &out->size))
		return bad(msg, what, "descriptor without a valid size");
	if (mt && strlen(mt) >= sizeof(out->media_type))
		return bad(msg, what, "descriptor media type too long");
	if (mt)
		strcpy(out->media_type, mt);
	return 0;
}

/* "os/arch[/variant]" of an index entry, "" if it has none */
static void entry_platform(const struct erofs_jval *m, char *buf, size_t size)
{
	const struct erofs_jval *p = erofs_jsonr_get(m, "platform");
	const char *os = erofs_jsonr_get_str(p, "os");
	const char *arch = erofs_jsonr_get_str(p, "architecture");
	const char *variant = erofs_jsonr_get_str(p, "variant");

	if (!os || !arch)
		snprintf(buf, size, "%s", "");
	else if (variant && *variant)
		snprintf(buf, size, "%s/%s/%s", os, arch, variant);
	else
		snprintf(buf, size, "%s/%s", os, arch);
}

/* "linux/arm64" asks for any variant; "linux/arm64/v8" for that one */
static bool platform_matches(const char *have, const char *want)
{
	size_t n = strlen(want);

	return !strcmp(have, want) ||
	       (!strncmp(have, want, n) && have[n] == '/' &&
		strchr(want, '/') == strrchr(want, '/'));
}

static bool entry_wanted(const struct erofs_jval *m, const char *platform,
			 const char *tag)
{
	char have[160];

	if (tag) {
		const char *name = erofs_jsonr_get_str(
				erofs_jsonr_get(m, "annotations"), ANN_REF_NAME);

		return name && !strcmp(name, tag);
	}
	entry_platform(m, have, sizeof(have));
	return platform_matches(have, platform);
}

static void list_entries(const struct erofs_jval *ms, const char *what,
			 bool tags, const struct erofs_msg *msg)
{
	const struct erofs_jval *m;
	char have[160];

	for (m = ms->child; m; m = m->next) {
		const char *name = erofs_jsonr_get_str(
				erofs_jsonr_get(m, "annotations"), ANN_REF_NAME);

		entry_platform(m, have, sizeof(have));
		erofs_err(msg, "%s: has %s %s", what,
			  tags ? "tag" : "platform",
			  tags ? (name ? name : "(none)") :
				 (*have ? have : "(none)"));
	}
}

int erofs_oci_index_pick(const struct erofs_jval *index, const char *what,
			 const char *platform, const char *tag,
			 struct erofs_oci_desc *out,
			 const struct erofs_msg *msg)
{
	const struct erofs_jval *ms = erofs_jsonr_get(index, "manifests"), *m;
	char name[200];
	unsigned int i = 0;

	if (!ms || ms->type != EROFS_JARRAY)
		return bad(msg, what, "an image index without a manifests array");
	/* an OCI layout holding one image needs no tag */
	if (tag && !*tag)
		tag = NULL;
	for (m = ms->child; m; m = m->next, i++) {
		/* an index naming one image: no platform needed */
		if (!tag && ms->nr == 1 && !erofs_jsonr_get(m, "platform"))
			break;
		if (entry_wanted(m, platform, tag))
			break;
	}
	if (!m) {
		erofs_err(msg, "%s: no image for %s %s", what,
			  tag ? "tag" : "platform", tag ? tag : platform);
		list_entries(ms, what, tag, msg);
		return -ENOENT;
	}
	snprintf(name, sizeof(name), "%s, manifests[%u]", what, i);
	return parse_desc(m, name, out, msg);
}

static int layer_codec(const char *mt, const char *what,
		       enum erofs_istream_codec *codec,
		       const struct erofs_msg *msg)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(layer_types); i++)
		if (!strcmp(mt, layer_types[i].media_type)) {
			*codec = layer_types[i].codec;
			return 0;
		}
	erofs_err(msg, "%s: layer media type \"%s\" is not a tar (plain, gzip or zstd)",
		  what, mt);
	return -EOPNOTSUPP;
}

int erofs_oci_manifest_parse(const struct erofs_jval *manifest,
			     const char *what, struct erofs_oci_image *img,
			     const struct erofs_msg *msg)
{
	const struct erofs_jval *ls = erofs_jsonr_get(manifest, "layers"), *l;
	const struct erofs_jval *ver = erofs_jsonr_get(manifest, "schemaVersion");
	uint64_t v;
	char name[200];
	unsigned int i = 0;
	int err;

	memset(img, 0, sizeof(*img));
	if (erofs_jsonr_u64(ver, &v) || v != 2)
		return bad(msg, what, "not an image manifest of schemaVersion 2");
	err = parse_desc(erofs_jsonr_get(manifest, "config"), what,
			 &img->config, msg);
	if (err)
		return err;
	if (!ls || ls->type != EROFS_JARRAY)
		return bad(msg, what, "an image manifest without a layers array");
	if (!ls->nr || ls->nr > EROFS_OCI_MAX_LAYERS)
		return bad(msg, what, "no layers, or more than 1024");
	img->layers = calloc(ls->nr, sizeof(*img->layers));
	if (!img->layers)
		return -ENOMEM;
	img->nr_layers = ls->nr;
	for (l = ls->child; l; l = l->next, i++) {
		struct erofs_oci_layer *layer = &img->layers[i];

		snprintf(name, sizeof(name), "%s, layers[%u]", what, i);
		err = parse_desc(l, name, &layer->blob, msg);
		if (!err)
			err = layer_codec(layer->blob.media_type, name,
					  &layer->codec, msg);
		if (err)
			break;
	}
	if (err)
		erofs_oci_image_free(img);
	return err;
}

int erofs_oci_config_parse(const struct erofs_jval *config, const char *what,
			   struct erofs_oci_image *img,
			   const struct erofs_msg *msg)
{
	const struct erofs_jval *rootfs = erofs_jsonr_get(config, "rootfs");
	const struct erofs_jval *ids = erofs_jsonr_get(rootfs, "diff_ids"), *d;
	unsigned int i = 0;

	if (!ids || ids->type != EROFS_JARRAY)
		return bad(msg, what, "an image config without rootfs.diff_ids");
	if (ids->nr != img->nr_layers) {
		erofs_err(msg, "%s: %u diff_ids for %u layers", what, ids->nr,
			  img->nr_layers);
		return -EINVAL;
	}
	for (d = ids->child; d; d = d->next, i++) {
		const char *hex = erofs_oci_digest_hex(d->type == EROFS_JSTRING ?
						       d->str : NULL);

		if (!hex)
			return bad(msg, what, "a diff_id that is not sha256:<64 hex>");
		memcpy(img->layers[i].diff_id, hex, 65);
	}
	return 0;
}

void erofs_oci_image_free(struct erofs_oci_image *img)
{
	free(img->layers);
	memset(img, 0, sizeof(*img));
}
