#!/bin/bash
# fsck.erofs --workers=N reads file data on N threads.  Whatever N is,
# the report (every problem line, in order), the exit status, the --json
# summary and the extracted tree must be the same; the tree must also be
# exactly what the kernel reads from the image.  Images of every kind the
# data path has: plain, lz4hc, lzma with 1 MiB pclusters, zstd, deflate,
# fragments, dedupe, chunked; then images whose problems must come out
# in the same order: chunks in a blob not attached, and a compressed
# image damaged in several files at once.
. "$(dirname "$0")/lib.sh"
require_mount
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

# big files (several pieces each, compressible or not), many small ones,
# equal files, hard links, symlinks, holes and xattrs
TOOLS=$TOOLS "$PY" - "$T/src" <<'EOF'
import os, sys
sys.path.insert(0, os.environ['TOOLS'])
from treegen import Tree
root = sys.argv[1]
t = Tree(root, 39, [b'erofs', b'worker', b'piece', b'thread', b'order',
                    b'kernel', b'pcluster', b'extent', b'report', b'the',
                    b'of', b'and'], per_line=12)
rng, text, put = t.rng, t.text, t.put
for i in range(3):
    put(f'big/text{i}', text((2 << 20) + i * 77777))
put('big/random', rng.randbytes(3 << 19))
put('big/mixed', text(1 << 20) + rng.randbytes(600000) + text(900000))
p = put('big/sparse', b'')
with open(p, 'r+b') as f:
    f.seek(5 << 20)
    f.write(text(70000))
for d in range(8):
    for i in range(20):
        n = rng.choice([0, 1, 100, 4095, 4096, 4097, 20000, 70000, 200000])
        put(f'd{d:02d}/f{i:02d}', text(n) if (i + d) % 4 else rng.randbytes(n))
    put(f'd{d:02d}/same', b'equal content\n' * 700)
os.link(os.path.join(root, 'd00/f03'), os.path.join(root, 'd01/link-f03'))
os.symlink('../big/text0', os.path.join(root, 'd02/to-text0'))
os.setxattr(os.path.join(root, 'big/text1'), 'user.origin', b't39')
EOF
mkdir "$T/tm"
mount -t tmpfs -o size=1g none "$T/tm"
_mounts+=("$T/tm")

# same_for_workers NAME IMAGE [MOUNT]: verify and extract with 1, 2 and
# 4 workers: equal output, status, --json and trees; the tree is the
# kernel's when MOUNT names its mount of IMAGE
same_for_workers() {
	local name=$1 img=$2 mnt=${3:-} w
	for w in 1 2 4; do
		"$FSCK" --workers=$w --json "$img" >"$T/json.$w" 2>"$T/log.$w" &&
			echo 0 >"$T/rc.$w" || echo $? >"$T/rc.$w"
		rm -rf "$T/tm/x.$w"
		"$FSCK" --workers=$w --extract="$T/tm/x.$w" "$img" \
			>"$T/xlog.$w" 2>&1 && echo 0 >"$T/xrc.$w" ||
			echo $? >"$T/xrc.$w"
		# the image's own name is in the lines: the same for all
		for f in rc log json xrc xlog; do
			cmp -s "$T/$f.1" "$T/$f.$w" || {
				diff "$T/$f.1" "$T/$f.$w" | sed -n 1,20p || true
				fail "$name: --workers=$w: $f differs from --workers=1"
			}
		done
		treecmp "$T/tm/x.1" "$T/tm/x.$w" ||
			fail "$name: --workers=$w extracted another tree than --workers=1"
	done
	if [ -n "$mnt" ]; then
		treecmp "$mnt" "$T/tm/x.4" ||
			fail "$name: --workers=4 extracted another tree than the kernel reads"
	fi
	echo "$name: exit $(cat "$T/rc.1"), $(grep -c . "$T/log.1") report line(s), same for 1, 2, 4 workers"
}

