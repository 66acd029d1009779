#!/bin/bash
# Benchmark (not a test): mkfs.erofs at scale, ours vs erofs-utils 1.8.6.
#
#   bench/mkfs-scale.sh [TREE...]    (default: files-100k dirs-100k files-1m)
#
# Trees are generated once on the local disk and cached in $SCALE_DIR
# (default /var/tmp/erofs-scale):
#   files-N   N small files of compressible text (sizes log-uniform from
#             16 bytes to 16 KiB, 2.4 KiB on average; sizes and contents
#             from a fixed seed) in directories of 1000 entries
#   dirs-N    N empty directories, about sqrt(N) of them in each of
#             about sqrt(N) directories
#   flat-N    N small files in one directory (sorted directory of N entries)
# N is a number with an optional k or m suffix.
#
# Each tree is built plain and with -zlz4hc by our mkfs.erofs (--workers=1
# and the default, online CPUs) and by erofs-utils 1.8.6
# (scripts/build-erofs-utils.sh, cached; single-threaded as Debian builds
# it).  Prints wall seconds, CPU seconds (user+sys), peak RSS and RSS per
# entry for each build, ours/erofs-utils ratios, and for two trees of one
# kind the growth between them: the extra RSS per extra entry and how wall
# and CPU time scale against the entry count (1.00 is linear).
#
# Environment:
#   SCALE_DIR=/var/tmp/erofs-scale   where trees and scratch images go
#   MKFS=...       our mkfs.erofs (default: mkfs/mkfs.erofs of this tree)
#   CONFIGS="plain lz4hc"            which builds
#   VERIFY=1       mount our images and compare a sample with the source
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SCALE_DIR=${SCALE_DIR:-/var/tmp/erofs-scale}
MKFS=${MKFS:-$here/../mkfs/mkfs.erofs}
CONFIGS=${CONFIGS:-"plain lz4hc"}
VERIFY=${VERIFY:-1}
NPROC=$(nproc)
STAMP=(-T 0 -U 00000000-0000-0000-0000-000000000001)

die() { echo "mkfs-scale: $*" >&2; exit 2; }
[ -x "$MKFS" ] || die "$MKFS: not built (cd $here/.. && make -j3)"
[ -x /usr/bin/time ] || die "/usr/bin/time: missing (apt-get install time)"
command -v python3 >/dev/null || die "python3: missing"
EU=$("$here/../scripts/build-erofs-utils.sh" 1.8.6-1 | tail -n 1) ||
	die "erofs-utils 1.8.6 cannot be had (scripts/build-erofs-utils.sh)"
[ $# -gt 0 ] || set -- files-100k dirs-100k files-1m

count() {	# 100k -> 100000
	case $1 in
	*[kK]) echo $((${1%?} * 1000)) ;;
	*[mM]) echo $((${1%?} * 1000000)) ;;
	*[!0-9]*|'') die "$1: not a count" ;;
	*) echo "$1" ;;
	esac
}

