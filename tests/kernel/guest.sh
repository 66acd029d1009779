# Sourced by tests that boot the cachefiles-ondemand kernel under qemu.
# The guest is a busybox initramfs: /init mounts the basics, runs
# /scenario.sh, prints "GUEST-EXIT <rc>" and powers off (reboot -f with
# qemu -no-reboot).  Binaries go in with their shared libraries, so the
# guest runs exactly what the host built.
#   guest_root ROOT                 skeleton with busybox and /init
#                                   (/timeout: seconds before the guest
#                                   gives up and powers off, default 300)
#                                   and /guestlib.sh, which scenarios
#                                   source: ok, bad, die, wait_log,
#                                   metric, wait_metric
#   guest_add_bin ROOT BIN [NAME]   BIN as /bin/NAME plus its libraries
#   guest_pack ROOT OUT             gzip'd newc cpio
#   guest_run KERNEL INITRD LOG SECS DISK...   boot; DISKs are /dev/vda...
#   guest_prepare                   the host tools checked, $FETCH and the
#                                   kernel ($KERNEL, built once) found

guest_root() {
	local root=$1 a
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,etc,cache,srv}
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	ln -sf bin "$root/sbin"
	mkdir -p "$root/usr"
	ln -sf ../bin "$root/usr/bin"
	ln -sf ../bin "$root/usr/sbin"
	cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "GUEST-BOOTED $(cut -d' ' -f1 /proc/uptime)s"
# a hung step must not hold the host for its whole timeout
(sleep "$(cat /timeout 2>/dev/null || echo 300)"; echo "GUEST-TIMEOUT"; sync;
 reboot -f) &
sh /scenario.sh
echo "GUEST-EXIT $?"
sync
reboot -f
EOF
	chmod +x "$root/init"
	cat >"$root/guestlib.sh" <<'EOF'
# Sourced by guest scenarios.  Results go to $R on the cache disk; a
# scenario ends with "exit $fails".
R=/cache/results
M=${M:-http://127.0.0.1:9400}
fails=0
ok() { echo "GUEST-OK $*"; }
bad() { echo "GUEST-FAIL $*"; fails=$((fails + 1)); }
die() { bad "$*"; umount /mnt/* 2>/dev/null; exit 1; }
# wait_log FILE TEXT COUNT: until TEXT appears COUNT times (30 s at most);
# a log the daemon's shell has not created yet counts as none (an empty
# count would make the test an error, ending the wait as if it were met)
wait_log() {
	i=0
	while n=$(grep -c "$2" "$1" 2>/dev/null); [ "${n:-0}" -lt "$3" ]; do
		i=$((i + 1))
		[ $i -gt 300 ] && return 1
		usleep 100000
	done
}
# metric NAME: its value now, from the daemon's metrics at $M
metric() {
	wget -q -O - $M/metrics 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'
}
# wait_metric NAME OP VALUE SECONDS: until "metric OP VALUE" holds
wait_metric() {
	i=0
	while v=$(metric "$1"); [ -z "$v" ] || ! [ "$v" "$2" "$3" ]; do
		i=$((i + 1))
		[ $i -gt $(($4 * 5)) ] && return 1
		usleep 200000
	done
}
EOF
}

# a binary and every library the dynamic loader would map for it
guest_add_bin() {
	local root=$1 bin=$2 name=${3:-$(basename "$2")} lib
	cp -L "$bin" "$root/bin/$name"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

guest_pack() {
	(cd "$1" && find . | cpio -o -H newc --quiet) | gzip -1 >"$2"
}

guest_run() {
	local kernel=$1 initrd=$2 log=$3 secs=$4 d
	local drives=()
	shift 4
	for d in "$@"; do
		drives+=(-drive "file=$d,format=raw,if=virtio")
	done
	# TCG: KVM is not usable in these nested VMs (verification.md)
	timeout "$secs" qemu-system-x86_64 -accel tcg -m 768 -smp 2 \
		-nographic -no-reboot -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 loglevel=4" \
		"${drives[@]}" </dev/null >"$log" 2>&1
}

# guest_boot KERNEL INITRD SECONDS DISK...: runs the guest, its console
# in $T/console.log and shown; sets GUEST_SECS and GUEST_QRC
guest_boot() {
	local kernel=$1 initrd=$2 secs=$3 start
	shift 3
	start=$(date +%s)
	GUEST_QRC=0
	guest_run "$kernel" "$initrd" "$T/console.log" "$secs" "$@" || GUEST_QRC=$?
	GUEST_SECS=$(( $(date +%s) - start ))
	sed 's/^/guest| /' "$T/console.log" | tr -d '\r'
	echo "guest ran ${GUEST_SECS}s (qemu exit $GUEST_QRC)"
}

# guest_verdict: fails the test unless the scenario ran to its end and
# every GUEST-OK/GUEST-FAIL check in it passed
guest_verdict() {
	[ "$GUEST_QRC" = 124 ] && fail "qemu timed out after ${GUEST_SECS}s"
	grep -q "GUEST-TIMEOUT" "$T/console.log" && fail "a guest step hung (guest watchdog)"
	grep -q "GUEST-EXIT" "$T/console.log" || fail "the guest never finished its scenario"
	grep "GUEST-FAIL " "$T/console.log" && fail "guest checks failed"
	grep -q "GUEST-EXIT 0" "$T/console.log" || fail "guest scenario failed"
}

# guest_prepare: fails on a missing tool, skips when the kernel cannot be
# built; sets FETCH (EROFS_FETCH: another build to run in the guest) and
# KERNEL
guest_prepare() {
	local t krc
	FETCH=${EROFS_FETCH:-$TOP/fetch/erofs-fetch}
	[ -x "$FETCH" ] || fail "erofs-fetch not built: $FETCH"
	for t in qemu-system-x86_64 cpio gzip mkfs.ext4 gcc; do
		command -v $t >/dev/null || fail "$t missing: run scripts/install-deps.sh"
	done
	[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 ||
		fail "static /bin/busybox missing: apt-get install busybox-static"
	note "kernel (built once, cached under ${EROFS_KERNEL_CACHE:-/var/cache/erofs-kernel})"
	set +e
	KERNEL=$("$TOP/scripts/build-kernel.sh" 2>"$T/kbuild.err" | tail -n 1)
	krc=${PIPESTATUS[0]}
	set -e
	[ "$krc" = 2 ] && skip "cannot build the test kernel: $(grep -m1 'cannot build' "$T/kbuild.err")"
	[ "$krc" = 0 ] && [ -s "$KERNEL" ] || { cat "$T/kbuild.err"; fail "kernel build failed"; }
}
