#!/bin/bash
# bench/fetch-ops.sh - a BENCHMARK, not a test: nothing here passes or
# fails on numbers.
#
# The daemon's overhead for operators: READ service latency (p50, p99,
# from the daemon's exit statistics) and throughput of several parallel
# readers of one image, with the metrics endpoint (scraped twice a
# second) and the cache keeper (measuring every second, a high mark it
# never reaches) on ("on"), both on but nobody scraping ("idle": what
# the daemon itself pays), and both off ("off").  The scraper is busybox
# wget run in the same two-CPU guest: its fork and exec are part of "on".  Under the qemu kernel of
# tests/t43 (scripts/build-kernel.sh, cached), blobs over HTTP from
# busybox httpd in the guest, a cache of its own for each run, runs
# alternated off/on.  TCG is slow: the numbers are for comparison with
# each other only.
#
# Usage: bench/fetch-ops.sh
# Env:   BENCH_MIB (image size, default 24), BENCH_READERS (default 4),
#        BENCH_ROUNDS (default 2)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/kernel/guest.sh"
MKFS="$TOP/mkfs/mkfs.erofs"
MIB=${BENCH_MIB:-24}
READERS=${BENCH_READERS:-4}
ROUNDS=${BENCH_ROUNDS:-2}
T=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-fetchops.XXXXXX")
trap 'umount "$T/cmnt" 2>/dev/null || true; rm -rf "$T"' EXIT
fail() { echo "fetch-ops: $*" >&2; exit 1; }

KERNEL=$("$TOP/scripts/build-kernel.sh" | tail -n 1)
mkdir -p "$T/src" "$T/srv/www"
for ((i = 0; i < MIB; i++)); do
	head -c 1048576 /dev/urandom >"$T/src/f$i"
done
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/img.blob" "$T/srv/www/img" "$T/src"
cp "$T/img.blob" "$T/srv/www/$(sha256sum "$T/img.blob" | cut -c1-64)"
mkfs.ext4 -q -F -d "$T/srv" "$T/srv.ext4" $((MIB * 2 + 32))M
truncate -s $((MIB * ROUNDS * 2 + 128))M "$T/cache.ext4"
mkfs.ext4 -q -F "$T/cache.ext4"

guest_root "$T/root"
guest_add_bin "$T/root" "$TOP/fetch/erofs-fetch" erofs-fetch
cat >"$T/root/scenario.sh" <<EOF
MIB=$MIB
READERS=$READERS
ROUNDS=$ROUNDS
EOF
cat >>"$T/root/scenario.sh" <<'EOF'
ifconfig lo 127.0.0.1 up
mount -t ext4 /dev/vda /cache
mount -t ext4 /dev/vdb /srv
mkdir -p /mnt/a /cache/results
httpd -f -p 127.0.0.1:8080 -h /srv/www &
now() { cut -d' ' -f1 /proc/uptime; }
# run NAME OPTIONS...: one daemon, one mount, READERS parallel readers
run() {
	name=$1
	shift
	log=/cache/results/$name.log
	erofs-fetch --source=http://127.0.0.1:8080 --cache-dir=/cache/$name \
		--tag=$name --no-prefetch "$@" 2>$log & dpid=$!
	i=0
	while ! grep -q 'ready:' $log && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
	mount -t erofs -o ro,fsid=img none /mnt/a
	scraper=
	case "$name" in on*)
		(while :; do wget -q -O /dev/null http://127.0.0.1:9400/metrics; usleep 500000; done) &
		scraper=$!
	esac
	t0=$(now)
	r=0
	readers=
	while [ $r -lt $READERS ]; do
		(i=$r; while [ $i -lt $MIB ]; do cat /mnt/a/f$i >/dev/null; i=$((i + READERS)); done) &
		readers="$readers $!"
		r=$((r + 1))
	done
	for p in $readers; do wait $p; done
	t1=$(now)
	[ -n "$scraper" ] && kill $scraper
	umount /mnt/a
	kill -TERM $dpid
	wait $dpid
	lat=$(grep -o 'latency p50 [^ ]* p90 [^ ]* p99 [^ ]*' $log)
	echo "BENCH $name $t0 $t1 $lat"
}
round=0
while [ $round -lt $ROUNDS ]; do
	run off$round
	run on$round --metrics=unix:/tmp/m.sock,tcp:127.0.0.1:9400 \
		--cache-high=8G --cache-interval=1
	run idle$round --metrics=unix:/tmp/m.sock,tcp:127.0.0.1:9400 \
		--cache-high=8G --cache-interval=1
	round=$((round + 1))
done
umount /cache
EOF
echo 900 >"$T/root/timeout"
guest_pack "$T/root" "$T/initrd.gz"
guest_run "$KERNEL" "$T/initrd.gz" "$T/console.log" 1000 "$T/cache.ext4" "$T/srv.ext4" ||
	fail "guest: $(tail -n 5 "$T/console.log")"
tr -d '\r' <"$T/console.log" | grep '^BENCH ' >"$T/bench.txt" || fail "no results: $(tail -n 20 "$T/console.log")"
echo "$MIB MiB image, $READERS parallel readers, $ROUNDS rounds (guest seconds, TCG)"
printf '%-6s %8s %10s %10s %10s %10s\n' run seconds MiB/s p50 p90 p99
awk -v mib="$MIB" '{ s = $4 - $3; printf "%-6s %8.2f %10.2f %10s %10s %10s\n", $2, s, mib / s, $7, $9, $11 }' "$T/bench.txt"
awk '{ s = $4 - $3; k = $2; sub(/[0-9]+$/, "", k); t[k] += s }
	END { printf "throughput ratio on/off: %.3f, idle/off: %.3f (time off/on)\n",
		t["off"] / t["on"], t["off"] / t["idle"] }' "$T/bench.txt"
