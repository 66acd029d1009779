#!/bin/bash
# The pcluster map erofs-fetch widens its cache writes with
# (lib/pclmap.c): unit checks of the structure on made-up pclusters, then
# the map of real images -- lz4hc 64K, lzma 1M, fragments (the packed
# inode's pclusters), ztailpacking (inline tails left out), dedupe, zstd
# when mkfs.erofs has it, as bootstrap + blob and as one image -- against
# the pclusters erofs-utils' dump.erofs -e lists for every file and for
# the packed inode; an uncompressed image has none; a damaged index is an
# error, not a partial map.
. "$(dirname "$0")/lib.sh"

set +e
EU=$("$TOP/scripts/build-erofs-utils.sh" 1.9.4-1 2>"$T/eu.err" | tail -n 1)
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 2 ] && skip "erofs-utils 1.9.4 cannot be built: $(tail -n 1 "$T/eu.err")"
[ "$rc" = 0 ] && [ -x "$EU/dump.erofs" ] || fail "erofs-utils 1.9.4: $(cat "$T/eu.err")"

note "unit checks"
gcc -O2 -Wall -Wextra -Wno-sign-compare -Werror -include "$TOP/config.h" \
	-I"$TOP/include" -o "$T/pclmaptest" "$TOOLS/pclmaptest.c" \
	"$TOP/lib/.libs/liberofs.a" -llz4 -llzma -lz -lzstd -luuid -lpthread ||
	fail "building pclmaptest"
"$T/pclmaptest" || fail "pclmaptest unit checks"

note "a tree of small files, multi-MiB files and duplicates"
"$PY" - "$T/src" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(46)
words = [''.join(rng.choice('abcdefghijklmnop') for _ in range(rng.randint(2, 9)))
         for _ in range(2000)]
