#!/usr/bin/env bash
# The federator's -listen-address is the agent's listener: the same -web.* flags and web
# config file. With basic auth in the web config (a bcrypt hash made by htpasswd), /metrics
# is 401 without credentials and 200 with them, and holds the federator's families and
# the listener's planet_web_*; idle connections past -web.max-connections are evicted and
# half-sent request heads closed at -web.read-header-timeout, while scrapes are answered; a
# web config that cannot be used stops the start with one line. Loopback only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_cmd htpasswd curl python3
binary=$E2E_ROOT/.build/release/planet-federator
[ -x "$binary" ] || fail "no $binary (swift build -c release --product planet-federator)"

hash=$(htpasswd -nbBC 10 "" "wonderland-$$" | tr -d ':\n')
printf 'basic_auth_users:\n  alice: %s\n' "$hash" > "$E2E_TMP/web.yml"
port=$(free_port) nothing=$(free_port) cap=8
# Nothing answers at the Prometheus and InfluxDB addresses: the runs fail and are logged,
# the listener serves regardless.
"$binary" -prometheus-addr "http://127.0.0.1:$nothing" -influxdb-addr "http://127.0.0.1:$nothing" \
    -listen-address "127.0.0.1:$port" -web.config.file "$E2E_TMP/web.yml" -web.max-connections "$cap" \
    -web.read-header-timeout 2s -web.idle-timeout 3s -log-disable-colors 2> "$E2E_TMP/federator.log" &
E2E_PIDS+=($!)
url=http://127.0.0.1:$port/metrics
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
unauthorized() { [ "$(status "$url")" = 401 ]; }
wait_for 20 unauthorized || { cat "$E2E_TMP/federator.log"; fail "/metrics without credentials is not 401"; }
[ "$(status -u "alice:wrong" "$url")" = 401 ] || fail "a wrong password is not refused"
curl -sf --max-time 5 -u "alice:wonderland-$$" -D "$E2E_TMP/headers" "$url" > "$E2E_TMP/metrics" \
    || fail "/metrics with the right credentials failed"
matches '^planet_federator_build_info' < "$E2E_TMP/metrics" || fail "the federator's families are missing"
matches '^planet_web_connections ' < "$E2E_TMP/metrics" || fail "the listener's planet_web_* are missing"
matches -i '^server: planet-federator' < "$E2E_TMP/headers" || fail "the Server header does not name the federator"
log "basic auth from the web config: 401 without and with a wrong password, 200 with the right one"

log "$((cap + 4)) idle connections and 4 half-sent heads against a cap of $cap"
python3 - "$port" "$cap" > "$E2E_TMP/stall.out" <<'PY' &
import socket, sys, time
port, cap = int(sys.argv[1]), int(sys.argv[2])
held = []
for index in range(cap + 8):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if index >= cap + 4:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # a head never finished
    held.append(s)
closed, deadline = 0, time.time() + 20
for s in held:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        if s.recv(1) == b"":
            closed += 1
    except (ConnectionResetError, socket.timeout):
        closed += 1 if time.time() < deadline else 0
print(closed, len(held))
PY
stall=$!
E2E_PIDS+=($stall)
for _ in 1 2 3; do
    [ "$(status -u "alice:wonderland-$$" "$url")" = 200 ] || fail "a scrape was not answered while the slots were held"
done
wait_for 30 bash -c "! kill -0 $stall" || fail "the stalled connections were not closed within 30 s"
read -r closed total < "$E2E_TMP/stall.out"
[ "$closed" = "$total" ] || fail "the server closed $closed of $total stalled connections"
curl -sf --max-time 5 -u "alice:wonderland-$$" "$url" > "$E2E_TMP/metrics"
evicted=$(awk '/^planet_web_connections_closed_total\{reason="evicted"\}/ { print $2 }' "$E2E_TMP/metrics")
timed_out=$(awk '/^planet_web_connections_closed_total\{reason="header_timeout"\}/ { print $2 }' "$E2E_TMP/metrics")
[ "${evicted:-0}" -ge 1 ] && [ "${timed_out:-0}" -ge 1 ] \
    || { grep planet_web "$E2E_TMP/metrics"; fail "the closes are not counted by reason (evicted $evicted, header_timeout $timed_out)"; }
log "all $total closed by the server (evicted $evicted, header timeout $timed_out), scrapes answered meanwhile"

log "a web config that cannot be used stops the start"
printf 'basic_auth_users:\n  alice: not-a-hash\n' > "$E2E_TMP/bad.yml"
if "$binary" -prometheus-addr "http://127.0.0.1:$nothing" -influxdb-addr "http://127.0.0.1:$nothing" \
    -listen-address "127.0.0.1:$(free_port)" -web.config.file "$E2E_TMP/bad.yml" -log-disable-colors \
    > "$E2E_TMP/bad.log" 2>&1; then
    fail "the federator started with a broken web config"
fi
matches 'web config .*bad.yml' < "$E2E_TMP/bad.log" || { cat "$E2E_TMP/bad.log"; fail "no line naming the broken web config"; }
echo "federator listener: ok"
