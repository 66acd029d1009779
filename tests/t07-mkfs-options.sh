#!/bin/bash
# Ownership, exclusion, label and uuid options, and an image written inside
# the tree it is built from.
. "$(dirname "$0")/lib.sh"
require_mount
require_debian_erofs

gentree full "$T/src"

note "--all-root"
"$MKFS" --quiet --all-root "$T/r.img" "$T/src"
kernel_mount "$T/r.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --uid 0 --gid 0
kernel_umount "$T/mnt"

note "--force-uid / --force-gid"
"$MKFS" --quiet --force-uid=4242 --force-gid=100000 "$T/f.img" "$T/src"
kernel_mount "$T/f.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --uid 4242 --gid 100000
kernel_umount "$T/mnt"

note "--exclude-path and --exclude-regex"
"$MKFS" --quiet --exclude-path=big --exclude-path=/links/a/ \
	--exclude-regex='^sizes/f[0-9]*1$' "$T/x.img" "$T/src"
kernel_mount "$T/x.img" "$T/mnt"
[ ! -e "$T/mnt/big" ] && [ ! -e "$T/mnt/links/a" ] || fail "excluded paths present"
[ ! -e "$T/mnt/sizes/f511" ] && [ ! -e "$T/mnt/sizes/f8191" ] || fail "regex exclusion failed"
[ -e "$T/mnt/sizes/f4096" ] && [ -e "$T/mnt/links/b/one-again" ] || fail "too much excluded"
# the links/b names lose their partners in links/a: nlink counts what is in the image
[ "$(stat -c %h "$T/mnt/links/b/one-again")" = 2 ] || fail "nlink after exclusion"
kernel_umount "$T/mnt"

note "-L and -U"
"$MKFS" --quiet -L my-volume -U 0a0b0c0d-1111-2222-3333-444455556666 "$T/l.img" "$T/src"
grep -q "UUID: *0a0b0c0d-1111-2222-3333-444455556666" <<<"$("$DEB_DUMP" -s "$T/l.img")" || fail "uuid"
[ "$(dd if="$T/l.img" bs=1 skip=$((1024 + 64)) count=9 status=none)" = my-volume ] || fail "label"
"$MKFS" --quiet -U clear "$T/c.img" "$T/src"
grep -q "UUID: *00000000-0000-0000-0000-000000000000" <<<"$("$DEB_DUMP" -s "$T/c.img")" || fail "-U clear"

note "an image written into its own source tree leaves itself out"
cp -a "$T/src" "$T/self"
"$MKFS" --quiet "$T/self/image.erofs" "$T/self"
kernel_mount "$T/self/image.erofs" "$T/mnt"
[ ! -e "$T/mnt/image.erofs" ] || fail "the image contains itself"
rm "$T/self/image.erofs"
# creating the image changed the directory's mtime before it was scanned
treecmp "$T/self" "$T/mnt" --skip .
kernel_umount "$T/mnt"

note "--help and --version"
grep -q "Usage: mkfs.erofs" <<<"$("$MKFS" --help)" || fail "--help"
grep -q "mkfs.erofs" <<<"$("$MKFS" --version)" || fail "--version"

note "progress on a terminal only"
script -qec "'$MKFS' -T 0 '$T/p.img' '$T/src'" /dev/null >"$T/tty.out"
grep -q "writing files" "$T/tty.out" || fail "no progress on a terminal"
"$MKFS" -T 0 "$T/p.img" "$T/src" >"$T/plain.out" 2>"$T/plain.err"
! grep -q $'\r' "$T/plain.err" || fail "progress written to a non-terminal"
grep -q "^Built $T/p.img" "$T/plain.out" || fail "no summary"
"$MKFS" --quiet -T 0 "$T/p.img" "$T/src" >"$T/quiet.out" 2>&1
[ ! -s "$T/quiet.out" ] || fail "--quiet printed something"

note "--uid-offset / --gid-offset add to the owners, after --force-uid"
"$MKFS" --quiet --uid-offset=100000 --gid-offset=200000 "$T/o.img" "$T/src"
kernel_mount "$T/o.img" "$T/mnt"
"$PY" - "$T/src" "$T/mnt" <<'PYEOF' || fail "--uid-offset/--gid-offset owners"
import os, sys
src, img = sys.argv[1:3]
bad = 0
for root, dirs, files in os.walk(src):
    for name in dirs + files + ['.']:
        rel = os.path.relpath(os.path.join(root, name), src)
        a = os.lstat(os.path.join(src, rel))
        b = os.lstat(os.path.join(img, rel))
        if (b.st_uid, b.st_gid) != (a.st_uid + 100000, a.st_gid + 200000):
            print(f'{rel!r}: {b.st_uid}:{b.st_gid} for {a.st_uid}:{a.st_gid}')
            bad += 1
