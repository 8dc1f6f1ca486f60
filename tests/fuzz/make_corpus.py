#!/usr/bin/env python3
"""Writes the committed seed corpora of the libFuzzer targets (tests/fuzz/corpus/<target>/).

Seeds are key independent: the node fuzzers seal packets with the live session keys
themselves (see fuzz_node_receive.cpp for the input format). Re-run after changing a format:
    python3 tests/fuzz/make_corpus.py
"""
import hashlib
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header(flags=0, frag=0, sub=0, session=0, stream=0, seq=0, origin=0, subnet=0, fid=0, foff=0,
           plen=0, count=0, version=1, counter=0):
    nonce = struct.pack("<IQ", 0, counter)
    return (struct.pack("<HBBBBBBHH", 0x4E45, version, flags, 0, 0, 0, frag, sub, 0) + nonce +
            struct.pack("<QQQQIHHHH", session, stream, seq, origin, subnet, fid, foff, plen, count))


def frame(b):
    return struct.pack("<I", len(b)) + b


def grant(stream, total):
    return struct.pack("<QQ", stream, total)


def ext(t, stream, nxt, missing=0):
    # src/wire/extension.h: type, stream_id, next_expected, highest, base, missing (41 bytes)
    highest = nxt + 64 if missing else max(nxt, 1) - 1
    return struct.pack("<BQQQQQ", t, stream, nxt, highest, nxt, missing)


HELLO = 0x014853454D54454E
MAX = 2**64 - 1


def sealed_fields(flags=0, frag=0, sub_sel=0, stream_sel=3, seq=0, subnet=1, origin=0, foff=0, count=1,
                  sub_raw=0, stream_raw=0, seq_raw=None, counter=None):
    d = bytes([flags, frag, sub_sel]) + struct.pack("<H", sub_raw)
    d += bytes([stream_sel]) + struct.pack("<Q", stream_raw)
    if seq_raw is None:
        d += bytes([seq]) + struct.pack("<Q", 0)
    else:
        d += bytes([255]) + struct.pack("<Q", seq_raw)
    d += bytes([subnet]) + struct.pack("<I", origin) + struct.pack("<HH", foff, 0) + struct.pack("<H", count)
    d += bytes([0xFF, counter]) if counter is not None else b"\0\0"
    assert len(d) == 36, len(d)
    return d


def seeds():
    s = {"header_frames": [], "grant_ext": [], "node_receive": [], "handshake": []}
    two = frame(b"hello") + frame(b"abc")
    hf = s["header_frames"]
    hf.append(header(plen=len(two), count=2, session=7, stream=3) + two + b"\0" * 16)
    hf.append(header(flags=0x20, session=7) + b"\0" * 16)                  # heartbeat
    hf.append(header(flags=0x10, plen=48) + bytes(range(48)))              # handshake
    hf.append(header(sub=0x0B00, stream=MAX, count=1, plen=20) + frame(grant(3, 1000)))
    hf.append(header(sub=0x4E4D, stream=MAX, count=2, plen=90) + frame(ext(1, 3, 9)) + frame(ext(2, 3, 9, 5)))
    hf.append(header(count=2027, plen=8108) + frame(b"x" * 8104))
    hf.append(header(frag=3, fid=1, foff=7, count=1, plen=8) + frame(b"frag"))
    hf.append(header(version=2))
    hf.append(b"EN" + b"\0" * 10)
    ge = s["grant_ext"]
    ge += [grant(3, 1000), grant(HELLO, 7 | 1 << 63), grant(MAX, MAX), ext(1, 3, 9), ext(2, 3, 9, 0xF0F0),
           ext(3, 3, 0), ext(9, 3, 0)]
    ge.append(struct.pack("<H", 2) + frame(grant(1, 2)) + frame(ext(1, 1, 1)))
    ge.append(struct.pack("<H", 3) + frame(grant(1, 2))[:-1])
    nr = s["node_receive"]
    nr.append(b"\0" + hf[0])
    nr.append(b"\0" + hf[1])
    nr.append(b"\0" + b"RT" + b"\0" * 16 + hf[0])
    nr.append(b"\0" + b"PH" + b"\0" * 12)
    nr.append(b"\1" + sealed_fields() + two)                                  # data, stream 3
    nr.append(b"\1" + sealed_fields(flags=1, stream_sel=1, seq=0) + frame(b"rel"))
    nr.append(b"\1" + sealed_fields(flags=1, stream_sel=4, seq=5) + frame(b"gap"))
    nr.append(b"\1" + sealed_fields(frag=1, stream_sel=5, foff=0) + frame(b"A" * 200))
    nr.append(b"\1" + sealed_fields(frag=3, stream_sel=5, seq=1, foff=1) + frame(b"B" * 20))
    nr.append(b"\1" + sealed_fields(sub_sel=1, stream_sel=210) + frame(grant(2, 100)) + frame(grant(1, MAX)))
    nr.append(b"\1" + sealed_fields(sub_sel=1, stream_sel=210, count=1) + frame(grant(HELLO, 7)))
    nr.append(b"\1" + sealed_fields(sub_sel=2, stream_sel=210, count=3) + frame(ext(1, 1, 1)) +
              frame(ext(2, 1, 0, 3)) + frame(ext(3, 2, 0)))
    nr.append(b"\1" + sealed_fields(flags=0x20, count=0))
    nr.append(b"\1" + sealed_fields(count=5) + two)
    nr.append(b"\1" + sealed_fields(seq_raw=MAX, flags=1, stream_sel=1) + frame(b"far"))
    nr.append(b"\1" + sealed_fields(counter=1) + two)
    nr.append(b"\2")
    nr.append(b"\2" + struct.pack("<HB", 70, 1))                              # ciphertext bit
    nr.append(b"\2" + struct.pack("<HB", 64, 1))                              # payload_len
    nr.append(b"\2" + struct.pack("<HB", 0xFFFF, 80))                         # truncated
    nr.append(b"\3" + bytes(48))
    hs = s["handshake"]
    hs.append(b"\0" + bytes(48))
    hs.append(b"\0" + hashlib.sha256(b"msg1").digest() + bytes(16))
    hs.append(b"\1\0")                  # valid msg1 for peer 0
    hs.append(b"\1\1")                  # peer 1
    hs.append(b"\1\2" + b"\x05\x01")    # one flipped bit in the ephemeral key
    hs.append(b"\1\0" + b"\x28\x80")    # in the tag
    hs.append(b"\1\0" + b"\xff\x20")    # truncated to 32 bytes
    return s


def main():
    for target, items in seeds().items():
        d = os.path.join(HERE, "corpus", target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for item in items:
            name = hashlib.sha1(item).hexdigest()
            with open(os.path.join(d, name), "wb") as f:
                f.write(item)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
