#!/usr/bin/env python3
"""Write container-layer tarballs for the tar input tests.

Usage: gentar.py KIND OUT.tar

KIND is one of:
  pax     PAX entries: xattrs (user.*, trusted.*, security.capability via
          SCHILY.xattr and LIBARCHIVE.xattr), 100+ byte names and link
          targets, uid/gid beyond 2^21, sub-second mtimes, devices, fifos,
          hardlinks, directories after their children and twice, entries
          without parent directories, "./" prefixes
  gnu     the same tree's shapes in GNU format (long names and links)
  ustar   plain ustar (prefix + name), no extensions
  layer1  the lower layer of a two-layer stack
  layer2  the upper layer: whiteouts of layer1's files, an opaque dir
  extra   LIBARCHIVE.xattr.* (base64 values, %-encoded names), a short
          mtime fraction: what erofs-utils 1.8.6 gets wrong
  headerball  the pax tree's headers without file data (--tar=headerball)
  big     a few larger files (compression, several blocks)
"""
import io
import sys
import tarfile

T0 = 1700000000


def reg(name, data=b'', mode=0o644, uid=0, gid=0, mtime=T0, pax=None):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    ti.uid, ti.gid, ti.mtime = uid, gid, mtime
    if pax:
        ti.pax_headers = pax
    return ti, io.BytesIO(data)


