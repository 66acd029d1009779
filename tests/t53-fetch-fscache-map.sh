#!/bin/bash
# run.sh: group fetch
# Index mode with page-sized blocks (fscache mode takes no other): mkfs
# --tar=i -b 4096 over a gzip layer makes its device a view of the tar
# in which each file's data starts at a 4 KiB boundary, described by a
# DEVICE_MAP annex record and tagged with the view's sha256.  Checked:
# the view equals one built by tests/tools/devmapref.py from the tar
# alone (bytes and tag); fsck --extract with the plain tar as the device
# gives the source tree; the kernel mounts the bootstrap with the view
# on a loop device; erofs-fetch get --image serves the view from the
# compressed blob (a range near the end fetching a small part of it) and
# from an uncompressed tar; --oci=i -b 4096 gives the tree --oci=i does,
# and fsck --verify-blobs hashes the views read from the tars; a damaged
# map is named by fsck and dump and refused by get, and a tar of another
# size is not taken for the view.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

note "a layer: an 8 MiB file, small and empty files, hardlinks, long names"
mkdir -p "$T/src/etc" "$T/src/usr/bin" "$T/src/d/$(printf 'n%.0s' {1..120})"
"$PY" "$TOOLS/binfile.py" $((8 << 20)) "$T/src/usr/bin/big" || fail "binfile.py"
for i in $(seq 1 40); do head -c $((i * 997)) /dev/urandom >"$T/src/etc/f$i"; done
echo hello >"$T/src/etc/hello"
ln "$T/src/etc/hello" "$T/src/etc/hard"
ln -s hello "$T/src/etc/link"
: >"$T/src/etc/empty"
echo deep >"$T/src/d/$(printf 'n%.0s' {1..120})/$(printf 'x%.0s' {1..150})"
find "$T/src" -exec touch -h -d @1700000000 {} +
tar --sort=name -C "$T/src" -cf "$T/layer.tar" .
gzip -n -c "$T/layer.tar" >"$T/layer.tar.gz"
diff_id=$(sha256sum "$T/layer.tar" | cut -c1-64)
blob=$(sha256sum "$T/layer.tar.gz" | cut -c1-64)
gz_size=$(stat -c %s "$T/layer.tar.gz")

"$MKFS" --quiet --tar=i --ungzip -b 4096 "$T/boot.img" "$T/layer.tar.gz" ||
	fail "mkfs --tar=i -b 4096 over gzip"
"$DUMP" -s "$T/boot.img" >"$T/dump.txt" || fail "dump -s"
tag=$(sed -n 's/.*device 1: tag "\([0-9a-f]\{64\}\)".*/\1/p' "$T/dump.txt")
[ "$tag" = "$("$PY" "$TOOLS/devmapref.py" "$T/layer.tar" 4096 --tag)" ] ||
	fail "the device's tag $tag is not the view's sha256: $(cat "$T/dump.txt")"
[ "$tag" != "$diff_id" ] || fail "a mapped device tagged with its diff_id"
grep -q "device map for device 1" "$T/dump.txt" || fail "dump -s shows no device map"
grep -q "diff_id sha256:$diff_id, .* mapped to .* in 43 extents" "$T/dump.txt" ||
	fail "dump -s: $(grep -A1 'device map' "$T/dump.txt")"
"$PY" "$TOOLS/devmapref.py" "$T/layer.tar" 4096 "$T/view.ref" || fail "devmapref.py"
echo "tar $(stat -c %s "$T/layer.tar") bytes, view $(stat -c %s "$T/view.ref"), gzip blob $gz_size"

note "fsck and dump with the plain tar as the device"
rm -rf "$T/x"
"$FSCK" --device="$T/layer.tar" --extract="$T/x" "$T/boot.img" >"$T/fsck.out" 2>&1 ||
	fail "fsck --device=TAR: $(cat "$T/fsck.out")"
treecmp "$T/src" "$T/x" || fail "fsck --extract differs from the layer"
[ "$("$DUMP" --device="$T/layer.tar" --cat --path=/etc/f7 "$T/boot.img" | sha256sum)" = \
  "$(sha256sum <"$T/src/etc/f7")" ] || fail "dump --cat through the map"
"$FSCK" --device="$T/view.ref" "$T/boot.img" >/dev/null 2>&1 || fail "fsck with the view as the device"
head -c -512 "$T/layer.tar" >"$T/short.tar"
expect_fail "$FSCK" --device="$T/short.tar" "$T/boot.img" >"$T/err" 2>&1
grep -q "device 1 .* bytes, the device table says" "$T/err" || fail "a short tar: $(cat "$T/err")"

note "the kernel mounts it with the view on a loop device"
require_mount
loop_attach "$T/view.ref"
mkdir -p "$T/m"
mount -t erofs -o "ro,device=$LOOP" "$T/boot.img" "$T/m" || fail "mount: $(dmesg | tail -n 2)"
_mounts+=("$T/m")
treecmp "$T/src" "$T/m" || fail "the mount differs from the layer"
umount "$T/m"

