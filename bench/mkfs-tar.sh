#!/bin/bash
# bench/mkfs-tar.sh - a BENCHMARK, not a test: nothing here passes or fails
# on numbers.
#
# Builds EROFS images from a tar of a large real tree (default /usr/share)
# with this project's mkfs.erofs ("ours") and erofs-utils 1.8.6 ("1.8.6",
# scripts/build-erofs-utils.sh), both with containerd's command line
# (--tar=f --aufs --quiet -Enoinline_data -U UUID -b4096 -T0 --mkfs-time),
# for each input:
#   plain   the tar redirected to standard input (seekable: ours reads the
#           data in place, erofs-utils copies it to its temporary buffer)
#   pipe    the tar through a pipe (both spool file data to $TMPDIR)
#   gzip    tar.gz on standard input with --ungzip
#   lz4hc   the plain tar with -zlz4hc -C65536
# and prints wall time, CPU time (user+sys), peak RSS and image size (GNU
# time), one run each after one untimed warm-up.  Both images of each case
# are mounted and compared with tests/tools/treecmp.py when run as root.
#
# Usage: bench/mkfs-tar.sh [SOURCE_DIR]          (default /usr/share)
# Env:   TMPDIR  tars and images go to a fresh directory under it (/var/tmp)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
src=${1:-/usr/share}
OURS=$repo_dir/mkfs/mkfs.erofs
REF_DIR=$("$repo_dir/scripts/build-erofs-utils.sh" 1.8.6-1 | tail -n 1) ||
	{ echo "mkfs-tar.sh: erofs-utils 1.8.6 unavailable" >&2; exit 1; }
THEIRS=$REF_DIR/mkfs.erofs
W=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-tar.XXXXXX")
trap 'umount "$W"/m1 "$W"/m2 2>/dev/null || true; rm -rf "$W"' EXIT
CTRD=(--tar=f --aufs --quiet -Enoinline_data -U 0d7d3b64-9e4f-4a7c-8f52-5b1c2e3d4f60
      -b4096 -T0 --mkfs-time)

echo "tar of $src ..." >&2
tar -C "$(dirname "$src")" -cf "$W/src.tar" "$(basename "$src")" 2>/dev/null || true
gzip -1 -c "$W/src.tar" >"$W/src.tar.gz"
printf '%-7s %-6s %9s %9s %10s %11s\n' case tool wall_s cpu_s rss_MiB image_MiB

# run CASE TOOL -- command line (the image is the last word before any <)
run() {
	local case=$1 tool=$2 mkfs=$3 img="$W/$1-$2.erofs" t
	shift 3
	sh -c "$* >/dev/null 2>&1" _ "$mkfs" "$img.warm" || true
	rm -f "$img.warm"
	t=$( { /usr/bin/time -f '%e %U %S %M' sh -c "$*" _ "$mkfs" "$img" >/dev/null; } 2>&1 | tail -n 1)
	set -- $t
	printf '%-7s %-6s %9.2f %9.2f %10.1f %11.1f\n' "$case" "$tool" "$1" \
		"$(echo "$2 + $3" | bc)" "$(echo "$4 / 1024" | bc -l)" \
		"$(echo "$(stat -c %s "$img") / 1048576" | bc -l)"
}

compare() {
	[ "$(id -u)" = 0 ] || return 0
	mkdir -p "$W/m1" "$W/m2"
	mount -t erofs -o ro "$W/$1-ours.erofs" "$W/m1"
	mount -t erofs -o ro "$W/$1-1.8.6.erofs" "$W/m2"
	python3 "$repo_dir/tests/tools/treecmp.py" "$W/m2" "$W/m1" >/dev/null ||
		echo "  ($1: the two images differ!)"
	umount "$W/m1" "$W/m2"
	rm -f "$W/$1-ours.erofs" "$W/$1-1.8.6.erofs"
}

for tool in ours 1.8.6; do
	mk=$OURS
	[ $tool = 1.8.6 ] && mk=$THEIRS
	run plain $tool "$mk" '"$1"' "${CTRD[*]}" '"$2" <' "$W/src.tar"
done
compare plain
for tool in ours 1.8.6; do
	mk=$OURS
	[ $tool = 1.8.6 ] && mk=$THEIRS
	run pipe $tool "$mk" cat "$W/src.tar" '| "$1"' "${CTRD[*]}" '"$2"'
done
compare pipe
for tool in ours 1.8.6; do
	mk=$OURS
	[ $tool = 1.8.6 ] && mk=$THEIRS
	run gzip $tool "$mk" '"$1"' "${CTRD[*]}" --ungzip '"$2" <' "$W/src.tar.gz"
done
compare gzip
for tool in ours 1.8.6; do
	mk=$OURS
	[ $tool = 1.8.6 ] && mk=$THEIRS
	run lz4hc $tool "$mk" '"$1"' "${CTRD[*]}" -zlz4hc -C65536 '"$2" <' "$W/src.tar"
done
compare lz4hc
