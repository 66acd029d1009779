#!/usr/bin/env python3
"""The block-aligned view of a tar that mkfs.erofs --tar=i -b BLKSZ makes
a layer's device (EROFS_ANNEX_DEVICE_MAP in erofs_fs.h), built from the
tar with Python's tarfile alone, as a second opinion on the C builder and
readers: every regular file's data, in tar order, starts at the next
BLKSZ boundary; zeros between; the view ends at a block boundary.

devmapref.py TAR BLKSZ OUT       writes the view
devmapref.py TAR BLKSZ --tag     prints the device's tag (the sha256 of
                                 the view)
"""
import hashlib
import sys
import tarfile


def extents(path, blksz):
    out, end = [], 0
    with tarfile.open(path, 'r:') as tf:
        for m in tf:
            if not m.isreg() or not m.size:
                continue
            at = (end + blksz - 1) // blksz * blksz
            out.append((at, m.offset_data, m.size))
            end = at + m.size
    return out, (end + blksz - 1) // blksz * blksz


def main():
    path, blksz = sys.argv[1], int(sys.argv[2])
    ext, size = extents(path, blksz)
    data = open(path, 'rb').read()
    view = bytearray(size)
    for at, off, n in ext:
        view[at:at + n] = data[off:off + n]
    if sys.argv[3] == '--tag':
        print(hashlib.sha256(view).hexdigest())
    else:
        open(sys.argv[3], 'wb').write(view)


if __name__ == '__main__':
    main()
