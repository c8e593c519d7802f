#!/usr/bin/env bash
# An interface that cannot be opened, or that goes away, costs one clear log line: the
# agent keeps serving, keeps capturing on its other interfaces, shows
# planet_scrape_collector_success{collector="capture"} 0, and reopens the interface when
# it comes back.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3
require_agent

A=pe-if-a-$$ B=pe-if-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.204.0.1/24 "$B" veth-b 10.204.0.2/24
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a,nosuch0 \
    -task-interval 300ms -log-level debug 2> "$E2E_TMP/agent.log" &
E2E_PIDS+=($!)
metrics() { ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics; }
has() { metrics | matches -F "$1"; }
send() { ip netns exec "$B" python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"x" * 100, ("10.204.0.1", 5353)) for _ in range(5)]'; }

log "a missing interface: logged once, capture success 0, the other interface counts"
wait_for 30 has 'planet_capture_packets_total{interface="veth-a"}' || fail "veth-a not captured"
send
wait_for 10 has 'remote_ip="10.204.0.2"} 640' || { metrics | grep planet_traffic; fail "traffic on veth-a not counted"; }
has 'planet_scrape_collector_success{collector="capture"} 0' || fail "capture success should be 0 with nosuch0 missing"
retried() { [ "$(grep -c 'interface nosuch0.*still retrying' "$E2E_TMP/agent.log")" -ge 3 ]; }
wait_for 10 retried || { cat "$E2E_TMP/agent.log"; fail "nosuch0 was not retried"; }
[ "$(grep 'level=error' "$E2E_TMP/agent.log" | grep -c 'interface nosuch0')" -eq 1 ] || { cat "$E2E_TMP/agent.log"; fail "nosuch0 should be logged exactly once"; }
grep 'level=error' "$E2E_TMP/agent.log" | grep 'interface nosuch0' | matches 'no such device' || fail "the log line does not say what is wrong"

log "veth-a goes away: logged, still serving; it comes back: captured again, counters kept"
ip -n "$A" link del veth-a
wait_for 10 bash -c "grep 'level=error' $E2E_TMP/agent.log | grep -q veth-a" || { cat "$E2E_TMP/agent.log"; fail "losing veth-a was not logged"; }
has 'planet_exporter_build_info' || fail "agent stopped serving"
veth_pair "$A" veth-a 10.204.0.1/24 "$B" veth-b 10.204.0.2/24
wait_for 20 bash -c "[ \$(grep -c 'msg=capturing.*veth-a' $E2E_TMP/agent.log) -ge 2 ]" || { cat "$E2E_TMP/agent.log"; fail "veth-a not reopened"; }
# It may have reopened veth-a before the address was added.
wait_for 10 agent_read_address "$E2E_TMP/agent.log" 10.204.0.1 || { cat "$E2E_TMP/agent.log"; fail "the agent did not read 10.204.0.1 back"; }
send
wait_for 10 has 'remote_ip="10.204.0.2"} 1280' || { metrics | grep 'planet_traffic_bytes'; cat "$E2E_TMP/agent.log"; fail "traffic after reopening not counted on top of the old"; }
echo "interface failures end to end: ok"