def text(n):
    return ' '.join(rng.choice(words) for _ in range(n // 5 + 1)).encode()[:n]
os.makedirs(os.path.join(root, 'd/e'))
for i in range(60):
    with open(os.path.join(root, 'd' if i % 2 else 'd/e', 'f%02d' % i), 'wb') as f:
        f.write(text(rng.choice((0, 10, 3000, 5000, 9000, 70000, 200000))))
big = text(3 << 20)
for name in ('big1', 'big2'):		# equal: dedupe shares their pclusters
    with open(os.path.join(root, name), 'wb') as f:
        f.write(big)
with open(os.path.join(root, 'big3'), 'wb') as f:
    f.write(text(2 << 20) + os.urandom(300000))
PY

# oracle IMAGE DEV: "DEV START END" of every pcluster erofs-utils lists
# for a compressed file or the packed inode (DEV: where the data is, 1
# for a blob); files stored plain or in chunks have extents, no pclusters
oracle() {
	local img=$1 dev=$2 f nid
	{
		(cd "$T/src" && find . -type f) | while read -r f; do
			grep -q '^Layout: *compressed' <<<"$("$DUMP" --path="${f#.}" "$img")" ||
				continue
			"$EU/dump.erofs" --path="${f#.}" -e "$img" 2>/dev/null || true
		done
		nid=$("$DUMP" -s "$img" | sed -n 's/^Filesystem packed nid: *//p')
		[ -z "$nid" ] || "$EU/dump.erofs" --nid="$nid" -e "$img"
	} | awk -v dev="$dev" '
		$1 ~ /^[0-9]+:$/ && $NF > 0 {
			split($0, half, ":"); n = split(half[3], r, /[. |]+/)
			print dev, r[2] + 0, r[3] + 0
		}' | LC_ALL=C sort -u -k2,2n -k3,3n
}

# inline IMAGE: the ztailpacking tails, which live in the metadata and
# which the map leaves out on purpose (dump.erofs marks them "0 blocks")
inline() {
	local f
	(cd "$T/src" && find . -type f) | while read -r f; do
		"$DUMP" --path="${f#.}" -e "$1" || true
	done | awk '/ 0 blocks / { split($6, r, /\.\./); print 0, r[1] + 0, r[2] + 0 }' |
		LC_ALL=C sort -u -k2,2n -k3,3n
}

# check NAME MKFS-OPTIONS...: the map equals the oracle's pclusters
check() {
	local name=$1 dev=0 img
	shift
	img="$T/$name.img"
	[[ " $* " == *" --blobdev="* ]] && dev=1
	"$MKFS" --quiet "$@" "$img" "$T/src" || fail "$name: mkfs.erofs $*"
	"$T/pclmaptest" "$img" 1 >"$T/$name.map" 2>"$T/$name.err" ||
		fail "$name: pclmaptest: $(cat "$T/$name.err")"
	oracle "$img" $dev >"$T/$name.all"
	inline "$img" >"$T/$name.inline"
	awk -v tails="$T/$name.inline" 'BEGIN { while ((getline l <tails) > 0) tail[l] } !($0 in tail)' \
		"$T/$name.all" >"$T/$name.want"
	cut -d' ' -f1-3 "$T/$name.map" >"$T/$name.got"
	[ -s "$T/$name.want" ] || fail "$name: the oracle lists no pcluster"
	if ! cmp -s "$T/$name.got" "$T/$name.want"; then
		diff "$T/$name.want" "$T/$name.got" | sed -n 1,20p
		fail "$name: the pcluster map differs from dump.erofs -e"
	fi
	echo "ok: $name: $(wc -l <"$T/$name.got") pclusters ($(grep -c joined "$T/$name.map" || true) joined to the one before, $(wc -l <"$T/$name.inline") inline tails left out); $(cat "$T/$name.err")"
}

note "pcluster maps against erofs-utils' dump.erofs -e"
check lz4hc -zlz4hc -C65536 --chunksize=65536 --blobdev="$T/lz4hc.blob"
check lzma -zlzma -C1048576 --chunksize=65536 --blobdev="$T/lzma.blob"
check frag -zlz4hc -C65536 -E fragments --chunksize=65536 --blobdev="$T/frag.blob"
check tail -zlz4hc -C16384 -E ztailpacking
[ -s "$T/tail.inline" ] || fail "tail: no inline tail: the case tests nothing"
check dedupe -zlz4hc -C65536 -E dedupe
check mono -zlzma -C65536
if "$MKFS" --quiet -zzstd "$T/zprobe.img" "$T/src/d/e" 2>"$T/zprobe.err"; then
	check zstd -zzstd -C65536 --chunksize=65536 --blobdev="$T/zstd.blob"
else
	echo "zstd case skipped: this mkfs.erofs has no -z zstd yet ($(head -n 1 "$T/zprobe.err"))"
fi

note "aligned to pages: sub-page pclusters of 512-byte blocks become whole pages"
"$MKFS" --quiet -b 512 -zlz4hc -C4096 "$T/b512.img" "$T/src" || fail "mkfs -b 512"
"$T/pclmaptest" "$T/b512.img" 4096 >"$T/b512.map" 2>/dev/null || fail "pclmaptest -b 512"
awk '$2 % 4096 || $3 % 4096 { bad = 1 } END { exit bad }' "$T/b512.map" ||
	fail "a pcluster of the 512-byte image is not page-aligned"
awk 'prev != "" && $2 < prev { bad = 1 } { prev = $3 } END { exit bad }' "$T/b512.map" ||
	fail "the 512-byte image's page-aligned pclusters overlap"
echo "ok: b512: $(wc -l <"$T/b512.map") page-aligned disjoint units"

note "no pcluster in an uncompressed image"
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/plain.blob" "$T/plain.img" "$T/src"
"$T/pclmaptest" "$T/plain.img" 1 >"$T/plain.map" 2>&1 || fail "pclmaptest plain"
grep -q '^[0-9]' "$T/plain.map" && fail "pclusters in an uncompressed image"
echo "ok: plain: none"

note "a damaged compressed index is an error, not a partial map"
cp "$T/lz4hc.img" "$T/bad.img"
nid=$("$DUMP" --path=/big3 "$T/bad.img" | sed -n 's/^NID: *//p')
meta=$("$DUMP" -s "$T/bad.img" | sed -n 's/^Filesystem inode metadata start block: *//p')
# the map header follows the 64-byte inode: an impossible lcluster size
pos=$(( meta * 4096 + nid * 32 + 64 ))
printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$T/bad.img" bs=1 seek=$pos conv=notrunc 2>/dev/null
if "$T/pclmaptest" "$T/bad.img" 1 >"$T/bad.map" 2>"$T/bad.err"; then
	fail "a damaged index gave a map: $(head -n 3 "$T/bad.map")"
fi
cat "$T/bad.err"
echo "pcluster maps verified"
