# Sourced by every test: paths, assertions, and cleanup of mounts and
# temporary files however the test ends.
set -euo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
# the binaries under test: this tree's, or another build of it (the
# sanitizer test points EROFS_BUILD at an ASan+UBSan build)
BUILD=${EROFS_BUILD:-$TOP}
MKFS="$BUILD/mkfs/mkfs.erofs"
FSCK="$BUILD/fsck/fsck.erofs"
DUMP="$BUILD/dump/dump.erofs"
FETCH="$BUILD/fetch/erofs-fetch"
TOOLS="$TOP/tests/tools"
DEB_FSCK=/usr/bin/fsck.erofs
DEB_DUMP=/usr/bin/dump.erofs
DEB_MKFS=/usr/bin/mkfs.erofs
PY=${PYTHON:-python3}

T=$(mktemp -d "${TMPDIR:-/var/tmp}/erofs-test.XXXXXX")
_mounts=()
_loops=()

_cleanup() {
	local m l
	for m in "${_mounts[@]}"; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	for l in "${_loops[@]}"; do
		losetup -d "$l" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap _cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

note() {
	echo "--- $*"
}

# true when this process may mount: root and the kernel knows erofs
can_mount() {
	[ "$(id -u)" = 0 ] && grep -qw erofs /proc/filesystems
}

require_mount() {
	can_mount || skip "needs root and a kernel with EROFS to mount images"
}

require_debian_erofs() {
	[ -x "$DEB_FSCK" ] || skip "Debian's erofs-utils is not installed ($DEB_FSCK)"
}

# erofs_utils_dir VERSION: a current erofs-utils (e.g. 1.8.6-1 from Debian
# trixie, 1.9.4-1 from sid) built once from Debian's source and cached
# (scripts/build-erofs-utils.sh; tests/run.sh starts the build early):
# prints its directory; exit 2 when it cannot be had here, the script's
# reason in $T/erofs-utils-VERSION.err
erofs_utils_dir() {
	local out rc=0
	out=$("$TOP/scripts/build-erofs-utils.sh" "$1" 2>"$T/erofs-utils-$1.err") || rc=$?
	[ $rc = 0 ] && echo "${out##*$'\n'}"
	return $rc
}

_erofs_utils_why() {
	sed -n 's/^build-erofs-utils: cannot build [^:]*: //p' "$T/erofs-utils-$1.err"
}

_erofs_utils_failed() {
	tail -n 20 "$T/erofs-utils-$1.err"
	fail "building erofs-utils $1 failed (exit $2)"
}

# require_erofs_utils VERSION: sets EU_MKFS, EU_FSCK, EU_DUMP and
# EU_VERSION, or skips the test with the reason it cannot be had
require_erofs_utils() {
	local dir rc=0
	dir=$(erofs_utils_dir "$1") || rc=$?
	case $rc in
	0)	;;
	2)	skip "erofs-utils $1: $(_erofs_utils_why "$1")" ;;
	*)	_erofs_utils_failed "$1" $rc ;;
	esac
	EU_MKFS="$dir/mkfs.erofs"
	EU_FSCK="$dir/fsck.erofs"
	EU_DUMP="$dir/dump.erofs"
	EU_VERSION=$(cat "$dir/VERSION")
	note "erofs-utils $EU_VERSION from $dir"
}

# erofs_utils VERSION: sets EU to its directory for a test that can do
# without it: returns 1 after saying why when it cannot be had here
erofs_utils() {
	local rc=0
	EU=$(erofs_utils_dir "$1") || rc=$?
	case $rc in
	0)	return 0 ;;
	2)	note "erofs-utils $1 not available: $(_erofs_utils_why "$1")"
		return 1 ;;
	*)	_erofs_utils_failed "$1" $rc ;;
	esac
}

# kernel_mount IMAGE DIR: read-only mount of a file-backed image
kernel_mount() {
	mkdir -p "$2"
	mount -t erofs -o ro "$1" "$2" || fail "kernel refused to mount $1: $(dmesg | tail -n 2)"
	_mounts+=("$2")
}

kernel_umount() {
	umount "$1"
}

# largest block size the running kernel accepts (page size)
kernel_max_blksz() {
	getconf PAGESIZE
}

# expect_fail CMD...: the command must exit non-zero
expect_fail() {
	if "$@"; then
		fail "expected failure: $*"
	fi
}

treecmp() {
	"$PY" "$TOOLS/treecmp.py" "$@"
}

# loop_attach FILE: a read-only loop device for FILE in $LOOP, detached
# at exit (extra devices of a multi-device image must be block devices);
# not in a subshell, so that the cleanup knows it
loop_attach() {
	LOOP=$(losetup -r -f --show "$1") || fail "losetup $1"
	_loops+=("$LOOP")
}

gentree() {
	"$PY" "$TOOLS/gentree.py" "$@"
}

[ -x "$MKFS" ] || fail "mkfs.erofs not built: $MKFS"
