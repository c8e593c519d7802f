#!/usr/bin/env python3
"""An InfluxDB 2.x write API in front of a real InfluxDB 1.x, on 127.0.0.1.

Debian has no InfluxDB 2.x package, so the end-to-end test checks the federator's 2.x path
against this: /ping answers with a 2.x X-Influxdb-Version header; /api/v2/write checks the
org, bucket and token, answers 503 to the first --fail-writes writes (to exercise retries),
then forwards the body to the 1.x server's /write?db=BUCKET. Stops after --max-seconds.
"""
import argparse
import http.server
import threading
import urllib.parse
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--influxdb1", required=True, help="base URL of the real 1.x server")
parser.add_argument("--org", required=True)
parser.add_argument("--token", required=True)
parser.add_argument("--fail-writes", type=int, default=0)
parser.add_argument("--max-seconds", type=int, default=900)
args = parser.parse_args()

lock = threading.Lock()
failures_left = args.fail_writes


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("X-Influxdb-Version", "v2.7.4")
        self.send_header("X-Influxdb-Build", "OSS")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(204 if self.path == "/ping" else 404)

    def do_POST(self):
        global failures_left
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path != "/api/v2/write":
            return self.answer(404, b'{"code":"not found"}')
        if self.headers.get("Authorization") != "Token " + args.token:
            return self.answer(401, b'{"code":"unauthorized","message":"unauthorized access"}')
        if query.get("org") != [args.org] or "bucket" not in query or query.get("precision") != ["ns"]:
            return self.answer(400, b'{"code":"invalid","message":"bad org, bucket or precision"}')
        with lock:
            if failures_left > 0:
                failures_left -= 1
                return self.answer(503, b'{"code":"unavailable","message":"try again"}')
        target = args.influxdb1 + "/write?db=" + urllib.parse.quote(query["bucket"][0]) + "&precision=ns"
        with urllib.request.urlopen(urllib.request.Request(target, data=body, method="POST")) as response:
            self.answer(response.status)

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
threading.Timer(args.max_seconds, server.shutdown).start()
server.serve_forever()
