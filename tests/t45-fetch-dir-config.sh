#!/bin/bash
# run.sh: group fetch
# (servers on loopback ports chosen free: one such test at a time)
# erofs-fetch get from a local directory source, the configuration file's
# errors (each named by file and line), refusing an OUT that cannot be the
# object's cache file, an interrupted get leaving nothing behind, and the
# library API itself (threads, readahead, coalescing, errors, config).
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

src="$T/blobs"
mkdir -p "$src/sub"
head -c $((9 << 20)) /dev/urandom >"$src/blob"
head -c 100 /dev/urandom >"$src/sub/inner"
: >"$src/empty"

note "directory source: whole, ranges, min_fetch"
"$FETCH" get "dir:$src" blob "$T/a.out" && cmp "$src/blob" "$T/a.out" || fail "whole blob from dir:"
"$FETCH" get "$src" empty "$T/e.out" && cmp "$src/empty" "$T/e.out" || fail "empty blob"
"$FETCH" get --range 5-4200000 "$src" blob "$T/b.out" || fail "range from a path"
"$PY" "$TOOLS/rangecheck.py" "$src/blob" "$T/b.out" 5 4200000 || fail "dir range bytes"
"$FETCH" get --json --min-fetch 1M --range 3000000-3000001 "$src" blob "$T/m.out" >"$T/m.json"
"$PY" "$TOOLS/rangecheck.py" "$src/blob" "$T/m.out" 2097152 3145727 || fail "dir min_fetch"
[ "$(json_field "$T/m.json" bytes)" = 1048576 ] || fail "min_fetch read $(json_field "$T/m.json" bytes) bytes"

note "directory source: keys that are not file names"
for key in sub/inner ../blobs/blob . .. sub nosuch; do
	expect_fail "$FETCH" get "$src" "$key" "$T/k.out" 2>"$T/err"
	cat "$T/err"
	[ ! -e "$T/k.out" ] || fail "key $key created a file"
done
expect_fail "$FETCH" get "$T/nodir" blob "$T/k.out" 2>"$T/err"
grep -q "source directory $T/nodir" "$T/err" || fail "missing source directory: $(cat "$T/err")"
expect_fail "$FETCH" get "ftp://x/y" blob "$T/k.out" 2>"$T/err"
grep -q "unknown source" "$T/err" || fail "unknown scheme: $(cat "$T/err")"
expect_fail "$FETCH" get "oci://hostonly" blob "$T/k.out" 2>"$T/err"
grep -q "bad OCI source" "$T/err" || fail "bad oci spec: $(cat "$T/err")"

note "an OUT that cannot be this object's cache file"
head -c $((10 << 20)) /dev/zero >"$T/big.out"
cp "$T/big.out" "$T/big.before"
expect_fail "$FETCH" get --range 0-9 "$src" blob "$T/big.out" 2>"$T/err"
grep -q "larger" "$T/err" || fail "no message for a larger OUT: $(cat "$T/err")"
cmp "$T/big.out" "$T/big.before" || fail "a larger OUT was changed"
mkdir "$T/dir.out"
expect_fail "$FETCH" get "$src" blob "$T/dir.out"
expect_fail "$FETCH" get "$src" blob "$T/no/such/dir/x.out" 2>"$T/err"
grep -q "$T/no/such/dir/x.out" "$T/err" || fail "no path in the message: $(cat "$T/err")"

note "a shorter existing OUT grows to the object's size"
head -c 1000 /dev/zero >"$T/short.out"
"$FETCH" get --range 2000-2999 "$src" blob "$T/short.out" || fail "get into a short OUT"
[ "$(stat -c %s "$T/short.out")" = $((9 << 20)) ] || fail "short OUT not grown"
"$PY" "$TOOLS/rangecheck.py" "$src/blob" "$T/short.out" 2000 2999 || fail "short OUT bytes"

