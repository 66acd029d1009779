#!/bin/bash
# run.sh: alone
# (boots the cachefiles kernel under qemu: nothing beside it)
# Lazy pull on the kernel's own path: two gzip layers indexed in place
# with page-sized blocks (mkfs --tar=i -b 4096: each layer's device a
# block-aligned view of its tar, see t53), the bootstrap mounted in
# fscache mode (fsid=) inside a qemu guest running the cachefiles kernel
# t43 builds, erofs-fetch serving the bootstrap and both views from a
# directory that mirrors a registry's blobs: the bootstrap and the
# *compressed* layer blobs under their digests, no tar and no view.
# Every file reads back as the layers give it (merged, the upper one
# replacing a lower file); the bytes fetched for one small file are a
# small part of the image, and all of it costs about the blobs once.
# Then an OCI image (mkocilayout.py: whiteouts, an opaque directory)
# built with --oci=i -b 4096, its blobs copied from the layout as they
# are: the names and files the layers give, merged.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/kernel/guest.sh"

guest_prepare

note "two gzip layers: a 6 MiB file and small files below, a replaced file above"
mkdir -p "$T/l1/usr/bin" "$T/l1/etc" "$T/l1/zz" "$T/l2/etc" "$T/l2/opt"
"$PY" "$TOOLS/binfile.py" $((6 << 20)) "$T/l1/usr/bin/big" || fail "binfile.py"
for i in $(seq 1 30); do head -c $((i * 1531)) /dev/urandom >"$T/l1/etc/f$i"; done
echo lower >"$T/l1/etc/hello"
# after the big file in the tar: its data is past the first checkpoint
echo late >"$T/l1/zz/late"
ln "$T/l1/etc/f3" "$T/l1/etc/f3.hard"
echo upper >"$T/l2/etc/hello"
head -c 300000 /dev/urandom >"$T/l2/opt/rand"
for l in l1 l2; do
	find "$T/$l" -exec touch -h -d @1700000000 {} +
	tar --sort=name -C "$T/$l" -cf "$T/$l.tar" .
	gzip -n -c "$T/$l.tar" >"$T/$l.tar.gz"
done
"$MKFS" --quiet --tar=i --ungzip -b 4096 "$T/boot.img" "$T/l1.tar.gz" "$T/l2.tar.gz" ||
	fail "mkfs --tar=i -b 4096 over two gzip layers"
# what the layers give, merged: from the plain tars through the maps
"$FSCK" --device="$T/l1.tar" --device="$T/l2.tar" --extract="$T/merged" "$T/boot.img" >/dev/null ||
	fail "fsck --extract with the tars"
[ "$(cat "$T/merged/etc/hello")" = upper ] || fail "the upper layer's file does not replace the lower's"

mkdir -p "$T/srv/blobs"
cp "$T/boot.img" "$T/srv/blobs/t54boot"
for l in l1 l2; do
	cp "$T/$l.tar.gz" "$T/srv/blobs/$(sha256sum "$T/$l.tar.gz" | cut -c1-64)"
