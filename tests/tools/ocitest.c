// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Unit checks of the parts of mkfs --oci that need no network: the strict
 * JSON reader (lib/jsonread.c), image references (lib/oci_ref.c) and
 * indexes, manifests and configs (lib/oci_manifest.c).  Prints each
 * failure; exits 1 if any.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erofs/oci.h"

static int failures;
static const struct erofs_msg quiet = { "ocitest", EROFS_MSG_ERR };

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		putchar('\n');						\
		failures++;						\
	}								\
} while (0)

static struct erofs_jval *parse(const char *s)
{
	struct erofs_jval *v = NULL;
	char why[128];

	if (erofs_jsonr_parse(s, strlen(s), &v, why, sizeof(why)))
		return NULL;
	return v;
}

static void json_valid(void)
{
	struct erofs_jval *v = parse(" {\"a\": [1, -2.5e3, {\"b\": \"x\\u00e9\\ud83d\\ude00\\n\"}],"
				     " \"n\": null, \"t\": true, \"f\": false, \"a\": 7} ");
	const struct erofs_jval *a, *b;
	uint64_t n;

	CHECK(v && v->type == EROFS_JOBJECT && v->nr == 5, "object of 5");
	a = erofs_jsonr_get(v, "a");
	/* the last of duplicate names wins */
	CHECK(a && !erofs_jsonr_u64(a, &n) && n == 7, "duplicate name: last wins");
	a = v ? v->child : NULL;
	CHECK(a && a->type == EROFS_JARRAY && a->nr == 3, "array of 3");
	b = a && a->child && a->child->next ? a->child->next->next : NULL;
	CHECK(b && !strcmp(erofs_jsonr_get_str(b, "b") ?: "",
			   "x\xc3\xa9\xf0\x9f\x98\x80\n"), "escapes to UTF-8");
	CHECK(erofs_jsonr_get(v, "n")->type == EROFS_JNULL, "null");
	CHECK(!erofs_jsonr_get(v, "missing"), "missing member");
	CHECK(!erofs_jsonr_get_str(v, "t"), "get_str of a non-string");
	erofs_jsonr_free(v);

	/* credentials: every string wiped on the way out, nested ones too */
	v = parse("{\"auths\": {\"h\": {\"auth\": \"YTpi\"}}, \"x\": [\"s\", 1]}");
	CHECK(v && !strcmp(erofs_jsonr_get_str(erofs_jsonr_get(
		erofs_jsonr_get(v, "auths"), "h"), "auth") ?: "", "YTpi"),
	      "nested member");
	erofs_jsonr_free_secret(v);
	erofs_jsonr_free_secret(NULL);

	v = parse("18446744073709551615");
	CHECK(v && !erofs_jsonr_u64(v, &n) && n == UINT64_MAX, "UINT64_MAX");
	erofs_jsonr_free(v);
	v = parse("18446744073709551616");
	CHECK(v && erofs_jsonr_u64(v, &n), "2^64 is not a u64");
	erofs_jsonr_free(v);
	v = parse("-1");
	CHECK(v && erofs_jsonr_u64(v, &n), "-1 is not a u64");
	erofs_jsonr_free(v);
	v = parse("1.5");
	CHECK(v && erofs_jsonr_u64(v, &n), "1.5 is not a u64");
	erofs_jsonr_free(v);
}

static void json_invalid(void)
{
	static const char *const bad[] = {
		"", " ", "{\"a\":1,}", "[1,]", "[01]", "[-]", "[1.]", "[1e]",
		"[.5]", "[+1]", "tru", "nul", "\"abc", "\"\\u0000\"",
		"\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\x\"",
		"\"a\tb\"", "{\"a\" 1}", "{a:1}", "[1] x", "[1 2]", "{\"a\":}",
		"\"\\u12\"", "['a']", "[1,,2]",
	};
	char deep[200];
	unsigned int i;
	struct erofs_jval *v;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		v = parse(bad[i]);
		CHECK(!v, "accepted invalid JSON <%s>", bad[i]);
		erofs_jsonr_free(v);
	}
	/* 64 levels are fine, 65 are refused */
	memset(deep, '[', 64);
	memset(deep + 64, ']', 64);
	deep[128] = '\0';
	v = parse(deep);
	CHECK(v, "64 levels refused");
	erofs_jsonr_free(v);
	memset(deep, '[', 65);
	memset(deep + 65, ']', 65);
	deep[130] = '\0';
	v = parse(deep);
	CHECK(!v, "65 levels accepted");
	erofs_jsonr_free(v);
	/* a NUL inside the text is not whitespace */
	CHECK(erofs_jsonr_parse("[1]\0", 4, &v, deep, sizeof(deep)) == -EINVAL,
	      "NUL after the value accepted");
}

