#!/bin/bash
# Compressed images (zstd, -E dedupe too) are byte-identical whatever the
# number of workers -- also when many small files queue up behind a file
# of several segments, which is what bounds the work in flight --
# and bad compression options are refused clearly.
. "$(dirname "$0")/lib.sh"

gentree compress "$T/src" --no-special
for spec in "lz4hc -C 65536" "lzma -C 131072 -E ztailpacking" "deflate" \
	    "lz4 -C 1048576" "lz4hc -C 8192 -E ztailpacking,legacy-compress" \
	    "zstd -C 65536" "zstd,dictsize=256K -C 16384 -E ztailpacking,dedupe" \
	    "lz4hc -C 16384 -E dedupe"; do
	note "-z $spec"
	for w in 1 2 4 5; do
		# shellcheck disable=SC2086
		"$MKFS" --quiet -z $spec --workers=$w -T 0 -U clear "$T/w$w.img" "$T/src"
	done
	for w in 2 4 5; do
		cmp "$T/w1.img" "$T/w$w.img" || fail "$spec: --workers=1 and $w differ"
	done
done

# 1500 compressible files of 5 to 12 KiB around one of 40 MiB (three
# segments): more small files than the queue holds wait behind it
note "many small files behind a large one"
mkdir -p "$T/many/a" "$T/many/c"
"$PY" - "$T/many" <<'PY'
import os, random, sys
rnd = random.Random(9)
words = [("%x" % rnd.getrandbits(20)).encode() for _ in range(300)]
def text(n):
    out = bytearray()
    while len(out) < n:
        out += words[rnd.randrange(300)] + b" "
    return bytes(out[:n])
for d in ("a", "c"):
    for i in range(750):
        with open(os.path.join(sys.argv[1], d, "f%04d" % i), "wb") as f:
            f.write(text(rnd.randrange(5 << 10, 12 << 10)))
with open(os.path.join(sys.argv[1], "b.big"), "wb") as f:
    for i in range(40):
        f.write(text(1 << 20))
PY
for spec in "lz4" "lz4hc -C 16384 -E fragments" "lz4 -C 65536 -E ztailpacking,dedupe"; do
	note "-z $spec (many small files)"
	for w in 1 2 4; do
		# shellcheck disable=SC2086
		"$MKFS" --quiet -z $spec --workers=$w -T 0 -U clear "$T/m$w.img" "$T/many"
	done
	cmp "$T/m1.img" "$T/m2.img" || fail "$spec: many small files: --workers=1 and 2 differ"
	cmp "$T/m1.img" "$T/m4.img" || fail "$spec: many small files: --workers=1 and 4 differ"
done
if can_mount; then
	kernel_mount "$T/m4.img" "$T/mnt"
	diff -r "$T/many" "$T/mnt" >/dev/null || fail "many small files: the image differs from its source"
	kernel_umount "$T/mnt"
fi
rm -rf "$T/many" "$T"/m?.img

note "bad compression options"
bad() {
	local pattern=$1; shift
	if "$MKFS" "$@" "$T/bad.img" "$T/src" 2>"$T/err"; then
		fail "accepted: $*"
	fi
	grep -q -- "$pattern" "$T/err" || fail "no '$pattern' in: $(cat "$T/err")"
	[ ! -e "$T/bad.img" ] || fail "left an image behind: $*"
}
bad "unknown algorithm" -z zstdx
bad "level out of range" -z zstd,99
bad "level out of range" -z zstd,level=23
bad "unknown option" -z zstd,window=4
bad "power of two" -z zstd,dictsize=96K
bad "dictionary size" -z zstd,dictsize=2M
bad "only lzma and zstd" -z deflate,dictsize=32K
bad "level out of range" -z lz4hc,13
bad "no levels" -z lz4,3
bad "dictionary size" -z lzma,dictsize=16M
bad "whole blocks" -z lz4 -C 5000
bad "at most 1M" -z lz4 -C 2M
bad "2047 blocks" -b 512 -z lz4 -C 1M
bad "whole blocks" -C 5000	# checked without -z too, as erofs-utils
bad "1 to 1024" -z lz4 --workers=0
printf '4096 (unclosed\n' >"$T/badhints"
bad "invalid regular expression" -z lz4 --compress-hints="$T/badhints"
printf '4096 3 .*\n' >"$T/badhints"
bad "algorithm index" -z lz4 --compress-hints="$T/badhints"
echo "reproducible across workers"
