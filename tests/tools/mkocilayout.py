#!/usr/bin/env python3
"""Write a two-layer container image as an OCI image layout, for mkfs --oci.

Usage: mkocilayout.py DIR TARDIR [--nested] [--zstd-top]

DIR becomes an OCI image layout (oci-layout, index.json, blobs/sha256/)
holding one image tagged "v1": a gzip layer 0 and a gzip layer 1 over it
(whiteouts of a file and a directory, an opaque directory, a file
replaced, hardlinks, xattrs, a symlink, a device), its config with the
layers' diff_ids.  With --zstd-top, layer 1 is a zstd blob (zstd(1)).
TARDIR receives the uncompressed layers as
layer0.tar and layer1.tar, and the layers' blob digests (hex, bottom
first) one a line in "blobs".  With --nested, index.json points at an image
index with the image for linux/amd64 and a decoy for linux/arm64.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import subprocess
import random
import tarfile

T0 = 1700000000


def add(tf, name, kind=tarfile.REGTYPE, data=b'', mode=None, uid=0, gid=0,
        mtime=T0, link='', pax=None, major=0, minor=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode if mode is not None else (0o755 if kind == tarfile.DIRTYPE else 0o644)
    ti.uid, ti.gid, ti.mtime = uid, gid, mtime
    ti.linkname = link
    ti.devmajor, ti.devminor = major, minor
    if pax:
        ti.pax_headers = pax
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    else:
        tf.addfile(ti)


def layer0():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tf:
        D = tarfile.DIRTYPE
        add(tf, 'etc', D, mode=0o755)
        add(tf, 'etc/conf', data=b'lower conf\n')
        add(tf, 'etc/gone', data=b'to be whited out\n')
        add(tf, 'etc/gonedir', D, mode=0o700)
        add(tf, 'etc/gonedir/f', data=b'f\n')
        add(tf, 'opq', D, mode=0o755, uid=7, gid=8)
        add(tf, 'opq/old', data=b'old\n')
        add(tf, 'opq/sub', D)
        add(tf, 'opq/sub/deep', data=b'deep\n')
        add(tf, 'bin', D)
        add(tf, 'bin/tool', data=b'#!/bin/sh\necho tool\n' * 300, mode=0o755,
            pax={'SCHILY.xattr.security.capability':
                 '\x01\x00\x00\x02\x00\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00',
                 'SCHILY.xattr.user.origin': 'layer0'})
        add(tf, 'bin/tool-link', tarfile.LNKTYPE, link='bin/tool')
        add(tf, 'bin/sh', tarfile.SYMTYPE, link='tool', mode=0o777)
        add(tf, 'dev', D)
        add(tf, 'dev/null', tarfile.CHRTYPE, mode=0o666, major=1, minor=3)
        # 10 MiB that gzip cannot shrink: a lazy read must not need it all
        add(tf, 'big', data=random.Random(25).randbytes(10 << 20) + b'tail')
        add(tf, 'keep', data=b'keep\n', uid=1000, gid=1000)
    return buf.getvalue()


def layer1():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as tf:
        D = tarfile.DIRTYPE
        add(tf, 'etc', D, mode=0o755, mtime=T0 + 10)
        add(tf, 'etc/.wh.gone')
        add(tf, 'etc/.wh.gonedir')
        add(tf, 'etc/conf', data=b'upper conf\n', mtime=T0 + 11,
            pax={'SCHILY.xattr.user.layer': '1'})
        add(tf, 'opq', D, mode=0o750, uid=7, gid=8, mtime=T0 + 12)
        add(tf, 'opq/.wh..wh..opq')
        add(tf, 'opq/new', data=b'new\n')
        add(tf, 'opq/new-link', tarfile.LNKTYPE, link='opq/new')
        add(tf, '.wh.keep')
        add(tf, 'added', D)
        add(tf, 'added/file', data=b'added\n' * 1000)
    return buf.getvalue()


def blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, 'blobs', 'sha256', digest), 'wb') as f:
        f.write(data)
    return {'digest': 'sha256:' + digest, 'size': len(data)}


def compress(t, zstd):
    if zstd:
        return subprocess.run(['zstd', '-q', '-c'], input=t, check=True,
                              stdout=subprocess.PIPE).stdout
    return gzip.compress(t, mtime=0)


def image(root, layers, arch, zstd_top=False):
    gz = [compress(t, zstd_top and i == len(layers) - 1)
          for i, t in enumerate(layers)]
    config = {
        'architecture': arch, 'os': 'linux',
        'config': {},
        'rootfs': {'type': 'layers',
                   'diff_ids': ['sha256:' + hashlib.sha256(t).hexdigest()
                                for t in layers]},
    }
    cdesc = blob(root, json.dumps(config).encode())
    cdesc['mediaType'] = 'application/vnd.oci.image.config.v1+json'
    ldescs = []
    for i, g in enumerate(gz):
        d = blob(root, g)
        d['mediaType'] = 'application/vnd.oci.image.layer.v1.tar+' + \
            ('zstd' if zstd_top and i == len(gz) - 1 else 'gzip')
        ldescs.append(d)
    manifest = {'schemaVersion': 2,
                'mediaType': 'application/vnd.oci.image.manifest.v1+json',
                'config': cdesc, 'layers': ldescs}
    m = blob(root, json.dumps(manifest, indent=1).encode())
    m['mediaType'] = 'application/vnd.oci.image.manifest.v1+json'
    return m, [d['digest'][7:] for d in ldescs]


def main():
    root, tardir = sys.argv[1], sys.argv[2]
    nested = '--nested' in sys.argv
    os.makedirs(os.path.join(root, 'blobs', 'sha256'), exist_ok=True)
    os.makedirs(tardir, exist_ok=True)
    layers = [layer0(), layer1()]
    for i, t in enumerate(layers):
        with open(os.path.join(tardir, 'layer%d.tar' % i), 'wb') as f:
            f.write(t)
    m, digests = image(root, layers, 'amd64', '--zstd-top' in sys.argv)
    with open(os.path.join(tardir, 'blobs'), 'w') as f:
        f.write(''.join(d + '\n' for d in digests))
    if nested:
        decoy, _ = image(root, [layer1()], 'arm64')
        m['platform'] = {'os': 'linux', 'architecture': 'amd64'}
        decoy['platform'] = {'os': 'linux', 'architecture': 'arm64',
                             'variant': 'v8'}
        idx = {'schemaVersion': 2,
               'mediaType': 'application/vnd.oci.image.index.v1+json',
               'manifests': [decoy, m]}
        m = blob(root, json.dumps(idx).encode())
        m['mediaType'] = 'application/vnd.oci.image.index.v1+json'
    m['annotations'] = {'org.opencontainers.image.ref.name': 'v1'}
    with open(os.path.join(root, 'index.json'), 'w') as f:
        json.dump({'schemaVersion': 2, 'manifests': [m]}, f)
    with open(os.path.join(root, 'oci-layout'), 'w') as f:
        json.dump({'imageLayoutVersion': '1.0.0'}, f)


if __name__ == '__main__':
    main()
