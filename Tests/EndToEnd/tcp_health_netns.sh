#!/usr/bin/env bash
# TCP health end to end: two namespaces joined by a veth pair whose far end delays every
# packet by 20 ms (netem; where the kernel has no netem, a userspace bridge delays
# them by 15 ms). The agent captures in one; real sockets connect both ways, to
# open and to closed ports. /metrics must count the attempts, the established and the
# refused connections per edge and direction, and put every measured handshake (SYN to
# SYN/ACK upstream, SYN/ACK to ACK downstream) in the bucket tcpdump's times for the same
# packets give: none in le="0.005", all in le="0.025" with netem's exact 20 ms; /api/v1/tcp must list the same edges; promtool accepts the exposition.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip tc promtool tcpdump curl python3
require_agent

A=pe-tcph-a-$$ B=pe-tcph-b-$$ M=pe-tcph-m-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.203.0.1/24 "$B" veth-b 10.203.0.2/24
DELAY=0.020
if ! ip netns exec "$B" tc qdisc add dev veth-b root netem delay 20ms 2>/dev/null; then
    # No sch_netem in this kernel: the same delay from a userspace bridge in a third
    # namespace between A and B (Tests/EndToEnd/delay_bridge.py).
    # 15 ms: the bridge's own forwarding time, in Python on a busy machine, stays
    # inside the 25 ms bucket bound.
    DELAY=0.015
    log "netem is not available: delaying by $DELAY s with delay_bridge.py in $M"
    ip -n "$A" link delete veth-a
    new_netns "$M"
    veth_pair "$A" veth-a 10.203.0.1/24 "$M" m-a 0.0.0.0/32
    veth_pair "$B" veth-b 10.203.0.2/24 "$M" m-b 0.0.0.0/32
    ip -n "$M" addr flush dev m-a; ip -n "$M" addr flush dev m-b
    ip netns exec "$M" python3 "$(dirname "$0")/delay_bridge.py" m-a m-b $DELAY > "$E2E_TMP/bridge.log" 2>&1 &
    E2E_PIDS+=($!)
    wait_for 10 grep -q ready "$E2E_TMP/bridge.log" || fail "delay bridge did not start: $(cat "$E2E_TMP/bridge.log")"
fi

AGENT_PORT=19100
log "starting the agent in $A"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address "127.0.0.1:$AGENT_PORT" -capture-interfaces veth-a -task-interval 1s
wait_for 30 scrape "$A" "http://127.0.0.1:$AGENT_PORT/-/healthy" || fail "agent did not answer"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$AGENT_PORT/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing on veth-a"

cat > "$E2E_TMP/server.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
s.settimeout(60)
while True:
    c, _ = s.accept(); c.recv(100); c.sendall(b"ok"); c.close()
PY
cat > "$E2E_TMP/client.py" <<'PY'
import socket, sys
host, open_port, closed_port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for _ in range(count):
    c = socket.create_connection((host, open_port), timeout=10); c.sendall(b"hi")
    assert c.recv(100) == b"ok"; c.close()
for _ in range(count):
    try:
        socket.create_connection((host, closed_port), timeout=10)
        sys.exit("connected to a closed port")
    except ConnectionRefusedError:
        pass
PY
in_ns_bg "$A" python3 "$E2E_TMP/server.py" 10.203.0.1 8080
in_ns_bg "$B" python3 "$E2E_TMP/server.py" 10.203.0.2 9000
wait_for 10 bash -c "ip netns exec $A ss -ltn | grep -q ':8080' && ip netns exec $B ss -ltn | grep -q ':9000'" \
    || fail "servers did not start"

log "reference capture with tcpdump on veth-a"
start_tcpdump "$A" veth-a "$E2E_TMP/reference.pcap" 'tcp'

log "downstream: 3 connections from $B to $A:8080 and 3 to the closed port 8081"
ip netns exec "$B" timeout 30 python3 "$E2E_TMP/client.py" 10.203.0.1 8080 8081 3
log "upstream: 3 connections from $A to $B:9000 and 3 to the closed port 9001"
ip netns exec "$A" timeout 30 python3 "$E2E_TMP/client.py" 10.203.0.2 9000 9001 3
# tcpdump hands packets over a buffer timeout late: stop it once the last RST is written.
wait_for 10 bash -c "[ \$(tcpdump -r $E2E_TMP/reference.pcap -n 'tcp src port 9001 and tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l) -ge 3 ]" \
    || fail "the reference capture did not get the last packets"
