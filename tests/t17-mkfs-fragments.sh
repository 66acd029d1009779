#!/bin/bash
# -E fragments: the last pcluster's worth of every compressed file (a
# small file whole) goes to the packed inode, compressed together.  For
# every algorithm, several pcluster sizes, both index formats, small
# blocks and with -E ztailpacking: the kernel mounts the image and reads
# every byte back equal (whole files and 300 random ranges), our fsck
# extracts the same tree; the on-disk shapes are checked from the raw
# bytes (whole-file fragments, partial ones, the packed inode in the
# superblock); the image is the same for any --workers and smaller than
# without fragments; equal files share one fragment; the temporary file
# is never left behind; damaged fragment offsets are caught by fsck.
# -E all-fragments puts every compressed file whole there (a 65 MiB one
# too), the same for any --workers, read back by the kernel, our fsck and
# erofs-utils 1.8.6's.
. "$(dirname "$0")/lib.sh"
require_mount

gentree compress "$T/src"
# the >64 MiB file once, in the first image; smaller trees for the rest
cp -a "$T/src" "$T/s"
rm "$T/s/big"
# equal small files: whole-file dedup shares their fragment
one=$(cd "$T/s/small" && for f in f*; do
	sz=$(stat -c %s "$f")
	[ "$sz" -gt 0 ] && [ "$sz" -le 16384 ] && echo "$f" && break
done)
for i in 1 2 3; do cp "$T/s/small/$one" "$T/s/small/same-$i"; done

# shape IMAGE PATH: "whole OFF", "partial OFF", or "none" from the map header
shape() {
	"$PY" - "$1" "$2" "$DUMP" <<'PYEOF'
import re, struct, subprocess, sys
img, path, dump = sys.argv[1:4]
d = open(img, 'rb').read()
bits = d[1024 + 12]
meta, = struct.unpack_from('<I', d, 1024 + 40)
out = subprocess.run([dump, '--path=' + path, img], capture_output=True,
                     text=True).stdout
nid = int(re.search(r'NID: *(\d+)', out).group(1))
pos = (meta << bits) + nid * 32
fmt, icount = struct.unpack_from('<HH', d, pos)
layout = (fmt >> 1) & 7
if layout not in (1, 3):
    print('none')
    sys.exit(0)
isize = 64 if fmt & 1 else 32
xsize = 12 + 4 * (icount - 1) if icount else 0
h = (pos + isize + xsize + 7) & ~7
raw, = struct.unpack_from('<Q', d, h)
fragoff, advise = struct.unpack_from('<IH', d, h)
if raw >> 63:
    print('whole', raw & ~(1 << 63))
elif advise & 0x20:
    print('partial', fragoff)
else:
    print('none')
PYEOF
}

check_image() {	# IMAGE SRC
	kernel_mount "$1" "$T/mnt"
	"$PY" "$TOOLS/randread.py" "$2" "$T/mnt" 300
	treecmp "$2" "$T/mnt" --mtime 0 >/dev/null
	kernel_umount "$T/mnt"
	rm -rf "$T/x"
	"$FSCK" --quiet --extract="$T/x" "$1" ||
		fail "our fsck.erofs rejects $1"
	treecmp "$2" "$T/x" --mtime 0 >/dev/null ||
		fail "our fsck.erofs extracts $1 differently"
}

# the superblock: fragments feature and a packed inode that is a file
packed_nid() {
	"$PY" - "$1" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
incompat, = struct.unpack_from('<I', d, 1024 + 80)
nid, = struct.unpack_from('<Q', d, 1024 + 96)
print(nid if incompat & 0x20 else 'none')
PYEOF
}

