#!/usr/bin/env bash
# The page end to end, in a real browser: in network namespaces, named client and server
# processes exchange TCP and UDP over IPv4 and IPv6 in both directions while the agent
# captures. Headless Chromium (driven over WebDriver by chromedriver) loads the page from
# the agent, and the test reads the DOM after the page's script has run: the peers table
# holds the peers with the byte figures /metrics gives at that moment, a click on a column
# reorders it, the peer view opens, and the dependency map has a node for each upstream
# and downstream peer with its port and process. A process named with markup must show as
# text. A second agent, with basic auth and captures on, serves the Capture button: on the
# peer view it downloads a pcapng file that tshark opens, and its Services view lists the
# local server's port with each client's bytes as /metrics gives them. Screenshots of every view, at laptop and phone size, are written to a folder that
# is kept and printed; with WEB_UI_IMAGES=DIR, small copies for the README go to DIR.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 chromium chromedriver htpasswd tshark
require_agent

SHOTS=$(mktemp -d /tmp/planet-web-ui-screenshots.XXXXXX)
A=pe-web-a-$$ B=pe-web-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.211.0.1/24 "$B" veth-b 10.211.0.2/24 fd00:211::1/64 fd00:211::2/64

mkdir -p "$E2E_TMP/www"
cat > "$E2E_TMP/www/inventory.json" <<'JSON'
[
  {"ip_address": "10.211.0.1", "domain": "agent.pe.test", "hostgroup": "pe-agents"},
  {"ip_address": "10.211.0.2", "domain": "db.pe.test", "hostgroup": "pe-databases"},
  {"ip_address": "fd00:211::/64", "domain": "", "hostgroup": "pe-v6-lab"}
]
JSON
in_ns_bg "$A" python3 -m http.server 8000 --bind 127.0.0.1 --directory "$E2E_TMP/www"
wait_for 10 scrape "$A" http://127.0.0.1:8000/inventory.json || fail "inventory server did not start"

# named.py NAME ROLE ...: a process whose comm is NAME. Clients send until the file
# $E2E_TMP/stop exists, then keep their sockets open so the edges stay in the socket table.
cat > "$E2E_TMP/named.py" <<'PY'
import ctypes, os, socket, sys, threading, time
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
role, stop = sys.argv[2], sys.argv[3]
def family(address): return socket.AF_INET6 if ":" in address else socket.AF_INET
def serve_tcp(conn, reply):
    while True:
        data = conn.recv(65536)
        if not data: return
        conn.sendall(b"r" * (len(data) * reply))
def accept_all(listener):
    while True:
        threading.Thread(target=serve_tcp, args=(listener.accept()[0], 2), daemon=True).start()
if role == "tcp-server":   # ADDRESS... PORT: answers every request with twice its size
    port = int(sys.argv[-1])
    for address in sys.argv[4:-1]:
        s = socket.socket(family(address)); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port)); s.listen()
        threading.Thread(target=accept_all, args=(s,), daemon=True).start()
    while True: time.sleep(60)
elif role == "udp-server":  # ADDRESS PORT: answers every datagram with one three times its size
    s = socket.socket(family(sys.argv[4]), socket.SOCK_DGRAM); s.bind((sys.argv[4], int(sys.argv[5])))
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(b"a" * (len(data) * 3), peer)
else:                       # tcp-client|udp-client ADDRESS PORT SIZE: a request every 0.2 s
    address, port, size = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
    kind = socket.SOCK_STREAM if role == "tcp-client" else socket.SOCK_DGRAM
    c = socket.socket(family(address), kind); c.settimeout(5); c.connect((address, port))
    while not os.path.exists(stop):
        c.send(b"q" * size)
        try: c.recv(65536)
        except socket.timeout: pass
        time.sleep(0.2)
    while True: time.sleep(60)
PY
named() { local ns=$1; shift; in_ns_bg "$ns" python3 "$E2E_TMP/named.py" "$1" "$2" "$E2E_TMP/stop" "${@:3}"; }

log "servers: pe-web (tcp 8080, v4 and v6) in the agent's namespace; pe-db (tcp 7000, v4 and v6) and pe-resolver (udp 5300) in the peer"
named "$A" pe-web tcp-server 0.0.0.0 fd00:211::1 8080
named "$B" pe-db tcp-server 10.211.0.2 fd00:211::2 7000
named "$B" pe-resolver udp-server 10.211.0.2 5300
wait_for 10 bash -c "ip netns exec $A ss -ltn | grep -q ':8080' && ip netns exec $B ss -ltn | grep -q ':7000' && ip netns exec $B ss -lun | grep -q ':5300'" \
    || fail "servers did not start"

