#!/bin/bash
# run.sh: alone
# (timings of a fraction of a second against back-offs and deadlines)
# erofs-fetch sources for operators: a mirror tried before the registry,
# a failing one skipped for a back-off that doubles and then probed
# again; --retries 0 is no retry; a server dripping bytes is cut by the
# deadline; bearer tokens renewed before they expire; registry
# credentials from a Docker config.json (auths) and from a credential
# helper (credHelpers, credsStore), against the fault server's token
# endpoint and against Debian's docker-registry behind htpasswd; no
# password, token or helper answer ever appears in the output.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

www="$T/www"
mkdir -p "$www"
head -c $((8 << 20)) /dev/urandom >"$www/blob"
head -c 300000 /dev/urandom >"$www/small"
head -c $((4 << 20)) /dev/urandom >"$www/big"
start_faultserver "$www"
base="http://127.0.0.1:$FAULT_PORT"

# spec_field FILE INDEX NAME: a number of source INDEX in the --json line
spec_field() {
	"$PY" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["sources"][int(sys.argv[2])][sys.argv[3]])' "$1" "$2" "$3"
}

# elapsed_ms START_NS
elapsed_ms() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

note "a dead mirror: the registry answers, the mirror is skipped after 3 failures"
"$FETCH" get --json --workers 1 --chunk 64k --fallback "$base/ok" \
	"$base/500/0" blob "$T/m1.out" >"$T/m1.json" 2>"$T/err" || fail "fallback get: $(cat "$T/err")"
cmp "$www/blob" "$T/m1.out" || fail "fallback get: wrong bytes"
n=$(spec_field "$T/m1.json" 0 requests)
[ "$n" = 3 ] || fail "the mirror was asked $n times, not 3 before its back-off"
grep -q "$base/500/0 keeps failing: skipped for 1000 ms" "$T/err" || fail "no back-off message: $(cat "$T/err")"
grep -q "trying the next source" "$T/err" || fail "no fallback message"
skips=$(spec_field "$T/m1.json" 0 skips)
[ "$skips" -ge 4 ] || fail "only $skips skips of the mirror"
[ "$(spec_field "$T/m1.json" 0 errors)" = 3 ] || fail "mirror errors not counted"
[ "$(spec_field "$T/m1.json" 0 backing_off)" = 1 ] || fail "mirror not shown as backing off"
[ "$(json_field "$T/m1.json" fallbacks)" -ge 7 ] || fail "fallbacks not counted"
[ "$(json_field "$T/m1.json" retries)" = 0 ] || fail "a fallback counted as a retry"
grep -q "stats: source $base/500/0: .* skips $skips" "$T/err" || fail "no per-source stats line"

note "the back-off ends: the mirror is probed again, and backs off longer"
: >"$T/fault.log"
"$FETCH" get --json --workers 1 --chunk 128k --fallback "$base/slow/400/0" \
	"$base/500/0" blob "$T/m2.out" >"$T/m2.json" 2>"$T/err" || fail "probe get: $(cat "$T/err")"
cmp "$www/blob" "$T/m2.out" || fail "probe get: wrong bytes"
n=$(spec_field "$T/m2.json" 0 requests)
[ "$n" -ge 4 ] && [ "$n" -le 6 ] || fail "the mirror was asked $n times: expected 3, then probes after 1 s and 2 s"
grep -q "skipped for 2000 ms" "$T/err" || fail "the back-off did not double: $(cat "$T/err")"

note "a mirror that recovers is used again"
: >"$T/fault.log"
"$FETCH" get --json --workers 1 --chunk 128k --fallback "$base/slow/400/0" \
	"$base/500/3" blob "$T/m3.out" >"$T/m3.json" 2>"$T/err" || fail "recovery get: $(cat "$T/err")"
cmp "$www/blob" "$T/m3.out" || fail "recovery get: wrong bytes"
[ "$(spec_field "$T/m3.json" 0 bytes)" -gt 0 ] || fail "the recovered mirror served nothing: $(cat "$T/err")"
[ "$(spec_field "$T/m3.json" 0 backing_off)" = 0 ] || fail "the recovered mirror still backs off"

note "a mirror without the object: the registry, no back-off"
"$FETCH" get --json --fallback "$base/ok" "$base/ok/nodir" small "$T/m4.out" >"$T/m4.json" 2>"$T/err" ||
	fail "404 fallback: $(cat "$T/err")"
