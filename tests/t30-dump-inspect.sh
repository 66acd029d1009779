#!/bin/bash
# dump.erofs -s, --nid/--path, -e, --ls and --json on images of a known
# tree: the superblock says what mkfs was told (block size, label, uuid,
# build time, inode count, algorithms, pcluster limit, devices) and agrees
# with Debian's dump.erofs 1.5 where both print a field; the oldest Linux
# follows the features used; inodes match the source files (type, mode,
# owners, size, links, mtime, xattrs, symlink targets, device numbers);
# --ls matches the source directory and Debian's nids; -e matches an
# independent parse of the image (tests/tools/erofsparse.py), fragments
# and the packed inode included; the fragments -e places in the packed
# inode, read by the kernel, fill it end to end.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to build the full tree (owners, device nodes)"
: "${DUMP:=$TOP/dump/dump.erofs}"	# lib.sh may point it at another build
[ -x "$DUMP" ] || fail "dump.erofs not built: $DUMP"

gentree full "$T/src"
UUID=0123abcd-4567-89ef-0123-456789abcdef
"$MKFS" --quiet -x 1 -L dumplabel -U $UUID -T 1234567890 --mkfs-time \
	"$T/full.img" "$T/src"

note "-s against what mkfs was told"
"$DUMP" -s --json --page-size=4096 "$T/full.img" >"$T/s.json"
"$PY" - "$T/s.json" "$T/full.img" "$T/src" $UUID <<'PYEOF' || fail "-s fields"
import json, os, sys
j = json.load(open(sys.argv[1]))
sb = j['superblock']
size = os.path.getsize(sys.argv[2])
inodes = set()
for d, dirs, files in os.walk(sys.argv[3]):
    for n in dirs + files + ['.']:
        inodes.add(os.lstat(os.path.join(d, n)).st_ino)
exp = dict(magic=0xE0F5E1E2, blocksize=4096, blocks=size // 4096,
           label='dumplabel', uuid=sys.argv[4], build_time=1234567890,
           inodes=len(inodes))
for k, v in exp.items():
    assert sb[k] == v, (k, sb[k], v)
assert 'sb_csum' in sb['compat_features'] and 'mtime' in sb['compat_features'], sb
assert sb['incompat_features'] == [] and sb['compression'] == [], sb
assert sb['devices'] == [] and sb['unknown_incompat'] == 0, sb
assert sb['min_kernel']['version'] == '5.4', sb['min_kernel']
assert j['exit_status'] == 0, j
PYEOF

if [ -x "$DEB_DUMP" ]; then
	note "-s against Debian's dump.erofs 1.5"
	"$DEB_DUMP" -s "$T/full.img" >"$T/deb-s.txt" 2>&1 || fail "Debian dump -s: $(cat "$T/deb-s.txt")"
	"$DUMP" -s "$T/full.img" >"$T/our-s.txt" || fail "dump -s failed"
	for field in "magic number" "blocks" "inode metadata start block" \
		"shared xattr metadata start block" "root nid" "inode count" \
		"created" "UUID"; do
		deb=$(grep -m1 "^Filesystem $field:" "$T/deb-s.txt" | cut -d: -f2- | xargs)
		our=$(grep -m1 "^Filesystem $field:" "$T/our-s.txt" | cut -d: -f2- | xargs)
		[ -n "$deb" ] && [ "$deb" = "$our" ] || fail "$field: Debian '$deb', ours '$our'"
	done
	for f in $(grep "^Filesystem features:" "$T/deb-s.txt" | cut -d: -f2-); do
		grep -qw -- "$f" <<<"$(grep "^Filesystem features:" "$T/our-s.txt")" ||
			fail "feature $f named by Debian is missing"
	done
fi

