#!/usr/bin/env bash
# Accounting against the kernel's own counters: two namespaces joined by a veth pair with
# IPv6 off, so nothing crosses it but what the test sends. One agent captures everything on
# veth-a, a second one only UDP (-capture-filter udp). Known traffic (UDP datagrams and a
# TCP transfer, the latter in 64 KB segments) goes from the peer to veth-a. Then:
# - the kernel counters the agent exports are the ones in /sys/class/net/veth-a/statistics;
# - packets captured since start = packets received + sent since start, exactly, and so for
#   the capture's wire bytes against the kernel's bytes; both coverage ratios are 1;
# - wire bytes = IP bytes + 14 per decoded frame (the Ethernet header, docs/metrics.md);
# - the UDP-only agent captured exactly the datagrams sent, and its ratio says what it missed;
# - /api/v1/summary gives the same figures, and the page shows one line for veth-a.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 promtool chromium
require_agent

A=pe-ifc-a-$$ B=pe-ifc-b-$$
new_netns "$A"; new_netns "$B"
without_ipv6 "$A" "$B"
veth_pair "$A" veth-a 10.212.0.1/24 "$B" veth-b 10.212.0.2/24

# sysfs_totals NS IF: "rx_packets tx_packets rx_bytes tx_bytes" from the kernel itself.
sysfs_totals() {
    ip netns exec "$1" sh -c "cd /sys/class/net/$2/statistics && echo \$(cat rx_packets tx_packets rx_bytes tx_bytes)"
}
before=$(sysfs_totals "$A" veth-a)
log "veth-a before the agents: $before (rx/tx packets, rx/tx bytes)"

log "agents in $A: everything on veth-a (port 19100), UDP only (port 19101)"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 1s \
    -task-socketstat-enabled=false 2> "$E2E_TMP/agent.log"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -capture-interfaces veth-a -task-interval 1s \
    -task-socketstat-enabled=false -capture-filter udp -web-ui-enabled=false 2> "$E2E_TMP/agent-udp.log"
for port in 19100 19101; do
    wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$port/metrics | grep -q 'planet_interface_receive_packets_total{interface=\"veth-a\"}'" \
        || { cat "$E2E_TMP"/agent*.log; fail "the agent on port $port does not export veth-a's counters"; }
done
[ "$(sysfs_totals "$A" veth-a)" = "$before" ] || fail "frames crossed veth-a before the test sent any: $(sysfs_totals "$A" veth-a)"

UDP_COUNT=1000 UDP_PAYLOAD=472 TCP_BYTES=3000000
log "traffic from $B: $UDP_COUNT UDP datagrams of $UDP_PAYLOAD bytes, then $TCP_BYTES bytes over TCP"
cat > "$E2E_TMP/sink.py" <<'PY'
import socket, threading
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.212.0.1", 5400))
    while True: s.recv(65536)
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.212.0.1", 5401)); s.listen()
    while True:
        c, _ = s.accept()
        while c.recv(1 << 20): pass
        c.close()
threading.Thread(target=udp, daemon=True).start()
threading.Thread(target=tcp, daemon=True).start()
threading.Event().wait(300)
PY
in_ns_bg "$A" python3 "$E2E_TMP/sink.py"
wait_for 10 bash -c "ip netns exec $A ss -ltn | grep -q ':5401'" || fail "the sink did not start"
cat > "$E2E_TMP/send.py" <<PY
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range($UDP_COUNT):
    u.sendto(b"u" * $UDP_PAYLOAD, ("10.212.0.1", 5400))
    if i % 100 == 99: time.sleep(0.01)  # the sink keeps up: no drop anywhere
c = socket.create_connection(("10.212.0.1", 5401), timeout=10)
c.sendall(b"t" * $TCP_BYTES)
c.shutdown(socket.SHUT_WR)
c.recv(1)  # the server's close: every segment was received
c.close()
PY
ip netns exec "$B" timeout 30 python3 "$E2E_TMP/send.py"

