#!/bin/bash
# run.sh: group fetch
# erofs-fetch for operators, without a kernel: the daemon runs against
# tests/tools/cfkernel.c, which plays the cachefiles device over a
# SOCK_SEQPACKET socket.  The metrics endpoint (unix socket and TCP) is
# scraped with curl and its numbers checked against what was read; log
# lines carry a time and a level, or journald priorities; -V; usage
# errors exit 16; [daemon] keys are the long option names; SIGHUP
# re-reads the configuration; culling (tests/tools/culltest.c) goes least
# recently used first, skips what is in use and stops at the low mark.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/tools/fetchlib.sh"

command -v curl >/dev/null || skip "curl is not installed"
CC="gcc -O2 -Wall -Wextra -Wno-sign-compare -Wno-unused-parameter -Werror"
$CC -I"$TOP/include" -pthread -o "$T/cfkernel" "$TOOLS/cfkernel.c" ||
	fail "building cfkernel"
$CC -include "$TOP/config.h" -I"$TOP/include" -pthread -o "$T/culltest" \
	"$TOOLS/culltest.c" "$TOP/fetch/cull.c" "$TOP/lib/msg.c" \
	"$TOP/lib/cachefiles.c" "$TOP/lib/util.c" -luuid || fail "building culltest"

note "-V, usage errors, option and key names"
v=$("$FETCH" -V)
[[ $v == "erofs-fetch (erofs-toolkit) "[0-9]* ]] || fail "-V: '$v'"
[ "$("$FETCH" --version)" = "$v" ] || fail "--version differs from -V"
expect_exit 16 "unrecognized option" --source=dir:"$T" --bogus
expect_exit 16 "not error, warn, info or debug" --source=dir:"$T" --log-level=loud
expect_exit 16 "without --cache-high" --source=dir:"$T" --cache-low=1G
expect_exit 16 "percentage in \\[1, 99\\]" --source=dir:"$T" --cache-high=150%
expect_exit 16 "below --cache-high" --source=dir:"$T" --cache-high=1G --cache-low=2G
expect_exit 16 "both in bytes or both in percent" --source=dir:"$T" --cache-high=80% --cache-low=1G
expect_exit 16 "Try 'erofs-fetch get --help'" get --bogus
expect_exit 16 "expected unix:PATH and/or tcp:ADDR:PORT" --source=dir:"$T" --metrics=unix:/x,udp:1
cat >"$T/k.conf" <<EOF2
[source s]
spec = dir:$T
[map]
* = s
[daemon]
cache-dir = $T/c1
prefetch_high = 8M
log-level = warn
metrics = unix:$T/k.sock
cache-high = 90%
EOF2
# every key above was taken: the failure is the missing device
expect_exit 1 "open $T/nodev" --config="$T/k.conf" --devnode="$T/nodev"
echo "timeout = 5" >>"$T/k.conf"
expect_exit 16 "\\[daemon\\] timeout = 5: unknown setting" --config="$T/k.conf"
grep -q -- '--cache-high' <<<"$("$FETCH" --help)" || fail "--help lacks --cache-high"
for o in $("$FETCH" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "${o//-/\\\\-}" "$TOP/man/erofs-fetch.1" ||
		fail "option $o is not in man/erofs-fetch.1"
done

note "make install: the systemd unit, pointing at the installed daemon"
if [ "$BUILD" = "$TOP" ] && [ -f "$TOP/Makefile" ]; then
	make -C "$TOP" -s install DESTDIR="$T/inst" >"$T/inst.log" 2>&1 ||
		fail "make install: $(tail -n 5 "$T/inst.log")"
	unit=$(find "$T/inst" -name erofs-fetch.service)
	[ -n "$unit" ] || fail "make install put no erofs-fetch.service"
	sbin=$(find "$T/inst" -name erofs-fetch -type f -perm -u+x)
	grep -q "^ExecStart=${sbin#"$T/inst"} " "$unit" ||
		fail "the unit does not start ${sbin#"$T/inst"}: $(grep ExecStart "$unit")"
	grep -q '^ExecReload=/bin/kill -HUP \$MAINPID' "$unit" || fail "no ExecReload"
	echo "ok: $unit"
fi

note "log lines: time and level, or journald priorities"
: >"$T/jerr"
rc=0
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/jerr") "$FETCH" --source=dir:"$T" \
	--devnode="$T/nodev" 2>>"$T/jerr" || rc=$?
[ $rc = 1 ] || fail "exit $rc"
grep -q "^<3>erofs-fetch: error: open $T/nodev" "$T/jerr" ||
	fail "no journald priority: $(cat "$T/jerr")"
JOURNAL_STREAM=1:1 "$FETCH" --source=dir:"$T" --devnode="$T/nodev" 2>"$T/terr" || true
grep -Eq '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z erofs-fetch: error: open ' "$T/terr" ||
	fail "no timestamp and level: $(cat "$T/terr")"
echo "ok: <3> for the journal, a UTC timestamp and level otherwise"

# ---- a daemon against the fake device ----
mkdir -p "$T/src" "$T/src2" "$T/cache"
head -c 1048576 /dev/urandom >"$T/src/b1"
head -c 300000 /dev/urandom >"$T/src/b2"
head -c 200000 /dev/urandom >"$T/src2/b1"
daemon_pid=""

# start_daemon ARGS...: cfkernel + erofs-fetch, requests written to fd 3
start_daemon() {
	rm -f "$T/in" "$T/o"*
	mkfifo "$T/in"
	"$T/cfkernel" -f "$T/o0" -f "$T/o1" -f "$T/o2" -f "$T/o3" -- "$FETCH" "$@" \
		<"$T/in" >"$T/kout" 2>"$T/kerr" &
	daemon_pid=$!
	exec 3>"$T/in"
}

stop_daemon() {
	local rc=0
	exec 3>&-
	wait "$daemon_pid" || rc=$?
	[ $rc = 0 ] || fail "daemon exit $rc: $(tail -n 5 "$T/kerr")"
}

# until COMMAND succeeds, for up to 10 s
wait_until() {
	local i
	for ((i = 0; i < 200; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	fail "timed out waiting for: $*; $(tail -n 5 "$T/kerr")"
}

# open OBJECT FILE VOLUME COOKIE: the copen answer, e.g. "1048576"
open_obj() {
	local n
	n=$(grep -c '^copen' "$T/kout" || true)
	echo "open $*" >&3
	wait_until eval '[ "$(grep -c "^copen" "$T/kout" || true)" -gt '"$n"' ]'
	tail -n 1 "$T/kout" | sed 's/^copen //'
}

scrape() {
	curl -sf --unix-socket "$T/m.sock" "http://localhost/metrics${1:-}"
}

# metric 'NAME{LABELS}': its value in a fresh scrape
metric() {
	local m
	m=$(scrape)
	awk -v k="$1" '$1 == k { print $2 }' <<<"$m"
}

metric_is() {
	[ "$(metric "$1")" = "$2" ]
}

note "metrics: counters match what was read"
port=$(free_port)
start_daemon --source=dir:"$T/src" --cache-dir="$T/cache" --unverified=allow --log-level=debug \
	--metrics=unix:"$T/m.sock",tcp:127.0.0.1:$port --no-prefetch
wait_until test -S "$T/m.sock"
[ "$(open_obj 1 0 erofs,img b1)" = 1048576 ] || fail "OPEN b1: $(cat "$T/kout")"
[ "$(open_obj 2 1 erofs,img b2)" = 300000 ] || fail "OPEN b2"
# one at a time: two READs of an object being filled whole may both fetch
echo "read 1 0 65536" >&3
wait_until metric_is erofs_fetch_read_latency_seconds_count 1
echo "read 1 65536 65536" >&3
wait_until metric_is erofs_fetch_read_latency_seconds_count 2
echo "read 2 4096 8192" >&3
wait_until metric_is erofs_fetch_read_latency_seconds_count 3
# an OPEN is counted once answered: the worker may still be at it
wait_until metric_is 'erofs_fetch_requests_total{type="open"}' 2
scrape >"$T/m.txt"
scrape .json >"$T/m.json"
"$PY" - "$T/m.txt" "$T/m.json" <<'PYEOF' || fail "metrics do not match what was read"
import json, re, sys
text = open(sys.argv[1]).read()
js = json.load(open(sys.argv[2]))
samples, helped, typed = {}, set(), {}
for line in text.splitlines():
    if line.startswith('# HELP '):
        helped.add(line.split()[2])
        continue
    if line.startswith('# TYPE '):
        _, _, name, kind = line.split()
        assert kind in ('counter', 'gauge', 'histogram', 'summary'), line
        typed[name] = kind
        continue
    m = re.fullmatch(r'(erofs_fetch_[a-z_]+)(\{[^}]*\})? (\S+)', line)
    assert m, 'not a sample: %r' % line
    fam = re.sub(r'_(bucket|sum|count)$', '', m.group(1))
    fam = fam if fam in typed else m.group(1)
    assert fam in typed and fam in helped, 'no HELP/TYPE before %r' % line
    samples[m.group(1) + (m.group(2) or '')] = float(m.group(3))
def v(k):
    return samples[k]
assert v('erofs_fetch_requests_total{type="open"}') == 2 == js['requests']['open']
assert v('erofs_fetch_requests_total{type="read"}') == 3 == js['requests']['read']
assert v('erofs_fetch_requests_total{type="close"}') == 0
assert v('erofs_fetch_open_objects') == 2 == js['open_objects']
# no bootstrap names these blobs: each is filled whole at its first READ
assert v('erofs_fetch_bytes_written_total{kind="demand"}') == 1048576 + 300000 == js['bytes_demand']
assert v('erofs_fetch_read_misses_total') + v('erofs_fetch_read_hits_total') == 3
assert v('erofs_fetch_source_bytes_total{source="default"}') >= 1348576
assert v('erofs_fetch_verify_failures_total') == 0
b = [(k, n) for k, n in samples.items() if k.startswith('erofs_fetch_read_latency_seconds_bucket')]
assert len(b) == 17 and b[-1][0].endswith('le="+Inf"}') and b[-1][1] == 3
assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1))
assert v('erofs_fetch_read_latency_seconds_count') == 3 == js['read_latency']['count']
assert [s['name'] for s in js['sources']] == ['default']
print('metrics: %d samples, format and numbers as read' % len(samples))
PYEOF
cmp "$T/o0" "$T/src/b1" || fail "object 1 differs from its blob"
cmp "$T/o1" "$T/src/b2" || fail "object 2 differs from its blob"
m=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "no metrics over TCP"
grep -q '^erofs_fetch_open_objects 2$' <<<"$m" || fail "TCP metrics: $m"
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/m.sock" http://localhost/nope)
[ "$code" = 404 ] || fail "/nope: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket "$T/m.sock" http://localhost/metrics)
[ "$code" = 405 ] || fail "POST: HTTP $code"
echo "close 2" >&3
wait_until metric_is erofs_fetch_open_objects 1
metric_is 'erofs_fetch_requests_total{type="close"}' 1 || fail "close not counted"
kill -USR1 "$(pgrep -P "$daemon_pid" -x erofs-fetch)"
wait_until grep -q 'info: source stats (default): reads' "$T/kerr"
stop_daemon
grep -q 'stats (exit): .* opens 2 .* reads 3 ' "$T/kerr" || fail "exit stats: $(grep stats "$T/kerr")"
[ ! -e "$T/m.sock" ] || fail "the metrics socket stays after exit"
bad=$(grep -v '^cmd: ' "$T/kerr" | grep -Ev '^[0-9T:.-]+Z erofs-fetch: (error|warn|info|debug): ' || true)
[ -z "$bad" ] || fail "log lines without time and level: $bad"
grep -q 'erofs-fetch: debug: READ msg' "$T/kerr" || fail "--log-level=debug shows no debug"
echo "ok: every log line has a time and a level"

note "--log-level=warn: no information lines"
start_daemon --source=dir:"$T/src" --cache-dir="$T/cache" --unverified=allow --log-level=warn
[ "$(open_obj 1 0 erofs,img b2)" = 300000 ] || fail "OPEN"
stop_daemon
! grep -q ': info: \|: debug: ' "$T/kerr" || fail "info at warn level: $(cat "$T/kerr")"

note "a source with a fallback: each spec's numbers in the metrics and the stats line"
mkdir -p "$T/empty"
start_daemon --source=dir:"$T/empty" --source=dir:"$T/src" --cache-dir="$T/cache" \
	--unverified=allow --metrics=unix:"$T/m.sock" --no-prefetch
wait_until test -S "$T/m.sock"
[ "$(open_obj 1 0 erofs,img b2)" = 300000 ] || fail "OPEN through the fallback"
echo "read 1 0 65536" >&3
wait_until metric_is erofs_fetch_read_latency_seconds_count 1
first=$(metric "erofs_fetch_source_spec_bytes_total{source=\"default\",spec=\"dir:$T/empty\"}")
second=$(metric "erofs_fetch_source_spec_bytes_total{source=\"default\",spec=\"dir:$T/src\"}")
[ "$first" = 0 ] && [ "${second:-0}" -ge 65536 ] ||
	fail "per-spec bytes: first '$first', second '$second': $(scrape | grep spec)"
scrape .json >"$T/spec.json"
"$PY" - "$T/spec.json" "dir:$T/src" <<'PYEOF' || fail "per-spec JSON: $(cat "$T/spec.json")"
import json, sys
specs = json.load(open(sys.argv[1]))["sources"][0]["specs"]
assert [s["spec"] for s in specs][1] == sys.argv[2], specs
assert specs[0]["bytes"] == 0 and specs[1]["bytes"] >= 65536, specs
PYEOF
kill -USR1 "$(pgrep -P "$daemon_pid" -x erofs-fetch)"
wait_until grep -q "source stats (default, spec 1 dir:$T/src): reads" "$T/kerr"
stop_daemon
cmp "$T/o0" "$T/src/b2" || fail "the object served through the fallback differs"

note "SIGHUP: sources and map read again, the rest kept with a reason"
cat >"$T/r.conf" <<EOF2
[source first]
spec = dir:$T/src
[map]
* = first
[daemon]
cache-dir = $T/cache
metrics = unix:$T/m.sock
no-prefetch = yes
unverified = allow
log-level = warn
EOF2
start_daemon --config="$T/r.conf"
wait_until test -S "$T/m.sock"
[ "$(open_obj 1 0 erofs,img b1)" = 1048576 ] || fail "OPEN before SIGHUP"
sed -i "s|^spec = dir:$T/src\$|spec = dir:$T/src2|; s|^\\[source first\\]|[source second]|; s|^\\* = first|* = second|; s|^cache-dir = .*|cache-dir = $T/elsewhere|; s|^log-level = warn|log-level = debug|" "$T/r.conf"
fpid=$(pgrep -P "$daemon_pid" -x erofs-fetch)
kill -HUP "$fpid"
wait_until metric_is erofs_fetch_reloads_total 1
grep -q 'warn: SIGHUP: cache-dir cannot change while running' "$T/kerr" ||
	fail "no word on cache-dir: $(grep SIGHUP "$T/kerr")"
grep -q 'info: SIGHUP: log level debug' "$T/kerr" ||
	fail "the log level did not change: $(grep SIGHUP "$T/kerr")"
[ "$(open_obj 2 1 erofs,img b1)" = 200000 ] || fail "OPEN after SIGHUP: not from the new source"
m=$(scrape)
grep -q '^erofs_fetch_source_bytes_total{source="second"}' <<<"$m" ||
	fail "the new source is not in the metrics"
echo "[broken" >>"$T/r.conf"
kill -HUP "$fpid"
wait_until metric_is erofs_fetch_reload_errors_total 1
grep -q 'error: SIGHUP: .* refused: the running configuration stays' "$T/kerr" ||
	fail "a bad file is not refused"
[ "$(open_obj 3 2 erofs,img b1)" = 200000 ] || fail "OPEN after a refused SIGHUP"
echo "read 1 0 4096" >&3
echo "read 2 0 4096" >&3
wait_until metric_is erofs_fetch_read_latency_seconds_count 2
cmp "$T/o0" "$T/src/b1" || fail "the object opened before SIGHUP changed source"
cmp "$T/o1" "$T/src2/b1" || fail "the object opened after SIGHUP"
grep -q 'debug: READ msg' "$T/kerr" || fail "no debug lines after SIGHUP set log-level = debug"
stop_daemon
echo "ok: SIGHUP applied a new map, said what it kept, refused a bad file"

note "READs of the same bytes at once: the source fetches them once (it joins a covering request in flight)"
start_faultserver "$T/src"
start_daemon --source="http://127.0.0.1:$FAULT_PORT/slow/600/0" --cache-dir="$T/cache" \
	--unverified=allow --metrics=unix:"$T/m.sock" --no-prefetch --workers=4
wait_until test -S "$T/m.sock"
[ "$(open_obj 1 0 erofs,img b2)" = 300000 ] || fail "OPEN from the slow server"
echo "read 1 0 65536" >&3
echo "read 1 4096 8192" >&3
echo "read 1 200000 4096" >&3
wait_until metric_is erofs_fetch_read_latency_seconds_count 3
got=$(metric 'erofs_fetch_source_bytes_total{source="default"}')
# the object in one range, and the 128 bytes where a superblock would be
[ "${got:-0}" -ge 300000 ] && [ "$got" -lt $((300000 + 4096)) ] ||
	fail "bytes of a 300000-byte object fetched: '$got' (some twice?): $(grep GET "$T/fault.log")"
stop_daemon
cmp -n 300000 "$T/o0" "$T/src/b2" || fail "the object filled by overlapping READs differs"
echo "ok: overlapping READs on a slow source: $got bytes fetched for 300000"

note "culling: least recently used first, never in use, down to the low mark"
mkdir "$T/cull"
"$T/culltest" "$T/cull" || fail "culltest"

note "culling in the daemon: inuse and cull go to the device"
mkdir -p "$T/cache/cache/Ierofs,x/@0a"
head -c 2097152 /dev/zero >"$T/cache/cache/Ierofs,x/@0a/Dold"
start_daemon --source=dir:"$T/src" --cache-dir="$T/cache" --unverified=allow --metrics=unix:"$T/m.sock" \
	--cache-high=1M --cache-low=512k --cache-interval=1
wait_until test -S "$T/m.sock"
wait_until metric_is erofs_fetch_culled_objects_total 1
# the stand-in logs what the daemon wrote from its own reader thread:
# the daemon may count the cull before that thread has printed it
wait_until grep -q '^cmd: inuse Dold$' "$T/kerr"
wait_until grep -q '^cmd: cull Dold$' "$T/kerr"
grep -q 'info: cull: cache size 2.0 MiB above the high-water mark 1.0 MiB: culled 1 objects' "$T/kerr" ||
	fail "culling not logged: $(grep cull "$T/kerr")"
metric_is erofs_fetch_cache_bytes 2097152 || fail "cache bytes: $(metric erofs_fetch_cache_bytes)"
stop_daemon
echo "operator checks passed"
