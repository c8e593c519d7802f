#!/usr/bin/env python3
"""A two-port Ethernet bridge that delays every frame from its second port by a fixed
time: the 20 ms netem delay of tcp_health_netns.sh on a kernel without sch_netem.

Usage: delay_bridge.py PORT_A PORT_B SECONDS   (run in the namespace holding both ports)
Frames from PORT_A go out PORT_B at once; frames from PORT_B go out PORT_A SECONDS later.
veth leaves TCP checksums to the receiver (checksum offload), so a frame read here still
lacks its checksum: it is computed before the frame is sent on.
"""
import heapq
import select
import socket
import sys
import time

ETH_P_ALL = 3


def tcp_checksum_filled(frame):
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return frame
    ihl = (frame[14] & 15) * 4
    total = int.from_bytes(frame[16:18], "big")
    segment = bytearray(frame[14 + ihl:14 + total])
    if len(segment) < 20:
        return frame
    segment[16:18] = b"\0\0"
    data = frame[26:34] + bytes([0, 6]) + len(segment).to_bytes(2, "big") + bytes(segment)
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    segment[16:18] = (~s & 0xFFFF).to_bytes(2, "big")
    return frame[:14 + ihl] + bytes(segment) + frame[14 + total:]


def main():
    name_a, name_b, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    ports = {}
    for name in (name_a, name_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        ports[name] = s
    a, b = ports[name_a], ports[name_b]
    queue, order = [], 0
    print("ready", flush=True)
    while True:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 1.0
        readable, _, _ = select.select([a, b], [], [], timeout)
        for s in readable:
            frame, address = s.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue
            frame = tcp_checksum_filled(frame)
            if s is a:
                b.send(frame)
            else:
                heapq.heappush(queue, (time.monotonic() + delay, order, frame))
                order += 1
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            a.send(heapq.heappop(queue)[2])


if __name__ == "__main__":
    main()
