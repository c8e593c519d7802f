#!/usr/bin/env python3
"""Slow /metrics readers for the end-to-end tests, bounded in time.

  slow_readers.py HOST PORT CLIENTS SECONDS PID

Opens CLIENTS connections; each asks for a plain /metrics (no gzip) a quarter of a second
after the previous one got its first bytes (so each scrape gets a rendering of its own:
plain renderings are shared only while in progress), reads 64 KiB, then 16 KiB
every 2 s (often enough for the server's write timeout, far too slowly to finish). Samples
the resident memory of PID every 0.2 s meanwhile. After SECONDS, reads every response to
its end as fast as it comes (30 s at most) and prints one JSON line: the peak resident
memory while they read slowly, how many responses the server closed before their end (no
terminating chunk), how many ended whole, and how many are still open.
"""
import json
import select
import socket
import sys
import time


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    host, port, clients, seconds, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    start = time.monotonic()
    deadline = start + seconds
    peak = rss_bytes(pid)
    open_ = {}
    received = {}
    cut = whole = 0

    def sample():
        nonlocal peak
        peak = max(peak, rss_bytes(pid))

    def read_some(connection, size):
        nonlocal cut, whole
        try:
            data = connection.recv(size)
        except OSError:
            data = b""
        if data:
            received[connection] += data[-16:]
            received[connection] = received[connection][-16:]
            if not received[connection].endswith(b"0\r\n\r\n"):
                return True
        # A chunked response ends with an empty chunk; without it the server cut it.
        if received[connection].endswith(b"0\r\n\r\n"):
            whole += 1
        else:
            cut += 1
        open_.pop(connection.fileno(), None)
        connection.close()
        return False

    for _ in range(clients):
        if time.monotonic() >= deadline:
            break
        connection = socket.create_connection((host, port), timeout=10)
        # Small, so the server soon has to wait for the client; above the loopback MSS (32 KiB),
        # so that the window is not held shut until the persist timer fires.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        connection.sendall(f"GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        open_[connection.fileno()] = connection
        received[connection] = b""
        # Its first bytes: the server has started its own rendering.
        select.select([connection], [], [], 10)
        read_some(connection, 65536)
        sample()
        time.sleep(0.25)
    next_read = time.monotonic()
    while open_ and time.monotonic() < deadline:
        if time.monotonic() >= next_read:
            next_read += 2
            for connection in list(open_.values()):
                read_some(connection, 16384)
        sample()
        time.sleep(0.2)
    drain_deadline = time.monotonic() + 30
    while open_ and time.monotonic() < drain_deadline:
        ready, _, _ = select.select(list(open_.values()), [], [], 0.5)
        for connection in ready:
            read_some(connection, 1 << 20)
    print(json.dumps({"peak_rss": peak, "cut": cut, "whole": whole, "open": len(open_)}), flush=True)
    for connection in open_.values():
        connection.close()


if __name__ == "__main__":
    main()
