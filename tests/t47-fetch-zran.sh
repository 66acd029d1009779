#!/bin/bash
# run.sh: group fetch
# A gzip layer indexed in place and served lazily from its compressed
# blob ("zran"): mkfs.erofs --tar=i over a gzip'd tar records the blob's
# digest and size and inflate checkpoints in the bootstrap's annex; the
# kernel mounts the bootstrap with the uncompressed tar on a loop device;
# erofs-fetch get --image serves a 64 KiB range near the end of the tar
# by fetching a small part of the compressed blob (measured), and the
# whole device byte for byte, from a directory and from Debian's
# docker-registry on loopback; a multi-member gzip works the same; the
# SOCI zinfo (--gzinfo=FILE) has the layout erofs-utils 1.9 writes and
# windows that are the tar's bytes; a zstd layer of several frames gets
# checkpoints at frame starts and is served the same way, one of a single
# frame is said to get none.  Damage: an index record altered
# (fsck names it, get refuses), a blob that is not gzip, a source serving
# other bytes or another size: clear errors, nothing written.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"
require_mount

note "a layer with a 12 MiB file, gzip'd"
mkdir -p "$T/src/etc" "$T/src/usr/bin"
# binaries compress about as a real layer does
"$PY" - "$T/src/usr/bin/big" <<'EOF'
import os, sys
out, left = open(sys.argv[1], 'wb'), 12 << 20
for name in sorted(os.listdir('/usr/bin')):
    path = os.path.join('/usr/bin', name)
    if left and os.path.isfile(path) and not os.path.islink(path):
        data = open(path, 'rb').read(min(left, 2 << 20))
        out.write(data)
        left -= len(data)
EOF
[ "$(stat -c %s "$T/src/usr/bin/big")" -eq $((12 << 20)) ] || fail "could not make the 12 MiB file"
echo hello >"$T/src/etc/hello"
ln -s hello "$T/src/etc/link"
ln "$T/src/etc/hello" "$T/src/etc/hard"
head -c 100000 /dev/urandom >"$T/src/etc/rand"
# whole seconds: a ustar/GNU header keeps no more
find "$T/src" -exec touch -h -d @1700000000 {} +
tar --sort=name -C "$T/src" -cf "$T/layer.tar" .
gzip -n -c "$T/layer.tar" >"$T/layer.tar.gz"
diff_id=$(sha256sum "$T/layer.tar" | cut -c1-64)
blob=$(sha256sum "$T/layer.tar.gz" | cut -c1-64)
tar_size=$(stat -c %s "$T/layer.tar")
gz_size=$(stat -c %s "$T/layer.tar.gz")

"$MKFS" --quiet --tar=i --ungzip --gzinfo="$T/layer.zinfo" "$T/boot.img" "$T/layer.tar.gz" ||
	fail "mkfs --tar=i over gzip"
"$DUMP" -s "$T/boot.img" >"$T/dump.txt" || fail "dump -s"
grep -q "diff_id sha256:$diff_id" "$T/dump.txt" || fail "dump -s shows no diff_id: $(cat "$T/dump.txt")"
grep -q "blob sha256:$blob, $gz_size bytes (gzip), $tar_size uncompressed" "$T/dump.txt" ||
	fail "dump -s shows no blob digest and size"
grep -q "checkpoints, one every 1048576 bytes" "$T/dump.txt" || fail "dump -s shows no granularity"
"$FSCK" --device="$T/layer.tar" "$T/boot.img" >"$T/fsck.out" 2>&1 || fail "fsck: $(cat "$T/fsck.out")"

note "the kernel mounts it with the uncompressed tar as its device"
loop_attach "$T/layer.tar"
mkdir -p "$T/m"
mount -t erofs -o "ro,device=$LOOP" "$T/boot.img" "$T/m" || fail "mount: $(dmesg | tail -n 2)"
_mounts+=("$T/m")
treecmp "$T/src" "$T/m" || fail "the mount differs from the layer"
umount "$T/m"

