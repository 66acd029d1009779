// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mkfs --oci: the tree of an OCI image, from a registry or an OCI image
 * layout on disk.  The reference resolves to an image manifest (through
 * an index for the platform asked for), every manifest and config is
 * checked against its digest, and each layer blob streams from the fetch
 * source through its decompressor into the tar reader, its sha256
 * checked as it goes by (oci_blob.c): no layer is ever stored whole.
 *
 * All layers: merged bottom-up, whiteouts applied (tar_merge.c), the
 * flattened root filesystem.  layer=N or blob=DIGEST: that layer alone,
 * its whiteouts kept as overlayfs metadata, as --tar=f --aufs makes it.
 * --oci=i: file data stays in each layer's uncompressed tar, extra
 * device N being layer N-1, tagged with the layer's diff_id, which the
 * tar's sha256 must equal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/build.h"
#include "erofs/util.h"
#include "oci_priv.h"
#include "tar_priv.h"

#define ACCEPT_ALL "application/vnd.oci.image.index.v1+json, " \
	"application/vnd.docker.distribution.manifest.list.v2+json, " \
	"application/vnd.oci.image.manifest.v1+json, " \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MAX_NESTING	4		/* indexes of indexes */

struct oci_ctx {
	struct erofs_builder *b;
	const struct erofs_oci_opts *o;
	const struct erofs_msg *msg;
	const char *name;		/* the reference as given */
	struct erofs_oci_ref ref;
	struct erofs_source *src;
	char platform[64];
	struct erofs_oci_image img;
	unsigned int first, end;	/* the layers built: [first, end) */
};

static int open_source(struct oci_ctx *c)
{
	struct erofs_source_opts so = { 0 };
	char *spec, *userpass = NULL;
	int err;

	if (c->ref.layout) {
		if (asprintf(&spec, "dir:%s/blobs/sha256", c->ref.layout) < 0)
			return -ENOMEM;
	} else {
		if (asprintf(&spec, "oci://%s/%s%s", c->ref.host, c->ref.repo,
			     c->o->insecure ? "?insecure" : "") < 0)
			return -ENOMEM;
		/*
		 * without them the registry source looks in the Docker
		 * config: auths, credHelpers, credsStore
		 */
		if ((c->o->username || c->o->password) &&
		    asprintf(&userpass, "%s:%s", c->o->username ?: "",
			     c->o->password ?: "") < 0) {
			free(spec);
			return -ENOMEM;
		}
	}
	so.spec = spec;
	so.auth = userpass;
	err = erofs_source_open(&c->src, &so, c->msg);
	free(spec);
	free(userpass);
	return err;
}

static int parse_doc(struct oci_ctx *c, const char *text, size_t len,
		     const char *what, struct erofs_jval **root)
{
	char why[128];
	int err = erofs_jsonr_parse(text, len, root, why, sizeof(why));

	if (err == -EINVAL)
		erofs_err(c->msg, "%s: not valid JSON: %s", what, why);
	return err;
}

/* a manifest or index by its descriptor, digest checked */
static int fetch_desc(struct oci_ctx *c, const struct erofs_oci_desc *d,
		      char **text, size_t *len)
{
	uint8_t digest[EROFS_SHA256_SIZE];
	char ref[72], type[128], hex[65];
	int err;

	/* in a layout every manifest is a blob; a registry serves them apart */
	if (c->ref.layout) {
		err = erofs_oci_blob_fetch(c->src, d, text, c->msg);
		*len = d->size;
		return err;
	}
	snprintf(ref, sizeof(ref), "sha256:%s", d->digest);
	err = erofs_source_get_manifest(c->src, ref, ACCEPT_ALL,
					EROFS_OCI_MAX_DOC, text, len, type,
					sizeof(type));
	if (err)
		return err;
	erofs_sha256(*text, *len, digest);
	erofs_sha256_hex(digest, hex);
	if (!strcmp(hex, d->digest) && *len == d->size)
		return 0;
	erofs_err(c->msg, "manifest sha256:%s: the registry sent %zu bytes of digest sha256:%s",
		  d->digest, *len, hex);
	free(*text);
	return -EBADMSG;
}

/* the first document: a layout's index.json, or what a tag names */
static int fetch_top(struct oci_ctx *c, char **text, size_t *len,
		     char *type, size_t type_size)
{
	uint8_t digest[EROFS_SHA256_SIZE];
	char path[4200], ref[72], hex[65];
	int err;

	type[0] = '\0';
	if (c->ref.layout) {
		snprintf(path, sizeof(path), "%s/index.json", c->ref.layout);
		*text = erofs_read_small_file(path, EROFS_OCI_MAX_DOC, len);
		if (!*text) {
			err = -errno;
			erofs_err(c->msg, "%s: cannot read: %s (not an OCI image layout?)",
				  path, strerror(errno));
			return err;
		}
		return 0;
	}
	if (c->ref.digest[0])
		snprintf(ref, sizeof(ref), "sha256:%s", c->ref.digest);
	err = erofs_source_get_manifest(c->src,
					c->ref.digest[0] ? ref : c->ref.tag,
					ACCEPT_ALL, EROFS_OCI_MAX_DOC, text,
					len, type, type_size);
	if (err || !c->ref.digest[0])
		return err;
	erofs_sha256(*text, *len, digest);
	erofs_sha256_hex(digest, hex);
	if (!strcmp(hex, c->ref.digest))
		return 0;
	erofs_err(c->msg, "%s: the registry sent a manifest of digest sha256:%s",
		  c->name, hex);
	free(*text);
	return -EBADMSG;
}

