#!/bin/bash
# run.sh: alone
# (boots the cachefiles test kernel under qemu, as t43: nothing beside it)
# erofs-fetch's daemon checks every unit of a blob against the digest
# table in the bootstrap it serves, under a real kernel: the bootstrap is
# mounted by an fsid that is its sha256 (so it is checked before it is
# served), and the blob comes from a mirror that flips one byte in one
# unit.  Reading a file in that unit gives EIO, other files read fine,
# and the cache file never holds the bad byte (checked on the host with
# dump.erofs --cache and a byte compare against the blob); with a good
# fallback (--source given again) the same file reads back right.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/kernel/guest.sh"
require_mount

FETCH=${EROFS_FETCH:-$TOP/fetch/erofs-fetch}
[ -x "$FETCH" ] || fail "erofs-fetch not built: $FETCH"
for t in qemu-system-x86_64 cpio gzip mkfs.ext4; do
	command -v $t >/dev/null || fail "$t missing: run scripts/install-deps.sh"
done
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
	fail "static /bin/busybox missing: apt-get install busybox-static"

set +e
KERNEL=$("$TOP/scripts/build-kernel.sh" 2>"$T/kbuild.err" | tail -n 1)
krc=${PIPESTATUS[0]}
set -e
[ "$krc" = 2 ] && skip "cannot build the test kernel: $(grep -m1 'cannot build' "$T/kbuild.err")"
[ "$krc" = 0 ] && [ -s "$KERNEL" ] || { cat "$T/kbuild.err"; fail "kernel build failed"; }

note "bootstrap + blob, and a doctored copy of the blob"
mkdir -p "$T/src"
for i in 1 2 3 4; do
	head -c $((400000 + 1000 * i)) /dev/urandom >"$T/src/f$i"
done
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/blob" "$T/boot.img" "$T/src" || fail "mkfs"
TAG=$(sha256sum "$T/blob" | cut -c1-64)
FSID=$(sha256sum "$T/boot.img" | cut -c1-64)
# a unit inside f3, with f1 clear of it
read -r UNIT BAD < <("$PY" - "$TOP/dump/dump.erofs" "$T/boot.img" <<'PYEOF'
import re, subprocess, sys
def ranges(path):
    out = subprocess.run([sys.argv[1], '--path=' + path, '-e', sys.argv[2]],
                         capture_output=True, text=True, check=True).stdout
    return [(int(a), int(b)) for a, b in re.findall(r'-> dev 1 +(\d+)\.\.(\d+)', out)]
f3, f1 = ranges('/f3'), ranges('/f1')
lo, hi = min(a for a, _ in f3), max(b for _, b in f3)
u = -(-lo // 65536)
assert (u + 1) * 65536 <= hi, (lo, hi)
assert all(b <= u * 65536 or a >= (u + 1) * 65536 for a, b in f1), f1
print(u, u * 65536 + 4321)
PYEOF
)
[ -n "$BAD" ] || fail "no unit found inside f3"
echo "unit $UNIT of the blob is inside /f3; the mirror flips byte $BAD"
mkdir -p "$T/srv/good" "$T/srv/bad"
cp "$T/boot.img" "$T/srv/good/$FSID"
cp "$T/boot.img" "$T/srv/bad/$FSID"
cp "$T/blob" "$T/srv/good/$TAG"
"$PY" - "$T/blob" "$T/srv/bad/$TAG" "$BAD" <<'PYEOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[int(sys.argv[3])] ^= 1
open(sys.argv[2], 'wb').write(d)
PYEOF
cmp -s "$T/blob" "$T/srv/bad/$TAG" && fail "the doctored copy is not doctored"
mkfs.ext4 -q -F -d "$T/srv" "$T/srv.ext4" 64M
truncate -s 64M "$T/cache.ext4"
mkfs.ext4 -q -F "$T/cache.ext4"

guest_root "$T/root"
guest_add_bin "$T/root" "$FETCH" erofs-fetch
{
	echo "FSID=$FSID"
	echo "F1=$(sha256sum "$T/src/f1" | cut -c1-64)"
	echo "F3=$(sha256sum "$T/src/f3" | cut -c1-64)"
	cat "$TOP/tests/kernel/t49-scenario.sh"
} >"$T/root/scenario.sh"
echo 300 >"$T/root/timeout"
guest_pack "$T/root" "$T/initrd.gz"

note "booting the guest"
set +e
guest_run "$KERNEL" "$T/initrd.gz" "$T/console.log" 400 "$T/cache.ext4" "$T/srv.ext4"
qrc=$?
set -e
tr -d '\r' <"$T/console.log" | grep GUEST- | sed 's/^/guest| /'
mkdir -p "$T/cmnt"
mount -o loop "$T/cache.ext4" "$T/cmnt" || fail "mounting the guest's cache disk"
_mounts+=("$T/cmnt")
R="$T/cmnt/results"
for f in bad.log fallback.log; do
	[ -f "$R/$f" ] && grep -v 'debug:' "$R/$f" | sed "s/^/$f| /" | tail -n 25
done
[ $qrc = 124 ] && fail "qemu timed out"
grep -q "GUEST-EXIT" "$T/console.log" || fail "the guest never finished its scenario"
grep "GUEST-FAIL " "$T/console.log" && fail "guest checks failed"
grep -q "GUEST-EXIT 0" "$T/console.log" || fail "guest scenario failed"
grep -q "blob $TAG unit $UNIT .*sha256 does not match" "$R/bad.log" ||
	fail "the daemon did not name the bad unit"
grep -q "verify stats: units_verified [1-9]" "$R/fallback.log" ||
	fail "no units verified in the stats"
grep -q "verify failures [1-9]" "$R/bad.log" ||
	fail "the mismatches are not in the verify_failures counter"

note "the cache file never holds the bad byte"
dfile=$(find "$T/cmnt/fscache" -type f -name "D$TAG")
[ -n "$dfile" ] || fail "no cache file for the blob"
mkdir -p "$T/cview"
ln -s "$dfile" "$T/cview/$TAG"
"$TOP/dump/dump.erofs" --cache="$T/cview" "$T/boot.img" >"$T/dump.out" 2>&1 ||
	{ cat "$T/dump.out"; fail "dump.erofs --cache"; }
grep -E '^  /f[13]:' "$T/dump.out" || true
grep -q '^  /f1: cached (verified)' "$T/dump.out" || fail "dump --cache: f1 is not cached and verified"
grep -q '^  /f3: .*(\(verified\|absent\))' "$T/dump.out" || fail "dump --cache: f3 holds unverified bytes"
"$PY" - "$dfile" "$T/blob" "$BAD" <<'PYEOF' || fail "the cache file holds bytes the blob does not"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
blob = open(sys.argv[2], 'rb').read()
bad = int(sys.argv[3])
size = os.fstat(fd).st_size
pos = 0
while pos < size:
    try:
        d = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    data = os.pread(fd, h - d, d)
    assert data == blob[d:h], f'cached bytes {d}..{h} differ from the blob'
    pos = h
assert blob[bad:bad + 1] != b'', bad
print('cache file: every cached byte equals the blob')
PYEOF
echo "t49: all checks passed"
