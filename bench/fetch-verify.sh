#!/bin/bash
# bench/fetch-verify.sh - a BENCHMARK, not a test: nothing here passes or
# fails on numbers.
#
# "erofs-fetch get" of a blob from nginx on loopback, with and without
# --image (every unit of the blob hashed against the bootstrap's digest
# table before it is written), best and median of RUNS runs each
# (alternating), as MB/s and the ratio verified/plain (target >= 0.95);
# and the digest table's size as a share of the blob for each unit size.
#
# Usage: bench/fetch-verify.sh [BLOB_MIB] [RUNS]     (default 512 5)
# Env:   EROFS_BUILD  another build of the tree to run (default: this one)
#        TMPDIR  where blobs and caches go (default /var/tmp)
set -euo pipefail
MIB=${1:-512}
RUNS=${2:-5}
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
url="http://127.0.0.1:$NGINX_PORT"

plain=() verified=()
for ((i = 0; i < RUNS; i++)); do
	rm -f "$T/out"
	t0=$(now); "$FETCH" get --quiet "$url" "$tag" "$T/out"; t1=$(now)
	plain+=("$(elapsed "$t0" "$t1")")
	rm -f "$T/out"
	t0=$(now); "$FETCH" get --quiet --image="$T/boot.img" "$url" "$tag" "$T/out"; t1=$(now)
	verified+=("$(elapsed "$t0" "$t1")")
	cmp -s "$T/blob" "$T/out" || { echo "verified get: wrong bytes"; exit 1; }
done
"$PY" - "$MIB" "$(best "${plain[@]}")" "$(median "${plain[@]}")" \
	"$(best "${verified[@]}")" "$(median "${verified[@]}")" <<'PYEOF'
import sys
mib = int(sys.argv[1])
pb, pm, vb, vm = map(float, sys.argv[2:])
mb = mib * 1048576 / 1e6
print(f'get of {mib} MiB over loopback nginx:')
print(f'  plain     best {mb / pb:7.1f} MB/s  median {mb / pm:7.1f} MB/s')
print(f'  verified  best {mb / vb:7.1f} MB/s  median {mb / vm:7.1f} MB/s')
print(f'  ratio verified/plain: best {pb / vb:.2f}, median {pm / vm:.2f}')
PYEOF
echo "digest table share of the blob:"
for unit in 4K 16K 64K 256K 1M; do
	"$MKFS" --quiet -E digest-unit=$unit --chunksize=65536 \
		--blobdev="$T/b2" "$T/b2.img" "$T/src"
	bytes=$("$DUMP" -s --json "$T/b2.img" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["superblock"]["annex"]["records"][0]["bytes"])')
	"$PY" -c "import sys; print(f'  unit {sys.argv[1]:>4}: {int(sys.argv[2])} bytes, {100 * int(sys.argv[2]) / int(sys.argv[3]):.3f}%')" \
		"$unit" "$bytes" "$(stat -c %s "$T/b2")"
done