# conf_fails TEXT PATTERN: loading TEXT fails and says PATTERN
conf_fails() {
	printf '%b' "$1" >"$T/c.conf"
	expect_fail "$FETCH" get -c "$T/c.conf" - blob "$T/c.out" 2>"$T/err"
	cat "$T/err"
	grep -q -- "$2" "$T/err" || fail "config '$1': message lacks '$2'"
	[ ! -e "$T/c.out" ] || fail "a bad config created a file"
}

note "configuration errors"
conf_fails "[source a]\nspec = $src\nwokers = 3\n" "c.conf:3: unknown source setting \"wokers\""
conf_fails "[source a]\nretries = 2\n[map]\n* = a\n" "source \"a\" has no spec"
conf_fails "[source a]\nspec = $src\n[source a]\nspec = $src\n" "c.conf:3: source \"a\" defined twice"
conf_fails "spec = $src\n" "c.conf:1: \"spec\" outside a section"
conf_fails "[source a\n" "c.conf:1: unclosed section"
conf_fails "[source a]\nspec = $src\nmin_fetch = lots\n" "c.conf:3: min_fetch: bad size"
conf_fails "[source a]\nspec = $src\n[map]\n* = a\n* = a\n" "two defaults"
conf_fails "[source a]\nspec = $src\n[map]\nx = a\n" "no \[map\] line for key \"blob\""
conf_fails "[source a]\nspec = $src\n[map]\nblob\n" "c.conf:4: expected KEY = VALUE"
expect_fail "$FETCH" get -c "$T/none.conf" - blob "$T/c.out" 2>"$T/err"
grep -q "config $T/none.conf: No such file" "$T/err" || fail "missing config: $(cat "$T/err")"

note "configuration: maps, defaults, other sections, overrides"
cat >"$T/ok.conf" <<EOF
[daemon]            # kept for the daemon, ignored by get
threads = 4
[source local]
spec = $src
min_fetch = 64k
[map]
fsid-1 = local blob   # cookie key -> source, object
EOF
"$FETCH" get -c "$T/ok.conf" - fsid-1 "$T/f.out" && cmp "$src/blob" "$T/f.out" || fail "mapped key"
"$FETCH" get --json -c "$T/ok.conf" --range 10-20 local blob "$T/g.out" >"$T/g.json"
"$PY" "$TOOLS/rangecheck.py" "$src/blob" "$T/g.out" 0 65535 || fail "min_fetch from the config"
"$FETCH" get --json -c "$T/ok.conf" --min-fetch 4k --range 10-20 local blob "$T/h.out" >"$T/h.json"
"$PY" "$TOOLS/rangecheck.py" "$src/blob" "$T/h.out" 0 4095 || fail "command line over config"

note "an interrupted get leaves no file"
mkdir -p "$T/www"
cp "$src/blob" "$T/www/blob"
start_faultserver "$T/www"
"$FETCH" get --chunk 1M "http://127.0.0.1:$FAULT_PORT/slow/600/0" blob "$T/int.out" 2>"$T/err" &
pid=$!
sleep 1
kill -INT $pid || fail "the slow get ended early: $(cat "$T/err")"
if wait $pid; then
	fail "an interrupted get succeeded"
fi
cat "$T/err"
grep -q "interrupted" "$T/err" || fail "no message on SIGINT"
[ ! -e "$T/int.out" ] || fail "interrupted get left OUT"
! grep -q '\.part\.' <<<"$(ls "$T")" || fail "interrupted get left a temporary file"
note "the library API as the daemon drives it (tests/tools/sourcetest.c)"
build_sourcetest
"$SOURCETEST" "dir:$src" blob "$src/blob" || fail "sourcetest on a directory"
"$SOURCETEST" "http://127.0.0.1:$FAULT_PORT/ok" blob "$src/blob" ||
	fail "sourcetest over http"
"$SOURCETEST" "http://127.0.0.1:$FAULT_PORT/flaky/50" blob "$src/blob" 2>"$T/err" ||
	fail "sourcetest over http with faults: $(tail -n 5 "$T/err")"
grep -c "retry 1 of" "$T/err" || fail "no faults met"
echo "all fetch-dir-config checks passed"
