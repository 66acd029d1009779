#!/bin/bash
# Benchmark (not a test): this toolkit against a current erofs-utils (1.8.6
# from Debian trixie's source, scripts/build-erofs-utils.sh) with the same
# options, for lz4hc, lzma and zstd.
#
#   bench/vs-erofs-utils.sh [SOURCE_DIR] [RUNS]   (default /usr/share/doc 3)
#
# For each algorithm, with -C 65536 and -T 0 on both sides:
#   mkfs     build an image of SOURCE_DIR: ours with --workers=1 (theirs is
#            built single-threaded), also with every CPU; image size
#   verify   every inode and every byte decoded: ours fsck.erofs IMAGE,
#            theirs fsck.erofs --extract IMAGE (without --extract it
#            checks metadata only)
#   extract  fsck.erofs --extract=DIR IMAGE into a tmpfs
# Both fsck.erofs read the same image, the one erofs-utils wrote, so that
# the readers are compared on identical bytes.  Prints the median wall time
# over RUNS runs (after one untimed run), peak RSS of the builds and the
# ratios ours/theirs (below 1: ours is faster or smaller).  A run that
# fails prints its exit status instead of a time: our fsck may refuse
# images it cannot read yet, and our mkfs may not write zstd yet (that
# column then says so).
#
# Environment: EROFS_UTILS_VERSION (default 1.8.6-1), MKFS, FSCK (ours),
# ALGS (default "lz4hc lzma zstd"), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
SRC=${1:-/usr/share/doc}
RUNS=${2:-3}
ALGS=${ALGS:-lz4hc lzma zstd}
MKFS=${MKFS:-$top/mkfs/mkfs.erofs}
FSCK=${FSCK:-$top/fsck/fsck.erofs}
version=${EROFS_UTILS_VERSION:-1.8.6-1}

die() { echo "vs-erofs-utils: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (a tmpfs for the extractions)"
[ -d "$SRC" ] || die "$SRC: not a directory"
[ -x "$MKFS" ] && [ -x "$FSCK" ] || die "build first ($MKFS, $FSCK)"
[ -x /usr/bin/time ] || die "/usr/bin/time: missing (apt-get install time)"
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive integer" ;; esac
eu=$("$top/scripts/build-erofs-utils.sh" "$version" 2>/dev/null) ||
	die "no erofs-utils $version (scripts/build-erofs-utils.sh $version says why)"
eu=${eu##*$'\n'}

W=$(mktemp -d "${TMPDIR:-/var/tmp}/vs-erofs-utils.XXXXXX")
cleanup() {
	umount "$W/tm" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$W/tm"
mount -t tmpfs -o size=4g none "$W/tm"
# one binary of ours throughout, even if the tree is rebuilt meanwhile
cp "$MKFS" "$W/mkfs.ours"
cp "$FSCK" "$W/fsck.ours"

# timed CMD...: "SECONDS RSS_KIB" of one run, or "exit N" when it fails
timed() {
	local rc=0 t m
	rm -rf "$W/tm/out"
	sync
	/usr/bin/time -f '%e %M' -o "$W/time" "$@" >/dev/null 2>"$W/err" || rc=$?
	if [ $rc != 0 ]; then
		echo "exit $rc"
		return
	fi
	read -r t m <"$W/time"
	echo "$t $m"
}

# median CMD...: the median "SECONDS RSS" of RUNS runs after a warm-up,
# or the first failure
median() {
	local i r all=()
	r=$(timed "$@")
	[[ $r != exit* ]] || { echo "$r"; return; }
	for i in $(seq "$RUNS"); do
		r=$(timed "$@")
		[[ $r != exit* ]] || { echo "$r"; return; }
		all+=("$r")
	done
	printf '%s\n' "${all[@]}" | sort -n | awk '{ a[NR] = $0 } END { print a[int((NR + 1) / 2)] }'
}

ratio() {
	if ! [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
		echo "-"
	else
		awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
	fi
}

secs() { [[ $1 == exit* ]] && echo "$1" || echo "${1%% *}"; }
rss() { [[ $1 == exit* ]] && echo "-" || echo "$(( ${1##* } / 1024 ))"; }

content=$(du -sm --apparent-size "$SRC" | cut -f1)
echo "source $SRC: $content MiB, $(find "$SRC" | wc -l) entries; $RUNS runs, median"
echo "ours:   $MKFS ($("$W/mkfs.ours" --version 2>&1 | sed -n 1p))"
echo "theirs: erofs-utils $(cat "$eu/VERSION") ($eu, single-threaded build)"
printf '\n%-6s %-8s %10s %10s %7s   %s\n' alg step "ours" "theirs" ratio "(seconds; sizes in bytes; RSS in MiB)"
for alg in $ALGS; do
	opts=(-z"$alg" -C65536 -T0)
	ours_img="$W/ours-$alg.img" theirs_img="$W/theirs-$alg.img"
	m_t=$(median "$eu/mkfs.erofs" --quiet "${opts[@]}" "$theirs_img" "$SRC")
	if "$W/mkfs.ours" --quiet -z"$alg" "$W/probe.img" "$top/tests/tools" >"$W/probe.log" 2>&1; then
		m_o=$(median "$W/mkfs.ours" --quiet --workers=1 "${opts[@]}" "$ours_img" "$SRC")
		m_n=$(median "$W/mkfs.ours" --quiet --workers="$(nproc)" "${opts[@]}" "$ours_img" "$SRC")
	else
		echo "$alg: our mkfs.erofs cannot write it: $(sed -n 1p "$W/probe.log")"
		m_o="exit -" m_n="exit -"
	fi
	s_o=$([ -f "$ours_img" ] && [[ $m_o != exit* ]] && stat -c %s "$ours_img" || echo -)
	s_t=$([ -f "$theirs_img" ] && stat -c %s "$theirs_img" || echo -)
	printf '%-6s %-8s %10s %10s %7s\n' "$alg" mkfs "$(secs "$m_o")" "$(secs "$m_t")" \
		"$(ratio "$(secs "$m_o")" "$(secs "$m_t")")"
	printf '%-6s %-8s %10s %10s %7s\n' "" "mkfs -jN" "$(secs "$m_n")" "$(secs "$m_t")" \
		"$(ratio "$(secs "$m_n")" "$(secs "$m_t")")"
	printf '%-6s %-8s %10s %10s %7s\n' "" "size" "$s_o" "$s_t" "$(ratio "$s_o" "$s_t")"
	printf '%-6s %-8s %10s %10s %7s\n' "" "mkfs RSS" "$(rss "$m_o")" "$(rss "$m_t")" \
		"$(ratio "$(rss "$m_o")" "$(rss "$m_t")")"
	[ -f "$theirs_img" ] || continue
	v_o=$(median "$W/fsck.ours" "$theirs_img")
	v_t=$(median "$eu/fsck.erofs" --extract "$theirs_img")
	printf '%-6s %-8s %10s %10s %7s\n' "" verify "$(secs "$v_o")" "$(secs "$v_t")" \
		"$(ratio "$(secs "$v_o")" "$(secs "$v_t")")"
	x_o=$(median "$W/fsck.ours" --extract="$W/tm/out" "$theirs_img")
	x_t=$(median "$eu/fsck.erofs" --extract="$W/tm/out" "$theirs_img")
	printf '%-6s %-8s %10s %10s %7s\n' "" extract "$(secs "$x_o")" "$(secs "$x_t")" \
		"$(ratio "$(secs "$x_o")" "$(secs "$x_t")")"
	rm -f "$ours_img" "$theirs_img"
done
echo "(exit N: that run failed with status N; ratio -: nothing to compare)"
