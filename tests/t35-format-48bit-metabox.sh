#!/bin/bash
# The on-disk features of current erofs-utils: the 48-bit layout, the
# metabox (metadata in an inode, maybe compressed), dot-omitted
# directories, long xattr name prefixes in the packed inode, the metabox
# or plain on the device, and a --tar=i image checked without its tar.
# Images written by erofs-utils 1.9.4 and 1.8.6 are mounted by the kernel
# and our fsck --extract must equal the mount; our own -E 48bit images
# must read back through the kernel equal to their source.  An unknown
# incompatible feature bit is named (exit 4) and dump -s still prints
# the superblock.
. "$(dirname "$0")/lib.sh"
require_mount
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

gentree small "$T/src"
src="$T/src"
mkdir -p "$src/ov" "$src/many"
for i in $(seq 1 30); do
	echo "file $i" >"$src/ov/f$i"
	setfattr -n user.shared -v "same for all" "$src/ov/f$i"
	setfattr -n trusted.overlay.origin -v "o$((i % 3))" "$src/ov/f$i"
done
setfattr -n trusted.overlay.metacopy -v "" "$src/ov/f1"
ln "$src/ov/f2" "$src/ov/f2-link"
for i in $(seq 1 200); do : >"$src/many/an_entry_with_a_long_name_$i"; done
mkdir -p "$T/tm"
mount -t tmpfs -o size=512m none "$T/tm"
_mounts+=("$T/tm")

# kernel_vs_fsck NAME IMAGE [FSCK-OPTIONS...]: clean, and the extraction
# equals what the kernel shows
kernel_vs_fsck() {
	local name=$1 img=$2 out rc; shift 2

	rm -rf "$T/tm/x"
	set +e
	out=$("$FSCK" "$@" --extract="$T/tm/x" "$img" 2>&1)
	rc=$?
	set -e
	[ $rc = 0 ] || fail "$name: fsck exit $rc: $(tail -n 5 <<<"$out")"
	kernel_mount "$img" "$T/mnt"
	treecmp "$T/mnt" "$T/tm/x" || fail "$name: extraction differs from the kernel's mount"
	kernel_umount "$T/mnt"
}

# dump_has NAME IMAGE TEXT: dump -s shows TEXT
dump_has() {
	local out

	out=$("$DUMP" -s "$2") || fail "$1: dump -s exit $?"
	[[ $out == *"$3"* ]] || fail "$1: dump -s lacks '$3': $out"
}

note "our -E 48bit images through the kernel and back"
find "$src" -exec touch -h -d @1600000000 {} +
touch -d @1700000000.5 "$src/ov/f3"	# an extended inode among compact
touch -h -d @1000 "$src/ov"		# before the epoch: extended
ours() {	# NAME MKFS-OPTIONS...
	local name=$1 img="$T/our-$1.img"; shift

	"$MKFS" --quiet -T 1800000000 --mkfs-time -E 48bit "$@" "$img" "$src" ||
		fail "our mkfs -E 48bit $*"
	dump_has "our $name" "$img" 48bit
	kernel_mount "$img" "$T/mnt"
	treecmp "$src" "$T/mnt" || fail "our $name: the kernel reads back another tree"
	kernel_umount "$T/mnt"
	rm -rf "$T/tm/x"
	"$FSCK" --extract="$T/tm/x" "$img" || fail "our $name: fsck exit $?"
	treecmp "$src" "$T/tm/x" || fail "our $name: extraction differs from the source"
}
ours plain
ours chunked --chunksize=8192
ours lz4hc -z lz4hc -C 16384 -E ztailpacking
ours lzma-fragments -z lzma -E fragments
ours extended -b 1024 -E force-inode-extended
"$PY" - "$T/our-plain.img" <<'PYEOF' || fail "our -E 48bit: not the 48-bit layout"
import struct, sys
d = open(sys.argv[1], 'rb').read()
sb = d[1024:1152]
incompat = struct.unpack_from('<I', sb, 80)[0]
epoch, = struct.unpack_from('<Q', sb, 24)
build, = struct.unpack_from('<I', sb, 108)
root8, = struct.unpack_from('<Q', sb, 112)
assert incompat & 0x80, 'no 48bit bit'
assert epoch + build == 1800000000, (epoch, build)
assert root8, 'root_nid_8b is 0'
PYEOF
out=$("$DUMP" --path=/ov/f4 "$T/our-plain.img")
[[ $out == *"compact (32 bytes) with nlink 1 implied"* ]] ||
	fail "our -E 48bit: a one-link file is no nlink-1 compact inode: $out"
"$MKFS" --quiet -E 48bit --chunksize=4096 --blobdev="$T/blob48" "$T/our-blob.img" "$src"
loop_attach "$T/blob48"
mkdir -p "$T/mnt"
mount -t erofs -o ro,device="$LOOP" "$T/our-blob.img" "$T/mnt" || fail "kernel refused our 48bit blob image"
_mounts+=("$T/mnt")
treecmp "$src" "$T/mnt" || fail "our 48bit blob image: the kernel reads another tree"
kernel_umount "$T/mnt"
"$FSCK" --device="$T/blob48" "$T/our-blob.img" || fail "our 48bit blob image: fsck exit $?"

