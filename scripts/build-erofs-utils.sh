#!/bin/bash
# Builds (once) a current erofs-utils from Debian's source packages, as a
# second writer and reader for the interop tests and the benchmarks.
# Debian 12 ships 1.5; trixie has 1.8.6 and sid 1.9.x.  The source is
# fetched through the machine's own Debian mirror with a private apt
# state, so the machine's apt configuration is left alone; the binaries
# are cached outside the tree, one directory per version.
#   usage: scripts/build-erofs-utils.sh [VERSION]   (default 1.8.6-1)
# Prints the directory holding mkfs.erofs, fsck.erofs and dump.erofs on
# the last line of stdout; progress goes to stderr.
# Environment: EROFS_UTILS_CACHE (default /var/cache/erofs-utils).
# Exits 2 when it cannot be built here, with the reason on stderr.
set -euo pipefail
version=${1:-1.8.6-1}
cache=${EROFS_UTILS_CACHE:-/var/cache/erofs-utils}
out="$cache/$version"

cached() {
	[ -x "$out/mkfs.erofs" ] && [ -x "$out/fsck.erofs" ] && [ -x "$out/dump.erofs" ] ||
		return 1
	echo "build-erofs-utils: cached $out" >&2
	echo "$out"
}
cached && exit 0
cannot() {
	echo "build-erofs-utils: cannot build $version: $*" >&2
	exit 2
}
for t in gcc make autoreconf pkg-config dpkg-source apt-get flock; do
	command -v $t >/dev/null || cannot "'$t' not installed (scripts/install-deps.sh)"
done
for h in zstd.h libdeflate.h lz4.h lzma.h uuid/uuid.h zlib.h; do
	[ -e "/usr/include/$h" ] || cannot "/usr/include/$h missing (scripts/install-deps.sh)"
done
mkdir -p "$cache" 2>/dev/null || cannot "cannot create $cache (run as root or set EROFS_UTILS_CACHE)"
# one build per version at a time: tests running side by side (and the
# test runner's early start) wait for the first one and take its result
exec 9>>"$cache/.lock-$version"
flock 9
cached && exit 0

# which Debian suite carries this version
case $version in
1.8.*) suite=trixie ;;
*) suite=sid ;;
esac
mirror=$(awk '$1 == "URIs:" && $2 !~ /security/ { print $2; exit }' \
	/etc/apt/sources.list.d/debian.sources 2>/dev/null)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' \
	/etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || cannot "no Debian mirror in the apt configuration"

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" \
	>"$work/apt/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/apt/lists"
	-o "Dir::Cache=$work/apt/cache"
	-o APT::Sandbox::User=root)
echo "build-erofs-utils: fetching erofs-utils $version source from $suite" >&2
apt-get "${apt_opts[@]}" update >"$work/apt.log" 2>&1 ||
	{ tail -n 5 "$work/apt.log" >&2; cannot "apt-get update of $suite sources failed"; }
(cd "$work/src" && apt-get "${apt_opts[@]}" source --download-only \
	"erofs-utils=$version") >>"$work/apt.log" 2>&1 ||
	{ tail -n 5 "$work/apt.log" >&2; cannot "source package erofs-utils=$version not available"; }
upstream=${version%-*}
(cd "$work/src" && dpkg-source -x "erofs-utils_$version.dsc" tree) >"$work/build.log" 2>&1 ||
	{ tail -n 5 "$work/build.log" >&2; cannot "dpkg-source -x failed"; }

echo "build-erofs-utils: building erofs-utils $upstream (about 2 minutes)" >&2
(
	cd "$work/src/tree"
	./autogen.sh
	./configure --enable-lzma --with-libdeflate --with-libzstd --disable-fuse \
		--disable-multithreading
	make -j"$(nproc)"
) >>"$work/build.log" 2>&1 || { tail -n 20 "$work/build.log" >&2; exit 1; }

mkdir -p "$out.new"
for t in mkfs fsck dump; do
	cp "$work/src/tree/$t/$t.erofs" "$out.new/"
done
echo "$upstream" >"$out.new/VERSION"
rm -rf "$out"
mv "$out.new" "$out"
echo "build-erofs-utils: built $out" >&2
echo "$out"
