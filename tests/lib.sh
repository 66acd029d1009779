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

# erofs_utils VERSION: sets EU to the directory of a current erofs-utils
# build (cached; scripts/build-erofs-utils.sh); returns 1 after printing
# why when it cannot be had here, fails the test on any other error
erofs_utils() {
	local rc=0
	EU=$("$TOP/scripts/build-erofs-utils.sh" "$1" 2>"$T/eu.err" | tail -n 1) || rc=$?
	case $rc in
	0)	return 0 ;;
	2)	echo "--- erofs-utils $1 not available: $(tail -n 1 "$T/eu.err")"
		return 1 ;;
	*)	fail "scripts/build-erofs-utils.sh $1: $(tail -n 3 "$T/eu.err")" ;;
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
