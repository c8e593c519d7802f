#!/usr/bin/env bash
# The page and /api/v1 under load.
#
# (1) /api/v1/peers?limit=100 at the series bound: trafgen offers UDP from random peers
#     (three random address bytes, so every packet is almost always a new peer) until the
#     traffic table holds -capture-max-series (200,000) series over as many peers; then
#     /api/v1/peers is timed with curl for several sorts and a filter, beside a /metrics
#     scrape of the same table (the reference: what a Prometheus scrape costs).
# (2) The page refreshing in headless Chromium (the peers view, every 5 s, and the
#     overview) during the trafgen flood of Benchmarks/live/run.sh (64-byte UDP frames
#     from 65,536 peers at top speed): capture drops with the browser, as reported by
#     /metrics.
# History memory is reported from the agent's own figures: 8 bytes per series (the rate
# mark in each traffic-table entry) and the fixed buckets.
#
# Usage: Benchmarks/web/run.sh   (as root; FILL=N packets for (1), default 1,500,000;
#        PACKETS=N for the flood, default 5,000,000)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# Namespaces, background processes and their cleanup as the end-to-end tests do them.
source "$repo/Tests/EndToEnd/lib.sh"
agent=$PLANET_EXPORTER
fill=${FILL:-1500000}
packets=${PACKETS:-5000000}
require_root
require_cmd trafgen curl python3 ip chromium chromedriver
require_agent

work=$E2E_TMP
A=pe-wbench-a-$$ B=pe-wbench-b-$$
new_netns "$A"; new_netns "$B"
ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
ip -n "$A" addr add 10.0.0.5/24 dev veth-a
ip -n "$A" link set veth-a up
ip -n "$B" link set veth-b up
mac_a=$(ip -n "$A" -br link show veth-a | awk '{print $3}')

source "$repo/scripts/lib/trafgen.sh"
udp64_trafgen "$mac_a" 10.0.0.5 3 > "$work/fill.trafgen"
udp64_trafgen "$mac_a" 10.0.0.5 2 > "$work/flood.trafgen"

metric() { curl -sf http://127.0.0.1:19100/metrics | awk -v name="$1" '$1 == name {print $2}'; }
export -f metric

start_agent() {
    ip netns exec "$A" "$agent" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a \
        -capture-local-net 10.0.0.0/24 -log-level warn &
    agent_pid=$!
    for _ in $(seq 1 100); do
        ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics 2>/dev/null | matches 'interface="veth-a"' && return
        sleep 0.1
    done
    echo "agent did not start"; exit 1
}

# median_time URL N: the median of N curl total times, in milliseconds.
median_time() {
    for _ in $(seq 1 "$2"); do
        ip netns exec "$A" curl -sf -o /dev/null -w '%{time_total}\n' "$1"
    done | sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] * 1000}'
}

echo "== (1) /api/v1/peers at the series bound"
start_agent
ip netns exec "$B" trafgen --dev veth-b --conf "$work/fill.trafgen" -n "$fill" -q >/dev/null 2>&1
sleep 2
series=$(ip netns exec "$A" bash -c "metric planet_traffic_series")
peers=$(ip netns exec "$A" curl -sf 'http://127.0.0.1:19100/api/v1/peers?limit=1' | python3 -c 'import json, sys; print(json.load(sys.stdin)["peers_total"])')
rss=$(awk '/VmRSS/ {print $2 " " $3}' /proc/$agent_pid/status)
echo "  $series series over $peers peers; agent RSS $rss"
base=http://127.0.0.1:19100
for query in "peers?limit=100" "peers?limit=100&sort=rate" "peers?limit=100&sort=last_seen" "peers?limit=100&sort=ip" \
             "peers?limit=100&sort=hostgroup" "peers?limit=100&q=198.18." "peers?limit=100&offset=100000"; do
    echo "  /api/v1/$query: $(median_time "$base/api/v1/$query" 11) ms (median of 11)"
done
echo "  /api/v1/summary: $(median_time "$base/api/v1/summary" 11) ms; /api/v1/dependencies: $(median_time "$base/api/v1/dependencies" 11) ms"
echo "  reference, /metrics of the same table: $(median_time "$base/metrics" 5) ms (median of 5)"
python3 - "$series" <<'PY'
import sys
series = int(sys.argv[1])
print(f"  history memory: 8 bytes per series ({series * 8 / 1e6:.2f} MB at {series:,} series) + 5.6 KB of buckets")
PY
kill -TERM $agent_pid; wait $agent_pid 2>/dev/null || true

echo "== (2) the page refreshing in Chromium during the trafgen flood ($packets packets from 65,536 peers)"
for browser in no yes; do
    start_agent
    if [ $browser = yes ]; then
        ip netns exec "$A" chromedriver --port=9515 --log-path="$work/chromedriver.log" >/dev/null 2>&1 &
        driver_pid=$!
        for _ in $(seq 1 100); do ip netns exec "$A" curl -sf http://127.0.0.1:9515/status >/dev/null && break; sleep 0.1; done
        # Two tabs' worth of refreshing: the peers view, and the overview.
        ip netns exec "$A" python3 - <<'PY' &
import json, shutil, time, urllib.request
def call(method, path, body=None):
    request = urllib.request.Request("http://127.0.0.1:9515" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=60))["value"]
for view in ("#/peers", "#/"):
    s = call("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {"binary": shutil.which("chromium"),
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]}}}})["sessionId"]
    call("POST", f"/session/{s}/url", {"url": "http://127.0.0.1:19100/" + view})
time.sleep(3600)
PY
        browser_pid=$!
        sleep 8  # the pages are loaded and refreshing
    fi
    start=$(date +%s.%N)
    sent=$(ip netns exec "$B" trafgen --dev veth-b --conf "$work/flood.trafgen" -n "$packets" -q 2>&1 | tr -d '\r' | awk '/packets outgoing/ {print $1}' | tail -1)
    elapsed=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
    sleep 3
    ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics > "$work/metrics.txt"
    counted=$(awk '$1 == "planet_capture_packets_total{interface=\"veth-a\"}" {print $2}' "$work/metrics.txt")
    kdrop=$(awk '$1 == "planet_capture_dropped_packets_total{interface=\"veth-a\"}" {print $2}' "$work/metrics.txt")
    rdrop=$(awk '$1 == "planet_capture_ring_dropped_packets_total{interface=\"veth-a\"}" {print $2}' "$work/metrics.txt")
    echo "  browser refreshing: $browser; offered $sent packets in ${elapsed}s; counted $counted, kernel drops $kdrop, ring drops $rdrop"
    if [ $browser = yes ]; then
        kill $browser_pid $driver_pid 2>/dev/null || true
    fi
    kill -TERM $agent_pid; wait $agent_pid 2>/dev/null || true
done
