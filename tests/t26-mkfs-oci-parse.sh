#!/bin/bash
# mkfs --oci without a network: the strict JSON reader (RFC 8259 only,
# bounded nesting, surrogates, u64 bounds), image references (registry,
# Docker Hub defaults, digests, oci-layout:DIR[:TAG]), and indexes,
# manifests and configs (platform choice, tags, digests, sizes, layer
# media types, diff_ids), and 20000 damaged documents through all of
# them, by tests/tools/ocitest.c linked with the library sources, under
# ASan+UBSan when the compiler has them.
. "$(dirname "$0")/lib.sh"
command -v cc >/dev/null || skip "no C compiler for tests/tools/ocitest.c"

san=(-fsanitize=address,undefined -fno-omit-frame-pointer)
echo 'int main(void) { return 0; }' >"$T/probe.c"
cc "${san[@]}" -o "$T/probe" "$T/probe.c" 2>/dev/null || san=()
cc -g -Wall -Werror "${san[@]}" -include "$BUILD/config.h" -I"$TOP/include" \
	-o "$T/ocitest" "$TOOLS/ocitest.c" "$TOP/lib/jsonread.c" \
	"$TOP/lib/oci_ref.c" "$TOP/lib/oci_manifest.c" "$TOP/lib/msg.c" \
	"$TOP/lib/sha256.c" ||
	fail "cannot build ocitest"
"$T/ocitest" 2>"$T/err" || fail "ocitest: $(cat "$T/err")"
# the messages name what was wrong
grep -q "no image for platform linux/arm64/v7" "$T/err" || fail "no platform message: $(head -n 5 "$T/err")"
grep -q "is not a tar (plain, gzip or zstd)" "$T/err" || fail "no media type message"
grep -q "2 diff_ids for 3 layers" "$T/err" || fail "no diff_ids message"
grep -q 'bad image reference "h.io/App"' "$T/err" || fail "no reference message"
echo "all oci parsing checks passed"
