#!/bin/bash
# Drop-in compatibility with erofs-utils 1.8/1.9: the options scripts use
# are accepted and mean the same.  Where erofs-utils has the option, the
# same command is given to both and the results compared (kernel mounts,
# extracted trees, extent lists); fsck-only behaviour is checked directly.
. "$(dirname "$0")/lib.sh"
require_mount

EU=$("$TOP/scripts/build-erofs-utils.sh" 1.8.6-1 2>"$T/eu.err" | tail -n 1) || {
	[ $? = 2 ] && skip "erofs-utils 1.8.6: $(tail -n 1 "$T/eu.err")"
	fail "build-erofs-utils.sh 1.8.6-1: $(cat "$T/eu.err")"
}
# 1.9 has fsck --nid/--path; its time handling is the reference (1.8.6
# keeps old mtimes under $SOURCE_DATE_EPOCH with --ignore-mtime)
EU9=$("$TOP/scripts/build-erofs-utils.sh" 1.9.4-1 2>/dev/null | tail -n 1) || EU9=
[ -n "$EU9" ] || note "erofs-utils 1.9.4 cannot be had: its comparisons are skipped"

# a small tree of our own: names, a symlink, xattrs of two namespaces
src="$T/src"
mkdir -p "$src/sub/deep" "$src/empty"
seq 1 30000 >"$src/sub/numbers"
printf 'hello\n' >"$src/a"
head -c 70000 /dev/urandom >"$src/sub/deep/random"
ln -s ../a "$src/sub/link"
ln "$src/a" "$src/sub/a-again"
setfattr -n user.note -v kept "$src/a"
setfattr -n trusted.secret -v root-only "$src/a"
setfattr -n trusted.secret -v root-only "$src/sub/numbers"
touch -d @500 "$src/a"
touch -h -d @1500 "$src/sub/link"
touch -d @2000.123456789 "$src/sub/deep/random"
touch -d @3000 "$src/sub" "$src/sub/deep" "$src/empty" "$src"
"$MKFS" --quiet -T 0 -U clear "$T/img" "$src"

note "fsck: -a -A -y are no-ops, also through fsck(8)"
"$FSCK" -a -A -y "$T/img" >/dev/null 2>&1 || fail "-a -A -y"
if command -v fsck >/dev/null; then
	out=$(PATH="$TOP/fsck:$PATH" fsck -t erofs -a "$T/img" 2>&1) ||
		fail "fsck -t erofs -a: $out"
	[[ $out == *"clean:"* ]] || fail "fsck(8) did not run this fsck.erofs: $out"
fi

note "usage errors: 16 from fsck and dump (fsck(8)), 1 from mkfs; erofs-utils: 1"
for tool in "$FSCK" "$DUMP"; do
	set +e; "$tool" --no-such-option "$T/img" >/dev/null 2>&1; rc=$?; set -e
	[ $rc = 16 ] || fail "$tool: bad option exits $rc"
done
set +e; "$MKFS" --no-such-option "$T/x" "$src" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 1 ] || fail "mkfs: bad option exits $rc"
set +e; "$EU/fsck.erofs" --no-such-option "$T/img" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 1 ] || fail "erofs-utils' fsck changed: bad option exits $rc"

note "fsck -d0..9 as erofs-utils: 0 and 1 errors only, 3 on the summary"
for d in 0 1 2 3 6 7 9; do
	"$FSCK" -d$d "$T/img" >/dev/null 2>"$T/d.err" || fail "-d$d"
	if [ $d -ge 3 ]; then
		grep -q "clean:" "$T/d.err" || fail "-d$d: no summary"
	else
		[ ! -s "$T/d.err" ] || fail "-d$d printed: $(cat "$T/d.err")"
	fi
done
expect_fail "$FSCK" -d10 "$T/img" 2>/dev/null

