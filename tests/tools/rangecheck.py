#!/usr/bin/env python3
"""rangecheck.py SRC OUT A B [A B ...]: OUT is a sparse cache file of SRC:
the same size, SRC's bytes in every inclusive range [A, B], zeros elsewhere.
Exits 1 with the first difference."""
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    nums = [int(x) for x in sys.argv[3:]]
    ranges = list(zip(nums[0::2], nums[1::2]))
    a = open(src, 'rb').read()
    b = open(out, 'rb').read()
    if len(a) != len(b):
        sys.exit(f"size {len(b)} != {len(a)}")
    want = bytearray(len(a))
    for s, e in ranges:
        want[s:e + 1] = a[s:e + 1]
    if want != b:
        i = next(i for i in range(len(a)) if want[i] != b[i])
        sys.exit(f"byte {i} differs: {b[i]} != {want[i]}")


main()
