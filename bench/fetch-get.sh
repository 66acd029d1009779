#!/bin/bash
# bench/fetch-get.sh - a BENCHMARK, not a test: nothing here passes or fails
# on numbers.
#
# With nginx serving on loopback (started here, as in tests/t40):
#
# (a) Throughput: "erofs-fetch get" of one large blob into a new cache file
#     against "curl -o" of the same blob, best and median of RUNS runs each
#     (alternating), as MB/s and the ratio ours/curl (target >= 0.9).  Also
#     erofs-fetch with a single worker, to show what the parallel requests
#     add.
#
# (b) Lazy reading: an uncompressed image of large files plus one small
#     file, /sub/small.txt.  Reading that one file needs the superblock,
#     the inodes of /, /sub and the file, the two directories' blocks and
#     the file's data; those byte ranges are derived from the image by
#     tests/tools/erofsparse.py (an independent reader: dump.erofs is not
#     ready yet), rounded out to 4 KiB pages as the kernel asks for them,
#     and fetched one after another with "get --range" (each step needs the
#     previous one, as a lookup does).  Reported: time to the first file and
#     bytes fetched, against downloading the whole image first.  Each "get"
#     is a new process (new connection, HEAD for the size); the daemon,
#     which keeps its connections, does better than this.
#
# Usage: bench/fetch-get.sh [BLOB_MIB] [RUNS]     (default 1024 5)
# Env:   EROFS_BUILD  another build of the tree to run (default: this one)
#        TMPDIR  where blobs and caches go (default /var/tmp)
set -euo pipefail
MIB=${1:-1024}
RUNS=${2:-5}
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
. "$TOP/tests/lib.sh"
. "$TOOLS/fetchlib.sh"
command -v curl >/dev/null || { echo "curl is not installed"; exit 1; }

