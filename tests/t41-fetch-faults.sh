#!/bin/bash
# run.sh: alone
# (waits of a fraction of a second against timeouts: nothing beside it)
# erofs-fetch get against a fault-injecting HTTP server on loopback
# (tests/tools/faultserver.py): 500s and 503s, connection resets before
# and during the body, truncated bodies with and without Content-Length,
# a wrong Content-Range, an over-long body, slow answers against the
# timeout, 404/403 and a refused connection.  Transient faults are retried
# (counted in the stats) and the result is byte-exact; lasting ones fail
# with a clear message, and the cache file is then neither created nor
# changed.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

www="$T/www"
mkdir -p "$www"
head -c $((3 << 20)) /dev/urandom >"$www/blob"
head -c $((16 << 20)) /dev/urandom >"$www/big"
start_faultserver "$www"
base="http://127.0.0.1:$FAULT_PORT"
size=$(stat -c %s "$www/blob")

# ok_after FAULTPATH MIN_RETRIES [get options]: succeeds byte-exact after
# at least MIN_RETRIES retries
ok_after() {
	local path=$1 min=$2; shift 2
	local out="$T/ok.out" r
	rm -f "$out"
	note "$path: retried, then right"
	"$FETCH" get --json --timeout 2000 "$@" "$base/$path" blob "$out" >"$T/s.json" 2>"$T/err" ||
		fail "$path: get failed: $(cat "$T/err")"
	cat "$T/err"
	cmp "$www/blob" "$out" || fail "$path: wrong bytes"
	r=$(json_field "$T/s.json" retries)
	[ "$r" -ge "$min" ] || fail "$path: $r retries, expected at least $min"
	grep -q "retry 1 of" "$T/err" || fail "$path: no retry message"
}

# fails_clean FAULTPATH PATTERN [get options]: fails saying PATTERN, and
# OUT (already holding a range) is byte-for-byte unchanged, no temp left
fails_clean() {
	local path=$1 pattern=$2; shift 2
	note "$path: fails cleanly"
	rm -f "$T/new.out"
	if "$FETCH" get --retries 2 --timeout 2000 "$@" "$base/$path" blob "$T/new.out" 2>"$T/err"; then
		fail "$path: succeeded"
	fi
	cat "$T/err"
	grep -q -- "$pattern" "$T/err" || fail "$path: message lacks '$pattern'"
	[ ! -e "$T/new.out" ] || fail "$path: created the cache file"
	cp "$T/cache.out" "$T/before"
	if "$FETCH" get --retries 1 --timeout 2000 --range 1000-2000000 "$@" "$base/$path" blob "$T/cache.out" 2>"$T/err"; then
		fail "$path: range get into an existing file succeeded"
	fi
	cmp "$T/before" "$T/cache.out" || fail "$path: the existing cache file changed"
	! grep -q '\.part\.' <<<"$(ls "$T")" || fail "$path: temporary file left: $(ls "$T")"
}

note "a healthy path first"
"$FETCH" get --range 0-99999 "$base/ok" blob "$T/cache.out"
"$PY" "$TOOLS/rangecheck.py" "$www/blob" "$T/cache.out" 0 99999 || fail "plain range"

# the size request (HEAD) counts as one request of the URL too
ok_after 500/2 2
ok_after 503/1 1
ok_after reset/2 2
ok_after resetmid/2 1
ok_after truncate/2 1
ok_after nolen/2 1
ok_after wrongrange/2 1
ok_after longbody/2 1
ok_after slow/3000/1 1 --timeout 1000
note "a server that ignores Range"
"$FETCH" get --range 2000000-2100000 "$base/norange" blob "$T/nr.out" || fail "norange"
"$PY" "$TOOLS/rangecheck.py" "$www/blob" "$T/nr.out" 2000000 2100000 || fail "norange bytes"

note "transient faults inside a many-request get"
"$FETCH" get --json --chunk 1M --workers 4 "$base/flaky/3" big "$T/m.out" >"$T/m.json" 2>"$T/err" ||
	fail "parallel get over faults: $(cat "$T/err")"
cmp "$www/big" "$T/m.out" || fail "parallel get over faults: wrong bytes"
r=$(json_field "$T/m.json" retries)
echo "$(json_field "$T/m.json" requests) requests, $r retries"
[ "$r" -ge 4 ] || fail "expected at least 4 retries, saw $r"
cat "$T/err"
# libcurl itself resends a request whose reused connection was reset
# before any answer, so not every kind shows up as a retry here
kinds=0
for what in "HTTP 500" "reset" "truncated" "not the"; do
	grep -q "$what" "$T/err" && kinds=$((kinds + 1))
done
[ $kinds -ge 2 ] || fail "only $kinds kinds of fault were met"

start=$(date +%s)
fails_clean 500/0 "HTTP 500"
fails_clean reset/0 "retries exhausted"
fails_clean 500g/0 "HTTP 500"
fails_clean resetg/0 "Connection reset"
fails_clean truncate/0 "truncated"
fails_clean nolen/0 "short body"
fails_clean wrongrange/0 "not the"
fails_clean longbody/0 "body longer"
fails_clean slow/5000/0 "imed out" --timeout 500
fails_clean ok/nodir "HTTP 404"
fails_clean 403 "HTTP 403"
secs=$(($(date +%s) - start))
echo "lasting faults took ${secs}s"

note "a 404 is not retried"
"$FETCH" get --json "$base/ok" nosuch "$T/x.out" >"$T/s.json" 2>"$T/err" && fail "404 succeeded"
[ "$(json_field "$T/s.json" retries)" = 0 ] || fail "404 was retried"
grep -q "HTTP 404" "$T/err" || fail "404 message: $(cat "$T/err")"

note "nobody listening"
port=$(free_port)
"$FETCH" get --json --retries 2 "http://127.0.0.1:$port" blob "$T/x.out" >"$T/s.json" 2>"$T/err" &&
	fail "a dead server succeeded"
cat "$T/err"
grep -qi "connect" "$T/err" || fail "no connection message"
[ "$(json_field "$T/s.json" retries)" = 2 ] || fail "connection refused not retried"
[ ! -e "$T/x.out" ] || fail "file created"

note "SIGUSR1 prints the stats line while fetching"
"$FETCH" get --timeout 20000 "$base/slow/1500/0" blob "$T/u.out" 2>"$T/usr1.err" &
pid=$!
sleep 0.7
kill -USR1 $pid
wait $pid || fail "slow get failed: $(cat "$T/usr1.err")"
cat "$T/usr1.err"
[ "$(grep -c "stats: reads" "$T/usr1.err")" = 2 ] || fail "expected a SIGUSR1 stats line and a final one"
cmp "$www/blob" "$T/u.out" || fail "slow get: wrong bytes"
echo "all fetch-fault checks passed"
