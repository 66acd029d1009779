#!/bin/bash
# Runs every tests/t*.sh and ends with the line "N passed, N failed, N skipped".
# A test passes with exit 0, skips with exit 77 (after printing why), fails
# otherwise.  Usage: tests/run.sh [PATTERN...]  (substrings of test names)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export TOP="$top"
export TESTS_OUT="${TESTS_OUT:-$top/tests/out}"
mkdir -p "$TESTS_OUT"

passed=0 failed=0 skipped=0
failed_names=()
for t in "$here"/t*.sh; do
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		match=0
		for p in "$@"; do
			case "$name" in *"$p"*) match=1 ;; esac
		done
		[ $match = 1 ] || continue
	fi
	log="$TESTS_OUT/$name.log"
	start=$(date +%s)
	bash "$t" >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0)	passed=$((passed + 1)); echo "PASS $name (${secs}s)" ;;
	77)	skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP' "$log" | sed 's/^SKIP: *//')" ;;
	*)	failed=$((failed + 1)); failed_names+=("$name")
		echo "FAIL $name (exit $rc, ${secs}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /' ;;
	esac
done
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
