#!/usr/bin/env bash
# planet-federator -prometheus-remote-write-url against a real Prometheus started with
# --web.enable-remote-write-receiver: the three federated data sets arrive as series, and
# the Go original's three dashboard questions, as the PromQL queries of docs/federator.md,
# return the expected rows. A proxy in front of the receiver answers 503 to the first two requests
# (retried with backoff) and, in a second run, 400 to the first (not retried, counted).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$E2E_ROOT/Fixtures/federator/servers.sh"
require_cmd prometheus python3 curl
binary=$E2E_ROOT/.build/release/planet-federator
[ -x "$binary" ] || fail "no $binary (swift build -c release --product planet-federator)"
fixtures=$E2E_ROOT/Fixtures/federator

expo_port=$(free_port); prom_port=$(free_port); receiver_port=$(free_port); proxy_port=$(free_port)
fed_serve_exposition "$expo_port" "$fixtures/metrics.prom"
fed_start_prometheus "$prom_port" "127.0.0.1:$expo_port"
fed_start_prometheus "$receiver_port" - --web.enable-remote-write-receiver
python3 "$fixtures/failing_proxy.py" --port "$proxy_port" --upstream "http://127.0.0.1:$receiver_port" --fail-first 2 \
    >"$E2E_TMP/proxy.out" &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$proxy_port/-/ready" || fail "proxy did not start"
fed_wait_for_history "$prom_port" 13

log "one run (6 s, 3 evaluations), remote write only, batches of 4 samples, two 503s first"
"$binary" -prometheus-addr "http://127.0.0.1:$prom_port" -influxdb-addr none -once -cron-job-schedule '*/6 * * * * *' \
    -query-step 2s -query-rate-window 5s -cron-job-time-offset -1s -log-disable-colors \
    -prometheus-remote-write-url "http://127.0.0.1:$proxy_port/api/v1/write" -prometheus-remote-write-batch-size 4 \
    2>"$E2E_TMP/run.log" || { cat "$E2E_TMP/run.log" >&2; fail "federator run failed"; }
[ "$(grep -c '^failed 503' "$E2E_TMP/proxy.out")" -eq 2 ] || fail "want 2 refused attempts at the proxy"
[ "$(grep -c 'msg=retrying' "$E2E_TMP/run.log")" -eq 2 ] || { cat "$E2E_TMP/run.log" >&2; fail "want 2 retries logged"; }
end=$(grep 'federation run finished' "$E2E_TMP/run.log" | sed -E 's/.* end=([0-9]+).*/\1/')
written=$(grep 'federation run finished' "$E2E_TMP/run.log" | sed -E 's/.* remote_write_written=([0-9]+).*/\1/')
grep -q 'remote_write_rejected=0 remote_write_unwritten=0' "$E2E_TMP/run.log" || { cat "$E2E_TMP/run.log" >&2; fail "samples lost"; }

# The dashboard questions of docs/federator.md, for service debugapp.
fed_promql "$receiver_port" 'sum by (remote_hostgroup, remote_domain) (planet_federated_traffic_bits_per_second{direction="ingress", local_hostgroup="debugapp"})' "$end" >"$E2E_TMP/bandwidth.json"
fed_promql "$receiver_port" 'sum by (remote_hostgroup, remote_address, process_name, port, protocol) (count_over_time(planet_federated_upstream{local_hostgroup="debugapp"}[7d]))' "$end" >"$E2E_TMP/upstream.json"
fed_promql "$receiver_port" 'sum by (remote_hostgroup, remote_address, process_name, port, protocol) (count_over_time(planet_federated_downstream{local_hostgroup="debugapp"}[7d]))' "$end" >"$E2E_TMP/downstream.json"
fed_promql "$receiver_port" 'count by (__name__, process_unit) ({__name__=~"planet_federated_(up|down)stream", process_unit!=""})' "$end" >"$E2E_TMP/units.json"
fed_promql "$receiver_port" 'count({__name__=~"planet_federated_.*"})' "$end" >"$E2E_TMP/series.json"
fed_promql "$receiver_port" 'sum(count_over_time({__name__=~"planet_federated_.*"}[1h]))' "$end" >"$E2E_TMP/samples.json"

python3 - "$E2E_TMP" "$written" <<'PY'
import json, sys
work, written = sys.argv[1], int(sys.argv[2])
def result(name):
    return json.load(open(f"{work}/{name}.json"))["data"]["result"]
