#!/usr/bin/env bash
# replay --inventory labels local_hostgroup/local_domain from the host whose capture it
# is: the inventory entry of the single address given with --local-net, not the machine
# running the replay. Needs no root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_agent

cat > "$E2E_TMP/inventory.ndjson" <<'JSON'
{"ip_address":"10.0.0.5","hostgroup":"captured-host","domain":"db1.example"}
{"ip_address":"203.0.113.20","hostgroup":"postgres","domain":"pg.example"}
JSON
capture=$E2E_ROOT/Fixtures/pcap/ipv4.pcap

log "--local-net 10.0.0.5/32: the local labels are 10.0.0.5's"
"$PLANET_EXPORTER" replay "$capture" --local-net 10.0.0.5/32 --inventory "$E2E_TMP/inventory.ndjson" \
    --inventory-format ndjson > "$E2E_TMP/out.prom"
grep -q '^planet_traffic_bytes_total{' "$E2E_TMP/out.prom" || fail "no traffic series"
if grep '^planet_traffic_bytes_total{' "$E2E_TMP/out.prom" | grep -v 'local_domain="db1.example",local_hostgroup="captured-host"'; then
    fail "series without the captured host's labels"
fi
grep -q 'remote_domain="pg.example",remote_hostgroup="postgres",remote_ip="203.0.113.20"' "$E2E_TMP/out.prom" || fail "peer not labelled"

log "several single addresses: the first the inventory knows names the host"
"$PLANET_EXPORTER" replay "$capture" --local-net 10.0.0.7 --local-net 10.0.0.5/32 --inventory "$E2E_TMP/inventory.ndjson" \
    --inventory-format ndjson > "$E2E_TMP/several.prom"
grep '^planet_traffic_bytes_total{' "$E2E_TMP/several.prom" | matches 'local_domain="db1.example",local_hostgroup="captured-host"' \
    || fail "the known address of several did not name the host"

log "--local-net naming a single address the inventory does not know: empty local labels"
grep -v '"10.0.0.5"' "$E2E_TMP/inventory.ndjson" > "$E2E_TMP/peers-only.ndjson"
"$PLANET_EXPORTER" replay "$capture" --local-net 10.0.0.5/32 --inventory "$E2E_TMP/peers-only.ndjson" \
    --inventory-format ndjson > "$E2E_TMP/unknown.prom"
grep -q '^planet_traffic_bytes_total{' "$E2E_TMP/unknown.prom" || fail "no traffic series for the unknown host"
if grep '^planet_traffic_bytes_total{' "$E2E_TMP/unknown.prom" | grep -v 'local_domain="",local_hostgroup=""'; then
    fail "an unknown host got local labels"
fi
echo "replay inventory labels: ok"