in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 1s \
    -capture-max-series 50000 -task-inventory-enabled -task-inventory-addr http://127.0.0.1:8000/inventory.json 2> "$E2E_TMP/agent.log"
wait_for 30 bash -c "ip netns exec $A curl -sf http://127.0.0.1:19100/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || fail "agent is not capturing on veth-a"

log "a second agent with basic auth and captures on demand, on 127.0.0.1:19102"
password="web-ui-$$"
printf 'basic_auth_users:\n  alice: %s\n' "$(htpasswd -nbBC 10 "" "$password" | tr -d ':\n')" > "$E2E_TMP/web.yml"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19102 -capture-interfaces veth-a -task-interval 1s \
    -web.config.file "$E2E_TMP/web.yml" -web.capture-enabled 2> "$E2E_TMP/agent2.log"
wait_for 30 bash -c "ip netns exec $A curl -sf -u alice:$password http://127.0.0.1:19102/metrics | grep -q 'planet_capture_packets_total{interface=\"veth-a\"}'" \
    || { cat "$E2E_TMP/agent2.log"; fail "the second agent is not capturing on veth-a"; }

log "clients: pe-app (tcp, v4 and v6) and <b>pe-dns</b> (udp) call the peer; pe-browser (tcp, v4 and v6) calls pe-web"
named "$A" pe-app tcp-client 10.211.0.2 7000 1500
named "$A" pe-app tcp-client fd00:211::2 7000 700
named "$A" "<b>pe-dns</b>" udp-client 10.211.0.2 5300 60
named "$B" pe-browser tcp-client 10.211.0.1 8080 400
named "$B" pe-browser tcp-client fd00:211::1 8080 900
wait_for 10 bash -c "[ \$(ip netns exec $A ss -tn state established | grep -c ':8080\|:7000') -ge 4 ]" || fail "connections not established"

in_ns_bg "$A" chromedriver --port=9515 --log-path="$E2E_TMP/chromedriver.log"
wait_for 20 scrape "$A" http://127.0.0.1:9515/status || fail "chromedriver did not start"

cat > "$E2E_TMP/browser.py" <<'PY'
"""Drives headless Chromium through chromedriver's WebDriver API (plain HTTP + JSON)."""
import base64, json, os, re, shutil, subprocess, sys, time, urllib.request
from collections import defaultdict

DRIVER, PAGE = "http://127.0.0.1:9515", "http://127.0.0.1:19100"
shots, stop_file, images = sys.argv[1], sys.argv[2], os.environ.get("WEB_UI_IMAGES", "")
SECURED, password = "http://127.0.0.1:19102", os.environ["WEB_UI_PASSWORD"]
downloads = os.path.join(shots, "downloads")
hostile = "<b>pe-dns</b>"

def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(DRIVER + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)["value"]

def fetch(path, base=PAGE):
    request = urllib.request.Request(base + path)
    if base == SECURED:
        request.add_header("Authorization", "Basic " + base64.b64encode(("alice:" + password).encode()).decode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()

session = call("POST", "/session", {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
    "binary": shutil.which("chromium"),
    "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
             "--window-size=1280,900", "--force-device-scale-factor=1", "--lang=en-US"],
    "prefs": {"download.default_directory": downloads, "download.prompt_for_download": False}}}}})["sessionId"]
S = "/session/" + session

def js(script, *args): return call("POST", S + "/execute/sync", {"script": script, "args": list(args)})
def go(hash_): js("location.hash = arguments[0]", hash_)
def size(width, height): call("POST", S + "/window/rect", {"width": width, "height": height})

def wait(what, check, seconds=40):
    deadline = time.time() + seconds
    while True:
        value = check()
        if value: return value
        if time.time() > deadline:
            shot("failure-" + re.sub(r"\W+", "-", what))
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.3)

def shot(name):
    path = os.path.join(shots, name + ".png")
    with open(path, "wb") as f: f.write(base64.b64decode(call("GET", S + "/screenshot")))
    print(f"    screenshot {path}")

def click(css):
    element = call("POST", S + "/element", {"using": "css selector", "value": css})
    call("POST", S + "/element/" + list(element.values())[0] + "/click", {})

