#!/usr/bin/env bash
# End-to-end test of planet-federator against real servers on 127.0.0.1: a recorded
# exposition served over HTTP, a real Prometheus scraping it every second, a real
# InfluxDB 1.x. Runs the federator once (-once) and on a cron schedule, then runs the
# Go original's README example InfluxQL queries and asserts their rows. Also times the
# Go original's dashboard question on the raw series in Prometheus against the federated
# measurement.
# Exit 0: pass; 77: skipped (a server is not installed); anything else: failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$E2E_ROOT/Fixtures/federator/servers.sh"
cd "$E2E_ROOT"

binary=.build/release/planet-federator
[ -x "$binary" ] || fail "$binary is missing: build it with 'swift build -c release --product planet-federator'"
require_cmd prometheus promtool influxd python3 curl
work=$E2E_TMP

expo_port=$(free_port); prom_port=$(free_port); influx_port=$(free_port)
prom="http://127.0.0.1:$prom_port"
influx="http://127.0.0.1:$influx_port"

python3 Fixtures/federator/exposition_server.py --port "$expo_port" --file Fixtures/federator/metrics.prom \
    --max-seconds 600 &
E2E_PIDS+=($!)

# One past hour of a busy host (hostgroup "busy": 300 peers in 30 hostgroups, 2 service
# ports, both directions = 1,200 series scraped every 15 s), backfilled into Prometheus's
# data dir, so the dashboard query can be timed on raw and federated data alike.
command -v promtool >/dev/null || skip "promtool is not installed (apt-get install prometheus)"
backfill_end=$(( $(date +%s) - 120 ))
backfill_start=$((backfill_end - 3600))
python3 - "$backfill_start" "$backfill_end" >"$work/backfill.om" <<'PY'
import sys
start, end = int(sys.argv[1]), int(sys.argv[2])
print("# HELP planet_traffic_bytes Total network traffic with peers")
print("# TYPE planet_traffic_bytes counter")
for peer in range(300):
    for port in ("443", "8080"):
        for direction in ("ingress", "egress"):
            labels = ('direction="%s",local_domain="busy.service.consul",local_hostgroup="busy",port="%s",'
                      'process_name="busy",protocol="tcp",remote_domain="peer%d.service.consul",'
                      'remote_hostgroup="peer%d",remote_ip="10.9.%d.%d"'
                      % (direction, port, peer % 30, peer % 30, peer // 250, peer % 250 + 1))
            rate = 1000 + peer  # bytes/s
            for t in range(start, end + 1, 15):
                print("planet_traffic_bytes_total{%s} %d %d" % (labels, rate * (t - start), t))
print("# EOF")
PY
promtool tsdb create-blocks-from openmetrics "$work/backfill.om" "$work/prometheus" >"$work/backfill.log" 2>&1 \
    || { tail -5 "$work/backfill.log" >&2; fail "promtool could not backfill"; }
rm -f "$work/backfill.om"

cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: planet
    static_configs:
      - targets: ['127.0.0.1:$expo_port']
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn 2>"$work/prometheus.log" &
E2E_PIDS+=($!)

start_influxdb "$influx_port"

wait_for 30 curl -fsS "http://127.0.0.1:$expo_port/metrics" || fail "exposition server did not start"
wait_for 30 curl -fsS "$prom/-/ready" || { cat "$work/prometheus.log" >&2; fail "prometheus did not become ready"; }

influxql() { # database, query -> JSON on stdout
    curl -fsS -G "$influx/query" --data-urlencode "db=$1" --data-urlencode "q=$2"
}
curl -fsS -XPOST "$influx/query" --data-urlencode "q=CREATE DATABASE mothership" >/dev/null
curl -fsS -XPOST "$influx/query" --data-urlencode "q=CREATE DATABASE excluded" >/dev/null
curl -fsS -XPOST "$influx/query" --data-urlencode "q=CREATE DATABASE excluded_regex" >/dev/null
curl -fsS -XPOST "$influx/query" --data-urlencode "q=CREATE DATABASE excluded_go" >/dev/null

# irate() needs two scrapes in its window: wait until Prometheus has traffic rates.
has_rates() {
    curl -fsS -G "$prom/api/v1/query" --data-urlencode 'query=irate(planet_traffic_bytes_total[5s])' \
        | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)'
}
wait_for 30 has_rates || fail "prometheus has no traffic rates after 30 s"
# The run's window should hold several steps of rates, not the first one only.
has_window() {
    curl -fsS -G "$prom/api/v1/query" \
        --data-urlencode 'query=count_over_time(irate(planet_traffic_bytes_total[5s])[4s:1s])' \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; sys.exit(0 if r and min(float(x["value"][1]) for x in r) >= 4 else 1)'
}
wait_for 30 has_window || fail "prometheus has fewer than 4 seconds of traffic rates after 30 s"

common=(-prometheus-addr "$prom" -influxdb-addr "$influx" -query-step 2s -query-rate-window=5s
        --cron-job-time-offset -1s -log-disable-colors)

echo "-- one run (-once) with the Go original's command line"
"$binary" "${common[@]}" -influxdb-bucket mothership -once 2>"$work/once.log" \
    || { cat "$work/once.log" >&2; fail "federator -once failed"; }
grep -q 'detected influxdb write api' "$work/once.log" || { cat "$work/once.log" >&2; fail "no API detection logged"; }
grep -q 'api=v1' "$work/once.log" || { cat "$work/once.log" >&2; fail "InfluxDB 1.x not detected as v1"; }

echo "-- process_unit, where the agent has it, is a tag; where it has not, no tag"
influxql mothership 'SHOW TAG VALUES FROM "upstream", "downstream" WITH KEY = "process_unit"' > "$work/units.json"
python3 - "$work/units.json" <<'PY' || fail "process_unit tags in InfluxDB are not the fixture's"
import json, sys
series = json.load(open(sys.argv[1]))["results"][0].get("series", [])
got = {(s["name"], value) for s in series for _, value in s["values"]}
want = {("upstream", "debugapp.service"), ("downstream", "ssh.service")}
if got != want: sys.exit(f"process_unit tags {sorted(got)}, want {sorted(want)}")
PY

echo "-- exclusions (-exclude-ports 22 -exclude-remote-addresses=10.2.3.3)"
"$binary" "${common[@]}" -influxdb-bucket excluded -exclude-ports 22 -exclude-remote-addresses=10.2.3.3 \
    -once=true 2>"$work/excluded.log" || { cat "$work/excluded.log" >&2; fail "federator -once with exclusions failed"; }

echo "-- exclusions by pattern (-exclude-ports-regex '2[0-9]' -exclude-remote-addresses-regex '100\.100\..*')"
"$binary" "${common[@]}" -influxdb-bucket excluded_regex -exclude-ports-regex '2[0-9]' \
    -exclude-remote-addresses-regex '100\.100\..*' -once 2>"$work/excluded-regex.log" \
    || { cat "$work/excluded-regex.log" >&2; fail "federator -once with exclusion patterns failed"; }

echo "-- the Go original's exclusions (-exclusions go)"
"$binary" "${common[@]}" -influxdb-bucket excluded_go -exclusions go -once 2>"$work/excluded-go.log" \
    || { cat "$work/excluded-go.log" >&2; fail "federator -once -exclusions go failed"; }

echo "-- a pattern Prometheus could not use is refused at start, in one line"
set +e
"$binary" "${common[@]}" -exclude-ports-regex '(22' -once 2>"$work/badregex.log"; badregex_rc=$?
set -e
[ "$badregex_rc" -ne 0 ] && grep -q '^Error: -exclude-ports-regex "(22": not a regular expression' "$work/badregex.log" \
    || { cat "$work/badregex.log" >&2; fail "bad -exclude-ports-regex not refused with one line (exit $badregex_rc)"; }

echo "-- InfluxDB 2.x write API (detected from /ping), two 503s retried, batches of 5"
front_port=$(free_port)
python3 Fixtures/federator/influxdb2_front.py --port "$front_port" --influxdb1 "$influx" --org planet \
    --token s3cret --fail-writes 2 --max-seconds 600 &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$front_port/ping" || fail "InfluxDB 2.x front did not start"
curl -fsS -XPOST "$influx/query" --data-urlencode "q=CREATE DATABASE v2bucket" >/dev/null
"$binary" "${common[@]}" -influxdb-addr "http://127.0.0.1:$front_port" -influxdb-org planet \
    -influxdb-token s3cret -influxdb-bucket v2bucket -influxdb-batch-size 5 -once 2>"$work/v2.log" \
    || { cat "$work/v2.log" >&2; fail "federator -once against the 2.x API failed"; }
grep -q 'api=v2' "$work/v2.log" || { cat "$work/v2.log" >&2; fail "2.x API not detected"; }
[ "$(grep -c 'msg=retrying' "$work/v2.log")" -eq 2 ] || { cat "$work/v2.log" >&2; fail "want 2 retries"; }
grep -q 'unwritten=0' "$work/v2.log" || { cat "$work/v2.log" >&2; fail "points lost on the 2.x path"; }
v2_points=$(influxql v2bucket 'SELECT COUNT("service_dependency") FROM "upstream"' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1])')
[ "$v2_points" -ge 9 ] || fail "2.x path wrote $v2_points upstream points, want at least 9"

