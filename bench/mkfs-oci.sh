#!/bin/bash
# bench/mkfs-oci.sh - a BENCHMARK, not a test: nothing here passes or fails
# on numbers.
#
# A multi-layer gzip image (default: tars of /usr/include, /usr/lib/python3
# and /usr/share/perl, one layer each) is put into Debian's docker-registry
# on loopback with skopeo, then turned into EROFS:
#   ours       mkfs.erofs --oci=f,insecure IMAGE REF: every layer streamed
#              from the registry, verified, merged into one image
#   1.9.4-oci  erofs-utils 1.9.4's own --oci=f,insecure (same job), when
#              its build has --oci (Debian's is built without it)
#   pull+tar   skopeo copy to an OCI layout on disk, then erofs-utils 1.9.4
#              --tar=f --ungzip of each layer blob (one image per layer)
# and prints wall time, CPU time (user+sys, children included), peak RSS
# and output size (GNU time), one run each after one untimed warm-up.  As
# root, our image and 1.9.4's --oci image are mounted and compared.
#
# Usage: bench/mkfs-oci.sh [DIR...]
# Env:   TMPDIR  layers, registry storage and images go under it (/var/tmp)
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/.." && pwd)
OURS=${OURS:-$repo_dir/mkfs/mkfs.erofs}
REF_DIR=$("$repo_dir/scripts/build-erofs-utils.sh" 1.9.4-1 | tail -n 1) ||
	{ echo "mkfs-oci.sh: erofs-utils 1.9.4 unavailable" >&2; exit 1; }
THEIRS=$REF_DIR/mkfs.erofs
REGISTRY=/usr/bin/docker-registry
[ -x "$REGISTRY" ] && command -v skopeo >/dev/null ||
	{ echo "mkfs-oci.sh: needs docker-registry and skopeo" >&2; exit 1; }
[ $# -gt 0 ] || set -- /usr/include /usr/lib/python3 /usr/share/perl
W=$(mktemp -d "${TMPDIR:-/var/tmp}/bench-oci.XXXXXX")
reg_pid=
cleanup() {
	umount "$W/m1" "$W/m2" 2>/dev/null || true
	[ -z "$reg_pid" ] || kill "$reg_pid" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

echo "layers from $* ..." >&2
mkdir -p "$W/layout/blobs/sha256"
i=0
for d in "$@"; do
	tar -C / -cf "$W/layer$i.tar" "${d#/}" 2>/dev/null || true
	gzip -6 -n -c "$W/layer$i.tar" >"$W/layer$i.tar.gz"
	i=$((i + 1))
done
python3 - "$W" "$i" <<'PY'
import hashlib, json, os, shutil, sys
w, n = sys.argv[1], int(sys.argv[2])
blobs = os.path.join(w, 'layout', 'blobs', 'sha256')

def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()

def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), 'wb').write(data)
    return {'digest': 'sha256:' + d, 'size': len(data)}

layers, diffs = [], []
for i in range(n):
    gz = os.path.join(w, 'layer%d.tar.gz' % i)
    d = digest(gz)
    shutil.copy(gz, os.path.join(blobs, d))
    layers.append({'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip',
                   'digest': 'sha256:' + d, 'size': os.path.getsize(gz)})
    diffs.append('sha256:' + digest(os.path.join(w, 'layer%d.tar' % i)))
cfg = put(json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
                      'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode())
cfg['mediaType'] = 'application/vnd.oci.image.config.v1+json'
m = put(json.dumps({'schemaVersion': 2,
                    'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                    'config': cfg, 'layers': layers}).encode())
m['mediaType'] = 'application/vnd.oci.image.manifest.v1+json'
m['annotations'] = {'org.opencontainers.image.ref.name': 'v1'}
json.dump({'schemaVersion': 2, 'manifests': [m]},
          open(os.path.join(w, 'layout', 'index.json'), 'w'))
open(os.path.join(w, 'layout', 'oci-layout'), 'w').write('{"imageLayoutVersion": "1.0.0"}')
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$W/reg"
printf 'version: 0.1\nlog: {level: error, accesslog: {disabled: true}}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' \
	"$W/reg" "$port" >"$W/reg.yml"
"$REGISTRY" serve "$W/reg.yml" >"$W/reg.log" 2>&1 &
reg_pid=$!
for _ in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
	sleep 0.2
done
REF=127.0.0.1:$port/bench/app:v1
skopeo copy -q --dest-tls-verify=false "oci:$W/layout:v1" "docker://$REF"
printf 'image: %d layers, %s MiB of gzip, %s MiB of tar\n' "$i" \
	"$(du -cm "$W"/layer*.tar.gz | tail -n 1 | cut -f1)" \
	"$(du -cm "$W"/layer*.tar | tail -n 1 | cut -f1)"
printf '%-10s %9s %9s %10s %11s\n' case wall_s cpu_s rss_MiB output_MiB

# run CASE OUTPUT -- shell command line ($1 in it is OUTPUT)
run() {
	local case=$1 out=$2 t
	shift 2
	rm -rf "$out"
	sh -c "$*" _ "$out" >/dev/null 2>&1 || true
	rm -rf "$out"
	t=$( { /usr/bin/time -f '%e %U %S %M' sh -c "$*" _ "$out" >/dev/null; } 2>&1 | tail -n 1) ||
		{ echo "$case: failed: $t"; return 0; }
	set -- $t
	printf '%-10s %9.2f %9.2f %10.1f %11.1f\n' "$case" "$1" \
		"$(echo "$2 + $3" | bc)" "$(echo "$4 / 1024" | bc -l)" \
		"$(echo "$(du -cb "$out" | tail -n 1 | cut -f1) / 1048576" | bc -l)"
}

run ours "$W/ours.erofs" "'$OURS' --quiet -T0 --oci=f,insecure \"\$1\" '$REF'"
if grep -q -- --oci <<<"$("$THEIRS" --help 2>&1)"; then
	run 1.9.4-oci "$W/theirs.erofs" "'$THEIRS' --quiet -T0 --oci=f,insecure \"\$1\" '$REF'"
else
	echo "1.9.4-oci  (this erofs-utils 1.9.4 build has no --oci)"
fi
run pull+tar "$W/pulled" "mkdir -p \"\$1\" && skopeo copy -q --src-tls-verify=false 'docker://$REF' \"oci:\$1/layout:v1\" &&
	for b in \$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+\"/layout/index.json\"))[\"manifests\"][0][\"digest\"][7:]; print(\" \".join(l[\"digest\"][7:] for l in json.load(open(sys.argv[1]+\"/layout/blobs/sha256/\"+m))[\"layers\"]))' \"\$1\"); do
		'$THEIRS' --quiet -T0 --tar=f --ungzip \"\$1/\$b.erofs\" \"\$1/layout/blobs/sha256/\$b\" || exit 1; done"

if [ "$(id -u)" = 0 ] && [ -s "$W/theirs.erofs" ]; then
	mkdir -p "$W/m1" "$W/m2"
	mount -t erofs -o ro "$W/ours.erofs" "$W/m1"
	mount -t erofs -o ro "$W/theirs.erofs" "$W/m2"
	python3 "$repo_dir/tests/tools/treecmp.py" --skip . "$W/m2" "$W/m1" >/dev/null ||
		echo "  (ours and 1.9.4's --oci images differ)"
	umount "$W/m1" "$W/m2"
fi
