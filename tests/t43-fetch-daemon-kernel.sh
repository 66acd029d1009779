#!/bin/bash
# run.sh: alone
# (builds a kernel, boots it under qemu with guest watchdogs: nothing beside it)
# erofs-fetch against a real kernel: builds (once, cached) a kernel with
# CACHEFILES_ONDEMAND and EROFS_FS_ONDEMAND from Debian's linux-source-6.12,
# boots it under qemu (TCG) with a busybox initramfs holding the daemon,
# and inside the guest, with the bootstrap and blob served over HTTP by
# busybox httpd:
#   - mounts bootstrap + blob in fscache mode (-o fsid=) and reads the
#     whole tree; the listing (contents, modes, owners, times, xattrs)
#     must equal the host's reading of the same image, which treecmp
#     checks against the source;
#   - failover: with the HTTP server paused, a reader is blocked on a
#     READ; the daemon is killed (SIGKILL) and restarted on the same
#     /dev/cachefiles fd (--devfd, held by the guest's shell); it writes
#     "restore" and the read completes with the right data; the same
#     again with --supervise holding the fd; and the fd handed back the
#     way systemd's fd store does it (LISTEN_FDS) is adopted;
#   - a blob missing at the source fails the reader (not a hang), and a
#     blob that vanishes after OPEN fails the READ with an error;
#   - SIGUSR1 prints statistics, SIGTERM shuts down cleanly;
#   - with --prefetch-all (set in the configuration file's [daemon]
#     section) the whole tree reads back with the HTTP server paused,
#     in a domain (domain_id=);
#   - compressed images (lz4hc 64K, lzma 1M, fragments, ztailpacking,
#     zstd when mkfs.erofs has it) of small and multi-MiB files, served
#     with the default options (prefetch window, widening): every file
#     reads back equal, and the reader, umount and the daemon's exit
#     finish within bounds -- a pcluster half-filled in a cache file
#     hangs, corrupts or panics Linux 6.12;
#   - the deterministic reproducer of that: a --prefetch list filling
#     only the first 32 KiB of a file's first 64 KiB pcluster, then the
#     file read;
# and afterwards dump.erofs --cache (when built) reports the guest's cache.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/kernel/guest.sh"
require_mount

# EROFS_FETCH: another build of the daemon to run in the guest (e.g. ASan)
kstart=$(date +%s)
guest_prepare
echo "kernel ready in $(( $(date +%s) - kstart ))s: $KERNEL"

note "images: bootstrap + blob, and a second image whose blob is not served"
gentree full "$T/src" >/dev/null
mkdir -p "$T/src/failover"
head -c $((6 << 20)) /dev/urandom >"$T/src/failover/big1"
head -c $((6 << 20)) /dev/urandom >"$T/src/failover/big2"
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/blob.img" "$T/boot.img" "$T/src"
mkdir -p "$T/src2"
head -c $((1 << 20)) /dev/urandom >"$T/src2/data"
echo "small" >"$T/src2/small"
"$MKFS" --quiet --chunksize=65536 --blobdev="$T/blob2.img" "$T/boot2.img" "$T/src2"
BLOB=$(sha256sum "$T/blob.img" | cut -c1-64)
BLOB2=$(sha256sum "$T/blob2.img" | cut -c1-64)