# serve IMAGE SOURCE WHAT: get --image of a 64 KiB range near the end of
# the device (compressed bytes received in FETCHED) and of all of it
# (--verify; bytes received in WHOLE), each compared with the tar
first=$((tar_size - 200000))
serve() {
	local img=$1 src=$2 what=$3
	"$FETCH" get --quiet --json --image="$img" --range "$first-$((first + 65535))" \
		"$src" "$diff_id" "$T/$what.range" >"$T/$what.json" || fail "$what: get --image --range"
	same_range "$T/layer.tar" "$T/$what.range" "$first" 65536 || fail "$what: the range's bytes differ"
	FETCHED=$(json_field "$T/$what.json" bytes)
	echo "$what: 64 KiB at byte $first: fetched $FETCHED bytes of the compressed blob"
	"$FETCH" get --quiet --json --verify --image="$img" "$src" "$diff_id" "$T/$what.whole" \
		>"$T/$what.wjson" || fail "$what: get --image of the whole device"
	cmp "$T/layer.tar" "$T/$what.whole" || fail "$what: the whole device differs from the tar"
	# the inflated tar is checked against the device's digest table
	[ "$(json_field "$T/$what.wjson" units_verified)" -ge $(((tar_size + 65535) / 65536)) ] ||
		fail "$what: the inflated tar was not checked unit by unit against its digest table"
	WHOLE=$(json_field "$T/$what.wjson" bytes)
}

note "from the compressed blob in a directory: a range near the end, the whole device"
mkdir -p "$T/blobs"
cp "$T/layer.tar.gz" "$T/blobs/$blob"
serve "$T/boot.img" "dir:$T/blobs" gzip
echo "(the gzip blob has $gz_size bytes)"
[ "$FETCHED" -gt 0 ] && [ "$FETCHED" -lt $((gz_size / 4)) ] || fail "fetched $FETCHED bytes for 64 KiB"
# each compressed byte fetched once
[ "$WHOLE" -eq "$gz_size" ] || fail "fetched $WHOLE bytes for the whole device, the blob has $gz_size"

note "dump --cache: the range's sparse output is a cache file of device 1"
out=$("$DUMP" --cache="$T/gzip.range" "$T/boot.img") || fail "dump --cache of a tar-index device"
grep -q "device 1 of the image ($tar_size bytes)" <<<"$out" || fail "dump --cache: not device 1: $out"
cached=$(sed -n 's/^  cached \([0-9]*\) of .*/\1/p' <<<"$out")
[ -n "$cached" ] && [ "$cached" -ge 65536 ] && [ "$cached" -lt "$tar_size" ] ||
	fail "dump --cache: $cached bytes cached for a 64 KiB range: $out"
grep -q "^To read /: [1-9][0-9]* bytes to fetch" <<<"$out" || fail "dump --cache: nothing left to fetch: $out"

note "the same from Debian's docker-registry on loopback"
if [ -x "$REGISTRY" ]; then
	repo=erofs/zran
	start_registry "$T/reg"
	push "$T/layer.tar.gz" "$blob"
	serve "$T/boot.img" "oci://$REG/$repo?insecure" registry
else
	echo "docker-registry not installed ($REGISTRY): registry part left out"
fi

note "rebuild mode over two index images keeps each layer's records"
mkdir -p "$T/src2/etc"
echo world >"$T/src2/etc/world"
touch -h -d @1700000000 "$T/src2/etc/world" "$T/src2/etc" "$T/src2"
tar --sort=name -C "$T/src2" -cf "$T/layer2.tar" .
gzip -n -c "$T/layer2.tar" >"$T/layer2.tar.gz"
"$MKFS" --quiet --tar=i --ungzip "$T/boot2.img" "$T/layer2.tar.gz" || fail "mkfs --tar=i of layer 2"
"$MKFS" --quiet -b 512 "$T/merged.img" "$T/boot.img" "$T/boot2.img" || fail "rebuild over index images"
out=$("$DUMP" -s "$T/merged.img") || fail "dump -s of the merged image"
for want in "diff_id sha256:$diff_id" "blob sha256:$blob, $gz_size bytes (gzip)" \
	"diff_id sha256:$(sha256sum "$T/layer2.tar" | cut -c1-64)" "gzip index for device 2"; do
	grep -q "$want" <<<"$out" || fail "the merged image lost '$want': $out"
done
"$FSCK" --device="$T/layer.tar" --device="$T/layer2.tar" "$T/merged.img" >"$T/fsck.out" 2>&1 ||
	fail "fsck of the merged image: $(cat "$T/fsck.out")"
loop_attach "$T/layer.tar"
dev1=$LOOP
loop_attach "$T/layer2.tar"
mount -t erofs -o "ro,device=$dev1,device=$LOOP" "$T/merged.img" "$T/m" ||
	fail "mount of the merged image: $(dmesg | tail -n 2)"