/* reference -> index(es) -> the image manifest, parsed into c->img */
static int resolve(struct oci_ctx *c)
{
	struct erofs_oci_desc d;
	struct erofs_jval *root = NULL;
	enum erofs_oci_doc kind;
	char *text, type[128], what[128];
	unsigned int depth;
	size_t len;
	int err;

	err = fetch_top(c, &text, &len, type, sizeof(type));
	snprintf(what, sizeof(what), "%s", c->ref.layout ? "index.json" : c->name);
	for (depth = 0; !err; depth++) {
		/* a media type with parameters ("; charset=") is the same */
		type[strcspn(type, "; ")] = '\0';
		err = parse_doc(c, text, len, what, &root);
		free(text);
		if (err)
			break;
		kind = erofs_oci_doc_kind(type, root);
		if (kind == EROFS_OCI_DOC_MANIFEST)
			break;
		if (kind != EROFS_OCI_DOC_INDEX || depth >= MAX_NESTING) {
			erofs_err(c->msg, "%s: neither an image index nor an image manifest%s",
				  what, depth ? " (or nested too deep)" : "");
			err = -EINVAL;
			break;
		}
		/* index.json names images by tag; a registry index by platform */
		err = erofs_oci_index_pick(root, what, c->platform,
					   depth ? NULL : c->ref.layout ?
					   c->ref.tag : NULL, &d, c->msg);
		erofs_jsonr_free(root);
		root = NULL;
		if (!err) {
			snprintf(type, sizeof(type), "%s", d.media_type);
			snprintf(what, sizeof(what), "manifest sha256:%.12s...",
				 d.digest);
			err = fetch_desc(c, &d, &text, &len);
		}
	}
	if (!err)
		err = erofs_oci_manifest_parse(root, what, &c->img, c->msg);
	erofs_jsonr_free(root);
	return err;
}

static int read_config(struct oci_ctx *c)
{
	struct erofs_jval *root;
	char *text;
	int err;

	err = erofs_oci_blob_fetch(c->src, &c->img.config, &text, c->msg);
	if (err)
		return err;
	err = parse_doc(c, text, c->img.config.size, "image config", &root);
	free(text);
	if (err)
		return err;
	err = erofs_oci_config_parse(root, "image config", &c->img, c->msg);
	erofs_jsonr_free(root);
	return err;
}

/* layer=N or blob=DIGEST, else every layer */
static int select_layers(struct oci_ctx *c)
{
	char hex[65];
	unsigned int i;

	c->first = 0;
	c->end = c->img.nr_layers;
	if (c->o->layer >= 0) {
		if ((unsigned int)c->o->layer >= c->img.nr_layers) {
			erofs_err(c->msg, "%s: layer=%d, but the image has %u layers (0 to %u)",
				  c->name, c->o->layer, c->img.nr_layers,
				  c->img.nr_layers - 1);
			return -ENOENT;
		}
		c->first = c->o->layer;
	} else if (c->o->blob) {
		if (erofs_source_parse_digest(c->o->blob, hex)) {
			erofs_err(c->msg, "blob=%s: not a sha256 digest",
				  c->o->blob);
			return -EINVAL;
		}
		for (i = 0; i < c->img.nr_layers; i++)
			if (!strcmp(c->img.layers[i].blob.digest, hex))
				break;
		if (i == c->img.nr_layers) {
			erofs_err(c->msg, "%s: no layer is blob sha256:%s",
				  c->name, hex);
			return -ENOENT;
		}
		c->first = i;
	} else {
		return 0;
	}
	c->end = c->first + 1;
	return 0;
}

static unsigned int codec_bit(enum erofs_istream_codec codec)
{
	switch (codec) {
	case EROFS_ISTREAM_CODEC_GZIP:	return EROFS_ISTREAM_GZIP;
	case EROFS_ISTREAM_CODEC_XZ:	return EROFS_ISTREAM_XZ;
	case EROFS_ISTREAM_CODEC_ZSTD:	return EROFS_ISTREAM_ZSTD;
	default:			return 0;
	}
}