note "-s of compressed, chunked, blob and small-block images: configs and oldest Linux"
mkdir -p "$T/small"
gentree small "$T/small"
sb_check() {	# EXPECTED-PYTHON MKFS-ARGS...
	local expr=$1; shift
	rm -f "$T/v.img" "$T/v.blob"
	"$MKFS" --quiet "$@" "$T/v.img" "$T/small"
	"$DUMP" -s --json --page-size=4096 "$T/v.img" >"$T/v.json" || fail "dump -s $*"
	"$PY" -c "
import json, sys
sb = json.load(open('$T/v.json'))['superblock']
algs = {c['name']: c for c in sb['compression']}
feats = sb['incompat_features']
kv = sb['min_kernel']['version']
assert $expr, (sb['min_kernel'], feats, algs)
" || fail "-s for $*: $expr"
}
sb_check "kv == '5.13' and algs['lz4']['max_pclusterblks'] == 16 and 'big_pcluster' in feats and '0padding' in feats" -z lz4hc -C 65536
sb_check "kv == '5.13' and algs['lz4']['max_pclusterblks'] == 1" -z lz4
sb_check "kv == '5.16' and 'lzma' in algs and algs['lzma']['dict_size'] > 0" -z lzma -C 131072
sb_check "kv == '6.6' and algs['deflate']['windowbits'] == 15" -z deflate
sb_check "kv == '6.6' and set(algs) == {'lz4', 'deflate'}" -z lz4:deflate
sb_check "kv == '5.15' and feats == ['chunked_file']" --chunksize=8192
sb_check "kv == '5.16' and 'device_table' in feats and sb['devices'][0]['blocks'] > 0" --chunksize=8192 --blobdev="$T/v.blob"
sb_check "kv == '6.4' and sb['blocksize'] == 1024" -b 1024
sb_check "kv == '6.8'" -b 1024 -z lz4
sb_check "kv is None and sb['blocksize'] == 8192" -b 8192
grep -q "^Oldest Linux that mounts it: *none (8192-byte blocks on 4096-byte pages)" <<<"$("$DUMP" -s --page-size=4096 "$T/v.img")" ||
	fail "text -s does not say why no kernel mounts 8192-byte blocks"

note "blob image: the device table names the blob, --device attaches it"
"$MKFS" --quiet --chunksize=16384 --blobdev="$T/b.blob" "$T/b.img" "$T/small"
digest=$(sha256sum "$T/b.blob" | cut -c1-64)
"$DUMP" -s --device="$T/b.blob" "$T/b.img" >"$T/b.txt"
grep -q "device 1: tag \"$digest\", $(( $(stat -c %s "$T/b.blob") / 4096 )) blocks, mapped at block $(( $(stat -c %s "$T/b.img") / 4096 )), attached: $T/b.blob" "$T/b.txt" ||
	fail "device table line: $(grep 'device 1' "$T/b.txt")"

note "--path/--nid: every field against the source tree, nids against Debian"
"$PY" "$TOOLS/erofsparse.py" "$T/full.img" >"$T/parse.json"
"$PY" - "$DUMP" "$T/full.img" "$T/src" "$T/parse.json" "$DEB_DUMP" <<'PYEOF' || fail "inode fields"
import json, os, re, stat, subprocess, sys
dump, img, src, parse, deb = sys.argv[1:6]
def run(*args):
    p = subprocess.run([dump, '--json', *args, img], capture_output=True)
    assert p.returncode == 0, (args, p.returncode, p.stderr)
    return json.loads(p.stdout)
paths = ['/sizes/f0', '/sizes/f4097', '/sizes/f3145728', '/sizes/zeros-sparse',
         '/types/sym-long', '/types/chr-bigminor', '/types/blk', '/types/fifo',
         '/types/socket', '/links/a/one', '/links/top', '/xattrs/namespaces',
         '/xattrs/many', '/xattrs/acl-dir', '/xattrs/acl-file',
         '/xattrs/big-value', '/xattrs/sym-with-xattr', '/xattrs/shared-07',
         '/owners/u4000000000-g3', '/owners/u65536-g5', '/modes/m4755',
         '/modes/sticky-dir', '/times/old', '/times/ns', '/times/y2106',
         '/names', '/big', '/']
pnids = {f['path']: f['nid'] for f in json.load(open(parse))['files']}
checked = 0
for p in paths:
    ino = run('--path=' + p)['inode']
    s = os.lstat(src + p)
    assert ino['mode'] == s.st_mode, (p, ino['mode'], s.st_mode)
    assert (ino['uid'], ino['gid']) == (s.st_uid, s.st_gid), p
    assert ino['nlink'] == s.st_nlink, (p, ino['nlink'], s.st_nlink)
    if not stat.S_ISDIR(s.st_mode):
        assert ino['size'] == s.st_size, (p, ino['size'], s.st_size)
    assert ino['mtime'] * 10**9 + ino['mtime_nsec'] == s.st_mtime_ns, p
    assert ino['nid'] == pnids[p], (p, ino['nid'], pnids[p])
    if stat.S_ISLNK(s.st_mode):
        assert ino['target'] == os.readlink(src + p), p
    if stat.S_ISCHR(s.st_mode) or stat.S_ISBLK(s.st_mode):
        assert (ino['major'], ino['minor']) == \
            (os.major(s.st_rdev), os.minor(s.st_rdev)), p
    want = {n: os.getxattr(src + p, n, follow_symlinks=False)
            for n in os.listxattr(src + p, follow_symlinks=False)}
    got = {x['name']: x['value'].encode('latin-1') for x in ino['xattrs']}
    for x in ino['xattrs']:
        raw = x['value']
        assert x['value_size'] == len(got[x['name']]), p
    assert got == want, (p, sorted(got), sorted(want))
    # the same inode by nid
    again = run('--nid=%d' % ino['nid'])['inode']
    assert again['path'] is None and again['size'] == ino['size'], p
    if os.path.exists(deb):
        out = subprocess.run([deb, '--path=' + p, img], capture_output=True,
                             text=True, errors='replace').stdout
        m = re.search(r'NID: *(\d+)', out)
        assert m and int(m.group(1)) == ino['nid'], (p, out[:200])
    checked += 1
