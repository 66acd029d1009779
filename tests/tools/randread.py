#!/usr/bin/env python3
"""Read COUNT random ranges of every regular file under SOURCE from the
same path under OTHER and compare.  Usage: randread.py SOURCE OTHER [COUNT]

Ranges are spread over files in proportion to their size, 1 byte to 256
KiB long, from a fixed seed so that failures repeat."""
import os
import random
import sys


def main():
    src, oth = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    files = []
    for dirpath, _, names in os.walk(src):
        for n in names:
            p = os.path.join(dirpath, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files.append((p, os.path.getsize(p)))
    files = [f for f in files if f[1]]
    total = sum(s for _, s in files)
    rng = random.Random(20261123)
    bad = 0
    for _ in range(count):
        x = rng.randrange(total)
        for path, size in files:
            if x < size:
                break
            x -= size
        length = min(rng.randrange(1, 256 << 10), size - x)
        rel = os.path.relpath(path, src)
        with open(path, 'rb') as a, open(os.path.join(oth, rel), 'rb') as b:
            if os.pread(a.fileno(), length, x) != os.pread(b.fileno(), length, x):
                print(f'{rel}: range {x}+{length} differs')
                bad += 1
    print(f'randread: {count} ranges, {bad} differing')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
