#!/usr/bin/env bash
# Memory and time of planet-federator-influxdb-to-bq against the size of its input: the
# dependency analysis over N upstream series (one row each) in a real InfluxDB 1.x,
# written to the bqemulator BigQuery emulator, for two values of N. The tool streams
# InfluxDB's answer chunk by chunk into insertAll batches, so its peak RSS should not
# grow with N. Reported per N: rows written, wall time, the tool's own CPU time, insertAll
# requests, peak RSS of the tool (GNU time), and the same for a run with no rows, as the
# baseline. Most of the wall time is the emulator's: compare it with the tool's CPU time.
#
# Usage: Benchmarks/bigquery/run.sh   (as root: the servers run in a network namespace;
#        ROWS="5000 50000" to change the sizes; TOOL=path to time another build)
set -euo pipefail
source "$(dirname "$0")/../../Tests/EndToEnd/lib.sh"
require_root
require_cmd ip influxd curl python3 /usr/bin/time
TOOL=${TOOL:-$E2E_ROOT/.build/release/planet-federator-influxdb-to-bq}
[ -x "$TOOL" ] || fail "$TOOL is missing: swift build -c release"
rows_list=${ROWS:-5000 50000}

NS=pe-bq-bench-$$
new_netns "$NS"
INFLUX_PORT=8086 BQ_PORT=9050
start_influxdb "$INFLUX_PORT" "$NS"
start_bqemulator "$NS" "$BQ_PORT"

printf '%8s %10s %9s %12s %9s %12s\n' rows inserted seconds tool_cpu_s requests peak_rss_mb
for rows in 0 $rows_list; do
    db=bench$rows
    influxql "$NS" "$INFLUX_PORT" "" "CREATE DATABASE $db" >/dev/null
    # N upstream series of one service, written 10,000 points per request.
    python3 - "$rows" "$(date +%s)" >"$E2E_TMP/points.txt" <<'PY'
import sys
rows, now = int(sys.argv[1]), int(sys.argv[2])
for i in range(rows):
    print(f"upstream,service=svc{i % 50},address=svc{i % 50}.service.consul,upstream_service=peer{i},"
          f"upstream_address=10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256},upstream_port={1024 + i % 1000},"
          f"process_name=proc{i % 7},protocol=tcp service_dependency=1 {now - 3600}")
PY
    split -l 10000 "$E2E_TMP/points.txt" "$E2E_TMP/part."
    for part in "$E2E_TMP"/part.*; do
        [ -e "$part" ] || continue
        ip netns exec "$NS" curl -sf -XPOST "http://127.0.0.1:$INFLUX_PORT/write?db=$db&precision=s" --data-binary "@$part" \
            || fail "could not write points"
        rm -f "$part"
    done
    ip netns exec "$NS" curl -sf -XPOST -H 'Content-Type: application/json' \
        "http://127.0.0.1:$BQ_PORT/bigquery/v2/projects/test-project/datasets" \
        -d "{\"datasetReference\":{\"projectId\":\"test-project\",\"datasetId\":\"$db\"}}" >/dev/null
    start=$(date +%s.%N)
    ip netns exec "$NS" /usr/bin/time -f 'maxrss_kb=%M cpu_seconds=%U+%S' "$TOOL" -influxdb-addr "http://127.0.0.1:$INFLUX_PORT" \
        -influxdb-database "$db" -bq-endpoint "http://127.0.0.1:$BQ_PORT" -bq-project-id test-project -bq-dataset-id "$db" \
        -bq-auth none -once -cron-job-timeout-second 1800 -log-disable-colors 2>"$E2E_TMP/run.log" \
        || { cat "$E2E_TMP/run.log" >&2; fail "run with $rows rows failed"; }
    seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
    line=$(grep 'analysis=dependency' "$E2E_TMP/run.log" | grep 'bigquery export finished')
    inserted=$(sed -n 's/.* inserted=\([0-9]*\).*/\1/p' <<<"$line")
    requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
    rss=$(sed -n 's/^maxrss_kb=\([0-9]*\).*/\1/p' "$E2E_TMP/run.log")
    cpu=$(sed -n 's/^maxrss_kb=.* cpu_seconds=//p' "$E2E_TMP/run.log")
    [ "$inserted" = "$rows" ] || { cat "$E2E_TMP/run.log" >&2; fail "inserted $inserted rows, want $rows"; }
    printf '%8s %10s %9s %12s %9s %12.1f\n' "$rows" "$inserted" "$seconds" "$(python3 -c "print(f'{$cpu:.2f}')")" "$requests" "$(python3 -c "print($rss / 1024)")"
done
