#!/bin/bash
# Benchmark (not a test): compressed image builds of one large real tree.
#
#   bench/mkfs-compress.sh [SOURCE_DIR] [RUNS]     (default /usr/share 3)
#
# 1. our mkfs.erofs vs Debian's mkfs.erofs 1.5 (/usr/bin/mkfs.erofs), lz4 and
#    lz4hc at -C 4096 and -C 65536; ours with --workers=1 and --workers=nproc.
# 2. our mkfs.erofs -z lzma vs mksquashfs -comp xz at 128 KiB and 1 MiB
#    clusters/blocks, and lz4 vs mksquashfs -comp lz4 at 128 KiB; mksquashfs
#    with -processors 1 and with all processors.  Ours also with -E
#    fragments (small files and tails packed together, as squashfs does),
#    compared with the same mksquashfs builds.
# 3. our mkfs.erofs -z zstd vs erofs-utils 1.8.6's (built from Debian
#    trixie's source by scripts/build-erofs-utils.sh, cached) at -C 4096,
#    65536 and 1048576, both at zstd's default level.
#
# Prints image size, median wall time, max RSS and CPU (user+sys) seconds
# over RUNS runs, tools alternating in order run by run, after one untimed
# read of the whole tree.  Our binary is copied first, so a rebuild during
# the benchmark does not mix versions.  A failed build reads FAIL and makes
# the exit status 1; so does a --workers=N image that differs from the
# --workers=1 one.  Afterwards mounts each of our images (needs root and kernel erofs) and
# compares it with the source.
#
# Environment:
#   RUNS=3          timed runs per build (median reported), or 2nd argument
#   FLUSH=1         time "build && sync IMAGE" (ours fsyncs its image, Debian's
#                   1.5 does not; default 0, as bench/mkfs-plain.sh)
#   MKFS=...        our mkfs.erofs (default: mkfs/mkfs.erofs of this tree)
#   SECTIONS="1 2 3"  which tables to run
#   VERIFY=full     full: diff -r + metadata listing; sample: cmp 200 files;
#                   none: skip the mount check
#   TMPDIR          where the scratch directory goes (default /var/tmp)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SRC=${1:-${SOURCE_DIR:-/usr/share}}
RUNS=${2:-${RUNS:-3}}
FLUSH=${FLUSH:-0}
MKFS=${MKFS:-$here/../mkfs/mkfs.erofs}
SECTIONS=${SECTIONS:-"1 2 3"}
VERIFY=${VERIFY:-full}
DEB=/usr/bin/mkfs.erofs
SQ=/usr/bin/mksquashfs
NPROC=$(nproc)
STAMP=(-T 0 -U 00000000-0000-0000-0000-000000000001)

die() { echo "mkfs-compress: $*" >&2; exit 2; }
[ -d "$SRC" ] || die "$SRC: not a directory"
SRC=$(cd "$SRC" && pwd)
for p in "$SRC" "$MKFS" "${TMPDIR:-/var/tmp}"; do
	case $p in *[[:space:]*?[]*) die "$p: blanks or wildcards in paths are not supported" ;; esac
done
[ -x "$MKFS" ] || die "$MKFS: not built (cd $here/.. && make -j3)"
[ -x "$DEB" ] || die "$DEB: missing (apt-get install erofs-utils)"
[ -x "$SQ" ] || die "$SQ: missing (apt-get install squashfs-tools)"
[ -x /usr/bin/time ] || die "/usr/bin/time: missing (apt-get install time)"
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive integer" ;; esac
has() { [[ " $SECTIONS " == *" $1 "* ]]; }
EU=
if has 3; then
	EU=$("$here/../scripts/build-erofs-utils.sh" 1.8.6-1 | tail -n 1) ||
		die "erofs-utils 1.8.6 cannot be had (scripts/build-erofs-utils.sh); run SECTIONS=\"1 2\""
fi

