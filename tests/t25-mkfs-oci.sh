#!/bin/bash
# mkfs.erofs --oci: a two-layer gzip image (whiteouts of a file and a
# directory, an opaque directory, hardlinks, xattrs) as an OCI image
# layout and, pushed with skopeo, in Debian's docker-registry on loopback
# (without and with htpasswd auth).  The kernel's mount of our --oci image
# must equal the read-only overlayfs mount of the two per-layer
# --tar=f --aufs images; layer=N equals that layer's image; --oci=i mounts
# with the uncompressed layers on loop devices and shows the same; from
# the registry, erofs-fetch get --image serves a 64 KiB range near the end
# of layer 0 (a 10 MiB file) from a small part of its gzip blob.
# A blob the registry serves with other bytes, a tag it does not have, a
# bad password: a clear error, exit 1, no image left.
. "$(dirname "$0")/lib.sh"
. "$TOOLS/fetchlib.sh"
require_mount
TIMES=(-T0 --mkfs-time)

"$PY" "$TOOLS/mkocilayout.py" "$T/layout" "$T/tars" --nested

# no_image IMAGE OPTION... REFERENCE: mkfs must fail and leave nothing
no_image() {
	local img=$1; shift
	expect_fail "$MKFS" --quiet "${TIMES[@]}" "${@:1:$#-1}" "$img" "${@: -1}" 2>"$T/err" <&-
	[ ! -e "$img" ] || fail "a failed build left $img"
	! compgen -G "$(dirname "$img")/.$(basename "$img").*" >/dev/null ||
		fail "a failed build left a temporary file of $img"
	return 0
}

note "reference: the layers as --tar=f --aufs images under a read-only overlayfs"
for i in 0 1; do
	"$MKFS" --tar=f --aufs --quiet "${TIMES[@]}" "$T/l$i.erofs" "$T/tars/layer$i.tar"
	kernel_mount "$T/l$i.erofs" "$T/ml$i"
done
mkdir -p "$T/stack"
mount -t overlay overlay -o "ro,lowerdir=$T/ml1:$T/ml0" "$T/stack" ||
	fail "overlayfs refused the layers: $(dmesg | tail -n 2)"
_mounts=("$T/stack" "${_mounts[@]}")

# check_flat IMAGE: mounted, equals the overlay view, no whiteout left
check_flat() {
	local m=$T/m-$(basename "$1")
	kernel_mount "$1" "$m"
	treecmp --overlay-source "$T/stack" "$m" || fail "$1 differs from the overlayfs view of the layers"
	wh=$(find "$m" -name '.wh.*' -o -type c -perm 0)
	[ -z "$wh" ] || fail "$1 keeps whiteouts: $wh"
	ovl=$(getfattr -R -d -m '^trusted.overlay' "$m" 2>/dev/null) || true
	[[ $ovl != *overlay* ]] || fail "$1 keeps overlayfs xattrs: $ovl"
	for gone in etc/gone etc/gonedir opq/old opq/sub keep; do
		[ ! -e "$m/$gone" ] || fail "$1 shows $gone, whited out or under an opaque dir"
	done
	[ "$(cat "$m/etc/conf")" = "upper conf" ] || fail "$1: etc/conf is not the upper layer's"
	kernel_umount "$m"
}

note "oci-layout: the index for this platform, both layers merged"
"$MKFS" --oci "${TIMES[@]}" "$T/lay.erofs" "oci-layout:$T/layout:v1" >"$T/out" ||
	fail "--oci from the layout: $(cat "$T/out")"
grep -q "Built .* from oci-layout:" "$T/out" || fail "no summary: $(cat "$T/out")"
check_flat "$T/lay.erofs"
"$FSCK" "$T/lay.erofs" >/dev/null || fail "fsck.erofs refuses the --oci image"

if command -v zstd >/dev/null; then
	note "a zstd upper layer, a layout holding one image named by no tag"
	"$PY" "$TOOLS/mkocilayout.py" "$T/zlayout" "$T/ztars" --zstd-top
	"$MKFS" --oci --quiet "${TIMES[@]}" "$T/zstd.erofs" "oci-layout:$T/zlayout" ||
		fail "--oci with a zstd layer"
	check_flat "$T/zstd.erofs"
else
	echo "no zstd(1): the zstd layer is not checked"
fi

note "layer=N: one layer alone equals its --tar=f --aufs image"
for i in 0 1; do
	"$MKFS" --oci=f,layer=$i --quiet "${TIMES[@]}" "$T/only$i.erofs" "oci-layout:$T/layout:v1"
	kernel_mount "$T/only$i.erofs" "$T/monly$i"
	treecmp "$T/ml$i" "$T/monly$i" || fail "layer=$i differs from the layer's --tar=f --aufs image"
	kernel_umount "$T/monly$i"
