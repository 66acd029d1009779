#!/usr/bin/env python3
"""Generate source trees for the tests, deterministically.

Usage: gentree.py PROFILE DEST [--seed N] [--reverse] [--no-special]

Every attribute the image must carry is set explicitly (mode, owner,
nanosecond mtime, xattrs), so two trees generated with the same seed are
identical whatever filesystem they are on and whatever order the entries
were created in (--reverse creates them in the opposite order, which
changes readdir order on most filesystems).

Profiles:
  full      every file type and attribute mkfs must carry (needs root)
  small     a handful of files, quick to build
  compress  file shapes for compression: empty, one byte, one block,
            a block and a byte, random, text, zero runs, > 64 MiB, many
            small files
  interop   every content kind (random, text, zeros, gzip, mixed) at
            every size that matters to a compressor (0, 1, 511, 4095,
            4096, 4097, 65537, 1 MiB, a few MiB), equal, near-equal and
            overlapping files, many small files, xattrs, hardlinks,
            symlinks, devices (needs root); about 14 MiB
"""
import argparse
import gzip
import os
import random
import socket
import stat
import subprocess
import sys

BASE_MTIME_NS = 1_700_000_000_123_456_789


class Tree:
    def __init__(self, root, seed, reverse, special):
        self.root = os.fsencode(root)
        self.rng = random.Random(seed)
        self.reverse = reverse
        self.special = special
        self.ops = []          # (path, kind, args) in creation order
        self.meta = []         # deferred attribute settings, applied last

    def p(self, rel):
        rel = os.fsencode(rel) if isinstance(rel, str) else rel
        return os.path.join(self.root, rel) if rel else self.root

    def add(self, kind, rel, **kw):
        self.ops.append((kind, rel, kw))

    def data(self, n):
        return self.rng.randbytes(n)

    def build(self):
        os.makedirs(self.root, exist_ok=True)
        dirs = [op for op in self.ops if op[0] == 'dir']
        rest = [op for op in self.ops if op[0] != 'dir']
        # directories first (parents before children), then the rest in the
        # chosen order: hardlinks last so their targets exist
        links = [op for op in rest if op[0] == 'hardlink']
        rest = [op for op in rest if op[0] != 'hardlink']
        if self.reverse:
            rest.reverse()
            links.reverse()
        for op in dirs + rest + links:
            self.create(*op)
        # attributes last, deepest first, so that creating children does
        # not disturb a directory's mtime afterwards
        for rel, kw in sorted(self.meta, key=lambda m: -len(m[0])):
            self.apply(rel, kw)

    def create(self, kind, rel, kw):
        path = self.p(rel)
        if kind == 'dir':
            os.makedirs(path, exist_ok=True)
        elif kind == 'file':
            with open(path, 'wb') as f:
                if kw.get('sparse'):
                    f.truncate(kw['sparse'])
                else:
                    f.write(kw['content'])
        elif kind == 'symlink':
            os.symlink(kw['target'], path)
        elif kind == 'hardlink':
            os.link(self.p(kw['target']), path)
        elif kind == 'fifo':
            os.mkfifo(path)
        elif kind == 'socket':
            s = socket.socket(socket.AF_UNIX)
            s.bind(path)
            s.close()
        elif kind == 'dev':
            os.mknod(path, kw['mode'], os.makedev(*kw['dev']))
        else:
            raise ValueError(kind)

    def set(self, rel, **kw):
        self.meta.append((os.fsencode(rel) if isinstance(rel, str) else rel,
                          kw))

    def apply(self, rel, kw):
        path = self.p(rel)
        for name, value in kw.get('xattrs', {}).items():
            os.setxattr(path, name, value, follow_symlinks=False)
        if 'acl' in kw:
            subprocess.run(['setfacl', '-m', kw['acl'], path], check=True)
        if 'dacl' in kw:
            subprocess.run(['setfacl', '-d', '-m', kw['dacl'], path],
                           check=True)
        if 'owner' in kw:
            os.chown(path, *kw['owner'], follow_symlinks=False)
        if 'mode' in kw:
            os.chmod(path, kw['mode'])
        ns = kw.get('mtime_ns', BASE_MTIME_NS)
        os.utime(path, ns=(ns, ns), follow_symlinks=False)


