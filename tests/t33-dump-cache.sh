#!/bin/bash
# dump.erofs --cache: sparse cache files built here with known data and
# holes (whole, empty, partial: dd into a truncated file, holes punched
# with fallocate) of a single-device image, of a compressed image, of
# a bootstrap's blob, alone and in a directory, and of images with
# fragments (a fragment needs the packed inode's pclusters holding it).  Every figure is checked
# against what the test wrote and an independent parse of the image:
# data and hole ranges, bytes and fraction cached, and for every name
# (and for a --path subtree) its state, needed and missing bytes and the
# missing ranges.
. "$(dirname "$0")/lib.sh"
: "${DUMP:=$TOP/dump/dump.erofs}"	# lib.sh may point it at another build
[ -x "$DUMP" ] || fail "dump.erofs not built: $DUMP"
command -v fallocate >/dev/null || skip "fallocate is not installed (util-linux)"
fsbs=$(stat -f -c %S "$T")
[ "$fsbs" -le 4096 ] || skip "the test directory's filesystem has $fsbs-byte blocks; holes are made at 4096"

gentree small "$T/src"
"$PY" - "$T/src" <<'PYEOF'
import os, random, sys
r = random.Random(7)
root = sys.argv[1]
os.makedirs(root + '/sub/deeper')
for i, n in enumerate([0, 1, 4096, 8192 + 100, 65536, 200000, 300000]):
    open(f'{root}/sub/f{i}', 'wb').write(r.randbytes(n))
open(root + '/sub/deeper/text', 'wb').write(b'cache me if you can\n' * 20000)
os.symlink('f1', root + '/sub/link')
PYEOF

# check.py CACHE-JSON IMAGE-PARSE-OR-- WRITTEN PATH-PREFIX: WRITTEN is
# "start:end,..." (bytes written into the cache file, 4 KiB aligned)
cat >"$T/check.py" <<'PYEOF'
import json, sys
out = json.load(open(sys.argv[1]))
parse = json.load(open(sys.argv[2])) if sys.argv[2] != '--' else None
written = [tuple(map(int, w.split(':'))) for w in sys.argv[3].split(',') if w]
prefix = sys.argv[4]
dev = int(sys.argv[5]) if len(sys.argv) > 5 else 0

def merge(rs):
    out = []
    for s, e in sorted(rs):
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out

def subtract(need, have):
    res = []
    for s, e in need:
        cur = s
        for hs, he in have:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                res.append([cur, hs])
            cur = max(cur, he)
        if cur < e:
            res.append([cur, e])
    return res

c = out['cache']
f = [x for x in c['files'] if (x['device'] is not None) == (parse is not None)]
assert len(f) == 1, c['files']
f = f[0]
extent = f['extent']
data = merge([(s, min(e, extent)) for s, e in written if s < extent])
assert f['data'] == data, (f['data'], data)
holes = subtract([[0, extent]], data)
assert f['holes'] == holes, (f['holes'], holes)
cached = sum(e - s for s, e in data)
assert f['cached_bytes'] == cached, (f['cached_bytes'], cached)
assert abs(f['fraction'] - (cached / extent if extent else 1)) < 1e-9
if parse is None:
    print('cache file only:', cached, 'of', extent)
    sys.exit(0)
assert f['device'] == dev, f
sb = parse['sb']
devblocks = sb['blocks'] if dev == 0 else sb['devices'][dev - 1]['blocks']
assert extent == devblocks * sb['blocksize'], (extent, devblocks)
files = {x['path']: x for x in parse['files']}
packed = parse['packed']
inodes = c['inodes']
want_paths = [p for p in files if p == prefix or
              p.startswith(prefix.rstrip('/') + '/')]
# the packed inode is listed after the whole tree, not in its total
if packed and prefix == '/':
    want_paths.append('(packed inode)')
    files['(packed inode)'] = packed
