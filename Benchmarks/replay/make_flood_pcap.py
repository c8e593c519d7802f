#!/usr/bin/env python3
"""Writes a flood capture: every packet from a different random peer, the way a scan
or a spoofed-source flood looks. Ethernet/IPv4 UDP from peers drawn from 100.64.0.0/10
(4 million addresses) to 10.0.0.5, random ports, 60-byte frames. Used to show the
series bound holds: memory stays flat once it is reached, and evictions are counted.

Usage: make_flood_pcap.py [--packets N] [--peers N] [--seed N] [OUTPUT]
       (defaults: 2,000,000 packets, 1,000,000 distinct peers, /tmp/planet-flood.pcap)
"""
import argparse
import random
import struct


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=2_000_000)
    parser.add_argument("--peers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("output", nargs="?", default="/tmp/planet-flood.pcap")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = 0x64400000  # 100.64.0.0
    peers = rng.sample(range(1 << 22), args.peers)
    eth = bytes.fromhex("020000000005020000000001") + b"\x08\x00"
    local = bytes([10, 0, 0, 5])
    record = struct.Struct("<IIII")
    with open(args.output, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for n in range(args.packets):
            # Each peer once in order, then again: the first pass alone exceeds any bound.
            peer = base + peers[n % args.peers]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, n & 0xFFFF, 0, 64, 17, 0, peer.to_bytes(4, "big"), local)
            udp = struct.pack("!HHHH", rng.randrange(1024, 65536), 53, 26, 0)
            frame = eth + ip + udp + b"\0" * 18
            out.write(record.pack(n // 1_000_000, n % 1_000_000, len(frame), len(frame)))
            out.write(frame)
    print(f"{args.output}: {args.packets} packets, {args.peers} distinct peers")


if __name__ == "__main__":
    main()
