#!/usr/bin/env python3
# gen-ctree.py DIR: a tree for compressed images served on demand (t43,
# bench/fetch-compressed.sh): 160 small files of 0 to 70000 bytes in two
# directories and two files of 3 and 5 MiB under big/, all text of words
# drawn at random -- compressible, not trivially -- and the same every run.
import os, random, sys
root = sys.argv[1]
rng = random.Random(43)
words = [''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 9)))
         for _ in range(3000)]
def text(n):
    out, size = [], 0
    while size < n:
        w = rng.choice(words) + rng.choice('  \n,.')
        out.append(w)
        size += len(w)
    return ''.join(out)[:n].encode()
for d in ('small', 'small/deeper', 'big'):
    os.makedirs(os.path.join(root, d), exist_ok=True)
for i in range(160):
    sub = 'small/deeper' if i % 3 else 'small'
    with open(os.path.join(root, sub, 'f%03d' % i), 'wb') as f:
        f.write(text(rng.choice((0, 1, 100, 3000, 4096, 9000, 20000, 70000))))
for name, mib in (('b1', 3), ('b2', 5)):
    with open(os.path.join(root, 'big', name), 'wb') as f:
        f.write(text(mib << 20))