def fail(message):
    sys.exit("FAIL: " + message)
keys = ("remote_hostgroup", "remote_address", "process_name", "port", "protocol")
bandwidth = {(r["metric"].get("remote_hostgroup", ""), r["metric"].get("remote_domain", "")): float(r["value"][1]) for r in result("bandwidth")}
want = {("xyz", "xyz.service.consul"): 8 * 40000, ("", ""): 8 * 4000}
if set(bandwidth) != set(want) or any(abs(bandwidth[k] - v) > 0.1 * v for k, v in want.items()):
    fail(f"bandwidth per remote service {bandwidth}, want {want}")
upstream = {tuple(r["metric"].get(k, "") for k in keys): r["value"][1] for r in result("upstream")}
want_up = {
    ("xyz", "xyz.service.consul", "debugapp", "80", "tcp"), ("localhost", "127.0.0.1", "consul-template", "8500", "tcp"),
    ("consul-server", "10.2.3.3", "consul", "8300", "tcp"), ("consul-server", "10.2.3.4", "consul", "8300", "tcp"),
    ("", "100.100.98.18", "", "3128", "tcp"), ("", "35.158.25.125", "", "443", "tcp"), ("", "52.219.32.222", "", "443", "tcp"),
    ("", "100.100.103.57", "cloudmetrics", "80", "tcp"), ("", "100.100.30.26", "cloudmetrics", "80", "tcp"),
}
if set(upstream) != want_up or set(upstream.values()) != {"3"}:
    fail(f"upstreams {upstream}")
downstream = {tuple(r["metric"].get(k, "") for k in keys): r["value"][1] for r in result("downstream")}
want_down = {
    ("prometheus", "prometheus.service.consul", "node_exporter", "9100", "tcp"),
    ("prometheus", "prometheus.service.consul", "planet-exporter", "19100", "tcp"),
    ("", "192.168.1.2", "planet-exporter", "19100", "tcp"), ("", "192.168.1.2", "sshd", "22", "tcp"),
}
if set(downstream) != want_down or set(downstream.values()) != {"3"}:
    fail(f"downstreams {downstream}")
# process_unit, on the two fixture lines that have it, arrives as a label.
units = {(r["metric"]["__name__"], r["metric"]["process_unit"]) for r in result("units")}
if units != {("planet_federated_upstream", "debugapp.service"), ("planet_federated_downstream", "ssh.service")}:
    fail(f"process_unit labels {units}")
# 3 traffic (ingress from xyz and from no hostgroup, egress to xyz) + 9 upstream + 4 downstream
# series, 3 samples each; the 800 bit/s series is under the noise floor.
series = int(result("series")[0]["value"][1])
samples = int(result("samples")[0]["value"][1])
if series != 16 or samples != 48 or written != 48:
    fail(f"receiver holds {series} series and {samples} samples, federator wrote {written}; want 16, 48, 48")
print(f"  dashboard queries: 2 bandwidth rows, 9 upstreams, 4 downstreams; {samples} samples in {series} series")
PY

log "a request refused with 400 is counted as rejected and not retried"
proxy400_port=$(free_port)
python3 "$fixtures/failing_proxy.py" --port "$proxy400_port" --upstream "http://127.0.0.1:$receiver_port" --fail-first 1 \
    --status 400 >"$E2E_TMP/proxy400.out" &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$proxy400_port/-/ready" || fail "proxy did not start"
set +e
"$binary" -prometheus-addr "http://127.0.0.1:$prom_port" -influxdb-addr none -once -cron-job-schedule '*/6 * * * * *' \
    -query-step 2s -query-rate-window 5s -cron-job-time-offset -1s -log-disable-colors \
    -prometheus-remote-write-url "http://127.0.0.1:$proxy400_port/api/v1/write" -prometheus-remote-write-batch-size 4 \
    2>"$E2E_TMP/run400.log"
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$E2E_TMP/run400.log" >&2; fail "a run with a refused request exited $rc, want 1"; }
[ "$(grep -c '^failed 400' "$E2E_TMP/proxy400.out")" -eq 1 ] || fail "the refused request was retried"
grep -q 'remote_write_rejected=4 ' "$E2E_TMP/run400.log" || { cat "$E2E_TMP/run400.log" >&2; fail "want remote_write_rejected=4"; }
grep -q 'remote write rejected samples.*400' "$E2E_TMP/run400.log" || fail "the receiver's answer is not logged"
echo "federator remote write end-to-end: passed"