echo "-- cron schedule every 2 s, its own /metrics, stopped with SIGTERM"
metrics_port=$(free_port)
"$binary" "${common[@]}" -influxdb-bucket mothership -cron-job-schedule '*/2 * * * * *' \
    -cron-job-timeout-second 5 -listen-address "127.0.0.1:$metrics_port" 2>"$work/cron.log" &
cron_pid=$!
E2E_PIDS+=($cron_pid)
# The log may not exist yet right after the fork: count it as zero runs.
runs() { cat "$work/cron.log" 2>/dev/null | grep -c 'federation run finished' || true; }
cron_deadline=$((SECONDS + 30))
while [ "$(runs)" -lt 3 ] && [ $SECONDS -lt $cron_deadline ] && kill -0 "$cron_pid" 2>/dev/null; do
    sleep 0.5
done
[ "$(runs)" -ge 3 ] || { cat "$work/cron.log" >&2; fail "cron schedule did not run 3 jobs"; }
curl -sf "http://127.0.0.1:$metrics_port/metrics" > "$work/federator-metrics.prom" || fail "no /metrics on -listen-address"
promtool check metrics < "$work/federator-metrics.prom" || fail "promtool refuses the federator's /metrics"
# Each run logs its summary before it is recorded: the first N logged runs are the N counted.
python3 - "$work/federator-metrics.prom" "$work/cron.log" <<'PY' || fail "the federator's /metrics disagree with its log"
import re, sys
samples = dict(line.rsplit(" ", 1) for line in open(sys.argv[1]) if line.strip() and not line.startswith("#"))
succeeded = int(samples['planet_federator_runs_total{result="succeeded"}'])
failed = int(samples['planet_federator_runs_total{result="failed"}'])
runs = [line for line in open(sys.argv[2]) if "federation run finished" in line][: succeeded + failed]
field = lambda line, name: int(re.search(r"\b" + name + r"=(\d+)", line).group(1))
assert succeeded >= 3 and failed == 0, (succeeded, failed)
assert len(runs) == succeeded + failed, (len(runs), succeeded + failed)
for metric, name in (('planet_federator_written_total{store="influxdb"}', "written"),
                     ('planet_federator_rejected_total{store="influxdb"}', "rejected"),
                     ('planet_federator_unwritten_total{store="influxdb"}', "unwritten"),
                     ("planet_federator_series_received_total", "series")):
    assert int(samples[metric]) == sum(field(line, name) for line in runs), (metric, samples[metric])
