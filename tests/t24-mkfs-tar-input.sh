#!/bin/bash
# The tar reader and the stream decoder on their own, without a reference
# mkfs: compressed streams in every shape (concatenated gzip members,
# several zstd frames, xz, a plain tar with --ungzip) give the image the
# plain tar gives; GNU sparse files in all four encodings (erofs-utils
# reads none) give back the sparse source files; truncated or corrupt
# streams and hostile headers (bad checksum, "..", a hardlink to nothing,
# an oversized PAX header, a name over 255 bytes) fail with a message
# naming the entry and leave no image; randomly mutated tars never crash
# mkfs, and what it accepts fsck.erofs finds clean.
. "$(dirname "$0")/lib.sh"
require_mount

"$PY" "$TOOLS/gentar.py" pax "$T/pax.tar"
"$PY" "$TOOLS/gentar.py" big "$T/big.tar"
OPTS=(--tar=f --aufs --quiet -T0 --mkfs-time -U clear)

"$MKFS" "${OPTS[@]}" "$T/ref.erofs" <"$T/pax.tar" || fail "plain tar"
kernel_mount "$T/ref.erofs" "$T/ref"

# same_as_plain NAME MKFS_ARGS...  (the input comes on stdin)
same_as_plain() {
	local name=$1
	shift
	"$MKFS" "${OPTS[@]}" "$@" "$T/$name.erofs" || fail "$name: mkfs failed"
	kernel_mount "$T/$name.erofs" "$T/$name"
	treecmp "$T/ref" "$T/$name" || fail "$name: differs from the plain tar's image"
	kernel_umount "$T/$name"
}

note "streams that decode to the same tar"
half=$(( $(stat -c %s "$T/pax.tar") / 2 ))
{ head -c "$half" "$T/pax.tar" | gzip -c; tail -c +$((half + 1)) "$T/pax.tar" | gzip -c; } >"$T/two.gz"
same_as_plain gzip-members --ungzip <"$T/two.gz"
{ head -c "$half" "$T/pax.tar" | zstd -q -c; tail -c +$((half + 1)) "$T/pax.tar" | zstd -q -c; } >"$T/two.zst"
same_as_plain zstd-frames --unzstd <"$T/two.zst"
{ head -c "$half" "$T/pax.tar" | xz -c; tail -c +$((half + 1)) "$T/pax.tar" | xz -c; } >"$T/two.xz"
same_as_plain xz-streams --unxz="$T/raw.xz" <"$T/two.xz"
cmp -s "$T/raw.xz" "$T/two.xz" || fail "--unxz=FILE is not the raw stream"
same_as_plain plain-with-ungzip --ungzip <"$T/pax.tar"
cat "$T/pax.tar" | same_as_plain pipe
"$MKFS" "${OPTS[@]}" "$T/file.erofs" "$T/pax.tar" </dev/null || fail "tar as SOURCE"
kernel_mount "$T/file.erofs" "$T/file"
treecmp "$T/ref" "$T/file" || fail "tar as SOURCE: differs from the plain tar's image"
# read in place or spooled from a pipe, on any number of threads: one image
cmp -s "$T/file.erofs" "$T/pipe.erofs" || fail "in place and spooled builds differ"
"$MKFS" "${OPTS[@]}" -zlz4hc --workers=1 "$T/w1.erofs" "$T/pax.tar" || fail "-zlz4hc"
cat "$T/pax.tar" | "$MKFS" "${OPTS[@]}" -zlz4hc --workers=3 "$T/w3.erofs" || fail "-zlz4hc"
cmp -s "$T/w1.erofs" "$T/w3.erofs" || fail "the image depends on the input path or the threads"

# must_fail NAME PATTERN MKFS_ARGS...  (input on stdin)
must_fail() {
	local name=$1 pat=$2 out rc
	shift 2
	set +e
	out=$("$MKFS" "${OPTS[@]}" "$@" "$T/bad.erofs" 2>&1)
	rc=$?
	set -e
	echo "$name: $out"
	[ $rc != 0 ] || fail "$name: accepted"
	[[ $out == *$pat* ]] || fail "$name: message lacks '$pat'"
	[ ! -e "$T/bad.erofs" ] || fail "$name: an image was left"
}

note "truncated and corrupt streams"
gzip -c "$T/big.tar" >"$T/big.gz"
xz -c "$T/big.tar" >"$T/big.xz"
zstd -q -c "$T/big.tar" >"$T/big.zst"
sz() { stat -c %s "$1"; }
head -c $(( $(sz "$T/big.gz") / 2 )) "$T/big.gz" | must_fail gz-cut "gzip stream truncated" --ungzip
head -c $(( $(sz "$T/big.xz") / 2 )) "$T/big.xz" | must_fail xz-cut "xz stream truncated" --unxz
head -c $(( $(sz "$T/big.zst") / 2 )) "$T/big.zst" | must_fail zstd-cut "zstd stream truncated" --unzstd
head -c $(( $(sz "$T/big.zst") - 3 )) "$T/big.zst" | must_fail zstd-end "zstd stream" --unzstd
"$PY" - "$T/big.xz" "$T/badcheck.xz" <<'PYEOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[len(d) // 2] ^= 0x55
open(sys.argv[2], 'wb').write(d)
PYEOF
must_fail xz-corrupt "xz stream corrupt" --unxz <"$T/badcheck.xz"
must_fail gz-no-option "--ungzip" <"$T/big.gz"
head -c 1000000 "$T/big.tar" | must_fail tar-cut "big/text" --ungzip
head -c 1536 "$T/pax.tar" | must_fail no-end "no end-of-archive"

