#!/bin/bash
# mkfs.erofs --tar: container layers in.  Generated tarballs (PAX, GNU,
# ustar; xattrs including security.capability, 100+ byte names and link
# targets, ids beyond 2^21, devices, hardlinks, directories after their
# children and twice, missing parents, whiteouts and an opaque directory
# across two layers) are built with containerd's exact command line, the
# tar on standard input, and each image's kernel mount must equal, field
# by field, the kernel's mount of erofs-utils 1.8.6's image of the same
# tar with the same options.  Also: -z lz4hc/lzma (zstd if we have it),
# gzip/xz/zstd streams, a tar file as SOURCE, --tar=i mounted with the tar
# on a loop device and appended (containerd's layout), headerball,
# --ovlfs-strip, two --aufs layers stacked by overlayfs, and truncated or
# corrupt input: a message naming the entry, no image.
. "$(dirname "$0")/lib.sh"
require_mount

set +e
REF=$("$TOP/scripts/build-erofs-utils.sh" 1.8.6-1 2>"$T/ref.err" | tail -n 1)
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 2 ] && skip "erofs-utils 1.8.6 unavailable: $(tail -n 1 "$T/ref.err")"
[ "$rc" = 0 ] || fail "build-erofs-utils.sh failed: $(tail -n 3 "$T/ref.err")"
REF_MKFS="$REF/mkfs.erofs"

grep -q -- '--tar=' <<<"$("$MKFS" --help)" || fail "--help does not list --tar= (containerd probes it)"

for k in pax gnu ustar layer1 layer2 big extra headerball; do
	"$PY" "$TOOLS/gentar.py" "$k" "$T/$k.tar"
done

UUID=0d7d3b64-9e4f-4a7c-8f52-5b1c2e3d4f60
# containerd's EROFS differ, with its optional parts
CTRD=(--tar=f --aufs --quiet -Enoinline_data -U "$UUID" -b4096)
TIMES=(-T0 --mkfs-time)

n=0
# ours_vs_ref TAR OPTS...: both images from the tar on stdin, mounted equal
ours_vs_ref() {
	local tar=$1 ours ref
	shift
	n=$((n + 1))
	ours="$T/ours$n.erofs" ref="$T/ref$n.erofs"
	"$MKFS" "$@" "$ours" <"$tar" || fail "our mkfs $* failed on $(basename "$tar")"
	"$REF_MKFS" "$@" "$ref" <"$tar" || fail "erofs-utils 1.8.6 failed on $(basename "$tar")"
	"$FSCK" "$ours" >/dev/null || fail "fsck.erofs rejects our image of $(basename "$tar") ($*)"
	kernel_mount "$ours" "$T/m$n.ours"
	kernel_mount "$ref" "$T/m$n.ref"
	treecmp "$T/m$n.ref" "$T/m$n.ours" ||
		fail "$(basename "$tar") $*: our image differs from erofs-utils'"
	kernel_umount "$T/m$n.ours"
	kernel_umount "$T/m$n.ref"
}

note "containerd's command line, tar on stdin, against erofs-utils 1.8.6"
for k in pax gnu ustar layer1 layer2 big; do
	ours_vs_ref "$T/$k.tar" "${CTRD[@]}" "${TIMES[@]}" --sort=none
done
ours_vs_ref "$T/pax.tar" "${CTRD[@]}" "${TIMES[@]}"
ours_vs_ref "$T/layer2.tar" --tar=f --aufs --ovlfs-strip --quiet -T0
ours_vs_ref "$T/layer2.tar" --tar=f --quiet -T0		# .wh. as plain files
ours_vs_ref "$T/headerball.tar" --tar=headerball --quiet -T0

note "compressed: lz4hc, lzma (and zstd when this mkfs has it)"
algs=(lz4hc lzma)
if "$MKFS" --tar=f --quiet -zzstd -T0 "$T/probe.erofs" <"$T/ustar.tar" 2>/dev/null; then
	algs+=(zstd)
else
	echo "(no -z zstd in this mkfs: not compared)"
fi
for a in "${algs[@]}"; do
	for k in big pax; do
		ours_vs_ref "$T/$k.tar" "${CTRD[@]}" -z"$a" -C65536 "${TIMES[@]}"
	done
done

