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


def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7F | 0x80])
        v >>= 7
    return out + bytes([v])


def compact(bits, stream, seq, count, epoch=0, charge=0, session=7, counter=0, frag=b""):
    """A compact header (src/wire/compact_header.h); `frag`: a fragment's id and index; the
    charge only on a fire-and-forget packet (bit 0x10 clear)."""
    return (bytes([0x6E, bits]) + struct.pack("<II", session, counter) + varint(stream) + varint(seq) +
            varint(epoch) + (b"" if bits & 0x10 else varint(charge)) + varint(count) + frag)


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


def ack_frame(largest, ranges, delay_us=0):
    """A session acknowledgement (wire/ack_frame.h): ranges as (gap, length) pairs."""
    b = struct.pack("<QIH", largest, delay_us, len(ranges))
    for gap, length in ranges:
        b += struct.pack("<QQ", gap, length)
    return b


def sealed_fields(flags=0, frag=0, sub_sel=0, stream_sel=3, seq=0, subnet=1, origin=0, foff=0, count=1,
                  sub_raw=0, stream_raw=0, seq_raw=None, counter=None, compact=False):
    subnet |= 0x80 if compact else 0
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


# fuzz_mesh (see fuzz_mesh.cpp): byte 0 = kind << 2 | source.
A, B, S1, S2 = 0, 1, 2, 3
RAW, ROUTED, ROUTED_HS, ROUTED_M1, DIRECT_HS, DIRECT_M1, MSG2, PINGWAVE, KEEPALIVE, SEALED, GHOST = range(11)
# msg1 initiators (who bits 0-2), bit 3 no id in the payload, bit 4 the previous msg1 again.
G1, G2, G3, SELF, PEER_A, PEER_B, DIAL_C, DIAL_D = range(8)
NO_ID, AGAIN = 8, 16
# Routing-header selectors: dest (node, A, B, FAR1, FAR2, G1, C, unknown), src (natural, A, B, node, G1, C).
D_NODE, D_A, D_B, D_FAR1, D_FAR2, D_G1, D_C, D_UNKNOWN = range(8)
S_NATURAL, S_A, S_B, S_NODE, S_G1, S_C = range(6)


def address_block(family=4, ip=b"\x7f\0\0\1", port=7000):
    """wire/traversal.h: family, 16 address bytes, port (big-endian)."""
    return bytes([family]) + ip.ljust(16, b"\0") + struct.pack(">H", port)


def traversal(sub, body):
    """A 0x0D00 / 0x0D01 message: the subprotocol id also as the stream id, one event."""
    return sealed_fields(sub_sel=240, sub_raw=sub, stream_sel=240, stream_raw=sub) + frame(body)


REFLEX, RENDEZVOUS = 0x0D00, 0x0D01


def mesh(kind, src, body=b""):
    return bytes([kind << 2 | src]) + body


def rh(ttl=8, hop=0, flags=0, dest=D_NODE, src=S_NATURAL, raw=0):
    return bytes([ttl, hop, flags, dest, src]) + struct.pack("<Q", raw)


def edits(*pairs):
    return b"".join(struct.pack("<HB", at, x) for at, x in pairs)


def pingwave(seq=1, ttl=3, hop=0, health=0, origin=0):
    return (struct.pack("<Q", origin) + bytes(24) + struct.pack("<QBBQQIBB", seq, ttl, hop, 0, 0, 0, 0, health) +
            bytes(8))