cmp "$www/small" "$T/m4.out" || fail "404 fallback: wrong bytes"
[ "$(spec_field "$T/m4.json" 0 backing_off)" = 0 ] || fail "a 404 made the mirror back off"

note "the same from a configuration file"
cat >"$T/conf" <<EOF
[source registry]
spec = $base/ok
[source mirror]
spec = $base/500/0
fallback = registry
retries = 0
EOF
"$FETCH" get -c "$T/conf" mirror small "$T/c1.out" 2>"$T/err" || fail "config fallback: $(cat "$T/err")"
cmp "$www/small" "$T/c1.out" || fail "config fallback: wrong bytes"
printf '[source a]\nspec = %s\nfallback = nosuch\n' "$base/ok" >"$T/conf2"
expect_fail "$FETCH" get -c "$T/conf2" a small "$T/c2.out" 2>"$T/err"
grep -q 'conf2:3: fallback: no source named "nosuch"' "$T/err" || fail "bad fallback: $(cat "$T/err")"

note "--retries 0 is no retry; --retries 2 is two"
# (the server logs a request after answering it: count on the client side)
expect_fail "$FETCH" get --json --retries 0 "$base/500g/0" small "$T/r0.out" >"$T/r0.json" 2>"$T/err"
n=$(json_field "$T/r0.json" requests)
[ "$n" = 2 ] || fail "--retries 0 made $n requests, not a HEAD and a GET"
[ "$(json_field "$T/r0.json" retries)" = 0 ] || fail "--retries 0 retried"
expect_fail "$FETCH" get --json --retries 2 "$base/500g/0" small "$T/r2.out" >"$T/r2.json" 2>"$T/err"
n=$(json_field "$T/r2.json" requests)
[ "$n" = 4 ] || fail "--retries 2 made $n requests, not a HEAD and 3 GETs"

note "credentials in a URL are used, never shown"
: >"$T/fault.log"
usecret="url-$RANDOM-Sekrit"
expect_fail "$FETCH" get --retries 0 "http://joe:$usecret@127.0.0.1:$FAULT_PORT/500/0" small "$T/u.out" \
	>"$T/u.stdout" 2>"$T/u.err"
sleep 0.2
grep -q "^HEAD /500/0/small - 500 Basic$" "$T/fault.log" || fail "URL credentials not used: $(cat "$T/fault.log")"
grep -q "http://127.0.0.1:$FAULT_PORT/500/0/small: HTTP 500" "$T/u.err" || fail "URL message: $(cat "$T/u.err")"
! grep -q "$usecret" "$T/u.err" || fail "a URL password in a message: $(cat "$T/u.err")"

note "a server dripping 1.5 KiB/s: the deadline ends the request"
t0=$(date +%s%N)
expect_fail "$FETCH" get --json --timeout 2000 --deadline 3000 "$base/drip/1536" big "$T/d1.out" \
	>"$T/d1.json" 2>"$T/err"
ms=$(elapsed_ms "$t0")
cat "$T/err"
echo "--deadline 3000: ${ms} ms"
[ "$ms" -lt 5000 ] || fail "--deadline 3000 took $ms ms"
grep -q "deadline of 3000 ms reached" "$T/err" || fail "no deadline message"
[ "$(json_field "$T/d1.json" deadlines)" = 1 ] || fail "deadline not counted"
[ ! -e "$T/d1.out" ] || fail "a file was left"
t0=$(date +%s%N)
expect_fail "$FETCH" get --timeout 2000 --retries 1 "$base/drip/1536" big "$T/d2.out" 2>"$T/err"
ms=$(elapsed_ms "$t0")
echo "--timeout 2000 --retries 1, no --deadline: ${ms} ms"
[ "$ms" -lt 6500 ] || fail "(retries + 1) * timeout = 4 s, but the get took $ms ms"
grep -q "deadline of 4000 ms reached" "$T/err" || fail "no default deadline: $(cat "$T/err")"

