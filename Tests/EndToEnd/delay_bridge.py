#!/usr/bin/env python3
"""A two-port Ethernet bridge that delays every frame from its second port by a fixed
time: the 20 ms netem delay of tcp_health_netns.sh on a kernel without sch_netem.

Usage: delay_bridge.py PORT_A PORT_B SECONDS [--each-way] [--drop-every N]
(run in the namespace holding both ports)
Frames from PORT_B go out PORT_A SECONDS later; frames from PORT_A go out PORT_B at once,
or SECONDS later too with --each-way. With --drop-every N, every Nth IPv4 TCP frame from
PORT_A that carries data is dropped (counted; the count is printed as "dropped K" on
SIGTERM and written to the file named by --count-file after each drop).
veth leaves TCP checksums to the receiver (checksum offload), so a frame read here still
lacks its checksum: it is computed before the frame is sent on.
"""
import argparse
import collections
import select
import signal
import socket
import time

ETH_P_ALL = 3
SO_RCVBUFFORCE = 33


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


def carries_tcp_data(frame):
    """An IPv4 TCP frame with a payload."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return False
    ihl = (frame[14] & 15) * 4
    total = int.from_bytes(frame[16:18], "big")
    if len(frame) < 14 + ihl + 13:
        return False
    return total - ihl - (frame[14 + ihl + 12] >> 4) * 4 > 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port_a")
    parser.add_argument("port_b")
    parser.add_argument("seconds", type=float)
    parser.add_argument("--each-way", action="store_true")
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--count-file")
    args = parser.parse_args()
    name_a, name_b, delay = args.port_a, args.port_b, args.seconds
    data_frames = dropped = 0
    signal.signal(signal.SIGTERM, lambda *_: (print(f"dropped {dropped}", flush=True), exit(0)))
    ports = {}
    for name in (name_a, name_b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # Room for the bursts a bulk transfer sends while Python is busy: a frame the
        # kernel drops here would be a loss nobody asked for.
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        s.bind((name, 0))
        ports[name] = s
    a, b = ports[name_a], ports[name_b]
    # One queue per direction, each in arrival order: a fixed delay keeps it sorted.
    queues = {a: collections.deque(), b: collections.deque()}
    print("ready", flush=True)
    while True:
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - time.monotonic()) if due else 1.0
        readable, _, _ = select.select([a, b], [], [], timeout)
        for s in readable:
            frame, address = s.recvfrom(65535)
            if address[2] == socket.PACKET_OUTGOING:
                continue
            if s is a and args.drop_every and carries_tcp_data(frame):
                data_frames += 1
                if data_frames % args.drop_every == 0:
                    dropped += 1
                    if args.count_file:
                        with open(args.count_file, "w") as f:
                            f.write(f"{dropped}\n")
                    continue
            frame = tcp_checksum_filled(frame)
            if s is a and not args.each_way:
                b.send(frame)
            else:
                queues[b if s is a else a].append((time.monotonic() + delay, frame))
        now = time.monotonic()
        for out, queue in queues.items():
            while queue and queue[0][0] <= now:
                out.send(queue.popleft()[1])


if __name__ == "__main__":
    main()
