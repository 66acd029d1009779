#!/bin/bash
# bench/fsck.sh - a BENCHMARK, not a test: nothing here passes or fails on
# numbers.
#
# Verifies and extracts one large lz4hc image with this project's
# fsck.erofs ("ours") and Debian's erofs-utils 1.5 fsck.erofs ("debian")
# side by side and reports the median wall time over RUNS runs of:
#   - verify:  fsck.erofs IMAGE   (every byte read and checked)
#   - extract: fsck.erofs --extract=DIR IMAGE   into a tmpfs
# with throughput in MiB/s of file content and the ratios ours/debian
# (below 1 means ours is faster).  The image is built once by Debian's
# mkfs.erofs (-zlz4hc -C 65536), so both read the same bytes.  Runs
# alternate ours, debian, after an untimed warm-up of each.
#
# Debian's 1.5 fsck.erofs only decompresses data when extracting (plain
# "fsck.erofs IMAGE" checks metadata only), so the verify row runs it
# with --extract into the tmpfs as well and is marked as such: the fair
# comparison is the extract row.
#
# Then, with --workers: verification on several threads.  An lzma
# -C 1M image and a zstd -C 128K image of THREADS_SOURCE (default /usr/bin)
# are built by our mkfs.erofs and verified by ours with --workers=1 and
# --workers=2, and extracted by erofs-utils 1.8.6's fsck.erofs (its
# fastest full decode; scripts/build-erofs-utils.sh, skipped when it
# cannot be had).  The best of RUNS wall times each, and the ratios
# 1 worker / 2 workers and 1.8.6 / ours (2 workers): above 1 ours is
# faster.  The machine may be shared: take the best, and say so.
#
# Usage: bench/fsck.sh [SOURCE_DIR] [RUNS]    (default /usr/share 3)
#        bench/fsck.sh --workers [THREADS_SOURCE] [RUNS]
set -euo pipefail

if [ "${1:-}" = --workers ]; then
	shift
	exec "$(dirname "$0")/fsck-workers.sh" "$@"
fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
OURS=${OURS:-$repo_dir/fsck/fsck.erofs}
THEIRS=${THEIRS:-/usr/bin/fsck.erofs}
SRC=${1:-/usr/share}
RUNS=${2:-3}

[ "$(id -u)" = 0 ] || { echo "needs root (tmpfs for extraction)" >&2; exit 2; }
[ -x "$OURS" ] || { echo "build first: $OURS missing" >&2; exit 2; }
[ -x "$THEIRS" ] || { echo "Debian's erofs-utils missing: $THEIRS" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-fsck.XXXXXX")
cleanup() {
	umount "$work/tm" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/tm"
mount -t tmpfs -o size=8g none "$work/tm"

echo "building $work/img from $SRC with /usr/bin/mkfs.erofs -zlz4hc -C 65536"
/usr/bin/mkfs.erofs -zlz4hc -C65536 -T0 "$work/img" "$SRC" >/dev/null 2>&1
content_mib=$(du -sm --apparent-size "$SRC" | cut -f1)
echo "image $(($(stat -c %s "$work/img") >> 20)) MiB, content about $content_mib MiB"

# secs CMD...: wall seconds of one run (output discarded)
secs() {
	local t0 t1
	rm -rf "$work/tm/out"
	sync
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1 || echo "warning: exit $? from $*" >&2
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc -l
}

median() {
	sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

run_row() {
	local name=$1; shift
	local ours_cmd=() theirs_cmd=() o=() d=() i
	case $name in
	verify)	ours_cmd=("$OURS" "$work/img")
		theirs_cmd=("$THEIRS" --extract="$work/tm/out" "$work/img") ;;
	extract) ours_cmd=("$OURS" --extract="$work/tm/out" "$work/img")
		theirs_cmd=("$THEIRS" --extract="$work/tm/out" "$work/img") ;;
	esac
	secs "${ours_cmd[@]}" >/dev/null
	secs "${theirs_cmd[@]}" >/dev/null
	for i in $(seq "$RUNS"); do
		o+=("$(secs "${ours_cmd[@]}")")
		d+=("$(secs "${theirs_cmd[@]}")")
	done
	local om dm
	om=$(printf '%s\n' "${o[@]}" | median)
	dm=$(printf '%s\n' "${d[@]}" | median)
	printf '%-8s %8.2f %8.2f %9.0f %9.0f %7.2f\n' "$name" "$om" "$dm" \
		"$(echo "$content_mib / $om" | bc -l)" \
		"$(echo "$content_mib / $dm" | bc -l)" \
		"$(echo "$om / $dm" | bc -l)"
}

printf '\n%-8s %8s %8s %9s %9s %7s\n' "" "ours s" "deb s" "ours MB/s" "deb MB/s" "ratio"
run_row verify
run_row extract
echo "(verify: Debian 1.5 only decompresses when extracting, so its row extracts too)"
