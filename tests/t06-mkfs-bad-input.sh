#!/bin/bash
# Bad input gets a message naming what failed and a non-zero exit, and no
# image -- not even a partial one under a temporary name -- is left behind.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (tmpfs, dropping privileges)"

gentree small "$T/src"
mkdir -p "$T/out"
chmod 755 "$T"
chmod 777 "$T/out"

# must_fail NAME PATTERN CMD...: fails, says PATTERN, leaves $T/out empty
must_fail() {
	local name=$1 pattern=$2; shift 2
	note "$name"
	if "$@" >"$T/stdout" 2>"$T/stderr"; then
		fail "$name: succeeded"
	fi
	cat "$T/stderr"
	grep -q -- "$pattern" "$T/stderr" || fail "$name: message lacks '$pattern'"
	[ -z "$(ls -A "$T/out")" ] || fail "$name: left $(ls -A "$T/out")"
}

as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
}

must_fail "missing source" "$T/nope" "$MKFS" "$T/out/i.img" "$T/nope"
must_fail "source is a file" "not a directory" "$MKFS" "$T/out/i.img" "$T/src/hello.txt"
must_fail "missing output directory" "$T/out/no/dir/i.img" "$MKFS" "$T/out/no/dir/i.img" "$T/src"

cp -a "$T/src" "$T/unreadable-file"
chmod 000 "$T/unreadable-file/d/data.bin"
must_fail "unreadable file" "unreadable-file/d/data.bin" \
	as_nobody "$MKFS" "$T/out/i.img" "$T/unreadable-file"

cp -a "$T/src" "$T/unreadable-dir"
chmod 000 "$T/unreadable-dir/d"
must_fail "unreadable directory" "unreadable-dir/d" \
	as_nobody "$MKFS" "$T/out/i.img" "$T/unreadable-dir"

mkdir "$T/ro"
chmod 555 "$T/ro"
must_fail "output not writable" "$T/ro/i.img" as_nobody "$MKFS" "$T/ro/i.img" "$T/src"
[ -z "$(ls -A "$T/ro")" ] || fail "left files in a read-only directory"

note "disk full"
mkdir "$T/full"
mount -t tmpfs -o size=256k none "$T/full"
_mounts+=("$T/full")
mkdir "$T/bigsrc"
head -c $((2 << 20)) /dev/urandom >"$T/bigsrc/blob"
if "$MKFS" "$T/full/i.img" "$T/bigsrc" 2>"$T/stderr"; then
	fail "disk full: succeeded"
fi
cat "$T/stderr"
grep -q "No space left on device" "$T/stderr" || fail "disk full: no ENOSPC message"
[ -z "$(ls -A "$T/full")" ] || fail "disk full: left $(ls -A "$T/full")"

note "an xattr value EROFS cannot store"
mkdir "$T/tmpfs"
mount -t tmpfs -o size=64m none "$T/tmpfs"
_mounts+=("$T/tmpfs")
cp -a "$T/src" "$T/tmpfs/src"
python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.huge", b"x" * 65536)' \
	"$T/tmpfs/src/hello.txt"
must_fail "xattr too large" "user.huge" "$MKFS" "$T/out/i.img" "$T/tmpfs/src"

note "a file changing during the build"
mkdir "$T/growing"
head -c $((96 << 20)) /dev/zero | tr '\0' 'a' >"$T/growing/file"
( while :; do echo more >>"$T/growing/file"; done ) &
writer=$!
sleep 0.2
must_fail "file growing" "changed during the build" "$MKFS" "$T/out/i.img" "$T/growing"
kill "$writer"
wait "$writer" 2>/dev/null || true

note "interrupted by a signal"
"$MKFS" "$T/out/i.img" "$T/growing" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
	[ -n "$(ls -A "$T/out")" ] && break
	sleep 0.01
done
kill -TERM "$pid"
wait "$pid" && fail "mkfs survived SIGTERM"
[ -z "$(ls -A "$T/out")" ] || fail "SIGTERM left $(ls -A "$T/out")"

note "bad options"
must_fail "-b not a power of two" "block size" "$MKFS" -b 3000 "$T/out/i.img" "$T/src"
must_fail "-b too small" "block size" "$MKFS" -b 256 "$T/out/i.img" "$T/src"
must_fail "-b too large" "block size" "$MKFS" -b 131072 "$T/out/i.img" "$T/src"
must_fail "-U garbage" "-U" "$MKFS" -U not-a-uuid "$T/out/i.img" "$T/src"
must_fail "-L too long" "-L" "$MKFS" -L 0123456789abcdef "$T/out/i.img" "$T/src"
must_fail "-E unknown" "extended option" "$MKFS" -E frobnicate "$T/out/i.img" "$T/src"
must_fail "-x not a number" "-x" "$MKFS" -x many "$T/out/i.img" "$T/src"
must_fail "-T not a number" "-T" "$MKFS" -T yesterday "$T/out/i.img" "$T/src"
must_fail "--force-uid negative" "force-uid" "$MKFS" --force-uid=-4 "$T/out/i.img" "$T/src"
must_fail "bad --exclude-regex" "exclude-regex" "$MKFS" --exclude-regex='(' "$T/out/i.img" "$T/src"
must_fail "missing source argument" "expected IMAGE and SOURCE_DIR" "$MKFS" "$T/out/i.img"
must_fail "unknown option" "unrecognized option" "$MKFS" --frobnicate "$T/out/i.img" "$T/src"
echo "every bad input refused cleanly"