note "the daemon: --source again is a fallback, --prefetch-rate, --deadline"
# (it opens its sources before the control device: a bad one fails first)
rc=0
"$FETCH" --source=dir:"$www" --source="bogus://joe:$usecret@h/x" --devnode="$T/nodev" 2>"$T/dm1.err" || rc=$?
[ $rc = 1 ] || fail "daemon with a bad fallback: exit $rc"
grep -q 'unknown source "bogus://h/x"' "$T/dm1.err" || fail "daemon fallback: $(cat "$T/dm1.err")"
! grep -q "$usecret" "$T/dm1.err" || fail "a URL password in a daemon message"
rc=0
"$FETCH" -s dir:"$www" -s "$base/ok" --prefetch-rate=2M --deadline=5000 --retries=0 \
	--devnode="$T/nodev" 2>"$T/dm2.err" || rc=$?
[ $rc = 1 ] && grep -q "open $T/nodev" "$T/dm2.err" || fail "daemon options: exit $rc: $(cat "$T/dm2.err")"
rc=0
"$FETCH" -s dir:"$www" --prefetch-rate=fast 2>"$T/dm3.err" || rc=$?
[ $rc = 16 ] && grep -q "prefetch-rate: 'fast' is not a size" "$T/dm3.err" || fail "bad rate: exit $rc: $(cat "$T/dm3.err")"

repo=erofs/test-blobs
dsmall=$(sha256sum "$www/small" | cut -d' ' -f1)
dblob=$(sha256sum "$www/blob" | cut -d' ' -f1)

# token_get NAME SERVER-OPTIONS...: a fresh emulated registry, the blob
# fetched a request at a time; sets ntok (tokens) and nexp (requests
# refused for an expired token)
token_get() {
	local name=$1; shift
	kill "${_servers[-1]}"
	start_faultserver "$www" --registry "$repo" "$@"
	: >"$T/fault.log"
	"$FETCH" get --json --workers 1 --chunk 64k "oci://127.0.0.1:$FAULT_PORT/$repo?insecure" \
		"$dblob" "$T/$name.out" >"$T/$name.json" 2>"$T/err" || fail "$name: $(cat "$T/err")"
	cmp "$www/blob" "$T/$name.out" || fail "$name: wrong bytes"
	ntok=$(grep -c "^GET /token" "$T/fault.log")
	nexp=$(grep -c " 401 Bearer$" "$T/fault.log" || true)
}

note "bearer tokens renewed before they expire (2 s tokens)"
token_get t1 --token-ttl 2 --delay-ms 600
echo "$ntok tokens, $nexp requests with an expired one"
[ "$ntok" -ge 3 ] || fail "only $ntok tokens in a 5 s get with 2 s tokens"
[ "$nexp" = 0 ] || fail "$nexp requests went out with an expired token"

note "a token that expires before it says: the 401 gets a new one"
token_get t2 --token-ttl 1 --expires-in 300 --delay-ms 400
echo "$ntok tokens after $nexp refusals of an expired one"
[ "$nexp" -ge 1 ] && [ "$ntok" -gt "$nexp" ] || fail "no new token after a 401"
[ "$(json_field "$T/t2.json" retries)" = 0 ] || fail "a 401 with a token counted as a retry"

kill "${_servers[-1]}"
pw="pw-$RANDOM-Sekrit"
start_faultserver "$www" --registry "$repo" --token-auth "alice:$pw"
reg="127.0.0.1:$FAULT_PORT"
oci="oci://$reg/$repo?insecure"
b64=$(printf 'alice:%s' "$pw" | base64 -w0)

note "Docker config.json auths: credentials for the token endpoint"
mkdir -p "$T/dc"
printf '{"auths": {"https://other.example": {"auth": "eDp5"}, "%s": {"auth": "%s"}}}\n' "$reg" "$b64" >"$T/dc/config.json"
DOCKER_CONFIG="$T/dc" "$FETCH" get "$oci" "$dsmall" "$T/a1.out" >"$T/a1.stdout" 2>"$T/a1.err" ||
	fail "auths: $(cat "$T/a1.err")"
cmp "$www/small" "$T/a1.out" || fail "auths: wrong bytes"
grep -q "credentials for $reg from $T/dc/config.json" "$T/a1.err" || fail "auths: no message: $(cat "$T/a1.err")"
"$FETCH" get --docker-config "$T/dc/config.json" "$oci" "$dsmall" "$T/a2.out" 2>"$T/a2.err" ||
	fail "--docker-config: $(cat "$T/a2.err")"