note "lz4hc -C 64K with the 65 MiB file"
mkdir -p "$T/tmp"
TMPDIR="$T/tmp" "$MKFS" --quiet -z lz4hc -C 65536 -E fragments -T 0 "$T/big.img" "$T/src"
[ -z "$(ls -A "$T/tmp")" ] || fail "temporary files left behind: $(ls "$T/tmp")"
[ "$(packed_nid "$T/big.img")" != none ] || fail "no packed inode in the superblock"
check_image "$T/big.img" "$T/src"
set -- $(shape "$T/big.img" /big)
[ "$1" = partial ] || fail "/big: its tail is not a fragment: $*"
set -- $(shape "$T/big.img" /one-block)
[ "$1" = whole ] || fail "/one-block: not a whole-file fragment: $*"
[ "$(shape "$T/big.img" /empty)" = none ] || fail "/empty has a fragment"
rm -f "$T/big.img"

# ALG C FRAGMENTS-OPTION [MORE OPTIONS]
for cfg in "lz4 4096 fragments" "lz4hc 16384 fragments" \
	   "lz4hc 1048576 fragments" "lzma 131072 fragments" \
	   "deflate 32768 fragments" "lzma 65536 fragments -E legacy-compress" \
	   "lz4hc 65536 fragments -E ztailpacking" "lz4hc 32768 fragments -b 512" \
	   "lzma 8192 fragments -b 1024 -E legacy-compress" \
	   "lz4 16384 fragments=262144"; do
	set -- $cfg
	alg=$1 C=$2 fopt=$3
	shift 3
	note "-z $alg -C $C -E $fopt $*"
	"$MKFS" --quiet -z "$alg" -C "$C" -E "$fopt" "$@" -T 0 "$T/f.img" "$T/s"
	check_image "$T/f.img" "$T/s"
	"$MKFS" --quiet -z "$alg" -C "$C" "$@" -T 0 "$T/n.img" "$T/s"
	fsz=$(stat -c %s "$T/f.img") nsz=$(stat -c %s "$T/n.img")
	echo "  $fsz bytes with fragments, $nsz without"
	[ "$fsz" -lt "$nsz" ] ||
		fail "-z $alg -C $C -E $fopt $*: fragments did not make the image smaller ($fsz >= $nsz)"
done