note "fsck --force is needed to extract into /"
for dir in / // /tmp/.. ; do
	set +e; "$FSCK" --extract="$dir" "$T/img" >/dev/null 2>"$T/err"; rc=$?; set -e
	[ $rc = 16 ] || fail "--extract=$dir without --force exits $rc"
	grep -q -- "--force" "$T/err" || fail "--extract=$dir: $(cat "$T/err")"
done
expect_fail "$FSCK" --force "$T/img" 2>/dev/null	# as erofs-utils: needs --extract
"$FSCK" --force --extract="$T/forced" "$T/img" 2>/dev/null || fail "--force with a directory"
treecmp "$src" "$T/forced" --mtime 0

note "fsck --path/--nid check and extract one subtree (erofs-utils 1.9's meaning)"
"$FSCK" --path=/sub --extract="$T/sub" "$T/img" 2>"$T/err" || fail "--path=/sub: $(cat "$T/err")"
# a-again's other name is outside the subtree: one link here
treecmp "$src/sub" "$T/sub" --mtime 0 --skip . --skip a-again
cmp "$src/sub/a-again" "$T/sub/a-again" || fail "--path=/sub: a-again"
[[ $(cat "$T/err") == *"clean: 6 inodes"* ]] || fail "--path=/sub checked: $(cat "$T/err")"
nid=$("$DUMP" --path=/sub/deep "$T/img" | sed -n 's/^NID: *//p')
"$FSCK" --nid="$nid" --extract="$T/deep" "$T/img" 2>/dev/null || fail "--nid=$nid"
cmp "$src/sub/deep/random" "$T/deep/random" || fail "--nid extracted the wrong subtree"
[ "$(ls -A "$T/deep")" = random ] || fail "--nid extracted more than its subtree"
# a file is extracted as DIR itself
"$FSCK" --path=/sub/numbers --extract="$T/numbers" "$T/img" 2>/dev/null || fail "--path to a file"
cmp "$src/sub/numbers" "$T/numbers" || fail "--path to a file: content"
"$FSCK" --path=/sub/a-again --extract="$T/again" "$T/img" 2>/dev/null || fail "--path to a hard link"
cmp "$src/a" "$T/again" || fail "--path to a hard link: content"
expect_fail "$FSCK" --path=/sub/numbers --extract="$T/numbers" "$T/img" 2>/dev/null
"$FSCK" --path=/sub/numbers --extract="$T/numbers" --overwrite "$T/img" 2>/dev/null ||
	fail "--overwrite of a single file"
set +e; "$FSCK" --path=/no/such "$T/img" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 8 ] || fail "--path to nothing exits $rc"
set +e; "$FSCK" --nid=99999999 "$T/img" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 8 ] || fail "--nid past the image exits $rc"
if [ -n "$EU9" ]; then
	"$EU9/fsck.erofs" --xattrs --path=/sub --extract="$T/eu-sub" "$T/img" >/dev/null 2>&1 ||
		fail "erofs-utils 1.9 --path"
	treecmp "$T/eu-sub" "$T/sub"
	"$EU9/fsck.erofs" --path=/sub/numbers --extract="$T/eu-numbers" "$T/img" >/dev/null 2>&1
	cmp "$T/eu-numbers" "$T/numbers" || fail "a single file extracted unlike erofs-utils"
fi

