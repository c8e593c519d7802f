#!/usr/bin/env bash
# State across restarts (-state-directory), end to end: the agent's namespace resolves
# two names from dnsmasq in a peer namespace and talks TCP to the answered addresses on
# connections that stay open. With the client paused, the agent is stopped with SIGTERM
# and started again: /api/v1/graphs still holds the earlier minute and hour buckets with
# equal values, the page draws them, and once the client goes on (on the same
# connections: no DNS query after the restart) every scrape names those peers as before,
# never with an empty remote_dns_name. Then: SIGKILL in a save (at the fsync of its
# temporary file, written but not yet renamed) leaves the previous file, which the next start
# restores; a start after a two-hour stop (the file aged by Tests/EndToEnd/age_state.py)
# shows the minute and hour graphs empty and keeps the day's buckets; a corrupt file is moved aside and the agent starts empty.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 dnsmasq getent strace chromium
require_agent

A=pe-state-a-$$ B=pe-state-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.208.0.1/24 "$B" veth-b 10.208.0.2/24
for address in 10.208.0.10/24 10.208.0.11/24; do ip -n "$B" addr add "$address" dev veth-b; done

# `ip netns exec` mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
mkdir -p "/etc/netns/$A"
trap 'rm -rf "/etc/netns/$A"; e2e_cleanup' EXIT
printf 'nameserver 10.208.0.2\noptions attempts:5 timeout:1\n' > "/etc/netns/$A/resolv.conf"
in_ns_bg "$B" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
    --listen-address=10.208.0.2 --bind-interfaces --user=root --group=root --log-facility=- \
    --host-record=svc.example.test,10.208.0.10 --host-record=db.example.test,10.208.0.11
in_ns_bg "$B" python3 "$E2E_ROOT/Tests/EndToEnd/dns_peers.py" serve 10.208.0.10 10.208.0.11
wait_for 10 bash -c "ip netns exec $B ss -ltn | grep -q '10.208.0.11:8080' && ip netns exec $B ss -lun | grep -q '10.208.0.2:53'" \
    || fail "dnsmasq or the TCP servers did not start"

