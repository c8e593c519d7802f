#!/usr/bin/env bash
# Live capture end to end: two network namespaces joined by a veth pair, the agent in
# one, known TCP and UDP traffic (IPv4 and IPv6) sent from the other with real sockets.
# /metrics must give the exact IP bytes per peer, direction and protocol that tcpdump saw
# on the same interface, with the service port; a real Prometheus scrapes the agent and
# a PromQL query returns the traffic series; promtool accepts the exposition.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip prometheus promtool tcpdump tshark curl python3
require_agent

A=pe-cap-a-$$ B=pe-cap-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.200.0.1/24 "$B" veth-b 10.200.0.2/24 fd00:200::1/64 fd00:200::2/64

AGENT_PORT=19100 PROM_PORT=9090
log "starting the agent in $A"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address "127.0.0.1:$AGENT_PORT" -capture-interfaces veth-a \
    -task-interval 1s
wait_for 30 scrape "$A" "http://127.0.0.1:$AGENT_PORT/-/healthy" || fail "agent did not answer"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$AGENT_PORT/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing on veth-a"

log "servers in $A: TCP 8080 (echo 5000 bytes back), UDP 5353 sink"
cat > "$E2E_TMP/servers.py" <<'PY'
import socket, threading, sys
def tcp(family, host):
    s = socket.socket(family, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 8080)); s.listen()
    while True:
        c, _ = s.accept()
        total = 0
        while True:
            data = c.recv(65536)
            if not data: break
            total += len(data)
        c.sendall(b"r" * 5000); c.close()
def udp(family, host):
    s = socket.socket(family, socket.SOCK_DGRAM); s.bind((host, 5353))
    while True: s.recv(65536)
for args in [(socket.AF_INET, "10.200.0.1"), (socket.AF_INET6, "fd00:200::1")]:
    threading.Thread(target=tcp, args=args, daemon=True).start()
    threading.Thread(target=udp, args=args, daemon=True).start()
threading.Event().wait(120)
PY
in_ns_bg "$A" python3 "$E2E_TMP/servers.py"
wait_for 10 bash -c "ip netns exec $A ss -ltn | grep -q ':8080'" || fail "servers did not start"

log "reference capture with tcpdump on veth-a"
start_tcpdump "$A" veth-a "$E2E_TMP/reference.pcap" 'tcp port 8080 or udp port 5353'

log "clients in $B: 100000 bytes over TCP, 50 x 300-byte UDP datagrams, for IPv4 and IPv6"
cat > "$E2E_TMP/clients.py" <<'PY'
import socket
for family, host in [(socket.AF_INET, "10.200.0.1"), (socket.AF_INET6, "fd00:200::1")]:
    c = socket.socket(family, socket.SOCK_STREAM); c.settimeout(10); c.connect((host, 8080))
    c.sendall(b"q" * 100000); c.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        data = c.recv(65536)
        if not data: break
        got += len(data)
    assert got == 5000, got
    c.close()
    u = socket.socket(family, socket.SOCK_DGRAM)
    for _ in range(50): u.sendto(b"u" * 300, (host, 5353))
PY
ip netns exec "$B" timeout 30 python3 "$E2E_TMP/clients.py"

cat > "$E2E_TMP/compare.py" <<'PY'
import re, sys
from collections import Counter
metrics, expected_file = sys.argv[1], sys.argv[2]
series = re.compile(r'^planet_traffic_bytes_total\{(.*)\} (\d+)$')
got, ports = Counter(), {}
for line in open(metrics):
    m = series.match(line.strip())
    if not m: continue
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
    if labels["remote_ip"] not in ("10.200.0.2", "fd00:200::2") or labels["protocol"] not in ("tcp", "udp"):
        continue
    got[(labels["direction"], labels["remote_ip"])] += int(m.group(2))
    ports.setdefault((labels["remote_ip"], labels["protocol"]), set()).add(labels["port"])
expected = Counter()
for line in open(expected_file):
    direction, peer, n = line.split()
    expected[(direction, peer)] = int(n)
errors = []
if got != expected:
    errors.append(f"bytes differ: agent {dict(got)} tcpdump {dict(expected)}")
for peer in ("10.200.0.2", "fd00:200::2"):
    if ports.get((peer, "tcp")) != {"8080"}: errors.append(f"{peer} tcp ports {ports.get((peer, 'tcp'))}, want 8080")
    if ports.get((peer, "udp")) != {"5353"}: errors.append(f"{peer} udp ports {ports.get((peer, 'udp'))}, want 5353")
# UDP is exact by construction: 50 datagrams of 300 bytes + UDP header + IP header.
udp = {}
for line in open(metrics):
    m = series.match(line.strip())
    if m and 'protocol="udp"' in m.group(1) and 'direction="ingress"' in m.group(1):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        udp[labels["remote_ip"]] = int(m.group(2))
if udp.get("10.200.0.2") != 50 * (300 + 8 + 20): errors.append(f"IPv4 UDP ingress {udp.get('10.200.0.2')}, want {50*328}")
if udp.get("fd00:200::2") != 50 * (300 + 8 + 40): errors.append(f"IPv6 UDP ingress {udp.get('fd00:200::2')}, want {50*348}")
for direction, peer in sorted(expected): print(f"    {direction} {peer}: {expected[(direction, peer)]} bytes (agent {got[(direction, peer)]})")
if errors:
    print("\n".join(errors)); sys.exit(1)
PY
# The agent's counters against tcpdump's file so far; true once they agree.
agent_agrees() {
    ip netns exec "$A" curl -sf "http://127.0.0.1:$AGENT_PORT/metrics" > "$E2E_TMP/metrics.txt" || return 1
    bash "$E2E_ROOT/scripts/fixtures/tshark_totals.sh" "$E2E_TMP/reference.pcap" 10.200.0.1/32 fd00:200::1/128 \
        2>/dev/null | grep -v '^unattributed' > "$E2E_TMP/expected.txt" || return 1
    python3 "$E2E_TMP/compare.py" "$E2E_TMP/metrics.txt" "$E2E_TMP/expected.txt" > "$E2E_TMP/compare.txt"
}
log "comparing the agent's bytes with tcpdump's"
# Last packets of the connections' close may still be on their way: wait until both agree.
wait_for 20 agent_agrees || true
stop_tcpdump
agent_agrees || { cat "$E2E_TMP/compare.txt"; fail "the agent's bytes differ from tcpdump's"; }
cat "$E2E_TMP/compare.txt"
promtool check metrics < "$E2E_TMP/metrics.txt" || fail "promtool rejects the exposition"

grep -q 'planet_capture_dropped_packets_total{interface="veth-a"} 0' "$E2E_TMP/metrics.txt" || fail "kernel drops reported"
grep -q 'planet_scrape_collector_success{collector="capture"} 1' "$E2E_TMP/metrics.txt" || fail "capture collector not successful"

log "a real Prometheus scrapes the agent"
start_prometheus "$A" "127.0.0.1:$AGENT_PORT" "$PROM_PORT"
query='sum by (direction) (planet_traffic_bytes_total{remote_ip="10.200.0.2",protocol="udp"})'
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$PROM_PORT/api/v1/query --data-urlencode 'query=$query' | grep -q '\"value\"'" \
    || fail "PromQL query returned no traffic series"
answer=$(promql "$A" "$PROM_PORT" "$query")
echo "$answer" | python3 -c '
import json, sys
result = {r["metric"]["direction"]: float(r["value"][1]) for r in json.load(sys.stdin)["data"]["result"]}
assert result.get("ingress") == 50 * 328, result
print("    PromQL:", result)
'
echo "capture end to end: ok"
