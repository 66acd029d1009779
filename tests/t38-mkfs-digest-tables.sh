#!/bin/bash
# Digest tables: mkfs records the sha256 of each unit of every blob the
# bootstrap refers to (--blobdev, plain and compressed; --tar=i; the
# devices of a rebuilt image) in the annex.  An independent reader
# (tests/tools/digesttable.py) checks every digest against the blob; the
# kernel mounts the bootstraps as before, erofs-utils 1.8.6's fsck
# accepts them; our fsck checks each table's fields and, with
# --verify-blobs, the blob unit by unit.  And mkfs --blobdev commits blob
# and image both or neither: a failed image step puts the previous blob
# back, so the previous image still finds it.
. "$(dirname "$0")/lib.sh"
require_mount

gentree full "$T/src"
have_eu=false
erofs_utils 1.8.6-1 && have_eu=true

# mount_with BOOT BLOB [TREE]: the kernel's view of bootstrap + blob,
# compared with TREE (default the source)
mount_with() {
	loop_attach "$2"
	mkdir -p "$T/mnt"
	mount -t erofs -o ro,device="$LOOP" "$1" "$T/mnt" ||
		fail "kernel refused $1 with its blob: $(dmesg | tail -n 2)"
	_mounts+=("$T/mnt")
	treecmp "${3:-$T/src}" "$T/mnt" || fail "$1: the kernel's view differs"
	kernel_umount "$T/mnt"
}

for z in "" "-z lz4hc -C 65536"; do
	note "bootstrap + blob ${z:-uncompressed}: a table of 64K units"
	rm -f "$T/boot.img" "$T/blob"
	# shellcheck disable=SC2086
	"$MKFS" --quiet $z --chunksize=16384 --blobdev="$T/blob" "$T/boot.img" "$T/src" ||
		fail "mkfs $z"
	read -r unit count < <("$PY" "$TOOLS/digesttable.py" check "$T/boot.img" 1 "$T/blob" 65536) ||
		fail "the digest table does not describe the blob"
	[ "$count" = $(( ($(stat -c %s "$T/blob") + 65535) / 65536 )) ] || fail "$count units"
	grep -q "digest table for device 1: .*: $count units of 65536 bytes" <<<"$("$DUMP" -s "$T/boot.img")" ||
		fail "dump -s does not show the table"
	mount_with "$T/boot.img" "$T/blob"
	[ -n "$z" ] || cp "$T/boot.img" "$T/plain.img"
	[ -n "$z" ] || cp "$T/blob" "$T/plain.blob"
	out=$("$FSCK" --verify-blobs --device="$T/blob" "$T/boot.img" 2>&1) || fail "our fsck: $out"
	[[ $out == *"$count of $count units of 65536 bytes verified"* ]] || fail "fsck did not check the units: $out"
	if $have_eu; then
		"$EU/fsck.erofs" --device="$T/blob" "$T/boot.img" >/dev/null ||
			fail "erofs-utils 1.8.6 fsck refused a bootstrap with a table"
	fi
done

note "-E digest-unit sets the unit; a unit that is no power of two is refused"
"$MKFS" --quiet -E digest-unit=16K --chunksize=4096 --blobdev="$T/blob16" "$T/b16.img" "$T/src" ||
	fail "-E digest-unit=16K"
"$PY" "$TOOLS/digesttable.py" check "$T/b16.img" 1 "$T/blob16" 16384 >/dev/null || fail "16K table"
expect_fail "$MKFS" --quiet -E digest-unit=3000 --chunksize=4096 --blobdev="$T/bx" "$T/bx.img" "$T/src"
expect_fail "$MKFS" --quiet -E digest-unit=16M --chunksize=4096 --blobdev="$T/bx" "$T/bx.img" "$T/src"

note "--tar=i: a table of the tar; mounted with the tar as device and appended"
tar -C "$T/src" --format=pax -cf "$T/src.tar" .
"$MKFS" --quiet --tar=i "$T/idx.img" "$T/src.tar" || fail "--tar=i"
# what the tar holds (tar keeps no xattrs here): its --tar=f image's view
"$MKFS" --quiet --tar=f "$T/full.img" "$T/src.tar" || fail "--tar=f"
kernel_mount "$T/full.img" "$T/mref"
"$PY" "$TOOLS/digesttable.py" check "$T/idx.img" 1 "$T/src.tar" 65536 >/dev/null ||
	fail "the tar's digest table"
mount_with "$T/idx.img" "$T/src.tar" "$T/mref"
cat "$T/idx.img" "$T/src.tar" >"$T/appended.img"
kernel_mount "$T/appended.img" "$T/mapp"
treecmp "$T/mref" "$T/mapp" || fail "index + appended tar differs"
kernel_umount "$T/mapp"
"$FSCK" --quiet --verify-blobs --device="$T/src.tar" "$T/idx.img" || fail "our fsck, tar index"
if $have_eu; then
	# 1.8.6's fsck crashes on tar indexes with or without an annex: it
	# must just not answer otherwise for the table
	start=$("$DUMP" -s --json "$T/idx.img" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["superblock"]["annex"]["start"])')
	head -c "$start" "$T/idx.img" >"$T/idx-noannex.img"
	rc=0 rc0=0
	"$EU/fsck.erofs" --device="$T/src.tar" "$T/idx.img" >/dev/null 2>&1 || rc=$?
	"$EU/fsck.erofs" --device="$T/src.tar" "$T/idx-noannex.img" >/dev/null 2>&1 || rc0=$?
	echo "erofs-utils 1.8.6 fsck on the tar index: exit $rc, without the annex $rc0"
	[ "$rc" = "$rc0" ] || fail "erofs-utils 1.8.6 fsck answers otherwise for a tar index with a table"