# check NAME MKFS_OPTIONS...: build with our mkfs.erofs, must be clean
check() {
	local name=$1 img="$T/$1.img"
	shift
	note "$name: mkfs.erofs $*"
	"$MKFS" "$@" "$img" "$T/src" >"$T/mkfs.log" 2>&1 ||
		{ tail -n 5 "$T/mkfs.log"; fail "$name: mkfs.erofs failed"; }
	kernel_mount "$img" "$T/mnt"
	same_for_workers "$name" "$img" "$T/mnt"
	kernel_umount "$T/mnt"
	[ "$(cat "$T/rc.1")" = 0 ] ||
		{ cat "$T/log.1"; fail "$name: fsck exit $(cat "$T/rc.1") on a good image"; }
	treecmp "$T/src" "$T/tm/x.1" || fail "$name: the extracted tree differs from the source"
}

check plain
check lz4hc -zlz4hc -C65536
check lzma-1m -zlzma -C1048576
check zstd -zzstd -C131072
check deflate -zdeflate
check fragments -zlz4hc -Efragments
check dedupe -zlz4 -C16384 -Ededupe
check chunked --chunksize=65536

# data on a device not given: every file says so when its pieces are in
note "chunks in a blob that is not attached"
"$MKFS" --chunksize=65536 --blobdev="$T/blob.img" "$T/blob-boot.img" \
	"$T/src" >"$T/mkfs.log" 2>&1 ||
	{ tail -n 5 "$T/mkfs.log"; fail "mkfs.erofs --blobdev failed"; }
same_for_workers missing-blob "$T/blob-boot.img"
[ "$(cat "$T/rc.1")" = 4 ] ||
	{ cat "$T/log.1"; fail "missing-blob: fsck exit $(cat "$T/rc.1"), not 4"; }
[ "$(grep -c 'not available: data not checked' "$T/log.1")" -gt 3 ] ||
	{ cat "$T/log.1"; fail "missing-blob: the files without their data are not named"; }

# --- several files damaged at once ---
note "a lz4hc image damaged in several files"
cp "$T/lz4hc.img" "$T/bad.img"
TOOLS=$TOOLS "$PY" - "$T/bad.img" <<'EOF' >"$T/victims" || fail "cannot damage the image"
import os, sys
sys.path.insert(0, os.environ['TOOLS'])
from erofsparse import Image
img = Image(sys.argv[1])
want = [b'/big/text0', b'/big/text2', b'/big/mixed', b'/d03/f05',
        b'/d05/f06', b'/d07/f09']
hit = []
with open(sys.argv[1], 'r+b') as f:
    for path, ino, first in img.walk():
        if path not in want or not first or ino['layout'] not in (1, 3):
            continue
        ext = [e for e in img.z_extents(ino)
               if e['kind'] not in ('stored', 'fragment')]
        for e in ext[1::3][:2] or ext[:1]:
            f.seek(e['pa'] + 64)
            f.write(bytes(range(256)) * 4)
            hit.append(path.decode())
        if ext:
            print(path.decode())
if len(set(hit)) < 3:
    sys.exit('fewer than three files damaged: %r' % hit)
EOF
same_for_workers damaged "$T/bad.img"
cat "$T/log.1"
[ "$(cat "$T/rc.1")" = 1 ] || { cat "$T/log.1"; fail "damaged: fsck exit $(cat "$T/rc.1"), not 1"; }
while read -r v; do
	grep -q -- "$v" "$T/log.1" || { cat "$T/log.1"; fail "damaged: $v is not reported"; }
done <"$T/victims"
errors=$(sed -n 's/^  "errors": \([0-9]*\),$/\1/p' "$T/json.1")
[ "${errors:-0}" -ge 3 ] || fail "damaged: --json counts ${errors:-no} errors, not 3 or more"
echo "fsck.erofs reports, exits and extracts alike for 1, 2 and 4 workers"
