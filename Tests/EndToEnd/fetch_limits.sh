#!/usr/bin/env bash
# Inventory and darkstat fetches are bounded end to end. A server that sends its headers
# and then drips the body one byte at a time must not hold a task: each fetch ends at
# its deadline, the collector reports success 0 (not the success of the last good fetch),
# the last good data stays, and the dripping connections are closed rather than piled up.
# A body larger than -task-fetch-max-bytes fails with one line naming the flag.
# Runs on loopback only, with capture off, so it needs no root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_cmd curl python3
require_agent

WWW=$E2E_TMP/www
mkdir -p "$WWW"
cat > "$WWW/inventory" <<'JSON'
[{"ip_address": "10.20.1.7", "domain": "peer.example", "hostgroup": "peer-group"}]
JSON
cp "$E2E_ROOT/Fixtures/migration/darkstat-metrics.prom" "$WWW/darkstat"
echo good > "$WWW/mode-inventory"
echo good > "$WWW/mode-darkstat"

# GET /NAME: by $WWW/mode-NAME, "good" serves $WWW/NAME, "drip" sends the headers of a
# 16 KiB body (under the agent's 32 KiB limit, so only the deadline can end it) and then
# one byte every 0.3 s, "big" serves 64 KiB. $WWW/dripping holds the
# number of dripping connections still open.
cat > "$E2E_TMP/server.py" <<'PY'
import http.server, os, sys, threading, time
root = sys.argv[2]
lock, dripping = threading.Lock(), [0]
def note(delta):
    with lock:
        dripping[0] += delta
        open(os.path.join(root, "dripping"), "w").write(str(dripping[0]))
note(0)
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_GET(self):
        name = self.path.strip("/")
        mode = open(os.path.join(root, "mode-" + name)).read().strip()
        if mode == "good":
            body = open(os.path.join(root, name), "rb").read()
        elif mode == "big":
            body = b"# padding\n" * 6554
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(16 << 10))
            self.end_headers()
            note(1)
            try:
                for _ in range(2000):
                    self.wfile.write(b"#"); self.wfile.flush(); time.sleep(0.3)
            except OSError:
                pass
            finally:
                note(-1)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class Server(http.server.ThreadingHTTPServer):
    # The agent hangs up on bodies over its limit and resets what it gave up on: expected.
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)
Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
PY
WEB_PORT=$(free_port)
python3 "$E2E_TMP/server.py" "$WEB_PORT" "$WWW" &
E2E_PIDS+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$WEB_PORT/darkstat" || fail "test server did not start"

AGENT_PORT=$(free_port)
# Inventory refresh: every 25 intervals = 5 s; darkstat every 200 ms, each fetch bounded by 1 s.
"$PLANET_EXPORTER" -listen-address "127.0.0.1:$AGENT_PORT" -task-interval 200ms -task-capture-enabled=false \
    -task-socketstat-enabled=false -task-fetch-max-bytes 32768 \
    -task-inventory-enabled -task-inventory-addr "http://127.0.0.1:$WEB_PORT/inventory" \
    -task-darkstat-enabled -task-darkstat-addr "http://127.0.0.1:$WEB_PORT/darkstat" 2> "$E2E_TMP/agent.log" &
E2E_PIDS+=($!)
metrics() { curl -sf --max-time 5 "http://127.0.0.1:$AGENT_PORT/metrics"; }
has() { metrics | matches -F "$1"; }

log "good answers: both collectors succeed"
wait_for 30 has 'planet_scrape_collector_success{collector="darkstat"} 1' || { cat "$E2E_TMP/agent.log"; fail "darkstat not loaded"; }
wait_for 30 has 'planet_scrape_collector_success{collector="inventory"} 1' || { cat "$E2E_TMP/agent.log"; fail "inventory not loaded"; }
has 'remote_domain="peer.example",remote_hostgroup="peer-group",remote_ip="10.20.1.7"' || fail "inventory labels missing"

log "dripping bodies: success drops to 0 within the deadlines, last good data kept"
echo drip > "$WWW/mode-darkstat"
echo drip > "$WWW/mode-inventory"
wait_for 15 has 'planet_scrape_collector_success{collector="darkstat"} 0' || { tail -5 "$E2E_TMP/agent.log"; fail "a dripping darkstat body still reports success"; }
# The inventory's next refresh comes within 5 s, its deadline is 10 s.
wait_for 25 has 'planet_scrape_collector_success{collector="inventory"} 0' || { tail -5 "$E2E_TMP/agent.log"; fail "a dripping inventory body still reports success"; }
grep -q 'level=error.*darkstat.*no complete response within' "$E2E_TMP/agent.log" || { tail -5 "$E2E_TMP/agent.log"; fail "the darkstat deadline is not logged"; }
grep -q 'level=error.*inventory.*no complete response within' "$E2E_TMP/agent.log" || { tail -5 "$E2E_TMP/agent.log"; fail "the inventory deadline is not logged"; }
has 'remote_domain="peer.example",remote_hostgroup="peer-group",remote_ip="10.20.1.7"} 126014316' || fail "last good data dropped"
# Every fetch that passed its deadline closed its connection: a few at most are open.
sleep_until_settled() { [ "$(cat "$WWW/dripping")" -le 2 ]; }
wait_for 10 sleep_until_settled || fail "$(cat "$WWW/dripping") dripping connections left open"

log "a body over -task-fetch-max-bytes: one line naming the flag, success 0"
echo good > "$WWW/mode-darkstat"
wait_for 15 has 'planet_scrape_collector_success{collector="darkstat"} 1' || { tail -5 "$E2E_TMP/agent.log"; fail "darkstat did not recover"; }
echo big > "$WWW/mode-darkstat"
wait_for 15 has 'planet_scrape_collector_success{collector="darkstat"} 0' || fail "an oversized darkstat body still reports success"
wait_for 10 grep -q 'level=error.*darkstat.*-task-fetch-max-bytes' "$E2E_TMP/agent.log" || { tail -5 "$E2E_TMP/agent.log"; fail "the size limit is not logged with its flag"; }
echo "fetch limits end to end: ok"
