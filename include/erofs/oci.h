/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OCI images as mkfs input: references (oci_ref.c), image indexes,
 * manifests and configs (oci_manifest.c), and the build from them
 * (oci.c, in liboci with the fetch library).
 */
#ifndef EROFS_OCI_H
#define EROFS_OCI_H

#include "erofs/istream.h"
#include "erofs/jsonread.h"
#include "erofs/print.h"

/* what mkfs --oci parses out of "--oci=[f|i][,KEY=VALUE...]" */
struct erofs_oci_opts {
	bool index;			/* --oci=i: data stays in the layers */
	const char *platform;		/* OS/ARCH[/VARIANT]; NULL: the host's */
	int layer;			/* >= 0: that layer alone, overlay-style */
	const char *blob;		/* "sha256:HEX": that layer alone */
	const char *username, *password;
	bool insecure;			/* http:// to the registry */
};

/*
 * "host[:port]/repo[:tag][@sha256:HEX]" (a name without a host is
 * Docker Hub's, "library/" added to a single component), or
 * "oci-layout:DIR[:TAG]" for an OCI image layout on disk.
 */
struct erofs_oci_ref {
	char *layout;			/* the layout's directory, or NULL */
	char *host;			/* registry "host[:port]" */
	char *repo;
	char *tag;			/* NULL: none given */
	char digest[65];		/* "@sha256:" given: its hex, else "" */
};

int erofs_oci_ref_parse(const char *s, struct erofs_oci_ref *ref,
			const struct erofs_msg *msg);
void erofs_oci_ref_free(struct erofs_oci_ref *ref);

/* the hex of an OCI digest "sha256:<64 lowercase hex>", or NULL */
const char *erofs_oci_digest_hex(const char *s);

/* "linux/amd64", "linux/arm64": the platform this program runs on */
void erofs_oci_host_platform(char *buf, size_t size);

#define EROFS_OCI_MAX_DOC	(4U << 20)	/* manifests, configs, indexes */
#define EROFS_OCI_MAX_LAYERS	1024

/* a content descriptor: what points at a manifest, a config, a layer */
struct erofs_oci_desc {
	char media_type[128];
	char digest[65];		/* sha256 hex */
	uint64_t size;
};

struct erofs_oci_layer {
	struct erofs_oci_desc blob;
	enum erofs_istream_codec codec;	/* from its media type */
	char diff_id[65];		/* sha256 hex of the tar, from the config */
};

struct erofs_oci_image {
	struct erofs_oci_desc config;
	struct erofs_oci_layer *layers;	/* bottom first */
	unsigned int nr_layers;
};

enum erofs_oci_doc {
	EROFS_OCI_DOC_UNKNOWN,
	EROFS_OCI_DOC_INDEX,		/* OCI index or Docker manifest list */
	EROFS_OCI_DOC_MANIFEST,		/* OCI or Docker image manifest */
};

/* by media type, or by the document's own mediaType/fields */
enum erofs_oci_doc erofs_oci_doc_kind(const char *media_type,
				      const struct erofs_jval *doc);

/*
 * The manifest of an index for @platform ("OS/ARCH[/VARIANT]"); with
 * @tag (an OCI layout's index.json), the entry whose ref.name is @tag.
 * -ENOENT (with a message listing what there is) if none matches.
 */
int erofs_oci_index_pick(const struct erofs_jval *index, const char *what,
			 const char *platform, const char *tag,
			 struct erofs_oci_desc *out,
			 const struct erofs_msg *msg);
/* the config and layers of an image manifest, every field checked */
int erofs_oci_manifest_parse(const struct erofs_jval *manifest,
			     const char *what, struct erofs_oci_image *img,
			     const struct erofs_msg *msg);
/* rootfs.diff_ids of the image config into img->layers[].diff_id */
int erofs_oci_config_parse(const struct erofs_jval *config, const char *what,
			   struct erofs_oci_image *img,
			   const struct erofs_msg *msg);
void erofs_oci_image_free(struct erofs_oci_image *img);

/* the build itself (liboci): a tree source for erofs_build_image() */
struct erofs_builder;
struct erofs_oci_build {
	const struct erofs_oci_opts *opts;
	const char *ref;		/* as given on the command line */
};
int erofs_oci_tree(struct erofs_builder *b, void *oci_build);

#endif
