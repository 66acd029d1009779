#!/bin/bash
# run.sh: group fetch
# (servers on loopback ports chosen free: one such test at a time)
# erofs-fetch daemon without a kernel: the cachefiles message decoder and
# command encoder (lib/cachefiles.c) against crafted and random messages,
# the prefetch window policy (fetch/fetchd_window.c), then the daemon's
# refusals: bad options exit 16 (usage), an unusable control device or prefetch
# list exits 1 with a message naming the cause.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/tools/fetchlib.sh"

note "protocol decoding and commands"
gcc -O2 -Wall -Wextra -Wno-sign-compare -Werror -I"$TOP/include" \
	-o "$T/cftest" "$TOP/tests/tools/cftest.c" "$TOP/lib/cachefiles.c" ||
	fail "building cftest"
"$T/cftest" || fail "cftest"

note "prefetch window: watermarks, growth after a wait, cap, EOF"
gcc -O2 -Wall -Wextra -Wno-sign-compare -Werror -include "$TOP/config.h" \
	-I"$TOP/include" -o "$T/windowtest" "$TOP/tests/tools/windowtest.c" \
	"$TOP/fetch/fetchd_window.c" || fail "building windowtest"
"$T/windowtest" || fail "windowtest"

note "options"
grep -q -- '--devfd' <<<"$("$FETCH" --help)" || fail "--help does not document --devfd"
grep -q -- '--supervise' <<<"$("$FETCH" daemon --help)" || fail "'daemon --help'"
expect_exit 16 "one of --source and --config" --cache-dir="$T/c"
: >"$T/empty.conf"
expect_exit 16 "one of --source and --config" --source=dir:"$T" --config="$T/empty.conf"
expect_exit 16 "config $T/x: No such file" --config="$T/x"
expect_exit 16 "low <= high <= max" --source=dir:"$T" --prefetch-low=8M --prefetch-high=1M
expect_exit 16 "not a size" --source=dir:"$T" --prefetch-high=lots
expect_exit 16 "--devfd" --source=dir:"$T" --devfd=-3
expect_exit 16 "unexpected argument" --source=dir:"$T" extra
expect_exit 16 "already covers" --source=dir:"$T" --prefetch-all --prefetch="$T/x"

expect_exit 16 "at least 1" --source=dir:"$T" -j 0

note "the configuration file's [daemon] section"
cat >"$T/conf" <<EOF
[source local]
spec = dir:$T
[map]
* = local
[daemon]
cache_dir = $T/cache
workers = 2
prefetch_high = 8M
prefetch_all = yes
EOF
expect_exit 1 "open $T/nodev" --config="$T/conf" --devnode="$T/nodev"
# the command line wins over the file
expect_exit 16 "already covers" --config="$T/conf" --prefetch="$T/x"
echo "bogus = 1" >>"$T/conf"
expect_exit 16 "\\[daemon\\] bogus = 1: unknown setting" --config="$T/conf"
sed -i 's/^bogus = 1$/prefetch_low = 16M/' "$T/conf"
expect_exit 16 "low <= high" --config="$T/conf"
expect_exit 1 "open $T/nodev" --config="$T/conf" --devnode="$T/nodev" --prefetch-low=1M

note "start-up failures name their cause"
expect_exit 1 "open $T/nodev: No such file" --source=dir:"$T" --devnode="$T/nodev"
: >"$T/plain"
exec 7<"$T/plain"
expect_exit 1 "fd 7 is not" --source=dir:"$T" --devfd=7
exec 7<&-
printf 'boot\nblob 0 64k\nbad 12\n' >"$T/plist"
expect_exit 1 "plist:3: expected KEY" --source=dir:"$T" --prefetch="$T/plist" \
	--devnode="$T/nodev"
expect_exit 1 "No such file" --source=dir:"$T" --prefetch="$T/none" --devnode="$T/nodev"
if [ -e /dev/cachefiles ] && [ "$(id -u)" = 0 ]; then
	# the host kernel may lack on-demand mode: binding must say so, not hang
	rc=0
	timeout 20 "$FETCH" --source=dir:"$T" --cache-dir="$T/cache" \
		--tag=t44 >"$T/out" 2>"$T/err" &
	pid=$!
	sleep 2
	if kill -0 $pid 2>/dev/null; then
		# it bound the cache: a clean SIGTERM ends it with statistics
		kill -TERM $pid
		wait $pid || rc=$?
		[ $rc = 0 ] || fail "SIGTERM: exit $rc: $(cat "$T/err")"
		grep -q 'stats (exit)' "$T/err" || fail "no statistics at exit"
		echo "ok: bound the host's cache, clean exit on SIGTERM"
	else
		wait $pid || rc=$?
		[ $rc = 1 ] || fail "exit $rc binding the host cache: $(cat "$T/err")"
		grep -q "binding cache\|open /dev/cachefiles" "$T/err" ||
			fail "unexplained failure: $(cat "$T/err")"
		echo "ok: host cache refused with a reason: $(tail -n 1 "$T/err")"
	fi
fi
echo "daemon protocol and start-up checks passed"
