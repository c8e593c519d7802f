#!/usr/bin/env python3
"""A server that answers the response head and then never finishes the body, on 127.0.0.1.

It plays Prometheus (GET /api/v1/query_range) and InfluxDB 1.x (GET /ping answers at once,
POST /write stalls), so the end-to-end test can check that the federator bounds every
exchange, body included. Each request that stalls is announced on stdout as
"stalling PATH" (flushed), so the test can wait for it. Stops after --max-seconds.
"""
import argparse
import http.server
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--max-seconds", type=int, default=600)
args = parser.parse_args()
stop = threading.Event()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def stall(self, first_bytes):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(first_bytes)
        self.wfile.flush()
        print("stalling", self.path.split("?")[0], flush=True)
        # Holds the connection open, body unfinished, until the client gives up.
        while not stop.wait(0.2):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return

    def do_GET(self):
        if self.path == "/ping":
            self.send_response(204)
            self.send_header("X-Influxdb-Version", "1.8.10")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/api/v1/query_range"):
            self.stall(b'{"status":"success","data":{"resultType":"matrix","result":[')
        else:
            self.send_error(404)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.stall(b"")

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
threading.Timer(args.max_seconds, lambda: (stop.set(), server.shutdown())).start()
server.serve_forever()
sys.exit(0)