# gen KIND N DIR: the tree, deterministic for a given KIND and N
gen() {
	python3 - "$@" <<'EOF'
import os, random, sys
kind, n, top = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(17)
words = [("%x" % rnd.getrandbits(24)) for _ in range(512)]
def text(size):
    out, length = [], 0
    while length < size:
        w = words[rnd.randrange(len(words))]
        out.append(w)
        length += len(w) + 1
    return (" ".join(out) + "\n").encode()[:size]
os.mkdir(top)
if kind == "dirs":
    fan = max(1, int(n ** 0.5))
    made = 0
    for i in range((n + fan - 1) // fan):
        d = os.path.join(top, "d%05d" % i)
        os.mkdir(d)
        made += 1
        for j in range(min(fan, n - made)):
            os.mkdir(os.path.join(d, "s%05d" % j))
            made += 1
        if made >= n:
            break
else:
    per = n if kind == "flat" else 1000
    for i in range(n):
        if i % per == 0:
            d = top if kind == "flat" else os.path.join(top, "d%05d" % (i // per))
            if d != top:
                os.mkdir(d)
        with open(os.path.join(d, "f%07d.txt" % i), "wb") as f:
            f.write(text(int(2 ** rnd.uniform(4, 14))))
EOF
}

tree() {	# NAME -> path of the cached tree, generated if needed
	local name=$1 kind=${1%%-*} n dir=$SCALE_DIR/$1
	case $kind in files|dirs|flat) ;; *) die "$name: unknown tree kind" ;; esac
	n=$(count "${name#*-}")
	if [ ! -e "$dir.done" ]; then
		rm -rf "$dir"
		echo "generating $name ($n entries) in $dir ..." >&2
		gen "$kind" "$n" "$dir"
		find "$dir" | wc -l >"$dir.done"
	fi
	echo "$dir"
}

mkdir -p "$SCALE_DIR"
W=$(mktemp -d "$SCALE_DIR/run.XXXXXX")
MNT=$W/mnt
cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || true; fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir "$MNT"
cp "$MKFS" "$W/mkfs.erofs"	# one binary throughout
OURS=$W/mkfs.erofs

declare -A WALL CPU RSS ENTRIES
failures=0

# run KEY IMAGE CMD...: wall s, cpu s, peak RSS KiB
run() {
	local key=$1 img=$2 t u s m
	shift 2
	rm -f "$img"
	if /usr/bin/time -f '%e %U %S %M' -o "$W/time" "$@" >/dev/null 2>"$W/err"; then
		read -r t u s m < <(tail -n 1 "$W/time")
		WALL[$key]=$t
		CPU[$key]=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
		RSS[$key]=$m
	else
		echo "!!! FAILED: $key: $(grep -v -m1 '^Command exited' "$W/err")" >&2
		failures=$((failures + 1))
	fi
}

verify() {	# IMAGE SRC NAME
	if ! mount -t erofs -o ro "$1" "$MNT" 2>"$W/err"; then
		echo "!!! FAILED: $3: cannot mount: $(head -n 1 "$W/err")" >&2
		failures=$((failures + 1))
		return
	fi
	if [ "$(find "$MNT" | wc -l)" != "$(find "$2" | wc -l)" ] ||
	   ! (cd "$2" && find . -type f | sort | sed -n '1~997p' |
	      while read -r f; do cmp -s "$f" "$MNT/$f" || exit 1; done); then
		echo "!!! FAILED: $3: image differs from the source" >&2
		failures=$((failures + 1))
	fi
	umount "$MNT"
}

echo "ours: $MKFS ($(date -r "$MKFS" '+%F %T'))  erofs-utils: $EU/mkfs.erofs ($("$EU/mkfs.erofs" -V 2>&1 | sed -n 1p))"
echo "nproc: $NPROC  load average: $(cut -d' ' -f1-3 /proc/loadavg)  trees in: $SCALE_DIR"

for name in "$@"; do
	src=$(tree "$name")
	ENTRIES[$name]=$(cat "$src.done")
	# warm the dentry, inode and page caches so every build sees the
	# same: the first one would otherwise read the inodes (stat them all)
	find "$src" -printf '%s\n' >/dev/null
	find "$src" -type f -print0 | xargs -0 cat >/dev/null
	for cfg in $CONFIGS; do
		z=()
		[ "$cfg" = plain ] || z=(-z "$cfg")
		run "$name:$cfg:o1" "$W/o.img" "$OURS" --quiet --workers=1 "${z[@]}" "${STAMP[@]}" "$W/o.img" "$src"
		if [ "$cfg" != plain ]; then
			cp "$W/o.img" "$W/o1.img" 2>/dev/null || true
			run "$name:$cfg:oN" "$W/o.img" "$OURS" --quiet "${z[@]}" "${STAMP[@]}" "$W/o.img" "$src"
			if [ -f "$W/o1.img" ] && ! cmp -s "$W/o.img" "$W/o1.img"; then
				echo "!!! FAILED: $name $cfg: --workers=$NPROC image differs from --workers=1" >&2
				failures=$((failures + 1))
			fi
			rm -f "$W/o1.img"
		fi
		[ "$VERIFY" = 1 ] && [ -f "$W/o.img" ] && verify "$W/o.img" "$src" "$name $cfg"
		run "$name:$cfg:eu" "$W/e.img" "$EU/mkfs.erofs" --quiet "${z[@]}" "${STAMP[@]}" "$W/e.img" "$src"
		rm -f "$W/o.img" "$W/e.img"
	done
	echo "done: $name (${ENTRIES[$name]} entries)" >&2
done

v() { local -n a=$1; echo "${a[$2]:-NA}"; }
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "NA") print "-"; else printf f, v }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else print a / b }'; }

