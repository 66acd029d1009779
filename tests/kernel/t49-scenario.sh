# t49's guest scenario (FSID, F1, F3 are set before it): the daemon behind
# a doctored mirror, then with a good fallback source.
. /guestlib.sh
sum_of() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
# stop_daemon PID: stats, then a clean exit
stop_daemon() {
	kill -USR1 $1
	usleep 300000
	kill $1
	wait $1
}

ifconfig lo 127.0.0.1 up || die "loopback"
mount -t ext4 /dev/vda /cache || die "mount cache disk"
mount -t ext4 /dev/vdb /srv || die "mount srv disk"
mkdir -p $R /mnt/a
httpd -f -p 127.0.0.1:8080 -h /srv/good & GOOD=$!
httpd -f -p 127.0.0.1:8081 -h /srv/bad & BAD=$!

# --- the doctored mirror alone: EIO for f3, f1 fine
exec 3<>/dev/cachefiles || die "open /dev/cachefiles"
erofs-fetch --devfd=3 --cache-dir=/cache/fscache --tag=t49 --no-prefetch \
	--source=http://127.0.0.1:8081 -v >$R/bad.log 2>&1 & DPID=$!
wait_log $R/bad.log 'ready:' 1 || die "daemon not ready"
mount -t erofs -o ro,fsid=$FSID none /mnt/a || die "mount: $(dmesg | tail -n 3)"
if cat /mnt/a/f3 >/dev/null 2>$R/f3.err; then
	bad "f3 read whole from a doctored mirror"
elif grep -q "Input/output error" $R/f3.err; then
	ok "f3: EIO"
else
	bad "f3: $(cat $R/f3.err)"
fi
if [ "$(sum_of /mnt/a/f1)" = "$F1" ]; then ok "f1 reads right"; else bad "f1 differs"; fi
umount /mnt/a
stop_daemon $DPID
exec 3>&-

# --- with a good fallback source, f3 reads right
exec 4<>/dev/cachefiles || die "open /dev/cachefiles again"
erofs-fetch --devfd=4 --cache-dir=/cache/fscache2 --tag=t49b --no-prefetch \
	--source=http://127.0.0.1:8081 --source=http://127.0.0.1:8080 \
	-v >$R/fallback.log 2>&1 & DPID=$!
wait_log $R/fallback.log 'ready:' 1 || die "daemon with a fallback not ready"
mount -t erofs -o ro,fsid=$FSID none /mnt/a || die "mount with a fallback"
if [ "$(sum_of /mnt/a/f3)" = "$F3" ]; then ok "f3 right through the fallback"; else bad "f3 through the fallback"; fi
umount /mnt/a
stop_daemon $DPID
exec 4>&-
kill $GOOD $BAD
sync
umount /srv
umount /cache
echo "GUEST-FAILS $fails"
[ $fails = 0 ]
