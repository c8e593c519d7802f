#!/usr/bin/env bash
# planet-federator when things go wrong, against real servers on 127.0.0.1:
# - a Prometheus or an InfluxDB that sends the response head and then stalls the body
#   (a small Python server): -cron-job-timeout-second still ends the run, and SIGTERM
#   ends a stalled run at once;
# - an InfluxDB that fails for a while (a proxy answering 503 in front of the real one):
#   the windows not written are caught up by the next run, across a restart with
#   -state-file and in memory on a cron schedule, with no gap in the stored timestamps;
# - a partial write (real InfluxDB refusing one measurement's points for a field type
#   conflict) and a batch refused with 400: points written and rejected are counted
#   exactly and the remaining batches are written.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$E2E_ROOT/Fixtures/federator/servers.sh"
require_cmd prometheus influxd python3 curl
binary=$E2E_ROOT/.build/release/planet-federator
[ -x "$binary" ] || fail "no $binary (swift build -c release --product planet-federator)"
fixtures=$E2E_ROOT/Fixtures/federator

expo_port=$(free_port); prom_port=$(free_port); influx_port=$(free_port); stall_port=$(free_port); proxy_port=$(free_port)
prom=http://127.0.0.1:$prom_port
influx=http://127.0.0.1:$influx_port
fed_serve_exposition "$expo_port" "$fixtures/metrics.prom"
fed_start_prometheus "$prom_port" "127.0.0.1:$expo_port"
start_influxdb "$influx_port"
python3 "$fixtures/stall_server.py" --port "$stall_port" >"$E2E_TMP/stall.out" &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$stall_port/ping" || fail "stall server did not start"
fed_wait_for_history "$prom_port" 8

common=(-query-step 2s -query-rate-window 5s -cron-job-time-offset -1s -log-disable-colors)
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$1" "$(now)"; }
# wait_exit PID SECONDS: polls until PID has exited; fails after SECONDS.
wait_exit() {
    local deadline=$(( $(date +%s) + $2 ))
    while kill -0 "$1" 2>/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

log "a Prometheus that stalls its body: -cron-job-timeout-second 3 ends the run"
start=$(now)
set +e
"$binary" "${common[@]}" -prometheus-addr "http://127.0.0.1:$stall_port" -influxdb-addr "$influx" -once \
    -cron-job-timeout-second 3 2>"$E2E_TMP/stall-query.log"
rc=$?
set -e
took=$(elapsed "$start")
[ "$rc" -eq 1 ] || { cat "$E2E_TMP/stall-query.log" >&2; fail "-once against a stalled Prometheus exited $rc, want 1"; }
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 6 else 1)" "$took" \
    || fail "a stalled Prometheus held a 3 s job for ${took} s"
grep -q 'no complete answer before the deadline' "$E2E_TMP/stall-query.log" \
    || { cat "$E2E_TMP/stall-query.log" >&2; fail "no deadline error logged"; }
log "ended after ${took} s"

log "a Prometheus that stalls its body: SIGTERM ends the run at once, the window is kept"
"$binary" "${common[@]}" -prometheus-addr "http://127.0.0.1:$stall_port" -influxdb-addr "$influx" \
    -cron-job-schedule '*/2 * * * * *' -cron-job-timeout-second 120 -state-file "$E2E_TMP/stalled.state" \
    2>"$E2E_TMP/stall-term.log" &
pid=$!
E2E_PIDS+=($pid)
stalls_before=$(grep -c 'stalling /api/v1/query_range' "$E2E_TMP/stall.out" || true)
wait_for 30 bash -c "[ \$(grep -c 'stalling /api/v1/query_range' '$E2E_TMP/stall.out') -gt $stalls_before ]" \
    || fail "the federator never queried the stalling Prometheus"
start=$(now)
kill -TERM "$pid"
wait_exit "$pid" 5 || { cat "$E2E_TMP/stall-term.log" >&2; fail "SIGTERM did not end a stalled run within 5 s"; }
took=$(elapsed "$start")
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$E2E_TMP/stall-term.log" >&2; fail "exit status $rc after SIGTERM, want 0"; }
python3 - "$E2E_TMP/stalled.state" <<'PY' || fail "state file does not keep the stalled window"
import json, sys
state = json.load(open(sys.argv[1]))
sets = {w["data_set"] for w in state["pending"]}
sys.exit(0 if sets == {"traffic", "upstream", "downstream"} and state["last_end"] else 1)
PY
log "exited ${took} s after SIGTERM; the window is in the state file"

log "an InfluxDB that stalls its write body: the job timeout ends the run"
start=$(now)
set +e
"$binary" "${common[@]}" -prometheus-addr "$prom" -influxdb-addr "http://127.0.0.1:$stall_port" -once \
    -cron-job-timeout-second 3 2>"$E2E_TMP/stall-write.log"
