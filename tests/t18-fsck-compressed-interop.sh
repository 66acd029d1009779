#!/bin/bash
# Compressed images written by a current erofs-utils (1.8.6, and 1.9.4 for
# -E 48bit): fragments (interlaced stored pclusters, the packed inode),
# all-fragments, pcluster dedupe (partial references), zstd, deflate with
# ztailpacking, 512-byte blocks, 48-bit extent records.  Each must be
# clean for our fsck.erofs, extract to exactly what the kernel reads from
# the same image and to the source tree, and dump.erofs -e / -S must not
# fail on it.  Then: a stored pcluster pointed at block 0 must be
# reported (naming the file) and the superblock never extracted into the
# file, and an advise bit the reader does not implement must give exit 4
# "not checked" with the bit named.
. "$(dirname "$0")/lib.sh"
require_mount
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

eu=$("$TOP/scripts/build-erofs-utils.sh" 1.8.6-1 | tail -n 1) && rc=0 || rc=$?
[ $rc = 2 ] && skip "erofs-utils 1.8.6 cannot be built here (scripts/build-erofs-utils.sh)"
[ $rc = 0 ] && [ -x "$eu/mkfs.erofs" ] || fail "build-erofs-utils.sh 1.8.6-1 failed (exit $rc)"

# the shapes that went wrong: sizes around block and pcluster limits,
# data that does not compress (stored raw, interlaced), equal and
# near-equal files for dedupe, already-compressed .gz files
TOOLS=$TOOLS "$PY" - "$T/src" <<'EOF'
import gzip, os, sys
sys.path.insert(0, os.environ['TOOLS'])
from treegen import Tree
t = Tree(sys.argv[1], 18, [b'erofs', b'block', b'cluster', b'kernel',
                           b'image', b'data', b'pcluster', b'fragment',
                           b'dedupe', b'zstd', b'the', b'of'])
rng, text, put = t.rng, t.text, t.put
for n in (0, 1, 511, 4095, 4096, 4097, 65537, 1 << 20):
    put(f'sizes/text-{n}', text(n))
    put(f'sizes/rand-{n}', rng.randbytes(n))
base = text(2 << 20) + rng.randbytes(200000) + text(1 << 20)
put('big/mixed', base)
put('big/mixed-copy', base)
near = bytearray(base)
near[123456] ^= 1
near[2000000:2000010] = b'0123456789'
put('big/mixed-near', bytes(near))
put('big/mixed-prefix', base[:1500000] + rng.randbytes(70000))
put('big/zeros', bytes(1 << 20))
for i in range(6):
    put(f'gz/f{i}.gz', gzip.compress(text(rng.randrange(1000, 300000)), mtime=0))
    put(f'gz/r{i}.bin', rng.randbytes(rng.randrange(100, 200000)))
for i in range(60):
    n = rng.choice([1, 100, 511, 3000, 4095, 4096, 4097, 9000, 20000, 70000])
    put(f'small/f{i:02d}', text(n) if i % 3 else rng.randbytes(n))
    if i % 10 == 0:
        put(f'small/dup{i:02d}', text(n))
EOF
# whole seconds: 48-bit images keep compact inodes' mtimes to the second
find "$T/src" -exec touch -h -d @1700000000 {} +
mkdir "$T/tm"
mount -t tmpfs -o size=512m none "$T/tm"
_mounts+=("$T/tm")

# check_image NAME MKFS_DIR OPTIONS...: write, check, extract, compare
check_image() {
	local name=$1 dir=$2 img="$T/$1.img" out="$T/tm/out" f
	shift 2
	note "$name: mkfs.erofs $* ($("$dir/mkfs.erofs" --version 2>&1 | sed -n 1p))"
	"$dir/mkfs.erofs" "$@" "$img" "$T/src" >"$T/mkfs.log" 2>&1 ||
		{ tail -n 5 "$T/mkfs.log"; fail "$name: erofs-utils' mkfs.erofs failed"; }
	"$FSCK" "$img" >"$T/fsck.log" 2>&1 ||
		{ tail -n 8 "$T/fsck.log"; fail "$name: fsck.erofs exit $?"; }
	rm -rf "$out"
	"$FSCK" --extract="$out" "$img" >"$T/fsck.log" 2>&1 ||
		{ tail -n 8 "$T/fsck.log"; fail "$name: fsck.erofs --extract exit $?"; }
	kernel_mount "$img" "$T/mnt"
	treecmp "$T/mnt" "$out" || fail "$name: our extraction differs from the kernel's mount"
	kernel_umount "$T/mnt"
	treecmp "$T/src" "$out" || fail "$name: our extraction differs from the source"
	"$DUMP" -S "$img" >/dev/null || fail "$name: dump.erofs -S exit $?"
	for f in sizes/rand-4097 sizes/text-65537 sizes/rand-1048576 big/mixed \
		 big/mixed-near big/mixed-prefix gz/f0.gz small/f01; do
		"$DUMP" -e --path="/$f" "$img" >/dev/null ||
			fail "$name: dump.erofs -e --path=/$f exit $?"
	done
}

