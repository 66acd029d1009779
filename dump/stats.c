// SPDX-License-Identifier: GPL-2.0-or-later
/* dump.erofs -S and --pcpubuf: figures from one walk of the image. */
#include <string.h>
#include "dump.h"

static int collect(struct dump_ctx *d)
{
	struct erofs_stats_opts opts = { .page_size = d->cfg->page_size };
	int err;

	if (d->have_stats)
		return 0;
	err = erofs_stats_collect(&d->img, &opts, &d->st);
	if (err)
		return err;
	d->have_stats = true;
	if (d->st.errors)
		d->status |= EXIT_DAMAGED;
	if (d->st.unsupported)
		d->status |= EXIT_UNSUPPORTED;
	return 0;
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * part / whole : 0;
}

static void size_label(unsigned int i, char *out, size_t len)
{
	static const char *const units[] = { "", "K", "M", "G" };
	uint64_t lo = erofs_stats_size_bucket_start(i);
	uint64_t hi = erofs_stats_size_bucket_start(i + 1);
	unsigned int ul = 0, uh = 0;

	while (lo >= 1024 && !(lo % 1024)) {
		lo /= 1024;
		ul++;
	}
	if (i + 1 == EROFS_STATS_SIZE_BUCKETS) {
		snprintf(out, len, ">= %llu%s", (unsigned long long)lo,
			 units[ul]);
		return;
	}
	while (hi >= 1024 && !(hi % 1024)) {
		hi /= 1024;
		uh++;
	}
	snprintf(out, len, "%llu%s..%llu%s", (unsigned long long)lo,
		 units[ul], (unsigned long long)hi, units[uh]);
}

static void text_counts(const struct erofs_stats *st)
{
	printf("Files: %llu names, %llu inodes\n",
	       (unsigned long long)st->names, (unsigned long long)st->inodes);
	printf("  %-22s %llu\n", "directories", (unsigned long long)st->types.dirs);
	printf("  %-22s %llu\n", "regular files", (unsigned long long)st->types.regular);
	printf("  %-22s %llu\n", "symlinks", (unsigned long long)st->types.symlinks);
	printf("  %-22s %llu\n", "character devices", (unsigned long long)st->types.chrdevs);
	printf("  %-22s %llu\n", "block devices", (unsigned long long)st->types.blkdevs);
	printf("  %-22s %llu\n", "fifos", (unsigned long long)st->types.fifos);
	printf("  %-22s %llu\n", "sockets", (unsigned long long)st->types.sockets);
	printf("  %-22s %llu\n", "hard links (extra names)",
	       (unsigned long long)st->hardlinks);
	printf("  regular files: %llu flat, %llu chunk-based, %llu compressed\n",
	       (unsigned long long)st->flat_files,
	       (unsigned long long)st->chunked_files,
	       (unsigned long long)st->compressed_files);
}

static void text_sizes(const struct erofs_stats *st)
{
	char label[32];
	unsigned int i;

	printf("File sizes (regular files, bytes):\n");
	for (i = 0; i < EROFS_STATS_SIZE_BUCKETS; i++) {
		size_label(i, label, sizeof(label));
		printf("  %-14s %10llu  %6.2f%%\n", label,
		       (unsigned long long)st->size_hist[i],
		       pct(st->size_hist[i], st->types.regular));
	}
}

/* fragments are stored by the packed inode, counted here once */
static void text_packed(const struct erofs_stats *st)
{
	if (!st->has_packed)
		return;
	printf("Fragments: %llu files (%llu of them whole) keep %llu bytes in the packed inode\n",
	       (unsigned long long)st->fragment_files,
	       (unsigned long long)st->whole_fragment_files,
	       (unsigned long long)st->fragment_bytes);
	printf("Packed inode: nid %llu, %llu bytes in %llu compressed pclusters, %llu bytes stored\n",
	       (unsigned long long)st->packed_nid,
	       (unsigned long long)st->packed_bytes,
	       (unsigned long long)st->packed_pclusters,
	       (unsigned long long)st->packed_stored);
}

static void json_packed(struct erofs_json *js, const struct erofs_stats *st)
{
	erofs_json_u64(js, "fragment_files", st->fragment_files);
	erofs_json_u64(js, "whole_fragment_files", st->whole_fragment_files);
	if (!st->has_packed) {
		erofs_json_null(js, "packed_inode");
		return;
	}
	erofs_json_open(js, "packed_inode", '{');
	erofs_json_u64(js, "nid", st->packed_nid);
	erofs_json_u64(js, "size", st->packed_bytes);
	erofs_json_u64(js, "pclusters", st->packed_pclusters);
	erofs_json_u64(js, "stored_bytes", st->packed_stored);
	erofs_json_close(js, '}');
}

