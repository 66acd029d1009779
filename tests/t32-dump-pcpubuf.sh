#!/bin/bash
# dump.erofs --pcpubuf: for images built with every -C size and algorithm,
# the largest pcluster, the per-CPU and total buffer sizes, the
# superblock's LZ4 limit, the pcluster counts and the pclusters that
# cannot be decompressed in place must equal what an independent python
# parse of the compressed indexes gives (tests/tools/erofsparse.py), with
# the kernel's in-place rule recomputed here; for several CPU counts and
# page sizes; with fragments, the packed inode's pclusters count too.
. "$(dirname "$0")/lib.sh"
: "${DUMP:=$TOP/dump/dump.erofs}"	# lib.sh may point it at another build
[ -x "$DUMP" ] || fail "dump.erofs not built: $DUMP"

# files whose pclusters compress well, badly and not at all, at every
# offset in a page, so that both sides of the in-place margin occur
TOOLS=$TOOLS "$PY" - "$T/src" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ['TOOLS'])
from treegen import Tree
root = sys.argv[1]
t = Tree(root, 42, [b'erofs', b'pcluster', b'kernel', b'page', b'the',
                    b'of', b'in'])
r, text = t.rng, t.text
os.makedirs(root + '/d')
def mixed(n, rnd):
    out = bytearray()
    while len(out) < n:
        k = r.randrange(200, 3000)
        out += r.randbytes(k) if r.random() < rnd else text(k)
    return bytes(out[:n])
open(root + '/text', 'wb').write(text(1500000))
open(root + '/random', 'wb').write(r.randbytes(200000))
for i, rnd in enumerate([0.2, 0.5, 0.7, 0.85, 0.95]):
    open(root + f'/mixed{i}', 'wb').write(mixed(400000, rnd))
for i in range(60):
    n = r.choice([1, 700, 4095, 4096, 4097, 12000, 33333, 70000])
    open(root + f'/d/f{i:02d}', 'wb').write(mixed(n, r.random()))
PYEOF

# the kernel's num_possible_cpus(): the ranges of this file
NCPU=$("$PY" -c "
print(sum(int(r.split('-')[-1]) - int(r.split('-')[0]) + 1
          for r in open('/sys/devices/system/cpu/possible').read().strip().split(',')))")
PAGE=$(getconf PAGESIZE)
# check.py PCPUBUF-JSON PARSE C NCPU PAGE [--cpus=N] [--page-size=N]: the
# figures against the parse, C being the largest pcluster mkfs was allowed
cat >"$T/check.py" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1]))['pcpubuf']
parse = json.load(open(sys.argv[2]))
C, ncpu, page = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for a in sys.argv[6:]:
    k, v = a.split('=')
    if k == '--cpus':
        ncpu = int(v)
    else:
        page = int(v)
sb = parse['sb']
bs, padded = sb['blocksize'], bool(sb['feature_incompat'] & 1)
# the packed inode (fragments) is in no directory, but decompressed too
packed = parse['packed']['extents'] if parse['packed'] else []
pcl = [e for f in parse['files'] if f['first'] for e in f['extents']
       if e['kind'] in ('lz4', 'lzma', 'deflate')] + \
    [e for e in packed if e['kind'] in ('lz4', 'lzma', 'deflate')]
assert pcl, 'no compressed pclusters'