rc=$?
set -e
took=$(elapsed "$start")
[ "$rc" -eq 1 ] || { cat "$E2E_TMP/stall-write.log" >&2; fail "-once against a stalled InfluxDB exited $rc, want 1"; }
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 6 else 1)" "$took" || fail "a stalled InfluxDB held a 3 s job for ${took} s"
grep -q 'window kept for catch-up' "$E2E_TMP/stall-write.log" || { cat "$E2E_TMP/stall-write.log" >&2; fail "no catch-up logged"; }
log "ended after ${took} s"

python3 "$fixtures/failing_proxy.py" --port "$proxy_port" --upstream "$influx" --fail-while "$E2E_TMP/influx-down" \
    >"$E2E_TMP/proxy.out" &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$proxy_port/ping" || fail "proxy did not start"

# steps DB MEASUREMENT: the distinct timestamps (Unix seconds) stored for MEASUREMENT.
steps() {
    fed_influxql "$influx_port" "$1" "SELECT COUNT(\"service_dependency\") FROM \"$2\" WHERE time > now() - 1h GROUP BY time(2s) fill(none)" \
        | python3 -c 'import json,sys,datetime
series = json.load(sys.stdin)["results"][0].get("series", [])
for s in series:
    for t, _ in s["values"]:
        print(int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()))'
}
# no_gap DB FIRST LAST: every 2 s step from FIRST to LAST has upstream points.
no_gap() {
    python3 - "$1" "$2" "$(steps "$3" upstream | tr '\n' ' ')" <<'PY'
import sys
first, last, got = int(sys.argv[1]), int(sys.argv[2]), {int(t) for t in sys.argv[3].split()}
missing = [t for t in range(first, last + 1, 2) if t not in got]
if missing:
    sys.exit(f"FAIL: upstream steps missing: {missing}")
PY
}

log "InfluxDB failing (503) for one -once run with -state-file: the next run catches it up"
fed_create_database "$influx_port" catchup
touch "$E2E_TMP/influx-down"
set +e
"$binary" "${common[@]}" -prometheus-addr "$prom" -influxdb-addr "http://127.0.0.1:$proxy_port" -influxdb-bucket catchup \
    -once -cron-job-schedule '*/6 * * * * *' -cron-job-timeout-second 3 -state-file "$E2E_TMP/catchup.state" \
    2>"$E2E_TMP/catchup-1.log"
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$E2E_TMP/catchup-1.log" >&2; fail "the failing run exited $rc, want 1"; }
first=$(python3 -c 'import json,sys; print(min(w["start"] for w in json.load(open(sys.argv[1]))["pending"]))' "$E2E_TMP/catchup.state")
rm "$E2E_TMP/influx-down"
wait_for 30 bash -c "[ \$(date +%s) -gt \$(( $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["last_end"])' "$E2E_TMP/catchup.state") + 3 )) ]"
"$binary" "${common[@]}" -prometheus-addr "$prom" -influxdb-addr "http://127.0.0.1:$proxy_port" -influxdb-bucket catchup \
    -once -cron-job-schedule '*/6 * * * * *' -cron-job-timeout-second 10 -state-file "$E2E_TMP/catchup.state" \
    2>"$E2E_TMP/catchup-2.log" || { cat "$E2E_TMP/catchup-2.log" >&2; fail "the catching-up run failed"; }
last=$(python3 -c 'import json,sys; s = json.load(open(sys.argv[1])); assert not s["pending"], s; print(s["last_end"])' "$E2E_TMP/catchup.state") \
    || fail "windows still pending after the catch-up run"
no_gap "$first" "$last" catchup
log "steps $first..$last all stored"

log "InfluxDB failing for two runs of a 2 s cron schedule: caught up in memory"
fed_create_database "$influx_port" memory
touch "$E2E_TMP/influx-down"
"$binary" "${common[@]}" -prometheus-addr "$prom" -influxdb-addr "http://127.0.0.1:$proxy_port" -influxdb-bucket memory \
    -cron-job-schedule '*/2 * * * * *' -cron-job-timeout-second 1 2>"$E2E_TMP/memory.log" &
pid=$!
E2E_PIDS+=($pid)
runs() { grep -c 'federation run finished' "$E2E_TMP/memory.log" 2>/dev/null || true; }
wait_for 30 bash -c "[ \$(grep -c 'federation run finished' '$E2E_TMP/memory.log') -ge 2 ]" || fail "no two failing runs"
rm "$E2E_TMP/influx-down"
failed_runs=$(runs)
wait_for 30 bash -c "[ \$(grep -c 'federation run finished.*pending_windows=0' '$E2E_TMP/memory.log') -ge 2 ]" \
    || { cat "$E2E_TMP/memory.log" >&2; fail "no two clean runs after InfluxDB came back"; }
