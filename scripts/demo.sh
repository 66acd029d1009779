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

src="$top"
img="$work/demo.erofs"
echo "== mkfs.erofs: image of $src (without .git and build outputs)"
"$top/mkfs/mkfs.erofs" -T 0 -U clear -z lz4hc -C 64k --exclude-path=.git \
	--exclude-regex='(^|/)(autom4te\.cache|tests/out)$' \
	--exclude-regex='\.(o|lo|la|a)$' "$img" "$src"
echo "== fsck.erofs: every inode and byte"
"$top/fsck/fsck.erofs" "$img"
echo "== dump.erofs: what the image holds, and what the kernel pins for it"
"$top/dump/dump.erofs" -S "$img" | sed -n '/^Content/,/^Compression by/p'
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
