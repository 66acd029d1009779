#!/bin/bash
# Extraction never writes outside its directory, whatever the image says:
# names rewritten in the directory blocks to "..", to contain "/", or to
# duplicate a symlink's name so that a later entry would go through the
# symlink.  fsck.erofs must report the image as damaged and leave every
# path outside the target untouched.  A directory entry made to point back
# at the root is reported as a cycle, without hanging.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to extract owners"

outside="$T/outside"
mkdir -p "$outside" "$T/src/linkQQ"
echo data >"$T/src/linkQQ/victimQQ"
ln -s "$outside" "$T/src/linjQQ"
echo one >"$T/src/aaaaQQ"
echo two >"$T/src/zzzzQQ"
echo three >"$T/src/~~"

# patch IMAGE OLD NEW: rewrite every occurrence of the name OLD (same length)
patch_name() {
	"$PY" - "$@" <<'PYEOF'
import sys
path, old, new = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode()
assert len(old) == len(new)
d = bytearray(open(path, 'rb').read())
n = d.count(old)
assert n, f'{old} not in the image'
open(path, 'wb').write(d.replace(old, new))
print(f'{old.decode()} -> {new.decode()}: {n} place(s)')
PYEOF
}

try() {
	local name=$1 old=$2 new=$3
	note "$name"
	"$MKFS" --quiet -E nosbcrc -U clear -T 0 "$T/$name.img" "$T/src"
	patch_name "$T/$name.img" "$old" "$new"
	rm -rf "$T/x"
	set +e
	"$FSCK" --extract="$T/x" "$T/$name.img" >"$T/out" 2>&1
	rc=$?
	set -e
	cat "$T/out"
	[ $rc -ne 0 ] || fail "$name: a damaged image extracted cleanly"
	[ $((rc & 1)) -ne 0 ] || fail "$name: exit $rc does not say the image is damaged"
	[ -z "$(ls -A "$outside")" ] || fail "$name: wrote outside the target: $(ls -A "$outside")"
	[ ! -e "$T/victimQQ" ] && [ ! -e "$T/aQQ" ] && [ ! -e "$T/Q" ] ||
		fail "$name: wrote next to the target"
}

note "cycle: a file's entry made to point at the root directory"
"$MKFS" --quiet -E nosbcrc -U clear -T 0 "$T/cycle.img" "$T/src"
"$PY" - "$TOOLS" "$T/cycle.img" <<'PYEOF'
import struct, sys
sys.path.insert(0, sys.argv[1])
from erofsparse import Image
img = Image(sys.argv[2])
root = img.inode(img.root)
sub = [nid for name, nid, _ in img.dirents(root) if name == b'linkQQ'][0]
ext = img.flat_extents(img.inode(sub))[0]		# one small block or tail
d = bytearray(img.d)
n = struct.unpack_from('<H', d, ext['pa'] + 8)[0] // 12
for i in range(n):
    at = ext['pa'] + i * 12
    nid, nameoff = struct.unpack_from('<QH', d, at)
    end = struct.unpack_from('<H', d, at + 12 + 8)[0] if i + 1 < n else ext['plen']
    if bytes(d[ext['pa'] + nameoff:ext['pa'] + end]).rstrip(b'\0') == b'victimQQ':
        struct.pack_into('<QHB', d, at, img.root, nameoff, 2)	# EROFS_FT_DIR
        open(sys.argv[2], 'wb').write(d)
        print(f'victimQQ now names the root (nid {img.root})')
        break
else:
    sys.exit('victimQQ not found')
PYEOF
rm -rf "$T/x"
set +e
timeout 60 "$FSCK" --extract="$T/x" "$T/cycle.img" >"$T/out" 2>&1
rc=$?
set -e
cat "$T/out"
[ $rc != 124 ] || fail "cycle: fsck.erofs hung"
[ $((rc & 1)) -ne 0 ] || fail "cycle: exit $rc does not report the damage"
grep -q "reached a second time" "$T/out" || fail "cycle: no message about the loop"

try dotdot "~~" ".."
try dotdot-slash "aaaaQQ" "../aQQ"
try slash "zzzzQQ" "z/../Q"
try dup-symlink "linjQQ" "linkQQ"
echo "extraction stays inside its directory"
