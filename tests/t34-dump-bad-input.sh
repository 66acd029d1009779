#!/bin/bash
# dump.erofs on bad input: missing, empty, junk and truncated images, a
# wrong checksum, unknown compatible and incompatible feature bits, and
# a few hundred deterministically damaged copies of plain, compressed and
# chunked images (bytes flipped, zeroed and set in the superblock, the
# inodes, directories, xattrs, indexes and data), run with every output
# option.  Each must end with a clear message and an exit status of the
# documented set (0, 1, 4, 8), never a signal, a sanitizer report or a
# hang.
. "$(dirname "$0")/lib.sh"
: "${DUMP:=$TOP/dump/dump.erofs}"	# lib.sh may point it at another build
[ -x "$DUMP" ] || fail "dump.erofs not built: $DUMP"

gentree small "$T/src"
mkdir -p "$T/src/x"
for f in a b; do
	head -c 30000 /dev/zero | tr '\0' "$f" >"$T/src/x/$f"
	setfattr -n user.common -v shared "$T/src/x/$f"
done
ln "$T/src/x/a" "$T/src/x/a-link"

expect_rc() {	# WANTED-RC MESSAGE-REGEX DUMP-ARGS...
	local want=$1 msg=$2 rc; shift 2
	set +e
	timeout 20 "$DUMP" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ $rc = "$want" ] || fail "dump $*: exit $rc, not $want: $(head -c 300 "$T/err")"
	[ -z "$msg" ] || grep -Eq "$msg" "$T/err" || fail "dump $*: no message matching '$msg': $(cat "$T/err")"
}

"$MKFS" --quiet -T 0 "$T/good.img" "$T/src"
"$MKFS" --quiet -T 0 -E nosbcrc "$T/nocrc.img" "$T/src"

note "missing, empty, junk, truncated"
expect_rc 8 "cannot open .*no-such.img" -s "$T/no-such.img"
expect_rc 8 "not a regular file" -s "$T/src"
: >"$T/empty.img"
expect_rc 1 "too small" -s "$T/empty.img"
head -c 100000 /dev/urandom >"$T/junk.img"
expect_rc 1 "no EROFS superblock" -s "$T/junk.img"
head -c 6000 "$T/good.img" >"$T/trunc.img"
expect_rc 1 "truncated" -S "$T/trunc.img"
expect_rc 8 "cannot find cache" --cache="$T/no-such-cache"

note "checksum and feature bits"
setbyte() {	# FILE OFFSET BYTE
	printf "$(printf '\\%03o' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
cp "$T/good.img" "$T/csum.img"
setbyte "$T/csum.img" $((1024 + 64)) 88	# the label: covered by the checksum
expect_rc 1 "checksum" -s "$T/csum.img"
cp "$T/nocrc.img" "$T/incompat.img"
setbyte "$T/incompat.img" $((1024 + 83)) 128	# incompat bit 31
expect_rc 4 "unknown incompat bit 0x80000000" -s "$T/incompat.img"
expect_rc 4 "unknown incompat bit" -S --json "$T/incompat.img"
cp "$T/nocrc.img" "$T/compat.img"
setbyte "$T/compat.img" $((1024 + 11)) 64	# compat bit 30: ignorable
expect_rc 0 "" -s "$T/compat.img"
grep -q "unknown(0x40000000)" "$T/out" || fail "unknown compat bit not shown: $(grep features "$T/out")"
expect_rc 0 "" -S "$T/compat.img"

note "a blob image without its blob: metadata works, data needs --device"
"$MKFS" --quiet --chunksize=4096 --blobdev="$T/blob" "$T/boot.img" "$T/src"
expect_rc 0 "" -S "$T/boot.img"
expect_rc 0 "" --path=/x/a -e "$T/boot.img"
expect_rc 8 "cannot open device 1" --path=/x/a -e --device="$T/no-such-blob" "$T/boot.img"
head -c 4096 "$T/blob" >"$T/short-blob"
expect_rc 1 "device table says" -s --device="$T/short-blob" "$T/boot.img"

note "damaged copies"
"$MKFS" --quiet -T 0 -z lz4hc -C 16384 -x 1 "$T/z.img" "$T/src"
"$MKFS" --quiet -T 0 -z lzma -b 1024 -E legacy-compress "$T/zl.img" "$T/src"
"$MKFS" --quiet -T 0 --chunksize=4096 -E force-chunk-indexes "$T/ch.img" "$T/src"
truncate -s 40000 "$T/cache"
"$PY" - "$DUMP" "$T" "$T/cache" "$T/good.img" "$T/nocrc.img" "$T/z.img" "$T/zl.img" "$T/ch.img" <<'PYEOF' || fail "damaged images"
import collections, os, random, subprocess, sys
dump, work, cache = sys.argv[1:4]
imgs = sys.argv[4:]
rng = random.Random(5)
runs = [['-s', '--json'], ['-S', '--pcpubuf', '--json'],
        ['--path=/x/a-link', '-e', '--json'], ['--path=/x', '--ls'],
        ['--path=/d/data.bin', '-e'], ['--cache=' + cache, '--json']]
results, bad = collections.Counter(), []
for path in imgs:
    good = open(path, 'rb').read()
    # the metadata of these small images is in their first blocks; aim
    # there most of the time, anywhere otherwise
    meta_end = min(len(good), 3 * 4096 if 'zl' not in path else 12 * 1024)
    for k in range(45):
        d = bytearray(good)
        kind = rng.choice(['flip', 'zero', 'ff', 'trunc'])
        if kind == 'trunc':
            d = d[:rng.randrange(1024, len(d))]
        else:
            for _ in range(rng.randrange(1, 4)):
                pos = rng.randrange(1024, meta_end) if rng.random() < 0.85 \
                    else rng.randrange(len(d))
                d[pos] = {'flip': d[pos] ^ (1 << rng.randrange(8)),
                          'zero': 0, 'ff': 0xff}[kind]
        bad_path = os.path.join(work, 'bad.img')
        open(bad_path, 'wb').write(d)
        args = runs[k % len(runs)]
        try:
            p = subprocess.run([dump, *args, bad_path], capture_output=True,
                               timeout=20)
        except subprocess.TimeoutExpired:
            bad.append((path, k, kind, args, 'timeout'))
            continue
        rc = p.returncode
        results[rc] += 1
        err = p.stderr.decode(errors='replace')
        if rc not in (0, 1, 4, 8) or 'Sanitizer' in err or 'runtime error' in err:
            keep = os.path.join(work, f'crash-{len(bad)}.img')
            open(keep, 'wb').write(d)
            bad.append((path, k, kind, args, rc, err[-500:]))
        elif rc and not err.strip():
            bad.append((path, k, kind, args, rc, 'no message'))
        elif '--json' in args and rc != 8:
            import json
            json.loads(p.stdout)	# still valid JSON, however it ended
print('exit statuses:', dict(results))
for b in bad:
    print('BAD:', b)
sys.exit(1 if bad else 0)
PYEOF
echo "bad input handled"
