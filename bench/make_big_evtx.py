#!/usr/bin/env python3
"""Builds a large EVTX file for memory measurements by repeating a sample's 64 KB chunks, with a
consistent file header (chunk count, last chunk number, header CRC32). Usage:
make_big_evtx.py SOURCE.evtx REPEATS OUT.evtx"""
import struct
import sys
import zlib

src_path, repeats, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
src = open(src_path, "rb").read()
header, chunks = bytearray(src[:4096]), src[4096:]
n = len(chunks) // 65536
total = n * repeats
if total >= 65536:
    sys.exit("too many chunks for the header's 16-bit count")
header[16:24] = struct.pack("<Q", total - 1)  # last chunk number
header[42:44] = struct.pack("<H", total)  # number of chunks
header[120:124] = struct.pack("<I", struct.unpack("<I", header[120:124])[0] & ~1)  # not dirty
header[124:128] = struct.pack("<I", zlib.crc32(bytes(header[:120])))
with open(out_path, "wb") as out:
    out.write(bytes(header))
    for _ in range(repeats):
        out.write(chunks[: n * 65536])
print(f"{out_path}: {total} chunks, {(4096 + total * 65536) / 1e6:.1f} MB", file=sys.stderr)