static void ref_ok(const char *s, const char *layout, const char *host,
		   const char *repo, const char *tag, bool digest)
{
	struct erofs_oci_ref r;

	if (erofs_oci_ref_parse(s, &r, &quiet)) {
		CHECK(0, "refused reference %s", s);
		return;
	}
#define SAME(a, b) ((!(a) && !(b)) || ((a) && (b) && !strcmp(a, b)))
	CHECK(SAME(r.layout, layout) && SAME(r.host, host) &&
	      SAME(r.repo, repo) && SAME(r.tag, tag) &&
	      !!r.digest[0] == digest,
	      "%s -> layout %s host %s repo %s tag %s digest %s", s,
	      r.layout, r.host, r.repo, r.tag, r.digest);
	erofs_oci_ref_free(&r);
}

static void refs(void)
{
	static const char *const bad[] = {
		"h.io/App", "h.io/app@sha256:xyz", "h.io/app:", "oci-layout:",
		"h.io//x", "h.io/app/", "h.io/app:-x", "h.io/app@md5:00",
		"oci-layout:dir:", "", "h.io/a b",
	};
	const char *d = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char buf[200];
	struct erofs_oci_ref r;
	unsigned int i;

	ref_ok("127.0.0.1:5000/a/b:v1", NULL, "127.0.0.1:5000", "a/b", "v1", false);
	ref_ok("localhost/app", NULL, "localhost", "app", "latest", false);
	ref_ok("ubuntu", NULL, "registry-1.docker.io", "library/ubuntu", "latest", false);
	ref_ok("user/app:1.0", NULL, "registry-1.docker.io", "user/app", "1.0", false);
	ref_ok("docker://h.io/x/y", NULL, "h.io", "x/y", "latest", false);
	snprintf(buf, sizeof(buf), "h.io/app@sha256:%s", d);
	ref_ok(buf, NULL, "h.io", "app", NULL, true);
	snprintf(buf, sizeof(buf), "h.io:443/app:t@sha256:%s", d);
	ref_ok(buf, NULL, "h.io:443", "app", "t", true);
	ref_ok("oci-layout:/a/b:v1", "/a/b", NULL, NULL, "v1", false);
	ref_ok("oci-layout:./dir", "./dir", NULL, NULL, NULL, false);
	ref_ok("oci-layout:/x:y/z", "/x:y/z", NULL, NULL, NULL, false);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(erofs_oci_ref_parse(bad[i], &r, &quiet) == -EINVAL,
		      "accepted bad reference <%s>", bad[i]);
	}

	/* OCI digests: lower case, exactly 64 digits */
	snprintf(buf, sizeof(buf), "sha256:%s", d);
	CHECK(erofs_oci_digest_hex(buf) == buf + 7, "a digest refused");
	buf[7] = 'A';
	CHECK(!erofs_oci_digest_hex(buf), "upper case digest accepted");
	snprintf(buf, sizeof(buf), "sha256:%s0", d);
	CHECK(!erofs_oci_digest_hex(buf), "65 digits accepted");
	buf[70] = '\0';
	CHECK(!erofs_oci_digest_hex(buf), "63 digits accepted");
	CHECK(!erofs_oci_digest_hex(d) && !erofs_oci_digest_hex(NULL),
	      "digest without sha256: accepted");
	erofs_oci_host_platform(buf, sizeof(buf));
	CHECK(!strncmp(buf, "linux/", 6), "host platform %s", buf);
}

#define D(c) "\"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c "\""

