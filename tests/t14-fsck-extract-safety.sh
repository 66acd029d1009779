#!/bin/bash
# Extraction never writes outside its directory, whatever the image says:
# names rewritten in the directory blocks to "..", to contain "/", or to
# duplicate a symlink's name so that a later entry would go through the
# symlink.  fsck.erofs must report the image as damaged and leave every
# path outside the target untouched.
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

try dotdot "~~" ".."
try dotdot-slash "aaaaQQ" "../aQQ"
try slash "zzzzQQ" "z/../Q"
try dup-symlink "linjQQ" "linkQQ"
echo "extraction stays inside its directory"