done
(cd "$T/merged" && find . -type f | sort | xargs sha256sum) >"$T/srv/merged.sum"
image_bytes=$(du -cb "$T/srv/blobs"/* | tail -n 1 | cut -f1)

note "an OCI image: whiteouts, an opaque directory, xattrs, a device (mkocilayout.py)"
"$PY" "$TOOLS/mkocilayout.py" "$T/layout" "$T/tars" >/dev/null || fail "mkocilayout.py"
"$MKFS" --quiet --oci=i -b 4096 "$T/oci.img" "oci-layout:$T/layout:v1" || fail "mkfs --oci=i -b 4096"
"$FSCK" --device="$T/tars/layer0.tar" --device="$T/tars/layer1.tar" --extract="$T/ocix" \
	"$T/oci.img" >/dev/null || fail "fsck --extract of the OCI bootstrap"
cp "$T/oci.img" "$T/srv/blobs/t54oci"
while read -r d; do
	cp "$T/layout/blobs/sha256/$d" "$T/srv/blobs/$d"
done <"$T/tars/blobs"
(cd "$T/ocix" && find . | sort) >"$T/srv/oci.names"
(cd "$T/ocix" && find . -type f | sort | xargs sha256sum) >"$T/srv/oci.sum"
echo "served: bootstrap $(stat -c %s "$T/boot.img") bytes + blobs $(stat -c %s "$T/l1.tar.gz") and $(stat -c %s "$T/l2.tar.gz") = $image_bytes bytes"
mkfs.ext4 -q -F -d "$T/srv" "$T/srv.ext4" 32M
truncate -s 64M "$T/cache.ext4"
mkfs.ext4 -q -F "$T/cache.ext4"

guest_root "$T/root"
guest_add_bin "$T/root" "$FETCH" erofs-fetch
echo "IMAGE_BYTES=$image_bytes" >"$T/root/scenario.sh"
cat >>"$T/root/scenario.sh" <<'EOF'
. /guestlib.sh
fetched() { metric 'erofs_fetch_source_bytes_total{source="default"}'; }

ifconfig lo 127.0.0.1 up || die "loopback"
mount -t ext4 /dev/vda /cache || die "mount cache disk"
mount -t ext4 /dev/vdb /srv || die "mount srv disk"
mkdir -p $R /mnt/a
erofs-fetch --source=dir:/srv/blobs --cache-dir=/cache/fscache --tag=t54 \
	--metrics=tcp:127.0.0.1:9400 --no-prefetch 2>$R/daemon.log & DPID=$!
i=0
until [ -n "$(fetched)" ]; do
	i=$((i + 1))
	[ $i -gt 150 ] && die "daemon not up: $(tail -n 3 $R/daemon.log)"
	usleep 200000
done

mount -t erofs -o ro,fsid=t54boot none /mnt/a || die "fscache mount: $(dmesg | tail -n 3)"
[ "$(cat /mnt/a/zz/late)" = late ] && ok "one small file reads right" ||
	bad "zz/late: $(cat /mnt/a/zz/late)"
small=$(fetched)
echo "GUEST-MEASURE one small file (zz/late, past the lower layer's 6 MiB file): $small bytes fetched of an image of $IMAGE_BYTES"
[ "$(cat /mnt/a/etc/hello)" = upper ] && ok "the upper layer's file replaces the lower's" ||
	bad "etc/hello: $(cat /mnt/a/etc/hello)"
[ "$small" -lt $((IMAGE_BYTES / 4)) ] && ok "a small file costs a small part of the image" ||
	bad "a small file fetched $small of $IMAGE_BYTES bytes"
(cd /mnt/a && sha256sum -c -s /srv/merged.sum) && ok "every file reads back right" ||
	bad "files differ: $(cd /mnt/a && sha256sum -c /srv/merged.sum 2>&1 | grep -v ': OK' | head -n 5)"
n=$(find /mnt/a -type f | wc -l)
[ "$n" = "$(wc -l </srv/merged.sum)" ] && ok "$n files, as the layers give" || bad "$n files in the mount"
[ "$(stat -c %h /mnt/a/etc/f3)" = 2 ] && ok "the hardlink" || bad "etc/f3 has $(stat -c %h /mnt/a/etc/f3) links"
all=$(fetched)
echo "GUEST-MEASURE every file: $all bytes fetched of an image of $IMAGE_BYTES"
[ "$all" -le $((IMAGE_BYTES + IMAGE_BYTES / 4)) ] && ok "the whole tree costs about the blobs once" ||
	bad "the whole tree fetched $all bytes of $IMAGE_BYTES"
grep -q "a compressed layer, served from blob sha256:" $R/daemon.log &&
	ok "the views were served from the compressed blobs" ||
	bad "no layer served from its blob: $(grep -m3 'error\|warn' $R/daemon.log)"
sync
echo 3 >/proc/sys/vm/drop_caches
(cd /mnt/a && sha256sum -c -s /srv/merged.sum) && ok "again from the cache files" ||
	bad "files differ when read from the cache"
umount /mnt/a

mount -t erofs -o ro,fsid=t54oci none /mnt/a || die "fscache mount of the OCI image: $(dmesg | tail -n 3)"
(cd /mnt/a && find . | sort) >$R/oci.names
cmp -s $R/oci.names /srv/oci.names && ok "the OCI image's names, whiteouts applied" ||
	bad "OCI names differ: $(diff /srv/oci.names $R/oci.names | head -n 5)"
(cd /mnt/a && sha256sum -c -s /srv/oci.sum) && ok "every file of the OCI image reads back right" ||
	bad "OCI files differ"
umount /mnt/a
kill -TERM $DPID
wait $DPID
sync
umount /srv
umount /cache
echo "GUEST-FAILS $fails"
[ $fails = 0 ]
EOF
echo 240 >"$T/root/timeout"
guest_pack "$T/root" "$T/initrd.gz"

note "booting the guest"
guest_boot "$KERNEL" "$T/initrd.gz" 300 "$T/cache.ext4" "$T/srv.ext4"
mkdir -p "$T/cmnt"
mount -o loop "$T/cache.ext4" "$T/cmnt" || fail "mounting the guest's cache disk"
_mounts+=("$T/cmnt")
[ -f "$T/cmnt/results/daemon.log" ] && grep -v 'debug:' "$T/cmnt/results/daemon.log" | tail -n 20 | sed 's/^/daemon.log| /'
guest_verdict
grep -h "GUEST-MEASURE" "$T/console.log" | tr -d '\r'
echo "the bootstrap mounted in fscache mode, its layers served from the compressed blobs (guest ${GUEST_SECS}s)"