cat > "$E2E_TMP/check.py" <<'PY'
"""Checks one agent's /metrics (and the summary) against the kernel's counters."""
import json, re, sys
metrics_file, before, after, mode = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
udp_count, udp_payload = int(sys.argv[5]), int(sys.argv[6])
summary_file = sys.argv[7] if len(sys.argv) > 7 else ""
samples = {}
for line in open(metrics_file):
    m = re.match(r'^(\w+)\{(.*)\} (\S+)$', line.strip())
    if m: samples[(m.group(1), m.group(2))] = m.group(3)
def value(name, labels='interface="veth-a"'):
    if (name, labels) not in samples: sys.exit(f"no sample {name}{{{labels}}}")
    return samples[(name, labels)]
def number(name, labels='interface="veth-a"'): return int(value(name, labels))
b = [int(x) for x in before]; a = [int(x) for x in after]
kernel = [number("planet_interface_receive_packets_total"), number("planet_interface_transmit_packets_total"),
          number("planet_interface_receive_bytes_total"), number("planet_interface_transmit_bytes_total")]
errors = []
if kernel != a: errors.append(f"kernel counters in /metrics {kernel}, in sysfs {a}")
kernel_packets, kernel_bytes = a[0] + a[1] - b[0] - b[1], a[2] + a[3] - b[2] - b[3]
packets, wire = number("planet_capture_packets_total"), number("planet_capture_wire_bytes_total")
packets_ratio = float(value("planet_capture_packets_coverage_ratio"))
bytes_ratio = float(value("planet_capture_wire_bytes_coverage_ratio"))
if mode == "all":
    if packets != kernel_packets: errors.append(f"captured {packets} packets, the kernel counted {kernel_packets}")
    if wire != kernel_bytes: errors.append(f"captured {wire} wire bytes, the kernel counted {kernel_bytes}")
    if value("planet_capture_packets_coverage_ratio") != "1" or value("planet_capture_wire_bytes_coverage_ratio") != "1":
        errors.append(f"coverage ratios {packets_ratio} and {bytes_ratio}, want exactly 1")
    # The documented overhead: a decoded frame's wire bytes are its IP bytes and a 14-byte Ethernet header.
    decoded, decoded_wire = number("planet_capture_decoded_packets_total"), number("planet_capture_decoded_wire_bytes_total")
    decoded_ip = number("planet_capture_decoded_ip_bytes_total")
    if decoded_wire != decoded_ip + 14 * decoded: errors.append(f"decoded wire bytes {decoded_wire} != IP {decoded_ip} + 14 x {decoded}")
    undecoded = packets - decoded
    if undecoded != number("planet_capture_undecoded_packets_total", 'interface="veth-a",reason="not_ip"'):
        errors.append("frames other than IP and ARP were counted")
    udp_ip = sum(int(v) for (n, l), v in samples.items() if n == "planet_traffic_bytes_total"
                 and 'protocol="udp"' in l and 'remote_ip="10.212.0.2"' in l and 'direction="ingress"' in l)
    if udp_ip != udp_count * (udp_payload + 28): errors.append(f"UDP IP bytes {udp_ip}, want {udp_count * (udp_payload + 28)}")
    if a[0] - b[0] < udp_count + 1: errors.append(f"veth-a received {a[0] - b[0]} packets, fewer than were sent")
    print(f"    captured {packets} of {kernel_packets} packets, {wire} of {kernel_bytes} wire bytes; "
          f"IP bytes {decoded_ip} + 14 x {decoded} decoded frames = {decoded_wire}; {undecoded} ARP frames")
else:
    if packets != udp_count: errors.append(f"the UDP-only agent captured {packets} packets, {udp_count} were sent")
    if wire != udp_count * (udp_payload + 42): errors.append(f"the UDP-only agent captured {wire} wire bytes")
    if abs(packets_ratio - packets / kernel_packets) > 1e-12 or abs(bytes_ratio - wire / kernel_bytes) > 1e-12:
        errors.append(f"ratios {packets_ratio}, {bytes_ratio}, want {packets / kernel_packets}, {wire / kernel_bytes}")
    if not packets_ratio < 1: errors.append("a capture that filters has a packet ratio of 1")
    print(f"    UDP only: captured {packets} of {kernel_packets} packets (ratio {packets_ratio}), {wire} of {kernel_bytes} bytes")