written = int(samples['planet_federator_written_total{store="influxdb"}'])
assert written > 0 and float(samples["planet_federator_last_success_timestamp_seconds"]) > 0
print(f"  /metrics: {succeeded} runs succeeded, {written} points written, as logged")
PY
kill -TERM "$cron_pid"
set +e; wait "$cron_pid"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$work/cron.log" >&2; fail "federator exited $rc on SIGTERM"; }
grep -q 'federator stopped' "$work/cron.log" || fail "no clean stop logged"
# A run that SIGTERM cancels reports "stopped by shutdown"; nothing else may fail.
if grep -E 'msg="(federation query failed|write failed|influxdb rejected)' "$work/cron.log" | matches -v 'stopped by shutdown'; then
    cat "$work/cron.log" >&2; fail "a cron run reported failures"
fi

echo "-- the backfilled hour, federated by one run of an hourly schedule"
busy_offset=$((backfill_end - $(date +%s)))
"$binary" -prometheus-addr "$prom" -influxdb-addr "$influx" -influxdb-bucket mothership -once \
    -cron-job-schedule '0 0 * * * *' -query-step 30s -query-rate-window 1m -cron-job-time-offset "${busy_offset}s" \
    -cron-job-timeout-second 60 -log-disable-colors 2>"$work/busy.log" \
    || { cat "$work/busy.log" >&2; fail "federating the backfilled hour failed"; }