STATE=$E2E_TMP/state
AGENT_PID=
# start_agent [WRAPPER...]: starts the agent in A with the state directory, under WRAPPER
# (faketime) when given, and waits until it serves.
start_agent() {
    in_ns_bg "$A" "$@" "$PLANET_EXPORTER" -listen-address 127.0.0.1:19100 -capture-interfaces veth-a -task-interval 1s \
        -state-directory "$STATE" -state-save-interval 1s
    AGENT_PID=${E2E_PIDS[-1]}
    wait_for 20 has 'planet_capture_packets_total\{interface="veth-a"\}' || fail "the agent did not start"
}
stop_agent() {
    kill -TERM "$AGENT_PID"
    wait_for 20 bash -c "! kill -0 $AGENT_PID" || fail "the agent did not stop on SIGTERM"
}
metrics() { ip netns exec "$A" curl -sf http://127.0.0.1:19100/metrics; }
has() { metrics | matches -E "$1"; }
graphs() { ip netns exec "$A" curl -sf "http://127.0.0.1:19100/api/v1/graphs?range=$1"; }
series() { echo "planet_traffic_bytes_total\\{direction=\"$1\",[^}]*port=\"8080\",[^}]*remote_dns_name=\"$2\",[^}]*remote_ip=\"$3\"\\}"; }

start_agent
ip netns exec "$A" getent ahosts svc.example.test | matches 10.208.0.10 || fail "the resolver in $A does not answer svc.example.test"
in_ns_bg "$A" python3 "$E2E_ROOT/Tests/EndToEnd/dns_peers.py" talk svc.example.test db.example.test
CLIENT=${E2E_PIDS[-1]}
for pair in svc.example.test:10.208.0.10 db.example.test:10.208.0.11; do
    wait_for 30 has "$(series ingress "${pair%%:*}" "${pair##*:}")" \
        || { metrics | grep -E 'planet_traffic_bytes|planet_dns'; fail "no series for ${pair##*:} named ${pair%%:*}"; }
done
wait_for 10 has '^planet_state_saves_total\{result="success"\} [1-9]' || fail "the agent does not save its state"
[ "$(stat -c %a "$STATE/planet-exporter.state")" = 600 ] || fail "the state file is not mode 0600"

# busy: at least five buckets of the minute graph hold traffic.
busy() {
    graphs minute | python3 -c 'import json, sys
sys.exit(sum(1 for x in json.load(sys.stdin)["graphs"][0]["buckets"] if x["ingress_bytes"] or x["egress_bytes"]) < 5)'
}
# quiet: no bytes wait for the socket table to name their process (they would join the
# history when it does), and the minute graph has buckets, its newest two empty: the
# buckets read now are the ones saved at shutdown.
quiet() {
    has '^planet_traffic_held_bytes 0$' || return 1
    graphs minute | python3 -c 'import json, sys; b = json.load(sys.stdin)["graphs"][0]["buckets"]
sys.exit(not b or any(x["ingress_bytes"] or x["egress_bytes"] for x in b[-2:]))'
}
wait_for 20 busy || fail "the minute graph does not show the client's traffic"

log "SIGTERM with the client paused, start again"
kill -STOP "$CLIENT"
wait_for 10 quiet || fail "traffic goes on with the client paused"
graphs minute > "$E2E_TMP/minute-before.json"
graphs hour > "$E2E_TMP/hour-before.json"
stop_agent
start_agent
graphs minute > "$E2E_TMP/minute-after.json"
graphs hour > "$E2E_TMP/hour-after.json"
python3 - "$E2E_TMP" <<'PY' || fail "the graphs after the restart differ from those before"
import json, sys
d = sys.argv[1]
for r in ("minute", "hour"):
    before = {b["start"]: b for b in json.load(open(f"{d}/{r}-before.json"))["graphs"][0]["buckets"]}
    after = {b["start"]: b for b in json.load(open(f"{d}/{r}-after.json"))["graphs"][0]["buckets"]}
    full = [s for s, b in before.items() if b["ingress_bytes"] or b["egress_bytes"]]
    assert full, f"{r}: no traffic before the restart"
    # Buckets of the minute range slide out after 60 s; those still in range must be equal.
    compared = [s for s in full if s in after]
    assert len(compared) >= (1 if r == "hour" else 5), (r, full, sorted(after))
    for s in compared:
        assert after[s] == before[s], (r, before[s], after[s])
    print(f"    {r}: {len(compared)} buckets with traffic, equal after the restart")
PY
metrics | matches -E '^planet_state_restored\{part="dns_names"\} [2-9]' || { metrics | grep planet_state; fail "planet_state_restored does not show the DNS names"; }

log "the page draws the earlier traffic"
ip netns exec "$A" chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=8000 --dump-dom \
    http://127.0.0.1:19100/ > "$E2E_TMP/page.html" 2>/dev/null || fail "chromium could not load the page"
python3 - "$E2E_TMP/page.html" <<'PY' || fail "the page's hour graph does not show the traffic before the restart"
import re, sys
page = open(sys.argv[1]).read()
figure = re.search(r'<figure id="graph-hour">(.*?)</figure>', page, re.S)
assert figure, "no hour graph on the page"
assert "no traffic" not in figure.group(1), "the hour graph says no traffic"
heights = [float(h) for h in re.findall(r'class="bar-in"[^>]*height="([0-9.]+)"', figure.group(1))]
assert any(h > 0 for h in heights), "every bar of the hour graph is empty"
PY

log "the client goes on over the same connections: every scrape names the peers"
kill -CONT "$CLIENT"
named=0
for _ in $(seq 1 100); do
    metrics > "$E2E_TMP/scrape"
    if grep -E '^planet_(traffic_bytes_total|upstream)\{[^}]*remote_dns_name="",[^}]*remote_ip="10\.208\.0\.1[01]"' "$E2E_TMP/scrape"; then
        fail "a scrape after the restart has a series for a named peer without its name"
    fi
    if grep -qE "$(series ingress svc.example.test 10.208.0.10)" "$E2E_TMP/scrape" \
        && grep -qE "$(series ingress db.example.test 10.208.0.11)" "$E2E_TMP/scrape"; then named=1; break; fi
    sleep 0.2
done
[ "$named" = 1 ] || { grep planet_traffic "$E2E_TMP/scrape"; fail "the peers' series did not come back named within 20 s"; }
metrics | matches -E 'planet_dns_responses_total\{interface="veth-a",result="ok"\} 0$' \
    || fail "the agent saw a DNS answer after the restart: the names did not have to come from its state"

log "kill -9 in the middle of a save"
# strace sends SIGKILL at the next fsync of the agent: the save's, of its temporary file,
# written whole and not yet renamed over the state file.
strace -f -q -p "$AGENT_PID" -e trace=fsync -e inject=fsync:signal=SIGKILL -o /dev/null &
E2E_PIDS+=($!)
wait_for 15 bash -c "! kill -0 $AGENT_PID" || fail "the agent was not killed in a save"
[ -s "$STATE/planet-exporter.state.tmp" ] || fail "the interrupted save left no temporary file"
log "the interrupted save left $(stat -c %s "$STATE/planet-exporter.state.tmp") bytes in its temporary file"
start_agent
metrics | matches -E '^planet_state_restored\{part="dns_names"\} [2-9]' || { metrics | grep planet_state; fail "the state saved before kill -9 was not restored"; }
wait_for 10 has "$(series ingress svc.example.test 10.208.0.10)" || fail "after kill -9 the peer is not named from the previous save"

log "a start after a two-hour stop: the minute and hour graphs are empty, the day's buckets stay"
kill -STOP "$CLIENT"
stop_agent
# The file is made two hours older (its times moved back, its checksum written again by an
# independent reader of the format), as if the agent had been stopped for two hours; it
# says how many bytes the day range held.
held=$(python3 "$E2E_ROOT/Tests/EndToEnd/age_state.py" "$STATE/planet-exporter.state" 7200) || fail "could not age the state file"
read -r _ _ _ _ _ day_before _ _ <<<"$held"
[ "$day_before" -gt 0 ] || fail "no traffic in the day range of the state file: $held"
start_agent
for r in minute hour day; do graphs "$r" > "$E2E_TMP/$r-later.json"; done
python3 - "$E2E_TMP" "$day_before" <<'PY' || fail "the graphs after a two-hour stop are not what such a stop leaves"
import json, sys
d, day_before = sys.argv[1], int(sys.argv[2])
for r in ("minute", "hour"):
    buckets = json.load(open(f"{d}/{r}-later.json"))["graphs"][0]["buckets"]
    assert all(b["ingress_bytes"] == 0 and b["egress_bytes"] == 0 for b in buckets), (r, [b for b in buckets if b["ingress_bytes"]])
day = json.load(open(f"{d}/day-later.json"))["graphs"][0]["buckets"]
assert sum(b["ingress_bytes"] for b in day) == day_before, (day_before, [b for b in day if b["ingress_bytes"] or b["egress_bytes"]])
PY
stop_agent

log "a corrupt state file is moved aside, and the agent starts empty"
# One byte changed in the middle of a good file: the checksum no longer matches.
python3 - "$STATE/planet-exporter.state" <<'PY'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data[len(data) // 2] ^= 0x55
open(sys.argv[1], "wb").write(data)
PY
start_agent
[ -e "$STATE/planet-exporter.state.bad" ] || fail "the corrupt file was not moved aside"
metrics | matches -E '^planet_state_restored\{part="dns_names"\} 0$' || fail "the agent restored something from a corrupt file"
wait_for 10 has '^planet_state_saves_total\{result="success"\} [1-9]' || fail "the agent does not save after a corrupt file"
echo "state across restarts: ok"
