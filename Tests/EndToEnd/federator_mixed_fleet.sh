#!/usr/bin/env bash
# A fleet half way through the move from the Go agent (docs/upgrading.md): one real
# Prometheus scrapes a Go agent stand-in (Fixtures/federator/go-agent.prom: darkstat's
# byte totals as a gauge, the Go original's labels) and the real agent, started with the
# Go unit's flags on port 11910, counting live TCP traffic from a peer namespace. The
# federator writes both hosts to a real InfluxDB 1.x three times: without exclusions,
# with exclusion patterns, and with -exclusions go. Each time the InfluxDB rows of both
# hosts must be the expected ones, the excluded port and address pattern absent from both
# and the rest present.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 prometheus promtool influxd
require_agent
federator=$E2E_ROOT/.build/release/planet-federator
[ -x "$federator" ] || fail "no $federator (swift build -c release --product planet-federator)"

A=pe-mix-a-$$ B=pe-mix-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.204.0.1/16 "$B" veth-b 10.204.0.2/16
# The peer's second address: the one the address patterns exclude.
ip -n "$B" addr add 10.204.9.2/16 dev veth-b

mkdir -p "$E2E_TMP/www"
cat > "$E2E_TMP/www/inventory.json" <<'JSON'
[
  {"ip_address": "10.204.0.1", "domain": "new.example", "hostgroup": "new-host"},
  {"ip_address": "10.204.0.2", "domain": "peer.example", "hostgroup": "peer"},
  {"ip_address": "10.204.9.2", "domain": "", "hostgroup": "excluded-peer"}
]
JSON
in_ns_bg "$A" python3 -m http.server 8000 --bind 127.0.0.1 --directory "$E2E_TMP/www" >"$E2E_TMP/inventory-server.log" 2>&1
wait_for 10 scrape "$A" http://127.0.0.1:8000/inventory.json || fail "inventory server did not start"

seconds=240  # every helper below stops by itself after this long
trickle() { local ns=$1; shift; in_ns_bg "$ns" python3 "$E2E_ROOT/Tests/EndToEnd/trickle.py" "$@"; }
log "servers in the new agent's namespace: pe-app on 8080, pe-sshd on 22"
trickle "$A" server pe-app 0.0.0.0 8080 "$seconds"
trickle "$A" server pe-sshd 0.0.0.0 22 "$seconds"
wait_for 10 bash -c "ip netns exec $A ss -ltn | grep -q ':22 ' && ip netns exec $A ss -ltn | grep -q ':8080 '" \
    || fail "servers did not start"

log "the new agent with the Go unit's flags (port 11910), and the Go agent stand-in beside it"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 0.0.0.0:11910 -log-level info -log-disable-colors -log-disable-timestamp \
    -task-inventory-enabled=True -task-inventory-addr http://127.0.0.1:8000/inventory.json \
    -capture-interfaces veth-a -task-interval 1s 2>"$E2E_TMP/agent.log"
in_ns_bg "$A" python3 "$E2E_ROOT/Fixtures/federator/exposition_server.py" --port 11911 \
    --file "$E2E_ROOT/Fixtures/federator/go-agent.prom" --max-seconds "$seconds"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:11910/metrics | grep -q 'planet_hostname{domain=\"new.example\"'" \
    || { cat "$E2E_TMP/agent.log" >&2; fail "the agent does not serve its inventory labels on 11910"; }
wait_for 10 scrape "$A" http://127.0.0.1:11911/metrics || fail "the Go agent stand-in did not start"

log "peer traffic, 10 x 2000 bytes a second each: 10.204.0.2 to 8080 and to 22, 10.204.9.2 to 8080"
trickle "$B" client pe-browser 10.204.0.2 10.204.0.1 8080 2000 10 "$seconds"
trickle "$B" client pe-ssh 10.204.0.2 10.204.0.1 22 2000 10 "$seconds"
trickle "$B" client pe-browser 10.204.9.2 10.204.0.1 8080 2000 10 "$seconds"

# Every 2 s: the agent shares one rendering of /metrics among the scrapes of a second, so
# scrapes 1 s apart can read the same values twice, and irate() would see bursts.
start_prometheus "$A" 127.0.0.1:11910,127.0.0.1:11911 9090 "" 2s
influx_port=18086
start_influxdb "$influx_port" "$A"
for db in plain patterns go; do influxql "$A" "$influx_port" "" "CREATE DATABASE $db" >/dev/null; done

