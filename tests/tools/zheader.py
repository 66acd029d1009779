#!/usr/bin/env python3
"""Print the data layout and, for compressed inodes, the z_erofs map header
of one file, read straight from the image bytes (nid from Debian's
dump.erofs, or the one $ZHEADER_DUMP names: Debian's predates zstd).  Usage: zheader.py IMAGE PATH
Output: layout=N advise=0x.. alg=N  (alg is the HEAD1 algorithm)"""
import os
import re
import struct
import subprocess
import sys


def main():
    img, path = sys.argv[1], sys.argv[2]
    with open(img, 'rb') as f:
        d = f.read()
    blkbits = d[1024 + 12]
    meta = struct.unpack_from('<I', d, 1024 + 40)[0]
    dump = os.environ.get('ZHEADER_DUMP', '/usr/bin/dump.erofs')
    out = subprocess.run([dump, '--path=' + path, img],
                         capture_output=True, text=True).stdout
    nid = int(re.search(r'NID: *(\d+)', out).group(1))
    pos = (meta << blkbits) + nid * 32
    fmt, icount = struct.unpack_from('<HH', d, pos)
    layout = (fmt >> 1) & 7
    isize = 64 if fmt & 1 else 32
    xsize = 12 + 4 * (icount - 1) if icount else 0
    if layout not in (1, 3):
        print(f'layout={layout}')
        return 0
    h = (pos + isize + xsize + 7) & ~7
    advise, alg = struct.unpack_from('<HB', d, h + 4)
    print(f'layout={layout} advise={advise:#x} alg={alg & 15}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
