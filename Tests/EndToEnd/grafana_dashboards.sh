#!/usr/bin/env bash
# The Grafana dashboards in setup/grafana, checked without Grafana against real data:
# the release agent captures real TCP traffic between two network namespaces (a client
# calling a database upstream, a client calling the host's web port downstream), with an
# inventory naming both hosts; a real Prometheus scrapes it (with setup/prometheus's
# rules loaded); planet-federator copies it into a real InfluxDB 1.x. Every panel's
# PromQL and InfluxQL, with Grafana's variables filled in as Grafana would, must return
# data, and the panels that name the traffic must show the hosts and ports sent. The
# JSON itself must load as a dashboard: schema version, a datasource variable that every
# panel and query uses, and no undefined variable.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip prometheus promtool influxd curl python3
require_agent
FEDERATOR=${PLANET_FEDERATOR:-$E2E_ROOT/.build/release/planet-federator}
[ -x "$FEDERATOR" ] || fail "$FEDERATOR is missing: swift build -c release"

A=pe-graf-a-$$ B=pe-graf-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.210.0.1/24 "$B" veth-b 10.210.0.2/24
AGENT_PORT=19100 PROM_PORT=9090 INFLUX_PORT=8086

log "inventory: 10.210.0.1 is web, 10.210.0.2 is db"
mkdir -p "$E2E_TMP/www"
cat > "$E2E_TMP/www/inventory.json" <<'JSON'
[
  {"ip_address": "10.210.0.1", "domain": "web.service.consul", "hostgroup": "web"},
  {"ip_address": "10.210.0.2", "domain": "db.service.consul", "hostgroup": "db"}
]
JSON
in_ns_bg "$A" python3 -m http.server 8000 --bind 127.0.0.1 --directory "$E2E_TMP/www" >"$E2E_TMP/inventory.log" 2>&1
wait_for 10 scrape "$A" http://127.0.0.1:8000/inventory.json || fail "inventory server did not start"

log "agent in $A"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address "127.0.0.1:$AGENT_PORT" -capture-interfaces veth-a -task-interval 1s \
    -task-inventory-enabled -task-inventory-addr http://127.0.0.1:8000/inventory.json >"$E2E_TMP/agent.log" 2>&1
wait_for 30 scrape "$A" "http://127.0.0.1:$AGENT_PORT/-/healthy" || { cat "$E2E_TMP/agent.log" >&2; fail "agent did not answer"; }

log "traffic for 240 s at most: web (A) calls db:5432 (B), a client in B calls web:8080 (A)"
cat > "$E2E_TMP/traffic.py" <<'PY'
import socket, sys, threading, time
role, deadline = sys.argv[1], time.time() + 240
listen_port, peer, peer_port = (8080, "10.210.0.2", 5432) if role == "web" else (5432, "10.210.0.1", 8080)
def serve():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", listen_port)); s.listen()
    def drain(c):
        while c.recv(65536): pass
    while True:
        c, _ = s.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()
def call():
    while time.time() < deadline:
        try:
            c = socket.create_connection((peer, peer_port), timeout=5)
        except OSError:
            time.sleep(0.2); continue
        while time.time() < deadline:
            c.sendall(b"x" * 2000); time.sleep(0.1)
threading.Thread(target=serve, daemon=True).start()
time.sleep(1)
call()
PY
in_ns_bg "$A" python3 "$E2E_TMP/traffic.py" web
in_ns_bg "$B" python3 "$E2E_TMP/traffic.py" db

start_prometheus "$A" "127.0.0.1:$AGENT_PORT" "$PROM_PORT" "$E2E_ROOT/setup/prometheus/rules.yml"
has_edges() {
    for query in 'planet_upstream{remote_hostgroup="db",port="5432"}' 'planet_downstream{remote_hostgroup="db",port="8080"}' \
                 'rate(planet_traffic_bytes_total{remote_hostgroup="db",direction="egress"}[5s]) > 0' \
                 'rate(planet_traffic_bytes_total{remote_hostgroup="db",direction="ingress"}[5s]) > 0'; do
        promql "$A" "$PROM_PORT" "$query" | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)' || return 1
    done
}
wait_for 60 has_edges || { scrape "$A" "http://127.0.0.1:$AGENT_PORT/metrics" | grep -E '^planet_(upstream|downstream|traffic_bytes)' >&2; fail "Prometheus has no edges or traffic to db"; }
# Enough scrapes for the 15 s rate windows the panels use and the federator's steps.
sleep 15