# Every evaluation of a run's window needs the rates of both hosts: the window is one 6 s
# schedule period ending a second ago, so wait until the six ingress series of the peers
# (three per host) have had a rate (two scrapes in 6 s) at each of the last 10 seconds.
has_history() {
    promql "$A" 9090 'count(count_over_time(irate(planet_traffic_bytes_total{direction="ingress", remote_ip=~"10\\.204\\..*|192\\.168\\.1\\.2"}[6s])[10s:1s]) >= 10) >= 6' \
        | matches '"value"'
}
wait_for 60 has_history || fail "prometheus does not hold 10 s of traffic rates of both hosts after 60 s"

run_federator() { # DATABASE FLAG...
    local db=$1; shift
    ip netns exec "$A" "$federator" -prometheus-addr http://127.0.0.1:9090 -influxdb-addr "http://127.0.0.1:$influx_port" \
        -influxdb-bucket "$db" -once -cron-job-schedule '*/6 * * * * *' -query-step 2s -query-rate-window 6s \
        -cron-job-time-offset -1s -log-disable-colors "$@" 2>"$E2E_TMP/federator-$db.log" \
        || { cat "$E2E_TMP/federator-$db.log" >&2; fail "federator run into $db failed"; }
}
log "federating: no exclusions; -exclude-ports-regex '22|9[0-9]{3}' -exclude-remote-addresses-regex '10\\.204\\.9\\..*'; -exclusions go"
run_federator plain
run_federator patterns -exclude-ports-regex '22|9[0-9]{3}' -exclude-remote-addresses-regex '10\.204\.9\..*'
run_federator go -exclusions go

for db in plain patterns go; do
    influxql "$A" "$influx_port" "$db" 'SELECT "bandwidth_bps" FROM "ingress" GROUP BY *' >"$E2E_TMP/$db-ingress.json"
    influxql "$A" "$influx_port" "$db" 'SELECT "service_dependency" FROM "upstream" GROUP BY *' >"$E2E_TMP/$db-upstream.json"
    influxql "$A" "$influx_port" "$db" 'SELECT "service_dependency" FROM "downstream" GROUP BY *' >"$E2E_TMP/$db-downstream.json"
done

python3 - "$E2E_TMP" <<'PY'
import json, statistics, sys
work = sys.argv[1]

def check(condition, message):
    if not condition:
        sys.exit("FAIL: " + message)

def rows(db, measurement, keys, service=None):
    """{tag values: [values]} of one measurement, for one service or all."""
    result = json.load(open(f"{work}/{db}-{measurement}.json"))["results"][0]
    check("error" not in result, f"{db} {measurement}: {result.get('error')}")
    out = {}
    for series in result.get("series", []):
        tags = series["tags"]
        if service and tags.get("service") != service:
            continue
        key = tuple(tags.get(k, "") for k in keys)
        out.setdefault(key, []).extend(v[1] for v in series["values"] if v[1] is not None)
    return out

traffic_keys = ["service", "address", "remote_service", "remote_address"]
def bandwidth(db, service):
    return {key: statistics.median(values) for key, values in rows(db, "ingress", traffic_keys, service).items()}

def near(got, want, low, high):
    return low * want <= got <= high * want

# The Go host's rows are its exposition's byte rates times 8 (within 10%: the stand-in
# computes each value when it answers, Prometheus stamps it when it asked).
go_all = {("go-host", "go.example", "peer", "peer.example"): 40000,
          ("go-host", "go.example", "excluded-peer", ""): 32000,
          ("go-host", "go.example", "", ""): 16000}
def check_go_traffic(db, want_keys):
    got = bandwidth(db, "go-host")
    check(set(got) == want_keys, f"{db}: Go host ingress rows {sorted(got)}, want {sorted(want_keys)}")
    for key in want_keys:
        check(abs(got[key] - go_all[key]) <= 0.1 * go_all[key], f"{db}: Go host {key}: {got[key]} bit/s, want {go_all[key]}")

