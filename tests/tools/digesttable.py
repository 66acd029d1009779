#!/usr/bin/env python3
"""Reads (and for tests, damages) the digest tables in an EROFS image's
annex, independently of the toolkit's C code (see erofs_fs.h:
struct erofs_annex_trailer and struct erofs_annex_digest_table).

digesttable.py check IMAGE DEVICE BLOB [UNIT]
    the table of DEVICE covers BLOB exactly, each sha256 right (and the
    unit is UNIT bytes, if given); prints "UNIT COUNT"
digesttable.py damage IMAGE DEVICE unit_bits|nr_units|blob_size|digest:N
    changes one field (or flips a bit of unit N's digest) and rewrites the
    trailer's digest so that only the table is wrong
"""
import hashlib
import struct
import sys


def load(img):
    data = open(img, 'rb').read()
    t = data[-64:]
    assert t[:8] == b'EROFSANX', 'no annex trailer'
    version, nr, start, size = struct.unpack_from('<IIQQ', t, 8)
    assert version == 1, version
    recs = data[start:start + size]
    assert hashlib.sha256(recs).digest() == t[32:64], 'annex digest'
    return data, start, size, nr


def find(recs, device):
    off = 0
    while off < len(recs):
        typ, dev, _, length = struct.unpack_from('<IHHQ', recs, off)
        if typ == 1 and dev == device:
            return off + 16, length
        off += 16 + length + (-length % 8)
    raise SystemExit(f'no digest table for device {device}')


def check(img, device, blob, unit=None):
    data, start, size, _ = load(img)
    recs = data[start:start + size]
    pos, length = find(recs, device)
    blob_size, nr, bits = struct.unpack_from('<QQB', recs, pos)
    assert recs[pos + 17:pos + 24] == bytes(7), 'reserved'
    b = open(blob, 'rb').read()
    assert blob_size == len(b), (blob_size, len(b))
    u = 1 << bits
    if unit is not None:
        assert u == unit, (u, unit)
    assert nr == -(-len(b) // u), (nr, len(b), u)
    assert length == 24 + 32 * nr, length
    for i in range(nr):
        want = recs[pos + 24 + 32 * i:pos + 56 + 32 * i]
        assert hashlib.sha256(b[i * u:(i + 1) * u]).digest() == want, i
    print(u, nr)


def damage(img, device, what):
    data, start, size, _ = load(img)
    recs = bytearray(data[start:start + size])
    pos, _ = find(bytes(recs), device)
    if what == 'unit_bits':
        recs[pos + 16] = 40
    elif what == 'nr_units':
        struct.pack_into('<Q', recs, pos + 8,
                         struct.unpack_from('<Q', recs, pos + 8)[0] + 1)
    elif what == 'blob_size':
        struct.pack_into('<Q', recs, pos, 4096)
    elif what.startswith('digest:'):
        recs[pos + 24 + 32 * int(what[7:])] ^= 1
    else:
        raise SystemExit(f'unknown damage {what}')
    t = bytearray(data[-64:])
    t[32:64] = hashlib.sha256(recs).digest()
    with open(img, 'r+b') as f:
        f.seek(start)
        f.write(recs)
        f.seek(len(data) - 64)
        f.write(t)


if sys.argv[1] == 'check':
    check(sys.argv[2], int(sys.argv[3]), sys.argv[4],
          int(sys.argv[5]) if len(sys.argv) > 5 else None)
else:
    damage(sys.argv[2], int(sys.argv[3]), sys.argv[4])