sys.exit(bad > 0)
PYEOF
kernel_umount "$T/mnt"
"$MKFS" --quiet --force-uid=5 --uid-offset=10 --all-root --gid-offset=7 "$T/o2.img" "$T/src"
kernel_mount "$T/o2.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --uid 15 --gid 7
kernel_umount "$T/mnt"
expect_fail "$MKFS" --quiet --force-uid=4294967295 --uid-offset=1 "$T/bad.img" "$T/src" 2>"$T/err"
grep -q "uid-offset" "$T/err" || fail "uid overflow not explained: $(cat "$T/err")"
[ ! -e "$T/bad.img" ] || fail "an image was left after the uid overflow"

note "--offset writes the image that far into the file; mount -o offset= reads it"
"$MKFS" --quiet -T 0 -U clear "$T/plain.img" "$T/src"
"$MKFS" --quiet -T 0 -U clear --offset=1048576 "$T/off.img" "$T/src"
[ "$(stat -c %s "$T/off.img")" = $(( $(stat -c %s "$T/plain.img") + 1048576 )) ] ||
	fail "--offset image size"
cmp -n 1048576 "$T/off.img" /dev/zero || fail "bytes before --offset are not zeros"
cmp -i 1048576:0 "$T/off.img" "$T/plain.img" || fail "--offset changed the image itself"
mkdir -p "$T/mnt"
mount -t erofs -o ro,offset=1048576 "$T/off.img" "$T/mnt" ||
	fail "kernel refused the --offset image: $(dmesg | tail -n 2)"
_mounts+=("$T/mnt")
treecmp "$T/src" "$T/mnt" --mtime 0
kernel_umount "$T/mnt"
"$FSCK" --offset=1048576 "$T/off.img" || fail "fsck --offset"
expect_fail "$FSCK" "$T/off.img" 2>/dev/null

note "-C without -z is checked and ignored, as erofs-utils does"
"$MKFS" -T 0 -U clear -C 65536 "$T/c.img" "$T/src" >/dev/null 2>"$T/err" ||
	fail "-C without -z refused: $(cat "$T/err")"
grep -q "nothing is compressed" "$T/err" || fail "-C without -z: no warning"
cmp "$T/c.img" "$T/plain.img" || fail "-C without -z changed the image"
expect_fail "$MKFS" --quiet -C 3000 "$T/c.img" "$T/src" 2>/dev/null

note "--ignore-mtime: compact inodes with the build time; --preserve-mtime undoes it"
"$MKFS" --quiet -T 1000 --mkfs-time --ignore-mtime "$T/im.img" "$T/src"
kernel_mount "$T/im.img" "$T/mnt"
treecmp "$T/src" "$T/mnt" --mtime 1000 --skip owners
kernel_umount "$T/mnt"
"$MKFS" --quiet -T 1000 --mkfs-time --ignore-mtime --preserve-mtime "$T/pm.img" "$T/src"
kernel_mount "$T/pm.img" "$T/mnt"
treecmp "$T/src" "$T/mnt"
kernel_umount "$T/mnt"

note "a block size the kernel cannot mount gets a warning naming the largest"
page=$(kernel_max_blksz)
if [ "$page" -lt 65536 ]; then
	big=$(( page * 2 ))
	"$MKFS" -b $big "$T/big.img" "$T/src" >/dev/null 2>"$T/err" || fail "-b $big refused"
	grep -q "block size $big .* up to $page only" "$T/err" ||
		fail "no warning for -b $big: $(cat "$T/err")"
	# the warning is true: this kernel refuses the image
	mkdir -p "$T/mnt"
	if mount -t erofs -o ro "$T/big.img" "$T/mnt" 2>/dev/null; then
		umount "$T/mnt"
		fail "the kernel mounted -b $big: the warning is wrong"
	fi
	"$MKFS" -b $page "$T/ok.img" "$T/src" >/dev/null 2>"$T/err"
	! grep -q "block size" "$T/err" || fail "warning for -b $page"
fi
echo "options verified"
