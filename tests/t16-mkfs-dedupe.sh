#!/bin/bash
# Whole-file deduplication: files equal to one stored before share its
# blocks (plain) or pclusters (compressed, also in a blob).  The saving is
# exact -- the image shrinks by precisely the blocks of the duplicates --
# the summary counts them, the kernel reads every file back, and our
# fsck.erofs (which allows whole-file sharing, nothing partial) and
# Debian's accept the images.  -E ^dedupe turns it off.
. "$(dirname "$0")/lib.sh"
require_mount

mkdir -p "$T/src/a" "$T/src/b/deep"
# prints how many duplicates it made and their bytes
"$PY" - "$T/src" >"$T/expect" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(16)
def text(n):
    words = [b'lorem', b'ipsum', b'dolor', b'sit', b'amet', b'erofs', b'chunk']
    return b' '.join(rng.choice(words) for _ in range(n))[:n * 4]
# whole blocks only, so that plain files have no inline tail to keep
originals = {
    'a/rand-8k': rng.randbytes(8192),
    'a/rand-1m': rng.randbytes(1 << 20),
    'a/text-64k': text(16384)[:65536].ljust(65536, b'.'),
    'a/text-300k': text(80000)[:307200].ljust(307200, b'.'),
}
for rel, data in originals.items():
    open(os.path.join(root, rel), 'wb').write(data)
copies = {'b/rand-8k': 'a/rand-8k', 'b/deep/rand-8k-again': 'a/rand-8k',
          'b/rand-1m': 'a/rand-1m', 'b/text-64k': 'a/text-64k',
          'b/deep/text-300k': 'a/text-300k', 'c-text-64k': 'a/text-64k'}
for rel, src in copies.items():
    open(os.path.join(root, rel), 'wb').write(originals[src])
# equal but for one byte: never shared
d = bytearray(originals['a/rand-1m']); d[-1] ^= 1
open(os.path.join(root, 'b/rand-1m-differs'), 'wb').write(d)
saved = sum(len(originals[s]) for s in copies.values())
print(len(copies), saved)
PYEOF
ln "$T/src/a/rand-8k" "$T/src/b/hardlink"	# one inode: nothing to share
read -r ndup nbytes <"$T/expect"
echo "expecting $ndup duplicates of $nbytes bytes"

for z in "" "-z lz4hc -C 65536" "-z lzma -C 131072"; do
	note "dedupe ${z:-plain}"
	# shellcheck disable=SC2086
	"$MKFS" -T 0 -U clear $z "$T/d.img" "$T/src" >"$T/out"
	# shellcheck disable=SC2086
	"$MKFS" --quiet -T 0 -U clear $z -E ^dedupe "$T/n.img" "$T/src"
	cat "$T/out"
	grep -q "^$ndup files equal to one stored before share its data ($nbytes bytes not stored again)" "$T/out" ||
		fail "summary does not count $ndup files of $nbytes bytes"
	kernel_mount "$T/d.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt" --mtime 0 || fail "kernel reads differ"
	kernel_umount "$T/mnt"
	"$FSCK" --quiet "$T/d.img" || fail "our fsck.erofs rejects shared data"
	"$DEB_FSCK" "$T/d.img" >/dev/null || fail "Debian's fsck.erofs rejects shared data"
	ds=$(stat -c %s "$T/d.img") ns=$(stat -c %s "$T/n.img")
	echo "image $ds bytes, $ns without dedupe"
	if [ -z "$z" ]; then
		[ $((ns - ds)) = "$nbytes" ] ||
			fail "plain: saved $((ns - ds)) bytes, expected exactly $nbytes"
	else
		[ "$ds" -lt "$ns" ] || fail "$z: nothing saved"
	fi
done

note "compressed pclusters shared in a blob"
"$MKFS" --quiet -T 0 -z lz4hc -C 65536 --chunksize=65536 --blobdev="$T/d.blob" "$T/b.img" "$T/src"
"$MKFS" --quiet -T 0 -z lz4hc -C 65536 --chunksize=65536 -E ^dedupe --blobdev="$T/n.blob" "$T/nb.img" "$T/src"
[ "$(stat -c %s "$T/d.blob")" -lt "$(stat -c %s "$T/n.blob")" ] || fail "the blob did not shrink"
loop_attach "$T/d.blob"
mount -t erofs -o "ro,device=$LOOP" "$T/b.img" "$T/mnt" || fail "mount bootstrap + blob"
_mounts+=("$T/mnt")
treecmp "$T/src" "$T/mnt" --mtime 0 || fail "blob: kernel reads differ"
umount "$T/mnt"
"$FSCK" --quiet --device="$T/d.blob" "$T/b.img" || fail "blob: our fsck.erofs"
echo "equal files stored once"
