#!/bin/bash
# bench/fsck-workers.sh - a BENCHMARK, not a test (bench/fsck.sh --workers
# runs it; see there).  fsck.erofs verification on 1 and 2 threads against
# erofs-utils 1.8.6's fsck.erofs --extract, on an lzma -C 1M and a zstd
# image of SOURCE; best of RUNS wall times, the three commands taking
# turns.
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

# best3 CMD1 -- CMD2 -- CMD3: the least wall time of each over RUNS
# rounds, the three run in turn in each round (after an untimed round),
# so that load from elsewhere falls on all of them alike
best3() {
	local a=() b=() c=() i t1 t2 t3 best_a= best_b= best_c=
	while [ "$1" != -- ]; do a+=("$1"); shift; done; shift
	while [ "$1" != -- ]; do b+=("$1"); shift; done; shift
	c=("$@")
	for i in $(seq 0 "$RUNS"); do
		t1=$(secs "${a[@]}")
		t2=$(secs "${b[@]}")
		t3=-
		[ ${#c[@]} = 0 ] || t3=$(secs "${c[@]}")
		[ "$i" = 0 ] && continue
		best_a=$(printf '%s\n' $best_a "$t1" | sort -n | sed -n 1p)
		best_b=$(printf '%s\n' $best_b "$t2" | sort -n | sed -n 1p)
		[ "$t3" = - ] ||
			best_c=$(printf '%s\n' $best_c "$t3" | sort -n | sed -n 1p)
	done
	echo "$best_a $best_b ${best_c:--}"
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
	theirs_cmd=()
	[ -n "$THEIRS" ] && [ -x "$THEIRS" ] &&
		theirs_cmd=("$THEIRS" --extract="$work/tm/out" "$work/$name.img")
	read -r one many theirs < <(best3 "$FSCK" --workers=1 "$work/$name.img" \
		-- "$FSCK" --workers="$WORKERS" "$work/$name.img" \
		-- "${theirs_cmd[@]}")
	printf '%-8s %8.2f %8.2f %8s %8.2f %10s\n' "$name" "$one" "$many" \
		"$([ "$theirs" = - ] && echo - || printf '%.2f' "$theirs")" \
		"$(echo "$one / $many" | bc -l)" \
		"$([ "$theirs" = - ] && echo - ||
		   printf '%.2f' "$(echo "$theirs / $many" | bc -l)")"
done
echo "(best of $RUNS; the machine may be shared with other work: load was $(cut -d' ' -f1-3 /proc/loadavg))"
