#!/usr/bin/env python3
"""Writes a flood capture: every packet from a different random peer, the way a scan
or a spoofed-source flood looks. Ethernet/IPv4 UDP from peers drawn from 100.64.0.0/10
(4 million addresses) to 10.0.0.5, random ports, 60-byte frames. Used to show the
series bound holds: memory stays flat once it is reached, and evictions are counted.

With --from-port, the frames come from that port of the peers to port 40000; with
--dns-answers, each carries a DNS response nobody asked for, the 85-byte frame of
scripts/lib/trafgen.sh's dns_answer_trafgen (a.example A 192.0.2.1, TTL 300, a random
ID), from port 53 unless --from-port says otherwise: the DNS path's cost in replay,
against the same frames from another port.

Usage: make_flood_pcap.py [--packets N] [--peers N] [--seed N] [--from-port P] [--dns-answers] [OUTPUT]
       (defaults: 2,000,000 packets, 1,000,000 distinct peers, /tmp/planet-flood.pcap)
"""
import argparse
import random
import struct

# The DNS response after its ID: flags (QR, RD, RA), one question, one answer; the
# answer's owner points at the question.
DNS_ANSWER = (struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + b"\x01a\x07example\x00" + struct.pack("!HH", 1, 1)
              + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 1]))


def checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=2_000_000)
    parser.add_argument("--peers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--from-port", type=int, help="the peers' UDP port; the frames go to port 40000")
    parser.add_argument("--dns-answers", action="store_true", help="DNS responses nobody asked for (from port 53 by default)")
    parser.add_argument("output", nargs="?", default="/tmp/planet-flood.pcap")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = 0x64400000  # 100.64.0.0
    peers = rng.sample(range(1 << 22), args.peers)
    eth = bytes.fromhex("020000000005020000000001") + b"\x08\x00"
    local = bytes([10, 0, 0, 5])
    record = struct.Struct("<IIII")
    from_port = args.from_port if args.from_port is not None else (53 if args.dns_answers else None)
    with open(args.output, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n in range(args.packets):
            # Each peer once in order, then again: the first pass alone exceeds any bound.
            peer = base + peers[n % args.peers]
            payload = struct.pack("!H", rng.randrange(1 << 16)) + DNS_ANSWER if args.dns_answers else b"\0" * 18
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), n & 0xFFFF, 0, 64, 17, 0,
                             peer.to_bytes(4, "big"), local)
            if args.dns_answers:
                ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
            if from_port is None:
                udp = struct.pack("!HHHH", rng.randrange(1024, 65536), 53, 8 + len(payload), 0)
            else:
                udp = struct.pack("!HHHH", from_port, 40000, 8 + len(payload), 0)
            frame = eth + ip + udp + payload
            out.write(record.pack(n // 1_000_000, n % 1_000_000, len(frame), len(frame)))
            out.write(frame)
    print(f"{args.output}: {args.packets} packets, {args.peers} distinct peers")


if __name__ == "__main__":
    main()
