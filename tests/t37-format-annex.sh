#!/bin/bash
# The annex: records for on-demand readers past the filesystem's last
# block (digest tables, gzip indexes).  An image with one, written here by
# an independent writer (tests/tools/annex.py), still mounts in the kernel
# with the same view and passes erofs-utils' fsck; our fsck checks the
# annex's trailer, digest and record bounds and names what is wrong, and
# dump.erofs -s lists the records.
. "$(dirname "$0")/lib.sh"
require_mount

gentree small "$T/src"
"$MKFS" --quiet "$T/plain.img" "$T/src" || fail "mkfs"
cp "$T/plain.img" "$T/annex.img"
# (record types whose payload this fsck does not decode: a gzip index's
# is checked field by field, see t47)
"$PY" "$TOOLS/annex.py" "$T/annex.img" 1:0:00112233 1:0:deadbeefcafe \
	|| fail "annex.py"
[ "$(stat -c %s "$T/annex.img")" -gt "$(stat -c %s "$T/plain.img")" ] ||
	fail "the annex did not grow the image"
cmp -n "$(stat -c %s "$T/plain.img")" "$T/plain.img" "$T/annex.img" ||
	fail "the filesystem's blocks changed"

kernel_mount "$T/annex.img" "$T/m"
treecmp "$T/src" "$T/m" || fail "kernel view of the image with an annex differs"
kernel_umount "$T/m"

"$FSCK" "$T/annex.img" || fail "our fsck refused a good annex"
for v in 1.8.6-1 1.9.4-1; do
	erofs_utils $v || continue
	"$EU/fsck.erofs" "$T/annex.img" >/dev/null ||
		fail "erofs-utils $v fsck refused an image with an annex"
done

out=$("$DUMP" -s "$T/annex.img") || fail "dump -s"
grep -q "Filesystem annex: *2 records" <<<"$out" || fail "dump -s: no annex line: $out"
grep -q "digest table for device 0: 6 bytes" <<<"$out" || fail "dump -s: no record line: $out"
json=$("$DUMP" -s --json "$T/annex.img") || fail "dump -s --json"
"$PY" - "$json" <<'PYEOF' || fail "dump --json annex"
import json, sys
a = json.loads(sys.argv[1])["superblock"]["annex"]
assert [r["type"] for r in a["records"]] == ["digest table", "digest table"], a
assert a["records"][0]["bytes"] == 4, a
PYEOF
json=$("$DUMP" -s --json "$T/plain.img") || fail "dump -s --json plain"
grep -q '"annex": null' <<<"$json" || fail "an image without an annex shows one"

# damaged annexes: our fsck names the damage and exits 1; the kernel does
# not care
for damage in digest bounds reserved; do
	cp "$T/plain.img" "$T/bad.img"
	"$PY" "$TOOLS/annex.py" "$T/bad.img" 1:0:00112233 --damage=$damage ||
		fail "annex.py $damage"
	set +e
	out=$("$FSCK" "$T/bad.img" 2>&1)
	rc=$?
	set -e
	[ $rc = 1 ] || fail "$damage: fsck exit $rc, expected 1: $out"
	grep -q "annex:" <<<"$out" || fail "$damage: message does not name the annex: $out"
done
# a record for a device the image does not have
cp "$T/plain.img" "$T/bad.img"
"$PY" "$TOOLS/annex.py" "$T/bad.img" 1:3:00 || fail "annex.py device"
expect_fail "$FSCK" "$T/bad.img"
# an unknown record type is not checked: exit 4, named
cp "$T/plain.img" "$T/unk.img"
"$PY" "$TOOLS/annex.py" "$T/unk.img" 99:0:00 || fail "annex.py unknown"
set +e
out=$("$FSCK" "$T/unk.img" 2>&1)
rc=$?
set -e
[ $rc = 4 ] || fail "unknown annex record: fsck exit $rc, expected 4: $out"
grep -q "record type 99" <<<"$out" || fail "unknown record not named: $out"
exit 0
