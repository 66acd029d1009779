#!/usr/bin/env python3
"""binfile.py SIZE OUT: SIZE bytes of this machine's programs (up to 2 MiB
of each file in /usr/bin, in name order), data that compresses about as
a real container layer does."""
import os
import sys


def main():
    left = int(sys.argv[1])
    with open(sys.argv[2], 'wb') as out:
        for name in sorted(os.listdir('/usr/bin')):
            path = os.path.join('/usr/bin', name)
            if not left:
                break
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as f:
                    data = f.read(min(left, 2 << 20))
                out.write(data)
                left -= len(data)
    if left:
        sys.exit('binfile.py: /usr/bin holds too little')


if __name__ == '__main__':
    main()
