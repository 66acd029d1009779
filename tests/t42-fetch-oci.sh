#!/bin/bash
# run.sh: group fetch
# (servers on loopback ports chosen free: one such test at a time)
# erofs-fetch get from OCI registries on loopback: Debian's docker-registry
# (blobs pushed with its HTTP API, fetched by digest, whole, by range and
# verified; then again behind htpasswd Basic auth), and the bearer-token
# flow (401 + WWW-Authenticate: Bearer -> token endpoint -> retry ->
# redirect to storage) against tests/tools/faultserver.py --registry.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"

repo=erofs/test-blobs
mkdir -p "$T/blobs"
head -c $((5 << 20)) /dev/urandom >"$T/blobs/big"
head -c 777 /dev/urandom >"$T/blobs/small"
dbig=$(sha256sum "$T/blobs/big" | cut -d' ' -f1)
dsmall=$(sha256sum "$T/blobs/small" | cut -d' ' -f1)

# --- bearer tokens, with the fault server as registry and token endpoint
note "bearer token flow (emulated registry)"
start_faultserver "$T/blobs" --registry "$repo"
oci="oci://127.0.0.1:$FAULT_PORT/$repo?insecure"
"$FETCH" get --json --verify "$oci" "sha256:$dbig" "$T/tok.out" >"$T/s.json" 2>"$T/err" ||
	fail "token flow: $(cat "$T/err")"
cmp "$T/blobs/big" "$T/tok.out" || fail "token flow: wrong bytes"
cat "$T/fault.log"
grep -q "^HEAD /v2/$repo/blobs/sha256:$dbig - 401 -" "$T/fault.log" || fail "no anonymous 401 first"
grep -q "^GET /token?service=fault-registry&scope=repository%3A${repo//\//%2F}%3Apull" "$T/fault.log" ||
	fail "no token request with service and scope"
grep -q "^GET /v2/$repo/blobs/sha256:$dbig bytes=.* 307 Bearer" "$T/fault.log" ||
	fail "no retry with the bearer token"
grep -q "^GET /storage/big bytes=0-" "$T/fault.log" || fail "redirect to storage not followed"
ntok=$(grep -c "^GET /token" "$T/fault.log")
[ "$ntok" -le 2 ] || fail "$ntok token requests for one get"
[ "$(json_field "$T/s.json" retries)" = 0 ] || fail "a 401 counted as a retry"

note "range by bare digest through the token flow"
expect_fail "$FETCH" get --range 1000-1999 "$oci" "$dsmall" "$T/tok2.out" 2>"$T/err"
grep -q "past the end" "$T/err" || fail "range past the end: $(cat "$T/err")"
[ ! -e "$T/tok2.out" ] || fail "a bad range left a file"
"$FETCH" get --range 100-199 "$oci" "$dsmall" "$T/tok3.out" || fail "bare digest range"
"$PY" "$TOOLS/rangecheck.py" "$T/blobs/small" "$T/tok3.out" 100 199 || fail "token range bytes"

note "a token endpoint that wants credentials"
kill "${_servers[-1]}"
start_faultserver "$T/blobs" --registry "$repo" --token-auth "alice:s3cret"
oci="oci://127.0.0.1:$FAULT_PORT/$repo?insecure"
"$FETCH" get --auth alice:s3cret "$oci" "$dsmall" "$T/cred.out" || fail "token with credentials"
cmp "$T/blobs/small" "$T/cred.out" || fail "token with credentials: bytes"
expect_fail "$FETCH" get --auth alice:wrong "$oci" "$dsmall" "$T/nocred.out" 2>"$T/err"
cat "$T/err"
grep -q "token endpoint .*HTTP 401" "$T/err" || fail "no clear message for refused credentials"
[ ! -e "$T/nocred.out" ] || fail "refused credentials left a file"

# --- the real registry
[ -x "$REGISTRY" ] || skip "the bearer flow passed; Debian's docker-registry is not installed ($REGISTRY): scripts/install-deps.sh"

note "docker-registry: push with the HTTP API, get by digest"
start_registry "$T/reg"
push "$T/blobs/big" "$dbig"
push "$T/blobs/small" "$dsmall"
oci="oci://$REG/$repo?insecure"
"$FETCH" get --json --verify --workers 4 --chunk 1M "$oci" "sha256:$dbig" "$T/r1.out" >"$T/s.json" ||
	fail "get from docker-registry"
cmp "$T/blobs/big" "$T/r1.out" || fail "registry blob differs"
[ "$(json_field "$T/s.json" requests)" -ge 6 ] || fail "expected ranged requests"
"$FETCH" get --range 4000000-4500000 "$oci" "$dbig" "$T/r2.out" || fail "registry range"
"$PY" "$TOOLS/rangecheck.py" "$T/blobs/big" "$T/r2.out" 4000000 4500000 || fail "registry range bytes"
"$FETCH" get "$oci" "$dsmall" "$T/r3.out" && cmp "$T/blobs/small" "$T/r3.out" || fail "small blob"

note "docker-registry: unknown digest, bad keys"
nosuch=$(echo -n nothing | sha256sum | cut -d' ' -f1)
expect_fail "$FETCH" get "$oci" "$nosuch" "$T/r4.out" 2>"$T/err"
grep -q "HTTP 404" "$T/err" || fail "unknown blob: $(cat "$T/err")"
[ ! -e "$T/r4.out" ] || fail "unknown blob left a file"
expect_fail "$FETCH" get "$oci" "latest" "$T/r5.out" 2>"$T/err"
grep -q "sha256 digest" "$T/err" || fail "bad key: $(cat "$T/err")"
expect_fail "$FETCH" get --verify "$oci" "$dsmall" "$T/r6.out" --range 0-9 2>"$T/err"
grep -q "whole blob" "$T/err" || fail "--verify with a range: $(cat "$T/err")"

note "docker-registry with htpasswd: Basic auth"
hash=$("$PY" -c 'import crypt; print(crypt.crypt("pw1", crypt.mksalt(crypt.METHOD_BLOWFISH)))' 2>/dev/null) ||
	{ echo "no bcrypt in this python: Basic auth part not run"; echo "all fetch-oci checks passed"; exit 0; }
echo "bob:$hash" >"$T/htpasswd"
start_registry "$T/reg2" "$T/htpasswd"
push "$T/blobs/small" "$dsmall" -u bob:pw1
oci="oci://$REG/$repo?insecure"
"$FETCH" get --auth bob:pw1 "$oci" "$dsmall" "$T/b1.out" || fail "Basic auth get"
cmp "$T/blobs/small" "$T/b1.out" || fail "Basic auth bytes"
expect_fail "$FETCH" get "$oci" "$dsmall" "$T/b2.out" 2>"$T/err"
grep -q "HTTP 401" "$T/err" || fail "anonymous against htpasswd: $(cat "$T/err")"
[ ! -e "$T/b2.out" ] || fail "refused get left a file"
echo "all fetch-oci checks passed"