note "fsck --[no-]xattrs; an ordinary user skips trusted.* with a warning"
"$FSCK" --no-xattrs --extract="$T/nox" "$T/img" 2>/dev/null || fail "--no-xattrs"
[ -z "$(getfattr --absolute-names -d -m - "$T/nox/a" 2>/dev/null)" ] || fail "--no-xattrs set xattrs"
"$FSCK" --xattrs --extract="$T/withx" "$T/img" 2>/dev/null || fail "--xattrs"
[ "$(getfattr --absolute-names --only-values -n trusted.secret "$T/withx/a")" = root-only ] ||
	fail "--xattrs as root: trusted.secret not set"
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	chmod 755 "$T"
	chmod 644 "$T/img"
	mkdir "$T/nobody" && chown nobody "$T/nobody"
	asnobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
	asnobody "$FSCK" --xattrs --extract="$T/nobody/x" "$T/img" 2>"$T/err" ||
		fail "extraction as nobody: $(cat "$T/err")"
	grep -q "trusted.secret.*skipped" "$T/err" || fail "no warning for trusted.*: $(cat "$T/err")"
	[ "$(grep -c "skipped" "$T/err")" = 1 ] || fail "more than one warning: $(cat "$T/err")"
	[ "$(getfattr --absolute-names --only-values -n user.note "$T/nobody/x/a")" = kept ] ||
		fail "as nobody: user.note not set"
	cmp "$src/sub/numbers" "$T/nobody/x/sub/numbers" || fail "as nobody: content"
	# extraction errors name the target, never "(null)": an empty image's
	# root is the only thing to chown
	"$MKFS" --quiet "$T/empty.img" "$src/empty"
	chmod 644 "$T/empty.img"
	set +e
	asnobody "$FSCK" --preserve-owner --extract="$T/nobody/own" "$T/empty.img" >/dev/null 2>"$T/err"
	rc=$?; set -e
	[ $rc != 0 ] || fail "chown as nobody succeeded"
	! grep -q "(null)" "$T/err" || fail "(null) in: $(cat "$T/err")"
	grep -q "$T/nobody/own" "$T/err" || fail "the root is not named: $(cat "$T/err")"
else
	note "setpriv or user nobody missing: unprivileged extraction not tried"
fi

note "image-level problems are the image's or the superblock's, not /'s"
head -c 6000 "$T/img" >"$T/short.img"
set +e; "$FSCK" "$T/short.img" 2>"$T/err"; rc=$?; set -e
[ $rc = 1 ] || fail "truncated image exits $rc"
grep -q "error: image truncated" "$T/err" || fail "truncation: $(cat "$T/err")"
! grep -q "error: /:" "$T/err" || fail "image problem put on /: $(cat "$T/err")"

note "--offset: images inside a file, both ways with erofs-utils"
"$MKFS" --quiet -T 0 -U clear --offset=65536 "$T/off.img" "$src"
"$EU/fsck.erofs" --offset=65536 "$T/off.img" >/dev/null 2>&1 ||
	fail "erofs-utils' fsck --offset rejects our image"
"$EU/fsck.erofs" --xattrs --offset=65536 --extract="$T/eu-off" "$T/off.img" >/dev/null 2>&1
treecmp "$src" "$T/eu-off" --mtime 0 --skip .
# erofs-utils 1.8.6 and 1.9.4 with --offset misplace data blocks: the
# kernel reads wrong bytes from such an image, and they can land on the
# xattr area.  Only a tree whose data is all inline makes a sound image.
mkdir -p "$T/inline/sub/deep" "$T/inline/empty"
seq 1 300 >"$T/inline/sub/n"
printf 'hi\n' >"$T/inline/a"
ln -s ../a "$T/inline/sub/l"
"$EU/mkfs.erofs" -T 0 --offset=65536 "$T/eu-off.img" "$T/inline" >/dev/null 2>&1 ||
	fail "erofs-utils mkfs --offset"
"$FSCK" --offset=65536 --extract="$T/our-off" "$T/eu-off.img" 2>"$T/err" ||
	fail "our fsck --offset on erofs-utils' image: $(cat "$T/err")"
treecmp "$T/inline" "$T/our-off" --mtime 0 --skip .
cmp <("$DUMP" --offset=65536 --cat --path=/sub/n "$T/eu-off.img") "$T/inline/sub/n" ||
	fail "dump --offset --cat"

note "dump --cat prints a file's content, as erofs-utils"
for f in a sub/numbers sub/deep/random sub/a-again; do
	cmp <("$DUMP" --cat --path="/$f" "$T/img") "$src/$f" || fail "--cat /$f"
	cmp <("$DUMP" --cat --path="/$f" "$T/img") <("$EU/dump.erofs" --cat --path="/$f" "$T/img") ||
		fail "--cat /$f differs from erofs-utils"