note "an unknown incompatible feature bit is named; dump -s still prints"
"$MKFS" --quiet -E nosbcrc "$T/unk.img" "$src"
printf '\002' | dd of="$T/unk.img" bs=1 seek=$((1024 + 81)) conv=notrunc status=none
set +e
out=$("$FSCK" "$T/unk.img" 2>&1); rc=$?
set -e
[ $rc = 4 ] || fail "unknown incompat bit: fsck exit $rc, not 4: $out"
[[ $out == *"unknown incompat bit 0x200"* ]] || fail "unknown incompat bit not named: $out"
[[ $out == *"inodes ("* && $out != *" 0 inodes"* ]] || fail "unknown incompat bit: nothing checked: $out"
set +e
out=$("$DUMP" -s "$T/unk.img" 2>"$T/err"); rc=$?
set -e
[ $rc = 4 ] || fail "unknown incompat bit: dump -s exit $rc, not 4"
grep -q "unknown incompat bit 0x200" "$T/err" || fail "dump -s: bit not named: $(cat "$T/err")"
[[ $out == *"Filesystem blocks:"* && $out == *"Filesystem root nid:"* ]] ||
	fail "dump -s printed no superblock fields: $out"
# an image that opens no further: the fields are still shown
head -c 6000 "$T/our-plain.img" >"$T/trunc.img"
set +e
out=$("$DUMP" -s "$T/trunc.img" 2>"$T/err"); rc=$?
set -e
[ $rc = 1 ] || fail "truncated image: dump -s exit $rc, not 1"
[[ $out == *"Filesystem blocks:"* && $out == *48bit* ]] ||
	fail "truncated image: dump -s printed no fields: $out"

V9=""
if V9=$("$TOP/scripts/build-erofs-utils.sh" 1.9.4-1 2>"$T/build.log" | tail -n 1); then
	:
else
	[ "${PIPESTATUS[0]}" = 2 ] || fail "build-erofs-utils.sh 1.9.4-1: $(tail -n 3 "$T/build.log")"
	echo "SKIP part: erofs-utils 1.9.4 cannot be had: $(tail -n 1 "$T/build.log")"
	V9=""
fi
if [ -n "$V9" ]; then
	m9() {	# NAME OPTIONS...: an erofs-utils 1.9.4 image of the source
		local name=$1; shift
		"$V9/mkfs.erofs" "$@" "$T/u9-$name.img" "$src" >"$T/mkfs.log" 2>&1 ||
			fail "1.9.4 mkfs.erofs $*: $(tail -n 3 "$T/mkfs.log")"
		echo "$T/u9-$name.img"
	}
	note "erofs-utils 1.9.4 checks our -E 48bit images"
	for img in "$T"/our-*.img; do
		[ "$img" = "$T/our-blob.img" ] && continue
		"$V9/fsck.erofs" "$img" >"$T/fsck9.log" 2>&1 ||
			fail "1.9.4 fsck.erofs rejects $img: $(tail -n 3 "$T/fsck9.log")"
	done
	"$V9/fsck.erofs" --device="$T/blob48" "$T/our-blob.img" >"$T/fsck9.log" 2>&1 ||
		fail "1.9.4 fsck.erofs rejects our 48bit blob image: $(tail -n 3 "$T/fsck9.log")"

	note "erofs-utils 1.9.4: 48-bit layout"
	img=$(m9 48bit -E48bit); kernel_vs_fsck 48bit "$img"; dump_has 48bit "$img" 48bit
	img=$(m9 48bit-chunk -E48bit --chunksize=8192); kernel_vs_fsck 48bit-chunk "$img"
	img=$(m9 48bit-512 -E48bit -b512); kernel_vs_fsck 48bit-512 "$img"
	img=$(m9 48bit-lz4hc -E48bit -zlz4hc); kernel_vs_fsck 48bit-lz4hc "$img"

	note "erofs-utils 1.9.4: metabox"
	img=$(m9 mb -m4096); kernel_vs_fsck metabox "$img"
	dump_has metabox "$img" "Filesystem metabox nid:"
	dump_has metabox "$img" metabox
	img=$(m9 mb-z -m4096:lzma -zlz4hc -Eztailpacking); kernel_vs_fsck metabox-lzma "$img"
	img=$(m9 mb-x -m4096 -x1 -Edot-omitted); kernel_vs_fsck metabox-shared-dot "$img"
	img=$(m9 mb-chunk -m4096 --chunksize=4096); kernel_vs_fsck metabox-chunk "$img"
	img=$(m9 mb-512 -m4096 -b512); kernel_vs_fsck metabox-512 "$img"
	out=$("$DUMP" --path=/ov/f1 "$img")
	[[ $out == *"in the metabox"* ]] || fail "dump: an inode in the metabox not shown so: $out"
	# a hostile metabox nid: named, never followed into a loop or a crash
	for how in selfloop nid0; do
		"$PY" - "$img" "$T/mb-$how.img" "$how" <<'PYEOF' || fail "patching the metabox nid"
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
sb = 1024
blkszbits = d[sb + 12]
if sys.argv[3] == 'selfloop':
    nid = struct.unpack_from('<Q', d, sb + 128)[0] | 1 << 63
