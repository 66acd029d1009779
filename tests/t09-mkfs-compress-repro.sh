#!/bin/bash
# Compressed images (zstd, -E dedupe too) are byte-identical whatever the
# number of workers,
# and bad compression options are refused clearly.
. "$(dirname "$0")/lib.sh"

gentree compress "$T/src" --no-special
for spec in "lz4hc -C 65536" "lzma -C 131072 -E ztailpacking" "deflate" \
	    "lz4 -C 1048576" "lz4hc -C 8192 -E ztailpacking,legacy-compress" \
	    "zstd -C 65536" "zstd,dictsize=256K -C 16384 -E ztailpacking,dedupe" \
	    "lz4hc -C 16384 -E dedupe"; do
	note "-z $spec"
	for w in 1 2 5; do
		# shellcheck disable=SC2086
		"$MKFS" --quiet -z $spec --workers=$w -T 0 -U clear "$T/w$w.img" "$T/src"
	done
	cmp "$T/w1.img" "$T/w2.img" || fail "$spec: --workers=1 and 2 differ"
	cmp "$T/w1.img" "$T/w5.img" || fail "$spec: --workers=1 and 5 differ"
done

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
