#!/usr/bin/env bash
# The HTTP server cannot be held: 200 connections that send nothing and 50 that send half
# a request head (a byte a second after it, slowloris style) fill the connection cap;
# scrapes are still answered in time meanwhile, every stalled connection is closed by the
# server (evicted at the cap or past the header timeout), the agent's file descriptors
# return to where they were, and capture drops nothing under a trafgen flood that runs at
# the same time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 trafgen
require_agent

A=pe-lim-a-$$ B=pe-lim-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.207.0.1/24 "$B" veth-b 10.207.0.2/24
header_timeout=3 cap=100
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a \
    -capture-local-net 10.207.0.0/24 -task-socketstat-enabled=false \
    -web.read-header-timeout "${header_timeout}s" -web.idle-timeout 5s -web.max-connections "$cap" \
    2> "$E2E_TMP/agent.log" &
agent=$!
E2E_PIDS+=($agent)
metrics() { ip netns exec "$A" curl -sf --max-time 5 http://127.0.0.1:19100/metrics; }
sample() { metrics | awk -v name="$1" 'index($0, name" ") == 1 { print $NF }'; }
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'interface=\"veth-a\"'" \
    || { cat "$E2E_TMP/agent.log"; fail "the agent did not start capturing"; }
metrics > /dev/null
fds() { ls "/proc/$agent/fd" | wc -l; }
baseline=$(fds)
packets_before=$(sample 'planet_capture_packets_total{interface="veth-a"}')

# 64-byte frames to veth-a from random peers in 198.18.0.0/16.
mac_a=$(ip -n "$A" -br link show veth-a | awk '{print $3}')
source "$E2E_ROOT/scripts/lib/trafgen.sh"
udp64_trafgen "$mac_a" 10.207.0.1 2 > "$E2E_TMP/udp.trafgen"

cat > "$E2E_TMP/stall.py" <<'PY'
# Opens the stalled clients, says "ready", then reports when the server closed each one.
import json, select, socket, sys, time
idle = [socket.create_connection(("127.0.0.1", 19100)) for _ in range(200)]
half = []
for _ in range(50):
    s = socket.create_connection(("127.0.0.1", 19100))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    half.append(s)
start = time.monotonic()
print("ready", flush=True)
open_ = {s.fileno(): s for s in idle + half}
closed_after = []
next_byte = start + 1
while open_ and time.monotonic() - start < 30:
    if time.monotonic() >= next_byte:
        next_byte += 1
        for s in half:
            if s.fileno() in open_:
                try:
                    s.send(b"X")  # a header byte a second never completes the head
                except OSError:
                    pass
    ready, _, _ = select.select(list(open_), [], [], 0.05)
    for fd in ready:
        try:
            data = open_[fd].recv(4096)
        except OSError:
            data = b""
        if not data:
            closed_after.append(time.monotonic() - start)
            open_.pop(fd).close()
print(json.dumps({"closed": len(closed_after), "still_open": len(open_),
                  "last_close": max(closed_after, default=0)}), flush=True)
PY

log "250 stalled clients against a cap of $cap, a trafgen flood, scrapes meanwhile"
coproc STALL { ip netns exec "$A" python3 "$E2E_TMP/stall.py"; }
E2E_PIDS+=($STALL_PID)
# A copy of its output: bash forgets STALL when the coprocess exits, before it is read.
exec {stall_out}<&"${STALL[0]}"
read -r -t 30 ready <&"$stall_out" || fail "the stalled clients did not connect"
[ "$ready" = ready ] || fail "stall.py: $ready"
flood=200000
ip netns exec "$B" trafgen --dev veth-b --conf "$E2E_TMP/udp.trafgen" -n "$flood" -b 100000pps -q > "$E2E_TMP/trafgen.log" 2>&1 &
trafgen_pid=$!
E2E_PIDS+=($trafgen_pid)
slowest=0
for i in $(seq 1 8); do
    took=$(ip netns exec "$A" curl -sf -o /dev/null -w '%{time_total}' --max-time 2 http://127.0.0.1:19100/metrics) \
        || fail "scrape $i was not answered within 2 s while the cap was held"
    slowest=$(python3 -c "print(max($slowest, $took))")
    sleep 0.25
done
log "8 scrapes answered while stalled; slowest took ${slowest}s"
wait "$trafgen_pid" || fail "trafgen failed: $(cat "$E2E_TMP/trafgen.log")"
read -r -t 40 result <&"$stall_out" || fail "the stalled clients were not all closed"
log "stalled clients: $result"
python3 - "$result" "$header_timeout" <<'PY' || fail "stalled connections were held"
import json, sys
r = json.loads(sys.argv[1]); timeout = float(sys.argv[2])
assert r["closed"] == 250 and r["still_open"] == 0, r
# Closed by the cap or by the header timeout, with a margin for a loaded machine.
assert r["last_close"] <= timeout + 3, r
PY

log "evicted at the cap and closed at the header timeout, as counted"
reasons=$(metrics | grep '^planet_web_connections_closed_total')
log "$(tr '\n' ' ' <<<"$reasons")"
evicted=$(awk -F' ' '/reason="evicted"/ {print $NF}' <<<"$reasons")
timed_out=$(awk -F' ' '/reason="header_timeout"/ {print $NF}' <<<"$reasons")
[ "$evicted" -ge 150 ] || fail "expected at least 150 connections evicted at the cap of $cap, got $evicted"
[ "$timed_out" -ge 1 ] || fail "no connection closed at the header timeout"

log "file descriptors return to where they were ($baseline)"
wait_for 15 bash -c "[ \$(ls /proc/$agent/fd | wc -l) -le $baseline ]" || fail "the agent holds $(fds) descriptors, $baseline before"

log "capture dropped nothing under the flood"
wait_for 10 bash -c "[ \$(ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | awk 'index(\$0, \"planet_capture_packets_total{interface=\\\"veth-a\\\"} \") == 1 {print \$NF}') -ge $((packets_before + flood)) ]" \
    || fail "captured $(sample 'planet_capture_packets_total{interface="veth-a"}') packets, expected at least $((packets_before + flood))"
[ "$(sample 'planet_capture_dropped_packets_total{interface="veth-a"}')" = 0 ] || fail "the kernel dropped packets"
[ "$(sample 'planet_capture_ring_dropped_packets_total{interface="veth-a"}')" = 0 ] || fail "the ring dropped packets"
echo "HTTP limits end to end: ok"
