#!/bin/bash
# Runs every tests/t*.sh and ends with the line "N passed, N failed, N skipped".
# A test passes with exit 0, skips with exit 77 (after printing why), fails
# otherwise.  Usage: tests/run.sh [PATTERN...]  (substrings of test names)
#
# TEST_JOBS tests run side by side (default 2; 1 runs them one by one).
# Each test has its own temporary directory, mounts and loop devices, so
# most can share the machine.  A test that must not is marked in its
# first lines: "# run.sh: alone" runs with no other test, "# run.sh:
# group NAME" never beside another test of group NAME.  Results are
# printed in the tests' order whatever order they finish in.
#
# The erofs-utils versions the selected tests ask for (require_erofs_utils)
# are built in the background from the start, so that a fresh machine
# builds them while the first tests run; the build script caches them.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
export TOP="$top"
export TESTS_OUT="${TESTS_OUT:-$top/tests/out}"
mkdir -p "$TESTS_OUT"
jobs=${TEST_JOBS:-2}
case $jobs in ''|*[!0-9]*|0) echo "run.sh: TEST_JOBS must be a positive number" >&2; exit 2 ;; esac

names=()
for t in "$here"/t*.sh; do
	name=$(basename "$t" .sh)
	if [ $# -gt 0 ]; then
		match=0
		for p in "$@"; do
			case "$name" in *"$p"*) match=1 ;; esac
		done
		[ $match = 1 ] || continue
	fi
	names+=("$name")
done

# the markers in each test's head
declare -A alone_of=() group_of=()
for name in "${names[@]}"; do
	head=$'\n'$(sed -n '1,20p' "$here/$name.sh")$'\n'
	[[ $head == *$'\n# run.sh: alone\n'* ]] && alone_of[$name]=1
	group_of[$name]=$(sed -n '1,20s/^# run\.sh: group \([^ ]*\).*/\1/p' "$here/$name.sh")
done

# the versions named by require_erofs_utils or a direct call of the script
versions=$(cd "$here" && grep -ohE '(require_erofs_utils|build-erofs-utils\.sh"?) [0-9][0-9.]*-[0-9]+' \
	"${names[@]/%/.sh}" /dev/null | sed 's/.* //' | sort -u)
prebuild=
if [ -n "$versions" ]; then
	(
		for v in $versions; do
			nice "$top/scripts/build-erofs-utils.sh" "$v" || true
		done
	) >"$TESTS_OUT/erofs-utils-build.log" 2>&1 &
	prebuild=$!
fi

passed=0 failed=0 skipped=0
failed_names=()
declare -A pid_of=() start_of=() rc_of=() secs_of=()
running=0 alone_running=0 next_start=0 next_print=0
groups_busy=" "

start_test() {
	local name=$1
	start_of[$name]=$(date +%s)
	bash "$here/$name.sh" >"$TESTS_OUT/$name.log" 2>&1 &
	pid_of[$name]=$!
	running=$((running + 1))
}

# may the test at next_start start now?
can_start() {
	local name=${names[$next_start]} g
	[ $running -lt "$jobs" ] && [ $alone_running = 0 ] || return 1
	[ -z "${alone_of[$name]:-}" ] || [ $running = 0 ] || return 1
	g=${group_of[$name]}
	[ -z "$g" ] || [[ $groups_busy != *" $g "* ]]
}

report() {
	local name=$1 rc=${rc_of[$1]} secs=${secs_of[$1]} log="$TESTS_OUT/$1.log"
	case $rc in
	0)	passed=$((passed + 1)); echo "PASS $name (${secs}s)" ;;
	77)	skipped=$((skipped + 1))
		echo "SKIP $name: $(sed -n '/^SKIP/{s/^SKIP: *//p;q}' "$log")" ;;
	*)	failed=$((failed + 1)); failed_names+=("$name")
		echo "FAIL $name (exit $rc, ${secs}s); last lines of $log:"
		tail -n 25 "$log" | sed 's/^/    /' ;;
	esac
}

while [ $next_print -lt ${#names[@]} ]; do
	while [ $next_start -lt ${#names[@]} ] && can_start; do
		name=${names[$next_start]}
		g=${group_of[$name]}
		[ -z "$g" ] || groups_busy+="$g "
		[ -z "${alone_of[$name]:-}" ] || alone_running=1
		start_test "$name"
		next_start=$((next_start + 1))
	done
	# wait for one test to end
	done_pid=
	wait -n -p done_pid "${pid_of[@]}"
	rc=$?
	for name in "${!pid_of[@]}"; do
		[ "${pid_of[$name]}" = "$done_pid" ] || continue
		rc_of[$name]=$rc
		secs_of[$name]=$(( $(date +%s) - ${start_of[$name]} ))
		unset "pid_of[$name]"
		running=$((running - 1))
		alone_running=0
		g=${group_of[$name]}
		[ -z "$g" ] || groups_busy=${groups_busy/ $g / }
	done
	while [ $next_print -lt ${#names[@]} ] &&
		[ -n "${rc_of[${names[$next_print]}]+set}" ]; do
		report "${names[$next_print]}"
		next_print=$((next_print + 1))
	done
done
[ -z "$prebuild" ] || wait "$prebuild"
[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
