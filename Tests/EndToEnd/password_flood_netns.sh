#!/usr/bin/env bash
# A flood of wrong passwords from 32 addresses cannot lock out the scraper nor blind
# capture: with a bcrypt user (cost 10) in the web config, 32 clients send wrong passwords
# as fast as they are answered. Once each address has failed a check, a scraper whose
# credentials were never checked yet (after a restart or a password change) gets its
# first scrape within 3 s and every later one too; a trafgen flood at the same time is counted whole, with no drop. The
# bcrypt checks run on their own thread at a lower priority: its CPU time and the rest of
# the agent's are logged.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root
require_cmd ip curl python3 trafgen htpasswd
require_agent

A=pe-pw-a-$$ B=pe-pw-b-$$
new_netns "$A"; new_netns "$B"
veth_pair "$A" veth-a 10.210.0.1/24 "$B" veth-b 10.210.0.2/24
sources=()
for i in $(seq 10 41); do
    ip -n "$B" addr add "10.210.0.$i/24" dev veth-b
    sources+=("10.210.0.$i")
done
password="wonderland-$$"
hash=$(htpasswd -nbBC 10 "" "$password" | tr -d ':\n')
printf 'basic_auth_users:\n  alice: %s\n' "$hash" > "$E2E_TMP/web.yml"
ip netns exec "$A" "$PLANET_EXPORTER" -listen-address 10.210.0.1:19100 -capture-interfaces veth-a \
    -capture-local-net 10.210.0.0/24 -task-socketstat-enabled=false -web.config.file "$E2E_TMP/web.yml" \
    2> "$E2E_TMP/agent.log" &
agent=$!
E2E_PIDS+=($agent)
url=http://10.210.0.1:19100/metrics
# Until the scraper's first scrape below, nothing has checked its credentials: wait for
# the listener with a request that needs none.
wait_for 30 ip netns exec "$B" curl -s -o /dev/null http://10.210.0.1:19100/-/healthy \
    || { cat "$E2E_TMP/agent.log"; fail "the agent did not start"; }

log "32 sources send wrong passwords"
coproc FLOOD { ip netns exec "$B" python3 "$E2E_ROOT/Tests/EndToEnd/password_flood.py" "$url" alice 120 "$E2E_TMP/progress.json" "${sources[@]}"; }
E2E_PIDS+=($FLOOD_PID)
exec {flood_out}<&"${FLOOD[0]}"
every_source_failed() {
    python3 - "$E2E_TMP/progress.json" "${#sources[@]}" <<'PY'
import json, sys
counts = json.load(open(sys.argv[1]))
sys.exit(0 if len(counts) == int(sys.argv[2]) and all(c.get("401", 0) >= 1 for c in counts.values()) else 1)
PY
}
# Each address's first check runs before the failing ones', one at a time.
wait_for 90 every_source_failed || fail "the flood did not start: $(cat "$E2E_TMP/progress.json" 2>/dev/null)"

log "a trafgen flood meanwhile, and a scraper whose credentials were never checked"
mac_a=$(ip -n "$A" -br link show veth-a | awk '{print $3}')
source "$E2E_ROOT/scripts/lib/trafgen.sh"
udp64_trafgen "$mac_a" 10.210.0.1 2 5300 5300 > "$E2E_TMP/udp.trafgen"
frames=400000
ip netns exec "$B" trafgen --dev veth-b --conf "$E2E_TMP/udp.trafgen" -n "$frames" -b 40000pps -q > "$E2E_TMP/trafgen.log" 2>&1 &
trafgen_pid=$!
E2E_PIDS+=($trafgen_pid)
scrape() { ip netns exec "$B" curl -s -o "$E2E_TMP/scrape.prom" -w '%{http_code} %{time_total}' --max-time "$1" -u "alice:$password" "$url"; }
first=$(scrape 3) || true
log "first scrape: $first"
[ "${first%% *}" = 200 ] || fail "the scraper's first scrape during the flood: $first"
slowest=0
for i in $(seq 1 16); do
    answer=$(scrape 2) || true
    [ "${answer%% *}" = 200 ] || fail "scrape $i during the flood: $answer"
    slowest=$(python3 -c "print(max($slowest, ${answer#* }))")
    sleep 0.5
done
log "16 more scrapes answered; slowest took ${slowest}s"
wait "$trafgen_pid" || fail "trafgen failed: $(cat "$E2E_TMP/trafgen.log")"
touch "$E2E_TMP/progress.json.stop"
read -r -t 30 totals <&"$flood_out" || fail "the flood did not report"
log "flood answers by status: $totals"

sample() { ip netns exec "$B" curl -sf -u "alice:$password" "$url" | awk -v name="$1" 'index($0, name" ") == 1 { print $NF }'; }
wait_for 10 bash -c "[ \$(ip netns exec $B curl -sf -u alice:$password $url | awk 'index(\$0, \"planet_capture_packets_total{interface=\\\"veth-a\\\"} \") == 1 {print \$NF}') -ge $frames ]" \
    || fail "captured $(sample 'planet_capture_packets_total{interface="veth-a"}') of $frames frames"
[ "$(sample 'planet_capture_dropped_packets_total{interface="veth-a"}')" = 0 ] || fail "the kernel dropped packets"
[ "$(sample 'planet_capture_ring_dropped_packets_total{interface="veth-a"}')" = 0 ] || fail "the ring dropped packets"
log "refused: $(ip netns exec "$B" curl -sf -u "alice:$password" "$url" | grep '^planet_web_requests_refused_total' | tr '\n' ' ')"

# CPU by thread (utime + stime, in clock ticks): the bcrypt thread and the rest.
python3 - "$agent" <<'PY'
import os, sys
pid = sys.argv[1]
by_name = {}
for tid in os.listdir(f"/proc/{pid}/task"):
    stat = open(f"/proc/{pid}/task/{tid}/stat").read()
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    nice = int(fields[16])
    ticks = int(fields[11]) + int(fields[12])
    by_name.setdefault((name, nice), 0)
    by_name[(name, nice)] += ticks
hz = os.sysconf("SC_CLK_TCK")
print("  CPU seconds by thread (name, nice): " + ", ".join(f"{n} nice {k}: {t / hz:.2f}" for (n, k), t in sorted(by_name.items(), key=lambda x: -x[1])))
assert any(n == "pe-bcrypt" and k >= 10 for n, k in by_name), "no pe-bcrypt thread at nice 10"
PY
echo "password flood end to end: ok"
