#!/bin/bash
# Every image variant our mkfs makes of the full tree -- every block size
# (also those the kernel cannot mount), plain and inline layouts, compact
# and extended inodes, inline, shared and no xattrs, chunked, compressed
# with every algorithm -- is clean for our fsck.erofs, and --extract gives
# back a tree identical to the source (hardlinks, xattrs, ACLs, owners,
# modes, times, devices).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to extract owners and device nodes"
[ -x "$FSCK" ] || fail "fsck.erofs not built: $FSCK"

gentree full "$T/src"
# extraction targets on a tmpfs: creating 10000 files on the test disk is
# slow and its speed varies with whatever else runs
mkdir "$T/tm"
mount -t tmpfs -o size=1g none "$T/tm"
_mounts+=("$T/tm")

check_variant() {
	local name=$1 cmpopt=$2; shift 2
	local img="$T/$name.img"

	note "variant $name: $*"
	"$MKFS" --quiet "$@" "$img" "$T/src"
	"$FSCK" "$img" || fail "$name: fsck.erofs found problems (exit $?)"
	rm -rf "$T/tm/out"
	"$FSCK" --extract="$T/tm/out" "$img" || fail "$name: extraction failed (exit $?)"
	# shellcheck disable=SC2086
	treecmp "$T/src" "$T/tm/out" $cmpopt || fail "$name: extracted tree differs"
}

for bs in 512 1024 2048 4096 8192 16384 32768 65536; do
	check_variant "bs$bs" "" -b "$bs"
done
check_variant noinline "" -E ^inline_data
check_variant noinline-512 "" -b 512 -E ^inline_data
check_variant extended "" -E force-inode-extended
check_variant extended-512 "" -b 512 -E force-inode-extended
check_variant xattrs-inline "" -x 1000000
check_variant xattrs-allshared "" -x 0
check_variant xattrs-shared1 "" -x 1
check_variant xattrs-none --no-xattrs -x -1
check_variant nosbcrc "" -E nosbcrc
# compressed: every algorithm, small and big pclusters, both index
# formats, block sizes the kernel cannot mount
check_variant lz4 "" -zlz4
check_variant lz4hc-64k "" -zlz4hc -C 65536
check_variant lz4-legacy-512 "" -zlz4 -C 16384 -b 512 -E legacy-compress
check_variant lzma-128k "" -zlzma -C 131072
check_variant deflate-8k "" -zdeflate,9 -C 8192 -b 8192
check_variant lz4hc-64k-b64k "" -zlz4hc -C 65536 -b 65536
check_variant ztailpacking "" -zlz4hc -C 16384 -E ztailpacking
check_variant ztailpacking-lzma-512 "" -zlzma -C 8192 -b 512 -E ztailpacking

# chunk-based files and bootstrap + blob, once our mkfs makes them
if grep -q -- --chunksize <<<"$("$MKFS" --help)"; then
	check_variant chunk4k "" --chunksize=4096
	check_variant chunk1m-indexes "" --chunksize=1M -E force-chunk-indexes
	note "bootstrap + blob: without the blob all metadata is checked (exit 4); found with --device"
	"$MKFS" --quiet --chunksize=16384 --blobdev="$T/blob.img" "$T/boot.img" "$T/src"
	set +e
	"$FSCK" --quiet "$T/boot.img" 2>"$T/err"
	rc=$?
	set -e
	cat "$T/err"
	[ $rc = 4 ] || fail "bootstrap without its blob: exit $rc, not 4"
	grep -q "not attached (use --device" "$T/err" || fail "no hint to use --device"
	set +e
	out=$("$FSCK" "$T/boot.img" 2>&1)
	set -e
	[[ $out == *"not available: data not checked"* ]] ||
		fail "bootstrap without its blob: files not named: $(tail -n 2 <<<"$out")"
	rm -rf "$T/tm/out"
	all=$("$FSCK" --device="$T/blob.img" --extract="$T/tm/out" "$T/boot.img" 2>&1) ||
		fail "bootstrap + blob: fsck.erofs failed: $all"
	n_all=$(grep -o '[0-9]* inodes' <<<"$all")
	[[ $out == *"$n_all"* ]] ||
		fail "bootstrap without its blob: not all $n_all checked: $(tail -n 2 <<<"$out")"
	treecmp "$T/src" "$T/tm/out"
fi

note "--json summary"
"$FSCK" --json "$T/bs4096.img" >"$T/json"
"$PY" - "$T/json" <<'PYEOF' || fail "--json output is wrong"
import json, sys
j = json.load(open(sys.argv[1]))
assert j['result'] == 'clean' and j['errors'] == 0 and j['problems'] == [], j
assert j['blocksize'] == 4096, j
assert j['inodes']['regular'] > 10000 and j['inodes']['directories'] > 70, j
assert j['inodes']['fifos'] == 1 and j['inodes']['sockets'] == 1, j
assert j['inodes']['chrdevs'] == 2 and j['inodes']['blkdevs'] == 1, j
assert j['bytes_checked'] > 8 << 20, j
PYEOF

note "extraction refuses a non-empty target without --overwrite"
mkdir -p "$T/tm/busy"
echo keep >"$T/tm/busy/file"
expect_fail "$FSCK" --extract="$T/tm/busy" "$T/bs4096.img"
[ "$(cat "$T/tm/busy/file")" = keep ] || fail "a refused extraction touched the target"
"$FSCK" --overwrite --extract="$T/tm/out" "$T/bs4096.img" || fail "--overwrite over an identical tree failed"
treecmp "$T/src" "$T/tm/out"

note "--no-preserve: files owned by the caller, umask applied"
rm -rf "$T/tm/np"
(umask 022 && "$FSCK" --no-preserve --extract="$T/tm/np" "$T/bs4096.img") || fail "--no-preserve extraction failed"
[ "$(stat -c %u:%a "$T/tm/np/owners/u1000-g1000")" = 0:644 ] ||
	fail "--no-preserve kept owner or mode: $(stat -c %u:%a "$T/tm/np/owners/u1000-g1000")"
[ "$(stat -c %a "$T/tm/np/modes/m4755")" = 755 ] || fail "--no-preserve kept set-id bits"

note "usage errors exit 16"
set +e
"$FSCK" >/dev/null 2>&1; rc=$?
"$FSCK" --frobnicate "$T/bs4096.img" >/dev/null 2>&1; rc2=$?
"$FSCK" "$T/no-such.img" >/dev/null 2>&1; rc3=$?
set -e
[ $rc = 16 ] && [ $rc2 = 16 ] || fail "usage errors exit $rc and $rc2, not 16"
[ $rc3 = 8 ] || fail "a missing image exits $rc3, not 8"
echo "every variant clean and extracted identically"