static void text_storage(const struct erofs_stats *st)
{
	unsigned int i;

	printf("Content of regular files (bytes):\n");
	printf("  %-22s %llu\n", "total", (unsigned long long)st->bytes);
	printf("  %-22s %llu\n", "inline", (unsigned long long)st->inline_bytes);
	printf("  %-22s %llu\n", "plain", (unsigned long long)st->plain_bytes);
	printf("  %-22s %llu\n", "compressed", (unsigned long long)st->compressed_bytes);
	printf("  %-22s %llu\n", "fragments", (unsigned long long)st->fragment_bytes);
	printf("  %-22s %llu\n", "holes", (unsigned long long)st->hole_bytes);
	printf("  %-22s %llu\n", "shared", (unsigned long long)st->shared_bytes);
	printf("  %-22s %llu\n", "stored", (unsigned long long)st->stored_bytes);
	printf("  %-22s %.4f (total / stored)\n", "compression ratio",
	       ratio(st->bytes - st->hole_bytes, st->stored_bytes));
	text_packed(st);
	printf("Compression by algorithm:\n");
	for (i = 0; i < Z_EROFS_COMPRESSION_MAX; i++) {
		const struct erofs_alg_stats *a = &st->alg[i];

		if (!a->files)
			continue;
		printf("  %-8s %llu files, %llu pclusters, %llu -> %llu bytes, ratio %.4f\n",
		       erofs_algorithm_name(i), (unsigned long long)a->files,
		       (unsigned long long)(a->pclusters + a->inline_pclusters),
		       (unsigned long long)a->logical,
		       (unsigned long long)a->physical,
		       ratio(a->logical, a->physical));
	}
	printf("  %-8s %llu pclusters kept uncompressed\n", "plain",
	       (unsigned long long)st->stored_pclusters);
}

static void text_pclusters(const struct erofs_stats *st)
{
	unsigned int i;
	uint32_t lo, hi;
	char label[32];

	printf("Pcluster sizes (blocks, compressed pclusters):\n");
	for (i = 0; i < EROFS_STATS_PCL_BUCKETS; i++) {
		erofs_stats_pcl_bucket_range(i, &lo, &hi);
		if (lo == hi)
			snprintf(label, sizeof(label), "%u", lo);
		else
			snprintf(label, sizeof(label), "%u-%u", lo, hi);
		printf("  %-14s %10llu  %6.2f%%\n", label,
		       (unsigned long long)st->pcl_hist[i],
		       pct(st->pcl_hist[i], st->pclusters));
	}
}

static void json_alg(struct erofs_json *js, unsigned int i,
		     const struct erofs_alg_stats *a)
{
	erofs_json_open(js, erofs_algorithm_name(i), '{');
	erofs_json_u64(js, "files", a->files);
	erofs_json_u64(js, "pclusters", a->pclusters);
	erofs_json_u64(js, "inline_pclusters", a->inline_pclusters);
	erofs_json_u64(js, "logical_bytes", a->logical);
	erofs_json_u64(js, "physical_bytes", a->physical);
	erofs_json_double(js, "ratio", ratio(a->logical, a->physical));
	erofs_json_u64(js, "max_pcluster_blocks", a->max_pclusterblks);
	erofs_json_u64(js, "not_inplace", a->not_inplace);
	erofs_json_close(js, '}');
}

static void json_hists(struct erofs_json *js, const struct erofs_stats *st)
{
	unsigned int i;
	uint32_t lo, hi;

	erofs_json_open(js, "size_histogram", '[');
	for (i = 0; i < EROFS_STATS_SIZE_BUCKETS; i++) {
		erofs_json_open(js, NULL, '{');
		erofs_json_u64(js, "from", erofs_stats_size_bucket_start(i));
		if (i + 1 < EROFS_STATS_SIZE_BUCKETS)
			erofs_json_u64(js, "to", erofs_stats_size_bucket_start(i + 1));
		else
			erofs_json_null(js, "to");
		erofs_json_u64(js, "count", st->size_hist[i]);
		erofs_json_close(js, '}');
	}
	erofs_json_close(js, ']');
	erofs_json_open(js, "pcluster_histogram", '[');
	for (i = 0; i < EROFS_STATS_PCL_BUCKETS; i++) {
		erofs_stats_pcl_bucket_range(i, &lo, &hi);
		erofs_json_open(js, NULL, '{');
		erofs_json_u64(js, "min_blocks", lo);
		erofs_json_u64(js, "max_blocks", hi);
		erofs_json_u64(js, "count", st->pcl_hist[i]);
		erofs_json_close(js, '}');
	}
	erofs_json_close(js, ']');
}