done
blob1=$(sha256sum "$T/tars/layer1.tar" | cut -d' ' -f1)	# a diff_id, not a blob
no_image "$T/bad.erofs" --oci=f,blob=sha256:$blob1 "oci-layout:$T/layout:v1"
grep -q "no layer is blob" "$T/err" || fail "unknown blob=: $(cat "$T/err")"
no_image "$T/bad.erofs" --oci=f,layer=2 "oci-layout:$T/layout:v1"
grep -q "layer=2, but the image has 2 layers" "$T/err" || fail "layer out of range: $(cat "$T/err")"
no_image "$T/bad.erofs" --oci=i --gzinfo="$T/z.zinfo" "oci-layout:$T/layout:v1"
grep -q "a zinfo describes one layer" "$T/err" || fail "--gzinfo over two layers: $(cat "$T/err")"
no_image "$T/bad.erofs" --oci=f,platform=linux/s390x "oci-layout:$T/layout:v1"
grep -q "no image for platform linux/s390x" "$T/err" && grep -q "has platform linux/arm64/v8" "$T/err" ||
	fail "missing platform: $(cat "$T/err")"

note "--oci=i: data left in the uncompressed layers, devices in layer order"
"$MKFS" --oci=i --quiet "${TIMES[@]}" "$T/idx.erofs" "oci-layout:$T/layout:v1"
"$DUMP" -s "$T/idx.erofs" >"$T/dump" || fail "dump.erofs -s"
for i in 0 1; do
	d=$(sha256sum "$T/tars/layer$i.tar" | cut -d' ' -f1)
	grep -q "$d" "$T/dump" || fail "device of layer $i is not tagged with its diff_id: $(cat "$T/dump")"
done
loop_attach "$T/tars/layer0.tar"; dev0=$LOOP
loop_attach "$T/tars/layer1.tar"; dev1=$LOOP
mkdir -p "$T/midx"
mount -t erofs -o "ro,device=$dev0,device=$dev1" "$T/idx.erofs" "$T/midx" ||
	fail "kernel refused the --oci=i image: $(dmesg | tail -n 2)"
_mounts=("$T/midx" "${_mounts[@]}")
treecmp --overlay-source "$T/stack" "$T/midx" || fail "--oci=i view differs from the overlayfs view"
kernel_umount "$T/midx"

note "offline: --tar over the layers' tars gives the same images"
"$MKFS" --oci=i --quiet "${TIMES[@]}" -U clear "$T/idx-oci.erofs" "oci-layout:$T/layout:v1"
# the compressed blobs, so that both record the same gzip indexes
"$MKFS" --tar=i --ungzip --unzstd --quiet "${TIMES[@]}" -U clear "$T/idx-tar.erofs" \
	"$T/layout/blobs/sha256/$(sed -n 1p "$T/tars/blobs")" \
	"$T/layout/blobs/sha256/$(sed -n 2p "$T/tars/blobs")"
cmp "$T/idx-oci.erofs" "$T/idx-tar.erofs" || fail "--tar=i over the layers differs from --oci=i"
out=$("$DUMP" -s "$T/idx-oci.erofs") || fail "dump -s of the --oci=i image"
grep -q "gzip index for device 1" <<<"$out" || fail "--oci=i recorded no gzip index for layer 0: $out"
"$FSCK" --device="$T/tars/layer0.tar" --device="$T/tars/layer1.tar" --verify-blobs \
	"$T/idx-oci.erofs" >/dev/null || fail "fsck of the --oci=i image with its layers"
"$MKFS" --oci --quiet "${TIMES[@]}" -U clear "$T/f-oci.erofs" "oci-layout:$T/layout:v1"
"$MKFS" --tar=f --quiet "${TIMES[@]}" -U clear "$T/f-tar.erofs" "$T/tars/layer0.tar" "$T/tars/layer1.tar"
cmp "$T/f-oci.erofs" "$T/f-tar.erofs" || fail "--tar=f over the layers differs from --oci"
check_flat "$T/f-tar.erofs"

note "a damaged layout: a layer blob of other bytes"
cp -r "$T/layout" "$T/bad-layout"
lay0=$(head -n 1 "$T/tars/blobs")
[ -n "$lay0" ] || fail "no layer 0 blob found in the layout"
# the same tar, gzip with another header mtime: valid, same size, other digest
"$PY" -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[4]^=1; open(sys.argv[1],"wb").write(b)' \
	"$T/bad-layout/blobs/sha256/$lay0"
