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
