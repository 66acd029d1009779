#!/bin/bash
# Whole-file deduplication: files equal to one stored before share its
# blocks (plain) or pclusters (compressed, also in a blob).  The saving is
# exact -- the image shrinks by precisely the blocks of the duplicates --
# the summary counts them, the kernel reads every file back, and our
# fsck.erofs (which allows whole-file sharing, nothing partial) and
# Debian's accept the images.  -E ^dedupe turns it off.
# -E dedupe goes further, as erofs-utils' does: compressed data equal to
# a pcluster's stored before -- shifted inside another file, or repeated
# within one -- refers to that pcluster (partial references).  On crafted
# repeated content the image shrinks by nearly all of the repeats, the
# same for any --workers; the kernel reads every byte back and
# erofs-utils 1.8.6's fsck extracts the source exactly.
. "$(dirname "$0")/lib.sh"
require_mount

mkdir -p "$T/src/a" "$T/src/b/deep"
# prints how many duplicates it made and their bytes
"$PY" - "$T/src" >"$T/expect" <<'PYEOF'
import os, random, sys
root = sys.argv[1]
rng = random.Random(16)
def text(n):
    words = [b'lorem', b'ipsum', b'dolor', b'sit', b'amet', b'erofs', b'chunk']
    return b' '.join(rng.choice(words) for _ in range(n))[:n * 4]
# whole blocks only, so that plain files have no inline tail to keep
originals = {
    'a/rand-8k': rng.randbytes(8192),
    'a/rand-1m': rng.randbytes(1 << 20),
    'a/text-64k': text(16384)[:65536].ljust(65536, b'.'),
    'a/text-300k': text(80000)[:307200].ljust(307200, b'.'),
}
for rel, data in originals.items():
    open(os.path.join(root, rel), 'wb').write(data)
copies = {'b/rand-8k': 'a/rand-8k', 'b/deep/rand-8k-again': 'a/rand-8k',
          'b/rand-1m': 'a/rand-1m', 'b/text-64k': 'a/text-64k',
          'b/deep/text-300k': 'a/text-300k', 'c-text-64k': 'a/text-64k'}
for rel, src in copies.items():
    open(os.path.join(root, rel), 'wb').write(originals[src])
# equal but for one byte: never shared
d = bytearray(originals['a/rand-1m']); d[-1] ^= 1
open(os.path.join(root, 'b/rand-1m-differs'), 'wb').write(d)
saved = sum(len(originals[s]) for s in copies.values())
print(len(copies), saved)
PYEOF
ln "$T/src/a/rand-8k" "$T/src/b/hardlink"	# one inode: nothing to share
read -r ndup nbytes <"$T/expect"
echo "expecting $ndup duplicates of $nbytes bytes"

for z in "" "-z lz4hc -C 65536" "-z lzma -C 131072"; do
	note "dedupe ${z:-plain}"
	# shellcheck disable=SC2086
	"$MKFS" -T 0 -U clear $z "$T/d.img" "$T/src" >"$T/out"
	# shellcheck disable=SC2086
	"$MKFS" --quiet -T 0 -U clear $z -E ^dedupe "$T/n.img" "$T/src"
	cat "$T/out"
	grep -q "^$ndup files equal to one stored before share its data ($nbytes bytes not stored again)" "$T/out" ||
		fail "summary does not count $ndup files of $nbytes bytes"
	kernel_mount "$T/d.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt" --mtime 0 || fail "kernel reads differ"
	kernel_umount "$T/mnt"
	"$FSCK" --quiet "$T/d.img" || fail "our fsck.erofs rejects shared data"
	"$DEB_FSCK" "$T/d.img" >/dev/null || fail "Debian's fsck.erofs rejects shared data"
	ds=$(stat -c %s "$T/d.img") ns=$(stat -c %s "$T/n.img")
	echo "image $ds bytes, $ns without dedupe"
	if [ -z "$z" ]; then
		[ $((ns - ds)) = "$nbytes" ] ||
			fail "plain: saved $((ns - ds)) bytes, expected exactly $nbytes"
	else
		[ "$ds" -lt "$ns" ] || fail "$z: nothing saved"
	fi
done