note "what erofs-utils 1.8.6 gets wrong, against the expected values"
"$MKFS" "${CTRD[@]}" "${TIMES[@]}" "$T/extra.erofs" <"$T/extra.tar"
kernel_mount "$T/extra.erofs" "$T/mx"
"$PY" - "$T/mx/la" <<'PYEOF' || fail "LIBARCHIVE.xattr: base64 value or %-encoded name wrong"
import os, sys
x = {n: os.getxattr(sys.argv[1], n) for n in os.listxattr(sys.argv[1])}
assert x == {'user.b64=name': b'\x00\x01\x02\xff', 'user.plain': b'hello'}, x
PYEOF
[ "$(stat -c %y "$T/mx/half")" = "2023-11-14 22:13:20.500000000 +0000" ] ||
	fail "mtime 1700000000.5 read as $(stat -c %y "$T/mx/half")"
[ "$(stat -c %y "$T/mx/negfrac")" = "1969-12-31 23:58:19.750000000 +0000" ] ||
	fail "mtime -100.25 read as $(stat -c %y "$T/mx/negfrac")"
kernel_umount "$T/mx"

note "a tar file as SOURCE (data read in place) and compressed streams"
"$REF_MKFS" "${CTRD[@]}" "${TIMES[@]}" "$T/ref-big.erofs" <"$T/big.tar"
"$REF_MKFS" "${CTRD[@]}" "${TIMES[@]}" "$T/ref-pax.erofs" <"$T/pax.tar"
kernel_mount "$T/ref-big.erofs" "$T/mref-big"
kernel_mount "$T/ref-pax.erofs" "$T/mref-pax"
gzip -c "$T/big.tar" >"$T/big.tar.gz"
xz -c "$T/pax.tar" >"$T/pax.tar.xz"
# check_stream IMAGE SOURCE REFERENCE_MOUNT
check_stream() {
	local img=$1 src=$2 ref=$3
	kernel_mount "$img" "$T/mnt-$(basename "$img")"
	treecmp "$ref" "$T/mnt-$(basename "$img")" || fail "$(basename "$src"): differs from the plain tar's image"
	kernel_umount "$T/mnt-$(basename "$img")"
}
"$MKFS" "${CTRD[@]}" "${TIMES[@]}" -zlz4hc -C65536 "$T/file.erofs" "$T/big.tar" ||
	fail "tar as SOURCE"
check_stream "$T/file.erofs" "$T/big.tar" "$T/mref-big"
"$MKFS" "${CTRD[@]}" "${TIMES[@]}" --ungzip="$T/raw.gz" "$T/gz.erofs" <"$T/big.tar.gz" ||
	fail "--ungzip"
cmp -s "$T/raw.gz" "$T/big.tar.gz" || fail "--ungzip=FILE does not keep the raw stream"
check_stream "$T/gz.erofs" "$T/big.tar.gz" "$T/mref-big"
"$MKFS" "${CTRD[@]}" "${TIMES[@]}" --unxz "$T/xz.erofs" <"$T/pax.tar.xz" || fail "--unxz"
check_stream "$T/xz.erofs" "$T/pax.tar.xz" "$T/mref-pax"
if command -v zstd >/dev/null; then
	zstd -q -c "$T/pax.tar" >"$T/pax.tar.zst"
	"$MKFS" "${CTRD[@]}" "${TIMES[@]}" --unzstd "$T/zst.erofs" "$T/pax.tar.zst" ||
		fail "--unzstd"
	check_stream "$T/zst.erofs" "$T/pax.tar.zst" "$T/mref-pax"
fi
# a stream through a pipe: spooled, not seekable
cat "$T/pax.tar" | "$MKFS" "${CTRD[@]}" "${TIMES[@]}" "$T/pipe.erofs" || fail "tar through a pipe"
check_stream "$T/pipe.erofs" "$T/pax.tar" "$T/mref-pax"

note "--tar=i: the tar is the extra device, on a loop device or appended"
"$MKFS" --tar=i --aufs --quiet "${TIMES[@]}" "$T/idx.erofs" <"$T/pax.tar" || fail "--tar=i"
tag=$("$DUMP" -s "$T/idx.erofs" | sed -n 's/.*device 1: tag "\([0-9a-f]*\)".*/\1/p')
[ "$tag" = "$(sha256sum "$T/pax.tar" | cut -c1-64)" ] || fail "device tag '$tag' is not the tar's sha256"
[ "$(stat -c %s "$T/idx.erofs")" -lt 16384 ] || fail "--tar=i image holds data"
loop_attach "$T/pax.tar"
mkdir -p "$T/midx"
mount -t erofs -o "ro,device=$LOOP" "$T/idx.erofs" "$T/midx" ||
	fail "kernel refused the index image with the tar as device=: $(dmesg | tail -n 2)"