fi

note "rebuild: the layer image's table, and its blob's copied from its annex"
mkdir -p "$T/s1"
cp -a "$T/src/." "$T/s1/"
"$MKFS" --quiet -E ^inline_data "$T/l1.img" "$T/s1" || fail "layer 1"
"$MKFS" --quiet "$T/merged.img" "$T/l1.img" "$T/boot.img" || fail "rebuild"
"$PY" "$TOOLS/digesttable.py" check "$T/merged.img" 1 "$T/l1.img" 65536 >/dev/null ||
	fail "rebuild: the layer image's table"
"$PY" "$TOOLS/digesttable.py" check "$T/merged.img" 2 "$T/blob" 65536 >/dev/null ||
	fail "rebuild: the layer's blob's table"
"$FSCK" --quiet --verify-blobs --device="$T/l1.img" --device="$T/blob" "$T/merged.img" ||
	fail "our fsck, rebuilt image"

note "damaged tables: our fsck names them, the kernel and erofs-utils do not care"
for damage in unit_bits nr_units blob_size; do
	cp "$T/boot.img" "$T/bad.img"
	"$PY" "$TOOLS/digesttable.py" damage "$T/bad.img" 1 $damage || fail "damage $damage"
	set +e
	out=$("$FSCK" --device="$T/blob" "$T/bad.img" 2>&1)
	rc=$?
	set -e
	[ $rc = 1 ] && [[ $out == *"digest table of device 1"* ]] ||
		fail "$damage: fsck exit $rc: $out"
	if $have_eu; then
		"$EU/fsck.erofs" --device="$T/blob" "$T/bad.img" >/dev/null ||
			fail "$damage: erofs-utils 1.8.6 fsck refused"
	fi
done
cp "$T/boot.img" "$T/bad.img"
"$PY" "$TOOLS/digesttable.py" damage "$T/bad.img" 1 digest:2
"$FSCK" --quiet --device="$T/blob" "$T/bad.img" || fail "a digest alone is no damage fsck sees without the blob's bytes"
set +e
out=$("$FSCK" --verify-blobs --device="$T/blob" "$T/bad.img" 2>&1)
rc=$?
set -e
[ $rc = 1 ] && [[ $out == *"unit 2 (bytes 131072-196607) does not match its digest table"* ]] ||
	fail "--verify-blobs, one wrong digest: exit $rc: $out"

note "a partly filled cache file: holes are not cached, a wrong unit is an error"
"$PY" - "$T/plain.blob" "$T/part" <<'PYEOF'
import sys
d = open(sys.argv[1], 'rb').read()
with open(sys.argv[2], 'wb') as f:
    f.truncate(len(d))
    f.seek(65536)
    f.write(d[65536:3 * 65536])
PYEOF
out=$("$FSCK" --verify-blobs --device="$T/part" "$T/plain.img" 2>&1) ||
	fail "fsck: a partial cache file is no error: $out"
[[ $out == *" 2 of "*"verified"* ]] || fail "fsck: not 2 units verified: $out"
printf 'X' | dd of="$T/part" bs=1 seek=70000 conv=notrunc status=none
expect_fail "$FSCK" --quiet --verify-blobs --device="$T/part" "$T/plain.img"

note "--blobdev commits both or neither"
gentree small "$T/src2"
"$MKFS" --quiet --chunksize=4096 --blobdev="$T/cblob" "$T/good.img" "$T/src" || fail "first image"
old=$(sha256sum "$T/cblob" | cut -c1-64)
mkdir -p "$T/taken.img/x"		# the image's rename into place fails
set +e
out=$("$MKFS" --chunksize=4096 --blobdev="$T/cblob" "$T/taken.img" "$T/src2" 2>&1)
rc=$?
set -e
[ $rc != 0 ] || fail "mkfs over a directory succeeded"
tail -n 3 <<<"$out"
[ "$(sha256sum "$T/cblob" | cut -c1-64)" = "$old" ] ||
	fail "a failed image step left another blob in place of the previous one"
"$FSCK" --quiet --verify-blobs --device="$T/cblob" "$T/good.img" ||
	fail "the previous image no longer finds its blob"
! compgen -G "$T/cblob.*" >/dev/null || fail "leftovers: $(ls "$T")"
"$MKFS" --quiet --chunksize=4096 --blobdev="$T/cblob" "$T/new.img" "$T/src2" || fail "replacing"
"$FSCK" --quiet --verify-blobs --device="$T/cblob" "$T/new.img" || fail "the new pair"
! compgen -G "$T/cblob.*" >/dev/null || fail "leftovers after success: $(ls "$T")"
echo "t38: all checks passed"
