#!/usr/bin/env bash
# darkstat and ebpf_exporter tasks end to end: the agent scrapes saved darkstat and
# ebpf_exporter outputs over real HTTP from a local server, publishes them as
# planet_traffic_bytes_total and planet_ebpf_traffic_bytes_total; then the endpoints
# serve garbage and go away: one clear error each, success 0, last good values kept.
# Runs on loopback only, with capture off, so it needs no root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_cmd curl python3 promtool
require_agent

WWW=$E2E_TMP/www
mkdir -p "$WWW"
cp "$E2E_ROOT/Fixtures/migration/darkstat-metrics.prom" "$WWW/darkstat"
cp "$E2E_ROOT/Fixtures/migration/ebpf-tcptop-metrics.prom" "$WWW/ebpf"
WEB_PORT=$(free_port)
python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$WWW" 2>/dev/null &
WEB_PID=$!
E2E_PIDS+=($WEB_PID)
wait_for 10 curl -sf "http://127.0.0.1:$WEB_PORT/darkstat" || fail "fixture server did not start"

AGENT_PORT=$(free_port)
"$PLANET_EXPORTER" -listen-address "127.0.0.1:$AGENT_PORT" -task-interval 300ms -task-capture-enabled=false \
    -task-socketstat-enabled=false -task-darkstat-enabled -task-darkstat-addr "http://127.0.0.1:$WEB_PORT/darkstat" \
    -task-ebpf-enabled -task-ebpf-addr "http://127.0.0.1:$WEB_PORT/ebpf" 2> "$E2E_TMP/agent.log" &
E2E_PIDS+=($!)
metrics() { curl -sf "http://127.0.0.1:$AGENT_PORT/metrics"; }
has() { metrics | matches -F "$1"; }

log "darkstat: dir=\"out\" is ingress, dir=\"in\" egress; ports, protocol and process empty"
wait_for 20 has 'planet_traffic_bytes_total{direction="ingress",local_domain="",local_hostgroup="",port="",process_name="",protocol="",remote_domain="",remote_hostgroup="",remote_ip="10.20.1.7"} 126014316' \
    || { metrics | grep planet_traffic; fail "darkstat traffic not published"; }
has 'planet_traffic_bytes_total{direction="egress",local_domain="",local_hostgroup="",port="",process_name="",protocol="",remote_domain="",remote_hostgroup="",remote_ip="10.20.1.7"} 150474' \
    || fail "darkstat egress wrong"
wait_for 20 has 'planet_ebpf_traffic_bytes_total{' || fail "ebpf traffic not published"
has 'planet_scrape_collector_success{collector="darkstat"} 1' || fail "darkstat collector not successful"
has 'planet_scrape_collector_success{collector="ebpf"} 1' || fail "ebpf collector not successful"
metrics > "$E2E_TMP/good.txt"
promtool check metrics < "$E2E_TMP/good.txt" || fail "promtool rejects the exposition"

log "garbage (darkstat 3.0.719's HTML 404 page): one error, success 0, values kept"
cp "$E2E_ROOT/Fixtures/migration/darkstat-3.0.719-metrics-404.html" "$WWW/darkstat"
echo "this is not an exposition {{{" > "$WWW/ebpf"
wait_for 20 has 'planet_scrape_collector_success{collector="darkstat"} 0' || fail "darkstat garbage not reported"
wait_for 20 has 'planet_scrape_collector_success{collector="ebpf"} 0' || fail "ebpf garbage not reported"
has 'remote_ip="10.20.1.7"} 126014316' || fail "last good darkstat values dropped"
grep -q 'level=error.*darkstat' "$E2E_TMP/agent.log" || fail "no darkstat error logged"

log "endpoints down: still the last good values"
kill "$WEB_PID"
# A refused connection surfaces when the request's deadline passes (bounded by the interval).
wait_for 20 grep -q 'request failed' "$E2E_TMP/agent.log" || { tail -5 "$E2E_TMP/agent.log"; fail "no error logged for the unreachable endpoint"; }
has 'remote_ip="10.20.1.7"} 126014316' || fail "last good darkstat values dropped when darkstat went away"
echo "migration end to end: ok"