note "compressed images: small files and files of several MiB"
"$PY" "$TOOLS/gen-ctree.py" "$T/csrc"
(cd "$T/csrc" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$T/csrc.sum"
CIMAGES=""
# mkcimage NAME MKFS-OPTIONS...: bootstrap + blob of the compressed tree
mkcimage() {
	local name=$1
	shift
	"$MKFS" --quiet "$@" --chunksize=65536 --blobdev="$T/$name.blob" \
		"$T/$name.boot" "$T/csrc" || fail "mkfs.erofs $* failed"
	CIMAGES="$CIMAGES $name"
}
mkcimage clz4 -zlz4hc -C65536
mkcimage clzma -zlzma -C1048576
mkcimage cfrag -zlz4hc -C65536 -E fragments
mkcimage ctail -zlz4hc -C65536 -E ztailpacking
if "$MKFS" --quiet -zzstd -C65536 "$T/zprobe.img" "$T/src2" 2>"$T/zprobe.err"; then
	mkcimage czstd -zzstd -C65536
else
	echo "zstd case skipped: this mkfs.erofs has no -z zstd yet ($(head -n 1 "$T/zprobe.err"))"
fi
# the reproducer: big/b1's first pcluster, 64 KiB, filled only halfway
ext=$("$TOP/dump/dump.erofs" --path=/big/b1 -e "$T/clz4.boot" | awk '/^ *0:/ && !n++')
[[ $ext =~ dev\ 1\ +([0-9]+)\.\.([0-9]+)\ +65536\ bytes ]] ||
	fail "big/b1's first extent is not a 64 KiB pcluster in the blob: $ext"
REPRO_OFF=${BASH_REMATCH[1]}
echo "reproducer: big/b1's first pcluster is at $REPRO_OFF of the clz4 blob"

note "the host's reading of the image, checked against the source"
gcc -static -O2 -I"$TOP/include" -o "$T/treesum" "$TOP/tests/tools/treesum.c" \
	"$TOP/lib/sha256.c" 2>"$T/gcc.err" || { cat "$T/gcc.err"; fail "treesum build"; }
loop=$(losetup -f --show "$T/blob.img") || fail "losetup"
_loops+=("$loop")
mkdir -p "$T/hmnt"
mount -t erofs -o ro,device="$loop" "$T/boot.img" "$T/hmnt" || fail "host mount"
_mounts+=("$T/hmnt")
treecmp "$T/src" "$T/hmnt"
"$T/treesum" "$T/hmnt" >"$T/host.sum" || fail "treesum on the host mount"
umount "$T/hmnt"

note "guest disks and initramfs"
mkdir -p "$T/srv/www" "$T/srv/hidden"
cp "$T/boot.img" "$T/srv/www/t43boot"
cp "$T/blob.img" "$T/srv/www/$BLOB"
cp "$T/boot2.img" "$T/srv/www/t43miss"
cp "$T/blob2.img" "$T/srv/hidden/$BLOB2"
for c in $CIMAGES; do
	cp "$T/$c.boot" "$T/srv/www/$c"
	cp "$T/$c.blob" "$T/srv/www/$(sha256sum "$T/$c.blob" | cut -c1-64)"
done
cp "$T/csrc.sum" "$T/srv/csrc.sum"
mkfs.ext4 -q -F -d "$T/srv" "$T/srv.ext4" $(( $(du -sm "$T/srv" | cut -f1) + 32 ))M
truncate -s 256M "$T/cache.ext4"
mkfs.ext4 -q -F "$T/cache.ext4"

guest_root "$T/root"
guest_add_bin "$T/root" "$FETCH" erofs-fetch
cp "$T/treesum" "$T/root/bin/treesum"
cat >"$T/root/scenario.sh" <<EOF
BLOB=$BLOB
BLOB2=$BLOB2
BIG1=$(sha256sum "$T/src/failover/big1" | cut -c1-64)
BIG2=$(sha256sum "$T/src/failover/big2" | cut -c1-64)
CIMAGES="$CIMAGES"
CLZ4_BLOB=$(sha256sum "$T/clz4.blob" | cut -c1-64)
REPRO_OFF=$REPRO_OFF
EOF
cat >>"$T/root/scenario.sh" <<'EOF'
. /guestlib.sh
URL=http://127.0.0.1:8080
FETCH_ARGS="--source=$URL --tag=t43 --timeout=20000"
# alive PID: running and not a zombie
alive() { [ -d /proc/$1 ] && ! grep -q '^State:.*Z' /proc/$1/status; }
# read_bg FILE SUMFILE: hash FILE in the background; sets RPID
read_bg() { sha256sum "$1" >"$2" 2>&1 & RPID=$!; }

ifconfig lo 127.0.0.1 up || die "loopback"
mount -t ext4 /dev/vda /cache || die "mount cache disk"
mount -t ext4 /dev/vdb /srv || die "mount srv disk"
mkdir -p $R /mnt/a /mnt/b
httpd -f -p 127.0.0.1:8080 -h /srv/www & HTTPD=$!

# --- the fd that outlives the daemon: held by this shell
exec 3<>/dev/cachefiles || die "open /dev/cachefiles"
start_daemon() {
	erofs-fetch --devfd=3 --cache-dir=/cache/fscache $FETCH_ARGS -v >>$R/daemon.log 2>&1 & DPID=$!
	wait_log $R/daemon.log 'ready:' $1 || die "daemon not ready ($1)"
}
start_daemon 1
ok "daemon bound the cache"

t0=$(cut -d' ' -f1 /proc/uptime)
mount -t erofs -o ro,fsid=t43boot none /mnt/a || die "fscache mount: $(dmesg | tail -n 3)"
ls -lR /mnt/a >/dev/null || bad "listing the tree"
ok "mounted and listed"

# --- failover 1: kill -9 the daemon while a READ waits on the source
kill -STOP $HTTPD
read_bg /mnt/a/failover/big1 $R/big1.sum
sleep 3
alive $RPID || bad "reader finished while the source was paused: $(cat $R/big1.sum)"
kill -9 $DPID
wait $DPID 2>/dev/null
sleep 1
alive $RPID && ok "reader still waiting after the daemon died" ||
	bad "reader ended when the daemon died: $(cat $R/big1.sum)"
start_daemon 2
kill -CONT $HTTPD
wait $RPID
grep -q "^$BIG1 " $R/big1.sum && ok "failover read completed with the right data" ||
	bad "failover read: $(cat $R/big1.sum)"
grep -q 'restore: the kernel re-sends' $R/daemon.log || bad "no restore in the log"

# --- the whole tree
treesum /mnt/a >$R/guest.sum 2>$R/treesum.err && ok "tree read" ||
	bad "treesum: $(cat $R/treesum.err)"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "GUEST-TIME whole-tree-read ${t0}s..${t1}s"

kill -USR1 $DPID
wait_log $R/daemon.log 'stats (SIGUSR1)' 1 && ok "stats on SIGUSR1" || bad "no stats on SIGUSR1"

# --- systemd's way: the fd comes back as LISTEN_FDS=1 named "cachefiles"
kill -9 $DPID
wait $DPID 2>/dev/null
sh -c 'LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=cachefiles exec erofs-fetch \
	--cache-dir=/cache/fscache '"$FETCH_ARGS"' -v' >>$R/daemon.log 2>&1 & DPID=$!
wait_log $R/daemon.log 'ready:' 3 || die "daemon not ready (fd store)"
grep -q "adopting /dev/cachefiles from systemd's fd store" $R/daemon.log &&
	ok "fd adopted through LISTEN_FDS" || bad "LISTEN_FDS fd not adopted"
[ "$(grep -c 'restore: the kernel re-sends' $R/daemon.log)" = 2 ] ||
	bad "no restore after adopting the fd from LISTEN_FDS"

# --- a blob the source does not have: an error, not a hang
if mount -t erofs -o ro,fsid=t43miss none /mnt/b 2>$R/miss.err; then
	timeout 60 cat /mnt/b/data >/dev/null 2>>$R/miss.err
	rc=$?
	umount /mnt/b
else
	rc=mount
fi
echo "missing blob: rc $rc: $(cat $R/miss.err)"
case $rc in
0) bad "read of a missing blob succeeded" ;;
124|143) bad "read of a missing blob hung" ;;
*) ok "missing blob gives an error ($rc)" ;;
esac
grep -q "OPEN $BLOB2 .*: No such file" $R/daemon.log ||
	bad "the missing blob's OPEN was not refused with ENOENT"