W=$(mktemp -d "${TMPDIR:-/var/tmp}/mkfs-compress.XXXXXX")
MNT=$W/mnt
cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$MNT"
# time one binary throughout, even if the tree is rebuilt meanwhile
cp "$MKFS" "$W/mkfs.erofs"
MKFS_SRC=$MKFS
MKFS=$W/mkfs.erofs

declare -A TIMES CPU RSS SIZE FAILED
failures=0

# build KEY IMAGE CMD...: one timed build; records wall s, max RSS, size
build() {
	local key=$1 img=$2 t m u k
	shift 2
	# shellcheck disable=SC2206
	local cmd=($*)	# paths with blanks are refused up front
	[ "$FLUSH" = 1 ] && cmd=(/bin/sh -c '"$@" && sync "$0"' "$img" "${cmd[@]}")
	rm -f "$img"
	sync
	if /usr/bin/time -f '%e %M %U %S' -o "$W/time" "${cmd[@]}" >/dev/null 2>"$W/err"; then
		read -r t m u k < <(tail -n 1 "$W/time")
		TIMES[$key]+="$t "
		CPU[$key]+="$(awk -v u="$u" -v k="$k" 'BEGIN { print u + k }') "
		RSS[$key]+="$m "
		SIZE[$key]+="$(stat -c %s "$img") "
	else
		FAILED[$key]=1
		failures=$((failures + 1))
		echo "!!! FAILED: $key: $(grep -v -m1 '^Command exited' "$W/err")" >&2
		rm -f "$img"
	fi
}

# the command lines (/usr/bin/time runs programs, not shell functions)
ours()   { echo "$MKFS --quiet --workers=$1 -z $2 -C $3 ${STAMP[*]} ${5:+-E $5} $4 $SRC"; }
debian() { echo "$DEB --quiet -z$1 -C$2 ${STAMP[*]} $3 $SRC"; }
squash() { echo "$SQ $SRC $4 -comp $2 -b $3 -noappend -quiet -no-progress -processors $1"; }
eu186()  { echo "$EU/mkfs.erofs --quiet -z$1 -C$2 ${STAMP[*]} $3 $SRC"; }

# one config in run $run: each tool once, order rotated run by run;
# ours with 1 worker keeps its image for the mount check, and ours with
# all workers must produce the very same bytes
config() {	# KIND(erofs|squash) ALG SIZE [EXTENDED-OPTION]
	local kind=$1 alg=$2 sz=$3 x=${4:-} tools i n tool
	local k="$alg:$sz${x:+:$x}"
	if [ "$kind" = erofs ]; then
		tools=(o1 oN deb)
	elif [ "$kind" = eu ]; then
		tools=(o1 oN eu)
	elif [ -n "$x" ]; then
		tools=(o1 oN)	# the other tool was timed without it
	else
		tools=(o1 oN sq1 sqN)
	fi
	n=${#tools[@]}
	for ((i = 0; i < n; i++)); do
		tool=${tools[(i + run) % n]}
		case $tool in
		o1)  build "o1:$k" "$W/o1-$alg-$sz$x.img" "$(ours 1 "$alg" "$sz" "$W/o1-$alg-$sz$x.img" "$x")" ;;
		oN)  build "oN:$k" "$W/oN.img" "$(ours "$NPROC" "$alg" "$sz" "$W/oN.img" "$x")" ;;
		deb) build "deb:$alg:$sz" "$W/other.img" "$(debian "$alg" "$sz" "$W/other.img")" ;;
		eu)  build "eu:$alg:$sz" "$W/other.img" "$(eu186 "$alg" "$sz" "$W/other.img")" ;;
		sq1) build "sq1:$alg:$sz" "$W/other.img" "$(squash 1 "$(sqalg "$alg")" "$sz" "$W/other.img")" ;;
		sqN) build "sqN:$alg:$sz" "$W/other.img" "$(squash "$NPROC" "$(sqalg "$alg")" "$sz" "$W/other.img")" ;;
		esac
	done
	if [ -f "$W/oN.img" ] && [ -f "$W/o1-$alg-$sz$x.img" ] &&
	   ! cmp -s "$W/oN.img" "$W/o1-$alg-$sz$x.img"; then
		echo "!!! FAILED: $alg -C $sz $x: --workers=$NPROC image differs from --workers=1" >&2
		FAILED["same:$k"]=1
		failures=$((failures + 1))
	fi
	rm -f "$W/oN.img" "$W/other.img"
}
sqalg() { [ "$1" = lzma ] && echo xz || echo "$1"; }