note "dedupe of files with inline tails and of files beyond one read"
# Small files are compared before they are written, larger ones after;
# a compressed file that does not pay is stored as it is, from memory
# when it was read whole (3 MiB) or read again (17 MiB: two segments).
mkdir -p "$T/big"
TOOLS=$TOOLS "$PY" - "$T/big" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ['TOOLS'])
from treegen import Tree
t = Tree(sys.argv[1], 1616, None)
rng, put = t.rng, t.put
def flip(data, at):
    d = bytearray(data); d[at] ^= 1; return bytes(d)
tail = b'tail block text ' * 625		# 10000 bytes: 1808 inline
big = rng.randbytes((3 << 20) + 700)
huge = rng.randbytes(17 << 20)
for name, data in (('tail', tail), ('big', big), ('huge', huge)):
    put(name, data)
    put(name + '-copy', data)
    put(name + '-last', flip(data, -1))
    put(name + '-first', flip(data, 0))
PYEOF
bigsaved=$((10000 + (3 << 20) + 700 + (17 << 20)))
for z in "" "-z lz4hc -C 65536"; do
	# shellcheck disable=SC2086
	"$MKFS" -T 0 -U clear $z "$T/bd.img" "$T/big" >"$T/out"
	# shellcheck disable=SC2086
	"$MKFS" --quiet -T 0 -U clear $z -E ^dedupe "$T/bn.img" "$T/big"
	grep -q "^3 files equal to one stored before share its data ($bigsaved bytes not stored again)" "$T/out" ||
		fail "${z:-plain}: summary does not count 3 files of $bigsaved bytes: $(cat "$T/out")"
	if [ -n "$z" ]; then
		# six random files, and the 17 MiB copy, compressed before
		# it is known equal (only files read whole are hashed first)
		grep -q "; 7 files stored uncompressed as it did not pay" "$T/out" ||
			fail "$z: the random files are not stored as they are: $(cat "$T/out")"
		"$MKFS" --quiet -T 0 -U clear $z --workers=1 "$T/b1.img" "$T/big"
		cmp "$T/bd.img" "$T/b1.img" || fail "$z: --workers 1 and the default differ"
	else
		ds=$(stat -c %s "$T/bd.img") ns=$(stat -c %s "$T/bn.img")
		# the copy of the tail file keeps its own inline tail
		[ $((ns - ds)) = $((8192 + (3 << 20) + (17 << 20))) ] ||
			fail "plain: saved $((ns - ds)) bytes"
	fi
	kernel_mount "$T/bd.img" "$T/mnt"
	treecmp "$T/big" "$T/mnt" --mtime 0 || fail "${z:-plain}: kernel reads differ"
	kernel_umount "$T/mnt"
	"$FSCK" --quiet "$T/bd.img" || fail "${z:-plain}: our fsck.erofs rejects it"
done

note "compressed pclusters shared in a blob"
"$MKFS" --quiet -T 0 -z lz4hc -C 65536 --chunksize=65536 --blobdev="$T/d.blob" "$T/b.img" "$T/src"
"$MKFS" --quiet -T 0 -z lz4hc -C 65536 --chunksize=65536 -E ^dedupe --blobdev="$T/n.blob" "$T/nb.img" "$T/src"
[ "$(stat -c %s "$T/d.blob")" -lt "$(stat -c %s "$T/n.blob")" ] || fail "the blob did not shrink"
loop_attach "$T/d.blob"
mount -t erofs -o "ro,device=$LOOP" "$T/b.img" "$T/mnt" || fail "mount bootstrap + blob"
_mounts+=("$T/mnt")
treecmp "$T/src" "$T/mnt" --mtime 0 || fail "blob: kernel reads differ"
umount "$T/mnt"
"$FSCK" --quiet --device="$T/d.blob" "$T/b.img" || fail "blob: our fsck.erofs"

note "-E dedupe: repeated data inside files refers to the pcluster stored first"
mkdir -p "$T/rep"
# a base of compressible text, then copies at odd offsets and repeats
TOOLS=$TOOLS "$PY" - "$T/rep" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ['TOOLS'])
from treegen import Tree
t = Tree(sys.argv[1], 1612, None)
rng, text, put = t.rng, t.text, t.put
t.words = [bytes(rng.choice(b'abcdefghijklmnopqrstuvwxyz')
                 for _ in range(rng.randint(2, 9))) for _ in range(4000)]
