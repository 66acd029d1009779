#!/bin/bash
# The full tree (every file type and attribute) built with the default
# options and the common variants: the kernel mounts each image and every
# field reads back equal; Debian's fsck.erofs accepts it and its dump.erofs
# agrees with the figures mkfs printed.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

gentree full "$T/src"

check_variant() {
	local name=$1; shift
	local img="$T/$name.img" out="$T/$name.out"

	note "variant $name: $*"
	"$MKFS" -U 6f1e0b5c-7b39-4d55-9d64-3c2b1b4a9e01 "$@" "$img" "$T/src" >"$out"
	cat "$out"
	kernel_mount "$img" "$T/mnt"
	treecmp "$T/src" "$T/mnt"
	kernel_umount "$T/mnt"
	"$DEB_FSCK" "$img" || fail "Debian fsck.erofs rejects $name"

	# figures from the summary line against Debian's dump.erofs -s
	local inodes blocks root size
	inodes=$(sed -n 's/.*: \([0-9]*\) inodes (.*/\1/p' "$out")
	blocks=$(sed -n 's/.* \([0-9]*\) blocks of .*/\1/p' "$out")
	root=$(sed -n 's/.*root nid \([0-9]*\),.*/\1/p' "$out")
	"$DEB_DUMP" -s "$img" >"$T/dump"
	grep -q "inode count: *$inodes\$" "$T/dump" || fail "inode count differs"
	grep -q "Filesystem blocks: *$blocks\$" "$T/dump" || fail "block count differs"
	grep -q "root nid: *$root\$" "$T/dump" || fail "root nid differs"
	grep -q "UUID: *6f1e0b5c-7b39-4d55-9d64-3c2b1b4a9e01" "$T/dump" || fail "uuid differs"
	grep -q "features: *sb_csum mtime" "$T/dump" || fail "features differ"
	size=$(stat -c %s "$img")
	[ "$size" -eq $((blocks * 4096)) ] || fail "image is $size bytes, not $blocks blocks"
}

check_variant default
check_variant noinline -E ^inline_data
check_variant extended -E force-inode-extended
check_variant xattrs-inline -x 1000000
check_variant xattrs-allshared -x 0
check_variant xattrs-shared1 -x 1
check_variant fixed-time -T 1700000000 --mkfs-time
echo "all variants identical through the kernel"
