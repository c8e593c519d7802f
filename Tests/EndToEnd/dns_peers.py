#!/usr/bin/env python3
"""Peers named by DNS for the end-to-end tests: servers on answered addresses, and a
client that reaches them through the system resolver.

  dns_peers.py serve ADDRESS...
      TCP servers on port 8080 of each ADDRESS (IPv4 or IPv6): 1000 bytes back for each
      message, on connections that stay open.
  dns_peers.py talk TARGET...
      resolves each name (or takes each address) with the system resolver once, connects
      to every address answered and sends a message every 0.2 s on each connection (so the
      socket table shows them and the series keep growing); a broken connection is
      resolved and opened again. Runs until killed.
"""
import socket
import sys
import threading
import time


def answer(connection):
    with connection:
        while connection.recv(100):
            connection.sendall(b"x" * 1000)


def serve(address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((address, 8080))
    s.listen()
    while True:
        connection, _ = s.accept()
        threading.Thread(target=answer, args=(connection,), daemon=True).start()


def connect(target):
    out = []
    for family, _, _, _, address in socket.getaddrinfo(target, 8080, proto=socket.IPPROTO_TCP):
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(address[:2])
            out.append(s)
        except OSError:
            pass
    return out


def talk(targets):
    connections = {target: [] for target in targets}
    while True:
        for target, sockets in connections.items():
            try:
                if not sockets:
                    sockets.extend(connect(target))
                for s in sockets:
                    s.sendall(b"hello")
                    s.recv(2000)
            except OSError:
                for s in sockets:
                    s.close()
                sockets.clear()
        time.sleep(0.2)


if __name__ == "__main__":
    mode, targets = sys.argv[1], sys.argv[2:]
    if mode == "serve":
        for address in targets:
            threading.Thread(target=serve, args=(address,), daemon=True).start()
        threading.Event().wait()
    elif mode == "talk":
        talk(targets)
    else:
        sys.exit(__doc__)
