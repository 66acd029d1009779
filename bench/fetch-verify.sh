#!/bin/bash
# bench/fetch-verify.sh - a BENCHMARK, not a test: nothing here passes or
# fails on numbers.
#
# "erofs-fetch get" of a blob from nginx on loopback, with and without
# --image (every unit of the blob hashed against the bootstrap's digest
# table before it is written), best and median of RUNS runs each
# (alternating), as MB/s and the ratio verified/plain (target >= 0.95);
# the CPU seconds each spends; and the digest table's size as a share of
# the blob for each unit size.
#
# On loopback nothing but the CPU limits a transfer: the blob moves at
# memory speed, and SHA-256 (1.3 GB/s per core with the x86 SHA
# extensions, openssl's own figure on the same machine) is then the
# slowest step.  So the runs are repeated with the server's traffic
# capped at the rates of real links (LINKS, in Mbit/s: an htb class on
# lo that only packets from nginx's port enter, for the duration of the
# runs), where the hashing runs beside the transfer on the source's
# workers.  Capping needs tc and an lo without a qdisc of its own; the
# capped runs are left out, saying why, otherwise.
#
# Usage: bench/fetch-verify.sh [BLOB_MIB] [RUNS]     (default 512 5)
# Env:   EROFS_BUILD  another build of the tree to run (default: this one)
#        TMPDIR  where blobs and caches go (default /var/tmp)
#        LINKS   capped rates in Mbit/s (default "10000 1000")
set -euo pipefail
MIB=${1:-512}
RUNS=${2:-5}
LINKS=${LINKS-10000 1000}
GET_WORKERS=4
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
. "$TOP/tests/lib.sh"
. "$TOOLS/fetchlib.sh"

now() { echo "$EPOCHREALTIME"; }
elapsed() { "$PY" -c "print('%.3f' % ($2 - $1))"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { printf '%s\n' "$@" | sort -n | sed -n 1p; }

mkdir -p "$T/src" "$T/www"
head -c $((MIB << 20)) /dev/urandom >"$T/src/big"
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/blob" "$T/boot.img" "$T/src"
tag=$(sha256sum "$T/blob" | cut -c1-64)
ln "$T/blob" "$T/www/$tag"
start_nginx "$T/www"

# cap_lo MBIT: nginx's answers on lo limited to MBIT Mbit/s (0: uncapped)
cap_lo() {
	tc qdisc del dev lo root 2>/dev/null || true
	[ "$1" = 0 ] && return
	tc qdisc add dev lo root handle 1: htb default 10 2>/dev/null &&
	tc class add dev lo parent 1: classid 1:10 htb rate 100gbit 2>/dev/null &&
	tc class add dev lo parent 1: classid 1:20 htb rate "$1mbit" burst 256k 2>/dev/null &&
	tc filter add dev lo parent 1: protocol ip prio 1 u32 \
		match ip sport "$NGINX_PORT" 0xffff flowid 1:20
}
can_cap() {
	command -v tc >/dev/null || { echo "capped runs left out: no tc"; return 1; }
	[ "$(id -u)" = 0 ] || { echo "capped runs left out: not root"; return 1; }
	grep -q 'noqueue' <<<"$(tc qdisc show dev lo)" ||
		{ echo "capped runs left out: lo has a qdisc of its own"; return 1; }
	cap_lo 1000 || { cap_lo 0; echo "capped runs left out: no htb/u32 here"; return 1; }
	trap 'cap_lo 0; _cleanup' EXIT
	cap_lo 0
}

# get_secs OUT URL [OPTION...]: wall seconds, then user+sys CPU seconds
get_secs() {
	local out=$1 url=$2 t0 t1
	shift 2
	rm -f "$out"
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$T/cpu" "$FETCH" get --quiet \
		--workers=$GET_WORKERS "$@" "$url" "$tag" "$out"
	t1=$(now)
	echo "$(elapsed "$t0" "$t1") $(awk '{ print $1 + $2 }' "$T/cpu")"
}

# one_link NAME URL: RUNS alternating plain and verified gets, summarised
one_link() {
	local name=$1 url=$2 i p v plain=() verified=() pcpu=() vcpu=()
	for ((i = 0; i < RUNS; i++)); do
		read -r p c < <(get_secs "$T/out" "$url")
		plain+=("$p") pcpu+=("$c")
		read -r v c < <(get_secs "$T/out" "$url" --image="$T/boot.img")
		verified+=("$v") vcpu+=("$c")
		cmp -s "$T/blob" "$T/out" || { echo "verified get: wrong bytes"; exit 1; }
	done
	"$PY" - "$name" "$MIB" "$(best "${plain[@]}")" "$(median "${plain[@]}")" \
		"$(best "${verified[@]}")" "$(median "${verified[@]}")" \
		"$(median "${pcpu[@]}")" "$(median "${vcpu[@]}")" <<'PYEOF'
import sys
name, mib = sys.argv[1], int(sys.argv[2])
pb, pm, vb, vm, pc, vc = map(float, sys.argv[3:])
mb = mib * 1048576 / 1e6
print(f'{name}: get of {mib} MiB')
print(f'  plain     best {mb / pb:7.1f} MB/s  median {mb / pm:7.1f} MB/s  CPU {pc:.2f} s')
print(f'  verified  best {mb / vb:7.1f} MB/s  median {mb / vm:7.1f} MB/s  CPU {vc:.2f} s')
print(f'  ratio verified/plain: best {pb / vb:.2f}, median {pm / vm:.2f}')
PYEOF
}

[ -x /usr/bin/time ] || { echo "/usr/bin/time: missing (apt-get install time)"; exit 2; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
one_link "loopback, uncapped" "http://127.0.0.1:$NGINX_PORT"
if [ -n "$LINKS" ] && can_cap; then
	for rate in $LINKS; do
		cap_lo "$rate"
		one_link "capped at $rate Mbit/s" "http://127.0.0.1:$NGINX_PORT"
		cap_lo 0
	done
fi
echo "digest table share of the blob:"
for unit in 4K 16K 64K 256K 1M; do
	"$MKFS" --quiet -E digest-unit=$unit --chunksize=65536 \
		--blobdev="$T/b2" "$T/b2.img" "$T/src"
	bytes=$("$DUMP" -s --json "$T/b2.img" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["superblock"]["annex"]["records"][0]["bytes"])')
	"$PY" -c "import sys; print(f'  unit {sys.argv[1]:>4}: {int(sys.argv[2])} bytes, {100 * int(sys.argv[2]) / int(sys.argv[3]):.3f}%')" \
		"$unit" "$bytes" "$(stat -c %s "$T/b2")"
done
