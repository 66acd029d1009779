#!/bin/bash
# run.sh: group fetch
# (servers on loopback ports chosen free: one such test at a time)
# erofs-fetch get --image checks every unit of a blob against the digest
# table mkfs wrote into the bootstrap, before any byte is written: a
# mirror that flips one byte in one unit (tests/tools/faultserver.py)
# makes a whole-blob get fail naming that unit, and the output never holds
# the bad byte; a range outside that unit is fetched byte-exact; a second
# source gives the unit instead.  A device without a table is refused
# unless --unverified=allow.  And the hostile-server defects: a 200 whose
# Content-Length, or a 206 whose Content-Range total, contradicts the size
# HEAD reported is an error, not wrong bytes with exit 0.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

www="$T/www"
mkdir -p "$www" "$T/src"
for i in 1 2 3 4 5 6; do
	head -c $((150000 * i + 77)) /dev/urandom >"$T/src/f$i"
done
"$MKFS" --quiet --chunksize=4096 --blobdev="$T/blob" "$T/boot.img" "$T/src" ||
	fail "mkfs --blobdev"
tag=$(sha256sum "$T/blob" | cut -d' ' -f1)
cp "$T/blob" "$www/$tag"
size=$(stat -c %s "$T/blob")
unit=65536
bad=$((3 * unit + 1234))		# in unit 3
start_faultserver "$www"
base="http://127.0.0.1:$FAULT_PORT"
flip="$base/flip/$bad"

note "the whole blob through a doctored mirror: fails naming unit 3"
set +e
out=$("$FETCH" get --timeout 5000 --image="$T/boot.img" "$flip" "$tag" "$T/whole.out" 2>&1)
rc=$?
set -e
echo "$out"
[ $rc = 1 ] || fail "get of a doctored blob: exit $rc, expected 1"
[[ $out == *"blob $tag unit 3 (bytes 196608-262143)"* ]] ||
	fail "the failure does not name blob and unit 3"
[[ $out == *"source $flip: blob $tag unit 3"* ]] ||
	fail "the mismatch warning does not name the source"
[ ! -e "$T/whole.out" ] || fail "a failed get left its output"
ls "$T"/whole.out.part.* 2>/dev/null && fail "a temporary file was left"

note "into an existing cache file: unchanged, never the bad byte"
"$FETCH" get --quiet --image="$T/boot.img" --range 0-99 "$base/ok" "$tag" "$T/cache" ||
	fail "first range"
cp "$T/cache" "$T/cache.before"
expect_fail "$FETCH" get --quiet --image="$T/boot.img" --range $((bad - 10))-$((bad + 10)) \
	"$flip" "$tag" "$T/cache"
cmp "$T/cache" "$T/cache.before" || fail "a failed get changed the cache file"

note "a range outside the bad unit: byte-exact, widened to its unit"
"$FETCH" get --json --image="$T/boot.img" --range $((5 * unit + 7))-$((5 * unit + 99)) \
	"$flip" "$tag" "$T/r.out" >"$T/r.json" || fail "a range in a good unit failed"
cmp -i $((5 * unit)):$((5 * unit)) -n $unit "$T/blob" "$T/r.out" ||
	fail "range: wrong bytes"
[ "$(json_field "$T/r.json" units_verified)" = 1 ] || fail "range: not one unit verified"
[ "$(json_field "$T/r.json" bytes)" = $unit ] || fail "range: not widened to its unit"
"$PY" - "$T/r.out" $bad <<'PYEOF' || fail "range: the bad byte's unit was written"
import sys
d = open(sys.argv[1], "rb").read()
off = int(sys.argv[2])
assert d[off - off % 65536:][:65536] == bytes(65536), "unit 3 is not a hole"
PYEOF

note "--verify with --range and a table checks the units"
"$FETCH" get --quiet --verify --image="$T/boot.img" --range 0-10 "$base/ok" "$tag" \
	"$T/v.out" || fail "--verify --range with a table"
expect_fail "$FETCH" get --quiet --verify --range 0-10 "$base/ok" "$tag" "$T/v2.out"

note "a second source gives the unit the first one got wrong"
"$FETCH" get --json --image="$T/boot.img" --fallback "$base/ok" "$flip" "$tag" \
	"$T/fb.out" >"$T/fb.json" 2>"$T/fb.err" || fail "fallback: $(cat "$T/fb.err")"
cmp "$T/blob" "$T/fb.out" || fail "fallback: wrong bytes"
"$PY" - "$T/fb.json" "$size" $unit <<'PYEOF' || fail "fallback: counters"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
units = -(-int(sys.argv[2]) // int(sys.argv[3]))
assert s["units_verified"] == units, s
assert s["mismatches"] == [2, 0], s	# the first answer and its retry
PYEOF
grep -q "unit 3: good bytes from source $base/ok" "$T/fb.err" ||
	fail "fallback: no message naming the good source"

note "a device without a digest table: refused unless --unverified=allow"
grep -q "digest table for device 1" <<<"$("$DUMP" -s "$T/boot.img")" ||
	fail "dump -s shows no digest table"
blocks=$("$DUMP" -s --json "$T/boot.img" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["superblock"]["annex"]["start"])')
head -c "$blocks" "$T/boot.img" >"$T/notable.img"
"$FSCK" --quiet --device="$T/blob" "$T/notable.img" || fail "the bootstrap without annex is broken"
set +e
out=$("$FETCH" get --image="$T/notable.img" "$base/ok" "$tag" "$T/nt.out" 2>&1)
rc=$?
set -e
[ $rc = 1 ] && [[ $out == *"no digest table: refused"* ]] ||
	fail "no table: exit $rc: $out"
[ ! -e "$T/nt.out" ] || fail "refused, yet written"
"$FETCH" get --quiet --unverified=allow --image="$T/notable.img" "$base/ok" "$tag" \
	"$T/nt.out" || fail "--unverified=allow"
cmp "$T/blob" "$T/nt.out" || fail "--unverified=allow: wrong bytes"

note "a 200 or 206 that contradicts HEAD's size is an error"
for lie in lie200 lie206; do
	rm -f "$T/lie.out"
	set +e
	out=$("$FETCH" get --retries 1 --range 1000-5000 "$base/$lie/0" "$tag" "$T/lie.out" 2>&1)
	rc=$?
	set -e
	[ $rc = 1 ] || fail "$lie: exit $rc, expected 1: $out"
	[[ $out == *"but the object has $size"* || $out == *"but it has $size"* ]] ||
		fail "$lie: the message does not say the sizes: $out"
	[ ! -e "$T/lie.out" ] || fail "$lie: output written"
done
echo "t48: all checks passed"
