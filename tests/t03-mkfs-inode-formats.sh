#!/bin/bash
# Compact (32-byte) inodes where they lose nothing, extended (64-byte)
# where a field needs them; inline tails unless disabled.  Inode sizes and
# layouts are read with Debian's dump.erofs; contents through the kernel.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

gentree full "$T/src"

# field IMAGE PATH NAME: "Inode size" or "Layout" of one inode
field() {
	"$DEB_DUMP" --path="$2" "$1" | sed -n "s/.*$3: *\([0-9]*\).*/\1/p"
}

expect() {
	local img=$1 path=$2 name=$3 want=$4 got
	got=$(field "$img" "$path" "$name")
	[ "$got" = "$want" ] || fail "$(basename "$img") $path: $name is '$got', expected $want"
}

note "-T with every file stamped: compact unless an owner overflows 16 bits"
"$MKFS" --quiet -T 1600000000 "$T/t.img" "$T/src"
expect "$T/t.img" /owners/u1000-g1000 "Inode size" 32
expect "$T/t.img" /owners/u65535-g65535 "Inode size" 32
expect "$T/t.img" /owners/u65536-g5 "Inode size" 64
expect "$T/t.img" /owners/u70000-g100000 "Inode size" 64
expect "$T/t.img" /owners/u4000000000-g3 "Inode size" 64
expect "$T/t.img" /sizes/f4097 "Inode size" 32
kernel_mount "$T/t.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --mtime 1600000000
kernel_umount "$T/mnt"

note "per-file mtimes need extended inodes"
"$MKFS" --quiet -T 1600000000 --mkfs-time "$T/m.img" "$T/src"
expect "$T/m.img" /sizes/f4097 "Inode size" 64
expect "$T/m.img" /owners/u1000-g1000 "Inode size" 64

note "force-inode-compact and --ignore-mtime drop mtimes but not owners"
for opt in "-E force-inode-compact" "--ignore-mtime"; do
	# shellcheck disable=SC2086
	"$MKFS" --quiet -T 1600000000 --mkfs-time $opt "$T/c.img" "$T/src"
	expect "$T/c.img" /sizes/f4097 "Inode size" 32
	expect "$T/c.img" /owners/u70000-g100000 "Inode size" 64
	kernel_mount "$T/c.img" "$T/mnt"
	# the extended inodes of the owners keep their own mtimes
	treecmp "$T/src" "$T/mnt" --mtime 1600000000 --skip owners
	kernel_umount "$T/mnt"
done

note "force-inode-extended"
"$MKFS" --quiet -T 1600000000 -E force-inode-extended "$T/e.img" "$T/src"
expect "$T/e.img" /sizes/f4097 "Inode size" 64
expect "$T/e.img" / "Inode size" 64

note "layouts: inline tails (2) by default, plain (0) with ^inline_data"
expect "$T/t.img" /sizes/f4097 Layout 2
expect "$T/t.img" /sizes/f4096 Layout 0
expect "$T/t.img" /sizes/f1 Layout 2
expect "$T/t.img" /sizes/f0 Layout 0
expect "$T/t.img" /types/sym-short Layout 2
"$MKFS" --quiet -T 1600000000 -E ^inline_data "$T/p.img" "$T/src"
expect "$T/p.img" /sizes/f4097 Layout 0
expect "$T/p.img" /sizes/f1 Layout 0
expect "$T/p.img" / Layout 0

note "a file of 4 GiB and more needs an extended inode"
mkdir "$T/huge"
truncate -s $(( (4 << 30) + 4097 )) "$T/huge/big"
printf 'tail data' | dd of="$T/huge/big" bs=1 seek=$(( (4 << 30) + 100 )) conv=notrunc status=none
touch -d @1600000000 "$T/huge/big" "$T/huge"
"$MKFS" --quiet -T 1600000000 "$T/h.img" "$T/huge"
expect "$T/h.img" /big "Inode size" 64
kernel_mount "$T/h.img" "$T/mnt"
[ "$(stat -c %s "$T/mnt/big")" = $(( (4 << 30) + 4097 )) ] || fail "size of big file"
cmp <(tail -c 8192 "$T/huge/big") <(tail -c 8192 "$T/mnt/big") || fail "tail of big file"
cmp <(head -c 1048576 "$T/huge/big") <(head -c 1048576 "$T/mnt/big") || fail "head of big file"
kernel_umount "$T/mnt"
# holes stay holes: the image takes far less space than 4 GiB
[ "$(du -k "$T/h.img" | cut -f1)" -lt 1024 ] || fail "image of a sparse file is not sparse"
