#!/bin/bash
# erofs-utils 1.8.6 (Debian trixie's source, built once and cached) as a
# second writer and reader, on a tree of every content kind and size that
# matters to a compressor (gentree.py interop).
#
# Its images -- every algorithm with 4 KiB, 64 KiB and 1 MiB pclusters,
# ztailpacking, fragments, all-fragments, dedupe, fragments+dedupe,
# chunked files, --tar=f and --tar=i images, 512-byte blocks -- must be
# clean for our fsck.erofs, and our extraction must equal the kernel's
# mount of the same image field by field.  Our images must be clean for
# its fsck.erofs, and its extraction must equal our source tree.
#
# Every case runs even after one failed; the test then fails naming each.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to mount and to extract owners and devices"
require_mount
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"
require_erofs_utils 1.8.6-1

gentree interop "$T/src"
# extractions on a tmpfs: quicker, and the test disk stays clean
mkdir "$T/tm" "$T/mnt"
mount -t tmpfs -o size=512m none "$T/tm"
_mounts+=("$T/tm")

failed=()
# bad CASE WHAT [LOG]: record a failed case and show why
bad() {
	echo "FAILED: $1: $2"
	[ -z "${3:-}" ] || tail -n 8 "$3" | sed 's/^/    /'
	failed+=("$1: $2")
}

# theirs CASE MOUNT_OPTS OUR_FSCK_OPTS MKFS_OPTS... -- SOURCE: their
# image, the kernel's view of it, our check and our extraction
theirs() {
	local name=$1 mopts=$2 fopts=$3 img="$T/$1.img" rc=0
	shift 3
	local args=() src
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	src=$2
	note "theirs $name: ${args[*]}"
	"$EU_MKFS" "${args[@]}" "$img" "$src" >"$T/mkfs.log" 2>&1 ||
		{ bad "$name" "erofs-utils mkfs.erofs failed" "$T/mkfs.log"; return; }
	# shellcheck disable=SC2086
	mount -t erofs -o "ro$mopts" "$img" "$T/mnt" 2>"$T/mount.log" ||
		{ bad "$name" "the kernel refuses it: $(dmesg | tail -n 1)"; return; }
	_mounts+=("$T/mnt")
	rm -rf "$T/tm/x"
	# extraction checks every inode and byte as fsck without it does
	# shellcheck disable=SC2086
	"$FSCK" $fopts --extract="$T/tm/x" "$img" >"$T/extract.log" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		bad "$name" "our fsck --extract exits $rc" "$T/extract.log"
	elif ! treecmp "$T/mnt" "$T/tm/x" >"$T/cmp.log" 2>&1; then
		bad "$name" "our extraction differs from the kernel's mount" "$T/cmp.log"
	else
		tail -n 1 "$T/cmp.log"
	fi
	umount "$T/mnt"
	rm -f "$img"
}

# ours CASE MKFS_OPTS...: our image, checked and extracted by erofs-utils
# ($reader: 1.8.6's fsck.erofs unless a case needs another)
reader=$EU_FSCK
ours() {
	local name=$1 img="$T/ours-$1.img" rc=0
	shift
	note "ours $name: $* (read by $reader)"
	"$MKFS" --quiet "$@" "$img" "$T/src" >"$T/mkfs.log" 2>&1 ||
		{ bad "ours $name" "our mkfs.erofs failed" "$T/mkfs.log"; return; }
	rm -rf "$T/tm/y"
	"$reader" --extract="$T/tm/y" --xattrs "$img" >"$T/extract.log" 2>&1 || rc=$?
	if [ $rc != 0 ]; then
		bad "ours $name" "erofs-utils fsck.erofs --extract exits $rc" "$T/extract.log"
	elif ! treecmp "$T/src" "$T/tm/y" >"$T/cmp.log" 2>&1; then
		bad "ours $name" "erofs-utils' extraction differs from the source" "$T/cmp.log"
	else
		tail -n 1 "$T/cmp.log"
	fi
	rm -f "$img"
}

# every algorithm with every pcluster size, the features spread over
# them so that each appears with several algorithms; the combinations of
# the reported defects (lz4hc+fragments, lzma+all-fragments, dedupe with
# lz4 and lzma) are among them
while read -r alg C E; do
	opts=(-z"$alg" -C"$C")
	[ "$E" = - ] || opts+=(-E"$E")
	theirs "$alg-$C${E/#-/}" "" "" "${opts[@]}" -- "$T/src"