# The new host's rows are counted from packets: each connection sends 10 x 2000 bytes a
# second, 160 kbit/s of payload plus TCP/IP headers (about 5%); port 22's and 8080's
# bytes from the same peer sum into one row.
connection = 8 * 2000 * 10
new_peer = ("new-host", "new.example", "peer", "peer.example")
new_excluded = ("new-host", "new.example", "excluded-peer", "")
def check_new_traffic(db, want):
    got = bandwidth(db, "new-host")
    check(set(got) == set(want), f"{db}: new host ingress rows {sorted(got)}, want {sorted(want)}")
    for key, connections in want.items():
        check(near(got[key], connections * connection, 0.85, 1.3),
              f"{db}: new host {key}: {got[key]:.0f} bit/s, want about {connections} x {connection}")

dependency_keys = {"upstream": ["service", "upstream_service", "upstream_address", "process_name", "upstream_port"],
                   "downstream": ["service", "downstream_service", "downstream_address", "process_name", "port"]}
def dependencies(db, measurement, service, peers=None):
    got = set(rows(db, measurement, dependency_keys[measurement], service))
    # The new host also has loopback edges (Prometheus scraping it): only its peers count here.
    return {row for row in got if peers is None or row[2] in peers}
new_peers = {"peer.example", "10.204.9.2"}

go_down_all = {("go-host", "peer", "peer.example", "app", "8080"), ("go-host", "peer", "peer.example", "sshd", "22")}
go_up_all = {("go-host", "db", "db.example", "app", "5432"), ("go-host", "excluded-peer", "10.204.9.7", "app", "443"),
             ("go-host", "", "52.219.32.222", "curl", "443")}
new_down_all = {("new-host", "peer", "peer.example", "pe-app", "8080"), ("new-host", "peer", "peer.example", "pe-sshd", "22"),
                ("new-host", "excluded-peer", "10.204.9.2", "pe-app", "8080")}

# No exclusions: everything of both hosts.
check_go_traffic("plain", set(go_all))
check_new_traffic("plain", {new_peer: 2, new_excluded: 1})
check(dependencies("plain", "downstream", "go-host") == go_down_all, f"plain: Go host downstream {dependencies('plain', 'downstream', 'go-host')}")
check(dependencies("plain", "upstream", "go-host") == go_up_all, f"plain: Go host upstream {dependencies('plain', 'upstream', 'go-host')}")
got = dependencies("plain", "downstream", "new-host", new_peers)
check(got == new_down_all, f"plain: new host downstream {sorted(got)}")

# Patterns: port 22 and 10.204.9.* are gone from both hosts, the rest is there.
check_go_traffic("patterns", {("go-host", "go.example", "peer", "peer.example"), ("go-host", "go.example", "", "")})
check_new_traffic("patterns", {new_peer: 1})
got = dependencies("patterns", "downstream", "go-host")
check(got == {("go-host", "peer", "peer.example", "app", "8080")}, f"patterns: Go host downstream {sorted(got)}")
got = dependencies("patterns", "upstream", "go-host")
check(got == go_up_all - {("go-host", "excluded-peer", "10.204.9.7", "app", "443")}, f"patterns: Go host upstream {sorted(got)}")
got = dependencies("patterns", "downstream", "new-host", new_peers)
check(got == {("new-host", "peer", "peer.example", "pe-app", "8080")}, f"patterns: new host downstream {sorted(got)}")

# The Go original's exclusions: hostgroups required (the Go host's unnamed 192.168.1.2
# goes), no port matcher on traffic (the new host's row still sums 22 and 8080); for
# dependencies its ports (22) and only peers the inventory named, with a process.
check_go_traffic("go", {("go-host", "go.example", "peer", "peer.example"), ("go-host", "go.example", "excluded-peer", "")})
check_new_traffic("go", {new_peer: 2, new_excluded: 1})
got = dependencies("go", "downstream", "go-host")
check(got == {("go-host", "peer", "peer.example", "app", "8080")}, f"go: Go host downstream {sorted(got)}")
got = dependencies("go", "upstream", "go-host")
check(got == {("go-host", "db", "db.example", "app", "5432")}, f"go: Go host upstream {sorted(got)}")
got = dependencies("go", "downstream", "new-host")
check(got == {("new-host", "peer", "peer.example", "pe-app", "8080")}, f"go: new host downstream {sorted(got)}")
check(not dependencies("go", "upstream", "new-host"), f"go: new host upstream {dependencies('go', 'upstream', 'new-host')}")
print("  rows of both hosts: ok (new host, plain: %.0f bit/s from peer.example)" % bandwidth("plain", "new-host")[new_peer])
PY
echo "federator mixed fleet: ok"