# --- a blob that disappears after OPEN: the READ fails, the reader gets EIO
cp /srv/hidden/$BLOB2 /srv/www/$BLOB2
mount -t erofs -o ro,fsid=t43miss none /mnt/b || bad "mount t43miss with its blob"
# the kernel looks the blob's cookie up in the background after mount
wait_log $R/daemon.log "opened $BLOB2" 1 || bad "blob of t43miss not opened"
rm /srv/www/$BLOB2
timeout 60 cat /mnt/b/data >/dev/null 2>$R/gone.err
rc=$?
echo "vanished blob: rc $rc: $(cat $R/gone.err)"
case $rc in
0) bad "read of a vanished blob succeeded" ;;
124|143) bad "read of a vanished blob hung" ;;
*) ok "vanished blob gives an error ($rc)" ;;
esac
grep -q "READ $BLOB2 .*the reader gets EIO" $R/daemon.log ||
	bad "the vanished blob's READ was not failed by the daemon"
umount /mnt/b

# --- clean shutdown
umount /mnt/a
kill -TERM $DPID
wait $DPID
rc=$?
[ $rc = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
grep -q 'stats (exit)' $R/daemon.log && ok "stats at exit" || bad "no stats at exit"
exec 3>&-
# the cache unbinds when the last fd of it (devnode or anonymous) closes
holders() {
	for p in /proc/[0-9]*; do
		ls -l $p/fd 2>/dev/null | grep -q cachefiles &&
			echo "$p $(tr '\0' ' ' <$p/cmdline) $(ls -l $p/fd | grep -c cachefiles)"
	done
}
i=0
while [ -n "$(holders)" ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
[ -z "$(holders)" ] || bad "cachefiles fds still open after shutdown: $(holders)"

# --- failover 2: --supervise holds the fd and restarts the daemon; a new
# cache directory, so that everything is fetched again
erofs-fetch --supervise --cache-dir=/cache/fscache2 $FETCH_ARGS -v >$R/sup.log 2>&1 & SUP=$!
wait_log $R/sup.log 'ready:' 1 || die "supervised daemon not ready"
mount -t erofs -o ro,fsid=t43boot none /mnt/a || die "mount under --supervise"
kill -STOP $HTTPD
read_bg /mnt/a/failover/big2 $R/big2.sum
sleep 3
alive $RPID || bad "supervised: reader finished while the source was paused"
child=$(sed -n 's/.*daemon running as pid \([0-9]*\).*/\1/p' $R/sup.log | tail -n 1)
kill -9 $child
wait_log $R/sup.log 'ready:' 2 || bad "supervisor did not restart the daemon"
kill -CONT $HTTPD
wait $RPID
grep -q "^$BIG2 " $R/big2.sum && ok "supervised failover read completed" ||
	bad "supervised failover read: $(cat $R/big2.sum)"
umount /mnt/a
kill -TERM $SUP
wait $SUP
rc=$?
[ $rc = 0 ] && ok "supervisor: clean exit" || bad "supervisor exit $rc"

# --- --prefetch-all from the configuration file: once the daemon says the
# blob is prefetched, the whole tree reads with the source paused
cat >/tmp/fetch.conf <<CONF
[source web]
spec = $URL
[map]
* = web
[daemon]
cache_dir = /cache/fscache3
tag = t43
prefetch_all = yes
CONF
erofs-fetch --config=/tmp/fetch.conf >$R/prefetch.log 2>&1 & DPID=$!
wait_log $R/prefetch.log 'ready:' 1 || die "daemon with --config not ready"
# in a domain this time: the blob's cookie lives in volume erofs,t43dom
mount -t erofs -o ro,fsid=t43boot,domain_id=t43dom none /mnt/a ||
	die "mount with --prefetch-all in a domain"
wait_log $R/prefetch.log "opened $BLOB (volume erofs,t43dom)" 1 ||
	bad "blob not opened in the domain's volume"
wait_log $R/prefetch.log "prefetched $BLOB" 1 || bad "blob not prefetched in 30 s"
wait_log $R/prefetch.log "prefetched t43boot" 1 || bad "bootstrap not prefetched"
kill -STOP $HTTPD
treesum /mnt/a >$R/guest2.sum 2>$R/treesum2.err && ok "tree read from the prefetched cache" ||
	bad "treesum after prefetch: $(cat $R/treesum2.err)"
kill -CONT $HTTPD
umount /mnt/a
kill -TERM $DPID
wait $DPID || bad "daemon with --config: exit $?"

# --- compressed images, default options: no pcluster may be half-filled
# bounded PID SECS: PID ended within SECS seconds (a reader stuck in D
# state cannot be killed: the scenario then stops, see below)
bounded() {
	i=0
	while alive $1; do
		i=$((i + 1))
		[ $i -gt $(($2 * 10)) ] && return 1
		usleep 100000
	done
}
stuck=""
# a step that did not end: what it was, and the end of the scenario
give_up() {
	bad "$*"
	stuck="$*"
	echo "GUEST-STUCK $*"
	for p in /proc/[0-9]*; do
		grep -q '^State:.*D' $p/status 2>/dev/null &&
			echo "in D state: $(tr '\0' ' ' <$p/cmdline)"
	done
	dmesg | tail -n 20
}
# cread IMG SUMFILE: hash every file of the mounted image, bounded
cread() {
	(cd /mnt/a && find . -type f | sort | xargs sha256sum) >$2 2>&1 &
	bounded $! 150 || { give_up "$1: reader hung"; return 1; }
}
# cumount: umount /mnt/a, bounded
cumount() {
	umount /mnt/a & UPID=$!
	bounded $UPID 30 || { give_up "$1: umount hung"; return 1; }
	wait $UPID || bad "$1: umount failed"
}
erofs-fetch --cache-dir=/cache/fscache4 $FETCH_ARGS -v >$R/comp.log 2>&1 & DPID=$!
wait_log $R/comp.log 'ready:' 1 || die "daemon for compressed images not ready"
for c in $CIMAGES; do
	mount -t erofs -o ro,fsid=$c none /mnt/a || { bad "mount $c"; continue; }
	t0=$(cut -d' ' -f1 /proc/uptime)
	cread $c $R/$c.sum || break
	t1=$(cut -d' ' -f1 /proc/uptime)
	echo "GUEST-TIME $c whole-tree-read ${t0}s..${t1}s"
	cmp -s $R/$c.sum /srv/csrc.sum && ok "$c: every file equal" ||
		bad "$c: files differ: $(diff /srv/csrc.sum $R/$c.sum | head -n 5)"
	cumount $c || break
done
if [ -z "$stuck" ]; then
	kill -TERM $DPID
	bounded $DPID 30 || give_up "compressed: daemon did not exit on SIGTERM"
fi
if [ -z "$stuck" ]; then
	wait $DPID && ok "compressed: daemon exit clean" || bad "compressed: daemon exit $?"
	grep "stats (exit)" $R/comp.log
fi

# --- the reproducer: a prefetch list ending inside big/b1's first pcluster
if [ -z "$stuck" ]; then
	echo "$CLZ4_BLOB $REPRO_OFF 32k" >/tmp/repro.list
	erofs-fetch --cache-dir=/cache/fscache5 $FETCH_ARGS --prefetch=/tmp/repro.list \
		-v >$R/repro.log 2>&1 & DPID=$!
	wait_log $R/repro.log 'ready:' 1 || die "reproducer daemon not ready"
	mount -t erofs -o ro,fsid=clz4 none /mnt/a || die "reproducer mount"
	wait_log $R/repro.log "prefetched $CLZ4_BLOB" 1 || bad "reproducer: no prefetch"
	grep "prefetched $CLZ4_BLOB" $R/repro.log
	sha256sum /mnt/a/big/b1 >$R/repro.sum 2>&1 &
	if bounded $! 60; then
		grep -q "$(grep ' ./big/b1$' /srv/csrc.sum | cut -c1-64)" $R/repro.sum &&
			ok "reproducer: big/b1 read right after a half-pcluster prefetch" ||
			bad "reproducer: big/b1 read wrong: $(cat $R/repro.sum)"
		cumount reproducer
	else
		give_up "reproducer: reading big/b1 hung (a pcluster was half-filled)"
	fi
	if [ -z "$stuck" ]; then
		kill -TERM $DPID
		bounded $DPID 30 || give_up "reproducer: daemon did not exit"
	fi
fi

if [ -n "$stuck" ]; then
	# a process in D state never ends: keep the results and stop here
	echo "GUEST-FAILS $fails"
	sync
	exit 1
fi
kill $HTTPD
sync
umount /srv
umount /cache
echo "GUEST-FAILS $fails"
[ $fails = 0 ]
EOF
echo 540 >"$T/root/timeout"
guest_pack "$T/root" "$T/initrd.gz"
echo "initramfs $(du -h "$T/initrd.gz" | cut -f1)"

note "booting the guest"
gstart=$(date +%s)
set +e
guest_run "$KERNEL" "$T/initrd.gz" "$T/console.log" 660 "$T/cache.ext4" "$T/srv.ext4"
qrc=$?
set -e
gsecs=$(( $(date +%s) - gstart ))
sed 's/^/guest| /' "$T/console.log" | tr -d '\r'
echo "guest ran ${gsecs}s (qemu exit $qrc)"

mkdir -p "$T/cmnt"
mount -o loop "$T/cache.ext4" "$T/cmnt" || fail "mounting the guest's cache disk"
_mounts+=("$T/cmnt")
R="$T/cmnt/results"
for f in daemon.log sup.log prefetch.log comp.log repro.log; do
	[ -f "$R/$f" ] && sed "s/^/$f| /" "$R/$f" | grep -v 'debug:' | tail -n 60
done
[ $qrc = 124 ] && fail "qemu timed out after ${gsecs}s"
grep -q "GUEST-TIMEOUT" "$T/console.log" && fail "a guest step hung (guest watchdog)"
grep "GUEST-STUCK" "$T/console.log" && fail "a guest step hung"
grep -q "GUEST-EXIT" "$T/console.log" || fail "the guest never finished its scenario"
grep "GUEST-FAIL " "$T/console.log" && fail "guest checks failed"
[ -s "$R/guest.sum" ] || fail "no tree listing from the guest"
if ! cmp -s "$T/host.sum" "$R/guest.sum"; then
	diff "$T/host.sum" "$R/guest.sum" >"$T/sum.diff" || true
	head -n 20 "$T/sum.diff"
	fail "the tree read through erofs-fetch differs from the image"
fi
echo "whole tree identical: $(wc -l <"$R/guest.sum") entries"
cmp -s "$T/host.sum" "$R/guest2.sum" ||
	fail "the tree read from the --prefetch-all cache differs from the image"
echo "whole tree identical after --prefetch-all with the source paused"
grep -q "GUEST-EXIT 0" "$T/console.log" || fail "guest scenario failed"
grep -q "opened $BLOB" "$R/daemon.log" || fail "the blob was never opened by its tag"

DUMP="$TOP/dump/dump.erofs"
if [ -x "$DUMP" ] && grep -q -- '--cache' <<<"$("$DUMP" --help 2>&1)"; then
	# fscache2 is the supervised run's cache: big2, the metadata and
	# whatever the prefetch window reached.  cachefiles stores a cookie
	# as cache/I<volume>/@<hash>/D<key>; dump.erofs matches cache files
	# to devices by the tag as the file name, so a link bridges the two.
	note "dump.erofs --cache on the guest's cache"
	dfile=$(find "$T/cmnt/fscache2" -type f -name "D$BLOB")
	[ -n "$dfile" ] || fail "no cache file for the blob in the guest's cache"
	mkdir -p "$T/cview"
	ln -s "$dfile" "$T/cview/$BLOB"
	"$DUMP" --cache="$T/cview" "$T/boot.img" >"$T/dump.out" 2>&1 ||
		{ cat "$T/dump.out"; fail "dump.erofs --cache"; }
	grep -v ': local, 0 of 0 bytes' "$T/dump.out" >"$T/dump.short" || true
	head -n 12 "$T/dump.short"
	grep '/failover/' "$T/dump.short" || true
	tail -n 3 "$T/dump.out"
	grep -q '^  /failover/big2: cached' "$T/dump.out" ||
		fail "dump.erofs does not report big2 (read in the guest) as cached"
else
	echo "dump.erofs --cache not available yet: cache report skipped"
fi
echo "kernel + cachefiles on-demand verified (guest ${gsecs}s)"
