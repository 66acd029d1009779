"""Pieces of the tests' generated trees: text of words drawn from a
seeded generator, and files written under a root.  The same seed gives
the same tree on every run."""
import os
import random


class Tree:
    def __init__(self, root, seed, words, per_line=10):
        self.root = root
        self.rng = random.Random(seed)
        self.words = words
        self.per_line = per_line

    def text(self, n):
        """n bytes of lines of per_line words: compressible, not trivially"""
        out = bytearray()
        while len(out) < n:
            out += b' '.join(self.rng.choice(self.words)
                             for _ in range(self.per_line)) + b'\n'
        return bytes(out[:n])

    def put(self, rel, data):
        """data in root/rel, its directories made: the file's path"""
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        return path