_mounts+=("$T/m")
cp -a "$T/src2/etc/world" "$T/src/etc/world"
# the upper layer's etc replaces the lower one's attributes
touch -h -d @1700000000 "$T/src/etc"
treecmp "$T/src" "$T/m" || fail "the merged mount differs from the two layers"
umount "$T/m"
rm "$T/src/etc/world"
touch -h -d @1700000000 "$T/src/etc"
serve "$T/merged.img" "dir:$T/blobs" merged
[ "$FETCHED" -lt $((gz_size / 4)) ] || fail "merged: fetched $FETCHED bytes for 64 KiB"
echo "ok: the merged image serves layer 1 from its gzip blob ($FETCHED bytes for 64 KiB)"

note "a multi-member gzip stream, small span"
split -b 5M "$T/layer.tar" "$T/part."
for p in "$T"/part.*; do gzip -n -c "$p"; done >"$T/multi.gz"
mblob=$(sha256sum "$T/multi.gz" | cut -c1-64)
cp "$T/multi.gz" "$T/blobs/$mblob"
"$MKFS" --quiet --tar=i --ungzip --gzip-span=256K "$T/multi.img" "$T/multi.gz" || fail "mkfs over multi-member gzip"
"$FSCK" --device="$T/layer.tar" "$T/multi.img" >/dev/null 2>&1 || fail "fsck of the multi-member bootstrap"
"$FETCH" get --quiet --image="$T/multi.img" "dir:$T/blobs" "$diff_id" "$T/multi.out" ||
	fail "get of the multi-member device"
cmp "$T/layer.tar" "$T/multi.out" || fail "the multi-member device differs"
for at in 5242000 10485000 $((tar_size - 65536)); do
	rm -f "$T/mr.out"
	"$FETCH" get --quiet --image="$T/multi.img" --range "$at-$((at + 65535))" \
		"dir:$T/blobs" "$diff_id" "$T/mr.out" || fail "multi-member range at $at"
	same_range "$T/layer.tar" "$T/mr.out" "$at" 65536 || fail "multi-member range at $at differs"
done

note "random ranges through the index, cold and continued (tests/tools/gzindextest.c)"
gcc -O2 -Wall -Wextra -Wno-sign-compare -Werror -include "$TOP/config.h" \
	-I"$TOP/include" -o "$T/gzindextest" "$TOOLS/gzindextest.c" \
	"$TOP/lib/.libs/liberofs.a" -llz4 -llzma -lz -lzstd -luuid -lpthread ||
	fail "building gzindextest"
"$T/gzindextest" "$T/layer.tar.gz" $((1 << 20)) 100 || fail "gzindextest, one member"
"$T/gzindextest" "$T/multi.gz" $((256 << 10)) 100 || fail "gzindextest, several members"

note "zstd: several frames are checkpoints, one frame is said to be none"
if command -v zstd >/dev/null; then
	for p in "$T"/part.*; do zstd -q -c "$p"; done >"$T/multi.zst"
	zblob=$(sha256sum "$T/multi.zst" | cut -c1-64)
	cp "$T/multi.zst" "$T/blobs/$zblob"
	"$MKFS" --quiet --tar=i --unzstd "$T/zstd.img" "$T/multi.zst" || fail "mkfs over multi-frame zstd"
	[[ $("$DUMP" -s "$T/zstd.img") == *"zstd index for device 1"* ]] || fail "no zstd index"
	"$FSCK" --device="$T/layer.tar" "$T/zstd.img" >/dev/null 2>&1 || fail "fsck of the zstd bootstrap"
	serve "$T/zstd.img" "dir:$T/blobs" "zstd (5 MiB frames)"
	"$T/gzindextest" "$T/multi.zst" $((1 << 20)) 50 || fail "gzindextest, zstd frames"
	zstd -q -c "$T/layer.tar" >"$T/single.zst"
	"$MKFS" --tar=i --unzstd "$T/single.img" "$T/single.zst" >/dev/null 2>"$T/err" || fail "mkfs over one zstd frame"
	grep -q "zstd stream of one frame cannot be entered" "$T/err" || fail "one frame: $(cat "$T/err")"
	[[ $("$DUMP" -s "$T/single.img") != *"zstd index"* ]] || fail "an index for one frame"
else
	echo "zstd is not installed: zstd part left out"
fi

note "the SOCI zinfo"
"$PY" - "$T/layer.zinfo" "$T/layer.tar" <<'EOF' || fail "zinfo"
import struct, sys
z = open(sys.argv[1], 'rb').read()
tar = open(sys.argv[2], 'rb').read()
have, span = struct.unpack_from('<IQ', z, 0)
rec = 17 + 32768
assert span == 4 << 20, span
assert len(z) == 12 + have * rec, (len(z), have)
assert have >= 3, have
prev = -1
for i in range(have):
    inp, out, bits = struct.unpack_from('<QQB', z, 12 + i * rec)
    win = z[12 + i * rec + 17:12 + (i + 1) * rec]
    assert out > prev and bits < 8, (i, out, bits)
    want = tar[max(0, out - 32768):out]
    assert win[32768 - len(want):] == want, i
    prev = out