note "with -C 32K every small file (up to 20000 bytes) is a whole-file fragment"
"$MKFS" --quiet -z lz4hc -C 32768 -E fragments -T 0 "$T/f.img" "$T/s"
declare -A offs
for f in "$T"/s/small/*; do
	rel=/small/$(basename "$f")
	set -- $(shape "$T/f.img" "$rel")
	sz=$(stat -c %s "$f")
	if [ "$sz" -eq 0 ]; then
		[ "$1" = none ] || fail "$rel: empty, yet $*"
	else
		[ "$1" = whole ] || fail "$rel ($sz bytes): $* (not a whole-file fragment)"
		offs[$rel]=$2
	fi
done
for i in 1 2 3; do
	[ "${offs[/small/same-$i]}" = "${offs[/small/$one]}" ] ||
		fail "same-$i: fragment at ${offs[/small/same-$i]}, $one's at ${offs[/small/$one]}"
done

note "the same image for any --workers"
for w in 1 2 5; do
	"$MKFS" --quiet -z lzma -C 65536 -E fragments,ztailpacking --workers=$w \
		-T 0 -U clear "$T/w$w.img" "$T/s"
done
cmp "$T/w1.img" "$T/w2.img" || fail "--workers 1 and 2 differ"
cmp "$T/w1.img" "$T/w5.img" || fail "--workers 1 and 5 differ"

note "-E all-fragments: every compressed file whole in the packed inode"
for w in 1 3; do
	"$MKFS" --quiet -z lzma -C 65536 -E all-fragments --workers=$w -T 0 \
		-U clear "$T/a$w.img" "$T/s"
done
cmp "$T/a1.img" "$T/a3.img" || fail "all-fragments: --workers 1 and 3 differ"
check_image "$T/a1.img" "$T/s"
for f in /one-block /block-plus-one /text-4m /random-3m /zero-runs /small/f002; do
	set -- $(shape "$T/a1.img" "$f")
	[ "$1" = whole ] || fail "all-fragments: $f is not a whole-file fragment: $*"
done
if erofs_utils 1.8.6-1; then
	rm -rf "$T/eu"
	"$EU/fsck.erofs" --extract="$T/eu" "$T/a1.img" >/dev/null ||
		fail "erofs-utils 1.8.6 fsck.erofs rejects -E all-fragments"
	diff -r "$T/s" "$T/eu" >/dev/null ||
		fail "erofs-utils 1.8.6 extracts -E all-fragments differently"
fi
rm -f "$T/a1.img" "$T/a3.img"
# a file of several segments goes whole too, in order
"$MKFS" --quiet -z lz4 -E all-fragments -T 0 "$T/a.img" "$T/src"
kernel_mount "$T/a.img" "$T/mnt"
cmp "$T/src/big" "$T/mnt/big" || fail "all-fragments: the 65 MiB file reads back wrong"
kernel_umount "$T/mnt"
set -- $(shape "$T/a.img" /big)
[ "$1" = whole ] || fail "all-fragments: /big is not a whole-file fragment: $*"
rm -f "$T/a.img"

note "the packed inode: a regular file outside the tree, decoded by fsck"
nid=$(packed_nid "$T/f.img")
grep -q 'Type: *regular file' <<<"$("$DUMP" --nid="$nid" "$T/f.img")" ||
	fail "packed inode nid $nid is not a regular file"
out=$("$FSCK" "$T/f.img" 2>&1) || fail "fsck: $out"
# one inode more than the tree has: the packed inode is checked too
n=$(find "$T/s" | wc -l)
grep -q ": clean: $((n + 1)) inodes" <<<"$out" ||
	fail "fsck did not check the packed inode: $out (tree has $n)"

note "damage: fragment offsets past the packed inode, packed_nid a directory"
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments,nosbcrc -T 0 "$T/d.img" "$T/s"
"$PY" - "$T/d.img" "$T/d1.img" "$T/d2.img" "$DUMP" "/small/$one" <<'PYEOF'
import re, struct, subprocess, sys
src, d1, d2, dump, path = sys.argv[1:6]
d = bytearray(open(src, 'rb').read())
bits = d[1024 + 12]
meta, = struct.unpack_from('<I', d, 1024 + 40)
out = subprocess.run([dump, '--path=' + path, src], capture_output=True,
                     text=True).stdout
nid = int(re.search(r'NID: *(\d+)', out).group(1))
pos = (meta << bits) + nid * 32
fmt, = struct.unpack_from('<H', d, pos)
h = (pos + 32 + 7) & ~7
raw, = struct.unpack_from('<Q', d, h)
assert fmt == 1 << 1 and raw >> 63, path + ' is not a whole-file fragment'
bad = bytearray(d)
struct.pack_into('<Q', bad, h, (1 << 63) | (1 << 40))
open(d1, 'wb').write(bad)
bad = bytearray(d)
root, = struct.unpack_from('<H', d, 1024 + 14)
struct.pack_into('<Q', bad, 1024 + 96, root)
open(d2, 'wb').write(bad)
PYEOF
out=$("$FSCK" "$T/d1.img" 2>&1) && fail "fsck passes a fragment past the packed inode"
grep -q "small/$one.*runs past the packed inode" <<<"$out" ||
	fail "fsck does not say where the bad fragment is: $out"
out=$("$FSCK" "$T/d2.img" 2>&1) && fail "fsck passes a directory as the packed inode"
grep -q "packed inode nid .* is not a regular file" <<<"$out" ||
	fail "fsck does not name the bad packed inode: $out"

note "bad options and a temporary directory that cannot be written"
expect_fail "$MKFS" --quiet -E fragments "$T/o.img" "$T/s"
expect_fail "$MKFS" --quiet -z lz4 -E fragments=5000 "$T/o.img" "$T/s"
[ ! -e "$T/o.img" ] || fail "an image was left after bad options"
out=$(TMPDIR="$T/nonexistent" "$MKFS" --quiet -z lz4 -E fragments "$T/o.img" "$T/s" 2>&1) &&
	fail "mkfs succeeded without a temporary directory"
grep -q "packed inode's temporary file" <<<"$out" || fail "unclear error: $out"
[ ! -e "$T/o.img" ] || fail "an image was left after a failed build"
echo "PASS"
