#!/bin/bash
# No test or script pipes into a reader that may exit early (grep -q,
# grep -m, head) under pipefail: the producer then dies of SIGPIPE now
# and then and the check fails on a busy machine although its pattern
# was there.  The linter must also catch such pipes, or it proves nothing.
. "$(dirname "$0")/lib.sh"

cat >"$T/bad.sh" <<'BAD'
set -euo pipefail
echo "$out" | grep -q pattern || exit 1
"$DUMP" -s img |
	grep -Eq "^x" || exit 1
v=$(cmd | head -n 1)
cmd | grep -v x -m1 file
BAD
cat >"$T/good.sh" <<'GOOD'
set -euo pipefail
grep -q pattern <<<"$out" || exit 1
true || grep -q x file
v=$(cmd | sed -n 1p)
cat <<'GUEST' >guest.sh
ls /proc | grep -q 1
GUEST
cmd | grep -c x   # counting reads everything
GOOD
if "$PY" "$TOOLS/pipelint.py" "$T/bad.sh" >"$T/bad.out"; then
	fail "the linter misses racy pipes"
fi
[ "$(grep -c "^$T/bad.sh:" "$T/bad.out")" = 4 ] ||
	fail "the linter found $(grep -c "^$T/bad.sh:" "$T/bad.out") of 4 racy pipes: $(cat "$T/bad.out")"
"$PY" "$TOOLS/pipelint.py" "$T/good.sh" || fail "the linter flags race-free code"

cd "$TOP"
"$PY" "$TOOLS/pipelint.py" tests/*.sh tests/tools/*.sh scripts/*.sh bench/*.sh ||
	fail "pipes that can die of SIGPIPE under pipefail (see above)"
echo "no racy pipe in $(ls tests/*.sh tests/tools/*.sh scripts/*.sh bench/*.sh | wc -l) scripts"