kill -TERM "$pid"
wait_exit "$pid" 5 || fail "SIGTERM did not stop the cron federator"
first=$(grep -m1 'federation run finished' "$E2E_TMP/memory.log" | sed -E 's/.* start=([0-9]+).*/\1/')
last=$(grep 'federation run finished.*pending_windows=0' "$E2E_TMP/memory.log" | tail -1 | sed -E 's/.* end=([0-9]+).*/\1/')
no_gap "$first" "$last" memory
log "$failed_runs runs failed or partly failed, then steps $first..$last all stored"

log "a partial write: InfluxDB refuses the ingress points (field type conflict), stores the rest"
fed_create_database "$influx_port" partial
fed_create_database "$influx_port" clean
# A string bandwidth_bps in the shard makes every float one of the same measurement a conflict.
curl -fsS -XPOST "$influx/write?db=partial" --data-binary "ingress,service=conflict bandwidth_bps=\"text\" $(( $(date +%s) - 60 ))000000000"
for db in partial clean; do
    "$binary" "${common[@]}" -prometheus-addr "$prom" -influxdb-addr "$influx" -influxdb-bucket "$db" -influxdb-batch-size 5 \
        -once -cron-job-schedule '*/6 * * * * *' 2>"$E2E_TMP/$db.log" || [ "$db" = partial ] \
        || { cat "$E2E_TMP/$db.log" >&2; fail "federator run into $db failed"; }
done
count() { # DB MEASUREMENT FIELD
    fed_influxql "$influx_port" "$1" "SELECT COUNT(\"$3\") FROM \"$2\" WHERE time > now() - 1h AND service != 'conflict'" \
        | python3 -c 'import json,sys; s = json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)'
}
python3 - "$E2E_TMP/partial.log" "$(count clean ingress bandwidth_bps)" "$(count partial egress bandwidth_bps)" \
    "$(count partial upstream service_dependency)" "$(count partial downstream service_dependency)" "$(count partial ingress bandwidth_bps)" <<'PY'
import re, sys
log, clean_ingress, egress, upstream, downstream, ingress = sys.argv[1], *map(int, sys.argv[2:])
text = open(log).read()
line = [l for l in text.splitlines() if "federation run finished" in l]
if not line:
    sys.exit("FAIL: no run summary:\n" + text)
fields = dict(re.findall(r"(\w+)=(\S+)", line[0]))
written, rejected, unwritten = (int(fields[k]) for k in ("written", "rejected", "unwritten"))
if "field type conflict" not in text:
    sys.exit("FAIL: the rejected lines' reason is not logged:\n" + text)
if ingress != 0 or rejected != clean_ingress or clean_ingress == 0:
    sys.exit(f"FAIL: rejected={rejected}, want the {clean_ingress} ingress points (stored: {ingress})")
if written != egress + upstream + downstream or unwritten != 0:
    sys.exit(f"FAIL: written={written} unwritten={unwritten}, stored {egress}+{upstream}+{downstream}")
print(f"  written={written} (all stored), rejected={rejected} (the ingress points), in batches of 5")
PY

log "a batch refused with 400: counted as rejected, not retried, the remaining batches are written"
fed_create_database "$influx_port" refused
proxy400_port=$(free_port)
python3 "$fixtures/failing_proxy.py" --port "$proxy400_port" --upstream "$influx" --fail-first 1 --status 400 \
    >"$E2E_TMP/proxy400.out" &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$proxy400_port/ping" || fail "proxy did not start"
set +e
"$binary" "${common[@]}" -prometheus-addr "$prom" -influxdb-addr "http://127.0.0.1:$proxy400_port" -influxdb-bucket refused \
    -influxdb-batch-size 5 -once -cron-job-schedule '*/6 * * * * *' 2>"$E2E_TMP/refused.log"
set -e
[ "$(grep -c '^failed 400' "$E2E_TMP/proxy400.out")" -eq 1 ] || fail "the refused batch was retried"
python3 - "$E2E_TMP/refused.log" "$(grep -c '^forwarded 204' "$E2E_TMP/proxy400.out")" \
    "$(count refused egress bandwidth_bps)" "$(count refused ingress bandwidth_bps)" \
    "$(count refused upstream service_dependency)" "$(count refused downstream service_dependency)" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
forwarded, *stored = map(int, sys.argv[2:])
fields = dict(re.findall(r"(\w+)=(\S+)", [l for l in text.splitlines() if "federation run finished" in l][0]))
written, rejected = int(fields["written"]), int(fields["rejected"])
if rejected != 5 or written != sum(stored) or forwarded < 2:
    sys.exit(f"FAIL: written={written} rejected={rejected} stored={sum(stored)} batches after the refused one={forwarded}")
print(f"  rejected=5 (one batch), written={written} in {forwarded} later batches")
PY
echo "federator failures end-to-end: passed"
