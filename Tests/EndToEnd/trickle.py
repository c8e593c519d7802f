#!/usr/bin/env python3
"""Steady TCP traffic between network namespaces for the end-to-end tests, bounded in time.

  trickle.py server NAME ADDRESS PORT SECONDS
      a process named NAME (its comm, what process_name shows) that accepts connections
      on ADDRESS:PORT and reads and discards what they send, for SECONDS seconds.
  trickle.py client NAME SOURCE DESTINATION PORT BYTES PER_SECOND SECONDS
      a process named NAME that connects from SOURCE to DESTINATION:PORT and sends BYTES
      bytes PER_SECOND times a second (paced by the clock, not by sleeps that add up)
      for SECONDS seconds, then closes.
"""
import ctypes
import socket
import sys
import threading
import time


def name_process(name):
    ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME


def serve(address, port, seconds):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen()
    deadline = time.monotonic() + seconds
    listener.settimeout(1)

    def drain(connection):
        connection.settimeout(max(1, deadline - time.monotonic()))
        try:
            while connection.recv(65536):
                pass
        except OSError:
            pass

    while time.monotonic() < deadline:
        try:
            connection, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=drain, args=(connection,), daemon=True).start()


def send(source, destination, port, size, per_second, seconds):
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.bind((source, 0))
    connection.settimeout(10)
    connection.connect((destination, port))
    payload = b"t" * size
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        connection.sendall(payload)
        sent += 1
        pause = start + sent / per_second - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    connection.close()


def main():
    role, name = sys.argv[1], sys.argv[2]
    name_process(name)
    if role == "server":
        serve(sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
    elif role == "client":
        send(sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]))
    else:
        sys.exit(f"trickle.py: unknown role {role}")


if __name__ == "__main__":
    main()
