#!/usr/bin/env python3
"""A proxy on 127.0.0.1 that forwards requests to a real server, or fails them on demand.

While the file --fail-while exists, POST requests are answered with --status (503 by
default) instead of being forwarded; with --fail-first N, the first N POSTs are. Every
POST's outcome is printed on stdout as "forwarded STATUS" or "failed STATUS" (flushed), so
the end-to-end tests can count attempts. GET requests are always forwarded. Used in front
of InfluxDB and of a Prometheus remote-write receiver. Stops after --max-seconds.
"""
import argparse
import http.server
import os
import threading
import urllib.error
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True, help="base URL of the real server")
parser.add_argument("--fail-while", default="", help="fail POSTs while this file exists")
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--status", type=int, default=503)
parser.add_argument("--max-seconds", type=int, default=600)
args = parser.parse_args()
lock = threading.Lock()
failures_left = args.fail_first


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, method, body=None):
        request = urllib.request.Request(args.upstream + self.path, data=body, method=method)
        for name in ("Content-Type", "Content-Encoding", "Authorization", "X-Prometheus-Remote-Write-Version", "User-Agent"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.getheaders(), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.items(), error.read()

    def do_GET(self):
        self.answer(*self.forward("GET"))

    def do_POST(self):
        global failures_left
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            fail = failures_left > 0 or (args.fail_while and os.path.exists(args.fail_while))
            if failures_left > 0:
                failures_left -= 1
        if fail:
            print("failed", args.status, flush=True)
            return self.answer(args.status, [("Content-Type", "text/plain")], b"failing on purpose\n")
        status, headers, answer = self.forward("POST", body)
        print("forwarded", status, flush=True)
        self.answer(status, headers, answer)

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
threading.Timer(args.max_seconds, server.shutdown).start()
server.serve_forever()
