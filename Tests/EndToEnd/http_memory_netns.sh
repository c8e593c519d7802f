#!/usr/bin/env bash
# Slow readers cannot take the agent's memory: 48 clients each start a plain /metrics of
# a table of about 65,000 series (a rendering of their own, several MB each) and then read
# 4 KiB every 2 s, as a client holding responses open would. The renderings held for them
# stay within -web.response-memory-bytes: the oldest are released at once (counted), the
# agent's resident memory grows by the bound plus a rendering or two instead of one
# rendering per client, and a scrape meanwhile gets the whole exposition. When the clients
# then read on, the responses of released renderings end without their last chunk (the
# connection closes: no client takes a part for the whole) and the others end whole.
# BOUND and CLIENTS override the bound and the number of clients (with no bound to speak
# of, BOUND=10000000000, the resident memory grows by one rendering per client).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 trafgen
require_agent

A=pe-mem-a-$$ B=pe-mem-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.208.0.1/24 "$B" veth-b 10.208.0.2/24
bound=${BOUND:-$((16 << 20))} clients=${CLIENTS:-48}
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a \
    -capture-local-net 10.208.0.0/24 -task-socketstat-enabled=false -web.response-memory-bytes "$bound" \
    2> "$E2E_TMP/agent.log" &
agent=$!
E2E_PIDS+=($agent)
# gzip, as Prometheus asks: a tenth of the plain rendering, read in a moment.
metrics() { ip netns exec "$A" curl -sf --compressed --max-time 20 http://127.0.0.1:19100/metrics; }
sample() { metrics | awk -v name="$1" 'index($0, name" ") == 1 { print $NF }'; }
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'interface=\"veth-a\"'" \
    || { cat "$E2E_TMP/agent.log"; fail "the agent did not start capturing"; }

log "65,536 peers send one frame each, more or less"
mac_a=$(ip -n "$A" -br link show veth-a | awk '{print $3}')
source "$E2E_ROOT/scripts/lib/trafgen.sh"
udp64_trafgen "$mac_a" 10.208.0.1 2 5300 5300 > "$E2E_TMP/udp.trafgen"
flood=150000
ip netns exec "$B" trafgen --dev veth-b --conf "$E2E_TMP/udp.trafgen" -n "$flood" -b 50000pps -q > "$E2E_TMP/trafgen.log" 2>&1 \
    || fail "trafgen failed: $(cat "$E2E_TMP/trafgen.log")"
packets() { sample 'planet_capture_packets_total{interface="veth-a"}'; }
wait_for 20 bash -c "[ \$(ip netns exec $A curl -sf --compressed http://127.0.0.1:19100/metrics | awk 'index(\$0, \"planet_capture_packets_total{interface=\\\"veth-a\\\"} \") == 1 {print \$NF}') -ge $flood ]" \
    || fail "captured $(packets) packets, expected $flood"
size=$(ip netns exec "$A" curl -sf --max-time 20 http://127.0.0.1:19100/metrics | wc -c)
series=$(metrics | grep -c '^planet_traffic_bytes_total' || true)
log "a plain rendering: $size bytes, $series traffic series"
[ "$size" -ge $((4 << 20)) ] || fail "the exposition is too small to test with: $size bytes"
rss() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$agent/status"; }
baseline=$(rss)

log "$clients slow readers, each with a rendering of its own, for 30 s"
coproc SLOW { ip netns exec "$A" python3 "$E2E_ROOT/Tests/EndToEnd/slow_readers.py" 127.0.0.1 19100 "$clients" 30 "$agent"; }
E2E_PIDS+=($SLOW_PID)
exec {slow_out}<&"${SLOW[0]}"
# A scrape while they hold their responses gets the whole exposition.
wait_for 20 bash -c "[ \$(ip netns exec $A curl -sf --compressed http://127.0.0.1:19100/metrics | awk 'index(\$0, \"planet_web_connections_closed_total{reason=\\\"response_memory\\\"} \") == 1 {print \$NF}') -ge 1 ]" \
    || log "no slow reader cut at the bound yet"
metrics > "$E2E_TMP/during.prom" || fail "a scrape failed while slow readers held responses"
grep -q '^planet_web_response_memory_bytes ' "$E2E_TMP/during.prom" || fail "the scrape meanwhile was not whole"
read -r -t 90 result <&"$slow_out" || fail "slow_readers.py did not report"
log "slow readers: $result (RSS before: $baseline bytes)"
held=$(sample planet_web_response_memory_bytes)
cut=$(sample 'planet_web_connections_closed_total{reason="response_memory"}')
log "held now: $held bytes; cut at the bound: $cut"
python3 - "$result" "$baseline" "$bound" "$size" "$clients" "$cut" <<'PY' || fail "the slow readers held more than the bound"
import json, sys
r = json.loads(sys.argv[1]); baseline, bound, size, clients, cut = map(int, sys.argv[2:])
growth = r["peak_rss"] - baseline
# Without the bound every client holds a rendering: clients * size (about 250 MB here).
# With it: the bound, the rendering in progress, and what the allocator keeps besides.
allowed = bound + 3 * size + (48 << 20)
assert growth <= allowed, f"RSS grew by {growth} bytes, allowed {allowed} ({clients} renderings of {size} would be {clients * size})"
# The renderings that fit the bound are kept; every older one was released, its client cut.
assert r["open"] == 0 and r["cut"] + r["whole"] == clients, r
assert r["cut"] >= clients - bound // size - 4, r
assert 1 <= r["whole"] <= bound // size + 2, r
assert cut == r["cut"], (cut, r)
PY
echo "HTTP response memory end to end: ok"