expect_fail env DOCKER_CONFIG="$T/dc" "$FETCH" get --docker-config none "$oci" "$dsmall" "$T/a3.out" 2>"$T/a3.err"
grep -q "token endpoint .*HTTP 401" "$T/a3.err" || fail "--docker-config none: $(cat "$T/a3.err")"
printf '{"auths": {"%s": {"auth": "not*base64"}}}\n' "$reg" >"$T/dc/bad.json"
expect_fail "$FETCH" get --docker-config "$T/dc/bad.json" "$oci" "$dsmall" "$T/a4.out" 2>"$T/a4.err"
grep -q "not base64 of user:password" "$T/a4.err" || fail "bad auth entry: $(cat "$T/a4.err")"

note "credential helpers: credHelpers per host, credsStore for the rest"
mkdir -p "$T/bin"
cat >"$T/bin/docker-credential-fake" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 3
read -r host
echo "\$host" >>"$T/helper.log"
[ "\$host" = "$reg" ] || { echo "credentials not found in native keychain"; exit 1; }
printf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}\n' "\$host" "$pw"
EOF
printf '#!/bin/sh\nsleep 30\n' >"$T/bin/docker-credential-slow"
chmod +x "$T/bin/docker-credential-fake" "$T/bin/docker-credential-slow"
printf '{"credHelpers": {"%s": "fake"}}\n' "$reg" >"$T/dc/helpers.json"
PATH="$T/bin:$PATH" "$FETCH" get --docker-config "$T/dc/helpers.json" "$oci" "$dsmall" "$T/h1.out" \
	>"$T/h1.stdout" 2>"$T/h1.err" || fail "credHelpers: $(cat "$T/h1.err")"
cmp "$www/small" "$T/h1.out" || fail "credHelpers: wrong bytes"
grep -qx "$reg" "$T/helper.log" || fail "the helper was not given the host"
printf '{"credsStore": "fake", "auths": {"%s": {}}}\n' "$reg" >"$T/dc/store.json"
PATH="$T/bin:$PATH" "$FETCH" get --docker-config "$T/dc/store.json" "$oci" "$dsmall" "$T/h2.out" \
	>"$T/h2.stdout" 2>"$T/h2.err" || fail "credsStore: $(cat "$T/h2.err")"
printf '{"credHelpers": {"%s": "../x"}}\n' "$reg" >"$T/dc/evil.json"
expect_fail "$FETCH" get --docker-config "$T/dc/evil.json" "$oci" "$dsmall" "$T/h3.out" 2>"$T/h3.err"
grep -q 'bad credential helper name' "$T/h3.err" || fail "helper name not checked: $(cat "$T/h3.err")"
printf '#!/bin/sh\nprintf '"'"'{"Username":"alice","Secret":"%s"} and more\\n'"'"'\n' "$pw" >"$T/bin/docker-credential-junk"
chmod +x "$T/bin/docker-credential-junk"
printf '{"credHelpers": {"%s": "junk"}}\n' "$reg" >"$T/dc/junk.json"
PATH="$T/bin:$PATH" expect_fail "$FETCH" get --docker-config "$T/dc/junk.json" "$oci" "$dsmall" "$T/h7.out" 2>"$T/h7.err"
grep -q "docker-credential-junk for $reg: its answer is not JSON: at byte" "$T/h7.err" || fail "helper answer not parsed strictly: $(cat "$T/h7.err")"
printf '{"credsStore": "absent", "auths": {"%s": {"auth": "%s"}}}\n' "$reg" "$b64" >"$T/dc/absent.json"
"$FETCH" get --docker-config "$T/dc/absent.json" "$oci" "$dsmall" "$T/h5.out" \
	>"$T/h5.stdout" 2>"$T/h5.err" || fail "a missing credsStore helper: $(cat "$T/h5.err")"
printf '{"credHelpers": {"%s": "absent"}, "auths": {"%s": {"auth": "%s"}}}\n' "$reg" "$reg" "$b64" >"$T/dc/absent2.json"
"$FETCH" get --docker-config "$T/dc/absent2.json" "$oci" "$dsmall" "$T/h6.out" \
	>"$T/h6.stdout" 2>"$T/h6.err" || fail "a missing credHelpers helper: $(cat "$T/h6.err")"
