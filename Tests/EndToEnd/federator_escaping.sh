#!/usr/bin/env bash
# Label values holding every character line protocol treats specially (commas, equals
# signs, spaces, quotes, backslashes, a trailing backslash, line feeds, carriage returns,
# tabs, '#', non-ASCII) travel agent exposition -> real Prometheus -> planet-federator ->
# real InfluxDB 1.x and a real Prometheus remote-write receiver, in batches that mix them
# with plain values. InfluxDB must store every point and read back each value exactly,
# except the two documented stand-ins; the remote-write receiver must read back every
# value exactly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$E2E_ROOT/Fixtures/federator/servers.sh"
require_cmd prometheus influxd python3 curl
binary=$E2E_ROOT/.build/release/planet-federator
[ -x "$binary" ] || fail "no $binary (swift build -c release --product planet-federator)"

expo_port=$(free_port); prom_port=$(free_port); receiver_port=$(free_port); influx_port=$(free_port)
fed_serve_exposition "$expo_port" "$E2E_ROOT/Fixtures/federator/special.prom"
fed_start_prometheus "$prom_port" "127.0.0.1:$expo_port"
fed_start_prometheus "$receiver_port" - --web.enable-remote-write-receiver
start_influxdb "$influx_port"
fed_create_database "$influx_port" special
# Three evaluations 2 s apart, the first 6 s back, each with two scrapes in its 5 s rate window.
fed_wait_for_history "$prom_port" 13

log "one run over 6 s (3 evaluations per series), batches of 7 points/samples"
"$binary" -prometheus-addr "http://127.0.0.1:$prom_port" -influxdb-addr "http://127.0.0.1:$influx_port" \
    -influxdb-bucket special -influxdb-batch-size 7 -once -cron-job-schedule '*/6 * * * * *' \
    -query-step 2s -query-rate-window 5s -cron-job-time-offset -1s -log-disable-colors \
    -prometheus-remote-write-url "http://127.0.0.1:$receiver_port/api/v1/write" \
    -prometheus-remote-write-batch-size 7 2>"$E2E_TMP/run.log" \
    || { cat "$E2E_TMP/run.log" >&2; fail "federator run failed"; }
grep -q 'rejected=0 .*unwritten=0' "$E2E_TMP/run.log" || { cat "$E2E_TMP/run.log" >&2; fail "points refused or lost"; }

fed_influxql "$influx_port" special 'SHOW TAG VALUES FROM "upstream" WITH KEY = "process_name"' >"$E2E_TMP/upstream-tags.json"
fed_influxql "$influx_port" special 'SHOW TAG VALUES FROM "ingress" WITH KEY = "remote_service"' >"$E2E_TMP/ingress-tags.json"
fed_influxql "$influx_port" special 'SELECT COUNT("service_dependency") FROM "upstream" GROUP BY "process_name"' >"$E2E_TMP/upstream-count.json"
fed_influxql "$influx_port" special 'SELECT COUNT("bandwidth_bps") FROM "ingress" GROUP BY "remote_service"' >"$E2E_TMP/ingress-count.json"
curl -fsS "http://127.0.0.1:$receiver_port/api/v1/label/process_name/values" >"$E2E_TMP/rw-process.json"
curl -fsS "http://127.0.0.1:$receiver_port/api/v1/label/remote_hostgroup/values" >"$E2E_TMP/rw-hostgroups.json"
fed_promql "$receiver_port" 'count_over_time(planet_federated_upstream[1h])' >"$E2E_TMP/rw-upstream-count.json"

python3 - "$E2E_TMP" <<'PY'
import json, sys
work = sys.argv[1]
values = ["evil\\", "a,b=c d", 'q"uote', "line\nfeed", "back\\slash", 'x\\ y\\=z"w',
          "tab\there", "#hash \u00fc", "cr\rret", "a\\\\,b", "plain"]
# docs/federator.md: line feeds become "\n"; a backslash at the end or right before a
# comma, equals sign or space becomes "/". Everything else is stored as it is.
stand_in = {"evil\\": "evil/", "line\nfeed": "line\\nfeed", 'x\\ y\\=z"w': 'x/ y/=z"w', "a\\\\,b": "a\\/,b"}
influx_expected = {stand_in.get(v, v) for v in values}

def fail(message):
    sys.exit("FAIL: " + message)

def tag_values(name):
    series = json.load(open(f"{work}/{name}.json"))["results"][0].get("series", [])
    return {row[1] for s in series for row in s["values"]}

def counts(name, tag):
    series = json.load(open(f"{work}/{name}.json"))["results"][0].get("series", [])
    return {s["tags"][tag]: s["values"][0][1] for s in series}

for name, tag in (("upstream-tags", "upstream"), ("ingress-tags", "ingress")):
    got = tag_values(name)
    if got != influx_expected:
        fail(f"influxdb {tag}: missing {sorted(influx_expected - got)!r}, unexpected {sorted(got - influx_expected)!r}")
for name, tag in (("upstream-count", "process_name"), ("ingress-count", "remote_service")):
    got = counts(name, tag)
    if set(got) != influx_expected or set(got.values()) != {3}:
        fail(f"influxdb {name}: want 3 points for each of {len(influx_expected)} values, got {got!r}")

for name in ("rw-process", "rw-hostgroups"):
    got = set(json.load(open(f"{work}/{name}.json"))["data"])
    if name == "rw-hostgroups":
        got.discard("peer")
    if got != set(values):
        fail(f"remote write {name}: missing {sorted(set(values) - got)!r}, unexpected {sorted(got - set(values))!r}")
result = json.load(open(f"{work}/rw-upstream-count.json"))["data"]["result"]
got = {r["metric"]["process_name"]: r["value"][1] for r in result}
if set(got) != set(values) or set(got.values()) != {"3"}:
    fail(f"remote write: want 3 samples for each process name, got {got!r}")
print(f"  {len(values)} special values: influxdb and the remote-write receiver read back what they should, 3 points each")
PY
echo "federator escaping end-to-end: passed"
