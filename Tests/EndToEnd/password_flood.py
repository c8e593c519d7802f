#!/usr/bin/env python3
"""A wrong-password flood for the end-to-end tests, bounded in time.

  password_flood.py URL USER SECONDS PROGRESS SOURCE...

One thread per SOURCE address sends requests to URL with USER and a wrong password, on a
kept-alive connection (a new one when the server closes it), as fast as they are
answered, for SECONDS or until the file PROGRESS.stop exists. Every second PROGRESS is rewritten with one JSON object: the
statuses seen so far by source, so a test can wait until every source has failed once.
At the end prints the totals by status as one JSON line.
"""
import base64
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def flood(url, user, source, deadline, stop, counts, lock):
    parts = urllib.parse.urlsplit(url)
    token = base64.b64encode(f"{user}:not-the-password-{source}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    connection = None
    while time.monotonic() < deadline and not stop.is_set():
        try:
            if connection is None:
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5,
                                                        source_address=(source, 0))
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            response.read()
            status = str(response.status)
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException):
            status = "error"
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.05)
        with lock:
            by_status = counts.setdefault(source, {})
            by_status[status] = by_status.get(status, 0) + 1


def main():
    url, user, seconds, progress = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    sources = sys.argv[5:]
    deadline = time.monotonic() + seconds
    counts, lock, stop = {}, threading.Lock(), threading.Event()
    threads = [threading.Thread(target=flood, args=(url, user, source, deadline, stop, counts, lock), daemon=True)
               for source in sources]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline + 10:
        if os.path.exists(progress + ".stop"):
            stop.set()
        with lock:
            snapshot = json.dumps(counts)
        with open(progress + ".tmp", "w") as out:
            out.write(snapshot)
        os.replace(progress + ".tmp", progress)
        time.sleep(1)
    totals = {}
    with lock:
        for by_status in counts.values():
            for status, count in by_status.items():
                totals[status] = totals.get(status, 0) + count
    print(json.dumps(totals), flush=True)


if __name__ == "__main__":
    main()