grep -q "docker-credential-absent for $reg: not found on PATH" "$T/h6.err" || fail "missing helper: $(cat "$T/h6.err")"
printf '{"credHelpers": {"%s": "slow"}}\n' "$reg" >"$T/dc/slow.json"
t0=$(date +%s%N)
PATH="$T/bin:$PATH" expect_fail "$FETCH" get --docker-config "$T/dc/slow.json" "$oci" "$dsmall" "$T/h4.out" 2>"$T/h4.err"
ms=$(elapsed_ms "$t0")
grep -q "docker-credential-slow for $reg: Connection timed out" "$T/h4.err" || fail "slow helper: $(cat "$T/h4.err")"
[ "$ms" -lt 15000 ] || fail "a hanging helper held the get for $ms ms"

note "no secret in any output"
for f in "$T"/*.err "$T"/*.stdout "$T"/*.json; do
	if grep -qF -e "$pw" -e "$b64" "$f"; then
		fail "a secret in $f: $(cat "$f")"
	fi
	grep -q "tok[0-9]*x[0-9a-f]\{16\}" "$f" && fail "a token in $f"
done

# --- the real registry behind htpasswd
[ -x /usr/bin/docker-registry ] || skip "the emulated checks passed; Debian's docker-registry is not installed (scripts/install-deps.sh)"
hash=$("$PY" -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))' "$pw" 2>/dev/null) ||
	skip "the emulated checks passed; no bcrypt in this python for htpasswd"
echo "bob:$hash" >"$T/htpasswd"
port=$(free_port)
mkdir -p "$T/reg/data"
cat >"$T/reg/config.yml" <<EOF
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $T/reg/data}}
http: {addr: 127.0.0.1:$port}
auth: {htpasswd: {realm: erofs-test, path: $T/htpasswd}}
EOF
/usr/bin/docker-registry serve "$T/reg/config.yml" >"$T/reg/log" 2>&1 &
_servers+=($!)
wait_port "$port" 20 || fail "docker-registry did not start: $(cat "$T/reg/log")"
reg="127.0.0.1:$port"
loc=$(curl -sS -D - -o /dev/null -u "bob:$pw" -X POST "http://$reg/v2/$repo/blobs/uploads/" |
	tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case "$loc" in /*) loc="http://$reg$loc" ;; esac
case "$loc" in *\?*) loc="$loc&" ;; *) loc="$loc?" ;; esac
code=$(curl -sS -o /dev/null -w '%{http_code}' -u "bob:$pw" -X PUT \
	-H 'Content-Type: application/octet-stream' --data-binary "@$www/small" "${loc}digest=sha256:$dsmall")
[ "$code" = 201 ] || fail "push: HTTP $code"
oci="oci://$reg/$repo?insecure"

note "docker-registry with htpasswd: auths, then a credential helper"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$reg" "$(printf 'bob:%s' "$pw" | base64 -w0)" >"$T/dc/reg.json"
"$FETCH" get --docker-config "$T/dc/reg.json" "$oci" "$dsmall" "$T/g1.out" 2>"$T/g1.err" ||
	fail "registry auths: $(cat "$T/g1.err")"
cmp "$www/small" "$T/g1.out" || fail "registry auths: wrong bytes"
sed -i "s/alice/bob/; s/\"\$host\" = \"[^\"]*\"/\"\$host\" = \"$reg\"/" "$T/bin/docker-credential-fake"
printf '{"credHelpers": {"%s": "fake"}}\n' "$reg" >"$T/dc/reghelp.json"
PATH="$T/bin:$PATH" "$FETCH" get --docker-config "$T/dc/reghelp.json" "$oci" "$dsmall" "$T/g2.out" 2>"$T/g2.err" ||
	fail "registry helper: $(cat "$T/g2.err")"
cmp "$www/small" "$T/g2.out" || fail "registry helper: wrong bytes"
expect_fail "$FETCH" get --docker-config none "$oci" "$dsmall" "$T/g3.out" 2>"$T/g3.err"
grep -q "HTTP 401" "$T/g3.err" || fail "anonymous: $(cat "$T/g3.err")"
for f in "$T"/g*.err; do
	grep -qF "$pw" "$f" && fail "the password in $f"
done
echo "all fetch-sources checks passed"
