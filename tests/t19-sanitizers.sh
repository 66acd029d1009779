#!/bin/bash
# run.sh: alone
# (builds with every core, then reruns the hardest tests two at a time)
# A second build of the tree with AddressSanitizer and UBSan (configure
# --enable-sanitizers; any report aborts), kept in $TESTS_OUT/asan so
# that later runs rebuild only what changed, then the tests that drive
# the reader and the writer hardest run again against it: our own and
# Debian's images through fsck (t10, t11), deterministic corruption
# (t12), dedup, fragments, blobs and rebuild mode (t16, t17, t20, t21),
# erofs-utils 1.8.6's images (t22) and dump (t30, t33, t34), through
# tests/run.sh (SANITIZE_TESTS=... for others).
# Leaks count as reports.
. "$(dirname "$0")/lib.sh"
[ -z "${EROFS_BUILD:-}" ] || skip "already running against another build"
command -v rsync >/dev/null || skip "rsync is not installed (Debian package rsync)"

asan="$TESTS_OUT/asan"
mkdir -p "$asan"
note "ASan+UBSan build in $asan"
# the sources as git knows them (tracked and new), not this tree's objects
(cd "$TOP" && git ls-files -co --exclude-standard) |
	grep -v '^tests/out/' >"$T/files"
rsync -a --files-from="$T/files" "$TOP/" "$asan/"
(
	cd "$asan"
	[ -x configure ] || ./autogen.sh >/dev/null 2>&1
	if ! grep -q -- '--enable-sanitizers' config.status 2>/dev/null; then
		./configure -q --enable-sanitizers >/dev/null
	fi
	make -s -j"$(nproc)" >"$T/build.log" 2>&1
) || { tail -n 30 "$T/build.log"; fail "the sanitizer build failed"; }
nm "$asan/fsck/fsck.erofs" >"$T/syms"
grep -q __asan_init "$T/syms" || fail "fsck.erofs in $asan is not instrumented"

export EROFS_BUILD="$asan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
tests=${SANITIZE_TESTS:-t10-fsck-own-images t11-fsck-debian-images t12-fsck-corrupt
	t16-mkfs-dedupe t17-mkfs-fragments t20-mkfs-blobs t21-mkfs-rebuild
	t22-interop-erofs-utils t30-dump-inspect t33-dump-cache t34-dump-bad-input}
# the test runner, two at a time as in the suite, its logs kept here
note "under ASan+UBSan: $(echo $tests)"
rc=0
# shellcheck disable=SC2086
TESTS_OUT="$T/out" "$TOP/tests/run.sh" $tests || rc=$?
failed=()
for log in "$T"/out/t*.log; do
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
		grep -m5 -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"
		failed+=("$(basename "$log" .log) (sanitizer report)")
	fi
done
[ $rc = 0 ] || failed+=("tests failing under the sanitizer build (above)")
[ ${#failed[@]} = 0 ] || fail "under sanitizers: ${failed[*]}"
echo "no sanitizer report"
