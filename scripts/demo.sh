#!/bin/bash
# The main job on a built-in default: build an EROFS image of this
# project's own source tree (lz4hc, 64 KiB pclusters), check it with
# fsck.erofs, show dump.erofs' statistics, mount it read-only with the
# kernel (when root), list it, check it reads back equal, unmount, print
# a summary.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/erofs-demo.XXXXXX")
mnt="$work/mnt"
cleanup() {
	mountpoint -q "$mnt" 2>/dev/null && umount "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT

img="$work/demo.erofs"
# the sources only: what git knows (tracked and new, not ignored), copied
# with their attributes
src="$work/src"
mkdir "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z -co --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done | xargs -0 -r cp -a --parents -t "$src")
	what="the sources as git lists them"
else
	# no git to tell sources from build outputs: take the whole tree
	cp -a "$top/." "$src/"
	rm -rf "$src/tests/out"
	what="no git here, so build outputs included"
fi
echo "== mkfs.erofs: image of $top ($what: $(find "$src" -type f | wc -l) files)"
"$top/mkfs/mkfs.erofs" -T 0 -U clear -z lz4hc -C 64k "$img" "$src"
echo "== fsck.erofs: every inode and byte"
"$top/fsck/fsck.erofs" "$img"
echo "== dump.erofs: what the image holds, and what the kernel pins for it"
"$top/dump/dump.erofs" -S "$img" | sed -n '/^Content/,/^Pcluster sizes/{/^Pcluster sizes/!p}'
"$top/dump/dump.erofs" --pcpubuf "$img"

if [ "$(id -u)" != 0 ] || ! grep -qw erofs /proc/filesystems; then
	echo "== not root or no EROFS in this kernel: skipping the mount"
	exit 0
fi
mkdir "$mnt"
mount -t erofs -o ro "$img" "$mnt"
echo "== mounted at $mnt; top level:"
ls -la "$mnt"
files=$(find "$mnt" | wc -l)
echo "== comparing file contents with the source"
(cd "$mnt" && find . -type f -print0 | xargs -0 -n 200 sh -c \
	'for f; do cmp -s "$f" "'"$src"'/$f" || { echo "DIFFERS: $f"; exit 1; }; done' sh)
umount "$mnt"
echo "== summary: $(stat -c %s "$img") byte image, $files entries mounted" \
     "by the kernel, every file equal to its source"