def metrics_by_peer(base=PAGE, port=None):
    """planet_traffic_bytes_total summed per remote_ip and direction (of one port), from /metrics."""
    sums = defaultdict(int)
    for line in fetch("/metrics", base).splitlines():
        m = re.match(r'^planet_traffic_bytes_total\{(.*)\} (\d+)$', line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            if port is None or labels["port"] == port:
                sums[(labels["remote_ip"], labels["direction"])] += int(m.group(2))
    return sums

def peer_rows():
    return js("""return [...document.querySelectorAll('#peers-table tbody tr[data-ip]')].map(tr => ({
        ip: tr.dataset.ip, hostgroup: tr.cells[1].textContent,
        in: Number(tr.cells[2].dataset.value), out: Number(tr.cells[3].dataset.value), total: Number(tr.cells[4].dataset.value),
        processes: tr.cells[7].textContent, ports: tr.cells[6].textContent}))""")

call("POST", S + "/url", {"url": PAGE + "/"})
peers = ["10.211.0.2", "fd00:211::2"]

print("  overview: graphs, rates and capture health")
wait("the overview", lambda: js("return document.querySelectorAll('figure svg rect.bar-in').length >= 60 && !!document.getElementById('capture-health')"))
wait("bytes in the last-60-seconds graph", lambda: js("""return [...document.querySelectorAll('#graph-minute rect.bar-in')].filter(r => Number(r.getAttribute('height')) > 0).length >= 3"""))
wait("a rate counted", lambda: js("return !/^0 bit/.test(document.querySelector('#rate-in .value').textContent)"))
health = js("return document.getElementById('capture-health').textContent")
assert "Capturing on 1 interface (veth-a)" in health and "0 packets lost since start" in health, health
peers_card = js("return document.getElementById('peers-card').textContent")
assert "of 50,000 series in memory" in peers_card, peers_card  # -capture-max-series
wait("the tasks table", lambda: js("return document.querySelectorAll('#tasks tbody tr').length >= 3"))
shot("overview")

print("  peers: every expected peer, with hostgroups and processes")
go("#/peers")
wait("peers " + ", ".join(peers), lambda: all(any(r["ip"] == p and "pe-app" in r["processes"] for r in peer_rows()) for p in peers))
rows = {r["ip"]: r for r in peer_rows()}
assert rows["10.211.0.2"]["hostgroup"].startswith("pe-databases"), rows["10.211.0.2"]
assert rows["fd00:211::2"]["hostgroup"].startswith("pe-v6-lab"), rows["fd00:211::2"]
for process in ("pe-app", "pe-web", hostile):
    assert process in rows["10.211.0.2"]["processes"] + rows["fd00:211::2"]["processes"], (process, rows)
shot("peers")

print("  sorting: a click on a column reorders the rows")
def column(index): return js(f"return [...document.querySelectorAll('#peers-table tbody tr[data-ip]')].map(tr => Number(tr.cells[{index}].dataset.value))")
def ips(): return [r["ip"] for r in peer_rows()]
click("th[data-sort=out]")
wait("rows sorted by bytes out, largest first", lambda: js("return document.querySelector('th[data-sort=out]').classList.contains('sorted')") and column(3) == sorted(column(3), reverse=True))
descending = ips()
click("th[data-sort=out]")
wait("rows sorted by bytes out, smallest first", lambda: js("return document.querySelector('th[data-sort=out]').classList.contains('asc')") and column(3) == sorted(column(3)))
ascending = ips()
assert ascending != descending and len(ascending) == len(descending), (descending, ascending)
click("th[data-sort=ip]")
wait("rows sorted by address", lambda: js("return document.querySelector('th[data-sort=ip]').classList.contains('sorted')") and ips()[:1] == ["10.211.0.2"])

print("  filter: hostgroup")
js("const f = document.getElementById('peer-filter'); f.value = 'pe-v6'; f.dispatchEvent(new Event('input'))")
wait("only the v6 peer", lambda: ips() == ["fd00:211::2"])
js("const f = document.getElementById('peer-filter'); f.value = ''; f.dispatchEvent(new Event('input'))")
wait("every peer again", lambda: set(peers) <= set(ips()))

print("  the peer view opens from its row")
click('tr[data-ip="10.211.0.2"] a')
wait("the peer view of 10.211.0.2", lambda: js("""const t = document.getElementById('peer-title');
    return t && t.textContent.startsWith('10.211.0.2') && document.querySelectorAll('#peer-series tbody tr').length >= 4"""))
series = js("return [...document.querySelectorAll('#peer-series tbody tr')].map(tr => [...tr.cells].map(c => c.textContent).join('|'))")
for want in ("egress|tcp|7000|pe-app", "ingress|tcp|8080|pe-web", "egress|udp|5300|" + hostile):
    assert any(row.startswith(want) for row in series), (want, series)
wait("the rate graph drawn", lambda: js("return document.querySelectorAll('#peer-graph polyline').length == 2"), 30)
shot("peer")

print("  dependencies: a node per upstream and downstream peer, with port and process")
go("#/dependencies")
def node_rows(ip, kind):
    return js("""const g = [...document.querySelectorAll('#dep-map g.node')].find(n => n.dataset.ip === arguments[0] && n.dataset.kind === arguments[1]);
        return g ? [...g.querySelectorAll('text.row')].map(t => t.dataset.port + '/' + t.dataset.protocol + ' ' + t.dataset.process) : null""", ip, kind)
expected = {("10.211.0.2", "upstream"): ["7000/tcp pe-app", "5300/udp " + hostile], ("fd00:211::2", "upstream"): ["7000/tcp pe-app"],
            ("10.211.0.2", "downstream"): ["8080/tcp pe-web"], ("fd00:211::2", "downstream"): ["8080/tcp pe-web"]}
wait("every expected node", lambda: all(set(want) <= set(node_rows(*node) or []) for node, want in expected.items()))
groups = js("return [...document.querySelectorAll('#dep-map g.group')].map(g => g.dataset.hostgroup)")
assert "pe-databases" in groups and "pe-v6-lab" in groups, groups
widths = js("return [...document.querySelectorAll('#dep-map path.edge')].map(p => Number(p.getAttribute('stroke-width')))")
assert len(widths) >= 5 and max(widths) > min(widths), widths
assert js("return document.querySelectorAll('#edges-table tbody tr').length") >= 5
shot("dependencies")

print("  markup in a process name stays text")
assert js("return document.querySelectorAll('main b').length") == 0, "a process name was parsed as markup"
assert js("return [...document.querySelectorAll('#edges-table td')].some(td => td.textContent === arguments[0])", hostile)
click('#dep-map g.node[data-ip="fd00:211::2"][data-kind="upstream"]')
wait("the map's node opens its peer", lambda: js("return location.hash") == "#/peer/" + "fd00%3A211%3A%3A2" and
     js("const t = document.getElementById('peer-title'); return t && t.textContent.startsWith('fd00:211::2')"))

print("  phone: nothing wider than the screen")
size(390, 844)
for view, name in (("#/", "overview"), ("#/peers", "peers"), ("#/dependencies", "dependencies"), ("#/peer/10.211.0.2", "peer")):
    go(view)
    time.sleep(0.1)
    wait("the " + name + " view on a phone", lambda: js("return !!document.querySelector('main h1') && !/Loading/.test(document.querySelector('main').textContent)"))
    wait("drawn", lambda: js("return document.querySelectorAll('main svg, main table').length > 0"))
    overflow = js("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow} px wider than a phone screen"
    shot("phone-" + name)
size(1280, 900)

print("  captures: the Capture button on the peer view downloads a file tshark opens")
def cdp(command, **params): return call("POST", S + "/goog/cdp/execute", {"cmd": command, "params": params})
# The page's requests carry the credentials (as a browser sends them after its login prompt).
cdp("Network.enable")
cdp("Network.setExtraHTTPHeaders", headers={"Authorization": "Basic " + base64.b64encode(("alice:" + password).encode()).decode()})
cdp("Browser.setDownloadBehavior", behavior="allow", downloadPath=downloads)
call("POST", S + "/url", {"url": SECURED + "/#/peer/10.211.0.2"})
wait("the Capture button", lambda: js("return !!document.querySelector('#peer-title .capture-button')"))
assert js("return document.querySelector('#peer-title .capture-button').dataset.filter") == "host 10.211.0.2"
assert js("return document.querySelectorAll('#peer-edges .capture-button').length") >= 1
click("#peer-title .capture-button")
wait("the capture panel", lambda: js("return !!document.getElementById('capture-panel')"))
assert js("return document.getElementById('capture-filter').value") == "host 10.211.0.2"
js("document.getElementById('capture-seconds').value = '5'")
click("#capture-start")
wait("progress while it runs", lambda: js("return !document.getElementById('capture-progress').hidden && /Capturing/.test(document.getElementById('capture-status').textContent)"))
shot("capture-running")
wait("the download link", lambda: js("return !!document.getElementById('capture-download')"), 30)
name = js("return document.getElementById('capture-download').getAttribute('download')")
assert re.match(r"^[\w.-]+-\d{8}T\d{6}Z\.pcapng$", name), name
path = os.path.join(downloads, name)
wait("the downloaded file " + path, lambda: os.path.exists(path) and os.path.getsize(path) > 0, 30)
shot("capture-done")
packets = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "ip.addr", "-e", "frame.comment"], capture_output=True, text=True, check=True).stdout.splitlines()
assert packets and all("10.211.0.2" in line for line in packets), packets[:5]
print(f"    {name}: {len(packets)} packets, e.g. {packets[0]!r}")
call("POST", S + "/url", {"url": PAGE + "/#/peer/10.211.0.2"})
wait("the peer view without captures", lambda: js("const t = document.getElementById('peer-title'); return t && t.textContent.startsWith('10.211.0.2')"))
assert js("return document.querySelectorAll('.capture-button').length") == 0, "Capture buttons where captures are off"

