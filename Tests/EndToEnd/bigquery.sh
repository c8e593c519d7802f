#!/usr/bin/env bash
# End-to-end test of planet-federator-influxdb-to-bq, all servers real and inside one
# network namespace: a recorded exposition scraped by Prometheus, planet-federator
# writing it to InfluxDB 1.x, then the BigQuery tool (-once, and on a cron schedule)
# writing to the bqemulator BigQuery emulator. The tables are read back with SQL through
# the emulator's REST API and every row is checked: the federated rows against
# min/max/mean computed here from InfluxDB's raw points, hand-written points against
# literal rows, and points outside the windows must be absent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip prometheus promtool influxd curl python3

TOOL=${PLANET_FEDERATOR_BQ:-$E2E_ROOT/.build/release/planet-federator-influxdb-to-bq}
FEDERATOR=${PLANET_FEDERATOR:-$E2E_ROOT/.build/release/planet-federator}
for binary in "$TOOL" "$FEDERATOR"; do
    [ -x "$binary" ] || fail "$binary is missing: swift build -c release"
done

NS=pe-bq-$$
new_netns "$NS"
EXPO_PORT=19100 PROM_PORT=9090 INFLUX_PORT=8086 BQ_PORT=9050
BQ="http://127.0.0.1:$BQ_PORT"
API="$BQ/bigquery/v2/projects/test-project"

log "servers in $NS: exposition, Prometheus, InfluxDB 1.x, BigQuery emulator"
in_ns_bg "$NS" python3 "$E2E_ROOT/Fixtures/federator/exposition_server.py" --port "$EXPO_PORT" \
    --file "$E2E_ROOT/Fixtures/federator/metrics.prom" --max-seconds 600
wait_for 30 scrape "$NS" "http://127.0.0.1:$EXPO_PORT/metrics" || fail "exposition server did not start"
start_influxdb "$INFLUX_PORT" "$NS"
start_bqemulator "$NS" "$BQ_PORT"
start_prometheus "$NS" "127.0.0.1:$EXPO_PORT" "$PROM_PORT"
influxql "$NS" "$INFLUX_PORT" "" "CREATE DATABASE mothership" >/dev/null

has_rates() {
    promql "$NS" "$PROM_PORT" 'irate(planet_traffic_bytes_total[5s])' \
        | python3 -c 'import json, sys; sys.exit(0 if len(json.load(sys.stdin)["data"]["result"]) >= 5 else 1)'
}
wait_for 30 has_rates || fail "prometheus has no traffic rates after 30 s"
# A dozen evaluations, so the hour's min, max and mean are over several points.
sleep 12

log "planet-federator -once fills InfluxDB from Prometheus"
ip netns exec "$NS" "$FEDERATOR" -prometheus-addr "http://127.0.0.1:$PROM_PORT" -influxdb-addr "http://127.0.0.1:$INFLUX_PORT" \
    -influxdb-bucket mothership -cron-job-schedule '0 * * * * *' -query-step 2s -query-rate-window 5s \
    -cron-job-time-offset -1s -once -log-disable-colors 2>"$E2E_TMP/federator.log" \
    || { cat "$E2E_TMP/federator.log" >&2; fail "planet-federator -once failed"; }

log "hand-written points: inside and outside each analysis's window"
now=$(date +%s)
ip netns exec "$NS" curl -sf -XPOST "http://127.0.0.1:$INFLUX_PORT/write?db=mothership&precision=s" --data-binary "
ingress,service=crafted,address=crafted.service.consul,remote_service=db,remote_address=db.service.consul bandwidth_bps=1000.9 $((now - 3000))
ingress,service=crafted,address=crafted.service.consul,remote_service=db,remote_address=db.service.consul bandwidth_bps=5000 $((now - 1800))
ingress,service=crafted,address=crafted.service.consul,remote_service=db,remote_address=db.service.consul bandwidth_bps=3000.5 $((now - 600))
ingress,service=crafted,address=crafted.service.consul,remote_service=db,remote_address=db.service.consul bandwidth_bps=99999 $((now - 7200))
egress,service=crafted,remote_service=old bandwidth_bps=7777 $((now - 5400))
egress,remote_service=nobody bandwidth_bps=5555 $((now - 60))
upstream,service=crafted,address=crafted.service.consul,upstream_service=weekly,upstream_address=weekly.service.consul,upstream_port=6379,protocol=tcp service_dependency=1 $((now - 3 * 86400))
upstream,service=crafted,address=crafted.service.consul,upstream_service=gone,upstream_address=gone.service.consul,upstream_port=5432,protocol=tcp service_dependency=1 $((now - 8 * 86400))
downstream,service=crafted,downstream_address=10.9.9.9,process_name=nginx,port=443,protocol=tcp service_dependency=1 $((now - 86400))
" || fail "could not write the hand-written points"