busy_end=$((backfill_end / 30 * 30))

echo "-- failures are clear and do not crash"
set +e
"$binary" -prometheus-addr "http://127.0.0.1:$(free_port)" -influxdb-addr "$influx" -once \
    -cron-job-timeout-second 2 -log-disable-colors 2>"$work/down.log"
rc=$?
"$binary" -once=maybe 2>"$work/badflag.log"; badflag_rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$work/down.log" >&2; fail "-once with Prometheus down exited $rc, want 1"; }
grep -q 'cannot reach prometheus' "$work/down.log" || { cat "$work/down.log" >&2; fail "no clear error for Prometheus down"; }
[ "$badflag_rc" -ne 0 ] && grep -q 'invalid boolean value "maybe" for -once' "$work/badflag.log" \
    || { cat "$work/badflag.log" >&2; fail "bad boolean flag not reported"; }

echo "-- the Go original's README InfluxQL queries"
service=debugapp
# Grafana's $timeFilter and $__interval macros are the only substitutions.
q_ingress="SELECT
  SUM(\"bandwidth_bps\")
FROM
  \"ingress\"
WHERE
  (\"service\" = '$service') AND time > now() - 1h
GROUP BY
  time(2s), \"service\", \"remote_service\", \"remote_address\""
q_upstream="SELECT
    SUM(\"service_dependency\")
FROM (
    SELECT * FROM \"upstream\" WHERE (\"service\" = '$service') AND Time > now() - 7d
)
GROUP BY
    \"upstream_service\", \"upstream_address\", \"process_name\", \"upstream_port\", \"protocol\", time(10000d)"
q_downstream="SELECT
    SUM(\"service_dependency\")
FROM (
    SELECT * FROM \"downstream\" WHERE (\"service\" = '$service') AND Time > now() - 7d
)
GROUP BY
    \"downstream_service\", \"downstream_address\", \"process_name\", \"port\", \"protocol\", time(10000d)"

influxql mothership "$q_ingress" >"$work/ingress.json"
influxql mothership "$q_upstream" >"$work/upstream.json"
influxql mothership "$q_downstream" >"$work/downstream.json"
influxql excluded "$q_upstream" >"$work/excluded-upstream.json"
influxql excluded "$q_downstream" >"$work/excluded-downstream.json"
influxql excluded "$q_ingress" >"$work/excluded-ingress.json"
for db in excluded_regex excluded_go; do
    influxql "$db" "$q_upstream" >"$work/$db-upstream.json"
    influxql "$db" "$q_downstream" >"$work/$db-downstream.json"
    influxql "$db" "$q_ingress" >"$work/$db-ingress.json"
done

python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]

def series(name):
    result = json.load(open(f"{work}/{name}.json"))["results"][0]
    if "error" in result:
        sys.exit(f"FAIL: {name}: {result['error']}")
    return result.get("series", [])

def tagsets(name, keys):
    rows = {}
    for s in series(name):
        values = [v[1] for v in s["values"] if v[1] is not None]
        rows[tuple(s["tags"].get(k, "") for k in keys)] = values
    return rows

def check(cond, message):
    if not cond:
        sys.exit("FAIL: " + message)

# Bandwidth: the fixture's bytes/s summed per remote service and domain, times 8, above 1000 bit/s.
ingress = tagsets("ingress", ["service", "remote_service", "remote_address"])
want = {("debugapp", "xyz", "xyz.service.consul"): 8 * 40000, ("debugapp", "", ""): 8 * 4000}
check(set(ingress) == set(want), f"ingress groups {sorted(ingress)} != {sorted(want)}")
for key, expected in want.items():
    values = ingress[key]
    check(len(values) >= 3, f"ingress {key}: only {len(values)} points")
    off = [v for v in values if abs(v - expected) > 0.1 * expected]
    check(not off, f"ingress {key}: {off} not within 10% of {expected}")
# The 800 bit/s node_exporter series is under the noise floor.
check(("debugapp", "prometheus", "prometheus.service.consul") not in ingress, "noise floor not applied")

keys = ["upstream_service", "upstream_address", "process_name", "upstream_port", "protocol"]
upstream = tagsets("upstream", keys)
want_up = {
    ("xyz", "xyz.service.consul", "debugapp", "80", "tcp"),
    ("localhost", "127.0.0.1", "consul-template", "8500", "tcp"),
    ("consul-server", "10.2.3.3", "consul", "8300", "tcp"),
    ("consul-server", "10.2.3.4", "consul", "8300", "tcp"),
    ("", "100.100.98.18", "", "3128", "tcp"),
    ("", "35.158.25.125", "", "443", "tcp"),
    ("", "52.219.32.222", "", "443", "tcp"),
    ("", "100.100.103.57", "cloudmetrics", "80", "tcp"),
    ("", "100.100.30.26", "cloudmetrics", "80", "tcp"),
}
check(set(upstream) == want_up, f"upstream rows {sorted(upstream)} != {sorted(want_up)}")
check(all(v and v[0] >= 3 for v in upstream.values()), f"upstream sums too small: {upstream}")

keys = ["downstream_service", "downstream_address", "process_name", "port", "protocol"]
downstream = tagsets("downstream", keys)
want_down = {
    ("prometheus", "prometheus.service.consul", "node_exporter", "9100", "tcp"),
    ("prometheus", "prometheus.service.consul", "planet-exporter", "19100", "tcp"),
    ("", "192.168.1.2", "planet-exporter", "19100", "tcp"),
    ("", "192.168.1.2", "sshd", "22", "tcp"),
}
check(set(downstream) == want_down, f"downstream rows {sorted(downstream)} != {sorted(want_down)}")

# Exclusions: port 22 and address 10.2.3.3 are gone, everything else is there.
excluded_down = tagsets("excluded-downstream", keys)
check(set(excluded_down) == want_down - {("", "192.168.1.2", "sshd", "22", "tcp")}, f"port exclusion: {sorted(excluded_down)}")
excluded_up = tagsets("excluded-upstream", ["upstream_service", "upstream_address", "process_name", "upstream_port", "protocol"])
check(set(excluded_up) == want_up - {("consul-server", "10.2.3.3", "consul", "8300", "tcp")}, f"address exclusion: {sorted(excluded_up)}")
check(set(tagsets("excluded-ingress", ["service", "remote_service", "remote_address"])) == {("debugapp", "xyz", "xyz.service.consul")},
      "port exclusion on traffic")

# Patterns: port 22 (sshd) and the 100.100.* peers are gone, everything else is there.
check(set(tagsets("excluded_regex-downstream", keys)) == want_down - {("", "192.168.1.2", "sshd", "22", "tcp")},
      f"port pattern: {sorted(tagsets('excluded_regex-downstream', keys))}")
up_keys = ["upstream_service", "upstream_address", "process_name", "upstream_port", "protocol"]
got = set(tagsets("excluded_regex-upstream", up_keys))
check(got == {row for row in want_up if not row[1].startswith("100.100.")}, f"address pattern: {sorted(got)}")
got = set(tagsets("excluded_regex-ingress", ["service", "remote_service", "remote_address"]))
check(got == {("debugapp", "xyz", "xyz.service.consul")}, f"port pattern on traffic: {sorted(got)}")

# The Go original's exclusions: its ports (8300, 8500, 9100, 19100, 22), its address
# patterns (100.64-127.*, 52.*, 192.168.*, *prometheus*), hostgroups required, and
# dependencies only with a process and a named peer: one upstream and one traffic row stay.
got = set(tagsets("excluded_go-upstream", up_keys))
check(got == {("xyz", "xyz.service.consul", "debugapp", "80", "tcp")}, f"go upstream: {sorted(got)}")
check(not tagsets("excluded_go-downstream", keys), f"go downstream: {sorted(tagsets('excluded_go-downstream', keys))}")
got = set(tagsets("excluded_go-ingress", ["service", "remote_service", "remote_address"]))
check(got == {("debugapp", "xyz", "xyz.service.consul")}, f"go ingress: {sorted(got)}")
print("influxql rows: ok")
EOF

echo "-- timing: the dashboard's bandwidth question for one busy host over one hour, 20 runs each"
# Raw: bandwidth per remote service computed by Prometheus from the 1,200 raw series.
# Federated: the Go original's README first InfluxQL query ($__interval = 30s) over the same hour.
t_end=$busy_end; t_start=$((busy_end - 3600 + 30))
promql='sum by (local_hostgroup, remote_hostgroup, remote_domain) (irate(planet_traffic_bytes_total{direction="ingress", local_hostgroup="busy"}[1m])) * 8'
q_busy="SELECT SUM(\"bandwidth_bps\") FROM \"ingress\" WHERE (\"service\" = 'busy') AND time >= ${t_start}s AND time <= ${t_end}s GROUP BY time(30s), \"service\", \"remote_service\", \"remote_address\""
curl -fsS -G "$prom/api/v1/query_range" --data-urlencode "query=$promql" --data-urlencode "start=$t_start" \
    --data-urlencode "end=$t_end" --data-urlencode "step=30" >"$work/busy-prom.json"
influxql mothership "$q_busy" >"$work/busy-influx.json"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
prom = json.load(open(f"{work}/busy-prom.json"))["data"]["result"]
influx = json.load(open(f"{work}/busy-influx.json"))["results"][0].get("series", [])
def fail(message):
    sys.exit("FAIL: " + message)
# Remote hostgroup peerK holds the peers with peer % 30 == K, on 2 ports, at 1000+peer bytes/s.
want = {f"peer{k}": 8 * 2 * sum(1000 + p for p in range(300) if p % 30 == k) for k in range(30)}
got_prom = {s["metric"]["remote_hostgroup"]: [float(v) for _, v in s["values"]] for s in prom}
got_influx = {s["tags"]["remote_service"]: [v[1] for v in s["values"] if v[1] is not None] for s in influx}
for name, got in (("prometheus", got_prom), ("influxdb", got_influx)):
    if set(got) != set(want):
        fail(f"{name}: remote services {sorted(got)}")
    for k, values in got.items():
        if len(values) < 100 or any(abs(v - want[k]) > 0.01 * want[k] for v in values):
            fail(f"{name}: {k}: {len(values)} values, want ~{want[k]}: {values[:3]}")
print(f"same answer from both: 30 remote services, {len(got_influx['peer0'])} points each from influxdb, "
      f"{len(got_prom['peer0'])} from prometheus")
PY
time_runs() { # label, URL, name=value query parameters...
    python3 - "$@" <<'PY'
import sys, time, urllib.parse, urllib.request
label, url, params = sys.argv[1], sys.argv[2], dict(p.split("=", 1) for p in sys.argv[3:])
full = url + "?" + urllib.parse.urlencode(params)
def once():
    with urllib.request.urlopen(full) as response:
        response.read()
once()  # warm-up
times = []
for _ in range(20):
    t = time.perf_counter()
    once()
    times.append((time.perf_counter() - t) * 1000)
times.sort()
print(f"{label}: median {times[10]:.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms")
PY
}
time_runs "prometheus, raw series (PromQL query_range, 1 h, step 30s)" "$prom/api/v1/query_range" \
    "query=$promql" "start=$t_start" "end=$t_end" "step=30"
time_runs "influxdb, federated (Go original's InfluxQL, 1 h, 30s buckets)" "$influx/query" "db=mothership" "q=$q_busy"
echo "federator end-to-end: passed"