if summary_file:
    summary = json.load(open(summary_file))
    veth = [i for i in summary["capture"]["interfaces"] if i["name"] == "veth-a"][0]
    want_kernel = {"receive_packets": a[0], "transmit_packets": a[1], "receive_bytes": a[2], "transmit_bytes": a[3]}
    if {k: veth["kernel"][k] for k in want_kernel} != want_kernel: errors.append(f"summary kernel {veth['kernel']}, sysfs {want_kernel}")
    want = {"packets": packets, "kernel_packets": kernel_packets, "wire_bytes": wire, "kernel_bytes": kernel_bytes}
    if veth["coverage"] != want: errors.append(f"summary coverage {veth['coverage']}, want {want}")
    if veth["wire_bytes"] != wire or veth["packets"] != packets: errors.append("summary capture counters differ from /metrics")
if errors:
    print("\n".join(errors)); sys.exit(1)
PY

# check PORT MODE [SUMMARY]: the agent's figures against sysfs; true once they agree
# (the last frames of the TCP close may still be on their way to the agents).
check() {
    local port=$1 mode=$2 summary=()
    ip netns exec "$A" curl -sf "http://127.0.0.1:$port/metrics" > "$E2E_TMP/metrics-$port.txt" || return 1
    if [ "$mode" = all ]; then
        ip netns exec "$A" curl -sf "http://127.0.0.1:$port/api/v1/summary" > "$E2E_TMP/summary.json" || return 1
        summary=("$E2E_TMP/summary.json")
    fi
    python3 "$E2E_TMP/check.py" "$E2E_TMP/metrics-$port.txt" "$before" "$(sysfs_totals "$A" veth-a)" "$mode" \
        "$UDP_COUNT" "$UDP_PAYLOAD" "${summary[@]}" > "$E2E_TMP/check-$port.txt"
}
log "the agents' figures against the kernel's"
for port_mode in 19100:all 19101:udp; do
    port=${port_mode%:*} mode=${port_mode#*:}
    wait_for 20 check "$port" "$mode" || true
    check "$port" "$mode" || { cat "$E2E_TMP/check-$port.txt"; fail "agent on port $port: its counters do not cover the kernel's"; }
    cat "$E2E_TMP/check-$port.txt"
    promtool check metrics < "$E2E_TMP/metrics-$port.txt" || fail "promtool rejects the exposition of port $port"
done

log "the page: one line for veth-a"
packets=$(sed -n 's/^planet_capture_packets_total{interface="veth-a"} //p' "$E2E_TMP/metrics-19100.txt")
# The page draws itself from /api/v1 after it loads: Chromium's virtual time lets the script run.
# A late frame (an ARP probe) may have crossed since: the line must say N of N, N at least as checked.
page_line() {
    ip netns exec "$A" timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --user-data-dir="$E2E_TMP/chromium" --virtual-time-budget=10000 --dump-dom http://127.0.0.1:19100/ \
        2>/dev/null > "$E2E_TMP/page.html" || return 1
    grep -o '<li data-interface="veth-a"[^<]*' "$E2E_TMP/page.html" | sed 's/.*>//' > "$E2E_TMP/page-line.txt"
    python3 - "$(cat "$E2E_TMP/page-line.txt")" "$packets" <<'PY'
import re, sys
m = re.fullmatch(r"veth-a: captured ([\d,]+) of ([\d,]+) packets \(100\.00%\), (\S+ \w+) of (\S+ \w+) \(100\.00%\)", sys.argv[1])
sys.exit(0 if m and m.group(1) == m.group(2) and int(m.group(1).replace(",", "")) >= int(sys.argv[2])
         and m.group(3) == m.group(4) else 1)
PY
}
wait_for 90 page_line || { cat "$E2E_TMP/page-line.txt"; fail "the page does not show veth-a: captured N of N packets (100.00%), B of B (100.00%)"; }
log "page: $(cat "$E2E_TMP/page-line.txt")"
echo "interface coverage end to end: ok"
