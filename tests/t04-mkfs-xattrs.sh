#!/bin/bash
# Extended attributes of every namespace, inline and shared (-x), and
# dropped with a negative -x.  The share count is read from the inode's
# xattr header in the image; values through the kernel.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

gentree full "$T/src"

# shared_count IMAGE PATH: h_shared_count of the inode's xattr header
shared_count() {
	local nid isize
	nid=$("$DEB_DUMP" --path="$2" "$1" | sed -n 's/^NID: *\([0-9]*\).*/\1/p')
	isize=$("$DEB_DUMP" --path="$2" "$1" | sed -n 's/.*Inode size: *\([0-9]*\).*/\1/p')
	# meta_blkaddr is 0: the inode is at nid * 32, the header follows it
	od -An -tu1 -j $(( nid * 32 + isize + 4 )) -N1 "$1" | tr -d ' '
}

xattr_size() {
	"$DEB_DUMP" --path="$2" "$1" | sed -n 's/.*Xattr size: *\([0-9]*\).*/\1/p'
}

for x in 0 1 2 5 30; do
	note "-x $x"
	"$MKFS" --quiet -x "$x" "$T/x$x.img" "$T/src"
	kernel_mount "$T/x$x.img" "$T/mnt"
	treecmp "$T/src" "$T/mnt"
	kernel_umount "$T/mnt"
done

# erofs-utils' tolerance: an xattr is shared when more than N inodes carry
# it.  user.common and trusted.common are on 20 files, user.linked on one
# inode.
[ "$(shared_count "$T/x2.img" /xattrs/shared-03)" = 2 ] || fail "-x 2: common xattrs not shared"
[ "$(shared_count "$T/x1.img" /xattrs/shared-03)" = 2 ] || fail "-x 1: common xattrs not shared"
[ "$(shared_count "$T/x30.img" /xattrs/shared-03)" = 0 ] || fail "-x 30: xattrs shared below 30 users"
[ "$(shared_count "$T/x2.img" /xattrs/namespaces)" = 0 ] || fail "unique xattrs shared"
[ "$(shared_count "$T/x1.img" /xattrs/namespaces)" = 0 ] || fail "-x 1: unique xattrs shared"
[ "$(shared_count "$T/x0.img" /xattrs/namespaces)" -gt 0 ] || fail "-x 0: unique xattrs not shared"
# sharing makes the inline area smaller
[ "$(xattr_size "$T/x2.img" /xattrs/shared-03)" -lt "$(xattr_size "$T/x30.img" /xattrs/shared-03)" ] ||
	fail "shared xattrs did not shrink the inline area"
[ "$(stat -c %s "$T/x2.img")" -le "$(stat -c %s "$T/x30.img")" ] || fail "sharing grew the image"

note "-x -1 drops every xattr"
"$MKFS" --quiet -x -1 "$T/none.img" "$T/src"
kernel_mount "$T/none.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --no-xattrs
kernel_umount "$T/mnt"
[ "$(xattr_size "$T/none.img" /xattrs/many)" = 0 ] || fail "-x -1 kept xattrs"

note "xattrs on a 512-byte block image (values span blocks)"
"$MKFS" --quiet -b 512 "$T/small.img" "$T/src"
kernel_mount "$T/small.img" "$T/mnt"
treecmp "$T/src" "$T/mnt"
kernel_umount "$T/mnt"