print(checked, 'inodes checked')
PYEOF

note "--ls against the source directories and Debian's listing"
"$PY" - "$DUMP" "$T/full.img" "$T/src" "$DEB_DUMP" <<'PYEOF' || fail "--ls"
import json, os, re, subprocess, sys
dump, img, src, deb = sys.argv[1:5]
types = {'file': 0o100000, 'dir': 0o040000, 'symlink': 0o120000,
         'chrdev': 0o020000, 'blkdev': 0o060000, 'fifo': 0o010000,
         'socket': 0o140000}
for d in ['/', '/names', '/types', '/big', '/links/b']:
    j = json.loads(subprocess.run([dump, '--json', '--path=' + d, '--ls', img],
                                  capture_output=True, check=True).stdout)
    ents = j['inode']['entries']
    names = [e['name'].encode('latin-1') for e in ents]
    want = sorted([b'.', b'..'] + os.listdir(os.fsencode(src + d)))
    assert names == want, (d, names[:5], want[:5])
    for e in ents:
        n = e['name'].encode('latin-1')
        st = os.lstat(os.fsencode(src + d) + b'/' + n)
        assert types[e['type']] == st.st_mode & 0o170000, (d, n, e)
    if os.path.exists(deb) and d in ('/', '/types', '/links/b'):
        out = subprocess.run([deb, '--path=' + d, '--ls', img],
                             capture_output=True, text=True).stdout
        debn = {m.group(2): int(m.group(1)) for m in
                re.finditer(r'^\s*(\d+)\s+\d+\s+(\S+)$', out, re.M)}
        for e in ents:
            if e['name'] in debn:
                assert debn[e['name']] == e['nid'], (d, e)
        assert len(debn) >= len(ents) - 1, (d, len(debn))
print('listings match')
PYEOF

note "-e: extents of plain, inline, chunked, compressed and blob files vs an independent parse"
gentree compress "$T/csrc" >/dev/null 2>&1 || true
[ -d "$T/csrc" ] || fail "compress tree"
rm -f "$T/csrc/big"	# the 65 MiB file adds time, not coverage
"$MKFS" --quiet -z lz4hc -C 65536 "$T/z.img" "$T/csrc"
"$MKFS" --quiet -z lzma -C 16384 -E legacy-compress "$T/zl.img" "$T/csrc"
"$MKFS" --quiet -b 1024 -z deflate -C 8192 "$T/zd.img" "$T/csrc"
"$MKFS" --quiet --chunksize=8192 -E force-chunk-indexes "$T/ch.img" "$T/src"
"$MKFS" --quiet --chunksize=16384 --blobdev="$T/cb.blob" "$T/cb.img" "$T/csrc"
# compressed pclusters of a bootstrap live in its blob too
"$MKFS" --quiet -z lz4hc -C 65536 --chunksize=16384 --blobdev="$T/zb.blob" "$T/zb.img" "$T/csrc"
# fragments: compacted and full indexes, the packed inode in a blob
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments "$T/zf.img" "$T/csrc"
"$MKFS" --quiet -z lzma -C 16384 -E fragments,legacy-compress "$T/zfl.img" "$T/csrc"
"$MKFS" --quiet -z lz4hc -C 16384 -E fragments --chunksize=16384 \
	--blobdev="$T/zfb.blob" "$T/zfb.img" "$T/csrc"
for img in full z zl zd ch cb zb zf zfl zfb; do
	blob=""
	[ -e "$T/$img.blob" ] && blob="$T/$img.blob"
	"$PY" "$TOOLS/erofsparse.py" "$T/$img.img" $blob >"$T/$img.parse"
	"$PY" - "$DUMP" "$T/$img.img" "$T/$img.parse" <<'PYEOF' || fail "-e on $img"
