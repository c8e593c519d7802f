#!/usr/bin/env bash
# Secrets stay off the command line and out of the log: planet-federator reads its InfluxDB
# token from -influxdb-token-file and writes through an InfluxDB 2.x front that refuses any
# other token; neither /proc/PID/cmdline nor the log holds the token, and the passwords of
# the user:pass URLs it is given are logged as xxxxx. A missing token file and a token given
# twice are refused at start with one line. The BigQuery tool's -influxdb-password-file too.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$E2E_ROOT/Fixtures/federator/servers.sh"
require_cmd prometheus influxd python3 curl
binary=$E2E_ROOT/.build/release/planet-federator
bq_binary=$E2E_ROOT/.build/release/planet-federator-influxdb-to-bq
[ -x "$binary" ] || fail "no $binary (swift build -c release --product planet-federator)"
fixtures=$E2E_ROOT/Fixtures/federator

token=tok-$$-$RANDOM$RANDOM
printf '%s\n' "$token" > "$E2E_TMP/influxdb-token"
chmod 0600 "$E2E_TMP/influxdb-token"

expo_port=$(free_port); prom_port=$(free_port); influx_port=$(free_port); front_port=$(free_port); closed_port=$(free_port)
fed_serve_exposition "$expo_port" "$fixtures/metrics.prom"
fed_start_prometheus "$prom_port" "127.0.0.1:$expo_port"
start_influxdb "$influx_port"
fed_create_database "$influx_port" mothership
python3 "$fixtures/influxdb2_front.py" --port "$front_port" --influxdb1 "http://127.0.0.1:$influx_port" --org planet \
    --token "$token" --max-seconds 600 &
E2E_PIDS+=($!)
wait_for 30 curl -fsS "http://127.0.0.1:$front_port/ping" || fail "InfluxDB 2.x front did not start"
fed_wait_for_rates "$prom_port"

log "token from a file, URLs with user:pass; runs every 2 s"
# The remote-write receiver is a closed port: its failures log its address.
"$binary" -prometheus-addr "http://reader:prom-pass-$$@127.0.0.1:$prom_port" \
    -influxdb-addr "http://127.0.0.1:$front_port" -influxdb-org planet -influxdb-bucket mothership \
    -influxdb-token-file "$E2E_TMP/influxdb-token" \
    -prometheus-remote-write-url "http://writer:rw-pass-$$@127.0.0.1:$closed_port/api/v1/write" \
    -cron-job-schedule '*/2 * * * * *' -cron-job-timeout-second 5 -query-step 2s -query-rate-window 5s \
    -cron-job-time-offset -1s -log-disable-colors 2>"$E2E_TMP/federator.log" &
pid=$!
E2E_PIDS+=($pid)
# InfluxDB's count is " written=N" (the remote write's is "remote_write_written=N").
written() { grep -Eq 'msg="federation run finished".* written=[1-9]' "$E2E_TMP/federator.log"; }
wait_for 40 written || { cat "$E2E_TMP/federator.log" >&2; fail "no points written with the token from the file"; }
wait_for 20 grep -q "writer:xxxxx@127.0.0.1:$closed_port" "$E2E_TMP/federator.log" \
    || { cat "$E2E_TMP/federator.log" >&2; fail "the remote-write failure does not name its redacted address"; }
kill -0 "$pid" || fail "the federator stopped"
tr '\0' ' ' < "/proc/$pid/cmdline" > "$E2E_TMP/cmdline"
grep -q -- "-influxdb-token-file" "$E2E_TMP/cmdline" || fail "/proc/$pid/cmdline is not the federator's"
grep -q -- "$token" "$E2E_TMP/cmdline" && fail "the token is in /proc/$pid/cmdline"
grep -q "reader:xxxxx@127.0.0.1:$prom_port" "$E2E_TMP/federator.log" \
    || { cat "$E2E_TMP/federator.log" >&2; fail "the start line does not show the Prometheus address redacted"; }
for secret in "$token" "prom-pass-$$" "rw-pass-$$"; do
    if grep -q -- "$secret" "$E2E_TMP/federator.log"; then
        grep -- "$secret" "$E2E_TMP/federator.log" | head -3 >&2
        fail "the log holds a secret ($secret)"
    fi
done
kill -TERM "$pid"
wait "$pid" || true
log "token written by the federator: $(grep -c 'federation run finished' "$E2E_TMP/federator.log") runs, no secret in cmdline or log"

log "a missing token file, and a token given twice, are refused with one line"
set +e
"$binary" -influxdb-token-file "$E2E_TMP/missing" -once -log-disable-colors 2>"$E2E_TMP/missing.log"; missing_rc=$?
"$binary" -influxdb-token x -influxdb-token-file "$E2E_TMP/influxdb-token" -once 2>"$E2E_TMP/both.log"; both_rc=$?
set -e
[ "$missing_rc" -ne 0 ] && grep -q -- "-influxdb-token-file $E2E_TMP/missing: cannot read it: No such file or directory" "$E2E_TMP/missing.log" \
    || { cat "$E2E_TMP/missing.log" >&2; fail "a missing token file is not reported (exit $missing_rc)"; }
[ "$both_rc" -ne 0 ] && grep -q -- "-influxdb-token and -influxdb-token-file are both given" "$E2E_TMP/both.log" \
    || { cat "$E2E_TMP/both.log" >&2; fail "a token given twice is not refused (exit $both_rc)"; }

if [ -x "$bq_binary" ]; then
    log "planet-federator-influxdb-to-bq: -influxdb-password-file"
    set +e
    "$bq_binary" -bq-dataset-id d -bq-project-id p -bq-auth none -influxdb-password-file "$E2E_TMP/missing" -once \
        -log-disable-colors 2>"$E2E_TMP/bq-missing.log"; bq_rc=$?
    set -e
    [ "$bq_rc" -ne 0 ] && grep -q -- "-influxdb-password-file $E2E_TMP/missing: cannot read it" "$E2E_TMP/bq-missing.log" \
        || { cat "$E2E_TMP/bq-missing.log" >&2; fail "the BigQuery tool does not report a missing password file (exit $bq_rc)"; }
fi
echo "PASS"
