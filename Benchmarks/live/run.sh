#!/usr/bin/env bash
# Live capture benchmark: can the agent keep up with what tcpdump keeps up with?
#
# Two network namespaces joined by a veth pair; traffic is offered into the agent's side
# (1) by trafgen: 64-byte UDP frames from 65,536 random peers at top speed, and
# (2) by tcpreplay --topspeed of a capture from Benchmarks/replay/make_bench_pcap.py.
# Each load runs once against the agent and once against `tcpdump -p -w /dev/null` on the
# same interface. Reported: packets offered, counted, dropped (kernel and ring), bytes
# counted against the bytes offered; then the time to scrape and render /metrics with
# the series the load left (collector duration and curl's total time).
#
# Usage: Benchmarks/live/run.sh   (as root; PACKETS=N for trafgen, default 5,000,000,
#        TRAFGEN_CPUS=N to limit trafgen to N CPUs (default: all);
#        REPLAY_PACKETS=N for the tcpreplay capture, default 1,000,000)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
agent=$repo/.build/release/planet-exporter
packets=${PACKETS:-5000000}
replay_packets=${REPLAY_PACKETS:-1000000}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (namespaces, capture)"; exit 2; }
for tool in trafgen tcpreplay tcpdump curl python3 ip; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed"; exit 2; }
done
[ -x "$agent" ] || { echo "run.sh: build first: swift build -c release --product planet-exporter"; exit 2; }

work=$(mktemp -d)
mkdir -p "$repo/Benchmarks/.build/replay"
cc -O2 -o "$repo/Benchmarks/.build/replay/pcap_sum" "$repo/Benchmarks/replay/pcap_sum.c" -lpcap
A=pe-bench-a-$$ B=pe-bench-b-$$
cleanup() {
    ip netns pids "$A" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null || true
    sleep 0.5
    ip netns delete "$A" 2>/dev/null || true
    ip netns delete "$B" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip -n "$A" link set lo up
ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
ip -n "$A" addr add 10.0.0.5/24 dev veth-a
ip -n "$A" link set veth-a up
ip -n "$B" link set veth-b up
mac_a=$(ip -n "$A" -br link show veth-a | awk '{print $3}')

# 64-byte Ethernet frames: IPv4 total length 46, UDP to port 53, random source address
# in 198.18.0.0/16 and random source port.
cat > "$work/udp.trafgen" <<CFG
{
  $(echo "$mac_a" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1/g; s/:/, /g'),
  0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
  0x08, 0x00,
  0x45, 0x00, const16(46), const16(0), const16(0x4000), 64, 17, csumip(14, 33),
  198, 18, drnd(2),
  10, 0, 0, 5,
  drnd(2), const16(53), const16(26), const16(0),
  fill(0x41, 18),
}
CFG

replay_capture=$work/replay.pcap
python3 "$repo/Benchmarks/replay/make_bench_pcap.py" --packets "$replay_packets" --peers 50000 "$replay_capture" >/dev/null

metric_sum() {  # metric_sum FILE REGEX: sum of the samples whose line matches
    python3 -c '
import re, sys
total = 0
for line in open(sys.argv[1]):
    if re.match(sys.argv[2], line): total += int(float(line.rsplit(" ", 1)[1]))
print(total)' "$1" "$2"
}

offer() {  # offer trafgen|tcpreplay: sends the load from B, prints packets sent
    case $1 in
        trafgen) ip netns exec "$B" trafgen --dev veth-b --conf "$work/udp.trafgen" -n "$packets" ${TRAFGEN_CPUS:+--cpus $TRAFGEN_CPUS} -q 2>&1 | tr -d "\r" \
                    | awk '/packets outgoing/ {print $1}' | tail -1 ;;
        tcpreplay) ip netns exec "$B" tcpreplay --topspeed -i veth-b "$replay_capture" 2>&1 \
                    | awk '/Successful packets:/ {print $3}' | tail -1 ;;
    esac
}

echo "== agent"
for load in trafgen tcpreplay; do
    ip netns exec "$A" "$agent" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a \
        -capture-local-net 10.0.0.0/24 -log-level warn &
    agent_pid=$!
    for _ in $(seq 1 100); do
        ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics 2>/dev/null | grep -q 'interface="veth-a"' && break
        sleep 0.1
    done
    start=$(date +%s.%N)
    sent=$(offer $load)
    elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
    # Bytes on local endpoints the socket table does not know are held until its next
    # reading (at most about a second later), so give that reading time to happen.
    sleep 3
    ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics > "$work/metrics.txt"
    counted=$(metric_sum "$work/metrics.txt" '^planet_capture_packets_total\{interface="veth-a"\}')
    kdrop=$(metric_sum "$work/metrics.txt" '^planet_capture_dropped_packets_total\{interface="veth-a"\}')
    rdrop=$(metric_sum "$work/metrics.txt" '^planet_capture_ring_dropped_packets_total\{interface="veth-a"\}')
    bytes=$(metric_sum "$work/metrics.txt" '^planet_traffic_bytes_total\{.*remote_ip="198\.1[89]\.')
    series=$(metric_sum "$work/metrics.txt" '^planet_traffic_series ')
    if [ $load = trafgen ]; then
        want=$((sent * 46))
    else
        want=$("$repo/Benchmarks/.build/replay/pcap_sum" "$replay_capture" 10.0.0.0/24 2>/dev/null | awk '/^# packets/ {for (i = 1; i < NF; i++) if ($i == "bytes") print $(i+1)}' | tail -1)
    fi
    echo "  $load: offered $sent packets in ${elapsed}s; agent counted $counted, kernel drops $kdrop, ring drops $rdrop; bytes from the offered peers $bytes (offered ${want:-?}); series $series"
    for i in 1 2 3 4 5; do
        ip netns exec "$A" curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:19100/metrics
    done | sort -n | awk '{a[NR]=$1} END {printf "  scrape of %s series: curl total %s s (median of 5)\n", "'"$series"'", a[3]}'
    grep 'planet_scrape_collector_duration_seconds{collector="capture"}' "$work/metrics.txt" | sed 's/^/  /'
    kill -TERM $agent_pid; wait $agent_pid 2>/dev/null || true
done

echo "== tcpdump -p -w /dev/null"
for load in trafgen tcpreplay; do
    ip netns exec "$A" tcpdump -i veth-a -p -w /dev/null 2> "$work/tcpdump.txt" &
    dump_pid=$!
    sleep 1
    sent=$(offer $load)
    sleep 1
    kill -INT $dump_pid; wait $dump_pid 2>/dev/null || true
    echo "  $load: offered $sent; tcpdump: $(grep -E 'captured|dropped by kernel' "$work/tcpdump.txt" | tr '\n' ';')"
done
