#!/bin/bash
# bench/mkfs-plain.sh - a BENCHMARK, not a test: nothing here passes or fails
# on numbers.
#
# Builds an uncompressed EROFS image of a large real directory tree with this
# project's mkfs.erofs ("ours") and with Debian's erofs-utils mkfs.erofs
# ("debian-1.5", /usr/bin/mkfs.erofs) side by side, with the same options
# (-T 0 -U <fixed uuid> --quiet, no -z), and reports per tool the median over
# RUNS runs of:
#   - wall time in seconds         (GNU time %e)
#   - peak memory, max RSS in MiB  (GNU time %M)
#   - image size in MiB: apparent (stat -c %s) and allocated (du -k); ours
#     leaves all-zero blocks as holes, so its allocated size can be smaller
# plus the ratios ours/debian.  Runs alternate ours, debian, ours, ... after
# one untimed warm-up run of each, so both see the same (warm) page cache.
# Finally both images are checked with /usr/bin/fsck.erofs --extract; the
# script exits 1 (after printing the table) if our image fails that check.
#
# Note: ours fsync()s its image before exiting, Debian's 1.5 does not, so by
# default ours pays for writeback inside its timing.  FLUSH=1 times
# "tool && sync IMAGE" for both tools, which evens that out.
#
# Usage: bench/mkfs-plain.sh [SOURCE_DIR] [RUNS]    (default /usr 3)
# Env:   OURS    our mkfs.erofs     (default: <repo>/mkfs/mkfs.erofs)
#        THEIRS  the reference one  (default: /usr/bin/mkfs.erofs)
#        FLUSH   1 = include "sync IMAGE" in every timed run (default 0)
#        TMPDIR  images go to a fresh directory under it (default /var/tmp)

set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
OURS=${OURS:-$repo_dir/mkfs/mkfs.erofs}
THEIRS=${THEIRS:-/usr/bin/mkfs.erofs}
FLUSH=${FLUSH:-0}
GNU_TIME=/usr/bin/time
FSCK=/usr/bin/fsck.erofs
OPTS=(-T 0 -U 00000000-0000-0000-0000-000000000001 --quiet)

