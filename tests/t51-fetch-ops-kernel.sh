#!/bin/bash
# run.sh: alone
# (boots the cachefiles kernel under qemu: nothing beside it)
# erofs-fetch for operators against a real kernel (the one t43 builds,
# cached), inside a qemu guest with the images served by busybox httpd:
#   - a tree read through the daemon, the metrics endpoint scraped with
#     busybox wget over TCP: READs and bytes as the log and the tree say,
#     and reading the tree again after dropping the page cache costs no
#     READ and no byte (it comes from the cache files);
#   - two images in one cachefiles domain (domain_id=) sharing a blob:
#     the blob is opened and fetched once, both trees read back right;
#   - culling: with --cache-high/--cache-low in bytes, images read and
#     unmounted push the cache over the high-water mark; the daemon culls
#     closed objects until the cache is under the low-water mark, counts
#     and logs it, while a third image stays mounted, is found in use,
#     is never culled and keeps reading correctly; a culled image reads
#     back from the source.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/kernel/guest.sh"

guest_prepare

note "images: A, B (4 MiB each), C (1 MiB), D (2 MiB, twice in a domain), E (2 MiB)"
mkdir -p "$T/srv/www"
# mkimage NAME MIB: a tree of random files, its bootstrap and blob served
mkimage() {
	local name=$1 mib=$2 i
	mkdir -p "$T/$name"
	for ((i = 0; i < mib * 4; i++)); do
		head -c 262144 /dev/urandom >"$T/$name/f$i"
	done
	echo "$name" >"$T/$name/small"
	"$MKFS" --quiet --chunksize=65536 --blobdev="$T/$name.blob" \
		"$T/$name.boot" "$T/$name" || fail "mkfs.erofs $name"
	(cd "$T/$name" && sha256sum *) >"$T/srv/$name.sum"
	cp "$T/$name.boot" "$T/srv/www/t51$name"
	cp "$T/$name.blob" "$T/srv/www/$(sha256sum "$T/$name.blob" | cut -c1-64)"
}
mkimage a 4
mkimage b 4
mkimage c 1
mkimage d 2
mkimage e 2
# a second image of the same blob: another bootstrap name in the domain
cp "$T/d.boot" "$T/srv/www/t51d2"
mkfs.ext4 -q -F -d "$T/srv" "$T/srv.ext4" 64M
truncate -s 128M "$T/cache.ext4"
mkfs.ext4 -q -F "$T/cache.ext4"

guest_root "$T/root"
guest_add_bin "$T/root" "$FETCH" erofs-fetch
cat >"$T/root/scenario.sh" <<EOF
DBLOB=$(sha256sum "$T/d.blob" | cut -c1-64)
DBLOB_SIZE=$(stat -c %s "$T/d.blob")
DBOOT_SIZE=$(stat -c %s "$T/d.boot")
CBLOB=$(sha256sum "$T/c.blob" | cut -c1-64)
EOF
cat >>"$T/root/scenario.sh" <<'EOF'
. /guestlib.sh
# check NAME DIR WHEN: every file of image NAME reads back right under DIR
check() {
	(cd "$2" && sha256sum -c -s /srv/$1.sum) && ok "$1 reads back right ($3)" ||
		bad "$1 read wrong under $2 ($3)"
}

ifconfig lo 127.0.0.1 up || die "loopback"
mount -t ext4 /dev/vda /cache || die "mount cache disk"
mount -t ext4 /dev/vdb /srv || die "mount srv disk"
mkdir -p $R /mnt/a /mnt/b /mnt/c /mnt/d1 /mnt/d2 /run
httpd -f -p 127.0.0.1:8080 -h /srv/www & HTTPD=$!
erofs-fetch --source=http://127.0.0.1:8080 --cache-dir=/cache/fscache --tag=t51 \
	--metrics=unix:/run/metrics.sock,tcp:127.0.0.1:9400 --no-prefetch \
	--cache-high=12M --cache-low=4M --cache-interval=1 --log-level=debug \
	2>$R/daemon.log & DPID=$!