assert sorted(x['path'] for x in inodes) == sorted(want_paths), \
    (len(inodes), len(want_paths))

def held(e):
    """where extent e is on device dev: a fragment is in the packed
    inode's extents that hold its bytes, whole pclusters if compressed"""
    if e['kind'] == 'hole':
        return []
    if e['kind'] != 'fragment':
        return [(e['pa'], e['pa'] + e['plen'])] if e['dev'] == dev else []
    start, end, out = e['pa'], e['pa'] + e['llen'], []
    for p in packed['extents']:
        if p['la'] >= end or start >= p['la'] + p['llen']:
            continue
        if p['kind'] in ('plain', 'inline'):
            # uncompressed: its bytes of the fragment only
            lo, hi = max(start, p['la']), min(end, p['la'] + p['llen'])
            p = dict(p, pa=p['pa'] + lo - p['la'], plen=hi - lo)
        out += held(p)
    return out

total, states = [], {}
for x in inodes:
    need = merge([r for e in files[x['path']]['extents'] for r in held(e)])
    if x['path'] != '(packed inode)':
        total += need
    miss = subtract(need, data)
    nb, mb = sum(e - s for s, e in need), sum(e - s for s, e in miss)
    state = 'local' if not nb else 'cached' if not mb else \
        'missing' if mb == nb else 'partial'
    assert (x['needed_bytes'], x['missing_bytes'], x['state']) == \
        (nb, mb, state), (x, nb, mb, state)
    assert [[m['start'], m['end']] for m in x['missing']] == miss, (x, miss)
    assert all(m['device'] == dev for m in x['missing'])
    states[state] = states.get(state, 0) + 1
need = merge(total)
miss = subtract(need, data)
t = c['total']
assert t['path'] == prefix
assert t['needed_bytes'] == sum(e - s for s, e in need), (t, need)
assert t['missing_bytes'] == sum(e - s for s, e in miss), t
assert [[m['start'], m['end']] for m in t['missing']] == miss
print(json.dumps(states), 'to fetch', t['missing_bytes'], 'of', t['needed_bytes'])
PYEOF

run_check() {	# NAME EXPECT-STATES IMAGE-PARSE WRITTEN PREFIX DEV DUMP-ARGS...
	local name=$1 expect=$2 parse=$3 written=$4 prefix=$5 dev=$6; shift 6
	"$DUMP" --json "$@" >"$T/$name.json" || fail "$name: dump --cache failed (exit $?)"
	res=$("$PY" "$T/check.py" "$T/$name.json" "$parse" "$written" "$prefix" "$dev") ||
		fail "$name: figures differ"
	echo "$name: $res"
	for s in $expect; do
		case "$res" in *"\"$s\""*) ;; *) fail "$name: no file is $s ($res)" ;; esac
	done
}

note "single-device image: the cache copies the image"
"$MKFS" --quiet "$T/one.img" "$T/src"
"$PY" "$TOOLS/erofsparse.py" "$T/one.img" >"$T/one.parse"
size=$(stat -c %s "$T/one.img")
# whole: a full copy
cp "$T/one.img" "$T/whole.cache"
run_check whole "cached local" "$T/one.parse" "0:$size" / 0 --cache="$T/whole.cache" "$T/one.img"
# empty: nothing fetched yet
truncate -s "$size" "$T/empty.cache"
run_check empty "missing local" "$T/one.parse" "" / 0 --cache="$T/empty.cache" "$T/one.img"
# partial: the first 8 KiB, 3 blocks in the middle and the last block
truncate -s "$size" "$T/part.cache"
w=""
for blk in 0 1 $((size / 4096 / 2)) $((size / 4096 / 2 + 1)) $((size / 4096 / 2 + 5)) $((size / 4096 - 1)); do
	dd if="$T/one.img" of="$T/part.cache" bs=4096 skip=$blk seek=$blk count=1 conv=notrunc status=none
	w="$w$((blk * 4096)):$(((blk + 1) * 4096)),"
