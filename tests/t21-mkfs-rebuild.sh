#!/bin/bash
# Rebuild mode: a bootstrap over three layer images -- one chunk-based with
# its data inside, one whose data is in a blob, one flat without inline
# tails -- and over three compressed ones (lzma pclusters in a blob, lz4hc
# inside, Debian's lz4hc), merged as overlayfs stacks them (whiteouts, opaque directories,
# replaced and merged entries, hardlinks split by an upper layer).  The
# kernel mounts it with the layers' devices and reads back the tree an
# overlay copy gives; fsck.erofs finds the blobs by digest and verifies
# them, and notices a wrong, swapped or truncated blob; layers it cannot
# refer to in place are refused by name.
. "$(dirname "$0")/lib.sh"
require_mount

gentree full "$T/l1"
rm -rf "$T/l1/names"			# keep the test quick
mkdir -p "$T/l2/links/a" "$T/l2/times" "$T/l2/sizes/f8192" "$T/l2/new" "$T/l3/sizes"
mknod "$T/l2/links/a/one" c 0 0			# whiteout: one hardlink name
mknod "$T/l2/types" c 0 0			# whiteout: a whole directory
setfattr -n trusted.overlay.opaque -v y "$T/l2/times"	# opaque
echo "only this" >"$T/l2/times/fresh"
echo "a dir replaced by a file" >"$T/l2/xattrs"
echo "inside a file made a dir" >"$T/l2/sizes/f8192/inner"
head -c 300000 /dev/urandom >"$T/l2/new/blob-data"
ln "$T/l2/new/blob-data" "$T/l2/new/blob-data-link"
setfattr -n user.layer -v two "$T/l2/new/blob-data"
head -c 12288 /dev/urandom >"$T/l3/sizes/f4097"	# replaces, block-aligned
head -c 5000 /dev/urandom >"$T/l3/tail-file"
ln -s ../sizes/f4097 "$T/l3/link-to-f4097"
touch -h -d @1700000000 "$T/l2"/* "$T/l3"/* "$T/l2" "$T/l3"

# the expected tree: each layer applied over a copy of the ones below
"$PY" - "$T/exp" "$T/l1" "$T/l2" "$T/l3" <<'PYEOF'
import os, shutil, stat, subprocess, sys
exp, layers = sys.argv[1], sys.argv[2:]

def rm(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.unlink(p)

subprocess.run(['cp', '-a', layers[0], exp], check=True)
for layer in layers[1:]:
    restore = []
    for d, dirs, files in os.walk(layer):
        rel = os.path.relpath(d, layer)
        for name in dirs + files:
            src = os.path.join(d, name)
            dst = os.path.normpath(os.path.join(exp, rel, name))
            st = os.lstat(src)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                rm(dst)
            elif not stat.S_ISDIR(st.st_mode) or not os.path.isdir(dst) or \
                    os.path.islink(dst):
                rm(dst)
            else:
                try:
                    opaque = os.getxattr(src, 'trusted.overlay.opaque',
                                         follow_symlinks=False) == b'y'
                except OSError:
                    opaque = False
                if opaque:
                    rm(dst)
        restore.append(d)
    subprocess.run(['cp', '-a', layer + '/.', exp], check=True)
    for d, dirs, files in os.walk(exp, topdown=False):
        for name in files + dirs:
            p = os.path.join(d, name)
            st = os.lstat(p)
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                os.unlink(p)
            elif stat.S_ISDIR(st.st_mode):
                try:
                    os.removexattr(p, 'trusted.overlay.opaque')
                except OSError:
                    pass
    # removing whiteouts touched their directories: the layer's times win
    for d in restore:
        st = os.lstat(d)
        os.utime(os.path.join(exp, os.path.relpath(d, layer)),
                 ns=(st.st_atime_ns, st.st_mtime_ns))
PYEOF

note "three layers: chunks inside, chunks in a blob, flat without tails"
"$MKFS" --quiet --chunksize=4096 "$T/l1.img" "$T/l1"
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/l2.blob" "$T/l2.img" "$T/l2"
"$MKFS" --quiet -E ^inline_data "$T/l3.img" "$T/l3"
"$MKFS" --manifest="$T/m.json" "$T/merged.img" "$T/l1.img" "$T/l2.img" "$T/l3.img" >"$T/out" ||
	fail "rebuild failed"
cat "$T/out"
grep -q "from 3 layer images" "$T/out" || fail "summary does not name the layers"
[ "$(stat -c %s "$T/merged.img")" -lt $((2 << 20)) ] || fail "the bootstrap holds data"

# devices in (layer, device) order: l1 itself, l2's blob, l3 itself
mkdir -p "$T/blobs"
for f in l1.img l2.blob l3.img; do
	cp "$T/$f" "$T/blobs/$(sha256sum "$T/$f" | cut -c1-64)"
done
"$PY" - "$T/m.json" "$T/blobs" <<'PYEOF' || fail "manifest does not list the layers' digests"
import json, os, sys
m = json.load(open(sys.argv[1]))
tags = [b['sha256'] for b in m['blobs']]
assert len(tags) == 3 and all(os.path.exists(os.path.join(sys.argv[2], t)) for t in tags), m
PYEOF

devs=()
for f in l1.img l2.blob l3.img; do
	loop_attach "$T/$f"
	devs+=("device=$LOOP")
done
mkdir -p "$T/mnt"
opts=$(IFS=,; echo "${devs[*]}")
mount -t erofs -o "ro,$opts" "$T/merged.img" "$T/mnt" ||
	fail "kernel refused the merged image: $(dmesg | tail -n 2)"
_mounts+=("$T/mnt")
treecmp "$T/exp" "$T/mnt" || fail "merged tree differs from the overlay of the layers"
umount "$T/mnt"

note "fsck: blobs found by digest, verified, extracted identical"
rm -rf "$T/x"
"$FSCK" --blob-dir="$T/blobs" --verify-blobs --extract="$T/x" "$T/merged.img" ||
	fail "fsck.erofs --blob-dir --verify-blobs failed"
treecmp "$T/exp" "$T/x"
if [ -x "$DEB_FSCK" ]; then
	"$DEB_FSCK" --device="$T/l1.img" --device="$T/l2.blob" --device="$T/l3.img" \
		"$T/merged.img" >/dev/null || fail "Debian fsck.erofs rejects the merged image"
fi

note "dump: the device table and where each extent lives"
"$DUMP" -s "$T/merged.img" >"$T/dump"
for f in l1.img l2.blob l3.img; do
	grep -q "tag \"$(sha256sum "$T/$f" | cut -c1-64)\"" "$T/dump" ||
		fail "dump -s does not list $f's digest"
done
"$DUMP" --blob-dir="$T/blobs" --path=/new/blob-data -e "$T/merged.img" >"$T/dump"
grep -q -- "-> dev 2 " "$T/dump" || fail "dump -e does not put l2's file on device 2: $(cat "$T/dump")"
"$DUMP" --blob-dir="$T/blobs" --path=/sizes/f4097 -e "$T/merged.img" >"$T/dump"
grep -q -- "-> dev 3 " "$T/dump" || fail "dump -e does not put l3's file on device 3: $(cat "$T/dump")"

note "a wrong blob (same size, other bytes) is caught by --verify-blobs"
b2=$(sha256sum "$T/l2.blob" | cut -c1-64)
cp "$T/blobs/$b2" "$T/good"
printf 'X' | dd of="$T/blobs/$b2" bs=1 seek=70000 conv=notrunc status=none
set +e
"$FSCK" --quiet --blob-dir="$T/blobs" --verify-blobs "$T/merged.img" 2>"$T/err"; rc=$?
set -e
cat "$T/err"
[ $rc = 1 ] || fail "a damaged blob: exit $rc, not 1"
grep -q "unit 1 (bytes 65536-131071) does not match its digest table" "$T/err" ||
	fail "no unit mismatch message"

note "a truncated blob is an error even without --verify-blobs"
head -c 8192 "$T/good" >"$T/blobs/$b2"
set +e
"$FSCK" --quiet --blob-dir="$T/blobs" "$T/merged.img" 2>"$T/err"; rc=$?
set -e
cat "$T/err"
[ $rc = 1 ] || fail "a truncated blob: exit $rc, not 1"

note "compressed layers: lzma in a blob, lz4hc inside, Debian's lz4hc"
mkdir -p "$T/z1/docs" "$T/z2" "$T/z3"
"$PY" - "$T/z1/docs" <<'PYEOF'
import os, random, sys
rng = random.Random(21)
words = [bytes(rng.choice(b'abcdefghijklmnop') for _ in range(rng.randrange(2, 10)))
         for _ in range(500)]
for i in range(40):
    n = rng.randrange(1, 400000)
    body = b' '.join(rng.choice(words) for _ in range(n // 6))[:n]
    if i % 5 == 0:
        body += rng.randbytes(rng.randrange(1, 70000))
    open(os.path.join(sys.argv[1], f'doc{i:02d}'), 'wb').write(body)
PYEOF
cp -a "$T/z1/docs" "$T/z2/more"
head -c 1000000 /dev/zero >"$T/z2/zeros"
cp -a "$T/z1/docs/doc01" "$T/z3/doc01"
mkdir "$T/z3/docs" && cp "$T/z1/docs/doc05" "$T/z3/docs/doc02"	# replaces
"$MKFS" --quiet -zlzma -C 131072 --chunksize=65536 --blobdev="$T/z1.blob" "$T/z1.img" "$T/z1"
"$MKFS" --quiet -zlz4hc -C 16384 --chunksize=4096 "$T/z2.img" "$T/z2"
if [ -x "$DEB_MKFS" ]; then
	"$DEB_MKFS" -zlz4hc --chunksize=4096 "$T/z3.img" "$T/z3" >/dev/null 2>&1 ||
		fail "Debian mkfs.erofs -zlz4hc --chunksize"
else
	"$MKFS" --quiet -zlz4 --chunksize=4096 "$T/z3.img" "$T/z3"
fi
"$MKFS" "$T/zm.img" "$T/z1.img" "$T/z2.img" "$T/z3.img" >"$T/out" || fail "compressed rebuild failed"
cat "$T/out"
rm -rf "$T/zexp" && mkdir "$T/zexp"
for d in z1 z2 z3; do cp -a "$T/$d/." "$T/zexp/"; done
devs=()
for f in z1.blob z2.img z3.img; do
	loop_attach "$T/$f"
	devs+=("device=$LOOP")
done
opts=$(IFS=,; echo "${devs[*]}")
mount -t erofs -o "ro,$opts" "$T/zm.img" "$T/mnt" ||
	fail "kernel refused the compressed merge: $(dmesg | tail -n 2)"
_mounts+=("$T/mnt")
"$PY" "$TOOLS/randread.py" "$T/zexp" "$T/mnt" 300
treecmp "$T/zexp" "$T/mnt" || fail "compressed merge differs"
umount "$T/mnt"
"$FSCK" --quiet --device="$T/z1.blob" --device="$T/z2.img" --device="$T/z3.img" "$T/zm.img" ||
	fail "fsck.erofs rejects the compressed merge"

note "a layer whose data cannot be referenced in place is refused by name"
"$MKFS" --quiet "$T/inline.img" "$T/l3"
if "$MKFS" --quiet "$T/bad.img" "$T/l1.img" "$T/inline.img" 2>"$T/err"; then
	fail "a layer with inline tails was accepted"
fi
cat "$T/err"
grep -q "inline.img:/tail-file: inline tail" "$T/err" || fail "the refusal does not name the file"
[ ! -e "$T/bad.img" ] || fail "a refused rebuild left an image behind"
expect_fail "$MKFS" --quiet -zlz4 "$T/bad.img" "$T/l1.img"
expect_fail "$MKFS" --quiet "$T/bad.img" "$T/l1.img" "$T/l2"
echo "rebuild mode merges layers without copying data"