median() {
	[ $# -gt 0 ] || { echo NA; return; }
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR % 2) print a[(NR + 1) / 2];
		      else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# med ARRAY KEY -> median or NA
med() {
	local -n arr=$1
	if [ -n "${FAILED[$2]:-}" ] || [ -z "${arr[$2]:-}" ]; then echo NA; return; fi
	# shellcheck disable=SC2086
	median ${arr[$2]}
}
mib()   { [ "$1" = NA ] && echo FAIL || awk -v v="$1" 'BEGIN { printf "%.2f", v / 1048576 }'; }
kmib()  { [ "$1" = NA ] && echo FAIL || awk -v v="$1" 'BEGIN { printf "%.0f", v / 1024 }'; }
cpus()  { [ "$1" = NA ] && echo - || printf '%.2f' "$1"; }
secs()  { [ "$1" = NA ] && echo FAIL || printf '%.2f' "$1"; }
ratio() { if [ "$1" = NA ] || [ "$2" = NA ]; then echo -; else
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }'; fi; }

# ---------------------------------------------------------------- header
nfiles=$(find "$SRC" -xdev -type f | wc -l)
nentries=$(find "$SRC" -xdev | wc -l)
bytes=$(du -sb "$SRC" | cut -f1)
echo "tree: $SRC  files: $nfiles (entries: $nentries)  size: $bytes bytes ($(mib "$bytes") MiB)  runs: $RUNS  nproc: $NPROC  flush: $FLUSH"
echo "ours: $MKFS_SRC ($("$MKFS" -V 2>&1 | sed -n 1p), built $(date -r "$MKFS_SRC" '+%F %T'))"
[ -z "$EU" ] || echo "erofs-utils: $EU ($("$EU/mkfs.erofs" -V 2>&1 | sed -n 1p))"
echo "debian: $DEB ($(dpkg-query -W -f '${Version}' erofs-utils 2>/dev/null || echo '?'))  mksquashfs: $("$SQ" -version 2>&1 | sed -n 1p)"
echo "scratch: $W  open files limit: $(ulimit -n)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# untimed warm-up: read every byte (tar to /dev/null would skip the data)
tar -cf - -C "$SRC" . 2>/dev/null | cat >/dev/null || true

E_CONFIGS=("lz4 4096" "lz4hc 4096" "lz4 65536" "lz4hc 65536")
S_CONFIGS=("lzma 131072" "lzma 1048576" "lz4 131072"
	   "lzma 131072 fragments" "lzma 1048576 fragments" "lz4 131072 fragments")
U_CONFIGS=("zstd 4096" "zstd 65536" "zstd 1048576")

start=$SECONDS
for ((run = 0; run < RUNS; run++)); do
	if has 1; then
		for c in "${E_CONFIGS[@]}"; do
			# shellcheck disable=SC2086
			config erofs $c
		done
	fi
	if has 2; then
		for c in "${S_CONFIGS[@]}"; do
			# shellcheck disable=SC2086
			config squash $c
		done
	fi
	if has 3; then
		for c in "${U_CONFIGS[@]}"; do
			# shellcheck disable=SC2086
			config eu $c
		done
	fi
	echo "run $((run + 1))/$RUNS done ($((SECONDS - start)) s)" >&2
done

# ---------------------------------------------------------------- tables
echo
echo "sizes MiB; times: median wall seconds of $RUNS; rss: median max RSS MiB; ours1 = --workers=1, oursN = --workers=$NPROC"
if has 1; then
	echo
	echo "== ours vs Debian mkfs.erofs 1.5 (single-threaded) =="
	printf '%-6s %7s | %9s %9s %6s | %8s %8s %8s | %9s %9s | %6s %6s %6s\n' \
		alg pclust ours debian size/ ours1 oursN debian 'ours1/' 'oursN/' \
		rss1 rssN rssDeb
	printf '%-6s %7s | %9s %9s %6s | %8s %8s %8s | %9s %9s | %6s %6s %6s\n' \
		'' '' size size debian s s s debian debian '' '' ''
	for c in "${E_CONFIGS[@]}"; do
		set -- $c
		so=$(med SIZE "o1:$1:$2"); sd=$(med SIZE "deb:$1:$2")
		t1=$(med TIMES "o1:$1:$2"); tn=$(med TIMES "oN:$1:$2")
		td=$(med TIMES "deb:$1:$2")
		printf '%-6s %7s | %9s %9s %6s | %8s %8s %8s | %9s %9s | %6s %6s %6s\n' \
			"$1" "$2" "$(mib "$so")" "$(mib "$sd")" "$(ratio "$so" "$sd")" \
			"$(secs "$t1")" "$(secs "$tn")" "$(secs "$td")" \
			"$(ratio "$t1" "$td")" "$(ratio "$tn" "$td")" \
			"$(kmib "$(med RSS "o1:$1:$2")")" "$(kmib "$(med RSS "oN:$1:$2")")" \
			"$(kmib "$(med RSS "deb:$1:$2")")"
	done
fi
if has 2; then
	echo
	echo "== ours vs mksquashfs $("$SQ" -version 2>&1 | awk 'NR == 1 { print $3 }') (ours lzma vs -comp xz, lz4 vs -comp lz4; -C SIZE vs -b SIZE) =="
	printf '%-10s %7s | %9s %9s %6s | %8s %8s %6s | %8s %8s %6s | %5s %5s %5s %5s\n' \
		ours/sq size ours squash size/ ours1 sq1 time1 oursN sqN timeN \
		rss1 rssN rsq1 rsqN
	printf '%-10s %7s | %9s %9s %6s | %8s %8s %6s | %8s %8s %6s | %5s %5s %5s %5s\n' \
		'' '' size size squash s s ratio s s ratio '' '' '' ''
	for c in "${S_CONFIGS[@]}"; do
		set -- $c
		k="$1:$2${3:+:$3}"
		so=$(med SIZE "o1:$k"); ss=$(med SIZE "sq1:$1:$2")
		t1=$(med TIMES "o1:$k"); tn=$(med TIMES "oN:$k")
		q1=$(med TIMES "sq1:$1:$2"); qn=$(med TIMES "sqN:$1:$2")
		printf '%-10s %7s | %9s %9s %6s | %8s %8s %6s | %8s %8s %6s | %5s %5s %5s %5s\n' \
			"$1${3:++f}/$(sqalg "$1")" "$2" "$(mib "$so")" "$(mib "$ss")" "$(ratio "$so" "$ss")" \
			"$(secs "$t1")" "$(secs "$q1")" "$(ratio "$t1" "$q1")" \
			"$(secs "$tn")" "$(secs "$qn")" "$(ratio "$tn" "$qn")" \
			"$(kmib "$(med RSS "o1:$k")")" "$(kmib "$(med RSS "oN:$k")")" \
			"$(kmib "$(med RSS "sq1:$1:$2")")" "$(kmib "$(med RSS "sqN:$1:$2")")"
	done
	echo "(+f: ours with -E fragments)"
fi
if has 3; then
	echo
	echo "== ours vs erofs-utils 1.8.6 (zstd, default level) =="
	printf '%-6s %7s | %9s %9s %6s | %8s %8s %8s | %6s %6s | %6s %6s %6s\n' \
		alg pclust ours eu186 size/ ours1 oursN eu186 'cpu1/' 'cpuN/' \
		rss1 rssN rssEu
	printf '%-6s %7s | %9s %9s %6s | %8s %8s %8s | %6s %6s | %6s %6s %6s\n' \
		'' '' size size eu s s s eu eu '' '' ''
	for c in "${U_CONFIGS[@]}"; do
		set -- $c
		so=$(med SIZE "o1:$1:$2"); se=$(med SIZE "eu:$1:$2")
		ce=$(med CPU "eu:$1:$2")
		printf '%-6s %7s | %9s %9s %6s | %8s %8s %8s | %6s %6s | %6s %6s %6s\n' \
			"$1" "$2" "$(mib "$so")" "$(mib "$se")" "$(ratio "$so" "$se")" \
			"$(secs "$(med TIMES "o1:$1:$2")")" "$(secs "$(med TIMES "oN:$1:$2")")" \
			"$(secs "$(med TIMES "eu:$1:$2")")" \
			"$(ratio "$(med CPU "o1:$1:$2")" "$ce")" "$(ratio "$(med CPU "oN:$1:$2")" "$ce")" \
			"$(kmib "$(med RSS "o1:$1:$2")")" "$(kmib "$(med RSS "oN:$1:$2")")" \
			"$(kmib "$(med RSS "eu:$1:$2")")"
	done
fi
echo
echo "== CPU seconds (user+sys), median; wall times above suffer when other work shares the CPUs =="
printf '%-6s %7s | %8s %8s %8s %8s %8s %8s\n' alg pclust ours1 oursN debian sq1 sqN eu186
for c in "${E_CONFIGS[@]}" "${S_CONFIGS[@]}" "${U_CONFIGS[@]}"; do
	set -- $c
	row=
	for tool in o1 oN deb sq1 sqN eu; do
		row+=$(printf ' %8s' "$(cpus "$(med CPU "$tool:$1:$2${3:+:$3}")")")
	done
	[ "$row" = "$(printf ' %8s' - - - - - -)" ] ||
		printf '%-6s %7s |%s\n' "$1${3:++f}" "$2" "$row"
done
echo
echo "benchmark wall time: $((SECONDS - start)) s  load average now: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- sanity
# a listing of what diff -r does not look at: type, mode, owner, size, target
# (directory sizes are filesystem-specific and left out)
meta() {
	(cd "$1" && find . -printf '%y %m %U %G %s %p -> %l\n') |
		awk '$1 == "d" { $5 = "-" } { print }' | LC_ALL=C sort
}

verify() {	# IMAGE NAME
	local img=$1 name=$2 bad=
	if ! mount -t erofs -o ro "$img" "$MNT" 2>"$W/err" &&
	   ! mount -t erofs -o ro,loop "$img" "$MNT" 2>"$W/err"; then
		echo "!!! FAILED: $name: cannot mount: $(head -n 1 "$W/err")"
		return 1
	fi
	case $VERIFY in
	full)
		diff -r --no-dereference "$SRC" "$MNT" >"$W/diff" 2>&1 || bad="content differs"
		if [ -z "$bad" ] && ! diff <(meta "$SRC") <(meta "$MNT") >"$W/diff" 2>&1; then
			bad="metadata (type/mode/owner/size/link target) differs"
		fi
		;;
	sample)
		(cd "$SRC" && find . -type f -print0 | shuf -z -n 200 --random-source=<(yes)) |
		while IFS= read -r -d '' f; do
			cmp -s "$SRC/$f" "$MNT/$f" || echo "differs: $f"
		done >"$W/diff"
		[ -s "$W/diff" ] && bad="content differs"
		;;
	esac
	umount "$MNT"
	if [ -n "$bad" ]; then
		echo "!!! FAILED: $name: $bad:"
		head -n 5 "$W/diff" | sed 's/^/!!!   /'
		return 1
	fi
	echo "verified: $name ($VERIFY)"
}

if [ "$VERIFY" != none ]; then
	echo
	[ "$(id -u)" = 0 ] || echo "!!! FAILED: mount check needs root" >&2
	for img in "$W"/o1-*.img; do
		[ -f "$img" ] || continue
		name=${img##*/o1-}; name=${name%.img}
		verify "$img" "ours ${name%-*} -C ${name##*-}" || failures=$((failures + 1))
	done
fi

if [ "$failures" -gt 0 ]; then
	echo
	echo "!!! FAILED: $failures failure(s) above; their cells read FAIL"
	exit 1
fi