def gen_small(t):
    t.add('dir', 'd')
    t.add('file', 'hello.txt', content=b'hello, erofs\n')
    t.add('file', 'd/data.bin', content=t.data(10000))
    t.add('symlink', 'link', target='hello.txt')
    for rel in ('', 'd', 'hello.txt', 'd/data.bin', 'link'):
        t.set(rel, mtime_ns=BASE_MTIME_NS)


def gen_full(t):
    dirs = ['sizes', 'types', 'names', 'big', 'links', 'links/a',
            'links/b', 'xattrs', 'owners', 'modes', 'times']
    for d in dirs:
        t.add('dir', d)
        t.set(d, mtime_ns=BASE_MTIME_NS + len(d))

    # file sizes around block boundaries of every block size, and larger
    sizes = [0, 1, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097,
             8191, 8192, 8193, 65535, 65536, 65537, 3 << 20]
    for n in sizes:
        t.add('file', f'sizes/f{n}', content=t.data(n))
        t.set(f'sizes/f{n}', mtime_ns=BASE_MTIME_NS + n)
    t.add('file', 'sizes/zeros-sparse', sparse=5 << 20)
    t.add('file', 'sizes/zeros-written', content=bytes(200000))
    mixed = t.data(10000) + bytes(300000) + t.data(7777)
    t.add('file', 'sizes/zero-run', content=mixed)
    for f in ('zeros-sparse', 'zeros-written', 'zero-run'):
        t.set(f'sizes/{f}')

    # every file type
    t.add('symlink', 'types/sym-short', target='../sizes/f1')
    t.add('symlink', 'types/sym-dangling', target='no/such/target')
    t.add('symlink', 'types/sym-long', target='x' * 200 + '/' + 'y' * 3800)
    t.add('symlink', 'types/sym-dir', target='../names')
    for s in ('sym-short', 'sym-dangling', 'sym-long', 'sym-dir'):
        t.set(f'types/{s}')
    if t.special:
        t.add('fifo', 'types/fifo')
        t.add('socket', 'types/socket')
        t.add('dev', 'types/chr', mode=stat.S_IFCHR | 0o620, dev=(1, 3))
        t.add('dev', 'types/blk', mode=stat.S_IFBLK | 0o660, dev=(8, 16))
        t.add('dev', 'types/chr-bigminor', mode=stat.S_IFCHR | 0o600,
              dev=(300, 70000))
        for s in ('fifo', 'socket', 'chr', 'blk', 'chr-bigminor'):
            t.set(f'types/{s}')

    # names: the longest, non-UTF-8, odd bytes, order edge cases
    names = [b'n' * 255, b'\xff\xfe\x80 not utf-8', b'with space',
             b'new\nline', b'-dash', b'!bang', b'.hidden', b'...',
             b'a', b'A', b'\xc3\xa9t\xc3\xa9', b'~tilde', b'\x01ctrl']
    for n in names:
        t.add('file', b'names/' + n, content=n)
        t.set(b'names/' + n)
    deep = 'names'
    for i in range(64):
        deep += f'/d{i % 10}'
        t.add('dir', deep)
        t.set(deep, mtime_ns=BASE_MTIME_NS - i)
    t.add('file', deep + '/bottom', content=b'deep\n')
    t.set(deep + '/bottom')

    # a directory far larger than any block
    for i in range(10000):
        rel = f'big/entry-{i:05d}-{"x" * (i % 40)}'
        t.add('file', rel, content=b'%d\n' % i if i % 7 else b'')
        t.set(rel, mtime_ns=BASE_MTIME_NS + i)

    # hardlinks across directories
    t.add('file', 'links/a/one', content=t.data(5000))
    t.add('hardlink', 'links/b/one-again', target='links/a/one')
    t.add('hardlink', 'links/top', target='links/a/one')
    t.add('file', 'links/a/two', content=b'')
    t.add('hardlink', 'links/b/two-again', target='links/a/two')
    t.add('file', 'links/single', content=b'only one name\n')
    t.set('links/a/one', xattrs={'user.linked': b'yes'})
    t.set('links/a/two')
    t.set('links/single')

    # xattrs: every namespace, shared ones, big values, many per inode
    for i in range(20):
        rel = f'xattrs/shared-{i:02d}'
        t.add('file', rel, content=b'%d' % i)
        t.set(rel, xattrs={'user.common': b'the same value everywhere',
                           'trusted.common': b'also shared',
                           f'user.own{i}': b'v%d' % i})
    t.add('file', 'xattrs/namespaces', content=b'ns\n')
    t.set('xattrs/namespaces', xattrs={
        'user.u': b'user value', 'trusted.t': b'trusted value',
        'security.s': b'security value', 'user.empty': b'',
        'user.binary': bytes(range(256))})
    t.add('file', 'xattrs/big-value', content=b'')
    t.set('xattrs/big-value', xattrs={'user.big': t.data(3000)})
    t.add('file', 'xattrs/many', content=b'')
    t.set('xattrs/many', xattrs={f'user.k{i:03d}': b'%d' % (i * i)
                                 for i in range(60)})
    t.add('dir', 'xattrs/acl-dir')
    t.set('xattrs/acl-dir', acl='u:1234:rwx', dacl='g:99:r-x')
    t.add('file', 'xattrs/acl-file', content=b'acl\n')
    t.set('xattrs/acl-file', acl='u:4321:r--,g:77:rw-')
    t.add('symlink', 'xattrs/sym-with-xattr', target='namespaces')
    t.set('xattrs/sym-with-xattr', xattrs={'trusted.onlink': b'x'})

    # owners that need extended inodes and ones that do not
    for uid, gid in ((0, 0), (1000, 1000), (65535, 65535), (65536, 5),
                     (70000, 100000), (4000000000, 3)):
        rel = f'owners/u{uid}-g{gid}'
        t.add('file', rel, content=b'owned\n')
        t.set(rel, owner=(uid, gid))

    for mode in (0o000, 0o777, 0o4755, 0o2755, 0o1777, 0o640):
        rel = f'modes/m{mode:04o}'
        t.add('file', rel, content=b'm')
        t.set(rel, mode=mode)
    t.add('dir', 'modes/sticky-dir')
    t.set('modes/sticky-dir', mode=0o1777)

    for label, ns in (('epoch', 0), ('old', -86400 * 365 * 10 * 10**9),
                      ('ns', 1_234_567_890_999_999_999),
                      ('y2106', 4_400_000_000 * 10**9 + 7),
                      ('y2038', 2**31 * 10**9)):
        t.add('file', f'times/{label}', content=label.encode())
        t.set(f'times/{label}', mtime_ns=ns)
    t.set('', mtime_ns=BASE_MTIME_NS)


