#!/bin/bash
# Valid images (ours: plain, inline with shared xattrs, 512-byte blocks,
# compressed with lz4hc, lzma and deflate, with fragments in both index
# formats; Debian's: chunked) damaged deterministically in every metadata area and
# truncated at many lengths: fsck.erofs never crashes or hangs, always
# detects superblock damage and truncation, never calls damage to file
# data an error, and when it passes an image, what it extracts is either
# the original tree or damage EROFS cannot detect by design (listed).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to extract owners"
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

# a small tree with every area: dirs over several blocks, hardlinks,
# inline and shared xattrs, symlinks, holes
gentree small "$T/src"
mkdir -p "$T/src/many" "$T/src/x"
for i in $(seq 1 60); do
	printf 'file %d\n' "$i" >"$T/src/many/entry-$i-$(printf 'y%.0s' $(seq 1 $((i % 20))))"
done
head -c 20000 /dev/zero >"$T/src/x/zeros"
head -c 9000 "$T/src/d/data.bin" >"$T/src/x/part"
ln "$T/src/x/part" "$T/src/many/part-link"
for f in a b c; do
	echo "$f" >"$T/src/x/$f"
	setfattr -n user.common -v shared-value "$T/src/x/$f"
	setfattr -n user.own -v "own-$f" "$T/src/x/$f"
done
ln -s ../hello.txt "$T/src/x/sym"
touch -d @1700000000 "$T/src/many" "$T/src/x" "$T/src"
mkdir "$T/tm"
mount -t tmpfs -o size=256m none "$T/tm"
_mounts+=("$T/tm")

"$MKFS" --quiet -E ^inline_data "$T/plain.img" "$T/src"
"$MKFS" --quiet -x 1 "$T/inline.img" "$T/src"
"$MKFS" --quiet -b 512 -x 1 "$T/b512.img" "$T/src"
"$MKFS" --quiet -zlz4hc -C 16384 "$T/lz4.img" "$T/src"
"$MKFS" --quiet -zlzma -C 8192 -b 1024 "$T/lzma.img" "$T/src"
"$MKFS" --quiet -zdeflate -E legacy-compress -b 512 "$T/deflate.img" "$T/src"
"$MKFS" --quiet -zlz4hc -C 8192 -E fragments "$T/frag.img" "$T/src"
"$MKFS" --quiet -zlzma -b 1024 -E legacy-compress,fragments "$T/fragfull.img" "$T/src"
imgs=("$T/plain.img" "$T/inline.img" "$T/b512.img" "$T/lz4.img" "$T/lzma.img"
	"$T/deflate.img" "$T/frag.img" "$T/fragfull.img")
if [ -x "$DEB_MKFS" ]; then
	"$DEB_MKFS" --chunksize=4096 "$T/debchunk.img" "$T/src" >/dev/null 2>&1 ||
		fail "Debian mkfs.erofs --chunksize failed"
	imgs+=("$T/debchunk.img")
else
	echo "Debian's mkfs.erofs missing: no chunked image"
fi
for i in "${imgs[@]}"; do
	"$FSCK" --quiet "$i" || fail "$(basename "$i") is not clean before damage"
done
"$PY" "$TOOLS/corrupt.py" "$FSCK" "$T/src" "$T/tm/work" "${imgs[@]}"