def inplace(e):
    # the kernel's LZ4 rule (fs/erofs/decompressor.c, 6.12)
    oend = e['la'] % page + e['llen']
    outpages = -(-oend // page)
    inpages = -(-(e['pa'] % page + e['plen']) // page)
    margin = outpages * page - oend
    return padded and outpages >= inpages and \
        margin >= (e['insize'] >> 8) + 32

maxb = max(e['blocks'] for e in pcl)
assert maxb <= C // bs, (maxb, C)
pages = -(-maxb * bs // page)
bad = [e for e in pcl if e['kind'] == 'lz4' and not inplace(e)]
exp = dict(page_size=page, max_pcluster_blocks=maxb,
           max_pcluster_bytes=maxb * bs, pages_per_cpu=pages,
           bytes_per_cpu=pages * page, cpus=ncpu,
           total_bytes=pages * page * ncpu, pclusters=len(pcl),
           not_inplace=len(bad),
           sb_lz4_max_pclusterblks=C // bs if pcl[0]['kind'] == 'lz4' else 1)
for k, v in exp.items():
    assert p[k] == v, (k, p[k], v)
assert abs(p['not_inplace_percent'] - 100 * len(bad) / len(pcl)) < 1e-3
for alg in {e['kind'] for e in pcl}:
    mine = [e for e in pcl if e['kind'] == alg]
    a = p['algorithms'][alg]
    assert a['pclusters'] == len(mine), alg
    assert a['max_pcluster_blocks'] == max(e['blocks'] for e in mine), alg
    assert a['not_inplace'] == len([e for e in bad if e['kind'] == alg]), alg
print(len(bad), len(pcl))
PYEOF
some_not_inplace=0
for alg in lz4 lz4hc lzma deflate; do
	for C in 4096 16384 65536 131072; do
		img="$T/$alg-$C.img"
		"$MKFS" --quiet -z "$alg" -C "$C" "$img" "$T/src"
		"$PY" "$TOOLS/erofsparse.py" "$img" >"$T/parse.json"
		for args in "" "--cpus=3" "--cpus=64 --page-size=16384"; do
			# shellcheck disable=SC2086
			"$DUMP" --pcpubuf --json $args "$img" >"$T/p.json" ||
				fail "$alg -C $C $args: dump failed"
			n=$("$PY" "$T/check.py" "$T/p.json" "$T/parse.json" "$C" \
				"$NCPU" "$PAGE" $args) || fail "$alg -C $C $args: figures differ"
			echo "$alg -C $C $args: not in place / pclusters: $n"
			set -- $n
			if [ "$1" -gt 0 ] && [ "$1" -lt "$2" ]; then
				some_not_inplace=1
			fi
		done
		# the text report says the same
		"$DUMP" --pcpubuf --cpus=5 "$img" >"$T/p.txt"
		"$DUMP" --pcpubuf --cpus=5 --json "$img" >"$T/p.json"
		"$PY" - "$T/p.json" "$T/p.txt" <<'PYEOF' || fail "$alg -C $C: text and JSON differ"
import json, re, sys
p = json.load(open(sys.argv[1]))['pcpubuf']
t = open(sys.argv[2]).read()
m = re.search(r'largest pcluster:\s+(\d+) blocks \((\d+) bytes\)', t)
assert (int(m.group(1)), int(m.group(2))) == (p['max_pcluster_blocks'], p['max_pcluster_bytes'])
assert int(re.search(r'total:\s+(\d+) bytes', t).group(1)) == p['total_bytes']
assert int(re.search(r'CPUs:\s+(\d+)', t).group(1)) == 5
m = re.search(r'not decompressible in place:\s+(\d+) \(([\d.]+)% of all pclusters\)', t)
assert int(m.group(1)) == p['not_inplace']
assert abs(float(m.group(2)) - p['not_inplace_percent']) < 0.01
PYEOF
		rm -f "$img"
	done
done
[ $some_not_inplace = 1 ] || fail "no image had some but not all pclusters needing the per-CPU buffer: the rule went untested"

note "fragments: the packed inode's pclusters, larger than any file's"
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments=65536 "$T/frag.img" "$T/src"
"$PY" "$TOOLS/erofsparse.py" "$T/frag.img" >"$T/parse.json"
"$PY" -c "
import json
p = json.load(open('$T/parse.json'))
packed = max(e['blocks'] for e in p['packed']['extents'] if 'blocks' in e)
files = max(e.get('blocks', 0) for f in p['files'] for e in f['extents'])
assert packed == 16 and files <= 4, (packed, files)
" || fail "the packed inode's pclusters are not the largest: the test would not tell"
for args in "" "--cpus=7 --page-size=16384"; do
	# shellcheck disable=SC2086
	"$DUMP" --pcpubuf --json $args "$T/frag.img" >"$T/p.json" || fail "fragments $args: dump failed"
	n=$("$PY" "$T/check.py" "$T/p.json" "$T/parse.json" 65536 "$NCPU" "$PAGE" $args) ||
		fail "fragments $args: figures differ"
	echo "fragments $args: not in place / pclusters: $n"
done

note "a bootstrap whose compressed data is in its blob"
"$MKFS" --quiet -z lz4 -C 65536 --chunksize=16384 --blobdev="$T/b.blob" "$T/b.img" "$T/src"
"$PY" "$TOOLS/erofsparse.py" "$T/b.img" "$T/b.blob" >"$T/parse.json"
"$DUMP" --pcpubuf --json --device="$T/b.blob" "$T/b.img" >"$T/p.json" || fail "bootstrap + blob"
n=$("$PY" - "$T/p.json" "$T/parse.json" <<'PYEOF'
import json, os, sys
p = json.load(open(sys.argv[1]))['pcpubuf']
parse = json.load(open(sys.argv[2]))
page = os.sysconf('SC_PAGE_SIZE')
pcl = [e for f in parse['files'] if f['first'] for e in f['extents'] if e['kind'] == 'lz4']
assert pcl and all(e['dev'] == 1 for e in pcl), 'pclusters not in the blob'
def inplace(e):
    oend = e['la'] % page + e['llen']
    outpages = -(-oend // page)
    inpages = -(-(e['pa'] % page + e['plen']) // page)
    return outpages >= inpages and outpages * page - oend >= (e['insize'] >> 8) + 32
assert p['pclusters'] == len(pcl) and p['inplace_unknown'] == 0, p
assert p['max_pcluster_blocks'] == max(e['blocks'] for e in pcl), p
assert p['not_inplace'] == len([e for e in pcl if not inplace(e)]), p
print(p['not_inplace'], len(pcl))
PYEOF
) || fail "bootstrap + blob figures"
echo "bootstrap + blob: not in place / pclusters: $n"
"$DUMP" --pcpubuf --json "$T/b.img" >"$T/p.json" || fail "bootstrap without its blob"
"$PY" -c "
import json
p = json.load(open('$T/p.json'))['pcpubuf']
assert p['inplace_unknown'] == p['pclusters'] > 0 and p['not_inplace'] == 0, p
" || fail "without the blob, LZ4 pclusters must be counted as not judged"

note "an image without compressed files"
"$MKFS" --quiet "$T/plain.img" "$T/src"
"$DUMP" --pcpubuf --json "$T/plain.img" >"$T/p.json"
"$PY" -c "
import json
p = json.load(open('$T/p.json'))['pcpubuf']
assert p['pclusters'] == 0 and p['max_pcluster_blocks'] == 0 and p['total_bytes'] == 0, p
" || fail "plain image"
echo "per-CPU buffer figures verified"