no_image "$T/bad.erofs" --oci "oci-layout:$T/bad-layout:v1"
grep -q "blob sha256:${lay0:0:12}.* its digest is sha256:" "$T/err" || fail "tampered blob: $(cat "$T/err")"

note "a layout missing the upper layer's blob: that blob named, no image"
cp -r "$T/layout" "$T/gap-layout"
lay1=$(sed -n 2p "$T/tars/blobs")
rm "$T/gap-layout/blobs/sha256/$lay1"
no_image "$T/bad.erofs" --oci "oci-layout:$T/gap-layout:v1"
grep -q "blob sha256:${lay1:0:12}.*No such file" "$T/err" || fail "missing blob: $(cat "$T/err")"

note "a registry that wants bearer tokens, manifests included (emulated)"
mkdir -p "$T/fs/tags"
cp "$T/layout/blobs/sha256/"* "$T/fs/"
top=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' \
	"$T/layout/index.json")
cp "$T/layout/blobs/sha256/$top" "$T/fs/tags/v1"
start_faultserver "$T/fs" --registry erofs/app
"$MKFS" --oci=f,insecure --quiet "${TIMES[@]}" "$T/tok.erofs" "127.0.0.1:$FAULT_PORT/erofs/app:v1" ||
	fail "--oci through the bearer token flow: $(tail -n 5 "$T/fault.log")"
check_flat "$T/tok.erofs"
grep -q "^GET /v2/erofs/app/manifests/v1 - 401 -" "$T/fault.log" || fail "no anonymous 401 for the manifest"
grep -q "^GET /v2/erofs/app/manifests/v1 - 200 Bearer" "$T/fault.log" || fail "manifest not fetched with the token"
grep -q "^GET /v2/erofs/app/manifests/sha256:" "$T/fault.log" || fail "the platform's manifest not fetched by digest"
ntok=$(grep -c "^GET /token" "$T/fault.log")
[ "$ntok" -le 2 ] || fail "$ntok token requests for one image"
kill "${_servers[-1]}"

[ -x "$REGISTRY" ] || skip "the layout checks passed; Debian's docker-registry is not installed ($REGISTRY)"
command -v skopeo >/dev/null || skip "the layout checks passed; skopeo is not installed"

note "docker-registry on loopback, pushed with skopeo"
start_registry "$T/reg"
skopeo copy -q --all --dest-tls-verify=false "oci:$T/layout:v1" "docker://$REG/erofs/app:v1" ||
	fail "skopeo copy to the registry"
"$MKFS" --oci=f,insecure --quiet "${TIMES[@]}" "$T/reg.erofs" "$REG/erofs/app:v1" ||
	fail "--oci from the registry"

note "--oci=i from the registry; a 64 KiB range near layer 0's end served lazily"
"$MKFS" --oci=i,insecure --quiet "${TIMES[@]}" -U clear "$T/reg-idx.erofs" "$REG/erofs/app:v1" ||
	fail "--oci=i from the registry"
cmp "$T/reg-idx.erofs" "$T/idx-oci.erofs" || fail "--oci=i from the registry differs from the layout's"
diff0=$(sha256sum <"$T/tars/layer0.tar" | cut -c1-64)
size0=$(stat -c %s "$T/tars/layer0.tar")
gz0=$(stat -c %s "$T/layout/blobs/sha256/$(sed -n 1p "$T/tars/blobs")")
at=$((size0 - 100000))
"$FETCH" get --quiet --json --image="$T/reg-idx.erofs" --range "$at-$((at + 65535))" \
	"oci://$REG/erofs/app?insecure" "$diff0" "$T/l0.range" >"$T/l0.json" ||
	fail "get --image of a range of layer 0 from the registry"
same_range "$T/tars/layer0.tar" "$T/l0.range" "$at" 65536 || fail "layer 0's range: other bytes"
fetched=$(json_field "$T/l0.json" bytes)
echo "64 KiB at byte $at of layer 0 ($size0 bytes of tar, $gz0 of gzip): $fetched bytes fetched"
[ "$fetched" -lt $((gz0 / 4)) ] || fail "fetched $fetched of $gz0 bytes for 64 KiB"
"$FETCH" get --quiet --image="$T/reg-idx.erofs" "oci://$REG/erofs/app?insecure" "$diff0" \
	"$T/l0.whole" || fail "get --image of layer 0's whole device"
cmp "$T/tars/layer0.tar" "$T/l0.whole" || fail "layer 0's device differs from its tar"
check_flat "$T/reg.erofs"
"$MKFS" --oci=f,insecure,platform=linux/arm64 --quiet "${TIMES[@]}" "$T/arm.erofs" "$REG/erofs/app:v1" ||
	fail "--oci platform=linux/arm64"
