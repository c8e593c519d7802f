#!/usr/bin/env python3
"""Writes a fuzz target's seed corpus.

Usage: make_seeds.py TARGET DIR

FuzzPacketDecoder: one valid frame per link type and header case, each prefixed with
the target's 3-byte header (link type index, wire length offset). FuzzDNSResponse: the
frames of the DNS fixtures behind their link type byte, their DNS messages behind 0, and
the messages cut short behind 1. The parser targets
start from the inputs under Fixtures/, prefixed with the byte that picks their format
or protocol where the target reads one.
"""
import struct
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "Fixtures"

# Indices into LinkType.allCases, in declaration order.
ETHERNET, BSD_LOOPBACK, RAW_IP, RAW_IPV4, RAW_IPV6, SLL, SLL2, NFLOG = range(8)


def tcp(sport, dport, flags):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 0x50, flags, 65535, 0, 0)


def udp(sport, dport, payload=0):
    return struct.pack("!HHHH", sport, dport, 8 + payload, 0) + bytes(payload)


def ipv4(proto, payload, options=0, frag=0, total=None):
    hlen = 20 + 4 * options
    total = hlen + len(payload) if total is None else total
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | hlen // 4, 0, total, 0x1234, frag, 64, proto, 0,
                         bytes([10, 0, 0, 1]), bytes([192, 168, 1, 2]))
    return header + bytes([1]) * (4 * options) + payload


def ipv6(nh, payload, plen=None):
    plen = len(payload) if plen is None else plen
    src = bytes([0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1])
    dst = bytes([0x20, 0x01, 0x0D, 0xB8, 0, 1] + [0] * 9 + [2])
    return struct.pack("!IHBB", 0x60000000, plen, nh, 64) + src + dst + payload


def ext(nh, units=0):
    return bytes([nh, units]) + bytes(6 + 8 * units)


def ah(nh):
    return bytes([nh, 2, 0, 0]) + struct.pack("!II", 0x100, 1) + bytes(4)


def frag(nh, offset, more, ident):
    return struct.pack("!BBHI", nh, 0, offset << 3 | more, ident)


def ether(ethertype, payload, tags=()):
    types = list(tags) + [ethertype]
    out = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + struct.pack("!H", types[0])
    for i in range(len(tags)):
        out += struct.pack("!HH", 100 + i, types[i + 1])
    return out + payload


def sll(proto, payload):
    return struct.pack("!HHH8sH", 0, 1, 6, bytes([2, 0, 0, 0, 0, 1, 0, 0]), proto) + payload


def sll2(proto, payload):
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0, 6, bytes([2, 0, 0, 0, 0, 1, 0, 0])) + payload


def nflog(family, payload):
    """A netfilter log frame: header, a prefix attribute, the packet attribute (little-endian)."""
    def tlv(kind, value):
        body = struct.pack("<HH", 4 + len(value), kind) + value
        return body + bytes(-len(body) % 4)
    return struct.pack("!BBH", family, 0, 5) + tlv(10, b"pe\0") + tlv(9, payload)


def pcap_frames(path):
    """(link type, frame) of every record of a pcap file (either byte order, no pcapng)."""
    data = path.read_bytes()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack_from(order + "I", data, 20)[0]
    at, frames = 24, []
    while at + 16 <= len(data):
        captured = struct.unpack_from(order + "I", data, at + 8)[0]
        frames.append((link, data[at + 16:at + 16 + captured]))
        at += 16 + captured
    return frames


def dns_seeds(out):
    """The frames of the DNS fixtures, each behind the byte of its link type, the DNS
    messages of the UDP ones behind byte 0, and those messages cut short behind byte 1."""
    index = 0
    for path in sorted(FIXTURES.glob("pcap/dns*.pcap")):
        for link, frame in pcap_frames(path):
            if link != 1:
                continue
            (out / f"seed-frame-{index:03d}").write_bytes(bytes([ETHERNET + 8]) + frame)  # 8 link types: 8 % 8 = Ethernet
            ihl = (frame[14] & 0x0F) * 4 if len(frame) > 14 and frame[14] >> 4 == 4 else None
            if ihl and len(frame) > 14 + ihl + 8 and frame[14 + 9] == 17:
                message = frame[14 + ihl + 8:]
                (out / f"seed-message-{index:03d}").write_bytes(b"\0" + message)
                # The same message as a capture cut short keeps it: behind byte 1.
                (out / f"seed-cut-{index:03d}").write_bytes(b"\1" + message[:max(12, len(message) - 7)])
            index += 1


