#!/usr/bin/env python3
"""Writes the replay benchmark capture: Ethernet/IPv4 TCP and UDP between a local /24
(10.0.0.0/24) and 50,000 remote peers (198.18.0.0/15, the benchmarking range).

The mix is shaped like a server's traffic: about 3 in 4 packets TCP, 1 in 4 UDP;
sizes from bare ACKs to full 1500-byte frames (IMIX-like); both directions; a share of
the TCP flows open with a handshake so the server-endpoint table is exercised. Frames
are stored cut at the snap length (default 128 bytes, as a header-only capture does);
the IP total length keeps the full size. Deterministic for given arguments.

Usage: make_bench_pcap.py [--packets N] [--peers N] [--snaplen N] [OUTPUT]
       (defaults: 5,000,000 packets, 50,000 peers, 128, /tmp/planet-bench.pcap)
"""

import argparse
import struct
import sys

SERVICES_TCP = (443, 80, 5432, 6379, 22, 8080, 3306, 9092)
SERVICES_UDP = (53, 123, 514, 8125)
# (IP total length, weight): ACK-sized, small requests, mid, full MTU.
SIZES = ((40, 35), (52, 15), (120, 8), (576, 12), (1000, 5), (1500, 25))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=5_000_000)
    parser.add_argument("--peers", type=int, default=50_000)
    parser.add_argument("--snaplen", type=int, default=128)
    parser.add_argument("output", nargs="?", default="/tmp/planet-bench.pcap")
    args = parser.parse_args()
    if not 1 <= args.peers <= 131072:
        sys.exit("--peers must be between 1 and 131072 (198.18.0.0/15)")

    size_table = [size for size, weight in SIZES for _ in range(weight)]
    mac_local, mac_router = bytes.fromhex("020000000005"), bytes.fromhex("020000000001")
    eth_out = mac_router + mac_local + b"\x08\x00"
    eth_in = mac_local + mac_router + b"\x08\x00"
    ip_header = struct.Struct("!BBHHHBBH4s4s")
    tcp_header = struct.Struct("!HHIIBBHHH")
    udp_header = struct.Struct("!HHHH")
    record = struct.Struct("<IIII")
    pad = bytes(2000)

    state = 0x2545F491
    out = open(args.output, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, args.snaplen, 1))
    chunk = []
    base = 1_700_000_000
    for n in range(args.packets):
        # xorshift32: cheap and deterministic.
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        r = state
        peer_index = r % args.peers
        peer = struct.pack("!I", 0xC6120000 + peer_index)
        local = struct.pack("!I", 0x0A000000 + 1 + peer_index % 254)
        udp = peer_index % 4 == 0
        egress = (r >> 20) & 1
        client_port = 32768 + (peer_index * 7 + (r >> 24) % 4) % 28232
        if udp:
            service = SERVICES_UDP[peer_index % len(SERVICES_UDP)]
            size = 28 + ((r >> 8) & 0x1FF)
            # Upstream for even peers (local client), downstream for odd ones.
            local_port, remote_port = (client_port, service) if peer_index & 2 else (service, client_port)
        else:
            service = SERVICES_TCP[peer_index % len(SERVICES_TCP)]
            size = size_table[(r >> 8) % 100]
            local_port, remote_port = (client_port, service) if peer_index & 1 else (service, client_port)
        src, dst = (local, peer) if egress else (peer, local)
        sport, dport = (local_port, remote_port) if egress else (remote_port, local_port)
        ip = ip_header.pack(0x45, 0, size, n & 0xFFFF, 0x4000, 64, 17 if udp else 6, 0, src, dst)
        if udp:
            l4 = udp_header.pack(sport, dport, size - 20, 0)
        else:
            flags = 0x10
            if (r >> 12) % 64 == 0 and size == 40:
                # A handshake packet: SYN from the client, SYN+ACK from the server.
                client_sends = (sport == client_port)
                flags = 0x02 if client_sends else 0x12
            l4 = tcp_header.pack(sport, dport, r, n, 0x50, flags, 64240, 0, 0)
        frame = (eth_out if egress else eth_in) + ip + l4
        wire = 14 + size
        captured = min(wire, args.snaplen)
        if captured > len(frame):
            frame += pad[:captured - len(frame)]
        else:
            frame = frame[:captured]
        micros = n * 2
        chunk.append(record.pack(base + micros // 1_000_000, micros % 1_000_000, captured, wire))
        chunk.append(frame)
        if len(chunk) >= 131072:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.close()
    print(f"{args.output}: {args.packets} packets, {args.peers} peers", file=sys.stderr)


if __name__ == "__main__":
    main()
