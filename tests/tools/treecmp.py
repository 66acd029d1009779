#!/usr/bin/env python3
"""Compare two trees field by field: the source and what a reader shows.

Usage: treecmp.py SOURCE OTHER [options]

Compared for every path: file type, permission bits, uid, gid, mtime (s
and ns), size, nlink, hardlink identity (which paths share an inode),
symlink target, device number, every xattr (names and values), and the
content of regular files.  Prints each difference; exits 1 if any.
"""
import argparse
import hashlib
import os
import stat
import sys


def walk(root):
    """relative path -> lstat result, for every entry below root"""
    out = {}
    root = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = os.lstat(full)
    out[b'.'] = os.lstat(root)
    return out


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in names}


def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def groups(tree):
    """hardlink groups: the set of paths of each multiply-linked inode"""
    by_ino = {}
    for rel, st in tree.items():
        if not stat.S_ISDIR(st.st_mode):
            by_ino.setdefault(st.st_ino, set()).add(rel)
    return {frozenset(g) for g in by_ino.values() if len(g) > 1}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('source')
    ap.add_argument('other')
    ap.add_argument('--no-xattrs', action='store_true',
                    help='OTHER must carry no xattrs at all')
    ap.add_argument('--uid', type=int, help='every uid in OTHER is this')
    ap.add_argument('--gid', type=int, help='every gid in OTHER is this')
    ap.add_argument('--mtime', type=int,
                    help='every mtime in OTHER is this (seconds, ns 0)')
    ap.add_argument('--exclude', action='append', default=[],
                    help='relative path absent from OTHER (with its subtree)')
    ap.add_argument('--skip', action='append', default=[],
                    help='relative path (with its subtree) not compared')
    ap.add_argument('--overlay-source', action='store_true',
                    help='SOURCE is an overlayfs mount, whose merged '
                    'directories say nlink 1: a directory of OTHER must '
                    'have 2 + its subdirectories instead')
    ap.add_argument('--max', type=int, default=40,
                    help='stop after this many differences')
    a = ap.parse_args()

    src, oth = walk(a.source), walk(a.other)
    subdirs = {}
    for rel, st in src.items():
        if rel != b'.' and stat.S_ISDIR(st.st_mode):
            parent = os.path.dirname(rel) or b'.'
            subdirs[parent] = subdirs.get(parent, 0) + 1
    excl = [os.fsencode(e) for e in a.exclude]
    skips = [os.fsencode(e) for e in a.skip]

    def under(rel, prefixes):
        return any(rel == e or rel.startswith(e + b'/') for e in prefixes)

    def excluded(rel):
        return under(rel, excl)

    diffs = []

    def diff(rel, what, x, y):
        diffs.append(f'{os.fsdecode(rel)!r}: {what}: source {x!r}, '
                     f'other {y!r}')

    for rel in sorted(set(src) | set(oth)):
        if rel not in oth:
            if not excluded(rel):
                diff(rel, 'missing', 'present', 'absent')
            continue
        if rel not in src:
            diff(rel, 'extra', 'absent', 'present')
            continue
        if excluded(rel):
            diff(rel, 'excluded path present', 'absent', 'present')
            continue
        if under(rel, skips):
            continue
        s, o = src[rel], oth[rel]
        ps = os.path.join(os.fsencode(a.source), rel)
        po = os.path.join(os.fsencode(a.other), rel)
        if stat.S_IFMT(s.st_mode) != stat.S_IFMT(o.st_mode):
            diff(rel, 'type', stat.S_IFMT(s.st_mode), stat.S_IFMT(o.st_mode))
            continue
        if s.st_mode != o.st_mode:
            diff(rel, 'mode', oct(s.st_mode), oct(o.st_mode))
        want_uid = s.st_uid if a.uid is None else a.uid
        want_gid = s.st_gid if a.gid is None else a.gid
        if o.st_uid != want_uid:
            diff(rel, 'uid', want_uid, o.st_uid)
        if o.st_gid != want_gid:
            diff(rel, 'gid', want_gid, o.st_gid)
        want_mtime = s.st_mtime_ns if a.mtime is None else a.mtime * 10**9
        if o.st_mtime_ns != want_mtime:
            diff(rel, 'mtime_ns', want_mtime, o.st_mtime_ns)
        if not stat.S_ISDIR(s.st_mode) and s.st_size != o.st_size:
            diff(rel, 'size', s.st_size, o.st_size)
        want_nlink = s.st_nlink
        if a.overlay_source and stat.S_ISDIR(s.st_mode):
            want_nlink = 2 + subdirs.get(rel, 0)
        if o.st_nlink != want_nlink:
            diff(rel, 'nlink', want_nlink, o.st_nlink)
        if stat.S_ISCHR(s.st_mode) or stat.S_ISBLK(s.st_mode):
            if s.st_rdev != o.st_rdev:
                diff(rel, 'rdev', (os.major(s.st_rdev), os.minor(s.st_rdev)),
                     (os.major(o.st_rdev), os.minor(o.st_rdev)))
        if stat.S_ISLNK(s.st_mode) and os.readlink(ps) != os.readlink(po):
            diff(rel, 'symlink target', os.readlink(ps)[:60],
                 os.readlink(po)[:60])
        xs, xo = xattrs(ps), xattrs(po)
        if a.no_xattrs:
            xs = {}
        if xs != xo:
            for n in sorted(set(xs) | set(xo)):
                if xs.get(n) != xo.get(n):
                    diff(rel, f'xattr {os.fsdecode(n)}',
                         (xs.get(n) or b'')[:40] if n in xs else None,
                         (xo.get(n) or b'')[:40] if n in xo else None)
        if stat.S_ISREG(s.st_mode) and s.st_size == o.st_size:
            if digest(ps) != digest(po):
                diff(rel, 'content', 'sha256 differs', '')
        if len(diffs) >= a.max:
            break

    gs = {g for g in groups(src) if not any(excluded(r) for r in g)}
    if len(diffs) < a.max and gs != groups(oth):
        diff(b'.', 'hardlink groups', sorted(map(sorted, gs))[:5],
             sorted(map(sorted, groups(oth)))[:5])

    for d in diffs:
        print(d)
    checked = len(src)
    if diffs:
        print(f'treecmp: {len(diffs)} difference(s) '
              f'(stopped at {a.max})' if len(diffs) >= a.max else
              f'treecmp: {len(diffs)} difference(s)')
        return 1
    print(f'treecmp: {checked} entries identical')
    return 0


if __name__ == '__main__':
    sys.exit(main())
