#!/usr/bin/env bash
# Bulk TCP: what capturing a bulk transfer costs the agent, in CPU seconds per GB moved,
# for one or more agent binaries side by side (for example before and after a change to
# the TCP path). Two namespaces joined by a veth pair; the agent (default flags, capture
# on veth-a) runs in A with the iperf3 client; the iperf3 server is in B. Each round runs
# every agent in turn on the same transfer; CPU is the agent's utime + stime from
# /proc/PID/stat from just before the transfer to a second after it.
#
# Usage: Benchmarks/live/tcp_bulk.sh AGENT [AGENT...]   (as root)
#   SECONDS_PER_RUN=N  iperf3 -t (default 10)
#   ROUNDS=N           rounds (default 3)
#   OFFLOAD=on|off     veth segmentation offloads (default on: the capture sees up to 64 KB
#                      per packet, as on a host with TSO/GRO; off: one packet per segment)
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "tcp_bulk.sh: needs root"; exit 2; }
[ $# -ge 1 ] || { echo "usage: tcp_bulk.sh AGENT [AGENT...]"; exit 2; }
for tool in iperf3 ip python3 curl; do command -v "$tool" >/dev/null || { echo "tcp_bulk.sh: $tool is not installed"; exit 2; }; done
run_seconds=${SECONDS_PER_RUN:-10}
rounds=${ROUNDS:-3}
offload=${OFFLOAD:-on}
A=pe-bulk-a-$$ B=pe-bulk-b-$$
tmp=$(mktemp -d)
cleanup() {
    [ -n "${server:-}" ] && kill "$server" 2>/dev/null
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
ip -n "$A" addr add 10.205.0.1/24 dev veth-a; ip -n "$B" addr add 10.205.0.2/24 dev veth-b
ip -n "$A" link set veth-a up; ip -n "$B" link set veth-b up
if [ "$offload" = off ]; then
    ip netns exec "$A" ethtool -K veth-a tso off gso off gro off >/dev/null
    ip netns exec "$B" ethtool -K veth-b tso off gso off gro off >/dev/null
fi
ip netns exec "$B" iperf3 -s -B 10.205.0.2 >/dev/null 2>&1 &
server=$!
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "# bulk TCP through a veth pair, iperf3 -t $run_seconds, offloads $offload, $rounds rounds; $(nproc) CPUs, shared machine"
printf 'round\tagent\tGB\tcpu_s\tcpu_s_per_GB\tpackets\n'
for round in $(seq 1 "$rounds"); do
    for agent in "$@"; do
        ip netns exec "$A" "$agent" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a >"$tmp/agent.log" 2>&1 &
        pid=$!
        for _ in $(seq 1 100); do ip netns exec "$A" curl -sf http://127.0.0.1:19100/-/healthy >/dev/null 2>&1 && break; sleep 0.1; done
        before=$(cpu_ticks "$pid")
        ip netns exec "$A" iperf3 -c 10.205.0.2 -t "$run_seconds" -J > "$tmp/iperf.json"
        sleep 1
        after=$(cpu_ticks "$pid")
        packets=$(ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics | awk '/^planet_capture_packets_total\{interface="veth-a"\}/ {print $2}')
        kill "$pid"; wait "$pid" 2>/dev/null || true
        python3 - "$tmp/iperf.json" "$before" "$after" "$hz" "$round" "$agent" "$packets" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
gb = doc["end"]["sum_sent"]["bytes"] / 1e9
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
print(f"{sys.argv[5]}\t{sys.argv[6]}\t{gb:.2f}\t{cpu:.2f}\t{cpu / gb:.3f}\t{sys.argv[7]}")
PY
    done
done
