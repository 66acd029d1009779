#!/bin/bash
# dump.erofs -S: file counts by type, hard links and the size histogram
# against the source tree (walked in python); how bytes are stored
# (inline, plain, compressed per algorithm, fragments, holes, shared by
# dedup, stored, the packed inode counted once on its own), the pcluster
# histogram and the file layouts against an independent parse of the
# image; counts against Debian's dump.erofs 1.5 -S; text and --json agree.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to build the full tree (owners, device nodes)"
: "${DUMP:=$TOP/dump/dump.erofs}"	# lib.sh may point it at another build
[ -x "$DUMP" ] || fail "dump.erofs not built: $DUMP"

gentree full "$T/src"
gentree compress "$T/csrc"
rm -f "$T/csrc/big"		# 65 MiB adds time, not coverage
cp -a "$T/src/sizes" "$T/csrc/sizes"	# holes, zero runs, sizes near blocks
cp "$T/csrc/text-4m" "$T/csrc/text-4m-again"	# stored once, counted shared
cp "$T/src/sizes/f65537" "$T/src/sizes/f65537-again"

check() {	# NAME SOURCE MKFS-ARGS...
	local name=$1 src=$2; shift 2
	local img="$T/$name.img"

	note "-S $name: $*"
	"$MKFS" --quiet "$@" "$img" "$src"
	"$DUMP" -S --json "$img" >"$T/$name.json" || fail "$name: dump -S failed"
	"$PY" "$TOOLS/erofsparse.py" "$img" >"$T/$name.parse"
	"$PY" - "$T/$name.json" "$T/$name.parse" "$src" <<'PYEOF' || fail "$name: -S figures"
import json, os, stat, sys
st = json.load(open(sys.argv[1]))['stats']
parse = json.load(open(sys.argv[2]))
files, packed = parse['files'], parse['packed']
src = sys.argv[3]

# from the source tree
names, inodes, types, sizes = 0, {}, {}, {}
for d, dirs, fs in os.walk(src):
    for n in ['.'] if d == src else []:
        pass
    for n in dirs + fs + (['.'] if d == src else []):
        s = os.lstat(os.path.join(d, n))
        names += 1
        inodes[s.st_ino] = s
for s in inodes.values():
    t = stat.S_IFMT(s.st_mode)
    types[t] = types.get(t, 0) + 1
exp = {'directories': stat.S_IFDIR, 'regular': stat.S_IFREG,
       'symlinks': stat.S_IFLNK, 'chrdevs': stat.S_IFCHR,
       'blkdevs': stat.S_IFBLK, 'fifos': stat.S_IFIFO, 'sockets': stat.S_IFSOCK}
assert st['names'] == names, (st['names'], names)
assert st['inodes'] == len(inodes), (st['inodes'], len(inodes))
assert st['hardlinks'] == names - len(inodes), st['hardlinks']
for k, t in exp.items():
    assert st['types'][k] == types.get(t, 0), (k, st['types'][k], types.get(t))
regs = [s.st_size for s in inodes.values() if stat.S_ISREG(s.st_mode)]
assert st['bytes']['total'] == sum(regs), (st['bytes'], sum(regs))
hist = st['size_histogram']
for b in hist:
    want = sum(1 for n in regs if n >= b['from'] and
               (b['to'] is None or n < b['to']))
    assert b['count'] == want, (b, want)
assert sum(b['count'] for b in hist) == len(regs)

# from the independent parse: each regular inode once
b = dict(inline=0, plain=0, compressed=0, fragments=0, holes=0, shared=0,
         stored=0)
algs, hist, stored_pcl, layouts = {}, {}, 0, [0, 0, 0]
frag_files = whole_frags = 0
counted = set()		# (device, physical start): data stored once

def store(e, n):
    key = (e['dev'], e['pa'])
    b['shared' if key in counted else 'stored'] += n
    counted.add(key)

def pcluster(e, seen):
    """the figures of a compressed pcluster; @seen: algorithms so far"""
    k = e['kind']
    a = algs.setdefault(k, dict(files=0, pclusters=0, logical=0,
                                physical=0, maxb=0))
    if k not in seen:
        a['files'] += 1
        seen.add(k)
    a['pclusters'] += 1
    a['logical'] += e['llen']
    a['physical'] += e['plen']
    a['maxb'] = max(a['maxb'], e['blocks'])
    bucket = (e['blocks'] - 1).bit_length()
    hist[bucket] = hist.get(bucket, 0) + 1

for f in files:
    if not f['first'] or not stat.S_ISREG(f['mode']):
        continue
    layouts[0 if f['layout'] in (0, 2) else 1 if f['layout'] == 4 else 2] += 1
    seen = set()
    for e in f['extents']:
        k = e['kind']
        if k == 'hole':
            b['holes'] += e['llen']
        elif k == 'fragment':
            # stored by the packed inode; one offset twice is dedup
            b['fragments'] += e['llen']
            frag_files += 1
            whole_frags += e['la'] == 0
            if ('packed', e['pa']) in counted:
                b['shared'] += e['llen']
            counted.add(('packed', e['pa']))
        elif k == 'inline':
            b[k] += e['llen']
            b['stored'] += e['llen']
        elif k == 'plain':
            b[k] += e['llen']
            store(e, e['llen'])
        elif k == 'stored':
            b['plain'] += e['llen']
            store(e, e['plen'])
            stored_pcl += 1
        else:
            b['compressed'] += e['llen']
            store(e, e['plen'])
            pcluster(e, seen)
# the packed inode, in no directory: its pclusters once, as stored data
packed_stored = packed_pcl = 0
seen = set()
for e in packed['extents'] if packed else []:
    assert e['kind'] not in ('hole', 'fragment', 'inline', 'plain'), e
    store(e, e['plen'])
    packed_stored += e['plen']
    if e['kind'] == 'stored':
        stored_pcl += 1
    else:
        pcluster(e, seen)
        packed_pcl += 1
if packed:
    p = st['packed_inode']
    assert (p['nid'], p['size'], p['pclusters'], p['stored_bytes']) == \
        (packed['nid'], packed['size'], packed_pcl, packed_stored), (p, packed)
    # the packed inode's own count of its blocks
    assert packed_stored == packed['compressed_blocks'] * parse['sb']['blocksize']
    assert b['fragments'] > 0 and frag_files > whole_frags > 0
else:
    assert st['packed_inode'] is None
assert (st['fragment_files'], st['whole_fragment_files']) == \
    (frag_files, whole_frags), (st['fragment_files'], frag_files)
for k, v in b.items():
    assert st['bytes'][k] == v, (k, st['bytes'][k], v)
# every tree holds a duplicate; mkfs shares it unless told otherwise
print('bytes shared by dedup:', b['shared'])
assert b['shared'] > 0
assert sum(v for k, v in b.items() if k not in ('stored', 'shared')) == st['bytes']['total']
assert [st['flat_files'], st['chunked_files'], st['compressed_files']] == layouts, layouts
assert st['stored_pclusters'] == stored_pcl, (st['stored_pclusters'], stored_pcl)
assert set(st['algorithms']) == set(algs), (st['algorithms'].keys(), algs.keys())
for k, a in algs.items():
    g = st['algorithms'][k]
    assert (g['files'], g['pclusters'], g['logical_bytes'], g['physical_bytes'],
            g['max_pcluster_blocks']) == \
        (a['files'], a['pclusters'], a['logical'], a['physical'], a['maxb']), (k, g, a)
    assert abs(g['ratio'] - a['logical'] / a['physical']) < 1e-4, (k, g['ratio'])
for i, h in enumerate(st['pcluster_histogram']):
    assert h['count'] == hist.get(i, 0), (i, h, hist)
    assert h['max_blocks'] == 1 << i
ratio = (b['plain'] + b['inline'] + b['compressed'] + b['fragments']) / \
    b['stored']
assert abs(st['compression_ratio'] - ratio) < 1e-4, (st['compression_ratio'], ratio)
assert st['errors'] == 0 and st['unsupported'] == 0
print(f"{st['names']} names, {len(algs)} algorithm(s), {sum(hist.values())} pclusters")
PYEOF
	# the text report carries the same figures
	"$DUMP" -S "$img" >"$T/$name.txt"
	"$PY" - "$T/$name.json" "$T/$name.txt" <<'PYEOF' || fail "$name: text and JSON differ"
import json, re, sys
st = json.load(open(sys.argv[1]))['stats']
txt = open(sys.argv[2]).read()
def num(label):
    m = re.search(r'^\s*' + re.escape(label) + r'\s+(\d+)\s*$', txt, re.M)
    assert m, label
    return int(m.group(1))
assert num('regular files') == st['types']['regular']
assert num('directories') == st['types']['directories']
assert num('hard links (extra names)') == st['hardlinks']
for k in ('total', 'inline', 'plain', 'compressed', 'fragments', 'holes',
          'stored'):
    assert num(k) == st['bytes'][k], k
p = st['packed_inode']
m = re.search(r'^Packed inode: nid (\d+), (\d+) bytes in (\d+) compressed pclusters, (\d+) bytes stored$', txt, re.M)
assert (m and (int(m.group(1)), int(m.group(2)), int(m.group(3)),
               int(m.group(4))) == (p['nid'], p['size'], p['pclusters'],
                                    p['stored_bytes'])) if p else not m, m
PYEOF
	if [ -x "$DEB_DUMP" ] && [ "$name" = full ]; then
		"$DEB_DUMP" -S "$img" >"$T/deb.txt" 2>&1 || fail "Debian dump -S"
		"$PY" - "$T/$name.json" "$T/deb.txt" <<'PYEOF' || fail "$name: against Debian -S"
import json, re, sys
st = json.load(open(sys.argv[1]))['stats']
txt = open(sys.argv[2]).read()
def deb(label):
    return int(re.search(r'Filesystem ' + label + r':\s+(\d+)', txt).group(1))
t = st['types']
# Debian counts names, so hard links count again as regular files
assert deb('total file count') == st['names']
assert deb('regular file count') == t['regular'] + st['hardlinks']
assert deb('directory count') == t['directories']
assert deb('symlink file count') == t['symlinks']
assert deb('char dev count') == t['chrdevs'] and deb('block dev count') == t['blkdevs']
assert deb('FIFO file count') == t['fifos'] and deb('SOCK file count') == t['sockets']
PYEOF
	fi
}

check full "$T/src"
check full-extended "$T/src" -E force-inode-extended,^inline_data -b 1024
check chunked "$T/src" --chunksize=4096
check lz4hc "$T/csrc" -z lz4hc -C 65536
check lzma "$T/csrc" -z lzma -C 131072 -E legacy-compress
check mixed "$T/csrc" -z lz4:deflate -C 16384 -b 2048 \
	--compress-hints=<(printf '16384 1 ^text\n')
check fragments "$T/csrc" -z lz4hc -C 16384 -E fragments
check fragments-full "$T/csrc" -z lzma -C 16384 -E fragments,legacy-compress
echo "statistics verified"