echo
echo "wall/cpu: seconds; rss: peak MiB; B/ent: peak RSS bytes per entry; o1 = ours --workers=1, oN = ours --workers=$NPROC, eu = erofs-utils 1.8.6"
printf '%-11s %-6s %9s | %7s %7s %7s | %7s %7s %7s | %7s %7s %7s | %6s %6s %6s | %6s %6s\n' \
	tree cfg entries wall.o1 wall.oN wall.eu cpu.o1 cpu.oN cpu.eu \
	rss.o1 rss.oN rss.eu 'B/ent' 'B/ent' 'B/ent' 'rss/eu' 'cpu/eu'
printf '%-11s %-6s %9s | %7s %7s %7s | %7s %7s %7s | %7s %7s %7s | %6s %6s %6s | %6s %6s\n' \
	'' '' '' '' '' '' '' '' '' '' '' '' o1 oN eu o1 o1
for name in "$@"; do
	for cfg in $CONFIGS; do
		row=$(printf '%-11s %-6s %9s |' "$name" "$cfg" "${ENTRIES[$name]}")
		for m in WALL CPU; do
			for t in o1 oN eu; do
				row+=$(printf ' %7s' "$(fmt "$(v $m "$name:$cfg:$t")" %.2f)")
			done
			row+=' |'
		done
		for t in o1 oN eu; do
			row+=$(printf ' %7s' "$(fmt "$(div "$(v RSS "$name:$cfg:$t")" 1024)" %.1f)")
		done
		row+=' |'
		for t in o1 oN eu; do
			row+=$(printf ' %6s' "$(fmt "$(div "$(v RSS "$name:$cfg:$t")" "$(div "${ENTRIES[$name]}" 1024)")" %.0f)")
		done
		row+=' |'
		row+=$(printf ' %6s %6s' \
			"$(fmt "$(div "$(v RSS "$name:$cfg:o1")" "$(v RSS "$name:$cfg:eu")")" %.3f)" \
			"$(fmt "$(div "$(v CPU "$name:$cfg:o1")" "$(v CPU "$name:$cfg:eu")")" %.3f)")
		echo "$row"
	done
done

# growth between consecutive trees of one kind (files-100k -> files-1m)
echo
echo "growth: extra peak RSS per extra entry (bytes), and time exponent log(t2/t1)/log(n2/n1) (1.00: linear)"
printf '%-24s %-6s | %7s %7s %7s | %6s | %7s %7s %7s\n' \
	from-to cfg 'dB.o1' 'dB.oN' 'dB.eu' 'o1/eu' 'cpu^.o1' 'cpu^.oN' 'cpu^.eu'
declare -A d
prev=()
for name in "$@"; do
	for p in "${prev[@]}"; do
		[ "${p%%-*}" = "${name%%-*}" ] || continue
		n1=${ENTRIES[$p]} n2=${ENTRIES[$name]}
		[ "$n2" -gt "$n1" ] || continue
		for cfg in $CONFIGS; do
			row=$(printf '%-24s %-6s |' "$p->$name" "$cfg")
			for t in o1 oN eu; do
				d[$t]=NA
				r1=$(v RSS "$p:$cfg:$t") r2=$(v RSS "$name:$cfg:$t")
				[ "$r1" = NA ] || [ "$r2" = NA ] ||
					d[$t]=$(awk -v a="$r1" -v b="$r2" -v n="$((n2 - n1))" 'BEGIN { print (b - a) * 1024 / n }')
				row+=$(printf ' %7s' "$(fmt "${d[$t]}" %.0f)")
			done
			row+=$(printf ' | %6s |' "$(fmt "$(div "${d[o1]}" "${d[eu]}")" %.3f)")
			for t in o1 oN eu; do
				c1=$(v CPU "$p:$cfg:$t") c2=$(v CPU "$name:$cfg:$t")
				row+=$(printf ' %7s' "$(fmt "$(awk -v a="$c1" -v b="$c2" -v x="$n1" -v y="$n2" \
					'BEGIN { if (a == "NA" || b == "NA" || a <= 0) print "NA"; else print log(b / a) / log(y / x) }')" %.2f)")
			done
			echo "$row"
		done
	done
	prev+=("$name")
done

if [ "$failures" -gt 0 ]; then
	echo
	echo "!!! FAILED: $failures failure(s) above"
	exit 1
fi