note "GNU sparse files: old GNU headers, PAX 0.0, 0.1 and 1.0"
if tar --sparse --version >/dev/null 2>&1; then
	mkdir -p "$T/sp/d"
	truncate -s 10M "$T/sp/d/holes"
	printf head | dd of="$T/sp/d/holes" conv=notrunc status=none
	printf middle | dd of="$T/sp/d/holes" bs=1 seek=5000000 conv=notrunc status=none
	printf end | dd of="$T/sp/d/holes" bs=1 seek=$((10 * 1048576 - 3)) conv=notrunc status=none
	truncate -s 3M "$T/sp/d/allhole"
	"$PY" -c "
f = open('$T/sp/d/many', 'wb')
for i in range(30):
    f.seek(i * 100000); f.write(b'x%d' % i)
f.truncate(3100000)"
	touch -d @1700000000 "$T/sp/d"/* "$T/sp/d"
	for fmt in gnu posix-0.0 posix-0.1 posix-1.0; do
		case $fmt in
		gnu) args=(--format=gnu) ;;
		*) args=(--format=posix --sparse-version=${fmt#posix-}) ;;
		esac
		tar "${args[@]}" --sparse -cf "$T/sparse.tar" -C "$T/sp" d
		"$MKFS" "${OPTS[@]}" "$T/sparse-$fmt.erofs" <"$T/sparse.tar" ||
			fail "sparse $fmt: mkfs failed"
		kernel_mount "$T/sparse-$fmt.erofs" "$T/msp"
		treecmp "$T/sp/d" "$T/msp/d" || fail "sparse $fmt: files differ"
		kernel_umount "$T/msp"
	done
	must_fail sparse-index "need --tar=f" --tar=i <"$T/sparse.tar"
else
	echo "(GNU tar without --sparse: sparse files not tested)"
fi

note "hostile headers"
"$PY" - "$T" <<'PYEOF'
import io, os, sys, tarfile
T = sys.argv[1]

def write(name, ents, fmt=tarfile.PAX_FORMAT):
    with tarfile.open(os.path.join(T, name), 'w', format=fmt) as tf:
        for ti, data in ents:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)

def reg(name, data=b'', pax=None):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    if pax:
        ti.pax_headers = pax
    return ti, data

def link(name, target):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE
    ti.linkname = target
    return ti, None

write('dotdot.tar', [reg('a/../../etc/x', b'x')])
write('nolink.tar', [reg('a', b'a'), link('b', 'missing')])
write('bigpax.tar', [reg('p', b'p', pax={'comment': 'x' * (17 << 20)})])
write('longname.tar', [reg('d/' + 'n' * 256, b'n')])
# a good entry, then one whose header checksum is broken
write('badsum.tar', [reg('good', b'g'), reg('broken', b'b')], tarfile.USTAR_FORMAT)
d = bytearray(open(os.path.join(T, 'badsum.tar'), 'rb').read())
d[1024 + 10] ^= 1               # the second header's mode field
open(os.path.join(T, 'badsum.tar'), 'wb').write(d)
PYEOF
must_fail dotdot '".."' <"$T/dotdot.tar"
must_fail nolink "not met before" <"$T/nolink.tar"
must_fail bigpax "larger than 16 MiB" <"$T/bigpax.tar"
must_fail longname "longer than 255" <"$T/longname.tar"
must_fail badsum "after good" <"$T/badsum.tar"
note "mutated tars: a clean image or a clean refusal, never a crash"
"$PY" "$TOOLS/gentar.py" gnu "$T/gnu.tar"
"$PY" "$TOOLS/gentar.py" layer2 "$T/layer2.tar"
"$PY" - "$MKFS" "$FSCK" "$T" <<'PYEOF' || fail "a mutated tar crashed mkfs or gave a bad image"
import random, subprocess, sys
mkfs, fsck, T = sys.argv[1:4]
rnd = random.Random(23)
seeds = [open('%s/%s.tar' % (T, k), 'rb').read() for k in ('pax', 'gnu', 'layer2')]
out = T + '/fuzz.erofs'
for it in range(150):
    d = bytearray(rnd.choice(seeds))
    for _ in range(rnd.randint(1, 8)):
        d[rnd.randrange(min(len(d), 8192))] = rnd.randrange(256)
    if rnd.random() < 0.2:
        d = d[:rnd.randrange(len(d))]
    mode = rnd.choice(['--tar=f', '--tar=i', '--tar=headerball'])
    p = subprocess.run([mkfs, mode, '--aufs', '--quiet', '-T0', out],
                       input=bytes(d), capture_output=True, timeout=120)
    if p.returncode not in (0, 1):
        open(T + '/crash.tar', 'wb').write(d)
        sys.exit('iteration %d (%s): exit %d: %s' % (it, mode, p.returncode,
                                                     p.stderr[-400:]))
    if p.returncode == 0 and mode != '--tar=i':
        c = subprocess.run([fsck, out], capture_output=True)
        if c.returncode:
            sys.exit('iteration %d (%s): fsck: %s' % (it, mode, c.stdout[-400:]))
print('150 mutated tars: no crash')
PYEOF
echo PASS
