#!/usr/bin/env bash
# Fleet benchmark: AGENTS simulated planet-exporter agents (Benchmarks/fleet/fleet_sim.py,
# ~200 series each, labels from a shared fleet inventory) scraped by a real Prometheus;
# one hour of that data federated by one planet-federator run (release build) into a real
# InfluxDB 1.x and a real Prometheus remote-write receiver. Reports the run's time, peak
# RSS and points written, the peak RSS at several batch sizes and window lengths (memory
# follows the batch, not the fleet), and the dashboard question's query time on the raw
# series against the federated data.
#
#   Benchmarks/fleet/run.sh                 # 1,000 agents, one hour (about 15 minutes on an idle machine)
#   AGENTS=200 SIM_MINUTES=15 Benchmarks/fleet/run.sh   # a smaller fleet, a quarter of an hour
# Everything listens on 127.0.0.0/8 and stops at exit. Needs root only to install packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/install.sh
install_packages prometheus influxdb curl python3 time
export PATH=/opt/swift/usr/bin:$PATH
# The end-to-end tests' helpers: a temporary directory, processes stopped at exit, the servers.
source Tests/EndToEnd/lib.sh
source Fixtures/federator/servers.sh

AGENTS=${AGENTS:-1000}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-3}   # real seconds between scrapes; each is 15 simulated seconds
SIM_MINUTES=${SIM_MINUTES:-60}          # simulated history federated by one run; divides 60
binary=.build/release/planet-federator
work=$E2E_TMP
say() { echo "$*" >&2; }

sim_port=$(free_port); prom_port=$(free_port); receiver_port=$(free_port); influx_port=$(free_port)
prom=http://127.0.0.1:$prom_port; receiver=http://127.0.0.1:$receiver_port; influx=http://127.0.0.1:$influx_port

say "== simulating $AGENTS agents"
python3 Benchmarks/fleet/fleet_sim.py --agents "$AGENTS" --port "$sim_port" --inventory "$work/inventory.ndjson" \
    --targets "$work/targets" --status "$work/status" --sim-hours "$(python3 -c "print($SIM_MINUTES / 60)")" --max-seconds 7200 &
E2E_PIDS+=($!)
wait_for 120 test -s "$work/status" || fail "simulator did not start"

{
    echo "global: {scrape_interval: ${SCRAPE_INTERVAL}s, scrape_timeout: ${SCRAPE_INTERVAL}s, evaluation_interval: 1m}"
    echo "scrape_configs:"
    echo "  - job_name: planet-exporter"
    echo "    static_configs:"
    echo "      - targets:"
    sed 's/^/          - /' "$work/targets"
} >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" --web.listen-address="127.0.0.1:$prom_port" \
    --query.max-samples=200000000 --log.level=error 2>"$work/prometheus.log" &
E2E_PIDS+=($!)
echo "global: {scrape_interval: 1m}" >"$work/receiver.yml"
prometheus --config.file="$work/receiver.yml" --storage.tsdb.path="$work/receiver" --web.listen-address="127.0.0.1:$receiver_port" \
    --web.enable-remote-write-receiver --log.level=warn 2>"$work/receiver.log" &
E2E_PIDS+=($!)
start_influxdb "$influx_port"
wait_for 60 curl -fsS "$prom/-/ready" && wait_for 60 curl -fsS "$receiver/-/ready" || fail "prometheus did not start"
for db in fleet batch1000 batch20000 cron; do fed_create_database "$influx_port" "$db"; done