static void indexes(void)
{
	struct erofs_jval *v = parse("{\"schemaVersion\": 2, \"manifests\": ["
		"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": " D("a") ", \"size\": 10,"
		" \"platform\": {\"os\": \"linux\", \"architecture\": \"amd64\"}},"
		"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": " D("b") ", \"size\": 11,"
		" \"platform\": {\"os\": \"linux\", \"architecture\": \"arm64\", \"variant\": \"v8\"},"
		" \"annotations\": {\"org.opencontainers.image.ref.name\": \"arm\"}},"
		"{\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": " D("c") ", \"size\": 12,"
		" \"platform\": {\"os\": \"unknown\", \"architecture\": \"unknown\"}}]}");
	struct erofs_oci_desc d;

	CHECK(v && erofs_oci_doc_kind(NULL, v) == EROFS_OCI_DOC_INDEX, "index kind");
	CHECK(!erofs_oci_index_pick(v, "t", "linux/amd64", NULL, &d, &quiet) &&
	      d.digest[0] == 'a' && d.size == 10, "linux/amd64");
	CHECK(!erofs_oci_index_pick(v, "t", "linux/arm64", NULL, &d, &quiet) &&
	      d.digest[0] == 'b', "linux/arm64 matches v8");
	CHECK(!erofs_oci_index_pick(v, "t", "linux/arm64/v8", NULL, &d, &quiet) &&
	      d.digest[0] == 'b', "linux/arm64/v8");
	CHECK(erofs_oci_index_pick(v, "t", "linux/arm64/v7", NULL, &d, &quiet) == -ENOENT,
	      "linux/arm64/v7 matched");
	CHECK(erofs_oci_index_pick(v, "t", "linux/amd", NULL, &d, &quiet) == -ENOENT,
	      "a prefix of an arch matched");
	CHECK(!erofs_oci_index_pick(v, "t", "linux/amd64", "arm", &d, &quiet) &&
	      d.digest[0] == 'b', "by tag");
	CHECK(erofs_oci_index_pick(v, "t", "linux/amd64", "nope", &d, &quiet) == -ENOENT,
	      "unknown tag");
	erofs_jsonr_free(v);

	v = parse("{\"manifests\": [{\"digest\": \"sha256:00\", \"size\": 1}]}");
	CHECK(v && erofs_oci_index_pick(v, "t", "linux/amd64", NULL, &d, &quiet) == -EINVAL,
	      "short digest accepted");
	erofs_jsonr_free(v);
	v = parse("{\"manifests\": [{\"digest\": " D("a") ", \"size\": -1}]}");
	CHECK(v && erofs_oci_index_pick(v, "t", "linux/amd64", NULL, &d, &quiet) == -EINVAL,
	      "negative size accepted");
	erofs_jsonr_free(v);
	v = parse("{\"manifests\": {}}");
	CHECK(v && erofs_oci_index_pick(v, "t", "linux/amd64", NULL, &d, &quiet) == -EINVAL,
	      "manifests not an array accepted");
	erofs_jsonr_free(v);
}

static void manifests(void)
{
	struct erofs_jval *v = parse("{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\","
		" \"config\": {\"mediaType\": \"x\", \"digest\": " D("1") ", \"size\": 5},"
		" \"layers\": ["
		"{\"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\", \"digest\": " D("2") ", \"size\": 6},"
		"{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+zstd\", \"digest\": " D("3") ", \"size\": 7},"
		"{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar\", \"digest\": " D("4") ", \"size\": 8}]}");
	struct erofs_jval *cfg;
	struct erofs_oci_image img;

	CHECK(v && erofs_oci_doc_kind(NULL, v) == EROFS_OCI_DOC_MANIFEST, "manifest kind");
	CHECK(!erofs_oci_manifest_parse(v, "t", &img, &quiet) && img.nr_layers == 3 &&
	      img.layers[0].codec == EROFS_ISTREAM_CODEC_GZIP &&
	      img.layers[1].codec == EROFS_ISTREAM_CODEC_ZSTD &&
	      img.layers[2].codec == EROFS_ISTREAM_RAW &&
	      img.layers[2].blob.size == 8 && img.config.digest[0] == '1',
	      "manifest layers");
	cfg = parse("{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [" D("5") "," D("6") "]}}");
	CHECK(cfg && erofs_oci_config_parse(cfg, "c", &img, &quiet) == -EINVAL,
	      "2 diff_ids for 3 layers accepted");
	erofs_jsonr_free(cfg);
	cfg = parse("{\"rootfs\": {\"diff_ids\": [" D("5") "," D("6") "," D("7") "]}}");
	CHECK(cfg && !erofs_oci_config_parse(cfg, "c", &img, &quiet) &&
	      img.layers[2].diff_id[0] == '7', "diff_ids");
	erofs_jsonr_free(cfg);
	erofs_oci_image_free(&img);
	erofs_jsonr_free(v);

	v = parse("{\"schemaVersion\": 2, \"config\": {\"digest\": " D("1") ", \"size\": 5},"
		  " \"layers\": [{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+encrypted\","
		  " \"digest\": " D("2") ", \"size\": 6}]}");
	CHECK(v && erofs_oci_manifest_parse(v, "t", &img, &quiet) == -EOPNOTSUPP,
	      "an encrypted layer accepted");
	erofs_jsonr_free(v);
	v = parse("{\"schemaVersion\": 1, \"config\": {\"digest\": " D("1") ", \"size\": 5}, \"layers\": []}");
	CHECK(v && erofs_oci_manifest_parse(v, "t", &img, &quiet) == -EINVAL,
	      "schemaVersion 1 accepted");
	erofs_jsonr_free(v);
	v = parse("{\"schemaVersion\": 2, \"config\": {\"digest\": " D("1") ", \"size\": 5}, \"layers\": []}");
	CHECK(v && erofs_oci_manifest_parse(v, "t", &img, &quiet) == -EINVAL,
	      "no layers accepted");
	erofs_jsonr_free(v);
}

