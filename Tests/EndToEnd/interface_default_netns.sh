#!/usr/bin/env bash
# The default interface selection end to end (no -capture-interfaces): interfaces with an
# address beyond link-local are captured, one with only an IPv6 link-local address (a
# container's veth) is not; the number is bounded by -capture-max-interfaces and what is
# left out is counted; a default-selected interface that goes away is closed without
# being a failure: planet_scrape_collector_success{collector="capture"} stays (or comes
# back to) 1, and its counters move to interface="" so they never go backwards.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3
require_agent

A=pe-dif-a-$$ B=pe-dif-b-$$ C=pe-dif-c-$$ D=pe-dif-d-$$
new_netns "$A"; new_netns "$B"; new_netns "$C"; new_netns "$D"
# No IPv6 chatter on the interfaces whose packets are counted.
without_ipv6 "$A" "$B" "$C" "$D"
veth_pair "$A" veth-v4 10.206.0.1/24 "$B" veth-b 10.206.0.2/24
veth_pair "$A" veth-gone 10.207.0.1/24 "$C" veth-c 10.207.0.2/24
# An interface with no address of its own but the IPv6 link-local one the kernel gives it.
ip link add veth-ll netns "$A" type veth peer name veth-d netns "$D"
ip netns exec "$A" sysctl -qw net.ipv6.conf.veth-ll.disable_ipv6=0
ip -n "$A" link set veth-ll up
ip -n "$D" link set veth-d up
wait_for 10 bash -c "ip -n $A -6 addr show dev veth-ll scope link | grep -q fe80" || fail "veth-ll got no link-local address"

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -task-interval 300ms -task-socketstat-enabled=false \
    2> "$E2E_TMP/agent.log"
metrics() { ip netns exec "$A" curl -sf "http://127.0.0.1:${1:-19100}/metrics"; }
has() { metrics "${2:-19100}" | matches -F "$1"; }
# value SERIES [PORT]: the value of one sample ("" when absent).
value() { metrics "${2:-19100}" | awk -v s="$1" 'index($0, s " ") == 1 { print $2 }'; }
at_least() { local v; v=$(value "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
send() { ip netns exec "$2" python3 -c "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b'x' * 100, ('$1', 5353)) for _ in range(5)]"; }

log "default selection: veth-v4 and veth-gone captured, veth-ll (link-local only) not"
wait_for 30 has 'planet_capture_packets_total{interface="veth-gone"}' || { metrics | grep planet_capture_packets; fail "veth-gone not captured"; }
has 'planet_capture_packets_total{interface="veth-v4"}' || fail "veth-v4 not captured"
if metrics | matches 'interface="veth-ll"'; then fail "veth-ll has only a link-local address and is captured"; fi
wait_for 10 has 'planet_scrape_collector_success{collector="capture"} 1' || fail "capture not successful"
has 'planet_capture_skipped_interfaces 0' || fail "skipped interfaces not 0"
send 10.207.0.1 "$C"
wait_for 10 at_least 'planet_capture_packets_total{interface="veth-gone"}' 5 || { metrics | grep planet_capture_packets; fail "traffic on veth-gone not counted"; }
gone=$(value 'planet_capture_packets_total{interface="veth-gone"}')

log "veth-gone goes away: closed, not a failure; its $gone packets and more kept under interface=\"\""
ip -n "$A" link del veth-gone
wait_for 15 at_least 'planet_capture_packets_total{interface=""}' "$gone" || { metrics | grep planet_capture_packets; fail "the departed interface's counters were not kept"; }
if metrics | matches 'interface="veth-gone"'; then fail "veth-gone still has its own series"; fi
wait_for 15 grep -q 'interface veth-gone is gone' "$E2E_TMP/agent.log" || { cat "$E2E_TMP/agent.log"; fail "closing veth-gone was not logged"; }
has 'planet_scrape_collector_success{collector="capture"} 1' || { metrics | grep planet_scrape_collector; fail "capture success is not 1 after veth-gone went away"; }
if grep 'level=error' "$E2E_TMP/agent.log" | matches 'veth-gone.*reopening'; then fail "veth-gone is retried as a failure"; fi
send 10.206.0.1 "$B"
wait_for 10 at_least 'planet_capture_packets_total{interface="veth-v4"}' 5 || fail "veth-v4 stopped counting"

log "-capture-max-interfaces 1: one interface captured, the other counted as skipped"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -task-interval 300ms -task-socketstat-enabled=false \
    -capture-max-interfaces 1
wait_for 30 has 'planet_capture_skipped_interfaces 0' 19101 || fail "second agent not serving"
veth_pair "$A" veth-more 10.208.0.1/24 "$C" veth-c2 10.208.0.2/24
wait_for 15 has 'planet_capture_skipped_interfaces 1' 19101 || { metrics 19101 | grep -E 'planet_capture_(packets|skipped)'; fail "the interface past the bound is not counted"; }
[ "$(metrics 19101 | grep -c '^planet_capture_packets_total{interface="veth')" -eq 1 ] || { metrics 19101 | grep planet_capture_packets; fail "more interfaces than the bound captured"; }
echo "default interface selection end to end: ok"
