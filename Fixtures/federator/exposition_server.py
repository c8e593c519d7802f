#!/usr/bin/env python3
"""Serves a recorded planet-exporter exposition on 127.0.0.1 as /metrics.

Each planet_traffic_bytes_total value in the file is read as bytes per second and served
multiplied by the seconds since start, so irate() of the series equals the recorded value.
The server stops by itself after --max-seconds.
"""
import argparse
import http.server
import re
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--file", required=True)
parser.add_argument("--max-seconds", type=int, default=900)
args = parser.parse_args()

start = time.time()
counter = re.compile(r"^(planet_traffic_bytes_total\{.*\}) ([0-9.e+]+)$")
# Split on line feeds only: a label value may hold a carriage return.
lines = open(args.file, newline="").read().rstrip("\n").split("\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        elapsed = time.time() - start
        out = []
        for line in lines:
            match = counter.match(line)
            if match:
                out.append("%s %.3f" % (match.group(1), float(match.group(2)) * elapsed))
            else:
                out.append(line)
        body = ("\n".join(out) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
threading.Timer(args.max_seconds, server.shutdown).start()
server.serve_forever()