/*
 * Damaged documents: bytes flipped, dropped, duplicated or cut.  Whatever
 * parses is handed to the index and manifest readers: none may crash,
 * read out of bounds (ASan) or leak.
 */
static void mutations(void)
{
	static const char doc[] = "{\"schemaVersion\": 2, \"manifests\": [{"
		"\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\", \"digest\": " D("a") ", \"size\": 10,"
		" \"platform\": {\"os\": \"linux\", \"architecture\": \"amd64\"}}],"
		" \"config\": {\"digest\": " D("1") ", \"size\": 5}, \"layers\": ["
		"{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\", \"digest\": " D("2") ", \"size\": 6}],"
		" \"rootfs\": {\"diff_ids\": [" D("3") "]}, \"s\": \"\\u00e9\\ud83d\\ude00\"}";
	static const char junk[] = "{}[]\",:\\u0123456789eE.-+ntfa\t\n";
	char buf[sizeof(doc) * 2], why[128];
	unsigned int seed = 12345, i, k, parsed = 0;

	for (i = 0; i < 20000; i++) {
		size_t len = sizeof(doc) - 1;
		struct erofs_jval *v = NULL;
		struct erofs_oci_image img;
		struct erofs_oci_desc d;

		memcpy(buf, doc, len);
		for (k = 0; len && k < 1 + rand_r(&seed) % 4; k++) {
			size_t at = rand_r(&seed) % len;

			switch (rand_r(&seed) % 4) {
			case 0:		/* a byte replaced */
				buf[at] = junk[rand_r(&seed) % (sizeof(junk) - 1)];
				break;
			case 1:		/* a byte dropped */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			case 2:		/* a byte doubled */
				if (len + 1 >= sizeof(buf))
					break;
				memmove(buf + at + 1, buf + at, len - at);
				len++;
				break;
			default:	/* cut */
				len = at;
			}
		}
		if (erofs_jsonr_parse(buf, len, &v, why, sizeof(why)))
			continue;
		parsed++;
		erofs_oci_doc_kind(NULL, v);
		erofs_oci_index_pick(v, "m", "linux/amd64", NULL, &d, &quiet);
		erofs_oci_index_pick(v, "m", "linux/amd64", "v1", &d, &quiet);
		if (!erofs_oci_manifest_parse(v, "m", &img, &quiet)) {
			erofs_oci_config_parse(v, "m", &img, &quiet);
			erofs_oci_image_free(&img);
		}
		if (i & 1)
			erofs_jsonr_free(v);
		else
			erofs_jsonr_free_secret(v);
	}
	CHECK(parsed > 100, "only %u mutated documents parsed", parsed);
}

int main(void)
{
	json_valid();
	json_invalid();
	refs();
	indexes();
	manifests();
	mutations();
	if (failures)
		return 1;
	printf("all oci parsing checks passed\n");
	return 0;
}
