#!/bin/bash
# Images made by Debian's mkfs.erofs 1.5 -- plain and chunked (chunk
# indexes with deduplicated chunks) and compressed with lz4 and lz4hc at
# several pcluster sizes, with and without ztailpacking -- are clean for our fsck.erofs and extract to a
# tree identical to the source.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to extract owners and device nodes"
[ -x "$DEB_MKFS" ] || skip "Debian's erofs-utils is not installed ($DEB_MKFS)"
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

gentree full "$T/src"
# mkfs.erofs 1.5 fails ("Could not format the device") on a 255-byte name
rm "$T/src/names/$(printf 'n%.0s' $(seq 255))"
mkdir "$T/tm"
mount -t tmpfs -o size=1g none "$T/tm"
_mounts+=("$T/tm")

deb_mkfs() {
	"$DEB_MKFS" "$@" >"$T/mkfs.log" 2>&1 || { tail -n 5 "$T/mkfs.log"; fail "Debian mkfs.erofs $*"; }
}

# check_clean NAME "TREECMP OPTIONS" MKFS_OPTIONS...
check_clean() {
	local name=$1 cmpopt=$2; shift 2
	local img="$T/$name.img"

	note "Debian image $name: $*"
	deb_mkfs "$@" "$img" "$T/src"
	"$FSCK" "$img" || fail "$name: fsck.erofs found problems (exit $?)"
	rm -rf "$T/tm/out"
	"$FSCK" --extract="$T/tm/out" "$img" || fail "$name: extraction failed (exit $?)"
	# shellcheck disable=SC2086
	treecmp "$T/src" "$T/tm/out" $cmpopt || fail "$name: extracted tree differs"
}

check_clean plain ""
check_clean chunk4k "" --chunksize=4096
check_clean chunk64k "" --chunksize=65536
# -T stamps every inode with the build time (compact inodes)
check_clean plain-T "--mtime 1700000000" -T 1700000000

# Debian's compressed images use legacy (full) and compact indexes, big
# pclusters (-C) and 0padding; our reader must agree with their writer
check_clean lz4 "" -zlz4
check_clean lz4hc "" -zlz4hc
check_clean lz4hc-64k "" -zlz4hc -C65536
check_clean lz4-16k-legacy "" -zlz4 -C16384 -E legacy-compress
# the tail pcluster inline after the index
check_clean lz4hc-ztailpacking "" -zlz4hc -E ztailpacking
check_clean lz4-64k-ztailpacking "" -zlz4 -C65536 -E ztailpacking
echo "Debian images clean and extracted identically"
