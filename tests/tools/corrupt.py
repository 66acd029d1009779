#!/usr/bin/env python3
"""Corrupt valid EROFS images deterministically and run fsck.erofs on each.

Usage: corrupt.py FSCK SOURCE_TREE WORKDIR IMAGE [IMAGE...]

For every image, the metadata areas are located by walking the (valid)
image: superblock, inodes, inline xattrs, shared xattrs, directory
blocks and inline tails, chunk indexes, compressed map headers and
indexes; and some file data.  Bytes in
each area are flipped, zeroed or set to 0xff, and the image is truncated
at many lengths.  For each damaged copy, fsck.erofs --extract runs under
a timeout and:

  - must not crash, hang or trigger a sanitizer report;
  - either exits non-zero (damage detected), or exits 0 and extracts a
    tree identical to the source, or exits 0 with a different tree --
    damage EROFS cannot detect (no metadata checksums beyond the
    superblock's), which is listed, by area, but allowed;
  - must detect any damage inside the checksummed superblock area (unless
    the damage clears the checksum feature bit) and any truncation;
  - must not report an error for damage inside file data only.

Prints a summary and exits 1 on any violation.
"""
import os
import random
import shutil
import struct
import subprocess
import sys
import collections
import threading
from concurrent.futures import ThreadPoolExecutor

TIMEOUT = 20


