#!/bin/bash
# Builds the libFuzzer target tests/fuzz/fsck_fuzzer.c (image open and the
# whole check) with ASan and UBSan, replays every input in
# tests/fuzz/regressions/, then fuzzes for FUZZ_SECONDS (default 150) from
# a seed corpus of small images made by our mkfs.  Any crash, leak,
# sanitizer report or timeout fails; the input is kept in $TESTS_OUT.
. "$(dirname "$0")/lib.sh"
FUZZ_SECONDS=${FUZZ_SECONDS:-150}
CLANG=${CLANG:-$(command -v clang-14 || command -v clang || true)}
[ -n "$CLANG" ] || skip "clang is not installed (Debian package clang)"
[ -f "$TOP/config.h" ] || fail "config.h missing: configure the tree first"

# does this clang have the libFuzzer runtime?
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$T/probe.c"
"$CLANG" -fsanitize=fuzzer "$T/probe.c" -o "$T/probe" 2>"$T/probe.err" ||
	skip "$CLANG has no libFuzzer runtime (Debian package libclang-rt-14-dev): $(head -n 1 "$T/probe.err")"

# the library's sources, as Makefile.am lists them
srcs=$(sed -n '/^lib_liberofs_la_SOURCES/,/^[^[:space:]]/p' "$TOP/Makefile.am" |
	grep -o 'lib/[A-Za-z0-9_]*\.c')
note "building the fuzzer ($(echo "$srcs" | wc -w) library sources)"
cflags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
	-fno-omit-frame-pointer -include "$TOP/config.h" -I"$TOP/include"
	$(pkg-config --cflags liblz4 liblzma uuid zlib))
for s in $srcs; do
	"$CLANG" "${cflags[@]}" -c "$TOP/$s" -o "$T/$(basename "$s" .c).o" ||
		fail "cannot compile $s for the fuzzer"
done
"$CLANG" "${cflags[@]}" "$TOP/tests/fuzz/fsck_fuzzer.c" "$T"/*.o -o "$T/fuzzer" \
	$(pkg-config --libs liblz4 liblzma uuid zlib libzstd) -lpthread ||
	fail "cannot link the fuzzer"

note "replaying regressions"
regs=("$TOP"/tests/fuzz/regressions/*)
if [ -e "${regs[0]}" ]; then
	"$T/fuzzer" -runs=1 "${regs[@]}" >"$T/replay.log" 2>&1 ||
		{ tail -n 40 "$T/replay.log"; fail "a regression input fails again"; }
	echo "${#regs[@]} regression inputs pass"
fi

note "seed corpus"
mkdir -p "$T/seeds" "$T/corpus"
gentree small "$T/tree"
mkdir -p "$T/tree/x"
for f in a b; do
	echo "$f" >"$T/tree/x/$f"
	setfattr -n user.common -v shared "$T/tree/x/$f"
	setfattr -n trusted.own -v "$f" "$T/tree/x/$f"
done
ln "$T/tree/x/a" "$T/tree/x/a-link"
rm "$T/tree/d/data.bin"
"$MKFS" --quiet -T 0 -U clear "$T/seeds/plain.img" "$T/tree" -E ^inline_data
"$MKFS" --quiet -T 0 -U clear "$T/seeds/inline.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -b 512 "$T/seeds/b512.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -x 1 -b 1024 "$T/seeds/xattrs.img" "$T/tree"
# compressed: compact and full indexes, big pclusters, every algorithm
head -c 20000 /dev/zero | tr '\0' 'z' >"$T/tree/x/text"
"$MKFS" --quiet -T 0 -U clear -zlz4 -C 8192 -b 1024 "$T/seeds/lz4.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -zlz4hc -C 4096 -E legacy-compress -b 512 \
	"$T/seeds/lz4-legacy.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -zlzma -C 8192 -b 1024 "$T/seeds/lzma.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -zdeflate -b 512 "$T/seeds/deflate.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -zlz4hc -C 4096 -b 1024 -E ztailpacking \
	"$T/seeds/ztail.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -zlz4hc -C 8192 -b 1024 -E fragments \
	"$T/seeds/fragments.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear -zlzma -C 4096 -b 512 -E legacy-compress,fragments \
	"$T/seeds/fragments-full.img" "$T/tree"
"$MKFS" --quiet -T 0 -U clear --chunksize=1024 -b 512 -E force-chunk-indexes \
	"$T/seeds/chunk-indexes.img" "$T/tree"
if [ -x "$DEB_MKFS" ]; then
	"$DEB_MKFS" -T 0 --chunksize=4096 "$T/seeds/chunk.img" "$T/tree" >/dev/null 2>&1 || true
fi
ls -l "$T/seeds"

note "fuzzing for $FUZZ_SECONDS s"
set +e
(cd "$T" && "$T/fuzzer" -max_total_time="$FUZZ_SECONDS" -max_len=65536 -timeout=20 \
	-rss_limit_mb=2048 -artifact_prefix="$T/crash-" -print_final_stats=1 \
	"$T/corpus" "$T/seeds") >"$T/fuzz.log" 2>&1
rc=$?
set -e
grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss)' "$T/fuzz.log" || true
if [ $rc -ne 0 ]; then
	tail -n 60 "$T/fuzz.log"
	mkdir -p "$TESTS_OUT"
	for c in "$T"/crash-*; do
		[ -e "$c" ] && cp "$c" "$TESTS_OUT/" && echo "kept $TESTS_OUT/$(basename "$c")"
	done
	fail "the fuzzer found a problem (exit $rc)"
fi
echo "no crash in $FUZZ_SECONDS s"