done <<'EOF'
lz4	4096	-
lz4	65536	dedupe
lz4	1048576	ztailpacking
lz4hc	4096	ztailpacking
lz4hc	65536	fragments
lz4hc	1048576	fragments,dedupe
lzma	4096	dedupe
lzma	65536	-
lzma	1048576	all-fragments
deflate	4096	fragments
deflate	65536	ztailpacking
deflate	1048576	-
zstd	4096	-
zstd	65536	fragments,dedupe
zstd	1048576	all-fragments
EOF
theirs plain "" "" -- "$T/src"
theirs b512 "" "" -b512 -- "$T/src"
theirs b512-lz4hc-fragments "" "" -b512 -zlz4hc -Efragments -- "$T/src"
theirs chunk4k "" "" --chunksize=4096 -- "$T/src"
theirs chunk64k "" "" --chunksize=65536 -- "$T/src"

tar -C "$T/src" --xattrs --xattrs-include='*' --numeric-owner -cf "$T/src.tar" .
theirs tar-full "" "" --tar=f -- "$T/src.tar"
# index mode: the data stays in the tar, the image's extra device
loop_attach "$T/src.tar"
theirs tar-index ",device=$LOOP" "--device=$T/src.tar" --tar=i -- "$T/src.tar"

ours plain
ours lz4hc-64k -zlz4hc -C65536
ours lzma-1m -zlzma -C1048576
ours deflate -zdeflate
ours ztailpacking -zlz4hc -Eztailpacking
ours fragments -zlzma -C65536 -Efragments
# Two bugs of 1.8.6 that 1.9 fixed, each with a valid image (the kernel
# reads both right): its fsck crashes computing the superblock checksum
# of 512-byte blocks (a length of 512 - 1024), and its extraction leaves
# empty a chunked file whose chunks are all holes.  1.9.4 reads those.
if eu19=$("$TOP/scripts/build-erofs-utils.sh" 1.9.4-1 2>"$T/eu19.err"); then
	reader=${eu19##*$'\n'}/fsck.erofs
	ours chunked --chunksize=4096
	ours b512 -b512 -zlz4hc
	reader=$EU_FSCK
else
	echo "SKIPPED PART: chunked holes and 512-byte blocks need erofs-utils 1.9.4:" \
		"$(sed -n 's/^build-erofs-utils: //p' "$T/eu19.err")"
fi

# what our mkfs may not write yet: asked for, then used
mkdir -p "$T/probe"
cp -a "$T/src/same" "$T/probe/"
if "$MKFS" --quiet -zzstd "$T/probe.img" "$T/probe" >"$T/probe.log" 2>&1; then
	ours zstd -zzstd -C65536
	ours zstd-1m-fragments -zzstd -C1048576 -Efragments
else
	echo "SKIPPED PART: our mkfs.erofs cannot write zstd: $(sed -n 1p "$T/probe.log")"
fi
# erofs-utils' -E dedupe stores a pcluster once for data that is not a
# whole equal file (a prefix, an appended tail); our whole-file dedup
# alone does not shrink this directory
rm -f "$T/probe/same/b" "$T/probe/same/hard-too" "$T/probe.img"
"$MKFS" --quiet -zlz4hc "$T/probe-nodedupe.img" "$T/probe" >/dev/null 2>&1 || true
if "$MKFS" --quiet -zlz4hc -Ededupe "$T/probe.img" "$T/probe" >"$T/probe.log" 2>&1 &&
	[ "$(stat -c %s "$T/probe.img")" -lt "$(stat -c %s "$T/probe-nodedupe.img")" ]; then
	ours dedupe -zlz4hc -Ededupe
	ours lzma-dedupe-fragments -zlzma -C65536 -Ededupe,fragments
else
	echo "SKIPPED PART: our mkfs.erofs -E dedupe does not deduplicate compressed data yet" \
		"($(stat -c %s "$T/probe.img" 2>/dev/null || echo no) image bytes with it," \
		"$(stat -c %s "$T/probe-nodedupe.img") without)"
fi

if [ ${#failed[@]} -gt 0 ]; then
	printf '  %s\n' "${failed[@]}"
	fail "${#failed[@]} interop case(s) failed (listed above)"
fi
echo "erofs-utils $EU_VERSION and ours read each other's images identically"