now() { echo "$EPOCHREALTIME"; }
elapsed() { "$PY" -c "print('%.3f' % ($2 - $1))"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
best() { printf '%s\n' "$@" | sort -n | sed -n 1p; }
mbps() { "$PY" -c "print('%.0f' % ($1 / 1e6 / $2))"; }

www="$T/www"
mkdir -p "$www"
echo "preparing a $MIB MiB blob"
head -c $((MIB << 20)) /dev/urandom >"$www/blob"
start_nginx "$www"
url="http://127.0.0.1:$NGINX_PORT"
size=$(stat -c %s "$www/blob")
cat "$www/blob" >/dev/null	# the server reads from the page cache

timed() {	# timed OUT CMD...: seconds; OUT removed after
	local t0 t1
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	elapsed "$t0" "$t1"
}

ours=() ours1=() theirs=()
for ((i = 0; i < RUNS; i++)); do
	theirs+=("$(timed curl -sS -o "$T/c.out" "$url/blob")")
	cmp -s "$www/blob" "$T/c.out" || { echo "curl got wrong bytes"; exit 1; }
	rm -f "$T/c.out"
	ours+=("$(timed "$FETCH" get --quiet "$url" blob "$T/e.out")")
	cmp -s "$www/blob" "$T/e.out" || { echo "erofs-fetch got wrong bytes"; exit 1; }
	rm -f "$T/e.out"
	ours1+=("$(timed "$FETCH" get --quiet --workers 1 "$url" blob "$T/e1.out")")
	rm -f "$T/e1.out"
done
echo
echo "(a) throughput, $MIB MiB blob over loopback, $RUNS runs (seconds: best / median; MB/s of the best)"
printf '  %-34s %7s / %7s  %6s MB/s\n' "curl -o" "$(best "${theirs[@]}")" "$(median "${theirs[@]}")" "$(mbps "$size" "$(best "${theirs[@]}")")"
printf '  %-34s %7s / %7s  %6s MB/s\n' "erofs-fetch get (4 workers)" "$(best "${ours[@]}")" "$(median "${ours[@]}")" "$(mbps "$size" "$(best "${ours[@]}")")"
printf '  %-34s %7s / %7s  %6s MB/s\n' "erofs-fetch get --workers 1" "$(best "${ours1[@]}")" "$(median "${ours1[@]}")" "$(mbps "$size" "$(best "${ours1[@]}")")"
echo "  ratio ours/curl (throughput, best):   $("$PY" -c "print('%.2f' % ($(best "${theirs[@]}") / $(best "${ours[@]}")))")"
echo "  ratio ours/curl (throughput, median): $("$PY" -c "print('%.2f' % ($(median "${theirs[@]}") / $(median "${ours[@]}")))")"

# ---- (b)
echo
parse="$TOOLS/erofsparse.py"
if [ ! -f "$parse" ]; then
	echo "(b) not run: $parse (the independent reader) is not in this tree"
	exit 0
fi
rm -f "$www/blob"
mkdir -p "$T/tree/sub"
for i in 1 2 3 4 5 6 7 8; do
	head -c $((MIB << 17)) /dev/urandom >"$T/tree/file$i"	# MIB/8 MiB each
done
head -c 3000 /dev/urandom >"$T/tree/sub/small.txt"
"$MKFS" --quiet -T 0 "$www/image" "$T/tree" >/dev/null
isize=$(stat -c %s "$www/image")
# the pages a lookup of /sub/small.txt and a read of it touch, in order
"$PY" - "$parse" "$www/image" >"$T/ranges" <<'EOF'
import json, subprocess, sys
d = json.loads(subprocess.check_output([sys.executable, sys.argv[1], sys.argv[2]]))
sb, files = d["sb"], {f["path"]: f for f in d["files"]}
bs, meta = sb["blocksize"], sb["meta_blkaddr"]
pages = [0]                                     # the superblock
for path in ["/", "/sub", "/sub/small.txt"]:
    f = files[path]
    ino = meta * bs + f["nid"] * 32
    pages.append(ino // 4096)                   # the inode
    for e in f["extents"]:
        for p in range(e["pa"] // 4096, (e["pa"] + e["plen"] - 1) // 4096 + 1):
            pages.append(p)                     # directory / file data
seen = []
for p in pages:
    if p not in seen:
        seen.append(p)
for p in seen:
    print(p * 4096, p * 4096 + 4095)
f = files["/sub/small.txt"]["extents"][0]
print("data", f["pa"], f["plen"])
EOF
t0=$(now)
steps=0
while read -r a b; do
	[ "$a" = data ] && break
	steps=$((steps + 1))
	"$FETCH" get --quiet --json --range "$a-$b" "$url" image "$T/cache" >"$T/s$steps.json"
done <"$T/ranges"
t1=$(now)
bytes=0
for ((i = 1; i <= steps; i++)); do
	bytes=$((bytes + $(json_field "$T/s$i.json" bytes)))
done
read -r _ pa plen < <(grep '^data' "$T/ranges")
[ "$(stat -c %s "$T/tree/sub/small.txt")" = "$plen" ] &&
	cmp -s -i "$pa:0" -n "$plen" "$T/cache" "$T/tree/sub/small.txt" ||
	{ echo "(b) the file read from the partial cache is wrong"; exit 1; }
lazy=$(elapsed "$t0" "$t1")
whole=$(timed "$FETCH" get --quiet "$url" image "$T/whole")
wholec=$(timed curl -sS -o "$T/wholec" "$url/image")
echo "(b) reading /sub/small.txt (3000 bytes) of a $((isize >> 20)) MiB image"
printf '  %-40s %8s s  %12s bytes\n' "lazy: $steps page gets, one after another" "$lazy" "$bytes"
printf '  %-40s %8s s  %12s bytes\n' "whole image first (erofs-fetch get)" "$whole" "$isize"
printf '  %-40s %8s s  %12s bytes\n' "whole image first (curl)" "$wholec" "$isize"
echo "  time to first file: $("$PY" -c "print('%.1f' % ($whole / $lazy))")x sooner; bytes: $("$PY" -c "print('%.5f' % ($bytes / $isize))") of the image"