log "the tool refuses a dataset that does not exist, with one line"
common=(-influxdb-addr "http://127.0.0.1:$INFLUX_PORT" -bq-endpoint "$BQ" -bq-project-id test-project -bq-auth none
        -log-disable-colors -cron-job-timeout-second 60)
set +e
ip netns exec "$NS" "$TOOL" "${common[@]}" -bq-dataset-id planet -once 2>"$E2E_TMP/nodataset.log"; rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$E2E_TMP/nodataset.log" >&2; fail "-once without the dataset exited $rc, want 1"; }
grep -q 'dataset test-project:planet does not exist: create it first (bq mk --dataset test-project:planet)' "$E2E_TMP/nodataset.log" \
    || { cat "$E2E_TMP/nodataset.log" >&2; fail "no clear line for a missing dataset"; }

create_dataset() {
    ip netns exec "$NS" curl -sf -XPOST -H 'Content-Type: application/json' "$API/datasets" \
        -d "{\"datasetReference\":{\"projectId\":\"test-project\",\"datasetId\":\"$1\"}}" >/dev/null
}
create_dataset planet
create_dataset batched
create_dataset cron

log "-once: both analyses, tables created"
ip netns exec "$NS" "$TOOL" "${common[@]}" -bq-dataset-id planet -once 2>"$E2E_TMP/once.log" \
    || { cat "$E2E_TMP/once.log" >&2; fail "-once failed"; }
[ "$(grep -c 'msg="created table"' "$E2E_TMP/once.log")" -eq 2 ] || { cat "$E2E_TMP/once.log" >&2; fail "want 2 tables created"; }
grep -q 'analysis=traffic.*failures=0' "$E2E_TMP/once.log" && grep -q 'analysis=dependency.*failures=0' "$E2E_TMP/once.log" \
    || { cat "$E2E_TMP/once.log" >&2; fail "an analysis failed"; }

log "-once again into another dataset, two rows per insertAll request"
ip netns exec "$NS" "$TOOL" "${common[@]}" -bq-dataset-id batched -bq-batch-size 2 -once 2>"$E2E_TMP/batched.log" \
    || { cat "$E2E_TMP/batched.log" >&2; fail "-once with -bq-batch-size 2 failed"; }

for dataset in planet batched; do
    for table in planet_exporter_traffic planet_exporter_dependency; do
        ip netns exec "$NS" curl -sf "$API/datasets/$dataset/tables/$table" >"$E2E_TMP/schema-$dataset-$table.json" \
            || fail "table $dataset.$table was not created"
    done
    bq_sql "$NS" "$BQ_PORT" "SELECT inventory_date, traffic_direction, local_hostgroup, local_hostgroup_address,
        remote_hostgroup, remote_hostgroup_address, traffic_bandwidth_bits_min_1h, traffic_bandwidth_bits_max_1h,
        traffic_bandwidth_bits_avg_1h FROM $dataset.planet_exporter_traffic" >"$E2E_TMP/traffic-$dataset.json"
    bq_sql "$NS" "$BQ_PORT" "SELECT inventory_date, dependency_direction, protocol, local_hostgroup_process_name,
        local_hostgroup, local_hostgroup_address, local_hostgroup_address_port, remote_hostgroup, remote_hostgroup_address,
        remote_hostgroup_address_port FROM $dataset.planet_exporter_dependency" >"$E2E_TMP/dependency-$dataset.json"
done
influxql "$NS" "$INFLUX_PORT" mothership \
    "SELECT * FROM \"ingress\", \"egress\" WHERE \"service\" = 'debugapp' AND time > now() - 1h" >"$E2E_TMP/raw-traffic.json"