read -r _ needed <"$work/status"
say "== scraping: one simulated hour (and a lead) is $needed scrapes of every target, ${SCRAPE_INTERVAL} s apart"
fill_start=$SECONDS
hour_done() { read -r done _ <"$work/status"; [ "$done" -gt "$needed" ]; }
wait_for $((needed * SCRAPE_INTERVAL * 3 + 600)) hour_done || fail "the hour was not scraped in time"
say "   done in $((SECONDS - fill_start)) s"
sim_end=$(python3 -c 'import sys; print(int(sys.argv[1]) // 30 * 30)' "$(stat -c %Y "$work/inventory.ndjson")")
raw_series=$(curl -fsS -G "$prom/api/v1/query" --data-urlencode "query=count(count_over_time({__name__=~\"planet_.*\"}[${SIM_MINUTES}m]))" \
    --data-urlencode "time=$sim_end" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
raw_samples=$(curl -fsS -G "$prom/api/v1/query" --data-urlencode "query=sum(count_over_time({__name__=~\"planet_.*\"}[${SIM_MINUTES}m]))" \
    --data-urlencode "time=$sim_end" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
say "   prometheus holds $raw_series series, $raw_samples samples in the hour"
# Stop scraping: the federated hour is in, and the runs below should not compete with scrapes.
kill "${E2E_PIDS[0]}" 2>/dev/null || true

# Built now, while the simulated hour is being scraped, if it was not there.
swift build -c release --product planet-federator >&2

# federate NAME EXTRA_FLAGS...: one -once run over the simulated hour; prints "seconds peak_rss_kib" and keeps the log.
federate() {
    local name=$1; shift
    local offset=$((sim_end - $(date +%s)))
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$binary" -prometheus-addr "$prom" -influxdb-addr "$influx" -once \
        -cron-job-schedule "0 */$SIM_MINUTES * * * *" -query-step 30s -query-rate-window 1m -cron-job-time-offset "${offset}s" \
        -cron-job-timeout-second 600 -log-disable-colors "$@" 2>"$work/$name.log" \
        || { cat "$work/$name.log" >&2; fail "federator run $name failed"; }
    cat "$work/$name.time"
}
field() { grep 'federation run finished' "$work/$1.log" | sed -E "s/.* $2=([0-9]+).*/\\1/"; }

say "== one federator run over the simulated $SIM_MINUTES minutes: InfluxDB and remote write, default batch sizes"
read -r run_seconds run_rss < <(federate fleet -influxdb-bucket fleet -prometheus-remote-write-url "$receiver/api/v1/write")
points=$(field fleet written); samples=$(field fleet remote_write_written); series=$(field fleet series)
say "   $run_seconds s, peak RSS $((run_rss / 1024)) MiB, $series series read, $points points to InfluxDB, $samples samples to remote write"
grep -q 'failures=0' "$work/fleet.log" || { cat "$work/fleet.log" >&2; fail "the run reported failures"; }

say "== memory against batch size and data volume (InfluxDB only), and a regular 30 s run"
read -r s1000 r1000 < <(federate batch1000 -influxdb-bucket batch1000 -influxdb-batch-size 1000)
read -r s20000 r20000 < <(federate batch20000 -influxdb-bucket batch20000 -influxdb-batch-size 20000)
# The run a 30 s schedule makes: one evaluation of the whole fleet.
read -r scron rcron < <(federate cron -influxdb-bucket cron -cron-job-schedule '*/30 * * * * *')

say "== query time: the dashboard question, raw series against federated data, 20 runs each"
service=svc07
t_start=$((sim_end - SIM_MINUTES * 60 + 60)); t_end=$sim_end
raw_one="sum by (local_hostgroup, remote_hostgroup, remote_domain) (irate(planet_traffic_bytes_total{direction=\"ingress\", local_hostgroup=\"$service\"}[1m])) * 8"
fed_one="sum by (local_hostgroup, remote_hostgroup, remote_domain) (planet_federated_traffic_bits_per_second{direction=\"ingress\", local_hostgroup=\"$service\"})"
raw_all='sum by (local_hostgroup, remote_hostgroup) (irate(planet_traffic_bytes_total{direction="ingress"}[1m])) * 8'
fed_all='sum by (local_hostgroup, remote_hostgroup) (planet_federated_traffic_bits_per_second{direction="ingress"})'
influx_one="SELECT SUM(\"bandwidth_bps\") FROM \"ingress\" WHERE (\"service\" = '$service') AND time >= ${t_start}s AND time <= ${t_end}s GROUP BY time(30s), \"service\", \"remote_service\", \"remote_address\""
influx_all="SELECT SUM(\"bandwidth_bps\") FROM \"ingress\" WHERE time >= ${t_start}s AND time <= ${t_end}s GROUP BY time(30s), \"service\", \"remote_service\""
python3 - "$prom" "$receiver" "$influx" "$t_start" "$t_end" "$raw_one" "$fed_one" "$raw_all" "$fed_all" "$influx_one" "$influx_all" \
    >"$work/queries.txt" <<'PY'
import json, sys, time, urllib.parse, urllib.request
prom, receiver, influx, start, end, raw_one, fed_one, raw_all, fed_all, influx_one, influx_all = sys.argv[1:]
def timed(url):
    def once():
        with urllib.request.urlopen(url, timeout=120) as response:
            return json.loads(response.read())
    answer = once()
    times = []
    for _ in range(20):
        t = time.perf_counter(); once(); times.append(time.perf_counter() - t)
    times.sort()
    return times[10] * 1000, answer
def prom_url(base, query):
    return base + "/api/v1/query_range?" + urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": 30})
def influx_url(query):
    return influx + "/query?" + urllib.parse.urlencode({"db": "fleet", "q": query})
rows = []
for label, raw, fed, iq in (("one service", raw_one, fed_one, influx_one), ("whole fleet", raw_all, fed_all, influx_all)):
    raw_ms, raw_answer = timed(prom_url(prom, raw))
    fed_ms, fed_answer = timed(prom_url(receiver, fed))
    influx_ms, influx_answer = timed(influx_url(iq))
    n_raw, n_fed = len(raw_answer["data"]["result"]), len(fed_answer["data"]["result"])
    n_influx = len(influx_answer["results"][0].get("series", []))
    print(f"{label}: raw prometheus {raw_ms:.1f} ms ({n_raw} result series) | federated prometheus {fed_ms:.1f} ms "
          f"({n_fed}) = {raw_ms / fed_ms:.1f}x faster | federated influxdb {influx_ms:.1f} ms ({n_influx}) = {raw_ms / influx_ms:.1f}x faster")
PY
cat "$work/queries.txt" >&2

cat <<REPORT
fleet benchmark: $AGENTS agents, $raw_series raw series, $raw_samples samples in the federated $SIM_MINUTES minutes
federator run (InfluxDB + remote write): ${run_seconds} s, peak RSS $((run_rss / 1024)) MiB, $series series read,
  $points points written to InfluxDB, $samples samples written to the remote-write receiver
peak RSS by batch size (InfluxDB only): 1000 -> $((r1000 / 1024)) MiB (${s1000} s), 5000 (default) -> see above, 20000 -> $((r20000 / 1024)) MiB (${s20000} s)
a regular run of a 30 s schedule (one evaluation, $(field cron written) points): ${scron} s, peak RSS $((rcron / 1024)) MiB
$(cat "$work/queries.txt")
REPORT