wait_metric erofs_fetch_open_objects -ge 0 30 || die "no metrics endpoint: $(tail -n 3 $R/daemon.log)"
[ -S /run/metrics.sock ] && ok "metrics on the unix socket too" || bad "no unix socket"

# --- metrics: what a read costs
mount -t erofs -o ro,fsid=t51a none /mnt/a || die "mount a: $(dmesg | tail -n 3)"
check a /mnt/a "first read"
reads=$(metric 'erofs_fetch_requests_total{type="read"}')
logged=$(grep -c 'debug: READ msg' $R/daemon.log)
demand=$(metric 'erofs_fetch_bytes_written_total{kind="demand"}')
fetched=$(metric 'erofs_fetch_source_bytes_total{source="default"}')
lat=$(metric erofs_fetch_read_latency_seconds_count)
echo "after a: reads $reads (log $logged) latency samples $lat demand $demand fetched $fetched"
[ "$reads" = "$logged" ] && [ "$reads" -gt 0 ] && ok "READs counted as logged" ||
	bad "READs: metrics $reads, log $logged"
[ "$lat" = "$reads" ] && ok "one latency sample per READ" || bad "latency count $lat"
[ "$demand" -ge 4194304 ] && [ "$fetched" -ge "$demand" ] &&
	ok "bytes: 4 MiB of files read, $demand written, $fetched fetched" ||
	bad "bytes: demand $demand fetched $fetched"
[ "$(metric erofs_fetch_open_objects)" = 2 ] && ok "bootstrap and blob open" ||
	bad "open objects $(metric erofs_fetch_open_objects)"
sync
echo 3 >/proc/sys/vm/drop_caches
check a /mnt/a "from the cache files"
[ "$(metric 'erofs_fetch_requests_total{type="read"}')" = "$reads" ] &&
[ "$(metric 'erofs_fetch_bytes_written_total{kind="demand"}')" = "$demand" ] &&
	ok "reading again from the cache costs no READ" ||
	bad "reading again: $(metric 'erofs_fetch_requests_total{type="read"}') READs"
wget -q -O $R/metrics.json $M/metrics.json && grep -q '"open_objects": 2' $R/metrics.json &&
	ok "JSON metrics" || bad "JSON metrics: $(head -c 300 $R/metrics.json)"
umount /mnt/a
wait_metric erofs_fetch_open_objects -eq 0 30 && ok "objects closed at umount" ||
	bad "open objects after umount: $(metric erofs_fetch_open_objects)"

# --- two images in one domain share a blob: fetched once
d0=$(metric 'erofs_fetch_bytes_written_total{kind="demand"}')
mount -t erofs -o ro,fsid=t51d,domain_id=t51dom none /mnt/d1 || die "mount d1: $(dmesg | tail -n 3)"
mount -t erofs -o ro,fsid=t51d2,domain_id=t51dom none /mnt/d2 || die "mount d2: $(dmesg | tail -n 3)"
check d /mnt/d1 "domain, first image"
check d /mnt/d2 "domain, second image"
d1=$(metric 'erofs_fetch_bytes_written_total{kind="demand"}')
opened=$(grep -c "opened $DBLOB" $R/daemon.log)
echo "domain: blob opened $opened times, $((d1 - d0)) bytes written (blob $DBLOB_SIZE, bootstrap $DBOOT_SIZE)"
[ "$opened" = 1 ] && ok "the shared blob was opened once" || bad "shared blob opened $opened times"
[ $((d1 - d0)) -le $((DBLOB_SIZE + 2 * DBOOT_SIZE)) ] && ok "the shared blob was fetched once" ||
	bad "domain: $((d1 - d0)) bytes written for a blob of $DBLOB_SIZE"
