#!/bin/bash
# Compressed images: every algorithm x pcluster size over every file shape
# is mounted by the kernel and read back equal, sequentially and at 1,000
# random ranges; our fsck.erofs extracts the same tree; Debian's
# fsck.erofs accepts the lz4 and lz4hc images and extracts them equal,
# erofs-utils 1.8.6's the zstd ones.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

gentree compress "$T/src"
have_eu=false
erofs_utils 1.8.6-1 && have_eu=true

for alg in lz4 lz4hc lzma deflate zstd; do
	for C in 4096 16384 65536 1048576; do
		img="$T/$alg-$C.img"
		note "-z $alg -C $C"
		"$MKFS" --quiet -z "$alg" -C "$C" -T 0 "$img" "$T/src"
		kernel_mount "$img" "$T/mnt"
		# random ranges first, while nothing is cached yet
		"$PY" "$TOOLS/randread.py" "$T/src" "$T/mnt" 1000
		treecmp "$T/src" "$T/mnt" --mtime 0
		kernel_umount "$T/mnt"
		# our own reader agrees with the kernel
		rm -rf "$T/x"
		"$FSCK" --quiet --extract="$T/x" "$img" 2>"$T/fsck.err" ||
			fail "our fsck.erofs rejects $alg -C $C: $(cat "$T/fsck.err")"
		treecmp "$T/src" "$T/x" --mtime 0 >/dev/null ||
			fail "our fsck.erofs extracts $alg -C $C differently"
		case $alg in
		zstd)	if $have_eu; then
				rm -rf "$T/eu"
				"$EU/fsck.erofs" --extract="$T/eu" "$img" >/dev/null ||
					fail "erofs-utils 1.8.6 fsck.erofs rejects zstd -C $C"
				diff -r "$T/src" "$T/eu" >/dev/null ||
					fail "erofs-utils 1.8.6 extracts zstd -C $C differently"
			fi ;;
		lz4*)	rm -rf "$T/deb"
			"$DEB_FSCK" --extract="$T/deb" "$img" >/dev/null ||
				fail "Debian fsck.erofs rejects $alg -C $C"
			diff -r "$T/src" "$T/deb" >/dev/null ||
				fail "Debian fsck.erofs extracts $alg -C $C differently" ;;
		esac
		[ "$(stat -c %s "$img")" -lt "$(du -sb "$T/src" | cut -f1)" ] ||
			fail "$alg -C $C: image not smaller than its source"
		rm -f "$img"
	done
done

note "what reaches the disk: layouts and map headers"
"$MKFS" --quiet -z lz4hc -C 65536 -T 0 "$T/h.img" "$T/src"
zh() { "$PY" "$TOOLS/zheader.py" "$T/h.img" "$1"; }
[ "$(zh /text-4m)" = "layout=3 advise=0x7 alg=0" ] || fail "text-4m: $(zh /text-4m)"
[ "$(zh /random-3m)" = "layout=0" ] || fail "incompressible file not stored plain: $(zh /random-3m)"
[ "$(zh /one-byte)" = "layout=2" ] || fail "one-byte file: $(zh /one-byte)"
[ "$(zh /empty)" = "layout=0" ] || fail "empty file: $(zh /empty)"
"$MKFS" --quiet -z lz4 -T 0 "$T/n.img" "$T/src"
[ "$(zheader() { :; }; "$PY" "$TOOLS/zheader.py" "$T/n.img" /text-4m)" = "layout=3 advise=0x1 alg=0" ] ||
	fail "one-block pclusters: $("$PY" "$TOOLS/zheader.py" "$T/n.img" /text-4m)"

note "-E legacy-compress: full indexes"
for alg in lz4 lzma; do
	"$MKFS" --quiet -z $alg -C 65536 -E legacy-compress -T 0 "$T/l.img" "$T/src"
	[ "$("$PY" "$TOOLS/zheader.py" "$T/l.img" /text-4m | cut -d' ' -f1)" = layout=1 ] ||
		fail "$alg: legacy-compress did not write full indexes"
	kernel_mount "$T/l.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt" --mtime 0
	kernel_umount "$T/mnt"
done

note "smaller block sizes"
for bs in 512 1024 2048; do
	"$MKFS" --quiet -b $bs -z lz4hc -C 32768 -T 0 "$T/b.img" "$T/src"
	kernel_mount "$T/b.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt" --mtime 0
	kernel_umount "$T/mnt"
done

note "--compress-hints picks the algorithm and pcluster size per path"
# Debian's dump.erofs, which zheader.py asks for nids, predates zstd
export ZHEADER_DUMP=$DUMP
printf '# size algorithm regex (erofs-utils order)\n65536 1 ^text-.*\n\n4096 0 ^small/\n262144 2 ^zero-runs\n' >"$T/hints"
"$MKFS" --quiet -z lz4:lzma,9:zstd,level=9 -C 16384 --compress-hints="$T/hints" -T 0 "$T/c.img" "$T/src"
[ "$("$PY" "$TOOLS/zheader.py" "$T/c.img" /text-4m)" = "layout=3 advise=0x7 alg=1" ] ||
	fail "hint to lzma: $("$PY" "$TOOLS/zheader.py" "$T/c.img" /text-4m)"
[ "$("$PY" "$TOOLS/zheader.py" "$T/c.img" /small/f001 | cut -d' ' -f1-2)" != "layout=3 advise=0x7" ] ||
	fail "hint to 4096-byte pclusters ignored"
[ "$("$PY" "$TOOLS/zheader.py" "$T/c.img" /zero-runs)" = "layout=3 advise=0x7 alg=3" ] ||
	fail "hint to zstd: $("$PY" "$TOOLS/zheader.py" "$T/c.img" /zero-runs)"
[ "$("$PY" "$TOOLS/zheader.py" "$T/c.img" /big)" = "layout=3 advise=0x7 alg=0" ] ||
	fail "default for unhinted files: $("$PY" "$TOOLS/zheader.py" "$T/c.img" /big)"
kernel_mount "$T/c.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --mtime 0
kernel_umount "$T/mnt"
echo "compression verified through the kernel"