log "planet-federator -once into InfluxDB"
start_influxdb "$INFLUX_PORT" "$A"
influxql "$A" "$INFLUX_PORT" "" "CREATE DATABASE mothership" >/dev/null
ip netns exec "$A" "$FEDERATOR" -prometheus-addr "http://127.0.0.1:$PROM_PORT" -influxdb-addr "http://127.0.0.1:$INFLUX_PORT" \
    -influxdb-bucket mothership -query-step 2s -query-rate-window 5s -cron-job-time-offset -1s -once -log-disable-colors \
    2>"$E2E_TMP/federator.log" || { cat "$E2E_TMP/federator.log" >&2; fail "planet-federator -once failed"; }

log "every panel's query"
ip netns exec "$A" python3 - "$E2E_ROOT/setup/grafana" "$PROM_PORT" "$INFLUX_PORT" <<'PY'
import json, re, sys, time, urllib.parse, urllib.request
folder, prom_port, influx_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
failures = []
def check(ok, message):
    if not ok:
        failures.append(message)
    return ok
def get(url, params):
    with urllib.request.urlopen(url + "?" + urllib.parse.urlencode(params, doseq=True), timeout=30) as response:
        return json.load(response)

BUILTINS = {"__rate_interval", "__interval", "timeFilter", "__range", "__name"}
def load(name, datasource_type):
    dashboard = json.load(open(f"{folder}/{name}"))
    check(isinstance(dashboard.get("schemaVersion"), int) and dashboard["schemaVersion"] >= 36, f"{name}: schemaVersion {dashboard.get('schemaVersion')}")
    check(dashboard.get("uid") and dashboard.get("title"), f"{name}: no uid or title")
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    source = variables.get("datasource", {})
    check(source.get("type") == "datasource" and source.get("query") == datasource_type, f"{name}: no {datasource_type} datasource variable")
    want = {"type": datasource_type, "uid": "${datasource}"}
    ids, panels = set(), []
    for panel in dashboard["panels"]:
        check(panel["id"] not in ids, f"{name}: panel id {panel['id']} twice"); ids.add(panel["id"])
        check({"x", "y", "w", "h"} <= set(panel.get("gridPos", {})), f"{name}: panel {panel['id']} has no gridPos")
        if panel["type"] == "row":
            continue
        check(panel.get("datasource") == want, f"{name}: panel {panel['title']!r} datasource {panel.get('datasource')}")
        check(panel.get("targets"), f"{name}: panel {panel['title']!r} has no query")
        for target in panel["targets"]:
            check(target.get("datasource") == want, f"{name}: {panel['title']!r} target {target['refId']} datasource")
            text = target.get("expr") or target.get("query") or ""
            for used in re.findall(r"\$(\w+)", text + panel["title"]):
                check(used in variables or used in BUILTINS, f"{name}: {panel['title']!r} uses undefined ${used}")
        panels.append(panel)
    for variable in variables.values():
        definition = variable.get("definition", "")
        for used in re.findall(r"\$(\w+)", definition):
            check(used in variables, f"{name}: variable {variable['name']} uses undefined ${used}")
    return dashboard, variables, panels

# Prometheus: Grafana's variables as it fills them for this host.
prom = f"http://127.0.0.1:{prom_port}/api/v1"
dashboard, variables, panels = load("planet-exporter.json", "prometheus")
fill = {"job": "planet-exporter", "instance": "127.0.0.1:19100", "__rate_interval": "15s"}
def substitute(text, values):
    return re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)), text)
for name in ("job", "instance"):
    definition = substitute(variables[name]["definition"], fill)
    metric, label = re.fullmatch(r"label_values\((.*), (\w+)\)", definition).groups()
    values = get(f"{prom}/label/{label}/values", {"match[]": metric})["data"]
    check(fill[name] in values, f"variable {name}: {definition} gives {values}")
now = time.time()
results = {}
for panel in panels:
    for target in panel["targets"]:
        expr = substitute(target["expr"], fill)
        if target.get("instant"):
            answer = get(f"{prom}/query", {"query": expr, "time": now})
        else:
            answer = get(f"{prom}/query_range", {"query": expr, "start": now - 60, "end": now, "step": 5})
        series = answer["data"]["result"]
        results[(panel["title"], target["refId"])] = series
        check(answer["status"] == "success" and series, f"panel {panel['title']!r} {target['refId']}: no data for {expr}")
        print(f"    {len(series):3d} series  {panel['title']} [{target['refId']}]")