base = text(1 << 20)
put('base', base)
put('shifted', rng.randbytes(10000) + base + text(3000))
put('repeats', base[:400000] * 2 + text(20000))
put('unrelated', text(300000))
PYEOF
# the base's compressed size: what each repeat of it would cost again
rep_cost() {	# ALG C
	mkdir -p "$T/one"
	cp "$T/rep/base" "$T/one/"
	"$MKFS" --quiet -z "$1" -C "$2" -T 0 "$T/one.img" "$T/one"
	rm -rf "$T/one"
	mkdir "$T/one"
	"$MKFS" --quiet -z "$1" -C "$2" -T 0 "$T/none.img" "$T/one"
	echo $(($(stat -c %s "$T/one.img") - $(stat -c %s "$T/none.img")))
}
have_eu=false
erofs_utils 1.8.6-1 && have_eu=true
for cfg in "lz4hc 4096" "lzma 16384" "zstd 16384"; do
	set -- $cfg
	note "-z $1 -C $2 -E dedupe"
	for w in 1 3; do
		"$MKFS" --quiet -z "$1" -C "$2" -E dedupe --workers=$w -T 0 -U clear \
			"$T/p$w.img" "$T/rep"
	done
	cmp "$T/p1.img" "$T/p3.img" || fail "-E dedupe: --workers 1 and 3 differ"
	"$MKFS" --quiet -z "$1" -C "$2" -T 0 -U clear "$T/q.img" "$T/rep"
	cost=$(rep_cost "$1" "$2")
	ps=$(stat -c %s "$T/p1.img") qs=$(stat -c %s "$T/q.img")
	# shifted holds the base once more, repeats 0.8 of it: 1.8 bases' worth
	# (found where a stored extent starts, as erofs-utils finds it)
	expect=$((cost * 18 / 10))
	echo "  $ps bytes with -E dedupe, $qs without: saved $((qs - ps)), repeats cost $expect"
	[ $((qs - ps)) -ge $((expect * 85 / 100)) ] ||
		fail "-z $1 -C $2: saved $((qs - ps)) bytes, expected at least 85% of $expect"
	hdr=$(ZHEADER_DUMP=$DUMP "$PY" "$TOOLS/zheader.py" "$T/p1.img" /shifted)
	[[ $hdr == "layout=1 "* ]] ||
		fail "-z $1: a file with references has no full indexes: $hdr"
	kernel_mount "$T/p1.img" "$T/mnt"
	"$PY" "$TOOLS/randread.py" "$T/rep" "$T/mnt" 300
	treecmp "$T/rep" "$T/mnt" --mtime 0 || fail "-E dedupe: kernel reads differ"
	kernel_umount "$T/mnt"
	rm -rf "$T/x"
	"$FSCK" --quiet --extract="$T/x" "$T/p1.img" ||
		fail "our fsck.erofs rejects -z $1 -E dedupe"
	treecmp "$T/rep" "$T/x" --mtime 0 >/dev/null ||
		fail "our fsck.erofs extracts -z $1 -E dedupe differently"
	if $have_eu; then
		rm -rf "$T/eu"
		"$EU/fsck.erofs" --extract="$T/eu" "$T/p1.img" >/dev/null ||
			fail "erofs-utils 1.8.6 fsck.erofs rejects -z $1 -E dedupe"
		diff -r "$T/rep" "$T/eu" >/dev/null ||
			fail "erofs-utils 1.8.6 extracts -z $1 -E dedupe differently"
	fi
done
note "-E dedupe with the pclusters in a blob: references on its device"
"$MKFS" --quiet -z lz4hc -C 16384 -E dedupe --chunksize=65536 \
	--blobdev="$T/r.blob" -T 0 "$T/r.img" "$T/rep"
loop_attach "$T/r.blob"
mount -t erofs -o "ro,device=$LOOP" "$T/r.img" "$T/mnt" || fail "mount bootstrap + blob"
_mounts+=("$T/mnt")
treecmp "$T/rep" "$T/mnt" --mtime 0 || fail "-E dedupe in a blob: kernel reads differ"
umount "$T/mnt"
rm -rf "$T/x"
"$FSCK" --quiet --device="$T/r.blob" --extract="$T/x" "$T/r.img" ||
	fail "our fsck.erofs rejects -E dedupe in a blob"
treecmp "$T/rep" "$T/x" --mtime 0 >/dev/null ||
	fail "our fsck.erofs extracts -E dedupe in a blob differently"
echo "equal files stored once, repeated data once with -E dedupe"