influxql "$NS" "$INFLUX_PORT" mothership "SELECT COUNT(\"bandwidth_bps\") FROM \"ingress\", \"egress\"" >"$E2E_TMP/influx-count.json"

log "rows read back with SQL"
python3 - "$E2E_TMP" <<'PY'
import json, math, re, sys, time
work = sys.argv[1]
def fail(message):
    sys.exit("FAIL: " + message)
def load(name):
    return json.load(open(f"{work}/{name}"))

# inventory_date: the end of the window, as the log line says, within a minute of now.
once_log = open(f"{work}/once.log").read()
dates = set(re.findall(r'inventory_date="?([0-9T:-]+)', once_log))
if len(dates) != 1:
    fail(f"inventory dates in the log: {dates}")
date = dates.pop()
stamp = time.mktime(time.strptime(date, "%Y-%m-%dT%H:%M:%S")) - time.timezone
if abs(stamp - time.time()) > 120:
    fail(f"inventory_date {date} is not now (UTC)")

# Schemas: the original's columns, types and modes.
want_traffic = [("inventory_date", "DATETIME", "REQUIRED"), ("traffic_direction", "STRING", "REQUIRED"),
    ("local_hostgroup", "STRING", "REQUIRED"), ("local_hostgroup_address", "STRING", "NULLABLE"),
    ("remote_hostgroup", "STRING", "REQUIRED"), ("remote_hostgroup_address", "STRING", "NULLABLE")] + [
    (f"traffic_bandwidth_bits_{k}_1h", "INTEGER", "REQUIRED") for k in ("min", "max", "avg")]
want_dependency = [("inventory_date", "DATETIME", "REQUIRED"), ("dependency_direction", "STRING", "REQUIRED"),
    ("protocol", "STRING", "REQUIRED"), ("local_hostgroup_process_name", "STRING", "NULLABLE"),
    ("local_hostgroup", "STRING", "REQUIRED"), ("local_hostgroup_address", "STRING", "NULLABLE"),
    ("local_hostgroup_address_port", "STRING", "NULLABLE"), ("remote_hostgroup", "STRING", "REQUIRED"),
    ("remote_hostgroup_address", "STRING", "NULLABLE"), ("remote_hostgroup_address_port", "STRING", "NULLABLE")]
for dataset in ("planet", "batched"):
    for table, want in (("planet_exporter_traffic", want_traffic), ("planet_exporter_dependency", want_dependency)):
        fields = [(f["name"], f["type"], f.get("mode", "NULLABLE")) for f in load(f"schema-{dataset}-{table}.json")["schema"]["fields"]]
        if fields != want:
            fail(f"{dataset}.{table} schema {fields}")

# Traffic of the federated host: min/max/mean of InfluxDB's raw points, truncated.
points = {}
for series in load("raw-traffic.json")["results"][0].get("series", []):
    columns = series["columns"]
    for row in series["values"]:
        r = dict(zip(columns, row))
        key = (series["name"], r.get("service") or "", r.get("address") or "", r.get("remote_service") or "", r.get("remote_address") or "")
        points.setdefault(key, []).append(r["bandwidth_bps"])
if len(points) != 3 or min(len(v) for v in points.values()) < 3:
    fail(f"federated traffic in InfluxDB: { {k: len(v) for k, v in points.items()} }")
fixture_bps = {("egress", "xyz"): 8 * 5000, ("ingress", "xyz"): 8 * 40000, ("ingress", ""): 8 * 4000}

def rows_by_key(name):
    rows = {}
    for row in load(name):
        if row[0] != rows_date(name):
            fail(f"{name}: inventory_date {row[0]}")
        rows.setdefault(tuple(row[1:6]), []).append(row)
    return rows
def rows_date(name):
    return date if name.endswith("planet.json") else load(name)[0][0]