/* index mode: the layer's tar must be the one the image config names */
static int check_diff_id(const struct tar_reader *r,
			 const struct erofs_oci_layer *l,
			 const struct erofs_msg *msg)
{
	if (!memcmp(r->diff_id, l->diff_id, 64))
		return 0;
	erofs_err(msg, "its tar has the digest sha256:%.64s, the image config says sha256:%s",
		  r->diff_id, l->diff_id);
	return -EBADMSG;
}

static int open_blob(struct oci_ctx *c, unsigned int i,
		     struct erofs_oci_blob **blob)
{
	const struct erofs_oci_layer *l = &c->img.layers[i];

	return erofs_oci_blob_open(blob, c->src, l->blob.digest, l->blob.size);
}

/* layer @i from @blob, already asked for; the blob is closed */
static int read_layer(struct oci_ctx *c, struct tar_reader *r, unsigned int i,
		      struct erofs_oci_blob *blob)
{
	const struct erofs_oci_layer *l = &c->img.layers[i];
	struct erofs_build_device *dev = NULL;
	char prefix[160], what[64], why[160];
	/* every message about the layer's entries names the layer */
	struct erofs_msg msg = *c->msg;
	int err;

	msg.prog = prefix;
	snprintf(prefix, sizeof(prefix), "%s: layer %u (blob sha256:%.12s...)",
		 c->msg->prog, i, l->blob.digest);
	snprintf(what, sizeof(what), "layer %u/%u (bytes)", i + 1,
		 c->img.nr_layers);
	err = erofs_istream_open_pull(&r->is, &msg, erofs_oci_blob_pull,
				      blob, "blob", codec_bit(l->codec),
				      l->blob.size);
	if (!err && r->is.codec != l->codec) {
		erofs_err(&msg, "its media type says %s, but the blob is not",
			  erofs_istream_codec_name(l->codec));
		err = -EBADMSG;
	}
	if (!err) {
		r->layer = i - c->first;
		r->device = i - c->first + 1;
		r->progress_what = what;
		r->msg = &msg;
		if (c->o->index)
			dev = &c->b->devices[r->device - 1];
		err = tar_layer_begin(r, prefix);
		if (!err)
			err = tar_read_layer(r);
		/* reads the blob to its end, so before its digest is known */
		if (!err && dev)
			err = tar_index_layer(r, dev);
		r->msg = c->msg;
	}
	if (!err) {
		err = erofs_oci_blob_finish(blob, why, sizeof(why));
		if (err)
			erofs_err(&msg, "%s", why);
	}
	if (!err && dev)
		err = check_diff_id(r, l, &msg);
	erofs_layer_gzip_exit(&r->gz);
	erofs_istream_close(&r->is);
	r->is.digest = NULL;
	r->is.units = NULL;
	erofs_oci_blob_close(blob);
	return err;
}

static int read_layers(struct oci_ctx *c)
{
	struct erofs_builder *b = c->b;
	struct erofs_oci_blob *blob = NULL;
	struct tar_reader r;
	unsigned int i;
	int err;

	err = tar_reader_init(&r, b);
	/* one layer alone stays an overlayfs layer; the image is flattened */
	r.merge = c->o->layer < 0 && !c->o->blob;
	if (!err && c->o->index) {
		b->devices = calloc(c->end - c->first, sizeof(*b->devices));
		if (!b->devices)
			err = -ENOMEM;
		else
			b->nr_devices = c->end - c->first;
	}
	/*
	 * The next layer's first ranges download while this one is read:
	 * layers come in parallel, their entries in order.
	 */
	if (!err)
		err = open_blob(c, c->first, &blob);
	for (i = c->first; !err && i < c->end; i++) {
		struct erofs_oci_blob *cur = blob, *next = NULL;

		if (i + 1 < c->end)
			err = open_blob(c, i + 1, &next);
		blob = next;
		if (err)
			erofs_oci_blob_close(cur);
		else
			err = read_layer(c, &r, i, cur);
	}
	if (err)
		erofs_oci_blob_close(blob);
	if (!err)
		err = tar_reader_finish(&r);
	tar_reader_exit(&r);
	return err;
}

int erofs_oci_tree(struct erofs_builder *b, void *priv)
{
	const struct erofs_oci_build *ob = priv;
	struct oci_ctx c = { .b = b, .o = ob->opts, .msg = b->msg,
			     .name = ob->ref };
	int err;

	if (c.o->platform)
		snprintf(c.platform, sizeof(c.platform), "%s", c.o->platform);
	else
		erofs_oci_host_platform(c.platform, sizeof(c.platform));
	err = erofs_oci_ref_parse(ob->ref, &c.ref, c.msg);
	if (err)
		return err;
	err = open_source(&c);
	if (!err)
		err = resolve(&c);
	if (!err)
		err = read_config(&c);
	if (!err)
		err = select_layers(&c);
	if (!err)
		err = read_layers(&c);
	erofs_oci_image_free(&c.img);
	if (c.src)
		erofs_source_close(c.src);
	erofs_oci_ref_free(&c.ref);
	return err;
}
