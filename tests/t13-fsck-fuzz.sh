#!/bin/bash
# Builds the libFuzzer target tests/fuzz/fsck_fuzzer.c (image open and the
# whole check) with ASan and UBSan, replays every input in
# tests/fuzz/regressions/, then fuzzes for FUZZ_SECONDS (default 150) from
# a seed corpus of small images made by our mkfs and, when it can be
# built here, by erofs-utils 1.8.6 and 1.9.4 (every feature they write).
# Any crash, leak, sanitizer report or timeout fails; the input is kept
# in $TESTS_OUT.
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
"$MKFS" --quiet -T 0 -U clear -b 512 -E 48bit --chunksize=1024 \
	"$T/seeds/48bit-chunk.img" "$T/tree"
"$MKFS" --quiet -T 1000000 --mkfs-time -U clear -b 1024 -E 48bit \
	"$T/seeds/48bit.img" "$T/tree"
# seeds of what current erofs-utils writes: zstd, fragments,
# all-fragments, dedupe, long xattr name prefixes (1.8.6), 48bit,
# metabox, dot-omitted, plain prefixes, inode digests (1.9.4)
eu_seed() {
	local dir=$1 name=$2
	shift 2
	"$dir/mkfs.erofs" --quiet -T 0 -U 01234567-89ab-cdef-0123-456789abcdef "$@" \
		"$T/seeds/$name.img" "$T/tree" >"$T/eu-seed.log" 2>&1 ||
		fail "erofs-utils $(cat "$dir/VERSION") cannot write seed $name: $(cat "$T/eu-seed.log")"
}
cp "$T/tree/x/text" "$T/tree/x/text-again"
printf 'tail' >>"$T/tree/x/text-again"
if eu=$("$TOP/scripts/build-erofs-utils.sh" 1.8.6-1 2>"$T/eu.err"); then
	eu=${eu##*$'\n'}
	eu_seed "$eu" eu18-zstd -zzstd -C 8192 -b 1024
	eu_seed "$eu" eu18-fragments -zlz4hc -C 8192 -b 1024 -Efragments
	eu_seed "$eu" eu18-all-fragments -zlzma -b 1024 -Eall-fragments
	eu_seed "$eu" eu18-dedupe -zlz4 -C 4096 -b 1024 -Ededupe
	eu_seed "$eu" eu18-fragments-dedupe -zzstd -b 1024 -Efragments,dedupe
	eu_seed "$eu" eu18-xattr-prefix -b 1024 -x 1 --xattr-prefix=user.comm \
		--xattr-prefix=trusted.ow
else
	echo "no erofs-utils 1.8.6 seeds: $(sed -n 's/^build-erofs-utils: //p' "$T/eu.err")"
fi
if eu=$("$TOP/scripts/build-erofs-utils.sh" 1.9.4-1 2>"$T/eu.err"); then
	eu=${eu##*$'\n'}
	eu_seed "$eu" eu19-48bit -zlz4 -b 1024 -E48bit
	eu_seed "$eu" eu19-metabox -b 1024 -m 4096
	eu_seed "$eu" eu19-dot-omitted -b 1024 -Edot-omitted
	eu_seed "$eu" eu19-plain-prefixes -b 1024 -x 1 -Eplain-xattr-prefixes \
		--xattr-prefix=user.comm
	eu_seed "$eu" eu19-inode-digest -zlz4 -b 1024 --xattr-inode-digest
	eu_seed "$eu" eu19-metabox-lzma -m1024:lzma -zlz4hc -b 1024
	eu_seed "$eu" eu19-digest-fragments --xattr-inode-digest=user.d -zlz4 \
		-Efragments -b 1024
else
	echo "no erofs-utils 1.9.4 seeds: $(sed -n 's/^build-erofs-utils: //p' "$T/eu.err")"
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
