#!/bin/bash
# The end of a compressed file: a compressible head followed by an
# incompressible tail whose last stored (raw) extent starts inside an
# lcluster.  mkfs once wrote such extents of two blocks, which need a
# NONHEAD lcluster for their block count that an EOF head took away, and
# which kernels before 6.x cannot copy; stored extents are now one block
# each, and the test checks that from the index.  Many tail lengths are
# built with big pclusters in both index formats, and with -E
# ztailpacking; the kernel, our fsck.erofs and Debian's read them back
# equal, and the test checks that the shape was really produced.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

mkdir -p "$T/src"
"$PY" - "$T/src" <<'PYEOF'
import os, random, sys
rng = random.Random(188055)
words = [bytes(rng.choice(b'abcdefghij') for _ in range(rng.randrange(3, 9)))
         for _ in range(300)]
for i in range(96):
    head = b' '.join(rng.choice(words) for _ in range(rng.randrange(2000, 9000)))
    tail = rng.randbytes(4097 + (i * 53) % 4000 + (i % 3) * 8192)
    with open(os.path.join(sys.argv[1], f'f{i:02d}'), 'wb') as f:
        f.write(head + tail)
PYEOF

# from a full index: "PLAIN-TAILS MULTIBLOCK-PLAIN", the files whose last
# extent before an unaligned EOF is a stored (PLAIN) one starting inside
# an lcluster, and the stored pclusters of more than one block (older
# kernels copy at most two pages of a stored pcluster: there must be none)
shape_count() {
	"$PY" - "$1" "$T/src" <<'PYEOF'
import os, re, struct, subprocess, sys
img, src = sys.argv[1], sys.argv[2]
d = open(img, 'rb').read()
bits = d[1024 + 12]
bs = 1 << bits
meta = struct.unpack_from('<I', d, 1024 + 40)[0]
tails = multi = 0
for name in sorted(os.listdir(src)):
    out = subprocess.run(['/usr/bin/dump.erofs', '--path=/' + name, img],
                         capture_output=True, text=True).stdout
    nid = int(re.search(r'NID: *(\d+)', out).group(1))
    pos = (meta << bits) + nid * 32
    fmt, icount = struct.unpack_from('<HH', d, pos)
    size = struct.unpack_from('<I', d, pos + 8)[0]
    assert not fmt & 1 and (fmt >> 1) & 7 == 1, (name, fmt)
    xsize = 12 + 4 * (icount - 1) if icount else 0
    base = ((pos + 32 + xsize + 7) & ~7) + 16	# map header + 8 reserved
    total = -(-size // bs)
    idx = [struct.unpack_from('<HHI', d, base + 8 * i) for i in range(total)]
    for i, (t, ofs, u) in enumerate(idx):
        if t & 3 == 0 and i + 1 < total and idx[i + 1][0] & 3 == 2 and \
                idx[i + 1][2] & 0x800 and idx[i + 1][2] & 0x7ff > 1:
            multi += 1
    heads = [i for i, (t, _, _) in enumerate(idx) if t & 3 != 2]
    last = heads[-1]
    if idx[last][1] == size % bs and last == total - 1 and len(heads) > 1:
        last = heads[-2]		# the EOF head; look at the one before
    t, ofs, _ = idx[last]
    if t & 3 == 0 and ofs and size % bs:
        tails += 1
print(tails, multi)
PYEOF
}

for C in 8192 16384 65536; do
	for legacy in "" "-E legacy-compress"; do
		img="$T/c$C${legacy:+-legacy}.img"
		note "-z lz4hc -C $C ${legacy}"
		# shellcheck disable=SC2086
		"$MKFS" --quiet -z lz4hc -C "$C" $legacy -T 0 "$img" "$T/src" ||
			fail "mkfs.erofs -C $C $legacy failed"
		kernel_mount "$img" "$T/mnt"
		diff -r "$T/src" "$T/mnt" || fail "kernel reads differ: -C $C $legacy"
		kernel_umount "$T/mnt"
		"$FSCK" --quiet "$img" || fail "our fsck.erofs: -C $C $legacy"
		"$DEB_FSCK" "$img" >/dev/null || fail "Debian fsck.erofs: -C $C $legacy"
		if [ -n "$legacy" ]; then
			read -r tails multi < <(shape_count "$img")
			echo "files ending in a stored extent inside an lcluster: $tails; stored pclusters of several blocks: $multi"
			[ "$multi" = 0 ] || fail "-C $C: stored pclusters of more than one block"
			# 64K pclusters swallow these tails whole into compression
			[ "$C" -ge 65536 ] || [ "$tails" -gt 0 ] ||
				fail "-C $C: the tail shape under test was not produced"
		fi
	done
done
# the same files with their last pcluster inline (ztailpacking): stored
# tails within the last lcluster and compressed tails of any span
for C in 8192 65536; do
	for legacy in "" "-E legacy-compress"; do
		img="$T/z$C${legacy:+-legacy}.img"
		note "-z lz4hc -C $C -E ztailpacking ${legacy}"
		# shellcheck disable=SC2086
		"$MKFS" -z lz4hc -C "$C" -E ztailpacking $legacy -T 0 "$img" "$T/src" >"$T/out" ||
			fail "mkfs.erofs -C $C -E ztailpacking $legacy failed"
		grep "inline after" "$T/out" || [ "$C" -ge 65536 ] ||
			fail "no tail pcluster was inlined"
		kernel_mount "$img" "$T/mnt"
		diff -r "$T/src" "$T/mnt" || fail "kernel reads differ: ztailpacking -C $C $legacy"
		kernel_umount "$T/mnt"
		"$FSCK" --quiet "$img" || fail "our fsck.erofs: ztailpacking -C $C $legacy"
		"$DEB_FSCK" --extract="$T/deb" "$img" >/dev/null ||
			fail "Debian fsck.erofs: ztailpacking -C $C $legacy"
		diff -r "$T/src" "$T/deb" || fail "Debian extracts differently: ztailpacking -C $C $legacy"
		rm -rf "$T/deb"
	done
done
echo "every tail shape reads back equal"
