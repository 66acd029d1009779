#!/bin/bash
# bench/fetch-zran.sh - a BENCHMARK, not a test: nothing here passes or
# fails on numbers.
#
# A stock gzip layer (gzip -6 of a tar of system directories, 200+ MiB
# uncompressed) served by nginx on loopback.  One small file of it is
# wanted.
#
#  full pull:  curl of the whole gzip blob, then a conversion that stores
#              the data (mkfs.erofs --tar=f --ungzip); the file is there
#              when both are done.
#  lazy:       curl of the bootstrap made by mkfs.erofs --tar=i --ungzip
#              (the gzip index is in it), then erofs-fetch get --image of
#              the file's bytes in the uncompressed tar, which fetches only
#              the compressed span from the checkpoint before them.
#
# Reported: time to the file's first byte and bytes received, for both;
# and the conversion times of --tar=i (index) and --tar=f (full) from the
# local blob.  The bootstrap is built once, by whoever publishes it, so
# its build is not part of the lazy reader's time.
#
# Usage: bench/fetch-zran.sh [DIR...]   (default /usr/lib/python3* /usr/share/doc)
# Env:   EROFS_BUILD  another build of the tree to run (default: this one)
#        TMPDIR  where the layer and images go (default /var/tmp)
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
. "$TOP/tests/lib.sh"
. "$TOOLS/fetchlib.sh"
command -v curl >/dev/null || { echo "curl is not installed"; exit 1; }
[ $# -gt 0 ] || set -- /usr/lib/python3* /usr/share/doc

now() { echo "$EPOCHREALTIME"; }
elapsed() { "$PY" -c "print('%.3f' % ($2 - $1))"; }

echo "--- the layer: $*"
mkdir -p "$T/www"
tar --sort=name -cf "$T/layer.tar" "$@" 2>/dev/null || true
gzip -6 -n -c "$T/layer.tar" >"$T/layer.tar.gz"
blob=$(sha256sum "$T/layer.tar.gz" | cut -c1-64)
diff_id=$(sha256sum "$T/layer.tar" | cut -c1-64)
ln "$T/layer.tar.gz" "$T/www/$blob"
echo "tar $(stat -c %s "$T/layer.tar") bytes, gzip $(stat -c %s "$T/layer.tar.gz") bytes"

# the wanted file: a small regular file three quarters into the tar
read -r name off size < <("$PY" - "$T/layer.tar" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    files = [m for m in t.getmembers() if m.isfile() and 1000 <= m.size <= 20000]
m = files[len(files) * 3 // 4]
print(m.name, m.offset_data, m.size)
EOF
)
echo "wanted: /$name, $size bytes at byte $off of the tar"

echo "--- conversions from the local blob"
t0=$(now)
"$MKFS" --quiet --tar=i --ungzip "$T/www/boot.img" "$T/layer.tar.gz"
t1=$(now)
"$MKFS" --quiet --tar=f --ungzip "$T/full-local.img" "$T/layer.tar.gz"
t2=$(now)
ci=$(elapsed "$t0" "$t1")
cf=$(elapsed "$t1" "$t2")
echo "--tar=i: ${ci}s (bootstrap $(stat -c %s "$T/www/boot.img") bytes);" \
	"--tar=f: ${cf}s; ratio $("$PY" -c "print('%.2f' % ($ci / $cf))")"

start_nginx "$T/www"
url="http://127.0.0.1:$NGINX_PORT"

echo "--- full pull: curl of the blob + --tar=f conversion"
t0=$(now)
curl -sS -o "$T/pulled.tar.gz" "$url/$blob"
"$MKFS" --quiet --tar=f --ungzip "$T/full.img" "$T/pulled.tar.gz"
t1=$(now)
full_t=$(elapsed "$t0" "$t1")
full_b=$(stat -c %s "$T/pulled.tar.gz")
echo "first byte after ${full_t}s, $full_b bytes received"

echo "--- lazy: curl of the bootstrap + get --image of the file's range"
t0=$(now)
curl -sS -o "$T/boot.img" "$url/boot.img"
"$FETCH" get --quiet --json --image="$T/boot.img" --range "$off-$((off + size - 1))" \
	"$url" "$diff_id" "$T/lazy.out" >"$T/lazy.json"
t1=$(now)
lazy_t=$(elapsed "$t0" "$t1")
lazy_b=$(( $(stat -c %s "$T/boot.img") + $(json_field "$T/lazy.json" bytes) ))
cmp -s -i "$off:$off" -n "$size" "$T/layer.tar" "$T/lazy.out" || echo "WRONG BYTES"
echo "first byte after ${lazy_t}s, $lazy_b bytes received" \
	"(bootstrap $(stat -c %s "$T/boot.img"), blob $(json_field "$T/lazy.json" bytes))"

echo "--- ratios (full pull / lazy)"
"$PY" -c "print('time %.1fx, bytes %.1fx' % ($full_t / $lazy_t, $full_b / $lazy_b))"