else:	# nid 0 of the primary device, which holds no regular file
    nid = 0
struct.pack_into('<Q', d, sb + 128, nid)
def crc32c(crc, data):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc
size = (1 << blkszbits) - 1024 if (1 << blkszbits) > 1024 else 1 << blkszbits
area = bytes(d[sb:sb + 4]) + b'\0' * 4 + bytes(d[sb + 8:sb + size])
struct.pack_into('<I', d, sb + 4, crc32c(0xFFFFFFFF, area))
open(sys.argv[2], 'wb').write(d)
PYEOF
		set +e
		out=$("$FSCK" "$T/mb-$how.img" 2>&1); rc=$?
		set -e
		[ $rc = 1 ] || fail "metabox nid $how: fsck exit $rc, not 1: $(tail -n 3 <<<"$out")"
		[[ $out == *metabox* ]] || fail "metabox nid $how: not named: $out"
	done

	note "erofs-utils 1.9.4: dot-omitted"
	img=$(m9 dot -Edot-omitted); kernel_vs_fsck dot-omitted "$img"
	out=$("$DUMP" --path=/ov "$img")
	[[ $out == *dot-omitted* ]] || fail "dump: dot-omitted not shown: $out"

	note "erofs-utils 1.9.4: long prefixes, plain or in the packed inode"
	img=$(m9 digest --xattr-inode-digest=trusted.overlay.fp); kernel_vs_fsck digest "$img"
	dump_has digest "$img" '"trusted.overlay.fp"'
	img=$(m9 plain-frag -Eplain-xattr-prefixes -Efragments -zlz4 --xattr-inode-digest=trusted.overlay.fp)
	kernel_vs_fsck plain-prefixes-fragments "$img"
	dump_has plain-prefixes "$img" plain_xattr_pfx
	# erofs-utils' default digest name has no namespace: the kernel hides it
	img=$(m9 digest-default -Eplain-xattr-prefixes --xattr-inode-digest)
	kernel_vs_fsck digest-default "$img"
fi

V8=""
if V8=$("$TOP/scripts/build-erofs-utils.sh" 1.8.6-1 2>"$T/build.log" | tail -n 1); then
	:
else
	[ "${PIPESTATUS[0]}" = 2 ] || fail "build-erofs-utils.sh 1.8.6-1: $(tail -n 3 "$T/build.log")"
	echo "SKIP part: erofs-utils 1.8.6 cannot be had: $(tail -n 1 "$T/build.log")"
	V8=""
fi
if [ -n "$V8" ]; then
	note "erofs-utils 1.8.6: a long prefix in the packed inode"
	"$V8/mkfs.erofs" --xattr-prefix=trusted.overlay. "$T/u8-prefix.img" "$src" >/dev/null 2>&1 ||
		fail "1.8.6 mkfs --xattr-prefix"
	kernel_vs_fsck prefix-packed "$T/u8-prefix.img"
	dump_has prefix-packed "$T/u8-prefix.img" '"trusted.overlay."'

	note "erofs-utils 1.8.6: --tar=i without its tar"
	tar -C "$src" -cf "$T/src.tar" .
	"$V8/mkfs.erofs" --tar=i "$T/tari.img" "$T/src.tar" >/dev/null 2>&1 || fail "1.8.6 mkfs --tar=i"
	all=$("$FSCK" --device="$T/src.tar" "$T/tari.img" 2>&1) || fail "--tar=i with its tar: fsck exit $?: $all"
	set +e
	out=$("$FSCK" "$T/tari.img" 2>&1); rc=$?
	set -e
	[ $rc = 4 ] || fail "--tar=i without its tar: fsck exit $rc, not 4: $(tail -n 3 <<<"$out")"
	[[ $out == *"/ov/f7: device 1 (tag"*"not available: data not checked"* ]] ||
		fail "--tar=i without its tar: no per-file report: $(tail -n 3 <<<"$out")"
	# every inode is still checked
	n_all=$(grep -o '[0-9]* inodes' <<<"$all")
	[[ $out == *"$n_all"* ]] || fail "--tar=i without its tar: not all of the $n_all checked: $(tail -n 2 <<<"$out")"
	"$DUMP" -S "$T/tari.img" >/dev/null || fail "--tar=i without its tar: dump -S exit $?"
	loop_attach "$T/src.tar"
	mkdir -p "$T/mnt"
	mount -t erofs -o ro,device="$LOOP" "$T/tari.img" "$T/mnt" || fail "kernel refused the --tar=i image"
	_mounts+=("$T/mnt")
	rm -rf "$T/tm/x"
	"$FSCK" --device="$T/src.tar" --extract="$T/tm/x" "$T/tari.img" || fail "--tar=i extraction: exit $?"
	treecmp "$T/mnt" "$T/tm/x" || fail "--tar=i: extraction differs from the kernel's mount"
	kernel_umount "$T/mnt"
fi
echo "48-bit, metabox, dot-omitted, long prefixes and missing devices read as the kernel reads them"