umount /mnt/d1
umount /mnt/d2

# --- culling: C stays mounted while A, D and B are pushed out by E.  A
# new object's cache file is a temporary file until the kernel releases
# it: C is read and unmounted once so that its files are in the tree,
# then mounted again, which puts them in use.  A, D, C and B stay under
# the high-water mark; E crosses it.
mount -t erofs -o ro,fsid=t51c none /mnt/c || die "mount c"
check c /mnt/c "before culling"
umount /mnt/c
mount -t erofs -o ro,fsid=t51c none /mnt/c || die "mount c again"
mount -t erofs -o ro,fsid=t51b none /mnt/b || die "mount b"
check b /mnt/b "just under the high-water mark"
umount /mnt/b
sleep 2
[ "$(metric erofs_fetch_culled_objects_total)" = 0 ] && ok "nothing culled under the high-water mark" ||
	bad "culled under the high-water mark: $(metric erofs_fetch_cache_bytes) bytes"
mount -t erofs -o ro,fsid=t51e none /mnt/b || die "mount e"
check e /mnt/b "over the high-water mark"
if wait_metric erofs_fetch_culled_objects_total -ge 1 60 &&
   wait_metric erofs_fetch_cache_bytes -le 4194304 60; then
	ok "culled under the low-water mark: $(metric erofs_fetch_cache_bytes) bytes, $(metric erofs_fetch_culled_objects_total) objects culled"
else
	bad "cache $(metric erofs_fetch_cache_bytes) bytes, culled $(metric erofs_fetch_culled_objects_total)"
fi
grep 'info: cull: ' $R/daemon.log
grep -q 'info: cull: cache size .* above the high-water mark 12.0 MiB: culled [1-9]' $R/daemon.log &&
	ok "culling logged" || bad "no culling in the log"
grep -q 'still above the low-water mark' $R/daemon.log &&
	bad "a culling pass did not reach the low-water mark"
[ "$(metric erofs_fetch_cull_busy_total)" -ge 1 ] && ok "the mounted image's files were found in use" ||
	bad "no culling candidate was in use"
find /cache/fscache/cache -name "D$CBLOB" | grep -q . && ok "the mounted image was not culled" ||
	bad "the blob of the mounted image was culled"
echo 3 >/proc/sys/vm/drop_caches
check c /mnt/c "after culling"
check e /mnt/b "after culling"
umount /mnt/c
umount /mnt/b
# a culled image comes back from the source
mount -t erofs -o ro,fsid=t51a none /mnt/a || die "mount a again"
check a /mnt/a "after it was culled"
umount /mnt/a
wget -q -O - $M/metrics | grep -v '^#' >$R/metrics.txt

kill -TERM $DPID
wait $DPID
rc=$?
[ $rc = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
grep -q 'stats (exit)' $R/daemon.log || bad "no stats at exit"
kill $HTTPD
sync
umount /srv
umount /cache
echo "GUEST-FAILS $fails"
[ $fails = 0 ]
EOF
echo 420 >"$T/root/timeout"
guest_pack "$T/root" "$T/initrd.gz"

note "booting the guest"
guest_boot "$KERNEL" "$T/initrd.gz" 480 "$T/cache.ext4" "$T/srv.ext4"
mkdir -p "$T/cmnt"
mount -o loop "$T/cache.ext4" "$T/cmnt" || fail "mounting the guest's cache disk"
_mounts+=("$T/cmnt")
R="$T/cmnt/results"
[ -f "$R/daemon.log" ] && grep -v 'debug:' "$R/daemon.log" | tail -n 40 | sed 's/^/daemon.log| /'
[ -f "$R/metrics.txt" ] && grep -E 'requests_total|culled|cache_bytes|source_bytes' "$R/metrics.txt" | sed 's/^/metrics| /'
guest_verdict
echo "metrics, domains and culling verified under the kernel (guest ${GUEST_SECS}s)"
