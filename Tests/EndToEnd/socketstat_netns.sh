#!/usr/bin/env bash
# Dependencies end to end: in network namespaces, a TCP and a UDP server run as processes
# with known names, clients connect to them from a peer namespace, and clients in the
# agent's namespace connect out to servers in the peer. /metrics must hold exactly the
# expected planet_upstream, planet_downstream and planet_server_process series, and
# they must agree with `ss -tanup` run in the same namespace.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip ss curl python3 promtool
require_agent

A=pe-sock-a-$$ B=pe-sock-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.201.0.1/24 "$B" veth-b 10.201.0.2/24 fd00:201::1/64 fd00:201::2/64

# named.py NAME ROLE...: a Python process whose comm (process name) is NAME.
cat > "$E2E_TMP/named.py" <<'PY'
import ctypes, socket, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
role, held = sys.argv[2], []
if role == "tcp-server":
    family = socket.AF_INET6 if ":" in sys.argv[3] else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[3], int(sys.argv[4]))); s.listen()
    while True: held.append(s.accept()[0])
elif role == "udp-server":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[3], int(sys.argv[4])))
    while True: s.recv(65536)
elif role == "tcp-client":
    family = socket.AF_INET6 if ":" in sys.argv[3] else socket.AF_INET
    for _ in range(int(sys.argv[5])):
        c = socket.socket(family, socket.SOCK_STREAM); c.connect((sys.argv[3], int(sys.argv[4]))); held.append(c)
    time.sleep(120)
elif role == "udp-client":
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.connect((sys.argv[3], int(sys.argv[4])))
    c.send(b"x"); time.sleep(120)
PY
named() { local ns=$1; shift; in_ns_bg "$ns" python3 "$E2E_TMP/named.py" "$@"; }

log "servers: pe-web (tcp 8080, v4 and v6) and pe-syslog (udp 5514) in the agent's namespace; pe-db (tcp 7000) in the peer"
named "$A" pe-web tcp-server 0.0.0.0 8080
named "$A" pe-web6 tcp-server fd00:201::1 8443
named "$A" pe-syslog udp-server 10.201.0.1 5514
named "$B" pe-db tcp-server 10.201.0.2 7000
wait_for 10 bash -c "ip netns exec $A ss -ltn | grep -q ':8443' && ip netns exec $B ss -ltn | grep -q ':7000'" || fail "servers did not start"

log "clients: two pe-browser connections into pe-web, one into pe-web6; pe-app (2 connections) and pe-dns-ask (udp) out to the peer"
named "$B" pe-browser tcp-client 10.201.0.1 8080 2
named "$B" pe-browser6 tcp-client fd00:201::1 8443 1
named "$A" pe-app tcp-client 10.201.0.2 7000 2
named "$A" pe-dns-ask udp-client 10.201.0.2 5300
wait_for 10 bash -c "[ \$(ip netns exec $A ss -tn state established | grep -c ':8080\|:8443\|:7000') -ge 5 ]" || fail "connections not established"

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -task-interval 1s -task-capture-enabled=false
# The first reading can come before the agent's own listener opens; wait for one after it.
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'planet_server_process{bind=\"127.0.0.1:19100\"'" \
    || fail "the agent's own listener never showed in planet_server_process"
ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics > "$E2E_TMP/metrics.txt"
ip netns exec "$A" ss -tanup > "$E2E_TMP/ss.txt"
promtool check metrics < "$E2E_TMP/metrics.txt" || fail "promtool rejects the exposition"

python3 - "$E2E_TMP/metrics.txt" "$E2E_TMP/ss.txt" <<'PY'
import re, sys
metrics, ss = sys.argv[1], sys.argv[2]
series = {}
for line in open(metrics):
    m = re.match(r'^(planet_upstream|planet_downstream|planet_server_process)\{(.*)\} 1$', line.strip())
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        if labels.get("port") == "19100": continue  # the agent's own endpoint and its scrape
        # Every series has process_unit; its value is the test's own cgroup's unit, which
        # depends on where the suite runs (process_unit_netns.sh checks the values).
        if labels.pop("process_unit", None) is None: sys.exit(f"no process_unit: {line.strip()}")
        series.setdefault(m.group(1), set()).add(tuple(sorted(labels.items())))
# No capture runs here, so no DNS answer names a peer: remote_dns_name is present and empty.
def edge(local, remote, port, proto, process):
    return tuple(sorted({"local_address": local, "local_hostgroup": "", "remote_address": remote, "remote_hostgroup": "",
                         "remote_ip": remote, "remote_dns_name": "", "port": port, "protocol": proto, "process_name": process}.items()))
def server(bind, port, process):
    return tuple(sorted({"bind": bind, "port": port, "process_name": process, "local_hostgroup": ""}.items()))
want = {
    "planet_downstream": {edge("10.201.0.1", "10.201.0.2", "8080", "tcp", "pe-web"),
                          edge("fd00:201::1", "fd00:201::2", "8443", "tcp", "pe-web6")},
    "planet_upstream": {edge("10.201.0.1", "10.201.0.2", "7000", "tcp", "pe-app"),
                        edge("10.201.0.1", "10.201.0.2", "5300", "udp", "pe-dns-ask")},
    "planet_server_process": {server("0.0.0.0:8080", "8080", "pe-web"), server("fd00:201::1:8443", "8443", "pe-web6"),
                              server("10.201.0.1:5514", "5514", "pe-syslog")},
}
errors = []
for name in want:
    got = series.get(name, set())
    if got != want[name]:
        errors.append(f"{name}:\n  missing {sorted(want[name] - got)}\n  unexpected {sorted(got - want[name])}")
# Cross-check: every established TCP connection ss lists with a process is in the metrics.
for line in open(ss):
    f = line.split()
    if len(f) < 7 or f[0] != "tcp" or f[1] != "ESTAB": continue
    local, peer, users = f[4], f[5], " ".join(f[6:])
    process = re.search(r'\(\("([^"]+)"', users)
    lport, pport = local.rsplit(":", 1)[1], peer.rsplit(":", 1)[1]
    if "19100" in (lport, pport) or not process: continue
    name = process.group(1)
    found = any(dict(s).get("process_name") == name and dict(s).get("port") in (lport, pport)
                for kind in ("planet_upstream", "planet_downstream") for s in series.get(kind, set()))
    if not found: errors.append(f"ss shows {name} {local} -> {peer} but the metrics do not")
if errors:
    print("\n".join(errors)); sys.exit(1)
print("    series as expected:", sum(len(v) for v in series.values()))
PY
grep -q 'planet_scrape_collector_success{collector="socketstat"} 1' "$E2E_TMP/metrics.txt" || fail "socketstat collector not successful"
grep -Eq '^planet_server_process\{bind="127.0.0.1:19100",local_hostgroup="",port="19100",process_name="planet-exporter",process_unit="[^"]*"\} 1$' "$E2E_TMP/metrics.txt" \
    || fail "the agent's own listener is missing from planet_server_process"
echo "socketstat end to end: ok"
