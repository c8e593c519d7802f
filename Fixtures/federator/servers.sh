# Real servers for the federator's end-to-end tests, on 127.0.0.1; sourced after
# Tests/EndToEnd/lib.sh, whose exit trap stops everything started here.

# fed_influxql PORT DB QUERY: the JSON answer of an InfluxQL query.
fed_influxql() {
    curl -fsS -G "http://127.0.0.1:$1/query" --data-urlencode "db=$2" --data-urlencode "q=$3"
}

# fed_create_database PORT DB
fed_create_database() {
    curl -fsS -XPOST "http://127.0.0.1:$1/query" --data-urlencode "q=CREATE DATABASE \"$2\"" >/dev/null
}

# fed_start_prometheus PORT SCRAPE_TARGET [FLAG...]: a Prometheus on 127.0.0.1:PORT scraping
# SCRAPE_TARGET every second (none when it is "-"), with extra command-line flags.
fed_start_prometheus() {
    local port=$1 target=$2 dir=$E2E_TMP/prometheus-$1
    shift 2
    mkdir -p "$dir"
    {
        echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
        # Catch-up writes windows older than what the receiver already holds.
        echo "storage: {tsdb: {out_of_order_time_window: 1h}}"
        if [ "$target" != - ]; then
            echo "scrape_configs: [{job_name: planet, static_configs: [{targets: ['$target']}]}]"
        fi
    } > "$dir/prometheus.yml"
    prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --log.level=warn "$@" 2>"$dir/prometheus.log" &
    E2E_PIDS+=($!)
    wait_for 30 curl -fsS "http://127.0.0.1:$port/-/ready" || { cat "$dir/prometheus.log" >&2; fail "prometheus did not become ready"; }
}

# fed_promql PORT QUERY [TIME]: the JSON answer of an instant query.
fed_promql() {
    curl -fsS -G "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" ${3:+--data-urlencode "time=$3"}
}

# fed_wait_for_rates PORT: waits until Prometheus has two scrapes of traffic (irate needs them).
fed_wait_for_rates() {
    local check="curl -fsS -G http://127.0.0.1:$1/api/v1/query --data-urlencode 'query=irate(planet_traffic_bytes_total[5s])' | grep -q '\"value\"'"
    wait_for 30 bash -c "$check" || fail "prometheus has no traffic rates after 30 s"
}

# fed_serve_exposition PORT FILE: serves FILE as /metrics (traffic counters grow at their recorded rate).
fed_serve_exposition() {
    python3 "$E2E_ROOT/Fixtures/federator/exposition_server.py" --port "$1" --file "$2" --max-seconds 600 &
    E2E_PIDS+=($!)
    wait_for 30 curl -fsS "http://127.0.0.1:$1/metrics" || fail "exposition server did not start"
}

# fed_wait_for_history PORT SECONDS: waits until Prometheus holds SECONDS of scrapes of
# every traffic series, so every evaluation of a window that long has its rate.
fed_wait_for_history() {
    local check="curl -fsS -G http://127.0.0.1:$1/api/v1/query --data-urlencode 'query=min(count_over_time(planet_traffic_bytes_total[$2s])) >= $(($2 - 1))' | grep -q '\"value\"'"
    wait_for 60 bash -c "$check" || fail "prometheus does not hold $2 s of scrapes after 60 s"
}