for dataset in ("planet", "batched"):
    got = rows_by_key(f"traffic-{dataset}.json")
    want_keys = {(d, s, a or None, r, ra or None) for (d, s, a, r, ra) in points} | {
        ("ingress", "crafted", "crafted.service.consul", "db", "db.service.consul")}
    if set(got) != want_keys or any(len(v) != 1 for v in got.values()):
        fail(f"{dataset}: traffic rows {sorted(got)}, want {sorted(want_keys)}")
    for (d, s, a, r, ra), values in points.items():
        row = got[(d, s, a or None, r, ra or None)][0]
        low, high, mean = (int(v) for v in row[6:9])
        if (low, high) != (math.trunc(min(values)), math.trunc(max(values))):
            fail(f"{dataset} {d} {r}: min/max {low}/{high}, InfluxDB points {values}")
        exact = sum(values) / len(values)
        # Float sums may differ in the last bit; that matters only at an integer boundary.
        if mean != math.trunc(exact) and not (abs(exact - round(exact)) < 1e-6 and abs(mean - exact) <= 1):
            fail(f"{dataset} {d} {r}: avg {mean}, points' mean {exact}")
        if abs(mean - fixture_bps[(d, r)]) > 0.1 * fixture_bps[(d, r)]:
            fail(f"{dataset} {d} {r}: avg {mean} bit/s, the fixture says {fixture_bps[(d, r)]}")
    crafted = got[("ingress", "crafted", "crafted.service.consul", "db", "db.service.consul")][0]
    if [int(v) for v in crafted[6:9]] != [1000, 5000, 3000]:
        fail(f"{dataset}: crafted min/max/avg {crafted[6:9]}, want 1000/5000/3000 (the 2 h old 99999 is outside the hour)")

    deps = {tuple(row[1:]) for row in load(f"dependency-{dataset}.json")}
    if len(deps) != len(load(f"dependency-{dataset}.json")):
        fail(f"{dataset}: duplicate dependency rows")
    local = ("debugapp", "debugapp.service.consul")
    want_deps = {
        ("upstream", "tcp", "debugapp", *local, None, "xyz", "xyz.service.consul", "80"),
        ("upstream", "tcp", "consul-template", *local, None, "localhost", "127.0.0.1", "8500"),
        ("upstream", "tcp", "consul", *local, None, "consul-server", "10.2.3.3", "8300"),
        ("upstream", "tcp", "consul", *local, None, "consul-server", "10.2.3.4", "8300"),
        ("upstream", "tcp", None, *local, None, "", "100.100.98.18", "3128"),
        ("upstream", "tcp", None, *local, None, "", "35.158.25.125", "443"),
        ("upstream", "tcp", None, *local, None, "", "52.219.32.222", "443"),
        ("upstream", "tcp", "cloudmetrics", *local, None, "", "100.100.103.57", "80"),
        ("upstream", "tcp", "cloudmetrics", *local, None, "", "100.100.30.26", "80"),
        ("downstream", "tcp", "node_exporter", *local, "9100", "prometheus", "prometheus.service.consul", None),
        ("downstream", "tcp", "planet-exporter", *local, "19100", "prometheus", "prometheus.service.consul", None),
        ("downstream", "tcp", "planet-exporter", *local, "19100", "", "192.168.1.2", None),
        ("downstream", "tcp", "sshd", *local, "22", "", "192.168.1.2", None),
        ("upstream", "tcp", None, "crafted", "crafted.service.consul", None, "weekly", "weekly.service.consul", "6379"),
        ("downstream", "tcp", "nginx", "crafted", None, "443", "", "10.9.9.9", None),
    }
    if deps != want_deps:
        fail(f"{dataset}: dependency rows\n  extra {sorted(deps - want_deps, key=str)}\n  missing {sorted(want_deps - deps, key=str)}")
