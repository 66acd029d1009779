#!/bin/bash
# bench/fsck-workers.sh - a BENCHMARK, not a test (bench/fsck.sh --workers
# runs it; see there).  fsck.erofs verification on 1 and 2 threads against
# erofs-utils 1.8.6's fsck.erofs --extract, on an lzma -C 1M and a zstd
# image of SOURCE; best of RUNS wall times.
#
# Usage: bench/fsck-workers.sh [SOURCE] [RUNS]   (default /usr/bin 3)
# Environment: MKFS, FSCK (ours), WORKERS (default 2), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
SRC=${1:-/usr/bin}
RUNS=${2:-3}
MKFS=${MKFS:-$top/mkfs/mkfs.erofs}
FSCK=${FSCK:-$top/fsck/fsck.erofs}
WORKERS=${WORKERS:-2}

[ "$(id -u)" = 0 ] || { echo "needs root (tmpfs for extraction)" >&2; exit 2; }
[ -x "$FSCK" ] && [ -x "$MKFS" ] || { echo "build first" >&2; exit 2; }
eu=$("$top/scripts/build-erofs-utils.sh" 1.8.6-1 | tail -n 1) || eu=
THEIRS=${eu:+$eu/fsck.erofs}
[ -n "$THEIRS" ] && [ -x "$THEIRS" ] ||
	echo "erofs-utils 1.8.6 not available: its column is left out" >&2

work=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-fsckw.XXXXXX")
cleanup() {
	umount "$work/tm" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/tm"
mount -t tmpfs -o size=4g none "$work/tm"

# secs CMD...: wall seconds of one run, output discarded
secs() {
	local t0 t1
	rm -rf "$work/tm/out"
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || echo "warning: exit $? from $*" >&2
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

# best CMD...: the least of RUNS runs, after an untimed one
best() {
	local i
	secs "$@" >/dev/null
	for i in $(seq "$RUNS"); do
		secs "$@"
	done | sort -n | head -n 1
}

content_mib=$(du -sm --apparent-size "$SRC" | cut -f1)
echo "source $SRC, about $content_mib MiB; load now: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n%-8s %8s %8s %8s %8s %10s\n' image "1 thr s" "$WORKERS thr s" \
	"1.8.6 s" "1/$WORKERS" "1.8.6/ours"
for spec in "lzma -zlzma -C1048576" "zstd -zzstd -C131072"; do
	set -- $spec
	name=$1
	shift
	"$MKFS" -T0 "$@" "$work/$name.img" "$SRC" >/dev/null 2>&1 ||
		{ echo "$name: mkfs.erofs $* failed" >&2; continue; }
	one=$(best "$FSCK" --workers=1 "$work/$name.img")
	many=$(best "$FSCK" --workers="$WORKERS" "$work/$name.img")
	theirs=-
	[ -n "$THEIRS" ] && [ -x "$THEIRS" ] &&
		theirs=$(best "$THEIRS" --extract="$work/tm/out" "$work/$name.img")
	printf '%-8s %8.2f %8.2f %8s %8.2f %10s\n' "$name" "$one" "$many" \
		"$theirs" "$(echo "$one / $many" | bc -l)" \
		"$([ "$theirs" = - ] && echo - ||
		   printf '%.2f' "$(echo "$theirs / $many" | bc -l)")"
done
echo "(best of $RUNS; the machine may be shared with other work: load was $(cut -d' ' -f1-3 /proc/loadavg))"
