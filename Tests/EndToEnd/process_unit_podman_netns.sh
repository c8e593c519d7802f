#!/usr/bin/env bash
# process_unit of a process in a podman container: the Debian root the package tests use
# (mmdebstrap; no image registry is reachable) imported as an image, a container of it
# joined to the agent's network namespace, its process (comm pe-box) sending to a peer.
# Its bytes must land, exactly as tcpdump saw them, under process_unit = the container's
# name, which the agent reads from podman's containers.json without asking podman.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip tcpdump tshark curl python3 podman
require_agent

# crun refuses a hybrid cgroup host (v2 mounted beside v1 with controllers); runc runs there.
runtime=()
if command -v runc >/dev/null; then runtime=(--runtime runc); fi
IMAGE=localhost/planet-e2e-bookworm:latest
if ! podman image exists "$IMAGE"; then
    debian_root_tar
    podman import --quiet "$E2E_DEBIAN_ROOT" "$IMAGE" >/dev/null || fail "podman import of $E2E_DEBIAN_ROOT failed"
fi

A=pe-pod-a-$$ B=pe-pod-b-$$ NAME=pe-box-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.206.0.1/24 "$B" veth-b 10.206.0.2/24
TRICKLE=$(cd "$(dirname "$0")" && pwd)/trickle.py
in_ns_bg "$B" python3 "$TRICKLE" server pe-sink 10.206.0.2 7201 60
wait_for 10 bash -c "ip netns exec $B ss -ltn | grep -q ':7201'" || fail "server did not start"

# A long task interval: no reading falls between the client's close and its last packets.
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 60s \
    2> "$E2E_TMP/agent.log"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing on veth-a"
start_tcpdump "$A" veth-a "$E2E_TMP/reference.pcap" 'tcp port 7201'

log "container $NAME (podman ${runtime[*]}) in $A sends to 10.206.0.2:7201"
E2E_CONTAINERS+=("$NAME")
# Lowered limits: raising them is refused where the suite may itself run in a container.
podman "${runtime[@]}" run --name "$NAME" --network "ns:/run/netns/$A" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    -v "$TRICKLE:/trickle.py:ro" "$IMAGE" timeout 30 python3 /trickle.py client pe-box 10.206.0.1 10.206.0.2 7201 1000 20 4 \
    > "$E2E_TMP/container.log" 2>&1 || { cat "$E2E_TMP/container.log" >&2; fail "the container failed"; }

check() {
    ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics > "$E2E_TMP/metrics.txt" || return 1
    tshark -r "$E2E_TMP/reference.pcap" -n -T fields -e ip.src -e ip.dst -e ip.len > "$E2E_TMP/reference.txt" 2>/dev/null || return 1
    python3 "$(dirname "$0")/unit_bytes.py" "$E2E_TMP/metrics.txt" "$E2E_TMP/reference.txt" 10.206.0.2 7201 pe-box "10.206.0.1=$NAME"
}
wait_for 20 check || true
stop_tcpdump
check || fail "the container's bytes are not under process_unit=\"$NAME\""
echo "process unit in a podman container: ok"