done
[ "$("$DUMP" --cat --path=/sub/link "$T/img")" = ../a ] || fail "--cat of a symlink"
nid=$("$DUMP" --path=/sub/numbers "$T/img" | sed -n 's/^NID: *//p')
cmp <("$DUMP" --cat --nid="$nid" "$T/img") "$src/sub/numbers" || fail "--cat --nid"
set +e; "$DUMP" --cat --path=/sub "$T/img" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 8 ] || fail "--cat of a directory exits $rc"
set +e; "$DUMP" --cat "$T/img" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 16 ] || fail "--cat without an inode exits $rc"
set +e; "$DUMP" --cat -s --path=/a "$T/img" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 16 ] || fail "--cat with -s exits $rc"

# what hints decide, per regular file: the algorithms of its compressed
# extents and its largest pcluster, or "uncompressed" (extent boundaries
# are each compressor's own business)
extents() {
	local f
	(cd "$2" && find . -type f | sort) | while read -r f; do
		printf '%s ' "${f#.}"
		"$DUMP" --path="${f#.}" -e "$1" | awk '
			/ bytes, [0-9]+ blocks / {
				for (i = 1; i < NF; i++)
					if ($(i + 1) == "blocks" && $i + 0 > max)
						max = $i + 0
				print "alg " $NF
			}
			END { print max ? "max " max " blocks" : "uncompressed" }' |
			sort -u | tr '\n' ' '
		echo
	done
}

note "--compress-hints: one file in erofs-utils' order, the same choices"
mkdir -p "$T/hs/d"
for i in 1 2; do
	seq 1 40000 >"$T/hs/f$i.txt"
	seq 1 40000 >"$T/hs/d/g$i.raw"
	seq 1 30000 | sed 's/$/ big/' >"$T/hs/d/big$i"
	seq 1 20000 >"$T/hs/plain$i"
done
printf '# size [algorithm] regex\n16384 1 \\.txt$\n0 \\.raw$\n8192 d/big\n' >"$T/hints"
for opts in "-zlz4hc:lzma -C65536" "-zlzma:lz4 -C32768 -Eztailpacking"; do
	# shellcheck disable=SC2086
	"$MKFS" --quiet $opts --compress-hints="$T/hints" "$T/h.img" "$T/hs"
	# shellcheck disable=SC2086
	"$EU/mkfs.erofs" $opts --compress-hints="$T/hints" "$T/eu-h.img" "$T/hs" >/dev/null 2>&1 ||
		fail "erofs-utils mkfs $opts with hints"
	extents "$T/h.img" "$T/hs" >"$T/h.ext"
	extents "$T/eu-h.img" "$T/hs" >"$T/eu-h.ext"
	diff "$T/eu-h.ext" "$T/h.ext" || fail "$opts: hints chose unlike erofs-utils"
	grep -q "lzma" "$T/h.ext" && grep -q "plain" "$T/h.ext" || fail "$opts: hints had no effect"
	kernel_mount "$T/h.img" "$T/mnt"
	treecmp "$T/hs" "$T/mnt"
	kernel_umount "$T/mnt"
done
printf '16384 \\.txt$ 1\n' >"$T/oldhints"
expect_fail "$MKFS" --quiet -zlz4:lzma --compress-hints="$T/oldhints" "$T/x.img" "$T/hs" 2>"$T/err"
grep -q "algorithm index" "$T/err" || fail "old column order not explained: $(cat "$T/err")"
printf '5000 \\.txt$\n' >"$T/oddhints"
"$MKFS" --quiet -zlz4 --compress-hints="$T/oddhints" "$T/x.img" "$T/hs" 2>/dev/null ||
	fail "a size that is not whole blocks is skipped, as erofs-utils"