kernel_mount "$T/arm.erofs" "$T/marm"
[ -e "$T/marm/added/file" ] && [ ! -e "$T/marm/big" ] || fail "platform=linux/arm64 did not pick the arm64 image"
kernel_umount "$T/marm"
mdigest=$(skopeo inspect --raw --tls-verify=false "docker://$REG/erofs/app:v1" | sha256sum | cut -d' ' -f1)
"$MKFS" --oci=f,insecure --quiet "${TIMES[@]}" "$T/dig.erofs" "$REG/erofs/app@sha256:$mdigest" ||
	fail "--oci by digest"
check_flat "$T/dig.erofs"

note "the registry: unknown tag, unknown repository, wrong digest"
no_image "$T/bad.erofs" --oci=f,insecure "$REG/erofs/app:nosuch"
grep -q "HTTP 404" "$T/err" && grep -q "nosuch" "$T/err" || fail "unknown tag: $(cat "$T/err")"
no_image "$T/bad.erofs" --oci=f,insecure "$REG/erofs/none:v1"
grep -q "HTTP 404" "$T/err" || fail "unknown repository: $(cat "$T/err")"
no_image "$T/bad.erofs" --oci=f,insecure "$REG/erofs/app@sha256:$(echo x | sha256sum | cut -d' ' -f1)"
grep -q "HTTP 404" "$T/err" || fail "unknown digest: $(cat "$T/err")"

note "a registry that serves other bytes for a layer blob"
data=$(find "$T/reg/data" -path "*/blobs/sha256/*/$lay0/data")
[ -f "$data" ] || fail "layer blob not found in the registry's storage"
cp "$T/bad-layout/blobs/sha256/$lay0" "$data"
no_image "$T/bad.erofs" --oci=f,insecure "$REG/erofs/app:v1"
grep -q "blob sha256:${lay0:0:12}.* its digest is sha256:" "$T/err" || fail "tampered registry blob: $(cat "$T/err")"

note "docker-registry with htpasswd: username=/password=, config.json, a credential helper, a bad password"
hash=$("$PY" -c 'import crypt; print(crypt.crypt("pw1", crypt.mksalt(crypt.METHOD_BLOWFISH)))' 2>/dev/null) ||
	{ echo "no bcrypt in this python: auth part not run"; echo "all mkfs --oci checks passed"; exit 0; }
echo "bob:$hash" >"$T/htpasswd"
start_registry "$T/reg2" "$T/htpasswd"
skopeo copy -q --all --dest-tls-verify=false --dest-creds bob:pw1 "oci:$T/layout:v1" "docker://$REG/erofs/app:v1" ||
	fail "skopeo copy to the htpasswd registry"
"$MKFS" --oci=f,insecure,username=bob,password=pw1 --quiet "${TIMES[@]}" "$T/auth.erofs" "$REG/erofs/app:v1" ||
	fail "--oci with username= and password="
check_flat "$T/auth.erofs"
mkdir -p "$T/docker"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf bob:pw1 | base64)" >"$T/docker/config.json"
DOCKER_CONFIG=$T/docker "$MKFS" --oci=f,insecure --quiet "${TIMES[@]}" "$T/cfg.erofs" "$REG/erofs/app:v1" ||
	fail "--oci with config.json credentials"
check_flat "$T/cfg.erofs"
# the same lookup as erofs-fetch: a credential helper named for the host
mkdir -p "$T/bin" "$T/docker2"
cat >"$T/bin/docker-credential-t25" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 3
read -r host
[ "\$host" = "$REG" ] || exit 1
echo '{"ServerURL": "$REG", "Username": "bob", "Secret": "pw1"}'
EOF
chmod +x "$T/bin/docker-credential-t25"
printf '{"credHelpers": {"%s": "t25"}}\n' "$REG" >"$T/docker2/config.json"
DOCKER_CONFIG=$T/docker2 PATH="$T/bin:$PATH" "$MKFS" --oci=f,insecure --quiet "${TIMES[@]}" "$T/helper.erofs" "$REG/erofs/app:v1" ||
	fail "--oci with a credential helper"
check_flat "$T/helper.erofs"
no_image "$T/bad.erofs" --oci=f,insecure,username=bob,password=nope "$REG/erofs/app:v1"
grep -q "HTTP 401" "$T/err" || fail "bad password: $(cat "$T/err")"
DOCKER_CONFIG=$T/nowhere no_image "$T/bad.erofs" --oci=f,insecure "$REG/erofs/app:v1"
grep -q "HTTP 401" "$T/err" || fail "no credentials: $(cat "$T/err")"
echo "all mkfs --oci checks passed"
