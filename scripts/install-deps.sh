#!/bin/bash
# Installs every package needed to build and test the toolkit on Debian 12.
# Safe to run again: packages already present are not fetched.
set -euo pipefail

build_pkgs=(build-essential autoconf automake libtool pkg-config
	liblz4-dev liblzma-dev uuid-dev libcurl4-openssl-dev zlib1g-dev
	libzstd-dev)
test_pkgs=(python3 attr acl util-linux erofs-utils time
	dpkg-dev libdeflate-dev zstd	# erofs-utils 1.8/1.9 built from source
	skopeo umoci
	clang libclang-rt-14-dev rsync
	curl nginx-light docker-registry)	# erofs-fetch: servers on loopback
bench_pkgs=(squashfs-tools)
# the cachefiles on-demand test builds a kernel and boots it under qemu
kernel_pkgs=(bc bison flex libelf-dev libssl-dev cpio linux-source-6.12
	qemu-system-x86 busybox-static e2fsprogs)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}" \
	"${kernel_pkgs[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"ok installed" ]] ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root to install: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