note "-x N: shared when more than N inodes carry the xattr, as erofs-utils"
mkdir "$T/xs"
for i in 1 2 3; do echo $i >"$T/xs/f$i"; setfattr -n user.three -v BBBB "$T/xs/f$i"; done
setfattr -n user.two -v AAAA "$T/xs/f1"
setfattr -n user.two -v AAAA "$T/xs/f2"
setfattr -n user.one -v CCCC "$T/xs/f3"
for x in 0 1 2 3 -1; do
	"$MKFS" --quiet -x $x -T 0 "$T/x.img" "$T/xs"
	"$EU/mkfs.erofs" -x $x -T 0 "$T/eu-x.img" "$T/xs" >/dev/null 2>&1
	for f in f1 f2 f3; do
		a=$("$DUMP" --path=/$f "$T/x.img" | grep "^Inode:")
		b=$("$DUMP" --path=/$f "$T/eu-x.img" | grep "^Inode:")
		[ "$a" = "$b" ] || fail "-x $x /$f: ours '$a', erofs-utils' '$b'"
	done
done

note "-C without -z and --uid/gid-offset as erofs-utils"
"$EU/mkfs.erofs" -C 65536 "$T/eu-c.img" "$src" >/dev/null 2>&1 || fail "erofs-utils -C without -z"
"$MKFS" --quiet -C 65536 "$T/c.img" "$src" 2>/dev/null || fail "-C without -z"
owners() {
	kernel_mount "$1" "$T/mnt"
	(cd "$T/mnt" && find . -printf '%p %U %G\n' | sort)
	kernel_umount "$T/mnt"
}
for opts in "--uid-offset=1000 --gid-offset=7" "--all-root --uid-offset=100000" \
	    "--force-uid=3 --force-gid=4 --gid-offset=10"; do
	# shellcheck disable=SC2086
	"$MKFS" --quiet $opts "$T/o.img" "$src"
	# shellcheck disable=SC2086
	"$EU/mkfs.erofs" $opts "$T/eu-o.img" "$src" >/dev/null 2>&1
	owners "$T/eu-o.img" >"$T/eu-o.list"
	owners "$T/o.img" >"$T/o.list"
	diff "$T/eu-o.list" "$T/o.list" || fail "owners with $opts"
done

note "-T, --all-time, --mkfs-time, --ignore-mtime, SOURCE_DATE_EPOCH: the same times"
times() {
	kernel_mount "$1" "$T/mnt"
	(cd "$T/mnt" && find . -printf '%p %T@\n' | sort)
	kernel_umount "$T/mnt"
}
check_times() {
	local ref=$1 sde=$2
	shift 2
	env ${sde:+SOURCE_DATE_EPOCH=$sde} "$MKFS" --quiet "$@" "$T/t.img" "$src"
	env ${sde:+SOURCE_DATE_EPOCH=$sde} "$ref/mkfs.erofs" "$@" "$T/eu-t.img" "$src" >/dev/null 2>&1
	times "$T/eu-t.img" >"$T/eu-t.list"
	times "$T/t.img" >"$T/t.list"
	diff "$T/eu-t.list" "$T/t.list" ||
		fail "times with ${sde:+SOURCE_DATE_EPOCH=$sde }$*"
}
check_times "$EU" "" -T 1000
check_times "$EU" "" -T 1000 --all-time
check_times "$EU" "" -T 1000 --mkfs-time
check_times "$EU" "" -T 1000 --mkfs-time --ignore-mtime
check_times "$EU" "" -T 1000 --mkfs-time --ignore-mtime --preserve-mtime
check_times "$EU" "" -T 1000 --ignore-mtime
check_times "$EU" 1800
check_times "$EU" 2000 --mkfs-time
if [ -n "$EU9" ]; then
	check_times "$EU9" 1800 --ignore-mtime
	check_times "$EU9" 2000 --all-time
fi
echo "erofs-utils' options verified"
