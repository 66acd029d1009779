#!/bin/bash
# Every block size from 512 to 65536: sizes the running kernel mounts are
# read back through it field by field; the larger ones are checked for a
# valid superblock, and their full verification waits for this project's
# fsck.erofs (the kernel refuses blocks larger than a page).
. "$(dirname "$0")/lib.sh"
require_mount

gentree full "$T/src"
page=$(kernel_max_blksz)
unverified=()
for bs in 512 1024 2048 4096 8192 16384 32768 65536; do
	img="$T/bs$bs.img"
	"$MKFS" --quiet -b "$bs" "$img" "$T/src"
	# blkszbits at byte 1036 of the image
	bits=$(od -An -tu1 -j 1036 -N1 "$img" | tr -d ' ')
	[ $((1 << bits)) -eq "$bs" ] || fail "-b $bs wrote blkszbits $bits"
	[ $(( $(stat -c %s "$img") % bs )) -eq 0 ] || fail "-b $bs: size not whole blocks"
	if [ "$bs" -le "$page" ]; then
		note "block size $bs: kernel"
		kernel_mount "$img" "$T/mnt"
		treecmp "$T/src" "$T/mnt"
		kernel_umount "$T/mnt"
	else
		unverified+=("$bs")
	fi
done
if [ -x "$FSCK" ]; then
	for bs in "${unverified[@]}"; do
		note "block size $bs: fsck.erofs"
		"$FSCK" "$T/bs$bs.img"
	done
elif [ ${#unverified[@]} -gt 0 ]; then
	echo "block sizes ${unverified[*]}: superblock checked only;" \
	     "the kernel takes at most $page and fsck.erofs is not built yet"
fi
