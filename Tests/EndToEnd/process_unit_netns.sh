#!/usr/bin/env bash
# process_unit end to end: two client processes with the same name (comm), each in a
# cgroup v2 group made for the test (system.slice/pe-a-PID.service and pe-b-PID.service),
# send to the same server in a peer namespace, each from its own address. Their bytes
# must land in two planet_traffic_bytes_total series that differ only in process_unit,
# each exactly what tcpdump saw from that client's address; planet_upstream and the API
# name the two units; an agent run with -process-unit-label=false has no process_unit.
# A process in a container: process_unit_podman_netns.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip tcpdump tshark curl python3
require_agent

A=pe-unit-a-$$ B=pe-unit-b-$$
UNIT_A=pe-a-$$.service UNIT_B=pe-b-$$.service
new_cgroup "system.slice/$UNIT_A"
new_cgroup "system.slice/$UNIT_B"
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.203.0.1/24 "$B" veth-b 10.203.0.2/24
ip -n "$A" addr add 10.203.0.3/24 dev veth-a
TRICKLE="$(dirname "$0")/trickle.py"

in_ns_bg "$B" python3 "$TRICKLE" server pe-sink 10.203.0.2 7101 60
wait_for 10 bash -c "ip netns exec $B ss -ltn | grep -q ':7101'" || fail "server did not start"

# A long task interval: the only readings are the first and the early ones new
# connections ask for, so none falls between a client's close and its last packets.
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 60s \
    -log-level debug 2> "$E2E_TMP/agent.log"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing on veth-a"
start_tcpdump "$A" veth-a "$E2E_TMP/reference.pcap" 'tcp port 7101'

log "two pe-worker processes, in $UNIT_A and $UNIT_B, send to 10.203.0.2:7101"
in_cgroup_bg "system.slice/$UNIT_A" "$A" timeout 30 python3 "$TRICKLE" client pe-worker 10.203.0.1 10.203.0.2 7101 1000 20 4
alpha=$!
in_cgroup_bg "system.slice/$UNIT_B" "$A" timeout 30 python3 "$TRICKLE" client pe-worker 10.203.0.3 10.203.0.2 7101 700 20 4
beta=$!
wait $alpha || fail "client in $UNIT_A failed"
wait $beta || fail "client in $UNIT_B failed"

check() {
    ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics > "$E2E_TMP/metrics.txt" || return 1
    tshark -r "$E2E_TMP/reference.pcap" -n -T fields -e ip.src -e ip.dst -e ip.len > "$E2E_TMP/reference.txt" 2>/dev/null || return 1
    python3 "$(dirname "$0")/unit_bytes.py" "$E2E_TMP/metrics.txt" "$E2E_TMP/reference.txt" 10.203.0.2 7101 pe-worker \
        "10.203.0.1=$UNIT_A" "10.203.0.3=$UNIT_B"
}
# The last packets of the connections' close may still be on their way: wait until the
# agent agrees with tcpdump.
wait_for 20 check || true
stop_tcpdump
if ! check; then
    grep -E 'socket table read|level=(warning|error)' "$E2E_TMP/agent.log" | tail -15
    fail "bytes per process unit do not match"
fi

log "planet_upstream has an edge per unit, the API names the units"
edges() {
    ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics | grep '^planet_upstream{' | grep 'port="7101"' || true
}
for unit in "$UNIT_A" "$UNIT_B"; do
    edges | matches "process_name=\"pe-worker\",process_unit=\"$unit\"" || fail "no planet_upstream edge in $unit: $(edges)"
done
peers=$(ip netns exec "$A" curl -sf http://127.0.0.1:19100/api/v1/peers)
peer=$(ip netns exec "$A" curl -sf http://127.0.0.1:19100/api/v1/peers/10.203.0.2)
for unit in "$UNIT_A" "$UNIT_B"; do
    grep -q "\"process_units\":\[[^]]*\"$unit\"" <<<"$peers" || fail "/api/v1/peers does not list $unit: $peers"
    grep -q "\"process\":\"pe-worker\",\"process_unit\":\"$unit\"" <<<"$peer" || fail "/api/v1/peers/10.203.0.2 has no series in $unit: $peer"
done

log "-process-unit-label=false: no process_unit anywhere"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -capture-interfaces veth-a -task-interval 1s \
    -process-unit-label=false 2> "$E2E_TMP/agent-off.log"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19101/metrics | grep -q '^planet_server_process{'" \
    || fail "second agent did not read the socket table"
ip netns exec "$A" curl -sf http://127.0.0.1:19101/metrics > "$E2E_TMP/off.txt"
if grep -q 'process_unit' "$E2E_TMP/off.txt"; then fail "process_unit with -process-unit-label=false"; fi
echo "process unit end to end: ok"
