#!/bin/bash
# The end of a compressed file: a compressible head followed by an
# incompressible tail whose last stored (raw) extent starts inside an
# lcluster and runs into the next one.  Such an extent of two blocks has
# no NONHEAD lcluster to carry its block count if an EOF head is put in
# the file's last lcluster -- mkfs once failed on it with compact indexes
# and wrote a corrupt full index.  Many tail lengths are built with
# big pclusters in both index formats; the kernel, our fsck.erofs and
# Debian's read them back equal, and the test checks that the shape was
# really produced.
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

# counts files whose last extent before an unaligned EOF is a PLAIN one
# of 2+ blocks starting mid-lcluster (read from a full index)
shape_count() {
	"$PY" - "$1" "$T/src" <<'PYEOF'
import os, re, struct, subprocess, sys
img, src = sys.argv[1], sys.argv[2]
d = open(img, 'rb').read()
bits = d[1024 + 12]
bs = 1 << bits
meta = struct.unpack_from('<I', d, 1024 + 40)[0]
hits = 0
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
    heads = [i for i, (t, _, _) in enumerate(idx) if t & 3 != 2]
    last = heads[-1]
    if idx[last][1] == size % bs and last == total - 1 and len(heads) > 1:
        last = heads[-2]		# the EOF head; look at the one before
    t, ofs, _ = idx[last]
    nxt = idx[last + 1] if last + 1 < total else None
    if t & 3 == 0 and ofs and size % bs and nxt and nxt[0] & 3 == 2 and \
            nxt[2] & 0xffff == 0x800 | 2 and last + 2 == total:
        hits += 1
print(hits)
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
			n=$(shape_count "$img")
			echo "files ending in a two-block raw extent across an lcluster: $n"
			[ "$C" -lt 65536 ] || continue
			[ "$n" -gt 0 ] || fail "-C $C: the tail shape under test was not produced"
		fi
	done
done
echo "every tail shape reads back equal"