done
run_check partial "missing cached" "$T/one.parse" "$w" / 0 --cache="$T/part.cache" "$T/one.img"
run_check partial-sub "" "$T/one.parse" "$w" /sub 0 --cache="$T/part.cache" --path=/sub "$T/one.img"
# a punched copy: holes where a big file's blocks are
cp "$T/one.img" "$T/punch.cache"
f5=$("$DUMP" --path=/sub/f5 -e --json "$T/one.img" | "$PY" -c "import json,sys; x=json.load(sys.stdin)['inode']['extents']; print(x[0]['physical'], sum(e['physical_length'] for e in x))")
set -- $f5
fallocate -p -o $(( $1 + 8192 )) -l 65536 "$T/punch.cache"
run_check punched "partial cached" "$T/one.parse" "0:$(( $1 + 8192 )),$(( $1 + 8192 + 65536 )):$size" / 0 \
	--cache="$T/punch.cache" "$T/one.img"
"$DUMP" --cache="$T/punch.cache" --path=/sub/f5 "$T/one.img" >"$T/punch.txt"
grep -q "^  /sub/f5: partial, 65536 of $2 bytes to fetch; dev0:$(( $1 + 8192 ))..$(( $1 + 8192 + 65536 ))$" "$T/punch.txt" ||
	fail "text line for /sub/f5: $(grep f5 "$T/punch.txt")"
grep -q "^  data 0\.\.$(( $1 + 8192 ))$" "$T/punch.txt" || fail "text data range"
grep -q "^  hole $(( $1 + 8192 ))\.\.$(( $1 + 8192 + 65536 ))$" "$T/punch.txt" || fail "text hole range"
grep -q "^  cached $(( size - 65536 )) of $size bytes" "$T/punch.txt" || fail "text cached bytes"
# no image: the cache file's own ranges
run_check noimage "" -- "$w" / 0 --cache="$T/part.cache"

note "compressed image: whole pclusters are needed"
"$MKFS" --quiet -z lz4hc -C 16384 "$T/z.img" "$T/src"
"$PY" "$TOOLS/erofsparse.py" "$T/z.img" >"$T/z.parse"
zsize=$(stat -c %s "$T/z.img")
cp "$T/z.img" "$T/z.cache"
fallocate -p -o 8192 -l $(( zsize / 2 - 8192 )) "$T/z.cache"
run_check compressed "missing" "$T/z.parse" "0:8192,$(( zsize / 2 )):$zsize" / 0 --cache="$T/z.cache" "$T/z.img"

note "bootstrap + blob: the cache copies the blob"
"$MKFS" --quiet --chunksize=16384 --blobdev="$T/blob" "$T/boot.img" "$T/src"
"$PY" "$TOOLS/erofsparse.py" "$T/boot.img" >"$T/boot.parse"
bsize=$(stat -c %s "$T/blob")
digest=$(sha256sum "$T/blob" | cut -c1-64)
cp "$T/blob" "$T/blob.cache"
fallocate -p -o 16384 -l 32768 "$T/blob.cache"
fallocate -p -o $(( bsize - 4096 )) -l 4096 "$T/blob.cache"
bw="0:16384,49152:$(( bsize - 4096 ))"
run_check blob "partial cached local" "$T/boot.parse" "$bw" / 1 --cache="$T/blob.cache" "$T/boot.img"
run_check blob-dev "" "$T/boot.parse" "$bw" / 1 --cache="$T/blob.cache" --device="$T/blob" "$T/boot.img"
mkdir "$T/cachedir"
cp --sparse=always "$T/blob.cache" "$T/cachedir/$digest"
truncate -s 8192 "$T/cachedir/unrelated"
run_check blob-dir "" "$T/boot.parse" "$bw" /sub 1 --cache="$T/cachedir" --path=/sub "$T/boot.img"
"$DUMP" --cache="$T/cachedir" "$T/boot.img" >"$T/dir.txt"
grep -q "unrelated: 8192 bytes, matches no device of the image" "$T/dir.txt" ||
	fail "an unmatched cache file is not flagged"
