#!/bin/bash
# deflate and zstd are fitted to a pcluster by feeding one stream in
# flushed pieces sized from the previous pcluster's ratio: data whose
# compressibility jumps (text, zeros, random bytes in stretches around
# the pcluster size) makes first pieces miss, overrun the buffer that
# tells their ratio, and restart.  Every such image must be the same for
# any --workers, mount and read back equal in the kernel, extract equal
# with our fsck.erofs and erofs-utils 1.8.6's and 1.9.4's; and the
# pclusters must be filled about as well as erofs-utils 1.9.4 fills them
# by repeated whole compressions.
. "$(dirname "$0")/lib.sh"
require_mount
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

"$PY" - "$T/src" <<'EOF'
import pathlib, random, sys
root, rng = pathlib.Path(sys.argv[1]), random.Random(55)
# a vocabulary large enough to compress about as prose does
vocab = [bytes(rng.choices(b'abcdefghijklmnopqrstuvwxyz', k=rng.randrange(2, 10)))
         for _ in range(3000)]
text = lambda n: b' '.join(rng.choices(vocab, k=n // 3 + 1))[:n]
kinds = [text, bytes, rng.randbytes, lambda n: bytes(rng.choices(b'ab', k=n))]
files = {}
for i in range(8):
    sizes = rng.choices([700, 3000, 5000, 20000, 70000, 200000, 600000],
                        k=rng.randrange(6, 20))
    files[f'mixed/m{i}'] = b''.join(rng.choice(kinds)(n) for n in sizes)
# zeros, then what does not compress: a first piece far too long
files['jump/zeros-random'] = bytes(3 << 20) + rng.randbytes(1 << 20)
files['jump/text-random'] = text(1 << 20) + rng.randbytes(300000) + text(200000)
files['jump/random-zeros'] = rng.randbytes(300000) + bytes(2 << 20)
files['text/plain'] = text(4 << 20)
for n in (4095, 4097, 60000, 65536, 70000, 140000):
    files[f'small/t{n}'] = text(n)
    files[f'small/r{n}'] = rng.randbytes(n)
for rel, data in files.items():
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
EOF
find "$T/src" -exec touch -h -d @1700000000 {} +

eus=()
for v in 1.8.6-1 1.9.4-1; do
	erofs_utils "$v" && eus+=("$EU")
done

# fsck_with DIR IMG WHAT: erofs-utils' fsck extracts the source tree
fsck_with() {
	rm -rf "$T/eu"
	"$1/fsck.erofs" --extract="$T/eu" "$2" >"$T/eu.log" 2>&1 ||
		{ tail -n 5 "$T/eu.log"; fail "$3: erofs-utils $(cat "$1/VERSION" 2>/dev/null) fsck.erofs rejects it"; }
	diff -r "$T/src" "$T/eu" >/dev/null ||
		fail "$3: erofs-utils $(cat "$1/VERSION" 2>/dev/null) extracts it differently"
}

for spec in "zstd 4096" "zstd 65536" "zstd 1048576" "deflate 4096" \
	    "deflate 65536" "deflate 1048576" "zstd 16384 -E dedupe" \
	    "deflate 16384 -E ztailpacking,fragments"; do
	read -r alg C opts <<<"$spec"
	what="-z $alg -C $C${opts:+ $opts}"
	note "$what"
	for w in 1 2; do
		# shellcheck disable=SC2086
		"$MKFS" --quiet -z "$alg" -C "$C" $opts --workers=$w -T 0 -U clear \
			"$T/w$w.img" "$T/src"
	done
	cmp -s "$T/w1.img" "$T/w2.img" || fail "$what: --workers=1 and 2 differ"
	kernel_mount "$T/w1.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt" --mtime 0 || fail "$what: the kernel reads it differently"
	kernel_umount "$T/mnt"
	rm -rf "$T/x"
	"$FSCK" --quiet --extract="$T/x" "$T/w1.img" 2>"$T/fsck.err" ||
		fail "$what: our fsck.erofs rejects it: $(cat "$T/fsck.err")"
	treecmp "$T/src" "$T/x" --mtime 0 >/dev/null || fail "$what: our fsck.erofs extracts it differently"
	for eu in "${eus[@]}"; do
		fsck_with "$eu" "$T/w1.img" "$what"
	done
done

# how full the pclusters are: a large text file's compressed blocks
# (st_blocks of a compressed file on EROFS) against erofs-utils 1.9.4's
# exact search, at the same level and pcluster size
if erofs_utils 1.9.4-1; then
	mkdir "$T/one"
	cp "$T/src/text/plain" "$T/one/"
	for cfg in "zstd 3 4096" "zstd 3 65536" "deflate 1 4096" "deflate 1 65536"; do
		read -r alg level C <<<"$cfg"
		"$MKFS" --quiet -z "$alg,$level" -C "$C" -T 0 "$T/ours.img" "$T/one"
		"$EU/mkfs.erofs" --quiet -z "$alg,level=$level" -C "$C" -T 0 "$T/eu.img" "$T/one" >/dev/null
		blocks=()
		for img in ours eu; do
			kernel_mount "$T/$img.img" "$T/mnt"
			blocks+=("$(stat -c %b "$T/mnt/plain")")
			kernel_umount "$T/mnt"
		done
		note "$alg,$level -C $C: ${blocks[0]} sectors, erofs-utils 1.9.4 ${blocks[1]}"
		[ "${blocks[1]}" -gt 0 ] || fail "$alg -C $C: erofs-utils' file is not compressed"
		# measured: -2% to +2%; a fit that strands room loses far more
		[ $((blocks[0] * 100)) -le $((blocks[1] * 105)) ] ||
			fail "$alg -C $C: ${blocks[0]} sectors, erofs-utils 1.9.4 ${blocks[1]}"
	done
fi
