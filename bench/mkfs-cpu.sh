#!/bin/bash
# Benchmark (not a test): mkfs.erofs' CPU time per input byte against the
# compressor alone (bench/compress-alone.c: the library's fixed-output
# call in a loop over the same files, cut into the same pcluster size).
#
#   bench/mkfs-cpu.sh [SOURCE_DIR]        (default /usr/share/doc)
#
# Files of more than one block are what mkfs compresses (smaller ones are
# stored as they are), so those are what the compressor alone gets, each
# distinct content once: mkfs stores a file equal to an earlier one (a
# hard link, a copied licence) by pointing at the first one's pclusters
# and compresses it no more, and a quarter of /usr/share/doc's bytes are
# such repeats.  Feeding them to the compressor alone again would credit
# it with work mkfs does not do and flatter mkfs' ratio by as much.
# mkfs runs with --workers=1 (its CPU, not its wall time, is compared).
# Prints, per algorithm and pcluster size: input bytes, image size and
# the compressor's output, CPU seconds of mkfs, of the compressor calls
# alone, of the whole compressor run (reading files included) and of the
# run writing its pclusters to a file as well (io.s: the least reading
# and writing any builder of the image does), and the ratios
# mkfs/compress (1.15 or less is the goal), mkfs/run and mkfs/io.  First,
# mkfs' CPU without -z: walking, reading, hashing and writing the tree,
# the part no compressor pays; the last column, (mkfs - that) / compress,
# is what mkfs spends on compression itself against the compressor alone.
#
# Each figure is the best of REPEAT runs, mkfs and the compressor alone
# taking turns: on a shared machine the fast compressors' few tenths of a
# second vary by a third from run to run.
#
# Environment: MKFS=... (default mkfs/mkfs.erofs of this tree),
# CONFIGS="lz4hc:4096 ..." (ALG:PCLUSTER pairs), REPEAT=N (default 3),
# TMPDIR (default /var/tmp).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SRC=${1:-/usr/share/doc}
MKFS=${MKFS:-$here/../mkfs/mkfs.erofs}
CONFIGS=${CONFIGS:-"lz4hc:4096 lz4hc:65536 deflate:65536 zstd:65536 lzma:1048576"}
REPEAT=${REPEAT:-3}
die() { echo "mkfs-cpu: $*" >&2; exit 2; }
[ -d "$SRC" ] || die "$SRC: not a directory"
[ -x "$MKFS" ] || die "$MKFS: not built"
[ -x /usr/bin/time ] || die "/usr/bin/time: missing (apt-get install time)"

W=$(mktemp -d "${TMPDIR:-/var/tmp}/mkfs-cpu.XXXXXX")
trap 'rm -rf "$W"' EXIT
trap 'exit 130' INT TERM
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
gcc -O2 -o "$W/alone" "$here/compress-alone.c" -llz4 -llzma -lz -lzstd ||
	die "cannot build compress-alone (liblz4-dev liblzma-dev zlib1g-dev libzstd-dev)"
cp "$MKFS" "$W/mkfs.erofs"
find "$SRC" -xdev -type f -print0 | xargs -0 cat >/dev/null	# warm the cache
# the first file of each content (sha256sum -z: names are not escaped)
find "$SRC" -xdev -type f -size +4096c -print0 | xargs -0 sha256sum -z |
	perl -0ne 'print substr($_, 66, -1), "\n" unless $seen{substr($_, 0, 64)}++' \
	>"$W/list"
total=$(find "$SRC" -xdev -type f -size +4096c -printf '%s\n' |
	awk '{ n++; s += $1 } END { print n " files, " s " bytes" }')
bytes=$(tr '\n' '\0' <"$W/list" | du -cb --files0-from=- | tail -n 1 | cut -f1)
echo "tree: $SRC  files over one block: $total; distinct: $(wc -l <"$W/list") ($bytes bytes)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_of() {	# CPU seconds of one command
	/usr/bin/time -f '%U %S' -o "$W/t" "$@" >/dev/null
	awk '{ print $1 + $2 }' "$W/t"
}
plain=
for _ in $(seq "$REPEAT"); do
	plain=$(min "$(cpu_of "$W/mkfs.erofs" --quiet -T 0 "$W/img" "$SRC")" "$plain")
done
echo "mkfs without -z: $plain s CPU, image $(stat -c %s "$W/img") bytes"
rm -f "$W/img"
printf '%-8s %8s | %11s %11s %11s | %6s %6s %6s %6s | %7s %7s %7s %7s\n' \
	alg pcluster input image alone.out mkfs.s comp.s run.s io.s mkfs/cmp \
	mkfs/run mkfs/io '(m-p)/c'
level() { case $1 in lz4hc) echo 9 ;; lzma) echo 6 ;; deflate) echo 1 ;; zstd) echo 3 ;; esac; }
for cfg in $CONFIGS; do
	alg=${cfg%%:*} pc=${cfg#*:} mk= comp= run= io=
	for _ in $(seq "$REPEAT"); do
		mk=$(min "$(cpu_of "$W/mkfs.erofs" --quiet --workers=1 \
			-z "$alg,$(level "$alg")" -C "$pc" -T 0 "$W/img" "$SRC")" "$mk")
		read -r _ _ _ _ _ _ _ out _ c _ r < <("$W/alone" "$alg" "$pc" <"$W/list")
		comp=$(min "$c" "$comp") run=$(min "$r" "$run")
		read -r _ _ _ _ _ _ _ _ _ _ _ r < <(COMPRESS_OUT="$W/out" \
			"$W/alone" "$alg" "$pc" <"$W/list")
		io=$(min "$r" "$io")
		rm -f "$W/out"
	done
	printf '%-8s %8s | %11s %11s %11s | %6.2f %6.2f %6.2f %6.2f | %7.3f %7.3f %7.3f %7.3f\n' \
		"$alg" "$pc" "$bytes" "$(stat -c %s "$W/img")" "$out" "$mk" "$comp" "$run" "$io" \
		"$(awk -v a="$mk" -v b="$comp" 'BEGIN { print a / b }')" \
		"$(awk -v a="$mk" -v b="$run" 'BEGIN { print a / b }')" \
		"$(awk -v a="$mk" -v b="$io" 'BEGIN { print a / b }')" \
		"$(awk -v a="$mk" -v p="$plain" -v b="$comp" 'BEGIN { print (a - p) / b }')"
	rm -f "$W/img"
done