grep -q "$digest: $bsize bytes, device 1 of the image ($bsize bytes)" "$T/dir.txt" ||
	fail "the blob's cache file is not bound by its tag"
# cachefiles' own layout: cache/I<volume>/@<hash>/D<key>
mkdir -p "$T/cfcache/cache/Ierofs,t33/@4f"
cp --sparse=always "$T/blob.cache" "$T/cfcache/cache/Ierofs,t33/@4f/D$digest"
run_check blob-cachefiles "" "$T/boot.parse" "$bw" /sub 1 --cache="$T/cfcache" --path=/sub "$T/boot.img"
"$DUMP" --cache="$T/cfcache" "$T/boot.img" >"$T/dir.txt"
grep -q "D$digest: $bsize bytes, device 1 of the image" "$T/dir.txt" ||
	fail "a cachefiles data object D<tag> is not bound to its device: $(cat "$T/dir.txt")"

note "bootstrap + blob, compressed: the pclusters are in the blob"
"$MKFS" --quiet -z lz4hc -C 16384 --chunksize=16384 --blobdev="$T/zblob" "$T/zboot.img" "$T/src"
"$PY" "$TOOLS/erofsparse.py" "$T/zboot.img" "$T/zblob" >"$T/zboot.parse"
zbsize=$(stat -c %s "$T/zblob")
cp "$T/zblob" "$T/zblob.cache"
fallocate -p -o 4096 -l $(( zbsize / 3 / 4096 * 4096 )) "$T/zblob.cache"
run_check zblob "cached" "$T/zboot.parse" "0:4096,$(( 4096 + zbsize / 3 / 4096 * 4096 )):$zbsize" / 1 \
	--cache="$T/zblob.cache" "$T/zboot.img"

note "fragments: a file's fragment needs the packed inode's bytes holding it"
# first_packed PARSE CHECK: "pa plen" of the packed inode's first extent,
# which must pass CHECK, a python expression on it (e)
first_packed() {
	"$PY" -c "
import json, sys
e = json.load(open(sys.argv[1]))['packed']['extents'][0]
assert $2, e
print(e['pa'], e['plen'])" "$1"
}
# fragments that do not compress: the packed inode is stored flat
mkdir "$T/rsrc"
for i in 1 2 3 4 5 6 7 8; do
	head -c 3000 /dev/urandom >"$T/rsrc/r$i"
done
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments "$T/f.img" "$T/rsrc"
"$PY" "$TOOLS/erofsparse.py" "$T/f.img" >"$T/f.parse"
fsize=$(stat -c %s "$T/f.img")
set -- $(first_packed "$T/f.parse" "e['kind'] == 'plain'")
set -- $(( $1 + 8192 )) 8192
cp "$T/f.img" "$T/f.cache"
fallocate -p -o "$1" -l "$2" "$T/f.cache"
run_check fragments-flat "cached" "$T/f.parse" "0:$1,$(( $1 + $2 )):$fsize" / 0 \
	--cache="$T/f.cache" "$T/f.img"