import json, subprocess, sys
dump, img, parse = sys.argv[1:4]
files = [f for f in json.load(open(parse))['files'] if f['first']]
# a sample of the files with data, the largest (most extents) first
files = sorted((f for f in files if f['extents']),
               key=lambda f: -len(f['extents']))
files = files[:20] + files[20::max(1, (len(files) - 20) // 40)]
# every file with a partial fragment, and some wholly in one
frag = [f for f in json.load(open(parse))['files'] if f['first'] and
        any(e['kind'] == 'fragment' for e in f['extents'])]
files += [f for f in frag if f['extents'][-1]['la']] + \
    [f for f in frag if not f['extents'][-1]['la']][:30]
packed_nid = json.load(open(parse))['sb']['packed_nid']
n = 0
for f in files:
    p = subprocess.run([dump, '--json', '--nid=%d' % f['nid'], '-e', img],
                       capture_output=True)
    assert p.returncode == 0, (f['path'], p.stderr)
    got = json.loads(p.stdout)['inode']['extents']
    want = f['extents']
    assert len(got) == len(want), (f['path'], len(got), len(want))
    for g, w in zip(got, want):
        assert (g['logical'], g['length']) == (w['la'], w['llen']), (f['path'], g, w)
        kind = {'stored': 'plain'}.get(w['kind'], w['kind'])
        assert g['kind'] == kind, (f['path'], g, w)
        if kind == 'hole':
            continue
        if kind == 'fragment':
            # an offset in the packed inode's content, on no device
            assert 'device' not in g and g['packed_nid'] == packed_nid, g
            assert (g['packed_offset'], g['whole_file']) == \
                (w['pa'], w['la'] == 0), (f['path'], g, w)
            n += 1
            continue
        assert (g['device'], g['physical'], g['physical_length']) == \
            (w['dev'], w['pa'], w['plen']), (f['path'], g, w)
        if 'blocks' in w:
            assert g['pcluster_blocks'] == w['blocks'], (f['path'], g, w)
        n += 1
print(len(files), 'files,', n, 'extents match')
PYEOF
done

note "fragments: the packed inode in -s, by --nid, and what the kernel reads"
for img in zf zfl zfb; do
	packed=$("$PY" -c "import json; print(json.load(open('$T/$img.parse'))['sb']['packed_nid'])")
	[ "$packed" != None ] || fail "$img: no packed inode in the superblock"
	grep -q "^Filesystem packed nid: *$packed$" <<<"$("$DUMP" -s "$T/$img.img")" ||
		fail "$img: text -s does not give the packed nid $packed"
	"$DUMP" -s --json "$T/$img.img" | "$PY" -c "
import json, sys
assert json.load(sys.stdin)['superblock']['packed_nid'] == $packed" ||
		fail "$img: -s --json packed_nid"
	"$DUMP" --nid="$packed" -e --json "$T/$img.img" >"$T/packed.json" ||
		fail "$img: --nid=$packed -e"
	"$PY" - "$T/packed.json" "$T/$img.parse" <<'PYEOF' || fail "$img: the packed inode's extents"
import json, sys
ino = json.load(open(sys.argv[1]))['inode']
want = json.load(open(sys.argv[2]))['packed']
assert ino['packed_inode'] and ino['path'] is None, ino
assert (ino['nid'], ino['size'], ino['mode']) == \
    (want['nid'], want['size'], want['mode']), (ino, want)
got = ino['extents']
assert len(got) == len(want['extents']), (len(got), len(want['extents']))
for g, w in zip(got, want['extents']):
    kind = {'stored': 'plain'}.get(w['kind'], w['kind'])
    assert (g['logical'], g['length'], g['kind'], g['device'], g['physical'],
            g['physical_length']) == \
        (w['la'], w['llen'], kind, w['dev'], w['pa'], w['plen']), (g, w)
print(len(got), 'extents of the packed inode match')
PYEOF
	grep -q "^Packed inode: *yes" <<<"$("$DUMP" --nid="$packed" "$T/$img.img")" ||
		fail "$img: the text does not say which inode is the packed one"
done
"$DUMP" -s --json "$T/z.img" | "$PY" -c "
import json, sys
assert json.load(sys.stdin)['superblock']['packed_nid'] is None" ||
	fail "a packed_nid without fragments"
if grep -q "packed nid" <<<"$("$DUMP" -s "$T/z.img")"; then
	fail "text -s names a packed nid without fragments"
fi
"$DUMP" --path=/text-4m --json "$T/zf.img" | "$PY" -c "
import json, sys
assert json.load(sys.stdin)['inode']['packed_inode'] is False" ||
	fail "a file in the tree is called the packed inode"
grep -Eq "^ +0: +0\.\.1 +-> packed +[0-9]+\.\.[0-9]+ +fragment \(whole file\)$" \
	<<<"$("$DUMP" --path=/one-byte -e "$T/zf.img")" ||
	fail "text -e of a whole-file fragment: $("$DUMP" --path=/one-byte -e "$T/zf.img" | tail -2)"

if can_mount; then
	# the kernel reads each file's fragment: placed at the offsets -e
	# gives, they must fill the packed inode end to end, files sharing
	# an offset (dedup) having the same bytes there
	kernel_mount "$T/zf.img" "$T/mnt"
	"$PY" - "$DUMP" "$T/zf.img" "$T/zf.parse" "$T/mnt" <<'PYEOF' || fail "fragments against what the kernel reads"
import json, subprocess, sys
dump, img, parse, mnt = sys.argv[1:5]
p = json.load(open(parse))
size = p['packed']['size']
content = bytearray(size)
claimed = {}		# packed offset -> (length, path)
nfiles = partial = 0
for f in p['files']:
    if not f['first'] or f['layout'] not in (1, 3) or not f['size']:
        continue
    j = json.loads(subprocess.run([dump, '--json', '--nid=%d' % f['nid'], '-e',
                                   img], capture_output=True, check=True).stdout)
    ext = j['inode']['extents']
    frag = [e for e in ext if e['kind'] == 'fragment']
    if not frag:
        continue
    e = frag[0]
    assert len(frag) == 1 and e == ext[-1], (f['path'], ext)
    assert e['logical'] + e['length'] == f['size'], (f['path'], e)
    data = open(mnt + f['path'], 'rb').read()[e['logical']:]
    assert len(data) == e['length'], (f['path'], len(data), e)
    off = e['packed_offset']
    assert off + len(data) <= size, (f['path'], e, size)
    if off in claimed:
        assert claimed[off][0] == len(data), (f['path'], claimed[off])
        assert bytes(content[off:off + len(data)]) == data, \
            (f['path'], 'differs from', claimed[off][1])
    else:
        claimed[off] = (len(data), f['path'])
        content[off:off + len(data)] = data
    nfiles += 1
    partial += e['logical'] > 0
end = 0
for off in sorted(claimed):
    assert off == end, ('fragments leave a gap or overlap at', off, end)
    end += claimed[off][0]
assert end == size, (end, size)
assert partial > 1, 'too few partial fragments to test'
print(nfiles, 'files,', partial, 'partial,', len(claimed),
      'fragments fill the packed inode\'s', size, 'bytes')
PYEOF
	kernel_umount "$T/mnt"
fi

grep -q "lz4 *$" <<<"$("$DUMP" --path=/text-4m -e "$T/z.img")" || fail "text -e does not name the algorithm"
"$DUMP" --path=/text-4m -e "$T/zb.img" >/dev/null || fail "-e on a bootstrap without its blob"
grep -q "dev 1 .*lz4 *$" <<<"$("$DUMP" --path=/text-4m -e "$T/zb.img")" || fail "compressed extents in the blob not shown on device 1"

note "usage and lookup errors"
set +e
"$DUMP" -e "$T/full.img" >/dev/null 2>&1; rc1=$?
"$DUMP" --nid=36 --path=/ "$T/full.img" >/dev/null 2>&1; rc2=$?
"$DUMP" --path=/no/such/file "$T/full.img" >/dev/null 2>"$T/err"; rc3=$?
"$DUMP" --path=/sizes/f1 --ls "$T/full.img" >/dev/null 2>"$T/err2"; rc4=$?
"$DUMP" --frobnicate "$T/full.img" >/dev/null 2>&1; rc5=$?
set -e
[ $rc1 = 16 ] && [ $rc2 = 16 ] && [ $rc5 = 16 ] || fail "usage errors exit $rc1 $rc2 $rc5, not 16"
[ $rc3 = 8 ] && grep -q "/no/such/file: no such file" "$T/err" || fail "missing path: exit $rc3, $(cat "$T/err")"
[ $rc4 = 8 ] && grep -q "not a directory" "$T/err2" || fail "--ls on a file: exit $rc4, $(cat "$T/err2")"
echo "superblock, inodes, listings and extents verified"