print("  figures equal /metrics once the traffic stops")
open(stop_file, "w").close()
def stable():
    first = metrics_by_peer(); time.sleep(2.5); second = metrics_by_peer()
    return second if first == second and all((p, d) in second for p in peers for d in ("ingress", "egress")) else None
totals = wait("the counters to settle", stable, 60)
go("#/")
go("#/peers")
def agree():
    now = metrics_by_peer()
    rows = {r["ip"]: r for r in peer_rows()}
    if not all(p in rows for p in peers): return None
    for p in peers:
        want = (now[(p, "ingress")], now[(p, "egress")])
        got = (rows[p]["in"], rows[p]["out"])
        if got != want or rows[p]["total"] != sum(want): return None
    return rows
rows = wait("the peers table to show /metrics' figures", agree, 30)
for p in peers:
    print(f"    {p}: in {rows[p]['in']} out {rows[p]['out']} bytes, as /metrics says")
print("    JSON summary, per direction:", json.loads(fetch("/api/v1/summary"))["traffic"]["ingress"])

print("  services: the server's port, each client's bytes as /metrics says")
call("POST", S + "/url", {"url": SECURED + "/#/services"})
def service_clients():
    return js("""const tr = [...document.querySelectorAll('#services-table tbody tr')].find(r => r.dataset.port === '8080' && r.dataset.protocol === 'tcp');
        return tr ? {process: tr.cells[2].textContent, clients: Object.fromEntries([...tr.querySelectorAll('td.clients div[data-ip]')]
            .map(d => [d.dataset.ip, [Number(d.dataset.in), Number(d.dataset.out)]]))} : null""")
