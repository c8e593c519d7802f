#!/usr/bin/env bash
# What an operator sees of a running agent: its threads named in /proc (top -H, ps -L),
# every thread asleep while there is no traffic and the packets counted as soon as they come,
# bytes of new local endpoints held for a socket-table reading, the early reading the host
# asks for by sending from one (the task interval is a minute, so only an early one can
# come in time), where packets that only arrive at a closed port ask for none, the kernel's drop
# counter, and /metrics gzip-compressed for a scraper that asks for it (curl as the
# client, gzip -d as the decoder), plain for one that does not.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 gzip
require_agent

A=pe-thr-a-$$ B=pe-thr-b-$$
new_netns "$A"; new_netns "$B"
# No IPv6 on the link: its chatter would be real traffic during the idle window below.
without_ipv6 "$A" "$B"
veth_pair "$A" veth-a 10.201.0.1/24 "$B" veth-b 10.201.0.2/24

PORT=19100
log "starting the agent in $A (socket table on, capture on veth-a, task interval 60s)"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address "127.0.0.1:$PORT" -task-interval 60s
AGENT_PID=${E2E_PIDS[-1]}
metrics() { ip netns exec "$A" curl -sf --max-time 10 "$@" "http://127.0.0.1:$PORT/metrics"; }
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$PORT/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing on veth-a"

threads() { cat /proc/"$AGENT_PID"/task/*/comm 2>/dev/null; }
log "threads: $(threads | sort | uniq -c | awk '{printf "%s x%s, ", $2, $1}')"
# Read once, then searched: `grep -q` in a pipe exits at its first match, and under
# pipefail the reader's SIGPIPE would fail the check now and then.
names=$(threads)
grep -qx 'pe-cap-veth-a' <<< "$names" || fail "no capture thread named pe-cap-veth-a"
grep -qx 'pe-aggregator' <<< "$names" || fail "no thread named pe-aggregator"
grep -qx 'pe-sockets' <<< "$names" || fail "no thread named pe-sockets"
grep -qx 'pe-history' <<< "$names" || fail "no thread named pe-history"

# How often each thread of the agent has been switched out, summed.
switches() { cat /proc/"$AGENT_PID"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {n += $2} END {print n}'; }
# A measured window, not a wait: a thread that polled (the aggregator once did, every
# 500 us) would be switched out thousands of times in it; the history's once-a-second
# sample and a timer or two of the HTTP server's are what an idle agent does.
idle_before=$(switches); sleep 2; idle_after=$(switches)
log "wake-ups of all the agent's threads in 2 s of no traffic: $((idle_after - idle_before))"
[ $((idle_after - idle_before)) -lt 20 ] || fail "the agent wakes while idle: $((idle_after - idle_before)) times in 2 s"

# send NAMESPACE ADDRESS: 10 UDP datagrams of 100 IP bytes each to ADDRESS port 9999,
# where nothing listens, from a new socket.
send() {
    ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(10): s.sendto(b"x" * 72, (sys.argv[1], 9999))' "$2"
}
log "UDP from $B to a closed port: counted as soon as it comes, held for a reading"
send "$B" 10.201.0.1
# Held, not read early: only the host sending from an endpoint asks for an early reading.
wait_for 15 bash -c "ip netns exec $A curl -sf http://127.0.0.1:$PORT/metrics | grep -q '^planet_traffic_held_bytes 1000\$'" \
    || fail "the datagrams were not held: $(metrics | grep -E '^planet_traffic_held_bytes|10\.201\.0\.2')"
log "UDP from $A: its new endpoint asks for an early reading, which settles both"
send "$A" 10.201.0.2
counted() {
    local series
    series=$(ip netns exec "$A" curl -sf http://127.0.0.1:$PORT/metrics | grep '^planet_traffic_bytes_total{.*protocol="udp".*remote_ip="10.201.0.2"}') || return 1
    grep -q 'direction="ingress".* 1000$' <<< "$series" && grep -q 'direction="egress".* 1000$' <<< "$series"
}
wait_for 15 counted || fail "the datagrams were not counted: $(metrics | grep -E '^planet_traffic_held_bytes|10\.201\.0\.2')"

log "gzip when asked for, plain when not"
ip netns exec "$A" curl -sf -D "$E2E_TMP/gzip.headers" -H 'Accept-Encoding: gzip' -o "$E2E_TMP/metrics.gz" "http://127.0.0.1:$PORT/metrics"
grep -qi '^content-encoding: gzip' "$E2E_TMP/gzip.headers" || fail "no Content-Encoding: gzip: $(cat "$E2E_TMP/gzip.headers")"
gzip -dc "$E2E_TMP/metrics.gz" > "$E2E_TMP/metrics.unzipped" || fail "the gzip body does not decode"
ip netns exec "$A" curl -sf -D "$E2E_TMP/plain.headers" -o "$E2E_TMP/metrics.plain" "http://127.0.0.1:$PORT/metrics"
grep -qi '^content-encoding' "$E2E_TMP/plain.headers" && fail "a plain scrape came encoded: $(cat "$E2E_TMP/plain.headers")"
# Same families and series, values aside (a second apart, counters and durations move).
names() { grep -v '^#' "$1" | sed 's/ [^ ]*$//' | sort; }
diff <(names "$E2E_TMP/metrics.unzipped") <(names "$E2E_TMP/metrics.plain") > "$E2E_TMP/names.diff" \
    || fail "gzip and plain scrapes differ in their series: $(head -5 "$E2E_TMP/names.diff")"
grep -q '^planet_capture_dropped_packets_total{interface="veth-a"} 0$' "$E2E_TMP/metrics.plain" \
    || fail "no kernel drop counter for veth-a"
log "ok: $(grep -c . "$E2E_TMP/metrics.plain") lines, $(stat -c %s "$E2E_TMP/metrics.gz") bytes gzipped"
