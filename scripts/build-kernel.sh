#!/bin/bash
# Builds (once) the small x86_64 kernel the cachefiles on-demand test boots
# under qemu: tinyconfig + tests/kernel/erofs-ondemand.config, from
# Debian's linux-source-6.12.  The bzImage is cached outside the tree,
# keyed by the sha256 of the fragment and the source tarball's identity,
# so a second run costs nothing.  Prints the bzImage path on the last line of
# stdout; progress goes to stderr.
#   usage: scripts/build-kernel.sh [--print-path-only]
# Environment: EROFS_KERNEL_CACHE (default /var/cache/erofs-kernel),
#              KERNEL_SRC_TARBALL (default /usr/src/linux-source-6.12.tar.xz),
#              KERNEL_JOBS (default: CPUs + 1).
# Exits 2 when the kernel cannot be built on this machine (no source,
# no compiler tools), with the reason on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
frag="$here/tests/kernel/erofs-ondemand.config"
tarball=${KERNEL_SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
cache=${EROFS_KERNEL_CACHE:-/var/cache/erofs-kernel}
jobs=${KERNEL_JOBS:-$(($(nproc) + 1))}

# a new Debian upload of the source keeps its file name: its size and
# mtime tell the versions apart
key=$( { cat "$frag"; basename "$tarball"; stat -c '%s %Y' "$tarball" 2>/dev/null || true; } |
	sha256sum | cut -c1-16)
out="$cache/$key"
if [ -s "$out/bzImage" ]; then
	echo "build-kernel: cached $out/bzImage" >&2
	echo "$out/bzImage"
	exit 0
fi
[ "${1:-}" = --print-path-only ] && { echo "$out/bzImage"; exit 0; }

cannot() {
	echo "build-kernel: cannot build: $*" >&2
	exit 2
}
[ -r "$tarball" ] || cannot "$tarball missing (apt-get install linux-source-6.12)"
for t in gcc make bc bison flex xz perl; do
	command -v $t >/dev/null || cannot "'$t' not installed (scripts/install-deps.sh)"
done
[ -e /usr/include/libelf.h ] || cannot "libelf-dev not installed"
[ -e /usr/include/openssl/ssl.h ] || cannot "libssl-dev not installed"

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "build-kernel: building a cachefiles-ondemand kernel into $out" \
	"(about 4 minutes on 2 cores; cached afterwards)" >&2
tar -xJf "$tarball" -C "$work"
src=$(echo "$work"/linux-source-*)
{
	make -C "$src" tinyconfig
	(cd "$src" && ./scripts/kconfig/merge_config.sh -m .config "$frag")
	make -C "$src" olddefconfig
} >"$work/config.log" 2>&1 || { tail -n 20 "$work/config.log" >&2; exit 1; }
# a fragment line kconfig dropped (unknown symbol, unmet dependency) would
# give a kernel that boots but cannot run the test: refuse it here
missing=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	grep -qx "$line" "$src/.config" || { echo "build-kernel: not set: $line" >&2; missing=1; }
done <"$frag"
[ $missing = 0 ] || exit 1
make -C "$src" -j"$jobs" bzImage >"$work/build.log" 2>&1 ||
	{ tail -n 30 "$work/build.log" >&2; exit 1; }
mkdir -p "$out"
cp "$src/arch/x86/boot/bzImage" "$out/bzImage.tmp"
cp "$src/.config" "$out/config"
mv "$out/bzImage.tmp" "$out/bzImage"
echo "build-kernel: built in $(( $(date +%s) - start ))s: $out/bzImage" >&2
echo "$out/bzImage"