def decoder_seeds(out):
    seg = tcp(43210, 443, 0x12)
    v4 = ipv4(6, seg)
    chain = ipv6(0, ext(43, 1) + ext(60) + ext(51) + ah(44) + frag(17, 0, 1, 7) + udp(53, 40000, 16))
    seeds = [
        (ETHERNET, ether(0x0800, v4 + bytes(6))),
        (ETHERNET, ether(0x86DD, chain, tags=(0x88A8, 0x8100))),
        (ETHERNET, ether(0x0800, ipv4(17, udp(1, 2), options=3), tags=(0x9100,))),
        (ETHERNET, ether(0x0800, ipv4(6, seg, frag=0x2000))),
        (ETHERNET, ether(0x0800, ipv4(6, bytes(8), frag=185))),
        (ETHERNET, ether(0x86DD, ipv6(44, frag(6, 100, 0, 0xDEADBEEF) + bytes(4)))),
        (ETHERNET, ether(0x0806, bytes(28))),
        (SLL, sll(0x0800, v4)),
        (SLL, sll(0x8100, struct.pack("!HH", 5, 0x86DD) + ipv6(6, seg))),
        (SLL2, sll2(0x86DD, ipv6(50, bytes([0, 0, 1, 0, 0, 0, 0, 1])))),
        (BSD_LOOPBACK, struct.pack("<I", 2) + v4),
        (BSD_LOOPBACK, struct.pack(">I", 30) + ipv6(58, bytes([128, 0, 0, 0]))),
        (RAW_IP, ipv6(60, ext(6, 2) + seg)),
        (RAW_IP, ipv4(6, seg, total=0)),
        (RAW_IPV4, ipv4(1, bytes([8, 0, 0, 0, 0, 1, 0, 1]))),
        (RAW_IPV6, ipv6(59, b"", plen=0)),
        (NFLOG, nflog(2, v4)),
        (NFLOG, nflog(10, ipv6(6, seg))),
    ]
    for index, (link, frame) in enumerate(seeds):
        # Wire length offset 256 = wire length equal to the captured length.
        (out / f"seed-{index:02d}").write_bytes(bytes([link, 1, 0]) + frame)


def fixture_seeds(out, files, prefixes=(b"",)):
    """Each fixture file, once per prefix byte string."""
    for path in sorted(files):
        for prefix in prefixes:
            name = f"seed-{path.parent.name}-{path.name}-{prefix.hex() or 'plain'}"
            (out / name).write_bytes(prefix + path.read_bytes())


def main():
    target, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if target == "FuzzPacketDecoder":
        decoder_seeds(out)
    elif target == "FuzzDNSResponse":
        dns_seeds(out)
    elif target == "FuzzExposition":
        fixture_seeds(out, [*FIXTURES.glob("migration/*.prom"), *FIXTURES.glob("migration/*.html"),
                            FIXTURES / "federator/metrics.prom"])
    elif target == "FuzzInventory":
        # Byte 0 (even) reads arrayjson, byte 1 (odd) ndjson: every fixture in both.
        fixture_seeds(out, [p for p in FIXTURES.glob("inventory/*") if p.name != "README.md"], (b"\0", b"\1"))
    elif target == "FuzzSockDiag":
        fixture_seeds(out, FIXTURES.glob("sockets/sockdiag-*.bin"), (b"\0", b"\1"))
    elif target == "FuzzProcNet":
        fixture_seeds(out, FIXTURES.glob("sockets/proc/net/tcp*"), (b"\0",))
        fixture_seeds(out, FIXTURES.glob("sockets/proc/net/udp*"), (b"\1",))
    elif target == "FuzzPrometheusMatrix":
        fixture_seeds(out, FIXTURES.glob("federator/*.json"))
    else:
        sys.exit(f"make_seeds.py: unknown target {target}")


if __name__ == "__main__":
    main()