def services_agree():
    want = metrics_by_peer(SECURED, "8080")
    row = service_clients()
    if not row or not row["process"].startswith("pe-web"): return None
    for p in peers:
        if row["clients"].get(p) != [want[(p, "ingress")], want[(p, "egress")]]: return None
    return row
row = wait("the Services view to show /metrics' figures for port 8080", services_agree, 30)
for p in peers:
    print(f"    8080/tcp pe-web, client {p}: in {row['clients'][p][0]} out {row['clients'][p][1]} bytes, as /metrics says")
click("th[data-sort=clients]")
wait("services sorted by clients", lambda: js("return document.querySelector('#services-table th[data-sort=clients]').classList.contains('sorted')"))
shot("services")
click('#services-table tr[data-port="8080"] td.clients a')
wait("a client opens its peer view", lambda: js("const t = document.getElementById('peer-title'); return t && /^(10\\.211\\.0\\.2|fd00:211::2)/.test(t.textContent)"))

if images:
    print("  README images")
    os.makedirs(images, exist_ok=True)
    size(1100, 720)
    for view, name in (("#/", "overview"), ("#/peers", "peers"), ("#/peer/10.211.0.2", "peer"), ("#/dependencies", "dependencies")):
        go(view); time.sleep(0.2)
        wait(name, lambda: js("return !!document.querySelector('main h1') && !/Loading/.test(document.querySelector('main').textContent)"))
        time.sleep(1)
        with open(os.path.join(images, "page-" + name + ".png"), "wb") as f: f.write(base64.b64decode(call("GET", S + "/screenshot")))
call("DELETE", S)
PY
log "driving Chromium"
WEB_UI_PASSWORD=$password ip netns exec "$A" python3 "$E2E_TMP/browser.py" "$SHOTS" "$E2E_TMP/stop" || {
    echo "agent log:"; tail -20 "$E2E_TMP/agent.log"; echo "screenshots: $SHOTS"; fail "the page in the browser"; }

log "-web-ui-enabled=false: the landing page, and no /api"
in_ns_bg "$A" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19101 -web-ui-enabled=false -task-capture-enabled=false -task-socketstat-enabled=false
wait_for 20 scrape "$A" http://127.0.0.1:19101/-/healthy || fail "second agent did not start"
scrape "$A" http://127.0.0.1:19101/ | matches 'href="/metrics"' || fail "no landing page with the page off"
status=$(ip netns exec "$A" curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19101/api/v1/summary)
[ "$status" = 404 ] || fail "/api/v1/summary answered $status with the page off, want 404"
log "screenshots: $SHOTS"
echo "web ui end to end: ok"