static void json_stats(struct erofs_json *js, const struct erofs_stats *st)
{
	unsigned int i;

	erofs_json_open(js, "stats", '{');
	erofs_json_u64(js, "names", st->names);
	erofs_json_u64(js, "inodes", st->inodes);
	erofs_json_open(js, "types", '{');
	erofs_json_u64(js, "directories", st->types.dirs);
	erofs_json_u64(js, "regular", st->types.regular);
	erofs_json_u64(js, "symlinks", st->types.symlinks);
	erofs_json_u64(js, "chrdevs", st->types.chrdevs);
	erofs_json_u64(js, "blkdevs", st->types.blkdevs);
	erofs_json_u64(js, "fifos", st->types.fifos);
	erofs_json_u64(js, "sockets", st->types.sockets);
	erofs_json_close(js, '}');
	erofs_json_u64(js, "hardlinks", st->hardlinks);
	erofs_json_u64(js, "flat_files", st->flat_files);
	erofs_json_u64(js, "chunked_files", st->chunked_files);
	erofs_json_u64(js, "compressed_files", st->compressed_files);
	json_hists(js, st);
	erofs_json_open(js, "bytes", '{');
	erofs_json_u64(js, "total", st->bytes);
	erofs_json_u64(js, "inline", st->inline_bytes);
	erofs_json_u64(js, "plain", st->plain_bytes);
	erofs_json_u64(js, "compressed", st->compressed_bytes);
	erofs_json_u64(js, "fragments", st->fragment_bytes);
	erofs_json_u64(js, "holes", st->hole_bytes);
	erofs_json_u64(js, "shared", st->shared_bytes);
	erofs_json_u64(js, "stored", st->stored_bytes);
	erofs_json_close(js, '}');
	erofs_json_double(js, "compression_ratio",
			  ratio(st->bytes - st->hole_bytes, st->stored_bytes));
	json_packed(js, st);
	erofs_json_open(js, "algorithms", '{');
	for (i = 0; i < Z_EROFS_COMPRESSION_MAX; i++)
		if (st->alg[i].files)
			json_alg(js, i, &st->alg[i]);
	erofs_json_close(js, '}');
	erofs_json_u64(js, "stored_pclusters", st->stored_pclusters);
	erofs_json_u64(js, "pclusters", st->pclusters);
	erofs_json_u64(js, "errors", st->errors);
	erofs_json_u64(js, "unsupported", st->unsupported);
	erofs_json_close(js, '}');
}

int show_stats(struct dump_ctx *d)
{
	int err = collect(d);

	if (err)
		return err;
	if (d->json) {
		json_stats(&d->js, &d->st);
		return 0;
	}
	text_counts(&d->st);
	text_sizes(&d->st);
	text_storage(&d->st);
	text_pclusters(&d->st);
	if (d->st.errors)
		printf("%llu damaged file(s) or directories skipped\n",
		       (unsigned long long)d->st.errors);
	return 0;
}

/* the superblock's LZ4 max_pclusterblks: what the kernel sizes buffers by */
static unsigned int sb_lz4_pclusterblks(struct erofs_image *img)
{
	struct erofs_compr_cfg cfgs[EROFS_MAX_COMPR_CFGS];
	int i, n = erofs_read_compr_cfgs(img, cfgs, ARRAY_SIZE(cfgs));

	for (i = 0; i < n; i++)
		if (cfgs[i].alg == Z_EROFS_COMPRESSION_LZ4 && cfgs[i].valid)
			return cfgs[i].lz4.max_pclusterblks ?: 1;
	/* no LZ4 record: the kernel keeps one page */
	return 1;
}

struct pcpubuf {
	unsigned int page_size, cpus;
	uint64_t max_bytes, pages, per_cpu, total;
	unsigned int sb_blocks;
};

