#!/usr/bin/env python3
"""An independent, minimal EROFS reader for checking dump.erofs.

Usage: erofsparse.py IMAGE [BLOB]

Prints JSON: the superblock fields, the device table, and every name in
the tree with its inode fields and its extents -- logical range, device,
physical range, and for compressed extents the algorithm, the pcluster's
blocks and the length of its compressed stream (zero padding skipped);
fragment extents (kind 'fragment') have as pa their offset in the packed
inode, whose size and extents are printed as 'packed' (null without
one).
Compressed indexes are decoded by a forward scan of every lcluster (full
and compacted, big pclusters) or extent record (48-bit layout), not by
the random-access lookups the C reader uses, so that the two do not
share mistakes.  BLOB, the image's
one extra device, is where compressed streams in the blob's part of the
unified address space are read from (to measure their zero padding).
"""
import json
import stat
import struct
import sys

ALGS = {0: 'lz4', 1: 'lzma', 2: 'deflate', 3: 'zstd'}
NULL_ADDR = 0xffffffff


class Image:
    def __init__(self, path, blob=None):
        with open(path, 'rb') as f:
            self.d = f.read()
        self.blob = b''
        if blob:
            with open(blob, 'rb') as f:
                self.blob = f.read()
        sb = self.d[1024:1024 + 128]
        (self.magic, self.csum, self.compat, self.bits, self.extslots,
         self.root, self.inos, self.build_time, self.build_nsec,
         self.blocks, self.meta, self.xattr_blk) = \
            struct.unpack_from('<IIIBBHQQIIII', sb, 0)
        self.uuid = sb[48:64]
        self.label = sb[64:80].rstrip(b'\0')
        (self.incompat, self.u1, self.extra_devices,
         self.devt_slotoff) = struct.unpack_from('<IHHH', sb, 80)
        self.bs = 1 << self.bits
        packed, = struct.unpack_from('<Q', sb, 96)
        # the fragments' inode, named only by the superblock
        self.packed = packed if self.incompat & 0x20 and packed else None
        self.devices = []
        if self.incompat & 0x8:
            for i in range(self.extra_devices):
                off = self.devt_slotoff * 128 + i * 128
                tag = self.d[off:off + 64].rstrip(b'\0')
                blocks, mapped = struct.unpack_from('<II', self.d, off + 64)
                self.devices.append(dict(tag=tag.decode('latin-1'),
                                         blocks=blocks, mapped=mapped))

    def inode(self, nid):
        pos = self.meta * self.bs + nid * 32
        fmt, icount, mode = struct.unpack_from('<HHH', self.d, pos)
        ext = fmt & 1
        if ext:
            size, iu, ino, uid, gid, mtime, mnsec, nlink = \
                struct.unpack_from('<QIIIIQII', self.d, pos + 8)
            isize = 64
        else:
            nlink, size, _, iu, ino, uid, gid = \
                struct.unpack_from('<HIIIIHH', self.d, pos + 6)
            mtime, mnsec, isize = self.build_time, self.build_nsec, 32
        xsize = 12 + (icount - 1) * 4 if icount else 0
        return dict(nid=nid, pos=pos, ext=bool(ext), layout=(fmt >> 1) & 7,
                    mode=mode, size=size, iu=iu, ino=ino, uid=uid, gid=gid,
                    mtime=mtime, mtime_nsec=mnsec, nlink=nlink, isize=isize,
                    xsize=xsize, iend=pos + isize + xsize)

    # --- content ---

    def extents(self, ino):
        lay = ino['layout']
        if ino['size'] == 0 or stat.S_ISCHR(ino['mode']) or \
                stat.S_ISBLK(ino['mode']):
            return []
        if lay in (0, 2):
            return self.flat_extents(ino)
        if lay == 4:
            return self.chunk_extents(ino)
        return self.z_extents(ino)

    def flat_extents(self, ino):
        size, bs = ino['size'], self.bs
        nblocks = -(-size // bs)
        out = []
        full = nblocks - 1 if ino['layout'] == 2 else nblocks
        plain = min(full * bs, size)
        if plain:
            out.append(dict(la=0, llen=plain, dev=0, pa=ino['iu'] * bs,
                            plen=plain, kind='plain'))
        if plain < size:
            out.append(dict(la=plain, llen=size - plain, dev=0,
                            pa=ino['iend'], plen=size - plain, kind='inline'))
        return out

    def chunk_extents(self, ino):
        fmt = ino['iu'] & 0xffff
        cbits = self.bits + (fmt & 0x1f)
        indexes = fmt & 0x20
        unit = 8 if indexes else 4
        base = (ino['iend'] + unit - 1) // unit * unit
        csize = 1 << cbits
        out = []
        for i in range(-(-ino['size'] // csize)):
            la = i * csize
            llen = min(csize, ino['size'] - la)
            dev = 0
            if indexes:
                _, dev, blk = struct.unpack_from('<HHI', self.d, base + i * 8)
            else:
                blk, = struct.unpack_from('<I', self.d, base + i * 4)
            if blk == NULL_ADDR:
                out.append(dict(la=la, llen=llen, kind='hole'))
                continue
            out.append(dict(la=la, llen=llen, dev=dev, pa=blk * self.bs,
                            plen=llen, kind='plain'))
        return out

    def lclusters(self, ino, lbits, advise, total):
        """[(type, clusterofs_or_lo, blkaddr_or_None, cblks_or_None)]"""
        hstart = (ino['iend'] + 7) & ~7
        if ino['layout'] == 1:
            out = []
            for i in range(total):
                adv, ofs, u = struct.unpack_from(
                    '<HHI', self.d, hstart + 16 + i * 8)
                t = adv & 3
                if t == 2:
                    d0 = u & 0xffff
                    out.append((t, d0, None,
                                d0 & 0x7ff if d0 & 0x800 else None))
                else:
                    out.append((t, ofs, u, None))
            return out
        ebase = hstart + 8
        init4 = ((32 - ebase % 32) // 4) & 7
        n2 = 0
        if advise & 1 and init4 < total:
            n2 = (total - init4) // 16 * 16
        lobits = max(lbits, 12)
        big = advise & 2
        packs = []          # (pos, vcnt, packbytes)
        pos, i = ebase, 0
        while i < total:
            if i < init4 or i >= init4 + n2:
                vcnt, pb = 2, 8
            else:
                vcnt, pb = 16, 32
            packs.append((pos, vcnt, pb))
            pos += pb
            i += vcnt
        out = []
        for pos, vcnt, pb in packs:
            ebits = (pb - 4) * 8 // vcnt
            base, = struct.unpack_from('<I', self.d, pos + pb - 4)
            ents = []
            for j in range(vcnt):
                bit = j * ebits
                v = int.from_bytes(self.d[pos + bit // 8:pos + bit // 8 + 4],
                                   'little') >> (bit % 8)
                ents.append(((v >> lobits) & 3, v & ((1 << lobits) - 1)))
            running = base
            # the pack's first lcluster may carry the block count of a
            # pcluster whose head is in the pack before: then the base is
            # that pcluster's address (the kernel's unpack_compacted_index
            # counts those blocks walking back from a head)
            if big and ents[0][0] == 2 and ents[0][1] & 0x800:
                running += ents[0][1] & 0x7ff
            for j, (t, lo) in enumerate(ents):
                if t != 2:
                    blk = running
                    nxt = ents[j + 1] if j + 1 < vcnt else None
                    if big and nxt and nxt[0] == 2 and nxt[1] & 0x800:
                        running += nxt[1] & 0x7ff
                    else:
                        running += 1
                    out.append((t, lo, blk, None))
                else:
                    out.append((t, lo, None,
                                lo & 0x7ff if big and lo & 0x800 else None))
        return out[:total]

    def z_extents(self, ino):
        hstart = (ino['iend'] + 7) & ~7
        fragoff, advise, algtype, cbits = struct.unpack_from('<IHBB', self.d,
                                                             hstart)
        if cbits & 0x80:
            # the whole file is a fragment: the header is only its offset
            raw, = struct.unpack_from('<Q', self.d, hstart)
            return [dict(la=0, llen=ino['size'], kind='fragment',
                         pa=raw & ~(1 << 63), plen=ino['size'])]
        if ino['layout'] == 1 and advise & 1:
            return self.ext_records(ino, hstart, advise,
                                    fragoff | (algtype | cbits << 8) << 32)
        assert not advise & 0x08, 'inline pclusters'
        fragment = advise & 0x20
        lbits = self.bits + (cbits & 15)
        size = ino['size']
        total = (size + (1 << lbits) - 1) >> lbits
        lcs = self.lclusters(ino, lbits, advise, total)
        # a HEAD at or past EOF only marks where the last extent ends
        heads = [(i, lc) for i, lc in enumerate(lcs) if lc[0] != 2 and
                 (i << lbits) | lc[1] < size]
        nexthead, j = [None] * total, None
        for i in range(total - 1, -1, -1):
            nexthead[i] = j
            if lcs[i][0] != 2:
                j = i
        out = []
        for k, (i, (t, ofs, blk, _)) in enumerate(heads):
            la = (i << lbits) | ofs
            j = nexthead[i]
            end = size if j is None else min(size, (j << lbits) | lcs[j][1])
            bigbit = 2 if t == 1 else 4
            cblks = 1
            if advise & bigbit and i + 1 < total and lcs[i + 1][0] == 2 \
                    and lcs[i + 1][3] is not None:
                cblks = lcs[i + 1][3]
            if fragment and end == size:
                # the tail extent is in the packed inode; full indexes
                # keep the offset's high 32 bits in its head's blkaddr
                high = blk << 32 if ino['layout'] == 1 else 0
                out.append(dict(la=la, llen=end - la, kind='fragment',
                                pa=fragoff | high, plen=end - la))
                continue
            plen = cblks * self.bs
            pa, dev, src = blk * self.bs, 0, self.d
            # an address in the blob's part of the unified space
            for k, dv in enumerate(self.devices):
                start = dv['mapped'] * self.bs
                if dv['mapped'] and start <= pa < start + dv['blocks'] * self.bs:
                    pa, dev, src = pa - start, k + 1, self.blob
            if t == 0:
                e = dict(la=la, llen=end - la, dev=dev, pa=pa, plen=plen,
                         kind='stored', blocks=cblks)
            else:
                alg = algtype & 15 if t == 1 else algtype >> 4
                kind = ALGS.get(alg, str(alg))
                pad = 0
                first = src[pa:pa + min(plen, self.bs)]
                if self.incompat & 1 and first:
                    pad = len(first) - len(first.lstrip(b'\0'))
                e = dict(la=la, llen=end - la, dev=dev, pa=pa, plen=plen,
                         kind=kind, blocks=cblks)
                if first:	# else: in a blob not given
                    e['insize'] = plen - pad
            out.append(e)
        return out

    def ext_records(self, ino, hstart, advise, count):
        """extent records (48-bit layout), read front to back: 4-byte
        ones (plen) after an 8-byte start, pclusters back to back, and
        8-byte ones (plen, pstart) one per lcluster; 16- and 32-byte ones
        (plen, pstart, lstart) one per extent"""
        recsz = 4 << ((advise >> 1) & 3)
        size = ino['size']
        pos = (hstart + 8 + recsz - 1) // recsz * recsz
        recs = []           # (lstart, raw plen, pstart)
        if recsz <= 8:
            lbits = self.bits + (self.d[hstart + 7] & 15)
            pa = None
            if recsz == 4:
                pa, = struct.unpack_from('<Q', self.d, pos)
                pos += 8
            for i in range((size + (1 << lbits) - 1) >> lbits):
                plen, = struct.unpack_from('<I', self.d, pos + i * recsz)
                if recsz == 4:
                    recs.append((i << lbits, plen, pa))
                    pa += plen & 0x1fffff
                else:
                    p, = struct.unpack_from('<I', self.d, pos + i * 8 + 4)
                    recs.append((i << lbits, plen, p))
        else:
            for i in range(count):
                at = pos + i * recsz
                plen, plo, phi, llo = struct.unpack_from('<IIII', self.d, at)
                lhi = struct.unpack_from('<I', self.d, at + 16)[0] \
                    if recsz == 32 else 0
                recs.append((llo | lhi << 32, plen, plo | phi << 32))
        out = []
        for k, (la, plen, pa) in enumerate(recs):
            end = min(recs[k + 1][0] if k + 1 < len(recs) else size, size)
            if k + 1 == len(recs) and advise & 0x20:
                high = pa << 32 if recsz > 4 else 0
                out.append(dict(la=la, llen=end - la, kind='fragment',
                                pa=plen | high, plen=end - la))
                continue
            length, fmt = plen & 0x1fffff, plen >> 28
            if not length:
                out.append(dict(la=la, llen=end - la, kind='hole'))
                continue
            e = dict(la=la, llen=end - la, dev=0, pa=pa, plen=length,
                     kind=ALGS.get(fmt - 1, str(fmt - 1)) if fmt else
                     'stored', blocks=(length + self.bs - 1) // self.bs)
            if fmt:
                first = self.d[pa:pa + min(length, self.bs)]
                e['insize'] = length - (len(first) - len(first.lstrip(b'\0')))
            out.append(e)
        return out

    # --- tree ---

    def read_flat(self, ino):
        out = b''
        for e in self.flat_extents(ino):
            out += self.d[e['pa']:e['pa'] + e['plen']]
        return out

    def dirents(self, ino):
        data = self.read_flat(ino)
        bs, out = self.bs, []
        for b in range(0, len(data), bs):
            blk = data[b:b + bs]
            n = struct.unpack_from('<H', blk, 8)[0] // 12
            ents = [struct.unpack_from('<QHBB', blk, i * 12)
                    for i in range(n)]
            for i, (nid, nameoff, ft, _) in enumerate(ents):
                end = ents[i + 1][1] if i + 1 < n else len(blk)
                name = blk[nameoff:end]
                if i + 1 == n:
                    name = name.rstrip(b'\0')
                out.append((name, nid, ft))
        return out

    def walk(self, nid=None, path=b'/'):
        nid = self.root if nid is None else nid
        seen = set()
        stack = [(nid, path)]
        while stack:
            nid, path = stack.pop()
            ino = self.inode(nid)
            first = nid not in seen
            seen.add(nid)
            yield path, ino, first
            if stat.S_ISDIR(ino['mode']) and first:
                kids = [(n, c) for n, c, _ in self.dirents(ino)
                        if n not in (b'.', b'..')]
                for name, child in reversed(kids):
                    stack.append((child, path.rstrip(b'/') + b'/' + name))


def main():
    img = Image(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
    files = []
    for path, ino, first in img.walk():
        f = {k: ino[k] for k in ('nid', 'mode', 'size', 'layout', 'uid',
                                  'gid', 'nlink', 'ext', 'mtime',
                                  'mtime_nsec', 'ino', 'isize', 'xsize')}
        f['path'] = path.decode('latin-1')
        f['first'] = first
        f['extents'] = img.extents(ino)
        files.append(f)
    packed = None
    if img.packed is not None:
        ino = img.inode(img.packed)
        packed = dict(nid=img.packed, size=ino['size'], mode=ino['mode'],
                      layout=ino['layout'], extents=img.extents(ino))
        if ino['layout'] in (1, 3):
            packed['compressed_blocks'] = ino['iu']
    sb = dict(magic=img.magic, blocksize=img.bs, blocks=img.blocks,
              meta_blkaddr=img.meta, xattr_blkaddr=img.xattr_blk,
              root_nid=img.root, inodes=img.inos,
              build_time=img.build_time, feature_compat=img.compat,
              feature_incompat=img.incompat, u1=img.u1,
              uuid=img.uuid.hex(), label=img.label.decode('latin-1'),
              devices=img.devices, packed_nid=img.packed)
    json.dump(dict(sb=sb, files=files, packed=packed), sys.stdout)
    return 0


if __name__ == '__main__':
    sys.exit(main())
