#!/bin/bash
# Chunk-based files and the bootstrap + blob layout: the kernel mounts
# them (the blob through a loop device) and reads every field back; the
# blob is named in the device table by its sha256; equal chunks are
# stored once with the exact saving reported; Debian's fsck.erofs accepts
# the chunked layouts with --device.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

gentree full "$T/src"

note "chunked files inside the image, block map and indexes"
for opts in "--chunksize=4096" "--chunksize=65536" "--chunksize=1M -E force-chunk-indexes"; do
	# shellcheck disable=SC2086
	"$MKFS" --quiet $opts "$T/c.img" "$T/src"
	kernel_mount "$T/c.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt"
	kernel_umount "$T/mnt"
	"$DEB_FSCK" --extract="$T/x" "$T/c.img" >/dev/null || fail "Debian fsck.erofs: $opts"
	rm -rf "$T/x"
done

for z in "" "-z lz4hc -C 65536" "-z lzma -C 131072"; do
	note "bootstrap + blob ${z:-uncompressed}"
	rm -f "$T/boot.img" "$T/blob.img"
	# shellcheck disable=SC2086
	"$MKFS" --quiet $z --chunksize=16384 --blobdev="$T/blob.img" \
		--manifest="$T/manifest.json" "$T/boot.img" "$T/src"
	digest=$(sha256sum "$T/blob.img" | cut -c1-64)
	# the slot is at devt_slotoff (le16 at superblock byte 88) * 128
	slotoff=$(od -An -tu2 -j $((1024 + 88)) -N2 "$T/boot.img" | tr -d ' ')
	tag=$(dd if="$T/boot.img" bs=1 skip=$((slotoff * 128)) count=64 status=none)
	[ "$tag" = "$digest" ] || fail "device tag '$tag' is not the blob's sha256 $digest"
	"$PY" - "$T/manifest.json" "$digest" "$(sha256sum "$T/boot.img" | cut -c1-64)" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
assert m["blobs"][0]["sha256"] == sys.argv[2], m
assert m["bootstrap"]["sha256"] == sys.argv[3], m
PYEOF
	[ "$(stat -c %s "$T/boot.img")" -lt $((4 << 20)) ] || fail "bootstrap holds data"
	loop_attach "$T/blob.img"; loop=$LOOP
	mkdir -p "$T/mnt"
	mount -t erofs -o ro,device="$loop" "$T/boot.img" "$T/mnt" ||
		fail "kernel refused bootstrap + blob: $(dmesg | tail -n 2)"
	_mounts+=("$T/mnt")
	"$PY" "$TOOLS/randread.py" "$T/src" "$T/mnt" 300
	treecmp "$T/src" "$T/mnt"
	umount "$T/mnt"
	if [ -z "$z" ]; then
		"$DEB_FSCK" --device="$T/blob.img" --extract="$T/x" "$T/boot.img" >/dev/null ||
			fail "Debian fsck.erofs rejects bootstrap + blob"
		# erofs-utils 1.5 extracts neither xattrs, hardlinks nor
		# set-id bits, and skips holes without extending the file:
		# contents of files without an all-zero chunk (stored as a
		# hole) are what it can vouch for
		"$PY" - "$T/src" "$T/x" 16384 <<'PYEOF' || fail "Debian extraction differs in content"
import os, sys
src, out, cs = sys.argv[1], sys.argv[2], int(sys.argv[3])
checked = bad = 0
for d, _, files in os.walk(src):
    for f in files:
        p = os.path.join(d, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        data = open(p, 'rb').read()
        if any(not data[i:i + cs].strip(b'\0') for i in range(0, len(data), cs)):
            continue
        checked += 1
        q = os.path.join(out, os.path.relpath(p, src))
        if open(q, 'rb').read() != data:
            print('differs:', q)
            bad += 1
print(f'Debian extraction: {checked} files compared, {bad} differ')
sys.exit(bad != 0 or checked < 1000)
PYEOF
		rm -rf "$T/x"
	fi
done

note "deduplication: known duplicates, exact saving"
mkdir -p "$T/dup/a" "$T/dup/b"
head -c $((3 * 65536)) /dev/urandom >"$T/dup/a/one"				# 3 stored
cp "$T/dup/a/one" "$T/dup/b/copy"				# 3 equal chunks
{ head -c 65536 "$T/dup/a/one"; head -c 65536 /dev/urandom; } >"$T/dup/b/half"	# 1 equal
head -c 1000 /dev/urandom >"$T/dup/tail"
cat "$T/dup/tail" "$T/dup/tail" >"$T/dup/b/not-a-chunk-copy"	# 2000 bytes: unique
truncate -s $((2 * 65536)) "$T/dup/hole"			# 2 holes
"$MKFS" -T 0 --chunksize=65536 --blobdev="$T/d.blob" "$T/d.img" "$T/dup" >"$T/out"
cat "$T/out"
grep -q "Chunks of 65536 bytes: 6 stored, 2 holes, 4 equal to one stored before (262144 bytes saved)" "$T/out" ||
	fail "dedup figures wrong"
[ "$(stat -c %s "$T/d.blob")" -eq $(( (3 + 1) * 65536 + 4096 + 4096 )) ] ||
	fail "blob is $(stat -c %s "$T/d.blob") bytes"
loop_attach "$T/d.blob"; loop=$LOOP
mount -t erofs -o ro,device="$loop" "$T/d.img" "$T/mnt" || fail "mount dedup image"
_mounts+=("$T/mnt")
treecmp "$T/dup" "$T/mnt" --mtime 0
umount "$T/mnt"

note "bad blob options"
if "$MKFS" --blobdev="$T/x.blob" "$T/x.img" "$T/src" 2>"$T/err"; then
	fail "--blobdev without --chunksize accepted"
fi
grep -q "needs --chunksize" "$T/err" || fail "message: $(cat "$T/err")"
[ ! -e "$T/x.blob" ] && [ ! -e "$T/x.img" ] || fail "left files behind"
if "$MKFS" --chunksize=3000 "$T/x.img" "$T/src" 2>"$T/err"; then
	fail "--chunksize=3000 accepted"
fi
echo "chunks and blobs verified"