stop_tcpdump

cat > "$E2E_TMP/check.py" <<'PY'
import re, sys
from collections import defaultdict
text, delay, reference = open(sys.argv[1]).read(), float(sys.argv[2]), sys.argv[3]
BOUNDS = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5]

def reference_times(path):
    """Handshake times from tcpdump's capture of the same packets (its kernel time
    stamps are the agent's): (direction, port) -> [seconds]."""
    import struct
    data = open(path, "rb").read()
    assert struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4, "want a microsecond little-endian pcap"
    at, start, times = 24, {}, defaultdict(list)
    while at + 16 <= len(data):
        sec, usec, caplen, _ = struct.unpack("<IIII", data[at:at + 16])
        frame, at = data[at + 16:at + 16 + caplen], at + 16 + caplen
        if frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        t, ihl = sec + usec / 1e6, (frame[14] & 15) * 4
        src, dst = ".".join(map(str, frame[26:30])), ".".join(map(str, frame[30:34]))
        sport, dport = struct.unpack(">HH", frame[14 + ihl:18 + ihl])
        flags = frame[14 + ihl + 13]
        local_sent = src == "10.203.0.1"
        tup = (sport, dport) if local_sent else (dport, sport)
        if flags & 0x12 == 0x12:  # SYN/ACK
            if local_sent:
                start[tup] = ("downstream", t)
            elif tup in start:
                times[("upstream", str(sport))].append(t - start.pop(tup)[1])
        elif flags & 0x02:  # SYN
            if local_sent:
                start[tup] = ("upstream", t)
        elif flags & 0x10 and not local_sent and tup in start and start[tup][0] == "downstream":
            times[("downstream", str(dport))].append(t - start.pop(tup)[1])
    return times

ref = reference_times(reference)
got = defaultdict(int)
for line in text.splitlines():
    m = re.match(r'^(planet_tcp_\w+)\{(.*)\} (\S+)$', line)
    if not m: continue
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
    # Summed over process_name: the test asserts the edges, not the socket table.
    key = (m.group(1), labels.get("direction"), labels.get("remote_ip"), labels.get("port"), labels.get("le"))
    got[key] += float(m.group(3))
want = {
    ("planet_tcp_connection_attempts_total", "downstream", "10.203.0.2", "8080"): 3,
    ("planet_tcp_connections_established_total", "downstream", "10.203.0.2", "8080"): 3,
    ("planet_tcp_connections_refused_total", "downstream", "10.203.0.2", "8080"): 0,
    ("planet_tcp_connection_attempts_total", "downstream", "10.203.0.2", "8081"): 3,
    ("planet_tcp_connections_refused_total", "downstream", "10.203.0.2", "8081"): 3,
    ("planet_tcp_connections_established_total", "downstream", "10.203.0.2", "8081"): 0,
    ("planet_tcp_connection_attempts_total", "upstream", "10.203.0.2", "9000"): 3,
    ("planet_tcp_connections_established_total", "upstream", "10.203.0.2", "9000"): 3,
    ("planet_tcp_connection_attempts_total", "upstream", "10.203.0.2", "9001"): 3,
    ("planet_tcp_connections_refused_total", "upstream", "10.203.0.2", "9001"): 3,
    ("planet_tcp_connections_timed_out_total", "upstream", "10.203.0.2", "9001"): 0,
}
bad = []
for (name, direction, ip, port), value in want.items():
    if got.get((name, direction, ip, port, None), -1) != value:
        bad.append(f"{name} {direction} {ip}:{port}: {got.get((name, direction, ip, port, None))}, want {value}")
# Every handshake at least the delay (none in le=0.005); the buckets and the sum are
# those of tcpdump's times for the same packets; with netem's exact 20 ms, all in le=0.025.
for direction, port in (("downstream", "8080"), ("upstream", "9000")):
    b = lambda le: got.get(("planet_tcp_handshake_seconds_bucket", direction, "10.203.0.2", port, le))
    times = ref[(direction, port)]
    # Two packet sockets may stamp a packet a few microseconds apart: a time that close
    # to a bound may fall either side.
    low = [sum(1 for x in times if x <= bound - 50e-6) for bound in BOUNDS] + [len(times)]
    high = [sum(1 for x in times if x <= bound + 50e-6) for bound in BOUNDS] + [len(times)]
    have = [b(le) for le in ("0.001", "0.005", "0.025", "0.1", "0.5", "2.5", "+Inf")]
    if not all(l <= h <= u for l, h, u in zip(low, have, high)) or len(times) != 3 or b("0.005") != 0:
        bad.append(f"{direction} {port} buckets {have}, tcpdump's {low}..{high} ({times}, {dict(ref)}); want 3, none in le=0.005")
    if delay == 0.020 and b("0.025") != 3:
        bad.append(f"{direction} {port}: with netem 20 ms all 3 handshakes belong in le=0.025, got {b('0.025')}")
    total = got.get(("planet_tcp_handshake_seconds_sum", direction, "10.203.0.2", port, None), 0)
    if abs(total - sum(times)) > 150e-6 or total < 3 * delay:
        bad.append(f"{direction} {port} handshake sum {total}, tcpdump's {sum(times)}, at least 3 x {delay}")