print("zinfo: %d checkpoints, span %d" % (have, span))
EOF

note "damaged index records: fsck names them, get refuses"
# damage PAYLOADOFFSET XOR: a byte of the gzip index changed, the annex's
# digest recomputed so that only the record's own checks can catch it
damage() {
	"$PY" - "$T/boot.img" "$T/bad.img" "$1" "$2" <<'EOF'
import hashlib, struct, sys
img = bytearray(open(sys.argv[1], 'rb').read())
t = len(img) - 64
nr, start, size = struct.unpack_from('<IQQ', img, t + 12)
off = start
while off < start + size:
    typ, dev, res, length = struct.unpack_from('<IHHQ', img, off)
    if typ == 2:
        img[off + 16 + int(sys.argv[3])] ^= int(sys.argv[4])
        break
    off += 16 + (length + 7) // 8 * 8
img[t + 32:t + 64] = hashlib.sha256(img[start:start + size]).digest()
open(sys.argv[2], 'wb').write(img)
EOF
}
# payload offsets: 4 the number of checkpoints; the first checkpoint's
# in_bits (46: bit 48), output offset (53: bit 40), compressed and plain
# window lengths (60, 64), reserved (66); -1: inside the last window
for spec in "4 1" "46 1" "53 1" "60 1" "64 1" "66 1" "-1 1"; do
	set -- $spec
	if [ "$1" = -1 ]; then
		len=$(grep "gzip index for device 1:" "$T/dump.txt" | sed 's/.*: \([0-9]*\) bytes.*/\1/')
		set -- $((len - 10)) "$2"
	fi
	damage "$1" "$2"
	expect_fail "$FSCK" --device="$T/layer.tar" "$T/bad.img" >"$T/fsck.bad" 2>&1
	grep -q "gzip index of device 1" "$T/fsck.bad" || fail "fsck did not name the damaged index ($spec): $(cat "$T/fsck.bad")"
	rm -f "$T/bad.out"
	expect_fail timeout 60 "$FETCH" get --quiet --image="$T/bad.img" --range 0-65535 \
		"dir:$T/blobs" "$diff_id" "$T/bad.out" 2>"$T/get.bad"
	[ ! -e "$T/bad.out" ] || fail "get wrote OUT from a damaged index ($spec)"
	grep -q "damaged layer records" "$T/get.bad" || fail "get's error does not say why ($spec): $(cat "$T/get.bad")"
	echo "damage at $spec: $(grep -m1 "gzip index" "$T/fsck.bad")"
done

note "a blob that is not gzip; a source serving other bytes or another size"
expect_fail "$MKFS" --quiet --tar=i --gzinfo "$T/plain.img" "$T/layer.tar" 2>"$T/err"
grep -q "needs a gzip stream" "$T/err" || fail "--gzinfo over a plain tar: $(cat "$T/err")"
head -c "$gz_size" /dev/urandom >"$T/blobs/$blob"
expect_fail timeout 60 "$FETCH" get --quiet --image="$T/boot.img" --range "$first-$((first + 65535))" \
	"dir:$T/blobs" "$diff_id" "$T/other.out" 2>"$T/err"
[ ! -e "$T/other.out" ] || fail "get wrote OUT from other bytes"
grep -q "corrupt\|cut off\|ends at" "$T/err" || fail "other bytes: $(cat "$T/err")"
echo "other bytes: $(head -n 1 "$T/err")"
head -c 1000 /dev/urandom >"$T/blobs/$blob"
expect_fail timeout 60 "$FETCH" get --quiet --image="$T/boot.img" "dir:$T/blobs" "$diff_id" "$T/other.out" 2>"$T/err"
[ ! -e "$T/other.out" ] || fail "get wrote OUT from a blob of another size"
grep -q "serves 1000 bytes" "$T/err" || fail "another size: $(cat "$T/err")"
rm "$T/blobs/$blob"
expect_fail timeout 60 "$FETCH" get --quiet --image="$T/boot.img" "dir:$T/blobs" "$diff_id" "$T/other.out" 2>"$T/err"
grep -q "sha256:$blob" "$T/err" || fail "a missing blob: $(cat "$T/err")"
echo "PASS"