print(f"    {len(points) + 1} traffic rows and {len(want_deps)} dependency rows as expected in both datasets; inventory_date {date}")
PY
requests=$(grep 'analysis=traffic' "$E2E_TMP/batched.log" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
[ "$requests" = 2 ] || { cat "$E2E_TMP/batched.log" >&2; fail "4 traffic rows in batches of 2 took $requests requests, want 2"; }
requests=$(grep 'analysis=dependency' "$E2E_TMP/batched.log" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
[ "$requests" = 8 ] || { cat "$E2E_TMP/batched.log" >&2; fail "15 dependency rows in batches of 2 took $requests requests, want 8"; }

log "-cron-job-time-offset -1h30m: the traffic hour holds only the old hand-written points"
ip netns exec "$NS" "$TOOL" "${common[@]}" -bq-dataset-id planet -bq-traffic-table-id past -cron-job-time-offset -1h30m -once \
    2>"$E2E_TMP/past.log" || { cat "$E2E_TMP/past.log" >&2; fail "-once with an offset failed"; }
past=$(bq_sql "$NS" "$BQ_PORT" "SELECT local_hostgroup, remote_hostgroup, traffic_bandwidth_bits_max_1h FROM planet.past")
[ "$past" = '[["crafted", "db", "99999"], ["crafted", "old", "7777"]]' ] || [ "$past" = '[["crafted", "old", "7777"], ["crafted", "db", "99999"]]' ] \
    || fail "offset window rows: $past"

log "cron schedules every 2 s, stopped with SIGTERM"
ip netns exec "$NS" "$TOOL" "${common[@]}" -bq-dataset-id cron -cron-job-schedule-traffic '*/2 * * * * *' \
    -cron-job-schedule-dependency '1/2 * * * * *' 2>"$E2E_TMP/cron.log" &
cron_pid=$!
E2E_PIDS+=($cron_pid)
runs() { grep -c "analysis=$1" "$E2E_TMP/cron.log" 2>/dev/null || true; }
deadline=$((SECONDS + 40))
while { [ "$(runs traffic)" -lt 2 ] || [ "$(runs dependency)" -lt 2 ]; } && [ $SECONDS -lt $deadline ] && kill -0 "$cron_pid" 2>/dev/null; do
    sleep 0.5
done
[ "$(runs traffic)" -ge 2 ] && [ "$(runs dependency)" -ge 2 ] || { cat "$E2E_TMP/cron.log" >&2; fail "the schedules did not run twice each"; }
kill -TERM "$cron_pid"
set +e; wait "$cron_pid"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$E2E_TMP/cron.log" >&2; fail "exited $rc on SIGTERM"; }
grep -q 'traffic job stopped' "$E2E_TMP/cron.log" && grep -q 'dependency job stopped' "$E2E_TMP/cron.log" \
    || { cat "$E2E_TMP/cron.log" >&2; fail "no clean stop logged"; }
if grep -q 'failures=[1-9]' "$E2E_TMP/cron.log"; then cat "$E2E_TMP/cron.log" >&2; fail "a scheduled run failed"; fi

log "errors a user can hit: one line each, exit status 1"
expect_error() { # name, expected text, tool arguments...
    local name=$1 text=$2; shift 2
    set +e
    ip netns exec "$NS" timeout 60 "$TOOL" -log-disable-colors -influxdb-addr "http://127.0.0.1:$INFLUX_PORT" -bq-endpoint "$BQ" "$@" \
        2>"$E2E_TMP/$name.log"
    local rc=$?
    set -e
    [ "$rc" -eq 1 ] || { cat "$E2E_TMP/$name.log" >&2; fail "$name: exit $rc, want 1"; }
    grep -qF -- "$text" "$E2E_TMP/$name.log" || { cat "$E2E_TMP/$name.log" >&2; fail "$name: no line saying: $text"; }
}
expect_error no-credentials "no BigQuery credentials: GOOGLE_APPLICATION_CREDENTIALS is not set and no GCE metadata server answers" \
    -bq-project-id test-project -bq-dataset-id planet -once -cron-job-timeout-second 20
expect_error bad-key "service-account key file $E2E_TMP/nokey.json" \
    -bq-project-id test-project -bq-dataset-id planet -once -bq-credentials-file "$E2E_TMP/nokey.json"
expect_error influx-down "cannot reach influxdb at http://127.0.0.1:1" \
    -bq-project-id test-project -bq-dataset-id planet -bq-auth none -once -cron-job-timeout-second 3 -influxdb-addr http://127.0.0.1:1
expect_error no-database "influxdb: database not found: nothere" \
    -bq-project-id test-project -bq-dataset-id planet -bq-auth none -once -influxdb-database nothere
set +e
ip netns exec "$NS" "$TOOL" -once 2>"$E2E_TMP/nodataset-flag.log"; rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q -- '-bq-dataset-id is required' "$E2E_TMP/nodataset-flag.log" \
    || { cat "$E2E_TMP/nodataset-flag.log" >&2; fail "missing -bq-dataset-id not reported"; }
echo "bigquery end to end: ok"