usage() {
	cat <<EOF
Usage: $(basename "$0") [SOURCE_DIR] [RUNS]
Benchmark (not a test): build an uncompressed EROFS image of SOURCE_DIR
(default /usr) with our mkfs.erofs and Debian's, RUNS times each (default 3),
and print median wall time, max RSS and image size, and ratios ours/debian.

Environment:
  OURS=PATH    our mkfs.erofs (default: $repo_dir/mkfs/mkfs.erofs)
  THEIRS=PATH  the reference mkfs.erofs (default: /usr/bin/mkfs.erofs)
  FLUSH=1      time "mkfs && sync IMAGE" for both (ours fsyncs, Debian's not)
  TMPDIR=DIR   where the images are written (default: /var/tmp)
EOF
}

die() {
	echo "mkfs-plain.sh: $*" >&2
	exit 1
}

need_exe() { # NAME PATH [HINT]
	[ -x "$2" ] && return 0
	die "$1 not found or not executable: $2${3:+ ($3)}"
}

# median of the numbers on stdin, one a line
median() {
	sort -g | awk '{ v[NR] = $1 }
		END {
			if (NR == 0) exit 1
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# run_mkfs BIN IMAGE LOG -- build IMAGE from $SRC with BIN, stderr to LOG
run_mkfs() {
	rm -f -- "$2"
	if [ "$FLUSH" = 1 ]; then
		"$1" "${OPTS[@]}" "$2" "$SRC" && sync -- "$2"
	else
		"$1" "${OPTS[@]}" "$2" "$SRC"
	fi 2>"$3"
}

# timed_run NAME BIN -- one timed build; appends "wall rss_kib" to $WORK/NAME.runs
timed_run() {
	local name=$1 bin=$2 img=$WORK/$1.img log=$WORK/$1.log tf=$WORK/time.out
	local rc=0

	rm -f -- "$img"
	sync	# flush the previous run's image outside of any timing
	if [ "$FLUSH" = 1 ]; then
		# shellcheck disable=SC2016 # expanded by the inner sh
		"$GNU_TIME" -o "$tf" -f '%e %M' \
			sh -c 'img=$1 log=$2; shift 2; "$@" 2>"$log" && sync -- "$img"' \
			sh "$img" "$log" "$bin" "${OPTS[@]}" "$img" "$SRC" || rc=$?
	else
		"$GNU_TIME" -o "$tf" -f '%e %M' \
			"$bin" "${OPTS[@]}" "$img" "$SRC" 2>"$log" || rc=$?
	fi
	if [ "$rc" -ne 0 ]; then
		echo "mkfs-plain.sh: $name ($bin) failed with exit code $rc:" >&2
		sed 's/^/    /' "$log" >&2
		exit 1
	fi
	tail -n 1 "$tf" >>"$WORK/$name.runs"
	awk -v n="$name" '{ printf "  %-10s %8.2f s %8.1f MiB\n", n, $1, $2 / 1024 }' \
		"$tf" >&2
}

# fsck_image NAME -- run fsck.erofs on NAME's image; returns its exit code.
# --extract (no directory) reads and checks every file's data too; -d3 makes
# it say "No errors found" on success.
fsck_image() {
	local img=$WORK/$1.img out rc=0

	out=$("$FSCK" -d3 --extract "$img" 2>&1) || rc=$?
	[ -n "$out" ] || out="(no output)"
	printf 'fsck %-10s exit %d: %s\n' "$1" "$rc" \
		"$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 1)"
	return "$rc"
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
esac
[ $# -le 2 ] || { usage >&2; exit 1; }
SRC=${1:-/usr}
RUNS=${2:-3}

[ -d "$SRC" ] || die "source directory not found: $SRC"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer: $RUNS"
need_exe "our mkfs.erofs (OURS)" "$OURS" \
	"build it: cd $repo_dir && ./autogen.sh && ./configure -q && make -j3"
need_exe "reference mkfs.erofs (THEIRS)" "$THEIRS" "apt-get install erofs-utils"
need_exe "GNU time" "$GNU_TIME" "apt-get install time"
need_exe "fsck.erofs" "$FSCK" "apt-get install erofs-utils"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/mkfs-plain.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
trap 'exit 130' INT TERM

nfiles=$({ find "$SRC" -xdev 2>/dev/null || true; } | wc -l)
src_mib=$({ du -sxk -- "$SRC" 2>/dev/null || true; } |
	awk '{ printf "%.0f", $1 / 1024 }')

echo "warm-up: one untimed run of each tool on $SRC ..." >&2
run_mkfs "$OURS" "$WORK/ours.img" "$WORK/ours.log" ||
	{ cat "$WORK/ours.log" >&2; die "ours failed in warm-up"; }
run_mkfs "$THEIRS" "$WORK/debian.img" "$WORK/debian.log" ||
	{ cat "$WORK/debian.log" >&2; die "debian failed in warm-up"; }

for ((i = 1; i <= RUNS; i++)); do
	echo "run $i/$RUNS" >&2
	timed_run ours "$OURS"
	timed_run debian "$THEIRS"
done

# per tool: median wall, median rss MiB, apparent MiB, allocated MiB
stats() {
	local name=$1 img=$WORK/$1.img wall rss
	wall=$(awk '{ print $1 }' "$WORK/$name.runs" | median)
	rss=$(awk '{ print $2 / 1024 }' "$WORK/$name.runs" | median)
	printf '%s %s %s %s\n' "$wall" "$rss" \
		"$(stat -c %s -- "$img")" "$(du -k -- "$img" | awk '{ print $1 }')"
}
read -r o_wall o_rss o_size o_alloc < <(stats ours)
read -r d_wall d_rss d_size d_alloc < <(stats debian)

fsck_rc=0
fsck_lines=$(fsck_image ours) || fsck_rc=$?
fsck_lines+=$'\n'$(fsck_image debian) || true

echo
printf 'tree: %s (%d files, %d MiB)   runs: %d%s\n' "$SRC" "$nfiles" \
	"$src_mib" "$RUNS" "$([ "$FLUSH" = 1 ] && echo '   (FLUSH=1: sync IMAGE timed)')"
awk -v ow="$o_wall" -v orss="$o_rss" -v os="$o_size" -v oa="$o_alloc" \
    -v dw="$d_wall" -v drss="$d_rss" -v ds="$d_size" -v da="$d_alloc" '
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
BEGIN {
	M = 1048576
	printf "%-11s %8s %12s %11s %11s\n", "tool", "wall_s", "maxrss_MiB",
		"image_MiB", "alloc_MiB"
	printf "%-11s %8.2f %12.1f %11.1f %11.1f\n", "ours", ow, orss, os / M, oa / 1024
	printf "%-11s %8.2f %12.1f %11.1f %11.1f\n", "debian-1.5", dw, drss, ds / M, da / 1024
	printf "ratio ours/debian: time %s  rss %s  size %s  alloc %s\n",
		ratio(ow, dw), ratio(orss, drss), ratio(os, ds), ratio(oa, da)
}'
echo "(image_MiB = apparent size, stat -c %s; alloc_MiB = allocated, du -k;"
echo " ours writes holes for all-zero blocks and fsyncs its image, debian does not)"
printf '%s\n' "$fsck_lines"
if [ "$fsck_rc" -ne 0 ]; then
	echo
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	echo "!!! fsck.erofs FAILED on OUR image (exit $fsck_rc) -- see above"
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
	exit 1
fi
