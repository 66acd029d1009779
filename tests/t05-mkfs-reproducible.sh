#!/bin/bash
# The same tree and options give a byte-identical image, whatever the
# order entries were created in (and so readdir order), the filesystem
# the tree sits on, or the path it is reached by.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to create device nodes and a tmpfs"

opts=(-T 1700000000 --mkfs-time -U 11111111-2222-3333-4444-555555555555)
gentree full "$T/a"
mkdir "$T/tmpfs"
mount -t tmpfs -o size=512m none "$T/tmpfs"
_mounts+=("$T/tmpfs")
gentree full "$T/tmpfs/b" --reverse

"$MKFS" --quiet "${opts[@]}" "$T/a.img" "$T/a"
"$MKFS" --quiet "${opts[@]}" "$T/b.img" "$T/tmpfs/b/"
cmp "$T/a.img" "$T/b.img" || fail "images of the same tree differ (forward on disk vs reverse on tmpfs)"

(cd "$T" && "$MKFS" --quiet "${opts[@]}" rel.img ./a)
cmp "$T/a.img" "$T/rel.img" || fail "a relative source path changed the image"

for bs in 512 4096; do
	"$MKFS" --quiet -b $bs "${opts[@]}" -x 1 "$T/c1.img" "$T/a"
	"$MKFS" --quiet -b $bs "${opts[@]}" -x 1 "$T/c2.img" "$T/tmpfs/b"
	cmp "$T/c1.img" "$T/c2.img" || fail "-b $bs -x 1: images differ"
done

note "SOURCE_DATE_EPOCH: the build time, clamping newer mtimes (as erofs-utils)"
SOURCE_DATE_EPOCH=1700000000 "$MKFS" --quiet -U clear "$T/s1.img" "$T/a"
SOURCE_DATE_EPOCH=1700000000 "$MKFS" --quiet -U clear "$T/s2.img" "$T/tmpfs/b"
cmp "$T/s1.img" "$T/s2.img" || fail "SOURCE_DATE_EPOCH images differ"
mtime_of() {
	"$DUMP" --path="$1" "$T/s1.img" | sed -n 's/^Mtime: *//p'
}
[[ $(mtime_of /times/old) == 1960-* ]] || fail "an older mtime was clamped: $(mtime_of /times/old)"
[[ $(mtime_of /times/y2038) == "2023-11-14 22:13:20.000000000 UTC"* ]] ||
	fail "a newer mtime was not clamped: $(mtime_of /times/y2038)"

note "without -U the uuid is random"
"$MKFS" --quiet -T 1 "$T/r1.img" "$T/a"
"$MKFS" --quiet -T 1 "$T/r2.img" "$T/a"
! cmp -s "$T/r1.img" "$T/r2.img" || fail "two random uuids were equal"
echo "reproducible"