static void pcpubuf_text(struct dump_ctx *d, const struct pcpubuf *p)
{
	const struct erofs_stats *st = &d->st;
	unsigned int i;

	printf("Per-CPU decompression buffers:\n");
	printf("  %-34s %u bytes\n", "page size:", p->page_size);
	printf("  %-34s %u blocks (%llu bytes)\n", "largest pcluster:",
	       st->max_pclusterblks, (unsigned long long)p->max_bytes);
	printf("  %-34s %llu pages (%llu bytes)\n", "per CPU:",
	       (unsigned long long)p->pages, (unsigned long long)p->per_cpu);
	printf("  %-34s %u\n", "CPUs:", p->cpus);
	printf("  %-34s %llu bytes\n", "total:", (unsigned long long)p->total);
	printf("  %-34s %u blocks\n", "superblock lz4 max_pclusterblks:",
	       p->sb_blocks);
	printf("  %-34s %llu\n", "compressed pclusters:",
	       (unsigned long long)st->pclusters);
	for (i = 0; i < Z_EROFS_COMPRESSION_MAX; i++)
		if (st->alg[i].pclusters)
			printf("    %-8s %llu, largest %u blocks, %llu not in place\n",
			       erofs_algorithm_name(i),
			       (unsigned long long)st->alg[i].pclusters,
			       st->alg[i].max_pclusterblks,
			       (unsigned long long)st->alg[i].not_inplace);
	printf("  %-34s %llu (%.2f%% of all pclusters)\n",
	       "not decompressible in place:",
	       (unsigned long long)st->not_inplace,
	       pct(st->not_inplace, st->pclusters));
	if (st->inplace_unknown)
		printf("  %-34s %llu (on devices not attached: use --device)\n",
		       "LZ4 pclusters not judged:",
		       (unsigned long long)st->inplace_unknown);
}

static void pcpubuf_json(struct dump_ctx *d, const struct pcpubuf *p)
{
	const struct erofs_stats *st = &d->st;
	struct erofs_json *js = &d->js;
	unsigned int i;

	erofs_json_open(js, "pcpubuf", '{');
	erofs_json_u64(js, "page_size", p->page_size);
	erofs_json_u64(js, "max_pcluster_blocks", st->max_pclusterblks);
	erofs_json_u64(js, "max_pcluster_bytes", p->max_bytes);
	erofs_json_u64(js, "pages_per_cpu", p->pages);
	erofs_json_u64(js, "bytes_per_cpu", p->per_cpu);
	erofs_json_u64(js, "cpus", p->cpus);
	erofs_json_u64(js, "total_bytes", p->total);
	erofs_json_u64(js, "sb_lz4_max_pclusterblks", p->sb_blocks);
	erofs_json_u64(js, "pclusters", st->pclusters);
	erofs_json_u64(js, "not_inplace", st->not_inplace);
	erofs_json_double(js, "not_inplace_percent",
			  pct(st->not_inplace, st->pclusters));
	erofs_json_u64(js, "inplace_unknown", st->inplace_unknown);
	erofs_json_open(js, "algorithms", '{');
	for (i = 0; i < Z_EROFS_COMPRESSION_MAX; i++) {
		if (!st->alg[i].pclusters)
			continue;
		erofs_json_open(js, erofs_algorithm_name(i), '{');
		erofs_json_u64(js, "pclusters", st->alg[i].pclusters);
		erofs_json_u64(js, "max_pcluster_blocks",
			       st->alg[i].max_pclusterblks);
		erofs_json_u64(js, "not_inplace", st->alg[i].not_inplace);
		erofs_json_close(js, '}');
	}
	erofs_json_close(js, '}');
	erofs_json_close(js, '}');
}

int show_pcpubuf(struct dump_ctx *d)
{
	struct pcpubuf p = {
		.page_size = d->cfg->page_size, .cpus = d->cfg->cpus,
	};
	int err = collect(d);

	if (err)
		return err;
	p.max_bytes = (uint64_t)d->st.max_pclusterblks << d->img.blkszbits;
	p.pages = DIV_ROUND_UP(p.max_bytes, p.page_size);
	p.per_cpu = p.pages * p.page_size;
	p.total = p.per_cpu * p.cpus;
	p.sb_blocks = sb_lz4_pclusterblks(&d->img);
	if (d->json)
		pcpubuf_json(d, &p);
	else
		pcpubuf_text(d, &p);
	return 0;
}