class Image:
    """Just enough of a reader to find the areas of a valid image."""

    def __init__(self, data):
        self.d = data
        sb = data[1024:1024 + 128]
        (self.magic, self.csum, self.compat, self.bits, _, self.root,
         self.inos, _, _, self.blocks, self.meta, self.xattr_blk) = \
            struct.unpack_from('<IIIBBHQQIIII', sb, 0)
        self.bs = 1 << self.bits
        self.areas = collections.defaultdict(list)   # name -> [(start, end)]
        self.areas['superblock'].append((1024, 1024 + 128))
        self.shared = set()
        self.walk()

    def iloc(self, nid):
        return self.meta * self.bs + nid * 32

    def inode(self, nid):
        pos = self.iloc(nid)
        fmt, icount, mode = struct.unpack_from('<HHH', self.d, pos)
        ext = fmt & 1
        layout = (fmt >> 1) & 7
        if ext:
            size, = struct.unpack_from('<Q', self.d, pos + 8)
            isize = 64
        else:
            size, = struct.unpack_from('<I', self.d, pos + 8)
            isize = 32
        iu, = struct.unpack_from('<I', self.d, pos + 16)
        xsize = 12 + (icount - 1) * 4 if icount else 0
        return dict(pos=pos, isize=isize, xsize=xsize, mode=mode,
                    layout=layout, size=size, iu=iu,
                    iend=pos + isize + xsize)

    def content_ranges(self, ino):
        """[(start, end)] in the image holding the file's bytes, in order"""
        bs, size = self.bs, ino['size']
        out = []
        if ino['layout'] in (0, 2):
            nblocks = -(-size // bs)
            if ino['layout'] == 2 and size:
                nblocks -= 1
                tail = size - nblocks * bs
                if nblocks:
                    out.append((ino['iu'] * bs, (ino['iu'] + nblocks) * bs))
                out.append((ino['iend'], ino['iend'] + tail))
            elif size:
                out.append((ino['iu'] * bs, ino['iu'] * bs + size))
        elif ino['layout'] in (1, 3) and size:
            # compressed: the map header and the first lcluster index
            # are certainly metadata; the rest is left to random damage
            h = -(-ino['iend'] // 8) * 8
            self.areas['z-map-header'].append((h, h + 8))
            self.areas['z-index'].append((h + 8, h + 12))
        elif ino['layout'] == 4:
            fmt = ino['iu'] & 0xffff
            chunk = bs << (fmt & 31)
            unit = 8 if fmt & 0x20 else 4
            start = -(-ino['iend'] // unit) * unit
            n = -(-size // chunk)
            self.areas['chunk-index'].append((start, start + n * unit))
            for i in range(n):
                e = self.d[start + i * unit:start + (i + 1) * unit]
                blk, = struct.unpack_from('<I', e, 4 if unit == 8 else 0)
                if blk != 0xffffffff:
                    ln = min(chunk, size - i * chunk)
                    out.append((blk * bs, blk * bs + ln))
        return out

    def packed(self):
        """the packed inode of fragments: in no directory"""
        incompat, = struct.unpack_from('<I', self.d, 1024 + 80)
        nid, = struct.unpack_from('<Q', self.d, 1024 + 96)
        if not incompat & 0x20 or not nid:
            return
        ino = self.inode(nid)
        self.areas['packed-inode'].append((ino['pos'], ino['pos'] + ino['isize']))
        self.content_ranges(ino)

    def read(self, ranges):
        return b''.join(self.d[a:b] for a, b in ranges)

    def walk(self):
        todo, seen = [self.root], set()
        while todo:
            nid = todo.pop()
            if nid in seen:
                continue
            seen.add(nid)
            ino = self.inode(nid)
            self.areas['inode'].append((ino['pos'], ino['pos'] + ino['isize']))
            if ino['xsize']:
                x0 = ino['pos'] + ino['isize']
                self.areas['inline-xattr'].append((x0, x0 + ino['xsize']))
                cnt = self.d[x0 + 4]
                for i in range(cnt):
                    xid, = struct.unpack_from('<I', self.d, x0 + 12 + 4 * i)
                    self.shared.add(xid)
            fmt = ino['mode'] & 0o170000
            ranges = self.content_ranges(ino)
            if fmt == 0o040000:
                self.areas['dirents'].extend(ranges)
                self.dirents(self.read(ranges), todo)
            elif fmt == 0o120000:
                self.areas['symlink'].extend(ranges)
            elif fmt == 0o100000:
                self.areas['file-data'].extend(ranges)
        self.packed()
        base = self.xattr_blk * self.bs
        for xid in sorted(self.shared):
            p = base + xid * 4
            nl, _, vs = struct.unpack_from('<BBH', self.d, p)
            self.areas['shared-xattr'].append((p, p + 4 + nl + vs))

    def dirents(self, data, todo):
        for b in range(0, len(data), self.bs):
            blk = data[b:b + self.bs]
            n = struct.unpack_from('<H', blk, 8)[0] // 12
            offs = [struct.unpack_from('<H', blk, i * 12 + 8)[0]
                    for i in range(n)] + [len(blk)]
            for i in range(n):
                nid, = struct.unpack_from('<Q', blk, i * 12)
                name = blk[offs[i]:offs[i + 1]].rstrip(b'\0')
                if name not in (b'.', b'..'):
                    todo.append(nid)


def mutations(rng, area, start, end, limit):
    """(description, position, new byte function) for an area"""
    span = end - start
    if span <= 0:
        return []
    if span <= limit:
        offs = list(range(span))
    else:
        offs = sorted(set([0, 1, 2, 3, span - 1] +
                          rng.sample(range(span), limit - 5)))
    kinds = ['flip0', 'flip7', 'zero', 'ff', 'flip3']
    out = []
    for i, o in enumerate(offs):
        out.append((area, start + o, kinds[(i + start) % len(kinds)]))
    return out


def apply(data, pos, kind):
    b = bytearray(data)
    v = b[pos]
    b[pos] = {'flip0': v ^ 1, 'flip7': v ^ 0x80, 'flip3': v ^ 8,
              'zero': 0, 'ff': 0xff}[kind]
    if b[pos] == v:
        return None
    return bytes(b)


def main():
    fsck, src, work = sys.argv[1:4]
    images = sys.argv[4:]
    os.makedirs(work, exist_ok=True)
    rng = random.Random(20240601)
    stats = collections.Counter()
    undetected = collections.Counter()
    violations = []
    treecmp = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'treecmp.py')

    lock = threading.Lock()
    local = threading.local()
    counter = iter(range(1 << 30))

    def run(name, data, what, must_detect=False, must_pass=False):
        if not hasattr(local, 'dir'):
            with lock:
                local.dir = os.path.join(work, f'w{next(counter)}')
            os.makedirs(local.dir, exist_ok=True)
        with lock:
            _run(local.dir, name, data, what, must_detect, must_pass)

    def _run(wdir, name, data, what, must_detect, must_pass):
        lock.release()
        try:
            res = check(wdir, name, data, what, must_detect, must_pass)
        finally:
            lock.acquire()
        if res:
            kind, msg = res
            if kind == 'violation':
                violations.append(msg)
            else:
                stats[kind] += 1
                if kind == 'undetected':
                    undetected[msg] += 1
        stats['cases'] += 1

    def check(wdir, name, data, what, must_detect, must_pass):
        path = os.path.join(wdir, 'c.img')
        out = os.path.join(wdir, 'out')
        with open(path, 'wb') as f:
            f.write(data)
        shutil.rmtree(out, ignore_errors=True)
        try:
            p = subprocess.run(['timeout', str(TIMEOUT), fsck, '--quiet',
                                '--extract=' + out, path],
                               capture_output=True)
        except OSError as e:
            return 'violation', f'{name} {what}: cannot run: {e}'
        err = p.stderr.decode(errors='replace')
        rc = p.returncode
        if rc == 124 or rc >= 128 or rc < 0:
            return 'violation', f'{name} {what}: exit {rc} (crash or hang)\n{err[-2000:]}'
        if 'Sanitizer' in err or 'runtime error' in err:
            return 'violation', f'{name} {what}: sanitizer report\n{err[-3000:]}'
        if rc:
            if must_pass:
                return 'violation', f'{name} {what}: damage to file data only reported as an error (exit {rc}): {err[:300]}'
            return 'detected', None
        if must_detect:
            return 'violation', f'{name} {what}: not detected (exit 0)'
        c = subprocess.run([sys.executable, treecmp, src, out, '--max', '3'],
                           capture_output=True)
        if c.returncode == 0:
            return 'harmless', None
        return 'undetected', what.split()[0]

    pool = ThreadPoolExecutor(max_workers=3)
    jobs = []

    def submit(*args, **kw):
        jobs.append(pool.submit(run, *args, **kw))

    for imgpath in images:
        name = os.path.basename(imgpath)
        data = open(imgpath, 'rb').read()
        img = Image(data)
        csum_end = 1024 + (img.bs - 1024 if img.bs > 1024 else img.bs)
        cases = []
        for area, ranges in sorted(img.areas.items()):
            # several instances of each area, then bytes inside each
            pick = ranges if len(ranges) <= 8 else rng.sample(ranges, 8)
            per = {'superblock': 64, 'inode': 24}.get(area, 10)
            for a, b in pick:
                cases += mutations(rng, area, a, b, per)
        for area, pos, kind in cases:
            bad = apply(data, pos, kind)
            if bad is None:
                continue
            in_csum = (img.compat & 1) and 1024 <= pos < csum_end and \
                (struct.unpack_from('<I', bad, 1032)[0] & 1)
            submit(name, bad, f'{area} byte {pos} {kind}',
                   must_detect=bool(in_csum),
                   must_pass=(area == 'file-data' and not
                              1024 <= pos < csum_end))
        # random bytes anywhere, some at once
        for i in range(40):
            b = bytearray(data)
            for _ in range(1 + i % 4):
                b[rng.randrange(len(b))] = rng.randrange(256)
            submit(name, bytes(b), f'random {i}')
        size = len(data)
        for cut in sorted(set([0, 1, 1024, 1100, 1152, img.bs, size // 3,
                               size // 2, size - img.bs, size - 1] +
                              [rng.randrange(1, size) for _ in range(10)])):
            if 0 <= cut < size:
                submit(name, data[:cut], f'truncate {cut}', must_detect=True)
        print(f'{name}: {len(cases)} byte mutations', flush=True)
    for j in jobs:
        j.result()
    pool.shutdown()

    print(f"{stats['cases']} damaged images: {stats['detected']} detected, "
          f"{stats['harmless']} harmless (identical tree), "
          f"{stats['undetected']} undetected damage")
    for area, n in sorted(undetected.items()):
        print(f'  undetected in {area}: {n}')
    for v in violations[:30]:
        print('VIOLATION:', v)
    return 1 if violations else 0


if __name__ == '__main__':
    sys.exit(main())