def seeds():
    s = {"header_frames": [], "grant_ext": [], "node_receive": [], "handshake": [], "mesh": []}
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
    # compact headers: whole events, events cut at both ends (no fragment fields), a fragment,
    # a fire-and-forget packet
    hf.append(compact(0x30, 3, 300, 2, epoch=1, charge=100000) + two + b"\0" * 16)
    hf.append(compact(0x3C, 3, 301, 1, charge=100500) + frame(b"cut") + b"\0" * 16)
    hf.append(compact(0x33, 3, 302, 1, frag=struct.pack("<HH", 1, 7)) + frame(b"frag") + b"\0" * 16)
    hf.append(compact(0x20, 4, 303, 1, charge=100900) + frame(b"ff") + b"\0" * 16)  # fire-and-forget: charged
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
    nr.append(b"\1" + sealed_fields(sub_sel=200, stream_sel=210) + frame(ack_frame(3, [(0, 4)])))
    nr.append(b"\1" + sealed_fields(sub_sel=200, stream_sel=210) + frame(ack_frame(9, [(0, 2), (3, 2)], 500)))
    nr.append(b"\1" + sealed_fields(sub_sel=200, stream_sel=210) + frame(ack_frame(MAX, [(0, 1)])))
    nr.append(b"\1" + sealed_fields(flags=0x20, count=0))
    nr.append(b"\1" + sealed_fields(count=5) + two)
    nr.append(b"\1" + sealed_fields(seq_raw=MAX, flags=1, stream_sel=1) + frame(b"far"))
    nr.append(b"\1" + sealed_fields(counter=1) + two)
    # NAT traversal: a reflex probe and answers; rendezvous request, introductions, acks
    nr.append(b"\1" + traversal(REFLEX, b""))
    nr.append(b"\1" + traversal(REFLEX, address_block()))
    nr.append(b"\1" + traversal(REFLEX, address_block(6, b"\xfd\x77" + bytes(13) + b"\1")))
    nr.append(b"\1" + traversal(RENDEZVOUS, b"\1" + struct.pack(">Q", 0x1234) + address_block()))
    nr.append(b"\1" + traversal(RENDEZVOUS, b"\2" + struct.pack(">Q", 0x1234) + address_block() + bytes(8)))
    nr.append(b"\1" + traversal(RENDEZVOUS, b"\2" + struct.pack(">Q", 0x1234) +
                                 address_block(4, b"\xff" * 4) + bytes(8)))
    nr.append(b"\1" + traversal(RENDEZVOUS, b"\3" + struct.pack(">QQI", 0x1234, 0x5678, 0)))
    # path challenge and response (extension types 4 and 5)
    nr.append(b"\1" + sealed_fields(sub_sel=2, stream_sel=210) + frame(ext(4, 0, 0xC0FFEE)))
    nr.append(b"\1" + sealed_fields(sub_sel=2, stream_sel=210) + frame(ext(5, 0, 0xC0FFEE)))
    # compact headers: data, reliable, and an event cut across two packets (0x08 then 0x04)
    nr.append(b"\1" + sealed_fields(compact=True, count=2) + two)
    nr.append(b"\1" + sealed_fields(compact=True, flags=1, stream_sel=1, seq=1) + frame(b"rel"))
    nr.append(b"\1" + sealed_fields(compact=True, flags=1, frag=0x08, stream_sel=6, seq=0) + frame(b"C" * 40)[:30])
    nr.append(b"\1" + sealed_fields(compact=True, flags=1, frag=0x04, stream_sel=6, seq=1) + b"C" * 14)
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
    m = s["mesh"]
    net = hf[0]                                   # a (direct) Net data packet, 107 bytes
    m += [mesh(RAW, A, net), mesh(RAW, S1, net), mesh(RAW, B, b"RT" + bytes(16) + net), mesh(RAW, S2, b"PH" + bytes(12))]
    # Forwarding: between the neighbours, towards the learned routes, refused, no route, TTL.
    for src, dest in ((A, D_B), (B, D_A), (A, D_FAR2), (B, D_FAR1), (S1, D_A), (A, D_UNKNOWN), (A, D_A),
                      (B, D_G1), (S2, D_C), (A, D_NODE)):
        m.append(mesh(ROUTED, src, rh(dest=dest) + b"\0" + net))
    m.append(mesh(ROUTED, A, rh(ttl=0, dest=D_B) + b"\0" + net))
    m.append(mesh(ROUTED, B, rh(ttl=1, hop=15, dest=D_FAR1, src=S_NODE) + b"\0" + net))
    m.append(mesh(ROUTED, A, rh(dest=0xFF, raw=2**64 - 2) + b"\0" + net))
    m.append(mesh(ROUTED, A, rh(dest=D_B) + b"\0" + bytes(8192)))  # the largest forwarded
    m.append(mesh(ROUTED, A, rh(dest=D_B) + b"\0" + bytes(8193)))  # the heap overflow of handle_routed
    m.append(mesh(ROUTED, B, rh(dest=D_FAR1) + bytes([200]) + net))  # padded to 12800 bytes
    m.append(mesh(ROUTED, S1, rh(dest=D_A) + bytes([130]) + net))
    # Routed handshakes: garbage msg1 / msg2 shapes; valid msg1 from PSK holders; the node's dials.
    m.append(mesh(ROUTED_HS, S2, rh(ttl=16) + b"\0" + bytes(56)))
    m.append(mesh(ROUTED_HS, S2, rh(ttl=16, hop=1, src=S_C) + b"\0" + hashlib.sha256(b"msg2").digest() + bytes(16)))
    m.append(mesh(ROUTED_HS, A, rh(ttl=16, dest=D_B) + b"\0" + bytes(48)))
    m.append(mesh(ROUTED_HS, S1, rh(ttl=16) + b"\6" + bytes(48)))  # a Noise message above 256 bytes
    for who in range(8):
        m.append(mesh(ROUTED_M1, S1 if who != 1 else S2, rh(ttl=16) + bytes([who])))
    m.append(mesh(ROUTED_M1, A, rh(ttl=16, hop=2) + bytes([0])))   # through relays: a routed session
    m.append(mesh(ROUTED_M1, B, rh(ttl=16, dest=D_A) + bytes([1])))  # forwarded, not ours
    m.append(mesh(ROUTED_M1, S1, rh(ttl=16, src=S_A) + bytes([0])))  # src_id is not the initiator's
    m.append(mesh(ROUTED_M1, S1, rh(ttl=16) + bytes([NO_ID])))      # no initiator id in the payload
    m.append(mesh(ROUTED_M1, S1, rh(ttl=16) + bytes([AGAIN])))      # the previous msg1 again (replay)
    m.append(mesh(ROUTED_M1, A, rh(ttl=16) + bytes([PEER_A])))      # naming A from A's address
    m.append(mesh(ROUTED_M1, S1, rh(ttl=16) + bytes([0]) + edits((100, 1))))
    m.append(mesh(ROUTED_M1, S1, rh(ttl=16) + bytes([0]) + edits((0xFFFF, 120))))
    m.append(mesh(DIRECT_HS, S1, bytes(48)))
    m.append(mesh(DIRECT_HS, A, hashlib.sha256(b"direct").digest() + bytes(24)))
    for who, src in ((G1, S1), (G2, S2), (G3, S1), (SELF, A), (G1, B), (PEER_B, S2), (DIAL_D, S1), (DIAL_C, S2)):
        m.append(mesh(DIRECT_M1, src, bytes([who])))
    m.append(mesh(DIRECT_M1, S1, bytes([0]) + edits((70, 0x80))))
    m.append(mesh(DIRECT_M1, S2, bytes([AGAIN | G2])))                # the previous msg1 again (replay)
    m.append(mesh(MSG2, S1, b"\0" + rh()))                             # the direct dial, from D's address
    m.append(mesh(MSG2, A, b"\0" + rh()))                              # from elsewhere
    m.append(mesh(MSG2, S2, b"\1" + rh(ttl=16, hop=1)))                # the routed dial, via a relay
    m.append(mesh(MSG2, A, b"\1" + rh(ttl=16)))
    m.append(mesh(MSG2, S1, b"\0" + rh() + edits((80, 4))))
    # Raw pingwaves: from the 0.23 neighbour (accepted), the netmesh one and strangers (not).
    for origin in range(8):
        m.append(mesh(PINGWAVE, B, bytes([origin]) + pingwave(seq=2 + origin)))
    m.append(mesh(PINGWAVE, B, bytes([0xFF]) + pingwave(origin=0x123456789, ttl=9, hop=3)))
    m.append(mesh(PINGWAVE, B, bytes([0xFF]) + pingwave(origin=0x4E45, seq=5)))
    m.append(mesh(PINGWAVE, B, bytes([239]) + pingwave(origin=0x1000, seq=9)))  # 64 new origins
    m.append(mesh(PINGWAVE, S1, bytes([226]) + pingwave(origin=0x2000, seq=9)))
    m.append(mesh(PINGWAVE, B, bytes([2]) + pingwave(seq=2**64 - 1, hop=15)))
    m.append(mesh(PINGWAVE, B, bytes([6]) + pingwave(health=4)))
    m.append(mesh(PINGWAVE, A, bytes([6]) + pingwave()))
    m.append(mesh(PINGWAVE, S1, bytes([6]) + pingwave()))
    m.append(mesh(KEEPALIVE, S2, bytes(12)))
    m.append(mesh(KEEPALIVE, A))
    # Sealed: how = bit 0 session (A, B), bit 1 behind a routing header; data always goes to B.
    pw_frame = frame(pingwave(origin=0x5151515151515151, seq=3))
    for how, src, fields, plain in (
            (1, B, sealed_fields(count=2), two),
            (1, S1, sealed_fields(flags=1, stream_sel=1), frame(b"rel")),
            (3, S2, sealed_fields(count=2), two),                                          # routed data
            (0, A, sealed_fields(sub_sel=3, stream_sel=210), pw_frame),                # sealed pingwave
            (0, S1, sealed_fields(sub_sel=3, stream_sel=210, count=2), pw_frame + frame(pingwave(origin=7))),
            (2, A, sealed_fields(sub_sel=3, stream_sel=210), pw_frame),                # routed: ignored
            (1, B, sealed_fields(sub_sel=3, stream_sel=210), pw_frame),                # B has no kAuthPingwaves
            (0, A, sealed_fields(sub_sel=1, stream_sel=210), frame(grant(HELLO, 3))),  # A takes back kAuthPingwaves: kept
            (1, B, sealed_fields(sub_sel=1, stream_sel=210), frame(grant(HELLO, 15))), # B: kRecovery masked
            (0, A, sealed_fields(sub_sel=2, stream_sel=210, count=2), frame(ext(1, 1, 1)) + frame(ext(3, 2, 0))),
            (1, B, sealed_fields(sub_sel=2, stream_sel=210), frame(ext(2, 3, 0, 3))),
            (0, S2, sealed_fields(flags=0x20, count=0), b""),                          # heartbeat
            (2, S2, sealed_fields(flags=0x20, count=0), b""),                          # routed heartbeat
            (1, B, sealed_fields(count=2, counter=1), two),                                   # a replayed counter
            (0, A, traversal(REFLEX, b"")[:36], frame(b"")),                                 # reflex probe
            (1, S1, traversal(REFLEX, b"")[:36], frame(b"")),                                # ... from elsewhere
            (0, A, traversal(RENDEZVOUS, b"")[:36],
             frame(b"\2" + struct.pack(">Q", 0x1234) + address_block() + bytes(8))),        # introduction
            (1, B, traversal(RENDEZVOUS, b"")[:36],
             frame(b"\1" + struct.pack(">Q", 0x1234) + address_block())),                   # punch request
            (0, A, sealed_fields(sub_sel=2, stream_sel=210), frame(ext(4, 0, 0xC0FFEE))),   # path challenge
            (0, S2, sealed_fields(sub_sel=2, stream_sel=210), frame(ext(5, 0, 0xC0FFEE))),  # path response
            (0, A, sealed_fields(compact=True, count=2), two)):                               # compact header
        m.append(mesh(SEALED, src, bytes([how]) + rh(hop=1 if how & 2 else 0) + fields + plain))
    # A ghost (G1's session from the epoch start, or one an input made): confirm it with a
    # heartbeat or a hello, then use it.
    for how, src, fields, plain in (
            (0, S1, sealed_fields(flags=0x20, count=0), b""),
            (0, S2, sealed_fields(sub_sel=1, stream_sel=210), frame(grant(HELLO, 15 | 1 << 63))),
            (2, A, sealed_fields(flags=0x20, count=0), b""),
            (4, S1, sealed_fields(count=2), two),
            (0, S1, sealed_fields(sub_sel=3, stream_sel=210), pw_frame)):
        m.append(mesh(GHOST, src, bytes([how]) + rh(hop=1 if how & 2 else 0) + fields + plain))
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
