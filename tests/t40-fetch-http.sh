#!/bin/bash
# run.sh: group fetch
# (servers on loopback ports chosen free: one such test at a time)
# erofs-fetch get against a real nginx on loopback: whole blobs and ranges
# byte-exact (holes elsewhere), a server that ignores Range, a redirect,
# min_fetch widening, parallel requests over reused connections, a second
# range into an existing cache file, --verify, and the config file.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

www="$T/www"
mkdir -p "$www"
head -c $((24 << 20)) /dev/urandom >"$www/big"
head -c $(((4 << 20) + 123)) /dev/urandom >"$www/odd"
head -c 1000 /dev/urandom >"$www/small"
: >"$www/empty"
# a self-signed certificate for 127.0.0.1, for https
tls=()
if command -v openssl >/dev/null &&
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" \
		-out "$T/cert.pem" 2>"$T/openssl.err"; then
	tls=("$T/cert.pem" "$T/key.pem")
fi
start_nginx "$www" "${tls[@]}"
base="http://127.0.0.1:$NGINX_PORT"

rangecheck() {
	"$PY" "$TOOLS/rangecheck.py" "$@" || fail "rangecheck $*"
}

note "whole blobs"
for f in big odd small empty; do
	"$FETCH" get "$base" "$f" "$T/$f.out" || fail "get $f"
	cmp "$www/$f" "$T/$f.out" || fail "$f differs"
done
[ -z "$(ls "$T" | grep '\.part\.')" ] || fail "temporary files left: $(ls "$T")"

note "ranges, holes elsewhere"
size=$(stat -c %s "$www/odd")
for r in 0-0 4095-4096 $((size - 1))-$((size - 1)) 1000-3000000 4194303-4194400; do
	rm -f "$T/r.out"
	"$FETCH" get --range "$r" --chunk 64k "$base" odd "$T/r.out" || fail "get --range $r"
	rangecheck "$www/odd" "$T/r.out" ${r%-*} ${r#*-}
done
"$FETCH" get --range 4194000- "$base" odd "$T/tail.out" || fail "open-ended range"
rangecheck "$www/odd" "$T/tail.out" 4194000 $((size - 1))
blocks=$(stat -c %b "$T/tail.out")
[ $((blocks * 512)) -lt $((1 << 20)) ] || fail "a small range did not leave a sparse file ($blocks blocks)"

note "past the end is an error, and no file"
expect_fail "$FETCH" get --range 0-$size "$base" odd "$T/past.out" 2>"$T/err"
grep -q "past the end" "$T/err" || fail "no clear message: $(cat "$T/err")"
[ ! -e "$T/past.out" ] || fail "created a file for a bad range"

note "a second range into an existing cache file keeps the first"
rm -f "$T/two.out"
"$FETCH" get --range 10-20 "$base" big "$T/two.out"
"$FETCH" get --range 20000000-20100000 "$base" big "$T/two.out"
rangecheck "$www/big" "$T/two.out" 10 20 20000000 20100000
[ -z "$(ls "$T" | grep '\.part\.')" ] || fail "staging file left"

note "a server that ignores Range (200 with the whole body)"
: >"$T/nginx/access.log"
"$FETCH" get --range 5000000-5100000 "$base/norange" big "$T/nr.out" 2>"$T/err" ||
	fail "get from /norange: $(cat "$T/err")"
grep -q "ignores Range" "$T/err" || fail "no warning about a server ignoring Range"
rangecheck "$www/big" "$T/nr.out" 5000000 5100000
grep -q " 200 GET /norange/big bytes=5000000-5100000" "$T/nginx/access.log" ||
	fail "nginx did not ignore Range: $(cat "$T/nginx/access.log")"
"$FETCH" get "$base/norange" odd "$T/nrw.out" && cmp "$www/odd" "$T/nrw.out" ||
	fail "whole blob through /norange"

note "redirects are followed"
"$FETCH" get --range 7-77 "$base/moved" small "$T/mv.out" || fail "get through a redirect"
rangecheck "$www/small" "$T/mv.out" 7 77

note "min_fetch widens a small read to aligned bounds"
"$FETCH" get --json --range 70000-70010 --min-fetch 64k "$base" big "$T/mf.out" >"$T/mf.json"
rangecheck "$www/big" "$T/mf.out" 65536 131071
[ "$(json_field "$T/mf.json" bytes)" = 65536 ] || fail "min_fetch: fetched $(json_field "$T/mf.json" bytes) bytes"
"$FETCH" get --json --range $((size - 10))- --min-fetch 1M "$base" odd "$T/mf2.out" >"$T/mf2.json"
rangecheck "$www/odd" "$T/mf2.out" $((4 << 20)) $((size - 1))

note "parallel requests over reused connections"
: >"$T/nginx/access.log"
"$FETCH" get --json --workers 8 --chunk 1M "$base" big "$T/par.out" >"$T/par.json" ||
	fail "parallel get"
cmp "$www/big" "$T/par.out" || fail "parallel get differs"
reqs=$(grep -c " 206 GET /big " "$T/nginx/access.log")
conns=$(awk '$4 == "/big" {print $1}' "$T/nginx/access.log" | sort -u | wc -l)
echo "requests $reqs over $conns connections"
[ "$reqs" = 24 ] || fail "expected 24 range requests, nginx saw $reqs"
[ "$conns" -ge 2 ] || fail "requests were not parallel (1 connection)"
[ "$conns" -le 8 ] || fail "connections not reused: $conns for 8 workers"
[ "$(json_field "$T/par.json" retries)" = 0 ] || fail "retries on a healthy server"

note "small adjacent reads are coalesced into fewer requests"
: >"$T/nginx/access.log"
"$FETCH" get --json --workers 1 --chunk 64k "$base" odd "$T/co.out" >"$T/co.json" || fail "coalescing get"
cmp "$www/odd" "$T/co.out" || fail "coalesced get differs"
reqs=$(grep -c " 206 GET /odd " "$T/nginx/access.log")
echo "65 reads of 64k in $reqs requests, $(json_field "$T/co.json" coalesced) coalesced"
[ "$reqs" -lt 20 ] || fail "little coalescing: $reqs requests"
[ "$(json_field "$T/co.json" coalesced)" -gt 0 ] || fail "stats show no coalescing"

note "several gets at once"
pids=()
for i in 1 2 3 4; do
	"$FETCH" get --quiet --range $((i * 1000000))-$((i * 3000000)) "$base" big "$T/c$i.out" &
	pids+=($!)
done
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}" || fail "concurrent get $i"
	rangecheck "$www/big" "$T/c$i.out" $((i * 1000000)) $((i * 3000000))