check_image lz4hc-fragments "$eu" -zlz4hc -Efragments
check_image lzma-all-fragments "$eu" -zlzma -Eall-fragments
check_image lz4-dedupe "$eu" -zlz4 -Ededupe
check_image lzma-dedupe-fragments "$eu" -zlzma -C65536 -Ededupe,fragments
check_image zstd-4k "$eu" -zzstd -C4096
check_image zstd-64k "$eu" -zzstd -C65536
check_image deflate-ztailpacking "$eu" -zdeflate -Eztailpacking
check_image lz4hc-b512 "$eu" -zlz4hc -b512

# 48-bit images keep compressed files as extent records
eu19=$("$TOP/scripts/build-erofs-utils.sh" 1.9.4-1 | tail -n 1) && rc=0 || rc=$?
if [ $rc != 0 ] || [ ! -x "$eu19/mkfs.erofs" ]; then
	echo "erofs-utils 1.9.4 cannot be built here: the -E 48bit part is skipped"
elif "$eu19/mkfs.erofs" -E48bit "$T/probe.img" "$T/src/gz" >/dev/null 2>&1 &&
     probe=$("$FSCK" "$T/probe.img" 2>&1; true) &&
     [[ $probe == *"unknown incompatible feature"* ]]; then
	# the superblock's 48BIT bit is read elsewhere (the format work)
	echo "this fsck.erofs does not read 48BIT superblocks yet: the -E 48bit part is skipped"
else
	check_image 48bit-lz4hc "$eu19" -E48bit -zlz4hc
	check_image 48bit-lzma "$eu19" -E48bit -zlzma -C65536
	check_image 48bit-lz4hc-fragments-dedupe "$eu19" -E48bit -zlz4hc -C65536 -Efragments,dedupe
fi

# --- a stored pcluster moved onto the superblock and the inodes ---
note "a stored pcluster at block 0"
cp "$T/lz4-dedupe.img" "$T/bad.img"
victim=$(TOOLS=$TOOLS "$PY" - "$T/bad.img" <<'EOF'
import os, struct, sys
sys.path.insert(0, os.environ['TOOLS'])
from erofsparse import Image
img = Image(sys.argv[1])
for path, ino, first in img.walk():
    # full indexes (dedupe): a PLAIN head keeps its blkaddr in its entry
    if ino['layout'] != 1:
        continue
    hstart = (ino['iend'] + 7) & ~7
    cbits = img.d[hstart + 7]
    for e in img.z_extents(ino):
        if e['kind'] == 'stored':
            pos = hstart + 16 + (e['la'] >> (img.bits + (cbits & 15))) * 8 + 4
            with open(sys.argv[1], 'r+b') as f:
                f.seek(pos)
                f.write(struct.pack('<I', 0))
            print(path.decode())
            sys.exit(0)
sys.exit('no stored pcluster with a full index found')
EOF
) || fail "cannot craft the image"
rm -rf "$T/tm/bad"
out=$("$FSCK" --extract="$T/tm/bad" "$T/bad.img" 2>&1) && rc=0 || rc=$?
[ $rc = 1 ] || { echo "$out"; fail "a pcluster over the superblock: fsck exit $rc, not 1"; }
[[ $out == *"$victim"*"over the superblock"* ]] ||
	{ echo "$out"; fail "the overlap is not reported against $victim"; }
# the superblock's first bytes must not be anywhere in what was extracted
if [ -e "$T/tm/bad$victim" ]; then
	"$PY" -c 'import sys
sb = open(sys.argv[1], "rb").read()[1024:1024 + 64]
sys.exit(sb in open(sys.argv[2], "rb").read())' "$T/bad.img" "$T/tm/bad$victim" ||
		fail "the superblock was extracted into $victim"
fi
echo "reported: $(grep -m1 'over the superblock' <<<"$out")"

# --- an advise bit nobody implements ---
note "an unknown advise bit"
cp "$T/lz4-dedupe.img" "$T/advise.img"
TOOLS=$TOOLS "$PY" - "$T/advise.img" <<'EOF' || fail "cannot craft the image"
import os, struct, sys
sys.path.insert(0, os.environ['TOOLS'])
from erofsparse import Image
img = Image(sys.argv[1])
for path, ino, first in img.walk():
    if path == b'/big/mixed-near':
        h = (ino['iend'] + 7) & ~7
        advise, = struct.unpack_from('<H', img.d, h + 4)
        with open(sys.argv[1], 'r+b') as f:
            f.seek(h + 4)
            f.write(struct.pack('<H', advise | 0x4000))
        sys.exit(0)
sys.exit('no /big/mixed-near')
EOF
out=$("$FSCK" "$T/advise.img" 2>&1) && rc=0 || rc=$?
[ $rc = 4 ] || { echo "$out"; fail "an unknown advise bit: fsck exit $rc, not 4"; }
[[ $out == *"advise bits 0x4000: not supported"* ]] ||
	{ echo "$out"; fail "the unknown advise bit is not named"; }
[[ $out == *"/big/mixed-near"*"not fully checked"* ]] ||
	{ echo "$out"; fail "the file is not named as not checked"; }
echo "refused: $(grep -m1 'advise bits' <<<"$out")"
echo "erofs-utils' compressed images read exactly as the kernel reads them"
