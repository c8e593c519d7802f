#!/usr/bin/env bash
# What a capture on demand (/api/v1/capture) costs the agent, beside tcpdump writing the
# same packets. Per round, the same trafgen flood (FRAMES 64-byte frames from 65,536 peers
# at RATE frames/s on a veth) is offered to: the agent alone; the agent while a capture
# runs whose filter takes none of the flood (a second handle only); the agent while a
# capture writes the whole flood; and `tcpdump -p -w FILE` with that filter. Prints the
# CPU (user + system) each took over the flood, and the drops of the counting handle.
# Needs root, trafgen, tcpdump, htpasswd and a release build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/Tests/EndToEnd/lib.sh"
source "$ROOT/scripts/lib/trafgen.sh"
require_root
require_cmd ip trafgen tcpdump htpasswd curl
require_agent
ROUNDS=${ROUNDS:-3} FRAMES=${FRAMES:-200000} RATE=${RATE:-100000}

A=pe-odb-a-$$ B=pe-odb-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.219.0.1/24 "$B" veth-b 10.219.0.2/24
printf 'basic_auth_users:\n  bench: %s\n' "$(htpasswd -nbBC 10 "" bench | tr -d ':\n')" > "$E2E_TMP/web.yml"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-socketstat-enabled=false \
    -web.config.file "$E2E_TMP/web.yml" -web.capture-enabled 2> "$E2E_TMP/agent.log"
agent=${E2E_PIDS[-1]}
api=http://127.0.0.1:19100
wait_for 30 bash -c "ip netns exec $A curl -sf -u bench:bench $api/metrics | grep -q 'interface=\"veth-a\"'" || fail "the agent did not start"
udp64_trafgen "$(ip -n "$A" -br link show veth-a | awk '{print $3}')" 10.219.0.1 2 > "$E2E_TMP/udp.trafgen"
seconds=$(( FRAMES / RATE + 3 ))

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
flood() { ip netns exec "$B" trafgen --dev veth-b --conf "$E2E_TMP/udp.trafgen" -n "$FRAMES" -b "${RATE}pps" -q > /dev/null 2>&1; sleep 0.5; }
cpu() { python3 -c "import os; print(f'{$1 / os.sysconf(\"SC_CLK_TCK\"):.2f} s')"; }

agent_round() {  # agent_round NAME [FILTER]: the agent's CPU over one flood, with a capture of FILTER running
    local client="" before
    if [ $# -ge 2 ]; then
        ip netns exec "$A" curl -sN --max-time $((seconds + 10)) -u bench:bench -o "$E2E_TMP/c.pcapng" -G "$api/api/v1/capture" \
            --data-urlencode "filter=$2" -d seconds="$seconds" -d max_bytes=67108864 &
        client=$!
        wait_for 10 test -s "$E2E_TMP/c.pcapng" || fail "the capture did not start"
    fi
    before=$(ticks "$agent")
    flood
    printf '  %-34s %s\n' "$1" "$(cpu $(( $(ticks "$agent") - before )))"
    if [ -n "$client" ]; then wait "$client" || true; rm -f "$E2E_TMP/c.pcapng"; fi
}

tcpdump_round() {  # tcpdump writing the flood, as the capture does
    start_tcpdump "$A" veth-a "$E2E_TMP/t.pcap" "udp port 53"
    local before
    before=$(ticks "$TCPDUMP_PID")
    flood
    printf '  %-34s %s\n' "tcpdump -p -w, udp port 53" "$(cpu $(( $(ticks "$TCPDUMP_PID") - before )))"
    stop_tcpdump
    rm -f "$E2E_TMP/t.pcap"
}

echo "$FRAMES frames at $RATE/s, $ROUNDS rounds; CPU over each flood:"
for round in $(seq 1 "$ROUNDS"); do
    echo " round $round"
    agent_round "agent, no capture"
    agent_round "agent, capture of tcp port 9" "tcp port 9"
    agent_round "agent, capture of udp port 53" "udp port 53"
    tcpdump_round
done
ip netns exec "$A" curl -sf -u bench:bench "$api/metrics" | grep -E '^planet_capture_(packets|dropped_packets|ring_dropped_packets)_total'
grep 'capture by' "$E2E_TMP/agent.log" | sed 's/.*msg=/  /'