def node(name, kind, mode=0o755, uid=0, gid=0, mtime=T0, link='',
         major=0, minor=0, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.uid, ti.gid, ti.mtime = uid, gid, mtime
    ti.linkname = link
    ti.devmajor, ti.devminor = major, minor
    if pax:
        ti.pax_headers = pax
    return ti, None


def long_tree(fmt):
    longdir = 'deep/' + 'd' * 90 + '/' + 'e' * 80
    longname = longdir + '/' + 'f' * 120
    ents = [
        node('./', tarfile.DIRTYPE, mode=0o755, mtime=T0 + 1),
        reg('./etc/passwd', b'root:x:0:0::/root:/bin/sh\n'),   # no ./etc entry
        node('./etc', tarfile.DIRTYPE, mode=0o750, uid=0, gid=42,
             mtime=T0 + 2),                                    # dir after child
        reg('usr/bin/tool', b'\x7fELF' + bytes(range(256)) * 40,
            mode=0o4755),
        node('usr/bin/hard', tarfile.LNKTYPE, link='usr/bin/tool'),
        node('usr/bin/hard2', tarfile.LNKTYPE, link='usr/bin/tool'),
        node('usr/bin/sym', tarfile.SYMTYPE, mode=0o777, link='tool'),
        node('usr/bin/longsym', tarfile.SYMTYPE, mode=0o777,
             link='../../' + 'x' * 150),
        reg(longname, b'long name\n' * 3, mode=0o600),
        node('usr/bin/longhard', tarfile.LNKTYPE, link=longname),
        node('dev/null', tarfile.CHRTYPE, mode=0o666, major=1, minor=3),
        node('dev/sda', tarfile.BLKTYPE, mode=0o660, major=8, minor=0,
             gid=6),
        node('dev/bigdev', tarfile.CHRTYPE, mode=0o600, major=300,
             minor=70000),
        node('run/fifo', tarfile.FIFOTYPE, mode=0o640),
        reg('empty', b''),
        reg('tail', b'z' * 5000, mode=0o640, uid=1000, gid=1000),
        node('usr', tarfile.DIRTYPE, mode=0o755, mtime=T0 + 3),
        node('usr', tarfile.DIRTYPE, mode=0o700, uid=7, gid=8,
             mtime=T0 + 4),                                    # twice
        reg('replaced', b'first version\n'),
        reg('replaced', b'second\n', mode=0o600),
        node('opt/adir', tarfile.DIRTYPE, mode=0o1777),
    ]
    if fmt != 'ustar':
        ents += [
            reg('ids/big', b'big ids\n', uid=3000000, gid=4000000),
            reg('ids/huge', b'huge ids\n', uid=2 ** 31 + 5, gid=2 ** 32 - 2),
        ]
    if fmt == 'pax':
        ents += [
            reg('x/caps', b'#!/bin/sh\n', mode=0o755, mtime=T0,
                pax={'SCHILY.xattr.security.capability':
                     '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00'
                     '\x00\x00\x00\x00\x00\x00\x00\x00',
                     'SCHILY.xattr.user.comment': 'hello',
                     'SCHILY.xattr.trusted.t': 'tv',
                     'mtime': '%d.123456789' % (T0 + 9)}),
            reg('x/names', b'la\n',
                pax={'uname': 'someone', 'gname': 'group'}),
            node('x/dirx', tarfile.DIRTYPE,
                 pax={'SCHILY.xattr.user.dir': 'v' * 300}),
            reg('x/shared1', b'1', pax={'SCHILY.xattr.user.s': 'same'}),
            reg('x/shared2', b'2', pax={'SCHILY.xattr.user.s': 'same'}),
            reg('x/frac', b'frac',
                pax={'mtime': '%d.500000000' % (T0 - 100)}),
            reg('x/' + 'n' * 200, b'pax long name'),
        ]
    return ents


def extra():
    # what erofs-utils 1.8.6 gets wrong (it fails on LIBARCHIVE.xattr and
    # reads ".5" as 5 ns, -100.25 as -99.75): checked against expected values instead
    return [reg('la', b'la\n',
                pax={'LIBARCHIVE.xattr.user.b64%3Dname': 'AAEC/w==',
                     'LIBARCHIVE.xattr.user.plain': 'aGVsbG8='}),
            reg('half', b'h', pax={'mtime': '%d.5' % T0}),
            reg('negfrac', b'neg', pax={'mtime': '-100.25'})]


def layer1():
    return [
        node('a', tarfile.DIRTYPE),
        reg('a/keep', b'keep\n'),
        reg('a/gone', b'gone\n'),
        node('a/gonedir', tarfile.DIRTYPE),
        reg('a/gonedir/f', b'f\n'),
        node('o', tarfile.DIRTYPE),
        reg('o/old1', b'old\n'),
        node('o/sub', tarfile.DIRTYPE),
        reg('o/sub/old2', b'old2\n'),
        reg('top', b'top\n'),
    ]


def layer2():
    return [
        node('a', tarfile.DIRTYPE, mtime=T0 + 5),
        reg('a/.wh.gone', b''),
        reg('a/.wh.gonedir', b'', mode=0o600, uid=5),
        reg('a/new', b'new\n'),
        node('o', tarfile.DIRTYPE, mtime=T0 + 6),
        reg('o/.wh..wh..opq', b''),
        reg('o/fresh', b'fresh\n'),
        reg('.wh.top', b''),
        reg('nodir/.wh.x', b''),
    ]


def big():
    import random
    rnd = random.Random(7)
    text = b''.join(b'line %d of some compressible text\n' % i
                    for i in range(40000))
    noise = bytes(rnd.getrandbits(8) for _ in range(300000))
    return [
        reg('big/text', text),
        reg('big/noise', noise),
        reg('big/mixed', text[:100000] + noise[:50000] + text[:7777]),
        reg('big/copy', text),
        reg('big/small', b'tiny file\n'),
    ]


def headerball(out):
    with open(out, 'wb') as f:
        for ti, _ in long_tree('pax'):
            f.write(ti.tobuf(tarfile.PAX_FORMAT, 'utf-8', 'surrogateescape'))
        f.write(bytes(1024))


def main():
    kind, out = sys.argv[1], sys.argv[2]
    if kind == 'headerball':
        headerball(out)
        return
    fmt = {'pax': tarfile.PAX_FORMAT, 'gnu': tarfile.GNU_FORMAT,
           'ustar': tarfile.USTAR_FORMAT}.get(kind, tarfile.PAX_FORMAT)
    if kind in ('pax', 'gnu', 'ustar'):
        ents = long_tree(kind)
        if kind == 'ustar':
            ents = [e for e in ents if len(e[0].name) < 250 and
                    len(e[0].linkname) < 100]
    else:
        ents = {'extra': extra, 'layer1': layer1, 'layer2': layer2, 'big': big}[kind]()
    with tarfile.open(out, 'w', format=fmt) as tf:
        for ti, data in ents:
            tf.addfile(ti, data)


if __name__ == '__main__':
    main()