def labels(title, ref="A"):
    return [s["metric"] for s in results.get((title, ref), [])]
check({("egress", "db"), ("ingress", "db")} <= {(m.get("direction"), m.get("remote_hostgroup")) for m in labels("Bandwidth by remote hostgroup")},
      f"bandwidth by remote hostgroup: {labels('Bandwidth by remote hostgroup')}")
check(any(m.get("remote_ip") == "10.210.0.2" and m.get("remote_domain") == "db.service.consul" for m in labels("Top talkers (last 5 minutes)")),
      "top talkers without the db peer")
check(any(m.get("remote_hostgroup") == "db" and m.get("port") == "5432" and m.get("remote_ip") == "10.210.0.2" for m in labels("Upstream: services this host calls")),
      f"upstream table: {labels('Upstream: services this host calls')}")
check(any(m.get("remote_hostgroup") == "db" and m.get("port") == "8080" for m in labels("Downstream: clients calling this host")),
      f"downstream table: {labels('Downstream: clients calling this host')}")
check(any(m.get("port") == "5432" and m.get("remote_address") == "db.service.consul" for m in labels("Bandwidth per upstream edge")),
      "no upstream edge bandwidth for db:5432")
check(any(m.get("port") == "8080" for m in labels("Bandwidth per downstream edge")), "no downstream edge bandwidth for :8080")
check(any(m.get("port") == "8080" for m in labels("Listening processes")), "listening processes without :8080")
check({m.get("collector") for m in labels("Collectors: success and scrape duration")} >= {"capture", "inventory", "socketstat"},
      f"collectors: {labels('Collectors: success and scrape duration')}")
check(any(m.get("interface") == "veth-a" for m in labels("Packets captured per interface")), "no capture series for veth-a")

# The recording rules evaluate on the same data.
for rule in ("instance_remote_hostgroup:planet_traffic_bits:rate5m", "local_hostgroup_remote_hostgroup:planet_traffic_bits:rate5m",
             "instance_interface:planet_capture_dropped_packets:ratio_rate5m"):
    series = get(f"{prom}/query", {"query": rule})["data"]["result"]
    check(series, f"recording rule {rule} has no data")
ratio = get(f"{prom}/query", {"query": 'instance_interface:planet_capture_dropped_packets:ratio_rate5m{interface="veth-a"}'})["data"]["result"]
check(ratio and float(ratio[0]["value"][1]) == 0, f"drop ratio on veth-a: {ratio}")

# InfluxDB: the federated data, $service = web.
influx = f"http://127.0.0.1:{influx_port}/query"
dashboard, variables, panels = load("planet-federator-influxdb.json", "influxdb")
shown = get(influx, {"db": "mothership", "q": variables["service"]["query"]})["results"][0].get("series", [])
services = [value for s in shown for _, value in s["values"]]
check("web" in services, f"variable service: {services}")
fill = {"service": "web", "timeFilter": "time > now() - 1h", "__interval": "2s"}
for panel in panels:
    for target in panel["targets"]:
        query = substitute(target["query"], fill)
        result = get(influx, {"db": "mothership", "q": query})["results"][0]
        series = result.get("series", [])
        results[(panel["title"], target["refId"])] = series
        check("error" not in result and series, f"panel {panel['title']!r}: {result.get('error', 'no data')}")
        print(f"    {len(series):3d} series  {panel['title']}")
tags = lambda title: [s.get("tags", {}) for s in results[(title, "A")]]
check(any(t.get("remote_service") == "db" for t in tags("Ingress bandwidth of $service by remote service")), f"ingress: {tags('Ingress bandwidth of $service by remote service')}")
check(any(t.get("remote_service") == "db" for t in tags("Egress bandwidth of $service by remote service")), "egress without db")
check(any(t.get("upstream_service") == "db" and t.get("upstream_port") == "5432" for t in tags("Upstreams of $service (last 7 days)")),
      f"upstreams: {tags('Upstreams of $service (last 7 days)')}")
check(any(t.get("downstream_service") == "db" and t.get("port") == "8080" for t in tags("Downstreams of $service (last 7 days)")),
      f"downstreams: {tags('Downstreams of $service (last 7 days)')}")
if failures:
    print("\n".join("FAIL: " + f for f in failures), file=sys.stderr)
    sys.exit(1)
PY
echo "grafana dashboards: ok"