_mounts+=("$T/midx")
treecmp "$T/mref-pax" "$T/midx" || fail "--tar=i mount differs from the --tar=f image"
umount "$T/midx"
# containerd's differ: tar index and the tar appended in one file
cat "$T/idx.erofs" "$T/pax.tar" >"$T/appended.erofs"
kernel_mount "$T/appended.erofs" "$T/mapp"
treecmp "$T/mref-pax" "$T/mapp" || fail "tar index + appended tar differs"
kernel_umount "$T/mapp"
"$REF_MKFS" --tar=i --aufs --quiet "${TIMES[@]}" "$T/ref-idx.erofs" <"$T/pax.tar"
cat "$T/ref-idx.erofs" "$T/pax.tar" >"$T/ref-appended.erofs"
kernel_mount "$T/ref-appended.erofs" "$T/mrefapp"
kernel_mount "$T/appended.erofs" "$T/mapp"
treecmp "$T/mrefapp" "$T/mapp" || fail "--tar=i differs from erofs-utils' --tar=i"
kernel_umount "$T/mapp"
kernel_umount "$T/mrefapp"
kernel_umount "$T/mref-big"
kernel_umount "$T/mref-pax"

note "two --aufs layers stacked by overlayfs, ours and erofs-utils'"
for who in ours ref; do
	mk=$MKFS
	[ $who = ref ] && mk=$REF_MKFS
	for l in layer1 layer2; do
		"$mk" "${CTRD[@]}" "${TIMES[@]}" "$T/$who-$l.erofs" <"$T/$l.tar"
		kernel_mount "$T/$who-$l.erofs" "$T/$who-$l"
	done
	mkdir -p "$T/$who-stack"
	mount -t overlay overlay -o "ro,lowerdir=$T/$who-layer2:$T/$who-layer1" "$T/$who-stack" ||
		fail "overlayfs refused the $who layers: $(dmesg | tail -n 2)"
	_mounts=("$T/$who-stack" "${_mounts[@]}")
done
treecmp "$T/ref-stack" "$T/ours-stack" || fail "our stacked layers differ from erofs-utils'"
for gone in a/gone a/gonedir top o/old1 o/sub; do
	[ ! -e "$T/ours-stack/$gone" ] || fail "overlay shows $gone, whited out or under an opaque dir"
done
[ "$(cat "$T/ours-stack/o/fresh")" = fresh ] && [ "$(cat "$T/ours-stack/a/keep")" = keep ] ||
	fail "overlay lost a layer's file"

note "truncated and corrupt input: the entry named, no image left"
head -c 200000 "$T/big.tar" >"$T/trunc.tar"
set +e
out=$("$MKFS" "${CTRD[@]}" "$T/bad.erofs" <"$T/trunc.tar" 2>&1)
rc=$?
set -e
echo "$out"
[ $rc != 0 ] || fail "a truncated tar was accepted"
[[ $out == *big/text*truncated* ]] || fail "truncation message does not name the entry"
[ ! -e "$T/bad.erofs" ] || fail "an image was left after a truncated tar"
"$PY" - "$T/big.tar.gz" "$T/badcrc.tar.gz" "$T/baddata.tar.gz" <<'PYEOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
c = bytearray(d)
c[-6] ^= 1                       # the CRC-32 in the trailer
open(sys.argv[2], 'wb').write(c)
d[len(d) // 3:len(d) // 3 + 64] = bytes(64)
open(sys.argv[3], 'wb').write(d)
PYEOF
for bad in badcrc baddata; do
	set +e
	out=$("$MKFS" "${CTRD[@]}" --ungzip "$T/bad.erofs" <"$T/$bad.tar.gz" 2>&1)
	rc=$?
	set -e
	echo "$out"
	[ $rc != 0 ] || fail "$bad: a corrupt gzip stream was accepted"
	[[ $out == *gzip*corrupt* && $out == *big/* ]] || fail "$bad: message names neither the stream nor an entry"
	[ ! -e "$T/bad.erofs" ] || fail "$bad: an image was left"
done
echo "PASS"
