#!/usr/bin/env python3
"""Appends an annex (records past the filesystem's last block, see
erofs_fs.h) to an EROFS image, written independently of the toolkit's C
writer so that the reader is checked against a second writer.

annex.py IMAGE TYPE:DEVICE:HEXPAYLOAD...  [--damage=digest|bounds|reserved]
"""
import hashlib
import struct
import sys

SUPER_OFFSET = 1024


def fs_end(img):
    with open(img, 'rb') as f:
        f.seek(SUPER_OFFSET)
        sb = f.read(128)
    blkszbits = sb[12]
    blocks_lo = struct.unpack_from('<I', sb, 36)[0]
    return blocks_lo << blkszbits, 1 << blkszbits


def main():
    img = sys.argv[1]
    damage = None
    recs = b''
    nr = 0
    args = []
    for arg in sys.argv[2:]:
        if arg.startswith('--damage='):
            damage = arg.split('=', 1)[1]
        else:
            args.append(arg)
    for arg in args:
        typ, dev, hexp = arg.split(':')
        payload = bytes.fromhex(hexp)
        reserved = 1 if damage == 'reserved' else 0
        length = len(payload) + (4096 if damage == 'bounds' else 0)
        recs += struct.pack('<IHHQ', int(typ), int(dev), reserved, length)
        recs += payload + b'\0' * (-len(payload) % 8)
        nr += 1
    start, blksz = fs_end(img)
    digest = hashlib.sha256(recs).digest()
    if damage == 'digest':
        recs = recs[:-1] + bytes([recs[-1] ^ 1])
    total = -(-(len(recs) + 64) // blksz) * blksz
    trailer = b'EROFSANX' + struct.pack('<IIQQ', 1, nr, start, len(recs))
    trailer += digest
    with open(img, 'r+b') as f:
        f.truncate(start)
        f.seek(start)
        f.write(recs)
        f.seek(start + total - 64)
        f.write(trailer)


main()