done

note "--verify"
digest=$(sha256sum "$www/big" | cut -d' ' -f1)
"$FETCH" get --verify="sha256:$digest" "$base" big "$T/v.out" || fail "verify of a good blob"
cmp "$www/big" "$T/v.out" || fail "verified blob differs"
bad=$(echo "$digest" | tr 0-9a-f 1-9a-f0)
expect_fail "$FETCH" get --verify="$bad" "$base" big "$T/vbad.out" 2>"$T/err"
grep -q "digest mismatch" "$T/err" || fail "no digest message: $(cat "$T/err")"
[ ! -e "$T/vbad.out" ] || fail "a blob that failed --verify was written"
grep -q '\.part\.' <<<"$(ls "$T")" && fail "temporary file left after a failed verify"

note "config file: a named source and a map"
cat >"$T/fetch.conf" <<EOF
# test configuration
[source web]
spec = $base
workers = 3
min_fetch = 4k
[source local]
spec = dir:$www
[map]
image-a = web small
* = local
[daemon]
cachedir = /nowhere
EOF
"$FETCH" get -c "$T/fetch.conf" web odd "$T/cf1.out" && cmp "$www/odd" "$T/cf1.out" || fail "config source by name"
"$FETCH" get -c "$T/fetch.conf" - image-a "$T/cf2.out" && cmp "$www/small" "$T/cf2.out" || fail "config map"
"$FETCH" get -c "$T/fetch.conf" - big "$T/cf3.out" && cmp "$www/big" "$T/cf3.out" || fail "config default"
printf '[source x]\nspec = %s\n[map]\na = nosuch\n' "$base" >"$T/bad.conf"
expect_fail "$FETCH" get -c "$T/bad.conf" - a "$T/cf4.out" 2>"$T/err"
grep -q 'bad.conf:4: map: no source named "nosuch"' "$T/err" || fail "config error message: $(cat "$T/err")"

if [ ${#tls[@]} = 2 ]; then
	note "https with --cacert; an unknown certificate fails at once"
	tbase="https://127.0.0.1:$NGINX_TLS_PORT"
	"$FETCH" get --cacert "$T/cert.pem" --workers 3 --chunk 1M "$tbase" odd "$T/tls.out" ||
		fail "https get"
	cmp "$www/odd" "$T/tls.out" || fail "https bytes"
	"$FETCH" get --cacert "$T/cert.pem" "$tbase" big "$T/tlsbig.out" &&
		cmp "$www/big" "$T/tlsbig.out" || fail "https big"
	if "$FETCH" get --json "$tbase" small "$T/tlsbad.out" >"$T/s.json" 2>"$T/err"; then
		fail "an unknown certificate was accepted"
	fi
	cat "$T/err"
	grep -qi "certificate" "$T/err" || fail "no certificate message"
	[ "$(json_field "$T/s.json" retries)" = 0 ] || fail "a certificate failure was retried"
	[ ! -e "$T/tlsbad.out" ] || fail "a refused https get left a file"
else
	echo "openssl could not make a certificate: https not tested ($(cat "$T/openssl.err"))"
fi

note "the library API against nginx (tests/tools/sourcetest.c)"
build_sourcetest
"$SOURCETEST" "$base" big "$www/big" 2>"$T/err" || fail "sourcetest: $(tail -n 5 "$T/err")"

note "usage errors"
expect_fail "$FETCH" get "$base" big
expect_fail "$FETCH" get --range 9-3 "$base" big "$T/u.out"
expect_fail "$FETCH" get "$base" ../etc/passwd "$T/u.out"
[ ! -e "$T/u.out" ] || fail "usage error created a file"
echo "all fetch-http checks passed"
