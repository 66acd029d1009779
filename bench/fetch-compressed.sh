#!/bin/bash
# bench/fetch-compressed.sh - a BENCHMARK, not a test: nothing here passes
# or fails on numbers.
#
# Compressed images served by erofs-fetch under the qemu kernel of
# tests/t43 (Linux 6.12 with cachefiles on-demand, built and cached by
# scripts/build-kernel.sh), blobs over HTTP from busybox httpd in the
# guest: bytes fetched from the source and time to mount and read one
# small file (9000 bytes, compressed), then the whole tree, for
#   before: EROFS_FETCH_BEFORE (default: this tree's daemon) with
#           --no-prefetch, the only setting that was safe for compressed
#           images before the daemon knew their pclusters;
#   after:  this tree's daemon with its default options (prefetch window,
#           pcluster-aligned widening).
# Each run has a cache of its own.  TCG is slow: the times are the
# guest's, for comparison with each other only.
#
# Usage: bench/fetch-compressed.sh
# Env:   EROFS_FETCH_BEFORE  the daemon for "before" (e.g. an older build)
#        BENCH_IMAGES  "NAME:MKFS-OPTIONS,... ..." (default lz4hc 64K, lzma 1M)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/kernel/guest.sh"
MKFS="$TOP/mkfs/mkfs.erofs"
AFTER="$TOP/fetch/erofs-fetch"
BEFORE=${EROFS_FETCH_BEFORE:-$AFTER}
T=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-fetchc.XXXXXX")
trap 'umount "$T/cmnt" 2>/dev/null || true; rm -rf "$T"' EXIT

KERNEL=$("$TOP/scripts/build-kernel.sh" | tail -n 1)
python3 "$TOP/tests/tools/gen-ctree.py" "$T/src"
# the small file: the first of 9000 bytes, in a directory of its own
SMALL=$(cd "$T/src" && find small -maxdepth 1 -type f -size 9000c | sort | sed -n 1p)
mkdir -p "$T/srv/www"
IMAGES=${BENCH_IMAGES:-"lz4hc:-zlz4hc,-C65536 lzma:-zlzma,-C1048576"}
for spec in $IMAGES; do
	name=${spec%%:*}
	opts=${spec#*:}
	"$MKFS" --quiet ${opts//,/ } --chunksize=65536 --blobdev="$T/$name.blob" \
		"$T/srv/www/$name" "$T/src" >/dev/null
	cp "$T/$name.blob" "$T/srv/www/$(sha256sum "$T/$name.blob" | cut -c1-64)"
done
mkfs.ext4 -q -F -d "$T/srv" "$T/srv.ext4" 64M
truncate -s 256M "$T/cache.ext4"
mkfs.ext4 -q -F "$T/cache.ext4"

guest_root "$T/root"
guest_add_bin "$T/root" "$AFTER" erofs-fetch
guest_add_bin "$T/root" "$BEFORE" erofs-fetch-before
cat >"$T/root/scenario.sh" <<EOF
IMAGES="$(for s in $IMAGES; do printf '%s ' "${s%%:*}"; done)"
SMALL=$SMALL
BENCH_VERBOSE=${BENCH_VERBOSE:-}
EOF
cat >>"$T/root/scenario.sh" <<'EOF'
ifconfig lo 127.0.0.1 up
mount -t ext4 /dev/vda /cache
mount -t ext4 /dev/vdb /srv
mkdir -p /mnt/a
httpd -f -p 127.0.0.1:8080 -h /srv/www &
now() { cut -d' ' -f1 /proc/uptime; }
# stats LOG N: the source's byte count in the Nth statistics line
stats() {
	i=0
	while [ "$(grep -c 'source stats' $1)" -lt $2 ] && [ $i -lt 100 ]; do
		usleep 100000
		i=$((i + 1))
	done
	grep 'source stats' $1 | sed -n "$2p" | sed 's/.* bytes \([0-9]*\).*/\1/'
}
for img in $IMAGES; do
	for run in before after; do
		if [ $run = before ]; then
			bin=erofs-fetch-before opts=--no-prefetch
		else
			bin=erofs-fetch opts=
		fi
		log=/tmp/$run-$img.log
		$bin ${BENCH_VERBOSE:+-v} --source=http://127.0.0.1:8080 --cache-dir=/cache/$run-$img \
			--tag=$run-$img $opts >$log 2>&1 & pid=$!
		i=0
		until grep -q 'ready:' $log || [ $i -gt 100 ]; do
			usleep 100000
			i=$((i + 1))
		done
		t0=$(now)
		mount -t erofs -o ro,fsid=$img none /mnt/a
		cat /mnt/a/$SMALL >/dev/null
		t1=$(now)
		kill -USR1 $pid
		b1=$(stats $log 1)
		find /mnt/a -type f | xargs cat >/dev/null
		t2=$(now)
		kill -USR1 $pid
		b2=$(stats $log 2)
		umount /mnt/a
		kill $pid
		wait $pid
		echo "BENCH $img $run small $t0 $t1 $b1 tree $t2 $b2"
		[ -n "$BENCH_VERBOSE" ] && cat $log
	done
done
EOF
echo 400 >"$T/root/timeout"
guest_pack "$T/root" "$T/initrd.gz"
guest_run "$KERNEL" "$T/initrd.gz" "$T/console.log" 500 "$T/cache.ext4" "$T/srv.ext4" || true
[ "$(grep -c BENCH "$T/console.log")" = $(( $(echo $IMAGES | wc -w) * 2 )) ] ||
	{ tr -d '\r' <"$T/console.log" | tail -n 60; }
printf '%-6s %-7s %12s %14s %12s %14s\n' image daemon "small: s" "small: bytes" "tree: s" "tree: bytes"
tr -d '\r' <"$T/console.log" | awk '$1 == "BENCH" {
	printf "%-6s %-7s %12.2f %14d %12.2f %14d\n", $2, $3, $6 - $5, $7, $9 - $5, $10
}'
echo "small file: $SMALL, 9000 bytes; tree: $(du -sb "$T/src" | cut -f1) bytes in $(find "$T/src" -type f | wc -l) files; blobs: $(for s in $IMAGES; do n=${s%%:*}; printf '%s %s  ' $n $(stat -c %s "$T/$n.blob"); done)"