def text(rng, n):
    words = [b'erofs', b'block', b'cluster', b'kernel', b'image', b'data',
             b'compress', b'extent', b'index', b'file', b'the', b'of']
    out = bytearray()
    while len(out) < n:
        out += b' '.join(rng.choice(words) for _ in range(12)) + b'\n'
    return bytes(out[:n])


def gen_compress(t, big_mib=65):
    """the file shapes compression must get right"""
    t.add('dir', 'small')
    shapes = {
        'empty': b'', 'one-byte': b'x', 'one-block': text(t.rng, 4096),
        'block-plus-one': text(t.rng, 4097),
        'random-3m': t.data(3 << 20),
        'text-4m': text(t.rng, 4 << 20),
        'zero-runs': (t.data(5000) + bytes(1 << 20) + text(t.rng, 70000) +
                      bytes(3 << 20) + t.data(12345)),
        'zeros-2m': bytes(2 << 20),
    }
    for name, content in shapes.items():
        t.add('file', name, content=content)
        t.set(name)
    # larger than 64 MiB: stretches of text, random and zeros
    parts, size = [], 0
    while size < (big_mib << 20) + 12345:
        kind = t.rng.randrange(3)
        n = t.rng.randrange(1, 3 << 20)
        parts.append(text(t.rng, n) if kind == 0 else
                     t.data(n) if kind == 1 else bytes(n))
        size += n
    t.add('file', 'big', content=b''.join(parts)[:(big_mib << 20) + 12345])
    t.set('big')
    for i in range(400):
        n = t.rng.choice([0, 1, 100, 4095, 4096, 4097, 9000, 20000])
        rel = f'small/f{i:03d}'
        t.add('file', rel, content=text(t.rng, n) if i % 2 else t.data(n))
        t.set(rel)
    t.set('small')
    t.set('')