note "get --image: the view from the compressed blob, and from the plain tar"
mkdir -p "$T/blobs" "$T/plain"
cp "$T/layer.tar.gz" "$T/blobs/$blob"
size=$(stat -c %s "$T/view.ref")
first=$((size - 300000))
"$FETCH" get --quiet --json --image="$T/boot.img" --range "$first-$((first + 65535))" \
	"dir:$T/blobs" "$tag" "$T/range.out" >"$T/range.json" || fail "get --image --range"
same_range "$T/view.ref" "$T/range.out" "$first" 65536 || fail "the range differs from the view"
fetched=$(json_field "$T/range.json" bytes)
echo "64 KiB at byte $first of the view: fetched $fetched of $gz_size compressed bytes"
[ "$fetched" -gt 0 ] && [ "$fetched" -lt $((gz_size / 3)) ] || fail "fetched $fetched bytes for 64 KiB"
"$FETCH" get --quiet --json --verify --image="$T/boot.img" "dir:$T/blobs" "$tag" "$T/view.out" \
	>"$T/whole.json" || fail "get --image of the whole view"
cmp "$T/view.ref" "$T/view.out" || fail "the view from the blob differs from devmapref.py's"
[ "$(json_field "$T/whole.json" bytes)" -eq "$gz_size" ] || fail "the whole view fetched $(json_field "$T/whole.json" bytes) bytes"
"$MKFS" --quiet --tar=i -b 4096 "$T/plain.img" "$T/layer.tar" || fail "mkfs --tar=i -b 4096 over a plain tar"
[[ $("$DUMP" -s "$T/plain.img") == *"tag \"$tag\""* ]] || fail "the plain tar's view has another tag"
cp "$T/layer.tar" "$T/plain/$diff_id"
"$FETCH" get --quiet --image="$T/plain.img" "dir:$T/plain" "$tag" "$T/plain.out" ||
	fail "get --image of the view of a plain tar"
cmp "$T/view.ref" "$T/plain.out" || fail "the view from the plain tar differs"

note "--oci=i -b 4096: whiteouts and opaque directories, the same tree as --oci=i"
"$PY" "$TOOLS/mkocilayout.py" "$T/layout" "$T/tars" --nested >/dev/null || fail "mkocilayout.py"
for b in 512 4096; do
	"$MKFS" --quiet -T0 --mkfs-time --oci=i -b $b "$T/oci$b.img" "oci-layout:$T/layout:v1" ||
		fail "mkfs --oci=i -b $b"
	"$FSCK" --device="$T/tars/layer0.tar" --device="$T/tars/layer1.tar" --verify-blobs \
		--extract="$T/oci$b" "$T/oci$b.img" >"$T/fsck.out" 2>&1 || fail "fsck of --oci=i -b $b: $(cat "$T/fsck.out")"
done
grep -q "device 2 .*: sha256 matches its tag" "$T/fsck.out" || fail "--verify-blobs through the map: $(cat "$T/fsck.out")"
treecmp "$T/oci512" "$T/oci4096" || fail "--oci=i -b 4096 gives another tree"

note "a damaged map: dump and fsck name it, get refuses it"
# mapdamage IN OUT: the second extent moved before the first's end, the
# annex's digest recomputed so that only the record's own checks see it
"$PY" - "$T/boot.img" "$T/bad.img" <<'EOF'
import hashlib, struct, sys
img = bytearray(open(sys.argv[1], 'rb').read())
t = len(img) - 64
nr, start, size = struct.unpack_from('<IQQ', img, t + 12)
off = start
while off < start + size:
    typ, dev, res, length = struct.unpack_from('<IHHQ', img, off)
    if typ == 5:
        struct.pack_into('<Q', img, off + 16 + 56 + 24, 0)
        break
    off += 16 + (length + 7) // 8 * 8
img[t + 32:t + 64] = hashlib.sha256(img[start:start + size]).digest()
open(sys.argv[2], 'wb').write(img)
EOF
"$DUMP" -s "$T/bad.img" >"$T/dump.bad" 2>&1 && fail "dump -s of a damaged map succeeded"
grep -q "device map of device 1 .* extent 1 at byte 0 is before the end of the one before" "$T/dump.bad" ||
	fail "dump -s: $(cat "$T/dump.bad")"
expect_fail "$FSCK" --device="$T/layer.tar" "$T/bad.img" >"$T/fsck.bad" 2>&1
grep -q "device 1: device map: extent 1 at byte 0 is before" "$T/fsck.bad" ||
	fail "fsck --device=TAR: $(cat "$T/fsck.bad")"
expect_fail "$FSCK" "$T/bad.img" >"$T/fsck.bad" 2>&1
grep -q "device 1, record at byte [0-9]*: device map: extent 1 at byte 0 is before" "$T/fsck.bad" ||
	fail "fsck: $(cat "$T/fsck.bad")"
expect_fail timeout 60 "$FETCH" get --quiet --image="$T/bad.img" "dir:$T/blobs" "$tag" "$T/bad.out" 2>"$T/get.bad"
[ ! -e "$T/bad.out" ] || fail "get wrote OUT from a damaged map"
grep -q "damaged layer records: device map" "$T/get.bad" || fail "get: $(cat "$T/get.bad")"
echo "damaged: $(head -n 1 "$T/get.bad")"
echo "PASS"
