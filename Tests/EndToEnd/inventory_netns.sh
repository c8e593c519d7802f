#!/usr/bin/env bash
# Inventory end to end: the agent fetches its inventory over real HTTP from a local
# server; traffic from a peer namespace gets the peer's hostgroup and domain, the host
# its own. The inventory then changes (the next refresh shows it), breaks (the last good
# one stays, success drops to 0, the error counter rises) and its server goes away
# (same). Refresh is every 25 task intervals, as the Go original; the test uses 200ms.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 promtool
require_agent

A=pe-inv-a-$$ B=pe-inv-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.203.0.1/24 "$B" veth-b 10.203.0.2/24

mkdir -p "$E2E_TMP/www"
cat > "$E2E_TMP/www/inventory.json" <<'JSON'
[
  {"ip_address": "10.203.0.1", "domain": "self.example", "hostgroup": "self-group"},
  {"ip_address": "10.203.0.2", "domain": "one.example", "hostgroup": "peer-one"},
  {"ip_address": "10.203.0.0/24", "domain": "", "hostgroup": "the-lan"}
]
JSON
in_ns_bg "$A" python3 -m http.server 8000 --bind 127.0.0.1 --directory "$E2E_TMP/www"
SERVER_PID=${E2E_PIDS[-1]}
wait_for 10 scrape "$A" http://127.0.0.1:8000/inventory.json || fail "inventory server did not start"

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 200ms \
    -task-inventory-enabled -task-inventory-addr http://127.0.0.1:8000/inventory.json -task-inventory-format arrayjson
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing"
send() { ip netns exec "$B" python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); [s.sendto(b"x" * 100, ("10.203.0.1", 5353)) for _ in range(10)]'; }
metrics() { ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics; }
has() { metrics | matches -F "$1"; }
send

log "first inventory: peer and host labelled"
wait_for 20 has 'remote_domain="one.example",remote_hostgroup="peer-one",remote_ip="10.203.0.2"' || { metrics | grep planet_traffic_bytes; fail "peer not labelled from the inventory"; }
has 'local_domain="self.example",local_hostgroup="self-group"' || { metrics | grep -E "planet_traffic_bytes|planet_hostname"; fail "host not labelled"; }
has 'planet_hostname{domain="self.example",hostname="' || fail "planet_hostname lacks the host's domain"
has 'planet_scrape_collector_success{collector="inventory"} 1' || fail "inventory collector not successful"
metrics | promtool check metrics || fail "promtool rejects the exposition"

log "changed inventory: the next refresh shows it"
cat > "$E2E_TMP/changed.json" <<'JSON'
[
  {"ip_address": "10.203.0.1", "domain": "self.example", "hostgroup": "self-group"},
  {"ip_address": "10.203.0.0/24", "domain": "lan.example", "hostgroup": "the-lan"}
]
JSON
cp "$E2E_TMP/changed.json" "$E2E_TMP/www/inventory.json"
wait_for 20 has 'remote_domain="lan.example",remote_hostgroup="the-lan",remote_ip="10.203.0.2"' || fail "refreshed inventory not shown"

log "broken inventory: last good one stays, success 0, errors counted"
errors_before=$(metrics | awk '/^planet_inventory_errors_total / {print $2}')
echo '[{"ip_address": "10.203.0.2", "hostgroup": "broken"' > "$E2E_TMP/www/inventory.json"
wait_for 20 has 'planet_scrape_collector_success{collector="inventory"} 0' || fail "broken inventory not reported"
has 'remote_hostgroup="the-lan",remote_ip="10.203.0.2"' || fail "last good inventory was dropped"
errors_after=$(metrics | awk '/^planet_inventory_errors_total / {print $2}')
[ "$errors_after" -gt "$errors_before" ] || fail "error counter did not rise ($errors_before -> $errors_after)"

log "inventory server gone: still serving the last good labels, errors counted"
# A good inventory first, so that success and the error counter start from a healthy state.
cp "$E2E_TMP/changed.json" "$E2E_TMP/www/inventory.json"
wait_for 20 has 'planet_scrape_collector_success{collector="inventory"} 1' || fail "repaired inventory not loaded"
errors_before=$(metrics | awk '/^planet_inventory_errors_total / {print $2}')
kill "$SERVER_PID"
errors_rose() { local now; now=$(metrics | awk '/^planet_inventory_errors_total / {print $2}'); [ -n "$now" ] && [ "$now" -gt "$errors_before" ]; }
wait_for 20 errors_rose || fail "error counter did not rise when the server went away (was $errors_before)"
has 'planet_scrape_collector_success{collector="inventory"} 0' || fail "unreachable inventory not reported"
has 'remote_hostgroup="the-lan",remote_ip="10.203.0.2"' || fail "labels lost when the server went away"
echo "inventory end to end: ok"