# many: the packed inode is compressed; punch its first pcluster
mkdir "$T/fsrc"
cp -a "$T/src/sub" "$T/fsrc/"
"$PY" - "$T/fsrc" <<'PYEOF'
import os, random, sys
r = random.Random(11)
words = [b'fragment', b'packed', b'inode', b'tail', b'cache', b'blob']
os.makedirs(sys.argv[1] + '/many')
for i in range(80):
    n = r.randrange(500, 12000)
    text = b' '.join(r.choice(words) for _ in range(n // 6))[:n]
    open(f'{sys.argv[1]}/many/t{i:02d}', 'wb').write(text)
PYEOF
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments "$T/fz.img" "$T/fsrc"
"$PY" "$TOOLS/erofsparse.py" "$T/fz.img" >"$T/fz.parse"
fzsize=$(stat -c %s "$T/fz.img")
set -- $(first_packed "$T/fz.parse" "e['kind'] == 'lz4'")
cp "$T/fz.img" "$T/fz.cache"
fallocate -p -o "$1" -l "$2" "$T/fz.cache"
run_check fragments "missing cached" "$T/fz.parse" "0:$1,$(( $1 + $2 )):$fzsize" / 0 \
	--cache="$T/fz.cache" "$T/fz.img"
# whole-file fragments, by where the parse puts them: in the punched
# pcluster missing, in the others cached
"$PY" - "$T/fragments.json" "$T/fz.parse" <<'PYEOF' || fail "fragments: states against the packed inode's layout"
import json, sys
inodes = {x['path']: x for x in json.load(open(sys.argv[1]))['cache']['inodes']}
parse = json.load(open(sys.argv[2]))
first = parse['packed']['extents'][0]
whole = [(f['path'], f['extents'][0]) for f in parse['files']
         if f['first'] and f['extents'] and f['extents'][0]['kind'] == 'fragment']
inside = [p for p, e in whole if e['pa'] + e['llen'] <= first['llen']]
outside = [p for p, e in whole if e['pa'] >= first['llen']]
assert inside and outside, (len(inside), len(outside))
for p in inside:
    assert inodes[p]['state'] == 'missing', (p, inodes[p])
for p in outside:
    assert inodes[p]['state'] == 'cached', (p, inodes[p])
pk = inodes['(packed inode)']
assert pk['state'] == 'partial' and pk['missing_bytes'] == first['plen'], pk
print(len(inside), 'fragments missing,', len(outside), 'cached')
PYEOF
truncate -s "$fzsize" "$T/fe.cache"
run_check fragments-empty "missing local" "$T/fz.parse" "" / 0 --cache="$T/fe.cache" "$T/fz.img"
run_check fragments-sub "" "$T/fz.parse" "0:$1,$(( $1 + $2 )):$fzsize" /many 0 \
	--cache="$T/fz.cache" --path=/many "$T/fz.img"
"$DUMP" --cache="$T/fz.cache" "$T/fz.img" >"$T/fz.txt"
grep -q "^  (packed inode): partial, $2 of [0-9]* bytes to fetch; dev0:$1\.\.$(( $1 + $2 ))$" "$T/fz.txt" ||
	fail "text line for the packed inode: $(grep packed "$T/fz.txt")"

note "fragments, bootstrap + blob: the packed inode's pclusters are in the blob"
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments --chunksize=16384 \
	--blobdev="$T/fblob" "$T/fboot.img" "$T/fsrc"
"$PY" "$TOOLS/erofsparse.py" "$T/fboot.img" "$T/fblob" >"$T/fboot.parse"
fbsize=$(stat -c %s "$T/fblob")
set -- $(first_packed "$T/fboot.parse" "e['dev'] == 1")
cp "$T/fblob" "$T/fblob.cache"
fallocate -p -o "$1" -l "$2" "$T/fblob.cache"
run_check fragments-blob "missing cached" "$T/fboot.parse" "0:$1,$(( $1 + $2 )):$fbsize" / 1 \
	--cache="$T/fblob.cache" "$T/fboot.img"

note "bad cache paths"
mkdir "$T/nocache"
"$DUMP" --cache="$T/nocache" "$T/one.img" >/dev/null 2>"$T/err" || fail "an empty cache directory fails"
grep -q "no cache files" "$T/err" || fail "no warning for an empty cache directory"
set +e
"$DUMP" --cache="$T/no-such" "$T/one.img" >/dev/null 2>"$T/err"; rc=$?
set -e
[ $rc = 8 ] && grep -q "cannot find cache" "$T/err" || fail "missing cache: exit $rc: $(cat "$T/err")"
echo "cache figures verified"