if got.get(("planet_tcp_health_untracked_total", None, None, None, None), 0) != 0:
    bad.append("untracked events")
print("\n".join(bad) or "ok")
sys.exit(1 if bad else 0)
PY
# The last refusal may still be in the ring: poll until the counts are complete.
wait_for 20 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$AGENT_PORT/metrics > $E2E_TMP/metrics.txt && python3 $E2E_TMP/check.py $E2E_TMP/metrics.txt $DELAY $E2E_TMP/reference.pcap" \
    || { python3 "$E2E_TMP/check.py" "$E2E_TMP/metrics.txt" "$DELAY" "$E2E_TMP/reference.pcap" >&2 || true; grep '^planet_tcp' "$E2E_TMP/metrics.txt" >&2 || true; fail "TCP health counters differ"; }
log "metrics: attempts, established, refused per edge; handshake buckets as tcpdump's times give"
promtool check metrics < "$E2E_TMP/metrics.txt" || fail "promtool rejects the exposition"

scrape "$A" "http://127.0.0.1:$AGENT_PORT/api/v1/tcp" > "$E2E_TMP/tcp.json" || fail "/api/v1/tcp did not answer"
python3 - "$E2E_TMP/tcp.json" "$E2E_TMP/metrics.txt" <<'PY' || fail "/api/v1/tcp differs from /metrics"
import json, re, sys
from collections import Counter
doc = json.load(open(sys.argv[1]))
metrics = open(sys.argv[2]).read()
# One edge per direction, port and process: a short-lived client connection that closed
# before a socket reading named its process is on the edge with process "".
edges = {(e["direction"], e["port"], e["process"]): e for e in doc["edges"] if e["remote_ip"] == "10.203.0.2"}
def series(family):
    # process_unit is the test's own cgroup's unit (where the suite runs), the same on every edge.
    pattern = r'%s\{direction="([^"]*)",port="([^"]*)",process_name="([^"]*)",process_unit="[^"]*",protocol="tcp",remote_ip="10\.203\.0\.2"\} (\S+)' % family
    return {(d, p, n): int(float(v)) for d, p, n, v in re.findall(pattern, metrics)}
for field, family in (("attempts", "planet_tcp_connection_attempts_total"),
                      ("established", "planet_tcp_connections_established_total"),
                      ("refused", "planet_tcp_connections_refused_total")):
    from_metrics = series(family)
    assert set(from_metrics) == set(edges), (field, from_metrics, edges)
    for key, value in from_metrics.items():
        assert edges[key][field] == value, (field, key, edges[key][field], value)
totals = Counter()
for (direction, port, _), e in edges.items():
    totals[(direction, port, "refused")] += e["refused"]
    totals[(direction, port, "established")] += e["established"]
assert totals[("upstream", "9001", "refused")] == 3, totals
assert totals[("downstream", "8081", "refused")] == 3, totals
assert totals[("upstream", "9000", "established")] == 3, totals
for (direction, port, process), e in edges.items():
    if port not in ("9000", "8080"):
        continue
    cumulative = [int(float(v)) for v in re.findall(
        r'planet_tcp_handshake_seconds_bucket\{direction="%s",port="%s",process_name="%s",[^}]*\} (\S+)' % (direction, port, process), metrics)]
    buckets = e["handshake_buckets"]
    assert [sum(buckets[:i + 1]) for i in range(len(buckets))] == cumulative, (direction, port, process, buckets, cumulative)
PY
log "/api/v1/tcp lists the same edges"
scrape "$A" "http://127.0.0.1:$AGENT_PORT/api/v1/tcp?limit=0" >/dev/null && fail "/api/v1/tcp accepted limit=0"
echo "PASS: tcp health"