def gen_interop(t):
    """what a second writer and reader must agree on, kept small"""
    for d in ('data', 'same', 'small', 'links', 'types', 'xattrs'):
        t.add('dir', d)
        t.set(d)

    def gz(n):
        out = b''
        while len(out) < n:
            out += gzip.compress(text(t.rng, 2 * max(n, 64)) + t.data(64),
                                 mtime=0)
        return out[:n]
    kinds = {'random': t.data, 'text': lambda n: text(t.rng, n),
             'zeros': bytes, 'gz': gz,
             'mixed': lambda n: (text(t.rng, n // 3) + bytes(n // 3) +
                                 t.data(n - 2 * (n // 3)))}
    sizes = [0, 1, 511, 4095, 4096, 4097, 65537, 1 << 20]
    for kind, make in kinds.items():
        for n in sizes + ([(3 << 20) + 123] if kind in ('text', 'mixed')
                          else []):
            rel = f'data/{kind}-{n}' + ('.gz' if kind == 'gz' else '')
            t.add('file', rel, content=make(n))
            t.set(rel, mtime_ns=BASE_MTIME_NS + n)

    # equal, near-equal and overlapping contents (data dedupe)
    base = text(t.rng, 150000) + t.data(50000)
    variants = {'a': base, 'b': base,
                'one-byte-changed': base[:100000] + b'#' + base[100001:],
                'longer': base + text(t.rng, 3000),
                'prefix': base[:65536], 'shifted': b'xyz' + base,
                'inner': base[40960:40960 + 81920]}
    for name, content in variants.items():
        t.add('file', f'same/{name}', content=content)
        t.set(f'same/{name}')

    # small files and tails to pack together
    for i in range(120):
        n = t.rng.choice([1, 33, 100, 511, 1000, 2047, 3000, 4095, 5000])
        rel = f'small/f{i:03d}'
        t.add('file', rel, content=text(t.rng, n) if i % 3 else t.data(n))
        t.set(rel, mtime_ns=BASE_MTIME_NS + i)

    t.add('file', 'links/target', content=text(t.rng, 9000))
    t.add('hardlink', 'links/hard', target='links/target')
    t.add('hardlink', 'same/hard-too', target='links/target')
    t.add('symlink', 'links/sym', target='target')
    t.add('symlink', 'links/sym-long', target='l' * 1000)
    t.add('symlink', 'links/dangling', target='../no/such')
    t.set('links/target', xattrs={'user.linked': b'yes'})
    for s in ('sym', 'sym-long', 'dangling'):
        t.set(f'links/{s}')
    if t.special:
        t.add('fifo', 'types/fifo')
        t.add('dev', 'types/chr', mode=stat.S_IFCHR | 0o620, dev=(1, 3))
        t.add('dev', 'types/blk', mode=stat.S_IFBLK | 0o660, dev=(8, 16))
        for s in ('fifo', 'chr', 'blk'):
            t.set(f'types/{s}')

    for i in range(12):
        rel = f'xattrs/f{i:02d}'
        t.add('file', rel, content=text(t.rng, 100 * i))
        t.set(rel, xattrs={
            'user.shared': b'one value for all',
            'trusted.overlay.opaque': b'y',
            'user.a-rather-long-name-prefix.common.' + str(i): b'%d' % i,
            'security.s': t.data(40)},
            owner=(1000 + i, 2000 + i), mode=0o640 + i % 8)
    t.add('dir', 'xattrs/dir')
    t.set('xattrs/dir', xattrs={'user.dir': b'on a directory'}, mode=0o750)
    t.set('', mtime_ns=BASE_MTIME_NS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('profile', choices=['full', 'small', 'compress',
                                        'interop'])
    ap.add_argument('dest')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--reverse', action='store_true')
    ap.add_argument('--no-special', action='store_true',
                    help='no device nodes, fifos or sockets')
    a = ap.parse_args()
    t = Tree(a.dest, a.seed, a.reverse, not a.no_special)
    {'full': gen_full, 'small': gen_small,
     'compress': gen_compress, 'interop': gen_interop}[a.profile](t)
    t.build()


if __name__ == '__main__':
    sys.exit(main())
